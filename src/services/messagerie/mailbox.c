/*
 * mailbox.c - a user's mailbox: the folders (inbox, sent, drafts, trash and the user's own) with
 * their unread counts, the list of a folder, moving, read marks, the trash and its restore, and
 * the full-text search.
 *
 * Everything here reads and writes the caller's own message_boxes rows only (user_id = the
 * caller): another user's copy of the same message is never touched or seen. A message leaves
 * the database when its last copy is deleted (msg_collect).
 *
 * Search: SQLite's FTS5 (messages_fts, accents folded) or PostgreSQL's full text with the
 * 'french' configuration (a GIN index on messages_fts). The two differ in the MATCH clause and in
 * the join's order (SQLite starts from the caller's copies, below), chosen in search_sql(); both
 * join the caller's copies, so the search never returns another user's mail.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/json.h"
#include "core/page.h"
#include "core/rcache.h"
#include "core/sql.h"
#include "core/util.h"
#include "services/users/users.h"

static const char *const system_folders[] = {"inbox", "sent", "drafts", "trash", NULL};
static const char *const folder_names[] = {"Boîte de réception", "Envoyés", "Brouillons", "Corbeille"};

/* ---- removal ---- */

int msg_collect(db_conn *c, const char *id)
{
	/*
	 * The message row is locked first (a no-op update): two transactions deleting the last two
	 * copies at once (two users, or two processes purging trash) would otherwise each still see
	 * the other's copy and neither would remove the message. Locked, the second one waits for the
	 * first to commit and then sees that no copy is left.
	 */
	int rc = db_run(c, "UPDATE messages SET updated_at = updated_at WHERE id = ?", id, NULL);
	if (rc < 0)
		return rc;
	rc = db_exists(c, "SELECT 1 FROM message_boxes WHERE message_id = ?", id, NULL);
	if (rc)
		return rc < 0 ? rc : ENT_OK;
	return msg_remove(c, id);
}

int msg_remove(db_conn *c, const char *id)
{
	static const char *const sqls[] = {
		"DELETE FROM message_boxes WHERE message_id = ?",
		"DELETE FROM message_addresses WHERE message_id = ?",
		"DELETE FROM message_attachments WHERE message_id = ?",
		"DELETE FROM messages_fts WHERE message_id = ?",
		"DELETE FROM messages WHERE id = ?",
	};
	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
		/* SQLite: FTS5 finds a row by its rowid only (message_id is not indexed there). */
		const char *sql =
			i == 3 && db_conn_kind(c) == DB_SQLITE
				? "DELETE FROM messages_fts WHERE rowid = (SELECT search_rowid FROM messages WHERE id = ?)"
				: sqls[i];
		int rc = db_run(c, sql, id, NULL);
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

int msg_purge_trash(db_conn *c)
{
	char before[21];
	util_time_rfc3339(time(NULL) - (time_t)MSG_TRASH_DAYS * 86400, before);
	db_stmt *s = SQL_PREP(
		c, "SELECT message_id, user_id FROM message_boxes WHERE folder = 'trash' AND trashed_at < ? LIMIT 500",
		SQL_T(before));
	if (!s)
		return ENT_EDB;
	arena *a = arena_new(0);
	const char **v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, 2 * sizeof(*v));
		v[2 * n] = arena_strdup(a, db_col_text(s, 0));
		v[2 * n + 1] = arena_strdup(a, db_col_text(s, 1));
		n++;
	}
	db_done(s);
	int purged = 0;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		if ((rc = db_begin(c)))
			break;
		rc = db_run(c, "DELETE FROM message_boxes WHERE message_id = ? AND user_id = ? AND folder = 'trash'",
			    v[2 * i], v[2 * i + 1]);
		if (!rc)
			rc = msg_collect(c, v[2 * i]);
		rc = rc ? (db_rollback(c), rc) : db_commit(c);
		purged += !rc;
	}
	arena_free(a);
	return rc < 0 ? rc : purged;
}

/* ---- folders ---- */

static void folders_page(http_req *req, db_conn *c, const char *me);

