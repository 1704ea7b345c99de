/*
 * keys.c - the provider's RS256 keys.
 *
 * Keys live in auth_keys (kid, private key PEM, created_at, retired_at). At first start a
 * 2048-bit key is generated. `ent keys rotate` adds a new key and retires the current one: a
 * retired key no longer signs but stays in the JWKS for KEY_GRACE seconds, longer than any token
 * it signed lives. Processes reload the table when they meet an unknown kid (at most every 10 s)
 * and every minute, so a rotation done by another process is picked up.
 *
 * The loaded state is immutable once published; a reload builds a new one and swaps the pointer
 * under a write lock. Readers hold the read lock while they verify or sign.
 */
#include "internal.h"

#include "core/err.h"
#include "core/jwt.h"
#include "core/log.h"
#include "core/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct keystate {
	jwt_keyset *pub; /* every published key (private parts included: jwt_key keeps both) */
	const jwt_key *signing;
	char *jwks;
	size_t jwks_len;
	time_t loaded;
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct keystate *state;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;

static void state_free(struct keystate *s)
{
	if (!s)
		return;
	jwt_keyset_free(s->pub);
	free(s->jwks);
	free(s);
}

static int insert_key(db_conn *c, jwt_key *k)
{
	char *pem = jwt_key_private_pem(k);
	if (!pem)
		return ENT_EINTERNAL;
	char now[21];
	util_time_rfc3339(time(NULL), now);
	db_stmt *s = db_prepare(c, "INSERT INTO auth_keys (kid, private_pem, created_at) VALUES (?, ?, ?)");
	int rc = ENT_EDB;
	if (s) {
		db_bind_text(s, 1, jwt_key_kid(k));
		db_bind_text(s, 2, pem);
		db_bind_text(s, 3, now);
		rc = db_step(s);
		db_done(s);
	}
	free(pem);
	return rc < 0 ? rc : ENT_OK;
}

static jwt_key *new_key(void)
{
	char kid[33];
	util_random_hex(kid, 16);
	return jwt_key_generate(kid, 2048);
}

/* Builds a state from the table. Keys retired more than KEY_GRACE ago are left out. */
static int build(db_conn *c, struct keystate **out)
{
	*out = NULL;
	char cutoff[21];
	util_time_rfc3339(time(NULL) - KEY_GRACE, cutoff);
	db_stmt *s = db_prepare(c, "SELECT kid, private_pem, retired_at FROM auth_keys "
				   "WHERE retired_at IS NULL OR retired_at > ? ORDER BY created_at, kid");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, cutoff);
	struct keystate *st = calloc(1, sizeof(*st));
	if (!st)
		abort();
	st->pub = jwt_keyset_new();
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		jwt_key *k = jwt_key_from_pem(db_col_text(s, 0), db_col_text(s, 1));
		if (!k) {
			log_error("auth: key %s in auth_keys cannot be loaded", db_col_text(s, 0));
			continue;
		}
		int retired = !db_col_is_null(s, 2);
		if (jwt_keyset_add(st->pub, k) != 0)
			continue; /* the set freed it */
		if (!retired)
			st->signing = k; /* the newest unretired key signs */
	}
	db_done(s);
	if (rc < 0) {
		state_free(st);
		return rc;
	}
	json_t *keys = json_array();
	json_t *jwks = json_pack("{s:o}", "keys", keys);
	/* Publish each key once. */
	db_stmt *l = db_prepare(
		c, "SELECT kid FROM auth_keys WHERE retired_at IS NULL OR retired_at > ? ORDER BY created_at, kid");
	if (l) {
		db_bind_text(l, 1, cutoff);
		while (db_step(l) == DB_ROW) {
			const jwt_key *k = jwt_keyset_find(st->pub, db_col_text(l, 0));
			if (k)
				json_array_append_new(keys, jwt_key_public_jwk(k));
		}
		db_done(l);
	}
	st->jwks = json_dumps(jwks, JSON_COMPACT);
	st->jwks_len = st->jwks ? strlen(st->jwks) : 0;
	json_decref(jwks);
	st->loaded = time(NULL);
	*out = st;
	return ENT_OK;
}

