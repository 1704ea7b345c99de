/*
 * demo.c - the calendar service's part of `ent demo`: the demo school's timetable for the current
 * school year, and the school year's dates (shared with generate.c).
 *
 * The users and cours demos run first. Their classes ("6e A", "5e B", "4e C"), teachers and
 * courses are found through users.h and cours.h (users_class_find, users_find_login,
 * cours_of_class, cours_title, cours_taught_by), never their tables. Each class gets:
 *   - a week of 26 lessons on a collège's grid (08:00 to 16:45, Wednesday mornings only), as
 *     weekly series from the first day of classes to the summer; three slots alternate between
 *     two subjects on A and B weeks (INTERVAL=2). The subject of one of the class's courses is
 *     taught as lessons of that course (audience course); the others as lessons of the class
 *     (audience classes), by the demo teacher of the subject when there is one;
 *   - this week (or the next school week, in the holidays) one cancelled lesson and one lesson in
 *     another room (calendar_overrides);
 *   - two exams: a test in the lesson of its course the week after, and a "devoir commun" on a
 *     Wednesday afternoon two weeks after;
 *   - three homework of its course, due at its next lessons.
 * The school year's four holidays (zone C) are school-wide all-day events of kind holiday: lessons
 * starting in them are left out when read (expand.c).
 *
 * Times are written on Paris's wall clock and stored in UTC: a lesson at 08:00 is 07:00Z in
 * winter and 06:00Z in September. Idempotent: a class that has lessons already (audience classes)
 * is left as it is, and a holiday is stored once, so running the demo twice changes nothing.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/sql.h"
#include "core/util.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

/* ---- the school year ---- */

/* Days from 1970-01-01 of a YYYY-MM-DD date (UTC noon, so any zone's date is the same). */
static long day_of_text(const char *date)
{
	int y, m, d;
	if (sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return 0;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
	return (long)(timegm(&tm) / 86400);
}

static void text_of_day(long day, char out[11])
{
	time_t t = (time_t)day * 86400 + 43200;
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
		 (unsigned)tm.tm_mday % 100u);
}

long cal_day_number(time_t t)
{
	char d[11];
	if (cal_local_date(t, CAL_DEFAULT_TZ, d))
		return (long)(t / 86400);
	return day_of_text(d);
}

time_t cal_day_start(long day)
{
	char d[11];
	time_t t;
	text_of_day(day, d);
	if (cal_local_midnight(d, CAL_DEFAULT_TZ, &t))
		return (time_t)day * 86400;
	return t;
}

/* 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday). */
static int weekday(long day) { return (int)(((day % 7) + 7 + 3) % 7); }

/* The Saturday in [day, day + 6]. */
static long saturday_from(long day) { return day + (5 - weekday(day) + 7) % 7; }

static const char *const holiday_titles[4] = {"Vacances de la Toussaint", "Vacances de Noël", "Vacances d'hiver",
					      "Vacances de printemps"};

/*
 * Zone C (Créteil, Montpellier, Paris, Toulouse, Versailles) as published by the ministry: the
 * first day off (a Saturday) and the day classes resume. 2026-2027's winter and spring dates are
 * those of the arrêté as we read it; check them against education.gouv.fr when it matters.
 */
static const struct {
	int year;
	const char *first_day, *end;
	const char *holidays[4][2];
} known_years[] = {
	{2025,
	 "2025-09-01",
	 "2026-07-04",
	 {{"2025-10-18", "2025-11-03"},
	  {"2025-12-20", "2026-01-05"},
	  {"2026-02-21", "2026-03-09"},
	  {"2026-04-18", "2026-05-04"}}},
	{2026,
	 "2026-09-01",
	 "2027-07-03",
	 {{"2026-10-17", "2026-11-02"},
	  {"2026-12-19", "2027-01-04"},
	  {"2027-02-06", "2027-02-22"},
	  {"2027-04-03", "2027-04-19"}}},
};

