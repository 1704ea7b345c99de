/*
 * attach.c - attachments: files of the fichiers service carried by a message or a draft.
 *
 * A sender attaches files they uploaded through /api/fichiers (their own), or, when forwarding,
 * the files of a message they hold. message_attachments keeps the file id with its name, type and
 * size as sent (files never change). The bytes stay in fichiers: a recipient downloads them at
 * /api/fichiers/{id}/content, and fichiers asks this service (the .file_readable hook,
 * msg_file_readable) whether the caller holds a visible copy of a message carrying the file. So
 * a recipient (bcc included) and the sender may read it, nobody else; a recalled copy, or one
 * not yet delivered (scheduled), gives no access.
 */
#include "internal.h"

#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/fichiers/fichiers.h"

/* 1 when user holds a visible copy of a message carrying file_id; 0; or an ent_err. */
static int held(db_conn *c, const char *file_id, const char *user)
{
	return db_exists(c,
			 "SELECT 1 FROM message_attachments a JOIN message_boxes b ON b.message_id = a.message_id"
			 " WHERE a.file_id = ? AND b.user_id = ? AND b.visible = 1",
			 file_id, user);
}

int msg_file_readable(db_conn *c, const char *cours_id, const char *file_id, const char *user_id, unsigned roles)
{
	(void)cours_id;
	(void)roles;
	if (!c || !util_is_uuid(file_id))
		return 0;
	return held(c, file_id, user_id);
}

int msg_attach_check(db_conn *c, arena *a, const char *user, const char *const *ids, size_t n, struct msg_file **out,
		     int *bad)
{
	*out = arena_calloc(a, n ? n : 1, sizeof(**out));
	*bad = -1;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++)
			if (!strcmp(ids[i], ids[j])) {
				*bad = (int)i;
				return ENT_ECONFLICT;
			}
		struct fichiers_meta f;
		int rc = fichiers_meta(c, a, ids[i], &f);
		if (rc == ENT_ENOTFOUND) {
			*bad = (int)i;
			return ENT_EINVAL;
		}
		if (rc)
			return rc;
		if (strcmp(f.owner_id, user)) {
			rc = held(c, ids[i], user);
			if (rc < 0)
				return rc;
			if (!rc) {
				*bad = (int)i;
				return ENT_EINVAL;
			}
		}
		(*out)[i].id = arena_strdup(a, f.id);
		(*out)[i].name = f.name;
		(*out)[i].content_type = f.content_type;
		(*out)[i].size = (int64_t)f.size;
	}
	return ENT_OK;
}

int msg_attach_store(db_conn *c, const char *message_id, const struct msg_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = SQL_RUN(c,
				 "INSERT INTO message_attachments (message_id, position, file_id, name,"
				 " content_type, size) VALUES (?, ?, ?, ?, ?, ?)",
				 SQL_T(message_id), SQL_I((int64_t)i), SQL_T(f[i].id), SQL_T(f[i].name),
				 SQL_T(f[i].content_type), SQL_I(f[i].size));
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

int msg_attach_load(db_conn *c, arena *a, const char *message_id, struct msg_file **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0;
	db_stmt *s = SQL_PREP(c,
			      "SELECT file_id, name, content_type, size FROM message_attachments"
			      " WHERE message_id = ? ORDER BY position",
			      SQL_T(message_id));
	if (!s)
		return ENT_EDB;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		*out = arena_grow(a, *out, *n, &cap, sizeof(**out));
		struct msg_file *f = &(*out)[(*n)++];
		f->id = arena_strdup(a, db_col_text(s, 0));
		f->name = arena_strdup(a, db_col_text(s, 1));
		f->content_type = arena_strdup(a, db_col_text(s, 2));
		f->size = db_col_int64(s, 3);
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

void msg_attach_write(jw *w, const struct msg_file *f, size_t n)
{
	jw_key(w, "attachments");
	jw_arr_open(w);
	for (size_t i = 0; i < n; i++) {
		jw_obj_open(w);
		jw_kstr(w, "id", f[i].id);
		jw_kstr(w, "name", f[i].name);
		jw_kstr(w, "content_type", f[i].content_type);
		jw_kint(w, "size", f[i].size);
		jw_obj_close(w);
	}
	jw_arr_close(w);
}
