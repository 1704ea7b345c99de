/*
 * test_core.c - the core's building blocks without a server: arena, buffer and JSON writer,
 * strict JSON and field checks, router, configuration, utilities, a background job's log line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/router.h"
#include "core/util.h"

static void test_arena(void **state)
{
	(void)state;
	arena *a = arena_new(64);
	char *s = arena_strdup(a, "hello");
	assert_string_equal(s, "hello");
	/* Larger than the first block: a new block is chained, earlier pointers stay valid. */
	char *big = arena_alloc(a, 100000);
	memset(big, 'x', 100000);
	assert_string_equal(s, "hello");
	char *p = arena_printf(a, "%s-%d", "n", 42);
	assert_string_equal(p, "n-42");
	int *z = arena_calloc(a, 10, sizeof(int));
	for (int i = 0; i < 10; i++)
		assert_int_equal(z[i], 0);
	assert_true(((uintptr_t)z % _Alignof(max_align_t)) == 0);
	assert_true(arena_used(a) >= 100000);
	arena_free(a);
	arena_free(NULL);
}

static int cleaned;
static void on_free(void *arg) { cleaned += *(int *)arg; }

static void test_arena_cleanup(void **state)
{
	(void)state;
	static int one = 1, two = 2;
	arena *a = arena_new(0);
	arena_on_free(a, on_free, &one);
	arena_on_free(a, on_free, &two);
	cleaned = 0;
	arena_free(a);
	assert_int_equal(cleaned, 3);
}

static void test_buf_max(void **state)
{
	(void)state;
	buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_addstr(&b, "12345"), ENT_OK);
	assert_int_equal(buf_addstr(&b, "67890"), ENT_OK);
	assert_string_equal(b.data, "1234567890");
	assert_int_equal(buf_addc(&b, 'x'), ENT_ETOOBIG);
	assert_true(b.failed);
	assert_null(b.data);
	/* Once failed, stays failed. */
	assert_int_equal(buf_addstr(&b, ""), ENT_ETOOBIG);
	assert_null(buf_take(&b, NULL));
	buf_free(&b);
	buf_init(&b, 0);
	buf_printf(&b, "%d-%s", 7, "x");
	size_t len;
	char *t = buf_take(&b, &len);
	assert_string_equal(t, "7-x");
	assert_int_equal(len, 3);
	assert_null(b.data);
	free(t);
}

static void test_json_writer(void **state)
{
	(void)state;
	buf b;
	buf_init(&b, 0);
	jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_kstr(&w, "name", "Zoé \"la\" \\ \n\x01");
	jw_kint(&w, "n", -42);
	jw_key(&w, "list");
	jw_arr_open(&w);
	jw_int(&w, 1);
	jw_double(&w, 12.5);
	jw_null(&w);
	jw_bool(&w, 1);
	jw_obj_open(&w);
	jw_obj_close(&w);
	jw_arr_close(&w);
	jw_kstr(&w, "nil", NULL);
	jw_key(&w, "inf");
	jw_double(&w, 1.0 / 0.0);
	jw_obj_close(&w);
	assert_string_equal(b.data,
			    "{\"name\":\"Zoé \\\"la\\\" \\\\ \\n\\u0001\",\"n\":-42,\"list\":[1,12.5,null,true,{}],"
			    "\"nil\":null,\"inf\":null}");
	json_error_t e;
	json_t *j = json_loads(b.data, 0, &e);
	assert_non_null(j);
	json_decref(j);
	buf_free(&b);

	/* A writer with its own buffer, and the tree of what it wrote (the buffer is emptied). */
	jwbuf own;
	jw *ow = jwbuf_init(&own, 0);
	jw_obj_open(ow);
	jw_kint(ow, "n", 7);
	jw_obj_close(ow);
	j = json_from_buf(&own.b);
	assert_int_equal(json_integer_value(json_object_get(j, "n")), 7);
	assert_null(own.b.data);
	json_decref(j);
	jw_str(jwbuf_init(&own, 4), "longer than four bytes"); /* failed: no tree */
	assert_null(json_from_buf(&own.b));
}

