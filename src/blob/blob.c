/*
 * blob.c - the public blob API (blob.h): backend dispatch, key validation, writer bookkeeping.
 *
 * blob_open() picks the backend from the scheme of ENT_BLOB ("file:" or "s3://") and keeps its
 * table; every other call validates the key here, once, before a backend sees it, so no backend
 * can be reached with a key that could leave its root or change an S3 path. A writer wraps the
 * backend's writer and keeps the size and a SHA-256 (OpenSSL EVP) of every byte written, which
 * blob_write_commit() reports; a writer that saw an error refuses further writes and can only be
 * aborted.
 *
 * This file must never touch storage itself, and never let a key through that blob_key_valid()
 * refuses.
 */
#include "blob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "backend.h"
#include "core/err.h"

#define BLOB_KEY_MAX 512

struct blob_store {
	const struct blob_backend *be;
	void *impl;
};

struct blob_writer {
	const struct blob_backend *be;
	void *impl;
	EVP_MD_CTX *md;
	uint64_t size;
	int failed;
};

int blob_open(const char *url, blob_store **out, char *err, size_t errlen)
{
	const struct blob_backend *be = NULL;
	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (!url || !*url) {
		snprintf(err, errlen, "ENT_BLOB is empty (expected file:PATH or s3://BUCKET?endpoint=URL)");
		return ENT_EINVAL;
	}
	if (strncmp(url, "file:", 5) == 0)
		be = &blob_fs_backend;
	else if (strncmp(url, "s3://", 5) == 0)
		be = &blob_s3_backend;
	else {
		snprintf(err, errlen,
			 "ENT_BLOB: unknown scheme in '%.64s' (expected file:PATH or s3://BUCKET?endpoint=URL)", url);
		return ENT_EINVAL;
	}
	void *impl = be->open(url, err, errlen);
	if (!impl) {
		if (errlen > 0 && err[0] == '\0')
			snprintf(err, errlen, "ENT_BLOB: cannot open the %s store", be->name);
		return ENT_EUNAVAIL;
	}
	blob_store *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->be = be;
	s->impl = impl;
	*out = s;
	return ENT_OK;
}

void blob_close(blob_store *s)
{
	if (!s)
		return;
	s->be->close(s->impl);
	free(s);
}

const char *blob_kind(const blob_store *s) { return s->be->name; }

int blob_key_valid(const char *key)
{
	if (!key)
		return 0;
	size_t n = strnlen(key, BLOB_KEY_MAX + 1);
	if (n == 0 || n > BLOB_KEY_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = key[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
			 c == '_' || c == '/' || c == '-';
		if (!ok)
			return 0;
		/* Every path component is non-empty and starts with neither '.' nor '/': this refuses
		 * a leading "/" or ".", "//", "/./", "/../", a trailing "/" and PATH/.tmp lookalikes. */
		if ((i == 0 || key[i - 1] == '/') && (c == '.' || c == '/'))
			return 0;
	}
	if (key[n - 1] == '/' || strstr(key, ".."))
		return 0;
	return 1;
}

int blob_write_begin(blob_store *s, const char *key, blob_writer **out)
{
	*out = NULL;
	if (!blob_key_valid(key))
		return ENT_EINVAL;
	blob_writer *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	w->be = s->be;
	w->md = EVP_MD_CTX_new();
	if (!w->md)
		abort();
	if (EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(w->md);
		free(w);
		return ENT_EINTERNAL;
	}
	int rc = s->be->write_begin(s->impl, key, &w->impl);
	if (rc != ENT_OK) {
		EVP_MD_CTX_free(w->md);
		free(w);
		return rc;
	}
	*out = w;
	return ENT_OK;
}

int blob_write(blob_writer *w, const void *data, size_t len)
{
	if (w->failed)
		return ENT_EINVAL;
	if (len == 0)
		return ENT_OK;
	if (EVP_DigestUpdate(w->md, data, len) != 1) {
		w->failed = 1;
		return ENT_EINTERNAL;
	}
	int rc = w->be->write(w->impl, data, len);
	if (rc != ENT_OK) {
		w->failed = 1;
		return rc;
	}
	w->size += len;
	return ENT_OK;
}

static void writer_free(blob_writer *w)
{
	EVP_MD_CTX_free(w->md);
	free(w);
}

int blob_write_commit(blob_writer *w, uint64_t *size, char *sha256_hex)
{
	if (w->failed) {
		blob_write_abort(w);
		return ENT_EINVAL;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (EVP_DigestFinal_ex(w->md, md, &mdlen) != 1 || mdlen != 32) {
		blob_write_abort(w);
		return ENT_EINTERNAL;
	}
	static const char hex[] = "0123456789abcdef";
	char h[65];
	for (unsigned i = 0; i < 32; i++) {
		h[2 * i] = hex[md[i] >> 4];
		h[2 * i + 1] = hex[md[i] & 15];
	}
	h[64] = '\0';
	uint64_t n = w->size;
	int rc = w->be->write_commit(w->impl, h); /* frees the backend's writer */
	writer_free(w);
	if (rc != ENT_OK)
		return rc;
	if (size)
		*size = n;
	if (sha256_hex)
		memcpy(sha256_hex, h, 65);
	return ENT_OK;
}

void blob_write_abort(blob_writer *w)
{
	if (!w)
		return;
	w->be->write_abort(w->impl);
	writer_free(w);
}

int blob_stat(blob_store *s, const char *key, uint64_t *size)
{
	if (!blob_key_valid(key))
		return ENT_EINVAL;
	uint64_t n = 0;
	int rc = s->be->stat(s->impl, key, &n);
	if (rc == ENT_OK && size)
		*size = n;
	return rc;
}

int blob_open_fd(blob_store *s, const char *key, int *fd, uint64_t *size)
{
	*fd = -1;
	if (!blob_key_valid(key) || !s->be->open_fd)
		return ENT_EINVAL;
	uint64_t n = 0;
	int rc = s->be->open_fd(s->impl, key, fd, &n);
	if (rc == ENT_OK && size)
		*size = n;
	return rc;
}

long blob_read(blob_store *s, const char *key, uint64_t offset, void *buf, size_t len)
{
	if (!blob_key_valid(key))
		return ENT_EINVAL;
	if (len == 0 || offset > (uint64_t)INT64_MAX)
		return 0; /* no object is that large; offset + len cannot overflow below */
	if (len > (size_t)1 << 30)
		len = (size_t)1 << 30; /* the result must fit a long on every platform */
	return s->be->read(s->impl, key, offset, buf, len);
}

int blob_delete(blob_store *s, const char *key)
{
	if (!blob_key_valid(key))
		return ENT_EINVAL;
	return s->be->del(s->impl, key);
}
