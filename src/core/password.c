/*
 * password.c - Argon2id password hashing (libargon2) and the password policy.
 *
 * Hashes are PHC strings made by argon2id_hash_encoded() with the OWASP parameters (19 MiB,
 * 2 passes, 1 lane), a 16-byte salt from getrandom and a 32-byte tag. Before a stored string
 * reaches libargon2 it is parsed here and its cost parameters are bounded: a corrupted or
 * planted row with m=4294967295 must not make verification allocate terabytes or spin for hours.
 * The whole password is always hashed: nothing is truncated, and the length policy refuses what
 * is too long instead.
 *
 * No global mutable state; every function can be called from any thread.
 */
#include "password.h"

#include "util.h"

#include <argon2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PW_M_COST 19456 /* KiB */
#define PW_T_COST 2
#define PW_PARALLELISM 1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32

/* What a stored string may ask of us at most (verification of older or stronger hashes). */
#define PW_M_MAX (256 * 1024) /* KiB: 256 MiB */
#define PW_T_MAX 16
#define PW_P_MAX 16
#define PW_STORED_MAX 512
/* Longer inputs are refused outright (the policy allows at most 128 code points of 4 bytes). */
#define PW_BYTES_MAX 1024

/*
 * Argon2id with the parameters above, of a random password that was thrown away. Verifying
 * against it costs what a real verification costs, and never succeeds in practice.
 */
static const char dummy_hash[] =
	"$argon2id$v=19$m=19456,t=2,p=1$dA+23CUDcvflL7HyaJz9jQ$4cgWWe97pGMC8xpkDl4jqdTpbUMKytFIMkyF7lxjxIU";

/* ---- policy ---- */

/*
 * Decodes one UTF-8 sequence at s; returns its length and the code point in *cp, or 0 if the
 * bytes are not well-formed UTF-8 (overlong forms, surrogates, values past U+10FFFF).
 */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t n;
	uint32_t v, min;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL terminator */
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

const char *password_policy_error(const char *pw)
{
	if (!pw)
		return "Le mot de passe est obligatoire.";
	size_t count = 0;
	const unsigned char *s = (const unsigned char *)pw;
	while (*s) {
		uint32_t cp;
		size_t n = utf8_next(s, &cp);
		if (n == 0)
			return "Le mot de passe contient des caractères invalides.";
		/* C0 controls, DEL and C1 controls: invisible, and mangled by terminals and forms. */
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return "Le mot de passe ne doit pas contenir de caractères de contrôle.";
		s += n;
		count++;
	}
	if (count < PASSWORD_MIN)
		return "Le mot de passe doit contenir au moins 12 caractères.";
	if (count > PASSWORD_MAX)
		return "Le mot de passe doit contenir au plus 128 caractères.";
	return NULL;
}

/* ---- PHC strings ---- */

struct phc {
	uint32_t m, t, p;
	size_t salt_len, hash_len; /* decoded bytes */
};

/* A decimal without sign or leading zeros that fits in 32 bits; advances *s. */
static int parse_u32(const char **s, uint32_t *out)
{
	const char *p = *s;
	uint64_t v = 0;
	size_t n = 0;
	while (p[n] >= '0' && p[n] <= '9') {
		if (n == 10)
			return -1;
		v = v * 10 + (uint64_t)(p[n] - '0');
		n++;
	}
	if (n == 0 || (n > 1 && p[0] == '0') || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	*s = p + n;
	return 0;
}

static int expect(const char **s, const char *lit)
{
	size_t n = strlen(lit);
	if (strncmp(*s, lit, n) != 0)
		return -1;
	*s += n;
	return 0;
}

/* Length of a run of unpadded standard base64 (libargon2's alphabet) as decoded bytes, or -1. */
static long b64_run(const char **s)
{
	const char *p = *s;
	size_t n = 0;
	while ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9') ||
	       p[n] == '+' || p[n] == '/')
		n++;
	if (n % 4 == 1)
		return -1;
	*s = p + n;
	return (long)(n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0));
}

/*
 * Parses "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" and checks that its costs are ones we are
 * willing to pay. 0 on success. libargon2 parses the string again; this is the gate before it.
 */
static int phc_parse(const char *stored, struct phc *out)
{
	if (!stored || strnlen(stored, PW_STORED_MAX + 1) > PW_STORED_MAX)
		return -1;
	const char *s = stored;
	if (expect(&s, "$argon2id$v=19$m=") || parse_u32(&s, &out->m) || expect(&s, ",t=") || parse_u32(&s, &out->t) ||
	    expect(&s, ",p=") || parse_u32(&s, &out->p) || expect(&s, "$"))
		return -1;
	long salt = b64_run(&s);
	if (salt < 0 || expect(&s, "$"))
		return -1;
	long hash = b64_run(&s);
	if (hash < 0 || *s != '\0')
		return -1;
	out->salt_len = (size_t)salt;
	out->hash_len = (size_t)hash;
	if (out->p < 1 || out->p > PW_P_MAX || out->t < 1 || out->t > PW_T_MAX || out->m < 8 * out->p ||
	    out->m > PW_M_MAX || out->salt_len < 8 || out->salt_len > 64 || out->hash_len < 16 || out->hash_len > 64)
		return -1;
	return 0;
}

/* ---- hashing ---- */

char *password_hash(const char *pw)
{
	if (!pw)
		return NULL;
	size_t len = strnlen(pw, PW_BYTES_MAX + 1);
	if (len > PW_BYTES_MAX)
		return NULL;
	unsigned char salt[PW_SALT_LEN];
	util_random(salt, sizeof(salt));
	size_t cap = argon2_encodedlen(PW_T_COST, PW_M_COST, PW_PARALLELISM, PW_SALT_LEN, PW_HASH_LEN, Argon2_id);
	char *out = malloc(cap);
	if (!out)
		abort();
	int rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_PARALLELISM, pw, len, salt, sizeof(salt), PW_HASH_LEN,
				       out, cap);
	if (rc != ARGON2_OK) {
		free(out);
		return NULL;
	}
	return out;
}

int password_verify(const char *stored, const char *pw)
{
	struct phc phc;
	if (!pw || phc_parse(stored, &phc) != 0)
		return 0;
	size_t len = strnlen(pw, PW_BYTES_MAX + 1);
	if (len > PW_BYTES_MAX)
		return 0;
	/* argon2id_verify recomputes the tag and compares it in constant time. */
	return argon2id_verify(stored, pw, len) == ARGON2_OK;
}

int password_needs_rehash(const char *stored)
{
	struct phc phc;
	if (phc_parse(stored, &phc) != 0)
		return 1;
	return phc.m < PW_M_COST || phc.t < PW_T_COST || phc.salt_len < PW_SALT_LEN || phc.hash_len < PW_HASH_LEN;
}

void password_dummy_verify(const char *pw)
{
	size_t len = pw ? strnlen(pw, PW_BYTES_MAX + 1) : 0;
	if (len > PW_BYTES_MAX)
		len = 0;
	(void)argon2id_verify(dummy_hash, pw ? pw : "", len);
}