int cal_year_dates(const char *school_year, struct cal_year *out)
{
	int y1, y2;
	char tail;
	if (!school_year || sscanf(school_year, "%4d-%4d%c", &y1, &y2, &tail) != 2 || y2 != y1 + 1 || y1 < 1971 ||
	    y1 > 9000)
		return ENT_EINVAL;
	memset(out, 0, sizeof(*out));
	long first = 0, end = 0, from[4], to[4];
	size_t k = 0;
	while (k < sizeof(known_years) / sizeof(known_years[0]) && known_years[k].year != y1)
		k++;
	if (k < sizeof(known_years) / sizeof(known_years[0])) {
		first = day_of_text(known_years[k].first_day);
		end = day_of_text(known_years[k].end);
		for (int i = 0; i < 4; i++) {
			from[i] = day_of_text(known_years[k].holidays[i][0]);
			to[i] = day_of_text(known_years[k].holidays[i][1]);
		}
	} else {
		/* Another year: the usual pattern (two weeks from a Saturday of mid-October, just before
		 * Christmas, early February and early April; classes from 1 September, a weekday). */
		char d[11];
		snprintf(d, sizeof d, "%04d-09-01", y1);
		first = day_of_text(d);
		while (weekday(first) >= 5)
			first++;
		static const int anchors[4][2] = {{10, 15}, {12, 17}, {2, 6}, {4, 3}};
		for (int i = 0; i < 4; i++) {
			snprintf(d, sizeof d, "%04d-%02d-%02d", i < 2 ? y1 : y2, anchors[i][0], anchors[i][1]);
			from[i] = saturday_from(day_of_text(d));
			to[i] = from[i] + 16;
		}
		snprintf(d, sizeof d, "%04d-07-01", y2);
		end = saturday_from(day_of_text(d));
	}
	out->first_day = cal_day_start(first);
	out->end = cal_day_start(end);
	for (int i = 0; i < 4; i++) {
		out->holidays[i].title = holiday_titles[i];
		out->holidays[i].from = cal_day_start(from[i]);
		out->holidays[i].to = cal_day_start(to[i]);
	}
	return ENT_OK;
}

/* Inserts one event row (inside the caller's transaction). last_end is computed from the rule. */
static int insert_event(db_conn *c, const char *id, const char *kind, const char *title, const char *description,
			const char *location, time_t start, time_t end, int all_day, const char *rrule,
			const char *audience, const char *course, const char *teacher, const char *owner,
			const char *now)
{
	char s[21], e[21], last[21];
	util_time_rfc3339(start, s);
	util_time_rfc3339(end, e);
	struct cal_series cs = {.start = start, .end = end, .tz = CAL_DEFAULT_TZ, .rrule = rrule};
	time_t le;
	int bounded = cal_series_last_end(&cs, &le);
	if (bounded < 0)
		return bounded;
	if (bounded)
		util_time_rfc3339(le, last);
	int rc = SQL_RUN(c,
			 "INSERT INTO calendar_events (id, kind, title, description, location, starts_at, ends_at,"
			 " tz, all_day, rrule, exdates, last_end_at, audience, course_id, evaluation_id, teacher_id,"
			 " owner_id, parent_id, created_at, updated_at)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, NULL, ?, ?, NULL, ?, ?)",
			 SQL_T(id), SQL_T(kind), SQL_T(title), SQL_T(description), SQL_T(location), SQL_T(s), SQL_T(e),
			 SQL_T(CAL_DEFAULT_TZ), SQL_I(all_day), SQL_T(rrule), SQL_T(bounded ? last : NULL),
			 SQL_T(audience), SQL_T(course), SQL_T(teacher), SQL_T(owner), SQL_T(now), SQL_T(now));
	return rc < 0 ? rc : ENT_OK;
}

