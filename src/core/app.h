/*
 * app.h - the process-wide context: configuration, database, the services running here.
 *
 * Set once at start by main.c before the listener opens; read-only afterwards.
 */
#ifndef ENT_APP_H
#define ENT_APP_H

#include <time.h>

#include "config.h"
#include "service.h"
#include "../store/db.h"

#define APP_MAX_SERVICES 32

struct ent_app {
	const struct config *cfg;
	db *db;
	const struct service *services[APP_MAX_SERVICES];
	size_t nservices;
	time_t started;
};

extern struct ent_app app;

/* The calling thread's database connection; NULL when the database cannot be reached. */
db_conn *app_db(void);

#endif
