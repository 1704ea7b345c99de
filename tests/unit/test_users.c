/*
 * test_users.c - the users service without a server: accounts, logins and their brute-force
 * protection, activation codes, password changes, external accounts, classes, the CSV parser
 * and the import, on a fresh SQLite database in a temporary directory.
 *
 * Time is moved forward by replacing users_clock, so lock expiries are tested without sleeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/app.h"
#include "core/err.h"
#include "core/jwt.h"
#include "core/util.h"
#include "services/users/csv.h"
#include "services/users/internal.h"
#include "store/migrate.h"

extern const struct service svc_core;
extern const struct service svc_users;
extern const struct service svc_auth;

static char dir[512];
static db *dbh;
static time_t fake_now;
static time_t fake_clock(void) { return fake_now; }

static const char good_pw[] = "Correct-Horse-Battery-9";

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("ENT_TEST_TMP");
	char tmpl[512];
	if (base) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", base);
		if (system(cmd) != 0)
			return -1;
	}
	snprintf(tmpl, sizeof(tmpl), "%s/users-XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(dir, sizeof(dir), "%s", tmpl);
	char url[600], err[256];
	snprintf(url, sizeof(url), "sqlite:%s/ent.db", dir);
	if (db_open(url, &dbh, err, sizeof(err))) {
		fprintf(stderr, "db_open: %s\n", err);
		return -1;
	}
	app.db = dbh;
	const struct service *svcs[] = {&svc_core, &svc_users,
					&svc_auth}; /* core first: its change table (core/rcache.h) */
	if (migrate_run(db_conn_get(dbh), svcs, 3, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "migrate: %s\n", err);
		return -1;
	}
	fake_now = time(NULL);
	users_clock = fake_clock;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	db_close(dbh);
	app.db = NULL;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * PostgreSQL (when ENT_TEST_PG_URL is set): the same tests in a schema of their own, made for
 * the run and dropped after it, so they never meet the tables of another test.
 */
static char pg_schema[40];

static int setup_pg(void **state)
{
	(void)state;
	const char *url = getenv("ENT_TEST_PG_URL");
	char err[256];
	db *d;
	if (db_open(url, &d, err, sizeof(err))) {
		fprintf(stderr, "db_open: %s\n", err);
		return -1;
	}
	char hex[13];
	util_random_hex(hex, 6);
	snprintf(pg_schema, sizeof(pg_schema), "test_users_%s", hex);
	char sql[128];
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", pg_schema);
	int rc = db_exec(db_conn_get(d), sql);
	db_close(d);
	if (rc)
		return -1;
	char full[1200];
	snprintf(full, sizeof(full), "%s%soptions=-csearch_path%%3D%s", url, strchr(url, '?') ? "&" : "?", pg_schema);
	if (db_open(full, &dbh, err, sizeof(err))) {
		fprintf(stderr, "db_open: %s\n", err);
		return -1;
	}
	app.db = dbh;
	const struct service *svcs[] = {&svc_core, &svc_users,
					&svc_auth}; /* core first: its change table (core/rcache.h) */
	if (migrate_run(db_conn_get(dbh), svcs, 3, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "migrate: %s\n", err);
		return -1;
	}
	fake_now = time(NULL);
	users_clock = fake_clock;
	return 0;
}

static int teardown_pg(void **state)
{
	(void)state;
	char sql[128];
	snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", pg_schema);
	int rc = db_exec(db_conn_get(dbh), sql);
	db_close(dbh);
	app.db = NULL;
	return rc ? -1 : 0;
}

static db_conn *conn(void) { return db_conn_get(dbh); }

/* A new local user with a unique email; returns its id in id. */
static void make_user(const char *email, unsigned role, const char *password, char id[37])
{
	arena *a = arena_new(0);
	struct user u;
	assert_int_equal(users_create(conn(), a, email, "Jeanne", "Essai", role, password, &u), ENT_OK);
	memcpy(id, u.id, 37);
	arena_free(a);
}

static int64_t sql_int(const char *sql, const char *param)
{
	db_stmt *s = db_prepare(conn(), sql);
	assert_non_null(s);
	db_bind_text(s, 1, param);
	assert_int_equal(db_step(s), DB_ROW);
	int64_t v = db_col_int64(s, 0);
	db_done(s);
	return v;
}

static void sql_exec1(const char *sql, const char *param)
{
	db_stmt *s = db_prepare(conn(), sql);
	assert_non_null(s);
	db_bind_text(s, 1, param);
	assert_true(db_step(s) >= 0);
	db_done(s);
}

