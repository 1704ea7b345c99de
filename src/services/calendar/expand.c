/*
 * expand.c - the occurrences of an event in a window: recurrence rules (RFC 5545 RRULE, through
 * libical), exception dates, holidays, in the event's time zone.
 *
 * A series is stored as its first occurrence (start and end in UTC), its time zone (Europe/Paris by
 * default), an RRULE and its EXDATEs. Occurrences are computed on the wall clock of the time zone,
 * as a school means them: a lesson at 08:00 stays at 08:00 across the October and March clock
 * changes (its UTC time moves by an hour), and its length is wall-clock too. Each occurrence is
 * named by its original start in UTC (RFC 5545's RECURRENCE-ID): the key of EXDATEs and of the
 * changes made to one occurrence (overrides.c).
 *
 * Rules are bounded on purpose: a frequency below DAILY is refused (no school event repeats every
 * hour, and such a rule without an end would expand without bound), and expansion stops after
 * CAL_MAX_STEPS iterations whatever the rule says, so no stored rule can make a request loop.
 *
 * Nothing here touches the database: these are pure functions, tested against the cases worked by
 * hand in docs/calendar.md (tests/unit/test_calendar.c).
 */
#include "internal.h"

#include <libical/ical.h>
#include <pthread.h>
#include <string.h>

#include "core/err.h"

/* Iterations of a rule at most per expansion (a daily rule over 27 years; a weekly one, 190). */
#define CAL_MAX_STEPS 10000

/* The default zone, found once by cal_init() before worker threads start (libical's lookup by name
 * compares it with every zone it knows: a third of a week's expansion). */
static icaltimezone *default_zone;

static icaltimezone *zone_of(const char *tz)
{
	if (!tz || !*tz)
		tz = CAL_DEFAULT_TZ;
	if (default_zone && strcmp(tz, CAL_DEFAULT_TZ) == 0)
		return default_zone;
	if (strcmp(tz, "UTC") == 0)
		return icaltimezone_get_utc_timezone();
	return icaltimezone_get_builtin_timezone(tz);
}

int cal_tz_valid(const char *tz) { return tz && strlen(tz) < 64 && zone_of(tz) != NULL; }

void cal_init(void)
{
	/* Loads the default zone once, before worker threads use it. */
	if (!default_zone)
		default_zone = zone_of(CAL_DEFAULT_TZ);
}

/* 1 if a list of r has a value out of [lo, hi] or 0 (when nonzero), up to its end marker. */
static int out_of(const short *v, int size, int lo, int hi, int nonzero)
{
	for (int i = 0; i < size && v[i] != ICAL_RECURRENCE_ARRAY_MAX; i++)
		if (v[i] < lo || v[i] > hi || (nonzero && v[i] == 0))
			return 1;
	return 0;
}

/*
 * 1 when a BY part is out of RFC 5545's ranges, or of what a school needs: libical accepts
 * BYDAY=51SU in a monthly rule and then searches forever for the 51st Sunday of a month (found by
 * fuzzing, tests/fuzz/corpus/ics). Times within the day (BYHOUR, BYMINUTE, BYSECOND) are refused:
 * they would repeat an event several times a day.
 */
static int rule_parts_bad(const struct icalrecurrencetype *r)
{
	if (r->by_hour[0] != ICAL_RECURRENCE_ARRAY_MAX || r->by_minute[0] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_second[0] != ICAL_RECURRENCE_ARRAY_MAX)
		return 1;
	int maxpos = r->freq == ICAL_MONTHLY_RECURRENCE ? 5 : r->freq == ICAL_YEARLY_RECURRENCE ? 53 : 0;
	for (int i = 0; i < ICAL_BY_DAY_SIZE && r->by_day[i] != ICAL_RECURRENCE_ARRAY_MAX; i++) {
		int pos = icalrecurrencetype_day_position(r->by_day[i]);
		if (pos < -maxpos || pos > maxpos)
			return 1;
	}
	for (int i = 0; i < ICAL_BY_MONTH_SIZE && r->by_month[i] != ICAL_RECURRENCE_ARRAY_MAX; i++) {
		int m = icalrecurrencetype_month_month(r->by_month[i]);
		if (m < 1 || m > 12 || icalrecurrencetype_month_is_leap(r->by_month[i]))
			return 1;
	}
	return out_of(r->by_month_day, ICAL_BY_MONTHDAY_SIZE, -31, 31, 1) ||
	       out_of(r->by_year_day, ICAL_BY_YEARDAY_SIZE, -366, 366, 1) ||
	       out_of(r->by_week_no, ICAL_BY_WEEKNO_SIZE, -53, 53, 1) ||
	       out_of(r->by_set_pos, ICAL_BY_SETPOS_SIZE, -366, 366, 1);
}

