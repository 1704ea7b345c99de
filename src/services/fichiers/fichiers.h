/*
 * fichiers.h - the C interface of the fichiers service (the seed's service-fichiers).
 *
 * The fichiers service owns the table `fichiers` and the blob store (ENT_BLOB): every file's
 * bytes live in the store under a server-generated key, its metadata in the table. The cours
 * service attaches uploaded files to its materials and sends them through these functions; it
 * never touches the table or the store itself.
 *
 * Every function takes the caller's database connection (app_db()).
 */
#ifndef ENT_FICHIERS_H
#define ENT_FICHIERS_H

#include <stdint.h>

#include "core/arena.h"
#include "core/http.h"
#include "store/db.h"

/*
 * Attaches the file file_id, owned by owner_id and not attached yet, to course cours_id.
 * ENT_OK, ENT_ENOTFOUND (no such file of that owner, or already attached), or a database error.
 */
int fichiers_attach(db_conn *c, const char *file_id, const char *owner_id, const char *cours_id);

/*
 * Deletes the file's row, then its blob (a blob left behind by a storage error is logged).
 * Deleting an absent file succeeds.
 */
int fichiers_delete(db_conn *c, const char *file_id);

/*
 * Answers req with the file's content (Range, ETag, If-None-Match, Content-Disposition handled
 * as for GET /api/fichiers/{id}/content). The caller has checked the access. 404 when absent.
 */
void fichiers_send(http_req *req, const char *file_id);

/*
 * Whether the user may read file_id: its owner, an admin, or whom a service that attached it lets
 * read it (a member of its course, see cours_file_readable; the holders of a message it is
 * attached to; a student who sees a homework it is attached to; who sees a support ticket it is
 * attached to). 1 yes, 0 no, or a negative ent_err (deny).
 */
int fichiers_readable(db_conn *c, const char *file_id, const char *user_id, unsigned roles);

/* What other services show of a file (strings in the arena a). */
struct fichiers_info {
	const char *owner_id, *name, *content_type;
	uint64_t size;
};

/* The owner, name, type and size of file_id: ENT_OK, ENT_ENOTFOUND, or a database error. */
int fichiers_info(db_conn *c, arena *a, const char *file_id, struct fichiers_info *out);

/*
 * Stores len bytes as a new file of owner_id named name (display only), not attached to any
 * course; the type is detected from the bytes. Opens the blob store (ENT_BLOB) if this process
 * has not yet (e.g. `ent demo`). ENT_OK with the new id in id_out, or an ent_err (nothing left).
 */
int fichiers_create(db_conn *c, const char *owner_id, const char *name, const void *data, size_t len, char id_out[37]);

/*
 * Reads the whole content of file_id (at most max bytes) into out, which it initialises (the caller
 * frees it with buf_free), and its detected MIME type into type (copied, at most typelen bytes).
 * For other services that process a file's text (the chatbot's indexing); the caller decides who
 * may see what it derives. ENT_OK, ENT_ENOTFOUND (no such file or no stored object), ENT_ETOOBIG
 * (larger than max), or a storage or database error.
 */
int fichiers_read(db_conn *c, const char *file_id, size_t max, buf *out, char *type, size_t typelen);

/* What other services may know of a file. Strings in the arena given to fichiers_meta. */
struct fichiers_meta {
	char id[37];
	const char *owner_id, *name, *content_type;
	uint64_t size;
};

/* The metadata of file_id (no access check: the caller decides). ENT_OK, ENT_ENOTFOUND, or an error. */
int fichiers_meta(db_conn *c, arena *a, const char *file_id, struct fichiers_meta *out);

#endif
