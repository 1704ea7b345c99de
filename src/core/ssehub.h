/*
 * ssehub.h - the open Server-Sent Events streams of a service, by user: the bookkeeping the
 * messagerie's and the support desk's live streams share (sse.h gives one stream; this lists them).
 *
 *   static sse_hub hub = SSE_HUB_INIT(8);             // at most 8 streams a user (the oldest ends)
 *   sse_hub_open(&hub, req, user, roles, key, hello, ctx);   // answers req; hello sends the first events
 *   sse_hub_each(&hub, fn, ctx);                      // fn(member, ctx) for each stream, under the lock
 *
 * Lifetime: sse_open() gives two references to the sse handle, one for the connection and one for
 * the hub, which holds it while the stream is listed. The entry is shared by on_close and the
 * registering call (two references) and freed by the last of them, under the hub's lock, so a
 * client that leaves before its stream is listed is released by the registering call instead.
 * Everything fn and hello send goes out under the hub's lock, so a stream sees events in the order
 * they were sent; this relies on sse_send() never calling on_close (sse.h).
 */
#ifndef ENT_SSEHUB_H
#define ENT_SSEHUB_H

#include <pthread.h>

#include "http.h"
#include "sse.h"

/* One listed stream, as the callbacks see it. */
struct sse_hub_member {
	sse_stream *sse;
	char user[37];
	char key[40]; /* what the stream follows (a ticket id), "" when it is the user's own */
	unsigned roles;
};

struct sse_hub_entry;
typedef struct sse_hub {
	pthread_mutex_t lock;
	struct sse_hub_entry *head;
	unsigned long opened;
	int per_user;
} sse_hub;
#define SSE_HUB_INIT(per_user)                                                                                         \
	{                                                                                                              \
		PTHREAD_MUTEX_INITIALIZER, NULL, 0, (per_user)                                                         \
	}

/*
 * Answers req with an event stream of user (with ROLE_* bits roles) following key (NULL: none) and
 * lists it in h; the user's oldest stream ends when they have h->per_user already. hello(sse, ctx)
 * (may be NULL) sends the first events, before any other can reach the stream. Returns 0, or -1 when
 * the stream was not listed (answered 500, or its client already left).
 */
int sse_hub_open(sse_hub *h, http_req *req, const char *user, unsigned roles, const char *key,
		 void (*hello)(sse_stream *s, void *ctx), void *ctx);

/*
 * Calls fn(member, ctx) for each listed stream, under the hub's lock (fn may sse_send, never block
 * nor reach the hub again). fn returns 1 to end the stream (after what is queued), else 0.
 */
void sse_hub_each(sse_hub *h, int (*fn)(const struct sse_hub_member *m, void *ctx), void *ctx);

#endif
