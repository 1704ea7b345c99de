/*
 * tokens.c - clients, provider sessions, authorization codes, refresh tokens, token issuance.
 *
 * Nothing secret is stored in clear: session ids, codes, refresh tokens and client secrets are
 * random (256 bits) and stored as their SHA-256. Single use is enforced by conditional UPDATEs
 * ("... WHERE used_at IS NULL"): of two concurrent redemptions exactly one changes the row.
 *
 * Refresh tokens rotate: each use returns a new token of the same family and marks the old one
 * used; presenting a used token again revokes the whole family (it was stolen, or replayed).
 * A family never outlives its absolute expiry, however often it is refreshed.
 */
#include "internal.h"

#include "auth.h"
#include "core/app.h"
#include "core/err.h"
#include "core/jwt.h"
#include "core/log.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/users/users.h"

#include <stdlib.h>
#include <string.h>

/* The operator's `ent token --ttl` (this thread only); 0: the standard 5 minutes. */
static _Thread_local int ttl_override;
static int access_ttl(void) { return ttl_override > 0 ? ttl_override : ACCESS_TOKEN_TTL; }

static void json_free_cb(void *p) { json_decref(p); }

static char *random_token(arena *a)
{
	unsigned char r[32];
	util_random(r, sizeof(r));
	char *out = arena_alloc(a, 44);
	b64url_encode(r, sizeof(r), out, 44);
	return out;
}

static char *hash_of(arena *a, const char *s)
{
	char *h = arena_alloc(a, 65);
	sha256_hex(s, strlen(s), h);
	return h;
}

/* ---- clients ---- */

int client_get(db_conn *c, arena *a, const char *id, struct client *out)
{
	memset(out, 0, sizeof(*out));
	db_stmt *s = db_prepare(c,
				"SELECT client_id, name, secret_hash, redirect_uris, post_logout_uris, direct_grant, "
				"service_roles, disabled FROM auth_clients WHERE client_id = ?");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, id);
	int rc = db_step(s);
	if (rc == DB_ROW) {
		out->id = arena_strdup(a, db_col_text(s, 0));
		out->name = arena_strdup(a, db_col_text(s, 1));
		out->confidential = !db_col_is_null(s, 2);
		out->redirect_uris = json_loads(db_col_text(s, 3), 0, NULL);
		out->post_logout_uris = json_loads(db_col_text(s, 4), 0, NULL);
		out->direct_grant = (int)db_col_int64(s, 5);
		out->service_roles = (unsigned)db_col_int64(s, 6);
		out->disabled = (int)db_col_int64(s, 7);
		if (!out->redirect_uris)
			out->redirect_uris = json_array();
		if (!out->post_logout_uris)
			out->post_logout_uris = json_array();
		arena_on_free(a, json_free_cb, out->redirect_uris);
		arena_on_free(a, json_free_cb, out->post_logout_uris);
	}
	db_done(s);
	if (rc < 0)
		return rc;
	return rc == DB_ROW ? ENT_OK : ENT_ENOTFOUND;
}

int client_check_secret(db_conn *c, const char *id, const char *secret)
{
	db_stmt *s = SQL_PREP(c, "SELECT secret_hash FROM auth_clients WHERE client_id = ? AND disabled = 0",
			      SQL_T(id));
	if (!s)
		return ENT_EDB;
	int ok = 0;
	if (db_step(s) == DB_ROW && !db_col_is_null(s, 0) && secret) {
		char h[65];
		sha256_hex(secret, strlen(secret), h);
		const char *stored = db_col_text(s, 0);
		ok = strlen(stored) == 64 && util_ct_equal(stored, h, 64);
	}
	db_done(s);
	return ok ? ENT_OK : ENT_EAUTH;
}

int client_has_uri(const json_t *uris, const char *uri)
{
	size_t i;
	json_t *v;
	if (!uri)
		return 0;
	json_array_foreach (uris, i, v) {
		const char *s = json_string_value(v);
		if (s && strcmp(s, uri) == 0) /* exact match only: no prefixes, no normalisation */
			return 1;
	}
	return 0;
}

