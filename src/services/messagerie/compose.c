/*
 * compose.c - writing messages: a new message sent now, scheduled (send_at) or kept as a draft;
 * a draft changed and later sent; reply, reply all and forward; and the delivery of scheduled
 * messages by the background thread.
 *
 * Sending checks, in this order: the fields (400 naming them), a sender suspended by the
 * administrators (403), the number of addresses (a group counts as one; 400 naming "to"), who may
 * ask for an acknowledgement (403), the attachments (the sender's own files, or those of a message
 * they hold: 400 naming attachments[i]), every recipient against the rules with groups expanded
 * (rules.c: 400 for an unknown id, 403 naming a refused recipient), and, inside the transaction
 * that stores the message, the hourly limit (429 with Retry-After). Nothing is stored unless
 * everything passed. A delivered message may bring automatic answers of absent recipients
 * (settings.c), written in the same transaction.
 *
 * A sent message gets one message_boxes row per recipient (folder inbox, their kind to/cc/bcc) and
 * one for the sender (folder sent), and message.received is published in the same transaction. A
 * scheduled message is expanded and checked when it is scheduled; its recipients' rows stay
 * invisible (visible = 0) until the background thread claims it (UPDATE ... WHERE state =
 * 'scheduled': one process wins) and delivers it. A draft has only its sender's row, folder drafts;
 * its addresses are checked when it is sent.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bus/bus.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "core/sql.h"

static const char *const addr_types[] = {"user", "class", "course", "class_teachers", "staff", NULL};
static const char *const kinds[] = {"to", "cc", "bcc"};

/* What a request asks to send. */
struct compose {
	const char *subject, *body;
	struct msg_addr *addrs;
	size_t naddrs, cap;
	int ack, draft;
	time_t send_at; /* 0: now */
	const char *thread_id, *in_reply_to, *forward_of;
	const char **files; /* attachment file ids */
	size_t nfiles, fcap;
};

static void add_file(arena *a, struct compose *m, const char *id)
{
	m->files = arena_grow(a, m->files, m->nfiles, &m->fcap, sizeof(*m->files));
	m->files[m->nfiles++] = id;
}

/* Reads "attachments": a list of file ids. */
static void parse_files(arena *a, const json_t *body, struct compose *m, json_t *errors)
{
	const json_t *arr = json_object_get(body, "attachments");
	if (!arr || json_is_null(arr))
		return;
	if (!json_is_array(arr) || json_array_size(arr) > MSG_FILES_MAX) {
		json_object_set_new(errors, "attachments",
				    json_string("doit être une liste de 20 identifiants de fichiers au plus"));
		return;
	}
	size_t i;
	const json_t *v;
	json_array_foreach (arr, i, v) {
		if (!util_is_uuid(json_string_value(v)))
			json_object_set_new(errors, arena_printf(a, "attachments[%zu]", i),
					    json_string("doit être l'identifiant (UUID) d'un fichier"));
		else
			add_file(a, m, arena_strdup(a, json_string_value(v)));
	}
}

static void add_addr(arena *a, struct compose *m, const char *kind, const char *type, const char *id)
{
	m->addrs = arena_grow(a, m->addrs, m->naddrs, &m->cap, sizeof(*m->addrs));
	m->addrs[m->naddrs].kind = kind;
	m->addrs[m->naddrs].type = type;
	m->addrs[m->naddrs++].id = id;
}

