/*
 * notify.c - what the calendar tells students through the bus (the notifications service turns
 * each event into one notification per student, after their preferences):
 *
 *   calendar.lesson_changed  a lesson or exam of the next 14 days cancelled, moved, or given
 *                            another room or teacher (published with the change, same transaction)
 *   calendar.homework        new homework for a course
 *   calendar.exam_reminder   the day before an exam (in the 24 hours before it starts)
 *
 * The reminder is sent once even when several processes run the calendar: a background thread
 * in each looks every few seconds for exams starting within 24 hours (where they are now: an exam
 * moved is reminded before its new time, a cancelled one not at all), and claims each occurrence
 * by inserting (event, occurrence, start) into calendar_reminders in the transaction that
 * publishes the event. The primary key is the lease: the insert of a second process does nothing
 * (ON CONFLICT DO NOTHING, after the first commits), and it publishes nothing. An exam moved after
 * its reminder has another start, so it is reminded again before its new time.
 *
 * Payloads carry the students' ids and the texts' ingredients, with times already written for
 * people on Paris's clock ("lundi 18 janvier à 08:00"), never grades or private notes.
 */
#include "internal.h"

#include <errno.h>
#include <libical/ical.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/app.h"
#include "core/err.h"
#include "core/log.h"
#include "core/sql.h"
#include "core/util.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

/* Changes to lessons further away than this are not announced. */
#define NOTIFY_HORIZON (14L * 86400)
#define REMINDER_INTERVAL_S 5

void cal_french_when(time_t t, const char *tz, int with_time, char out[64])
{
	static const char *const days[] = {"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"};
	static const char *const months[] = {"janvier", "février", "mars",      "avril",   "mai",      "juin",
					     "juillet", "août",    "septembre", "octobre", "novembre", "décembre"};
	icaltimezone *z = icaltimezone_get_builtin_timezone(tz && *tz ? tz : CAL_DEFAULT_TZ);
	struct icaltimetype lt = icaltime_from_timet_with_zone(t, 0, z ? z : icaltimezone_get_utc_timezone());
	int dow = icaltime_day_of_week(lt) - 1; /* libical: 1 = Sunday */
	if (dow < 0 || dow > 6 || lt.month < 1 || lt.month > 12) {
		util_time_rfc3339(t, out);
		return;
	}
	if (with_time)
		snprintf(out, 64, "%s %d %s à %02d:%02d", days[dow], lt.day % 100, months[lt.month - 1], lt.hour % 100,
			 lt.minute % 100);
	else
		snprintf(out, 64, "%s %d %s", days[dow], lt.day % 100, months[lt.month - 1]);
}

int cal_students(db_conn *c, arena *a, const char *audience, const char *course_id, const char *const *class_ids,
		 size_t nclass_ids, json_t *out)
{
	const char **classes = (const char **)class_ids;
	int n = (int)nclass_ids;
	if (audience && !strcmp(audience, "course")) {
		n = cours_classes_of(c, a, course_id, &classes);
		if (n < 0)
			return n;
	} else if (!audience || strcmp(audience, "classes"))
		return ENT_OK; /* school-wide and staff events are not announced one by one */
	for (int i = 0; i < n; i++) {
		char **ids;
		int m = users_class_members(c, a, classes[i], &ids);
		if (m < 0)
			return m;
		for (int k = 0; k < m; k++)
			json_array_append_new(out, json_string(ids[k]));
	}
	return ENT_OK;
}

/* 1 when ch is announced: a lesson or exam of the next 14 days (before or after the change). */
static int announced(const struct cal_change *ch)
{
	time_t now = time(NULL);
	int near = (ch->at >= now && ch->at < now + NOTIFY_HORIZON) ||
		   (ch->new_start && ch->new_start >= now && ch->new_start < now + NOTIFY_HORIZON);
	return near && (!strcmp(ch->kind, "lesson") || !strcmp(ch->kind, "exam"));
}

/* The lesson_changed payload of one change (students: a new reference, or NULL). */
static json_t *change_payload(const struct cal_change *ch, json_t *students)
{
	char at[21], when[64], new_at[21], new_when[64];
	util_time_rfc3339(ch->at, at);
	cal_french_when(ch->at, ch->tz, 1, when);
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "event_id", ch->event_id, "occurrence_id", at,
			      "kind", ch->kind, "title", ch->title, "status", ch->cancelled ? "cancelled" : "changed",
			      "starts_at", at, "when", when);
	if (students)
		json_object_set_new(p, "students", students);
	if (ch->course_id)
		json_object_set_new(p, "course_id", json_string(ch->course_id));
	if (ch->new_start) {
		util_time_rfc3339(ch->new_start, new_at);
		cal_french_when(ch->new_start, ch->tz, 1, new_when);
		json_object_set_new(p, "new_starts_at", json_string(new_at));
		json_object_set_new(p, "new_when", json_string(new_when));
	}
	if (ch->location)
		json_object_set_new(p, "location", json_string(ch->location));
	if (ch->note)
		json_object_set_new(p, "note", json_string(ch->note));
	return p;
}