int client_ensure_portal(db_conn *c, const char *public_url)
{
	json_t *redirects = json_pack("[s+, s+]", public_url, "/login/callback", public_url, "/silent-renew.html");
	json_t *logouts = json_pack("[s+, s+]", public_url, "/login", public_url, "/");
	char *r = json_dumps(redirects, JSON_COMPACT);
	char *l = json_dumps(logouts, JSON_COMPACT);
	json_decref(redirects);
	json_decref(logouts);
	char now[21];
	util_time_rfc3339(time(NULL), now);
	int rc = SQL_RUN(c,
			 "INSERT INTO auth_clients (client_id, name, secret_hash, redirect_uris, post_logout_uris, "
			 "direct_grant, service_roles, disabled, created_at) VALUES (?, ?, NULL, ?, ?, 0, 0, 0, ?) "
			 "ON CONFLICT (client_id) DO UPDATE SET redirect_uris = ?, post_logout_uris = ?",
			 SQL_T(PORTAL_CLIENT), SQL_T("Portail ENT"), SQL_T(r), SQL_T(l), SQL_T(now), SQL_T(r),
			 SQL_T(l));
	free(r);
	free(l);
	return rc;
}

int client_add(db_conn *c, const char *id, const char *name, const char *redirect, int confidential, int direct_grant,
	       unsigned service_roles, FILE *out)
{
	json_t *uris = json_array();
	for (const char *p = redirect ? redirect : ""; *p;) {
		size_t n = strcspn(p, ",");
		if (n)
			json_array_append_new(uris, json_stringn(p, n));
		p += n;
		if (*p == ',')
			p++;
	}
	char *u = json_dumps(uris, JSON_COMPACT);
	json_decref(uris);
	char secret[65] = "", hash[65] = "";
	if (confidential) {
		util_random_hex(secret, 32);
		sha256_hex(secret, strlen(secret), hash);
	}
	char now[21];
	util_time_rfc3339(time(NULL), now);
	db_stmt *s = db_prepare(
		c, "INSERT INTO auth_clients (client_id, name, secret_hash, redirect_uris, post_logout_uris, "
		   "direct_grant, service_roles, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)");
	int rc = ENT_EDB;
	if (s) {
		db_bind_text(s, 1, id);
		db_bind_text(s, 2, name);
		if (confidential)
			db_bind_text(s, 3, hash);
		else
			db_bind_null(s, 3);
		db_bind_text(s, 4, u);
		db_bind_text(s, 5, u);
		db_bind_int64(s, 6, direct_grant);
		db_bind_int64(s, 7, service_roles);
		db_bind_text(s, 8, now);
		rc = db_step(s);
		db_done(s);
	}
	free(u);
	if (rc < 0)
		return rc;
	if (out) {
		fprintf(out, "client %s registered (%s)\n", id, confidential ? "confidential" : "public");
		if (confidential)
			fprintf(out, "client secret (shown once): %s\n", secret);
	}
	return ENT_OK;
}

/* ---- sessions ---- */

int session_create(db_conn *c, arena *a, const char *user_id, char **cookie_value, char **session_hash)
{
	char *v = random_token(a);
	char *h = hash_of(a, v);
	int64_t now = time(NULL);
	int rc = SQL_RUN(c, "INSERT INTO auth_sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
			 SQL_T(h), SQL_T(user_id), SQL_I(now), SQL_I(now + SESSION_TTL));
	if (rc)
		return rc;
	*cookie_value = v;
	*session_hash = h;
	return ENT_OK;
}

int session_user(db_conn *c, arena *a, const char *cookie_value, char **user_id, char **session_hash)
{
	if (!cookie_value || strlen(cookie_value) > 128)
		return ENT_ENOTFOUND;
	char *h = hash_of(a, cookie_value);
	db_stmt *s = db_prepare(
		c, "SELECT user_id FROM auth_sessions WHERE id_hash = ? AND ended_at IS NULL AND expires_at > ?");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, h);
	db_bind_int64(s, 2, time(NULL));
	int rc = db_step(s);
	if (rc == DB_ROW) {
		*user_id = arena_strdup(a, db_col_text(s, 0));
		*session_hash = h;
	}
	db_done(s);
	if (rc < 0)
		return rc;
	return rc == DB_ROW ? ENT_OK : ENT_ENOTFOUND;
}

