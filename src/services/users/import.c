/*
 * import.c - bulk import of users and classes from CSV (POST /api/users/import and
 * `ent import users FILE.csv`).
 *
 * The document starts with a header line naming its columns, in any order:
 *     email,given_name,family_name,role,class,external_id
 * (class and external_id may be left out). Each following line is one user. class is a class
 * name of the school year being imported (created when missing).
 *
 * The document is taken as a spreadsheet saves it. Its separator is found in the header line
 * (',', or ';' as French Excel writes, or a tab; quotes respected). Its encoding is UTF-8, with or
 * without a byte order mark, or else Windows-1252 (Excel's "CSV (séparateur : point-virgule)" in
 * French), converted to UTF-8 with iconv. A document that is neither is refused as a whole, and so
 * is one that mixes both (a BOM or valid UTF-8 accents, then bytes that are not UTF-8): the first
 * such field is named by its line and column, and nothing is stored. Messages are in French,
 * since the people who read them are school staff.
 *
 * The import works in two passes. The first parses and validates every line without touching the
 * database (bad lines, and lines repeating an email or external id of an earlier line, are
 * rejected with their line number and a reason). The second applies the valid lines in ONE
 * transaction: a user is found by external id, else by email; found users are updated when
 * something differs (or counted unchanged), others are created with a one-time activation code
 * (no password, so no Argon2 per row: 10,000 lines take about a second). Uniqueness is checked
 * with queries before writing, so a line that would collide with another account is rejected
 * rather than failing the transaction (on PostgreSQL a failed statement aborts the transaction).
 * A database error rolls back everything. A dry run does all of it and rolls back at the end, so
 * its counts are exactly what a real run would do; it returns no activation codes.
 */
#include "internal.h"

#include "core/err.h"
#include "core/service.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "core/sql.h"
#include "csv.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_MAX_ROWS 200000

enum { COL_EMAIL, COL_GIVEN, COL_FAMILY, COL_ROLE, COL_CLASS, COL_EXTERNAL, NCOLS };
static const char *const col_names[NCOLS] = {"email", "given_name", "family_name", "role", "class", "external_id"};

struct row {
	unsigned line;
	const char *email, *given, *family, *role, *class_name, *external_id;
};

/* ---- a small string -> index map (open addressing), in an arena ---- */

struct strmap {
	size_t cap, n;
	const char **keys;
	size_t *vals;
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void strmap_init(struct strmap *m, arena *a, size_t expected)
{
	m->cap = 64;
	while (m->cap < expected * 2)
		m->cap *= 2;
	m->n = 0;
	m->keys = arena_calloc(a, m->cap, sizeof(*m->keys));
	m->vals = arena_calloc(a, m->cap, sizeof(*m->vals));
}

/* The slot of key: its value when present (returns 1), else where to insert it (returns 0). */
static int strmap_find(const struct strmap *m, const char *key, size_t *slot)
{
	size_t i = (size_t)fnv1a(key) & (m->cap - 1);
	while (m->keys[i]) {
		if (strcmp(m->keys[i], key) == 0) {
			*slot = i;
			return 1;
		}
		i = (i + 1) & (m->cap - 1);
	}
	*slot = i;
	return 0;
}

/* Adds key -> val unless present; returns the value already there, or val. The map never fills: cap >= 2n. */
static size_t strmap_put(struct strmap *m, arena *a, const char *key, size_t val)
{
	size_t slot;
	if (strmap_find(m, key, &slot))
		return m->vals[slot];
	if ((m->n + 1) * 2 > m->cap) {
		struct strmap bigger;
		strmap_init(&bigger, a, m->cap);
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i]) {
				size_t s2;
				strmap_find(&bigger, m->keys[i], &s2);
				bigger.keys[s2] = m->keys[i];
				bigger.vals[s2] = m->vals[i];
				bigger.n++;
			}
		*m = bigger;
		strmap_find(m, key, &slot);
	}
	m->keys[slot] = key;
	m->vals[slot] = val;
	m->n++;
	return val;
}

