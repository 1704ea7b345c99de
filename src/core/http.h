/*
 * http.h - the HTTP core: server, requests, responses, problem+json.
 *
 * The server is libmicrohttpd with epoll and a pool of worker threads (one per core by default).
 * For each request the core: reads the headers and enforces the limits (414, 431, 413), finds the
 * route, runs the access guard, buffers the body (up to the route's limit), calls the handler once
 * with the complete request, and finally writes one JSON access-log line and the metrics.
 *
 * A handler answers exactly once through one of the http_reply_* / http_problem* functions and
 * returns. It may allocate from http_arena(req): that memory is freed when the request ends.
 * A handler that returns without answering produces a 500 problem (and a log line): it is a bug.
 */
#ifndef ENT_HTTP_H
#define ENT_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"

typedef struct http_req http_req;
typedef struct http_server http_server;

/* Handlers return nothing useful: the answer is what they queued. */
typedef void (*http_handler)(http_req *req);

/* Roles, as bits. A route lists the roles that may call it; see struct route. */
enum {
	ROLE_ETUDIANT = 1 << 0,
	ROLE_ENSEIGNANT = 1 << 1,
	ROLE_ADMIN = 1 << 2,
	ROLE_SERVICE = 1 << 3, /* a confidential client (client_credentials) */
	ROLE_ANY_USER = ROLE_ETUDIANT | ROLE_ENSEIGNANT | ROLE_ADMIN,
	ACCESS_PUBLIC = 1 << 15, /* no token needed */
};

/* Route flags. */
enum {
	ROUTE_RAW_BODY = 1 << 0, /* the body is not JSON: no content-type check by http_json_body */
	ROUTE_NO_LOG = 1 << 1,   /* leave out of the access log (e.g. /metrics scrapes) */
	ROUTE_NO_DOC = 1 << 2,   /* leave out of the OpenAPI document (the document itself, /docs) */
	ROUTE_NO_BODY = 1 << 3,  /* a PUT/POST that takes no body (for the OpenAPI document) */
};

struct jfield;

struct route {
	const char *method;  /* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *pattern; /* "/api/users/{id}": literal segments and {name} parameters */
	http_handler handler;
	unsigned access;            /* ACCESS_PUBLIC, or the ROLE_* bits allowed; 0 denies everyone */
	unsigned flags;             /* ROUTE_* */
	size_t max_body;            /* 0: the server's default (1 MiB) */
	const char *summary;        /* one line for the OpenAPI document */
	const char *request_schema; /* JSON Schema of the body (JSON text), or NULL; with .body, what it adds */
	const struct jfield *body;  /* the fields the handler checks its body with (BODY()), documented from them */
	size_t nbody;
	const char *response_schema; /* JSON Schema of the 2xx answer (JSON text), or NULL */
	int status;                  /* the success status for the document (0: 200) */
	/*
	 * Streaming body (uploads): when set, the access guard and role check run as soon as the
	 * headers are in (a refused caller never sends the body), and the body is handed over piece
	 * by piece instead of being buffered. Return 0 to go on; to refuse, call http_stream_fail()
	 * and return -1: the rest of the body is drained and the problem answered at its end.
	 * The handler runs once the whole body arrived (not after a failure). Resources tied to the
	 * upload (a blob writer) must be released by an arena cleanup, which also runs when the
	 * client goes away mid-body. max_body still applies (413).
	 */
	int (*on_body)(http_req *req, const char *data, size_t len);
};

/*
 * One entry of a service's route table: the method, the pattern, the handler and who may call it,
 * then the other fields by name (at least the summary):
 *
 *   ROUTE("GET", "/api/things/{id}", thing_get, ROLE_ANY_USER, .summary = "A thing", .response_schema = S_THING),
 */
#define ROUTE(m, p, h, who, ...)                                                                                       \
	{                                                                                                              \
		.method = (m), .pattern = (p), .handler = (h), .access = (who), __VA_ARGS__                            \
	}

/*
 * A route's body documented from the json_check table its handler checks it with; .request_schema,
 * when set too, adds what the table cannot say ({"properties":{"year":{"pattern":"..."}}}).
 */
