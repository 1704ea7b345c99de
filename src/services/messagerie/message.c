/*
 * message.c - one message as its reader sees it, a thread, and what only a message's sender may
 * do with it: read receipts, reminders to those who have not acknowledged, recall.
 *
 * A user sees a message only through their own copy (message_boxes, visible): a message they do
 * not hold answers 404, as one that does not exist. What bcc hides: the bcc addresses are written
 * only to the sender; a bcc recipient sees the to and cc addresses and that they were in bcc
 * (my_role), never who else was; read receipts are the sender's alone.
 */
#include "internal.h"

#include <string.h>

#include "bus/bus.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/users/users.h"

void msg_copy_read(arena *a, db_stmt *s, struct msg_copy *m)
{
	const char **f[] = {&m->id,          &m->thread_id,  &m->in_reply_to, &m->forward_of, &m->sender_id,
			    &m->subject,     &m->body,       &m->state,       &m->send_at,    &m->sent_at,
			    &m->recalled_at, &m->created_at, &m->updated_at,  &m->role,       &m->folder,
			    &m->prev_folder, &m->read_at,    &m->acked_at};
	for (int i = 0; i < 18; i++)
		*f[i] = db_col_text(s, i) ? arena_strdup(a, db_col_text(s, i)) : NULL;
	m->ack_required = db_col_int64(s, 18) != 0;
	m->at_us = db_col_int64(s, 19);
}

int msg_copy_load(http_req *req, db_conn *c, const char *id, struct msg_copy *m)
{
	int rc = DB_DONE;
	if (util_is_uuid(id)) {
		db_stmt *s = db_prepare(c, "SELECT " MSG_COPY_COLS MSG_COPY_FROM
					   " WHERE b.message_id = ? AND b.user_id = ? AND b.visible = 1");
		if (!s)
			rc = ENT_EDB;
		else {
			db_bind_text(s, 1, id);
			db_bind_text(s, 2, http_principal(req)->sub);
			if ((rc = db_step(s)) == DB_ROW)
				msg_copy_read(http_arena(req), s, m);
			db_done(s);
		}
	}
	if (rc < 0) {
		http_problem_err(req, rc, "Le message n'a pas pu être lu.");
		return -1;
	}
	if (rc != DB_ROW) {
		http_problem(req, 404, "Ce message n'existe pas ou ne vous est pas visible.");
		return -1;
	}
	return 0;
}

static void write_user(jw *w, const char *key, const char *id, const char *name)
{
	jw_key(w, key);
	jw_obj_open(w);
	jw_kstr(w, "id", id);
	jw_kstr(w, "name", name ? name : "Utilisateur supprimé");
	jw_obj_close(w);
}

int msg_write_addrs(db_conn *c, arena *a, jw *w, const char *key, const char *id, const char *kind)
{
	db_stmt *s = SQL_PREP(
		c,
		kind ? "SELECT type, ref_id FROM message_addresses WHERE message_id = ? AND kind = ? ORDER BY position"
		     : "SELECT type, ref_id FROM message_addresses WHERE message_id = ? AND kind IN ('to', 'cc')"
		       " ORDER BY position",
		SQL_T(id));
	if (!s)
		return ENT_EDB;
	if (kind)
		db_bind_text(s, 2, kind);
	struct {
		const char *type, *id;
	} *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		v[n].type = arena_strdup(a, db_col_text(s, 0));
		v[n++].id = db_col_text(s, 1) ? arena_strdup(a, db_col_text(s, 1)) : NULL;
	}
	db_done(s);
	if (rc < 0)
		return rc;
	jw_key(w, key);
	jw_arr_open(w);
	for (size_t i = 0; i < n; i++) {
		jw_obj_open(w);
		jw_kstr(w, "type", v[i].type);
		if (v[i].id)
			jw_kstr(w, "id", v[i].id);
		jw_kstr(w, "name", msg_addr_label(c, a, v[i].type, v[i].id));
		jw_obj_close(w);
	}
	jw_arr_close(w);
	return ENT_OK;
}

