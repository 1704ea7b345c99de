/*
 * sse.c - Server-Sent Events (see sse.h).
 *
 * A stream is a libmicrohttpd answer of unknown size whose reader callback (sse_read) hands out
 * the bytes queued by sse_send() and, when there are none, suspends the connection until the
 * next send resumes it. Each stream has its own lock over its queue; the list of open streams
 * has one more, taken by the watch thread and by opening and ending streams. A stream's memory
 * is counted: the connection holds one reference (dropped in sse_gone, when libmicrohttpd is
 * done with the answer) and the caller one. Never call on_close with a stream's lock held, and
 * never from sse_send(): callers send while holding their own locks.
 */
#include "sse.h"

#include "buf.h"
#include "http_internal.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define SSE_MAX_QUEUED (1u << 20)
#define SSE_HEARTBEAT 15 /* seconds */
#define SSE_PEER_CHECK 1 /* seconds */

struct sse_stream {
	pthread_mutex_t mu;
	struct MHD_Connection *conn;
	int refs;      /* the connection's and the caller's */
	int closed;    /* no more sends: the client left, the queue overflowed, or the server stops */
	int suspended; /* waiting for data: resumed by the next send */
	char *q;       /* queued bytes q[off..len) */
	size_t len, off, cap;
	void (*on_close)(sse_stream *s, void *ctx);
	void *ctx;
	sse_stream *prev, *next; /* the list of open streams */
};

static pthread_mutex_t sse_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sse_cond = PTHREAD_COND_INITIALIZER;
static sse_stream *sse_list;
static long sse_open_n;
static int sse_stopping;
static pthread_t sse_thread;
static int sse_thread_running;

long sse_count(void)
{
	pthread_mutex_lock(&sse_mu);
	long n = sse_open_n;
	pthread_mutex_unlock(&sse_mu);
	return n;
}

void sse_release(sse_stream *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	int last = --s->refs == 0;
	pthread_mutex_unlock(&s->mu);
	if (!last)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->q);
	free(s);
}

/* Wakes the connection when it waits for data (s->mu held). */
static void sse_wake(sse_stream *s)
{
	if (s->suspended) {
		s->suspended = 0;
		MHD_resume_connection(s->conn);
	}
}

/* Appends raw bytes (s->mu held). Returns 0, or -1 when closed or over the limit (then closed). */
static int sse_append(sse_stream *s, const char *data, size_t n)
{
	if (s->closed)
		return -1;
	if (s->off > 0 && s->off == s->len)
		s->off = s->len = 0;
	if (s->len - s->off + n > SSE_MAX_QUEUED) {
		log_warn("http: an event stream's client does not read; closing it");
		s->closed = 1;
		sse_wake(s);
		return -1;
	}
	if (s->len + n > s->cap) {
		if (s->off > 0) { /* compact before growing */
			memmove(s->q, s->q + s->off, s->len - s->off);
			s->len -= s->off;
			s->off = 0;
		}
		size_t cap = s->cap ? s->cap : 1024;
		while (cap < s->len + n)
			cap *= 2;
		char *q = realloc(s->q, cap);
		if (!q)
			return -1;
		s->q = q;
		s->cap = cap;
	}
	memcpy(s->q + s->len, data, n);
	s->len += n;
	sse_wake(s);
	return 0;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	sse_stream *s = cls;
	pthread_mutex_lock(&s->mu);
	ssize_t n = 0;
	if (s->len > s->off) {
		size_t k = s->len - s->off < max ? s->len - s->off : max;
		memcpy(out, s->q + s->off, k);
		s->off += k;
		n = (ssize_t)k;
	} else if (s->closed) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		/* Nothing to send: leave the event loop until a send (or the heartbeat) resumes us. */
		s->suspended = 1;
		MHD_suspend_connection(s->conn);
	}
	pthread_mutex_unlock(&s->mu);
	return n;
}

static void sse_gone(void *cls)
{
	sse_stream *s = cls;
	pthread_mutex_lock(&sse_mu);
	if (s->prev)
		s->prev->next = s->next;
	else
		sse_list = s->next;
	if (s->next)
		s->next->prev = s->prev;
	sse_open_n--;
	pthread_mutex_unlock(&sse_mu);
	pthread_mutex_lock(&s->mu);
	s->closed = 1;
	s->suspended = 0;
	void (*cb)(sse_stream *, void *) = s->on_close;
	s->on_close = NULL;
	pthread_mutex_unlock(&s->mu);
	if (cb)
		cb(s, s->ctx);
	sse_release(s);
}

