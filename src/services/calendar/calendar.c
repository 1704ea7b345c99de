/*
 * calendar.c - the calendar service (the seed's calendar-service, "Calendrier académique,
 * événements & emplois du temps"): the school's events, the week's timetable with its cancelled
 * and moved lessons, the homework diary (cahier de textes) and iCalendar feeds.
 *
 * An event has an audience, which decides who sees it:
 *   school    everyone (set by administrators: school events, holidays)
 *   teachers  teachers and administrators (staff meetings)
 *   classes   the students of the listed classes and their teachers
 *   course    the students of the course's classes (asked of the cours service when read, so a
 *             class added to a course sees its lessons at once) and its teachers
 *   owner     its owner only (personal events)
 * Administrators see everything. An event a caller may not see answers 404, as one that does not
 * exist. Who may create what is in events.c (check_audience).
 *
 * The caller's classes and courses come from the users and cours services' C interfaces
 * (users.h, cours.h), never from their tables. Recurrence is in expand.c.
 */
#include "internal.h"

#include <string.h>

#include "core/app.h"
#include "core/err.h"
#include "core/service.h"
#include "core/util.h"
#include "core/schema.h"
#include "core/export.h"
#include "core/sql.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

static const char schema_v1[] =
	"CREATE TABLE calendar_events ("
	" id TEXT PRIMARY KEY,"
	" kind TEXT NOT NULL CHECK (kind IN ('lesson', 'exam', 'homework', 'school', 'holiday', 'personal')),"
	" title TEXT NOT NULL,"
	" description TEXT,"
	" location TEXT,"
	" starts_at TEXT NOT NULL,"
	" ends_at TEXT NOT NULL,"
	" tz TEXT NOT NULL,"
	" all_day INTEGER NOT NULL DEFAULT 0,"
	" rrule TEXT,"
	" exdates TEXT NOT NULL DEFAULT '',"
	" last_end_at TEXT,"
	" audience TEXT NOT NULL CHECK (audience IN ('school', 'teachers', 'classes', 'course', 'owner')),"
	" course_id TEXT,"
	" evaluation_id TEXT,"
	" teacher_id TEXT,"
	" owner_id TEXT NOT NULL,"
	" parent_id TEXT,"
	" created_at TEXT NOT NULL,"
	" updated_at TEXT NOT NULL);"
	"CREATE INDEX calendar_events_by_audience ON calendar_events (audience, starts_at);"
	"CREATE INDEX calendar_events_by_course ON calendar_events (course_id, starts_at);"
	"CREATE INDEX calendar_events_by_owner ON calendar_events (owner_id, starts_at);"
	"CREATE INDEX calendar_events_holidays ON calendar_events (kind, starts_at);"
	"CREATE TABLE calendar_event_classes ("
	" event_id TEXT NOT NULL REFERENCES calendar_events (id) ON DELETE CASCADE,"
	" class_id TEXT NOT NULL,"
	" PRIMARY KEY (event_id, class_id));"
	"CREATE INDEX calendar_event_classes_by_class ON calendar_event_classes (class_id);"
	"CREATE TABLE calendar_overrides ("
	" event_id TEXT NOT NULL REFERENCES calendar_events (id) ON DELETE CASCADE,"
	" occurrence_at TEXT NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('cancelled', 'changed')),"
	" starts_at TEXT,"
	" ends_at TEXT,"
	" location TEXT,"
	" teacher_id TEXT,"
	" note TEXT,"
	" updated_by TEXT NOT NULL,"
	" updated_at TEXT NOT NULL,"
	" PRIMARY KEY (event_id, occurrence_at));"
	"CREATE TABLE calendar_homework ("
	" id TEXT PRIMARY KEY,"
	" course_id TEXT NOT NULL,"
	" event_id TEXT,"
	" occurrence_at TEXT,"
	" title TEXT NOT NULL,"
	" work TEXT,"
	" done_in_class TEXT,"
	" due_at TEXT NOT NULL,"
	" created_by TEXT NOT NULL,"
	" created_at TEXT NOT NULL,"
	" updated_at TEXT NOT NULL);"
	"CREATE INDEX calendar_homework_by_course ON calendar_homework (course_id, due_at);"
	"CREATE TABLE calendar_homework_done ("
	" homework_id TEXT NOT NULL REFERENCES calendar_homework (id) ON DELETE CASCADE,"
	" student_id TEXT NOT NULL,"
	" done_at TEXT NOT NULL,"
	" PRIMARY KEY (homework_id, student_id));"
	"CREATE INDEX calendar_homework_done_by_student ON calendar_homework_done (student_id);"
	"CREATE TABLE calendar_feeds ("
	" user_id TEXT PRIMARY KEY,"
	" token_hash TEXT NOT NULL UNIQUE,"
	" created_at TEXT NOT NULL);";

static const char schema_v2[] = "CREATE TABLE calendar_reminders ("
				" event_id TEXT NOT NULL,"
				" occurrence_at TEXT NOT NULL,"
				" sent_at TEXT NOT NULL,"
				" PRIMARY KEY (event_id, occurrence_at));";

