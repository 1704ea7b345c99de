/*
 * multipart.c - the streaming multipart/form-data parser (see multipart.h).
 *
 * How it works: the delimiter is "\r\n--BOUNDARY". The body is scanned byte by byte with a count
 * of how many delimiter bytes have matched so far; those bytes are held back (they are known: a
 * prefix of the delimiter) and given out as content if the match fails. Since a boundary may not
 * contain CR, a failed match can only restart at the current byte, so no backtracking over past
 * pieces is needed. The body is treated as if preceded by "\r\n", so a first delimiter at the
 * very start matches. After a delimiter come "--" (the end) or optional blanks and CRLF, then a
 * header block ending with an empty line.
 *
 * It must never buffer content, nor let a header block grow past MP_MAX_HEADERS.
 */
#include "multipart.h"

#include "core/util.h"

#include <string.h>
#include <strings.h>

enum mp_state { MP_PREAMBLE, MP_AFTER_DELIM, MP_AFTER_DASH, MP_AFTER_CR, MP_HEADERS, MP_BODY, MP_END, MP_FAILED };

struct mp_parser {
	const struct mp_callbacks *cb;
	arena *a;
	void *ud;
	char *delim; /* "\r\n--" boundary */
	size_t dlen;
	size_t matched;
	enum mp_state st;
	size_t hlen;
	char hdr[MP_MAX_HEADERS + 1];
};

/* Percent-decodes n bytes of s into the arena; NULL on a bad escape or a decoded NUL. */
static char *pct_decode(arena *a, const char *s, size_t n)
{
	char *out = arena_alloc(a, n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (n - i < 3)
			return NULL;
		int h = util_hexval(s[i + 1]), l = util_hexval(s[i + 2]);
		if (h < 0 || l < 0 || (h | l) == 0)
			return NULL;
		out[o++] = (char)(h * 16 + l);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

/*
 * Finds parameter name in value ("type; a=1; b=\"x y\""). Returns its value copied into the
 * arena (quoted strings unescaped), or NULL. *ext is set when it was found as "name*".
 */
static const char *find_param(arena *a, const char *value, const char *name, int star)
{
	size_t nl = strlen(name);
	const char *p = strchr(value, ';');
	while (p) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		const char *eq = strchr(p, '=');
		if (!eq)
			return NULL;
		const char *ke = eq;
		while (ke > p && (ke[-1] == ' ' || ke[-1] == '\t'))
			ke--;
		size_t kl = (size_t)(ke - p);
		int match = star ? kl == nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == '*'
				 : kl == nl && strncasecmp(p, name, nl) == 0;
		const char *v = eq + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == '"') {
			/* quoted-string with backslash escapes */
			char *out = arena_alloc(a, strlen(v) + 1);
			size_t o = 0;
			const char *q = v + 1;
			while (*q && *q != '"') {
				if (*q == '\\' && q[1])
					q++;
				out[o++] = *q++;
			}
			out[o] = '\0';
			if (match)
				return *q == '"' ? out : NULL;
			p = *q ? strchr(q + 1, ';') : NULL;
			continue;
		}
		const char *end = strchr(v, ';');
		size_t vl = end ? (size_t)(end - v) : strlen(v);
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		if (match)
			return arena_strndup(a, v, vl);
		p = end;
	}
	return NULL;
}

const char *mp_header_param(arena *a, const char *value, const char *name)
{
	if (!value)
		return NULL;
	if (strcasecmp(name, "filename") == 0) {
		const char *ext = find_param(a, value, name, 1);
		/* RFC 5987: charset'lang'pct-encoded; only UTF-8 is understood. */
		if (ext && strncasecmp(ext, "UTF-8'", 6) == 0) {
			const char *q = strchr(ext + 6, '\'');
			if (q) {
				char *d = pct_decode(a, q + 1, strlen(q + 1));
				if (d)
					return d;
			}
		}
	}
	return find_param(a, value, name, 0);
}

const char *mp_boundary(arena *a, const char *ct)
{
	if (!ct)
		return NULL;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, "multipart/form-data", 19) != 0 || (ct[19] && ct[19] != ';' && ct[19] != ' '))
		return NULL;
	const char *b = find_param(a, ct, "boundary", 0);
	if (!b)
		return NULL;
	size_t n = strlen(b);
	if (n < 1 || n > 70)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (b[i] == '\r' || b[i] == '\n')
			return NULL;
	return b;
}

