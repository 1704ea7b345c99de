/*
 * lookup.c - read-only lookups other services need from the cours service (cours.h): which
 * courses a class follows, which classes a teacher reaches through their courses, a course's
 * classes. The calendar (and next the chatbot) ask these instead of reading the cours tables.
 */
#include "cours.h"

#include "core/err.h"
#include "core/util.h"

/* The first column of sql run with one text parameter, as arena strings into *ids. Count or error. */
static int id_column(db_conn *c, arena *a, const char *sql, const char *param, const char ***ids)
{
	*ids = NULL;
	if (!c)
		return ENT_EUNAVAIL;
	db_stmt *s = db_prepare(c, sql);
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, param);
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

int cours_of_class(db_conn *c, arena *a, const char *class_id, const char ***ids)
{
	return id_column(c, a, "SELECT cours_id FROM cours_classes WHERE class_id = ? ORDER BY cours_id", class_id, ids);
}

int cours_teacher_classes(db_conn *c, arena *a, const char *user_id, const char ***ids)
{
	return id_column(c, a,
			 "SELECT DISTINCT k.class_id FROM cours_teachers t JOIN cours_classes k ON k.cours_id = t.cours_id"
			 " WHERE t.user_id = ? ORDER BY k.class_id",
			 user_id, ids);
}

int cours_classes_of(db_conn *c, arena *a, const char *cours_id, const char ***ids)
{
	return id_column(c, a, "SELECT class_id FROM cours_classes WHERE cours_id = ? ORDER BY class_id", cours_id, ids);
}

const char *cours_title(db_conn *c, arena *a, const char *cours_id)
{
	if (!c || !util_is_uuid(cours_id))
		return NULL;
	db_stmt *s = db_prepare(c, "SELECT title FROM cours WHERE id = ?");
	if (!s)
		return NULL;
	db_bind_text(s, 1, cours_id);
	const char *t = db_step(s) == DB_ROW && db_col_text(s, 0) ? arena_strdup(a, db_col_text(s, 0)) : NULL;
	db_done(s);
	return t;
}

int cours_class_teachers(db_conn *c, arena *a, const char *class_id, const char ***ids)
{
	return id_column(c, a,
			 "SELECT DISTINCT t.user_id FROM cours_classes k JOIN cours_teachers t ON t.cours_id = k.cours_id"
			 " WHERE k.class_id = ? ORDER BY t.user_id",
			 class_id, ids);
}

int cours_teachers_of(db_conn *c, arena *a, const char *cours_id, const char ***ids)
{
	return id_column(c, a, "SELECT user_id FROM cours_teachers WHERE cours_id = ? ORDER BY user_id", cours_id, ids);
}
