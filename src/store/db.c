/*
 * db.c - the generic half of the store: process handle, per-thread connections, statement cache.
 *
 * Each thread gets its own backend connection through a pthread key, so no lock is taken on the
 * query path. Each connection keeps a small hash table of prepared statements keyed by SQL text.
 * If a cached statement is already in use on this thread (a query run while iterating another
 * with the same text), a private statement is prepared and finalised by db_done().
 */
#include "db.h"

#include "backend.h"
#include "../core/arena.h"
#include "../core/err.h"
#include "../core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STMT_CACHE_SLOTS 256 /* power of two */

struct db_stmt {
	db_conn *conn;
	void *impl;
	char *sql;
	unsigned hash;
	int cached;
	int in_use;
};

struct db_conn {
	db *d;
	void *impl;
	struct db_conn *next;
	size_t ncached;
	db_stmt *cache[STMT_CACHE_SLOTS];
};

struct db {
	enum db_kind kind;
	char *url;
	const struct db_backend *be;
	pthread_key_t key;
	pthread_mutex_t lock;
	db_conn *conns;
	atomic_long nconns;
};

static unsigned hash_sql(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void stmt_free(db_stmt *s)
{
	if (!s)
		return;
	s->conn->d->be->finalize(s->impl);
	free(s->sql);
	free(s);
}

static void conn_free(db_conn *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < STMT_CACHE_SLOTS; i++)
		stmt_free(c->cache[i]);
	c->d->be->disconnect(c->impl);
	atomic_fetch_sub(&c->d->nconns, 1);
	free(c);
}

static void conn_unlink(db *d, db_conn *c)
{
	pthread_mutex_lock(&d->lock);
	for (db_conn **p = &d->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
}

static void thread_exit(void *arg)
{
	db_conn *c = arg;
	conn_unlink(c->d, c);
	conn_free(c);
}

int db_open(const char *url, db **out, char *err, size_t errlen)
{
	*out = NULL;
	const struct db_backend *be;
	enum db_kind kind;
	if (strncmp(url, "sqlite:", 7) == 0) {
		be = &db_sqlite_backend;
		kind = DB_SQLITE;
	} else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
		be = &db_pg_backend;
		kind = DB_POSTGRES;
	} else {
		snprintf(err, errlen, "unsupported database URL (expected sqlite:PATH or postgresql://...)");
		return ENT_EINVAL;
	}
	/* Connect once now so that a bad setting stops the program at start, not at first request. */
	void *probe = be->connect(url, err, errlen);
	if (!probe)
		return ENT_EUNAVAIL;
	be->disconnect(probe);

	db *d = calloc(1, sizeof(*d));
	if (!d)
		abort();
	d->kind = kind;
	d->url = strdup(url);
	d->be = be;
	pthread_mutex_init(&d->lock, NULL);
	pthread_key_create(&d->key, thread_exit);
	*out = d;
	return ENT_OK;
}

void db_close(db *d)
{
	if (!d)
		return;
	/* The calling thread's own connection is in the list too; clear its key first. */
	pthread_setspecific(d->key, NULL);
	pthread_mutex_lock(&d->lock);
	db_conn *c = d->conns;
	d->conns = NULL;
	pthread_mutex_unlock(&d->lock);
	while (c) {
		db_conn *next = c->next;
		conn_free(c);
		c = next;
	}
	pthread_key_delete(d->key);
	pthread_mutex_destroy(&d->lock);
	free(d->url);
	free(d);
}

db_listener *db_listen(db *d, const char *channel, char *err, size_t errlen)
{
	if (d->kind != DB_POSTGRES) {
		snprintf(err, errlen, "notifications need PostgreSQL");
		return NULL;
	}
	return pg_listen_open(d->url, channel, err, errlen);
}

int db_listen_wait(db_listener *l, int timeout_ms, void (*fn)(const char *payload, void *arg), void *arg)
{
	return pg_listen_wait(l, timeout_ms, fn, arg);
}

