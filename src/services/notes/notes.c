/*
 * notes.c - the notes service: periods, evaluations, who may touch them, and the service table.
 *
 * A period is a part of a school year (a trimester, a semester). An evaluation belongs to a
 * course (owned by the cours service) and a period, with a date, a coefficient, a scale (/20,
 * /10, /100 ...) and a publication time before which students see neither it nor its grades.
 * The tables and their migrations are in schema.c; grades, the audit trail and the publication
 * events in grades.c; report cards in report.c, the class grid in grid.c; the average rules in
 * calc.c.
 *
 * Access: admins everything; a teacher only the courses they teach (403 on another course, 404
 * when the course or evaluation does not exist); students never reach the evaluation routes
 * (403 by the route table) and read their own grades through /api/notes/me.
 *
 * The courses, their teachers and classes come from the cours service's C interface (cours.h),
 * students, names and classes from the users service's (users.h): no statement here names another
 * service's table. An evaluation whose course the cours service deleted stays in notes_evaluations
 * but is never shown.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/app.h"
#include "core/err.h"
#include "core/json.h"
#include "core/page.h"
#include "core/row.h"
#include "core/service.h"
#include "core/util.h"
#include "core/sql.h"
#include "bus/bus.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

void notes_now(char out[21]) { util_time_rfc3339(time(NULL), out); }

int notes_valid_date(const char *s)
{
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return !(m == 2 && d == 29 && !leap);
}

static int valid_school_year(const char *y)
{
	if (!y || strlen(y) != 9 || y[4] != '-')
		return 0;
	int a = 0, b = 0;
	for (int i = 0; i < 9; i++) {
		if (i == 4)
			continue;
		if (y[i] < '0' || y[i] > '9')
			return 0;
		if (i < 4)
			a = a * 10 + (y[i] - '0');
		else
			b = b * 10 + (y[i] - '0');
	}
	return b == a + 1;
}

/* Copies the first text column of sql run with one parameter into the arena; NULL if no row. */
static const char *one_text(db_conn *c, arena *a, const char *sql, const char *param)
{
	db_stmt *s = SQL_PREP(c, sql, SQL_T(param));
	if (!s)
		return NULL;
	const char *out = NULL;
	if (db_step(s) == DB_ROW && db_col_text(s, 0))
		out = arena_strdup(a, db_col_text(s, 0));
	db_done(s);
	return out;
}

void notes_bind_ids(db_stmt *s, int first, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < NOTES_BATCH; i++) {
		if (i < n)
			db_bind_text(s, first + (int)i, ids[i]);
		else
			db_bind_null(s, first + (int)i);
	}
}

int notes_graded_in(db_conn *c, const char *student_id, const char *const *courses, size_t n)
{
	for (size_t at = 0; at < n; at += NOTES_BATCH) {
		db_stmt *s = db_prepare(
			c, "SELECT 1 FROM notes_grades g JOIN notes_evaluations e ON e.id = g.evaluation_id"
			   " WHERE g.student_id = ? AND e.course_id IN " NOTES_IN16 " LIMIT 1");
		if (!s)
			return ENT_EDB;
		db_bind_text(s, 1, student_id);
		notes_bind_ids(s, 2, courses + at, n - at);
		int rc = db_step(s);
		db_done(s);
		if (rc != DB_DONE)
			return rc == DB_ROW ? 1 : rc;
	}
	return 0;
}

int notes_course_access(db_conn *c, const char *course_id, const char *user_id, unsigned roles)
{
	/* Grades are for the course's teachers and admins: the cours service says who they are. */
	int rc = cours_access(c, course_id, user_id, roles & (ROLE_ADMIN | ROLE_ENSEIGNANT));
	if (rc < 0)
		return rc;
	if (rc == COURS_EDIT)
		return NOTES_EDIT;
	rc = cours_exists(c, course_id);
	return rc < 0 ? rc : rc ? NOTES_DENIED : NOTES_NOCOURSE;
}

int notes_eval_for_request(http_req *req, const char *id, char course_id[37])
{
	db_conn *c = http_db(req);
	if (!c)
		return -1;
	if (!util_is_uuid(id)) {
		http_problem(req, 404, "Cette évaluation n'existe pas.");
		return -1;
	}
	const char *cid = one_text(c, http_arena(req), "SELECT course_id FROM notes_evaluations WHERE id = ?", id);
	if (!cid) {
		http_problem(req, 404, "Cette évaluation n'existe pas.");
		return -1;
	}
	const struct http_principal *p = http_principal(req);
	int acc = notes_course_access(c, cid, p->sub, p->roles);
	if (acc < 0) {
		http_problem_err(req, acc, "L'évaluation n'a pas pu être lue.");
		return -1;
	}
	/* An evaluation whose course the cours service deleted is gone with it. */
	if (acc == NOTES_NOCOURSE) {
		http_problem(req, 404, "Cette évaluation n'existe pas.");
		return -1;
	}
	if (acc != NOTES_EDIT) {
		http_problem(
			req, 403,
			"Seuls les enseignants du cours et les administrateurs peuvent voir ou modifier ses notes.");
		return -1;
	}
	snprintf(course_id, 37, "%s", cid);
	return 0;
}

json_t *notes_eval_body(http_req *req, const char *id, char course_id[37])
{
	return notes_eval_for_request(req, id, course_id) ? NULL : http_json_body(req);
}

/* Answers a validation problem from errors when it is not empty; returns 1 if it answered. */
static int invalid(http_req *req, json_t *errors, const char *detail)
{
	if (json_object_size(errors)) {
		http_problem_errors(req, 400, detail, errors);
		return 1;
	}
	json_decref(errors);
	return 0;
}

/* Answers the reply from a jw buffer (or 500 when it overflowed). */
static void reply_buf(http_req *req, int status, buf *b)
{
	if (b->failed) {
		buf_free(b);
		http_problem(req, 500, "La réponse n'a pas pu être préparée : réessayez.");
		return;
	}
	http_reply_buf(req, status, "application/json", b);
}

/* Checks ?period_id=: NULL when absent; answers 400 and sets *bad when it is not a period. */
const char *notes_period_arg(http_req *req, db_conn *c, int *bad)
{
	*bad = 0;
	const char *p = http_query(req, "period_id");
	if (!p)
		return NULL;
	int ok = 0;
	if (util_is_uuid(p)) {
		db_stmt *s = db_prepare(c, "SELECT 1 FROM notes_periods WHERE id = ?");
		if (s) {
			db_bind_text(s, 1, p);
			ok = db_step(s) == DB_ROW;
			db_done(s);
		}
	}
	if (!ok) {
		json_t *errors = json_object();
		json_field_error(errors, "period_id", "no_such_period", "ne désigne aucune période");
		http_problem_errors(req, 400, "Les critères de la demande sont à corriger.", errors);
		*bad = 1;
	}
	return p;
}