static int auth(const char *login, const char *pw, const char *ip, int *retry)
{
	arena *a = arena_new(0);
	struct user u;
	int r = 0;
	int rc = users_authenticate(conn(), a, login, pw, ip, &u, &r);
	if (retry)
		*retry = r;
	arena_free(a);
	return rc;
}

/* ---- accounts and logins ---- */

static void test_create_and_get(void **state)
{
	(void)state;
	arena *a = arena_new(0);
	struct user u, g;
	assert_int_equal(
		users_create(conn(), a, "Marie.Curie@Example.org", "Marie", "Curie", ROLE_ENSEIGNANT, good_pw, &u),
		ENT_OK);
	assert_string_equal(u.email, "marie.curie@example.org");
	assert_string_equal(u.username, "marie.curie@example.org");
	assert_string_equal(u.name, "Marie Curie");
	assert_int_equal(u.roles, ROLE_ENSEIGNANT);
	assert_true(u.active);
	assert_false(u.disabled);
	assert_null(u.iss);
	assert_int_equal(users_get(conn(), a, u.id, &g), ENT_OK);
	assert_string_equal(g.email, u.email);
	assert_int_equal(users_find_login(conn(), a, "MARIE.CURIE@example.ORG", &g), ENT_OK);
	assert_string_equal(g.id, u.id);
	assert_int_equal(users_find_login(conn(), a, "nobody@example.org", &g), ENT_ENOTFOUND);
	assert_int_equal(users_get(conn(), a, "not-a-uuid", &g), ENT_ENOTFOUND);
	/* Duplicates, bad input, weak passwords. */
	assert_int_equal(users_create(conn(), a, "marie.curie@example.org", "M", "C", ROLE_ETUDIANT, NULL, &g),
			 ENT_ECONFLICT);
	assert_int_equal(users_create(conn(), a, "not an email", "M", "C", ROLE_ETUDIANT, NULL, &g), ENT_EINVAL);
	assert_int_equal(users_create(conn(), a, "x@example.org", "M", "C", 0, NULL, &g), ENT_EINVAL);
	assert_int_equal(users_create(conn(), a, "y@example.org", "M", "C", ROLE_ETUDIANT, "short", &g), ENT_EINVAL);
	/* Without a password: not active, no login possible. */
	assert_int_equal(users_create(conn(), a, "pending@example.org", "Paul", "Attente", ROLE_ETUDIANT, NULL, &g),
			 ENT_OK);
	assert_false(g.active);
	assert_int_equal(auth("pending@example.org", "", "10.1.0.1", NULL), ENT_EAUTH);
	assert_int_equal(auth("pending@example.org", good_pw, "10.1.0.1", NULL), ENT_EAUTH);
	arena_free(a);
}

static void test_authenticate(void **state)
{
	(void)state;
	char id[37];
	make_user("auth1@example.org", ROLE_ETUDIANT, good_pw, id);
	arena *a = arena_new(0);
	struct user u;
	int retry = -1;
	assert_int_equal(users_authenticate(conn(), a, "Auth1@Example.org", good_pw, "10.2.0.1", &u, &retry), ENT_OK);
	assert_string_equal(u.id, id);
	assert_int_equal(retry, 0);
	assert_int_equal(auth("auth1@example.org", "wrong-password-123", "10.2.0.1", NULL), ENT_EAUTH);
	assert_int_equal(auth("unknown@example.org", good_pw, "10.2.0.1", NULL), ENT_EAUTH);
	assert_int_equal(auth("", good_pw, "10.2.0.1", NULL), ENT_EAUTH);
	assert_int_equal(auth(NULL, NULL, NULL, NULL), ENT_EAUTH);
	/* Every attempt on a known account is in its login history; the success set last_login_at. */
	assert_int_equal(sql_int("SELECT COUNT(*) FROM login_events WHERE user_id = ? AND success = 1", id), 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM login_events WHERE user_id = ? AND success = 0", id), 1);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM users WHERE id = ? AND last_login_at IS NOT NULL", id), 1);
	assert_int_equal(users_may_login(conn(), id), 1);
	arena_free(a);
}

