/*
 * api.c - the /api/users routes: administration of accounts, the caller's own profile, password
 * change, GDPR export and erasure, and the CSV import endpoint.
 *
 * Who may call what is in the route table (users.c); the router checks roles before a handler
 * runs. Handlers validate bodies with json_check (unknown fields are 400: no mass assignment) and
 * build answers with users_row_write (the jw writer), which decides per view which fields appear: a hash never
 * does, and the caller's own view has no administrative fields. Lists use keyset pagination on
 * (sort_key, id) with an opaque cursor, so a walk through the pages returns every row once even
 * when rows are added meanwhile.
 */
#include "internal.h"

#include "core/forwarded.h"
#include "core/app.h"
#include "core/err.h"
#include "core/export.h"
#include "core/service.h"
#include "core/form.h"
#include "core/json.h"
#include "core/jwt.h"
#include "core/log.h"
#include "core/page.h"
#include "core/password.h"
#include "core/util.h"
#include "core/sql.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *caller(http_req *req)
{
	const struct http_principal *p = http_principal(req);
	return p ? p->sub : NULL;
}

/* A 409 on one field with its stable code ("email_taken"): the problem's code is the field's. */
static void conflict(http_req *req, const char *field, const char *code, const char *msg)
{
	json_t *e = json_object();
	json_field_error(e, field, code, msg);
	http_problem_errors(req, 409, msg, e);
}

/* ---- GET /api/users ---- */

/*
 * The statements of GET /api/users, one per way in: the members of a class start from
 * class_members, disabled=true from the partial index users_disabled (a few accounts), a role
 * from the (role, sort_key, id) index, and the rest from the (sort_key, id) index; the cursor,
 * when there is one, is a seek on that index, so a page deep in the district costs what the
 * first one does. Each is a complete constant string chosen by which filters are present: a
 * filter that only narrows the rows read stays in the form "(CAST(? AS TEXT) IS NULL OR ...)",
 * its value bound twice (NULL when absent), the casts letting PostgreSQL type a parameter only
 * compared with NULL. A class has few members, so its role and cursor are optional filters too.
 * disabled=false keeps nearly everyone: it narrows, it never chooses the way in.
 */
#define LIST_SELECT "SELECT " USERS_COLS ", u.sort_key"
#define LIST_NARROW                                                                                                    \
	" AND (CAST(? AS INTEGER) IS NULL OR u.disabled = ?)"                                                          \
	" AND (CAST(? AS TEXT) IS NULL OR u.search LIKE ? ESCAPE '\\')"
#define LIST_AFTER " AND (u.sort_key, u.id) > (?, ?)"
#define LIST_AFTER_OPT " AND (CAST(? AS TEXT) IS NULL OR (u.sort_key, u.id) > (?, ?))"
#define LIST_ORDER " ORDER BY u.sort_key, u.id LIMIT ?"
#define LIST_CLASS                                                                                                     \
	LIST_SELECT                                                                                                    \
	" FROM class_members cm JOIN users u ON u.id = cm.user_id" USERS_JOINS                                         \
	" WHERE cm.class_id = ? AND u.deleted_at IS NULL AND (CAST(? AS TEXT) IS NULL OR u.role = ?)" LIST_NARROW      \
		LIST_AFTER_OPT LIST_ORDER
#define LIST_ROLE LIST_SELECT USERS_FROM " WHERE u.deleted_at IS NULL AND u.role = ?" LIST_NARROW LIST_ORDER
#define LIST_ROLE_AFTER                                                                                                \
	LIST_SELECT USERS_FROM " WHERE u.deleted_at IS NULL AND u.role = ?" LIST_NARROW LIST_AFTER LIST_ORDER
/* Its WHERE repeats the index's own ("disabled = 1 AND deleted_at IS NULL"), so both engines use it. */
#define LIST_DISABLED_WHERE                                                                                            \
	" WHERE u.deleted_at IS NULL AND u.disabled = 1 AND (CAST(? AS TEXT) IS NULL OR u.role = ?)"                   \
	" AND (CAST(? AS TEXT) IS NULL OR u.search LIKE ? ESCAPE '\\')"
