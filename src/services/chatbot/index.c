/*
 * index.c - the chatbot's index of course documents.
 *
 * The cours service publishes "material.published" and "material.deleted" (docs/bus.md) in the
 * transaction of each change; this consumer brings the index in line with what the material is
 * *now* (cours_material_get), not with what the event says: so events applied late, twice or out
 * of order all end in the same state. A document (chatbot_documents, one per material) records the
 * file it was read from, its title, course and publication time, its status (indexed, unreadable,
 * empty, with a French reason a teacher can read) and whether a teacher excluded it; its passages
 * (chatbot_passages) keep course, document and page. On SQLite the stems of each passage go into
 * the FTS5 table chatbot_fts (rowid = passage id); on PostgreSQL a generated tsvector column
 * ('french' configuration) of chatbot_passages serves the same purpose.
 *
 * A material published later (publish_at in the future) is indexed at once; the query filters on
 * publish_at (ask.c). Everything is written on the consumer's connection inside the bus's
 * transaction: a deleted or replaced document leaves the index when the event is applied.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#include "core/app.h"
#include "core/err.h"
#include "core/log.h"
#include "core/page.h"
#include "core/service.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/cours/cours.h"
#include "services/fichiers/fichiers.h"

/* The largest file whose text is extracted. */
#define CB_MAX_FILE (32u << 20)

int cb_index_remove(db_conn *c, const char *material_id)
{
	int rc = cb_vectors_on() ? cb_vec_queue(c, material_id) : ENT_OK;
	if (!rc && db_conn_kind(c) == DB_SQLITE)
		rc = db_run(
			c,
			"DELETE FROM chatbot_fts WHERE rowid IN (SELECT id FROM chatbot_passages WHERE material_id = ?)",
			material_id, NULL);
	if (!rc)
		rc = db_run(c, "DELETE FROM chatbot_passages WHERE material_id = ?", material_id, NULL);
	if (!rc)
		rc = db_run(c, "DELETE FROM chatbot_documents WHERE material_id = ?", material_id, NULL);
	return rc;
}

static const char *const status_names[] = {"indexed", "unreadable", "empty"};