/* ---- first pass: parsing and validation ---- */

static _Thread_local char why_buf[1024];

static char *trim(arena *a, const char *s, size_t len)
{
	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return arena_strndup(a, s, len);
}

/* The role a cell names (a few common French and English words are understood), or NULL. */
static const char *role_of(arena *a, const char *cell)
{
	static const struct {
		const char *word, *role;
	} words[] = {
		{"etudiant", "etudiant"},     {"etudiante", "etudiant"},    {"eleve", "etudiant"},
		{"student", "etudiant"},      {"enseignant", "enseignant"}, {"enseignante", "enseignant"},
		{"professeur", "enseignant"}, {"prof", "enseignant"},       {"teacher", "enseignant"},
		{"admin", "admin"},           {"administrateur", "admin"},  {"administratrice", "admin"},
	};
	const char *f = users_fold(a, cell);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(f, words[i].word) == 0)
			return words[i].role;
	return NULL;
}

/* A rejected line: its number, the column at fault (NULL: the line as a whole) and why, in French. */
static void reject(json_t *rejected, unsigned line, const char *column, const char *reason)
{
	char text[512];
	if (column)
		snprintf(text, sizeof(text), "colonne %s : %s", column, reason);
	else
		snprintf(text, sizeof(text), "%s", reason);
	json_array_append_new(rejected,
			      json_pack("{s:i, s:s?, s:s}", "line", (int)line, "column", column, "reason", text));
}

/* Checks a name-like cell; returns a reason (French) or NULL. */
static const char *bad_text(const char *v, int required, arena *a)
{
	if (!*v)
		return required ? "vide" : NULL;
	if (!util_valid_text(v))
		return "contient des caractères de contrôle";
	if (json_utf8_len(v) > USERS_NAME_MAX)
		return arena_printf(a, "plus de %d caractères", USERS_NAME_MAX);
	return NULL;
}

/* ---- the document's encoding ---- */

static const char resave[] = "enregistrez-le depuis Excel en « CSV UTF-8 (délimité par des virgules) » ou en "
			     "« CSV (séparateur : point-virgule) »";

/*
 * Checks that p is UTF-8 (any code point but surrogates; controls are the fields' business).
 * Returns 1 if so; else 0 with *bad the offset of the first byte that is not. *multibyte is set
 * when a valid sequence of two bytes or more comes first.
 */
