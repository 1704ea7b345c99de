/*
 * migrate.h - versioned schema migrations, per service.
 *
 * Each service lists its migrations (version, name, SQL). The runner records applied ones in the
 * table ent_migrations(service, version, name, applied_at) and applies the missing ones in order,
 * each in its own transaction, under a lock that serialises concurrent processes. A migration
 * that fails is rolled back and stops the runner.
 */
#ifndef ENT_MIGRATE_H
#define ENT_MIGRATE_H

#include <stdio.h>

#include "../core/service.h"
#include "db.h"

/*
 * Applies what is missing for the n services. Prints one line per applied migration to report
 * (may be NULL). Returns the number applied (>= 0), or a negative ent_err with a reason in err.
 */
int migrate_run(db_conn *c, const struct service *const *svcs, size_t n, FILE *report, char *err, size_t errlen);

#endif
