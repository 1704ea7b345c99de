/*
 * materials.c - a course's materials, their files, and the consultations of students.
 *
 * A material has a title, a description, a section and a position (the order within the
 * course), a publication time (NULL: published at once) and at most one file, uploaded first to
 * /api/fichiers by the caller and attached here (fichiers_attach). Students see only published
 * materials; a student opening a material or downloading its file adds a row to
 * consultation_cours (who, what, when). Replacing or deleting a material's file deletes the old
 * file and its blob through the fichiers service: nothing is left orphaned.
 *
 * Events (docs/bus.md), published in the transaction of the change: "material.published" when a
 * material with a file is created or changed (a new file, title or publication time), and
 * "material.deleted" when it is deleted, loses its file or its course is deleted. Both carry
 * course_id, material_id, file_id, title and publish_at (null: published at once); the chatbot
 * indexes the file's text from them. A material without a file publishes nothing.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#include "bus/bus.h"
#include "core/app.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "core/export.h"
#include "core/sql.h"
#include "services/fichiers/fichiers.h"
#include "services/users/users.h"

#define MAT_COLS                                                                                                       \
	"id, cours_id, title, description, section, position, publish_at, file_id, created_by, created_at, updated_at"

static json_t *material_row(db_stmt *s, const char *now)
{
	const char *pub = db_col_text(s, 6);
	return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:I, s:s?, s:b, s:s?, s:s, s:s, s:s}", "id", db_col_text(s, 0),
			 "cours_id", db_col_text(s, 1), "title", db_col_text(s, 2), "description", db_col_text(s, 3),
			 "section", db_col_text(s, 4), "position", (json_int_t)db_col_int64(s, 5), "publish_at", pub,
			 "published", !pub || strcmp(pub, now) <= 0, "file_id", db_col_text(s, 7), "created_by",
			 db_col_text(s, 8), "created_at", db_col_text(s, 9), "updated_at", db_col_text(s, 10));
}

/* Publishes type about one material inside the caller's transaction. 0 or an ent_err. */
static int publish(db_conn *c, const char *type, const char *cours_id, const char *mid, const char *file_id,
		   const char *title, const char *publish_at)
{
	json_t *p = json_pack("{s:s, s:s, s:s?, s:s?, s:s?}", "course_id", cours_id, "material_id", mid, "file_id",
			      file_id, "title", title, "publish_at", publish_at);
	if (!p)
		return ENT_ENOMEM;
	int rc = bus_publish(c, "cours", type, p, NULL);
	json_decref(p);
	return rc;
}

/*
 * After a change of material mid inside the caller's transaction: "material.published" with its
 * state as the transaction sees it when it has a file; "material.deleted" when it had one (had_file)
 * and has none now. 0 or an ent_err.
 */
int cours_material_publish_state(db_conn *c, const char *mid, int had_file)
{
	db_stmt *s = SQL_PREP(c, "SELECT cours_id, file_id, title, publish_at FROM materials WHERE id = ?", SQL_T(mid));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW) {
		const char *f = db_col_text(s, 1);
		if (f)
			rc = publish(c, "material.published", db_col_text(s, 0), mid, f, db_col_text(s, 2),
				     db_col_text(s, 3));
		else if (had_file)
			rc = publish(c, "material.deleted", db_col_text(s, 0), mid, NULL, db_col_text(s, 2), NULL);
		else
			rc = ENT_OK;
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/*
 * Loads material {mid} of course {id} (access already resolved as acc). Students only see it
 * once published. Answers 404 itself and returns NULL when not visible.
 */
static json_t *material_for_request(http_req *req, int acc)
{
	const char *mid = http_param(req, "mid");
	if (!util_is_uuid(mid)) {
		http_problem(req, 404, "Ce support n'existe pas.");
		return NULL;
	}
	char now[21];
	cours_now(now);
	db_stmt *s = db_prepare(app_db(), "SELECT " MAT_COLS " FROM materials WHERE id = ? AND cours_id = ?");
	if (!s) {
		http_problem_err(req, ENT_EDB, "Le support n'a pas pu être lu.");
		return NULL;
	}
	db_bind_text(s, 1, mid);
	db_bind_text(s, 2, http_param(req, "id"));
	json_t *m = NULL;
	int rc = db_step(s);
	if (rc == DB_ROW)
		m = material_row(s, now);
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, "Le support n'a pas pu être lu.");
		return NULL;
	}
	if (!m || (acc < COURS_EDIT && !json_is_true(json_object_get(m, "published")))) {
		json_decref(m);
		http_problem(req, 404, "Ce support n'existe pas.");
		return NULL;
	}
	return m;
}

