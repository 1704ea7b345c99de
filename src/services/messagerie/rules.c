/*
 * rules.c - who may write to whom, checked on the server for every recipient at send time.
 *
 * An administrator edits a table (message_rules) of which role may write to which target: a user
 * by their role and their tie to the sender (a teacher of the sender's class, a student of one of
 * the sender's classes, any teacher, any student, an administrator), or a group (a class, a
 * course's students, the teachers of a class, all staff), again "own" (one of the sender's) or
 * "any". The defaults are in messagerie.c's migration and docs/messagerie.md.
 *
 * A group is expanded when the message is sent, through the users and cours services' C
 * interfaces (users.h, cours.h), never their tables. The group's own rule must allow it, and every
 * member it reaches must pass the rule for individuals too: a rule never lets a group carry a
 * message to someone the sender could not write to directly. A refused recipient refuses the whole
 * message (403 naming them); nothing is sent. The sender never receives their own message.
 *
 * The sending limit (message_limits): messages per hour and addresses per message (a group
 * counting as one), per role, unless the administrators set limits for one sender
 * (message_senders, moderation.c), where they may also suspend a sender.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/json.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

const char *const msg_target_names[T_COUNT + 1] = {
	"admin",     "teacher_own", "teacher_any", "student_own",        "student_any",        "class_own",
	"class_any", "course_own",  "course_any",  "class_teachers_own", "class_teachers_any", "staff",
	NULL};
const char *const msg_role_names[4] = {"etudiant", "enseignant", "admin", NULL};

static int has(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (!strcmp(v[i], s))
			return 1;
	return 0;
}

static void merge(arena *a, const char ***v, size_t *n, size_t *cap, const char *const *add, size_t nadd)
{
	for (size_t i = 0; i < nadd; i++) {
		if (has(*v, *n, add[i]))
			continue;
		*v = arena_grow(a, *v, *n, cap, sizeof(**v));
		(*v)[(*n)++] = add[i];
	}
}

static unsigned top_role(unsigned roles)
{
	return roles & ROLE_ADMIN        ? ROLE_ADMIN
	       : roles & ROLE_ENSEIGNANT ? ROLE_ENSEIGNANT
	       : roles & ROLE_ETUDIANT   ? ROLE_ETUDIANT
					 : 0;
}

static const char *role_name(unsigned role)
{
	return role == ROLE_ADMIN        ? "admin"
	       : role == ROLE_ENSEIGNANT ? "enseignant"
	       : role == ROLE_ETUDIANT   ? "etudiant"
					 : NULL;
}

/* The classes a teacher reaches: assigned by an administrator, and those of their courses. */
static int teacher_classes(db_conn *c, arena *a, const char *user, const char ***out, size_t *n)
{
	size_t cap = 0;
	const char **ids;
	int k = users_teacher_classes(c, a, user, &ids);
	if (k < 0)
		return k;
	merge(a, out, n, &cap, ids, (size_t)k);
	cap = *n;
	k = cours_teacher_classes(c, a, user, &ids);
	if (k < 0)
		return k;
	merge(a, out, n, &cap, ids, (size_t)k);
	return ENT_OK;
}

