/*
 * ask.c - questions to the assistant: retrieval, answers, streams, conversations, feedback.
 *
 * Retrieval reads only what the caller may read, inside the query: a student's class's courses
 * with their published documents (publish_at passed), a teacher's own courses (everything),
 * everything for administrators; course ids come from cours.h, COURS_BATCH per constant statement
 * ("IN (?, ... ?)", unused slots NULL). Excluded documents and documents without text never match.
 * Every passage found is then checked again with cours_file_readable() before it is used: a course
 * left or a material unpublished between the two reads leaves nothing behind.
 *
 * Ranking: BM25 over stemmed passages (the question stemmed the same way, its stems OR-ed) on
 * SQLite: FTS5's bm25() for an administrator, computed here with the district's weights for a
 * question by course (matched on the index's per-course terms); PostgreSQL's ts_rank over the
 * 'french' tsvector. Then a relevance floor that does not depend on the engine's scores: the best
 * passage must hold at least 60 % of the question's content stems. Below it the answer is "Je ne sais pas", with the FAQ and a ticket proposed:
 * nothing is ever made up.
 *
 * The extractive answer (the default, and whenever no ENT_LLM is set) quotes the best sentence of
 * each of the best passages (at most three), each followed by its citation: document title, page,
 * and a link /cours/{course}/materials/{material}?page=N that the portal opens at that page.
 *
 * Every question is recorded in interactions_chatbot (question, answer, sources, time to the first
 * token, later the feedback) and counts towards a per-user limit (ENT_CHATBOT_RATE per
 * CB_RATE_WINDOW seconds, 429 with Retry-After beyond), kept in chatbot_asks so that deleting one's history does
 * not reset it.
 */
#include "internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/app.h"
#include "core/config.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/page.h"
#include "core/sse.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

/* Questions per user per CB_RATE_WINDOW seconds: ENT_CHATBOT_RATE (default 20). */
#define CB_RATE_MAX ((int64_t)(app.cfg && app.cfg->n_chatbot_rate ? app.cfg->n_chatbot_rate : 20))
#define CB_RATE_WINDOW 600
#define CB_MAX_STEMS 16
#define CB_TOP 8
#define CB_MAX_QUOTES 3
#define CB_QUESTION_MAX 2000
/* Reciprocal rank fusion's constant (Cormack et al., 2009): 1 / (k + rank) per list. */
#define CB_RRF_K 60.0

static const char UNKNOWN[] = "Je ne sais pas : je n'ai trouvé dans vos documents de cours aucun passage qui réponde "
			      "à cette question. Vous pouvez consulter la FAQ de l'assistance ou ouvrir un ticket : "
			      "quelqu'un vous répondra.";

/* ---- who may read what ---- */

struct viewer {
	const char *sub;
	unsigned roles;
	int all;
	const char **edit, **read; /* courses: every document / published documents only */
	size_t nedit, nread;
	const char *class_id; /* a student's class (for the teachers' list of unanswered questions) */
};

static int viewer_load(db_conn *c, arena *a, const struct http_principal *p, struct viewer *v)
{
	memset(v, 0, sizeof(*v));
	v->sub = p->sub;
	v->roles = p->roles;
	if (p->roles & ROLE_ADMIN) {
		v->all = 1;
		return ENT_OK;
	}
	if (p->roles & ROLE_ENSEIGNANT) {
		int n = cours_taught_by(c, a, p->sub, &v->edit);
		if (n < 0)
			return n;
		v->nedit = (size_t)n;
	}
	if (p->roles & ROLE_ETUDIANT) {
		char cls[37];
		int rc = users_student_class(c, p->sub, cls);
		if (rc == ENT_ENOTFOUND)
			return ENT_OK;
		if (rc)
			return rc;
		v->class_id = arena_strdup(a, cls);
		int n = cours_of_class(c, a, cls, &v->read);
		if (n < 0)
			return n;
		v->nread = (size_t)n;
	}
	return ENT_OK;
}

/* Narrows v to the one course course_id: 1 when the caller may read it, 0 when not. */
static int viewer_narrow(arena *a, struct viewer *v, const char *course_id, db_conn *c)
{
	if (v->all) {
		int e = cours_exists(c, course_id);
		if (e <= 0)
			return e;
		v->all = 0;
		v->edit = arena_alloc(a, sizeof(*v->edit));
		v->edit[0] = course_id;
		v->nedit = 1;
		v->nread = 0;
		return 1;
	}
	for (size_t i = 0; i < v->nedit; i++)
		if (strcmp(v->edit[i], course_id) == 0) {
			v->edit = &v->edit[i];
			v->nedit = 1;
			v->nread = 0;
			return 1;
		}
	for (size_t i = 0; i < v->nread; i++)
		if (strcmp(v->read[i], course_id) == 0) {
			v->read = &v->read[i];
			v->nread = 1;
			v->nedit = 0;
			return 1;
		}
	return 0;
}

/* ---- retrieval ---- */

struct hit {
	int64_t id;
	const char *material_id, *course_id, *file_id, *title, *text, *stems;
	int page;
	double score;
	size_t cover;
};

#define HIT_COLS "p.id, p.material_id, p.course_id, p.page, p.text, p.stems, d.file_id, d.title"
#define IN16 " AND p.course_id IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define PG_Q(in)                                                                                                       \
	"SELECT " HIT_COLS ", ts_rank(p.tsv, to_tsquery('french', ?)) AS r FROM chatbot_passages p"                    \
	" JOIN chatbot_documents d ON d.material_id = p.material_id WHERE p.tsv @@ to_tsquery('french', ?)"            \
	" AND d.status = 'indexed' AND d.excluded = 0 AND (? = 1 OR d.publish_at IS NULL OR d.publish_at <= ?)" in     \
	" ORDER BY r DESC, p.id LIMIT 8"

/* 1 when course is among ids[0..n). */
static int has_course(const char *const *ids, size_t n, const char *course)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], course) == 0)
			return 1;
	return 0;
}

/* Adds h to the best CB_TOP hits in v (sorted by score, descending). */
static void keep_best(struct hit *v, size_t *n, const struct hit *h)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i].id == h->id)
			return;
	size_t at = *n;
	while (at > 0 && v[at - 1].score < h->score)
		at--;
	if (at >= CB_TOP)
		return;
	size_t end = *n < CB_TOP ? *n : CB_TOP - 1;
	memmove(&v[at + 1], &v[at], (end - at) * sizeof(*v));
	v[at] = *h;
	if (*n < CB_TOP)
		(*n)++;
}

