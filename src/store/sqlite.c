/*
 * sqlite.c - the SQLite backend of the store (the embedded default).
 *
 * Each connection is opened with WAL journaling, synchronous=FULL (a write answered 2xx survives
 * power loss), foreign keys on and a busy timeout, so concurrent writers from other threads or
 * processes wait instead of failing. The URL is "sqlite:PATH"; the parent directory must exist.
 */
#include "backend.h"

#include "../core/err.h"
#include "../core/log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000

struct sq_stmt {
	sqlite3_stmt *st;
	sqlite3 *db;
	int stepped;
	int64_t changes;
};

static void *sq_connect(const char *url, char *err, size_t errlen)
{
	const char *path = url + strlen("sqlite:");
	if (!*path) {
		snprintf(err, errlen, "sqlite URL has no path");
		return NULL;
	}
	sqlite3 *sq = NULL;
	int rc = sqlite3_open_v2(path, &sq, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sq ? sqlite3_errmsg(sq) : sqlite3_errstr(rc));
		sqlite3_close(sq);
		return NULL;
	}
	sqlite3_busy_timeout(sq, BUSY_TIMEOUT_MS);
	char *msg = NULL;
	rc = sqlite3_exec(sq,
			  "PRAGMA journal_mode=WAL;"
			  "PRAGMA synchronous=FULL;"
			  "PRAGMA foreign_keys=ON;"
			  "PRAGMA temp_store=MEMORY;",
			  NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		sqlite3_close(sq);
		return NULL;
	}
	return sq;
}

static void sq_disconnect(void *conn) { sqlite3_close_v2(conn); }

static int map_rc(sqlite3 *sq, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return ENT_ECONFLICT;
		log_warn("sqlite constraint: %s", sqlite3_errmsg(sq));
		return ENT_EINVAL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return ENT_EBUSY;
	default: log_error("sqlite: %s", sqlite3_errmsg(sq)); return ENT_EDB;
	}
}

static int sq_exec(void *conn, const char *sql)
{
	int rc = sqlite3_exec(conn, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? ENT_OK : map_rc(conn, rc);
}

static void *sq_prepare(void *conn, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		log_error("sqlite prepare: %s", sqlite3_errmsg(conn));
		return NULL;
	}
	struct sq_stmt *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->st = st;
	s->db = conn;
	return s;
}

static void sq_finalize(void *stmt)
{
	struct sq_stmt *s = stmt;
	sqlite3_finalize(s->st);
	free(s);
}

static void sq_bind_text(void *stmt, int idx, const char *v, size_t len)
{
	sqlite3_bind_text64(((struct sq_stmt *)stmt)->st, idx, v, len, SQLITE_TRANSIENT, SQLITE_UTF8);
}
static void sq_bind_int64(void *stmt, int idx, int64_t v) { sqlite3_bind_int64(((struct sq_stmt *)stmt)->st, idx, v); }
static void sq_bind_double(void *stmt, int idx, double v) { sqlite3_bind_double(((struct sq_stmt *)stmt)->st, idx, v); }
static void sq_bind_null(void *stmt, int idx) { sqlite3_bind_null(((struct sq_stmt *)stmt)->st, idx); }
static void sq_bind_blob(void *stmt, int idx, const void *v, size_t len)
{
	sqlite3_bind_blob64(((struct sq_stmt *)stmt)->st, idx, v, len, SQLITE_TRANSIENT);
}

static int sq_step(void *stmt)
{
	struct sq_stmt *s = stmt;
	int rc = sqlite3_step(s->st);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE) {
		if (!s->stepped)
			s->changes = sqlite3_changes64(s->db);
		s->stepped = 1;
		return DB_DONE;
	}
	return map_rc(s->db, sqlite3_extended_errcode(s->db));
}

static int sq_col_count(void *stmt) { return sqlite3_column_count(((struct sq_stmt *)stmt)->st); }
static int sq_col_is_null(void *stmt, int col)
{
	return sqlite3_column_type(((struct sq_stmt *)stmt)->st, col) == SQLITE_NULL;
}
static const char *sq_col_text(void *stmt, int col)
{
	return (const char *)sqlite3_column_text(((struct sq_stmt *)stmt)->st, col);
}
static size_t sq_col_bytes(void *stmt, int col)
{
	return (size_t)sqlite3_column_bytes(((struct sq_stmt *)stmt)->st, col);
}
static int64_t sq_col_int64(void *stmt, int col) { return sqlite3_column_int64(((struct sq_stmt *)stmt)->st, col); }
static double sq_col_double(void *stmt, int col) { return sqlite3_column_double(((struct sq_stmt *)stmt)->st, col); }
static const void *sq_col_blob(void *stmt, int col, size_t *len)
{
	struct sq_stmt *s = stmt;
	const void *p = sqlite3_column_blob(s->st, col);
	*len = (size_t)sqlite3_column_bytes(s->st, col);
	return p;
}
static int64_t sq_changes(void *stmt) { return ((struct sq_stmt *)stmt)->changes; }

static void sq_reset(void *stmt)
{
	struct sq_stmt *s = stmt;
	sqlite3_reset(s->st);
	sqlite3_clear_bindings(s->st);
	s->stepped = 0;
	s->changes = 0;
}

/*
 * Migrations run each in its own BEGIN IMMEDIATE transaction and re-check inside it whether they
 * were applied, which already serialises concurrent processes: no separate lock is needed.
 */
static int sq_migrate_lock(void *conn)
{
	(void)conn;
	return ENT_OK;
}
static int sq_migrate_unlock(void *conn)
{
	(void)conn;
	return ENT_OK;
}
static const char *sq_errmsg(void *conn) { return sqlite3_errmsg(conn); }

const struct db_backend db_sqlite_backend = {
	.name = "sqlite",
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.exec = sq_exec,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.bind_text = sq_bind_text,
	.bind_int64 = sq_bind_int64,
	.bind_double = sq_bind_double,
	.bind_null = sq_bind_null,
	.bind_blob = sq_bind_blob,
	.step = sq_step,
	.col_count = sq_col_count,
	.col_is_null = sq_col_is_null,
	.col_text = sq_col_text,
	.col_bytes = sq_col_bytes,
	.col_int64 = sq_col_int64,
	.col_double = sq_col_double,
	.col_blob = sq_col_blob,
	.changes = sq_changes,
	.reset = sq_reset,
	.begin_sql = "BEGIN IMMEDIATE",
	/* Deferred: the snapshot is taken by the first read and kept until the end (WAL). */
	.begin_read_sql = "BEGIN",
	.migrate_lock = sq_migrate_lock,
	.migrate_unlock = sq_migrate_unlock,
	.errmsg = sq_errmsg,
};
