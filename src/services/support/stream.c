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
 * The streams are listed in a core/ssehub.h hub (at most 8 a user, the oldest ends), keyed by
 * their ticket; what is sent goes out under the hub's lock, in order.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#include "core/app.h"
#include "core/err.h"
#include "core/ssehub.h"
#include "core/util.h"
#include "core/wake.h"

static sse_hub hub = SSE_HUB_INIT(8);

/* A first event, so the client knows the stream is live before anything changes. */
static void hello(sse_stream *s, void *ctx)
{
	char data[80];
	snprintf(data, sizeof(data), "{\"ticket_id\":\"%s\"}", (const char *)ctx);
	sse_send(s, "ready", NULL, data);
}

void sup_stream(http_req *req)
{
	struct sup_open x;
	if (sup_ticket_open(req, 0, &x))
		return;
	sse_hub_open(&hub, req, x.v.id, x.v.roles, x.t.col[T_ID], hello, (void *)x.t.col[T_ID]);
}

void sup_live(const char *ticket_id, const char *kind, int internal)
{
	char payload[128];
	snprintf(payload, sizeof(payload), "%s %s %d", ticket_id, kind, internal ? 1 : 0);
	wake_send("support", payload);
}

/* What one wake-up tells the streams of its ticket. */
struct tell {
	const char *ticket;
	const struct sup_ticket *t; /* NULL: the ticket is gone */
	int internal, any;
	char data[96];
};

static int follows(const struct sse_hub_member *m, void *ctx)
{
	struct tell *w = ctx;
	w->any |= !strcmp(m->key, w->ticket);
	return 0;
}

/* Tells m of the change if its user still sees the ticket; ends it (`gone`) if not. */
static int tell_one(const struct sse_hub_member *m, void *ctx)
{
	struct tell *w = ctx;
	if (strcmp(m->key, w->ticket))
		return 0;
	struct sup_viewer v = {.id = m->user, .roles = m->roles, .admin = (m->roles & ROLE_ADMIN) != 0};
	int rel = w->t ? sup_relation(&v, w->t) : 0;
	if (!rel) {
		sse_send(m->sse, "gone", NULL, w->data);
		return 1;
	}
	if (!w->internal || (rel & SUP_STAFF))
		sse_send(m->sse, "update", NULL, w->data);
	return 0;
}

/* "ticket kind internal": tells this process's streams of the ticket (see the top of the file). */
static void sup_wake(const char *payload)
{
	char ticket[37], kind[16];
	struct tell w = {.ticket = ticket};
	if (sscanf(payload, "%36s %15s %d", ticket, kind, &w.internal) != 3 || !util_is_uuid(ticket))
		return;
	sse_hub_each(&hub, follows, &w);
	if (!w.any)
		return;
	/* The ticket as it is now decides who still sees it. */
	db_conn *c = app_db();
	if (!c)
		return;
	arena *a = arena_new(4096);
	struct sup_ticket t;
	int rc = sup_ticket_get(c, a, ticket, &t);
	if (!rc || rc == ENT_ENOTFOUND) { /* else the page rereads when its stream reconnects */
		w.t = rc ? NULL : &t;
		snprintf(w.data, sizeof(w.data), "{\"ticket_id\":\"%s\",\"kind\":\"%s\"}", ticket, kind);
		sse_hub_each(&hub, tell_one, &w);
	}
	arena_free(a);
}

int sup_stream_start(void) { return wake_subscribe("support", sup_wake); }
