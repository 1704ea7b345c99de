/*
 * chatbot.c - the chatbot service (the seed's "IA conversationnelle, RAG", /chatbot): an assistant
 * that answers students' questions from the documents of their courses, with citations.
 *
 * The documents come from the cours service's events (index.c): each material's file is read page
 * by page, cut into passages and indexed (SQLite FTS5 with BM25 and French stems, or PostgreSQL's
 * 'french' full-text search). A question (ask.c) retrieves only passages the asker may read, checks
 * each again through cours.h, and is answered by quoting the best sentences, each with its document,
 * page and link; below a relevance floor the answer is "Je ne sais pas" with the FAQ and a ticket
 * proposed. Text in documents is data: it is quoted, never obeyed.
 *
 * Tables: chatbot_documents, chatbot_passages, chatbot_fts (SQLite only), interactions_chatbot
 * (the seed's table: questions, answers, sources, feedback), chatbot_asks (the rate limit).
 */
#include "internal.h"

#include <stdio.h>
#include <time.h>

#include "core/app.h"
#include "core/err.h"
#include "core/service.h"
#include "core/util.h"
#include "core/export.h"
#include "core/sql.h"

void cb_now(char out[21]) { util_time_rfc3339(time(NULL), out); }

void cb_now_precise(char out[32])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char base[21];
	util_time_rfc3339(ts.tv_sec, base);
	snprintf(out, 32, "%.19s.%06dZ", base, (int)(ts.tv_nsec / 1000) % 1000000);
}

#define SCHEMA_DOCS                                                                                                    \
	"CREATE TABLE chatbot_documents ("                                                                             \
	" material_id TEXT PRIMARY KEY,"                                                                               \
	" course_id TEXT NOT NULL,"                                                                                    \
	" file_id TEXT NOT NULL,"                                                                                      \
	" title TEXT NOT NULL,"                                                                                        \
	" publish_at TEXT,"                                                                                            \
	" status TEXT NOT NULL CHECK (status IN ('indexed', 'unreadable', 'empty')),"                                  \
	" reason TEXT,"                                                                                                \
	" pages INTEGER NOT NULL DEFAULT 0,"                                                                           \
	" passages INTEGER NOT NULL DEFAULT 0,"                                                                        \
	" excluded INTEGER NOT NULL DEFAULT 0,"                                                                        \
	" indexed_at TEXT NOT NULL);"                                                                                  \
	"CREATE INDEX chatbot_documents_by_course ON chatbot_documents (course_id, title, material_id);"
#define SCHEMA_REST                                                                                                    \
	"CREATE INDEX chatbot_passages_by_material ON chatbot_passages (material_id);"                                 \
	"CREATE TABLE interactions_chatbot ("                                                                          \
	" id TEXT PRIMARY KEY,"                                                                                        \
	" user_id TEXT NOT NULL,"                                                                                      \
	" conversation_id TEXT NOT NULL,"                                                                              \
	" class_id TEXT,"                                                                                              \
	" course_id TEXT,"                                                                                             \
	" question TEXT NOT NULL,"                                                                                     \
	" answer TEXT NOT NULL,"                                                                                       \
	" sources TEXT NOT NULL,"                                                                                      \
	" answered INTEGER NOT NULL,"                                                                                  \
	" mode TEXT NOT NULL,"                                                                                         \
	" first_token_ms BIGINT,"                                                                                      \
	" feedback INTEGER,"                                                                                           \
	" comment TEXT,"                                                                                               \
	" created_at TEXT NOT NULL);"                                                                                  \
	"CREATE INDEX interactions_chatbot_by_user ON interactions_chatbot (user_id, created_at, id);"                 \
	"CREATE INDEX interactions_chatbot_by_conversation ON interactions_chatbot (conversation_id, created_at);"     \
	"CREATE INDEX interactions_chatbot_unanswered ON interactions_chatbot (answered, class_id, created_at);"       \
	"CREATE TABLE chatbot_asks (user_id TEXT NOT NULL, at_us BIGINT NOT NULL);"                                    \
	"CREATE INDEX chatbot_asks_by_user ON chatbot_asks (user_id, at_us);"

/*
 * SQLite: the passages' stems in an FTS5 table (rowid = passage id), accents folded by the
 * tokenizer. PostgreSQL: a generated tsvector of the passage's text in the 'french' configuration
 * (its own stemmer and stop words), with a GIN index.
 */