static void test_json_strict(void **state)
{
	(void)state;
	char err[200];
	json_t *j = json_parse_strict("{\"a\":1}", 7, err, sizeof(err));
	assert_non_null(j);
	json_decref(j);
	assert_null(json_parse_strict("{\"a\":1,\"a\":2}", 13, err, sizeof(err)));
	assert_string_equal(err,
			    "Le corps de la requête n'est pas du JSON valide (ligne 1, colonne 10 : une clé apparaît "
			    "deux fois dans le même objet).");
	assert_null(json_parse_strict("{\"a\":", 5, err, sizeof(err)));
	assert_non_null(strstr(err, "le texte s'arrête avant la fin du JSON"));
	assert_null(json_parse_strict("[1]", 3, err, sizeof(err)));
	assert_null(json_parse_strict("{}x", 3, err, sizeof(err)));
	assert_non_null(strstr(err, "du texte suit la fin du JSON"));
	assert_null(json_parse_strict("{\"a\":\"\\u0000\"}", 14, err, sizeof(err)));
	assert_null(json_parse_strict("{\"a\":\"\xff\"}", 8, err, sizeof(err)));
}

static void test_json_check(void **state)
{
	(void)state;
	static const char *const roles[] = {"etudiant", "enseignant", "admin", NULL};
	static const struct jfield fields[] = {
		{.name = "name", .type = JF_STRING, .required = 1, .min = 1, .max = 5},
		{.name = "age", .type = JF_INT, .min = 0, .max = 150},
		{.name = "role", .type = JF_STRING, .one_of = roles},
		{.name = "email", .type = JF_EMAIL},
		{.name = "id", .type = JF_UUID},
		{.name = "at", .type = JF_TIME, .nullable = 1},
	};
	char err[200];
	const char *good = "{\"name\":\"Zoé\",\"age\":12,\"role\":\"admin\",\"email\":\"a@b.fr\","
			   "\"id\":\"123e4567-e89b-42d3-a456-426614174000\",\"at\":null}";
	json_t *j = json_parse_strict(good, strlen(good), err, sizeof(err));
	json_t *errors = json_object();
	assert_int_equal(json_check(j, fields, 6, errors), 0);
	json_decref(j);
	json_decref(errors);

	const char *bad = "{\"name\":\"toolong\",\"age\":\"12\",\"role\":\"root\",\"email\":\"nope\",\"id\":\"x\","
			  "\"at\":\"2026-02-30T00:00:00Z\",\"extra\":1}";
	j = json_parse_strict(bad, strlen(bad), err, sizeof(err));
	errors = json_object();
	assert_int_equal(json_check(j, fields, 6, errors), 7);
	assert_string_equal(json_field_message(json_object_get(errors, "extra")), "champ inconnu");
	assert_non_null(json_object_get(errors, "name"));
	assert_string_equal(json_field_message(json_object_get(errors, "age")), "doit être un nombre entier");
	assert_string_equal(json_field_code(json_object_get(errors, "age")), "not_integer");
	assert_string_equal(json_field_code(json_object_get(errors, "extra")), "unknown_field");
	assert_non_null(strstr(json_field_message(json_object_get(errors, "role")), "etudiant"));
	json_decref(j);
	json_decref(errors);

	j = json_parse_strict("{}", 2, err, sizeof(err));
	errors = json_object();
	assert_int_equal(json_check(j, fields, 6, errors), 1);
	assert_string_equal(json_field_message(json_object_get(errors, "name")), "est obligatoire");
	assert_string_equal(json_field_code(json_object_get(errors, "name")), "required");
	json_decref(j);
	json_decref(errors);
}

