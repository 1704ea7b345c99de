/*
 * http.c - the request lifecycle on libmicrohttpd.
 *
 * 1. MHD parses the request line and calls uri_start(): the request context and its arena are
 *    created, the raw URI's length is kept for the 414 check.
 * 2. First call of on_request(): headers are complete. Limits (414, 431, 413 on Content-Length)
 *    are enforced and answered at once (the connection is then closed: the body is never read),
 *    but for a Content-Length over the route's limit and up to DRAIN_MAX without "Expect:
 *    100-continue": that body is read and dropped, and 413 answered at its end (a close on
 *    unread bytes would reset the connection before the client reads its answer).
 *    The route is looked up. Nothing is queued otherwise: queueing on this first call would make
 *    MHD close the connection, which costs keep-alive (see docs/request-lifecycle.md).
 * 3. Following calls deliver the body in pieces; it is appended to a buffer capped at the route's
 *    limit (413 when passed).
 * 4. Last call: 404/405 for unknown routes, the access guard and the role check, then the
 *    handler, which answers through http_reply_* or http_problem*.
 * 5. on_completed(): one access-log line, the metrics, and the arena is freed.
 *
 * One reading of a request: what a proxy in front could read differently from libmicrohttpd
 * (two Content-Length, Content-Length with Transfer-Encoding, a coding other than chunked, a
 * header name with a space, no Host or two, a NUL or a control byte in the target) is answered
 * 400 with Connection: close at step 2, so nothing after the head is read as another request.
 *
 * Slow clients: libmicrohttpd only has an inactivity timeout, which each byte restarts. Every
 * connection is tracked (struct conn_track) with the phase of its current request and when that
 * phase began; a reaper thread shuts down the connections still sending their head past the
 * deadline, or sending a body slower than the minimum rate. A request being handled or answered
 * (a download, an event stream) is never cut by it.
 *
 * Every answer gets the common headers: X-Request-Id, the seed's security headers, and gzip when
 * the client accepts it and the body is worth compressing.
 */
#include "http.h"

#include "app.h"
#include "http_internal.h"
#include "err.h"
#include "form.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "router.h"
#include "sse.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_URI 8192           /* longer request targets: 414 */
#define MAX_HEADERS 100        /* more header fields: 431 */
#define MAX_HEADER_BYTES 16384 /* more header bytes: 431 */
/*
 * libmicrohttpd zeroes each connection's pool between keep-alive requests: 32 KiB holds the
 * largest request head we accept (8 KiB target + 16 KiB of headers) and halves that cost.
 */
#define CONN_MEMORY (32 * 1024)
#define GZIP_MIN 1024 /* smaller bodies are not worth compressing */
#define DEFAULT_MAX_BODY (1u << 20)
#define DRAIN_MAX (64u << 20)       /* a too-large chunked body is read and dropped up to this */
#define DEFAULT_HEADER_TIMEOUT 15u  /* seconds to send a request head */
#define DEFAULT_BODY_MIN_RATE 1024u /* bytes per second a body must keep after that */
#define REAP_EVERY_MS 500           /* how often the reaper looks */

/*
 * A connection, from accept (NOTIFY_CONNECTION) to its close. The worker thread that owns the
 * connection moves it from phase to phase; the reaper only reads the phases and times, and
 * shuts the socket down. The list itself is guarded by the server's trk_mu, which the close
 * notification also takes: a socket is never shut down after libmicrohttpd closed it (its
 * number could belong to another file by then).
 */
enum {
	PHASE_HEAD, /* waiting for a request or reading its head; since: accept or the previous answer's end */
	PHASE_BODY, /* reading a body; since: the end of its head */
	PHASE_BUSY, /* handled or answered: never cut by the reaper */
};

struct conn_track {
	struct conn_track *prev, *next;
	int fd;
	int cut; /* shut down already (reaper only) */
	atomic_int phase;
	atomic_uint_fast64_t since_ms; /* monotonic, when the phase began */
	atomic_uint_fast64_t body_bytes;
	/*
	 * The request begun on it (uri_start) and not completed yet. libmicrohttpd does not always
	 * report the end of a request it refused itself after uri_start (a query string with more
	 * arguments than the connection's memory holds): the close frees it then.
	 */
	http_req *req;
};

static void req_free(http_req *req);

struct hdr {
	struct hdr *next;
	const char *name, *value;
};

struct http_req {
	struct MHD_Connection *conn;
	http_server *srv;
	struct conn_track *trk; /* the connection's, or NULL */
	const char *bad_target; /* why the raw request target is refused (uri_start), or NULL */
	arena *a;
	uint64_t start_ns;
	size_t uri_len;
	const char *method;
	const char *path;
	char request_id[65];
	char ip[INET6_ADDRSTRLEN];
	int started; /* first call of on_request done */
	int match_rc;
	struct router_match m;
	size_t max_body;
	buf body;
	int too_big;        /* the body passed max_body while being read */
	uint64_t streamed;  /* bytes handed to on_body */
	int64_t body_len;   /* Content-Length, -1 when none (chunked, or no body) */
	uint64_t body_seen; /* body bytes libmicrohttpd has handed over */
	size_t drained;     /* bytes discarded since */
	int answered;
	int status;
	size_t bytes_out;
	struct hdr *headers;
	struct http_principal principal;
	int has_principal;
	int stream_status; /* an on_body refusal: its status, code (NULL: the status's) and detail */
	const char *stream_code;
	const char *stream_detail;
	void *data;
	buf out; /* the answer written with http_jw() */
	jw out_w;
	int has_out;
	http_reply_hook reply_hook; /* the read cache's (rcache.c), or NULL */
	void *reply_hook_ctx;
	http_later_fn later; /* a deferred answer's finish (http_defer), until it ran */
	void *later_ctx;
	int later_state; /* LATER_*, under later_mu */
};

/* A deferred answer: its work runs (RUNNING), is done before the handler returned (READY), waits
 * with its connection suspended (SUSPENDED), was resumed (RESUMED), or its connection ended first (GONE). */
enum { LATER_RUNNING = 1, LATER_READY, LATER_SUSPENDED, LATER_RESUMED, LATER_GONE };
static pthread_mutex_t later_mu = PTHREAD_MUTEX_INITIALIZER;
static long later_n; /* deferred answers not finished */
static atomic_int stopping;

struct http_server {
	struct MHD_Daemon *d;
	int fd;
	unsigned port;
	size_t max_body;
	int hsts;
	uint64_t header_ms;     /* the head deadline */
	uint64_t body_min_rate; /* bytes per second */
	pthread_mutex_t trk_mu; /* the list of connections */
	struct conn_track *trk_list;
	pthread_cond_t reap_cond;
	int reap_stop;
	pthread_t reaper;
	int reaper_running;
};

static http_guard guard;
static atomic_long in_flight;

