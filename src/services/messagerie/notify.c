/*
 * notify.c - what the messagerie tells others: message.received on the bus for each delivered
 * message (the notifications service turns it into one notification per recipient, with the
 * French texts written here: notify_title, notify_body), the live push to open streams, and the
 * background thread that delivers scheduled messages and empties old trash.
 *
 * The payload lists every recipient, bcc included, in "students" (the notifications service's
 * name for the users an event concerns): each recipient's notification is their own and names
 * only the sender and the subject, never the other recipients.
 *
 * Quiet hours: a recipient in theirs (settings.c) gets no event now; a row of message_notices
 * waits for the end, when the background thread publishes it (a row is claimed by deleting it,
 * so it is published once), unless the message left their mailbox meanwhile.
 *
 * The thread runs in every process that runs the service; a scheduled message is delivered once
 * because each delivery first claims the message row (compose.c, msg_deliver_due). It also sends
 * the e-mails of mail.c; msg_worker_kick() wakes it when one is queued.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/app.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "core/sql.h"

#define WORKER_INTERVAL_S 1
#define PURGE_EVERY 3600 /* worker rounds between two trash purges */

/* Publishes message.received for users with title and body. */
static int publish(db_conn *c, const char *message_id, const char *title, const char *body, const char *const *users,
		   size_t n)
{
	if (!n)
		return ENT_OK;
	json_t *ids = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ids, json_string(users[i]));
	json_t *p = json_pack("{s:o, s:s, s:s, s:s}", "students", ids, "message_id", message_id, "notify_title", title,
			      "notify_body", body);
	int rc = bus_publish(c, "messagerie", "message.received", p, NULL);
	json_decref(p);
	return rc;
}

int msg_notify(db_conn *c, arena *a, const char *message_id, const char *sender_name, const char *subject,
	       int ack_required, int reminder, const char *const *users, size_t n)
{
	if (!n)
		return ENT_OK;
	const char *who = sender_name && *sender_name ? sender_name : "un utilisateur";
	char title[256];
	if (reminder == 2)
		snprintf(title, sizeof(title), "Réponse automatique de %s", who);
	else if (reminder)
		snprintf(title, sizeof(title), "Rappel de %s : confirmation de lecture attendue", who);
	else if (ack_required)
		snprintf(title, sizeof(title), "Annonce de %s à confirmer", who);
	else
		snprintf(title, sizeof(title), "Nouveau message de %s", who);
	const char *body = subject && *subject ? subject : "(sans objet)";
	/* Those in their quiet hours get it when they end; the others now. */
	const char **now = arena_alloc(a, n * sizeof(*now));
	size_t nnow = 0;
	int64_t now_us = msg_now_us(), *ends = arena_alloc(a, n * sizeof(*ends));
	int rc = msg_quiet_until(c, users, n, now_us, ends);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		int64_t until = ends[i];
		if (!until) {
			now[nnow++] = users[i];
			continue;
		}
		rc = SQL_RUN(c,
			     "INSERT INTO message_notices (user_id, message_id, due_us, title, body)"
			     " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, message_id) DO UPDATE SET"
			     " due_us = excluded.due_us, title = excluded.title, body = excluded.body",
			     SQL_T(users[i]), SQL_T(message_id), SQL_I(until), SQL_T(title), SQL_T(body));
		if (rc < 0)
			return rc;
	}
	return publish(c, message_id, title, body, now, nnow);
}

int msg_release_notices(db_conn *c, const char *user, int64_t now_us)
{
	db_stmt *s = db_prepare(
		c,
		user ? "SELECT user_id, message_id, title, body FROM message_notices WHERE user_id = ? AND due_us <= ?"
		       " ORDER BY due_us LIMIT 500"
		     : "SELECT user_id, message_id, title, body FROM message_notices WHERE due_us <= ?"
		       " ORDER BY due_us LIMIT 500");
	if (!s)
		return ENT_EDB;
	int k = 1;
	if (user)
		db_bind_text(s, k++, user);
	db_bind_int64(s, k, now_us);
	arena *a = arena_new(0);
	struct {
		const char *user, *message, *title, *body;
	} *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		v[n].user = arena_strdup(a, db_col_text(s, 0));
		v[n].message = arena_strdup(a, db_col_text(s, 1));
		v[n].title = arena_strdup(a, db_col_text(s, 2));
		v[n++].body = arena_strdup(a, db_col_text(s, 3));
	}
	db_done(s);
	int released = 0;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		/* The claim: the process whose delete removed the row publishes it. */
		int64_t changed = 0;
		rc = SQL_CHANGE(c, &changed,
				"DELETE FROM message_notices WHERE user_id = ? AND message_id = ? AND due_us <= ?",
				SQL_T(v[i].user), SQL_T(v[i].message), SQL_I(now_us));
		int claimed = rc >= 0 && changed == 1;
		/* A message recalled (or deleted) meanwhile is not announced. */
		int held = claimed ? db_exists(c,
					       "SELECT 1 FROM message_boxes WHERE message_id = ? AND user_id = ?"
					       " AND visible = 1",
					       v[i].message, v[i].user)
				   : 0;
		if (held < 0)
			rc = held;
		else if (held > 0)
			rc = publish(c, v[i].message, v[i].title, v[i].body, &v[i].user, 1);
		released += held > 0;
	}
	arena_free(a);
	return rc < 0 ? rc : released;
}

