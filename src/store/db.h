/*
 * db.h - the storage interface every service uses.
 *
 * One interface, two backends: SQLite (embedded default) and PostgreSQL (libpq). A service writes
 * its SQL once, with `?` placeholders, and the backend adapts it (PostgreSQL's `$1` numbering is
 * produced in pg.c). Everything dialect-specific lives behind this header.
 *
 * Connections: a `db` is a process-wide handle built from the configured URL. Each thread that
 * talks to the database gets its own connection from db_conn_get(), opened on first use and kept
 * for the life of the thread (libmicrohttpd's workers are long-lived). A connection caches its
 * prepared statements, keyed by the SQL text, so a hot query is parsed once per thread.
 *
 * Statements: db_prepare() returns a statement owned by the connection's cache; the caller binds,
 * steps, reads columns and finally calls db_done() (which resets it for the next user). Text read
 * from a column stays valid until the next db_step() or db_done() on that statement.
 *
 * Never format values into SQL: bind them.
 */
#ifndef ENT_DB_H
#define ENT_DB_H

#include <stddef.h>
#include <stdint.h>

typedef struct db db;
typedef struct db_conn db_conn;
typedef struct db_stmt db_stmt;

enum db_kind { DB_SQLITE = 1, DB_POSTGRES = 2 };

/* Results of db_step(). Errors are negative (see core/err.h: ENT_EDB, ENT_ECONFLICT, ENT_EBUSY). */
enum { DB_DONE = 0, DB_ROW = 1 };

/*
 * Opens the process-wide handle for `url` ("sqlite:PATH" or "postgresql://..." / "postgres://...").
 * Connects once to check the database is reachable. On failure returns a negative ent_err and
 * writes a one-line reason into err. The handle is freed with db_close().
 */
int db_open(const char *url, db **out, char *err, size_t errlen);

/* Closes every connection. All threads that used the handle must have been joined first. */
void db_close(db *d);
enum db_kind db_kind(const db *d);
/* The engine behind a connection. */
enum db_kind db_conn_kind(const db_conn *c);

/* Number of connections currently open (for /metrics). */
long db_connections(const db *d);

/*
 * The calling thread's connection, opened on first use. NULL if the database cannot be reached
 * (the reason is logged). The connection is closed when the thread exits or at db_close().
 */
db_conn *db_conn_get(db *d);

/* Runs one or more statements without parameters (DDL, migrations). Returns 0 or an ent_err. */
int db_exec(db_conn *c, const char *sql);

/*
 * Returns the cached prepared statement for `sql`, preparing it on first use. NULL on a syntax or
 * connection error (logged). The statement belongs to the connection: do not free it, call
 * db_done() when finished so the next caller finds it reset.
 */
db_stmt *db_prepare(db_conn *c, const char *sql);

/* Parameters are numbered from 1, in order of the `?` in the SQL. Text is copied. */
void db_bind_text(db_stmt *s, int idx, const char *v);
void db_bind_textn(db_stmt *s, int idx, const char *v, size_t len);
void db_bind_int64(db_stmt *s, int idx, int64_t v);
void db_bind_double(db_stmt *s, int idx, double v);
void db_bind_null(db_stmt *s, int idx);
void db_bind_blob(db_stmt *s, int idx, const void *v, size_t len);
/* Text, or SQL NULL when v is NULL (optional fields). */
void db_bind_text_or_null(db_stmt *s, int idx, const char *v);

/* Runs sql with one or two text parameters (p2 NULL: one): 1 if it gives a row, 0 if not, or an ent_err. */
int db_exists(db_conn *c, const char *sql, const char *p1, const char *p2);
/* Runs sql for its effect with one or two text parameters (p2 may be NULL). ENT_OK or an error. */
int db_run(db_conn *c, const char *sql, const char *p1, const char *p2);
/*
 * Runs sql with zero, one or two text parameters (p1, p2 NULL when absent) and copies the first
 * column of every row into *out as strings of a (the array and strings live as long as a; NULL
 * columns are skipped). Returns how many, or a negative ent_err (ENT_EUNAVAIL without c).
 */