int cal_year_store_holidays(db_conn *c, const struct cal_year *y, const char *owner, int *made)
{
	char now[21];
	util_time_rfc3339(time(NULL), now);
	for (int i = 0; i < 4; i++) {
		char from[21];
		util_time_rfc3339(y->holidays[i].from, from);
		int rc = db_exists(c, "SELECT 1 FROM calendar_events WHERE kind = 'holiday' AND starts_at = ?", from,
				   NULL);
		if (rc < 0)
			return rc;
		if (rc == 1)
			continue;
		char id[37];
		util_uuid(id);
		if ((rc = insert_event(c, id, "holiday", y->holidays[i].title, "Zone C", NULL, y->holidays[i].from,
				       y->holidays[i].to, 1, NULL, "school", NULL, NULL, owner, now)))
			return rc;
		(*made)++;
	}
	return ENT_OK;
}

/* ---- the demo timetable ---- */

#define NPOS 32 /* lesson slots a week: 7 a day, 4 on Wednesday */

static const struct {
	int h, m;
} slot_time[7] = {{8, 0}, {9, 0}, {10, 15}, {11, 15}, {13, 30}, {14, 30}, {15, 45}};

/* Position p (0..31) of the week: its day (0 = Monday) and slot. */
static void position(int p, int *day, int *slot)
{
	static const int first[6] = {0, 7, 14, 18, 25, 32};
	int d = 0;
	while (p >= first[d + 1])
		d++;
	*day = d;
	*slot = p - first[d];
}

enum { FR, MATHS, HG, ANG, ESP, EPS, SVT, PC, TECH, ARTS, MUS, NSUBJ };

static const struct {
	const char *name, *teacher, *room; /* room: NULL for the class's own room */
} subjects[NSUBJ] = {
	[FR] = {"Français", "thomas.bernard@demo.ent.local", NULL},
	[MATHS] = {"Mathématiques", "claire.martin@demo.ent.local", NULL},
	[HG] = {"Histoire-Géographie", "nadia.haddad@demo.ent.local", NULL},
	[ANG] = {"Anglais", "julien.moreau@demo.ent.local", "Salle 201"},
	[ESP] = {"Espagnol", NULL, "Salle 203"},
	[EPS] = {"EPS", NULL, "Gymnase"},
	[SVT] = {"SVT", NULL, "Laboratoire 1"},
	[PC] = {"Physique-Chimie", NULL, "Laboratoire 2"},
	[TECH] = {"Technologie", NULL, "Salle de technologie"},
	[ARTS] = {"Arts plastiques", NULL, "Salle d'arts plastiques"},
	[MUS] = {"Éducation musicale", NULL, "Salle de musique"},
};

/* The week's 26 slots: one subject every week, or two on A and B weeks (b >= 0). */
static const struct {
	int a, b;
} fillers[] = {
	{FR, -1},   {MATHS, -1}, {HG, -1},  {ANG, -1},   {EPS, -1}, {SVT, -1}, {FR, -1},    {MATHS, -1}, {ESP, -1},
	{TECH, -1}, {HG, -1},    {ANG, -1}, {FR, MATHS}, {PC, -1},  {EPS, -1}, {ARTS, -1},  {FR, -1},    {MATHS, -1},
	{HG, -1},   {ANG, -1},   {SVT, PC}, {MUS, -1},   {ESP, -1}, {FR, -1},  {TECH, ESP}, {EPS, -1},
};
#define NFILL (sizeof(fillers) / sizeof(fillers[0]))

static const char *const homework_text[3][3] = {
	{"Exercices du manuel", "Faire les exercices 3 à 6 de la page 84.",
	 "Correction des exercices de la séance précédente."},
	{"Apprendre la leçon", "Revoir le cours et apprendre les définitions du chapitre.",
	 "Nouvelle leçon : trace écrite et exemples."},
	{"Préparer le contrôle", "Refaire les exercices corrigés et la fiche de révision.",
	 "Fiche de révision distribuée."},
};

/* A weekly series of the demo, and its occurrences in a window. */
struct lesson {
	char id[37];
	int subject;
	int ab;       /* 0: every week or week A; 1: week B */
	int interval; /* 1 or 2 (A/B weeks) */
	const char *course, *teacher, *room;
	time_t start, end;
};

static const char *const byday[5] = {"MO", "TU", "WE", "TH", "FR"};

