/*
 * fichiers.c - the fichiers service (the seed's service-fichiers): file metadata, downloads,
 * access checks, and the C interface used by the cours service (fichiers.h).
 *
 * A file's bytes live in the blob store (ENT_BLOB, opened once per process at start) under a
 * key generated here from a UUID; its row in `fichiers` keeps the owner, the course it belongs
 * to (if any), the client's name (display only, never a path), the type detected from its
 * bytes, its size and SHA-256. Downloads go out with sendfile on file:, by ranged reads on s3:.
 *
 * Access: the owner, admins, and those the services that attach files let read it (the
 * .file_readable hooks, asked through service_file_readable(): the members of the file's course,
 * the holders of a message it is attached to, the students who see a homework it is attached to)
 * may read;
 * anyone else gets 404, the same answer as for a file that does not exist. It must never trust
 * the client's file name or content type, nor serve HTML or SVG inline.
 */
#include "fichiers.h"
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/app.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/page.h"
#include "core/service.h"
#include "core/util.h"
#include "core/schema.h"
#include "core/sql.h"

blob_store *fichiers_store;
uint64_t fichiers_max_upload = 100ull << 20;
uint64_t fichiers_quota = 2ull << 30;
uint64_t fichiers_student_quota = 100ull << 20;
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;

static const char schema_v1[] = "CREATE TABLE fichiers ("
				" id TEXT PRIMARY KEY,"
				" blob_key TEXT NOT NULL UNIQUE,"
				" owner_id TEXT NOT NULL,"
				" cours_id TEXT,"
				" name TEXT NOT NULL,"
				" content_type TEXT NOT NULL,"
				" size BIGINT NOT NULL,"
				" sha256 TEXT NOT NULL,"
				" created_at TEXT NOT NULL);"
				"CREATE INDEX fichiers_by_owner ON fichiers (owner_id, created_at, id);"
				"CREATE INDEX fichiers_by_cours ON fichiers (cours_id);";

static const char schema_v2[] =
	/* One row per owner, written first by every reservation: it serialises an owner's reservations. */
	"CREATE TABLE fichiers_usage (owner_id TEXT PRIMARY KEY, touched BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE fichiers_reservations (id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, bytes BIGINT NOT NULL,"
	" expires_at BIGINT NOT NULL);"
	"CREATE INDEX fichiers_reservations_by_owner ON fichiers_reservations (owner_id, expires_at);"
	"CREATE TABLE fichiers_trash (blob_key TEXT PRIMARY KEY, deleted_at BIGINT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0);";

/* The object an upload writes, named by its reservation: a crash between the object's commit and
 * its row leaves the key there, and the sweeper deletes the object once the reservation expires. */
static const char schema_v3[] = "ALTER TABLE fichiers_reservations ADD COLUMN blob_key TEXT;";

static const struct migration migrations[] = {
	{1, "files metadata", schema_v1, NULL},
	{2, "quota reservations of uploads in progress; blobs waiting to be deleted", schema_v2, NULL},
	{3, "the object each upload in progress writes", schema_v3, NULL},
};

/* ---- limits and the store ---- */

/* Opens the process-wide store once (the server's start hook, or `ent demo`). */
static int open_store(char *err, size_t errlen)
{
	int rc = ENT_OK;
	pthread_mutex_lock(&store_lock);
	if (!fichiers_store) {
		const char *url = app.cfg && app.cfg->blob ? app.cfg->blob : NULL;
		rc = blob_open(url, &fichiers_store, err, errlen);
	}
	pthread_mutex_unlock(&store_lock);
	return rc;
}

int fichiers_store_ready(void)
{
	char err[256];
	int rc = open_store(err, sizeof(err));
	if (rc)
		log_error("fichiers: cannot open the blob store: %s", err);
	return rc;
}

/* ---- rows ---- */

#define FICHIER_COLS "id, blob_key, owner_id, cours_id, name, content_type, size, sha256, created_at"