/* Reads the addresses of kind from body into m, errors named "to[2].id". */
static void parse_addrs(arena *a, const json_t *body, const char *kind, struct compose *m, json_t *errors)
{
	const json_t *arr = json_object_get(body, kind);
	if (!arr || json_is_null(arr))
		return;
	if (!json_is_array(arr))
		return; /* json_check named it */
	if (json_array_size(arr) > MSG_ADDRS_MAX) {
		json_field_error(errors, kind, "too_many_recipients", "200 adresses au plus par liste");
		return;
	}
	size_t i;
	const json_t *v;
	json_array_foreach (arr, i, v) {
		const char *type = json_string_value(json_object_get(v, "type"));
		const char *id = json_string_value(json_object_get(v, "id"));
		if (!json_is_object(v)) {
			json_object_set_new(errors, arena_printf(a, "%s[%zu]", kind, i),
					    json_string("doit être un objet {\"type\", \"id\"}"));
			continue;
		}
		const char *k;
		const json_t *x;
		int bad = 0;
		json_object_foreach ((json_t *)v, k, x)
			if (strcmp(k, "type") && strcmp(k, "id")) {
				json_object_set_new(errors, arena_printf(a, "%s[%zu].%s", kind, i, k),
						    json_string("champ inconnu"));
				bad = 1;
			}
		int t = -1;
		for (int j = 0; type && addr_types[j]; j++)
			if (!strcmp(type, addr_types[j]))
				t = j;
		if (t < 0) {
			json_object_set_new(errors, arena_printf(a, "%s[%zu].type", kind, i),
					    json_string("doit être user, class, course, class_teachers ou staff"));
			continue;
		}
		if (t == 4) {
			if (json_object_get(v, "id") && !json_is_null(json_object_get(v, "id"))) {
				json_object_set_new(errors, arena_printf(a, "%s[%zu].id", kind, i),
						    json_string("n'a pas de sens pour staff"));
				continue;
			}
			id = NULL;
		} else if (!util_is_uuid(id)) {
			json_object_set_new(errors, arena_printf(a, "%s[%zu].id", kind, i),
					    json_string("doit être un identifiant (UUID)"));
			continue;
		}
		if (!bad)
			add_addr(a, m, kind, addr_types[t], id ? arena_strdup(a, id) : NULL);
	}
}

/* Reads the fields of body named in allowed (NULL-terminated) into m. */
static void parse_compose(http_req *req, const json_t *body, const char *const *allowed, struct compose *m,
			  json_t *errors)
{
	arena *a = http_arena(req);
	static const struct jfield all[] = {
		{"subject", JF_STRING, 0, 0, 0, MSG_SUBJECT_MAX, NULL},
		{"body", JF_STRING, 0, 0, 0, MSG_BODY_MAX, NULL},
		{"to", JF_ARRAY, 0, 1, 0, MSG_ADDRS_MAX, NULL},
		{"cc", JF_ARRAY, 0, 1, 0, MSG_ADDRS_MAX, NULL},
		{"bcc", JF_ARRAY, 0, 1, 0, MSG_ADDRS_MAX, NULL},
		{"ack_required", JF_BOOL, 0, 0, 0, 0, NULL},
		{"send_at", JF_TIME, 0, 1, 0, 0, NULL},
		{"draft", JF_BOOL, 0, 0, 0, 0, NULL},
		{"all", JF_BOOL, 0, 0, 0, 0, NULL},
		{"attachments", JF_ARRAY, 0, 1, 0, MSG_FILES_MAX, NULL},
	};
	struct jfield fields[sizeof(all) / sizeof(all[0])];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		for (size_t j = 0; allowed[j]; j++)
			if (!strcmp(allowed[j], all[i].name))
				fields[n++] = all[i];
	json_check(body, fields, n, errors);
	m->subject = json_get_str(body, "subject", NULL);
	m->body = json_get_str(body, "body", NULL);
	if (m->subject && (!util_valid_text(m->subject)))
		json_object_set_new(errors, "subject", json_string("ne doit pas contenir de caractères de contrôle"));
	if (m->body && !util_valid_lines(m->body))
		json_object_set_new(errors, "body", json_string("ne doit pas contenir de caractères de contrôle"));
	for (int k = 0; k < 3; k++)
		if (json_object_get(body, kinds[k]))
			parse_addrs(a, body, kinds[k], m, errors);
	parse_files(a, body, m, errors);
	m->ack = json_is_true(json_object_get(body, "ack_required"));
	m->draft = json_is_true(json_object_get(body, "draft"));
	const char *at = json_get_str(body, "send_at", NULL);
	m->send_at = 0;
	if (at && !util_parse_rfc3339(at, &m->send_at)) {
		time_t now = time(NULL);
		if (m->send_at <= now)
			json_object_set_new(errors, "send_at", json_string("doit être dans le futur"));
		else if (m->send_at > now + (time_t)MSG_SCHEDULE_MAX_DAYS * 86400)
			json_object_set_new(errors, "send_at", json_string("doit être à moins d'un an"));
	}
}