#define LIST_DISABLED LIST_SELECT USERS_FROM LIST_DISABLED_WHERE LIST_ORDER
#define LIST_DISABLED_AFTER LIST_SELECT USERS_FROM LIST_DISABLED_WHERE LIST_AFTER LIST_ORDER
#define LIST_ALL LIST_SELECT USERS_FROM " WHERE u.deleted_at IS NULL" LIST_NARROW LIST_ORDER
#define LIST_ALL_AFTER LIST_SELECT USERS_FROM " WHERE u.deleted_at IS NULL" LIST_NARROW LIST_AFTER LIST_ORDER

void users_api_list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "users", 2))
		return;
	arena *a = http_arena(req);
	const char *q = http_query(req, "q"), *role = http_query(req, "role"), *class_id = http_query(req, "class_id");
	const char *disabled = http_query(req, "disabled");
	json_t *errors = json_object();
	if (q && (!util_valid_text(q) || json_utf8_len(q) > USERS_NAME_MAX))
		json_field_error(errors, "q", "length", "doit être un texte de 100 caractères au plus");
	if (role && !users_role_bit(role))
		json_field_error(errors, "role", "one_of", "doit valoir etudiant, enseignant ou admin");
	if (class_id && !util_is_uuid(class_id))
		json_field_error(errors, "class_id", "not_uuid", "doit être un identifiant (UUID)");
	if (disabled && strcmp(disabled, "true") != 0 && strcmp(disabled, "false") != 0)
		json_field_error(errors, "disabled", "not_boolean", "doit valoir true ou false");
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *pattern = q && *q ? db_like(a, users_fold(a, q), 0) : NULL;
	/* The way in, hence the statement and its parameters (in their order in the SQL). */
	int only_disabled = disabled && strcmp(disabled, "true") == 0;
	enum {
		BY_CLASS,
		BY_DISABLED,
		BY_ROLE,
		BY_ALL
	} way = class_id        ? BY_CLASS
		: only_disabled ? BY_DISABLED
		: role          ? BY_ROLE
				: BY_ALL;
	static const char *const first_page[] = {LIST_CLASS, LIST_DISABLED, LIST_ROLE, LIST_ALL};
	static const char *const next_page[] = {LIST_CLASS, LIST_DISABLED_AFTER, LIST_ROLE_AFTER, LIST_ALL_AFTER};
	db_stmt *s = db_prepare(c, pg.has_cursor ? next_page[way] : first_page[way]);
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	int k = 1;
	if (way == BY_CLASS)
		db_bind_text(s, k++, class_id);
	if (way == BY_CLASS || way == BY_DISABLED) { /* the role narrows */
		db_bind_text(s, k++, role);
		db_bind_text(s, k++, role);
	} else if (way == BY_ROLE)
		db_bind_text(s, k++, role);
	for (int i = 0; way != BY_DISABLED && i < 2; i++) { /* "disabled" narrows */
		if (disabled)
			db_bind_int64(s, k++, only_disabled);
		else
			db_bind_null(s, k++);
	}
	db_bind_text(s, k++, pattern);
	db_bind_text(s, k++, pattern);
	if (way == BY_CLASS)
		db_bind_text(s, k++, pg.after[1]); /* the "no cursor" switch of LIST_AFTER_OPT */
	if (way == BY_CLASS || pg.has_cursor) {
		db_bind_text(s, k++, pg.after[0]);
		db_bind_text(s, k++, pg.after[1]);
	}
	db_bind_int64(s, k, page_fetch(&pg));
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *keys[2] = {db_col_text(s, 22), db_col_text(s, 0)};
		jw *w = page_item(&pg, keys);
		if (!w)
			break;
		struct urow r;
		users_read_row(a, s, &r);
		users_row_write(w, c, &r, USERS_VIEW_ADMIN,
				strcmp(r.role, "enseignant") == 0); /* a teacher's classes */
	}
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	static const char *const keep[] = {"q", "role", "class_id", "disabled", "limit", NULL};
	page_reply(&pg, keep);
}

/* ---- POST /api/users ---- */

const struct jfield users_create_fields[] = {
	{"email", JF_EMAIL, 1, 0, 3, USERS_EMAIL_MAX, NULL},
	{"given_name", JF_STRING, 1, 0, 1, USERS_NAME_MAX, NULL},
	{"family_name", JF_STRING, 1, 0, 1, USERS_NAME_MAX, NULL},
	{"role", JF_STRING, 1, 0, 0, 0, users_role_names},
	{"class_id", JF_UUID, 0, 1, 0, 0, NULL},
	{"password", JF_STRING, 0, 0, 1, 1024, NULL},
	{"external_id", JF_STRING, 0, 1, 1, USERS_NAME_MAX, NULL},
};

