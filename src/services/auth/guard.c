/*
 * guard.c - the access guard: who is calling, from the bearer token.
 *
 * Built-in mode: the token must verify against our own keys (keys.c), with iss = our issuer,
 * aud containing ENT_OIDC_AUDIENCE, typ "Bearer", exp in the future (60 s leeway). External mode
 * (ENT_OIDC_ISSUER): the same checks against the issuer's JWKS, fetched through its discovery
 * document and cached; an unknown kid triggers at most one refetch every 30 seconds. The local
 * user for (iss, sub) is created on first sight (users_upsert_external).
 *
 * RSA runs once per token: a verified token is cached until it expires (bounded: CACHE_SETS sets
 * of CACHE_WAYS entries, 8,192 tokens; a new token replaces the least recently used of its set,
 * so thousands of active users do not evict each other). An entry is found by a fast keyed hash
 * of the token and matched by the token's whole bytes (a token longer than TOKEN_KEEP bytes: by
 * its SHA-256), so only the very token that was verified ever matches it.
 * Roles come only from the verified token (the configured claim path), never from headers.
 */
#include "internal.h"

#include "core/app.h"
#include "core/err.h"
#include "core/jwt.h"
#include "core/log.h"
#include "core/util.h"
#include "services/users/users.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CACHE_SETS 2048 /* x CACHE_WAYS entries: a school's active tokens */
#define CACHE_WAYS 4
#define CACHE_SHARDS 16
#define LEEWAY 60
#define JWKS_REFETCH_MIN 10
#define FETCH_MAX (1 << 20)
#define RECHECK 5       /* seconds between re-reads of a cached token's user: enabled, and their roles now */
#define TOKEN_KEEP 2048 /* longer tokens are kept and matched by their SHA-256 (bounds the memory) */

struct entry {
	uint64_t hash;      /* token_key()'s, to skip the other entries of a set at once */
	unsigned char *key; /* the token's bytes, or its SHA-256 when longer than TOKEN_KEEP (malloc'd) */
	size_t keylen;
	uint64_t stamp; /* when it was last used, to pick the entry a new token replaces */
	time_t exp;
	time_t checked;       /* when the user was last found enabled */
	unsigned roles;       /* the token's roles the account still has (what requests get) */
	unsigned token_roles; /* the token's roles */
	int used;
	char sub[64];
	char iss[192];
	char username[96];
	char email[128];
	char name[128];
};

static struct entry *cache; /* CACHE_SETS sets of CACHE_WAYS entries */
static pthread_mutex_t shard_lock[CACHE_SHARDS];
static _Atomic uint64_t cache_clock; /* recency of use across the shards */

/*
 * What a presented token is looked up and matched by. A SHA-256 of every token cost ~35,000
 * instructions a request (more than the rest of the guard): the set is now chosen by a keyed
 * 64-bit hash (the key drawn at start, so nobody can aim tokens at one set), and the entry matched
 * by comparing the token's bytes, which proves more than equal digests. Only tokens longer than
 * TOKEN_KEEP are digested, so that 8,192 entries never hold more than 16 MiB of tokens.
 *
 * EVP_Digest(…, EVP_sha256(), …) looks the algorithm up in OpenSSL's provider tables at each
 * call, which cost more than the hash itself: the algorithm is fetched once, and each thread keeps
 * its own digest context.
 */
static EVP_MD *sha256_md;
static pthread_key_t ctx_key;
static pthread_once_t sha_once = PTHREAD_ONCE_INIT;
static uint64_t hash_seed[2];

static void ctx_free(void *p) { EVP_MD_CTX_free(p); }

static void sha_init(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	pthread_key_create(&ctx_key, ctx_free);
	if (RAND_bytes((unsigned char *)hash_seed, sizeof(hash_seed)) != 1)
		abort();
}

