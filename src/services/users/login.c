/*
 * login.c - checking passwords and activation codes, with brute-force protection.
 *
 * Every attempt goes through the same steps, whatever its outcome, so that an attacker learns
 * nothing from the answer or its timing:
 *   1. the source address: after IP_MAX_FAILURES failed attempts in IP_WINDOW seconds, its
 *      attempts are evaluated one per IP_SLOT seconds (the counter and the next free slot live in
 *      login_failures, one row per address). It slows an attacker down without locking the
 *      address: a school's whole network may reach us through one address (its NAT, or a gateway
 *      whose X-Forwarded-For is trusted, ENT_TRUSTED_PROXIES), and one pupil's failures must not
 *      keep the others out; a correct password of another account goes through at its turn;
 *   2. the account: from its ACCOUNT_FREE_FAILURES-th consecutive failure it is locked for
 *      2^(n-5) seconds, at most ACCOUNT_MAX_LOCK. While locked, an attempt is refused without
 *      looking at the password (even the right one) and counts as one more failure, so hammering
 *      a locked account only makes the lock longer;
 *   3. the secret, checked with Argon2id (password_verify), or password_dummy_verify() for an
 *      unknown login, so both take the same time.
 * An unknown login has a counter of its own (login_unknown, keyed by the SHA-256 of the login),
 * so that it gets locked exactly like an account would: "unknown user" and "wrong password" stay
 * indistinguishable even through the lockout. Failures are counted with single atomic statements
 * (UPDATE ... SET n = n + 1 / INSERT ... ON CONFLICT DO UPDATE), so concurrent failures are all
 * counted. A disabled account is only reported as such to someone who gave its right password.
 *
 * Every attempt on a known account is recorded in login_events (the user's login history, part
 * of their GDPR export); events older than a year are pruned.
 */
#include "internal.h"

#include "core/err.h"
#include "core/jwt.h"
#include "core/log.h"
#include "core/password.h"
#include "core/util.h"
#include "core/sql.h"

#include <stdlib.h>
#include <string.h>

#define IP_MAX_FAILURES 100
#define IP_WINDOW (15 * 60)
#define IP_SLOT 1 /* seconds between two evaluated attempts of a hot address */
#define ACCOUNT_FREE_FAILURES 5
#define ACCOUNT_MAX_LOCK (15 * 60)
#define FAILURES_FORGOTTEN_AFTER (12 * 3600) /* a failure this old no longer counts as consecutive */

/* The lock, in seconds, that follows the n-th consecutive failure. */
static long lock_seconds(int64_t n)
{
	if (n < ACCOUNT_FREE_FAILURES)
		return 0;
	int64_t e = n - ACCOUNT_FREE_FAILURES;
	if (e >= 10)
		return ACCOUNT_MAX_LOCK;
	long s = 1L << e;
	return s > ACCOUNT_MAX_LOCK ? ACCOUNT_MAX_LOCK : s;
}

/* Seconds until the RFC 3339 time until (at least 1), or 0 if it is past or NULL. */
static int seconds_until(const char *until)
{
	time_t t;
	if (!until || util_parse_rfc3339(until, &t))
		return 0;
	time_t now = users_clock();
	return t > now ? (int)(t - now) : 0;
}

/* Removes what is no longer needed, now and then (about one call in 256). */
static void prune(db_conn *c)
{
	unsigned char r;
	util_random(&r, 1);
	if (r != 0)
		return;
	char year_ago[21], day_ago[21], window_ago[21], now[21];
	users_time(year_ago, -365L * 86400);
	users_time(day_ago, -86400);
	users_time(window_ago, -IP_WINDOW);
	users_time(now, 0);
	db_stmt *s = db_prepare(c, "DELETE FROM login_events WHERE at < ?");
	if (s) {
		db_bind_text(s, 1, year_ago);
		db_step(s);
		db_done(s);
	}
	s = db_prepare(c,
		       "DELETE FROM login_unknown WHERE updated_at < ? AND (locked_until IS NULL OR locked_until < ?)");
	if (s) {
		db_bind_text(s, 1, day_ago);
		db_bind_text(s, 2, now);
		db_step(s);
		db_done(s);
	}
	s = db_prepare(
		c, "DELETE FROM login_failures WHERE window_start < ? AND (locked_until IS NULL OR locked_until < ?)");
	if (s) {
		db_bind_text(s, 1, window_ago);
		db_bind_text(s, 2, now);
		db_step(s);
		db_done(s);
	}
}