static void test_lockout(void **state)
{
	(void)state;
	char id[37];
	make_user("lock@example.org", ROLE_ETUDIANT, good_pw, id);
	int retry = 0;
	for (int i = 0; i < 4; i++)
		assert_int_equal(auth("lock@example.org", "wrong-password-123", "10.3.0.1", NULL), ENT_EAUTH);
	/* A success before the 5th failure resets the count. */
	assert_int_equal(auth("lock@example.org", good_pw, "10.3.0.1", NULL), ENT_OK);
	assert_int_equal(sql_int("SELECT failed_count FROM user_credentials WHERE user_id = ?", id), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(auth("lock@example.org", "wrong-password-123", "10.3.0.1", NULL), ENT_EAUTH);
	/* The 5th consecutive failure locks: even the right password is refused, with a delay. */
	assert_int_equal(auth("lock@example.org", "wrong-password-123", "10.3.0.1", NULL), ENT_EAUTH);
	assert_int_equal(auth("lock@example.org", good_pw, "10.3.0.1", &retry), ENT_EBUSY);
	assert_true(retry > 0);
	assert_int_equal(users_may_login(conn(), id), 0);
	/* Hammering a locked account makes the lock longer. */
	int longer = 0;
	for (int i = 0; i < 5; i++)
		assert_int_equal(auth("lock@example.org", "wrong-password-123", "10.3.0.1", &longer), ENT_EBUSY);
	assert_true(longer > retry);
	assert_true(longer <= 15 * 60);
	/* Once the lock has passed, the right password works and resets the counter. */
	fake_now += longer + 1;
	assert_int_equal(users_may_login(conn(), id), 1);
	assert_int_equal(auth("lock@example.org", good_pw, "10.3.0.1", &retry), ENT_OK);
	assert_int_equal(sql_int("SELECT failed_count FROM user_credentials WHERE user_id = ?", id), 0);
	/* Many failures: the lock is capped at 15 minutes. */
	for (int i = 0; i < 30; i++)
		auth("lock@example.org", "wrong-password-123", "10.3.0.2", &retry);
	assert_int_equal(auth("lock@example.org", good_pw, "10.3.0.2", &retry), ENT_EBUSY);
	assert_true(retry > 0 && retry <= 15 * 60);
	fake_now += 15 * 60 + 1;
	assert_int_equal(auth("lock@example.org", good_pw, "10.3.0.2", &retry), ENT_OK);
}

static void test_unknown_login_locks_like_an_account(void **state)
{
	(void)state;
	int retry = 0;
	for (int i = 0; i < 5; i++)
		assert_int_equal(auth("ghost@example.org", "wrong-password-123", "10.4.0.1", NULL), ENT_EAUTH);
	/* The same answer a real account gives: locked, with a delay. */
	assert_int_equal(auth("ghost@example.org", "wrong-password-123", "10.4.0.1", &retry), ENT_EBUSY);
	assert_true(retry > 0);
	fake_now += 16 * 60;
}

static void test_disabled(void **state)
{
	(void)state;
	char id[37];
	make_user("disabled@example.org", ROLE_ENSEIGNANT, good_pw, id);
	sql_exec1("UPDATE users SET disabled = 1 WHERE id = ?", id);
	/* Without the password, a disabled account looks like any other. */
	assert_int_equal(auth("disabled@example.org", "wrong-password-123", "10.5.0.1", NULL), ENT_EAUTH);
	assert_int_equal(auth("disabled@example.org", good_pw, "10.5.0.1", NULL), ENT_EFORBIDDEN);
	assert_int_equal(users_may_login(conn(), id), 0);
}

static void test_ip_lock(void **state)
{
	(void)state;
	char id[37];
	make_user("ipvictim@example.org", ROLE_ETUDIANT, good_pw, id);
	char login[64];
	/*
	 * One address trying one password on many accounts: after 100 failures it is slowed to one
	 * evaluated attempt a second, and it is never locked out: a correct password of another
	 * account from the same address (a school's shared one) goes through at its turn.
	 */
	for (int i = 0; i < 101; i++) {
		snprintf(login, sizeof(login), "spray%d@example.org", i);
		assert_int_equal(auth(login, "Password-2026!", "10.6.6.6", NULL), ENT_EAUTH);
	}
	int retry = 0;
	assert_int_equal(auth("ipvictim@example.org", good_pw, "10.6.6.6", &retry), ENT_OK);
	/* The same second: the next attempt waits for its turn (even a right password). */
	assert_int_equal(auth("spray200@example.org", "Password-2026!", "10.6.6.6", &retry), ENT_EBUSY);
	assert_int_equal(retry, 1);
	assert_int_equal(auth("ipvictim@example.org", good_pw, "10.6.6.6", &retry), ENT_EBUSY);
	/* Other addresses are not affected; a second later the address has a turn again. */
	assert_int_equal(auth("ipvictim@example.org", good_pw, "10.6.6.7", NULL), ENT_OK);
	fake_now += 1;
	assert_int_equal(auth("spray201@example.org", "Password-2026!", "10.6.6.6", NULL), ENT_EAUTH);
	assert_int_equal(auth("spray202@example.org", "Password-2026!", "10.6.6.6", &retry), ENT_EBUSY);
	fake_now += 1;
	assert_int_equal(auth("ipvictim@example.org", good_pw, "10.6.6.6", NULL), ENT_OK);
	/* After the window, the address is no longer hot. */
	fake_now += 15 * 60 + 1;
	assert_int_equal(auth("spray203@example.org", "Password-2026!", "10.6.6.6", NULL), ENT_EAUTH);
	assert_int_equal(auth("ipvictim@example.org", good_pw, "10.6.6.6", NULL), ENT_OK);
}

struct racer {
	const char *login;
	int rc;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	arena *a = arena_new(0);
	struct user u;
	int retry;
	/* Each thread has its own connection, as server workers do. */
	r->rc = users_authenticate(db_conn_get(dbh), a, r->login, "wrong-password-123", NULL, &u, &retry);
	arena_free(a);
	return NULL;
}

static void test_concurrent_failures_all_counted(void **state)
{
	(void)state;
	char id[37];
	make_user("race@example.org", ROLE_ETUDIANT, good_pw, id);
	pthread_t t[4];
	struct racer r[4];
	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){.login = "race@example.org"};
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].rc, ENT_EAUTH);
	}
	assert_int_equal(sql_int("SELECT failed_count FROM user_credentials WHERE user_id = ?", id), 4);
}

