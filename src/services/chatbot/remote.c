/*
 * remote.c - the chatbot's production engines, spoken to over HTTP with libcurl: Ollama
 * (POST /api/embed for embeddings, POST /api/chat streamed as NDJSON for written answers) and
 * Qdrant (the collection `documents`: one point per passage).
 *
 * Settings (read once at service start): ENT_LLM=ollama://host:port?model=NAME (written answers;
 * its Ollama also computes embeddings), ENT_VECTORS=qdrant://host:port[?api_key=KEY],
 * ENT_VECTORS_API_KEY (Qdrant's key, sent as its api-key header to Qdrant only; before api_key=),
 * ENT_EMBED_MODEL=NAME or ollama://host:port?model=NAME (the embedding model; default ENT_LLM's model).
 *
 * Qdrant's collection is created on first use with the size of the embeddings Ollama returns
 * (cosine distance) and keyword payload indexes on `course` (every query filters on it) and
 * `document` (re-indexing deletes by it). A point's id is a UUID made from a hash of its document,
 * file and position (so writing a document twice writes the same points); its payload is
 * {course, document, page, passage}: course and material ids, page, and the passage's position in
 * the document (chatbot_passages.seq), by which a hit is found again in the passages table, where
 * the access filter is applied once more.
 *
 * Never: a credential in a log line; a request without a timeout (connect 3 s; embeddings and
 * Qdrant 60 s; a chat may take minutes but must keep sending, or it is cut after 60 s of silence).
 */
#include "internal.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/err.h"
#include "core/log.h"
#include "core/jwt.h"
#include "core/util.h"

#define COLLECTION "documents"
#define EMBED_BATCH 16
#define MAX_REPLY (32u << 20)

static struct {
	char llm_base[300], llm_model[200];
	char embed_base[300], embed_model[200];
	char qdrant_base[300];
	char qdrant_key[600]; /* "api-key: KEY", or empty */
} rm;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* The value of query parameter name= of url, percent-decoded, into out ("" when absent). */
static void query_param(const char *url, const char *name, char *out, size_t len)
{
	out[0] = '\0';
	size_t nl = strlen(name);
	const char *q = strchr(url, '?');
	for (const char *p = q; p && *p; p = strchr(p + 1, '&')) {
		if (strncmp(p + 1, name, nl) != 0 || p[1 + nl] != '=')
			continue;
		size_t o = 0;
		for (const char *v = p + 2 + nl; *v && *v != '&' && *v != '#' && o + 1 < len; v++) {
			if (*v == '%' && util_hexval(v[1]) >= 0 && util_hexval(v[2]) >= 0) {
				out[o++] = (char)(util_hexval(v[1]) * 16 + util_hexval(v[2]));
				v += 2;
			} else
				out[o++] = *v == '+' ? ' ' : *v;
		}
		out[o] = '\0';
		return;
	}
}

/* "ollama://host:port?model=NAME" -> base "http://host:port", model NAME (percent-decoded). */
static void parse_url(const char *url, char *base, size_t blen, char *model, size_t mlen)
{
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	size_t hl = strcspn(host, "/?#");
	snprintf(base, blen, "http://%.*s", (int)hl, host);
	if (model)
		query_param(url, "model", model, mlen);
}

static pthread_once_t rm_once = PTHREAD_ONCE_INIT;

static void rm_load(void)
{
	const struct config *cfg = app.cfg;
	if (!cfg)
		return;
	pthread_once(&curl_once, curl_init);
	if (cfg->llm && *cfg->llm && strncmp(cfg->llm, "ollama://", 9) == 0)
		parse_url(cfg->llm, rm.llm_base, sizeof(rm.llm_base), rm.llm_model, sizeof(rm.llm_model));
	if (cfg->vectors && strncmp(cfg->vectors, "qdrant://", 9) == 0) {
		parse_url(cfg->vectors, rm.qdrant_base, sizeof(rm.qdrant_base), NULL, 0);
		/* Qdrant's API key: ENT_VECTORS_API_KEY(_FILE), else api_key= in ENT_VECTORS. */
		char key[512];
		snprintf(key, sizeof(key), "%s", cfg->vectors_api_key ? cfg->vectors_api_key : "");
		if (!key[0])
			query_param(cfg->vectors, "api_key", key, sizeof(key));
		if (key[0] && !strpbrk(key, "\r\n"))
			snprintf(rm.qdrant_key, sizeof(rm.qdrant_key), "api-key: %s", key);
		const char *em = cfg->embed_model ? cfg->embed_model : "";
		if (strncmp(em, "ollama://", 9) == 0)
			parse_url(em, rm.embed_base, sizeof(rm.embed_base), rm.embed_model, sizeof(rm.embed_model));
		else {
			snprintf(rm.embed_base, sizeof(rm.embed_base), "%s", rm.llm_base);
			snprintf(rm.embed_model, sizeof(rm.embed_model), "%s", *em ? em : rm.llm_model);
		}
		if (!rm.embed_base[0] || !rm.embed_model[0])
			rm.qdrant_base[0] = '\0'; /* config_load refuses this; be safe anyway */
	}
}