/* 1 if folder (a system name or the id of one of user's folders) is one of user's; 0; or an error. */
static int folder_exists(db_conn *c, const char *user, const char *folder)
{
	for (int i = 0; system_folders[i]; i++)
		if (!strcmp(folder, system_folders[i]))
			return 1;
	if (!util_is_uuid(folder))
		return 0;
	return db_exists(c, "SELECT 1 FROM message_folders WHERE id = ? AND owner_id = ?", folder, user);
}

/* GET /api/messages/folders, through the answer cache: it reads the caller's mailbox alone ("m:"). */
void msg_folders_list(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *me = http_principal(req)->sub;
	if (rcache_begin(req, c, arena_printf(http_arena(req), "msg-folders|%s", me)))
		return;
	rcache_dep(req, "m", me);
	folders_page(req, c, me);
	rcache_end(req, c);
}

/* The folders of me with their counts, answered. */
static void folders_page(http_req *req, db_conn *c, const char *me)
{
	arena *a = http_arena(req);
	/* Counts per folder, then the folders in order: the four system ones, the user's by name. */
	db_stmt *s = SQL_PREP(c,
			      "SELECT folder, COUNT(*), SUM(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END)"
			      " FROM message_boxes WHERE user_id = ? AND visible = 1 GROUP BY folder",
			      SQL_T(me));
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	struct count {
		const char *folder;
		int64_t total, unread;
	} *cv = NULL;
	size_t nc = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		cv = arena_grow(a, cv, nc, &cap, sizeof(*cv));
		cv[nc].folder = arena_strdup(a, db_col_text(s, 0));
		cv[nc].total = db_col_int64(s, 1);
		cv[nc++].unread = db_col_int64(s, 2);
	}
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, "Les dossiers n'ont pas pu être lus.");
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_key(w, "items");
	jw_arr_open(w);
	for (int pass = 0; pass < 2; pass++) {
		const char **ids = NULL, **names = NULL;
		size_t n = 0, ncap = 0, icap = 0;
		if (!pass) {
			ids = (const char **)system_folders;
			names = (const char **)folder_names;
			n = 4;
		} else {
			s = SQL_PREP(c, "SELECT id, name FROM message_folders WHERE owner_id = ? ORDER BY name, id",
				     SQL_T(me));
			if (!s) {
				rc = ENT_EDB;
				break;
			}
			while ((rc = db_step(s)) == DB_ROW) {
				ids = arena_grow(a, ids, n, &icap, sizeof(*ids));
				names = arena_grow(a, names, n, &ncap, sizeof(*names));
				ids[n] = arena_strdup(a, db_col_text(s, 0));
				names[n++] = arena_strdup(a, db_col_text(s, 1));
			}
			db_done(s);
		}
		for (size_t i = 0; i < n; i++) {
			int64_t total = 0, unread = 0;
			for (size_t k = 0; k < nc; k++)
				if (!strcmp(cv[k].folder, ids[i])) {
					total = cv[k].total;
					unread = cv[k].unread;
				}
			jw_obj_open(w);
			jw_kstr(w, "id", ids[i]);
			jw_kstr(w, "name", names[i]);
			jw_kbool(w, "system", !pass);
			jw_kint(w, "total", total);
			jw_kint(w, "unread", unread);
			jw_obj_close(w);
		}
	}
	jw_arr_close(w);
	jw_obj_close(w);
	if (rc < 0) {
		http_problem_err(req, rc, "Les dossiers n'ont pas pu être lus.");
		return;
	}
	http_reply_jw(req, 200);
}

static const struct jfield folder_fields[] = {{"name", JF_STRING, 1, 0, 1, MSG_FOLDER_NAME_MAX, NULL}};

/* Validates {"name"}: the name, or NULL after answering 400. */
static const char *folder_name(http_req *req, json_t *body)
{
	json_t *errors = json_object();
	json_check(body, folder_fields, 1, errors);
	msg_check_text(body, "name", 0, errors);
	const char *name = json_get_str(body, "name", NULL);
	for (int i = 0; name && !json_object_get(errors, "name") && i < 4; i++)
		if (!strcasecmp(name, folder_names[i]) || !strcmp(name, system_folders[i]))
			json_object_set_new(errors, "name", json_string("est le nom d'un dossier de la messagerie"));
	if (http_invalid(req, errors))
		return NULL;
	return name;
}