/* Checks the text fields json_check does not look inside (control characters). */
static void check_texts(json_t *body, const char *const *names, json_t *errors)
{
	for (const char *const *n = names; *n; n++) {
		const char *v = json_get_str(body, *n, NULL);
		if (v && !json_object_get(errors, *n) && (!util_valid_text(v) || !*v))
			json_field_error(errors, *n, "control_chars",
					 "doit être un texte non vide sans caractères de contrôle");
	}
}

void users_api_create(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	json_t *errors = json_object();
	json_check(body, users_create_fields, sizeof(users_create_fields) / sizeof(users_create_fields[0]), errors);
	static const char *const texts[] = {"given_name", "family_name", "external_id", NULL};
	check_texts(body, texts, errors);
	const char *password = json_get_str(body, "password", NULL);
	const char *why = password && !json_object_get(errors, "password") ? password_policy_error(password) : NULL;
	if (why)
		json_field_error(errors, "password", "weak_password", why);
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	const char *email = users_lower(a, json_get_str(body, "email", NULL));
	const char *role = json_get_str(body, "role", NULL);
	const char *class_id = json_get_str(body, "class_id", NULL);
	const char *external_id = json_get_str(body, "external_id", NULL);
	char *hash = NULL;
	char code[16] = "", code_hash[65], expires[21] = "";
	if (password) {
		hash = password_hash(password);
		if (!hash) {
			http_problem(req, 500, "Le mot de passe n'a pas pu être enregistré : réessayez.");
			return;
		}
	} else {
		users_new_code(code, code_hash);
		users_time(expires, (long)USERS_CODE_DAYS * 86400);
	}
	char id[37];
	int rc = db_begin(c);
	if (rc) {
		free(hash);
		http_problem_err(req, rc, NULL);
		return;
	}
	rc = users_insert(c, a, id, email, email, json_get_str(body, "given_name", ""),
			  json_get_str(body, "family_name", ""), role, external_id, NULL, NULL, hash,
			  hash ? NULL : code_hash, hash ? NULL : expires);
	free(hash);
	if (rc == ENT_OK && class_id)
		rc = users_set_class(c, id, role, class_id);
	if (rc) {
		db_rollback(c);
		if (rc == ENT_ENOTFOUND) {
			json_t *e = json_object();
			json_field_error(e, "class_id", "no_such_class", "ne désigne aucune classe");
			http_invalid(req, e);
		} else if (rc == ENT_ECONFLICT) {
			if (external_id &&
			    users_exists(c, "SELECT 1 FROM users WHERE external_id = ?", external_id) == 1)
				conflict(req, "external_id", "external_id_taken",
					 "un autre compte a déjà cet identifiant externe");
			else
				conflict(req, "email", "email_taken",
					 "un compte existe déjà avec cette adresse e-mail");
		} else {
			http_problem_err(req, rc, NULL);
		}
		return;
	}
	rc = db_commit(c);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	struct urow r;
	rc = users_load(c, a, id, 0, &r);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	users_row_fields(w, c, &r, USERS_VIEW_ADMIN, 1);
	if (!password) {
		jw_kstr(w, "activation_code", code);
		jw_kstr(w, "activation_expires_at", expires);
	}
	jw_obj_close(w);
	http_set_header(req, "Location", arena_printf(a, "/api/users/%s", id));
	http_reply_jw(req, 201);
}

/* ---- GET /api/users/{id} ---- */

/*
 * The account the request is about, {id} or the caller's own (me): the connection, or NULL after
 * answering (503, 404 when there is no such account).
 */
static db_conn *user_open(http_req *req, int me, struct urow *r)
{
	db_conn *c = http_db(req);
	if (!c)
		return NULL;
	const char *id = me ? caller(req) : http_param(req, "id");
	int rc = id ? users_load(c, http_arena(req), id, 0, r) : ENT_ENOTFOUND;
	if (rc == ENT_ENOTFOUND)
		http_problem(
			req, 404,
			me ? "Votre compte est introuvable : reconnectez-vous ou contactez l'administrateur de l'établissement."
			   : "compte introuvable");
	else if (rc)
		http_problem_err(req, rc, NULL);
	return rc ? NULL : c;
}

