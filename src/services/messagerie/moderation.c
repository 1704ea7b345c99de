/*
 * moderation.c - what protects people from a sender: any recipient reports a message to the
 * administrators (harassment, spam, other), the administrators list the reports, close them, and
 * may suspend a user's sending or give them limits of their own (message_senders).
 *
 * A report keeps a copy of the subject and text as the recipient received them, so that the
 * evidence survives a recall or the deletion of every copy. Only the recipient who reports and
 * the administrators see it; the sender is not told. A suspended sender's messages answer 403
 * with the administrators' reason (compose.c); their drafts stay, and they may still read.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "core/page.h"
#include "core/sql.h"
#include "core/util.h"
#include "services/users/users.h"

static const char *const reasons[] = {"harassment", "spam", "inappropriate", "other", NULL};
static const char *const statuses[] = {"open", "closed", NULL};

/* ---- POST /api/messages/{id}/report ---- */

void msg_report(http_req *req)
{
	static const struct jfield fields[] = {
		{"reason", JF_STRING, 1, 0, 0, 0, reasons},
		{"comment", JF_STRING, 0, 1, 0, 1000, NULL},
	};
	json_t *body = msg_body_text(req, fields, 2, "comment", 1);
	if (!body)
		return;
	const char *comment = json_get_str(body, "comment", NULL);
	struct msg_copy m;
	db_conn *c = msg_copy_open(req, &m);
	if (!c)
		return;
	if (!strcmp(m.role, "sender")) {
		http_problem(req, 409, "On signale un message reçu, pas un message que l'on a envoyé.");
		return;
	}
	char id[37], now[21];
	util_uuid(id);
	int64_t now_us = msg_now_us();
	msg_time(now_us, now);
	int rc = SQL_RUN(c,
			 "INSERT INTO message_reports (id, message_id, reporter_id, sender_id, reason, comment,"
			 " subject, body, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			 SQL_T(id), SQL_T(m.id), SQL_T(http_principal(req)->sub), SQL_T(m.sender_id),
			 SQL_T(json_get_str(body, "reason", "other")), SQL_T(comment), SQL_T(m.subject), SQL_T(m.body),
			 SQL_I(now_us));
	if (rc == ENT_ECONFLICT) {
		http_problem(req, 409, "Vous avez déjà signalé ce message : l'administration l'examinera.");
		return;
	}
	if (rc < 0) {
		http_problem_err(req, rc, "Le signalement n'a pas pu être enregistré.");
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "id", id);
	jw_kstr(w, "message_id", m.id);
	jw_kstr(w, "reason", json_get_str(body, "reason", "other"));
	jw_kstr(w, "status", "open");
	jw_kstr(w, "created_at", now);
	jw_obj_close(w);
	http_reply_jw(req, 201);
}

/* ---- GET /api/messages/reports (administrators) ---- */

#define REPORT_COLS                                                                                                    \
	"r.id, r.message_id, r.reporter_id, r.sender_id, r.reason, r.comment, r.subject, r.body, r.status,"            \
	" r.created_us, r.handled_by, r.handled_at,"                                                                   \
	" (SELECT suspended FROM message_senders x WHERE x.user_id = r.sender_id)"

/* One report as read by REPORT_COLS (arena copies). */
struct report {
	const char *col[12];
	int64_t created_us;
	int suspended;
};

static void report_read(arena *a, db_stmt *s, struct report *r)
{
	for (int i = 0; i < 12; i++)
		r->col[i] = db_col_text(s, i) ? arena_strdup(a, db_col_text(s, i)) : NULL;
	r->created_us = db_col_int64(s, 9);
	r->suspended = db_col_int64(s, 12) != 0;
}

static void write_report(jw *w, const struct report *r, const char *sender_name, const char *reporter_name)
{
	char at[21];
	msg_time(r->created_us, at);
	jw_obj_open(w);
	jw_kstr(w, "id", r->col[0]);
	jw_key(w, "message");
	jw_obj_open(w);
	jw_kstr(w, "id", r->col[1]);
	jw_kstr(w, "subject", r->col[6]);
	jw_kstr(w, "body", r->col[7]);
	jw_obj_close(w);
	jw_key(w, "sender");
	jw_obj_open(w);
	jw_kstr(w, "id", r->col[3]);
	jw_kstr(w, "name", sender_name ? sender_name : "Utilisateur supprimé");
	jw_kbool(w, "suspended", r->suspended);
	jw_obj_close(w);
	jw_key(w, "reporter");
	jw_obj_open(w);
	jw_kstr(w, "id", r->col[2]);
	jw_kstr(w, "name", reporter_name ? reporter_name : "Utilisateur supprimé");
	jw_obj_close(w);
	jw_kstr(w, "reason", r->col[4]);
	jw_kstr(w, "comment", r->col[5]);
	jw_kstr(w, "status", r->col[8]);
	jw_kstr(w, "created_at", at);
	jw_kstr(w, "handled_at", r->col[11]);
	jw_obj_close(w);
}