/* Records a student's consultation; a failure is logged, never shown to the student. */
static void record(http_req *req, const char *mid, const char *action)
{
	const struct http_principal *p = http_principal(req);
	if (!(p->roles & ROLE_ETUDIANT))
		return;
	char id[37], now[21];
	util_uuid(id);
	cours_now(now);
	db_stmt *s = db_prepare(app_db(),
				"INSERT INTO consultation_cours (id, material_id, cours_id, user_id, action, at) "
				"VALUES (?, ?, ?, ?, ?, ?)");
	int rc = ENT_EDB;
	if (s) {
		db_bind_text(s, 1, id);
		db_bind_text(s, 2, mid);
		db_bind_text(s, 3, http_param(req, "id"));
		db_bind_text(s, 4, p->sub);
		db_bind_text(s, 5, action);
		db_bind_text(s, 6, now);
		rc = db_step(s);
		db_done(s);
	}
	if (rc < 0)
		log_error("cours: a consultation could not be recorded: %s", ent_err_str(rc));
}

static json_t *list_materials(db_conn *c, const char *cours_id, int published_only, int *err)
{
	char now[21];
	cours_now(now);
	db_stmt *s = published_only
			     ? db_prepare(c, "SELECT " MAT_COLS " FROM materials WHERE cours_id = ? AND "
					     "(publish_at IS NULL OR publish_at <= ?) ORDER BY section, position, id")
			     : db_prepare(c, "SELECT " MAT_COLS " FROM materials WHERE cours_id = ? "
					     "ORDER BY section, position, id");
	*err = ENT_EDB;
	if (!s)
		return NULL;
	db_bind_text(s, 1, cours_id);
	if (published_only)
		db_bind_text(s, 2, now);
	json_t *items = json_array();
	int rc;
	while ((rc = db_step(s)) == DB_ROW)
		json_array_append_new(items, material_row(s, now));
	db_done(s);
	if (rc < 0) {
		*err = rc;
		json_decref(items);
		return NULL;
	}
	*err = ENT_OK;
	return items;
}

void materials_list(http_req *req)
{
	int acc = cours_for_request(req, COURS_READ);
	if (acc < 0)
		return;
	int rc;
	json_t *items = list_materials(app_db(), http_param(req, "id"), acc < COURS_EDIT, &rc);
	if (!items)
		http_problem_err(req, rc, "La liste des supports n'a pas pu être lue.");
	else
		http_reply_json(req, 200, json_pack("{s:o}", "items", items));
}

const struct jfield cours_mat_fields[COURS_NMAT] = {
	{"title", JF_STRING, 0, 0, 1, 200, NULL},   {"description", JF_STRING, 0, 1, 0, 20000, NULL},
	{"section", JF_STRING, 0, 1, 0, 100, NULL}, {"position", JF_INT, 0, 0, 0, 1000000, NULL},
	{"publish_at", JF_TIME, 0, 1, 0, 0, NULL},  {"file_id", JF_UUID, 0, 1, 0, 0, NULL},
};

