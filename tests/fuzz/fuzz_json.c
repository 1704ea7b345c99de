/*
 * fuzz_json.c - libFuzzer target for request bodies: strict JSON parsing and field validation.
 */
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const roles[] = {"etudiant", "enseignant", "admin", NULL};
	static const struct jfield fields[] = {
		{.name = "name", .type = JF_STRING, .required = 1, .min = 1, .max = 50},
		{.name = "n", .type = JF_INT, .min = -5, .max = 5},
		{.name = "x", .type = JF_NUMBER, .nullable = 1},
		{.name = "role", .type = JF_STRING, .one_of = roles},
		{.name = "email", .type = JF_EMAIL},
		{.name = "id", .type = JF_UUID},
		{.name = "at", .type = JF_TIME},
		{.name = "list", .type = JF_ARRAY, .min = 0, .max = 3},
		{.name = "obj", .type = JF_OBJECT},
		{.name = "flag", .type = JF_BOOL},
	};
	char err[200];
	json_t *j = json_parse_strict((const char *)data, size, err, sizeof(err));
	if (!j)
		return 0;
	json_t *errors = json_object();
	json_check(j, fields, sizeof(fields) / sizeof(fields[0]), errors);
	json_decref(errors);
	json_decref(j);
	return 0;
}
