/*
 * test_forwarded.c - the client's address behind trusted proxies (src/core/forwarded.c): headers
 * believed only from a configured proxy, the right-most untrusted address, RFC 7239 Forwarded,
 * IPv6 and CIDR ranges, and what is refused in ENT_TRUSTED_PROXIES.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/arena.h"
#include "core/forwarded.h"

static void test_untrusted_peer_is_the_client(void **state)
{
	(void)state;
	char err[160];
	arena *a = arena_new(0);
	assert_int_equal(forwarded_set_trusted("", err, sizeof err), 0);
	/* Nothing trusted: the headers are anyone's words. */
	assert_string_equal(forwarded_client(a, "198.51.100.9", "203.0.113.7", NULL), "198.51.100.9");
	assert_int_equal(forwarded_set_trusted("10.0.0.0/8, 127.0.0.1", err, sizeof err), 0);
	assert_string_equal(forwarded_client(a, "198.51.100.9", "203.0.113.7", NULL), "198.51.100.9");
	arena_free(a);
}

static void test_trusted_proxy_chain(void **state)
{
	(void)state;
	char err[160];
	arena *a = arena_new(0);
	assert_int_equal(forwarded_set_trusted("10.0.0.0/8,127.0.0.1,fd00::/8", err, sizeof err), 0);
	assert_string_equal(forwarded_client(a, "127.0.0.1", "203.0.113.7", NULL), "203.0.113.7");
	/* What the client wrote itself (on the left) is not believed: the right-most untrusted. */
	assert_string_equal(forwarded_client(a, "127.0.0.1", "1.2.3.4, 203.0.113.7, 10.1.2.3", NULL), "203.0.113.7");
	/* Only proxies: the left-most of them. */
	assert_string_equal(forwarded_client(a, "127.0.0.1", "10.9.9.9, 10.1.2.3", NULL), "10.9.9.9");
	/* Forwarded (RFC 7239), IPv6 in brackets with a port, and an IPv4 with a port. */
	assert_string_equal(forwarded_client(a, "10.0.0.1", NULL, "for=192.0.2.60;proto=https;by=10.0.0.1"),
			    "192.0.2.60");
	assert_string_equal(forwarded_client(a, "fd00::1", NULL, "for=\"[2001:db8:cafe::17]:4711\""),
			    "2001:db8:cafe::17");
	assert_string_equal(forwarded_client(a, "127.0.0.1", "192.0.2.1:5555", NULL), "192.0.2.1");
	/* An element that names no address (obfuscated, garbage): the peer, not a guess. */
	assert_string_equal(forwarded_client(a, "127.0.0.1", "unknown", NULL), "127.0.0.1");
	assert_string_equal(forwarded_client(a, "127.0.0.1", "'; DROP TABLE", NULL), "127.0.0.1");
	assert_string_equal(forwarded_client(a, "127.0.0.1", NULL, NULL), "127.0.0.1");
	arena_free(a);
}

static void test_bad_lists_refused(void **state)
{
	(void)state;
	char err[160];
	assert_int_equal(forwarded_check("10.0.0.0/33", err, sizeof err), -1);
	assert_int_equal(forwarded_check("gateway.local", err, sizeof err), -1);
	assert_non_null(strstr(err, "gateway.local"));
	assert_int_equal(forwarded_check("10.0.0.0/", err, sizeof err), -1);
	assert_int_equal(forwarded_check("::1/129", err, sizeof err), -1);
	assert_int_equal(forwarded_check("10.0.0.1, ::1, 172.16.0.0/12", err, sizeof err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_untrusted_peer_is_the_client),
		cmocka_unit_test(test_trusted_proxy_chain),
		cmocka_unit_test(test_bad_lists_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
