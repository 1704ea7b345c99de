/*
 * auth.c - the auth service: the seed's auth-service and its Keycloak, in one table.
 *
 * Routes: the built-in OIDC provider at Keycloak's paths (oidc.c), the seed's /api/auth (me,
 * validate for gateways, jwks) and /test-jwks. At start: keys are loaded (generated the first
 * time), the portal client `ent-portal` is registered for ENT_PUBLIC_URL, and the access guard
 * (guard.c) is installed for every service of the process.
 *
 * Commands: `ent token EMAIL`, `ent keys rotate`, `ent client add`.
 */
#include "internal.h"

#include "auth.h"
#include "core/app.h"
#include "core/err.h"
#include "core/jwt.h"
#include "core/log.h"
#include "core/service.h"
#include "core/util.h"
#include "services/users/users.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- /api/auth ---- */

static void api_me(http_req *req)
{
	const struct http_principal *p = http_principal(req);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:o}", "sub", p->sub, "iss", p->iss, "preferred_username",
			      p->username, "email", p->email, "name", p->name, "roles", auth_roles_json(p->roles));
	http_reply_json(req, 200, j);
}

/* The verified token's payload, decoded again (the guard checked it already). */
static json_t *payload_of(http_req *req)
{
	const char *h = http_header(req, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	const char *t = h + 7;
	while (*t == ' ')
		t++;
	const char *d1 = strchr(t, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d2)
		return NULL;
	size_t n = (size_t)(d2 - d1 - 1);
	unsigned char *raw = arena_alloc(http_arena(req), n + 1);
	long len = b64url_decode(d1 + 1, n, raw, n + 1);
	if (len <= 0)
		return NULL;
	return json_loadb((const char *)raw, (size_t)len, 0, NULL);
}

static void api_validate(http_req *req)
{
	const struct http_principal *p;
	if (http_run_guard(req, &p) != ENT_OK)
		return;
	json_t *claims = payload_of(req);
	if (!claims)
		claims = json_object();
	/* Headers a gateway can forward (Traefik forwardAuth authResponseHeaders). */
	http_set_header(req, "X-Auth-User", p->sub);
	json_t *roles = auth_roles_json(p->roles);
	char joined[128] = "";
	size_t i, pos = 0;
	json_t *r;
	json_array_foreach (roles, i, r)
		pos += (size_t)snprintf(joined + pos, sizeof(joined) - pos, "%s%s", i ? "," : "", json_string_value(r));
	http_set_header(req, "X-Auth-Roles", joined);
	json_t *j = json_pack("{s:b, s:s, s:o, s:o}", "active", 1, "user_id", p->sub, "roles", roles, "claims", claims);
	http_reply_json(req, 200, j);
}

static void api_jwks(http_req *req)
{
	if (auth_external()) {
		http_problemf(req, 404, "Les jetons viennent de %s : ses clés publiques (JWKS) y sont publiées.",
			      auth_issuer());
		return;
	}
	oidc_certs(req);
}

static const char me_schema[] =
	"{\"type\":\"object\",\"properties\":{\"sub\":{\"type\":\"string\"},\"iss\":{\"type\":\"string\"},"
	"\"preferred_username\":{\"type\":\"string\"},\"email\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},"
	"\"roles\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"enum\":[\"etudiant\",\"enseignant\",\"admin\",\"service\"]}}}}";
static const char jwks_schema[] =
	"{\"type\":\"object\",\"required\":[\"keys\"],\"properties\":{\"keys\":{\"type\":\"array\","
	"\"items\":{\"type\":\"object\"}}}}";
static const char validate_schema[] =
	"{\"type\":\"object\",\"properties\":{\"active\":{\"type\":\"boolean\"},"
	"\"user_id\":{\"type\":\"string\"},\"roles\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	"\"claims\":{\"type\":\"object\"}}}";

#define OIDC AUTH_REALM_PATH "/protocol/openid-connect"

static const struct route routes[] = {
	ROUTE("GET", AUTH_REALM_PATH "/.well-known/openid-configuration", oidc_discovery, ACCESS_PUBLIC,
	      .summary = "OpenID Connect discovery document"),
	ROUTE("GET", OIDC "/auth", oidc_authorize, ACCESS_PUBLIC,
	      .summary =
		      "Authorization endpoint (code flow with PKCE S256): the login page, or a code when a session exists",
	      .response_schema = "{\"type\":\"string\",\"contentMediaType\":\"text/html\"}"),
	ROUTE("POST", AUTH_REALM_PATH "/login-actions/authenticate", oidc_login_post, ACCESS_PUBLIC,
	      .flags = ROUTE_RAW_BODY, .max_body = 16384, .status = 303,
	      .summary = "Target of the login form (application/x-www-form-urlencoded, CSRF-protected)"),
	ROUTE("GET", AUTH_REALM_PATH "/login-actions/activate", oidc_activate_get, ACCESS_PUBLIC,
	      .summary = "Account activation form (first login with an activation code)",
	      .response_schema = "{\"type\":\"string\",\"contentMediaType\":\"text/html\"}"),
	ROUTE("POST", AUTH_REALM_PATH "/login-actions/activate", oidc_activate_post, ACCESS_PUBLIC,
	      .flags = ROUTE_RAW_BODY, .max_body = 16384,
	      .summary = "Target of the activation form: checks the code, sets the password, logs in"),
	ROUTE("POST", AUTH_REALM_PATH "/login-actions/otp", oidc_otp_post, ACCESS_PUBLIC, .flags = ROUTE_RAW_BODY,
	      .max_body = 16384,
	      .summary =
		      "Second step of a staff login: the TOTP code (or a recovery code), or the first code of an enrolment"),
	ROUTE("POST", OIDC "/token", oidc_token, ACCESS_PUBLIC, .flags = ROUTE_RAW_BODY, .max_body = 65536,
	      .summary =
		      "Token endpoint: authorization_code, refresh_token (rotating), client_credentials, password (if enabled)"),
	ROUTE("GET", OIDC "/userinfo", oidc_userinfo, ROLE_ANY_USER, .summary = "The caller's OpenID claims"),
	ROUTE("POST", OIDC "/userinfo", oidc_userinfo, ROLE_ANY_USER, .flags = ROUTE_RAW_BODY,
	      .summary = "The caller's OpenID claims"),
	ROUTE("GET", OIDC "/certs", oidc_certs, ACCESS_PUBLIC, .summary = "The provider's signing keys (JWKS)"),
	ROUTE("GET", OIDC "/logout", oidc_logout, ACCESS_PUBLIC, .status = 302,
	      .summary =
		      "RP-initiated logout: ends the session; redirects only to a registered post_logout_redirect_uri"),
	ROUTE("POST", OIDC "/logout", oidc_logout, ACCESS_PUBLIC, .flags = ROUTE_RAW_BODY, .status = 302,
	      .summary = "RP-initiated logout (form post)"),
	ROUTE("POST", OIDC "/revoke", oidc_revoke, ACCESS_PUBLIC, .flags = ROUTE_RAW_BODY,
	      .summary = "Token revocation (RFC 7009): revokes a refresh token and its family"),
	ROUTE("GET", "/api/auth/me", api_me, ROLE_ANY_USER | ROLE_SERVICE, .summary = "The caller's identity and roles",
	      .response_schema = me_schema),
	ROUTE("GET", "/api/auth/validate", api_validate, ACCESS_PUBLIC,
	      .summary = "Checks the bearer token and returns its claims, or 401 (for gateways: Traefik forwardAuth)",
	      .response_schema = validate_schema),
	ROUTE("POST", "/api/auth/validate", api_validate, ACCESS_PUBLIC, .flags = ROUTE_RAW_BODY,
	      .summary = "Checks the bearer token and returns its claims, or 401", .response_schema = validate_schema),
	ROUTE("GET", "/api/auth/jwks", api_jwks, ACCESS_PUBLIC, .summary = "Public signing keys (JWKS)",
	      .response_schema = jwks_schema),
	ROUTE("GET", "/test-jwks", api_jwks, ACCESS_PUBLIC, .summary = "Public signing keys (JWKS), at the seed's path",
	      .response_schema = jwks_schema),
};

static const struct migration migrations[] = {
	{1, "provider tables",
	 "CREATE TABLE auth_keys (kid TEXT PRIMARY KEY, private_pem TEXT NOT NULL, created_at TEXT NOT NULL, retired_at TEXT);"
	 "CREATE TABLE auth_clients (client_id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_hash TEXT, "
	 " redirect_uris TEXT NOT NULL, post_logout_uris TEXT NOT NULL, direct_grant INTEGER NOT NULL DEFAULT 0, "
	 " service_roles INTEGER NOT NULL DEFAULT 0, disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);"
	 "CREATE TABLE auth_login_requests (id TEXT PRIMARY KEY, csrf_hash TEXT NOT NULL, client_id TEXT NOT NULL, "
	 " redirect_uri TEXT NOT NULL, state TEXT, nonce TEXT, code_challenge TEXT, scope TEXT NOT NULL, expires_at BIGINT NOT NULL);"
	 "CREATE TABLE auth_sessions (id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at BIGINT NOT NULL, "
	 " expires_at BIGINT NOT NULL, ended_at BIGINT);"
	 "CREATE INDEX auth_sessions_user ON auth_sessions (user_id);"
	 "CREATE TABLE auth_codes (code_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_id TEXT NOT NULL, "
	 " session_hash TEXT, redirect_uri TEXT NOT NULL, code_challenge TEXT, scope TEXT NOT NULL, nonce TEXT, "
	 " expires_at BIGINT NOT NULL, used_at BIGINT, family TEXT);"
	 "CREATE TABLE auth_refresh (token_hash TEXT PRIMARY KEY, family TEXT NOT NULL, user_id TEXT NOT NULL, "
	 " client_id TEXT NOT NULL, session_hash TEXT, scope TEXT NOT NULL, nonce TEXT, created_at BIGINT NOT NULL, "
	 " expires_at BIGINT NOT NULL, absolute_expires_at BIGINT NOT NULL, used_at BIGINT, revoked_at BIGINT);"
	 "CREATE INDEX auth_refresh_family ON auth_refresh (family);"
	 "CREATE INDEX auth_refresh_user ON auth_refresh (user_id);"
	 "CREATE INDEX auth_refresh_session ON auth_refresh (session_hash);",
	 NULL},
	{2, "second factor: TOTP secrets, recovery codes, the login step between password and code",
	 "CREATE TABLE auth_totp (user_id TEXT PRIMARY KEY, secret TEXT NOT NULL, confirmed_at BIGINT, "
	 " last_step BIGINT NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0, locked_until BIGINT NOT NULL DEFAULT 0, "
	 " created_at BIGINT NOT NULL);"
	 "CREATE TABLE auth_recovery_codes (user_id TEXT NOT NULL, code_hash TEXT NOT NULL, used_at BIGINT, "
	 " PRIMARY KEY (user_id, code_hash));"
	 "ALTER TABLE auth_login_requests ADD COLUMN mfa_user_id TEXT;"
	 "ALTER TABLE auth_login_requests ADD COLUMN mfa_done INTEGER NOT NULL DEFAULT 0;",
	 NULL},
};

/* ---- lifecycle ---- */

static int auth_start(void)
{
	db_conn *c = app_db();
	if (!c)
		return ENT_EUNAVAIL;
	totp_init();
	if (!auth_external()) {
		int rc = keys_load(c, 1);
		if (rc)
			return rc;
		if ((rc = keys_subscribe()) != ENT_OK)
			return rc;
		rc = client_ensure_portal(c, app.cfg->public_url);
		if (rc)
			return rc;
		tokens_gc(c);
	}
	return guard_start();
}

static void auth_stop(void)
{
	guard_stop();
	keys_free();
}

int auth_guard_start(void)
{
	/* Without the auth tables yet (another process migrates them), tokens are refused until the
	 * keys can be read: the guard rereads them when it meets an unknown kid. */
	db_conn *c = app_db();
	if (!auth_external() && (!c || keys_load(c, 0) != ENT_OK))
		log_warn("auth: the signing keys cannot be read yet; tokens are refused until they can");
	/* A rotation's wake-up (from before wake_start(): see main.c) reloads the keys at once. */
	if (!auth_external() && keys_subscribe() != ENT_OK)
		log_warn("auth: rotations are picked up at the next reload only");
	return guard_start();
}

void auth_guard_stop(void) { auth_stop(); }

/* ---- commands ---- */

static int cmd_token(int argc, char **argv)
{
	int64_t ttl = 0;
	int first = 1;
	if (argc > 2 && strcmp(argv[1], "--ttl") == 0) {
		if (util_parse_int64(argv[2], 60, 3600, &ttl)) {
			fprintf(stderr, "ent: token: --ttl takes a number of seconds from 60 to 3600\n");
			return 2;
		}
		first = 3;
	}
	if (argc <= first || argv[first][0] == '-') {
		int help = argc == 2 && strcmp(argv[1], "--help") == 0;
		fprintf(help ? stdout : stderr,
			"Usage: ent token [--ttl SECONDS] EMAIL...\n\nPrints an access token for each user, one per line, signed with the\n"
			"server's key (an operator's tool, like Keycloak's admin CLI). Tokens last 5 minutes,\n"
			"or --ttl seconds (60 to 3600: for load tests). Reads the same settings as ent serve.\n");
		return help ? 0 : 2;
	}
	db_conn *c = app_db();
	if (auth_external()) {
		fprintf(stderr, "ent: tokens come from %s (ENT_OIDC_ISSUER); ask that issuer\n", auth_issuer());
		return 1;
	}
	if (keys_load(c, 1) != ENT_OK) {
		fprintf(stderr, "ent: the signing keys cannot be loaded\n");
		return 1;
	}
	int rc = 0;
	for (int i = first; i < argc && rc == 0; i++) {
		arena *a = arena_new(0);
		struct user u;
		if (users_find_login(c, a, argv[i], &u) != ENT_OK) {
			fprintf(stderr, "ent: no user with the email or username \"%s\"\n", argv[i]);
			rc = 1;
		} else {
			char *t = auth_issue_access_token(c, u.id, (int)ttl);
			if (!t) {
				fprintf(stderr, "ent: the token could not be signed\n");
				rc = 1;
			} else {
				printf("%s\n", t);
				free(t);
			}
		}
		arena_free(a);
	}
	keys_free();
	return rc;
}

static int cmd_keys(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "rotate") != 0) {
		int help = argc == 2 && strcmp(argv[1], "--help") == 0;
		fprintf(help ? stdout : stderr,
			"Usage: ent keys rotate\n\nAdds a new signing key; the previous ones stay published in the JWKS until the\n"
			"tokens they signed have expired.\n");
		return help ? 0 : 2;
	}
	db_conn *c = app_db();
	if (keys_load(c, 1) != ENT_OK || keys_rotate(c, stdout) != ENT_OK) {
		fprintf(stderr, "ent: the key could not be rotated\n");
		keys_free();
		return 1;
	}
	keys_free();
	return 0;
}

