/*
 * messagerie.c - the messagerie service (the seed's "Messagerie interne"): messages between the
 * people of a school, at /api/messages, with who-may-write-to-whom rules set by administrators,
 * class announcements whose reading each recipient confirms, recall, scheduled sending, folders,
 * full-text search and a live stream. docs/messagerie.md is the user-facing description.
 *
 * This file holds the schema, the route table and the GDPR hooks; internal.h says where the rest is.
 * The users and classes a message reaches come from the users and cours services' C interfaces
 * (users.h, cours.h), never their tables.
 */
#include "internal.h"

#include <libical/ical.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "core/service.h"
#include "core/util.h"
#include "core/wake.h"
#include "core/schema.h"
#include "core/export.h"
#include "core/sql.h"

/* The tables, shared by both engines. */
#define SCHEMA_COMMON                                                                                                  \
	"CREATE TABLE messages ("                                                                                      \
	" id TEXT PRIMARY KEY,"                                                                                        \
	" thread_id TEXT NOT NULL,"                                                                                    \
	" in_reply_to TEXT,"                                                                                           \
	" forward_of TEXT,"                                                                                            \
	" sender_id TEXT NOT NULL,"                                                                                    \
	" subject TEXT NOT NULL,"                                                                                      \
	" body TEXT NOT NULL,"                                                                                         \
	" state TEXT NOT NULL CHECK (state IN ('draft', 'scheduled', 'sent')),"                                        \
	" ack_required INTEGER NOT NULL DEFAULT 0,"                                                                    \
	" send_at TEXT,"                                                                                               \
	" sent_at TEXT,"                                                                                               \
	" submitted_us BIGINT,"                                                                                        \
	" recalled_at TEXT,"                                                                                           \
	" created_at TEXT NOT NULL,"                                                                                   \
	" updated_at TEXT NOT NULL);"                                                                                  \
	"CREATE INDEX messages_by_thread ON messages (thread_id, created_at);"                                         \
	"CREATE INDEX messages_by_sender ON messages (sender_id, submitted_us);"                                       \
	"CREATE INDEX messages_scheduled ON messages (state, send_at);"                                                \
	"CREATE TABLE message_addresses ("                                                                             \
	" message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"                                        \
	" position INTEGER NOT NULL,"                                                                                  \
	" kind TEXT NOT NULL CHECK (kind IN ('to', 'cc', 'bcc')),"                                                     \
	" type TEXT NOT NULL CHECK (type IN ('user', 'class', 'course', 'class_teachers', 'staff')),"                  \
	" ref_id TEXT,"                                                                                                \
	" PRIMARY KEY (message_id, position));"                                                                        \
	"CREATE TABLE message_boxes ("                                                                                 \
	" message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"                                        \
	" user_id TEXT NOT NULL,"                                                                                      \
	" role TEXT NOT NULL CHECK (role IN ('sender', 'to', 'cc', 'bcc')),"                                           \
	" folder TEXT NOT NULL,"                                                                                       \
	" prev_folder TEXT,"                                                                                           \
	" trashed_at TEXT,"                                                                                            \
	" at_us BIGINT NOT NULL,"                                                                                      \
	" visible INTEGER NOT NULL,"                                                                                   \
	" read_at TEXT,"                                                                                               \
	" acked_at TEXT,"                                                                                              \
	" PRIMARY KEY (message_id, user_id));"                                                                         \
	"CREATE INDEX message_boxes_by_folder ON message_boxes (user_id, folder, at_us, message_id);"                  \
	"CREATE INDEX message_boxes_trash ON message_boxes (folder, trashed_at);"                                      \
	"CREATE TABLE message_folders ("                                                                               \
	" id TEXT PRIMARY KEY,"                                                                                        \
	" owner_id TEXT NOT NULL,"                                                                                     \
	" name TEXT NOT NULL,"                                                                                         \
	" created_at TEXT NOT NULL,"                                                                                   \
	" UNIQUE (owner_id, name));"                                                                                   \
	"CREATE TABLE message_rules ("                                                                                 \
	" role TEXT NOT NULL,"                                                                                         \
	" target TEXT NOT NULL,"                                                                                       \
	" allowed INTEGER NOT NULL,"                                                                                   \
	" PRIMARY KEY (role, target));"                                                                                \
	"CREATE TABLE message_limits ("                                                                                \
	" role TEXT PRIMARY KEY,"                                                                                      \
	" per_hour INTEGER NOT NULL,"                                                                                  \
	" per_message INTEGER NOT NULL);"                                                                              \
	"INSERT INTO message_limits (role, per_hour, per_message) VALUES ('etudiant', 20, 10),"                        \
	" ('enseignant', 100, 50), ('admin', 500, 200);"

/*
 * The search index: FTS5 on SQLite (accents folded), a plain table with a GIN index on the French
 * text search vector on PostgreSQL. Both are written with the same INSERT and DELETE.
 */
static const char schema_v1[] = SCHEMA_COMMON
	"CREATE VIRTUAL TABLE messages_fts USING fts5(message_id UNINDEXED, subject, body,"
	" tokenize = 'unicode61 remove_diacritics 2');";
static const char schema_v1_pg[] = SCHEMA_COMMON
	"CREATE TABLE messages_fts (message_id TEXT PRIMARY KEY, subject TEXT NOT NULL, body TEXT NOT NULL);"
	"CREATE INDEX messages_fts_french ON messages_fts USING GIN (to_tsvector('french', subject || ' ' || body));";