static void test_activation(void **state)
{
	(void)state;
	arena *a = arena_new(0);
	struct user u;
	assert_int_equal(users_create(conn(), a, "new@example.org", "Nouvel", "Élève", ROLE_ETUDIANT, NULL, &u),
			 ENT_OK);
	char code[16], expires[21];
	assert_int_equal(users_reset_code(conn(), u.id, code, expires), ENT_OK);
	assert_int_equal(strlen(code), 14); /* XXXX-XXXX-XXXX */
	for (const char *p = code; *p; p++)
		assert_non_null(strchr("ABCDEFGHJKLMNPQRSTUVWXYZ23456789-", *p));
	/* The database holds only the code's hash. */
	assert_int_equal(
		sql_int("SELECT COUNT(*) FROM user_credentials WHERE user_id = ? AND activation_hash IS NOT NULL"
			" AND length(activation_hash) = 64",
			u.id),
		1);
	const char *why = NULL;
	int retry = 0;
	struct user out;
	assert_int_equal(
		users_activate(conn(), a, "new@example.org", "AAAA-BBBB-CCCC", good_pw, "10.7.0.1", &out, &why, &retry),
		ENT_EAUTH);
	assert_int_equal(users_activate(conn(), a, "nobody@example.org", code, good_pw, "10.7.0.1", &out, &why, &retry),
			 ENT_EAUTH);
	/* Right code, weak password: refused with a reason, and the code is still valid. */
	assert_int_equal(users_activate(conn(), a, "new@example.org", code, "short", "10.7.0.1", &out, &why, &retry),
			 ENT_EINVAL);
	assert_non_null(why);
	/* Lower case and without dashes is the same code. */
	char typed[16];
	size_t o = 0;
	for (const char *p = code; *p; p++)
		if (*p != '-')
			typed[o++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	typed[o] = '\0';
	assert_int_equal(users_activate(conn(), a, "new@example.org", typed, good_pw, "10.7.0.1", &out, &why, &retry),
			 ENT_OK);
	assert_string_equal(out.id, u.id);
	assert_true(out.active);
	/* Consumed. */
	assert_int_equal(users_activate(conn(), a, "new@example.org", code, good_pw, "10.7.0.1", &out, &why, &retry),
			 ENT_EAUTH);
	assert_int_equal(auth("new@example.org", good_pw, "10.7.0.1", NULL), ENT_OK);
	/* An expired code is refused. */
	assert_int_equal(users_reset_code(conn(), u.id, code, expires), ENT_OK);
	assert_int_equal(auth("new@example.org", good_pw, "10.7.0.1", NULL), ENT_EAUTH); /* password cleared */
	fake_now += 31L * 86400;
	assert_int_equal(users_activate(conn(), a, "new@example.org", code, good_pw, "10.7.0.1", &out, &why, &retry),
			 ENT_EAUTH);
	arena_free(a);
}

static void test_set_password(void **state)
{
	(void)state;
	char id[37];
	make_user("setpw@example.org", ROLE_ADMIN, good_pw, id);
	const char *why = NULL;
	assert_int_equal(users_set_password(conn(), id, "short", &why), ENT_EINVAL);
	assert_non_null(why);
	char longpw[200];
	memset(longpw, 'a', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	assert_int_equal(users_set_password(conn(), id, longpw, &why),
			 ENT_EINVAL); /* over 128: refused, not truncated */
	assert_int_equal(users_set_password(conn(), id, "Another-Good-Pass-77", &why), ENT_OK);
	assert_int_equal(auth("setpw@example.org", good_pw, NULL, NULL), ENT_EAUTH);
	assert_int_equal(auth("setpw@example.org", "Another-Good-Pass-77", NULL, NULL), ENT_OK);
	assert_int_equal(
		users_set_password(conn(), "00000000-0000-4000-8000-000000000000", "Another-Good-Pass-77", &why),
		ENT_ENOTFOUND);
	/* users_check_password (password change) counts failures like a login. */
	int retry;
	assert_int_equal(users_check_password(conn(), id, "wrong-password-123", "10.8.0.1", &retry), ENT_EAUTH);
	assert_int_equal(sql_int("SELECT failed_count FROM user_credentials WHERE user_id = ?", id), 1);
	assert_int_equal(users_check_password(conn(), id, "Another-Good-Pass-77", "10.8.0.1", &retry), ENT_OK);
}

static void test_upsert_external(void **state)
{
	(void)state;
	arena *a = arena_new(0);
	struct user u, v;
	const char *iss = "https://kc.example.org/realms/ent";
	assert_int_equal(users_upsert_external(conn(), a, iss, "sub-1", "Ext@Example.org", "ext", "Eric", "Externe",
					       ROLE_ENSEIGNANT, &u),
			 ENT_OK);
	assert_string_equal(u.iss, iss);
	assert_string_equal(u.sub, "sub-1");
	assert_string_equal(u.email, "ext@example.org");
	assert_string_equal(u.username, "ext");
	assert_int_equal(u.roles, ROLE_ENSEIGNANT);
	assert_true(u.active); /* no password here, none needed: the issuer authenticates */
	/* Seen again with new names and roles: the same account, refreshed. */
	assert_int_equal(users_upsert_external(conn(), a, iss, "sub-1", "ext@example.org", "ext", "Éric", "Externe",
					       ROLE_ADMIN | ROLE_ENSEIGNANT, &v),
			 ENT_OK);
	assert_string_equal(v.id, u.id);
	assert_string_equal(v.given_name, "Éric");
	assert_int_equal(v.roles, ROLE_ADMIN);
	/* The same sub at another issuer is another person. */
	assert_int_equal(
		users_upsert_external(conn(), a, "https://other.example.org", "sub-1", NULL, NULL, "A", "B", 0, &v),
		ENT_OK);
	assert_string_not_equal(v.id, u.id);
	assert_int_equal(v.roles, ROLE_ETUDIANT);
	/* An email a local account holds is not taken over (users are identified by iss+sub, never email). */
	char local[37];
	make_user("taken@example.org", ROLE_ADMIN, good_pw, local);
	assert_int_equal(users_upsert_external(conn(), a, iss, "sub-2", "taken@example.org", "taken@example.org", "T",
					       "K", ROLE_ETUDIANT, &v),
			 ENT_OK);
	assert_string_not_equal(v.id, local);
	assert_null(v.email);
	assert_int_equal(users_upsert_external(conn(), a, "", "x", NULL, NULL, NULL, NULL, 0, &v), ENT_EINVAL);
	arena_free(a);
}

static void test_classes(void **state)
{
	(void)state;
	char s1[37], s2[37], t1[37], cid[37], cid2[37];
	make_user("cl.s1@example.org", ROLE_ETUDIANT, NULL, s1);
	make_user("cl.s2@example.org", ROLE_ETUDIANT, NULL, s2);
	make_user("cl.t1@example.org", ROLE_ENSEIGNANT, NULL, t1);
	int created;
	assert_int_equal(users_class_by_name(conn(), "3e Z", "2026-2027", 1, cid, &created), ENT_OK);
	assert_int_equal(created, 1);
	assert_int_equal(users_class_by_name(conn(), "3e Z", "2026-2027", 1, cid2, &created), ENT_OK);
	assert_int_equal(created, 0);
	assert_string_equal(cid, cid2);
	assert_int_equal(users_class_by_name(conn(), "3e Y", "2026-2027", 1, cid2, NULL), ENT_OK);
	assert_int_equal(users_set_class(conn(), s1, "etudiant", cid), ENT_OK);
	assert_int_equal(users_set_class(conn(), s2, "etudiant", cid), ENT_OK);
	assert_int_equal(users_set_class(conn(), t1, "enseignant", cid), ENT_OK);
	assert_int_equal(users_set_class(conn(), t1, "enseignant", cid2), ENT_OK); /* teachers: several classes */
	arena *a = arena_new(0);
	char **ids;
	assert_int_equal(users_class_members(conn(), a, cid, &ids), 2); /* students only */
	/* A student moved to another class leaves the first. */
	assert_int_equal(users_set_class(conn(), s2, "etudiant", cid2), ENT_OK);
	assert_int_equal(users_class_members(conn(), a, cid, &ids), 1);
	assert_string_equal(ids[0], s1);
	assert_null(ids[1]);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM class_members WHERE user_id = ?", t1), 2);
	/* The database itself refuses a second class for a student. */
	db_stmt *s = db_prepare(
		conn(), "INSERT INTO class_members (class_id, user_id, kind, added_at) VALUES (?, ?, 'etudiant', 'x')");
	db_bind_text(s, 1, cid);
	db_bind_text(s, 2, s2);
	assert_int_equal(db_step(s), ENT_ECONFLICT);
	db_done(s);
	assert_int_equal(users_set_class(conn(), s1, "etudiant", "00000000-0000-4000-8000-000000000000"),
			 ENT_ENOTFOUND);
	assert_int_equal(users_class_members(conn(), a, "nope", &ids), ENT_ENOTFOUND);
	arena_free(a);
}

/* ---- text helpers ---- */

static void test_text(void **state)
{
	(void)state;
	arena *a = arena_new(0);
	assert_string_equal(users_fold(a, "Éloïse CŒUR-Ÿvon ßx"), "eloise coeur-yvon ssx");
	/* A French register: family name then given name, accents and case second (ICU's "fr"). */
	assert_true(strcmp(users_sort_key(a, "Lea", "Martin"), users_sort_key(a, "Léa", "Martin")) < 0);
	assert_true(strcmp(users_sort_key(a, "Léa", "Martin"), users_sort_key(a, "Lucas", "Martin")) < 0);
	assert_true(strcmp(users_sort_key(a, "Zoé", "Leger"), users_sort_key(a, "Hélène", "Léger")) > 0);
	assert_true(strcmp(users_sort_key(a, "Eric", "Dupond"), users_sort_key(a, "Éric", "Dupont")) < 0);
	assert_int_equal(strspn(users_sort_key(a, "Éloïse", "Cœur"), "0123456789abcdef"),
			 strlen(users_sort_key(a, "Éloïse", "Cœur")));
	assert_true(users_valid_email("a.b@c.fr"));
	assert_false(users_valid_email("a@b"));
	assert_false(users_valid_email("a b@c.fr"));
	assert_true(users_valid_school_year("2026-2027"));
	assert_false(users_valid_school_year("2026-2028"));
	assert_false(users_valid_school_year("-026-2027"));
	char y[10];
	users_school_year(1790000000, y); /* 2026-09-21 */
	assert_string_equal(y, "2026-2027");
	users_school_year(1780000000, y); /* 2026-05-28 */
	assert_string_equal(y, "2025-2026");
	arena_free(a);
}

/* ---- CSV ---- */

struct parsed {
	int rc[16];
	size_t nfields[16];
	char fields[16][8][64];
	unsigned lines[16];
	int n;
};

static void parse_all(const char *data, size_t len, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	char store[256];
	struct csv_record rec = {.store = store, .cap = sizeof(store)};
	size_t pos = csv_bom_len(data, len), used;
	int rc;
	while (p->n < 16 && (rc = csv_parse_line(data + pos, len - pos, &used, &rec)) != CSV_END) {
		assert_true(used > 0);
		assert_true(pos + used <= len);
		p->rc[p->n] = rc;
		p->nfields[p->n] = rec.nfields;
		p->lines[p->n] = rec.lines;
		for (size_t i = 0; i < rec.nfields && i < 8; i++)
			snprintf(p->fields[p->n][i], 64, "%s", rec.fields[i]);
		p->n++;
		pos += used;
	}
}

static void test_csv(void **state)
{
	(void)state;
	struct parsed p;
	const char doc[] = "\xEF\xBB\xBF"
			   "a,b,c\r\n"
			   "\"x, y\",\"say \"\"hi\"\"\",\r\n"
			   "\"multi\nline\",2,3\n"
			   "last,,end";
	parse_all(doc, sizeof(doc) - 1, &p);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.rc[0], CSV_RECORD);
	assert_int_equal(p.nfields[0], 3);
	assert_string_equal(p.fields[0][0], "a"); /* the BOM is not part of the first field */
	assert_string_equal(p.fields[1][0], "x, y");
	assert_string_equal(p.fields[1][1], "say \"hi\"");
	assert_string_equal(p.fields[1][2], "");
	assert_int_equal(p.nfields[1], 3);
	assert_string_equal(p.fields[2][0], "multi\nline");
	assert_int_equal(p.lines[2], 2); /* one record, two physical lines */
	assert_string_equal(p.fields[3][1], "");
	assert_string_equal(p.fields[3][2], "end");
	assert_int_equal(p.lines[3], 0); /* no line end at the end of the data */

	/* Errors resynchronise at the next line. */
	const char bad[] = "ok,1\nbad\"quote,2\n\"closed\"junk,3\nfine,4\n";
	parse_all(bad, sizeof(bad) - 1, &p);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.rc[0], CSV_RECORD);
	assert_int_equal(p.rc[1], CSV_EQUOTE);
	assert_int_equal(p.rc[2], CSV_EQUOTE);
	assert_int_equal(p.rc[3], CSV_RECORD);
	assert_string_equal(p.fields[3][0], "fine");

	const char unterminated[] = "ok\na,\"never closed\nb,c\n";
	parse_all(unterminated, sizeof(unterminated) - 1, &p);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.rc[1], CSV_EUNTERMINATED);

	/* Empty lines are records of one empty field; CR alone ends a line too. */
	const char blank[] = "\n\r\nx\ry";
	parse_all(blank, sizeof(blank) - 1, &p);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.nfields[0], 1);
	assert_string_equal(p.fields[0][0], "");
	assert_string_equal(p.fields[2][0], "x");
	assert_string_equal(p.fields[3][0], "y");

	/* Too many fields, too long, empty input. */
	char many[200];
	size_t o = 0;
	for (int i = 0; i < CSV_MAX_FIELDS + 1; i++)
		many[o++] = ',';
	many[o++] = '\n';
	memcpy(many + o, "z\n", 2);
	o += 2;
	parse_all(many, o, &p);
	assert_int_equal(p.rc[0], CSV_ETOOMANY);
	assert_int_equal(p.rc[1], CSV_RECORD);
	char big[600];
	memset(big, 'x', sizeof(big));
	parse_all(big, sizeof(big), &p);
	assert_int_equal(p.rc[0], CSV_ETOOLONG);
	parse_all("", 0, &p);
	assert_int_equal(p.n, 0);
	/* A field holding a NUL byte is reported through its length. */
	char store[64];
	struct csv_record rec = {.store = store, .cap = sizeof(store)};
	size_t used;
	assert_int_equal(csv_parse_line("a\0b,c", 5, &used, &rec), CSV_RECORD);
	assert_int_equal(rec.lens[0], 3);
	assert_int_equal(used, 5);
}

