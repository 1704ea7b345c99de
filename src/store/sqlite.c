/*
 * sqlite.c - the SQLite backend of the store (the embedded default).
 *
 * Each connection is opened with WAL journaling, foreign keys on and a busy timeout, so concurrent
 * writers from other threads or processes wait instead of failing. The URL is "sqlite:PATH"; the
 * parent directory must exist.
 *
 * Durability, by group commit. A write is answered 2xx only once it is on disk (it survives power
 * loss), as with synchronous=FULL, where each commit syncs the write-ahead log while it still holds
 * SQLite's one write lock: concurrent writers then queue behind one another's syncs. Here the
 * connections commit with synchronous=NORMAL (the log is written, not synced, and the lock is
 * released at once), and the statement or COMMIT that ended a write transaction returns only
 * after a sync of the log made after that commit: the first writer to need one syncs it
 * (sqlite3_file's xSync on the log, through SQLITE_FCNTL_JOURNAL_POINTER), and every commit that
 * ended before that sync began rides on it. One sync for many commits; no write is answered
 * before it is durable; a kill -9 loses nothing either way (the log is in the kernel's cache).
 * db_sqlite_group_commit(0) (ENT_GROUP_COMMIT=off) goes back to synchronous=FULL.
 *
 * The process's writers take turns for BEGIN IMMEDIATE on a mutex (struct sq_group's writer),
 * rather than in SQLite's busy handler, which sleeps and polls.
 */
#include "backend.h"

#include "../core/err.h"
#include "../core/log.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUSY_TIMEOUT_MS 5000

/* The commits to one database file, and how many of them are synced. */
struct sq_group {
	char *path;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	uint64_t commits, synced, syncs;
	int syncing;
	/*
	 * This process's writers queue here for BEGIN IMMEDIATE: waiting on SQLite's lock is its busy
	 * handler, sleeps of up to 100 ms that 64 concurrent writers stretched to seconds; a mutex
	 * wakes the next one when the lock is released. Other processes still meet the busy handler.
	 */
	pthread_mutex_t writer;
	struct sq_group *next;
};

struct sq_conn {
	sqlite3 *db;
	struct sq_group *group; /* the database file's commits and writers */
	int full;               /* synchronous=FULL: no group commit */
	int committed;          /* the commit hook ran: a write transaction is ending */
	int writing;            /* holds group->writer, from BEGIN IMMEDIATE to the transaction's end */
};

struct sq_stmt {
	sqlite3_stmt *st;
	struct sq_conn *conn;
	sqlite3 *db;
	int stepped;
	int64_t changes;
};

static int group_commit = 1;
void db_sqlite_group_commit(int on) { group_commit = on; }

static struct {
	pthread_mutex_t mu;
	struct sq_group *list;
} groups = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The group of path, made on first use and kept for the process's life. */
static struct sq_group *group_of(const char *path)
{
	pthread_mutex_lock(&groups.mu);
	struct sq_group *g = groups.list;
	while (g && strcmp(g->path, path) != 0)
		g = g->next;
	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g || !(g->path = strdup(path)))
			abort();
		pthread_mutex_init(&g->mu, NULL);
		pthread_cond_init(&g->cond, NULL);
		pthread_mutex_init(&g->writer, NULL);
		g->next = groups.list;
		groups.list = g;
	}
	pthread_mutex_unlock(&groups.mu);
	return g;
}

void db_sqlite_group_stats(uint64_t *commits, uint64_t *syncs)
{
	*commits = *syncs = 0;
	pthread_mutex_lock(&groups.mu);
	for (struct sq_group *g = groups.list; g; g = g->next) {
		pthread_mutex_lock(&g->mu);
		*commits += g->commits;
		*syncs += g->syncs;
		pthread_mutex_unlock(&g->mu);
	}
	pthread_mutex_unlock(&groups.mu);
}

static int on_commit(void *arg)
{
	((struct sq_conn *)arg)->committed = 1;
	return 0; /* the commit goes on */
}