/* The default rules (docs/messagerie.md): administrators change them with PUT /api/messages/rules. */
static const char rules_seed[] = "INSERT INTO message_rules (role, target, allowed) VALUES"
				 " ('etudiant', 'admin', 1),"
				 " ('etudiant', 'teacher_own', 1),"
				 " ('etudiant', 'teacher_any', 0),"
				 " ('etudiant', 'student_own', 1),"
				 " ('etudiant', 'student_any', 0),"
				 " ('etudiant', 'class_own', 0),"
				 " ('etudiant', 'class_any', 0),"
				 " ('etudiant', 'course_own', 0),"
				 " ('etudiant', 'course_any', 0),"
				 " ('etudiant', 'class_teachers_own', 1),"
				 " ('etudiant', 'class_teachers_any', 0),"
				 " ('etudiant', 'staff', 1),"
				 " ('enseignant', 'admin', 1),"
				 " ('enseignant', 'teacher_own', 1),"
				 " ('enseignant', 'teacher_any', 1),"
				 " ('enseignant', 'student_own', 1),"
				 " ('enseignant', 'student_any', 0),"
				 " ('enseignant', 'class_own', 1),"
				 " ('enseignant', 'class_any', 0),"
				 " ('enseignant', 'course_own', 1),"
				 " ('enseignant', 'course_any', 0),"
				 " ('enseignant', 'class_teachers_own', 1),"
				 " ('enseignant', 'class_teachers_any', 1),"
				 " ('enseignant', 'staff', 1),"
				 " ('admin', 'admin', 1),"
				 " ('admin', 'teacher_own', 1),"
				 " ('admin', 'teacher_any', 1),"
				 " ('admin', 'student_own', 1),"
				 " ('admin', 'student_any', 1),"
				 " ('admin', 'class_own', 1),"
				 " ('admin', 'class_any', 1),"
				 " ('admin', 'course_own', 1),"
				 " ('admin', 'course_any', 1),"
				 " ('admin', 'class_teachers_own', 1),"
				 " ('admin', 'class_teachers_any', 1),"
				 " ('admin', 'staff', 1);";

/*
 * Attachments (file ids of the fichiers service, with their name, type and size as sent), each
 * user's settings (e-mail forwarding, out-of-office, quiet hours), the automatic answers already
 * sent per absence, notifications waiting for the end of quiet hours, the e-mails waiting to be
 * sent, reports of messages to the administrators, and the administrators' settings per sender
 * (suspension, limits of their own).
 */
static const char schema_v3[] = "ALTER TABLE messages ADD COLUMN auto_reply INTEGER NOT NULL DEFAULT 0;"
				"CREATE TABLE message_attachments ("
				" message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
				" position INTEGER NOT NULL,"
				" file_id TEXT NOT NULL,"
				" name TEXT NOT NULL,"
				" content_type TEXT NOT NULL,"
				" size BIGINT NOT NULL,"
				" PRIMARY KEY (message_id, position));"
				"CREATE INDEX message_attachments_by_file ON message_attachments (file_id, message_id);"
				"CREATE TABLE message_settings ("
				" user_id TEXT PRIMARY KEY,"
				" email_forward INTEGER NOT NULL DEFAULT 0,"
				" email_address TEXT,"
				" ooo_from TEXT,"
				" ooo_until TEXT,"
				" ooo_text TEXT,"
				" ooo_serial INTEGER NOT NULL DEFAULT 0,"
				" quiet_start INTEGER,"
				" quiet_end INTEGER,"
				" updated_at TEXT NOT NULL);"
				"CREATE TABLE message_ooo_replies ("
				" user_id TEXT NOT NULL,"
				" serial INTEGER NOT NULL,"
				" sender_id TEXT NOT NULL,"
				" message_id TEXT NOT NULL,"
				" PRIMARY KEY (user_id, serial, sender_id));"
				"CREATE TABLE message_notices ("
				" user_id TEXT NOT NULL,"
				" message_id TEXT NOT NULL,"
				" due_us BIGINT NOT NULL,"
				" title TEXT NOT NULL,"
				" body TEXT NOT NULL,"
				" PRIMARY KEY (user_id, message_id));"
				"CREATE INDEX message_notices_due ON message_notices (due_us);"
				"CREATE TABLE message_mails ("
				" id TEXT PRIMARY KEY,"
				" user_id TEXT NOT NULL,"
				" message_id TEXT NOT NULL,"
				" address TEXT NOT NULL,"
				" subject TEXT NOT NULL,"
				" body TEXT NOT NULL,"
				" attempts INTEGER NOT NULL DEFAULT 0,"
				" next_us BIGINT NOT NULL,"
				" claimed_until BIGINT NOT NULL DEFAULT 0);"
				"CREATE INDEX message_mails_due ON message_mails (next_us);"
				"CREATE INDEX message_mails_by_user ON message_mails (user_id);"
				"CREATE TABLE message_reports ("
				" id TEXT PRIMARY KEY,"
				" message_id TEXT NOT NULL,"
				" reporter_id TEXT NOT NULL,"
				" sender_id TEXT NOT NULL,"
				" reason TEXT NOT NULL,"
				" comment TEXT,"
				" subject TEXT NOT NULL,"
				" body TEXT NOT NULL,"
				" status TEXT NOT NULL DEFAULT 'open',"
				" created_us BIGINT NOT NULL,"
				" handled_by TEXT,"
				" handled_at TEXT,"
				" UNIQUE (message_id, reporter_id));"
				"CREATE INDEX message_reports_by_time ON message_reports (created_us, id);"
				"CREATE TABLE message_senders ("
				" user_id TEXT PRIMARY KEY,"
				" suspended INTEGER NOT NULL DEFAULT 0,"
				" reason TEXT,"
				" per_hour INTEGER,"
				" per_message INTEGER,"
				" updated_by TEXT NOT NULL,"
				" updated_at TEXT NOT NULL);";

/*
 * The counts of a mailbox (GET /api/messages/folders, the unread count of the inbox that every
 * stream is told after a delivery) read one index alone: a user's visible copies by folder with
 * their read mark, without a visit to each row. And the search starts from the user's own copies
 * (a hundred, where the district's mail holds tens of thousands of matches of a common word): on
 * SQLite each message keeps the rowid of its FTS5 row (search_rowid), which FTS5 looks up with the
 * MATCH. The words typed are prefixes (mailbox.c): without an index of prefixes, FTS5 gathers the
 * rows of every word that begins so for each lookup (150 ms for "merci" over the district's
 * 53,000 messages that hold it), so the index keeps the prefixes of 1 to 10 characters; a longer
 * prefix is never asked (the search cuts a word to 10 characters). The index is rebuilt with those
 * rowids and prefixes (it holds each message's subject and body, as msg_store writes them), then
 * merged into one segment ('optimize': a lookup visits every segment; a bulk insert leaves
 * thousands, which FTS5's automatic merging then keeps few as messages come one by one).
 * bench/README.md: S7, S8 and the class message.
 */
