/*
 * contest.c - grade contestations: a student asks for the review of one of their grades.
 *
 * A contestation is a ticket of category grades that carries the contested evaluation's id
 * (support_requests.evaluation_id, an id of the notes service). It is opened by the student whose
 * grade it is, only on a published grade (anything else answers 404, as a grade that does not
 * exist), and assigned to a teacher of the evaluation's course, who is then staff on that ticket
 * (support.c, sup_relation) as on any grades ticket. One contestation of a grade at a time: a
 * second one while the first is not closed answers 409 (a unique index catches two at once).
 *
 * The teacher answers in the conversation and may revise the grade from the ticket
 * (PUT /tickets/{id}/grade): notes_revise_grade() makes the notes service's own audited change
 * (the audit entry and the "note.updated" event a grade edit writes) in this ticket's transaction,
 * the ticket's history records it and the student is told through support.updated. When the ticket
 * is resolved, the student is told the outcome: the grade as revised, or kept.
 *
 * The grade and the teachers come from the notes service's C interface (notes.h), names from the
 * users service's (users.h): no statement here names a table of another service.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#include "bus/bus.h"
#include "core/err.h"
#include "core/json.h"
#include "core/row.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/notes/notes.h"
#include "services/users/users.h"

const char *sup_grade_text(arena *a, const struct notes_grade_info *g)
{
	if (!strcmp(g->status, "absent"))
		return "Absent";
	if (!strcmp(g->status, "exempt"))
		return "Dispensé";
	if (!g->has_value)
		return "Non noté";
	char num[32];
	snprintf(num, sizeof(num), "%.2f", g->value);
	/* Two decimals at most, without trailing zeros, with a decimal comma. */
	char *dot = strchr(num, '.');
	if (dot) {
		char *end = num + strlen(num) - 1;
		while (end > dot && *end == '0')
			*end-- = '\0';
		if (end == dot)
			*end = '\0';
		else
			*dot = ',';
	}
	return arena_printf(a, "%s/%d", num, g->scale);
}

static const char *status_label(const char *status)
{
	return !strcmp(status, "graded")   ? "Noté"
	       : !strcmp(status, "absent") ? "Absent"
	       : !strcmp(status, "exempt") ? "Dispensé"
					   : "Non noté";
}

/* 1 if user_id is one of the evaluation's teachers, 0 if not, or a negative ent_err. */
static int teaches(db_conn *c, arena *a, const char *evaluation_id, const char *user_id)
{
	const char **ids;
	int n = notes_evaluation_teachers(c, a, evaluation_id, &ids);
	if (n < 0)
		return n == ENT_ENOTFOUND ? 0 : n;
	for (int i = 0; i < n; i++)
		if (!strcmp(ids[i], user_id))
			return 1;
	return 0;
}

/* ---- POST /api/support/contestations ---- */

/* The teacher a new contestation goes to: the first active teacher of the course (NULL: nobody). */
static int pick_teacher(db_conn *c, arena *a, const char *evaluation_id, const char **out)
{
	*out = NULL;
	const char **ids;
	int n = notes_evaluation_teachers(c, a, evaluation_id, &ids);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		struct user u;
		int rc = users_get(c, a, ids[i], &u);
		if (rc == ENT_ENOTFOUND)
			continue;
		if (rc)
			return rc;
		if (!u.disabled && (u.roles & ROLE_ENSEIGNANT)) {
			*out = ids[i];
			return ENT_OK;
		}
	}
	return ENT_OK;
}

#define CONTEST_OPEN_SQL                                                                                               \
	"SELECT id FROM support_requests WHERE evaluation_id = ? AND requester_id = ? AND state <> 'closed'"

static const char NOT_YOURS[] = "Cette note n'existe pas ou ne vous est pas visible.";
static const char ALREADY[] = "Une demande de révision de cette note est déjà en cours : répondez-y plutôt que "
			      "d'en ouvrir une autre.";

