/*
 * test_jwt.c - JWT, JWK and JWKS (src/core/jwt.c): RS256 round trips and the attacks of RFC 8725
 * and SECURITY.md "Token checks": alg none, RS256/HS256 confusion, tampering, wrong segment
 * counts, hostile kids, and every claim check. Tokens with a chosen header are signed here with
 * OpenSSL directly so that the verifier, not the signer, is what is under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/jwt.h"

/* Three keys made once for the whole file (RSA generation is slow), and their OpenSSL twins. */
static jwt_key *key[3];
static EVP_PKEY *priv[3];
static char *pub_pem[3];
static const char *const kids[3] = {"k1", "k2", "k3"};

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++) {
		key[i] = jwt_key_generate(kids[i], 2048);
		if (!key[i])
			return -1;
		char *pem = jwt_key_private_pem(key[i]);
		BIO *b = BIO_new_mem_buf(pem, -1);
		priv[i] = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		BIO_free(b);
		free(pem);
		BIO *out = BIO_new(BIO_s_mem());
		PEM_write_bio_PUBKEY(out, priv[i]);
		char *data;
		long len = BIO_get_mem_data(out, &data);
		pub_pem[i] = strndup(data, (size_t)len);
		BIO_free(out);
		if (!priv[i] || !pub_pem[i])
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++) {
		jwt_key_free(key[i]);
		EVP_PKEY_free(priv[i]);
		free(pub_pem[i]);
	}
	return 0;
}

/* base64url of a string, appended to out at *pos. */
static void b64s(const char *s, size_t len, char *out, size_t cap, size_t *pos)
{
	size_t n = b64url_encode((const unsigned char *)s, len, out + *pos, cap - *pos);
	assert_true(n != (size_t)-1);
	*pos += n;
}

static size_t input_cap(const char *header, const char *payload)
{
	return (strlen(header) + strlen(payload)) * 2 + 2048;
}

/* "b64(header).b64(payload)" in a malloc'd buffer of input_cap() bytes, with room for a signature. */
static char *signing_input(const char *header, const char *payload, size_t *len)
{
	size_t cap = input_cap(header, payload), pos = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	b64s(header, strlen(header), t, cap, &pos);
	t[pos++] = '.';
	b64s(payload, strlen(payload), t, cap, &pos);
	t[pos] = '\0';
	*len = pos;
	return t;
}

/* A compact JWS of exactly these header and payload texts, signed RS256 with priv[i]. */
static char *rs256_raw(int i, const char *header, const char *payload)
{
	size_t pos;
	char *t = signing_input(header, payload, &pos);
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, priv[i]), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen, (unsigned char *)t, pos), 1);
	EVP_MD_CTX_free(md);
	t[pos++] = '.';
	assert_true(b64url_encode(sig, siglen, t + pos, input_cap(header, payload) - pos) != (size_t)-1);
	return t;
}

static long long now_s(void) { return (long long)time(NULL); }

static json_t *std_claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", "https://ent.example/realms/ent", "sub", "u-1", "aud",
			 "ent-api", "exp", (json_int_t)(now_s() + 300), "iat", (json_int_t)now_s(), "typ", "Bearer");
}

static jwt_keyset *public_set(void)
{
	jwt_keyset *ks = jwt_keyset_new();
	for (int i = 0; i < 3; i++) {
		json_t *jwk = jwt_key_public_jwk(key[i]);
		assert_int_equal(jwt_keyset_add(ks, jwt_key_from_jwk(jwk)), 0);
		json_decref(jwk);
	}
	return ks;
}