/* Every prefix of a tricky document parses without reading or writing out of bounds. */
static void test_csv_prefixes(void **state)
{
	(void)state;
	const char doc[] = "\"a\"\"b\",\"c\r\nd\"\r\n,\"\",\"\"\"\"\n\"x\"y\n";
	for (size_t n = 0; n <= sizeof(doc) - 1; n++) {
		char *copy = malloc(n ? n : 1); /* exact size: ASan catches any overread */
		memcpy(copy, doc, n);
		struct parsed p;
		parse_all(copy, n, &p);
		free(copy);
	}
}

/* ---- import ---- */

static json_t *do_import(const char *csv, int dry_run, int expect)
{
	struct import_opts o = {.dry_run = dry_run, .school_year = "2026-2027"};
	json_t *r = NULL;
	const char *why = NULL;
	assert_int_equal(users_import(conn(), csv, strlen(csv), &o, &r, &why), expect);
	return r;
}

static int64_t jint(json_t *r, const char *k) { return json_integer_value(json_object_get(r, k)); }

static void test_import(void **state)
{
	(void)state;
	const char csv[] = "email,given_name,family_name,role,class,external_id\n"
			   "imp.a@example.org,Anne,Alpha,etudiant,6e Z,EXT-1\n"
			   "imp.b@example.org,Bruno,Bravo,élève,6e Z,\n"
			   "imp.c@example.org,Chloé,\"Charlie, Jr\",enseignant,,EXT-3\n"
			   "bad-email,X,Y,etudiant,,\n"
			   "imp.d@example.org,D,D,pirate,,\n"
			   "imp.a@example.org,Dup,Licate,etudiant,,\n"
			   "imp.e@example.org,Too,Few\n";
	long before = (long)sql_int("SELECT COUNT(*) FROM users WHERE CAST(? AS TEXT) IS NOT NULL", "x");
	json_t *r = do_import(csv, 1, ENT_OK);
	assert_int_equal(jint(r, "created"), 3);
	assert_int_equal(json_array_size(json_object_get(r, "rejected")), 4);
	assert_int_equal(json_array_size(json_object_get(r, "activation_codes")), 0);
	json_decref(r);
	/* The dry run changed nothing. */
	assert_int_equal(sql_int("SELECT COUNT(*) FROM users WHERE CAST(? AS TEXT) IS NOT NULL", "x"), before);
	assert_int_equal(sql_int("SELECT COUNT(*) FROM classes WHERE name = ?", "6e Z"), 0);

	r = do_import(csv, 0, ENT_OK);
	assert_int_equal(jint(r, "created"), 3);
	assert_int_equal(jint(r, "updated"), 0);
	assert_int_equal(jint(r, "classes_created"), 1);
	json_t *rej = json_object_get(r, "rejected");
	assert_int_equal(json_array_size(rej), 4);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rej, 0), "line")), 5);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rej, 3), "line")), 8);
	json_t *codes = json_object_get(r, "activation_codes");
	assert_int_equal(json_array_size(codes), 3);
	const char *code = json_string_value(json_object_get(json_array_get(codes, 0), "code"));
	assert_int_equal(strlen(code), 14);
	assert_string_equal(json_string_value(json_object_get(json_array_get(codes, 2), "name")), "Chloé Charlie, Jr");
	/* The code activates the account. */
	arena *a = arena_new(0);
	struct user u;
	const char *why;
	int retry;
	assert_int_equal(users_activate(conn(), a, "imp.a@example.org", code, good_pw, NULL, &u, &why, &retry), ENT_OK);
	json_decref(r);

	/* Again: nothing to do. */
	r = do_import(csv, 0, ENT_OK);
	assert_int_equal(jint(r, "created"), 0);
	assert_int_equal(jint(r, "updated"), 0);
	assert_int_equal(jint(r, "unchanged"), 3);
	json_decref(r);
	/* Changed by external id (new email, new name), and by email (new role). */
	const char csv2[] = "external_id,email,given_name,family_name,role\r\n"
			    "EXT-1,imp.a2@example.org,Anne,Alpha-Nouveau,etudiant\r\n"
			    ",imp.b@example.org,Bruno,Bravo,enseignant\r\n";
	r = do_import(csv2, 0, ENT_OK);
	assert_int_equal(jint(r, "updated"), 2);
	assert_int_equal(jint(r, "created"), 0);
	json_decref(r);
	assert_int_equal(users_find_login(conn(), a, "imp.a2@example.org", &u), ENT_OK);
	assert_string_equal(u.family_name, "Alpha-Nouveau");
	assert_true(u.active); /* the password set at activation is kept */

	/* A document without the needed columns is refused as a whole. */
	r = do_import("email,name\nx@y.fr,Z\n", 0, ENT_EINVAL);
	assert_null(r);
	r = do_import("", 0, ENT_EINVAL);
	r = do_import("email,given_name,family_name,role,color\n", 0, ENT_EINVAL);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_csv_prefixes),
		cmocka_unit_test(test_create_and_get),
		cmocka_unit_test(test_authenticate),
		cmocka_unit_test(test_lockout),
		cmocka_unit_test(test_unknown_login_locks_like_an_account),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_ip_lock),
		cmocka_unit_test(test_concurrent_failures_all_counted),
		cmocka_unit_test(test_activation),
		cmocka_unit_test(test_set_password),
		cmocka_unit_test(test_upsert_external),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_import),
	};
	int failed = cmocka_run_group_tests_name("users on SQLite", tests, setup, teardown);
	if (getenv("ENT_TEST_PG_URL") && *getenv("ENT_TEST_PG_URL"))
		failed += cmocka_run_group_tests_name("users on PostgreSQL", tests, setup_pg, teardown_pg);
	else
		fprintf(stderr, "ENT_TEST_PG_URL is not set: the PostgreSQL run is skipped\n");
	return failed;
}
