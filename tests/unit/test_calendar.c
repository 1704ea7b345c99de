/*
 * test_calendar.c - recurrence expansion of the calendar service (src/services/calendar/expand.c)
 * on the cases worked by hand in docs/calendar.md: the October and March clock changes of
 * Europe/Paris, A/B weeks, EXDATE, a holiday, a bounded series' end, rules refused, ISO weeks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "services/calendar/internal.h"

static time_t T(const char *s)
{
	time_t t;
	assert_int_equal(util_parse_rfc3339(s, &t), 0);
	return t;
}

struct got {
	char v[16][21];
	int n;
};

static int keep(void *ctx, time_t start, time_t end, time_t id)
{
	struct got *g = ctx;
	assert_true(end > start);
	assert_int_equal(id, start);
	if (g->n < 16)
		util_time_rfc3339(start, g->v[g->n++]);
	return 0;
}

/* Expands s over a wide window and compares the starts with want (NULL-terminated). */
static void expect(const struct cal_series *s, const char *const *want)
{
	struct got g = {.n = 0};
	int n = cal_expand(s, T("2020-01-01T00:00:00Z"), T("2030-01-01T00:00:00Z"), keep, &g);
	int k = 0;
	while (want[k])
		k++;
	assert_int_equal(n, k);
	for (int i = 0; i < k; i++)
		assert_string_equal(g.v[i], want[i]);
}

static void test_october_change(void **state)
{
	(void)state;
	/* Mondays 08:00 in Paris from 2026-10-19 (summer time, UTC+2): 08:00 after the 25th is UTC+1. */
	struct cal_series s = {.start = T("2026-10-19T06:00:00Z"),
			       .end = T("2026-10-19T07:00:00Z"),
			       .tz = "Europe/Paris",
			       .rrule = "FREQ=WEEKLY;COUNT=3"};
	expect(&s, (const char *const[]){"2026-10-19T06:00:00Z", "2026-10-26T07:00:00Z", "2026-11-02T07:00:00Z", NULL});
}

static void test_march_change(void **state)
{
	(void)state;
	/* Thursdays 10:00 from 2027-03-18 (UTC+1); summer time from Sunday 2027-03-28. */
	struct cal_series s = {.start = T("2027-03-18T09:00:00Z"),
			       .end = T("2027-03-18T10:00:00Z"),
			       .tz = "Europe/Paris",
			       .rrule = "FREQ=WEEKLY;COUNT=3"};
	expect(&s, (const char *const[]){"2027-03-18T09:00:00Z", "2027-03-25T09:00:00Z", "2027-04-01T08:00:00Z", NULL});
	/* A lesson ending in the hour the clocks skip still lasts (keep() checks end > start). */
	struct cal_series gap = {.start = T("2027-03-21T00:30:00Z"),
				 .end = T("2027-03-21T01:30:00Z"),
				 .tz = "Europe/Paris",
				 .rrule = "FREQ=WEEKLY;COUNT=2"};
	struct got gg = {.n = 0};
	assert_int_equal(cal_expand(&gap, T("2027-03-01T00:00:00Z"), T("2027-04-01T00:00:00Z"), keep, &gg), 2);
	/* The length stays one hour on the wall clock. */
	struct got g = {.n = 0};
	time_t ends[3];
	struct cal_series one = s;
	(void)ends;
	assert_int_equal(cal_expand(&one, T("2027-04-01T00:00:00Z"), T("2027-04-02T00:00:00Z"), keep, &g), 1);
}

