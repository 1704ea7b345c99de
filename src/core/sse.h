/*
 * sse.h - Server-Sent Events: an answer (text/event-stream) that stays open and carries events
 * pushed from any thread. Notifications, messages and chatbot answers stream through it. A stream
 * lives in one process: what another process produces for it arrives through a wake-up (wake.h).
 *
 *   sse_stream *s = sse_open(req, on_close, ctx);   // answers the request; NULL: answered 500
 *   sse_send(s, "notification", id, json);          // from any thread; -1 once the stream is closed
 *   sse_close(s);                                    // optional: end it from the server's side
 *   ... on_close(s, ctx) runs once when the stream ends (client gone, sse_close, server stops):
 *       release the handle there, or earlier with sse_release() when no longer sending.
 *
 * While nothing is queued the connection is suspended (out of libmicrohttpd's event loop, no
 * thread held); a send resumes it. One thread, started with the server, looks every second whether
 * a waiting stream's client has gone (a suspended connection would not notice) and writes a
 * comment line every 15 s on every stream, so dead peers are found and proxies keep it open.
 * Events are queued up to 1 MiB per stream; beyond that the stream is closed (a client that does
 * not read). It must never block a sender on a slow client, and never call on_close from inside
 * sse_send() (a sender may hold its own lock).
 */
#ifndef ENT_SSE_H
#define ENT_SSE_H

#include "http.h"

typedef struct sse_stream sse_stream;

/*
 * Answers req with an event stream and returns its handle, holding two references: one for the
 * connection, one for the caller. on_close(s, ctx) runs once, on a server thread, when the stream
 * ends; sends after that return -1. Returns NULL (having answered 500) on allocation failure.
 */
sse_stream *sse_open(http_req *req, void (*on_close)(sse_stream *s, void *ctx), void *ctx);

/*
 * Queues one event: "event: EVENT\nid: ID\ndata: DATA\n\n" (event and id may be NULL; data may hold
 * newlines, split into data lines). Any thread. Returns 0, or -1 when the stream is closed.
 */
int sse_send(sse_stream *s, const char *event, const char *id, const char *data);

/* Ends the stream from the server's side after what is queued (on_close follows). Any thread. */
void sse_close(sse_stream *s);

/* Drops the caller's reference (the handle is freed with the last one). Accepts NULL. */
void sse_release(sse_stream *s);

/* Open streams in this process (for /metrics). */
long sse_count(void);

#endif
