/*
 * json.c - strict parsing and field validation for request bodies.
 */
#include "json.h"

#include "buf.h"

#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What went wrong in jansson's words, said in French (its own text is English). */
static const char *parse_reason(const json_error_t *e)
{
	switch (json_error_code(e)) {
	case json_error_duplicate_key: return "une clé apparaît deux fois dans le même objet";
	case json_error_premature_end_of_input: return "le texte s'arrête avant la fin du JSON";
	case json_error_end_of_input_expected: return "du texte suit la fin du JSON";
	case json_error_invalid_utf8: return "des octets ne sont pas de l'UTF-8";
	case json_error_null_character:
	case json_error_null_byte_in_key: return "un caractère NUL n'est pas accepté";
	case json_error_numeric_overflow: return "un nombre est trop grand";
	case json_error_stack_overflow: return "les objets et les listes sont trop imbriqués";
	default: return "la syntaxe est incorrecte";
	}
}

json_t *json_parse_strict(const char *data, size_t len, char *err, size_t errlen)
{
	json_error_t e;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &e);
	if (!root) {
		snprintf(err, errlen, "Le corps de la requête n'est pas du JSON valide (ligne %d, colonne %d : %s).",
			 e.line, e.column, parse_reason(&e));
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "Le corps de la requête doit être un objet JSON.");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* The length of the UTF-8 sequence at p (1 to 4 bytes, within len), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t len)
{
	unsigned ch = p[0];
	if (ch < 0x80)
		return 1;
	size_t n = (ch & 0xE0) == 0xC0 ? 1 : (ch & 0xF0) == 0xE0 ? 2 : (ch & 0xF8) == 0xF0 ? 3 : 0;
	if (!n || n >= len)
		return 0;
	unsigned cp = ch & (0x3F >> n);
	for (size_t k = 1; k <= n; k++) {
		if ((p[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[k] & 0x3F);
	}
	if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n + 1;
}

/* U+FFFF, a noncharacter no client sends: it stands for each byte that is not UTF-8. */
#define BAD_MARK "\xEF\xBF\xBF"

/* Appends ".key" (or "key" first) or "[idx]" to path without overflowing; the marker becomes "?". */
static void path_add(char *path, size_t cap, const char *s, size_t idx)
{
	size_t o = strlen(path);
	char tmp[256];
	if (s) {
		size_t t = 0;
		for (const char *p = s; *p && t < sizeof(tmp) - 2; p++) {
			if (strncmp(p, BAD_MARK, 3) == 0) {
				tmp[t++] = '?';
				p += 2;
			} else
				tmp[t++] = *p;
		}
		tmp[t] = '\0';
		snprintf(path + o, cap - o, "%s%s", o ? "." : "", tmp);
	} else
		snprintf(path + o, cap - o, "[%zu]", idx);
}

/* 1 when v (or a key or value inside) holds the marker; path then names it. */
static int find_mark(const json_t *v, char *path, size_t cap)
{
	size_t o = strlen(path);
	if (json_is_string(v))
		return strstr(json_string_value(v), BAD_MARK) != NULL;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach ((json_t *)v, k, x) {
			path_add(path, cap, k, 0);
			if (strstr(k, BAD_MARK) || find_mark(x, path, cap))
				return 1;
			path[o] = '\0';
		}
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach (v, i, x) {
			path_add(path, cap, NULL, i);
			if (find_mark(x, path, cap))
				return 1;
			path[o] = '\0';
		}
	}
	return 0;
}

int json_bad_utf8_field(const char *data, size_t len, char *path, size_t pathlen)
{
	if (!pathlen)
		return 0;
	path[0] = '\0';
	const unsigned char *u = (const unsigned char *)data;
	size_t bad = 0;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(u + i, len - i);
		bad += !n;
		i += n ? n : 1;
	}
	if (!bad)
		return 0;
	char *copy = malloc(len + 2 * bad + 1);
	if (!copy)
		abort();
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(u + i, len - i);
		if (n) {
			memcpy(copy + o, data + i, n);
			o += n;
			i += n;
		} else {
			memcpy(copy + o, BAD_MARK, 3);
			o += 3;
			i++;
		}
	}
	json_t *root = json_loadb(copy, o, JSON_REJECT_DUPLICATES, NULL);
	free(copy);
	int found = root && find_mark(root, path, pathlen);
	json_decref(root);
	if (!found)
		path[0] = '\0';
	return found;
}

