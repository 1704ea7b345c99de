/*
 * homework.c - the homework diary (cahier de textes): for a course, what was done in class and the
 * work to do for a due date, and each student's own tick.
 *
 * A homework belongs to a course: its teachers (and administrators) give, change and delete it;
 * the students of the course's classes read it. A student's tick (calendar_homework_done) is theirs
 * alone: a classmate never sees it, a teacher sees only how many students ticked (done_count, out
 * of students_total, the students of the course's classes now).
 */
#include "internal.h"

#include <string.h>

#include "bus/bus.h"
#include "core/err.h"
#include "core/json.h"
#include "core/patch.h"
#include "core/rcache.h"
#include "core/row.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/cours/cours.h"
#include "services/fichiers/fichiers.h"
#include "services/users/users.h"

#define HW_COLS                                                                                                        \
	"h.id, h.course_id, h.event_id, h.occurrence_at, h.title, h.work, h.done_in_class, h.due_at, "                 \
	"h.created_by, h.created_at, h.updated_at"
#define IN16 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

/* An attachment as shown: the file's id, and its name, type and size from the fichiers service. */
struct hw_file {
	const char *file_id;
	struct fichiers_info info;
};

struct hw {
	const char *col[11];
	int done;
	int64_t done_count, students_total;
	const char *course_title;
	struct hw_file *files;
	size_t nfiles, files_cap;
};

static void read_hw(db_stmt *s, arena *a, struct hw *h)
{
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 11; i++)
		h->col[i] = db_col_text(s, i) ? arena_strdup(a, db_col_text(s, i)) : NULL;
}

/* Appends the rows of s (NULL: not prepared) to *v (*n of them, capacity *cap); DB_DONE or an ent_err. */
static int read_hws(db_stmt *s, arena *a, struct hw **v, size_t *n, size_t *cap)
{
	if (!s)
		return ENT_EDB;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		*v = arena_grow(a, *v, *n, cap, sizeof(**v));
		read_hw(s, a, &(*v)[(*n)++]);
	}
	db_done(s);
	return rc;
}

