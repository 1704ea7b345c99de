/*
 * support.c - the support service (the seed's "Tickets support & FAQ", table support_requests):
 * requests for help from anyone in the school, the staff's queue with service levels, and a FAQ.
 *
 * Who sees what (docs/support.md has the whole table):
 *   requester   their own tickets, with the public comments only (never an internal note)
 *   admin       every ticket, every comment and note, the history, the queue, the dashboard
 *   teacher     their own tickets, and the "grades" tickets assigned to them (by an
 *               administrator, or a student's grade contestation of their course: contest.c), on
 *               which they act as staff
 * A ticket the caller may not see answers 404, as one that does not exist. Names come from the
 * users service's C interface (users.h), never from its tables.
 *
 * A ticket's states: new -> open -> waiting (on the requester) -> resolved -> closed, with the
 * transitions of tickets.c (legal_transition); jobs.c closes resolved tickets after 7 days.
 */
#include "internal.h"

#include <libical/ical.h>
#include <string.h>
#include <sys/time.h>

#include "core/err.h"
#include "core/page.h"
#include "core/service.h"
#include "core/row.h"
#include "core/util.h"
#include "core/schema.h"
#include "core/export.h"
#include "core/sql.h"
#include "services/notes/notes.h"
#include "services/users/users.h"

/* The FAQ's full-text index differs by engine: FTS5 on SQLite, a tsvector column on PostgreSQL. */
#define SCHEMA_COMMON                                                                                                      \
	"CREATE TABLE support_requests ("                                                                                  \
	" id TEXT PRIMARY KEY,"                                                                                            \
	" subject TEXT NOT NULL,"                                                                                          \
	" description TEXT NOT NULL,"                                                                                      \
	" category TEXT NOT NULL CHECK (category IN ('account', 'courses', 'grades', 'timetable', 'messaging', 'other'))," \
	" priority TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),"                                 \
	" state TEXT NOT NULL CHECK (state IN ('new', 'open', 'waiting', 'resolved', 'closed')),"                          \
	" requester_id TEXT NOT NULL,"                                                                                     \
	" assignee_id TEXT,"                                                                                               \
	" created_at TEXT NOT NULL,"                                                                                       \
	" updated_at TEXT NOT NULL,"                                                                                       \
	" first_response_due TEXT NOT NULL,"                                                                               \
	" resolution_due TEXT NOT NULL,"                                                                                   \
	" first_response_at TEXT,"                                                                                         \
	" resolved_at TEXT,"                                                                                               \
	" closed_at TEXT,"                                                                                                 \
	" rating INTEGER CHECK (rating BETWEEN 1 AND 5),"                                                                  \
	" rating_comment TEXT,"                                                                                            \
	" rated_at TEXT);"                                                                                                 \
	"CREATE INDEX support_requests_by_created ON support_requests (created_at, id);"                                   \
	"CREATE INDEX support_requests_by_requester ON support_requests (requester_id, created_at, id);"                   \
	"CREATE INDEX support_requests_by_assignee ON support_requests (assignee_id, created_at, id);"                     \
	"CREATE INDEX support_requests_by_state ON support_requests (state, resolved_at);"                                 \
	"CREATE TABLE support_comments ("                                                                                  \
	" id TEXT PRIMARY KEY,"                                                                                            \
	" ticket_id TEXT NOT NULL REFERENCES support_requests (id) ON DELETE CASCADE,"                                     \
	" author_id TEXT NOT NULL,"                                                                                        \
	" body TEXT NOT NULL,"                                                                                             \
	" internal INTEGER NOT NULL DEFAULT 0,"                                                                            \
	" created_at TEXT NOT NULL,"                                                                                       \
	" seq BIGINT NOT NULL);"                                                                                           \
	"CREATE INDEX support_comments_by_ticket ON support_comments (ticket_id, seq, id);"                                \
	"CREATE INDEX support_comments_by_author ON support_comments (author_id);"                                         \
	"CREATE TABLE support_history ("                                                                                   \
	" id TEXT PRIMARY KEY,"                                                                                            \
	" ticket_id TEXT NOT NULL REFERENCES support_requests (id) ON DELETE CASCADE,"                                     \
	" actor_id TEXT,"                                                                                                  \
	" field TEXT NOT NULL,"                                                                                            \
	" old_value TEXT,"                                                                                                 \
	" new_value TEXT,"                                                                                                 \
	" at TEXT NOT NULL,"                                                                                               \
	" seq BIGINT NOT NULL);"                                                                                           \
	"CREATE INDEX support_history_by_ticket ON support_history (ticket_id, seq, id);"                                  \
	"CREATE TABLE support_sla ("                                                                                       \
	" priority TEXT PRIMARY KEY CHECK (priority IN ('low', 'normal', 'high', 'urgent')),"                              \
	" first_response_minutes INTEGER NOT NULL,"                                                                        \
	" resolution_minutes INTEGER NOT NULL,"                                                                            \
	" updated_at TEXT,"                                                                                                \
	" updated_by TEXT);"                                                                                               \
	"INSERT INTO support_sla (priority, first_response_minutes, resolution_minutes) VALUES"                            \
	" ('urgent', 240, 1440), ('high', 480, 4320), ('normal', 1440, 7200), ('low', 4320, 14400);"                       \
	"CREATE TABLE support_faq_helpful ("                                                                               \
	" article_id TEXT NOT NULL,"                                                                                       \
	" user_id TEXT NOT NULL,"                                                                                          \
	" at TEXT NOT NULL,"                                                                                               \
	" PRIMARY KEY (article_id, user_id));"                                                                             \
	"CREATE INDEX support_faq_helpful_by_user ON support_faq_helpful (user_id);"

