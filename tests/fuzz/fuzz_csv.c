/*
 * fuzz_csv.c - libFuzzer target for the CSV import parser (users service).
 */
#include <stddef.h>
#include <stdint.h>

#include "services/users/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char store[4096];
	const char *p = (const char *)data;
	size_t left = size;
	size_t bom = csv_bom_len(p, left);
	p += bom;
	left -= bom;
	for (;;) {
		struct csv_record rec = {.store = store, .cap = sizeof(store)};
		size_t consumed = 0;
		int rc = csv_parse_line(p, left, &consumed, &rec);
		if (rc == CSV_END)
			break;
		if (consumed == 0 || consumed > left)
			__builtin_trap();
		if (rc == CSV_RECORD)
			for (size_t i = 0; i < rec.nfields; i++)
				if (rec.fields[i] < store || rec.fields[i] + rec.lens[i] >= store + sizeof(store))
					__builtin_trap();
		p += consumed;
		left -= consumed;
	}
	return 0;
}
