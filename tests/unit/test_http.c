/*
 * test_http.c - the HTTP core through a real socket: limits, problem+json, routing, headers,
 * compression, the access guard, connection limits. The server runs in-process with routes this
 * test registers; the client is libcurl (or a raw socket where curl would be too polite).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/http.h"
#include "core/metrics.h"
#include "core/page.h"
#include "core/row.h"
#include "core/router.h"
#include "core/sse.h"
#include "core/util.h"

static http_server *srv;
static unsigned port;

/* ---- routes under test ---- */

static void echo(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	http_reply_json(req, 200, json_incref(body));
}

static void item(http_req *req) { http_reply_json(req, 200, json_pack("{s:s}", "id", http_param(req, "id"))); }

static void item_special(http_req *req) { http_reply_json(req, 200, json_pack("{s:s}", "special", "yes")); }

static void big(http_req *req)
{
	buf b;
	buf_init(&b, 0);
	jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "items");
	jw_arr_open(&w);
	for (int i = 0; i < 2000; i++)
		jw_int(&w, i);
	jw_arr_close(&w);
	jw_obj_close(&w);
	http_reply_buf(req, 200, "application/json", &b);
}

static void whoami(http_req *req)
{
	const struct http_principal *p = http_principal(req);
	http_reply_json(req, 200, json_pack("{s:s}", "sub", p ? p->sub : "nobody"));
}

static void silent(http_req *req) { (void)req; }

/* A list of the numbers 0..6 on core/page.h, keyed by the number; ?f= is a filter to keep. */
static void listed(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "numbers", 1))
		return;
	json_t *errors = json_object();
	const char *f = http_query(req, "f");
	if (f && strcmp(f, "x") != 0)
		json_object_set_new(errors, "f", json_string("doit valoir x"));
	if (http_invalid(req, errors))
		return;
	int64_t from = 0;
	if (pg.has_cursor && util_parse_int64(pg.after[0], 0, 6, &from) == 0)
		from++;
	for (int64_t i = from; i < 7 && i < from + page_fetch(&pg); i++) {
		char key[24];
		snprintf(key, sizeof(key), "%lld", (long long)i);
		const char *keys[1] = {key};
		jw *w = page_item(&pg, keys);
		if (!w)
			break;
		jw_int(w, i);
	}
	static const char *const keep[] = {"f", "limit", NULL};
	page_reply(&pg, keep);
}

/* Without a database (the test has none), http_db() answers 503. */
static void needs_db(http_req *req)
{
	if (!http_db(req))
		return;
	http_reply_empty(req, 204);
}

/* core/row.h: ?rc= is the load's outcome (0, -2 not found, -5 busy ...), ?visible= 0 or 1. */
static void verdict(http_req *req)
{
	int64_t rc = 0, visible = 0;
	util_parse_int64(http_query(req, "rc"), -100, 0, &rc);
	util_parse_int64(http_query(req, "visible"), 0, 1, &visible);
	if (row_verdict(req, (int)rc, (int)visible, "absent ou caché", "illisible"))
		return;
	http_reply_empty(req, 204);
}

/* A streaming upload: counts bytes; refuses a body that starts with "BAD". */
struct upload_state {
	size_t bytes;
	int freed;
};
static atomic_int uploads_freed; /* written by the server's threads */
static void upload_cleanup(void *p)
{
	(void)p;
	uploads_freed++;
}

static int upload_chunk(http_req *req, const char *data, size_t len)
{
	struct upload_state *u = http_data(req);
	if (!u) {
		u = arena_calloc(http_arena(req), 1, sizeof(*u));
		http_set_data(req, u);
		arena_on_free(http_arena(req), upload_cleanup, u);
		if (len >= 3 && memcmp(data, "BAD", 3) == 0) {
			http_stream_fail(req, 415, "Ce type de fichier est refusé.");
			return -1;
		}
	}
	u->bytes += len;
	return 0;
}

static void upload_done(http_req *req)
{
	struct upload_state *u = http_data(req);
	http_reply_json(req, 201, json_pack("{s:I}", "bytes", (json_int_t)(u ? u->bytes : 0)));
}

/* A guard that trusts "Bearer student" and "Bearer admin": enough to test the core's role check. */
static int test_guard(http_req *req, struct http_principal *out)
{
	const char *h = http_header(req, "Authorization");
	memset(out, 0, sizeof(*out));
	if (h && strcmp(h, "Bearer student") == 0) {
		out->sub = "s1";
		out->roles = ROLE_ETUDIANT;
		return ENT_OK;
	}
	if (h && strcmp(h, "Bearer admin") == 0) {
		out->sub = "a1";
		out->roles = ROLE_ADMIN;
		return ENT_OK;
	}
	if (h && strcmp(h, "Bearer unreachable") == 0)
		return ENT_EUNAVAIL; /* the identity provider is down: the core answers 503 */
	return ENT_EAUTH;
}

/* An event stream: the handle is kept for the test thread to send on. */
static sse_stream *stream;
static int stream_closed;
static pthread_mutex_t stream_mu = PTHREAD_MUTEX_INITIALIZER;