#define BODY(fields) .body = (fields), .nbody = sizeof(fields) / sizeof((fields)[0])

/* The caller's identity, set by the access guard (NULL on public routes without a token). */
struct http_principal {
	const char *sub; /* subject (user id) */
	const char *iss;
	const char *username;
	const char *email;
	const char *name;
	unsigned roles;       /* ROLE_* bits */
	const json_t *claims; /* the verified token's claims, owned by the guard */
};

/*
 * The access guard decides, for a request that needs a token, who is calling. It returns 0 and
 * fills *out (allocating from the request arena), or a negative ent_err and answers nothing: the
 * core answers ENT_EUNAVAIL and ENT_EBUSY with 503 (it could not decide: the identity provider or
 * the database is down) and any other error with 401. It is installed by the identity service;
 * without one, every non-public route answers 401.
 */
typedef int (*http_guard)(http_req *req, struct http_principal *out);
void http_set_guard(http_guard guard);

/*
 * The answer to a GET for an unknown path from a browser (Accept: text/html) outside /api/: the
 * portal's index.html, so that its client-side routes work as deep links. API clients still get
 * a 404 problem. NULL (the default): 404 for everyone.
 */
void http_set_page_fallback(http_handler h);

/* ---- server ---- */

struct http_options {
	const char *listen;          /* "host:port", ":port" */
	int fd;                      /* a socket from http_bind(), or -1: http_start binds listen itself */
	unsigned threads;            /* 0: one per core */
	unsigned idle_timeout;       /* seconds; 0: 60 */
	unsigned max_connections;    /* 0: 4096 */
	unsigned per_ip_connections; /* 0: 256 */
	/*
	 * Slow clients (whom the idle timeout does not stop: every byte restarts it). A request must
	 * send its whole head within header_timeout seconds of the connection's opening or of the end
	 * of the previous answer on it (so an idle keep-alive connection is closed after that too); a
	 * body gets header_timeout seconds plus one second per body_min_rate bytes received. Requests
	 * being handled or answered (downloads, event streams) are never cut by these.
	 */
	unsigned header_timeout; /* seconds; 0: 15 */
	unsigned body_min_rate;  /* bytes per second; 0: 1024 */
	size_t max_body;         /* 0: 1 MiB */
	const char *public_url;  /* for Strict-Transport-Security when https */
};

/*
 * Binds and listens on "host:port" (so that a port in use is found before anything else starts).
 * Returns the socket, or -1 with a one-line reason naming ENT_LISTEN in err.
 */
int http_bind(const char *listen, char *err, size_t errlen);

/*
 * Binds the listening socket (so "port in use" is reported before anything starts) and starts the
 * worker threads. Routes come from the router (router.h) built before. Returns 0, or an ent_err
 * with a one-line reason in err.
 */
int http_start(const struct http_options *opt, http_server **out, char *err, size_t errlen);
/* The bound port (useful with port 0). */
unsigned http_port(const http_server *s);
/* Stops accepting, finishes the requests in progress, joins the threads, frees. Accepts NULL. */
void http_stop(http_server *s);

/* Requests being processed now (for /metrics). */
long http_in_flight(void);

/* ---- request ---- */

const char *http_method(const http_req *req);
const char *http_path(const http_req *req);
/* The value of a path parameter declared as {name} in the route's pattern, or NULL. */
const char *http_param(const http_req *req, const char *name);
/* A query-string argument (decoded), or NULL. */
const char *http_query(const http_req *req, const char *name);
/* A request header (case-insensitive), or NULL. */
const char *http_header(const http_req *req, const char *name);
/* A cookie sent by the client, or NULL. */
const char *http_cookie(const http_req *req, const char *name);
/*
 * Runs the access guard on a public route (e.g. a gateway's token check). Returns 0 and the
 * caller in *out, or a negative ent_err after answering 401 or 503 as the core does for a route
 * that needs a token: the handler then just returns.
 */