static void write_folder(http_req *req, const char *id, const char *name, int status)
{
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "id", id);
	jw_kstr(w, "name", name);
	jw_kbool(w, "system", 0);
	jw_obj_close(w);
	http_reply_jw(req, status);
}

/*
 * The opening of a handler that names a folder: the body's valid name and the database, or NULL
 * after answering (400, 503).
 */
static db_conn *folder_open(http_req *req, const char **name)
{
	json_t *body = http_json_body(req);
	if (!body || !(*name = folder_name(req, body)))
		return NULL;
	return http_db(req);
}

/* After writing a folder's name: 0, or -1 after answering the failure (409 for a name taken). */
static int folder_failed(http_req *req, int rc, const char *failed)
{
	if (rc == ENT_ECONFLICT) {
		http_problem_errors(req, 409, "Vous avez déjà un dossier de ce nom.",
				    json_pack("{s:s}", "name", "est déjà pris"));
		return -1;
	}
	if (rc < 0) {
		http_problem_err(req, rc, failed);
		return -1;
	}
	return 0;
}

void msg_folders_create(http_req *req)
{
	const char *name;
	db_conn *c = folder_open(req, &name);
	if (!c)
		return;
	char id[37], now[21];
	util_uuid(id);
	util_time_rfc3339(time(NULL), now);
	int n = db_exists(c, "SELECT COUNT(*) FROM message_folders WHERE owner_id = ? HAVING COUNT(*) >= 100",
			  http_principal(req)->sub, NULL);
	if (n > 0) {
		http_problem(req, 409, "Vous avez déjà 100 dossiers.");
		return;
	}
	int rc = n < 0 ? n
		       : SQL_RUN(c, "INSERT INTO message_folders (id, owner_id, name, created_at) VALUES (?, ?, ?, ?)",
				 SQL_T(id), SQL_T(http_principal(req)->sub), SQL_T(name), SQL_T(now));
	if (folder_failed(req, rc, "Le dossier n'a pas pu être créé."))
		return;
	write_folder(req, id, name, 201);
}

void msg_folders_patch(http_req *req)
{
	const char *name;
	db_conn *c = folder_open(req, &name);
	if (!c)
		return;
	const char *id = http_param(req, "id");
	int64_t changed = 0;
	int rc = util_is_uuid(id)
			 ? SQL_CHANGE(c, &changed, "UPDATE message_folders SET name = ? WHERE id = ? AND owner_id = ?",
				      SQL_T(name), SQL_T(id), SQL_T(http_principal(req)->sub))
			 : ENT_ENOTFOUND;
	if (rc == ENT_ENOTFOUND || (rc >= 0 && !changed)) {
		http_problem(req, 404, "Ce dossier n'existe pas.");
		return;
	}
	if (folder_failed(req, rc, "Le dossier n'a pas pu être renommé."))
		return;
	write_folder(req, id, name, 200);
}

void msg_folders_delete(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *id = http_param(req, "id"), *me = http_principal(req)->sub;
	int rc = util_is_uuid(id) ? folder_exists(c, me, id) : 0;
	if (rc <= 0) {
		if (rc < 0)
			http_problem_err(req, rc, NULL);
		else
			http_problem(req, 404, "Ce dossier n'existe pas.");
		return;
	}
	/* Its messages go back where they came from: the inbox, or sent for the user's own messages. */
	if (!(rc = db_begin(c))) {
		rc = db_run(c,
			    "UPDATE message_boxes SET folder = CASE WHEN role = 'sender' THEN 'sent' ELSE 'inbox' END"
			    " WHERE user_id = ? AND folder = ?",
			    me, id);
		if (!rc)
			rc = db_run(c,
				    "UPDATE message_boxes SET prev_folder = NULL WHERE user_id = ? AND prev_folder = ?",
				    me, id);
		if (!rc)
			rc = db_run(c, "DELETE FROM message_folders WHERE id = ? AND owner_id = ?", id, me);
		rc = rc ? (db_rollback(c), rc) : db_commit(c);
	}
	if (rc) {
		http_problem_err(req, rc, "Le dossier n'a pas pu être supprimé.");
		return;
	}
	http_reply_empty(req, 204);
}

/* ---- lists ---- */

