/*
 * test_store.c - the store (db.h) on SQLite and, when ENT_TEST_PG_URL is set, on PostgreSQL.
 *
 * The same cases run on both backends, against a SQLite file in a fresh temporary directory
 * (under $ENT_TEST_TMP, else /tmp) and against the PostgreSQL database named by
 * ENT_TEST_PG_URL (see tests/services/postgres.sh). PostgreSQL adds its own cases: its quoting
 * forms, the SQLSTATE mapping, and connections killed under an idle statement, a running one and
 * an open transaction. Every table is named t_store_* and dropped at the start and end of the
 * case that uses it, so a run against a database left over from a failed run still passes.
 *
 * Threads never call cmocka's assertions (they longjmp); they record what they saw and the main
 * thread checks it after joining.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/rcache.h"
#include "core/export.h"
#include "core/sql.h"
#include "store/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fixture {
	db *d;
	enum db_kind kind;
	char dir[512]; /* SQLite only: the temporary directory */
};

static struct fixture sqlite_fx, pg_fx;

/* ---- helpers --------------------------------------------------------------------------------- */

static struct fixture *fx(void **state) { return *state; }

static db_conn *conn(void **state)
{
	db_conn *c = db_conn_get(fx(state)->d);
	assert_non_null(c);
	return c;
}

static void exec_ok(db_conn *c, const char *sql)
{
	int rc = db_exec(c, sql);
	if (rc != ENT_OK)
		fail_msg("db_exec(%s) = %d: %s", sql, rc, db_errmsg(c));
}

/* Runs a one-row, one-column query whose value is an integer. */
static int64_t scalar(db_conn *c, const char *sql)
{
	db_stmt *s = db_prepare(c, sql);
	assert_non_null(s);
	assert_int_equal(db_step(s), DB_ROW);
	int64_t v = db_col_int64(s, 0);
	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);
	return v;
}

/* The same, returning a copy of the text (caller frees). */
static char *scalar_text(db_conn *c, const char *sql)
{
	db_stmt *s = db_prepare(c, sql);
	assert_non_null(s);
	assert_int_equal(db_step(s), DB_ROW);
	const char *t = db_col_text(s, 0);
	assert_non_null(t);
	char *copy = strdup(t);
	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);
	return copy;
}

/* Runs a statement that returns no row; returns db_step's result. */
static int run1(db_conn *c, const char *sql, int64_t a)
{
	db_stmt *s = db_prepare(c, sql);
	if (!s)
		return ENT_EDB;
	db_bind_int64(s, 1, a);
	int rc = db_step(s);
	db_done(s);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---- fixtures -------------------------------------------------------------------------------- */

static int open_fixture(struct fixture *f, const char *url)
{
	char err[256] = "";
	int rc = db_open(url, &f->d, err, sizeof(err));
	if (rc != ENT_OK) {
		fprintf(stderr, "db_open failed: %s\n", err);
		return -1;
	}
	f->kind = db_kind(f->d);
	return 0;
}

static int setup_sqlite(void **state)
{
	const char *base = getenv("ENT_TEST_TMP");
	if (!base || !*base)
		base = "/tmp";
	if (mkdir(base, 0700) != 0 && errno != EEXIST) {
		perror(base);
		return -1;
	}
	struct fixture *f = &sqlite_fx;
	snprintf(f->dir, sizeof(f->dir), "%s/test_store.XXXXXX", base);
	if (!mkdtemp(f->dir)) {
		perror(f->dir);
		return -1;
	}
	char url[600];
	snprintf(url, sizeof(url), "sqlite:%s/store.db", f->dir);
	if (open_fixture(f, url) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown_sqlite(void **state)
{
	struct fixture *f = *state;
	db_close(f->d);
	static const char *const files[] = {"store.db", "store.db-wal", "store.db-shm"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[600];
		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
		unlink(path);
	}
	rmdir(f->dir);
	return 0;
}

static int setup_pg(void **state)
{
	if (open_fixture(&pg_fx, getenv("ENT_TEST_PG_URL")) != 0)
		return -1;
	*state = &pg_fx;
	return 0;
}

static int teardown_pg(void **state)
{
	db_close(fx(state)->d);
	return 0;
}

/* ---- cases for both backends ----------------------------------------------------------------- */

static const char blob_bytes[8] = {0x00, 0x01, 0x7f, (char)0x80, (char)0xff, '\\', 'x', 0x00};
static const char text_value[] = "h\xc3\xa9llo \"w\xc3\xb6rld\" it's ?";

static void test_roundtrip(void **state)
{
	db_conn *c = conn(state);
	exec_ok(c, "DROP TABLE IF EXISTS t_store_rt");
	exec_ok(c, fx(state)->kind == DB_POSTGRES
			   ? "CREATE TABLE t_store_rt (id INTEGER PRIMARY KEY, name TEXT, n BIGINT, "
			     "x DOUBLE PRECISION, note TEXT, data BYTEA)"
			   : "CREATE TABLE t_store_rt (id INTEGER PRIMARY KEY, name TEXT, n BIGINT, "
			     "x DOUBLE PRECISION, note TEXT, data BLOB)");

	const char *ins = "INSERT INTO t_store_rt (id, name, n, x, note, data) VALUES (?, ?, ?, ?, ?, ?)";
	db_stmt *s = db_prepare(c, ins);
	assert_non_null(s);
	/* Row 1: every kind of value; 2^53 + 1 and INT64_MIN do not survive a trip through double. */
	db_bind_int64(s, 1, 1);
	db_bind_text(s, 2, text_value);
	db_bind_int64(s, 3, INT64_C(9007199254740993));
	db_bind_double(s, 4, 0.1);
	db_bind_null(s, 5);
	db_bind_blob(s, 6, blob_bytes, sizeof(blob_bytes));
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 1);
	db_done(s);
	/* Row 2: NULL through every path, extreme numbers. */
	s = db_prepare(c, ins);
	assert_non_null(s);
	db_bind_int64(s, 1, 2);
	db_bind_text(s, 2, NULL);
	db_bind_int64(s, 3, INT64_MIN);
	db_bind_double(s, 4, -1.5e300);
	db_bind_textn(s, 5, "note-with-tail", 4); /* only "note" */
	db_bind_null(s, 6);
	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);
	/* Row 3: empty values are not NULL. */
	s = db_prepare(c, ins);
	assert_non_null(s);
	db_bind_int64(s, 1, 3);
	db_bind_text(s, 2, "");
	db_bind_int64(s, 3, 0);
	db_bind_double(s, 4, 0.0);
	db_bind_text(s, 5, "x");
	db_bind_blob(s, 6, "", 0);
	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);

	s = db_prepare(c, "SELECT id, name, n, x, note, data FROM t_store_rt ORDER BY id");
	assert_non_null(s);
	size_t len;

	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_count(s), 6);
	assert_int_equal(db_col_int64(s, 0), 1);
	assert_string_equal(db_col_text(s, 1), text_value);
	assert_int_equal(db_col_bytes(s, 1), strlen(text_value));
	assert_true(db_col_int64(s, 2) == INT64_C(9007199254740993));
	assert_true(db_col_double(s, 3) == 0.1);
	assert_true(db_col_is_null(s, 4));
	assert_null(db_col_text(s, 4));
	assert_false(db_col_is_null(s, 5));
	const void *b = db_col_blob(s, 5, &len);
	assert_int_equal(len, sizeof(blob_bytes));
	assert_memory_equal(b, blob_bytes, sizeof(blob_bytes));
	assert_int_equal(db_col_bytes(s, 5), sizeof(blob_bytes));

	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_int64(s, 0), 2);
	assert_true(db_col_is_null(s, 1));
	assert_null(db_col_text(s, 1));
	assert_true(db_col_int64(s, 2) == INT64_MIN);
	assert_true(db_col_double(s, 3) == -1.5e300);
	assert_string_equal(db_col_text(s, 4), "note");
	assert_true(db_col_is_null(s, 5));
	assert_null(db_col_blob(s, 5, &len));
	assert_int_equal(len, 0);

	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_int64(s, 0), 3);
	assert_false(db_col_is_null(s, 1));
	assert_string_equal(db_col_text(s, 1), "");
	assert_int_equal(db_col_int64(s, 2), 0);
	assert_false(db_col_is_null(s, 5));
	db_col_blob(s, 5, &len);
	assert_int_equal(len, 0);

	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);
	exec_ok(c, "DROP TABLE t_store_rt");
}