#define SCHEMA_V4_COMMON                                                                                               \
	"CREATE INDEX message_boxes_counts ON message_boxes (user_id, folder, read_at) WHERE visible = 1;"
static const char schema_v4[] = SCHEMA_V4_COMMON
	"ALTER TABLE messages ADD COLUMN search_rowid INTEGER;"
	"UPDATE messages SET search_rowid = rowid;"
	"DROP TABLE messages_fts;"
	"CREATE VIRTUAL TABLE messages_fts USING fts5(message_id UNINDEXED, subject, body,"
	" tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8 9 10');"
	"INSERT INTO messages_fts (rowid, message_id, subject, body) SELECT search_rowid, id, subject, body FROM messages;"
	"INSERT INTO messages_fts (messages_fts) VALUES ('optimize');";
static const char schema_v4_pg[] = SCHEMA_V4_COMMON "ALTER TABLE messages ADD COLUMN search_rowid BIGINT;";

/*
 * The answer cache (core/rcache.h) of the inbox list and of the folders' counts: every change of a
 * user's mailbox records the scope "m:<user>" in the core's change table, in the transaction of
 * the change: a copy delivered, read, moved, recalled or deleted (message_boxes), a folder of
 * theirs created, renamed or deleted (message_folders), and a change of a message they hold that
 * its list item shows (its text, state, times, attachments). The senders' names are the users
 * service's scope "u:<sender>".
 */
static const char schema_v5[] =
	"CREATE TRIGGER message_boxes_changed_i AFTER INSERT ON message_boxes BEGIN INSERT INTO core_changes (scope) VALUES ('m:' || NEW.user_id); END;"
	"CREATE TRIGGER message_boxes_changed_u AFTER UPDATE ON message_boxes BEGIN INSERT INTO core_changes (scope) VALUES ('m:' || NEW.user_id); END;"
	"CREATE TRIGGER message_boxes_changed_d AFTER DELETE ON message_boxes BEGIN INSERT INTO core_changes (scope) VALUES ('m:' || OLD.user_id); END;"
	"CREATE TRIGGER message_folders_changed_i AFTER INSERT ON message_folders BEGIN INSERT INTO core_changes (scope) VALUES ('m:' || NEW.owner_id); END;"
	"CREATE TRIGGER message_folders_changed_u AFTER UPDATE ON message_folders BEGIN INSERT INTO core_changes (scope) VALUES ('m:' || NEW.owner_id); END;"
	"CREATE TRIGGER message_folders_changed_d AFTER DELETE ON message_folders BEGIN INSERT INTO core_changes (scope) VALUES ('m:' || OLD.owner_id); END;"
	"CREATE TRIGGER messages_changed_u AFTER UPDATE OF thread_id, subject, body, state, ack_required, send_at, sent_at ON messages BEGIN INSERT INTO core_changes (scope) SELECT 'm:' || user_id FROM message_boxes WHERE message_id = NEW.id; END;"
	"CREATE TRIGGER message_attachments_changed_i AFTER INSERT ON message_attachments BEGIN INSERT INTO core_changes (scope) SELECT 'm:' || user_id FROM message_boxes WHERE message_id = NEW.message_id; END;"
	"CREATE TRIGGER message_attachments_changed_d AFTER DELETE ON message_attachments BEGIN INSERT INTO core_changes (scope) SELECT 'm:' || user_id FROM message_boxes WHERE message_id = OLD.message_id; END;";
static const char schema_v5_pg[] =
	"CREATE FUNCTION message_boxes_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('m:' || OLD.user_id); ELSE INSERT INTO core_changes (scope) VALUES ('m:' || NEW.user_id); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER message_boxes_changed AFTER INSERT OR UPDATE OR DELETE ON message_boxes FOR EACH ROW EXECUTE FUNCTION message_boxes_changed();"
	"CREATE FUNCTION message_folders_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN INSERT INTO core_changes (scope) VALUES ('m:' || OLD.owner_id); ELSE INSERT INTO core_changes (scope) VALUES ('m:' || NEW.owner_id); END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER message_folders_changed AFTER INSERT OR UPDATE OR DELETE ON message_folders FOR EACH ROW EXECUTE FUNCTION message_folders_changed();"
	"CREATE FUNCTION messages_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO core_changes (scope) SELECT 'm:' || user_id FROM message_boxes WHERE message_id = NEW.id; RETURN NULL; END $$;"
	"CREATE TRIGGER messages_changed AFTER UPDATE OF thread_id, subject, body, state, ack_required, send_at, sent_at ON messages FOR EACH ROW EXECUTE FUNCTION messages_changed();"
	"CREATE FUNCTION message_attachments_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN INSERT INTO core_changes (scope) SELECT 'm:' || user_id FROM message_boxes WHERE message_id = OLD.message_id; ELSE INSERT INTO core_changes (scope) SELECT 'm:' || user_id FROM message_boxes WHERE message_id = NEW.message_id; END IF; RETURN NULL; END $$;"
	"CREATE TRIGGER message_attachments_changed AFTER INSERT OR DELETE ON message_attachments FOR EACH ROW EXECUTE FUNCTION message_attachments_changed();";

/*
 * The search from the index (bench/README.md, S8). SQLite: the index holds each message's owners
 * (MSG_OWNERS_SQL, internal.h), so that one FTS5 query gives the caller's messages that hold the
 * words (one intersection of two lists of the index, about 0.1 ms), where migration 4's search asked
 * FTS5 about each copy of the mailbox by rowid (a query set up each time: 20 µs a copy, 1.3 ms for a
 * student's 60 copies, more for a teacher's hundreds). PostgreSQL: the French vector is stored
 * (a generated column with its GIN index) instead of computed again for each copy the search
 * starts from (20 µs a row, 5 µs with the stored vector).
 */
static const char schema_v6[] =
	"DROP TABLE messages_fts;"
	"CREATE VIRTUAL TABLE messages_fts USING fts5(message_id UNINDEXED, owners, subject, body,"
	" tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8 9 10');"
	"INSERT INTO messages_fts (rowid, message_id, owners, subject, body)"
	" SELECT m.search_rowid, m.id, " MSG_OWNERS_SQL(
		"m.id") ", m.subject, m.body FROM messages m;"
			"INSERT INTO messages_fts (messages_fts) VALUES ('optimize');";