int cal_notify_change(db_conn *c, arena *a, const struct cal_change *ch)
{
	if (!announced(ch))
		return ENT_OK;
	json_t *students = json_array();
	int rc = cal_students(c, a, ch->audience, ch->course_id, ch->class_ids, ch->nclass_ids, students);
	if (rc || !json_array_size(students)) {
		json_decref(students);
		return rc;
	}
	json_t *p = change_payload(ch, students);
	rc = bus_publish(c, "calendar", "calendar.lesson_changed", p, NULL);
	json_decref(p);
	return rc;
}

int cal_cancels_add(db_conn *c, struct cal_cancels *k, const struct cal_change *ch)
{
	if (!announced(ch))
		return ENT_OK;
	/* The occurrences of one series concern the same students: asked once a series. */
	json_t *students = NULL;
	for (size_t i = 0; i < k->n && !students; i++)
		if (!strcmp(k->v[i].event_id, ch->event_id))
			students = json_incref(k->v[i].students);
	if (!students) {
		students = json_array();
		int rc = cal_students(c, k->a, ch->audience, ch->course_id, ch->class_ids, ch->nclass_ids, students);
		if (rc) {
			json_decref(students);
			return rc;
		}
	}
	k->v = arena_grow(k->a, k->v, k->n, &k->cap, sizeof(*k->v));
	struct cal_cancelled *one = &k->v[k->n++];
	one->event_id = arena_strdup(k->a, ch->event_id);
	one->payload = change_payload(ch, NULL);
	one->students = students;
	return ENT_OK;
}

void cal_cancels_free(struct cal_cancels *k)
{
	for (size_t i = 0; i < k->n; i++) {
		json_decref(k->v[i].payload);
		json_decref(k->v[i].students);
	}
	k->n = 0;
}

/*
 * One calendar.lesson_changed per group of students concerned by the same cancelled lessons: each
 * student is told once, of their own lessons. A group of one lesson gets that lesson's payload; of
 * several, {"status": "cancelled", "lessons": [payloads, in order], "note"}.
 */
int cal_cancels_publish(db_conn *c, struct cal_cancels *k, const char *note)
{
	/* Each student's lessons ("0,3,5,"), then the students of each such list. */
	json_t *mine = json_object(), *groups = json_object();
	for (size_t i = 0; i < k->n; i++) {
		size_t j;
		json_t *one;
		json_array_foreach (k->v[i].students, j, one) {
			const char *id = json_string_value(one), *had = json_string_value(json_object_get(mine, id));
			char num[24];
			snprintf(num, sizeof(num), "%zu,", i);
			size_t len = had ? strlen(had) : 0;
			char *list = arena_alloc(k->a, len + strlen(num) + 1);
			memcpy(list, had ? had : "", len);
			strcpy(list + len, num);
			json_object_set_new(mine, id, json_string(list));
		}
	}
	const char *student;
	json_t *list;
	json_object_foreach (mine, student, list) {
		json_t *g = json_object_get(groups, json_string_value(list));
		if (!g)
			json_object_set_new(groups, json_string_value(list), g = json_array());
		json_array_append_new(g, json_string(student));
	}
	int rc = ENT_OK;
	const char *key;
	json_t *members;
	json_object_foreach (groups, key, members) {
		json_t *lessons = json_array();
		for (const char *p = key; *p; p += strcspn(p, ",") + 1)
			json_array_append(lessons, k->v[strtoul(p, NULL, 10)].payload);
		json_t *payload;
		if (json_array_size(lessons) == 1)
			payload = json_deep_copy(json_array_get(lessons, 0));
		else {
			payload = json_pack("{s:s, s:O}", "status", "cancelled", "lessons", lessons);
			if (note)
				json_object_set_new(payload, "note", json_string(note));
		}
		json_decref(lessons);
		json_object_set(payload, "students", members);
		rc = bus_publish(c, "calendar", "calendar.lesson_changed", payload, NULL);
		json_decref(payload);
		if (rc)
			break;
	}
	json_decref(mine);
	json_decref(groups);
	cal_cancels_free(k);
	return rc;
}

