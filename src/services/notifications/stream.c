/*
 * stream.c - GET /api/notifications/stream: Server-Sent Events to the browser tabs of each user.
 *
 * The hub maps a user id to the user's open streams (several tabs; at most STREAMS_PER_USER, the
 * oldest is ended when one more opens). It is striped: HUB_STRIPES buckets chosen by a hash of
 * the user id, each with its own mutex, so that all of one user's streams are under one lock.
 * Everything sent to a user's streams (the catch-up at connect, new notifications, unread
 * counts) is sent with that lock held, so a tab sees events in the order they were produced.
 *
 * Who sends:
 *  - notif_stream() at connect: `unread` with the count, then the notifications newer than the
 *    Last-Event-ID the browser sends when it reconnects (those it missed).
 *  - push_event(), woken (notif_wake) once an event's notifications committed, in any process:
 *    each new notification (`notification`, id = its id) and the recipient's new `unread` count.
 *  - push_unread(), woken after read, read-all and delete, so other tabs update their badge.
 *
 * Lifetime of a stream: sse_open() gives two references to the sse_stream handle, one kept
 * by the connection and one by us; ours belongs to the hub while the stream is listed there. The
 * struct stream itself is shared by the connection's on_close callback and the handler that
 * registers it (refs = 2): it is freed by whichever finishes last, under the stripe's lock. So
 * on_close never frees what the handler is still using, and a stream whose client left before it
 * was registered is released by the handler instead of being listed.
 *
 * This relies on sse_send() never calling on_close on the calling thread (sse.h: on_close
 * runs on a server thread when the client goes away), since sends happen under the stripe lock
 * that on_close takes.
 *
 * Across processes: notif_applied() and notif_push_unread() do not push themselves; they send a
 * wake-up (core/wake.h: NOTIFY on PostgreSQL, a direct call on SQLite) that every process running
 * the service receives in notif_wake(), which pushes to the streams held there. So a tab connected
 * to any process hears of a notification made by the consumer of another (docs/deploy.md).
 */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/err.h"
#include "core/log.h"
#include "core/sse.h"
#include "core/util.h"
#include "core/wake.h"
#include "core/sql.h"

#define HUB_STRIPES 64
#define STREAMS_PER_USER 8
/* At most this many missed notifications are sent at reconnect; the client lists the rest. */
#define REPLAY_MAX 200

struct stream {
	sse_stream *sse;
	char user[37];
	unsigned stripe;
	uint64_t opened; /* order of opening, to find a user's oldest stream */
	int refs;        /* the registering handler and on_close */
	int closed;      /* on_close ran */
	int listed;      /* in the hub, which then owns our reference to sse */
	struct stream *next;
};

static struct stripe {
	pthread_mutex_t lock;
	struct stream *head;
} hub[HUB_STRIPES];

static pthread_once_t hub_once = PTHREAD_ONCE_INIT;
static atomic_long hub_streams;
static atomic_uint_fast64_t hub_opened;

static void hub_init(void)
{
	for (int i = 0; i < HUB_STRIPES; i++)
		pthread_mutex_init(&hub[i].lock, NULL);
}

static unsigned stripe_of(const char *user)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)user; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % HUB_STRIPES;
}

/* Unlinks st from its stripe (lock held). */
static void unlink_stream(struct stripe *sp, struct stream *st)
{
	for (struct stream **pp = &sp->head; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			st->listed = 0;
			atomic_fetch_sub(&hub_streams, 1);
			return;
		}
}

/* Drops one reference to st (lock held); 1 when the caller must free it after unlocking. */
static int drop_ref(struct stream *st) { return --st->refs == 0; }

static void on_close(sse_stream *s, void *ctx)
{
	struct stream *st = ctx;
	struct stripe *sp = &hub[st->stripe];
	pthread_mutex_lock(&sp->lock);
	st->closed = 1;
	int release = st->listed;
	if (release)
		unlink_stream(sp, st);
	int last = drop_ref(st);
	pthread_mutex_unlock(&sp->lock);
	if (release)
		sse_release(s);
	if (last)
		free(st);
}