/*
 * A database error as these functions report it: ENT_EBUSY means "throttled" to their callers
 * (429 with Retry-After), so a database that stays locked is reported as unavailable instead.
 */
static int db_err(int rc) { return rc == ENT_EBUSY ? ENT_EUNAVAIL : rc; }

/* ---- per source IP ---- */

/*
 * 0 when an attempt from ip may be evaluated now, 1 (and *retry_after) when the address is hot and
 * its next slot is not free yet, or a negative error. A hot address's slot is taken by one atomic
 * conditional UPDATE, so concurrent attempts get one slot each.
 */
static int ip_gate(db_conn *c, const char *ip, int *retry_after)
{
	if (!ip || !*ip)
		return 0;
	char now[21], window_start[21], next[21];
	users_time(now, 0);
	users_time(window_start, -IP_WINDOW);
	users_time(next, IP_SLOT);
	db_stmt *s = SQL_PREP(c,
			      "UPDATE login_failures SET locked_until = ? WHERE ip = ? AND count > ?"
			      " AND window_start >= ? AND (locked_until IS NULL OR locked_until <= ?)",
			      SQL_T(next), SQL_T(ip), SQL_I(IP_MAX_FAILURES), SQL_T(window_start), SQL_T(now));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	int64_t took = rc >= 0 ? db_changes(s) : 0;
	db_done(s);
	if (rc < 0)
		return rc;
	if (took)
		return 0; /* hot, and this attempt has the slot */
	s = SQL_PREP(c, "SELECT locked_until FROM login_failures WHERE ip = ? AND count > ? AND window_start >= ?",
		     SQL_T(ip), SQL_I(IP_MAX_FAILURES), SQL_T(window_start));
	if (!s)
		return ENT_EDB;
	rc = db_step(s);
	int wait = rc == DB_ROW ? seconds_until(db_col_text(s, 0)) : 0;
	db_done(s);
	if (rc < 0)
		return rc;
	if (wait > 0) {
		*retry_after = wait;
		return 1;
	}
	return 0;
}

static void ip_failure(db_conn *c, const char *ip)
{
	if (!ip || !*ip)
		return;
	char now[21], window_start[21];
	users_time(now, 0);
	users_time(window_start, -IP_WINDOW);
	db_stmt *s = db_prepare(
		c, "INSERT INTO login_failures (ip, count, window_start, locked_until) VALUES (?, 1, ?, NULL)"
		   " ON CONFLICT (ip) DO UPDATE SET"
		   " count = CASE WHEN login_failures.window_start < ? THEN 1 ELSE login_failures.count + 1 END,"
		   " window_start = CASE WHEN login_failures.window_start < ? THEN excluded.window_start"
		   " ELSE login_failures.window_start END"
		   " RETURNING count");
	if (!s)
		return;
	db_bind_text(s, 1, ip);
	db_bind_text(s, 2, now);
	db_bind_text(s, 3, window_start);
	db_bind_text(s, 4, window_start);
	int64_t n = db_step(s) == DB_ROW ? db_col_int64(s, 0) : 0;
	db_done(s);
	if (n == IP_MAX_FAILURES + 1)
		log_warn("login: %s slowed to one attempt every %d s after %lld failed logins", ip, IP_SLOT,
			 (long long)n);
}

/* ---- per account, known or unknown ---- */

/*
 * The statements of a failure counter: on user_credentials (known accounts, keyed by user id) or
 * on login_unknown (unknown logins, keyed by the login's hash). Both tables have failed_count,
 * locked_until and updated_at.
 */
struct counter {
	const char *bump; /* (key, now, forget_before) -> RETURNING failed_count */
	const char *lock; /* (now, until, key) */
};

