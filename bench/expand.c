/*
 * expand.c - the cost of expanding one class's timetable (bench/expand.sh).
 *
 * Builds the timetable `ent demo --scale` gives a class (src/services/calendar/generate.c): 28
 * lessons a week on the collège grid, 26 weekly series and two slots shared by A and B weeks
 * (four INTERVAL=2 series), Monday to Friday from the first day of the 2026-2027 school year to
 * the summer, on Paris's wall clock, with the four zone C holidays leaving lessons out. Then:
 *   expand_year   every series over the whole school year (what a class's year costs);
 *   expand_week   every series over one week of June, the last weeks being the dearest: an
 *                 expansion walks the rule from the series' first occurrence (what S6's
 *                 timetable request pays for its lessons, before the database and the JSON).
 * Each is run `reps` times (argument, default 1) after a first expansion that is not measured;
 * the wall-clock time per call is printed. Under callgrind with reps 1, --toggle-collect on each
 * function gives the instructions of one call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "services/calendar/internal.h"

#define NSERIES 30

static int count(void *ctx, time_t start, time_t end, time_t id)
{
	(void)start;
	(void)end;
	(void)id;
	(*(long *)ctx)++;
	return 0;
}

__attribute__((noinline)) long expand_year(const struct cal_series *s, int n, time_t from, time_t to);
__attribute__((noinline)) long expand_week(const struct cal_series *s, int n, time_t from, time_t to);

__attribute__((noinline)) long expand_year(const struct cal_series *s, int n, time_t from, time_t to)
{
	long occ = 0;
	for (int i = 0; i < n; i++)
		cal_expand(&s[i], from, to, count, &occ);
	return occ;
}

__attribute__((noinline)) long expand_week(const struct cal_series *s, int n, time_t from, time_t to)
{
	long occ = 0;
	for (int i = 0; i < n; i++)
		cal_expand(&s[i], from, to, count, &occ);
	return occ;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1;
	if (reps < 1)
		reps = 1;
	cal_init();
	struct cal_year y;
	if (cal_year_dates("2026-2027", &y))
		return 1;
	struct cal_span hol[4];
	for (int i = 0; i < 4; i++)
		hol[i] = (struct cal_span){y.holidays[i].from, y.holidays[i].to};
	static const int hm[7][2] = {{8, 0}, {9, 0}, {10, 15}, {11, 15}, {13, 30}, {14, 30}, {15, 45}};
	static const char *const byday[5] = {"MO", "TU", "WE", "TH", "FR"};
	static char rules[NSERIES][96];
	struct cal_series s[NSERIES];
	long first = cal_day_number(y.first_day), week0 = first - ((first % 7) + 7 + 3) % 7;
	char u[21];
	util_time_rfc3339(y.end - 1, u);
	/* Positions 0..27 of the week (Monday 08:00 ...), Wednesday afternoons free; 26 and 27 are A/B. */
	int n = 0;
	for (int p = 0, day = 0, slot = 0; p < 28; p++) {
		for (int ab = 0; ab < (p >= 26 ? 2 : 1); ab++) {
			int interval = p >= 26 ? 2 : 1;
			long dd = week0 + 7 * ab + day;
			while (dd < first)
				dd += 7 * interval;
			struct cal_series *x = &s[n];
			memset(x, 0, sizeof(*x));
			x->start = cal_day_start(dd) + hm[slot][0] * 3600 + hm[slot][1] * 60;
			x->end = x->start + 3600;
			snprintf(rules[n], sizeof rules[n], "FREQ=WEEKLY;%sBYDAY=%s;UNTIL=%.4s%.2s%.2sT%.2s%.2s%.2sZ",
				 interval == 2 ? "INTERVAL=2;" : "", byday[day], u, u + 5, u + 8, u + 11, u + 14,
				 u + 17);
			x->rrule = rules[n];
			x->skip_holidays = 1;
			x->holidays = hol;
			x->nholidays = 4;
			n++;
		}
		if (++slot == (day == 2 ? 4 : 7)) {
			slot = 0;
			day++;
		}
	}
	time_t wfrom, wto;
	cal_week_start("2027-W25", CAL_DEFAULT_TZ, &wfrom, &wto); /* 21 June 2027 */
	/* A first expansion outside the measured functions: libical's lazy set-up (the zone's changes). */
	long warm = 0;
	for (int i = 0; i < n; i++)
		cal_expand(&s[i], y.first_day, y.end, count, &warm);
	long occ_year = 0, occ_week = 0;
	double t0 = now_ns();
	for (int r = 0; r < reps; r++)
		occ_year = expand_year(s, n, y.first_day, y.end);
	double t1 = now_ns();
	for (int r = 0; r < reps; r++)
		occ_week = expand_week(s, n, wfrom, wto);
	double t2 = now_ns();
	printf("series %d, occurrences in the year %ld, in the week of 2027-06-21 %ld\n", n, occ_year, occ_week);
	printf("expand_year %.1f us/call, expand_week %.1f us/call (%d calls each)\n", (t1 - t0) / reps / 1e3,
	       (t2 - t1) / reps / 1e3, reps);
	return 0;
}
