/*
 * sql.c - one statement run once with its values (see sql.h).
 */
#include "sql.h"

#include "err.h"

int sql_run(db_conn *c, const char *sql, const sql_val *v, size_t n, int64_t *changes)
{
	db_stmt *s = db_prepare(c, sql);
	if (!s)
		return ENT_EDB;
	for (size_t i = 0; i < n; i++) {
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
	int rc = db_step(s);
	if (rc >= 0 && changes)
		*changes = db_changes(s);
	db_done(s);
	return rc;
}