void http_set_guard(http_guard g) { guard = g; }
long http_in_flight(void) { return atomic_load(&in_flight); }

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}

const char *http_status_title(int status)
{
	switch (status) {
	case 400: return "Requête incorrecte";
	case 401: return "Connexion nécessaire";
	case 403: return "Accès refusé";
	case 404: return "Introuvable";
	case 405: return "Méthode non acceptée";
	case 406: return "Format non disponible";
	case 409: return "Conflit";
	case 410: return "N'existe plus";
	case 412: return "Condition préalable non remplie";
	case 413: return "Contenu trop volumineux";
	case 414: return "Adresse trop longue";
	case 415: return "Format non accepté";
	case 416: return "Plage d'octets impossible";
	case 422: return "Contenu impossible à traiter";
	case 429: return "Trop de demandes";
	case 431: return "En-têtes trop volumineux";
	case 500: return "Erreur interne du serveur";
	case 502: return "Passerelle en erreur";
	case 503: return "Service indisponible";
	case 504: return "Délai de la passerelle dépassé";
	default: return status >= 500 ? "Erreur du serveur" : "Erreur";
	}
}

/* ---- request accessors ---- */

const char *http_method(const http_req *req) { return req->method; }
const char *http_path(const http_req *req) { return req->path; }
const struct route *http_route(const http_req *req) { return req->m.route; }
const char *http_request_id(const http_req *req) { return req->request_id; }
arena *http_arena(http_req *req) { return req->a; }
int http_answered(const http_req *req) { return req->answered; }

const struct http_principal *http_principal(const http_req *req) { return req->has_principal ? &req->principal : NULL; }

const char *http_param(const http_req *req, const char *name)
{
	for (int i = 0; i < req->m.nparams; i++)
		if (strcmp(req->m.names[i], name) == 0)
			return req->m.values[i];
	return NULL;
}

const char *http_query(const http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(const http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_cookie(const http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

/* The one answer to a caller the guard did not accept: 503 when it could not decide, else 401. */
static void guard_refused(http_req *req, int rc)
{
	if (rc == ENT_EUNAVAIL || rc == ENT_EBUSY) {
		http_problem(req, 503,
			     "Le service d'authentification ou la base de données est injoignable : réessayez dans un "
			     "instant.");
		return;
	}
	http_set_header(req, "WWW-Authenticate", guard ? "Bearer error=\"invalid_token\"" : "Bearer");
	http_problem(req, 401,
		     guard ? "Votre session a expiré ou n'est pas valide : reconnectez-vous."
			   : "Une connexion est nécessaire : envoyez un jeton d'accès (Authorization: Bearer).");
}

int http_run_guard(http_req *req, const struct http_principal **out)
{
	*out = NULL;
	if (!req->has_principal) {
		int rc = guard ? guard(req, &req->principal) : ENT_EAUTH;
		if (rc != ENT_OK) {
			guard_refused(req, rc);
			return rc;
		}
		req->has_principal = 1;
	}
	*out = &req->principal;
	return ENT_OK;
}

const char *http_body(const http_req *req, size_t *len)
{
	if (len)
		*len = req->body.len;
	return req->body.data ? req->body.data : "";
}

static void fill_ip(http_req *req)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, req->ip,
				  sizeof(req->ip));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, req->ip,
				  sizeof(req->ip));
	}
	if (!req->ip[0])
		memcpy(req->ip, "unknown", 8);
}

/* Formatted on first use only: most requests never need it. */
const char *http_client_ip(const http_req *req)
{
	if (!req->ip[0])
		fill_ip((http_req *)req);
	return req->ip;
}

/* ---- responses ---- */

void http_set_header(http_req *req, const char *name, const char *value)
{
	struct hdr *h = arena_alloc(req->a, sizeof(*h));
	h->name = arena_strdup(req->a, name);
	h->value = arena_strdup(req->a, value);
	h->next = req->headers;
	req->headers = h;
}

void http_link_next(http_req *req, const char *next, const char *const *keep)
{
	if (!next)
		return;
	buf b;
	buf_init(&b, 8192);
	buf_addc(&b, '<');
	buf_addstr(&b, req->path);
	buf_addc(&b, '?');
	for (const char *const *k = keep; *k; k++) {
		const char *v = http_query(req, *k);
		if (!v)
			continue;
		buf_addstr(&b, *k);
		buf_addc(&b, '=');
		buf_addstr(&b, form_encode(req->a, v));
		buf_addc(&b, '&');
	}
	buf_addstr(&b, "cursor=");
	buf_addstr(&b, form_encode(req->a, next));
	buf_addstr(&b, ">; rel=\"next\"");
	if (!b.failed)
		http_set_header(req, "Link", b.data);
	buf_free(&b);
}

static const char *find_header(const http_req *req, const char *name)
{
	for (const struct hdr *h = req->headers; h; h = h->next)
		if (strcasecmp(h->name, name) == 0)
			return h->value;
	return NULL;
}

const char *http_reply_header(const http_req *req, const char *name) { return find_header(req, name); }

struct MHD_Connection *http__conn(http_req *req) { return req->conn; }

void http__queue(http_req *req, int status, struct MHD_Response *r)
{
	if (!r)
		abort();
	for (const struct hdr *h = req->headers; h; h = h->next)
		MHD_add_response_header(r, h->name, h->value);
	MHD_add_response_header(r, "X-Request-Id", req->request_id);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	if (!find_header(req, "Content-Security-Policy"))
		MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
	if (!find_header(req, "Cache-Control"))
		MHD_add_response_header(r, "Cache-Control", "no-store");
	if (req->srv && req->srv->hsts)
		MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
	/* A deferred answer whose connection ended (http_resume) is dropped. */
	if (req->conn && MHD_queue_response(req->conn, (unsigned)status, r) != MHD_YES)
		log_warn("could not queue a %d answer", status);
	MHD_destroy_response(r);
	req->answered = 1;
	req->status = status;
}

static int compressible(const char *type)
{
	return strncmp(type, "text/", 5) == 0 || strstr(type, "json") || strstr(type, "javascript") ||
	       strstr(type, "xml");
}

static int accepts_gzip(const http_req *req)
{
	const char *ae = http_header(req, "Accept-Encoding");
	if (!ae)
		return 0;
	/* "gzip" listed, and not explicitly refused with q=0. */
	const char *p = strstr(ae, "gzip");
	if (!p)
		return 0;
	const char *q = strstr(p, ";q=0");
	const char *comma = strchr(p, ',');
	if (q && (!comma || q < comma) &&
	    (q[4] == '\0' || q[4] == ',' || (q[4] == '.' && q[5] == '0' && (q[6] == '\0' || q[6] == ','))))
		return 0;
	return 1;
}