void db_listen_close(db_listener *l)
{
	if (l)
		pg_listen_close(l);
}

enum db_kind db_kind(const db *d) { return d->kind; }
enum db_kind db_conn_kind(const db_conn *c) { return c->d->kind; }
long db_connections(const db *d) { return atomic_load(&((db *)d)->nconns); }

db_conn *db_conn_get(db *d)
{
	db_conn *c = pthread_getspecific(d->key);
	if (c)
		return c;
	char err[256] = "";
	void *impl = d->be->connect(d->url, err, sizeof(err));
	if (!impl) {
		log_error("database connection failed: %s", err);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->d = d;
	c->impl = impl;
	atomic_fetch_add(&d->nconns, 1);
	pthread_mutex_lock(&d->lock);
	c->next = d->conns;
	d->conns = c;
	pthread_mutex_unlock(&d->lock);
	pthread_setspecific(d->key, c);
	return c;
}

int db_exec(db_conn *c, const char *sql) { return c->d->be->exec(c->impl, sql); }

static db_stmt *stmt_new(db_conn *c, const char *sql, unsigned h)
{
	void *impl = c->d->be->prepare(c->impl, sql);
	if (!impl)
		return NULL;
	db_stmt *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->conn = c;
	s->impl = impl;
	s->sql = strdup(sql);
	s->hash = h;
	return s;
}

db_stmt *db_prepare(db_conn *c, const char *sql)
{
	unsigned h = hash_sql(sql);
	size_t mask = STMT_CACHE_SLOTS - 1;
	size_t i = h & mask;
	for (size_t n = 0; n < STMT_CACHE_SLOTS; n++, i = (i + 1) & mask) {
		db_stmt *s = c->cache[i];
		if (!s)
			break;
		if (s->hash == h && strcmp(s->sql, sql) == 0) {
			if (s->in_use)
				goto uncached;
			s->in_use = 1;
			return s;
		}
	}
	db_stmt *s = stmt_new(c, sql, h);
	if (!s)
		return NULL;
	/* Keep the table at most three quarters full; past that, statements are simply not cached. */
	if (c->ncached < STMT_CACHE_SLOTS * 3 / 4) {
		i = h & mask;
		while (c->cache[i])
			i = (i + 1) & mask;
		c->cache[i] = s;
		c->ncached++;
		s->cached = 1;
	}
	s->in_use = 1;
	return s;
uncached:
	s = stmt_new(c, sql, h);
	if (s)
		s->in_use = 1;
	return s;
}

void db_bind_text(db_stmt *s, int idx, const char *v)
{
	if (!v)
		s->conn->d->be->bind_null(s->impl, idx);
	else
		s->conn->d->be->bind_text(s->impl, idx, v, strlen(v));
}
void db_bind_textn(db_stmt *s, int idx, const char *v, size_t len) { s->conn->d->be->bind_text(s->impl, idx, v, len); }
void db_bind_int64(db_stmt *s, int idx, int64_t v) { s->conn->d->be->bind_int64(s->impl, idx, v); }
void db_bind_double(db_stmt *s, int idx, double v) { s->conn->d->be->bind_double(s->impl, idx, v); }
void db_bind_null(db_stmt *s, int idx) { s->conn->d->be->bind_null(s->impl, idx); }
void db_bind_blob(db_stmt *s, int idx, const void *v, size_t len) { s->conn->d->be->bind_blob(s->impl, idx, v, len); }
int db_step(db_stmt *s) { return s->conn->d->be->step(s->impl); }
int db_col_count(db_stmt *s) { return s->conn->d->be->col_count(s->impl); }
int db_col_is_null(db_stmt *s, int col) { return s->conn->d->be->col_is_null(s->impl, col); }
const char *db_col_text(db_stmt *s, int col) { return s->conn->d->be->col_text(s->impl, col); }
size_t db_col_bytes(db_stmt *s, int col) { return s->conn->d->be->col_bytes(s->impl, col); }
int64_t db_col_int64(db_stmt *s, int col) { return s->conn->d->be->col_int64(s->impl, col); }
double db_col_double(db_stmt *s, int col) { return s->conn->d->be->col_double(s->impl, col); }
const void *db_col_blob(db_stmt *s, int col, size_t *len) { return s->conn->d->be->col_blob(s->impl, col, len); }
int64_t db_changes(db_stmt *s) { return s->conn->d->be->changes(s->impl); }

void db_done(db_stmt *s)
{
	if (!s)
		return;
	if (!s->cached) {
		stmt_free(s);
		return;
	}
	s->conn->d->be->reset(s->impl);
	s->in_use = 0;
}

int db_begin(db_conn *c) { return db_exec(c, c->d->be->begin_sql); }
int db_begin_read(db_conn *c) { return db_exec(c, c->d->be->begin_read_sql); }
int db_commit(db_conn *c) { return db_exec(c, "COMMIT"); }
int db_rollback(db_conn *c) { return db_exec(c, "ROLLBACK"); }

int db_ping(db_conn *c)
{
	db_stmt *s = db_prepare(c, "SELECT 1");
	if (!s)
		return ENT_EUNAVAIL;
	int rc = db_step(s);
	db_done(s);
	return rc == DB_ROW ? ENT_OK : ENT_EUNAVAIL;
}

int db_migrate_lock(db_conn *c) { return c->d->be->migrate_lock(c->impl); }
int db_migrate_unlock(db_conn *c) { return c->d->be->migrate_unlock(c->impl); }
const char *db_errmsg(db_conn *c) { return c->d->be->errmsg(c->impl); }

void db_bind_text_or_null(db_stmt *s, int idx, const char *v)
{
	if (v)
		db_bind_text(s, idx, v);
	else
		db_bind_null(s, idx);
}

/* Steps sql once with one or two text parameters: DB_ROW, DB_DONE or an error. */
static int step_texts(db_conn *c, const char *sql, const char *p1, const char *p2)
{
	db_stmt *s = db_prepare(c, sql);
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, p1);
	if (p2)
		db_bind_text(s, 2, p2);
	int rc = db_step(s);
	db_done(s);
	return rc;
}