static const char schema_v3[] = "CREATE TABLE calendar_homework_files ("
				" homework_id TEXT NOT NULL REFERENCES calendar_homework (id) ON DELETE CASCADE,"
				" file_id TEXT NOT NULL,"
				" position INTEGER NOT NULL,"
				" PRIMARY KEY (homework_id, file_id));"
				"CREATE INDEX calendar_homework_files_by_file ON calendar_homework_files (file_id);";

/*
 * The lease of a reminder names the start it was sent for: an exam moved is reminded again before
 * its new time. The rows sent so far were for occurrences where the series put them.
 */
static const char schema_v4[] = "CREATE TABLE calendar_reminders_v4 ("
				" event_id TEXT NOT NULL,"
				" occurrence_at TEXT NOT NULL,"
				" starts_at TEXT NOT NULL,"
				" sent_at TEXT NOT NULL,"
				" PRIMARY KEY (event_id, occurrence_at, starts_at));"
				"INSERT INTO calendar_reminders_v4 (event_id, occurrence_at, starts_at, sent_at)"
				" SELECT event_id, occurrence_at, occurrence_at, sent_at FROM calendar_reminders;"
				"DROP TABLE calendar_reminders;"
				"ALTER TABLE calendar_reminders_v4 RENAME TO calendar_reminders;"
				"CREATE INDEX calendar_overrides_by_start ON calendar_overrides (starts_at);";

/*
 * The answer cache's versions (core/rcache.h): every write to the timetable's tables changes
 * "n:calendar" (a week read depends on many series: one scope for them all; calendar writes are
 * rare against reads), a homework or its attachments "h:<course>", a student's ticks "t:<student>".
 * Triggers, so that no write path can forget (PostgreSQL: once per statement for n:calendar).
 */
static const char schema_v5[] =
	"CREATE TRIGGER calendar_events_changed_i AFTER INSERT ON calendar_events BEGIN INSERT INTO core_changes (scope) VALUES ('n:calendar'); END;"
	"CREATE TRIGGER calendar_events_changed_u AFTER UPDATE ON calendar_events BEGIN INSERT INTO core_changes (scope) VALUES ('n:calendar'); INSERT INTO core_changes (scope) VALUES ('n:calendar'); END;"
	"CREATE TRIGGER calendar_events_changed_d AFTER DELETE ON calendar_events BEGIN INSERT INTO core_changes (scope) VALUES ('n:calendar'); END;"
	"CREATE TRIGGER calendar_overrides_changed_i AFTER INSERT ON calendar_overrides BEGIN INSERT INTO core_changes (scope) VALUES ('n:calendar'); END;"
	"CREATE TRIGGER calendar_overrides_changed_u AFTER UPDATE ON calendar_overrides BEGIN INSERT INTO core_changes (scope) VALUES ('n:calendar'); INSERT INTO core_changes (scope) VALUES ('n:calendar'); END;"
	"CREATE TRIGGER calendar_overrides_changed_d AFTER DELETE ON calendar_overrides BEGIN INSERT INTO core_changes (scope) VALUES ('n:calendar'); END;"
	"CREATE TRIGGER calendar_event_classes_changed_i AFTER INSERT ON calendar_event_classes BEGIN INSERT INTO core_changes (scope) VALUES ('n:calendar'); END;"
	"CREATE TRIGGER calendar_event_classes_changed_u AFTER UPDATE ON calendar_event_classes BEGIN INSERT INTO core_changes (scope) VALUES ('n:calendar'); INSERT INTO core_changes (scope) VALUES ('n:calendar'); END;"
	"CREATE TRIGGER calendar_event_classes_changed_d AFTER DELETE ON calendar_event_classes BEGIN INSERT INTO core_changes (scope) VALUES ('n:calendar'); END;"
	"CREATE TRIGGER calendar_homework_changed_i AFTER INSERT ON calendar_homework BEGIN INSERT INTO core_changes (scope) VALUES ('h:' || NEW.course_id); END;"
	"CREATE TRIGGER calendar_homework_changed_u AFTER UPDATE ON calendar_homework BEGIN INSERT INTO core_changes (scope) VALUES ('h:' || NEW.course_id); INSERT INTO core_changes (scope) VALUES ('h:' || OLD.course_id); END;"
	"CREATE TRIGGER calendar_homework_changed_d AFTER DELETE ON calendar_homework BEGIN INSERT INTO core_changes (scope) VALUES ('h:' || OLD.course_id); END;"
	"CREATE TRIGGER calendar_homework_files_changed_i AFTER INSERT ON calendar_homework_files BEGIN INSERT INTO core_changes (scope) SELECT 'h:' || course_id FROM calendar_homework WHERE id = NEW.homework_id; END;"
	"CREATE TRIGGER calendar_homework_files_changed_u AFTER UPDATE ON calendar_homework_files BEGIN INSERT INTO core_changes (scope) SELECT 'h:' || course_id FROM calendar_homework WHERE id = NEW.homework_id; INSERT INTO core_changes (scope) SELECT 'h:' || course_id FROM calendar_homework WHERE id = OLD.homework_id; END;"
	"CREATE TRIGGER calendar_homework_files_changed_d AFTER DELETE ON calendar_homework_files BEGIN INSERT INTO core_changes (scope) SELECT 'h:' || course_id FROM calendar_homework WHERE id = OLD.homework_id; END;"
	"CREATE TRIGGER calendar_homework_done_changed_i AFTER INSERT ON calendar_homework_done BEGIN INSERT INTO core_changes (scope) VALUES ('t:' || NEW.student_id); END;"
	"CREATE TRIGGER calendar_homework_done_changed_u AFTER UPDATE ON calendar_homework_done BEGIN INSERT INTO core_changes (scope) VALUES ('t:' || NEW.student_id); INSERT INTO core_changes (scope) VALUES ('t:' || OLD.student_id); END;"
	"CREATE TRIGGER calendar_homework_done_changed_d AFTER DELETE ON calendar_homework_done BEGIN INSERT INTO core_changes (scope) VALUES ('t:' || OLD.student_id); END;";