/* Gzip-compresses data into a new malloc'd buffer. NULL if it would not shrink. */
/*
 * Each worker thread keeps one deflate state and resets it between answers: deflateInit2 sets up
 * (and clears) about 256 KiB each time, which cost more than compressing a typical JSON page.
 * Level 1: JSON compresses well even at the fastest level, and the CPU goes to answering.
 */
static pthread_key_t zkey;
static pthread_once_t zonce = PTHREAD_ONCE_INIT;

static void zfree(void *p)
{
	deflateEnd(p);
	free(p);
}

static void zinit(void) { pthread_key_create(&zkey, zfree); }

static z_stream *thread_deflate(void)
{
	pthread_once(&zonce, zinit);
	z_stream *z = pthread_getspecific(zkey);
	if (z) {
		if (deflateReset(z) == Z_OK)
			return z;
		zfree(z);
		pthread_setspecific(zkey, NULL);
	}
	z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	if (deflateInit2(z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		return NULL;
	}
	pthread_setspecific(zkey, z);
	return z;
}

char *http_gzip(const char *data, size_t len, size_t *outlen)
{
	z_stream *z = thread_deflate();
	if (!z)
		return NULL;
	size_t cap = deflateBound(z, (uLong)len);
	char *out = malloc(cap);
	if (!out)
		abort();
	z->next_in = (Bytef *)data;
	z->avail_in = (uInt)len;
	z->next_out = (Bytef *)out;
	z->avail_out = (uInt)cap;
	int rc = deflate(z, Z_FINISH);
	*outlen = z->total_out;
	if (rc != Z_STREAM_END || *outlen >= len) {
		free(out);
		return NULL;
	}
	return out;
}

/* Takes ownership of data (malloc'd). */
static void reply_owned(http_req *req, int status, const char *type, char *data, size_t len)
{
	if (req->answered) {
		free(data);
		log_error("handler answered twice on %s", req->m.route ? req->m.route->pattern : req->path);
		return;
	}
	if (req->reply_hook) {
		http_reply_hook hook = req->reply_hook;
		req->reply_hook = NULL;
		if (hook(req, status, type, data, len, req->reply_hook_ctx)) {
			free(data);
			http_reply_empty(req, 304);
			return;
		}
	}
	int gz = 0;
	const char *cc = find_header(req, "Cache-Control");
	int no_transform = cc && strstr(cc, "no-transform");
	if (len >= GZIP_MIN && !no_transform && compressible(type) && accepts_gzip(req)) {
		size_t zlen;
		char *z = http_gzip(data, len, &zlen);
		if (z) {
			free(data);
			data = z;
			len = zlen;
			gz = 1;
		}
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", type);
	if (gz)
		MHD_add_response_header(r, "Content-Encoding", "gzip");
	if (gz || (len >= GZIP_MIN && compressible(type)))
		MHD_add_response_header(r, "Vary", "Accept-Encoding");
	req->bytes_out = len;
	http__queue(req, status, r);
}

void http_set_reply_hook(http_req *req, http_reply_hook fn, void *ctx)
{
	req->reply_hook = fn;
	req->reply_hook_ctx = ctx;
}

void *http_reply_hook_ctx(const http_req *req) { return req->reply_hook ? req->reply_hook_ctx : NULL; }

int http_accepts_gzip(const http_req *req) { return accepts_gzip(req); }

void http_reply_shared(http_req *req, int status, const char *type, const char *data, size_t n, int gzipped,
		       size_t plain_len, void (*done)(void *cls), void *cls)
{
	if (req->answered) {
		done(cls);
		return;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(n, (void *)data, done, cls);
	if (!r)
		abort();
	MHD_add_response_header(r, "Content-Type", type);
	if (gzipped)
		MHD_add_response_header(r, "Content-Encoding", "gzip");
	if (gzipped || (plain_len >= GZIP_MIN && compressible(type)))
		MHD_add_response_header(r, "Vary", "Accept-Encoding");
	req->bytes_out = n;
	http__queue(req, status, r);
}

void http_reply_data(http_req *req, int status, const char *content_type, const void *data, size_t len)
{
	char *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	if (len)
		memcpy(copy, data, len);
	reply_owned(req, status, content_type, copy, len);
}

void http_reply_buf(http_req *req, int status, const char *content_type, buf *b)
{
	if (b->failed) {
		http_problem(req, 500, "La réponse dépasse la taille maximale qu'un serveur envoie.");
		return;
	}
	size_t len;
	char *data = buf_take(b, &len);
	if (!data) {
		data = malloc(1);
		if (!data)
			abort();
		len = 0;
	}
	reply_owned(req, status, content_type, data, len);
}

jw *http_jw(http_req *req)
{
	if (!req->has_out) {
		buf_init(&req->out, 0);
		jw_init(&req->out_w, &req->out);
		req->has_out = 1;
	}
	return &req->out_w;
}

void http_reply_jw(http_req *req, int status) { http_reply_buf(req, status, "application/json", http_jw(req)->b); }

void http_reply_json(http_req *req, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!s) {
		http_problem(req, 500, "La réponse n'a pas pu être produite.");
		return;
	}
	/* jansson allocates with malloc by default, so MHD may free() it. */
	reply_owned(req, status, "application/json", s, strlen(s));
}

void http_reply_empty(http_req *req, int status)
{
	if (req->answered)
		return;
	struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	http__queue(req, status, r);
}

void http_reply_fd(http_req *req, int status, const char *content_type, int fd, uint64_t offset, uint64_t size)
{
	if (req->answered) {
		close(fd);
		return;
	}
	struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(size, fd, offset);
	MHD_add_response_header(r, "Content-Type", content_type);
	req->bytes_out = size;
	http__queue(req, status, r);
}

struct stream {
	http_read_fn read;
	void *ctx;
	void (*free_ctx)(void *);
};

static ssize_t stream_cb(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream *st = cls;
	long n = st->read(st->ctx, pos, out, max);
	if (n < 0) {
		log_warn("http: a streamed answer failed at byte %llu: %s", (unsigned long long)pos,
			 ent_err_str((int)n));
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;
	if (st->free_ctx)
		st->free_ctx(st->ctx);
	free(st);
}

void http_reply_stream(http_req *req, int status, const char *content_type, uint64_t size, http_read_fn read, void *ctx,
		       void (*free_ctx)(void *))
{
	if (req->answered) {
		if (free_ctx)
			free_ctx(ctx);
		return;
	}
	struct stream *st = malloc(sizeof(*st));
	if (!st)
		abort();
	st->read = read;
	st->ctx = ctx;
	st->free_ctx = free_ctx;
	/* 1 MiB pieces: few round trips to an object store, a bounded buffer per download. */
	struct MHD_Response *r = MHD_create_response_from_callback(size, 1u << 20, stream_cb, st, stream_free);
	MHD_add_response_header(r, "Content-Type", content_type);
	req->bytes_out = size;
	http__queue(req, status, r);
}

/* The stable code of a problem answered without one: a name for its status. */
static const char *status_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthenticated";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 406: return "not_acceptable";
	case 409: return "conflict";
	case 410: return "gone";
	case 412: return "precondition_failed";
	case 413: return "too_large";
	case 414: return "uri_too_long";
	case 415: return "unsupported_media_type";
	case 416: return "range_not_satisfiable";
	case 422: return "unprocessable";
	case 429: return "rate_limited";
	case 431: return "headers_too_large";
	case 503: return "unavailable";
	default: return status >= 500 ? "internal" : "error";
	}
}

static void problem_write(http_req *req, int status, const char *type, const char *title, const char *code,
			  const char *detail, json_t *errors)
{
	buf b;
	buf_init(&b, 0);
	jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_kstr(&w, "type", type);
	jw_kstr(&w, "title", title);
	jw_kint(&w, "status", status);
	jw_kstr(&w, "code", code ? code : status_code(status));
	jw_kstr(&w, "detail", detail);
	jw_kstr(&w, "instance", req->path);
	jw_kstr(&w, "request_id", req->request_id);
	if (errors) {
		/* errors: field -> message, as clients have always read it; codes: field -> code beside it. */
		const char *key;
		json_t *v;
		jw_key(&w, "errors");
		jw_obj_open(&w);
		json_object_foreach (errors, key, v) {
			const char *m = json_field_message(v);
			jw_kstr(&w, key, m ? m : "est invalide");
		}
		jw_obj_close(&w);
		jw_key(&w, "codes");
		jw_obj_open(&w);
		json_object_foreach (errors, key, v)
			jw_kstr(&w, key, json_field_code(v));
		jw_obj_close(&w);
	}
	jw_obj_close(&w);
	size_t len;
	char *data = buf_take(&b, &len);
	reply_owned(req, status, "application/problem+json", data, len);
}

void http_problem(http_req *req, int status, const char *detail)
{
	problem_write(req, status, "about:blank", http_status_title(status), NULL, detail, NULL);
}

void http_problem_code(http_req *req, int status, const char *code, const char *detail)
{
	problem_write(req, status, "about:blank", http_status_title(status), code, detail, NULL);
}

void http_problemf(http_req *req, int status, const char *fmt, ...)
{
	char detail[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	http_problem(req, status, detail);
}

void http_problem_errors(http_req *req, int status, const char *detail, json_t *errors)
{
	const char *code = status == 400 ? "validation" : NULL;
	/* One field error with its own code (a conflict on email): the problem takes that code. */
	if (!code && json_object_size(errors) == 1) {
		const char *key;
		json_t *v;
		json_object_foreach (errors, key, v)
			code = json_is_object(v) ? json_field_code(v) : NULL;
	}
	/* A 400 is about the fields; a 409 or a 403 on a field is first a conflict or a refusal. */
	problem_write(req, status, "urn:ent:problem:validation",
		      status == 400 ? "Champs invalides" : http_status_title(status), code, detail, errors);
	json_decref(errors);
}

void http_problem_err(http_req *req, int err, const char *detail)
{
	if (!detail)
		detail = ent_err_text(err);
	http_problem(req, ent_err_status(err), detail);
}

db_conn *http_db(http_req *req)
{
	db_conn *c = app_db();
	if (!c)
		http_problem(req, 503, "La base de données est injoignable : réessayez dans un instant.");
	return c;
}

int http_invalid(http_req *req, json_t *errors)
{
	if (json_object_size(errors) == 0) {
		json_decref(errors);
		return 0;
	}
	http_problem_errors(req, 400, "La requête contient des champs invalides.", errors);
	return 1;
}

void http_stream_fail_code(http_req *req, int status, const char *code, const char *detail)
{
	if (req->stream_status)
		return;
	req->stream_status = status;
	req->stream_code = code ? arena_strdup(req->a, code) : NULL;
	req->stream_detail = arena_strdup(req->a, detail ? detail : http_status_title(status));
}

void http_stream_fail(http_req *req, int status, const char *detail)
{
	http_stream_fail_code(req, status, NULL, detail);
}

/* 413 for a body over the route's limit, said in the unit a person reads (10 Mo, 64 Ko). */
static void too_large(http_req *req)
{
	size_t n = req->max_body;
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		http_problemf(req, 413, "Le contenu envoyé dépasse la taille maximale de %zu Mo.", n >> 20);
	else if (n >= 1024 && n % 1024 == 0)
		http_problemf(req, 413, "Le contenu envoyé dépasse la taille maximale de %zu Ko.", n >> 10);
	else
		http_problemf(req, 413, "Le contenu envoyé dépasse la taille maximale de %zu octets.", n);
}

void http_set_data(http_req *req, void *data) { req->data = data; }
void *http_data(const http_req *req) { return req->data; }

/* ---- body helpers ---- */

static int is_json_type(const char *ct)
{
	if (!ct)
		return 0;
	size_t n = strcspn(ct, ";");
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return 1;
	/* application/<something>+json (e.g. merge-patch+json) */
	return n > 17 && strncasecmp(ct, "application/", 12) == 0 && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

static void json_tree_free(void *p) { json_decref(p); }

json_t *http_json_body(http_req *req)
{
	if (!is_json_type(http_header(req, "Content-Type"))) {
		http_problem(req, 415, "Le corps de la requête doit être du JSON (Content-Type: application/json).");
		return NULL;
	}
	if (req->body.len == 0) {
		http_problem(req, 400, "La requête doit contenir un corps JSON.");
		return NULL;
	}
	char err[200];
	json_t *j = json_parse_strict(req->body.data, req->body.len, err, sizeof(err));
	if (!j) {
		/* Bytes that are not UTF-8 in a string: name the field, as any other invalid field. */
		char field[200];
		if (json_bad_utf8_field(req->body.data, req->body.len, field, sizeof(field))) {
			json_t *errors = json_object();
			json_field_error(
				errors, field, "not_utf8",
				"doit être un texte UTF-8 valide (le corps contient des octets qui ne sont pas de l'UTF-8)");
			http_invalid(req, errors);
			return NULL;
		}
		http_problem(req, 400, err);
		return NULL;
	}
	arena_on_free(req->a, json_tree_free, j);
	return j;
}

/* ---- slow clients: the connections' phases and the reaper ---- */

static uint64_t now_ms(void) { return util_now_ns() / 1000000u; }

static void trk_phase(struct conn_track *t, int phase)
{
	if (!t)
		return;
	/* The time first: the reaper reads the phase, then the time. */
	if (phase != PHASE_BUSY)
		atomic_store(&t->since_ms, now_ms());
	if (phase == PHASE_BODY)
		atomic_store(&t->body_bytes, 0);
	atomic_store(&t->phase, phase);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	http_server *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		struct conn_track *t = calloc(1, sizeof(*t));
		if (!t)
			abort();
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		t->fd = ci ? ci->connect_fd : -1;
		atomic_init(&t->phase, PHASE_HEAD);
		atomic_init(&t->since_ms, now_ms());
		atomic_init(&t->body_bytes, 0);
		pthread_mutex_lock(&s->trk_mu);
		t->next = s->trk_list;
		if (t->next)
			t->next->prev = t;
		s->trk_list = t;
		pthread_mutex_unlock(&s->trk_mu);
		*socket_context = t;
		return;
	}
	struct conn_track *t = *socket_context;
	if (!t)
		return;
	if (t->req)
		req_free(t->req); /* never completed (see struct conn_track) */
	pthread_mutex_lock(&s->trk_mu);
	if (t->prev)
		t->prev->next = t->next;
	else
		s->trk_list = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&s->trk_mu);
	*socket_context = NULL;
	free(t);
}

/* Whether t is past its deadline at now (ms). */
static int too_slow(const http_server *s, struct conn_track *t, uint64_t now)
{
	int phase = atomic_load(&t->phase);
	uint64_t since = atomic_load(&t->since_ms);
	if (phase == PHASE_HEAD)
		return now > since + s->header_ms;
	if (phase == PHASE_BODY)
		return now > since + s->header_ms + atomic_load(&t->body_bytes) * 1000u / s->body_min_rate;
	return 0;
}

/*
 * Every REAP_EVERY_MS: shuts down the connections too slow to send their request. shutdown(2), not
 * close: libmicrohttpd sees the client gone, ends the request (on_completed) and closes the socket
 * itself, in its own thread.
 */
static void *reaper(void *arg)
{
	http_server *s = arg;
	pthread_mutex_lock(&s->trk_mu);
	while (!s->reap_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += REAP_EVERY_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&s->reap_cond, &s->trk_mu, &ts);
		if (s->reap_stop)
			break;
		uint64_t now = now_ms();
		unsigned heads = 0, bodies = 0;
		for (struct conn_track *t = s->trk_list; t; t = t->next) {
			if (t->cut || t->fd < 0 || !too_slow(s, t, now))
				continue;
			t->cut = 1;
			if (atomic_load(&t->phase) == PHASE_BODY)
				bodies++;
			else
				heads++;
			shutdown(t->fd, SHUT_RDWR);
		}
		if (heads || bodies)
			log_warn("http: closed %u connection(s) that did not send a request head within %llu s and %u "
				 "sending a body slower than %llu bytes/s",
				 heads, (unsigned long long)(s->header_ms / 1000), bodies,
				 (unsigned long long)s->body_min_rate);
	}
	pthread_mutex_unlock(&s->trk_mu);
	return NULL;
}