/* A `?` inside a literal, a quoted identifier or a comment is not a parameter. */
static void test_question_mark_in_literal(void **state)
{
	db_conn *c = conn(state);
	db_stmt *s = db_prepare(c, "SELECT 'it''s a ?', CAST(? AS TEXT), \"q?\" "
				   "FROM (SELECT 7 AS \"q?\") AS sub -- why?\n"
				   "WHERE 1 = ? /* really? */");
	assert_non_null(s);
	db_bind_text(s, 1, "bound");
	db_bind_int64(s, 2, 1);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_count(s), 3);
	assert_string_equal(db_col_text(s, 0), "it's a ?");
	assert_string_equal(db_col_text(s, 1), "bound");
	assert_int_equal(db_col_int64(s, 2), 7);
	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);
}

static void test_unique_conflict(void **state)
{
	db_conn *c = conn(state);
	exec_ok(c, "DROP TABLE IF EXISTS t_store_u");
	exec_ok(c, "CREATE TABLE t_store_u (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)");
	const char *ins = "INSERT INTO t_store_u (id, email) VALUES (?, ?)";
	db_stmt *s = db_prepare(c, ins);
	db_bind_int64(s, 1, 1);
	db_bind_text(s, 2, "secret-a@example.com");
	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);

	/* Same primary key. */
	s = db_prepare(c, ins);
	db_bind_int64(s, 1, 1);
	db_bind_text(s, 2, "secret-b@example.com");
	assert_int_equal(db_step(s), ENT_ECONFLICT);
	db_done(s);
	/* Same unique column; the error message must not quote the value. */
	s = db_prepare(c, ins);
	db_bind_int64(s, 1, 2);
	db_bind_text(s, 2, "secret-a@example.com");
	assert_int_equal(db_step(s), ENT_ECONFLICT);
	db_done(s);
	if (fx(state)->kind == DB_POSTGRES)
		assert_null(strstr(db_errmsg(c), "secret-a"));
	/* NOT NULL is a constraint but not a conflict. */
	s = db_prepare(c, ins);
	db_bind_int64(s, 1, 3);
	db_bind_null(s, 2);
	assert_int_equal(db_step(s), ENT_EINVAL);
	db_done(s);
	/* The statement and the connection still work. */
	s = db_prepare(c, ins);
	db_bind_int64(s, 1, 2);
	db_bind_text(s, 2, "b@example.com");
	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);
	assert_int_equal(scalar(c, "SELECT count(*) FROM t_store_u"), 2);
	exec_ok(c, "DROP TABLE t_store_u");
}