static void stream_gone(sse_stream *s, void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&stream_mu);
	stream_closed++;
	if (s == stream)
		stream = NULL;
	pthread_mutex_unlock(&stream_mu);
	sse_release(s);
}

static void events(http_req *req)
{
	sse_stream *s = sse_open(req, stream_gone, NULL);
	pthread_mutex_lock(&stream_mu);
	stream = s;
	pthread_mutex_unlock(&stream_mu);
}

/* 4 MiB produced on demand: a download a slow client takes longer than the head deadline to read. */
#define DOWNLOAD_SIZE (4u << 20)
static long download_read(void *ctx, uint64_t offset, char *out, size_t max)
{
	(void)ctx;
	size_t n = DOWNLOAD_SIZE - offset < max ? (size_t)(DOWNLOAD_SIZE - offset) : max;
	memset(out, 'd', n);
	return (long)n;
}

static void download(http_req *req)
{
	http_reply_stream(req, 200, "application/octet-stream", DOWNLOAD_SIZE, download_read, NULL, NULL);
}

static const struct route routes[] = {
	{.method = "GET", .pattern = "/test/download", .handler = download, .access = ACCESS_PUBLIC},
	{.method = "GET", .pattern = "/test/events", .handler = events, .access = ROLE_ETUDIANT},
	{.method = "POST", .pattern = "/test/echo", .handler = echo, .access = ACCESS_PUBLIC},
	{.method = "GET", .pattern = "/test/items/{id}", .handler = item, .access = ACCESS_PUBLIC},
	{.method = "DELETE", .pattern = "/test/items/{id}", .handler = item, .access = ROLE_ADMIN},
	{.method = "GET", .pattern = "/test/items/special", .handler = item_special, .access = ACCESS_PUBLIC},
	{.method = "GET", .pattern = "/test/big", .handler = big, .access = ACCESS_PUBLIC},
	{.method = "GET", .pattern = "/test/me", .handler = whoami, .access = ROLE_ANY_USER},
	{.method = "GET", .pattern = "/test/admin", .handler = whoami, .access = ROLE_ADMIN},
	{.method = "GET", .pattern = "/test/nobody", .handler = whoami, .access = 0},
	{.method = "GET", .pattern = "/test/silent", .handler = silent, .access = ACCESS_PUBLIC},
	{.method = "GET", .pattern = "/test/list", .handler = listed, .access = ACCESS_PUBLIC},
	{.method = "GET", .pattern = "/test/db", .handler = needs_db, .access = ACCESS_PUBLIC},
	{.method = "GET", .pattern = "/test/verdict", .handler = verdict, .access = ACCESS_PUBLIC},
	{.method = "POST",
	 .pattern = "/test/upload",
	 .handler = upload_done,
	 .access = ROLE_ANY_USER,
	 .flags = ROUTE_RAW_BODY,
	 .max_body = 8u << 20,
	 .on_body = upload_chunk},
};

/* ---- client ---- */

struct resp {
	long status;
	char *body;
	size_t len;
	char headers[8192];
	size_t hlen;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = size * n;
	r->body = realloc(r->body, r->len + len + 1);
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = size * n;
	if (r->hlen + len < sizeof(r->headers)) {
		memcpy(r->headers + r->hlen, p, len);
		r->hlen += len;
		r->headers[r->hlen] = '\0';
	}
	return len;
}

/* Returns the value of header name in r (static buffer), or NULL. */
static const char *header(const struct resp *r, const char *name)
{
	static char value[1024];
	size_t nlen = strlen(name);
	for (const char *line = r->headers; *line;) {
		const char *end = strstr(line, "\r\n");
		if (!end)
			break;
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1;
			while (*v == ' ')
				v++;
			size_t vlen = (size_t)(end - v);
			if (vlen >= sizeof(value))
				vlen = sizeof(value) - 1;
			memcpy(value, v, vlen);
			value[vlen] = '\0';
			return value;
		}
		line = end + 2;
	}
	return NULL;
}

static struct resp *request(const char *method, const char *path, struct curl_slist *headers, const char *body,
			    size_t body_len, int decode_gzip)
{
	struct resp *r = calloc(1, sizeof(*r));
	CURL *c = curl_easy_init();
	char url[20000];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (decode_gzip)
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
	if (headers)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	CURLcode rc = curl_easy_perform(c);
	assert_int_equal(rc, CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	return r;
}

static void resp_free(struct resp *r)
{
	free(r->body);
	free(r);
}

static struct curl_slist *json_ct(void) { return curl_slist_append(NULL, "Content-Type: application/json"); }

/*
 * Whether s reads as English: a few words every English sentence of the old answers had and no
 * French one has (" the ", " is ", " must ", "could not", "no such" ...).
 */
static int english(const char *s)
{
	static const char *const words[] = {"the ",         " is ",      " are ",   " must ",    " could ",
					    "cannot",       "no such",   " not ",   "invalid ",  " only ",
					    " allowed",     " required", "Invalid", "Not Found", "Bad Request",
					    "Unauthorized", "Forbidden"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(s, words[i]))
			return 1;
	return 0;
}

/* Asserts r is a problem+json with the given status, in French, and returns its parsed body. */
static json_t *assert_problem(const struct resp *r, long status)
{
	assert_int_equal(r->status, status);
	const char *ct = header(r, "Content-Type");
	assert_non_null(ct);
	assert_string_equal(ct, "application/problem+json");
	json_error_t e;
	json_t *j = json_loads(r->body, 0, &e);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
	const char *title = json_string_value(json_object_get(j, "title"));
	const char *detail = json_string_value(json_object_get(j, "detail"));
	assert_non_null(title);
	assert_non_null(json_string_value(json_object_get(j, "type")));
	assert_non_null(json_string_value(json_object_get(j, "code")));
	assert_non_null(detail);
	if (english(title) || english(detail))
		fail_msg("an answer in English: %s", r->body);
	return j;
}

/* ---- tests ---- */

static void test_echo_ok(void **state)
{
	(void)state;
	struct curl_slist *h = json_ct();
	struct resp *r = request("POST", "/test/echo", h, "{\"a\":1,\"b\":\"é\"}", strlen("{\"a\":1,\"b\":\"é\"}"), 0);
	assert_int_equal(r->status, 200);
	assert_string_equal(header(r, "Content-Type"), "application/json");
	json_t *j = json_loads(r->body, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "b")), "é");
	json_decref(j);
	resp_free(r);
	curl_slist_free_all(h);
}