/* The checks of a message about to be sent (not a draft): 400 answered, returns -1. */
static int check_sendable(http_req *req, const struct msg_who *who, const struct compose *m)
{
	if (who->suspended) {
		http_problemf(req, 403, "L'administration a suspendu votre envoi de messages%s%s.",
			      who->suspend_reason ? " : " : "", who->suspend_reason ? who->suspend_reason : "");
		return -1;
	}
	json_t *errors = json_object();
	if (!m->subject || !*m->subject)
		json_object_set_new(errors, "subject", json_string("est obligatoire pour envoyer un message"));
	if (!m->naddrs)
		json_object_set_new(errors, "to", json_string("indiquez au moins un destinataire"));
	else if (who->per_message > 0 && m->naddrs > (size_t)who->per_message)
		/* A client error (400), not a rate limit: the same message will never pass as it is. */
		json_field_error(
			errors, "to", "too_many_recipients",
			arena_printf(http_arena(req),
				     "%d destinataires au plus par message (une classe ou un groupe compte pour un)",
				     who->per_message));
	if (http_invalid(req, errors))
		return -1;
	if (m->ack && who->role == ROLE_ETUDIANT) {
		http_problem_errors(
			req, 403, "Seuls les enseignants et l'administration demandent un accusé de réception.",
			json_pack("{s:s}", "ack_required", "réservé aux enseignants et à l'administration"));
		return -1;
	}
	return 0;
}

/* Answers a refusal of msg_expand(). */
static void expand_failed(http_req *req, const struct compose *m, int rc, int bad, const char *name)
{
	arena *a = http_arena(req);
	const char *field = bad >= 0 ? arena_printf(a, "%s[%d]", m->addrs[bad].kind, bad) : "to";
	/* bad counts over all addresses; name the field by its index within its own kind. */
	if (bad >= 0) {
		int idx = 0;
		for (int i = 0; i < bad; i++)
			idx += !strcmp(m->addrs[i].kind, m->addrs[bad].kind);
		field = arena_printf(a, "%s[%d]", m->addrs[bad].kind, idx);
	}
	if (rc == ENT_EFORBIDDEN) {
		const char *detail = arena_printf(
			a, "Vous n'avez pas le droit d'écrire à %s. Le message n'a pas été envoyé.",
			name ? name : "ce destinataire");
		http_problem_errors(
			req, 403, detail,
			json_pack("{s:s}", field, arena_printf(a, "%s : destinataire non autorisé", name ? name : "")));
	} else if (rc == ENT_EINVAL) {
		if (bad < 0)
			http_invalid(req, json_pack("{s:s}", "to", "ces adresses n'atteignent personne"));
		else
			http_invalid(req, json_pack("{s:s}", arena_printf(a, "%s.id", field),
						    "ne désigne aucun utilisateur, classe ou cours actif"));
	} else
		http_problem_err(req, rc, "Les destinataires n'ont pas pu être vérifiés.");
}

#define BOXES_INSERT(rows)                                                                                             \
	"INSERT INTO message_boxes (message_id, user_id, role, folder, at_us, visible, read_at) VALUES " rows
#define BOX_ROW "(?, ?, ?, ?, ?, ?, ?)"
#define BOX_ROWS4 BOX_ROW ", " BOX_ROW ", " BOX_ROW ", " BOX_ROW
#define BOX_ROWS16 BOX_ROWS4 ", " BOX_ROWS4 ", " BOX_ROWS4 ", " BOX_ROWS4