static void test_changes(void **state)
{
	db_conn *c = conn(state);
	exec_ok(c, "DROP TABLE IF EXISTS t_store_ch");
	exec_ok(c, "CREATE TABLE t_store_ch (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
	for (int i = 1; i <= 5; i++) {
		db_stmt *s = db_prepare(c, "INSERT INTO t_store_ch (id, n) VALUES (?, ?)");
		db_bind_int64(s, 1, i);
		db_bind_int64(s, 2, (int64_t)i * 10);
		assert_int_equal(db_step(s), DB_DONE);
		assert_int_equal(db_changes(s), 1);
		db_done(s);
	}
	db_stmt *s = db_prepare(c, "UPDATE t_store_ch SET n = n + 1 WHERE n > ?");
	db_bind_int64(s, 1, 25);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 3);
	db_done(s);
	s = db_prepare(c, "UPDATE t_store_ch SET n = n + 1 WHERE n > ?");
	db_bind_int64(s, 1, 1000);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 0);
	db_done(s);
	s = db_prepare(c, "DELETE FROM t_store_ch WHERE id <= ?");
	db_bind_int64(s, 1, 2);
	assert_int_equal(db_step(s), DB_DONE);
	assert_int_equal(db_changes(s), 2);
	db_done(s);
	assert_int_equal(scalar(c, "SELECT sum(n) FROM t_store_ch"), 31 + 41 + 51);
	exec_ok(c, "DROP TABLE t_store_ch");
}

/* core/sql.h: values of every kind bound in order, the step's outcome, the rows changed, SQL_PREP's rows. */
static void test_sql_run(void **state)
{
	db_conn *c = conn(state);
	exec_ok(c, "DROP TABLE IF EXISTS t_store_sql");
	exec_ok(c, "CREATE TABLE t_store_sql (id INTEGER PRIMARY KEY, t TEXT, r DOUBLE PRECISION, z TEXT)");
	for (int i = 1; i <= 3; i++)
		assert_int_equal(SQL_RUN(c, "INSERT INTO t_store_sql (id, t, r, z) VALUES (?, ?, ?, ?)", SQL_I(i),
					 SQL_T(i == 2 ? NULL : "x"), SQL_D(i * 0.5), SQL_NULL),
				 DB_DONE);
	assert_int_equal(scalar(c, "SELECT COUNT(*) FROM t_store_sql WHERE t IS NULL AND z IS NULL"), 1);
	assert_int_equal(scalar(c, "SELECT CAST(SUM(r) * 2 AS INTEGER) FROM t_store_sql"), 6);
	int64_t changed = -1;
	assert_int_equal(SQL_CHANGE(c, &changed, "UPDATE t_store_sql SET z = ? WHERE t = ?", SQL_T("y"), SQL_T("x")),
			 DB_DONE);
	assert_int_equal(changed, 2);
	assert_int_equal(SQL_RUN(c, "SELECT 1 FROM t_store_sql WHERE id = ?", SQL_I(2)), DB_ROW);
	assert_int_equal(SQL_RUN(c, "INSERT INTO t_store_sql (id) VALUES (?)", SQL_I(1)), ENT_ECONFLICT);
	/* SQL_PREP: bound the same way, the rows read by the caller. */
	db_stmt *s = SQL_PREP(c, "SELECT id, z FROM t_store_sql WHERE id >= ? AND t = ? ORDER BY id", SQL_I(1),
			      SQL_T("x"));
	assert_non_null(s);
	int64_t ids[3] = {0}, n = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		assert_string_equal(db_col_text(s, 1), "y");
		ids[n++] = db_col_int64(s, 0);
	}
	db_done(s);
	assert_int_equal(rc, DB_DONE);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 3);
	assert_null(SQL_PREP(c, "SELECT nothing FROM no_such_table WHERE id = ?", SQL_I(1)));
	exec_ok(c, "DROP TABLE t_store_sql");
}

