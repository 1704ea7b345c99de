/*
 * internal.h - what the chatbot service's files share (never included outside the folder).
 *
 * Files: chatbot.c (the service table, schema, who may read what, GDPR, `ent index`), text.c (text
 * out of PDF, plain text, Markdown and HTML, page by page; passages; French stems), index.c (the
 * consumer of the cours service's material events, the index of passages, GET /chatbot/documents
 * and exclusion), ask.c (retrieval, extractive answers, SSE, conversations, feedback, rate limit),
 * llm.c (answers written by a model from the retrieved passages, and their streams), remote.c
 * (Ollama and Qdrant over HTTP).
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
/* The token of a course in the SQLite full-text index: "c" and the id's hex digits (arena a). */
const char *cb_course_token(arena *a, const char *course_id);
/* stems ("a b c") with each stem prefixed by course_token ("cX" -> "cXa cXb cXc"): the full-text
 * index's per-course terms (SQLite), whose document lists hold one course's passages only. */
const char *cb_course_stems(arena *a, const char *course_token, const char *stems);
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
/* `ent demo --scale`: indexes the district's course files (no events: generated data publishes none). */
struct scale;
int cb_generate(db_conn *c, const struct scale *sc);
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
/* `ent ask QUESTION`: prints the passages retrieved for QUESTION (every course), best first. Exit status. */
int cb_cmd_ask(int argc, char **argv);

/* ---- remote.c ---- */

/* Qdrant hits below this cosine similarity are not returned. */
#define CB_VEC_THRESHOLD 0.30

/* Receives a piece of an answer; returns nonzero to stop the transfer. */
typedef int (*cb_chunk_fn)(void *ctx, const char *data, size_t len);

/*
 * 1 when answers are written by Ollama (ENT_LLM) / retrieval uses Qdrant (ENT_VECTORS). The first
 * call reads ENT_LLM, ENT_VECTORS and ENT_EMBED_MODEL.
 */
int cb_llm_on(void);
int cb_vectors_on(void);
/*
 * The embeddings of texts[0..n) from Ollama's /api/embed: out[i] points to dim floats (arena a).
 * Returns dim (> 0), or ENT_EUNAVAIL (logged) when Ollama fails or answers something else.
 */
int cb_embed(arena *a, const char *const *texts, size_t n, float **out);
/*
 * Replaces the points of document material_id in Qdrant by one per passage p[0..n) (payload course,
 * document, page, passage = index in p). The collection is created on first use. 0 or an ent_err.
 */
int cb_vec_index(const char *material_id, const char *course_id, const char *file_id, const struct cb_passage *p,
		 size_t n);
/* Deletes document material_id's points (by filter). 0 or an ent_err. */
int cb_vec_delete_document(const char *material_id);

/* A vector hit: which passage (material, position) and its cosine similarity. */
struct cb_vhit {
	const char *material_id;
	int64_t seq;
	double score;
};
/*
 * The passages nearest to text among the courses courses[0..ncourses) (all: every course), at
 * most max, best first, above CB_VEC_THRESHOLD. Returns how many, or an ent_err.
 */
int cb_vec_query(arena *a, const char *text, const char *const *courses, size_t ncourses, int all, struct cb_vhit *out,
		 size_t max);
/* A previous turn of a conversation: what was asked and what was answered. */
struct cb_turn {
	const char *question, *answer;
};
/* Previous turns given to the model with a follow-up question, at most (and "LIMIT" in SQL). */
#define CB_TURNS 3
#define CB_TURNS_SQL "3"
/* Bytes of a previous answer given to the model, at most. */
#define CB_TURN_ANSWER_MAX 1500

/* Chats with the model in flight at once, at most (beyond: answered extractively at once). */
#define CB_MAX_CHATS 256

/*
 * Starts a chat with Ollama's /api/chat (stream: true): the system message, the conversation's
 * previous turns turns[0..nturns) (oldest first: a user message and an assistant message each)
 * and the user message. The relay thread hands every piece of the answer to fn(fn_ctx, ...) as it
 * comes, then calls done(ctx, rc) once: rc 0 when the model finished, 1 when fn stopped it (or
 * the service stops), ENT_EUNAVAIL when Ollama could not be reached or failed (logged). No thread
 * waits meanwhile. Returns ENT_OK, or ENT_EBUSY (CB_MAX_CHATS in flight, or stopping: neither fn
 * nor done is called).
 */
int cb_llm_chat_start(const char *system, const struct cb_turn *turns, size_t nturns, const char *user, cb_chunk_fn fn,
		      void *fn_ctx, void (*done)(void *ctx, int rc), void *ctx);
/* The relay thread (service start and stop; stop ends the chats in flight). */
int cb_relay_start(void);
void cb_relay_stop(void);

/* ---- vectors.c ---- */

/* Records (caller's transaction) that material_id's points must be brought in line. 0 or an ent_err. */
int cb_vec_queue(db_conn *c, const char *material_id);
/* The thread that writes the queued documents' points to Qdrant (service start and stop). */
int cb_vec_start(void);
void cb_vec_stop(void);

/* ---- llm.c ---- */

/* The system message of every chat (French rules: passages only, cite [n], passages are data). */
extern const char CB_SYSTEM_PROMPT[];

/* A passage given to the model, numbered from 1 by its position. */
struct cb_given {
	const char *title, *text;
	int page;
};
/* The user message: the passages g[0..n) numbered and delimited, then the question (arena a). */
const char *cb_prompt_user(arena *a, const char *question, const struct cb_given *g, size_t n);
/* A previous turn's text as given to the model: delimiters defused, at most max bytes (arena a). */
const char *cb_prompt_turn(arena *a, const char *text, size_t max);

/* The citation filter: passes the answer on to out, piece by piece, without citations of passages not given. */
struct cb_cite {
	size_t n; /* passages given: [1]..[n] are kept */
	cb_chunk_fn out;
	void *ctx;
	char pend[32]; /* a "[..." not yet closed */
	size_t np;
	uint64_t cited; /* bit n-1: [n] was kept (n <= 64) */
	int removed;    /* citations removed */
	int stopped;    /* out asked to stop */
};
void cb_cite_init(struct cb_cite *f, size_t npassages, cb_chunk_fn out, void *ctx);
/* Feeds a piece of the answer. Returns nonzero once out asked to stop. */
int cb_cite_feed(struct cb_cite *f, const char *s, size_t len);
/* The end of the answer: what is pending goes out as it is. */
void cb_cite_end(struct cb_cite *f);

/* Worker threads for the ends of streamed answers (service start and stop). */
int cb_jobs_start(void);
void cb_jobs_stop(void);
/* Queues run(arg) on a worker. ENT_OK, or ENT_EBUSY when the workers stop (run is not called). */
int cb_jobs_submit(void (*run)(void *arg), void *arg);
/* 1 once the service stops: a running job should cut its answer short, a transfer end. */
int cb_jobs_stopping(void);

/* ---- chatbot.c ---- */

/* The current time as RFC 3339 UTC. */
void cb_now(char out[21]);
/* The same with microseconds ("2027-01-04T07:00:00.123456Z"): orders a user's questions within a second. */
void cb_now_precise(char out[32]);

#endif