void msg_write_item(db_conn *c, arena *a, jw *w, const struct msg_copy *m, const char *sender_name, int files)
{
	char at[21];
	msg_time(m->at_us, at);
	jw_obj_open(w);
	jw_kstr(w, "id", m->id);
	jw_kstr(w, "thread_id", m->thread_id);
	jw_kstr(w, "subject", m->subject);
	/* A preview: the first 140 characters of the body (the list's query cuts it). */
	jw_kstr(w, "preview", m->body);
	write_user(w, "sender", m->sender_id, sender_name);
	jw_kstr(w, "state", m->state);
	jw_kstr(w, "folder", m->folder);
	jw_kstr(w, "my_role", m->role);
	jw_kstr(w, "at", at);
	jw_kstr(w, "sent_at", m->sent_at);
	jw_kstr(w, "send_at", m->send_at);
	jw_kbool(w, "read", m->read_at != NULL);
	jw_kbool(w, "ack_required", m->ack_required);
	jw_kbool(w, "acked", m->acked_at != NULL);
	jw_kint(w, "attachments", files);
	/* The sender's own copies (sent, drafts) show whom they went to: to and cc, never bcc. */
	if (!strcmp(m->role, "sender") && msg_write_addrs(c, a, w, "recipients", m->id, NULL)) {
		jw_key(w, "recipients");
		jw_arr_open(w);
		jw_arr_close(w);
	}
	jw_obj_close(w);
}

int msg_write(db_conn *c, arena *a, jw *w, const struct msg_copy *m, int full)
{
	int sender = !strcmp(m->role, "sender");
	const char *one = m->sender_id, *name = NULL;
	int rc = users_names(c, a, &one, 1, &name);
	if (rc)
		return rc;
	jw_obj_open(w);
	jw_kstr(w, "id", m->id);
	jw_kstr(w, "thread_id", m->thread_id);
	jw_kstr(w, "in_reply_to", m->in_reply_to);
	jw_kstr(w, "forward_of", m->forward_of);
	jw_kstr(w, "subject", m->subject);
	if (full)
		jw_kstr(w, "body", m->body);
	write_user(w, "sender", m->sender_id, name);
	/* The addresses as written; bcc only for the sender. */
	static const char *const kinds[] = {"to", "cc", "bcc"};
	for (int k = 0; k < 3 && !rc; k++) {
		if (k == 2 && !sender) {
			jw_key(w, kinds[k]);
			jw_arr_open(w);
			jw_arr_close(w);
			break;
		}
		rc = msg_write_addrs(c, a, w, kinds[k], m->id, kinds[k]);
	}
	struct msg_file *files = NULL;
	size_t nfiles = 0;
	if (!rc)
		rc = msg_attach_load(c, a, m->id, &files, &nfiles);
	if (!rc)
		msg_attach_write(w, files, nfiles);
	if (rc)
		return rc;
	jw_kstr(w, "state", m->state);
	jw_kstr(w, "folder", m->folder);
	jw_kstr(w, "my_role", m->role);
	jw_kstr(w, "send_at", m->send_at);
	jw_kstr(w, "sent_at", m->sent_at);
	jw_kstr(w, "created_at", m->created_at);
	jw_kstr(w, "updated_at", m->updated_at);
	jw_kbool(w, "read", m->read_at != NULL);
	jw_kstr(w, "read_at", m->read_at);
	jw_kbool(w, "ack_required", m->ack_required);
	if (!sender)
		jw_kstr(w, "acked_at", m->acked_at);
	else
		jw_kstr(w, "recalled_at", m->recalled_at);
	jw_obj_close(w);
	return ENT_OK;
}

/* ---- GET /api/messages/{id} ---- */

