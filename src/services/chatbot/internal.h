/*
 * internal.h - what the chatbot service's files share (never included outside the folder).
 *
 * Files: chatbot.c (the service table, schema, who may read what, GDPR, `ent index`), text.c (text
 * out of PDF, plain text, Markdown and HTML, page by page; passages; French stems), index.c (the
 * consumer of the cours service's material events, the index of passages, GET /chatbot/documents
 * and exclusion), ask.c (retrieval, extractive answers, SSE, conversations, feedback, rate limit).
 */
#ifndef ENT_CHATBOT_INTERNAL_H
#define ENT_CHATBOT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/http.h"
#include "store/db.h"

/* ---- text.c ---- */

/* A passage: words [from, to) of one page, never across pages (so that a citation's page is exact). */
struct cb_passage {
	int page;         /* 1-based */
	const char *text; /* arena */
};

/* How a document's extraction ended. */
enum cb_status { CB_INDEXED = 0, CB_UNREADABLE = 1, CB_EMPTY = 2 };

struct cb_doc {
	enum cb_status status;
	const char *reason; /* French, for the teacher (static), NULL when indexed */
	int pages;
	struct cb_passage *passages;
	size_t npassages;
};

/* Words per passage and the overlap between neighbours. */
#define CB_PASSAGE_WORDS 180
#define CB_PASSAGE_OVERLAP 40

/*
 * Extracts the text of data (len bytes of MIME type type: application/pdf, text/html,
 * text/markdown, text/plain, or a name ending in .md/.html) page by page and cuts it into
 * passages (arena a). Never fails on bad input: a document that cannot be read gets
 * CB_UNREADABLE or CB_EMPTY with a reason. Returns 0, or ENT_ENOMEM.
 */
int cb_extract(arena *a, const char *type, const char *data, size_t len, struct cb_doc *out);

/*
 * The French stems of the content words of text ("photosynthèse" -> "photosynthes"), lowercase,
 * separated by single spaces, stop words left out, into a (NUL-terminated). Thread-safe.
 */
const char *cb_stems(arena *a, const char *text);
/* The distinct stems of text, at most max, into v (arena strings). Returns how many. */
size_t cb_stem_set(arena *a, const char *text, const char **v, size_t max);
/* The content words of text lowercased (not stemmed), separated by sep, for PostgreSQL's to_tsquery. */
const char *cb_words(arena *a, const char *text, const char *sep);
/* How many of the n stems q[] occur in the stem string stems. */
size_t cb_coverage(const char *stems, const char *const *q, size_t n);
/* Frees the stemmer (service stop). */
void cb_text_stop(void);

/* ---- index.c ---- */

extern const struct bus_consumer cb_consumer;
/*
 * Brings the index of material_id in line with the cours service's state of it now (absent or
 * without a file: removed; another file: extracted again; same file: title and publication time
 * updated), inside the caller's transaction. 0 or an ent_err.
 */
int cb_index_material(db_conn *c, const char *material_id);
/* Removes a document and its passages from the index (caller's transaction). */
int cb_index_remove(db_conn *c, const char *material_id);
void cb_documents_list(http_req *req);
void cb_document_patch(http_req *req);
/* `ent index`: rebuilds the whole index, with a progress line on out. Exit status. */
int cb_cmd_index(int argc, char **argv);

/* ---- ask.c ---- */

void cb_ask(http_req *req);
void cb_ask_stream(http_req *req);
void cb_conversations_list(http_req *req);
void cb_conversation_get(http_req *req);
void cb_history_delete(http_req *req);
void cb_feedback(http_req *req);
void cb_unanswered(http_req *req);

/* ---- chatbot.c ---- */

/* The current time as RFC 3339 UTC. */
void cb_now(char out[21]);
/* The same with microseconds ("2027-01-04T07:00:00.123456Z"): orders a user's questions within a second. */
void cb_now_precise(char out[32]);

#endif