#define FAQ_COLUMNS                                                                                                        \
	" id TEXT PRIMARY KEY,"                                                                                            \
	" title TEXT NOT NULL,"                                                                                            \
	" body TEXT NOT NULL,"                                                                                             \
	" category TEXT NOT NULL CHECK (category IN ('account', 'courses', 'grades', 'timetable', 'messaging', 'other'))," \
	" published INTEGER NOT NULL DEFAULT 0,"                                                                           \
	" helpful_count INTEGER NOT NULL DEFAULT 0,"                                                                       \
	" created_by TEXT NOT NULL,"                                                                                       \
	" created_at TEXT NOT NULL,"                                                                                       \
	" updated_at TEXT NOT NULL"

/*
 * SQLite: an FTS5 table of its own (not external content: support_faq has no stable integer
 * rowid), kept by triggers; unicode61 with remove_diacritics folds "élève" and "eleve" together.
 */
static const char schema_v1[] = SCHEMA_COMMON
	"CREATE TABLE support_faq (" FAQ_COLUMNS ");"
	"CREATE INDEX support_faq_by_created ON support_faq (created_at, id);"
	"CREATE VIRTUAL TABLE support_faq_fts USING fts5(id UNINDEXED, title, body,"
	" tokenize = 'unicode61 remove_diacritics 2');"
	"CREATE TRIGGER support_faq_ai AFTER INSERT ON support_faq BEGIN"
	" INSERT INTO support_faq_fts (id, title, body) VALUES (new.id, new.title, new.body); END;"
	"CREATE TRIGGER support_faq_ad AFTER DELETE ON support_faq BEGIN"
	" DELETE FROM support_faq_fts WHERE id = old.id; END;"
	"CREATE TRIGGER support_faq_au AFTER UPDATE OF title, body ON support_faq BEGIN"
	" DELETE FROM support_faq_fts WHERE id = old.id;"
	" INSERT INTO support_faq_fts (id, title, body) VALUES (new.id, new.title, new.body); END;";

/* PostgreSQL: a generated tsvector with the 'french' configuration (stemming), title weighted A. */
static const char schema_v1_pg[] = SCHEMA_COMMON
	"CREATE TABLE support_faq (" FAQ_COLUMNS ","
	" search tsvector GENERATED ALWAYS AS (setweight(to_tsvector('french', title), 'A') ||"
	" setweight(to_tsvector('french', body), 'B')) STORED);"
	"CREATE INDEX support_faq_by_created ON support_faq (created_at, id);"
	"CREATE INDEX support_faq_search ON support_faq USING GIN (search);";

/*
 * A grade contestation is a grades ticket linked to the contested evaluation (an id of the notes
 * service, never a foreign key across services). One contestation of a grade at a time: the index
 * holds a student's tickets on an evaluation until they are closed, so a resolved one that the
 * student reopens by answering never collides with another.
 */
static const char schema_v2[] =
	"ALTER TABLE support_requests ADD COLUMN evaluation_id TEXT;"
	"CREATE UNIQUE INDEX support_requests_one_contestation ON support_requests (evaluation_id, requester_id)"
	" WHERE evaluation_id IS NOT NULL AND state <> 'closed';";

/*
 * Attachments: files of the fichiers service (ids only, no foreign key across services) on a ticket,
 * or on one of its answers (comment_id), with the name, type and size they had when attached.
 */
static const char schema_v3[] = "CREATE TABLE support_attachments ("
				" ticket_id TEXT NOT NULL REFERENCES support_requests (id) ON DELETE CASCADE,"
				" file_id TEXT NOT NULL,"
				" comment_id TEXT REFERENCES support_comments (id) ON DELETE CASCADE,"
				" internal INTEGER NOT NULL DEFAULT 0,"
				" added_by TEXT NOT NULL,"
				" name TEXT NOT NULL,"
				" content_type TEXT NOT NULL,"
				" size BIGINT NOT NULL,"
				" created_at TEXT NOT NULL,"
				" seq BIGINT NOT NULL,"
				" PRIMARY KEY (ticket_id, file_id));"
				"CREATE INDEX support_attachments_by_file ON support_attachments (file_id);"
				"CREATE INDEX support_attachments_by_adder ON support_attachments (added_by);";

static const struct migration migrations[] = {
	{1, "tickets, comments and notes, history, service levels, FAQ with its full-text index", schema_v1,
	 schema_v1_pg},
	{2, "grade contestations: a ticket's evaluation, one open contestation per grade", schema_v2, NULL},
	{3, "attachments: files of the fichiers service on a ticket or an answer", schema_v3, NULL},
};