/*
 * A suspended connection is out of libmicrohttpd's event loop, so a client that leaves is not
 * noticed there. Every SSE_PEER_CHECK seconds this thread peeks at each waiting stream's socket
 * (end of file or an error: the client is gone) and ends it; every SSE_HEARTBEAT seconds it sends a
 * comment line on every stream.
 */
static int sse_peer_gone(sse_stream *s)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return 0;
	char c;
	ssize_t n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void *sse_heartbeat(void *arg)
{
	(void)arg;
	unsigned ticks = 0;
	pthread_mutex_lock(&sse_mu);
	while (!sse_stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += SSE_PEER_CHECK;
		pthread_cond_timedwait(&sse_cond, &sse_mu, &until);
		if (sse_stopping)
			break;
		int beat = ++ticks % (SSE_HEARTBEAT / SSE_PEER_CHECK) == 0;
		for (sse_stream *s = sse_list; s; s = s->next) {
			pthread_mutex_lock(&s->mu);
			if (s->suspended && !s->closed && sse_peer_gone(s)) {
				s->closed = 1;
				sse_wake(s);
			} else if (beat) {
				sse_append(s, ":\n\n", 3);
			}
			pthread_mutex_unlock(&s->mu);
		}
	}
	/* The server stops: end every stream, so that no connection stays suspended. */
	for (sse_stream *s = sse_list; s; s = s->next) {
		pthread_mutex_lock(&s->mu);
		s->closed = 1;
		sse_wake(s);
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_unlock(&sse_mu);
	return NULL;
}

sse_stream *sse_open(http_req *req, void (*on_close)(sse_stream *s, void *ctx), void *ctx)
{
	if (http_answered(req))
		return NULL;
	sse_stream *s = calloc(1, sizeof(*s));
	if (!s) {
		http_problem(req, 500, "Le serveur manque de mémoire : réessayez dans un instant.");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	s->conn = http__conn(req);
	s->refs = 2;
	s->on_close = on_close;
	s->ctx = ctx;
	/* Reconnect after 3 s if the stream breaks. */
	sse_append(s, "retry: 3000\n\n", 13);
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_gone);
	if (!r) {
		free(s->q);
		free(s);
		http_problem(req, 500, "Le serveur manque de mémoire : réessayez dans un instant.");
		return NULL;
	}
	pthread_mutex_lock(&sse_mu);
	s->next = sse_list;
	if (sse_list)
		sse_list->prev = s;
	sse_list = s;
	sse_open_n++;
	if (sse_stopping)
		s->closed = 1;
	pthread_mutex_unlock(&sse_mu);
	MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	http_set_header(req, "Cache-Control", "no-cache, no-transform");
	http__queue(req, 200, r);
	return s;
}

void sse_close(sse_stream *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->closed = 1;
	sse_wake(s);
	pthread_mutex_unlock(&s->mu);
}

int sse_send(sse_stream *s, const char *event, const char *id, const char *data)
{
	if (!s)
		return -1;
	buf b;
	buf_init(&b, 0);
	if (event) {
		buf_addstr(&b, "event: ");
		buf_addstr(&b, event);
		buf_addc(&b, '\n');
	}
	if (id) {
		buf_addstr(&b, "id: ");
		buf_addstr(&b, id);
		buf_addc(&b, '\n');
	}
	const char *p = data ? data : "";
	do {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		buf_addstr(&b, "data: ");
		buf_add(&b, p, n);
		buf_addc(&b, '\n');
		p = nl ? nl + 1 : p + n;
	} while (*p);
	buf_addc(&b, '\n');
	int rc = -1;
	if (!b.failed) {
		pthread_mutex_lock(&s->mu);
		rc = sse_append(s, b.data, b.len);
		pthread_mutex_unlock(&s->mu);
	}
	buf_free(&b);
	return rc;
}

void sse__start(void)
{
	pthread_mutex_lock(&sse_mu);
	sse_stopping = 0;
	pthread_mutex_unlock(&sse_mu);
	if (pthread_create(&sse_thread, NULL, sse_heartbeat, NULL) == 0)
		sse_thread_running = 1;
}

void sse__stop(void)
{
	pthread_mutex_lock(&sse_mu);
	sse_stopping = 1;
	pthread_cond_signal(&sse_cond);
	pthread_mutex_unlock(&sse_mu);
	if (sse_thread_running) {
		pthread_join(sse_thread, NULL);
		sse_thread_running = 0;
	}
}