static const char schema_v6_pg[] = "ALTER TABLE messages_fts ADD COLUMN search tsvector"
				   " GENERATED ALWAYS AS (to_tsvector('french', subject || ' ' || body)) STORED;"
				   "DROP INDEX messages_fts_french;"
				   "CREATE INDEX messages_fts_search ON messages_fts USING GIN (search);";

static const struct migration migrations[] = {
	{1, "messages, addresses, mailboxes, folders, limits, search index", schema_v1, schema_v1_pg},
	{2, "default communication rules", rules_seed, NULL},
	{3, "attachments, settings, out-of-office, quiet hours, e-mails, reports, senders", schema_v3, NULL},
	{4, "the mailbox counts' index, the search from the mailbox", schema_v4, schema_v4_pg},
	{5, "the mailbox's changes for the answer cache", schema_v5, schema_v5_pg},
	{6, "the search index with each message's owners, the stored French vector", schema_v6, schema_v6_pg},
};

json_t *msg_body(http_req *req, const struct jfield *fields, size_t n)
{
	return msg_body_text(req, fields, n, NULL, 0);
}

void msg_check_text(json_t *obj, const char *field, int lines, json_t *errors)
{
	const char *v = json_get_str(obj, field, NULL);
	if (v && !json_object_get(errors, field) && !(lines ? util_valid_lines(v) : util_valid_text(v)))
		json_object_set_new(errors, field, json_string("ne doit pas contenir de caractères de contrôle"));
}

json_t *msg_body_text(http_req *req, const struct jfield *fields, size_t n, const char *text, int lines)
{
	json_t *body = http_json_body(req);
	if (!body)
		return NULL;
	json_t *errors = json_object();
	json_check(body, fields, n, errors);
	if (text)
		msg_check_text(body, text, lines, errors);
	return http_invalid(req, errors) ? NULL : body;
}

int64_t msg_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void msg_time(int64_t us, char out[21]) { util_time_rfc3339((time_t)(us / 1000000), out); }

/* ---- GDPR ---- */

int msg_export_user(db_conn *c, const char *user_id, json_t *out)
{
	/* Every message the user holds a copy of; bcc addresses only of the messages they sent. */
	json_t *msgs = json_array(), *folders = json_array(), *settings = json_array();
	int rc = EXPORT_ROWS(
		c, msgs, "id thread_id sender_id subject body state sent_at created_at my_role folder read_at acked_at",
		"SELECT m.id, m.thread_id, m.sender_id, m.subject, m.body, m.state, m.sent_at, m.created_at,"
		" b.role, b.folder, b.read_at, b.acked_at FROM message_boxes b JOIN messages m ON m.id = b.message_id"
		" WHERE b.user_id = ? AND b.visible = 1 ORDER BY m.created_at, m.id",
		SQL_T(user_id));
	if (!rc)
		rc = export_nest(c, msgs, "addresses", "id my_role", "kind type id",
				 "SELECT kind, type, ref_id FROM message_addresses WHERE message_id = ?"
				 " AND (kind <> 'bcc' OR CAST(? AS TEXT) = 'sender') ORDER BY position");
	if (!rc)
		rc = EXPORT_ROWS(c, folders, "id name created_at",
				 "SELECT id, name, created_at FROM message_folders WHERE owner_id = ? ORDER BY name",
				 SQL_T(user_id));
	if (!rc)
		rc = EXPORT_ROWS(c, settings,
				 "email_forward:b email_address ooo_from ooo_until ooo_text quiet_start_minute:i"
				 " quiet_end_minute:i",
				 "SELECT email_forward, email_address, ooo_from, ooo_until, ooo_text,"
				 " COALESCE(quiet_start, -1), COALESCE(quiet_end, -1) FROM message_settings"
				 " WHERE user_id = ?",
				 SQL_T(user_id));
	json_t *mine = json_array_size(settings) ? json_incref(json_array_get(settings, 0)) : json_null();
	json_decref(settings);
	return export_put(out, "messagerie", rc, "messages", msgs, "folders", folders, "settings", mine, NULL);
}

int msg_erase_user(db_conn *c, const char *user_id)
{
	/*
	 * The user's drafts and scheduled messages go entirely; their copies of other messages go;
	 * a message they sent stays in its recipients' mailboxes (it is the recipients' mail too)
	 * with the sender's id, and leaves the database when its last copy is deleted.
	 */
	arena *a = arena_new(0);
	const char **ids;
	int rc = db_texts(c, a, "SELECT message_id FROM message_boxes WHERE user_id = ?", user_id, NULL, &ids);
	size_t n = rc > 0 ? (size_t)rc : 0;
	if (rc >= 0)
		rc = ENT_OK;
	for (size_t i = 0; i < n && !rc; i++) {
		int unsent = db_exists(c, "SELECT 1 FROM messages WHERE id = ? AND sender_id = ? AND state <> 'sent'",
				       ids[i], user_id);
		if (unsent < 0)
			rc = unsent;
		else if (unsent)
			rc = msg_remove(c, ids[i]);
		else if (!(rc = db_run(c, "DELETE FROM message_boxes WHERE message_id = ? AND user_id = ?", ids[i],
				       user_id)))
			rc = msg_collect(c, ids[i]);
		/* SQLite: the search row of a message still held by others loses the user's word. */
		if (!rc && !unsent && db_conn_kind(c) == DB_SQLITE)
			rc = db_run(c,
				    "UPDATE messages_fts SET owners = " MSG_OWNERS_SQL(
					    "?") " WHERE rowid = (SELECT search_rowid FROM messages WHERE id = ?)",
				    ids[i], ids[i]);
	}
	static const char *const own[] = {
		"DELETE FROM message_folders WHERE owner_id = ?",
		"DELETE FROM message_settings WHERE user_id = ?",
		"DELETE FROM message_ooo_replies WHERE user_id = ? OR sender_id = ?",
		"DELETE FROM message_notices WHERE user_id = ?",
		"DELETE FROM message_mails WHERE user_id = ?",
		"DELETE FROM message_reports WHERE reporter_id = ? OR sender_id = ?",
		"DELETE FROM message_senders WHERE user_id = ?",
	};
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]) && !rc; i++)
		rc = db_run(c, own[i], user_id, strstr(own[i], " OR ") ? user_id : NULL);
	arena_free(a);
	return rc;
}

