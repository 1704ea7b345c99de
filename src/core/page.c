/*
 * page.c - pagination arguments, opaque cursors and the page writer (see page.h).
 *
 * The cursor's raw bytes are: version (1) | list 0x1F key1 0x1F ... keyN | check (8 bytes, big
 * endian), where check is FNV-1a 64 over the version and the payload, mixed by splitmix64's
 * finaliser. They are written base64url without padding, so a cursor needs no escaping in a URL.
 * The check is for mistakes, not for attackers (see page.h): it must never be relied on to
 * protect data.
 */
#include "page.h"

#include "json.h"
#include "jwt.h"
#include "util.h"

#include <string.h>

#define CURSOR_VERSION 1
#define CHECK_LEN 8

static uint64_t check_of(const unsigned char *data, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < len; i++) {
		h ^= data[i];
		h *= 0x100000001b3u;
	}
	return util_splitmix64(&h);
}

char *page_cursor_encode(arena *a, const char *list, const char *const *keys, int n)
{
	size_t len = 1 + strlen(list);
	for (int i = 0; i < n; i++)
		len += 1 + strlen(keys[i]);
	unsigned char *raw = arena_alloc(a, len + CHECK_LEN);
	size_t o = 0;
	raw[o++] = CURSOR_VERSION;
	memcpy(raw + o, list, strlen(list));
	o += strlen(list);
	for (int i = 0; i < n; i++) {
		raw[o++] = 0x1f;
		memcpy(raw + o, keys[i], strlen(keys[i]));
		o += strlen(keys[i]);
	}
	uint64_t check = check_of(raw, o);
	for (int i = 0; i < CHECK_LEN; i++)
		raw[o++] = (unsigned char)(check >> (56 - 8 * i));
	size_t cap = o * 4 / 3 + 4;
	char *out = arena_alloc(a, cap);
	b64url_encode(raw, o, out, cap);
	return out;
}

int page_cursor_decode(arena *a, const char *list, const char *cursor, const char **keys, int n)
{
	size_t len = strlen(cursor);
	if (len == 0 || len > PAGE_CURSOR_MAX)
		return -1;
	unsigned char *raw = arena_alloc(a, len + 1);
	long got = b64url_decode(cursor, len, raw, len);
	if (got < 1 + CHECK_LEN || raw[0] != CURSOR_VERSION)
		return -1;
	size_t plen = (size_t)got - CHECK_LEN;
	uint64_t check = 0;
	for (int i = 0; i < CHECK_LEN; i++)
		check = check << 8 | raw[plen + (size_t)i];
	if (check != check_of(raw, plen))
		return -1;
	raw[plen] = '\0';
	char *p = (char *)raw + 1;
	if (memchr(p, '\0', plen - 1))
		return -1;
	for (int i = -1; i < n; i++) {
		char *sep = strchr(p, 0x1f);
		if ((i + 1 < n) != (sep != NULL))
			return -1;
		if (sep)
			*sep = '\0';
		if (i < 0 ? strcmp(p, list) != 0 : !util_valid_text(p))
			return -1;
		if (i >= 0)
			keys[i] = p;
		p = sep ? sep + 1 : p;
	}
	return 0;
}

int page_begin(http_req *req, page *p, const char *list, int nkeys)
{
	memset(p, 0, offsetof(page, last));
	p->req = req;
	p->list = list;
	p->nkeys = nkeys;
	p->limit = PAGE_DEFAULT_LIMIT;
	json_t *errors = json_object();
	const char *l = http_query(req, "limit");
	int64_t v;
	if (l && util_parse_int64(l, 1, PAGE_MAX_LIMIT, &v) == 0)
		p->limit = (int)v;
	else if (l)
		json_field_error(errors, "limit", "range", "doit être un entier de 1 à 500");
	const char *c = http_query(req, "cursor");
	if (c && page_cursor_decode(http_arena(req), list, c, p->after, nkeys) == 0)
		p->has_cursor = 1;
	else if (c)
		json_field_error(errors, "cursor", "bad_cursor", PAGE_BAD_CURSOR);
	if (json_object_size(errors)) {
		http_problem_errors(req, 400, "La pagination demandée est invalide.", errors);
		return -1;
	}
	json_decref(errors);
	p->w = http_jw(req);
	jw_obj_open(p->w);
	jw_key(p->w, "items");
	jw_arr_open(p->w);
	return 0;
}

int page_fetch(const page *p) { return p->limit + 1; }

jw *page_item(page *p, const char *const *keys)
{
	if (p->n == p->limit) {
		if (!p->next) {
			const char *last[PAGE_MAX_KEYS];
			size_t o = 0;
			for (int i = 0; i < p->nkeys; i++) {
				last[i] = p->last + o;
				o += p->last_len[i] + 1;
			}
			p->next = page_cursor_encode(http_arena(p->req), p->list, last, p->nkeys);
		}
		return NULL;
	}
	size_t o = 0;
	for (int i = 0; i < p->nkeys; i++) {
		size_t l = strlen(keys[i]), room = sizeof(p->last) - o - (size_t)(p->nkeys - i);
		if (l > room)
			l = room; /* keys longer than any we store: the cut cursor is refused later, never overrun */
		memcpy(p->last + o, keys[i], l);
		p->last[o + l] = '\0';
		p->last_len[i] = l;
		o += l + 1;
	}
	p->n++;
	return p->w;
}

void page_reply(page *p, const char *const *keep)
{
	jw_arr_close(p->w);
	jw_kstr(p->w, "next_cursor", p->next);
	jw_obj_close(p->w);
	http_link_next(p->req, p->next, keep);
	http_reply_jw(p->req, 200);
}

int page_bind(const page *p, db_stmt *s, int k)
{
	for (int i = 0; p->has_cursor && i < p->nkeys; i++)
		db_bind_text(s, k++, p->after[i]);
	db_bind_int64(s, k++, page_fetch(p));
	return k;
}

void page_rows(page *p, db_stmt *s, const int *key_cols, page_write_fn *write, void *ctx, const char *detail,
	       const char *const *keep)
{
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *keys[PAGE_MAX_KEYS];
		for (int i = 0; i < p->nkeys; i++)
			keys[i] = db_col_text(s, key_cols[i]);
		jw *w = page_item(p, keys);
		if (!w)
			break;
		write(w, s, ctx);
	}
	db_done(s);
	if (rc < 0) {
		http_problem_err(p->req, rc, detail);
		return;
	}
	page_reply(p, keep);
}