/* ---- periods ---- */

#define PERIOD_COLS "id, name, school_year, starts_on, ends_on, created_at, updated_at, closed"

static void period_write(jw *w, db_stmt *s, void *ctx)
{
	(void)ctx;
	jw_obj_open(w);
	jw_kstr(w, "id", db_col_text(s, 0));
	jw_kstr(w, "name", db_col_text(s, 1));
	jw_kstr(w, "school_year", db_col_text(s, 2));
	jw_kstr(w, "starts_on", db_col_text(s, 3));
	jw_kstr(w, "ends_on", db_col_text(s, 4));
	jw_kstr(w, "created_at", db_col_text(s, 5));
	jw_kstr(w, "updated_at", db_col_text(s, 6));
	jw_kbool(w, "closed", db_col_int64(s, 7) != 0);
	jw_obj_close(w);
}

/* Answers one period with status, or 404. */
static void period_reply(http_req *req, db_conn *c, const char *id, int status)
{
	db_stmt *s = row_get(req, c, "SELECT " PERIOD_COLS " FROM notes_periods WHERE id = ?", id,
			     "La période n'a pas pu être lue.", "Cette période n'existe pas.");
	if (!s)
		return;
	buf b;
	buf_init(&b, 0);
	jw w;
	jw_init(&w, &b);
	period_write(&w, s, NULL);
	db_done(s);
	reply_buf(req, status, &b);
}

static void periods_list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "notes_periods", 2))
		return;
	json_t *errors = json_object();
	const char *year = http_query(req, "school_year");
	if (year && !valid_school_year(year))
		json_field_error(errors, "school_year", "not_school_year",
				 "doit être une année scolaire comme 2026-2027");
	if (invalid(req, errors, "Les critères de la demande sont à corriger."))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	db_stmt *s = db_prepare(c, "SELECT " PERIOD_COLS " FROM notes_periods p WHERE"
				   " (CAST(? AS TEXT) IS NULL OR p.school_year = ?)"
				   " AND (CAST(? AS TEXT) IS NULL OR (p.starts_on, p.id) > (?, ?))"
				   " ORDER BY p.starts_on, p.id LIMIT ?");
	if (!s) {
		http_problem_err(req, ENT_EDB, "La liste des périodes n'a pas pu être lue.");
		return;
	}
	db_bind_text(s, 1, year);
	db_bind_text(s, 2, year);
	db_bind_text(s, 3, pg.after[1]); /* the "no cursor" switch */
	db_bind_text(s, 4, pg.after[0]);
	db_bind_text(s, 5, pg.after[1]);
	db_bind_int64(s, 6, page_fetch(&pg));
	static const char *const keep[] = {"school_year", "limit", NULL};
	/* Keys: starts_on, id. */
	page_rows(&pg, s, (const int[]){3, 0}, period_write, NULL, "La liste des périodes n'a pas pu être lue.", keep);
}

/* Checks a period's fields after json_check: year format, dates, order. */
static void check_period(const char *year, const char *starts, const char *ends, json_t *errors)
{
	if (year && !valid_school_year(year))
		json_field_error(errors, "school_year", "not_school_year",
				 "doit être une année scolaire comme 2026-2027");
	if (starts && !notes_valid_date(starts))
		json_field_error(errors, "starts_on", "not_date", "doit être une date AAAA-MM-JJ");
	if (ends && !notes_valid_date(ends))
		json_field_error(errors, "ends_on", "not_date", "doit être une date AAAA-MM-JJ");
	else if (starts && ends && notes_valid_date(starts) && strcmp(starts, ends) > 0)
		json_field_error(errors, "ends_on", "dates_order", "ne doit pas précéder starts_on");
}

/*
 * Checks a period's fields, all required for a creation (create), none for a change; the dates
 * missing from a change are the period's (cur_starts, cur_ends). 0, or -1 after answering 400.
 */
static const struct jfield period_fields[] = {
	{"name", JF_STRING, 1, 0, 1, 100, NULL},
	{"school_year", JF_STRING, 1, 0, 9, 9, NULL},
	{"starts_on", JF_STRING, 1, 0, 10, 10, NULL},
	{"ends_on", JF_STRING, 1, 0, 10, 10, NULL},
};
#define all period_fields

static int period_check(http_req *req, const json_t *body, int create, const char *cur_starts, const char *cur_ends)
{
	struct jfield fields[sizeof(all) / sizeof(all[0])];
	memcpy(fields, all, sizeof(fields));
	for (size_t i = 0; !create && i < sizeof(all) / sizeof(all[0]); i++)
		fields[i].required = 0;
	json_t *errors = json_object();
	if (!json_check(body, fields, sizeof(all) / sizeof(all[0]), errors))
		check_period(json_get_str(body, "school_year", NULL), json_get_str(body, "starts_on", cur_starts),
			     json_get_str(body, "ends_on", cur_ends), errors);
	return invalid(req, errors, "Certains champs de la période sont à corriger.") ? -1 : 0;
}
#undef all

/* Answers the write rc of period id: 409 for a name taken, the failure, or the period with status. */
static void period_saved(http_req *req, db_conn *c, int rc, const char *id, int status, const char *failed)
{
	if (rc == ENT_ECONFLICT) {
		http_problem(req, 409,
			     "Une période porte déjà ce nom pour cette année scolaire : choisissez-en un autre.");
		return;
	}
	if (rc < 0) {
		http_problem_err(req, rc, failed);
		return;
	}
	if (status == 201)
		http_set_header(req, "Location", arena_printf(http_arena(req), "/api/notes/periods/%s", id));
	period_reply(req, c, id, status);
}

static void period_create(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	if (period_check(req, body, 1, NULL, NULL))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	char id[37], now[21];
	util_uuid(id);
	notes_now(now);
	int rc = SQL_RUN(c,
			 "INSERT INTO notes_periods (id, name, school_year, starts_on, ends_on, created_at,"
			 " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			 SQL_T(id), SQL_T(json_get_str(body, "name", "")), SQL_T(json_get_str(body, "school_year", "")),
			 SQL_T(json_get_str(body, "starts_on", "")), SQL_T(json_get_str(body, "ends_on", "")),
			 SQL_T(now), SQL_T(now));
	period_saved(req, c, rc, id, 201, "La période n'a pas pu être créée.");
}