/* ---- one reading of the request ---- */

/* Whether c may be part of a header name (RFC 9110 tchar). */
static int is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * The raw request target, before libmicrohttpd decodes it (a %00 would cut the path there and
 * serve another route). Returns why it is refused, or NULL. Refused: a control byte, a space or
 * DEL anywhere, a %00 anywhere, an encoded control byte in the path.
 */
static const char *check_target(const char *uri)
{
	int in_path = 1;
	for (const unsigned char *p = (const unsigned char *)uri; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f)
			return "L'adresse demandée contient un caractère de contrôle ou un espace.";
		if (*p == '?')
			in_path = 0;
		if (*p == '%' && hexval((char)p[1]) >= 0 && hexval((char)p[2]) >= 0) {
			int v = hexval((char)p[1]) * 16 + hexval((char)p[2]);
			if (v == 0 || (in_path && (v < 0x20 || v == 0x7f)))
				return "L'adresse demandée contient un caractère NUL ou de contrôle encodé.";
		}
	}
	return NULL;
}

/* Whether s is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF). */
static int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		int n = c < 0x80                 ? 0
			: c >= 0xc2 && c <= 0xdf ? 1
			: c >= 0xe0 && c <= 0xef ? 2
			: c >= 0xf0 && c <= 0xf4 ? 3
						 : -1;
		if (n < 0)
			return 0;
		if (n >= 2) {
			unsigned lo = 0x80, hi = 0xbf;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
			else if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
			if (p[1] < lo || p[1] > hi)
				return 0;
		}
		for (int i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += n + 1;
	}
	return 1;
}