/* Ends the sessions and revokes the refresh tokens that end_sql and revoke_sql (the instant, then key) name. */
static int end_and_revoke(db_conn *c, const char *end_sql, const char *revoke_sql, const char *key)
{
	int64_t now = time(NULL);
	int rc = SQL_RUN(c, end_sql, SQL_I(now), SQL_T(key));
	return rc ? rc : SQL_RUN(c, revoke_sql, SQL_I(now), SQL_T(key));
}

int session_end(db_conn *c, const char *session_hash)
{
	return end_and_revoke(c, "UPDATE auth_sessions SET ended_at = ? WHERE id_hash = ? AND ended_at IS NULL",
			      "UPDATE auth_refresh SET revoked_at = ? WHERE session_hash = ? AND revoked_at IS NULL",
			      session_hash);
}

int auth_revoke_user(db_conn *c, const char *user_id)
{
	return end_and_revoke(c, "UPDATE auth_sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL",
			      "UPDATE auth_refresh SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
			      user_id);
}

/* ---- codes ---- */

int code_create(db_conn *c, arena *a, const char *client_id, const char *user_id, const char *session_hash,
		const char *redirect_uri, const char *challenge, const char *scope, const char *nonce, char **code)
{
	char *v = random_token(a);
	int rc = SQL_RUN(c,
			 "INSERT INTO auth_codes (code_hash, client_id, user_id, session_hash, redirect_uri, "
			 "code_challenge, scope, nonce, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			 SQL_T(hash_of(a, v)), SQL_T(client_id), SQL_T(user_id), SQL_T(session_hash),
			 SQL_T(redirect_uri), SQL_T(challenge), SQL_T(scope), SQL_T(nonce),
			 SQL_I(time(NULL) + CODE_TTL));
	if (rc < 0)
		return rc;
	*code = v;
	return ENT_OK;
}

static int revoke_family(db_conn *c, const char *family)
{
	if (!family)
		return ENT_OK;
	return SQL_RUN(c, "UPDATE auth_refresh SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL",
		       SQL_I(time(NULL)), SQL_T(family));
}

static int valid_verifier(const char *v)
{
	size_t n = strlen(v);
	if (n < 43 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '.' || ch == '_' || ch == '~'))
			return 0;
	}
	return 1;
}

int code_redeem(db_conn *c, arena *a, const char *code, const char *client_id, const char *redirect_uri,
		const char *verifier, struct code_grant *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	*why = "Le code d'autorisation est invalide, expiré ou déjà utilisé.";
	if (!code || strlen(code) > 128)
		return ENT_EAUTH;
	char *h = hash_of(a, code);
	int64_t now = time(NULL);
	int64_t changes = 0;
	int rc = SQL_CHANGE(c, &changes, "UPDATE auth_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL",
			    SQL_I(now), SQL_T(h));
	if (rc)
		return rc;
	db_stmt *s = SQL_ROW(c, &rc,
			     "SELECT client_id, user_id, session_hash, redirect_uri, code_challenge, scope, nonce, "
			     "expires_at, family FROM auth_codes WHERE code_hash = ?",
			     SQL_T(h));
	if (!s)
		return rc == ENT_ENOTFOUND ? ENT_EAUTH : rc;
	char *family = db_col_is_null(s, 8) ? NULL : arena_strdup(a, db_col_text(s, 8));
	if (changes == 0) {
		/* Second use: refuse, and revoke what the first use issued. */
		db_done(s);
		log_warn("auth: an authorization code was used twice; its tokens are revoked");
		revoke_family(c, family);
		*why = "Le code d'autorisation a déjà été utilisé.";
		return ENT_ECONFLICT;
	}
	const char *cl = db_col_text(s, 0);
	const char *ru = db_col_text(s, 3);
	const char *challenge = db_col_text(s, 4);
	int64_t expires = db_col_int64(s, 7);
	int bad = 0;
	if (strcmp(cl, client_id) != 0) {
		*why = "Le code d'autorisation a été émis pour une autre application.";
		bad = 1;
	} else if (!redirect_uri || strcmp(ru, redirect_uri) != 0) {
		*why = "redirect_uri diffère de celle de la demande d'autorisation.";
		bad = 1;
	} else if (expires <= now) {
		*why = "Le code d'autorisation a expiré.";
		bad = 1;
	} else if (challenge) {
		char computed[44];
		if (!verifier || !valid_verifier(verifier)) {
			*why = "code_verifier est absent ou mal formé.";
			bad = 1;
		} else {
			sha256_b64url(verifier, strlen(verifier), computed);
			if (strcmp(computed, challenge) != 0) {
				*why = "code_verifier ne correspond pas au code_challenge.";
				bad = 1;
			}
		}
	} else if (verifier) {
		*why = "Un code_verifier a été envoyé, mais la demande d'autorisation n'avait pas de code_challenge.";
		bad = 1;
	}
	if (!bad) {
		out->user_id = arena_strdup(a, db_col_text(s, 1));
		out->session_hash = db_col_is_null(s, 2) ? NULL : arena_strdup(a, db_col_text(s, 2));
		out->scope = arena_strdup(a, db_col_text(s, 5));
		out->nonce = db_col_is_null(s, 6) ? NULL : arena_strdup(a, db_col_text(s, 6));
	}
	db_done(s);
	return bad ? ENT_EAUTH : ENT_OK;
}

