/*
 * internal.h - what the calendar service's files share (never included outside the folder).
 *
 * Files: calendar.c (the service table, schema, who sees what), expand.c (recurrence expansion,
 * pure functions), events.c (events and series: create, read, change, delete, the occurrences of
 * a window and the week's timetable), homework.c (the homework diary and each student's ticks),
 * ical.c (iCalendar export, the personal feeds and the import).
 */
#ifndef ENT_CALENDAR_INTERNAL_H
#define ENT_CALENDAR_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/http.h"
#include "core/json.h"
#include "store/db.h"

#define CAL_DEFAULT_TZ "Europe/Paris"
/* The widest window a list or an export may ask for, in days (a school year and some). */
#define CAL_MAX_WINDOW_DAYS 400

/* ---- expand.c ---- */

struct cal_span {
	time_t start, end;
};

/* A series as stored: its first occurrence, its rule and exceptions. */
struct cal_series {
	time_t start, end;     /* the first occurrence, UTC */
	const char *tz;        /* IANA zone name; NULL: CAL_DEFAULT_TZ */
	const char *rrule;     /* NULL: one occurrence */
	const time_t *exdates; /* sorted original starts left out */
	size_t nexdates;
	int skip_holidays; /* lessons: occurrences starting in a holiday are left out */
	const struct cal_span *holidays;
	size_t nholidays;
};

/* Called for each occurrence in order: its start and end, and its id (the original start). <0 stops. */
typedef int (*cal_occ_fn)(void *ctx, time_t start, time_t end, time_t id);

/* Loads the default time zone (before threads start). */
void cal_init(void);
/* 1 if tz names a time zone this server knows. */
int cal_tz_valid(const char *tz);
/*
 * Checks a rule before it is stored: ENT_OK, or ENT_EINVAL with *why a French phrase completing
 * "la règle de récurrence ..." (a static string).
 */
int cal_rule_check(const char *rrule, time_t dtstart, const char **why);
/*
 * Calls fn for each occurrence of s overlapping [from, to), in order. Returns how many, or a
 * negative ent_err (ENT_EINVAL for a rule or zone that cannot be read; fn's own error).
 */
int cal_expand(const struct cal_series *s, time_t from, time_t to, cal_occ_fn fn, void *ctx);
/* cal_expand, with libical's iterator for every rule when libical is 1 (tests compare the two). */
int cal_expand_rule(const struct cal_series *s, time_t from, time_t to, cal_occ_fn fn, void *ctx, int libical);
/* The end of s's last occurrence: returns 1 with *last_end, 0 for a rule without end, or an error. */
int cal_series_last_end(const struct cal_series *s, time_t *last_end);
/* The ISO week "2026-W49" on tz's wall clock: [Monday 00:00, next Monday 00:00) in UTC. ENT_EINVAL if not a week. */
int cal_week_start(const char *week, const char *tz, time_t *from, time_t *to);
/* The ISO week ("2026-W49") of t on tz's wall clock. */
int cal_iso_week(time_t t, const char *tz, char out[9]);
/* t's date on tz's wall clock ("2026-12-03"). */
int cal_local_date(time_t t, const char *tz, char out[11]);
/* 00:00 of date ("2026-12-03") on tz's wall clock, in UTC. ENT_EINVAL for a bad date. */
int cal_local_midnight(const char *date, const char *tz, time_t *out);

/* ---- calendar.c: who is asking ---- */

/* What the caller may see: their role, classes and courses (arena strings). */
struct cal_viewer {
	const char *user_id;
	unsigned roles;
	int all;              /* an administrator: everything */
	const char **classes; /* a student's class; a teacher's assigned classes and those of their courses */
	size_t nclasses;
	const char **courses; /* a student's class's courses; a teacher's courses */
	size_t ncourses;
	const char **taught; /* the courses the caller teaches (teachers) */
	size_t ntaught;
};

/* Fills v for the principal p (allocating from a). 0 or an ent_err. */
int cal_viewer_for(db_conn *c, arena *a, const struct http_principal *p, struct cal_viewer *v);
/* Fills v for the caller of req; on error answers (503 ...) and returns -1. */
int cal_viewer_load(http_req *req, db_conn *c, struct cal_viewer *v);
/* The viewer a student of class_id would be (for a class's timetable); 0 or an ent_err. */
int cal_viewer_of_class(db_conn *c, arena *a, const char *class_id, struct cal_viewer *v);
/*
 * A handler's JSON body (*body, the request's) checked with the n fields (none when NULL) into
 * *errors (a new object: the handler adds its own and answers them), and the database: the
 * connection, or NULL after answering (400 for a body that is not JSON, 503).
 */