/* l's rule: weekly or every other week on its day, until the last second before the summer. */
static void lesson_rule(const struct lesson *l, time_t until, char out[96])
{
	char u[21];
	util_time_rfc3339(until, u);
	snprintf(out, 96, "FREQ=WEEKLY;%sBYDAY=%s;UNTIL=%.4s%.2s%.2sT%.2s%.2s%.2sZ",
		 l->interval == 2 ? "INTERVAL=2;" : "", byday[weekday(cal_day_number(l->start)) % 5], u, u + 5, u + 8,
		 u + 11, u + 14, u + 17);
}

/* "08:00": t on Paris's wall clock. */
static const char *hhmm(arena *a, time_t t)
{
	long secs = (long)(t - cal_day_start(cal_day_number(t)));
	return arena_printf(a, "%02ld:%02ld", secs / 3600 % 24, secs / 60 % 60);
}

struct occ_list {
	time_t v[64];
	int n;
};

static int keep_occ(void *ctx, time_t start, time_t end, time_t id)
{
	(void)end;
	(void)id;
	struct occ_list *l = ctx;
	if (l->n < 64)
		l->v[l->n++] = start;
	return 0;
}

/* The occurrences of l in [from, to), holidays left out. */
static void occurrences(const struct lesson *l, const struct cal_year *y, time_t until, time_t from, time_t to,
			struct occ_list *out)
{
	struct cal_span hol[4];
	for (int i = 0; i < 4; i++)
		hol[i] = (struct cal_span){y->holidays[i].from, y->holidays[i].to};
	char rule[96];
	lesson_rule(l, until, rule);
	struct cal_series s = {
		.start = l->start, .end = l->end, .rrule = rule, .skip_holidays = 1, .holidays = hol, .nholidays = 4};
	out->n = 0;
	cal_expand(&s, from, to, keep_occ, out);
}

struct demo_ctx {
	db_conn *c;
	arena *a;
	const struct cal_year *y;
	const char *year, *admin, *now;
	time_t until; /* the rules' UNTIL: the last second before the summer */
	const char *teacher_ids[NSUBJ];
	const char **taught[4], *taught_by[4]; /* the demo teachers' courses */
	int ntaught[4];
	FILE *out;
};

static const char *course_teacher(struct demo_ctx *d, const char *course)
{
	for (int t = 0; t < 4; t++)
		if (d->taught_by[t] && cal_has(d->taught[t], (size_t)d->ntaught[t], course))
			return d->taught_by[t];
	return NULL;
}

static int insert_override(db_conn *c, const char *event, time_t at, const char *status, const char *location,
			   const char *note, const char *by, const char *now)
{
	char ats[21];
	util_time_rfc3339(at, ats);
	int rc = SQL_RUN(
		c,
		"INSERT INTO calendar_overrides (event_id, occurrence_at, status, starts_at, ends_at,"
		" location, teacher_id, note, updated_by, updated_at) VALUES (?, ?, ?, NULL, NULL, ?, NULL, ?, ?, ?)",
		SQL_T(event), SQL_T(ats), SQL_T(status), SQL_T(location), SQL_T(note), SQL_T(by), SQL_T(now));
	return rc < 0 ? rc : ENT_OK;
}

static int insert_homework(db_conn *c, const char *course, const char *event, time_t given_in, time_t due,
			   const char *const text[3], const char *by, const char *now)
{
	char id[37], g[21], du[21];
	util_uuid(id);
	util_time_rfc3339(given_in, g);
	util_time_rfc3339(due, du);
	int rc = SQL_RUN(
		c,
		"INSERT INTO calendar_homework (id, course_id, event_id, occurrence_at, title, work,"
		" done_in_class, due_at, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		SQL_T(id), SQL_T(course), SQL_T(event), SQL_T(event ? g : NULL), SQL_T(text[0]), SQL_T(text[1]),
		SQL_T(text[2]), SQL_T(du), SQL_T(by), SQL_T(now), SQL_T(now));
	return rc < 0 ? rc : ENT_OK;
}

