/*
 * arena.c - a bump allocator over a list of blocks.
 *
 * The arena header lives in its first block. Small allocations bump a pointer in the current
 * block; when it is full a new block of twice the size (or of the request's size, if larger)
 * is chained in. Nothing is freed individually.
 */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN _Alignof(max_align_t)
#define DEFAULT_FIRST 4096

struct block {
	struct block *next;
	size_t size, used;
	_Alignas(max_align_t) unsigned char data[];
};

struct cleanup {
	struct cleanup *next;
	void (*fn)(void *);
	void *arg;
};

struct arena {
	struct block *head;
	struct cleanup *cleanups;
	size_t total;
};

static struct block *block_new(size_t size)
{
	struct block *b = malloc(sizeof(*b) + size);
	if (!b)
		abort();
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

arena *arena_new(size_t first)
{
	if (first == 0)
		first = DEFAULT_FIRST;
	struct block *b = block_new(first + sizeof(arena) + ALIGN);
	arena *a = (arena *)b->data;
	b->used = (sizeof(arena) + ALIGN - 1) & ~(ALIGN - 1);
	a->head = b;
	a->cleanups = NULL;
	a->total = 0;
	return a;
}

void arena_free(arena *a)
{
	if (!a)
		return;
	for (struct cleanup *c = a->cleanups; c; c = c->next)
		c->fn(c->arg);
	/* The arena header is inside the last block of the chain: read the chain before freeing. */
	struct block *b = a->head;
	while (b) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
}

void *arena_alloc(arena *a, size_t size)
{
	size_t need = (size + ALIGN - 1) & ~(ALIGN - 1);
	if (need < size)
		abort();
	struct block *b = a->head;
	if (b->size - b->used < need) {
		size_t next = b->size * 2;
		if (next < need)
			next = need;
		struct block *nb = block_new(next);
		nb->next = b;
		a->head = nb;
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += need;
	a->total += size;
	return p;
}

void *arena_calloc(arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		abort();
	void *p = arena_alloc(a, n * size);
	memset(p, 0, n * size);
	return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

void *arena_grow(arena *a, void *arr, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return arr;
	size_t ncap = *cap ? *cap * 2 : 16;
	if (ncap < *cap || ncap > SIZE_MAX / size)
		abort();
	void *bigger = arena_alloc(a, ncap * size);
	if (n)
		memcpy(bigger, arr, n * size);
	*cap = ncap;
	return bigger;
}

char *arena_printf(arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	char *p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void arena_on_free(arena *a, void (*fn)(void *), void *arg)
{
	struct cleanup *c = arena_alloc(a, sizeof(*c));
	c->fn = fn;
	c->arg = arg;
	c->next = a->cleanups;
	a->cleanups = c;
}

size_t arena_used(const arena *a) { return a->total; }
