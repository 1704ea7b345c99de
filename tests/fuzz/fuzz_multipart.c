/*
 * fuzz_multipart.c - libFuzzer target for the streaming multipart/form-data parser (uploads).
 * The first input byte picks how the rest is cut into pieces, so that boundaries split across
 * pieces are exercised as the network would split them.
 */
#include <stddef.h>
#include <stdint.h>

#include "services/fichiers/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_begin(void *ud, const struct mp_part *part)
{
	(void)ud;
	(void)part;
	return 0;
}

static int on_data(void *ud, const char *data, size_t len)
{
	size_t *total = ud;
	if (len && !data)
		__builtin_trap();
	*total += len;
	return 0;
}

static int on_end(void *ud)
{
	(void)ud;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)(data[0] % 17) + 1;
	data++;
	size--;
	arena *a = arena_new(0);
	const struct mp_callbacks cb = {on_begin, on_data, on_end};
	size_t total = 0;
	mp_parser *p = mp_new(a, "XyZ", &cb, &total);
	for (size_t off = 0; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		if (mp_feed(p, (const char *)data + off, n) != 0)
			break;
	}
	if (total > size)
		__builtin_trap();
	mp_header_param(a, (const char *)"form-data; name=\"f\"; filename*=UTF-8''caf%C3%A9.pdf", "filename");
	arena_free(a);
	return 0;
}