/* publish_at normalised to RFC 3339 UTC ("...Z"), so that text comparison orders times. */
static const char *norm_time(arena *a, const char *v)
{
	time_t t;
	if (!v || util_parse_rfc3339(v, &t))
		return NULL;
	char *out = arena_alloc(a, 21);
	util_time_rfc3339(t, out);
	return out;
}

static json_t *load_material(db_conn *c, const char *mid, int *err)
{
	char now[21];
	cours_now(now);
	db_stmt *s = db_prepare(c, "SELECT " MAT_COLS " FROM materials WHERE id = ?");
	*err = ENT_EDB;
	if (!s)
		return NULL;
	db_bind_text(s, 1, mid);
	json_t *m = NULL;
	int rc = db_step(s);
	if (rc == DB_ROW)
		m = material_row(s, now);
	db_done(s);
	*err = rc < 0 ? rc : m ? ENT_OK : ENT_ENOTFOUND;
	return m;
}

/*
 * Attaches file_id (uploaded by owner, not used yet) to the course inside the caller's
 * transaction. Returns 0; 1 after rolling back and answering 400 when it names no such file; or
 * the failure (< 0).
 */
static int attach_file(http_req *req, db_conn *c, const char *file_id, const char *owner, const char *cours_id)
{
	int rc = fichiers_attach(c, file_id, owner, cours_id);
	if (rc != ENT_ENOTFOUND)
		return rc;
	db_rollback(c);
	http_problem_errors(
		req, 400, "Certains champs du support sont à corriger.",
		json_pack("{s:s}", "file_id",
			  "ne désigne pas un fichier que vous avez déposé et qui n'est pas encore utilisé"));
	return 1;
}

void materials_create(http_req *req)
{
	if (cours_for_request(req, COURS_EDIT) < 0)
		return;
	json_t *body = http_json_body(req);
	if (!body)
		return;
	json_t *errors = json_object();
	json_check(body, cours_mat_fields, COURS_NMAT, errors);
	if (!json_object_get(body, "title"))
		json_field_error(errors, "title", "required", "est obligatoire");
	if (json_object_size(errors)) {
		http_problem_errors(req, 400, "Certains champs du support sont à corriger.", errors);
		return;
	}
	json_decref(errors);
	db_conn *c = app_db();
	arena *a = http_arena(req);
	const char *cours_id = http_param(req, "id"), *sub = http_principal(req)->sub;
	const char *section = json_get_str(body, "section", "");
	const char *file_id = json_get_str(body, "file_id", NULL);
	char id[37], now[21];
	util_uuid(id);
	cours_now(now);
	int rc = db_begin(c);
	if (rc)
		goto out;
	int64_t position = json_get_int(body, "position", -1);
	if (position < 0) {
		db_stmt *s = db_prepare(
			c, "SELECT COALESCE(MAX(position) + 1, 0) FROM materials WHERE cours_id = ? AND section = ?");
		if (!s) {
			rc = ENT_EDB;
			goto fail;
		}
		db_bind_text(s, 1, cours_id);
		db_bind_text(s, 2, section);
		rc = db_step(s);
		position = rc == DB_ROW ? db_col_int64(s, 0) : 0;
		db_done(s);
		if (rc < 0)
			goto fail;
	}
	if (file_id) {
		if ((rc = attach_file(req, c, file_id, sub, cours_id)) > 0)
			return;
		if (rc < 0)
			goto fail;
	}
	rc = SQL_RUN(c, "INSERT INTO materials (" MAT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", SQL_T(id),
		     SQL_T(cours_id), SQL_T(json_get_str(body, "title", "")),
		     SQL_T(json_get_str(body, "description", NULL)), SQL_T(section), SQL_I(position),
		     SQL_T(norm_time(a, json_get_str(body, "publish_at", NULL))), SQL_T(file_id), SQL_T(sub),
		     SQL_T(now), SQL_T(now));
	if (rc < 0)
		goto fail;
	if (file_id && (rc = cours_material_publish_state(c, id, 0)))
		goto fail;
	rc = db_commit(c);
	if (!rc && file_id)
		bus_kick();
	goto out;
fail:
	db_rollback(c);
out:
	if (rc) {
		http_problem_err(req, rc, "Le support n'a pas pu être créé.");
		return;
	}
	json_t *m = load_material(c, id, &rc);
	if (!m) {
		http_problem_err(req, rc, "Le support n'a pas pu être lu.");
		return;
	}
	http_set_header(req, "Location", arena_printf(a, "/api/cours/%s/materials/%s", cours_id, id));
	http_reply_json(req, 201, m);
}

