/*
 * jwt.h - JSON Web Tokens and keys: RS256 signing and verification, JWK and JWKS (OpenSSL 3).
 *
 * Verification follows RFC 8725: the accepted algorithm comes from the caller, never from the
 * token header ("alg":"none" and HS256 are refused when RS256 is expected); "kid" is only a key
 * into the key set given by the caller (never a path, never SQL); "jku", "x5u" and "jwk" headers
 * are ignored. Claims (exp, nbf, iss, aud, typ) are checked by jwt_check_claims() with the
 * expectations the caller states.
 */
#ifndef ENT_JWT_H
#define ENT_JWT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* base64url without padding. Output NUL-terminated; returns length, or -1 on bad input. */
size_t b64url_encode(const unsigned char *in, size_t len, char *out, size_t outlen);
long b64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen);

typedef struct jwt_key jwt_key; /* an RSA key: public, or private + public */

/* Generates an RSA key of `bits` (2048 at least) with the given kid. NULL on failure. */
jwt_key *jwt_key_generate(const char *kid, int bits);
/* Loads a private key (PKCS#8 PEM) or a public key (SubjectPublicKeyInfo PEM). NULL on failure. */
jwt_key *jwt_key_from_pem(const char *kid, const char *pem);
/* A public key from a JWK object ({"kty":"RSA","n":…,"e":…,"kid":…}). NULL if not a usable RSA key. */
jwt_key *jwt_key_from_jwk(const json_t *jwk);
void jwt_key_free(jwt_key *k);
const char *jwt_key_kid(const jwt_key *k);
/* PEM text of the private key (malloc'd, caller frees); NULL for a public-only key. */
char *jwt_key_private_pem(const jwt_key *k);
/* The public JWK: {"kty":"RSA","use":"sig","alg":"RS256","kid":…,"n":…,"e":…}. New reference. */
json_t *jwt_key_public_jwk(const jwt_key *k);

/* A set of public keys looked up by kid (a JWKS). */
typedef struct jwt_keyset jwt_keyset;
jwt_keyset *jwt_keyset_new(void);
/*
 * Adds k. The set takes ownership in every case: when it returns -1 (set full at 64 keys, kid
 * already present, or k NULL) k has been freed, so jwt_keyset_add(ks, jwt_key_from_jwk(j)) never leaks.
 */
int jwt_keyset_add(jwt_keyset *ks, jwt_key *k);
/* Parses a JWKS document ({"keys":[…]}), keeping RSA signing keys. NULL if not a JWKS. */
jwt_keyset *jwt_keyset_from_jwks(const char *json, size_t len);
const jwt_key *jwt_keyset_find(const jwt_keyset *ks, const char *kid);
size_t jwt_keyset_count(const jwt_keyset *ks);
void jwt_keyset_free(jwt_keyset *ks);

/*
 * Signs claims with k (which must hold a private key) as a compact JWS with header
 * {"alg":"RS256","typ":"JWT","kid":…}. Returns a malloc'd string or NULL.
 */
char *jwt_sign_rs256(const jwt_key *k, const json_t *claims);

enum jwt_err {
	JWT_OK = 0,
	JWT_EFORMAT = -1,    /* not three base64url segments of JSON objects, or too long (> 16 KiB) */
	JWT_EALG = -2,       /* alg is not the expected one (none, HS256, …) */
	JWT_EKID = -3,       /* kid absent from the key set, or malformed (over 256 bytes, control chars) */
	JWT_ESIGNATURE = -4, /* signature does not verify */
	JWT_EEXPIRED = -5,   /* exp missing or in the past (beyond leeway) */
	JWT_ENOTYET = -6,    /* nbf or iat in the future (beyond leeway) */
	JWT_EISSUER = -7,
	JWT_EAUDIENCE = -8,
	JWT_ETYPE = -9, /* typ claim is not the expected one */
};

/*
 * Splits and verifies token with RS256 against ks. On success returns JWT_OK and the payload in
 * *claims (new reference). The kid in the header (if any) selects the key; without a kid, each key
 * of the set is tried. *kid_out, when not NULL, receives the header's kid (copied into kid_out,
 * at most 256 bytes) so the caller can refetch a JWKS once for an unknown kid.
 */
int jwt_verify_rs256(const char *token, const jwt_keyset *ks, json_t **claims, char *kid_out, size_t kid_len);

struct jwt_expect {
	const char *issuer; /* required equal to iss */
	const char
		*audience; /* must appear in aud (string or array), or equal azp when aud is absent; NULL: no check */
	const char *typ;   /* required equal to the "typ" claim (Keycloak: "Bearer", "ID", "Refresh"); NULL: no check */
	time_t now;
	int leeway; /* seconds, for exp / nbf / iat */
};

/* Checks the registered claims of a verified payload. JWT_OK or the first failing jwt_err. */
int jwt_check_claims(const json_t *claims, const struct jwt_expect *e);

const char *jwt_strerror(int err);

/* SHA-256 of data as lower-case hex (65 bytes with NUL). For storing tokens and codes hashed. */
void sha256_hex(const void *data, size_t len, char out[65]);
/* SHA-256 of data, base64url (43 chars + NUL): PKCE S256 challenges. */
void sha256_b64url(const void *data, size_t len, char out[44]);

#endif
