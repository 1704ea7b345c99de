/*
 * calc.c - the average rules of the report card (written out with worked cases in docs/notes.md).
 *
 * Pure functions over evaluations already loaded in memory: no database, no allocation. Values
 * are kept as doubles at full precision through every step; rounding to 2 decimals happens only
 * when a number is written out (notes_jw_num, notes_fmt_num), so an average of averages never
 * averages rounded numbers.
 *
 * Rules: a grade counts only when its status is "graded"; absent, exempt and not graded are left
 * out of every sum (the evaluation is shown, it weighs nothing). value20 = value * 20 / scale.
 * Subject average = sum(value20 * coef) / sum(coef) over the counted grades. General average =
 * plain mean of the subject averages (subjects are not weighted). Class figures are computed the
 * same way for every student graded at least once, then averaged.
 */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

double notes_value20(double value, int scale) { return scale > 0 ? value * 20.0 / (double)scale : NAN; }

const struct notes_grade *notes_find_grade(const struct notes_eval *e, const char *student)
{
	for (size_t i = 0; i < e->ngrades; i++)
		if (strcmp(e->grades[i].student_id, student) == 0)
			return &e->grades[i];
	return NULL;
}

/* Folds v into running statistics. */
static void acc(double v, int *n, double *sum, double *min, double *max)
{
	if (isnan(v))
		return;
	if (*n == 0 || v < *min)
		*min = v;
	if (*n == 0 || v > *max)
		*max = v;
	*sum += v;
	(*n)++;
}

static int finish(int n, double sum, double min, double max, double *avg, double *mn, double *mx)
{
	*avg = n ? sum / n : NAN;
	*mn = n ? min : NAN;
	*mx = n ? max : NAN;
	return n;
}

int notes_eval_stats(const struct notes_eval *e, double *avg, double *min, double *max)
{
	int n = 0;
	double sum = 0, lo = 0, hi = 0;
	for (size_t i = 0; i < e->ngrades; i++)
		if (e->grades[i].status == NG_GRADED)
			acc(notes_value20(e->grades[i].value, e->scale), &n, &sum, &lo, &hi);
	return finish(n, sum, lo, hi, avg, min, max);
}

double notes_subject_avg(const struct notes_subject *s, const char *student, const char *upto)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < s->nevals; i++) {
		const struct notes_eval *e = s->evals[i];
		if (upto && strcmp(e->date, upto) > 0)
			continue;
		const struct notes_grade *g = notes_find_grade(e, student);
		if (!g || g->status != NG_GRADED)
			continue;
		num += notes_value20(g->value, e->scale) * e->coef;
		den += e->coef;
	}
	return den > 0 ? num / den : NAN;
}

double notes_general_avg(const struct notes_subject *subs, size_t n, const char *student, const char *upto)
{
	double sum = 0;
	int k = 0;
	for (size_t i = 0; i < n; i++) {
		double a = notes_subject_avg(&subs[i], student, upto);
		if (!isnan(a)) {
			sum += a;
			k++;
		}
	}
	return k ? sum / k : NAN;
}

/* 1 if student is graded in an evaluation of subs before position (si, ei, gi): not the first sight. */
static int seen_before(const struct notes_subject *subs, size_t si, size_t ei, size_t gi, const char *student)
{
	for (size_t s = 0; s <= si; s++) {
		const struct notes_subject *sj = &subs[s];
		size_t last = s < si ? sj->nevals : ei + 1; /* evaluations of sj to look at */
		for (size_t e = 0; e < last && e < sj->nevals; e++) {
			const struct notes_eval *ev = sj->evals[e];
			size_t end = (s == si && e == ei) ? gi : ev->ngrades;
			for (size_t g = 0; g < end; g++)
				if (ev->grades[g].status == NG_GRADED && strcmp(ev->grades[g].student_id, student) == 0)
					return 1;
		}
	}
	return 0;
}

/*
 * Calls fn for each distinct student graded at least once in subs (in order of first sight).
 */
static void each_student(const struct notes_subject *subs, size_t n, void (*fn)(const char *student, void *arg),
			 void *arg)
{
	for (size_t s = 0; s < n; s++)
		for (size_t e = 0; e < subs[s].nevals; e++) {
			const struct notes_eval *ev = subs[s].evals[e];
			for (size_t g = 0; g < ev->ngrades; g++)
				if (ev->grades[g].status == NG_GRADED &&
				    !seen_before(subs, s, e, g, ev->grades[g].student_id))
					fn(ev->grades[g].student_id, arg);
		}
}

struct class_acc {
	const struct notes_subject *subs;
	size_t n;
	int general; /* 0: subject average of subs[0]; 1: general average over subs */
	int count;
	double sum, min, max;
};

static void class_one(const char *student, void *arg)
{
	struct class_acc *ca = arg;
	double v = ca->general ? notes_general_avg(ca->subs, ca->n, student, NULL)
			       : notes_subject_avg(ca->subs, student, NULL);
	acc(v, &ca->count, &ca->sum, &ca->min, &ca->max);
}

