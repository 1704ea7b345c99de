/*
 * test_notes.c - the average rules of the notes service (src/services/notes/calc.c) on the cases
 * worked by hand in docs/notes.md, without a server or a database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "services/notes/internal.h"

/* cmocka's float assertion works in single precision: the rules are checked in double. */
#define assert_near(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-9)

/* The worked cases: maths e1..e3 and français f1..f2, students A(lice), B(ob), C(hloé). */
static struct notes_grade g_e1[] = {
	{"A", NG_GRADED, 15, NULL, NULL}, {"B", NG_GRADED, 9, NULL, NULL}, {"C", NG_ABSENT, 0, NULL, NULL}};
static struct notes_grade g_e2[] = {
	{"A", NG_GRADED, 7, NULL, NULL}, {"B", NG_GRADED, 4, NULL, NULL}, {"C", NG_GRADED, 9, NULL, NULL}};
static struct notes_grade g_e3[] = {
	{"A", NG_EXEMPT, 0, NULL, NULL}, {"B", NG_GRADED, 62, NULL, NULL}, {"C", NG_GRADED, 80, NULL, NULL}};
static struct notes_grade g_f1[] = {
	{"A", NG_GRADED, 12, NULL, NULL}, {"B", NG_GRADED, 16, NULL, NULL}, {"C", NG_NOT_GRADED, 0, NULL, NULL}};
static struct notes_grade g_f2[] = {
	{"A", NG_GRADED, 30, NULL, NULL}, {"B", NG_GRADED, 20, NULL, NULL}, {"C", NG_GRADED, 36, NULL, NULL}};

static struct notes_eval e1 = {"e1", "m", "t1", "Contrôle 1", "2026-10-01", "", 2, 20, 1, g_e1, 3};
static struct notes_eval e2 = {"e2", "m", "t1", "Interro", "2026-10-10", "", 1, 10, 1, g_e2, 3};
static struct notes_eval e3 = {"e3", "m", "t1", "DM", "2026-10-15", "", 0.5, 100, 1, g_e3, 3};
static struct notes_eval f1 = {"f1", "f", "t1", "Rédaction", "2026-10-05", "", 1, 20, 1, g_f1, 3};
static struct notes_eval f2 = {"f2", "f", "t1", "Lecture", "2026-10-20", "", 3, 40, 1, g_f2, 3};

static const struct notes_eval *maths_evals[] = {&e1, &e2, &e3};
static const struct notes_eval *fr_evals[] = {&f1, &f2};
static struct notes_subject subjects[] = {{"m", maths_evals, 3}, {"f", fr_evals, 2}};

static void test_value20(void **state)
{
	(void)state;
	assert_near(notes_value20(7, 10), 14);
	assert_near(notes_value20(62, 100), 12.4);
	assert_near(notes_value20(30, 40), 15);
	assert_true(isnan(notes_value20(5, 0)));
}

static void test_subject_averages(void **state)
{
	(void)state;
	assert_near(notes_subject_avg(&subjects[0], "A", NULL), 44.0 / 3);
	assert_near(notes_subject_avg(&subjects[0], "B", NULL), 32.2 / 3.5);
	assert_near(notes_subject_avg(&subjects[0], "C", NULL), 26 / 1.5);
	assert_near(notes_subject_avg(&subjects[1], "A", NULL), 57.0 / 4);
	assert_near(notes_subject_avg(&subjects[1], "B", NULL), 11.5);
	assert_near(notes_subject_avg(&subjects[1], "C", NULL), 18);
	assert_true(isnan(notes_subject_avg(&subjects[0], "nobody", NULL)));
	/* Up to a date: only the evaluations held by then. */
	assert_near(notes_subject_avg(&subjects[0], "A", "2026-10-01"), 15);
	assert_true(isnan(notes_subject_avg(&subjects[1], "A", "2026-10-01")));
}

static void test_general_averages(void **state)
{
	(void)state;
	assert_near(notes_general_avg(subjects, 2, "A", NULL), 347.0 / 24);
	assert_near(notes_general_avg(subjects, 2, "B", NULL), 10.35);
	assert_near(notes_general_avg(subjects, 2, "C", NULL), (52.0 / 3 + 18) / 2);
	assert_near(notes_general_avg(subjects, 2, "A", "2026-10-05"), 13.5);
	assert_near(notes_general_avg(subjects, 2, "A", "2026-10-15"), (44.0 / 3 + 12) / 2);
}