/* ---- codes and labels ---- */

const char *const sup_categories[] = {"account", "courses", "grades", "timetable", "messaging", "other", NULL};
const char *const sup_priorities[] = {"low", "normal", "high", "urgent", NULL};
const char *const sup_states[] = {"new", "open", "waiting", "resolved", "closed", NULL};

static const char *const labels[][2] = {
	{"account", "Compte et connexion"},
	{"courses", "Cours et fichiers"},
	{"grades", "Notes"},
	{"timetable", "Emploi du temps"},
	{"messaging", "Messagerie"},
	{"other", "Autre"},
	{"low", "Basse"},
	{"normal", "Normale"},
	{"high", "Haute"},
	{"urgent", "Urgente"},
	{"new", "Nouveau"},
	{"open", "En cours"},
	{"waiting", "En attente du demandeur"},
	{"resolved", "Résolu"},
	{"closed", "Clos"},
};

const char *sup_label(const char *code)
{
	for (size_t i = 0; code && i < sizeof(labels) / sizeof(labels[0]); i++)
		if (!strcmp(labels[i][0], code))
			return labels[i][1];
	return code ? code : "";
}

int sup_is(const char *const *list, const char *s)
{
	for (size_t i = 0; s && list[i]; i++)
		if (!strcmp(list[i], s))
			return 1;
	return 0;
}

void sup_now(char out[21], int64_t *us)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	util_time_rfc3339(tv.tv_sec, out);
	if (us)
		*us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

json_t *sup_check(const json_t *body, const struct jfield *fields, size_t n, const char *line, const char *lines)
{
	json_t *errors = json_object();
	json_check(body, fields, n, errors);
	const char *v = line ? json_get_str(body, line, NULL) : NULL;
	if (v && !json_object_get(errors, line) && !util_valid_text(v))
		json_object_set_new(errors, line,
				    json_string("doit être une ligne de texte sans caractère de contrôle"));
	v = lines ? json_get_str(body, lines, NULL) : NULL;
	if (v && !json_object_get(errors, lines) && !util_valid_lines(v))
		json_object_set_new(errors, lines, json_string("contient des caractères de contrôle"));
	return errors;
}

void sup_reply_items(http_req *req, db_stmt *s, page_write_fn *write, void *ctx, int status, const char *failed)
{
	if (!s) {
		http_problem_err(req, ENT_EDB, failed);
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_key(w, "items");
	jw_arr_open(w);
	int rc;
	while ((rc = db_step(s)) == DB_ROW)
		write(w, s, ctx);
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, failed);
		return;
	}
	jw_arr_close(w);
	jw_obj_close(w);
	http_reply_jw(req, status);
}

/* ---- who is asking ---- */

void sup_viewer_of(http_req *req, struct sup_viewer *v)
{
	const struct http_principal *p = http_principal(req);
	v->id = p->sub;
	v->roles = p->roles;
	v->admin = (p->roles & ROLE_ADMIN) != 0;
}

void sup_ticket_read(db_stmt *s, arena *a, struct sup_ticket *t)
{
	for (int i = 0; i < T_NCOLS; i++)
		t->col[i] = db_col_text(s, i) ? arena_strdup(a, db_col_text(s, i)) : NULL;
}

int sup_relation(const struct sup_viewer *v, const struct sup_ticket *t)
{
	int rel = 0;
	if (!strcmp(t->col[T_REQUESTER], v->id))
		rel |= SUP_REQUESTER;
	if (v->admin)
		rel |= SUP_STAFF;
	/* A teacher is staff on the grades tickets assigned to them, and only there. */
	else if ((v->roles & ROLE_ENSEIGNANT) && !strcmp(t->col[T_CATEGORY], "grades") && t->col[T_ASSIGNEE] &&
		 !strcmp(t->col[T_ASSIGNEE], v->id))
		rel |= SUP_STAFF;
	return rel;
}