void materials_get(http_req *req)
{
	int acc = cours_for_request(req, COURS_READ);
	if (acc < 0)
		return;
	json_t *m = material_for_request(req, acc);
	if (!m)
		return;
	record(req, http_param(req, "mid"), "view");
	http_reply_json(req, 200, m);
}

void materials_patch(http_req *req)
{
	if (cours_for_request(req, COURS_EDIT) < 0)
		return;
	json_t *old = material_for_request(req, COURS_EDIT);
	if (!old)
		return;
	json_t *body = http_json_body(req);
	if (!body) {
		json_decref(old);
		return;
	}
	json_t *errors = json_object();
	json_check(body, cours_mat_fields, COURS_NMAT, errors);
	if (json_object_size(errors)) {
		json_decref(old);
		http_problem_errors(req, 400, "Certains champs du support sont à corriger.", errors);
		return;
	}
	json_decref(errors);
	db_conn *c = app_db();
	arena *a = http_arena(req);
	const char *mid = http_param(req, "mid"), *cours_id = http_param(req, "id");
	const char *old_file = json_string_value(json_object_get(old, "file_id"));
	old_file = old_file ? arena_strdup(a, old_file) : NULL;
	json_decref(old);
	json_t *fv = json_object_get(body, "file_id");
	const char *new_file = json_string_value(fv);
	int file_changes = fv && !(new_file && old_file && strcmp(new_file, old_file) == 0) &&
			   !(json_is_null(fv) && !old_file);
	char now[21];
	cours_now(now);
	int rc = db_begin(c);
	if (rc)
		goto out;
	static const char *const cols[5] = {"title", "description", "section", "position", "publish_at"};
	static const char *const sqls[5] = {
		"UPDATE materials SET title = ?, updated_at = ? WHERE id = ?",
		"UPDATE materials SET description = ?, updated_at = ? WHERE id = ?",
		"UPDATE materials SET section = ?, updated_at = ? WHERE id = ?",
		"UPDATE materials SET position = ?, updated_at = ? WHERE id = ?",
		"UPDATE materials SET publish_at = ?, updated_at = ? WHERE id = ?",
	};
	for (int i = 0; i < 5; i++) {
		json_t *v = json_object_get(body, cols[i]);
		if (!v)
			continue;
		db_stmt *s = db_prepare(c, sqls[i]);
		if (!s) {
			rc = ENT_EDB;
			goto fail;
		}
		if (i == 3)
			db_bind_int64(s, 1, json_integer_value(v));
		else if (i == 4)
			db_bind_text_or_null(s, 1, norm_time(a, json_string_value(v)));
		else if (i == 2)
			db_bind_text(s, 1, json_is_string(v) ? json_string_value(v) : "");
		else
			db_bind_text_or_null(s, 1, json_string_value(v));
		db_bind_text(s, 2, now);
		db_bind_text(s, 3, mid);
		rc = db_step(s);
		db_done(s);
		if (rc < 0)
			goto fail;
	}
	if (file_changes) {
		if (new_file) {
			if ((rc = attach_file(req, c, new_file, http_principal(req)->sub, cours_id)) > 0)
				return;
			if (rc < 0)
				goto fail;
		}
		rc = SQL_RUN(c, "UPDATE materials SET file_id = ?, updated_at = ? WHERE id = ?", SQL_T(new_file),
			     SQL_T(now), SQL_T(mid));
		if (rc < 0)
			goto fail;
	}
	if ((rc = cours_material_publish_state(c, mid, old_file != NULL)))
		goto fail;
	rc = db_commit(c);
	if (!rc)
		bus_kick();
	if (!rc && file_changes && old_file)
		rc = fichiers_delete(c, old_file);
	goto out;
fail:
	db_rollback(c);
out:
	if (rc) {
		http_problem_err(req, rc, "Le support n'a pas pu être modifié.");
		return;
	}
	json_t *m = load_material(c, mid, &rc);
	if (!m)
		http_problem_err(req, rc, "Le support n'a pas pu être lu.");
	else
		http_reply_json(req, 200, m);
}

