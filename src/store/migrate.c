/*
 * migrate.c - the migrations runner.
 *
 * The bookkeeping table is created first (idempotently). Then, for each service and each of its
 * migrations in version order: BEGIN (IMMEDIATE on SQLite), check whether it is recorded, run it
 * (its SQL, then the service's migrate_fill when it has one) and record it, COMMIT. The check inside the transaction makes two processes starting at once
 * safe on SQLite; on PostgreSQL the advisory lock of db_migrate_lock() does the same.
 */
#include "migrate.h"

#include "../core/err.h"

#include <stdio.h>
#include <time.h>

#include "../core/util.h"

static const char *const bookkeeping = "CREATE TABLE IF NOT EXISTS ent_migrations ("
				       " service TEXT NOT NULL,"
				       " version INTEGER NOT NULL,"
				       " name TEXT NOT NULL,"
				       " applied_at TEXT NOT NULL,"
				       " PRIMARY KEY (service, version))";

static int applied(db_conn *c, const char *service, int version)
{
	db_stmt *s = db_prepare(c, "SELECT 1 FROM ent_migrations WHERE service = ? AND version = ?");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, service);
	db_bind_int64(s, 2, version);
	int rc = db_step(s);
	db_done(s);
	return rc;
}

static int apply_one(db_conn *c, const struct service *svc, const struct migration *m, int *done, char *err,
		     size_t errlen)
{
	const char *service = svc->name;
	*done = 0;
	int rc = db_begin(c);
	if (rc)
		goto fail;
	rc = applied(c, service, m->version);
	if (rc == DB_ROW) {
		db_rollback(c);
		return ENT_OK;
	}
	if (rc < 0)
		goto fail_rollback;
	rc = db_exec(c, m->sql_pg && db_conn_kind(c) == DB_POSTGRES ? m->sql_pg : m->sql);
	if (!rc && svc->migrate_fill)
		rc = svc->migrate_fill(c, m->version);
	if (rc)
		goto fail_rollback;
	db_stmt *s = db_prepare(c,
				"INSERT INTO ent_migrations (service, version, name, applied_at) VALUES (?, ?, ?, ?)");
	if (!s) {
		rc = ENT_EDB;
		goto fail_rollback;
	}
	char now[21];
	util_time_rfc3339(time(NULL), now);
	db_bind_text(s, 1, service);
	db_bind_int64(s, 2, m->version);
	db_bind_text(s, 3, m->name);
	db_bind_text(s, 4, now);
	rc = db_step(s);
	db_done(s);
	if (rc < 0)
		goto fail_rollback;
	rc = db_commit(c);
	if (rc)
		goto fail;
	*done = 1;
	return ENT_OK;
fail_rollback:
	snprintf(err, errlen, "migration %s/%d (%s) failed: %s", service, m->version, m->name, db_errmsg(c));
	db_rollback(c);
	return rc < 0 ? rc : ENT_EDB;
fail:
	snprintf(err, errlen, "migration %s/%d (%s) failed: %s", service, m->version, m->name, db_errmsg(c));
	return rc < 0 ? rc : ENT_EDB;
}

int migrate_run(db_conn *c, const struct service *const *svcs, size_t n, FILE *report, char *err, size_t errlen)
{
	int rc = db_migrate_lock(c);
	if (rc) {
		snprintf(err, errlen, "cannot take the migration lock: %s", db_errmsg(c));
		return rc;
	}
	int count = 0;
	rc = db_exec(c, bookkeeping);
	if (rc) {
		snprintf(err, errlen, "cannot create ent_migrations: %s", db_errmsg(c));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < svcs[i]->nmigrations; k++) {
			const struct migration *m = &svcs[i]->migrations[k];
			int done;
			rc = apply_one(c, svcs[i], m, &done, err, errlen);
			if (rc)
				goto out;
			if (done) {
				count++;
				if (report)
					fprintf(report, "applied %s/%d %s\n", svcs[i]->name, m->version, m->name);
			}
		}
	}
out:
	db_migrate_unlock(c);
	return rc ? rc : count;
}