static const char schema_v1[] = SCHEMA_DOCS
	"CREATE TABLE chatbot_passages ("
	" id INTEGER PRIMARY KEY,"
	" material_id TEXT NOT NULL,"
	" course_id TEXT NOT NULL,"
	" page INTEGER NOT NULL,"
	" seq INTEGER NOT NULL,"
	" text TEXT NOT NULL,"
	" stems TEXT NOT NULL);"
	"CREATE VIRTUAL TABLE chatbot_fts USING fts5(stems, tokenize = 'unicode61 remove_diacritics 2');" SCHEMA_REST;

static const char schema_v1_pg[] = SCHEMA_DOCS
	"CREATE TABLE chatbot_passages ("
	" id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" material_id TEXT NOT NULL,"
	" course_id TEXT NOT NULL,"
	" page INTEGER NOT NULL,"
	" seq INTEGER NOT NULL,"
	" text TEXT NOT NULL,"
	" stems TEXT NOT NULL,"
	" tsv tsvector GENERATED ALWAYS AS (to_tsvector('french', text)) STORED);"
	"CREATE INDEX chatbot_passages_tsv ON chatbot_passages USING GIN (tsv);" SCHEMA_REST;

/* The documents whose Qdrant points must be brought in line (vectors.c). */
static const char schema_v2[] = "CREATE TABLE chatbot_vector_queue ("
				" material_id TEXT PRIMARY KEY,"
				" queued_us BIGINT NOT NULL,"
				" attempts INTEGER NOT NULL DEFAULT 0,"
				" next_us BIGINT NOT NULL DEFAULT 0);";

/*
 * SQLite: the full-text index also holds each passage's course as a token ("c" and the id's hex
 * digits), so that a question is matched among the asker's courses' passages only, inside the
 * index (ask.c), rather than ranking the whole district's and filtering after.
 */
static const char schema_v3[] =
	"DROP TABLE chatbot_fts;"
	"CREATE VIRTUAL TABLE chatbot_fts USING fts5(stems, course, tokenize = 'unicode61 remove_diacritics 2');"
	"INSERT INTO chatbot_fts (rowid, stems, course) SELECT id, stems, 'c' || replace(course_id, '-', '')"
	" FROM chatbot_passages;";

/* PostgreSQL: the passages by course, so that a question is matched among the asker's courses'
 * passages (a few thousand rows) rather than ranking the district's matches. */
static const char schema_v3_pg[] = "CREATE INDEX chatbot_passages_by_course ON chatbot_passages (course_id);";

/*
 * SQLite: each passage's stems again, each prefixed by its course's token ("c" and the id's hex
 * digits, then the stem): a term's document list then holds one course's passages, so that a
 * question matched among the asker's courses reads a few dozen entries per stem rather than the
 * district's (ask.c ranks those matches itself, with the district's document frequencies).
 * The index is then merged into one segment (each term looked up once, not once per segment).
 * PostgreSQL: nothing (its passages are already read by course).
 */
static const char schema_v4[] =
	"DROP TABLE chatbot_fts;"
	"CREATE VIRTUAL TABLE chatbot_fts USING fts5(stems, course, cstems,"
	" tokenize = 'unicode61 remove_diacritics 2');"
	"INSERT INTO chatbot_fts (rowid, stems, course, cstems) SELECT id, stems, 'c' || lower(replace(course_id, '-', '')),"
	" CASE WHEN trim(stems) = '' THEN '' ELSE 'c' || lower(replace(course_id, '-', '')) ||"
	" replace(trim(stems), ' ', ' c' || lower(replace(course_id, '-', ''))) END FROM chatbot_passages;"
	"INSERT INTO chatbot_fts (chatbot_fts) VALUES ('optimize');";

static const struct migration migrations[] = {
	{1, "documents, passages and their full-text index, interactions, rate limit", schema_v1, schema_v1_pg},
	{2, "documents waiting for their vectors", schema_v2, NULL},
	{3, "the full-text index knows each passage's course", schema_v3, schema_v3_pg},
	{4, "the full-text index holds each passage's stems by course", schema_v4, "SELECT 1;"},
};

/* ---- GDPR ---- */