static void row_to(db_stmt *s, arena *a, struct fichier *f)
{
	snprintf(f->id, sizeof(f->id), "%s", db_col_text(s, 0));
	f->blob_key = arena_strdup(a, db_col_text(s, 1));
	f->owner_id = arena_strdup(a, db_col_text(s, 2));
	f->cours_id = db_col_text(s, 3) ? arena_strdup(a, db_col_text(s, 3)) : NULL;
	f->name = arena_strdup(a, db_col_text(s, 4));
	f->content_type = arena_strdup(a, db_col_text(s, 5));
	f->size = (uint64_t)db_col_int64(s, 6);
	f->sha256 = arena_strdup(a, db_col_text(s, 7));
	f->created_at = arena_strdup(a, db_col_text(s, 8));
}

int fichiers_load(db_conn *c, arena *a, const char *id, struct fichier *out)
{
	if (!c)
		return ENT_EUNAVAIL;
	if (!util_is_uuid(id))
		return ENT_ENOTFOUND;
	db_stmt *s = SQL_PREP(c, "SELECT " FICHIER_COLS " FROM fichiers WHERE id = ?", SQL_T(id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW) {
		row_to(s, a, out);
		rc = ENT_OK;
	} else if (rc == DB_DONE)
		rc = ENT_ENOTFOUND;
	db_done(s);
	return rc;
}

int fichiers_read(db_conn *c, const char *file_id, size_t max, buf *out, char *type, size_t typelen)
{
	buf_init(out, max + 1);
	if (typelen)
		type[0] = '\0';
	arena *a = arena_new(0);
	struct fichier f;
	int rc = fichiers_load(c, a, file_id, &f);
	if (!rc && f.size > max)
		rc = ENT_ETOOBIG;
	if (!rc)
		rc = fichiers_store_ready();
	if (!rc && typelen)
		snprintf(type, typelen, "%s", f.content_type);
	uint64_t off = 0;
	char chunk[65536];
	while (!rc) {
		long n = blob_read(fichiers_store, f.blob_key, off, chunk, sizeof(chunk));
		if (n < 0)
			rc = (int)n;
		else if (n == 0)
			break;
		else if (buf_add(out, chunk, (size_t)n))
			rc = ENT_ETOOBIG;
		else
			off += (uint64_t)n;
	}
	arena_free(a);
	if (rc)
		buf_free(out);
	return rc;
}

void fichiers_write(jw *w, const struct fichier *f)
{
	jw_obj_open(w);
	jw_kstr(w, "id", f->id);
	jw_kstr(w, "owner_id", f->owner_id);
	jw_kstr(w, "cours_id", f->cours_id);
	jw_kstr(w, "name", f->name);
	jw_kstr(w, "content_type", f->content_type);
	jw_kint(w, "size", (int64_t)f->size);
	jw_kstr(w, "sha256", f->sha256);
	jw_kstr(w, "created_at", f->created_at);
	jw_obj_close(w);
}

/* ---- access ---- */

static int readable(db_conn *c, const struct fichier *f, const char *user_id, unsigned roles)
{
	if (roles & ROLE_ADMIN)
		return 1;
	if (strcmp(f->owner_id, user_id) == 0)
		return 1;
	/* The services that attach files: a course's materials, a message's or a homework's attachments. */
	return service_file_readable(c, f->cours_id, f->id, user_id, roles);
}

int fichiers_info(db_conn *c, arena *a, const char *file_id, struct fichiers_info *out)
{
	struct fichier f;
	int rc = fichiers_load(c, a, file_id, &f);
	if (rc)
		return rc;
	out->owner_id = f.owner_id;
	out->name = f.name;
	out->content_type = f.content_type;
	out->size = f.size;
	return ENT_OK;
}

int fichiers_readable(db_conn *c, const char *file_id, const char *user_id, unsigned roles)
{
	arena *a = arena_new(0);
	struct fichier f;
	int rc = fichiers_load(c, a, file_id, &f);
	if (rc == ENT_OK)
		rc = readable(c, &f, user_id, roles);
	else if (rc == ENT_ENOTFOUND)
		rc = 0;
	arena_free(a);
	return rc;
}

/* Loads the file named by the path and checks the caller may read it; answers 404 otherwise. */
static int load_visible(http_req *req, db_conn *c, struct fichier *f)
{
	const struct http_principal *p = http_principal(req);
	int rc = fichiers_load(c, http_arena(req), http_param(req, "id"), f);
	if (rc == ENT_OK) {
		rc = readable(c, f, p->sub, p->roles);
		if (rc == 0)
			rc = ENT_ENOTFOUND;
		else if (rc > 0)
			rc = ENT_OK;
	}
	if (rc == ENT_ENOTFOUND)
		http_problem(req, 404, "Ce fichier n'existe pas.");
	else if (rc)
		http_problem_err(req, rc, "Le fichier n'a pas pu être lu.");
	return rc;
}

/* ---- C interface ---- */

uint64_t fichiers_quota_of(unsigned roles)
{
	return (roles & (ROLE_ENSEIGNANT | ROLE_ADMIN)) ? fichiers_quota : fichiers_student_quota;
}

int fichiers_meta(db_conn *c, arena *a, const char *file_id, struct fichiers_meta *out)
{
	if (!util_is_uuid(file_id))
		return ENT_ENOTFOUND;
	struct fichier f;
	int rc = fichiers_load(c, a, file_id, &f);
	if (rc)
		return rc;
	snprintf(out->id, sizeof(out->id), "%s", f.id);
	out->owner_id = f.owner_id;
	out->name = f.name;
	out->content_type = f.content_type;
	out->size = f.size;
	return ENT_OK;
}

int fichiers_attach(db_conn *c, const char *file_id, const char *owner_id, const char *cours_id)
{
	if (!c)
		return ENT_EUNAVAIL;
	if (!util_is_uuid(file_id))
		return ENT_ENOTFOUND;
	db_stmt *s = db_prepare(c,
				"UPDATE fichiers SET cours_id = ? WHERE id = ? AND owner_id = ? AND cours_id IS NULL");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, cours_id);
	db_bind_text(s, 2, file_id);
	db_bind_text(s, 3, owner_id);
	int rc = db_step(s);
	int64_t n = rc >= 0 ? db_changes(s) : 0;
	db_done(s);
	if (rc < 0)
		return rc;
	return n == 1 ? ENT_OK : ENT_ENOTFOUND;
}

