/*
 * demo.c - the notes service's part of `ent demo`, and its GDPR hooks.
 *
 * Demo: the trimesters of the current and the previous school year (the school year starts on
 * 1 September; trimesters end on 30 November, at the end of February and on 4 July), then, for each demo course of the cours service (found by title), three
 * evaluations in the period before today's and three in today's period, dated between the start
 * of the period and today, with grades for every student of the course's classes (a few absent or
 * exempt). They are published (publish_at two days after the evaluation, or now), and their
 * "note.published" events are written to the outbox in the same transaction, so the notifications
 * service turns them into notifications when the server runs.
 *
 * Idempotent: periods are found by (school year, name), evaluations by (course, period, title).
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/util.h"
#include "core/export.h"
#include "core/sql.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

static const char *const demo_courses[] = {"Mathématiques — 6e A", "Français — 5e B", "Histoire-Géographie — 4e C"};

struct demo_eval {
	const char *title;
	int scale;
	double coef;
};

/* Three evaluations for the earlier period, three for the current one. */
static const struct demo_eval demo_evals[2][3] = {
	{{"Contrôle n°1", 20, 2}, {"Interrogation écrite", 10, 1}, {"Devoir maison n°1", 20, 1}},
	{{"Contrôle n°2", 20, 2}, {"Interrogation orale", 20, 0.5}, {"Exposé", 100, 1}},
};

static const char *const demo_comments[] = {"Très bon travail.", "Des progrès, continue ainsi.",
					    "Attention aux erreurs d'inattention.", "Travail sérieux."};

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

void notes_trimesters(int y, struct period_def out[3])
{
	for (int i = 0; i < 3; i++) {
		snprintf(out[i].name, sizeof(out[i].name), "Trimestre %d", i + 1);
		snprintf(out[i].year, sizeof(out[i].year), "%04d-%04d", y, y + 1);
	}
	snprintf(out[0].starts, sizeof(out[0].starts), "%04d-09-01", y);
	snprintf(out[0].ends, sizeof(out[0].starts), "%04d-11-30", y);
	snprintf(out[1].starts, sizeof(out[0].starts), "%04d-12-01", y);
	snprintf(out[1].ends, sizeof(out[0].starts), "%04d-02-%02d", y + 1, leap(y + 1) ? 29 : 28);
	snprintf(out[2].starts, sizeof(out[0].starts), "%04d-03-01", y + 1);
	snprintf(out[2].ends, sizeof(out[0].starts), "%04d-07-04", y + 1);
}