static int utf8_scan(const unsigned char *p, size_t len, size_t *bad, int *multibyte)
{
	*multibyte = 0;
	size_t i = 0;
	while (i < len) {
		unsigned ch = p[i];
		if (ch < 0x80) {
			i++;
			continue;
		}
		size_t n = (ch & 0xE0) == 0xC0 ? 1 : (ch & 0xF0) == 0xE0 ? 2 : (ch & 0xF8) == 0xF0 ? 3 : 0;
		unsigned cp = ch & (0x3F >> n);
		int ok = n && i + n < len;
		for (size_t k = 1; ok && k <= n; k++) {
			ok = (p[i + k] & 0xC0) == 0x80;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (ok && ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
			   cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
			ok = 0;
		if (!ok) {
			*bad = i;
			return 0;
		}
		*multibyte = 1;
		i += n + 1;
	}
	return 1;
}

/*
 * 1 if every byte could be text written in Windows-1252: no control character but tab and line
 * ends, none of the five bytes the code page leaves undefined. Random bytes fail at once.
 */
static int plausible_cp1252(const unsigned char *p, size_t len, size_t *bad)
{
	for (size_t i = 0; i < len; i++) {
		unsigned ch = p[i];
		if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') || ch == 0x7F || ch == 0x81 || ch == 0x8D ||
		    ch == 0x8F || ch == 0x90 || ch == 0x9D) {
			*bad = i;
			return 0;
		}
	}
	return 1;
}

/* The physical line (from 1) of byte offset at, and the field it falls in (from 0), quotes respected. */
static void locate(const char *data, size_t at, char sep, unsigned *line, size_t *field)
{
	int quoted = 0;
	*line = 1;
	*field = 0;
	for (size_t i = 0; i < at; i++) {
		char ch = data[i];
		if (ch == '\n' || (ch == '\r' && data[i + 1] != '\n'))
			(*line)++;
		if (ch == '"')
			quoted = !quoted;
		else if (!quoted && ch == sep)
			(*field)++;
		else if (!quoted && (ch == '\n' || ch == '\r'))
			*field = 0;
	}
}

/*
 * Brings the document to UTF-8: *doc and *dlen are the text to parse (the BOM skipped), *enc the
 * encoding read ("utf-8" or "windows-1252"). Returns 0, or -1 with why_buf set (French) when the
 * document is refused.
 */
static int decode(arena *a, const char *data, size_t len, const char **doc, size_t *dlen, const char **enc)
{
	const unsigned char *u = (const unsigned char *)data;
	if ((len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) ||
	    (len >= 4 && u[0] == 0 && u[1] == 0 && u[2] == 0xFE && u[3] == 0xFF)) {
		snprintf(why_buf, sizeof(why_buf), "le fichier est en UTF-16 ou UTF-32, que l'import ne lit pas : %s",
			 resave);
		return -1;
	}
	size_t bom = csv_bom_len(data, len);
	data += bom;
	len -= bom;
	u += bom;
	char sep = csv_detect_sep(data, len);
	if (memchr(data, '\0', len)) {
		unsigned line;
		size_t field;
		locate(data, (size_t)((const char *)memchr(data, '\0', len) - data), sep, &line, &field);
		snprintf(why_buf, sizeof(why_buf),
			 "ligne %u : le fichier contient des octets nuls, il n'est donc ni en UTF-8 ni en Windows-1252 "
			 "(UTF-16 ?) : %s",
			 line, resave);
		return -1;
	}
	size_t bad = 0;
	int multibyte;
	if (utf8_scan(u, len, &bad, &multibyte)) {
		*doc = data;
		*dlen = len;
		*enc = "utf-8";
		return 0;
	}
	unsigned line;
	size_t field;
	locate(data, bad, sep, &line, &field);
	if (bom || multibyte) {
		/* UTF-8 by its BOM or its first accents, then bytes that are not: a damaged file. */
		const char *col = NULL;
		struct csv_record rec = {.store = arena_alloc(a, 4096), .cap = 4096, .sep = sep};
		size_t used;
		if (csv_parse_line(data, len, &used, &rec) == CSV_RECORD && field < rec.nfields) {
			const char *name = users_fold(a, trim(a, rec.fields[field], rec.lens[field]));
			for (int k = 0; k < NCOLS && !col; k++)
				if (strcmp(name, col_names[k]) == 0)
					col = col_names[k];
		}
		const char *label = col ? col
					: arena_printf(a, "%zu", field + 1); /* by name when the header names it */
		snprintf(
			why_buf, sizeof(why_buf),
			"ligne %u, colonne %s : l'octet 0x%02X n'est pas de l'UTF-8 valide, alors que le fichier est en UTF-8 "
			"(%s) ; rien n'a été importé : corrigez cette cellule ou %s",
			line, label, u[bad],
			bom ? "il commence par la marque d'ordre des octets" : "ses premiers accents sont en UTF-8",
			resave);
		return -1;
	}
	if (!plausible_cp1252(u, len, &bad)) {
		locate(data, bad, sep, &line, &field);
		snprintf(
			why_buf, sizeof(why_buf),
			"le fichier n'est ni en UTF-8 ni en Windows-1252 (octet 0x%02X à la ligne %u, colonne %zu) : %s",
			u[bad], line, field + 1, resave);
		return -1;
	}
	iconv_t cd = iconv_open("UTF-8", "WINDOWS-1252");
	if (cd == (iconv_t)-1) {
		snprintf(why_buf, sizeof(why_buf),
			 "le fichier est en Windows-1252, que ce serveur ne sait pas convertir : %s", resave);
		return -1;
	}
	size_t cap = len * 3 + 1, left = len, room = cap;
	char *out = arena_alloc(a, cap), *o = out;
	char *in = (char *)data;
	size_t r = iconv(cd, &in, &left, &o, &room);
	iconv_close(cd);
	if (r == (size_t)-1) {
		locate(data, (size_t)(in - data), sep, &line, &field);
		snprintf(why_buf, sizeof(why_buf),
			 "ligne %u, colonne %zu : l'octet 0x%02X n'existe pas en Windows-1252 : %s", line, field + 1,
			 (unsigned char)*in, resave);
		return -1;
	}
	*o = '\0';
	*doc = out;
	*dlen = (size_t)(o - out);
	*enc = "windows-1252";
	return 0;
}

/* The separator's name, for messages. */
static const char *sep_name(char sep) { return sep == ';' ? "point-virgule" : sep == '\t' ? "tabulation" : "virgule"; }

/*
 * Parses the document (UTF-8, BOM skipped) into rows; bad lines go to rejected. Returns the
 * number of rows, or -1 with why_buf set when the document as a whole is unusable.
 */
static long parse_rows(arena *a, const char *data, size_t len, char sep, struct row **out, json_t *rejected)
{
	size_t pos = 0;
	size_t cap = 65536;
	struct csv_record rec = {.store = arena_alloc(a, cap), .cap = cap, .sep = sep};
	size_t used;
	unsigned line = 1;
	int rc = csv_parse_line(data + pos, len - pos, &used, &rec);
	if (rc == CSV_END) {
		snprintf(why_buf, sizeof(why_buf), "le fichier est vide : une ligne d'en-tête est attendue (%s)",
			 "email;given_name;family_name;role;class;external_id");
		return -1;
	}
	if (rc != CSV_RECORD) {
		snprintf(why_buf, sizeof(why_buf), "ligne 1 (en-tête) : %s", csv_strerror(rc));
		return -1;
	}
	int map[CSV_MAX_FIELDS];
	int seen[NCOLS] = {0};
	size_t ncols = rec.nfields;
	for (size_t i = 0; i < rec.nfields; i++) {
		char *name = users_fold(a, trim(a, rec.fields[i], rec.lens[i]));
		map[i] = -1;
		for (int k = 0; k < NCOLS; k++)
			if (strcmp(name, col_names[k]) == 0)
				map[i] = k;
		if (map[i] < 0) {
			snprintf(
				why_buf, sizeof(why_buf),
				"ligne 1 (en-tête), colonne %zu : colonne inconnue « %.60s » (colonnes possibles : email, "
				"given_name, family_name, role, class, external_id ; séparateur lu : %s)",
				i + 1, name, sep_name(sep));
			return -1;
		}
		if (seen[map[i]]++) {
			snprintf(why_buf, sizeof(why_buf),
				 "ligne 1 (en-tête), colonne %zu : la colonne « %s » apparaît deux fois", i + 1, name);
			return -1;
		}
	}
	for (int k = 0; k < COL_CLASS; k++)
		if (!seen[k]) {
			snprintf(why_buf, sizeof(why_buf),
				 "ligne 1 (en-tête) : il manque la colonne « %s » (séparateur lu : %s)", col_names[k],
				 sep_name(sep));
			return -1;
		}
	pos += used;
	line += rec.lines;

	size_t n = 0, rcap = 1024;
	struct row *rows = malloc(rcap * sizeof(*rows));
	if (!rows)
		abort();
	struct strmap emails, externals;
	strmap_init(&emails, a, 1024);
	strmap_init(&externals, a, 1024);
	while ((rc = csv_parse_line(data + pos, len - pos, &used, &rec)) != CSV_END) {
		unsigned this_line = line;
		pos += used;
		line += rec.lines;
		if (rc != CSV_RECORD) {
			reject(rejected, this_line, NULL, csv_strerror(rc));
			if (rc == CSV_EUNTERMINATED)
				break;
			continue;
		}
		int blank = 1;
		for (size_t i = 0; i < rec.nfields && blank; i++)
			for (size_t k = 0; k < rec.lens[i] && blank; k++)
				if (rec.fields[i][k] != ' ' && rec.fields[i][k] != '\t')
					blank = 0;
		if (blank)
			continue;
		if (rec.nfields != ncols) {
			reject(rejected, this_line, NULL,
			       arena_printf(a, "%zu champs au lieu des %zu de la ligne d'en-tête (séparateur : %s)",
					    rec.nfields, ncols, sep_name(sep)));
			continue;
		}
		if (n >= IMPORT_MAX_ROWS) {
			reject(rejected, this_line, NULL,
			       arena_printf(a, "plus de %d lignes : découpez le fichier", IMPORT_MAX_ROWS));
			break;
		}
		const char *cell[NCOLS] = {"", "", "", "", "", ""};
		int nul = -1;
		for (size_t i = 0; i < rec.nfields; i++) {
			if (strlen(rec.fields[i]) != rec.lens[i])
				nul = map[i];
			cell[map[i]] = trim(a, rec.fields[i], rec.lens[i]);
		}
		if (nul >= 0) {
			reject(rejected, this_line, col_names[nul], "contient un caractère NUL");
			continue;
		}
		struct row r = {.line = this_line};
		const char *bad = NULL;
		int bad_col = COL_EMAIL;
		r.email = users_lower(a, cell[COL_EMAIL]);
		if (!*r.email)
			bad = "vide";
		else if (!users_valid_email(r.email))
			bad = arena_printf(a, "« %.60s » n'est pas une adresse électronique valide", cell[COL_EMAIL]);
		if (!bad && (bad = bad_text(cell[COL_GIVEN], 1, a)))
			bad_col = COL_GIVEN;
		if (!bad && (bad = bad_text(cell[COL_FAMILY], 1, a)))
			bad_col = COL_FAMILY;
		if (!bad && !(r.role = role_of(a, cell[COL_ROLE]))) {
			bad = arena_printf(a, "« %.40s » n'est pas un rôle (etudiant, enseignant ou admin)",
					   cell[COL_ROLE]);
			bad_col = COL_ROLE;
		}
		if (!bad && (bad = bad_text(cell[COL_CLASS], 0, a)))
			bad_col = COL_CLASS;
		if (!bad && (bad = bad_text(cell[COL_EXTERNAL], 0, a)))
			bad_col = COL_EXTERNAL;
		if (bad) {
			reject(rejected, this_line, col_names[bad_col], bad);
			continue;
		}
		r.given = cell[COL_GIVEN];
		r.family = cell[COL_FAMILY];
		r.class_name = *cell[COL_CLASS] ? cell[COL_CLASS] : NULL;
		r.external_id = *cell[COL_EXTERNAL] ? cell[COL_EXTERNAL] : NULL;
		size_t first = strmap_put(&emails, a, r.email, this_line);
		if (first != this_line) {
			reject(rejected, this_line, "email", arena_printf(a, "même adresse qu'à la ligne %zu", first));
			continue;
		}
		if (r.external_id) {
			first = strmap_put(&externals, a, r.external_id, this_line);
			if (first != this_line) {
				reject(rejected, this_line, "external_id",
				       arena_printf(a, "même identifiant qu'à la ligne %zu", first));
				continue;
			}
		}
		if (n == rcap) {
			rcap *= 2;
			struct row *bigger = realloc(rows, rcap * sizeof(*rows));
			if (!bigger)
				abort();
			rows = bigger;
		}
		rows[n++] = r;
	}
	*out = rows;
	return (long)n;
}

/* ---- second pass: applying ---- */

struct existing {
	char id[37];
	const char *email, *given, *family, *role, *external_id, *username, *iss;
};

/* Finds a live user by sql (one parameter). 1 found, 0 not, or an error. */
static int find_user(db_conn *c, arena *a, const char *sql, const char *param, struct existing *e)
{
	db_stmt *s = SQL_PREP(c, sql, SQL_T(param));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW) {
		snprintf(e->id, sizeof(e->id), "%s", db_col_text(s, 0));
		const char *v;
		e->email = (v = db_col_text(s, 1)) ? arena_strdup(a, v) : NULL;
		e->given = arena_strdup(a, db_col_text(s, 2));
		e->family = arena_strdup(a, db_col_text(s, 3));
		e->role = arena_strdup(a, db_col_text(s, 4));
		e->external_id = (v = db_col_text(s, 5)) ? arena_strdup(a, v) : NULL;
		e->username = (v = db_col_text(s, 6)) ? arena_strdup(a, v) : NULL;
		e->iss = (v = db_col_text(s, 7)) ? arena_strdup(a, v) : NULL;
	}
	db_done(s);
	return rc < 0 ? rc : rc == DB_ROW;
}