void sup_contest_create(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	const struct jfield fields[] = {
		{"evaluation_id", JF_UUID, 1, 0, 0, 0, NULL},
		{"reason", JF_STRING, 1, 0, 1, SUP_TEXT_MAX, NULL},
	};
	if (http_invalid(req, sup_check(body, fields, sizeof(fields) / sizeof(fields[0]), NULL, "reason")))
		return;
	const char *reason = json_get_str(body, "reason", NULL);
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	struct sup_viewer v;
	sup_viewer_of(req, &v);
	const char *evaluation = json_get_str(body, "evaluation_id", NULL);
	/* Only the student's own grade, once published: anything else is as if it did not exist. */
	struct notes_grade_info g;
	int rc = notes_student_grade(c, a, evaluation, v.id, &g);
	if (rc == ENT_ENOTFOUND || (!rc && !g.published)) {
		http_problem(req, 404, NOT_YOURS);
		return;
	}
	const char *teacher = NULL;
	if (!rc)
		rc = pick_teacher(c, a, evaluation, &teacher);
	if (rc) {
		http_problem_err(req, rc, "La note n'a pas pu être lue.");
		return;
	}
	const char *gtext = sup_grade_text(a, &g);
	/* The subject names the evaluation; a long title is cut on a character, not inside one. */
	const char *subject = arena_printf(a, "Révision de note : %s (%s)", g.evaluation_title, g.course_title);
	if (json_utf8_len(subject) > SUP_SUBJECT_MAX) {
		size_t cut = 0, chars = 0;
		while (subject[cut] && chars < SUP_SUBJECT_MAX - 1) {
			cut++;
			while (((unsigned char)subject[cut] & 0xC0) == 0x80)
				cut++;
			chars++;
		}
		subject = arena_printf(a, "%.*s…", (int)cut, subject);
	}
	rc = db_begin(c);
	if (rc) {
		http_problem_err(req, rc, "La demande n'a pas pu être enregistrée.");
		return;
	}
	/* One at a time (checked in the transaction; the unique index settles a race). */
	rc = SQL_RUN(c, CONTEST_OPEN_SQL, SQL_T(evaluation), SQL_T(v.id));
	rc = rc == DB_ROW ? ENT_ECONFLICT : rc < 0 ? rc : ENT_OK;
	struct sup_new n = {.subject = subject,
			    .description = reason,
			    .category = "grades",
			    .priority = "normal",
			    .assignee = teacher,
			    .evaluation = evaluation};
	struct sup_ticket t;
	if (!rc)
		rc = sup_ticket_insert(c, a, v.id, &n, &t);
	if (rc >= 0) {
		/* Staff read the official name of the student. */
		const char *names[1] = {NULL};
		users_official_names(c, a, &v.id, 1, names);
		rc = sup_notify_staff(
			c, a, &t, v.id, arena_printf(a, "Demande de révision de note : %s", g.evaluation_title),
			arena_printf(a, "%s demande la révision de sa note de « %s » (%s) : %s.",
				     names[0] ? names[0] : "Un élève", g.evaluation_title, g.course_title, gtext));
	}
	sup_ticket_created(req, c, rc, &t, ALREADY);
}

/* ---- GET and PUT /api/support/tickets/{id}/grade ---- */

static void grade_write(jw *w, db_conn *c, arena *a, const struct notes_grade_info *g, int may_revise)
{
	const char *name = NULL;
	users_official_names(c, a, &g->student_id, 1, &name);
	jw_obj_open(w);
	jw_kstr(w, "evaluation_id", g->evaluation_id);
	jw_kstr(w, "evaluation_title", g->evaluation_title);
	jw_kstr(w, "course_id", g->course_id);
	jw_kstr(w, "course_title", g->course_title);
	jw_kstr(w, "date", g->date);
	jw_kint(w, "scale", g->scale);
	jw_kstr(w, "status", g->status);
	jw_kstr(w, "status_label", status_label(g->status));
	jw_key(w, "value");
	if (g->has_value)
		jw_double(w, g->value);
	else
		jw_null(w);
	jw_kstr(w, "text", sup_grade_text(a, g));
	jw_kbool(w, "published", g->published);
	jw_key(w, "student");
	jw_obj_open(w);
	jw_kstr(w, "id", g->student_id);
	jw_kstr(w, "name", name);
	jw_obj_close(w);
	jw_kbool(w, "may_revise", may_revise);
	jw_obj_close(w);
}

