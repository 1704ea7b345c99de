/*
 * wake.c - wake-ups across processes (wake.h): NOTIFY/LISTEN on PostgreSQL, a direct call on
 * SQLite.
 *
 * One thread per process that has subscribers and runs on PostgreSQL: it opens its listening
 * connection (db_listen), waits for notifications at most WAKE_POLL_MS at a time (so that
 * wake_stop() returns quickly) and calls the topic's subscriber for each. A lost connection is
 * re-opened with a backoff from 1 s doubling to 30 s, logged once when lost and once when back.
 * The channel carries "topic:payload"; a notification of an unknown topic is ignored (a process
 * of another version, or a topic this process does not serve).
 */
#include "wake.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "err.h"
#include "log.h"

#define WAKE_CHANNEL "ent_wake"
#define WAKE_TOPICS 8
#define WAKE_TOPIC_MAX 24
#define WAKE_POLL_MS 500
#define WAKE_RETRY_MIN_MS 1000
#define WAKE_RETRY_MAX_MS 30000

struct sub {
	char topic[WAKE_TOPIC_MAX];
	wake_fn fn;
};

static struct sub subs[WAKE_TOPICS];
static size_t nsubs;

static pthread_t listener;
static int started;
static atomic_int stopping, listening;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static int valid_topic(const char *t)
{
	size_t n = 0;
	for (; t[n]; n++)
		if (!((t[n] >= 'a' && t[n] <= 'z') || t[n] == '_'))
			return 0;
	return n > 0 && n < WAKE_TOPIC_MAX;
}

int wake_subscribe(const char *topic, wake_fn fn)
{
	if (!topic || !fn || !valid_topic(topic) || nsubs == WAKE_TOPICS)
		return ENT_EINVAL;
	for (size_t i = 0; i < nsubs; i++)
		if (!strcmp(subs[i].topic, topic))
			return ENT_EINVAL;
	snprintf(subs[nsubs].topic, sizeof subs[nsubs].topic, "%s", topic);
	subs[nsubs].fn = fn;
	nsubs++;
	return ENT_OK;
}

static wake_fn find(const char *topic, size_t len)
{
	for (size_t i = 0; i < nsubs; i++)
		if (strlen(subs[i].topic) == len && !memcmp(subs[i].topic, topic, len))
			return subs[i].fn;
	return NULL;
}

/* "topic:payload" as received: to the topic's subscriber, if any. */
static void dispatch(const char *msg, void *arg)
{
	(void)arg;
	const char *colon = strchr(msg, ':');
	if (!colon)
		return;
	wake_fn fn = find(msg, (size_t)(colon - msg));
	if (fn)
		fn(colon + 1);
}

static int on_postgres(void) { return app.db && db_kind(app.db) == DB_POSTGRES; }

int wake_send(const char *topic, const char *payload)
{
	if (!valid_topic(topic) || !payload)
		return ENT_EINVAL;
	size_t tl = strlen(topic), pl = strlen(payload);
	if (pl > WAKE_MAX_PAYLOAD)
		return ENT_ETOOBIG;
	wake_fn fn = find(topic, tl);
	if (!on_postgres()) {
		if (fn)
			fn(payload);
		return ENT_OK;
	}
	char *msg = malloc(tl + pl + 2);
	if (!msg)
		abort();
	memcpy(msg, topic, tl);
	msg[tl] = ':';
	memcpy(msg + tl + 1, payload, pl + 1);
	db_conn *c = app_db();
	db_stmt *s = c ? db_prepare(c, "SELECT pg_notify(?, ?)") : NULL;
	int rc = s ? ENT_OK : ENT_EUNAVAIL;
	if (s) {
		db_bind_text(s, 1, WAKE_CHANNEL);
		db_bind_text(s, 2, msg);
		int st = db_step(s);
		db_done(s);
		if (st < 0)
			rc = st;
	}
	free(msg);
	if (rc != ENT_OK) {
		log_warn("wake: a %s wake-up could not be sent to the other processes: %s", topic, ent_err_str(rc));
		if (fn)
			fn(payload); /* this process's own streams at least */
	}
	return rc;
}

/* Sleeps ms, or until wake_stop(). Returns 1 when stopping. */
static int pause_ms(long ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mu);
	while (!stopping)
		if (pthread_cond_timedwait(&cond, &mu, &until) == ETIMEDOUT)
			break;
	int stop = stopping;
	pthread_mutex_unlock(&mu);
	return stop;
}

static void *listen_main(void *arg)
{
	db_listener *first = arg;
	long backoff = WAKE_RETRY_MIN_MS;
	int down_logged = 0;
	while (!stopping) {
		char err[256] = "";
		db_listener *l = first ? first : db_listen(app.db, WAKE_CHANNEL, err, sizeof err);
		first = NULL;
		if (!l) {
			if (!down_logged)
				log_warn("wake: cannot listen for the other processes' wake-ups (%s); retrying", err);
			down_logged = 1;
			if (pause_ms(backoff))
				break;
			backoff = backoff * 2 > WAKE_RETRY_MAX_MS ? WAKE_RETRY_MAX_MS : backoff * 2;
			continue;
		}
		if (down_logged)
			log_info("wake: listening for the other processes' wake-ups again");
		down_logged = 0;
		backoff = WAKE_RETRY_MIN_MS;
		atomic_store(&listening, 1);
		while (!stopping)
			if (db_listen_wait(l, WAKE_POLL_MS, dispatch, NULL) < 0) {
				log_warn("wake: the listening connection was lost; opening it again");
				down_logged = 1;
				break;
			}
		atomic_store(&listening, 0);
		db_listen_close(l);
	}
	return NULL;
}

int wake_start(void)
{
	stopping = 0;
	if (!nsubs || !on_postgres())
		return ENT_OK;
	/* Listening before the first request: a stream opened at once hears every wake-up. */
	char err[256] = "";
	db_listener *l = db_listen(app.db, WAKE_CHANNEL, err, sizeof err);
	if (!l)
		log_warn("wake: cannot listen for the other processes' wake-ups yet (%s); retrying", err);
	int e = pthread_create(&listener, NULL, listen_main, l);
	if (e != 0) {
		db_listen_close(l);
		log_error("wake: the listening thread did not start: %s", strerror(e));
		return ENT_EINTERNAL;
	}
	started = 1;
	return ENT_OK;
}

void wake_stop(void)
{
	if (started) {
		pthread_mutex_lock(&mu);
		stopping = 1;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&mu);
		pthread_join(listener, NULL);
		started = 0;
	}
	nsubs = 0;
}

int wake_listening(void) { return atomic_load(&listening); }