int msg_who_load(db_conn *c, arena *a, const struct http_principal *p, struct msg_who *w)
{
	memset(w, 0, sizeof(*w));
	w->id = p->sub;
	w->role = top_role(p->roles);
	w->role_name = role_name(w->role);
	if (!w->role_name)
		return ENT_EFORBIDDEN;
	const char *one = p->sub;
	const char *name = NULL;
	int rc = users_names(c, a, &one, 1, &name);
	if (rc)
		return rc;
	w->name = name ? name : (p->name ? p->name : "");
	if (w->role == ROLE_ENSEIGNANT) {
		if ((rc = teacher_classes(c, a, p->sub, &w->classes, &w->nclasses)))
			return rc;
		const char **ids;
		int k = cours_taught_by(c, a, p->sub, &ids);
		if (k < 0)
			return k;
		w->courses = ids;
		w->ncourses = (size_t)k;
	} else if (w->role == ROLE_ETUDIANT) {
		char cls[37];
		rc = users_student_class(c, p->sub, cls);
		if (rc && rc != ENT_ENOTFOUND)
			return rc;
		if (!rc) {
			w->classes = arena_alloc(a, sizeof(*w->classes));
			w->classes[0] = arena_strdup(a, cls);
			w->nclasses = 1;
			const char **ids;
			int k = cours_of_class(c, a, cls, &ids);
			if (k < 0)
				return k;
			w->courses = ids;
			w->ncourses = (size_t)k;
		}
	}
	db_stmt *s = SQL_PREP(c, "SELECT target, allowed FROM message_rules WHERE role = ?", SQL_T(w->role_name));
	if (!s)
		return ENT_EDB;
	while ((rc = db_step(s)) == DB_ROW)
		for (int t = 0; t < T_COUNT; t++)
			if (!strcmp(msg_target_names[t], db_col_text(s, 0)))
				w->allowed[t] = db_col_int64(s, 1) != 0;
	db_done(s);
	if (rc < 0)
		return rc;
	s = SQL_PREP(c, "SELECT per_hour, per_message FROM message_limits WHERE role = ?", SQL_T(w->role_name));
	if (!s)
		return ENT_EDB;
	if ((rc = db_step(s)) == DB_ROW) {
		w->per_hour = (int)db_col_int64(s, 0);
		w->per_message = (int)db_col_int64(s, 1);
	}
	db_done(s);
	if (rc < 0)
		return rc;
	/* What the administrators set for this sender: a suspension, limits of their own. */
	s = SQL_PREP(c, "SELECT suspended, reason, per_hour, per_message FROM message_senders WHERE user_id = ?",
		     SQL_T(w->id));
	if (!s)
		return ENT_EDB;
	if ((rc = db_step(s)) == DB_ROW) {
		w->suspended = db_col_int64(s, 0) != 0;
		w->suspend_reason = db_col_text(s, 1) ? arena_strdup(a, db_col_text(s, 1)) : NULL;
		if (!db_col_is_null(s, 2))
			w->per_hour = (int)db_col_int64(s, 2);
		if (!db_col_is_null(s, 3))
			w->per_message = (int)db_col_int64(s, 3);
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

int msg_who_req(http_req *req, db_conn *c, struct msg_who *w)
{
	int rc = msg_who_load(c, http_arena(req), http_principal(req), w);
	if (rc) {
		http_problem_err(req, rc, "Vos droits de messagerie n'ont pas pu être lus.");
		return -1;
	}
	return 0;
}

/*
 * Whether w may write to the user uid whose account r describes (users_reach): 1 yes, 0 no,
 * ENT_ENOTFOUND for no usable account, or an error. Only a teacher reached through "the teachers
 * of my classes" costs lookups of its own (their classes).
 */
static int user_allowed(db_conn *c, arena *a, const struct msg_who *w, const char *uid, const struct user_reach *r)
{
	if (!r->name || r->disabled)
		return ENT_ENOTFOUND;
	unsigned role = top_role(r->roles);
	if (role == ROLE_ADMIN)
		return w->allowed[T_ADMIN];
	if (role == ROLE_ENSEIGNANT) {
		if (w->allowed[T_TEACHER_ANY])
			return 1;
		if (!w->allowed[T_TEACHER_OWN] || !w->nclasses)
			return 0;
		const char **cls = NULL;
		size_t n = 0;
		int rc = teacher_classes(c, a, uid, &cls, &n);
		if (rc)
			return rc;
		for (size_t i = 0; i < n; i++)
			if (has(w->classes, w->nclasses, cls[i]))
				return 1;
		return 0;
	}
	if (role == ROLE_ETUDIANT) {
		if (w->allowed[T_STUDENT_ANY])
			return 1;
		if (!w->allowed[T_STUDENT_OWN] || !w->nclasses)
			return 0;
		return has(w->classes, w->nclasses, r->class_id);
	}
	return 0;
}

const char *msg_addr_label(db_conn *c, arena *a, const char *type, const char *id)
{
	if (!strcmp(type, "staff"))
		return "Administration";
	if (!strcmp(type, "user")) {
		const char *name = NULL;
		users_names(c, a, &id, 1, &name);
		return name ? name : "Utilisateur supprimé";
	}
	if (!strcmp(type, "course")) {
		const char *t = cours_title(c, a, id);
		return arena_printf(a, "Élèves du cours %s", t ? t : "supprimé");
	}
	const char *cls = users_class_name(c, a, id);
	if (!strcmp(type, "class_teachers"))
		return arena_printf(a, "Enseignants de la classe %s", cls ? cls : "supprimée");
	return arena_printf(a, "Classe %s", cls ? cls : "supprimée");
}

struct expansion {
	struct msg_rcpt *v;
	int *from; /* the address each came from */
	size_t n, cap, fcap;
};

static int rank(const char *kind) { return !strcmp(kind, "to") ? 0 : !strcmp(kind, "cc") ? 1 : 2; }

static void add_rcpt(arena *a, struct expansion *e, const char *user, const char *kind, int from)
{
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->v[i].user_id, user)) {
			if (rank(kind) < rank(e->v[i].kind))
				e->v[i].kind = kind;
			return;
		}
	e->v = arena_grow(a, e->v, e->n, &e->cap, sizeof(*e->v));
	e->from = arena_grow(a, e->from, e->n, &e->fcap, sizeof(*e->from));
	e->v[e->n].user_id = user;
	e->v[e->n].kind = kind;
	e->from[e->n++] = from;
}

