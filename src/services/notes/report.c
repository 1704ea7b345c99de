/*
 * report.c - a student's report card (/me, /students/{id}): their visible grades by period and
 * subject, with averages and class figures. The class grid of a course is in grid.c.
 *
 * The report card holds only evaluations visible to students (publish_at <= now), for the student
 * as for the staff who look at it, so the class figures are those the student sees. Read by every
 * student, it must stay cheap at district scale: it reads the student's own grades and the class
 * figures that stats.c stored when grades changed, and computes a figure from every grade only
 * when the stored one does not describe this card (see report() and docs/notes.md).
 *
 * The report card's evaluations are those of the courses of the student's class, and those of
 * other courses on which the student has a grade (a student who changed class keeps their grades).
 * The courses, their titles and teachers come from the cours service (cours.h), a set of course
 * ids 16 to a statement: this file never reads the cours tables.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/err.h"
#include "core/rcache.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

/* ---- report card ---- */

/* A period of the card, read once: its row, or found 0 (starts_on "") when there is none. */
struct rperiod {
	const char *id, *name, *school_year, *starts_on, *ends_on;
	int found;
};

static int by_start(const void *x, const void *y)
{
	const struct rperiod *a = x, *b = y;
	int d = strcmp(a->starts_on, b->starts_on);
	return d ? d : strcmp(a->id, b->id);
}

struct rcourse {
	const char *id, *title, *subject;
	const char **teachers;
	size_t nteachers;
};

static int by_title(const void *x, const void *y)
{
	const struct rcourse *a = x, *b = y;
	int d = strcmp(a->title ? a->title : "", b->title ? b->title : "");
	return d ? d : strcmp(a->id, b->id);
}

/*
 * The teachers' names of the courses cs[0..nc) (those of class_id when it is not NULL, and
 * others): their links from the cours service, for the class's courses in one statement keyed by
 * the class (cours_class_teacher_links), for the others in one batch (cours_teacher_links), then
 * every name once (users_names: the names users_get() gives, cheaper). A teacher without a name
 * (a deleted account) is left out.
 */
static int course_teachers(http_req *req, db_conn *c, arena *a, const char *class_id, const struct cours_brief *kc,
			   size_t nkc, struct rcourse *cs, size_t nc)
{
	struct cours_link *cl = NULL, *ol = NULL;
	int ncl = 0, nol = 0;
	const char **others = arena_alloc(a, (nc ? nc : 1) * sizeof(*others));
	size_t nothers = 0;
	for (size_t k = 0; k < nc; k++) {
		int of_class = 0;
		for (size_t j = 0; !of_class && j < nkc; j++)
			of_class = strcmp(kc[j].id, cs[k].id) == 0;
		if (!of_class)
			others[nothers++] = cs[k].id;
	}
	if (class_id && nc > nothers && (ncl = cours_class_teacher_links(c, a, class_id, &cl)) < 0)
		return ncl;
	if (nothers && (nol = cours_teacher_links(c, a, others, nothers, &ol)) < 0)
		return nol;
	/* The links of the card's courses only (the class may follow courses without evaluations here). */
	struct cours_link *v = arena_alloc(a, ((size_t)ncl + (size_t)nol ? (size_t)ncl + (size_t)nol : 1) * sizeof(*v));
	size_t n = 0;
	for (int i = 0; i < ncl + nol; i++) {
		const struct cours_link *l = i < ncl ? &cl[i] : &ol[i - ncl];
		for (size_t k = 0; k < nc; k++)
			if (strcmp(cs[k].id, l->cours_id) == 0) {
				v[n++] = *l;
				break;
			}
	}
	int rc;
	/* Each teacher's name once, though they may teach several of the courses. */
	const char **ids = arena_alloc(a, (n ? n : 1) * sizeof(*ids)),
		   **unames = arena_alloc(a, (n ? n : 1) * sizeof(*unames));
	const char **names = arena_alloc(a, (n ? n : 1) * sizeof(*names));
	size_t nu = 0;
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < nu && strcmp(ids[j], v[i].id) != 0)
			j++;
		if (j == nu)
			ids[nu++] = v[i].id;
	}
	for (size_t j = 0; j < nu; j++)
		rcache_dep(req, "u", ids[j]);
	if ((rc = users_names(c, a, ids, nu, unames)))
		return rc;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < nu; j++)
			if (strcmp(ids[j], v[i].id) == 0) {
				names[i] = unames[j];
				break;
			}
	for (size_t k = 0; k < nc; k++) {
		size_t cnt = 0;
		for (size_t i = 0; i < n; i++)
			cnt += strcmp(v[i].cours_id, cs[k].id) == 0;
		cs[k].teachers = arena_alloc(a, (cnt ? cnt : 1) * sizeof(*cs[k].teachers));
		cs[k].nteachers = 0;
		for (size_t i = 0; i < n; i++)
			if (strcmp(v[i].cours_id, cs[k].id) == 0 && names[i])
				cs[k].teachers[cs[k].nteachers++] = names[i];
	}
	return ENT_OK;
}

/*
 * Up to this many grades on evaluations outside the class's visible ones are looked up by their
 * evaluation's primary key, NOTES_BATCH a statement (a build may set it to 0 to test the other
 * way: every grade of the student joined to its evaluation).
 */
#ifndef OTHERS_ONE_BY_ONE
#define OTHERS_ONE_BY_ONE 16
#endif

/* An evaluation of the report card, with its stored figures. */
struct reval {
	struct notes_eval e;
	int has_stats; /* its stored figures (stat_*) were read */
	size_t subj;   /* index of its subject in its period (timeline) */
	int full;      /* e.grades holds every grade (else the student's only) */
	double avg, min, max;
	long dkey;  /* e.date as YYYYMMDD, 0 if it is not such a date: compared before the text */
	size_t pix; /* index of its period in the card's periods */
	size_t cix; /* index of its course in the card's courses */
};