int sup_ticket_get(db_conn *c, arena *a, const char *id, struct sup_ticket *t)
{
	if (!util_is_uuid(id))
		return ENT_ENOTFOUND;
	db_stmt *s = SQL_PREP(c, "SELECT " SUP_TICKET_COLS " FROM support_requests t WHERE t.id = ?", SQL_T(id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW)
		sup_ticket_read(s, a, t);
	db_done(s);
	return rc == DB_ROW ? ENT_OK : rc < 0 ? rc : ENT_ENOTFOUND;
}

int sup_ticket_open(http_req *req, int with_body, struct sup_open *x)
{
	x->body = with_body ? http_json_body(req) : NULL;
	if (with_body && !x->body)
		return -1;
	x->c = http_db(req);
	if (!x->c)
		return -1;
	x->a = http_arena(req);
	sup_viewer_of(req, &x->v);
	int rc = sup_ticket_get(x->c, x->a, http_param(req, "id"), &x->t);
	x->rel = rc ? 0 : sup_relation(&x->v, &x->t);
	return row_verdict(req, rc, x->rel != 0, "Cette demande n'existe pas ou ne vous est pas visible.",
			   "La demande n'a pas pu être lue.");
}

static int open_state(const char *state)
{
	return !strcmp(state, "new") || !strcmp(state, "open") || !strcmp(state, "waiting");
}

int sup_first_response_overdue(const struct sup_ticket *t, const char *now)
{
	return open_state(t->col[T_STATE]) && !t->col[T_FR_AT] && strcmp(t->col[T_FR_DUE], now) < 0;
}

int sup_resolution_overdue(const struct sup_ticket *t, const char *now)
{
	return open_state(t->col[T_STATE]) && strcmp(t->col[T_RES_DUE], now) < 0;
}

static void write_person(jw *w, const char *key, const char *id, const char *name)
{
	jw_key(w, key);
	if (!id) {
		jw_null(w);
		return;
	}
	jw_obj_open(w);
	jw_kstr(w, "id", id);
	jw_kstr(w, "name", name);
	jw_obj_close(w);
}

void sup_ticket_write(jw *w, db_conn *c, arena *a, const struct sup_ticket *t, const char *now)
{
	const char *ids[2] = {t->col[T_REQUESTER], t->col[T_ASSIGNEE]}, *names[2] = {NULL, NULL};
	if (users_names(c, a, ids, 2, names))
		names[0] = names[1] = NULL; /* a name is a nicety: the ticket is still answered */
	jw_obj_open(w);
	jw_kstr(w, "id", t->col[T_ID]);
	jw_kstr(w, "subject", t->col[T_SUBJECT]);
	jw_kstr(w, "description", t->col[T_DESCRIPTION]);
	jw_kstr(w, "category", t->col[T_CATEGORY]);
	jw_kstr(w, "category_label", sup_label(t->col[T_CATEGORY]));
	jw_kstr(w, "priority", t->col[T_PRIORITY]);
	jw_kstr(w, "priority_label", sup_label(t->col[T_PRIORITY]));
	jw_kstr(w, "state", t->col[T_STATE]);
	jw_kstr(w, "state_label", sup_label(t->col[T_STATE]));
	write_person(w, "requester", t->col[T_REQUESTER], names[0]);
	write_person(w, "assignee", t->col[T_ASSIGNEE], names[1]);
	jw_kstr(w, "created_at", t->col[T_CREATED]);
	jw_kstr(w, "updated_at", t->col[T_UPDATED]);
	jw_kstr(w, "first_response_due", t->col[T_FR_DUE]);
	jw_kstr(w, "resolution_due", t->col[T_RES_DUE]);
	jw_kstr(w, "first_response_at", t->col[T_FR_AT]);
	jw_kstr(w, "resolved_at", t->col[T_RESOLVED_AT]);
	jw_kstr(w, "closed_at", t->col[T_CLOSED_AT]);
	jw_kstr(w, "evaluation_id", t->col[T_EVALUATION]);
	/*
	 * A contestation names its grade, so a queue reads at a glance; an unpublished grade is null
	 * here for everyone (GET .../grade gives the staff the details).
	 */
	jw_key(w, "grade");
	struct notes_grade_info g;
	if (t->col[T_EVALUATION] && !notes_student_grade(c, a, t->col[T_EVALUATION], t->col[T_REQUESTER], &g) &&
	    g.published) {
		jw_obj_open(w);
		jw_kstr(w, "evaluation_title", g.evaluation_title);
		jw_kstr(w, "course_title", g.course_title);
		jw_kstr(w, "text", sup_grade_text(a, &g));
		jw_obj_close(w);
	} else
		jw_null(w);
	int fr = sup_first_response_overdue(t, now), res = sup_resolution_overdue(t, now);
	jw_kbool(w, "first_response_overdue", fr);
	jw_kbool(w, "resolution_overdue", res);
	jw_kbool(w, "overdue", fr || res);
	jw_key(w, "rating");
	if (!t->col[T_RATING])
		jw_null(w);
	else {
		int64_t r = 0;
		util_parse_int64(t->col[T_RATING], 1, 5, &r);
		jw_obj_open(w);
		jw_kint(w, "value", r);
		jw_kstr(w, "comment", t->col[T_RATING_COMMENT]);
		jw_kstr(w, "rated_at", t->col[T_RATED_AT]);
		jw_obj_close(w);
	}
	jw_obj_close(w);
}

/* ---- GDPR ---- */

int sup_export_user(db_conn *c, const char *user_id, json_t *out)
{
	/* The user's tickets and their public comments: never an internal note, never the history. */
	json_t *tickets = json_array(), *helpful = json_array();
	int rc = EXPORT_ROWS(c, tickets,
			     "id subject description category priority state created_at resolved_at closed_at rating:i"
			     " rating_comment evaluation_id",
			     "SELECT id, subject, description, category, priority, state, created_at, resolved_at,"
			     " closed_at, rating, rating_comment, evaluation_id FROM support_requests"
			     " WHERE requester_id = ? ORDER BY created_at, id",
			     SQL_T(user_id));
	if (!rc)
		rc = export_nest(
			c, tickets, "comments", "id", "id author_id body created_at mine:b",
			"SELECT m.id, m.author_id, m.body, m.created_at,"
			" CASE WHEN m.author_id = r.requester_id THEN 1 ELSE 0 END FROM support_comments m"
			" JOIN support_requests r ON r.id = m.ticket_id WHERE m.ticket_id = ? AND m.internal = 0"
			" ORDER BY m.seq, m.id");
	if (!rc)
		rc = EXPORT_ROWS(c, helpful, "article_id at",
				 "SELECT article_id, at FROM support_faq_helpful WHERE user_id = ? ORDER BY at",
				 SQL_T(user_id));
	return export_put(out, "support", rc, "tickets", tickets, "faq_helpful", helpful, NULL);
}

int sup_erase_user(db_conn *c, const char *user_id)
{
	/*
	 * The user's own tickets go with their comments, notes and history. What they wrote on others'
	 * tickets (as staff) is replaced by a mention, so the requester's conversation keeps its shape.
	 */
	static const char *const sqls[] = {
		"DELETE FROM support_attachments WHERE ticket_id IN (SELECT id FROM support_requests WHERE requester_id = ?)",
		"DELETE FROM support_attachments WHERE added_by = ?",
		"DELETE FROM support_comments WHERE ticket_id IN (SELECT id FROM support_requests WHERE requester_id = ?)",
		"DELETE FROM support_history WHERE ticket_id IN (SELECT id FROM support_requests WHERE requester_id = ?)",
		"DELETE FROM support_requests WHERE requester_id = ?",
		"UPDATE support_comments SET body = 'Message effacé à la demande de son auteur.' WHERE author_id = ?",
		"UPDATE support_requests SET assignee_id = NULL WHERE assignee_id = ?",
		"DELETE FROM support_faq_helpful WHERE user_id = ?",
	};
	for (size_t i = 0; i < sizeof(sqls) / sizeof(sqls[0]); i++) {
		int rc = db_run(c, sqls[i], user_id, NULL);
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

/* ---- service ---- */

static int sup_start(void)
{
	/* Loads Paris's zone (the CSV export's times) before worker threads use it. */
	(void)icaltimezone_get_builtin_timezone("Europe/Paris");
	int rc = sup_stream_start();
	return rc ? rc : sup_jobs_start();
}

#define S_CATEGORY                                                                                                     \
	"{\"type\":\"string\",\"enum\":[\"account\",\"courses\",\"grades\",\"timetable\",\"messaging\",\"other\"]}"
#define S_PRIORITY "{\"type\":\"string\",\"enum\":[\"low\",\"normal\",\"high\",\"urgent\"]}"
#define S_STATE "{\"type\":\"string\",\"enum\":[\"new\",\"open\",\"waiting\",\"resolved\",\"closed\"]}"
#define S_PERSON "{\"type\":[\"object\",\"null\"],\"properties\":{\"id\":" S_UUID ",\"name\":" S_NSTR "}}"
#define S_TICKET                                                                                                       \
	"{\"type\":\"object\",\"required\":[\"id\",\"subject\",\"description\",\"category\",\"priority\",\"state\","   \
	"\"requester\",\"created_at\",\"first_response_due\",\"resolution_due\",\"overdue\"],\"properties\":{"         \
	"\"id\":" S_UUID ",\"subject\":" S_STR ",\"description\":" S_STR ",\"category\":" S_CATEGORY                   \
	",\"category_label\":" S_STR ",\"priority\":" S_PRIORITY ",\"priority_label\":" S_STR ",\"state\":" S_STATE    \
	",\"state_label\":" S_STR ",\"requester\":" S_PERSON ",\"assignee\":" S_PERSON ",\"created_at\":" S_TIME       \
	",\"updated_at\":" S_TIME ",\"first_response_due\":" S_TIME ",\"resolution_due\":" S_TIME                      \
	",\"first_response_at\":" S_NTIME ",\"resolved_at\":" S_NTIME ",\"closed_at\":" S_NTIME                        \
	",\"first_response_overdue\":" S_BOOL ",\"resolution_overdue\":" S_BOOL ",\"overdue\":" S_BOOL                 \
	",\"evaluation_id\":" S_NUUID ",\"grade\":{\"type\":[\"object\",\"null\"],\"properties\":{"                    \
	"\"evaluation_title\":" S_STR ",\"course_title\":" S_STR ",\"text\":" S_STR                                    \
	"}},\"rating\":{\"type\":[\"object\",\"null\"],\"properties\":{\"value\":" S_INT ",\"comment\":" S_NSTR        \
	",\"rated_at\":" S_TIME "}}}}"
#define S_COMMENT                                                                                                      \
	"{\"type\":\"object\",\"required\":[\"id\",\"ticket_id\",\"author\",\"body\",\"internal\",\"created_at\"],"    \
	"\"properties\":{\"id\":" S_UUID ",\"ticket_id\":" S_UUID ",\"author\":" S_PERSON ",\"body\":" S_STR           \
	",\"internal\":" S_BOOL ",\"created_at\":" S_TIME "}}"
#define S_FILE_IDS "{\"type\":\"array\",\"minItems\":1,\"maxItems\":20,\"items\":" S_UUID "}"
#define S_ATTACHMENT                                                                                                   \
	"{\"type\":\"object\",\"required\":[\"file_id\",\"name\",\"content_type\",\"size\",\"internal\","              \
	"\"added_by\",\"created_at\"],\"properties\":{\"file_id\":" S_UUID ",\"comment_id\":" S_NUUID                  \
	",\"internal\":" S_BOOL ",\"added_by\":" S_PERSON ",\"name\":" S_STR ",\"content_type\":" S_STR                \
	",\"size\":" S_INT ",\"created_at\":" S_TIME "}}"
#define S_ITEMS(item)                                                                                                  \
	"{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":" item  \
	"}}}"