/* core/export.h: each kind of column, NULL as null, nested lists bound from their parent, the failure. */
static void test_export_rows(void **state)
{
	db_conn *c = conn(state);
	exec_ok(c, "DROP TABLE IF EXISTS t_store_exp");
	exec_ok(c, "CREATE TABLE t_store_exp (id TEXT PRIMARY KEY, owner TEXT, n INTEGER, r DOUBLE PRECISION,"
		   " flag INTEGER, doc TEXT, parent TEXT)");
	assert_int_equal(SQL_RUN(c, "INSERT INTO t_store_exp VALUES (?, ?, ?, ?, ?, ?, ?)", SQL_T("a"), SQL_T("u1"),
				 SQL_I(7), SQL_D(2.5), SQL_I(1), SQL_T("{\"k\":[1,2]}"), SQL_NULL),
			 DB_DONE);
	assert_int_equal(SQL_RUN(c, "INSERT INTO t_store_exp VALUES (?, ?, ?, ?, ?, ?, ?)", SQL_T("b"), SQL_T("u1"),
				 SQL_NULL, SQL_NULL, SQL_I(0), SQL_T("not json"), SQL_NULL),
			 DB_DONE);
	assert_int_equal(SQL_RUN(c, "INSERT INTO t_store_exp VALUES (?, ?, ?, ?, ?, ?, ?)", SQL_T("c"), SQL_T("u2"),
				 SQL_I(1), SQL_D(0), SQL_I(0), SQL_NULL, SQL_T("a")),
			 DB_DONE);
	json_t *rows = json_array();
	assert_int_equal(EXPORT_ROWS(c, rows, "id n:i r:f flag:b doc:j",
				     "SELECT id, n, r, flag, doc FROM t_store_exp WHERE owner = ? ORDER BY id",
				     SQL_T("u1")),
			 ENT_OK);
	char *got = json_dumps(rows, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(got, "[{\"doc\":{\"k\":[1,2]},\"flag\":true,\"id\":\"a\",\"n\":7,\"r\":2.5},"
				 "{\"doc\":null,\"flag\":false,\"id\":\"b\",\"n\":null,\"r\":null}]");
	free(got);
	assert_int_equal(export_nest(c, rows, "children", "id", "id owner",
				     "SELECT id, owner FROM t_store_exp WHERE parent = ? ORDER BY id"),
			 ENT_OK);
	got = json_dumps(rows, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(got, "\"children\":[{\"id\":\"c\",\"owner\":\"u2\"}],\"doc\":{"));
	assert_non_null(strstr(got, "\"children\":[],\"doc\":null"));
	free(got);
	json_t *out = json_object();
	assert_int_equal(export_put(out, "things", ENT_OK, "rows", rows, NULL), ENT_OK);
	assert_int_equal(json_array_size(json_object_get(json_object_get(out, "things"), "rows")), 2);
	/* A failure: nothing is set, the values are freed (ASan's leak check holds the second half). */
	json_t *bad = json_array();
	int rc = EXPORT_ROWS(c, bad, "x", "SELECT x FROM no_such_table WHERE id = ?", SQL_T("a"));
	assert_true(rc < 0);
	assert_int_equal(export_put(out, "broken", rc, "rows", bad, NULL), rc);
	assert_null(json_object_get(out, "broken"));
	json_decref(out);
	exec_ok(c, "DROP TABLE t_store_exp");
}

/* db_like: the pattern of a search anywhere, its LIKE characters escaped, lowered on demand. */
static void test_like_pattern(void **state)
{
	(void)state;
	arena *a = arena_new(0);
	assert_string_equal(db_like(a, "50%_a\\Bé", 0), "%50\\%\\_a\\\\Bé%");
	assert_string_equal(db_like(a, "AbC_", 1), "%abc\\_%");
	assert_string_equal(db_like(a, "", 1), "%%");
	arena_free(a);
}

static void test_transactions(void **state)
{
	db_conn *c = conn(state);
	const char *ins = "INSERT INTO t_store_tx (id) VALUES (?)";
	const char *cnt = "SELECT count(*) FROM t_store_tx";
	exec_ok(c, "DROP TABLE IF EXISTS t_store_tx");
	exec_ok(c, "CREATE TABLE t_store_tx (id INTEGER PRIMARY KEY)");

	assert_int_equal(db_begin(c), ENT_OK);
	assert_int_equal(run1(c, ins, 1), DB_DONE);
	assert_int_equal(run1(c, ins, 2), DB_DONE);
	assert_int_equal(scalar(c, cnt), 2); /* visible inside */
	assert_int_equal(db_rollback(c), ENT_OK);
	assert_int_equal(scalar(c, cnt), 0);

	assert_int_equal(db_begin(c), ENT_OK);
	assert_int_equal(run1(c, ins, 3), DB_DONE);
	assert_int_equal(db_commit(c), ENT_OK);
	assert_int_equal(scalar(c, cnt), 1);
	assert_int_equal(scalar(c, "SELECT id FROM t_store_tx"), 3);

	/* A failed statement inside a transaction, then rollback: nothing of it remains. */
	assert_int_equal(db_begin(c), ENT_OK);
	assert_int_equal(run1(c, ins, 4), DB_DONE);
	assert_int_equal(run1(c, ins, 3), ENT_ECONFLICT);
	assert_int_equal(db_rollback(c), ENT_OK);
	assert_int_equal(scalar(c, cnt), 1);

	/* db_end: a failed outcome rolls back and is returned; any other commits. */
	assert_int_equal(db_begin(c), ENT_OK);
	assert_int_equal(run1(c, ins, 5), DB_DONE);
	assert_int_equal(db_end(c, ENT_ECONFLICT), ENT_ECONFLICT);
	assert_int_equal(scalar(c, cnt), 1);
	assert_int_equal(db_begin(c), ENT_OK);
	assert_int_equal(run1(c, ins, 6), DB_DONE);
	assert_int_equal(db_end(c, DB_ROW), ENT_OK);
	assert_int_equal(scalar(c, cnt), 2);
	assert_int_equal(db_ping(c), ENT_OK);
	exec_ok(c, "DROP TABLE t_store_tx");
}

static void test_statement_cache(void **state)
{
	db_conn *c = conn(state);
	exec_ok(c, "DROP TABLE IF EXISTS t_store_cache");
	exec_ok(c, "CREATE TABLE t_store_cache (id INTEGER PRIMARY KEY, name TEXT)");
	exec_ok(c, "INSERT INTO t_store_cache (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'three')");
	const char *sql = "SELECT name FROM t_store_cache WHERE id >= ? ORDER BY id";
	db_stmt *first = NULL;
	for (int round = 0; round < 3; round++) {
		db_stmt *s = db_prepare(c, sql);
		assert_non_null(s);
		if (round == 0)
			first = s;
		else
			assert_ptr_equal(s, first); /* the cached statement, reset by db_done */
		db_bind_int64(s, 1, 2);
		assert_int_equal(db_step(s), DB_ROW);
		assert_string_equal(db_col_text(s, 0), "two");
		assert_int_equal(db_step(s), DB_ROW);
		assert_string_equal(db_col_text(s, 0), "three");
		assert_int_equal(db_step(s), DB_DONE);
		db_done(s);
	}
	/* Bindings do not leak into the next use: unbound is NULL, and id >= NULL matches nothing. */
	db_stmt *s = db_prepare(c, sql);
	assert_int_equal(db_step(s), DB_DONE);
	db_done(s);
	exec_ok(c, "DROP TABLE t_store_cache");
}

/* The same SQL run again while the first use is still being iterated gets its own statement. */
static void test_nested_same_sql(void **state)
{
	db_conn *c = conn(state);
	exec_ok(c, "DROP TABLE IF EXISTS t_store_nest");
	exec_ok(c, "CREATE TABLE t_store_nest (id INTEGER PRIMARY KEY)");
	exec_ok(c, "INSERT INTO t_store_nest (id) VALUES (1), (2), (3)");
	const char *sql = "SELECT id FROM t_store_nest WHERE id >= ? ORDER BY id";
	db_stmt *outer = db_prepare(c, sql);
	assert_non_null(outer);
	db_bind_int64(outer, 1, 1);
	int64_t seen[3] = {0};
	int n = 0;
	while (db_step(outer) == DB_ROW) {
		assert_true(n < 3);
		seen[n] = db_col_int64(outer, 0);
		db_stmt *inner = db_prepare(c, sql);
		assert_non_null(inner);
		assert_ptr_not_equal(inner, outer);
		db_bind_int64(inner, 1, seen[n]);
		int m = 0;
		while (db_step(inner) == DB_ROW) {
			assert_int_equal(db_col_int64(inner, 0), seen[n] + m);
			m++;
		}
		assert_int_equal(m, 3 - n);
		db_done(inner);
		/* The outer row is untouched by the inner query. */
		assert_int_equal(db_col_int64(outer, 0), seen[n]);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 2);
	assert_int_equal(seen[2], 3);
	db_done(outer);
	assert_ptr_equal(db_prepare(c, sql), outer);
	db_done(outer);
	exec_ok(c, "DROP TABLE t_store_nest");
}

#define NTHREADS 4
#define ROWS_PER_THREAD 25

struct worker {
	db *d;
	int id;
	pthread_barrier_t *ready, *release;
	int connected, inserted, errors;
	int64_t counted;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	db_conn *c = db_conn_get(w->d);
	w->connected = c != NULL;
	if (c) {
		for (int i = 0; i < ROWS_PER_THREAD; i++) {
			db_stmt *s = db_prepare(c, "INSERT INTO t_store_thr (worker, seq) VALUES (?, ?)");
			if (!s) {
				w->errors++;
				continue;
			}
			db_bind_int64(s, 1, w->id);
			db_bind_int64(s, 2, i);
			if (db_step(s) == DB_DONE)
				w->inserted++;
			else
				w->errors++;
			db_done(s);
		}
		db_stmt *s = db_prepare(c, "SELECT count(*) FROM t_store_thr WHERE worker = ?");
		if (s) {
			db_bind_int64(s, 1, w->id);
			if (db_step(s) == DB_ROW)
				w->counted = db_col_int64(s, 0);
			db_done(s);
		}
	}
	/* Stay alive (and connected) until the main thread has counted the connections. */
	pthread_barrier_wait(w->ready);
	pthread_barrier_wait(w->release);
	return NULL;
}

static void test_threads(void **state)
{
	struct fixture *f = fx(state);
	db_conn *c = conn(state);
	exec_ok(c, "DROP TABLE IF EXISTS t_store_thr");
	exec_ok(c, "CREATE TABLE t_store_thr (worker INTEGER NOT NULL, seq INTEGER NOT NULL, "
		   "PRIMARY KEY (worker, seq))");
	long before = db_connections(f->d);
	assert_int_equal(before, 1); /* this thread's */

	pthread_barrier_t ready, release;
	pthread_barrier_init(&ready, NULL, NTHREADS + 1);
	pthread_barrier_init(&release, NULL, NTHREADS + 1);
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){.d = f->d, .id = i + 1, .ready = &ready, .release = &release};
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	pthread_barrier_wait(&ready);
	long during = db_connections(f->d);
	pthread_barrier_wait(&release);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&release);

	assert_int_equal(during, before + NTHREADS);
	/* Each thread's connection was closed when it exited. */
	assert_int_equal(db_connections(f->d), before);
	for (int i = 0; i < NTHREADS; i++) {
		assert_true(w[i].connected);
		assert_int_equal(w[i].errors, 0);
		assert_int_equal(w[i].inserted, ROWS_PER_THREAD);
		assert_int_equal(w[i].counted, ROWS_PER_THREAD);
	}
	assert_int_equal(scalar(c, "SELECT count(*) FROM t_store_thr"), NTHREADS * ROWS_PER_THREAD);
	assert_int_equal(scalar(c, "SELECT count(DISTINCT worker) FROM t_store_thr"), NTHREADS);
	exec_ok(c, "DROP TABLE t_store_thr");
}