/* One statement over the courses ids[0..n) (n <= 16; ids NULL: every course): PostgreSQL. */
static int search_batch_pg(db_conn *c, arena *a, const char *match, int everything, const char *const *ids, size_t n,
			   struct hit *v, size_t *nv)
{
	db_stmt *s = db_prepare(c, ids ? PG_Q(IN16) : PG_Q(""));
	if (!s)
		return ENT_EDB;
	char now[21];
	cb_now(now);
	int k = 1;
	db_bind_text(s, k++, match);
	db_bind_text(s, k++, match);
	db_bind_int64(s, k++, everything);
	db_bind_text(s, k++, now);
	if (ids)
		for (size_t i = 0; i < COURS_BATCH; i++)
			db_bind_text_or_null(s, k++, i < n ? ids[i] : NULL);
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		struct hit h = {
			.id = db_col_int64(s, 0),
			.material_id = arena_strdup(a, db_col_text(s, 1)),
			.course_id = arena_strdup(a, db_col_text(s, 2)),
			.page = (int)db_col_int64(s, 3),
			.text = arena_strdup(a, db_col_text(s, 4)),
			.stems = arena_strdup(a, db_col_text(s, 5)),
			.file_id = arena_strdup(a, db_col_text(s, 6)),
			.title = arena_strdup(a, db_col_text(s, 7)),
			.score = db_col_double(s, 8),
		};
		keep_best(v, nv, &h);
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/* Full-text candidates taken at first; more only when too many of them are filtered out. */
#define CB_CANDIDATES 32
/* BM25's constants, those of FTS5's bm25(). */
#define CB_BM25_K1 1.2
#define CB_BM25_B 0.75

/*
 * The question's stems as matched on SQLite (common ones left out, see common_stems), each with
 * its BM25 weight over the district's passages (FTS5's: log((N - n + 0.5) / (n + 0.5)), at least
 * 1e-6), and the passages' average length in stems. n == 0: no weights (the index ranks).
 */
struct terms {
	const char **stem;
	double *idf;
	size_t n;
	double avgdl;
};

/*
 * The candidates cand[0..nc) (best first, scores score[]) read with their document under the
 * remaining conditions (indexed, not excluded, published for a student's course) until CB_TOP
 * pass; *found counts those that passed.
 */
static int take_candidates(db_conn *c, arena *a, const int64_t *cand, const double *score, int64_t nc, int everything,
			   const char *const *ids, size_t n, const char *now, struct hit *v, size_t *nv, size_t *found)
{
	for (int64_t i = 0; i < nc && *found < CB_TOP; i++) {
		db_stmt *q = SQL_PREP(c,
				      "SELECT " HIT_COLS " FROM chatbot_passages p JOIN chatbot_documents d"
				      " ON d.material_id = p.material_id WHERE p.id = ? AND d.status = 'indexed'"
				      " AND d.excluded = 0 AND (? = 1 OR d.publish_at IS NULL OR d.publish_at <= ?)",
				      SQL_I(cand[i]), SQL_I(everything), SQL_T(now));
		if (!q)
			return ENT_EDB;
		int r = db_step(q);
		if (r == DB_ROW && (!ids || has_course(ids, n, db_col_text(q, 2)))) {
			struct hit h = {
				.id = db_col_int64(q, 0),
				.material_id = arena_strdup(a, db_col_text(q, 1)),
				.course_id = arena_strdup(a, db_col_text(q, 2)),
				.page = (int)db_col_int64(q, 3),
				.text = arena_strdup(a, db_col_text(q, 4)),
				.stems = arena_strdup(a, db_col_text(q, 5)),
				.file_id = arena_strdup(a, db_col_text(q, 6)),
				.title = arena_strdup(a, db_col_text(q, 7)),
				.score = score[i],
			};
			keep_best(v, nv, &h);
			(*found)++;
		}
		db_done(q);
		if (r < 0)
			return r;
	}
	return ENT_OK;
}

/* BM25 of a passage's stems ("a b c") for the terms t. */
static double bm25_of(const char *stems, const struct terms *t)
{
	size_t len = 0;
	for (const char *p = stems; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		len++;
		while (*p && *p != ' ')
			p++;
	}
	double norm = CB_BM25_K1 * (1 - CB_BM25_B + CB_BM25_B * (double)len / (t->avgdl > 0 ? t->avgdl : 1));
	double score = 0;
	for (size_t i = 0; i < t->n; i++) {
		size_t ql = strlen(t->stem[i]), tf = 0;
		for (const char *p = stems; (p = strstr(p, t->stem[i])); p += ql)
			if ((p == stems || p[-1] == ' ') && (p[ql] == ' ' || p[ql] == '\0'))
				tf++;
		if (tf)
			score += t->idf[i] * ((double)tf * (CB_BM25_K1 + 1)) / ((double)tf + norm);
	}
	return score;
}

struct scored {
	int64_t id;
	double score;
};

static int by_score(const void *x, const void *y)
{
	const struct scored *a = x, *b = y;
	if (a->score != b->score)
		return a->score < b->score ? 1 : -1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/*
 * SQLite, the courses ids[0..n) with weighted terms: the index's per-course terms ("cstems",
 * the course's token and the stem) give the matching passages of those courses only, a few
 * hundred at most, without reading the district's document lists; each is scored here by BM25
 * with the district's weights (t), from its stems, and the best are taken as above.
 */
static int search_courses_sqlite(db_conn *c, arena *a, const struct terms *t, int everything, const char *const *ids,
				 size_t n, struct hit *v, size_t *nv)
{
	buf b;
	buf_init(&b, 0);
	buf_addstr(&b, "cstems : (");
	for (size_t i = 0, k = 0; i < n; i++) {
		const char *course = cb_course_token(a, ids[i]);
		for (size_t j = 0; j < t->n; j++)
			buf_printf(&b, "%s\"%s%s\"", k++ ? " OR " : "", course, t->stem[j]);
	}
	buf_addstr(&b, ")");
	const char *match = arena_strdup(a, b.data ? b.data : "");
	buf_free(&b);
	db_stmt *s = SQL_PREP(c, "SELECT rowid, stems FROM chatbot_fts WHERE chatbot_fts MATCH ?", SQL_T(match));
	if (!s)
		return ENT_EDB;
	size_t cap = 64, nc = 0;
	struct scored *sc = malloc(cap * sizeof(*sc));
	int rc = 0;
	while (sc && (rc = db_step(s)) == DB_ROW) {
		if (nc == cap) {
			struct scored *g = realloc(sc, 2 * cap * sizeof(*sc));
			if (!g) {
				free(sc);
				sc = NULL;
				break;
			}
			sc = g;
			cap *= 2;
		}
		const char *stems = db_col_text(s, 1);
		sc[nc].id = db_col_int64(s, 0);
		sc[nc++].score = bm25_of(stems ? stems : "", t);
	}
	db_done(s);
	if (!sc)
		return ENT_ENOMEM;
	if (rc < 0) {
		free(sc);
		return rc;
	}
	qsort(sc, nc, sizeof(*sc), by_score);
	int64_t *cand = arena_alloc(a, (nc ? nc : 1) * sizeof(*cand));
	double *score = arena_alloc(a, (nc ? nc : 1) * sizeof(*score));
	for (size_t i = 0; i < nc; i++) {
		cand[i] = sc[i].id;
		score[i] = sc[i].score;
	}
	free(sc);
	char now[21];
	cb_now(now);
	size_t found = 0;
	return take_candidates(c, a, cand, score, (int64_t)nc, everything, ids, n, now, v, nv, &found);
}

/*
 * SQLite: the index is asked for the best passages of the courses ids[0..n) only (each passage's
 * course is a token of the index: "course : (c... OR c...) AND stems : (...)"), so ranking costs
 * what the asker's courses hold, not the district; or, with weighted terms, search_courses_sqlite.
 * The candidates, best first, are then read with their document under the remaining conditions
 * (indexed, not excluded, published for a student's course) until CB_TOP pass; when fewer pass,
 * more candidates are taken.
 */
static int search_batch_sqlite(db_conn *c, arena *a, const char *stems_match, const struct terms *t, int everything,
			       const char *const *ids, size_t n, struct hit *v, size_t *nv)
{
	if (ids && t && t->n)
		return search_courses_sqlite(c, a, t, everything, ids, n, v, nv);
	buf b;
	buf_init(&b, 0);
	if (ids) {
		buf_addstr(&b, "course : (");
		for (size_t i = 0; i < n; i++)
			buf_printf(&b, "%s%s", i ? " OR " : "", cb_course_token(a, ids[i]));
		buf_addstr(&b, ") AND ");
	}
	buf_printf(&b, "stems : (%s)", stems_match);
	const char *match = arena_strdup(a, b.data ? b.data : "");
	buf_free(&b);
	char now[21];
	cb_now(now);
	size_t found = 0;
	int rc = ENT_OK;
	for (int64_t want = CB_CANDIDATES, offset = 0; !rc && found < CB_TOP; offset += want, want *= 8) {
		db_stmt *s = SQL_PREP(c,
				      "SELECT rowid, -bm25(chatbot_fts) FROM chatbot_fts WHERE chatbot_fts MATCH ?"
				      " ORDER BY bm25(chatbot_fts) LIMIT ? OFFSET ?",
				      SQL_T(match), SQL_I(want), SQL_I(offset));
		if (!s)
			return ENT_EDB;
		int64_t *cand = arena_alloc(a, (size_t)want * sizeof(*cand));
		double *score = arena_alloc(a, (size_t)want * sizeof(*score));
		int64_t nc = 0;
		while ((rc = db_step(s)) == DB_ROW && nc < want) {
			cand[nc] = db_col_int64(s, 0);
			score[nc++] = db_col_double(s, 1);
		}
		db_done(s);
		if (rc < 0)
			return rc;
		rc = take_candidates(c, a, cand, score, nc, everything, ids, n, now, v, nv, &found);
		if (nc < want)
			break; /* no more candidates */
	}
	return rc;
}

static int search_batch(db_conn *c, arena *a, const char *match, const struct terms *t, int everything,
			const char *const *ids, size_t n, struct hit *v, size_t *nv)
{
	return db_conn_kind(c) == DB_POSTGRES ? search_batch_pg(c, a, match, everything, ids, n, v, nv)
					      : search_batch_sqlite(c, a, match, t, everything, ids, n, v, nv);
}

static int search_set(db_conn *c, arena *a, const char *match, const struct terms *t, int everything,
		      const char *const *ids, size_t n, struct hit *v, size_t *nv)
{
	for (size_t i = 0; i < n; i += COURS_BATCH) {
		int rc = search_batch(c, a, match, t, everything, ids + i, n - i < COURS_BATCH ? n - i : COURS_BATCH, v,
				      nv);
		if (rc)
			return rc;
	}
	return ENT_OK;
}

/*
 * The passages nearest to text in Qdrant (filtered there on the caller's courses), each found
 * again in chatbot_passages with the same conditions as the full-text query (indexed, not
 * excluded, published for a student's courses), best first. Returns how many (<= CB_TOP).
 */
static int vector_hits(db_conn *c, arena *a, const struct viewer *vw, const char *text, struct hit *out)
{
	size_t nc = vw->nedit + vw->nread;
	const char **courses = arena_alloc(a, (nc ? nc : 1) * sizeof(*courses));
	for (size_t i = 0; i < vw->nedit; i++)
		courses[i] = vw->edit[i];
	for (size_t i = 0; i < vw->nread; i++)
		courses[vw->nedit + i] = vw->read[i];
	struct cb_vhit vh[2 * CB_TOP];
	int nv = cb_vec_query(a, text, courses, nc, vw->all, vh, 2 * CB_TOP);
	if (nv <= 0)
		return nv;
	char now[21];
	cb_now(now);
	size_t n = 0;
	for (int i = 0; i < nv && n < CB_TOP; i++) {
		db_stmt *s = SQL_PREP(c,
				      "SELECT " HIT_COLS
				      ", d.publish_at FROM chatbot_passages p JOIN chatbot_documents d"
				      " ON d.material_id = p.material_id WHERE p.material_id = ? AND p.seq = ?"
				      " AND d.status = 'indexed' AND d.excluded = 0",
				      SQL_T(vh[i].material_id), SQL_I(vh[i].seq));
		if (!s)
			return ENT_EDB;
		int rc = db_step(s);
		if (rc == DB_ROW) {
			const char *course = db_col_text(s, 2), *pub = db_col_text(s, 8);
			int published = !pub || strcmp(pub, now) <= 0;
			if (vw->all || has_course(vw->edit, vw->nedit, course) ||
			    (published && has_course(vw->read, vw->nread, course))) {
				out[n++] = (struct hit){
					.id = db_col_int64(s, 0),
					.material_id = arena_strdup(a, db_col_text(s, 1)),
					.course_id = arena_strdup(a, course),
					.page = (int)db_col_int64(s, 3),
					.text = arena_strdup(a, db_col_text(s, 4)),
					.stems = arena_strdup(a, db_col_text(s, 5)),
					.file_id = arena_strdup(a, db_col_text(s, 6)),
					.title = arena_strdup(a, db_col_text(s, 7)),
					.score = vh[i].score,
				};
			}
		}
		db_done(s);
		if (rc < 0)
			return rc;
	}
	return (int)n;
}

/* Reciprocal rank fusion of the ranked lists x[0..nx) and y[0..ny) into out (<= CB_TOP). */
static size_t fuse(const struct hit *x, size_t nx, const struct hit *y, size_t ny, struct hit *out)
{
	struct hit all[2 * CB_TOP];
	size_t n = 0;
	for (size_t i = 0; i < nx; i++) {
		all[n] = x[i];
		all[n++].score = 1.0 / (CB_RRF_K + (double)i + 1);
	}
	for (size_t j = 0; j < ny; j++) {
		size_t k = 0;
		while (k < n && all[k].id != y[j].id)
			k++;
		if (k == n) {
			all[n] = y[j];
			all[n++].score = 0;
		}
		all[k].score += 1.0 / (CB_RRF_K + (double)j + 1);
	}
	/* Stable insertion sort by fused score: ties keep the full-text order. */
	for (size_t i = 1; i < n; i++) {
		struct hit h = all[i];
		size_t j = i;
		while (j > 0 && all[j - 1].score < h.score) {
			all[j] = all[j - 1];
			j--;
		}
		all[j] = h;
	}
	n = n < CB_TOP ? n : CB_TOP;
	memcpy(out, all, n * sizeof(*out));
	return n;
}

/*
 * Common stems (SQLite). On a large index, a stem found in more than a quarter of the passages
 * ("important", "présente" in a district's course text) makes the full-text match read a doclist
 * as long as the index for little: its BM25 weight is near nothing. Such stems are left out of the
 * match (never all of them: the rarest stays) and still count for the relevance floor. How many
 * passages hold a stem is counted once and kept CB_DF_TTL seconds in a small table per process.
 */
#define CB_DF_SLOTS 4096
#define CB_DF_TTL 600
#define CB_PRUNE_MIN 5000 /* passages: below, every stem is matched */
#define CB_COMMON_SHARE 0.25

struct df_slot {
	char stem[40];
	int64_t n;
	time_t at;
};
static struct df_slot df_cache[CB_DF_SLOTS];
static int64_t df_total;
static time_t df_total_at;
static pthread_mutex_t df_mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t count_of(db_conn *c, const char *sql, const char *arg)
{
	db_stmt *s = db_prepare(c, sql);
	if (!s)
		return -1;
	if (arg)
		db_bind_text(s, 1, arg);
	int64_t n = db_step(s) == DB_ROW ? db_col_int64(s, 0) : -1;
	db_done(s);
	return n;
}

/* How many passages hold stem (cached), or -1. */
static int64_t stem_df(db_conn *c, arena *a, const char *stem, time_t now)
{
	size_t len = strlen(stem);
	if (len >= sizeof(df_cache[0].stem))
		return -1;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)stem[i]) * 16777619u;
	struct df_slot *slot = &df_cache[h % CB_DF_SLOTS];
	pthread_mutex_lock(&df_mu);
	int64_t n = strcmp(slot->stem, stem) == 0 && now - slot->at < CB_DF_TTL ? slot->n : -1;
	pthread_mutex_unlock(&df_mu);
	if (n >= 0)
		return n;
	n = count_of(c, "SELECT COUNT(*) FROM chatbot_fts WHERE chatbot_fts MATCH ?",
		     arena_printf(a, "stems : \"%s\"", stem));
	if (n < 0)
		return -1;
	pthread_mutex_lock(&df_mu);
	memcpy(slot->stem, stem, len + 1);
	slot->n = n;
	slot->at = now;
	pthread_mutex_unlock(&df_mu);
	return n;
}