static void publish(struct keystate *st)
{
	pthread_rwlock_wrlock(&lock);
	struct keystate *old = state;
	state = st;
	pthread_rwlock_unlock(&lock);
	state_free(old);
}

int keys_load(db_conn *c, int generate)
{
	struct keystate *st;
	int rc = build(c, &st);
	if (rc)
		return rc;
	if (!st->signing && generate) {
		state_free(st);
		/* Two processes starting together may both generate: harmless, both keys are published. */
		jwt_key *k = new_key();
		if (!k)
			return ENT_EINTERNAL;
		rc = insert_key(c, k);
		jwt_key_free(k);
		if (rc)
			return rc;
		log_info("auth: generated the first signing key");
		rc = build(c, &st);
		if (rc)
			return rc;
	}
	publish(st);
	return ENT_OK;
}

int keys_reload(db_conn *c, int max_age)
{
	pthread_rwlock_rdlock(&lock);
	time_t loaded = state ? state->loaded : 0;
	pthread_rwlock_unlock(&lock);
	if (time(NULL) - loaded < max_age)
		return ENT_OK;
	/* One reloader at a time; the others keep using the current state. */
	if (pthread_mutex_trylock(&reload_lock) != 0)
		return ENT_OK;
	struct keystate *st;
	int rc = build(c, &st);
	if (rc == ENT_OK)
		publish(st);
	pthread_mutex_unlock(&reload_lock);
	return rc;
}

char *keys_sign(const json_t *claims)
{
	pthread_rwlock_rdlock(&lock);
	char *jwt = state && state->signing ? jwt_sign_rs256(state->signing, claims) : NULL;
	pthread_rwlock_unlock(&lock);
	return jwt;
}

int keys_verify(const char *token, json_t **claims, char *kid, size_t kidlen)
{
	pthread_rwlock_rdlock(&lock);
	int rc = state ? jwt_verify_rs256(token, state->pub, claims, kid, kidlen) : JWT_EKID;
	pthread_rwlock_unlock(&lock);
	return rc;
}

char *keys_jwks_copy(size_t *len)
{
	pthread_rwlock_rdlock(&lock);
	char *copy = NULL;
	*len = 0;
	if (state && state->jwks) {
		copy = malloc(state->jwks_len + 1);
		if (!copy)
			abort();
		memcpy(copy, state->jwks, state->jwks_len + 1);
		*len = state->jwks_len;
	}
	pthread_rwlock_unlock(&lock);
	return copy;
}

int keys_rotate(db_conn *c, FILE *out)
{
	jwt_key *k = new_key();
	if (!k)
		return ENT_EINTERNAL;
	int rc = db_begin(c);
	if (rc) {
		jwt_key_free(k);
		return rc;
	}
	char now[21];
	util_time_rfc3339(time(NULL), now);
	db_stmt *s = db_prepare(c, "UPDATE auth_keys SET retired_at = ? WHERE retired_at IS NULL");
	if (!s) {
		rc = ENT_EDB;
		goto fail;
	}
	db_bind_text(s, 1, now);
	rc = db_step(s);
	db_done(s);
	if (rc < 0)
		goto fail;
	rc = insert_key(c, k);
	if (rc)
		goto fail;
	rc = db_commit(c);
	if (rc)
		goto fail;
	if (out)
		fprintf(out, "new signing key %s; the previous keys stay published for %d seconds\n", jwt_key_kid(k),
			KEY_GRACE);
	jwt_key_free(k);
	return keys_load(c, 0);
fail:
	db_rollback(c);
	jwt_key_free(k);
	return rc < 0 ? rc : ENT_EDB;
}

void keys_free(void) { publish(NULL); }
