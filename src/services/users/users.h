/*
 * users.h - the C interface of the users service (the seed's user-service).
 *
 * The users service owns the tables users, classes, class_members, user_credentials and
 * login_failures: every other service reads users through these functions, never the tables.
 * Across processes the functions work the same, since the database is shared.
 *
 * Strings returned in a struct user are allocated from the arena passed in and live as long as
 * it does. Every function takes the caller's database connection (app_db()).
 */
#ifndef ENT_USERS_H
#define ENT_USERS_H

#include <stddef.h>

#include "core/arena.h"
#include "store/db.h"

struct user {
	char id[37];          /* local UUID; also the token's "sub" for the built-in provider */
	const char *iss;      /* NULL for local accounts; the issuer for accounts seen in external tokens */
	const char *sub;      /* the subject at iss (external accounts); NULL for local ones */
	const char *email;    /* lower case; may be NULL for external accounts without one */
	const char *username; /* preferred_username: unique, defaults to the email */
	const char *given_name;
	const char *family_name;
	const char *name; /* display name: the one the user chose, else "Given Family" */
	/*
	 * "Given Family", the official name: what other people see of the user in lists and exports
	 * (a teacher's grade grid, consultations), where a chosen display name could take a
	 * classmate's name. The display name is for where the user speaks for themselves.
	 */
	const char *official_name;
	unsigned roles; /* ROLE_* bits of core/http.h (one of etudiant, enseignant, admin) */
	int disabled;   /* an administrator disabled the account */
	int active;     /* has a password (0: waiting for activation) */
};

/* The user with local id, or ENT_ENOTFOUND (also for deleted users). */
int users_get(db_conn *c, arena *a, const char *id, struct user *out);

/* The user whose email or username is login (case-insensitive), or ENT_ENOTFOUND. */
int users_find_login(db_conn *c, arena *a, const char *login, struct user *out);

/*
 * Checks a login and password, with brute-force protection (SECURITY.md, Login and passwords):
 *  - ENT_OK: *out is the user; the failure counter of the account is reset; the login is recorded.
 *  - ENT_EAUTH: unknown login or wrong password (the same answer, the same time); counted against
 *    the account and against ip.
 *  - ENT_EBUSY: too many failures for this account or from this ip: refused even with the right
 *    password; *retry_after (seconds) says for how long.
 *  - ENT_EFORBIDDEN: the account is disabled (only said once the password was right). An account
 *    not activated yet has no password: ENT_EAUTH.
 */
int users_authenticate(db_conn *c, arena *a, const char *login, const char *password, const char *ip, struct user *out,
		       int *retry_after);

/*
 * First login of an imported account: checks the one-time activation code of login and sets the
 * password (policy applied: ENT_EINVAL with *why set to a French message). The code is consumed.
 * ENT_EAUTH for a wrong or expired code (counted like a failed login), ENT_EBUSY when throttled.
 */
int users_activate(db_conn *c, arena *a, const char *login, const char *code, const char *password, const char *ip,
		   struct user *out, const char **why, int *retry_after);

/* 1 if the user may still get tokens (exists, not deleted, not disabled, not locked out). */
int users_may_login(db_conn *c, const char *id);

/*
 * For tokens of an external issuer: the local user for (iss, sub), created on first sight from
 * the token's claims (email, preferred_username, given_name, family_name, roles). Roles and names
 * are refreshed from the claims each time they change.
 */
int users_upsert_external(db_conn *c, arena *a, const char *iss, const char *sub, const char *email,
			  const char *username, const char *given_name, const char *family_name, unsigned roles,
			  struct user *out);

/* Creates a local user (ent user add, ent demo). password may be NULL (activation code later). */
int users_create(db_conn *c, arena *a, const char *email, const char *given_name, const char *family_name,
		 unsigned roles, const char *password, struct user *out);

/* Sets a new password (policy applied, ENT_EINVAL with *why). Ends the user's refresh tokens. */
int users_set_password(db_conn *c, const char *id, const char *password, const char **why);

/* Ids of the students of a class (for later services). Returns the count, or a negative ent_err. */
int users_class_members(db_conn *c, arena *a, const char *class_id, char ***ids);

/* ---- lookups for other services (lookup.c) ---- */

/* The class of a student (kind 'etudiant'): 0 and its id in out, or ENT_ENOTFOUND. */
int users_student_class(db_conn *c, const char *user_id, char out[37]);

/* 1 if the class exists, 0 if not, or a negative ent_err. */
int users_class_exists(db_conn *c, const char *class_id);