mp_parser *mp_new(arena *a, const char *boundary, const struct mp_callbacks *cb, void *ud)
{
	mp_parser *p = arena_calloc(a, 1, sizeof(*p));
	p->a = a;
	p->cb = cb;
	p->ud = ud;
	p->delim = arena_printf(a, "\r\n--%s", boundary);
	p->dlen = strlen(p->delim);
	p->matched = 2; /* as if the body were preceded by CRLF */
	p->st = MP_PREAMBLE;
	return p;
}

int mp_done(const mp_parser *p) { return p->st == MP_END; }

/* Parses the header block in p->hdr and calls part_begin. */
static int headers_done(mp_parser *p)
{
	p->hdr[p->hlen] = '\0';
	struct mp_part part = {0};
	const char *disp = NULL;
	char *line = p->hdr;
	while (line && *line) {
		char *eol = strstr(line, "\r\n");
		if (eol)
			*eol = '\0';
		char *colon = strchr(line, ':');
		if (colon) {
			*colon = '\0';
			const char *v = colon + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			if (strcasecmp(line, "Content-Disposition") == 0)
				disp = arena_strdup(p->a, v);
			else if (strcasecmp(line, "Content-Type") == 0)
				part.content_type = arena_strdup(p->a, v);
		}
		line = eol ? eol + 2 : NULL;
	}
	if (disp) {
		part.name = mp_header_param(p->a, disp, "name");
		part.filename = mp_header_param(p->a, disp, "filename");
	}
	p->hlen = 0;
	return p->cb->part_begin ? p->cb->part_begin(p->ud, &part) : 0;
}

static int emit(mp_parser *p, const char *d, size_t n)
{
	if (n == 0 || p->st != MP_BODY || !p->cb->part_data)
		return 0;
	return p->cb->part_data(p->ud, d, n);
}

int mp_feed(mp_parser *p, const char *data, size_t len)
{
	size_t i = 0, start = 0;
	while (i < len) {
		char c = data[i];
		switch (p->st) {
		case MP_PREAMBLE:
		case MP_BODY:
			if (c == p->delim[p->matched]) {
				if (p->matched == 0 && emit(p, data + start, i - start))
					goto fail;
				p->matched++;
				i++;
				if (p->matched == p->dlen) {
					if (p->st == MP_BODY && p->cb->part_end && p->cb->part_end(p->ud))
						goto fail;
					p->st = MP_AFTER_DELIM;
					p->matched = 0;
				}
				start = i;
				continue;
			}
			if (p->matched > 0) {
				/* The held-back bytes were content after all; retry c from scratch. */
				size_t held = p->matched;
				p->matched = 0;
				if (emit(p, p->delim, held))
					goto fail;
				start = i;
				continue;
			}
			i++;
			break;
		case MP_AFTER_DELIM:
			if (c == '-')
				p->st = MP_AFTER_DASH;
			else if (c == '\r')
				p->st = MP_AFTER_CR;
			else if (c != ' ' && c != '\t')
				goto fail;
			i++;
			start = i;
			break;
		case MP_AFTER_DASH:
			if (c != '-')
				goto fail;
			p->st = MP_END;
			i++;
			start = i;
			break;
		case MP_AFTER_CR:
			if (c != '\n')
				goto fail;
			p->st = MP_HEADERS;
			p->hlen = 0;
			i++;
			start = i;
			break;
		case MP_HEADERS:
			if (p->hlen >= MP_MAX_HEADERS)
				goto fail;
			p->hdr[p->hlen++] = c;
			i++;
			start = i;
			if ((p->hlen == 2 && memcmp(p->hdr, "\r\n", 2) == 0) ||
			    (p->hlen >= 4 && memcmp(p->hdr + p->hlen - 4, "\r\n\r\n", 4) == 0)) {
				p->hlen -= 2; /* keep the last header's CRLF, drop the empty line */
				p->st = MP_BODY;
				p->matched = 0;
				if (headers_done(p))
					goto fail;
			}
			break;
		case MP_END: return 0; /* the epilogue is ignored */
		case MP_FAILED: return -1;
		}
	}
	if ((p->st == MP_BODY) && p->matched == 0 && emit(p, data + start, len - start))
		goto fail;
	return 0;
fail:
	p->st = MP_FAILED;
	return -1;
}