int code_set_family(db_conn *c, const char *code, const char *family)
{
	char h[65];
	sha256_hex(code, strlen(code), h);
	return SQL_RUN(c, "UPDATE auth_codes SET family = ? WHERE code_hash = ?", SQL_T(family), SQL_T(h));
}

/* ---- refresh tokens ---- */

static int refresh_store(db_conn *c, arena *a, const char *family, const char *user_id, const char *client_id,
			 const char *session_hash, const char *scope, const char *nonce, int64_t absolute, char **token)
{
	char *v = random_token(a);
	int64_t now = time(NULL);
	int64_t expires = now + REFRESH_IDLE_TTL < absolute ? now + REFRESH_IDLE_TTL : absolute;
	db_stmt *s = db_prepare(
		c, "INSERT INTO auth_refresh (token_hash, family, user_id, client_id, session_hash, scope, "
		   "nonce, created_at, expires_at, absolute_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, hash_of(a, v));
	db_bind_text(s, 2, family);
	db_bind_text(s, 3, user_id);
	db_bind_text(s, 4, client_id);
	db_bind_text(s, 5, session_hash);
	db_bind_text(s, 6, scope);
	db_bind_text(s, 7, nonce);
	db_bind_int64(s, 8, now);
	db_bind_int64(s, 9, expires);
	db_bind_int64(s, 10, absolute);
	int rc = db_step(s);
	db_done(s);
	if (rc < 0)
		return rc;
	*token = v;
	return ENT_OK;
}

int refresh_use(db_conn *c, arena *a, const char *token, const char *client_id, struct code_grant *out,
		const char **why)
{
	memset(out, 0, sizeof(*out));
	*why = "Le jeton de rafraîchissement est invalide, expiré ou révoqué.";
	if (!token || strlen(token) > 128)
		return ENT_EAUTH;
	char *h = hash_of(a, token);
	int64_t now = time(NULL);
	int64_t changes = 0;
	int rc = SQL_CHANGE(
		c, &changes,
		"UPDATE auth_refresh SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL "
		"AND expires_at > ? AND absolute_expires_at > ?",
		SQL_I(now), SQL_T(h), SQL_I(now), SQL_I(now));
	if (rc)
		return rc;
	db_stmt *s = SQL_ROW(
		c, &rc,
		"SELECT family, user_id, client_id, session_hash, scope, nonce, used_at, absolute_expires_at "
		"FROM auth_refresh WHERE token_hash = ?",
		SQL_T(h));
	if (!s)
		return rc == ENT_ENOTFOUND ? ENT_EAUTH : rc;
	char *family = arena_strdup(a, db_col_text(s, 0));
	if (changes == 0) {
		int reused = !db_col_is_null(s, 6);
		db_done(s);
		if (reused) {
			log_warn("auth: a rotated refresh token was presented again; its family is revoked");
			revoke_family(c, family);
		}
		return ENT_EAUTH;
	}
	if (strcmp(db_col_text(s, 2), client_id) != 0) {
		db_done(s);
		*why = "Le jeton de rafraîchissement a été émis pour une autre application.";
		return ENT_EAUTH;
	}
	out->family = family;
	out->user_id = arena_strdup(a, db_col_text(s, 1));
	out->session_hash = db_col_is_null(s, 3) ? NULL : arena_strdup(a, db_col_text(s, 3));
	out->scope = arena_strdup(a, db_col_text(s, 4));
	out->nonce = db_col_is_null(s, 5) ? NULL : arena_strdup(a, db_col_text(s, 5));
	db_done(s);
	/* The session it belongs to must still be live, and the user still allowed in. */
	if (out->session_hash) {
		db_stmt *q = SQL_PREP(c, "SELECT 1 FROM auth_sessions WHERE id_hash = ? AND ended_at IS NULL",
				      SQL_T(out->session_hash));
		if (!q)
			return ENT_EDB;
		int live = db_step(q) == DB_ROW;
		db_done(q);
		if (!live) {
			*why = "La session est terminée : reconnectez-vous.";
			return ENT_EAUTH;
		}
	}
	if (!users_may_login(c, out->user_id)) {
		revoke_family(c, family);
		*why = "Ce compte est désactivé ou verrouillé.";
		return ENT_EAUTH;
	}
	return ENT_OK;
}

int refresh_revoke(db_conn *c, const char *token, const char *client_id)
{
	char h[65];
	sha256_hex(token, strlen(token), h);
	db_stmt *s = SQL_PREP(c, "SELECT family FROM auth_refresh WHERE token_hash = ? AND client_id = ?", SQL_T(h),
			      SQL_T(client_id));
	if (!s)
		return ENT_EDB;
	char family[64] = "";
	if (db_step(s) == DB_ROW)
		snprintf(family, sizeof(family), "%s", db_col_text(s, 0));
	db_done(s);
	return family[0] ? revoke_family(c, family) : ENT_OK;
}

/* ---- issuance ---- */

json_t *auth_roles_json(unsigned roles)
{
	json_t *a = json_array();
	if (roles & ROLE_ETUDIANT)
		json_array_append_new(a, json_string("etudiant"));
	if (roles & ROLE_ENSEIGNANT)
		json_array_append_new(a, json_string("enseignant"));
	if (roles & ROLE_ADMIN)
		json_array_append_new(a, json_string("admin"));
	if (roles & ROLE_SERVICE)
		json_array_append_new(a, json_string("service"));
	return a;
}

static void set_profile(json_t *claims, const struct user *u)
{
	json_object_set_new(claims, "preferred_username", json_string(u->username ? u->username : u->id));
	if (u->email) {
		json_object_set_new(claims, "email", json_string(u->email));
		json_object_set_new(claims, "email_verified", json_true());
	}
	json_object_set_new(claims, "name", json_string(u->name ? u->name : ""));
	json_object_set_new(claims, "given_name", json_string(u->given_name ? u->given_name : ""));
	json_object_set_new(claims, "family_name", json_string(u->family_name ? u->family_name : ""));
}

int tokens_issue(db_conn *c, arena *a, const char *user_id, const char *client_id, const char *scope, const char *nonce,
		 const char *session_hash, const char *family, int with_refresh, struct token_set *out)
{
	memset(out, 0, sizeof(*out));
	struct user u;
	int rc = users_get(c, a, user_id, &u);
	if (rc)
		return rc;
	keys_reload(c, 60); /* pick up a rotation done by another process */
	time_t now = time(NULL);
	char jti[37];
	util_uuid(jti);
	json_t *at = json_pack("{s:s, s:s, s:[s], s:s, s:I, s:I, s:s, s:s, s:s, s:{s:o}}", "iss", auth_issuer(), "sub",
			       u.id, "aud", app.cfg->audience, "azp", client_id, "exp",
			       (json_int_t)(now + access_ttl()), "iat", (json_int_t)now, "jti", jti, "typ", "Bearer",
			       "scope", scope, "realm_access", "roles", auth_roles_json(u.roles));
	if (session_hash)
		json_object_set_new(at, "sid", json_string(session_hash));
	set_profile(at, &u);
	out->access_token = keys_sign(at);
	json_decref(at);
	if (!out->access_token)
		return ENT_EINTERNAL;
	out->scope = scope;
	out->session_state = session_hash;
	if (scope && strstr(scope, "openid")) {
		util_uuid(jti);
		json_t *id = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "iss", auth_issuer(), "sub", u.id,
				       "aud", client_id, "azp", client_id, "exp", (json_int_t)(now + access_ttl()),
				       "iat", (json_int_t)now, "jti", jti, "typ", "ID");
		if (nonce)
			json_object_set_new(id, "nonce", json_string(nonce));
		if (session_hash)
			json_object_set_new(id, "sid", json_string(session_hash));
		set_profile(id, &u);
		out->id_token = keys_sign(id);
		json_decref(id);
	}
	if (with_refresh) {
		int64_t absolute = (int64_t)now + REFRESH_ABSOLUTE_TTL;
		const char *fam = family;
		if (fam) {
			/* A rotation keeps the family's absolute expiry. */
			db_stmt *s = db_prepare(c,
						"SELECT MIN(absolute_expires_at) FROM auth_refresh WHERE family = ?");
			if (s) {
				db_bind_text(s, 1, fam);
				if (db_step(s) == DB_ROW && !db_col_is_null(s, 0))
					absolute = db_col_int64(s, 0);
				db_done(s);
			}
		} else {
			char *f = arena_alloc(a, 37);
			util_uuid(f);
			fam = f;
		}
		rc = refresh_store(c, a, fam, u.id, client_id, session_hash, scope, nonce, absolute,
				   &out->refresh_token);
		if (rc) {
			token_set_free(out);
			return rc;
		}
		int64_t left = absolute - now;
		out->refresh_expires_in = (int)(left < REFRESH_IDLE_TTL ? left : REFRESH_IDLE_TTL);
		out->family = fam;
	}
	return ENT_OK;
}