static const struct counter known_counter = {
	.bump = "INSERT INTO user_credentials (user_id, password_hash, activation_hash, activation_expires_at,"
		" failed_count, locked_until, updated_at) VALUES (?, NULL, NULL, NULL, 1, NULL, ?)"
		" ON CONFLICT (user_id) DO UPDATE SET failed_count = CASE WHEN user_credentials.updated_at < ?"
		" AND (user_credentials.locked_until IS NULL OR user_credentials.locked_until < excluded.updated_at)"
		" THEN 1 ELSE user_credentials.failed_count + 1 END, updated_at = excluded.updated_at"
		" RETURNING failed_count",
	.lock = "UPDATE user_credentials SET locked_until = CASE WHEN locked_until IS NULL OR locked_until < ? THEN ?"
		" ELSE locked_until END WHERE user_id = ?",
};

static const struct counter unknown_counter = {
	.bump = "INSERT INTO login_unknown (login_hash, failed_count, locked_until, updated_at) VALUES (?, 1, NULL, ?)"
		" ON CONFLICT (login_hash) DO UPDATE SET failed_count = CASE WHEN login_unknown.updated_at < ?"
		" AND (login_unknown.locked_until IS NULL OR login_unknown.locked_until < excluded.updated_at)"
		" THEN 1 ELSE login_unknown.failed_count + 1 END, updated_at = excluded.updated_at"
		" RETURNING failed_count",
	.lock = "UPDATE login_unknown SET locked_until = CASE WHEN locked_until IS NULL OR locked_until < ? THEN ?"
		" ELSE locked_until END WHERE login_hash = ?",
};

/* Counts one failure for key; returns the seconds the account is now locked for (0: not locked). */
static int count_failure(db_conn *c, const struct counter *k, const char *key)
{
	char now[21], forget[21];
	users_time(now, 0);
	users_time(forget, -FAILURES_FORGOTTEN_AFTER);
	db_stmt *s = SQL_PREP(c, k->bump, SQL_T(key), SQL_T(now), SQL_T(forget));
	if (!s)
		return 0;
	int64_t n = db_step(s) == DB_ROW ? db_col_int64(s, 0) : 0;
	db_done(s);
	long secs = lock_seconds(n);
	if (!secs)
		return 0;
	char until[21];
	users_time(until, secs);
	s = SQL_PREP(c, k->lock, SQL_T(until), SQL_T(until), SQL_T(key));
	if (!s)
		return 0;
	db_step(s);
	db_done(s);
	return (int)secs;
}

static void record_event(db_conn *c, const char *user_id, const char *ip, int success)
{
	char id[37], now[21];
	util_uuid(id);
	users_time(now, 0);
	db_stmt *s = SQL_PREP(c, "INSERT INTO login_events (id, user_id, at, ip, success) VALUES (?, ?, ?, ?, ?)",
			      SQL_T(id), SQL_T(user_id), SQL_T(now), SQL_T(ip && *ip ? ip : NULL),
			      SQL_I(success ? 1 : 0));
	if (!s)
		return;
	db_step(s);
	db_done(s);
	if (success) {
		s = db_prepare(c, "UPDATE users SET last_login_at = ? WHERE id = ?");
		if (s) {
			db_bind_text(s, 1, now);
			db_bind_text(s, 2, user_id);
			db_step(s);
			db_done(s);
		}
	}
}

static void reset_failures(db_conn *c, const char *user_id)
{
	char now[21];
	users_time(now, 0);
	db_stmt *s = SQL_PREP(c,
			      "UPDATE user_credentials SET failed_count = 0, locked_until = NULL, updated_at = ?"
			      " WHERE user_id = ? AND (failed_count <> 0 OR locked_until IS NOT NULL)",
			      SQL_T(now), SQL_T(user_id));
	if (!s)
		return;
	db_step(s);
	db_done(s);
}

/* What a login attempt needs to know about an account. */
struct cred {
	char id[37];
	char *password_hash, *code_hash, *code_expires, *locked_until;
	int disabled;
};

#define CRED_SQL                                                                                                       \
	"SELECT u.id, k.password_hash, k.activation_hash, k.activation_expires_at, k.locked_until, u.disabled"         \
	" FROM users u LEFT JOIN user_credentials k ON k.user_id = u.id"

