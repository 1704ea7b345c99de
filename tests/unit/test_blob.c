/*
 * test_blob.c - the blob store (blob.h) on file: and, when ENT_TEST_S3_URL is set, on s3:.
 *
 * The same cases run on both backends: a file: store in a fresh temporary directory (under
 * $ENT_TEST_TMP, else /tmp) and the S3 bucket named by ENT_TEST_S3_URL (see
 * tests/services/s3.sh). Every key of a run starts with a random prefix, so a bucket left over
 * from an earlier run does not matter. Sizes straddle the s3 backend's 8 MiB part size (a small
 * object, exactly 8 MiB: one PUT, 20 MiB: a multipart upload of three parts).
 *
 * Threads never call cmocka's assertions (they longjmp); they record what they saw and the main
 * thread checks it after joining.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "blob/blob.h"
#include "core/err.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define MIB ((size_t)1 << 20)

struct fixture {
	blob_store *s;
	int is_file;
	char dir[512];   /* file: only: the store's root */
	char prefix[40]; /* of every key of this run */
};

static struct fixture file_fx, s3_fx;

/* ---- helpers --------------------------------------------------------------------------------- */

static struct fixture *fx(void **state) { return *state; }

/* prefix/name into out. */
static const char *key(const struct fixture *f, const char *name, char out[256])
{
	snprintf(out, 256, "%s/%s", f->prefix, name);
	return out;
}

/* Deterministic bytes, different for each seed. */
static void fill(unsigned char *p, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Writes data under k in chunks of `chunk` bytes; returns the commit's result. */
static int put(blob_store *s, const char *k, const unsigned char *data, size_t len, size_t chunk, uint64_t *size,
	       char *sha)
{
	blob_writer *w = NULL;
	int rc = blob_write_begin(s, k, &w);
	if (rc != ENT_OK)
		return rc;
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		rc = blob_write(w, data + off, n);
		if (rc != ENT_OK) {
			blob_write_abort(w);
			return rc;
		}
	}
	return blob_write_commit(w, size, sha);
}

/* Reads k back whole through blob_read in 1 MiB steps and compares it with data. */
static void check_content(blob_store *s, const char *k, const unsigned char *data, size_t len)
{
	uint64_t size = 12345;
	assert_int_equal(blob_stat(s, k, &size), ENT_OK);
	assert_int_equal(size, len);
	unsigned char *got = malloc(len + 1);
	assert_non_null(got);
	size_t off = 0;
	for (;;) {
		long n = blob_read(s, k, off, got + off, len + 1 - off < MIB ? len + 1 - off : MIB);
		assert_true(n >= 0);
		if (n == 0)
			break;
		off += (size_t)n;
		assert_true(off <= len);
	}
	assert_int_equal(off, len);
	assert_memory_equal(got, data, len);
	free(got);
}

/* Number of entries in dir other than "." and "..", or -1. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Temporary files left in a file: store's PATH/.tmp. */
static int count_entries_tmp(const struct fixture *f)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/store/.tmp", f->dir);
	return count_entries(p);
}

static void rm_rf(const char *path)
{
	char cmd[1100];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", path);
}

/* ---- setup ----------------------------------------------------------------------------------- */

static int setup_file(void **state)
{
	const char *tmp = getenv("ENT_TEST_TMP");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	mkdir(tmp, 0700);
	snprintf(file_fx.dir, sizeof(file_fx.dir), "%s/blob.XXXXXX", tmp);
	if (!mkdtemp(file_fx.dir))
		return -1;
	char url[600], err[256];
	/* A root that does not exist yet: blob_open creates it. */
	snprintf(url, sizeof(url), "file:%s/store", file_fx.dir);
	if (blob_open(url, &file_fx.s, err, sizeof(err)) != ENT_OK) {
		fprintf(stderr, "blob_open(%s): %s\n", url, err);
		return -1;
	}
	file_fx.is_file = 1;
	util_random_hex(file_fx.prefix, 8);
	*state = &file_fx;
	return 0;
}

static int teardown_file(void **state)
{
	(void)state;
	blob_close(file_fx.s);
	rm_rf(file_fx.dir);
	return 0;
}