#define S_CHANGE                                                                                                       \
	"{\"type\":\"object\",\"required\":[\"id\",\"field\",\"at\"],\"properties\":{\"id\":" S_UUID                   \
	",\"actor\":" S_PERSON ",\"field\":" S_STR ",\"old_value\":" S_NSTR ",\"new_value\":" S_NSTR ",\"at\":" S_TIME \
	"}}"
#define S_GRADE                                                                                                        \
	"{\"type\":\"object\",\"required\":[\"evaluation_id\",\"evaluation_title\",\"course_title\",\"date\","         \
	"\"scale\",\"status\",\"status_label\",\"value\",\"text\",\"published\",\"student\",\"may_revise\"],"          \
	"\"properties\":{\"evaluation_id\":" S_UUID ",\"evaluation_title\":" S_STR ",\"course_id\":" S_UUID            \
	",\"course_title\":" S_STR ",\"date\":" S_STR ",\"scale\":" S_INT ",\"status\":{\"type\":\"string\","          \
	"\"enum\":[\"graded\",\"absent\",\"exempt\",\"not_graded\"]},\"status_label\":" S_STR                          \
	",\"value\":{\"type\":[\"number\",\"null\"]},\"text\":" S_STR ",\"published\":" S_BOOL                         \
	",\"student\":" S_PERSON ",\"may_revise\":" S_BOOL "}}"