static int cred_read(db_stmt *s, arena *a, struct cred *cr)
{
	int rc = db_step(s);
	if (rc == DB_ROW) {
		snprintf(cr->id, sizeof(cr->id), "%s", db_col_text(s, 0));
		const char *v;
		cr->password_hash = (v = db_col_text(s, 1)) ? arena_strdup(a, v) : NULL;
		cr->code_hash = (v = db_col_text(s, 2)) ? arena_strdup(a, v) : NULL;
		cr->code_expires = (v = db_col_text(s, 3)) ? arena_strdup(a, v) : NULL;
		cr->locked_until = (v = db_col_text(s, 4)) ? arena_strdup(a, v) : NULL;
		cr->disabled = db_col_int64(s, 5) != 0;
	}
	db_done(s);
	return rc < 0 ? rc : rc == DB_ROW ? ENT_OK : ENT_ENOTFOUND;
}

static int cred_by_login(db_conn *c, arena *a, const char *login, struct cred *cr)
{
	if (!login || !*login)
		return ENT_ENOTFOUND;
	char *l = users_lower(a, login);
	db_stmt *s = db_prepare(c, CRED_SQL " WHERE (u.email = ? OR u.username = ?) AND u.deleted_at IS NULL"
					    " ORDER BY CASE WHEN u.email = ? THEN 0 ELSE 1 END LIMIT 1");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, l);
	db_bind_text(s, 2, l);
	db_bind_text(s, 3, l);
	return cred_read(s, a, cr);
}

static int cred_by_id(db_conn *c, arena *a, const char *id, struct cred *cr)
{
	db_stmt *s = db_prepare(c, CRED_SQL " WHERE u.id = ? AND u.deleted_at IS NULL");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, id);
	return cred_read(s, a, cr);
}

/*
 * An attempt on a login nobody has: the same work and the same answers as a wrong secret. With
 * argon, the password check of a known account is imitated (password_dummy_verify); without, the
 * check is an activation code's, a SHA-256 the caller has already computed.
 */
static int unknown_attempt(db_conn *c, arena *a, const char *login, const char *password, int argon, const char *ip,
			   int *retry_after)
{
	char key[65];
	char *l = users_lower(a, login ? login : "");
	sha256_hex(l, strlen(l), key);
	int wait = 0;
	db_stmt *s = db_prepare(c, "SELECT locked_until FROM login_unknown WHERE login_hash = ?");
	if (s) {
		db_bind_text(s, 1, key);
		if (db_step(s) == DB_ROW)
			wait = seconds_until(db_col_text(s, 0));
		db_done(s);
	}
	if (!wait && argon)
		password_dummy_verify(password ? password : "");
	int locked = count_failure(c, &unknown_counter, key);
	ip_failure(c, ip);
	prune(c);
	if (wait) {
		*retry_after = locked > wait ? locked : wait;
		return ENT_EBUSY;
	}
	return ENT_EAUTH;
}

/*
 * The common steps for a known account: lock check, secret check (ok computed by check()),
 * accounting. Returns ENT_OK when the secret was right and the account usable.
 */
static int known_attempt(db_conn *c, const struct cred *cr, int ok, const char *ip, int *retry_after)
{
	int wait = seconds_until(cr->locked_until);
	if (wait) {
		int locked = count_failure(c, &known_counter, cr->id);
		ip_failure(c, ip);
		record_event(c, cr->id, ip, 0);
		*retry_after = locked > wait ? locked : wait;
		return ENT_EBUSY;
	}
	if (!ok) {
		count_failure(c, &known_counter, cr->id);
		ip_failure(c, ip);
		record_event(c, cr->id, ip, 0);
		prune(c);
		return ENT_EAUTH;
	}
	if (cr->disabled) {
		record_event(c, cr->id, ip, 0);
		return ENT_EFORBIDDEN;
	}
	return ENT_OK;
}

