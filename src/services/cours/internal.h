/*
 * internal.h - what the cours service's files share (never included outside the folder).
 */
#ifndef ENT_COURS_INTERNAL_H
#define ENT_COURS_INTERNAL_H

#include <jansson.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/http.h"
#include "core/json.h"
#include "store/db.h"
#include "cours.h"

/*
 * Resolves the course of the path parameter {id} for the caller: answers 404 (absent or not
 * visible), 403 (visible but need is COURS_EDIT) or 5xx itself and returns -1; otherwise returns
 * the caller's access level.
 */
int cours_for_request(http_req *req, int need);

/* The current time as RFC 3339 into out. */
void cours_now(char out[21]);

/* Materials routes (materials.c). */
void materials_list(http_req *req);
void materials_create(http_req *req);
void materials_get(http_req *req);
void materials_patch(http_req *req);
void materials_delete(http_req *req);
void materials_order(http_req *req);
void materials_file(http_req *req);
void materials_views(http_req *req);

/*
 * Before a course is deleted, inside the caller's transaction: publishes "material.deleted" for
 * each of its materials with a file and detaches the files, whose ids go to *files (arena a) for
 * the caller to delete with fichiers_delete() once committed. Returns how many, or an ent_err.
 */
int materials_course_deleting(db_conn *c, arena *a, const char *cours_id, const char ***files);

/* GDPR hooks for consultations (materials.c). */
int cours_export_user(db_conn *c, const char *user_id, json_t *out);

/* The fields of a material's body (POST and PATCH; the POST also requires a title). */
#define COURS_NMAT 6
extern const struct jfield cours_mat_fields[COURS_NMAT];
int cours_erase_user(db_conn *c, const char *user_id);

/*
 * After a change of material mid inside the caller's transaction, publishes its event:
 * "material.published" when it has a file, "material.deleted" when it had one (had_file) and has
 * none now (materials.c). 0 or an ent_err.
 */
int cours_material_publish_state(db_conn *c, const char *mid, int had_file);

/* The demo courses (demo.c). */
int cours_demo(db_conn *c, FILE *out);
/*
 * A PDF (a title page with the course, title, section and teacher, then the paragraphs; a
 * paragraph "\f" starts a new page) into out, which it initialises (the caller frees it with
 * buf_free). ENT_OK or ENT_EIO.
 */
int cours_make_pdf(const char *course, const char *title, const char *section, const char *const *paragraphs,
		   int nparagraphs, const char *teacher, buf *out);
/* The courses of `ent demo --scale` (generate.c). */
struct scale;
int cours_generate(db_conn *c, const struct scale *sc);

#endif