/*
 * Deletes one material row and its consultations in a transaction that publishes
 * "material.deleted" when it had a file, then the file once committed.
 */
static int delete_material(db_conn *c, const char *cours_id, const char *mid, const char *file_id)
{
	int rc = db_begin(c);
	if (rc)
		return rc;
	if (file_id && (rc = publish(c, "material.deleted", cours_id, mid, file_id, NULL, NULL)))
		goto fail;
	if ((rc = db_run(c, "DELETE FROM consultation_cours WHERE material_id = ?", mid, NULL)) ||
	    (rc = db_run(c, "DELETE FROM materials WHERE id = ?", mid, NULL)))
		goto fail;
	if ((rc = db_commit(c)))
		goto fail;
	if (file_id)
		bus_kick();
	return file_id ? fichiers_delete(c, file_id) : ENT_OK;
fail:
	db_rollback(c);
	return rc;
}

void materials_delete(http_req *req)
{
	if (cours_for_request(req, COURS_EDIT) < 0)
		return;
	json_t *m = material_for_request(req, COURS_EDIT);
	if (!m)
		return;
	const char *f = json_string_value(json_object_get(m, "file_id"));
	int rc = delete_material(app_db(), http_param(req, "id"), http_param(req, "mid"),
				 f ? arena_strdup(http_arena(req), f) : NULL);
	json_decref(m);
	if (rc)
		http_problem_err(req, rc, "Le support n'a pas pu être supprimé.");
	else
		http_reply_empty(req, 204);
}

int materials_course_deleting(db_conn *c, arena *a, const char *cours_id, const char ***files)
{
	*files = NULL;
	db_stmt *s = db_prepare(
		c, "SELECT id, file_id FROM materials WHERE cours_id = ? AND file_id IS NOT NULL ORDER BY id");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, cours_id);
	const char **mids = NULL;
	size_t n = 0, cap = 0, fcap = 0, nf = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		mids = arena_grow(a, mids, n, &cap, sizeof(*mids));
		*files = arena_grow(a, *files, nf, &fcap, sizeof(**files));
		mids[n++] = arena_strdup(a, db_col_text(s, 0));
		(*files)[nf++] = arena_strdup(a, db_col_text(s, 1));
	}
	db_done(s);
	for (size_t i = 0; rc >= 0 && i < n; i++)
		rc = publish(c, "material.deleted", cours_id, mids[i], (*files)[i], NULL, NULL);
	if (rc >= 0)
		rc = db_run(c, "UPDATE materials SET file_id = NULL WHERE cours_id = ?", cours_id, NULL);
	return rc < 0 ? rc : (int)nf;
}

