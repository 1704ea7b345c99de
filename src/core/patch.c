/*
 * patch.c - partial updates in one constant statement (patch.h).
 */
#include "patch.h"

int patch_bind(db_stmt *s, int first, const json_t *body, const char *const *keys, size_t n)
{
	int k = first;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_object_get(body, keys[i]);
		db_bind_int64(s, k++, v != NULL);
		if (!v || json_is_null(v))
			db_bind_null(s, k++);
		else if (json_is_string(v))
			db_bind_text(s, k++, json_string_value(v));
		else if (json_is_boolean(v))
			db_bind_int64(s, k++, json_is_true(v));
		else if (json_is_integer(v))
			db_bind_int64(s, k++, (int64_t)json_integer_value(v));
		else if (json_is_real(v))
			db_bind_double(s, k++, json_real_value(v));
		else
			db_bind_null(s, k++);
	}
	return k;
}
