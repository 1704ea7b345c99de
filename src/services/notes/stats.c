/*
 * stats.c - the class statistics of the report card, kept up to date when grades are written.
 *
 * A report card shows, besides the student's own grades, figures about everyone graded: per
 * evaluation (mean, min, max on /20), per subject (mean, min, max of the subject averages) and per
 * period (mean of the general averages). Computing them when a card is read means reading every
 * classmate's grades at each request; instead they are computed when grades change and stored:
 *
 *   notes_evaluations    stat_n, stat_avg, stat_lo, stat_hi: over every grade of the evaluation
 *                        (columns of the evaluation, so the card reads them with it; NULL stat_n:
 *                        not computed yet);
 *   notes_subject_stats  (course, period)    the subject figures over the evaluations visible to
 *                                            students, nevals (how many), stale_at;
 *   notes_subject_students (course, period, student)  each student's subject average over those
 *                                            evaluations and first_at ("date id" of the first one
 *                                            where they are graded), what a class average is built on;
 *   notes_class_stats    (class, period)     the period's class average over the subjects of the
 *                                            class's courses, courses (their ids in card order),
 *                                            stale_at.
 *
 * The stored numbers are produced by the same functions of calc.c, over the same rows in the
 * same order, as a card computed from scratch: they are bit for bit the ones the card would
 * compute (floating-point sums depend on their order, so nothing is summed incrementally).
 *
 * Visibility moves with the clock: a subject's figures count the evaluations visible when they
 * were computed, and stale_at is the publish_at of the first one that was not visible yet. A
 * reader uses a row only while now < stale_at and the card holds the same evaluations (nevals) or
 * the same subjects in the same order (courses); otherwise it computes that part from the grades
 * (report.c), so a card is always exact, stored figures only make it cheap. The background
 * publisher refreshes the figures of an evaluation when it announces it.
 *
 * notes_stats_refresh() runs inside the transaction that changed the grades or the evaluations.
 * On PostgreSQL (READ COMMITTED) two transactions could otherwise each compute from a state
 * without the other's change and the last one would store stale figures: the refresh first takes
 * a row lock on each row it rewrites (an upsert that changes nothing), subjects before classes,
 * each in sorted order, so concurrent refreshes queue and never deadlock among themselves; the
 * reads that follow see what the previous holder committed.
 *
 * notes_stats_todo lists (course, period) pairs and classes whose figures are missing: filled by
 * the migration that created these tables (existing databases), the generator and the demo, and
 * drained by notes_stats_drain() (the background publisher, or the generator at its end).
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sql.h"
#include "services/cours/cours.h"

static int pair_cmp(const void *x, const void *y)
{
	const struct notes_pair *a = x, *b = y;
	int d = strcmp(a->id, b->id);
	return d ? d : strcmp(a->period_id, b->period_id);
}

static void bind_num(db_stmt *s, int idx, double v)
{
	if (isnan(v))
		db_bind_null(s, idx);
	else
		db_bind_double(s, idx, v);
}

/*
 * Loads the evaluations of course in period (all of them, by date and id) with every grade (by
 * student), as the report card orders them. *out is an arena array.
 *
 * Two reads rather than one join ordered by (date, id, student): the rows come in the same order
 * (the same ORDER BY keys, evaluation by evaluation), but each evaluation's grades come straight
 * from the primary key (evaluation_id, student_id) in order, where the join sorted every grade row.
 */
