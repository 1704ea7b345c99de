/*
 * lookup.c - read-only lookups other services need from the cours service (cours.h): which
 * courses a class follows (ids, or with title and subject), which classes a teacher reaches
 * through their courses, a course's classes, what a set of courses is, the teachers and classes
 * of a set of courses, whether a user teaches a course of a class. The notes service, the
 * calendar (and next the chatbot) ask these instead of reading the cours tables.
 *
 * Notes reads some of these on every report card, and on PostgreSQL each statement is a round
 * trip: so a set of courses is read with one constant statement per COURS_BATCH (16) ids
 * ("IN (?, ... ?)", unused slots bound NULL, which matches nothing), never one statement per
 * course nor a query text built for the number of ids. Results are arena copies, in byte order of
 * their ids, so that callers see the same order on SQLite and PostgreSQL.
 *
 * Read only: nothing here writes, and nothing reads a table of another service.
 */
#include "cours.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "core/sql.h"

int cours_of_class(db_conn *c, arena *a, const char *class_id, const char ***ids)
{
	return db_texts(c, a, "SELECT cours_id FROM cours_classes WHERE class_id = ? ORDER BY cours_id", class_id, NULL,
			ids);
}

int cours_teacher_classes(db_conn *c, arena *a, const char *user_id, const char ***ids)
{
	return db_texts(
		c, a,
		"SELECT DISTINCT k.class_id FROM cours_teachers t JOIN cours_classes k ON k.cours_id = t.cours_id"
		" WHERE t.user_id = ? ORDER BY k.class_id",
		user_id, NULL, ids);
}

int cours_classes_of(db_conn *c, arena *a, const char *cours_id, const char ***ids)
{
	return db_texts(c, a, "SELECT class_id FROM cours_classes WHERE cours_id = ? ORDER BY class_id", cours_id, NULL,
			ids);
}

const char *cours_title(db_conn *c, arena *a, const char *cours_id)
{
	if (!c || !util_is_uuid(cours_id))
		return NULL;
	db_stmt *s = SQL_PREP(c, "SELECT title FROM cours WHERE id = ?", SQL_T(cours_id));
	if (!s)
		return NULL;
	const char *t = db_step(s) == DB_ROW && db_col_text(s, 0) ? arena_strdup(a, db_col_text(s, 0)) : NULL;
	db_done(s);
	return t;
}

/* ---- sets of courses ---- */

#define IN16 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

/* Binds ids[0..n) (n <= COURS_BATCH) to parameters first.., NULL to the rest of the 16. */
static void bind16(db_stmt *s, int first, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < COURS_BATCH; i++) {
		if (i < n)
			db_bind_text(s, first + (int)i, ids[i]);
		else
			db_bind_null(s, first + (int)i);
	}
}

static int by_link(const void *x, const void *y)
{
	const struct cours_link *a = x, *b = y;
	int d = strcmp(a->cours_id, b->cours_id);
	return d ? d : strcmp(a->id, b->id);
}

/* The (cours_id, other) rows of sql (16 id parameters) for ids, sorted. Count or error. */
static int links(db_conn *c, arena *a, const char *sql, const char *const *ids, size_t n, struct cours_link **out)
{
	*out = NULL;
	if (!c)
		return ENT_EUNAVAIL;
	struct cours_link *v = NULL;
	size_t nv = 0, cap = 0;
	for (size_t at = 0; at < n; at += COURS_BATCH) {
		db_stmt *s = db_prepare(c, sql);
		if (!s)
			return ENT_EDB;
		bind16(s, 1, ids + at, n - at < COURS_BATCH ? n - at : COURS_BATCH);
		int rc;
		while ((rc = db_step(s)) == DB_ROW) {
			v = arena_grow(a, v, nv, &cap, sizeof(*v));
			v[nv].cours_id = arena_strdup(a, db_col_text(s, 0));
			v[nv++].id = arena_strdup(a, db_col_text(s, 1));
		}
		db_done(s);
		if (rc < 0)
			return rc;
	}
	if (nv > 1)
		qsort(v, nv, sizeof(*v), by_link);
	*out = v;
	return (int)nv;
}

int cours_teacher_links(db_conn *c, arena *a, const char *const *ids, size_t n, struct cours_link **out)
{
	return links(c, a, "SELECT cours_id, user_id FROM cours_teachers WHERE cours_id IN " IN16, ids, n, out);
}

int cours_class_links(db_conn *c, arena *a, const char *const *ids, size_t n, struct cours_link **out)
{
	return links(c, a, "SELECT cours_id, class_id FROM cours_classes WHERE cours_id IN " IN16, ids, n, out);
}

int cours_class_teacher_links(db_conn *c, arena *a, const char *class_id, struct cours_link **out)
{
	*out = NULL;
	if (!c)
		return ENT_EUNAVAIL;
	db_stmt *s = SQL_PREP(c,
			      "SELECT t.cours_id, t.user_id FROM cours_classes cc JOIN cours_teachers t"
			      " ON t.cours_id = cc.cours_id WHERE cc.class_id = ?",
			      SQL_T(class_id));
	if (!s)
		return ENT_EDB;
	struct cours_link *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		v[n].cours_id = arena_strdup(a, db_col_text(s, 0));
		v[n++].id = arena_strdup(a, db_col_text(s, 1));
	}
	db_done(s);
	if (rc < 0)
		return rc;
	if (n > 1)
		qsort(v, n, sizeof(*v), by_link);
	*out = v;
	return (int)n;
}

static int by_brief(const void *x, const void *y)
{
	const struct cours_brief *a = x, *b = y;
	return strcmp(a->id, b->id);
}