static void period_patch(http_req *req)
{
	const char *id = http_param(req, "id");
	json_t *body = http_json_body(req);
	if (!body)
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	const char *cur_starts = util_is_uuid(id)
					 ? one_text(c, a, "SELECT starts_on FROM notes_periods WHERE id = ?", id)
					 : NULL;
	if (!cur_starts) {
		http_problem(req, 404, "Cette période n'existe pas.");
		return;
	}
	const char *cur_ends = one_text(c, a, "SELECT ends_on FROM notes_periods WHERE id = ?", id);
	if (period_check(req, body, 0, cur_starts, cur_ends))
		return;
	char now[21];
	notes_now(now);
	int rc = SQL_RUN(c,
			 "UPDATE notes_periods SET name = COALESCE(?, name), school_year = COALESCE(?, school_year),"
			 " starts_on = COALESCE(?, starts_on), ends_on = COALESCE(?, ends_on), updated_at = ?"
			 " WHERE id = ?",
			 SQL_T(json_get_str(body, "name", NULL)), SQL_T(json_get_str(body, "school_year", NULL)),
			 SQL_T(json_get_str(body, "starts_on", NULL)), SQL_T(json_get_str(body, "ends_on", NULL)),
			 SQL_T(now), SQL_T(id));
	period_saved(req, c, rc, id, 200, "La période n'a pas pu être modifiée.");
}

static void period_delete(http_req *req)
{
	const char *id = http_param(req, "id");
	db_conn *c = http_db(req);
	if (!c)
		return;
	if (!util_is_uuid(id) || db_exists(c, "SELECT 1 FROM notes_periods WHERE id = ?", id, NULL) != 1) {
		http_problem(req, 404, "Cette période n'existe pas.");
		return;
	}
	/* One statement, so that an evaluation added meanwhile keeps its period (or the FK refuses). */
	db_stmt *s = db_prepare(c, "DELETE FROM notes_periods WHERE id = ? AND NOT EXISTS "
				   "(SELECT 1 FROM notes_evaluations WHERE period_id = ?)");
	int rc = ENT_EDB;
	if (s) {
		db_bind_text(s, 1, id);
		db_bind_text(s, 2, id);
		rc = db_step(s);
		if (rc >= 0)
			rc = db_changes(s) == 1 ? ENT_OK : ENT_ECONFLICT;
		db_done(s);
	}
	if (rc == ENT_ECONFLICT || rc == ENT_EINVAL)
		http_problem(
			req, 409,
			"Des évaluations utilisent cette période : supprimez-les ou rattachez-les d'abord à une autre période.");
	else if (rc < 0)
		http_problem_err(req, rc, "La période n'a pas pu être supprimée.");
	else
		http_reply_empty(req, 204);
}

/*
 * PUT /api/notes/school-years/{year} {"closed": true|false}: an administrator closes a school year
 * that is over (every period ended before today; 409 year_not_over otherwise) or opens it again.
 * In a closed year no evaluation is added or changed and no grade is saved (409 year_closed); the
 * portal offers only the open years' periods. Answers the year's periods.
 */
