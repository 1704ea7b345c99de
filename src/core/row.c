/*
 * row.c - reading the one row of a handler, or answering why not (see row.h).
 */
#include "row.h"

#include "err.h"
#include "sql.h"

db_stmt *row_get(http_req *req, db_conn *c, const char *sql, const char *id, const char *detail, const char *not_found)
{
	return row_step(req, SQL_PREP(c, sql, SQL_T(id)), detail, not_found);
}

db_stmt *row_step(http_req *req, db_stmt *s, const char *detail, const char *not_found)
{
	if (!s) {
		http_problem_err(req, ENT_EDB, detail);
		return NULL;
	}
	int rc = db_step(s);
	if (rc == DB_ROW)
		return s;
	db_done(s);
	if (rc < 0 || !not_found)
		http_problem_err(req, rc < 0 ? rc : ENT_ENOTFOUND, detail);
	else
		http_problem(req, 404, not_found);
	return NULL;
}

int row_verdict(http_req *req, int rc, int visible, const char *not_found, const char *failed)
{
	if (rc == ENT_ENOTFOUND || (rc == ENT_OK && !visible)) {
		http_problem(req, 404, not_found);
		return -1;
	}
	if (rc) {
		http_problem_err(req, rc, failed);
		return -1;
	}
	return 0;
}