int fichiers_delete(db_conn *c, const char *file_id)
{
	if (!c)
		return ENT_EUNAVAIL;
	if (!util_is_uuid(file_id))
		return ENT_OK;
	/*
	 * The blob goes into the trash first, then the row: the sweeper (trash.c) deletes a blob only
	 * once no row names it, so whether this runs in the caller's transaction (a course deleted with
	 * its materials) or statement by statement, no crash leaves an orphan blob nor a row without
	 * its blob.
	 */
	int rc = SQL_RUN(c,
			 "INSERT INTO fichiers_trash (blob_key, deleted_at) SELECT blob_key, ? FROM fichiers"
			 " WHERE id = ? ON CONFLICT (blob_key) DO NOTHING",
			 SQL_I(time(NULL)), SQL_T(file_id));
	if (rc < 0)
		return rc;
	if ((rc = db_run(c, "DELETE FROM fichiers WHERE id = ?", file_id, NULL)) < 0)
		return rc;
	fichiers_trash_kick();
	return ENT_OK;
}

/* ---- download ---- */

static int inline_safe(const char *ct)
{
	return strcmp(ct, "application/pdf") == 0 || strcmp(ct, "image/png") == 0 || strcmp(ct, "image/jpeg") == 0 ||
	       strcmp(ct, "image/gif") == 0 || strcmp(ct, "image/webp") == 0 || strncmp(ct, "audio/", 6) == 0 ||
	       strncmp(ct, "video/", 6) == 0;
}