/* keep[i] = 0 for the common stems of q[0..nq) (see above), 1 for the others. */
static void common_stems(db_conn *c, const char *const *q, size_t nq, int *keep)
{
	for (size_t i = 0; i < nq; i++)
		keep[i] = 1;
	time_t now = time(NULL);
	pthread_mutex_lock(&df_mu);
	int64_t total = now - df_total_at < CB_DF_TTL ? df_total : -1;
	pthread_mutex_unlock(&df_mu);
	if (total < 0) {
		total = count_of(c, "SELECT COUNT(*) FROM chatbot_passages", NULL);
		pthread_mutex_lock(&df_mu);
		df_total = total;
		df_total_at = now;
		pthread_mutex_unlock(&df_mu);
	}
	if (total < CB_PRUNE_MIN || nq < 2)
		return;
	arena *a = arena_new(0);
	size_t rarest = 0, kept = nq;
	int64_t best = -1;
	for (size_t i = 0; i < nq; i++) {
		int64_t n = stem_df(c, a, q[i], now);
		if (n < 0)
			continue; /* not counted: matched */
		if (best < 0 || n < best) {
			best = n;
			rarest = i;
		}
		if ((double)n > CB_COMMON_SHARE * (double)total) {
			keep[i] = 0;
			kept--;
		}
	}
	if (!kept)
		keep[rarest] = 1;
	arena_free(a);
}

/* FTS5's record varint at *p (at most 9 bytes, within end): its value, *p moved past it. */
static uint64_t fts_varint(const unsigned char **p, const unsigned char *end)
{
	uint64_t v = 0;
	for (int i = 0; i < 9 && *p < end; i++) {
		unsigned char b = *(*p)++;
		if (i == 8)
			return (v << 8) | b;
		v = (v << 7) | (b & 0x7f);
		if (!(b & 0x80))
			return v;
	}
	return v;
}

static double df_avgdl;
static int64_t df_rows;
static time_t df_avg_at;

/*
 * The passages' count and average length in stems, as FTS5 keeps them (its averages record:
 * varints of the row count then of each column's token count), cached CB_DF_TTL seconds.
 * 0, or -1 when not read.
 */
static int index_averages(db_conn *c, int64_t *rows, double *avgdl)
{
	time_t now = time(NULL);
	pthread_mutex_lock(&df_mu);
	int fresh = df_avg_at && now - df_avg_at < CB_DF_TTL;
	*rows = df_rows;
	*avgdl = df_avgdl;
	pthread_mutex_unlock(&df_mu);
	if (fresh)
		return 0;
	db_stmt *s = db_prepare(c, "SELECT hex(substr(block, 1, 18)) FROM chatbot_fts_data WHERE id = 1");
	if (!s)
		return -1;
	int ok = -1;
	if (db_step(s) == DB_ROW && db_col_text(s, 0)) {
		const char *hex = db_col_text(s, 0);
		unsigned char bytes[18];
		size_t nb = 0;
		for (; nb < sizeof(bytes) && hex[2 * nb] && hex[2 * nb + 1]; nb++) {
			char two[3] = {hex[2 * nb], hex[2 * nb + 1], 0};
			bytes[nb] = (unsigned char)strtoul(two, NULL, 16);
		}
		const unsigned char *p = bytes, *end = bytes + nb;
		if (nb) {
			uint64_t n = fts_varint(&p, end), stems = fts_varint(&p, end);
			*rows = (int64_t)n;
			*avgdl = n ? (double)stems / (double)n : 0;
			ok = 0;
		}
	}
	db_done(s);
	if (ok)
		return -1;
	pthread_mutex_lock(&df_mu);
	df_rows = *rows;
	df_avgdl = *avgdl;
	df_avg_at = now;
	pthread_mutex_unlock(&df_mu);
	return 0;
}

/* t: the stems q[i] with keep[i], each with its BM25 weight over the district; t->n = 0 when a
 * count could not be read (the index then ranks). */
static void term_weights(db_conn *c, arena *a, const char *const *q, size_t nq, const int *keep, struct terms *t)
{
	memset(t, 0, sizeof(*t));
	int64_t rows;
	if (!nq || index_averages(c, &rows, &t->avgdl) || rows <= 0)
		return;
	t->stem = arena_alloc(a, nq * sizeof(*t->stem));
	t->idf = arena_alloc(a, nq * sizeof(*t->idf));
	time_t now = time(NULL);
	size_t n = 0;
	for (size_t i = 0; i < nq; i++) {
		if (!keep[i])
			continue;
		int64_t df = stem_df(c, a, q[i], now);
		if (df < 0)
			return;
		double idf = log(((double)rows - (double)df + 0.5) / ((double)df + 0.5));
		t->stem[n] = q[i];
		t->idf[n++] = idf > 0 ? idf : 1e-6;
	}
	t->n = n;
}

/*
 * The passages v may read that best match text, re-checked one by one, ordered by how many of the
 * question's stems q[0..nq) they hold, then by rank; with ENT_VECTORS, that list fused with
 * Qdrant's by reciprocal rank fusion. Returns how many (<= CB_TOP) or an ent_err.
 */
