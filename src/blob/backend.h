/*
 * backend.h - what a blob backend implements (private to src/blob/).
 *
 * blob.c owns the generic parts: choosing the backend from the URL, key validation, and the
 * writer's running size and SHA-256, so every backend reports the same digest for the same bytes.
 * A backend (fs.c, s3.c) fills in one `struct blob_backend` table and works on its own opaque
 * pointers, as store/backend.h does for the database. Keys reaching a backend are already valid.
 */
#ifndef ENT_BLOB_BACKEND_H
#define ENT_BLOB_BACKEND_H

#include "blob.h"

struct blob_backend {
	const char *name;
	/* Opens the store named by url (the whole ENT_BLOB value). NULL on failure, reason in err. */
	void *(*open)(const char *url, char *err, size_t errlen);
	void (*close)(void *impl);
	/* A writer for key, or an ent_err. */
	int (*write_begin)(void *impl, const char *key, void **w);
	int (*write)(void *w, const void *data, size_t len);
	/*
	 * Publishes the object and frees the writer, whatever the outcome. sha256_hex is the digest
	 * of everything written (s3 sends it as x-amz-content-sha256 for a single PUT).
	 */
	int (*write_commit)(void *w, const char *sha256_hex);
	void (*write_abort)(void *w);
	int (*stat)(void *impl, const char *key, uint64_t *size);
	/* NULL when the backend has no file descriptors to give (blob_open_fd answers ENT_EINVAL). */
	int (*open_fd)(void *impl, const char *key, int *fd, uint64_t *size);
	long (*read)(void *impl, const char *key, uint64_t offset, void *buf, size_t len);
	int (*del)(void *impl, const char *key);
};

extern const struct blob_backend blob_fs_backend;
extern const struct blob_backend blob_s3_backend;

#endif