int cal_rule_check(const char *rrule, time_t dtstart, const char **why)
{
	if (!rrule)
		return ENT_OK;
	if (strlen(rrule) > 500) {
		*why = "est trop longue (500 caractères au plus)";
		return ENT_EINVAL;
	}
	icalerror_clear_errno();
	struct icalrecurrencetype r = icalrecurrencetype_from_string(rrule);
	if (r.freq == ICAL_NO_RECURRENCE || icalerrno != ICAL_NO_ERROR) {
		icalerror_clear_errno();
		*why = "n'est pas une règle de récurrence RFC 5545 (par exemple FREQ=WEEKLY;INTERVAL=2;BYDAY=MO)";
		return ENT_EINVAL;
	}
	if (r.freq == ICAL_SECONDLY_RECURRENCE || r.freq == ICAL_MINUTELY_RECURRENCE ||
	    r.freq == ICAL_HOURLY_RECURRENCE) {
		*why = "répète plus d'une fois par jour : FREQ doit être DAILY, WEEKLY, MONTHLY ou YEARLY";
		return ENT_EINVAL;
	}
	if (r.interval < 1 || r.interval > 1000) {
		*why = "a un INTERVAL hors de 1 à 1000";
		return ENT_EINVAL;
	}
	if (r.count < 0 || r.count > CAL_MAX_STEPS) {
		*why = "a un COUNT hors de 1 à 10000";
		return ENT_EINVAL;
	}
	if (rule_parts_bad(&r)) {
		*why = "a une partie BY… hors des valeurs de la RFC 5545 (BYDAY=5MO au plus dans un mois, pas de BYHOUR…)";
		return ENT_EINVAL;
	}
	if (!icaltime_is_null_time(r.until) &&
	    icaltime_as_timet_with_zone(r.until, icaltimezone_get_utc_timezone()) < dtstart) {
		*why = "se termine (UNTIL) avant son premier début";
		return ENT_EINVAL;
	}
	return ENT_OK;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm). */
