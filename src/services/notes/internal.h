/*
 * internal.h - what the notes service's files share (never included outside the folder).
 *
 * Files: notes.c (service table, periods, evaluations, access), schema.c (the tables and their
 * migrations), grades.c (entering grades, the audit trail, publication events and the background
 * publisher), calc.c (the average rules, pure functions), report.c (a student's report card),
 * grid.c (a course's class grid and its CSV), stats.c (the class figures of the report card,
 * stored when grades change), demo.c (demo data and the GDPR hooks), generate.c (the grades of
 * `ent demo --scale`), lookup.c (reads for other services; notes.h is the interface they use).
 */
#ifndef ENT_NOTES_INTERNAL_H
#define ENT_NOTES_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/http.h"
#include "core/service.h"
#include "store/db.h"

/* ---- calc.c: the average rules (docs/notes.md) ---- */

/* A grade's status. NG_NONE: the student has no grade row for the evaluation. */
enum { NG_NONE = 0, NG_GRADED = 1, NG_ABSENT = 2, NG_EXEMPT = 3, NG_NOT_GRADED = 4 };

struct notes_grade {
	const char *student_id;
	int status;   /* NG_* */
	double value; /* on the evaluation's scale; meaningful for NG_GRADED only */
	const char *comment;
	const char *updated_at;
};

struct notes_eval {
	const char *id, *course_id, *period_id, *title, *date, *publish_at;
	double coef;
	int scale;
	int visible; /* publish_at <= now */
	struct notes_grade *grades;
	size_t ngrades;
};

/* The evaluations of one course in one period: a subject of the report card. */
struct notes_subject {
	const char *course_id;
	const struct notes_eval **evals;
	size_t nevals;
};

/* A value on the scale brought to /20 (value * 20 / scale). */
double notes_value20(double value, int scale);

/* The grade of student in e, or NULL. */
const struct notes_grade *notes_find_grade(const struct notes_eval *e, const char *student);

/*
 * Class statistics of one evaluation on /20 over its graded grades. Returns how many were graded;
 * *avg, *min, *max are NAN when none.
 */
int notes_eval_stats(const struct notes_eval *e, double *avg, double *min, double *max);

/*
 * A student's subject average: sum(value20 * coef) / sum(coef) over the evaluations where the
 * student is graded (absent, exempt, not graded and missing grades are left out), counting only
 * evaluations dated upto or before (all when upto is NULL). NAN when nothing counts.
 */
double notes_subject_avg(const struct notes_subject *s, const char *student, const char *upto);

/* A student's general average: the plain mean of their subject averages that exist. NAN if none. */
double notes_general_avg(const struct notes_subject *subs, size_t n, const char *student, const char *upto);

/*
 * Class statistics of a subject: over the students graded at least once in it, the mean, minimum
 * and maximum of their subject averages. Returns the number of students counted (values NAN if 0).
 */
int notes_subject_class(const struct notes_subject *s, double *avg, double *min, double *max);

/* The mean of the general averages of every student graded in any of the subjects; NAN if none. */
double notes_general_class(const struct notes_subject *subs, size_t n);

/* Every class figure of a report card's period at once (what stats.c stores). */
struct notes_class_figures {
	struct {
		int n;                /* students counted */
		double avg, min, max; /* NAN when n == 0 */
	} * subj;                     /* per subject, as notes_subject_class() */
	double general;               /* as notes_general_class() */
};

/*
 * Fills out with the results of notes_subject_class() for each of subs and notes_general_class()
 * over subs, bit for bit the same (same operations in the same order), in time linear in the
 * number of grades instead of quadratic. out->subj is allocated in a.
 */
void notes_class_compute(arena *a, const struct notes_subject *subs, size_t n, struct notes_class_figures *out);

/* A student's average in a subject, and the position of the first evaluation where they are graded. */
struct notes_student_avg {
	const char *student_id;
	double avg; /* notes_subject_avg(s, student_id, NULL), the same double */
	size_t first_eval;
};

/*
 * The students graded at least once in s, in order of first sight (evaluations in order, grades
 * in order), each with their subject average. *out is allocated in a. Returns how many.
 */
size_t notes_subject_students(arena *a, const struct notes_subject *s, struct notes_student_avg **out);

/* Writes v rounded to 2 decimals, or null for NAN (rounding happens only here, at output). */
void notes_jw_num(jw *w, double v);
/* jw_double(w, v), the same text, faster for numbers with at most 2 decimals. */
void notes_jw_double(jw *w, double v);
/* The value text of jw_double(v) and notes_jw_num(v), appended to b (no separator). */
void notes_buf_double(buf *b, double v);
void notes_buf_num(buf *b, double v);
/* The same as text into out ("" for NAN), for CSV. */
void notes_fmt_num(char out[32], double v);

/* Status names <-> NG_*. notes_status_parse returns NG_NONE for an unknown name. */
const char *notes_status_name(int status);
int notes_status_parse(const char *s);

/* ---- schema.c ---- */

/* The service's migrations, in order (the service table in notes.c). */
#define NOTES_NMIGRATIONS 5
extern const struct migration notes_migrations[NOTES_NMIGRATIONS];

