/*
 * grades.c - entering grades, the audit trail, and the publication events.
 *
 * PUT /evaluations/{id}/grades saves a whole batch in one transaction: every line is checked first
 * (inside the transaction, after the evaluation row is locked), and one bad line saves nothing.
 * The lock is a no-op UPDATE of the evaluation row: on PostgreSQL (READ COMMITTED) it serialises
 * concurrent batches on one evaluation, so the old values written to the audit trail are exact;
 * on SQLite BEGIN IMMEDIATE already serialises writers.
 *
 * Visibility: an evaluation is visible to students once publish_at <= now. `notified` records
 * that its first announcement was written. Events (bus_publish, in the same transaction):
 *   - the first time a visible evaluation is handled (a batch saved after publish_at, a PATCH that
 *     moves publish_at to the past, or the background publisher when publish_at comes), ONE
 *     "note.published" with every student who has a grade shown (graded, absent, exempt), and
 *     notified = 1 set by a conditional UPDATE, so exactly one of them writes it;
 *   - later batches on an announced evaluation: "note.published" for students whose grade appears
 *     for the first time, "note.updated" for students whose visible grade changed.
 * The audit trail keeps every change of status or value of an existing grade made while the
 * evaluation is visible (entering a grade for the first time is not a change).
 *
 * notes_revise_grade() (notes.h: the support desk's grade contestation) changes one grade through
 * the same steps as one line of a batch: the lock, save_line(), after_lines(). So a revision writes
 * the same audit entry and the same "note.updated" as the teacher's grid would.
 *
 * The background publisher is one thread started by the service's start(): it wakes every 2 s
 * (or when stopped), finds visible evaluations not yet announced and announces each in its own
 * transaction, on the thread's own database connection.
 */
#include "internal.h"
#include "notes.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus.h"
#include "core/app.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

/* The evaluation fields an event carries. */
struct eval_info {
	char id[37], course_id[37];
	const char *title, *date, *publish_at;
	int scale, notified;
	int closed; /* its period's school year is closed: its grades no longer change */
};

static int eval_info_load(db_conn *c, arena *a, const char *id, struct eval_info *out)
{
	db_stmt *s = db_prepare(c,
				"SELECT e.course_id, e.title, e.held_on, e.scale, e.publish_at, e.notified, p.closed"
				" FROM notes_evaluations e JOIN notes_periods p ON p.id = e.period_id WHERE e.id = ?");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, id);
	int rc = db_step(s);
	if (rc == DB_ROW) {
		snprintf(out->id, sizeof(out->id), "%s", id);
		snprintf(out->course_id, sizeof(out->course_id), "%s", db_col_text(s, 0));
		out->title = arena_strdup(a, db_col_text(s, 1));
		out->date = arena_strdup(a, db_col_text(s, 2));
		out->scale = (int)db_col_int64(s, 3);
		out->publish_at = arena_strdup(a, db_col_text(s, 4));
		out->notified = (int)db_col_int64(s, 5);
		out->closed = (int)db_col_int64(s, 6);
		rc = ENT_OK;
	} else if (rc >= 0)
		rc = ENT_ENOTFOUND;
	db_done(s);
	return rc;
}

/* Writes one event of type for e with students (borrowed) on c. */
static int publish_event(db_conn *c, arena *a, const char *type, const struct eval_info *e, json_t *students)
{
	const char *course_title = cours_title(c, a, e->course_id);
	json_t *payload = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:i, s:O}", "evaluation_id", e->id, "evaluation_title",
				    e->title, "course_id", e->course_id, "course_title", course_title, "date", e->date,
				    "scale", e->scale, "students", students);
	if (!payload)
		return ENT_ENOMEM;
	int rc = bus_publish(c, "notes", type, payload, NULL);
	json_decref(payload);
	return rc;
}