#define LIST_COLS                                                                                                      \
	"m.id, m.thread_id, m.in_reply_to, m.forward_of, m.sender_id, m.subject, substr(m.body, 1, 140), m.state, "    \
	"m.send_at, m.sent_at, m.recalled_at, m.created_at, m.updated_at, b.role, b.folder, b.prev_folder, "           \
	"b.read_at, b.acked_at, m.ack_required, b.at_us, "                                                             \
	"(SELECT COUNT(*) FROM message_attachments x WHERE x.message_id = m.id)"
#define LIST_WHERE " WHERE b.user_id = ? AND b.visible = 1 AND b.folder = ? AND (? = 0 OR b.read_at IS NULL)"
#define LIST_ORDER " ORDER BY b.at_us DESC, b.message_id DESC LIMIT ?"
#define LIST_AFTER " AND (b.at_us < ? OR (b.at_us = ? AND b.message_id < ?))"

/*
 * Reads the rows of s into the page, with the senders' names. Inside rcache_begin() (the inbox),
 * names each sender's scope: their name is in the answer. Returns 0 or an ent_err.
 */
static int write_page(http_req *req, db_conn *c, arena *a, db_stmt *s, page *pg)
{
	struct msg_copy *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		msg_copy_read(a, s, &v[n]);
		v[n++].nfiles = (int)db_col_int64(s, 20);
	}
	db_done(s);
	if (rc < 0)
		return rc;
	const char **ids = arena_alloc(a, (n ? n : 1) * sizeof(*ids)),
		   **names = arena_alloc(a, (n ? n : 1) * sizeof(*names));
	for (size_t i = 0; i < n; i++) {
		ids[i] = v[i].sender_id;
		rcache_dep(req, "u", v[i].sender_id);
	}
	if ((rc = users_names(c, a, ids, n, names)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		char at[24];
		snprintf(at, sizeof(at), "%lld", (long long)v[i].at_us);
		const char *keys[2] = {at, v[i].id};
		jw *w = page_item(pg, keys);
		if (!w)
			break;
		msg_write_item(c, a, w, &v[i], names[i], v[i].nfiles);
	}
	return ENT_OK;
}

/* The cursor's time key, or -1 when it is not a number. */
static int64_t cursor_at(const page *pg)
{
	int64_t v;
	return util_parse_int64(pg->after[0], 0, INT64_MAX, &v) ? -1 : v;
}

/*
 * The end of a list handler: binds the cursor and the page's size to s after its three values
 * (the statement of LIST_AFTER and LIST_ORDER, NULL when it could not be prepared), writes the
 * page and answers, failed naming what could not be read.
 */
static void list_reply(http_req *req, db_conn *c, db_stmt *s, page *pg, const char *failed, const char *const *keep)
{
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	int k = 4;
	if (pg->has_cursor) {
		db_bind_int64(s, k++, cursor_at(pg));
		db_bind_int64(s, k++, cursor_at(pg));
		db_bind_text(s, k++, pg->after[1]);
	}
	db_bind_int64(s, k, page_fetch(pg));
	int rc = write_page(req, c, http_arena(req), s, pg);
	if (rc) {
		http_problem_err(req, rc, failed);
		return;
	}
	page_reply(pg, keep);
}

/*
 * The start of a list handler after its own checks (in errors): the cursor checked, then the
 * database; NULL after answering (400, 503).
 */
static db_conn *list_open(http_req *req, page *pg, json_t *errors)
{
	if (pg->has_cursor && cursor_at(pg) < 0)
		json_object_set_new(errors, "cursor", json_string(PAGE_BAD_CURSOR));
	return http_invalid(req, errors) ? NULL : http_db(req);
}

