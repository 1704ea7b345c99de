/*
 * sql.h - a statement and its parameters in one call: run once (SQL_RUN), or prepared to read (SQL_PREP).
 *
 * Most writes read the same way: prepare, bind a few values in order, step once, finish. SQL_RUN
 * is all of that in one expression, so that a handler shows the statement and its values and
 * nothing else:
 *
 *   int rc = SQL_RUN(c, "UPDATE things SET title = ?, rank = ? WHERE id = ?", SQL_T(title), SQL_I(rank),
 *                    SQL_T(id));
 *
 * The values are bound to the parameters 1..n in order: SQL_T a text (NULL binds NULL), SQL_I an
 * integer, SQL_D a real, SQL_NULL a NULL. The statement is prepared through db_prepare (cached),
 * stepped once and finished. It never reads rows: a statement whose rows matter is prepared and
 * bound the same way with SQL_PREP, then stepped by the caller:
 *
 *   db_stmt *s = SQL_PREP(c, "SELECT id, title FROM things WHERE owner = ? AND rank > ?", SQL_T(me), SQL_I(3));
 *   if (!s)
 *           return ENT_EDB;
 *   while ((rc = db_step(s)) == DB_ROW) ...
 *   db_done(s);
 */
#ifndef ENT_SQL_H
#define ENT_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "../store/db.h"

typedef struct sql_val {
	char kind; /* 't', 'i', 'd' or 'n' */
	const char *t;
	int64_t i;
	double d;
} sql_val;

#define SQL_T(v) ((sql_val){.kind = 't', .t = (v)})
#define SQL_I(v) ((sql_val){.kind = 'i', .i = (v)})
#define SQL_D(v) ((sql_val){.kind = 'd', .d = (v)})
#define SQL_NULL ((sql_val){.kind = 'n'})

/*
 * Prepares sql, binds the n values v to its parameters 1..n, steps once and finishes it. Returns
 * what db_step returned (DB_DONE, or DB_ROW for a statement that returns rows), or a negative
 * ent_err: ENT_EDB when the statement could not be prepared. When changes is not NULL and the
 * step succeeded, *changes is the number of rows changed (db_changes).
 */
int sql_run(db_conn *c, const char *sql, const sql_val *v, size_t n, int64_t *changes);

/* Prepares sql and binds the n values v to its parameters 1..n. Returns the statement, or NULL (ENT_EDB). */
db_stmt *sql_prepare(db_conn *c, const char *sql, const sql_val *v, size_t n);

#define SQL_VALS(...) (const sql_val[]){__VA_ARGS__}, sizeof((const sql_val[]){__VA_ARGS__}) / sizeof(sql_val)
/* sql_run of sql with the values that follow (at least one). */
#define SQL_RUN(c, sql, ...) sql_run((c), (sql), SQL_VALS(__VA_ARGS__), NULL)
/* The same, with the number of rows changed in *changes. */
#define SQL_CHANGE(c, changes, sql, ...) sql_run((c), (sql), SQL_VALS(__VA_ARGS__), (changes))
/*
 * Prepares sql, binds the n values v and steps once: the statement on its first row (the caller
 * reads it, then calls db_done), or NULL with *rc set: ENT_ENOTFOUND when there is no row, or the
 * failure.
 */
db_stmt *sql_row(db_conn *c, const char *sql, const sql_val *v, size_t n, int *rc);
/* sql_row of sql with the values that follow (at least one); *rc as there. */
#define SQL_ROW(c, rc, sql, ...) sql_row((c), (sql), SQL_VALS(__VA_ARGS__), (rc))

/*
 * Runs each statement of sqls[0..n) once with the one text value v, in order (the erasure of a
 * user's rows: "DELETE FROM ... WHERE user_id = ?"), stopping at the first failure. Returns ENT_OK
 * or that failure.
 */
int sql_each(db_conn *c, const char *const *sqls, size_t n, const char *v);
/* sql_each over a whole array of statements. */
#define SQL_EACH(c, sqls, v) sql_each((c), (sqls), sizeof(sqls) / sizeof((sqls)[0]), (v))
/* sql_prepare of sql with the values that follow (at least one): the statement, not yet stepped. */
#define SQL_PREP(c, sql, ...) sql_prepare((c), (sql), SQL_VALS(__VA_ARGS__))

/*
 * A set of up to SQL_IN_MAX values in one constant statement: "WHERE id" SQL_IN, its places bound
 * one by one, those a set does not fill bound NULL (equal to nothing). A longer set runs the
 * statement once per SQL_IN_MAX values; the statement is prepared once per connection, whatever
 * the set's size.
 */
#define SQL_IN_MAX 32
#define SQL_IN_4_ "?, ?, ?, ?"
#define SQL_IN_32_                                                                                                     \
	SQL_IN_4_ ", " SQL_IN_4_ ", " SQL_IN_4_ ", " SQL_IN_4_ ", " SQL_IN_4_ ", " SQL_IN_4_ ", " SQL_IN_4_            \
		  ", " SQL_IN_4_
#define SQL_IN " IN (" SQL_IN_32_ ")"

#endif
