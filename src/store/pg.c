/*
 * pg.c - the PostgreSQL backend of the store (libpq).
 *
 * SQL arrives written for both backends, with `?` placeholders. prepare() rewrites each `?` that
 * stands outside string literals, quoted identifiers, dollar-quoted strings and comments into
 * `$1`, `$2`, ... and creates a server-side named statement ("s<counter>", unique for the life
 * of the connection). Parameters travel as text, except blobs, which travel in binary so that no
 * escaping is involved; the server infers each parameter's type from the statement. Results come
 * back in text format and are read whole into a PGresult at the first step(); the following
 * steps walk its rows. Every connection gets `synchronous_commit = on` (a write we answer 2xx is
 * on the server's disk), `client_min_messages = warning` and the UTC time zone.
 *
 * Broken connections. When the server restarts or kills our backend, it sends a FATAL message
 * and closes the socket under an idle connection. Before each command, whatever arrived while
 * idle is read without blocking (PQconsumeInput); a connection found dead or doomed is reset
 * (PQreset) and the per-connection generation counter is bumped. Each statement remembers the generation it was prepared at and prepares itself again
 * when it is stale, so a reset costs nothing until a statement is used. A command that fails
 * because the connection died while it ran is retried once on a fresh connection when no
 * transaction was open; inside a transaction the work is lost, so the connection is marked and
 * every command fails with ENT_EUNAVAIL until the caller's ROLLBACK (or COMMIT, which reports the
 * loss) - never silently continuing in autocommit mode with half a transaction behind it.
 * Caveat of the retry: if the connection dies after the server committed an autocommit write but
 * before the reply arrived, the write runs twice. Writes that must not double use a unique key
 * (the retry then answers ENT_ECONFLICT) or run inside a transaction.
 *
 * Statements are deallocated lazily: finalize() only queues the name, and the queue is flushed
 * in one round trip before the next command run outside a transaction (DEALLOCATE fails inside
 * an aborted transaction and costs a round trip each; at disconnect the server drops them all).
 *
 * What this file must never do: log a parameter value (only SQLSTATEs, statement text and
 * schema names; PostgreSQL's DETAIL lines and data-exception messages quote values, so they are
 * never logged), format a value into SQL, or crash on a dead connection.
 *
 * Dialect notes for service authors: booleans come back as "t"/"f", so schemas use INTEGER 0/1
 * instead of BOOLEAN (col_int64 would read "t" as 0); the jsonb operators `?`, `?|` and `?&`
 * cannot be written (the `?` becomes a parameter), use jsonb_exists() and friends; bytea
 * columns read through col_blob (col_text gives their "\x..." hex form); numbers are parsed and
 * printed in the C locale (the program never calls setlocale); session state (SET, advisory
 * locks, temporary tables) is lost when the connection is reset.
 */
#include "backend.h"

#include "../core/err.h"
#include "../core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PG_CONNECT_TIMEOUT "10" /* seconds; a URL's own connect_timeout wins */
#define PG_MAX_PARAMS 65535     /* the protocol's limit */
#define PG_BYTEA_OID 17
#define PG_NAME_LEN 24 /* "s" + 20 digits of a uint64_t + NUL */

struct pg_conn {
	PGconn *pg;
	uint64_t gen;     /* bumped at each reset: statements prepared before it are stale */
	uint64_t next_id; /* statement names, never reused on this connection */
	int tx_lost;      /* the connection died inside a transaction: refuse all but its end */
	int doomed;       /* the server announced it is closing this session (FATAL while idle) */
	char **pending;   /* statement names to DEALLOCATE before the next command */
	size_t npending, cpending;
	char err[256]; /* last error, safe to log (no values) */
};

struct pg_param {
	char *v; /* NULL for SQL NULL */
	int len;
	int binary;
};

enum { ST_FRESH, ST_ROWS, ST_DONE, ST_ERROR };

struct pg_stmt {
	struct pg_conn *c;
	char *sql; /* rewritten with $n, kept to prepare again after a reset */
	char name[PG_NAME_LEN];
	uint64_t gen;
	int nparams;
	struct pg_param *params;
	const char **values; /* scratch arrays for PQexecPrepared */
	int *lengths, *formats;
	PGresult *res;
	int state, err, row, nrows, ncols;
	int64_t changes;
	unsigned char **blobs; /* decoded bytea of the current row, per column */
	size_t *bloblens;
};