static int cmd_client(int argc, char **argv)
{
	const char *id = NULL, *name = NULL, *redirect = "";
	int confidential = 0, direct = 0;
	unsigned roles = 0;
	int help = 0;
	int i = 1;
	if (argc < 2 || strcmp(argv[1], "add") != 0)
		help = 1;
	for (i = 2; !help && i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--id") == 0 && v) {
			id = v;
			i++;
		} else if (strcmp(a, "--name") == 0 && v) {
			name = v;
			i++;
		} else if (strcmp(a, "--redirect") == 0 && v) {
			redirect = v;
			i++;
		} else if (strcmp(a, "--confidential") == 0) {
			confidential = 1;
		} else if (strcmp(a, "--direct-grant") == 0) {
			direct = 1;
		} else if (strcmp(a, "--service-roles") == 0 && v) {
			roles = (strstr(v, "etudiant") ? ROLE_ETUDIANT : 0) |
				(strstr(v, "enseignant") ? ROLE_ENSEIGNANT : 0) | (strstr(v, "admin") ? ROLE_ADMIN : 0);
			i++;
		} else {
			help = 1;
		}
	}
	if (help || !id) {
		int asked = argc >= 2 && (strcmp(argv[argc - 1], "--help") == 0);
		fprintf(asked ? stdout : stderr,
			"Usage: ent client add --id ID [--name NAME] [--redirect URI[,URI...]] [--confidential]\n"
			"                      [--direct-grant] [--service-roles ROLE[,ROLE...]]\n\n"
			"Registers an OIDC client. A confidential client gets a secret, printed once; it may use\n"
			"client_credentials (its tokens carry --service-roles). --direct-grant enables the password grant.\n");
		return asked ? 0 : 2;
	}
	int rc = client_add(app_db(), id, name ? name : id, redirect, confidential, direct, roles, stdout);
	if (rc == ENT_ECONFLICT) {
		fprintf(stderr, "ent: a client named \"%s\" exists already\n", id);
		return 1;
	}
	return rc == ENT_OK ? 0 : 1;
}

static const struct command commands[] = {
	{"token", "print access tokens for users (ent token [--ttl S] EMAIL...)", cmd_token},
	{"keys", "rotate the provider's signing key (ent keys rotate)", cmd_keys},
	{"client", "register an OIDC client (ent client add --id ID ...)", cmd_client},
};

static const char *const owned_tables[] = {"auth_clients",        "auth_codes",          "auth_keys",
					   "auth_login_requests", "auth_refresh",        "auth_sessions",
					   "auth_totp",           "auth_recovery_codes", NULL};

const struct service svc_auth = {
	.name = "auth",
	.title = "Authentication: built-in OIDC provider (Keycloak-compatible paths), token checks",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.migrations = migrations,
	.nmigrations = sizeof(migrations) / sizeof(migrations[0]),
	.tables = owned_tables,
	.start = auth_start,
	.stop = auth_stop,
	.erase_user = totp_erase_user,
	.revoke_user = auth_revoke_user,
	.commands = commands,
	.ncommands = sizeof(commands) / sizeof(commands[0]),
};
