/*
 * router.h - the process's route table.
 *
 * Services add their routes at start (service.c does it from each service's table); the table is
 * then read-only, so matching takes no lock. Patterns are split into segments and kept in a trie:
 * a literal segment is tried before a {parameter}, so "/api/users/me" wins over "/api/users/{id}".
 */
#ifndef ENT_ROUTER_H
#define ENT_ROUTER_H

#include "arena.h"
#include "http.h"

#define ROUTER_MAX_PARAMS 8

struct router_match {
	const struct route *route;
	int id; /* index in the table, for metrics */
	const char *service;
	int nparams;
	const char *names[ROUTER_MAX_PARAMS];
	const char *values[ROUTER_MAX_PARAMS];
	char allow[64]; /* when the path exists but not for this method: "GET, POST" */
};

/* Adds a route owned by `service` (a static string). Returns its id, or -1 for a bad pattern. */
int router_add(const struct route *r, const char *service);

/*
 * Finds the route for method and path. Returns 0 and fills m; ENT_ENOTFOUND when no pattern
 * matches; ENT_EINVAL when the path matches but not the method (m->allow lists the methods).
 * HEAD matches GET routes. Parameter values are copied into the arena.
 */
int router_match(const char *method, const char *path, arena *a, struct router_match *m);

/* The number of routes and each one with its service, in the order added. */
int router_count(void);
const struct route *router_get(int id, const char **service);

/* Forgets every route (tests). */
void router_reset(void);

#endif
