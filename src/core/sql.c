/*
 * sql.c - a statement and its values in one call (see sql.h).
 */
#include "sql.h"

#include "err.h"

db_stmt *sql_prepare(db_conn *c, const char *sql, const sql_val *v, size_t n)
{
	db_stmt *s = db_prepare(c, sql);
	for (size_t i = 0; s && i < n; i++) {
		int k = (int)i + 1;
		if (v[i].kind == 'i')
			db_bind_int64(s, k, v[i].i);
		else if (v[i].kind == 'd')
			db_bind_double(s, k, v[i].d);
		else if (v[i].kind == 'n')
			db_bind_null(s, k);
		else
			db_bind_text(s, k, v[i].t);
	}
	return s;
}

int sql_run(db_conn *c, const char *sql, const sql_val *v, size_t n, int64_t *changes)
{
	db_stmt *s = sql_prepare(c, sql, v, n);
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc >= 0 && changes)
		*changes = db_changes(s);
	db_done(s);
	return rc;
}

int sql_each(db_conn *c, const char *const *sqls, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++) {
		int rc = SQL_RUN(c, sqls[i], SQL_T(v));
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

db_stmt *sql_row(db_conn *c, const char *sql, const sql_val *v, size_t n, int *rc)
{
	db_stmt *s = sql_prepare(c, sql, v, n);
	if (!s) {
		*rc = ENT_EDB;
		return NULL;
	}
	*rc = db_step(s);
	if (*rc == DB_ROW) {
		*rc = ENT_OK;
		return s;
	}
	db_done(s);
	if (*rc >= 0)
		*rc = ENT_ENOTFOUND;
	return NULL;
}