/* json_fields_schema: the document of a body from the same table json_check uses, and what a route adds. */
static void test_json_fields_schema(void **state)
{
	(void)state;
	static const char *const kinds[] = {"a", "b", NULL};
	static const struct jfield fields[] = {
		{.name = "title", .type = JF_STRING, .required = 1, .min = 1, .max = 200},
		{.name = "note", .type = JF_STRING, .nullable = 1, .max = 50},
		{.name = "n", .type = JF_INT, .min = 0, .max = 10},
		{.name = "x", .type = JF_NUMBER, .min = 0.5, .max = 100},
		{.name = "ok", .type = JF_BOOL},
		{.name = "id", .type = JF_UUID, .required = 1},
		{.name = "at", .type = JF_TIME, .nullable = 1},
		{.name = "kind", .type = JF_STRING, .one_of = kinds},
		{.name = "ids", .type = JF_ARRAY, .max = 3},
	};
	json_t *sch = json_fields_schema(fields, 9, NULL);
	char *got = json_dumps(sch, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(got, "{\"additionalProperties\":false,\"properties\":{"
				 "\"at\":{\"format\":\"date-time\",\"type\":[\"string\",\"null\"]},"
				 "\"id\":{\"format\":\"uuid\",\"type\":\"string\"},"
				 "\"ids\":{\"maxItems\":3,\"type\":\"array\"},"
				 "\"kind\":{\"enum\":[\"a\",\"b\"],\"type\":\"string\"},"
				 "\"n\":{\"maximum\":10,\"minimum\":0,\"type\":\"integer\"},"
				 "\"note\":{\"maxLength\":50,\"type\":[\"string\",\"null\"]},"
				 "\"ok\":{\"type\":\"boolean\"},"
				 "\"title\":{\"maxLength\":200,\"minLength\":1,\"type\":\"string\"},"
				 "\"x\":{\"maximum\":100,\"minimum\":0.5,\"type\":\"number\"}},"
				 "\"required\":[\"title\",\"id\"],\"type\":\"object\"}");
	free(got);
	json_decref(sch);
	/* What the route adds: members of a property merged, other members replacing the object's. */
	sch = json_fields_schema(fields, 9,
				 "{\"required\":[],\"properties\":{\"ids\":{\"items\":{\"type\":\"string\"}},"
				 "\"nope\":{\"type\":\"string\"}}}");
	assert_int_equal(json_array_size(json_object_get(sch, "required")), 0);
	json_t *props = json_object_get(sch, "properties");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(json_object_get(props, "ids"), "items"), "type")),
		"string");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(props, "ids"), "maxItems")), 3);
	assert_null(json_object_get(props, "nope"));
	json_decref(sch);
}

static void h(http_req *req) { (void)req; }

static void test_router(void **state)
{
	(void)state;
	static const struct route rs[] = {
		{.method = "GET", .pattern = "/api/users/{id}", .handler = h},
		{.method = "PATCH", .pattern = "/api/users/{id}", .handler = h},
		{.method = "GET", .pattern = "/api/users/me", .handler = h},
		{.method = "GET", .pattern = "/api/users/{id}/classes/{cid}", .handler = h},
		{.method = "GET", .pattern = "/", .handler = h},
	};
	router_reset();
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(router_add(&rs[i], "users"), (int)i);
	/* The same method and pattern twice, and malformed patterns, are refused. */
	assert_int_equal(router_add(&rs[0], "users"), -1);
	static const struct route bad1 = {.method = "GET", .pattern = "api/x", .handler = h};
	static const struct route bad2 = {.method = "GET", .pattern = "/api//x", .handler = h};
	static const struct route bad3 = {.method = "GET", .pattern = "/api/users/{other}", .handler = h};
	assert_int_equal(router_add(&bad1, "x"), -1);
	assert_int_equal(router_add(&bad2, "x"), -1);
	assert_int_equal(router_add(&bad3, "x"), -1);

	arena *a = arena_new(0);
	struct router_match m;
	assert_int_equal(router_match("GET", "/api/users/42", a, &m), ENT_OK);
	assert_ptr_equal(m.route, &rs[0]);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.names[0], "id");
	assert_string_equal(m.values[0], "42");
	assert_int_equal(router_match("GET", "/api/users/me", a, &m), ENT_OK);
	assert_ptr_equal(m.route, &rs[2]);
	/* "me" is its own resource: a method it lacks is 405, not a fallback to {id} = "me". */
	assert_int_equal(router_match("PATCH", "/api/users/me", a, &m), ENT_EINVAL);
	assert_string_equal(m.allow, "GET");
	assert_int_equal(router_match("GET", "/api/users/7/classes/9", a, &m), ENT_OK);
	assert_string_equal(m.values[0], "7");
	assert_string_equal(m.values[1], "9");
	assert_int_equal(router_match("HEAD", "/api/users/7", a, &m), ENT_OK);
	assert_int_equal(router_match("DELETE", "/api/users/7", a, &m), ENT_EINVAL);
	assert_string_equal(m.allow, "GET, PATCH");
	assert_int_equal(router_match("GET", "/api/users", a, &m), ENT_ENOTFOUND);
	assert_int_equal(router_match("GET", "/api/users/", a, &m), ENT_ENOTFOUND);
	assert_int_equal(router_match("GET", "/api/users/1/2", a, &m), ENT_ENOTFOUND);
	assert_int_equal(router_match("GET", "/", a, &m), ENT_OK);
	assert_ptr_equal(m.route, &rs[4]);
	assert_int_equal(router_match("GET", "", a, &m), ENT_ENOTFOUND);
	char deep[200];
	for (int i = 0; i < 40; i++)
		memcpy(deep + 2 * i, "/a", 2);
	deep[80] = '\0';
	assert_int_equal(router_match("GET", deep, a, &m), ENT_ENOTFOUND);
	arena_free(a);
	router_reset();
}