static int insert_passages(db_conn *c, arena *a, const struct cours_material *m, const struct cb_doc *d)
{
	int sqlite = db_conn_kind(c) == DB_SQLITE;
	for (size_t i = 0; i < d->npassages; i++) {
		const char *stems = cb_stems(a, d->passages[i].text);
		db_stmt *s = SQL_PREP(c,
				      "INSERT INTO chatbot_passages (material_id, course_id, page, seq, text, stems)"
				      " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
				      SQL_T(m->id), SQL_T(m->cours_id), SQL_I(d->passages[i].page), SQL_I((int64_t)i),
				      SQL_T(d->passages[i].text), SQL_T(stems));
		if (!s)
			return ENT_EDB;
		int rc = db_step(s);
		int64_t id = rc == DB_ROW ? db_col_int64(s, 0) : 0;
		db_done(s);
		if (rc < 0)
			return rc;
		if (!sqlite)
			continue;
		const char *course = cb_course_token(a, m->cours_id);
		rc = SQL_RUN(c, "INSERT INTO chatbot_fts (rowid, stems, course, cstems) VALUES (?, ?, ?, ?)", SQL_I(id),
			     SQL_T(stems), SQL_T(course), SQL_T(cb_course_stems(a, course, stems)));
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

/* Reads and indexes m's file (the document row is written here). */
static int index_file(db_conn *c, arena *a, const struct cours_material *m, int excluded)
{
	buf data;
	char type[128];
	struct cb_doc d;
	int rc = fichiers_read(c, m->file_id, CB_MAX_FILE, &data, type, sizeof(type));
	if (rc == ENT_ENOTFOUND) {
		/* The file went after this event was published: the event that detached it follows. */
		return cb_index_remove(c, m->id);
	}
	if (rc == ENT_ETOOBIG) {
		memset(&d, 0, sizeof(d));
		d.status = CB_UNREADABLE;
		d.reason = "le fichier est trop volumineux pour être lu par l'assistant (32 Mio au plus)";
	} else if (rc)
		return rc;
	else {
		rc = cb_extract(a, type, data.data ? data.data : "", data.len, &d);
		buf_free(&data);
		if (rc)
			return rc;
	}
	if ((rc = cb_index_remove(c, m->id)))
		return rc;
	char now[21];
	cb_now(now);
	rc = SQL_RUN(c,
		     "INSERT INTO chatbot_documents (material_id, course_id, file_id, title, publish_at,"
		     " status, reason, pages, passages, excluded, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		     SQL_T(m->id), SQL_T(m->cours_id), SQL_T(m->file_id), SQL_T(m->title), SQL_T(m->publish_at),
		     SQL_T(status_names[d.status]), SQL_T(d.reason), SQL_I(d.pages), SQL_I((int64_t)d.npassages),
		     SQL_I(excluded), SQL_T(now));
	if (rc < 0)
		return rc;
	/* Qdrant's points follow outside the transaction (vectors.c): cb_index_remove queued them. */
	return insert_passages(c, a, m, &d);
}

int cb_index_material(db_conn *c, const char *material_id)
{
	arena *a = arena_new(0);
	struct cours_material m;
	int rc = cours_material_get(c, a, material_id, &m);
	if (rc == ENT_ENOTFOUND || (!rc && !m.file_id)) {
		rc = cb_index_remove(c, material_id);
		goto out;
	}
	if (rc)
		goto out;
	db_stmt *s = SQL_PREP(c, "SELECT file_id, excluded, course_id FROM chatbot_documents WHERE material_id = ?",
			      SQL_T(material_id));
	if (!s) {
		rc = ENT_EDB;
		goto out;
	}
	rc = db_step(s);
	/* A material moved to another course is indexed again: its passages, index tokens and points carry the course. */
	int same = rc == DB_ROW && strcmp(db_col_text(s, 0), m.file_id) == 0 &&
		   strcmp(db_col_text(s, 2), m.cours_id) == 0;
	int excluded = rc == DB_ROW ? (int)db_col_int64(s, 1) : 0;
	db_done(s);
	if (rc < 0)
		goto out;
	if (same) {
		/* The same file: only what the answers show and the filters use may have changed. */
		rc = SQL_RUN(
			c,
			"UPDATE chatbot_documents SET title = ?, publish_at = ?, course_id = ? WHERE material_id = ?",
			SQL_T(m.title), SQL_T(m.publish_at), SQL_T(m.cours_id), SQL_T(material_id));
		goto out;
	}
	rc = index_file(c, a, &m, excluded);
out:
	arena_free(a);
	return rc < 0 ? rc : ENT_OK;
}

/* ---- the consumer ---- */

static int consume(db_conn *c, const struct bus_event *ev)
{
	const char *mid = json_string_value(json_object_get(ev->payload, "material_id"));
	if (!mid || !util_is_uuid(mid)) {
		log_warn("chatbot: event %s (%s) names no material; skipped", ev->id, ev->type);
		return ENT_OK;
	}
	int rc = cb_index_material(c, mid);
	if (rc)
		log_warn("chatbot: material %s could not be indexed (%s); retried later", mid, ent_err_str(rc));
	return rc;
}

static const char *const consumed_types[] = {"material.*", NULL};

const struct bus_consumer cb_consumer = {
	.name = "chatbot",
	.types = consumed_types,
	.handle = consume,
};

/* ---- GET /chatbot/documents?course_id= ---- */

/* Answers 404/403 unless the caller edits the course named by ?course_id= (or the path's {id}). */
static const char *edited_course(http_req *req, db_conn *c, const char *course)
{
	json_t *errors = json_object();
	if (!course || !util_is_uuid(course))
		json_object_set_new(errors, "course_id", json_string("doit être l'identifiant d'un cours"));
	if (http_invalid(req, errors))
		return NULL;
	const struct http_principal *p = http_principal(req);
	int acc = cours_access(c, course, p->sub, p->roles);
	if (acc < 0) {
		http_problem_err(req, acc, NULL);
		return NULL;
	}
	if (acc == COURS_NONE) {
		http_problem(req, 404, "Ce cours n'existe pas.");
		return NULL;
	}
	if (acc < COURS_EDIT) {
		http_problem(req, 403, "Seuls les enseignants du cours voient l'état de ses documents.");
		return NULL;
	}
	return course;
}

static void document_write(jw *w, db_stmt *s, void *unused)
{
	(void)unused;
	jw_obj_open(w);
	jw_kstr(w, "material_id", db_col_text(s, 0));
	jw_kstr(w, "course_id", db_col_text(s, 1));
	jw_kstr(w, "title", db_col_text(s, 2));
	jw_kstr(w, "publish_at", db_col_text(s, 3));
	jw_kstr(w, "status", db_col_text(s, 4));
	jw_kstr(w, "reason", db_col_text(s, 5));
	jw_kint(w, "pages", db_col_int64(s, 6));
	jw_kint(w, "passages", db_col_int64(s, 7));
	jw_kbool(w, "excluded", db_col_int64(s, 8) != 0);
	jw_kstr(w, "indexed_at", db_col_text(s, 9));
	jw_obj_close(w);
}

#define DOC_COLS "material_id, course_id, title, publish_at, status, reason, pages, passages, excluded, indexed_at"

void cb_documents_list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "chatbot_documents", 2))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *course = edited_course(req, c, http_query(req, "course_id"));
	if (!course)
		return;
	db_stmt *s = db_prepare(c, pg.has_cursor
					   ? "SELECT " DOC_COLS " FROM chatbot_documents WHERE course_id = ?"
					     " AND (title, material_id) > (?, ?) ORDER BY title, material_id LIMIT ?"
					   : "SELECT " DOC_COLS " FROM chatbot_documents WHERE course_id = ?"
					     " ORDER BY title, material_id LIMIT ?");
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	int k = 1;
	db_bind_text(s, k++, course);
	page_bind(&pg, s, k);
	static const char *const keep[] = {"course_id", "limit", NULL};
	page_rows(&pg, s, (const int[]){2, 0}, document_write, NULL, NULL, keep);
}