void msg_get(http_req *req)
{
	struct msg_copy m;
	db_conn *c = msg_copy_open(req, &m);
	if (!c)
		return;
	int rc = msg_write(c, http_arena(req), http_jw(req), &m, 1);
	if (rc) {
		http_problem_err(req, rc, "Le message n'a pas pu être lu.");
		return;
	}
	http_reply_jw(req, 200);
}

/* ---- GET /api/messages/threads/{id} ---- */

void msg_thread(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	const char *id = http_param(req, "id");
	struct msg_copy *v = NULL;
	size_t n = 0, cap = 0;
	int rc = DB_DONE;
	if (util_is_uuid(id)) {
		/* The caller's copies only: a reply they did not receive is not part of their thread. */
		db_stmt *s = db_prepare(c,
					"SELECT " MSG_COPY_COLS MSG_COPY_FROM " WHERE m.thread_id = ? AND b.user_id = ?"
					" AND b.visible = 1 ORDER BY b.at_us, m.id LIMIT 500");
		if (!s)
			rc = ENT_EDB;
		else {
			db_bind_text(s, 1, id);
			db_bind_text(s, 2, http_principal(req)->sub);
			while ((rc = db_step(s)) == DB_ROW) {
				v = arena_grow(a, v, n, &cap, sizeof(*v));
				msg_copy_read(a, s, &v[n++]);
			}
			db_done(s);
		}
	}
	if (rc < 0) {
		http_problem_err(req, rc, "La conversation n'a pas pu être lue.");
		return;
	}
	if (!n) {
		http_problem(req, 404, "Cette conversation n'existe pas ou ne vous est pas visible.");
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "thread_id", id);
	jw_key(w, "items");
	jw_arr_open(w);
	for (size_t i = 0; i < n && !rc; i++)
		rc = msg_write(c, a, w, &v[i], 1);
	jw_arr_close(w);
	jw_obj_close(w);
	if (rc) {
		http_problem_err(req, rc, "La conversation n'a pas pu être lue.");
		return;
	}
	http_reply_jw(req, 200);
}

db_conn *msg_copy_open(http_req *req, struct msg_copy *m)
{
	db_conn *c = http_db(req);
	return c && !msg_copy_load(req, c, http_param(req, "id"), m) ? c : NULL;
}

/* msg_copy_open for the sender of a sent message: NULL after answering 503/404/403/409. */
static db_conn *open_sent(http_req *req, struct msg_copy *m)
{
	db_conn *c = msg_copy_open(req, m);
	if (!c)
		return NULL;
	if (strcmp(m->role, "sender")) {
		http_problem(req, 403,
			     "Seul l'expéditeur d'un message voit ses accusés de lecture, le rappelle ou relance.");
		return NULL;
	}
	if (strcmp(m->state, "sent")) {
		http_problem(req, 409, "Ce message n'a pas encore été envoyé.");
		return NULL;
	}
	return c;
}

/* ---- GET /api/messages/{id}/receipts ---- */