static void test_body_too_large(void **state)
{
	(void)state;
	size_t n = 2u << 20;
	char *body = malloc(n);
	memset(body, ' ', n);
	body[0] = '{';
	body[n - 1] = '}';
	struct curl_slist *h = json_ct();
	struct resp *r = request("POST", "/test/echo", h, body, n, 0);
	json_t *j = assert_problem(r, 413);
	assert_string_equal(json_string_value(json_object_get(j, "title")), "Contenu trop volumineux");
	assert_string_equal(json_string_value(json_object_get(j, "detail")),
			    "Le contenu envoyé dépasse la taille maximale de 1 Mo.");
	json_decref(j);
	resp_free(r);
	/* The same without Content-Length (chunked): refused while reading. */
	h = curl_slist_append(h, "Transfer-Encoding: chunked");
	r = request("POST", "/test/echo", h, body, n, 0);
	json_decref(assert_problem(r, 413));
	resp_free(r);
	curl_slist_free_all(h);
	free(body);
}

static void test_malformed_json(void **state)
{
	(void)state;
	struct curl_slist *h = json_ct();
	struct resp *r = request("POST", "/test/echo", h, "{\"a\":", 5, 0);
	json_t *j = assert_problem(r, 400);
	assert_string_equal(json_string_value(json_object_get(j, "detail")),
			    "Le corps de la requête n'est pas du JSON valide (ligne 1, colonne 5 : le texte s'arrête "
			    "avant la fin du JSON).");
	assert_string_equal(json_string_value(json_object_get(j, "code")), "bad_request");
	assert_string_equal(json_string_value(json_object_get(j, "title")), "Requête incorrecte");
	json_decref(j);
	resp_free(r);
	r = request("POST", "/test/echo", h, "{\"a\":1,\"a\":2}", 13, 0);
	json_decref(assert_problem(r, 400));
	resp_free(r);
	r = request("POST", "/test/echo", h, "[1,2]", 5, 0);
	json_decref(assert_problem(r, 400));
	resp_free(r);
	r = request("POST", "/test/echo", h, "{} trailing", 11, 0);
	json_decref(assert_problem(r, 400));
	resp_free(r);
	r = request("POST", "/test/echo", h, "", 0, 0);
	json_decref(assert_problem(r, 400));
	resp_free(r);
	curl_slist_free_all(h);
}

static void test_wrong_content_type(void **state)
{
	(void)state;
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: text/plain");
	struct resp *r = request("POST", "/test/echo", h, "{}", 2, 0);
	json_decref(assert_problem(r, 415));
	resp_free(r);
	curl_slist_free_all(h);
	h = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
	r = request("POST", "/test/echo", h, "{}", 2, 0);
	assert_int_equal(r->status, 200);
	resp_free(r);
	curl_slist_free_all(h);
}

static void test_not_found_and_method(void **state)
{
	(void)state;
	struct resp *r = request("GET", "/no/such/thing", NULL, NULL, 0, 0);
	json_t *j = assert_problem(r, 404);
	assert_string_equal(json_string_value(json_object_get(j, "title")), "Introuvable");
	assert_string_equal(json_string_value(json_object_get(j, "code")), "not_found");
	assert_string_equal(json_string_value(json_object_get(j, "detail")),
			    "Rien ne se trouve à l'adresse /no/such/thing.");
	json_decref(j);
	resp_free(r);
	r = request("PUT", "/test/echo", NULL, NULL, 0, 0);
	j = assert_problem(r, 405);
	assert_string_equal(json_string_value(json_object_get(j, "code")), "method_not_allowed");
	assert_string_equal(json_string_value(json_object_get(j, "detail")),
			    "La méthode PUT n'est pas acceptée ici (méthodes acceptées : POST).");
	json_decref(j);
	assert_string_equal(header(r, "Allow"), "POST");
	resp_free(r);
}