int cb_llm_on(void)
{
	pthread_once(&rm_once, rm_load);
	return rm.llm_base[0] && rm.llm_model[0];
}

int cb_vectors_on(void)
{
	pthread_once(&rm_once, rm_load);
	return rm.qdrant_base[0] != '\0';
}

/* ---- one HTTP exchange ---- */

struct xfer {
	buf *out;
	cb_chunk_fn fn;
	void *ctx;
	int aborted;
};

static int relay_stopping(void);

/* An exchange ends when the service stops, even while the server says nothing. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return cb_jobs_stopping() || http_stopping() || relay_stopping();
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	if (x->fn) {
		if (x->fn(x->ctx, p, len)) {
			x->aborted = 1;
			return 0;
		}
		return len;
	}
	return buf_add(x->out, p, len) == ENT_OK ? len : 0;
}

/*
 * method url with a JSON body (NULL: none). The answer goes to out (buf, up to MAX_REPLY), or chunk
 * by chunk to fn (which returns nonzero to stop). Returns the HTTP status (2xx expected), or
 * ENT_EUNAVAIL when the server cannot be reached, ENT_EIO when fn stopped it.
 */
static int call(const char *method, const char *url, const char *body, long timeout, const char *key, buf *out,
		cb_chunk_fn fn, void *ctx)
{
	pthread_once(&curl_once, curl_init);
	CURL *c = curl_easy_init();
	if (!c)
		abort();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json, application/x-ndjson");
	if (key && *key)
		h = curl_slist_append(h, key);
	struct xfer x = {out, fn, ctx, 0};
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 3L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (x.aborted || rc == CURLE_ABORTED_BY_CALLBACK)
		return ENT_EIO;
	if (rc != CURLE_OK) {
		log_warn("chatbot: %s %s failed: %s", method, url, curl_easy_strerror(rc));
		return ENT_EUNAVAIL;
	}
	return (int)status;
}

/* A JSON exchange: the parsed answer of a 2xx into *res (caller json_decref), or an ent_err. */
static int call_json(const char *method, const char *url, const char *body, long timeout, json_t **res, int *status)
{
	buf out;
	buf_init(&out, MAX_REPLY);
	/* Qdrant's key goes to Qdrant only. */
	size_t ql = strlen(rm.qdrant_base);
	const char *key = ql && strncmp(url, rm.qdrant_base, ql) == 0 && url[ql] == '/' ? rm.qdrant_key : NULL;
	int st = call(method, url, body, timeout, key, &out, NULL, NULL);
	if (status)
		*status = st;
	if (st < 0) {
		buf_free(&out);
		return st;
	}
	json_t *j = out.len ? json_loadb(out.data, out.len, 0, NULL) : NULL;
	if (st < 200 || st > 299 || !j) {
		if (!status || st != 404)
			log_warn("chatbot: %s %s answered %d: %.300s", method, url, st, out.data ? out.data : "");
		json_decref(j);
		buf_free(&out);
		return st == 404 ? ENT_ENOTFOUND : ENT_EUNAVAIL;
	}
	buf_free(&out);
	*res = j;
	return ENT_OK;
}

/* ---- embeddings ---- */