/* The students of class_id into e. */
static int add_class(db_conn *c, arena *a, struct expansion *e, const char *class_id, const char *kind, int from)
{
	char **ids;
	int n = users_class_members(c, a, class_id, &ids);
	for (int i = 0; i < n; i++)
		add_rcpt(a, e, ids[i], kind, from);
	return n < 0 ? n : ENT_OK;
}

int msg_expand(db_conn *c, arena *a, const struct msg_who *w, const struct msg_addr *addrs, size_t n,
	       struct msg_rcpt **out, size_t *nout, int *bad, const char **who_name)
{
	struct expansion e = {0};
	*bad = -1;
	*who_name = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct msg_addr *d = &addrs[i];
		int rc = ENT_OK, own, target;
		*bad = (int)i;
		if (!strcmp(d->type, "user")) {
			add_rcpt(a, &e, d->id, d->kind, (int)i);
			continue;
		}
		if (!strcmp(d->type, "staff")) {
			if (!w->allowed[T_STAFF]) {
				*who_name = "Administration";
				return ENT_EFORBIDDEN;
			}
			const char **ids;
			int k = users_admins(c, a, &ids);
			if (k < 0)
				return k;
			for (int j = 0; j < k; j++)
				add_rcpt(a, &e, ids[j], d->kind, (int)i);
			continue;
		}
		if (!strcmp(d->type, "course")) {
			rc = cours_exists(c, d->id);
			if (rc <= 0)
				return rc < 0 ? rc : ENT_EINVAL;
			own = has(w->courses, w->ncourses, d->id);
			target = own ? T_COURSE_OWN : T_COURSE_ANY;
			if (!w->allowed[target] && !(own && w->allowed[T_COURSE_ANY])) {
				*who_name = msg_addr_label(c, a, d->type, d->id);
				return ENT_EFORBIDDEN;
			}
			const char **cls;
			int k = cours_classes_of(c, a, d->id, &cls);
			if (k < 0)
				return k;
			rc = ENT_OK;
			for (int j = 0; j < k && !rc; j++)
				rc = add_class(c, a, &e, cls[j], d->kind, (int)i);
			if (rc < 0)
				return rc;
			continue;
		}
		/* class or class_teachers */
		rc = util_is_uuid(d->id) ? users_class_exists(c, d->id) : 0;
		if (rc <= 0)
			return rc < 0 ? rc : ENT_EINVAL;
		own = has(w->classes, w->nclasses, d->id);
		int teachers = !strcmp(d->type, "class_teachers");
		int any = teachers ? T_CLASS_TEACHERS_ANY : T_CLASS_ANY;
		target = own ? (teachers ? T_CLASS_TEACHERS_OWN : T_CLASS_OWN) : any;
		if (!w->allowed[target] && !(own && w->allowed[any])) {
			*who_name = msg_addr_label(c, a, d->type, d->id);
			return ENT_EFORBIDDEN;
		}
		if (!teachers) {
			if ((rc = add_class(c, a, &e, d->id, d->kind, (int)i)))
				return rc;
			continue;
		}
		const char **ids;
		int k = users_class_teachers(c, a, d->id, &ids);
		for (int j = 0; j < k; j++)
			add_rcpt(a, &e, ids[j], d->kind, (int)i);
		if (k >= 0)
			k = cours_class_teachers(c, a, d->id, &ids);
		for (int j = 0; j < k; j++)
			add_rcpt(a, &e, ids[j], d->kind, (int)i);
		if (k < 0)
			return k;
	}
	/*
	 * Every user reached is checked as an individual, their accounts read in a few statements for
	 * the whole set (a class in one); the sender is left out.
	 */
	const char **ids = arena_alloc(a, (e.n ? e.n : 1) * sizeof(*ids));
	struct user_reach *reach = arena_alloc(a, (e.n ? e.n : 1) * sizeof(*reach));
	for (size_t i = 0; i < e.n; i++)
		ids[i] = e.v[i].user_id;
	int rc = users_reach(c, a, ids, e.n, reach);
	if (rc)
		return rc;
	size_t kept = 0;
	for (size_t i = 0; i < e.n; i++) {
		const char *name = reach[i].name;
		int from = e.from[i];
		int is_user = !strcmp(addrs[from].type, "user");
		if (!strcmp(e.v[i].user_id, w->id))
			continue;
		int ok = user_allowed(c, a, w, e.v[i].user_id, &reach[i]);
		if (ok == ENT_ENOTFOUND) {
			if (is_user) {
				*bad = from;
				return ENT_EINVAL;
			}
			continue; /* a group member whose account is disabled or gone */
		}
		if (ok < 0)
			return ok;
		if (!ok) {
			*bad = from;
			*who_name = name;
			return ENT_EFORBIDDEN;
		}
		e.v[kept] = e.v[i];
		e.from[kept++] = from;
	}
	if (!kept) {
		*bad = -1;
		return ENT_EINVAL;
	}
	*out = e.v;
	*nout = kept;
	return ENT_OK;
}