static enum MHD_Result arg_utf8(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	int *ok = cls;
	if (!utf8_valid(key) || (value && !utf8_valid(value))) {
		*ok = 0;
		return MHD_NO;
	}
	return MHD_YES;
}

/*
 * Whether the decoded path and query arguments are UTF-8: nothing here is named otherwise, and a
 * handler that put such a value in a JSON answer would fail with a 500.
 */
static int target_utf8(http_req *req)
{
	int ok = utf8_valid(req->path);
	if (ok)
		MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, arg_utf8, &ok);
	return ok;
}

struct framing {
	unsigned content_length, transfer_encoding, host;
	const char *cl; /* the first Content-Length */
	int cl_differ;  /* another Content-Length with a different value */
	int bad_name;   /* a header name that is not a token (a space before the colon...) */
	const char *te;
};

static enum MHD_Result scan_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct framing *f = cls;
	if (!*key)
		f->bad_name = 1;
	for (const unsigned char *k = (const unsigned char *)key; *k; k++)
		if (!is_tchar(*k)) {
			f->bad_name = 1;
			break;
		}
	if (!value)
		value = "";
	if (strcasecmp(key, "Content-Length") == 0) {
		if (f->content_length++ && strcmp(f->cl, value) != 0)
			f->cl_differ = 1;
		else
			f->cl = value;
	} else if (strcasecmp(key, "Transfer-Encoding") == 0) {
		f->transfer_encoding++;
		f->te = value;
	} else if (strcasecmp(key, "Host") == 0) {
		f->host++;
	}
	return MHD_YES;
}

/*
 * The head as a proxy would read it, or why not (NULL: fine). url and version are what
 * libmicrohttpd passed to the first call of the access handler.
 */
