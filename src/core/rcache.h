/*
 * rcache.h - versioned answers: a bounded cache of rendered GET answers that cannot be stale, and
 * strong ETags with 304 Not Modified.
 *
 * Versions. Every input of a cached answer belongs to a scope ("u:<user>", "k:<class>",
 * "c:<course>", "n:periods" ...). The database itself records a change of a scope: triggers on
 * the owning service's tables (each service's migrations, on its own tables) insert a row into
 * the core's `core_changes` table in the same transaction as the write, so no write path, present
 * or future, can change an input without changing its scope's version. A scope's version is the
 * sum of its rows' weights: it only grows, and grows at the commit of every change whatever the
 * order transactions commit in (a counter bumped by UPDATE would serialise writers on PostgreSQL
 * and deadlock when two lock the same scopes in different orders). A purge folds a scope's rows
 * into one of the same total weight.
 *
 * The cache. An answer is rendered inside one read snapshot (rcache_begin() opens it); while it
 * renders, the handler names the scopes it read (rcache_dep()) and, when the answer depends on
 * time, the instant it stops being right (rcache_until(): a grade's publication time). When the
 * answer is sent, the versions of those scopes are read in the same snapshot and stored with the
 * body (and the Link header of a list's page; its gzip form is added on the first read by a client
 * that takes gzip). A later read of the same key reads the current versions (one indexed
 * query) and sends the stored bytes only when every version is the same and the instant has not
 * come. Several processes each keep their own cache; the versions in the shared database keep
 * them all right.
 *
 * HTTP. Every answer served through here carries a strong ETag (a digest of its bytes) and
 * `Cache-Control: private, no-cache`; a request whose If-None-Match names it gets 304 with no body,
 * before any rendering when the cache holds the answer.
 *
 * Authorisation is never cached: the handler checks who may read before rcache_begin(), and the
 * key holds the caller's id.
 */
#ifndef ENT_RCACHE_H
#define ENT_RCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "../store/db.h"

/* Sizes the cache (bytes; 0 disables storing, ETags and 304 stay). Call once at start. */
void rcache_init(size_t max_bytes);
void rcache_free(void);
/* Starts the purge of the change table (every 30 s, in a thread); rcache_stop() stops it and frees. */
void rcache_start(void);
void rcache_stop(void);

/*
 * Serves the answer of key (the caller's id, the route, the arguments that change the answer)
 * from the cache when it is still right, or 304. Returns 1 when the request is answered; the
 * handler returns. Returns 0 otherwise: a read snapshot is open on c and the answer the handler
 * sends next is stored (when 200); the handler names its scopes with rcache_dep() and ends with
 * rcache_end(), whatever happened.
 */
int rcache_begin(http_req *req, db_conn *c, const char *key);
/* A scope the answer being rendered read ("c:<course id>"). Copied. */
void rcache_dep(http_req *req, const char *kind, const char *id);
/* The answer stops being right at this instant (RFC 3339 UTC text, as stored); the earliest wins. */
void rcache_until(http_req *req, const char *instant);
/* Whether the answer being rendered is to be stored (the handler may skip what only the cache needs). */
int rcache_collecting(http_req *req);
/* Closes the read snapshot opened by rcache_begin(). */
void rcache_end(http_req *req, db_conn *c);

/* The scopes' current versions (0 for a scope never changed), in the order given. 0 or an ent_err. */
int rcache_versions(db_conn *c, const char *const *scopes, size_t n, int64_t *out);

/* Folds each scope's change rows into one (same total). Called by a periodic job. 0 or an ent_err. */
int rcache_purge(db_conn *c);

struct rcache_stats {
	uint64_t hits, misses, stores, evictions, not_modified;
	size_t bytes, entries, max_bytes;
};
void rcache_stats(struct rcache_stats *out);

/* The core's table of changes, for the core service's migrations. */
extern const char rcache_schema_v1[];
extern const char rcache_schema_v1_pg[];

#endif