static int retrieve(db_conn *c, arena *a, const struct viewer *vw, const char *text, const char *const *q, size_t nq,
		    struct hit *out)
{
	if (!nq && !cb_vectors_on())
		return 0;
	const char *match;
	struct terms terms = {0};
	if (db_conn_kind(c) == DB_POSTGRES) {
		match = cb_words(a, text, " | ");
		if (!*match)
			return 0;
	} else {
		/* Stems in most passages cost the most to match and weigh little in BM25: left out. */
		int keep[CB_MAX_STEMS];
		common_stems(c, q, nq, keep);
		term_weights(c, a, q, nq, keep, &terms);
		buf b;
		buf_init(&b, 0);
		for (size_t i = 0, k = 0; i < nq; i++)
			if (keep[i])
				buf_printf(&b, "%s\"%s\"", k++ ? " OR " : "", q[i]);
		match = arena_strdup(a, b.data ? b.data : "");
		buf_free(&b);
	}
	size_t n = 0;
	int rc = ENT_OK;
	if (!nq)
		match = NULL; /* nothing to match in full text: vectors only */
	if (match && vw->all)
		rc = search_batch(c, a, match, &terms, 1, NULL, 0, out, &n);
	if (match && !rc)
		rc = search_set(c, a, match, &terms, 1, vw->edit, vw->nedit, out, &n);
	if (match && !rc)
		rc = search_set(c, a, match, &terms, 0, vw->read, vw->nread, out, &n);
	if (rc)
		return rc;
	struct hit *vec = NULL;
	size_t nvec = 0;
	if (cb_vectors_on()) {
		/* Qdrant or Ollama down: the full-text ranking alone (logged), not a failed question. */
		vec = arena_alloc(a, CB_TOP * sizeof(*vec));
		int nv = vector_hits(c, a, vw, text, vec);
		if (nv == ENT_EDB)
			return nv;
		nvec = nv > 0 ? (size_t)nv : 0;
	}
	/* Checked again, each one, through the cours service. */
	for (size_t i = 0; i < n + nvec; i++) {
		struct hit *h = i < n ? &out[i] : &vec[i - n];
		int ok = cours_file_readable(c, h->course_id, h->file_id, vw->sub, vw->roles);
		if (ok < 0)
			return ok;
		if (!ok) {
			log_warn("chatbot: passage %lld of material %s dropped: not readable by its asker",
				 (long long)h->id, h->material_id);
			h->id = -1;
			continue;
		}
		h->cover = cb_coverage(h->stems, q, nq);
	}
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		if (out[i].id >= 0)
			out[kept++] = out[i];
	/* Stable insertion sort by coverage (the rank order stays within equal coverage). */
	for (size_t i = 1; i < kept; i++) {
		struct hit h = out[i];
		size_t j = i;
		while (j > 0 && out[j - 1].cover < h.cover) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = h;
	}
	if (!cb_vectors_on())
		return (int)kept;
	size_t nv = 0;
	for (size_t i = 0; i < nvec; i++)
		if (vec[i].id >= 0)
			vec[nv++] = vec[i];
	return (int)fuse(out, kept, vec, nv, out);
}

/* ---- the extractive answer ---- */

/* The sentence of text that holds the most of q (with the next one when it is short), at most 600 bytes. */
static const char *best_sentence(arena *a, const char *text, const char *const *q, size_t nq)
{
	const char *best = text, *best_end = text + strlen(text);
	size_t best_cover = 0;
	int found = 0;
	for (const char *p = text; *p;) {
		const char *e = p;
		while (*e && !((*e == '.' || *e == '!' || *e == '?') && (e[1] == ' ' || e[1] == '\0')))
			e++;
		if (*e)
			e++;
		size_t len = (size_t)(e - p);
		char *sent = arena_alloc(a, len + 1);
		memcpy(sent, p, len);
		sent[len] = '\0';
		size_t cover = cb_coverage(cb_stems(a, sent), q, nq);
		if (!found || cover > best_cover) {
			best = p;
			best_end = e;
			best_cover = cover;
			found = 1;
		}
		p = e;
		while (*p == ' ')
			p++;
	}
	if (best_end - best < 80 && *best_end) {
		const char *e = best_end + 1;
		while (*e && !((*e == '.' || *e == '!' || *e == '?') && (e[1] == ' ' || e[1] == '\0')))
			e++;
		best_end = *e ? e + 1 : e;
	}
	size_t len = (size_t)(best_end - best);
	if (len > 600) {
		len = 600;
		while (len > 0 && (best[len] & 0xC0) == 0x80)
			len--;
	}
	char *r = arena_alloc(a, len + 4);
	memcpy(r, best, len);
	strcpy(r + len, len < (size_t)(best_end - best) ? "…" : "");
	return r;
}

/* What an answer is made of, for the JSON answer, the stream and the record. */
struct answer {
	int answered;
	const char *text; /* the answer as shown */
	struct hit *hits; /* the cited passages, numbered from 1 */
	size_t nhits;
	const char *sources_json; /* JSON array */
};

static const char *link_of(arena *a, const struct hit *h)
{
	return arena_printf(a, "/cours/%s/materials/%s?page=%d", h->course_id, h->material_id, h->page);
}

/* The sources h[0..n), numbered nums[i] (NULL: 1..n). */
static void write_sources(jw *w, arena *a, const struct hit *h, size_t n, const int *nums)
{
	jw_arr_open(w);
	for (size_t i = 0; i < n; i++) {
		jw_obj_open(w);
		jw_kint(w, "n", nums ? nums[i] : (int64_t)i + 1);
		jw_kstr(w, "title", h[i].title);
		jw_kint(w, "page", h[i].page);
		jw_kstr(w, "course_id", h[i].course_id);
		jw_kstr(w, "material_id", h[i].material_id);
		jw_kstr(w, "link", link_of(a, &h[i]));
		size_t len = strlen(h[i].text);
		if (len > 400) {
			len = 400;
			while (len > 0 && (h[i].text[len] & 0xC0) == 0x80)
				len--;
		}
		jw_key(w, "excerpt");
		jw_strn(w, h[i].text, len);
		jw_obj_close(w);
	}
	jw_arr_close(w);
}

static void extractive(arena *a, struct hit *hits, size_t n, const char *const *q, size_t nq, struct answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	size_t floor = (size_t)ceil(0.6 * (double)nq);
	if (floor < 1)
		floor = 1;
	size_t best = 0;
	for (size_t i = 0; i < n; i++)
		best = hits[i].cover > best ? hits[i].cover : best;
	if (best < floor) {
		ans->text = UNKNOWN;
		ans->sources_json = "[]";
		return;
	}
	struct hit *cited = arena_alloc(a, CB_MAX_QUOTES * sizeof(*cited));
	size_t nc = 0;
	buf b;
	buf_init(&b, 0);
	buf_addstr(&b, "Voici ce que disent vos documents de cours :");
	for (size_t i = 0; i < n && nc < CB_MAX_QUOTES; i++) {
		if (hits[i].cover < floor)
			continue; /* fused rankings are not ordered by coverage */
		int dup = 0;
		for (size_t k = 0; k < nc; k++)
			dup |= strcmp(cited[k].material_id, hits[i].material_id) == 0 && cited[k].page == hits[i].page;
		if (dup)
			continue;
		cited[nc++] = hits[i];
		buf_printf(&b, "\n\n« %s » [%zu] (%s, page %d)", best_sentence(a, hits[i].text, q, nq), nc,
			   hits[i].title, hits[i].page);
	}
	ans->answered = 1;
	ans->text = arena_strdup(a, b.data ? b.data : "");
	buf_free(&b);
	ans->hits = cited;
	ans->nhits = nc;
	jwbuf j;
	jw *w = jwbuf_init(&j, 0);
	write_sources(w, a, cited, nc, NULL);
	ans->sources_json = arena_strdup(a, j.b.data ? j.b.data : "[]");
	buf_free(&j.b);
}

/* ---- rate limit ---- */

/*
 * Counts this question against the caller's limit inside the caller's transaction: ENT_OK, or
 * ENT_EBUSY with *retry seconds (nothing written), or an ent_err.
 */
static int rate_count(db_conn *c, const char *sub, int *retry)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, since = now - (int64_t)CB_RATE_WINDOW * 1000000;
	*retry = 0;
	int rc = SQL_RUN(c, "DELETE FROM chatbot_asks WHERE user_id = ? AND at_us < ?", SQL_T(sub), SQL_I(since));
	int64_t n = 0, oldest = now;
	if (rc >= 0) {
		db_stmt *s = db_prepare(c, "SELECT COUNT(*), MIN(at_us) FROM chatbot_asks WHERE user_id = ?");
		rc = ENT_EDB;
		if (s) {
			db_bind_text(s, 1, sub);
			rc = db_step(s);
			if (rc == DB_ROW) {
				n = db_col_int64(s, 0);
				oldest = db_col_is_null(s, 1) ? now : db_col_int64(s, 1);
			}
			db_done(s);
		}
	}
	if (rc >= 0 && n >= CB_RATE_MAX) {
		*retry = (int)((oldest + (int64_t)CB_RATE_WINDOW * 1000000 - now) / 1000000) + 1;
		return ENT_EBUSY;
	}
	if (rc >= 0)
		rc = SQL_RUN(c, "INSERT INTO chatbot_asks (user_id, at_us) VALUES (?, ?)", SQL_T(sub), SQL_I(now));
	return rc < 0 ? rc : ENT_OK;
}

