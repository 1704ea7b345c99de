/*
 * ssehub.c - the open streams of a service, by user (ssehub.h has the lifetime rules).
 */
#include "ssehub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sse_hub_entry {
	struct sse_hub_member m;
	sse_hub *hub;
	unsigned long opened; /* order of opening, to find a user's oldest stream */
	int refs;             /* the registering call and on_close */
	int closed;           /* on_close ran */
	int listed;           /* in the hub, which then owns our reference to the sse handle */
	struct sse_hub_entry *next;
};

/* Takes e out of its hub's list. Under the hub's lock. */
static void unlink_entry(struct sse_hub_entry *e)
{
	for (struct sse_hub_entry **pp = &e->hub->head; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			e->listed = 0;
			return;
		}
}

static void on_close(sse_stream *s, void *ctx)
{
	struct sse_hub_entry *e = ctx;
	sse_hub *h = e->hub;
	pthread_mutex_lock(&h->lock);
	e->closed = 1;
	int release = e->listed;
	if (release)
		unlink_entry(e);
	int last = --e->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (release)
		sse_release(s);
	if (last)
		free(e);
}

int sse_hub_open(sse_hub *h, http_req *req, const char *user, unsigned roles, const char *key,
		 void (*hello)(sse_stream *s, void *ctx), void *ctx)
{
	struct sse_hub_entry *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	snprintf(e->m.user, sizeof(e->m.user), "%s", user);
	snprintf(e->m.key, sizeof(e->m.key), "%s", key ? key : "");
	e->m.roles = roles;
	e->hub = h;
	e->refs = 2;
	e->m.sse = sse_open(req, on_close, e);
	if (!e->m.sse) {
		free(e); /* answered 500; on_close never runs for a stream that was not opened */
		return -1;
	}
	sse_stream *evicted = NULL;
	pthread_mutex_lock(&h->lock);
	if (e->closed) {
		int last = --e->refs == 0;
		pthread_mutex_unlock(&h->lock);
		sse_release(e->m.sse);
		if (last)
			free(e);
		return -1;
	}
	int mine = 0;
	struct sse_hub_entry *oldest = NULL;
	for (struct sse_hub_entry *o = h->head; o; o = o->next)
		if (!strcmp(o->m.user, e->m.user)) {
			mine++;
			if (!oldest || o->opened < oldest->opened)
				oldest = o;
		}
	if (h->per_user > 0 && mine >= h->per_user) {
		evicted = oldest->m.sse;
		unlink_entry(oldest);
	}
	e->opened = h->opened++;
	e->next = h->head;
	h->head = e;
	e->listed = 1;
	if (hello)
		hello(e->m.sse, ctx);
	int last = --e->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (evicted) {
		sse_close(evicted);
		sse_release(evicted);
	}
	if (last)
		free(e);
	return 0;
}

void sse_hub_each(sse_hub *h, int (*fn)(const struct sse_hub_member *m, void *ctx), void *ctx)
{
	sse_stream **ended = NULL;
	size_t n = 0, cap = 0;
	pthread_mutex_lock(&h->lock);
	for (struct sse_hub_entry **pp = &h->head; *pp;) {
		struct sse_hub_entry *e = *pp;
		if (!fn(&e->m, ctx)) {
			pp = &e->next;
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			ended = realloc(ended, cap * sizeof(*ended));
			if (!ended)
				abort();
		}
		/* Unlisted here: on_close, when it runs, finds it so and drops only its own share. */
		ended[n++] = e->m.sse;
		*pp = e->next;
		e->listed = 0;
	}
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < n; i++) {
		sse_close(ended[i]);
		sse_release(ended[i]);
	}
	free(ended);
}