/* Types a browser could run as a document of our origin: always sent as octet-stream. */
static int active_type(const char *ct)
{
	return strstr(ct, "html") || strstr(ct, "svg") || strstr(ct, "xml") || strstr(ct, "javascript");
}

/* Content-Disposition with an RFC 5987 filename*. */
static const char *disposition(arena *a, const char *kind, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(name);
	char *enc = arena_alloc(a, n * 3 + 1), *o = enc;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("!#$&+-.^_`|~", ch)) {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o = '\0';
	return arena_printf(a, "%s; filename*=UTF-8''%s", kind, enc);
}

/*
 * Parses a single "bytes=a-b" range against size. Returns 1 with [*from, *to] inclusive, 0 when
 * there is no usable Range (send everything), -1 when unsatisfiable (416).
 */
static int parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *to)
{
	if (!h || strncmp(h, "bytes=", 6) != 0)
		return 0;
	const char *r = h + 6;
	if (strchr(r, ','))
		return 0; /* several ranges: allowed to answer with the whole file */
	const char *dash = strchr(r, '-');
	if (!dash)
		return 0;
	char a[24], b[24];
	size_t al = (size_t)(dash - r), bl = strlen(dash + 1);
	if (al >= sizeof(a) || bl >= sizeof(b))
		return 0;
	memcpy(a, r, al);
	a[al] = '\0';
	memcpy(b, dash + 1, bl + 1);
	int64_t x, y;
	if (al == 0) { /* suffix: the last y bytes */
		if (util_parse_int64(b, 0, INT64_MAX, &y))
			return 0;
		if (y == 0 || size == 0)
			return -1;
		*from = (uint64_t)y >= size ? 0 : size - (uint64_t)y;
		*to = size - 1;
		return 1;
	}
	if (util_parse_int64(a, 0, INT64_MAX, &x))
		return 0;
	if (bl == 0)
		y = INT64_MAX;
	else if (util_parse_int64(b, 0, INT64_MAX, &y) || y < x)
		return 0;
	if ((uint64_t)x >= size)
		return -1;
	*from = (uint64_t)x;
	*to = (uint64_t)y >= size ? size - 1 : (uint64_t)y;
	return 1;
}

static int etag_matches(const char *inm, const char *etag)
{
	if (!inm)
		return 0;
	if (strcmp(inm, "*") == 0)
		return 1;
	return strstr(inm, etag) != NULL;
}

/* A download from a store without descriptors: the key and where the answer starts. */
struct s3_stream {
	char *key;
	uint64_t from;
};

static long s3_stream_read(void *ctx, uint64_t offset, char *out, size_t max)
{
	struct s3_stream *st = ctx;
	return blob_read(fichiers_store, st->key, st->from + offset, out, max);
}

static void s3_stream_free(void *ctx)
{
	struct s3_stream *st = ctx;
	free(st->key);
	free(st);
}