static int token_sha256(const char *token, size_t len, unsigned char out[32])
{
	if (!sha256_md)
		return -1;
	EVP_MD_CTX *ctx = pthread_getspecific(ctx_key);
	if (!ctx) {
		if (!(ctx = EVP_MD_CTX_new()))
			return -1;
		pthread_setspecific(ctx_key, ctx);
	}
	unsigned int n = 0;
	return EVP_DigestInit_ex2(ctx, sha256_md, NULL) && EVP_DigestUpdate(ctx, token, len) &&
			       EVP_DigestFinal_ex(ctx, out, &n) && n == 32
		       ? 0
		       : -1;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

/* A keyed 64-bit hash of p: it only picks a set, the match is on the bytes. */
static uint64_t fast_hash(const unsigned char *p, size_t n)
{
	uint64_t a = hash_seed[0] ^ n, b = hash_seed[1];
	for (; n >= 16; p += 16, n -= 16) {
		uint64_t x, y;
		memcpy(&x, p, 8);
		memcpy(&y, p + 8, 8);
		a = (a ^ x) * 0x9e3779b97f4a7c15ULL;
		b = (b ^ y) * 0xbf58476d1ce4e5b9ULL;
		a ^= a >> 29;
		b ^= b >> 31;
	}
	uint64_t t = 0, u = 0;
	if (n >= 8) {
		memcpy(&u, p, 8);
		p += 8;
		n -= 8;
	}
	memcpy(&t, p, n);
	return mix(a ^ mix(b ^ u) ^ t);
}

struct token_key {
	const unsigned char *bytes;
	size_t len;
	uint64_t hash;
	unsigned char digest[32];
};

/* The key of token (len bytes, 1..16384) in k: its bytes, or its SHA-256 when long. 0 or -1. */
static int token_key(const char *token, size_t len, struct token_key *k)
{
	pthread_once(&sha_once, sha_init);
	if (len <= TOKEN_KEEP) {
		k->bytes = (const unsigned char *)token;
		k->len = len;
	} else {
		if (token_sha256(token, len, k->digest) != 0)
			return -1;
		k->bytes = k->digest;
		k->len = sizeof(k->digest);
	}
	k->hash = fast_hash(k->bytes, k->len);
	return 0;
}

/* The entry of k in its set, or NULL (shard lock held). */
static struct entry *cache_find(unsigned set, const struct token_key *k)
{
	struct entry *e = &cache[(size_t)set * CACHE_WAYS];
	for (int w = 0; w < CACHE_WAYS; w++)
		if (e[w].used && e[w].hash == k->hash && e[w].keylen == k->len &&
		    memcmp(e[w].key, k->bytes, k->len) == 0)
			return &e[w];
	return NULL;
}

/* Empties an entry (shard lock held). */
static void cache_clear(struct entry *e)
{
	free(e->key);
	e->key = NULL;
	e->keylen = 0;
	e->used = 0;
}

/* Where a new token goes in its set: a free entry, or the least recently used (lock held). */
static struct entry *cache_victim(unsigned set)
{
	struct entry *e = &cache[(size_t)set * CACHE_WAYS], *v = &e[0];
	for (int w = 0; w < CACHE_WAYS; w++) {
		if (!e[w].used)
			return &e[w];
		if (e[w].stamp < v->stamp)
			v = &e[w];
	}
	return v;
}

/* External issuer state. */
static pthread_mutex_t ext_lock = PTHREAD_MUTEX_INITIALIZER;
static jwt_keyset *ext_keys;
static char *ext_jwks_uri;
static time_t ext_fetched;

static char issuer[512];
static pthread_once_t issuer_once = PTHREAD_ONCE_INIT;

static void issuer_init(void)
{
	if (app.cfg->issuer && *app.cfg->issuer) {
		snprintf(issuer, sizeof(issuer), "%s", app.cfg->issuer);
		size_t n = strlen(issuer);
		while (n > 0 && issuer[n - 1] == '/')
			issuer[--n] = '\0';
	} else {
		snprintf(issuer, sizeof(issuer), "%s%s", app.cfg->public_url, AUTH_REALM_PATH);
	}
}

const char *auth_issuer(void)
{
	pthread_once(&issuer_once, issuer_init);
	return issuer;
}

int auth_external(void) { return app.cfg->issuer && *app.cfg->issuer; }

/* ---- fetching (external issuer) ---- */

struct fetch {
	char *data;
	size_t len;
	int too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct fetch *f = ud;
	size_t len = size * n;
	if (f->len + len > FETCH_MAX) {
		f->too_big = 1;
		return 0;
	}
	char *d = realloc(f->data, f->len + len + 1);
	if (!d)
		abort();
	f->data = d;
	memcpy(f->data + f->len, p, len);
	f->len += len;
	f->data[f->len] = '\0';
	return len;
}

/* GET url; returns the body (malloc'd) on a 200, NULL otherwise. */
static char *http_get(const char *url, size_t *len)
{
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	struct fetch f = {0};
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 3L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	long status = 0;
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || status != 200) {
		log_warn("auth: GET %s failed: %s (status %ld)", url, rc != CURLE_OK ? curl_easy_strerror(rc) : "",
			 status);
		free(f.data);
		return NULL;
	}
	*len = f.len;
	return f.data;
}

