/*
 * fuzz_cursor.c - libFuzzer target for page cursors (core/page.h): any ?cursor= text is decoded
 * for lists of 1 to 4 keys, and the keys of a decoded cursor must encode and decode back; the key
 * values of the input (split at 0x1F), when they are text as page.h requires, must survive an
 * encode/decode round trip.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/page.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	arena *a = arena_new(0);
	char *s = arena_strndup(a, (const char *)data, size);
	for (int n = 1; n <= PAGE_MAX_KEYS; n++) {
		const char *keys[PAGE_MAX_KEYS] = {0};
		if (page_cursor_decode(a, "users", s, keys, n) == 0) {
			for (int i = 0; i < n; i++)
				if (!keys[i])
					__builtin_trap();
			const char *again = page_cursor_encode(a, "users", keys, n);
			const char *back[PAGE_MAX_KEYS] = {0};
			if (page_cursor_decode(a, "users", again, back, n) != 0)
				__builtin_trap();
			for (int i = 0; i < n; i++)
				if (strcmp(keys[i], back[i]) != 0)
					__builtin_trap();
			/* Another list's cursor is refused. */
			if (page_cursor_decode(a, "notes", s, back, n) == 0)
				__builtin_trap();
		}
	}
	/* Round trip of the input's own values (text without control characters, as page.h says). */
	const char *vals[PAGE_MAX_KEYS];
	int nv = 0;
	size_t total = 0;
	int clean = 1;
	for (char *p = s, *start = s; nv < PAGE_MAX_KEYS; p++) {
		if (*p == '\x1f' || *p == '\0') {
			int last = *p == '\0';
			*p = '\0';
			vals[nv++] = start;
			total += strlen(start);
			start = p + 1;
			if (last)
				break;
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			clean = 0;
		}
	}
	/* page.h: key values are text (UTF-8, no control characters), as the database gives them. */
	for (int i = 0; i < nv; i++)
		if (!util_valid_text(vals[i]))
			clean = 0;
	if (clean && nv > 0 && total <= 256) {
		const char *c = page_cursor_encode(a, "users", vals, nv);
		const char *back[PAGE_MAX_KEYS] = {0};
		if (!c || page_cursor_decode(a, "users", c, back, nv) != 0)
			__builtin_trap();
		for (int i = 0; i < nv; i++)
			if (strcmp(vals[i], back[i]) != 0)
				__builtin_trap();
	}
	arena_free(a);
	return 0;
}
