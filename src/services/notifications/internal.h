/*
 * internal.h - what the notifications service's files share (never included outside the folder).
 */
#ifndef ENT_NOTIFICATIONS_INTERNAL_H
#define ENT_NOTIFICATIONS_INTERNAL_H

#include <stdint.h>

#include "bus/bus.h"
#include "core/buf.h"
#include "core/http.h"
#include "store/db.h"

/*
 * One kind of notification. The table (consumer.c) is the list of types a user can turn off in
 * their preferences; a service that starts publishing a new event adds a line there, with the
 * function that writes the French title and body from the event's payload.
 */
struct notif_type {
	const char *type;  /* the event type, also the notification's "type": "note.published" */
	const char *label; /* for the preferences screen: "Nouvelle note" */
	const char *link;  /* the portal page the notification opens: "/notes" */
	/*
	 * Writes the title and body for one recipient into title and body (both empty buffers).
	 * Returns 0, or ENT_EINVAL when the payload lacks what the text needs (the event is skipped).
	 */
	int (*text)(const json_t *payload, const char *user_id, buf *title, buf *body);
};

extern const struct notif_type notif_types[];
extern const size_t notif_ntypes;

/* The type named name, or NULL. */
const struct notif_type *notif_type_find(const char *name);

/* The bus consumer registered by the service's start() (consumer.c). */
extern const struct bus_consumer notif_consumer;

/* Columns of a notification as notif_write_row() reads them, and the table. */
#define NOTIF_COLS "id, type, title, body, link, data, created_at, read_at, created_us, user_id"

/* Writes the notification of the current row of s (selected with NOTIF_COLS) as a JSON object. */
void notif_write_row(jw *w, db_stmt *s);

/* Unread notifications of user_id: the count (>= 0) or a negative ent_err. */
int64_t notif_unread_count(db_conn *c, const char *user_id);

/* The current time in microseconds since the epoch (the sort key created_us). */
int64_t notif_now_us(void);

/* ---- streams (stream.c) ---- */

/* GET /api/notifications/stream. */
void notif_stream(http_req *req);

/* Sends the user's current unread count to each of their open streams, in every process (after read, delete). */
void notif_push_unread(const char *user_id);

/* The consumer's `applied` callback: pushes the event's new notifications to open streams, in every process. */
void notif_applied(const struct bus_event *ev);

/* The wake-up subscriber (core/wake.h, topic "notifications"): pushes to this process's streams. */
void notif_wake(const char *payload);

/* The notifications of `ent demo --scale` (generate.c). */
struct scale;
int notif_generate(db_conn *c, const struct scale *sc);

#endif
