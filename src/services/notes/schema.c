/*
 * schema.c - the notes service's tables and their migrations (the service table in notes.c
 * lists them): periods, evaluations, grades and the audit trail (1), the class figures kept at
 * write time (2, see stats.c), and the report card's reads covered by their indexes (3).
 *
 * A migration, once released, is never changed: a new one is added at the end (and
 * NOTES_NMIGRATIONS raised). SQL is portable between SQLite and PostgreSQL; where the dialects
 * differ, the migration carries its PostgreSQL text apart.
 */
#include "internal.h"

static const char schema_v1[] =
	"CREATE TABLE notes_periods ("
	" id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" school_year TEXT NOT NULL,"
	" starts_on TEXT NOT NULL,"
	" ends_on TEXT NOT NULL,"
	" created_at TEXT NOT NULL,"
	" updated_at TEXT NOT NULL,"
	" UNIQUE (school_year, name));"
	"CREATE INDEX notes_periods_by_start ON notes_periods (starts_on, id);"
	"CREATE TABLE notes_evaluations ("
	" id TEXT PRIMARY KEY,"
	" course_id TEXT NOT NULL,"
	" period_id TEXT NOT NULL REFERENCES notes_periods (id),"
	" title TEXT NOT NULL,"
	" held_on TEXT NOT NULL,"
	" coefficient DOUBLE PRECISION NOT NULL,"
	" scale INTEGER NOT NULL,"
	" publish_at TEXT NOT NULL,"
	" notified INTEGER NOT NULL DEFAULT 0,"
	" created_by TEXT NOT NULL,"
	" created_at TEXT NOT NULL,"
	" updated_at TEXT NOT NULL);"
	"CREATE INDEX notes_evaluations_by_course ON notes_evaluations (course_id, held_on, id);"
	"CREATE INDEX notes_evaluations_by_period ON notes_evaluations (period_id);"
	"CREATE INDEX notes_evaluations_due ON notes_evaluations (notified, publish_at);"
	"CREATE TABLE notes_grades ("
	" evaluation_id TEXT NOT NULL REFERENCES notes_evaluations (id) ON DELETE CASCADE,"
	" student_id TEXT NOT NULL,"
	" status TEXT NOT NULL CHECK (status IN ('graded', 'absent', 'exempt', 'not_graded')),"
	" value DOUBLE PRECISION,"
	" comment TEXT,"
	" updated_by TEXT NOT NULL,"
	" updated_at TEXT NOT NULL,"
	" PRIMARY KEY (evaluation_id, student_id));"
	"CREATE INDEX notes_grades_by_student ON notes_grades (student_id);"
	"CREATE TABLE notes_audit ("
	" id TEXT PRIMARY KEY,"
	" evaluation_id TEXT NOT NULL REFERENCES notes_evaluations (id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" student_id TEXT NOT NULL,"
	" changed_by TEXT NOT NULL,"
	" changed_at TEXT NOT NULL,"
	" old_status TEXT,"
	" old_value DOUBLE PRECISION,"
	" new_status TEXT NOT NULL,"
	" new_value DOUBLE PRECISION);"
	"CREATE INDEX notes_audit_by_evaluation ON notes_audit (evaluation_id, seq);"
	"CREATE INDEX notes_audit_by_student ON notes_audit (student_id);";

/*
 * The class figures of the report card, stored when grades change (stats.c). Existing databases
 * get every (course, period) queued in notes_stats_todo: the background publisher computes them
 * (in C: the stored numbers must be the very doubles calc.c computes, which a SQL sum in another
 * order would not be), and until a row exists the report card computes that part itself.
 */
static const char schema_v2[] =
	"ALTER TABLE notes_evaluations ADD COLUMN stat_n INTEGER;"
	"ALTER TABLE notes_evaluations ADD COLUMN stat_avg DOUBLE PRECISION;"
	"ALTER TABLE notes_evaluations ADD COLUMN stat_lo DOUBLE PRECISION;"
	"ALTER TABLE notes_evaluations ADD COLUMN stat_hi DOUBLE PRECISION;"
	"CREATE TABLE notes_subject_stats ("
	" course_id TEXT NOT NULL,"
	" period_id TEXT NOT NULL,"
	" nevals INTEGER NOT NULL,"
	" n INTEGER NOT NULL,"
	" average DOUBLE PRECISION,"
	" lo DOUBLE PRECISION,"
	" hi DOUBLE PRECISION,"
	" stale_at TEXT,"
	" PRIMARY KEY (course_id, period_id));"
	"CREATE TABLE notes_subject_students ("
	" course_id TEXT NOT NULL,"
	" period_id TEXT NOT NULL,"
	" student_id TEXT NOT NULL,"
	" average DOUBLE PRECISION,"
	" first_at TEXT NOT NULL,"
	" PRIMARY KEY (course_id, period_id, student_id));"
	"CREATE TABLE notes_class_stats ("
	" class_id TEXT NOT NULL,"
	" period_id TEXT NOT NULL,"
	" courses TEXT NOT NULL,"
	" average DOUBLE PRECISION,"
	" stale_at TEXT,"
	" PRIMARY KEY (class_id, period_id));"
	"CREATE TABLE notes_stats_todo ("
	" kind TEXT NOT NULL,"
	" id TEXT NOT NULL,"
	" period_id TEXT NOT NULL,"
	" PRIMARY KEY (kind, id, period_id));"
	"INSERT INTO notes_stats_todo (kind, id, period_id) SELECT DISTINCT 's', course_id, period_id FROM notes_evaluations;";

