/*
 * static.h - serving files from a directory (the portal, the /docs assets).
 *
 * Only regular files under the root are served; the relative path is checked segment by segment
 * ("..", empty and hidden segments refused) and opened with O_NOFOLLOW. A precompressed "NAME.gz"
 * is sent instead when the client accepts gzip. Files go out with sendfile.
 */
#ifndef ENT_STATIC_H
#define ENT_STATIC_H

#include "http.h"

/*
 * Answers req with root/rel. cache_control is sent as is (e.g. "no-cache" or
 * "public, max-age=31536000, immutable"). Returns 0 when a file was sent, ENT_ENOTFOUND when
 * there is no such file (nothing answered: the caller decides what a miss means).
 */
int static_send(http_req *req, const char *root, const char *rel, const char *cache_control);

/* The Content-Type for a file name, from its extension. */
const char *static_content_type(const char *name);

#endif