static int setup_s3(void **state)
{
	const char *url = getenv("ENT_TEST_S3_URL");
	char err[256];
	if (blob_open(url, &s3_fx.s, err, sizeof(err)) != ENT_OK) {
		fprintf(stderr, "blob_open(%s): %s\n", url, err);
		return -1;
	}
	util_random_hex(s3_fx.prefix, 8);
	*state = &s3_fx;
	return 0;
}

static int teardown_s3(void **state)
{
	(void)state;
	blob_close(s3_fx.s);
	return 0;
}

/* ---- cases, on every backend ----------------------------------------------------------------- */

static void roundtrip(void **state, size_t len, size_t chunk, const char *name)
{
	struct fixture *f = fx(state);
	char k[256];
	unsigned char *data = malloc(len ? len : 1);
	assert_non_null(data);
	fill(data, len, len + 7);
	uint64_t size = 999;
	char sha[65] = "", want[65];
	assert_int_equal(put(f->s, key(f, name, k), data, len, chunk, &size, sha), ENT_OK);
	assert_int_equal(size, len);
	sha256_hex(data, len, want);
	assert_string_equal(sha, want);
	check_content(f->s, k, data, len);
	if (f->is_file) {
		int fd = -1;
		uint64_t n = 0;
		assert_int_equal(blob_open_fd(f->s, k, &fd, &n), ENT_OK);
		assert_int_equal(n, len);
		assert_int_not_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
		close(fd);
		assert_int_equal(count_entries_tmp(f), 0);
	} else {
		int fd = 7;
		assert_int_equal(blob_open_fd(f->s, k, &fd, NULL), ENT_EINVAL);
		assert_int_equal(fd, -1);
	}
	assert_int_equal(blob_delete(f->s, k), ENT_OK);
	free(data);
}

static void test_small(void **state) { roundtrip(state, 1000, 333, "small"); }
static void test_zero(void **state) { roundtrip(state, 0, 1, "zero"); }
static void test_8mib(void **state) { roundtrip(state, 8 * MIB, 65537, "eight"); }
static void test_20mib(void **state) { roundtrip(state, 20 * MIB, 3 * MIB + 1, "twenty"); }
/* One write larger than a part. */
static void test_big_single_write(void **state) { roundtrip(state, 17 * MIB + 3, 17 * MIB + 3, "bigone"); }

static void test_overwrite(void **state)
{
	struct fixture *f = fx(state);
	char k[256];
	unsigned char a[3000], b[100];
	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	assert_int_equal(put(f->s, key(f, "over", k), a, sizeof(a), 1000, NULL, NULL), ENT_OK);
	assert_int_equal(put(f->s, k, b, sizeof(b), 1000, NULL, NULL), ENT_OK);
	check_content(f->s, k, b, sizeof(b));
	assert_int_equal(blob_delete(f->s, k), ENT_OK);
}

static void abort_after(void **state, size_t len, const char *name)
{
	struct fixture *f = fx(state);
	char k[256];
	unsigned char *data = malloc(len);
	assert_non_null(data);
	fill(data, len, 3);
	blob_writer *w = NULL;
	assert_int_equal(blob_write_begin(f->s, key(f, name, k), &w), ENT_OK);
	assert_int_equal(blob_write(w, data, len), ENT_OK);
	blob_write_abort(w);
	blob_write_abort(NULL);
	uint64_t size;
	assert_int_equal(blob_stat(f->s, k, &size), ENT_ENOTFOUND);
	unsigned char one;
	assert_int_equal(blob_read(f->s, k, 0, &one, 1), ENT_ENOTFOUND);
	if (f->is_file)
		assert_int_equal(count_entries_tmp(f), 0);
	free(data);
}

static void test_abort_small(void **state) { abort_after(state, 5000, "aborted"); }
/* Past one part: on s3 a multipart upload was started and must be aborted. */
static void test_abort_multipart(void **state) { abort_after(state, 9 * MIB, "abortedbig"); }

