/*
 * cours.c - the cours service (the seed's service-cours): courses, who teaches and follows them,
 * and the access rule every other part of the service (and the fichiers service) relies on.
 *
 * A course has teachers (cours_teachers: user ids of teachers) and classes (cours_classes: class
 * ids owned by the users service). Access: admins and the course's teachers edit; students of
 * one of its classes read; anyone else gets 404, exactly as for a course that does not exist.
 * Student membership is asked of the users service (users_student_class), never read from its
 * tables. Materials and consultations are in materials.c, the demo in demo.c.
 */
#include "cours.h"
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bus/bus.h"
#include "core/app.h"
#include "core/err.h"
#include "core/json.h"
#include "core/page.h"
#include "core/patch.h"
#include "core/rcache.h"
#include "core/service.h"
#include "core/util.h"
#include "core/schema.h"
#include "core/sql.h"
#include "services/fichiers/fichiers.h"
#include "services/users/users.h"

static const char schema_v1[] = "CREATE TABLE cours ("
				" id TEXT PRIMARY KEY,"
				" title TEXT NOT NULL,"
				" subject TEXT,"
				" description TEXT,"
				" school_year TEXT NOT NULL,"
				" created_by TEXT NOT NULL,"
				" created_at TEXT NOT NULL,"
				" updated_at TEXT NOT NULL);"
				"CREATE INDEX cours_by_title ON cours (title, id);"
				"CREATE TABLE cours_teachers ("
				" cours_id TEXT NOT NULL REFERENCES cours (id) ON DELETE CASCADE,"
				" user_id TEXT NOT NULL,"
				" PRIMARY KEY (cours_id, user_id));"
				"CREATE INDEX cours_teachers_by_user ON cours_teachers (user_id);"
				"CREATE TABLE cours_classes ("
				" cours_id TEXT NOT NULL REFERENCES cours (id) ON DELETE CASCADE,"
				" class_id TEXT NOT NULL,"
				" PRIMARY KEY (cours_id, class_id));"
				"CREATE INDEX cours_classes_by_class ON cours_classes (class_id);"
				"CREATE TABLE materials ("
				" id TEXT PRIMARY KEY,"
				" cours_id TEXT NOT NULL REFERENCES cours (id) ON DELETE CASCADE,"
				" title TEXT NOT NULL,"
				" description TEXT,"
				" section TEXT NOT NULL DEFAULT '',"
				" position INTEGER NOT NULL DEFAULT 0,"
				" publish_at TEXT,"
				" file_id TEXT,"
				" created_by TEXT NOT NULL,"
				" created_at TEXT NOT NULL,"
				" updated_at TEXT NOT NULL);"
				"CREATE INDEX materials_by_cours ON materials (cours_id, section, position, id);"
				"CREATE INDEX materials_by_file ON materials (file_id);"
				"CREATE TABLE consultation_cours ("
				" id TEXT PRIMARY KEY,"
				" material_id TEXT NOT NULL,"
				" cours_id TEXT NOT NULL,"
				" user_id TEXT NOT NULL,"
				" action TEXT NOT NULL CHECK (action IN ('view', 'download')),"
				" at TEXT NOT NULL);"
				"CREATE INDEX consultation_by_material ON consultation_cours (material_id, user_id);"
				"CREATE INDEX consultation_by_user ON consultation_cours (user_id, at);";

/* Every change of an input of a cached answer is recorded in the core's change table (core/rcache.h). */
static const char schema_changes[] =
	"CREATE TRIGGER cours_changed_u AFTER UPDATE ON cours BEGIN INSERT INTO core_changes (scope) VALUES ('c:' || NEW.id); END;"
	"CREATE TRIGGER cours_changed_d AFTER DELETE ON cours BEGIN INSERT INTO core_changes (scope) VALUES ('c:' || OLD.id); END;"
	"CREATE TRIGGER cours_teachers_changed_i AFTER INSERT ON cours_teachers BEGIN INSERT INTO core_changes (scope) VALUES ('c:' || NEW.cours_id); END;"
	"CREATE TRIGGER cours_teachers_changed_u AFTER UPDATE ON cours_teachers BEGIN INSERT INTO core_changes (scope) VALUES ('c:' || NEW.cours_id); INSERT INTO core_changes (scope) VALUES ('c:' || OLD.cours_id); END;"
	"CREATE TRIGGER cours_teachers_changed_d AFTER DELETE ON cours_teachers BEGIN INSERT INTO core_changes (scope) VALUES ('c:' || OLD.cours_id); END;"
	"CREATE TRIGGER cours_classes_changed_i AFTER INSERT ON cours_classes BEGIN INSERT INTO core_changes (scope) VALUES ('c:' || NEW.cours_id); INSERT INTO core_changes (scope) VALUES ('k:' || NEW.class_id); END;"
	"CREATE TRIGGER cours_classes_changed_u AFTER UPDATE ON cours_classes BEGIN INSERT INTO core_changes (scope) VALUES ('c:' || NEW.cours_id); INSERT INTO core_changes (scope) VALUES ('k:' || NEW.class_id); INSERT INTO core_changes (scope) VALUES ('c:' || OLD.cours_id); INSERT INTO core_changes (scope) VALUES ('k:' || OLD.class_id); END;"
	"CREATE TRIGGER cours_classes_changed_d AFTER DELETE ON cours_classes BEGIN INSERT INTO core_changes (scope) VALUES ('c:' || OLD.cours_id); INSERT INTO core_changes (scope) VALUES ('k:' || OLD.class_id); END;";