/* A date YYYY-MM-DD as the number YYYYMMDD (which orders as the text does), else 0. */
static long date_key(const char *d)
{
	long k = 0;
	for (int i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (d[i] != '-')
				return 0;
			continue;
		}
		if (d[i] < '0' || d[i] > '9')
			return 0;
		k = k * 10 + (d[i] - '0');
	}
	return d[10] == '\0' ? k : 0;
}

static int same_date(const struct reval *a, const struct reval *b)
{
	return a->dkey ? a->dkey == b->dkey : strcmp(a->e.date, b->e.date) == 0;
}

static int by_id_ptr(const void *x, const void *y)
{
	const struct reval *const *a = x, *const *b = y;
	return strcmp((*a)->e.id, (*b)->e.id);
}

static int by_date_id(const void *x, const void *y)
{
	const struct reval *a = x, *b = y;
	int d = a->dkey && b->dkey ? (a->dkey > b->dkey) - (a->dkey < b->dkey) : strcmp(a->e.date, b->e.date);
	return d ? d : strcmp(a->e.id, b->e.id);
}

static int by_date_id_ptr(const void *x, const void *y)
{
	const struct reval *const *a = x, *const *b = y;
	return by_date_id(*a, *b);
}

/* Sorts v[0..n) by (date, id) through an array of pointers (the elements are large to move). */
static struct reval *sort_by_date(arena *a, struct reval *v, size_t n)
{
	if (n < 2)
		return v;
	struct reval **p = arena_alloc(a, n * sizeof(*p)), *out = arena_alloc(a, n * sizeof(*out));
	for (size_t i = 0; i < n; i++)
		p[i] = &v[i];
	qsort(p, n, sizeof(*p), by_date_id_ptr);
	for (size_t i = 0; i < n; i++)
		out[i] = *p[i];
	return out;
}

/* Columns 0-7: id, course_id, period_id, title, held_on, coefficient, scale, publish_at; 8-11: n, average, lo, hi. */
static void read_eval(db_stmt *s, arena *a, const char *now, struct reval *r)
{
	memset(r, 0, sizeof(*r));
	struct notes_eval *e = &r->e;
	e->id = arena_strdup(a, db_col_text(s, 0));
	e->course_id = arena_strdup(a, db_col_text(s, 1));
	e->period_id = arena_strdup(a, db_col_text(s, 2));
	e->title = arena_strdup(a, db_col_text(s, 3));
	e->date = arena_strdup(a, db_col_text(s, 4));
	r->dkey = date_key(e->date);
	e->coef = db_col_double(s, 5);
	e->scale = (int)db_col_int64(s, 6);
	e->publish_at = arena_strdup(a, db_col_text(s, 7));
	e->visible = strcmp(e->publish_at, now) <= 0;
	if (!db_col_is_null(s, 8)) {
		r->has_stats = 1;
		r->avg = db_col_is_null(s, 9) ? NAN : db_col_double(s, 9);
		r->min = db_col_is_null(s, 10) ? NAN : db_col_double(s, 10);
		r->max = db_col_is_null(s, 11) ? NAN : db_col_double(s, 11);
	}
}

/* An array of the card's evaluations being read. */
struct rset {
	struct reval *v;
	size_t n, cap;
};

/* Appends the rows of s to out; with student: columns 12-15 are their grade. Calls db_done(s). */
static int read_evals(db_stmt *s, arena *a, const char *now, const char *student, struct rset *out)
{
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		struct reval *v = out->v = arena_grow(a, out->v, out->n, &out->cap, sizeof(*out->v));
		size_t nv = out->n++;
		struct reval *r = &v[nv];
		read_eval(s, a, now, r);
		if (!student)
			continue;
		struct notes_grade *g = arena_alloc(a, sizeof(*g));
		g->student_id = student;
		g->status = notes_status_parse(db_col_text(s, 12));
		g->value = db_col_is_null(s, 13) ? 0 : db_col_double(s, 13);
		g->comment = db_col_text(s, 14) ? arena_strdup(a, db_col_text(s, 14)) : NULL;
		g->updated_at = arena_strdup(a, db_col_text(s, 15));
		r->e.grades = g;
		r->e.ngrades = 1;
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/*
 * Students see an evaluation once its publish_at has passed and a grade has been entered in it
 * (graded, absent or exempt): one with no grade yet would only show "Non noté" (stats.c's
 * visible_subject applies the same rule to the stored figures).
 */
#define ENTERED " AND EXISTS (SELECT 1 FROM notes_grades x WHERE x.evaluation_id = e.id AND x.status <> 'not_graded')"

#define REVAL_COLS                                                                                                     \
	"e.id, e.course_id, e.period_id, e.title, e.held_on, e.coefficient, e.scale, e.publish_at, e.stat_n, "         \
	"e.stat_avg, e.stat_lo, e.stat_hi"

/*
 * The visible evaluations (of period when not NULL) whose course_id (by_course) or id (else) is
 * one of keys[0..n), with their stored figures, appended to out: one statement per NOTES_BATCH
 * keys, each served by an index (notes_evaluations_by_course, or the primary key).
 */
static int evals_in(db_conn *c, arena *a, int by_course, const char *const *keys, size_t n, const char *now,
		    const char *period, struct rset *out)
{
	for (size_t at = 0; at < n; at += NOTES_BATCH) {
		db_stmt *s = db_prepare(
			c, by_course
				   ? "SELECT " REVAL_COLS " FROM notes_evaluations e WHERE e.course_id IN " NOTES_IN16
				     " AND e.publish_at <= ? AND (CAST(? AS TEXT) IS NULL OR e.period_id = ?)" ENTERED
				   : "SELECT " REVAL_COLS " FROM notes_evaluations e WHERE e.id IN " NOTES_IN16
				     " AND e.publish_at <= ? AND (CAST(? AS TEXT) IS NULL OR e.period_id = ?)" ENTERED);
		if (!s)
			return ENT_EDB;
		notes_bind_ids(s, 1, keys + at, n - at);
		db_bind_text(s, NOTES_BATCH + 1, now);
		db_bind_text_or_null(s, NOTES_BATCH + 2, period);
		db_bind_text_or_null(s, NOTES_BATCH + 3, period);
		int rc = read_evals(s, a, now, NULL, out);
		if (rc)
			return rc;
	}
	return ENT_OK;
}

/*
 * The next instant the card changes by itself: the earliest publication still to come of an
 * evaluation of the class's courses or of one the student has a grade on (rcache_until).
 */
static int next_publication(http_req *req, db_conn *c, const char *const *kids, size_t nkc, const char *student,
			    const char *now)
{
	int rc = DB_DONE;
	for (size_t at = 0; rc >= 0 && at < nkc; at += NOTES_BATCH) {
		db_stmt *s = db_prepare(c,
					"SELECT MIN(publish_at) FROM notes_evaluations WHERE course_id IN " NOTES_IN16
					" AND publish_at > ?");
		if (!s)
			return ENT_EDB;
		notes_bind_ids(s, 1, kids + at, nkc - at);
		db_bind_text(s, NOTES_BATCH + 1, now);
		if ((rc = db_step(s)) == DB_ROW)
			rcache_until(req, db_col_text(s, 0));
		db_done(s);
	}
	if (rc < 0)
		return rc;
	db_stmt *s = SQL_PREP(c,
			      "SELECT MIN(e.publish_at) FROM notes_grades g JOIN notes_evaluations e"
			      " ON e.id = g.evaluation_id WHERE g.student_id = ? AND e.publish_at > ?",
			      SQL_T(student), SQL_T(now));
	if (!s)
		return ENT_EDB;
	if ((rc = db_step(s)) == DB_ROW)
		rcache_until(req, db_col_text(s, 0));
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/* What the card knows of courses (cours_describe's answers), looked up by id. */
struct known {
	struct cours_brief *v;
	size_t n, cap;
};

static const struct cours_brief *known_find(const struct known *k, const char *id)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->v[i].id, id) == 0)
			return &k->v[i];
	return NULL;
}

