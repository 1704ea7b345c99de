/*
 * upload.c - POST /api/fichiers: a streamed upload into the blob store.
 *
 * The body arrives in pieces through the route's on_body callback (the caller's role was checked
 * when the headers arrived). The first piece sets the upload up: raw body or multipart/form-data
 * (multipart.c; only the first file part is stored), the size limit (ENT_MAX_UPLOAD) and the
 * caller's remaining quota (ENT_QUOTA), both checked against Content-Length before anything is
 * written and again as bytes arrive. The quota is a reservation: the bytes an upload may write are
 * reserved when it starts (fichiers_reserve: the owner's files plus the uploads in progress must
 * fit), so two uploads cannot both pass a check that only one of them fits; the reservation ends
 * with the upload (in the transaction that records the file, or when it fails). Bytes go straight to a blob writer under a key made from a
 * fresh UUID; the first bytes are kept to detect the type with libmagic. The handler, run once
 * the body is complete, commits the blob and inserts the row.
 *
 * Whatever goes wrong (too large, over quota, malformed multipart, the client going away), the
 * writer is aborted, by the failure path or by the arena cleanup, so nothing is left behind.
 * The client's file name is display metadata only: it never reaches a key or a path.
 */
#include "fichiers.h"
#include "internal.h"

#include <magic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/app.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "core/sql.h"
#include "multipart.h"

#define HEAD_BYTES 16384

struct upload {
	http_req *req;
	blob_writer *w;
	mp_parser *mp;
	char id[37];
	char key[64];
	const char *name;
	uint64_t size;
	uint64_t limit;     /* the smaller of ENT_MAX_UPLOAD and the quota reserved */
	int limit_is_quota; /* which of the two the limit is */
	char resv[37];      /* the quota reservation, "" when none */
	int in_file;        /* multipart: inside the file part */
	int file_seen;      /* multipart: a file part was started */
	int failed;
	int fail_status;       /* the refusal, for an upload refused before any body arrived */
	const char *fail_code; /* the problem's own code, NULL for the status's */
	const char *fail_detail;
	size_t headlen;
	unsigned char head[HEAD_BYTES];
};

static pthread_mutex_t magic_lock = PTHREAD_MUTEX_INITIALIZER;
static magic_t magic_db;

/* The MIME type of the first bytes, detected by libmagic (one shared handle under a lock). */
const char *fichiers_detect_type(arena *a, const void *data, size_t len)
{
	const char *out = "application/octet-stream";
	pthread_mutex_lock(&magic_lock);
	if (!magic_db) {
		magic_db = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF);
		if (magic_db && magic_load(magic_db, NULL) != 0) {
			log_error("fichiers: libmagic could not load its database: %s", magic_error(magic_db));
			magic_close(magic_db);
			magic_db = NULL;
		}
	}
	if (magic_db) {
		const char *t = magic_buffer(magic_db, data, len);
		if (t && *t && strlen(t) < 128)
			out = arena_strdup(a, t);
	}
	pthread_mutex_unlock(&magic_lock);
	return out;
}

/*
 * What "executables" stands for in ENT_REFUSED_TYPES: the MIME types libmagic gives programs
 * (Windows .exe/.dll, Linux ELF, macOS Mach-O), Windows installers (.msi), Android packages (.apk)
 * and scripts it recognises from their first line (#!/bin/sh ..., @echo off). The file's name and
 * the type the client claims are never looked at.
 */
static const char *const executable_types[] = {
	"application/vnd.microsoft.portable-executable",
	"application/x-dosexec",
	"application/x-msdownload",
	"application/x-msi",
	"application/x-ms-installer",
	"application/x-executable",
	"application/x-pie-executable",
	"application/x-sharedlib",
	"application/x-mach-binary",
	"application/vnd.android.package-archive",
	"text/x-shellscript",
	"application/x-shellscript",
	"text/x-msdos-batch",
	"application/x-bat",
	NULL,
};

int fichiers_type_refused(const char *refused, const char *type)
{
	size_t tl = strlen(type);
	for (const char *p = refused ? refused : ""; *p;) {
		size_t k = strcspn(p, ",");
		if (k == 11 && strncmp(p, "executables", 11) == 0) {
			for (const char *const *t = executable_types; *t; t++)
				if (strcmp(*t, type) == 0)
					return 1;
		} else if (k == tl && strncasecmp(p, type, k) == 0) {
			return 1;
		}
		p += k + (p[k] == ',');
	}
	return 0;
}