static const char schema_changes_pg[] =
	"CREATE FUNCTION cours_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('c:' || NEW.id); END IF; IF TG_OP = 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('c:' || OLD.id); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER cours_changed AFTER UPDATE OR DELETE ON cours FOR EACH ROW EXECUTE FUNCTION cours_changed();"
	"CREATE FUNCTION cours_teachers_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('c:' || NEW.cours_id); END IF; IF TG_OP = 'DELETE' OR TG_OP = 'UPDATE' THEN INSERT INTO core_changes (scope) VALUES ('c:' || OLD.cours_id); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER cours_teachers_changed AFTER INSERT OR UPDATE OR DELETE ON cours_teachers FOR EACH ROW EXECUTE FUNCTION cours_teachers_changed();"
	"CREATE FUNCTION cours_classes_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('c:' || NEW.cours_id); INSERT INTO core_changes (scope) VALUES ('k:' || NEW.class_id); END IF; IF TG_OP = 'DELETE' OR TG_OP = 'UPDATE' THEN INSERT INTO core_changes (scope) VALUES ('c:' || OLD.cours_id); INSERT INTO core_changes (scope) VALUES ('k:' || OLD.class_id); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER cours_classes_changed AFTER INSERT OR UPDATE OR DELETE ON cours_classes FOR EACH ROW EXECUTE FUNCTION cours_classes_changed();";

/*
 * The course lists (GET /api/cours) read a class's or a teacher's courses in title order, one page
 * at a time: a change of any of those courses (a title moves it between pages), or of who teaches
 * it, changes the class's ("k:") or the teacher's ("u:") list, not only the course's own scope.
 */
static const char schema_lists[] =
	"CREATE TRIGGER cours_lists_changed_u AFTER UPDATE ON cours BEGIN INSERT INTO core_changes (scope) SELECT 'k:' || class_id FROM cours_classes WHERE cours_id = NEW.id; INSERT INTO core_changes (scope) SELECT 'u:' || user_id FROM cours_teachers WHERE cours_id = NEW.id; END;"
	"CREATE TRIGGER cours_teachers_lists_i AFTER INSERT ON cours_teachers BEGIN INSERT INTO core_changes (scope) VALUES ('u:' || NEW.user_id); END;"
	"CREATE TRIGGER cours_teachers_lists_u AFTER UPDATE ON cours_teachers BEGIN INSERT INTO core_changes (scope) VALUES ('u:' || NEW.user_id); INSERT INTO core_changes (scope) VALUES ('u:' || OLD.user_id); END;"
	"CREATE TRIGGER cours_teachers_lists_d AFTER DELETE ON cours_teachers BEGIN INSERT INTO core_changes (scope) VALUES ('u:' || OLD.user_id); END;";
static const char schema_lists_pg[] =
	"CREATE FUNCTION cours_lists_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO core_changes (scope) SELECT 'k:' || class_id FROM cours_classes WHERE cours_id = NEW.id; INSERT INTO core_changes (scope) SELECT 'u:' || user_id FROM cours_teachers WHERE cours_id = NEW.id; RETURN NULL; END $$;"
	"CREATE TRIGGER cours_lists_changed AFTER UPDATE ON cours FOR EACH ROW EXECUTE FUNCTION cours_lists_changed();"
	"CREATE FUNCTION cours_teachers_lists_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('u:' || NEW.user_id); END IF; IF TG_OP = 'DELETE' OR TG_OP = 'UPDATE' THEN INSERT INTO core_changes (scope) VALUES ('u:' || OLD.user_id); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER cours_teachers_lists_changed AFTER INSERT OR UPDATE OR DELETE ON cours_teachers FOR EACH ROW EXECUTE FUNCTION cours_teachers_lists_changed();";

static const struct migration migrations[] = {
	{1, "courses, teachers, classes, materials, consultations", schema_v1, NULL},
	{2, "changes of courses, their teachers and classes recorded for versioned answers", schema_changes,
	 schema_changes_pg},
	{3, "changes of a class's and a teacher's course lists recorded for versioned answers", schema_lists,
	 schema_lists_pg},
};

void cours_now(char out[21]) { util_time_rfc3339(time(NULL), out); }

int cours_exists(db_conn *c, const char *cours_id)
{
	if (!c)
		return ENT_EUNAVAIL;
	if (!util_is_uuid(cours_id))
		return 0;
	return db_exists(c, "SELECT 1 FROM cours WHERE id = ?", cours_id, NULL);
}

int cours_taught_by(db_conn *c, arena *a, const char *user_id, const char ***ids)
{
	return db_texts(c, a, "SELECT cours_id FROM cours_teachers WHERE user_id = ? ORDER BY cours_id", user_id, NULL,
			ids);
}

int cours_access(db_conn *c, const char *cours_id, const char *user_id, unsigned roles)
{
	if (!c)
		return ENT_EUNAVAIL;
	if (!util_is_uuid(cours_id))
		return COURS_NONE;
	int rc = db_exists(c, "SELECT 1 FROM cours WHERE id = ?", cours_id, NULL);
	if (rc <= 0)
		return rc;
	if (roles & ROLE_ADMIN)
		return COURS_EDIT;
	if (roles & ROLE_ENSEIGNANT) {
		rc = db_exists(c, "SELECT 1 FROM cours_teachers WHERE cours_id = ? AND user_id = ?", cours_id, user_id);
		if (rc != 0)
			return rc < 0 ? rc : COURS_EDIT;
	}
	if (roles & ROLE_ETUDIANT) {
		char cls[37];
		rc = users_student_class(c, user_id, cls);
		if (rc == ENT_ENOTFOUND)
			return COURS_NONE;
		if (rc)
			return rc;
		rc = db_exists(c, "SELECT 1 FROM cours_classes WHERE cours_id = ? AND class_id = ?", cours_id, cls);
		if (rc != 0)
			return rc < 0 ? rc : COURS_READ;
	}
	return COURS_NONE;
}

int cours_for_request(http_req *req, int need)
{
	const struct http_principal *p = http_principal(req);
	int acc = cours_access(app_db(), http_param(req, "id"), p->sub, p->roles);
	if (acc < 0) {
		http_problem_err(req, acc, "Le cours n'a pas pu être lu.");
		return -1;
	}
	if (acc == COURS_NONE) {
		http_problem(req, 404, "Ce cours n'existe pas.");
		return -1;
	}
	if (acc < need) {
		http_problem(req, 403, "Seuls les enseignants du cours et les administrateurs peuvent le modifier.");
		return -1;
	}
	return acc;
}