static int load_course_period(db_conn *c, arena *a, const char *course, const char *period, struct notes_eval **out,
			      size_t *n)
{
	db_stmt *s = SQL_PREP(c,
			      "SELECT id, held_on, coefficient, scale, publish_at FROM notes_evaluations"
			      " WHERE course_id = ? AND period_id = ? ORDER BY held_on, id",
			      SQL_T(course), SQL_T(period));
	if (!s)
		return ENT_EDB;
	struct notes_eval *v = NULL;
	size_t nv = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, nv, &cap, sizeof(*v));
		struct notes_eval *e = &v[nv++];
		memset(e, 0, sizeof(*e));
		e->id = arena_strdup(a, db_col_text(s, 0));
		e->course_id = course;
		e->period_id = period;
		e->date = arena_strdup(a, db_col_text(s, 1));
		e->coef = db_col_double(s, 2);
		e->scale = (int)db_col_int64(s, 3);
		e->publish_at = arena_strdup(a, db_col_text(s, 4));
	}
	db_done(s);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < nv; i++) {
		struct notes_eval *e = &v[i];
		s = db_prepare(
			c,
			"SELECT student_id, status, value FROM notes_grades WHERE evaluation_id = ? ORDER BY student_id");
		if (!s)
			return ENT_EDB;
		db_bind_text(s, 1, e->id);
		size_t gcap = 0;
		while ((rc = db_step(s)) == DB_ROW) {
			e->grades = arena_grow(a, e->grades, e->ngrades, &gcap, sizeof(*e->grades));
			struct notes_grade *g = &e->grades[e->ngrades++];
			memset(g, 0, sizeof(*g));
			g->student_id = arena_strdup(a, db_col_text(s, 0));
			g->status = notes_status_parse(db_col_text(s, 1));
			g->value = db_col_is_null(s, 2) ? 0 : db_col_double(s, 2);
		}
		db_done(s);
		if (rc < 0)
			return rc;
	}
	*out = v;
	*n = nv;
	return ENT_OK;
}

static int eval_stats_store(db_conn *c, const struct notes_eval *e)
{
	double avg, lo, hi;
	int n = notes_eval_stats(e, &avg, &lo, &hi);
	db_stmt *s = db_prepare(
		c, "UPDATE notes_evaluations SET stat_n = ?, stat_avg = ?, stat_lo = ?, stat_hi = ? WHERE id = ?");
	if (!s)
		return ENT_EDB;
	db_bind_int64(s, 1, n);
	bind_num(s, 2, avg);
	bind_num(s, 3, lo);
	bind_num(s, 4, hi);
	db_bind_text(s, 5, e->id);
	int rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/* Whether a grade has been entered in e (a row other than not_graded): students see it only then. */
static int entered(const struct notes_eval *e)
{
	for (size_t i = 0; i < e->ngrades; i++)
		if (e->grades[i].status != NG_NOT_GRADED)
			return 1;
	return 0;
}

/*
 * The subject of the evaluations of v visible at now (publish_at passed and a grade entered, as
 * report.c reads them); *stale_at: the first publish_at after now.
 */
static void visible_subject(arena *a, const struct notes_eval *v, size_t n, const char *now, struct notes_subject *sj,
			    const char **stale_at)
{
	sj->evals = arena_alloc(a, (n ? n : 1) * sizeof(*sj->evals));
	sj->nevals = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].publish_at, now) <= 0) {
			if (entered(&v[i]))
				sj->evals[sj->nevals++] = &v[i];
		} else if (!*stale_at || strcmp(v[i].publish_at, *stale_at) < 0)
			*stale_at = v[i].publish_at;
	}
}

static int store_subject_students(db_conn *c, arena *a, const struct notes_pair *p, const struct notes_subject *sj,
				  const struct notes_student_avg *st, size_t nst);

