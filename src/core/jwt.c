/*
 * jwt.c - RS256 JSON Web Tokens, JWK and JWKS on OpenSSL 3 (EVP interfaces only) and jansson.
 *
 * A jwt_key wraps one EVP_PKEY (RSA, 2048 to 8192 bits) and its kid; a jwt_keyset is a fixed
 * array of at most 64 keys looked up by kid. jwt_verify_rs256() is written for hostile input: the
 * token is at most 16 KiB, has exactly three segments of canonical base64url (no padding, no
 * stray bits), the header is a JSON object without duplicate keys whose "alg" is exactly "RS256"
 * (the caller's choice, never the token's), "crit" is refused because we understand no extension,
 * and "kid" is at most 256 bytes of printable ASCII that is only ever compared with the kids of
 * the key set. "jku", "x5u" and "jwk" are never read. The payload is parsed only once the
 * signature verified, so unauthenticated bytes never reach the JSON parser beyond the header.
 *
 * There is no global mutable state: keys are immutable once built, so one key set can be shared
 * by every thread (OpenSSL allows concurrent use of a const EVP_PKEY). Nothing here touches
 * files, the network or a database.
 */
#include "jwt.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#define JWT_MAX_TOKEN (16 * 1024)
#define JWT_MAX_KID 256
#define JWT_MAX_KEYS 64
#define JWT_MIN_BITS 2048
#define JWT_MAX_BITS 8192
#define JWT_MAX_JWKS (1024 * 1024)
#define JWT_MAX_E_BYTES 8

struct jwt_key {
	EVP_PKEY *pkey;
	int has_private;
	char kid[JWT_MAX_KID + 1]; /* "" when the key has no kid */
};

struct jwt_keyset {
	size_t n;
	jwt_key *keys[JWT_MAX_KEYS];
};

/* ---- base64url ---- */

static const char b64url_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of a base64url digit, or -1. A switch rather than a table keeps this obviously total. */
static int b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