int cours_file_readable(db_conn *c, const char *cours_id, const char *file_id, const char *user_id, unsigned roles)
{
	if (!cours_id)
		return 0; /* not a course's file */
	int acc = cours_access(c, cours_id, user_id, roles);
	if (acc <= COURS_NONE)
		return acc < 0 ? acc : 0;
	if (acc == COURS_EDIT)
		return 1;
	char now[21];
	cours_now(now);
	db_stmt *s = SQL_PREP(c,
			      "SELECT 1 FROM materials WHERE cours_id = ? AND file_id = ? AND "
			      "(publish_at IS NULL OR publish_at <= ?)",
			      SQL_T(cours_id), SQL_T(file_id), SQL_T(now));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : rc == DB_ROW;
}

/* ---- courses ---- */

#define COURS_COLS "c.id, c.title, c.subject, c.description, c.school_year, c.created_by, c.created_at, c.updated_at"

/* A JSON array of the first column of sql run with one parameter; NULL on error. */
static json_t *id_list(db_conn *c, const char *sql, const char *param)
{
	db_stmt *s = SQL_PREP(c, sql, SQL_T(param));
	if (!s)
		return NULL;
	json_t *arr = json_array();
	int rc;
	while ((rc = db_step(s)) == DB_ROW)
		json_array_append_new(arr, json_string(db_col_text(s, 0)));
	db_done(s);
	if (rc < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *course_row(db_conn *c, db_stmt *s)
{
	const char *id = db_col_text(s, 0);
	json_t *teachers = id_list(c, "SELECT user_id FROM cours_teachers WHERE cours_id = ? ORDER BY user_id", id);
	json_t *classes = id_list(c, "SELECT class_id FROM cours_classes WHERE cours_id = ? ORDER BY class_id", id);
	if (!teachers || !classes) {
		json_decref(teachers);
		json_decref(classes);
		return NULL;
	}
	return json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:s, s:o, s:o}", "id", id, "title", db_col_text(s, 1),
			 "subject", db_col_text(s, 2), "description", db_col_text(s, 3), "school_year",
			 db_col_text(s, 4), "created_by", db_col_text(s, 5), "created_at", db_col_text(s, 6),
			 "updated_at", db_col_text(s, 7), "teacher_ids", teachers, "class_ids", classes);
}

static json_t *course_load(db_conn *c, const char *id, int *err)
{
	db_stmt *s = db_prepare(c, "SELECT " COURS_COLS " FROM cours c WHERE c.id = ?");
	*err = ENT_EDB;
	if (!s)
		return NULL;
	db_bind_text(s, 1, id);
	json_t *out = NULL;
	int rc = db_step(s);
	if (rc == DB_ROW) {
		out = course_row(c, s);
		*err = out ? ENT_OK : ENT_EDB;
	} else
		*err = rc < 0 ? rc : ENT_ENOTFOUND;
	db_done(s);
	return out;
}

/*
 * The statements of GET /api/cours, one per way in: a student's courses start from their class
 * in cours_classes, a teacher's from cours_teachers, and an administrator's from the
 * (title, id) index, sought from the cursor when there is one. Each is a complete constant
 * string: the scope and the cursor choose the statement, and only the filters that never pick
 * the rows to read (search, subject, year) stay optional, "(CAST(? AS TEXT) IS NULL OR ...)",
 * their value bound twice (NULL when absent); the casts let PostgreSQL type a parameter that is
 * only compared with NULL. A student's or teacher's courses are a few rows, so their cursor is
 * an optional filter too; an administrator's list needs the index seek, hence two statements.
 */
#define LIST_FILTERS                                                                                                   \
	" AND (CAST(? AS TEXT) IS NULL OR LOWER(c.title) LIKE ? ESCAPE '\\'"                                           \
	"  OR LOWER(COALESCE(c.subject, '')) LIKE ? ESCAPE '\\'"                                                       \
	"  OR LOWER(COALESCE(c.description, '')) LIKE ? ESCAPE '\\')"                                                  \
	" AND (CAST(? AS TEXT) IS NULL OR c.subject = ?)"                                                              \
	" AND (CAST(? AS TEXT) IS NULL OR c.school_year = ?)"
#define LIST_AFTER_OPT " AND (CAST(? AS TEXT) IS NULL OR (c.title, c.id) > (?, ?))"
#define LIST_ORDER " ORDER BY c.title, c.id LIMIT ?"
#define LIST_STUDENT                                                                                                   \
	"SELECT " COURS_COLS                                                                                           \
	" FROM cours_classes k JOIN cours c ON c.id = k.cours_id WHERE k.class_id = ?" LIST_FILTERS LIST_AFTER_OPT     \
		LIST_ORDER
#define LIST_TEACHER                                                                                                   \
	"SELECT " COURS_COLS                                                                                           \
	" FROM cours_teachers t JOIN cours c ON c.id = t.cours_id WHERE t.user_id = ?" LIST_FILTERS LIST_AFTER_OPT     \
		LIST_ORDER
#define LIST_ALL "SELECT " COURS_COLS " FROM cours c WHERE 1 = 1" LIST_FILTERS LIST_ORDER
#define LIST_ALL_AFTER                                                                                                 \
	"SELECT " COURS_COLS " FROM cours c WHERE 1 = 1" LIST_FILTERS " AND (c.title, c.id) > (?, ?)" LIST_ORDER

/* Writes the first column of sql, run with one parameter, as a JSON array of strings. 0 or an error. */
static int write_ids(jw *w, db_conn *c, const char *sql, const char *param)
{
	db_stmt *s = SQL_PREP(c, sql, SQL_T(param));
	if (!s)
		return ENT_EDB;
	jw_arr_open(w);
	int rc;
	while ((rc = db_step(s)) == DB_ROW)
		jw_str(w, db_col_text(s, 0));
	db_done(s);
	jw_arr_close(w);
	return rc < 0 ? rc : ENT_OK;
}

/* A (course, teacher or class) pair of the links of a page of courses. */
struct link {
	const char *cours_id, *other;
};

static int by_link(const void *x, const void *y)
{
	const struct link *a = x, *b = y;
	int d = strcmp(a->cours_id, b->cours_id);
	return d ? d : strcmp(a->other, b->other);
}

