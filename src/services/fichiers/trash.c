/*
 * trash.c - blobs are deleted after the transaction that deleted their file, by a sweeper.
 *
 * fichiers_delete() puts the file's blob key in fichiers_trash, then removes the file's row (in the
 * caller's transaction when there is one: a course deleted with its materials is one). The sweeper
 * thread of any process running the service deletes the blobs of the trash that no row names any
 * more, and their trash rows. A crash only delays a deletion to the next sweep (after a restart
 * too); a key whose row still exists an hour later was not deleted after all (its transaction
 * rolled back) and leaves the trash; a blob store that refuses keeps the row, retried at each
 * sweep (attempts counts them). Deleting an absent blob succeeds, so two processes sweeping the
 * same row do no harm.
 *
 * Expired upload reservations go first: each names the object its upload was writing (upload.c);
 * one still there after its hour is an upload that never recorded its file (a process killed
 * between the object's commit and its row, or an upload of more than an hour, which then fails
 * since its reservation is gone: fichiers_claim). The key goes to the trash and the reservation
 * away, in one transaction; the object is then deleted like any other if no file names it.
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

#define SWEEP_INTERVAL_S 5
#define SWEEP_BATCH 100

/* Moves the keys of expired reservations to the trash and deletes those reservations. */
static int sweep_reservations(db_conn *c)
{
	int64_t now = (int64_t)time(NULL);
	/* A read first: no write transaction every few seconds when there is nothing to do. */
	int rc = SQL_RUN(c, "SELECT 1 FROM fichiers_reservations WHERE expires_at < ? LIMIT 1", SQL_I(now));
	if (rc != DB_ROW)
		return rc < 0 ? rc : ENT_OK;
	if ((rc = db_begin(c)))
		return rc;
	rc = SQL_RUN(c,
		     "INSERT INTO fichiers_trash (blob_key, deleted_at) SELECT blob_key, ? FROM fichiers_reservations"
		     " WHERE expires_at < ? AND blob_key IS NOT NULL ON CONFLICT (blob_key) DO NOTHING",
		     SQL_I(now), SQL_I(now));
	if (rc >= 0)
		rc = SQL_RUN(c, "DELETE FROM fichiers_reservations WHERE expires_at < ?", SQL_I(now));
	return db_end(c, rc);
}

int fichiers_trash_sweep(db_conn *c)
{
	if (!fichiers_store)
		return ENT_EUNAVAIL;
	int rrc = sweep_reservations(c);
	if (rrc < 0)
		return rrc;
	/* Stale keys first: a row that still names its blob an hour later was never deleted. */
	int rc = SQL_RUN(
		c, "DELETE FROM fichiers_trash WHERE deleted_at < ? AND blob_key IN (SELECT blob_key FROM fichiers)",
		SQL_I((int64_t)time(NULL) - 3600));
	if (rc < 0)
		return rc;
	db_stmt *s = SQL_PREP(c,
			      "SELECT t.blob_key FROM fichiers_trash t WHERE NOT EXISTS (SELECT 1 FROM fichiers f"
			      " WHERE f.blob_key = t.blob_key) ORDER BY t.deleted_at, t.blob_key LIMIT ?",
			      SQL_I(SWEEP_BATCH));
	if (!s)
		return ENT_EDB;
	char keys[SWEEP_BATCH][128];
	int n = 0;
	while (n < SWEEP_BATCH && (rc = db_step(s)) == DB_ROW)
		snprintf(keys[n++], sizeof keys[0], "%s", db_col_text(s, 0));
	db_done(s);
	if (rc < 0)
		return rc;
	int done = 0;
	for (int i = 0; i < n; i++) {
		int brc = blob_delete(fichiers_store, keys[i]);
		const char *sql = brc ? "UPDATE fichiers_trash SET attempts = attempts + 1 WHERE blob_key = ?"
				      : "DELETE FROM fichiers_trash WHERE blob_key = ?";
		if (brc)
			log_warn("fichiers: blob %s could not be deleted (%s); retried later", keys[i],
				 ent_err_str(brc));
		if ((s = db_prepare(c, sql))) {
			db_bind_text(s, 1, keys[i]);
			db_step(s);
			db_done(s);
		}
		done += !brc;
	}
	return done;
}

static pthread_t sweeper;
static int running, stopping, kicked;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *sweeper_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!stopping) {
		kicked = 0;
		pthread_mutex_unlock(&mu);
		db_conn *c = app_db();
		if (c && fichiers_store) {
			int rc = fichiers_trash_sweep(c);
			if (rc < 0)
				log_job_failed(rc, "fichiers: the trash could not be swept");
		}
		pthread_mutex_lock(&mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += SWEEP_INTERVAL_S;
		while (!stopping && !kicked && pthread_cond_timedwait(&cv, &mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

void fichiers_trash_start(void)
{
	stopping = 0;
	if (pthread_create(&sweeper, NULL, sweeper_main, NULL) == 0)
		running = 1;
}

void fichiers_trash_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(sweeper, NULL);
	running = 0;
}

void fichiers_trash_kick(void)
{
	/* Woken at once; the row is visible to it after the caller's commit (else at the next sweep). */
	pthread_mutex_lock(&mu);
	kicked = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}