int http_run_guard(http_req *req, const struct http_principal **out);
/* The complete body, NUL-terminated (body_len excludes the NUL). Empty if none. */
const char *http_body(const http_req *req, size_t *len);
const struct route *http_route(const http_req *req);
const char *http_request_id(const http_req *req);
/* The peer's IP address as text. */
const char *http_client_ip(const http_req *req);
arena *http_arena(http_req *req);
/* The caller, or NULL on a public route called without a token. */
const struct http_principal *http_principal(const http_req *req);

/*
 * Parses the body as a JSON object. On success returns the tree (freed with the request). On
 * failure answers the request (415 wrong content type, 400 malformed JSON or not an object) and
 * returns NULL: the handler then just returns.
 */
json_t *http_json_body(http_req *req);

/* ---- failing: the one way a handler stops early ---- */

/*
 * A handler that cannot go on answers through one of these and returns; there is no other path.
 * They answer once and return what tells the handler to stop, so each failure is one line:
 *
 *   db_conn *c = http_db(req);        if (!c) return;
 *   if (http_invalid(req, errors))    return;
 *   if (rc < 0) { http_problem_err(req, rc, NULL); return; }
 *
 * (Returning an ent_err from the handler instead would change the handler type of every route of
 * every service at once; these keep `void handler(http_req *)` and still put each answer in one
 * place.)
 */

struct db_conn;
/* The calling thread's database connection, or NULL after answering 503. */
struct db_conn *http_db(http_req *req);
/*
 * errors is a JSON object of field -> message (stolen). When it holds any field, answers 400
 * problem+json (type urn:ent:problem:validation, detail "La requête contient des champs invalides.") and
 * returns 1; otherwise frees it and returns 0.
 */
int http_invalid(http_req *req, json_t *errors);

/* ---- responses ---- */

/*
 * A JSON writer on the request's answer buffer, created on the first call (the same writer after),
 * freed with the request. Write one value with it, then answer with http_reply_jw().
 */
jw *http_jw(http_req *req);
/* Answers what was written with http_jw() as application/json (500 if it grew past its limit). */
void http_reply_jw(http_req *req, int status);

/*
 * Adds a header to the response being prepared (copied). A Cache-Control with "no-transform"
 * keeps the core from compressing the answer (byte ranges and digests of stored files).
 */
void http_set_header(http_req *req, const char *name, const char *value);

/*
 * The read cache's hook (rcache.c): called once with the body of the next answer before it is
 * sent. It may add headers; returning 1 sends 304 Not Modified instead (no body).
 */
typedef int (*http_reply_hook)(http_req *req, int status, const char *type, const char *data, size_t len, void *ctx);
void http_set_reply_hook(http_req *req, http_reply_hook fn, void *ctx);
/* The context given with the hook still waiting, or NULL. */
void *http_reply_hook_ctx(const http_req *req);
/* A header set on the response being prepared (the last set of that name), or NULL. */
const char *http_reply_header(const http_req *req, const char *name);
/*
 * Sends a stored answer (the read cache's) without copying it: data, n bytes, stays valid until
 * done(cls) is called, once, when libmicrohttpd has sent it or dropped it (also when the answer
 * cannot be queued); gzipped when it is the gzip form (the client takes it, see
 * http_accepts_gzip()) of an answer of plain_len bytes.
 */
void http_reply_shared(http_req *req, int status, const char *type, const char *data, size_t n, int gzipped,
		       size_t plain_len, void (*done)(void *cls), void *cls);
/* Whether the client takes a gzip-encoded answer (Accept-Encoding). */
int http_accepts_gzip(const http_req *req);
/* Gzip-compresses data into a new malloc'd buffer; NULL when it would not shrink. */
char *http_gzip(const char *data, size_t len, size_t *outlen);

/*
 * For a page of a list: sets `Link: <PATH?k=v&...&cursor=NEXT>; rel="next"`, keeping the
 * request's query arguments named in keep (NULL-terminated: the filters and limit), so that the
 * next page has the same filters. Nothing when next is NULL.
 */
void http_link_next(http_req *req, const char *next, const char *const *keep);

