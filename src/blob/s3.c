/*
 * s3.c - the `s3://BUCKET?endpoint=URL&region=R` blob backend, through libcurl.
 *
 * Every request is a path-style URL (ENDPOINT/BUCKET/KEY) signed by libcurl's
 * CURLOPT_AWS_SIGV4 ("aws:amz:REGION:s3") with the access and secret keys as CURLOPT_USERPWD;
 * we always send x-amz-content-sha256 ourselves (the digest of the body, or UNSIGNED-PAYLOAD for
 * multipart parts), since libcurl cannot hash a body it streams. Each thread uses its own easy
 * handle (kept for keep-alive, reset before each request) with connect, total and low-speed
 * timeouts; the store itself is read-only after blob_open(), so it needs no lock.
 *
 * A writer buffers up to 8 MiB. An object that fits is sent by one PUT at commit. When more data
 * arrives after the buffer is full, a multipart upload is created and each full 8 MiB buffer is
 * sent as one part (parts are at least 5 MiB, as S3 requires, except the last); commit sends the
 * rest as the last part and completes the upload with the parts' ETags, abort aborts it. Nothing
 * is visible under the key before commit, and nothing holds more than 8 MiB of an object.
 *
 * Keys were validated by blob.c ([A-Za-z0-9._/-] only), so they go into the URL unescaped.
 * This file must never log or put into an error message the secret key.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "backend.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define S3_PART_SIZE ((size_t)8 << 20)
#define S3_MAX_PARTS 10000
#define S3_CONNECT_TIMEOUT 10L
#define S3_TIMEOUT 600L       /* a whole request, 8 MiB part included */
#define S3_LOW_SPEED_TIME 30L /* abort a transfer stalled this long */
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3 {
	char *endpoint; /* scheme://host[:port], no trailing '/' */
	char *bucket;
	char *region;
	char *sigv4;   /* "aws:amz:REGION:s3" */
	char *userpwd; /* "ACCESS:SECRET" */
};

struct s3_writer {
	struct s3 *s3;
	char *key;
	unsigned char *data; /* the current part, up to S3_PART_SIZE */
	size_t len;
	char *upload_id; /* NULL until a multipart upload is started */
	buf etags;       /* the <Part> elements of CompleteMultipartUpload */
	int parts;
};

/* One request and what came back. */
struct s3_req {
	const char *method;
	const char *key;   /* NULL: the bucket itself */
	const char *query; /* NULL or "uploads=" etc., already canonical (sorted, escaped) */
	const void *body;
	size_t body_len;
	const char *body_sha256; /* hex digest or "UNSIGNED-PAYLOAD"; NULL: computed */
	const char *range;       /* NULL or "bytes=a-b" */
	/* Response. */
	long status;
	buf resp;           /* error documents, XML answers */
	unsigned char *out; /* GET into caller memory */
	size_t out_cap, out_len;
	uint64_t skip; /* bytes to drop before out (a server that ignored Range) */
	char etag[128];
	uint64_t length;
	int have_length;
	uint64_t total; /* from Content-Range: bytes A-B/TOTAL */
	int have_total;
	size_t body_off;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
/* Each thread keeps one easy handle, reset between requests, so that its connection to the
 * endpoint is reused (keep-alive) instead of a TCP handshake per call; freed at thread exit. */
static pthread_key_t curl_key;

static void curl_handle_free(void *c) { curl_easy_cleanup(c); }

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (pthread_key_create(&curl_key, curl_handle_free) != 0)
		abort();
}

static CURL *curl_handle(void)
{
	CURL *c = pthread_getspecific(curl_key);
	if (c) {
		curl_easy_reset(c); /* options go, connections stay */
		return c;
	}
	c = curl_easy_init();
	if (!c || pthread_setspecific(curl_key, c) != 0)
		abort();
	return c;
}

static void hex_of(const unsigned char *md, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		abort();
	hex_of(md, 32, out);
}

/* ---- curl callbacks ------------------------------------------------------------------------ */

static size_t on_read(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct s3_req *r = ud;
	size_t n = size * nmemb, left = r->body_len - r->body_off;
	if (n > left)
		n = left;
	if (n)
		memcpy(ptr, (const char *)r->body + r->body_off, n);
	r->body_off += n;
	return n;
}