int users_authenticate(db_conn *c, arena *a, const char *login, const char *password, const char *ip, struct user *out,
		       int *retry_after)
{
	*retry_after = 0;
	int rc = ip_gate(c, ip, retry_after);
	if (rc)
		return rc < 0 ? db_err(rc) : ENT_EBUSY;
	struct cred cr;
	rc = cred_by_login(c, a, login, &cr);
	if (rc == ENT_ENOTFOUND)
		return unknown_attempt(c, a, login, password, 1, ip, retry_after);
	if (rc)
		return db_err(rc);
	int ok = 0;
	if (!seconds_until(cr.locked_until)) {
		if (cr.password_hash)
			ok = password_verify(cr.password_hash, password ? password : "");
		else
			password_dummy_verify(password ? password : ""); /* not activated: no password yet */
	}
	rc = known_attempt(c, &cr, ok, ip, retry_after);
	if (rc)
		return rc;
	reset_failures(c, cr.id);
	record_event(c, cr.id, ip, 1);
	if (password_needs_rehash(cr.password_hash)) {
		char *h = password_hash(password);
		db_stmt *s =
			h ? db_prepare(
				    c,
				    "UPDATE user_credentials SET password_hash = ? WHERE user_id = ? AND password_hash = ?")
			  : NULL;
		if (s) {
			db_bind_text(s, 1, h);
			db_bind_text(s, 2, cr.id);
			db_bind_text(s, 3, cr.password_hash);
			db_step(s);
			db_done(s);
		}
		free(h);
	}
	return users_get(c, a, cr.id, out);
}

int users_activate(db_conn *c, arena *a, const char *login, const char *code, const char *password, const char *ip,
		   struct user *out, const char **why, int *retry_after)
{
	*why = NULL;
	*retry_after = 0;
	int rc = ip_gate(c, ip, retry_after);
	if (rc)
		return rc < 0 ? db_err(rc) : ENT_EBUSY;
	char typed[65];
	users_code_hash(code, typed);
	struct cred cr;
	rc = cred_by_login(c, a, login, &cr);
	if (rc == ENT_ENOTFOUND)
		return unknown_attempt(c, a, login, NULL, 0, ip, retry_after);
	if (rc)
		return db_err(rc);
	int ok = cr.code_hash && strlen(cr.code_hash) == 64 && util_ct_equal(typed, cr.code_hash, 64) &&
		 seconds_until(cr.code_expires) > 0;
	rc = known_attempt(c, &cr, ok, ip, retry_after);
	if (rc)
		return rc;
	*why = password ? password_policy_error(password) : "mot de passe manquant";
	if (*why)
		return ENT_EINVAL;
	char *h = password_hash(password);
	if (!h)
		return ENT_EINTERNAL;
	char now[21];
	users_time(now, 0);
	/* Conditional on the code still being there: of two concurrent uses, one wins. */
	int64_t n = 0;
	rc = SQL_CHANGE(c, &n, USERS_SET_PASSWORD " AND activation_hash = ?", SQL_T(h), SQL_T(now), SQL_T(cr.id),
			SQL_T(cr.code_hash));
	free(h);
	if (rc < 0)
		return rc;
	if (n != 1)
		return ENT_EAUTH;
	record_event(c, cr.id, ip, 1);
	return users_get(c, a, cr.id, out);
}

int users_check_password(db_conn *c, const char *user_id, const char *password, const char *ip, int *retry_after)
{
	*retry_after = 0;
	int rc = ip_gate(c, ip, retry_after);
	if (rc)
		return rc < 0 ? db_err(rc) : ENT_EBUSY;
	arena *a = arena_new(0);
	struct cred cr;
	rc = cred_by_id(c, a, user_id, &cr);
	if (rc == ENT_OK) {
		int ok = 0;
		if (!seconds_until(cr.locked_until)) {
			if (cr.password_hash)
				ok = password_verify(cr.password_hash, password ? password : "");
			else
				password_dummy_verify(password ? password : "");
		}
		cr.disabled = 0; /* the caller holds a token: only the secret is in question here */
		rc = known_attempt(c, &cr, ok, ip, retry_after);
	} else {
		rc = db_err(rc);
	}
	arena_free(a);
	return rc;
}

int users_may_login(db_conn *c, const char *id)
{
	if (!id || !util_is_uuid(id))
		return 0;
	db_stmt *s = db_prepare(
		c, "SELECT u.disabled, k.locked_until FROM users u"
		   " LEFT JOIN user_credentials k ON k.user_id = u.id WHERE u.id = ? AND u.deleted_at IS NULL");
	if (!s)
		return 0;
	db_bind_text(s, 1, id);
	int may = 0;
	if (db_step(s) == DB_ROW)
		may = db_col_int64(s, 0) == 0 && seconds_until(db_col_text(s, 1)) == 0;
	db_done(s);
	return may;
}
