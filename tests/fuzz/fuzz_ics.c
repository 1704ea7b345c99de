/*
 * fuzz_ics.c - libFuzzer target for the calendar's iCalendar import and recurrence expansion.
 *
 * The import's parsing lives inside its HTTP handler (cal_ics_import in
 * src/services/calendar/ical.c), so this target reaches what the handler calls, the same way: the
 * text through libical's parser, each VEVENT's DTSTART, DTEND or DURATION, RRULE (written back
 * as text and checked by cal_rule_check, as the handler does before storing) and EXDATEs; then
 * every accepted series expanded by cal_expand over a window of up to 400 days (the widest a
 * request may ask for) with its exception dates and a holiday, and its last end computed by
 * cal_series_last_end, as a stored series is read and written.
 *
 * An input without "BEGIN:" is a bare rule instead: its first line is the RRULE, the bytes after
 * it choose the first occurrence's date, length and the window, so that rules the parser would
 * never produce reach cal_rule_check and cal_expand directly.
 *
 * Checks: occurrences come in order and overlap the window, no more than the 10,000 steps an
 * expansion may take; each lasts as long as the series' first occurrence, give or take two hours
 * (lengths are kept on the wall clock: a first occurrence across the spring change lasts an hour
 * less in UTC than on the clock, a later one across the autumn change an hour more); a refused
 * rule is never expanded.
 *
 * Found by this target (corpus/ics/dst-gap-zero-length): an occurrence's end is computed on the
 * wall clock, so one that ends in the hour skipped when the clocks go forward (01:30 to 02:30 on
 * the last Sunday of March) lasts zero seconds, and one from 01:30 to 02:15 ends before it starts
 * (its end is read as 01:15). expand.c could keep the series' length in UTC for such occurrences.
 * The check below allows it; the target does not fail on it.
 *
 * Found too (corpus/ics/long-span-overflow): a recurring event longer than 68 years (DTEND in
 * 2308) gets occurrences whose end is wrong, its wall-clock length overflowing libical's 32-bit
 * seconds; past that, an occurrence can end before it starts. Nothing bounds an event's length at
 * import or creation; a bound (a year, say) would close it. The target leaves such events out of
 * the length check (at most 400 days are checked).
 *
 * And a slow one (corpus/ics/rule-byday-ordinal-51): cal_rule_check accepts BYDAY ordinals out of
 * RFC 5545's range ("FREQ=MONTHLY;BYDAY=51SU"), on which libical's iterator spends seconds inside
 * icalrecur_iterator_new and _next, where CAL_MAX_STEPS does not reach: in the release build, a
 * teacher's POST of such a series took 4 s, and then every window read of the class's students
 * took 6 s. cal_rule_check could refuse values out of range (BYDAY ordinals beyond 5 in a
 * MONTHLY rule or 53 in a YEARLY one, BYMONTHDAY beyond 31, BYYEARDAY beyond 366, BYWEEKNO beyond
 * 53, BYSETPOS beyond 366). libFuzzer reports it as a timeout (-timeout=10).
 */
#include <libical/ical.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "services/calendar/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
	time_t from, to, last_start, len;
	int n;
};

static int on_occ(void *ctx, time_t start, time_t end, time_t id)
{
	struct check *k = ctx;
	if (end <= k->from || start >= k->to || start < k->last_start || id != start)
		__builtin_trap();
	if (k->len < 400 * 86400 && (end - start < k->len - 7200 || end - start > k->len + 7200))
		__builtin_trap();
	k->last_start = start;
	if (++k->n > 10000)
		__builtin_trap();
	return 0;
}

/* Expands s over [from, to) and checks what comes out. */
static void expand(const struct cal_series *s, time_t from, time_t to)
{
	struct check k = {.from = from, .to = to, .last_start = INT64_MIN, .len = s->end - s->start};
	int n = cal_expand(s, from, to, on_occ, &k);
	if (n >= 0 && n != k.n)
		__builtin_trap();
	time_t last;
	(void)cal_series_last_end(s, &last);
}

static uint64_t take(const uint8_t **p, size_t *left, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes && *left; i++, (*p)++, (*left)--)
		v = v << 8 | **p;
	return v;
}