/* libcurl rewinds a body to resend it on a reused connection the server had closed. */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
	struct s3_req *r = ud;
	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > r->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	r->body_off = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct s3_req *r = ud;
	size_t n = size * nmemb;
	if (r->out && r->status / 100 == 2) {
		const char *p = ptr;
		size_t m = n;
		if (r->skip) {
			size_t k = r->skip < m ? (size_t)r->skip : m;
			r->skip -= k;
			p += k;
			m -= k;
		}
		if (m > r->out_cap - r->out_len)
			m = r->out_cap - r->out_len;
		memcpy(r->out + r->out_len, p, m);
		r->out_len += m;
		return n; /* a longer body than asked for is read and dropped */
	}
	if (buf_add(&r->resp, ptr, n) != ENT_OK)
		return 0;
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct s3_req *r = ud;
	size_t n = size * nmemb;
	if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue or a redirect): its status line. */
		const char *sp = memchr(ptr, ' ', n);
		r->status = 0;
		if (sp)
			for (const char *p = sp + 1; p < ptr + n && *p >= '0' && *p <= '9'; p++)
				r->status = r->status * 10 + (*p - '0');
		return n;
	}
	if (n > 20 && strncasecmp(ptr, "Content-Range:", 14) == 0) {
		const char *slash = memchr(ptr, '/', n);
		if (slash) {
			uint64_t t = 0;
			const char *p = slash + 1;
			for (; p < ptr + n && *p >= '0' && *p <= '9' && t < UINT64_MAX / 10 - 10; p++)
				t = t * 10 + (uint64_t)(*p - '0');
			if (p > slash + 1) {
				r->total = t;
				r->have_total = 1;
			}
		}
		return n;
	}
	if (n > 5 && strncasecmp(ptr, "ETag:", 5) == 0) {
		const char *v = ptr + 5, *e = ptr + n;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
			e--;
		size_t l = (size_t)(e - v);
		if (l < sizeof(r->etag)) {
			memcpy(r->etag, v, l);
			r->etag[l] = '\0';
		}
	}
	return n;
}

/*
 * Sends one request. Returns ENT_OK with r->status set for any HTTP answer, ENT_EUNAVAIL when
 * the server could not be reached or the transfer failed.
 */
static int s3_perform(struct s3 *s3, struct s3_req *r)
{
	buf url;
	buf_init(&url, 4096);
	buf_addstr(&url, s3->endpoint);
	buf_addc(&url, '/');
	buf_addstr(&url, s3->bucket);
	if (r->key) {
		buf_addc(&url, '/');
		buf_addstr(&url, r->key);
	}
	if (r->query) {
		buf_addc(&url, '?');
		buf_addstr(&url, r->query);
	}
	if (url.failed) {
		buf_free(&url);
		return ENT_EINVAL;
	}
	char hash[65];
	const char *payload = r->body_sha256;
	if (!payload) {
		sha256_hex(r->body ? r->body : "", r->body_len, hash);
		payload = hash;
	}
	char hdr[128];
	snprintf(hdr, sizeof(hdr), "x-amz-content-sha256: %s", payload);
	/* No "Expect:" here to turn 100-continue off: libcurl 7.88 signs a header that it then does
	 * not send, and the server refuses the signature. */
	struct curl_slist *h = curl_slist_append(NULL, hdr), *t = h;
	if (t && r->range) {
		snprintf(hdr, sizeof(hdr), "Range: %s", r->range);
		t = curl_slist_append(t, hdr);
	}
	if (t && strcmp(r->method, "POST") == 0)
		t = curl_slist_append(t, "Content-Type: application/xml");
	if (!t)
		abort();
	h = t;

	buf_init(&r->resp, 1 << 20);
	r->status = 0;
	r->body_off = 0;
	r->out_len = 0;
	CURL *c = curl_handle();
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s3->sigv4);
	curl_easy_setopt(c, CURLOPT_USERPWD, s3->userpwd);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, S3_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, S3_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, S3_LOW_SPEED_TIME);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, r);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, r);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	}
	CURLcode cc = curl_easy_perform(c);
	if (cc == CURLE_OK) {
		curl_off_t cl = -1;
		if (curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl >= 0) {
			r->length = (uint64_t)cl;
			r->have_length = 1;
		}
	}
	curl_easy_reset(c); /* drop pointers into r and h before they go */
	curl_slist_free_all(h);
	buf_free(&url);
	if (cc != CURLE_OK) {
		buf_free(&r->resp);
		return ENT_EUNAVAIL;
	}
	return ENT_OK;
}