static void test_params_and_literals(void **state)
{
	(void)state;
	struct resp *r = request("GET", "/test/items/abc-123", NULL, NULL, 0, 0);
	assert_int_equal(r->status, 200);
	assert_non_null(strstr(r->body, "\"id\":\"abc-123\""));
	resp_free(r);
	r = request("GET", "/test/items/special", NULL, NULL, 0, 0);
	assert_int_equal(r->status, 200);
	assert_non_null(strstr(r->body, "\"special\":\"yes\""));
	resp_free(r);
	r = request("HEAD", "/test/items/x", NULL, NULL, 0, 0);
	assert_int_equal(r->status, 200);
	resp_free(r);
}

static void test_uri_too_long(void **state)
{
	(void)state;
	char path[12000];
	memcpy(path, "/test/items/", 12);
	memset(path + 12, 'a', 10000);
	path[10012] = '\0';
	struct resp *r = request("GET", path, NULL, NULL, 0, 0);
	json_decref(assert_problem(r, 414));
	resp_free(r);
}

static void test_too_many_headers(void **state)
{
	(void)state;
	struct curl_slist *h = NULL;
	char line[64];
	for (int i = 0; i < 150; i++) {
		snprintf(line, sizeof(line), "X-Filler-%d: %d", i, i);
		h = curl_slist_append(h, line);
	}
	struct resp *r = request("GET", "/test/items/a", h, NULL, 0, 0);
	json_decref(assert_problem(r, 431));
	resp_free(r);
	curl_slist_free_all(h);
	/* One header too large. */
	char *large = malloc(20000);
	memcpy(large, "X-Large: ", 9);
	memset(large + 9, 'b', 19000);
	large[19009] = '\0';
	h = curl_slist_append(NULL, large);
	r = request("GET", "/test/items/a", h, NULL, 0, 0);
	json_decref(assert_problem(r, 431));
	resp_free(r);
	curl_slist_free_all(h);
	free(large);
}

static void test_common_headers(void **state)
{
	(void)state;
	struct resp *r = request("GET", "/test/items/a", NULL, NULL, 0, 0);
	const char *rid = header(r, "X-Request-Id");
	assert_non_null(rid);
	assert_int_equal(strlen(rid), 32);
	assert_string_equal(header(r, "X-Content-Type-Options"), "nosniff");
	assert_string_equal(header(r, "X-Frame-Options"), "DENY");
	assert_string_equal(header(r, "Referrer-Policy"), "no-referrer");
	assert_non_null(header(r, "Content-Security-Policy"));
	resp_free(r);
	struct curl_slist *h = curl_slist_append(NULL, "X-Request-Id: trace-42");
	r = request("GET", "/test/items/a", h, NULL, 0, 0);
	assert_string_equal(header(r, "X-Request-Id"), "trace-42");
	resp_free(r);
	curl_slist_free_all(h);
	/* A request id with characters we do not log is replaced. */
	h = curl_slist_append(NULL, "X-Request-Id: \"bad\"value");
	r = request("GET", "/test/items/a", h, NULL, 0, 0);
	assert_int_equal(strlen(header(r, "X-Request-Id")), 32);
	resp_free(r);
	curl_slist_free_all(h);
}

static void test_gzip(void **state)
{
	(void)state;
	struct resp *plain = request("GET", "/test/big", NULL, NULL, 0, 0);
	assert_null(header(plain, "Content-Encoding"));
	struct resp *gz = request("GET", "/test/big", NULL, NULL, 0, 1);
	assert_string_equal(header(gz, "Content-Encoding"), "gzip");
	assert_string_equal(header(gz, "Vary"), "Accept-Encoding");
	/* curl decoded it: the same bytes as the plain answer. */
	assert_int_equal(gz->len, plain->len);
	assert_memory_equal(gz->body, plain->body, plain->len);
	/* Small answers are not compressed. */
	struct resp *small = request("GET", "/test/items/a", NULL, NULL, 0, 1);
	assert_null(header(small, "Content-Encoding"));
	resp_free(plain);
	resp_free(gz);
	resp_free(small);
}

static void test_guard_and_roles(void **state)
{
	(void)state;
	struct resp *r = request("GET", "/test/me", NULL, NULL, 0, 0);
	json_decref(assert_problem(r, 401));
	assert_non_null(header(r, "WWW-Authenticate"));
	resp_free(r);
	struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer forged");
	r = request("GET", "/test/me", h, NULL, 0, 0);
	json_decref(assert_problem(r, 401));
	resp_free(r);
	curl_slist_free_all(h);
	h = curl_slist_append(NULL, "Authorization: Bearer student");
	r = request("GET", "/test/me", h, NULL, 0, 0);
	assert_int_equal(r->status, 200);
	assert_non_null(strstr(r->body, "\"s1\""));
	resp_free(r);
	r = request("GET", "/test/admin", h, NULL, 0, 0);
	json_decref(assert_problem(r, 403));
	resp_free(r);
	r = request("DELETE", "/test/items/x", h, NULL, 0, 0);
	json_decref(assert_problem(r, 403));
	resp_free(r);
	/* A route that lists no role is denied to everyone, admin included. */
	r = request("GET", "/test/nobody", h, NULL, 0, 0);
	json_decref(assert_problem(r, 403));
	resp_free(r);
	curl_slist_free_all(h);
	h = curl_slist_append(NULL, "Authorization: Bearer admin");
	r = request("GET", "/test/admin", h, NULL, 0, 0);
	assert_int_equal(r->status, 200);
	resp_free(r);
	r = request("GET", "/test/nobody", h, NULL, 0, 0);
	json_decref(assert_problem(r, 403));
	resp_free(r);
	curl_slist_free_all(h);
}