/* Fetches discovery (once) and the JWKS. Called with ext_lock held. */
static int ext_fetch(void)
{
	ext_fetched = time(NULL);
	if (!ext_jwks_uri) {
		char url[600];
		snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", auth_issuer());
		size_t len;
		char *doc = http_get(url, &len);
		if (!doc)
			return ENT_EUNAVAIL;
		json_t *j = json_loadb(doc, len, 0, NULL);
		free(doc);
		const char *iss = json_string_value(json_object_get(j, "issuer"));
		const char *uri = json_string_value(json_object_get(j, "jwks_uri"));
		if (!iss || strcmp(iss, auth_issuer()) != 0 || !uri) {
			log_error("auth: the discovery document of %s names another issuer or no jwks_uri",
				  auth_issuer());
			json_decref(j);
			return ENT_EUNAVAIL;
		}
		ext_jwks_uri = strdup(uri);
		json_decref(j);
	}
	size_t len;
	char *doc = http_get(ext_jwks_uri, &len);
	if (!doc)
		return ENT_EUNAVAIL;
	jwt_keyset *ks = jwt_keyset_from_jwks(doc, len);
	free(doc);
	if (!ks) {
		log_error("auth: %s is not a JWKS", ext_jwks_uri);
		return ENT_EUNAVAIL;
	}
	jwt_keyset_free(ext_keys);
	ext_keys = ks;
	return ENT_OK;
}

static int ext_verify(const char *token, json_t **claims)
{
	char kid[257] = "";
	pthread_mutex_lock(&ext_lock);
	if (!ext_keys && time(NULL) - ext_fetched >= 1)
		ext_fetch();
	int rc = ext_keys ? jwt_verify_rs256(token, ext_keys, claims, kid, sizeof(kid)) : JWT_EKID;
	/* An unknown kid may be a rotation at the issuer: refetch, at most every JWKS_REFETCH_MIN s. */
	if (rc == JWT_EKID && kid[0] && time(NULL) - ext_fetched >= JWKS_REFETCH_MIN && ext_fetch() == ENT_OK)
		rc = jwt_verify_rs256(token, ext_keys, claims, kid, sizeof(kid));
	pthread_mutex_unlock(&ext_lock);
	return rc;
}

/* ---- claims to principal ---- */

static unsigned roles_from(const json_t *claims)
{
	const char *path = app.cfg->roles_claim;
	const json_t *v = claims;
	char part[128];
	while (v && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(part))
			return 0;
		memcpy(part, path, n);
		part[n] = '\0';
		v = json_object_get(v, part);
		path += n;
		if (*path == '.')
			path++;
	}
	unsigned roles = 0;
	size_t i;
	json_t *r;
	json_array_foreach (v, i, r) {
		const char *s = json_string_value(r);
		if (!s)
			continue;
		if (strcmp(s, "etudiant") == 0)
			roles |= ROLE_ETUDIANT;
		else if (strcmp(s, "enseignant") == 0)
			roles |= ROLE_ENSEIGNANT;
		else if (strcmp(s, "admin") == 0)
			roles |= ROLE_ADMIN;
	}
	return roles;
}

static void copy(char *dst, size_t len, const char *src) { snprintf(dst, len, "%s", src ? src : ""); }

