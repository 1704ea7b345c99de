/*
 * classes.c - the /api/users/classes routes: classes of a school year and their members.
 *
 * A class is (name, school_year), unique together. Membership rows carry the member's role
 * ("kind"): a student belongs to one class at most (a partial unique index on class_members
 * enforces it even under concurrent requests), while teachers and administrators may be attached
 * to several classes. Putting a student in a class moves them out of their previous one.
 * Teachers read classes and their members; only administrators change them.
 */
#include "internal.h"

#include "core/app.h"
#include "core/err.h"
#include "core/json.h"
#include "core/page.h"
#include "core/row.h"
#include "core/util.h"
#include "core/sql.h"

#include <string.h>

#define CLASS_COLS                                                                                                     \
	"c.id, c.name, c.school_year, c.level, c.created_at, c.updated_at,"                                            \
	" (SELECT COUNT(*) FROM class_members m WHERE m.class_id = c.id AND m.kind = 'etudiant'),"                     \
	" (SELECT COUNT(*) FROM class_members m WHERE m.class_id = c.id)"

static void class_write(jw *w, db_stmt *s, void *unused)
{
	(void)unused;
	jw_obj_open(w);
	jw_kstr(w, "id", db_col_text(s, 0));
	jw_kstr(w, "name", db_col_text(s, 1));
	jw_kstr(w, "school_year", db_col_text(s, 2));
	jw_kstr(w, "level", db_col_text(s, 3));
	jw_kstr(w, "created_at", db_col_text(s, 4));
	jw_kstr(w, "updated_at", db_col_text(s, 5));
	jw_kint(w, "student_count", db_col_int64(s, 6));
	jw_kint(w, "member_count", db_col_int64(s, 7));
	jw_obj_close(w);
}

/* The same as a tree, for the handlers that add members or read fields back. */
static json_t *class_json(db_stmt *s)
{
	jwbuf j;
	class_write(jwbuf_init(&j, 0), s, NULL);
	return json_from_buf(&j.b);
}

/* The class {id} as JSON, or NULL after answering 404 (or a database problem). */
static json_t *load_class(http_req *req, db_conn *c, const char *id)
{
	if (!id || !util_is_uuid(id)) {
		http_problem(req, 404, "classe introuvable");
		return NULL;
	}
	db_stmt *s = row_step(req, SQL_PREP(c, "SELECT " CLASS_COLS " FROM classes c WHERE c.id = ?", SQL_T(id)), NULL,
			      "classe introuvable");
	if (!s)
		return NULL;
	json_t *out = class_json(s);
	db_done(s);
	return out;
}

/* The database and the class {id} of the route, or NULL after answering (503, 404). */
static json_t *class_open(http_req *req, db_conn **c)
{
	*c = http_db(req);
	return *c ? load_class(req, *c, http_param(req, "id")) : NULL;
}

/* Ends the transaction of a change whose outcome is rc: commits and answers 204, or rolls back and answers the failure. */
static void commit_reply(http_req *req, db_conn *c, int rc)
{
	if ((rc = db_end(c, rc))) {
		http_problem_err(req, rc, NULL);
		return;
	}
	http_reply_empty(req, 204);
}

void classes_api_list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "classes", 3))
		return;
	const char *year = http_query(req, "school_year");
	json_t *errors = json_object();
	if (year && !users_valid_school_year(year))
		json_field_error(errors, "school_year", "not_school_year",
				 "doit être une année scolaire comme 2026-2027");
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	/* Newest school year first, then by name. */
	db_stmt *s = SQL_PREP(c,
			      "SELECT " CLASS_COLS " FROM classes c"
			      " WHERE (CAST(? AS TEXT) IS NULL OR c.school_year = ?)"
			      " AND (CAST(? AS TEXT) IS NULL OR c.school_year < ?"
			      " OR (c.school_year = ? AND (c.name > ? OR (c.name = ? AND c.id > ?))))"
			      " ORDER BY c.school_year DESC, c.name, c.id LIMIT ?",
			      SQL_T(year), SQL_T(year), SQL_T(pg.after[2]), SQL_T(pg.after[0]), SQL_T(pg.after[0]),
			      SQL_T(pg.after[1]), SQL_T(pg.after[1]), SQL_T(pg.after[2]), SQL_I(page_fetch(&pg)));
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	static const char *const keep[] = {"school_year", "limit", NULL};
	page_rows(&pg, s, (const int[]){2, 1, 0}, class_write, NULL, NULL, keep);
}