/* The same in a transaction of its own. */
static int rate_take(db_conn *c, const char *sub, int *retry)
{
	int rc = db_begin(c);
	if (rc)
		return rc;
	rc = rate_count(c, sub, retry);
	if (!rc)
		rc = db_commit(c);
	if (rc)
		db_rollback(c);
	return rc;
}

/* The 429 answer of a question over the limit. */
static void rate_refused(http_req *req, int retry)
{
	http_set_header(req, "Retry-After", arena_printf(http_arena(req), "%d", retry));
	http_problemf(
		req, 429,
		"Vous avez posé %d questions en %d minutes, la limite de l'assistant. Réessayez dans %d minute%s.",
		(int)CB_RATE_MAX, CB_RATE_WINDOW / 60, (retry + 59) / 60, (retry + 59) / 60 > 1 ? "s" : "");
}

/* ---- a question ---- */

struct question {
	const char *text, *conversation_id, *course_id;
	const char *context;         /* the text searched: the question, with the previous one for a short follow-up */
	const struct cb_turn *turns; /* a follow-up's previous turns in its conversation, oldest first */
	size_t nturns;
	int new_conversation;
	int rate_later; /* counted against the limit when recorded, in the same transaction */
};

/*
 * Reads and checks a question (JSON body for POST, query string for GET), the caller's rights and
 * limit. Answers and returns -1 on any refusal.
 */
static int question_load(http_req *req, db_conn *c, struct viewer *vw, struct question *qn)
{
	arena *a = http_arena(req);
	memset(qn, 0, sizeof(*qn));
	json_t *errors = json_object();
	if (strcmp(http_method(req), "GET") == 0) {
		qn->text = http_query(req, "question");
		qn->conversation_id = http_query(req, "conversation_id");
		qn->course_id = http_query(req, "course_id");
	} else {
		json_t *body = http_json_body(req);
		if (!body) {
			json_decref(errors);
			return -1;
		}
		const char *k;
		json_t *v;
		json_object_foreach (body, k, v) {
			if (strcmp(k, "question") && strcmp(k, "conversation_id") && strcmp(k, "course_id"))
				json_object_set_new(errors, k, json_string("n'est pas un champ de la question"));
			else if (!json_is_string(v) && !json_is_null(v))
				json_object_set_new(errors, k, json_string("doit être un texte"));
		}
		qn->text = json_string_value(json_object_get(body, "question"));
		qn->conversation_id = json_string_value(json_object_get(body, "conversation_id"));
		qn->course_id = json_string_value(json_object_get(body, "course_id"));
	}
	if (!qn->text || !util_valid_text(qn->text) || !*qn->text)
		json_object_set_new(errors, "question", json_string("est requise"));
	else if (json_utf8_len(qn->text) > CB_QUESTION_MAX)
		json_object_set_new(errors, "question", json_string("est trop longue (2000 caractères au plus)"));
	if (qn->conversation_id && !util_is_uuid(qn->conversation_id))
		json_object_set_new(errors, "conversation_id",
				    json_string("doit être l'identifiant d'une conversation"));
	if (qn->course_id && !util_is_uuid(qn->course_id))
		json_object_set_new(errors, "course_id", json_string("doit être l'identifiant d'un cours"));
	if (http_invalid(req, errors))
		return -1;
	qn->text = arena_strdup(a, qn->text);
	qn->context = qn->text;
	int rc = viewer_load(c, a, http_principal(req), vw);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return -1;
	}
	if (qn->course_id) {
		int ok = viewer_narrow(a, vw, qn->course_id, c);
		if (ok < 0) {
			http_problem_err(req, ok, NULL);
			return -1;
		}
		if (!ok) {
			http_problem(req, 404, "Ce cours n'existe pas.");
			return -1;
		}
	}
	if (qn->conversation_id) {
		/* The caller's own conversation (another's answers 404): its last CB_TURNS turns, newest first. */
		db_stmt *s = SQL_PREP(c,
				      "SELECT question, answer FROM interactions_chatbot WHERE conversation_id = ?"
				      " AND user_id = ? ORDER BY created_at DESC, id DESC LIMIT " CB_TURNS_SQL,
				      SQL_T(qn->conversation_id), SQL_T(vw->sub));
		if (!s) {
			http_problem_err(req, ENT_EDB, NULL);
			return -1;
		}
		struct cb_turn *t = arena_alloc(a, CB_TURNS * sizeof(*t));
		size_t n = 0;
		while ((rc = db_step(s)) == DB_ROW && n < CB_TURNS) {
			t[n].question = arena_strdup(a, db_col_text(s, 0));
			t[n].answer = arena_strdup(a, db_col_text(s, 1));
			n++;
		}
		db_done(s);
		if (rc < 0) {
			http_problem_err(req, rc, NULL);
			return -1;
		}
		if (!n) {
			http_problem(req, 404, "Cette conversation n'existe pas.");
			return -1;
		}
		/* Oldest first, as the model reads a conversation. */
		for (size_t i = 0; i < n / 2; i++) {
			struct cb_turn x = t[i];
			t[i] = t[n - 1 - i];
			t[n - 1 - i] = x;
		}
		qn->turns = t;
		qn->nturns = n;
		/* A short follow-up ("Et la page suivante ?") is searched with the previous question. */
		const char *tmp[3];
		if (cb_stem_set(a, qn->text, tmp, 3) < 3)
			qn->context = arena_printf(a, "%s %s", t[n - 1].question, qn->text);
	} else {
		char *id = arena_alloc(a, 37);
		util_uuid(id);
		qn->conversation_id = id;
		qn->new_conversation = 1;
	}
	/*
	 * Without a model, an answer costs a few milliseconds: the question is counted when it is
	 * recorded, in one write transaction with it (one commit, one fsync, per question). With a
	 * model, before the model is called.
	 */
	if (!cb_llm_on()) {
		qn->rate_later = 1;
		return 0;
	}
	int retry;
	rc = rate_take(c, vw->sub, &retry);
	if (rc == ENT_EBUSY && retry) {
		rate_refused(req, retry);
		return -1;
	}
	if (rc) {
		http_problem_err(req, rc, NULL);
		return -1;
	}
	return 0;
}

/* Records the interaction; its id into id (37 bytes). */
static int record(db_conn *c, const struct viewer *vw, const struct question *qn, const struct answer *ans,
		  const char *mode, int64_t first_ms, char *id);

/* Records the interaction, counted against the limit first when not yet (rate_later): ENT_EBUSY with *retry. */
static int record_counted(db_conn *c, const struct viewer *vw, const struct question *qn, const struct answer *ans,
			  const char *mode, int64_t first_ms, char *id, int *retry)
{
	*retry = 0;
	if (!qn->rate_later)
		return record(c, vw, qn, ans, mode, first_ms, id);
	int rc = db_begin(c);
	if (rc)
		return rc;
	rc = rate_count(c, vw->sub, retry);
	if (!rc)
		rc = record(c, vw, qn, ans, mode, first_ms, id);
	if (!rc)
		rc = db_commit(c);
	if (rc)
		db_rollback(c);
	return rc;
}

static int record(db_conn *c, const struct viewer *vw, const struct question *qn, const struct answer *ans,
		  const char *mode, int64_t first_ms, char *id)
{
	util_uuid(id);
	char now[32];
	cb_now_precise(now);
	int rc = SQL_RUN(c,
			 "INSERT INTO interactions_chatbot (id, user_id, conversation_id, class_id, course_id,"
			 " question, answer, sources, answered, mode, first_token_ms, created_at)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			 SQL_T(id), SQL_T(vw->sub), SQL_T(qn->conversation_id), SQL_T(vw->class_id),
			 SQL_T(qn->course_id), SQL_T(qn->text), SQL_T(ans->text), SQL_T(ans->sources_json),
			 SQL_I(ans->answered), SQL_T(mode), SQL_I(first_ms), SQL_T(now));
	return rc < 0 ? rc : ENT_OK;
}

/* What retrieval found for a question: the passages, best first. */
struct found {
	struct hit *hits;
	size_t n;
};

/* Retrieval and the extractive answer for a loaded question (the passages found into f). */
static int answer_question(db_conn *c, arena *a, const struct viewer *vw, const struct question *qn, struct answer *ans,
			   struct found *f)
{
	const char **q = arena_alloc(a, CB_MAX_STEMS * sizeof(*q));
	size_t nq = cb_stem_set(a, qn->context, q, CB_MAX_STEMS);
	struct hit *hits = arena_alloc(a, CB_TOP * sizeof(*hits));
	int n = retrieve(c, a, vw, qn->context, q, nq, hits);
	if (n < 0)
		return n;
	extractive(a, hits, (size_t)n, q, nq, ans);
	f->hits = hits;
	f->n = (size_t)n;
	return ENT_OK;
}

/* ---- answers written by a model (ENT_LLM) ---- */

/* Passages given to the model at most. */
#define CB_GIVEN 5

/* A generated answer as it is written: the text so far, the filter, the time of its first piece. */
struct gen {
	buf text;
	struct cb_cite cite;
	uint64_t t0;
	int64_t first_ms;
	sse_stream *st; /* NULL: not streamed */
	int gone;       /* the stream's client left */
};