/* Recomputes the figures of one (course, period): its evaluations' (only_eval alone if not NULL) and the subject's. */
static int refresh_subject(db_conn *c, arena *a, const struct notes_pair *p, const char *only_eval, const char *now)
{
	/* The row lock first (see the top of the file). */
	int rc = db_run(c,
			"INSERT INTO notes_subject_stats (course_id, period_id, nevals, n) VALUES (?, ?, 0, 0)"
			" ON CONFLICT (course_id, period_id) DO UPDATE SET nevals = notes_subject_stats.nevals",
			p->id, p->period_id);
	if (rc)
		return rc;
	struct notes_eval *v;
	size_t n;
	if ((rc = load_course_period(c, a, p->id, p->period_id, &v, &n)))
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((!only_eval || strcmp(only_eval, v[i].id) == 0) && (rc = eval_stats_store(c, &v[i])))
			return rc;
	struct notes_subject sj = {.course_id = p->id};
	const char *stale = NULL;
	visible_subject(a, v, n, now, &sj, &stale);
	struct notes_class_figures f;
	notes_class_compute(a, &sj, 1, &f);
	db_stmt *s = db_prepare(c, "UPDATE notes_subject_stats SET nevals = ?, n = ?, average = ?, lo = ?, hi = ?,"
				   " stale_at = ? WHERE course_id = ? AND period_id = ?");
	if (!s)
		return ENT_EDB;
	db_bind_int64(s, 1, (int64_t)sj.nevals);
	db_bind_int64(s, 2, f.subj[0].n);
	bind_num(s, 3, f.subj[0].avg);
	bind_num(s, 4, f.subj[0].min);
	bind_num(s, 5, f.subj[0].max);
	db_bind_text_or_null(s, 6, stale);
	db_bind_text(s, 7, p->id);
	db_bind_text(s, 8, p->period_id);
	rc = db_step(s);
	db_done(s);
	if (rc < 0)
		return rc;
	/* Each student's subject average, for the class averages of the periods (refresh_class). */
	struct notes_student_avg *st;
	size_t nst = notes_subject_students(a, &sj, &st);
	if ((rc = store_subject_students(c, a, p, &sj, st, nst)))
		return rc;
	return db_run(c, "DELETE FROM notes_stats_todo WHERE kind = 's' AND id = ? AND period_id = ?", p->id,
		      p->period_id);
}

/* 1 when the stored row (average, NULL as NAN; first_at) is the computed one, bit for bit. */
static int same_student_row(const struct notes_student_avg *st, const char *first_at, double stored_avg,
			    const char *stored_first)
{
	if (isnan(st->avg) || isnan(stored_avg))
		return isnan(st->avg) && isnan(stored_avg) && strcmp(first_at, stored_first) == 0;
	return memcmp(&st->avg, &stored_avg, sizeof(double)) == 0 && strcmp(first_at, stored_first) == 0;
}

/*
 * Brings the rows of notes_subject_students of (course, period) to the nst students of st: a row
 * whose average (bit for bit) and first_at are already stored is left alone, a changed or new one
 * is upserted, a student no longer graded loses their row. A batch of grades usually changes a
 * few students' averages, not the whole class's.
 */