static void list_folder(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "messages", 2))
		return;
	const char *folder = http_query(req, "folder"), *unread = http_query(req, "unread");
	json_t *errors = json_object();
	if (!folder)
		folder = "inbox";
	if (unread && strcmp(unread, "true") && strcmp(unread, "false"))
		json_object_set_new(errors, "unread", json_string("doit être true ou false"));
	if (strlen(folder) > 36)
		json_object_set_new(errors, "folder",
				    json_string("doit être inbox, sent, drafts, trash ou l'un de vos dossiers"));
	db_conn *c = list_open(req, &pg, errors);
	if (!c)
		return;
	const char *me = http_principal(req)->sub;
	int rc = folder_exists(c, me, folder);
	if (rc <= 0) {
		if (rc < 0)
			http_problem_err(req, rc, NULL);
		else
			http_invalid(req, json_pack("{s:s}", "folder",
						    "doit être inbox, sent, drafts, trash ou l'un de vos dossiers"));
		return;
	}
	db_stmt *s = SQL_PREP(c,
			      pg.has_cursor ? "SELECT " LIST_COLS MSG_COPY_FROM LIST_WHERE LIST_AFTER LIST_ORDER
					    : "SELECT " LIST_COLS MSG_COPY_FROM LIST_WHERE LIST_ORDER,
			      SQL_T(me), SQL_T(folder), SQL_I(unread && !strcmp(unread, "true")));
	static const char *const keep[] = {"folder", "unread", "limit", NULL};
	list_reply(req, c, s, &pg, "La liste des messages n'a pas pu être lue.", keep);
}

/*
 * GET /api/messages. The inbox's pages go through the answer cache (core/rcache.h): they read the
 * caller's copies alone ("m:<caller>", messagerie migration 5) and the senders' names ("u:").
 * The key holds the query's arguments as given: only an answer of 200 is stored, so an argument
 * refused (400) never reaches a stored answer. The other folders may hold the caller's own
 * messages, whose items name their recipients (classes, courses): they are not cached.
 */
void msg_list(http_req *req)
{
	const char *folder = http_query(req, "folder");
	if (folder && strcmp(folder, "inbox")) {
		list_folder(req);
		return;
	}
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *unread = http_query(req, "unread"), *limit = http_query(req, "limit"),
		   *cursor = http_query(req, "cursor"), *me = http_principal(req)->sub;
	const char *key = arena_printf(http_arena(req), "msg-inbox|%s|%zu:%s|%zu:%s|%s", me,
				       unread ? strlen(unread) : 0, unread ? unread : "", limit ? strlen(limit) : 0,
				       limit ? limit : "", cursor ? cursor : "");
	if (rcache_begin(req, c, key))
		return;
	rcache_dep(req, "m", me);
	list_folder(req);
	rcache_end(req, c);
}

/* ---- search ---- */

/*
 * The FTS5 query of user me for what they typed: me's word in the column owners (MSG_OWNERS_SQL,
 * internal.h: 'u' and the hexadecimal of the id, as SQLite's hex() writes it) and, in the subject
 * or the body, each word typed, quoted (so no character of the FTS5 syntax means anything) and
 * matched as a prefix, all words required. NULL when q has no word. A word is cut to its first
 * PREFIX_MAX characters, the longest prefix messages_fts keeps an index of (messagerie.c, migration
 * 4): a longer one would make FTS5 gather the rows of every word that begins so.
 */