static const char *const day_names[5] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"};

/* Class k's timetable, in one transaction. *made: 1 when created now. */
static int demo_class(struct demo_ctx *d, int k, const char *name, int *made)
{
	db_conn *c = d->c;
	arena *a = d->a;
	char class_id[37];
	int rc = users_class_find(c, name, d->year, class_id);
	if (rc == ENT_ENOTFOUND)
		return ENT_OK; /* the users demo did not create it */
	if (rc)
		return rc;
	rc = db_exists(c,
		       "SELECT 1 FROM calendar_event_classes k JOIN calendar_events e ON e.id = k.event_id"
		       " WHERE k.class_id = ? AND e.kind = 'lesson'",
		       class_id, NULL);
	if (rc)
		return rc < 0 ? rc : ENT_OK; /* it has a timetable: left as it is */

	/* The subjects taught as one of the class's courses. */
	const char *course_of[NSUBJ] = {0};
	const char **ids;
	int n = cours_of_class(c, a, class_id, &ids);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const char *title = cours_title(c, a, ids[i]);
		for (int j = 0; title && j < NSUBJ; j++)
			if (!course_of[j] && strncmp(title, subjects[j].name, strlen(subjects[j].name)) == 0)
				course_of[j] = ids[i];
	}
	const char *home_room = arena_printf(a, "Salle %d", 101 + k);
	long first = cal_day_number(d->y->first_day);
	long week0 = first - weekday(first); /* Monday of the first week: week A */
	struct lesson les[NFILL * 2];
	int nl = 0;
	for (size_t f = 0; f < NFILL; f++) {
		int p = (int)((f * 7 + (size_t)k * 5) % NPOS), day, slot;
		position(p, &day, &slot);
		for (int ab = 0; ab < 2; ab++) {
			int subj = ab ? fillers[f].b : fillers[f].a;
			if (subj < 0)
				continue;
			struct lesson *l = &les[nl++];
			memset(l, 0, sizeof(*l));
			util_uuid(l->id);
			l->subject = subj;
			l->ab = ab;
			l->course = course_of[subj];
			l->teacher = l->course && course_teacher(d, l->course) ? course_teacher(d, l->course)
									       : d->teacher_ids[subj];
			l->room = subjects[subj].room ? subjects[subj].room : home_room;
			l->interval = fillers[f].b >= 0 ? 2 : 1;
			long dd = week0 + 7 * ab + day;
			while (dd < first)
				dd += 7 * l->interval;
			time_t midnight = cal_day_start(dd);
			l->start = midnight + slot_time[slot].h * 3600 + slot_time[slot].m * 60;
			l->end = l->start + 3600;
		}
	}
	if ((rc = db_begin(c)))
		return rc;
	char rule[96];
	for (int i = 0; !rc && i < nl; i++) {
		struct lesson *l = &les[i];
		lesson_rule(l, d->until, rule);
		const char *desc = l->interval == 2 ? (l->ab ? "Semaine B" : "Semaine A") : NULL;
		rc = insert_event(c, l->id, "lesson", subjects[l->subject].name, desc, l->room, l->start, l->end, 0,
				  rule, l->course ? "course" : "classes", l->course, l->teacher,
				  l->teacher ? l->teacher : d->admin, d->now);
		if (!rc && !l->course)
			rc = SQL_RUN(c, "INSERT INTO calendar_event_classes (event_id, class_id) VALUES (?, ?)",
				     SQL_T(l->id), SQL_T(class_id));
	}
	if (rc)
		goto fail;

	/* This week's changes: the first week from now with both lessons (the holidays have none). */
	time_t now = time(NULL), wfrom = 0, wto = 0;
	char week[9];
	cal_iso_week(now, CAL_DEFAULT_TZ, week);
	cal_week_start(week, CAL_DEFAULT_TZ, &wfrom, &wto);
	int cancel = -1, moved = -1, course_subj = -1;
	for (int j = 0; j < NSUBJ && course_subj < 0; j++)
		if (course_of[j])
			course_subj = j;
	for (int i = 0; i < nl; i++) {
		if (les[i].interval != 1)
			continue;
		if (cancel < 0 && les[i].subject == TECH)
			cancel = i;
		if (moved < 0 && les[i].subject == (course_subj >= 0 ? course_subj : FR))
			moved = i;
	}
	struct occ_list oc = {0}, om = {0};
	for (int w = 0; w < 8 && cancel >= 0 && moved >= 0; w++) {
		occurrences(&les[cancel], d->y, d->until, wfrom, wto, &oc);
		occurrences(&les[moved], d->y, d->until, wfrom, wto, &om);
		if (oc.n && om.n)
			break;
		wfrom = cal_day_start(cal_day_number(wfrom) + 7);
		wto = cal_day_start(cal_day_number(wfrom) + 7);
		oc.n = om.n = 0;
	}
	if (oc.n && om.n) {
		cal_iso_week(wfrom, CAL_DEFAULT_TZ, week);
		const struct lesson *lc = &les[cancel], *lm = &les[moved];
		rc = insert_override(c, lc->id, oc.v[0], "cancelled", NULL, "Professeur absent",
				     lc->teacher ? lc->teacher : d->admin, d->now);
		if (!rc)
			rc = insert_override(c, lm->id, om.v[0], "changed", "CDI",
					     "Salle habituelle indisponible : cours au CDI",
					     lm->teacher ? lm->teacher : d->admin, d->now);
		if (rc)
			goto fail;
		fprintf(d->out, "  %-6s week %s: %s on %s %s cancelled; %s on %s %s moved to the CDI\n", name, week,
			subjects[lc->subject].name, day_names[weekday(cal_day_number(oc.v[0])) % 5], hhmm(a, oc.v[0]),
			subjects[lm->subject].name, day_names[weekday(cal_day_number(om.v[0])) % 5], hhmm(a, om.v[0]));

		/* The exams: a test in the next week's lesson of the course, a devoir commun two weeks on. */
		struct occ_list ox;
		time_t n1 = cal_day_start(cal_day_number(wfrom) + 7);
		occurrences(lm, d->y, d->until, n1, d->y->end, &ox);
		if (ox.n) {
			char id[37];
			util_uuid(id);
			rc = insert_event(c, id, "exam", arena_printf(a, "Contrôle de %s", subjects[lm->subject].name),
					  "Contrôle d'une heure sur le chapitre en cours ; calculatrice autorisée.",
					  lm->room, ox.v[0], ox.v[0] + 3600, 0, NULL, lm->course ? "course" : "classes",
					  lm->course, lm->teacher, lm->teacher ? lm->teacher : d->admin, d->now);
			if (!rc && !lm->course)
				rc = SQL_RUN(c, "INSERT INTO calendar_event_classes (event_id, class_id) VALUES (?, ?)",
					     SQL_T(id), SQL_T(class_id));
		}
		long wed = cal_day_number(wfrom) + 14 + 2;
		for (int i = 0; i < 4; i++) /* not in the holidays */
			if (cal_day_start(wed) >= d->y->holidays[i].from && cal_day_start(wed) < d->y->holidays[i].to)
				wed = cal_day_number(d->y->holidays[i].to) + 2;
		if (!rc && cal_day_start(wed) < d->y->end) {
			char id[37];
			util_uuid(id);
			time_t at = cal_day_start(wed) + 13 * 3600 + 30 * 60;
			rc = insert_event(c, id, "exam", "Devoir commun de français",
					  "Deux heures, pour toutes les classes du niveau.", home_room, at,
					  at + 2 * 3600, 0, NULL, "classes", NULL, d->teacher_ids[FR], d->admin,
					  d->now);
			if (!rc)
				rc = SQL_RUN(c, "INSERT INTO calendar_event_classes (event_id, class_id) VALUES (?, ?)",
					     SQL_T(id), SQL_T(class_id));
		}
		if (rc)
			goto fail;
	}

	/* Homework of the class's course, due at its next three lessons, given at the lesson before each. */
	int nhw = 0;
	if (course_subj >= 0) {
		time_t t[64], from = now - 21 * 86400, to = now + 35 * 86400;
		const char *ev[64];
		int nt = 0;
		for (int i = 0; i < nl; i++) {
			if (les[i].subject != course_subj)
				continue;
			struct occ_list o;
			occurrences(&les[i], d->y, d->until, from, to, &o);
			for (int j = 0; j < o.n && nt < 64; j++) {
				t[nt] = o.v[j];
				ev[nt++] = les[i].id;
			}
		}
		for (int i = 1; i < nt; i++) /* few: insertion sort by time */
			for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
				time_t x = t[j];
				t[j] = t[j - 1];
				t[j - 1] = x;
				const char *e = ev[j];
				ev[j] = ev[j - 1];
				ev[j - 1] = e;
			}
		const struct lesson *lm = moved >= 0 ? &les[moved] : NULL;
		for (int i = 1; i < nt && nhw < 3 && !rc; i++) {
			if (t[i] <= now)
				continue;
			rc = insert_homework(c, course_of[course_subj], ev[i - 1], t[i - 1], t[i], homework_text[nhw],
					     lm && lm->teacher ? lm->teacher : d->admin, d->now);
			nhw++;
		}
		if (rc)
			goto fail;
	}
	if ((rc = db_commit(c)))
		return rc;
	int weekly = 0, ab = 0;
	for (size_t f = 0; f < NFILL; f++)
		fillers[f].b >= 0 ? ab++ : weekly++;
	fprintf(d->out, "  %-6s %d lessons a week (%d slots on A/B weeks), 2 exams, %d homework\n", name, weekly + ab,
		ab, nhw);
	*made = 1;
	return ENT_OK;
