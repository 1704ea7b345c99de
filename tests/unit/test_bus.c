/*
 * test_bus.c - the outbox and the local dispatcher, on SQLite and (ENT_TEST_PG_URL) PostgreSQL.
 *
 * A test consumer records what it applied (under a mutex: it runs on the dispatcher thread) and
 * can be told to fail its next N calls. The cases: a rolled-back publish is never delivered; a
 * committed one is applied exactly once with its payload, and `applied` runs after the commit; a
 * failing handler is retried until it succeeds; an event delivered twice is applied once; types
 * that do not match are skipped; events published while no dispatcher runs are delivered when one
 * starts (the outbox survives a stopped process).
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

#include "bus/bus.h"
#include "bus/internal.h"
#include "core/app.h"
#include "core/config.h"
#include "core/err.h"
#include "core/util.h"
#include "store/migrate.h"

extern const struct service svc_core;

static char dir[512];
static char pg_schema[40];
static db *dbh;
static struct config cfg = {.bus = "local"};

/* ---- the test consumer ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int handled, committed, fail_next, seen_inside;
static char last_type[64];
static long long last_n;

static int handle(db_conn *c, const struct bus_event *ev)
{
	/* The handler's writes share the bus's transaction. */
	db_stmt *s = db_prepare(c, "INSERT INTO t_bus_seen (event_id) VALUES (?)");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, ev->id);
	int rc = db_step(s);
	db_done(s);
	pthread_mutex_lock(&mu);
	int fail = fail_next > 0;
	if (fail)
		fail_next--;
	else {
		handled++;
		snprintf(last_type, sizeof last_type, "%s", ev->type);
		last_n = json_integer_value(json_object_get(ev->payload, "n"));
	}
	pthread_mutex_unlock(&mu);
	if (rc < 0)
		return rc;
	return fail ? ENT_EUNAVAIL : ENT_OK;
}

static void applied(const struct bus_event *ev)
{
	/* Runs after the commit: the row written by the handler is visible from another connection. */
	(void)ev;
	pthread_mutex_lock(&mu);
	committed++;
	pthread_mutex_unlock(&mu);
}

static const char *const types[] = {"test.*", NULL};
static const struct bus_consumer consumer = {"test_consumer", types, handle, applied};

static int get(int *v)
{
	pthread_mutex_lock(&mu);
	int n = *v;
	pthread_mutex_unlock(&mu);
	return n;
}

static int wait_handled(int want, int seconds)
{
	for (int i = 0; i < seconds * 100; i++) {
		if (get(&handled) >= want && get(&committed) >= want)
			return 1;
		usleep(10000);
	}
	return 0;
}

static void publish(const char *type, int n, int commit)
{
	db_conn *c = db_conn_get(dbh);
	assert_int_equal(db_begin(c), ENT_OK);
	json_t *p = json_pack("{s:i}", "n", n);
	char id[37];
	assert_int_equal(bus_publish(c, "test", type, p, id), ENT_OK);
	assert_true(util_is_uuid(id));
	json_decref(p);
	assert_int_equal(commit ? db_commit(c) : db_rollback(c), ENT_OK);
	bus_kick();
}

static long long scalar(const char *sql)
{
	db_conn *c = db_conn_get(dbh);
	db_stmt *s = db_prepare(c, sql);
	assert_non_null(s);
	assert_int_equal(db_step(s), DB_ROW);
	long long v = db_col_int64(s, 0);
	db_done(s);
	return v;
}

static void reset_counts(void)
{
	pthread_mutex_lock(&mu);
	handled = committed = fail_next = seen_inside = 0;
	last_type[0] = '\0';
	last_n = 0;
	pthread_mutex_unlock(&mu);
	assert_int_equal(db_exec(db_conn_get(dbh), "DELETE FROM t_bus_seen"), ENT_OK);
}

static void start_bus(void)
{
	char err[256] = "";
	assert_int_equal(bus_subscribe(&consumer), ENT_OK);
	assert_int_equal(bus_start(err, sizeof err), ENT_OK);
}