static void test_handler_without_answer(void **state)
{
	(void)state;
	struct resp *r = request("GET", "/test/silent", NULL, NULL, 0, 0);
	json_decref(assert_problem(r, 500));
	resp_free(r);
}

static void test_pagination_args(void **state)
{
	(void)state;
	/* No limit: 50, so the seven numbers fit one page; 500 is the largest limit. */
	struct resp *r = request("GET", "/test/list", NULL, NULL, 0, 0);
	assert_int_equal(r->status, 200);
	assert_string_equal(r->body, "{\"items\":[0,1,2,3,4,5,6],\"next_cursor\":null}");
	resp_free(r);
	r = request("GET", "/test/list?limit=500", NULL, NULL, 0, 0);
	assert_int_equal(r->status, 200);
	resp_free(r);
	const char *bad[] = {"/test/list?limit=0",   "/test/list?limit=501",
			     "/test/list?limit=-5",  "/test/list?limit=99999999999999999999999",
			     "/test/list?limit=abc", "/test/list?limit="};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = request("GET", bad[i], NULL, NULL, 0, 0);
		json_t *j = assert_problem(r, 400);
		assert_non_null(json_object_get(json_object_get(j, "errors"), "limit"));
		json_decref(j);
		resp_free(r);
	}
}

/* The cursor of a page's Link header, decoded from the URL ("" when none). */
static void link_cursor(struct resp *r, char *out, size_t n)
{
	out[0] = '\0';
	const char *l = header(r, "Link");
	const char *c = l ? strstr(l, "cursor=") : NULL;
	if (c)
		snprintf(out, n, "%.*s", (int)strcspn(c + 7, ">&"), c + 7);
}

static void test_page_writer(void **state)
{
	(void)state;
	/* Pages of three: 0-2, 3-5, 6; each Link keeps the filter and the limit. */
	char path[512] = "/test/list?f=x&limit=3", cur[256];
	const char *want[] = {"{\"items\":[0,1,2],\"next_cursor\":\"", "{\"items\":[3,4,5],\"next_cursor\":\"",
			      "{\"items\":[6],\"next_cursor\":null}"};
	for (int p = 0; p < 3; p++) {
		struct resp *r = request("GET", path, NULL, NULL, 0, 0);
		assert_int_equal(r->status, 200);
		assert_memory_equal(r->body, want[p], strlen(want[p]));
		link_cursor(r, cur, sizeof(cur));
		if (p < 2) {
			assert_non_null(strstr(header(r, "Link"), "</test/list?f=x&limit=3&cursor="));
			assert_non_null(strstr(header(r, "Link"), ">; rel=\"next\""));
			/* The body's next_cursor is the Link's (base64url needs no escaping). */
			assert_non_null(strstr(r->body, cur));
		} else {
			assert_null(header(r, "Link"));
		}
		snprintf(path, sizeof(path), "/test/list?f=x&limit=3&cursor=%s", cur);
		resp_free(r);
	}
	/* Bad limits and cursors: 400 with errors.limit / errors.cursor, both at once. */
	arena *a = arena_new(0);
	const char *keys[1] = {"2"};
	char foreign[300];
	snprintf(foreign, sizeof(foreign), "/test/list?cursor=%s", page_cursor_encode(a, "users", keys, 1));
	arena_free(a);
	const char *bad[] = {"/test/list?cursor=abc", "/test/list?cursor=", foreign, "/test/list?limit=0&cursor=zz"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct resp *r = request("GET", bad[i], NULL, NULL, 0, 0);
		json_t *j = assert_problem(r, 400);
		json_t *e = json_object_get(j, "errors");
		assert_string_equal(json_string_value(json_object_get(e, "cursor")), PAGE_BAD_CURSOR);
		assert_string_equal(json_string_value(json_object_get(json_object_get(j, "codes"), "cursor")),
				    "bad_cursor");
		assert_int_equal(json_object_size(e), i == 3 ? 2 : 1);
		json_decref(j);
		resp_free(r);
	}
	/* The handler's own validation: http_invalid. */
	struct resp *r = request("GET", "/test/list?f=y", NULL, NULL, 0, 0);
	json_t *j = assert_problem(r, 400);
	assert_string_equal(json_string_value(json_object_get(j, "detail")),
			    "La requête contient des champs invalides.");
	assert_non_null(json_object_get(json_object_get(j, "errors"), "f"));
	json_decref(j);
	resp_free(r);
}

static void test_failures(void **state)
{
	(void)state;
	struct resp *r = request("GET", "/test/db", NULL, NULL, 0, 0);
	json_decref(assert_problem(r, 503));
	resp_free(r);
	/* A guard that cannot decide: 503 from the core, no WWW-Authenticate. */
	struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer unreachable");
	r = request("GET", "/test/me", h, NULL, 0, 0);
	json_decref(assert_problem(r, 503));
	assert_null(header(r, "WWW-Authenticate"));
	resp_free(r);
	curl_slist_free_all(h);
}