/* ---- service ---- */

/* Declared by every process (docs/bus.md), consumed by those that run the messagerie. */
static const struct bus_consumer *const msg_consumers[] = {&msg_emails_consumer, NULL};

static int msg_start(void)
{
	/* Loads Paris's zone (quiet hours) before worker threads use it. */
	(void)icaltimezone_get_builtin_timezone("Europe/Paris");
	int rc = wake_subscribe("messages", msg_wake);
	if (!rc)
		rc = msg_mail_start();
	return rc ? rc : msg_worker_start();
}

#define S_PERSON                                                                                                       \
	"{\"type\":\"object\",\"required\":[\"id\",\"name\"],\"properties\":{\"id\":" S_UUID ",\"name\":" S_STR "}}"
#define S_ADDR_TYPE "{\"type\":\"string\",\"enum\":[\"user\",\"class\",\"course\",\"class_teachers\",\"staff\"]}"
#define S_ADDR_REQ                                                                                                          \
	"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"type\"],\"properties\":{\"type\":" S_ADDR_TYPE \
	",\"id\":" S_UUID "}}"
#define S_ADDRS_REQ "{\"type\":[\"array\",\"null\"],\"maxItems\":200,\"items\":" S_ADDR_REQ "}"
#define S_ADDR                                                                                                         \
	"{\"type\":\"object\",\"required\":[\"type\",\"name\"],\"properties\":{\"type\":" S_ADDR_TYPE                  \
	",\"id\":" S_UUID ",\"name\":" S_STR "}}"
#define S_ADDRS "{\"type\":\"array\",\"items\":" S_ADDR "}"
#define S_FILES                                                                                                        \
	"{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"id\",\"name\",\"content_type\",\"size\"]," \
	"\"properties\":{\"id\":" S_UUID ",\"name\":" S_STR ",\"content_type\":" S_STR ",\"size\":" S_INT "}}}"
#define S_FILE_IDS "{\"type\":[\"array\",\"null\"],\"maxItems\":20,\"items\":" S_UUID "}"
#define S_STATE "{\"type\":\"string\",\"enum\":[\"draft\",\"scheduled\",\"sent\"]}"
#define S_ROLE "{\"type\":\"string\",\"enum\":[\"sender\",\"to\",\"cc\",\"bcc\"]}"
#define S_MESSAGE                                                                                                         \
	"{\"type\":\"object\",\"required\":[\"id\",\"thread_id\",\"subject\",\"sender\",\"to\",\"cc\",\"bcc\",\"state\"," \
	"\"folder\",\"my_role\",\"read\",\"ack_required\"],\"properties\":{\"id\":" S_UUID ",\"thread_id\":" S_UUID       \
	",\"in_reply_to\":" S_NUUID ",\"forward_of\":" S_NUUID ",\"subject\":" S_STR ",\"body\":" S_STR                   \
	",\"sender\":" S_PERSON ",\"to\":" S_ADDRS ",\"cc\":" S_ADDRS ",\"bcc\":" S_ADDRS ",\"state\":" S_STATE           \
	",\"folder\":" S_STR ",\"my_role\":" S_ROLE ",\"send_at\":" S_NTIME ",\"sent_at\":" S_NTIME                       \
	",\"created_at\":" S_TIME ",\"updated_at\":" S_TIME ",\"read\":" S_BOOL ",\"read_at\":" S_NTIME                   \
	",\"ack_required\":" S_BOOL ",\"acked_at\":" S_NTIME ",\"recalled_at\":" S_NTIME ",\"attachments\":" S_FILES      \
	"}}"
#define S_ITEM                                                                                                         \
	"{\"type\":\"object\",\"required\":[\"id\",\"thread_id\",\"subject\",\"sender\",\"state\",\"folder\",\"at\","  \
	"\"read\"],\"properties\":{\"id\":" S_UUID ",\"thread_id\":" S_UUID ",\"subject\":" S_STR                      \
	",\"preview\":" S_STR ",\"sender\":" S_PERSON ",\"state\":" S_STATE ",\"folder\":" S_STR                       \
	",\"my_role\":" S_ROLE ",\"at\":" S_TIME ",\"sent_at\":" S_NTIME ",\"send_at\":" S_NTIME ",\"read\":" S_BOOL   \
	",\"ack_required\":" S_BOOL ",\"acked\":" S_BOOL ",\"attachments\":" S_INT ",\"recipients\":" S_ADDRS "}}"
#define S_CREATE                                                                                                       \
	"{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"subject\":{\"type\":\"string\","        \
	"\"maxLength\":200},\"body\":{\"type\":\"string\",\"maxLength\":50000},\"to\":" S_ADDRS_REQ                    \
	",\"cc\":" S_ADDRS_REQ ",\"bcc\":" S_ADDRS_REQ ",\"ack_required\":" S_BOOL ",\"send_at\":" S_NTIME             \
	",\"draft\":" S_BOOL ",\"attachments\":" S_FILE_IDS "}}"
#define S_PATCH                                                                                                        \
	"{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"subject\":{\"type\":\"string\","        \
	"\"maxLength\":200},\"body\":{\"type\":\"string\",\"maxLength\":50000},\"to\":" S_ADDRS_REQ                    \
	",\"cc\":" S_ADDRS_REQ ",\"bcc\":" S_ADDRS_REQ ",\"ack_required\":" S_BOOL ",\"send_at\":" S_NTIME             \
	",\"attachments\":" S_FILE_IDS "}}"
#define S_FOLDER                                                                                                       \
	"{\"type\":\"object\",\"required\":[\"id\",\"name\",\"system\"],\"properties\":{\"id\":" S_STR                 \
	",\"name\":" S_STR ",\"system\":" S_BOOL ",\"total\":" S_INT ",\"unread\":" S_INT "}}"
#define S_FOLDER_REQ                                                                                                      \
	"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":" \
	"\"string\",\"minLength\":1,\"maxLength\":60}}}"
#define S_TARGET                                                                                                       \
	"{\"type\":\"string\",\"enum\":[\"admin\",\"teacher_own\",\"teacher_any\",\"student_own\",\"student_any\","    \
	"\"class_own\",\"class_any\",\"course_own\",\"course_any\",\"class_teachers_own\",\"class_teachers_any\","     \
	"\"staff\"]}"