static void year_put(http_req *req)
{
	const char *year = http_param(req, "year");
	if (!valid_school_year(year)) {
		http_problem(req, 404, "aucune année scolaire de ce nom");
		return;
	}
	json_t *body = http_json_body(req);
	if (!body)
		return;
	static const struct jfield fields[] = {{"closed", JF_BOOL, 1, 0, 0, 0, NULL}};
	json_t *errors = json_object();
	json_check(body, fields, 1, errors);
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	int closed = json_is_true(json_object_get(body, "closed"));
	if (db_exists(c, "SELECT 1 FROM notes_periods WHERE school_year = ?", year, NULL) != 1) {
		http_problem(req, 404, "aucune période pour cette année scolaire");
		return;
	}
	char now[21], today[11];
	notes_now(now);
	snprintf(today, sizeof(today), "%.10s", now);
	if (closed &&
	    db_exists(c, "SELECT 1 FROM notes_periods WHERE school_year = ? AND ends_on >= ?", year, today) == 1) {
		http_problem_code(
			req, 409, "year_not_over",
			"cette année scolaire n'est pas terminée : une de ses périodes finit aujourd'hui ou plus tard");
		return;
	}
	int rc = SQL_RUN(c, "UPDATE notes_periods SET closed = ?, updated_at = ? WHERE school_year = ?", SQL_I(closed),
			 SQL_T(now), SQL_T(year));
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	db_stmt *s = SQL_PREP(c,
			      "SELECT " PERIOD_COLS " FROM notes_periods WHERE school_year = ? ORDER BY starts_on, id",
			      SQL_T(year));
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_key(w, "items");
	jw_arr_open(w);
	while ((rc = db_step(s)) == DB_ROW)
		period_write(w, s, NULL);
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	jw_arr_close(w);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

/* ---- evaluations ---- */

#define EVAL_COLS                                                                                                      \
	"e.id, e.course_id, e.period_id, e.title, e.held_on, e.coefficient, e.scale, e.publish_at, e.created_by, "     \
	"e.created_at, e.updated_at"

/* An evaluation as the evaluation routes answer it (the columns EVAL_COLS). */
struct erow {
	const char *id, *course_id, *period_id, *title, *date, *publish_at, *created_by, *created_at, *updated_at;
	double coef;
	int64_t scale;
};

static void erow_read(db_stmt *s, arena *a, struct erow *r)
{
	r->id = arena_strdup(a, db_col_text(s, 0));
	r->course_id = arena_strdup(a, db_col_text(s, 1));
	r->period_id = arena_strdup(a, db_col_text(s, 2));
	r->title = arena_strdup(a, db_col_text(s, 3));
	r->date = arena_strdup(a, db_col_text(s, 4));
	r->coef = db_col_double(s, 5);
	r->scale = db_col_int64(s, 6);
	r->publish_at = arena_strdup(a, db_col_text(s, 7));
	r->created_by = arena_strdup(a, db_col_text(s, 8));
	r->created_at = arena_strdup(a, db_col_text(s, 9));
	r->updated_at = arena_strdup(a, db_col_text(s, 10));
}

static void eval_write(jw *w, const struct erow *r, const char *now)
{
	jw_obj_open(w);
	jw_kstr(w, "id", r->id);
	jw_kstr(w, "course_id", r->course_id);
	jw_kstr(w, "period_id", r->period_id);
	jw_kstr(w, "title", r->title);
	jw_kstr(w, "date", r->date);
	jw_key(w, "coefficient");
	jw_double(w, r->coef);
	jw_kint(w, "scale", r->scale);
	jw_kstr(w, "publish_at", r->publish_at);
	jw_kbool(w, "published", strcmp(r->publish_at, now) <= 0);
	jw_kstr(w, "created_by", r->created_by);
	jw_kstr(w, "created_at", r->created_at);
	jw_kstr(w, "updated_at", r->updated_at);
	jw_obj_close(w);
}

static void eval_reply(http_req *req, db_conn *c, const char *id, int status)
{
	db_stmt *s = row_get(req, c, "SELECT " EVAL_COLS " FROM notes_evaluations e WHERE e.id = ?", id,
			     "L'évaluation n'a pas pu être lue.", NULL);
	if (!s)
		return;
	char now[21];
	notes_now(now);
	buf b;
	buf_init(&b, 0);
	jw w;
	jw_init(&w, &b);
	struct erow r;
	erow_read(s, http_arena(req), &r);
	db_done(s);
	eval_write(&w, &r, now);
	reply_buf(req, status, &b);
}

/* The evaluations read for a list, in (date, id) order once sorted. */
struct eset {
	struct erow *v;
	size_t n, cap;
};

static int by_date_id(const void *x, const void *y)
{
	const struct erow *a = x, *b = y;
	int d = strcmp(a->date, b->date);
	return d ? d : strcmp(a->id, b->id);
}

/*
 * Appends to out the evaluations of the course course (any course when NULL), or of the courses
 * ids[0..n) (at most NOTES_BATCH) when ids is not NULL; of period when not NULL; after the
 * (date, id) after[0], after[1] in that order when after is not NULL; want of them at most, in
 * that order.
 */
static int evals_read(db_conn *c, arena *a, const char *course, const char *const *ids, size_t n, const char *period,
		      const char *const *after, int want, struct eset *out)
{
	db_stmt *s = db_prepare(c, ids ? "SELECT " EVAL_COLS
					 " FROM notes_evaluations e WHERE e.course_id IN " NOTES_IN16
					 " AND (CAST(? AS TEXT) IS NULL OR e.period_id = ?)"
					 " AND (CAST(? AS TEXT) IS NULL OR (e.held_on, e.id) > (?, ?))"
					 " ORDER BY e.held_on, e.id LIMIT ?"
				       : "SELECT " EVAL_COLS
					 " FROM notes_evaluations e WHERE (CAST(? AS TEXT) IS NULL OR e.course_id = ?)"
					 " AND (CAST(? AS TEXT) IS NULL OR e.period_id = ?)"
					 " AND (CAST(? AS TEXT) IS NULL OR (e.held_on, e.id) > (?, ?))"
					 " ORDER BY e.held_on, e.id LIMIT ?");
	if (!s)
		return ENT_EDB;
	int k = 1;
	if (ids) {
		notes_bind_ids(s, 1, ids, n);
		k += NOTES_BATCH;
	} else {
		db_bind_text_or_null(s, k++, course);
		db_bind_text_or_null(s, k++, course);
	}
	const char *const values[] = {period, period, after ? after[1] : NULL, after ? after[0] : NULL,
				      after ? after[1] : NULL};
	for (int i = 0; i < 5; i++)
		db_bind_text_or_null(s, k++, values[i]);
	db_bind_int64(s, k, want);
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		out->v = arena_grow(a, out->v, out->n, &out->cap, sizeof(*out->v));
		erow_read(s, a, &out->v[out->n++]);
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/*
 * The first want evaluations of a list (after the (date, id) of after when not NULL, of period), in (date, id) order, as the
 * caller may see them: of course when not NULL (the caller may edit it); else of the courses
 * teacher teaches (the cours service's list, read NOTES_BATCH courses a statement, merged here);
 * else (an admin) of every course that still exists: evaluations whose course the cours service
 * deleted stay in notes_evaluations, so pages are read until want are kept.
 */
static int evals_page(db_conn *c, arena *a, const char *course, const char *teacher, const char *period,
		      const char *const *after, int want, struct eset *out)
{
	memset(out, 0, sizeof(*out));
	if (course)
		return evals_read(c, a, course, NULL, 0, period, after, want, out);
	int rc;
	if (teacher) {
		const char **ids;
		int n = cours_taught_by(c, a, teacher, &ids);
		if (n < 0)
			return n;
		for (size_t at = 0; at < (size_t)n; at += NOTES_BATCH)
			if ((rc = evals_read(c, a, NULL, ids + at, (size_t)n - at, period, after, want, out)))
				return rc;
		if (out->n > 1)
			qsort(out->v, out->n, sizeof(*out->v), by_date_id);
		if (out->n > (size_t)want)
			out->n = (size_t)want;
		return ENT_OK;
	}
	struct cours_brief *known = NULL;
	size_t nknown = 0, kcap = 0;
	const char *from[2];
	for (;;) {
		struct eset batch = {0};
		if ((rc = evals_read(c, a, NULL, NULL, 0, period, after, want, &batch)))
			return rc;
		/* The courses not met yet, asked about in one batch. */
		size_t first = nknown;
		for (size_t i = 0; i < batch.n; i++) {
			int seen = 0;
			for (size_t j = 0; !seen && j < nknown; j++)
				seen = strcmp(known[j].id, batch.v[i].course_id) == 0;
			if (!seen) {
				known = arena_grow(a, known, nknown, &kcap, sizeof(*known));
				known[nknown++].id = batch.v[i].course_id;
			}
		}
		if (nknown > first) {
			const char **ask = arena_alloc(a, (nknown - first) * sizeof(*ask));
			for (size_t j = first; j < nknown; j++)
				ask[j - first] = known[j].id;
			if ((rc = cours_describe(c, a, ask, nknown - first, known + first)) < 0)
				return rc;
		}
		for (size_t i = 0; i < batch.n && out->n < (size_t)want; i++)
			for (size_t j = 0; j < nknown; j++)
				if (strcmp(known[j].id, batch.v[i].course_id) == 0) {
					if (known[j].title) {
						out->v = arena_grow(a, out->v, out->n, &out->cap, sizeof(*out->v));
						out->v[out->n++] = batch.v[i];
					}
					break;
				}
		if (out->n >= (size_t)want || batch.n < (size_t)want)
			return ENT_OK;
		from[0] = batch.v[batch.n - 1].date;
		from[1] = batch.v[batch.n - 1].id;
		after = from;
	}
}

static void evals_list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "notes_evaluations", 2))
		return;
	const char *course = http_query(req, "course_id"), *period = http_query(req, "period_id");
	json_t *errors = json_object();
	if (course && !util_is_uuid(course))
		json_field_error(errors, "course_id", "not_uuid", "doit être un identifiant (UUID)");
	if (period && !util_is_uuid(period))
		json_field_error(errors, "period_id", "not_uuid", "doit être un identifiant (UUID)");
	if (invalid(req, errors, "Les critères de la demande sont à corriger."))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	const struct http_principal *p = http_principal(req);
	if (course) {
		int acc = notes_course_access(c, course, p->sub, p->roles);
		if (acc < 0) {
			http_problem_err(req, acc, "La liste des évaluations n'a pas pu être lue.");
			return;
		}
		if (acc == NOTES_NOCOURSE) {
			http_problem(req, 404, "Ce cours n'existe pas.");
			return;
		}
		if (acc != NOTES_EDIT) {
			http_problem(req, 403,
				     "Seuls les enseignants du cours et les administrateurs voient ses évaluations.");
			return;
		}
	}
	const char *teacher = (p->roles & ROLE_ADMIN) ? NULL : p->sub;
	struct eset rows;
	int rc = evals_page(c, http_arena(req), course, teacher, period, pg.has_cursor ? pg.after : NULL,
			    page_fetch(&pg), &rows);
	if (rc < 0) {
		http_problem_err(req, rc, "La liste des évaluations n'a pas pu être lue.");
		return;
	}
	char now[21];
	notes_now(now);
	for (size_t i = 0; i < rows.n; i++) {
		const char *keys[2] = {rows.v[i].date, rows.v[i].id};
		jw *w = page_item(&pg, keys);
		if (!w)
			break;
		eval_write(w, &rows.v[i], now);
	}
	static const char *const keep[] = {"course_id", "period_id", "limit", NULL};
	page_reply(&pg, keep);
}

