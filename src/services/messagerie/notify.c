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
 * The thread runs in every process that runs the service; a scheduled message is delivered once
 * because each delivery first claims the message row (compose.c, msg_deliver_due).
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

#define WORKER_INTERVAL_S 1
#define PURGE_EVERY 3600 /* worker rounds between two trash purges */

int msg_notify(db_conn *c, arena *a, const char *message_id, const char *sender_name, const char *subject,
	       int ack_required, int reminder, const char *const *users, size_t n)
{
	(void)a;
	if (!n)
		return ENT_OK;
	json_t *ids = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ids, json_string(users[i]));
	const char *who = sender_name && *sender_name ? sender_name : "un utilisateur";
	char title[256];
	if (reminder)
		snprintf(title, sizeof(title), "Rappel de %s : confirmation de lecture attendue", who);
	else if (ack_required)
		snprintf(title, sizeof(title), "Annonce de %s à confirmer", who);
	else
		snprintf(title, sizeof(title), "Nouveau message de %s", who);
	json_t *p = json_pack("{s:o, s:s, s:s, s:s}", "students", ids, "message_id", message_id, "notify_title", title,
			      "notify_body", subject && *subject ? subject : "(sans objet)");
	int rc = bus_publish(c, "messagerie", "message.received", p, NULL);
	json_decref(p);
	return rc;
}

void msg_announce(db_conn *c, arena *a, const char *message_id, const char *const *users, size_t n)
{
	bus_kick();
	if (!n || !c)
		return;
	db_stmt *s = db_prepare(
		c, "SELECT thread_id, subject, sender_id, sent_at, ack_required FROM messages WHERE id = ?");
	if (!s)
		return;
	db_bind_text(s, 1, message_id);
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
}

/* ---- the background thread ---- */

static pthread_t worker;
static int worker_running, worker_stop;
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
				log_error("messagerie: scheduled messages: %s", ent_err_str(rc));
			if (round++ % PURGE_EVERY == 0 && (rc = msg_purge_trash(c)) < 0)
				log_error("messagerie: emptying the trash: %s", ent_err_str(rc));
		}
		pthread_mutex_lock(&worker_mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += WORKER_INTERVAL_S;
		while (!worker_stop && pthread_cond_timedwait(&worker_cv, &worker_mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&worker_mu);
	return NULL;
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
