/*
 * service.h - what a service is, and the registry of all of them.
 *
 * A service (src/services/<name>/) is described by one `struct service` table: its name, its
 * routes, its migrations, its hooks. The registry (src/services/registry.c) lists them all;
 * `--services` picks the ones this process runs. The "core" service (health, metrics, OpenAPI,
 * docs) always runs.
 */
#ifndef ENT_SERVICE_H
#define ENT_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "http.h"
#include "../store/db.h"

struct bus_consumer;

struct migration {
	int version; /* 1, 2, 3 ... per service, never reused */
	const char *name;
	const char *sql; /* portable SQL run as one script in a transaction */
	/* PostgreSQL's version when the two dialects cannot share one (identity columns); may be NULL. */
	const char *sql_pg;
};

/*
 * A subcommand a service adds to the command line ("ent user add ...", "ent token ...").
 * run() is called with argv[0] = name and the settings flags already removed; the configuration
 * is loaded, the database open and migrated (app.db). It returns the process exit status.
 */
struct command {
	const char *name;  /* first word after "ent" */
	const char *usage; /* one line for "ent --help" */
	int (*run)(int argc, char **argv);
};

/*
 * A district-sized data set for benchmarks (`ent demo --scale N`, bench/). Each service's
 * generate() adds its part, in registry order, reading what earlier services generated from the
 * database (users and classes, then courses, then grades, then notifications).
 */
struct scale {
	unsigned students, teachers, classes, courses;
	uint64_t grades, notifications;
	uint64_t seed;
	char school_year[10];
	/* Reports progress of one part ("users", "grades" ...): done out of total. */
	void (*progress)(const char *what, uint64_t done, uint64_t total);
};

/* The domain of generated accounts: s<N>@, t<N>@district.ent.local. */
#define SCALE_DOMAIN "district.ent.local"
/* The password of every generated account (one Argon2 hash shared by all). */
#define SCALE_PASSWORD "District-2026!"

struct service {
	const char *name;  /* as in --services and /metrics/<name> */
	const char *title; /* one line, for the OpenAPI tags */
	const struct route *routes;
	size_t nroutes;
	const struct migration *migrations;
	size_t nmigrations;
	/*
	 * The tables this service owns, NULL-terminated: exactly those its migrations create. Only
	 * its own SQL names them; other services go through its C interface (DESIGN.md), and
	 * tests/api/boundaries.test.mjs fails when a service's SQL names another's table.
	 */
	const char *const *tables;
	/*
	 * Called by the migrations runner after the SQL of each of this service's migrations, in the
	 * same transaction, to fill values only C can compute (the users service's collation keys).
	 * version is the migration's. 0 or an ent_err, which rolls the migration back. May be NULL.
	 */
	int (*migrate_fill)(db_conn *c, int version);
	/*
	 * The service's event consumers (bus/bus.h), NULL-terminated; may be NULL. The process that runs
	 * the service subscribes them before the bus starts; every process, whatever services it runs,
	 * declares their queues, so that an event published before the consuming process first started
	 * waits for it (docs/bus.md).
	 */
	const struct bus_consumer *const *consumers;
	/* Called after migrations, before the listener opens. 0 or an ent_err. May be NULL. */
	int (*start)(void);
	void (*stop)(void);
	/* Loads this service's part of the demo school; idempotent. Prints accounts to out. May be NULL. */
	int (*demo)(db_conn *c, FILE *out);
	/* Generates this service's part of a district-sized data set (see struct scale). May be NULL. */
	int (*generate)(db_conn *c, const struct scale *sc);
	/*
	 * Adds this service's part of a user's data export (GDPR access right, GET /api/users/me/export)
	 * under its own key of out. May be NULL.
	 */
	int (*export_user)(db_conn *c, const char *user_id, json_t *out);
	/*
	 * Erases this service's personal data about a user (GDPR erasure, DELETE /api/users/{id}),
	 * inside the caller's transaction; references by id may stay. 0 or an ent_err. May be NULL.
	 */
	int (*erase_user)(db_conn *c, const char *user_id);
	/*
	 * Ends what the service keeps open for a user whose access changed (password changed, account
	 * disabled or deleted: the identity service ends sessions and refresh tokens), in the caller's
	 * transaction. Called by service_revoke_user(). May be NULL.
	 */
	int (*revoke_user)(db_conn *c, const char *user_id);
	/*
	 * Whether user_id (with ROLE_* bits roles) may read file_id, attached to course cours_id (NULL
	 * when none): a service that attaches files to what it shows answers for them (the cours
	 * service for its materials, the messagerie for message attachments, the calendar for
	 * homework; 1 yes, 0 no, or an ent_err, which denies unless another service says yes). Called
	 * by service_file_readable(). May be NULL.
	 */
	int (*file_readable)(db_conn *c, const char *cours_id, const char *file_id, const char *user_id,
			     unsigned roles);
	const struct command *commands;
	size_t ncommands;
};

/* Every service, core first, NULL-terminated. */
extern const struct service *const service_registry[];

/*
 * Hooks across services, asked of every service of the build (not only those of this process: the
 * database is shared), so that a service does not call another's code directly:
 *   service_revoke_user    every .revoke_user; the first error stops and is returned;
 *   service_file_readable  every .file_readable: 1 as soon as one says yes, else the first error,
 *                          else 0 (the owner and admins are the fichiers service's own rule).
 */
int service_revoke_user(db_conn *c, const char *user_id);
int service_file_readable(db_conn *c, const char *cours_id, const char *file_id, const char *user_id, unsigned roles);

/* The service named name, or NULL. */
const struct service *service_find(const char *name);

/* Fills out with the services selected by the comma list (core always first). Returns the count. */
size_t service_select(const char *list, const struct service **out, size_t max);

/* Adds the routes of the given services to the router. Returns 0, or -1 on a bad route table. */
int service_add_routes(const struct service *const *svcs, size_t n);

#endif