static int fill_entry(arena *a, const json_t *claims, struct entry *e)
{
	memset(e, 0, sizeof(*e));
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	if (!sub || !*sub || strlen(sub) >= 256)
		return ENT_EAUTH;
	e->exp = (time_t)json_integer_value(json_object_get(claims, "exp"));
	const char *username = json_string_value(json_object_get(claims, "preferred_username"));
	const char *email = json_string_value(json_object_get(claims, "email"));
	const char *given = json_string_value(json_object_get(claims, "given_name"));
	const char *family = json_string_value(json_object_get(claims, "family_name"));
	const char *name = json_string_value(json_object_get(claims, "name"));
	e->roles = roles_from(claims);
	/* A service client's token (client_credentials) carries its roles and no user. */
	const char *typ_client = json_string_value(json_object_get(claims, "client_id"));
	if (typ_client && json_is_true(json_object_get(claims, "ent_service")))
		e->roles |= ROLE_SERVICE;
	if (auth_external()) {
		struct user u;
		db_conn *c = app_db();
		if (!c)
			return ENT_EUNAVAIL;
		int rc = users_upsert_external(c, a, iss, sub, email, username, given, family, e->roles, &u);
		if (rc)
			return rc;
		if (u.disabled)
			return ENT_EAUTH;
		copy(e->sub, sizeof(e->sub), u.id);
	} else {
		if (strlen(sub) >= sizeof(e->sub))
			return ENT_EAUTH;
		copy(e->sub, sizeof(e->sub), sub);
	}
	copy(e->iss, sizeof(e->iss), iss);
	copy(e->username, sizeof(e->username), username);
	copy(e->email, sizeof(e->email), email);
	copy(e->name, sizeof(e->name), name);
	e->used = 1;
	return ENT_OK;
}

/*
 * Rights follow account changes within RECHECK seconds, not at the token's expiry (SECURITY.md):
 * a disabled or deleted user's access token stops working, and a user's roles are those of the
 * token that the database still gives them, so a demoted teacher loses the teacher's routes (the
 * token's roles and the account's are intersected; none left: the token is refused, and the
 * portal gets a new one with the roles of now). *roles is set to the roles to use. (A
 * brute-force lockout does not end sessions: it only stops new tokens, or anyone could log a
 * classmate out by failing logins in their name.)
 * Returns ENT_OK, ENT_EAUTH (no such user, disabled, no role left), or ENT_EUNAVAIL / ENT_EBUSY when
 * the database cannot tell: the caller then answers 503, never a 401 that would end the session
 * of everyone while the database restarts.
 */
static int user_enabled(arena *a, const struct entry *e, unsigned *roles)
{
	*roles = e->roles;
	if (e->roles & ROLE_SERVICE)
		return ENT_OK;
	db_conn *c = app_db();
	struct user u;
	if (!c)
		return ENT_EUNAVAIL;
	int rc = users_get(c, a, e->sub, &u);
	if (rc == ENT_EBUSY)
		return rc;
	if (rc == ENT_EDB || rc == ENT_EUNAVAIL)
		return ENT_EUNAVAIL;
	if (rc != ENT_OK)
		return ENT_EAUTH;
	if (u.disabled)
		return ENT_EAUTH;
	*roles = e->roles & u.roles;
	return *roles ? ENT_OK : ENT_EAUTH;
}

static void to_principal(arena *a, const struct entry *e, struct http_principal *out)
{
	memset(out, 0, sizeof(*out));
	out->sub = arena_strdup(a, e->sub);
	out->iss = arena_strdup(a, e->iss);
	out->username = arena_strdup(a, e->username);
	out->email = e->email[0] ? arena_strdup(a, e->email) : NULL;
	out->name = arena_strdup(a, e->name);
	out->roles = e->roles;
}