/*
 * The contestation {id} of req and its grade, for the caller: 0, or -1 after answering (404: no
 * such ticket for the caller, not a contestation, or a grade the requester may not see now).
 */
static int contest_load(http_req *req, int with_body, struct sup_open *x, struct notes_grade_info *g)
{
	if (sup_ticket_open(req, with_body, x))
		return -1;
	if (!x->t.col[T_EVALUATION]) {
		http_problem(req, 404, "Cette demande ne porte pas sur une note.");
		return -1;
	}
	int rc = notes_student_grade(x->c, x->a, x->t.col[T_EVALUATION], x->t.col[T_REQUESTER], g);
	/* An unpublished grade is unpublished everywhere, the student's own ticket included. */
	return row_verdict(req, rc, !rc && (g->published || (x->rel & SUP_STAFF)),
			   "La note contestée n'existe plus ou n'est pas publiée.", "La note n'a pas pu être lue.");
}

/* 1 if the caller (staff of t) may revise its grade: an administrator, or a teacher of the evaluation. */
static int may_revise(db_conn *c, arena *a, const struct sup_viewer *v, const struct sup_ticket *t, int rel, int *err)
{
	*err = 0;
	if (!(rel & SUP_STAFF) || !strcmp(t->col[T_STATE], "closed"))
		return 0;
	if (v->admin)
		return 1;
	int r = teaches(c, a, t->col[T_EVALUATION], v->id);
	if (r < 0)
		*err = r;
	return r > 0;
}

void sup_grade_get(http_req *req)
{
	struct sup_open x;
	struct notes_grade_info g;
	int err;
	if (contest_load(req, 0, &x, &g))
		return;
	int may = may_revise(x.c, x.a, &x.v, &x.t, x.rel, &err);
	if (err) {
		http_problem_err(req, err, NULL);
		return;
	}
	grade_write(http_jw(req), x.c, x.a, &g, may);
	http_reply_jw(req, 200);
}