/* A row absent and a row not visible answer the same 404; a failed read its own status. */
static void test_row_verdict(void **state)
{
	(void)state;
	struct resp *r = request("GET", "/test/verdict?rc=0&visible=1", NULL, NULL, 0, 0);
	assert_int_equal(r->status, 204);
	resp_free(r);
	const char *hidden[] = {"/test/verdict?rc=0&visible=0", "/test/verdict?rc=-2&visible=1"};
	for (int i = 0; i < 2; i++) {
		r = request("GET", hidden[i], NULL, NULL, 0, 0);
		json_t *j = assert_problem(r, 404);
		assert_string_equal(json_string_value(json_object_get(j, "detail")), "absent ou caché");
		json_decref(j);
		resp_free(r);
	}
	char path[64];
	snprintf(path, sizeof(path), "/test/verdict?rc=%d&visible=1", ENT_EBUSY);
	r = request("GET", path, NULL, NULL, 0, 0);
	json_t *j = assert_problem(r, ent_err_status(ENT_EBUSY));
	assert_string_equal(json_string_value(json_object_get(j, "detail")), "illisible");
	json_decref(j);
	resp_free(r);
}

static int raw_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* 1 when the server closed fd within timeout_ms. */
static int closed_within(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	char c;
	return recv(fd, &c, 1, 0) <= 0;
}

static void test_per_ip_limit(void **state)
{
	(void)state;
	/* The server allows 8 connections per IP (see main). The 9th is closed at once. */
	int fds[9];
	for (int i = 0; i < 8; i++)
		fds[i] = raw_connect();
	usleep(100000);
	fds[8] = raw_connect();
	assert_true(closed_within(fds[8], 2000));
	for (int i = 0; i < 9; i++)
		close(fds[i]);
}

static void test_idle_timeout(void **state)
{
	(void)state;
	/* The server closes connections idle for 1 second (see main). The connections of the previous
	 * test must be reaped first, or the per-IP limit refuses this one at once: wait (bounded) for
	 * a connection the server keeps; a server that closed every connection early fails here. */
	int fd = -1, kept = 0;
	for (int i = 0; i < 50 && !kept; i++) {
		if (fd >= 0) {
			close(fd);
			usleep(100000);
		}
		fd = raw_connect();
		kept = !closed_within(fd, 300);
	}
	assert_true(kept);
	/* Then closed for idleness (1 s, or the 2 s head deadline), however loaded the machine. */
	assert_true(closed_within(fd, 10000));
	close(fd);
}

/* Reads from fd until needle appears in what was read (or 10 s pass). Returns 1 when found. */
static int read_until(int fd, char *got, size_t cap, const char *needle)
{
	size_t len = strlen(got);
	for (int i = 0; i < 1000 && !strstr(got, needle); i++) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 10) <= 0)
			continue;
		ssize_t n = read(fd, got + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		got[len] = '\0';
	}
	return strstr(got, needle) != NULL;
}

static sse_stream *current_stream(void)
{
	for (int i = 0; i < 300; i++) {
		pthread_mutex_lock(&stream_mu);
		sse_stream *s = stream;
		pthread_mutex_unlock(&stream_mu);
		if (s)
			return s;
		usleep(10000);
	}
	return NULL;
}

static void test_event_stream(void **state)
{
	(void)state;
	int fd = raw_connect();
	const char *head = "GET /test/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer student\r\n\r\n";
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	static char got[8192];
	got[0] = '\0';
	assert_true(read_until(fd, got, sizeof got, "retry: 3000"));
	assert_non_null(strstr(got, "HTTP/1.1 200"));
	assert_non_null(strcasestr(got, "Content-Type: text/event-stream"));
	sse_stream *s = current_stream();
	assert_non_null(s);
	/* Idle longer than the server's 1 s idle timeout and its 2 s head deadline: a waiting stream
	 * is not cut. */
	usleep(3000000);
	assert_int_equal(sse_send(s, "notification", "42", "{\"a\":1}\nsecond line"), 0);
	assert_true(read_until(fd, got, sizeof got, "data: second line\n"));
	assert_non_null(strstr(got, "event: notification\nid: 42\ndata: {\"a\":1}\ndata: second line\n"));
	assert_int_equal(sse_count(), 1);
	/* The client leaves while the stream waits: the server notices, on_close runs once. */
	close(fd);
	int closed = 0;
	for (int i = 0; i < 500 && !closed; i++) {
		pthread_mutex_lock(&stream_mu);
		closed = stream_closed;
		pthread_mutex_unlock(&stream_mu);
		usleep(10000);
	}
	assert_int_equal(closed, 1);
	assert_int_equal(sse_count(), 0);

	/* Without a token: 401, no stream. */
	fd = raw_connect();
	const char *anon = "GET /test/events HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(write(fd, anon, strlen(anon)), (ssize_t)strlen(anon));
	got[0] = '\0';
	assert_true(read_until(fd, got, sizeof got, "\r\n\r\n"));
	assert_non_null(strstr(got, "HTTP/1.1 401"));
	close(fd);

	/* The server ends a stream: what was queued arrives, then the end of the chunked body. */
	fd = raw_connect();
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	got[0] = '\0';
	assert_true(read_until(fd, got, sizeof got, "retry: 3000"));
	s = current_stream();
	assert_non_null(s);
	assert_int_equal(sse_send(s, "last", NULL, "bye"), 0);
	sse_close(s);
	assert_true(read_until(fd, got, sizeof got, "data: bye\n\n\r\n0\r\n\r\n"));
	close(fd);
	for (int i = 0; i < 300 && sse_count() > 0; i++)
		usleep(10000);
	assert_int_equal(sse_count(), 0);

	/* A stream left open when the server stops (main's http_stop) must not hang the stop. */
	fd = raw_connect();
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	got[0] = '\0';
	assert_true(read_until(fd, got, sizeof got, "retry: 3000"));
	assert_non_null(current_stream());
}

