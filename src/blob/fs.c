/*
 * fs.c - the `file:PATH` blob backend: one regular file per object under PATH.
 *
 * An object lives at PATH/KEY (KEY is valid, see blob_key_valid(), so it never leaves PATH);
 * missing parent directories are created 0750. A write goes to PATH/.tmp/<random hex> (O_EXCL,
 * 0640), and commit fsyncs the file, renames it into place and fsyncs the directory that
 * received it, so after a crash an object is either absent or complete, never partial. Abort (or
 * a failed commit) unlinks the temporary file. Keys cannot start with '.', so ".tmp" never
 * collides with an object. A process killed in the middle of a write leaves its temporary file:
 * opening the store removes the temporary files nobody has written to for two hours. A live upload
 * writes far more often (the server closes a connection idle for ENT_IDLE_TIMEOUT, an hour at
 * most), so another process's upload in progress on the same PATH is never touched.
 *
 * Reads open with O_NOFOLLOW and refuse anything but a regular file: a symlink or directory at
 * a key is "not found". The store itself is only a path: nothing is shared between threads.
 * This file must never follow a key anywhere but under PATH, and never publish a partial file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "core/err.h"
#include "core/util.h"

struct fs {
	char *root; /* absolute or as given, no trailing '/' */
};

struct fs_writer {
	struct fs *fs;
	int fd;
	char *tmp;   /* PATH/.tmp/<hex> */
	char *final; /* PATH/KEY */
};

static char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);
	if (!p)
		abort();
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

static int errno_err(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case ELOOP: return ENT_ENOTFOUND;
	case ENOSPC:
	case EDQUOT: return ENT_ETOOBIG;
	case ENOMEM: return ENT_ENOMEM;
	default: return ENT_EIO;
	}
}

static int fsync_parent(const char *path);

/*
 * Creates the directories of path up to (not including) its last component, looking from offset
 * `from` on. A directory it creates is made durable (its parent is fsynced), or an object
 * renamed into it could vanish with it after a crash.
 */
static int mkdir_parents(char *path, size_t from)
{
	for (char *p = path + from; (p = strchr(p, '/')) != NULL; p++) {
		if (p == path)
			continue; /* the root "/" of an absolute path */
		*p = '\0';
		int r = mkdir(path, 0750);
		int e = errno;
		int rc = r == 0 ? fsync_parent(path) : ENT_OK;
		*p = '/';
		if (r != 0 && e != EEXIST)
			return errno_err(e);
		if (rc != ENT_OK)
			return rc;
	}
	return ENT_OK;
}

/* fsync of the directory holding path, so that a rename or unlink in it survives a crash. */
static int fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (!dir)
		abort();
	int fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return ENT_EIO;
	int rc = fsync(fd) == 0 ? ENT_OK : ENT_EIO;
	close(fd);
	return rc;
}

/* Temporary files older than this were left by a process that died writing them. */
#define TMP_STALE_S 7200 /* more than ENT_IDLE_TIMEOUT's maximum */

/* Removes the regular files of dir (PATH/.tmp) last modified more than TMP_STALE_S ago. */
static void sweep_tmp(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	time_t cutoff = time(NULL) - TMP_STALE_S;
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.' || fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISREG(st.st_mode) && st.st_mtime < cutoff)
			unlinkat(dfd, e->d_name, 0);
	}
	closedir(d); /* closes dfd */
}

static void *fs_open(const char *url, char *err, size_t errlen)
{
	const char *path = url + 5; /* "file:" */
	if (strncmp(path, "//", 2) == 0)
		path += 2; /* file:///srv/ent/blobs */
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n == 0) {
		snprintf(err, errlen, "ENT_BLOB: file: needs a directory (file:PATH)");
		return NULL;
	}
	char *root = strndup(path, n);
	if (!root)
		abort();
	/* PATH and its parents (mkdir -p), then PATH/.tmp. */
	char *tmp = path_join(root, ".tmp");
	struct stat st;
	errno = 0;
	int rc = mkdir_parents(tmp, 1);
	if (rc == ENT_OK && mkdir(tmp, 0750) != 0 && errno != EEXIST)
		rc = errno_err(errno);
	if (rc == ENT_OK && stat(tmp, &st) == 0 && !S_ISDIR(st.st_mode))
		errno = ENOTDIR;
	else if (rc == ENT_OK && stat(tmp, &st) == 0 && access(tmp, W_OK | X_OK) == 0)
		errno = 0;
	else if (errno == 0 || errno == EEXIST)
		errno = EACCES;
	if (rc != ENT_OK || errno != 0) {
		snprintf(err, errlen, "ENT_BLOB: cannot use directory %s: %s", root, strerror(errno ? errno : EIO));
		free(tmp);
		free(root);
		return NULL;
	}
	sweep_tmp(tmp);
	free(tmp);
	struct fs *fs = calloc(1, sizeof(*fs));
	if (!fs)
		abort();
	fs->root = root;
	return fs;
}

static void fs_close(void *impl)
{
	struct fs *fs = impl;
	if (!fs)
		return;
	free(fs->root);
	free(fs);
}

