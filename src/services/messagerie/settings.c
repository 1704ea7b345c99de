/*
 * settings.c - what each user sets for their own mail: forwarding to an e-mail address (mail.c
 * sends), an absence with its automatic answer, and quiet hours for their notifications
 * (GET/PUT /api/messages/settings); and the automatic answers themselves.
 *
 * Out-of-office: between from and until, a message whose recipients include the absent user by
 * name brings the sender one automatic answer (a message from the absent user, "Réponse
 * automatique : subject", in the same conversation) per absence: message_ooo_replies keeps
 * (user, absence serial, sender) and its primary key makes the answer happen once even with
 * several processes. Never to an automatic answer (two absent users never loop), never to an
 * announcement (a message to a group, or asking for an acknowledgement), never from a sender the
 * administrators suspended. Changing the dates starts a new absence (serial + 1).
 *
 * Quiet hours: start and end on Paris's clock ("22:00" to "07:00" spans midnight). While they
 * last, notifications of new messages wait (notify.c, message_notices) until their end; the
 * messages themselves are delivered at once. Ending or changing them releases what waits.
 */
#include "internal.h"

#include <libical/ical.h>
#include <stdio.h>
#include <string.h>

#include "bus/bus.h"
#include "core/app.h"
#include "core/config.h"
#include "core/err.h"
#include "core/json.h"
#include "core/sql.h"
#include "core/util.h"
#include "services/users/users.h"

#define OOO_TEXT_MAX 2000

/* The end (UTC) of quiet hours [start, end) minutes of the day on Paris's clock at now, or 0. */
static time_t quiet_end(int start, int end, time_t now)
{
	if (start == end)
		return 0;
	icaltimezone *z = icaltimezone_get_builtin_timezone("Europe/Paris");
	if (!z)
		z = icaltimezone_get_utc_timezone();
	struct icaltimetype lt = icaltime_from_timet_with_zone(now, 0, z);
	int m = lt.hour * 60 + lt.minute;
	int quiet = start < end ? (m >= start && m < end) : (m >= start || m < end);
	if (!quiet)
		return 0;
	struct icaltimetype e = lt;
	e.hour = end / 60;
	e.minute = end % 60;
	e.second = 0;
	if (end <= m)
		icaltime_adjust(&e, 1, 0, 0, 0);
	return icaltime_as_timet_with_zone(e, z);
}

