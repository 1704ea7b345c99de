/*
 * lookup.c - reads of the notes service for other services (notes.h): the teachers of an
 * evaluation, one student's grade, a student's latest grades. The audited change of a grade,
 * notes_revise_grade(), is in grades.c beside the grade entry it shares its code with.
 *
 * These read only the notes service's tables; the courses' titles and teachers come from the cours
 * service's C interface (cours.h). An evaluation whose course is gone is gone with it, as on the
 * report card.
 */
#include "internal.h"
#include "notes.h"

#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/cours/cours.h"

int notes_evaluation_teachers(db_conn *c, arena *a, const char *evaluation_id, const char ***ids)
{
	*ids = NULL;
	if (!c)
		return ENT_EUNAVAIL;
	if (!util_is_uuid(evaluation_id))
		return ENT_ENOTFOUND;
	db_stmt *s = SQL_PREP(c, "SELECT course_id FROM notes_evaluations WHERE id = ?", SQL_T(evaluation_id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	const char *course = rc == DB_ROW ? arena_strdup(a, db_col_text(s, 0)) : NULL;
	db_done(s);
	if (rc < 0)
		return rc;
	if (!course)
		return ENT_ENOTFOUND;
	if ((rc = cours_exists(c, course)) <= 0)
		return rc < 0 ? rc : ENT_ENOTFOUND;
	return cours_teachers_of(c, a, course, ids);
}

#define GRADE_COLS                                                                                                     \
	"g.evaluation_id, e.course_id, e.title, e.held_on, e.scale, e.publish_at, g.status, g.value, g.comment,"       \
	" g.student_id"

static void grade_read(db_stmt *s, arena *a, const char *now, struct notes_grade_info *g)
{
	memset(g, 0, sizeof(*g));
	g->evaluation_id = arena_strdup(a, db_col_text(s, 0));
	g->course_id = arena_strdup(a, db_col_text(s, 1));
	g->evaluation_title = arena_strdup(a, db_col_text(s, 2));
	g->date = arena_strdup(a, db_col_text(s, 3));
	g->scale = (int)db_col_int64(s, 4);
	g->publish_at = arena_strdup(a, db_col_text(s, 5));
	g->published = strcmp(g->publish_at, now) <= 0;
	g->status = arena_strdup(a, db_col_text(s, 6));
	g->has_value = !db_col_is_null(s, 7);
	g->value = g->has_value ? db_col_double(s, 7) : 0;
	g->comment = db_col_text(s, 8) ? arena_strdup(a, db_col_text(s, 8)) : NULL;
	g->student_id = arena_strdup(a, db_col_text(s, 9));
}

int notes_student_grade(db_conn *c, arena *a, const char *evaluation_id, const char *student_id,
			struct notes_grade_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!c)
		return ENT_EUNAVAIL;
	if (!util_is_uuid(evaluation_id) || !student_id)
		return ENT_ENOTFOUND;
	char now[21];
	notes_now(now);
	db_stmt *s = SQL_PREP(c,
			      "SELECT " GRADE_COLS " FROM notes_grades g JOIN notes_evaluations e"
			      " ON e.id = g.evaluation_id WHERE g.evaluation_id = ? AND g.student_id = ?",
			      SQL_T(evaluation_id), SQL_T(student_id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW)
		grade_read(s, a, now, out);
	db_done(s);
	if (rc < 0)
		return rc;
	if (rc != DB_ROW)
		return ENT_ENOTFOUND;
	out->course_title = cours_title(c, a, out->course_id);
	if (!out->course_title) {
		/* cours_title() is NULL on an error too: ask again to tell a gone course from a failure. */
		rc = cours_exists(c, out->course_id);
		return rc < 0 ? rc : ENT_ENOTFOUND;
	}
	return ENT_OK;
}

int notes_student_grades(db_conn *c, arena *a, const char *student_id, int max, struct notes_grade_info **out)
{
	*out = NULL;
	if (!c)
		return ENT_EUNAVAIL;
	if (max <= 0)
		return 0;
	char now[21];
	notes_now(now);
	db_stmt *s = SQL_PREP(c,
			      "SELECT " GRADE_COLS " FROM notes_grades g JOIN notes_evaluations e"
			      " ON e.id = g.evaluation_id WHERE g.student_id = ? AND g.status = 'graded'"
			      " AND e.publish_at <= ? ORDER BY e.held_on DESC, e.id DESC",
			      SQL_T(student_id), SQL_T(now));
	if (!s)
		return ENT_EDB;
	struct notes_grade_info *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		grade_read(s, a, now, &v[n++]);
	}
	db_done(s);
	if (rc < 0)
		return rc;
	/* Only those of courses that exist, as the report card shows them. */
	int kept = 0;
	for (size_t i = 0; i < n && kept < max; i++) {
		if (!(v[i].course_title = cours_title(c, a, v[i].course_id)))
			continue;
		v[kept++] = v[i];
	}
	*out = v;
	return kept;
}