fail:
	db_rollback(c);
	return rc;
}

int cal_demo(db_conn *c, FILE *out)
{
	static const char *const classes[3] = {"6e A", "5e B", "4e C"};
	arena *a = arena_new(0);
	char year[10], now[21];
	users_current_school_year(year);
	util_time_rfc3339(time(NULL), now);
	struct cal_year y;
	int rc = cal_year_dates(year, &y);
	if (rc)
		goto out;
	struct user admin;
	rc = users_find_login(c, a, "admin@demo.ent.local", &admin);
	if (rc == ENT_ENOTFOUND) {
		rc = ENT_OK; /* no demo school to give a timetable to */
		goto out;
	}
	if (rc)
		goto out;
	struct demo_ctx d = {
		.c = c, .a = a, .y = &y, .year = year, .admin = admin.id, .now = now, .until = y.end - 1, .out = out};
	for (int j = 0, t = 0; j < NSUBJ; j++) {
		if (!subjects[j].teacher)
			continue;
		struct user u;
		rc = users_find_login(c, a, subjects[j].teacher, &u);
		if (rc == ENT_ENOTFOUND) {
			rc = ENT_OK;
			continue;
		}
		if (rc)
			goto out;
		d.teacher_ids[j] = arena_strdup(a, u.id);
		if (t < 4) {
			int n = cours_taught_by(c, a, u.id, &d.taught[t]);
			if (n < 0) {
				rc = n;
				goto out;
			}
			d.ntaught[t] = n;
			d.taught_by[t++] = d.teacher_ids[j];
		}
	}
	fprintf(out, "Demo timetable (school year %s, holidays of zone C):\n", year);
	int holidays = 0, made = 0;
	if ((rc = db_begin(c)))
		goto out;
	rc = cal_year_store_holidays(c, &y, admin.id, &holidays);
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	for (int k = 0; !rc && k < 3; k++) {
		int one = 0;
		rc = demo_class(&d, k, classes[k], &one);
		made += one;
	}
	if (!rc)
		fprintf(out, "%d timetables and %d holidays created now (%s).\n", made, holidays,
			made || holidays ? "first run" : "already loaded, nothing changed");
out:
	arena_free(a);
	return rc;
}
