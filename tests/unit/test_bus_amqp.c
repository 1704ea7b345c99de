/*
 * test_bus_amqp.c - the RabbitMQ backend of the bus (src/bus/amqp.c) against a real broker.
 *
 * Skipped unless ENT_TEST_AMQP_URL names a broker (tests/run.sh starts one with
 * tests/services/rabbitmq.sh). The broker restart case also needs ENT_TEST_AMQP_DIR, the
 * directory that script was given, so that it can halt and restart the same node.
 *
 * The bus runs in this process on a fresh SQLite database with one consumer whose name is new
 * for each run (its queue ent.test_bus_<random> cannot hold anything from an earlier run). Its
 * handler records each event id in a table, inside the bus's transaction; a primary key on the
 * id would make a second application fail, and a counter of committed applications must end
 * equal to the number of events: together they show every event applied exactly once.
 *
 * That counter is kept by the consumer's `applied` callback, which the bus calls after the
 * commit, never by the handler: a handler call is not yet an application. Its transaction is
 * still open when it returns (the bus commits afterwards, with an fsync), and may even be rolled
 * back and the event delivered again. A counter bumped in the handler runs ahead of the table,
 * and a test reading the table as soon as the counter reached its goal saw one row missing.
 *
 * Waiting for deliveries polls with a generous limit (delivery after a broker restart waits for
 * the reconnection backoff); reaching the limit fails the test, speed is not asserted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "bus/internal.h"
#include "core/app.h"
#include "core/err.h"
#include "core/util.h"
#include "store/db.h"

#define WAIT_LIMIT_S 120

static char dir[512];
static db *dbh;
static struct config cfg;
static char consumer_name[40];
static atomic_int handled;   /* applications committed (counted by `applied`, see above) */
static atomic_int fail_next; /* the handler fails this many more times */
static atomic_int failures;  /* failed handler calls */
static atomic_int hold_ms;   /* the handler then waits this long, its transaction still open */

static const char *const types[] = {"test.*", NULL};

static int handle(db_conn *c, const struct bus_event *ev)
{
	if (atomic_load(&fail_next) > 0) {
		atomic_fetch_sub(&fail_next, 1);
		atomic_fetch_add(&failures, 1);
		return ENT_EUNAVAIL;
	}
	db_stmt *s = db_prepare(c, "INSERT INTO t_seen (id, type, n) VALUES (?, ?, ?)");
	if (!s)
		return ENT_EDB;
	json_t *n = json_object_get(ev->payload, "n");
	db_bind_text(s, 1, ev->id);
	db_bind_text(s, 2, ev->type);
	db_bind_int64(s, 3, json_is_integer(n) ? json_integer_value(n) : -1);
	int rc = db_step(s);
	db_done(s);
	if (rc < 0)
		return rc;
	int hold = atomic_load(&hold_ms);
	if (hold > 0)
		usleep((useconds_t)hold * 1000);
	return ENT_OK;
}

/* Runs after the bus committed the handler's transaction: the row is visible to every connection. */
static void applied(const struct bus_event *ev)
{
	(void)ev;
	atomic_fetch_add(&handled, 1);
}

static struct bus_consumer consumer = {.types = types, .handle = handle, .applied = applied};

static db_conn *conn(void)
{
	db_conn *c = db_conn_get(dbh);
	assert_non_null(c);
	return c;
}

static int64_t scalar(const char *sql)
{
	db_stmt *s = db_prepare(conn(), sql);
	assert_non_null(s);
	assert_int_equal(db_step(s), DB_ROW);
	int64_t v = db_col_int64(s, 0);
	db_done(s);
	return v;
}

/* Publishes events n0..n0+count-1 of type `type` in one transaction, then kicks the bus. */
static void publish(const char *type, int n0, int count)
{
	db_conn *c = conn();
	assert_int_equal(db_begin(c), ENT_OK);
	for (int i = 0; i < count; i++) {
		json_t *p = json_pack("{s:i}", "n", n0 + i);
		assert_int_equal(bus_publish(c, "test", type, p, NULL), ENT_OK);
		json_decref(p);
	}
	assert_int_equal(db_commit(c), ENT_OK);
	bus_kick();
}