/* Fills b from columns 0-2 (id, title, subject) of s. */
static void read_brief(db_stmt *s, arena *a, struct cours_brief *b)
{
	b->id = arena_strdup(a, db_col_text(s, 0));
	b->title = arena_strdup(a, db_col_text(s, 1));
	b->subject = db_col_text(s, 2) ? arena_strdup(a, db_col_text(s, 2)) : NULL;
}

int cours_class_courses(db_conn *c, arena *a, const char *class_id, struct cours_brief **out)
{
	*out = NULL;
	if (!c)
		return ENT_EUNAVAIL;
	db_stmt *s = db_prepare(
		c, "SELECT k.id, k.title, k.subject FROM cours_classes cc JOIN cours k ON k.id = cc.cours_id"
		   " WHERE cc.class_id = ?");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, class_id);
	struct cours_brief *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		read_brief(s, a, &v[n++]);
	}
	db_done(s);
	if (rc < 0)
		return rc;
	if (n > 1)
		qsort(v, n, sizeof(*v), by_brief);
	*out = v;
	return (int)n;
}

int cours_describe(db_conn *c, arena *a, const char *const *ids, size_t n, struct cours_brief *out)
{
	if (!c)
		return ENT_EUNAVAIL;
	for (size_t i = 0; i < n; i++)
		out[i] = (struct cours_brief){.id = ids[i]};
	int found = 0;
	for (size_t at = 0; at < n; at += COURS_BATCH) {
		size_t m = n - at < COURS_BATCH ? n - at : COURS_BATCH;
		db_stmt *s = db_prepare(c, "SELECT id, title, subject FROM cours WHERE id IN " IN16);
		if (!s)
			return ENT_EDB;
		bind16(s, 1, ids + at, m);
		int rc;
		while ((rc = db_step(s)) == DB_ROW) {
			struct cours_brief b;
			read_brief(s, a, &b);
			for (size_t i = at; i < at + m; i++)
				if (!out[i].title && strcmp(out[i].id, b.id) == 0) {
					out[i].title = b.title;
					out[i].subject = b.subject;
					found++;
				}
		}
		db_done(s);
		if (rc < 0)
			return rc;
	}
	return found;
}

int cours_teaches_class(db_conn *c, const char *user_id, const char *class_id)
{
	if (!c)
		return ENT_EUNAVAIL;
	return db_exists(c,
			 "SELECT 1 FROM cours_teachers t JOIN cours_classes cc ON cc.cours_id = t.cours_id"
			 " WHERE t.user_id = ? AND cc.class_id = ?",
			 user_id, class_id);
}

int cours_find(db_conn *c, const char *title, const char *school_year, char out[37])
{
	if (!c)
		return ENT_EUNAVAIL;
	db_stmt *s = SQL_PREP(c, "SELECT id FROM cours WHERE title = ? AND school_year = ? ORDER BY id LIMIT 1",
			      SQL_T(title), SQL_T(school_year));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW)
		snprintf(out, 37, "%s", db_col_text(s, 0));
	db_done(s);
	return rc < 0 ? rc : rc == DB_ROW ? ENT_OK : ENT_ENOTFOUND;
}

int cours_of_year(db_conn *c, arena *a, const char *school_year, const char ***ids)
{
	return db_texts(c, a, "SELECT id FROM cours WHERE school_year = ? ORDER BY id", school_year, NULL, ids);
}

int cours_class_teachers(db_conn *c, arena *a, const char *class_id, const char ***ids)
{
	return db_texts(
		c, a,
		"SELECT DISTINCT t.user_id FROM cours_classes k JOIN cours_teachers t ON t.cours_id = k.cours_id"
		" WHERE k.class_id = ? ORDER BY t.user_id",
		class_id, NULL, ids);
}

int cours_teachers_of(db_conn *c, arena *a, const char *cours_id, const char ***ids)
{
	return db_texts(c, a, "SELECT user_id FROM cours_teachers WHERE cours_id = ? ORDER BY user_id", cours_id, NULL,
			ids);
}

/* ---- for the chatbot ---- */

#define MATERIAL_FILE_COLS "id, cours_id, file_id, title, publish_at"

static void material_from(db_stmt *s, arena *a, struct cours_material *m)
{
	m->id = arena_strdup(a, db_col_text(s, 0));
	m->cours_id = arena_strdup(a, db_col_text(s, 1));
	m->file_id = db_col_text(s, 2) ? arena_strdup(a, db_col_text(s, 2)) : NULL;
	m->title = arena_strdup(a, db_col_text(s, 3));
	m->publish_at = db_col_text(s, 4) ? arena_strdup(a, db_col_text(s, 4)) : NULL;
}

int cours_material_get(db_conn *c, arena *a, const char *material_id, struct cours_material *out)
{
	if (!c)
		return ENT_EUNAVAIL;
	if (!util_is_uuid(material_id))
		return ENT_ENOTFOUND;
	db_stmt *s = SQL_PREP(c, "SELECT " MATERIAL_FILE_COLS " FROM materials WHERE id = ?", SQL_T(material_id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW) {
		material_from(s, a, out);
		rc = ENT_OK;
	} else if (rc == DB_DONE)
		rc = ENT_ENOTFOUND;
	db_done(s);
	return rc;
}

int cours_materials_with_files(db_conn *c, arena *a, struct cours_material **out)
{
	*out = NULL;
	if (!c)
		return ENT_EUNAVAIL;
	db_stmt *s = db_prepare(c,
				"SELECT " MATERIAL_FILE_COLS " FROM materials WHERE file_id IS NOT NULL ORDER BY id");
	if (!s)
		return ENT_EDB;
	struct cours_material *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		material_from(s, a, &v[n++]);
	}
	db_done(s);
	*out = v;
	return rc < 0 ? rc : (int)n;
}