#define PREFIX_MAX 10
static const char *fts5_query(arena *a, const char *me, const char *q)
{
	buf b;
	buf_init(&b, 4096);
	buf_addstr(&b, "owners:\"u");
	for (const unsigned char *u = (const unsigned char *)me; *u; u++)
		buf_printf(&b, "%02X", *u);
	buf_addstr(&b, "\" AND {subject body}:(");
	const unsigned char *p = (const unsigned char *)q;
	int words = 0;
	while (*p) {
		while (*p && !(*p >= 0x80 || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
			p++;
		const unsigned char *start = p, *cut = NULL;
		int chars = 0;
		while (*p >= 0x80 || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')) {
			/* A character starts at every byte but UTF-8's continuation bytes. */
			if ((*p & 0xc0) != 0x80 && ++chars == PREFIX_MAX + 1)
				cut = p;
			p++;
		}
		if (p > start) {
			const unsigned char *end = cut ? cut : p;
			buf_printf(&b, "%s\"%.*s\"*", words++ ? " " : "", (int)(end - start), (const char *)start);
		}
	}
	buf_addstr(&b, ")");
	size_t len;
	char *s = buf_take(&b, &len);
	const char *out = words && s ? arena_strdup(a, s) : NULL;
	free(s);
	return out;
}

#define SEARCH_WHERE " AND b.user_id = ? AND b.visible = 1 AND (? = 0 OR b.folder <> 'trash')"
/*
 * SQLite: FTS5 gives the messages of the caller's index word that hold the words typed (about 0.1
 * ms: the intersection of the two words' lists), each joined to the caller's visible copy (the
 * copies decide what the caller sees, never the index). CROSS JOIN keeps that order.
 */
#define SEARCH_SQLITE(after)                                                                                           \
	"SELECT " LIST_COLS " FROM messages_fts f CROSS JOIN message_boxes b CROSS JOIN messages m"                    \
	" WHERE messages_fts MATCH ? AND b.message_id = f.message_id AND m.id = b.message_id" SEARCH_WHERE after       \
		LIST_ORDER
/*
 * PostgreSQL: from the caller's copies, each message's stored French vector (migration 6) tested
 * against the query; the GIN index serves a rarer word when the planner prefers it.
 */
#define SEARCH_PG(after)                                                                                               \
	"SELECT " LIST_COLS " FROM message_boxes b JOIN messages_fts f ON f.message_id = b.message_id"                 \
	" JOIN messages m ON m.id = b.message_id WHERE f.search @@ plainto_tsquery('french', ?)" SEARCH_WHERE after    \
		LIST_ORDER

/* The one place the two engines' SQL differ. */
static const char *search_sql(db_conn *c, int after)
{
	if (db_conn_kind(c) == DB_POSTGRES)
		return after ? SEARCH_PG(LIST_AFTER) : SEARCH_PG("");
	return after ? SEARCH_SQLITE(LIST_AFTER) : SEARCH_SQLITE("");
}

void msg_search(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "messages-search", 2))
		return;
	const char *q = http_query(req, "q"), *trash = http_query(req, "include_trash");
	json_t *errors = json_object();
	if (!q || !*q || json_utf8_len(q) > 200 || !util_valid_text(q))
		json_object_set_new(errors, "q", json_string("est obligatoire : un texte de 1 à 200 caractères"));
	if (trash && strcmp(trash, "true") && strcmp(trash, "false"))
		json_object_set_new(errors, "include_trash", json_string("doit être true ou false"));
	db_conn *c = list_open(req, &pg, errors);
	if (!c)
		return;
	arena *a = http_arena(req);
	const char *match = db_conn_kind(c) == DB_POSTGRES ? q : fts5_query(a, http_principal(req)->sub, q);
	if (!match) {
		page_reply(&pg, (const char *const[]){"q", NULL}); /* nothing searchable in q: no result */
		return;
	}
	db_stmt *s = SQL_PREP(c, search_sql(c, pg.has_cursor), SQL_T(match), SQL_T(http_principal(req)->sub),
			      SQL_I(!(trash && !strcmp(trash, "true"))));
	static const char *const keep[] = {"q", "include_trash", "limit", NULL};
	list_reply(req, c, s, &pg, "La recherche n'a pas pu être faite.", keep);
}

/* ---- one message in the mailbox ---- */

void msg_move(http_req *req)
{
	static const struct jfield fields[] = {{"folder", JF_STRING, 1, 0, 1, 36, NULL}};
	json_t *body = msg_body(req, fields, 1);
	if (!body)
		return;
	const char *folder = json_get_str(body, "folder", "");
	struct msg_copy m;
	db_conn *c = msg_copy_open(req, &m);
	if (!c)
		return;
	const char *me = http_principal(req)->sub;
	int rc = folder_exists(c, me, folder);
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	int sender = !strcmp(m.role, "sender");
	if (!rc || !strcmp(folder, "drafts") || (!strcmp(folder, "sent") && !sender) ||
	    (!strcmp(folder, "inbox") && sender)) {
		http_invalid(req, json_pack("{s:s}", "folder",
					    sender ? "doit être sent, trash ou l'un de vos dossiers"
						   : "doit être inbox, trash ou l'un de vos dossiers"));
		return;
	}
	if (strcmp(m.state, "sent")) {
		http_problem(req, 409, "Un brouillon ou un message programmé reste dans ses dossiers.");
		return;
	}
	char now[21];
	util_time_rfc3339(time(NULL), now);
	int to_trash = !strcmp(folder, "trash"), in_trash = !strcmp(m.folder, "trash");
	rc = SQL_RUN(
		c,
		"UPDATE message_boxes SET folder = ?, prev_folder = ?, trashed_at = ? WHERE message_id = ? AND user_id = ?",
		SQL_T(folder), SQL_T(to_trash ? (in_trash ? m.prev_folder : m.folder) : NULL),
		SQL_T(to_trash ? now : NULL), SQL_T(m.id), SQL_T(me));
	if (rc < 0) {
		http_problem_err(req, rc, "Le message n'a pas pu être déplacé.");
		return;
	}
	msg_push_unread(&me, 1);
	http_reply_empty(req, 204);
}