static void send_file(http_req *req, const struct fichier *f)
{
	arena *a = http_arena(req);
	const char *etag = arena_printf(a, "\"%s\"", f->sha256);
	http_set_header(req, "ETag", etag);
	http_set_header(req, "Accept-Ranges", "bytes");
	/* no-transform: stored bytes go out as they are (Range offsets, the ETag digest). */
	http_set_header(req, "Cache-Control", "private, no-cache, no-transform");
	if (etag_matches(http_header(req, "If-None-Match"), etag)) {
		http_reply_empty(req, 304);
		return;
	}
	const char *ct = f->content_type;
	int inl = inline_safe(ct);
	if (active_type(ct))
		ct = "application/octet-stream";
	http_set_header(req, "Content-Disposition", disposition(a, inl ? "inline" : "attachment", f->name));

	uint64_t from = 0, to = f->size ? f->size - 1 : 0, len = f->size;
	int status = 200;
	const char *ir = http_header(req, "If-Range");
	int pr = ir && strcmp(ir, etag) != 0 ? 0 : parse_range(http_header(req, "Range"), f->size, &from, &to);
	if (pr < 0) {
		http_set_header(req, "Content-Range", arena_printf(a, "bytes */%llu", (unsigned long long)f->size));
		http_problem(req, 416, "La partie demandée dépasse la fin du fichier.");
		return;
	}
	if (pr > 0) {
		status = 206;
		len = to - from + 1;
		http_set_header(req, "Content-Range",
				arena_printf(a, "bytes %llu-%llu/%llu", (unsigned long long)from,
					     (unsigned long long)to, (unsigned long long)f->size));
	}
	if (fichiers_store_ready() != ENT_OK) {
		http_problem(req, 503,
			     "Le stockage des fichiers est momentanément indisponible : réessayez dans un instant.");
		return;
	}
	int fd = -1;
	uint64_t bsize = 0;
	int rc = blob_open_fd(fichiers_store, f->blob_key, &fd, &bsize);
	if (rc == ENT_OK) {
		if (bsize != f->size) {
			close(fd);
			log_error("fichiers: blob %s has %llu bytes, %llu expected", f->blob_key,
				  (unsigned long long)bsize, (unsigned long long)f->size);
			http_problem(
				req, 500,
				"Le fichier enregistré est endommagé : déposez-le de nouveau ou prévenez l'administrateur.");
			return;
		}
		http_reply_fd(req, status, ct, fd, from, len);
		return;
	}
	if (rc != ENT_EINVAL) {
		http_problem_err(req, rc == ENT_ENOTFOUND ? ENT_EIO : rc,
				 "Le fichier enregistré n'a pas pu être ouvert : réessayez dans un instant.");
		return;
	}
	/* A store without descriptors (s3): streamed with ranged reads, 1 MiB at a time. */
	struct s3_stream *st = malloc(sizeof(*st));
	if (!st)
		abort();
	st->key = strdup(f->blob_key);
	if (!st->key)
		abort();
	st->from = from;
	http_reply_stream(req, status, ct, len, s3_stream_read, st, s3_stream_free);
}

void fichiers_send(http_req *req, const char *file_id)
{
	struct fichier f;
	int rc = fichiers_load(app_db(), http_arena(req), file_id, &f);
	if (rc == ENT_ENOTFOUND)
		http_problem(req, 404, "Ce fichier n'existe pas.");
	else if (rc)
		http_problem_err(req, rc, "Le fichier n'a pas pu être lu.");
	else
		send_file(req, &f);
}

/* ---- handlers ---- */

static void file_get(http_req *req)
{
	db_conn *c = http_db(req);
	struct fichier f;
	if (!c || load_visible(req, c, &f))
		return;
	fichiers_write(http_jw(req), &f);
	http_reply_jw(req, 200);
}

static void file_content(http_req *req)
{
	db_conn *c = http_db(req);
	struct fichier f;
	if (c && load_visible(req, c, &f) == ENT_OK)
		send_file(req, &f);
}

static void file_delete(http_req *req)
{
	db_conn *c = http_db(req);
	const struct http_principal *p = http_principal(req);
	struct fichier f;
	if (!c || load_visible(req, c, &f) != ENT_OK)
		return;
	if (!(p->roles & ROLE_ADMIN) && strcmp(f.owner_id, p->sub) != 0) {
		http_problem(req, 403,
			     "Seuls la personne qui a déposé ce fichier et les administrateurs peuvent le supprimer.");
		return;
	}
	if (f.cours_id) {
		http_problem(
			req, 409,
			"Ce fichier est utilisé par un support de cours : supprimez ou modifiez plutôt le support.");
		return;
	}
	int rc = fichiers_delete(c, f.id);
	if (rc)
		http_problem_err(req, rc, "Le fichier n'a pas pu être supprimé.");
	else
		http_reply_empty(req, 204);
}