/* ---- errors ---------------------------------------------------------------------------------- */

static void set_err(struct pg_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct pg_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

/* Copies libpq's (possibly multi-line) message into out as one line. */
static void one_line(char *out, size_t outlen, const char *msg)
{
	size_t n = 0;
	int space = 0;
	if (!outlen)
		return;
	for (const char *p = msg ? msg : ""; *p && n + 1 < outlen; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < outlen)
			out[n++] = ' ';
		space = 0;
		out[n++] = *p;
	}
	out[n] = '\0';
}

/*
 * Maps a failed result to an ent_err, records a loggable message in c->err and logs it. The
 * primary message is kept only where PostgreSQL does not quote data in it: data exceptions
 * (class 22) and user-raised errors (P0) may echo a parameter, so only their SQLSTATE and the
 * column or type involved are kept. DETAIL is never kept: it quotes row values.
 */
static int map_error(struct pg_conn *c, const PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!state) {
		/* Raised by libpq itself: the connection, or memory. */
		char msg[200];
		one_line(msg, sizeof(msg), res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
		set_err(c, "%s: %s", what, msg[0] ? msg : "no result");
		log_error("postgres %s", c->err);
		return PQstatus(c->pg) == CONNECTION_OK ? ENT_EDB : ENT_EUNAVAIL;
	}
	if (strncmp(state, "22", 2) == 0 || strncmp(state, "P0", 2) == 0) {
		const char *col = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
		const char *type = PQresultErrorField(res, PG_DIAG_DATATYPE_NAME);
		set_err(c, "%s: SQLSTATE %s%s%s%s%s", what, state, col ? " column " : "", col ? col : "",
			type ? " type " : "", type ? type : "");
	} else {
		set_err(c, "%s: SQLSTATE %s: %s", what, state, primary ? primary : "");
	}
	if (strcmp(state, "23505") == 0)
		return ENT_ECONFLICT;
	if (strncmp(state, "23", 2) == 0) {
		log_warn("postgres constraint: %s", c->err);
		return ENT_EINVAL;
	}
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0) {
		log_warn("postgres busy: %s", c->err);
		return ENT_EBUSY;
	}
	/* Connection exceptions, and the server shutting down or not accepting connections yet. */
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0) {
		log_error("postgres unavailable: %s", c->err);
		return ENT_EUNAVAIL;
	}
	log_error("postgres %s", c->err);
	return ENT_EDB;
}

/* Result of a command that went through: 0, or the mapped error. Does not clear res. */
static int check_result(struct pg_conn *c, const PGresult *res, const char *what)
{
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY: return ENT_OK;
	default: return map_error(c, res, what);
	}
}

/*
 * Warnings sent by the server (client_min_messages = warning) go to our log, not raw stderr.
 * A FATAL one arrives here when the server ends an idle session (shutdown, restart,
 * pg_terminate_backend): the socket closes right after, so the connection is marked doomed and
 * reopened before the next command instead of failing under it.
 */
static void notice_receiver(void *arg, const PGresult *res)
{
	struct pg_conn *c = arg;
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	if (severity && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0))
		c->doomed = 1;
	log_warn("postgres notice: SQLSTATE %s: %s", state ? state : "?", primary ? primary : "");
}

/* ---- connections ----------------------------------------------------------------------------- */

/* Session settings, run after every (re)connection. */
static int session_init(struct pg_conn *c)
{
	PGresult *res = PQexec(c->pg, "SET synchronous_commit = on;"
				      "SET client_min_messages = warning;"
				      "SET TIME ZONE 'UTC'");
	int rc = check_result(c, res, "session setup");
	PQclear(res);
	return rc;
}

static void pending_clear(struct pg_conn *c)
{
	for (size_t i = 0; i < c->npending; i++)
		free(c->pending[i]);
	c->npending = 0;
}

/*
 * Opens a new server session on the same parameters. Whatever the outcome, statements prepared
 * before are gone from the server, so the generation moves on.
 */
