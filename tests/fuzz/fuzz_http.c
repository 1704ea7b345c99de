/*
 * fuzz_http.c - libFuzzer target for raw HTTP request heads (and what follows them) through the
 * real server: http_start() in this process on a loopback port, routes with path parameters, a
 * JSON body and a paginated list (?limit=, ?cursor=: query strings and cursors from the wire).
 * Each input is written on a new connection, which is then half-closed; the answers are read
 * until the server closes or goes quiet. No answer may be a 5xx, and a crash or a sanitizer
 * report in a server thread fails the run. Slow (a connection per input) but it is the whole
 * lifecycle of docs/request-lifecycle.md.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/http.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/page.h"
#include "core/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void item(http_req *req) { http_reply_json(req, 200, json_pack("{s:s}", "id", http_param(req, "id"))); }

static void echo(http_req *req)
{
	json_t *j = http_json_body(req);
	if (j)
		http_reply_json(req, 200, json_incref(j));
}

static void list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "numbers", 2))
		return;
	const char *keys[2] = {http_query(req, "k") ? http_query(req, "k") : "a", "b"};
	jw *w = page_item(&pg, keys);
	if (w)
		jw_int(w, 1);
	static const char *const keep[] = {"k", "limit", NULL};
	page_reply(&pg, keep);
}

static const struct route routes[] = {
	{.method = "GET", .pattern = "/f/items/{id}", .handler = item, .access = ACCESS_PUBLIC},
	{.method = "POST", .pattern = "/f/echo", .handler = echo, .access = ACCESS_PUBLIC, .max_body = 4096},
	{.method = "GET", .pattern = "/f/list", .handler = list, .access = ACCESS_PUBLIC},
	{.method = "GET", .pattern = "/f/private", .handler = item, .access = ROLE_ADMIN},
};

static unsigned port;

static void start(void)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (router_add(&routes[i], "fuzz") < 0)
			abort();
	metrics_init(router_count());
	log_set_level(LOG_ERROR);
	log_set_access(0);
	struct http_options opt = {.listen = "127.0.0.1:0",
				   .threads = 2,
				   .idle_timeout = 2,
				   .header_timeout = 2,
				   .per_ip_connections = 1000};
	http_server *srv;
	char err[256];
	if (http_start(&opt, &srv, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	port = http_port(srv);
}

/*
 * Whether a status line 5xx (505 aside) is in got. A status line starts the reply or follows the end of a
 * body ('}' of JSON, or a line end) and ends with CRLF before any '"': a JSON body that quotes
 * the path cannot look like one (its strings hold no raw CR).
 */
static int has_5xx(const char *got)
{
	for (const char *p = got; (p = strstr(p, "HTTP/1.")); p++) {
		if (p != got && p[-1] != '\n' && p[-1] != '}')
			continue;
		if ((p[7] != '0' && p[7] != '1') || p[8] != ' ' || p[9] != '5')
			continue;
		if (strncmp(p + 9, "505 ", 4) == 0)
			continue; /* libmicrohttpd's own answer to an HTTP version it does not speak: correct */
		size_t n = strcspn(p, "\"\r");
		if (p[n] == '\r')
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!port)
		start();
	if (size > 65536)
		return 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		abort();
	size_t off = 0;
	while (off < size) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server closed early (a limit): fine */
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	static char got[1 << 16];
	size_t len = 0;
	for (;;) {
		/*
		 * libmicrohttpd 0.9 does not close a kept-alive connection when the client half-closes
		 * it: once answers came, 50 ms of silence ends the input (or every well-formed request
		 * would wait for the 2 s head deadline). Before any answer, the deadline closes it.
		 */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, len ? 50 : 5000) <= 0)
			break;
		ssize_t n = recv(fd, got + len, sizeof(got) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(got) - 1)
			len = 0; /* only the statuses matter: keep the last bytes */
	}
	got[len] = '\0';
	close(fd);
	if (has_5xx(got)) {
		fprintf(stderr, "a 5xx answer:\n%.400s\n", got);
		__builtin_trap();
	}
	return 0;
}