/*
 * Asks the cours service about the courses of r[0..*n) not in k yet (one batch), adds its answers
 * to k, and drops from r the evaluations of courses that no longer exist (the cours service
 * deleted them; their evaluations stay here), keeping the order.
 */
static int drop_gone(db_conn *c, arena *a, struct known *k, struct reval *r, size_t *n)
{
	const char **ask = arena_alloc(a, (*n ? *n : 1) * sizeof(*ask));
	size_t nask = 0;
	for (size_t i = 0; i < *n; i++) {
		const char *id = r[i].e.course_id;
		int seen = known_find(k, id) != NULL;
		for (size_t j = 0; !seen && j < nask; j++)
			seen = strcmp(ask[j], id) == 0;
		if (!seen)
			ask[nask++] = id;
	}
	if (nask) {
		for (size_t j = 0; j < nask; j++)
			k->v = arena_grow(a, k->v, k->n + j, &k->cap, sizeof(*k->v));
		int rc = cours_describe(c, a, ask, nask, k->v + k->n);
		if (rc < 0)
			return rc;
		k->n += nask;
	}
	size_t kept = 0;
	for (size_t i = 0; i < *n; i++) {
		const struct cours_brief *b = known_find(k, r[i].e.course_id);
		if (b && b->title)
			r[kept++] = r[i];
	}
	*n = kept;
	return ENT_OK;
}

/* Loads every grade of r's evaluation (instead of the student's only), for figures computed here. */
static int full_grades(db_conn *c, arena *a, struct reval *r)
{
	if (r->full)
		return ENT_OK;
	r->e.grades = NULL;
	r->e.ngrades = 0;
	r->full = 1;
	return notes_load_grades(c, a, &r->e);
}

/* A JSON string or null, as jw_str() writes it. */
static void raw_str(buf *b, const char *s)
{
	if (s)
		buf_json_str(b, s, strlen(s));
	else
		buf_add(b, "null", 4);
}

#define RAW(b, lit) buf_add((b), (lit), sizeof(lit) - 1)

/*
 * One evaluation of the card: the bytes the jw_* calls of the grid would write for such an object
 * (keys in this order), appended in one go: jw_raw() writes the separator, the rest goes straight
 * to the buffer (a card has a hundred of these; field by field calls cost more than the data).
 */
static void write_eval_line(jw *w, const struct reval *r, const char *student)
{
	const struct notes_eval *e = &r->e;
	const struct notes_grade *g = notes_find_grade(e, student);
	double avg = r->avg, mn = r->min, mx = r->max;
	if (r->full)
		notes_eval_stats(e, &avg, &mn, &mx);
	int graded = g && g->status == NG_GRADED;
	buf *b = w->b;
	jw_raw(w, "{\"id\":", 6);
	raw_str(b, e->id);
	RAW(b, ",\"title\":");
	raw_str(b, e->title);
	RAW(b, ",\"date\":");
	raw_str(b, e->date);
	RAW(b, ",\"coefficient\":");
	notes_buf_double(b, e->coef);
	RAW(b, ",\"scale\":");
	buf_add_i64(b, e->scale);
	RAW(b, ",\"status\":");
	raw_str(b, g ? notes_status_name(g->status) : NULL);
	RAW(b, ",\"value\":");
	if (graded)
		notes_buf_double(b, g->value);
	else
		RAW(b, "null");
	RAW(b, ",\"value20\":");
	notes_buf_num(b, graded ? notes_value20(g->value, e->scale) : NAN);
	RAW(b, ",\"comment\":");
	raw_str(b, g ? g->comment : NULL);
	RAW(b, ",\"class_average\":");
	notes_buf_num(b, avg);
	RAW(b, ",\"min\":");
	notes_buf_num(b, mn);
	RAW(b, ",\"max\":");
	notes_buf_num(b, mx);
	buf_addc(b, '}');
}