int notes_publish_if_due(db_conn *c, arena *a, const char *eval_id, const char *now, int *published)
{
	*published = 0;
	db_stmt *s = db_prepare(
		c, "UPDATE notes_evaluations SET notified = 1 WHERE id = ? AND notified = 0 AND publish_at <= ?");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, eval_id);
	db_bind_text(s, 2, now);
	int rc = db_step(s);
	int64_t changed = rc >= 0 ? db_changes(s) : 0;
	db_done(s);
	if (rc < 0)
		return rc;
	if (changed != 1)
		return ENT_OK; /* not visible yet, or announced already */
	struct eval_info e;
	if ((rc = eval_info_load(c, a, eval_id, &e)))
		return rc;
	s = SQL_PREP(c,
		     "SELECT student_id FROM notes_grades WHERE evaluation_id = ? AND status <> 'not_graded' "
		     "ORDER BY student_id",
		     SQL_T(eval_id));
	if (!s)
		return ENT_EDB;
	json_t *students = json_array();
	while ((rc = db_step(s)) == DB_ROW)
		json_array_append_new(students, json_string(db_col_text(s, 0)));
	db_done(s);
	if (rc >= 0 && json_array_size(students)) {
		rc = publish_event(c, a, "note.published", &e, students);
		*published = rc == ENT_OK;
	}
	json_decref(students);
	return rc < 0 ? rc : ENT_OK;
}

/* ---- reading grades ---- */

struct grade_row {
	const char *student_id, *name, *status, *comment, *updated_at, *key;
	double value;
	int has_value;
};

/* Register order: the users service's sort key (users_sort_keys), then the id. */
static int by_key(const void *x, const void *y)
{
	const struct grade_row *a = x, *b = y;
	int d = strcmp(a->key ? a->key : "", b->key ? b->key : "");
	return d ? d : strcmp(a->student_id, b->student_id);
}