int msg_store(db_conn *c, const struct msg_out *o)
{
	char now[21];
	msg_time(o->now_us, now);
	int sent = !strcmp(o->state, "sent"), draft = !strcmp(o->state, "draft");
	db_stmt *s = SQL_PREP(
		c,
		"INSERT INTO messages (id, thread_id, in_reply_to, forward_of, sender_id, subject, body,"
		" state, ack_required, send_at, sent_at, submitted_us, created_at, updated_at, auto_reply)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		SQL_T(o->id), SQL_T(o->thread_id ? o->thread_id : o->id), SQL_T(o->in_reply_to), SQL_T(o->forward_of),
		SQL_T(o->sender_id), SQL_T(o->subject ? o->subject : ""), SQL_T(o->body ? o->body : ""),
		SQL_T(o->state), SQL_I(o->ack), SQL_T(o->send_at), SQL_T(sent ? now : NULL));
	if (!s)
		return ENT_EDB;
	if (draft || o->auto_reply)
		db_bind_null(s, 12);
	else
		db_bind_int64(s, 12, o->now_us);
	db_bind_text(s, 13, now);
	db_bind_text(s, 14, now);
	db_bind_int64(s, 15, o->auto_reply);
	int rc = db_step(s);
	db_done(s);
	for (size_t i = 0; i < o->naddrs && rc >= 0; i++) {
		s = SQL_PREP(
			c,
			"INSERT INTO message_addresses (message_id, position, kind, type, ref_id) VALUES (?, ?, ?, ?, ?)",
			SQL_T(o->id), SQL_I((int64_t)i), SQL_T(o->addrs[i].kind), SQL_T(o->addrs[i].type),
			SQL_T(o->addrs[i].id));
		if (!s)
			return ENT_EDB;
		rc = db_step(s);
		db_done(s);
	}
	/*
	 * The copies go in by 16, 4 and 1 rows a statement (a class of 27 and the sender: 16 + 4 + 4 + 4):
	 * three constant statements, each prepared once per connection, instead of one round trip a
	 * recipient. The sender's copy is the first row.
	 */
	static const char *const box_sql[] = {BOXES_INSERT(BOX_ROWS16), BOXES_INSERT(BOX_ROWS4), BOXES_INSERT(BOX_ROW)};
	static const size_t box_rows[] = {16, 4, 1};
	for (size_t i = 0; i < o->nr + 1 && rc >= 0;) {
		size_t left = o->nr + 1 - i, t = left >= 16 ? 0 : left >= 4 ? 1 : 2;
		s = db_prepare(c, box_sql[t]);
		if (!s)
			return ENT_EDB;
		for (size_t k = 0; k < box_rows[t]; k++, i++) {
			int p = (int)(7 * k);
			db_bind_text(s, p + 1, o->id);
			db_bind_text(s, p + 2, i ? o->r[i - 1].user_id : o->sender_id);
			db_bind_text(s, p + 3, i ? o->r[i - 1].kind : "sender");
			db_bind_text(s, p + 4, i ? "inbox" : draft ? "drafts" : "sent");
			db_bind_int64(s, p + 5, o->now_us);
			db_bind_int64(s, p + 6, i ? sent : 1);
			if (i)
				db_bind_null(s, p + 7);
			else
				db_bind_text(s, p + 7, now);
		}
		rc = db_step(s);
		db_done(s);
	}
	if (rc >= 0)
		rc = msg_attach_store(c, o->id, o->files, o->nfiles);
	/* The search row, after the copies: on SQLite it holds their owners (MSG_OWNERS_SQL). */
	int sqlite = db_conn_kind(c) == DB_SQLITE;
	if (rc >= 0) {
		const char *subject = o->subject ? o->subject : "", *body = o->body ? o->body : "";
		s = sqlite ? SQL_PREP(
				     c,
				     "INSERT INTO messages_fts (subject, body, message_id, owners) VALUES (?, ?, ?, " MSG_OWNERS_SQL(
					     "?") ")",
				     SQL_T(subject), SQL_T(body), SQL_T(o->id), SQL_T(o->id))
			   : SQL_PREP(c, "INSERT INTO messages_fts (subject, body, message_id) VALUES (?, ?, ?)",
				      SQL_T(subject), SQL_T(body), SQL_T(o->id));
		if (!s)
			return ENT_EDB;
		rc = db_step(s);
		db_done(s);
	}
	/* SQLite: the message keeps its FTS5 row's rowid, by which the search finds it (mailbox.c). */
	if (rc >= 0 && sqlite)
		rc = db_run(c, "UPDATE messages SET search_rowid = last_insert_rowid() WHERE id = ?", o->id, NULL);
	return rc < 0 ? rc : ENT_OK;
}

/* Answers the caller's copy of id with status. */
static void reply_copy(http_req *req, db_conn *c, const char *id, int status)
{
	struct msg_copy m;
	if (msg_copy_load(req, c, id, &m))
		return;
	jw *w = http_jw(req);
	int rc = msg_write(c, http_arena(req), w, &m, 1);
	if (rc) {
		http_problem_err(req, rc, "Le message n'a pas pu être relu.");
		return;
	}
	http_reply_jw(req, status);
}

/*
 * Stores m as id (a draft, or a message sent now or scheduled) and answers it with status.
 * replace: id is a draft of the caller's to replace (changed or sent).
 */