int tokens_issue_service(db_conn *c, arena *a, const struct client *cl, struct token_set *out)
{
	(void)c;
	(void)a;
	memset(out, 0, sizeof(*out));
	time_t now = time(NULL);
	char jti[37];
	util_uuid(jti);
	json_t *at = json_pack("{s:s, s:s, s:[s], s:s, s:s, s:I, s:I, s:s, s:s, s:b, s:s, s:{s:o}}", "iss",
			       auth_issuer(), "sub", cl->id, "aud", app.cfg->audience, "azp", cl->id, "client_id",
			       cl->id, "exp", (json_int_t)(now + access_ttl()), "iat", (json_int_t)now, "jti", jti,
			       "typ", "Bearer", "ent_service", 1, "preferred_username", cl->id, "realm_access", "roles",
			       auth_roles_json(cl->service_roles));
	out->access_token = keys_sign(at);
	json_decref(at);
	return out->access_token ? ENT_OK : ENT_EINTERNAL;
}

void token_set_free(struct token_set *t)
{
	free(t->access_token);
	free(t->id_token);
	t->access_token = t->id_token = NULL;
}

void tokens_reply(http_req *req, struct token_set *t)
{
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "access_token", t->access_token);
	jw_kint(w, "expires_in", access_ttl());
	if (t->refresh_token) {
		jw_kstr(w, "refresh_token", t->refresh_token);
		jw_kint(w, "refresh_expires_in", t->refresh_expires_in);
	}
	jw_kstr(w, "token_type", "Bearer");
	if (t->id_token)
		jw_kstr(w, "id_token", t->id_token);
	jw_kint(w, "not-before-policy", 0);
	if (t->session_state)
		jw_kstr(w, "session_state", t->session_state);
	if (t->scope)
		jw_kstr(w, "scope", t->scope);
	jw_obj_close(w);
	http_set_header(req, "Cache-Control", "no-store");
	http_set_header(req, "Pragma", "no-cache");
	http_reply_jw(req, 200);
	token_set_free(t);
}

void tokens_gc(db_conn *c)
{
	static const char *const sqls[] = {"DELETE FROM auth_codes WHERE expires_at < ?",
					   "DELETE FROM auth_login_requests WHERE expires_at < ?",
					   "DELETE FROM auth_refresh WHERE absolute_expires_at < ?",
					   "DELETE FROM auth_sessions WHERE expires_at < ?"};
	int64_t before = time(NULL) - 3600;
	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++)
		SQL_RUN(c, sqls[i], SQL_I(before));
}

char *auth_issue_access_token(db_conn *c, const char *user_id, int ttl)
{
	ttl_override = ttl;
	arena *a = arena_new(0);
	struct token_set t;
	char *out = NULL;
	if (tokens_issue(c, a, user_id, PORTAL_CLIENT, "openid profile email", NULL, NULL, NULL, 0, &t) == ENT_OK) {
		out = t.access_token;
		t.access_token = NULL;
		token_set_free(&t);
	}
	arena_free(a);
	ttl_override = 0;
	return out;
}
