/*
 * mail.c - forwarding new messages by e-mail to the users who asked for it (settings.c), through
 * SMTP with libcurl (ENT_SMTP, ENT_SMTP_FROM).
 *
 * The consumer `emails` (the bus queue ent.emails on RabbitMQ) reads message.received: for each
 * recipient who opted in and still holds the message, it writes the e-mail to message_mails in the
 * bus's transaction (so an event delivered twice is written once). The background thread
 * (notify.c) sends what is due: each row is claimed for a minute (UPDATE ... WHERE claimed_until
 * < now: one process sends it), sent, then deleted; a failure is retried with a growing delay, 8
 * times at most. A message recalled before its e-mail left is not sent.
 *
 * One e-mail per recipient, to that recipient alone: the envelope and the To header name only
 * them, and the text lists the message's to and cc addresses, never its bcc. Headers carry only
 * values checked here (addresses by util_valid_email_address) or encoded (RFC 2047 subject), so
 * nothing a user writes can add a header. The body is base64 of UTF-8 text.
 */
#include "internal.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus.h"
#include "core/app.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/users/users.h"

#define MAIL_ATTEMPTS 8
#define MAIL_CLAIM_US (60 * 1000000LL)

static int smtp_on(void) { return app.cfg && app.cfg->smtp && *app.cfg->smtp; }

/* "03/12/2026 à 12:40" on Paris's clock is what the portal shows; e-mails say UTC plainly. */
static const char *french_when(arena *a, const char *rfc3339)
{
	time_t t;
	if (!rfc3339 || util_parse_rfc3339(rfc3339, &t))
		return "";
	struct tm tm;
	gmtime_r(&t, &tm);
	return arena_printf(a, "%02d/%02d/%04d à %02d:%02d (UTC)", tm.tm_mday % 100, (tm.tm_mon + 1) % 100,
			    (tm.tm_year + 1900) % 10000, tm.tm_hour % 100, tm.tm_min % 100);
}

/* The addresses of kind ("to", "cc") of message id, labelled, comma separated ("" when none). */
static const char *addr_line(db_conn *c, arena *a, const char *id, const char *kind)
{
	db_stmt *s = SQL_PREP(
		c, "SELECT type, ref_id FROM message_addresses WHERE message_id = ? AND kind = ? ORDER BY position",
		SQL_T(id), SQL_T(kind));
	if (!s)
		return "";
	struct {
		const char *type, *id;
	} *v = NULL;
	size_t n = 0, cap = 0;
	while (db_step(s) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		v[n].type = arena_strdup(a, db_col_text(s, 0));
		v[n++].id = db_col_text(s, 1) ? arena_strdup(a, db_col_text(s, 1)) : NULL;
	}
	db_done(s);
	const char *out = "";
	for (size_t i = 0; i < n; i++)
		out = arena_printf(a, "%s%s%s", out, i ? ", " : "", msg_addr_label(c, a, v[i].type, v[i].id));
	return out;
}