/* Writes {"items":[grade...]} of evaluation id into b, sorted by student name. */
static int grades_write(db_conn *c, arena *a, const char *id, buf *b)
{
	db_stmt *s = SQL_PREP(c,
			      "SELECT student_id, status, value, comment, updated_at FROM notes_grades "
			      "WHERE evaluation_id = ?",
			      SQL_T(id));
	if (!s)
		return ENT_EDB;
	size_t n = 0, cap = 32;
	struct grade_row *rows = arena_alloc(a, cap * sizeof(*rows));
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		rows = arena_grow(a, rows, n, &cap, sizeof(*rows));
		struct grade_row *r = &rows[n++];
		r->student_id = arena_strdup(a, db_col_text(s, 0));
		r->status = arena_strdup(a, db_col_text(s, 1));
		r->has_value = !db_col_is_null(s, 2);
		r->value = r->has_value ? db_col_double(s, 2) : 0;
		r->comment = db_col_text(s, 3) ? arena_strdup(a, db_col_text(s, 3)) : NULL;
		r->updated_at = arena_strdup(a, db_col_text(s, 4));
		r->name = NULL;
		r->key = NULL;
	}
	db_done(s);
	if (rc < 0)
		return rc;
	/* The students' names in one batch (users_names: the names users_get() gives, cheaper). */
	const char **ids = arena_alloc(a, (n ? n : 1) * sizeof(*ids)),
		   **names = arena_alloc(a, (n ? n : 1) * sizeof(*names));
	for (size_t i = 0; i < n; i++)
		ids[i] = rows[i].student_id;
	if ((rc = users_official_names(c, a, ids, n, names))) /* staff's list: the official names */
		return rc;
	const char **keys = arena_alloc(a, (n ? n : 1) * sizeof(*keys));
	if ((rc = users_sort_keys(c, a, ids, n, keys)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		rows[i].name = names[i];
		rows[i].key = keys[i];
	}
	qsort(rows, n, sizeof(*rows), by_key);
	jw w;
	jw_init(&w, b);
	jw_obj_open(&w);
	jw_key(&w, "items");
	jw_arr_open(&w);
	for (size_t i = 0; i < n; i++) {
		jw_obj_open(&w);
		jw_kstr(&w, "student_id", rows[i].student_id);
		jw_kstr(&w, "student_name", rows[i].name);
		jw_kstr(&w, "status", rows[i].status);
		jw_key(&w, "value");
		if (rows[i].has_value)
			jw_double(&w, rows[i].value);
		else
			jw_null(&w);
		jw_kstr(&w, "comment", rows[i].comment);
		jw_kstr(&w, "updated_at", rows[i].updated_at);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	return b->failed ? ENT_ETOOBIG : ENT_OK;
}

void notes_grades_get(http_req *req)
{
	char course[37];
	const char *id = http_param(req, "id");
	if (notes_eval_for_request(req, id, course))
		return;
	buf b;
	buf_init(&b, 0);
	int rc = grades_write(app_db(), http_arena(req), id, &b);
	if (rc) {
		buf_free(&b);
		http_problem_err(req, rc, "Les notes n'ont pas pu être lues.");
		return;
	}
	http_reply_buf(req, 200, "application/json", &b);
}

void notes_audit_get(http_req *req)
{
	char course[37];
	const char *id = http_param(req, "id");
	if (notes_eval_for_request(req, id, course))
		return;
	db_conn *c = app_db();
	arena *a = http_arena(req);
	db_stmt *s = db_prepare(
		c, "SELECT student_id, changed_by, changed_at, old_status, old_value, new_status, new_value "
		   "FROM notes_audit WHERE evaluation_id = ? ORDER BY seq");
	if (!s) {
		http_problem_err(req, ENT_EDB, "L'historique des modifications des notes n'a pas pu être lu.");
		return;
	}
	db_bind_text(s, 1, id);
	buf b;
	buf_init(&b, 0);
	jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "items");
	jw_arr_open(&w);
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		struct user su, cu;
		/* Names are looked up on this connection while the statement is open: a nested use is safe. */
		int sok = users_get(c, a, db_col_text(s, 0), &su) == ENT_OK;
		int cok = users_get(c, a, db_col_text(s, 1), &cu) == ENT_OK;
		jw_obj_open(&w);
		jw_kstr(&w, "student_id", db_col_text(s, 0));
		jw_kstr(&w, "student_name", sok ? su.official_name : NULL);
		jw_kstr(&w, "changed_by", db_col_text(s, 1));
		jw_kstr(&w, "changed_by_name", cok ? cu.official_name : NULL);
		jw_kstr(&w, "changed_at", db_col_text(s, 2));
		jw_kstr(&w, "old_status", db_col_text(s, 3));
		jw_key(&w, "old_value");
		if (db_col_is_null(s, 4))
			jw_null(&w);
		else
			jw_double(&w, db_col_double(s, 4));
		jw_kstr(&w, "new_status", db_col_text(s, 5));
		jw_key(&w, "new_value");
		if (db_col_is_null(s, 6))
			jw_null(&w);
		else
			jw_double(&w, db_col_double(s, 6));
		jw_obj_close(&w);
	}
	db_done(s);
	if (rc < 0) {
		buf_free(&b);
		http_problem_err(req, rc, "L'historique des modifications des notes n'a pas pu être lu.");
		return;
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	http_reply_buf(req, 200, "application/json", &b);
}

/* ---- entering grades ---- */

struct line {
	const char *student_id, *comment;
	int status;
	double value;
};

/* Adds "grades[i].field": msg to errors. */
static void line_error(json_t *errors, size_t i, const char *field, const char *code, const char *msg)
{
	char key[64];
	snprintf(key, sizeof(key), "grades[%zu].%s", i, field);
	if (!json_object_get(errors, key))
		json_field_error(errors, key, code, msg);
}

/* 1 if class_id is one of classes[0..n). */
static int in_list(const char *const *classes, int n, const char *class_id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(classes[i], class_id) == 0)
			return 1;
	return 0;
}