/*
 * The change table's purge folds each scope's rows into one of the same total, a batch of scopes
 * per transaction (more scopes than one batch here), and leaves every version as it was.
 */
static void test_purge_changes(void **state)
{
	struct fixture *f = fx(state);
	db_conn *c = conn(state);
	exec_ok(c, "DROP TABLE IF EXISTS core_changes");
	exec_ok(c, f->kind == DB_POSTGRES ? rcache_schema_v1_pg : rcache_schema_v1);
	enum { SCOPES = 700 };
	char scope[SCOPES][16];
	int64_t want[SCOPES];
	assert_int_equal(db_begin(c), ENT_OK);
	for (int k = 0; k < SCOPES; k++) {
		snprintf(scope[k], sizeof(scope[k]), "u:%04d", k);
		want[k] = 0;
		for (int r = 0; r <= k % 3; r++) {
			assert_int_equal(SQL_RUN(c, "INSERT INTO core_changes (scope, weight) VALUES (?, ?)",
						 SQL_T(scope[k]), SQL_I(r + 1)),
					 DB_DONE);
			want[k] += r + 1;
		}
	}
	assert_int_equal(db_commit(c), ENT_OK);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(rcache_purge(c), ENT_OK);
		assert_int_equal(scalar(c, "SELECT count(*) FROM core_changes"), SCOPES);
		for (int k = 0; k < SCOPES; k += 32) {
			const char *names[32];
			int64_t got[32];
			size_t n = SCOPES - k < 32 ? (size_t)(SCOPES - k) : 32;
			for (size_t i = 0; i < n; i++)
				names[i] = scope[k + (int)i];
			assert_int_equal(rcache_versions(c, names, n, got), ENT_OK);
			for (size_t i = 0; i < n; i++)
				assert_int_equal(got[i], want[k + (int)i]);
		}
		/* A change after a purge: folded by the next one, its weight kept. */
		assert_int_equal(SQL_RUN(c, "INSERT INTO core_changes (scope) VALUES (?)", SQL_T(scope[1])), DB_DONE);
		want[1]++;
	}
	exec_ok(c, "DROP TABLE core_changes");
}