static int store_subject_students(db_conn *c, arena *a, const struct notes_pair *p, const struct notes_subject *sj,
				  const struct notes_student_avg *st, size_t nst)
{
	/* first_at of each visible evaluation: "date id" (held_on has a fixed length, so it sorts as
	   (date, id), the card's order); one string per evaluation, not per student. */
	const char **fa = arena_alloc(a, (sj->nevals ? sj->nevals : 1) * sizeof(*fa));
	for (size_t e = 0; e < sj->nevals; e++)
		fa[e] = arena_printf(a, "%s %s", sj->evals[e]->date, sj->evals[e]->id);
	size_t cap = 16;
	while (cap < nst * 2)
		cap *= 2;
	size_t *slot = arena_alloc(a, cap * sizeof(*slot)); /* index in st + 1, 0: empty */
	memset(slot, 0, cap * sizeof(*slot));
	unsigned char *keep = arena_calloc(a, nst ? nst : 1, 1);
	for (size_t i = 0; i < nst; i++) {
		size_t h = 0;
		for (const char *q = st[i].student_id; *q; q++)
			h = h * 31 + (unsigned char)*q;
		h &= cap - 1;
		while (slot[h])
			h = (h + 1) & (cap - 1);
		slot[h] = i + 1;
	}
	db_stmt *s = db_prepare(
		c,
		"SELECT student_id, average, first_at FROM notes_subject_students WHERE course_id = ? AND period_id = ?");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, p->id);
	db_bind_text(s, 2, p->period_id);
	const char **gone = NULL;
	size_t ngone = 0, gcap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *id = db_col_text(s, 0);
		size_t h = 0;
		for (const char *q = id; *q; q++)
			h = h * 31 + (unsigned char)*q;
		h &= cap - 1;
		while (slot[h] && strcmp(st[slot[h] - 1].student_id, id) != 0)
			h = (h + 1) & (cap - 1);
		if (!slot[h]) {
			gone = arena_grow(a, gone, ngone, &gcap, sizeof(*gone));
			gone[ngone++] = arena_strdup(a, id);
			continue;
		}
		size_t i = slot[h] - 1;
		double avg = db_col_is_null(s, 1) ? NAN : db_col_double(s, 1);
		const char *first = db_col_text(s, 2);
		keep[i] = first && same_student_row(&st[i], fa[st[i].first_eval], avg, first);
	}
	db_done(s);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < ngone; i++) {
		rc = SQL_RUN(
			c,
			"DELETE FROM notes_subject_students WHERE course_id = ? AND period_id = ? AND student_id = ?",
			SQL_T(p->id), SQL_T(p->period_id), SQL_T(gone[i]));
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < nst; i++) {
		if (keep[i])
			continue;
		s = db_prepare(
			c, "INSERT INTO notes_subject_students (course_id, period_id, student_id, average, first_at)"
			   " VALUES (?, ?, ?, ?, ?) ON CONFLICT (course_id, period_id, student_id)"
			   " DO UPDATE SET average = excluded.average, first_at = excluded.first_at");
		if (!s)
			return ENT_EDB;
		db_bind_text(s, 1, p->id);
		db_bind_text(s, 2, p->period_id);
		db_bind_text(s, 3, st[i].student_id);
		bind_num(s, 4, st[i].avg);
		db_bind_text(s, 5, fa[st[i].first_eval]);
		rc = db_step(s);
		db_done(s);
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

struct kcourse {
	const char *id, *title;
};

static int by_ktitle(const void *x, const void *y)
{
	const struct kcourse *a = x, *b = y;
	int d = strcmp(a->title ? a->title : "", b->title ? b->title : "");
	return d ? d : strcmp(a->id, b->id);
}

/* The courses of a class (the cours service's cours_class_courses(), as the card), by title then id: the card's order. */
static int class_courses(db_conn *c, arena *a, const char *class_id, struct kcourse **out, size_t *n)
{
	struct cours_brief *v;
	int rc = cours_class_courses(c, a, class_id, &v);
	*out = NULL;
	*n = 0;
	if (rc < 0)
		return rc;
	size_t nk = (size_t)rc;
	struct kcourse *ks = arena_alloc(a, (nk ? nk : 1) * sizeof(*ks));
	for (size_t i = 0; i < nk; i++) {
		ks[i].id = v[i].id;
		ks[i].title = v[i].title;
	}
	if (nk > 1)
		qsort(ks, nk, sizeof(*ks), by_ktitle);
	*out = ks;
	*n = nk;
	return ENT_OK;
}

struct sstudent {
	const char *id, *first_at;
	double avg;
};

static int by_first(const void *x, const void *y)
{
	const struct sstudent *a = x, *b = y;
	int d = strcmp(a->first_at, b->first_at);
	return d ? d : strcmp(a->id, b->id);
}

/*
 * Recomputes the class average of (class, period) from the stored subject averages of the
 * class's courses (refresh_subject), which must be current: notes_stats_refresh sees to it.
 *
 * The operations are those of notes_general_class() over the card's subjects: students are met
 * subject after subject (card order), within a subject by their first graded evaluation then by
 * id (the order of the grades), each one's general average is the plain mean of their subject
 * averages in subject order, and the class average the mean of those in order of first sight.
 */
static int refresh_class(db_conn *c, arena *a, const struct notes_pair *p)
{
	int rc = db_run(c,
			"INSERT INTO notes_class_stats (class_id, period_id, courses) VALUES (?, ?, '')"
			" ON CONFLICT (class_id, period_id) DO UPDATE SET courses = notes_class_stats.courses",
			p->id, p->period_id);
	if (rc)
		return rc;
	struct kcourse *ks;
	size_t nk;
	if ((rc = class_courses(c, a, p->id, &ks, &nk)))
		return rc;
	struct sstudent **subj = arena_calloc(a, nk ? nk : 1, sizeof(*subj));
	size_t *nsubj = arena_calloc(a, nk ? nk : 1, sizeof(*nsubj));
	size_t ns = 0, total = 0;
	const char *stale = NULL;
	buf ids;
	buf_init(&ids, 0);
	for (size_t k = 0; k < nk; k++) {
		db_stmt *s = db_prepare(
			c, "SELECT nevals, stale_at FROM notes_subject_stats WHERE course_id = ? AND period_id = ?");
		if (!s) {
			buf_free(&ids);
			return ENT_EDB;
		}
		db_bind_text(s, 1, ks[k].id);
		db_bind_text(s, 2, p->period_id);
		int64_t nevals = 0;
		if ((rc = db_step(s)) == DB_ROW) {
			nevals = db_col_int64(s, 0);
			const char *st = db_col_text(s, 1);
			if (st && (!stale || strcmp(st, stale) < 0))
				stale = arena_strdup(a, st);
		}
		db_done(s);
		if (rc < 0) {
			buf_free(&ids);
			return rc;
		}
		if (nevals <= 0)
			continue; /* no visible evaluation: not a subject of the card */
		s = db_prepare(
			c,
			"SELECT student_id, average, first_at FROM notes_subject_students WHERE course_id = ? AND period_id = ?");
		if (!s) {
			buf_free(&ids);
			return ENT_EDB;
		}
		db_bind_text(s, 1, ks[k].id);
		db_bind_text(s, 2, p->period_id);
		size_t cap = 0, n = 0;
		struct sstudent *v = NULL;
		while ((rc = db_step(s)) == DB_ROW) {
			v = arena_grow(a, v, n, &cap, sizeof(*v));
			v[n].id = arena_strdup(a, db_col_text(s, 0));
			v[n].avg = db_col_is_null(s, 1) ? NAN : db_col_double(s, 1);
			v[n++].first_at = arena_strdup(a, db_col_text(s, 2));
		}
		db_done(s);
		if (rc < 0) {
			buf_free(&ids);
			return rc;
		}
		if (n > 1)
			qsort(v, n, sizeof(*v), by_first);
		subj[ns] = v;
		nsubj[ns++] = n;
		total += n;
		if (ids.len)
			buf_addc(&ids, ',');
		buf_addstr(&ids, ks[k].id);
	}
	/* Students numbered in order of first sight; savg[s * nst + i]: their average in subject s. */
	size_t cap = 16;
	while (cap < total * 2)
		cap *= 2;
	const char **keys = arena_calloc(a, cap, sizeof(*keys));
	size_t *vals = arena_alloc(a, cap * sizeof(*vals));
	size_t nst = 0;
	size_t **num = arena_alloc(a, (ns ? ns : 1) * sizeof(*num));
	for (size_t k = 0; k < ns; k++) {
		num[k] = arena_alloc(a, (nsubj[k] ? nsubj[k] : 1) * sizeof(**num));
		for (size_t j = 0; j < nsubj[k]; j++) {
			const char *id = subj[k][j].id;
			size_t h = 0;
			for (const char *q = id; *q; q++)
				h = h * 31 + (unsigned char)*q;
			h &= cap - 1;
			while (keys[h] && strcmp(keys[h], id) != 0)
				h = (h + 1) & (cap - 1);
			if (!keys[h]) {
				keys[h] = id;
				vals[h] = nst++;
			}
			num[k][j] = vals[h];
		}
	}
	double *savg = arena_alloc(a, (ns ? ns : 1) * (nst ? nst : 1) * sizeof(*savg));
	for (size_t i = 0; i < ns * nst; i++)
		savg[i] = NAN;
	for (size_t k = 0; k < ns; k++)
		for (size_t j = 0; j < nsubj[k]; j++)
			savg[k * nst + num[k][j]] = subj[k][j].avg;
	int cnt = 0;
	double sum = 0;
	for (size_t i = 0; i < nst; i++) {
		double gs = 0;
		int gk = 0;
		for (size_t k = 0; k < ns; k++)
			if (!isnan(savg[k * nst + i])) {
				gs += savg[k * nst + i];
				gk++;
			}
		if (gk) {
			sum += gs / gk;
			cnt++;
		}
	}
	double general = cnt ? sum / cnt : NAN;
	db_stmt *s = db_prepare(
		c,
		"UPDATE notes_class_stats SET courses = ?, average = ?, stale_at = ? WHERE class_id = ? AND period_id = ?");
	if (!s) {
		buf_free(&ids);
		return ENT_EDB;
	}
	db_bind_text(s, 1, ids.failed || !ids.data ? "" : ids.data);
	bind_num(s, 2, general);
	db_bind_text_or_null(s, 3, stale);
	db_bind_text(s, 4, p->id);
	db_bind_text(s, 5, p->period_id);
	rc = db_step(s);
	db_done(s);
	buf_free(&ids);
	if (rc < 0)
		return rc;
	return db_run(c, "DELETE FROM notes_stats_todo WHERE kind = 'k' AND id = ? AND period_id = ?", p->id,
		      p->period_id);
}

/* The (class, period) pairs of the classes of the courses of pairs, sorted, without duplicates. */
static int classes_of(db_conn *c, arena *a, const struct notes_pair *pairs, size_t n, struct notes_pair **out,
		      size_t *nout)
{
	struct notes_pair *ks = NULL;
	size_t nk = 0, cap = 0;
	for (size_t i = 0; i < n; i++) {
		const char **classes;
		int rc = cours_classes_of(c, a, pairs[i].id, &classes);
		if (rc < 0)
			return rc;
		for (int k = 0; k < rc; k++) {
			ks = arena_grow(a, ks, nk, &cap, sizeof(*ks));
			ks[nk].id = classes[k];
			ks[nk++].period_id = pairs[i].period_id;
		}
	}
	if (nk > 1)
		qsort(ks, nk, sizeof(*ks), pair_cmp);
	size_t w = 0;
	for (size_t i = 0; i < nk; i++)
		if (!w || pair_cmp(&ks[w - 1], &ks[i]) != 0)
			ks[w++] = ks[i];
	*out = ks;
	*nout = w;
	return ENT_OK;
}

/* 1 when the figures of (course, period) are missing or count fewer evaluations than are visible at now. */
static int subject_stale(db_conn *c, const char *course, const char *period, const char *now, int *stale)
{
	db_stmt *s = SQL_PREP(c, "SELECT stale_at FROM notes_subject_stats WHERE course_id = ? AND period_id = ?",
			      SQL_T(course), SQL_T(period));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	*stale = rc != DB_ROW || (db_col_text(s, 0) && strcmp(now, db_col_text(s, 0)) >= 0);
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/*
 * Refreshes the subjects of pairs, then the classes ks (sorted, distinct), after refreshing any
 * other subject of those classes that is stale: a class average is built on its subjects' rows.
 * Locks go subjects first, then classes, each in sorted order.
 */
static int refresh_all(db_conn *c, arena *a, const struct notes_pair *pairs, size_t n, const struct notes_pair *ks,
		       size_t nk, const char *only_eval, const char *now)
{
	struct notes_pair *all = NULL;
	size_t na = 0, cap = 0;
	int rc;
	for (size_t i = 0; i < n; i++) {
		all = arena_grow(a, all, na, &cap, sizeof(*all));
		all[na++] = pairs[i];
	}
	for (size_t i = 0; i < nk; i++) {
		struct kcourse *cs;
		size_t nc;
		if ((rc = class_courses(c, a, ks[i].id, &cs, &nc)))
			return rc;
		for (size_t k = 0; k < nc; k++) {
			int stale;
			if ((rc = subject_stale(c, cs[k].id, ks[i].period_id, now, &stale)))
				return rc;
			if (!stale)
				continue;
			all = arena_grow(a, all, na, &cap, sizeof(*all));
			all[na].id = cs[k].id;
			all[na++].period_id = ks[i].period_id;
		}
	}
	if (na > 1)
		qsort(all, na, sizeof(*all), pair_cmp);
	for (size_t i = 0; i < na; i++)
		if ((i == 0 || pair_cmp(&all[i - 1], &all[i]) != 0) &&
		    (rc = refresh_subject(c, a, &all[i], only_eval, now)))
			return rc;
	for (size_t i = 0; i < nk; i++)
		if ((rc = refresh_class(c, a, &ks[i])))
			return rc;
	return ENT_OK;
}

int notes_stats_refresh(db_conn *c, arena *a, struct notes_pair *pairs, size_t n, const char *only_eval,
			const char *now)
{
	struct notes_pair *ks;
	size_t nk;
	int rc = classes_of(c, a, pairs, n, &ks, &nk);
	return rc ? rc : refresh_all(c, a, pairs, n, ks, nk, only_eval, now);
}

int notes_stats_refresh_eval(db_conn *c, arena *a, const char *eval_id, const char *only_eval, const char *now)
{
	db_stmt *s = SQL_PREP(c, "SELECT course_id, period_id FROM notes_evaluations WHERE id = ?", SQL_T(eval_id));
	if (!s)
		return ENT_EDB;
	struct notes_pair p = {NULL, NULL};
	int rc = db_step(s);
	if (rc == DB_ROW) {
		p.id = arena_strdup(a, db_col_text(s, 0));
		p.period_id = arena_strdup(a, db_col_text(s, 1));
	}
	db_done(s);
	if (rc < 0)
		return rc;
	return p.id ? notes_stats_refresh(c, a, &p, 1, only_eval, now) : ENT_OK;
}

int notes_stats_enqueue_all(db_conn *c)
{
	/* "WHERE 1 = 1": SQLite would read ON CONFLICT as a join constraint after a bare FROM. */
	db_stmt *s = db_prepare(
		c, "INSERT INTO notes_stats_todo (kind, id, period_id) SELECT DISTINCT 's', course_id,"
		   " period_id FROM notes_evaluations WHERE 1 = 1 ON CONFLICT (kind, id, period_id) DO NOTHING");
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

#define DRAIN_BATCH 50

int notes_stats_drain(db_conn *c, int (*stop)(void))
{
	int total = 0;
	for (;;) {
		if (stop && stop())
			return total;
		arena *a = arena_new(0);
		char now[21];
		notes_now(now);
		/* Subjects first: each one queues its classes, computed once afterwards. */
		db_stmt *s = db_prepare(
			c,
			"SELECT kind, id, period_id FROM notes_stats_todo ORDER BY kind DESC, id, period_id LIMIT ?");
		if (!s) {
			arena_free(a);
			return ENT_EDB;
		}
		db_bind_int64(s, 1, DRAIN_BATCH);
		struct notes_pair ps[DRAIN_BATCH];
		char kinds[DRAIN_BATCH];
		int n = 0, rc;
		while (n < DRAIN_BATCH && (rc = db_step(s)) == DB_ROW) {
			const char *k = db_col_text(s, 0);
			kinds[n] = k ? k[0] : 's';
			ps[n].id = arena_strdup(a, db_col_text(s, 1));
			ps[n++].period_id = arena_strdup(a, db_col_text(s, 2));
		}
		db_done(s);
		if (rc < 0 || n == 0) {
			arena_free(a);
			return rc < 0 ? rc : total;
		}
		if ((rc = db_begin(c))) {
			arena_free(a);
			return rc;
		}
		for (int i = 0; i < n && !rc; i++) {
			if (kinds[i] == 'k') {
				rc = refresh_all(c, a, NULL, 0, &ps[i], 1, NULL, now);
				continue;
			}
			struct notes_pair *ks;
			size_t nk;
			rc = refresh_subject(c, a, &ps[i], NULL, now);
			if (!rc)
				rc = classes_of(c, a, &ps[i], 1, &ks, &nk);
			for (size_t k = 0; !rc && k < nk; k++)
				rc = db_run(c,
					    "INSERT INTO notes_stats_todo (kind, id, period_id) VALUES ('k', ?, ?)"
					    " ON CONFLICT (kind, id, period_id) DO NOTHING",
					    ks[k].id, ks[k].period_id);
		}
		if (!rc)
			rc = db_commit(c);
		if (rc) {
			db_rollback(c);
			arena_free(a);
			return rc;
		}
		total += n;
		arena_free(a);
	}
}
