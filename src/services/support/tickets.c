/*
 * tickets.c - one ticket's life: its creation, its state changes, the conversation (public
 * comments and the staff's internal notes), the history of every change and the requester's
 * satisfaction rating.
 *
 * States and the only legal transitions (anything else answers 409 naming the current state):
 *
 *   new      -> open (taken up; also the staff's first public answer), closed (not a request)
 *   open     -> waiting (on the requester), resolved
 *   waiting  -> open (also the requester's answer), resolved
 *   resolved -> open (also the requester's answer), closed (also the requester, or after 7 days)
 *   closed   -> nothing: a closed ticket is read-only
 *
 * Every change is one transaction: the row is updated on the condition that its state is still the
 * one read (a concurrent change answers 409), one history row is written per field, and the
 * support.updated event is published (notify.c). An internal note publishes nothing and is never
 * written into anything the requester reads.
 */
#include "internal.h"

#include <string.h>

#include "bus/bus.h"
#include "core/err.h"
#include "core/json.h"
#include "core/page.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/notes/notes.h"
#include "services/users/users.h"

static int legal_transition(const char *from, const char *to)
{
	static const char *const legal[][2] = {
		{"new", "open"},     {"new", "closed"},       {"open", "waiting"},  {"open", "resolved"},
		{"waiting", "open"}, {"waiting", "resolved"}, {"resolved", "open"}, {"resolved", "closed"},
	};
	for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
		if (!strcmp(legal[i][0], from) && !strcmp(legal[i][1], to))
			return 1;
	return 0;
}

int sup_write_one(db_conn *c, const char *sql, const sql_val *v, size_t n)
{
	int64_t changed = 0;
	int rc = sql_run(c, sql, v, n, &changed);
	return rc < 0 ? rc : changed == 1 ? ENT_OK : ENT_ECONFLICT;
}

int sup_history_add(db_conn *c, const char *ticket_id, const char *actor, const char *field, const char *old_value,
		    const char *new_value, const char *at, int64_t us)
{
	char id[37];
	util_uuid(id);
	int rc = SQL_RUN(c,
			 "INSERT INTO support_history (id, ticket_id, actor_id, field, old_value, new_value, at, seq)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			 SQL_T(id), SQL_T(ticket_id), SQL_T(actor), SQL_T(field), SQL_T(old_value), SQL_T(new_value),
			 SQL_T(at), SQL_I(us));
	return rc < 0 ? rc : ENT_OK;
}

/* Answers the ticket id as it is now. */
static void reply_ticket(http_req *req, db_conn *c, const char *id, int status)
{
	arena *a = http_arena(req);
	struct sup_ticket t;
	int rc = sup_ticket_get(c, a, id, &t);
	if (rc) {
		http_problem_err(req, rc == ENT_ENOTFOUND ? ENT_EDB : rc, "La demande n'a pas pu être relue.");
		return;
	}
	char now[21];
	sup_now(now, NULL);
	sup_ticket_write(http_jw(req), c, a, &t, now);
	http_reply_jw(req, status);
}

static const char *state_conflict(arena *a, const char *state, const char *to)
{
	if (!strcmp(state, "closed"))
		return "La demande est à l'état « Clos » : elle ne change plus.";
	return arena_printf(a, "La demande est à l'état « %s » : elle ne peut pas passer à « %s ».", sup_label(state),
			    sup_label(to));
}

/* ---- POST /api/support/tickets ---- */

int sup_ticket_insert(db_conn *c, arena *a, const char *requester, const struct sup_new *n, struct sup_ticket *t)
{
	char id[37], now[21], fr_due[21], res_due[21];
	int64_t us;
	util_uuid(id);
	sup_now(now, &us);
	int rc = sup_deadlines(c, n->priority, now, fr_due, res_due);
	if (rc)
		return rc;
	rc = SQL_RUN(c,
		     "INSERT INTO support_requests (id, subject, description, category, priority, state, requester_id,"
		     " assignee_id, evaluation_id, created_at, updated_at, first_response_due, resolution_due)"
		     " VALUES (?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?)",
		     SQL_T(id), SQL_T(n->subject), SQL_T(n->description), SQL_T(n->category), SQL_T(n->priority),
		     SQL_T(requester), SQL_T(n->assignee), SQL_T(n->evaluation), SQL_T(now), SQL_T(now), SQL_T(fr_due),
		     SQL_T(res_due));
	if (rc >= 0)
		rc = sup_history_add(c, id, requester, "created", NULL, "new", now, us);
	/* An assignment made at creation is the desk's rule, not the requester's choice: the system's. */
	if (rc >= 0 && n->assignee)
		rc = sup_history_add(c, id, NULL, "assignee_id", NULL, n->assignee, now, us + 1);
	return rc < 0 ? rc : sup_ticket_get(c, a, id, t);
}