int db_exists(db_conn *c, const char *sql, const char *p1, const char *p2)
{
	int rc = step_texts(c, sql, p1, p2);
	return rc < 0 ? rc : rc == DB_ROW;
}

int db_texts(db_conn *c, arena *a, const char *sql, const char *p1, const char *p2, const char ***out)
{
	*out = NULL;
	if (!c)
		return ENT_EUNAVAIL;
	db_stmt *s = db_prepare(c, sql);
	if (!s)
		return ENT_EDB;
	if (p1)
		db_bind_text(s, 1, p1);
	if (p2)
		db_bind_text(s, 2, p2);
	const char **v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *t = db_col_text(s, 0);
		if (!t)
			continue;
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		v[n++] = arena_strdup(a, t);
	}
	db_done(s);
	*out = v;
	return rc < 0 ? rc : (int)n;
}

int db_run(db_conn *c, const char *sql, const char *p1, const char *p2)
{
	int rc = step_texts(c, sql, p1, p2);
	return rc < 0 ? rc : ENT_OK;
}

char *db_like(struct arena *a, const char *s, int lower)
{
	char *out = arena_alloc(a, strlen(s) * 2 + 3), *o = out;
	*o++ = '%';
	for (; *s; s++) {
		if (*s == '\\' || *s == '%' || *s == '_')
			*o++ = '\\';
		*o++ = lower && *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
	}
	*o++ = '%';
	*o = '\0';
	return out;
}

int db_end(db_conn *c, int rc)
{
	if (rc < 0) {
		db_rollback(c);
		return rc;
	}
	return db_commit(c);
}