/* Whether user has an open stream here (lock held). */
static int has_streams(struct stripe *sp, const char *user)
{
	for (struct stream *st = sp->head; st; st = st->next)
		if (!strcmp(st->user, user))
			return 1;
	return 0;
}

/* Sends one event to every stream of user (lock held). */
static void send_user(struct stripe *sp, const char *user, const char *event, const char *id, const char *data)
{
	for (struct stream *st = sp->head; st; st = st->next)
		if (!strcmp(st->user, user))
			sse_send(st->sse, event, id, data);
}

/* {"count":n} for user into out; 0 or a negative ent_err. */
static int unread_json(db_conn *c, const char *user, char out[48])
{
	int64_t n = c ? notif_unread_count(c, user) : ENT_EUNAVAIL;
	if (n < 0)
		return (int)n;
	snprintf(out, 48, "{\"count\":%lld}", (long long)n);
	return ENT_OK;
}

/* The notification of the current row of s as JSON text (malloc'd), or NULL. */
static char *row_json(db_stmt *s)
{
	jwbuf j;
	notif_write_row(jwbuf_init(&j, 1 << 20), s);
	size_t len;
	return buf_take(&j.b, &len);
}

/*
 * Sends the notifications of user newer than the one with id last (those a reconnecting client
 * missed), oldest first, to st (lock held). Nothing when last is not one of the user's.
 */