static void test_streaming_upload(void **state)
{
	(void)state;
	size_t n = 5u << 20;
	char *body = malloc(n);
	memset(body, 'x', n);
	struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer student");
	h = curl_slist_append(h, "Content-Type: application/octet-stream");
	int before = uploads_freed;
	struct resp *r = request("POST", "/test/upload", h, body, n, 0);
	assert_int_equal(r->status, 201);
	assert_non_null(strstr(r->body, "\"bytes\":5242880"));
	resp_free(r);
	/* Refused while streaming: the rest is drained, the problem answered at the end. */
	memcpy(body, "BAD", 3);
	r = request("POST", "/test/upload", h, body, n, 0);
	json_decref(assert_problem(r, 415));
	resp_free(r);
	/* Over the route's limit (8 MiB), chunked so that it is found while streaming. */
	char *big = malloc(9u << 20);
	memset(big, 'y', 9u << 20);
	struct curl_slist *hc = curl_slist_append(NULL, "Authorization: Bearer student");
	hc = curl_slist_append(hc, "Transfer-Encoding: chunked");
	r = request("POST", "/test/upload", hc, big, 9u << 20, 0);
	json_decref(assert_problem(r, 413));
	resp_free(r);
	curl_slist_free_all(hc);
	free(big);
	/* The access check runs before any byte of the body is taken. */
	struct curl_slist *anon = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	r = request("POST", "/test/upload", anon, body, n, 0);
	json_decref(assert_problem(r, 401));
	resp_free(r);
	curl_slist_free_all(anon);
	/* Every upload state was released (arena cleanups ran, after the answers: waited for, bounded). */
	for (int i = 0; i < 500 && uploads_freed - before < 3; i++)
		usleep(10000);
	assert_int_equal(uploads_freed - before, 3);
	curl_slist_free_all(h);
	free(body);
}

/*
 * Writes head on a new connection and returns the whole answer read until the server closes it
 * (at most 5 s), in a static buffer; *closed tells whether it did close.
 */
static const char *raw_exchange(const char *head, size_t len, int *closed)
{
	static char got[16384];
	int fd = raw_connect();
	assert_int_equal(write(fd, head, len), (ssize_t)len);
	size_t n = 0;
	*closed = 0;
	for (int i = 0; i < 500 && !*closed; i++) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 10) <= 0)
			continue;
		ssize_t k = read(fd, got + n, sizeof(got) - 1 - n);
		if (k <= 0)
			*closed = 1;
		else
			n += (size_t)k;
	}
	got[n] = '\0';
	close(fd);
	return got;
}

