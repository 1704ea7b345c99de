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
#include "core/sql.h"
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

_Static_assert(USERS_BATCH == SQL_IN_MAX, "one statement of SQL_IN a batch");

/* Binds ids[from..from+USERS_BATCH) to s's parameters 1..USERS_BATCH (NULL past n and for non-UUIDs). */
static void bind_batch(db_stmt *s, const char *const *ids, size_t from, size_t n)
{
	for (size_t k = 0; k < USERS_BATCH; k++) {
		const char *id = from + k < n ? ids[from + k] : NULL;
		if (id && util_is_uuid(id))
			db_bind_text(s, (int)k + 1, id);
		else
			db_bind_null(s, (int)k + 1);
	}
}

/*
 * Runs sql (whose first column is a user's id, and whose only parameters are the SQL_IN set of ids)
 * for ids[0..n), USERS_BATCH ids a statement, and calls row(s, k, ctx) for each row and each k
 * whose ids[k] is that row's id (an id given twice is filled twice). 0 or a negative ent_err.
 */
static int batch_rows(db_conn *c, const char *sql, const char *const *ids, size_t n,
		      void (*row)(db_stmt *s, size_t k, void *ctx), void *ctx)
{
	for (size_t from = 0; from < n; from += USERS_BATCH) {
		db_stmt *s = db_prepare(c, sql);
		if (!s)
			return ENT_EDB;
		bind_batch(s, ids, from, n);
		int rc;
		while ((rc = db_step(s)) == DB_ROW) {
			const char *id = db_col_text(s, 0);
			for (size_t k = from; k < n && k < from + USERS_BATCH; k++)
				if (ids[k] && id && !strcmp(ids[k], id))
					row(s, k, ctx);
		}
		db_done(s);
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

struct names_ctx {
	arena *a;
	const char **names;
	int official;
};

/* A name of to_user() (store.c) from columns 1..3 (display, given, family): the display name first, or "Given Family". */
static const char *row_name(arena *a, db_stmt *s, int official)
{
	const char *d = db_col_text(s, 1), *g = db_col_text(s, 2), *f = db_col_text(s, 3);
	return d && !official ? arena_strdup(a, d) : arena_printf(a, "%s %s", g ? g : "", f ? f : "");
}

static void name_row(db_stmt *s, size_t k, void *ctx)
{
	struct names_ctx *x = ctx;
	x->names[k] = row_name(x->a, s, x->official);
}

/* The names of ids: the display name first (official 0), or always "Given Family" (official 1). */
static int names_of(db_conn *c, arena *a, const char *const *ids, size_t n, const char **names, int official)
{
	for (size_t i = 0; i < n; i++)
		names[i] = NULL; /* users_get() does not look a non-UUID up either */
	struct names_ctx x = {a, names, official};
	return batch_rows(c,
			  "SELECT id, display_name, given_name, family_name FROM users WHERE id" SQL_IN
			  " AND deleted_at IS NULL",
			  ids, n, name_row, &x);
}

struct reach_ctx {
	arena *a;
	struct user_reach *out;
};

static void reach_row(db_stmt *s, size_t k, void *ctx)
{
	struct reach_ctx *x = ctx;
	struct user_reach *r = &x->out[k];
	if (r->name)
		return; /* a student in two classes gives two rows: the first counts, as in users_student_class() */
	r->name = row_name(x->a, s, 0);
	const char *cls = db_col_text(s, 6);
	r->roles = users_role_bit(db_col_text(s, 4));
	r->disabled = db_col_int64(s, 5) != 0;
	r->class_id = cls ? arena_strdup(x->a, cls) : NULL;
}

int users_reach(db_conn *c, arena *a, const char *const *ids, size_t n, struct user_reach *out)
{
	memset(out, 0, n * sizeof(*out));
	struct reach_ctx x = {a, out};
	return batch_rows(c,
			  "SELECT u.id, u.display_name, u.given_name, u.family_name, u.role, u.disabled, m.class_id"
			  " FROM users u LEFT JOIN class_members m ON m.user_id = u.id AND m.kind = 'etudiant'"
			  " WHERE u.id" SQL_IN " AND u.deleted_at IS NULL",
			  ids, n, reach_row, &x);
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