db_conn *cal_body_db(http_req *req, const struct jfield *fields, size_t n, json_t **body, json_t **errors);
/* A copy of the n fields (from the request's arena) with none required: a PATCH's. */
const struct jfield *cal_patch_fields(http_req *req, const struct jfield *fields, size_t n);
/*
 * 0 when course_id names a course that v teaches (or v is an administrator); else -1 after
 * answering: 400 for no such course, 403 forbidden (a French sentence), 503.
 */
int cal_course_taught(http_req *req, db_conn *c, const struct cal_viewer *v, const char *course_id,
		      const char *forbidden);
/* 1 if s is in v (n strings). */
int cal_has(const char *const *v, size_t n, const char *s);

/* ---- events.c ---- */

/*
 * The tables the handlers check their bodies with (json_check), which the routes document (BODY):
 * a series (POST; a PATCH makes none required), one occurrence changed, several cancelled, the
 * lessons of a few days cancelled.
 */
#define CAL_NSERIES 15
#define CAL_NOVERRIDE 6
#define CAL_NCANCEL 4
#define CAL_NDAY_CANCEL 5
extern const struct jfield cal_series_fields[CAL_NSERIES], cal_override_fields[CAL_NOVERRIDE],
	cal_cancel_fields[CAL_NCANCEL], cal_day_cancel_fields[CAL_NDAY_CANCEL];

void cal_events_list(http_req *req);
void cal_events_create(http_req *req);
void cal_events_get(http_req *req);
void cal_events_patch(http_req *req);
void cal_events_delete(http_req *req);
void cal_occurrence_put(http_req *req);
void cal_occurrence_delete(http_req *req);
void cal_occurrences_cancel(http_req *req);
void cal_cancellations(http_req *req);
void cal_timetable(http_req *req);

/* A class an occurrence is for, and its name (NULL for a class that no longer exists). */
struct cal_class {
	const char *id, *name;
};

/* An occurrence as listed and exported. Strings live in the request's arena. */
struct cal_occ {
	const char *event_id, *kind, *title, *description, *location, *tz, *audience, *course_id, *teacher_id;
	const char *evaluation_id, *owner_id;
	const char **class_ids;
	size_t nclass_ids;
	const struct cal_class *classes; /* audience classes: those; course: the course's classes now */
	size_t nclasses;
	time_t start, end, id;       /* id: the original start */
	time_t orig_start, orig_end; /* before a change */
	const char *orig_location, *orig_teacher_id;
	int all_day, recurring;
	int status;       /* CAL_SCHEDULED, CAL_CANCELLED, CAL_CHANGED */
	const char *note; /* the change's note */
	const char *rrule;
	const char *updated_at;
};
enum { CAL_SCHEDULED = 0, CAL_CANCELLED = 1, CAL_CHANGED = 2 };

/*
 * The occurrences visible to v overlapping [from, to), sorted by start then event id, into *out
 * (arena). kinds: NULL for all, or a NULL-terminated list. Returns how many or an ent_err.
 */
int cal_occurrences(db_conn *c, arena *a, const struct cal_viewer *v, time_t from, time_t to, const char *const *kinds,
		    struct cal_occ **out);
/*
 * Every exam occurrence starting in [from, to), its changes applied (one moved into the window
 * from outside it included, cancelled ones with their status), for the reminders. How many or an
 * ent_err.
 */
int cal_exams_starting(db_conn *c, arena *a, time_t from, time_t to, struct cal_occ **out);
/*
 * Parses ?from= and ?to= (RFC 3339 or YYYY-MM-DD, midnight on Paris's clock; 400 days at most).
 * Without them: def_from (0: this week's Monday) and span_days on; with one of them, span_days
 * from or to it. Answers 400 (problem+json naming the field, in French) and returns -1.
 */
int cal_window_args(http_req *req, time_t def_from, int span_days, time_t *from, time_t *to);
/*
 * The occurrences the caller sees in the window of ?from= and ?to= (this week by default), of
 * ?kind= when ask_kind (else of every kind): their number, or -1 after answering (400, 503 ...).
 */
int cal_window_occ(http_req *req, int ask_kind, struct cal_occ **occ);
/*
 * Stores one imported event (inside the caller's transaction): a school event or holiday (course
 * NULL) or an event of kind of the course, owned by v's user. 0 or an ent_err.
 */
int cal_import_one(db_conn *c, arena *a, const struct cal_viewer *v, const char *kind, const char *course,
		   const char *title, const char *description, const char *location, time_t start, time_t end,
		   int all_day, const char *rrule, time_t *exdates, size_t nexdates);
