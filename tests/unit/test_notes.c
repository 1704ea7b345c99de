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
#include <string.h>

#include "core/buf.h"
#include "services/notes/internal.h"

/* cmocka's float assertion works in single precision: the rules are checked in double. */
#define assert_near(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-9)

/* The worked cases: maths e1..e3 and français f1..f2, students A(lice), B(ob), C(hloé). */
static struct notes_grade g_e1[] = {{"A", NG_GRADED, 15, NULL, NULL}, {"B", NG_GRADED, 9, NULL, NULL}, {"C", NG_ABSENT, 0, NULL, NULL}};
static struct notes_grade g_e2[] = {{"A", NG_GRADED, 7, NULL, NULL}, {"B", NG_GRADED, 4, NULL, NULL}, {"C", NG_GRADED, 9, NULL, NULL}};
static struct notes_grade g_e3[] = {{"A", NG_EXEMPT, 0, NULL, NULL}, {"B", NG_GRADED, 62, NULL, NULL}, {"C", NG_GRADED, 80, NULL, NULL}};
static struct notes_grade g_f1[] = {{"A", NG_GRADED, 12, NULL, NULL}, {"B", NG_GRADED, 16, NULL, NULL}, {"C", NG_NOT_GRADED, 0, NULL, NULL}};
static struct notes_grade g_f2[] = {{"A", NG_GRADED, 30, NULL, NULL}, {"B", NG_GRADED, 20, NULL, NULL}, {"C", NG_GRADED, 36, NULL, NULL}};

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value20),       cmocka_unit_test(test_subject_averages),
		cmocka_unit_test(test_general_averages), cmocka_unit_test(test_class_figures),
		cmocka_unit_test(test_rounding_at_output), cmocka_unit_test(test_status_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
