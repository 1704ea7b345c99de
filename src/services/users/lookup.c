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

int users_student_class(db_conn *c, const char *user_id, char out[37])
{
	db_stmt *s = db_prepare(c, "SELECT class_id FROM class_members WHERE user_id = ? AND kind = 'etudiant'");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, user_id);
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
	db_stmt *s = db_prepare(c, "SELECT name FROM classes WHERE id = ?");
	if (!s)
		return NULL;
	db_bind_text(s, 1, class_id);
	const char *name = db_step(s) == DB_ROW && db_col_text(s, 0) ? arena_strdup(a, db_col_text(s, 0)) : NULL;
	db_done(s);
	return name;
}

int users_class_find(db_conn *c, const char *name, const char *school_year, char out[37])
{
	return users_class_by_name(c, name, school_year, 0, out, NULL);
}

int users_names(db_conn *c, arena *a, const char *const *ids, size_t n, const char **names)
{
	for (size_t i = 0; i < n; i++) {
		names[i] = NULL;
		if (!ids[i] || !util_is_uuid(ids[i]))
			continue; /* users_get() does not look such an id up either */
		db_stmt *s = db_prepare(c, "SELECT display_name, given_name, family_name FROM users WHERE id = ? AND deleted_at IS NULL");
		if (!s)
			return ENT_EDB;
		db_bind_text(s, 1, ids[i]);
		int rc = db_step(s);
		if (rc == DB_ROW) {
			/* The name of to_user() (store.c). */
			const char *d = db_col_text(s, 0), *g = db_col_text(s, 1), *f = db_col_text(s, 2);
			names[i] = d ? arena_strdup(a, d) : arena_printf(a, "%s %s", g ? g : "", f ? f : "");
		}
		db_done(s);
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

int users_sort_keys(db_conn *c, arena *a, const char *const *ids, size_t n, const char **keys)
{
	for (size_t i = 0; i < n; i++) {
		keys[i] = NULL;
		if (!ids[i] || !util_is_uuid(ids[i]))
			continue;
		db_stmt *s = db_prepare(c, "SELECT sort_key FROM users WHERE id = ?");
		if (!s)
			return ENT_EDB;
		db_bind_text(s, 1, ids[i]);
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
	db_stmt *s = db_prepare(c, "SELECT id FROM users WHERE role = 'etudiant' AND email LIKE ? ORDER BY id");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, "s%@" SCALE_DOMAIN);
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
	*ids = NULL;
	db_stmt *s = db_prepare(c, "SELECT class_id FROM class_members WHERE user_id = ? AND kind = 'enseignant'"
				   " ORDER BY class_id");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, user_id);
	const char **v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		v[n++] = arena_strdup(a, db_col_text(s, 0));
	}
	db_done(s);
	*ids = v;
	return rc < 0 ? rc : (int)n;
}