/*
 * Checks what json_check cannot: the coefficient's lower bound, the date, the period (exists, the
 * date inside it), publish_at normalised into pub (RFC 3339 UTC). Adds to errors.
 */
static void check_eval(db_conn *c, arena *a, json_t *body, const char *period_id, const char *date, json_t *errors,
		       char pub[21])
{
	json_t *coef = json_object_get(body, "coefficient");
	if (json_is_number(coef) && json_number_value(coef) <= 0)
		json_field_error(errors, "coefficient", "range", "doit être supérieur à 0 (100 au plus)");
	if (date && !notes_valid_date(date))
		json_field_error(errors, "date", "not_date", "doit être une date AAAA-MM-JJ");
	if (period_id) {
		const char *starts = one_text(c, a, "SELECT starts_on FROM notes_periods WHERE id = ?", period_id);
		const char *ends = one_text(c, a, "SELECT ends_on FROM notes_periods WHERE id = ?", period_id);
		const char *closed = one_text(c, a, "SELECT 'y' FROM notes_periods WHERE id = ? AND closed = 1",
					      period_id);
		if (!starts || !ends)
			json_field_error(errors, "period_id", "no_such_period", "ne désigne aucune période");
		else if (closed)
			json_field_error(
				errors, "period_id", "year_closed",
				"appartient à une année scolaire close : choisissez une période de l'année en cours");
		else if (date && notes_valid_date(date) && (strcmp(date, starts) < 0 || strcmp(date, ends) > 0))
			json_field_error(errors, "date", "outside_period",
					 "est en dehors de la période de l'évaluation");
	}
	const char *p = json_get_str(body, "publish_at", NULL);
	time_t t = time(NULL);
	if (p && util_parse_rfc3339(p, &t))
		json_field_error(errors, "publish_at", "not_time", "doit être une date-heure RFC 3339");
	util_time_rfc3339(t, pub);
}

static const struct jfield eval_fields[] = {
	{"course_id", JF_UUID, 1, 0, 0, 0, NULL},       {"period_id", JF_UUID, 1, 0, 0, 0, NULL},
	{"title", JF_STRING, 1, 0, 1, 200, NULL},       {"date", JF_STRING, 1, 0, 10, 10, NULL},
	{"coefficient", JF_NUMBER, 0, 0, 0, 100, NULL}, {"scale", JF_INT, 0, 0, 1, 1000, NULL},
	{"publish_at", JF_TIME, 0, 1, 0, 0, NULL},
};
/* A change: the same fields but the course, none required. */
static const struct jfield eval_patch_fields[] = {
	{"period_id", JF_UUID, 0, 0, 0, 0, NULL}, {"title", JF_STRING, 0, 0, 1, 200, NULL},
	{"date", JF_STRING, 0, 0, 10, 10, NULL},  {"coefficient", JF_NUMBER, 0, 0, 0, 100, NULL},
	{"scale", JF_INT, 0, 0, 1, 1000, NULL},   {"publish_at", JF_TIME, 0, 1, 0, 0, NULL},
};

static void eval_create(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	const struct http_principal *p = http_principal(req);
	char pub[21];
	json_t *errors = json_object();
	const char *course = json_get_str(body, "course_id", NULL);
	if (!json_check(body, eval_fields, sizeof(eval_fields) / sizeof(eval_fields[0]), errors)) {
		int acc = notes_course_access(c, course, p->sub, p->roles);
		if (acc < 0) {
			json_decref(errors);
			http_problem_err(req, acc, "Le cours n'a pas pu être lu.");
			return;
		}
		if (acc == NOTES_NOCOURSE)
			json_field_error(errors, "course_id", "no_such_course", "ne désigne aucun cours");
		else if (acc != NOTES_EDIT) {
			json_decref(errors);
			http_problem(
				req, 403,
				"Seuls les enseignants du cours et les administrateurs peuvent y ajouter des évaluations.");
			return;
		}
		check_eval(c, a, body, json_get_str(body, "period_id", NULL), json_get_str(body, "date", NULL), errors,
			   pub);
	}
	if (invalid(req, errors, "Certains champs de l'évaluation sont à corriger."))
		return;
	json_t *coef = json_object_get(body, "coefficient");
	char id[37], now[21];
	util_uuid(id);
	notes_now(now);
	int rc = db_begin(c);
	if (rc) {
		http_problem_err(req, rc, "L'évaluation n'a pas pu être créée.");
		return;
	}
	rc = SQL_RUN(c,
		     "INSERT INTO notes_evaluations (id, course_id, period_id, title, held_on, coefficient,"
		     " scale, publish_at, notified, created_by, created_at, updated_at)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
		     SQL_T(id), SQL_T(course), SQL_T(json_get_str(body, "period_id", "")),
		     SQL_T(json_get_str(body, "title", "")), SQL_T(json_get_str(body, "date", "")),
		     SQL_D(coef ? json_number_value(coef) : 1.0), SQL_I(json_get_int(body, "scale", 20)), SQL_T(pub),
		     SQL_T(p->sub), SQL_T(now), SQL_T(now));
	/* Its subject's figures: a visible evaluation counts, a later one sets when they go stale. */
	if (rc >= 0)
		rc = notes_stats_refresh_eval(c, a, id, id, now);
	if (rc >= 0)
		rc = db_commit(c);
	if (rc < 0) {
		db_rollback(c);
		http_problem_err(req, rc, "L'évaluation n'a pas pu être créée.");
		return;
	}
	http_set_header(req, "Location", arena_printf(a, "/api/notes/evaluations/%s", id));
	eval_reply(req, c, id, 201);
}

