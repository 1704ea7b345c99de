/*
 * store.c - the users service's rows: reading and writing users, credentials and class
 * membership, the text keys used for searching and sorting, activation codes, and the functions
 * of users.h that are not about logging in (login.c has those).
 *
 * Sorting and searching must behave the same on SQLite and PostgreSQL, whose lower() and
 * collations differ. So the service computes, in C, a folded sort key (lower case, accents
 * removed) and a folded search text for each user, stores them in columns, and compares them
 * as plain text. Nothing here formats a value into SQL: every value is bound.
 *
 * The credentials of a user (password hash, activation code hash, failure counter) live in their
 * own table so that a SELECT of users never carries them by accident, and nothing here ever puts
 * a hash into an answer.
 */
#include "internal.h"

#include "core/err.h"
#include "core/service.h"
#include "core/json.h"
#include "core/jwt.h"
#include "core/log.h"
#include "core/password.h"
#include "core/util.h"
#include "core/sql.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ucol.h>
#include <unicode/ustring.h>

static time_t system_clock(void) { return time(NULL); }
time_t (*users_clock)(void) = system_clock;

/* ---- roles ---- */

const char *const users_role_names[] = {"etudiant", "enseignant", "admin", NULL};

const char *users_role_name(unsigned roles)
{
	if (roles & ROLE_ADMIN)
		return "admin";
	if (roles & ROLE_ENSEIGNANT)
		return "enseignant";
	if (roles & ROLE_ETUDIANT)
		return "etudiant";
	return NULL;
}

unsigned users_role_bit(const char *name)
{
	if (!name)
		return 0;
	if (strcmp(name, "etudiant") == 0)
		return ROLE_ETUDIANT;
	if (strcmp(name, "enseignant") == 0)
		return ROLE_ENSEIGNANT;
	if (strcmp(name, "admin") == 0)
		return ROLE_ADMIN;
	return 0;
}

/* ---- text ---- */

/* Latin-1 Supplement letters U+00C0..U+00FF without their accents; NULL: kept as is. */
static const char *const latin1_fold[64] = {
	"a", "a", "a", "a", "a", "a", "ae", "c",  "e", "e", "e", "e", "i", "i", "i",  "i",
	"d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
	"a", "a", "a", "a", "a", "a", "ae", "c",  "e", "e", "e", "e", "i", "i", "i",  "i",
	"d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "y",
};

char *users_fold(arena *a, const char *s)
{
	if (!s)
		s = "";
	size_t n = strlen(s);
	char *out = arena_alloc(a, n * 2 + 1); /* "ß" (2 bytes) becomes "ss": never longer than 2x */
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned char ch = *p;
		if (ch < 0x80) {
			out[o++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
			p++;
			continue;
		}
		if (ch == 0xC3 && p[1] >= 0x80 && p[1] <= 0xBF) {
			const char *f = latin1_fold[p[1] - 0x80];
			if (f) {
				size_t fl = strlen(f);
				memcpy(out + o, f, fl);
				o += fl;
				p += 2;
				continue;
			}
		}
		if (ch == 0xC5 && (p[1] == 0x92 || p[1] == 0x93)) { /* Œ œ */
			memcpy(out + o, "oe", 2);
			o += 2;
			p += 2;
			continue;
		}
		if (ch == 0xC5 && p[1] == 0xB8) { /* Ÿ */
			out[o++] = 'y';
			p += 2;
			continue;
		}
		out[o++] = (char)ch;
		p++;
	}
	out[o] = '\0';
	return out;
}

/*
 * The French collator, opened once: ICU's "fr" rules (CLDR) at tertiary strength, with
 * normalisation on so that a decomposed "e\u0301" sorts as "\u00e9". A UCollator is not to be used by
 * two threads at once, and a key takes microseconds: one collator under a mutex is enough.
 */
static pthread_mutex_t coll_lock = PTHREAD_MUTEX_INITIALIZER;
static UCollator *coll;
static int coll_failed;

