/*
 * internal.h - shared between the files of the auth service (not for other services: they use
 * auth.h).
 *
 *   keys.c    the RS256 signing keys: generated at first start, stored, rotated, published (JWKS)
 *   guard.c   the access guard: verifies bearer tokens (built-in or external issuer) with a cache
 *   tokens.c  clients, authorization codes, refresh tokens, sessions; token issuance
 *   oidc.c    the provider's HTTP endpoints at Keycloak's paths, and the login page
 *   auth.c    the service table, /api/auth routes, commands (token, keys, client)
 */
#ifndef ENT_AUTH_INTERNAL_H
#define ENT_AUTH_INTERNAL_H

#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "core/http.h"
#include "store/db.h"

#define AUTH_REALM_PATH "/realms/ent"
#define ACCESS_TOKEN_TTL 300       /* 5 minutes */
#define CODE_TTL 60                /* authorization codes */
#define LOGIN_REQUEST_TTL 1800     /* a login page stays usable 30 minutes */
#define REFRESH_IDLE_TTL 1800      /* 30 minutes without use ends a refresh token */
#define REFRESH_ABSOLUTE_TTL 36000 /* 10 hours at most, however often it is used */
#define SESSION_TTL 36000
#define KEY_GRACE 900 /* a retired key stays published this long (> token lifetimes) */
#define PORTAL_CLIENT "ent-portal"

/* The issuer of tokens this process accepts and (built-in mode) issues. */
const char *auth_issuer(void);
/* 1 when tokens come from an external issuer (ENT_OIDC_ISSUER), 0 for the built-in provider. */
int auth_external(void);

/* ---- keys.c ---- */
int keys_load(db_conn *c, int generate);
/* Reloads keys from the database when older than max_age seconds (0: now). */
int keys_reload(db_conn *c, int max_age);
/*
 * For a token signed with a kid this process does not know: reloads the keys when the table has
 * that kid (another process generated or rotated it, maybe a moment ago), whatever the age of the
 * loaded ones. 0 when the kid is known now, ENT_ENOTFOUND when the table does not have it either,
 * or an ent_err.
 */
int keys_reload_kid(db_conn *c, const char *kid);
/* Signs claims with the current key. malloc'd JWT or NULL. */
char *keys_sign(const json_t *claims);
/* Verifies a token against the built-in keys (see jwt_verify_rs256). */
int keys_verify(const char *token, json_t **claims, char *kid, size_t kidlen);
/* The JWKS document (valid until the next reload: copy it under the request). */
char *keys_jwks_copy(size_t *len);
/* Adds a key and retires the current one, then wakes every process up to reload (keys_subscribe). */
int keys_rotate(db_conn *c, FILE *out);
/* Reloads the keys on every rotation's wake-up (core/wake.h), before wake_start(). 0 or an ent_err. */
int keys_subscribe(void);
void keys_free(void);

/* ---- guard.c ---- */
int guard_start(void);
void guard_stop(void);
int guard_check(http_req *req, struct http_principal *out);
/* Verifies a raw token string (no request): 0 and a principal allocated in a. */
int guard_verify_token(arena *a, const char *token, struct http_principal *out);

/* ---- tokens.c ---- */
struct client {
	const char *id;
	const char *name;
	int confidential;      /* has a secret */
	int direct_grant;      /* password grant allowed */
	json_t *redirect_uris; /* array of strings (owned by the arena cleanup) */
	json_t *post_logout_uris;
	unsigned service_roles; /* roles of its client_credentials tokens */
	int disabled;
};

int client_get(db_conn *c, arena *a, const char *id, struct client *out);
int client_check_secret(db_conn *c, const char *id, const char *secret);
int client_has_uri(const json_t *uris, const char *uri);
/* Creates or updates the portal client for the public URL. */
int client_ensure_portal(db_conn *c, const char *public_url);
/* ent client add: prints the secret of a confidential client once. */
int client_add(db_conn *c, const char *id, const char *name, const char *redirect, int confidential, int direct_grant,
	       unsigned service_roles, FILE *out);

struct token_set {
	char *access_token;  /* malloc'd */
	char *id_token;      /* malloc'd or NULL */
	char *refresh_token; /* arena */
	int refresh_expires_in;
	const char *scope;
	const char *session_state;
	const char *family; /* the refresh family issued, if any */
};

/* ["etudiant", ...] for ROLE_* bits (the realm_access.roles claim). New reference. */
json_t *auth_roles_json(unsigned roles);