/* PATCH /chatbot/documents/{material_id} {"excluded": bool}: a teacher of the course keeps a document out of the answers. */
void cb_document_patch(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	json_t *errors = json_object();
	json_t *ex = json_object_get(body, "excluded");
	if (!json_is_boolean(ex))
		json_object_set_new(errors, "excluded", json_string("doit valoir true ou false"));
	if (json_object_size(body) != 1 || !ex)
		json_object_set_new(errors, "excluded", json_string("est le seul champ modifiable, et il est requis"));
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *mid = http_param(req, "material_id");
	char course[37] = "";
	db_stmt *s = util_is_uuid(mid) ? db_prepare(c, "SELECT course_id FROM chatbot_documents WHERE material_id = ?")
				       : NULL;
	int rc = DB_DONE;
	if (s) {
		db_bind_text(s, 1, mid);
		rc = db_step(s);
		if (rc == DB_ROW)
			snprintf(course, sizeof(course), "%s", db_col_text(s, 0));
		db_done(s);
	}
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	const struct http_principal *p = http_principal(req);
	int acc = course[0] ? cours_access(c, course, p->sub, p->roles) : COURS_NONE;
	if (acc < 0) {
		http_problem_err(req, acc, NULL);
		return;
	}
	if (acc == COURS_NONE) {
		http_problem(req, 404, "Ce document n'est pas dans l'index de l'assistant.");
		return;
	}
	if (acc < COURS_EDIT) {
		http_problem(req, 403, "Seuls les enseignants du cours peuvent exclure un document de l'assistant.");
		return;
	}
	rc = SQL_RUN(c, "UPDATE chatbot_documents SET excluded = ? WHERE material_id = ?", SQL_I(json_is_true(ex)),
		     SQL_T(mid));
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	s = SQL_PREP(c, "SELECT " DOC_COLS " FROM chatbot_documents WHERE material_id = ?", SQL_T(mid));
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	rc = db_step(s);
	if (rc == DB_ROW)
		document_write(http_jw(req), s, NULL);
	db_done(s);
	if (rc != DB_ROW) {
		http_problem_err(req, rc < 0 ? rc : ENT_ENOTFOUND, NULL);
		return;
	}
	http_reply_jw(req, 200);
}

/* ---- ent index ---- */

