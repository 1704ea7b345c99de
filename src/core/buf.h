/*
 * buf.h - a growable byte buffer with a hard maximum, and a JSON writer on top of it.
 *
 * Like curl's dynbuf: a buffer that would grow past its maximum fails, frees its memory and stays
 * failed (every later append is ignored and returns ENT_ETOOBIG), so callers can append freely and
 * check once at the end. buf_take() hands the memory over to the caller (free() it).
 *
 * The JSON writer (jw_*) writes straight into a buffer, inserting commas itself, so handlers can
 * produce large lists without building a tree first.
 */
#ifndef ENT_BUF_H
#define ENT_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf {
	char *data; /* NUL-terminated when non-NULL */
	size_t len, cap, max;
	int failed;
} buf;

/* max 0 means the default of 64 MiB. */
void buf_init(buf *b, size_t max);
void buf_free(buf *b);
void buf_reset(buf *b); /* empties without freeing */
/* Makes room for n more bytes at once (an answer whose size is known roughly grows in one step). */
int buf_reserve(buf *b, size_t n);
int buf_add(buf *b, const void *data, size_t len);
int buf_addstr(buf *b, const char *s);
int buf_addc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Decimal digits without printf (hot paths). */
int buf_add_u64(buf *b, uint64_t v);
int buf_add_i64(buf *b, int64_t v);
/* Hands the data to the caller, who frees it; the buffer is left empty. NULL if failed or empty. */
char *buf_take(buf *b, size_t *len);

/* ---- JSON writer ---- */

#define JW_MAX_DEPTH 32

typedef struct jw {
	buf *b;
	int depth;
	unsigned char need_comma[JW_MAX_DEPTH];
	int after_key;
} jw;

void jw_init(jw *w, buf *b);
void jw_obj_open(jw *w);
void jw_obj_close(jw *w);
void jw_arr_open(jw *w);
void jw_arr_close(jw *w);
void jw_key(jw *w, const char *key);
void jw_str(jw *w, const char *s); /* NULL writes null */
void jw_strn(jw *w, const char *s, size_t len);
void jw_int(jw *w, int64_t v);
void jw_double(jw *w, double v); /* non-finite values write null */
void jw_bool(jw *w, int v);
void jw_null(jw *w);
/* Inserts already serialised JSON as one value. */
void jw_raw(jw *w, const char *json, size_t len);

/* Shorthands for "key": value inside an object. */
void jw_kstr(jw *w, const char *key, const char *s);
void jw_kint(jw *w, const char *key, int64_t v);
void jw_kbool(jw *w, const char *key, int v);

/*
 * A writer with a buffer of its own, for JSON that is not the request's answer (which is written
 * with http_jw): an event of a stream, a part of the GDPR export. Returns the writer; the text is
 * in j->b (max as for buf_init), freed by the caller with buf_free, buf_take or json_from_buf.
 */
typedef struct jwbuf {
	buf b;
	jw w;
} jwbuf;
jw *jwbuf_init(jwbuf *j, size_t max);

/* Appends s as a JSON string literal (with quotes) to b. */
void buf_json_str(buf *b, const char *s, size_t len);

#endif
