/* service.c - selecting services and adding their routes to the router. */
#include "service.h"

#include "log.h"
#include "router.h"

#include <string.h>

int service_revoke_user(db_conn *c, const char *user_id)
{
	for (const struct service *const *s = service_registry; *s; s++)
		if ((*s)->revoke_user) {
			int rc = (*s)->revoke_user(c, user_id);
			if (rc)
				return rc;
		}
	return 0;
}

int service_file_readable(db_conn *c, const char *cours_id, const char *file_id, const char *user_id, unsigned roles)
{
	int err = 0;
	for (const struct service *const *s = service_registry; *s; s++)
		if ((*s)->file_readable) {
			int rc = (*s)->file_readable(c, cours_id, file_id, user_id, roles);
			if (rc == 1)
				return 1;
			if (rc < 0 && !err)
				err = rc;
		}
	return err;
}

const struct service *service_find(const char *name)
{
	for (const struct service *const *s = service_registry; *s; s++)
		if (strcmp((*s)->name, name) == 0)
			return *s;
	return NULL;
}

size_t service_select(const char *list, const struct service **out, size_t max)
{
	size_t n = 0;
	int all = strcmp(list, "all") == 0;
	for (const struct service *const *s = service_registry; *s && n < max; s++) {
		int wanted = all || strcmp((*s)->name, "core") == 0;
		size_t l = strlen((*s)->name);
		for (const char *p = list; !wanted && *p;) {
			size_t k = strcspn(p, ",");
			if (k == l && strncmp(p, (*s)->name, l) == 0)
				wanted = 1;
			p += k;
			if (*p == ',')
				p++;
		}
		if (wanted)
			out[n++] = *s;
	}
	return n;
}

int service_add_routes(const struct service *const *svcs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < svcs[i]->nroutes; k++) {
			const struct route *r = &svcs[i]->routes[k];
			if (router_add(r, svcs[i]->name) < 0) {
				log_error("service %s: bad or duplicate route %s %s", svcs[i]->name, r->method,
					  r->pattern);
				return -1;
			}
		}
	}
	return 0;
}