#define FIND_COLS "SELECT id, email, given_name, family_name, role, external_id, username, iss FROM users"

static int same(const char *x, const char *y) { return (!x && !y) || (x && y && strcmp(x, y) == 0); }

/* 1 if the user is in the class, 0 if not, or an error. */
static int in_class(db_conn *c, const char *user_id, const char *class_id)
{
	int rc = SQL_RUN(c, "SELECT 1 FROM class_members WHERE user_id = ? AND class_id = ?", SQL_T(user_id),
			 SQL_T(class_id));
	return rc < 0 ? rc : rc == DB_ROW;
}

struct ctx {
	db_conn *c;
	arena *a;
	const char *year;
	struct strmap classes; /* class name -> index in class_ids */
	char (*class_ids)[37];
	size_t nclasses, class_cap;
	long created, updated, unchanged, classes_created;
	json_t *rejected, *codes;
	char **revoke; /* users whose role changed: their tokens end after the commit */
	size_t nrevoke;
	char expires[21];
};

static int class_id_of(struct ctx *x, const char *name, const char **id)
{
	size_t slot;
	if (strmap_find(&x->classes, name, &slot)) {
		*id = x->class_ids[x->classes.vals[slot]];
		return ENT_OK;
	}
	x->class_ids = arena_grow(x->a, x->class_ids, x->nclasses, &x->class_cap, sizeof(*x->class_ids));
	int created = 0;
	int rc = users_class_by_name(x->c, name, x->year, 1, x->class_ids[x->nclasses], &created);
	if (rc)
		return rc;
	x->classes_created += created;
	strmap_put(&x->classes, x->a, arena_strdup(x->a, name), x->nclasses);
	*id = x->class_ids[x->nclasses++];
	return ENT_OK;
}