/* Syncs the connection's write-ahead log: everything written to it so far is on disk. */
static int sync_log(sqlite3 *sq)
{
	sqlite3_file *f = NULL;
	if (sqlite3_file_control(sq, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || !f || !f->pMethods)
		return SQLITE_ERROR;
	return f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

/*
 * After a statement or a COMMIT: when it ended a write transaction, returns once a sync begun
 * after that commit is done (made here, or by another writer's sync). ENT_EDB when the sync
 * failed: the write is committed but not known to be on disk, so it is not answered as done.
 */
static int settle(struct sq_conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		return ENT_OK;
	if (c->writing) {
		/* The transaction ended (COMMIT, ROLLBACK, or an error that rolled it back): the next writer goes. */
		c->writing = 0;
		pthread_mutex_unlock(&c->group->writer);
	}
	if (!c->committed)
		return ENT_OK;
	c->committed = 0;
	struct sq_group *g = c->group;
	if (c->full)
		return ENT_OK;
	int rc = SQLITE_OK;
	pthread_mutex_lock(&g->mu);
	uint64_t mine = ++g->commits;
	while (g->synced < mine && rc == SQLITE_OK) {
		if (g->syncing) {
			pthread_cond_wait(&g->cond, &g->mu);
			continue;
		}
		g->syncing = 1;
		uint64_t upto = g->commits;
		pthread_mutex_unlock(&g->mu);
		rc = sync_log(c->db);
		pthread_mutex_lock(&g->mu);
		g->syncing = 0;
		if (rc == SQLITE_OK)
			g->syncs++;
		if (rc == SQLITE_OK && upto > g->synced)
			g->synced = upto;
		pthread_cond_broadcast(&g->cond);
	}
	pthread_mutex_unlock(&g->mu);
	if (rc != SQLITE_OK) {
		log_error("sqlite: syncing the write-ahead log failed (%s)", sqlite3_errstr(rc));
		return ENT_EDB;
	}
	return ENT_OK;
}

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
			  group_commit ? "PRAGMA journal_mode=WAL;"
					 "PRAGMA synchronous=NORMAL;"
					 "PRAGMA foreign_keys=ON;"
					 "PRAGMA temp_store=MEMORY;"
				       : "PRAGMA journal_mode=WAL;"
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
	struct sq_conn *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->db = sq;
	c->full = !group_commit;
	const char *file = sqlite3_db_filename(sq, "main");
	c->group = group_of(file && *file ? file : path);
	sqlite3_commit_hook(sq, on_commit, c);
	return c;
}

static void sq_disconnect(void *conn)
{
	struct sq_conn *c = conn;
	if (c->writing)
		pthread_mutex_unlock(&c->group->writer);
	sqlite3_close_v2(c->db);
	free(c);
}

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

/* Takes the process's writer turn for BEGIN IMMEDIATE, waiting as long as SQLite's busy timeout. */
static int writer_turn(struct sq_conn *c)
{
	if (c->writing)
		return ENT_OK; /* SQLite answers the nested BEGIN itself */
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += BUSY_TIMEOUT_MS / 1000;
	if (pthread_mutex_timedlock(&c->group->writer, &t) != 0)
		return ENT_EBUSY;
	c->writing = 1;
	return ENT_OK;
}

static int sq_exec(void *conn, const char *sql)
{
	struct sq_conn *c = conn;
	if (strcmp(sql, "BEGIN IMMEDIATE") == 0 && writer_turn(c) != ENT_OK)
		return ENT_EBUSY;
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	int settled = settle(c);
	if (rc != SQLITE_OK)
		return map_rc(c->db, rc);
	return settled;
}

static void *sq_prepare(void *conn, const char *sql)
{
	struct sq_conn *c = conn;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		log_error("sqlite prepare: %s", sqlite3_errmsg(c->db));
		return NULL;
	}
	struct sq_stmt *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->st = st;
	s->conn = c;
	s->db = c->db;
	return s;
}

static void sq_finalize(void *stmt)
{
	struct sq_stmt *s = stmt;
	sqlite3_finalize(s->st);
	settle(s->conn);
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
	/*
	 * A write outside a transaction is a transaction of its own: it takes its turn with the
	 * others (polling SQLite's lock while the turn passes from hand to hand, it could wait past
	 * the busy timeout). settle() gives the turn back when the statement's transaction ends.
	 */
	if (!sqlite3_stmt_busy(s->st) && !s->conn->writing && sqlite3_get_autocommit(s->db) &&
	    !sqlite3_stmt_readonly(s->st) && writer_turn(s->conn) != ENT_OK)
		return ENT_EBUSY;
	int rc = sqlite3_step(s->st);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE) {
		if (!s->stepped)
			s->changes = sqlite3_changes64(s->db);
		s->stepped = 1;
		int settled = settle(s->conn);
		return settled < 0 ? settled : DB_DONE;
	}
	int err = map_rc(s->db, sqlite3_extended_errcode(s->db));
	settle(s->conn);
	return err;
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
	/* A statement with rows (INSERT ... RETURNING) commits its autocommit transaction here. */
	settle(s->conn);
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
static const char *sq_errmsg(void *conn) { return sqlite3_errmsg(((struct sq_conn *)conn)->db); }

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