/* The ICU sort key of s (UTF-8) into a's memory, its length in *len; NULL when ICU failed. */
static uint8_t *icu_key(arena *a, const char *s, int32_t *len)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t n16 = 0;
	u_strFromUTF8(NULL, 0, &n16, s, -1, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e))
		return NULL;
	UChar *u = arena_alloc(a, ((size_t)n16 + 1) * sizeof(*u));
	e = U_ZERO_ERROR;
	u_strFromUTF8(u, n16 + 1, NULL, s, -1, &e);
	if (U_FAILURE(e))
		return NULL;
	int32_t cap = 4 * n16 + 16;
	uint8_t *k = arena_alloc(a, (size_t)cap);
	*len = ucol_getSortKey(coll, u, n16, k, cap);
	if (*len > cap) {
		cap = *len;
		k = arena_alloc(a, (size_t)cap);
		*len = ucol_getSortKey(coll, u, n16, k, cap);
	}
	return *len > 0 ? k : NULL;
}

/* n bytes of p as lower-case hex, cut to USERS_SORT_KEY_MAX characters, in a's memory. */
static char *key_hex(arena *a, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (n * 2 > USERS_SORT_KEY_MAX)
		n = USERS_SORT_KEY_MAX / 2;
	char *out = arena_alloc(a, n * 2 + 1);
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[n * 2] = '\0';
	return out;
}

char *users_sort_key(arena *a, const char *given, const char *family)
{
	char *out = NULL;
	pthread_mutex_lock(&coll_lock);
	if (!coll && !coll_failed) {
		UErrorCode e = U_ZERO_ERROR;
		coll = ucol_open("fr", &e);
		if (U_SUCCESS(e))
			ucol_setAttribute(coll, UCOL_NORMALIZATION_MODE, UCOL_ON, &e);
		if (U_FAILURE(e)) {
			log_error("users: ICU's French collation cannot be opened (%s): names sort by code point",
				  u_errorName(e));
			if (coll)
				ucol_close(coll);
			coll = NULL;
			coll_failed = 1;
		}
	}
	int32_t lf = 0, lg = 0;
	uint8_t *kf = coll ? icu_key(a, family ? family : "", &lf) : NULL;
	uint8_t *kg = coll ? icu_key(a, given ? given : "", &lg) : NULL;
	if (kf && kg) {
		/*
		 * Merged level by level (family primary, given primary, family accents, given accents, ...):
		 * the order is the family name, then the given name, ignoring accents and case, and only
		 * then accents and case, as a dictionary does.
		 */
		int32_t cap = lf + lg;
		uint8_t *m = arena_alloc(a, (size_t)cap);
		int32_t lm = ucol_mergeSortkeys(kf, lf, kg, lg, m, cap);
		if (lm > 0 && lm <= cap) {
			if (m[lm - 1] == 0)
				lm--; /* the terminating zero adds nothing to the order */
			out = key_hex(a, m, (size_t)lm);
		}
	}
	pthread_mutex_unlock(&coll_lock);
	if (!out) { /* no collator: still a key of hex digits, in code point order */
		const char *t = arena_printf(a, "%s\x01%s", family ? family : "", given ? given : "");
		out = key_hex(a, (const uint8_t *)t, strlen(t));
	}
	return out;
}

int users_fill_sort_keys(db_conn *c)
{
	/* Read everything first: one statement steps at a time on a connection. */
	arena *a = arena_new(1 << 16);
	db_stmt *s = db_prepare(c, "SELECT id, given_name, family_name FROM users ORDER BY id");
	int rc = s ? ENT_OK : ENT_EDB;
	size_t n = 0, cap = 0;
	const char *(*v)[3] = NULL;
	while (s && (rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		for (int i = 0; i < 3; i++)
			v[n][i] = arena_strdup(a, db_col_text(s, i) ? db_col_text(s, i) : "");
		n++;
	}
	if (s)
		db_done(s);
	rc = rc < 0 ? rc : ENT_OK;
	for (size_t i = 0; !rc && i < n; i++) {
		s = SQL_PREP(c, "UPDATE users SET sort_key = ? WHERE id = ?",
			     SQL_T(users_sort_key(a, v[i][1], v[i][2])), SQL_T(v[i][0]));
		if (!s) {
			rc = ENT_EDB;
			break;
		}
		rc = db_step(s);
		db_done(s);
		rc = rc < 0 ? rc : ENT_OK;
	}
	arena_free(a);
	return rc;
}

char *users_search_text(arena *a, const char *given, const char *family, const char *display, const char *email,
			const char *username)
{
	return users_fold(a, arena_printf(a, "%s %s | %s %s | %s | %s | %s", given ? given : "", family ? family : "",
					  family ? family : "", given ? given : "", display ? display : "",
					  email ? email : "", username ? username : ""));
}

char *users_lower(arena *a, const char *s)
{
	if (!s)
		return NULL;
	char *out = arena_strdup(a, s);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return out;
}

int users_valid_email(const char *s)
{
	if (!s || strlen(s) > USERS_EMAIL_MAX)
		return 0;
	const char *at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@'))
		return 0;
	const char *dot = strrchr(at, '.');
	if (!dot || dot == at + 1 || dot[1] == '\0')
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == '"' || *p == ',' || *p == 0x7f)
			return 0;
	return util_valid_text(s);
}

