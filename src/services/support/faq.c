/*
 * faq.c - the FAQ: articles administrators write (title, body, category, published or not), read
 * by everyone once published, searched in full text, suggested on the new-ticket form, and
 * counted when they answered someone's question.
 *
 * Full-text search is the one place where the two engines differ in SQL:
 *   SQLite      an FTS5 table (support_faq_fts, unicode61 tokenizer with remove_diacritics), ranked
 *               by bm25 with the title weighing ten times the body;
 *   PostgreSQL  the generated tsvector support_faq.search ('french' configuration: stemming, so
 *               "connexions" finds "connexion"; accents are not folded), ranked by ts_rank.
 * The user's text never reaches either query language as such: it is cut into words of letters
 * and digits, each quoted (FTS5) or joined with & or | (tsquery), so no operator can be injected.
 * A draft (published = 0) is seen by administrators only, everywhere: list, search, suggestions.
 */
#include "internal.h"

#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "core/page.h"
#include "core/util.h"
#include "core/sql.h"

#define FAQ_COLS "f.id, f.title, f.body, f.category, f.published, f.helpful_count, f.created_at, f.updated_at"
#define MAX_WORDS 10
#define SUGGEST_MAX 5

static void write_faq(jw *w, db_stmt *s, void *unused)
{
	(void)unused;
	jw_obj_open(w);
	jw_kstr(w, "id", db_col_text(s, 0));
	jw_kstr(w, "title", db_col_text(s, 1));
	jw_kstr(w, "body", db_col_text(s, 2));
	jw_kstr(w, "category", db_col_text(s, 3));
	jw_kstr(w, "category_label", sup_label(db_col_text(s, 3)));
	jw_kbool(w, "published", db_col_int64(s, 4) != 0);
	jw_kint(w, "helpful_count", db_col_int64(s, 5));
	jw_kstr(w, "created_at", db_col_text(s, 6));
	jw_kstr(w, "updated_at", db_col_text(s, 7));
	jw_obj_close(w);
}

/*
 * The query of the engine of c for the words of text: all of them (any = 0) or any (any = 1).
 * NULL when text has no word.
 */