int cb_cmd_index(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: ent index\n  Rebuilds the chatbot's index of every course document.\n");
		return 2;
	}
	db_conn *c = app_db();
	if (!c) {
		fprintf(stderr, "ent index: the database cannot be reached\n");
		return 1;
	}
	arena *a = arena_new(0);
	struct cours_material *m;
	int n = cours_materials_with_files(c, a, &m);
	if (n < 0) {
		fprintf(stderr, "ent index: the materials could not be read: %s\n", ent_err_str(n));
		arena_free(a);
		return 1;
	}
	/* Documents whose material is gone or lost its file. */
	int rc = db_begin(c);
	if (!rc) {
		db_stmt *s = db_prepare(c, "SELECT material_id FROM chatbot_documents ORDER BY material_id");
		const char **stale = NULL;
		size_t ns = 0, cap = 0;
		rc = s ? DB_DONE : ENT_EDB;
		if (s) {
			while ((rc = db_step(s)) == DB_ROW) {
				const char *id = db_col_text(s, 0);
				int keep = 0;
				for (int i = 0; i < n && !keep; i++)
					keep = strcmp(m[i].id, id) == 0;
				if (!keep) {
					stale = arena_grow(a, stale, ns, &cap, sizeof(*stale));
					stale[ns++] = arena_strdup(a, id);
				}
			}
			db_done(s);
		}
		for (size_t i = 0; rc >= 0 && i < ns; i++)
			rc = cb_index_remove(c, stale[i]);
		rc = rc < 0 ? rc : db_commit(c);
		if (rc)
			db_rollback(c);
	}
	int failed = 0;
	uint64_t t0 = util_now_ns();
	for (int i = 0; !rc && i < n; i++) {
		/* Extracted again from the file: first forget which file was read. */
		int r = db_begin(c);
		if (!r)
			r = db_run(c, "UPDATE chatbot_documents SET file_id = '' WHERE material_id = ?", m[i].id, NULL);
		if (!r)
			r = cb_index_material(c, m[i].id);
		if (!r)
			r = db_commit(c);
		if (r) {
			db_rollback(c);
			failed++;
			fprintf(stderr, "\nent index: %s (« %s ») could not be indexed: %s\n", m[i].id, m[i].title,
				ent_err_str(r));
		}
		fprintf(stderr, "\rindexés : %d/%d documents", i + 1, n);
		fflush(stderr);
	}
	arena_free(a);
	if (rc) {
		fprintf(stderr, "ent index: %s\n", ent_err_str(rc));
		return 1;
	}
	/* SQLite: the full-text index merged into one segment, so that each term is looked up once
	 * per question rather than once per segment left by the inserts (timed with the rest). */
	if (db_conn_kind(c) == DB_SQLITE &&
	    (rc = db_run(c, "INSERT INTO chatbot_fts (chatbot_fts) VALUES ('optimize')", NULL, NULL)) < 0) {
		fprintf(stderr, "ent index: %s\n", ent_err_str(rc));
		return 1;
	}
	/* What was indexed and how fast (pages of text per second: bench/chatbot.sh reads this line). */
	double secs = (double)(util_now_ns() - t0) / 1e9;
	int64_t pages = 0, passages = 0;
	db_stmt *s = db_prepare(c, "SELECT COALESCE(SUM(pages), 0), (SELECT COUNT(*) FROM chatbot_passages)"
				   " FROM chatbot_documents WHERE status = 'indexed'");
	if (s && db_step(s) == DB_ROW) {
		pages = db_col_int64(s, 0);
		passages = db_col_int64(s, 1);
	}
	if (s)
		db_done(s);
	fprintf(stderr,
		"%sindex reconstruit : %d documents, %d en échec ; %lld pages, %lld passages en %.1f s (%.0f pages/s)\n",
		n ? "\n" : "", n - failed, failed, (long long)pages, (long long)passages, secs,
		secs > 0 ? (double)pages / secs : 0.0);
	return failed ? 1 : 0;
}

/* ---- `ent demo --scale` ---- */

int cb_generate(db_conn *c, const struct scale *sc)
{
	arena *a = arena_new(0);
	struct cours_material *m;
	int n = cours_materials_with_files(c, a, &m);
	int rc = n < 0 ? n : ENT_OK;
	/* The district's course files, indexed here: generated data publishes no events. */
	for (int i = 0; !rc && i < n; i++) {
		rc = db_begin(c);
		if (!rc)
			rc = cb_index_material(c, m[i].id);
		if (!rc)
			rc = db_commit(c);
		else
			db_rollback(c);
		sc->progress("assistant index", (uint64_t)i + 1, (uint64_t)n);
	}
	arena_free(a);
	return rc;
}