int cal_notify_homework(db_conn *c, arena *a, const char *homework_id, const char *course_id, const char *title,
			time_t due)
{
	json_t *students = json_array();
	int rc = cal_students(c, a, "course", course_id, NULL, 0, students);
	if (rc || !json_array_size(students)) {
		json_decref(students);
		return rc;
	}
	char due_at[21], when[64];
	util_time_rfc3339(due, due_at);
	cal_french_when(due, CAL_DEFAULT_TZ, 0, when);
	const char *course_title = cours_title(c, a, course_id);
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "homework_id", homework_id, "course_id", course_id,
			      "title", title, "due_at", due_at, "due_when", when, "students", students);
	if (course_title)
		json_object_set_new(p, "course_title", json_string(course_title));
	rc = bus_publish(c, "calendar", "calendar.homework", p, NULL);
	json_decref(p);
	return rc;
}

/* ---- the exam reminder ---- */

/* Sends the reminders due now. Returns how many were published, or an ent_err. */
static int remind_due(db_conn *c)
{
	arena *a = arena_new(0);
	time_t now = time(NULL);
	char sent_at[21];
	util_time_rfc3339(now, sent_at);
	/* The exams starting in the next 24 hours, where they are now (a moved one at its new time). */
	struct cal_occ *ex = NULL;
	int n = cal_exams_starting(c, a, now, now + 86400, &ex), rc = n < 0 ? n : ENT_OK, sent = 0;
	for (int i = 0; i < n; i++) {
		const struct cal_occ *x = &ex[i];
		if (x->status == CAL_CANCELLED)
			continue;
		char at[21], starts[21];
		util_time_rfc3339(x->id, at);
		util_time_rfc3339(x->start, starts);
		if ((rc = db_begin(c)))
			break;
		/* The lease: one row per occurrence and start, so that a moved exam is reminded again. */
		int64_t claimed = 0;
		rc = SQL_CHANGE(c, &claimed,
				"INSERT INTO calendar_reminders (event_id, occurrence_at, starts_at, sent_at)"
				" VALUES (?, ?, ?, ?) ON CONFLICT (event_id, occurrence_at, starts_at) DO NOTHING",
				SQL_T(x->event_id), SQL_T(at), SQL_T(starts), SQL_T(sent_at));
		if (rc >= 0 && claimed == 1) {
			json_t *students = json_array();
			rc = cal_students(c, a, x->audience, x->course_id, x->class_ids, x->nclass_ids, students);
			if (!rc && json_array_size(students)) {
				char when[64];
				cal_french_when(x->start, x->tz, 1, when);
				json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "event_id", x->event_id,
						      "occurrence_id", at, "title", x->title, "starts_at", starts,
						      "when", when, "students", students);
				if (x->course_id)
					json_object_set_new(p, "course_id", json_string(x->course_id));
				if (x->location)
					json_object_set_new(p, "location", json_string(x->location));
				rc = bus_publish(c, "calendar", "calendar.exam_reminder", p, NULL);
				json_decref(p);
				sent += rc == ENT_OK;
			} else
				json_decref(students);
		}
		if (rc < 0 || (rc = db_commit(c))) {
			db_rollback(c);
			log_job_failed(rc, "calendar: the reminder of exam %s could not be sent", x->event_id);
		}
		rc = ENT_OK;
	}
	arena_free(a);
	if (sent)
		bus_kick();
	return rc < 0 ? rc : sent;
}

static pthread_t reminder;
static int reminder_running, reminder_stop;
static pthread_mutex_t reminder_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reminder_cv = PTHREAD_COND_INITIALIZER;

static void *reminder_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&reminder_mu);
	while (!reminder_stop) {
		pthread_mutex_unlock(&reminder_mu);
		db_conn *c = app_db();
		if (c) {
			int rc = remind_due(c);
			if (rc < 0)
				log_job_failed(rc, "calendar: exam reminders");
		}
		pthread_mutex_lock(&reminder_mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += REMINDER_INTERVAL_S;
		while (!reminder_stop && pthread_cond_timedwait(&reminder_cv, &reminder_mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&reminder_mu);
	return NULL;
}

int cal_reminders_start(void)
{
	reminder_stop = 0;
	if (pthread_create(&reminder, NULL, reminder_main, NULL))
		return ENT_EINTERNAL;
	reminder_running = 1;
	return ENT_OK;
}

void cal_reminders_stop(void)
{
	if (!reminder_running)
		return;
	pthread_mutex_lock(&reminder_mu);
	reminder_stop = 1;
	pthread_cond_broadcast(&reminder_cv);
	pthread_mutex_unlock(&reminder_mu);
	pthread_join(reminder, NULL);
	reminder_running = 0;
}