/* Waits until `want` events in all have been applied and committed; fails after WAIT_LIMIT_S. */
static void wait_handled(int want)
{
	for (int i = 0; i < WAIT_LIMIT_S * 10 && atomic_load(&handled) < want; i++)
		usleep(100000);
	if (atomic_load(&handled) < want)
		fail_msg("only %d of %d events applied after %d s", atomic_load(&handled), want, WAIT_LIMIT_S);
}

/* Every event applied once: the handler count, the distinct ids and the payload numbers agree. */
static void check_exactly_once(int want)
{
	assert_int_equal(atomic_load(&handled), want);
	assert_int_equal(scalar("SELECT COUNT(*) FROM t_seen WHERE type <> 'test.raw'"), want);
	assert_int_equal(scalar("SELECT COUNT(DISTINCT n) FROM t_seen WHERE type <> 'test.raw'"), want);
	assert_int_equal(scalar("SELECT MIN(n) FROM t_seen WHERE type <> 'test.raw'"), 0);
	assert_int_equal(scalar("SELECT MAX(n) FROM t_seen WHERE type <> 'test.raw'"), want - 1);
}

static int events_seen; /* events published by the tests so far (numbered 0..n-1) */

/* tests/services/rabbitmq.sh, found from this file's path (CMake compiles it by absolute path). */
static int broker_cmd(const char *verb)
{
	char script[1024];
	snprintf(script, sizeof script, "%s", __FILE__);
	char *slash = strrchr(script, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	slash = strrchr(script, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "bash '%s/services/rabbitmq.sh' %s '%s' >/dev/null", script, verb,
		 getenv("ENT_TEST_AMQP_DIR"));
	return system(cmd);
}

/* Publishes a raw message to ent.events on a connection of the test's own. */
static void raw_publish(const char *routing_key, const char *body)
{
	char *url = strdup(getenv("ENT_TEST_AMQP_URL"));
	struct amqp_connection_info ci;
	amqp_default_connection_info(&ci);
	assert_int_equal(amqp_parse_url(url, &ci), AMQP_STATUS_OK);
	amqp_connection_state_t c = amqp_new_connection();
	amqp_socket_t *sock = amqp_tcp_socket_new(c);
	assert_non_null(sock);
	assert_int_equal(amqp_socket_open(sock, ci.host, ci.port), AMQP_STATUS_OK);
	amqp_rpc_reply_t r = amqp_login(c, ci.vhost && *ci.vhost ? ci.vhost : "/", 0, AMQP_DEFAULT_FRAME_SIZE, 0,
					AMQP_SASL_METHOD_PLAIN, ci.user, ci.password);
	assert_int_equal(r.reply_type, AMQP_RESPONSE_NORMAL);
	amqp_channel_open(c, 1);
	assert_int_equal(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
	amqp_basic_properties_t props;
	memset(&props, 0, sizeof props);
	props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	assert_int_equal(amqp_basic_publish(c, 1, amqp_cstring_bytes("ent.events"), amqp_cstring_bytes(routing_key), 0,
					    0, &props, amqp_cstring_bytes(body)),
			 AMQP_STATUS_OK);
	amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
	free(url);
}

/* ---- fixture ---- */

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("ENT_TEST_TMP");
	if (base) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "mkdir -p '%s'", base);
		if (system(cmd) != 0)
			return -1;
	}
	char tmpl[512];
	snprintf(tmpl, sizeof tmpl, "%s/bus-amqp-XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(dir, sizeof dir, "%s", tmpl);
	char url[600], err[256];
	snprintf(url, sizeof url, "sqlite:%s/ent.db", dir);
	if (db_open(url, &dbh, err, sizeof err)) {
		fprintf(stderr, "db_open: %s\n", err);
		return -1;
	}
	app.db = dbh;
	if (db_exec(db_conn_get(dbh), bus_schema_v1) != ENT_OK ||
	    db_exec(db_conn_get(dbh), "CREATE TABLE t_seen (id TEXT PRIMARY KEY, type TEXT NOT NULL, n INTEGER)") !=
		    ENT_OK)
		return -1;
	char hex[13];
	util_random_hex(hex, 6);
	snprintf(consumer_name, sizeof consumer_name, "test_bus_%s", hex);
	consumer.name = consumer_name;
	cfg.bus = getenv("ENT_TEST_AMQP_URL");
	app.cfg = &cfg;
	if (bus_subscribe(&consumer) != ENT_OK)
		return -1;
	if (bus_start(err, sizeof err) != ENT_OK) {
		fprintf(stderr, "bus_start: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	bus_stop();
	db_close(dbh);
	app.db = NULL;
	app.cfg = NULL;
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- cases ---- */

static void test_binding_keys(void **state)
{
	(void)state;
	/* "test.*" is any "test." prefix for the bus; the topic binding must not be narrower. */
	assert_true(bus_type_matches("test.*", "test.one"));
	assert_true(bus_type_matches("test.*", "test.one.two"));
	assert_false(bus_type_matches("test.*", "test"));
	assert_false(bus_type_matches("test.*", "other.one"));
}

static void test_delivered_once(void **state)
{
	(void)state;
	publish("test.created", events_seen, 20);
	events_seen += 20;
	/* A type with two words after the prefix goes through the "test.#" binding too. */
	publish("test.deep.created", events_seen, 5);
	events_seen += 5;
	wait_handled(events_seen);
	check_exactly_once(events_seen);
	/* Everything confirmed by the broker is marked relayed. */
	for (int i = 0; i < 50 && scalar("SELECT COUNT(*) FROM bus_outbox WHERE relayed_at IS NULL") > 0; i++)
		usleep(100000);
	assert_int_equal(scalar("SELECT COUNT(*) FROM bus_outbox WHERE relayed_at IS NULL"), 0);
	assert_true(bus_amqp_connected());
}

static void test_other_types_not_delivered(void **state)
{
	(void)state;
	int before = atomic_load(&handled);
	publish("other.created", 1000, 3);
	publish("test.created", events_seen, 1); /* behind them in the same queue order */
	events_seen += 1;
	wait_handled(events_seen);
	assert_int_equal(atomic_load(&handled), before + 1);
	assert_int_equal(scalar("SELECT COUNT(*) FROM t_seen WHERE n >= 1000"), 0);
}

static void test_failed_handler_retried(void **state)
{
	(void)state;
	atomic_store(&fail_next, 2);
	publish("test.created", events_seen, 1);
	events_seen += 1;
	wait_handled(events_seen); /* after two nacks and their backoff (about 1 s then 2 s) */
	assert_int_equal(atomic_load(&failures), 2);
	check_exactly_once(events_seen);
}

static void test_duplicates_and_garbage(void **state)
{
	(void)state;
	char id[37];
	util_uuid(id);
	char body[512];
	snprintf(body, sizeof body,
		 "{\"id\":\"%s\",\"type\":\"test.raw\",\"producer\":\"test\",\"time\":\"2026-01-01T00:00:00Z\","
		 "\"payload\":{\"n\":-5}}",
		 id);
	int before = atomic_load(&handled);
	raw_publish("test.raw", "this is not JSON");
	raw_publish("test.raw", "{\"id\":\"not-a-uuid\",\"type\":\"test.raw\",\"payload\":{}}");
	raw_publish("test.raw", body);
	raw_publish("test.raw", body); /* the same event id again: applied once */
	publish("test.created", events_seen, 1);
	events_seen += 1;
	/* Queue order: the garbage, the two copies, then the outbox event; all are settled in order. */
	wait_handled(before + 2);
	assert_int_equal(atomic_load(&handled), before + 2);
	assert_int_equal(scalar("SELECT COUNT(*) FROM t_seen WHERE type = 'test.raw'"), 1);
	db_stmt *s = db_prepare(conn(), "SELECT COUNT(*) FROM bus_applied WHERE event_id = ?");
	assert_non_null(s);
	db_bind_text(s, 1, id);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_int64(s, 0), 1);
	db_done(s);
	atomic_fetch_sub(&handled, 1); /* the raw event is not one of the numbered ones */
	check_exactly_once(events_seen);
}

static void test_counted_after_commit(void **state)
{
	(void)state;
	/* The handler is slow to return, as a commit is when the machine is loaded: the test must
	 * not count the event before its row is there (the way test_broker_restart once saw 57 rows
	 * for 58 handler calls). */
	atomic_store(&hold_ms, 500);
	publish("test.created", events_seen, 1);
	events_seen += 1;
	wait_handled(events_seen);
	atomic_store(&hold_ms, 0);
	check_exactly_once(events_seen);
}

static void test_broker_restart(void **state)
{
	(void)state;
	const char *bdir = getenv("ENT_TEST_AMQP_DIR");
	if (!bdir || !*bdir) {
		fprintf(stderr, "ENT_TEST_AMQP_DIR is not set: the broker restart case is skipped\n");
		skip();
	}
	publish("test.created", events_seen, 10);
	events_seen += 10;
	wait_handled(events_seen);

	assert_int_equal(broker_cmd("halt"), 0);
	/* With the broker down, events are committed and wait in the outbox. */
	publish("test.created", events_seen, 15);
	events_seen += 15;
	assert_int_equal(scalar("SELECT COUNT(*) FROM bus_outbox WHERE relayed_at IS NULL"), 15);
	/* The relay finds the broker gone when it tries them. */
	for (int i = 0; i < WAIT_LIMIT_S * 10 && bus_amqp_connected(); i++)
		usleep(100000);
	assert_false(bus_amqp_connected());
	assert_int_equal(scalar("SELECT COUNT(*) FROM bus_outbox WHERE relayed_at IS NULL"), 15);

	assert_int_equal(broker_cmd("start"), 0);
	publish("test.created", events_seen, 5);
	events_seen += 5;
	wait_handled(events_seen);
	check_exactly_once(events_seen);
	for (int i = 0; i < 50 && scalar("SELECT COUNT(*) FROM bus_outbox WHERE relayed_at IS NULL") > 0; i++)
		usleep(100000);
	assert_int_equal(scalar("SELECT COUNT(*) FROM bus_outbox WHERE relayed_at IS NULL"), 0);
}

static void test_bad_url(void **state)
{
	(void)state;
	/* Checked before any thread starts; the message does not repeat the URL (a password). */
	char err[256];
	int rc = bus_amqp_start("amqp://user:secret@host:notaport/vhost", err, sizeof err);
	if (rc == ENT_OK)
		bus_amqp_stop();
	assert_int_equal(rc, ENT_EINVAL);
	assert_null(strstr(err, "secret"));
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the server does: a write to a closed socket is an error, not a death */
	const char *url = getenv("ENT_TEST_AMQP_URL");
	if (!url || !*url) {
		fprintf(stderr, "ENT_TEST_AMQP_URL is not set: the RabbitMQ bus tests are skipped "
				"(tests/run.sh starts a broker with tests/services/rabbitmq.sh)\n");
		const struct CMUnitTest none[] = {cmocka_unit_test(test_binding_keys)};
		return cmocka_run_group_tests_name("bus on RabbitMQ (no broker: skipped)", none, NULL, NULL);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binding_keys),
		cmocka_unit_test(test_delivered_once),
		cmocka_unit_test(test_other_types_not_delivered),
		cmocka_unit_test(test_failed_handler_retried),
		cmocka_unit_test(test_duplicates_and_garbage),
		cmocka_unit_test(test_counted_after_commit),
		cmocka_unit_test(test_broker_restart),
	};
	int failed = cmocka_run_group_tests_name("bus on RabbitMQ", tests, setup, teardown);
	const struct CMUnitTest alone[] = {cmocka_unit_test(test_bad_url)};
	failed += cmocka_run_group_tests_name("bus on RabbitMQ: configuration", alone, NULL, NULL);
	return failed;
}