static int replay(db_conn *c, struct stream *st, const char *last)
{
	db_stmt *s = SQL_PREP(c, "SELECT created_us FROM notifications WHERE id = ? AND user_id = ?", SQL_T(last),
			      SQL_T(st->user));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	int64_t us = rc == DB_ROW ? db_col_int64(s, 0) : 0;
	db_done(s);
	if (rc != DB_ROW)
		return rc < 0 ? rc : ENT_OK;
	s = SQL_PREP(c,
		     "SELECT " NOTIF_COLS " FROM notifications WHERE user_id = ? AND (created_us > ? OR "
		     "(created_us = ? AND id > ?)) ORDER BY created_us, id LIMIT ?",
		     SQL_T(st->user), SQL_I(us), SQL_I(us), SQL_T(last), SQL_I(REPLAY_MAX));
	if (!s)
		return ENT_EDB;
	while ((rc = db_step(s)) == DB_ROW) {
		char *json = row_json(s);
		if (json)
			sse_send(st->sse, "notification", db_col_text(s, 0), json);
		free(json);
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

void notif_stream(http_req *req)
{
	pthread_once(&hub_once, hub_init);
	const struct http_principal *p = http_principal(req);
	db_conn *c = http_db(req);
	if (!c)
		return;
	/* A Last-Event-ID that is not one of our ids is ignored, as for a first connection. */
	const char *last = http_header(req, "Last-Event-ID");
	if (last && !util_is_uuid(last))
		last = NULL;
	struct stream *st = calloc(1, sizeof(*st));
	if (!st)
		abort();
	snprintf(st->user, sizeof(st->user), "%s", p->sub);
	st->stripe = stripe_of(st->user);
	st->refs = 2;
	st->opened = atomic_fetch_add(&hub_opened, 1);
	st->sse = sse_open(req, on_close, st);
	if (!st->sse) {
		free(st); /* answered 500; on_close never runs for a stream that was not opened */
		return;
	}
	struct stripe *sp = &hub[st->stripe];
	sse_stream *evicted = NULL;
	pthread_mutex_lock(&sp->lock);
	if (st->closed) {
		/* The client left already: our reference was never handed to the hub. */
		int last_ref = drop_ref(st);
		pthread_mutex_unlock(&sp->lock);
		sse_release(st->sse);
		if (last_ref)
			free(st);
		return;
	}
	int mine = 0;
	struct stream *oldest = NULL;
	for (struct stream *o = sp->head; o; o = o->next)
		if (!strcmp(o->user, st->user)) {
			mine++;
			if (!oldest || o->opened < oldest->opened)
				oldest = o;
		}
	if (mine >= STREAMS_PER_USER) {
		evicted = oldest->sse;
		unlink_stream(sp, oldest);
	}
	st->next = sp->head;
	sp->head = st;
	st->listed = 1;
	atomic_fetch_add(&hub_streams, 1);
	/*
	 * The catch-up is read and sent with the lock held, after the stream is listed: a notification
	 * committed before is counted (and replayed), one committed after is pushed by notif_applied()
	 * once we unlock (at worst twice: the client keeps one per id), never before the catch-up.
	 */
	char count[48];
	int rc = unread_json(c, st->user, count);
	if (!rc)
		sse_send(st->sse, "unread", NULL, count);
	if (!rc && last)
		rc = replay(c, st, last);
	if (rc)
		log_warn("notifications: a stream's catch-up could not be read: %s", ent_err_str(rc));
	int last_ref = drop_ref(st);
	pthread_mutex_unlock(&sp->lock);
	if (evicted) {
		sse_close(evicted); /* the oldest tab's stream ends; its on_close frees it */
		sse_release(evicted);
	}
	if (last_ref)
		free(st);
}

/* The user's new unread count to this process's streams of user_id. */
static void push_unread(const char *user_id)
{
	pthread_once(&hub_once, hub_init);
	if (atomic_load(&hub_streams) == 0)
		return;
	struct stripe *sp = &hub[stripe_of(user_id)];
	pthread_mutex_lock(&sp->lock);
	char count[48];
	if (has_streams(sp, user_id) && !unread_json(app_db(), user_id, count))
		send_user(sp, user_id, "unread", NULL, count);
	pthread_mutex_unlock(&sp->lock);
}

/* The notifications made from event_id to this process's streams of their recipients. */
static void push_event(const char *event_id)
{
	pthread_once(&hub_once, hub_init);
	if (atomic_load(&hub_streams) == 0)
		return;
	db_conn *c = app_db();
	if (!c)
		return;
	db_stmt *s = SQL_PREP(c, "SELECT " NOTIF_COLS " FROM notifications WHERE event_id = ?", SQL_T(event_id));
	if (!s)
		return;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *user = db_col_text(s, 9);
		struct stripe *sp = &hub[stripe_of(user)];
		pthread_mutex_lock(&sp->lock);
		if (has_streams(sp, user)) {
			char *json = row_json(s);
			char count[48];
			if (json)
				send_user(sp, user, "notification", db_col_text(s, 0), json);
			if (!unread_json(c, user, count))
				send_user(sp, user, "unread", NULL, count);
			free(json);
		}
		pthread_mutex_unlock(&sp->lock);
	}
	db_done(s);
	if (rc < 0)
		log_warn("notifications: the notifications of event %s could not be pushed: %s", event_id,
			 ent_err_str(rc));
}

/*
 * Every process holding streams hears of what changed, through a wake-up (core/wake.h): "e:" and
 * an event id (its notifications were committed), or "u:" and a user id (their unread count
 * changed). Each process then reads the database and pushes to the streams it holds.
 */
void notif_wake(const char *payload)
{
	if (!strncmp(payload, "e:", 2) && util_is_uuid(payload + 2))
		push_event(payload + 2);
	else if (!strncmp(payload, "u:", 2) && util_is_uuid(payload + 2))
		push_unread(payload + 2);
}

static void wake(char kind, const char *id)
{
	char payload[48];
	snprintf(payload, sizeof payload, "%c:%s", kind, id);
	wake_send("notifications", payload);
}

void notif_push_unread(const char *user_id) { wake('u', user_id); }

void notif_applied(const struct bus_event *ev) { wake('e', ev->id); }
