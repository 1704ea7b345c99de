/*
 * totp.c - the second factor of staff logins: TOTP (RFC 6238, through liboath), its enrolment with
 * a QR code (libqrencode), recovery codes, and brute-force limits of its own.
 *
 * Administrators must use it; teachers may (ENT_MFA_TEACHERS=optional, the default) or must
 * (required). A user's secret (20 random bytes, kept in base32 in auth_totp) is pending until the
 * first code typed from it confirms it; only then is it asked at login. Codes are 6 digits, 30 s
 * steps, one step either side accepted for clock drift, and never twice: the step of the last code
 * accepted is kept, and a code of that step or an earlier one is refused (a code seen over a
 * shoulder cannot be replayed). Ten recovery codes are shown once at enrolment and stored hashed;
 * each works once.
 *
 * Failures are counted per user: from the 5th consecutive wrong code the second step is locked
 * for 30 s, doubling up to 15 minutes (the password alone never gets a token, so a stolen
 * password is not enough to lock anyone out of more than this).
 */
#include "internal.h"

#include <liboath/oath.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/err.h"
#include "core/jwt.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/users/users.h"

#define TOTP_STEP 30
#define TOTP_DIGITS 6
#define FREE_FAILURES 4
#define MAX_LOCK (15 * 60)
#define RECOVERY_CODES 10

void totp_init(void) { oath_init(); }

int totp_required(const struct user *u)
{
	if (u->roles & ROLE_ADMIN)
		return 1;
	return (u->roles & ROLE_ENSEIGNANT) && app.cfg && strcmp(app.cfg->mfa_teachers, "required") == 0;
}

int totp_state(db_conn *c, const char *user_id)
{
	db_stmt *s = SQL_PREP(c, "SELECT confirmed_at FROM auth_totp WHERE user_id = ?", SQL_T(user_id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	int state = rc == DB_ROW ? (db_col_is_null(s, 0) ? TOTP_PENDING : TOTP_ON) : TOTP_OFF;
	db_done(s);
	return rc < 0 ? rc : state;
}

/* Percent-encodes s for an otpauth label or parameter (arena). */
static const char *uri_encode(arena *a, const char *s)
{
	char *o = arena_alloc(a, strlen(s) * 3 + 1), *p = o;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~@", ch))
			*p++ = (char)ch;
		else
			p += sprintf(p, "%%%02X", ch);
	}
	*p = '\0';
	return o;
}

int totp_begin_enrol(db_conn *c, arena *a, const char *user_id, const char *account, const char **secret_b32,
		     const char **uri)
{
	char raw[20], *b32 = NULL;
	size_t b32len = 0;
	util_random(raw, sizeof raw);
	if (oath_base32_encode(raw, sizeof raw, &b32, &b32len) != OATH_OK || !b32)
		return ENT_EINTERNAL;
	*secret_b32 = arena_strndup(a, b32, b32len);
	free(b32);
	db_stmt *s = db_prepare(
		c, "INSERT INTO auth_totp (user_id, secret, confirmed_at, last_step, failures, locked_until,"
		   " created_at) VALUES (?, ?, NULL, 0, 0, 0, ?) ON CONFLICT (user_id) DO UPDATE SET"
		   " secret = excluded.secret, confirmed_at = NULL, last_step = 0, failures = 0,"
		   " created_at = excluded.created_at WHERE auth_totp.confirmed_at IS NULL");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, user_id);
	db_bind_text(s, 2, *secret_b32);
	db_bind_int64(s, 3, time(NULL));
	int rc = db_step(s);
	int64_t n = rc >= 0 ? db_changes(s) : 0;
	db_done(s);
	if (rc < 0)
		return rc;
	if (n != 1)
		return ENT_ECONFLICT; /* already confirmed: never replaced from a login page */
	*uri = arena_printf(a, "otpauth://totp/ENT:%s?secret=%s&issuer=ENT&algorithm=SHA1&digits=6&period=30",
			    uri_encode(a, account), *secret_b32);
	return ENT_OK;
}

struct totp_row {
	char secret[64];
	int confirmed;
	int64_t last_step, failures, locked_until;
};