size_t b64url_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	if (outlen > 0)
		out[0] = '\0';
	if (len > (SIZE_MAX / 4 - 1) * 3)
		return (size_t)-1;
	size_t need = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
	if (!out || need >= outlen)
		return (size_t)-1;
	size_t o = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url_chars[(v >> 18) & 63];
		out[o++] = b64url_chars[(v >> 12) & 63];
		out[o++] = b64url_chars[(v >> 6) & 63];
		out[o++] = b64url_chars[v & 63];
	}
	if (len - i == 1) {
		unsigned long v = (unsigned long)in[i] << 16;
		out[o++] = b64url_chars[(v >> 18) & 63];
		out[o++] = b64url_chars[(v >> 12) & 63];
	} else if (len - i == 2) {
		unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8;
		out[o++] = b64url_chars[(v >> 18) & 63];
		out[o++] = b64url_chars[(v >> 12) & 63];
		out[o++] = b64url_chars[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

/*
 * Strict: only the 64 URL-safe digits, no padding, no whitespace, and the unused low bits of the
 * last digit must be zero, so that every byte string has exactly one accepted encoding.
 */
long b64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	if (len % 4 == 1 || len > (size_t)LONG_MAX / 3 * 4)
		return -1;
	if (len > 0 && !in)
		return -1;
	size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	if (need > outlen || (need > 0 && !out))
		return -1;
	size_t o = 0, i = 0;
	for (; i + 4 <= len; i += 4) {
		int a = b64url_val((unsigned char)in[i]), b = b64url_val((unsigned char)in[i + 1]);
		int c = b64url_val((unsigned char)in[i + 2]), d = b64url_val((unsigned char)in[i + 3]);
		if ((a | b | c | d) < 0)
			return -1;
		unsigned long v = (unsigned long)a << 18 | (unsigned long)b << 12 | (unsigned long)c << 6 |
				  (unsigned long)d;
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	size_t rest = len - i;
	if (rest >= 2) {
		int a = b64url_val((unsigned char)in[i]), b = b64url_val((unsigned char)in[i + 1]);
		int c = rest == 3 ? b64url_val((unsigned char)in[i + 2]) : 0;
		if ((a | b | c) < 0)
			return -1;
		if (rest == 2 && (b & 15))
			return -1;
		if (rest == 3 && (c & 3))
			return -1;
		unsigned long v = (unsigned long)a << 18 | (unsigned long)b << 12 | (unsigned long)c << 6;
		out[o++] = (unsigned char)(v >> 16);
		if (rest == 3)
			out[o++] = (unsigned char)(v >> 8);
	}
	return (long)o;
}

/* ---- keys ---- */

/* A kid we accept: at most 256 bytes of printable ASCII (the empty kid means "no kid"). */
static int kid_ok(const char *s, size_t len)
{
	if (len > JWT_MAX_KID)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

static int rsa_size_ok(const EVP_PKEY *pkey)
{
	if (!EVP_PKEY_is_a(pkey, "RSA"))
		return 0;
	int bits = EVP_PKEY_get_bits(pkey);
	return bits >= JWT_MIN_BITS && bits <= JWT_MAX_BITS;
}

/* Takes ownership of pkey (freed on failure). */
static jwt_key *key_wrap(EVP_PKEY *pkey, const char *kid, int has_private)
{
	if (!kid)
		kid = "";
	size_t len = strlen(kid);
	if (!pkey || !kid_ok(kid, len) || !rsa_size_ok(pkey)) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	jwt_key *k = calloc(1, sizeof(*k));
	if (!k)
		abort();
	k->pkey = pkey;
	k->has_private = has_private;
	memcpy(k->kid, kid, len + 1);
	return k;
}

jwt_key *jwt_key_generate(const char *kid, int bits)
{
	if (bits < JWT_MIN_BITS || bits > JWT_MAX_BITS)
		return NULL;
	if (kid && !kid_ok(kid, strlen(kid)))
		return NULL;
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (!pkey) {
		ERR_clear_error();
		return NULL;
	}
	return key_wrap(pkey, kid, 1);
}

/* Encrypted PEM files are not supported: never prompt on the terminal for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

jwt_key *jwt_key_from_pem(const char *kid, const char *pem)
{
	if (!pem)
		return NULL;
	size_t len = strlen(pem);
	if (len > INT_MAX)
		return NULL;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		abort();
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	int has_private = pkey != NULL;
	if (!pkey) {
		ERR_clear_error();
		bio = BIO_new_mem_buf(pem, (int)len);
		if (!bio)
			abort();
		pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	if (!pkey) {
		ERR_clear_error();
		return NULL;
	}
	return key_wrap(pkey, kid, has_private);
}

/* A big-endian unsigned integer from a base64url JWK member, within [1, maxbytes] bytes. */
static BIGNUM *jwk_bignum(const json_t *jwk, const char *name, size_t maxbytes)
{
	const json_t *v = json_object_get(jwk, name);
	if (!json_is_string(v))
		return NULL;
	size_t slen = json_string_length(v);
	if (slen == 0 || slen > (maxbytes + 2) / 3 * 4)
		return NULL;
	unsigned char buf[JWT_MAX_BITS / 8 + 3];
	long n = b64url_decode(json_string_value(v), slen, buf, sizeof(buf));
	if (n <= 0 || (size_t)n > maxbytes)
		return NULL;
	BIGNUM *bn = BN_bin2bn(buf, (int)n, NULL);
	if (!bn)
		abort();
	return bn;
}

/* Optional string member: 1 if absent or equal to want, 0 otherwise. */
static int member_absent_or(const json_t *obj, const char *name, const char *want)
{
	const json_t *v = json_object_get(obj, name);
	if (!v)
		return 1;
	return json_is_string(v) && json_string_length(v) == strlen(want) && strcmp(json_string_value(v), want) == 0;
}

jwt_key *jwt_key_from_jwk(const json_t *jwk)
{
	if (!json_is_object(jwk))
		return NULL;
	const json_t *kty = json_object_get(jwk, "kty");
	if (!json_is_string(kty) || strcmp(json_string_value(kty), "RSA") != 0 || json_string_length(kty) != 3)
		return NULL;
	/* A key published for encryption, or for another algorithm, must not verify our tokens. */
	if (!member_absent_or(jwk, "use", "sig") || !member_absent_or(jwk, "alg", "RS256"))
		return NULL;
	const char *kid = "";
	const json_t *jkid = json_object_get(jwk, "kid");
	if (jkid) {
		if (!json_is_string(jkid) || !kid_ok(json_string_value(jkid), json_string_length(jkid)) ||
		    strlen(json_string_value(jkid)) != json_string_length(jkid))
			return NULL;
		kid = json_string_value(jkid);
	}

	jwt_key *k = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = jwk_bignum(jwk, "n", JWT_MAX_BITS / 8 + 1);
	BIGNUM *e = jwk_bignum(jwk, "e", JWT_MAX_E_BYTES);
	if (!n || !e)
		goto out;
	int nbits = BN_num_bits(n);
	if (nbits < JWT_MIN_BITS || nbits > JWT_MAX_BITS || !BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e))
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	k = key_wrap(pkey, kid, 0);
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	ERR_clear_error();
	return k;
}

void jwt_key_free(jwt_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *jwt_key_kid(const jwt_key *k) { return k ? k->kid : NULL; }

char *jwt_key_private_pem(const jwt_key *k)
{
	if (!k || !k->has_private)
		return NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		abort();
	char *pem = NULL;
	/* PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") in OpenSSL 3. */
	if (PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) == 1) {
		char *data;
		long len = BIO_get_mem_data(bio, &data);
		if (len > 0) {
			pem = malloc((size_t)len + 1);
			if (!pem)
				abort();
			memcpy(pem, data, (size_t)len);
			pem[len] = '\0';
		}
	}
	BIO_free(bio);
	ERR_clear_error();
	return pem;
}

/* A public RSA parameter as base64url; NULL on failure. */
static char *bn_param_b64url(const EVP_PKEY *pkey, const char *name)
{
	BIGNUM *bn = NULL;
	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
		ERR_clear_error();
		return NULL;
	}
	int nbytes = BN_num_bytes(bn);
	char *txt = NULL;
	unsigned char buf[JWT_MAX_BITS / 8 + 1];
	if (nbytes > 0 && (size_t)nbytes <= sizeof(buf) && BN_bn2bin(bn, buf) == nbytes) {
		size_t cap = ((size_t)nbytes + 2) / 3 * 4 + 1;
		txt = malloc(cap);
		if (!txt)
			abort();
		if (b64url_encode(buf, (size_t)nbytes, txt, cap) == (size_t)-1) {
			free(txt);
			txt = NULL;
		}
	}
	BN_free(bn);
	return txt;
}

json_t *jwt_key_public_jwk(const jwt_key *k)
{
	if (!k)
		return NULL;
	char *n = bn_param_b64url(k->pkey, OSSL_PKEY_PARAM_RSA_N);
	char *e = bn_param_b64url(k->pkey, OSSL_PKEY_PARAM_RSA_E);
	json_t *jwk = NULL;
	if (n && e) {
		jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "use", "sig", "alg", "RS256", "n", n, "e",
				e);
		if (jwk && k->kid[0])
			json_object_set_new(jwk, "kid", json_string(k->kid));
	}
	free(n);
	free(e);
	return jwk;
}