void fichiers_magic_close(void)
{
	pthread_mutex_lock(&magic_lock);
	if (magic_db)
		magic_close(magic_db);
	magic_db = NULL;
	pthread_mutex_unlock(&magic_lock);
}

const char *fichiers_safe_name(arena *a, const char *name)
{
	if (!name)
		return "fichier";
	const char *base = name;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	size_t n = strlen(base), o = 0;
	char *out = arena_alloc(a, n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)base[i];
		if (ch < 0x20 || ch == 0x7f)
			continue;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	/* At most 255 bytes, cut on a character boundary. */
	if (o > 255) {
		o = 255;
		while (o > 0 && ((unsigned char)out[o] & 0xC0) == 0x80)
			o--;
		out[o] = '\0';
	}
	json_t *probe = json_string(out); /* NULL for invalid UTF-8 */
	if (!probe || o == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0) {
		json_decref(probe);
		return "fichier";
	}
	json_decref(probe);
	return out;
}

static void upload_cleanup(void *arg)
{
	struct upload *u = arg;
	if (u->w) {
		blob_write_abort(u->w);
		u->w = NULL;
	}
	if (u->resv[0]) {
		fichiers_release(app_db(), u->resv);
		u->resv[0] = '\0';
	}
}

int fichiers_reserve(db_conn *c, const char *owner, uint64_t want, uint64_t max, uint64_t quota, const char *blob_key,
		     char id[37], uint64_t *granted)
{
	if (!c)
		return ENT_EUNAVAIL;
	int rc = db_begin(c);
	if (rc)
		return rc;
	int64_t now = (int64_t)time(NULL);
	/* The owner's row first: its write lock makes the owner's reservations one at a time. */
	rc = SQL_RUN(c,
		     "INSERT INTO fichiers_usage (owner_id, touched) VALUES (?, 1)"
		     " ON CONFLICT (owner_id) DO UPDATE SET touched = fichiers_usage.touched + 1",
		     SQL_T(owner));
	int64_t used = 0;
	if (rc >= 0) {
		db_stmt *s = db_prepare(
			c,
			"SELECT (SELECT COALESCE(SUM(size), 0) FROM fichiers WHERE owner_id = ?)"
			" + (SELECT COALESCE(SUM(bytes), 0) FROM fichiers_reservations WHERE owner_id = ? AND expires_at > ?)");
		rc = ENT_EDB;
		if (s) {
			db_bind_text(s, 1, owner);
			db_bind_text(s, 2, owner);
			db_bind_int64(s, 3, now);
			rc = db_step(s);
			used = rc == DB_ROW ? db_col_int64(s, 0) : 0;
			db_done(s);
		}
	}
	uint64_t left = (uint64_t)used >= quota ? 0 : quota - (uint64_t)used;
	*granted = want ? want : (left < max ? left : max);
	if (rc >= 0 && (*granted > left || (!want && left == 0)))
		rc = ENT_ETOOBIG;
	if (rc >= 0) {
		util_uuid(id);
		rc = SQL_RUN(c,
			     "INSERT INTO fichiers_reservations (id, owner_id, bytes, expires_at, blob_key)"
			     " VALUES (?, ?, ?, ?, ?)",
			     SQL_T(id), SQL_T(owner), SQL_I((int64_t)*granted), SQL_I(now + 3600), SQL_T(blob_key));
	}
	if (rc < 0) {
		db_rollback(c);
		id[0] = '\0';
		return rc;
	}
	return db_commit(c);
}

void fichiers_release(db_conn *c, const char *id)
{
	if (!c || !id || !*id)
		return;
	int rc = SQL_RUN(c, "DELETE FROM fichiers_reservations WHERE id = ?", SQL_T(id));
	if (rc < 0)
		log_warn("fichiers: an upload's reservation could not be released (%s); it expires within the hour",
			 ent_err_str(rc));
}