/* Answers the account {id} (an administrator's view) or the caller's own (me). */
static void user_reply(http_req *req, int me)
{
	struct urow r;
	db_conn *c = user_open(req, me, &r);
	if (!c)
		return;
	users_row_write(http_jw(req), c, &r, me ? USERS_VIEW_SELF : USERS_VIEW_ADMIN, 1);
	http_reply_jw(req, 200);
}

void users_api_get(http_req *req) { user_reply(req, 0); }

/* ---- PATCH /api/users/{id} ---- */

const struct jfield users_patch_fields[] = {
	{"email", JF_EMAIL, 0, 0, 3, USERS_EMAIL_MAX, NULL},
	{"given_name", JF_STRING, 0, 0, 1, USERS_NAME_MAX, NULL},
	{"family_name", JF_STRING, 0, 0, 1, USERS_NAME_MAX, NULL},
	{"display_name", JF_STRING, 0, 1, 1, USERS_NAME_MAX, NULL},
	{"locale", JF_STRING, 0, 1, 2, 35, NULL},
	{"role", JF_STRING, 0, 0, 0, 0, users_role_names},
	{"class_id", JF_UUID, 0, 1, 0, 0, NULL},
	{"disabled", JF_BOOL, 0, 0, 0, 0, NULL},
	{"external_id", JF_STRING, 0, 1, 1, USERS_NAME_MAX, NULL},
};

static int valid_locale(const char *s)
{
	/* BCP 47 shape: letters, digits and dashes ("fr", "fr-FR", "en-GB"). */
	if (!s || !*s || strlen(s) > 35)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
	return s[0] != '-';
}

/* The value for a field of a PATCH: the body's (may be NULL for a null) or the current one. */
static const char *patched(json_t *body, const char *key, const char *current)
{
	json_t *v = json_object_get(body, key);
	if (!v)
		return current;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * Opens a PATCH of the account {id} or the caller's own (me): the body checked against fields (n
 * of them; texts: those without control characters; locale checked when there), then the account
 * into r. Returns the connection, or NULL after answering (400, 503, 404).
 */
static db_conn *user_patch_open(http_req *req, int me, const struct jfield *fields, size_t n, const char *const *texts,
				json_t **body, struct urow *r)
{
	if (!(*body = http_json_body(req)))
		return NULL;
	json_t *errors = json_object();
	json_check(*body, fields, n, errors);
	check_texts(*body, texts, errors);
	const char *loc = json_get_str(*body, "locale", NULL);
	if (loc && !json_object_get(errors, "locale") && !valid_locale(loc))
		json_field_error(errors, "locale", "not_locale", "doit être une langue comme fr ou fr-FR");
	if (http_invalid(req, errors))
		return NULL;
	return user_open(req, me, r);
}