int cb_embed(arena *a, const char *const *texts, size_t n, float **out)
{
	int dim = 0;
	char url[400];
	snprintf(url, sizeof(url), "%s/api/embed", rm.embed_base);
	for (size_t at = 0; at < n; at += EMBED_BATCH) {
		size_t k = n - at < EMBED_BATCH ? n - at : EMBED_BATCH;
		json_t *input = json_array();
		for (size_t i = 0; i < k; i++)
			json_array_append_new(input, json_string(texts[at + i]));
		json_t *req = json_pack("{s:s, s:o}", "model", rm.embed_model, "input", input);
		char *body = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		json_t *res = NULL;
		int rc = call_json("POST", url, body, 60, &res, NULL);
		free(body);
		if (rc)
			return rc == ENT_ENOTFOUND ? ENT_EUNAVAIL : rc;
		json_t *emb = json_object_get(res, "embeddings");
		if (!json_is_array(emb) || json_array_size(emb) != k) {
			log_warn("chatbot: Ollama /api/embed answered %zu embeddings for %zu texts",
				 json_array_size(emb), k);
			json_decref(res);
			return ENT_EUNAVAIL;
		}
		for (size_t i = 0; i < k; i++) {
			json_t *v = json_array_get(emb, i);
			int d = (int)json_array_size(v);
			if (d <= 0 || (dim && d != dim) || d > 65536) {
				log_warn("chatbot: Ollama /api/embed answered vectors of sizes %d and %d", dim, d);
				json_decref(res);
				return ENT_EUNAVAIL;
			}
			dim = d;
			float *f = arena_alloc(a, (size_t)d * sizeof(*f));
			for (int j = 0; j < d; j++) {
				json_t *x = json_array_get(v, (size_t)j);
				f[j] = json_is_number(x) ? (float)json_number_value(x) : 0.0f;
			}
			out[at + i] = f;
		}
		json_decref(res);
	}
	return dim;
}

/* ---- Qdrant ---- */

static pthread_mutex_t coll_mu = PTHREAD_MUTEX_INITIALIZER;
static int coll_dim; /* the collection's vector size, once known */

static void vector_json(buf *b, const float *v, int dim)
{
	buf_addc(b, '[');
	for (int i = 0; i < dim; i++)
		buf_printf(b, "%s%.7g", i ? "," : "", isfinite(v[i]) ? (double)v[i] : 0.0);
	buf_addc(b, ']');
}

/* The collection exists with vectors of size dim (created with its payload indexes if absent). */
static int ensure_collection(int dim)
{
	pthread_mutex_lock(&coll_mu);
	int rc = ENT_OK;
	if (coll_dim == dim)
		goto out;
	char url[400];
	snprintf(url, sizeof(url), "%s/collections/" COLLECTION, rm.qdrant_base);
	json_t *res = NULL;
	int st = 0;
	rc = call_json("GET", url, NULL, 60, &res, &st);
	int created = 0;
	if (rc == ENT_ENOTFOUND) {
		char body[128];
		snprintf(body, sizeof(body), "{\"vectors\":{\"size\":%d,\"distance\":\"Cosine\"}}", dim);
		rc = call_json("PUT", url, body, 60, &res, &st);
		if (rc == ENT_OK) {
			json_decref(res);
			created = 1;
			log_info("chatbot: Qdrant collection " COLLECTION " created (vectors of size %d)", dim);
		} else if (st == 409) {
			/* Created a moment ago by another process running the chatbot (several start
			 * together): checked as one found. */
			rc = call_json("GET", url, NULL, 60, &res, &st);
		}
	}
	if (rc == ENT_OK && !created) {
		json_t *size = json_object_get(
			json_object_get(
				json_object_get(json_object_get(json_object_get(res, "result"), "config"), "params"),
				"vectors"),
			"size");
		int have = (int)json_integer_value(size);
		json_decref(res);
		if (have != dim) {
			log_error("chatbot: Qdrant's collection " COLLECTION " holds vectors of size %d, the "
				  "embedding model gives %d: delete the collection and run `ent index`",
				  have, dim);
			rc = ENT_EUNAVAIL;
			goto out;
		}
	} else if (rc)
		goto out;
	/* Creating an index that exists is accepted by Qdrant: done on every start, it heals a half-made collection. */
	static const char *const fields[] = {"course", "document"};
	snprintf(url, sizeof(url), "%s/collections/" COLLECTION "/index?wait=true", rm.qdrant_base);
	for (size_t i = 0; i < 2 && !rc; i++) {
		char body[128];
		snprintf(body, sizeof(body), "{\"field_name\":\"%s\",\"field_schema\":\"keyword\"}", fields[i]);
		rc = call_json("PUT", url, body, 60, &res, NULL);
		if (!rc)
			json_decref(res);
	}
	if (!rc)
		coll_dim = dim;
out:
	pthread_mutex_unlock(&coll_mu);
	return rc;
}

/* The collection went (deleted by an operator): it is looked for, and created, again next time. */
static void collection_gone(void)
{
	pthread_mutex_lock(&coll_mu);
	coll_dim = 0;
	pthread_mutex_unlock(&coll_mu);
}