static void test_class_figures(void **state)
{
	(void)state;
	double avg, mn, mx;
	assert_int_equal(notes_eval_stats(&e1, &avg, &mn, &mx), 2);
	assert_near(avg, 12);
	assert_near(mn, 9);
	assert_near(mx, 15);
	assert_int_equal(notes_eval_stats(&e3, &avg, &mn, &mx), 2);
	assert_near(avg, 14.2);
	assert_int_equal(notes_subject_class(&subjects[0], &avg, &mn, &mx), 3);
	assert_near(avg, 41.2 / 3);
	assert_near(mn, 9.2);
	assert_near(mx, 52.0 / 3);
	assert_int_equal(notes_subject_class(&subjects[1], &avg, &mn, &mx), 3);
	assert_near(avg, 43.75 / 3);
	assert_near(notes_general_class(subjects, 2), 42.475 / 3);
	/* Nothing graded: NAN everywhere. */
	struct notes_grade none[] = {{"A", NG_ABSENT, 0, NULL, NULL}};
	struct notes_eval ev = {"x", "m", "t1", "x", "2026-10-01", "", 1, 20, 1, none, 1};
	assert_int_equal(notes_eval_stats(&ev, &avg, &mn, &mx), 0);
	assert_true(isnan(avg) && isnan(mn) && isnan(mx));
}

static void test_rounding_at_output(void **state)
{
	(void)state;
	char out[32];
	notes_fmt_num(out, 347.0 / 24);
	assert_string_equal(out, "14.46");
	notes_fmt_num(out, 44.0 / 3);
	assert_string_equal(out, "14.67");
	notes_fmt_num(out, 32.2 / 3.5);
	assert_string_equal(out, "9.2");
	notes_fmt_num(out, 12);
	assert_string_equal(out, "12");
	notes_fmt_num(out, NAN);
	assert_string_equal(out, "");
	buf b;
	buf_init(&b, 0);
	jw w;
	jw_init(&w, &b);
	jw_arr_open(&w);
	notes_jw_num(&w, 40.0 / 3);
	notes_jw_num(&w, NAN);
	notes_jw_num(&w, 10.35);
	jw_arr_close(&w);
	assert_string_equal(b.data, "[13.33,null,10.35]");
	buf_free(&b);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_int_equal(notes_status_parse("graded"), NG_GRADED);
	assert_int_equal(notes_status_parse("not_graded"), NG_NOT_GRADED);
	assert_int_equal(notes_status_parse("sick"), NG_NONE);
	assert_int_equal(notes_status_parse(NULL), NG_NONE);
	assert_string_equal(notes_status_name(NG_EXEMPT), "exempt");
	assert_null(notes_status_name(NG_NONE));
}

/* A deterministic pseudo-random sequence for the larger cases below. */
static uint64_t rnd_state = 88172645463325252u;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Same double, bit for bit (NAN equals NAN). */
static void assert_same(double a, double b)
{
	if (isnan(a) && isnan(b))
		return;
	assert_memory_equal(&a, &b, sizeof(a));
}

/*
 * notes_class_compute (what stats.c stores) gives the very doubles of notes_subject_class and
 * notes_general_class: on the worked cases, and on 200 random classes with inexact values (a
 * different order of the sums would show in the last bits).
 */