int fichiers_claim(db_conn *c, const char *id)
{
	db_stmt *s = SQL_PREP(c, "DELETE FROM fichiers_reservations WHERE id = ?", SQL_T(id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	int64_t n = rc < 0 ? 0 : db_changes(s);
	db_done(s);
	return rc < 0 ? rc : n == 1 ? ENT_OK : ENT_ENOTFOUND;
}

static void fail_code(struct upload *u, int status, const char *code, const char *detail)
{
	upload_cleanup(u);
	u->failed = 1;
	u->fail_status = status;
	u->fail_code = code;
	u->fail_detail = arena_strdup(http_arena(u->req), detail);
	http_stream_fail_code(u->req, status, code, detail);
}

static void fail(struct upload *u, int status, const char *detail) { fail_code(u, status, NULL, detail); }

/* A size as a person reads it: "10 Mo", "1,5 Go", "800 octets" (French units, decimal comma). */
static const char *size_text(arena *a, uint64_t n)
{
	static const char *const unit[] = {"Ko", "Mo", "Go", "To"};
	if (n < 1024)
		return arena_printf(a, "%llu octet%s", (unsigned long long)n, n > 1 ? "s" : "");
	double v = (double)n / 1024.0;
	int i = 0;
	while (v >= 1024.0 && i < 3) {
		v /= 1024.0;
		i++;
	}
	unsigned long long tenths = (unsigned long long)(v * 10.0 + 0.5);
	if (tenths % 10 == 0 || v >= 100.0)
		return arena_printf(a, "%llu %s", (tenths + 5) / 10, unit[i]);
	return arena_printf(a, "%llu,%llu %s", tenths / 10, tenths % 10, unit[i]);
}

static void fail_limit(struct upload *u)
{
	arena *a = http_arena(u->req);
	/* Codes of their own: the portal shows these details, which say the limit (docs/courses.md). */
	if (u->limit_is_quota)
		fail_code(
			u, 413, "quota_exceeded",
			arena_printf(a,
				     "Votre espace de stockage (%s) serait dépassé : supprimez les fichiers dont vous "
				     "n'avez plus besoin, puis recommencez.",
				     size_text(a, fichiers_quota_of(http_principal(u->req)->roles))));
	else
		fail_code(u, 413, "file_too_large",
			  arena_printf(
				  a,
				  "Ce fichier dépasse la taille maximale autorisée (%s) : réduisez-le ou envoyez-en un "
				  "plus petit.",
				  size_text(a, fichiers_max_upload)));
}

static int begin_blob(struct upload *u)
{
	if (!fichiers_store) {
		fail(u, 503, "Le stockage des fichiers est momentanément indisponible : réessayez dans un instant.");
		return -1;
	}
	int rc = blob_write_begin(fichiers_store, u->key, &u->w);
	if (rc) {
		u->w = NULL;
		fail(u, ent_err_status(rc), "Le stockage des fichiers a refusé l'envoi : réessayez dans un instant.");
		return -1;
	}
	return 0;
}

static int write_bytes(struct upload *u, const char *data, size_t len)
{
	if (u->failed || !u->w)
		return -1;
	if (u->size + len > u->limit) {
		fail_limit(u);
		return -1;
	}
	if (u->headlen < HEAD_BYTES) {
		size_t k = HEAD_BYTES - u->headlen < len ? HEAD_BYTES - u->headlen : len;
		memcpy(u->head + u->headlen, data, k);
		u->headlen += k;
	}
	int rc = blob_write(u->w, data, len);
	if (rc) {
		fail(u, ent_err_status(rc), "Le fichier n'a pas pu être enregistré : réessayez dans un instant.");
		return -1;
	}
	u->size += len;
	return 0;
}

/* ---- multipart callbacks: the first part with a file name (or named "file") is stored ---- */

static int mp_begin(void *ud, const struct mp_part *part)
{
	struct upload *u = ud;
	u->in_file = 0;
	if (u->file_seen)
		return 0;
	if (!part->filename && !(part->name && strcmp(part->name, "file") == 0))
		return 0;
	u->file_seen = 1;
	u->in_file = 1;
	u->name = fichiers_safe_name(http_arena(u->req), part->filename ? part->filename : "fichier");
	return begin_blob(u);
}

static int mp_data(void *ud, const char *data, size_t len)
{
	struct upload *u = ud;
	return u->in_file ? write_bytes(u, data, len) : 0;
}

static int mp_end(void *ud)
{
	struct upload *u = ud;
	u->in_file = 0;
	return 0;
}

static const struct mp_callbacks mp_cb = {mp_begin, mp_data, mp_end};

/* Sets the upload up from the headers. Returns the state, or NULL after answering/failing. */
static struct upload *upload_init(http_req *req)
{
	arena *a = http_arena(req);
	struct upload *u = arena_calloc(a, 1, sizeof(*u));
	u->req = req;
	http_set_data(req, u);
	arena_on_free(a, upload_cleanup, u);

	const char *sub = http_principal(req)->sub;
	const char *ct = http_header(req, "Content-Type");
	int multipart = ct && strncasecmp(ct, "multipart/form-data", 19) == 0;
	const char *cl = http_header(req, "Content-Length");
	int64_t n = -1;
	if (cl && util_parse_int64(cl, 0, INT64_MAX, &n) != 0)
		n = -1;
	u->limit = fichiers_max_upload;
	if (n >= 0 && !multipart && (uint64_t)n > u->limit) {
		fail_limit(u);
		return NULL;
	}
	/* The bytes this upload may write, reserved now: Content-Length when known, else what is left. */
	uint64_t want = n > 0 ? (uint64_t)n : 0, granted = 0;
	if (multipart && want > fichiers_max_upload)
		want = fichiers_max_upload; /* the file inside is what counts; the framing is checked below */
	util_uuid(u->id);
	snprintf(u->key, sizeof(u->key), "fichiers/%s", u->id);
	int rc = fichiers_reserve(app_db(), sub, want, fichiers_max_upload,
				  fichiers_quota_of(http_principal(req)->roles), u->key, u->resv, &granted);
	if (rc == ENT_ETOOBIG) {
		u->limit_is_quota = 1;
		fail_limit(u);
		return NULL;
	}
	if (rc) {
		fail(u, 503, "L'espace de stockage disponible n'a pas pu être vérifié : réessayez dans un instant.");
		return NULL;
	}
	if (granted < u->limit) {
		u->limit = granted;
		u->limit_is_quota = 1;
	}
	if (multipart) {
		const char *b = mp_boundary(a, ct);
		if (!b) {
			fail(u, 400,
			     "L'envoi est mal formé : le formulaire (multipart/form-data) n'indique pas de séparateur (boundary) valide.");
			return NULL;
		}
		u->mp = mp_new(a, b, &mp_cb, u);
		return u;
	}
	const char *name = http_query(req, "name");
	if (!name)
		name = mp_header_param(a, http_header(req, "Content-Disposition"), "filename");
	u->name = fichiers_safe_name(a, name);
	if (begin_blob(u))
		return NULL;
	return u;
}

int fichiers_upload_body(http_req *req, const char *data, size_t len)
{
	struct upload *u = http_data(req);
	if (!u && !(u = upload_init(req)))
		return -1;
	if (u->failed)
		return -1;
	if (u->mp) {
		if (mp_feed(u->mp, data, len) != 0) {
			if (!u->failed)
				fail(u, 400,
				     "Le formulaire d'envoi (multipart/form-data) est mal formé : recommencez l'envoi.");
			return -1;
		}
		return 0;
	}
	return write_bytes(u, data, len);
}

void fichiers_upload(http_req *req)
{
	struct upload *u = http_data(req);
	if (!u)
		u = upload_init(req); /* an empty body: on_body never ran */
	if (!u)
		u = http_data(req);
	if (!u || u->failed) {
		/* Refused while being set up (a failed stream is answered by the core itself). */
		if (!http_answered(req))
			http_problem_code(req, u ? u->fail_status : 500, u ? u->fail_code : NULL,
					  u ? u->fail_detail
					    : "L'envoi n'a pas pu commencer : réessayez dans un instant.");
		return;
	}
	if (u->mp && (!mp_done(u->mp) || !u->file_seen)) {
		upload_cleanup(u);
		http_problem_errors(
			req, 400,
			"Le formulaire ne contient aucun fichier complet : choisissez un fichier et recommencez l'envoi.",
			json_pack("{s:s}", "file",
				  mp_done(u->mp) ? "est obligatoire : choisissez un fichier à envoyer"
						 : "est incomplet : l'envoi s'est interrompu avant la "
						   "fin, recommencez-le"));
		return;
	}
	char sha[65];
	uint64_t size = 0;
	blob_writer *w = u->w;
	u->w = NULL;
	int rc = blob_write_commit(w, &size, sha);
	if (rc) {
		http_problem_err(req, rc, "Le fichier n'a pas pu être enregistré : réessayez dans un instant.");
		return;
	}
	arena *a = http_arena(req);
	struct fichier f = {0};
	snprintf(f.id, sizeof(f.id), "%s", u->id);
	f.blob_key = u->key;
	f.owner_id = http_principal(req)->sub;
	f.name = u->name;
	f.content_type = fichiers_detect_type(a, u->head, u->headlen);
	if (fichiers_type_refused(app.cfg->refused_types, f.content_type)) {
		blob_delete(fichiers_store, u->key);
		upload_cleanup(u); /* the reservation */
		http_problem_code(
			req, 415, "file_type_refused",
			arena_printf(a,
				     "Ce type de fichier n'est pas accepté : les programmes, installateurs et scripts "
				     "exécutables sont refusés (type détecté : %s). Déposez plutôt un document (PDF, "
				     "image, texte, archive ZIP).",
				     f.content_type));
		return;
	}
	f.size = size;
	f.sha256 = arena_strdup(a, sha);
	char now[21];
	util_time_rfc3339(time(NULL), now);
	f.created_at = now;

	/*
	 * The file's row and the end of its reservation, together. A reservation already gone expired
	 * and was swept (an upload of more than an hour): the sweeper may delete the object, so the
	 * upload fails rather than record a file without its bytes.
	 */
	db_conn *c = app_db();
	rc = c ? db_begin(c) : ENT_EUNAVAIL;
	if (!rc) {
		rc = fichiers_claim(c, u->resv);
		if (!rc)
			rc = fichiers_insert(c, &f);
		if (!rc)
			rc = db_commit(c);
		else
			db_rollback(c);
	}
	if (rc == ENT_ENOTFOUND)
		rc = ENT_EUNAVAIL;
	if (rc < 0) {
		blob_delete(fichiers_store, u->key);
		upload_cleanup(u); /* the reservation */
		http_problem_err(req, rc, "Le fichier n'a pas pu être enregistré : réessayez dans un instant.");
		return;
	}
	u->resv[0] = '\0';
	http_set_header(req, "Location", arena_printf(a, "/api/fichiers/%s", f.id));
	fichiers_write(http_jw(req), &f);
	http_reply_jw(req, 201);
}

int fichiers_insert(db_conn *c, const struct fichier *f)
{
	db_stmt *s = c ? db_prepare(c,
				    "INSERT INTO fichiers (id, blob_key, owner_id, cours_id, name, content_type, size, "
				    "sha256, created_at) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?)")
		       : NULL;
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, f->id);
	db_bind_text(s, 2, f->blob_key);
	db_bind_text(s, 3, f->owner_id);
	db_bind_text(s, 4, f->name);
	db_bind_text(s, 5, f->content_type);
	db_bind_int64(s, 6, (int64_t)f->size);
	db_bind_text(s, 7, f->sha256);
	db_bind_text(s, 8, f->created_at);
	int rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

int fichiers_create(db_conn *c, const char *owner_id, const char *name, const void *data, size_t len, char id_out[37])
{
	int rc = fichiers_store_ready();
	if (rc)
		return rc;
	arena *a = arena_new(0);
	struct fichier f = {0};
	util_uuid(f.id);
	f.blob_key = arena_printf(a, "fichiers/%s", f.id);
	blob_writer *w = NULL;
	char sha[65];
	uint64_t size = 0;
	rc = blob_write_begin(fichiers_store, f.blob_key, &w);
	if (!rc && (rc = blob_write(w, data, len)) != ENT_OK)
		blob_write_abort(w);
	else if (!rc)
		rc = blob_write_commit(w, &size, sha);
	if (!rc) {
		char now[21];
		util_time_rfc3339(time(NULL), now);
		f.owner_id = owner_id;
		f.name = fichiers_safe_name(a, name);
		f.content_type = fichiers_detect_type(a, data, len < HEAD_BYTES ? len : HEAD_BYTES);
		f.size = size;
		f.sha256 = sha;
		f.created_at = now;
		rc = fichiers_insert(c, &f);
		if (rc)
			blob_delete(fichiers_store, f.blob_key);
		else
			snprintf(id_out, 37, "%s", f.id);
	}
	arena_free(a);
	return rc;
}