int notes_subject_class(const struct notes_subject *s, double *avg, double *min, double *max)
{
	struct class_acc ca = {s, 1, 0, 0, 0, 0, 0};
	each_student(s, 1, class_one, &ca);
	return finish(ca.count, ca.sum, ca.min, ca.max, avg, min, max);
}

double notes_general_class(const struct notes_subject *subs, size_t n)
{
	struct class_acc ca = {subs, n, 1, 0, 0, 0, 0};
	each_student(subs, n, class_one, &ca);
	double avg, mn, mx;
	finish(ca.count, ca.sum, ca.min, ca.max, &avg, &mn, &mx);
	return avg;
}

/* Rounds half away from zero to 2 decimals. */
static double round2(double v) { return round(v * 100.0) / 100.0; }

void notes_jw_num(jw *w, double v)
{
	if (isnan(v))
		jw_null(w);
	else
		notes_jw_double(w, round2(v));
}

/*
 * The text jw_double() writes ("%.15g"), without printf for the numbers of a report card: a
 * double that is the nearest to a number of cents below 1e13 prints as that decimal number,
 * trailing zeros left out. Returns the length written into out[24], or 0 for anything else
 * (negative zero included), which the callers hand to printf.
 */
static size_t fmt_cents(double v, char out[24])
{
	if (!(v >= 0 && v < 1e13) || signbit(v))
		return 0;
	long long cents = llround(v * 100.0);
	if ((double)cents / 100.0 != v)
		return 0;
	char tmp[24], *p = tmp + sizeof(tmp);
	int frac = (int)(cents % 100);
	long long whole = cents / 100;
	if (frac) {
		if (frac % 10)
			*--p = (char)('0' + frac % 10);
		*--p = (char)('0' + frac / 10);
		*--p = '.';
	}
	do
		*--p = (char)('0' + whole % 10);
	while ((whole /= 10) > 0);
	size_t n = (size_t)(tmp + sizeof(tmp) - p);
	memcpy(out, p, n);
	return n;
}

void notes_jw_double(jw *w, double v)
{
	char d[24];
	size_t n = fmt_cents(v, d);
	if (n)
		jw_raw(w, d, n);
	else
		jw_double(w, v);
}

void notes_buf_double(buf *b, double v)
{
	char d[24];
	size_t n = fmt_cents(v, d);
	if (n)
		buf_add(b, d, n);
	else if (!isfinite(v))
		buf_add(b, "null", 4);
	else
		buf_printf(b, "%.15g", v);
}

void notes_buf_num(buf *b, double v)
{
	if (isnan(v))
		buf_add(b, "null", 4);
	else
		notes_buf_double(b, round2(v));
}

void notes_fmt_num(char out[32], double v)
{
	if (isnan(v)) {
		out[0] = '\0';
		return;
	}
	snprintf(out, 32, "%.15g", round2(v));
}

static const char *const status_names[] = {NULL, "graded", "absent", "exempt", "not_graded"};

const char *notes_status_name(int status)
{
	return status > 0 && status <= NG_NOT_GRADED ? status_names[status] : NULL;
}

int notes_status_parse(const char *s)
{
	for (int i = 1; s && i <= NG_NOT_GRADED; i++)
		if (strcmp(s, status_names[i]) == 0)
			return i;
	return NG_NONE;
}

/* ---- the class figures in one pass (notes_class_compute) ---- */

