/*
 * test_password.c - Argon2id hashing and the password policy (src/core/password.c), against
 * SECURITY.md "Login and passwords": 12 to 128 characters counted as code points, never
 * truncated, a unique salt per hash, parameters carried by the hash so they can be raised, and
 * malformed stored strings refused without crashing or burning unbounded memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <argon2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/password.h"
#include "core/util.h"

static const char *const prefix = "$argon2id$v=19$m=19456,t=2,p=1$";

/* A string of n copies of the UTF-8 character ch. */
static char *repeat(const char *ch, size_t n)
{
	size_t len = strlen(ch);
	char *s = malloc(len * n + 1);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * len, ch, len);
	s[len * n] = '\0';
	return s;
}

static void test_hash_verify(void **state)
{
	(void)state;
	const char *pw = "correct horse battery staple";
	char *h = password_hash(pw);
	assert_non_null(h);
	assert_memory_equal(h, prefix, strlen(prefix));
	assert_int_equal(password_verify(h, pw), 1);
	assert_int_equal(password_verify(h, "correct horse battery stapl"), 0);
	assert_int_equal(password_verify(h, "correct horse battery staple "), 0);
	assert_int_equal(password_verify(h, "Correct horse battery staple"), 0);
	assert_int_equal(password_verify(h, ""), 0);
	assert_int_equal(password_verify(h, NULL), 0);
	assert_int_equal(password_needs_rehash(h), 0);

	/* A fresh salt each time: two hashes of one password differ, and both verify. */
	char *h2 = password_hash(pw);
	assert_non_null(h2);
	assert_string_not_equal(h, h2);
	assert_int_equal(password_verify(h2, pw), 1);
	/* Salt and tag are 16 and 32 bytes: 22 and 43 unpadded base64 characters. */
	const char *salt = h + strlen(prefix), *tag = strchr(salt, '$');
	assert_non_null(tag);
	assert_int_equal(tag - salt, 22);
	assert_int_equal(strlen(tag + 1), 43);
	free(h);
	free(h2);

	/* Accented passwords are hashed as their UTF-8 bytes. */
	h = password_hash("mot de passe très long é");
	assert_int_equal(password_verify(h, "mot de passe très long é"), 1);
	assert_int_equal(password_verify(h, "mot de passe tres long e"), 0);
	free(h);
	assert_null(password_hash(NULL));
}

static void test_malformed(void **state)
{
	(void)state;
	const char *pw = "correct horse battery staple";
	char *good = password_hash(pw);
	char buf[600];

	const char *bad[] = {
		"",
		"$",
		"argon2id",
		"plaintext password",
		"$argon2id$",
		"$argon2id$v=19$",
		"$argon2id$v=19$m=19456,t=2,p=1$",
		"$argon2id$v=19$m=19456,t=2,p=1$$",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$",
		/* costs no one should make us pay */
		"$argon2id$v=19$m=4294967295,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=4294967296,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=4294967295,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=255$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=0$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=0,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=-1,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=019456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m= 19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		/* other variants and versions */
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2d$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$pbkdf2-sha512$210000$c2FsdA$AAAA",
		/* bad base64, salt or tag too short, trailing data */
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$c2Fsd-NhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$c2E$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
		"$argon2id$v=19$m=19456,t=2,p=1,data=abc$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (password_verify(bad[i], pw) != 0)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(password_needs_rehash(bad[i]), 1);
	}
	assert_int_equal(password_verify(NULL, pw), 0);
	assert_int_equal(password_needs_rehash(NULL), 1);

	/* The right password against a damaged copy of its own hash. */
	snprintf(buf, sizeof(buf), "%s", good);
	buf[strlen(buf) - 2] = buf[strlen(buf) - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(password_verify(buf, pw), 0);
	snprintf(buf, sizeof(buf), "%s", good);
	memcpy(buf, "$argon2i$", 9);
	memmove(buf + 8, buf + 9, strlen(buf + 9) + 1); /* "$argon2id$…" -> "$argon2i$…" */
	assert_int_equal(password_verify(buf, pw), 0);
	/* Every truncation of a good hash is refused. */
	size_t len = strlen(good);
	for (size_t cut = 0; cut < len; cut++) {
		snprintf(buf, sizeof(buf), "%.*s", (int)cut, good);
		assert_int_equal(password_verify(buf, pw), 0);
	}
	/* An over-long stored string. */
	char *huge = repeat("A", 100000);
	memcpy(huge, good, len);
	assert_int_equal(password_verify(huge, pw), 0);
	free(huge);
	/* The same password made as Argon2i (not id) is refused, by type, not by value. */
	unsigned char salt[16];
	util_random(salt, sizeof(salt));
	char enc[200];
	assert_int_equal(argon2i_hash_encoded(2, 19456, 1, pw, strlen(pw), salt, 16, 32, enc, sizeof(enc)), ARGON2_OK);
	assert_int_equal(password_verify(enc, pw), 0);
	free(good);
}

static void test_policy(void **state)
{
	(void)state;
	const char *too_short = "Le mot de passe doit contenir au moins 12 caractères.";
	const char *too_long = "Le mot de passe doit contenir au plus 128 caractères.";
	struct {
		const char *ch;
		size_t n;
		const char *want;
	} cases[] = {
		{"a", 0, too_short},  {"a", 11, too_short}, {"a", 12, NULL},      {"a", 128, NULL},
		{"a", 129, too_long}, {"é", 11, too_short}, {"é", 12, NULL},      {"é", 128, NULL},
		{"é", 129, too_long}, {"€", 12, NULL},      {"€", 129, too_long}, {"😀", 12, NULL},
		{"😀", 11, too_short}, {"😀", 128, NULL},     {"a", 200, too_long},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *pw = repeat(cases[i].ch, cases[i].n);
		const char *got = password_policy_error(pw);
		if (cases[i].want)
			assert_string_equal(got, cases[i].want);
		else if (got)
			fail_msg("%zu x %s refused: %s", cases[i].n, cases[i].ch, got);
		free(pw);
	}
	/* 11 characters that are 22 bytes are still too short; 12 mixed ones are enough. */
	assert_string_equal(password_policy_error("éàèùâêîôûëï"), too_short);
	assert_null(password_policy_error("àéîõü1234567"));
	assert_null(password_policy_error("une phrase de passe"));

	/* Not UTF-8: stray continuation, overlong forms, surrogates, past U+10FFFF, truncated. */
	const char *invalid[] = {"\xff"
				 "aaaaaaaaaaaaa",
				 "aaaaaaaaaaaa\x80",
				 "aaaaaaaaaaaa\xc0\xaf",
				 "aaaaaaaaaaaa\xe0\x80\xaf",
				 "aaaaaaaaaaaa\xed\xa0\x80",
				 "aaaaaaaaaaaa\xf4\x90\x80\x80",
				 "aaaaaaaaaaaa\xc3",
				 "aaaaaaaaaaaa\xe2\x82",
				 "aaaaaaaaaaaa\xf0\x9f\x98"};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		const char *got = password_policy_error(invalid[i]);
		assert_non_null(got);
		assert_non_null(strstr(got, "invalides"));
	}
	/* Control characters: C0, DEL, C1 (U+0085). */
	const char *control[] = {"aaaaaaaaaaaa\x01", "aaaaaa\taaaaaa", "aaaaaaaaaaaa\n", "aaaaaaaaaaaa\x7f",
				 "aaaaaaaaaaaa\xc2\x85"};
	for (size_t i = 0; i < sizeof(control) / sizeof(control[0]); i++) {
		const char *got = password_policy_error(control[i]);
		assert_non_null(got);
		assert_non_null(strstr(got, "contrôle"));
	}
	assert_non_null(password_policy_error(NULL));
}