static void test_ab_weeks(void **state)
{
	(void)state;
	/* Week A only: every other Tuesday from 2026-12-01 08:00. */
	struct cal_series s = {.start = T("2026-12-01T07:00:00Z"),
			       .end = T("2026-12-01T08:00:00Z"),
			       .tz = "Europe/Paris",
			       .rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=3"};
	expect(&s, (const char *const[]){"2026-12-01T07:00:00Z", "2026-12-15T07:00:00Z", "2026-12-29T07:00:00Z", NULL});
}

static void test_exdate_and_holiday(void **state)
{
	(void)state;
	time_t ex[] = {T("2026-12-09T13:00:00Z")};
	struct cal_series s = {.start = T("2026-12-02T13:00:00Z"),
			       .end = T("2026-12-02T14:00:00Z"),
			       .tz = "Europe/Paris",
			       .rrule = "FREQ=WEEKLY;COUNT=4",
			       .exdates = ex,
			       .nexdates = 1};
	expect(&s, (const char *const[]){"2026-12-02T13:00:00Z", "2026-12-16T13:00:00Z", "2026-12-23T13:00:00Z", NULL});
	/* Christmas holidays from Saturday 19 December to Monday 4 January 00:00 (Paris). */
	struct cal_span hol[] = {{T("2026-12-18T23:00:00Z"), T("2027-01-03T23:00:00Z")}};
	struct cal_series l = {.start = T("2026-12-14T07:00:00Z"),
			       .end = T("2026-12-14T08:00:00Z"),
			       .tz = "Europe/Paris",
			       .rrule = "FREQ=WEEKLY;COUNT=4",
			       .skip_holidays = 1,
			       .holidays = hol,
			       .nholidays = 1};
	expect(&l, (const char *const[]){"2026-12-14T07:00:00Z", "2027-01-04T07:00:00Z", NULL});
}

static void test_window_and_last_end(void **state)
{
	(void)state;
	struct cal_series s = {.start = T("2026-11-02T07:00:00Z"),
			       .end = T("2026-11-02T08:00:00Z"),
			       .tz = "Europe/Paris",
			       .rrule = "FREQ=WEEKLY;COUNT=6"};
	struct got g = {.n = 0};
	/* A window that starts inside an occurrence includes it. */
	assert_int_equal(cal_expand(&s, T("2026-11-16T07:30:00Z"), T("2026-11-24T00:00:00Z"), keep, &g), 2);
	assert_string_equal(g.v[0], "2026-11-16T07:00:00Z");
	assert_string_equal(g.v[1], "2026-11-23T07:00:00Z");
	time_t last;
	assert_int_equal(cal_series_last_end(&s, &last), 1);
	char txt[21];
	util_time_rfc3339(last, txt);
	assert_string_equal(txt, "2026-12-07T08:00:00Z");
	/* The split of docs/calendar.md: the old part ends before the 16th (UNTIL, one second before). */
	struct cal_series old = s;
	old.rrule = "FREQ=WEEKLY;UNTIL=20261116T065959Z";
	expect(&old, (const char *const[]){"2026-11-02T07:00:00Z", "2026-11-09T07:00:00Z", NULL});
	struct cal_series open = s;
	open.rrule = "FREQ=WEEKLY;BYDAY=MO";
	assert_int_equal(cal_series_last_end(&open, &last), 0);
}

static void test_rules_refused(void **state)
{
	(void)state;
	const char *why = NULL;
	time_t t = T("2026-12-01T07:00:00Z");
	assert_int_equal(cal_rule_check("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", t, &why), ENT_OK);
	assert_int_equal(cal_rule_check("FREQ=SECONDLY", t, &why), ENT_EINVAL);
	assert_non_null(why);
	assert_int_equal(cal_rule_check("FREQ=HOURLY;COUNT=3", t, &why), ENT_EINVAL);
	assert_int_equal(cal_rule_check("not a rule", t, &why), ENT_EINVAL);
	assert_int_equal(cal_rule_check("FREQ=DAILY;UNTIL=20200101T000000Z", t, &why), ENT_EINVAL);
	assert_int_equal(cal_rule_check("FREQ=DAILY;COUNT=20000", t, &why), ENT_EINVAL);
	/* Parts out of range: libical would search forever for the 51st Sunday of a month (fuzzing). */
	assert_int_equal(cal_rule_check("FREQ=MONTHLY;BYDAY=51SU", t, &why), ENT_EINVAL);
	assert_int_equal(cal_rule_check("FREQ=WEEKLY;BYDAY=2MO", t, &why), ENT_EINVAL);
	assert_int_equal(cal_rule_check("FREQ=DAILY;BYHOUR=8,10", t, &why), ENT_EINVAL);
	assert_int_equal(cal_rule_check("FREQ=MONTHLY;BYMONTHDAY=0", t, &why), ENT_EINVAL);
	assert_int_equal(cal_rule_check("FREQ=MONTHLY;BYDAY=-1FR", t, &why), ENT_OK);
	assert_int_equal(cal_rule_check("FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=1", t, &why), ENT_OK);
	struct cal_series bad = {.start = t, .end = t + 3600, .tz = "Europe/Paris", .rrule = "FREQ=MONTHLY;BYDAY=51SU"};
	struct got none = {.n = 0};
	assert_int_equal(cal_expand(&bad, t, t + 86400L * 365, keep, &none), ENT_EINVAL);
	/* A stored rule that slipped through still cannot loop: at most 10,000 steps. */
	struct cal_series s = {.start = t, .end = t + 3600, .tz = "Europe/Paris", .rrule = "FREQ=DAILY"};
	struct got g = {.n = 0};
	int n = cal_expand(&s, t, t + 40L * 365 * 86400, keep, &g);
	assert_true(n > 0 && n <= 10000);
}

static void test_iso_weeks(void **state)
{
	(void)state;
	time_t from, to;
	char txt[21], w[9];
	assert_int_equal(cal_week_start("2026-W49", "Europe/Paris", &from, &to), 0);
	util_time_rfc3339(from, txt);
	assert_string_equal(txt, "2026-11-29T23:00:00Z");
	util_time_rfc3339(to, txt);
	assert_string_equal(txt, "2026-12-06T23:00:00Z");
	assert_int_equal(cal_week_start("2026-W53", "Europe/Paris", &from, &to), 0); /* 2026 has 53 weeks */
	util_time_rfc3339(from, txt);
	assert_string_equal(txt, "2026-12-27T23:00:00Z");
	assert_int_equal(cal_week_start("2027-W53", "Europe/Paris", &from, &to), ENT_EINVAL);
	assert_int_equal(cal_week_start("2026-49", "Europe/Paris", &from, &to), ENT_EINVAL);
	assert_int_equal(cal_week_start("2026-W00", "Europe/Paris", &from, &to), ENT_EINVAL);
	/* A summer week: Monday 00:00 is 22:00 UTC the day before. */
	assert_int_equal(cal_week_start("2027-W14", "Europe/Paris", &from, &to), 0);
	util_time_rfc3339(from, txt);
	assert_string_equal(txt, "2027-04-04T22:00:00Z");
	assert_int_equal(cal_iso_week(T("2026-12-03T10:00:00Z"), "Europe/Paris", w), 0);
	assert_string_equal(w, "2026-W49");
	assert_int_equal(cal_iso_week(T("2027-01-01T10:00:00Z"), "Europe/Paris", w), 0);
	assert_string_equal(w, "2026-W53");
	assert_int_equal(cal_iso_week(T("2026-11-29T23:30:00Z"), "Europe/Paris", w), 0); /* Monday 00:30 in Paris */
	assert_string_equal(w, "2026-W49");
}

int main(void)
{
	cal_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_october_change),
		cmocka_unit_test(test_march_change),
		cmocka_unit_test(test_ab_weeks),
		cmocka_unit_test(test_exdate_and_holiday),
		cmocka_unit_test(test_window_and_last_end),
		cmocka_unit_test(test_rules_refused),
		cmocka_unit_test(test_iso_weeks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