static const char *check_framing(http_req *req, const char *url, const char *version)
{
	if (req->bad_target)
		return req->bad_target;
	if (!version)
		version = "";
	/*
	 * A raw NUL in the target: libmicrohttpd 0.9 passes the target to uri_start() and the access
	 * handler as a C string ending where the version begins, so a NUL inside it makes the string
	 * shorter than the span up to the version. (Only when the version lies right after the
	 * target in the same line, which is how libmicrohttpd parses it.)
	 */
	if (version && *version && version > url && (size_t)(version - url) <= req->uri_len + 65536 &&
	    (size_t)(version - url) - 1 != req->uri_len)
		return "L'adresse demandée contient un octet NUL.";
	struct framing f = {0};
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, scan_framing, &f);
	if (f.bad_name)
		return "Un nom d'en-tête contient un espace ou un caractère non autorisé.";
	if (f.cl_differ)
		return "L'en-tête Content-Length est donné deux fois avec des valeurs différentes.";
	if (f.transfer_encoding && f.content_length)
		return "Les en-têtes Content-Length et Transfer-Encoding ne peuvent pas être donnés ensemble.";
	if (f.transfer_encoding > 1)
		return "L'en-tête Transfer-Encoding est donné deux fois.";
	if (f.transfer_encoding) {
		const char *v = f.te;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t n = strlen(v);
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n != 7 || strncasecmp(v, "chunked", 7) != 0)
			return "Le seul codage de transfert accepté est chunked.";
		if (strcmp(version, "HTTP/1.1") != 0)
			return "L'en-tête Transfer-Encoding demande HTTP/1.1.";
	}
	if (f.host > 1)
		return "L'en-tête Host est donné deux fois.";
	if (f.host == 0 && strcmp(version, "HTTP/1.1") == 0)
		return "L'en-tête Host est obligatoire en HTTP/1.1.";
	return NULL;
}

/* ---- libmicrohttpd callbacks ---- */

static void *uri_start(void *cls, const char *uri, struct MHD_Connection *conn)
{
	http_req *req = calloc(1, sizeof(*req));
	if (!req)
		abort();
	req->srv = cls;
	req->conn = conn;
	req->a = arena_new(0);
	req->start_ns = util_now_ns();
	req->uri_len = strlen(uri);
	req->bad_target = check_target(uri);
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	req->trk = ci ? ci->socket_context : NULL;
	if (req->trk) {
		if (req->trk->req)
			req_free(req->trk->req); /* the previous one was never completed */
		req->trk->req = req;
	}
	req->path = "";
	req->method = "";
	req->match_rc = ENT_ENOTFOUND;
	req->body_len = -1;
	buf_init(&req->body, 1);
	atomic_fetch_add(&in_flight, 1);
	return req;
}

struct hdr_count {
	size_t n, bytes;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	struct hdr_count *c = cls;
	c->n++;
	c->bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

static int valid_request_id(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return 0;
	}
	return n > 0 && n <= 64;
}

static int check_access(http_req *req);

/* First call: headers are in. Returns 1 when the request was answered already (a limit). */
static int on_headers(http_req *req, const char *url, const char *version)
{
	const char *rid = http_header(req, "X-Request-Id");
	if (rid && valid_request_id(rid))
		memcpy(req->request_id, rid, strlen(rid) + 1);
	else
		util_request_id(req->request_id);

	if (req->uri_len > MAX_URI) {
		http_problemf(req, 414, "L'adresse demandée dépasse %d octets.", MAX_URI);
		return 1;
	}
	struct hdr_count hc = {0, 0};
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, count_header, &hc);
	if (hc.n > MAX_HEADERS || hc.bytes > MAX_HEADER_BYTES) {
		http_problemf(req, 431, "La requête a trop d'en-têtes : %d au plus, et %d octets en tout.", MAX_HEADERS,
			      MAX_HEADER_BYTES);
		return 1;
	}
	const char *bad = check_framing(req, url, version);
	if (bad) {
		/* Nothing after this head may be read: it could be another request to a proxy's eyes. */
		http_set_header(req, "Connection", "close");
		http_problem(req, 400, bad);
		return 1;
	}
	if (!target_utf8(req)) {
		http_problem(req, 400, "L'adresse demandée, une fois décodée, n'est pas de l'UTF-8 valide.");
		return 1;
	}

	req->match_rc = router_match(req->method, req->path, req->a, &req->m);
	req->max_body = req->srv->max_body;
	if (req->m.route && req->m.route->max_body)
		req->max_body = req->m.route->max_body;
	buf_init(&req->body, req->max_body);

	if (req->match_rc == ENT_OK && req->m.route->on_body && check_access(req))
		return 1;

	const char *cl = http_header(req, "Content-Length");
	if (cl) {
		int64_t n;
		if (util_parse_int64(cl, 0, INT64_MAX, &n)) {
			http_problem(req, 400, "L'en-tête Content-Length n'est pas un nombre valide.");
			return 1;
		}
		if ((uint64_t)n > req->max_body) {
			/*
			 * Answered now, the 413 would be sent while the client still sends its body, and the
			 * close on those unread bytes resets the connection: the client may never read it.
			 * So a body up to DRAIN_MAX is read and dropped and answered at its end, as a chunked
			 * one is; a larger one, or a client waiting for "100 Continue" (it sends nothing
			 * before an answer), is answered at once.
			 */
			const char *expect = http_header(req, "Expect");
			if ((uint64_t)n > DRAIN_MAX || (expect && strcasecmp(expect, "100-continue") == 0)) {
				too_large(req);
				return 1;
			}
			req->too_big = 1;
		}
		req->body_len = n;
	}
	return 0;
}

/* The guard and the role check. Returns 0 when the caller may go on; otherwise it answered. */
static int check_access(http_req *req)
{
	const struct route *r = req->m.route;
	if (r->access & ACCESS_PUBLIC)
		return 0;
	const struct http_principal *p;
	if (http_run_guard(req, &p) != ENT_OK)
		return -1;
	if (!(p->roles & r->access)) {
		http_problem(req, 403, "Votre rôle ne permet pas cette action.");
		return -1;
	}
	return 0;
}

int http_stopping(void) { return atomic_load(&stopping); }

void http_defer(http_req *req, http_later_fn finish, void *ctx)
{
	req->later = finish;
	req->later_ctx = ctx;
	pthread_mutex_lock(&later_mu);
	req->later_state = LATER_RUNNING;
	later_n++;
	pthread_mutex_unlock(&later_mu);
}

/* Runs a deferred answer's finish (a server thread, or the connection is gone: req->conn NULL). */
static void later_finish(http_req *req)
{
	http_later_fn fn = req->later;
	req->later = NULL;
	fn(req, req->later_ctx);
	if (!req->answered && req->conn)
		http_problem(req, 500, "Le serveur n'a pas produit de réponse.");
	pthread_mutex_lock(&later_mu);
	later_n--;
	pthread_mutex_unlock(&later_mu);
}

/* After the handler deferred its answer: suspend the connection, unless the work is done already. */
static void later_park(http_req *req)
{
	pthread_mutex_lock(&later_mu);
	if (req->later_state == LATER_READY) {
		pthread_mutex_unlock(&later_mu);
		later_finish(req);
		return;
	}
	req->later_state = LATER_SUSPENDED;
	MHD_suspend_connection(req->conn);
	pthread_mutex_unlock(&later_mu);
}

