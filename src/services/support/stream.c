/*
 * stream.c - GET /api/support/tickets/{id}/stream: Server-Sent Events telling the people looking
 * at a ticket that it changed, so the portal rereads it without a reload: `ready` at connect, then
 * `update` with {"ticket_id", "kind"} (kind: "comment" a new answer or note, "ticket" a state or
 * field change, a rating, a revised grade, "attachment" a file attached). The event carries no
 * content: the page rereads through the API, which applies who sees what.
 *
 * A change calls sup_live() after its commit; it sends a wake-up (core/wake.h, topic "support")
 * that every process running the service receives in sup_wake(), which rereads the ticket and
 * tells each stream of it held there whose user still sees it (sup_relation: an assignment moved
 * away ends a teacher's stream with `gone`); an internal note only the ticket's staff.
 *
 * Lifetime, as in the messagerie's hub: sse_open() gives two references to the sse handle, one for
 * the connection and one for us; ours belongs to the hub while the stream is listed. The struct
 * stream is shared by on_close and the registering handler (refs = 2) and freed by the last of
 * them, under the hub's lock. sse_send() never calls on_close, so sending under the lock is safe.
 */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/err.h"
#include "core/sse.h"
#include "core/util.h"
#include "core/wake.h"

#define STREAMS_PER_USER 8

struct stream {
	sse_stream *sse;
	char ticket[37], user[37];
	unsigned roles;
	unsigned long opened;
	int refs, closed, listed;
	struct stream *next;
};

static pthread_mutex_t hub_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stream *hub;
static unsigned long hub_opened;

static void unlink_stream(struct stream *st)
{
	for (struct stream **pp = &hub; *pp; pp = &(*pp)->next)
		if (*pp == st) {
			*pp = st->next;
			st->listed = 0;
			return;
		}
}

static void on_close(sse_stream *s, void *ctx)
{
	struct stream *st = ctx;
	pthread_mutex_lock(&hub_lock);
	st->closed = 1;
	int release = st->listed;
	if (release)
		unlink_stream(st);
	int last = --st->refs == 0;
	pthread_mutex_unlock(&hub_lock);
	if (release)
		sse_release(s);
	if (last)
		free(st);
}

void sup_stream(http_req *req)
{
	struct sup_open x;
	if (sup_ticket_open(req, 0, &x))
		return;
	struct stream *st = calloc(1, sizeof(*st));
	if (!st)
		abort();
	snprintf(st->ticket, sizeof(st->ticket), "%s", x.t.col[T_ID]);
	snprintf(st->user, sizeof(st->user), "%s", x.v.id);
	st->roles = x.v.roles;
	st->refs = 2;
	st->sse = sse_open(req, on_close, st);
	if (!st->sse) {
		free(st); /* answered 500; on_close never runs for a stream that was not opened */
		return;
	}
	sse_stream *evicted = NULL;
	pthread_mutex_lock(&hub_lock);
	if (st->closed) {
		int last = --st->refs == 0;
		pthread_mutex_unlock(&hub_lock);
		sse_release(st->sse);
		if (last)
			free(st);
		return;
	}
	/* A user has a few tabs at most: the oldest of their streams ends when one more opens. */
	int mine = 0;
	struct stream *oldest = NULL;
	for (struct stream *o = hub; o; o = o->next)
		if (!strcmp(o->user, st->user)) {
			mine++;
			if (!oldest || o->opened < oldest->opened)
				oldest = o;
		}
	if (mine >= STREAMS_PER_USER) {
		evicted = oldest->sse;
		unlink_stream(oldest);
	}
	st->opened = hub_opened++;
	st->next = hub;
	hub = st;
	st->listed = 1;
	/* A first event, so the client knows the stream is live before anything changes. */
	char data[80];
	snprintf(data, sizeof(data), "{\"ticket_id\":\"%s\"}", st->ticket);
	sse_send(st->sse, "ready", NULL, data);
	int last = --st->refs == 0;
	pthread_mutex_unlock(&hub_lock);
	if (evicted) {
		sse_close(evicted);
		sse_release(evicted);
	}
	if (last)
		free(st);
}

void sup_live(const char *ticket_id, const char *kind, int internal)
{
	char payload[128];
	snprintf(payload, sizeof(payload), "%s %s %d", ticket_id, kind, internal ? 1 : 0);
	wake_send("support", payload);
}

/* "ticket kind internal": tells this process's streams of the ticket (see the top of the file). */
static void sup_wake(const char *payload)
{
	char ticket[37], kind[16];
	int internal = 0;
	if (sscanf(payload, "%36s %15s %d", ticket, kind, &internal) != 3 || !util_is_uuid(ticket))
		return;
	pthread_mutex_lock(&hub_lock);
	int any = 0;
	for (struct stream *st = hub; st && !any; st = st->next)
		any = !strcmp(st->ticket, ticket);
	pthread_mutex_unlock(&hub_lock);
	if (!any)
		return;
	/* The ticket as it is now decides who still sees it. */
	db_conn *c = app_db();
	if (!c)
		return;
	arena *a = arena_new(4096);
	struct sup_ticket t;
	int rc = sup_ticket_get(c, a, ticket, &t);
	if (rc && rc != ENT_ENOTFOUND) {
		arena_free(a);
		return; /* the page rereads when its stream reconnects */
	}
	char data[96];
	snprintf(data, sizeof(data), "{\"ticket_id\":\"%s\",\"kind\":\"%s\"}", ticket, kind);
	sse_stream *gone[STREAMS_PER_USER * 4];
	size_t ngone = 0;
	pthread_mutex_lock(&hub_lock);
	for (struct stream **pp = &hub; *pp;) {
		struct stream *st = *pp;
		if (strcmp(st->ticket, ticket)) {
			pp = &st->next;
			continue;
		}
		struct sup_viewer v = {.id = st->user, .roles = st->roles, .admin = (st->roles & ROLE_ADMIN) != 0};
		int rel = rc ? 0 : sup_relation(&v, &t);
		if (!rel && ngone < sizeof(gone) / sizeof(gone[0])) {
			/* No longer theirs (deleted, assigned to someone else): the stream ends. */
			sse_send(st->sse, "gone", NULL, data);
			gone[ngone++] = st->sse;
			*pp = st->next;
			st->listed = 0;
			continue;
		}
		if (rel && (!internal || (rel & SUP_STAFF)))
			sse_send(st->sse, "update", NULL, data);
		pp = &st->next;
	}
	pthread_mutex_unlock(&hub_lock);
	for (size_t i = 0; i < ngone; i++) {
		sse_close(gone[i]);
		sse_release(gone[i]);
	}
	arena_free(a);
}

int sup_stream_start(void) { return wake_subscribe("support", sup_wake); }