int guard_verify_token(arena *a, const char *token, struct http_principal *out)
{
	size_t tlen = strlen(token);
	if (tlen == 0 || tlen > 16384)
		return ENT_EAUTH;
	struct token_key k;
	if (token_key(token, tlen, &k) != 0)
		return ENT_EAUTH;
	unsigned set = (unsigned)(k.hash % CACHE_SETS);
	pthread_mutex_t *lk = &shard_lock[set % CACHE_SHARDS];
	time_t now = time(NULL);
	if (cache) {
		pthread_mutex_lock(lk);
		struct entry *e = cache_find(set, &k);
		if (e && e->exp + LEEWAY > now) {
			e->stamp = atomic_fetch_add(&cache_clock, 1) + 1;
			if (now - e->checked < RECHECK) {
				to_principal(a, e, out);
				pthread_mutex_unlock(lk);
				return ENT_OK;
			}
			struct entry copy = *e;
			copy.key = NULL; /* the entry's, which another thread may free once the lock is let go */
			pthread_mutex_unlock(lk);
			/* The database is asked without the lock held, from the token's own roles. */
			copy.roles = copy.token_roles;
			unsigned roles;
			int rc = user_enabled(a, &copy, &roles);
			if (rc == ENT_EAUTH) {
				pthread_mutex_lock(lk);
				if ((e = cache_find(set, &k)))
					cache_clear(e);
				pthread_mutex_unlock(lk);
			}
			if (rc != ENT_OK)
				return rc;
			pthread_mutex_lock(lk);
			if ((e = cache_find(set, &k))) {
				e->checked = now;
				e->roles = roles;
			}
			pthread_mutex_unlock(lk);
			copy.roles = roles;
			to_principal(a, &copy, out);
			return ENT_OK;
		}
		pthread_mutex_unlock(lk);
	}

	json_t *claims = NULL;
	int rc;
	if (auth_external()) {
		rc = ext_verify(token, &claims);
	} else {
		char kid[257] = "";
		rc = keys_verify(token, &claims, kid, sizeof(kid));
		if (rc == JWT_EKID && kid[0]) {
			db_conn *c = app_db();
			if (c && keys_reload_kid(c, kid) == ENT_OK)
				rc = keys_verify(token, &claims, kid, sizeof(kid));
		}
	}
	if (rc != JWT_OK) {
		log_debug("auth: token refused: %s", jwt_strerror(rc));
		return ENT_EAUTH;
	}
	struct jwt_expect ex = {
		.issuer = auth_issuer(),
		.audience = app.cfg->audience,
		.typ = "Bearer",
		.now = now,
		.leeway = LEEWAY,
	};
	rc = jwt_check_claims(claims, &ex);
	if (rc != JWT_OK) {
		log_debug("auth: token refused: %s", jwt_strerror(rc));
		json_decref(claims);
		return ENT_EAUTH;
	}
	struct entry fresh;
	rc = fill_entry(a, claims, &fresh);
	json_decref(claims);
	if (rc)
		return rc == ENT_EUNAVAIL ? rc : ENT_EAUTH;
	unsigned roles;
	rc = user_enabled(a, &fresh, &roles);
	if (rc != ENT_OK)
		return rc;
	fresh.token_roles = fresh.roles;
	fresh.roles = roles;
	fresh.checked = now;
	fresh.used = 1;
	fresh.hash = k.hash;
	if (cache) {
		fresh.keylen = k.len;
		if (!(fresh.key = malloc(k.len)))
			abort();
		memcpy(fresh.key, k.bytes, k.len);
		pthread_mutex_lock(lk);
		struct entry *slot = cache_find(set, &k);
		if (!slot)
			slot = cache_victim(set);
		cache_clear(slot);
		fresh.stamp = atomic_fetch_add(&cache_clock, 1) + 1;
		*slot = fresh;
		pthread_mutex_unlock(lk);
		fresh.key = NULL;
	}
	to_principal(a, &fresh, out);
	return ENT_OK;
}

/* The token of "Authorization: Bearer TOKEN", or NULL. */
static const char *bearer(http_req *req)
{
	const char *h = http_header(req, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

int guard_check(http_req *req, struct http_principal *out)
{
	const char *token = bearer(req);
	if (!token)
		return ENT_EAUTH;
	return guard_verify_token(http_arena(req), token, out);
}

int guard_start(void)
{
	cache = calloc((size_t)CACHE_SETS * CACHE_WAYS, sizeof(*cache));
	if (!cache)
		abort();
	for (int i = 0; i < CACHE_SHARDS; i++)
		pthread_mutex_init(&shard_lock[i], NULL);
	if (auth_external()) {
		pthread_mutex_lock(&ext_lock);
		if (ext_fetch() != ENT_OK)
			log_warn("auth: the issuer %s cannot be reached yet; tokens will be refused until it can",
				 auth_issuer());
		pthread_mutex_unlock(&ext_lock);
	}
	http_set_guard(guard_check);
	return ENT_OK;
}

void guard_stop(void)
{
	http_set_guard(NULL);
	if (cache)
		for (size_t i = 0; i < (size_t)CACHE_SETS * CACHE_WAYS; i++)
			cache_clear(&cache[i]);
	free(cache);
	cache = NULL;
	pthread_mutex_lock(&ext_lock);
	jwt_keyset_free(ext_keys);
	ext_keys = NULL;
	free(ext_jwks_uri);
	ext_jwks_uri = NULL;
	ext_fetched = 0;
	pthread_mutex_unlock(&ext_lock);
}