/* ---- times ---- */

void users_time(char out[21], long offset) { util_time_rfc3339(users_clock() + offset, out); }

void users_school_year(time_t t, char out[10])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	int y = tm.tm_year + 1900;
	if (tm.tm_mon < 7) /* before August: the year that started last summer */
		y--;
	if (y < 1000 || y > 9998)
		y = 2000; /* a clock this wrong is a bug elsewhere; keep the text well-formed */
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%d-%d", y, y + 1);
	memcpy(out, tmp, 10);
}

int users_valid_school_year(const char *s)
{
	if (!s || strlen(s) != 9 || s[4] != '-')
		return 0;
	int64_t a, b;
	char first[5], second[5];
	memcpy(first, s, 4);
	first[4] = '\0';
	memcpy(second, s + 5, 4);
	second[4] = '\0';
	if (first[0] == '-' || second[0] == '-' || util_parse_int64(first, 1900, 9998, &a) ||
	    util_parse_int64(second, 1901, 9999, &b))
		return 0;
	return b == a + 1;
}

/* ---- activation codes ---- */

static const char code_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; /* 32: 5 bits each */

void users_new_code(char code[16], char hash[65])
{
	unsigned char rnd[USERS_CODE_LEN];
	util_random(rnd, sizeof(rnd));
	char plain[USERS_CODE_LEN + 1];
	size_t o = 0;
	for (int i = 0; i < USERS_CODE_LEN; i++) {
		plain[i] = code_alphabet[rnd[i] & 31];
		if (i && i % 4 == 0)
			code[o++] = '-';
		code[o++] = plain[i];
	}
	code[o] = '\0';
	plain[USERS_CODE_LEN] = '\0';
	sha256_hex(plain, USERS_CODE_LEN, hash);
}