/* JSON from a jansson tree (the reference is stolen: the tree is freed). */
void http_reply_json(http_req *req, int status, json_t *body);
/* JSON already written into b (e.g. with jw_*); takes b's memory. */
void http_reply_buf(http_req *req, int status, const char *content_type, buf *b);
/* Copies len bytes. */
void http_reply_data(http_req *req, int status, const char *content_type, const void *data, size_t len);
/* An empty answer (204, 304 ...). */
void http_reply_empty(http_req *req, int status);
/* Sends a file from disk (sendfile); takes ownership of fd. */
void http_reply_fd(http_req *req, int status, const char *content_type, int fd, uint64_t offset, uint64_t size);

/*
 * Streams size bytes produced on demand (a file in an object store): read() is called from the
 * server thread as the client takes the data, with the offset from the start of the answer, and
 * returns the number of bytes written into buf (at most max), or a negative ent_err (the
 * connection is then closed). free_ctx(ctx) runs when the answer is done or abandoned; ctx must
 * be malloc'd, not from the request arena (the answer may outlive the request's bookkeeping).
 */
typedef long (*http_read_fn)(void *ctx, uint64_t offset, char *buf, size_t max);
void http_reply_stream(http_req *req, int status, const char *content_type, uint64_t size, http_read_fn read, void *ctx,
		       void (*free_ctx)(void *));

/*
 * Answering later, without holding a thread (an answer that waits on a slow remote, such as a
 * model writing it): the handler calls http_defer() and returns without answering. The
 * connection is then suspended (out of libmicrohttpd's event loop: no server thread waits for
 * it). Any thread, once the answer can be written, calls http_resume(req); finish(req, ctx) then
 * runs on a server thread and answers as a handler does (http_reply_*, http_problem*, http_db ...).
 * After http_resume() the caller must not touch req nor anything in its arena.
 *
 * If the connection is gone in the meantime (the server stops), finish still runs once, on the
 * thread of http_resume or of the connection's end, and what it answers is dropped: it must only
 * answer and release what ctx holds. http_stopping() tells deferred work to cut itself short;
 * http_stop() waits a few seconds for deferred answers before closing their connections.
 */
typedef void (*http_later_fn)(http_req *req, void *ctx);
void http_defer(http_req *req, http_later_fn finish, void *ctx);
void http_resume(http_req *req);
/* 1 once http_stop() has begun: deferred work should end now. Any thread. */
int http_stopping(void);

/* Server-Sent Events (answers that stay open and carry pushed events): see sse.h. */

/*
 * RFC 9457 problem+json: {"type","title","status","code","detail"} and, for validation, "errors"
 * (field -> message) with "codes" (field -> code) beside it. "code" is stable and machine-readable:
 * the portal shows French text chosen by it, the detail being the fallback. http_problem_errors
 * steals the errors reference; its code is "validation" for a 400, else the one field's code.
 */
void http_problem(http_req *req, int status, const char *detail);
/* A problem with its own stable code (default: a name for the status, "not_found", "conflict" ...). */
void http_problem_code(http_req *req, int status, const char *code, const char *detail);
void http_problemf(http_req *req, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void http_problem_errors(http_req *req, int status, const char *detail, json_t *errors);
/*
 * Maps an ent_err to its status and answers with a problem: detail, or when NULL the error's
 * French sentence (ent_err_text: "La base de données est occupée ou injoignable : réessayez dans
 * un instant." for ENT_EBUSY and ENT_EUNAVAIL). Every detail is French: a person reads it.
 */
void http_problem_err(http_req *req, int err, const char *detail);

/* For on_body callbacks: refuses the upload; answered as a problem once the body is drained. */
void http_stream_fail(http_req *req, int status, const char *detail);
/* The same with the problem's own stable code (NULL: the status's). */
void http_stream_fail_code(http_req *req, int status, const char *code, const char *detail);

/* A pointer a route keeps with its request (e.g. an upload's state). */
void http_set_data(http_req *req, void *data);
void *http_data(const http_req *req);

/* Whether the handler has answered already. */
int http_answered(const http_req *req);

/* The reason phrase of a status ("Not Found"), as HTTP spells it. */
const char *http_status_text(int status);
/* The French title of a problem with that status ("Introuvable"): what a person reads. */
const char *http_status_title(int status);

#endif
