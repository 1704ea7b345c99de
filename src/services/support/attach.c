/*
 * attach.c - a ticket's attachments: files of the fichiers service (a screenshot, a document).
 *
 * A user uploads the file through /api/fichiers (it is theirs), then attaches it to the ticket
 * (POST /tickets/{id}/attachments) or to an answer (file_ids of POST /tickets/{id}/comments).
 * support_attachments keeps the file id with its name, type and size as attached (files never
 * change) and whether it came with an internal note. The bytes stay in fichiers: they are sent by
 * GET /tickets/{id}/attachments/{file_id} (fichiers_send), and fichiers asks this service (the
 * .file_readable hook, sup_file_readable) whether a caller may read the file at
 * /api/fichiers/{id}/content. Who may: those who see the ticket (its requester, its staff); a
 * file of an internal note, its staff only; anyone else gets 404, as for a file that is not there.
 */
#include "internal.h"

#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "core/page.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/fichiers/fichiers.h"
#include "services/users/users.h"

#define ATTACH_COLS "file_id, comment_id, internal, added_by, name, content_type, size, created_at"

/* sup_attach_check's reading of file_ids: 0 (errors added to errors) or an ent_err. */
static int check_files(db_conn *c, arena *a, const char *ticket_id, const char *user, const json_t *body,
		       json_t *errors, const char ***ids, size_t *n)
{
	*ids = NULL;
	*n = 0;
	const json_t *list = json_object_get(body, "file_ids");
	if (!json_is_array(list) || json_object_get(errors, "file_ids"))
		return ENT_OK; /* absent (json_check said if it was not a list) */
	size_t k = json_array_size(list);
	db_stmt *s = SQL_PREP(c, "SELECT COUNT(*) FROM support_attachments WHERE ticket_id = ?", SQL_T(ticket_id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	int64_t have = rc == DB_ROW ? db_col_int64(s, 0) : 0;
	db_done(s);
	if (rc < 0)
		return rc;
	if (have + (int64_t)k > SUP_ATTACH_MAX) {
		json_field_error(errors, "file_ids", "too_many",
				 arena_printf(a, "une demande porte %d pièces jointes au plus (elle en a déjà %lld)",
					      SUP_ATTACH_MAX, (long long)have));
		return ENT_OK;
	}
	const char **out = arena_calloc(a, k + 1, sizeof(*out));
	for (size_t i = 0; i < k; i++) {
		const char *id = json_string_value(json_array_get(list, i));
		struct fichiers_info info;
		rc = id && util_is_uuid(id) ? fichiers_info(c, a, id, &info) : ENT_ENOTFOUND;
		if (rc && rc != ENT_ENOTFOUND)
			return rc;
		int ok = !rc && !strcmp(info.owner_id, user);
		for (size_t j = 0; ok && j < i; j++)
			ok = strcmp(out[j], id) != 0;
		if (ok) {
			rc = db_exists(c, "SELECT 1 FROM support_attachments WHERE ticket_id = ? AND file_id = ?",
				       ticket_id, id);
			if (rc < 0)
				return rc;
			if (rc) {
				json_field_error(errors, "file_ids", "already_attached",
						 arena_printf(a, "« %s » est déjà jointe à cette demande", info.name));
				return ENT_OK;
			}
		}
		if (!ok) {
			json_field_error(
				errors, "file_ids", "not_yours",
				"contient un fichier qui n'est pas un des vôtres (ou qui apparaît deux fois) : "
				"envoyez d'abord le fichier, puis joignez-le");
			return ENT_OK;
		}
		out[i] = id;
	}
	*ids = out;
	*n = k;
	return ENT_OK;
}

int sup_attach_store(db_conn *c, arena *a, const char *ticket_id, const char *comment_id, int internal,
		     const char *user, const char *const *ids, size_t n)
{
	char now[21];
	int64_t us;
	sup_now(now, &us);
	for (size_t i = 0; i < n; i++) {
		struct fichiers_info info;
		int rc = fichiers_info(c, a, ids[i], &info);
		if (rc)
			return rc == ENT_ENOTFOUND ? ENT_ECONFLICT : rc; /* deleted meanwhile */
		rc = SQL_RUN(
			c,
			"INSERT INTO support_attachments (ticket_id, file_id, comment_id, internal, added_by, name,"
			" content_type, size, created_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			SQL_T(ticket_id), SQL_T(ids[i]), SQL_T(comment_id), SQL_I(internal), SQL_T(user),
			SQL_T(info.name), SQL_T(info.content_type), SQL_I((int64_t)info.size), SQL_T(now),
			SQL_I(us + (int64_t)i));
		/* A file attached to the ticket itself is a change of the ticket; an answer's is the answer's. */
		if (rc >= 0 && !comment_id)
			rc = sup_history_add(c, ticket_id, user, "attachment", NULL, info.name, now, us + (int64_t)i);
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

int sup_attach_check(http_req *req, struct sup_open *x, json_t *errors, const char ***ids, size_t *n)
{
	int rc = check_files(x->c, x->a, x->t.col[T_ID], x->v.id, x->body, errors, ids, n);
	if (rc) {
		json_decref(errors);
		http_problem_err(req, rc, NULL);
		return -1;
	}
	return http_invalid(req, errors) ? -1 : 0;
}

static void write_attachment(jw *w, db_stmt *s, void *ctx)
{
	struct sup_open *x = ctx;
	const char *by = db_col_text(s, 3), *name = NULL;
	users_names(x->c, x->a, &by, 1, &name);
	jw_obj_open(w);
	jw_kstr(w, "file_id", db_col_text(s, 0));
	jw_kstr(w, "comment_id", db_col_text(s, 1));
	jw_kbool(w, "internal", db_col_int64(s, 2) != 0);
	jw_key(w, "added_by");
	jw_obj_open(w);
	jw_kstr(w, "id", by);
	jw_kstr(w, "name", name);
	jw_obj_close(w);
	jw_kstr(w, "name", db_col_text(s, 4));
	jw_kstr(w, "content_type", db_col_text(s, 5));
	jw_kint(w, "size", db_col_int64(s, 6));
	jw_kstr(w, "created_at", db_col_text(s, 7));
	jw_obj_close(w);
}

/* Answers the attachments of x's ticket the caller may see (a requester never sees an internal note's). */
static void reply_list(http_req *req, struct sup_open *x, int status)
{
	db_stmt *s = db_prepare(x->c, "SELECT " ATTACH_COLS " FROM support_attachments WHERE ticket_id = ?"
				      " AND (internal = 0 OR ? = 1) ORDER BY seq, file_id");
	if (s) {
		db_bind_text(s, 1, x->t.col[T_ID]);
		db_bind_int64(s, 2, (x->rel & SUP_STAFF) ? 1 : 0);
	}
	sup_reply_items(req, s, write_attachment, x, status, "Les pièces jointes n'ont pas pu être lues.");
}

/* ---- GET /api/support/tickets/{id}/attachments ---- */

void sup_attachments_list(http_req *req)
{
	struct sup_open x;
	if (sup_ticket_open(req, 0, &x))
		return;
	reply_list(req, &x, 200);
}

/* ---- POST /api/support/tickets/{id}/attachments ---- */

void sup_attachments_create(http_req *req)
{
	struct sup_open x;
	if (sup_ticket_open(req, 1, &x))
		return;
	const struct jfield fields[] = {{"file_ids", JF_ARRAY, 1, 0, 1, SUP_ATTACH_MAX, NULL}};
	json_t *errors = json_object();
	json_check(x.body, fields, 1, errors);
	const char **ids;
	size_t n;
	if (sup_attach_check(req, &x, errors, &ids, &n))
		return;
	if (!strcmp(x.t.col[T_STATE], "closed")) {
		http_problem_code(
			req, 409, "ticket_closed",
			"La demande est à l'état « Clos » : on n'y joint plus rien ; ouvrez une nouvelle demande.");
		return;
	}
	int rc = db_begin(x.c);
	if (!rc) {
		rc = sup_attach_store(x.c, x.a, x.t.col[T_ID], NULL, 0, x.v.id, ids, n);
		if (rc >= 0) {
			char now[21];
			sup_now(now, NULL);
			rc = SQL_RUN(x.c, "UPDATE support_requests SET updated_at = ? WHERE id = ?", SQL_T(now),
				     SQL_T(x.t.col[T_ID]));
		}
		rc = rc < 0 ? (db_rollback(x.c), rc) : db_commit(x.c);
	}
	if (rc == ENT_ECONFLICT) {
		http_problem(req, 409, "Un des fichiers vient d'être supprimé ou joint : relisez la demande.");
		return;
	}
	if (rc) {
		http_problem_err(req, rc, "Les pièces jointes n'ont pas pu être enregistrées.");
		return;
	}
	sup_live(x.t.col[T_ID], "attachment", 0);
	reply_list(req, &x, 201);
}

/* ---- GET /api/support/tickets/{id}/attachments/{file_id} ---- */

void sup_attachment_get(http_req *req)
{
	struct sup_open x;
	if (sup_ticket_open(req, 0, &x))
		return;
	const char *file = http_param(req, "file_id");
	int rc = 0;
	if (util_is_uuid(file)) {
		rc = SQL_RUN(
			x.c,
			"SELECT 1 FROM support_attachments WHERE ticket_id = ? AND file_id = ? AND (internal = 0 OR ? = 1)",
			SQL_T(x.t.col[T_ID]), SQL_T(file), SQL_I((x.rel & SUP_STAFF) ? 1 : 0));
		rc = rc == DB_ROW ? 1 : rc < 0 ? rc : 0;
	}
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	if (!rc) {
		http_problem(req, 404, "Ce fichier n'est pas joint à cette demande ou ne vous est pas visible.");
		return;
	}
	fichiers_send(req, file);
}

/* ---- the .file_readable hook ---- */

int sup_file_readable(db_conn *c, const char *cours_id, const char *file_id, const char *user_id, unsigned roles)
{
	(void)cours_id;
	if (!c || !file_id || !util_is_uuid(file_id))
		return 0;
	db_stmt *s = SQL_PREP(c,
			      "SELECT " SUP_TICKET_COLS ", a.internal FROM support_attachments a"
			      " JOIN support_requests t ON t.id = a.ticket_id WHERE a.file_id = ?",
			      SQL_T(file_id));
	if (!s)
		return ENT_EDB;
	struct sup_viewer v = {.id = user_id, .roles = roles, .admin = (roles & ROLE_ADMIN) != 0};
	arena *a = arena_new(4096);
	int rc, yes = 0;
	while (!yes && (rc = db_step(s)) == DB_ROW) {
		struct sup_ticket t;
		sup_ticket_read(s, a, &t);
		int rel = sup_relation(&v, &t), internal = db_col_int64(s, T_NCOLS) != 0;
		yes = rel && (!internal || (rel & SUP_STAFF));
	}
	db_done(s);
	arena_free(a);
	return yes ? 1 : rc < 0 ? rc : 0;
}