static void test_util(void **state)
{
	(void)state;
	char u[37], v[37];
	util_uuid(u);
	util_uuid(v);
	assert_true(util_is_uuid(u));
	assert_string_not_equal(u, v);
	assert_int_equal(u[14], '4');
	assert_false(util_is_uuid("123e4567-e89b-42d3-a456-42661417400"));
	assert_false(util_is_uuid("123e4567-e89b-42d3-a456-4266141740000"));
	assert_false(util_is_uuid("../../etc/passwd"));

	int64_t n;
	assert_int_equal(util_parse_int64("42", 0, 100, &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(util_parse_int64("-9223372036854775808", INT64_MIN, INT64_MAX, &n), 0);
	assert_true(n == INT64_MIN);
	assert_int_equal(util_parse_int64("9223372036854775808", INT64_MIN, INT64_MAX, &n), -1);
	assert_int_equal(util_parse_int64("99999999999999999999", INT64_MIN, INT64_MAX, &n), -1);
	assert_int_equal(util_parse_int64("", 0, 1, &n), -1);
	assert_int_equal(util_parse_int64(" 1", 0, 10, &n), -1);
	assert_int_equal(util_parse_int64("1e3", 0, 10000, &n), -1);
	assert_int_equal(util_parse_int64("101", 0, 100, &n), -1);

	time_t t;
	assert_int_equal(util_parse_rfc3339("2026-11-24T10:00:00Z", &t), 0);
	char out[21];
	util_time_rfc3339(t, out);
	assert_string_equal(out, "2026-11-24T10:00:00Z");
	assert_int_equal(util_parse_rfc3339("2026-11-24T12:00:00.123+02:00", &t), 0);
	util_time_rfc3339(t, out);
	assert_string_equal(out, "2026-11-24T10:00:00Z");
	assert_int_equal(util_parse_rfc3339("2026-02-29T00:00:00Z", &t), -1);
	assert_int_equal(util_parse_rfc3339("2024-02-29T00:00:00Z", &t), 0);
	assert_int_equal(util_parse_rfc3339("2026-11-24 10:00:00Z", &t), -1);
	assert_int_equal(util_parse_rfc3339("2026-11-24T10:00:00", &t), -1);
	/* The arithmetic formatting agrees with gmtime_r + strftime (years 1000-9999: strftime does not pad %Y). */
	for (long long x = -30610224000LL; /* 1000-01-01 */ x < 253402300800LL; x += 86400LL * 37 + 3607) {
		time_t tv = (time_t)x;
		struct tm tm;
		char want[32];
		gmtime_r(&tv, &tm);
		strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
		util_time_rfc3339(tv, out);
		assert_string_equal(out, want);
	}

	assert_true(util_valid_text("Zoë d'Arc"));
	assert_false(util_valid_text("a\x01"));
	assert_false(util_valid_text("\xC3"));         /* truncated */
	assert_false(util_valid_text("\xC0\xAF"));     /* overlong */
	assert_false(util_valid_text("\xED\xA0\x80")); /* surrogate */

	assert_int_equal(util_hexval('0'), 0);
	assert_int_equal(util_hexval('a'), 10);
	assert_int_equal(util_hexval('F'), 15);
	assert_int_equal(util_hexval('g'), -1);
	assert_int_equal(util_hexval(-61), -1); /* a byte of UTF-8 seen as a signed char */

	/* splitmix64's published sequence for seed 0, so every generator keeps its districts. */
	uint64_t st = 0;
	assert_true(util_splitmix64(&st) == 0xe220a8397b1dcdafu);
	assert_true(util_splitmix64(&st) == 0x6e789e6aa1b965f4u);
}

static void test_config_mask(void **state)
{
	(void)state;
	char out[256];
	config_mask_url("postgresql://ent:s3cret@db:5432/ent", out, sizeof(out));
	assert_string_equal(out, "postgresql://ent:***@db:5432/ent");
	config_mask_url("s3://cours?endpoint=http://x:9000&secret_key=abc&region=eu", out, sizeof(out));
	assert_string_equal(out, "s3://cours?endpoint=http://x:9000&secret_key=***&region=eu");
	config_mask_url("sqlite:/var/ent.db", out, sizeof(out));
	assert_string_equal(out, "sqlite:/var/ent.db");
}

static int load(const char *const *args, int n, char *err, size_t errlen, struct config *cfg)
{
	char *argv[16];
	for (int i = 0; i < n; i++)
		argv[i] = (char *)args[i];
	int argc = n;
	return config_load(cfg, &argc, argv, err, errlen);
}

static void test_config_load(void **state)
{
	(void)state;
	struct config cfg;
	char err[512];
	const char *ok[] = {"serve",         "--listen", "127.0.0.1:9000",
			    "--data=/tmp/x", "--db",     "postgresql://u:p@h:5432/d"};
	assert_int_equal(load(ok, 6, err, sizeof(err), &cfg), 0);
	assert_string_equal(cfg.listen, "127.0.0.1:9000");
	assert_string_equal(cfg.data, "/tmp/x");
	assert_string_equal(cfg.blob, "file:/tmp/x/blobs");
	config_free(&cfg);

	struct {
		const char *flag, *value, *names;
	} bad[] = {
		{"--listen", "nope", "ENT_LISTEN"},
		{"--listen", ":70000", "ENT_LISTEN"},
		{"--db", "mysql://x", "ENT_DB"},
		{"--db", "postgresql://", "ENT_DB"},
		{"--db", "postgresql://u:pw@host:port/db", "ENT_DB"},
		{"--services", "notes,nope", "ENT_SERVICES"},
		{"--bus", "kafka://x", "ENT_BUS"},
		{"--blob", "ftp://x", "ENT_BLOB"},
		{"--public-url", "localhost:8080", "ENT_PUBLIC_URL"},
		{"--issuer", "keycloak", "ENT_OIDC_ISSUER"},
		{"--threads", "-1", "ENT_THREADS"},
		{"--max-body", "10", "ENT_MAX_BODY"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[] = {"serve", bad[i].flag, bad[i].value};
		assert_int_equal(load(args, 3, err, sizeof(err), &cfg), -1);
		assert_non_null(strstr(err, bad[i].names));
		assert_non_null(strstr(err, bad[i].flag));
		assert_null(strchr(err, '\n'));
	}
	/* The password of a bad URL is not echoed. */
	const char *pw[] = {"serve", "--db", "postgresql://u:topsecret@host:port/db"};
	assert_int_equal(load(pw, 3, err, sizeof(err), &cfg), -1);
	assert_null(strstr(err, "topsecret"));
}

/* What log_job_failed(rc, ...) writes on standard error (captured through a pipe). */
static void job_line(int rc, char *out, size_t cap)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);
	log_job_failed(rc, "svc: job %s", "x");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	ssize_t n = read(fds[0], out, cap - 1);
	close(fds[0]);
	out[n > 0 ? n : 0] = '\0';
}

static void test_log_job_failed(void **state)
{
	(void)state;
	char line[4096];
	/* A busy database is retried at the next round: a warning, not an error. */
	job_line(ENT_EBUSY, line, sizeof(line));
	assert_non_null(strstr(line, "\"level\":\"warn\""));
	assert_non_null(strstr(line, "svc: job x: busy; done at the next round"));
	job_line(ENT_EDB, line, sizeof(line));
	assert_non_null(strstr(line, "\"level\":\"error\""));
	assert_non_null(strstr(line, "svc: job x: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_arena_cleanup),
		cmocka_unit_test(test_buf_max),
		cmocka_unit_test(test_json_writer),
		cmocka_unit_test(test_json_strict),
		cmocka_unit_test(test_json_check),
		cmocka_unit_test(test_json_fields_schema),
		cmocka_unit_test(test_router),
		cmocka_unit_test(test_util),
		cmocka_unit_test(test_config_mask),
		cmocka_unit_test(test_config_load),
		cmocka_unit_test(test_log_job_failed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