static const char *search_query(arena *a, db_conn *c, const char *text, int any)
{
	buf b;
	buf_init(&b, 4096);
	int n = 0;
	const unsigned char *p = (const unsigned char *)text;
	while (*p && n < MAX_WORDS) {
		while (*p && !(*p >= 0x80 || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
			       (*p >= 'A' && *p <= 'Z')))
			p++;
		const unsigned char *start = p;
		while (*p >= 0x80 || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			p++;
		if (p == start)
			break;
		if (n++)
			buf_addstr(&b, db_conn_kind(c) == DB_POSTGRES ? (any ? " | " : " & ") : (any ? " OR " : " "));
		if (db_conn_kind(c) == DB_POSTGRES)
			buf_add(&b, start, (size_t)(p - start));
		else {
			buf_addc(&b, '"');
			buf_add(&b, start, (size_t)(p - start));
			buf_addc(&b, '"');
		}
	}
	const char *out = n && !b.failed && b.data ? arena_strdup(a, b.data) : NULL;
	buf_free(&b);
	return out;
}

/* The statement searching the FAQ: matching words, published (or all: ? = 1), a category or not. */
static const char *search_sql(db_conn *c)
{
	if (db_conn_kind(c) == DB_POSTGRES)
		return "SELECT " FAQ_COLS " FROM support_faq f WHERE f.search @@ to_tsquery('french', ?)"
		       " AND (f.published = 1 OR ? = 1) AND (CAST(? AS TEXT) IS NULL OR f.category = ?)"
		       " AND (CAST(? AS INTEGER) IS NULL OR f.published = ?)"
		       " ORDER BY ts_rank(f.search, to_tsquery('french', ?)) DESC, f.id LIMIT ?";
	return "SELECT " FAQ_COLS " FROM support_faq_fts JOIN support_faq f ON f.id = support_faq_fts.id"
	       " WHERE support_faq_fts MATCH ? AND (f.published = 1 OR ? = 1) AND (CAST(? AS TEXT) IS NULL OR f.category = ?)"
	       " AND (CAST(? AS INTEGER) IS NULL OR f.published = ?)"
	       /* the PostgreSQL form ranks with the query again: here it is bound and unused */
	       " AND ? IS NOT NULL ORDER BY bm25(support_faq_fts, 0.0, 10.0, 1.0), f.id LIMIT ?";
}

/* Runs a search and writes the matches as items of an array already open on w. */
static int run_search(db_conn *c, jw *w, const char *query, int admin, const char *category, const char *published,
		      int limit)
{
	sql_val pub = published ? SQL_I(!strcmp(published, "true")) : SQL_NULL;
	db_stmt *s = SQL_PREP(c, search_sql(c), SQL_T(query), SQL_I(admin), SQL_T(category), SQL_T(category), pub, pub,
			      SQL_T(query), SQL_I(limit));
	if (!s)
		return ENT_EDB;
	int rc;
	while ((rc = db_step(s)) == DB_ROW)
		write_faq(w, s, NULL);
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

void sup_faq_list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "support_faq", 2))
		return;
	const char *q = http_query(req, "q"), *category = http_query(req, "category");
	const char *published = http_query(req, "published");
	struct sup_viewer v;
	sup_viewer_of(req, &v);
	json_t *errors = json_object();
	if (q && (!util_valid_text(q) || json_utf8_len(q) > 200))
		json_object_set_new(errors, "q", json_string("doit être un texte d'au plus 200 caractères"));
	if (category && !sup_is(sup_categories, category))
		json_object_set_new(errors, "category",
				    json_string("doit valoir account, courses, grades, timetable, messaging ou other"));
	if (published && strcmp(published, "true") && strcmp(published, "false"))
		json_object_set_new(errors, "published", json_string("doit valoir true ou false"));
	else if (published && !v.admin && strcmp(published, "true"))
		json_object_set_new(errors, "published",
				    json_string("seuls les administrateurs voient les brouillons"));
	if (q && pg.has_cursor)
		json_object_set_new(errors, "cursor",
				    json_string("une recherche tient en une page : pas de page suivante"));
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	if (q) {
		/* A search answers its best matches in one page, ranked (no cursor). */
		const char *query = search_query(a, c, q, 0);
		int rc = query ? run_search(c, http_jw(req), query, v.admin, category, published, pg.limit) : ENT_OK;
		if (rc) {
			http_problem_err(req, rc, NULL);
			return;
		}
		jw *w = http_jw(req);
		jw_arr_close(w);
		jw_kstr(w, "next_cursor", NULL);
		jw_obj_close(w);
		http_reply_jw(req, 200);
		return;
	}
	sql_val pub = published ? SQL_I(!strcmp(published, "true")) : SQL_NULL;
	db_stmt *s = SQL_PREP(
		c,
		pg.has_cursor ? "SELECT " FAQ_COLS " FROM support_faq f WHERE (f.published = 1 OR ? = 1)"
				" AND (CAST(? AS TEXT) IS NULL OR f.category = ?)"
				" AND (CAST(? AS INTEGER) IS NULL OR f.published = ?)"
				" AND (f.created_at, f.id) < (?, ?) ORDER BY f.created_at DESC, f.id DESC LIMIT ?"
			      : "SELECT " FAQ_COLS " FROM support_faq f WHERE (f.published = 1 OR ? = 1)"
				" AND (CAST(? AS TEXT) IS NULL OR f.category = ?)"
				" AND (CAST(? AS INTEGER) IS NULL OR f.published = ?)"
				" ORDER BY f.created_at DESC, f.id DESC LIMIT ?",
		SQL_I(v.admin), SQL_T(category), SQL_T(category), pub, pub);
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	page_bind(&pg, s, 6);
	static const char *const keep[] = {"category", "published", "limit", NULL};
	page_rows(&pg, s, (const int[]){6, 0}, write_faq, NULL, NULL, keep);
}

