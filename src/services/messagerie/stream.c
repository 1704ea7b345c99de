/*
 * stream.c - GET /api/messages/stream: Server-Sent Events carrying a user's new messages as they
 * are delivered (`message`, id = the message id, data = the list item of the recipient's copy
 * without the addresses), recalls (`recalled`, data {"id"}) and the inbox's unread count
 * (`unread`, data {"count"}, as in GET /api/messages/folders: at connect, then after each change
 * of it made through this process: a delivery, a read mark, a move, a deletion, a recall).
 *
 * A hub lists the open streams with their user, under one mutex (a user has a few tabs at most,
 * STREAMS_PER_USER; the oldest is ended when one more opens). msg_push() is called by the sender's
 * request (or the scheduler) after its transaction committed, so a recipient's tab hears of the
 * message as soon as it exists. Only this process's streams are reached: with several processes
 * behind a load balancer, a tab connected to another process learns of the message through the
 * notifications stream (the bus event) or its next list.
 *
 * Lifetime, as in the notifications hub: sse_open() gives two references to the sse handle, one
 * for the connection and one for us; ours belongs to the hub while the stream is listed. The
 * struct stream is shared by on_close and the registering handler (refs = 2) and freed by the last
 * of them, under the hub's lock. sse_send() never calls on_close, so sending under the lock is safe.
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/sse.h"

#define STREAMS_PER_USER 8

struct stream {
	sse_stream *sse;
	char user[37];
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

int64_t msg_unread_count(db_conn *c, const char *user)
{
	db_stmt *s = db_prepare(c, "SELECT COUNT(*) FROM message_boxes WHERE user_id = ? AND folder = 'inbox'"
				   " AND visible = 1 AND read_at IS NULL");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, user);
	int rc = db_step(s);
	int64_t n = rc == DB_ROW ? db_col_int64(s, 0) : rc;
	db_done(s);
	return rc < 0 ? rc : n;
}

void msg_push_unread(db_conn *c, const char *const *users, size_t n)
{
	if (!c)
		return;
	/* Only the users with a stream open here are counted. */
	char(*open)[37] = NULL;
	size_t nopen = 0;
	pthread_mutex_lock(&hub_lock);
	for (size_t i = 0; i < n; i++)
		for (struct stream *st = hub; st; st = st->next)
			if (!strcmp(st->user, users[i])) {
				char(*grown)[37] = realloc(open, (nopen + 1) * sizeof(*open));
				if (!grown)
					abort();
				open = grown;
				snprintf(open[nopen++], 37, "%s", users[i]);
				break;
			}
	pthread_mutex_unlock(&hub_lock);
	for (size_t i = 0; i < nopen; i++) {
		int64_t count = msg_unread_count(c, open[i]);
		if (count < 0)
			continue;
		char data[48];
		snprintf(data, sizeof(data), "{\"count\":%lld}", (long long)count);
		const char *one = open[i];
		msg_push(&one, 1, "unread", NULL, data);
	}
	free(open);
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
	struct stream *st = calloc(1, sizeof(*st));
	if (!st)
		abort();
	snprintf(st->user, sizeof(st->user), "%s", p->sub);
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
	/* A first event, so the client knows the stream is live before any message arrives. */
	sse_send(st->sse, "ready", NULL, "{}");
	char data[48];
	snprintf(data, sizeof(data), "{\"count\":%lld}", (long long)unread);
	sse_send(st->sse, "unread", NULL, data);
	int last = --st->refs == 0;
	pthread_mutex_unlock(&hub_lock);
	if (evicted) {
		sse_close(evicted);
		sse_release(evicted);
	}
	if (last)
		free(st);
}

void msg_push(const char *const *users, size_t n, const char *event, const char *id, const char *data)
{
	pthread_mutex_lock(&hub_lock);
	for (struct stream *st = hub; st; st = st->next)
		for (size_t i = 0; i < n; i++)
			if (!strcmp(st->user, users[i])) {
				sse_send(st->sse, event, id, data);
				break;
			}
	pthread_mutex_unlock(&hub_lock);
}