/* Receives the filtered answer: keeps it, and sends it on as a "token" event when streamed. */
static int gen_out(void *ctx, const char *s, size_t len)
{
	struct gen *g = ctx;
	if (g->first_ms < 0)
		g->first_ms = (int64_t)((util_now_ns() - g->t0) / 1000000);
	buf_add(&g->text, s, len);
	if (g->st) {
		jwbuf j;
		jw *w = jwbuf_init(&j, 0);
		jw_obj_open(w);
		jw_key(w, "text");
		jw_strn(w, s, len);
		jw_obj_close(w);
		if (sse_send(g->st, "token", NULL, j.b.data) < 0)
			g->gone = 1;
		buf_free(&j.b);
	}
	return g->gone || cb_jobs_stopping() || http_stopping();
}

static int gen_in(void *ctx, const char *s, size_t len)
{
	struct gen *g = ctx;
	return cb_cite_feed(&g->cite, s, len);
}

/* The passages given to the model: the first CB_GIVEN found. */
static size_t given_of(const struct found *f) { return f->n < CB_GIVEN ? f->n : CB_GIVEN; }

/*
 * Starts the model on qn with the passages found (only above the relevance floor): the prompt, the
 * filter, the chat. done(ctx, rc) follows on the relay thread (see cb_llm_chat_start), then
 * gen_end(). ENT_OK, or ENT_EBUSY (too many chats in flight: neither done nor gen_end follows).
 */
static int gen_start(arena *a, const struct question *qn, const struct found *f, struct gen *g,
		     void (*done)(void *ctx, int rc), void *ctx)
{
	size_t ng = given_of(f);
	struct cb_given *given = arena_alloc(a, (ng ? ng : 1) * sizeof(*given));
	for (size_t i = 0; i < ng; i++)
		given[i] = (struct cb_given){f->hits[i].title, f->hits[i].text, f->hits[i].page};
	const char *user = cb_prompt_user(a, qn->text, given, ng);
	buf_init(&g->text, 1u << 20);
	g->first_ms = -1;
	cb_cite_init(&g->cite, ng, gen_out, g);
	int rc = cb_llm_chat_start(CB_SYSTEM_PROMPT, qn->turns, qn->nturns, user, gen_in, g, done, ctx);
	if (rc)
		buf_free(&g->text);
	return rc;
}

/*
 * After the model (rc: its done's): replaces *ans by its answer. Sources are the passages it
 * cites (with their numbers in the prompt; all of those given when it cites none); a "Je ne sais
 * pas" without citation is not answered. Returns 0, or ENT_EUNAVAIL when the model gave nothing
 * (ans is left as it was).
 */
static int gen_end(arena *a, const struct found *f, struct gen *g, int rc, struct answer *ans)
{
	size_t ng = given_of(f);
	cb_cite_end(&g->cite);
	if (g->cite.removed)
		log_warn("chatbot: %d citation%s of passages not given removed from a generated answer",
			 g->cite.removed, g->cite.removed > 1 ? "s" : "");
	if (rc < 0 && !g->text.len) {
		buf_free(&g->text);
		return ENT_EUNAVAIL;
	}
	const char *text = arena_strdup(a, g->text.data ? g->text.data : "");
	buf_free(&g->text);
	const char *t = text;
	while (*t == ' ' || *t == '\n')
		t++;
	int unknown = !g->cite.cited && strncmp(t, "Je ne sais pas", 14) == 0;
	memset(ans, 0, sizeof(*ans));
	ans->text = text;
	ans->answered = !unknown;
	ans->sources_json = "[]";
	if (unknown)
		return ENT_OK;
	struct hit *cited = arena_alloc(a, (ng ? ng : 1) * sizeof(*cited));
	int *nums = arena_alloc(a, (ng ? ng : 1) * sizeof(*nums));
	size_t nc = 0;
	for (size_t i = 0; i < ng; i++)
		if (!g->cite.cited || (i < 64 && (g->cite.cited >> i) & 1)) {
			cited[nc] = f->hits[i];
			nums[nc++] = (int)i + 1;
		}
	ans->hits = cited;
	ans->nhits = nc;
	jwbuf j;
	jw *w = jwbuf_init(&j, 0);
	write_sources(w, a, cited, nc, nums);
	ans->sources_json = arena_strdup(a, j.b.data ? j.b.data : "[]");
	buf_free(&j.b);
	return ENT_OK;
}

static void suggestions(jw *w)
{
	jw_arr_open(w);
	jw_obj_open(w);
	jw_kstr(w, "label", "Consulter la FAQ");
	jw_kstr(w, "link", "/support/faq");
	jw_obj_close(w);
	jw_obj_open(w);
	jw_kstr(w, "label", "Ouvrir un ticket d'assistance");
	jw_kstr(w, "link", "/support/nouvelle");
	jw_obj_close(w);
	jw_arr_close(w);
}

/* What both ways of asking start from: the caller, the question, its extractive answer and the passages found. */
struct asking {
	uint64_t t0;
	db_conn *c;
	arena *a;
	struct viewer vw;
	struct question qn;
	struct answer ans;
	struct found f;
};

/*
 * Reads the question of req and answers it extractively into k. 0, or -1 after answering (503,
 * the question refused, the answer that could not be found ...).
 */
static int ask_begin(http_req *req, struct asking *k)
{
	k->t0 = util_now_ns();
	k->c = http_db(req);
	if (!k->c)
		return -1;
	k->a = http_arena(req);
	if (question_load(req, k->c, &k->vw, &k->qn))
		return -1;
	int rc = answer_question(k->c, k->a, &k->vw, &k->qn, &k->ans, &k->f);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return -1;
	}
	return 0;
}

/* The JSON answer to a question. */
static void ask_reply(http_req *req, const struct asking *k, const char *id, const char *mode)
{
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "interaction_id", id);
	jw_kstr(w, "conversation_id", k->qn.conversation_id);
	jw_kstr(w, "question", k->qn.text);
	jw_kstr(w, "answer", k->ans.text);
	jw_kbool(w, "answered", k->ans.answered);
	jw_key(w, "sources");
	jw_raw(w, k->ans.sources_json, strlen(k->ans.sources_json));
	if (!k->ans.answered) {
		jw_key(w, "suggestions");
		suggestions(w);
	}
	jw_kstr(w, "mode", mode);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

/* Records the answer of k and replies with it (the extractive one unless the model wrote it). */
static void ask_record_reply(http_req *req, db_conn *c, struct asking *k, const char *mode, int64_t first_ms)
{
	if (first_ms < 0)
		first_ms = (int64_t)((util_now_ns() - k->t0) / 1000000);
	char id[37];
	int retry;
	int rc = record_counted(c, &k->vw, &k->qn, &k->ans, mode, first_ms, id, &retry);
	if (rc == ENT_EBUSY && retry) {
		rate_refused(req, retry);
		return;
	}
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	ask_reply(req, k, id, mode);
}

/* A question whose answer the model writes: everything in the request's arena while it waits. */
struct ask_later {
	http_req *req;
	struct asking k;
	struct gen g;
	int rc; /* the chat's outcome */
};

/* The model is done (relay thread): the request is resumed, ask_finish answers. */
static void ask_done(void *ctx, int rc)
{
	struct ask_later *l = ctx;
	l->rc = rc;
	http_resume(l->req);
}

/* A server thread again (or the connection is gone: the answer is still recorded). */
static void ask_finish(http_req *req, void *ctx)
{
	struct ask_later *l = ctx;
	const char *mode = "extractive";
	int64_t first_ms = -1;
	if (gen_end(l->k.a, &l->k.f, &l->g, l->rc, &l->k.ans) == ENT_OK) {
		mode = "generated";
		first_ms = l->g.first_ms;
	}
	db_conn *c = http_db(req);
	if (c)
		ask_record_reply(req, c, &l->k, mode, first_ms);
}

void cb_ask(http_req *req)
{
	struct asking k;
	if (ask_begin(req, &k))
		return;
	if (k.ans.answered && cb_llm_on()) {
		/* Below the relevance floor the model is never called. Above it, no thread waits for the
		 * model: the request is deferred (its connection suspended) until the relay has the answer. */
		struct ask_later *l = arena_calloc(k.a, 1, sizeof(*l));
		l->req = req;
		l->k = k;
		l->g.t0 = k.t0;
		http_defer(req, ask_finish, l);
		if (gen_start(k.a, &l->k.qn, &l->k.f, &l->g, ask_done, l) == ENT_OK)
			return;
		/* Too many chats in flight: the extractive answer, now. */
		l->rc = ENT_EUNAVAIL;
		l->g.text = (buf){0};
		cb_cite_init(&l->g.cite, 0, gen_out, &l->g);
		http_resume(req);
		return;
	}
	ask_record_reply(req, k.c, &k, "extractive", -1);
}

/* ---- the stream ---- */

static void stream_closed(sse_stream *s, void *ctx)
{
	(void)s;
	(void)ctx;
}

/* Sends text as "token" events of a few words each, as a model would. */
static void send_tokens(sse_stream *st, const char *text)
{
	jwbuf j;
	const char *p = text;
	while (*p) {
		const char *e = p;
		int words = 0;
		while (*e && words < 4) {
			if (*e == ' ' || *e == '\n')
				words++;
			e++;
		}
		jw *w = jwbuf_init(&j, 0);
		jw_obj_open(w);
		jw_key(w, "text");
		jw_strn(w, p, (size_t)(e - p));
		jw_obj_close(w);
		sse_send(st, "token", NULL, j.b.data);
		buf_free(&j.b);
		p = e;
	}
}

