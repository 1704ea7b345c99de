/*
 * internal.h - what the files of the users service share, and nobody else uses.
 *
 * The service is split by concern: store.c (rows, text keys, activation codes, the functions of
 * users.h except logins), login.c (authentication, activation, brute-force protection), api.c
 * (/api/users routes), classes.c (/api/users/classes routes), import.c (CSV import, used by the
 * route and by `ent import users`), cli.c (commands), demo.c (`ent demo`), users.c (the service
 * table and the schema). Other services never include this header: they use users.h.
 */
#ifndef ENT_USERS_INTERNAL_H
#define ENT_USERS_INTERNAL_H

#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "core/arena.h"
#include "core/http.h"
#include "core/json.h"
#include "store/db.h"
#include "users.h"

#define USERS_NAME_MAX 100      /* characters of a given or family name, a display name, a class name */
#define USERS_EMAIL_MAX 254     /* characters of an email address */
#define USERS_SORT_KEY_MAX 1024 /* hex characters of a sort key (it travels in cursors: PAGE_KEYS_MAX) */
#define USERS_CODE_DAYS 30      /* lifetime of an activation code */
#define USERS_CODE_LEN 12       /* characters of an activation code, dashes excluded */

/*
 * The clock of the service. Tests replace it to move time forward (lock expiries) without
 * sleeping; everything in the service that compares times reads it.
 */
extern time_t (*users_clock)(void);

/* ---- roles ---- */

/* "etudiant" / "enseignant" / "admin" for one ROLE_* bit (the highest of several), NULL for none. */
const char *users_role_name(unsigned roles);
/* The ROLE_* bit of a role name, 0 if the name is not a role. */
unsigned users_role_bit(const char *name);
extern const char *const users_role_names[]; /* NULL-terminated, for json_check's one_of */

/* ---- text ---- */

/*
 * Lower-cases ASCII and folds the accents of French and other Latin letters ("Éloïse" -> "eloise",
 * "Œ" -> "oe"), so that searches and sorting ignore case and accents on both SQLite and PostgreSQL.
 * Characters it does not know are kept. The result is allocated from a.
 */
char *users_fold(arena *a, const char *s);
/*
 * The sort key of a user, for a French register: ICU's French collation key of the family name
 * merged level by level with the given name's (ucol_mergeSortkeys), hex-encoded so that plain
 * text comparison (SQLite's BINARY, PostgreSQL under any collation: only the digits 0-9 and a-f)
 * gives ICU's order; cut to USERS_SORT_KEY_MAX characters. Allocated from a.
 */
char *users_sort_key(arena *a, const char *given, const char *family);
/* Recomputes the sort key of every row of users (migration users/3). 0 or an ent_err. */
int users_fill_sort_keys(db_conn *c);
/* The search text of a user: folded names (both orders), display name, email and username. */
char *users_search_text(arena *a, const char *given, const char *family, const char *display, const char *email,
			const char *username);
/* ASCII lower-case copy (emails and usernames). */
char *users_lower(arena *a, const char *s);
/* 1 if s looks like an email address (one @, a dot in the domain, no spaces or quotes). */
int users_valid_email(const char *s);

/* ---- times ---- */

/* RFC 3339 text of users_clock() + offset seconds into out. */
void users_time(char out[21], long offset);
/* The school year of a time, "2026-2027" (a year starts in August). out holds 10 bytes. */
void users_school_year(time_t t, char out[10]);
/* 1 if s is "YYYY-YYYY" with the second year the first plus one. */
int users_valid_school_year(const char *s);

/* ---- activation codes ---- */

/*
 * A new one-time activation code: USERS_CODE_LEN characters of an alphabet without look-alikes
 * (no I, O, 0, 1), written in groups of four ("ABCD-EFGH-JKLM"). code holds 16 bytes; hash
 * receives the SHA-256 (hex) of the normalised code, which is all the database keeps.
 */
void users_new_code(char code[16], char hash[65]);
/* The SHA-256 (hex) of a code typed by a user: dashes and spaces dropped, letters upper-cased. */
void users_code_hash(const char *typed, char hash[65]);

/* ---- rows ---- */

/* A user row as the API shows it (strings from an arena; NULL for SQL NULL). */
struct urow {
	const char *id, *iss, *sub, *email, *username, *given_name, *family_name, *display_name, *locale, *role;
	const char *external_id, *created_at, *updated_at, *last_login_at, *deleted_at, *locked_until;
	const char *class_id, *class_name, *class_year; /* the student's class (students only) */
	int disabled, active, activation_pending;
};

/*
 * The columns and joins that make a struct urow (read with users_read_row); a query may add
 * columns after them (index 22 on).
 */
#define USERS_COLS                                                                                                     \
	"u.id, u.iss, u.sub, u.email, u.username, u.given_name, u.family_name, u.display_name, u.locale, u.role, "     \
	"u.external_id, u.disabled, u.created_at, u.updated_at, u.last_login_at, u.deleted_at, "                       \
	"CASE WHEN k.password_hash IS NULL THEN 0 ELSE 1 END, "                                                        \
	"CASE WHEN k.activation_hash IS NULL THEN 0 ELSE 1 END, k.locked_until, c.id, c.name, c.school_year"