int msg_rate_check(db_conn *c, const struct msg_who *w, int64_t now_us, int *retry_after)
{
	*retry_after = 0;
	if (w->per_hour <= 0)
		return ENT_OK;
	db_stmt *s = SQL_PREP(c,
			      "SELECT submitted_us FROM messages WHERE sender_id = ? AND submitted_us >= ?"
			      " ORDER BY submitted_us DESC LIMIT ?",
			      SQL_T(w->id), SQL_I(now_us - (int64_t)3600 * 1000000), SQL_I(w->per_hour));
	if (!s)
		return ENT_EDB;
	int rc, n = 0;
	int64_t oldest = now_us;
	while ((rc = db_step(s)) == DB_ROW) {
		oldest = db_col_int64(s, 0);
		n++;
	}
	db_done(s);
	if (rc < 0)
		return rc;
	if (n < w->per_hour)
		return ENT_OK;
	int64_t wait = oldest + (int64_t)3600 * 1000000 - now_us;
	*retry_after = (int)(wait / 1000000) + 1;
	return ENT_EBUSY;
}

/* ---- GET/PUT /api/messages/rules (administrators) ---- */

static void rules_reply(http_req *req, db_conn *c)
{
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_key(w, "rules");
	jw_arr_open(w);
	db_stmt *s = db_prepare(c, "SELECT role, target, allowed FROM message_rules ORDER BY role, target");
	int rc = ENT_EDB;
	if (s) {
		while ((rc = db_step(s)) == DB_ROW) {
			jw_obj_open(w);
			jw_kstr(w, "role", db_col_text(s, 0));
			jw_kstr(w, "target", db_col_text(s, 1));
			jw_kbool(w, "allowed", db_col_int64(s, 2) != 0);
			jw_obj_close(w);
		}
		db_done(s);
	}
	jw_arr_close(w);
	jw_key(w, "limits");
	jw_arr_open(w);
	s = rc < 0 ? NULL : db_prepare(c, "SELECT role, per_hour, per_message FROM message_limits ORDER BY role");
	if (s) {
		while ((rc = db_step(s)) == DB_ROW) {
			jw_obj_open(w);
			jw_kstr(w, "role", db_col_text(s, 0));
			jw_kint(w, "per_hour", db_col_int64(s, 1));
			jw_kint(w, "per_message", db_col_int64(s, 2));
			jw_obj_close(w);
		}
		db_done(s);
	} else if (rc >= 0)
		rc = ENT_EDB;
	jw_arr_close(w);
	jw_obj_close(w);
	if (rc < 0) {
		http_problem_err(req, rc, "Les règles de communication n'ont pas pu être lues.");
		return;
	}
	http_reply_jw(req, 200);
}