/* 1 if the student already has a grade for the evaluation (kept when they changed class). */
static int has_grade(db_conn *c, const char *eval_id, const char *student)
{
	int rc = SQL_RUN(c, "SELECT 1 FROM notes_grades WHERE evaluation_id = ? AND student_id = ?", SQL_T(eval_id),
			 SQL_T(student));
	return rc < 0 ? rc : rc == DB_ROW;
}

/*
 * Checks every line of the batch against the evaluation (scale) and the course's classes. Fills
 * lines[] and adds field errors. Returns 0, or a negative ent_err for a failure to check.
 */
static int check_lines(db_conn *c, arena *a, json_t *arr, const struct eval_info *e, struct line *lines, json_t *errors)
{
	const char **classes;
	int ncls = cours_classes_of(c, a, e->course_id, &classes);
	if (ncls < 0)
		return ncls;
	int rc;
	static const char *const statuses[] = {"graded", "absent", "exempt", "not_graded", NULL};
	static const struct jfield fields[] = {
		{"student_id", JF_UUID, 1, 0, 0, 0, NULL},
		{"status", JF_STRING, 1, 0, 0, 0, statuses},
		{"value", JF_NUMBER, 0, 1, 0, 0, NULL},
		{"comment", JF_STRING, 0, 1, 0, 1000, NULL},
	};
	size_t i;
	json_t *item;
	json_array_foreach (arr, i, item) {
		struct line *l = &lines[i];
		memset(l, 0, sizeof(*l));
		if (!json_is_object(item)) {
			char key[32];
			snprintf(key, sizeof(key), "grades[%zu]", i);
			json_field_error(errors, key, "not_object", "doit être un objet");
			continue;
		}
		json_t *errs = json_object();
		json_check(item, fields, sizeof(fields) / sizeof(fields[0]), errs);
		const char *k;
		json_t *v;
		json_object_foreach (errs, k, v) {
			char key[64];
			snprintf(key, sizeof(key), "grades[%zu].%s", i, k);
			json_object_set(errors, key, v); /* message and code as json_check gave them */
		}
		int bad_student = json_object_get(errs, "student_id") != NULL;
		int bad_status = json_object_get(errs, "status") != NULL;
		int bad_value = json_object_get(errs, "value") != NULL;
		json_decref(errs);
		l->student_id = json_get_str(item, "student_id", NULL);
		l->status = notes_status_parse(json_get_str(item, "status", NULL));
		l->comment = json_get_str(item, "comment", NULL);
		json_t *val = json_object_get(item, "value");
		if (!bad_status && !bad_value) {
			if (l->status == NG_GRADED) {
				if (!json_is_number(val))
					line_error(errors, i, "value", "required",
						   "est obligatoire pour une note saisie (statut graded)");
				else {
					l->value = json_number_value(val);
					if (!isfinite(l->value) || l->value < 0 || l->value > e->scale) {
						char msg[64];
						snprintf(msg, sizeof(msg),
							 "doit être comprise entre 0 et %d (le barème)", e->scale);
						line_error(errors, i, "value", "range", msg);
					}
				}
			} else if (val && !json_is_null(val))
				line_error(errors, i, "value", "not_null",
					   "doit être vide quand l'élève n'a pas de note (absent, dispensé, non noté)");
		}
		if (bad_student)
			continue;
		for (size_t j = 0; j < i; j++)
			if (lines[j].student_id && strcmp(lines[j].student_id, l->student_id) == 0) {
				line_error(errors, i, "student_id", "duplicate", "apparaît deux fois dans l'envoi");
				bad_student = 1;
				break;
			}
		if (bad_student)
			continue;
		char cls[37];
		rc = users_student_class(c, l->student_id, cls);
		if (rc && rc != ENT_ENOTFOUND)
			return rc;
		if (rc == ENT_OK && in_list(classes, ncls, cls))
			continue;
		rc = has_grade(c, e->id, l->student_id);
		if (rc < 0)
			return rc;
		if (!rc)
			line_error(errors, i, "student_id", "not_in_course", "n'est pas un élève des classes du cours");
	}
	return ENT_OK;
}