static void test_range(void **state)
{
	struct fixture *f = fx(state);
	char k[256];
	enum { N = 100000 };
	static unsigned char data[N];
	unsigned char got[2000];
	fill(data, N, 4);
	assert_int_equal(put(f->s, key(f, "range/obj.bin", k), data, N, 4096, NULL, NULL), ENT_OK);

	memset(got, 0xAA, sizeof(got));
	assert_int_equal(blob_read(f->s, k, 12345, got, 1000), 1000);
	assert_memory_equal(got, data + 12345, 1000);
	assert_int_equal(got[1000], 0xAA); /* nothing written past what was asked */

	assert_int_equal(blob_read(f->s, k, 0, got, 1), 1);
	assert_int_equal(got[0], data[0]);
	assert_int_equal(blob_read(f->s, k, N - 10, got, 100), 10); /* short at the end */
	assert_memory_equal(got, data + N - 10, 10);
	assert_int_equal(blob_read(f->s, k, N - 1, got, 1), 1);
	assert_int_equal(got[0], data[N - 1]);
	assert_int_equal(blob_read(f->s, k, N, got, 100), 0);     /* at the end */
	assert_int_equal(blob_read(f->s, k, 2 * N, got, 100), 0); /* past it */
	assert_int_equal(blob_read(f->s, k, 5, got, 0), 0);       /* nothing asked */
	assert_int_equal(blob_delete(f->s, k), ENT_OK);
}

static void test_delete(void **state)
{
	struct fixture *f = fx(state);
	char k[256];
	unsigned char data[10] = "0123456789";
	uint64_t size;
	assert_int_equal(put(f->s, key(f, "del/a", k), data, 10, 10, NULL, NULL), ENT_OK);
	assert_int_equal(blob_stat(f->s, k, &size), ENT_OK);
	assert_int_equal(blob_delete(f->s, k), ENT_OK);
	assert_int_equal(blob_stat(f->s, k, &size), ENT_ENOTFOUND);
	assert_int_equal(blob_delete(f->s, k), ENT_OK); /* absent: still fine */
	assert_int_equal(blob_delete(f->s, key(f, "never/written", k)), ENT_OK);
	assert_int_equal(blob_stat(f->s, k, &size), ENT_ENOTFOUND);
	/* A "directory" of keys is not an object. */
	assert_int_equal(put(f->s, key(f, "dir/x", k), data, 10, 10, NULL, NULL), ENT_OK);
	assert_int_equal(blob_stat(f->s, key(f, "dir", k), &size), ENT_ENOTFOUND);
	assert_int_equal(blob_delete(f->s, k), ENT_OK);
	assert_int_equal(blob_delete(f->s, key(f, "dir/x", k)), ENT_OK);
}

static void test_bad_keys(void **state)
{
	struct fixture *f = fx(state);
	/* What an attacker's file name could turn into if a caller ever built keys from it. */
	static const char nul_name[] = {'a', '\0', '.', 'p', 'h', 'p', '\0'};
	const char *bad[] = {
		"../../x",  "..\\",    "..",   ".",   "a/../b", "a/..", "../a", "a..b", "/etc/passwd", "/a",
		".tmp/x",   ".hidden", "a//b", "a/",  "a/./b",  "a/.x", "",     "a\\b", "a b",         "a%00.php",
		"a\\0.php", "é",       "a\nb", "a:b", "a?b",    "a#b",  "a*b",  "~x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		blob_writer *w = (blob_writer *)1;
		uint64_t size;
		unsigned char b[4];
		if (blob_key_valid(bad[i]))
			fail_msg("key '%s' accepted", bad[i]);
		assert_int_equal(blob_write_begin(f->s, bad[i], &w), ENT_EINVAL);
		assert_null(w);
		assert_int_equal(blob_stat(f->s, bad[i], &size), ENT_EINVAL);
		assert_int_equal(blob_read(f->s, bad[i], 0, b, sizeof(b)), ENT_EINVAL);
		assert_int_equal(blob_delete(f->s, bad[i]), ENT_EINVAL);
	}
	assert_false(blob_key_valid(NULL));
	/* The NUL ends the key at "a": ".php" can never reach the storage; and a key that carries
	 * the name's full length (7 bytes, the NUL included) fails the charset rule. */
	assert_int_equal(strlen(nul_name), 1);
	char withnul[16];
	memcpy(withnul, nul_name, sizeof(nul_name));
	withnul[1] = '%'; /* what a URL-encoded NUL leaves behind */
	assert_false(blob_key_valid(withnul));

	char longkey[600];
	memset(longkey, 'k', sizeof(longkey));
	longkey[512] = '\0';
	assert_true(blob_key_valid(longkey));
	longkey[512] = 'k';
	longkey[513] = '\0';
	assert_false(blob_key_valid(longkey));

	const char *good[] = {"a", "a/b/c", "2f1c3a9e-8d7b-4c1e-9a0f-123456789abc", "x.pdf", "a-b_c.d/e.f", "A/B"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!blob_key_valid(good[i]))
			fail_msg("key '%s' refused", good[i]);
}