/*
 * Every (course, other) pair that sql gives for param, sorted by course then other (the order of
 * the one-course statements: ids are canonical UUIDs, which sort the same by byte and by any
 * collation). 0 or an error.
 */
static int load_links(db_conn *c, arena *a, const char *sql, const char *param, struct link **out, size_t *n)
{
	db_stmt *s = SQL_PREP(c, sql, SQL_T(param));
	if (!s)
		return ENT_EDB;
	size_t cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	while ((rc = db_step(s)) == DB_ROW) {
		*out = arena_grow(a, *out, *n, &cap, sizeof(**out));
		(*out)[*n].cours_id = arena_strdup(a, db_col_text(s, 0));
		(*out)[(*n)++].other = arena_strdup(a, db_col_text(s, 1));
	}
	db_done(s);
	if (rc < 0)
		return rc;
	if (*n > 1)
		qsort(*out, *n, sizeof(**out), by_link);
	return ENT_OK;
}

/* Writes the others of course id among links (sorted by load_links) as a JSON array. */
static void write_linked(jw *w, const struct link *v, size_t n, const char *id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(v[mid].cours_id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	jw_arr_open(w);
	for (; lo < n && strcmp(v[lo].cours_id, id) == 0; lo++)
		jw_str(w, v[lo].other);
	jw_arr_close(w);
}

/* A course of a page, its COURS_COLS. */
struct crow {
	const char *col[8];
};

/*
 * The teachers and classes of the courses a student's class or a teacher sees, in two statements
 * whatever the page's size (instead of two per course: on PostgreSQL each is a round trip).
 */
static const char *const links_teachers[] = {
	NULL,
	"SELECT o.cours_id, o.user_id FROM cours_teachers t JOIN cours_teachers o ON o.cours_id = t.cours_id WHERE t.user_id = ?",
	"SELECT t.cours_id, t.user_id FROM cours_classes k JOIN cours_teachers t ON t.cours_id = k.cours_id WHERE k.class_id = ?",
};
static const char *const links_classes[] = {
	NULL,
	"SELECT k.cours_id, k.class_id FROM cours_teachers t JOIN cours_classes k ON k.cours_id = t.cours_id WHERE t.user_id = ?",
	"SELECT o.cours_id, o.class_id FROM cours_classes k JOIN cours_classes o ON o.cours_id = k.cours_id WHERE k.class_id = ?",
};

/*
 * Writes the courses of a page (rows: the page's rows and the one after it, if any) as course_row
 * builds them, field for field and in the same order, straight into the page: a page of courses
 * costs no jansson tree. scope 1 or 2 (and param, the teacher or the class) reads the links of
 * every course in that scope at once; scope 0 (an admin's list of all courses) reads them course
 * by course. 0 or an error.
 */
static int write_courses(page *pg, db_conn *c, arena *a, const struct crow *rows, int n, int scope, const char *param)
{
	static const char *const keys[8] = {"id",          "title",      "subject",    "description",
					    "school_year", "created_by", "created_at", "updated_at"};
	struct link *teachers = NULL, *classes = NULL;
	size_t nteachers = 0, nclasses = 0;
	int rc;
	if (scope && n &&
	    ((rc = load_links(c, a, links_teachers[scope], param, &teachers, &nteachers)) ||
	     (rc = load_links(c, a, links_classes[scope], param, &classes, &nclasses))))
		return rc;
	for (int i = 0; i < n; i++) {
		const char *id = rows[i].col[0], *sort[2] = {rows[i].col[1], id};
		jw *w = page_item(pg, sort); /* NULL: the row after the page */
		if (!w)
			break;
		jw_obj_open(w);
		for (int k = 0; k < 8; k++)
			jw_kstr(w, keys[k], rows[i].col[k]);
		jw_key(w, "teacher_ids");
		if (scope)
			write_linked(w, teachers, nteachers, id);
		else if ((rc = write_ids(w, c, "SELECT user_id FROM cours_teachers WHERE cours_id = ? ORDER BY user_id",
					 id)))
			return rc;
		jw_key(w, "class_ids");
		if (scope)
			write_linked(w, classes, nclasses, id);
		else if ((rc = write_ids(
				  w, c, "SELECT class_id FROM cours_classes WHERE cours_id = ? ORDER BY class_id", id)))
			return rc;
		jw_obj_close(w);
	}
	return ENT_OK;
}

static void list_page(http_req *req, db_conn *c, page *pg, int scope, const char *q, const char *subject,
		      const char *year);

static void cours_list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "cours", 2))
		return;
	arena *a = http_arena(req);
	json_t *errors = json_object();
	const char *q = http_query(req, "q"), *subject = http_query(req, "subject"),
		   *year = http_query(req, "school_year"), *cursor = http_query(req, "cursor");
	if (q && strlen(q) > 200)
		json_field_error(errors, "q", "length", "dépasse 200 caractères");
	if (http_invalid(req, errors))
		return;
	const struct http_principal *p = http_principal(req);
	db_conn *c = http_db(req);
	if (!c)
		return;
	int scope = 0; /* 0 admin: all; 1 teacher; 2 student */
	if (!(p->roles & ROLE_ADMIN))
		scope = (p->roles & ROLE_ENSEIGNANT) ? 1 : 2;
	if (!scope) {
		/* Every course of the school: no scope names them all, so this list is not cached. */
		list_page(req, c, &pg, scope, q, subject, year);
		return;
	}
	/*
	 * A teacher's or a student's list through the answer cache (core/rcache.h). The key holds
	 * every argument that changes the answer, each with its length (a "|" in q cannot make two
	 * keys alike); list_page() names the scopes it reads.
	 */
	const char *key = arena_printf(a, "cours-list|%s|%d|%zu:%s|%zu:%s|%zu:%s|%s|%d", p->sub, scope,
				       q ? strlen(q) : 0, q ? q : "", subject ? strlen(subject) : 0,
				       subject ? subject : "", year ? strlen(year) : 0, year ? year : "",
				       cursor ? cursor : "", pg.limit);
	if (rcache_begin(req, c, key))
		return;
	list_page(req, c, &pg, scope, q, subject, year);
	rcache_end(req, c);
}