/* ---- notes.c ---- */

/* A caller's access to a course: none (absent: 404), read-only denied (exists: 403), edit. */
enum { NOTES_NOCOURSE = 0, NOTES_DENIED = 1, NOTES_EDIT = 2 };

/* NOTES_* for the caller on course_id, or a negative ent_err. */
int notes_course_access(db_conn *c, const char *course_id, const char *user_id, unsigned roles);

/*
 * Loads evaluation id's course for the caller and checks they may edit it. Answers 404 (no such
 * evaluation), 403 (not a teacher of its course) or 5xx and returns -1; 0 when allowed, with the
 * course id copied into course_id.
 */
int notes_eval_for_request(http_req *req, const char *id, char course_id[37]);
/* notes_eval_for_request, then the request's JSON body: the body, or NULL after answering. */
json_t *notes_eval_body(http_req *req, const char *id, char course_id[37]);

/* The current time as RFC 3339 into out. */
void notes_now(char out[21]);

/*
 * Checks ?period_id= of req: NULL when absent, else the period id (the request's string). When
 * it is not a period, answers 400 itself and sets *bad (else *bad is 0).
 */
const char *notes_period_arg(http_req *req, db_conn *c, int *bad);

/* 1 if s is a valid calendar date YYYY-MM-DD. */
int notes_valid_date(const char *s);

/*
 * A set of ids (courses, evaluations) is read NOTES_BATCH at a time with one constant statement,
 * "... IN " NOTES_IN16: no query text is built for the number of ids, and a set costs one round
 * trip per 16 on PostgreSQL. notes_bind_ids() binds ids[0..n) to the 16 parameters from first
 * (the first 16 of them when n is larger) and NULL, which matches nothing, to the others.
 */
#define NOTES_BATCH 16
#define NOTES_IN16 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
void notes_bind_ids(db_stmt *s, int first, const char *const *ids, size_t n);

/* 1 if student_id has a grade on an evaluation of one of courses[0..n), 0 if not, or an ent_err. */
int notes_graded_in(db_conn *c, const char *student_id, const char *const *courses, size_t n);

/* ---- grades.c ---- */

/*
 * Appends every grade of evaluation e (student_id order) to e->grades (arena a). 0 or an
 * ent_err.
 */
int notes_load_grades(db_conn *c, arena *a, struct notes_eval *e);

void notes_grades_put(http_req *req);
void notes_grades_get(http_req *req);
void notes_audit_get(http_req *req);

/*
 * Publishes "note.published" for evaluation eval_id if it is visible (publish_at <= now) and not
 * yet announced, marking it announced: exactly once, whoever calls first. Must run inside the
 * caller's transaction on c. *published is set to 1 when an event was written. Returns 0 or an
 * ent_err.
 */
int notes_publish_if_due(db_conn *c, arena *a, const char *eval_id, const char *now, int *published);

/* The background publisher of evaluations whose publish_at comes later (start/stop). */
int notes_start(void);
void notes_stop(void);

/* ---- report.c ---- */

void notes_me(http_req *req);
void notes_student(http_req *req);

/* ---- grid.c ---- */

void notes_grid(http_req *req);
void notes_grid_csv(http_req *req);

/* ---- stats.c: class figures kept up to date at write time ---- */

/* A course (or a class) id and a period id. */
struct notes_pair {
	const char *id, *period_id;
};

/*
 * Recomputes the stored figures of each (course, period) of pairs (sorted in place) and of the
 * classes of those courses for those periods, as of now. Only the evaluation only_eval's own
 * figures are rewritten when it is not NULL (the others of those courses did not change). Must run
 * inside the caller's transaction, after its changes. Returns 0 or an ent_err.
 */
int notes_stats_refresh(db_conn *c, arena *a, struct notes_pair *pairs, size_t n, const char *only_eval,
			const char *now);

/* notes_stats_refresh() for the (course, period) of evaluation eval_id (nothing if it is gone). */
int notes_stats_refresh_eval(db_conn *c, arena *a, const char *eval_id, const char *only_eval, const char *now);

/* Queues every (course, period) that has evaluations for notes_stats_drain(). */
int notes_stats_enqueue_all(db_conn *c);

/*
 * Computes the queued figures (notes_stats_todo), a batch per transaction, until the queue is
 * empty or stop() answers non-zero. Returns how many were computed or an ent_err.
 */
int notes_stats_drain(db_conn *c, int (*stop)(void));

/* ---- demo.c ---- */

int notes_demo(db_conn *c, FILE *out);
int notes_export_user(db_conn *c, const char *user_id, json_t *out);
int notes_erase_user(db_conn *c, const char *user_id);

/* A period of the demo and the generator: Trimestre 1..3 of a school year. */
struct period_def {
	char name[32], year[24], starts[24], ends[24];
	char id[37];
};

/* The three trimesters of the school year starting in September of y (demo.c). */
void notes_trimesters(int y, struct period_def out[3]);

/* ---- generate.c ---- */

/* The grades of `ent demo --scale`. */
struct scale;
int notes_generate(db_conn *c, const struct scale *sc);

#endif