static void eval_get(http_req *req)
{
	char course[37];
	const char *id = http_param(req, "id");
	if (notes_eval_for_request(req, id, course))
		return;
	eval_reply(req, app_db(), id, 200);
}

static void eval_patch(http_req *req)
{
	char course[37];
	const char *id = http_param(req, "id");
	json_t *body = notes_eval_body(req, id, course);
	if (!body)
		return;
	db_conn *c = app_db();
	arena *a = http_arena(req);
	const char *cur_period = one_text(c, a, "SELECT period_id FROM notes_evaluations WHERE id = ?", id);
	const char *cur_date = one_text(c, a, "SELECT held_on FROM notes_evaluations WHERE id = ?", id);
	const char *cur_pub = one_text(c, a, "SELECT publish_at FROM notes_evaluations WHERE id = ?", id);
	if (!cur_period || !cur_date || !cur_pub) {
		http_problem(req, 404, "Cette évaluation n'existe pas.");
		return;
	}
	char pub[21];
	json_t *errors = json_object();
	if (!json_check(body, eval_patch_fields, sizeof(eval_patch_fields) / sizeof(eval_patch_fields[0]), errors))
		check_eval(c, a, body, json_get_str(body, "period_id", cur_period),
			   json_get_str(body, "date", cur_date), errors, pub);
	if (invalid(req, errors, "Certains champs de l'évaluation sont à corriger."))
		return;
	json_t *pubv = json_object_get(body, "publish_at");
	const char *new_pub = !pubv ? cur_pub : pub; /* null or a time: pub holds now or that time */
	json_t *coef = json_object_get(body, "coefficient"), *scale = json_object_get(body, "scale");
	char now[21];
	notes_now(now);
	int rc = db_begin(c), published = 0;
	if (rc) {
		http_problem_err(req, rc, "L'évaluation n'a pas pu être modifiée.");
		return;
	}
	if (scale) {
		/* Checked inside the transaction: a grade entered meanwhile cannot end above the scale. */
		rc = SQL_RUN(c,
			     "SELECT 1 FROM notes_grades WHERE evaluation_id = ? AND status = 'graded' AND value > ?",
			     SQL_T(id), SQL_D((double)json_integer_value(scale)));
		if (rc == DB_ROW) {
			db_rollback(c);
			errors = json_object();
			json_field_error(errors, "scale", "below_grade", "est inférieur à une note déjà saisie");
			http_problem_errors(req, 400, "Certains champs de l'évaluation sont à corriger.", errors);
			return;
		}
		if (rc < 0)
			goto fail;
	}
	db_stmt *s = db_prepare(
		c, "UPDATE notes_evaluations SET period_id = COALESCE(?, period_id), title = COALESCE(?, title),"
		   " held_on = COALESCE(?, held_on), coefficient = COALESCE(?, coefficient),"
		   " scale = COALESCE(?, scale), publish_at = ?, updated_at = ? WHERE id = ?");
	rc = ENT_EDB;
	if (!s)
		goto fail;
	db_bind_text_or_null(s, 1, json_get_str(body, "period_id", NULL));
	db_bind_text_or_null(s, 2, json_get_str(body, "title", NULL));
	db_bind_text_or_null(s, 3, json_get_str(body, "date", NULL));
	if (coef)
		db_bind_double(s, 4, json_number_value(coef));
	else
		db_bind_null(s, 4);
	if (scale)
		db_bind_int64(s, 5, json_integer_value(scale));
	else
		db_bind_null(s, 5);
	db_bind_text(s, 6, new_pub);
	db_bind_text(s, 7, now);
	db_bind_text(s, 8, id);
	rc = db_step(s);
	db_done(s);
	if (rc < 0)
		goto fail;
	/* Made visible now (publish_at moved to the past): its grades are announced in this transaction. */
	if ((rc = notes_publish_if_due(c, a, id, now, &published)))
		goto fail;
	/* The figures of its subject, in its old period and its new one (scale, coefficient, date, publication). */
	struct notes_pair pairs[2] = {{course, cur_period}, {course, json_get_str(body, "period_id", cur_period)}};
	if ((rc = notes_stats_refresh(c, a, pairs, 2, id, now)))
		goto fail;
	if ((rc = db_commit(c)))
		goto fail;
	if (published)
		bus_kick();
	eval_reply(req, c, id, 200);
	return;
fail:
	db_rollback(c);
	http_problem_err(req, rc, "L'évaluation n'a pas pu être modifiée.");
}

static void eval_delete(http_req *req)
{
	char course[37];
	const char *id = http_param(req, "id");
	if (notes_eval_for_request(req, id, course))
		return;
	db_conn *c = app_db();
	arena *a = http_arena(req);
	char now[21];
	notes_now(now);
	int rc = db_begin(c);
	if (rc) {
		http_problem_err(req, rc, "L'évaluation n'a pas pu être supprimée.");
		return;
	}
	/* Its subject's figures are recomputed without it (its own go with it: ON DELETE CASCADE). */
	const char *period = one_text(c, a, "SELECT period_id FROM notes_evaluations WHERE id = ?", id);
	rc = SQL_RUN(c, "DELETE FROM notes_evaluations WHERE id = ?", SQL_T(id));
	struct notes_pair pair = {course, period};
	if (rc >= 0 && period)
		rc = notes_stats_refresh(c, a, &pair, 1, id, now);
	if (rc >= 0)
		rc = db_commit(c);
	if (rc < 0)
		db_rollback(c);
	if (rc < 0)
		http_problem_err(req, rc, "L'évaluation n'a pas pu être supprimée.");
	else
		http_reply_empty(req, 204);
}

/* ---- service ---- */