/*
 * One page of the courses in scope (0 all, 1 the caller's as a teacher, 2 their class's), answered.
 * Inside rcache_begin(), it names what it reads: the caller ("u:": a student's class, a teacher's
 * courses and any change of one of them, cours migration 3), the class ("k:": its courses and any
 * change of one of them) and each course of the page ("c:": their teachers and classes). The
 * cursor carries the (title, id) the page starts after, so no course of its own is read for it.
 */
static void list_page(http_req *req, db_conn *c, page *pg, int scope, const char *q, const char *subject,
		      const char *year)
{
	arena *a = http_arena(req);
	const struct http_principal *p = http_principal(req);
	static const char *const keep[] = {"q", "subject", "school_year", "limit", NULL};
	char cls[37] = "";
	if (scope)
		rcache_dep(req, "u", p->sub);
	if (scope == 2) {
		int rc = users_student_class(c, p->sub, cls);
		if (rc == ENT_ENOTFOUND) {
			page_reply(pg, keep);
			return;
		}
		if (rc) {
			http_problem_err(req, rc, "La liste des cours n'a pas pu être lue.");
			return;
		}
		rcache_dep(req, "k", cls);
	}
	/* The statement of the scope, and its parameters in their order in the SQL. */
	static const char *const by_scope[] = {NULL, LIST_TEACHER, LIST_STUDENT};
	db_stmt *s = db_prepare(c, scope ? by_scope[scope] : pg->has_cursor ? LIST_ALL_AFTER : LIST_ALL);
	if (!s) {
		http_problem_err(req, ENT_EDB, "La liste des cours n'a pas pu être lue.");
		return;
	}
	int k = 1;
	if (scope)
		db_bind_text(s, k++, scope == 2 ? cls : p->sub);
	const char *pat = q ? db_like(a, q, 1) : NULL;
	const char *const values[] = {pat, pat, pat, pat, subject, subject, year, year};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		db_bind_text(s, k++, values[i]);
	if (scope) { /* LIST_AFTER_OPT: its "no cursor" switch, then the cursor's (title, id) */
		db_bind_text(s, k++, pg->after[1]);
		db_bind_text(s, k++, pg->after[0]);
		db_bind_text(s, k++, pg->after[1]);
		db_bind_int64(s, k, page_fetch(pg));
	} else
		page_bind(pg, s, k);
	/* The rows first: the links of a scope's courses are read once for the whole page. */
	int rc, n = 0;
	struct crow *rows = arena_alloc(a, (size_t)page_fetch(pg) * sizeof(*rows));
	while ((rc = db_step(s)) == DB_ROW) {
		for (int col = 0; col < 8; col++)
			rows[n].col[col] = db_col_text(s, col) ? arena_strdup(a, db_col_text(s, col)) : NULL;
		if (n < pg->limit)
			rcache_dep(req, "c", rows[n].col[0]);
		n++;
	}
	db_done(s);
	if (rc >= 0)
		rc = write_courses(pg, c, a, rows, n, scope, scope == 2 ? cls : p->sub);
	if (rc < 0) {
		http_problem_err(req, rc, "La liste des cours n'a pas pu être lue.");
		return;
	}
	page_reply(pg, keep);
}

static const struct jfield course_fields[] = {
	{"title", JF_STRING, 1, 0, 1, 200, NULL},         {"subject", JF_STRING, 0, 1, 0, 100, NULL},
	{"description", JF_STRING, 0, 1, 0, 20000, NULL}, {"school_year", JF_STRING, 0, 0, 9, 9, NULL},
	{"class_ids", JF_ARRAY, 0, 0, 0, 100, NULL},      {"teacher_ids", JF_ARRAY, 0, 0, 0, 50, NULL},
};
#define NFIELDS (sizeof(course_fields) / sizeof(course_fields[0]))
/* A PATCH: the same fields, none required. */
static const struct jfield patch_fields[] = {
	{"title", JF_STRING, 0, 0, 1, 200, NULL},         {"subject", JF_STRING, 0, 1, 0, 100, NULL},
	{"description", JF_STRING, 0, 1, 0, 20000, NULL}, {"school_year", JF_STRING, 0, 0, 9, 9, NULL},
	{"class_ids", JF_ARRAY, 0, 0, 0, 100, NULL},      {"teacher_ids", JF_ARRAY, 0, 0, 0, 50, NULL},
};

/* Checks the fields json_check cannot (year format, id lists). Adds to errors. */
static void check_course(db_conn *c, arena *a, json_t *body, json_t *errors)
{
	const char *year = json_get_str(body, "school_year", NULL);
	if (year) {
		int ok = strlen(year) == 9 && year[4] == '-';
		for (int i = 0; ok && i < 9; i++)
			if (i != 4 && (year[i] < '0' || year[i] > '9'))
				ok = 0;
		if (!ok)
			json_field_error(errors, "school_year", "not_school_year",
					 "doit être une année scolaire comme 2026-2027");
	}
	json_t *cl = json_object_get(body, "class_ids");
	if (json_is_array(cl)) {
		size_t i;
		json_t *v;
		json_array_foreach (cl, i, v) {
			const char *id = json_string_value(v);
			if (!id || !util_is_uuid(id) || users_class_exists(c, id) != 1) {
				json_object_set_new(errors, "class_ids",
						    json_string("désigne une classe qui n'existe pas"));
				break;
			}
		}
	}
	json_t *tl = json_object_get(body, "teacher_ids");
	if (json_is_array(tl)) {
		size_t i;
		json_t *v;
		json_array_foreach (tl, i, v) {
			const char *id = json_string_value(v);
			struct user u;
			if (!id || !util_is_uuid(id) || users_get(c, a, id, &u) != ENT_OK ||
			    !(u.roles & ROLE_ENSEIGNANT)) {
				json_object_set_new(errors, "teacher_ids",
						    json_string("désigne quelqu'un qui n'est pas enseignant"));
				break;
			}
		}
	}
}

/* 1 if the JSON array arr holds the string v. */
static int has_id(json_t *arr, const char *v)
{
	size_t i;
	json_t *x;
	json_array_foreach (arr, i, x)
		if (json_string_value(x) && strcmp(json_string_value(x), v) == 0)
			return 1;
	return 0;
}