static void test_b64url(void **state)
{
	(void)state;
	char out[64];
	unsigned char bin[64];
	assert_int_equal(b64url_encode((const unsigned char *)"", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(b64url_encode((const unsigned char *)"f", 1, out, sizeof(out)), 2);
	assert_string_equal(out, "Zg");
	assert_int_equal(b64url_encode((const unsigned char *)"fo", 2, out, sizeof(out)), 3);
	assert_string_equal(out, "Zm8");
	assert_int_equal(b64url_encode((const unsigned char *)"foo", 3, out, sizeof(out)), 4);
	assert_string_equal(out, "Zm9v");
	const unsigned char url[] = {0xfb, 0xff, 0xbf};
	assert_int_equal(b64url_encode(url, 3, out, sizeof(out)), 4);
	assert_string_equal(out, "-_-_"); /* never '+' or '/' */
	/* The output and its NUL must fit. */
	assert_true(b64url_encode((const unsigned char *)"foo", 3, out, 4) == (size_t)-1);
	assert_int_equal(b64url_encode((const unsigned char *)"foo", 3, out, 5), 4);

	assert_int_equal(b64url_decode("Zm9v", 4, bin, sizeof(bin)), 3);
	assert_memory_equal(bin, "foo", 3);
	assert_int_equal(b64url_decode("Zm8", 3, bin, sizeof(bin)), 2);
	assert_int_equal(b64url_decode("Zg", 2, bin, sizeof(bin)), 1);
	assert_int_equal(b64url_decode("", 0, bin, sizeof(bin)), 0);
	assert_int_equal(b64url_decode("-_-_", 4, bin, sizeof(bin)), 3);
	assert_memory_equal(bin, url, 3);
	/* Padding, the standard alphabet, whitespace, NUL and other characters are refused. */
	const char *bad[] = {"Zg==",   "Zm8=",  "Zg=",         "Zm9v+", "+_-_",  "/_-_", "Zm 9v",
			     "Zm9v\n", "Zm9v.", "Zm9\xc3\xa9", "Z",     "Zm9vZ", "%6d9v"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(b64url_decode(bad[i], strlen(bad[i]), bin, sizeof(bin)), -1);
	assert_int_equal(b64url_decode("Zm\0v", 4, bin, sizeof(bin)), -1);
	/* Unused low bits must be zero: "Zh" and "Zm9" are not the canonical forms of "f" and "fo". */
	assert_int_equal(b64url_decode("Zh", 2, bin, sizeof(bin)), -1);
	assert_int_equal(b64url_decode("Zm9", 3, bin, sizeof(bin)), -1);
	/* Output too small. */
	assert_int_equal(b64url_decode("Zm9v", 4, bin, 2), -1);
	assert_int_equal(b64url_decode("Zm9v", 4, bin, 3), 3);
}

static void test_sign_verify(void **state)
{
	(void)state;
	json_t *claims = std_claims();
	char *tok = jwt_sign_rs256(key[0], claims);
	assert_non_null(tok);

	/* With the private key itself, and with the public key published as a JWK. */
	jwt_keyset *own = jwt_keyset_new();
	char *pem = jwt_key_private_pem(key[0]);
	assert_int_equal(jwt_keyset_add(own, jwt_key_from_pem("k1", pem)), 0);
	free(pem);
	json_t *got = NULL;
	char kid[257];
	assert_int_equal(jwt_verify_rs256(tok, own, &got, kid, sizeof(kid)), JWT_OK);
	assert_true(json_equal(got, claims));
	assert_string_equal(kid, "k1");
	json_decref(got);

	jwt_keyset *ks = public_set();
	assert_int_equal(jwt_verify_rs256(tok, ks, &got, NULL, 0), JWT_OK);
	assert_true(json_equal(got, claims));
	struct jwt_expect e = {.issuer = "https://ent.example/realms/ent",
			       .audience = "ent-api",
			       .typ = "Bearer",
			       .now = time(NULL),
			       .leeway = 60};
	assert_int_equal(jwt_check_claims(got, &e), JWT_OK);
	json_decref(got);

	/* The header we write: RS256, typ JWT, our kid. */
	unsigned char hdr[256];
	long n = b64url_decode(tok, (size_t)(strchr(tok, '.') - tok), hdr, sizeof(hdr));
	assert_true(n > 0);
	json_t *h = json_loadb((const char *)hdr, (size_t)n, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
	assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
	assert_string_equal(json_string_value(json_object_get(h, "kid")), "k1");
	json_decref(h);

	/* Signed by k2 but claiming kid k1: the signature does not verify. */
	char *other = rs256_raw(1, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "{\"sub\":\"x\"}");
	assert_int_equal(jwt_verify_rs256(other, ks, &got, NULL, 0), JWT_ESIGNATURE);
	assert_null(got);
	free(other);

	/* Without a kid every key of the set is tried. */
	char *nokid = rs256_raw(2, "{\"alg\":\"RS256\"}", "{\"sub\":\"x\"}");
	assert_int_equal(jwt_verify_rs256(nokid, ks, &got, kid, sizeof(kid)), JWT_OK);
	assert_string_equal(kid, "");
	json_decref(got);
	jwt_keyset *empty = jwt_keyset_new();
	assert_int_equal(jwt_verify_rs256(nokid, empty, &got, NULL, 0), JWT_EKID);
	free(nokid);

	/* A public key cannot sign. */
	const jwt_key *pub = jwt_keyset_find(ks, "k1");
	assert_non_null(pub);
	assert_null(jwt_sign_rs256(pub, claims));
	assert_null(jwt_key_private_pem(pub));
	/* Claims must be an object. */
	json_t *arr = json_array();
	assert_null(jwt_sign_rs256(key[0], arr));
	json_decref(arr);

	jwt_keyset_free(empty);
	jwt_keyset_free(own);
	jwt_keyset_free(ks);
	json_decref(claims);
	free(tok);
}

static void test_pem(void **state)
{
	(void)state;
	char *pem = jwt_key_private_pem(key[1]);
	assert_non_null(pem);
	assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----")); /* PKCS#8 */
	jwt_key *k = jwt_key_from_pem("again", pem);
	assert_non_null(k);
	assert_string_equal(jwt_key_kid(k), "again");
	json_t *a = jwt_key_public_jwk(k), *b = jwt_key_public_jwk(key[1]);
	assert_true(json_equal(json_object_get(a, "n"), json_object_get(b, "n")));
	json_decref(a);
	json_decref(b);
	jwt_key_free(k);
	free(pem);

	/* An SPKI public key verifies but cannot sign. */
	assert_non_null(strstr(pub_pem[1], "-----BEGIN PUBLIC KEY-----"));
	k = jwt_key_from_pem("k2", pub_pem[1]);
	assert_non_null(k);
	assert_null(jwt_key_private_pem(k));
	jwt_keyset *ks = jwt_keyset_new();
	assert_int_equal(jwt_keyset_add(ks, k), 0);
	json_t *claims = std_claims(), *got = NULL;
	char *tok = jwt_sign_rs256(key[1], claims);
	assert_int_equal(jwt_verify_rs256(tok, ks, &got, NULL, 0), JWT_OK);
	json_decref(got);
	free(tok);
	json_decref(claims);
	jwt_keyset_free(ks);

	assert_null(jwt_key_from_pem("x", "not a key"));
	assert_null(jwt_key_from_pem("x", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
	assert_null(jwt_key_from_pem("x", NULL));
	/* Weak keys and unusable kids are refused. */
	assert_null(jwt_key_generate("small", 1024));
	char longkid[300];
	memset(longkid, 'a', sizeof(longkid) - 1);
	longkid[sizeof(longkid) - 1] = '\0';
	assert_null(jwt_key_from_pem(longkid, pub_pem[0]));
	assert_null(jwt_key_from_pem("tab\there", pub_pem[0]));
	jwt_key_free(NULL);
}

static void test_jwk_roundtrip(void **state)
{
	(void)state;
	json_t *jwk = jwt_key_public_jwk(key[0]);
	assert_non_null(jwk);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
	assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "RS256");
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")), "k1");
	assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB"); /* 65537 */
	assert_int_equal(json_string_length(json_object_get(jwk, "n")), 342);      /* 256 bytes */
	assert_null(json_object_get(jwk, "d"));

	jwt_key *pub = jwt_key_from_jwk(jwk);
	assert_non_null(pub);
	assert_string_equal(jwt_key_kid(pub), "k1");
	json_t *again = jwt_key_public_jwk(pub);
	assert_true(json_equal(again, jwk));
	json_decref(again);

	jwt_keyset *ks = jwt_keyset_new();
	assert_int_equal(jwt_keyset_add(ks, pub), 0);
	json_t *claims = std_claims(), *got = NULL;
	char *tok = jwt_sign_rs256(key[0], claims);
	assert_int_equal(jwt_verify_rs256(tok, ks, &got, NULL, 0), JWT_OK);
	assert_true(json_equal(got, claims));
	json_decref(got);
	free(tok);
	json_decref(claims);
	jwt_keyset_free(ks);

	/* Unusable JWKs. */
	const char *n = json_string_value(json_object_get(jwk, "n"));
	struct {
		const char *member;
		json_t *value; /* NULL: delete the member */
	} bad[] = {
		{"kty", json_string("EC")},
		{"kty", NULL},
		{"use", json_string("enc")},
		{"alg", json_string("RS512")},
		{"alg", json_string("HS256")},
		{"n", NULL},
		{"e", NULL},
		{"n", json_string("AQAB")},
		{"e", json_string("AQ==")},
		{"e", json_string("AA")},
		{"n", json_integer(3)},
		{"kid", json_integer(1)},
		{"kid", json_string("a\x7f")},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = json_deep_copy(jwk);
		if (bad[i].value)
			json_object_set_new(j, bad[i].member, bad[i].value);
		else
			json_object_del(j, bad[i].member);
		assert_null(jwt_key_from_jwk(j));
		json_decref(j);
	}
	/* A 1024-bit modulus is too weak. */
	unsigned char small[128];
	memset(small, 0xff, sizeof(small));
	char small_n[200];
	b64url_encode(small, sizeof(small), small_n, sizeof(small_n));
	json_t *j = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", small_n, "e", "AQAB");
	assert_null(jwt_key_from_jwk(j));
	json_decref(j);
	/* Without kid, use and alg the key is still usable. */
	j = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", n, "e", "AQAB");
	jwt_key *k = jwt_key_from_jwk(j);
	assert_non_null(k);
	assert_string_equal(jwt_key_kid(k), "");
	jwt_key_free(k);
	json_decref(j);
	assert_null(jwt_key_from_jwk(NULL));
	json_decref(jwk);
}

/* A JWKS text with the three public keys and entries to skip. */
static char *jwks_text(void)
{
	json_t *keys = json_array();
	for (int i = 0; i < 3; i++)
		json_array_append_new(keys, jwt_key_public_jwk(key[i]));
	json_t *enc = jwt_key_public_jwk(key[0]);
	json_object_set_new(enc, "use", json_string("enc"));
	json_object_set_new(enc, "kid", json_string("enc-key"));
	json_array_append_new(keys, enc);
	json_array_append_new(keys, json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "kid", "ec", "crv", "P-256",
					      "x", "AAAA", "y", "AAAA"));
	json_array_append_new(keys, json_string("not a key"));
	char longkid[300];
	memset(longkid, 'x', sizeof(longkid) - 1);
	longkid[sizeof(longkid) - 1] = '\0';
	json_t *lk = jwt_key_public_jwk(key[1]);
	json_object_set_new(lk, "kid", json_string(longkid));
	json_array_append_new(keys, lk);
	json_t *dup = jwt_key_public_jwk(key[2]);
	json_array_append_new(keys, dup); /* same kid as an earlier key: the first one wins */
	json_t *doc = json_pack("{s:o}", "keys", keys);
	char *txt = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return txt;
}

static void test_jwks(void **state)
{
	(void)state;
	char *txt = jwks_text();
	jwt_keyset *ks = jwt_keyset_from_jwks(txt, strlen(txt));
	free(txt);
	assert_non_null(ks);
	assert_int_equal(jwt_keyset_count(ks), 3);
	for (int i = 0; i < 3; i++) {
		const jwt_key *k = jwt_keyset_find(ks, kids[i]);
		assert_non_null(k);
		assert_string_equal(jwt_key_kid(k), kids[i]);
		/* A token from each key verifies through the set. */
		json_t *claims = std_claims(), *got = NULL;
		char *tok = jwt_sign_rs256(key[i], claims);
		char kid[257];
		assert_int_equal(jwt_verify_rs256(tok, ks, &got, kid, sizeof(kid)), JWT_OK);
		assert_string_equal(kid, kids[i]);
		json_decref(got);
		free(tok);
		json_decref(claims);
	}
	assert_null(jwt_keyset_find(ks, "enc-key"));
	assert_null(jwt_keyset_find(ks, "ec"));
	assert_null(jwt_keyset_find(ks, "nope"));
	assert_null(jwt_keyset_find(ks, ""));
	assert_null(jwt_keyset_find(ks, NULL));

	/* Adding a duplicate kid fails, and the set frees what it refused. */
	json_t *jwk = jwt_key_public_jwk(key[0]);
	assert_int_equal(jwt_keyset_add(ks, jwt_key_from_jwk(jwk)), -1);
	assert_int_equal(jwt_keyset_add(ks, NULL), -1);
	assert_int_equal(jwt_keyset_count(ks), 3);
	jwt_keyset_free(ks);

	/* At most 64 keys are kept. */
	json_t *keys = json_array();
	for (int i = 0; i < 70; i++) {
		json_t *c = json_deep_copy(jwk);
		char kid[16];
		snprintf(kid, sizeof(kid), "key-%d", i);
		json_object_set_new(c, "kid", json_string(kid));
		json_array_append_new(keys, c);
	}
	json_t *doc = json_pack("{s:o}", "keys", keys);
	txt = json_dumps(doc, JSON_COMPACT);
	ks = jwt_keyset_from_jwks(txt, strlen(txt));
	assert_int_equal(jwt_keyset_count(ks), 64);
	assert_non_null(jwt_keyset_find(ks, "key-63"));
	assert_null(jwt_keyset_find(ks, "key-64"));
	jwt_key *more = jwt_key_from_jwk(jwk);
	assert_int_equal(jwt_keyset_add(ks, more), -1); /* full */
	jwt_keyset_free(ks);
	free(txt);
	json_decref(doc);
	json_decref(jwk);

	/* Not JWKS documents. */
	const char *bad[] = {"",
			     "[]",
			     "{}",
			     "{\"keys\":{}}",
			     "{\"keys\":[]",
			     "{\"keys\":[],\"keys\":[]}",
			     "null",
			     "{\"keys\":[]} x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(jwt_keyset_from_jwks(bad[i], strlen(bad[i])));
	assert_null(jwt_keyset_from_jwks(NULL, 0));
	/* An empty but well-formed set is a JWKS with no key. */
	ks = jwt_keyset_from_jwks("{\"keys\":[]}", 11);
	assert_non_null(ks);
	assert_int_equal(jwt_keyset_count(ks), 0);
	jwt_keyset_free(ks);
	jwt_keyset_free(NULL);
}

static void test_tampered(void **state)
{
	(void)state;
	jwt_keyset *ks = public_set();
	json_t *claims = std_claims(), *got = NULL;
	char *tok = jwt_sign_rs256(key[0], claims);
	char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');

	/* A payload that says something else under the original signature. */
	json_object_set_new(claims, "sub", json_string("admin"));
	char *txt = json_dumps(claims, JSON_COMPACT);
	char forged[8192];
	size_t pos = (size_t)(d1 - tok) + 1;
	memcpy(forged, tok, pos);
	b64s(txt, strlen(txt), forged, sizeof(forged), &pos);
	snprintf(forged + pos, sizeof(forged) - pos, "%s", d2);
	free(txt);
	assert_int_equal(jwt_verify_rs256(forged, ks, &got, NULL, 0), JWT_ESIGNATURE);
	assert_null(got);

	/* One changed character in the signature or in the header. */
	char *t2 = strdup(tok);
	t2[d2 - tok + 1] = t2[d2 - tok + 1] == 'A' ? 'B' : 'A';
	assert_int_equal(jwt_verify_rs256(t2, ks, &got, NULL, 0), JWT_ESIGNATURE);
	free(t2);
	/* A truncated signature (342 -> 340 characters: still canonical base64url). */
	t2 = strdup(tok);
	t2[strlen(t2) - 2] = '\0';
	assert_int_equal(jwt_verify_rs256(t2, ks, &got, NULL, 0), JWT_ESIGNATURE);
	free(t2);
	/* No signature at all. */
	t2 = strdup(tok);
	t2[d2 - tok + 1] = '\0';
	assert_int_equal(jwt_verify_rs256(t2, ks, &got, NULL, 0), JWT_ESIGNATURE);
	free(t2);

	free(tok);
	json_decref(claims);
	jwt_keyset_free(ks);
}

/* An unsigned token: "header.payload." */
static char *unsigned_token(const char *header, const char *payload)
{
	size_t pos;
	char *t = signing_input(header, payload, &pos);
	t[pos++] = '.';
	t[pos] = '\0';
	return t;
}

static void test_alg(void **state)
{
	(void)state;
	jwt_keyset *ks = public_set();
	json_t *got = NULL;
	const char *payload = "{\"sub\":\"admin\",\"iss\":\"https://ent.example/realms/ent\",\"exp\":9999999999}";
	const char *headers[] = {
		"{\"alg\":\"none\",\"typ\":\"JWT\"}",
		"{\"alg\":\"none\",\"kid\":\"k1\"}",
		"{\"alg\":\"None\"}",
		"{\"alg\":\"NONE\"}",
		"{\"typ\":\"JWT\"}",
		"{\"alg\":null}",
		"{\"alg\":5}",
		"{\"alg\":[\"RS256\"]}",
		"{\"alg\":\"rs256\",\"kid\":\"k1\"}",
		"{\"alg\":\"RS256 \",\"kid\":\"k1\"}",
		"{\"alg\":\"RS2560\",\"kid\":\"k1\"}",
		"{\"alg\":\"RS384\",\"kid\":\"k1\"}",
		"{\"alg\":\"PS256\",\"kid\":\"k1\"}",
		"{\"alg\":\"ES256\",\"kid\":\"k1\"}",
	};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		char *t = unsigned_token(headers[i], payload);
		assert_int_equal(jwt_verify_rs256(t, ks, &got, NULL, 0), JWT_EALG);
		assert_null(got);
		free(t);
		/* Even with a valid RS256 signature over it: alg is ours to choose. */
		t = rs256_raw(0, headers[i], payload);
		assert_int_equal(jwt_verify_rs256(t, ks, &got, NULL, 0), JWT_EALG);
		assert_null(got);
		free(t);
	}
	jwt_keyset_free(ks);
}

/* RS256 -> HS256 confusion: an HMAC keyed with the public key's PEM, which anyone can fetch. */
static void test_hs256_confusion(void **state)
{
	(void)state;
	jwt_keyset *ks = public_set();
	jwt_keyset *from_pem = jwt_keyset_new();
	assert_int_equal(jwt_keyset_add(from_pem, jwt_key_from_pem("k1", pub_pem[0])), 0);
	const char *headers[] = {"{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
				 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"};
	for (size_t i = 0; i < 2; i++) {
		size_t pos;
		char *t = signing_input(headers[i], "{\"sub\":\"admin\",\"exp\":9999999999}", &pos);
		unsigned char mac[32];
		size_t maclen = 0;
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pub_pem[0], strlen(pub_pem[0]),
					  (unsigned char *)t, pos, mac, sizeof(mac), &maclen));
		assert_int_equal(maclen, 32);
		t[pos++] = '.';
		b64url_encode(mac, maclen, t + pos, 64);
		json_t *got = NULL;
		assert_int_equal(jwt_verify_rs256(t, ks, &got, NULL, 0), JWT_EALG);
		assert_int_equal(jwt_verify_rs256(t, from_pem, &got, NULL, 0), JWT_EALG);
		assert_null(got);
		free(t);
	}
	jwt_keyset_free(from_pem);
	jwt_keyset_free(ks);
}

static void test_format(void **state)
{
	(void)state;
	jwt_keyset *ks = public_set();
	json_t *claims = std_claims(), *got = NULL;
	char *tok = jwt_sign_rs256(key[0], claims);
	char buf[8192];

	/* 2 and 4 segments. */
	snprintf(buf, sizeof(buf), "%.*s", (int)(strrchr(tok, '.') - tok), tok);
	assert_int_equal(jwt_verify_rs256(buf, ks, &got, NULL, 0), JWT_EFORMAT);
	snprintf(buf, sizeof(buf), "%s.", tok);
	assert_int_equal(jwt_verify_rs256(buf, ks, &got, NULL, 0), JWT_EFORMAT);
	snprintf(buf, sizeof(buf), "%s.%s", tok, strrchr(tok, '.') + 1);
	assert_int_equal(jwt_verify_rs256(buf, ks, &got, NULL, 0), JWT_EFORMAT);
	const char *junk[] = {"", ".", "..", "...", "a.b.c", "abc", "e30.e30.", "e30..", ".e30.", "null"};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		int rc = jwt_verify_rs256(junk[i], ks, &got, NULL, 0);
		assert_true(rc == JWT_EFORMAT || rc == JWT_EALG); /* "e30" is {}: no alg */
		assert_null(got);
	}
	assert_int_equal(jwt_verify_rs256(NULL, ks, &got, NULL, 0), JWT_EFORMAT);
	assert_int_equal(jwt_verify_rs256(tok, NULL, &got, NULL, 0), JWT_EFORMAT);

	/* Padding, the standard alphabet, or whitespace in a segment. */
	size_t hl = (size_t)(strchr(tok, '.') - tok);
	snprintf(buf, sizeof(buf), "%.*s=%s", (int)hl, tok, tok + hl);
	assert_int_equal(jwt_verify_rs256(buf, ks, &got, NULL, 0), JWT_EFORMAT);
	snprintf(buf, sizeof(buf), "%s==", tok);
	assert_int_equal(jwt_verify_rs256(buf, ks, &got, NULL, 0), JWT_EFORMAT);
	snprintf(buf, sizeof(buf), " %s", tok);
	assert_int_equal(jwt_verify_rs256(buf, ks, &got, NULL, 0), JWT_EFORMAT);
	snprintf(buf, sizeof(buf), "%s\n", tok);
	assert_int_equal(jwt_verify_rs256(buf, ks, &got, NULL, 0), JWT_EFORMAT);
	snprintf(buf, sizeof(buf), "%s", tok);
	buf[hl + 3] = '+';
	assert_int_equal(jwt_verify_rs256(buf, ks, &got, NULL, 0), JWT_EFORMAT);

	/* Headers that are not one JSON object without duplicates. */
	const char *headers[] = {"[\"RS256\"]",           "\"RS256\"",          "{\"alg\":\"RS256\",\"alg\":\"RS256\"}",
				 "{\"alg\":\"RS256\"}{}", "{\"alg\":\"RS256\"", "\xff"};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		char *t = rs256_raw(0, headers[i], "{}");
		assert_int_equal(jwt_verify_rs256(t, ks, &got, NULL, 0), JWT_EFORMAT);
		free(t);
	}
	/* "crit" names extensions we do not implement. */
	char *t = rs256_raw(0, "{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[\"exp\"],\"exp\":1}", "{}");
	assert_int_equal(jwt_verify_rs256(t, ks, &got, NULL, 0), JWT_EFORMAT);
	free(t);
	/* A correctly signed payload that is not a JSON object, or repeats a claim. */
	const char *payloads[] = {"[]", "x", "", "{\"sub\":\"a\",\"sub\":\"b\"}", "{\"sub\":\"a\"} x"};
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		t = rs256_raw(0, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", payloads[i]);
		assert_int_equal(jwt_verify_rs256(t, ks, &got, NULL, 0), JWT_EFORMAT);
		assert_null(got);
		free(t);
	}
	/* jku, x5u and jwk are ignored: the key still comes from our set. */
	t = rs256_raw(0,
		      "{\"alg\":\"RS256\",\"kid\":\"k1\",\"jku\":\"https://evil/jwks\",\"x5u\":\"https://evil/\","
		      "\"jwk\":{\"kty\":\"RSA\"}}",
		      "{}");
	assert_int_equal(jwt_verify_rs256(t, ks, &got, NULL, 0), JWT_OK);
	json_decref(got);
	free(t);

	/* At most 16 KiB: a signed token just over the limit is refused before anything else. */
	size_t big = 16 * 1024;
	char *pad = malloc(big + 1);
	memset(pad, 'a', big);
	pad[big] = '\0';
	int lo = 0, hi = (int)big - 64; /* payload {"p":"aaa…"} sized to land the token at 16385 bytes */
	char *payload = malloc(big + 16);
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		snprintf(payload, big + 16, "{\"p\":\"%.*s\"}", mid, pad);
		char *x = rs256_raw(0, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", payload);
		if (strlen(x) > big)
			hi = mid;
		else
			lo = mid + 1;
		free(x);
	}
	snprintf(payload, big + 16, "{\"p\":\"%.*s\"}", lo, pad);
	t = rs256_raw(0, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", payload);
	assert_true(strlen(t) > big);
	assert_int_equal(jwt_verify_rs256(t, ks, &got, NULL, 0), JWT_EFORMAT);
	free(t);
	snprintf(payload, big + 16, "{\"p\":\"%.*s\"}", lo - 4, pad);
	t = rs256_raw(0, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", payload);
	assert_true(strlen(t) <= big);
	assert_int_equal(jwt_verify_rs256(t, ks, &got, NULL, 0), JWT_OK);
	json_decref(got);
	free(t);
	/* And we never issue what we would refuse. */
	json_t *huge = json_pack("{s:s}", "p", pad);
	assert_null(jwt_sign_rs256(key[0], huge));
	json_decref(huge);
	free(payload);
	free(pad);

	free(tok);
	json_decref(claims);
	jwt_keyset_free(ks);
}

static void test_kid(void **state)
{
	(void)state;
	jwt_keyset *ks = public_set();
	json_t *got = NULL;
	char kid[257];

	/* Path-like and quoted kids are only lookup keys: unknown, whatever they point at. */
	char *t = rs256_raw(0, "{\"alg\":\"RS256\",\"kid\":\"../../dev/null\"}", "{}");
	assert_int_equal(jwt_verify_rs256(t, ks, &got, kid, sizeof(kid)), JWT_EKID);
	assert_string_equal(kid, "../../dev/null");
	free(t);
	t = rs256_raw(0, "{\"alg\":\"RS256\",\"kid\":\"k1' OR '1'='1\\\"\"}", "{}");
	assert_int_equal(jwt_verify_rs256(t, ks, &got, kid, sizeof(kid)), JWT_EKID);
	assert_string_equal(kid, "k1' OR '1'='1\"");
	free(t);

	/* A kid naming a readable file holding the signer's public key: were the kid ever used as a
	 * path, this token would verify. */
	const char *tmp = getenv("ENT_TEST_TMP");
	char dir[512], path[600];
	snprintf(dir, sizeof(dir), "%s", tmp ? tmp : "/tmp");
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/jwt-kid-%d.pem", dir, (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(pub_pem[0], f);
	fclose(f);
	json_t *h = json_pack("{s:s, s:s}", "alg", "RS256", "kid", path);
	char *htxt = json_dumps(h, JSON_COMPACT);
	t = rs256_raw(0, htxt, "{}");
	assert_int_equal(jwt_verify_rs256(t, ks, &got, kid, sizeof(kid)), JWT_EKID);
	assert_string_equal(kid, path);
	assert_null(got);
	free(t);
	free(htxt);
	json_decref(h);
	unlink(path);

	/* Too long (10 KB, and 257 bytes), control characters, not a string, empty. */
	char *longkid = malloc(10241);
	memset(longkid, 'k', 10240);
	longkid[10240] = '\0';
	h = json_pack("{s:s, s:s}", "alg", "RS256", "kid", longkid);
	htxt = json_dumps(h, JSON_COMPACT);
	t = rs256_raw(0, htxt, "{}");
	snprintf(kid, sizeof(kid), "stale");
	assert_int_equal(jwt_verify_rs256(t, ks, &got, kid, sizeof(kid)), JWT_EKID);
	assert_string_equal(kid, "");
	free(t);
	free(htxt);
	json_decref(h);
	longkid[257] = '\0';
	h = json_pack("{s:s, s:s}", "alg", "RS256", "kid", longkid);
	htxt = json_dumps(h, JSON_COMPACT);
	t = rs256_raw(0, htxt, "{}");
	assert_int_equal(jwt_verify_rs256(t, ks, &got, kid, sizeof(kid)), JWT_EKID);
	free(t);
	free(htxt);
	json_decref(h);
	longkid[256] = '\0'; /* 256 bytes is allowed: unknown, and handed back for a refetch */
	h = json_pack("{s:s, s:s}", "alg", "RS256", "kid", longkid);
	htxt = json_dumps(h, JSON_COMPACT);
	t = rs256_raw(0, htxt, "{}");
	assert_int_equal(jwt_verify_rs256(t, ks, &got, kid, sizeof(kid)), JWT_EKID);
	assert_string_equal(kid, longkid);
	free(t);
	free(htxt);
	json_decref(h);
	free(longkid);
	const char *headers[] = {"{\"alg\":\"RS256\",\"kid\":\"k\\u0001\"}",  "{\"alg\":\"RS256\",\"kid\":\"k1\\n\"}",
				 "{\"alg\":\"RS256\",\"kid\":\"k\\u00e91\"}", "{\"alg\":\"RS256\",\"kid\":1}",
				 "{\"alg\":\"RS256\",\"kid\":null}",          "{\"alg\":\"RS256\",\"kid\":[\"k1\"]}",
				 "{\"alg\":\"RS256\",\"kid\":\"\"}",          "{\"alg\":\"RS256\",\"kid\":\"nope\"}",
				 "{\"alg\":\"RS256\",\"kid\":\"K1\"}"};
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		t = rs256_raw(0, headers[i], "{}");
		assert_int_equal(jwt_verify_rs256(t, ks, &got, NULL, 0), JWT_EKID);
		assert_null(got);
		free(t);
	}
	/* A kid_out too small for the kid is left empty rather than truncated. */
	t = rs256_raw(0, "{\"alg\":\"RS256\",\"kid\":\"unknown-kid\"}", "{}");
	char small[4] = "xyz";
	assert_int_equal(jwt_verify_rs256(t, ks, &got, small, sizeof(small)), JWT_EKID);
	assert_string_equal(small, "");
	free(t);
	jwt_keyset_free(ks);
}

static void test_claims(void **state)
{
	(void)state;
	time_t now = 1800000000;
	struct jwt_expect e = {
		.issuer = "https://kc/realms/ent", .audience = "ent-api", .typ = "Bearer", .now = now, .leeway = 60};
	struct {
		const char *json;
		int want;
	} cases[] = {
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1800000300}",
		 JWT_OK},
		/* exp */
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Bearer\"}", JWT_EEXPIRED},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1799999900}",
		 JWT_EEXPIRED},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1799999940}",
		 JWT_EEXPIRED},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1799999941}",
		 JWT_OK},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1799999941.5}",
		 JWT_OK},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":\"1900000000\"}",
		 JWT_EEXPIRED},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":null}",
		 JWT_EEXPIRED},
		/* nbf and iat */
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1800000300,"
		 "\"nbf\":1800000061}",
		 JWT_ENOTYET},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1800000300,"
		 "\"nbf\":1800000060}",
		 JWT_OK},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1800000300,"
		 "\"iat\":1800003600}",
		 JWT_ENOTYET},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1800000300,"
		 "\"nbf\":\"soon\"}",
		 JWT_ENOTYET},
		/* iss */
		{"{\"iss\":\"https://kc/realms/other\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1800000300}",
		 JWT_EISSUER},
		{"{\"iss\":\"https://kc/realms/ent/\",\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1800000300}",
		 JWT_EISSUER},
		{"{\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1800000300}", JWT_EISSUER},
		{"{\"iss\":[\"https://kc/realms/ent\"],\"aud\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1800000300}",
		 JWT_EISSUER},
		/* aud */
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"account\",\"typ\":\"Bearer\",\"exp\":1800000300}",
		 JWT_EAUDIENCE},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":[\"account\",\"ent-api\"],\"typ\":\"Bearer\",\"exp\":1800000300}",
		 JWT_OK},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":[\"account\",\"ent\"],\"typ\":\"Bearer\",\"exp\":1800000300}",
		 JWT_EAUDIENCE},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":[],\"azp\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1800000300}",
		 JWT_EAUDIENCE},
		{"{\"iss\":\"https://kc/realms/ent\",\"azp\":\"ent-api\",\"typ\":\"Bearer\",\"exp\":1800000300}",
		 JWT_OK},
		{"{\"iss\":\"https://kc/realms/ent\",\"azp\":\"other\",\"typ\":\"Bearer\",\"exp\":1800000300}",
		 JWT_EAUDIENCE},
		{"{\"iss\":\"https://kc/realms/ent\",\"typ\":\"Bearer\",\"exp\":1800000300}", JWT_EAUDIENCE},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"account\",\"azp\":\"ent-api\",\"typ\":\"Bearer\","
		 "\"exp\":1800000300}",
		 JWT_EAUDIENCE},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":7,\"typ\":\"Bearer\",\"exp\":1800000300}", JWT_EAUDIENCE},
		/* typ: an ID or refresh token used as a bearer token */
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"ID\",\"exp\":1800000300}",
		 JWT_ETYPE},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"Refresh\",\"exp\":1800000300}",
		 JWT_ETYPE},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"exp\":1800000300}", JWT_ETYPE},
		{"{\"iss\":\"https://kc/realms/ent\",\"aud\":\"ent-api\",\"typ\":\"bearer\",\"exp\":1800000300}",
		 JWT_ETYPE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *c = json_loads(cases[i].json, 0, NULL);
		assert_non_null(c);
		int rc = jwt_check_claims(c, &e);
		if (rc != cases[i].want)
			fail_msg("case %zu: %s -> %d (%s), want %d", i, cases[i].json, rc, jwt_strerror(rc),
				 cases[i].want);
		json_decref(c);
	}

	/* Without audience or typ expectations those are not checked; the issuer always is. */
	json_t *c = json_loads("{\"iss\":\"https://kc/realms/ent\",\"typ\":\"ID\",\"exp\":1800000300}", 0, NULL);
	struct jwt_expect loose = {.issuer = "https://kc/realms/ent", .now = now};
	assert_int_equal(jwt_check_claims(c, &loose), JWT_OK);
	loose.issuer = NULL;
	assert_int_equal(jwt_check_claims(c, &loose), JWT_EISSUER);
	/* Without leeway the boundary is exact. */
	loose.issuer = "https://kc/realms/ent";
	loose.now = 1800000300;
	assert_int_equal(jwt_check_claims(c, &loose), JWT_EEXPIRED);
	loose.now = 1800000299;
	assert_int_equal(jwt_check_claims(c, &loose), JWT_OK);
	json_decref(c);
	assert_int_equal(jwt_check_claims(NULL, &loose), JWT_EFORMAT);

	for (int err = 0; err >= -10; err--)
		assert_non_null(jwt_strerror(err));
}