static void submit(http_req *req, db_conn *c, const struct msg_who *who, struct compose *m, const char *id, int replace,
		   int status)
{
	arena *a = http_arena(req);
	struct msg_rcpt *r = NULL;
	size_t nr = 0;
	struct msg_file *files = NULL;
	if (m->nfiles) {
		int bad;
		int rc = msg_attach_check(c, a, who->id, m->files, m->nfiles, &files, &bad);
		if (rc == ENT_EINVAL || rc == ENT_ECONFLICT) {
			http_invalid(req, json_pack("{s:s}", arena_printf(a, "attachments[%d]", bad),
						    rc == ENT_ECONFLICT ? "est déjà joint à ce message"
									: "ne désigne aucun de vos fichiers"));
			return;
		}
		if (rc) {
			http_problem_err(req, rc, "Les pièces jointes n'ont pas pu être vérifiées.");
			return;
		}
	}
	if (!m->draft) {
		if (check_sendable(req, who, m))
			return;
		int bad;
		const char *name;
		int rc = msg_expand(c, a, who, m->addrs, m->naddrs, &r, &nr, &bad, &name);
		if (rc) {
			expand_failed(req, m, rc, bad, name);
			return;
		}
	}
	const char *state = m->draft ? "draft" : m->send_at ? "scheduled" : "sent";
	int64_t now_us = msg_now_us();
	int rc = db_begin(c);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	int retry = 0;
	if (!m->draft)
		rc = msg_rate_check(c, who, now_us, &retry);
	if (rc == ENT_EBUSY && retry) {
		db_rollback(c);
		char ra[24];
		snprintf(ra, sizeof(ra), "%d", retry);
		http_set_header(req, "Retry-After", ra);
		http_problemf(
			req, 429,
			"Vous avez envoyé %d messages dans l'heure, la limite de votre profil. Réessayez dans %d minute%s.",
			who->per_hour, (retry + 59) / 60, (retry + 59) / 60 > 1 ? "s" : "");
		return;
	}
	if (!rc && replace)
		rc = msg_remove(c, id);
	char send_at[21];
	if (m->send_at)
		util_time_rfc3339(m->send_at, send_at);
	struct msg_out o = {.id = id,
			    .thread_id = m->thread_id,
			    .in_reply_to = m->in_reply_to,
			    .forward_of = m->forward_of,
			    .sender_id = who->id,
			    .subject = m->subject,
			    .body = m->body,
			    .state = state,
			    .send_at = m->send_at ? send_at : NULL,
			    .ack = m->ack,
			    .addrs = m->addrs,
			    .naddrs = m->naddrs,
			    .r = r,
			    .nr = nr,
			    .files = files,
			    .nfiles = m->nfiles,
			    .now_us = now_us};
	if (!rc)
		rc = msg_store(c, &o);
	const char **users = arena_alloc(a, (nr ? nr : 1) * sizeof(*users));
	for (size_t i = 0; i < nr; i++)
		users[i] = r[i].user_id;
	struct msg_auto *autos = NULL;
	size_t nautos = 0;
	if (!rc && !strcmp(state, "sent"))
		rc = msg_notify(c, a, id, who->name, m->subject, m->ack, 0, users, nr);
	if (!rc && !strcmp(state, "sent"))
		rc = msg_out_of_office(c, a, id, &autos, &nautos);
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (rc) {
		http_problem_err(req, rc, "Le message n'a pas pu être enregistré.");
		return;
	}
	if (!strcmp(state, "sent")) {
		msg_announce(c, a, id, users, nr);
		msg_announce_autos(c, a, autos, nautos);
	}
	reply_copy(req, c, id, status);
}

/* ---- POST /api/messages ---- */

void msg_create(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	static const char *const allowed[] = {"subject",      "body",    "to",    "cc",          "bcc",
					      "ack_required", "send_at", "draft", "attachments", NULL};
	struct compose m = {0};
	json_t *errors = json_object();
	parse_compose(req, body, allowed, &m, errors);
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	struct msg_who who;
	if (msg_who_req(req, c, &who))
		return;
	char id[37];
	util_uuid(id);
	submit(req, c, &who, &m, id, 0, 201);
}