/*
 * Who may link a course to a class (SECURITY.md: links that grant access are created only by
 * those allowed to grant it). A course's link to a class opens that class's report cards and the
 * course's materials to every teacher of the course, so a (teacher, class) pair is an access
 * grant. An administrator creates any. Anyone else may only create pairs where an administrator
 * assigned that teacher to that class (users_class_teacher): adding a class checks every teacher
 * of the course for it, adding a teacher checks them for every class of the course. Pairs that
 * exist already stay, and removing links is always allowed.
 *
 * cours_id is NULL for a new course. teachers and classes are the lists the request sets (NULL:
 * unchanged). Returns 0 when allowed; otherwise answers (403 naming the class and the teacher,
 * or a database problem) and returns -1.
 */
static int check_grants(http_req *req, db_conn *c, const char *cours_id, json_t *teachers, json_t *classes)
{
	const struct http_principal *p = http_principal(req);
	if ((p->roles & ROLE_ADMIN) || (!teachers && !classes))
		return 0;
	arena *a = http_arena(req);
	json_t *old_t = cours_id ? id_list(c, "SELECT user_id FROM cours_teachers WHERE cours_id = ?", cours_id)
				 : json_array();
	json_t *old_c = cours_id ? id_list(c, "SELECT class_id FROM cours_classes WHERE cours_id = ?", cours_id)
				 : json_array();
	int rc = old_t && old_c ? ENT_OK : ENT_EDB;
	json_t *nt = teachers ? teachers : old_t, *nc = classes ? classes : old_c;
	size_t i, j;
	json_t *t, *k;
	const char *bad_t = NULL, *bad_c = NULL;
	if (!rc)
		json_array_foreach (nt, i, t) {
			const char *tid = json_string_value(t);
			int old_teacher = has_id(old_t, tid);
			json_array_foreach (nc, j, k) {
				const char *cid = json_string_value(k);
				if (old_teacher && has_id(old_c, cid))
					continue;
				int ok = users_class_teacher(c, tid, cid);
				if (ok < 0)
					rc = ok;
				else if (!ok && !bad_t) {
					/* Copied: nt or nc may be a list freed below. */
					bad_t = arena_strdup(a, tid);
					bad_c = arena_strdup(a, cid);
				}
			}
		}
	json_decref(old_t);
	json_decref(old_c);
	if (rc) {
		http_problem_err(req, rc, "Les classes et les enseignants du cours n'ont pas pu être vérifiés.");
		return -1;
	}
	if (!bad_t)
		return 0;
	const char *cname = users_class_name(c, a, bad_c);
	const char *tname = NULL;
	if (strcmp(bad_t, p->sub) == 0)
		http_problemf(
			req, 403,
			"Vous n'êtes pas affecté(e) à la classe %s : seul un administrateur, ou un enseignant qu'un "
			"administrateur a affecté à cette classe, peut y rattacher un cours.",
			cname ? cname : bad_c);
	else {
		users_names(c, a, &bad_t, 1, &tname);
		http_problemf(
			req, 403,
			"%s n'est pas affecté(e) à la classe %s : un administrateur doit d'abord l'affecter à cette "
			"classe pour qu'il ou elle enseigne ce cours.",
			tname ? tname : bad_t, cname ? cname : bad_c);
	}
	return -1;
}

/* Replaces the rows of table (cours_teachers or cours_classes) for the course with the ids in arr. */
static int replace_links(db_conn *c, const char *del_sql, const char *ins_sql, const char *cours_id, json_t *arr)
{
	int rc = SQL_RUN(c, del_sql, SQL_T(cours_id));
	if (rc < 0)
		return rc;
	size_t i;
	json_t *v;
	json_array_foreach (arr, i, v) {
		rc = SQL_RUN(c, ins_sql, SQL_T(cours_id), SQL_T(json_string_value(v)));
		if (rc < 0 && rc != ENT_ECONFLICT)
			return rc;
	}
	return ENT_OK;
}

#define DEL_TEACHERS "DELETE FROM cours_teachers WHERE cours_id = ?"
#define INS_TEACHER "INSERT INTO cours_teachers (cours_id, user_id) VALUES (?, ?)"
#define DEL_CLASSES "DELETE FROM cours_classes WHERE cours_id = ?"
#define INS_CLASS "INSERT INTO cours_classes (cours_id, class_id) VALUES (?, ?)"