static int conn_reset(struct pg_conn *c)
{
	c->gen++;
	c->doomed = 0;
	pending_clear(c);
	PQreset(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		char msg[200];
		one_line(msg, sizeof(msg), PQerrorMessage(c->pg));
		set_err(c, "reconnect failed: %s", msg);
		log_error("postgres %s", c->err);
		return ENT_EUNAVAIL;
	}
	if (session_init(c) != ENT_OK) {
		/* Never run a command on a session without synchronous_commit: reset again next time. */
		c->doomed = 1;
		return ENT_EUNAVAIL;
	}
	log_warn("postgres: connection was lost and has been reopened");
	return ENT_OK;
}

static void *pg_connect(const char *url, char *err, size_t errlen)
{
	/*
	 * Entries before dbname are defaults the URL may override; entries after it are forced. UTF-8
	 * is forced because every byte we send or read is UTF-8.
	 */
	const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", "client_encoding", NULL};
	const char *const vals[] = {PG_CONNECT_TIMEOUT, "ent", url, "UTF8", NULL};
	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	if (!pg) {
		snprintf(err, errlen, "postgres: out of memory");
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		char msg[256];
		one_line(msg, sizeof(msg), PQerrorMessage(pg));
		snprintf(err, errlen, "postgres: %s", msg);
		PQfinish(pg);
		return NULL;
	}
	struct pg_conn *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->pg = pg;
	PQsetNoticeReceiver(pg, notice_receiver, c);
	if (session_init(c) != ENT_OK) {
		snprintf(err, errlen, "postgres: %s", c->err);
		PQfinish(pg);
		free(c);
		return NULL;
	}
	return c;
}

static void pg_disconnect(void *conn)
{
	struct pg_conn *c = conn;
	if (!c)
		return;
	pending_clear(c);
	free(c->pending);
	PQfinish(c->pg);
	free(c);
}