struct worker {
	blob_store *s;
	char key[256];
	size_t len;
	int seed;
	int rc;
	char sha[65];
};

static void *write_thread(void *arg)
{
	struct worker *wk = arg;
	unsigned char *data = malloc(wk->len);
	if (!data) {
		wk->rc = ENT_ENOMEM;
		return NULL;
	}
	fill(data, wk->len, (uint64_t)wk->seed);
	wk->rc = put(wk->s, wk->key, data, wk->len, 100000, NULL, wk->sha);
	free(data);
	return NULL;
}

static void test_concurrent(void **state)
{
	struct fixture *f = fx(state);
	enum { T = 4 };
	struct worker wk[T];
	pthread_t th[T];
	for (int i = 0; i < T; i++) {
		char name[32];
		snprintf(name, sizeof(name), "conc/%d", i);
		memset(&wk[i], 0, sizeof(wk[i]));
		wk[i].s = f->s;
		key(f, name, wk[i].key);
		wk[i].len = (size_t)(i + 1) * 3 * MIB + (size_t)i; /* 12 MiB: multipart on s3 */
		wk[i].seed = 100 + i;
		assert_int_equal(pthread_create(&th[i], NULL, write_thread, &wk[i]), 0);
	}
	for (int i = 0; i < T; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < T; i++) {
		assert_int_equal(wk[i].rc, ENT_OK);
		unsigned char *data = malloc(wk[i].len);
		assert_non_null(data);
		fill(data, wk[i].len, (uint64_t)wk[i].seed);
		char want[65];
		sha256_hex(data, wk[i].len, want);
		assert_string_equal(wk[i].sha, want);
		check_content(f->s, wk[i].key, data, wk[i].len);
		assert_int_equal(blob_delete(f->s, wk[i].key), ENT_OK);
		free(data);
	}
	if (f->is_file)
		assert_int_equal(count_entries_tmp(f), 0);
}

static void test_failed_writer(void **state)
{
	/* A writer used after it failed refuses more data; commit then fails and frees it. */
	struct fixture *f = fx(state);
	char k[256];
	blob_writer *w = NULL;
	assert_int_equal(blob_write_begin(f->s, key(f, "w/ok", k), &w), ENT_OK);
	assert_int_equal(blob_write(w, "abc", 3), ENT_OK);
	assert_int_equal(blob_write(w, "", 0), ENT_OK);
	assert_int_equal(blob_write_commit(w, NULL, NULL), ENT_OK);
	uint64_t size;
	assert_int_equal(blob_stat(f->s, k, &size), ENT_OK);
	assert_int_equal(size, 3);
	assert_int_equal(blob_delete(f->s, k), ENT_OK);
}

/* ---- file: only ------------------------------------------------------------------------------ */

static void test_file_layout(void **state)
{
	struct fixture *f = fx(state);
	char k[256], p[900];
	unsigned char data[5] = "hello";
	assert_string_equal(blob_kind(f->s), "file");
	assert_int_equal(put(f->s, key(f, "x/y/z.txt", k), data, 5, 5, NULL, NULL), ENT_OK);
	snprintf(p, sizeof(p), "%s/store/%s", f->dir, k);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 5);
	assert_int_equal(st.st_mode & 0777, 0640);
	snprintf(p, sizeof(p), "%s/store/%s/x/y", f->dir, f->prefix);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);
	assert_int_equal(blob_delete(f->s, k), ENT_OK);
}

/* Creates PATH/<prefix> so that something can be planted in it. */
static int mkdir_for(const struct fixture *f)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/store/%s", f->dir, f->prefix);
	return mkdir(p, 0750) == 0 || errno == EEXIST ? 0 : -1;
}