/* The ent_err for an HTTP status that is not a success. */
static int status_err(long status)
{
	if (status == 404)
		return ENT_ENOTFOUND;
	if (status == 503 || status == 502 || status == 504 || status == 429)
		return ENT_EUNAVAIL;
	return ENT_EIO;
}

/* ---- store --------------------------------------------------------------------------------- */

static void s3_free(struct s3 *s3)
{
	if (!s3)
		return;
	free(s3->endpoint);
	free(s3->bucket);
	free(s3->region);
	free(s3->sigv4);
	if (s3->userpwd) {
		memset(s3->userpwd, 0, strlen(s3->userpwd));
		free(s3->userpwd);
	}
	free(s3);
}

/* A percent-decoded copy of s[0..n), or NULL when it holds a bad escape or a NUL. */
static char *url_decode(const char *s, size_t n)
{
	char *o = malloc(n + 1);
	if (!o)
		abort();
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n) {
				free(o);
				return NULL;
			}
			int hi = util_hexval((unsigned char)s[i + 1]), lo = util_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(o);
				return NULL;
			}
			o[j++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			o[j++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	o[j] = '\0';
	return o;
}

/* A credential from NAME, else from the file named by NAME_FILE, else NULL. */
static char *env_secret(const char *name)
{
	const char *v = getenv(name);
	if (v && *v) {
		char *d = strdup(v);
		if (!d)
			abort();
		return d;
	}
	char fname[64];
	snprintf(fname, sizeof(fname), "%s_FILE", name);
	const char *f = getenv(fname);
	if (f && *f)
		return util_read_file(f, 4096);
	return NULL;
}

static int bucket_name_ok(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-' || b[i] == '.'))
			return 0;
	return 1;
}

/* Frees a credential (NULL: nothing), cleared first. */
static void wipe_free(char *v)
{
	if (v) {
		memset(v, 0, strlen(v));
		free(v);
	}
}

static void *s3_open(const char *url, char *err, size_t errlen)
{
	pthread_once(&curl_once, curl_init_once);
	struct s3 *s3 = calloc(1, sizeof(*s3));
	if (!s3)
		abort();
	char *access = NULL, *secret = NULL;
	const char *p = url + 5; /* "s3://" */
	const char *q = strchr(p, '?');
	size_t blen = q ? (size_t)(q - p) : strlen(p);
	while (blen > 0 && p[blen - 1] == '/')
		blen--;
	s3->bucket = blen ? strndup(p, blen) : strdup("cours");
	if (!s3->bucket)
		abort();
	if (!bucket_name_ok(s3->bucket)) {
		snprintf(err, errlen, "ENT_BLOB: bad S3 bucket name '%.64s'", s3->bucket);
		goto fail;
	}
	for (const char *a = q ? q + 1 : NULL; a && *a;) {
		const char *amp = strchr(a, '&');
		size_t len = amp ? (size_t)(amp - a) : strlen(a);
		const char *eq = memchr(a, '=', len);
		if (eq) {
			size_t kl = (size_t)(eq - a);
			char *v = url_decode(eq + 1, len - kl - 1);
			if (!v) {
				snprintf(err, errlen, "ENT_BLOB: bad escape in the value of '%.*s'", (int)kl, a);
				goto fail;
			}
			char **slot = NULL;
			if (kl == 8 && strncmp(a, "endpoint", 8) == 0)
				slot = &s3->endpoint;
			else if (kl == 6 && strncmp(a, "region", 6) == 0)
				slot = &s3->region;
			else if (kl == 10 && strncmp(a, "access_key", 10) == 0)
				slot = &access;
			else if (kl == 10 && strncmp(a, "secret_key", 10) == 0)
				slot = &secret;
			else if (kl == 10 && strncmp(a, "path_style", 10) == 0)
				slot = NULL; /* URLs are always path-style */
			else {
				free(v);
				snprintf(err, errlen, "ENT_BLOB: unknown S3 parameter '%.*s'", (int)kl, a);
				goto fail;
			}
			if (slot) {
				free(*slot);
				*slot = v;
			} else {
				free(v);
			}
		}
		a = amp ? amp + 1 : NULL;
	}
	if (!s3->region)
		s3->region = strdup("us-east-1");
	if (!s3->region)
		abort();
	for (const char *c = s3->region; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) {
			snprintf(err, errlen, "ENT_BLOB: bad S3 region");
			goto fail;
		}
	if (!s3->endpoint) {
		buf b;
		buf_init(&b, 256);
		buf_printf(&b, "https://s3.%s.amazonaws.com", s3->region);
		s3->endpoint = buf_take(&b, NULL);
	} else {
		size_t n = strlen(s3->endpoint);
		while (n > 0 && s3->endpoint[n - 1] == '/')
			s3->endpoint[--n] = '\0';
		if (strncmp(s3->endpoint, "http://", 7) != 0 && strncmp(s3->endpoint, "https://", 8) != 0) {
			snprintf(err, errlen, "ENT_BLOB: the S3 endpoint must be an http:// or https:// URL");
			goto fail;
		}
	}
	if (!access)
		access = env_secret("ENT_S3_ACCESS_KEY");
	if (!secret)
		secret = env_secret("ENT_S3_SECRET_KEY");
	if (!access || !secret || !*access || !*secret || strchr(access, ':')) {
		snprintf(
			err, errlen,
			"ENT_BLOB: no S3 credentials (set ENT_S3_ACCESS_KEY and ENT_S3_SECRET_KEY, their _FILE variants, or access_key=/secret_key= in the URL)");
		goto fail;
	}
	{
		buf b;
		buf_init(&b, 8192);
		buf_printf(&b, "%s:%s", access, secret);
		s3->userpwd = buf_take(&b, NULL);
		buf_init(&b, 256);
		buf_printf(&b, "aws:amz:%s:s3", s3->region);
		s3->sigv4 = buf_take(&b, NULL);
		if (!s3->userpwd || !s3->sigv4) {
			snprintf(err, errlen, "ENT_BLOB: S3 settings too long");
			goto fail;
		}
	}

	/* The bucket must exist; create it when it does not. */
	struct s3_req r = {.method = "HEAD", .body_sha256 = S3_EMPTY_SHA256};
	int rc = s3_perform(s3, &r);
	if (rc != ENT_OK) {
		snprintf(err, errlen, "ENT_BLOB: cannot reach the S3 endpoint %.200s", s3->endpoint);
		goto fail;
	}
	buf_free(&r.resp);
	if (r.status == 404) {
		char body[256] = "";
		if (strcmp(s3->region, "us-east-1") != 0)
			snprintf(body, sizeof(body),
				 "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
				 "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>",
				 s3->region);
		struct s3_req c = {.method = "PUT", .body = body, .body_len = strlen(body)};
		rc = s3_perform(s3, &c);
		buf_free(&c.resp);
		if (rc != ENT_OK || c.status / 100 != 2) {
			snprintf(err, errlen, "ENT_BLOB: cannot create the S3 bucket %s (HTTP %ld)", s3->bucket,
				 c.status);
			goto fail;
		}
	} else if (r.status / 100 != 2) {
		snprintf(err, errlen, "ENT_BLOB: S3 bucket %s not usable (HTTP %ld%s)", s3->bucket, r.status,
			 r.status == 403 ? ", check the credentials" : "");
		goto fail;
	}
	wipe_free(access);
	wipe_free(secret);
	return s3;
fail:
	wipe_free(access);
	wipe_free(secret);
	s3_free(s3);
	return NULL;
}

static void s3_close(void *impl) { s3_free(impl); }

/* ---- writer -------------------------------------------------------------------------------- */

static int s3_write_begin(void *impl, const char *key, void **out)
{
	struct s3_writer *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	w->s3 = impl;
	w->key = strdup(key);
	if (!w->key)
		abort();
	buf_init(&w->etags, (size_t)S3_MAX_PARTS * 256);
	*out = w;
	return ENT_OK;
}

/* Pulls <UploadId>…</UploadId> out of an XML answer. */
static char *xml_text(const char *xml, const char *tag)
{
	char open[64], close[64];
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	const char *a = xml ? strstr(xml, open) : NULL;
	if (!a)
		return NULL;
	a += strlen(open);
	const char *b = strstr(a, close);
	if (!b || b == a)
		return NULL;
	return strndup(a, (size_t)(b - a));
}

/* The upload id escaped for a query string (S3's ids are URL-safe already; be sure). */
static void add_escaped(buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || c == '.' || c == '~') {
			buf_addc(b, (char)c);
		} else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
	}
}

