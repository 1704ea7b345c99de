/*
 * openapi.c - builds /openapi.json from the route table with jansson, once, at start.
 *
 * Every documented route gets: an operationId derived from method and pattern, its service as a
 * tag, its path parameters, the security it needs (none for public routes, a bearer token
 * otherwise, with the allowed roles in x-roles), its request body schema, its success answer, and
 * the problem+json answers the core can give (400, 401, 403, 404, 413, 415, 429, 500...).
 */
#include "openapi.h"

#include "core/http.h"
#include "core/json.h"
#include "core/log.h"
#include "core/router.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char *doc;
static size_t doc_len;

static json_t *schema_or(const char *text, const char *fallback)
{
	const char *t = text ? text : fallback;
	json_error_t e;
	json_t *j = json_loads(t, 0, &e);
	if (!j) {
		log_error("openapi: a route's schema is not valid JSON: %s", e.text);
		j = json_object();
	}
	return j;
}

static json_t *problem_response(const char *description)
{
	return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", description, "content", "application/problem+json",
			 "schema", "$ref", "#/components/schemas/Problem");
}

static json_t *components(void)
{
	json_t *problem = json_pack(
		"{s:s, s:[s,s,s], s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:{s:s}}}}", "type",
		"object", "required", "type", "title", "status", "properties", "type", "type", "string", "title",
		"type", "string", "status", "type", "integer", "detail", "type", "string", "instance", "type", "string",
		"request_id", "type", "string", "errors", "type", "object", "additionalProperties", "type", "string");
	return json_pack("{s:{s:o}, s:{s:{s:s, s:s, s:s}}}", "schemas", "Problem", problem, "securitySchemes", "bearer",
			 "type", "http", "scheme", "bearer", "bearerFormat", "JWT");
}

static json_t *roles_of(unsigned access)
{
	json_t *a = json_array();
	if (access & ROLE_ETUDIANT)
		json_array_append_new(a, json_string("etudiant"));
	if (access & ROLE_ENSEIGNANT)
		json_array_append_new(a, json_string("enseignant"));
	if (access & ROLE_ADMIN)
		json_array_append_new(a, json_string("admin"));
	if (access & ROLE_SERVICE)
		json_array_append_new(a, json_string("service"));
	return a;
}

static char *operation_id(const struct route *r)
{
	size_t n = strlen(r->method) + strlen(r->pattern) + 2;
	char *id = malloc(n);
	if (!id)
		abort();
	size_t o = 0;
	for (const char *p = r->method; *p; p++)
		id[o++] = (char)(*p | 0x20);
	for (const char *p = r->pattern; *p; p++) {
		char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			id[o++] = c;
		else if (c == '/' || c == '.' || c == '-')
			id[o++] = '_';
		/* braces of parameters are dropped */
	}
	id[o] = '\0';
	return id;
}

static json_t *operation(const struct route *r, const char *service)
{
	json_t *op = json_object();
	char *id = operation_id(r);
	json_object_set_new(op, "operationId", json_string(id));
	free(id);
	json_object_set_new(op, "summary", json_string(r->summary ? r->summary : r->pattern));
	json_object_set_new(op, "tags", json_pack("[s]", service));

	json_t *params = json_array();
	for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
		const char *end = strchr(p, '}');
		if (!end)
			break;
		json_t *name = json_stringn(p + 1, (size_t)(end - p - 1));
		json_array_append_new(params, json_pack("{s:o, s:s, s:b, s:{s:s}}", "name", name, "in", "path",
							"required", 1, "schema", "type", "string"));
	}
	if (json_array_size(params))
		json_object_set_new(op, "parameters", params);
	else
		json_decref(params);

	json_t *responses = json_object();
	int ok = r->status ? r->status : 200;
	char code[8];
	snprintf(code, sizeof(code), "%d", ok);
	if (ok == 204) {
		json_object_set_new(responses, code, json_pack("{s:s}", "description", "Done"));
	} else {
		const char *type = r->response_schema && strcmp(r->response_schema, "{\"type\":\"string\"}") == 0
					   ? "text/plain"
					   : "application/json";
		json_object_set_new(responses, code,
				    json_pack("{s:s, s:{s:{s:o}}}", "description", "Success", "content", type, "schema",
					      schema_or(r->response_schema, "{\"type\":\"object\"}")));
	}
	json_object_set_new(responses, "400", problem_response("Invalid input"));
	json_object_set_new(responses, "404", problem_response("Not found, or not visible to the caller"));
	if (!(r->access & ACCESS_PUBLIC)) {
		json_object_set_new(responses, "401", problem_response("No or invalid bearer token"));
		json_object_set_new(responses, "403", problem_response("The caller's role does not allow this"));
		json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearer"));
		json_object_set_new(op, "x-roles", roles_of(r->access));
	} else {
		json_object_set_new(op, "security", json_array());
	}
	if (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0 || strcmp(r->method, "PATCH") == 0) {
		if (!(r->flags & (ROUTE_RAW_BODY | ROUTE_NO_BODY))) {
			json_t *body = r->body ? json_fields_schema(r->body, r->nbody, r->request_schema)
					       : schema_or(r->request_schema, "{\"type\":\"object\"}");
			json_object_set_new(op, "requestBody",
					    json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content",
						      "application/json", "schema", body));
			json_object_set_new(responses, "415", problem_response("The body is not application/json"));
		}
		if (!(r->flags & ROUTE_NO_BODY))
			json_object_set_new(responses, "413", problem_response("The body is too large"));
	}
	json_object_set_new(responses, "500", problem_response("Server error"));
	json_object_set_new(op, "responses", responses);
	return op;
}

void openapi_build(const char *public_url)
{
	openapi_free();
	json_t *paths = json_object();
	json_t *tags = json_array();
	json_t *seen = json_object();
	for (int i = 0; i < router_count(); i++) {
		const char *service;
		const struct route *r = router_get(i, &service);
		if (r->flags & ROUTE_NO_DOC)
			continue;
		json_t *item = json_object_get(paths, r->pattern);
		if (!item) {
			item = json_object();
			json_object_set_new(paths, r->pattern, item);
		}
		char method[16];
		size_t k;
		for (k = 0; k < sizeof(method) - 1 && r->method[k]; k++)
			method[k] = (char)(r->method[k] | 0x20);
		method[k] = '\0';
		json_object_set_new(item, method, operation(r, service));
		if (!json_object_get(seen, service)) {
			json_object_set_new(seen, service, json_true());
			json_array_append_new(tags, json_pack("{s:s}", "name", service));
		}
	}
	json_decref(seen);
	json_t *root = json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:o, s:o}", "openapi", "3.1.0", "info",
				 "title", "ENT", "version", ENT_VERSION, "description",
				 "ENT, the school digital workspace: every service of this process, generated from its "
				 "route table. Errors are RFC 9457 problem+json.",
				 "servers", "url", public_url, "tags", tags, "paths", paths, "components",
				 components());
	doc = json_dumps(root, JSON_COMPACT);
	doc_len = doc ? strlen(doc) : 0;
	json_decref(root);
}

const char *openapi_document(size_t *len)
{
	if (!doc) {
		*len = 2;
		return "{}";
	}
	*len = doc_len;
	return doc;
}

void openapi_free(void)
{
	free(doc);
	doc = NULL;
	doc_len = 0;
}