static void test_sha256(void **state)
{
	(void)state;
	char hex[65], b64[44];
	sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* RFC 7636 appendix B. */
	const char *verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
	sha256_b64url(verifier, strlen(verifier), b64);
	assert_string_equal(b64, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

/* One key set shared by several threads, as the server does. */
struct worker {
	const jwt_keyset *ks;
	const char *tok;
	int ok;
};

static void *verify_loop(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 25; i++) {
		json_t *got = NULL;
		if (jwt_verify_rs256(w->tok, w->ks, &got, NULL, 0) == JWT_OK)
			w->ok++;
		json_decref(got);
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	jwt_keyset *ks = public_set();
	json_t *claims = std_claims();
	char *tok[3];
	for (int i = 0; i < 3; i++)
		tok[i] = jwt_sign_rs256(key[i], claims);
	pthread_t th[6];
	struct worker w[6];
	for (int i = 0; i < 6; i++) {
		w[i] = (struct worker){.ks = ks, .tok = tok[i % 3]};
		assert_int_equal(pthread_create(&th[i], NULL, verify_loop, &w[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].ok, 25);
	}
	for (int i = 0; i < 3; i++)
		free(tok[i]);
	json_decref(claims);
	jwt_keyset_free(ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),  cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_pem),     cmocka_unit_test(test_jwk_roundtrip),
		cmocka_unit_test(test_jwks),    cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_alg),     cmocka_unit_test(test_hs256_confusion),
		cmocka_unit_test(test_format),  cmocka_unit_test(test_kid),
		cmocka_unit_test(test_claims),  cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