static int load_row(db_conn *c, const char *user_id, struct totp_row *r)
{
	db_stmt *s = db_prepare(
		c, "SELECT secret, confirmed_at, last_step, failures, locked_until FROM auth_totp WHERE user_id = ?");
	if (!s)
		return ENT_EDB;
	db_bind_text(s, 1, user_id);
	int rc = db_step(s);
	if (rc == DB_ROW) {
		snprintf(r->secret, sizeof r->secret, "%s", db_col_text(s, 0));
		r->confirmed = !db_col_is_null(s, 1);
		r->last_step = db_col_int64(s, 2);
		r->failures = db_col_int64(s, 3);
		r->locked_until = db_col_int64(s, 4);
	}
	db_done(s);
	return rc < 0 ? rc : rc == DB_ROW ? ENT_OK : ENT_ENOTFOUND;
}

/* The step of a valid code (with one step of drift either side), or -1. */
static int64_t code_step(const struct totp_row *r, const char *code, time_t now)
{
	if (!code || strlen(code) != TOTP_DIGITS || strspn(code, "0123456789") != TOTP_DIGITS)
		return -1;
	char *raw = NULL;
	size_t rawlen = 0;
	if (oath_base32_decode(r->secret, strlen(r->secret), &raw, &rawlen) != OATH_OK || !raw)
		return -1;
	int pos = 0;
	int rc = oath_totp_validate2(raw, rawlen, now, TOTP_STEP, 0, 1, &pos, code);
	free(raw);
	if (rc < 0)
		return -1;
	return (int64_t)(now / TOTP_STEP) + pos;
}

/* Counts a failure; returns the lock's length in seconds when this failure locks, else 0. */
static int fail(db_conn *c, const char *user_id, int64_t failures)
{
	int64_t n = failures + 1, lock = 0;
	if (n > FREE_FAILURES) {
		lock = 30;
		for (int64_t i = FREE_FAILURES + 1; i < n && lock < MAX_LOCK; i++)
			lock *= 2;
		if (lock > MAX_LOCK)
			lock = MAX_LOCK;
	}
	db_stmt *s = db_prepare(c, "UPDATE auth_totp SET failures = failures + 1, locked_until = ? WHERE user_id = ?");
	if (s) {
		db_bind_int64(s, 1, lock ? time(NULL) + lock : 0);
		db_bind_text(s, 2, user_id);
		db_step(s);
		db_done(s);
	}
	return (int)lock;
}

/* Uses one recovery code of user_id ("abcd-efgh"): 1 if it was valid and unused, 0, or an error. */
static int use_recovery(db_conn *c, const char *user_id, const char *code)
{
	if (!code || strlen(code) != 9 || code[4] != '-')
		return 0;
	char h[65];
	sha256_hex(code, 9, h);
	db_stmt *s = db_prepare(
		c,
		"UPDATE auth_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL");
	if (!s)
		return ENT_EDB;
	db_bind_int64(s, 1, time(NULL));
	db_bind_text(s, 2, user_id);
	db_bind_text(s, 3, h);
	int rc = db_step(s);
	int64_t n = rc >= 0 ? db_changes(s) : 0;
	db_done(s);
	return rc < 0 ? rc : n == 1;
}

int totp_check(db_conn *c, const char *user_id, const char *code, int *retry_after)
{
	*retry_after = 0;
	struct totp_row r;
	int rc = load_row(c, user_id, &r);
	if (rc)
		return rc == ENT_ENOTFOUND ? ENT_EAUTH : rc;
	time_t now = time(NULL);
	if (r.locked_until > now) {
		*retry_after = (int)(r.locked_until - now);
		return ENT_EBUSY;
	}
	int64_t step = r.confirmed ? code_step(&r, code, now) : -1;
	int ok = step > r.last_step;
	if (!ok && r.confirmed && step < 0) {
		rc = use_recovery(c, user_id, code);
		if (rc < 0)
			return rc;
		ok = rc;
		step = r.last_step;
	}
	if (!ok) {
		int lock = fail(c, user_id, r.failures);
		if (lock) {
			*retry_after = lock;
			return ENT_EBUSY;
		}
		return ENT_EAUTH;
	}
	/* Accepted: the step is kept so that this code is never accepted again (compare-and-set). */
	db_stmt *s = db_prepare(c,
				"UPDATE auth_totp SET last_step = ?, failures = 0, locked_until = 0 WHERE user_id = ?"
				" AND last_step = ?");
	if (!s)
		return ENT_EDB;
	db_bind_int64(s, 1, step);
	db_bind_text(s, 2, user_id);
	db_bind_int64(s, 3, r.last_step);
	rc = db_step(s);
	int64_t n = rc >= 0 ? db_changes(s) : 0;
	db_done(s);
	if (rc < 0)
		return rc;
	return n == 1 ? ENT_OK : ENT_EAUTH; /* the same code raced in twice: only one wins */
}

