/*
 * grid.c - a course's class grid (GET /api/notes/courses/{id}/grid) and its CSV export
 * (grid.csv), for the course's teachers and administrators.
 *
 * The grid loads the course's evaluations and every grade of each into memory (a class has tens
 * of students, a period tens of evaluations), then applies the rules of calc.c. It holds every
 * evaluation, published or not (a teacher's tool). Its rows are the students of the course's
 * classes (from the cours and users services) and anyone graded in it, by name.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/err.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

struct evset {
	struct notes_eval *v;
	size_t n, cap;
};

/*
 * Reads the rows of s (columns: id, course_id, period_id, title, held_on, coefficient, scale,
 * publish_at), then every evaluation's grades. Calls db_done(s).
 */
static int load_evals(db_conn *c, arena *a, db_stmt *s, const char *now, struct evset *out)
{
	memset(out, 0, sizeof(*out));
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		out->v = arena_grow(a, out->v, out->n, &out->cap, sizeof(*out->v));
		struct notes_eval *e = &out->v[out->n++];
		memset(e, 0, sizeof(*e));
		e->id = arena_strdup(a, db_col_text(s, 0));
		e->course_id = arena_strdup(a, db_col_text(s, 1));
		e->period_id = arena_strdup(a, db_col_text(s, 2));
		e->title = arena_strdup(a, db_col_text(s, 3));
		e->date = arena_strdup(a, db_col_text(s, 4));
		e->coef = db_col_double(s, 5);
		e->scale = (int)db_col_int64(s, 6);
		e->publish_at = arena_strdup(a, db_col_text(s, 7));
		e->visible = strcmp(e->publish_at, now) <= 0;
	}
	db_done(s);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < out->n; i++)
		if ((rc = notes_load_grades(c, a, &out->v[i])))
			return rc;
	return ENT_OK;
}