static int cb_export_user(db_conn *c, const char *user_id, json_t *out)
{
	json_t *items = json_array();
	int rc = EXPORT_ROWS(c, items, "id conversation_id question answer sources:j feedback comment created_at",
			     "SELECT id, conversation_id, question, answer, sources,"
			     " CASE WHEN feedback > 0 THEN 'up' WHEN feedback < 0 THEN 'down' END, comment, created_at"
			     " FROM interactions_chatbot WHERE user_id = ? ORDER BY created_at, id",
			     SQL_T(user_id));
	return export_put(out, "chatbot", rc, "interactions", items, NULL);
}

static int cb_erase_user(db_conn *c, const char *user_id)
{
	int rc = db_run(c, "DELETE FROM interactions_chatbot WHERE user_id = ?", user_id, NULL);
	return rc ? rc : db_run(c, "DELETE FROM chatbot_asks WHERE user_id = ?", user_id, NULL);
}

/* ---- service ---- */

static const struct bus_consumer *const consumers[] = {&cb_consumer, NULL};

static int cb_start(void)
{
	int rc = cb_llm_on() ? cb_jobs_start() : ENT_OK;
	if (!rc && cb_llm_on())
		rc = cb_relay_start();
	if (!rc && cb_vectors_on())
		rc = cb_vec_start();
	return rc;
}

static void cb_stop(void)
{
	cb_relay_stop(); /* the chats in flight end; their last jobs go to the workers */
	cb_jobs_stop();
	cb_vec_stop();
	cb_text_stop();
}

#define S_STR "{\"type\":\"string\"}"
#define S_NSTR "{\"type\":[\"string\",\"null\"]}"
#define S_UUID "{\"type\":\"string\",\"format\":\"uuid\"}"
#define S_SOURCE                                                                                                       \
	"{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},\"title\":" S_STR ",\"page\":"              \
	"{\"type\":\"integer\"},\"course_id\":" S_UUID ",\"material_id\":" S_UUID ",\"link\":" S_STR                   \
	",\"excerpt\":" S_STR "}}"
#define S_ASK_REQ                                                                                                      \
	"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"question\"],\"properties\":"              \
	"{\"question\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":2000},\"conversation_id\":" S_UUID           \
	",\"course_id\":" S_UUID "}}"
#define S_ANSWER                                                                                                       \
	"{\"type\":\"object\",\"required\":[\"interaction_id\",\"conversation_id\",\"answer\",\"answered\","           \
	"\"sources\"],\"properties\":{\"interaction_id\":" S_UUID ",\"conversation_id\":" S_UUID                       \
	",\"question\":" S_STR ",\"answer\":" S_STR                                                                    \
	",\"answered\":{\"type\":\"boolean\"},\"sources\":{\"type\":\"array\","                                        \
	"\"items\":" S_SOURCE "},\"suggestions\":{\"type\":\"array\"},\"mode\":" S_STR "}}"
#define S_INTERACTION                                                                                                  \
	"{\"type\":\"object\",\"properties\":{\"id\":" S_UUID ",\"conversation_id\":" S_UUID ",\"question\":" S_STR    \
	",\"answer\":" S_STR ",\"sources\":{\"type\":\"array\",\"items\":" S_SOURCE "},\"answered\":"                  \
	"{\"type\":\"boolean\"},\"mode\":" S_STR ",\"time_to_first_token_ms\":{\"type\":[\"integer\",\"null\"]},"      \
	"\"feedback\":{\"type\":[\"string\",\"null\"],\"enum\":[\"up\",\"down\",null]},\"comment\":" S_NSTR            \
	",\"created_at\":" S_STR "}}"
#define S_DOCUMENT                                                                                                     \
	"{\"type\":\"object\",\"properties\":{\"material_id\":" S_UUID ",\"course_id\":" S_UUID ",\"title\":" S_STR    \
	",\"publish_at\":" S_NSTR ",\"status\":{\"type\":\"string\",\"enum\":[\"indexed\",\"unreadable\","             \
	"\"empty\"]},\"reason\":" S_NSTR ",\"pages\":{\"type\":\"integer\"},\"passages\":{\"type\":\"integer\"},"      \
	"\"excluded\":{\"type\":\"boolean\"},\"indexed_at\":" S_STR "}}"