#define S_ROLE_NAME "{\"type\":\"string\",\"enum\":[\"etudiant\",\"enseignant\",\"admin\"]}"
#define S_RULES_BODY(req)                                                                                              \
	"{\"type\":\"object\"," req "\"properties\":{\"rules\":{\"type\":\"array\",\"items\":{\"type\":\"object\","    \
	"\"required\":[\"role\",\"target\",\"allowed\"],\"properties\":{\"role\":" S_ROLE_NAME ",\"target\":" S_TARGET \
	",\"allowed\":" S_BOOL                                                                                         \
	"}}},\"limits\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"required\":[\"role\","                    \
	"\"per_hour\",\"per_message\"],\"properties\":{\"role\":" S_ROLE_NAME ",\"per_hour\":{\"type\":\"integer\","   \
	"\"minimum\":1},\"per_message\":{\"type\":\"integer\",\"minimum\":1}}}}}}"
#define S_RECEIPTS                                                                                                        \
	"{\"type\":\"object\",\"required\":[\"message_id\",\"recipients\",\"read\",\"acked\",\"items\"],\"properties\":{" \
	"\"message_id\":" S_UUID ",\"ack_required\":" S_BOOL ",\"recipients\":" S_INT ",\"read\":" S_INT                  \
	",\"acked\":" S_INT                                                                                               \
	",\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"user\":" S_PERSON                \
	",\"kind\":{\"type\":\"string\",\"enum\":[\"to\",\"cc\",\"bcc\"]},\"read_at\":" S_NTIME                           \
	",\"acked_at\":" S_NTIME "}}}}}"
#define S_PEOPLE "{\"type\":\"array\",\"items\":" S_PERSON "}"
#define S_SETTINGS                                                                                                     \
	"{\"type\":\"object\",\"required\":[\"email_forward\",\"out_of_office\",\"quiet_hours\","                      \
	"\"waiting_notifications\"],\"properties\":{\"email_forward\":{\"type\":\"object\",\"properties\":{"           \
	"\"available\":" S_BOOL ",\"enabled\":" S_BOOL ",\"address\":" S_NSTR ",\"account_email\":" S_NSTR "}},"       \
	"\"out_of_office\":{\"type\":[\"object\",\"null\"],\"properties\":{\"from\":" S_TIME ",\"until\":" S_TIME      \
	",\"text\":" S_STR ",\"active\":" S_BOOL "}},\"quiet_hours\":{\"type\":[\"object\",\"null\"],"                 \
	"\"properties\":{\"start\":" S_STR ",\"end\":" S_STR ",\"active\":" S_BOOL ",\"until\":" S_NTIME "}},"         \
	"\"waiting_notifications\":" S_INT "}}"
#define S_SETTINGS_REQ                                                                                                 \
	"{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"email_forward\":{\"type\":"             \
	"\"object\",\"additionalProperties\":false,\"required\":[\"enabled\"],\"properties\":{\"enabled\":" S_BOOL     \
	",\"address\":{\"type\":[\"string\",\"null\"],\"maxLength\":254}}},\"out_of_office\":{\"type\":"               \
	"[\"object\",\"null\"],\"additionalProperties\":false,\"required\":[\"from\",\"until\",\"text\"],"             \
	"\"properties\":{\"from\":" S_TIME ",\"until\":" S_TIME ",\"text\":{\"type\":\"string\",\"minLength\":1,"      \
	"\"maxLength\":2000}}},\"quiet_hours\":{\"type\":[\"object\",\"null\"],\"additionalProperties\":false,"        \
	"\"required\":[\"start\",\"end\"],\"properties\":{\"start\":{\"type\":\"string\",\"pattern\":"                 \
	"\"^[0-2][0-9]:[0-5][0-9]$\"},\"end\":{\"type\":\"string\",\"pattern\":\"^[0-2][0-9]:[0-5][0-9]$\"}}}}}"
#define S_REPORT                                                                                                       \
	"{\"type\":\"object\",\"required\":[\"id\",\"message\",\"sender\",\"reporter\",\"reason\",\"status\","         \
	"\"created_at\"],\"properties\":{\"id\":" S_UUID ",\"message\":{\"type\":\"object\",\"properties\":{"          \
	"\"id\":" S_UUID ",\"subject\":" S_STR ",\"body\":" S_STR "}},\"sender\":{\"type\":\"object\","                \
	"\"properties\":{\"id\":" S_UUID ",\"name\":" S_STR ",\"suspended\":" S_BOOL "}},\"reporter\":" S_PERSON       \
	",\"reason\":" S_REASON ",\"comment\":" S_NSTR ",\"status\":{\"type\":\"string\",\"enum\":[\"open\","          \
	"\"closed\"]},\"created_at\":" S_TIME ",\"handled_at\":" S_NTIME "}}"
#define S_REASON "{\"type\":\"string\",\"enum\":[\"harassment\",\"spam\",\"inappropriate\",\"other\"]}"
#define S_SENDER                                                                                                       \
	"{\"type\":\"object\",\"required\":[\"user_id\",\"suspended\"],\"properties\":{\"user_id\":" S_UUID            \
	",\"suspended\":" S_BOOL ",\"reason\":" S_NSTR ",\"per_hour\":{\"type\":[\"integer\",\"null\"]},"              \
	"\"per_message\":{\"type\":[\"integer\",\"null\"]},\"updated_at\":" S_NTIME "}}"