#define S_STR "{\"type\":\"string\"}"
#define S_NSTR "{\"type\":[\"string\",\"null\"]}"
#define S_UUID "{\"type\":\"string\",\"format\":\"uuid\"}"
#define S_DATE "{\"type\":\"string\",\"format\":\"date\"}"
#define S_TIME "{\"type\":\"string\",\"format\":\"date-time\"}"
#define S_BOOL "{\"type\":\"boolean\"}"
#define S_NUM "{\"type\":\"number\"}"
#define S_NNUM "{\"type\":[\"number\",\"null\"]}"
#define S_INT "{\"type\":\"integer\"}"
#define S_STATUS "{\"type\":\"string\",\"enum\":[\"graded\",\"absent\",\"exempt\",\"not_graded\"]}"
#define S_NSTATUS "{\"type\":[\"string\",\"null\"],\"enum\":[\"graded\",\"absent\",\"exempt\",\"not_graded\",null]}"
#define S_LIST(item)                                                                                                   \
	"{\"type\":\"object\",\"required\":[\"items\",\"next_cursor\"],\"properties\":{\"items\":{\"type\":\"array\"," \
	"\"items\":" item "},\"next_cursor\":" S_NSTR "}}"
#define S_ITEMS(item)                                                                                                  \
	"{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":" item  \
	"}}}"
#define S_PERIOD                                                                                                        \
	"{\"type\":\"object\",\"required\":[\"id\",\"name\",\"school_year\",\"starts_on\",\"ends_on\"],\"properties\":" \
	"{\"id\":" S_UUID ",\"name\":" S_STR ",\"school_year\":" S_STR ",\"starts_on\":" S_DATE ",\"ends_on\":" S_DATE  \
	",\"created_at\":" S_TIME ",\"updated_at\":" S_TIME ",\"closed\":" S_BOOL "}}"
/* What the period's field table does not say; a change requires nothing. */
#define S_PERIOD_MORE(req)                                                                                             \
	"{" req "\"properties\":{\"school_year\":{\"pattern\":\"^[0-9]{4}-[0-9]{4}$\"},\"starts_on\":{\"format\":"     \
	"\"date\"},\"ends_on\":{\"format\":\"date\"}}}"
#define S_EVAL                                                                                                         \
	"{\"type\":\"object\",\"required\":[\"id\",\"course_id\",\"period_id\",\"title\",\"date\",\"coefficient\","    \
	"\"scale\",\"publish_at\",\"published\"],\"properties\":{\"id\":" S_UUID ",\"course_id\":" S_UUID              \
	",\"period_id\":" S_UUID ",\"title\":" S_STR ",\"date\":" S_DATE ",\"coefficient\":" S_NUM ",\"scale\":" S_INT \
	",\"publish_at\":" S_TIME ",\"published\":{\"type\":\"boolean\"},\"created_by\":" S_UUID                       \
	",\"created_at\":" S_TIME ",\"updated_at\":" S_TIME "}}"
#define S_EVAL_MORE                                                                                                    \
	"{\"properties\":{\"date\":{\"format\":\"date\"},\"coefficient\":{\"exclusiveMinimum\":0,\"default\":1},"      \
	"\"scale\":{\"default\":20},\"publish_at\":{\"description\":\"students see the evaluation from then on "       \
	"(default: now)\"}}}"
#define S_GRADE                                                                                                        \
	"{\"type\":\"object\",\"required\":[\"student_id\",\"status\"],\"properties\":{\"student_id\":" S_UUID         \
	",\"student_name\":" S_NSTR ",\"status\":" S_STATUS ",\"value\":" S_NNUM ",\"comment\":" S_NSTR                \
	",\"updated_at\":" S_TIME "}}"
#define S_GRADES_REQ                                                                                                    \
	"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"grades\"],\"properties\":{\"grades\":"     \
	"{\"type\":\"array\",\"minItems\":1,\"maxItems\":2000,\"items\":{\"type\":\"object\",\"additionalProperties\":" \
	"false,\"required\":[\"student_id\",\"status\"],\"properties\":{\"student_id\":" S_UUID                         \
	",\"status\":" S_STATUS                                                                                         \
	",\"value\":{\"type\":[\"number\",\"null\"],\"minimum\":0,\"description\":\"required when graded, "             \
	"at most the scale\"},\"comment\":{\"type\":[\"string\",\"null\"],\"maxLength\":1000}}}}}}"
#define S_AUDIT                                                                                                        \
	"{\"type\":\"object\",\"required\":[\"student_id\",\"changed_by\",\"changed_at\",\"new_status\"],"             \
	"\"properties\":{\"student_id\":" S_UUID ",\"student_name\":" S_NSTR ",\"changed_by\":" S_UUID                 \
	",\"changed_by_name\":" S_NSTR ",\"changed_at\":" S_TIME ",\"old_status\":" S_NSTATUS ",\"old_value\":" S_NNUM \
	",\"new_status\":" S_STATUS ",\"new_value\":" S_NNUM "}}"
#define S_STATS ",\"class_average\":" S_NNUM ",\"min\":" S_NNUM ",\"max\":" S_NNUM
#define S_REPORT_EVAL                                                                                                  \
	"{\"type\":\"object\",\"properties\":{\"id\":" S_UUID ",\"title\":" S_STR ",\"date\":" S_DATE                  \
	",\"coefficient\":" S_NUM ",\"scale\":" S_INT ",\"status\":" S_NSTATUS ",\"value\":" S_NNUM                    \
	",\"value20\":" S_NNUM ",\"comment\":" S_NSTR S_STATS "}}"
#define S_SUBJECT                                                                                                      \
	"{\"type\":\"object\",\"properties\":{\"course_id\":" S_UUID ",\"title\":" S_STR ",\"subject\":" S_NSTR        \
	",\"teachers\":{\"type\":\"array\",\"items\":" S_STR "},\"average\":" S_NNUM S_STATS ",\"evaluations\":"       \
	"{\"type\":\"array\",\"items\":" S_REPORT_EVAL "}}}"