static int apply_row(struct ctx *x, const struct row *r)
{
	db_conn *c = x->c;
	arena *a = x->a;
	const char *class_id = NULL;
	int rc;
	if (r->class_name && (rc = class_id_of(x, r->class_name, &class_id)))
		return rc;
	struct existing e;
	int found = 0;
	if (r->external_id && (found = find_user(c, a, FIND_COLS " WHERE external_id = ? AND deleted_at IS NULL",
						 r->external_id, &e)) < 0)
		return found;
	if (!found) {
		found = find_user(c, a, FIND_COLS " WHERE email = ? AND deleted_at IS NULL", r->email, &e);
		if (found < 0)
			return found;
		if (found && r->external_id && e.external_id && strcmp(e.external_id, r->external_id) != 0) {
			reject(x->rejected, r->line, "email",
			       "cette adresse appartient à un compte d'un autre external_id");
			return ENT_OK;
		}
	}
	if (!found) {
		/* The username of a local account is its email: it must not be someone else's username. */
		rc = users_exists(c, "SELECT 1 FROM users WHERE username = ?", r->email);
		if (rc < 0)
			return rc;
		if (rc) {
			reject(x->rejected, r->line, "email",
			       "cette adresse est l'identifiant de connexion d'un autre compte");
			return ENT_OK;
		}
		char id[37], code[16], hash[65];
		users_new_code(code, hash);
		rc = users_insert(c, a, id, r->email, r->email, r->given, r->family, r->role, r->external_id, NULL,
				  NULL, NULL, hash, x->expires);
		if (rc)
			return rc;
		if (class_id) {
			char now[21];
			users_time(now, 0);
			rc = SQL_RUN(
				c, "INSERT INTO class_members (class_id, user_id, kind, added_at) VALUES (?, ?, ?, ?)",
				SQL_T(class_id), SQL_T(id), SQL_T(r->role), SQL_T(now));
			if (rc < 0)
				return rc;
		}
		x->created++;
		json_array_append_new(x->codes,
				      json_pack("{s:i, s:s, s:s, s:s?, s:s}", "line", (int)r->line, "email", r->email,
						"name", arena_printf(a, "%s %s", r->given, r->family), "class",
						r->class_name, "code", code));
		return ENT_OK;
	}
	/* An existing account: update what differs. */
	const char *external_id = r->external_id ? r->external_id : e.external_id;
	int changed = !same(e.email, r->email) || strcmp(e.given, r->given) != 0 || strcmp(e.family, r->family) != 0 ||
		      strcmp(e.role, r->role) != 0 || !same(e.external_id, external_id);
	int class_change = 0;
	if (class_id) {
		rc = in_class(c, e.id, class_id);
		if (rc < 0)
			return rc;
		class_change = !rc;
	}
	if (!changed && !class_change) {
		x->unchanged++;
		return ENT_OK;
	}
	if (!same(e.email, r->email)) {
		rc = users_exists(c, "SELECT 1 FROM users WHERE ? IN (email, username)", r->email);
		if (rc < 0)
			return rc;
		if (rc) {
			reject(x->rejected, r->line, "email", "cette adresse est celle d'un autre compte");
			return ENT_OK;
		}
	}
	if (changed) {
		const char *username = e.username;
		if (!e.iss && (!e.username || (e.email && strcmp(e.username, e.email) == 0)))
			username = r->email;
		char now[21];
		users_time(now, 0);
		rc = SQL_RUN(c,
			     "UPDATE users SET email = ?, username = ?, given_name = ?, family_name = ?, role = ?,"
			     " external_id = ?, sort_key = ?, search = ?, updated_at = ? WHERE id = ?",
			     SQL_T(r->email), SQL_T(username), SQL_T(r->given), SQL_T(r->family), SQL_T(r->role),
			     SQL_T(external_id), SQL_T(users_sort_key(a, r->given, r->family)),
			     SQL_T(users_search_text(a, r->given, r->family, NULL, r->email, username)), SQL_T(now),
			     SQL_T(e.id));
		if (rc < 0)
			return rc;
		if (strcmp(e.role, r->role) != 0) {
			/* A student is in one class at most: one who becomes a student keeps the imported class only. */
			if (strcmp(r->role, "etudiant") == 0) {
				db_stmt *s = db_prepare(
					c,
					class_id
						? "DELETE FROM class_members WHERE user_id = ? AND class_id <> ?"
						: "DELETE FROM class_members WHERE user_id = ? AND class_id NOT IN"
						  " (SELECT class_id FROM class_members WHERE user_id = ? ORDER BY added_at DESC,"
						  " class_id LIMIT 1)");
				if (!s)
					return ENT_EDB;
				db_bind_text(s, 1, e.id);
				db_bind_text(s, 2, class_id ? class_id : e.id);
				rc = db_step(s);
				db_done(s);
				if (rc < 0)
					return rc;
			}
			rc = SQL_RUN(c, "UPDATE class_members SET kind = ? WHERE user_id = ?", SQL_T(r->role),
				     SQL_T(e.id));
			if (rc < 0)
				return rc;
			if (x->nrevoke % 64 == 0) {
				char **bigger = arena_alloc(a, (x->nrevoke + 64) * sizeof(*bigger));
				if (x->nrevoke)
					memcpy(bigger, x->revoke, x->nrevoke * sizeof(*bigger));
				x->revoke = bigger;
			}
			x->revoke[x->nrevoke++] = arena_strdup(a, e.id);
		}
	}
	if (class_change && (rc = users_set_class(c, e.id, r->role, class_id)))
		return rc;
	x->updated++;
	return ENT_OK;
}

