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
	/* UNTIL on the last occurrence's UTC start includes it (RFC 5545), one second before does not. */
	s.rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20261229T070000Z";
	expect(&s, (const char *const[]){"2026-12-01T07:00:00Z", "2026-12-15T07:00:00Z", "2026-12-29T07:00:00Z", NULL});
	s.rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20261229T065959Z";
	expect(&s, (const char *const[]){"2026-12-01T07:00:00Z", "2026-12-15T07:00:00Z", NULL});
	/* Week B of the same slot, read in a window of the spring: the weeks before are skipped, not walked. */
	struct cal_series b = {.start = T("2026-12-08T07:00:00Z"),
			       .end = T("2026-12-08T08:00:00Z"),
			       .tz = "Europe/Paris",
			       .rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"};
	struct got g = {.n = 0};
	assert_int_equal(cal_expand(&b, T("2027-03-29T00:00:00Z"), T("2027-04-19T00:00:00Z"), keep, &g), 2);
	assert_string_equal(g.v[0], "2027-03-30T06:00:00Z"); /* 08:00 summer time: 30 March is week B */
	assert_string_equal(g.v[1], "2027-04-13T06:00:00Z");
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

struct occs {
	time_t start[600], end[600];
	int n;
};

static int keep_all(void *ctx, time_t start, time_t end, time_t id)
{
	struct occs *o = ctx;
	assert_int_equal(id, start);
	assert_true(o->n < 600);
	o->start[o->n] = start;
	o->end[o->n++] = end;
	return 0;
}

/*
 * The arithmetic expansion of weekly and daily rules (expand.c, expand_simple) gives exactly what
 * libical's iterator gives, over windows placed all along the series (so that whole periods are
 * skipped before them): A/B weeks with several days and another WKST, COUNT, UNTIL on an
 * occurrence and one second before it, the October and March clock changes, a start in the hour
 * the clocks skip, EXDATE, a holiday, a length over a day, and rules left to libical.
 */
static void test_simple_matches_libical(void **state)
{
	(void)state;
	static const char *const rules[] = {
		"FREQ=WEEKLY",
		"FREQ=WEEKLY;BYDAY=TU,TH",
		"FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
		"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,FR;WKST=SU",
		"FREQ=WEEKLY;INTERVAL=3;BYDAY=SU,TU,SA;WKST=WE",
		"FREQ=WEEKLY;COUNT=7;BYDAY=MO,TU,WE,TH,FR,SA,SU",
		"FREQ=WEEKLY;INTERVAL=2;COUNT=9;BYDAY=TU,FR",
		"FREQ=WEEKLY;INTERVAL=2;UNTIL=20270302T070000Z",
		"FREQ=WEEKLY;UNTIL=20270302T065959Z;BYDAY=TU",
		"FREQ=DAILY;INTERVAL=3",
		"FREQ=DAILY;COUNT=40",
		"FREQ=DAILY;BYDAY=MO,TU",
		"FREQ=WEEKLY;BYDAY=MO,WE",
		"FREQ=MONTHLY;BYDAY=1TU",
	};
	/* Tuesday 08:00 in Paris (summer time), Tuesday 02:30 in winter (the clocks skip 02:00-03:00 on
	 * Sunday 28 March 2027, not a Tuesday), Sunday 02:30 in winter (a weekly rule then falls in the gap). */
	static const char *const starts[] = {"2026-09-01T06:00:00Z", "2026-11-03T01:30:00Z", "2027-03-21T01:30:00Z"};
	static const long lengths[] = {3600, 25 * 3600};
	struct cal_span hol = {T("2026-12-19T23:00:00Z"), T("2027-01-03T23:00:00Z")};
	int compared = 0;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		for (size_t j = 0; j < sizeof(starts) / sizeof(starts[0]); j++)
			for (size_t l = 0; l < 2; l++) {
				time_t start = T(starts[j]), ex[1] = {start + 14 * 86400};
				struct cal_series s = {.start = start,
						       .end = start + lengths[l],
						       .tz = "Europe/Paris",
						       .rrule = rules[i],
						       .exdates = ex,
						       .nexdates = 1,
						       .skip_holidays = (int)l == 0,
						       .holidays = &hol,
						       .nholidays = 1};
				for (long w = -3; w < 70; w++) {
					time_t from = start + w * 7 * 86400 + (w % 3) * 3 * 3600 - 86400,
					       to = from + (w % 2 ? 7 : 3) * 86400;
					static struct occs a, b;
					a.n = b.n = 0;
					int na = cal_expand_rule(&s, from, to, keep_all, &a, 0);
					int nb = cal_expand_rule(&s, from, to, keep_all, &b, 1);
					if (na != nb)
						fail_msg("%s from %s, window %ld: %d occurrences, libical %d", rules[i],
							 starts[j], w, na, nb);
					for (int k = 0; k < na; k++) {
						assert_int_equal(a.start[k], b.start[k]);
						assert_int_equal(a.end[k], b.end[k]);
					}
					compared += na;
				}
				/* The whole series (from its start: nothing skipped). */
				static struct occs a, b;
				a.n = b.n = 0;
				time_t far = start + 800L * 86400;
				assert_int_equal(cal_expand_rule(&s, start, far, keep_all, &a, 0),
						 cal_expand_rule(&s, start, far, keep_all, &b, 1));
				assert_memory_equal(a.start, b.start, sizeof(time_t) * (size_t)a.n);
			}
	assert_true(compared > 4000); /* 4,875 */
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
		cmocka_unit_test(test_simple_matches_libical),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