void sup_faq_suggest(http_req *req)
{
	const char *q = http_query(req, "q");
	json_t *errors = json_object();
	if (!q || !*q)
		json_object_set_new(errors, "q", json_string("est requis : le sujet de la demande"));
	else if (!util_valid_text(q) || json_utf8_len(q) > 200)
		json_object_set_new(errors, "q", json_string("doit être un texte d'au plus 200 caractères"));
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	/* Any word may match (the best matches first): a subject is short and written in a hurry. */
	const char *query = search_query(http_arena(req), c, q, 1);
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_key(w, "items");
	jw_arr_open(w);
	int rc = query ? run_search(c, w, query, 0, NULL, NULL, SUGGEST_MAX) : ENT_OK;
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	jw_arr_close(w);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

/*
 * A handler's opening: the database and the article {id}, as the caller sees it (admin: drafts
 * too). Returns the database, or NULL after answering (503; 404 for a draft to non-admins).
 */
static db_conn *faq_open(http_req *req, int admin, const char **id_out)
{
	db_conn *c = http_db(req);
	if (!c)
		return NULL;
	const char *id = http_param(req, "id");
	int rc = util_is_uuid(id) ? db_exists(c,
					      admin ? "SELECT 1 FROM support_faq WHERE id = ?"
						    : "SELECT 1 FROM support_faq WHERE id = ? AND published = 1",
					      id, NULL)
				  : 0;
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return NULL;
	}
	if (!rc) {
		http_problem(req, 404, "Cet article n'existe pas ou n'est pas publié.");
		return NULL;
	}
	*id_out = id;
	return c;
}

static void reply_faq(http_req *req, db_conn *c, const char *id, int status)
{
	db_stmt *s = db_prepare(c, "SELECT " FAQ_COLS " FROM support_faq f WHERE f.id = ?");
	int rc = ENT_EDB;
	if (s) {
		db_bind_text(s, 1, id);
		if ((rc = db_step(s)) == DB_ROW)
			write_faq(http_jw(req), s, NULL);
		db_done(s);
	}
	if (rc != DB_ROW) {
		http_problem_err(req, rc < 0 ? rc : ENT_EDB, "L'article n'a pas pu être relu.");
		return;
	}
	http_reply_jw(req, status);
}

void sup_faq_get(http_req *req)
{
	struct sup_viewer v;
	sup_viewer_of(req, &v);
	const char *id;
	db_conn *c = faq_open(req, v.admin, &id);
	if (!c)
		return;
	reply_faq(req, c, id, 200);
}

static const struct jfield faq_fields[] = {
	{"title", JF_STRING, 1, 0, 1, 200, NULL},
	{"body", JF_STRING, 1, 0, 1, 20000, NULL},
	{"category", JF_STRING, 1, 0, 0, 0, sup_categories},
	{"published", JF_BOOL, 0, 0, 0, 0, NULL},
};
#define NFAQ_FIELDS (sizeof(faq_fields) / sizeof(faq_fields[0]))

/* The FAQ's fields, all required for a creation (create), none for a change: the errors object. */
static json_t *faq_check(json_t *body, int create)
{
	struct jfield fields[NFAQ_FIELDS];
	memcpy(fields, faq_fields, sizeof(fields));
	for (size_t i = 0; !create && i < NFAQ_FIELDS; i++)
		fields[i].required = 0;
	return sup_check(body, fields, NFAQ_FIELDS, "title", "body");
}

void sup_faq_create(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	if (http_invalid(req, faq_check(body, 1)))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	char id[37], now[21];
	util_uuid(id);
	sup_now(now, NULL);
	int rc = SQL_RUN(c,
			 "INSERT INTO support_faq (id, title, body, category, published, created_by, created_at,"
			 " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			 SQL_T(id), SQL_T(json_get_str(body, "title", "")), SQL_T(json_get_str(body, "body", "")),
			 SQL_T(json_get_str(body, "category", "")),
			 SQL_I(json_is_true(json_object_get(body, "published"))), SQL_T(http_principal(req)->sub),
			 SQL_T(now), SQL_T(now));
	if (rc < 0) {
		http_problem_err(req, rc, "L'article n'a pas pu être enregistré.");
		return;
	}
	http_set_header(req, "Location", arena_printf(http_arena(req), "/api/support/faq/%s", id));
	reply_faq(req, c, id, 201);
}