void sup_ticket_created(http_req *req, db_conn *c, int rc, const struct sup_ticket *t, const char *conflict)
{
	rc = rc < 0 ? (db_rollback(c), rc) : db_commit(c);
	if (rc == ENT_ECONFLICT && conflict) {
		http_problem(req, 409, conflict);
		return;
	}
	if (rc) {
		http_problem_err(req, rc, "La demande n'a pas pu être enregistrée.");
		return;
	}
	bus_kick();
	arena *a = http_arena(req);
	http_set_header(req, "Location", arena_printf(a, "/api/support/tickets/%s", t->col[T_ID]));
	char now[21];
	sup_now(now, NULL);
	sup_ticket_write(http_jw(req), c, a, t, now);
	http_reply_jw(req, 201);
}

void sup_tickets_create(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	const struct jfield fields[] = {
		{"subject", JF_STRING, 1, 0, 1, SUP_SUBJECT_MAX, NULL},
		{"description", JF_STRING, 1, 0, 1, SUP_TEXT_MAX, NULL},
		{"category", JF_STRING, 1, 0, 0, 0, sup_categories},
		{"priority", JF_STRING, 0, 0, 0, 0, sup_priorities},
	};
	if (http_invalid(req, sup_check(body, fields, sizeof(fields) / sizeof(fields[0]), "subject", "description")))
		return;
	struct sup_new n = {
		.subject = json_get_str(body, "subject", NULL),
		.description = json_get_str(body, "description", NULL),
		.category = json_get_str(body, "category", NULL),
		.priority = json_get_str(body, "priority", "normal"),
	};
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	const char *me = http_principal(req)->sub;
	struct sup_ticket t;
	int rc = db_begin(c);
	if (rc) {
		http_problem_err(req, rc, "La demande n'a pas pu être enregistrée.");
		return;
	}
	rc = sup_ticket_insert(c, a, me, &n, &t);
	if (rc >= 0) {
		const char *names[1] = {NULL};
		users_names(c, a, &me, 1, names);
		rc = sup_notify_staff(c, a, &t, me, arena_printf(a, "Nouvelle demande d'assistance : %s", n.subject),
				      arena_printf(a, "%s a ouvert une demande (%s, priorité %s).",
						   names[0] ? names[0] : "Un utilisateur", sup_label(n.category),
						   sup_label(n.priority)));
	}
	sup_ticket_created(req, c, rc, &t, NULL);
}

/* ---- GET /api/support/tickets/{id} ---- */

void sup_tickets_get(http_req *req)
{
	struct sup_open x;
	if (sup_ticket_open(req, 0, &x))
		return;
	char now[21];
	sup_now(now, NULL);
	sup_ticket_write(http_jw(req), x.c, http_arena(req), &x.t, now);
	http_reply_jw(req, 200);
}

/* ---- PATCH /api/support/tickets/{id} ---- */

/* ---- who may take a ticket: GET /api/support/tickets/{id}/assignees ---- */