/* Reads the reports of s (stepped to the end) with their names into *out. 0 or an ent_err. */
static int reports_read(db_conn *c, arena *a, db_stmt *s, struct report **out, size_t *n, const char ***names)
{
	size_t cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	while ((rc = db_step(s)) == DB_ROW) {
		*out = arena_grow(a, *out, *n, &cap, sizeof(**out));
		report_read(a, s, &(*out)[(*n)++]);
	}
	db_done(s);
	if (rc < 0)
		return rc;
	const char **ids = arena_alloc(a, (2 * *n + 1) * sizeof(*ids));
	*names = arena_alloc(a, (2 * *n + 1) * sizeof(**names));
	for (size_t i = 0; i < *n; i++) {
		ids[2 * i] = (*out)[i].col[3];
		ids[2 * i + 1] = (*out)[i].col[2];
	}
	return users_names(c, a, ids, 2 * *n, *names);
}

void msg_reports_list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "message-reports", 2))
		return;
	const char *status = http_query(req, "status");
	json_t *errors = json_object();
	if (status && strcmp(status, "open") && strcmp(status, "closed") && strcmp(status, "all"))
		json_object_set_new(errors, "status", json_string("doit être open, closed ou all"));
	int64_t after_us = 0;
	if (pg.has_cursor && util_parse_int64(pg.after[0], 0, INT64_MAX, &after_us))
		json_object_set_new(errors, "cursor", json_string(PAGE_BAD_CURSOR));
	if (http_invalid(req, errors))
		return;
	if (!status)
		status = "open";
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	db_stmt *s = db_prepare(
		c, pg.has_cursor ? "SELECT " REPORT_COLS " FROM message_reports r WHERE (? = 'all' OR r.status = ?)"
				   " AND (r.created_us < ? OR (r.created_us = ? AND r.id < ?))"
				   " ORDER BY r.created_us DESC, r.id DESC LIMIT ?"
				 : "SELECT " REPORT_COLS " FROM message_reports r WHERE (? = 'all' OR r.status = ?)"
				   " ORDER BY r.created_us DESC, r.id DESC LIMIT ?");
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	int k = 1;
	db_bind_text(s, k++, status);
	db_bind_text(s, k++, status);
	if (pg.has_cursor) {
		db_bind_int64(s, k++, after_us);
		db_bind_int64(s, k++, after_us);
		db_bind_text(s, k++, pg.after[1]);
	}
	db_bind_int64(s, k, page_fetch(&pg));
	struct report *v;
	size_t n;
	const char **names;
	int rc = reports_read(c, a, s, &v, &n, &names);
	for (size_t i = 0; !rc && i < n; i++) {
		char at[24];
		snprintf(at, sizeof(at), "%lld", (long long)v[i].created_us);
		const char *keys[2] = {at, v[i].col[0]};
		jw *w = page_item(&pg, keys);
		if (!w)
			break;
		write_report(w, &v[i], names[2 * i], names[2 * i + 1]);
	}
	if (rc < 0) {
		http_problem_err(req, rc, "Les signalements n'ont pas pu être lus.");
		return;
	}
	static const char *const keep[] = {"status", "limit", NULL};
	page_reply(&pg, keep);
}

/* ---- PATCH /api/messages/reports/{id} ---- */

void msg_report_patch(http_req *req)
{
	static const struct jfield fields[] = {{"status", JF_STRING, 1, 0, 0, 0, statuses}};
	json_t *body = msg_body(req, fields, 1);
	if (!body)
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *id = http_param(req, "id"), *status = json_get_str(body, "status", "open");
	char now[21];
	msg_time(msg_now_us(), now);
	int closed = !strcmp(status, "closed");
	int64_t changed = 0;
	int rc = !util_is_uuid(id)
			 ? DB_DONE
			 : SQL_CHANGE(
				   c, &changed,
				   "UPDATE message_reports SET status = ?, handled_by = ?, handled_at = ? WHERE id = ?",
				   SQL_T(status), SQL_T(closed ? http_principal(req)->sub : NULL),
				   SQL_T(closed ? now : NULL), SQL_T(id));
	if (rc < 0) {
		http_problem_err(req, rc, "Le signalement n'a pas pu être modifié.");
		return;
	}
	if (!changed) {
		http_problem(req, 404, "Ce signalement n'existe pas.");
		return;
	}
	db_stmt *s = SQL_PREP(c, "SELECT " REPORT_COLS " FROM message_reports r WHERE r.id = ?", SQL_T(id));
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	struct report *v;
	size_t n;
	const char **names;
	rc = reports_read(c, http_arena(req), s, &v, &n, &names);
	if (rc || !n) {
		http_problem_err(req, rc ? rc : ENT_EDB, NULL);
		return;
	}
	write_report(http_jw(req), &v[0], names[0], names[1]);
	http_reply_jw(req, 200);
}

