/*
 * fuzz_form.c - libFuzzer target for application/x-www-form-urlencoded bodies (token endpoint,
 * login form).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena *a = arena_new(0);
	struct form f;
	const char *why;
	if (form_parse(a, (const char *)data, size, &f, &why) == 0) {
		for (size_t i = 0; i < f.n; i++) {
			const char *v = form_get(&f, f.names[i]);
			if (!v || strlen(form_encode(a, v)) > 3 * strlen(v))
				__builtin_trap();
		}
	}
	arena_free(a);
	return 0;
}