static void set_read(http_req *req, int read)
{
	struct msg_copy m;
	db_conn *c = msg_copy_open(req, &m);
	if (!c)
		return;
	char now[21];
	msg_time(msg_now_us(), now);
	const char *me = http_principal(req)->sub;
	int rc =
		read ? SQL_RUN(c,
			       "UPDATE message_boxes SET read_at = COALESCE(read_at, ?) WHERE message_id = ? AND user_id = ?",
			       SQL_T(now), SQL_T(m.id), SQL_T(me))
		     : SQL_RUN(c, "UPDATE message_boxes SET read_at = NULL WHERE message_id = ? AND user_id = ?",
			       SQL_T(m.id), SQL_T(me));
	if (rc < 0) {
		http_problem_err(req, rc, "La marque de lecture n'a pas pu être enregistrée.");
		return;
	}
	msg_push_unread(&me, 1);
	http_reply_empty(req, 204);
}

void msg_read_put(http_req *req) { set_read(req, 1); }
void msg_read_delete(http_req *req) { set_read(req, 0); }

void msg_delete(http_req *req)
{
	struct msg_copy m;
	db_conn *c = msg_copy_open(req, &m);
	if (!c)
		return;
	const char *me = http_principal(req)->sub;
	int rc = db_begin(c);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	if (!strcmp(m.role, "sender") && strcmp(m.state, "sent")) {
		/* A draft is discarded; a scheduled message is cancelled: nobody else ever had it. */
		rc = msg_remove(c, m.id);
	} else if (!strcmp(m.folder, "trash")) {
		rc = db_run(c, "DELETE FROM message_boxes WHERE message_id = ? AND user_id = ?", m.id, me);
		if (!rc)
			rc = msg_collect(c, m.id);
	} else {
		char now[21];
		util_time_rfc3339(time(NULL), now);
		rc = SQL_RUN(c,
			     "UPDATE message_boxes SET prev_folder = folder, folder = 'trash', trashed_at = ?"
			     " WHERE message_id = ? AND user_id = ?",
			     SQL_T(now), SQL_T(m.id), SQL_T(me));
		rc = rc < 0 ? rc : ENT_OK;
	}
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (rc) {
		http_problem_err(req, rc, "Le message n'a pas pu être supprimé.");
		return;
	}
	msg_push_unread(&me, 1);
	http_reply_empty(req, 204);
}

void msg_restore(http_req *req)
{
	struct msg_copy m;
	db_conn *c = msg_copy_open(req, &m);
	if (!c)
		return;
	if (strcmp(m.folder, "trash")) {
		http_problem(req, 409, "Ce message n'est pas dans la corbeille.");
		return;
	}
	const char *me = http_principal(req)->sub;
	const char *back = !strcmp(m.role, "sender") ? "sent" : "inbox";
	if (m.prev_folder) {
		int rc = folder_exists(c, me, m.prev_folder);
		if (rc < 0) {
			http_problem_err(req, rc, NULL);
			return;
		}
		if (rc && strcmp(m.prev_folder, "trash"))
			back = m.prev_folder;
	}
	int rc = SQL_RUN(c,
			 "UPDATE message_boxes SET folder = ?, prev_folder = NULL, trashed_at = NULL"
			 " WHERE message_id = ? AND user_id = ?",
			 SQL_T(back), SQL_T(m.id), SQL_T(me));
	if (rc < 0) {
		http_problem_err(req, rc, "Le message n'a pas pu être restauré.");
		return;
	}
	msg_push_unread(&me, 1);
	if (msg_copy_load(req, c, m.id, &m))
		return;
	rc = msg_write(c, http_arena(req), http_jw(req), &m, 1);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	http_reply_jw(req, 200);
}
