/*
 * core.c - the routes every ENT process serves, whatever its --services:
 *   GET /health              liveness and readiness (503 when the database does not answer)
 *   GET /metrics             Prometheus exposition for every service of this process
 *   GET /metrics/{service}   the same, for one service (the seed's /metrics/<service>)
 *   GET /openapi.json        the OpenAPI 3.1 document, generated from the route table
 *   GET /docs                the interactive API reference (Swagger UI, served locally)
 *   GET /config.json         what the portal needs to log in: issuer, client id, services here
 *   GET /, /portail, ...     the portal (web/dist/index.html) for each of its client-side routes
 *   GET /assets/{file}       the portal's hashed assets, cached for a year
 */
#include "bus/bus.h"
#include "core/app.h"
#include "core/err.h"
#include "core/metrics.h"
#include "core/router.h"
#include "core/sse.h"
#include "core/static.h"
#include "openapi.h"

#include <string.h>
#include <time.h>

/*
 * Database reachability, asked at most once a second per worker thread: load balancers poll
 * /health often, and a one-second-old answer is as good as a fresh one.
 */
static int db_up(void)
{
	static _Thread_local time_t checked;
	static _Thread_local int up;
	time_t now = time(NULL);
	if (now != checked) {
		db_conn *c = app_db();
		up = c && db_ping(c) == ENT_OK;
		checked = now;
	}
	return up;
}

static void health(http_req *req)
{
	int up = db_up();
	buf b;
	buf_init(&b, 0);
	jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_kstr(&w, "status", up ? "ok" : "unavailable");
	jw_kstr(&w, "version", ENT_VERSION);
	jw_kstr(&w, "commit", ENT_GIT);
	jw_key(&w, "services");
	jw_arr_open(&w);
	for (size_t i = 0; i < app.nservices; i++)
		jw_str(&w, app.services[i]->name);
	jw_arr_close(&w);
	jw_key(&w, "database");
	jw_obj_open(&w);
	jw_kstr(&w, "kind", app.db && db_kind(app.db) == DB_POSTGRES ? "postgresql" : "sqlite");
	jw_kbool(&w, "reachable", up);
	jw_obj_close(&w);
	jw_kint(&w, "uptime_seconds", (int64_t)(time(NULL) - app.started));
	jw_obj_close(&w);
	http_reply_buf(req, up ? 200 : 503, "application/json", &b);
}