void users_api_patch(http_req *req)
{
	static const char *const texts[] = {"given_name", "family_name", "display_name", "external_id", NULL};
	json_t *body;
	struct urow r;
	db_conn *c = user_patch_open(req, 0, users_patch_fields,
				     sizeof(users_patch_fields) / sizeof(users_patch_fields[0]), texts, &body, &r);
	if (!c)
		return;
	arena *a = http_arena(req);
	const char *email = patched(body, "email", r.email);
	email = email ? users_lower(a, email) : NULL;
	const char *given = patched(body, "given_name", r.given_name),
		   *family = patched(body, "family_name", r.family_name);
	const char *display = patched(body, "display_name", r.display_name),
		   *locale = patched(body, "locale", r.locale);
	const char *role = patched(body, "role", r.role), *external_id = patched(body, "external_id", r.external_id);
	json_t *dv = json_object_get(body, "disabled");
	int disabled = dv ? json_is_true(dv) : r.disabled;
	int role_changed = strcmp(role, r.role) != 0;
	const char *me = caller(req);
	if (me && strcmp(me, r.id) == 0 && (disabled || strcmp(role, "admin") != 0)) {
		http_problem_code(req, 409, "self_demote",
				  "un administrateur ne peut ni désactiver ni rétrograder son propre compte");
		return;
	}
	/* The username follows the email for local accounts, where it was the email. */
	const char *username = r.username;
	if (!r.iss && (!r.username || (r.email && strcmp(r.username, r.email) == 0)))
		username = email;
	char now[21];
	users_time(now, 0);
	int rc = db_begin(c);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	db_stmt *s = db_prepare(c,
				"UPDATE users SET email = ?, username = ?, given_name = ?, family_name = ?,"
				" display_name = ?, locale = ?, role = ?, external_id = ?, disabled = ?, sort_key = ?,"
				" search = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL");
	if (!s) {
		db_rollback(c);
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	db_bind_text(s, 1, email);
	db_bind_text(s, 2, username);
	db_bind_text(s, 3, given);
	db_bind_text(s, 4, family);
	db_bind_text(s, 5, display);
	db_bind_text(s, 6, locale);
	db_bind_text(s, 7, role);
	db_bind_text(s, 8, external_id);
	db_bind_int64(s, 9, disabled);
	db_bind_text(s, 10, users_sort_key(a, given, family));
	db_bind_text(s, 11, users_search_text(a, given, family, display, email, username));
	db_bind_text(s, 12, now);
	db_bind_text(s, 13, r.id);
	rc = db_step(s);
	db_done(s);
	const char *conflict_field = NULL;
	if (rc == ENT_ECONFLICT)
		conflict_field = "email";
	if (rc >= 0 && role_changed) {
		/* A student may be in one class only: becoming one while in several classes is refused. */
		s = db_prepare(c, "UPDATE class_members SET kind = ? WHERE user_id = ?");
		if (s) {
			db_bind_text(s, 1, role);
			db_bind_text(s, 2, r.id);
			rc = db_step(s);
			db_done(s);
			if (rc == ENT_ECONFLICT)
				conflict_field = "role";
		} else {
			rc = ENT_EDB;
		}
	}
	if (rc >= 0 && json_object_get(body, "class_id")) {
		rc = users_set_class(c, r.id, role, json_get_str(body, "class_id", NULL));
		if (rc == ENT_ENOTFOUND) {
			db_rollback(c);
			json_t *e = json_object();
			json_field_error(e, "class_id", "no_such_class", "ne désigne aucune classe");
			http_invalid(req, e);
			return;
		}
	}
	if (rc < 0) {
		db_rollback(c);
		if (conflict_field && strcmp(conflict_field, "role") == 0)
			conflict(
				req, "role", "student_one_class",
				"un élève appartient à une seule classe : retirez d'abord ce compte des autres classes");
		else if (rc == ENT_ECONFLICT && external_id &&
			 users_exists(c, "SELECT 1 FROM users WHERE external_id = ?", external_id) == 1 &&
			 !(r.external_id && strcmp(r.external_id, external_id) == 0))
			conflict(req, "external_id", "external_id_taken",
				 "un autre compte a déjà cet identifiant externe");
		else if (rc == ENT_ECONFLICT)
			conflict(req, "email", "email_taken", "un compte existe déjà avec cette adresse e-mail");
		else
			http_problem_err(req, rc, NULL);
		return;
	}
	rc = db_commit(c);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	if ((disabled && !r.disabled) || role_changed)
		service_revoke_user(c, r.id);
	if ((rc = users_load(c, a, r.id, 0, &r))) {
		http_problem_err(req, rc, NULL);
		return;
	}
	users_row_write(http_jw(req), c, &r, USERS_VIEW_ADMIN, 1);
	http_reply_jw(req, 200);
}

/* ---- DELETE /api/users/{id} ---- */

void users_api_delete(http_req *req)
{
	struct urow r;
	db_conn *c = user_open(req, 0, &r);
	if (!c)
		return;
	const char *me = caller(req);
	if (me && strcmp(me, r.id) == 0) {
		http_problem_code(req, 409, "self_delete", "un administrateur ne peut pas supprimer son propre compte");
		return;
	}
	arena *a = http_arena(req);
	char now[21];
	users_time(now, 0);
	/* Erasure, not removal: the row and its id stay so that other services' references hold. */
	static const char *const steps[] = {
		"DELETE FROM user_credentials WHERE user_id = ?",
		"DELETE FROM class_members WHERE user_id = ?",
		"DELETE FROM login_events WHERE user_id = ?",
	};
	int rc = db_begin(c);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	rc = SQL_RUN(c,
		     "UPDATE users SET iss = NULL, sub = NULL, email = NULL, username = NULL,"
		     " given_name = 'Utilisateur', family_name = 'supprimé', display_name = NULL, locale = NULL,"
		     " external_id = NULL, disabled = 1, sort_key = ?, search = '', last_login_at = NULL,"
		     " deleted_at = ?, updated_at = ? WHERE id = ?",
		     SQL_T(users_sort_key(a, "Utilisateur", "supprimé")), SQL_T(now), SQL_T(now), SQL_T(r.id));
	if (rc >= 0)
		rc = SQL_EACH(c, steps, r.id);
	/* Every other service erases its part in the same transaction (all services, not only
	 * those of this process: the database is shared). */
	for (const struct service *const *sv = service_registry; rc >= 0 && *sv; sv++)
		if ((*sv)->erase_user)
			rc = (*sv)->erase_user(c, r.id);
	if ((rc = db_end(c, rc))) {
		http_problem_err(req, rc, NULL);
		return;
	}
	service_revoke_user(c, r.id);
	log_info("users: account %s erased", r.id);
	http_reply_empty(req, 204);
}

/* ---- POST /api/users/{id}/password-reset ---- */

void users_api_reset(http_req *req)
{
	struct urow r;
	db_conn *c = user_open(req, 0, &r);
	if (!c)
		return;
	char code[16], expires[21];
	int rc = users_reset_code(c, r.id, code, expires);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	service_revoke_user(c, r.id);
	http_reply_json(req, 200,
			json_pack("{s:s, s:s, s:s}", "user_id", r.id, "activation_code", code, "activation_expires_at",
				  expires));
}

/* ---- /api/users/me ---- */

void users_api_me(http_req *req) { user_reply(req, 1); }

const struct jfield users_me_fields[] = {
	{"display_name", JF_STRING, 0, 1, 1, USERS_NAME_MAX, NULL},
	{"locale", JF_STRING, 0, 1, 2, 35, NULL},
};

void users_api_me_patch(http_req *req)
{
	static const char *const texts[] = {"display_name", NULL};
	json_t *body;
	struct urow r;
	db_conn *c = user_patch_open(req, 1, users_me_fields, sizeof(users_me_fields) / sizeof(users_me_fields[0]),
				     texts, &body, &r);
	if (!c)
		return;
	arena *a = http_arena(req);
	const char *display = patched(body, "display_name", r.display_name),
		   *locale = patched(body, "locale", r.locale);
	char now[21];
	users_time(now, 0);
	db_stmt *s = db_prepare(
		c, "UPDATE users SET display_name = ?, locale = ?, search = ?, updated_at = ? WHERE id = ?");
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	db_bind_text(s, 1, display);
	db_bind_text(s, 2, locale);
	db_bind_text(s, 3, users_search_text(a, r.given_name, r.family_name, display, r.email, r.username));
	db_bind_text(s, 4, now);
	db_bind_text(s, 5, r.id);
	int rc = db_step(s);
	db_done(s);
	if (rc < 0 || (rc = users_load(c, a, r.id, 0, &r))) {
		http_problem_err(req, rc, NULL);
		return;
	}
	users_row_write(http_jw(req), c, &r, USERS_VIEW_SELF, 1);
	http_reply_jw(req, 200);
}

const struct jfield users_password_fields[] = {
	{"current_password", JF_STRING, 1, 0, 1, 1024, NULL},
	{"new_password", JF_STRING, 1, 0, 1, 1024, NULL},
};

void users_api_me_password(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	json_t *errors = json_object();
	if (json_check(body, users_password_fields, 2, errors)) {
		http_invalid(req, errors);
		return;
	}
	db_conn *c = http_db(req);
	if (!c) {
		json_decref(errors);
		return;
	}
	const char *me = caller(req);
	int retry = 0;
	int rc = users_check_password(c, me, json_get_str(body, "current_password", ""), http_client_addr(req), &retry);
	if (rc == ENT_EBUSY) {
		json_decref(errors);
		char ra[16];
		snprintf(ra, sizeof(ra), "%d", retry > 0 ? retry : 1);
		http_set_header(req, "Retry-After", ra);
		http_problemf(req, 429, "Trop d'essais infructueux : réessayez dans %d seconde%s.",
			      retry > 0 ? retry : 1, retry > 1 ? "s" : "");
		return;
	}
	if (rc == ENT_EAUTH) {
		json_field_error(errors, "current_password", "wrong_password", "est incorrect");
		http_invalid(req, errors);
		return;
	}
	if (rc) {
		json_decref(errors);
		if (rc == ENT_ENOTFOUND)
			http_problem(
				req, 404,
				"Votre compte est introuvable : reconnectez-vous ou contactez l'administrateur de l'établissement.");
		else
			http_problem_err(req, rc, NULL);
		return;
	}
	const char *why = NULL;
	rc = users_set_password(c, me, json_get_str(body, "new_password", ""), &why);
	if (rc == ENT_EINVAL) {
		json_object_set_new(errors, "new_password", json_string(why ? why : "n'est pas accepté"));
		http_invalid(req, errors);
		return;
	}
	json_decref(errors);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	http_reply_empty(req, 204);
}

/* ---- GET /api/users/me/export ---- */

int users_export(db_conn *c, const char *user_id, json_t *out)
{
	arena *a = arena_new(0);
	struct urow r;
	int rc = users_load(c, a, user_id, 0, &r);
	if (rc) {
		arena_free(a);
		return rc;
	}
	json_t *part = json_object();
	jwbuf profile;
	users_row_write(jwbuf_init(&profile, 0), c, &r, USERS_VIEW_SELF, 1);
	json_object_set_new(part, "profile", json_from_buf(&profile.b));
	json_t *hist = json_array();
	rc = EXPORT_ROWS(c, hist, "at ip success:b",
			 "SELECT at, ip, success FROM login_events WHERE user_id = ? ORDER BY at DESC, id LIMIT 1000",
			 SQL_T(user_id));
	json_object_set_new(part, "login_history", hist);
	json_object_set_new(out, "users", part);
	arena_free(a);
	return rc;
}

void users_api_me_export(http_req *req)
{
	struct urow r;
	db_conn *c = user_open(req, 1, &r);
	if (!c)
		return;
	char now[21];
	users_time(now, 0);
	json_t *out = json_pack("{s:s, s:s}", "user_id", r.id, "exported_at", now);
	/* Every service of the build, not only those of this process: the database is shared. */
	for (const struct service *const *svp = service_registry; *svp; svp++) {
		const struct service *sv = *svp;
		if (!sv->export_user)
			continue;
		int rc = sv->export_user(c, r.id, out);
		if (rc) {
			log_error("users: export of %s: service %s failed: %s", r.id, sv->name, ent_err_str(rc));
			json_decref(out);
			http_problemf(
				req, 500,
				"Le service %s n'a pas pu exporter ses données : rien n'a été exporté, réessayez plus "
				"tard.",
				sv->name);
			return;
		}
	}
	http_set_header(req, "Content-Disposition", "attachment; filename=\"ent-export.json\"");
	http_reply_json(req, 200, out);
}

/* ---- POST /api/users/import ---- */

static int is_csv(const char *ct)
{
	if (!ct)
		return 0;
	size_t n = strcspn(ct, ";");
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	return n == 8 && strncasecmp(ct, "text/csv", 8) == 0;
}

void users_api_import(http_req *req)
{
	if (!is_csv(http_header(req, "Content-Type"))) {
		http_problem(req, 415, "Envoyez un fichier CSV (Content-Type: text/csv).");
		return;
	}
	struct import_opts opts = {0};
	const char *dry = http_query(req, "dry_run");
	json_t *errors = json_object();
	if (dry) {
		if (strcmp(dry, "true") == 0 || strcmp(dry, "1") == 0)
			opts.dry_run = 1;
		else if (strcmp(dry, "false") != 0 && strcmp(dry, "0") != 0)
			json_field_error(errors, "dry_run", "not_boolean", "doit valoir true ou false");
	}
	opts.school_year = http_query(req, "school_year");
	if (opts.school_year && !users_valid_school_year(opts.school_year))
		json_field_error(errors, "school_year", "not_school_year",
				 "doit être une année scolaire comme 2026-2027");
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	size_t len;
	const char *data = http_body(req, &len);
	json_t *report = NULL;
	const char *why = NULL;
	uint64_t t0 = util_now_ns();
	int rc = users_import(c, data, len, &opts, &report, &why);
	if (rc == ENT_EINVAL) {
		http_problem(req, 400, why ? why : "Le fichier CSV n'est pas valide : vérifiez-le et réessayez.");
		return;
	}
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	log_info("users: import of %zu bytes in %.0f ms (dry run: %d)", len, (double)(util_now_ns() - t0) / 1e6,
		 opts.dry_run);
	http_reply_json(req, 200, report);
}