static const char schema_v5_pg[] =
	"CREATE FUNCTION calendar_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO core_changes (scope) VALUES ('n:calendar'); RETURN NULL; END $$;"
	"CREATE TRIGGER calendar_events_changed AFTER INSERT OR UPDATE OR DELETE ON calendar_events FOR EACH STATEMENT EXECUTE FUNCTION calendar_changed();"
	"CREATE TRIGGER calendar_overrides_changed AFTER INSERT OR UPDATE OR DELETE ON calendar_overrides FOR EACH STATEMENT EXECUTE FUNCTION calendar_changed();"
	"CREATE TRIGGER calendar_event_classes_changed AFTER INSERT OR UPDATE OR DELETE ON calendar_event_classes FOR EACH STATEMENT EXECUTE FUNCTION calendar_changed();"
	"CREATE FUNCTION calendar_homework_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('h:' || NEW.course_id); END IF; IF TG_OP <> 'INSERT' THEN INSERT INTO core_changes (scope) VALUES ('h:' || OLD.course_id); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER calendar_homework_changed AFTER INSERT OR UPDATE OR DELETE ON calendar_homework FOR EACH ROW EXECUTE FUNCTION calendar_homework_changed();"
	"CREATE FUNCTION calendar_homework_files_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) SELECT 'h:' || course_id FROM calendar_homework WHERE id = NEW.homework_id; END IF; IF TG_OP <> 'INSERT' THEN INSERT INTO core_changes (scope) SELECT 'h:' || course_id FROM calendar_homework WHERE id = OLD.homework_id; END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER calendar_homework_files_changed AFTER INSERT OR UPDATE OR DELETE ON calendar_homework_files FOR EACH ROW EXECUTE FUNCTION calendar_homework_files_changed();"
	"CREATE FUNCTION calendar_homework_done_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('t:' || NEW.student_id); END IF; IF TG_OP <> 'INSERT' THEN INSERT INTO core_changes (scope) VALUES ('t:' || OLD.student_id); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER calendar_homework_done_changed AFTER INSERT OR UPDATE OR DELETE ON calendar_homework_done FOR EACH ROW EXECUTE FUNCTION calendar_homework_done_changed();";

/*
 * Finer versions for the weeks (migration 6): n:calendar changed with every write to any series, so
 * one teacher's cancelled lesson rebuilt every cached week of the school. A series now changes the
 * scope of its audience: "e:school" (school events and holidays), "e:teachers" (staff events),
 * "eo:<owner>" (a personal event), "ec:<course>" (a course's lessons and exams), "ek:<class>" (an
 * event for listed classes, each one); a changed occurrence changes its series' scope. A week names
 * those it reads (events.c, timetable_week), so a write touching one class or course leaves the
 * other classes' weeks in the cache. Both the old and the new audience change on an update.
 */
#define CAL_SCOPE(r)                                                                                                   \
	"CASE " r ".audience WHEN 'school' THEN 'e:school' WHEN 'teachers' THEN 'e:teachers' WHEN 'owner' THEN 'eo:' " \
	"|| " r ".owner_id WHEN 'course' THEN 'ec:' || COALESCE(" r ".course_id, '') END"
/*
 * The scope of series r (NEW or OLD), and of each class of an event for listed classes. Every week
 * reads every holiday (lessons skip them): a holiday changes e:school whatever its audience (always
 * school when written through the API).
 */
#define CAL_SCOPES(r, id)                                                                                                       \
	"INSERT INTO core_changes (scope) SELECT " CAL_SCOPE(                                                                   \
		r) " WHERE " r ".audience <> 'classes'; "                                                                       \
		   "INSERT INTO core_changes (scope) SELECT 'e:school' WHERE " r ".kind = 'holiday' AND " r                     \
		   ".audience <> 'school'; "                                                                                    \
		   "INSERT INTO core_changes (scope) SELECT 'ek:' || class_id FROM calendar_event_classes WHERE event_id = " id \
		   "; "
/* The scope of the series of an override (its row r: NEW or OLD). */
#define CAL_OV_SCOPES(r)                                                                                                         \
	"INSERT INTO core_changes (scope) SELECT " CAL_SCOPE(                                                                    \
		"e") " FROM calendar_events e WHERE e.id = " r ".event_id AND e.audience <> 'classes'; "                         \
		     "INSERT INTO core_changes (scope) SELECT 'ek:' || class_id FROM calendar_event_classes WHERE event_id = " r \
		     ".event_id; "