/*
 * 1 if an administrator assigned the teacher user_id to class_id (a class member of kind
 * 'enseignant'), 0 if not, or a negative ent_err. Only such a teacher may link a course to the
 * class (the cours service checks it): that link opens the class's report cards to the course's
 * teachers.
 */
int users_class_teacher(db_conn *c, const char *user_id, const char *class_id);

/* The name of a class ("6e A"; arena copy), or NULL when there is no such class or on error. */
const char *users_class_name(db_conn *c, arena *a, const char *class_id);

/* The id of the class name in school_year: 0, ENT_ENOTFOUND, or a negative ent_err. */
int users_class_find(db_conn *c, const char *name, const char *school_year, char out[37]);

/*
 * The display names of n users (ids), as users_get() gives them (struct user .name), read
 * USERS_BATCH ids a statement from the users table alone (no credentials, no class): names[i] is
 * NULL for an id that is not a user or a deleted one. Returns 0 or a negative ent_err.
 */
int users_names(db_conn *c, arena *a, const char *const *ids, size_t n, const char **names);
/* The same with the official names ("Given Family", struct user .official_name), for staff's lists and exports. */
int users_official_names(db_conn *c, arena *a, const char *const *ids, size_t n, const char **names);

/* Ids looked up by one statement of the batched lookups (users_names, users_reach). */
#define USERS_BATCH 32

/* What another service needs to decide whether it may reach a user (users_reach). */
struct user_reach {
	const char *name;     /* display name (struct user .name); NULL: no such user, or deleted */
	unsigned roles;       /* ROLE_* bits */
	int disabled;         /* an administrator disabled the account */
	const char *class_id; /* a student's class (users_student_class), or NULL */
};

/*
 * users_get() and users_student_class() for n users at once, USERS_BATCH ids a statement: out[i]
 * for ids[i] (name NULL for an id that is no user's). Arena strings. 0 or a negative ent_err.
 */
int users_reach(db_conn *c, arena *a, const char *const *ids, size_t n, struct user_reach *out);

/*
 * The register order of n users (ids): keys[i] is the sort key the users service keeps for the
 * user (ICU's French collation of family then given name, hex; see docs/identity.md), NULL for
 * an id that is not a user. Comparing keys with strcmp, then ids, gives the order of
 * GET /api/users: sort with it rather than by display name. Arena strings. 0 or a negative ent_err.
 */
int users_sort_keys(db_conn *c, arena *a, const char *const *ids, size_t n, const char **keys);

/* The current school year ("2026-2027"), as the users service computes it. */
void users_current_school_year(char out[10]);

/*
 * The ids of the students of a generated district (`ent demo --scale`: s<N>@ SCALE_DOMAIN), sorted,
 * for the other services' generate(). *ids is malloc'ed (the caller frees it; NULL when *n is 0).
 * Returns 0 or a negative ent_err.
 */
int users_scale_students(db_conn *c, char (**ids)[37], size_t *n);

/* The classes an administrator assigned the teacher user_id to, sorted, as arena strings. Count or error. */
int users_teacher_classes(db_conn *c, arena *a, const char *user_id, const char ***ids);

/*
 * The ids of the accounts of role ("etudiant", "enseignant", "admin") that may still act (not
 * deleted, not disabled), sorted, as arena strings: the support service tells the administrators
 * of a new ticket. Returns the count, or a negative ent_err.
 */
int users_with_role(db_conn *c, arena *a, const char *role, const char ***ids);

/* ---- lookups for the messagerie (lookup.c) ---- */

/*
 * The teachers an administrator assigned to class_id (class members of kind 'enseignant'),
 * sorted, as arena strings. Count or a negative ent_err.
 */
int users_class_teachers(db_conn *c, arena *a, const char *class_id, const char ***ids);

/* The ids of the administrators whose account is usable (not deleted, not disabled), sorted. Count or error. */
int users_admins(db_conn *c, arena *a, const char ***ids);

/* One user proposed as a recipient: id, official display name, ROLE_* bit. Arena strings. */
struct users_hit {
	const char *id;
	const char *name;
	unsigned roles;
};

/*
 * Up to limit usable users (not deleted, not disabled) whose names, email or username contain q
 * (case and accents ignored), in name order, into *out (arena). Count or a negative ent_err.
 */
int users_suggest(db_conn *c, arena *a, const char *q, int limit, struct users_hit **out);

/*
 * Up to limit classes of the current school year whose name contains q (case and accents ignored;
 * NULL or "": every class), in name order: ids and names as arena strings. Count or error.
 */
int users_classes_matching(db_conn *c, arena *a, const char *q, int limit, const char ***ids, const char ***names);

#endif