void msg_rules_get(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	rules_reply(req, c);
}
/* Checks each object of the array arr (when it is one) against its 3 fields, as "name[i].field". */
static void check_items(http_req *req, json_t *arr, const char *name, const struct jfield *fields, json_t *errors)
{
	size_t i;
	json_t *v;
	json_array_foreach (json_is_array(arr) ? arr : NULL, i, v) {
		json_t *e = json_object();
		if (!json_is_object(v))
			json_object_set_new(e, "", json_string("doit être un objet"));
		else
			json_check(v, fields, 3, e);
		const char *k;
		json_t *m;
		json_object_foreach (e, k, m)
			json_object_set(errors,
					*k ? arena_printf(http_arena(req), "%s[%zu].%s", name, i, k)
					   : arena_printf(http_arena(req), "%s[%zu]", name, i),
					m);
		json_decref(e);
	}
}

void msg_rules_put(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	static const struct jfield fields[] = {
		{"rules", JF_ARRAY, 0, 0, 0, 100, NULL},
		{"limits", JF_ARRAY, 0, 0, 0, 3, NULL},
	};
	json_t *errors = json_object();
	json_check(body, fields, 2, errors);
	static const struct jfield rule_fields[] = {
		{"role", JF_STRING, 1, 0, 0, 0, msg_role_names},
		{"target", JF_STRING, 1, 0, 0, 0, msg_target_names},
		{"allowed", JF_BOOL, 1, 0, 0, 0, NULL},
	};
	static const struct jfield limit_fields[] = {
		{"role", JF_STRING, 1, 0, 0, 0, msg_role_names},
		{"per_hour", JF_INT, 1, 0, 1, 100000, NULL},
		{"per_message", JF_INT, 1, 0, 1, 100000, NULL},
	};
	json_t *rules = json_object_get(body, "rules"), *limits = json_object_get(body, "limits");
	check_items(req, rules, "rules", rule_fields, errors);
	check_items(req, limits, "limits", limit_fields, errors);
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	int rc = db_begin(c);
	size_t i;
	json_t *v;
	json_array_foreach (json_is_array(rules) ? rules : NULL, i, v) {
		if (rc)
			break;
		rc = SQL_RUN(c, "UPDATE message_rules SET allowed = ? WHERE role = ? AND target = ?",
			     SQL_I(json_is_true(json_object_get(v, "allowed"))),
			     SQL_T(json_string_value(json_object_get(v, "role"))),
			     SQL_T(json_string_value(json_object_get(v, "target"))));
		rc = rc < 0 ? rc : ENT_OK;
	}
	json_array_foreach (json_is_array(limits) ? limits : NULL, i, v) {
		if (rc)
			break;
		rc = SQL_RUN(c, "UPDATE message_limits SET per_hour = ?, per_message = ? WHERE role = ?",
			     SQL_I(json_integer_value(json_object_get(v, "per_hour"))),
			     SQL_I(json_integer_value(json_object_get(v, "per_message"))),
			     SQL_T(json_string_value(json_object_get(v, "role"))));
		rc = rc < 0 ? rc : ENT_OK;
	}
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (rc) {
		http_problem_err(req, rc, "Les règles de communication n'ont pas pu être enregistrées.");
		return;
	}
	rules_reply(req, c);
}

/* ---- GET /api/messages/recipients?q= ---- */

static int contains_folded(arena *a, const char *hay, const char *q)
{
	/* ASCII case folding is enough for class and course names typed in a search box. */
	(void)a;
	size_t n = strlen(q);
	if (!n)
		return 1;
	for (const char *p = hay; *p; p++)
		if (!strncasecmp(p, q, n))
			return 1;
	return 0;
}

static void write_group(jw *w, const char *type, const char *id, const char *name)
{
	jw_obj_open(w);
	jw_kstr(w, "type", type);
	if (id)
		jw_kstr(w, "id", id);
	jw_kstr(w, "name", name);
	jw_obj_close(w);
}