#define USERS_JOINS                                                                                                    \
	" LEFT JOIN user_credentials k ON k.user_id = u.id"                                                            \
	" LEFT JOIN class_members m ON m.user_id = u.id AND m.kind = 'etudiant'"                                       \
	" LEFT JOIN classes c ON c.id = m.class_id"
#define USERS_FROM " FROM users u" USERS_JOINS
/* Sets a user's password (hash, instant, user id), clearing the activation code and the lock. */
#define USERS_SET_PASSWORD                                                                                             \
	"UPDATE user_credentials SET password_hash = ?, activation_hash = NULL, activation_expires_at = NULL,"         \
	" failed_count = 0, locked_until = NULL, updated_at = ? WHERE user_id = ?"

void users_read_row(arena *a, db_stmt *s, struct urow *r);

/* Reads the user id into r (deleted users too when with_deleted). ENT_OK, ENT_ENOTFOUND or an error. */
int users_load(db_conn *c, arena *a, const char *id, int with_deleted, struct urow *r);

/* Visibility of a user's fields in an answer. */
enum users_view {
	USERS_VIEW_ADMIN = 1, /* everything but secrets: activation state, lock, external ids */
	USERS_VIEW_SELF,      /* the caller's own profile */
};

/*
 * Writes the JSON of a user: users_row_write the whole object, users_row_fields only its members
 * (into an object the caller opened, to add more). With classes, adds "classes": every class the
 * user is attached to (one more query). Which fields appear depends on view.
 */
void users_row_write(jw *w, db_conn *c, const struct urow *r, enum users_view view, int classes);
void users_row_fields(jw *w, db_conn *c, const struct urow *r, enum users_view view, int classes);

/*
 * Inserts a user and its credentials row (no transaction: the caller holds one). role is a role
 * name; password_hash and code_hash may be NULL. Fills id. ENT_ECONFLICT when the email,
 * username or external id is taken.
 */
int users_insert(db_conn *c, arena *a, char id[37], const char *email, const char *username, const char *given,
		 const char *family, const char *role, const char *external_id, const char *iss, const char *sub,
		 const char *password_hash, const char *code_hash, const char *code_expires);

/*
 * Puts the user in a class (no transaction). A student belongs to one class at most: their
 * previous class is left. class_id NULL removes the user from every class. ENT_ENOTFOUND when the
 * class does not exist.
 */
int users_set_class(db_conn *c, const char *user_id, const char *role, const char *class_id);

/* The id of the class name/school_year, created when missing and create is set. */
int users_class_by_name(db_conn *c, const char *name, const char *school_year, int create, char id[37], int *created);

/*
 * Gives the user a new activation code valid USERS_CODE_DAYS days, clearing the password and the
 * failure counter (admin reset). code receives the code in clear text to show once.
 */
int users_reset_code(db_conn *c, const char *user_id, char code[16], char expires[21]);

/* Runs `sql` (one user id parameter) and returns 1 if it produced a row, 0 if not, or an error. */
int users_exists(db_conn *c, const char *sql, const char *param);

/* The users service's part of a GDPR export (the service's export_user hook). */
int users_export(db_conn *c, const char *user_id, json_t *out);

/*
 * Checks the current password of user_id for a password change, with the same brute-force
 * protection and accounting as a login: ENT_OK, ENT_EAUTH (wrong: counted), ENT_EBUSY
 * (*retry_after seconds).
 */
int users_check_password(db_conn *c, const char *user_id, const char *password, const char *ip, int *retry_after);

/* ---- import ---- */

struct import_opts {
	int dry_run;
	const char *school_year; /* NULL: the current one */
};

/*
 * Imports a CSV document (see import.c for the columns). On success returns ENT_OK and the report
 * in *report (new reference): {"dry_run","created","updated","unchanged","classes_created",
 * "rejected":[{"line","reason"}],"activation_codes":[{"line","email","name","class","code"}]}.
 * A problem with the document as a whole (no header, unknown column) is ENT_EINVAL with *why set;
 * a database error rolls everything back and returns the error.
 */
int users_import(db_conn *c, const char *data, size_t len, const struct import_opts *opts, json_t **report,
		 const char **why);

/* ---- routes, commands, demo ---- */

void users_api_list(http_req *req);
void users_api_create(http_req *req);
void users_api_get(http_req *req);
void users_api_patch(http_req *req);
void users_api_delete(http_req *req);
void users_api_reset(http_req *req);
void users_api_me(http_req *req);
void users_api_me_patch(http_req *req);
void users_api_me_password(http_req *req);
void users_api_me_export(http_req *req);
void users_api_import(http_req *req);

/* The bodies' field tables, checked by the handlers and documented by the routes (BODY()). */
extern const struct jfield users_create_fields[7], users_patch_fields[9], users_me_fields[2], users_password_fields[2],
	users_class_fields[3];

void classes_api_list(http_req *req);
void classes_api_create(http_req *req);
void classes_api_get(http_req *req);
void classes_api_patch(http_req *req);
void classes_api_delete(http_req *req);
void classes_api_member_put(http_req *req);
void classes_api_member_delete(http_req *req);

int users_cmd_user(int argc, char **argv);
int users_cmd_import(int argc, char **argv);

int users_demo(db_conn *c, FILE *out);
/* The users part of `ent demo --scale` (generate.c). */
struct scale;
int users_generate(db_conn *c, const struct scale *sc);

#endif