static void metrics_reply(http_req *req, const char *service)
{
	db_conn *c = app_db();
	struct metrics_gauges g = {
		.in_flight = http_in_flight(),
		.db_connections = app.db ? db_connections(app.db) : 0,
		.db_up = c && db_ping(c) == ENT_OK,
		.sse_streams = sse_count(),
		.bus_pending = bus_pending(),
		.bus_broker_up = bus_broker_up(),
	};
	rcache_stats(&g.cache);
	buf b;
	buf_init(&b, 0);
	metrics_write(&b, service, &g);
	http_reply_buf(req, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}

static void metrics_all(http_req *req) { metrics_reply(req, NULL); }

static void metrics_one(http_req *req)
{
	const char *name = http_param(req, "service");
	for (size_t i = 0; i < app.nservices; i++) {
		if (strcmp(app.services[i]->name, name) == 0) {
			metrics_reply(req, name);
			return;
		}
	}
	http_problemf(req, 404, "Aucun service nommé « %s » ne tourne dans ce processus.", name);
}

static void openapi(http_req *req)
{
	size_t len;
	const char *doc = openapi_document(&len);
	http_set_header(req, "Cache-Control", "no-cache");
	http_reply_data(req, 200, "application/json", doc, len);
}

static const char docs_page[] = "<!doctype html>\n"
				"<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ENT API reference</title>\n"
				"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
				"<link rel=\"icon\" href=\"data:,\">\n"
				"<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\">\n"
				"</head><body>\n"
				"<div id=\"swagger-ui\"></div>\n"
				"<script src=\"/docs/swagger-ui-bundle.js\"></script>\n"
				"<script src=\"/docs/init.js\"></script>\n"
				"</body></html>\n";

/* Swagger UI sets element styles at run time; no inline or remote script is allowed. */
static const char docs_csp[] = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
			       "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

static void docs(http_req *req)
{
	http_set_header(req, "Content-Security-Policy", docs_csp);
	http_set_header(req, "Cache-Control", "no-cache");
	http_reply_data(req, 200, "text/html; charset=utf-8", docs_page, sizeof(docs_page) - 1);
}

static void docs_asset(http_req *req)
{
	char root[4096];
	snprintf(root, sizeof(root), "%s/docs", app.cfg->web);
	if (static_send(req, root, http_param(req, "file"), "public, max-age=3600") != ENT_OK)
		http_problemf(
			req, 404,
			"Aucun fichier de documentation nommé « %s » : les fichiers du portail ne sont peut-être pas "
			"construits (make web).",
			http_param(req, "file"));
}

/* ---- the portal (docs/portal.md) ---- */

#define PORTAL_CLIENT_ID "ent-portal"

/* The issuer the portal logs in with: ENT_OIDC_ISSUER, or the built-in provider's. No trailing slash. */
static void portal_issuer(char *out, size_t len)
{
	if (app.cfg->issuer && *app.cfg->issuer)
		snprintf(out, len, "%s", app.cfg->issuer);
	else
		snprintf(out, len, "%s/realms/ent", app.cfg->public_url);
	size_t n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
}

static void portal_config(http_req *req)
{
	char issuer[1024];
	portal_issuer(issuer, sizeof(issuer));
	buf b;
	buf_init(&b, 0);
	jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_kstr(&w, "issuer", issuer);
	jw_kstr(&w, "client_id", PORTAL_CLIENT_ID);
	jw_key(&w, "services");
	jw_arr_open(&w);
	for (size_t i = 0; i < app.nservices; i++)
		jw_str(&w, app.services[i]->name);
	jw_arr_close(&w);
	jw_obj_close(&w);
	http_set_header(req, "Cache-Control", "no-cache");
	http_reply_buf(req, 200, "application/json", &b);
}

/*
 * The portal's policy: scripts and styles from this origin only (React sets styles through the
 * CSSOM, which style-src does not restrict); API calls to this origin and, with an external
 * issuer, to that issuer's origin (token refresh). Frames only from blob: URLs, which only the
 * portal's own scripts make: a course document fetched with the token and shown at a page.
 */
static const char *portal_csp(http_req *req)
{
	char issuer[1024], origin[1024] = "";
	portal_issuer(issuer, sizeof(issuer));
	const char *scheme = strstr(issuer, "://");
	if (scheme && strncmp(issuer, app.cfg->public_url, strlen(app.cfg->public_url)) != 0) {
		size_t n = strcspn(scheme + 3, "/");
		snprintf(origin, sizeof(origin), " %.*s", (int)(scheme + 3 + n - issuer), issuer);
		/* Only printable text without separators goes into the header. */
		for (char *p = origin + 1; *p; p++)
			if ((unsigned char)*p <= 0x20 || *p == ';' || *p == ',' || *p == '\'' ||
			    (unsigned char)*p >= 0x7f) {
				origin[0] = '\0';
				break;
			}
	}
	return arena_printf(
		http_arena(req),
		"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
		/* A course material shown in the portal: fetched with the token, shown from a blob: URL. */
		"media-src 'self' blob:; frame-src 'self' blob:; "
		"font-src 'self'; connect-src 'self'%s; object-src 'none'; base-uri 'self'; form-action 'self'%s; "
		"frame-ancestors 'none'",
		origin, origin);
}

/* index.html for every client-side route of the portal; never cached, so a new build is seen at once. */
static void portal_page(http_req *req)
{
	http_set_header(req, "Content-Security-Policy", portal_csp(req));
	if (static_send(req, app.cfg->web, "index.html", "no-cache") != ENT_OK)
		http_problem(
			req, 404,
			"Le portail n'est pas construit : lancez `make web` (ou donnez dans ENT_WEB le dossier d'un "
			"portail construit).");
}

/* Vite names assets by their content's hash: they never change, so browsers keep them a year. */
static void portal_asset(http_req *req)
{
	char root[4096];
	snprintf(root, sizeof(root), "%s/assets", app.cfg->web);
	if (static_send(req, root, http_param(req, "file"), "public, max-age=31536000, immutable") != ENT_OK)
		http_problemf(req, 404, "Aucun fichier du portail nommé « %s ».", http_param(req, "file"));
}

static const char config_schema[] =
	"{\"type\":\"object\",\"required\":[\"issuer\",\"client_id\",\"services\"],\"properties\":{"
	"\"issuer\":{\"type\":\"string\"},\"client_id\":{\"type\":\"string\"},"
	"\"services\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}}";

static const char health_schema[] =
	"{\"type\":\"object\",\"required\":[\"status\",\"version\",\"services\",\"database\"],\"properties\":{"
	"\"status\":{\"type\":\"string\",\"enum\":[\"ok\",\"unavailable\"]},\"version\":{\"type\":\"string\"},"
	"\"commit\":{\"type\":\"string\"},\"services\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	"\"database\":{\"type\":\"object\",\"properties\":{\"kind\":{\"type\":\"string\"},\"reachable\":{\"type\":\"boolean\"}}},"
	"\"uptime_seconds\":{\"type\":\"integer\"}}}";

static const struct route routes[] = {
	ROUTE("GET", "/health", health, ACCESS_PUBLIC,
	      .summary =
		      "Liveness and readiness: version, services of this process, database reachability (503 when down)",
	      .response_schema = health_schema),
	ROUTE("GET", "/metrics", metrics_all, ACCESS_PUBLIC, .flags = ROUTE_NO_LOG,
	      .summary = "Prometheus metrics of this process (text exposition format)",
	      .response_schema = "{\"type\":\"string\"}"),
	ROUTE("GET", "/metrics/{service}", metrics_one, ACCESS_PUBLIC, .flags = ROUTE_NO_LOG,
	      .summary = "Prometheus metrics of one service of this process",
	      .response_schema = "{\"type\":\"string\"}"),
	ROUTE("GET", "/openapi.json", openapi, ACCESS_PUBLIC, .flags = ROUTE_NO_DOC,
	      .summary = "This OpenAPI document"),
	ROUTE("GET", "/docs", docs, ACCESS_PUBLIC, .flags = ROUTE_NO_DOC, .summary = "Interactive API reference"),
	ROUTE("GET", "/docs/{file}", docs_asset, ACCESS_PUBLIC, .flags = ROUTE_NO_DOC,
	      .summary = "Assets of the API reference page"),
	ROUTE("GET", "/config.json", portal_config, ACCESS_PUBLIC,
	      .summary = "The portal's settings: OIDC issuer, client id, services this process runs",
	      .response_schema = config_schema),
	ROUTE("GET", "/assets/{file}", portal_asset, ACCESS_PUBLIC, .flags = ROUTE_NO_DOC,
	      .summary = "The portal's hashed assets"),
#define PORTAL_ROUTE(p)                                                                                                \
	ROUTE("GET", p, portal_page, ACCESS_PUBLIC, .flags = ROUTE_NO_DOC,                                             \
	      .summary = "The portal (single-page application)")
	PORTAL_ROUTE("/"),
	PORTAL_ROUTE("/login"),
	PORTAL_ROUTE("/login/callback"),
	PORTAL_ROUTE("/portail"),
	PORTAL_ROUTE("/cours"),
	PORTAL_ROUTE("/cours/{id}"),
	PORTAL_ROUTE("/notes"),
	PORTAL_ROUTE("/notifications"),
	PORTAL_ROUTE("/admin"),
	PORTAL_ROUTE("/admin/{section}"),
#undef PORTAL_ROUTE
};

/* Unknown paths asked for by a browser get the portal too (its own router shows "not found"). */
static int core_start(void)
{
	http_set_page_fallback(portal_page);
	rcache_init(app.cfg ? app.cfg->n_cache_bytes : 0);
	rcache_start();
	return ENT_OK;
}

static void core_stop(void) { rcache_stop(); }

/* The event bus's tables live with the core service, which every process runs. */
static const struct migration migrations[] = {
	{1, "event bus: outbox, applied events, cursors", bus_schema_v1, bus_schema_v1_pg},
	{2, "versioned answers: the change of every cached answer's inputs", rcache_schema_v1, rcache_schema_v1_pg},
};

const struct service svc_core = {
	.name = "core",
	.title = "Health, metrics and API documentation",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.migrations = migrations,
	.nmigrations = sizeof(migrations) / sizeof(migrations[0]),
	.start = core_start,
	.stop = core_stop,
};