static void file_list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "fichiers", 2))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	db_stmt *s = pg.has_cursor
			     ? db_prepare(c, "SELECT " FICHIER_COLS " FROM fichiers WHERE owner_id = ?"
					     " AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?")
			     : db_prepare(c, "SELECT " FICHIER_COLS " FROM fichiers WHERE owner_id = ? "
					     "ORDER BY created_at DESC, id DESC LIMIT ?");
	if (!s) {
		http_problem_err(req, ENT_EDB, "La liste des fichiers n'a pas pu être lue.");
		return;
	}
	int k = 1;
	db_bind_text(s, k++, http_principal(req)->sub);
	if (pg.has_cursor) {
		db_bind_text(s, k++, pg.after[0]);
		db_bind_text(s, k++, pg.after[1]);
	}
	db_bind_int64(s, k, page_fetch(&pg));
	int rc;
	struct fichier f;
	while ((rc = db_step(s)) == DB_ROW) {
		row_to(s, a, &f);
		const char *keys[2] = {f.created_at, f.id};
		jw *w = page_item(&pg, keys);
		if (!w)
			break;
		fichiers_write(w, &f);
	}
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, "La liste des fichiers n'a pas pu être lue.");
		return;
	}
	static const char *const keep[] = {"limit", NULL};
	page_reply(&pg, keep);
}