int totp_confirm(db_conn *c, arena *a, const char *user_id, const char *code, int *retry_after, const char ***recovery)
{
	*retry_after = 0;
	struct totp_row r;
	int rc = load_row(c, user_id, &r);
	if (rc)
		return rc == ENT_ENOTFOUND ? ENT_EAUTH : rc;
	time_t now = time(NULL);
	if (r.locked_until > now) {
		*retry_after = (int)(r.locked_until - now);
		return ENT_EBUSY;
	}
	int64_t step = r.confirmed ? -1 : code_step(&r, code, now);
	if (step < 0) {
		int lock = fail(c, user_id, r.failures);
		if (lock) {
			*retry_after = lock;
			return ENT_EBUSY;
		}
		return ENT_EAUTH;
	}
	if ((rc = db_begin(c)))
		return rc;
	db_stmt *s = db_prepare(c,
				"UPDATE auth_totp SET confirmed_at = ?, last_step = ?, failures = 0, locked_until = 0"
				" WHERE user_id = ? AND confirmed_at IS NULL");
	rc = ENT_EDB;
	if (s) {
		db_bind_int64(s, 1, now);
		db_bind_int64(s, 2, step);
		db_bind_text(s, 3, user_id);
		rc = db_step(s);
		if (rc >= 0 && db_changes(s) != 1)
			rc = ENT_ECONFLICT;
		db_done(s);
	}
	if (rc >= 0) {
		s = db_prepare(c, "DELETE FROM auth_recovery_codes WHERE user_id = ?");
		rc = ENT_EDB;
		if (s) {
			db_bind_text(s, 1, user_id);
			rc = db_step(s);
			db_done(s);
		}
	}
	const char **codes = arena_alloc(a, (RECOVERY_CODES + 1) * sizeof(*codes));
	static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789"; /* no 0/o, 1/l/i */
	for (int i = 0; i < RECOVERY_CODES && rc >= 0; i++) {
		unsigned char rnd[8];
		util_random(rnd, sizeof rnd);
		char *code9 = arena_alloc(a, 10);
		for (int k = 0, j = 0; k < 9; k++)
			code9[k] = k == 4 ? '-' : alphabet[rnd[j++] % (sizeof(alphabet) - 1)];
		code9[9] = '\0';
		codes[i] = code9;
		codes[i + 1] = NULL;
		char h[65];
		sha256_hex(code9, 9, h);
		s = db_prepare(c, "INSERT INTO auth_recovery_codes (user_id, code_hash, used_at) VALUES (?, ?, NULL)");
		rc = ENT_EDB;
		if (s) {
			db_bind_text(s, 1, user_id);
			db_bind_text(s, 2, h);
			rc = db_step(s);
			db_done(s);
		}
	}
	rc = rc < 0 ? (db_rollback(c), rc) : db_commit(c);
	if (rc)
		return rc;
	*recovery = codes;
	return ENT_OK;
}

void totp_qr_svg(buf *b, const char *uri)
{
	QRcode *q = QRcode_encodeString(uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!q)
		return;
	int w = q->width, quiet = 4, size = w + 2 * quiet;
	buf_printf(
		b,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"220\" height=\"220\" "
		"role=\"img\" aria-label=\"QR code à scanner avec votre application d'authentification\" "
		"shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
		size, size, size, size);
	for (int y = 0; y < w; y++)
		for (int x = 0; x < w; x++)
			if (q->data[y * w + x] & 1)
				buf_printf(b, "M%d %dh1v1h-1z", x + quiet, y + quiet);
	buf_addstr(b, "\"/></svg>");
	QRcode_free(q);
}

int totp_erase_user(db_conn *c, const char *user_id)
{
	static const char *const sqls[] = {"DELETE FROM auth_recovery_codes WHERE user_id = ?",
					   "DELETE FROM auth_totp WHERE user_id = ?"};
	return SQL_EACH(c, sqls, user_id);
}