/* Writes one occurrence as JSON. */
void cal_write_occ(jw *w, const struct cal_occ *o);

/* ---- homework.c ---- */

/* The fields of a homework body (POST; a PATCH makes none required). */
#define CAL_NHW 8
extern const struct jfield cal_hw_fields[CAL_NHW];

void cal_homework_list(http_req *req);
void cal_homework_create(http_req *req);
void cal_homework_get(http_req *req);
void cal_homework_patch(http_req *req);
void cal_homework_delete(http_req *req);
void cal_homework_done_put(http_req *req);
void cal_homework_done_delete(http_req *req);
void cal_homework_file(http_req *req);
/* The service's .file_readable hook: 1 when file_id is attached to a homework user_id sees. */
int cal_file_readable(db_conn *c, const char *cours_id, const char *file_id, const char *user_id, unsigned roles);

/* ---- ical.c ---- */

void cal_ics_export(http_req *req);
void cal_feed_get(http_req *req);
void cal_feed_create(http_req *req);
void cal_feed_delete(http_req *req);
void cal_feed_read(http_req *req);
void cal_ics_import(http_req *req);

/* ---- notify.c ---- */

/* A change of one occurrence, for cal_notify_change(). */
struct cal_change {
	const char *event_id, *kind, *title, *tz, *audience, *course_id;
	const char *const *class_ids;
	size_t nclass_ids;
	time_t at; /* the occurrence's original start */
	int cancelled;
	time_t new_start; /* 0: not moved */
	const char *location, *note;
};

/* t on tz's clock for people: "lundi 18 janvier à 08:00" (with_time) or "lundi 18 janvier". */
void cal_french_when(time_t t, const char *tz, int with_time, char out[64]);
/* Appends to out (a JSON array) the ids of the students an event of that audience concerns. */
int cal_students(db_conn *c, arena *a, const char *audience, const char *course_id, const char *const *class_ids,
		 size_t nclass_ids, json_t *out);
/* Publishes calendar.lesson_changed when ch is a lesson or exam of the next 14 days (inside the caller's transaction). */
int cal_notify_change(db_conn *c, arena *a, const struct cal_change *ch);
/*
 * Cancelled lessons gathered for one notification per student listing theirs (a teacher away for
 * several days, a day cancelled): cal_cancels_add for each (those announced: the next 14 days),
 * then cal_cancels_publish in the transaction, or cal_cancels_free when it is rolled back.
 */
struct cal_cancels {
	arena *a;
	struct cal_cancelled {
		const char *event_id;
		json_t *payload;  /* the lesson as cal_notify_change would announce it */
		json_t *students; /* their ids */
	} * v;
	size_t n, cap;
};
int cal_cancels_add(db_conn *c, struct cal_cancels *k, const struct cal_change *ch);
int cal_cancels_publish(db_conn *c, struct cal_cancels *k, const char *note);
void cal_cancels_free(struct cal_cancels *k);
/* Publishes calendar.homework to the course's students (inside the caller's transaction). */
int cal_notify_homework(db_conn *c, arena *a, const char *homework_id, const char *course_id, const char *title,
			time_t due);
/* The exam reminder thread (started and stopped with the service). */
int cal_reminders_start(void);
void cal_reminders_stop(void);

/* ---- demo.c, generate.c: the demo school's timetable and the district's (`ent demo`) ---- */

/* A school year on Paris's wall clock, in UTC (demo.c): its days of classes and its holidays. */
struct cal_year {
	time_t first_day; /* 00:00 of the first day of classes */
	time_t end;       /* 00:00 of the first day of the summer holidays */
	struct {
		const char *title;
		time_t from, to; /* 00:00 of the first day off, 00:00 of the day classes resume */
	} holidays[4];
};
/* The dates of school_year ("2026-2027"), holidays of zone C: 0, or ENT_EINVAL for a year that cannot be read. */
int cal_year_dates(const char *school_year, struct cal_year *out);
/* Stores y's holidays not stored yet (school events of kind holiday owned by owner); adds them to *made. */
int cal_year_store_holidays(db_conn *c, const struct cal_year *y, const char *owner, int *made);
/* The day number (days since 1970-01-01) of t's date on Paris's wall clock, and 00:00 of a day number there. */
long cal_day_number(time_t t);
time_t cal_day_start(long day);
struct scale;
/* The service table's hooks (struct service .demo and .generate). */
int cal_demo(db_conn *c, FILE *out);
int cal_generate(db_conn *c, const struct scale *sc);

/* ---- GDPR (calendar.c) ---- */
int cal_export_user(db_conn *c, const char *user_id, json_t *out);
int cal_erase_user(db_conn *c, const char *user_id);

#endif