void http_resume(http_req *req)
{
	pthread_mutex_lock(&later_mu);
	int state = req->later_state;
	if (state == LATER_SUSPENDED) {
		req->later_state = LATER_RESUMED;
		MHD_resume_connection(req->conn); /* finish runs when the handler is called again */
	} else if (state == LATER_RUNNING) {
		req->later_state = LATER_READY; /* the handler has not returned yet: later_park finishes */
	}
	pthread_mutex_unlock(&later_mu);
	if (state == LATER_GONE) {
		/* The connection ended while the work ran: finish (its answer dropped), then free. */
		later_finish(req);
		req_free(req);
	}
}

static http_handler not_found;

void http_set_page_fallback(http_handler h) { not_found = h; }

/* A browser asking for a page (GET, Accept: text/html), not an API client: the portal's paths. */
static int wants_page(const http_req *req)
{
	const char *accept = http_header(req, "Accept");
	return (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) && accept &&
	       strstr(accept, "text/html") && strncmp(req->path, "/api/", 5) != 0 && strcmp(req->path, "/api") != 0;
}

static void dispatch(http_req *req)
{
	if (req->match_rc == ENT_ENOTFOUND) {
		if (not_found && wants_page(req))
			not_found(req);
		else
			http_problemf(req, 404, "Rien ne se trouve à l'adresse %s.", req->path);
		return;
	}
	if (req->match_rc != ENT_OK) {
		http_set_header(req, "Allow", req->m.allow);
		http_problemf(req, 405, "La méthode %s n'est pas acceptée ici (méthodes acceptées : %s).", req->method,
			      req->m.allow);
		return;
	}
	const struct route *r = req->m.route;
	/* A streaming route was checked when its headers arrived. */
	if (!r->on_body && check_access(req))
		return;
	r->handler(req);
	if (!req->answered && !req->later) {
		log_error("handler for %s %s did not answer", r->method, r->pattern);
		http_problem(req, 500, "Le serveur n'a pas produit de réponse.");
	}
}

/*
 * A client that closed its connection in the middle of a body, seen by the piece that leaves the
 * body incomplete. libmicrohttpd's epoll loop is edge-triggered and takes a read shorter than its
 * buffer for "the socket is drained" (recv_param_adapter clears MHD_EPOLL_STATE_READ_READY): when
 * the client's FIN is already queued behind the last bytes that read returns, no new event ever
 * comes for it, the end of the stream is never read and the request is never completed (its
 * upload's blob writer and quota reservation held until the reaper's body deadline, minutes for
 * a large body). So after each piece of a body with a Content-Length that is still incomplete,
 * one peek at the socket: at the end of the stream with nothing before it (libmicrohttpd hands
 * over every body byte it has read, so the body can never be completed), the socket's reading
 * side is shut down. The kernel then wakes the epoll set, and libmicrohttpd reads the end of the
 * stream as it does for any client gone mid-request ("closed by remote side with incomplete
 * request", on_completed with MHD_REQUEST_TERMINATED_CLIENT_ABORT). A chunked body is not
 * checked (libmicrohttpd may hold chunks it has not handed over yet): the reaper bounds it.
 */
static void end_if_client_gone(http_req *req)
{
	if (req->body_len < 0 || req->body_seen >= (uint64_t)req->body_len || !req->trk || req->trk->fd < 0)
		return;
	char c;
	ssize_t n;
	do
		n = recv(req->trk->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		shutdown(req->trk->fd, SHUT_RD);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)cls;
	(void)conn;
	http_req *req = *con_cls;
	if (!req)
		return MHD_NO; /* cannot happen: uri_start always runs first */
	if (!req->started) {
		req->started = 1;
		req->method = arena_strdup(req->a, method);
		req->path = arena_strdup(req->a, url);
		trk_phase(req->trk, on_headers(req, url, version) ? PHASE_BUSY : PHASE_BODY);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (req->trk)
			atomic_fetch_add(&req->trk->body_bytes, *upload_data_size);
		req->body_seen += *upload_data_size;
		/*
		 * MHD cannot send an answer queued in the middle of a body, so a body found too large
		 * while reading (chunked, no Content-Length) is drained and answered 413 at its end;
		 * past DRAIN_MAX bytes the connection is dropped instead.
		 */
		const struct route *r = req->m.route;
		if (r && r->on_body && req->match_rc == ENT_OK) {
			/* Streaming: count against the limit, hand the piece over. */
			if (!req->answered && !req->too_big && !req->stream_status) {
				req->streamed += *upload_data_size;
				if (req->streamed > req->max_body)
					req->too_big = 1;
				else if (r->on_body(req, upload_data, *upload_data_size) != 0 && !req->stream_status)
					http_stream_fail(req, 500, "Le fichier envoyé n'a pas pu être enregistré.");
			}
			if (req->too_big || req->stream_status) {
				req->drained += *upload_data_size;
				if (req->drained > DRAIN_MAX)
					return MHD_NO;
			}
			*upload_data_size = 0;
			end_if_client_gone(req);
			return MHD_YES;
		}
		if (!req->answered && !req->too_big && buf_add(&req->body, upload_data, *upload_data_size) != ENT_OK)
			req->too_big = 1;
		if (req->too_big) {
			req->drained += *upload_data_size;
			if (req->drained > DRAIN_MAX)
				return MHD_NO;
		}
		*upload_data_size = 0;
		end_if_client_gone(req);
		return MHD_YES;
	}
	trk_phase(req->trk, PHASE_BUSY);
	if (req->later) {
		/* Called again after http_resume(): the deferred answer is ready. */
		if (req->later_state == LATER_RESUMED)
			later_finish(req);
		return MHD_YES;
	}
	if (req->answered)
		return MHD_YES;
	if (req->too_big)
		too_large(req);
	else if (req->stream_status)
		http_problem_code(req, req->stream_status, req->stream_code, req->stream_detail);
	else
		dispatch(req);
	if (req->later && !req->answered)
		later_park(req);
	return MHD_YES;
}

