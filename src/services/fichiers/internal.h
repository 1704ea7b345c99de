/*
 * internal.h - what the fichiers service's files share (never included outside the folder).
 */
#ifndef ENT_FICHIERS_INTERNAL_H
#define ENT_FICHIERS_INTERNAL_H

#include <stdint.h>

#include "blob/blob.h"
#include "core/http.h"
#include "store/db.h"

/* The process-wide blob store, opened by the service's start hook. */
extern blob_store *fichiers_store;

/* Limits read at start: ENT_MAX_UPLOAD (default 100 MiB) and ENT_QUOTA (default 2 GiB). */
extern uint64_t fichiers_max_upload;
extern uint64_t fichiers_quota;

/* The metadata of one file; strings from the arena given to fichiers_load. */
struct fichier {
	char id[37];
	const char *blob_key, *owner_id, *cours_id, *name, *content_type, *sha256, *created_at;
	uint64_t size;
};

/* Loads file id. ENT_OK, ENT_ENOTFOUND, or a database error. */
int fichiers_load(db_conn *c, arena *a, const char *id, struct fichier *out);

/* Writes the JSON metadata answered by the API. */
void fichiers_write(jw *w, const struct fichier *f);

/* Bytes stored by owner_id so far (for the quota), or a negative ent_err. */
int64_t fichiers_used(db_conn *c, const char *owner_id);

/* POST /api/fichiers: the streaming body callback and the final handler (upload.c). */
int fichiers_upload_body(http_req *req, const char *data, size_t len);
void fichiers_upload(http_req *req);

/* A display name made safe: last path segment, no control characters, valid UTF-8, <= 255 bytes. */
const char *fichiers_safe_name(arena *a, const char *name);

/* The MIME type of the first bytes of a file (libmagic), copied into a. */
const char *fichiers_detect_type(arena *a, const void *data, size_t len);

/* Inserts the row of a committed blob. */
int fichiers_insert(db_conn *c, const struct fichier *f);

/* Opens the process-wide store once. 0, or an ent_err with the reason logged. */
int fichiers_store_ready(void);

/* Frees the shared libmagic handle (service stop). */
void fichiers_magic_close(void);

#endif