struct rsubj {
	size_t course; /* index in the card's courses */
	int ok;        /* the stored figures are current for this card */
	double avg, min, max;
};

/*
 * The class figures of the subjects of a period (and its class average when general is not NULL)
 * from stats.c's rows when they are current for this card, else computed from every grade.
 */
/* A notes_subject_stats row. */
struct sstat {
	const char *course_id, *period_id, *stale_at;
	int64_t nevals;
	double avg, min, max;
};

/*
 * Appends the rows of s (columns: course_id, period_id, nevals, average, lo, hi, stale_at) to *out
 * (*n of them, room for *cap). Calls db_done(s).
 */
static int read_sstats(db_stmt *s, arena *a, struct sstat **out, size_t *n, size_t *cap)
{
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		*out = arena_grow(a, *out, *n, cap, sizeof(**out));
		struct sstat *x = &(*out)[(*n)++];
		x->course_id = arena_strdup(a, db_col_text(s, 0));
		x->period_id = arena_strdup(a, db_col_text(s, 1));
		x->nevals = db_col_int64(s, 2);
		x->avg = db_col_is_null(s, 3) ? NAN : db_col_double(s, 3);
		x->min = db_col_is_null(s, 4) ? NAN : db_col_double(s, 4);
		x->max = db_col_is_null(s, 5) ? NAN : db_col_double(s, 5);
		x->stale_at = db_col_text(s, 6) ? arena_strdup(a, db_col_text(s, 6)) : NULL;
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

static int period_figures(db_conn *c, arena *a, const char *cls, const char *period_id, size_t pix, const char *now,
			  struct notes_subject *subs, struct rsubj *rs, size_t ns, struct reval *ev, size_t nev,
			  const struct sstat *sst, size_t nsst, double *general)
{
	int rc;
	for (size_t k = 0; k < ns; k++) {
		/* The class's rows were read with the card; another course's is read here. */
		const struct sstat *x = NULL;
		for (size_t i = 0; !x && i < nsst; i++)
			if (strcmp(sst[i].course_id, subs[k].course_id) == 0 &&
			    strcmp(sst[i].period_id, period_id) == 0)
				x = &sst[i];
		struct sstat *one = NULL;
		size_t none = 0, ocap = 0;
		if (!x) {
			db_stmt *s = db_prepare(
				c,
				"SELECT course_id, period_id, nevals, average, lo, hi, stale_at FROM notes_subject_stats"
				" WHERE course_id = ? AND period_id = ?");
			if (!s)
				return ENT_EDB;
			db_bind_text(s, 1, subs[k].course_id);
			db_bind_text(s, 2, period_id);
			if ((rc = read_sstats(s, a, &one, &none, &ocap)))
				return rc;
			x = none ? one : NULL;
		}
		rs[k].ok = x && x->nevals == (int64_t)subs[k].nevals && (!x->stale_at || strcmp(now, x->stale_at) < 0);
		if (rs[k].ok) {
			rs[k].avg = x->avg;
			rs[k].min = x->min;
			rs[k].max = x->max;
		}
	}
	int general_ok = 0;
	if (cls) {
		db_stmt *s = db_prepare(
			c,
			"SELECT courses, average, stale_at FROM notes_class_stats WHERE class_id = ? AND period_id = ?");
		if (!s)
			return ENT_EDB;
		db_bind_text(s, 1, cls);
		db_bind_text(s, 2, period_id);
		if ((rc = db_step(s)) == DB_ROW) {
			/* The same subjects in the same order: "id,id,..." of the card's subjects. */
			const char *ids = db_col_text(s, 0), *stale = db_col_text(s, 2);
			general_ok = ids && (!stale || strcmp(now, stale) < 0);
			for (size_t k = 0; general_ok && k < ns; k++) {
				size_t l = strlen(subs[k].course_id);
				if (k && *ids++ != ',')
					general_ok = 0;
				else if (strncmp(ids, subs[k].course_id, l) != 0)
					general_ok = 0;
				else
					ids += l;
			}
			general_ok = general_ok && *ids == '\0';
			*general = db_col_is_null(s, 1) ? NAN : db_col_double(s, 1);
		}
		db_done(s);
		if (rc < 0)
			return rc;
	}
	int need_all = !general_ok;
	for (size_t i = 0; i < nev; i++) {
		if (ev[i].pix != pix)
			continue;
		size_t k = ev[i].subj; /* its subject in this period (set with subs) */
		if ((need_all || (k < ns && !rs[k].ok)) && (rc = full_grades(c, a, &ev[i])))
			return rc;
	}
	if (need_all) {
		struct notes_class_figures f;
		notes_class_compute(a, subs, ns, &f);
		*general = f.general;
		for (size_t k = 0; k < ns; k++) {
			rs[k].ok = 1;
			rs[k].avg = f.subj[k].avg;
			rs[k].min = f.subj[k].min;
			rs[k].max = f.subj[k].max;
		}
		return ENT_OK;
	}
	for (size_t k = 0; k < ns; k++) {
		if (rs[k].ok)
			continue;
		struct notes_class_figures f;
		notes_class_compute(a, &subs[k], 1, &f);
		rs[k].ok = 1;
		rs[k].avg = f.subj[0].avg;
		rs[k].min = f.subj[0].min;
		rs[k].max = f.subj[0].max;
	}
	return ENT_OK;
}

/* 1 if s is one of v[0..n) (sorted). */
static int has_str(const char *const *v, int n, const char *s)
{
	int lo = 0, hi = n;
	while (lo < hi) {
		int mid = (lo + hi) / 2, d = strcmp(v[mid], s);
		if (d == 0)
			return 1;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/*
 * The report card of student_id (name for display), limited to period when not NULL.
 *
 * Its evaluations come from two indexed reads merged here: those of the courses of the student's
 * class (the class's courses from the cours service, cours_class_courses(), then
 * notes_evaluations by course id, 16 ids a statement) and those where the student has a grade
 * (notes_grades by student, with the grades; their courses checked with the cours service). The
 * class figures are stats.c's stored ones when they are current for this card, else computed from
 * every grade of the evaluations concerned, as this card always did: the answer is the same either
 * way.
 *
 * The card of student_id as only_teacher may see it under the school's policy
 * ENT_TEACHER_REPORT_VIEW=own (NULL: the whole card): the subjects of the courses only_teacher
 * teaches, and nothing computed over the others (the general averages and the timeline are
 * null and empty, the answer says "scope": "teacher_subjects").
 */
static void report(http_req *req, db_conn *c, const char *student_id, const char *name, const char *period,
		   const char *only_teacher)
{
	arena *a = http_arena(req);
	char now[21], cls[37];
	notes_now(now);
	int rc = users_student_class(c, student_id, cls);
	if (rc && rc != ENT_ENOTFOUND) {
		http_problem_err(req, rc, "Le relevé de notes n'a pas pu être lu.");
		return;
	}
	int has_class = rc == ENT_OK;
	/* What the card reads, for the answer cache (core/rcache.h); the triggers name the same scopes. */
	rcache_dep(req, "u", student_id);
	rcache_dep(req, "n", "periods");
	if (has_class)
		rcache_dep(req, "k", cls);
	struct reval *cev = NULL, *mev = NULL;
	size_t ncev = 0, nmev = 0;
	db_stmt *s;
	/* The class's courses (the cours service's answer, by id), then their visible evaluations. */
	struct cours_brief *kc = NULL;
	size_t nkc = 0;
	const char **kids = NULL;
	if (has_class) {
		int n = cours_class_courses(c, a, cls, &kc);
		if (n < 0) {
			http_problem_err(req, n, "Le relevé de notes n'a pas pu être lu.");
			return;
		}
		nkc = (size_t)n;
		kids = arena_alloc(a, (nkc ? nkc : 1) * sizeof(*kids));
		for (size_t k = 0; k < nkc; k++) {
			kids[k] = kc[k].id;
			rcache_dep(req, "c", kids[k]);
		}
		struct rset rs = {0};
		if ((rc = evals_in(c, a, 1, kids, nkc, now, period, &rs))) {
			http_problem_err(req, rc, "Le relevé de notes n'a pas pu être lu.");
			return;
		}
		cev = sort_by_date(a, rs.v, rs.n);
		ncev = rs.n;
	}
	struct known known = {0}; /* the other courses met, as the cours service described them */
	/*
	 * The student's grades: on evaluations of the class's courses (matched by id), or on
	 * others, read with their evaluation only when there are such.
	 */
	s = SQL_PREP(c, "SELECT evaluation_id, status, value, comment FROM notes_grades WHERE student_id = ?",
		     SQL_T(student_id));
	if (!s) {
		http_problem_err(req, ENT_EDB, "Le relevé de notes n'a pas pu être lu.");
		return;
	}
	struct reval **byid = arena_alloc(a, (ncev ? ncev : 1) * sizeof(*byid));
	for (size_t i = 0; i < ncev; i++)
		byid[i] = &cev[i];
	if (ncev > 1)
		qsort(byid, ncev, sizeof(*byid), by_id_ptr);
	int others = 0;
	const char *other_ids[OTHERS_ONE_BY_ONE > 0 ? OTHERS_ONE_BY_ONE : 1];
	struct notes_grade *other_grades[OTHERS_ONE_BY_ONE > 0 ? OTHERS_ONE_BY_ONE : 1];
	while ((rc = db_step(s)) == DB_ROW) {
		const char *eid = db_col_text(s, 0);
		size_t lo = 0, hi = ncev;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (strcmp(byid[mid]->e.id, eid) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		struct notes_grade *g = arena_alloc(a, sizeof(*g));
		g->student_id = student_id;
		g->status = notes_status_parse(db_col_text(s, 1));
		g->value = db_col_is_null(s, 2) ? 0 : db_col_double(s, 2);
		g->comment = db_col_text(s, 3) ? arena_strdup(a, db_col_text(s, 3)) : NULL;
		g->updated_at = NULL; /* not on the card */
		if (lo == ncev || strcmp(byid[lo]->e.id, eid) != 0) {
			/* Another course's evaluation, or one not visible yet: looked up below. */
			if (others < OTHERS_ONE_BY_ONE) {
				other_ids[others] = arena_strdup(a, eid);
				other_grades[others] = g;
			}
			others++;
			continue;
		}
		byid[lo]->e.grades = g;
		byid[lo]->e.ngrades = 1;
	}
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, "Le relevé de notes n'a pas pu être lu.");
		return;
	}
	if (others) {
		struct rset rs = {0};
		if (others <= OTHERS_ONE_BY_ONE) {
			/* A few (grades entered before publication, typically): one read by primary key. */
			if (!(rc = evals_in(c, a, 0, other_ids, (size_t)others, now, period, &rs)))
				for (size_t i = 0; i < rs.n; i++)
					for (int j = 0; j < others; j++)
						if (strcmp(other_ids[j], rs.v[i].e.id) == 0) {
							rs.v[i].e.grades = other_grades[j];
							rs.v[i].e.ngrades = 1;
						}
		} else {
			/* Many (a student who changed class): one read of all their grades with their evaluations. */
			s = db_prepare(
				c,
				"SELECT " REVAL_COLS ", g.status, g.value, g.comment, g.updated_at"
				" FROM notes_grades g JOIN notes_evaluations e ON e.id = g.evaluation_id"
				" WHERE g.student_id = ? AND e.publish_at <= ? AND (CAST(? AS TEXT) IS NULL OR e.period_id = ?)" ENTERED);
			rc = ENT_EDB;
			if (s) {
				db_bind_text(s, 1, student_id);
				db_bind_text(s, 2, now);
				db_bind_text_or_null(s, 3, period);
				db_bind_text_or_null(s, 4, period);
				rc = read_evals(s, a, now, student_id, &rs);
			}
		}
		/* Only those of courses that still exist (one question to the cours service). */
		if (!rc)
			rc = drop_gone(c, a, &known, rs.v, &rs.n);
		if (rc) {
			http_problem_err(req, rc, "Le relevé de notes n'a pas pu être lu.");
			return;
		}
		mev = sort_by_date(a, rs.v, rs.n);
		nmev = rs.n;
	}
	/* Merged by (date, id): a class evaluation takes the student's grade. */
	struct reval *ev = arena_alloc(a, (ncev + nmev ? ncev + nmev : 1) * sizeof(*ev));
	size_t nev = 0;
	for (size_t i = 0, j = 0; i < ncev || j < nmev;) {
		int d = i == ncev ? 1 : j == nmev ? -1 : by_date_id(&cev[i], &mev[j]);
		if (d < 0)
			ev[nev++] = cev[i++];
		else if (d > 0)
			ev[nev++] = mev[j++];
		else {
			ev[nev++] = cev[i++]; /* its grade was matched above */
			j++;
		}
	}
	for (size_t i = 0; i < nev; i++)
		rcache_dep(req, "c", ev[i].e.course_id);
	if (rcache_collecting(req) && (rc = next_publication(req, c, kids, nkc, student_id, now))) {
		http_problem_err(req, rc, "Le relevé de notes n'a pas pu être lu.");
		return;
	}
	if (only_teacher) {
		const char **mine = NULL;
		int nmine = cours_taught_by(c, a, only_teacher, &mine);
		if (nmine < 0) {
			http_problem_err(req, nmine, "Le relevé de notes n'a pas pu être lu.");
			return;
		}
		size_t kept = 0;
		for (size_t i = 0; i < nev; i++)
			if (has_str(mine, nmine, ev[i].e.course_id))
				ev[kept++] = ev[i];
		nev = kept;
	}
	/* The periods: the one asked for, or every period with an evaluation, by start date. */
	size_t np = 0, pcap = 0;
	struct rperiod *ps = NULL;
	for (size_t i = 0; i <= nev; i++) {
		const char *pid = i < nev ? ev[i].e.period_id : period;
		if (!pid)
			continue;
		size_t k = 0;
		while (k < np && strcmp(ps[k].id, pid) != 0)
			k++;
		if (k < np)
			continue;
		ps = arena_grow(a, ps, np, &pcap, sizeof(*ps));
		struct rperiod *rp = &ps[np++];
		memset(rp, 0, sizeof(*rp));
		rp->id = pid;
		rp->starts_on = "";
		db_stmt *q = db_prepare(c,
					"SELECT name, starts_on, ends_on, school_year FROM notes_periods WHERE id = ?");
		if (!q) {
			http_problem_err(req, ENT_EDB, "Le relevé de notes n'a pas pu être lu.");
			return;
		}
		db_bind_text(q, 1, pid);
		if ((rc = db_step(q)) == DB_ROW) {
			rp->found = 1;
			rp->name = arena_strdup(a, db_col_text(q, 0));
			rp->starts_on = arena_strdup(a, db_col_text(q, 1));
			rp->ends_on = arena_strdup(a, db_col_text(q, 2));
			rp->school_year = arena_strdup(a, db_col_text(q, 3));
		}
		db_done(q);
		if (rc < 0) {
			http_problem_err(req, rc, "Le relevé de notes n'a pas pu être lu.");
			return;
		}
	}
	if (np > 1)
		qsort(ps, np, sizeof(*ps), by_start);
	/*
	 * The courses, by title: those of the card's evaluations, as the cours service described them
	 * above (the class's, then the others), any one still missing in one more batch; their
	 * teachers in one batch; and the stored subject figures of the class's courses.
	 */
	size_t nc = 0, ccap = 0;
	struct rcourse *cs = NULL;
	struct sstat *sst = NULL;
	size_t nsst = 0, sstcap = 0;
	const char **missing = arena_alloc(a, (nev ? nev : 1) * sizeof(*missing));
	size_t nmissing = 0;
	for (size_t i = 0; i < nev; i++) {
		const char *id = ev[i].e.course_id;
		size_t k = 0;
		while (k < nc && strcmp(cs[k].id, id) != 0)
			k++;
		if (k < nc)
			continue;
		const struct cours_brief *b = NULL;
		for (size_t j = 0; !b && j < nkc; j++)
			if (strcmp(kc[j].id, id) == 0)
				b = &kc[j];
		if (!b)
			b = known_find(&known, id);
		cs = arena_grow(a, cs, nc, &ccap, sizeof(*cs));
		memset(&cs[nc], 0, sizeof(cs[nc]));
		cs[nc].id = id;
		if (b) {
			cs[nc].title = b->title;
			cs[nc].subject = b->subject;
		} else
			missing[nmissing++] = id;
		nc++;
	}
	if (nmissing) {
		struct cours_brief *mb = arena_alloc(a, nmissing * sizeof(*mb));
		if ((rc = cours_describe(c, a, missing, nmissing, mb)) < 0) {
			http_problem_err(req, rc, "Le relevé de notes n'a pas pu être lu.");
			return;
		}
		for (size_t k = 0; k < nc; k++)
			for (size_t j = 0; j < nmissing; j++)
				if (!cs[k].title && cs[k].id == missing[j]) {
					cs[k].title = mb[j].title;
					cs[k].subject = mb[j].subject;
				}
	}
	if ((rc = course_teachers(req, c, a, has_class ? cls : NULL, kc, nkc, cs, nc))) {
		http_problem_err(req, rc, "Le relevé de notes n'a pas pu être lu.");
		return;
	}
	if (has_class && nev) {
		for (size_t at = 0; at < nkc; at += NOTES_BATCH) {
			s = db_prepare(
				c,
				"SELECT course_id, period_id, nevals, average, lo, hi, stale_at FROM notes_subject_stats"
				" WHERE course_id IN " NOTES_IN16);
			if (!s) {
				rc = ENT_EDB;
				break;
			}
			notes_bind_ids(s, 1, kids + at, nkc - at);
			if ((rc = read_sstats(s, a, &sst, &nsst, &sstcap)))
				break;
		}
		if (rc < 0) {
			http_problem_err(req, rc, "Le relevé de notes n'a pas pu être lu.");
			return;
		}
	}
	if (nc > 1)
		qsort(cs, nc, sizeof(*cs), by_title);
	/* Each evaluation's period and course by index, compared below instead of their ids. */
	for (size_t i = 0; i < nev; i++) {
		size_t k = 0;
		while (k + 1 < np && strcmp(ps[k].id, ev[i].e.period_id) != 0)
			k++;
		ev[i].pix = k;
		k = 0;
		while (k + 1 < nc && strcmp(cs[k].id, ev[i].e.course_id) != 0)
			k++;
		ev[i].cix = k;
	}

	buf b;
	buf_init(&b, 0);
	buf_reserve(&b, 1024 + 320 * nev); /* about what an evaluation's line and its share of the rest take */
	jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "student");
	jw_obj_open(&w);
	jw_kstr(&w, "id", student_id);
	jw_kstr(&w, "name", name);
	jw_obj_close(&w);
	jw_key(&w, "periods");
	jw_arr_open(&w);
	/* Subjects per period, kept for the timeline. */
	struct notes_subject **psubs = arena_calloc(a, np ? np : 1, sizeof(*psubs));
	size_t *pnsubs = arena_calloc(a, np ? np : 1, sizeof(*pnsubs));
	for (size_t p = 0; p < np; p++) {
		struct notes_subject *subs = arena_calloc(a, nc ? nc : 1, sizeof(*subs));
		struct rsubj *rs = arena_calloc(a, nc ? nc : 1, sizeof(*rs));
		size_t ns = 0;
		for (size_t k = 0; k < nc; k++) {
			size_t cnt = 0;
			for (size_t i = 0; i < nev; i++)
				cnt += ev[i].pix == p && ev[i].cix == k;
			if (!cnt)
				continue;
			struct notes_subject *sj = &subs[ns];
			sj->course_id = cs[k].id;
			sj->evals = arena_alloc(a, cnt * sizeof(*sj->evals));
			for (size_t i = 0; i < nev; i++)
				if (ev[i].pix == p && ev[i].cix == k) {
					sj->evals[sj->nevals++] = &ev[i].e;
					ev[i].subj = ns;
				}
			rs[ns++].course = k;
		}
		psubs[p] = subs;
		pnsubs[p] = ns;
		double general = NAN;
		if ((rc = period_figures(c, a, has_class ? cls : NULL, ps[p].id, p, now, subs, rs, ns, ev, nev, sst,
					 nsst, &general))) {
			buf_free(&b);
			http_problem_err(req, rc, "Le relevé de notes n'a pas pu être lu.");
			return;
		}
		jw_obj_open(&w);
		if (ps[p].found) { /* the fields period_fields() writes, from the row read above */
			jw_kstr(&w, "id", ps[p].id);
			jw_kstr(&w, "name", ps[p].name);
			jw_kstr(&w, "school_year", ps[p].school_year);
			jw_kstr(&w, "starts_on", ps[p].starts_on);
			jw_kstr(&w, "ends_on", ps[p].ends_on);
		}
		/* The student's own averages count their grade only (present in every evaluation's grades). */
		jw_key(&w, "average");
		notes_jw_num(&w, only_teacher ? NAN : notes_general_avg(subs, ns, student_id, NULL));
		jw_key(&w, "class_average");
		notes_jw_num(&w, only_teacher ? NAN : general);
		jw_key(&w, "subjects");
		jw_arr_open(&w);
		for (size_t k = 0; k < ns; k++) {
			const struct rcourse *rc_ = &cs[rs[k].course];
			jw_obj_open(&w);
			jw_kstr(&w, "course_id", rc_->id);
			jw_kstr(&w, "title", rc_->title);
			jw_kstr(&w, "subject", rc_->subject);
			jw_key(&w, "teachers");
			jw_arr_open(&w);
			for (size_t t = 0; t < rc_->nteachers; t++)
				jw_str(&w, rc_->teachers[t]);
			jw_arr_close(&w);
			jw_key(&w, "average");
			notes_jw_num(&w, notes_subject_avg(&subs[k], student_id, NULL));
			jw_key(&w, "class_average");
			notes_jw_num(&w, rs[k].avg);
			jw_key(&w, "min");
			notes_jw_num(&w, rs[k].min);
			jw_key(&w, "max");
			notes_jw_num(&w, rs[k].max);
			jw_key(&w, "evaluations");
			jw_arr_open(&w);
			for (size_t i = 0; i < subs[k].nevals; i++)
				write_eval_line(&w, (const struct reval *)subs[k].evals[i], student_id);
			jw_arr_close(&w);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	/* Timeline: after each evaluation date, the general average of that date's period so far. */
	jw_key(&w, "timeline");
	jw_arr_open(&w);
	for (size_t p = 0; p < np && !only_teacher; p++) {
		/*
		 * The subjects' sums grow date after date, in the order notes_subject_avg() adds them, so
		 * each point is the very double notes_general_avg(..., date) would give, in one pass.
		 */
		size_t ns = pnsubs[p];
		double *num = arena_calloc(a, ns ? ns : 1, sizeof(*num)),
		       *den = arena_calloc(a, ns ? ns : 1, sizeof(*den));
		for (size_t i = 0; i < nev;) {
			if (ev[i].pix != p) {
				i++;
				continue;
			}
			const struct reval *first = &ev[i];
			const char *date = ev[i].e.date;
			for (; i < nev && same_date(&ev[i], first); i++) {
				const struct notes_eval *e = &ev[i].e;
				const struct notes_grade *g;
				if (ev[i].pix != p || !(g = notes_find_grade(e, student_id)) || g->status != NG_GRADED)
					continue;
				num[ev[i].subj] += notes_value20(g->value, e->scale) * e->coef;
				den[ev[i].subj] += e->coef;
			}
			double sum = 0;
			int k = 0;
			for (size_t j = 0; j < ns; j++)
				if (den[j] > 0) {
					sum += num[j] / den[j];
					k++;
				}
			if (!k)
				continue;
			jw_obj_open(&w);
			jw_kstr(&w, "date", date);
			jw_kstr(&w, "period_id", ps[p].id);
			jw_key(&w, "average");
			notes_jw_num(&w, sum / k);
			jw_obj_close(&w);
		}
	}
	jw_arr_close(&w);
	if (only_teacher)
		jw_kstr(&w, "scope", "teacher_subjects");
	jw_obj_close(&w);
	if (b.failed) {
		buf_free(&b);
		http_problem(req, 500, "Le relevé de notes est trop volumineux : choisissez une période.");
		return;
	}
	http_reply_buf(req, 200, "application/json", &b);
}

/*
 * The card from the answer cache when still right (1: answered), or 0 with the snapshot open for
 * report(). Asked after the access checks: the key holds who asks, whose card, the period and the
 * teacher's restricted view.
 */
static int cached_card(http_req *req, db_conn *c, const char *caller, const char *student, const char *period,
		       int restricted)
{
	char key[200];
	snprintf(key, sizeof(key), "notes-card|%s|%s|%s|%d", caller, student, period ? period : "", restricted);
	return rcache_begin(req, c, key);
}

void notes_me(http_req *req)
{
	db_conn *c = app_db();
	if (!c) {
		http_problem(req, 503, "La base de données est injoignable : réessayez dans un instant.");
		return;
	}
	int bad;
	const char *period = notes_period_arg(req, c, &bad);
	if (bad)
		return;
	const struct http_principal *p = http_principal(req);
	if (cached_card(req, c, p->sub, p->sub, period, 0))
		return;
	const char *name;
	if (users_names(c, http_arena(req), &p->sub, 1, &name) || !name)
		name = p->name;
	report(req, c, p->sub, name, period, NULL);
	rcache_end(req, c);
}

void notes_student(http_req *req)
{
	db_conn *c = app_db();
	if (!c) {
		http_problem(req, 503, "La base de données est injoignable : réessayez dans un instant.");
		return;
	}
	const struct http_principal *p = http_principal(req);
	const char *id = http_param(req, "id");
	arena *a = http_arena(req);
	struct user u;
	int rc = util_is_uuid(id) ? users_get(c, a, id, &u) : ENT_ENOTFOUND;
	if (rc && rc != ENT_ENOTFOUND) {
		http_problem_err(req, rc, "Le compte de l'élève n'a pas pu être lu.");
		return;
	}
	int self = strcmp(id, p->sub) == 0;
	/* A student reaches only their own card: any other id answers as if it did not exist. */
	if (rc == ENT_ENOTFOUND || !(u.roles & ROLE_ETUDIANT) ||
	    (!(p->roles & (ROLE_ADMIN | ROLE_ENSEIGNANT)) && !self)) {
		http_problem(req, 404, "Cet élève n'existe pas.");
		return;
	}
	if (!(p->roles & ROLE_ADMIN) && !self) {
		/* A teacher: of a course of the student's class, or of a course where the student has a grade. */
		char cls[37];
		int hc = users_student_class(c, id, cls);
		if (hc && hc != ENT_ENOTFOUND) {
			http_problem_err(req, hc, "Le compte de l'élève n'a pas pu être lu.");
			return;
		}
		int ok = hc == ENT_OK ? cours_teaches_class(c, p->sub, cls) : 0;
		if (ok == 0) {
			const char **mine;
			int n = cours_taught_by(c, a, p->sub, &mine);
			ok = n < 0 ? n : notes_graded_in(c, id, mine, (size_t)n);
		}
		if (ok < 0) {
			http_problem_err(req, ok, "Le compte de l'élève n'a pas pu être lu.");
			return;
		}
		if (!ok) {
			http_problem(req, 403,
				     "Seuls les enseignants de l'élève et les administrateurs voient ses notes.");
			return;
		}
	}
	int bad;
	const char *period = notes_period_arg(req, c, &bad);
	if (bad)
		return;
	/* A teacher sees the subjects they teach only, unless the school chose to show them all. */
	int restrict_view = !(p->roles & ROLE_ADMIN) && !self &&
			    (!app.cfg || strcmp(app.cfg->teacher_report_view, "all") != 0);
	if (cached_card(req, c, p->sub, id, period, restrict_view))
		return;
	/* The student's own card shows the name they chose; staff see the official one (read again in the snapshot). */
	struct user su;
	if ((rc = users_get(c, a, id, &su))) {
		if (rc == ENT_ENOTFOUND)
			http_problem(req, 404, "Cet élève n'existe pas.");
		else
			http_problem_err(req, rc, "Le compte de l'élève n'a pas pu être lu.");
		rcache_end(req, c);
		return;
	}
	report(req, c, id, self ? su.name : su.official_name, period, restrict_view ? p->sub : NULL);
	rcache_end(req, c);
}
