/*
 * jobs.c - the support service's background work: a RESOLVED ticket that nobody reopened for 7
 * days closes itself.
 *
 * Safe with several processes: each one's thread looks every few seconds for candidates, then
 * claims each with a conditional UPDATE ... WHERE id = ? AND state = 'resolved' AND resolved_at < ?
 * in its own transaction. Only the process whose UPDATE changed the row writes the history and
 * publishes the event; for the others the row no longer matches, they change nothing and publish
 * nothing. A requester's answer that reopened the ticket in between also makes the claim fail.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "bus/bus.h"
#include "core/app.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "core/sql.h"

#define JOB_INTERVAL_S 2
#define BATCH 100

int sup_autoclose_due(db_conn *c)
{
	arena *a = arena_new(0);
	char now[21], limit[21];
	int64_t us;
	sup_now(now, &us);
	util_time_rfc3339(us / 1000000 - SUP_AUTOCLOSE_S, limit);
	db_stmt *s = SQL_PREP(c,
			      "SELECT id FROM support_requests WHERE state = 'resolved' AND resolved_at < ?"
			      " ORDER BY resolved_at LIMIT 100",
			      SQL_T(limit));
	if (!s) {
		arena_free(a);
		return ENT_EDB;
	}
	const char *ids[BATCH];
	size_t n = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW && n < BATCH)
		ids[n++] = arena_strdup(a, db_col_text(s, 0));
	db_done(s);
	int closed = 0;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		if ((rc = db_begin(c)))
			break;
		int64_t changed = 0;
		rc = SQL_CHANGE(c, &changed,
				"UPDATE support_requests SET state = 'closed', closed_at = ?, updated_at = ?"
				" WHERE id = ? AND state = 'resolved' AND resolved_at < ?",
				SQL_T(now), SQL_T(now), SQL_T(ids[i]), SQL_T(limit));
		int claimed = rc >= 0 && changed == 1;
		struct sup_ticket t;
		if (rc >= 0 && claimed)
			rc = sup_history_add(c, ids[i], NULL, "state", "resolved", "closed", now, us);
		if (rc >= 0 && claimed)
			rc = sup_ticket_get(c, a, ids[i], &t);
		if (rc >= 0 && claimed)
			rc = sup_notify_requester(c, &t, NULL,
						  arena_printf(a, "Demande « %s » : Clos", t.col[T_SUBJECT]),
						  "Votre demande résolue depuis 7 jours a été close automatiquement. "
						  "Pour un nouveau problème, ouvrez une nouvelle demande.");
		if (rc < 0 || (rc = db_commit(c))) {
			db_rollback(c);
			log_job_failed(rc, "support: ticket %s could not be closed", ids[i]);
		} else if (claimed) {
			closed++;
			sup_live(ids[i], "ticket", 0);
		}
		rc = ENT_OK;
	}
	arena_free(a);
	if (closed)
		bus_kick();
	return rc < 0 ? rc : closed;
}

static pthread_t job;
static int job_running, job_stop;
static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cv = PTHREAD_COND_INITIALIZER;

static void *job_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&job_mu);
	while (!job_stop) {
		pthread_mutex_unlock(&job_mu);
		db_conn *c = app_db();
		if (c) {
			int rc = sup_autoclose_due(c);
			if (rc < 0)
				log_job_failed(rc, "support: auto-close");
		}
		pthread_mutex_lock(&job_mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += JOB_INTERVAL_S;
		while (!job_stop && pthread_cond_timedwait(&job_cv, &job_mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&job_mu);
	return NULL;
}

int sup_jobs_start(void)
{
	job_stop = 0;
	if (pthread_create(&job, NULL, job_main, NULL))
		return ENT_EINTERNAL;
	job_running = 1;
	return ENT_OK;
}

void sup_jobs_stop(void)
{
	if (!job_running)
		return;
	pthread_mutex_lock(&job_mu);
	job_stop = 1;
	pthread_cond_broadcast(&job_cv);
	pthread_mutex_unlock(&job_mu);
	pthread_join(job, NULL);
	job_running = 0;
}
