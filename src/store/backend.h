/*
 * backend.h - what a storage backend implements (private to src/store/).
 *
 * db.c owns the generic parts: the process handle, the per-thread connection, the statement cache
 * and the public API of db.h. A backend (sqlite.c, pg.c) fills in one `struct db_backend` table
 * and works on its own opaque `impl` pointers, as Redis' ConnectionType does for sockets and TLS.
 */
#ifndef ENT_STORE_BACKEND_H
#define ENT_STORE_BACKEND_H

#include "db.h"

struct db_backend {
	const char *name;
	/* Opens one connection to the database named by url. NULL on failure, reason in err. */
	void *(*connect)(const char *url, char *err, size_t errlen);
	void (*disconnect)(void *conn);
	int (*exec)(void *conn, const char *sql);
	/* Prepares sql (with `?` placeholders). NULL on failure. */
	void *(*prepare)(void *conn, const char *sql);
	void (*finalize)(void *stmt);
	void (*bind_text)(void *stmt, int idx, const char *v, size_t len);
	void (*bind_int64)(void *stmt, int idx, int64_t v);
	void (*bind_double)(void *stmt, int idx, double v);
	void (*bind_null)(void *stmt, int idx);
	void (*bind_blob)(void *stmt, int idx, const void *v, size_t len);
	int (*step)(void *stmt);
	int (*col_count)(void *stmt);
	int (*col_is_null)(void *stmt, int col);
	const char *(*col_text)(void *stmt, int col);
	size_t (*col_bytes)(void *stmt, int col);
	int64_t (*col_int64)(void *stmt, int col);
	double (*col_double)(void *stmt, int col);
	const void *(*col_blob)(void *stmt, int col, size_t *len);
	int64_t (*changes)(void *stmt);
	void (*reset)(void *stmt);
	const char *begin_sql;      /* "BEGIN IMMEDIATE" or "BEGIN" */
	const char *begin_read_sql; /* a read-only transaction on one snapshot */
	int (*migrate_lock)(void *conn);
	int (*migrate_unlock)(void *conn);
	const char *(*errmsg)(void *conn);
};

/*
 * PostgreSQL notifications (pg.c), behind db_listen() and friends: a connection of its own that
 * ran LISTEN channel. NULL with a reason in err on failure.
 */
void *pg_listen_open(const char *url, const char *channel, char *err, size_t errlen);
int pg_listen_wait(void *l, int timeout_ms, void (*fn)(const char *payload, void *arg), void *arg);
void pg_listen_close(void *l);

extern const struct db_backend db_sqlite_backend;
extern const struct db_backend db_pg_backend;

#endif