#define S_SLA                                                                                                          \
	"{\"type\":\"object\",\"required\":[\"priority\",\"first_response_minutes\",\"resolution_minutes\"],"          \
	"\"properties\":{\"priority\":" S_PRIORITY ",\"priority_label\":" S_STR ",\"first_response_minutes\":" S_INT   \
	",\"resolution_minutes\":" S_INT ",\"updated_at\":" S_NTIME "}}"
#define S_FAQ                                                                                                          \
	"{\"type\":\"object\",\"required\":[\"id\",\"title\",\"body\",\"category\",\"published\"],\"properties\":{"    \
	"\"id\":" S_UUID ",\"title\":" S_STR ",\"body\":" S_STR ",\"category\":" S_CATEGORY                            \
	",\"category_label\":" S_STR ",\"published\":" S_BOOL ",\"helpful_count\":" S_INT ",\"created_at\":" S_TIME    \
	",\"updated_at\":" S_TIME "}}"
#define S_FAQ_REQ(req)                                                                                                 \
	"{\"type\":\"object\",\"additionalProperties\":false," req "\"properties\":{\"title\":{\"type\":\"string\","   \
	"\"minLength\":1,\"maxLength\":200},\"body\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":20000},"       \
	"\"category\":" S_CATEGORY ",\"published\":" S_BOOL "}}"