/* FNV-1a of a student id, for the open-addressing table below. */
static uint64_t id_hash(const char *s)
{
	uint64_t h = 1469598103934665603u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

void notes_class_compute(arena *a, const struct notes_subject *subs, size_t n, struct notes_class_figures *out)
{
	out->subj = arena_calloc(a, n ? n : 1, sizeof(*out->subj));
	out->general = NAN;
	size_t ng = 0;
	for (size_t s = 0; s < n; s++)
		for (size_t e = 0; e < subs[s].nevals; e++)
			ng += subs[s].evals[e]->ngrades;
	/* Students numbered in order of first sight among graded grades, as each_student() meets them. */
	size_t cap = 16;
	while (cap < ng * 2)
		cap *= 2;
	const char **keys = arena_calloc(a, cap, sizeof(*keys));
	size_t *vals = arena_alloc(a, cap * sizeof(*vals));
	size_t **idx = arena_alloc(a, (n ? n : 1) * sizeof(*idx)); /* per subject, per evaluation's grade */
	size_t nst = 0;
	for (size_t s = 0; s < n; s++) {
		size_t k = 0;
		size_t tot = 0;
		for (size_t e = 0; e < subs[s].nevals; e++)
			tot += subs[s].evals[e]->ngrades;
		idx[s] = arena_alloc(a, (tot ? tot : 1) * sizeof(**idx));
		for (size_t e = 0; e < subs[s].nevals; e++) {
			const struct notes_eval *ev = subs[s].evals[e];
			for (size_t g = 0; g < ev->ngrades; g++, k++) {
				idx[s][k] = SIZE_MAX;
				if (ev->grades[g].status != NG_GRADED)
					continue;
				const char *id = ev->grades[g].student_id;
				size_t h = (size_t)id_hash(id) & (cap - 1);
				while (keys[h] && strcmp(keys[h], id) != 0)
					h = (h + 1) & (cap - 1);
				if (!keys[h]) {
					keys[h] = id;
					vals[h] = nst++;
				}
				idx[s][k] = vals[h];
			}
		}
	}
	/*
	 * Per subject: each student's sums in evaluation order (the operations of notes_subject_avg),
	 * then the subject figures over its students in their order of first sight in the subject.
	 */
	double *num = arena_alloc(a, (nst ? nst : 1) * sizeof(*num));
	double *den = arena_alloc(a, (nst ? nst : 1) * sizeof(*den));
	size_t *order = arena_alloc(a, (nst ? nst : 1) * sizeof(*order));
	double *savg = arena_alloc(a, (n ? n : 1) * (nst ? nst : 1) * sizeof(*savg));
	for (size_t s = 0; s < n; s++) {
		size_t no = 0, k = 0;
		for (size_t i = 0; i < nst; i++)
			num[i] = den[i] = 0, savg[s * nst + i] = NAN;
		unsigned char *seen = arena_calloc(a, nst ? nst : 1, 1);
		for (size_t e = 0; e < subs[s].nevals; e++) {
			const struct notes_eval *ev = subs[s].evals[e];
			for (size_t g = 0; g < ev->ngrades; g++, k++) {
				size_t i = idx[s][k];
				if (i == SIZE_MAX)
					continue;
				if (!seen[i]) {
					seen[i] = 1;
					order[no++] = i;
				}
				num[i] += notes_value20(ev->grades[g].value, ev->scale) * ev->coef;
				den[i] += ev->coef;
			}
		}
		int cnt = 0;
		double sum = 0, lo = 0, hi = 0;
		for (size_t j = 0; j < no; j++) {
			size_t i = order[j];
			double v = den[i] > 0 ? num[i] / den[i] : NAN;
			savg[s * nst + i] = v;
			acc(v, &cnt, &sum, &lo, &hi);
		}
		out->subj[s].n = finish(cnt, sum, lo, hi, &out->subj[s].avg, &out->subj[s].min, &out->subj[s].max);
	}
	/* The general class average: students in global order of first sight (their numbering). */
	int cnt = 0;
	double sum = 0, lo = 0, hi = 0;
	for (size_t i = 0; i < nst; i++) {
		double gs = 0;
		int gk = 0;
		for (size_t s = 0; s < n; s++) {
			double v = savg[s * nst + i];
			if (!isnan(v)) {
				gs += v;
				gk++;
			}
		}
		acc(gk ? gs / gk : NAN, &cnt, &sum, &lo, &hi);
	}
	double mn, mx;
	finish(cnt, sum, lo, hi, &out->general, &mn, &mx);
}

size_t notes_subject_students(arena *a, const struct notes_subject *s, struct notes_student_avg **out)
{
	size_t ng = 0;
	for (size_t e = 0; e < s->nevals; e++)
		ng += s->evals[e]->ngrades;
	size_t cap = 16;
	while (cap < ng * 2)
		cap *= 2;
	const char **keys = arena_calloc(a, cap, sizeof(*keys));
	size_t *vals = arena_alloc(a, cap * sizeof(*vals));
	struct notes_student_avg *v = arena_alloc(a, (ng ? ng : 1) * sizeof(*v));
	double *num = arena_alloc(a, (ng ? ng : 1) * sizeof(*num)), *den = arena_alloc(a, (ng ? ng : 1) * sizeof(*den));
	size_t n = 0;
	for (size_t e = 0; e < s->nevals; e++) {
		const struct notes_eval *ev = s->evals[e];
		for (size_t g = 0; g < ev->ngrades; g++) {
			if (ev->grades[g].status != NG_GRADED)
				continue;
			const char *id = ev->grades[g].student_id;
			size_t h = (size_t)id_hash(id) & (cap - 1);
			while (keys[h] && strcmp(keys[h], id) != 0)
				h = (h + 1) & (cap - 1);
			if (!keys[h]) {
				keys[h] = id;
				vals[h] = n;
				v[n].student_id = id;
				v[n].first_eval = e;
				num[n] = den[n] = 0;
				n++;
			}
			size_t i = vals[h];
			/* The operations of notes_subject_avg(), in its order. */
			num[i] += notes_value20(ev->grades[g].value, ev->scale) * ev->coef;
			den[i] += ev->coef;
		}
	}
	for (size_t i = 0; i < n; i++)
		v[i].avg = den[i] > 0 ? num[i] / den[i] : NAN;
	*out = v;
	return n;
}