static const struct route routes[] = {
	ROUTE("GET", "/api/messages", msg_list, ROLE_ANY_USER,
	      .summary =
		      "The caller's messages in ?folder= (inbox by default; sent, drafts, trash or one of their folders), "
		      "newest first; ?unread=true",
	      .response_schema = S_LIST(S_ITEM)),
	ROUTE("POST", "/api/messages", msg_create, ROLE_ANY_USER, .status = 201,
	      .summary =
		      "Write a message: sent now, at send_at, or kept as a draft (draft: true). Every recipient is checked "
		      "against the communication rules, groups expanded (403 naming a refused one; nothing is sent); 429 "
		      "with Retry-After past the hourly limit",
	      .request_schema = S_CREATE, .response_schema = S_MESSAGE),
	ROUTE("GET", "/api/messages/search", msg_search, ROLE_ANY_USER,
	      .summary =
		      "Full-text search of ?q= in the subjects and bodies of the caller's own messages (not the trash "
		      "unless ?include_trash=true), newest first",
	      .response_schema = S_LIST(S_ITEM)),
	ROUTE("GET", "/api/messages/stream", msg_stream, ROLE_ANY_USER,
	      .summary = "Server-Sent Events (text/event-stream): `message` for each message delivered to the caller, "
			 "`recalled` when one is recalled"),
	ROUTE("GET", "/api/messages/recipients", msg_recipients, ROLE_ANY_USER,
	      .summary =
		      "Recipients the caller may write to matching ?q=: groups (classes, courses, teachers of a class, "
		      "staff) and people (from 2 characters), as the communication rules allow",
	      .response_schema =
		      "{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\","
		      "\"items\":{\"type\":\"object\",\"required\":[\"type\",\"name\"],\"properties\":{\"type\":" S_ADDR_TYPE
		      ",\"id\":" S_UUID ",\"name\":" S_STR ",\"role\":" S_STR "}}}}}"),
	ROUTE("GET", "/api/messages/settings", msg_settings_get, ROLE_ANY_USER,
	      .summary =
		      "The caller's settings: forwarding of new messages by e-mail, out-of-office answer, quiet hours "
		      "of their notifications (Paris time), and how many notifications wait for their end",
	      .response_schema = S_SETTINGS),
	ROUTE("PUT", "/api/messages/settings", msg_settings_put, ROLE_ANY_USER,
	      .summary =
		      "Change the caller's settings (the members given; null ends an absence or the quiet hours); 409 "
		      "for e-mail forwarding when the server sends no e-mail (ENT_SMTP)",
	      .request_schema = S_SETTINGS_REQ, .response_schema = S_SETTINGS),
	ROUTE("GET", "/api/messages/reports", msg_reports_list, ROLE_ADMIN,
	      .summary = "Reported messages, newest first, with the text as reported and the sender's suspension; "
			 "?status=open (default), closed or all",
	      .response_schema = S_LIST(S_REPORT)),
	ROUTE("PATCH", "/api/messages/reports/{id}", msg_report_patch, ROLE_ADMIN,
	      .summary = "Close (or reopen) a report",
	      .request_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"status\"],"
				"\"properties\":{\"status\":{\"type\":\"string\",\"enum\":[\"open\",\"closed\"]}}}",
	      .response_schema = S_REPORT),
	ROUTE("GET", "/api/messages/senders/{id}", msg_sender_get, ROLE_ADMIN,
	      .summary =
		      "What administrators set for one sender: suspension and reason, limits of their own (null: their "
		      "role's)",
	      .response_schema = S_SENDER),
	ROUTE("PUT", "/api/messages/senders/{id}", msg_sender_put, ROLE_ADMIN,
	      .summary =
		      "Suspend or restore a user's sending (their messages then answer 403 with the reason), or give "
		      "them limits of their own",
	      .request_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"suspended\"],"
				"\"properties\":{\"suspended\":" S_BOOL ",\"reason\":{\"type\":[\"string\",\"null\"],"
				"\"maxLength\":500},\"per_hour\":{\"type\":[\"integer\",\"null\"],\"minimum\":1},"
				"\"per_message\":{\"type\":[\"integer\",\"null\"],\"minimum\":1}}}",
	      .response_schema = S_SENDER),
	ROUTE("GET", "/api/messages/folders", msg_folders_list, ROLE_ANY_USER,
	      .summary =
		      "The caller's folders (inbox, sent, drafts, trash, then their own) with total and unread counts",
	      .response_schema =
		      "{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\","
		      "\"items\":" S_FOLDER "}}}"),
	ROUTE("POST", "/api/messages/folders", msg_folders_create, ROLE_ANY_USER, .status = 201,
	      .summary = "Create a folder of the caller's (409 for a name they use already)",
	      .request_schema = S_FOLDER_REQ, .response_schema = S_FOLDER),
	ROUTE("PATCH", "/api/messages/folders/{id}", msg_folders_patch, ROLE_ANY_USER,
	      .summary = "Rename one of the caller's folders", .request_schema = S_FOLDER_REQ,
	      .response_schema = S_FOLDER),
	ROUTE("DELETE", "/api/messages/folders/{id}", msg_folders_delete, ROLE_ANY_USER, .status = 204,
	      .summary = "Delete one of the caller's folders; its messages go back to the inbox (or sent)"),
	ROUTE("GET", "/api/messages/rules", msg_rules_get, ROLE_ADMIN,
	      .summary = "The communication rules (which role may write to which target) and the sending limits",
	      .response_schema = S_RULES_BODY("\"required\":[\"rules\",\"limits\"],")),
	ROUTE("PUT", "/api/messages/rules", msg_rules_put, ROLE_ADMIN,
	      .summary = "Change communication rules and sending limits (the lines given; the others stay)",
	      .request_schema = S_RULES_BODY("\"additionalProperties\":false,"),
	      .response_schema = S_RULES_BODY("\"required\":[\"rules\",\"limits\"],")),
	ROUTE("GET", "/api/messages/threads/{id}", msg_thread, ROLE_ANY_USER,
	      .summary = "The messages of a conversation the caller holds, oldest first (404 when they hold none)",
	      .response_schema =
		      "{\"type\":\"object\",\"required\":[\"thread_id\",\"items\"],\"properties\":{\"thread_id\":" S_UUID
		      ",\"items\":{\"type\":\"array\",\"items\":" S_MESSAGE "}}}"),
	ROUTE("GET", "/api/messages/{id}", msg_get, ROLE_ANY_USER,
	      .summary = "One message as the caller holds it (bcc addresses only for its sender; 404 when not theirs)",
	      .response_schema = S_MESSAGE),
	ROUTE("PATCH", "/api/messages/{id}", msg_patch, ROLE_ANY_USER,
	      .summary = "Change a draft (the address kinds given replace the draft's)", .request_schema = S_PATCH,
	      .response_schema = S_MESSAGE),
	ROUTE("DELETE", "/api/messages/{id}", msg_delete, ROLE_ANY_USER, .status = 204,
	      .summary = "Put a message in the trash; from the trash, delete it for good; a draft is discarded and a "
			 "scheduled message cancelled"),
	ROUTE("POST", "/api/messages/{id}/send", msg_send_draft, ROLE_ANY_USER,
	      .summary = "Send a draft now (or at send_at), with the same checks as a new message",
	      .request_schema =
		      "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"send_at\":" S_NTIME "}}",
	      .response_schema = S_MESSAGE),
	ROUTE("POST", "/api/messages/{id}/reply", msg_reply, ROLE_ANY_USER, .status = 201,
	      .summary =
		      "Reply to the sender, or with all: true to the sender and the message's to and cc addresses (never "
		      "its bcc), in the same conversation",
	      .request_schema =
		      "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"body\"],\"properties\":{"
		      "\"body\":{\"type\":\"string\",\"maxLength\":50000},\"all\":" S_BOOL ",\"draft\":" S_BOOL
		      ",\"send_at\":" S_NTIME ",\"attachments\":" S_FILE_IDS "}}",
	      .response_schema = S_MESSAGE),
	ROUTE("POST", "/api/messages/{id}/forward", msg_forward, ROLE_ANY_USER, .status = 201,
	      .summary = "Forward a message to new recipients, its text quoted after body",
	      .request_schema =
		      "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{\"body\":{\"type\":"
		      "\"string\"},\"to\":" S_ADDRS_REQ ",\"cc\":" S_ADDRS_REQ ",\"bcc\":" S_ADDRS_REQ
		      ",\"draft\":" S_BOOL ",\"send_at\":" S_NTIME ",\"attachments\":" S_FILE_IDS "}}",
	      .response_schema = S_MESSAGE),
	ROUTE("POST", "/api/messages/{id}/move", msg_move, ROLE_ANY_USER, .status = 204,
	      .summary = "Move the caller's copy to another folder (inbox or sent, trash, one of theirs)",
	      .request_schema =
		      "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"folder\"],\"properties\":{"
		      "\"folder\":" S_STR "}}"),
	ROUTE("PUT", "/api/messages/{id}/read", msg_read_put, ROLE_ANY_USER, .flags = ROUTE_NO_BODY, .status = 204,
	      .summary = "Mark the caller's copy read (the sender sees it in the receipts)"),
	ROUTE("DELETE", "/api/messages/{id}/read", msg_read_delete, ROLE_ANY_USER, .status = 204,
	      .summary = "Mark the caller's copy unread"),
	ROUTE("POST", "/api/messages/{id}/restore", msg_restore, ROLE_ANY_USER, .flags = ROUTE_NO_BODY,
	      .summary = "Take a message out of the trash, back to the folder it was in", .response_schema = S_MESSAGE),
	ROUTE("GET", "/api/messages/{id}/receipts", msg_receipts, ROLE_ANY_USER,
	      .summary = "The sender's view of who read and who confirmed (every recipient, bcc included: they are the "
			 "sender's); ?pending=true lists those who have not yet",
	      .response_schema = S_RECEIPTS),
	ROUTE("POST", "/api/messages/{id}/ack", msg_ack, ROLE_ANY_USER, .flags = ROUTE_NO_BODY,
	      .summary = "Confirm an announcement that asks for it (once: the first time is kept)",
	      .response_schema = "{\"type\":\"object\",\"required\":[\"message_id\",\"acked_at\"],\"properties\":{"
				 "\"message_id\":" S_UUID ",\"acked_at\":" S_TIME "}}"),
	ROUTE("POST", "/api/messages/{id}/remind", msg_remind, ROLE_ENSEIGNANT | ROLE_ADMIN, .flags = ROUTE_NO_BODY,
	      .summary = "Remind the recipients who have not confirmed an announcement (its sender)",
	      .response_schema = "{\"type\":\"object\",\"required\":[\"message_id\",\"reminded\"],\"properties\":{"
				 "\"message_id\":" S_UUID ",\"reminded\":" S_INT "}}"),
	ROUTE("POST", "/api/messages/{id}/report", msg_report, ROLE_ANY_USER, .status = 201,
	      .summary =
		      "Report a message received to the administrators (harassment, spam, inappropriate, other); once per "
		      "message; the sender is not told",
	      .request_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"reason\"],"
				"\"properties\":{\"reason\":" S_REASON ",\"comment\":{\"type\":[\"string\",\"null\"],"
				"\"maxLength\":1000}}}",
	      .response_schema = "{\"type\":\"object\",\"required\":[\"id\",\"message_id\",\"reason\",\"status\","
				 "\"created_at\"],\"properties\":{\"id\":" S_UUID ",\"message_id\":" S_UUID
				 ",\"reason\":" S_REASON ",\"status\":" S_STR ",\"created_at\":" S_TIME "}}"),
	ROUTE("POST", "/api/messages/{id}/recall", msg_recall, ROLE_ANY_USER, .flags = ROUTE_NO_BODY,
	      .summary =
		      "Recall a message within 60 minutes of sending: it leaves the mailboxes of those who have not read "
		      "it; the answer says for whom it worked",
	      .response_schema = "{\"type\":\"object\",\"required\":[\"message_id\",\"recalled\",\"already_read\"],"
				 "\"properties\":{\"message_id\":" S_UUID ",\"recalled\":" S_PEOPLE
				 ",\"already_read\":" S_PEOPLE "}}"),
};

static const char *const owned_tables[] = {
	"messages",        "message_addresses", "message_boxes",       "message_folders",  "message_rules",
	"message_limits",  "messages_fts",      "message_attachments", "message_settings", "message_ooo_replies",
	"message_notices", "message_mails",     "message_reports",     "message_senders",  NULL};

const struct service svc_messagerie = {
	.name = "messagerie",
	.title = "Internal messaging: messages, class announcements, communication rules (the seed's messagerie)",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.migrations = migrations,
	.nmigrations = sizeof(migrations) / sizeof(migrations[0]),
	.tables = owned_tables,
	.consumers = msg_consumers,
	.start = msg_start,
	.stop = msg_worker_stop,
	.demo = msg_demo,
	.generate = msg_generate,
	.export_user = msg_export_user,
	.erase_user = msg_erase_user,
	.file_readable = msg_file_readable,
};