#define S_LIST(item)                                                                                                   \
	"{\"type\":\"object\",\"required\":[\"items\",\"next_cursor\"],\"properties\":{\"items\":{\"type\":"           \
	"\"array\",\"items\":" item "},\"next_cursor\":" S_NSTR "}}"

static const struct route routes[] = {
	ROUTE("POST", "/chatbot/ask", cb_ask, ROLE_ANY_USER,
	      .summary =
		      "Ask the assistant: an answer quoted from the documents of the caller's courses, each quote with "
		      "its document, page and link; \"Je ne sais pas\" with the FAQ and a ticket below the relevance "
		      "floor; 429 with Retry-After past the per-user limit",
	      .request_schema = S_ASK_REQ, .response_schema = S_ANSWER),
	ROUTE("POST", "/chatbot/ask/stream", cb_ask_stream, ROLE_ANY_USER,
	      .summary = "The same answer as Server-Sent Events: sources, then token events, then done",
	      .request_schema = S_ASK_REQ),
	ROUTE("GET", "/chatbot/ask/stream", cb_ask_stream, ROLE_ANY_USER,
	      .summary = "The streamed answer for ?question= (and ?conversation_id=, ?course_id=), for EventSource"),
	ROUTE("GET", "/chatbot/history", cb_conversations_list, ROLE_ANY_USER,
	      .summary = "The caller's questions and answers, newest first (?conversation_id= for one conversation)",
	      .response_schema = S_LIST(S_INTERACTION)),
	ROUTE("DELETE", "/chatbot/history", cb_history_delete, ROLE_ANY_USER, .status = 204,
	      .summary = "Delete the caller's history (?conversation_id= for one conversation)"),
	ROUTE("GET", "/chatbot/interactions/{id}", cb_conversation_get, ROLE_ANY_USER,
	      .summary = "One of the caller's questions with its answer", .response_schema = S_INTERACTION),
	ROUTE("PUT", "/chatbot/interactions/{id}/feedback", cb_feedback, ROLE_ANY_USER, .status = 204,
	      .summary = "Thumbs up or down on one of the caller's answers, with a comment",
	      .request_schema =
		      "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"rating\"],\"properties\":"
		      "{\"rating\":{\"type\":\"string\",\"enum\":[\"up\",\"down\"]},\"comment\":" S_NSTR "}}"),
	ROUTE("GET", "/chatbot/documents", cb_documents_list, ROLE_ENSEIGNANT | ROLE_ADMIN,
	      .summary =
		      "The documents of ?course_id= as the assistant sees them: indexed, unreadable or empty (with the "
		      "reason), excluded; for the course's teachers",
	      .response_schema = S_LIST(S_DOCUMENT)),
	ROUTE("PATCH", "/chatbot/documents/{material_id}", cb_document_patch, ROLE_ENSEIGNANT | ROLE_ADMIN,
	      .summary = "Exclude a document from the assistant's answers, or include it again ({\"excluded\": bool})",
	      .request_schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"excluded\"],"
				"\"properties\":{\"excluded\":{\"type\":\"boolean\"}}}",
	      .response_schema = S_DOCUMENT),
	ROUTE("GET", "/chatbot/unanswered", cb_unanswered, ROLE_ENSEIGNANT | ROLE_ADMIN,
	      .summary =
		      "The questions about ?course_id= (or from its classes) the assistant could not answer, without "
		      "who asked; for the course's teachers"),
};

static const char *const owned_tables[] = {
	"chatbot_documents", "chatbot_passages",     "chatbot_fts", "interactions_chatbot",
	"chatbot_asks",      "chatbot_vector_queue", NULL};

static const struct command commands[] = {
	{"index", "rebuild the chatbot's index of every course document: ent index", cb_cmd_index},
	{"ask", "print the passages the assistant retrieves for a question: ent ask QUESTION", cb_cmd_ask},
};

const struct service svc_chatbot = {
	.name = "chatbot",
	.title = "Assistant answering from course documents, with citations (the seed's chatbot)",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.migrations = migrations,
	.nmigrations = sizeof(migrations) / sizeof(migrations[0]),
	.tables = owned_tables,
	.consumers = consumers,
	.start = cb_start,
	.stop = cb_stop,
	.generate = cb_generate,
	.export_user = cb_export_user,
	.erase_user = cb_erase_user,
	.commands = commands,
	.ncommands = sizeof(commands) / sizeof(commands[0]),
};