size_t json_utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int bounded(const struct jfield *f) { return f->min != 0 || f->max != 0; }

static int valid_email(const char *s)
{
	const char *at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@'))
		return 0;
	const char *dot = strrchr(at, '.');
	if (!dot || dot == at + 1 || dot[1] == '\0')
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == '"' || *p == ',')
			return 0;
	return 1;
}

/* Returns the French message of v's problem and sets *code to its stable code, or NULL when v is valid. */
static const char *check_one(const struct jfield *f, const json_t *v, char *msg, size_t msglen, const char **code)
{
	*code = "invalid";
	switch (f->type) {
	case JF_STRING:
	case JF_EMAIL:
	case JF_UUID:
	case JF_TIME: {
		if (!json_is_string(v))
			return *code = "not_string", "doit être une chaîne de caractères";
		const char *s = json_string_value(v);
		if (strlen(s) != json_string_length(v))
			return *code = "control_chars", "ne doit pas contenir de caractère NUL";
		size_t n = json_utf8_len(s);
		if (f->type == JF_UUID && !util_is_uuid(s))
			return *code = "not_uuid", "doit être un identifiant (UUID)";
		if (f->type == JF_TIME) {
			time_t t;
			if (util_parse_rfc3339(s, &t))
				return *code = "not_time", "doit être une date-heure RFC 3339 (2026-12-07T08:00:00Z)";
		}
		if (f->type == JF_EMAIL && !valid_email(s))
			return *code = "not_email", "doit être une adresse e-mail";
		if (bounded(f) && (n < (size_t)f->min || n > (size_t)f->max)) {
			*code = "length";
			snprintf(msg, msglen, "doit compter de %.0f à %.0f caractères", f->min, f->max);
			return msg;
		}
		if (f->one_of) {
			for (const char *const *o = f->one_of; *o; o++)
				if (strcmp(*o, s) == 0)
					return NULL;
			*code = "one_of";
			size_t pos = (size_t)snprintf(msg, msglen, "doit valoir l'une de ces valeurs :");
			for (const char *const *o = f->one_of; *o && pos < msglen; o++)
				pos += (size_t)snprintf(msg + pos, msglen - pos, " %s", *o);
			return msg;
		}
		return NULL;
	}
	case JF_INT: {
		if (!json_is_integer(v))
			return *code = "not_integer", "doit être un nombre entier";
		double d = (double)json_integer_value(v);
		if (bounded(f) && (d < f->min || d > f->max)) {
			*code = "range";
			snprintf(msg, msglen, "doit être compris entre %.0f et %.0f", f->min, f->max);
			return msg;
		}
		return NULL;
	}
	case JF_NUMBER: {
		if (!json_is_number(v))
			return *code = "not_number", "doit être un nombre";
		double d = json_number_value(v);
		if (!isfinite(d))
			return *code = "not_number", "doit être un nombre fini";
		if (bounded(f) && (d < f->min || d > f->max)) {
			*code = "range";
			snprintf(msg, msglen, "doit être compris entre %g et %g", f->min, f->max);
			return msg;
		}
		return NULL;
	}
	case JF_BOOL: return json_is_boolean(v) ? NULL : (*code = "not_boolean", "doit valoir true ou false");
	case JF_OBJECT: return json_is_object(v) ? NULL : (*code = "not_object", "doit être un objet");
	case JF_ARRAY: {
		if (!json_is_array(v))
			return *code = "not_list", "doit être une liste";
		size_t n = json_array_size(v);
		if (bounded(f) && (n < (size_t)f->min || n > (size_t)f->max)) {
			*code = "count";
			snprintf(msg, msglen, "doit contenir de %.0f à %.0f éléments", f->min, f->max);
			return msg;
		}
		return NULL;
	}
	}
	return "a un type non pris en charge";
}

void json_field_error(json_t *errors, const char *field, const char *code, const char *message)
{
	json_t *o = json_object();
	json_object_set_new(o, "code", json_string(code));
	json_t *m = json_string(message); /* NULL if a cut message ended mid-character */
	json_object_set_new(o, "message", m ? m : json_string("est invalide"));
	json_object_set_new(errors, field, o);
}

const char *json_field_message(const json_t *v)
{
	return json_is_object(v) ? json_string_value(json_object_get(v, "message")) : json_string_value(v);
}

const char *json_field_code(const json_t *v)
{
	const char *c = json_is_object(v) ? json_string_value(json_object_get(v, "code")) : NULL;
	return c ? c : "invalid";
}