void msg_receipts(http_req *req)
{
	const char *pending = http_query(req, "pending");
	if (pending && strcmp(pending, "true") && strcmp(pending, "false")) {
		http_invalid(req, json_pack("{s:s}", "pending", "doit être true ou false"));
		return;
	}
	int only_pending = pending && !strcmp(pending, "true");
	struct msg_copy m;
	db_conn *c = open_sent(req, &m);
	if (!c)
		return;
	arena *a = http_arena(req);
	db_stmt *s = SQL_PREP(c,
			      "SELECT user_id, role, read_at, acked_at FROM message_boxes WHERE message_id = ?"
			      " AND role <> 'sender' ORDER BY user_id",
			      SQL_T(m.id));
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	struct {
		const char *user, *kind, *read_at, *acked_at;
	} *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	int64_t read = 0, acked = 0;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		v[n].user = arena_strdup(a, db_col_text(s, 0));
		v[n].kind = arena_strdup(a, db_col_text(s, 1));
		v[n].read_at = db_col_text(s, 2) ? arena_strdup(a, db_col_text(s, 2)) : NULL;
		v[n].acked_at = db_col_text(s, 3) ? arena_strdup(a, db_col_text(s, 3)) : NULL;
		read += v[n].read_at != NULL;
		acked += v[n].acked_at != NULL;
		n++;
	}
	db_done(s);
	const char **ids = arena_alloc(a, (n ? n : 1) * sizeof(*ids)),
		   **names = arena_alloc(a, (n ? n : 1) * sizeof(*names));
	for (size_t i = 0; i < n; i++)
		ids[i] = v[i].user;
	if (rc >= 0)
		rc = users_names(c, a, ids, n, names);
	if (rc < 0) {
		http_problem_err(req, rc, "Les accusés de lecture n'ont pas pu être lus.");
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "message_id", m.id);
	jw_kbool(w, "ack_required", m.ack_required);
	jw_kint(w, "recipients", (int64_t)n);
	jw_kint(w, "read", read);
	jw_kint(w, "acked", acked);
	jw_key(w, "items");
	jw_arr_open(w);
	for (size_t i = 0; i < n; i++) {
		if (only_pending && (m.ack_required ? v[i].acked_at != NULL : v[i].read_at != NULL))
			continue;
		jw_obj_open(w);
		write_user(w, "user", v[i].user, names[i]);
		jw_kstr(w, "kind", v[i].kind);
		jw_kstr(w, "read_at", v[i].read_at);
		jw_kstr(w, "acked_at", v[i].acked_at);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

/* ---- POST /api/messages/{id}/ack ---- */

void msg_ack(http_req *req)
{
	struct msg_copy m;
	db_conn *c = msg_copy_open(req, &m);
	if (!c)
		return;
	if (!strcmp(m.role, "sender") || !m.ack_required) {
		http_problem(req, 409, "Ce message ne demande pas d'accusé de réception de votre part.");
		return;
	}
	char now[21];
	msg_time(msg_now_us(), now);
	/* Once: a second confirmation keeps the first time. */
	int rc = SQL_RUN(c,
			 "UPDATE message_boxes SET acked_at = COALESCE(acked_at, ?), read_at = COALESCE(read_at, ?)"
			 " WHERE message_id = ? AND user_id = ?",
			 SQL_T(now), SQL_T(now), SQL_T(m.id), SQL_T(http_principal(req)->sub));
	if (rc < 0) {
		http_problem_err(req, rc, "La confirmation n'a pas pu être enregistrée.");
		return;
	}
	const char *me = http_principal(req)->sub;
	msg_push_unread(&me, 1);
	if (msg_copy_load(req, c, m.id, &m))
		return;
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "message_id", m.id);
	jw_kstr(w, "acked_at", m.acked_at);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

/* ---- POST /api/messages/{id}/remind ---- */

void msg_remind(http_req *req)
{
	struct msg_copy m;
	db_conn *c = open_sent(req, &m);
	if (!c)
		return;
	arena *a = http_arena(req);
	if (!m.ack_required) {
		http_problem(req, 409,
			     "Ce message ne demande pas d'accusé de réception : il n'y a personne à relancer.");
		return;
	}
	int rc = db_begin(c);
	const char **users = NULL;
	if (!rc)
		rc = db_texts(c, a,
			      "SELECT user_id FROM message_boxes WHERE message_id = ? AND role <> 'sender'"
			      " AND acked_at IS NULL ORDER BY user_id",
			      m.id, NULL, &users);
	size_t n = rc > 0 ? (size_t)rc : 0;
	if (rc >= 0 && n) {
		/* The reminder brings the message back to the top of each inbox, unread. */
		rc = SQL_RUN(
			c,
			"UPDATE message_boxes SET read_at = NULL, at_us = ?, folder = CASE WHEN folder = 'trash' THEN"
			" COALESCE(prev_folder, 'inbox') ELSE folder END, trashed_at = NULL WHERE message_id = ?"
			" AND role <> 'sender' AND acked_at IS NULL",
			SQL_I(msg_now_us()), SQL_T(m.id));
		if (rc >= 0)
			rc = msg_notify(c, a, m.id, msg_addr_label(c, a, "user", m.sender_id), m.subject, 1, 1, users,
					n);
	}
	rc = rc < 0 ? (db_rollback(c), rc) : db_commit(c);
	if (rc) {
		http_problem_err(req, rc, "La relance n'a pas pu être envoyée.");
		return;
	}
	if (n)
		msg_announce(c, a, m.id, users, n);
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "message_id", m.id);
	jw_kint(w, "reminded", (int64_t)n);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

/* ---- POST /api/messages/{id}/recall ---- */

void msg_recall(http_req *req)
{
	struct msg_copy m;
	db_conn *c = open_sent(req, &m);
	if (!c)
		return;
	arena *a = http_arena(req);
	time_t sent = 0;
	util_parse_rfc3339(m.sent_at, &sent);
	if (time(NULL) - sent > MSG_RECALL_S) {
		http_problem(req, 409, "Un message ne peut être rappelé que dans l'heure qui suit son envoi.");
		return;
	}
	int rc = db_begin(c);
	struct {
		const char *user;
		int read;
	} *v = NULL;
	size_t n = 0, cap = 0;
	db_stmt *s = rc ? NULL
			: db_prepare(
				  c,
				  "SELECT user_id, read_at FROM message_boxes WHERE message_id = ? AND role <> 'sender'"
				  " ORDER BY user_id");
	if (s) {
		db_bind_text(s, 1, m.id);
		while ((rc = db_step(s)) == DB_ROW) {
			v = arena_grow(a, v, n, &cap, sizeof(*v));
			v[n].user = arena_strdup(a, db_col_text(s, 0));
			v[n++].read = !db_col_is_null(s, 1);
		}
		db_done(s);
	} else if (!rc)
		rc = ENT_EDB;
	char now[21];
	msg_time(msg_now_us(), now);
	if (rc >= 0) {
		rc = SQL_RUN(c,
			     "DELETE FROM message_boxes WHERE message_id = ? AND role <> 'sender' AND read_at IS NULL",
			     SQL_T(m.id));
	}
	if (rc >= 0) {
		rc = SQL_RUN(c, "UPDATE messages SET recalled_at = COALESCE(recalled_at, ?) WHERE id = ?", SQL_T(now),
			     SQL_T(m.id));
	}
	rc = rc < 0 ? (db_rollback(c), rc) : db_commit(c);
	const char **ids = arena_alloc(a, (n ? n : 1) * sizeof(*ids)),
		   **names = arena_alloc(a, (n ? n : 1) * sizeof(*names));
	for (size_t i = 0; i < n; i++)
		ids[i] = v[i].user;
	if (!rc)
		rc = users_names(c, a, ids, n, names);
	if (rc) {
		http_problem_err(req, rc, "Le rappel n'a pas pu être fait.");
		return;
	}
	const char **gone = arena_alloc(a, (n ? n : 1) * sizeof(*gone));
	size_t ngone = 0;
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "message_id", m.id);
	for (int pass = 0; pass < 2; pass++) {
		jw_key(w, pass ? "already_read" : "recalled");
		jw_arr_open(w);
		for (size_t i = 0; i < n; i++) {
			if (v[i].read != pass)
				continue;
			if (!pass)
				gone[ngone++] = v[i].user;
			jw_obj_open(w);
			jw_kstr(w, "id", v[i].user);
			jw_kstr(w, "name", names[i] ? names[i] : "Utilisateur supprimé");
			jw_obj_close(w);
		}
		jw_arr_close(w);
	}
	jw_obj_close(w);
	char data[64];
	snprintf(data, sizeof(data), "{\"id\":\"%s\"}", m.id);
	msg_push(gone, ngone, "recalled", m.id, data);
	msg_push_unread(gone, ngone);
	http_reply_jw(req, 200);
}