const struct jfield users_class_fields[] = {
	{"name", JF_STRING, 1, 0, 1, USERS_NAME_MAX, NULL},
	{"school_year", JF_STRING, 0, 0, 9, 9, NULL},
	{"level", JF_STRING, 0, 1, 1, 50, NULL},
};

/* Validates a class body; required says whether name is required (create) or not (patch). */
static int check_class_body(http_req *req, json_t *body, int required)
{
	struct jfield f[3];
	memcpy(f, users_class_fields, sizeof(f));
	f[0].required = required;
	json_t *errors = json_object();
	json_check(body, f, 3, errors);
	const char *year = json_get_str(body, "school_year", NULL);
	if (year && !json_object_get(errors, "school_year") && !users_valid_school_year(year))
		json_field_error(errors, "school_year", "not_school_year",
				 "doit être une année scolaire comme 2026-2027");
	static const char *const texts[] = {"name", "level", NULL};
	for (const char *const *n = texts; *n; n++) {
		const char *v = json_get_str(body, *n, NULL);
		if (v && !json_object_get(errors, *n) && !util_valid_text(v))
			json_field_error(errors, *n, "control_chars", "ne doit pas contenir de caractères de contrôle");
	}
	return http_invalid(req, errors) ? -1 : 0;
}

/*
 * Answers the write of class id whose outcome is rc: 409 for a name the school year already has,
 * the failure, or the class as it is now with status (201 with its Location).
 */
static void class_saved(http_req *req, db_conn *c, int rc, const char *id, int status)
{
	if (rc == ENT_ECONFLICT) {
		json_t *e = json_object();
		json_field_error(e, "name", "class_name_taken",
				 "une classe porte déjà ce nom pour cette année scolaire");
		http_problem_errors(req, 409, "une classe porte déjà ce nom pour cette année scolaire", e);
		return;
	}
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	json_t *out = load_class(req, c, id);
	if (!out)
		return;
	if (status == 201)
		http_set_header(req, "Location", arena_printf(http_arena(req), "/api/users/classes/%s", id));
	http_reply_json(req, status, out);
}

void classes_api_create(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body || check_class_body(req, body, 1))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	char year[10], id[37], now[21];
	const char *y = json_get_str(body, "school_year", NULL);
	if (y)
		snprintf(year, sizeof(year), "%s", y);
	else
		users_school_year(users_clock(), year);
	util_uuid(id);
	users_time(now, 0);
	int rc = SQL_RUN(
		c,
		"INSERT INTO classes (id, name, school_year, level, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
		SQL_T(id), SQL_T(json_get_str(body, "name", NULL)), SQL_T(year),
		SQL_T(json_get_str(body, "level", NULL)), SQL_T(now), SQL_T(now));
	class_saved(req, c, rc, id, 201);
}

