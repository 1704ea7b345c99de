/*
 * arena.h - per-request memory.
 *
 * Everything a request allocates comes from its arena and is released at once when the request
 * ends (as h2o's req->pool or nginx's ngx_pool_t). What must outlive the request is copied out
 * explicitly. Cleanup callbacks run, last registered first, when the arena is freed, so that
 * non-arena resources (a jansson tree, a file descriptor) can be tied to the request's lifetime.
 * Allocation failure aborts: the server never runs on after running out of memory.
 */
#ifndef ENT_ARENA_H
#define ENT_ARENA_H

#include <stddef.h>

typedef struct arena arena;

/* A new arena whose first block holds `first` bytes (0: a default of 4 KiB). Never NULL. */
arena *arena_new(size_t first);
/* Runs the cleanups and frees every block. Accepts NULL. */
void arena_free(arena *a);

/* Memory aligned for any type, valid until arena_free(). Zeroed by arena_calloc() only. */
void *arena_alloc(arena *a, size_t size);
void *arena_calloc(arena *a, size_t n, size_t size);
char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * An array of n elements of `size` bytes with room for *cap: returned as it is while n < *cap,
 * else copied into a block twice as large (16 elements at first) and *cap updated. The old block
 * stays in the arena until it is freed. For arrays filled one element at a time.
 */
void *arena_grow(arena *a, void *arr, size_t n, size_t *cap, size_t size);

/* Registers fn(arg) to run when the arena is freed. */
void arena_on_free(arena *a, void (*fn)(void *), void *arg);

/* Bytes handed out so far (for tests and metrics). */
size_t arena_used(const arena *a);

#endif