/* The "sources" event that opens a stream. */
static void send_sources(sse_stream *st, const char *conversation_id, const char *sources_json)
{
	jwbuf j;
	jw *w = jwbuf_init(&j, 0);
	jw_obj_open(w);
	jw_kstr(w, "conversation_id", conversation_id);
	jw_key(w, "sources");
	jw_raw(w, sources_json, strlen(sources_json));
	jw_obj_close(w);
	sse_send(st, "sources", NULL, j.b.data);
	buf_free(&j.b);
}

/* The "done" event (with the answer's final sources), then the end of the stream. */
static void send_done(sse_stream *st, const char *id, const char *conversation_id, const struct answer *ans)
{
	jwbuf j;
	jw *w = jwbuf_init(&j, 0);
	jw_obj_open(w);
	jw_kstr(w, "interaction_id", id);
	jw_kstr(w, "conversation_id", conversation_id);
	jw_kbool(w, "answered", ans->answered);
	jw_key(w, "sources");
	jw_raw(w, ans->sources_json, strlen(ans->sources_json));
	if (!ans->answered) {
		jw_key(w, "suggestions");
		suggestions(w);
	}
	jw_obj_close(w);
	sse_send(st, "done", id, j.b.data);
	buf_free(&j.b);
	sse_close(st);
	sse_release(st);
}

/* A streamed answer to be written by the model on a worker thread; everything in its own arena. */
struct stream_job {
	arena *a;
	sse_stream *st;
	struct viewer vw;
	struct question qn;
	struct found f;
	struct answer extract; /* the extractive answer, if the model fails before writing anything */
	uint64_t t0;
	struct gen g; /* the answer as the model writes it */
	int rc;       /* the chat's outcome */
};

static const char *dup_or_null(arena *a, const char *s) { return s ? arena_strdup(a, s) : NULL; }

static struct stream_job *job_new(const struct viewer *vw, const struct question *qn, const struct found *f,
				  const struct answer *ans, uint64_t t0)
{
	arena *a = arena_new(0);
	struct stream_job *j = arena_calloc(a, 1, sizeof(*j));
	j->a = a;
	j->t0 = t0;
	j->vw.sub = arena_strdup(a, vw->sub);
	j->vw.roles = vw->roles;
	j->vw.class_id = dup_or_null(a, vw->class_id);
	j->qn.text = arena_strdup(a, qn->text);
	j->qn.conversation_id = arena_strdup(a, qn->conversation_id);
	j->qn.course_id = dup_or_null(a, qn->course_id);
	j->qn.context = arena_strdup(a, qn->context);
	struct cb_turn *turns = arena_alloc(a, (qn->nturns ? qn->nturns : 1) * sizeof(*turns));
	for (size_t i = 0; i < qn->nturns; i++)
		turns[i] = (struct cb_turn){arena_strdup(a, qn->turns[i].question),
					    arena_strdup(a, qn->turns[i].answer)};
	j->qn.turns = turns;
	j->qn.nturns = qn->nturns;
	size_t ng = given_of(f);
	j->f.hits = arena_calloc(a, ng ? ng : 1, sizeof(*j->f.hits));
	j->f.n = ng;
	for (size_t i = 0; i < ng; i++) {
		const struct hit *h = &f->hits[i];
		j->f.hits[i] = (struct hit){.id = h->id,
					    .material_id = arena_strdup(a, h->material_id),
					    .course_id = arena_strdup(a, h->course_id),
					    .file_id = arena_strdup(a, h->file_id),
					    .title = arena_strdup(a, h->title),
					    .text = arena_strdup(a, h->text),
					    .stems = "",
					    .page = h->page,
					    .cover = h->cover};
	}
	j->extract = (struct answer){.answered = ans->answered,
				     .text = arena_strdup(a, ans->text),
				     .sources_json = arena_strdup(a, ans->sources_json)};
	return j;
}

/* The end of a streamed answer (a worker): the answer recorded, "done" sent, the stream ended. */
static void stream_finish(void *arg)
{
	struct stream_job *j = arg;
	arena *a = j->a;
	struct answer ans = j->extract;
	const char *mode = "generated";
	if (gen_end(a, &j->f, &j->g, j->rc, &ans) != ENT_OK) {
		/* The model failed before writing anything: the extractive answer instead. */
		mode = "extractive";
		ans = j->extract;
		j->g.first_ms = (int64_t)((util_now_ns() - j->t0) / 1000000);
		send_tokens(j->st, ans.text);
	}
	if (j->g.first_ms < 0)
		j->g.first_ms = (int64_t)((util_now_ns() - j->t0) / 1000000);
	char id[37] = "";
	db_conn *c = app_db();
	int rc = c ? record(c, &j->vw, &j->qn, &ans, mode, j->g.first_ms, id) : ENT_EUNAVAIL;
	if (rc)
		log_error("chatbot: a streamed answer could not be recorded: %s", ent_err_str(rc));
	send_done(j->st, rc ? NULL : id, j->qn.conversation_id, &ans);
	arena_free(a);
}

/* The model is done (relay thread): the rest goes to a worker, which may write to the database. */
static void stream_done(void *ctx, int rc)
{
	struct stream_job *j = ctx;
	j->rc = rc;
	if (cb_jobs_submit(stream_finish, j) != ENT_OK)
		stream_finish(j); /* the workers stop: here, then */
}

/* Streams k's extractive answer: its sources, its text, then "done" with the interaction id (NULL: not recorded). */
static void send_extractive(sse_stream *st, const struct asking *k, const char *id)
{
	send_sources(st, k->qn.conversation_id, k->ans.sources_json);
	send_tokens(st, k->ans.text);
	send_done(st, id, k->qn.conversation_id, &k->ans);
}

void cb_ask_stream(http_req *req)
{
	struct asking k;
	if (ask_begin(req, &k))
		return;
	if (k.ans.answered && cb_llm_on()) {
		/* Written by the model: the relay thread sends its tokens as they come; no thread waits. */
		struct stream_job *j = job_new(&k.vw, &k.qn, &k.f, &k.ans, k.t0);
		sse_stream *st = sse_open(req, stream_closed, NULL);
		if (!st) {
			arena_free(j->a);
			return;
		}
		j->st = st;
		j->g.t0 = k.t0;
		j->g.st = st;
		/* The passages given, numbered as in the prompt: what [n] in the tokens refers to. */
		jwbuf jb;
		jw *w = jwbuf_init(&jb, 0);
		write_sources(w, j->a, j->f.hits, j->f.n, NULL);
		send_sources(st, j->qn.conversation_id, jb.b.data ? jb.b.data : "[]");
		buf_free(&jb.b);
		if (gen_start(j->a, &j->qn, &j->f, &j->g, stream_done, j) == ENT_OK)
			return;
		/* Too many chats in flight: the extractive answer, now. */
		arena_free(j->a);
		char id[37];
		int rc = record(k.c, &k.vw, &k.qn, &k.ans, "extractive", (int64_t)((util_now_ns() - k.t0) / 1000000),
				id);
		if (rc)
			log_error("chatbot: a streamed answer could not be recorded: %s", ent_err_str(rc));
		send_tokens(st, k.ans.text);
		send_done(st, rc ? NULL : id, k.qn.conversation_id, &k.ans);
		return;
	}
	char id[37];
	int retry;
	int rc = record_counted(k.c, &k.vw, &k.qn, &k.ans, "extractive", (int64_t)((util_now_ns() - k.t0) / 1000000),
				id, &retry);
	if (rc == ENT_EBUSY && retry) {
		rate_refused(req, retry);
		return;
	}
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	sse_stream *st = sse_open(req, stream_closed, NULL);
	if (!st)
		return;
	send_extractive(st, &k, id);
}

/* ---- history ---- */

#define INT_COLS                                                                                                       \
	"id, conversation_id, question, answer, sources, answered, mode, first_token_ms, feedback, comment, created_at"

static void interaction_write(jw *w, db_stmt *s, void *unused)
{
	(void)unused;
	jw_obj_open(w);
	jw_kstr(w, "id", db_col_text(s, 0));
	jw_kstr(w, "conversation_id", db_col_text(s, 1));
	jw_kstr(w, "question", db_col_text(s, 2));
	jw_kstr(w, "answer", db_col_text(s, 3));
	jw_key(w, "sources");
	jw_raw(w, db_col_text(s, 4), db_col_bytes(s, 4));
	jw_kbool(w, "answered", db_col_int64(s, 5) != 0);
	jw_kstr(w, "mode", db_col_text(s, 6));
	jw_key(w, "time_to_first_token_ms");
	if (db_col_is_null(s, 7))
		jw_null(w);
	else
		jw_int(w, db_col_int64(s, 7));
	jw_key(w, "feedback");
	jw_str(w, db_col_is_null(s, 8) ? NULL : db_col_int64(s, 8) > 0 ? "up" : "down");
	jw_kstr(w, "comment", db_col_text(s, 9));
	jw_kstr(w, "created_at", db_col_text(s, 10));
	jw_obj_close(w);
}