static long days_from_civil(long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

/* The date of day number z (days from 1970-01-01), the inverse of days_from_civil. */
static void civil_from_days(long z, int *y, int *m, int *d)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* 1 if t is in the sorted array v of n times. */
static int in_sorted(const time_t *v, size_t n, time_t t)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v[mid] == t)
			return 1;
		if (v[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* 1 if [start, end) falls in one of the holidays (its start inside a holiday's span). */
static int in_holiday(const struct cal_span *h, size_t nh, time_t start)
{
	for (size_t i = 0; i < nh; i++)
		if (start >= h[i].start && start < h[i].end)
			return 1;
	return 0;
}

/* expand_simple(): not a rule it expands (below every ent_err a callback may return). */
#define NOT_SIMPLE (-1000)

/* 1 if a BY list of a rule is not empty. */
static int has(const short *v) { return v[0] != ICAL_RECURRENCE_ARRAY_MAX; }

/*
 * What a series' occurrence needs besides its start: the wall clock, the wall-clock length, the
 * filters applied to each occurrence, and the callback.
 */
struct walk {
	const struct cal_series *s;
	icaltimezone *z;
	struct icaldurationtype len;
	time_t from, to;
	time_t until; /* the rule's UNTIL in UTC (inclusive), or 0 */
	cal_occ_fn fn;
	void *ctx;
	int n;
};

/* One occurrence at wall-clock t: 1 to stop (past the window or the rule's UNTIL), 0 to go on, or fn's error. */
static int occurrence(struct walk *w, struct icaltimetype t)
{
	const struct cal_series *s = w->s;
	time_t start = icaltime_as_timet_with_zone(t, w->z);
	if (start >= w->to || (w->until && start > w->until))
		return 1;
	time_t end = icaltime_as_timet_with_zone(icaltime_add(t, w->len), w->z);
	if (end <= start) /* the wall-clock end fell in the spring gap: keep the series' length in seconds */
		end = start + (s->end - s->start);
	if (end <= w->from)
		return 0;
	if (in_sorted(s->exdates, s->nexdates, start))
		return 0;
	if (s->skip_holidays && in_holiday(s->holidays, s->nholidays, start))
		return 0;
	int rc = w->fn(w->ctx, start, end, start);
	if (rc < 0)
		return rc;
	w->n++;
	return 0;
}

/*
 * The rules a school writes for its timetable, expanded by arithmetic on day numbers instead of
 * libical's iterator: FREQ=WEEKLY with BYDAY days (no position) or none, INTERVAL (A/B weeks),
 * WKST, COUNT, an UTC UNTIL; FREQ=DAILY without BY parts; a first occurrence the rule itself
 * produces (DTSTART on one of the BYDAY days). Every occurrence is the first one's wall-clock time
 * on another day, turned into UTC by the zone (so 08:00 stays 08:00 across the clock changes),
 * exactly as libical's iterator gives them (tests/unit/test_calendar.c compares the two on many
 * rules and windows).
 *
 * Two savings: the periods (INTERVAL weeks or days) that end before the window are skipped by
 * arithmetic, their occurrences counted for COUNT without being produced (libical always iterates
 * from DTSTART: a week of June cost as much as the whole school year); and no ICU calendar is
 * consulted at each step (libical's iterator spends ~20,000 instructions per occurrence there).
 *
 * Returns the number of occurrences given to fn, NOT_SIMPLE when the rule is not one of these (the
 * caller uses libical), or fn's error.
 */
static int expand_simple(const struct icalrecurrencetype *r, struct icaltimetype dt, struct walk *w)
{
	if (has(r->by_month) || has(r->by_month_day) || has(r->by_year_day) || has(r->by_week_no) ||
	    has(r->by_set_pos) || r->interval < 1)
		return NOT_SIMPLE;
	if (!icaltime_is_null_time(r->until) && !w->until)
		return NOT_SIMPLE; /* a DATE or floating UNTIL */
	long d0 = days_from_civil(dt.year, (unsigned)dt.month, (unsigned)dt.day);
	int dow0 = (int)(((d0 % 7) + 7 + 4) % 7) + 1; /* libical's weekday: 1 Sunday ... 7 Saturday */
	int offs[7], noffs = 0;                       /* the days of a period, from its first day */
	long period, first;                           /* a period's length in days; the first day of DTSTART's period */
	if (r->freq == ICAL_DAILY_RECURRENCE) {
		if (has(r->by_day))
			return NOT_SIMPLE;
		period = r->interval;
		first = d0;
		offs[noffs++] = 0;
	} else if (r->freq == ICAL_WEEKLY_RECURRENCE) {
		int wkst = r->week_start >= ICAL_SUNDAY_WEEKDAY && r->week_start <= ICAL_SATURDAY_WEEKDAY
				   ? (int)r->week_start
				   : ICAL_MONDAY_WEEKDAY;
		unsigned days = 0;
		for (int i = 0; i < ICAL_BY_DAY_SIZE && r->by_day[i] != ICAL_RECURRENCE_ARRAY_MAX; i++) {
			if (icalrecurrencetype_day_position(r->by_day[i]) != 0)
				return NOT_SIMPLE;
			days |= 1u << (int)icalrecurrencetype_day_day_of_week(r->by_day[i]);
		}
		if (!days)
			days = 1u << dow0;
		if (!(days & (1u << dow0)))
			return NOT_SIMPLE;  /* DTSTART on no BYDAY day: libical's own rules */
		for (int k = 0; k < 7; k++) /* in the week's order from WKST */
			if (days & (1u << ((wkst - 1 + k) % 7 + 1)))
				offs[noffs++] = k;
		period = 7L * r->interval;
		first = d0 - (dow0 - wkst + 7) % 7;
	} else
		return NOT_SIMPLE;
	/* Occurrences of DTSTART's period before DTSTART are not the rule's. */
	int before0 = 0;
	while (before0 < noffs && first + offs[before0] < d0)
		before0++;
	/* Skip whole periods that end before the window (margin: the series' length and two days). */
	long p = 0, counted = 0;
	time_t reach = w->from - (w->s->end - w->s->start) - 2 * 86400;
	if (reach > w->s->start) {
		p = (long)((reach - w->s->start) / (period * 86400));
		if (p > 0)
			counted = (noffs - before0) + (p - 1) * noffs;
	}
	if (r->count > 0 && counted >= r->count)
		return 0;
	int tod = dt.hour * 3600 + dt.minute * 60 + dt.second;
	for (int step = 0; step < CAL_MAX_STEPS; p++) {
		for (int i = p == 0 ? before0 : 0; i < noffs; i++, step++) {
			if (r->count > 0 && counted >= r->count)
				return w->n;
			struct icaltimetype t = icaltime_null_time();
			civil_from_days(first + p * period + offs[i], &t.year, &t.month, &t.day);
			t.hour = tod / 3600;
			t.minute = tod / 60 % 60;
			t.second = tod % 60;
			t.zone = w->z;
			int rc = occurrence(w, t);
			if (rc)
				return rc < 0 ? rc : w->n;
			counted++;
		}
	}
	return w->n;
}

/*
 * libical's parse of a rule costs ~7,000 instructions (a sscanf of UNTIL among them), a third of
 * a week's expansion; the timetables of a school share a few dozen rules (the days of the week,
 * A/B, the end of the year). Each thread keeps the last RULE_CACHE rules it parsed.
 */
#define RULE_CACHE 16
static _Thread_local struct {
	char text[256];
	struct icalrecurrencetype r;
} rule_cache[RULE_CACHE];
static _Thread_local unsigned rule_next;

static struct icalrecurrencetype parse_rule(const char *text)
{
	size_t len = strlen(text);
	if (len >= sizeof(rule_cache[0].text))
		return icalrecurrencetype_from_string(text);
	for (unsigned i = 0; i < RULE_CACHE; i++)
		if (memcmp(rule_cache[i].text, text, len + 1) == 0)
			return rule_cache[i].r;
	icalerror_clear_errno();
	struct icalrecurrencetype r = icalrecurrencetype_from_string(text);
	if (r.freq != ICAL_NO_RECURRENCE && icalerrno == ICAL_NO_ERROR) {
		unsigned k = rule_next++ % RULE_CACHE;
		memcpy(rule_cache[k].text, text, len + 1);
		rule_cache[k].r = r;
	}
	return r;
}

int cal_expand_rule(const struct cal_series *s, time_t from, time_t to, cal_occ_fn fn, void *ctx, int libical)
{
	if (to <= from)
		return 0;
	if (!s->rrule) {
		if (s->start < to && s->end > from &&
		    !(s->skip_holidays && in_holiday(s->holidays, s->nholidays, s->start))) {
			int rc = fn(ctx, s->start, s->end, s->start);
			return rc < 0 ? rc : 1;
		}
		return 0;
	}
	icaltimezone *z = zone_of(s->tz);
	if (!z)
		return ENT_EINVAL;
	icalerror_clear_errno();
	struct icalrecurrencetype r = parse_rule(s->rrule);
	if (r.freq == ICAL_NO_RECURRENCE) {
		icalerror_clear_errno();
		return ENT_EINVAL;
	}
	if (r.freq == ICAL_SECONDLY_RECURRENCE || r.freq == ICAL_MINUTELY_RECURRENCE ||
	    r.freq == ICAL_HOURLY_RECURRENCE || rule_parts_bad(&r))
		return ENT_EINVAL;
	/* The first occurrence on the zone's wall clock, and the series' wall-clock length. */
	struct icaltimetype dt = icaltime_from_timet_with_zone(s->start, 0, z);
	struct icaltimetype de = icaltime_from_timet_with_zone(s->end, 0, z);
	struct walk w = {
		.s = s, .z = z, .len = icaltime_subtract(de, dt), .from = from, .to = to, .fn = fn, .ctx = ctx};
	/*
	 * An UTC UNTIL is compared with each occurrence's UTC start, RFC 5545's meaning (the last
	 * occurrence may start at UNTIL: files exported elsewhere often say so). libical 3.0's iterator
	 * compares it with the occurrence's wall-clock digits, as if they were UTC (in Paris it would
	 * end a series an hour or two early): it is handed UNTIL on the zone's wall clock instead, and
	 * checked here again.
	 */
	if (!icaltime_is_null_time(r.until) && !r.until.is_date && icaltime_is_utc(r.until)) {
		w.until = icaltime_as_timet_with_zone(r.until, icaltimezone_get_utc_timezone());
		struct icaltimetype u = icaltime_from_timet_with_zone(w.until, 0, z);
		r.until.year = u.year;
		r.until.month = u.month;
		r.until.day = u.day;
		r.until.hour = u.hour;
		r.until.minute = u.minute;
		r.until.second = u.second;
	}
	if (!libical) {
		int n = expand_simple(&r, dt, &w);
		if (n != NOT_SIMPLE)
			return n;
	}
	icalrecur_iterator *it = icalrecur_iterator_new(r, dt);
	if (!it) {
		icalerror_clear_errno();
		return ENT_EINVAL;
	}
	int rc = 0;
	for (int step = 0; step < CAL_MAX_STEPS; step++) {
		struct icaltimetype t = icalrecur_iterator_next(it);
		if (icaltime_is_null_time(t))
			break;
		if ((rc = occurrence(&w, t)) != 0)
			break;
	}
	icalrecur_iterator_free(it);
	icalerror_clear_errno();
	return rc < 0 ? rc : w.n;
}

int cal_expand(const struct cal_series *s, time_t from, time_t to, cal_occ_fn fn, void *ctx)
{
	return cal_expand_rule(s, from, to, fn, ctx, 0);
}

/* Collects the last occurrence's end (for cal_series_last_end). */
static int keep_last(void *ctx, time_t start, time_t end, time_t id)
{
	(void)start;
	(void)id;
	*(time_t *)ctx = end;
	return 0;
}

int cal_series_last_end(const struct cal_series *s, time_t *last_end)
{
	*last_end = 0;
	if (!s->rrule) {
		*last_end = s->end;
		return 1;
	}
	struct icalrecurrencetype r = icalrecurrencetype_from_string(s->rrule);
	icalerror_clear_errno();
	if (r.count == 0 && icaltime_is_null_time(r.until))
		return 0; /* no end */
	/* A bounded rule: its last occurrence (at most CAL_MAX_STEPS iterations). */
	struct cal_series all = *s;
	all.nexdates = 0;
	all.skip_holidays = 0;
	int n = cal_expand(&all, s->start, (time_t)INT64_C(253402300799) /* 9999-12-31 */, keep_last, last_end);
	if (n < 0)
		return n;
	if (n == 0)
		*last_end = s->end;
	return 1;
}

/* The ISO weeks of year y: 53 when the year starts on a Thursday, or a leap year on a Wednesday. */
static int iso_weeks(long y)
{
	long p = (y + y / 4 - y / 100 + y / 400) % 7, q = ((y - 1) + (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400) % 7;
	return 52 + (p == 4 || q == 3);
}

/*
 * 00:00 of day (days since 1970-01-01) on z's wall clock, in UTC. Remembered by the process (the
 * requests run on many threads): libical's conversion costs 130,000 to 450,000 instructions here
 * (its offset search), and every week's timetable and homework list asks for one or two such
 * midnights, the same ones again and again.
 */
static pthread_mutex_t memo_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	icaltimezone *z;
	long day;
	time_t t;
} memo[256];

static time_t midnight_utc(icaltimezone *z, long day)
{
	unsigned i = (unsigned)day & 255u;
	pthread_mutex_lock(&memo_mu);
	int hit = memo[i].z == z && memo[i].day == day;
	time_t known = memo[i].t;
	pthread_mutex_unlock(&memo_mu);
	if (hit)
		return known;
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	struct icaltimetype t = icaltime_null_time();
	t.year = y;
	t.month = m;
	t.day = d;
	t.zone = z;
	time_t r = icaltime_as_timet_with_zone(t, z);
	pthread_mutex_lock(&memo_mu);
	memo[i].z = z;
	memo[i].day = day;
	memo[i].t = r;
	pthread_mutex_unlock(&memo_mu);
	return r;
}

int cal_week_start(const char *week, const char *tz, time_t *from, time_t *to)
{
	/* ISO 8601 week "2026-W49": its Monday 00:00 on the zone's wall clock, and the next Monday's. */
	int y, w;
	char tail;
	if (!week || strlen(week) != 8 || week[4] != '-' || week[5] != 'W' ||
	    sscanf(week, "%4d-W%2d%c", &y, &w, &tail) != 2 || y < 1971 || y > 9998 || w < 1 || w > iso_weeks(y))
		return ENT_EINVAL;
	/* January 4th is always in week 1; week 1 starts on its Monday (1970-01-01 was a Thursday). */
	long jan4 = days_from_civil(y, 1, 4);
	long dow = ((jan4 % 7) + 7 + 3) % 7; /* 0 = Monday */
	long monday = jan4 - dow + 7L * (w - 1);
	icaltimezone *z = zone_of(tz);
	if (!z)
		return ENT_EINVAL;
	*from = midnight_utc(z, monday);
	*to = midnight_utc(z, monday + 7);
	return ENT_OK;
}

int cal_iso_week(time_t t, const char *tz, char out[9])
{
	icaltimezone *z = zone_of(tz);
	if (!z)
		return ENT_EINVAL;
	struct icaltimetype lt = icaltime_from_timet_with_zone(t, 0, z);
	long days = days_from_civil(lt.year, (unsigned)lt.month, (unsigned)lt.day);
	long dow = ((days % 7) + 7 + 3) % 7; /* 0 = Monday */
	long thursday = days - dow + 3;      /* the week's year is its Thursday's */
	struct icaltimetype th = icaltime_from_timet_with_zone((time_t)thursday * 86400, 1, NULL);
	long week = (thursday - days_from_civil(th.year, 1, 1)) / 7 + 1;
	snprintf(out, 9, "%04u-W%02u", (unsigned)th.year % 10000u, (unsigned)week % 100u);
	return ENT_OK;
}

int cal_local_date(time_t t, const char *tz, char out[11])
{
	icaltimezone *z = zone_of(tz);
	if (!z)
		return ENT_EINVAL;
	struct icaltimetype lt = icaltime_from_timet_with_zone(t, 0, z);
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)lt.year % 10000u, (unsigned)lt.month % 100u,
		 (unsigned)lt.day % 100u);
	return ENT_OK;
}

int cal_local_midnight(const char *date, const char *tz, time_t *out)
{
	int y, m, d;
	char tail;
	if (!date || strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 ||
	    d < 1 || d > icaltime_days_in_month(m, y))
		return ENT_EINVAL;
	icaltimezone *z = zone_of(tz);
	if (!z)
		return ENT_EINVAL;
	*out = midnight_utc(z, days_from_civil(y, (unsigned)m, (unsigned)d));
	return ENT_OK;
}