void users_code_hash(const char *typed, char hash[65])
{
	char norm[64];
	size_t o = 0;
	for (const char *p = typed ? typed : ""; *p && o < sizeof(norm) - 1; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		norm[o++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	}
	norm[o] = '\0';
	sha256_hex(norm, o, hash);
}

/* ---- rows ---- */

static const char *col(arena *a, db_stmt *s, int i)
{
	const char *v = db_col_text(s, i);
	return v ? arena_strdup(a, v) : NULL;
}

void users_read_row(arena *a, db_stmt *s, struct urow *r)
{
	memset(r, 0, sizeof(*r));
	r->id = col(a, s, 0);
	r->iss = col(a, s, 1);
	r->sub = col(a, s, 2);
	r->email = col(a, s, 3);
	r->username = col(a, s, 4);
	r->given_name = col(a, s, 5);
	r->family_name = col(a, s, 6);
	r->display_name = col(a, s, 7);
	r->locale = col(a, s, 8);
	r->role = col(a, s, 9);
	r->external_id = col(a, s, 10);
	r->disabled = db_col_int64(s, 11) != 0;
	r->created_at = col(a, s, 12);
	r->updated_at = col(a, s, 13);
	r->last_login_at = col(a, s, 14);
	r->deleted_at = col(a, s, 15);
	/* An account of an external issuer has no password here: it is active from its first token. */
	r->active = db_col_int64(s, 16) != 0 || r->iss != NULL;
	r->activation_pending = db_col_int64(s, 17) != 0;
	r->locked_until = col(a, s, 18);
	r->class_id = col(a, s, 19);
	r->class_name = col(a, s, 20);
	r->class_year = col(a, s, 21);
}

int users_load(db_conn *c, arena *a, const char *id, int with_deleted, struct urow *r)
{
	if (!id || !util_is_uuid(id))
		return ENT_ENOTFOUND;
	db_stmt *s = SQL_PREP(c, "SELECT " USERS_COLS USERS_FROM " WHERE u.id = ?", SQL_T(id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW)
		users_read_row(a, s, r);
	db_done(s);
	if (rc < 0)
		return rc;
	if (rc != DB_ROW || (!with_deleted && r->deleted_at))
		return ENT_ENOTFOUND;
	return ENT_OK;
}

/* Fills the public struct user from a row. */
static void to_user(arena *a, const struct urow *r, struct user *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", r->id);
	out->iss = r->iss;
	out->sub = r->sub;
	out->email = r->email;
	out->username = r->username;
	out->given_name = r->given_name;
	out->family_name = r->family_name;
	out->official_name = arena_printf(a, "%s %s", r->given_name ? r->given_name : "",
					  r->family_name ? r->family_name : "");
	out->name = r->display_name ? r->display_name : out->official_name;
	out->roles = users_role_bit(r->role);
	out->disabled = r->disabled;
	out->active = r->active;
}

/* The classes the user belongs to, newest school year first. */
static void classes_of(jw *w, db_conn *c, const char *user_id)
{
	jw_arr_open(w);
	db_stmt *s = db_prepare(c, "SELECT c.id, c.name, c.school_year, c.level FROM class_members m"
				   " JOIN classes c ON c.id = m.class_id WHERE m.user_id = ?"
				   " ORDER BY c.school_year DESC, c.name, c.id");
	if (s) {
		db_bind_text(s, 1, user_id);
		while (db_step(s) == DB_ROW) {
			jw_obj_open(w);
			jw_kstr(w, "id", db_col_text(s, 0));
			jw_kstr(w, "name", db_col_text(s, 1));
			jw_kstr(w, "school_year", db_col_text(s, 2));
			jw_kstr(w, "level", db_col_text(s, 3));
			jw_obj_close(w);
		}
		db_done(s);
	}
	jw_arr_close(w);
}

void users_row_fields(jw *w, db_conn *c, const struct urow *r, enum users_view view, int classes)
{
	char name[2 * 4 * USERS_NAME_MAX + 2];
	snprintf(name, sizeof(name), "%s %s", r->given_name ? r->given_name : "", r->family_name ? r->family_name : "");
	jw_kstr(w, "id", r->id);
	jw_kstr(w, "email", r->email);
	jw_kstr(w, "username", r->username);
	jw_kstr(w, "given_name", r->given_name);
	jw_kstr(w, "family_name", r->family_name);
	jw_kstr(w, "name", r->display_name ? r->display_name : name);
	jw_kstr(w, "display_name", r->display_name);
	jw_kstr(w, "locale", r->locale);
	jw_kstr(w, "role", r->role);
	jw_key(w, "class");
	if (r->class_id) {
		jw_obj_open(w);
		jw_kstr(w, "id", r->class_id);
		jw_kstr(w, "name", r->class_name);
		jw_kstr(w, "school_year", r->class_year);
		jw_obj_close(w);
	} else {
		jw_null(w);
	}
	if (classes) {
		jw_key(w, "classes");
		classes_of(w, c, r->id);
	}
	jw_kstr(w, "created_at", r->created_at);
	jw_kstr(w, "last_login_at", r->last_login_at);
	if (view == USERS_VIEW_ADMIN) {
		char now[21];
		users_time(now, 0);
		jw_kstr(w, "updated_at", r->updated_at);
		jw_kstr(w, "external_id", r->external_id);
		jw_kstr(w, "iss", r->iss);
		jw_kbool(w, "disabled", r->disabled);
		jw_kbool(w, "active", r->active);
		jw_kbool(w, "activation_pending", r->activation_pending);
		jw_kstr(w, "locked_until",
			r->locked_until && strcmp(r->locked_until, now) > 0 ? r->locked_until : NULL);
	}
}

void users_row_write(jw *w, db_conn *c, const struct urow *r, enum users_view view, int classes)
{
	jw_obj_open(w);
	users_row_fields(w, c, r, view, classes);
	jw_obj_close(w);
}

int users_insert(db_conn *c, arena *a, char id[37], const char *email, const char *username, const char *given,
		 const char *family, const char *role, const char *external_id, const char *iss, const char *sub,
		 const char *password_hash, const char *code_hash, const char *code_expires)
{
	util_uuid(id);
	char now[21];
	users_time(now, 0);
	int rc = SQL_RUN(c,
			 "INSERT INTO users (id, iss, sub, email, username, given_name, family_name, role,"
			 " external_id, disabled, sort_key, search, created_at, updated_at)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
			 SQL_T(id), SQL_T(iss), SQL_T(sub), SQL_T(email), SQL_T(username), SQL_T(given), SQL_T(family),
			 SQL_T(role), SQL_T(external_id), SQL_T(users_sort_key(a, given, family)),
			 SQL_T(users_search_text(a, given, family, NULL, email, username)), SQL_T(now), SQL_T(now));
	if (rc < 0)
		return rc;
	rc = SQL_RUN(c,
		     "INSERT INTO user_credentials (user_id, password_hash, activation_hash, activation_expires_at,"
		     " failed_count, locked_until, updated_at) VALUES (?, ?, ?, ?, 0, NULL, ?)",
		     SQL_T(id), SQL_T(password_hash), SQL_T(code_hash), SQL_T(code_expires), SQL_T(now));
	return rc < 0 ? rc : ENT_OK;
}

int users_exists(db_conn *c, const char *sql, const char *param)
{
	db_stmt *s = SQL_PREP(c, sql, SQL_T(param));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : rc == DB_ROW;
}

int users_set_class(db_conn *c, const char *user_id, const char *role, const char *class_id)
{
	int rc;
	if (class_id) {
		rc = users_exists(c, "SELECT 1 FROM classes WHERE id = ?", class_id);
		if (rc <= 0)
			return rc < 0 ? rc : ENT_ENOTFOUND;
	}
	int student = role && strcmp(role, "etudiant") == 0;
	if (!class_id || student) {
		/* A student leaves their class before joining another; NULL leaves every class. */
		db_stmt *s = db_prepare(c, class_id ? "DELETE FROM class_members WHERE user_id = ? AND class_id <> ?"
						    : "DELETE FROM class_members WHERE user_id = ?");
		if (!s)
			return ENT_EDB;
		db_bind_text(s, 1, user_id);
		if (class_id)
			db_bind_text(s, 2, class_id);
		rc = db_step(s);
		db_done(s);
		if (rc < 0 || !class_id)
			return rc < 0 ? rc : ENT_OK;
	}
	char now[21];
	users_time(now, 0);
	rc = SQL_RUN(c,
		     "INSERT INTO class_members (class_id, user_id, kind, added_at) VALUES (?, ?, ?, ?)"
		     " ON CONFLICT (class_id, user_id) DO UPDATE SET kind = excluded.kind",
		     SQL_T(class_id), SQL_T(user_id), SQL_T(role ? role : "etudiant"), SQL_T(now));
	return rc < 0 ? rc : ENT_OK;
}

int users_class_by_name(db_conn *c, const char *name, const char *school_year, int create, char id[37], int *created)
{
	if (created)
		*created = 0;
	db_stmt *s = SQL_PREP(c, "SELECT id FROM classes WHERE name = ? AND school_year = ?", SQL_T(name),
			      SQL_T(school_year));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW)
		snprintf(id, 37, "%s", db_col_text(s, 0));
	db_done(s);
	if (rc < 0)
		return rc;
	if (rc == DB_ROW)
		return ENT_OK;
	if (!create)
		return ENT_ENOTFOUND;
	util_uuid(id);
	char now[21];
	users_time(now, 0);
	rc = SQL_RUN(
		c,
		"INSERT INTO classes (id, name, school_year, level, created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?)",
		SQL_T(id), SQL_T(name), SQL_T(school_year), SQL_T(now), SQL_T(now));
	if (rc < 0)
		return rc;
	if (created)
		*created = 1;
	return ENT_OK;
}

int users_reset_code(db_conn *c, const char *user_id, char code[16], char expires[21])
{
	char hash[65], now[21];
	users_new_code(code, hash);
	users_time(now, 0);
	users_time(expires, (long)USERS_CODE_DAYS * 86400);
	db_stmt *s = SQL_PREP(c,
			      "UPDATE user_credentials SET password_hash = NULL, activation_hash = ?,"
			      " activation_expires_at = ?, failed_count = 0, locked_until = NULL, updated_at = ?"
			      " WHERE user_id = ?",
			      SQL_T(hash), SQL_T(expires), SQL_T(now), SQL_T(user_id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	int64_t n = db_changes(s);
	db_done(s);
	if (rc < 0)
		return rc;
	if (n == 0) {
		/* Accounts first seen in an external token have no credentials row yet. */
		rc = SQL_RUN(
			c,
			"INSERT INTO user_credentials (user_id, password_hash, activation_hash, activation_expires_at,"
			" failed_count, locked_until, updated_at) VALUES (?, NULL, ?, ?, 0, NULL, ?)",
			SQL_T(user_id), SQL_T(hash), SQL_T(expires), SQL_T(now));
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

/* ---- users.h ---- */

int users_get(db_conn *c, arena *a, const char *id, struct user *out)
{
	struct urow r;
	int rc = users_load(c, a, id, 0, &r);
	if (rc)
		return rc;
	to_user(a, &r, out);
	return ENT_OK;
}

int users_find_login(db_conn *c, arena *a, const char *login, struct user *out)
{
	if (!login || !*login)
		return ENT_ENOTFOUND;
	char *l = users_lower(a, login);
	/* An email wins over a username that happens to look like someone else's email. */
	db_stmt *s = db_prepare(c,
				"SELECT " USERS_COLS USERS_FROM " WHERE (u.email = ? OR u.username = ?)"
				" AND u.deleted_at IS NULL ORDER BY CASE WHEN u.email = ? THEN 0 ELSE 1 END LIMIT 1");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, l);
	db_bind_text(s, 2, l);
	db_bind_text(s, 3, l);
	struct urow r;
	int rc = db_step(s);
	if (rc == DB_ROW)
		users_read_row(a, s, &r);
	db_done(s);
	if (rc < 0)
		return rc;
	if (rc != DB_ROW)
		return ENT_ENOTFOUND;
	to_user(a, &r, out);
	return ENT_OK;
}

int users_create(db_conn *c, arena *a, const char *email, const char *given_name, const char *family_name,
		 unsigned roles, const char *password, struct user *out)
{
	const char *role = users_role_name(roles);
	if (!role || !email || !users_valid_email(email) || !given_name || !*given_name || !family_name ||
	    !*family_name || !util_valid_text(given_name) || !util_valid_text(family_name) ||
	    json_utf8_len(given_name) > USERS_NAME_MAX || json_utf8_len(family_name) > USERS_NAME_MAX)
		return ENT_EINVAL;
	char *hash = NULL;
	if (password) {
		if (password_policy_error(password))
			return ENT_EINVAL;
		hash = password_hash(password); /* before the transaction: Argon2 takes a while */
		if (!hash)
			return ENT_EINTERNAL;
	}
	char *mail = users_lower(a, email);
	char id[37];
	int rc = db_begin(c);
	if (rc) {
		free(hash);
		return rc;
	}
	rc = users_insert(c, a, id, mail, mail, given_name, family_name, role, NULL, NULL, NULL, hash, NULL, NULL);
	free(hash);
	if (rc) {
		db_rollback(c);
		return rc;
	}
	rc = db_commit(c);
	if (rc)
		return rc;
	return users_get(c, a, id, out);
}

int users_set_password(db_conn *c, const char *id, const char *password, const char **why)
{
	*why = password ? password_policy_error(password) : "mot de passe manquant";
	if (*why)
		return ENT_EINVAL;
	int rc = users_exists(c, "SELECT 1 FROM users WHERE id = ? AND deleted_at IS NULL", id);
	if (rc <= 0)
		return rc < 0 ? rc : ENT_ENOTFOUND;
	char *hash = password_hash(password);
	if (!hash)
		return ENT_EINTERNAL;
	char now[21];
	users_time(now, 0);
	int64_t n = 0;
	rc = SQL_CHANGE(c, &n, USERS_SET_PASSWORD, SQL_T(hash), SQL_T(now), SQL_T(id));
	if (rc >= 0 && n == 0)
		rc = SQL_RUN(
			c,
			"INSERT INTO user_credentials (user_id, password_hash, activation_hash, activation_expires_at,"
			" failed_count, locked_until, updated_at) VALUES (?, ?, NULL, NULL, 0, NULL, ?)",
			SQL_T(id), SQL_T(hash), SQL_T(now));
	free(hash);
	if (rc < 0)
		return rc;
	service_revoke_user(c, id);
	return ENT_OK;
}

int users_class_members(db_conn *c, arena *a, const char *class_id, char ***ids)
{
	*ids = NULL;
	if (!class_id || !util_is_uuid(class_id))
		return ENT_ENOTFOUND;
	db_stmt *s = SQL_PREP(c,
			      "SELECT m.user_id FROM class_members m JOIN users u ON u.id = m.user_id"
			      " WHERE m.class_id = ? AND m.kind = 'etudiant' AND u.deleted_at IS NULL"
			      " ORDER BY u.sort_key, u.id",
			      SQL_T(class_id));
	if (!s)
		return ENT_EDB;
	size_t n = 0, cap = 32;
	char **v = arena_alloc(a, cap * sizeof(*v));
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		v[n++] = arena_strdup(a, db_col_text(s, 0));
	}
	db_done(s);
	if (rc < 0)
		return rc;
	v = arena_grow(a, v, n, &cap, sizeof(*v)); /* room for the NULL at the end */
	v[n] = NULL;
	*ids = v;
	return (int)n;
}

int users_upsert_external(db_conn *c, arena *a, const char *iss, const char *sub, const char *email,
			  const char *username, const char *given_name, const char *family_name, unsigned roles,
			  struct user *out)
{
	if (!iss || !*iss || !sub || !*sub)
		return ENT_EINVAL;
	/* Roles come from the issuer; an account it gives no role to is a student (least privilege). */
	const char *role = users_role_name(roles);
	if (!role)
		role = "etudiant";
	const char *mail = email && users_valid_email(email) ? users_lower(a, email) : NULL;
	const char *uname = username && *username && util_valid_text(username) ? users_lower(a, username) : mail;
	const char *given = given_name && util_valid_text(given_name) ? given_name : "";
	const char *family = family_name && util_valid_text(family_name) ? family_name : "";
	for (int attempt = 0; attempt < 3; attempt++) {
		db_stmt *s = SQL_PREP(c,
				      "SELECT id, email, username, given_name, family_name, role FROM users"
				      " WHERE iss = ? AND sub = ?",
				      SQL_T(iss), SQL_T(sub));
		if (!s)
			return ENT_EDB;
		int rc = db_step(s);
		char id[37] = "";
		int same = 0;
		if (rc == DB_ROW) {
			snprintf(id, sizeof(id), "%s", db_col_text(s, 0));
			const char *e = db_col_text(s, 1), *un = db_col_text(s, 2);
			same = ((!e && !mail) || (e && mail && strcmp(e, mail) == 0)) &&
			       ((!un && !uname) || (un && uname && strcmp(un, uname) == 0)) &&
			       strcmp(db_col_text(s, 3), given) == 0 && strcmp(db_col_text(s, 4), family) == 0 &&
			       strcmp(db_col_text(s, 5), role) == 0;
		}
		db_done(s);
		if (rc < 0)
			return rc;
		if (rc == DB_ROW) {
			if (!same) {
				char now[21];
				users_time(now, 0);
				/* Email and username are unique: one that another account holds is not taken over. */
				for (int variant = 0; variant < 2; variant++) {
					const char *m = variant ? NULL : mail, *un = variant ? NULL : uname;
					rc = SQL_RUN(
						c,
						"UPDATE users SET email = ?, username = ?, given_name = ?, family_name = ?,"
						" role = ?, sort_key = ?, search = ?, updated_at = ? WHERE id = ?",
						SQL_T(m), SQL_T(un), SQL_T(given), SQL_T(family), SQL_T(role),
						SQL_T(users_sort_key(a, given, family)),
						SQL_T(users_search_text(a, given, family, NULL, m, un)), SQL_T(now),
						SQL_T(id));
					if (rc != ENT_ECONFLICT)
						break;
				}
				if (rc < 0)
					return rc;
			}
			return users_get(c, a, id, out);
		}
		rc = db_begin(c);
		if (rc)
			return rc;
		rc = users_insert(c, a, id, mail, uname, given, family, role, NULL, iss, sub, NULL, NULL, NULL);
		if (rc) {
			db_rollback(c);
		} else {
			rc = db_commit(c);
			if (rc == ENT_OK)
				return users_get(c, a, id, out);
		}
		if (rc == ENT_ECONFLICT && (mail || uname)) {
			/* Another account holds the email or username: keep the external one without them. */
			int taken = 0;
			if (mail)
				taken |= users_exists(c, "SELECT 1 FROM users WHERE ? IN (email, username)", mail) == 1;
			if (uname)
				taken |= users_exists(c, "SELECT 1 FROM users WHERE ? IN (email, username)", uname) ==
					 1;
			if (taken) {
				mail = NULL;
				uname = NULL;
			}
			continue; /* or another process created (iss, sub) at the same moment: read it again */
		}
		if (rc != ENT_ECONFLICT)
			return rc;
	}
	return ENT_ECONFLICT;
}