/* Loads the caller's draft {id} with its addresses into m: 0, or -1 after answering (404, 409). */
static int load_draft(http_req *req, db_conn *c, struct msg_copy *copy, struct compose *m)
{
	const char *id = http_param(req, "id");
	if (msg_copy_load(req, c, id, copy))
		return -1;
	if (strcmp(copy->role, "sender") || strcmp(copy->state, "draft")) {
		http_problem(req, 409, "Ce message n'est pas un de vos brouillons : il ne peut plus être modifié.");
		return -1;
	}
	arena *a = http_arena(req);
	memset(m, 0, sizeof(*m));
	m->subject = copy->subject;
	m->body = copy->body;
	m->ack = copy->ack_required;
	m->thread_id = copy->thread_id;
	m->in_reply_to = copy->in_reply_to;
	m->forward_of = copy->forward_of;
	m->draft = 1;
	if (copy->send_at)
		util_parse_rfc3339(copy->send_at, &m->send_at);
	db_stmt *s = db_prepare(
		c, "SELECT kind, type, ref_id FROM message_addresses WHERE message_id = ? ORDER BY position");
	int rc = ENT_EDB;
	if (s) {
		db_bind_text(s, 1, copy->id);
		while ((rc = db_step(s)) == DB_ROW) {
			const char *kind = db_col_text(s, 0);
			add_addr(a, m,
				 !strcmp(kind, "to")   ? "to"
				 : !strcmp(kind, "cc") ? "cc"
						       : "bcc",
				 arena_strdup(a, db_col_text(s, 1)),
				 db_col_text(s, 2) ? arena_strdup(a, db_col_text(s, 2)) : NULL);
		}
		db_done(s);
	}
	struct msg_file *files;
	size_t nfiles = 0;
	if (rc >= 0)
		rc = msg_attach_load(c, a, copy->id, &files, &nfiles);
	for (size_t i = 0; rc >= 0 && i < nfiles; i++)
		add_file(a, m, files[i].id);
	if (rc < 0) {
		http_problem_err(req, rc, "Le brouillon n'a pas pu être lu.");
		return -1;
	}
	return 0;
}

/* ---- PATCH /api/messages/{id}: change a draft ---- */

/*
 * The opening of a handler that writes from a message {id}: the body parsed with the fields
 * allowed (must: a field that is required, or NULL), the caller and its copy of {id}. A draft
 * is changed (refused NULL: {id} must be the caller's draft); another handler starts from a
 * message sent (refused: the 409 answer for a draft). Returns the database, or NULL after
 * answering (400, 503, 404, 409).
 */
struct draft {
	json_t *body;
	struct compose in; /* what the body gives */
	struct msg_who who;
	struct msg_copy copy;
	struct compose m; /* the draft as it is */
};

static db_conn *draft_open(http_req *req, const char *const *allowed, const char *must, const char *refused,
			   struct draft *d)
{
	d->body = http_json_body(req);
	if (!d->body)
		return NULL;
	json_t *errors = json_object();
	parse_compose(req, d->body, allowed, &d->in, errors);
	if (must && !json_object_get(d->body, must))
		json_object_set_new(errors, must, json_string("est obligatoire"));
	if (http_invalid(req, errors))
		return NULL;
	db_conn *c = http_db(req);
	if (!c || msg_who_req(req, c, &d->who))
		return NULL;
	if (!refused)
		return load_draft(req, c, &d->copy, &d->m) ? NULL : c;
	if (msg_copy_load(req, c, http_param(req, "id"), &d->copy))
		return NULL;
	if (!strcmp(d->copy.state, "draft")) {
		http_problem(req, 409, refused);
		return NULL;
	}
	return c;
}

void msg_patch(http_req *req)
{
	static const char *const allowed[] = {"subject",      "body",    "to",          "cc", "bcc",
					      "ack_required", "send_at", "attachments", NULL};
	struct draft d = {0};
	db_conn *c = draft_open(req, allowed, NULL, NULL, &d);
	if (!c)
		return;
	if (json_object_get(d.body, "subject"))
		d.m.subject = d.in.subject;
	if (json_object_get(d.body, "body"))
		d.m.body = d.in.body;
	if (json_object_get(d.body, "ack_required"))
		d.m.ack = d.in.ack;
	if (json_object_get(d.body, "send_at"))
		d.m.send_at = d.in.send_at;
	if (json_object_get(d.body, "attachments")) {
		d.m.files = d.in.files;
		d.m.nfiles = d.in.nfiles;
	}
	/* The kinds given replace the draft's addresses of that kind. */
	arena *a = http_arena(req);
	struct compose merged = d.m;
	merged.addrs = NULL;
	merged.naddrs = merged.cap = 0;
	for (int k = 0; k < 3; k++) {
		int given = json_object_get(d.body, kinds[k]) != NULL;
		const struct compose *from = given ? &d.in : &d.m;
		for (size_t i = 0; i < from->naddrs; i++)
			if (!strcmp(from->addrs[i].kind, kinds[k]))
				add_addr(a, &merged, from->addrs[i].kind, from->addrs[i].type, from->addrs[i].id);
	}
	submit(req, c, &d.who, &merged, d.copy.id, 1, 200);
}