/* Queues the e-mail of message_id for user, when they opted in and hold it. */
static int queue_one(db_conn *c, arena *a, const char *user, const char *message_id, const char *title)
{
	db_stmt *s = SQL_PREP(c, "SELECT email_address FROM message_settings WHERE user_id = ? AND email_forward = 1",
			      SQL_T(user));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	int on = rc == DB_ROW;
	const char *address = on && db_col_text(s, 0) ? arena_strdup(a, db_col_text(s, 0)) : NULL;
	db_done(s);
	if (rc < 0 || !on)
		return rc < 0 ? rc : ENT_OK;
	if (!address) {
		struct user u;
		rc = users_get(c, a, user, &u);
		if (rc == ENT_ENOTFOUND)
			return ENT_OK;
		if (rc)
			return rc;
		address = u.email;
	}
	if (!util_valid_email_address(address))
		return ENT_OK;
	s = SQL_PREP(c,
		     "SELECT m.sender_id, m.subject, m.body, m.sent_at,"
		     " (SELECT COUNT(*) FROM message_attachments x WHERE x.message_id = m.id)"
		     " FROM message_boxes b JOIN messages m ON m.id = b.message_id"
		     " WHERE b.message_id = ? AND b.user_id = ? AND b.visible = 1",
		     SQL_T(message_id), SQL_T(user));
	if (!s)
		return ENT_EDB;
	rc = db_step(s);
	if (rc != DB_ROW) {
		db_done(s);
		return rc < 0 ? rc : ENT_OK; /* recalled or deleted meanwhile */
	}
	const char *sender = arena_strdup(a, db_col_text(s, 0)), *subject = arena_strdup(a, db_col_text(s, 1)),
		   *text = arena_strdup(a, db_col_text(s, 2)),
		   *sent_at = db_col_text(s, 3) ? arena_strdup(a, db_col_text(s, 3)) : NULL;
	int64_t files = db_col_int64(s, 4);
	db_done(s);
	const char *to = addr_line(c, a, message_id, "to"), *cc = addr_line(c, a, message_id, "cc");
	const char *base = app.cfg && app.cfg->public_url ? app.cfg->public_url : "";
	const char *mail_subject = arena_printf(a, "%s : %s", title, *subject ? subject : "(sans objet)");
	const char *mail_body = arena_printf(
		a,
		"%s vous a écrit dans la messagerie de l'ENT.\n\nDe : %s\nÀ : %s\n%s%s%sDate : %s\nObjet : %s\n\n%s\n\n%s"
		"-- \nRépondre ou lire la conversation : %s/messagerie\nVous recevez ce courriel parce que vous avez "
		"demandé le transfert de vos messages ; pour l'arrêter, ouvrez les réglages de la messagerie.\n",
		msg_addr_label(c, a, "user", sender), msg_addr_label(c, a, "user", sender), *to ? to : "—",
		*cc ? "Cc : " : "", cc, *cc ? "\n" : "", french_when(a, sent_at), *subject ? subject : "(sans objet)",
		text,
		files ? arena_printf(a, "Pièces jointes : %lld (à télécharger dans la messagerie de l'ENT)\n\n",
				     (long long)files)
		      : "",
		base);
	char id[37];
	util_uuid(id);
	s = SQL_PREP(c,
		     "INSERT INTO message_mails (id, user_id, message_id, address, subject, body, next_us)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?)",
		     SQL_T(id), SQL_T(user), SQL_T(message_id), SQL_T(address), SQL_T(mail_subject), SQL_T(mail_body),
		     SQL_I(msg_now_us()));
	if (!s)
		return ENT_EDB;
	rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

static int on_received(db_conn *c, const struct bus_event *ev)
{
	if (!smtp_on())
		return ENT_OK; /* no e-mail sent from here: nothing to queue */
	const json_t *users = json_object_get(ev->payload, "students");
	const char *message_id = json_string_value(json_object_get(ev->payload, "message_id"));
	const char *title = json_string_value(json_object_get(ev->payload, "notify_title"));
	if (!json_is_array(users) || !message_id || !title)
		return ENT_OK; /* nothing to forward; retrying would never help */
	arena *a = arena_new(0);
	int rc = ENT_OK;
	size_t i;
	const json_t *u;
	json_array_foreach (users, i, u) {
		if (!json_is_string(u))
			continue;
		if ((rc = queue_one(c, a, json_string_value(u), message_id, title)))
			break;
	}
	arena_free(a);
	return rc;
}

static void on_applied(const struct bus_event *ev)
{
	(void)ev;
	msg_worker_kick();
}

static const char *const consumed[] = {"message.received", NULL};
const struct bus_consumer msg_emails_consumer = {
	.name = "emails",
	.types = consumed,
	.handle = on_received,
	.applied = on_applied,
};

int msg_mail_start(void)
{
	if (!smtp_on())
		return ENT_OK;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return ENT_OK;
}

/* ---- SMTP ---- */

/* Base64 of len bytes, lines of 76 characters ending in CRLF, into b. */
static void base64_lines(buf *b, const char *data, size_t len)
{
	for (size_t off = 0; off < len; off += 57) {
		size_t n = len - off < 57 ? len - off : 57;
		unsigned char out[80];
		int k = EVP_EncodeBlock(out, (const unsigned char *)data + off, (int)n);
		buf_add(b, out, (size_t)k);
		buf_addstr(b, "\r\n");
	}
}

/* An RFC 2047 encoded header value: base64 words of at most 45 bytes, cut between characters. */
static void encoded_words(buf *b, const char *s)
{
	size_t len = strlen(s), off = 0;
	int first = 1;
	if (!len)
		return;
	while (off < len) {
		size_t n = len - off < 45 ? len - off : 45;
		while (n > 1 && off + n < len && ((unsigned char)s[off + n] & 0xC0) == 0x80)
			n--; /* never split a UTF-8 sequence */
		unsigned char out[64];
		int k = EVP_EncodeBlock(out, (const unsigned char *)s + off, (int)n);
		buf_printf(b, "%s=?UTF-8?B?%.*s?=", first ? "" : "\r\n ", k, (const char *)out);
		first = 0;
		off += n;
	}
}

struct reader {
	const char *data;
	size_t len, off;
};

static size_t read_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct reader *r = userdata;
	size_t room = size * nmemb, n = r->len - r->off;
	if (n > room)
		n = room;
	memcpy(ptr, r->data + r->off, n);
	r->off += n;
	return n;
}