static int s3_flush_part(struct s3_writer *w)
{
	if (!w->upload_id) {
		struct s3_req c = {.method = "POST", .key = w->key, .query = "uploads="};
		int rc = s3_perform(w->s3, &c);
		if (rc != ENT_OK)
			return rc;
		if (c.status / 100 == 2)
			w->upload_id = xml_text(c.resp.data, "UploadId");
		buf_free(&c.resp);
		if (c.status / 100 != 2)
			return status_err(c.status) == ENT_ENOTFOUND ? ENT_EIO : status_err(c.status);
		if (!w->upload_id)
			return ENT_EIO;
	}
	if (w->parts >= S3_MAX_PARTS)
		return ENT_ETOOBIG;
	buf q;
	buf_init(&q, 4096);
	buf_printf(&q, "partNumber=%d&uploadId=", w->parts + 1);
	add_escaped(&q, w->upload_id);
	struct s3_req r = {.method = "PUT",
			   .key = w->key,
			   .query = q.data,
			   .body = w->data,
			   .body_len = w->len,
			   .body_sha256 = "UNSIGNED-PAYLOAD"};
	int rc = q.failed ? ENT_EINTERNAL : s3_perform(w->s3, &r);
	buf_free(&q);
	if (rc != ENT_OK)
		return rc;
	buf_free(&r.resp);
	if (r.status / 100 != 2)
		return status_err(r.status) == ENT_ENOTFOUND ? ENT_EIO : status_err(r.status);
	if (!r.etag[0])
		return ENT_EIO;
	w->parts++;
	buf_printf(&w->etags, "<Part><PartNumber>%d</PartNumber><ETag>", w->parts);
	for (const char *e = r.etag; *e; e++) {
		if (*e == '&')
			buf_addstr(&w->etags, "&amp;");
		else if (*e == '<')
			buf_addstr(&w->etags, "&lt;");
		else if (*e == '>')
			buf_addstr(&w->etags, "&gt;");
		else
			buf_addc(&w->etags, *e);
	}
	buf_addstr(&w->etags, "</ETag></Part>");
	if (w->etags.failed)
		return ENT_ETOOBIG;
	w->len = 0;
	return ENT_OK;
}

