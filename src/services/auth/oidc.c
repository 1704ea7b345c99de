/*
 * oidc.c - the built-in OpenID Connect provider at Keycloak's paths (realm "ent").
 *
 *   /realms/ent/.well-known/openid-configuration   discovery
 *   /realms/ent/protocol/openid-connect/auth        authorization endpoint: login page, codes
 *   /realms/ent/login-actions/authenticate          the login form's target
 *   /realms/ent/login-actions/activate              first login of an imported account
 *   /realms/ent/login-actions/otp                   the second factor of staff (totp.c)
 *   /realms/ent/protocol/openid-connect/token       authorization_code, refresh_token,
 *                                                   client_credentials, password (if enabled)
 *   /realms/ent/protocol/openid-connect/userinfo    the caller's claims
 *   /realms/ent/protocol/openid-connect/certs       JWKS
 *   /realms/ent/protocol/openid-connect/logout      RP-initiated logout
 *   /realms/ent/protocol/openid-connect/revoke      RFC 7009 token revocation
 *
 * The login page is server-rendered French HTML that works without JavaScript. It is protected
 * against login CSRF by a random token bound to the pending login request, sent both as a hidden
 * field and as a SameSite=Lax, HttpOnly cookie: a cross-site POST carries neither.
 *
 * Redirect URIs are compared exactly with the client's registered list; a mismatch is shown as
 * an error page and never redirected to. Public clients must use PKCE with S256.
 */
#include "internal.h"

#include "core/forwarded.h"
#include "core/app.h"
#include "core/err.h"
#include "core/form.h"
#include "core/jwt.h"
#include "core/log.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/users/users.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SESSION_COOKIE "ENT_SESSION"
#define CSRF_COOKIE "ENT_LOGIN_CSRF"
#define COOKIE_PATH AUTH_REALM_PATH "/"

static int provider_off(http_req *req)
{
	if (!auth_external())
		return 0;
	http_problemf(req, 404, "Le fournisseur d'identité intégré est désactivé : les jetons viennent de %s.",
		      auth_issuer());
	return 1;
}

/* ---- HTML ---- */

static void html_text(buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': buf_addstr(b, "&amp;"); break;
		case '<': buf_addstr(b, "&lt;"); break;
		case '>': buf_addstr(b, "&gt;"); break;
		case '"': buf_addstr(b, "&quot;"); break;
		case '\'': buf_addstr(b, "&#39;"); break;
		default: buf_addc(b, *s);
		}
	}
}