/* GET /api/fichiers/usage: the caller's quota, what their files use and what uploads in progress reserve. */
static void file_usage(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *me = http_principal(req)->sub;
	db_stmt *s = db_prepare(
		c,
		"SELECT (SELECT COALESCE(SUM(size), 0) FROM fichiers WHERE owner_id = ?),"
		" (SELECT COALESCE(SUM(bytes), 0) FROM fichiers_reservations WHERE owner_id = ? AND expires_at > ?)");
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	db_bind_text(s, 1, me);
	db_bind_text(s, 2, me);
	db_bind_int64(s, 3, (int64_t)time(NULL));
	int rc = db_step(s);
	int64_t used = rc == DB_ROW ? db_col_int64(s, 0) : 0, reserved = rc == DB_ROW ? db_col_int64(s, 1) : 0;
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kint(w, "quota", (int64_t)fichiers_quota_of(http_principal(req)->roles));
	jw_kint(w, "used", used);
	jw_kint(w, "reserved", reserved);
	jw_kint(w, "max_upload", (int64_t)fichiers_max_upload);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

/* ---- service ---- */

#define S_FILE                                                                                                         \
	"{\"type\":\"object\",\"required\":[\"id\",\"name\",\"content_type\",\"size\",\"sha256\"],\"properties\":{"    \
	"\"id\":{\"type\":\"string\",\"format\":\"uuid\"},\"owner_id\":" S_STR ",\"cours_id\":" S_NSTR                 \
	",\"name\":" S_STR ",\"content_type\":" S_STR ",\"size\":{\"type\":\"integer\"},\"sha256\":" S_STR             \
	",\"created_at\":{\"type\":\"string\",\"format\":\"date-time\"}}}"

#define STAFF (ROLE_ENSEIGNANT | ROLE_ADMIN)

/* Not const: the upload route's max_body follows ENT_MAX_UPLOAD, set at start before the router is used. */
static struct route routes[] = {
	ROUTE("POST", "/api/fichiers", fichiers_upload, ROLE_ANY_USER, .on_body = fichiers_upload_body,
	      .flags = ROUTE_RAW_BODY, .max_body = (100u << 20) + 65536, .status = 201,
	      .summary =
		      "Upload a file (students within ENT_STUDENT_QUOTA, for message attachments): a raw body (name from ?name= or Content-Disposition) or "
		      "multipart/form-data (the first file part); streamed to the store; 413 over ENT_MAX_UPLOAD or the "
		      "quota (ENT_QUOTA); the type is detected from the bytes",
	      .response_schema = S_FILE),
	ROUTE("GET", "/api/fichiers", file_list, ROLE_ANY_USER,
	      .summary = "The caller's own files, newest first; ?limit= and ?cursor=",
	      .response_schema =
		      "{\"type\":\"object\",\"required\":[\"items\",\"next_cursor\"],\"properties\":{\"items\":"
		      "{\"type\":\"array\",\"items\":" S_FILE "},\"next_cursor\":" S_NSTR "}}"),
	ROUTE("GET", "/api/fichiers/usage", file_usage, ROLE_ANY_USER,
	      .summary =
		      "The caller's storage: quota (ENT_QUOTA, ENT_STUDENT_QUOTA for students), bytes used by their files, bytes reserved by their uploads "
		      "in progress, and the largest upload",
	      .response_schema = "{\"type\":\"object\",\"required\":[\"quota\",\"used\",\"reserved\",\"max_upload\"],"
				 "\"properties\":{\"quota\":" S_INT ",\"used\":" S_INT ",\"reserved\":" S_INT
				 ",\"max_upload\":" S_INT "}}"),
	ROUTE("GET", "/api/fichiers/{id}", file_get, ROLE_ANY_USER,
	      .summary = "A file's metadata (its owner, members of its course, admins; others 404)",
	      .response_schema = S_FILE),
	ROUTE("GET", "/api/fichiers/{id}/content", file_content, ROLE_ANY_USER,
	      .summary =
		      "Download a file: Range (206/416), ETag and If-None-Match (304); attachment except PDF, images, "
		      "audio and video"),
	ROUTE("DELETE", "/api/fichiers/{id}", file_delete, ROLE_ANY_USER, .status = 204,
	      .summary = "Delete a file not used by a course material, and its blob (owner or admin)"),
};

static int fichiers_start(void)
{
	fichiers_max_upload = app.cfg->n_max_upload;
	fichiers_quota = app.cfg->n_quota;
	fichiers_student_quota = app.cfg->n_student_quota;
	fichiers_trash_start();
	/* Multipart framing needs a little more than the file itself. */
	routes[0].max_body = (size_t)(fichiers_max_upload + 65536);
	char err[256];
	int rc = open_store(err, sizeof(err));
	if (rc) {
		fprintf(stderr, "ent: fichiers: cannot open the blob store (ENT_BLOB): %s\n", err);
		log_error("fichiers: cannot open the blob store (ENT_BLOB): %s", err);
	}
	return rc;
}

static void fichiers_stop(void)
{
	fichiers_trash_stop();
	pthread_mutex_lock(&store_lock);
	fichiers_magic_close();
	blob_close(fichiers_store);
	fichiers_store = NULL;
	pthread_mutex_unlock(&store_lock);
}

static int fichiers_export(db_conn *c, const char *user_id, json_t *out)
{
	db_stmt *s = SQL_PREP(c, "SELECT " FICHIER_COLS " FROM fichiers WHERE owner_id = ? ORDER BY created_at, id",
			      SQL_T(user_id));
	if (!s)
		return ENT_EDB;
	arena *a = arena_new(0);
	jwbuf part;
	jw *w = jwbuf_init(&part, 0);
	jw_obj_open(w);
	jw_key(w, "files");
	jw_arr_open(w);
	int rc;
	struct fichier f;
	while ((rc = db_step(s)) == DB_ROW) {
		row_to(s, a, &f);
		fichiers_write(w, &f);
	}
	db_done(s);
	arena_free(a);
	jw_arr_close(w);
	jw_obj_close(w);
	json_t *files = json_from_buf(&part.b);
	if (rc < 0 || !files) {
		json_decref(files);
		return rc < 0 ? rc : ENT_ENOMEM;
	}
	json_object_set_new(out, "fichiers", files);
	return ENT_OK;
}

static const char *const owned_tables[] = {"fichiers", "fichiers_usage", "fichiers_reservations", "fichiers_trash",
					   NULL};

const struct service svc_fichiers = {
	.name = "fichiers",
	.title = "Secure file server (the seed's service-fichiers)",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.migrations = migrations,
	.nmigrations = sizeof(migrations) / sizeof(migrations[0]),
	.tables = owned_tables,
	.start = fichiers_start,
	.stop = fichiers_stop,
	.export_user = fichiers_export,
};