/* Writes a period object's fields (without closing it). */
static int period_fields(db_conn *c, jw *w, const char *id, int with_year)
{
	db_stmt *s = SQL_PREP(c, "SELECT id, name, school_year, starts_on, ends_on FROM notes_periods WHERE id = ?",
			      SQL_T(id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW) {
		jw_kstr(w, "id", db_col_text(s, 0));
		jw_kstr(w, "name", db_col_text(s, 1));
		if (with_year)
			jw_kstr(w, "school_year", db_col_text(s, 2));
		jw_kstr(w, "starts_on", db_col_text(s, 3));
		jw_kstr(w, "ends_on", db_col_text(s, 4));
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

struct gstudent {
	const char *id, *name, *klass, *key; /* key: the users service's sort key (register order) */
	double avg;
};

static int by_gkey(const void *x, const void *y)
{
	const struct gstudent *a = x, *b = y;
	int d = strcmp(a->key ? a->key : "", b->key ? b->key : "");
	return d ? d : strcmp(a->id, b->id);
}

struct grid {
	const char *course_id, *course_title, *period;
	struct evset ev;
	struct notes_subject subj;
	struct gstudent *st;
	size_t nst;
};

static void add_student(arena *a, struct grid *g, size_t *cap, const char *id)
{
	for (size_t i = 0; i < g->nst; i++)
		if (strcmp(g->st[i].id, id) == 0)
			return;
	g->st = arena_grow(a, g->st, g->nst, cap, sizeof(*g->st));
	g->st[g->nst].id = arena_strdup(a, id);
	g->st[g->nst].name = NULL;
	g->st[g->nst++].klass = NULL;
}

/*
 * Loads the grid of the course {id} for the caller: answers 404/403/400/5xx itself and returns -1,
 * or 0 with g filled.
 */
static int grid_load(http_req *req, struct grid *g)
{
	db_conn *c = http_db(req);
	if (!c)
		return -1;
	arena *a = http_arena(req);
	const struct http_principal *p = http_principal(req);
	memset(g, 0, sizeof(*g));
	g->course_id = http_param(req, "id");
	int rc = notes_course_access(c, g->course_id, p->sub, p->roles);
	if (rc < 0) {
		http_problem_err(req, rc, "Le cours n'a pas pu être lu.");
		return -1;
	}
	if (rc == NOTES_NOCOURSE) {
		http_problem(req, 404, "Ce cours n'existe pas.");
		return -1;
	}
	if (rc != NOTES_EDIT) {
		http_problem(req, 403, "Seuls les enseignants du cours et les administrateurs voient ses notes.");
		return -1;
	}
	int bad;
	g->period = notes_period_arg(req, c, &bad);
	if (bad)
		return -1;
	g->course_title = cours_title(c, a, g->course_id);
	char now[21];
	notes_now(now);
	db_stmt *s = SQL_PREP(c,
			      "SELECT e.id, e.course_id, e.period_id, e.title, e.held_on, e.coefficient, e.scale,"
			      " e.publish_at FROM notes_evaluations e WHERE e.course_id = ?"
			      " AND (CAST(? AS TEXT) IS NULL OR e.period_id = ?) ORDER BY e.held_on, e.id",
			      SQL_T(g->course_id), SQL_T(g->period), SQL_T(g->period));
	if (!s) {
		http_problem_err(req, ENT_EDB, "Le tableau des notes n'a pas pu être lu.");
		return -1;
	}
	if ((rc = load_evals(c, a, s, now, &g->ev))) {
		http_problem_err(req, rc, "Le tableau des notes n'a pas pu être lu.");
		return -1;
	}
	g->subj.course_id = g->course_id;
	g->subj.evals = arena_alloc(a, (g->ev.n ? g->ev.n : 1) * sizeof(*g->subj.evals));
	for (size_t i = 0; i < g->ev.n; i++)
		g->subj.evals[g->subj.nevals++] = &g->ev.v[i];
	/* The students of the course's classes, and anyone graded in it. */
	size_t cap = 0;
	const char **classes;
	int ncls_ = cours_classes_of(c, a, g->course_id, &classes);
	if (ncls_ < 0) {
		http_problem_err(req, ncls_, "Le tableau des notes n'a pas pu être lu.");
		return -1;
	}
	for (int k = 0; k < ncls_; k++) {
		char **ids;
		int n = users_class_members(c, a, classes[k], &ids);
		if (n < 0) {
			http_problem_err(req, n, "Le tableau des notes n'a pas pu être lu.");
			return -1;
		}
		for (int i = 0; i < n; i++)
			add_student(a, g, &cap, ids[i]);
	}
	for (size_t i = 0; i < g->ev.n; i++)
		for (size_t j = 0; j < g->ev.v[i].ngrades; j++)
			add_student(a, g, &cap, g->ev.v[i].grades[j].student_id);
	/* Names and class names (class names cached: a class has many students). */
	const char *cls_ids[64], *cls_names[64];
	size_t ncls = 0;
	for (size_t i = 0; i < g->nst; i++) {
		struct user u;
		g->st[i].name = users_get(c, a, g->st[i].id, &u) == ENT_OK ? u.official_name
									   : NULL; /* never a chosen name */
		char cls[37];
		if (users_student_class(c, g->st[i].id, cls) == ENT_OK) {
			size_t k = 0;
			while (k < ncls && strcmp(cls_ids[k], cls) != 0)
				k++;
			if (k == ncls && ncls < 64) {
				cls_ids[ncls] = arena_strdup(a, cls);
				cls_names[ncls++] = users_class_name(c, a, cls);
			}
			g->st[i].klass = k < ncls ? cls_names[k] : users_class_name(c, a, cls);
		}
		g->st[i].avg = notes_subject_avg(&g->subj, g->st[i].id, NULL);
	}
	/* The order of a French register, as the users service keeps it (users_sort_keys). */
	const char **ids = arena_alloc(a, (g->nst ? g->nst : 1) * sizeof(*ids));
	const char **keys = arena_alloc(a, (g->nst ? g->nst : 1) * sizeof(*keys));
	for (size_t i = 0; i < g->nst; i++)
		ids[i] = g->st[i].id;
	if ((rc = users_sort_keys(c, a, ids, g->nst, keys))) {
		http_problem_err(req, rc, "Le tableau des notes n'a pas pu être lu.");
		return -1;
	}
	for (size_t i = 0; i < g->nst; i++)
		g->st[i].key = keys[i];
	if (g->nst > 1)
		qsort(g->st, g->nst, sizeof(*g->st), by_gkey);
	return 0;
}

void notes_grid(http_req *req)
{
	struct grid g;
	if (grid_load(req, &g))
		return;
	db_conn *c = app_db();
	buf b;
	buf_init(&b, 0);
	jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "course");
	jw_obj_open(&w);
	jw_kstr(&w, "id", g.course_id);
	jw_kstr(&w, "title", g.course_title);
	jw_obj_close(&w);
	jw_key(&w, "period");
	if (g.period) {
		jw_obj_open(&w);
		int rc = period_fields(c, &w, g.period, 1);
		if (rc) {
			buf_free(&b);
			http_problem_err(req, rc, "Le tableau des notes n'a pas pu être lu.");
			return;
		}
		jw_obj_close(&w);
	} else
		jw_null(&w);
	jw_key(&w, "evaluations");
	jw_arr_open(&w);
	for (size_t i = 0; i < g.ev.n; i++) {
		const struct notes_eval *e = &g.ev.v[i];
		double avg, mn, mx;
		notes_eval_stats(e, &avg, &mn, &mx);
		jw_obj_open(&w);
		jw_kstr(&w, "id", e->id);
		jw_kstr(&w, "title", e->title);
		jw_kstr(&w, "date", e->date);
		jw_key(&w, "coefficient");
		jw_double(&w, e->coef);
		jw_kint(&w, "scale", e->scale);
		jw_kstr(&w, "publish_at", e->publish_at);
		jw_kbool(&w, "published", e->visible);
		jw_key(&w, "average");
		notes_jw_num(&w, avg);
		jw_key(&w, "min");
		notes_jw_num(&w, mn);
		jw_key(&w, "max");
		notes_jw_num(&w, mx);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_key(&w, "students");
	jw_arr_open(&w);
	for (size_t i = 0; i < g.nst; i++) {
		jw_obj_open(&w);
		jw_kstr(&w, "id", g.st[i].id);
		jw_kstr(&w, "name", g.st[i].name);
		jw_kstr(&w, "class", g.st[i].klass);
		jw_key(&w, "grades");
		jw_obj_open(&w);
		for (size_t k = 0; k < g.ev.n; k++) {
			const struct notes_grade *gr = notes_find_grade(&g.ev.v[k], g.st[i].id);
			if (!gr)
				continue;
			jw_key(&w, g.ev.v[k].id);
			jw_obj_open(&w);
			jw_kstr(&w, "status", notes_status_name(gr->status));
			jw_key(&w, "value");
			if (gr->status == NG_GRADED)
				jw_double(&w, gr->value);
			else
				jw_null(&w);
			jw_kstr(&w, "comment", gr->comment);
			jw_obj_close(&w);
		}
		jw_obj_close(&w);
		jw_key(&w, "average");
		notes_jw_num(&w, g.st[i].avg);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	double avg, mn, mx;
	notes_subject_class(&g.subj, &avg, &mn, &mx);
	jw_key(&w, "class_average");
	notes_jw_num(&w, avg);
	jw_obj_close(&w);
	if (b.failed) {
		buf_free(&b);
		http_problem(req, 500, "Le tableau des notes est trop grand : choisissez une période.");
		return;
	}
	http_reply_buf(req, 200, "application/json", &b);
}

/*
 * The grid as CSV, in one of two forms. The default is the one French Excel opens directly with a
 * double click: ';' between cells, decimal commas ("12,5") and a UTF-8 byte order mark.
 * ?format=rfc4180 gives the comma form for programs: ',' between cells, decimal points, no BOM.
 * Every cell is quoted, quotes doubled. A cell that a spreadsheet would read as a formula
 * (starting with = + - @, a tab or a carriage return) gets a leading single quote, as OWASP's CSV
 * injection page recommends.
 */
struct csv_form {
	char sep;   /* ';' or ',' */
	char point; /* the decimal separator: ',' or '.' */
};

static void csv_cell(buf *b, const struct csv_form *f, const char *s, int first)
{
	if (!first)
		buf_addc(b, f->sep);
	buf_addc(b, '"');
	if (s && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
		buf_addc(b, '\'');
	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == '"')
			buf_addc(b, '"');
		buf_addc(b, *p);
	}
	buf_addc(b, '"');
}

/* A number written by %g or notes_fmt_num, with the form's decimal separator (in place). */
static char *csv_num(const struct csv_form *f, char *num)
{
	for (char *p = num; *p; p++)
		if (*p == '.')
			*p = f->point;
	return num;
}

void notes_grid_csv(http_req *req)
{
	const char *format = http_query(req, "format");
	struct csv_form form = {';', ','};
	if (format && strcmp(format, "rfc4180") == 0)
		form = (struct csv_form){',', '.'};
	else if (format && strcmp(format, "excel-fr") != 0) {
		json_t *errors = json_object();
		json_object_set_new(errors, "format", json_string("doit valoir excel-fr (par défaut) ou rfc4180"));
		if (http_invalid(req, errors))
			return;
	}
	struct grid g;
	if (grid_load(req, &g))
		return;
	arena *a = http_arena(req);
	buf b;
	buf_init(&b, 0);
	if (form.sep == ';')
		buf_addstr(&b, "\xEF\xBB\xBF"); /* a BOM, so that Excel reads the file as UTF-8 */
	csv_cell(&b, &form, "Élève", 1);
	csv_cell(&b, &form, "Classe", 0);
	for (size_t k = 0; k < g.ev.n; k++) {
		const struct notes_eval *e = &g.ev.v[k];
		char coef[32];
		snprintf(coef, sizeof(coef), "%g", e->coef);
		csv_cell(&b, &form,
			 arena_printf(a, "%s (%s, /%d, coef. %s)", e->title, e->date, e->scale, csv_num(&form, coef)),
			 0);
	}
	csv_cell(&b, &form, "Moyenne /20", 0);
	buf_addstr(&b, "\r\n");
	for (size_t i = 0; i < g.nst; i++) {
		csv_cell(&b, &form, g.st[i].name, 1);
		csv_cell(&b, &form, g.st[i].klass, 0);
		for (size_t k = 0; k < g.ev.n; k++) {
			const struct notes_grade *gr = notes_find_grade(&g.ev.v[k], g.st[i].id);
			const char *v = "";
			if (gr && gr->status == NG_GRADED)
				v = csv_num(&form, arena_printf(a, "%g", gr->value));
			else if (gr && gr->status == NG_ABSENT)
				v = "ABS";
			else if (gr && gr->status == NG_EXEMPT)
				v = "DISP";
			else if (gr && gr->status == NG_NOT_GRADED)
				v = "NN";
			csv_cell(&b, &form, v, 0);
		}
		char avg[32];
		notes_fmt_num(avg, g.st[i].avg);
		csv_cell(&b, &form, csv_num(&form, avg), 0);
		buf_addstr(&b, "\r\n");
	}
	if (b.failed) {
		buf_free(&b);
		http_problem(req, 500, "Le tableau des notes est trop grand : choisissez une période.");
		return;
	}
	http_set_header(req, "Content-Disposition", "attachment; filename=\"notes.csv\"");
	http_reply_buf(req, 200, "text/csv; charset=utf-8", &b);
}