void materials_order(http_req *req)
{
	if (cours_for_request(req, COURS_EDIT) < 0)
		return;
	json_t *body = http_json_body(req);
	if (!body)
		return;
	static const struct jfield f[] = {{"ids", JF_ARRAY, 1, 0, 1, 10000, NULL}};
	json_t *errors = json_object();
	json_check(body, f, 1, errors);
	json_t *ids = json_object_get(body, "ids");
	size_t i;
	json_t *v;
	if (!json_object_size(errors))
		json_array_foreach (ids, i, v)
			if (!json_is_string(v) || !util_is_uuid(json_string_value(v)))
				json_field_error(errors, "ids", "not_list",
						 "doit être une liste d'identifiants de supports");
	if (json_object_size(errors)) {
		http_problem_errors(req, 400, "L'ordre demandé est invalide.", errors);
		return;
	}
	json_decref(errors);
	db_conn *c = app_db();
	const char *cours_id = http_param(req, "id");
	char now[21];
	cours_now(now);
	int rc = db_begin(c);
	if (rc) {
		http_problem_err(req, rc, "Les supports n'ont pas pu être réordonnés.");
		return;
	}
	json_array_foreach (ids, i, v) {
		db_stmt *s = db_prepare(
			c, "UPDATE materials SET position = ?, updated_at = ? WHERE id = ? AND cours_id = ?");
		if (!s) {
			rc = ENT_EDB;
			break;
		}
		db_bind_int64(s, 1, (int64_t)i);
		db_bind_text(s, 2, now);
		db_bind_text(s, 3, json_string_value(v));
		db_bind_text(s, 4, cours_id);
		rc = db_step(s);
		int64_t n = rc >= 0 ? db_changes(s) : 0;
		db_done(s);
		if (rc < 0)
			break;
		if (n != 1) {
			db_rollback(c);
			http_problem_errors(
				req, 400, "L'ordre demandé est invalide.",
				json_pack("{s:s}", "ids", "contient un support qui n'est pas dans ce cours"));
			return;
		}
		rc = ENT_OK;
	}
	if (rc < 0 || (rc = db_commit(c))) {
		db_rollback(c);
		http_problem_err(req, rc, "Les supports n'ont pas pu être réordonnés.");
		return;
	}
	json_t *items = list_materials(c, cours_id, 0, &rc);
	if (!items)
		http_problem_err(req, rc, "La liste des supports n'a pas pu être lue.");
	else
		http_reply_json(req, 200, json_pack("{s:o}", "items", items));
}

/*
 * The file of material {mid} of course {id} into fid ("" when it has none), with the visibility
 * rule of material_for_request, which answers the same 404s: a download reads two columns rather
 * than building the whole material. 0, or -1 when an answer has been sent.
 */
static int material_file_for_request(http_req *req, int acc, char fid[37])
{
	const char *mid = http_param(req, "mid");
	if (!util_is_uuid(mid)) {
		http_problem(req, 404, "Ce support n'existe pas.");
		return -1;
	}
	char now[21];
	cours_now(now);
	db_stmt *s = db_prepare(app_db(), "SELECT file_id, publish_at FROM materials WHERE id = ? AND cours_id = ?");
	if (!s) {
		http_problem_err(req, ENT_EDB, "Le support n'a pas pu être lu.");
		return -1;
	}
	db_bind_text(s, 1, mid);
	db_bind_text(s, 2, http_param(req, "id"));
	int rc = db_step(s), visible = 0;
	fid[0] = '\0';
	if (rc == DB_ROW) {
		const char *f = db_col_text(s, 0), *pub = db_col_text(s, 1);
		visible = acc >= COURS_EDIT || !pub || strcmp(pub, now) <= 0;
		if (f)
			snprintf(fid, 37, "%s", f);
	}
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, "Le support n'a pas pu être lu.");
		return -1;
	}
	if (!visible) {
		http_problem(req, 404, "Ce support n'existe pas.");
		return -1;
	}
	return 0;
}

void materials_file(http_req *req)
{
	int acc = cours_for_request(req, COURS_READ);
	if (acc < 0)
		return;
	char fid[37];
	if (material_file_for_request(req, acc, fid))
		return;
	if (!fid[0]) {
		http_problem(req, 404, "Ce support n'a pas de fichier.");
		return;
	}
	/* A conditional or ranged request is still a consultation: record it once per answer. */
	record(req, http_param(req, "mid"), "download");
	fichiers_send(req, fid);
}

