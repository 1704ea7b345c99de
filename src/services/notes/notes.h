/*
 * notes.h - the C interface of the notes service, for the other services.
 *
 * The notes service owns the notes_* tables (periods, evaluations, grades, the audit trail, the
 * class figures). Another service (the support desk's grade contestation) reads one student's
 * grade and asks for an audited change of it through these functions, never the tables.
 *
 * Strings of a struct notes_grade_info live in the arena passed in, as long as it does. No
 * function checks who is asking: the caller decides who may see or change what (a student their
 * own published grade, the evaluation's teachers and administrators its grades) and answers 404
 * or 403 itself.
 */
#ifndef ENT_NOTES_H
#define ENT_NOTES_H

#include "core/arena.h"
#include "store/db.h"

/* One student's grade on one evaluation, with what a reader needs to show it. */
struct notes_grade_info {
	const char *evaluation_id, *evaluation_title, *date; /* date YYYY-MM-DD */
	const char *course_id, *course_title;
	const char *publish_at; /* RFC 3339: students see the evaluation from then on */
	int published;          /* publish_at <= now */
	int scale;              /* 20, 10, 100 ... */
	const char *status;     /* "graded", "absent", "exempt" or "not_graded" */
	int has_value;          /* status "graded" */
	double value;           /* on the evaluation's scale, when has_value */
	const char *comment;    /* the teacher's comment, or NULL */
	const char *student_id;
};

/*
 * The teachers of evaluation_id's course (user ids, sorted, as the cours service gives them) into
 * *ids (arena a). Returns how many (0: a course nobody teaches now), ENT_ENOTFOUND when there is no
 * such evaluation or its course is gone, or another negative ent_err.
 */
int notes_evaluation_teachers(db_conn *c, arena *a, const char *evaluation_id, const char ***ids);

/*
 * The grade of student_id on evaluation_id into *out. ENT_OK; ENT_ENOTFOUND when there is no such
 * evaluation, its course is gone, or the student has no grade on it (published or not: out->published
 * says); or another ent_err.
 */
int notes_student_grade(db_conn *c, arena *a, const char *evaluation_id, const char *student_id,
			struct notes_grade_info *out);

/*
 * The published grades of student_id with a value (status "graded", courses that exist), newest
 * evaluation first, at most max of them, into *out (arena a). Returns how many, or a negative
 * ent_err.
 */
int notes_student_grades(db_conn *c, arena *a, const char *student_id, int max, struct notes_grade_info **out);

/*
 * Changes the grade of student_id on evaluation_id to value (status "graded", the comment kept),
 * made by user by: the same change as a line of PUT /api/notes/evaluations/{id}/grades, with the
 * same audit entry (after publication) and the same "note.updated" event to the student, and the
 * class figures recomputed. Runs inside the caller's transaction on c, which calls bus_kick() after
 * its commit. *before (may be NULL) gets the grade as it was, read under the evaluation's lock.
 *
 * ENT_OK (also when the grade already was value: nothing is written, the caller compares *before);
 * ENT_ENOTFOUND (no such evaluation, course gone, or no grade of the student to revise);
 * ENT_EINVAL (value not between 0 and the evaluation's scale); or another ent_err.
 */
int notes_revise_grade(db_conn *c, arena *a, const char *evaluation_id, const char *student_id, double value,
		       const char *by, struct notes_grade_info *before);

#endif
