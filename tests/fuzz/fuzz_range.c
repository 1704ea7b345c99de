/*
 * fuzz_range.c - libFuzzer target for the Range header parser of file downloads (parse_range,
 * static in services/fichiers/fichiers.c, reached by including that file, as unit tests do).
 * The input is 8 bytes of file size then the header. A usable range lies inside the file.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/services/fichiers/fichiers.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8 || size > 4096)
		return 0;
	uint64_t fsize;
	memcpy(&fsize, data, 8);
	if (data[0] & 1)
		fsize %= 1000; /* small files too, where the edge cases are */
	char h[4097];
	memcpy(h, data + 8, size - 8);
	h[size - 8] = '\0';
	uint64_t from = 0, to = 0;
	int rc = parse_range(h, fsize, &from, &to);
	if (rc == 1 && (fsize == 0 || from > to || to >= fsize))
		__builtin_trap();
	if (rc < -1 || rc > 1)
		__builtin_trap();
	return 0;
}