int sup_assignables(db_conn *c, arena *a, const char *category, const char *evaluation, const char *only,
		    struct sup_person **out)
{
	*out = NULL;
	const char **admins, **teachers = NULL;
	int na = users_admins(c, a, &admins), nt = 0;
	if (na < 0)
		return na;
	if (!strcmp(category, "grades")) {
		/* A contestation: the teachers of the evaluation's course; another grades ticket: any teacher. */
		nt = evaluation ? notes_evaluation_teachers(c, a, evaluation, &teachers)
				: users_with_role(c, a, "enseignant", &teachers);
		if (nt == ENT_ENOTFOUND)
			nt = 0;
		if (nt < 0)
			return nt;
	}
	struct sup_person *p = arena_calloc(a, (size_t)(na + nt) + 1, sizeof(*p));
	size_t n = 0;
	for (int i = 0; i < na + nt; i++) {
		const char *id = i < na ? admins[i] : teachers[i - na];
		if (only && strcmp(id, only))
			continue;
		struct user u;
		int rc = users_get(c, a, id, &u);
		if (rc == ENT_ENOTFOUND)
			continue;
		if (rc)
			return rc;
		unsigned need = i < na ? ROLE_ADMIN : ROLE_ENSEIGNANT;
		int dup = 0;
		for (size_t j = 0; j < n && !dup; j++)
			dup = !strcmp(p[j].id, u.id);
		if (u.disabled || !(u.roles & need) || dup)
			continue;
		p[n].id = arena_strdup(a, u.id);
		p[n].name = u.official_name;
		p[n].role = i < na ? "admin" : "enseignant";
		n++;
	}
	/* The register's order (family then given name, French collation), administrators first. */
	const char **ids = arena_calloc(a, n + 1, sizeof(*ids)), **keys = arena_calloc(a, n + 1, sizeof(*keys));
	for (size_t i = 0; i < n; i++)
		ids[i] = p[i].id;
	if (n > 1 && !users_sort_keys(c, a, ids, n, keys))
		for (size_t i = 0; i < n; i++)
			p[i].sort = keys[i];
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			struct sup_person *x = &p[j - 1], *y = &p[j];
			int cmp = strcmp(x->role, y->role);
			if (!cmp)
				cmp = strcmp(x->sort ? x->sort : "", y->sort ? y->sort : "");
			if (!cmp)
				cmp = strcmp(x->id, y->id);
			if (cmp <= 0)
				break;
			struct sup_person tmp = *x;
			*x = *y;
			*y = tmp;
		}
	*out = p;
	return (int)n;
}