void classes_api_get(http_req *req)
{
	db_conn *c;
	json_t *out = class_open(req, &c);
	if (!out)
		return;
	const char *id = http_param(req, "id");
	const struct http_principal *p = http_principal(req);
	int admin = p && (p->roles & ROLE_ADMIN);
	db_stmt *s = db_prepare(c,
				"SELECT u.id, u.given_name, u.family_name, u.display_name, u.role, u.email, u.disabled,"
				" CASE WHEN k.password_hash IS NULL THEN 0 ELSE 1 END"
				" FROM class_members m JOIN users u ON u.id = m.user_id"
				" LEFT JOIN user_credentials k ON k.user_id = u.id"
				" WHERE m.class_id = ? AND u.deleted_at IS NULL"
				" ORDER BY CASE WHEN m.kind = 'etudiant' THEN 1 ELSE 0 END, u.sort_key, u.id");
	if (!s) {
		json_decref(out);
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	db_bind_text(s, 1, id);
	json_t *members = json_array();
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *given = db_col_text(s, 1), *family = db_col_text(s, 2), *display = db_col_text(s, 3);
		json_t *m = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s?}", "id", db_col_text(s, 0), "given_name", given,
				      "family_name", family, "display_name", display, "role", db_col_text(s, 4),
				      "email", db_col_text(s, 5));
		json_object_set_new(m, "name",
				    display ? json_string(display)
					    : json_string(arena_printf(http_arena(req), "%s %s", given, family)));
		if (admin) {
			json_object_set_new(m, "disabled", json_boolean(db_col_int64(s, 6) != 0));
			json_object_set_new(m, "active", json_boolean(db_col_int64(s, 7) != 0));
		}
		json_array_append_new(members, m);
	}
	db_done(s);
	if (rc < 0) {
		json_decref(members);
		json_decref(out);
		http_problem_err(req, rc, NULL);
		return;
	}
	json_object_set_new(out, "members", members);
	http_reply_json(req, 200, out);
}

void classes_api_patch(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body || check_class_body(req, body, 0))
		return;
	db_conn *c;
	json_t *cur = class_open(req, &c);
	if (!cur)
		return;
	const char *id = http_param(req, "id");
	const char *name = json_get_str(body, "name", json_string_value(json_object_get(cur, "name")));
	const char *year = json_get_str(body, "school_year", json_string_value(json_object_get(cur, "school_year")));
	json_t *lv = json_object_get(body, "level");
	const char *level = lv ? json_string_value(lv) : json_string_value(json_object_get(cur, "level"));
	char now[21];
	users_time(now, 0);
	int rc = SQL_RUN(c, "UPDATE classes SET name = ?, school_year = ?, level = ?, updated_at = ? WHERE id = ?",
			 SQL_T(name), SQL_T(year), SQL_T(level), SQL_T(now), SQL_T(id));
	json_decref(cur);
	class_saved(req, c, rc, id, 200);
}

void classes_api_delete(http_req *req)
{
	db_conn *c;
	json_t *cur = class_open(req, &c);
	if (!cur)
		return;
	json_decref(cur);
	const char *id = http_param(req, "id");
	int rc = db_begin(c);
	static const char *const steps[] = {"DELETE FROM class_members WHERE class_id = ?",
					    "DELETE FROM classes WHERE id = ?"};
	if (rc >= 0)
		rc = SQL_EACH(c, steps, id);
	commit_reply(req, c, rc);
}

void classes_api_member_put(http_req *req)
{
	db_conn *c;
	json_t *cur = class_open(req, &c);
	if (!cur)
		return;
	json_decref(cur);
	struct urow r;
	int rc = users_load(c, http_arena(req), http_param(req, "user_id"), 0, &r);
	if (rc == ENT_ENOTFOUND) {
		http_problem(req, 404, "compte introuvable");
		return;
	}
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	rc = db_begin(c);
	if (!rc)
		rc = users_set_class(c, r.id, r.role, http_param(req, "id"));
	commit_reply(req, c, rc);
}

void classes_api_member_delete(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *id = http_param(req, "id"), *uid = http_param(req, "user_id");
	if (!util_is_uuid(id) || !util_is_uuid(uid)) {
		http_problem(req, 404, "ce compte n'est pas membre de la classe");
		return;
	}
	db_stmt *s = SQL_PREP(c, "DELETE FROM class_members WHERE class_id = ? AND user_id = ?", SQL_T(id), SQL_T(uid));
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	int rc = db_step(s);
	int64_t n = db_changes(s);
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	if (n == 0) {
		http_problem(req, 404, "ce compte n'est pas membre de la classe");
		return;
	}
	http_reply_empty(req, 204);
}
