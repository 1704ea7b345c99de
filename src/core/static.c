/* static.c - files from a directory, safely. */
#include "static.h"

#include "err.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	const char *ext, *type;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".json", "application/json"},
	{".map", "application/json"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".jpg", "image/jpeg"},
	{".jpeg", "image/jpeg"},
	{".gif", "image/gif"},
	{".webp", "image/webp"},
	{".ico", "image/x-icon"},
	{".woff2", "font/woff2"},
	{".woff", "font/woff"},
	{".txt", "text/plain; charset=utf-8"},
	{".webmanifest", "application/manifest+json"},
};

const char *static_content_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

static int safe_rel(const char *rel)
{
	if (!*rel || strlen(rel) > 1024)
		return 0;
	for (const char *p = rel; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || p[0] == '.')
			return 0; /* empty segment, "..", ".", hidden files */
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == '\\')
				return 0;
		p += n;
		if (*p == '/')
			p++;
	}
	return 1;
}

static int open_regular(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

int static_send(http_req *req, const char *root, const char *rel, const char *cache_control)
{
	if (!safe_rel(rel))
		return ENT_ENOTFOUND;
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, rel) >= sizeof(path))
		return ENT_ENOTFOUND;
	struct stat st;
	int fd = -1;
	const char *ae = http_header(req, "Accept-Encoding");
	int gz = 0;
	if (ae && strstr(ae, "gzip")) {
		char gzpath[4100];
		snprintf(gzpath, sizeof(gzpath), "%s.gz", path);
		fd = open_regular(gzpath, &st);
		gz = fd >= 0;
	}
	if (fd < 0)
		fd = open_regular(path, &st);
	if (fd < 0)
		return ENT_ENOTFOUND;
	char etag[64];
	snprintf(etag, sizeof(etag), "\"%llx-%llx%s\"", (unsigned long long)st.st_mtime, (unsigned long long)st.st_size,
		 gz ? "-gz" : "");
	http_set_header(req, "Cache-Control", cache_control);
	http_set_header(req, "ETag", etag);
	http_set_header(req, "Vary", "Accept-Encoding");
	const char *inm = http_header(req, "If-None-Match");
	if (inm && strcmp(inm, etag) == 0) {
		close(fd);
		http_reply_empty(req, 304);
		return ENT_OK;
	}
	if (gz)
		http_set_header(req, "Content-Encoding", "gzip");
	http_reply_fd(req, 200, static_content_type(rel), fd, 0, (uint64_t)st.st_size);
	return ENT_OK;
}