static void cours_create(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	db_conn *c = app_db();
	arena *a = http_arena(req);
	if (!c) {
		http_problem(req, 503, "La base de données est injoignable : réessayez dans un instant.");
		return;
	}
	json_t *errors = json_object();
	if (!json_check(body, course_fields, NFIELDS, errors))
		check_course(c, a, body, errors);
	if (json_object_size(errors)) {
		http_problem_errors(req, 400, "Certains champs du cours sont à corriger.", errors);
		return;
	}
	json_decref(errors);
	const struct http_principal *p = http_principal(req);
	char id[37], now[21], year[10];
	util_uuid(id);
	cours_now(now);
	users_current_school_year(year);
	json_t *teachers = json_object_get(body, "teacher_ids");
	teachers = teachers ? json_deep_copy(teachers) : json_array();
	if (!(p->roles & ROLE_ADMIN)) {
		/* A teacher always teaches the course they create. */
		int found = 0;
		size_t i;
		json_t *v;
		json_array_foreach (teachers, i, v)
			found |= strcmp(json_string_value(v), p->sub) == 0;
		if (!found)
			json_array_append_new(teachers, json_string(p->sub));
	}
	json_t *classes = json_object_get(body, "class_ids");
	int rc = check_grants(req, c, NULL, teachers, classes);
	if (rc) {
		json_decref(teachers);
		return;
	}
	rc = db_begin(c);
	if (rc)
		goto out;
	db_stmt *s = db_prepare(
		c, "INSERT INTO cours (id, title, subject, description, school_year, created_by, created_at, "
		   "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
	if (!s) {
		rc = ENT_EDB;
		goto fail;
	}
	db_bind_text(s, 1, id);
	db_bind_text(s, 2, json_get_str(body, "title", ""));
	db_bind_text_or_null(s, 3, json_get_str(body, "subject", NULL));
	db_bind_text_or_null(s, 4, json_get_str(body, "description", NULL));
	db_bind_text(s, 5, json_get_str(body, "school_year", year));
	db_bind_text(s, 6, p->sub);
	db_bind_text(s, 7, now);
	db_bind_text(s, 8, now);
	rc = db_step(s);
	db_done(s);
	if (rc < 0)
		goto fail;
	if ((rc = replace_links(c, DEL_TEACHERS, INS_TEACHER, id, teachers)))
		goto fail;
	if (classes && (rc = replace_links(c, DEL_CLASSES, INS_CLASS, id, classes)))
		goto fail;
	rc = db_commit(c);
	goto out;
fail:
	db_rollback(c);
out:
	json_decref(teachers);
	if (rc) {
		http_problem_err(req, rc, "Le cours n'a pas pu être créé.");
		return;
	}
	json_t *res = course_load(c, id, &rc);
	if (!res) {
		http_problem_err(req, rc, "Le cours n'a pas pu être lu.");
		return;
	}
	http_set_header(req, "Location", arena_printf(a, "/api/cours/%s", id));
	http_reply_json(req, 201, res);
}

static void cours_get(http_req *req)
{
	if (cours_for_request(req, COURS_READ) < 0)
		return;
	int rc;
	json_t *res = course_load(app_db(), http_param(req, "id"), &rc);
	if (!res)
		http_problem_err(req, rc, "Le cours n'a pas pu être lu.");
	else
		http_reply_json(req, 200, res);
}

static void cours_patch(http_req *req)
{
	if (cours_for_request(req, COURS_EDIT) < 0)
		return;
	json_t *body = http_json_body(req);
	if (!body)
		return;
	db_conn *c = app_db();
	const char *id = http_param(req, "id");
	json_t *errors = json_object();
	if (!json_check(body, patch_fields, sizeof(patch_fields) / sizeof(patch_fields[0]), errors))
		check_course(c, http_arena(req), body, errors);
	json_t *tl = json_object_get(body, "teacher_ids");
	if (tl && json_array_size(tl) == 0)
		json_field_error(errors, "teacher_ids", "course_needs_teacher",
				 "un cours garde au moins un enseignant");
	if (json_object_size(errors)) {
		http_problem_errors(req, 400, "Certains champs du cours sont à corriger.", errors);
		return;
	}
	json_decref(errors);
	if (check_grants(req, c, id, tl, json_object_get(body, "class_ids")))
		return;
	char now[21];
	cours_now(now);
	int rc = db_begin(c);
	if (rc)
		goto done;
	static const char *const cols[4] = {"title", "subject", "description", "school_year"};
	int changes = 0;
	for (int i = 0; i < 4; i++)
		changes += json_object_get(body, cols[i]) != NULL;
	if (changes) { /* the course's own fields, in one statement (core/patch.h) */
		db_stmt *s = db_prepare(
			c, "UPDATE cours SET " PATCH_SET("title") ", " PATCH_SET("subject") ", " PATCH_SET(
				   "description") ", " PATCH_SET("school_year") ", updated_at = ? WHERE id = ?");
		if (!s) {
			rc = ENT_EDB;
			goto fail;
		}
		int k = patch_bind(s, 1, body, cols, 4);
		db_bind_text(s, k++, now);
		db_bind_text(s, k, id);
		rc = db_step(s);
		db_done(s);
		if (rc < 0)
			goto fail;
	}
	if (tl && (rc = replace_links(c, DEL_TEACHERS, INS_TEACHER, id, tl)))
		goto fail;
	json_t *cl = json_object_get(body, "class_ids");
	if (cl && (rc = replace_links(c, DEL_CLASSES, INS_CLASS, id, cl)))
		goto fail;
	rc = db_commit(c);
	goto done;
fail:
	db_rollback(c);
done:
	if (rc) {
		http_problem_err(req, rc, "Le cours n'a pas pu être modifié.");
		return;
	}
	json_t *res = course_load(c, id, &rc);
	if (!res)
		http_problem_err(req, rc, "Le cours n'a pas pu être lu.");
	else
		http_reply_json(req, 200, res);
}

static void cours_delete(http_req *req)
{
	if (cours_for_request(req, COURS_EDIT) < 0)
		return;
	db_conn *c = app_db();
	const char *id = http_param(req, "id");
	const char **files = NULL;
	int nfiles = 0;
	/*
	 * One transaction: the course, its materials (their events for the chatbot), their files' rows
	 * (the blobs follow, fichiers' trash) and the consultations.
	 */
	int rc = db_begin(c);
	if (!rc) {
		nfiles = materials_course_deleting(c, http_arena(req), id, &files);
		rc = nfiles < 0 ? nfiles : ENT_OK;
		for (int i = 0; !rc && i < nfiles; i++)
			rc = fichiers_delete(c, files[i]);
		if (!rc)
			rc = db_run(c, "DELETE FROM consultation_cours WHERE cours_id = ?", id, NULL);
		if (!rc)
			rc = db_run(c, "DELETE FROM cours WHERE id = ?", id, NULL);
		if (!rc)
			rc = db_commit(c);
		if (rc)
			db_rollback(c);
	}
	if (rc < 0) {
		http_problem_err(req, rc, "Le cours n'a pas pu être supprimé.");
		return;
	}
	bus_kick();
	http_reply_empty(req, 204);
}

/* ---- service ---- */

#define S_COURS                                                                                                        \
	"{\"type\":\"object\",\"required\":[\"id\",\"title\",\"school_year\",\"teacher_ids\",\"class_ids\"],"          \
	"\"properties\":{\"id\":" S_UUID ",\"title\":" S_STR ",\"subject\":" S_NSTR ",\"description\":" S_NSTR         \
	",\"school_year\":" S_STR ",\"created_by\":" S_UUID ",\"created_at\":" S_TIME ",\"updated_at\":" S_TIME        \
	",\"teacher_ids\":" S_IDS ",\"class_ids\":" S_IDS "}}"
/* What the course's field tables do not say. */
#define S_COURS_MORE                                                                                                   \
	"{\"properties\":{\"school_year\":{\"pattern\":\"^[0-9]{4}-[0-9]{4}$\"},\"class_ids\":{\"items\":" S_UUID      \
	"},\"teacher_ids\":{\"items\":" S_UUID "}}}"
#define S_MATERIAL                                                                                                     \
	"{\"type\":\"object\",\"required\":[\"id\",\"cours_id\",\"title\",\"section\",\"position\",\"published\"],"    \
	"\"properties\":{\"id\":" S_UUID ",\"cours_id\":" S_UUID ",\"title\":" S_STR ",\"description\":" S_NSTR        \
	",\"section\":" S_STR ",\"position\":{\"type\":\"integer\"},\"publish_at\":" S_NTIME                           \
	",\"published\":{\"type\":\"boolean\"},\"file_id\":" S_NSTR ",\"file\":{\"type\":[\"object\",\"null\"]},"      \
	"\"created_by\":" S_UUID ",\"created_at\":" S_TIME ",\"updated_at\":" S_TIME "}}"
#define S_MATERIAL_MORE(req)                                                                                           \
	"{" req "\"properties\":{\"file_id\":{\"description\":\"a file the caller uploaded to /api/fichiers and "      \
	"not yet used\"}}}"
#define S_PERSON "{\"type\":\"object\",\"properties\":{\"id\":" S_UUID ",\"name\":" S_STR ",\"first_at\":" S_TIME "}}"

#define STAFF (ROLE_ENSEIGNANT | ROLE_ADMIN)

static const struct route routes[] = {
	ROUTE("GET", "/api/cours", cours_list, ROLE_ANY_USER,
	      .summary = "The caller's courses (student: their class's; teacher: those they teach; admin: all); ?q=, "
			 "?subject=, ?school_year=, ?limit=, ?cursor=",
	      .response_schema = S_LIST(S_COURS)),
	ROUTE("POST", "/api/cours", cours_create, STAFF, .status = 201,
	      .summary = "Create a course (enseignant: becomes one of its teachers; admin)", BODY(course_fields),
	      .request_schema = S_COURS_MORE, .response_schema = S_COURS),
	ROUTE("GET", "/api/cours/{id}", cours_get, ROLE_ANY_USER,
	      .summary = "A course (its teachers, its classes' students, admins; others 404)",
	      .response_schema = S_COURS),
	ROUTE("PATCH", "/api/cours/{id}", cours_patch, STAFF, .summary = "Change a course (its teachers, admins)",
	      BODY(patch_fields), .request_schema = S_COURS_MORE, .response_schema = S_COURS),
	ROUTE("DELETE", "/api/cours/{id}", cours_delete, STAFF, .status = 204,
	      .summary = "Delete a course with its materials and their files (its teachers, admins)"),
	ROUTE("GET", "/api/cours/{id}/materials", materials_list, ROLE_ANY_USER,
	      .summary = "A course's materials by section and position (students: published ones only)",
	      .response_schema =
		      "{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\","
		      "\"items\":" S_MATERIAL "}}}"),
	ROUTE("POST", "/api/cours/{id}/materials", materials_create, STAFF, .status = 201,
	      .summary = "Add a material, with a file uploaded to /api/fichiers by the caller", BODY(cours_mat_fields),
	      .request_schema = S_MATERIAL_MORE("\"required\":[\"title\"],"), .response_schema = S_MATERIAL),
	ROUTE("PUT", "/api/cours/{id}/materials/order", materials_order, STAFF,
	      .summary = "Reorder materials: {\"ids\": [...]} gives positions 0, 1, 2 ... in that order",
	      .request_schema =
		      "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"ids\"],\"properties\":"
		      "{\"ids\":" S_IDS "}}",
	      .response_schema =
		      "{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\","
		      "\"items\":" S_MATERIAL "}}}"),
	ROUTE("GET", "/api/cours/{id}/materials/{mid}", materials_get, ROLE_ANY_USER,
	      .summary = "A material (a student's view is recorded)", .response_schema = S_MATERIAL),
	ROUTE("PATCH", "/api/cours/{id}/materials/{mid}", materials_patch, STAFF,
	      .summary = "Change a material; a new file_id replaces (and deletes) the old file", BODY(cours_mat_fields),
	      .request_schema = S_MATERIAL_MORE(""), .response_schema = S_MATERIAL),
	ROUTE("DELETE", "/api/cours/{id}/materials/{mid}", materials_delete, STAFF, .status = 204,
	      .summary = "Delete a material and its file"),
	ROUTE("GET", "/api/cours/{id}/materials/{mid}/file", materials_file, ROLE_ANY_USER,
	      .summary =
		      "Download a material's file (as /api/fichiers/{id}/content; a student's download is recorded)"),
	ROUTE("GET", "/api/cours/{id}/materials/{mid}/views", materials_views, STAFF,
	      .summary = "Consultations of a material: how many students viewed or downloaded it, and who has not yet",
	      .response_schema =
		      "{\"type\":\"object\",\"required\":[\"material_id\",\"viewed_count\",\"students_total\","
		      "\"viewed\",\"not_viewed\"],\"properties\":{\"material_id\":" S_UUID ",\"viewed_count\":"
		      "{\"type\":\"integer\"},\"students_total\":{\"type\":\"integer\"},\"viewed\":{\"type\":\"array\","
		      "\"items\":" S_PERSON "},\"not_viewed\":{\"type\":\"array\",\"items\":" S_PERSON "}}}"),
};

static const char *const owned_tables[] = {"cours",     "cours_teachers",     "cours_classes",
					   "materials", "consultation_cours", NULL};

const struct service svc_cours = {
	.name = "cours",
	.title = "Courses, materials and consultations (the seed's service-cours)",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.migrations = migrations,
	.nmigrations = sizeof(migrations) / sizeof(migrations[0]),
	.tables = owned_tables,
	.demo = cours_demo,
	.generate = cours_generate,
	.export_user = cours_export_user,
	.file_readable = cours_file_readable,
	.erase_user = cours_erase_user,
};