/* Never truncated: a long password and its 128-character prefix are different passwords. */
static void test_no_truncation(void **state)
{
	(void)state;
	char *longpw = repeat("a", 200);
	for (size_t i = 0; i < 200; i++)
		longpw[i] = (char)('a' + i % 26);
	char *head = strndup(longpw, 128);
	assert_null(password_policy_error(head));
	assert_non_null(password_policy_error(longpw));
	char *h129 = strndup(longpw, 129);
	assert_non_null(password_policy_error(h129));

	char *h = password_hash(head);
	assert_int_equal(password_verify(h, head), 1);
	assert_int_equal(password_verify(h, longpw), 0);
	assert_int_equal(password_verify(h, h129), 0);
	free(h);
	h = password_hash(longpw);
	assert_int_equal(password_verify(h, longpw), 1);
	assert_int_equal(password_verify(h, head), 0);
	free(h);
	free(h129);
	free(head);
	free(longpw);
}

static void test_needs_rehash(void **state)
{
	(void)state;
	const char *pw = "correct horse battery staple";
	unsigned char salt[16];
	util_random(salt, sizeof(salt));
	char enc[200];
	struct {
		uint32_t t, m, p;
		size_t saltlen, hashlen;
		int want;
	} cases[] = {
		{1, 8192, 1, 16, 32, 1},  /* lower memory and time */
		{2, 8192, 1, 16, 32, 1},  /* lower memory */
		{1, 19456, 1, 16, 32, 1}, /* lower time */
		{2, 19456, 1, 8, 32, 1},  /* short salt */
		{2, 19456, 1, 16, 16, 1}, /* short tag */
		{2, 19456, 1, 16, 32, 0}, /* current */
		{3, 32768, 1, 16, 32, 0}, /* stronger */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(argon2id_hash_encoded(cases[i].t, cases[i].m, cases[i].p, pw, strlen(pw), salt,
						       cases[i].saltlen, cases[i].hashlen, enc, sizeof(enc)),
				 ARGON2_OK);
		assert_int_equal(password_needs_rehash(enc), cases[i].want);
		/* Old hashes still verify, so that they can be upgraded at the next login. */
		assert_int_equal(password_verify(enc, pw), 1);
		assert_int_equal(password_verify(enc, "wrong password!"), 0);
	}
}

/* The dummy verification costs what a real one costs (a malformed built-in hash would be instant). */
static void test_dummy_verify(void **state)
{
	(void)state;
	char *h = password_hash("correct horse battery staple");
	uint64_t real = UINT64_MAX, dummy = UINT64_MAX;
	for (int i = 0; i < 3; i++) {
		uint64_t t0 = util_now_ns();
		assert_int_equal(password_verify(h, "wrong password!!"), 0);
		uint64_t t1 = util_now_ns();
		password_dummy_verify("wrong password!!");
		uint64_t t2 = util_now_ns();
		real = t1 - t0 < real ? t1 - t0 : real;
		dummy = t2 - t1 < dummy ? t2 - t1 : dummy;
	}
	assert_true(dummy * 3 > real);
	assert_true(dummy < real * 3);
	password_dummy_verify(NULL);
	password_dummy_verify("");
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify),  cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_policy),       cmocka_unit_test(test_no_truncation),
		cmocka_unit_test(test_needs_rehash), cmocka_unit_test(test_dummy_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