static int s3_write(void *wp, const void *data, size_t len)
{
	struct s3_writer *w = wp;
	const unsigned char *p = data;
	while (len > 0) {
		if (w->len == S3_PART_SIZE) {
			/* More data after a full buffer: the object needs a multipart upload. */
			int rc = s3_flush_part(w);
			if (rc != ENT_OK)
				return rc;
		}
		if (!w->data) {
			w->data = malloc(S3_PART_SIZE);
			if (!w->data)
				abort();
		}
		size_t n = S3_PART_SIZE - w->len;
		if (n > len)
			n = len;
		memcpy(w->data + w->len, p, n);
		w->len += n;
		p += n;
		len -= n;
	}
	return ENT_OK;
}

static void s3_writer_free(struct s3_writer *w)
{
	free(w->key);
	free(w->data);
	free(w->upload_id);
	buf_free(&w->etags);
	free(w);
}

static void s3_write_abort(void *wp)
{
	struct s3_writer *w = wp;
	if (!w)
		return;
	if (w->upload_id) {
		buf q;
		buf_init(&q, 4096);
		buf_addstr(&q, "uploadId=");
		add_escaped(&q, w->upload_id);
		struct s3_req r = {.method = "DELETE", .key = w->key, .query = q.data, .body_sha256 = S3_EMPTY_SHA256};
		int rc = q.failed ? ENT_EINTERNAL : s3_perform(w->s3, &r);
		if (rc == ENT_OK)
			buf_free(&r.resp);
		/* The object never becomes visible either way; its parts stay billed until a bucket
		 * lifecycle rule (AbortIncompleteMultipartUpload) removes them. */
		if (rc != ENT_OK || (r.status / 100 != 2 && r.status != 404))
			log_warn("blob s3: AbortMultipartUpload of %s failed (HTTP %ld): its parts stay in bucket %s",
				 w->key, r.status, w->s3->bucket);
		buf_free(&q);
	}
	s3_writer_free(w);
}