void msg_announce(db_conn *c, arena *a, const char *message_id, const char *const *users, size_t n)
{
	bus_kick();
	if (!n || !c)
		return;
	db_stmt *s = SQL_PREP(c,
			      "SELECT thread_id, subject, sender_id, sent_at, ack_required FROM messages WHERE id = ?",
			      SQL_T(message_id));
	if (!s)
		return;
	if (db_step(s) != DB_ROW) {
		db_done(s);
		return;
	}
	jwbuf j;
	jw *w = jwbuf_init(&j, 1 << 16);
	jw_obj_open(w);
	jw_kstr(w, "id", message_id);
	jw_kstr(w, "thread_id", db_col_text(s, 0));
	jw_kstr(w, "subject", db_col_text(s, 1));
	jw_key(w, "sender");
	jw_obj_open(w);
	jw_kstr(w, "id", db_col_text(s, 2));
	jw_kstr(w, "name", msg_addr_label(c, a, "user", db_col_text(s, 2)));
	jw_obj_close(w);
	jw_kstr(w, "sent_at", db_col_text(s, 3));
	jw_kbool(w, "ack_required", db_col_int64(s, 4) != 0);
	jw_kstr(w, "folder", "inbox");
	jw_obj_close(w);
	db_done(s);
	size_t len;
	char *data = buf_take(&j.b, &len);
	if (data)
		msg_push(users, n, "message", message_id, data);
	free(data);
	msg_push_unread(users, n);
}

void msg_announce_autos(db_conn *c, arena *a, const struct msg_auto *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		msg_announce(c, a, v[i].id, &v[i].to, 1);
}

/* ---- the background thread ---- */

static pthread_t worker;
static int worker_running, worker_stop, worker_kicked;
static pthread_mutex_t worker_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t worker_cv = PTHREAD_COND_INITIALIZER;

static void *worker_main(void *arg)
{
	(void)arg;
	unsigned round = 0;
	pthread_mutex_lock(&worker_mu);
	while (!worker_stop) {
		pthread_mutex_unlock(&worker_mu);
		db_conn *c = app_db();
		if (c) {
			int rc = msg_deliver_due(c);
			if (rc < 0)
				log_job_failed(rc, "messagerie: scheduled messages");
			if (round++ % PURGE_EVERY == 0 && (rc = msg_purge_trash(c)) < 0)
				log_job_failed(rc, "messagerie: emptying the trash");
			if ((rc = db_begin(c)) == ENT_OK) {
				rc = msg_release_notices(c, NULL, msg_now_us());
				if (rc < 0)
					db_rollback(c);
				else if (db_commit(c) == ENT_OK && rc > 0)
					bus_kick();
			}
			if (rc < 0)
				log_job_failed(rc, "messagerie: waiting notifications");
			if ((rc = msg_mail_send_due(c)) < 0)
				log_job_failed(rc, "messagerie: e-mails");
		}
		pthread_mutex_lock(&worker_mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += WORKER_INTERVAL_S;
		while (!worker_stop && !worker_kicked &&
		       pthread_cond_timedwait(&worker_cv, &worker_mu, &until) != ETIMEDOUT)
			;
		worker_kicked = 0;
	}
	pthread_mutex_unlock(&worker_mu);
	return NULL;
}

void msg_worker_kick(void)
{
	pthread_mutex_lock(&worker_mu);
	worker_kicked = 1;
	pthread_cond_broadcast(&worker_cv);
	pthread_mutex_unlock(&worker_mu);
}

int msg_worker_start(void)
{
	worker_stop = 0;
	if (pthread_create(&worker, NULL, worker_main, NULL))
		return ENT_EINTERNAL;
	worker_running = 1;
	return ENT_OK;
}

void msg_worker_stop(void)
{
	if (!worker_running)
		return;
	pthread_mutex_lock(&worker_mu);
	worker_stop = 1;
	pthread_cond_broadcast(&worker_cv);
	pthread_mutex_unlock(&worker_mu);
	pthread_join(worker, NULL);
	worker_running = 0;
}