void sup_faq_patch(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	const char *id;
	db_conn *c = faq_open(req, 1, &id);
	if (!c)
		return;
	if (http_invalid(req, faq_check(body, 0)))
		return;
	char now[21];
	sup_now(now, NULL);
	json_t *pub = json_object_get(body, "published");
	db_stmt *s = db_prepare(
		c, "UPDATE support_faq SET title = COALESCE(?, title), body = COALESCE(?, body),"
		   " category = COALESCE(?, category), published = COALESCE(CAST(? AS INTEGER), published),"
		   " updated_at = ? WHERE id = ?");
	int rc = ENT_EDB;
	if (s) {
		db_bind_text_or_null(s, 1, json_get_str(body, "title", NULL));
		db_bind_text_or_null(s, 2, json_get_str(body, "body", NULL));
		db_bind_text_or_null(s, 3, json_get_str(body, "category", NULL));
		if (pub)
			db_bind_int64(s, 4, json_is_true(pub));
		else
			db_bind_null(s, 4);
		db_bind_text(s, 5, now);
		db_bind_text(s, 6, id);
		rc = db_step(s);
		db_done(s);
	}
	if (rc < 0) {
		http_problem_err(req, rc, "L'article n'a pas pu être modifié.");
		return;
	}
	reply_faq(req, c, id, 200);
}

void sup_faq_delete(http_req *req)
{
	const char *id;
	db_conn *c = faq_open(req, 1, &id);
	if (!c)
		return;
	int rc = db_begin(c);
	if (!rc)
		rc = db_run(c, "DELETE FROM support_faq_helpful WHERE article_id = ?", id, NULL);
	if (!rc)
		rc = db_run(c, "DELETE FROM support_faq WHERE id = ?", id, NULL);
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (rc)
		http_problem_err(req, rc, "L'article n'a pas pu être supprimé.");
	else
		http_reply_empty(req, 204);
}

void sup_faq_helpful(http_req *req)
{
	const char *id;
	db_conn *c = faq_open(req, 0, &id);
	if (!c)
		return;
	char now[21];
	sup_now(now, NULL);
	int rc = db_begin(c);
	if (!rc) {
		int64_t changed = 0;
		rc = SQL_CHANGE(c, &changed,
				"INSERT INTO support_faq_helpful (article_id, user_id, at) VALUES (?, ?, ?)"
				" ON CONFLICT (article_id, user_id) DO NOTHING",
				SQL_T(id), SQL_T(http_principal(req)->sub), SQL_T(now));
		int counted = rc >= 0 && changed == 1;
		/* Once per person: a second click changes nothing. */
		if (rc >= 0 && counted)
			rc = db_run(c, "UPDATE support_faq SET helpful_count = helpful_count + 1 WHERE id = ?", id,
				    NULL);
		rc = rc < 0 ? (db_rollback(c), rc) : db_commit(c);
	}
	db_stmt *s = rc ? NULL : db_prepare(c, "SELECT helpful_count FROM support_faq WHERE id = ?");
	if (s) {
		db_bind_text(s, 1, id);
		rc = db_step(s);
		if (rc == DB_ROW) {
			jw *w = http_jw(req);
			jw_obj_open(w);
			jw_kint(w, "helpful_count", db_col_int64(s, 0));
			jw_obj_close(w);
		}
		db_done(s);
	} else if (!rc)
		rc = ENT_EDB;
	if (rc != DB_ROW) {
		http_problem_err(req, rc < 0 ? rc : ENT_EDB, "Votre avis n'a pas pu être compté.");
		return;
	}
	http_reply_jw(req, 200);
}
