/*
 * err.h - the one error enum of ENT.
 *
 * Functions that can fail return 0 (ENT_OK) or one of these negative values; ent_err_status()
 * maps each to the HTTP status a handler answers with, ent_err_str() to a short English name for
 * the logs and the operator's tools, ent_err_text() to a French sentence for an answer's reader.
 */
#ifndef ENT_ERR_H
#define ENT_ERR_H

enum ent_err {
	ENT_OK = 0,
	ENT_EINVAL = -1,     /* bad input: 400 */
	ENT_ENOTFOUND = -2,  /* absent or not visible: 404 */
	ENT_ECONFLICT = -3,  /* unique constraint, state conflict: 409 */
	ENT_EFORBIDDEN = -4, /* known caller, not allowed: 403 */
	ENT_EAUTH = -5,      /* no or bad credentials: 401 */
	ENT_ETOOBIG = -6,    /* over a size limit: 413 */
	ENT_EBUSY = -7,      /* database locked past the timeout, or rate limited: 503 */
	ENT_EDB = -8,        /* database error: 500 */
	ENT_EIO = -9,        /* file or network I/O: 500 */
	ENT_ENOMEM = -10,    /* allocation failure: 500 */
	ENT_EUNAVAIL = -11,  /* a dependency is down: 503 */
	ENT_EINTERNAL = -12, /* a bug: 500 */
};

int ent_err_status(int err);
const char *ent_err_str(int err);
/* A French sentence saying what went wrong, for a problem's detail (a static string). */
const char *ent_err_text(int err);

#endif
