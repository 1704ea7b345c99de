/*
 * export.c - a user's data export written as queries (see export.h).
 */
#include "export.h"

#include <stdarg.h>
#include <string.h>

#include "err.h"

/* The next name of a space-separated list at *p, copied to key (cut to its size), and its kind; 0 at the end. */
static int next_col(const char **p, char key[64], char *kind)
{
	const char *s = *p;
	while (*s == ' ')
		s++;
	if (!*s)
		return 0;
	const char *e = s;
	while (*e && *e != ' ' && *e != ':')
		e++;
	size_t len = (size_t)(e - s) < 63 ? (size_t)(e - s) : 63;
	memcpy(key, s, len);
	key[len] = '\0';
	*kind = 's';
	if (*e == ':') {
		*kind = e[1];
		e += e[1] ? 2 : 1;
	}
	*p = e;
	return 1;
}

static json_t *col_value(db_stmt *s, int i, char kind)
{
	if (db_col_is_null(s, i))
		return json_null();
	switch (kind) {
	case 'i': return json_integer((json_int_t)db_col_int64(s, i));
	case 'f': return json_real(db_col_double(s, i));
	case 'b': return json_boolean(db_col_int64(s, i) != 0);
	case 'j': {
		json_t *v = json_loads(db_col_text(s, i), JSON_DECODE_ANY, NULL);
		return v ? v : json_null();
	}
	default: return json_string(db_col_text(s, i));
	}
}

/* Steps s to its end, appending one object per row to arr. */
static int rows_to(db_stmt *s, json_t *arr, const char *cols)
{
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		json_t *o = json_object();
		const char *p = cols;
		char key[64], kind;
		for (int i = 0; next_col(&p, key, &kind); i++)
			json_object_set_new(o, key, col_value(s, i, kind));
		json_array_append_new(arr, o);
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

int export_rows(db_conn *c, json_t *arr, const char *cols, const char *sql, const sql_val *v, size_t n)
{
	db_stmt *s = sql_prepare(c, sql, v, n);
	return s ? rows_to(s, arr, cols) : ENT_EDB;
}

int export_nest(db_conn *c, json_t *arr, const char *key, const char *binds, const char *cols, const char *sql)
{
	size_t i;
	json_t *item;
	json_array_foreach (arr, i, item) {
		db_stmt *s = db_prepare(c, sql);
		if (!s)
			return ENT_EDB;
		const char *p = binds;
		char field[64], kind;
		for (int k = 1; next_col(&p, field, &kind); k++)
			db_bind_text(s, k, json_string_value(json_object_get(item, field)));
		json_t *rows = json_array();
		int rc = rows_to(s, rows, cols);
		json_object_set_new(item, key, rows);
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

int export_put(json_t *out, const char *section, int rc, ...)
{
	va_list ap;
	va_start(ap, rc);
	json_t *part = rc == ENT_OK ? json_object() : NULL;
	const char *key;
	while ((key = va_arg(ap, const char *))) {
		json_t *v = va_arg(ap, json_t *);
		if (part)
			json_object_set_new(part, key, v);
		else
			json_decref(v);
	}
	va_end(ap);
	if (part)
		json_object_set_new(out, section, part);
	return rc;
}