/* Old state of a grade row. */
struct old_grade {
	int exists, status, has_value;
	double value;
	const char *comment;
};

static int old_load(db_conn *c, arena *a, const char *eval_id, const char *student, struct old_grade *o)
{
	memset(o, 0, sizeof(*o));
	db_stmt *s = db_prepare(
		c, "SELECT status, value, comment FROM notes_grades WHERE evaluation_id = ? AND student_id = ?");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, eval_id);
	db_bind_text(s, 2, student);
	int rc = db_step(s);
	if (rc == DB_ROW) {
		o->exists = 1;
		o->status = notes_status_parse(db_col_text(s, 0));
		o->has_value = !db_col_is_null(s, 1);
		o->value = o->has_value ? db_col_double(s, 1) : 0;
		o->comment = db_col_text(s, 2) ? arena_strdup(a, db_col_text(s, 2)) : NULL;
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

static void bind_value(db_stmt *s, int idx, int status, double v)
{
	if (status == NG_GRADED)
		db_bind_double(s, idx, v);
	else
		db_bind_null(s, idx);
}

static int audit_add(db_conn *c, const char *eval_id, const struct line *l, const struct old_grade *o, const char *who,
		     const char *now)
{
	char id[37];
	util_uuid(id);
	db_stmt *s = db_prepare(
		c,
		"INSERT INTO notes_audit (id, evaluation_id, seq, student_id, changed_by, changed_at,"
		" old_status, old_value, new_status, new_value) VALUES (?, ?,"
		" (SELECT COALESCE(MAX(seq), 0) + 1 FROM notes_audit WHERE evaluation_id = ?), ?, ?, ?, ?, ?, ?, ?)");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, id);
	db_bind_text(s, 2, eval_id);
	db_bind_text(s, 3, eval_id);
	db_bind_text(s, 4, l->student_id);
	db_bind_text(s, 5, who);
	db_bind_text(s, 6, now);
	db_bind_text(s, 7, notes_status_name(o->status));
	if (o->has_value)
		db_bind_double(s, 8, o->value);
	else
		db_bind_null(s, 8);
	db_bind_text(s, 9, notes_status_name(l->status));
	bind_value(s, 10, l->status, l->value);
	int rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/* Saves one line; records the audit row and sorts the student into the event lists. */
static int save_line(db_conn *c, arena *a, const struct eval_info *e, int visible, const struct line *l,
		     const char *who, const char *now, json_t *appeared, json_t *changed)
{
	struct old_grade o;
	int rc = old_load(c, a, e->id, l->student_id, &o);
	if (rc)
		return rc;
	int same_grade = o.exists && o.status == l->status && (l->status != NG_GRADED || o.value == l->value);
	int same_comment = (!o.comment && !l->comment) ||
			   (o.comment && l->comment && strcmp(o.comment, l->comment) == 0);
	if (same_grade && same_comment)
		return ENT_OK;
	db_stmt *s = db_prepare(
		c, "INSERT INTO notes_grades (evaluation_id, student_id, status, value, comment, updated_by,"
		   " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (evaluation_id, student_id) DO UPDATE"
		   " SET status = excluded.status, value = excluded.value, comment = excluded.comment,"
		   " updated_by = excluded.updated_by, updated_at = excluded.updated_at");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, e->id);
	db_bind_text(s, 2, l->student_id);
	db_bind_text(s, 3, notes_status_name(l->status));
	bind_value(s, 4, l->status, l->value);
	db_bind_text_or_null(s, 5, l->comment);
	db_bind_text(s, 6, who);
	db_bind_text(s, 7, now);
	rc = db_step(s);
	db_done(s);
	if (rc < 0)
		return rc;
	if (!visible || same_grade)
		return ENT_OK;
	if (o.exists && (rc = audit_add(c, e->id, l, &o, who, now)))
		return rc;
	int was_shown = o.exists && o.status != NG_NOT_GRADED;
	if (!was_shown && l->status != NG_NOT_GRADED)
		json_array_append_new(appeared, json_string(l->student_id));
	else if (was_shown)
		json_array_append_new(changed, json_string(l->student_id));
	return ENT_OK;
}