/* A bound as an integer when it is one (100, not 100.0). */
static json_t *bound(double v) { return v == (double)(json_int_t)v ? json_integer((json_int_t)v) : json_real(v); }

/* The JSON Schema type name of a field's type; format and bounds' names go with it. */
static json_t *field_schema(const struct jfield *f)
{
	static const char *const names[] = {[JF_STRING] = "string", [JF_INT] = "integer",   [JF_NUMBER] = "number",
					    [JF_BOOL] = "boolean",  [JF_UUID] = "string",   [JF_TIME] = "string",
					    [JF_EMAIL] = "string",  [JF_OBJECT] = "object", [JF_ARRAY] = "array"};
	static const char *const formats[] = {[JF_UUID] = "uuid", [JF_TIME] = "date-time", [JF_EMAIL] = "email"};
	json_t *p = json_object();
	const char *type = (size_t)f->type < sizeof(names) / sizeof(names[0]) ? names[f->type] : NULL;
	if (type)
		json_object_set_new(p, "type", f->nullable ? json_pack("[s, s]", type, "null") : json_string(type));
	if ((size_t)f->type < sizeof(formats) / sizeof(formats[0]) && formats[f->type])
		json_object_set_new(p, "format", json_string(formats[f->type]));
	if (bounded(f)) {
		const char *lo = "minLength", *hi = "maxLength";
		if (f->type == JF_INT || f->type == JF_NUMBER)
			lo = "minimum", hi = "maximum";
		else if (f->type == JF_ARRAY)
			lo = "minItems", hi = "maxItems";
		if (f->min > 0 || f->type == JF_INT || f->type == JF_NUMBER)
			json_object_set_new(p, lo, bound(f->min));
		json_object_set_new(p, hi, bound(f->max));
	}
	if (f->one_of) {
		json_t *e = json_array();
		for (const char *const *o = f->one_of; *o; o++)
			json_array_append_new(e, json_string(*o));
		json_object_set_new(p, "enum", e);
	}
	return p;
}

json_t *json_fields_schema(const struct jfield *fields, size_t n, const char *more)
{
	json_t *required = json_array(), *props = json_object();
	for (size_t i = 0; i < n; i++) {
		if (fields[i].required)
			json_array_append_new(required, json_string(fields[i].name));
		json_object_set_new(props, fields[i].name, field_schema(&fields[i]));
	}
	json_t *s = json_pack("{s:s, s:b}", "type", "object", "additionalProperties", 0);
	if (json_array_size(required))
		json_object_set_new(s, "required", required);
	else
		json_decref(required);
	json_t *extra = more ? json_loads(more, 0, NULL) : NULL;
	const char *key;
	json_t *v;
	json_object_foreach (json_object_get(extra, "properties"), key, v) {
		json_t *p = json_object_get(props, key);
		if (p && json_is_object(v))
			json_object_update(p, v);
	}
	json_object_del(extra, "properties");
	json_object_set_new(s, "properties", props);
	json_object_update(s, extra);
	json_decref(extra);
	return s;
}

int json_check(const json_t *obj, const struct jfield *fields, size_t n, json_t *errors)
{
	int problems = 0;
	char msg[256];
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)obj, key, v) {
		size_t i;
		for (i = 0; i < n; i++)
			if (strcmp(fields[i].name, key) == 0)
				break;
		if (i == n) {
			json_field_error(errors, key, "unknown_field", "champ inconnu");
			problems++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct jfield *f = &fields[i];
		v = json_object_get(obj, f->name);
		if (!v) {
			if (f->required) {
				json_field_error(errors, f->name, "required", "est obligatoire");
				problems++;
			}
			continue;
		}
		if (json_is_null(v)) {
			if (!f->nullable) {
				json_field_error(errors, f->name, f->required ? "required" : "not_null",
						 f->required ? "est obligatoire" : "ne peut pas être null");
				problems++;
			}
			continue;
		}
		const char *code;
		const char *m = check_one(f, v, msg, sizeof(msg), &code);
		if (m) {
			json_field_error(errors, f->name, code, m);
			problems++;
		}
	}
	return problems;
}

const char *json_get_str(const json_t *obj, const char *key, const char *def)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : def;
}

long long json_get_int(const json_t *obj, const char *key, long long def)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : def;
}

json_t *json_from_buf(buf *b)
{
	json_t *j = b->failed || !b->data ? NULL : json_loadb(b->data, b->len, 0, NULL);
	buf_free(b);
	return j;
}