/* ---- POST /api/messages/{id}/send: send a draft ---- */

void msg_send_draft(http_req *req)
{
	static const char *const allowed[] = {"send_at", NULL};
	struct draft d = {0};
	db_conn *c = draft_open(req, allowed, NULL, NULL, &d);
	if (!c)
		return;
	d.m.draft = 0;
	if (json_object_get(d.body, "send_at"))
		d.m.send_at = d.in.send_at;
	if (d.m.send_at && d.m.send_at <= time(NULL))
		d.m.send_at = 0; /* a draft whose planned time passed is sent now */
	submit(req, c, &d.who, &d.m, d.copy.id, 1, 200);
}

/* ---- reply and forward ---- */

/* "RE : subject" unless it already starts so (prefix "RE : " or "TR : "). */
static const char *prefixed(arena *a, const char *prefix, const char *subject)
{
	size_t n = strlen(prefix);
	if (!strncasecmp(subject, prefix, n))
		return subject;
	const char *s = arena_printf(a, "%s%s", prefix, subject);
	if (json_utf8_len(s) > MSG_SUBJECT_MAX)
		return subject;
	return s;
}

void msg_reply(http_req *req)
{
	static const char *const allowed[] = {"body", "all", "draft", "send_at", "attachments", NULL};
	struct draft d = {0};
	db_conn *c = draft_open(req, allowed, "body", "On ne répond pas à un brouillon.", &d);
	if (!c)
		return;
	arena *a = http_arena(req);
	struct compose *m = &d.in;
	const struct msg_copy *orig = &d.copy;
	const struct msg_who *who = &d.who;
	m->subject = prefixed(a, "RE : ", orig->subject);
	m->thread_id = orig->thread_id;
	m->in_reply_to = orig->id;
	int all = json_is_true(json_object_get(d.body, "all"));
	/* To the original sender (unless replying to one's own message), then for "all" its to and cc. */
	if (strcmp(orig->sender_id, who->id))
		add_addr(a, m, "to", "user", orig->sender_id);
	int rc = ENT_OK;
	if (all || !strcmp(orig->sender_id, who->id)) {
		db_stmt *s = db_prepare(c, "SELECT kind, type, ref_id FROM message_addresses WHERE message_id = ?"
					   " AND kind IN ('to', 'cc') ORDER BY position");
		rc = ENT_EDB;
		if (s) {
			db_bind_text(s, 1, orig->id);
			while ((rc = db_step(s)) == DB_ROW) {
				const char *type = db_col_text(s, 1), *ref = db_col_text(s, 2);
				if (!strcmp(type, "user") && (!strcmp(ref, who->id) || !strcmp(ref, orig->sender_id)))
					continue;
				add_addr(a, m, !strcmp(db_col_text(s, 0), "cc") ? "cc" : "to", arena_strdup(a, type),
					 ref ? arena_strdup(a, ref) : NULL);
			}
			db_done(s);
		}
	}
	if (rc < 0) {
		http_problem_err(req, rc, "Le message d'origine n'a pas pu être lu.");
		return;
	}
	char id[37];
	util_uuid(id);
	submit(req, c, who, m, id, 0, 201);
}