struct arena;
int db_texts(db_conn *c, struct arena *a, const char *sql, const char *p1, const char *p2, const char ***out);

/*
 * The LIKE pattern that finds s anywhere, for `LIKE ? ESCAPE ''`: "%s%" with \, % and _ escaped
 * (arena string). lower: A-Z lowered too (a search on a lowered column).
 */
char *db_like(struct arena *a, const char *s, int lower);

/*
 * Executes (first call) and advances. Returns DB_ROW while a row is available, DB_DONE at the end,
 * or a negative ent_err: ENT_ECONFLICT for a unique/primary-key violation, ENT_EINVAL for another
 * constraint (NOT NULL, CHECK, foreign key), ENT_EBUSY when the database stays locked past the
 * busy timeout or a serialization failure, ENT_EUNAVAIL when the connection to the server is
 * lost (PostgreSQL: it is re-established on the next statement outside a transaction), ENT_EDB
 * for anything else (logged).
 */
int db_step(db_stmt *s);

int db_col_count(db_stmt *s);
int db_col_is_null(db_stmt *s, int col);      /* columns are numbered from 0 */
const char *db_col_text(db_stmt *s, int col); /* NULL for SQL NULL */
size_t db_col_bytes(db_stmt *s, int col);
int64_t db_col_int64(db_stmt *s, int col);
double db_col_double(db_stmt *s, int col);
const void *db_col_blob(db_stmt *s, int col, size_t *len);

/* Number of rows changed by the last INSERT/UPDATE/DELETE run on this statement. */
int64_t db_changes(db_stmt *s);

/* Resets the statement and clears its bindings. Accepts NULL. */
void db_done(db_stmt *s);

/* Transactions. db_begin() takes the write lock at once on SQLite (BEGIN IMMEDIATE). */
int db_begin(db_conn *c);
/* A read-only transaction whose statements all see one snapshot of the database; ended by db_rollback(). */
int db_begin_read(db_conn *c);
int db_commit(db_conn *c);
int db_rollback(db_conn *c);
/*
 * Ends the transaction of a change whose outcome is rc: commits when rc is not negative, rolls
 * back otherwise. Returns rc when negative, else the commit's outcome (ENT_OK or its failure).
 */
int db_end(db_conn *c, int rc);

/* Cheap liveness check (SELECT 1). Returns 0 when the database answers. */
int db_ping(db_conn *c);

/*
 * Serialises migrations across processes: an advisory lock on PostgreSQL, the write lock (BEGIN
 * IMMEDIATE) on SQLite. db_migrate_unlock() releases it. Both return 0 or an ent_err.
 */
int db_migrate_lock(db_conn *c);
int db_migrate_unlock(db_conn *c);

/*
 * Notifications across processes (PostgreSQL's LISTEN/NOTIFY; see core/wake.h). db_listen() opens
 * a connection of its own, outside the per-thread ones, and runs LISTEN channel on it. NULL with
 * a reason in err on SQLite or when the server cannot be reached. db_listen_wait() waits up to
 * timeout_ms and calls fn(payload, arg) for each notification received; it returns how many, or
 * ENT_EUNAVAIL when the connection is lost (close it and listen again: what was notified in
 * between is not received). A NOTIFY is sent on any connection with SELECT pg_notify(?, ?),
 * delivered at the commit of its transaction.
 */
typedef struct db_listener db_listener;
db_listener *db_listen(db *d, const char *channel, char *err, size_t errlen);
int db_listen_wait(db_listener *l, int timeout_ms, void (*fn)(const char *payload, void *arg), void *arg);
void db_listen_close(db_listener *l);

/* The last error message of this connection, for logs. Never NULL. */
const char *db_errmsg(db_conn *c);

#endif
