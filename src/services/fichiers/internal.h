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
extern uint64_t fichiers_student_quota; /* ENT_STUDENT_QUOTA (default 100 MiB) */
/* The quota of a user with these ROLE_* bits. */
uint64_t fichiers_quota_of(unsigned roles);

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

/* POST /api/fichiers: the streaming body callback and the final handler (upload.c). */
int fichiers_upload_body(http_req *req, const char *data, size_t len);
void fichiers_upload(http_req *req);

/* A display name made safe: last path segment, no control characters, valid UTF-8, <= 255 bytes. */
const char *fichiers_safe_name(arena *a, const char *name);

/*
 * Whether type (a detected MIME type) is refused by refused, an ENT_REFUSED_TYPES value: a comma
 * list of MIME types and/or "executables" (upload.c's list of programs, installers and scripts).
 */
int fichiers_type_refused(const char *refused, const char *type);

/* The MIME type of the first bytes of a file (libmagic), copied into a. */
const char *fichiers_detect_type(arena *a, const void *data, size_t len);

/* Inserts the row of a committed blob. */
int fichiers_insert(db_conn *c, const struct fichier *f);

/* Opens the process-wide store once. 0, or an ent_err with the reason logged. */
int fichiers_store_ready(void);

/* Frees the shared libmagic handle (service stop). */
void fichiers_magic_close(void);

/* ---- trash.c: blobs deleted after the transaction that deleted their file ---- */

/* Starts and stops the sweeper thread; wakes it (after a commit that put blobs in the trash). */
void fichiers_trash_start(void);
void fichiers_trash_stop(void);
void fichiers_trash_kick(void);
/* Deletes the blobs waiting in the trash, 100 at most; returns how many, or an ent_err. */
int fichiers_trash_sweep(db_conn *c);

/* ---- quota reservations (upload.c) ---- */

/*
 * Reserves want bytes of owner's quota for an upload (want 0: whatever is left, up to max): the
 * owner's files and live reservations plus want must fit in quota. Concurrent reservations of one
 * owner are serialised by their fichiers_usage row. ENT_OK with *granted and the reservation's id
 * in id (37 bytes), ENT_ETOOBIG when it does not fit, or an ent_err. blob_key (or NULL) is the
 * object the upload writes. A reservation lasts an hour unless the upload ends first
 * (fichiers_release, or fichiers_claim with the file's insert); after it, the sweeper deletes the
 * reservation and the object it names if no file names it (a process killed between the object's
 * commit and its row).
 */
int fichiers_reserve(db_conn *c, const char *owner, uint64_t want, uint64_t max, uint64_t quota, const char *blob_key,
		     char id[37], uint64_t *granted);
void fichiers_release(db_conn *c, const char *id);
/* In the transaction that inserts the file's row: ends the reservation. ENT_ENOTFOUND when it is
 * no longer there (expired and swept: its object may be deleted, the upload must fail). */
int fichiers_claim(db_conn *c, const char *id);

#endif