/* One JSON line, built without printf: this runs for every request. */
static void access_log(const http_req *req, double seconds)
{
	static _Thread_local time_t last_sec;
	static _Thread_local char stamp[21];
	time_t now = time(NULL);
	if (now != last_sec) {
		util_time_rfc3339(now, stamp);
		last_sec = now;
	}
	buf b;
	buf_init(&b, 4096);
	buf_addstr(&b, "{\"time\":\"");
	buf_addstr(&b, stamp);
	buf_addstr(&b, "\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"");
	buf_addstr(&b, req->request_id);
	buf_addstr(&b, "\",\"method\":");
	buf_json_str(&b, req->method, strlen(req->method));
	buf_addstr(&b, ",\"path\":");
	size_t plen = strlen(req->path);
	buf_json_str(&b, req->path, plen > 512 ? 512 : plen);
	buf_addstr(&b, ",\"route\":\"");
	buf_addstr(&b, req->m.route ? req->m.route->pattern : "");
	buf_addstr(&b, "\",\"status\":");
	buf_add_u64(&b, (uint64_t)req->status);
	buf_addstr(&b, ",\"bytes\":");
	buf_add_u64(&b, req->bytes_out);
	buf_addstr(&b, ",\"duration_ms\":");
	uint64_t us = (uint64_t)(seconds * 1e6 + 0.5);
	buf_add_u64(&b, us / 1000);
	char frac[4] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10), (char)('0' + us % 10)};
	buf_add(&b, frac, 4);
	buf_addstr(&b, ",\"ip\":\"");
	buf_addstr(&b, http_client_ip(req));
	buf_addc(&b, '"');
	if (req->has_principal && req->principal.sub) {
		buf_addstr(&b, ",\"user\":");
		buf_json_str(&b, req->principal.sub, strlen(req->principal.sub));
	}
	buf_addc(&b, '}');
	if (!b.failed)
		log_access_line(b.data, b.len);
	buf_free(&b);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	http_req *req = *con_cls;
	if (!req)
		return;
	*con_cls = NULL;
	/* The connection waits for its next request: the head deadline starts again. */
	trk_phase(req->trk, PHASE_HEAD);
	int gone = 0;
	if (req->later) {
		/* A deferred answer not given: its work still runs (http_resume frees req) or is done. */
		pthread_mutex_lock(&later_mu);
		if (req->later_state == LATER_RUNNING || req->later_state == LATER_SUSPENDED) {
			req->later_state = LATER_GONE;
			gone = 1;
		}
		pthread_mutex_unlock(&later_mu);
		req->conn = NULL;
		if (!gone)
			later_finish(req);
		if (!req->answered)
			req->status = 499;
	}
	double seconds = (double)(util_now_ns() - req->start_ns) / 1e9;
	if (!req->answered)
		req->status = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? 200 : 499;
	if (req->started) {
		metrics_observe(req->m.id, req->method, req->status, seconds);
		if (log_access_enabled() && !(req->m.route && (req->m.route->flags & ROUTE_NO_LOG)))
			access_log(req, seconds);
	}
	if (gone) {
		/* The connection's bookkeeping goes with it; req waits for http_resume(). */
		if (req->trk && req->trk->req == req)
			req->trk->req = NULL;
		req->trk = NULL;
		return;
	}
	req_free(req);
}

static void req_free(http_req *req)
{
	if (req->trk && req->trk->req == req)
		req->trk->req = NULL;
	buf_free(&req->body);
	buf_free(&req->out);
	arena_free(req->a);
	free(req);
	atomic_fetch_sub(&in_flight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/* A client that leaves in the middle of an answer (an event stream's end) is routine. */
	if (strstr(msg, "socket is no longer available") || strstr(msg, "onnection reset"))
		log_debug("http: %s", msg);
	else
		log_warn("http: %s", msg);
}

/* ---- server ---- */

static int split_listen(const char *listen, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon = strrchr(listen, ':');
	if (!colon || colon[1] == '\0')
		return -1;
	size_t hl = (size_t)(colon - listen);
	const char *h = listen;
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= hostlen || strlen(colon + 1) >= portlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

int http_bind(const char *addr, char *err, size_t errlen)
{
	char host[256], port[16];
	if (split_listen(addr, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "ENT_LISTEN (--listen): \"%s\" is not HOST:PORT", addr);
		return -1;
	}
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "ENT_LISTEN (--listen): %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	int fd = -1, saved = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "ENT_LISTEN (--listen): cannot listen on %s: %s", addr, strerror(saved));
	return fd;
}

int http_start(const struct http_options *opt, http_server **out, char *err, size_t errlen)
{
	*out = NULL;
	atomic_store(&stopping, 0);
	int fd = opt->fd > 0 ? opt->fd : http_bind(opt->listen, err, errlen);
	if (fd < 0)
		return ENT_EINVAL;
	http_server *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->fd = fd;
	s->max_body = opt->max_body ? opt->max_body : DEFAULT_MAX_BODY;
	s->hsts = opt->public_url && strncmp(opt->public_url, "https://", 8) == 0;
	s->header_ms = (uint64_t)(opt->header_timeout ? opt->header_timeout : DEFAULT_HEADER_TIMEOUT) * 1000u;
	s->body_min_rate = opt->body_min_rate ? opt->body_min_rate : DEFAULT_BODY_MIN_RATE;
	pthread_mutex_init(&s->trk_mu, NULL);
	pthread_cond_init(&s->reap_cond, NULL);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = opt->threads ? opt->threads : (unsigned)(cores > 0 ? cores : 1);
	s->d = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_request,
		s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, so that option errors reach it */
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
		opt->idle_timeout ? opt->idle_timeout : 60u, MHD_OPTION_CONNECTION_LIMIT,
		opt->max_connections ? opt->max_connections : 4096u, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		opt->per_ip_connections ? opt->per_ip_connections : 256u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)CONN_MEMORY, MHD_OPTION_URI_LOG_CALLBACK, uri_start, s, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
	if (!s->d) {
		snprintf(err, errlen, "ENT_LISTEN (--listen): the HTTP server could not start on %s", opt->listen);
		close(fd);
		pthread_mutex_destroy(&s->trk_mu);
		pthread_cond_destroy(&s->reap_cond);
		free(s);
		return ENT_EIO;
	}
	if (pthread_create(&s->reaper, NULL, reaper, s) != 0)
		abort();
	s->reaper_running = 1;
	sse__start();
	log_access_start();
	*out = s;
	return ENT_OK;
}

unsigned http_port(const http_server *s) { return s->port; }

void http_stop(http_server *s)
{
	if (!s)
		return;
	/* Event streams end first: libmicrohttpd must not be stopped with suspended connections. */
	atomic_store(&stopping, 1);
	sse__stop();
	if (s->reaper_running) {
		pthread_mutex_lock(&s->trk_mu);
		s->reap_stop = 1;
		pthread_cond_signal(&s->reap_cond);
		pthread_mutex_unlock(&s->trk_mu);
		pthread_join(s->reaper, NULL);
	}
	MHD_quiesce_daemon(s->d);
	for (int i = 0; i < 100 && sse_count() > 0; i++)
		usleep(10000); /* the resumed streams finish (at most a second) */
	/* Deferred answers: their work sees http_stopping() and cuts itself short (at most 5 s). */
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&later_mu);
		long n = later_n;
		pthread_mutex_unlock(&later_mu);
		if (!n)
			break;
		usleep(10000);
	}
	MHD_stop_daemon(s->d);
	close(s->fd);
	pthread_mutex_destroy(&s->trk_mu);
	pthread_cond_destroy(&s->reap_cond);
	free(s);
	log_access_stop();
}
