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
				if (ev->grades[g].status == NG_GRADED && !seen_before(subs, s, e, g, ev->grades[g].student_id))
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
	double v = ca->general ? notes_general_avg(ca->subs, ca->n, student, NULL) : notes_subject_avg(ca->subs, student, NULL);
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
		jw_double(w, round2(v));
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