int msg_quiet_until(db_conn *c, const char *const *users, size_t n, int64_t now_us, int64_t *until_us)
{
	memset(until_us, 0, n * sizeof(*until_us));
	for (size_t from = 0; from < n; from += SQL_IN_MAX) {
		db_stmt *s = db_prepare(
			c, "SELECT user_id, quiet_start, quiet_end FROM message_settings WHERE user_id" SQL_IN
			   " AND quiet_start IS NOT NULL AND quiet_end IS NOT NULL");
		if (!s)
			return ENT_EDB;
		for (size_t k = 0; k < SQL_IN_MAX; k++) {
			if (from + k < n)
				db_bind_text(s, (int)k + 1, users[from + k]);
			else
				db_bind_null(s, (int)k + 1);
		}
		int rc;
		while ((rc = db_step(s)) == DB_ROW) {
			const char *user = db_col_text(s, 0);
			time_t end = quiet_end((int)db_col_int64(s, 1), (int)db_col_int64(s, 2),
					       (time_t)(now_us / 1000000));
			for (size_t k = from; k < n && k < from + SQL_IN_MAX; k++)
				if (!strcmp(users[k], user))
					until_us[k] = (int64_t)end * 1000000;
		}
		db_done(s);
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

/* ---- automatic answers ---- */

int msg_out_of_office(db_conn *c, arena *a, const char *message_id, struct msg_auto **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0;
	db_stmt *s = SQL_PREP(c,
			      "SELECT sender_id, subject, thread_id, ack_required, auto_reply FROM messages"
			      " WHERE id = ? AND state = 'sent'",
			      SQL_T(message_id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	const char *sender = NULL, *subject = NULL, *thread = NULL;
	int skip = 1;
	if (rc == DB_ROW) {
		sender = arena_strdup(a, db_col_text(s, 0));
		subject = arena_strdup(a, db_col_text(s, 1));
		thread = arena_strdup(a, db_col_text(s, 2));
		skip = db_col_int64(s, 3) || db_col_int64(s, 4); /* an announcement, or an automatic answer */
	}
	db_done(s);
	if (rc < 0 || skip)
		return rc < 0 ? rc : ENT_OK;
	rc = db_exists(c, "SELECT 1 FROM message_addresses WHERE message_id = ? AND type <> 'user'", message_id, NULL);
	if (rc)
		return rc < 0 ? rc : ENT_OK; /* a message to a group is an announcement */
	char now[21];
	int64_t now_us = msg_now_us();
	msg_time(now_us, now);
	s = SQL_PREP(c,
		     "SELECT b.user_id, st.ooo_text, st.ooo_serial FROM message_boxes b"
		     " JOIN message_settings st ON st.user_id = b.user_id WHERE b.message_id = ?"
		     " AND b.role <> 'sender' AND b.visible = 1 AND st.ooo_text IS NOT NULL AND st.ooo_from <= ?"
		     " AND st.ooo_until > ? ORDER BY b.user_id",
		     SQL_T(message_id), SQL_T(now), SQL_T(now));
	if (!s)
		return ENT_EDB;
	struct {
		const char *user, *text;
		int64_t serial;
	} *v = NULL;
	size_t nv = 0, vcap = 0;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, nv, &vcap, sizeof(*v));
		v[nv].user = arena_strdup(a, db_col_text(s, 0));
		v[nv].text = arena_strdup(a, db_col_text(s, 1));
		v[nv++].serial = db_col_int64(s, 2);
	}
	db_done(s);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < nv; i++) {
		if (!strcmp(v[i].user, sender))
			continue;
		int suspended = db_exists(c, "SELECT 1 FROM message_senders WHERE user_id = ? AND suspended = 1",
					  v[i].user, NULL);
		if (suspended < 0)
			return suspended;
		if (suspended)
			continue;
		char id[37];
		util_uuid(id);
		/* The claim: one answer per (absent user, absence, sender). */
		int64_t changed = 0;
		rc = SQL_CHANGE(c, &changed,
				"INSERT INTO message_ooo_replies (user_id, serial, sender_id, message_id)"
				" VALUES (?, ?, ?, ?) ON CONFLICT (user_id, serial, sender_id) DO NOTHING",
				SQL_T(v[i].user), SQL_I(v[i].serial), SQL_T(sender), SQL_T(id));
		int claimed = rc >= 0 && changed == 1;
		if (rc < 0)
			return rc;
		if (!claimed)
			continue;
		const char *subj = arena_printf(a, "Réponse automatique : %s", subject);
		if (json_utf8_len(subj) > MSG_SUBJECT_MAX)
			subj = "Réponse automatique";
		struct msg_addr to = {.kind = "to", .type = "user", .id = sender};
		struct msg_rcpt r = {.user_id = sender, .kind = "to"};
		struct msg_out o = {.id = id,
				    .thread_id = thread,
				    .in_reply_to = message_id,
				    .sender_id = v[i].user,
				    .subject = subj,
				    .body = v[i].text,
				    .state = "sent",
				    .auto_reply = 1,
				    .addrs = &to,
				    .naddrs = 1,
				    .r = &r,
				    .nr = 1,
				    .now_us = now_us};
		if ((rc = msg_store(c, &o)))
			return rc;
		const char *to_user = sender;
		rc = msg_notify(c, a, id, msg_addr_label(c, a, "user", v[i].user), subj, 0, 2, &to_user, 1);
		if (rc)
			return rc;
		*out = arena_grow(a, *out, *n, &cap, sizeof(**out));
		(*out)[*n].id = arena_strdup(a, id);
		(*out)[(*n)++].to = sender;
	}
	return ENT_OK;
}

/* ---- GET/PUT /api/messages/settings ---- */

struct settings {
	int found, forward;
	const char *address, *ooo_from, *ooo_until, *ooo_text;
	int64_t serial;
	int quiet_start, quiet_end; /* -1: none */
};

static int settings_load(db_conn *c, arena *a, const char *user, struct settings *st)
{
	memset(st, 0, sizeof(*st));
	st->quiet_start = st->quiet_end = -1;
	db_stmt *s = SQL_PREP(c,
			      "SELECT email_forward, email_address, ooo_from, ooo_until, ooo_text, ooo_serial,"
			      " quiet_start, quiet_end FROM message_settings WHERE user_id = ?",
			      SQL_T(user));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW) {
		const char **f[] = {&st->address, &st->ooo_from, &st->ooo_until, &st->ooo_text};
		for (int i = 0; i < 4; i++)
			*f[i] = db_col_text(s, i + 1) ? arena_strdup(a, db_col_text(s, i + 1)) : NULL;
		st->found = 1;
		st->forward = db_col_int64(s, 0) != 0;
		st->serial = db_col_int64(s, 5);
		if (!db_col_is_null(s, 6) && !db_col_is_null(s, 7)) {
			st->quiet_start = (int)db_col_int64(s, 6);
			st->quiet_end = (int)db_col_int64(s, 7);
		}
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

static int smtp_configured(void) { return app.cfg && app.cfg->smtp && *app.cfg->smtp; }

static void settings_reply(http_req *req, db_conn *c)
{
	arena *a = http_arena(req);
	const char *me = http_principal(req)->sub;
	struct settings st;
	struct user u;
	int rc = settings_load(c, a, me, &st);
	int urc = rc ? rc : users_get(c, a, me, &u);
	int64_t waiting = 0;
	if (!rc) {
		db_stmt *s = db_prepare(c, "SELECT COUNT(*) FROM message_notices WHERE user_id = ?");
		rc = ENT_EDB;
		if (s) {
			db_bind_text(s, 1, me);
			rc = db_step(s);
			waiting = rc == DB_ROW ? db_col_int64(s, 0) : 0;
			db_done(s);
			rc = rc < 0 ? rc : ENT_OK;
		}
	}
	if (rc) {
		http_problem_err(req, rc, "Vos réglages n'ont pas pu être lus.");
		return;
	}
	char now[21];
	int64_t now_us = msg_now_us();
	msg_time(now_us, now);
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_key(w, "email_forward");
	jw_obj_open(w);
	jw_kbool(w, "available", smtp_configured());
	jw_kbool(w, "enabled", st.forward);
	jw_kstr(w, "address", st.address);
	jw_kstr(w, "account_email", urc ? NULL : u.email);
	jw_obj_close(w);
	jw_key(w, "out_of_office");
	if (st.ooo_text) {
		jw_obj_open(w);
		jw_kstr(w, "from", st.ooo_from);
		jw_kstr(w, "until", st.ooo_until);
		jw_kstr(w, "text", st.ooo_text);
		jw_kbool(w, "active", strcmp(st.ooo_from, now) <= 0 && strcmp(st.ooo_until, now) > 0);
		jw_obj_close(w);
	} else
		jw_null(w);
	jw_key(w, "quiet_hours");
	if (st.quiet_start >= 0) {
		char hm[8];
		jw_obj_open(w);
		snprintf(hm, sizeof(hm), "%02d:%02d", (st.quiet_start / 60) % 100, st.quiet_start % 60);
		jw_kstr(w, "start", hm);
		snprintf(hm, sizeof(hm), "%02d:%02d", (st.quiet_end / 60) % 100, st.quiet_end % 60);
		jw_kstr(w, "end", hm);
		time_t end = quiet_end(st.quiet_start, st.quiet_end, (time_t)(now_us / 1000000));
		jw_kbool(w, "active", end != 0);
		char until[21];
		if (end)
			util_time_rfc3339(end, until);
		jw_kstr(w, "until", end ? until : NULL);
		jw_obj_close(w);
	} else
		jw_null(w);
	jw_kint(w, "waiting_notifications", waiting);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

void msg_settings_get(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	settings_reply(req, c);
}

/* Checks obj (a member of the body named key) against fields; errors named "key.field". */
static void check_member(arena *a, const json_t *obj, const char *key, const struct jfield *fields, size_t n,
			 json_t *errors)
{
	if (!json_is_object(obj)) {
		json_object_set_new(errors, key, json_string("doit être un objet"));
		return;
	}
	json_t *e = json_object();
	json_check(obj, fields, n, e);
	const char *k;
	json_t *m;
	json_object_foreach (e, k, m)
		json_object_set(errors, arena_printf(a, "%s.%s", key, k), m);
	json_decref(e);
}

/* "HH:MM" -> minutes of the day, or -1. */
static int parse_hm(const char *s)
{
	if (!s || strlen(s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	return h < 24 && m < 60 ? h * 60 + m : -1;
}

void msg_settings_put(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	arena *a = http_arena(req);
	static const struct jfield fields[] = {
		{"email_forward", JF_OBJECT, 0, 0, 0, 0, NULL},
		{"out_of_office", JF_OBJECT, 0, 1, 0, 0, NULL},
		{"quiet_hours", JF_OBJECT, 0, 1, 0, 0, NULL},
	};
	static const struct jfield fwd_fields[] = {
		{"enabled", JF_BOOL, 1, 0, 0, 0, NULL},
		{"address", JF_STRING, 0, 1, 0, 254, NULL},
	};
	static const struct jfield ooo_fields[] = {
		{"from", JF_TIME, 1, 0, 0, 0, NULL},
		{"until", JF_TIME, 1, 0, 0, 0, NULL},
		{"text", JF_STRING, 1, 0, 1, OOO_TEXT_MAX, NULL},
	};
	static const struct jfield quiet_fields[] = {
		{"start", JF_STRING, 1, 0, 5, 5, NULL},
		{"end", JF_STRING, 1, 0, 5, 5, NULL},
	};
	json_t *errors = json_object();
	json_check(body, fields, 3, errors);
	const json_t *fwd = json_object_get(body, "email_forward"), *ooo = json_object_get(body, "out_of_office"),
		     *quiet = json_object_get(body, "quiet_hours");
	if (fwd && !json_object_get(errors, "email_forward")) {
		check_member(a, fwd, "email_forward", fwd_fields, 2, errors);
		const char *addr = json_get_str(fwd, "address", NULL);
		if (addr && !json_object_get(errors, "email_forward.address") && !util_valid_email_address(addr))
			json_object_set_new(errors, "email_forward.address",
					    json_string("doit être une adresse électronique (nom@domaine)"));
	}
	time_t from = 0, until = 0;
	if (ooo && !json_is_null(ooo) && !json_object_get(errors, "out_of_office")) {
		check_member(a, ooo, "out_of_office", ooo_fields, 3, errors);
		const char *text = json_get_str(ooo, "text", NULL);
		if (text && !util_valid_lines(text))
			json_object_set_new(errors, "out_of_office.text",
					    json_string("ne doit pas contenir de caractères de contrôle"));
		if (!util_parse_rfc3339(json_get_str(ooo, "from", ""), &from) &&
		    !util_parse_rfc3339(json_get_str(ooo, "until", ""), &until)) {
			if (until <= from)
				json_object_set_new(errors, "out_of_office.until",
						    json_string("doit être après le début de l'absence"));
			else if (until <= time(NULL))
				json_object_set_new(errors, "out_of_office.until",
						    json_string("doit être dans le futur"));
			else if (until - from > (time_t)MSG_SCHEDULE_MAX_DAYS * 86400)
				json_object_set_new(errors, "out_of_office.until",
						    json_string("une absence dure un an au plus"));
		}
	}
	int qs = -1, qe = -1;
	if (quiet && !json_is_null(quiet) && !json_object_get(errors, "quiet_hours")) {
		check_member(a, quiet, "quiet_hours", quiet_fields, 2, errors);
		qs = parse_hm(json_get_str(quiet, "start", NULL));
		qe = parse_hm(json_get_str(quiet, "end", NULL));
		if (qs < 0 && !json_object_get(errors, "quiet_hours.start"))
			json_object_set_new(errors, "quiet_hours.start", json_string("doit être une heure HH:MM"));
		if (qe < 0 && !json_object_get(errors, "quiet_hours.end"))
			json_object_set_new(errors, "quiet_hours.end", json_string("doit être une heure HH:MM"));
		if (qs >= 0 && qs == qe)
			json_object_set_new(errors, "quiet_hours.end", json_string("doit différer du début"));
	}
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *me = http_principal(req)->sub;
	struct settings st;
	int rc = settings_load(c, a, me, &st);
	if (rc) {
		http_problem_err(req, rc, "Vos réglages n'ont pas pu être lus.");
		return;
	}
	if (fwd) {
		st.forward = json_is_true(json_object_get(fwd, "enabled"));
		st.address = json_get_str(fwd, "address", NULL);
		if (st.forward && !smtp_configured()) {
			http_problem(req, 409,
				     "Le transfert des messages par courriel n'est pas disponible sur ce serveur.");
			return;
		}
		struct user u;
		if (st.forward && !st.address &&
		    (users_get(c, a, me, &u) || !u.email || !util_valid_email_address(u.email))) {
			http_invalid(req, json_pack("{s:s}", "email_forward.address",
						    "votre compte n'a pas d'adresse électronique : indiquez-en une"));
			return;
		}
	}
	if (ooo) {
		char f[21], u[21];
		const char *nf = NULL, *nu = NULL;
		if (!json_is_null(ooo)) {
			util_time_rfc3339(from, f);
			util_time_rfc3339(until, u);
			nf = f;
			nu = u;
		}
		/* New dates: a new absence, whose senders get an answer again. */
		if (!nf || !st.ooo_from || strcmp(nf, st.ooo_from) || strcmp(nu, st.ooo_until))
			st.serial++;
		st.ooo_from = nf ? arena_strdup(a, nf) : NULL;
		st.ooo_until = nu ? arena_strdup(a, nu) : NULL;
		st.ooo_text = nf ? json_get_str(ooo, "text", NULL) : NULL;
	}
	if (quiet) {
		st.quiet_start = json_is_null(quiet) ? -1 : qs;
		st.quiet_end = json_is_null(quiet) ? -1 : qe;
	}
	char now[21];
	int64_t now_us = msg_now_us();
	msg_time(now_us, now);
	int released = 0;
	if (!(rc = db_begin(c))) {
		db_stmt *s = db_prepare(
			c,
			"INSERT INTO message_settings (user_id, email_forward, email_address, ooo_from, ooo_until, ooo_text,"
			" ooo_serial, quiet_start, quiet_end, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			" ON CONFLICT (user_id) DO UPDATE SET email_forward = excluded.email_forward,"
			" email_address = excluded.email_address, ooo_from = excluded.ooo_from,"
			" ooo_until = excluded.ooo_until, ooo_text = excluded.ooo_text, ooo_serial = excluded.ooo_serial,"
			" quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,"
			" updated_at = excluded.updated_at");
		rc = ENT_EDB;
		if (s) {
			db_bind_text(s, 1, me);
			db_bind_int64(s, 2, st.forward);
			db_bind_text_or_null(s, 3, st.address);
			db_bind_text_or_null(s, 4, st.ooo_from);
			db_bind_text_or_null(s, 5, st.ooo_until);
			db_bind_text_or_null(s, 6, st.ooo_text);
			db_bind_int64(s, 7, st.serial);
			if (st.quiet_start >= 0) {
				db_bind_int64(s, 8, st.quiet_start);
				db_bind_int64(s, 9, st.quiet_end);
			} else {
				db_bind_null(s, 8);
				db_bind_null(s, 9);
			}
			db_bind_text(s, 10, now);
			rc = db_step(s);
			db_done(s);
		}
		/* What waits for the end of the quiet hours follows their new end, or goes now. */
		if (rc >= 0 && quiet) {
			int64_t until_us = 0;
			if (st.quiet_start >= 0) {
				time_t end = quiet_end(st.quiet_start, st.quiet_end, (time_t)(now_us / 1000000));
				until_us = (int64_t)end * 1000000;
			}
			rc = SQL_RUN(c, "UPDATE message_notices SET due_us = ? WHERE user_id = ?",
				     SQL_I(until_us ? until_us : now_us), SQL_T(me));
			if (rc >= 0 && !until_us)
				rc = released = msg_release_notices(c, me, now_us);
		}
		rc = rc < 0 ? (db_rollback(c), rc) : db_commit(c);
	}
	if (rc) {
		http_problem_err(req, rc, "Vos réglages n'ont pas pu être enregistrés.");
		return;
	}
	if (released)
		bus_kick();
	settings_reply(req, c);
}
