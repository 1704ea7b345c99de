/*
 * vectors.c - keeps Qdrant's points in line with the passages table (ENT_VECTORS), outside the
 * bus's transactions.
 *
 * Embedding a document takes a model's time (seconds with a real one), and the bus applies an
 * event inside a write transaction: computing embeddings there would hold SQLite's write lock for
 * that long. So the consumer (index.c) only records, in its transaction, that a document changed
 * (chatbot_vector_queue, one row per document), and a thread of the chatbot service brings its
 * points in line afterwards, with no transaction open: it reads the document's passages as they
 * are now, deletes its points by filter and writes one point per passage (or only deletes, when
 * the document is gone, unreadable or empty). The row goes once that succeeded and only if it was
 * not queued again meanwhile; a failure is retried later, with a growing delay (5 s doubling, at
 * most 5 min), and logged.
 *
 * Meanwhile answers stay right: a vector hit is found again in chatbot_passages, where the access
 * filter applies, so a stale point of a deleted or moved document is dropped, never shown. Point
 * ids are derived from (document, file, position), so two processes syncing the same document
 * write the same points.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/app.h"
#include "core/err.h"
#include "core/log.h"
#include "core/sql.h"

#define SYNC_INTERVAL_S 1
#define SYNC_BATCH 16

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int cb_vec_queue(db_conn *c, const char *material_id)
{
	int rc = SQL_RUN(c,
			 "INSERT INTO chatbot_vector_queue (material_id, queued_us, attempts, next_us)"
			 " VALUES (?, ?, 0, 0) ON CONFLICT (material_id) DO UPDATE SET"
			 " queued_us = excluded.queued_us, attempts = 0, next_us = 0",
			 SQL_T(material_id), SQL_I(now_us()));
	return rc < 0 ? rc : ENT_OK;
}

/* Brings material_id's points in line with its passages now. 0 or an ent_err. */
static int sync_one(db_conn *c, const char *material_id)
{
	arena *a = arena_new(0);
	const char *course = NULL, *file = NULL;
	db_stmt *s = db_prepare(c, "SELECT course_id, file_id FROM chatbot_documents WHERE material_id = ? AND"
				   " status = 'indexed'");
	int rc = ENT_EDB;
	if (s) {
		db_bind_text(s, 1, material_id);
		rc = db_step(s);
		if (rc == DB_ROW) {
			course = arena_strdup(a, db_col_text(s, 0));
			file = arena_strdup(a, db_col_text(s, 1));
		}
		db_done(s);
	}
	struct cb_passage *p = NULL;
	size_t n = 0, cap = 0;
	if (rc >= 0 && course) {
		s = db_prepare(c, "SELECT page, text FROM chatbot_passages WHERE material_id = ? ORDER BY seq");
		rc = ENT_EDB;
		if (s) {
			db_bind_text(s, 1, material_id);
			while ((rc = db_step(s)) == DB_ROW) {
				p = arena_grow(a, p, n, &cap, sizeof(*p));
				p[n].page = (int)db_col_int64(s, 0);
				p[n++].text = arena_strdup(a, db_col_text(s, 1));
			}
			db_done(s);
		}
	}
	if (rc >= 0)
		rc = course && n ? cb_vec_index(material_id, course, file, p, n) : cb_vec_delete_document(material_id);
	arena_free(a);
	return rc < 0 ? rc : ENT_OK;
}

/* One round: the documents due. Returns how many were brought in line. */
static int sync_round(db_conn *c)
{
	arena *a = arena_new(0);
	const char *ids[SYNC_BATCH];
	int64_t queued[SYNC_BATCH], attempts[SYNC_BATCH];
	size_t n = 0;
	int64_t now = now_us();
	db_stmt *s = db_prepare(c,
				"SELECT material_id, queued_us, attempts FROM chatbot_vector_queue WHERE next_us <= ?"
				" ORDER BY queued_us LIMIT 16");
	if (s) {
		db_bind_int64(s, 1, now);
		while (n < SYNC_BATCH && db_step(s) == DB_ROW) {
			ids[n] = arena_strdup(a, db_col_text(s, 0));
			queued[n] = db_col_int64(s, 1);
			attempts[n++] = db_col_int64(s, 2);
		}
		db_done(s);
	}
	int done = 0;
	for (size_t i = 0; i < n && !cb_jobs_stopping(); i++) {
		int rc = sync_one(c, ids[i]);
		if (rc == ENT_OK) {
			s = db_prepare(c, "DELETE FROM chatbot_vector_queue WHERE material_id = ? AND queued_us = ?");
			if (s) {
				db_bind_text(s, 1, ids[i]);
				db_bind_int64(s, 2, queued[i]);
				db_step(s);
				db_done(s);
			}
			done++;
			continue;
		}
		int64_t delay = attempts[i] >= 6 ? 300 : 5LL << attempts[i];
		log_warn("chatbot: the vectors of document %s could not be written (%s); retried in %lld s", ids[i],
			 ent_err_str(rc), (long long)delay);
		s = db_prepare(c, "UPDATE chatbot_vector_queue SET attempts = attempts + 1, next_us = ? WHERE"
				  " material_id = ? AND queued_us = ?");
		if (s) {
			db_bind_int64(s, 1, now_us() + delay * 1000000);
			db_bind_text(s, 2, ids[i]);
			db_bind_int64(s, 3, queued[i]);
			db_step(s);
			db_done(s);
		}
	}
	arena_free(a);
	return done;
}

static pthread_t syncer;
static int syncer_running, syncer_stop;
static pthread_mutex_t syncer_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t syncer_cv = PTHREAD_COND_INITIALIZER;

static void *syncer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&syncer_mu);
	while (!syncer_stop) {
		pthread_mutex_unlock(&syncer_mu);
		db_conn *c = app_db();
		int busy = c ? sync_round(c) : 0;
		pthread_mutex_lock(&syncer_mu);
		if (busy)
			continue; /* more may be due */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += SYNC_INTERVAL_S;
		while (!syncer_stop && pthread_cond_timedwait(&syncer_cv, &syncer_mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&syncer_mu);
	return NULL;
}

int cb_vec_start(void)
{
	syncer_stop = 0;
	if (pthread_create(&syncer, NULL, syncer_main, NULL))
		return ENT_EINTERNAL;
	syncer_running = 1;
	return ENT_OK;
}

void cb_vec_stop(void)
{
	if (!syncer_running)
		return;
	pthread_mutex_lock(&syncer_mu);
	syncer_stop = 1;
	pthread_cond_broadcast(&syncer_cv);
	pthread_mutex_unlock(&syncer_mu);
	pthread_join(syncer, NULL);
	syncer_running = 0;
}