/* Issues access (+ id + refresh) tokens for a user. family NULL: a new refresh family. */
int tokens_issue(db_conn *c, arena *a, const char *user_id, const char *client_id, const char *scope, const char *nonce,
		 const char *session_hash, const char *family, int with_refresh, struct token_set *out);
/* Access token only, for a confidential client (client_credentials). */
int tokens_issue_service(db_conn *c, arena *a, const struct client *cl, struct token_set *out);
void token_set_free(struct token_set *t);
/* Writes the OAuth token answer. */
void tokens_reply(http_req *req, struct token_set *t);

/* Sessions of the provider (the SSO cookie). */
int session_create(db_conn *c, arena *a, const char *user_id, char **cookie_value, char **session_hash);
/* The user of a live session cookie, or ENT_ENOTFOUND. */
int session_user(db_conn *c, arena *a, const char *cookie_value, char **user_id, char **session_hash);
int session_end(db_conn *c, const char *session_hash);

/* Authorization codes: single use, CODE_TTL seconds, bound to client and redirect URI. */
int code_create(db_conn *c, arena *a, const char *client_id, const char *user_id, const char *session_hash,
		const char *redirect_uri, const char *challenge, const char *scope, const char *nonce, char **code);
struct code_grant {
	char *user_id, *session_hash, *scope, *nonce, *family;
};
/*
 * Redeems a code. ENT_OK; ENT_EAUTH for unknown/expired/mismatched; ENT_ECONFLICT for a reused
 * code (whose refresh family is then revoked).
 */
int code_redeem(db_conn *c, arena *a, const char *code, const char *client_id, const char *redirect_uri,
		const char *verifier, struct code_grant *out, const char **why);
/* Records the refresh family issued from a code (so that reuse can revoke it). */
int code_set_family(db_conn *c, const char *code, const char *family);

/*
 * Rotates a refresh token: ENT_OK with the grant to issue from (user, session, scope, family);
 * ENT_EAUTH when unknown, expired, revoked or reused (reuse revokes the whole family).
 */
int refresh_use(db_conn *c, arena *a, const char *token, const char *client_id, struct code_grant *out,
		const char **why);
int refresh_revoke(db_conn *c, const char *token, const char *client_id);

/* Housekeeping: removes expired codes, login requests, sessions and refresh tokens. */
void tokens_gc(db_conn *c);

/* ---- oidc.c: the provider's handlers (routes in auth.c) ---- */
void oidc_discovery(http_req *req);
void oidc_certs(http_req *req);
void oidc_authorize(http_req *req);
void oidc_login_post(http_req *req);
void oidc_activate_get(http_req *req);
void oidc_activate_post(http_req *req);
void oidc_otp_post(http_req *req);
void oidc_token(http_req *req);
void oidc_revoke(http_req *req);
void oidc_userinfo(http_req *req);
void oidc_logout(http_req *req);

/* ---- totp.c: the second factor of staff logins ---- */

struct user;
enum { TOTP_OFF = 0, TOTP_PENDING = 1, TOTP_ON = 2 };
void totp_init(void);
/* 1 if u must log in with a second factor (admins; teachers with ENT_MFA_TEACHERS=required). */
int totp_required(const struct user *u);
/* TOTP_OFF, TOTP_PENDING (enrolment begun, not confirmed) or TOTP_ON; or a negative ent_err. */
int totp_state(db_conn *c, const char *user_id);
/*
 * Starts (or restarts) an enrolment: a new secret, pending until confirmed. *secret_b32 and *uri
 * (otpauth://) are arena strings. ENT_ECONFLICT when the user's TOTP is already confirmed.
 */
int totp_begin_enrol(db_conn *c, arena *a, const char *user_id, const char *account, const char **secret_b32,
		     const char **uri);
/*
 * Confirms a pending enrolment with a first code: ENT_OK and *recovery (ten codes, NULL-terminated,
 * arena; shown once), ENT_EAUTH for a wrong code, ENT_EBUSY (*retry_after) when locked.
 */
int totp_confirm(db_conn *c, arena *a, const char *user_id, const char *code, int *retry_after, const char ***recovery);
/* Checks a login's code or recovery code: ENT_OK, ENT_EAUTH, ENT_EBUSY (*retry_after), or an error. */
int totp_check(db_conn *c, const char *user_id, const char *code, int *retry_after);
/* Appends an inline SVG QR code of uri to b. */
void totp_qr_svg(buf *b, const char *uri);
/* GDPR erasure of the user's second factor. */
int totp_erase_user(db_conn *c, const char *user_id);

#endif