/* ---- GET/PUT /api/messages/senders/{user_id} (administrators) ---- */

static void sender_reply(http_req *req, db_conn *c, const char *user)
{
	db_stmt *s = SQL_PREP(c,
			      "SELECT suspended, reason, per_hour, per_message, updated_at FROM message_senders"
			      " WHERE user_id = ?",
			      SQL_T(user));
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	int rc = db_step(s);
	if (rc < 0) {
		db_done(s);
		http_problem_err(req, rc, NULL);
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "user_id", user);
	jw_kbool(w, "suspended", rc == DB_ROW && db_col_int64(s, 0));
	jw_kstr(w, "reason", rc == DB_ROW ? db_col_text(s, 1) : NULL);
	jw_key(w, "per_hour");
	if (rc == DB_ROW && !db_col_is_null(s, 2))
		jw_int(w, db_col_int64(s, 2));
	else
		jw_null(w);
	jw_key(w, "per_message");
	if (rc == DB_ROW && !db_col_is_null(s, 3))
		jw_int(w, db_col_int64(s, 3));
	else
		jw_null(w);
	jw_kstr(w, "updated_at", rc == DB_ROW ? db_col_text(s, 4) : NULL);
	jw_obj_close(w);
	db_done(s);
	http_reply_jw(req, 200);
}

/* 0 when user_id names an account; -1 after answering 404. */
static int known_user(http_req *req, db_conn *c, const char *user)
{
	struct user u;
	int rc = util_is_uuid(user) ? users_get(c, http_arena(req), user, &u) : ENT_ENOTFOUND;
	if (rc == ENT_ENOTFOUND) {
		http_problem(req, 404, "Cet utilisateur n'existe pas.");
		return -1;
	}
	if (rc) {
		http_problem_err(req, rc, NULL);
		return -1;
	}
	return 0;
}

void msg_sender_get(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *user = http_param(req, "id");
	if (known_user(req, c, user))
		return;
	sender_reply(req, c, user);
}

void msg_sender_put(http_req *req)
{
	static const struct jfield fields[] = {
		{"suspended", JF_BOOL, 1, 0, 0, 0, NULL},
		{"reason", JF_STRING, 0, 1, 0, 500, NULL},
		{"per_hour", JF_INT, 0, 1, 1, 100000, NULL},
		{"per_message", JF_INT, 0, 1, 1, 100000, NULL},
	};
	json_t *body = msg_body_text(req, fields, 4, "reason", 0);
	if (!body)
		return;
	const char *reason = json_get_str(body, "reason", NULL);
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *user = http_param(req, "id");
	if (known_user(req, c, user))
		return;
	if (!strcmp(user, http_principal(req)->sub) && json_is_true(json_object_get(body, "suspended"))) {
		http_problem(req, 409, "Un administrateur ne suspend pas son propre envoi de messages.");
		return;
	}
	char now[21];
	msg_time(msg_now_us(), now);
	const json_t *ph = json_object_get(body, "per_hour"), *pm = json_object_get(body, "per_message");
	int rc = SQL_RUN(
		c,
		"INSERT INTO message_senders (user_id, suspended, reason, per_hour, per_message, updated_by, updated_at)"
		" VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET suspended = excluded.suspended,"
		" reason = excluded.reason, per_hour = excluded.per_hour, per_message = excluded.per_message,"
		" updated_by = excluded.updated_by, updated_at = excluded.updated_at",
		SQL_T(user), SQL_I(json_is_true(json_object_get(body, "suspended"))), SQL_T(reason),
		json_is_integer(ph) ? SQL_I(json_integer_value(ph)) : SQL_NULL,
		json_is_integer(pm) ? SQL_I(json_integer_value(pm)) : SQL_NULL, SQL_T(http_principal(req)->sub),
		SQL_T(now));
	if (rc < 0) {
		http_problem_err(req, rc, "Le réglage n'a pas pu être enregistré.");
		return;
	}
	sender_reply(req, c, user);
}