void sup_assignees_list(http_req *req)
{
	struct sup_open x;
	if (sup_ticket_open(req, 0, &x))
		return;
	struct sup_person *p;
	int n = sup_assignables(x.c, x.a, x.t.col[T_CATEGORY], x.t.col[T_EVALUATION], NULL, &p);
	if (n < 0) {
		http_problem_err(req, n, "La liste des personnes à qui confier la demande n'a pas pu être lue.");
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_key(w, "items");
	jw_arr_open(w);
	for (int i = 0; i < n; i++) {
		jw_obj_open(w);
		jw_kstr(w, "id", p[i].id);
		jw_kstr(w, "name", p[i].name);
		jw_kstr(w, "role", p[i].role);
		jw_kstr(w, "role_label", !strcmp(p[i].role, "admin") ? "Administrateur" : "Enseignant");
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

/*
 * Checks that assignee is one of sup_assignables for a ticket of category (and evaluation): 0, 1
 * (refused: an error in errors, code not_assignable) or an ent_err.
 */
static int check_assignee(db_conn *c, arena *a, const char *assignee, const char *category, const char *evaluation,
			  json_t *errors)
{
	struct sup_person *p;
	int n = sup_assignables(c, a, category, evaluation, assignee, &p);
	if (n < 0)
		return n;
	if (n > 0)
		return 0;
	struct user u;
	int rc = users_get(c, a, assignee, &u);
	if (rc && rc != ENT_ENOTFOUND)
		return rc;
	const char *why = "doit désigner un administrateur (ou un enseignant pour une demande de notes)";
	if (rc == ENT_ENOTFOUND || u.disabled)
		why = "ne désigne aucun compte actif";
	else if ((u.roles & ROLE_ENSEIGNANT) && strcmp(category, "grades"))
		why = "un enseignant ne prend en charge que les demandes de la catégorie Notes";
	else if (u.roles & ROLE_ENSEIGNANT)
		why = "n'enseigne pas le cours de la note contestée : choisissez un de ses enseignants ou un "
		      "administrateur";
	json_field_error(errors, "assignee_id", "not_assignable", why);
	return 1;
}

void sup_tickets_patch(http_req *req)
{
	struct sup_open x;
	if (sup_ticket_open(req, 1, &x))
		return;
	const struct jfield fields[] = {
		{"state", JF_STRING, 0, 0, 0, 0, sup_states},
		{"priority", JF_STRING, 0, 0, 0, 0, sup_priorities},
		{"category", JF_STRING, 0, 0, 0, 0, sup_categories},
		{"assignee_id", JF_UUID, 0, 1, 0, 0, NULL},
	};
	json_t *errors = json_object();
	json_check(x.body, fields, sizeof(fields) / sizeof(fields[0]), errors);
	if (http_invalid(req, errors))
		return;
	const char *state = json_get_str(x.body, "state", NULL), *priority = json_get_str(x.body, "priority", NULL);
	const char *category = json_get_str(x.body, "category", NULL);
	json_t *jassignee = json_object_get(x.body, "assignee_id");
	const char *assignee = json_string_value(jassignee);
	/* Who may change what: staff the state; administrators the rest; the requester only closes. */
	errors = json_object();
	if (!(x.rel & SUP_STAFF)) {
		if (state && strcmp(state, "closed"))
			json_object_set_new(errors, "state",
					    json_string("le demandeur ne peut que clore sa demande résolue"));
		if (priority || category || jassignee) {
			const char *f = priority ? "priority" : category ? "category" : "assignee_id";
			json_object_set_new(errors, f, json_string("seul le personnel du support modifie ce champ"));
		}
	} else if (!x.v.admin && (priority || category || jassignee)) {
		const char *f = priority ? "priority" : category ? "category" : "assignee_id";
		json_object_set_new(errors, f, json_string("seuls les administrateurs modifient ce champ"));
	}
	if (json_object_size(errors)) {
		http_problem_errors(req, 403, "Vous ne pouvez pas modifier ces champs de la demande.", errors);
		return;
	}
	json_decref(errors);
	if (state && !legal_transition(x.t.col[T_STATE], state)) {
		http_problem(req, 409, state_conflict(x.a, x.t.col[T_STATE], state));
		return;
	}
	if (!state && !strcmp(x.t.col[T_STATE], "closed") && (priority || category || jassignee)) {
		http_problem(req, 409, "La demande est à l'état « Clos » : elle ne change plus.");
		return;
	}
	const char *new_category = category ? category : x.t.col[T_CATEGORY];
	const char *new_assignee = jassignee ? assignee : x.t.col[T_ASSIGNEE];
	errors = json_object();
	int rc = ENT_OK;
	if (category && x.t.col[T_EVALUATION] && strcmp(category, "grades"))
		json_object_set_new(errors, "category",
				    json_string("une demande de révision de note reste dans la catégorie Notes"));
	else if (assignee)
		rc = check_assignee(x.c, x.a, assignee, new_category, x.t.col[T_EVALUATION], errors);
	else if (category && new_assignee && strcmp(category, "grades")) {
		/* A teacher holds a grades ticket only: moving it elsewhere needs another assignee first. */
		struct user u;
		int g = users_get(x.c, x.a, new_assignee, &u);
		if (!g && !(u.roles & ROLE_ADMIN))
			json_object_set_new(
				errors, "category",
				json_string(
					"la demande est confiée à un enseignant : confiez-la d'abord à un administrateur"));
	}
	if (rc < 0) {
		json_decref(errors);
		http_problem_err(req, rc, NULL);
		return;
	}
	if (http_invalid(req, errors))
		return;
	char now[21], fr_due[21], res_due[21];
	int64_t us;
	sup_now(now, &us);
	const char *new_state = state ? state : x.t.col[T_STATE];
	const char *new_priority = priority ? priority : x.t.col[T_PRIORITY];
	/* A new priority moves the deadlines, from the ticket's creation. */
	snprintf(fr_due, sizeof(fr_due), "%s", x.t.col[T_FR_DUE]);
	snprintf(res_due, sizeof(res_due), "%s", x.t.col[T_RES_DUE]);
	if (priority && strcmp(priority, x.t.col[T_PRIORITY]))
		rc = sup_deadlines(x.c, priority, x.t.col[T_CREATED], fr_due, res_due);
	if (!rc)
		rc = db_begin(x.c);
	if (rc) {
		http_problem_err(req, rc, "La demande n'a pas pu être modifiée.");
		return;
	}
	const char *resolved_at = x.t.col[T_RESOLVED_AT], *closed_at = x.t.col[T_CLOSED_AT];
	if (state && !strcmp(state, "resolved"))
		resolved_at = now;
	else if (state && !strcmp(state, "open"))
		resolved_at = NULL;
	if (state && !strcmp(state, "closed"))
		closed_at = now;
	db_stmt *s = db_prepare(
		x.c, "UPDATE support_requests SET state = ?, priority = ?, category = ?, assignee_id = ?,"
		     " first_response_due = ?, resolution_due = ?, resolved_at = ?, closed_at = ?, updated_at = ?"
		     " WHERE id = ? AND state = ?");
	rc = ENT_EDB;
	if (s) {
		const char *vals[] = {new_state,   new_priority, new_category, new_assignee,  fr_due,          res_due,
				      resolved_at, closed_at,    now,          x.t.col[T_ID], x.t.col[T_STATE]};
		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
			db_bind_text_or_null(s, (int)i + 1, vals[i]);
		rc = db_step(s);
		if (rc >= 0 && db_changes(s) != 1)
			rc = ENT_ECONFLICT;
		db_done(s);
	}
	const char *changes[][3] = {
		{"state", x.t.col[T_STATE], new_state},
		{"priority", x.t.col[T_PRIORITY], new_priority},
		{"category", x.t.col[T_CATEGORY], new_category},
		{"assignee_id", x.t.col[T_ASSIGNEE], new_assignee},
	};
	for (size_t i = 0; rc >= 0 && i < sizeof(changes) / sizeof(changes[0]); i++) {
		const char *o = changes[i][1], *n = changes[i][2];
		if ((!o && !n) || (o && n && !strcmp(o, n)))
			continue;
		rc = sup_history_add(x.c, x.t.col[T_ID], x.v.id, changes[i][0], o, n, now, us);
	}
	struct sup_ticket after;
	if (rc >= 0)
		rc = sup_ticket_get(x.c, x.a, x.t.col[T_ID], &after);
	/* Who hears of it: the requester of a staff member's state change; staff of a requester's close. */
	if (rc >= 0 && state) {
		const char *title = arena_printf(x.a, "Demande « %s » : %s", after.col[T_SUBJECT], sup_label(state));
		const char *text = !strcmp(state, "resolved")
					   ? "Votre demande a été résolue. Répondez si le problème persiste, "
					     "ou donnez votre avis sur la réponse."
				   : !strcmp(state, "waiting") ? "Le support attend votre réponse pour avancer."
				   : !strcmp(state, "closed")  ? "La demande est close."
							       : "Votre demande est prise en charge.";
		/* A contestation's student learns its outcome: the grade revised, or kept. */
		const char *outcome = NULL;
		if (!strcmp(state, "resolved") && after.col[T_EVALUATION] && (x.rel & SUP_STAFF))
			outcome = sup_contest_outcome(x.c, x.a, &after);
		if (outcome)
			text = outcome;
		if (x.rel & SUP_STAFF)
			rc = sup_notify_requester(x.c, &after, x.v.id, title, text);
		else
			rc = sup_notify_staff(x.c, x.a, &after, x.v.id, title, "Le demandeur a clos sa demande.");
	}
	if (rc >= 0 && assignee && (!x.t.col[T_ASSIGNEE] || strcmp(assignee, x.t.col[T_ASSIGNEE]))) {
		const char *one[1] = {assignee};
		rc = sup_notify(x.c, &after, x.v.id, one, 1,
				arena_printf(x.a, "Demande confiée : %s", after.col[T_SUBJECT]),
				arena_printf(x.a, "Une demande (%s, priorité %s) vous a été confiée.",
					     sup_label(new_category), sup_label(new_priority)));
	}
	rc = rc < 0 ? (db_rollback(x.c), rc) : db_commit(x.c);
	if (rc == ENT_ECONFLICT) {
		http_problem(req, 409, "La demande vient d'être modifiée par quelqu'un d'autre : relisez-la.");
		return;
	}
	if (rc) {
		http_problem_err(req, rc, "La demande n'a pas pu être modifiée.");
		return;
	}
	bus_kick();
	sup_live(x.t.col[T_ID], "ticket", 0);
	reply_ticket(req, x.c, x.t.col[T_ID], 200);
}

/* ---- comments and internal notes ---- */

#define COMMENT_COLS "id, author_id, body, internal, created_at, seq"

/* Writes "key": {"id", "name"} of the person id, or null for the system (no id). */
static void write_person(jw *w, struct sup_open *x, const char *key, const char *id)
{
	const char *name = NULL;
	jw_key(w, key);
	if (!id) {
		jw_null(w);
		return;
	}
	users_names(x->c, x->a, &id, 1, &name);
	jw_obj_open(w);
	jw_kstr(w, "id", id);
	jw_kstr(w, "name", name);
	jw_obj_close(w);
}

static void write_comment(jw *w, db_stmt *s, void *ctx)
{
	struct sup_open *x = ctx;
	jw_obj_open(w);
	jw_kstr(w, "id", db_col_text(s, 0));
	jw_kstr(w, "ticket_id", x->t.col[T_ID]);
	write_person(w, x, "author", db_col_text(s, 1));
	jw_kstr(w, "body", db_col_text(s, 2));
	jw_kbool(w, "internal", db_col_int64(s, 3) != 0);
	jw_kstr(w, "created_at", db_col_text(s, 4));
	jw_obj_close(w);
}

/*
 * Answers a page of the rows of the ticket {id} ordered by (seq, id), its comments or its history
 * (the list's name): sql selects them by "ticket_id = ? AND (internal = 0 OR ? = 1)" (1 for the
 * ticket's staff), sql_after the same followed by "AND (seq, id) > (?, ?)". Column seq_col is the
 * seq, column 0 the id. With staff_only, someone else than the staff is answered 403 staff_only.
 */
static void seq_page(http_req *req, const char *list, const char *staff_only, const char *sql, const char *sql_after,
		     int seq_col, page_write_fn *write)
{
	page pg;
	if (page_begin(req, &pg, list, 2))
		return;
	struct sup_open x;
	if (sup_ticket_open(req, 0, &x))
		return;
	if (staff_only && !(x.rel & SUP_STAFF)) {
		http_problem(req, 403, staff_only);
		return;
	}
	int64_t seq = 0;
	if (pg.has_cursor && util_parse_int64(pg.after[0], 0, INT64_MAX, &seq)) {
		http_invalid(req, json_pack("{s:s}", "cursor", PAGE_BAD_CURSOR));
		return;
	}
	db_stmt *s = SQL_PREP(x.c, pg.has_cursor ? sql_after : sql, SQL_T(x.t.col[T_ID]),
			      SQL_I((x.rel & SUP_STAFF) ? 1 : 0));
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	int k = 3;
	if (pg.has_cursor) {
		db_bind_int64(s, k++, seq);
		db_bind_text(s, k++, pg.after[1]);
	}
	db_bind_int64(s, k, page_fetch(&pg));
	static const char *const keep[] = {"limit", NULL};
	page_rows(&pg, s, (const int[]){seq_col, 0}, write, &x, NULL, keep);
}

/* The requester never reads an internal note; staff read both. */
void sup_comments_list(http_req *req)
{
	seq_page(req, "support_comments", NULL,
		 "SELECT " COMMENT_COLS " FROM support_comments WHERE ticket_id = ? AND (internal = 0 OR ? = 1)"
		 " ORDER BY seq, id LIMIT ?",
		 "SELECT " COMMENT_COLS " FROM support_comments WHERE ticket_id = ? AND (internal = 0 OR ? = 1)"
		 " AND (seq, id) > (?, ?) ORDER BY seq, id LIMIT ?",
		 5, write_comment);
}

void sup_comments_create(http_req *req)
{
	struct sup_open x;
	if (sup_ticket_open(req, 1, &x))
		return;
	const struct jfield fields[] = {
		{"body", JF_STRING, 1, 0, 1, SUP_TEXT_MAX, NULL},
		{"internal", JF_BOOL, 0, 0, 0, 0, NULL},
		{"file_ids", JF_ARRAY, 0, 0, 1, SUP_ATTACH_MAX, NULL},
	};
	json_t *errors = sup_check(x.body, fields, sizeof(fields) / sizeof(fields[0]), NULL, "body");
	const char *text = json_get_str(x.body, "body", NULL);
	int internal = json_is_true(json_object_get(x.body, "internal"));
	if (internal && !(x.rel & SUP_STAFF))
		json_object_set_new(errors, "internal",
				    json_string("seul le personnel du support écrit des notes internes"));
	const char **files;
	size_t nfiles;
	if (sup_attach_check(req, &x, errors, &files, &nfiles))
		return;
	if (!strcmp(x.t.col[T_STATE], "closed")) {
		http_problem(req, 409,
			     "La demande est à l'état « Clos » : on n'y répond plus ; ouvrez une nouvelle demande.");
		return;
	}
	/* The requester's answer (even from an administrator asking for themselves) reopens. */
	int as_requester = (x.rel & SUP_REQUESTER) != 0;
	char id[37], now[21];
	int64_t us;
	util_uuid(id);
	sup_now(now, &us);
	int rc = db_begin(x.c);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	rc = SQL_RUN(x.c,
		     "INSERT INTO support_comments (id, ticket_id, author_id, body, internal, created_at, seq)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?)",
		     SQL_T(id), SQL_T(x.t.col[T_ID]), SQL_T(x.v.id), SQL_T(text), SQL_I(internal), SQL_T(now),
		     SQL_I(us));
	/* The files of an internal note are as internal as the note. */
	if (rc >= 0 && nfiles)
		rc = sup_attach_store(x.c, x.a, x.t.col[T_ID], id, internal, x.v.id, files, nfiles);
	const char *to_state = NULL;
	if (!internal && as_requester &&
	    (!strcmp(x.t.col[T_STATE], "resolved") || !strcmp(x.t.col[T_STATE], "waiting")))
		to_state = "open";
	else if (!internal && !as_requester && !strcmp(x.t.col[T_STATE], "new"))
		to_state = "open"; /* the staff's first answer takes the ticket up */
	if (rc >= 0 && !internal) {
		/* The first public answer of the staff stops the first-answer clock. */
		rc = SUP_WRITE_ONE(
			x.c,
			"UPDATE support_requests SET state = COALESCE(?, state),"
			" resolved_at = CASE WHEN CAST(? AS TEXT) IS NULL THEN resolved_at ELSE NULL END,"
			" first_response_at = CASE WHEN ? = 1 THEN COALESCE(first_response_at, ?) ELSE first_response_at END,"
			" updated_at = ? WHERE id = ? AND state = ?",
			SQL_T(to_state), SQL_T(to_state), SQL_I(!as_requester), SQL_T(now), SQL_T(now),
			SQL_T(x.t.col[T_ID]), SQL_T(x.t.col[T_STATE]));
	}
	if (rc >= 0 && to_state)
		rc = sup_history_add(x.c, x.t.col[T_ID], x.v.id, "state", x.t.col[T_STATE], to_state, now, us);
	if (rc >= 0 && !internal) {
		/* A public answer reaches the other side; an internal note reaches nobody. */
		size_t n = strlen(text);
		const char *excerpt = text;
		if (n > 280) {
			/* Do not cut a UTF-8 sequence in two. */
			size_t cut = 277;
			while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
				cut--;
			excerpt = arena_printf(x.a, "%.*s…", (int)cut, text);
		}
		if (as_requester)
			rc = sup_notify_staff(
				x.c, x.a, &x.t, x.v.id,
				arena_printf(x.a, "Nouvelle réponse du demandeur : %s", x.t.col[T_SUBJECT]), excerpt);
		else
			rc = sup_notify_requester(x.c, &x.t, x.v.id,
						  arena_printf(x.a, "Réponse du support : %s", x.t.col[T_SUBJECT]),
						  excerpt);
	}
	rc = rc < 0 ? (db_rollback(x.c), rc) : db_commit(x.c);
	if (rc == ENT_ECONFLICT) {
		http_problem(req, 409, "La demande vient d'être modifiée par quelqu'un d'autre : relisez-la.");
		return;
	}
	if (rc) {
		http_problem_err(req, rc, "La réponse n'a pas pu être enregistrée.");
		return;
	}
	bus_kick();
	sup_live(x.t.col[T_ID], "comment", internal);
	db_stmt *s = db_prepare(x.c, "SELECT " COMMENT_COLS " FROM support_comments WHERE id = ?");
	rc = ENT_EDB;
	if (s) {
		db_bind_text(s, 1, id);
		if ((rc = db_step(s)) == DB_ROW)
			write_comment(http_jw(req), s, &x);
		db_done(s);
	}
	if (rc != DB_ROW) {
		http_problem_err(req, rc < 0 ? rc : ENT_EDB, "La réponse n'a pas pu être relue.");
		return;
	}
	http_reply_jw(req, 201);
}

/* ---- GET /api/support/tickets/{id}/history ---- */

static void write_change(jw *w, db_stmt *s, void *ctx)
{
	jw_obj_open(w);
	jw_kstr(w, "id", db_col_text(s, 0));
	write_person(w, ctx, "actor", db_col_text(s, 1)); /* null: the system (the 7-day auto-close) */
	jw_kstr(w, "field", db_col_text(s, 2));
	jw_kstr(w, "old_value", db_col_text(s, 3));
	jw_kstr(w, "new_value", db_col_text(s, 4));
	jw_kstr(w, "at", db_col_text(s, 5));
	jw_obj_close(w);
}

/* Staff only; the history has no internal rows, so the second condition always holds. */
void sup_history_list(http_req *req)
{
	seq_page(req, "support_history", "L'historique d'une demande est réservé au personnel du support.",
		 "SELECT id, actor_id, field, old_value, new_value, at, seq FROM support_history"
		 " WHERE ticket_id = ? AND ? = 1 ORDER BY seq, id LIMIT ?",
		 "SELECT id, actor_id, field, old_value, new_value, at, seq FROM support_history"
		 " WHERE ticket_id = ? AND ? = 1 AND (seq, id) > (?, ?) ORDER BY seq, id LIMIT ?",
		 6, write_change);
}

/* ---- PUT /api/support/tickets/{id}/rating ---- */

void sup_rating_put(http_req *req)
{
	struct sup_open x;
	if (sup_ticket_open(req, 1, &x))
		return;
	const struct jfield fields[] = {
		{"rating", JF_INT, 1, 0, 1, 5, NULL},
		{"comment", JF_STRING, 0, 1, 0, 2000, NULL},
	};
	if (http_invalid(req, sup_check(x.body, fields, sizeof(fields) / sizeof(fields[0]), NULL, "comment")))
		return;
	const char *comment = json_get_str(x.body, "comment", NULL);
	if (!(x.rel & SUP_REQUESTER)) {
		http_problem(req, 403, "Seul le demandeur donne son avis sur la réponse.");
		return;
	}
	if (strcmp(x.t.col[T_STATE], "resolved") && strcmp(x.t.col[T_STATE], "closed")) {
		http_problem(
			req, 409,
			arena_printf(x.a,
				     "La demande est à l'état « %s » : on donne son avis une fois la demande résolue.",
				     sup_label(x.t.col[T_STATE])));
		return;
	}
	if (x.t.col[T_RATING]) {
		http_problem(req, 409, "Vous avez déjà donné votre avis sur cette demande.");
		return;
	}
	char now[21];
	int64_t us;
	sup_now(now, &us);
	long long rating = json_get_int(x.body, "rating", 0);
	int rc = db_begin(x.c);
	if (!rc) {
		rc = SUP_WRITE_ONE(
			x.c,
			"UPDATE support_requests SET rating = ?, rating_comment = ?, rated_at = ?, updated_at = ?"
			" WHERE id = ? AND rating IS NULL",
			SQL_I(rating), SQL_T(comment), SQL_T(now), SQL_T(now), SQL_T(x.t.col[T_ID]));
		if (rc >= 0)
			rc = sup_history_add(x.c, x.t.col[T_ID], x.v.id, "rating", NULL,
					     arena_printf(x.a, "%lld", rating), now, us);
		rc = rc < 0 ? (db_rollback(x.c), rc) : db_commit(x.c);
	}
	if (rc == ENT_ECONFLICT) {
		http_problem(req, 409, "Vous avez déjà donné votre avis sur cette demande.");
		return;
	}
	if (rc) {
		http_problem_err(req, rc, "Votre avis n'a pas pu être enregistré.");
		return;
	}
	sup_live(x.t.col[T_ID], "ticket", 0);
	reply_ticket(req, x.c, x.t.col[T_ID], 200);
}