/* ---- key sets ---- */

jwt_keyset *jwt_keyset_new(void)
{
	jwt_keyset *ks = calloc(1, sizeof(*ks));
	if (!ks)
		abort();
	return ks;
}

/* The set always takes ownership of k: on failure k is freed, so callers never leak it. */
int jwt_keyset_add(jwt_keyset *ks, jwt_key *k)
{
	if (!ks || !k || ks->n >= JWT_MAX_KEYS || (k->kid[0] && jwt_keyset_find(ks, k->kid))) {
		jwt_key_free(k);
		return -1;
	}
	ks->keys[ks->n++] = k;
	return 0;
}

jwt_keyset *jwt_keyset_from_jwks(const char *json, size_t len)
{
	if (!json || len > JWT_MAX_JWKS)
		return NULL;
	json_error_t err;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	const json_t *keys = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(keys)) {
		json_decref(root);
		return NULL;
	}
	jwt_keyset *ks = jwt_keyset_new();
	size_t i;
	const json_t *jwk;
	json_array_foreach (keys, i, jwk) {
		if (ks->n >= JWT_MAX_KEYS)
			break;
		/* Non-RSA, encryption, unparsable or duplicate keys are skipped, not fatal: a JWKS
		 * legitimately mixes key types, and one odd entry must not take the others down. */
		jwt_key *k = jwt_key_from_jwk(jwk);
		if (k)
			jwt_keyset_add(ks, k);
	}
	json_decref(root);
	return ks;
}