int cb_vec_delete_document(const char *material_id)
{
	char url[400];
	snprintf(url, sizeof(url), "%s/collections/" COLLECTION "/points/delete?wait=true", rm.qdrant_base);
	json_t *req = json_pack("{s:{s:[{s:s, s:{s:s}}]}}", "filter", "must", "key", "document", "match", "value",
				material_id);
	char *body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	json_t *res = NULL;
	int rc = call_json("POST", url, body, 60, &res, NULL);
	free(body);
	json_decref(res);
	/* No collection (yet, or any more): nothing to delete; it is created before the next write. */
	if (rc == ENT_ENOTFOUND)
		collection_gone();
	return rc == ENT_ENOTFOUND ? ENT_OK : rc;
}

/* The id of passage seq of material_id read from file_id: a UUID made of a SHA-256 of the three. */
static void point_id(const char *material_id, const char *file_id, size_t seq, char out[37])
{
	char key[128], hex[65];
	int len = snprintf(key, sizeof(key), "%s:%s:%zu", material_id, file_id, seq);
	sha256_hex(key, len > 0 ? (size_t)len : 0, hex);
	hex[12] = '8'; /* version 8 (custom), RFC 9562 */
	hex[16] = "89ab"[util_hexval(hex[16]) & 3];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

int cb_vec_index(const char *material_id, const char *course_id, const char *file_id, const struct cb_passage *p,
		 size_t n)
{
	int rc = cb_vec_delete_document(material_id);
	if (rc || !n)
		return rc;
	arena *a = arena_new(0);
	const char **texts = arena_alloc(a, n * sizeof(*texts));
	float **vecs = arena_alloc(a, n * sizeof(*vecs));
	for (size_t i = 0; i < n; i++)
		texts[i] = p[i].text;
	int dim = cb_embed(a, texts, n, vecs);
	if (dim < 0) {
		arena_free(a);
		return dim;
	}
	if ((rc = ensure_collection(dim))) {
		arena_free(a);
		return rc;
	}
	char url[400];
	snprintf(url, sizeof(url), "%s/collections/" COLLECTION "/points?wait=true", rm.qdrant_base);
	for (size_t at = 0; at < n && !rc; at += 64) {
		buf b;
		buf_init(&b, 0);
		buf_addstr(&b, "{\"points\":[");
		for (size_t i = at; i < n && i < at + 64; i++) {
			char id[37];
			point_id(material_id, file_id, i, id);
			buf_printf(&b, "%s{\"id\":\"%s\",\"vector\":", i > at ? "," : "", id);
			vector_json(&b, vecs[i], dim);
			buf_printf(&b,
				   ",\"payload\":{\"course\":\"%s\",\"document\":\"%s\",\"page\":%d,\"passage\":%zu}}",
				   course_id, material_id, p[i].page, i);
		}
		buf_addstr(&b, "]}");
		json_t *res = NULL;
		rc = b.failed ? ENT_ENOMEM : call_json("PUT", url, b.data, 60, &res, NULL);
		json_decref(res);
		buf_free(&b);
	}
	arena_free(a);
	if (rc == ENT_ENOTFOUND)
		collection_gone();
	return rc == ENT_ENOTFOUND ? ENT_EUNAVAIL : rc;
}

int cb_vec_query(arena *a, const char *text, const char *const *courses, size_t ncourses, int all, struct cb_vhit *out,
		 size_t max)
{
	if (!all && !ncourses)
		return 0;
	float *v[1];
	const char *t[1] = {text};
	int dim = cb_embed(a, t, 1, v);
	if (dim < 0)
		return dim;
	int rc = ensure_collection(dim);
	if (rc)
		return rc;
	buf b;
	buf_init(&b, 0);
	buf_addstr(&b, "{\"query\":");
	vector_json(&b, v[0], dim);
	if (!all) {
		buf_addstr(&b, ",\"filter\":{\"must\":[{\"key\":\"course\",\"match\":{\"any\":[");
		for (size_t i = 0; i < ncourses; i++)
			buf_printf(&b, "%s\"%s\"", i ? "," : "", courses[i]);
		buf_addstr(&b, "]}}]}");
	}
	buf_printf(&b, ",\"limit\":%zu,\"score_threshold\":%.3f,\"with_payload\":true}", max, CB_VEC_THRESHOLD);
	char url[400];
	snprintf(url, sizeof(url), "%s/collections/" COLLECTION "/points/query", rm.qdrant_base);
	json_t *res = NULL;
	rc = b.failed ? ENT_ENOMEM : call_json("POST", url, b.data, 60, &res, NULL);
	buf_free(&b);
	if (rc == ENT_ENOTFOUND)
		collection_gone();
	if (rc)
		return rc == ENT_ENOTFOUND ? ENT_EUNAVAIL : rc;
	json_t *points = json_object_get(json_object_get(res, "result"), "points");
	size_t n = 0, i;
	json_t *pt;
	json_array_foreach (points, i, pt) {
		json_t *pl = json_object_get(pt, "payload");
		const char *doc = json_string_value(json_object_get(pl, "document"));
		json_t *seq = json_object_get(pl, "passage");
		if (n >= max || !doc || !util_is_uuid(doc) || !json_is_integer(seq))
			continue;
		out[n].material_id = arena_strdup(a, doc);
		out[n].seq = json_integer_value(seq);
		out[n].score = json_number_value(json_object_get(pt, "score"));
		n++;
	}
	json_decref(res);
	return (int)n;
}

/* ---- chat ---- */

struct chat {
	buf line;
	cb_chunk_fn fn;
	void *ctx;
	int done, stopped;
};

/* Splits the NDJSON stream into lines and hands each message's content to the caller. */
static int on_chat(void *arg, const char *p, size_t len)
{
	struct chat *ch = arg;
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\n') {
			if (buf_addc(&ch->line, p[i]))
				return -1;
			continue;
		}
		json_t *j = ch->line.len ? json_loadb(ch->line.data, ch->line.len, 0, NULL) : NULL;
		buf_reset(&ch->line);
		if (!j)
			continue;
		if (json_object_get(j, "error")) {
			log_warn("chatbot: Ollama /api/chat: %s", json_string_value(json_object_get(j, "error")));
			json_decref(j);
			return -1;
		}
		const char *tok = json_string_value(json_object_get(json_object_get(j, "message"), "content"));
		if (json_is_true(json_object_get(j, "done")))
			ch->done = 1;
		int stop = tok && *tok ? ch->fn(ch->ctx, tok, strlen(tok)) : 0;
		json_decref(j);
		if (stop) {
			ch->stopped = 1;
			return -1;
		}
	}
	return 0;
}