/* GET /chatbot/history[?conversation_id=]: the caller's questions and answers, newest first. */
void cb_conversations_list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "chatbot_history", 2))
		return;
	const char *conv = http_query(req, "conversation_id");
	json_t *errors = json_object();
	if (conv && !util_is_uuid(conv))
		json_object_set_new(errors, "conversation_id",
				    json_string("doit être l'identifiant d'une conversation"));
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	static const char *const sqls[4] = {
		"SELECT " INT_COLS
		" FROM interactions_chatbot WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
		"SELECT " INT_COLS " FROM interactions_chatbot WHERE user_id = ? AND (created_at, id) < (?, ?)"
		" ORDER BY created_at DESC, id DESC LIMIT ?",
		"SELECT " INT_COLS " FROM interactions_chatbot WHERE user_id = ? AND conversation_id = ?"
		" ORDER BY created_at DESC, id DESC LIMIT ?",
		"SELECT " INT_COLS " FROM interactions_chatbot WHERE user_id = ? AND conversation_id = ?"
		" AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?",
	};
	db_stmt *s = db_prepare(c, sqls[(conv ? 2 : 0) + pg.has_cursor]);
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	int k = 1;
	db_bind_text(s, k++, http_principal(req)->sub);
	if (conv)
		db_bind_text(s, k++, conv);
	page_bind(&pg, s, k);
	static const char *const keep[] = {"conversation_id", "limit", NULL};
	page_rows(&pg, s, (const int[]){10, 0}, interaction_write, NULL, NULL, keep);
}

/* GET /chatbot/interactions/{id}: one of the caller's own. */
void cb_conversation_get(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *id = http_param(req, "id");
	db_stmt *s = util_is_uuid(id) ? db_prepare(c, "SELECT " INT_COLS
						      " FROM interactions_chatbot WHERE id = ? AND user_id = ?")
				      : NULL;
	int rc = DB_DONE;
	if (s) {
		db_bind_text(s, 1, id);
		db_bind_text(s, 2, http_principal(req)->sub);
		rc = db_step(s);
		if (rc == DB_ROW)
			interaction_write(http_jw(req), s, NULL);
		db_done(s);
	}
	if (rc < 0)
		http_problem_err(req, rc, NULL);
	else if (rc != DB_ROW)
		http_problem(req, 404, "Cette question n'existe pas.");
	else
		http_reply_jw(req, 200);
}

/* DELETE /chatbot/history[?conversation_id=]: the caller's questions, all or one conversation's. */
void cb_history_delete(http_req *req)
{
	const char *conv = http_query(req, "conversation_id");
	json_t *errors = json_object();
	if (conv && !util_is_uuid(conv))
		json_object_set_new(errors, "conversation_id",
				    json_string("doit être l'identifiant d'une conversation"));
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *sub = http_principal(req)->sub;
	int rc = conv ? db_run(c, "DELETE FROM interactions_chatbot WHERE user_id = ? AND conversation_id = ?", sub,
			       conv)
		      : db_run(c, "DELETE FROM interactions_chatbot WHERE user_id = ?", sub, NULL);
	if (rc)
		http_problem_err(req, rc, NULL);
	else
		http_reply_empty(req, 204);
}

/* PUT /chatbot/interactions/{id}/feedback {"rating": "up"|"down", "comment": text?} */
void cb_feedback(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	static const char *const ratings[] = {"up", "down", NULL};
	static const struct jfield f[] = {{"rating", JF_STRING, 1, 0, 0, 0, ratings},
					  {"comment", JF_STRING, 0, 1, 0, 2000, NULL}};
	json_t *errors = json_object();
	json_check(body, f, 2, errors);
	const char *k;
	json_t *v;
	json_object_foreach (body, k, v)
		if (strcmp(k, "rating") && strcmp(k, "comment"))
			json_object_set_new(errors, k, json_string("n'est pas un champ de l'avis"));
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *id = http_param(req, "id");
	int64_t changed = 0;
	int rc =
		util_is_uuid(id)
			? SQL_CHANGE(
				  c, &changed,
				  "UPDATE interactions_chatbot SET feedback = ?, comment = ? WHERE id = ? AND user_id = ?",
				  SQL_I(strcmp(json_get_str(body, "rating", ""), "up") == 0 ? 1 : -1),
				  SQL_T(json_get_str(body, "comment", NULL)), SQL_T(id),
				  SQL_T(http_principal(req)->sub))
			: DB_DONE;
	if (rc < 0)
		http_problem_err(req, rc, NULL);
	else if (!changed)
		http_problem(req, 404, "Cette question n'existe pas.");
	else
		http_reply_empty(req, 204);
}

/* ---- GET /chatbot/unanswered?course_id= ---- */

void cb_unanswered(http_req *req)
{
	const char *course = http_query(req, "course_id");
	json_t *errors = json_object();
	if (!course || !util_is_uuid(course))
		json_object_set_new(errors, "course_id", json_string("doit être l'identifiant d'un cours"));
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	const struct http_principal *p = http_principal(req);
	int acc = cours_access(c, course, p->sub, p->roles);
	if (acc < 0) {
		http_problem_err(req, acc, NULL);
		return;
	}
	if (acc == COURS_NONE) {
		http_problem(req, 404, "Ce cours n'existe pas.");
		return;
	}
	if (acc < COURS_EDIT) {
		http_problem(req, 403, "Seuls les enseignants du cours voient les questions restées sans réponse.");
		return;
	}
	arena *a = http_arena(req);
	const char **classes;
	int n = cours_classes_of(c, a, course, &classes);
	if (n < 0) {
		http_problem_err(req, n, NULL);
		return;
	}
	/* Asked about this course, or by a student of one of its classes; who asked is not shown. */
	json_t *items = json_array();
	int rc = ENT_OK;
	for (int i = 0; !rc && i <= n / COURS_BATCH; i++) {
		db_stmt *s = SQL_PREP(
			c,
			"SELECT id, question, created_at FROM interactions_chatbot WHERE answered = 0 AND"
			" (course_id = ? OR (course_id IS NULL AND class_id IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
			" ?, ?, ?, ?))) ORDER BY created_at DESC, id DESC LIMIT 200",
			SQL_T(course));
		if (!s) {
			rc = ENT_EDB;
			break;
		}
		for (int k = 0; k < COURS_BATCH; k++) {
			int at = i * COURS_BATCH + k;
			db_bind_text_or_null(s, 2 + k, at < n ? classes[at] : NULL);
		}
		while ((rc = db_step(s)) == DB_ROW) {
			int dup = 0;
			size_t x;
			json_t *it;
			json_array_foreach (items, x, it)
				dup |= strcmp(json_string_value(json_object_get(it, "id")), db_col_text(s, 0)) == 0;
			if (!dup)
				json_array_append_new(items,
						      json_pack("{s:s, s:s, s:s}", "id", db_col_text(s, 0), "question",
								db_col_text(s, 1), "created_at", db_col_text(s, 2)));
		}
		db_done(s);
		rc = rc < 0 ? rc : ENT_OK;
	}
	if (rc) {
		json_decref(items);
		http_problem_err(req, rc, NULL);
		return;
	}
	http_reply_json(req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
}

/* ---- `ent ask` ---- */

int cb_cmd_ask(int argc, char **argv)
{
	int by_course = argc > 1 && strcmp(argv[1], "--by-course") == 0;
	if (by_course) {
		argc--;
		argv++;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr,
			"usage: ent ask [--by-course] QUESTION...\n  Prints the passages the assistant retrieves for QUESTION, best first, as an\n"
			"  administrator (every course): rank, document, page, stems held, title. No answer is\n"
			"  recorded. For tuning retrieval (tests/api/chatbot-quality.json). --by-course: as a\n"
			"  teacher of every indexed course, the search students and teachers get (by course).\n");
		return argc < 2 ? 2 : 0;
	}
	db_conn *c = app_db();
	if (!c) {
		fprintf(stderr, "ent ask: the database cannot be reached\n");
		return 1;
	}
	arena *a = arena_new(0);
	buf b;
	buf_init(&b, 0);
	for (int i = 1; i < argc; i++)
		buf_printf(&b, "%s%s", i > 1 ? " " : "", argv[i]);
	const char *text = arena_strdup(a, b.data ? b.data : "");
	buf_free(&b);
	struct viewer vw = {.sub = "", .roles = ROLE_ADMIN, .all = 1};
	if (by_course) {
		db_stmt *s = db_prepare(c, "SELECT DISTINCT course_id FROM chatbot_documents ORDER BY course_id");
		if (!s) {
			fprintf(stderr, "ent ask: the database cannot be reached\n");
			arena_free(a);
			return 1;
		}
		const char **ids = NULL;
		size_t n = 0, cap = 0;
		while (db_step(s) == DB_ROW) {
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				const char **g = arena_alloc(a, cap * sizeof(*g));
				if (n)
					memcpy(g, ids, n * sizeof(*g));
				ids = g;
			}
			ids[n++] = arena_strdup(a, db_col_text(s, 0));
		}
		db_done(s);
		vw.all = 0;
		vw.edit = ids;
		vw.nedit = n;
	}
	const char **q = arena_alloc(a, CB_MAX_STEMS * sizeof(*q));
	size_t nq = cb_stem_set(a, text, q, CB_MAX_STEMS);
	struct hit *hits = arena_alloc(a, CB_TOP * sizeof(*hits));
	int n = retrieve(c, a, &vw, text, q, nq, hits);
	if (n < 0) {
		fprintf(stderr, "ent ask: %s\n", ent_err_str(n));
		arena_free(a);
		return 1;
	}
	for (int i = 0; i < n; i++)
		printf("%d\t%s\t%d\t%zu/%zu\t%s\n", i + 1, hits[i].material_id, hits[i].page, hits[i].cover, nq,
		       hits[i].title);
	arena_free(a);
	return 0;
}