static void write_hw(jw *w, const struct hw *h, int student, int staff)
{
	static const char *const keys[11] = {"id",         "course_id",  "event_id",      "occurrence_id",
					     "title",      "work",       "done_in_class", "due_at",
					     "created_by", "created_at", "updated_at"};
	jw_obj_open(w);
	for (int i = 0; i < 11; i++) {
		jw_kstr(w, keys[i], h->col[i]);
		if (i == 1)
			jw_kstr(w, "course_title", h->course_title);
	}
	jw_key(w, "attachments");
	jw_arr_open(w);
	for (size_t i = 0; i < h->nfiles; i++) {
		jw_obj_open(w);
		jw_kstr(w, "file_id", h->files[i].file_id);
		jw_kstr(w, "name", h->files[i].info.name);
		jw_kstr(w, "content_type", h->files[i].info.content_type);
		jw_kint(w, "size", (int64_t)h->files[i].info.size);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	if (student)
		jw_kbool(w, "done", h->done);
	if (staff) {
		jw_kint(w, "done_count", h->done_count);
		jw_kint(w, "students_total", h->students_total);
	}
	jw_obj_close(w);
}

/* done_count and students_total of h (for its course's teachers and administrators). */
static int hw_counts(db_conn *c, arena *a, struct hw *h)
{
	db_stmt *s = SQL_PREP(c, "SELECT COUNT(*) FROM calendar_homework_done WHERE homework_id = ?", SQL_T(h->col[0]));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	h->done_count = rc == DB_ROW ? db_col_int64(s, 0) : 0;
	db_done(s);
	if (rc < 0)
		return rc;
	const char **classes;
	int n = cours_classes_of(c, a, h->col[1], &classes);
	if (n < 0)
		return n;
	h->students_total = 0;
	for (int i = 0; i < n; i++) {
		char **ids;
		int m = users_class_members(c, a, classes[i], &ids);
		if (m < 0)
			return m;
		h->students_total += m;
	}
	return ENT_OK;
}

/* The student's tick on h. */
static int hw_done(db_conn *c, const char *student, struct hw *h)
{
	int rc = db_exists(c, "SELECT 1 FROM calendar_homework_done WHERE homework_id = ? AND student_id = ?",
			   h->col[0], student);
	if (rc < 0)
		return rc;
	h->done = rc;
	return ENT_OK;
}

/*
 * The attachments of items[0..n), 16 homework a statement, each file described by the fichiers
 * service (fichiers.h); a file deleted since by its owner is left out.
 */
static int hw_files(db_conn *c, arena *a, struct hw *items, size_t n)
{
	for (size_t base = 0; base < n; base += 16) {
		db_stmt *s = db_prepare(
			c, "SELECT homework_id, file_id FROM calendar_homework_files WHERE homework_id IN " IN16
			   " ORDER BY homework_id, position");
		if (!s)
			return ENT_EDB;
		for (size_t i = 0; i < 16; i++)
			db_bind_text_or_null(s, (int)i + 1, base + i < n ? items[base + i].col[0] : NULL);
		int rc;
		while ((rc = db_step(s)) == DB_ROW)
			for (size_t i = base; i < n && i < base + 16; i++)
				if (!strcmp(items[i].col[0], db_col_text(s, 0))) {
					struct hw *h = &items[i];
					h->files = arena_grow(a, h->files, h->nfiles, &h->files_cap, sizeof(*h->files));
					h->files[h->nfiles++].file_id = arena_strdup(a, db_col_text(s, 1));
				}
		db_done(s);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < n; i++) {
		struct hw *h = &items[i];
		size_t kept = 0;
		for (size_t j = 0; j < h->nfiles; j++) {
			int rc = fichiers_info(c, a, h->files[j].file_id, &h->files[j].info);
			if (rc && rc != ENT_ENOTFOUND)
				return rc;
			if (!rc)
				h->files[kept++] = h->files[j];
		}
		h->nfiles = kept;
	}
	return ENT_OK;
}

/*
 * Checks body's file_ids (a JSON array, absent: nothing to do): each must be a file of the caller,
 * or one already attached to homework_id (NULL for a new homework). Adds an error naming the first
 * that is not to errors. ENT_OK or a database error.
 */
static int hw_check_files(db_conn *c, arena *a, json_t *ids, const char *user_id, const char *homework_id,
			  json_t *errors)
{
	size_t i;
	json_t *one;
	json_array_foreach (ids, i, one) {
		const char *id = json_string_value(one);
		struct fichiers_info info;
		int rc = id && util_is_uuid(id) ? fichiers_info(c, a, id, &info) : ENT_ENOTFOUND;
		if (rc && rc != ENT_ENOTFOUND)
			return rc;
		int ok = !rc && !strcmp(info.owner_id, user_id);
		if (!rc && !ok && homework_id) {
			ok = db_exists(c, "SELECT 1 FROM calendar_homework_files WHERE homework_id = ? AND file_id = ?",
				       homework_id, id);
			if (ok < 0)
				return ok;
		}
		for (size_t j = 0; ok && j < i; j++)
			ok = strcmp(json_string_value(json_array_get(ids, j)), id) != 0;
		if (!ok) {
			json_object_set_new(
				errors, "file_ids",
				json_sprintf("contient %s, qui n'est pas un de vos fichiers (ou apparaît deux fois)",
					     id ? id : "une valeur qui n'est pas un identifiant"));
			return ENT_OK;
		}
	}
	return ENT_OK;
}

/* Replaces the attachments of homework_id by ids (inside the caller's transaction). */
static int hw_store_files(db_conn *c, const char *homework_id, json_t *ids)
{
	if (SQL_RUN(c, "DELETE FROM calendar_homework_files WHERE homework_id = ?", SQL_T(homework_id)) < 0)
		return ENT_EDB;
	size_t i;
	json_t *one;
	json_array_foreach (ids, i, one) {
		int rc = SQL_RUN(
			c, "INSERT INTO calendar_homework_files (homework_id, file_id, position) VALUES (?, ?, ?)",
			SQL_T(homework_id), SQL_T(json_string_value(one)), SQL_I((int64_t)i));
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

/* The student's ticks on items[0..n), 16 a statement. */
static int hw_ticks(db_conn *c, const char *student, struct hw *items, size_t n)
{
	for (size_t base = 0; base < n; base += 16) {
		db_stmt *s = db_prepare(c, "SELECT homework_id FROM calendar_homework_done WHERE student_id = ?"
					   " AND homework_id IN " IN16);
		if (!s)
			return ENT_EDB;
		db_bind_text(s, 1, student);
		for (size_t i = 0; i < 16; i++)
			db_bind_text_or_null(s, (int)i + 2, base + i < n ? items[base + i].col[0] : NULL);
		int rc;
		while ((rc = db_step(s)) == DB_ROW)
			for (size_t i = base; i < n && i < base + 16; i++)
				if (!strcmp(items[i].col[0], db_col_text(s, 0)))
					items[i].done = 1;
		db_done(s);
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

/* The titles of the courses of items[0..n), each course asked once (cours.h, 16 a statement). */
static int hw_titles(db_conn *c, arena *a, struct hw *items, size_t n)
{
	const char **ids = NULL;
	size_t nids = 0, cap = 0;
	for (size_t i = 0; i < n; i++)
		if (!cal_has(ids, nids, items[i].col[1])) {
			ids = arena_grow(a, ids, nids, &cap, sizeof(*ids));
			ids[nids++] = items[i].col[1];
		}
	if (!nids)
		return ENT_OK;
	struct cours_brief *b = arena_alloc(a, nids * sizeof(*b));
	int rc = cours_describe(c, a, ids, nids, b);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < nids; j++)
			if (!strcmp(items[i].col[1], ids[j]))
				items[i].course_title = b[j].title;
	return ENT_OK;
}

/* Reads the homework id into h: ENT_OK, ENT_ENOTFOUND or an ent_err. */
static int hw_get(db_conn *c, arena *a, const char *id, struct hw *h)
{
	if (!util_is_uuid(id))
		return ENT_ENOTFOUND;
	int rc;
	db_stmt *s = SQL_ROW(c, &rc, "SELECT " HW_COLS " FROM calendar_homework h WHERE h.id = ?", SQL_T(id));
	if (!s)
		return rc;
	read_hw(s, a, h);
	db_done(s);
	return ENT_OK;
}

/*
 * The homework {id} for the caller: the connection, or NULL after answering (503; 404 when absent
 * or not of the caller's courses; 403 when need_edit and not a teacher of its course).
 */
static db_conn *hw_open(http_req *req, struct cal_viewer *v, struct hw *h, int need_edit)
{
	db_conn *c = http_db(req);
	if (!c || cal_viewer_load(req, c, v))
		return NULL;
	int rc = hw_get(c, http_arena(req), http_param(req, "id"), h);
	if (row_verdict(req, rc, !rc && (v->all || cal_has(v->courses, v->ncourses, h->col[1])),
			"Ce devoir n'existe pas ou ne vous est pas visible.", "Le devoir n'a pas pu être lu."))
		return NULL;
	if (need_edit && !v->all && !cal_has(v->taught, v->ntaught, h->col[1])) {
		http_problem(req, 403, "Seuls les enseignants du cours et les administrateurs modifient ses devoirs.");
		return NULL;
	}
	return c;
}

static void reply_hw(http_req *req, db_conn *c, const struct cal_viewer *v, struct hw *h, int status)
{
	arena *a = http_arena(req);
	int student = (v->roles & ROLE_ETUDIANT) != 0;
	int staff = v->all || cal_has(v->taught, v->ntaught, h->col[1]);
	int rc = student ? hw_done(c, v->user_id, h) : ENT_OK;
	if (!rc && staff)
		rc = hw_counts(c, a, h);
	if (!rc)
		rc = hw_files(c, a, h, 1);
	if (rc) {
		http_problem_err(req, rc, "Le devoir n'a pas pu être relu.");
		return;
	}
	h->course_title = cours_title(c, a, h->col[1]);
	write_hw(http_jw(req), h, student, staff);
	http_reply_jw(req, status);
}

/* Answers the homework id as it is now, with status (201: with its Location), after a write. */
static void reread_reply(http_req *req, db_conn *c, const struct cal_viewer *v, const char *id, int status)
{
	struct hw h;
	memset(&h, 0, sizeof(h));
	int rc = hw_get(c, http_arena(req), id, &h);
	if (rc) {
		http_problem_err(req, rc == ENT_ENOTFOUND ? ENT_EDB : rc, "Le devoir n'a pas pu être relu.");
		return;
	}
	if (status == 201)
		http_set_header(req, "Location", arena_printf(http_arena(req), "/api/calendar/homework/%s", id));
	reply_hw(req, c, v, &h, status);
}

static void homework_list(http_req *req, db_conn *c, const char *course, time_t from, time_t to);

void cal_homework_list(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	const char *course = http_query(req, "course_id");
	if (course && !util_is_uuid(course)) {
		http_invalid(req, json_pack("{s:s}", "course_id", "doit être l'identifiant d'un cours"));
		return;
	}
	/* Default: from today (midnight in Paris), four weeks. */
	char today[11];
	time_t midnight, from, to;
	cal_local_date(time(NULL), CAL_DEFAULT_TZ, today);
	cal_local_midnight(today, CAL_DEFAULT_TZ, &midnight);
	if (cal_window_args(req, midnight, 28, &from, &to))
		return;
	/*
	 * A student's list goes through the answer cache (core/rcache.h); a teacher's counts depend on
	 * ticks and course assignments that no version names, so theirs is not.
	 */
	const struct http_principal *p = http_principal(req);
	if ((p->roles & (ROLE_ETUDIANT | ROLE_ENSEIGNANT | ROLE_ADMIN)) == ROLE_ETUDIANT) {
		const char *key = arena_printf(a, "cal-homework|%s|%lld|%lld|%s", p->sub, (long long)from,
					       (long long)to, course ? course : "");
		if (rcache_begin(req, c, key))
			return;
		homework_list(req, c, course, from, to);
		rcache_end(req, c);
	} else
		homework_list(req, c, course, from, to);
}

/*
 * Answers the homework due in [from, to) of the caller's courses (or of course). Inside
 * rcache_begin(), it names what it reads: the student ("u:": their class), the class ("k:": its
 * courses), each course ("c:": its title; "h:": its homework and their attachments), the
 * student's ticks ("t:"). An attachment's file is the fichiers service's, which no version names:
 * a list with attachments is not kept.
 */
static void homework_list(http_req *req, db_conn *c, const char *course, time_t from, time_t to)
{
	arena *a = http_arena(req);
	struct cal_viewer v;
	if (cal_viewer_load(req, c, &v))
		return;
	char fs[21], ts[21];
	util_time_rfc3339(from, fs);
	util_time_rfc3339(to, ts);
	/* The courses to read: one asked for (if the caller follows it), theirs, or every course (admins). */
	const char *const *ids = v.courses;
	size_t n = v.ncourses;
	if (course) {
		if (!v.all && !cal_has(v.courses, v.ncourses, course))
			n = 0;
		else {
			ids = &course;
			n = 1;
		}
	}
	struct hw *items = NULL;
	size_t nitems = 0, cap = 0;
	int rc = ENT_OK;
	if (v.all && !course)
		rc = read_hws(SQL_PREP(c,
				       "SELECT " HW_COLS
				       " FROM calendar_homework h WHERE h.due_at >= ? AND h.due_at < ?"
				       " ORDER BY h.due_at, h.id LIMIT 500",
				       SQL_T(fs), SQL_T(ts)),
			      a, &items, &nitems, &cap);
	else
		for (size_t base = 0; base < n && rc >= 0; base += 16) {
			db_stmt *s = db_prepare(c,
						"SELECT " HW_COLS " FROM calendar_homework h WHERE h.course_id IN " IN16
						" AND h.due_at >= ? AND h.due_at < ?");
			for (size_t i = 0; s && i < 16; i++)
				db_bind_text_or_null(s, (int)i + 1, base + i < n ? ids[base + i] : NULL);
			if (s) {
				db_bind_text(s, 17, fs);
				db_bind_text(s, 18, ts);
			}
			rc = read_hws(s, a, &items, &nitems, &cap);
		}
	if (rc < 0) {
		http_problem_err(req, rc, "Les devoirs n'ont pas pu être lus.");
		return;
	}
	/* By due date then id (several statements when more than 16 courses). */
	for (size_t i = 1; i < nitems; i++)
		for (size_t j = i; j > 0; j--) {
			int d = strcmp(items[j - 1].col[7], items[j].col[7]);
			if (d < 0 || (d == 0 && strcmp(items[j - 1].col[0], items[j].col[0]) < 0))
				break;
			struct hw x = items[j];
			items[j] = items[j - 1];
			items[j - 1] = x;
		}
	int student = (v.roles & ROLE_ETUDIANT) != 0;
	rc = ENT_OK;
	if (student)
		rc = hw_ticks(c, v.user_id, items, nitems);
	if (!rc)
		rc = hw_titles(c, a, items, nitems);
	if (!rc)
		rc = hw_files(c, a, items, nitems);
	for (size_t i = 0; i < nitems && !rc; i++)
		if (v.all || cal_has(v.taught, v.ntaught, items[i].col[1]))
			rc = hw_counts(c, a, &items[i]);
	if (rc) {
		http_problem_err(req, rc, "Les devoirs n'ont pas pu être lus.");
		return;
	}
	if (rcache_collecting(req)) {
		rcache_dep(req, "u", v.user_id);
		rcache_dep(req, "t", v.user_id);
		for (size_t i = 0; i < v.nclasses; i++)
			rcache_dep(req, "k", v.classes[i]);
		for (size_t i = 0; i < n; i++) {
			rcache_dep(req, "c", ids[i]);
			rcache_dep(req, "h", ids[i]);
		}
		for (size_t i = 0; i < nitems; i++)
			if (items[i].nfiles) {
				char now[21];
				util_time_rfc3339(time(NULL), now);
				rcache_until(req, now); /* already past: not served again */
				break;
			}
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_key(w, "items");
	jw_arr_open(w);
	for (size_t i = 0; i < nitems; i++)
		write_hw(w, &items[i], student, v.all || cal_has(v.taught, v.ntaught, items[i].col[1]));
	jw_arr_close(w);
	jw_kstr(w, "next_cursor", NULL);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

const struct jfield cal_hw_fields[CAL_NHW] = {
	{"course_id", JF_UUID, 1, 0, 0, 0, NULL},     {"event_id", JF_UUID, 0, 1, 0, 0, NULL},
	{"occurrence_id", JF_TIME, 0, 1, 0, 0, NULL}, {"title", JF_STRING, 1, 0, 1, 200, NULL},
	{"work", JF_STRING, 0, 1, 0, 10000, NULL},    {"done_in_class", JF_STRING, 0, 1, 0, 10000, NULL},
	{"due_at", JF_TIME, 1, 0, 0, 0, NULL},        {"file_ids", JF_ARRAY, 0, 0, 0, 10, NULL},
};

/* Normalised RFC 3339 UTC of a valid time string (arena), or NULL. */
static const char *utc(arena *a, const char *s)
{
	time_t t;
	if (!s || util_parse_rfc3339(s, &t))
		return NULL;
	char *out = arena_alloc(a, 21);
	util_time_rfc3339(t, out);
	return out;
}

void cal_homework_create(http_req *req)
{
	json_t *body, *errors;
	db_conn *c = cal_body_db(req, cal_hw_fields, CAL_NHW, &body, &errors);
	if (!c)
		return;
	arena *a = http_arena(req);
	if (http_invalid(req, errors))
		return;
	struct cal_viewer v;
	if (cal_viewer_load(req, c, &v))
		return;
	const char *course = json_get_str(body, "course_id", NULL);
	if (cal_course_taught(req, c, &v, course,
			      "Seuls les enseignants du cours et les administrateurs y donnent des devoirs."))
		return;
	int rc;
	json_t *files = json_object_get(body, "file_ids");
	errors = json_object();
	if (files && (rc = hw_check_files(c, a, files, v.user_id, NULL, errors))) {
		json_decref(errors);
		http_problem_err(req, rc, NULL);
		return;
	}
	if (http_invalid(req, errors))
		return;
	char id[37], now[21];
	util_uuid(id);
	util_time_rfc3339(time(NULL), now);
	if ((rc = db_begin(c))) {
		http_problem_err(req, rc, NULL);
		return;
	}
	db_stmt *s = db_prepare(
		c,
		"INSERT INTO calendar_homework (id, course_id, event_id, occurrence_at, title, work,"
		" done_in_class, due_at, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	rc = ENT_EDB;
	if (s) {
		const char *vals[] = {id,
				      course,
				      json_get_str(body, "event_id", NULL),
				      utc(a, json_get_str(body, "occurrence_id", NULL)),
				      json_get_str(body, "title", NULL),
				      json_get_str(body, "work", NULL),
				      json_get_str(body, "done_in_class", NULL),
				      utc(a, json_get_str(body, "due_at", NULL)),
				      v.user_id,
				      now,
				      now};
		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
			db_bind_text_or_null(s, (int)i + 1, vals[i]);
		rc = db_step(s);
		db_done(s);
	}
	if (rc >= 0 && files)
		rc = hw_store_files(c, id, files);
	/* The course's students hear of it, in the same transaction. */
	time_t due = 0;
	util_parse_rfc3339(json_get_str(body, "due_at", ""), &due);
	if (rc >= 0)
		rc = cal_notify_homework(c, a, id, course, json_get_str(body, "title", ""), due);
	rc = rc < 0 ? (db_rollback(c), rc) : db_commit(c);
	if (rc) {
		http_problem_err(req, rc, "Le devoir n'a pas pu être enregistré.");
		return;
	}
	bus_kick();
	reread_reply(req, c, &v, id, 201);
}

void cal_homework_get(http_req *req)
{
	struct cal_viewer v;
	struct hw h;
	db_conn *c = hw_open(req, &v, &h, 0);
	if (!c)
		return;
	reply_hw(req, c, &v, &h, 200);
}

void cal_homework_patch(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	struct cal_viewer v;
	struct hw h;
	db_conn *c = hw_open(req, &v, &h, 1);
	if (!c)
		return;
	arena *a = http_arena(req);
	json_t *errors = json_object();
	json_check(body, cal_patch_fields(req, cal_hw_fields, CAL_NHW), CAL_NHW, errors);
	if (json_object_get(body, "course_id") && strcmp(json_get_str(body, "course_id", ""), h.col[1]))
		json_object_set_new(errors, "course_id",
				    json_string("ne change pas : donnez le devoir dans l'autre cours"));
	json_t *files = json_object_get(body, "file_ids");
	int frc = files && !json_object_size(errors) ? hw_check_files(c, a, files, v.user_id, h.col[0], errors) : 0;
	if (frc) {
		json_decref(errors);
		http_problem_err(req, frc, NULL);
		return;
	}
	if (http_invalid(req, errors))
		return;
	/* One statement (core/patch.h); the times are stored normalised to UTC first. */
	static const char *const keys[] = {"event_id", "occurrence_id", "title", "work", "done_in_class", "due_at"};
	json_t *norm = json_deep_copy(body);
	for (size_t i = 1; i < 6; i += 4) {
		const char *t = json_string_value(json_object_get(norm, keys[i]));
		if (t)
			json_object_set_new(norm, keys[i], json_string(utc(a, t)));
	}
	db_stmt *s = db_prepare(
		c,
		"UPDATE calendar_homework SET " PATCH_SET(
			"event_id") ", occurrence_at = CASE WHEN ? = 1"
				    " THEN ? ELSE occurrence_at END, " PATCH_SET("title") ", " PATCH_SET("work") ", " PATCH_SET(
					    "done_in_class") ", " PATCH_SET("due_at") ", updated_at = ? WHERE id = ?");
	int rc = db_begin(c);
	if (!rc && !s)
		rc = ENT_EDB;
	if (!rc) {
		int k = patch_bind(s, 1, norm, keys, sizeof(keys) / sizeof(keys[0]));
		char now[21];
		util_time_rfc3339(time(NULL), now);
		db_bind_text(s, k++, now);
		db_bind_text(s, k, h.col[0]);
		rc = db_step(s);
		rc = rc < 0 ? rc : ENT_OK;
	}
	db_done(s);
	if (!rc && files)
		rc = hw_store_files(c, h.col[0], files);
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	json_decref(norm);
	if (rc < 0) {
		http_problem_err(req, rc, "Le devoir n'a pas pu être modifié.");
		return;
	}
	reread_reply(req, c, &v, h.col[0], 200);
}

void cal_homework_delete(http_req *req)
{
	struct cal_viewer v;
	struct hw h;
	db_conn *c = hw_open(req, &v, &h, 1);
	if (!c)
		return;
	int rc = db_begin(c);
	if (!rc && SQL_RUN(c, "DELETE FROM calendar_homework_done WHERE homework_id = ?", SQL_T(h.col[0])) < 0)
		rc = ENT_EDB;
	if (!rc && SQL_RUN(c, "DELETE FROM calendar_homework_files WHERE homework_id = ?", SQL_T(h.col[0])) < 0)
		rc = ENT_EDB;
	if (!rc && SQL_RUN(c, "DELETE FROM calendar_homework WHERE id = ?", SQL_T(h.col[0])) < 0)
		rc = ENT_EDB;
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (rc)
		http_problem_err(req, rc, "Le devoir n'a pas pu être supprimé.");
	else
		http_reply_empty(req, 204);
}

static void set_done(http_req *req, int done)
{
	struct cal_viewer v;
	struct hw h;
	db_conn *c = hw_open(req, &v, &h, 0);
	if (!c)
		return;
	char now[21];
	util_time_rfc3339(time(NULL), now);
	int rc;
	if (done) {
		rc = SQL_RUN(c,
			     "INSERT INTO calendar_homework_done (homework_id, student_id, done_at) VALUES (?, ?, ?)"
			     " ON CONFLICT (homework_id, student_id) DO NOTHING",
			     SQL_T(h.col[0]), SQL_T(v.user_id), SQL_T(now));
	} else
		rc = SQL_RUN(c, "DELETE FROM calendar_homework_done WHERE homework_id = ? AND student_id = ?",
			     SQL_T(h.col[0]), SQL_T(v.user_id));
	if (rc < 0)
		http_problem_err(req, rc, "Votre coche n'a pas pu être enregistrée.");
	else
		http_reply_empty(req, 204);
}

void cal_homework_done_put(http_req *req) { set_done(req, 1); }
void cal_homework_done_delete(http_req *req) { set_done(req, 0); }

void cal_homework_file(http_req *req)
{
	struct cal_viewer v;
	struct hw h;
	db_conn *c = hw_open(req, &v, &h, 0);
	if (!c)
		return;
	const char *file = http_param(req, "file_id");
	int rc = util_is_uuid(file)
			 ? db_exists(c, "SELECT 1 FROM calendar_homework_files WHERE homework_id = ? AND file_id = ?",
				     h.col[0], file)
			 : 0;
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	if (!rc) {
		http_problem(req, 404, "Ce fichier n'est pas joint à ce devoir.");
		return;
	}
	fichiers_send(req, file);
}

int cal_file_readable(db_conn *c, const char *cours_id, const char *file_id, const char *user_id, unsigned roles)
{
	(void)cours_id;
	if (!file_id || !util_is_uuid(file_id))
		return 0;
	/* The courses of the homework it is attached to; the file is readable if the user sees one. */
	db_stmt *s = SQL_PREP(c,
			      "SELECT DISTINCT h.course_id FROM calendar_homework_files f JOIN calendar_homework h"
			      " ON h.id = f.homework_id WHERE f.file_id = ? ORDER BY h.course_id",
			      SQL_T(file_id));
	if (!s)
		return ENT_EDB;
	arena *a = arena_new(0);
	const char **courses = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		courses = arena_grow(a, courses, n, &cap, sizeof(*courses));
		courses[n++] = arena_strdup(a, db_col_text(s, 0));
	}
	db_done(s);
	if (rc >= 0)
		rc = 0;
	if (!rc && n) {
		struct http_principal p = {.sub = user_id, .roles = roles};
		struct cal_viewer v;
		rc = cal_viewer_for(c, a, &p, &v);
		for (size_t i = 0; !rc && i < n; i++)
			if (v.all || cal_has(v.courses, v.ncourses, courses[i]))
				rc = 1;
	}
	arena_free(a);
	return rc;
}