const jwt_key *jwt_keyset_find(const jwt_keyset *ks, const char *kid)
{
	if (!ks || !kid || !kid[0])
		return NULL;
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->keys[i]->kid, kid) == 0)
			return ks->keys[i];
	return NULL;
}

size_t jwt_keyset_count(const jwt_keyset *ks) { return ks ? ks->n : 0; }

void jwt_keyset_free(jwt_keyset *ks)
{
	if (!ks)
		return;
	for (size_t i = 0; i < ks->n; i++)
		jwt_key_free(ks->keys[i]);
	free(ks);
}

/* ---- signing and verification ---- */

/* base64url of a JSON value into out at *pos; 0 on success. */
static int append_b64_json(const json_t *v, char *out, size_t cap, size_t *pos)
{
	char *txt = json_dumps(v, JSON_COMPACT);
	if (!txt)
		return -1;
	size_t n = b64url_encode((const unsigned char *)txt, strlen(txt), out + *pos, cap - *pos);
	free(txt);
	if (n == (size_t)-1)
		return -1;
	*pos += n;
	return 0;
}

char *jwt_sign_rs256(const jwt_key *k, const json_t *claims)
{
	if (!k || !k->has_private || !json_is_object(claims))
		return NULL;
	json_t *header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
	if (!header)
		return NULL;
	if (k->kid[0])
		json_object_set_new(header, "kid", json_string(k->kid));

	/* A token we could not verify ourselves (over 16 KiB) is not issued. */
	size_t cap = JWT_MAX_TOKEN + 1, pos = 0;
	char *tok = malloc(cap);
	if (!tok)
		abort();
	EVP_MD_CTX *md = NULL;
	int ok = 0;
	if (append_b64_json(header, tok, cap, &pos) || pos + 1 >= cap)
		goto out;
	tok[pos++] = '.';
	if (append_b64_json(claims, tok, cap, &pos) || pos + 1 >= cap)
		goto out;
	size_t signed_len = pos;
	tok[pos++] = '.';

	md = EVP_MD_CTX_new();
	if (!md)
		abort();
	unsigned char sig[JWT_MAX_BITS / 8];
	size_t siglen = 0;
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)tok, signed_len) != 1 || siglen > sizeof(sig) ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)tok, signed_len) != 1)
		goto out;
	if (b64url_encode(sig, siglen, tok + pos, cap - pos) == (size_t)-1)
		goto out;
	ok = 1;
out:
	EVP_MD_CTX_free(md);
	json_decref(header);
	ERR_clear_error();
	if (!ok) {
		free(tok);
		return NULL;
	}
	return tok;
}