void msg_forward(http_req *req)
{
	static const char *const allowed[] = {"body", "to", "cc", "bcc", "draft", "send_at", "attachments", NULL};
	struct draft d = {0};
	db_conn *c = draft_open(req, allowed, NULL,
				"Un brouillon ne se transfère pas : envoyez-le ou copiez son texte.", &d);
	if (!c)
		return;
	arena *a = http_arena(req);
	struct compose *m = &d.in;
	const struct msg_copy *orig = &d.copy;
	const struct msg_who *who = &d.who;
	const char *from = msg_addr_label(c, a, "user", orig->sender_id);
	const char *text = arena_printf(a, "%s%s----- Message transféré -----\nDe : %s\nDate : %s\nObjet : %s\n\n%s",
					m->body ? m->body : "", m->body && *m->body ? "\n\n" : "", from,
					orig->sent_at ? orig->sent_at : orig->created_at, orig->subject, orig->body);
	if (json_utf8_len(text) > MSG_BODY_MAX) {
		http_invalid(req, json_pack("{s:s}", "body", "le message transféré dépasserait 50 000 caractères"));
		return;
	}
	m->body = text;
	m->subject = prefixed(a, "TR : ", orig->subject);
	m->forward_of = orig->id;
	/* The original's attachments travel with it, before those added. */
	struct msg_file *files;
	size_t nfiles;
	int rc = msg_attach_load(c, a, orig->id, &files, &nfiles);
	if (rc) {
		http_problem_err(req, rc, "Le message d'origine n'a pas pu être lu.");
		return;
	}
	const char **given = m->files;
	size_t ngiven = m->nfiles;
	m->files = NULL;
	m->nfiles = m->fcap = 0;
	for (size_t i = 0; i < nfiles; i++)
		add_file(a, m, files[i].id);
	for (size_t i = 0; i < ngiven; i++) {
		int dup = 0;
		for (size_t j = 0; j < nfiles; j++)
			dup |= !strcmp(given[i], files[j].id);
		if (!dup)
			add_file(a, m, given[i]);
	}
	if (m->nfiles > MSG_FILES_MAX) {
		http_invalid(req, json_pack("{s:s}", "attachments", "20 pièces jointes au plus par message"));
		return;
	}
	char id[37];
	util_uuid(id);
	submit(req, c, who, m, id, 0, 201);
}

/* ---- scheduled delivery ---- */

int msg_deliver_due(db_conn *c)
{
	arena *a = arena_new(0);
	char now[21];
	util_time_rfc3339(time(NULL), now);
	const char **ids;
	int rc = db_texts(
		c, a,
		"SELECT id FROM messages WHERE state = 'scheduled' AND send_at <= ? ORDER BY send_at, id LIMIT 100",
		now, NULL, &ids);
	size_t n = rc > 0 ? (size_t)rc : 0;
	db_stmt *s;
	int sent = 0;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		int64_t now_us = msg_now_us();
		char at[21];
		msg_time(now_us, at);
		if ((rc = db_begin(c)))
			break;
		/* The claim: of several processes, the one whose update changes the row delivers it. */
		int64_t changed = 0;
		rc = SQL_CHANGE(
			c, &changed,
			"UPDATE messages SET state = 'sent', sent_at = ?, updated_at = ? WHERE id = ? AND state = 'scheduled'",
			SQL_T(at), SQL_T(at), SQL_T(ids[i]));
		int claimed = rc >= 0 && changed == 1;
		const char **users = NULL;
		size_t nu = 0, ucap = 0;
		const char *sender = NULL, *subject = NULL;
		int ack = 0;
		struct msg_auto *autos = NULL;
		size_t nautos = 0;
		if (rc >= 0 && claimed) {
			rc = SQL_RUN(
				c,
				"UPDATE message_boxes SET visible = 1, at_us = ? WHERE message_id = ? AND role <> 'sender'",
				SQL_I(now_us), SQL_T(ids[i]));
			s = rc < 0 ? NULL
				   : db_prepare(
					     c,
					     "SELECT b.user_id, m.sender_id, m.subject, m.ack_required FROM message_boxes b"
					     " JOIN messages m ON m.id = b.message_id WHERE b.message_id = ?"
					     " AND b.role <> 'sender'");
			if (s) {
				db_bind_text(s, 1, ids[i]);
				while ((rc = db_step(s)) == DB_ROW) {
					users = arena_grow(a, users, nu, &ucap, sizeof(*users));
					users[nu++] = arena_strdup(a, db_col_text(s, 0));
					sender = arena_strdup(a, db_col_text(s, 1));
					subject = arena_strdup(a, db_col_text(s, 2));
					ack = db_col_int64(s, 3) != 0;
				}
				db_done(s);
			} else if (rc >= 0)
				rc = ENT_EDB;
			if (rc >= 0 && nu)
				rc = msg_notify(c, a, ids[i], msg_addr_label(c, a, "user", sender), subject, ack, 0,
						users, nu);
			if (rc >= 0)
				rc = msg_out_of_office(c, a, ids[i], &autos, &nautos);
		}
		if (rc < 0 || (rc = db_commit(c))) {
			db_rollback(c);
			log_error("messagerie: the scheduled message %s could not be delivered: %s", ids[i],
				  ent_err_str(rc));
		} else if (claimed) {
			msg_announce(c, a, ids[i], users, nu);
			msg_announce_autos(c, a, autos, nautos);
			sent++;
		}
		rc = ENT_OK;
	}
	arena_free(a);
	return rc < 0 ? rc : sent;
}
