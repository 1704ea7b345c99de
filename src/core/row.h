/*
 * row.h - the one row a handler is about: read it, or answer why not.
 *
 * Most handlers under /{id} start the same way: read the row, decide whether the caller may see
 * it, and answer 404 for what is absent or hidden alike (a hidden row is never told apart from a
 * missing one), or the failure when the database could not say. These two functions are that
 * start, written once; what "visible" means stays with each service.
 *
 *   db_stmt *s = row_get(req, c, "SELECT ... FROM things WHERE id = ?", id, "the thing could not be read", NULL);
 *   if (!s)
 *           return;                 // answered: 404 or the failure
 *   thing_write(http_jw(req), s);
 *   db_done(s);
 *
 *   int rc = thing_load(c, a, id, &t);
 *   if (row_verdict(req, rc, !rc && thing_visible(&v, &t), "Cette chose n'existe pas ...", "... n'a pas pu être lue."))
 *           return;
 */
#ifndef ENT_ROW_H
#define ENT_ROW_H

#include "../store/db.h"
#include "http.h"

/*
 * Prepares sql (one parameter: the id), binds id and steps. Returns the statement on its row (the
 * caller reads it, then calls db_done), or NULL after answering: the failure (http_problem_err with
 * detail), or, when there is no row, 404 with not_found as its detail (not_found NULL: the 404 of
 * http_problem_err(req, ENT_ENOTFOUND, detail)).
 */
db_stmt *row_get(http_req *req, db_conn *c, const char *sql, const char *id, const char *detail, const char *not_found);

/*
 * The same for a statement already prepared and bound (SQL_PREP, core/sql.h), such as one that
 * narrows the row to the caller's: s NULL (the statement could not be prepared) answers the
 * failure. Returns s on its row, or NULL after answering.
 *
 *   db_stmt *s = row_step(req, SQL_PREP(c, "SELECT ... WHERE id = ? AND user_id = ?", SQL_T(id), SQL_T(me)),
 *                         "... n'a pas pu être lue.", "Cette chose n'existe pas.");
 */
db_stmt *row_step(http_req *req, db_stmt *s, const char *detail, const char *not_found);

/*
 * The answer to loading a row for the caller. rc is the load's outcome (ENT_OK, ENT_ENOTFOUND or
 * another ent_err) and visible whether the caller may see the row (only read when rc is ENT_OK).
 * Returns 0 when the handler goes on, or -1 after answering 404 with not_found (absent or not
 * visible) or the failure with failed (http_problem_err).
 */
int row_verdict(http_req *req, int rc, int visible, const char *not_found, const char *failed);

#endif