/* The /api/chat request's body: the system message, the previous turns, the user message. */
static char *chat_body(const char *system, const struct cb_turn *turns, size_t nturns, const char *user)
{
	arena *a = arena_new(0);
	json_t *msgs = json_array();
	json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system", "content", system));
	for (size_t i = 0; i < nturns; i++) {
		json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content",
						      cb_prompt_turn(a, turns[i].question, CB_TURN_ANSWER_MAX)));
		json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "assistant", "content",
						      cb_prompt_turn(a, turns[i].answer, CB_TURN_ANSWER_MAX)));
	}
	json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content", user));
	json_t *req = json_pack("{s:s, s:o, s:b, s:{s:f}}", "model", rm.llm_model, "messages", msgs, "stream", 1,
				"options", "temperature", 0.1);
	char *body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	arena_free(a);
	return body;
}

/*
 * ---- chats in flight ----
 *
 * One thread (the relay) drives every chat at once with libcurl's multi interface: a model may
 * take a minute to write an answer, and neither a server thread nor a worker waits for it. Each
 * chat's pieces go to its fn as they arrive, then its done(ctx, rc) runs, on the relay thread.
 */
struct chat_job {
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	struct chat ch;
	void (*done)(void *ctx, int rc);
	void *ctx;
	struct chat_job *next;
};

static pthread_mutex_t relay_mu = PTHREAD_MUTEX_INITIALIZER;
static CURLM *relay_multi;
static pthread_t relay_thread;
static int relay_running, relay_stop;
static struct chat_job *relay_new; /* started, not yet handed to the multi handle */
static size_t relay_n;             /* chats in flight */

static int relay_stopping(void)
{
	pthread_mutex_lock(&relay_mu);
	int s = relay_stop;
	pthread_mutex_unlock(&relay_mu);
	return s;
}

static size_t on_chat_data(char *p, size_t size, size_t n, void *arg)
{
	struct chat_job *j = arg;
	return on_chat(&j->ch, p, size * n) ? 0 : size * n;
}