static const char schema_v6[] =
	"DROP TRIGGER calendar_events_changed_i; DROP TRIGGER calendar_events_changed_u;"
	"DROP TRIGGER calendar_events_changed_d; DROP TRIGGER calendar_overrides_changed_i;"
	"DROP TRIGGER calendar_overrides_changed_u; DROP TRIGGER calendar_overrides_changed_d;"
	"DROP TRIGGER calendar_event_classes_changed_i; DROP TRIGGER calendar_event_classes_changed_u;"
	"DROP TRIGGER calendar_event_classes_changed_d;"
	"CREATE TRIGGER calendar_events_scope_i AFTER INSERT ON calendar_events BEGIN " CAL_SCOPES(
		"NEW",
		"NEW.id") "END;"
			  "CREATE TRIGGER calendar_events_scope_u AFTER UPDATE ON calendar_events BEGIN " CAL_SCOPES("NEW", "NEW.id") CAL_SCOPES(
				  "OLD",
				  "OLD.id") "END;"
					    "CREATE TRIGGER calendar_events_scope_d AFTER DELETE ON calendar_events BEGIN " CAL_SCOPES(
						    "OLD",
						    "OLD.id") "END;"
							      "CREATE TRIGGER calendar_overrides_scope_i AFTER INSERT ON calendar_overrides BEGIN " CAL_OV_SCOPES(
								      "NEW") "END;"
									     "CREATE TRIGGER calendar_overrides_scope_u AFTER UPDATE ON calendar_overrides BEGIN " CAL_OV_SCOPES(
										     "NEW")
										     CAL_OV_SCOPES(
											     "OLD") "END;"
												    "CREATE TRIGGER calendar_overrides_scope_d AFTER DELETE ON calendar_overrides BEGIN " CAL_OV_SCOPES(
													    "OLD") "END;"
														   "CREATE TRIGGER calendar_event_classes_scope_i AFTER INSERT ON calendar_event_classes BEGIN INSERT INTO "
														   "core_changes (scope) VALUES ('ek:' || NEW.class_id); END;"
														   "CREATE TRIGGER calendar_event_classes_scope_u AFTER UPDATE ON calendar_event_classes BEGIN INSERT INTO "
														   "core_changes (scope) VALUES ('ek:' || NEW.class_id); INSERT INTO core_changes (scope) VALUES ('ek:' || "
														   "OLD.class_id); END;"
														   "CREATE TRIGGER calendar_event_classes_scope_d AFTER DELETE ON calendar_event_classes BEGIN INSERT INTO "
														   "core_changes (scope) VALUES ('ek:' || OLD.class_id); END;";
static const char schema_v6_pg[] =
	"DROP TRIGGER calendar_events_changed ON calendar_events;"
	"DROP TRIGGER calendar_overrides_changed ON calendar_overrides;"
	"DROP TRIGGER calendar_event_classes_changed ON calendar_event_classes;"
	"DROP FUNCTION calendar_changed();"
	"CREATE FUNCTION calendar_events_scope() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN " CAL_SCOPES("NEW", "NEW.id") "END IF; IF TG_OP <> 'INSERT' THEN " CAL_SCOPES(
		"OLD",
		"OLD.id") "END IF; RETURN NULL; END $$;"
			  "CREATE TRIGGER calendar_events_scope AFTER INSERT OR UPDATE OR DELETE ON calendar_events FOR EACH ROW EXECUTE "
			  "FUNCTION calendar_events_scope();"
			  "CREATE FUNCTION calendar_overrides_scope() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' "
			  "THEN " CAL_OV_SCOPES("NEW") "END IF; IF TG_OP <> 'INSERT' THEN " CAL_OV_SCOPES(
				  "OLD") "END IF; RETURN NULL; END $$;"
					 "CREATE TRIGGER calendar_overrides_scope AFTER INSERT OR UPDATE OR DELETE ON calendar_overrides FOR EACH ROW "
					 "EXECUTE FUNCTION calendar_overrides_scope();"
					 "CREATE FUNCTION calendar_event_classes_scope() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> "
					 "'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('ek:' || NEW.class_id); END IF; IF TG_OP <> 'INSERT' "
					 "THEN INSERT INTO core_changes (scope) VALUES ('ek:' || OLD.class_id); END IF; RETURN NULL; END $$;"
					 "CREATE TRIGGER calendar_event_classes_scope AFTER INSERT OR UPDATE OR DELETE ON calendar_event_classes FOR EACH "
					 "ROW EXECUTE FUNCTION calendar_event_classes_scope();";

static const struct migration migrations[] = {
	{1, "events, classes, overrides, homework, ticks, feeds", schema_v1, NULL},
	{2, "exam reminders sent (one row per occurrence: the lease)", schema_v2, NULL},
	{3, "homework attachments (files of the fichiers service, by id)", schema_v3, NULL},
	{4, "exam reminders by occurrence and start (a moved exam is reminded again); overrides by start", schema_v4,
	 NULL},
	{5, "versions of the answer cache: n:calendar, h:<course> (homework), t:<student> (ticks)", schema_v5,
	 schema_v5_pg},
	{6, "versions of the weeks by audience: e:school, e:teachers, eo:<owner>, ec:<course>, ek:<class>", schema_v6,
	 schema_v6_pg},
};