/*
 * The report card's two reads served from their indexes alone (measured with callgrind on a
 * district of 20,000 students: 12 % fewer instructions per card), without visiting the tables: the
 * class's evaluations by course, and the student's grades. PostgreSQL limits an index entry to
 * about 2.7 kB and a grade's comment may be longer, so there the grades' index stays as it is.
 */
static const char schema_v3[] =
	"DROP INDEX notes_evaluations_by_course;"
	"CREATE INDEX notes_evaluations_by_course ON notes_evaluations (course_id, held_on, id, period_id, title,"
	" coefficient, scale, publish_at, stat_n, stat_avg, stat_lo, stat_hi);"
	"DROP INDEX notes_grades_by_student;"
	"CREATE INDEX notes_grades_by_student ON notes_grades (student_id, evaluation_id, status, value, comment);";

static const char schema_v3_pg[] =
	"DROP INDEX notes_evaluations_by_course;"
	"CREATE INDEX notes_evaluations_by_course ON notes_evaluations (course_id, held_on, id) INCLUDE (period_id, title,"
	" coefficient, scale, publish_at, stat_n, stat_avg, stat_lo, stat_hi);";

/* An administrator closes a school year that is over: its evaluations and grades no longer change. */
static const char schema_v4[] = "ALTER TABLE notes_periods ADD COLUMN closed INTEGER NOT NULL DEFAULT 0;";

/* Every change of an input of a cached answer is recorded in the core's change table (core/rcache.h). */
static const char schema_changes[] =
	"CREATE TRIGGER notes_grades_changed_i AFTER INSERT ON notes_grades BEGIN INSERT INTO core_changes (scope) VALUES ('u:' || NEW.student_id); INSERT INTO core_changes (scope) SELECT 'c:' || course_id FROM notes_evaluations WHERE id = NEW.evaluation_id; END;"
	"CREATE TRIGGER notes_grades_changed_u AFTER UPDATE ON notes_grades BEGIN INSERT INTO core_changes (scope) VALUES ('u:' || NEW.student_id); INSERT INTO core_changes (scope) SELECT 'c:' || course_id FROM notes_evaluations WHERE id = NEW.evaluation_id; END;"
	"CREATE TRIGGER notes_grades_changed_d AFTER DELETE ON notes_grades BEGIN INSERT INTO core_changes (scope) VALUES ('u:' || OLD.student_id); INSERT INTO core_changes (scope) SELECT 'c:' || course_id FROM notes_evaluations WHERE id = OLD.evaluation_id; END;"
	"CREATE TRIGGER notes_evaluations_changed_i AFTER INSERT ON notes_evaluations BEGIN INSERT INTO core_changes (scope) VALUES ('c:' || NEW.course_id); END;"
	"CREATE TRIGGER notes_evaluations_changed_u AFTER UPDATE ON notes_evaluations BEGIN INSERT INTO core_changes (scope) VALUES ('c:' || NEW.course_id); INSERT INTO core_changes (scope) VALUES ('c:' || OLD.course_id); END;"
	"CREATE TRIGGER notes_evaluations_changed_d AFTER DELETE ON notes_evaluations BEGIN INSERT INTO core_changes (scope) VALUES ('c:' || OLD.course_id); END;"
	"CREATE TRIGGER notes_periods_changed_i AFTER INSERT ON notes_periods BEGIN INSERT INTO core_changes (scope) VALUES ('n:periods'); END;"
	"CREATE TRIGGER notes_periods_changed_u AFTER UPDATE ON notes_periods BEGIN INSERT INTO core_changes (scope) VALUES ('n:periods'); END;"
	"CREATE TRIGGER notes_periods_changed_d AFTER DELETE ON notes_periods BEGIN INSERT INTO core_changes (scope) VALUES ('n:periods'); END;";
static const char schema_changes_pg[] =
	"CREATE FUNCTION notes_grades_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('u:' || NEW.student_id); INSERT INTO core_changes (scope) SELECT 'c:' || course_id FROM notes_evaluations WHERE id = NEW.evaluation_id; END IF; IF TG_OP = 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('u:' || OLD.student_id); INSERT INTO core_changes (scope) SELECT 'c:' || course_id FROM notes_evaluations WHERE id = OLD.evaluation_id; END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER notes_grades_changed AFTER INSERT OR UPDATE OR DELETE ON notes_grades FOR EACH ROW EXECUTE FUNCTION notes_grades_changed();"
	"CREATE FUNCTION notes_evaluations_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('c:' || NEW.course_id); END IF; IF TG_OP = 'DELETE' OR TG_OP = 'UPDATE' THEN INSERT INTO core_changes (scope) VALUES ('c:' || OLD.course_id); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER notes_evaluations_changed AFTER INSERT OR UPDATE OR DELETE ON notes_evaluations FOR EACH ROW EXECUTE FUNCTION notes_evaluations_changed();"
	"CREATE FUNCTION notes_periods_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('n:periods'); END IF; IF TG_OP = 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('n:periods'); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER notes_periods_changed AFTER INSERT OR UPDATE OR DELETE ON notes_periods FOR EACH ROW EXECUTE FUNCTION notes_periods_changed();";

const struct migration notes_migrations[NOTES_NMIGRATIONS] = {
	{1, "periods, evaluations, grades, audit trail", schema_v1, NULL},
	{2, "class figures kept at write time", schema_v2, NULL},
	{3, "the report card's reads covered by their indexes", schema_v3, schema_v3_pg},
	{4, "school years closed by an administrator", schema_v4, NULL},
	{5, "changes of grades, evaluations and periods recorded for versioned answers", schema_changes,
	 schema_changes_pg},
};
