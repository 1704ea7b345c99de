/*
 * json.h - request bodies: strict parsing and declarative validation (on jansson).
 *
 * json_parse_strict() rejects duplicate keys, trailing data and invalid UTF-8, and accepts only
 * an object at the top. json_check() validates an object against a table of fields: each field
 * has a type, whether it is required, and bounds; unknown fields are errors (no mass assignment).
 * Errors are collected as field -> message in a jansson object, which the caller turns into a
 * 400 problem+json with http_problem_errors().
 */
#ifndef ENT_JSON_H
#define ENT_JSON_H

#include <jansson.h>
#include <stddef.h>

/* Parses data; NULL on error with a French sentence (with position) in err. Caller json_decref()s. */
json_t *json_parse_strict(const char *data, size_t len, char *err, size_t errlen);

/*
 * For a body json_parse_strict() refused: when data is JSON but for bytes that are not UTF-8,
 * returns 1 with the field holding the first of them in path ("given_name", "grades[2].comment";
 * a key that is itself not UTF-8 names its object, then "?"), so that the answer can name the
 * field. Returns 0 when the body is wrong in another way (or is UTF-8).
 */
int json_bad_utf8_field(const char *data, size_t len, char *path, size_t pathlen);

enum jf_type {
	JF_STRING = 1, /* min/max: length in characters (UTF-8 code points) */
	JF_INT,        /* min/max: value */
	JF_NUMBER,     /* min/max: value */
	JF_BOOL,
	JF_UUID,
	JF_TIME,  /* RFC 3339 string */
	JF_EMAIL, /* min/max: length */
	JF_OBJECT,
	JF_ARRAY, /* min/max: number of items */
};

struct jfield {
	const char *name;
	enum jf_type type;
	int required;
	int nullable;
	double min, max;           /* both 0: no bound */
	const char *const *one_of; /* NULL-terminated list of allowed strings, or NULL */
};

/*
 * The JSON Schema of a body that json_check(fields, n) accepts: an object without other members,
 * its required fields, each field's type (with null when nullable), bounds (minLength/maxLength,
 * minimum/maximum, minItems/maxItems) and enum. A route points at the table it checks its body
 * with (BODY() in http.h), so that the document and the check are one table; what the table does
 * not say (a pattern, the items of a list) comes from more: a JSON Schema text whose "properties"
 * members are merged into the fields' ones and whose other members replace the object's ("required"
 * when a route requires more than its table does); NULL: none. Caller json_decref()s.
 */
json_t *json_fields_schema(const struct jfield *fields, size_t n, const char *more);

/*
 * Field errors. errors (a JSON object the caller owns) maps a field to its problem: either
 * {"code","message"} set by json_field_error (code: a stable snake_case name the portal translates,
 * message: the French text) or, from older call sites, a bare message string whose code is
 * "invalid". http_invalid answers both forms the same way: "errors": {field: message} and
 * "codes": {field: code} (docs/service-guide.md). json_field_error copies code and message.
 */
void json_field_error(json_t *errors, const char *field, const char *code, const char *message);
/* The message and the code of one value of an errors object (either form); never NULL for a code. */
const char *json_field_message(const json_t *v);
const char *json_field_code(const json_t *v);

/*
 * Checks obj against n fields. Adds json_field_error entries to errors (codes: unknown_field, required,
 * not_null, not_string, control_chars, not_uuid, not_time, not_email, length, one_of, not_integer,
 * not_number, range, not_boolean, not_object, not_list, count) and returns the number of problems
 * found (0: valid).
 */
int json_check(const json_t *obj, const struct jfield *fields, size_t n, json_t *errors);

/* Number of UTF-8 code points in s (s is valid UTF-8, as jansson guarantees). */
size_t json_utf8_len(const char *s);

/*
 * The tree of what a jw writer wrote into b (b is emptied): for the few places that need as a tree
 * a value whose JSON is written once with jw (the GDPR export gathers every service's part). NULL
 * if b failed or does not hold JSON. Caller json_decref()s.
 */
struct buf;
json_t *json_from_buf(struct buf *b);

/* Convenience getters: the value, or def when absent or null. */
const char *json_get_str(const json_t *obj, const char *key, const char *def);
long long json_get_int(const json_t *obj, const char *key, long long def);

#endif
