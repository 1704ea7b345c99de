/*
 * page.h - one way to serve a list: ?limit=, an opaque ?cursor=, and the page written as
 * {"items":[...],"next_cursor":"…"|null} with a `Link: <…>; rel="next"` header.
 *
 * Every list in ENT is keyset-paginated: the query orders by a few sort key columns ending in the
 * id, asks for limit + 1 rows, and a page after a cursor is a seek past the cursor's key values.
 * This module owns everything around the query:
 *
 *   page pg;
 *   if (page_begin(req, &pg, "users", 2))      // 400 answered for a bad limit or cursor
 *           return;
 *   ... bind pg.after[0], pg.after[1] when pg.has_cursor; bind page_fetch(&pg) as the LIMIT ...
 *   while ((rc = db_step(s)) == DB_ROW) {
 *           const char *keys[2] = {sort_key, id};
 *           jw *w = page_item(&pg, keys);       // NULL: the page is full
 *           if (!w)
 *                   break;
 *           ... write one item with w ...
 *   }
 *   page_reply(&pg, keep);                     // "],next_cursor, Link, 200
 *
 * The cursor is base64url of a version byte, the list's name and the key values of the page's
 * last item (separated by 0x1F), followed by an 8-byte check over all that. A cursor that does not
 * decode, fails the check, has another version or comes from another list is answered 400
 * problem+json with errors.cursor = PAGE_BAD_CURSOR. The check is not a
 * signature: a cursor's values only seek within the rows the caller may read anyway, so a forged
 * one reads nothing more; the check catches cursors cut, edited by hand, or taken from another list.
 * Key values are text without control characters (a number is written in decimal).
 */
#ifndef ENT_PAGE_H
#define ENT_PAGE_H

#include "../store/db.h"
#include "arena.h"
#include "buf.h"
#include "http.h"

#define PAGE_MAX_KEYS 4
#define PAGE_DEFAULT_LIMIT 50
#define PAGE_MAX_LIMIT 500
#define PAGE_CURSOR_MAX 2048 /* characters of a cursor */
#define PAGE_KEYS_MAX 1500   /* bytes of an item's key values together */
/* errors.cursor of every refused cursor (codes.cursor: "bad_cursor"): a stable text clients may test for. */
#define PAGE_BAD_CURSOR "n'est pas un curseur émis par ce serveur : rechargez la liste"

typedef struct page {
	int limit;                        /* ?limit=: 1..500, default 50 */
	int has_cursor;                   /* the request carried a valid ?cursor= */
	const char *after[PAGE_MAX_KEYS]; /* its key values (request arena); NULL without a cursor */
	/* private */
	http_req *req;
	const char *list;
	int nkeys, n;
	jw *w;
	const char *next;
	size_t last_len[PAGE_MAX_KEYS];
	char last[PAGE_KEYS_MAX]; /* the key values of the last item written, one after the other */
} page;

/*
 * Reads ?limit= and ?cursor= for the list named list (a static string; cursors of another list are
 * refused) whose cursors carry nkeys values (1..PAGE_MAX_KEYS), and opens the answer
 * {"items":[ on the request's writer (http_jw). Returns 0, or -1 after answering 400 with
 * errors.limit and/or errors.cursor. p lives on the caller's stack; nothing needs freeing.
 */
int page_begin(http_req *req, page *p, const char *list, int nkeys);

/* The number of rows the query should ask for: limit + 1 (the extra row says a next page exists). */
int page_fetch(const page *p);

/*
 * For each row read: keys are this row's nkeys sort key values (copied). Returns the writer,
 * positioned for the item's value, or NULL when the page is full (this row is the first of the
 * next page; the cursor is made from the previous row's keys): stop reading then.
 */
jw *page_item(page *p, const char *const *keys);

/*
 * Closes the items, writes "next_cursor" and, when there is a next page, the Link header keeping
 * the request's query arguments named in keep (NULL-terminated: the filters and "limit"), and
 * answers 200 application/json.
 */
void page_reply(page *p, const char *const *keep);

/*
 * The usual tail of a list's statement, bound from parameter k: the cursor's key values as text,
 * in order, when the request carried a cursor, then the row count page_fetch(). Returns the next
 * parameter index. A list whose cursor keys are not bound as text, or not last, binds them itself.
 */
int page_bind(const page *p, db_stmt *s, int k);

/* Writes one item of a page from the current row of s (see page_rows). */
typedef void page_write_fn(jw *w, db_stmt *s, void *ctx);

/*
 * Reads the rows of s (bound, not yet stepped) into the page and answers. Each row's sort key
 * values are the text of its columns key_cols[0 .. nkeys - 1] (nkeys of page_begin), and
 * write(w, s, ctx) writes its item. Then s is finished (db_done) and the page answered
 * (page_reply with keep), or, when a step failed, the failure (http_problem_err with detail, which
 * may be NULL).
 */
void page_rows(page *p, db_stmt *s, const int *key_cols, page_write_fn *write, void *ctx, const char *detail,
	       const char *const *keep);

/* The cursor for keys (n values) of list, as an arena string. */
char *page_cursor_encode(arena *a, const char *list, const char *const *keys, int n);
/*
 * Decodes a cursor of list carrying n values into keys[] (arena strings). Returns 0, or -1 when it
 * is not a cursor this server issued for that list.
 */
int page_cursor_decode(arena *a, const char *list, const char *cursor, const char **keys, int n);

#endif
