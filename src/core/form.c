/* form.c - strict x-www-form-urlencoded parsing and encoding. */
#include "form.h"

#include "util.h"

#include <string.h>

#define FORM_MAX_VALUE 8192

/* Decodes s[0..len) into a new arena string; NULL on a bad escape or an embedded NUL. */
static char *decode(arena *a, const char *s, size_t len)
{
	char *out = arena_alloc(a, len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '+') {
			out[o++] = ' ';
		} else if (c == '%') {
			if (i + 2 >= len)
				return NULL;
			int hi = util_hexval(s[i + 1]), lo = util_hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return NULL;
			char d = (char)(hi * 16 + lo);
			if (d == '\0')
				return NULL;
			out[o++] = d;
			i += 2;
		} else if (c == '\0') {
			return NULL;
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
	return out;
}

int form_parse(arena *a, const char *body, size_t len, struct form *out, const char **why)
{
	out->n = 0;
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && body[end] != '&')
			end++;
		if (end == i) { /* empty pair ("a=1&&b=2"): tolerated */
			i = end + 1;
			continue;
		}
		if (end - i > FORM_MAX_VALUE) {
			*why = "Un champ du formulaire est trop long.";
			return -1;
		}
		const char *eq = memchr(body + i, '=', end - i);
		size_t nlen = eq ? (size_t)(eq - (body + i)) : end - i;
		char *name = decode(a, body + i, nlen);
		char *value = eq ? decode(a, eq + 1, (size_t)(body + end - eq - 1)) : arena_strdup(a, "");
		if (!name || !value || !*name) {
			*why = "Le formulaire est mal encodé.";
			return -1;
		}
		if (form_get(out, name)) {
			*why = "Un champ du formulaire est répété.";
			return -1;
		}
		if (out->n == FORM_MAX_FIELDS) {
			*why = "Le formulaire a trop de champs.";
			return -1;
		}
		out->names[out->n] = name;
		out->values[out->n] = value;
		out->n++;
		i = end + 1;
	}
	return 0;
}

const char *form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0)
			return f->values[i];
	return NULL;
}

char *form_encode(arena *a, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = arena_alloc(a, n * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}
