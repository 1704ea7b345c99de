/*
 * router.c - a segment trie of routes.
 *
 * Each node is one path segment; a node has literal children and at most one parameter child.
 * A node where a pattern ends holds the routes of that pattern, one per method. Matching walks
 * the request path segment by segment, trying the literal child first and backtracking to the
 * parameter child, so lookups cost the path's depth, not the number of routes.
 */
#include "router.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 1024
#define MAX_DEPTH 32

struct node {
	char *seg; /* literal text, or the parameter's name */
	int is_param;
	struct node **kids; /* literal children */
	size_t nkids;
	struct node *param;
	int *ends; /* route ids ending here */
	size_t nends;
};

static struct {
	struct node root;
	const struct route *routes[MAX_ROUTES];
	const char *services[MAX_ROUTES];
	int n;
} R;

static void node_free(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		node_free(n->kids[i]);
		free(n->kids[i]);
	}
	if (n->param) {
		node_free(n->param);
		free(n->param);
	}
	free(n->kids);
	free(n->ends);
	free(n->seg);
	memset(n, 0, sizeof(*n));
}

void router_reset(void)
{
	node_free(&R.root);
	R.n = 0;
}

static struct node *child(struct node *n, const char *seg, size_t len, int is_param)
{
	if (is_param) {
		if (!n->param) {
			n->param = calloc(1, sizeof(struct node));
			if (!n->param)
				abort();
			n->param->seg = strndup(seg, len);
			n->param->is_param = 1;
		} else if (strlen(n->param->seg) != len || strncmp(n->param->seg, seg, len) != 0) {
			return NULL; /* two names for one position: a mistake in a route table */
		}
		return n->param;
	}
	for (size_t i = 0; i < n->nkids; i++)
		if (strlen(n->kids[i]->seg) == len && strncmp(n->kids[i]->seg, seg, len) == 0)
			return n->kids[i];
	struct node **kids = realloc(n->kids, (n->nkids + 1) * sizeof(*kids));
	if (!kids)
		abort();
	n->kids = kids;
	struct node *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->seg = strndup(seg, len);
	n->kids[n->nkids++] = c;
	return c;
}

int router_add(const struct route *r, const char *service)
{
	if (R.n >= MAX_ROUTES || r->pattern[0] != '/')
		return -1;
	struct node *n = &R.root;
	const char *p = r->pattern + 1;
	int params = 0;
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0)
			return -1;
		int is_param = p[0] == '{' && p[len - 1] == '}';
		if (is_param && ++params > ROUTER_MAX_PARAMS)
			return -1;
		n = is_param ? child(n, p + 1, len - 2, 1) : child(n, p, len, 0);
		if (!n)
			return -1;
		p += len;
		if (*p == '/')
			p++;
	}
	for (size_t i = 0; i < n->nends; i++)
		if (strcmp(R.routes[n->ends[i]]->method, r->method) == 0)
			return -1; /* the same method and pattern twice */
	int *ends = realloc(n->ends, (n->nends + 1) * sizeof(*ends));
	if (!ends)
		abort();
	n->ends = ends;
	int id = R.n++;
	R.routes[id] = r;
	R.services[id] = service;
	n->ends[n->nends++] = id;
	return id;
}

int router_count(void) { return R.n; }

const struct route *router_get(int id, const char **service)
{
	if (id < 0 || id >= R.n)
		return NULL;
	if (service)
		*service = R.services[id];
	return R.routes[id];
}

struct walk {
	const char *segs[MAX_DEPTH];
	size_t lens[MAX_DEPTH];
	int nsegs;
	const struct node *params[MAX_DEPTH]; /* parameter node used at each depth, or NULL */
};

static const struct node *walk(const struct node *n, struct walk *w, int depth)
{
	if (depth == w->nsegs)
		return n->nends ? n : NULL;
	const char *s = w->segs[depth];
	size_t len = w->lens[depth];
	for (size_t i = 0; i < n->nkids; i++) {
		const struct node *k = n->kids[i];
		if (strncmp(k->seg, s, len) == 0 && k->seg[len] == '\0') {
			w->params[depth] = NULL;
			const struct node *found = walk(k, w, depth + 1);
			if (found)
				return found;
		}
	}
	if (n->param && len > 0) {
		w->params[depth] = n->param;
		const struct node *found = walk(n->param, w, depth + 1);
		if (found)
			return found;
	}
	return NULL;
}

int router_match(const char *method, const char *path, arena *a, struct router_match *m)
{
	memset(m, 0, sizeof(*m));
	m->id = -1;
	if (path[0] != '/')
		return ENT_ENOTFOUND;
	struct walk w;
	w.nsegs = 0;
	const char *p = path + 1;
	if (*p) {
		for (;;) {
			if (w.nsegs == MAX_DEPTH)
				return ENT_ENOTFOUND;
			const char *end = strchr(p, '/');
			size_t len = end ? (size_t)(end - p) : strlen(p);
			w.segs[w.nsegs] = p;
			w.lens[w.nsegs] = len;
			w.nsegs++;
			if (!end)
				break;
			p = end + 1;
		}
	}
	const struct node *n = walk(&R.root, &w, 0);
	if (!n)
		return ENT_ENOTFOUND;
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
	int id = -1;
	for (size_t i = 0; i < n->nends && id < 0; i++)
		if (strcmp(R.routes[n->ends[i]]->method, want) == 0)
			id = n->ends[i];
	if (id < 0) {
		/* The path exists, the method does not: list the allowed ones for the 405. */
		size_t pos = 0;
		for (size_t i = 0; i < n->nends; i++) {
			const char *meth = R.routes[n->ends[i]]->method;
			size_t len = strlen(meth);
			if (pos + len + 3 >= sizeof(m->allow))
				break;
			if (i) {
				memcpy(m->allow + pos, ", ", 2);
				pos += 2;
			}
			memcpy(m->allow + pos, meth, len);
			pos += len;
		}
		m->allow[pos] = '\0';
		return ENT_EINVAL;
	}
	m->id = id;
	m->route = R.routes[id];
	m->service = R.services[id];
	for (int d = 0; d < w.nsegs; d++) {
		if (!w.params[d])
			continue;
		m->names[m->nparams] = w.params[d]->seg;
		m->values[m->nparams] = arena_strndup(a, w.segs[d], w.lens[d]);
		m->nparams++;
	}
	return ENT_OK;
}