#define S_REPORT                                                                                                       \
	"{\"type\":\"object\",\"required\":[\"student\",\"periods\",\"timeline\"],\"properties\":{\"student\":"        \
	"{\"type\":\"object\",\"properties\":{\"id\":" S_UUID ",\"name\":" S_STR "}},\"periods\":{\"type\":\"array\"," \
	"\"items\":{\"type\":\"object\",\"properties\":{\"id\":" S_UUID ",\"name\":" S_STR ",\"school_year\":" S_STR   \
	",\"starts_on\":" S_DATE ",\"ends_on\":" S_DATE ",\"average\":" S_NNUM ",\"class_average\":" S_NNUM            \
	",\"subjects\":{\"type\":\"array\","                                                                           \
	"\"items\":" S_SUBJECT "}}}},\"timeline\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":"  \
	"{\"date\":" S_DATE ",\"period_id\":" S_UUID ",\"average\":" S_NUM "}}}}}"
#define S_GRID                                                                                                         \
	"{\"type\":\"object\",\"required\":[\"course\",\"period\",\"evaluations\",\"students\",\"class_average\"],"    \
	"\"properties\":{\"course\":{\"type\":\"object\",\"properties\":{\"id\":" S_UUID ",\"title\":" S_STR "}},"     \
	"\"period\":{\"oneOf\":[" S_PERIOD ",{\"type\":\"null\"}]},\"evaluations\":{\"type\":\"array\",\"items\":"     \
	"{\"type\":\"object\",\"properties\":{\"id\":" S_UUID ",\"title\":" S_STR ",\"date\":" S_DATE                  \
	",\"coefficient\":" S_NUM ",\"scale\":" S_INT ",\"publish_at\":" S_TIME                                        \
	",\"published\":{\"type\":\"boolean\"},\"average\":" S_NNUM ",\"min\":" S_NNUM ",\"max\":" S_NNUM              \
	"}}},\"students\":{\"type\":\"array\",\"items\":{\"type\":\"object\","                                         \
	"\"properties\":{\"id\":" S_UUID ",\"name\":" S_STR ",\"class\":" S_NSTR ",\"grades\":{\"type\":\"object\","   \
	"\"additionalProperties\":{\"type\":\"object\",\"properties\":{\"status\":" S_STATUS ",\"value\":" S_NNUM      \
	",\"comment\":" S_NSTR "}}},\"average\":" S_NNUM "}}},\"class_average\":" S_NNUM "}}"

#define STAFF (ROLE_ENSEIGNANT | ROLE_ADMIN)

static const struct route routes[] = {
	ROUTE("GET", "/api/notes/periods", periods_list, ROLE_ANY_USER,
	      .summary = "The periods (trimesters, semesters) by start date; ?school_year=, ?limit=, ?cursor=",
	      .response_schema = S_LIST(S_PERIOD)),
	ROUTE("POST", "/api/notes/periods", period_create, ROLE_ADMIN, .status = 201,
	      .summary = "Create a period of a school year (admin)", BODY(period_fields),
	      .request_schema = S_PERIOD_MORE(""), .response_schema = S_PERIOD),
	ROUTE("PATCH", "/api/notes/periods/{id}", period_patch, ROLE_ADMIN, .summary = "Change a period (admin)",
	      BODY(period_fields), .request_schema = S_PERIOD_MORE("\"required\":[],"), .response_schema = S_PERIOD),
	ROUTE("DELETE", "/api/notes/periods/{id}", period_delete, ROLE_ADMIN, .status = 204,
	      .summary = "Delete a period no evaluation uses (admin; 409 otherwise)"),
	ROUTE("PUT", "/api/notes/school-years/{year}", year_put, ROLE_ADMIN,
	      .summary = "Close a school year that is over, or open it again (admin): in a closed year evaluations and "
			 "grades no longer change",
	      .request_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"closed\"],"
				"\"properties\":{\"closed\":" S_BOOL "}}",
	      .response_schema = S_ITEMS(S_PERIOD)),
	ROUTE("GET", "/api/notes/evaluations", evals_list, STAFF,
	      .summary =
		      "Evaluations of the courses the caller teaches (admin: all) by date; ?course_id=, ?period_id=, "
		      "?limit=, ?cursor=",
	      .response_schema = S_LIST(S_EVAL)),
	ROUTE("POST", "/api/notes/evaluations", eval_create, STAFF, .status = 201,
	      .summary = "Create an evaluation of a course the caller teaches (admin: any)", BODY(eval_fields),
	      .request_schema = S_EVAL_MORE, .response_schema = S_EVAL),
	ROUTE("GET", "/api/notes/evaluations/{id}", eval_get, STAFF,
	      .summary = "An evaluation (its course's teachers, admins)", .response_schema = S_EVAL),
	ROUTE("PATCH", "/api/notes/evaluations/{id}", eval_patch, STAFF,
	      .summary = "Change an evaluation; moving publish_at to the past publishes its grades",
	      BODY(eval_patch_fields), .request_schema = S_EVAL_MORE, .response_schema = S_EVAL),
	ROUTE("DELETE", "/api/notes/evaluations/{id}", eval_delete, STAFF, .status = 204,
	      .summary = "Delete an evaluation with its grades and audit trail"),
	ROUTE("PUT", "/api/notes/evaluations/{id}/grades", notes_grades_put, STAFF, .max_body = 1u << 20,
	      .summary =
		      "Enter grades for students of the course's classes, all or nothing; answers every grade of the "
		      "evaluation",
	      .request_schema = S_GRADES_REQ, .response_schema = S_ITEMS(S_GRADE)),
	ROUTE("GET", "/api/notes/evaluations/{id}/grades", notes_grades_get, STAFF,
	      .summary = "The grades of an evaluation, by student name", .response_schema = S_ITEMS(S_GRADE)),
	ROUTE("GET", "/api/notes/evaluations/{id}/audit", notes_audit_get, STAFF,
	      .summary = "Changes of grades made after publication: who, when, old and new value",
	      .response_schema = S_ITEMS(S_AUDIT)),
	ROUTE("GET", "/api/notes/me", notes_me, ROLE_ETUDIANT,
	      .summary =
		      "The caller's published grades by period and subject, with averages and class figures; ?period_id=",
	      .response_schema = S_REPORT),
	ROUTE("GET", "/api/notes/students/{id}", notes_student, ROLE_ANY_USER,
	      .summary = "A student's report card as /me (admins; teachers of one of the student's courses; a student: "
			 "their own only, 404 for others); ?period_id=",
	      .response_schema = S_REPORT),
	ROUTE("GET", "/api/notes/courses/{id}/grid", notes_grid, STAFF,
	      .summary = "The class grid of a course: students x evaluations with averages; ?period_id=",
	      .response_schema = S_GRID),
	ROUTE("GET", "/api/notes/courses/{id}/grid.csv", notes_grid_csv, STAFF,
	      .summary =
		      "The class grid as CSV, one row per student in register order, formula-safe cells: by default as French "
		      "Excel opens it (UTF-8 with a BOM, ';', decimal commas); ?format=rfc4180 for commas and decimal points; "
		      "?period_id="),
};

static const char *const owned_tables[] = {
	"notes_periods",     "notes_evaluations",      "notes_grades",     "notes_audit", "notes_subject_stats",
	"notes_class_stats", "notes_subject_students", "notes_stats_todo", NULL};

const struct service svc_notes = {
	.name = "notes",
	.title = "Grades: periods, evaluations, report cards and class grids",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.migrations = notes_migrations,
	.nmigrations = NOTES_NMIGRATIONS,
	.tables = owned_tables,
	.start = notes_start,
	.stop = notes_stop,
	.demo = notes_demo,
	.generate = notes_generate,
	.export_user = notes_export_user,
	.erase_user = notes_erase_user,
};