void sup_grade_put(http_req *req)
{
	struct sup_open x;
	struct notes_grade_info g;
	int err;
	if (contest_load(req, 1, &x, &g))
		return;
	if (!(x.rel & SUP_STAFF)) {
		http_problem(req, 403, "Seul le personnel chargé de la demande révise la note.");
		return;
	}
	if (!strcmp(x.t.col[T_STATE], "closed")) {
		http_problem(req, 409, "La demande est à l'état « Clos » : elle ne change plus.");
		return;
	}
	if (!may_revise(x.c, x.a, &x.v, &x.t, x.rel, &err)) {
		if (err)
			http_problem_err(req, err, NULL);
		else
			http_problem(req, 403,
				     "Seuls les enseignants du cours de l'évaluation et les administrateurs révisent "
				     "la note.");
		return;
	}
	const struct jfield fields[] = {{"value", JF_NUMBER, 1, 0, 0, 0, NULL}};
	json_t *errors = json_object();
	json_check(x.body, fields, 1, errors);
	double value = json_number_value(json_object_get(x.body, "value"));
	if (!json_object_get(errors, "value") && (!isfinite(value) || value < 0 || value > g.scale))
		json_object_set_new(errors, "value",
				    json_string(arena_printf(x.a, "doit être entre 0 et %d (le barème)", g.scale)));
	if (http_invalid(req, errors))
		return;
	char now[21];
	int64_t us;
	sup_now(now, &us);
	struct notes_grade_info before, after = g;
	int same = 0, moved = 0;
	int rc = db_begin(x.c);
	if (rc) {
		http_problem_err(req, rc, "La note n'a pas pu être révisée.");
		return;
	}
	rc = notes_revise_grade(x.c, x.a, x.t.col[T_EVALUATION], x.t.col[T_REQUESTER], value, x.v.id, &before);
	if (!rc && before.has_value && !strcmp(before.status, "graded") && before.value == value) {
		same = 1; /* nothing changed: said as such below */
		rc = ENT_ECONFLICT;
	}
	after.status = "graded";
	after.has_value = 1;
	after.value = value;
	const char *old_text = rc ? NULL : sup_grade_text(x.a, &before), *new_text = sup_grade_text(x.a, &after);
	if (!rc) {
		/* The ticket moves too (updated_at), on the condition that nobody changed its state meanwhile. */
		rc = SUP_WRITE_ONE(x.c, "UPDATE support_requests SET updated_at = ? WHERE id = ? AND state = ?",
				   SQL_T(now), SQL_T(x.t.col[T_ID]), SQL_T(x.t.col[T_STATE]));
		moved = rc == ENT_ECONFLICT;
	}
	if (!rc)
		rc = sup_history_add(x.c, x.t.col[T_ID], x.v.id, "grade", old_text, new_text, now, us);
	if (!rc)
		rc = sup_notify_requester(x.c, &x.t, x.v.id, arena_printf(x.a, "Note révisée : %s", g.evaluation_title),
					  arena_printf(x.a, "Votre note de « %s » (%s) passe de %s à %s.",
						       g.evaluation_title, g.course_title, old_text, new_text));
	rc = rc ? (db_rollback(x.c), rc) : db_commit(x.c);
	if (same) {
		http_problem(req, 409, arena_printf(x.a, "La note est déjà de %s.", new_text));
		return;
	}
	if (moved) {
		http_problem(req, 409, "La demande vient d'être modifiée par quelqu'un d'autre : relisez-la.");
		return;
	}
	if (rc == ENT_ENOTFOUND) {
		http_problem(req, 404, "La note contestée n'existe plus.");
		return;
	}
	if (rc == ENT_EINVAL) { /* the scale changed meanwhile */
		http_invalid(req, json_pack("{s:s}", "value", "doit être entre 0 et le barème de l'évaluation"));
		return;
	}
	if (rc) {
		http_problem_err(req, rc, "La note n'a pas pu être révisée.");
		return;
	}
	bus_kick();
	sup_live(x.t.col[T_ID], "ticket", 0);
	rc = notes_student_grade(x.c, x.a, x.t.col[T_EVALUATION], x.t.col[T_REQUESTER], &g);
	if (rc) {
		http_problem_err(req, rc == ENT_ENOTFOUND ? ENT_EDB : rc, "La note n'a pas pu être relue.");
		return;
	}
	grade_write(http_jw(req), x.c, x.a, &g, 1);
	http_reply_jw(req, 200);
}

const char *sup_contest_outcome(db_conn *c, arena *a, const struct sup_ticket *t)
{
	struct notes_grade_info g;
	if (notes_student_grade(c, a, t->col[T_EVALUATION], t->col[T_REQUESTER], &g))
		return NULL;
	db_stmt *s = SQL_PREP(c, "SELECT 1 FROM support_history WHERE ticket_id = ? AND field = 'grade'",
			      SQL_T(t->col[T_ID]));
	if (!s)
		return NULL;
	int rc = db_step(s);
	db_done(s);
	if (rc < 0)
		return NULL;
	if (rc == DB_ROW)
		return arena_printf(a,
				    "Votre demande de révision est traitée : votre note de « %s » (%s) a été révisée, "
				    "elle est maintenant de %s.",
				    g.evaluation_title, g.course_title, sup_grade_text(a, &g));
	return arena_printf(a,
			    "Votre demande de révision est traitée : votre note de « %s » (%s) est maintenue (%s). "
			    "Consultez la réponse de votre enseignant.",
			    g.evaluation_title, g.course_title, sup_grade_text(a, &g));
}