/* A chat ended (res: curl's outcome): done(ctx, rc) with rc as documented for cb_llm_chat_start. */
static void chat_end(struct chat_job *j, CURLcode res)
{
	long status = 0;
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	int rc = ENT_OK;
	if (j->ch.stopped || res == CURLE_ABORTED_BY_CALLBACK) {
		rc = 1;
	} else if (res != CURLE_OK) {
		log_warn("chatbot: POST %s/api/chat failed: %s", rm.llm_base, curl_easy_strerror(res));
		rc = ENT_EUNAVAIL;
	} else if (status < 200 || status > 299 || !j->ch.done) {
		log_warn("chatbot: Ollama /api/chat answered %ld%s", status,
			 j->ch.done ? "" : " (stream cut before done)");
		rc = ENT_EUNAVAIL;
	}
	curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->headers);
	free(j->body);
	buf_free(&j->ch.line);
	pthread_mutex_lock(&relay_mu);
	relay_n--;
	pthread_mutex_unlock(&relay_mu);
	j->done(j->ctx, rc);
	free(j);
}

static void *relay_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&relay_mu);
		struct chat_job *add = relay_new;
		relay_new = NULL;
		int stop = relay_stop;
		size_t n = relay_n;
		pthread_mutex_unlock(&relay_mu);
		while (add) {
			struct chat_job *next = add->next;
			if (curl_multi_add_handle(relay_multi, add->easy) != CURLM_OK)
				chat_end(add, CURLE_FAILED_INIT);
			add = next;
		}
		if (stop && !n)
			break;
		int running = 0;
		curl_multi_perform(relay_multi, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(relay_multi, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct chat_job *j = NULL;
			CURL *e = msg->easy_handle;
			CURLcode res = msg->data.result;
			curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&j);
			curl_multi_remove_handle(relay_multi, e);
			chat_end(j, res);
		}
		/* Woken by a new chat (curl_multi_wakeup) or data; the progress callbacks see a stop within 200 ms. */
		curl_multi_poll(relay_multi, NULL, 0, 200, NULL);
	}
	return NULL;
}

int cb_relay_start(void)
{
	pthread_once(&curl_once, curl_init);
	pthread_mutex_lock(&relay_mu);
	relay_stop = 0;
	relay_multi = curl_multi_init();
	int rc = relay_multi && pthread_create(&relay_thread, NULL, relay_main, NULL) == 0 ? ENT_OK : ENT_EINTERNAL;
	relay_running = rc == ENT_OK;
	pthread_mutex_unlock(&relay_mu);
	return rc;
}

void cb_relay_stop(void)
{
	pthread_mutex_lock(&relay_mu);
	int running = relay_running;
	relay_stop = 1;
	if (relay_multi)
		curl_multi_wakeup(relay_multi);
	pthread_mutex_unlock(&relay_mu);
	/* The chats in flight end through their progress callbacks (cb_jobs_stopping). */
	if (running)
		pthread_join(relay_thread, NULL);
	pthread_mutex_lock(&relay_mu);
	relay_running = 0;
	if (relay_multi)
		curl_multi_cleanup(relay_multi);
	relay_multi = NULL;
	pthread_mutex_unlock(&relay_mu);
}

int cb_llm_chat_start(const char *system, const struct cb_turn *turns, size_t nturns, const char *user, cb_chunk_fn fn,
		      void *fn_ctx, void (*done)(void *ctx, int rc), void *ctx)
{
	pthread_mutex_lock(&relay_mu);
	int full = !relay_running || relay_stop || relay_n >= CB_MAX_CHATS;
	if (!full)
		relay_n++;
	pthread_mutex_unlock(&relay_mu);
	if (full)
		return ENT_EBUSY;
	struct chat_job *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->done = done;
	j->ctx = ctx;
	j->ch.fn = fn;
	j->ch.ctx = fn_ctx;
	buf_init(&j->ch.line, 1u << 20);
	j->body = chat_body(system, turns, nturns, user);
	char url[400];
	snprintf(url, sizeof(url), "%s/api/chat", rm.llm_base);
	j->easy = curl_easy_init();
	if (!j->easy || !j->body)
		abort();
	j->headers = curl_slist_append(NULL, "Content-Type: application/json");
	j->headers = curl_slist_append(j->headers, "Accept: application/x-ndjson");
	CURL *c = j->easy;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(j->body));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 3L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_chat_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)j);
	pthread_mutex_lock(&relay_mu);
	j->next = relay_new;
	relay_new = j;
	curl_multi_wakeup(relay_multi);
	pthread_mutex_unlock(&relay_mu);
	return ENT_OK;
}