/* Sends the queued DEALLOCATEs in one round trip. Only called outside a transaction. */
static void pending_flush(struct pg_conn *c)
{
	/* "DEALLOCATE " + name + ";" per statement. */
	size_t len = 1;
	for (size_t i = 0; i < c->npending; i++)
		len += strlen(c->pending[i]) + 12;
	char *sql = malloc(len);
	if (!sql)
		abort();
	size_t n = 0;
	for (size_t i = 0; i < c->npending; i++) {
		/* DEALLOCATE takes no parameter; the names are ours ("s" and digits), never user data. */
		n += (size_t)snprintf(sql + n, len - n, "DEALLOCATE %s;", c->pending[i]);
	}
	pending_clear(c);
	PGresult *res = PQexec(c->pg, sql);
	free(sql);
	if (PQstatus(c->pg) == CONNECTION_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
		map_error(c, res, "deallocate");
	PQclear(res);
}

/*
 * Makes the connection usable before a command: refuses while a lost transaction has not been
 * ended, notices without blocking that the server went away (and reconnects when that is safe),
 * and flushes queued deallocations. ends_tx: the command is the COMMIT or ROLLBACK that would end
 * a transaction lost here, so there is nothing left to refuse afterwards. Returns 0 or
 * ENT_EUNAVAIL.
 */
static int conn_ready(struct pg_conn *c, int ends_tx)
{
	if (c->tx_lost) {
		set_err(c, "connection lost inside a transaction; it must be rolled back");
		return ENT_EUNAVAIL;
	}
	if (PQstatus(c->pg) != CONNECTION_OK)
		return conn_reset(c); /* a previous reconnection failed: the transaction was handled then */
	PGTransactionStatusType ts = PQtransactionStatus(c->pg);
	/* Reads what arrived while idle; PQisBusy parses it, running notice_receiver on a FATAL. */
	int alive = PQconsumeInput(c->pg);
	if (alive)
		PQisBusy(c->pg);
	if (!alive || c->doomed || PQstatus(c->pg) != CONNECTION_OK) {
		if (ts != PQTRANS_IDLE) {
			c->tx_lost = !ends_tx;
			conn_reset(c);
			set_err(c, "connection lost inside a transaction");
			log_error("postgres: %s", c->err);
			return ENT_EUNAVAIL;
		}
		if (conn_reset(c) != ENT_OK)
			return ENT_EUNAVAIL;
		ts = PQtransactionStatus(c->pg);
	}
	if (c->npending && ts == PQTRANS_IDLE) {
		pending_flush(c);
		/* Idle before the flush, so a connection that died under it is safe to reopen. */
		if (PQstatus(c->pg) != CONNECTION_OK && conn_reset(c) != ENT_OK)
			return ENT_EUNAVAIL;
	}
	return ENT_OK;
}

/*
 * Runs op (which returns libpq's result, possibly an error) with the reconnection policy: when
 * the connection dies under it outside a transaction, reconnect and run it once more; inside one,
 * mark the transaction lost unless op was the statement ending it (ends_tx). On ENT_OK *out holds
 * a result from a live connection, to be checked and cleared by the caller.
 */
static int conn_run(struct pg_conn *c, PGresult *(*op)(struct pg_conn *, void *), void *arg, int ends_tx,
		    PGresult **out)
{
	*out = NULL;
	int rc = conn_ready(c, ends_tx);
	if (rc != ENT_OK)
		return rc;
	for (int attempt = 0;; attempt++) {
		PGTransactionStatusType ts = PQtransactionStatus(c->pg);
		PGresult *res = op(c, arg);
		if (PQstatus(c->pg) == CONNECTION_OK) {
			*out = res;
			return ENT_OK;
		}
		char msg[200];
		one_line(msg, sizeof(msg), res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
		PQclear(res);
		log_warn("postgres: connection lost: %s", msg);
		if (ts != PQTRANS_IDLE) {
			if (!ends_tx)
				c->tx_lost = 1;
			conn_reset(c);
			set_err(c, "connection lost inside a transaction: %s", msg);
			return ENT_EUNAVAIL;
		}
		if (attempt > 0 || conn_reset(c) != ENT_OK) {
			set_err(c, "connection lost: %s", msg);
			return ENT_EUNAVAIL;
		}
	}
}

/* ---- exec ------------------------------------------------------------------------------------ */

/* True when sql is the single keyword word (any case), with optional blanks and semicolon. */
static int is_keyword(const char *sql, const char *word)
{
	while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
		sql++;
	size_t n = strlen(word);
	if (strncasecmp(sql, word, n) != 0)
		return 0;
	for (sql += n; *sql; sql++) {
		if (*sql != ' ' && *sql != '\t' && *sql != '\n' && *sql != '\r' && *sql != ';')
			return 0;
	}
	return 1;
}

static PGresult *op_exec(struct pg_conn *c, void *arg) { return PQexec(c->pg, arg); }

static int pg_exec(void *conn, const char *sql)
{
	struct pg_conn *c = conn;
	int rollback = is_keyword(sql, "ROLLBACK") || is_keyword(sql, "ABORT");
	int commit = is_keyword(sql, "COMMIT") || is_keyword(sql, "END");
	if (c->tx_lost && (rollback || commit)) {
		/* The server already threw the transaction away; a COMMIT must not look successful. */
		c->tx_lost = 0;
		if (rollback)
			return ENT_OK;
		set_err(c, "commit failed: the connection was lost during the transaction");
		return ENT_EUNAVAIL;
	}
	PGresult *res;
	int rc = conn_run(c, op_exec, (void *)sql, rollback || commit, &res);
	if (rc != ENT_OK)
		return rollback ? ENT_OK : rc; /* a dead session has rolled back by itself */
	rc = check_result(c, res, "exec");
	PQclear(res);
	return rc;
}

/* ---- placeholders ---------------------------------------------------------------------------- */

static int is_ident_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
	       ch == '$' || ch >= 0x80;
}

static int is_ident_start(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch >= 0x80;
}

/*
 * Length of a dollar-quote opening tag ($$ or $tag$) at p, 0 if p does not start one. A `$`
 * after an identifier character belongs to that identifier and starts nothing.
 */
static size_t dollar_tag(const char *sql, const char *p)
{
	if (*p != '$' || (p > sql && is_ident_char((unsigned char)p[-1])))
		return 0;
	const char *q = p + 1;
	if (*q != '$') {
		if (!is_ident_start((unsigned char)*q))
			return 0;
		while (is_ident_char((unsigned char)*q) && *q != '$')
			q++;
		if (*q != '$')
			return 0;
	}
	return (size_t)(q - p) + 1;
}

/*
 * Copies sql to out (when out is not NULL) with each `?` outside literals, quoted identifiers,
 * dollar quotes and comments replaced by $1, $2, ...; returns the number of placeholders. An
 * unterminated literal or comment simply runs to the end: the server will report the error.
 */
static int rewrite(const char *sql, char *out, size_t outlen)
{
	int n = 0;
	size_t o = 0;
	/* ch is evaluated exactly once: callers pass *p++. */
#define EMIT(ch)                                                                                                       \
	do {                                                                                                           \
		char ch_ = (ch);                                                                                       \
		if (out && o + 1 < outlen)                                                                             \
			out[o] = ch_;                                                                                  \
		o++;                                                                                                   \
	} while (0)
	for (const char *p = sql; *p;) {
		if (*p == '?') {
			char num[16];
			int len = snprintf(num, sizeof(num), "$%d", ++n);
			for (int i = 0; i < len; i++)
				EMIT(num[i]);
			p++;
		} else if (*p == '\'') {
			/* E'...' strings take backslash escapes; standard strings only double the quote. */
			int esc = p > sql && (p[-1] == 'E' || p[-1] == 'e') &&
				  (p - 1 == sql || !is_ident_char((unsigned char)p[-2]));
			EMIT(*p++);
			while (*p) {
				if (esc && *p == '\\' && p[1]) {
					EMIT(*p++);
					EMIT(*p++);
				} else if (*p == '\'' && p[1] == '\'') {
					EMIT(*p++);
					EMIT(*p++);
				} else if (*p == '\'') {
					EMIT(*p++);
					break;
				} else {
					EMIT(*p++);
				}
			}
		} else if (*p == '"') {
			EMIT(*p++);
			while (*p) {
				if (*p == '"' && p[1] == '"') {
					EMIT(*p++);
					EMIT(*p++);
				} else if (*p == '"') {
					EMIT(*p++);
					break;
				} else {
					EMIT(*p++);
				}
			}
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				EMIT(*p++);
		} else if (p[0] == '/' && p[1] == '*') {
			int depth = 0; /* PostgreSQL's block comments nest */
			do {
				if (p[0] == '/' && p[1] == '*') {
					depth++;
					EMIT(*p++);
					EMIT(*p++);
				} else if (p[0] == '*' && p[1] == '/') {
					depth--;
					EMIT(*p++);
					EMIT(*p++);
				} else {
					EMIT(*p++);
				}
			} while (*p && depth > 0);
		} else if (*p == '$' && dollar_tag(sql, p)) {
			size_t tag = dollar_tag(sql, p);
			const char *open = p;
			for (size_t i = 0; i < tag; i++)
				EMIT(*p++);
			while (*p && strncmp(p, open, tag) != 0)
				EMIT(*p++);
			for (size_t i = 0; i < tag && *p; i++)
				EMIT(*p++);
		} else {
			EMIT(*p++);
		}
		if (n > PG_MAX_PARAMS)
			return -1;
	}
#undef EMIT
	if (out && outlen)
		out[o < outlen ? o : outlen - 1] = '\0';
	return n;
}

/* ---- statements ------------------------------------------------------------------------------ */

static PGresult *op_prepare(struct pg_conn *c, void *arg)
{
	struct pg_stmt *s = arg;
	return PQprepare(c->pg, s->name, s->sql, s->nparams, NULL);
}

static void *pg_prepare(void *conn, const char *sql)
{
	struct pg_conn *c = conn;
	int nparams = rewrite(sql, NULL, 0);
	if (nparams < 0) {
		set_err(c, "prepare: more than %d parameters", PG_MAX_PARAMS);
		log_error("postgres %s", c->err);
		return NULL;
	}
	size_t len = strlen(sql) + (size_t)nparams * 5 + 1; /* "?" becomes at most "$65535" */
	struct pg_stmt *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->c = c;
	s->sql = malloc(len);
	if (!s->sql)
		abort();
	rewrite(sql, s->sql, len);
	s->nparams = nparams;
	if (nparams) {
		s->params = calloc((size_t)nparams, sizeof(*s->params));
		s->values = calloc((size_t)nparams, sizeof(*s->values));
		s->lengths = calloc((size_t)nparams, sizeof(*s->lengths));
		s->formats = calloc((size_t)nparams, sizeof(*s->formats));
		if (!s->params || !s->values || !s->lengths || !s->formats)
			abort();
	}
	snprintf(s->name, sizeof(s->name), "s%" PRIu64, ++c->next_id);

	PGresult *res;
	int rc = conn_run(c, op_prepare, s, 0, &res);
	if (rc == ENT_OK) {
		rc = check_result(c, res, "prepare");
		PQclear(res);
	}
	if (rc != ENT_OK) {
		log_error("postgres: could not prepare: %s", sql);
		free(s->params);
		free(s->values);
		free(s->lengths);
		free(s->formats);
		free(s->sql);
		free(s);
		return NULL;
	}
	s->gen = c->gen;
	return s;
}

static void free_blobs(struct pg_stmt *s)
{
	if (!s->blobs)
		return;
	for (int i = 0; i < s->ncols; i++)
		PQfreemem(s->blobs[i]);
	free(s->blobs);
	free(s->bloblens);
	s->blobs = NULL;
	s->bloblens = NULL;
}

static void clear_params(struct pg_stmt *s)
{
	for (int i = 0; i < s->nparams; i++) {
		free(s->params[i].v);
		s->params[i] = (struct pg_param){0};
	}
}

static void pg_reset(void *stmt)
{
	struct pg_stmt *s = stmt;
	free_blobs(s);
	PQclear(s->res);
	s->res = NULL;
	clear_params(s);
	s->state = ST_FRESH;
	s->err = 0;
	s->row = s->nrows = s->ncols = 0;
	s->changes = 0;
}

static void pg_finalize(void *stmt)
{
	struct pg_stmt *s = stmt;
	if (!s)
		return;
	pg_reset(s);
	struct pg_conn *c = s->c;
	/* Queue the server-side statement for DEALLOCATE, unless a reset already dropped it. */
	if (s->gen == c->gen && PQstatus(c->pg) == CONNECTION_OK) {
		if (c->npending == c->cpending) {
			c->cpending = c->cpending ? c->cpending * 2 : 16;
			c->pending = realloc(c->pending, c->cpending * sizeof(*c->pending));
			if (!c->pending)
				abort();
		}
		c->pending[c->npending] = strdup(s->name);
		if (!c->pending[c->npending])
			abort();
		c->npending++;
	}
	free(s->params);
	free(s->values);
	free(s->lengths);
	free(s->formats);
	free(s->sql);
	free(s);
}

/* Stores a copy of len bytes (plus a NUL for text) as parameter idx; out of range is ignored. */
static void set_param(struct pg_stmt *s, int idx, const void *v, size_t len, int binary)
{
	if (idx < 1 || idx > s->nparams)
		return;
	struct pg_param *p = &s->params[idx - 1];
	free(p->v);
	*p = (struct pg_param){0};
	if (!v)
		return;
	if (len > INT32_MAX) {
		/* libpq's lengths are ints; the server's limit (1 GB) is lower anyway. Sent as NULL. */
		log_error("postgres: parameter %d too large (%zu bytes)", idx, len);
		return;
	}
	p->v = malloc(len + 1);
	if (!p->v)
		abort();
	if (len)
		memcpy(p->v, v, len);
	p->v[len] = '\0';
	p->len = (int)len;
	p->binary = binary;
}

/* As with SQLite, a NULL pointer binds SQL NULL. */
static void pg_bind_text(void *stmt, int idx, const char *v, size_t len) { set_param(stmt, idx, v, len, 0); }

static void pg_bind_int64(void *stmt, int idx, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);
	set_param(stmt, idx, buf, (size_t)n, 0);
}