static void test_one_reading(void **state)
{
	(void)state;
	/* Heads a proxy could read otherwise: 400 problem+json, Connection: close, closed. */
	static const struct {
		const char *head;
		size_t len;
	} bad[] = {
#define B(s) {s, sizeof(s) - 1}
		B("POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\n{}"
		  "GET /test/items/1 HTTP/1.1\r\nHost: x\r\n\r\n"),
		B("POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
		B("POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
		B("POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
		B("GET /test/items/1 HTTP/1.1\r\n\r\n"),
		B("GET /test/items/1 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
		B("GET /test/items/special%00/x HTTP/1.1\r\nHost: x\r\n\r\n"),
		B("GET /test/items/special\0/x HTTP/1.1\r\nHost: x\r\n\r\n"),
		B("GET /test/items/a\x01b HTTP/1.1\r\nHost: x\r\n\r\n"),
		B("GET /test/items/a%0d%0ab HTTP/1.1\r\nHost: x\r\n\r\n"),
#undef B
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int closed;
		const char *got = raw_exchange(bad[i].head, bad[i].len, &closed);
		if (strncmp(got, "HTTP/1.1 400 ", 13) != 0 || !strcasestr(got, "\r\nConnection: close\r\n") ||
		    !strstr(got, "application/problem+json") || strstr(got + 13, "HTTP/1.1 ") || !closed)
			fail_msg("case %zu: %s (closed: %d)", i, got, closed);
	}
	/* Not UTF-8 once decoded: 400 (no handler gets such a parameter). */
	int closed;
	const char *got = raw_exchange("GET /test/items/%ff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 60,
				       &closed);
	assert_int_equal(strncmp(got, "HTTP/1.1 400 ", 13), 0);
	got = raw_exchange("GET /test/items/caf%C3%A9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 66, &closed);
	assert_int_equal(strncmp(got, "HTTP/1.1 200 ", 13), 0);
	/* The same Content-Length twice is one reading; HTTP/1.0 needs no Host. */
	static const char same[] = "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				   "Content-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
	got = raw_exchange(same, sizeof(same) - 1, &closed);
	assert_int_equal(strncmp(got, "HTTP/1.1 200 ", 13), 0);
	got = raw_exchange("GET /test/items/1 HTTP/1.0\r\n\r\n", 30, &closed);
	assert_int_equal(strncmp(got, "HTTP/1.1 200 ", 13), 0);
}

/* Sends head, then one byte of drip every 200 ms; returns the ms until the server closed (or -1 after 10 s). */
static long trickle_until_closed(const char *head, char drip)
{
	int fd = raw_connect();
	assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	uint64_t t0 = util_now_ns();
	long closed_ms = -1;
	for (int i = 0; i < 50 && closed_ms < 0; i++) {
		if (closed_within(fd, 200))
			closed_ms = (long)((util_now_ns() - t0) / 1000000u);
		else if (send(fd, &drip, 1, MSG_NOSIGNAL) != 1)
			closed_ms = (long)((util_now_ns() - t0) / 1000000u);
	}
	close(fd);
	return closed_ms;
}

static void test_slow_clients(void **state)
{
	(void)state;
	/* The server gives 2 s to send a head (see main), whatever trickles in: the idle timeout
	 * (1 s) alone never fires, a byte comes every 200 ms. */
	long ms = trickle_until_closed("GET /test/items/1 HTTP/1.1\r\nHost: x\r\nX-Slow: ", 'a');
	assert_true(ms > 0 && ms < 9000); /* -1: still open after 10 s */
	assert_true(ms >= 1500);
	/* A body at 5 bytes/s, under the minimum of 1024 after the 2 s grace: cut. */
	ms = trickle_until_closed("POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				  "Content-Length: 100000\r\n\r\n",
				  ' ');
	assert_true(ms > 0 && ms < 9000);
	assert_true(ms >= 1500);
	/* A download read slowly, for longer than the deadline, is not cut: the answer is not a head. */
	int fd = raw_connect();
	const char *get = "GET /test/download HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	assert_int_equal(write(fd, get, strlen(get)), (ssize_t)strlen(get));
	size_t total = 0;
	uint64_t t0 = util_now_ns();
	static char chunk[32768];
	for (int i = 0; i < 1000; i++) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 10000) <= 0)
			break;
		ssize_t k = read(fd, chunk, sizeof chunk);
		if (k <= 0)
			break;
		total += (size_t)k;
		usleep(25000); /* about 1.3 MB/s: 3 s for the 4 MiB */
	}
	close(fd);
	assert_true(util_now_ns() - t0 > 2500000000u);
	assert_true(total > DOWNLOAD_SIZE);
}

static void test_metrics_counted(void **state)
{
	(void)state;
	struct resp *r = request("GET", "/test/items/zz", NULL, NULL, 0, 0);
	resp_free(r);
	buf b;
	buf_init(&b, 0);
	struct metrics_gauges g = {0};
	metrics_write(&b, "test", &g);
	assert_non_null(strstr(
		b.data,
		"ent_http_requests_total{service=\"test\",route=\"/test/items/{id}\",method=\"GET\",status=\"200\"}"));
	assert_non_null(
		strstr(b.data, "ent_http_request_duration_seconds_count{service=\"test\",route=\"/test/items/{id}\"}"));
	assert_non_null(strstr(b.data, "process_resident_memory_bytes"));
	buf_free(&b);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (router_add(&routes[i], "test") < 0)
			return 1;
	metrics_init(router_count());
	http_set_guard(test_guard);
	struct http_options opt = {
		.listen = "127.0.0.1:0", .threads = 2, .idle_timeout = 1, .per_ip_connections = 8, .header_timeout = 2};
	char err[256];
	if (http_start(&opt, &srv, err, sizeof(err)) != ENT_OK) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	port = http_port(srv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_ok),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_wrong_content_type),
		cmocka_unit_test(test_not_found_and_method),
		cmocka_unit_test(test_params_and_literals),
		cmocka_unit_test(test_uri_too_long),
		cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_common_headers),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_guard_and_roles),
		cmocka_unit_test(test_handler_without_answer),
		cmocka_unit_test(test_pagination_args),
		cmocka_unit_test(test_page_writer),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_row_verdict),
		cmocka_unit_test(test_streaming_upload),
		cmocka_unit_test(test_event_stream),
		cmocka_unit_test(test_metrics_counted),
		cmocka_unit_test(test_one_reading),
		cmocka_unit_test(test_slow_clients),
		cmocka_unit_test(test_per_ip_limit),
		cmocka_unit_test(test_idle_timeout),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	http_stop(srv); /* with an event stream still open (test_event_stream) */
	if (sse_count() != 0) {
		fprintf(stderr, "an event stream outlived http_stop\n");
		failed++;
	}
	router_reset();
	metrics_free();
	curl_global_cleanup();
	return failed;
}
