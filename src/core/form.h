/*
 * form.h - application/x-www-form-urlencoded bodies (OAuth token requests, the login form).
 *
 * Parsing is strict: percent escapes must be valid, names may not repeat (RFC 6749 §3.1: request
 * parameters must not be included more than once), at most 64 fields of 8 KiB each. Values are
 * decoded ('+' is a space) into the arena.
 */
#ifndef ENT_FORM_H
#define ENT_FORM_H

#include <stddef.h>

#include "arena.h"

#define FORM_MAX_FIELDS 64

struct form {
	size_t n;
	const char *names[FORM_MAX_FIELDS];
	const char *values[FORM_MAX_FIELDS];
};

/* 0 on success; -1 on a malformed body, with a short French reason in *why (a static string). */
int form_parse(arena *a, const char *body, size_t len, struct form *out, const char **why);

/* The decoded value of name, or NULL when absent. */
const char *form_get(const struct form *f, const char *name);

/* Percent-encodes s for a query string or form value (unreserved characters kept). */
char *form_encode(arena *a, const char *s);

#endif