int users_import(db_conn *c, const char *data, size_t len, const struct import_opts *opts, json_t **report,
		 const char **why)
{
	*report = NULL;
	*why = NULL;
	arena *a = arena_new(1 << 16);
	struct ctx x = {.c = c, .a = a, .rejected = json_array(), .codes = json_array()};
	char year[10];
	if (opts->school_year)
		snprintf(year, sizeof(year), "%s", opts->school_year);
	else
		users_school_year(users_clock(), year);
	x.year = year;
	strmap_init(&x.classes, a, 64);
	users_time(x.expires, (long)USERS_CODE_DAYS * 86400);
	struct row *rows = NULL;
	const char *doc = NULL, *enc = NULL;
	size_t dlen = 0;
	char sep = ',';
	long n = -1;
	if (decode(a, data, len, &doc, &dlen, &enc) == 0) {
		sep = csv_detect_sep(doc, dlen);
		n = parse_rows(a, doc, dlen, sep, &rows, x.rejected);
	}
	int rc = ENT_OK;
	if (n < 0) {
		*why = why_buf;
		rc = ENT_EINVAL;
		goto out;
	}
	rc = db_begin(c);
	if (rc)
		goto out;
	for (long i = 0; i < n; i++) {
		rc = apply_row(&x, &rows[i]);
		if (rc) {
			log_error("users: import stopped at line %u: %s", rows[i].line, ent_err_str(rc));
			break;
		}
	}
	if (rc || opts->dry_run) {
		db_rollback(c);
	} else {
		rc = db_commit(c);
	}
	if (rc)
		goto out;
	if (!opts->dry_run)
		for (size_t i = 0; i < x.nrevoke; i++)
			service_revoke_user(c, x.revoke[i]);
	/* Rejections were appended in two passes: order them by line for the reader. */
	size_t nr = json_array_size(x.rejected);
	for (size_t i = 1; i < nr; i++)
		for (size_t k = i; k > 0; k--) {
			json_t *p = json_array_get(x.rejected, k - 1), *q = json_array_get(x.rejected, k);
			if (json_integer_value(json_object_get(p, "line")) <=
			    json_integer_value(json_object_get(q, "line")))
				break;
			json_incref(p);
			json_array_set(x.rejected, k - 1, q);
			json_array_set_new(x.rejected, k, p);
		}
	if (opts->dry_run)
		json_array_clear(x.codes);
	char sep_text[2] = {sep, '\0'};
	*report = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:O, s:O}", "dry_run", opts->dry_run,
			    "school_year", year, "encoding", enc, "separator", sep_text, "created",
			    (json_int_t)x.created, "updated", (json_int_t)x.updated, "unchanged",
			    (json_int_t)x.unchanged, "classes_created", (json_int_t)x.classes_created, "rejected",
			    x.rejected, "activation_codes", x.codes);
out:
	free(rows);
	json_decref(x.rejected);
	json_decref(x.codes);
	arena_free(a);
	return rc;
}
