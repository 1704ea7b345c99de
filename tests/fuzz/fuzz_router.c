/*
 * fuzz_router.c - libFuzzer target for the router and path decoding: the input is a method, a
 * newline and a request path, matched raw and after percent-decoding (libmicrohttpd decodes the
 * path before the router sees it). Checks what handlers rely on: a match has a route of that
 * method (GET for HEAD), parameter values are non-empty and hold no '/', and a 405 lists methods.
 */
#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void nop(http_req *req) { (void)req; }

static const struct route routes[] = {
	{.method = "GET", .pattern = "/health", .handler = nop},
	{.method = "GET", .pattern = "/api/users", .handler = nop},
	{.method = "POST", .pattern = "/api/users", .handler = nop},
	{.method = "GET", .pattern = "/api/users/{id}", .handler = nop},
	{.method = "PUT", .pattern = "/api/users/{id}", .handler = nop},
	{.method = "GET", .pattern = "/api/users/me", .handler = nop},
	{.method = "GET", .pattern = "/api/cours/{id}/files/{file}", .handler = nop},
	{.method = "DELETE", .pattern = "/api/cours/{id}/files/{file}", .handler = nop},
	{.method = "GET", .pattern = "/api/notes/evaluations/{id}/grades", .handler = nop},
	{.method = "PUT", .pattern = "/api/notes/evaluations/{id}/grades", .handler = nop},
	{.method = "GET", .pattern = "/a/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", .handler = nop},
};

static void check(const char *method, const char *path)
{
	arena *a = arena_new(0);
	struct router_match m;
	int rc = router_match(method, path, a, &m);
	if (rc == ENT_OK) {
		const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
		if (!m.route || strcmp(m.route->method, want) != 0 || m.nparams > ROUTER_MAX_PARAMS)
			__builtin_trap();
		for (int i = 0; i < m.nparams; i++)
			if (!m.values[i][0] || strchr(m.values[i], '/') || !m.names[i])
				__builtin_trap();
	} else if (rc == ENT_EINVAL) {
		if (m.route || !m.allow[0])
			__builtin_trap();
	} else if (rc != ENT_ENOTFOUND) {
		__builtin_trap();
	}
	arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
			if (router_add(&routes[i], "fuzz") < 0)
				abort();
		ready = 1;
	}
	if (size > 65536)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	char *nl = strchr(s, '\n');
	const char *method = "GET", *path = s;
	if (nl) {
		*nl = '\0';
		method = s;
		path = nl + 1;
	}
	check(method, path);
	/* What libmicrohttpd hands over: the path percent-decoded in place (a %00 cuts it there,
	 * which is why the core refuses a %00 in the raw target before the router sees it). */
	MHD_http_unescape((char *)path);
	check(method, path);
	free(s);
	return 0;
}