/*
 * What follows the lines of a change saved on evaluation e: the events, then the class figures
 * (stats.c), in the same transaction. *events is set when an event was written (bus_kick() after
 * the commit).
 */
static int after_lines(db_conn *c, arena *a, const struct eval_info *e, int visible, const char *now, json_t *appeared,
		       json_t *changed, int *events)
{
	int rc;
	*events = 0;
	if (visible) {
		/* First announcement (covers grades saved before publish_at), else what this change did. */
		int published = 0;
		if ((rc = notes_publish_if_due(c, a, e->id, now, &published)))
			return rc;
		*events = published;
		if (!published && e->notified) {
			if (json_array_size(appeared) && (rc = publish_event(c, a, "note.published", e, appeared)))
				return rc;
			if (json_array_size(changed) && (rc = publish_event(c, a, "note.updated", e, changed)))
				return rc;
			*events = json_array_size(appeared) || json_array_size(changed);
		}
	}
	return notes_stats_refresh_eval(c, a, e->id, e->id, now);
}

/* Locks evaluation id's row (see the top of the file): ENT_ENOTFOUND when it is gone. */
static int eval_lock(db_conn *c, const char *id)
{
	db_stmt *s = SQL_PREP(c, "UPDATE notes_evaluations SET updated_at = updated_at WHERE id = ?", SQL_T(id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc >= 0)
		rc = db_changes(s) == 1 ? ENT_OK : ENT_ENOTFOUND;
	db_done(s);
	return rc;
}

void notes_grades_put(http_req *req)
{
	char course[37];
	const char *id = http_param(req, "id");
	json_t *body = notes_eval_body(req, id, course);
	if (!body)
		return;
	static const struct jfield top[] = {{"grades", JF_ARRAY, 1, 0, 1, 2000, NULL}};
	json_t *errors = json_object();
	if (json_check(body, top, 1, errors)) {
		http_problem_errors(req, 400, "Certaines notes sont à corriger.", errors);
		return;
	}
	db_conn *c = app_db();
	arena *a = http_arena(req);
	const struct http_principal *p = http_principal(req);
	json_t *arr = json_object_get(body, "grades");
	struct line *lines = arena_calloc(a, json_array_size(arr), sizeof(*lines));
	json_t *appeared = json_array(), *changed = json_array();
	char now[21];
	notes_now(now);
	int events = 0;
	struct eval_info e;
	int rc = db_begin(c);
	if (rc)
		goto out;
	/* Locks the evaluation row; ENT_ENOTFOUND: deleted meanwhile. */
	rc = eval_lock(c, id);
	if (rc || (rc = eval_info_load(c, a, id, &e)))
		goto fail;
	if (e.closed) {
		db_rollback(c);
		json_decref(errors);
		json_decref(appeared);
		json_decref(changed);
		http_problem_code(req, 409, "year_closed",
				  "l'année scolaire de cette évaluation est close : ses notes ne changent plus");
		return;
	}
	if ((rc = check_lines(c, a, arr, &e, lines, errors)))
		goto fail;
	if (json_object_size(errors)) {
		db_rollback(c);
		json_decref(appeared);
		json_decref(changed);
		http_problem_errors(req, 400, "Certaines notes sont à corriger : aucune n'a été enregistrée.", errors);
		return;
	}
	int visible = strcmp(e.publish_at, now) <= 0;
	for (size_t i = 0; i < json_array_size(arr); i++)
		if ((rc = save_line(c, a, &e, visible, &lines[i], p->sub, now, appeared, changed)))
			goto fail;
	if ((rc = after_lines(c, a, &e, visible, now, appeared, changed, &events)))
		goto fail;
	rc = db_commit(c);
	if (rc)
		goto fail;
	if (events)
		bus_kick();
	goto out;
fail:
	db_rollback(c);
out:
	json_decref(errors);
	json_decref(appeared);
	json_decref(changed);
	if (rc) {
		http_problem_err(req, rc,
				 rc == ENT_ENOTFOUND ? "Cette évaluation n'existe pas."
						     : "Les notes n'ont pas pu être enregistrées.");
		return;
	}
	buf b;
	buf_init(&b, 0);
	rc = grades_write(c, a, id, &b);
	if (rc) {
		buf_free(&b);
		http_problem_err(req, rc, "Les notes n'ont pas pu être lues.");
		return;
	}
	http_reply_buf(req, 200, "application/json", &b);
}

int notes_revise_grade(db_conn *c, arena *a, const char *evaluation_id, const char *student_id, double value,
		       const char *by, struct notes_grade_info *before)
{
	struct notes_grade_info old_;
	struct notes_grade_info *o = before ? before : &old_;
	memset(o, 0, sizeof(*o));
	if (!c)
		return ENT_EUNAVAIL;
	if (!util_is_uuid(evaluation_id) || !util_is_uuid(student_id))
		return ENT_ENOTFOUND;
	struct eval_info e;
	int rc = eval_lock(c, evaluation_id);
	if (rc || (rc = eval_info_load(c, a, evaluation_id, &e)))
		return rc;
	/* Read under the lock: the old value the audit trail and the caller get is exact. */
	if ((rc = notes_student_grade(c, a, evaluation_id, student_id, o)))
		return rc;
	if (!isfinite(value) || value < 0 || value > e.scale)
		return ENT_EINVAL;
	char now[21];
	notes_now(now);
	struct line l = {.student_id = student_id, .comment = o->comment, .status = NG_GRADED, .value = value};
	json_t *appeared = json_array(), *changed = json_array();
	int visible = strcmp(e.publish_at, now) <= 0, events = 0;
	rc = save_line(c, a, &e, visible, &l, by, now, appeared, changed);
	if (!rc)
		rc = after_lines(c, a, &e, visible, now, appeared, changed, &events);
	json_decref(appeared);
	json_decref(changed);
	return rc;
}

int notes_load_grades(db_conn *c, arena *a, struct notes_eval *e)
{
	db_stmt *s = SQL_PREP(c,
			      "SELECT student_id, status, value, comment, updated_at FROM notes_grades "
			      "WHERE evaluation_id = ? ORDER BY student_id",
			      SQL_T(e->id));
	if (!s)
		return ENT_EDB;
	size_t cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		e->grades = arena_grow(a, e->grades, e->ngrades, &cap, sizeof(*e->grades));
		struct notes_grade *g = &e->grades[e->ngrades++];
		g->student_id = arena_strdup(a, db_col_text(s, 0));
		g->status = notes_status_parse(db_col_text(s, 1));
		g->value = db_col_is_null(s, 2) ? 0 : db_col_double(s, 2);
		g->comment = db_col_text(s, 3) ? arena_strdup(a, db_col_text(s, 3)) : NULL;
		g->updated_at = arena_strdup(a, db_col_text(s, 4));
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/* ---- the background publisher ---- */

static pthread_t publisher;
static int publisher_running;
static int publisher_stop;
static pthread_mutex_t publisher_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t publisher_cv = PTHREAD_COND_INITIALIZER;

#define PUBLISH_INTERVAL_S 2
#define PUBLISH_BATCH 100

/* Announces every evaluation that became visible and was not announced. Returns how many. */
static int publish_due(db_conn *c)
{
	arena *a = arena_new(0);
	char now[21];
	notes_now(now);
	/*
	 * The first PUBLISH_BATCH due evaluations of courses that exist: those of a course the cours
	 * service deleted are never announced, so they are skipped (read past, NOTES_BATCH at a time,
	 * their courses asked about in one batch) and never hold up the others.
	 */
	char **ids = arena_alloc(a, PUBLISH_BATCH * sizeof(*ids));
	int n = 0, rc = ENT_OK;
	const char *after_pub = NULL, *after_id = NULL;
	for (int more = 1; more && n < PUBLISH_BATCH;) {
		db_stmt *s = SQL_PREP(c,
				      "SELECT e.id, e.course_id, e.publish_at FROM notes_evaluations e"
				      " WHERE e.notified = 0 AND e.publish_at <= ?"
				      " AND (CAST(? AS TEXT) IS NULL OR (e.publish_at, e.id) > (?, ?))"
				      " ORDER BY e.publish_at, e.id LIMIT ?",
				      SQL_T(now), SQL_T(after_id), SQL_T(after_pub), SQL_T(after_id),
				      SQL_I(NOTES_BATCH));
		if (!s) {
			arena_free(a);
			return ENT_EDB;
		}
		char *eid[NOTES_BATCH];
		const char *cid[NOTES_BATCH];
		size_t m = 0;
		while (m < NOTES_BATCH && (rc = db_step(s)) == DB_ROW) {
			eid[m] = arena_strdup(a, db_col_text(s, 0));
			cid[m] = arena_strdup(a, db_col_text(s, 1));
			after_pub = arena_strdup(a, db_col_text(s, 2));
			after_id = eid[m++];
		}
		db_done(s);
		if (rc < 0)
			break;
		struct cours_brief kb[NOTES_BATCH];
		if (m && (rc = cours_describe(c, a, cid, m, kb)) < 0)
			break;
		rc = ENT_OK;
		for (size_t i = 0; i < m && n < PUBLISH_BATCH; i++)
			if (kb[i].title)
				ids[n++] = eid[i];
		more = m == NOTES_BATCH;
	}
	int done = 0;
	for (int i = 0; i < n; i++) {
		int published = 0;
		if ((rc = db_begin(c)))
			break;
		rc = notes_publish_if_due(c, a, ids[i], now, &published);
		/* Visible now: the subject's figures count it from now on. */
		if (!rc)
			rc = notes_stats_refresh_eval(c, a, ids[i], ids[i], now);
		if (!rc)
			rc = db_commit(c);
		if (rc) {
			db_rollback(c);
			log_job_failed(rc, "notes: evaluation %s could not be announced", ids[i]);
			continue;
		}
		done += published;
	}
	arena_free(a);
	if (done)
		bus_kick();
	return done;
}

static int publisher_stopping(void)
{
	pthread_mutex_lock(&publisher_mu);
	int stop = publisher_stop;
	pthread_mutex_unlock(&publisher_mu);
	return stop;
}

static void *publisher_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&publisher_mu);
	while (!publisher_stop) {
		pthread_mutex_unlock(&publisher_mu);
		db_conn *c = app_db();
		if (c) {
			publish_due(c);
			/* Figures queued by a migration (an existing database): computed in batches. */
			int rc = notes_stats_drain(c, publisher_stopping);
			if (rc < 0)
				log_job_failed(rc, "notes: class figures could not be computed");
		}
		pthread_mutex_lock(&publisher_mu);
		if (publisher_stop)
			break;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += PUBLISH_INTERVAL_S;
		while (!publisher_stop && pthread_cond_timedwait(&publisher_cv, &publisher_mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&publisher_mu);
	return NULL;
}

int notes_start(void)
{
	publisher_stop = 0;
	if (pthread_create(&publisher, NULL, publisher_main, NULL))
		return ENT_EINTERNAL;
	publisher_running = 1;
	return ENT_OK;
}

void notes_stop(void)
{
	if (!publisher_running)
		return;
	pthread_mutex_lock(&publisher_mu);
	publisher_stop = 1;
	pthread_cond_broadcast(&publisher_cv);
	pthread_mutex_unlock(&publisher_mu);
	pthread_join(publisher, NULL);
	publisher_running = 0;
}
