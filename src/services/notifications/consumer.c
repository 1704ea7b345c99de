/*
 * consumer.c - turns events of the bus into notifications.
 *
 * The service subscribes to "note.*" and "calendar.*". For each event the bus opens a transaction and calls
 * consume(): one notification per student listed in the payload's "students" (an evaluation with
 * 30 grades is one event, so each student gets one notification, not a flood), unless the student
 * turned that type off in their preferences. The bus records the event as applied in the same
 * transaction, and the unique key (event_id, user_id) makes a second delivery harmless anyway.
 * Once committed, the bus calls notif_applied() (stream.c), which pushes the new rows to open
 * streams.
 *
 * Texts are French and built from the payload only: the notes service never hands us grades, so
 * the body names the evaluation, its date and its scale, not the value.
 *
 * A payload that cannot be read (no students array) is logged and skipped: retrying it would
 * never succeed. Database errors are returned to the bus, which retries later.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "core/sql.h"

/* Days older than this are purged from a user's list when a new notification arrives. */
#define RETENTION_DAYS 365

/* "2026-11-24" -> "24/11/2026" into out (11 bytes); 0, or -1 when d is not such a date. */
static int french_date(const char *d, char out[11])
{
	if (!d || strlen(d) != 10 || d[4] != '-' || d[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (d[i] < '0' || d[i] > '9'))
			return -1;
	memcpy(out, d + 8, 2);
	out[2] = '/';
	memcpy(out + 3, d + 5, 2);
	out[5] = '/';
	memcpy(out + 6, d, 4);
	out[10] = '\0';
	return 0;
}

/* "Contrôle n°3 du 24/11/2026" (the date only when the payload has a valid one). */
static void evaluation_line(buf *b, const json_t *payload)
{
	const char *title = json_string_value(json_object_get(payload, "evaluation_title"));
	char date[11];
	buf_addstr(b, title && *title ? title : "Évaluation");
	if (!french_date(json_string_value(json_object_get(payload, "date")), date))
		buf_printf(b, " du %s", date);
}

static void course_suffix(buf *b, const json_t *payload)
{
	const char *course = json_string_value(json_object_get(payload, "course_title"));
	if (course && *course)
		buf_printf(b, " en %s", course);
}

static int text_published(const json_t *payload, const char *user_id, buf *title, buf *body)
{
	(void)user_id;
	buf_addstr(title, "Nouvelle note");
	course_suffix(title, payload);
	evaluation_line(body, payload);
	json_t *scale = json_object_get(payload, "scale");
	if (json_is_integer(scale))
		buf_printf(body, " : note sur %lld disponible", (long long)json_integer_value(scale));
	else
		buf_addstr(body, " : note disponible");
	return ENT_OK;
}

static int text_updated(const json_t *payload, const char *user_id, buf *title, buf *body)
{
	(void)user_id;
	buf_addstr(title, "Note modifiée");
	course_suffix(title, payload);
	evaluation_line(body, payload);
	buf_addstr(body, " : votre note a été modifiée");
	return ENT_OK;
}

/*
 * A time as the calendar service wrote it for people ("lundi 18 janvier à 08:00", on Paris's
 * clock) under key, or else the RFC 3339 time under fallback.
 */
static void when_line(buf *b, const json_t *payload, const char *key, const char *fallback)
{
	const char *human = json_string_value(json_object_get(payload, key));
	const char *at = json_string_value(json_object_get(payload, fallback));
	buf_addstr(b, human && *human ? human : at ? at : "?");
}

/* Lessons listed in a summary at the most; the others are counted. */
#define SUMMARY_MAX 20

/*
 * Several lessons cancelled at once (a teacher away for some days, a day cancelled), one
 * notification per student: "3 cours annulés", "Mathématiques le lundi 7 décembre à 08:00 ; ...".
 */
static int text_cancelled_lessons(const json_t *payload, const json_t *lessons, buf *title, buf *body)
{
	size_t n = json_array_size(lessons), i;
	const json_t *one;
	buf_printf(title, "%zu cours annulés", n);
	buf_addstr(body, "Cours annulés : ");
	json_array_foreach (lessons, i, one) {
		if (i == SUMMARY_MAX) {
			buf_printf(body, " et %zu autres", n - SUMMARY_MAX);
			break;
		}
		const char *what = json_string_value(json_object_get(one, "title"));
		buf_printf(body, "%s%s le ", i ? " ; " : "", what ? what : "Cours");
		when_line(body, one, "when", "starts_at");
	}
	const char *note = json_string_value(json_object_get(payload, "note"));
	if (note && *note)
		buf_printf(body, " (%s)", note);
	buf_addc(body, '.');
	return ENT_OK;
}

static int text_lesson_changed(const json_t *payload, const char *user_id, buf *title, buf *body)
{
	(void)user_id;
	const json_t *lessons = json_object_get(payload, "lessons");
	if (json_is_array(lessons) && json_array_size(lessons))
		return text_cancelled_lessons(payload, lessons, title, body);
	const char *status = json_string_value(json_object_get(payload, "status"));
	const char *what = json_string_value(json_object_get(payload, "title"));
	const char *kind = json_string_value(json_object_get(payload, "kind"));
	if (!status || !what)
		return ENT_EINVAL;
	int cancelled = strcmp(status, "cancelled") == 0, exam = kind && !strcmp(kind, "exam");
	int moved = json_string_value(json_object_get(payload, "new_starts_at")) != NULL;
	if (exam)
		buf_printf(title, "%s : %s",
			   cancelled ? "Examen annulé"
			   : moved   ? "Examen déplacé"
				     : "Examen modifié",
			   what);
	else
		buf_printf(title, "%s : %s", cancelled ? "Cours annulé" : "Cours modifié", what);
	if (exam)
		buf_addstr(body, cancelled ? "L'examen du " : "L'examen prévu le ");
	else
		buf_addstr(body, cancelled ? "Le cours du " : "Le cours prévu le ");
	when_line(body, payload, "when", "starts_at");
	if (cancelled)
		buf_addstr(body, " est annulé");
	else {
		const char *loc = json_string_value(json_object_get(payload, "location"));
		if (json_string_value(json_object_get(payload, "new_starts_at"))) {
			buf_addstr(body, " a lieu le ");
			when_line(body, payload, "new_when", "new_starts_at");
		} else
			buf_addstr(body, " a lieu comme prévu");
		if (loc && *loc)
			buf_printf(body, ", salle %s", loc);
	}
	const char *note = json_string_value(json_object_get(payload, "note"));
	if (note && *note)
		buf_printf(body, " (%s)", note);
	buf_addc(body, '.');
	return ENT_OK;
}

static int text_homework(const json_t *payload, const char *user_id, buf *title, buf *body)
{
	(void)user_id;
	const char *what = json_string_value(json_object_get(payload, "title"));
	if (!what)
		return ENT_EINVAL;
	buf_addstr(title, "Nouveau devoir");
	course_suffix(title, payload);
	buf_printf(body, "%s, pour le ", what);
	when_line(body, payload, "due_when", "due_at");
	return ENT_OK;
}

static int text_exam_reminder(const json_t *payload, const char *user_id, buf *title, buf *body)
{
	(void)user_id;
	const char *what = json_string_value(json_object_get(payload, "title"));
	if (!what)
		return ENT_EINVAL;
	buf_printf(title, "Rappel d'examen : %s", what);
	buf_addstr(body, "Rappel : ");
	buf_addstr(body, what);
	buf_addstr(body, " a lieu le ");
	when_line(body, payload, "when", "starts_at");
	const char *loc = json_string_value(json_object_get(payload, "location"));
	if (loc && *loc)
		buf_printf(body, ", salle %s", loc);
	buf_addc(body, '.');
	return ENT_OK;
}

/*
 * For services that write their own texts (messagerie, support): the payload's "notify_title" and
 * "notify_body", French, written by the producer for every recipient alike.
 */
static int text_from_payload(const json_t *payload, const char *user_id, buf *title, buf *body)
{
	(void)user_id;
	const char *t = json_string_value(json_object_get(payload, "notify_title"));
	const char *b = json_string_value(json_object_get(payload, "notify_body"));
	if (!t || !*t || !b)
		return ENT_EINVAL;
	buf_addstr(title, t);
	buf_addstr(body, b);
	return ENT_OK;
}

const struct notif_type notif_types[] = {
	{"note.published", "Nouvelle note", "/notes", text_published},
	{"note.updated", "Note modifiée", "/notes", text_updated},
	{"calendar.lesson_changed", "Cours annulé ou déplacé", "/calendar", text_lesson_changed},
	{"calendar.homework", "Nouveau devoir", "/calendar", text_homework},
	{"calendar.exam_reminder", "Rappel d'examen la veille", "/calendar", text_exam_reminder},
	{"message.received", "Nouveau message", "/messagerie", text_from_payload},
	{"support.updated", "Suivi de mes demandes d'assistance", "/support", text_from_payload},
};
const size_t notif_ntypes = sizeof(notif_types) / sizeof(notif_types[0]);

const struct notif_type *notif_type_find(const char *name)
{
	for (size_t i = 0; name && i < notif_ntypes; i++)
		if (!strcmp(notif_types[i].type, name))
			return &notif_types[i];
	return NULL;
}

int64_t notif_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* 1 when user_id turned type off, 0 when not (the default), or a negative ent_err. */
static int type_disabled(db_conn *c, const char *user_id, const char *type)
{
	db_stmt *s = SQL_PREP(c, "SELECT enabled FROM notification_prefs WHERE user_id = ? AND type = ?",
			      SQL_T(user_id), SQL_T(type));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	int off = rc == DB_ROW && db_col_int64(s, 0) == 0;
	db_done(s);
	return rc < 0 ? rc : off;
}

/* Inserts one notification for user_id (nothing if this event already gave them one). */
static int insert_one(db_conn *c, const struct bus_event *ev, const struct notif_type *t, const char *user_id,
		      const char *data)
{
	buf title, body;
	buf_init(&title, 4096);
	buf_init(&body, 4096);
	int rc = t->text(ev->payload, user_id, &title, &body);
	if (rc || title.failed || body.failed || !title.data || !body.data) {
		buf_free(&title);
		buf_free(&body);
		return rc ? rc : ENT_EINVAL;
	}
	char id[37], now[21];
	util_uuid(id);
	int64_t us = notif_now_us();
	util_time_rfc3339((time_t)(us / 1000000), now);
	rc = SQL_RUN(c,
		     "INSERT INTO notifications (id, user_id, type, title, body, link, data, event_id, "
		     "created_at, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
		     "ON CONFLICT (event_id, user_id) DO NOTHING",
		     SQL_T(id), SQL_T(user_id), SQL_T(t->type), SQL_T(title.data), SQL_T(body.data), SQL_T(t->link),
		     SQL_T(data), SQL_T(ev->id), SQL_T(now), SQL_I(us));
	buf_free(&title);
	buf_free(&body);
	if (rc < 0)
		return rc;
	/* Retention: the user's notifications older than a year go (documented in docs/notifications.md). */
	rc = SQL_RUN(c, "DELETE FROM notifications WHERE user_id = ? AND created_us < ?", SQL_T(user_id),
		     SQL_I(us - (int64_t)RETENTION_DAYS * 86400 * 1000000));
	return rc < 0 ? rc : ENT_OK;
}

static int consume(db_conn *c, const struct bus_event *ev)
{
	const struct notif_type *t = notif_type_find(ev->type);
	if (!t)
		return ENT_OK; /* a type we do not notify (yet) */
	json_t *students = json_object_get(ev->payload, "students");
	if (!json_is_array(students)) {
		log_warn("notifications: event %s (%s) has no students array; skipped", ev->id, ev->type);
		return ENT_OK;
	}
	/* What the portal needs to open the right page: the ids found in the payload, nothing else. */
	json_t *d = json_object();
	static const char *const keys[] = {"evaluation_id", "course_id",  "event_id",
					   "homework_id",   "message_id", "ticket_id"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = json_string_value(json_object_get(ev->payload, keys[i]));
		if (v && util_is_uuid(v))
			json_object_set_new(d, keys[i], json_string(v));
	}
	char *data = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	if (!data)
		return ENT_ENOMEM;
	int rc = ENT_OK;
	size_t i;
	json_t *v;
	json_array_foreach (students, i, v) {
		const char *user_id = json_string_value(v);
		if (!user_id || !util_is_uuid(user_id))
			continue;
		rc = type_disabled(c, user_id, t->type);
		if (rc < 0)
			break;
		if (rc == 1) {
			rc = ENT_OK;
			continue;
		}
		rc = insert_one(c, ev, t, user_id, data);
		if (rc == ENT_EINVAL) {
			log_warn("notifications: event %s (%s): no text could be written; skipped", ev->id, ev->type);
			rc = ENT_OK;
			break;
		}
		if (rc < 0)
			break;
	}
	free(data);
	return rc;
}

static const char *const consumed_types[] = {"note.*", "calendar.*", "message.*", "support.*", NULL};

const struct bus_consumer notif_consumer = {
	.name = "notifications",
	.types = consumed_types,
	.handle = consume,
	.applied = notif_applied,
};