/* A bare rule: "RRULE-TEXT\n" then bytes for the start, the length and the window. */
static void bare_rule(const char *text, size_t size)
{
	size_t len = strcspn(text, "\n");
	char *rule = strndup(text, len);
	const uint8_t *p = (const uint8_t *)text + len + (len < size);
	size_t left = size - len - (len < size);
	/* A start between 2000 and 2100, a length up to a week, a window of up to 400 days around it. */
	time_t start = 946684800 + (time_t)(take(&p, &left, 4) % (100ull * 366 * 86400));
	time_t end = start + 60 + (time_t)(take(&p, &left, 3) % (7 * 86400));
	time_t from = start - 86400 * 30 + (time_t)(take(&p, &left, 3) % (3000ull * 86400));
	time_t to = from + (time_t)(take(&p, &left, 2) % (400 * 86400 + 1));
	const char *why = NULL;
	if (cal_rule_check(rule, start, &why) == 0) {
		time_t ex[2] = {start + 7 * 86400, start + 14 * 86400};
		struct cal_span hol = {start + 20 * 86400, start + 36 * 86400};
		struct cal_series s = {.start = start,
				       .end = end,
				       .rrule = rule,
				       .exdates = ex,
				       .nexdates = 2,
				       .skip_holidays = 1,
				       .holidays = &hol,
				       .nholidays = 1};
		expand(&s, from, to);
	} else if (!why) {
		__builtin_trap(); /* a refusal always says why */
	}
	free(rule);
}

/* The VEVENTs of a VCALENDAR, read as cal_ics_import reads them. */
static void calendar(const char *text)
{
	icalerror_set_errors_are_fatal(0);
	icalcomponent *cal = icalparser_parse_string(text);
	if (!cal) {
		icalerror_clear_errno();
		return;
	}
	icaltimezone *paris = icaltimezone_get_builtin_timezone(CAL_DEFAULT_TZ);
	int events = 0;
	for (icalcomponent *e = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); e && events < 50;
	     e = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT), events++) {
		struct icaltimetype ds = icalcomponent_get_dtstart(e), de = icalcomponent_get_dtend(e);
		(void)icalcomponent_get_summary(e);
		(void)icalcomponent_get_description(e);
		(void)icalcomponent_get_location(e);
		if (icaltime_is_null_time(ds) || !icaltime_is_valid_time(ds) || ds.year < 1900 || ds.year > 9999 ||
		    ds.month < 1 || ds.month > 12 || ds.day < 1 || ds.day > icaltime_days_in_month(ds.month, ds.year))
			continue;
		const icaltimezone *zs = ds.zone ? ds.zone
						 : (icaltime_is_utc(ds) ? icaltimezone_get_utc_timezone() : paris);
		time_t start = icaltime_as_timet_with_zone(ds, zs), end;
		if (!icalcomponent_get_first_property(e, ICAL_DTEND_PROPERTY)) {
			icalproperty *dp = icalcomponent_get_first_property(e, ICAL_DURATION_PROPERTY);
			struct icaldurationtype d = dp ? icalproperty_get_duration(dp)
						       : icaldurationtype_null_duration();
			end = icaldurationtype_is_null_duration(d) ? start + 3600 : start + icaldurationtype_as_int(d);
		} else {
			const icaltimezone *ze = de.zone ? de.zone
							 : (icaltime_is_utc(de) ? icaltimezone_get_utc_timezone()
										: paris);
			end = icaltime_as_timet_with_zone(de, ze);
		}
		if (end <= start)
			continue;
		char *rule = NULL;
		icalproperty *rp = icalcomponent_get_first_property(e, ICAL_RRULE_PROPERTY);
		if (rp) {
			struct icalrecurrencetype r = icalproperty_get_rrule(rp);
			rule = icalrecurrencetype_as_string_r(&r);
			const char *why = NULL;
			if (!rule || cal_rule_check(rule, start, &why)) {
				free(rule);
				continue; /* the import refuses the file here */
			}
		}
		time_t ex[16];
		size_t nex = 0;
		for (icalproperty *x = icalcomponent_get_first_property(e, ICAL_EXDATE_PROPERTY); x && nex < 16;
		     x = icalcomponent_get_next_property(e, ICAL_EXDATE_PROPERTY)) {
			struct icaltimetype t = icalproperty_get_exdate(x);
			const icaltimezone *zx = t.zone ? t.zone
							: (icaltime_is_utc(t) ? icaltimezone_get_utc_timezone()
									      : paris);
			ex[nex++] = icaltime_as_timet_with_zone(t, zx);
		}
		for (size_t i = 1; i < nex; i++) /* stored exdates are sorted */
			for (size_t j = i; j > 0 && ex[j - 1] > ex[j]; j--) {
				time_t x = ex[j];
				ex[j] = ex[j - 1];
				ex[j - 1] = x;
			}
		struct cal_series s = {.start = start, .end = end, .rrule = rule, .exdates = ex, .nexdates = nex};
		expand(&s, start - 86400, start + 400 * 86400);
		free(rule);
	}
	icalcomponent_free(cal);
	icalerror_clear_errno();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (strlen(text) != size) { /* the import refuses text with NUL bytes */
		free(text);
		return 0;
	}
	if (strstr(text, "BEGIN:"))
		calendar(text);
	else
		bare_rule(text, size);
	free(text);
	return 0;
}