static int period_ensure(db_conn *c, struct period_def *p, const char *now)
{
	db_stmt *s = SQL_PREP(c, "SELECT id FROM notes_periods WHERE school_year = ? AND name = ?", SQL_T(p->year),
			      SQL_T(p->name));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW)
		snprintf(p->id, sizeof(p->id), "%s", db_col_text(s, 0));
	db_done(s);
	if (rc != DB_DONE)
		return rc < 0 ? rc : ENT_OK;
	util_uuid(p->id);
	s = db_prepare(c,
		       "INSERT INTO notes_periods (id, name, school_year, starts_on, ends_on, created_at, updated_at)"
		       " VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (!s)
		return ENT_EDB;
	const char *v[7] = {p->id, p->name, p->year, p->starts, p->ends, now, now};
	for (int i = 0; i < 7; i++)
		db_bind_text(s, i + 1, v[i]);
	rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/* Days since the epoch of a YYYY-MM-DD date (UTC). */
static time_t day_of(const char *date)
{
	struct tm tm = {0};
	tm.tm_year = (date[0] - '0') * 1000 + (date[1] - '0') * 100 + (date[2] - '0') * 10 + (date[3] - '0') - 1900;
	tm.tm_mon = (date[5] - '0') * 10 + (date[6] - '0') - 1;
	tm.tm_mday = (date[8] - '0') * 10 + (date[9] - '0');
	tm.tm_hour = 12;
	return timegm(&tm);
}

static void date_of(time_t t, char out[11])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* A realistic grade on /20 for student i in evaluation j: each student has a level, with noise. */
static double demo_value20(size_t i, size_t j)
{
	static const double level[] = {14.5, 11, 16.5, 9, 12.5, 17.5, 8, 13, 10.5, 15};
	static const double noise[] = {0, 1.5, -2, 2.5, -1, 1, -2.5, 0.5, 2, -1.5, 3};
	double v = level[i % 10] + noise[(i * 3 + j * 5) % 11];
	return v < 0 ? 0 : v > 20 ? 20 : v;
}

static int demo_evaluation(db_conn *c, arena *a, const char *course_id, const char *teacher, const struct period_def *p,
			   const struct demo_eval *de, const char *date, char **students, int nstudents, size_t j,
			   const char *now, int *made)
{
	int rc = SQL_RUN(c, "SELECT 1 FROM notes_evaluations WHERE course_id = ? AND period_id = ? AND title = ?",
			 SQL_T(course_id), SQL_T(p->id), SQL_T(de->title));
	if (rc != DB_DONE)
		return rc < 0 ? rc : ENT_OK;
	char id[37], pub[21];
	util_uuid(id);
	time_t pt = day_of(date) + 2 * 86400 + 5 * 3600; /* two days later, 17:00 */
	util_time_rfc3339(pt < time(NULL) ? pt : time(NULL), pub);
	if ((rc = db_begin(c)))
		return rc;
	rc = SQL_RUN(
		c,
		"INSERT INTO notes_evaluations (id, course_id, period_id, title, held_on, coefficient, scale,"
		" publish_at, notified, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
		SQL_T(id), SQL_T(course_id), SQL_T(p->id), SQL_T(de->title), SQL_T(date), SQL_D(de->coef),
		SQL_I(de->scale), SQL_T(pub), SQL_T(teacher), SQL_T(now), SQL_T(now));
	for (int i = 0; rc >= 0 && i < nstudents; i++) {
		const char *status = "graded";
		if ((i * 7 + j * 3) % 13 == 5)
			status = "absent";
		else if ((i * 5 + j) % 19 == 7)
			status = "exempt";
		/* On the evaluation's scale, to the half point (to the point on /100). */
		double step = de->scale >= 100 ? 1 : 0.5;
		double v = round(demo_value20((size_t)i, j) * de->scale / 20.0 / step) * step;
		db_stmt *s = db_prepare(
			c, "INSERT INTO notes_grades (evaluation_id, student_id, status, value, comment, updated_by,"
			   " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
		if (!s) {
			rc = ENT_EDB;
			break;
		}
		db_bind_text(s, 1, id);
		db_bind_text(s, 2, students[i]);
		db_bind_text(s, 3, status);
		if (strcmp(status, "graded") == 0)
			db_bind_double(s, 4, v);
		else
			db_bind_null(s, 4);
		db_bind_text_or_null(s, 5, (i + (int)j) % 4 == 0 ? demo_comments[(size_t)(i / 4) % 4] : NULL);
		db_bind_text(s, 6, teacher);
		db_bind_text(s, 7, now);
		rc = db_step(s);
		db_done(s);
	}
	int published = 0;
	if (rc >= 0)
		rc = notes_publish_if_due(c, a, id, now, &published);
	if (rc >= 0)
		rc = db_commit(c);
	if (rc < 0) {
		db_rollback(c);
		return rc;
	}
	(*made)++;
	return ENT_OK;
}

int notes_demo(db_conn *c, FILE *out)
{
	arena *a = arena_new(0);
	char year[10], now[21], today[11];
	users_current_school_year(year);
	notes_now(now);
	date_of(time(NULL), today);
	int y = (year[0] - '0') * 1000 + (year[1] - '0') * 100 + (year[2] - '0') * 10 + (year[3] - '0');
	struct period_def ps[6];
	notes_trimesters(y - 1, ps);
	notes_trimesters(y, ps + 3);
	int rc = ENT_OK, made = 0;
	for (int i = 0; !rc && i < 6; i++)
		rc = period_ensure(c, &ps[i], now);
	/* Today's period and the one before. */
	int cur = 0; /* the last one begun (in the summer holidays: the third trimester just ended) */
	for (int i = 0; i < 6; i++)
		if (strcmp(ps[i].starts, today) <= 0)
			cur = i;
	const struct period_def *use[2] = {&ps[cur > 0 ? cur - 1 : 0], &ps[cur]};
	fprintf(out, "Demo grades (%s, %s):\n", use[0]->name, use[1]->name);
	for (size_t k = 0; !rc && k < sizeof(demo_courses) / sizeof(demo_courses[0]); k++) {
		/* The course and its first teacher (by id), from the cours service. */
		char cid[37];
		const char *course = NULL, *teacher = NULL;
		struct cours_link *tl;
		if (cours_find(c, demo_courses[k], year, cid) == ENT_OK) {
			const char *one = cid;
			if (cours_teacher_links(c, a, &one, 1, &tl) > 0) {
				course = arena_strdup(a, cid);
				teacher = tl[0].id;
			}
		}
		if (!course)
			continue; /* the cours demo did not create it */
		const char **classes;
		int ncls = cours_classes_of(c, a, course, &classes);
		if (ncls < 0) {
			rc = ncls;
			break;
		}
		for (int q = 0; !rc && q < ncls; q++) {
			char **students;
			int n = users_class_members(c, a, classes[q], &students);
			if (n < 0) {
				rc = n;
				break;
			}
			for (int pi = 0; !rc && pi < 2; pi++) {
				const struct period_def *p = use[pi];
				time_t t0 = day_of(p->starts), t1 = day_of(p->ends), tn = day_of(today);
				if (t1 > tn)
					t1 = tn;
				if (t1 < t0)
					t1 = t0;
				for (size_t j = 0; !rc && j < 3; j++) {
					static const double at[3] = {0.2, 0.5, 0.8};
					char date[11];
					date_of(t0 + (time_t)((double)(t1 - t0) * at[j] / 86400.0) * 86400, date);
					rc = demo_evaluation(c, a, course, teacher, p, &demo_evals[pi][j], date,
							     students, n, j + 3 * (size_t)pi, now, &made);
				}
			}
		}
		if (!rc)
			fprintf(out, "  %-32s 6 evaluations\n", demo_courses[k]);
	}
	/* The class figures of what was written (stats.c). */
	if (!rc && made && !(rc = notes_stats_enqueue_all(c))) {
		int n = notes_stats_drain(c, NULL);
		rc = n < 0 ? n : ENT_OK;
	}
	if (!rc)
		fprintf(out, "%d evaluations created now (%s).\n", made,
			made ? "first run" : "already loaded, nothing changed");
	arena_free(a);
	return rc;
}

/* ---- GDPR ---- */

/*
 * The export shows what the student's own answers show (SECURITY.md: every way out applies the
 * same visibility): grades, comments and their history only for evaluations already published.
 * A grade entered before its publication date appears in the export from that date, as on the card.
 */
int notes_export_user(db_conn *c, const char *user_id, json_t *out)
{
	char now[21];
	notes_now(now);
	json_t *grades = json_array(), *audit = json_array();
	int rc = EXPORT_ROWS(
		c, grades,
		"evaluation_id evaluation_title course_id date scale:i coefficient:f status value:f comment updated_at",
		"SELECT e.id, e.title, e.course_id, e.held_on, e.scale, e.coefficient, g.status, g.value, g.comment,"
		" g.updated_at FROM notes_grades g JOIN notes_evaluations e ON e.id = g.evaluation_id"
		" WHERE g.student_id = ? AND e.publish_at <= ? ORDER BY e.held_on, e.id",
		SQL_T(user_id), SQL_T(now));
	if (!rc)
		rc = EXPORT_ROWS(c, audit,
				 "evaluation_id changed_by changed_at old_status old_value:f new_status new_value:f",
				 "SELECT a.evaluation_id, a.changed_by, a.changed_at, a.old_status, a.old_value,"
				 " a.new_status, a.new_value FROM notes_audit a JOIN notes_evaluations e"
				 " ON e.id = a.evaluation_id WHERE a.student_id = ? AND e.publish_at <= ?"
				 " ORDER BY a.changed_at, a.seq",
				 SQL_T(user_id), SQL_T(now));
	return export_put(out, "notes", rc, "grades", grades, "audit", audit, NULL);
}

int notes_erase_user(db_conn *c, const char *user_id)
{
	/* A student's grades and the history of their grades go; a teacher's name on others' history stays as an id. */
	/* The subjects where they were graded: their class figures are recomputed without them. */
	arena *a = arena_new(0);
	struct notes_pair *pairs = NULL;
	size_t np = 0, cap = 0;
	db_stmt *q = db_prepare(c,
				"SELECT DISTINCT e.course_id, e.period_id FROM notes_grades g JOIN notes_evaluations e"
				" ON e.id = g.evaluation_id WHERE g.student_id = ?");
	if (!q) {
		arena_free(a);
		return ENT_EDB;
	}
	db_bind_text(q, 1, user_id);
	int qrc;
	while ((qrc = db_step(q)) == DB_ROW) {
		pairs = arena_grow(a, pairs, np, &cap, sizeof(*pairs));
		pairs[np].id = arena_strdup(a, db_col_text(q, 0));
		pairs[np++].period_id = arena_strdup(a, db_col_text(q, 1));
	}
	db_done(q);
	if (qrc < 0) {
		arena_free(a);
		return qrc;
	}
	static const char *const sqls[] = {"DELETE FROM notes_audit WHERE student_id = ?",
					   "DELETE FROM notes_grades WHERE student_id = ?"};
	int rc = SQL_EACH(c, sqls, user_id);
	char now[21];
	notes_now(now);
	if (rc == ENT_OK && np)
		rc = notes_stats_refresh(c, a, pairs, np, NULL, now);
	arena_free(a);
	return rc;
}