static void test_ping_and_migrate_lock(void **state)
{
	db_conn *c = conn(state);
	assert_int_equal(db_ping(c), ENT_OK);
	assert_int_equal(db_migrate_lock(c), ENT_OK);
	assert_int_equal(db_migrate_unlock(c), ENT_OK);
	/* A syntax error fails at prepare and leaves the connection usable. */
	assert_null(db_prepare(c, "SELEKT 1"));
	assert_int_equal(db_ping(c), ENT_OK);
	assert_non_null(db_errmsg(c));
}

/* ---- PostgreSQL only ------------------------------------------------------------------------- */

static void test_pg_quoting(void **state)
{
	db_conn *c = conn(state);
	db_stmt *s = db_prepare(c, "SELECT $$a?$$, E'b\\'?', CAST(? AS TEXT), $t$ $$ ? $t$, U&'?', "
				   "/* outer /* nested ? */ still ? */ CAST(? AS INTEGER) + 1");
	assert_non_null(s);
	db_bind_text(s, 1, "one");
	db_bind_int64(s, 2, 41);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_count(s), 6);
	assert_string_equal(db_col_text(s, 0), "a?");
	assert_string_equal(db_col_text(s, 1), "b'?");
	assert_string_equal(db_col_text(s, 2), "one");
	assert_string_equal(db_col_text(s, 3), " $$ ? ");
	assert_string_equal(db_col_text(s, 4), "?");
	assert_int_equal(db_col_int64(s, 5), 42);
	db_done(s);
	/* Doubles reach text in their shortest exact form. */
	s = db_prepare(c, "SELECT CAST(CAST(? AS DOUBLE PRECISION) AS TEXT), CAST(? AS NUMERIC)");
	db_bind_double(s, 1, 0.1);
	db_bind_double(s, 2, 2.5);
	assert_int_equal(db_step(s), DB_ROW);
	assert_string_equal(db_col_text(s, 0), "0.1");
	assert_string_equal(db_col_text(s, 1), "2.5");
	db_done(s);
}

/* SQLSTATEs raised on purpose map to the documented errors. */
static void test_pg_error_mapping(void **state)
{
	db_conn *c = conn(state);
	static const struct {
		const char *sql;
		int rc;
	} cases[] = {
		{"DO $$BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '23505'; END$$", ENT_ECONFLICT},
		{"DO $$BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '23503'; END$$", ENT_EINVAL},
		{"DO $$BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '23514'; END$$", ENT_EINVAL},
		{"DO $$BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40001'; END$$", ENT_EBUSY},
		{"DO $$BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40P01'; END$$", ENT_EBUSY},
		{"DO $$BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '55P03'; END$$", ENT_EBUSY},
		{"DO $$BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '08006'; END$$", ENT_EUNAVAIL},
		{"DO $$BEGIN RAISE EXCEPTION 'x' USING ERRCODE = 'XX000'; END$$", ENT_EDB},
		{"SELECT * FROM t_store_does_not_exist", ENT_EDB},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = db_exec(c, cases[i].sql);
		if (rc != cases[i].rc)
			fail_msg("%s: got %d, want %d", cases[i].sql, rc, cases[i].rc);
	}
	assert_non_null(strstr(db_errmsg(c), "42P01"));
	/* A data exception quotes the value in its message: only the SQLSTATE is kept. */
	db_stmt *s = db_prepare(c, "SELECT CAST(? AS INTEGER)");
	assert_non_null(s);
	db_bind_text(s, 1, "secret-not-a-number");
	assert_int_equal(db_step(s), ENT_EDB);
	assert_int_equal(db_step(s), ENT_EDB); /* stays failed until reset */
	db_done(s);
	assert_non_null(strstr(db_errmsg(c), "22P02"));
	assert_null(strstr(db_errmsg(c), "secret"));
	assert_int_equal(db_ping(c), ENT_OK);
}

struct killer {
	db *d;
	int64_t pid;
	int wait_active; /* wait until the victim is running a query before killing it */
	int terminated, gone;
};