/* ---- fixtures ---- */

static int prepare(void)
{
	app.db = dbh;
	app.cfg = &cfg;
	char err[256];
	const struct service *svcs[] = {&svc_core};
	if (migrate_run(db_conn_get(dbh), svcs, 1, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "migrate: %s\n", err);
		return -1;
	}
	return db_exec(db_conn_get(dbh), "CREATE TABLE t_bus_seen (event_id TEXT PRIMARY KEY)") ? -1 : 0;
}

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
	snprintf(tmpl, sizeof(tmpl), "%s/bus-XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(dir, sizeof(dir), "%s", tmpl);
	char url[600], err[256];
	snprintf(url, sizeof(url), "sqlite:%s/ent.db", dir);
	if (db_open(url, &dbh, err, sizeof(err))) {
		fprintf(stderr, "db_open: %s\n", err);
		return -1;
	}
	return prepare();
}

static int teardown(void **state)
{
	(void)state;
	bus_stop();
	db_close(dbh);
	app.db = NULL;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int setup_pg(void **state)
{
	(void)state;
	const char *url = getenv("ENT_TEST_PG_URL");
	char err[256];
	if (db_open(url, &dbh, err, sizeof(err))) {
		fprintf(stderr, "db_open: %s\n", err);
		return -1;
	}
	char hex[13];
	util_random_hex(hex, 6);
	snprintf(pg_schema, sizeof(pg_schema), "test_bus_%s", hex);
	char sql[128];
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", pg_schema);
	int rc = db_exec(db_conn_get(dbh), sql);
	db_close(dbh);
	if (rc)
		return -1;
	char full[1200];
	snprintf(full, sizeof(full), "%s%soptions=-csearch_path%%3D%s", url, strchr(url, '?') ? "&" : "?", pg_schema);
	if (db_open(full, &dbh, err, sizeof(err))) {
		fprintf(stderr, "db_open: %s\n", err);
		return -1;
	}
	return prepare();
}

static int teardown_pg(void **state)
{
	(void)state;
	bus_stop();
	char sql[128];
	snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", pg_schema);
	int rc = db_exec(db_conn_get(dbh), sql);
	db_close(dbh);
	app.db = NULL;
	return rc ? -1 : 0;
}

/* ---- cases ---- */

static void test_patterns(void **state)
{
	(void)state;
	assert_true(bus_type_matches("note.*", "note.published"));
	assert_true(bus_type_matches("note.published", "note.published"));
	assert_false(bus_type_matches("note.*", "note."));
	assert_false(bus_type_matches("note.*", "notes.published"));
	assert_false(bus_type_matches("note.published", "note.updated"));
	db_conn *c = db_conn_get(dbh);
	json_t *p = json_object();
	assert_int_equal(bus_publish(c, "test", "Bad Type", p, NULL), ENT_EINVAL);
	assert_int_equal(bus_publish(c, "test", "", p, NULL), ENT_EINVAL);
	json_t *arr = json_array();
	assert_int_equal(bus_publish(c, "test", "test.x", arr, NULL), ENT_EINVAL);
	json_decref(arr);
	json_decref(p);
}

static void test_rollback_commit_and_once(void **state)
{
	(void)state;
	reset_counts();
	start_bus();
	publish("test.rolled_back", 1, 0);
	publish("other.type", 2, 1);
	publish("test.done", 3, 1);
	assert_true(wait_handled(1, 10));
	usleep(200000);
	assert_int_equal(get(&handled), 1);
	assert_string_equal(last_type, "test.done");
	assert_int_equal(last_n, 3);
	assert_int_equal(scalar("SELECT COUNT(*) FROM t_bus_seen"), 1);
	assert_int_equal(scalar("SELECT COUNT(*) FROM bus_outbox"), 2);
	assert_int_equal(scalar("SELECT COUNT(*) FROM bus_applied WHERE consumer = 'test_consumer'"), 1);

	/* The same event handed over again (a broker's redelivery) is not applied twice. */
	db_conn *c = db_conn_get(dbh);
	db_stmt *s = db_prepare(c, "SELECT id FROM bus_outbox WHERE type = 'test.done'");
	assert_int_equal(db_step(s), DB_ROW);
	char id[37];
	snprintf(id, sizeof id, "%s", db_col_text(s, 0));
	db_done(s);
	json_t *payload = json_pack("{s:i}", "n", 3);
	struct bus_event ev = {id, "test.done", "test", "2026-11-24T00:00:00Z", payload};
	assert_int_equal(bus_apply(c, &consumer, &ev), ENT_OK);
	json_decref(payload);
	assert_int_equal(get(&handled), 1);
	assert_int_equal(scalar("SELECT COUNT(*) FROM t_bus_seen"), 1);
	bus_stop();
}

static void test_retry_until_applied(void **state)
{
	(void)state;
	reset_counts();
	pthread_mutex_lock(&mu);
	fail_next = 1;
	pthread_mutex_unlock(&mu);
	start_bus();
	publish("test.retry", 7, 1);
	/* The first attempt fails and is rolled back (its row in t_bus_seen too); the retry, about a
	 * second later, applies it. */
	assert_true(wait_handled(1, 10));
	assert_int_equal(get(&handled), 1);
	assert_int_equal(last_n, 7);
	assert_int_equal(scalar("SELECT COUNT(*) FROM t_bus_seen"), 1);
	bus_stop();
}

static void test_outbox_survives_stop(void **state)
{
	(void)state;
	reset_counts();
	/* No dispatcher: the events wait in the outbox. */
	for (int i = 0; i < 5; i++)
		publish("test.later", 100 + i, 1);
	usleep(100000);
	assert_int_equal(get(&handled), 0);
	start_bus();
	assert_true(wait_handled(5, 10));
	usleep(200000);
	assert_int_equal(get(&handled), 5);
	assert_int_equal(scalar("SELECT COUNT(*) FROM t_bus_seen"), 5);
	bus_stop();
}

static void test_envelope(void **state)
{
	(void)state;
	struct bus_event ev = {"0b7e6a8e-57c5-4f7e-9a43-3f6c2d1e9b10", "test.env", "notes", "2026-11-24T10:00:00Z",
			       NULL};
	size_t len = 0;
	char *text = bus_envelope(&ev, "{\"a\":1}", &len);
	assert_non_null(text);
	struct bus_event back;
	json_t *tree = NULL;
	assert_int_equal(bus_envelope_parse(text, len, &back, &tree), ENT_OK);
	assert_string_equal(back.id, ev.id);
	assert_string_equal(back.type, "test.env");
	assert_string_equal(back.producer, "notes");
	assert_int_equal(json_integer_value(json_object_get(back.payload, "a")), 1);
	json_decref(tree);
	free(text);
	assert_int_equal(bus_envelope_parse("{\"id\":\"x\",\"type\":\"a\",\"payload\":{}}", 35, &back, &tree),
			 ENT_EINVAL);
	assert_int_equal(bus_envelope_parse("not json", 8, &back, &tree), ENT_EINVAL);
	for (unsigned a = 1; a < 20; a++) {
		long ms = bus_backoff_ms(a);
		assert_true(ms >= 800 && ms <= 360000);
	}
}

int main(void)
{
	const struct CMUnitTest cases[] = {
		cmocka_unit_test(test_patterns),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_rollback_commit_and_once),
		cmocka_unit_test(test_retry_until_applied),
		cmocka_unit_test(test_outbox_survives_stop),
	};
	int failed = cmocka_run_group_tests_name("bus (SQLite)", cases, setup, teardown);
	if (getenv("ENT_TEST_PG_URL"))
		failed += cmocka_run_group_tests_name("bus (PostgreSQL)", cases, setup_pg, teardown_pg);
	return failed;
}