static const struct route routes[] = {
	ROUTE("POST", "/api/support/tickets", sup_tickets_create, ROLE_ANY_USER, .status = 201,
	      .summary = "Ask for help: a new ticket (state new), its deadlines set from the service levels",
	      .request_schema =
		      "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"subject\",\"description\","
		      "\"category\"],\"properties\":{\"subject\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200},"
		      "\"description\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":10000},\"category\":" S_CATEGORY
		      ",\"priority\":" S_PRIORITY "}}",
	      .response_schema = S_TICKET),
	ROUTE("POST", "/api/support/contestations", sup_contest_create, ROLE_ETUDIANT, .status = 201,
	      .summary = "Ask for the review of one of the caller's published grades: a grades ticket linked to the "
			 "evaluation, assigned to its teacher (409 while another one on that grade is not closed)",
	      .request_schema =
		      "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"evaluation_id\",\"reason\"],"
		      "\"properties\":{\"evaluation_id\":" S_UUID ",\"reason\":{\"type\":\"string\",\"minLength\":1,"
		      "\"maxLength\":10000}}}",
	      .response_schema = S_TICKET),
	ROUTE("GET", "/api/support/tickets", sup_tickets_list, ROLE_ANY_USER,
	      .summary =
		      "The tickets the caller may see, newest first: their own; the queue for admins (all) and teachers "
		      "(grades tickets assigned to them); ?state= ?category= ?priority= ?assignee_id= (or none) ?overdue= "
		      "?q= ?mine=true ?evaluation_id=",
	      .response_schema = S_LIST(S_TICKET)),
	ROUTE("GET", "/api/support/tickets.csv", sup_tickets_csv, ROLE_ADMIN,
	      .summary =
		      "The queue as CSV for a French spreadsheet (';', UTF-8 with BOM, decimal commas, formula-safe), "
		      "with the list's filters"),
	ROUTE("GET", "/api/support/tickets/{id}", sup_tickets_get, ROLE_ANY_USER,
	      .summary = "A ticket (404 when the caller may not see it)", .response_schema = S_TICKET),
	ROUTE("PATCH", "/api/support/tickets/{id}", sup_tickets_patch, ROLE_ANY_USER,
	      .summary = "Change a ticket's state (legal transitions only, else 409), priority, category or assignee "
			 "(staff); its requester may close it once resolved",
	      .request_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"state\":" S_STATE
				",\"priority\":" S_PRIORITY ",\"category\":" S_CATEGORY ",\"assignee_id\":" S_NUUID
				"}}",
	      .response_schema = S_TICKET),
	ROUTE("GET", "/api/support/tickets/{id}/comments", sup_comments_list, ROLE_ANY_USER,
	      .summary = "The conversation, oldest first: public comments, and the internal notes for staff only",
	      .response_schema = S_LIST(S_COMMENT)),
	ROUTE("POST", "/api/support/tickets/{id}/comments", sup_comments_create, ROLE_ANY_USER, .status = 201,
	      .summary =
		      "Answer on a ticket; staff may write an internal note (internal: true) the requester never sees. "
		      "A requester's answer reopens a resolved or waiting ticket",
	      .request_schema =
		      "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"body\"],\"properties\":{"
		      "\"body\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":10000},\"internal\":" S_BOOL
		      ",\"file_ids\":" S_FILE_IDS "}}",
	      .response_schema = S_COMMENT),
	ROUTE("GET", "/api/support/tickets/{id}/grade", sup_grade_get, ROLE_ANY_USER,
	      .summary = "The grade a contestation is about, as it is now (its requester while the grade is published, "
			 "the ticket's staff); may_revise says whether the caller may revise it",
	      .response_schema = S_GRADE),
	ROUTE("PUT", "/api/support/tickets/{id}/grade", sup_grade_put, ROLE_ENSEIGNANT | ROLE_ADMIN,
	      .summary =
		      "Revise the contested grade (the ticket's staff who teach the evaluation's course, admins): the "
		      "notes service's audited change, the student told",
	      .request_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"value\"],"
				"\"properties\":{\"value\":{\"type\":\"number\",\"minimum\":0}}}",
	      .response_schema = S_GRADE),
	ROUTE("GET", "/api/support/tickets/{id}/history", sup_history_list, ROLE_ANY_USER,
	      .summary = "Every change of a ticket: who, when, which field, old and new value (staff)",
	      .response_schema = S_LIST(S_CHANGE)),
	ROUTE("GET", "/api/support/tickets/{id}/attachments", sup_attachments_list, ROLE_ANY_USER,
	      .summary =
		      "The ticket's attachments, oldest first (those of internal notes for its staff only); comment_id "
		      "names the answer a file came with",
	      .response_schema = S_ITEMS(S_ATTACHMENT)),
	ROUTE("POST", "/api/support/tickets/{id}/attachments", sup_attachments_create, ROLE_ANY_USER, .status = 201,
	      .summary =
		      "Attach files the caller uploaded (/api/fichiers) to the ticket (its requester and staff; 20 at "
		      "most per ticket); answers the attachments",
	      .request_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"file_ids\"],"
				"\"properties\":{\"file_ids\":" S_FILE_IDS "}}",
	      .response_schema = S_ITEMS(S_ATTACHMENT)),
	ROUTE("GET", "/api/support/tickets/{id}/attachments/{file_id}", sup_attachment_get, ROLE_ANY_USER,
	      .summary = "Download an attachment (404 for a file not attached, or of an internal note but to staff)"),
	ROUTE("GET", "/api/support/tickets/{id}/assignees", sup_assignees_list, ROLE_ADMIN,
	      .summary = "Who the ticket may be assigned to: the administrators; for grades the teachers of the "
			 "contested evaluation's course (any teacher for another grades ticket)",
	      .response_schema = S_ITEMS("{\"type\":\"object\",\"required\":[\"id\",\"name\",\"role\"],"
					 "\"properties\":{\"id\":" S_UUID ",\"name\":" S_STR ",\"role\":{\"type\":"
					 "\"string\",\"enum\":[\"admin\",\"enseignant\"]},\"role_label\":" S_STR "}}")),
	ROUTE("GET", "/api/support/tickets/{id}/stream", sup_stream, ROLE_ANY_USER,
	      .summary = "Server-Sent Events: `update` {ticket_id, kind: comment|ticket|attachment} when the ticket "
			 "changes (an internal note to its staff only), `gone` when the caller no longer sees it"),
	ROUTE("PUT", "/api/support/tickets/{id}/rating", sup_rating_put, ROLE_ANY_USER,
	      .summary = "The requester's satisfaction (1 to 5 and a comment) once resolved; once",
	      .request_schema =
		      "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"rating\"],\"properties\":{"
		      "\"rating\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5},\"comment\":" S_NSTR "}}",
	      .response_schema = S_TICKET),
	ROUTE("GET", "/api/support/sla", sup_sla_list, ROLE_ANY_USER,
	      .summary = "The service levels: first-answer and resolution deadlines by priority, in minutes",
	      .response_schema = S_ITEMS(S_SLA)),
	ROUTE("PUT", "/api/support/sla/{priority}", sup_sla_put, ROLE_ADMIN,
	      .summary = "Change one priority's deadlines (for tickets opened or re-prioritised after)",
	      .request_schema =
		      "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"first_response_minutes\","
		      "\"resolution_minutes\"],\"properties\":{\"first_response_minutes\":{\"type\":\"integer\","
		      "\"minimum\":5},\"resolution_minutes\":{\"type\":\"integer\",\"minimum\":5}}}",
	      .response_schema = S_SLA),
	ROUTE("GET", "/api/support/dashboard", sup_dashboard, ROLE_ADMIN,
	      .summary =
		      "Tickets opened between ?from= and ?to= (default: the last 30 days) by ?period=day|week|month, "
		      "median first-answer time, overdue now, mean satisfaction, FAQ answers found helpful",
	      .response_schema =
		      "{\"type\":\"object\",\"required\":[\"from\",\"to\",\"opened\",\"overdue\"],\"properties\":{"
		      "\"from\":" S_TIME ",\"to\":" S_TIME ",\"period\":" S_STR ",\"opened\":" S_INT
		      ",\"opened_by_period\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
		      "\"period\":" S_STR ",\"count\":" S_INT "}}},\"by_state\":{\"type\":\"object\"},"
		      "\"median_first_response_minutes\":{\"type\":[\"number\",\"null\"]},\"overdue\":" S_INT
		      ",\"satisfaction\":{\"type\":\"object\",\"properties\":{\"mean\":{\"type\":[\"number\","
		      "\"null\"]},\"count\":" S_INT "}},\"faq_helpful\":{\"type\":\"object\",\"properties\":{"
		      "\"period\":" S_INT ",\"total\":" S_INT "}}}}"),
	ROUTE("GET", "/api/support/faq", sup_faq_list, ROLE_ANY_USER,
	      .summary =
		      "FAQ articles: published ones (admins also drafts, ?published=false); ?category=; ?q= searches "
		      "titles and bodies (best matches first, one page)",
	      .response_schema = S_LIST(S_FAQ)),
	ROUTE("POST", "/api/support/faq", sup_faq_create, ROLE_ADMIN, .status = 201,
	      .summary = "Write a FAQ article (admins)",
	      .request_schema = S_FAQ_REQ("\"required\":[\"title\",\"body\",\"category\"],"), .response_schema = S_FAQ),
	ROUTE("GET", "/api/support/faq/suggest", sup_faq_suggest, ROLE_ANY_USER,
	      .summary = "The published articles that best match ?q= (the new-ticket form's subject), 5 at most",
	      .response_schema = S_ITEMS(S_FAQ)),
	ROUTE("GET", "/api/support/faq/{id}", sup_faq_get, ROLE_ANY_USER,
	      .summary = "A FAQ article (a draft answers 404 but to admins)", .response_schema = S_FAQ),
	ROUTE("PATCH", "/api/support/faq/{id}", sup_faq_patch, ROLE_ADMIN,
	      .summary = "Change or (un)publish a FAQ article", .request_schema = S_FAQ_REQ(""),
	      .response_schema = S_FAQ),
	ROUTE("DELETE", "/api/support/faq/{id}", sup_faq_delete, ROLE_ADMIN, .status = 204,
	      .summary = "Delete a FAQ article"),
	ROUTE("POST", "/api/support/faq/{id}/helpful", sup_faq_helpful, ROLE_ANY_USER, .flags = ROUTE_NO_BODY,
	      .summary = "\"This answered my question\": counted once per person",
	      .response_schema =
		      "{\"type\":\"object\",\"required\":[\"helpful_count\"],\"properties\":{\"helpful_count\":" S_INT
		      "}}"),
};

/* support_faq_fts exists on SQLite only (PostgreSQL indexes support_faq.search). */
static const char *const owned_tables[] = {"support_requests",    "support_comments",    "support_history",
					   "support_sla",         "support_faq",         "support_faq_fts",
					   "support_faq_helpful", "support_attachments", NULL};

const struct service svc_support = {
	.name = "support",
	.title = "Support tickets, service levels and FAQ (the seed's support service)",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.migrations = migrations,
	.nmigrations = sizeof(migrations) / sizeof(migrations[0]),
	.tables = owned_tables,
	.start = sup_start,
	.stop = sup_jobs_stop,
	.demo = sup_demo,
	.generate = sup_generate,
	.export_user = sup_export_user,
	.erase_user = sup_erase_user,
	.file_readable = sup_file_readable,
};