static void pg_bind_double(void *stmt, int idx, double v)
{
	char buf[40];
	int n;
	if (isnan(v))
		n = snprintf(buf, sizeof(buf), "NaN");
	else if (isinf(v))
		n = snprintf(buf, sizeof(buf), "%s", v > 0 ? "Infinity" : "-Infinity");
	else {
		/* The shortest of 15, 16 or 17 digits that reads back as the same double (17 always
		 * does), so that 0.1 reaches a NUMERIC or TEXT column as "0.1". */
		for (int prec = 15;; prec++) {
			n = snprintf(buf, sizeof(buf), "%.*g", prec, v);
			if (prec == 17 || strtod(buf, NULL) == v)
				break;
		}
	}
	set_param(stmt, idx, buf, (size_t)n, 0);
}

static void pg_bind_null(void *stmt, int idx) { set_param(stmt, idx, NULL, 0, 0); }

static void pg_bind_blob(void *stmt, int idx, const void *v, size_t len) { set_param(stmt, idx, v, len, 1); }

static PGresult *op_execute(struct pg_conn *c, void *arg)
{
	struct pg_stmt *s = arg;
	if (s->gen != c->gen) {
		/* Prepared on a session that no longer exists: prepare again under the same name. */
		PGresult *res = PQprepare(c->pg, s->name, s->sql, s->nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return res;
		PQclear(res);
		s->gen = c->gen;
	}
	for (int i = 0; i < s->nparams; i++) {
		s->values[i] = s->params[i].v;
		s->lengths[i] = s->params[i].len;
		s->formats[i] = s->params[i].binary;
	}
	return PQexecPrepared(c->pg, s->name, s->nparams, s->values, s->lengths, s->formats, 0);
}

/* First step: runs the statement and keeps its whole result. */
static int stmt_execute(struct pg_stmt *s)
{
	PGresult *res;
	int rc = conn_run(s->c, op_execute, s, 0, &res);
	if (rc == ENT_OK) {
		rc = check_result(s->c, res, "step");
		if (rc != ENT_OK)
			PQclear(res);
	}
	if (rc != ENT_OK) {
		s->state = ST_ERROR;
		s->err = rc;
		return rc;
	}
	s->res = res;
	s->nrows = PQntuples(res);
	s->ncols = PQnfields(res);
	s->changes = strtoll(PQcmdTuples(res), NULL, 10);
	s->row = -1;
	s->state = ST_ROWS;
	return ENT_OK;
}

static int pg_step(void *stmt)
{
	struct pg_stmt *s = stmt;
	free_blobs(s);
	if (s->state == ST_FRESH && stmt_execute(s) != ENT_OK)
		return s->err;
	switch (s->state) {
	case ST_ROWS:
		if (s->row + 1 < s->nrows) {
			s->row++;
			return DB_ROW;
		}
		s->row = s->nrows;
		s->state = ST_DONE;
		return DB_DONE;
	case ST_DONE: return DB_DONE;
	default: return s->err; /* ST_ERROR: the same error until reset */
	}
}

/* True when (current row, col) names a cell. */
static int has_cell(const struct pg_stmt *s, int col)
{
	return s->state == ST_ROWS && s->row >= 0 && s->row < s->nrows && col >= 0 && col < s->ncols;
}

/* Known from the first step on (the description comes with the result), not right after prepare. */
static int pg_col_count(void *stmt)
{
	struct pg_stmt *s = stmt;
	return s->res ? s->ncols : 0;
}

static int pg_col_is_null(void *stmt, int col)
{
	struct pg_stmt *s = stmt;
	return !has_cell(s, col) || PQgetisnull(s->res, s->row, col);
}

static const char *pg_col_text(void *stmt, int col)
{
	struct pg_stmt *s = stmt;
	if (pg_col_is_null(s, col))
		return NULL;
	return PQgetvalue(s->res, s->row, col);
}

static int64_t pg_col_int64(void *stmt, int col)
{
	const char *t = pg_col_text(stmt, col);
	return t ? strtoll(t, NULL, 10) : 0;
}

static double pg_col_double(void *stmt, int col)
{
	const char *t = pg_col_text(stmt, col);
	return t ? strtod(t, NULL) : 0.0;
}

static const void *pg_col_blob(void *stmt, int col, size_t *len)
{
	struct pg_stmt *s = stmt;
	*len = 0;
	const char *t = pg_col_text(s, col);
	if (!t)
		return NULL;
	if (!s->blobs) {
		s->blobs = calloc((size_t)s->ncols, sizeof(*s->blobs));
		s->bloblens = calloc((size_t)s->ncols, sizeof(*s->bloblens));
		if (!s->blobs || !s->bloblens)
			abort();
	}
	if (!s->blobs[col]) {
		s->blobs[col] = PQunescapeBytea((const unsigned char *)t, &s->bloblens[col]);
		if (!s->blobs[col])
			abort(); /* libpq's only failure is out of memory */
	}
	*len = s->bloblens[col];
	return s->blobs[col];
}

/* A bytea column counts its decoded bytes, as SQLite counts a blob's; others their text. */
static size_t pg_col_bytes(void *stmt, int col)
{
	struct pg_stmt *s = stmt;
	if (pg_col_is_null(s, col))
		return 0;
	if (PQftype(s->res, col) == PG_BYTEA_OID) {
		size_t len;
		pg_col_blob(s, col, &len);
		return len;
	}
	return (size_t)PQgetlength(s->res, s->row, col);
}

static int64_t pg_changes(void *stmt) { return ((struct pg_stmt *)stmt)->changes; }

/* ---- migrations and messages ----------------------------------------------------------------- */

/* A session-level advisory lock: held until unlocked or the session ends, across transactions. */
static int pg_migrate_lock(void *conn) { return pg_exec(conn, "SELECT pg_advisory_lock(727272)"); }
static int pg_migrate_unlock(void *conn) { return pg_exec(conn, "SELECT pg_advisory_unlock(727272)"); }

static const char *pg_errmsg(void *conn)
{
	struct pg_conn *c = conn;
	return c->err[0] ? c->err : "no error";
}

/* ---- notifications (LISTEN) ------------------------------------------------------------------ */

void *pg_listen_open(const char *url, const char *channel, char *err, size_t errlen)
{
	struct pg_conn *c = pg_connect(url, err, errlen);
	if (!c)
		return NULL;
	char *ident = PQescapeIdentifier(c->pg, channel, strlen(channel));
	char sql[160];
	snprintf(sql, sizeof(sql), "LISTEN %s", ident ? ident : "\"\"");
	PQfreemem(ident);
	PGresult *res = PQexec(c->pg, sql);
	int rc = check_result(c, res, "listen");
	PQclear(res);
	if (rc != ENT_OK) {
		snprintf(err, errlen, "postgres: %s", c->err);
		pg_disconnect(c);
		return NULL;
	}
	return c;
}

int pg_listen_wait(void *l, int timeout_ms, void (*fn)(const char *payload, void *arg), void *arg)
{
	struct pg_conn *c = l;
	int n = 0;
	for (int waited = 0;; waited = 1) {
		if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK || c->doomed)
			return ENT_EUNAVAIL;
		PGnotify *nt;
		while ((nt = PQnotifies(c->pg))) {
			fn(nt->extra ? nt->extra : "", arg);
			PQfreemem(nt);
			n++;
		}
		if (n || waited)
			return n;
		struct pollfd p = {.fd = PQsocket(c->pg), .events = POLLIN};
		if (p.fd < 0)
			return ENT_EUNAVAIL;
		if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
			return ENT_EUNAVAIL;
	}
}

void pg_listen_close(void *l) { pg_disconnect(l); }

const struct db_backend db_pg_backend = {
	.name = "postgres",
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.bind_text = pg_bind_text,
	.bind_int64 = pg_bind_int64,
	.bind_double = pg_bind_double,
	.bind_null = pg_bind_null,
	.bind_blob = pg_bind_blob,
	.step = pg_step,
	.col_count = pg_col_count,
	.col_is_null = pg_col_is_null,
	.col_text = pg_col_text,
	.col_bytes = pg_col_bytes,
	.col_int64 = pg_col_int64,
	.col_double = pg_col_double,
	.col_blob = pg_col_blob,
	.changes = pg_changes,
	.reset = pg_reset,
	.begin_sql = "BEGIN",
	.begin_read_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
	.migrate_lock = pg_migrate_lock,
	.migrate_unlock = pg_migrate_unlock,
	.errmsg = pg_errmsg,
};