static int s3_write_commit(void *wp, const char *sha256)
{
	struct s3_writer *w = wp;
	int rc;
	if (!w->upload_id) {
		struct s3_req r = {
			.method = "PUT", .key = w->key, .body = w->data, .body_len = w->len, .body_sha256 = sha256};
		rc = s3_perform(w->s3, &r);
		if (rc == ENT_OK) {
			buf_free(&r.resp);
			if (r.status / 100 != 2)
				rc = status_err(r.status) == ENT_ENOTFOUND ? ENT_EIO : status_err(r.status);
		}
		s3_writer_free(w);
		return rc;
	}
	rc = s3_flush_part(w);
	if (rc != ENT_OK) {
		s3_write_abort(w);
		return rc;
	}
	buf x, q;
	buf_init(&x, 0);
	buf_addstr(&x, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	buf_add(&x, w->etags.data, w->etags.len);
	buf_addstr(&x, "</CompleteMultipartUpload>");
	buf_init(&q, 4096);
	buf_addstr(&q, "uploadId=");
	add_escaped(&q, w->upload_id);
	struct s3_req r = {.method = "POST", .key = w->key, .query = q.data, .body = x.data, .body_len = x.len};
	rc = x.failed || q.failed ? ENT_EINTERNAL : s3_perform(w->s3, &r);
	buf_free(&x);
	buf_free(&q);
	if (rc == ENT_OK) {
		/* S3 may answer 200 and still report an error in the body. */
		if (r.status / 100 != 2 || !r.resp.data || strstr(r.resp.data, "<Error>"))
			rc = r.status / 100 == 2 ? ENT_EIO : status_err(r.status);
		if (rc == ENT_ENOTFOUND)
			rc = ENT_EIO;
		buf_free(&r.resp);
	}
	if (rc != ENT_OK) {
		s3_write_abort(w);
		return rc;
	}
	s3_writer_free(w);
	return ENT_OK;
}

/* ---- reads, stat, delete ------------------------------------------------------------------- */

static int s3_stat(void *impl, const char *key, uint64_t *size)
{
	struct s3_req r = {.method = "HEAD", .key = key, .body_sha256 = S3_EMPTY_SHA256};
	int rc = s3_perform(impl, &r);
	if (rc != ENT_OK)
		return rc;
	buf_free(&r.resp);
	if (r.status / 100 != 2)
		return status_err(r.status);
	if (!r.have_length)
		return ENT_EIO;
	*size = r.length;
	return ENT_OK;
}

static long s3_read(void *impl, const char *key, uint64_t offset, void *out, size_t len)
{
	char range[64];
	snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)offset,
		 (unsigned long long)(offset + len - 1));
	struct s3_req r = {.method = "GET",
			   .key = key,
			   .range = range,
			   .body_sha256 = S3_EMPTY_SHA256,
			   .out = out,
			   .out_cap = len};
	int rc = s3_perform(impl, &r);
	if (rc != ENT_OK) {
		/* Some servers (s3rver) answer a range past the end of an object, the whole of an empty
		 * one included, with a 206 announcing a byte they never send; Content-Range still tells
		 * the size, and there is nothing to read there. */
		if (r.have_total && offset >= r.total)
			return 0;
		return rc;
	}
	buf_free(&r.resp);
	if (r.have_total && r.status == 206) {
		if (offset >= r.total)
			return 0;
		if (r.out_len > r.total - offset)
			r.out_len = (size_t)(r.total - offset);
	}
	if (r.status == 416)
		return 0; /* offset at or past the end */
	if (r.status == 200 && offset > 0) {
		/* The server ignored Range and sent the whole object: read again, skipping. */
		struct s3_req a = {.method = "GET",
				   .key = key,
				   .body_sha256 = S3_EMPTY_SHA256,
				   .out = out,
				   .out_cap = len,
				   .skip = offset};
		rc = s3_perform(impl, &a);
		if (rc != ENT_OK)
			return rc;
		buf_free(&a.resp);
		if (a.status / 100 != 2)
			return status_err(a.status);
		return (long)a.out_len;
	}
	if (r.status / 100 != 2)
		return status_err(r.status);
	return (long)r.out_len;
}

static int s3_delete(void *impl, const char *key)
{
	struct s3_req r = {.method = "DELETE", .key = key, .body_sha256 = S3_EMPTY_SHA256};
	int rc = s3_perform(impl, &r);
	if (rc != ENT_OK)
		return rc;
	buf_free(&r.resp);
	if (r.status / 100 == 2 || r.status == 404)
		return ENT_OK;
	return status_err(r.status);
}

const struct blob_backend blob_s3_backend = {
	.name = "s3",
	.open = s3_open,
	.close = s3_close,
	.write_begin = s3_write_begin,
	.write = s3_write,
	.write_commit = s3_write_commit,
	.write_abort = s3_write_abort,
	.stat = s3_stat,
	.open_fd = NULL,
	.read = s3_read,
	.del = s3_delete,
};
