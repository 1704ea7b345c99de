/*
 * buf.c - growable buffer and streaming JSON writer.
 */
#include "buf.h"

#include "err.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX (64u << 20)

void buf_init(buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max ? max : DEFAULT_MAX;
	b->failed = 0;
}

void buf_free(buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_reset(buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int buf_fail(buf *b)
{
	buf_free(b);
	b->failed = 1;
	return ENT_ETOOBIG;
}

static int buf_grow(buf *b, size_t extra)
{
	if (b->failed)
		return ENT_ETOOBIG;
	if (extra > b->max || b->len > b->max - extra)
		return buf_fail(b);
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return ENT_OK;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	char *p = realloc(b->data, cap);
	if (!p)
		abort();
	b->data = p;
	b->cap = cap;
	return ENT_OK;
}

int buf_add(buf *b, const void *data, size_t len)
{
	if (!b->failed && len < b->cap - b->len) {
		/* Room enough (b->cap <= b->max + 1, so the maximum holds too): no growth to consider. */
		if (len)
			memcpy(b->data + b->len, data, len);
		b->len += len;
		b->data[b->len] = '\0';
		return ENT_OK;
	}
	int rc = buf_grow(b, len);
	if (rc)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return ENT_OK;
}

int buf_addstr(buf *b, const char *s) { return buf_add(b, s, strlen(s)); }

int buf_addc(buf *b, char c)
{
	if (!b->failed && b->len + 1 < b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return ENT_OK;
	}
	return buf_add(b, &c, 1);
}

int buf_printf(buf *b, const char *fmt, ...)
{
	if (b->failed)
		return ENT_ETOOBIG;
	va_list ap;
	/* One pass when the text fits in the room left; a second only when it does not. */
	if (b->cap > b->len + 1) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int m = vsnprintf(b->data + b->len, room, fmt, ap);
		va_end(ap);
		if (m < 0) {
			b->data[b->len] = '\0';
			return ENT_EINVAL;
		}
		if ((size_t)m < room && (size_t)m <= b->max - b->len) {
			b->len += (size_t)m;
			return ENT_OK;
		}
		b->data[b->len] = '\0';
	}
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ENT_EINVAL;
	int rc = buf_grow(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return ENT_OK;
}

int buf_add_u64(buf *b, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return buf_add(b, tmp + i, sizeof(tmp) - i);
}

int buf_add_i64(buf *b, int64_t v)
{
	if (v >= 0)
		return buf_add_u64(b, (uint64_t)v);
	buf_addc(b, '-');
	return buf_add_u64(b, 0u - (uint64_t)v);
}

char *buf_take(buf *b, size_t *len)
{
	if (b->failed || !b->data) {
		if (len)
			*len = 0;
		return NULL;
	}
	char *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

/* The bytes a JSON string cannot hold as they are: control characters, quote and backslash. */
static const unsigned char json_escaped[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1, [0x07] = 1, [0x08] = 1,
	[0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1,
	[0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1,
	[0x1b] = 1, [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

int buf_reserve(buf *b, size_t n) { return buf_grow(b, n); }

void buf_json_str(buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	buf_addc(b, '"');
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!json_escaped[c])
			continue;
		buf_add(b, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		default: {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_add(b, esc, 6);
		}
		}
	}
	buf_add(b, s + start, len - start);
	buf_addc(b, '"');
}

jw *jwbuf_init(jwbuf *j, size_t max)
{
	buf_init(&j->b, max);
	jw_init(&j->w, &j->b);
	return &j->w;
}

void jw_init(jw *w, buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
}

static void jw_sep(jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->depth > 0) {
		if (w->need_comma[w->depth - 1])
			buf_addc(w->b, ',');
		w->need_comma[w->depth - 1] = 1;
	}
}

static void jw_open(jw *w, char c)
{
	jw_sep(w);
	buf_addc(w->b, c);
	if (w->depth >= JW_MAX_DEPTH)
		abort(); /* a programming error: our documents are shallow */
	w->need_comma[w->depth++] = 0;
}

static void jw_close(jw *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	buf_addc(w->b, c);
}

void jw_obj_open(jw *w) { jw_open(w, '{'); }
void jw_obj_close(jw *w) { jw_close(w, '}'); }
void jw_arr_open(jw *w) { jw_open(w, '['); }
void jw_arr_close(jw *w) { jw_close(w, ']'); }

void jw_key(jw *w, const char *key)
{
	jw_sep(w);
	buf_json_str(w->b, key, strlen(key));
	buf_addc(w->b, ':');
	w->after_key = 1;
}

void jw_strn(jw *w, const char *s, size_t len)
{
	jw_sep(w);
	buf_json_str(w->b, s, len);
}

void jw_str(jw *w, const char *s)
{
	if (!s)
		jw_null(w);
	else
		jw_strn(w, s, strlen(s));
}

void jw_int(jw *w, int64_t v)
{
	jw_sep(w);
	buf_add_i64(w->b, v);
}

void jw_double(jw *w, double v)
{
	if (!isfinite(v)) {
		jw_null(w);
		return;
	}
	jw_sep(w);
	buf_printf(w->b, "%.15g", v);
}

void jw_bool(jw *w, int v)
{
	jw_sep(w);
	buf_addstr(w->b, v ? "true" : "false");
}

void jw_null(jw *w)
{
	jw_sep(w);
	buf_add(w->b, "null", 4);
}

void jw_raw(jw *w, const char *json, size_t len)
{
	jw_sep(w);
	buf_add(w->b, json, len);
}

void jw_kstr(jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_kint(jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kbool(jw *w, const char *key, int v)
{
	jw_key(w, key);
	jw_bool(w, v);
}