static void test_class_compute_same_bits(void **state)
{
	(void)state;
	arena *a = arena_new(0);
	struct notes_class_figures f;
	notes_class_compute(a, subjects, 2, &f);
	for (size_t k = 0; k < 2; k++) {
		double avg, mn, mx;
		assert_int_equal(notes_subject_class(&subjects[k], &avg, &mn, &mx), f.subj[k].n);
		assert_same(avg, f.subj[k].avg);
		assert_same(mn, f.subj[k].min);
		assert_same(mx, f.subj[k].max);
	}
	assert_same(notes_general_class(subjects, 2), f.general);
	static char ids[40][8];
	for (int i = 0; i < 40; i++)
		snprintf(ids[i], sizeof(ids[i]), "s%02d", (i * 17) % 40);
	for (int round = 0; round < 200; round++) {
		size_t ns = 1 + rnd() % 4;
		struct notes_subject *subs = arena_calloc(a, ns, sizeof(*subs));
		for (size_t k = 0; k < ns; k++) {
			size_t ne = rnd() % 5;
			const struct notes_eval **evs = arena_calloc(a, ne ? ne : 1, sizeof(*evs));
			for (size_t e = 0; e < ne; e++) {
				struct notes_eval *ev = arena_calloc(a, 1, sizeof(*ev));
				static const int scales[] = {20, 10, 100, 7};
				static const double coefs[] = {1, 2, 0.5, 0.3};
				ev->scale = scales[rnd() % 4];
				ev->coef = coefs[rnd() % 4];
				size_t ng = rnd() % 30, first = rnd() % 40;
				if (first + ng > 40)
					ng = 40 - first;
				ev->grades = arena_calloc(a, ng ? ng : 1, sizeof(*ev->grades));
				for (size_t g = 0; g < ng; g++) {
					struct notes_grade *gr = &ev->grades[ev->ngrades++];
					gr->student_id = ids[first + g];
					gr->status = rnd() % 6 == 0 ? (int)(2 + rnd() % 3) : NG_GRADED;
					gr->value = (double)(rnd() % ((uint64_t)ev->scale * 100 + 1)) / 100.0;
				}
				evs[e] = ev;
			}
			subs[k].course_id = "c";
			subs[k].evals = evs;
			subs[k].nevals = ne;
		}
		notes_class_compute(a, subs, ns, &f);
		for (size_t k = 0; k < ns; k++) {
			double avg, mn, mx;
			assert_int_equal(notes_subject_class(&subs[k], &avg, &mn, &mx), f.subj[k].n);
			assert_same(avg, f.subj[k].avg);
			assert_same(mn, f.subj[k].min);
			assert_same(mx, f.subj[k].max);
			/* The per-student rows of stats.c: the averages of notes_subject_avg, in order of first sight. */
			struct notes_student_avg *st;
			size_t n = notes_subject_students(a, &subs[k], &st);
			assert_int_equal(n, (size_t)f.subj[k].n);
			for (size_t i = 0; i < n; i++) {
				assert_same(st[i].avg, notes_subject_avg(&subs[k], st[i].student_id, NULL));
				const struct notes_grade *g = notes_find_grade(subs[k].evals[st[i].first_eval],
									       st[i].student_id);
				assert_non_null(g);
				assert_int_equal(g->status, NG_GRADED);
			}
		}
		assert_same(notes_general_class(subs, ns), f.general);
	}
	arena_free(a);
}

/* notes_jw_double writes what jw_double writes ("%.15g"), for cents and for anything else. */
static void test_fast_numbers(void **state)
{
	(void)state;
	static const double fixed[] = {0,    0.5,   1,    2,    0.3,          0.05,    0.1, 12.4, 14.67, 17.33, 100,
				       1000, 9.999, 1e13, 1e15, 123456789.12, 1.0 / 3, -1,  -0.0, 0.001, 2.5e-7};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 20000; i++) {
		double v = i < sizeof(fixed) / sizeof(fixed[0]) ? fixed[i]
			   : i % 2                              ? (double)(rnd() % 200001) / 100.0
								: (double)(rnd() % 2000001) / 1000.0;
		buf b1, b2;
		buf_init(&b1, 0);
		buf_init(&b2, 0);
		jw w1, w2;
		jw_init(&w1, &b1);
		jw_init(&w2, &b2);
		jw_arr_open(&w1);
		jw_arr_open(&w2);
		jw_double(&w1, v);
		notes_jw_double(&w2, v);
		jw_arr_close(&w1);
		jw_arr_close(&w2);
		assert_string_equal(b1.data, b2.data);
		buf_free(&b1);
		buf_free(&b2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value20),
		cmocka_unit_test(test_subject_averages),
		cmocka_unit_test(test_general_averages),
		cmocka_unit_test(test_class_figures),
		cmocka_unit_test(test_rounding_at_output),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_class_compute_same_bits),
		cmocka_unit_test(test_fast_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