/* Sends one e-mail. 0, or -1 with the reason in err. */
static int smtp_send(const char *to, const char *subject, const char *text, char *err, size_t errlen)
{
	const char *from = app.cfg->smtp_from;
	buf b;
	buf_init(&b, 1 << 24);
	char date[64], mid[37];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday % 100,
		 months[tm.tm_mon % 12], (tm.tm_year + 1900) % 10000, tm.tm_hour % 100, tm.tm_min % 100,
		 tm.tm_sec % 100);
	util_uuid(mid);
	const char *domain = strchr(from, '@') + 1;
	buf_printf(&b, "Date: %s\r\nFrom: ", date);
	encoded_words(&b, "Messagerie de l'ENT");
	buf_printf(&b, " <%s>\r\nTo: <%s>\r\nSubject: ", from, to);
	encoded_words(&b, subject);
	buf_printf(&b,
		   "\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
		   "Content-Transfer-Encoding: base64\r\nAuto-Submitted: auto-generated\r\n\r\n",
		   mid, domain);
	base64_lines(&b, text, strlen(text));
	if (b.failed) {
		buf_free(&b);
		snprintf(err, errlen, "e-mail too large");
		return -1;
	}
	CURL *h = curl_easy_init();
	if (!h) {
		buf_free(&b);
		snprintf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	char mail_from[300], rcpt[300];
	snprintf(mail_from, sizeof(mail_from), "<%s>", from);
	snprintf(rcpt, sizeof(rcpt), "<%s>", to);
	struct curl_slist *rcpts = curl_slist_append(NULL, rcpt);
	struct reader r = {b.data, b.len, 0};
	char cerr[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, app.cfg->smtp);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &r);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)b.len);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	CURLcode cc = curl_easy_perform(h);
	if (cc != CURLE_OK)
		snprintf(err, errlen, "%s", *cerr ? cerr : curl_easy_strerror(cc));
	curl_slist_free_all(rcpts);
	curl_easy_cleanup(h);
	buf_free(&b);
	return cc == CURLE_OK ? 0 : -1;
}

int msg_mail_send_due(db_conn *c)
{
	if (!smtp_on())
		return 0;
	int64_t now = msg_now_us();
	db_stmt *s = SQL_PREP(c,
			      "SELECT id, user_id, message_id, address, subject, body, attempts FROM message_mails"
			      " WHERE next_us <= ? AND claimed_until < ? ORDER BY next_us LIMIT 20",
			      SQL_I(now), SQL_I(now));
	if (!s)
		return ENT_EDB;
	arena *a = arena_new(0);
	struct {
		const char *id, *user, *message, *address, *subject, *body;
		int64_t attempts;
	} *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		v = arena_grow(a, v, n, &cap, sizeof(*v));
		const char **f[] = {&v[n].id, &v[n].user, &v[n].message, &v[n].address, &v[n].subject, &v[n].body};
		for (int i = 0; i < 6; i++)
			*f[i] = arena_strdup(a, db_col_text(s, i));
		v[n++].attempts = db_col_int64(s, 6);
	}
	db_done(s);
	int sent = 0;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		/* The claim: the process whose update changed the row sends it. */
		int64_t changed = 0;
		rc = SQL_CHANGE(c, &changed,
				"UPDATE message_mails SET claimed_until = ? WHERE id = ? AND claimed_until < ?",
				SQL_I(now + MAIL_CLAIM_US), SQL_T(v[i].id), SQL_I(now));
		int claimed = rc >= 0 && changed == 1;
		if (!claimed)
			continue;
		int held = db_exists(c,
				     "SELECT 1 FROM message_boxes WHERE message_id = ? AND user_id = ? AND visible = 1",
				     v[i].message, v[i].user);
		if (held < 0) {
			rc = held;
			break;
		}
		char err[CURL_ERROR_SIZE + 64] = "";
		int ok = !held || smtp_send(v[i].address, v[i].subject, v[i].body, err, sizeof(err)) == 0;
		if (ok || v[i].attempts + 1 >= MAIL_ATTEMPTS) {
			if (!ok)
				log_error("messagerie: an e-mail of message %s could not be sent after %d attempts: %s",
					  v[i].message, MAIL_ATTEMPTS, err);
			rc = db_run(c, "DELETE FROM message_mails WHERE id = ?", v[i].id, NULL);
			sent += ok && held;
			continue;
		}
		log_warn("messagerie: sending an e-mail failed (attempt %lld): %s", (long long)v[i].attempts + 1, err);
		int64_t delay = 30LL * 1000000 << (v[i].attempts < 7 ? v[i].attempts : 7);
		s = SQL_PREP(c,
			     "UPDATE message_mails SET attempts = attempts + 1, next_us = ?, claimed_until = 0"
			     " WHERE id = ?",
			     SQL_I(msg_now_us() + delay), SQL_T(v[i].id));
		if (!s) {
			rc = ENT_EDB;
			break;
		}
		rc = db_step(s);
		db_done(s);
	}
	arena_free(a);
	return rc < 0 ? rc : sent;
}
