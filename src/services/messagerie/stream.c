/*
 * stream.c - GET /api/messages/stream: Server-Sent Events carrying a user's new messages as they
 * are delivered (`message`, id = the message id, data = the list item of the recipient's copy
 * without the addresses), recalls (`recalled`, data {"id"}) and the inbox's unread count
 * (`unread`, data {"count"}, as in GET /api/messages/folders: at connect, then after each change
 * of it made through this process: a delivery, a read mark, a move, a deletion, a recall).
 *
 * A hub (core/ssehub.h) lists the open streams with their user (a user has a few tabs at most,
 * STREAMS_PER_USER; the oldest is ended when one more opens). msg_push() is called by the sender's
 * request (or the scheduler) after its transaction committed, so a recipient's tab hears of the
 * message as soon as it exists. It does not push itself: it sends a wake-up (core/wake.h, topic
 * "messages", the event and its recipients) that every process running the service receives in
 * msg_wake(), which pushes to the streams held there; so a tab connected to another process than
 * the sender's hears of it too.
 */
#include "internal.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/app.h"
#include "core/sse.h"
#include "core/ssehub.h"
#include "core/wake.h"
#include "core/sql.h"

#define STREAMS_PER_USER 8

static sse_hub hub = SSE_HUB_INIT(STREAMS_PER_USER);

int64_t msg_unread_count(db_conn *c, const char *user)
{
	db_stmt *s = SQL_PREP(c,
			      "SELECT COUNT(*) FROM message_boxes WHERE user_id = ? AND folder = 'inbox'"
			      " AND visible = 1 AND read_at IS NULL",
			      SQL_T(user));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	int64_t n = rc == DB_ROW ? db_col_int64(s, 0) : rc;
	db_done(s);
	return rc < 0 ? rc : n;
}

static void push_local(const char *const *users, size_t n, const char *event, const char *id, const char *data);

/*
 * The unread counts of those of the n users who have a stream open in this process, each pushed
 * as `unread` (counted here, after the change committed: every process counts for its own streams).
 */
/* Those of a list of users who have a stream open here (ids copied into open, nopen of them). */
struct who_open {
	const char *const *users;
	size_t n;
	char (*open)[37];
	size_t nopen;
};

static int note_open(const struct sse_hub_member *m, void *ctx)
{
	struct who_open *w = ctx;
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(m->user, w->users[i])) {
			for (size_t j = 0; j < w->nopen; j++)
				if (!strcmp(w->open[j], m->user))
					return 0;
			char(*grown)[37] = realloc(w->open, (w->nopen + 1) * sizeof(*w->open));
			if (!grown)
				abort();
			w->open = grown;
			snprintf(w->open[w->nopen++], 37, "%s", m->user);
			return 0;
		}
	return 0;
}

static void push_unread_local(const char *const *users, size_t n)
{
	db_conn *c = app_db();
	if (!c)
		return;
	struct who_open w = {.users = users, .n = n};
	sse_hub_each(&hub, note_open, &w);
	for (size_t i = 0; i < w.nopen; i++) {
		int64_t count = msg_unread_count(c, w.open[i]);
		if (count < 0)
			continue;
		char data[48];
		snprintf(data, sizeof(data), "{\"count\":%lld}", (long long)count);
		const char *one = w.open[i];
		push_local(&one, 1, "unread", NULL, data);
	}
	free(w.open);
}

/* An event for this process's streams: `unread` is counted here, any other is sent as it is. */
static void deliver(const char *const *users, size_t n, const char *event, const char *id, const char *data)
{
	if (strcmp(event, "unread") == 0)
		push_unread_local(users, n);
	else
		push_local(users, n, event, id, data);
}

void msg_push_unread(const char *const *users, size_t n) { msg_push(users, n, "unread", NULL, "{}"); }

/* A first event, so the client knows the stream is live before any message arrives; then the count. */
static void hello(sse_stream *s, void *ctx)
{
	sse_send(s, "ready", NULL, "{}");
	char data[48];
	snprintf(data, sizeof(data), "{\"count\":%lld}", (long long)*(const int64_t *)ctx);
	sse_send(s, "unread", NULL, data);
}

void msg_stream(http_req *req)
{
	const struct http_principal *p = http_principal(req);
	db_conn *c = http_db(req);
	if (!c)
		return;
	int64_t unread = msg_unread_count(c, p->sub);
	if (unread < 0) {
		http_problem_err(req, (int)unread, NULL);
		return;
	}
	sse_hub_open(&hub, req, p->sub, p->roles, NULL, hello, &unread);
}

/* Sends one event to this process's streams of the given users. */
struct one_event {
	const char *const *users;
	size_t n;
	const char *event, *id, *data;
};

static int send_one(const struct sse_hub_member *m, void *ctx)
{
	const struct one_event *e = ctx;
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(m->user, e->users[i])) {
			sse_send(m->sse, e->event, e->id, e->data);
			break;
		}
	return 0;
}

static void push_local(const char *const *users, size_t n, const char *event, const char *id, const char *data)
{
	struct one_event e = {users, n, event, id, data};
	sse_hub_each(&hub, send_one, &e);
}

/* {"e":event,"i":id,"d":data,"u":[users[from..to)]} as text (malloc'd), or NULL. */
static char *wake_payload(const char *const *users, size_t from, size_t to, const char *event, const char *id,
			  const char *data)
{
	json_t *u = json_array();
	for (size_t i = from; i < to; i++)
		json_array_append_new(u, json_string(users[i]));
	json_t *o = json_pack("{s:s, s:s?, s:s, s:o}", "e", event, "i", id, "d", data, "u", u);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/*
 * Every process holding streams hears of it through wake-ups (core/wake.h), as many as needed to
 * keep each under WAKE_MAX_PAYLOAD: the recipients are split in runs, each with the event.
 */
void msg_push(const char *const *users, size_t n, const char *event, const char *id, const char *data)
{
	size_t from = 0;
	while (from < n) {
		size_t to = n;
		char *text = wake_payload(users, from, to, event, id, data);
		/* Too long: halve the run until it fits (a run of one that does not fit is pushed here only). */
		while (text && strlen(text) > WAKE_MAX_PAYLOAD && to - from > 1) {
			free(text);
			to = from + (to - from) / 2;
			text = wake_payload(users, from, to, event, id, data);
		}
		if (text && strlen(text) <= WAKE_MAX_PAYLOAD) {
			wake_send("messages", text);
		} else {
			log_warn("messagerie: a %s event is too large to reach other processes' streams", event);
			deliver(users + from, to - from, event, id, data);
		}
		free(text);
		from = to;
	}
}

void msg_wake(const char *payload)
{
	json_t *o = json_loads(payload, 0, NULL);
	json_t *u = json_object_get(o, "u");
	const char *event = json_string_value(json_object_get(o, "e"));
	const char *id = json_string_value(json_object_get(o, "i"));
	const char *data = json_string_value(json_object_get(o, "d"));
	size_t n = json_array_size(u);
	if (event && data && n) {
		const char **users = calloc(n, sizeof(*users));
		if (!users)
			abort();
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (json_is_string(json_array_get(u, i)))
				users[k++] = json_string_value(json_array_get(u, i));
		deliver(users, k, event, id, data);
		free(users);
	}
	json_decref(o);
}