static int verify_with(const jwt_key *k, const char *data, size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md)
		abort();
	int ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
		 EVP_DigestVerify(md, sig, siglen, (const unsigned char *)data, len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

/* Decodes one segment into buf at *used; the decoded bytes start at *seg. */
static int decode_segment(const char *s, size_t len, unsigned char *buf, size_t cap, size_t *used,
			  const unsigned char **seg, size_t *seglen)
{
	long n = b64url_decode(s, len, buf + *used, cap - *used);
	if (n < 0)
		return -1;
	*seg = buf + *used;
	*seglen = (size_t)n;
	*used += (size_t)n;
	return 0;
}

static json_t *parse_object(const unsigned char *data, size_t len)
{
	json_error_t err;
	json_t *v = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &err);
	if (v && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

int jwt_verify_rs256(const char *token, const jwt_keyset *ks, json_t **claims, char *kid_out, size_t kid_len)
{
	if (claims)
		*claims = NULL;
	if (kid_out && kid_len > 0)
		kid_out[0] = '\0';
	if (!token || !ks || !claims)
		return JWT_EFORMAT;
	size_t tlen = strnlen(token, JWT_MAX_TOKEN + 1);
	if (tlen > JWT_MAX_TOKEN)
		return JWT_EFORMAT;
	const char *d1 = memchr(token, '.', tlen);
	if (!d1)
		return JWT_EFORMAT;
	const char *d2 = memchr(d1 + 1, '.', tlen - (size_t)(d1 + 1 - token));
	if (!d2)
		return JWT_EFORMAT;
	const char *end = token + tlen;
	if (memchr(d2 + 1, '.', (size_t)(end - (d2 + 1))))
		return JWT_EFORMAT;

	/* The three decoded segments together are shorter than the token. */
	unsigned char *buf = malloc(tlen + 1);
	if (!buf)
		abort();
	size_t used = 0;
	const unsigned char *hdr, *pay, *sig;
	size_t hlen, plen, slen;
	json_t *header = NULL, *payload = NULL;
	int rc = JWT_EFORMAT;
	if (decode_segment(token, (size_t)(d1 - token), buf, tlen + 1, &used, &hdr, &hlen) ||
	    decode_segment(d1 + 1, (size_t)(d2 - d1 - 1), buf, tlen + 1, &used, &pay, &plen) ||
	    decode_segment(d2 + 1, (size_t)(end - d2 - 1), buf, tlen + 1, &used, &sig, &slen))
		goto out;
	header = parse_object(hdr, hlen);
	if (!header)
		goto out;

	/* The algorithm is ours to choose; the header may only agree with it. */
	const json_t *alg = json_object_get(header, "alg");
	if (!json_is_string(alg) || json_string_length(alg) != 5 || memcmp(json_string_value(alg), "RS256", 5) != 0) {
		rc = JWT_EALG;
		goto out;
	}
	/* RFC 7515 §4.1.11: an extension listed in "crit" that we do not implement must fail. */
	if (json_object_get(header, "crit")) {
		rc = JWT_EFORMAT;
		goto out;
	}
	const json_t *jkid = json_object_get(header, "kid");
	const char *kid = NULL;
	if (jkid) {
		if (!json_is_string(jkid) || json_string_length(jkid) == 0 ||
		    !kid_ok(json_string_value(jkid), json_string_length(jkid)) ||
		    strlen(json_string_value(jkid)) != json_string_length(jkid)) {
			rc = JWT_EKID;
			goto out;
		}
		kid = json_string_value(jkid);
		if (kid_out && kid_len > json_string_length(jkid))
			memcpy(kid_out, kid, json_string_length(jkid) + 1);
	}

	size_t signed_len = (size_t)(d2 - token);
	if (kid) {
		const jwt_key *k = jwt_keyset_find(ks, kid);
		if (!k) {
			rc = JWT_EKID;
			goto out;
		}
		rc = verify_with(k, token, signed_len, sig, slen) ? JWT_OK : JWT_ESIGNATURE;
	} else {
		rc = ks->n == 0 ? JWT_EKID : JWT_ESIGNATURE;
		for (size_t i = 0; i < ks->n && rc != JWT_OK; i++)
			if (verify_with(ks->keys[i], token, signed_len, sig, slen))
				rc = JWT_OK;
	}
	if (rc != JWT_OK)
		goto out;

	payload = parse_object(pay, plen);
	if (!payload) {
		rc = JWT_EFORMAT;
		goto out;
	}
	*claims = payload;
	payload = NULL;
out:
	json_decref(header);
	json_decref(payload);
	free(buf);
	return rc;
}

/* ---- claims ---- */

/* A NumericDate (RFC 7519: integer or fraction of seconds); 0 if v is one. */
static int numeric_date(const json_t *v, double *out)
{
	if (json_is_integer(v))
		*out = (double)json_integer_value(v);
	else if (json_is_real(v))
		*out = json_real_value(v);
	else
		return -1;
	return 0;
}

static int string_is(const json_t *v, const char *want)
{
	return json_is_string(v) && json_string_length(v) == strlen(want) && strcmp(json_string_value(v), want) == 0;
}

/*
 * The issuer is always checked: a NULL e->issuer fails every token rather than accepting any
 * issuer, because forgetting to configure it must not open the door.
 */
int jwt_check_claims(const json_t *claims, const struct jwt_expect *e)
{
	if (!json_is_object(claims) || !e)
		return JWT_EFORMAT;
	double leeway = e->leeway > 0 ? (double)e->leeway : 0;
	double now = (double)e->now, t;

	if (numeric_date(json_object_get(claims, "exp"), &t) || !(t > now - leeway))
		return JWT_EEXPIRED;
	const char *later[] = {"nbf", "iat"};
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		const json_t *v = json_object_get(claims, later[i]);
		if (v && (numeric_date(v, &t) || t > now + leeway))
			return JWT_ENOTYET;
	}
	if (!e->issuer || !string_is(json_object_get(claims, "iss"), e->issuer))
		return JWT_EISSUER;
	if (e->audience) {
		const json_t *aud = json_object_get(claims, "aud");
		int found = 0;
		if (!aud) {
			found = string_is(json_object_get(claims, "azp"), e->audience);
		} else if (json_is_array(aud)) {
			size_t i;
			const json_t *a;
			json_array_foreach (aud, i, a)
				found |= string_is(a, e->audience);
		} else {
			found = string_is(aud, e->audience);
		}
		if (!found)
			return JWT_EAUDIENCE;
	}
	if (e->typ && !string_is(json_object_get(claims, "typ"), e->typ))
		return JWT_ETYPE;
	return JWT_OK;
}

const char *jwt_strerror(int err)
{
	switch (err) {
	case JWT_OK: return "ok";
	case JWT_EFORMAT: return "malformed token";
	case JWT_EALG: return "unexpected algorithm";
	case JWT_EKID: return "unknown or malformed key id";
	case JWT_ESIGNATURE: return "bad signature";
	case JWT_EEXPIRED: return "token expired";
	case JWT_ENOTYET: return "token not yet valid";
	case JWT_EISSUER: return "wrong issuer";
	case JWT_EAUDIENCE: return "wrong audience";
	case JWT_ETYPE: return "wrong token type";
	default: return "unknown error";
	}
}

/* ---- hashes ---- */

static void sha256(const void *data, size_t len, unsigned char md[32])
{
	unsigned int mdlen = 0;
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		abort(); /* only on a broken OpenSSL installation */
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	sha256(data, len, md);
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

void sha256_b64url(const void *data, size_t len, char out[44])
{
	unsigned char md[32];
	sha256(data, len, md);
	b64url_encode(md, sizeof(md), out, 44);
}