static void test_file_symlink(void **state)
{
	/* A symlink planted at a key is not followed: not found for reads, stat and open_fd. */
	struct fixture *f = fx(state);
	char k[256], p[900];
	assert_int_equal(mkdir_for(f), 0);
	snprintf(p, sizeof(p), "%s/store/%s/link", f->dir, f->prefix);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	key(f, "link", k);
	uint64_t size;
	int fd = -1;
	unsigned char b[8];
	assert_int_equal(blob_stat(f->s, k, &size), ENT_ENOTFOUND);
	assert_int_equal(blob_open_fd(f->s, k, &fd, &size), ENT_ENOTFOUND);
	assert_int_equal(fd, -1);
	assert_int_equal(blob_read(f->s, k, 0, b, sizeof(b)), ENT_ENOTFOUND);
	unlink(p);
}

static void test_file_open_errors(void **state)
{
	(void)state;
	blob_store *s = (blob_store *)1;
	char err[256];
	assert_int_not_equal(blob_open("file:/dev/null/blobs", &s, err, sizeof(err)), ENT_OK);
	assert_null(s);
	assert_non_null(strstr(err, "ENT_BLOB"));
	assert_null(strchr(err, '\n'));
	assert_int_not_equal(blob_open("file:", &s, err, sizeof(err)), ENT_OK);
	assert_non_null(strstr(err, "ENT_BLOB"));
	assert_int_not_equal(blob_open("ftp://x", &s, err, sizeof(err)), ENT_OK);
	assert_non_null(strstr(err, "ENT_BLOB"));
	assert_int_not_equal(blob_open("", &s, err, sizeof(err)), ENT_OK);
	assert_non_null(strstr(err, "ENT_BLOB"));
	/* An S3 endpoint nobody listens on: a prompt one-line failure. */
	assert_int_not_equal(
		blob_open("s3://cours?endpoint=http://127.0.0.1:1&region=us-east-1&access_key=a&secret_key=b", &s, err,
			  sizeof(err)),
		ENT_OK);
	assert_non_null(strstr(err, "ENT_BLOB"));
	assert_null(strchr(err, '\n'));
	assert_int_not_equal(blob_open("s3://Bad_Bucket?endpoint=http://127.0.0.1:1&access_key=a&secret_key=b", &s, err,
				       sizeof(err)),
			     ENT_OK);
	assert_non_null(strstr(err, "ENT_BLOB"));
}

/* ---- s3: only -------------------------------------------------------------------------------- */

/* The value of name= in the query of url into out ("" when absent). */
static void url_param(const char *url, const char *name, char *out, size_t outlen)
{
	out[0] = '\0';
	size_t nl = strlen(name);
	for (const char *p = strchr(url, '?'); p; p = strchr(p + 1, '&')) {
		if (strncmp(p + 1, name, nl) == 0 && p[1 + nl] == '=') {
			const char *v = p + 2 + nl, *e = strchr(v, '&');
			snprintf(out, outlen, "%.*s", (int)(e ? (size_t)(e - v) : strlen(v)), v);
			return;
		}
	}
}

static void test_s3_wrong_secret(void **state)
{
	/* The server checks SigV4 signatures: a wrong secret is refused at blob_open, in one line. */
	(void)state;
	char url[1024], err[256];
	snprintf(url, sizeof(url), "%s&secret_key=not-the-secret", getenv("ENT_TEST_S3_URL"));
	blob_store *s = NULL;
	assert_int_not_equal(blob_open(url, &s, err, sizeof(err)), ENT_OK);
	assert_null(s);
	assert_non_null(strstr(err, "ENT_BLOB"));
	assert_non_null(strstr(err, "403"));
	assert_null(strstr(err, "not-the-secret"));
	assert_null(strchr(err, '\n'));
}

