/*
 * lookup.c - small read-only lookups other services need from the users service (users.h):
 * a student's class, whether a class exists, a class by name, the current school year, users'
 * display names and sort keys.
 *
 * Other services call these instead of reading the users tables; they never write anything.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/service.h"
#include "core/util.h"
#include "core/sql.h"

int users_student_class(db_conn *c, const char *user_id, char out[37])
{
	db_stmt *s = SQL_PREP(c, "SELECT class_id FROM class_members WHERE user_id = ? AND kind = 'etudiant'",
			      SQL_T(user_id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW) {
		const char *v = db_col_text(s, 0);
		snprintf(out, 37, "%s", v ? v : "");
		rc = v ? ENT_OK : ENT_ENOTFOUND;
	} else if (rc >= 0)
		rc = ENT_ENOTFOUND;
	db_done(s);
	return rc;
}

int users_class_exists(db_conn *c, const char *class_id)
{
	return users_exists(c, "SELECT 1 FROM classes WHERE id = ?", class_id);
}

int users_class_teacher(db_conn *c, const char *user_id, const char *class_id)
{
	if (!util_is_uuid(user_id) || !util_is_uuid(class_id))
		return 0;
	return db_exists(c, "SELECT 1 FROM class_members WHERE class_id = ? AND user_id = ? AND kind = 'enseignant'",
			 class_id, user_id);
}

const char *users_class_name(db_conn *c, arena *a, const char *class_id)
{
	if (!util_is_uuid(class_id))
		return NULL;
	db_stmt *s = SQL_PREP(c, "SELECT name FROM classes WHERE id = ?", SQL_T(class_id));
	if (!s)
		return NULL;
	const char *name = db_step(s) == DB_ROW && db_col_text(s, 0) ? arena_strdup(a, db_col_text(s, 0)) : NULL;
	db_done(s);
	return name;
}

int users_class_find(db_conn *c, const char *name, const char *school_year, char out[37])
{
	return users_class_by_name(c, name, school_year, 0, out, NULL);
}

/* The names of ids: the display name first (official 0), or always "Given Family" (official 1). */
static int names_of(db_conn *c, arena *a, const char *const *ids, size_t n, const char **names, int official)
{
	for (size_t i = 0; i < n; i++) {
		names[i] = NULL;
		if (!ids[i] || !util_is_uuid(ids[i]))
			continue; /* users_get() does not look such an id up either */
		db_stmt *s = db_prepare(
			c,
			"SELECT display_name, given_name, family_name FROM users WHERE id = ? AND deleted_at IS NULL");
		if (!s)
			return ENT_EDB;
		db_bind_text(s, 1, ids[i]);
		int rc = db_step(s);
		if (rc == DB_ROW) {
			/* The names of to_user() (store.c). */
			const char *d = db_col_text(s, 0), *g = db_col_text(s, 1), *f = db_col_text(s, 2);
			names[i] = d && !official ? arena_strdup(a, d)
						  : arena_printf(a, "%s %s", g ? g : "", f ? f : "");
		}
		db_done(s);
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

int users_names(db_conn *c, arena *a, const char *const *ids, size_t n, const char **names)
{
	return names_of(c, a, ids, n, names, 0);
}

int users_official_names(db_conn *c, arena *a, const char *const *ids, size_t n, const char **names)
{
	return names_of(c, a, ids, n, names, 1);
}

int users_sort_keys(db_conn *c, arena *a, const char *const *ids, size_t n, const char **keys)
{
	for (size_t i = 0; i < n; i++) {
		keys[i] = NULL;
		if (!ids[i] || !util_is_uuid(ids[i]))
			continue;
		db_stmt *s = SQL_PREP(c, "SELECT sort_key FROM users WHERE id = ?", SQL_T(ids[i]));
		if (!s)
			return ENT_EDB;
		int rc = db_step(s);
		if (rc == DB_ROW && db_col_text(s, 0))
			keys[i] = arena_strdup(a, db_col_text(s, 0));
		db_done(s);
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

void users_current_school_year(char out[10]) { users_school_year(users_clock(), out); }

int users_scale_students(db_conn *c, char (**ids)[37], size_t *n)
{
	*ids = NULL;
	*n = 0;
	db_stmt *s = SQL_PREP(c, "SELECT id FROM users WHERE role = 'etudiant' AND email LIKE ? ORDER BY id",
			      SQL_T("s%@" SCALE_DOMAIN));
	if (!s)
		return ENT_EDB;
	size_t cap = 0;
	char(*v)[37] = NULL;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			char(*w)[37] = realloc(v, cap * 37);
			if (!w)
				abort(); /* out of memory aborts (STYLE.md) */
			v = w;
		}
		snprintf(v[(*n)++], 37, "%s", db_col_text(s, 0));
	}
	db_done(s);
	if (rc < 0) {
		free(v);
		*n = 0;
		return rc;
	}
	*ids = v;
	return ENT_OK;
}

int users_teacher_classes(db_conn *c, arena *a, const char *user_id, const char ***ids)
{
	return db_texts(
		c, a, "SELECT class_id FROM class_members WHERE user_id = ? AND kind = 'enseignant' ORDER BY class_id",
		user_id, NULL, ids);
}

int users_with_role(db_conn *c, arena *a, const char *role, const char ***ids)
{
	return db_texts(c, a, "SELECT id FROM users WHERE role = ? AND deleted_at IS NULL AND disabled = 0 ORDER BY id",
			role, NULL, ids);
}

/* ---- for the messagerie ---- */

int users_class_teachers(db_conn *c, arena *a, const char *class_id, const char ***ids)
{
	*ids = NULL;
	if (!util_is_uuid(class_id))
		return 0;
	return db_texts(c, a,
			"SELECT m.user_id FROM class_members m JOIN users u ON u.id = m.user_id WHERE m.class_id = ?"
			" AND m.kind = 'enseignant' AND u.deleted_at IS NULL ORDER BY m.user_id",
			class_id, NULL, ids);
}

int users_admins(db_conn *c, arena *a, const char ***ids) { return users_with_role(c, a, "admin", ids); }

int users_suggest(db_conn *c, arena *a, const char *q, int limit, struct users_hit **out)
{
	*out = NULL;
	db_stmt *s = SQL_PREP(c,
			      "SELECT id, display_name, given_name, family_name, role FROM users"
			      " WHERE deleted_at IS NULL AND disabled = 0 AND search LIKE ? ESCAPE '\\'"
			      " ORDER BY sort_key, id LIMIT ?",
			      SQL_T(db_like(a, users_fold(a, q ? q : ""), 0)), SQL_I(limit));
	if (!s)
		return ENT_EDB;
	struct users_hit *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		const char *d = db_col_text(s, 1), *g = db_col_text(s, 2), *f = db_col_text(s, 3);
		v[n].id = arena_strdup(a, db_col_text(s, 0));
		v[n].name = d ? arena_strdup(a, d) : arena_printf(a, "%s %s", g ? g : "", f ? f : "");
		v[n].roles = users_role_bit(db_col_text(s, 4));
		n++;
	}
	db_done(s);
	*out = v;
	return rc < 0 ? rc : (int)n;
}

int users_classes_matching(db_conn *c, arena *a, const char *q, int limit, const char ***ids, const char ***names)
{
	*ids = NULL;
	*names = NULL;
	char year[10];
	users_current_school_year(year);
	/* Class names are short: folded in C rather than stored folded. */
	db_stmt *s = SQL_PREP(c, "SELECT id, name FROM classes WHERE school_year = ? ORDER BY name, id", SQL_T(year));
	if (!s)
		return ENT_EDB;
	const char *want = users_fold(a, q ? q : "");
	const char **v = NULL, **w = NULL;
	size_t n = 0, cap = 0, wcap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *name = db_col_text(s, 1);
		if ((int)n >= limit || !strstr(users_fold(a, name), want))
			continue;
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		w = arena_grow(a, w, n, &wcap, sizeof(*w));
		v[n] = arena_strdup(a, db_col_text(s, 0));
		w[n++] = arena_strdup(a, name);
	}
	db_done(s);
	*ids = v;
	*names = w;
	return rc < 0 ? rc : (int)n;
}