static void *killer_main(void *arg)
{
	struct killer *k = arg;
	db_conn *c = db_conn_get(k->d);
	if (!c)
		return NULL;
	const char *active = "SELECT count(*) FROM pg_stat_activity WHERE pid = CAST(? AS INTEGER) "
			     "AND state = 'active' AND query LIKE '%pg_sleep%'";
	for (int i = 0; k->wait_active && i < 1000; i++) {
		db_stmt *s = db_prepare(c, active);
		db_bind_int64(s, 1, k->pid);
		int64_t n = db_step(s) == DB_ROW ? db_col_int64(s, 0) : -1;
		db_done(s);
		if (n == 1)
			break;
		sleep_ms(2);
	}
	db_stmt *s = db_prepare(c, "SELECT pg_terminate_backend(CAST(? AS INTEGER))");
	if (!s)
		return NULL;
	db_bind_int64(s, 1, k->pid);
	if (db_step(s) == DB_ROW && db_col_text(s, 0) && strcmp(db_col_text(s, 0), "t") == 0)
		k->terminated = 1;
	db_done(s);
	/* pg_terminate_backend only signals: wait (5 s at most) for the backend to be gone. */
	for (int i = 0; !k->wait_active && i < 500 && !k->gone; i++) {
		s = db_prepare(c, "SELECT count(*) FROM pg_stat_activity WHERE pid = CAST(? AS INTEGER)");
		db_bind_int64(s, 1, k->pid);
		if (db_step(s) == DB_ROW && db_col_int64(s, 0) == 0)
			k->gone = 1;
		db_done(s);
		if (!k->gone)
			sleep_ms(10);
	}
	return NULL;
}

/* Kills the backend of the calling thread's connection from another connection. */
static void kill_my_backend(void **state)
{
	db_conn *c = conn(state);
	struct killer k = {.d = fx(state)->d, .pid = scalar(c, "SELECT pg_backend_pid()")};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, killer_main, &k), 0);
	pthread_join(t, NULL);
	assert_true(k.terminated);
	assert_true(k.gone);
}

static void check_session(db_conn *c)
{
	char *v = scalar_text(c, "SHOW synchronous_commit");
	assert_string_equal(v, "on");
	free(v);
	v = scalar_text(c, "SHOW TimeZone");
	assert_string_equal(v, "UTC");
	free(v);
	v = scalar_text(c, "SHOW client_min_messages");
	assert_string_equal(v, "warning");
	free(v);
}

/* A connection killed while idle recovers on the next query, cached statements included. */
static void test_pg_reconnect_idle(void **state)
{
	db_conn *c = conn(state);
	check_session(c);
	const char *sql = "SELECT CAST(? AS INTEGER) + 1";
	assert_int_equal(run1(c, sql, 0), DB_ROW);
	db_stmt *cached = db_prepare(c, sql);
	db_done(cached);
	int64_t pid1 = scalar(c, "SELECT pg_backend_pid()");

	kill_my_backend(state);

	db_stmt *s = db_prepare(c, sql);
	assert_ptr_equal(s, cached); /* still the cached statement, prepared again underneath */
	db_bind_int64(s, 1, 41);
	assert_int_equal(db_step(s), DB_ROW);
	assert_int_equal(db_col_int64(s, 0), 42);
	db_done(s);
	int64_t pid2 = scalar(c, "SELECT pg_backend_pid()");
	assert_true(pid2 != pid1);
	check_session(c); /* the session settings were applied again */

	/* Twice in a row, and through db_exec. */
	kill_my_backend(state);
	exec_ok(c, "SELECT 1");
	assert_true(scalar(c, "SELECT pg_backend_pid()") != pid2);
	assert_int_equal(db_connections(fx(state)->d), 1);
}

/* A connection killed while a query runs, outside a transaction: the query is retried once. */
static void test_pg_reconnect_running(void **state)
{
	db_conn *c = conn(state);
	struct killer k = {.d = fx(state)->d, .pid = scalar(c, "SELECT pg_backend_pid()"), .wait_active = 1};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, killer_main, &k), 0);
	db_stmt *s = db_prepare(c, "SELECT CAST(? AS INTEGER) FROM pg_sleep(0.5)");
	assert_non_null(s);
	db_bind_int64(s, 1, 7);
	int rc = db_step(s);
	int64_t v = rc == DB_ROW ? db_col_int64(s, 0) : -1;
	db_done(s);
	pthread_join(t, NULL);
	assert_true(k.terminated);
	assert_int_equal(rc, DB_ROW);
	assert_int_equal(v, 7);
	assert_true(scalar(c, "SELECT pg_backend_pid()") != k.pid);
}