static const char page_css[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f3f5f9;color:#1b1f24;margin:0}"
	"main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.75rem;"
	"box-shadow:0 1px 4px rgba(0,0,0,.12)}h1{font-size:1.5rem;margin:0 0 .25rem}p.sub{margin:0 0 1.5rem;color:#47515e}"
	"label{display:block;font-weight:600;margin:1rem 0 .35rem}input{width:100%;box-sizing:border-box;padding:.65rem;"
	"border:1px solid #8a94a3;border-radius:.4rem;font-size:1rem}input:focus{outline:3px solid #1d4ed8;outline-offset:1px}"
	"button{margin-top:1.5rem;width:100%;padding:.75rem;border:0;border-radius:.4rem;background:#1d4ed8;color:#fff;"
	"font-size:1rem;font-weight:600;cursor:pointer}button:focus{outline:3px solid #111;outline-offset:2px}"
	".alert{background:#fdecec;color:#8a1111;border:1px solid #e4a0a0;padding:.75rem;border-radius:.4rem}"
	".ok{background:#e8f6ec;color:#14532d;border:1px solid #9bd3ad;padding:.75rem;border-radius:.4rem}"
	"a{color:#1d4ed8}.links{margin-top:1.25rem;font-size:.95rem}"
	"@media (max-width:30rem){main{margin:0;border-radius:0;min-height:100vh}}";

static void page_open(http_req *req, buf *b, const char *title, const char *form_origin)
{
	char nonce[33];
	util_random_hex(nonce, 16);
	char csp[600];
	snprintf(csp, sizeof(csp),
		 "default-src 'none'; style-src 'nonce-%s'; img-src 'self' data:; form-action 'self'%s%s; "
		 "frame-ancestors 'none'; base-uri 'none'",
		 nonce, form_origin ? " " : "", form_origin ? form_origin : "");
	http_set_header(req, "Content-Security-Policy", csp);
	http_set_header(req, "Cache-Control", "no-store");
	buf_addstr(b, "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
	html_text(b, title);
	/* The portal's icon, inline (img-src data:), so that the login pages ask for no /favicon.ico. */
	buf_addstr(
		b,
		" · ENT</title><link rel=\"icon\" type=\"image/svg+xml\" href=\"data:image/svg+xml,"
		"%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' "
		"rx='7' fill='%231d4ed8'/%3E%3Cpath d='M9 9h14v3H13v3h9v3h-9v3h10v3H9z' fill='%23fff'/%3E%3C/svg%3E\">");
	buf_printf(b, "<style nonce=\"%s\">%s</style></head><body><main>", nonce, page_css);
}

static void page_close(http_req *req, buf *b, int status)
{
	buf_addstr(b, "</main></body></html>\n");
	http_reply_buf(req, status, "text/html; charset=utf-8", b);
}

/* A page that explains an error without redirecting anywhere. */
static void error_page(http_req *req, int status, const char *message)
{
	buf b;
	buf_init(&b, 0);
	page_open(req, &b, "Erreur", NULL);
	buf_addstr(&b, "<h1>Connexion impossible</h1><p class=\"alert\" role=\"alert\">");
	html_text(&b, message);
	buf_addstr(&b, "</p>");
	page_close(req, &b, status);
}

/* The origin (scheme://host[:port]) of url, into out; "" if not http(s). */
static void origin_of(const char *url, char *out, size_t len)
{
	out[0] = '\0';
	const char *p = strstr(url, "://");
	if (!p || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return;
	p += 3;
	size_t n = (size_t)(p - url) + strcspn(p, "/?#");
	if (n < len) {
		memcpy(out, url, n);
		out[n] = '\0';
	}
}

struct login_req {
	const char *id, *client_id, *redirect_uri, *state, *nonce, *challenge, *scope;
	const char *mfa_user_id; /* the password was right: the second step is for this user */
	int mfa_done;            /* enrolment confirmed, recovery codes shown: only "continue" is left */
};

static void login_form(http_req *req, const struct login_req *lr, const char *csrf, const struct client *cl,
		       const char *username, const char *error, int status)
{
	char origin[300];
	origin_of(lr->redirect_uri, origin, sizeof(origin));
	buf b;
	buf_init(&b, 0);
	page_open(req, &b, "Connexion", origin[0] ? origin : NULL);
	buf_addstr(&b, "<h1>Connexion à l'ENT</h1><p class=\"sub\">");
	html_text(&b, cl && cl->name ? cl->name : "Espace numérique de travail");
	buf_addstr(&b, "</p>");
	if (error) {
		buf_addstr(&b, "<p class=\"alert\" role=\"alert\" id=\"login-error\">");
		html_text(&b, error);
		buf_addstr(&b, "</p>");
	}
	buf_addstr(&b, "<form method=\"post\" action=\"" AUTH_REALM_PATH "/login-actions/authenticate\" novalidate>"
		       "<input type=\"hidden\" name=\"request\" value=\"");
	html_text(&b, lr->id);
	buf_addstr(&b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	html_text(&b, csrf);
	buf_addstr(&b, "\"><label for=\"username\">Identifiant ou adresse e-mail</label>"
		       "<input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" required "
		       "autocapitalize=\"none\" spellcheck=\"false\"");
	if (error)
		buf_addstr(&b, " aria-describedby=\"login-error\"");
	if (username) {
		buf_addstr(&b, " value=\"");
		html_text(&b, username);
		buf_addstr(&b, "\"");
	} else {
		buf_addstr(&b, " autofocus");
	}
	buf_addstr(
		&b,
		"><label for=\"password\">Mot de passe</label>"
		"<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required");
	if (username)
		buf_addstr(&b, " autofocus");
	buf_addstr(&b, "><button type=\"submit\">Se connecter</button></form>"
		       "<p class=\"links\">Première connexion avec un code d'activation ? <a href=\"" AUTH_REALM_PATH
		       "/login-actions/activate?request=");
	html_text(&b, lr->id);
	buf_addstr(&b, "\">Activer mon compte</a></p>");
	page_close(req, &b, status);
}

static void activate_form(http_req *req, const char *request_id, const char *csrf, const char *login, const char *error,
			  int status)
{
	buf b;
	buf_init(&b, 0);
	page_open(req, &b, "Activer mon compte", NULL);
	buf_addstr(&b, "<h1>Activer mon compte</h1><p class=\"sub\">Saisissez le code d'activation reçu de votre "
		       "établissement et choisissez votre mot de passe (12 caractères au moins).</p>");
	if (error) {
		buf_addstr(&b, "<p class=\"alert\" role=\"alert\" id=\"activate-error\">");
		html_text(&b, error);
		buf_addstr(&b, "</p>");
	}
	buf_addstr(&b, "<form method=\"post\" action=\"" AUTH_REALM_PATH "/login-actions/activate\" novalidate>"
		       "<input type=\"hidden\" name=\"request\" value=\"");
	html_text(&b, request_id ? request_id : "");
	buf_addstr(&b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	html_text(&b, csrf);
	buf_addstr(
		&b,
		"\"><label for=\"username\">Adresse e-mail</label>"
		"<input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" required value=\"");
	html_text(&b, login ? login : "");
	buf_addstr(
		&b,
		"\"><label for=\"code\">Code d'activation</label>"
		"<input id=\"code\" name=\"code\" type=\"text\" autocomplete=\"one-time-code\" required "
		"autocapitalize=\"characters\" spellcheck=\"false\">"
		"<label for=\"password\">Nouveau mot de passe</label>"
		"<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" "
		"minlength=\"12\" maxlength=\"128\" required>"
		"<label for=\"password2\">Confirmez le mot de passe</label>"
		"<input id=\"password2\" name=\"password2\" type=\"password\" autocomplete=\"new-password\" required>"
		"<button type=\"submit\">Activer et me connecter</button></form>");
	page_close(req, &b, status);
}

/* ---- cookies ---- */

static void set_cookie(http_req *req, const char *name, const char *value, int max_age)
{
	int secure = strncmp(app.cfg->public_url, "https://", 8) == 0;
	char *c = arena_printf(http_arena(req), "%s=%s; Path=%s; HttpOnly; SameSite=Lax%s%s", name, value, COOKIE_PATH,
			       secure ? "; Secure" : "", max_age < 0 ? "; Max-Age=0" : "");
	http_set_header(req, "Set-Cookie", c);
}

/* ---- redirects ---- */

static void redirect(http_req *req, int status, const char *location)
{
	http_set_header(req, "Location", location);
	http_set_header(req, "Cache-Control", "no-store");
	http_reply_empty(req, status);
}

/* redirect_uri?key=value&... with each value percent-encoded. pairs ends with NULL. */
static char *with_params(arena *a, const char *uri, const char *const *pairs)
{
	buf b;
	buf_init(&b, 16384);
	buf_addstr(&b, uri);
	char sep = strchr(uri, '?') ? '&' : '?';
	for (size_t i = 0; pairs[i]; i += 2) {
		if (!pairs[i + 1])
			continue;
		buf_printf(&b, "%c%s=%s", sep, pairs[i], form_encode(a, pairs[i + 1]));
		sep = '&';
	}
	char *out = arena_strdup(a, b.data ? b.data : uri);
	buf_free(&b);
	return out;
}

static void redirect_error(http_req *req, const char *uri, const char *state, const char *error, const char *desc)
{
	const char *pairs[] = {"error", error, "error_description", desc, "state", state, "iss", auth_issuer(), NULL};
	redirect(req, 302, with_params(http_arena(req), uri, pairs));
}

static void redirect_code(http_req *req, db_conn *c, const struct login_req *lr, const char *user_id,
			  const char *session_hash)
{
	char *code;
	if (code_create(c, http_arena(req), lr->client_id, user_id, session_hash, lr->redirect_uri, lr->challenge,
			lr->scope, lr->nonce, &code) != ENT_OK) {
		error_page(req, 500, "Une erreur interne empêche la connexion. Réessayez plus tard.");
		return;
	}
	const char *pairs[] = {"code",       code,  "state",       lr->state, "session_state",
			       session_hash, "iss", auth_issuer(), NULL};
	redirect(req, 303, with_params(http_arena(req), lr->redirect_uri, pairs));
}

/* ---- login requests ---- */

static int login_request_create(db_conn *c, arena *a, struct login_req *lr, char **csrf)
{
	char *id = arena_alloc(a, 37);
	util_uuid(id);
	lr->id = id;
	char *token = arena_alloc(a, 65);
	util_random_hex(token, 32);
	char h[65];
	sha256_hex(token, strlen(token), h);
	db_stmt *s = db_prepare(
		c, "INSERT INTO auth_login_requests (id, csrf_hash, client_id, redirect_uri, state, nonce, "
		   "code_challenge, scope, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, id);
	db_bind_text(s, 2, h);
	db_bind_text(s, 3, lr->client_id);
	db_bind_text(s, 4, lr->redirect_uri);
	db_bind_text(s, 5, lr->state);
	db_bind_text(s, 6, lr->nonce);
	db_bind_text(s, 7, lr->challenge);
	db_bind_text(s, 8, lr->scope);
	db_bind_int64(s, 9, time(NULL) + LOGIN_REQUEST_TTL);
	int rc = db_step(s);
	db_done(s);
	if (rc < 0)
		return rc;
	*csrf = token;
	return ENT_OK;
}

/*
 * Loads a pending login request and checks the CSRF token: the form's value must equal the
 * cookie's and hash to the stored one. ENT_ENOTFOUND for unknown/expired, ENT_EFORBIDDEN for CSRF.
 */
static int login_request_load(http_req *req, db_conn *c, const char *id, const char *csrf, struct login_req *lr)
{
	arena *a = http_arena(req);
	memset(lr, 0, sizeof(*lr));
	if (!id || !util_is_uuid(id))
		return ENT_ENOTFOUND;
	int rc;
	db_stmt *s = SQL_ROW(c, &rc,
			     "SELECT csrf_hash, client_id, redirect_uri, state, nonce, code_challenge, scope, "
			     "mfa_user_id, mfa_done FROM auth_login_requests WHERE id = ? AND expires_at > ?",
			     SQL_T(id), SQL_I(time(NULL)));
	if (!s)
		return rc;
	char *stored = arena_strdup(a, db_col_text(s, 0));
	lr->id = arena_strdup(a, id);
	lr->client_id = arena_strdup(a, db_col_text(s, 1));
	lr->redirect_uri = arena_strdup(a, db_col_text(s, 2));
	lr->state = db_col_is_null(s, 3) ? NULL : arena_strdup(a, db_col_text(s, 3));
	lr->nonce = db_col_is_null(s, 4) ? NULL : arena_strdup(a, db_col_text(s, 4));
	lr->challenge = db_col_is_null(s, 5) ? NULL : arena_strdup(a, db_col_text(s, 5));
	lr->scope = arena_strdup(a, db_col_text(s, 6));
	lr->mfa_user_id = db_col_is_null(s, 7) ? NULL : arena_strdup(a, db_col_text(s, 7));
	lr->mfa_done = (int)db_col_int64(s, 8);
	db_done(s);
	const char *cookie = http_cookie(req, CSRF_COOKIE);
	if (!csrf || !cookie || strlen(csrf) != 64 || strcmp(csrf, cookie) != 0)
		return ENT_EFORBIDDEN;
	char h[65];
	sha256_hex(csrf, strlen(csrf), h);
	return util_ct_equal(h, stored, 64) ? ENT_OK : ENT_EFORBIDDEN;
}

static void login_request_delete(db_conn *c, const char *id)
{
	db_stmt *s = db_prepare(c, "DELETE FROM auth_login_requests WHERE id = ?");
	if (s) {
		db_bind_text(s, 1, id);
		db_step(s);
		db_done(s);
	}
}

/* ---- endpoints ---- */

void oidc_discovery(http_req *req)
{
	if (provider_off(req))
		return;
	const char *iss = auth_issuer();
	char ep[8][600];
	const char *names[] = {"auth", "token", "userinfo", "certs", "logout", "revoke"};
	for (int i = 0; i < 6; i++)
		snprintf(ep[i], sizeof(ep[i]), "%s/protocol/openid-connect/%s", iss, names[i]);
	json_t *doc = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:[s,s], s:[s,s,s,s], s:[s], s:[s], s:[s], s:[s,s,s], "
		"s:[s,s,s,s], s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s], s:b, s:b}",
		"issuer", iss, "authorization_endpoint", ep[0], "token_endpoint", ep[1], "userinfo_endpoint", ep[2],
		"jwks_uri", ep[3], "end_session_endpoint", ep[4], "revocation_endpoint", ep[5],
		"response_types_supported", "code", "response_modes_supported", "query", "fragment",
		"grant_types_supported", "authorization_code", "refresh_token", "client_credentials", "password",
		"subject_types_supported", "public", "id_token_signing_alg_values_supported", "RS256",
		"code_challenge_methods_supported", "S256", "token_endpoint_auth_methods_supported",
		"client_secret_basic", "client_secret_post", "none", "scopes_supported", "openid", "profile", "email",
		"roles", "claims_supported", "iss", "sub", "aud", "exp", "iat", "nonce", "sid", "preferred_username",
		"email", "email_verified", "name", "given_name", "family_name", "realm_access",
		"authorization_response_iss_parameter_supported", 1, "frontchannel_logout_supported", 0);
	http_set_header(req, "Cache-Control", "public, max-age=300");
	http_set_header(req, "Access-Control-Allow-Origin", "*");
	http_reply_json(req, 200, doc);
}

void oidc_certs(http_req *req)
{
	if (provider_off(req))
		return;
	/*
	 * Another process may have rotated the keys (ent keys rotate). On PostgreSQL its wake-up makes
	 * every process reload at once (keys.c), and this reread every minute (the JWKS's max-age) is
	 * only the fallback for a wake-up missed during a database restart; on SQLite, where the
	 * command cannot wake the server, every 5 s.
	 */
	db_conn *c = app_db();
	if (c)
		keys_reload(c, db_conn_kind(c) == DB_POSTGRES ? 60 : 5);
	size_t len;
	char *jwks = keys_jwks_copy(&len);
	if (!jwks) {
		http_problem(req, 503, "Aucune clé de signature n'est chargée : réessayez dans un instant.");
		return;
	}
	http_set_header(req, "Cache-Control", "public, max-age=60");
	http_set_header(req, "Access-Control-Allow-Origin", "*");
	http_reply_data(req, 200, "application/json", jwks, len);
	free(jwks);
}

static int valid_challenge(const char *s)
{
	if (strlen(s) != 43)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return 0;
	return 1;
}

void oidc_authorize(http_req *req)
{
	if (provider_off(req))
		return;
	db_conn *c = app_db();
	if (!c) {
		error_page(req, 503, "Le service est momentanément indisponible.");
		return;
	}
	arena *a = http_arena(req);
	struct login_req lr = {0};
	lr.client_id = http_query(req, "client_id");
	lr.redirect_uri = http_query(req, "redirect_uri");
	lr.state = http_query(req, "state");
	lr.nonce = http_query(req, "nonce");
	lr.challenge = http_query(req, "code_challenge");
	const char *method = http_query(req, "code_challenge_method");
	const char *response_type = http_query(req, "response_type");
	const char *prompt = http_query(req, "prompt");
	const char *scope = http_query(req, "scope");
	struct client cl;
	if (!lr.client_id || client_get(c, a, lr.client_id, &cl) != ENT_OK || cl.disabled) {
		error_page(req, 400, "Application inconnue : le lien de connexion n'est pas valide.");
		return;
	}
	/* Checked before anything is redirected: an unregistered URI never receives a redirect. */
	if (!lr.redirect_uri || !client_has_uri(cl.redirect_uris, lr.redirect_uri)) {
		error_page(req, 400, "Adresse de retour non autorisée pour cette application.");
		return;
	}
	if (!response_type || strcmp(response_type, "code") != 0) {
		redirect_error(req, lr.redirect_uri, lr.state, "unsupported_response_type",
			       "Seul response_type=code est accepté.");
		return;
	}
	if (method && strcmp(method, "S256") != 0) {
		redirect_error(req, lr.redirect_uri, lr.state, "invalid_request",
			       "code_challenge_method doit valoir S256.");
		return;
	}
	if (lr.challenge && !valid_challenge(lr.challenge)) {
		redirect_error(req, lr.redirect_uri, lr.state, "invalid_request", "code_challenge est mal formé.");
		return;
	}
	if (lr.challenge && !method) {
		redirect_error(req, lr.redirect_uri, lr.state, "invalid_request",
			       "code_challenge_method doit valoir S256.");
		return;
	}
	if (!cl.confidential && !lr.challenge) {
		redirect_error(req, lr.redirect_uri, lr.state, "invalid_request",
			       "PKCE (S256) est obligatoire pour une application publique.");
		return;
	}
	if ((lr.state && strlen(lr.state) > 1024) || (lr.nonce && strlen(lr.nonce) > 1024)) {
		redirect_error(req, lr.redirect_uri, NULL, "invalid_request", "state ou nonce est trop long.");
		return;
	}
	lr.scope = scope && *scope ? scope : "openid";
	if (strlen(lr.scope) > 256) {
		redirect_error(req, lr.redirect_uri, lr.state, "invalid_scope", "scope est trop long.");
		return;
	}
	/* An existing provider session logs in without the form (single sign-on). */
	char *user_id, *session_hash;
	const char *cookie = http_cookie(req, SESSION_COOKIE);
	int has_session = cookie && session_user(c, a, cookie, &user_id, &session_hash) == ENT_OK;
	if (has_session && (!prompt || strcmp(prompt, "login") != 0) && users_may_login(c, user_id)) {
		redirect_code(req, c, &lr, user_id, session_hash);
		return;
	}
	if (prompt && strcmp(prompt, "none") == 0) {
		/*
		 * The portal's silent login ends here on every first visit and knows this answer by its
		 * code (error=login_required): it shows no error for it but its login page
		 * (web/src/lib/AuthContext.tsx). The description is French all the same.
		 */
		redirect_error(req, lr.redirect_uri, lr.state, "login_required",
			       "Aucune session ouverte : connectez-vous.");
		return;
	}
	char *csrf;
	if (login_request_create(c, a, &lr, &csrf) != ENT_OK) {
		error_page(req, 500, "Une erreur interne empêche la connexion. Réessayez plus tard.");
		return;
	}
	set_cookie(req, CSRF_COOKIE, csrf, 0);
	login_form(req, &lr, csrf, &cl, http_query(req, "login_hint"), NULL, 200);
}

/*
 * Reads the form body into f. Returns 0; -1 after answering 415 when the body is not a form; or
 * 1 with *why (not answered: the login pages and the OAuth endpoints tell it their own way) when
 * it does not parse.
 */
static int form_body(http_req *req, struct form *f, const char **why)
{
	const char *ct = http_header(req, "Content-Type");
	if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		http_problem(req, 415,
			     "Le corps de la requête doit être un formulaire (application/x-www-form-urlencoded).");
		return -1;
	}
	size_t len;
	const char *body = http_body(req, &len);
	return form_parse(http_arena(req), body, len, f, why) != 0 ? 1 : 0;
}

/* The form body into f, or -1 after answering (415, 400 with the reason). */
static int parse_form(http_req *req, struct form *f)
{
	const char *why;
	int rc = form_body(req, f, &why);
	if (rc > 0)
		http_problem(req, 400, why);
	return rc ? -1 : 0;
}

/*
 * What the login pages' POSTs share: the provider switched on, a form body and the database.
 * Returns the connection, or NULL after answering (the provider off, a bad body, or an error page
 * when the database is unreachable).
 */
static db_conn *form_open(http_req *req, struct form *f)
{
	if (provider_off(req) || parse_form(req, f))
		return NULL;
	db_conn *c = app_db();
	if (!c)
		error_page(req, 503, "Le service est momentanément indisponible.");
	return c;
}

static void busy_page(http_req *req, int retry_after, void (*render)(http_req *, const char *, int))
{
	char ra[16];
	snprintf(ra, sizeof(ra), "%d", retry_after > 0 ? retry_after : 1);
	http_set_header(req, "Retry-After", ra);
	char msg[200];
	snprintf(msg, sizeof(msg), "Trop de tentatives de connexion. Réessayez dans %d seconde%s.", retry_after,
		 retry_after > 1 ? "s" : "");
	render(req, msg, 429);
}

static void finish_login(http_req *req, db_conn *c, const struct login_req *lr, const char *user_id)
{
	char *cookie, *session_hash;
	/* A new session id at every login (no fixation): any previous one is ended. */
	char *old_user, *old_hash;
	const char *old = http_cookie(req, SESSION_COOKIE);
	if (old && session_user(c, http_arena(req), old, &old_user, &old_hash) == ENT_OK)
		session_end(c, old_hash);
	if (session_create(c, http_arena(req), user_id, &cookie, &session_hash) != ENT_OK) {
		error_page(req, 500, "Une erreur interne empêche la connexion. Réessayez plus tard.");
		return;
	}
	login_request_delete(c, lr->id);
	set_cookie(req, SESSION_COOKIE, cookie, 0);
	set_cookie(req, CSRF_COOKIE, "", -1);
	redirect_code(req, c, lr, user_id, session_hash);
}

/* ---- the second factor (totp.c) ---- */

/* Marks the pending login as past its password for user_id (the code step comes next). */
static int login_request_mfa(db_conn *c, const char *id, const char *user_id, int done)
{
	db_stmt *s = SQL_PREP(c, "UPDATE auth_login_requests SET mfa_user_id = ?, mfa_done = ? WHERE id = ?",
			      SQL_T(user_id), SQL_I(done), SQL_T(id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

static void mfa_hidden(buf *b, const struct login_req *lr, const char *csrf)
{
	buf_addstr(b, "<input type=\"hidden\" name=\"request\" value=\"");
	html_text(b, lr->id);
	buf_addstr(b, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	html_text(b, csrf);
	buf_addstr(b, "\">");
}

/* The code form of a login whose password was right (enrolled users). */
static void otp_form(http_req *req, const struct login_req *lr, const char *csrf, const char *error, int status)
{
	buf b;
	buf_init(&b, 0);
	page_open(req, &b, "Code de vérification", NULL);
	buf_addstr(&b,
		   "<h1>Vérification en deux étapes</h1><p class=\"sub\">Saisissez le code à 6 chiffres affiché par "
		   "votre application d'authentification, ou l'un de vos codes de secours.</p>");
	if (error) {
		buf_addstr(&b, "<p class=\"alert\" role=\"alert\">");
		html_text(&b, error);
		buf_addstr(&b, "</p>");
	}
	buf_addstr(&b, "<form method=\"post\" action=\"" AUTH_REALM_PATH "/login-actions/otp\">");
	mfa_hidden(&b, lr, csrf);
	buf_addstr(
		&b,
		"<label for=\"code\">Code</label><input id=\"code\" name=\"code\" autocomplete=\"one-time-code\" "
		"inputmode=\"numeric\" required autofocus maxlength=\"9\"><button type=\"submit\">Valider</button></form>");
	page_close(req, &b, status);
}

/* The enrolment page: the QR code, the secret to type by hand, and the first code to confirm it. */
static void enrol_form(http_req *req, const struct login_req *lr, const char *csrf, const char *secret, const char *uri,
		       const char *error, int status)
{
	buf b;
	buf_init(&b, 0);
	page_open(req, &b, "Activer la vérification en deux étapes", NULL);
	buf_addstr(&b, "<h1>Vérification en deux étapes</h1><p class=\"sub\">Votre compte doit être protégé par un "
		       "second facteur. Scannez ce QR code avec une application d'authentification (FreeOTP, Aegis, "
		       "Google Authenticator…), puis saisissez le code à 6 chiffres qu'elle affiche.</p>");
	if (error) {
		buf_addstr(&b, "<p class=\"alert\" role=\"alert\">");
		html_text(&b, error);
		buf_addstr(&b, "</p>");
	}
	if (uri)
		totp_qr_svg(&b, uri);
	if (secret) {
		/* In groups of four, as applications show and accept it. */
		buf_addstr(&b, "<p>Ou saisissez cette clé dans l'application : <code id=\"secret\">");
		for (size_t i = 0; secret[i]; i++) {
			if (i && i % 4 == 0)
				buf_addc(&b, ' ');
			buf_addc(&b, secret[i]);
		}
		buf_addstr(&b, "</code></p>");
	}
	buf_addstr(&b, "<form method=\"post\" action=\"" AUTH_REALM_PATH "/login-actions/otp\">");
	mfa_hidden(&b, lr, csrf);
	buf_addstr(&b, "<label for=\"code\">Code à 6 chiffres</label><input id=\"code\" name=\"code\" "
		       "autocomplete=\"one-time-code\" inputmode=\"numeric\" required maxlength=\"6\">"
		       "<button type=\"submit\">Activer</button></form>");
	page_close(req, &b, status);
}

/* After a right password: straight to the code, to an enrolment, or (no second factor) logged in. */
static void after_password(http_req *req, db_conn *c, const struct login_req *lr, const char *csrf,
			   const struct user *u)
{
	int state = totp_state(c, u->id);
	if (state < 0) {
		error_page(req, 503, "Le service est momentanément indisponible.");
		return;
	}
	if (state != TOTP_ON && !totp_required(u)) {
		finish_login(req, c, lr, u->id);
		return;
	}
	if (login_request_mfa(c, lr->id, u->id, 0)) {
		error_page(req, 503, "Le service est momentanément indisponible.");
		return;
	}
	if (state == TOTP_ON) {
		otp_form(req, lr, csrf, NULL, 200);
		return;
	}
	const char *secret, *uri;
	int rc = totp_begin_enrol(c, http_arena(req), u->id, u->email ? u->email : u->username, &secret, &uri);
	if (rc) {
		error_page(req, 503, "Le service est momentanément indisponible.");
		return;
	}
	enrol_form(req, lr, csrf, secret, uri, NULL, 200);
}

static void recovery_page(http_req *req, const struct login_req *lr, const char *csrf, const char *const *codes)
{
	buf b;
	buf_init(&b, 0);
	page_open(req, &b, "Codes de secours", NULL);
	buf_addstr(
		&b,
		"<h1>Vérification activée</h1><p class=\"ok\" role=\"status\">Votre application est associée à "
		"votre compte.</p><p>Gardez ces codes de secours en lieu sûr : chacun permet de vous connecter "
		"une fois si vous n'avez plus votre téléphone. Ils ne seront plus affichés.</p><ul id=\"recovery\">");
	for (const char *const *c = codes; *c; c++) {
		buf_addstr(&b, "<li><code>");
		html_text(&b, *c);
		buf_addstr(&b, "</code></li>");
	}
	buf_addstr(&b, "</ul><form method=\"post\" action=\"" AUTH_REALM_PATH "/login-actions/otp\">");
	mfa_hidden(&b, lr, csrf);
	buf_addstr(&b, "<input type=\"hidden\" name=\"action\" value=\"continue\">"
		       "<button type=\"submit\">J'ai noté mes codes, continuer</button></form>");
	page_close(req, &b, 200);
}

void oidc_otp_post(http_req *req)
{
	struct form f;
	db_conn *c = form_open(req, &f);
	if (!c)
		return;
	const char *csrf = form_get(&f, "csrf");
	struct login_req lr;
	int rc = login_request_load(req, c, form_get(&f, "request"), csrf, &lr);
	if (rc == ENT_EFORBIDDEN) {
		error_page(
			req, 403,
			"La vérification de sécurité du formulaire a échoué. Revenez à l'application et recommencez.");
		return;
	}
	if (rc != ENT_OK || !lr.mfa_user_id) {
		error_page(req, 400, "Cette page de connexion a expiré. Revenez à l'application et recommencez.");
		return;
	}
	const char *action = form_get(&f, "action");
	if (action && strcmp(action, "continue") == 0) {
		if (lr.mfa_done)
			finish_login(req, c, &lr, lr.mfa_user_id);
		else
			error_page(req, 400,
				   "Cette page de connexion a expiré. Revenez à l'application et recommencez.");
		return;
	}
	const char *code = form_get(&f, "code");
	char typed[16] = "";
	if (code) { /* spaces typed in the middle ("123 456") are ignored */
		size_t k = 0;
		for (const char *p = code; *p && k + 1 < sizeof typed; p++)
			if (*p != ' ')
				typed[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		typed[k] = '\0';
	}
	int state = totp_state(c, lr.mfa_user_id);
	int retry = 0;
	if (state == TOTP_PENDING) {
		const char **codes;
		rc = totp_confirm(c, http_arena(req), lr.mfa_user_id, typed, &retry, &codes);
		if (rc == ENT_OK && !login_request_mfa(c, lr.id, lr.mfa_user_id, 1)) {
			recovery_page(req, &lr, csrf, codes);
			return;
		}
		if (rc == ENT_EAUTH || rc == ENT_EBUSY) {
			char msg[160];
			if (rc == ENT_EBUSY)
				snprintf(msg, sizeof msg, "Trop de codes incorrects. Réessayez dans %d secondes.",
					 retry);
			enrol_form(
				req, &lr, csrf, NULL, NULL,
				rc == ENT_EBUSY
					? msg
					: "Code incorrect : vérifiez l'heure de votre "
					  "téléphone et saisissez le code affiché maintenant. Pour recommencer l'association, revenez à "
					  "l'application.",
				rc == ENT_EBUSY ? 429 : 200);
			return;
		}
		error_page(req, 503, "Le service est momentanément indisponible.");
		return;
	}
	if (state != TOTP_ON) {
		error_page(req, 400, "Cette page de connexion a expiré. Revenez à l'application et recommencez.");
		return;
	}
	rc = totp_check(c, lr.mfa_user_id, typed, &retry);
	switch (rc) {
	case ENT_OK: finish_login(req, c, &lr, lr.mfa_user_id); return;
	case ENT_EAUTH: otp_form(req, &lr, csrf, "Code incorrect.", 200); return;
	case ENT_EBUSY: {
		char ra[16], msg[160];
		snprintf(ra, sizeof ra, "%d", retry > 0 ? retry : 1);
		http_set_header(req, "Retry-After", ra);
		snprintf(msg, sizeof msg, "Trop de codes incorrects. Réessayez dans %d secondes.", retry);
		otp_form(req, &lr, csrf, msg, 429);
		return;
	}
	default: error_page(req, 503, "Le service est momentanément indisponible.");
	}
}

/* State shared by the re-rendering callbacks of one login POST. */
struct login_ctx {
	struct login_req lr;
	const char *csrf;
	const char *username;
	struct client cl;
};
static _Thread_local struct login_ctx *current_login;

static void rerender_login(http_req *req, const char *error, int status)
{
	struct login_ctx *x = current_login;
	login_form(req, &x->lr, x->csrf, &x->cl, x->username, error, status);
}

void oidc_login_post(http_req *req)
{
	struct form f;
	db_conn *c = form_open(req, &f);
	if (!c)
		return;
	struct login_ctx x = {0};
	x.csrf = form_get(&f, "csrf");
	int rc = login_request_load(req, c, form_get(&f, "request"), x.csrf, &x.lr);
	if (rc == ENT_EFORBIDDEN) {
		error_page(
			req, 403,
			"La vérification de sécurité du formulaire a échoué. Revenez à l'application et recommencez.");
		return;
	}
	if (rc != ENT_OK) {
		error_page(req, 400, "Cette page de connexion a expiré. Revenez à l'application et recommencez.");
		return;
	}
	if (client_get(c, http_arena(req), x.lr.client_id, &x.cl) != ENT_OK || x.cl.disabled) {
		error_page(req, 400, "Application inconnue : le lien de connexion n'est pas valide.");
		return;
	}
	const char *username = form_get(&f, "username");
	const char *password = form_get(&f, "password");
	x.username = username;
	current_login = &x;
	if (!username || !*username || !password || !*password || strlen(username) > 320 || strlen(password) > 1024) {
		rerender_login(req, "Saisissez votre identifiant et votre mot de passe.", 400);
		return;
	}
	struct user u;
	int retry = 0;
	rc = users_authenticate(c, http_arena(req), username, password, http_client_addr(req), &u, &retry);
	switch (rc) {
	case ENT_OK: after_password(req, c, &x.lr, x.csrf, &u); return;
	case ENT_EBUSY: busy_page(req, retry, rerender_login); return;
	case ENT_EFORBIDDEN:
		rerender_login(req, "Ce compte est désactivé. Contactez l'administration de votre établissement.", 403);
		return;
	case ENT_EAUTH: rerender_login(req, "Identifiant ou mot de passe incorrect.", 200); return;
	default: error_page(req, 503, "Le service est momentanément indisponible.");
	}
}

struct activate_ctx {
	const char *request_id, *csrf, *login;
};
static _Thread_local struct activate_ctx *current_activate;

static void rerender_activate(http_req *req, const char *error, int status)
{
	struct activate_ctx *x = current_activate;
	activate_form(req, x->request_id, x->csrf, x->login, error, status);
}

void oidc_activate_get(http_req *req)
{
	if (provider_off(req))
		return;
	const char *csrf = http_cookie(req, CSRF_COOKIE);
	char fresh[65];
	if (!csrf || strlen(csrf) != 64) {
		util_random_hex(fresh, 32);
		csrf = fresh;
		set_cookie(req, CSRF_COOKIE, csrf, 0);
	}
	activate_form(req, http_query(req, "request"), csrf, NULL, NULL, 200);
}

void oidc_activate_post(http_req *req)
{
	struct form f;
	db_conn *c = form_open(req, &f);
	if (!c)
		return;
	struct activate_ctx x = {form_get(&f, "request"), form_get(&f, "csrf"), form_get(&f, "username")};
	current_activate = &x;
	const char *cookie = http_cookie(req, CSRF_COOKIE);
	if (!x.csrf || !cookie || strlen(x.csrf) != 64 || strcmp(x.csrf, cookie) != 0) {
		error_page(req, 403,
			   "La vérification de sécurité du formulaire a échoué. Rechargez la page et recommencez.");
		return;
	}
	const char *code = form_get(&f, "code");
	const char *pw = form_get(&f, "password");
	const char *pw2 = form_get(&f, "password2");
	if (!x.login || !*x.login || !code || !*code || !pw || !pw2) {
		rerender_activate(req, "Remplissez tous les champs.", 400);
		return;
	}
	if (strcmp(pw, pw2) != 0) {
		rerender_activate(req, "Les deux mots de passe ne sont pas identiques.", 400);
		return;
	}
	struct user u;
	const char *why = NULL;
	int retry = 0;
	int rc = users_activate(c, http_arena(req), x.login, code, pw, http_client_addr(req), &u, &why, &retry);
	if (rc == ENT_EINVAL) {
		rerender_activate(req, why ? why : "Mot de passe refusé.", 400);
		return;
	}
	if (rc == ENT_EBUSY) {
		busy_page(req, retry, rerender_activate);
		return;
	}
	if (rc != ENT_OK) {
		rerender_activate(req, "Adresse e-mail ou code d'activation incorrect, ou code expiré.", 200);
		return;
	}
	/* Activated: continue the pending login when there is one, otherwise say so. */
	struct login_req lr;
	if (x.request_id && login_request_load(req, c, x.request_id, x.csrf, &lr) == ENT_OK) {
		after_password(req, c, &lr, x.csrf, &u);
		return;
	}
	buf b;
	buf_init(&b, 0);
	page_open(req, &b, "Compte activé", NULL);
	buf_addstr(&b, "<h1>Compte activé</h1><p class=\"ok\" role=\"status\">Votre mot de passe est enregistré. "
		       "Vous pouvez maintenant vous connecter depuis l'application.</p>");
	page_close(req, &b, 200);
}

/* ---- token endpoint ---- */

/*
 * An OAuth error: the protocol's code in "error", its French explanation in "error_description"
 * (the portal's OIDC client shows that text when a login fails) and the same as a problem. RFC 6749
 * wants the description in ASCII; a French sentence on the screen matters more here.
 */
static void oauth_error(http_req *req, int status, const char *error, const char *desc)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "error", error, "error_description", desc, "type",
			      "about:blank", "title", http_status_title(status), "status", status, "detail", desc);
	if (status == 401)
		http_set_header(req, "WWW-Authenticate", "Basic realm=\"ent\"");
	http_set_header(req, "Cache-Control", "no-store");
	http_reply_json(req, status, j);
}

/* Client authentication: Basic header or client_id/client_secret in the form. */
static int token_client(http_req *req, db_conn *c, const struct form *f, struct client *cl)
{
	arena *a = http_arena(req);
	const char *id = form_get(f, "client_id");
	const char *secret = form_get(f, "client_secret");
	const char *h = http_header(req, "Authorization");
	if (h && strncasecmp(h, "Basic ", 6) == 0) {
		unsigned char raw[512];
		const char *b64 = h + 6;
		/* Basic uses standard base64 with padding: decode through EVP via the form of b64url. */
		size_t n = strlen(b64);
		char *conv = arena_alloc(a, n + 1);
		size_t o = 0;
		for (size_t i = 0; i < n; i++) {
			char ch = b64[i];
			if (ch == '=')
				break;
			conv[o++] = ch == '+' ? '-' : ch == '/' ? '_' : ch;
		}
		conv[o] = '\0';
		long dl = b64url_decode(conv, o, raw, sizeof(raw) - 1);
		if (dl <= 0) {
			oauth_error(req, 401, "invalid_client",
				    "Les identifiants Basic de l'application sont mal formés.");
			return -1;
		}
		raw[dl] = '\0';
		char *colon = strchr((char *)raw, ':');
		if (!colon) {
			oauth_error(req, 401, "invalid_client",
				    "Les identifiants Basic de l'application sont mal formés.");
			return -1;
		}
		*colon = '\0';
		/* RFC 6749 §2.3.1: id and secret are form-urlencoded inside Basic. */
		struct form bf;
		const char *why;
		char *pair = arena_printf(a, "i=%s&s=%s", (char *)raw, colon + 1);
		if (form_parse(a, pair, strlen(pair), &bf, &why) != 0) {
			oauth_error(req, 401, "invalid_client",
				    "Les identifiants Basic de l'application sont mal formés.");
			return -1;
		}
		if (id && strcmp(id, form_get(&bf, "i")) != 0) {
			oauth_error(req, 400, "invalid_request", "client_id diffère de l'identifiant donné en Basic.");
			return -1;
		}
		id = form_get(&bf, "i");
		secret = form_get(&bf, "s");
	}
	if (!id) {
		oauth_error(req, 400, "invalid_request", "client_id est obligatoire.");
		return -1;
	}
	if (client_get(c, a, id, cl) != ENT_OK || cl->disabled) {
		oauth_error(req, 401, "invalid_client", "Application inconnue ou désactivée.");
		return -1;
	}
	if (cl->confidential) {
		if (client_check_secret(c, id, secret) != ENT_OK) {
			oauth_error(req, 401, "invalid_client", "L'authentification de l'application a échoué.");
			return -1;
		}
	} else if (secret) {
		oauth_error(req, 401, "invalid_client", "Une application publique n'a pas de secret.");
		return -1;
	}
	return 0;
}

static void grant_code(http_req *req, db_conn *c, const struct form *f, const struct client *cl)
{
	arena *a = http_arena(req);
	const char *code = form_get(f, "code");
	if (!code) {
		oauth_error(req, 400, "invalid_request", "code est obligatoire.");
		return;
	}
	struct code_grant g;
	const char *why;
	int rc = code_redeem(c, a, code, cl->id, form_get(f, "redirect_uri"), form_get(f, "code_verifier"), &g, &why);
	if (rc == ENT_ECONFLICT || rc == ENT_EAUTH) {
		oauth_error(req, 400, "invalid_grant", why);
		return;
	}
	if (rc) {
		oauth_error(req, 503, "temporarily_unavailable",
			    "La base de données n'a pas répondu : réessayez dans un instant.");
		return;
	}
	if (!users_may_login(c, g.user_id)) {
		oauth_error(req, 400, "invalid_grant", "Ce compte est désactivé ou verrouillé.");
		return;
	}
	struct token_set t;
	if (tokens_issue(c, a, g.user_id, cl->id, g.scope, g.nonce, g.session_hash, NULL, 1, &t) != ENT_OK) {
		oauth_error(req, 500, "server_error", "Les jetons n'ont pas pu être émis : réessayez plus tard.");
		return;
	}
	code_set_family(c, code, t.family);
	tokens_reply(req, &t);
}

static void grant_refresh(http_req *req, db_conn *c, const struct form *f, const struct client *cl)
{
	arena *a = http_arena(req);
	struct code_grant g;
	const char *why;
	int rc = refresh_use(c, a, form_get(f, "refresh_token"), cl->id, &g, &why);
	if (rc == ENT_EAUTH) {
		oauth_error(req, 400, "invalid_grant", why);
		return;
	}
	if (rc) {
		oauth_error(req, 503, "temporarily_unavailable",
			    "La base de données n'a pas répondu : réessayez dans un instant.");
		return;
	}
	struct token_set t;
	if (tokens_issue(c, a, g.user_id, cl->id, g.scope, g.nonce, g.session_hash, g.family, 1, &t) != ENT_OK) {
		oauth_error(req, 500, "server_error", "Les jetons n'ont pas pu être émis : réessayez plus tard.");
		return;
	}
	tokens_reply(req, &t);
}

static void grant_password(http_req *req, db_conn *c, const struct form *f, const struct client *cl)
{
	if (!cl->direct_grant) {
		oauth_error(req, 400, "unauthorized_client",
			    "La connexion par mot de passe n'est pas activée pour cette application.");
		return;
	}
	const char *username = form_get(f, "username");
	const char *password = form_get(f, "password");
	if (!username || !password) {
		oauth_error(req, 400, "invalid_request", "username et password sont obligatoires.");
		return;
	}
	arena *a = http_arena(req);
	struct user u;
	int retry = 0;
	int rc = users_authenticate(c, a, username, password, http_client_addr(req), &u, &retry);
	if (rc == ENT_EBUSY) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%d", retry > 0 ? retry : 1);
		http_set_header(req, "Retry-After", ra);
		oauth_error(req, 429, "invalid_grant", "Trop de tentatives échouées : réessayez plus tard.");
		return;
	}
	if (rc != ENT_OK) {
		oauth_error(req, 400, "invalid_grant", "Identifiant ou mot de passe incorrect.");
		return;
	}
	/* The password grant has no place for a second factor: who needs one logs in through the pages. */
	int mfa = totp_state(c, u.id);
	if (mfa < 0) {
		oauth_error(req, 503, "temporarily_unavailable",
			    "Le service est momentanément indisponible : réessayez plus tard.");
		return;
	}
	if (mfa == TOTP_ON || totp_required(&u)) {
		oauth_error(req, 400, "invalid_grant",
			    "Ce compte se connecte avec un second facteur : passez par la page de connexion.");
		return;
	}
	const char *scope = form_get(f, "scope");
	struct token_set t;
	if (tokens_issue(c, a, u.id, cl->id, scope && *scope ? scope : "openid", NULL, NULL, NULL, 1, &t) != ENT_OK) {
		oauth_error(req, 500, "server_error", "Les jetons n'ont pas pu être émis : réessayez plus tard.");
		return;
	}
	tokens_reply(req, &t);
}

/*
 * What the token and revocation endpoints share: the provider switched on, a form body, the
 * database, an authenticated client. Returns 0, or -1 after answering.
 */
static int oauth_begin(http_req *req, struct form *f, db_conn **c, struct client *cl)
{
	if (provider_off(req))
		return -1;
	const char *why;
	int rc = form_body(req, f, &why);
	if (rc > 0)
		oauth_error(req, 400, "invalid_request", why);
	if (rc)
		return -1;
	*c = app_db();
	if (!*c) {
		oauth_error(req, 503, "temporarily_unavailable",
			    "La base de données n'a pas répondu : réessayez dans un instant.");
		return -1;
	}
	return token_client(req, *c, f, cl);
}

void oidc_token(http_req *req)
{
	struct form f;
	db_conn *c;
	struct client cl;
	if (oauth_begin(req, &f, &c, &cl))
		return;
	const char *grant = form_get(&f, "grant_type");
	if (!grant) {
		oauth_error(req, 400, "invalid_request", "grant_type est obligatoire.");
	} else if (strcmp(grant, "authorization_code") == 0) {
		grant_code(req, c, &f, &cl);
	} else if (strcmp(grant, "refresh_token") == 0) {
		grant_refresh(req, c, &f, &cl);
	} else if (strcmp(grant, "client_credentials") == 0) {
		if (!cl.confidential) {
			oauth_error(req, 400, "unauthorized_client",
				    "client_credentials demande une application confidentielle.");
			return;
		}
		struct token_set t;
		if (tokens_issue_service(c, http_arena(req), &cl, &t) != ENT_OK) {
			oauth_error(req, 500, "server_error",
				    "Les jetons n'ont pas pu être émis : réessayez plus tard.");
			return;
		}
		tokens_reply(req, &t);
	} else if (strcmp(grant, "password") == 0) {
		grant_password(req, c, &f, &cl);
	} else {
		oauth_error(req, 400, "unsupported_grant_type", "Ce grant_type n'est pas pris en charge.");
	}
}

void oidc_revoke(http_req *req)
{
	struct form f;
	db_conn *c;
	struct client cl;
	if (oauth_begin(req, &f, &c, &cl))
		return;
	const char *t = form_get(&f, "token");
	if (!t) {
		oauth_error(req, 400, "invalid_request", "token est obligatoire.");
		return;
	}
	/* RFC 7009: the answer is 200 whether or not the token was known. */
	if (strlen(t) <= 128)
		refresh_revoke(c, t, cl.id);
	http_reply_empty(req, 200);
}

void oidc_userinfo(http_req *req)
{
	const struct http_principal *p = http_principal(req);
	db_conn *c = app_db();
	struct user u;
	if (!c || users_get(c, http_arena(req), p->sub, &u) != ENT_OK) {
		http_set_header(req, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
		http_problem(req, 401, "L'utilisateur de ce jeton n'existe pas.");
		return;
	}
	json_t *roles = auth_roles_json(u.roles);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:o}}", "sub", u.id, "preferred_username",
			      u.username ? u.username : u.id, "name", u.name ? u.name : "", "given_name",
			      u.given_name ? u.given_name : "", "family_name", u.family_name ? u.family_name : "",
			      "realm_access", "roles", roles);
	if (u.email) {
		json_object_set_new(j, "email", json_string(u.email));
		json_object_set_new(j, "email_verified", json_true());
	}
	http_reply_json(req, 200, j);
}

void oidc_logout(http_req *req)
{
	if (provider_off(req))
		return;
	arena *a = http_arena(req);
	struct form f = {0};
	if (strcmp(http_method(req), "POST") == 0) {
		size_t len;
		const char *body = http_body(req, &len);
		const char *why;
		if (len && form_parse(a, body, len, &f, &why) != 0) {
			error_page(req, 400, "Demande de déconnexion invalide.");
			return;
		}
	}
#define PARAM(n) (form_get(&f, n) ? form_get(&f, n) : http_query(req, n))
	const char *post_uri = PARAM("post_logout_redirect_uri");
	const char *state = PARAM("state");
	const char *client_id = PARAM("client_id");
	const char *hint = PARAM("id_token_hint");
#undef PARAM
	db_conn *c = app_db();
	if (!c) {
		error_page(req, 503, "Le service est momentanément indisponible.");
		return;
	}
	/* The client comes from client_id or from the id_token_hint's audience (signature checked). */
	char hint_client[256] = "";
	if (hint && strlen(hint) < 16384) {
		json_t *claims = NULL;
		if (keys_verify(hint, &claims, NULL, 0) == JWT_OK) {
			const char *aud = json_string_value(json_object_get(claims, "azp"));
			const char *iss = json_string_value(json_object_get(claims, "iss"));
			if (aud && iss && strcmp(iss, auth_issuer()) == 0)
				snprintf(hint_client, sizeof(hint_client), "%s", aud);
			json_decref(claims);
		}
		if (!hint_client[0]) {
			error_page(req, 400, "Demande de déconnexion invalide (id_token_hint).");
			return;
		}
	}
	if (client_id && hint_client[0] && strcmp(client_id, hint_client) != 0) {
		error_page(req, 400, "Demande de déconnexion invalide (client).");
		return;
	}
	if (!client_id && hint_client[0])
		client_id = hint_client;
	struct client cl;
	int have_client = client_id && client_get(c, a, client_id, &cl) == ENT_OK;
	if (post_uri && (!have_client || !client_has_uri(cl.post_logout_uris, post_uri))) {
		error_page(req, 400, "Adresse de retour après déconnexion non autorisée.");
		return;
	}
	char *user_id, *session_hash;
	const char *cookie = http_cookie(req, SESSION_COOKIE);
	if (cookie && session_user(c, a, cookie, &user_id, &session_hash) == ENT_OK)
		session_end(c, session_hash);
	set_cookie(req, SESSION_COOKIE, "", -1);
	if (post_uri) {
		const char *pairs[] = {"state", state, NULL};
		redirect(req, 302, with_params(a, post_uri, pairs));
		return;
	}
	buf b;
	buf_init(&b, 0);
	page_open(req, &b, "Déconnexion", NULL);
	buf_addstr(&b, "<h1>Vous êtes déconnecté</h1><p class=\"ok\" role=\"status\">Votre session ENT est terminée. "
		       "Vous pouvez fermer cette page.</p>");
	page_close(req, &b, 200);
}
