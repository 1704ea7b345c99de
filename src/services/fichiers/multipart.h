/*
 * multipart.h - a streaming multipart/form-data parser (RFC 7578, RFC 2046 §5.1) for uploads.
 *
 * The body is fed in pieces of any size (down to one byte); the parser never buffers a part's
 * content, only a part's header block (at most MP_MAX_HEADERS bytes). Callbacks receive each
 * part's headers once, then its content in pieces, then its end. The parser is a pure state
 * machine over bytes with no I/O, so a fuzzer can drive it directly. It must never read outside
 * the pieces it is given nor accept a header block larger than its cap.
 */
#ifndef ENT_FICHIERS_MULTIPART_H
#define ENT_FICHIERS_MULTIPART_H

#include <stddef.h>

#include "core/arena.h"

#define MP_MAX_HEADERS 8192

struct mp_part {
	const char *name;         /* form field name, or NULL */
	const char *filename;     /* the client's file name (filename*= preferred), or NULL */
	const char *content_type; /* as sent, or NULL; never trusted */
};

struct mp_callbacks {
	/* Each returns 0 to go on, non-zero to stop the parse (mp_feed then returns -1). */
	int (*part_begin)(void *ud, const struct mp_part *part);
	int (*part_data)(void *ud, const char *data, size_t len);
	int (*part_end)(void *ud);
};

typedef struct mp_parser mp_parser;

/*
 * The boundary parameter of a Content-Type "multipart/form-data; boundary=..." (quoted or not),
 * copied into a; NULL when absent or invalid (1-70 characters, no CR, LF or NUL).
 */
const char *mp_boundary(arena *a, const char *content_type);

/* A parser for boundary, allocated from a (freed with it). */
mp_parser *mp_new(arena *a, const char *boundary, const struct mp_callbacks *cb, void *ud);

/* Feeds len bytes. 0, or -1 on malformed input or a callback's refusal (the parser then stays failed). */
int mp_feed(mp_parser *p, const char *data, size_t len);

/* 1 once the closing delimiter was read, 0 otherwise. */
int mp_done(const mp_parser *p);

/*
 * A parameter of a header value such as Content-Disposition ("form-data; name=\"f\";
 * filename=\"a.pdf\""): quoted strings are unescaped; for name "filename", an RFC 5987
 * filename*=UTF-8''... is preferred. Returns an arena copy, or NULL when absent.
 */
const char *mp_header_param(arena *a, const char *value, const char *name);

#endif