static int fs_write_begin(void *impl, const char *key, void **out)
{
	struct fs *fs = impl;
	char name[5 + 32 + 1] = ".tmp/";
	util_random_hex(name + 5, 16);
	struct fs_writer *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	w->fs = fs;
	w->tmp = path_join(fs->root, name);
	w->final = path_join(fs->root, key);
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (w->fd < 0 && errno == ENOENT) {
		/* Someone removed PATH/.tmp since blob_open(): recreate it once. */
		char *dir = path_join(fs->root, ".tmp");
		if (mkdir(dir, 0750) == 0 || errno == EEXIST)
			w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		free(dir);
	}
	if (w->fd < 0) {
		int rc = errno_err(errno);
		free(w->tmp);
		free(w->final);
		free(w);
		return rc == ENT_ENOTFOUND ? ENT_EIO : rc;
	}
	*out = w;
	return ENT_OK;
}

static int fs_write(void *wp, const void *data, size_t len)
{
	struct fs_writer *w = wp;
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(w->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int rc = errno_err(errno);
			return rc == ENT_ENOTFOUND ? ENT_EIO : rc;
		}
		p += n;
		len -= (size_t)n;
	}
	return ENT_OK;
}

static void fs_writer_free(struct fs_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->tmp);
	free(w->final);
	free(w);
}

static void fs_write_abort(void *wp)
{
	struct fs_writer *w = wp;
	if (!w)
		return;
	unlink(w->tmp);
	fs_writer_free(w);
}

static int fs_write_commit(void *wp, const char *sha256_hex)
{
	struct fs_writer *w = wp;
	(void)sha256_hex;
	int rc = ENT_OK;
	if (fsync(w->fd) != 0)
		rc = ENT_EIO;
	if (rc == ENT_OK) {
		int fd = w->fd;
		w->fd = -1;
		if (close(fd) != 0)
			rc = ENT_EIO;
	}
	if (rc == ENT_OK)
		rc = mkdir_parents(w->final, strlen(w->fs->root) + 1);
	if (rc == ENT_OK && rename(w->tmp, w->final) != 0) {
		/* A concurrent delete may have removed an emptied parent directory: retry once. */
		if (errno == ENOENT && mkdir_parents(w->final, strlen(w->fs->root) + 1) == ENT_OK &&
		    rename(w->tmp, w->final) == 0)
			rc = ENT_OK;
		else
			rc = errno == EISDIR ? ENT_ECONFLICT : ENT_EIO;
	}
	if (rc == ENT_OK) {
		rc = fsync_parent(w->final);
		free(w->tmp);
		w->tmp = NULL;
		fs_writer_free(w);
		return rc;
	}
	fs_write_abort(w);
	return rc;
}

/* Opens PATH/KEY read-only if it is a regular file. */
static int fs_open_fd(void *impl, const char *key, int *fd, uint64_t *size)
{
	struct fs *fs = impl;
	char *path = path_join(fs->root, key);
	int f = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	int e = errno;
	free(path);
	if (f < 0)
		return errno_err(e);
	struct stat st;
	if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(f);
		return ENT_ENOTFOUND;
	}
	/* O_NONBLOCK only kept a FIFO planted at a key from blocking open(); reads are normal. */
	int fl = fcntl(f, F_GETFL);
	if (fl >= 0)
		fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
	*fd = f;
	*size = (uint64_t)st.st_size;
	return ENT_OK;
}

static int fs_stat(void *impl, const char *key, uint64_t *size)
{
	struct fs *fs = impl;
	char *path = path_join(fs->root, key);
	struct stat st;
	int r = lstat(path, &st);
	int e = errno;
	free(path);
	if (r != 0)
		return errno_err(e);
	if (!S_ISREG(st.st_mode))
		return ENT_ENOTFOUND;
	*size = (uint64_t)st.st_size;
	return ENT_OK;
}

static long fs_read(void *impl, const char *key, uint64_t offset, void *buf, size_t len)
{
	int fd;
	uint64_t size;
	int rc = fs_open_fd(impl, key, &fd, &size);
	if (rc != ENT_OK)
		return rc;
	if (offset > (uint64_t)INT64_MAX) {
		close(fd);
		return 0;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(offset + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return ENT_EIO;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (long)got;
}

static int fs_delete(void *impl, const char *key)
{
	struct fs *fs = impl;
	char *path = path_join(fs->root, key);
	int rc = ENT_OK;
	if (unlink(path) == 0)
		rc = fsync_parent(path);
	else if (errno != ENOENT && errno != ENOTDIR && errno != EISDIR)
		rc = ENT_EIO; /* EISDIR: a directory is not an object, so the object is absent */
	free(path);
	return rc;
}

const struct blob_backend blob_fs_backend = {
	.name = "file",
	.open = fs_open,
	.close = fs_close,
	.write_begin = fs_write_begin,
	.write = fs_write,
	.write_commit = fs_write_commit,
	.write_abort = fs_write_abort,
	.stat = fs_stat,
	.open_fd = fs_open_fd,
	.read = fs_read,
	.del = fs_delete,
};