/* A connection killed inside a transaction: nothing runs in its name until it is ended. */
static void test_pg_reconnect_in_transaction(void **state)
{
	db_conn *c = conn(state);
	const char *ins = "INSERT INTO t_store_pgtx (id) VALUES (?)";
	const char *cnt = "SELECT count(*) FROM t_store_pgtx";
	exec_ok(c, "DROP TABLE IF EXISTS t_store_pgtx");
	exec_ok(c, "CREATE TABLE t_store_pgtx (id INTEGER PRIMARY KEY)");

	/* Ended by ROLLBACK. */
	assert_int_equal(db_begin(c), ENT_OK);
	assert_int_equal(run1(c, ins, 1), DB_DONE);
	kill_my_backend(state);
	assert_int_equal(run1(c, ins, 2), ENT_EUNAVAIL);
	assert_int_equal(run1(c, ins, 3), ENT_EUNAVAIL); /* not in autocommit behind our back */
	assert_int_equal(db_exec(c, "SELECT 1"), ENT_EUNAVAIL);
	assert_int_equal(db_ping(c), ENT_EUNAVAIL);
	assert_int_equal(db_rollback(c), ENT_OK);
	assert_int_equal(db_ping(c), ENT_OK);
	assert_int_equal(scalar(c, cnt), 0);

	/* Ended by COMMIT, which must report that nothing was committed. */
	assert_int_equal(db_begin(c), ENT_OK);
	assert_int_equal(run1(c, ins, 4), DB_DONE);
	kill_my_backend(state);
	assert_int_equal(run1(c, ins, 5), ENT_EUNAVAIL);
	assert_int_equal(db_commit(c), ENT_EUNAVAIL);
	assert_int_equal(scalar(c, cnt), 0);

	/* Killed with nothing run since BEGIN: the COMMIT itself finds out. */
	assert_int_equal(db_begin(c), ENT_OK);
	kill_my_backend(state);
	assert_int_equal(db_commit(c), ENT_EUNAVAIL);
	assert_int_equal(run1(c, ins, 6), DB_DONE); /* autocommit again */
	assert_int_equal(scalar(c, cnt), 1);
	exec_ok(c, "DROP TABLE t_store_pgtx");
}

/* Statements that are not kept in the cache are deallocated on the server, even after an error. */
static void test_pg_deallocate(void **state)
{
	db_conn *c = conn(state);
	const char *count = "SELECT count(*) FROM pg_prepared_statements";
	const char *sql = "SELECT id FROM t_store_dealloc ORDER BY id";
	const char *ins = "INSERT INTO t_store_dealloc (id) VALUES (?)";
	exec_ok(c, "DROP TABLE IF EXISTS t_store_dealloc");
	exec_ok(c, "CREATE TABLE t_store_dealloc (id INTEGER PRIMARY KEY)");
	exec_ok(c, "INSERT INTO t_store_dealloc (id) VALUES (1), (2)");
	/* Warm the cache with every statement used below. */
	db_done(db_prepare(c, sql));
	assert_int_equal(run1(c, ins, 3), DB_DONE);
	int64_t base = scalar(c, count);

	db_stmt *outer = db_prepare(c, sql);
	while (db_step(outer) == DB_ROW) {
		db_stmt *inner = db_prepare(c, sql);
		assert_non_null(inner);
		while (db_step(inner) == DB_ROW)
			;
		db_done(inner);
	}
	db_done(outer);
	assert_int_equal(scalar(c, count), base);

	/* Finalised inside a failed transaction, where DEALLOCATE is refused. */
	assert_int_equal(db_begin(c), ENT_OK);
	outer = db_prepare(c, sql);
	assert_int_equal(db_step(outer), DB_ROW);
	db_stmt *inner = db_prepare(c, sql);
	assert_non_null(inner);
	assert_int_equal(db_step(inner), DB_ROW);
	assert_int_equal(run1(c, ins, 1), ENT_ECONFLICT); /* the transaction is now aborted */
	db_done(inner);
	db_done(outer);
	assert_int_equal(run1(c, ins, 9), ENT_EDB); /* 25P02: commands ignored until the end */
	assert_int_equal(db_rollback(c), ENT_OK);
	assert_int_equal(scalar(c, count), base);
	exec_ok(c, "DROP TABLE t_store_dealloc");
}

static void test_pg_not_configured(void **state)
{
	(void)state;
	fprintf(stderr, "ENT_TEST_PG_URL is not set: PostgreSQL cases skipped "
			"(url=$(bash tests/services/postgres.sh start DIR) to run them)\n");
	skip();
}

/* ---- main ------------------------------------------------------------------------------------ */

#define COMMON_TESTS                                                                                                   \
	cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_question_mark_in_literal),                             \
		cmocka_unit_test(test_unique_conflict), cmocka_unit_test(test_changes),                                \
		cmocka_unit_test(test_sql_run), cmocka_unit_test(test_like_pattern),                                   \
		cmocka_unit_test(test_transactions), cmocka_unit_test(test_statement_cache),                           \
		cmocka_unit_test(test_nested_same_sql), cmocka_unit_test(test_threads),                                \
		cmocka_unit_test(test_ping_and_migrate_lock), cmocka_unit_test(test_purge_changes),                    \
		cmocka_unit_test(test_export_rows)

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = {COMMON_TESTS};
	const struct CMUnitTest pg_tests[] = {
		COMMON_TESTS,
		cmocka_unit_test(test_pg_quoting),
		cmocka_unit_test(test_pg_error_mapping),
		cmocka_unit_test(test_pg_reconnect_idle),
		cmocka_unit_test(test_pg_reconnect_running),
		cmocka_unit_test(test_pg_reconnect_in_transaction),
		cmocka_unit_test(test_pg_deallocate),
	};
	const struct CMUnitTest pg_skipped[] = {cmocka_unit_test(test_pg_not_configured)};

	int failed = cmocka_run_group_tests_name("store_sqlite", sqlite_tests, setup_sqlite, teardown_sqlite);
	const char *url = getenv("ENT_TEST_PG_URL");
	if (url && *url)
		failed += cmocka_run_group_tests_name("store_postgres", pg_tests, setup_pg, teardown_pg);
	else
		failed += cmocka_run_group_tests_name("store_postgres", pg_skipped, NULL, NULL);
	return failed ? 1 : 0;
}