void materials_views(http_req *req)
{
	if (cours_for_request(req, COURS_EDIT) < 0)
		return;
	json_t *m = material_for_request(req, COURS_EDIT);
	if (!m)
		return;
	json_decref(m);
	db_conn *c = app_db();
	arena *a = http_arena(req);
	const char *mid = http_param(req, "mid"), *cours_id = http_param(req, "id");
	/* The students of the course's classes, from the users service. */
	json_t *students = json_object(); /* id -> 1 */
	db_stmt *s = db_prepare(c, "SELECT class_id FROM cours_classes WHERE cours_id = ? ORDER BY class_id");
	int rc = ENT_EDB;
	json_t *classes = json_array();
	if (s) {
		db_bind_text(s, 1, cours_id);
		while ((rc = db_step(s)) == DB_ROW)
			json_array_append_new(classes, json_string(db_col_text(s, 0)));
		db_done(s);
	}
	size_t i;
	json_t *v;
	json_array_foreach (classes, i, v) {
		if (rc < 0)
			break;
		char **ids = NULL;
		int n = users_class_members(c, a, json_string_value(v), &ids);
		if (n < 0) {
			rc = n;
			break;
		}
		for (int k = 0; k < n; k++)
			json_object_set_new(students, ids[k], json_true());
	}
	json_decref(classes);
	json_t *viewed = json_array(), *not_viewed = json_array(), *seen = json_object();
	if (rc >= 0) {
		s = db_prepare(c,
			       "SELECT user_id, MIN(at) FROM consultation_cours WHERE material_id = ? GROUP BY user_id "
			       "ORDER BY MIN(at), user_id");
		rc = ENT_EDB;
		if (s) {
			db_bind_text(s, 1, mid);
			while ((rc = db_step(s)) == DB_ROW) {
				const char *uid = db_col_text(s, 0);
				struct user u;
				const char *name = users_get(c, a, uid, &u) == ENT_OK ? u.official_name : NULL;
				json_array_append_new(viewed, json_pack("{s:s, s:s?, s:s}", "id", uid, "name", name,
									"first_at", db_col_text(s, 1)));
				json_object_set_new(seen, uid, json_true());
			}
			db_done(s);
		}
	}
	if (rc >= 0) {
		const char *uid;
		json_object_foreach (students, uid, v) {
			if (json_object_get(seen, uid))
				continue;
			struct user u;
			const char *name = users_get(c, a, uid, &u) == ENT_OK ? u.official_name : NULL;
			json_array_append_new(not_viewed, json_pack("{s:s, s:s?}", "id", uid, "name", name));
		}
	}
	size_t total = json_object_size(students);
	json_decref(students);
	json_decref(seen);
	if (rc < 0) {
		json_decref(viewed);
		json_decref(not_viewed);
		http_problem_err(req, rc, "Les consultations n'ont pas pu être lues.");
		return;
	}
	http_reply_json(req, 200,
			json_pack("{s:s, s:I, s:I, s:o, s:o}", "material_id", mid, "viewed_count",
				  (json_int_t)json_array_size(viewed), "students_total", (json_int_t)total, "viewed",
				  viewed, "not_viewed", not_viewed));
}

int cours_export_user(db_conn *c, const char *user_id, json_t *out)
{
	json_t *items = json_array();
	int rc = EXPORT_ROWS(c, items, "material_id cours_id action at",
			     "SELECT material_id, cours_id, action, at FROM consultation_cours WHERE user_id = ?"
			     " ORDER BY at, id",
			     SQL_T(user_id));
	return export_put(out, "cours", rc, "consultations", items, NULL);
}

int cours_erase_user(db_conn *c, const char *user_id)
{
	db_stmt *s = SQL_PREP(c, "DELETE FROM consultation_cours WHERE user_id = ?", SQL_T(user_id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}