db_conn *cal_body_db(http_req *req, const struct jfield *fields, size_t n, json_t **body, json_t **errors)
{
	*body = http_json_body(req);
	db_conn *c = *body ? http_db(req) : NULL;
	if (!c)
		return NULL;
	*errors = json_object();
	if (fields)
		json_check(*body, fields, n, *errors);
	return c;
}

const struct jfield *cal_patch_fields(http_req *req, const struct jfield *fields, size_t n)
{
	struct jfield *f = arena_alloc(http_arena(req), n * sizeof(*f));
	memcpy(f, fields, n * sizeof(*f));
	for (size_t i = 0; i < n; i++)
		f[i].required = 0;
	return f;
}

int cal_course_taught(http_req *req, db_conn *c, const struct cal_viewer *v, const char *course_id,
		      const char *forbidden)
{
	int rc = cours_exists(c, course_id);
	if (rc < 0)
		http_problem_err(req, rc, NULL);
	else if (!rc)
		http_invalid(req, json_pack("{s:s}", "course_id", "ne désigne aucun cours"));
	else if (!v->all && !cal_has(v->taught, v->ntaught, course_id))
		http_problem(req, 403, forbidden);
	else
		return 0;
	return -1;
}

int cal_has(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* Appends the n strings of add to *v (*n of them, capacity *cap) that are not there yet. */
static void merge(arena *a, const char ***v, size_t *n, size_t *cap, const char **add, size_t nadd)
{
	for (size_t i = 0; i < nadd; i++) {
		if (cal_has(*v, *n, add[i]))
			continue;
		*v = arena_grow(a, *v, *n, cap, sizeof(**v));
		(*v)[(*n)++] = add[i];
	}
}

int cal_viewer_of_class(db_conn *c, arena *a, const char *class_id, struct cal_viewer *v)
{
	memset(v, 0, sizeof(*v));
	v->roles = ROLE_ETUDIANT;
	v->user_id = "";
	v->classes = arena_alloc(a, sizeof(*v->classes));
	v->classes[0] = arena_strdup(a, class_id);
	v->nclasses = 1;
	const char **ids;
	int n = cours_of_class(c, a, class_id, &ids);
	if (n < 0)
		return n;
	v->courses = ids;
	v->ncourses = (size_t)n;
	return ENT_OK;
}

int cal_viewer_for(db_conn *c, arena *a, const struct http_principal *p, struct cal_viewer *v)
{
	memset(v, 0, sizeof(*v));
	v->user_id = p->sub;
	v->roles = p->roles;
	if (p->roles & ROLE_ADMIN) {
		v->all = 1;
		return ENT_OK;
	}
	int rc = ENT_OK;
	size_t ccap = 0, kcap = 0;
	if (p->roles & ROLE_ENSEIGNANT) {
		const char **ids;
		int n = cours_taught_by(c, a, p->sub, &ids);
		if (n >= 0) {
			v->taught = ids;
			v->ntaught = (size_t)n;
			merge(a, &v->courses, &v->ncourses, &kcap, ids, (size_t)n);
			n = users_teacher_classes(c, a, p->sub, &ids);
		}
		if (n >= 0) {
			merge(a, &v->classes, &v->nclasses, &ccap, ids, (size_t)n);
			n = cours_teacher_classes(c, a, p->sub, &ids);
		}
		if (n >= 0)
			merge(a, &v->classes, &v->nclasses, &ccap, ids, (size_t)n);
		rc = n < 0 ? n : ENT_OK;
	}
	if (!rc && (p->roles & ROLE_ETUDIANT)) {
		char cls[37];
		rc = users_student_class(c, p->sub, cls);
		if (rc == ENT_ENOTFOUND)
			rc = ENT_OK;
		else if (!rc) {
			const char *one = arena_strdup(a, cls), **ids;
			merge(a, &v->classes, &v->nclasses, &ccap, &one, 1);
			int n = cours_of_class(c, a, cls, &ids);
			if (n >= 0)
				merge(a, &v->courses, &v->ncourses, &kcap, ids, (size_t)n);
			rc = n < 0 ? n : ENT_OK;
		}
	}
	return rc;
}

int cal_viewer_load(http_req *req, db_conn *c, struct cal_viewer *v)
{
	int rc = cal_viewer_for(c, http_arena(req), http_principal(req), v);
	if (rc) {
		http_problem_err(req, rc, "Votre agenda n'a pas pu être lu.");
		return -1;
	}
	return 0;
}

/* ---- GDPR ---- */

int cal_export_user(db_conn *c, const char *user_id, json_t *out)
{
	/* The user's own events, and their homework ticks. */
	json_t *events = json_array(), *done = json_array();
	int rc = EXPORT_ROWS(c, events, "id kind title description location starts_at ends_at rrule created_at",
			     "SELECT id, kind, title, description, location, starts_at, ends_at, rrule, created_at"
			     " FROM calendar_events WHERE owner_id = ? AND audience = 'owner' ORDER BY starts_at, id",
			     SQL_T(user_id));
	if (!rc)
		rc = EXPORT_ROWS(c, done, "homework_id done_at",
				 "SELECT homework_id, done_at FROM calendar_homework_done WHERE student_id = ?"
				 " ORDER BY done_at",
				 SQL_T(user_id));
	return export_put(out, "calendar", rc, "personal_events", events, "homework_done", done, NULL);
}

int cal_erase_user(db_conn *c, const char *user_id)
{
	static const char *const sqls[] = {
		"DELETE FROM calendar_events WHERE owner_id = ? AND audience = 'owner'",
		"DELETE FROM calendar_homework_done WHERE student_id = ?",
		"DELETE FROM calendar_feeds WHERE user_id = ?",
	};
	return SQL_EACH(c, sqls, user_id);
}

/* ---- service ---- */

static int cal_start(void)
{
	cal_init();
	return cal_reminders_start();
}

#define S_KIND "{\"type\":\"string\",\"enum\":[\"lesson\",\"exam\",\"homework\",\"school\",\"holiday\",\"personal\"]}"
#define S_AUDIENCE "{\"type\":\"string\",\"enum\":[\"school\",\"teachers\",\"classes\",\"course\",\"owner\"]}"
#define S_CLASSES                                                                                                      \
	"{\"type\":\"array\",\"description\":\"the classes it is for (audience classes: those listed; course: the "    \
	"course's classes now), with their names\",\"items\":{\"type\":\"object\",\"required\":[\"id\",\"name\"],"     \
	"\"properties\":{\"id\":" S_UUID ",\"name\":" S_NSTR "}}}"
#define S_OCC                                                                                                                               \
	"{\"type\":\"object\",\"required\":[\"event_id\",\"occurrence_id\",\"kind\",\"title\",\"description\","                             \
	"\"location\",\"starts_at\",\"ends_at\",\"all_day\",\"time_zone\",\"recurring\",\"audience\",\"course_id\","                        \
	"\"class_ids\",\"classes\",\"teacher_id\",\"evaluation_id\",\"status\",\"note\",\"original\"],\"properties\":{\"event_id\":" S_UUID \
	",\"occurrence_id\":" S_TIME ",\"kind\":" S_KIND ",\"title\":" S_STR ",\"description\":" S_NSTR                                     \
	",\"location\":" S_NSTR ",\"starts_at\":" S_TIME ",\"ends_at\":" S_TIME                                                             \
	",\"all_day\":{\"type\":\"boolean\"},\"time_zone\":" S_STR ",\"recurring\":{\"type\":\"boolean\"},"                                 \
	"\"audience\":" S_AUDIENCE ",\"course_id\":" S_NUUID ",\"class_ids\":" S_IDS ",\"classes\":" S_CLASSES                              \
	",\"teacher_id\":" S_NUUID ",\"evaluation_id\":" S_NUUID                                                                            \
	",\"status\":{\"type\":\"string\",\"enum\":[\"scheduled\",\"cancelled\","                                                           \
	"\"changed\"]},\"note\":" S_NSTR                                                                                                    \
	",\"original\":{\"type\":[\"object\",\"null\"],\"description\":\"what a changed occurrence was\","                                  \
	"\"required\":[\"starts_at\",\"ends_at\",\"location\",\"teacher_id\"],\"properties\":{\"starts_at\":" S_TIME                        \
	",\"ends_at\":" S_TIME ",\"location\":" S_NSTR ",\"teacher_id\":" S_NUUID "}}}}"
#define S_SERIES                                                                                                       \
	"{\"type\":\"object\",\"required\":[\"id\",\"kind\",\"title\",\"starts_at\",\"ends_at\",\"audience\"],"        \
	"\"properties\":{\"id\":" S_UUID ",\"kind\":" S_KIND ",\"title\":" S_STR ",\"description\":" S_NSTR            \
	",\"location\":" S_NSTR ",\"starts_at\":" S_TIME ",\"ends_at\":" S_TIME ",\"time_zone\":" S_STR                \
	",\"all_day\":{\"type\":\"boolean\"},\"rrule\":" S_NSTR ",\"exdates\":{\"type\":\"array\",\"items\":" S_TIME   \
	"},"                                                                                                           \
	"\"audience\":" S_AUDIENCE ",\"class_ids\":" S_IDS ",\"course_id\":" S_NUUID ",\"evaluation_id\":" S_NUUID     \
	",\"teacher_id\":" S_NUUID ",\"owner_id\":" S_UUID ",\"created_at\":" S_TIME ",\"updated_at\":" S_TIME "}}"
/* What the field tables (BODY) do not say: the items of the lists; a PATCH requires nothing. */
#define S_SERIES_MORE(req)                                                                                             \
	"{" req "\"properties\":{\"exdates\":{\"items\":" S_TIME "},\"class_ids\":{\"items\":" S_UUID "}}}"
#define S_HOMEWORK                                                                                                                           \
	"{\"type\":\"object\",\"required\":[\"id\",\"course_id\",\"course_title\",\"event_id\",\"occurrence_id\",\"title\","                 \
	"\"work\",\"done_in_class\",\"due_at\",\"attachments\",\"created_by\",\"created_at\",\"updated_at\"],\"properties\":{\"id\":" S_UUID \
	",\"course_id\":" S_UUID ",\"course_title\":" S_NSTR ",\"event_id\":" S_NUUID ",\"occurrence_id\":" S_NTIME                          \
	",\"title\":" S_STR ",\"work\":" S_NSTR ",\"done_in_class\":" S_NSTR ",\"due_at\":" S_TIME                                           \
	",\"done\":{\"type\":\"boolean\"},\"done_count\":{\"type\":\"integer\"},\"students_total\":"                                         \
	"{\"type\":\"integer\"},\"attachments\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":"                            \
	"[\"file_id\",\"name\",\"content_type\",\"size\"],\"properties\":{\"file_id\":" S_UUID ",\"name\":" S_STR                            \
	",\"content_type\":" S_STR ",\"size\":{\"type\":\"integer\"}}}},\"created_by\":" S_UUID                                              \
	",\"created_at\":" S_TIME ",\"updated_at\":" S_TIME "}}"
#define S_HOMEWORK_MORE(req)                                                                                           \
	"{" req                                                                                                        \
	"\"properties\":{\"file_ids\":{\"description\":\"files of the caller (fichiers) to attach; on PATCH, the "     \
	"whole new list\",\"items\":" S_UUID "}}}"

static const struct route routes[] = {
	ROUTE("GET", "/api/calendar/events", cal_events_list, ROLE_ANY_USER,
	      .summary =
		      "The occurrences the caller may see between ?from= and ?to= (RFC 3339 or YYYY-MM-DD; default this "
		      "week; 400 days at most), recurring events expanded; ?kind= filters",
	      .response_schema = S_LIST(S_OCC)),
	ROUTE("POST", "/api/calendar/events", cal_events_create, ROLE_ANY_USER, .status = 201,
	      .summary =
		      "Create an event or a series (rrule): teachers for their courses and classes, admins for the school, "
		      "holidays and staff; anyone a personal one",
	      BODY(cal_series_fields), .request_schema = S_SERIES_MORE(""), .response_schema = S_SERIES),
	ROUTE("GET", "/api/calendar/events.ics", cal_ics_export, ROLE_ANY_USER,
	      .summary = "The same occurrences as GET /api/calendar/events, as an iCalendar file (RFC 5545)"),
	ROUTE("POST", "/api/calendar/import", cal_ics_import, ROLE_ENSEIGNANT | ROLE_ADMIN, .flags = ROUTE_RAW_BODY,
	      .max_body = 1 << 20, .status = 201,
	      .summary = "Import an iCalendar file (text/calendar, 1 MiB at most): admins as school events or holidays "
			 "(?kind=holiday), teachers as events of one of their courses (?course_id=)"),
	ROUTE("GET", "/api/calendar/events/{id}", cal_events_get, ROLE_ANY_USER,
	      .summary = "An event or series (404 when the caller may not see it)", .response_schema = S_SERIES),
	ROUTE("PATCH", "/api/calendar/events/{id}", cal_events_patch, ROLE_ANY_USER,
	      .summary =
		      "Change a series: all of it, or ?scope=following&occurrence_id=T to change T and the following "
		      "occurrences (the series is split there)",
	      BODY(cal_series_fields), .request_schema = S_SERIES_MORE("\"required\":[],"),
	      .response_schema = S_SERIES),
	ROUTE("DELETE", "/api/calendar/events/{id}", cal_events_delete, ROLE_ANY_USER, .status = 204,
	      .summary = "Delete an event or series (its owner, its course's teachers, admins)"),
	ROUTE("PUT", "/api/calendar/events/{id}/occurrences/{occurrence_id}", cal_occurrence_put,
	      ROLE_ENSEIGNANT | ROLE_ADMIN,
	      .summary = "Change one occurrence: cancel it, move it, another room or a replacement teacher",
	      BODY(cal_override_fields), .response_schema = S_OCC),
	ROUTE("DELETE", "/api/calendar/events/{id}/occurrences/{occurrence_id}", cal_occurrence_delete,
	      ROLE_ENSEIGNANT | ROLE_ADMIN, .status = 204, .summary = "Undo the changes made to one occurrence"),
	ROUTE("POST", "/api/calendar/events/{id}/cancellations", cal_occurrences_cancel, ROLE_ENSEIGNANT | ROLE_ADMIN,
	      .summary =
		      "Cancel several occurrences at once, all or none: the list occurrence_ids, or every occurrence "
		      "starting between from and to (dates or RFC 3339, 400 days at most); an optional note",
	      BODY(cal_cancel_fields), .request_schema = "{\"properties\":{\"occurrence_ids\":{\"items\":" S_TIME "}}}",
	      .response_schema = "{\"type\":\"object\",\"required\":[\"event_id\",\"occurrence_ids\"],\"properties\":{"
				 "\"event_id\":" S_UUID ",\"occurrence_ids\":{\"type\":\"array\",\"items\":" S_TIME
				 "}}}"),
	ROUTE("POST", "/api/calendar/cancellations", cal_cancellations, ROLE_ENSEIGNANT | ROLE_ADMIN,
	      .summary =
		      "Cancel every lesson and exam starting between from and to (dates or RFC 3339, 31 days at most): "
		      "a teacher's own (a teacher away), or for administrators the school's, a teacher's (teacher_id) or a "
		      "class's (class_id); all or none, each student told once of their lessons",
	      BODY(cal_day_cancel_fields),
	      .response_schema = "{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":"
				 "\"array\",\"items\":" S_OCC "}}}"),
	ROUTE("GET", "/api/calendar/timetable", cal_timetable, ROLE_ANY_USER,
	      .summary =
		      "The timetable of ?week=2026-W49 (default: this week): the caller's, or ?class_id= (teachers, admins); "
		      "?mine=true keeps a teacher's own lessons (taught or replaced) and every event that is not a lesson",
	      .response_schema = "{\"type\":\"object\",\"required\":[\"week\",\"starts_on\",\"items\"],\"properties\":{"
				 "\"week\":" S_STR ",\"starts_on\":" S_STR ",\"class_id\":" S_NUUID
				 ",\"items\":{\"type\":"
				 "\"array\",\"items\":" S_OCC "}}}"),
	ROUTE("GET", "/api/calendar/homework", cal_homework_list, ROLE_ANY_USER,
	      .summary =
		      "Homework due between ?from= and ?to= (default: from today, 4 weeks): a student's with their own "
		      "tick; a teacher's courses' with how many students ticked; ?course_id=",
	      .response_schema = S_LIST(S_HOMEWORK)),
	ROUTE("POST", "/api/calendar/homework", cal_homework_create, ROLE_ENSEIGNANT | ROLE_ADMIN, .status = 201,
	      .summary = "Give homework for a course (its teachers)", BODY(cal_hw_fields),
	      .request_schema = S_HOMEWORK_MORE(""), .response_schema = S_HOMEWORK),
	ROUTE("GET", "/api/calendar/homework/{id}", cal_homework_get, ROLE_ANY_USER,
	      .summary = "One homework (404 when not the caller's course)", .response_schema = S_HOMEWORK),
	ROUTE("PATCH", "/api/calendar/homework/{id}", cal_homework_patch, ROLE_ENSEIGNANT | ROLE_ADMIN,
	      .summary = "Change homework (its course's teachers)", BODY(cal_hw_fields),
	      .request_schema = S_HOMEWORK_MORE("\"required\":[],"), .response_schema = S_HOMEWORK),
	ROUTE("DELETE", "/api/calendar/homework/{id}", cal_homework_delete, ROLE_ENSEIGNANT | ROLE_ADMIN, .status = 204,
	      .summary = "Delete homework (its course's teachers)"),
	ROUTE("GET", "/api/calendar/homework/{id}/files/{file_id}", cal_homework_file, ROLE_ANY_USER,
	      .summary = "Download an attachment of a homework (those who see the homework; 404 otherwise)"),
	ROUTE("PUT", "/api/calendar/homework/{id}/done", cal_homework_done_put, ROLE_ETUDIANT, .flags = ROUTE_NO_BODY,
	      .status = 204,
	      .summary = "Tick homework as done (the student's own mark, seen by nobody else but as a count)"),
	ROUTE("DELETE", "/api/calendar/homework/{id}/done", cal_homework_done_delete, ROLE_ETUDIANT, .status = 204,
	      .summary = "Untick homework"),
	ROUTE("GET", "/api/calendar/feed", cal_feed_get, ROLE_ANY_USER,
	      .summary = "Whether the caller has a personal feed, and since when (never the address itself)",
	      .response_schema = "{\"type\":\"object\",\"required\":[\"active\"],\"properties\":{\"active\":{\"type\":"
				 "\"boolean\"},\"created_at\":" S_NTIME "}}"),
	ROUTE("POST", "/api/calendar/feed", cal_feed_create, ROLE_ANY_USER, .flags = ROUTE_NO_BODY, .status = 201,
	      .summary =
		      "Create (or replace: the old address stops working) the caller's secret feed address, shown once",
	      .response_schema =
		      "{\"type\":\"object\",\"required\":[\"url\",\"created_at\"],\"properties\":{\"url\":" S_STR
		      ",\"created_at\":" S_TIME "}}"),
	ROUTE("DELETE", "/api/calendar/feed", cal_feed_delete, ROLE_ANY_USER, .status = 204,
	      .summary = "Revoke the caller's feed address (it then answers 404)"),
	ROUTE("GET", "/api/calendar/feeds/{token}", cal_feed_read, ACCESS_PUBLIC, .flags = ROUTE_NO_LOG,
	      .summary =
		      "A personal feed (TOKEN.ics, no bearer token: for phone calendars): the owner's occurrences from "
		      "30 days ago to a year ahead; 404 for a revoked or unknown address"),
};

static const char *const owned_tables[] = {"calendar_events",    "calendar_event_classes",  "calendar_overrides",
					   "calendar_homework",  "calendar_homework_done",  "calendar_feeds",
					   "calendar_reminders", "calendar_homework_files", NULL};

const struct service svc_calendar = {
	.name = "calendar",
	.title = "Calendar, timetable and homework (the seed's calendar-service)",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.migrations = migrations,
	.nmigrations = sizeof(migrations) / sizeof(migrations[0]),
	.tables = owned_tables,
	.start = cal_start,
	.stop = cal_reminders_stop,
	.demo = cal_demo,
	.generate = cal_generate,
	.export_user = cal_export_user,
	.erase_user = cal_erase_user,
	.file_readable = cal_file_readable,
};