static void test_s3_new_bucket_env_credentials(void **state)
{
	/* A missing bucket is created by blob_open; credentials come from the environment (the
	 * secret through ENT_S3_SECRET_KEY_FILE) when the URL has none. */
	struct fixture *f = fx(state);
	const char *base = getenv("ENT_TEST_S3_URL");
	char access[128], secret[128], endpoint[256], region[64];
	url_param(base, "access_key", access, sizeof(access));
	url_param(base, "secret_key", secret, sizeof(secret));
	url_param(base, "endpoint", endpoint, sizeof(endpoint));
	url_param(base, "region", region, sizeof(region));
	if (!access[0] || !secret[0])
		skip();
	char secret_file[] = "/tmp/ent-blob-secret.XXXXXX";
	int fd = mkstemp(secret_file);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, secret, strlen(secret)), (ssize_t)strlen(secret));
	assert_int_equal(write(fd, "\n", 1), 1);
	close(fd);
	setenv("ENT_S3_ACCESS_KEY", access, 1);
	setenv("ENT_S3_SECRET_KEY_FILE", secret_file, 1);

	char url[1024], err[256];
	snprintf(url, sizeof(url), "s3://ent-test-%s?endpoint=%s&region=%s", f->prefix, endpoint,
		 region[0] ? region : "us-east-1");
	blob_store *s = NULL;
	int rc = blob_open(url, &s, err, sizeof(err));
	unsetenv("ENT_S3_ACCESS_KEY");
	unsetenv("ENT_S3_SECRET_KEY_FILE");
	unlink(secret_file);
	if (rc != ENT_OK)
		fail_msg("blob_open(%s): %s", url, err);
	assert_string_equal(blob_kind(s), "s3");
	unsigned char data[64];
	fill(data, sizeof(data), 9);
	assert_int_equal(put(s, "k", data, sizeof(data), 64, NULL, NULL), ENT_OK);
	check_content(s, "k", data, sizeof(data));
	assert_int_equal(blob_delete(s, "k"), ENT_OK);
	blob_close(s);

	/* Without credentials anywhere: refused, naming ENT_BLOB. */
	assert_int_not_equal(blob_open(url, &s, err, sizeof(err)), ENT_OK);
	assert_non_null(strstr(err, "ENT_BLOB"));
}

static void test_s3_idle_connection(void **state)
{
	/* The thread's kept connection outlives the server's keep-alive (s3rver: 5 s): the next
	 * requests, an upload with a body among them, must still go through. */
	struct fixture *f = fx(state);
	char k[256];
	unsigned char data[3000];
	fill(data, sizeof(data), 11);
	assert_int_equal(put(f->s, key(f, "idle", k), data, sizeof(data), 1000, NULL, NULL), ENT_OK);
	sleep(6);
	assert_int_equal(put(f->s, k, data, sizeof(data), 1000, NULL, NULL), ENT_OK);
	check_content(f->s, k, data, sizeof(data));
	assert_int_equal(blob_delete(f->s, k), ENT_OK);
}

int main(void)
{
	const struct CMUnitTest common[] = {
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_zero),
		cmocka_unit_test(test_8mib),
		cmocka_unit_test(test_20mib),
		cmocka_unit_test(test_big_single_write),
		cmocka_unit_test(test_overwrite),
		cmocka_unit_test(test_abort_small),
		cmocka_unit_test(test_abort_multipart),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_failed_writer),
	};
	const struct CMUnitTest file_only[] = {
		cmocka_unit_test(test_file_layout),
		cmocka_unit_test(test_file_symlink),
		cmocka_unit_test(test_file_open_errors),
	};
	int failed = 0;
	failed += _cmocka_run_group_tests("blob_file", common, sizeof(common) / sizeof(common[0]), setup_file,
					  teardown_file);
	failed += _cmocka_run_group_tests("blob_file_only", file_only, sizeof(file_only) / sizeof(file_only[0]),
					  setup_file, teardown_file);
	const char *s3 = getenv("ENT_TEST_S3_URL");
	const struct CMUnitTest s3_only[] = {
		cmocka_unit_test(test_s3_wrong_secret),
		cmocka_unit_test(test_s3_new_bucket_env_credentials),
		cmocka_unit_test(test_s3_idle_connection),
	};
	if (s3 && *s3) {
		failed += _cmocka_run_group_tests("blob_s3", common, sizeof(common) / sizeof(common[0]), setup_s3,
						  teardown_s3);
		failed += _cmocka_run_group_tests("blob_s3_only", s3_only, sizeof(s3_only) / sizeof(s3_only[0]),
						  setup_s3, teardown_s3);
	} else
		fprintf(stderr, "ENT_TEST_S3_URL not set: s3 cases skipped\n");
	return failed ? 1 : 0;
}