void msg_recipients(http_req *req)
{
	const char *q = http_query(req, "q");
	const char *lim = http_query(req, "limit");
	int64_t limit = 20;
	json_t *errors = json_object();
	if (q && (json_utf8_len(q) > 100 || !util_valid_text(q)))
		json_object_set_new(errors, "q", json_string("doit être un texte de 100 caractères au plus"));
	if (lim && util_parse_int64(lim, 1, 50, &limit))
		json_object_set_new(errors, "limit", json_string("doit être un entier de 1 à 50"));
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	struct msg_who who;
	if (msg_who_req(req, c, &who))
		return;
	if (!q)
		q = "";
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_key(w, "items");
	jw_arr_open(w);
	int64_t n = 0;
	int rc = ENT_OK;
	/* Groups first: the sender's own classes and courses, then (when allowed) any class. */
	if (who.allowed[T_STAFF] && contains_folded(a, "Administration", q) && n < limit) {
		write_group(w, "staff", NULL, "Administration");
		n++;
	}
	for (size_t i = 0; i < who.nclasses && n < limit; i++) {
		const char *name = users_class_name(c, a, who.classes[i]);
		if (!name || !contains_folded(a, name, q))
			continue;
		if (who.allowed[T_CLASS_OWN] || who.allowed[T_CLASS_ANY]) {
			write_group(w, "class", who.classes[i], arena_printf(a, "Classe %s", name));
			n++;
		}
		if ((who.allowed[T_CLASS_TEACHERS_OWN] || who.allowed[T_CLASS_TEACHERS_ANY]) && n < limit) {
			write_group(w, "class_teachers", who.classes[i],
				    arena_printf(a, "Enseignants de la classe %s", name));
			n++;
		}
	}
	for (size_t i = 0; i < who.ncourses && n < limit && (who.allowed[T_COURSE_OWN] || who.allowed[T_COURSE_ANY]);
	     i++) {
		const char *t = cours_title(c, a, who.courses[i]);
		if (!t || !contains_folded(a, t, q))
			continue;
		write_group(w, "course", who.courses[i], arena_printf(a, "Élèves du cours %s", t));
		n++;
	}
	if (who.allowed[T_CLASS_ANY] && *q && n < limit) {
		const char **ids, **names;
		int k = users_classes_matching(c, a, q, (int)(limit - n), &ids, &names);
		if (k < 0)
			rc = k;
		for (int i = 0; i < k && n < limit; i++) {
			if (has(who.classes, who.nclasses, ids[i]))
				continue;
			write_group(w, "class", ids[i], arena_printf(a, "Classe %s", names[i]));
			n++;
		}
	}
	/* People: those matching q whom the rules let the caller write to. */
	if (!rc && json_utf8_len(q) >= 2) {
		struct users_hit *hits;
		int k = users_suggest(c, a, q, 100, &hits);
		const char **ids = arena_alloc(a, (k > 0 ? (size_t)k : 1) * sizeof(*ids));
		struct user_reach *reach = arena_alloc(a, (k > 0 ? (size_t)k : 1) * sizeof(*reach));
		for (int i = 0; i < k; i++)
			ids[i] = hits[i].id;
		rc = k < 0 ? k : users_reach(c, a, ids, (size_t)k, reach);
		for (int i = 0; i < k && n < limit && !rc; i++) {
			if (!strcmp(hits[i].id, who.id))
				continue;
			int ok = user_allowed(c, a, &who, hits[i].id, &reach[i]);
			if (ok < 0 && ok != ENT_ENOTFOUND)
				rc = ok;
			if (ok != 1)
				continue;
			jw_obj_open(w);
			jw_kstr(w, "type", "user");
			jw_kstr(w, "id", hits[i].id);
			jw_kstr(w, "name", hits[i].name);
			jw_kstr(w, "role", role_name(top_role(hits[i].roles)));
			jw_obj_close(w);
			n++;
		}
	}
	jw_arr_close(w);
	jw_obj_close(w);
	if (rc) {
		http_problem_err(req, rc, "Les destinataires n'ont pas pu être proposés.");
		return;
	}
	http_reply_jw(req, 200);
}
