/*
 * fuzz_jwt.c - libFuzzer target for the token parser (src/core/jwt.c).
 *
 * Each input is given, as is, to jwt_verify_rs256() against a fixed key set, to b64url_decode()
 * and to jwt_keyset_from_jwks(): all three read bytes an attacker chooses (a bearer token, a
 * JWKS fetched over the network). Besides the sanitizers, the target checks invariants: errors
 * leave no claims behind, the kid handed back is a bounded string, and base64url decoding is
 * canonical (whatever decodes re-encodes to the same text). The key set is public only: the
 * private key that signed the valid seed was thrown away.
 *
 * Build (not wired into CMake yet):
 *   clang -fsanitize=fuzzer,address,undefined -I src tests/fuzz/fuzz_jwt.c src/core/jwt.c \
 *     src/core/util.c src/core/json.c $(pkg-config --cflags --libs jansson openssl)
 * Run: ./a.out -max_total_time=60 tests/fuzz/corpus/jwt
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char jwks[] =
	"{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"fuzz-1\",\"e\":\"AQAB\",\"n\":"
	"\"xBovjDfwASQfBSvriSHxwhhNo6JK3X1BxLbmG2YaJy9iYWE9LGPtAv_V5iBBATFyPNzK_BzSor5b3TACNRW8GJcWnj2jmeklhPGgbtcv3oxHdN"
	"D173rRdA2r3HPFSYpB3oz5Immgm-rVtu6XASbdwKEEnGFbrukB2DkHbeR5isopg46yZ0bFnHTDnBLIAX-PyZVVjsmiI5EvDm99TXRvvU7CWirql"
	"CZ7lNQLSCueZc5Rr1H_QeWg6bzGN1LQOeb1wt3n5ZAsJIBjTLm1uuRjrH8KlMlvAjbx_Az-KY-iV0uCP8ZB3k1X0UEEOhFpYpqn2r6sFw9wAqDu"
	"QEecztk1bw\"}]}";

static const jwt_keyset *keyset(void)
{
	/* Built once and kept for the life of the fuzzer process. */
	static jwt_keyset *ks;
	if (!ks) {
		ks = jwt_keyset_from_jwks(jwks, sizeof(jwks) - 1);
		if (!ks || jwt_keyset_count(ks) != 1)
			abort();
	}
	return ks;
}

static void fuzz_verify(const uint8_t *data, size_t size)
{
	char *token = malloc(size + 1);
	if (!token)
		abort();
	memcpy(token, data, size);
	token[size] = '\0';

	json_t *claims = NULL;
	char kid[257];
	int rc = jwt_verify_rs256(token, keyset(), &claims, kid, sizeof(kid));
	if (rc > JWT_OK || rc < JWT_ESIGNATURE || (rc != JWT_OK && claims) || (rc == JWT_OK && !json_is_object(claims)))
		abort();
	if (strnlen(kid, sizeof(kid)) > 256)
		abort();
	if (rc == JWT_OK) {
		struct jwt_expect e = {.issuer = "https://ent.example/realms/ent",
				       .audience = "ent-api",
				       .typ = "Bearer",
				       .now = 1767225600,
				       .leeway = 60};
		rc = jwt_check_claims(claims, &e);
		if (rc > JWT_OK || rc < JWT_ETYPE)
			abort();
	}
	json_decref(claims);
	free(token);
}

static void fuzz_b64url(const uint8_t *data, size_t size)
{
	unsigned char *out = malloc(size + 1);
	char *again = malloc(size + 2);
	if (!out || !again)
		abort();
	long n = b64url_decode((const char *)data, size, out, size + 1);
	if (n >= 0) {
		/* Strict decoding accepts exactly one text per byte string. */
		size_t m = b64url_encode(out, (size_t)n, again, size + 2);
		if (m != size || memcmp(again, data, size) != 0)
			abort();
		/* Too small an output buffer is an error, never an overflow. */
		if (n > 0 && b64url_decode((const char *)data, size, out, (size_t)n - 1) != -1)
			abort();
	}
	free(again);
	free(out);
}

static void fuzz_jwks(const uint8_t *data, size_t size)
{
	jwt_keyset *ks = jwt_keyset_from_jwks((const char *)data, size);
	if (ks && jwt_keyset_count(ks) > 64)
		abort();
	jwt_keyset_free(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_verify(data, size);
	fuzz_b64url(data, size);
	fuzz_jwks(data, size);
	return 0;
}
