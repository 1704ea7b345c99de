/*
 * queue.c - the tickets as lists: the caller's own, the staff's queue with its filters, the CSV
 * export of the queue; the service levels (deadlines by priority) and the administrators'
 * dashboard.
 *
 * A list's statement is put together from constant fragments, one per filter present, each with
 * its `?` bound afterwards in order (values are never written into the SQL). Visibility is always
 * the first condition: a requester's own tickets, or for a teacher also the grades tickets
 * assigned to them, or everything for administrators. Lists are keyset-paginated on
 * (created_at, id), newest first.
 *
 * Overdue: a ticket still in progress (new, open, waiting) whose first answer is late (none yet
 * and first_response_due passed) or whose resolution_due passed. Deadlines are stored with the
 * ticket when it is created (or its priority changes), from support_sla, so a change of the
 * service levels applies to later tickets and does not rewrite the past.
 */
#include "internal.h"

#include <libical/ical.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "core/page.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/users/users.h"

#define OPEN_STATES "t.state IN ('new', 'open', 'waiting')"
#define OVERDUE_SQL                                                                                                    \
	OPEN_STATES " AND ((t.first_response_at IS NULL AND t.first_response_due < ?) OR t.resolution_due < ?)"
#define CSV_MAX_ROWS 10000

/* A statement being put together, with its parameters in order. */
struct qb {
	buf sql;
	int n;
	struct {
		const char *text;
		int64_t num;
		int is_num;
	} p[24];
};

static void qb_add(struct qb *q, const char *fragment) { buf_addstr(&q->sql, fragment); }
static void qb_text(struct qb *q, const char *v)
{
	q->p[q->n].text = v;
	q->p[q->n++].is_num = 0;
}
static void qb_num(struct qb *q, int64_t v)
{
	q->p[q->n].num = v;
	q->p[q->n++].is_num = 1;
}
static void qb_bind(struct qb *q, db_stmt *s)
{
	for (int i = 0; i < q->n; i++)
		if (q->p[i].is_num)
			db_bind_int64(s, i + 1, q->p[i].num);
		else
			db_bind_text_or_null(s, i + 1, q->p[i].text);
}

/*
 * Reads the caller (v), the time (now) and the list's filters, and puts the statement together
 * (without ORDER BY). Returns 0, or -1 after answering 400 naming the fields.
 */
static int list_query(http_req *req, struct sup_viewer *v, struct qb *q, char now[21])
{
	sup_viewer_of(req, v);
	sup_now(now, NULL);
	arena *a = http_arena(req);
	const char *state = http_query(req, "state"), *category = http_query(req, "category");
	const char *priority = http_query(req, "priority"), *assignee = http_query(req, "assignee_id");
	const char *overdue = http_query(req, "overdue"), *text = http_query(req, "q"), *mine = http_query(req, "mine");
	const char *requester = http_query(req, "requester_id"), *evaluation = http_query(req, "evaluation_id");
	json_t *errors = json_object();
	if (evaluation && !util_is_uuid(evaluation))
		json_object_set_new(errors, "evaluation_id", json_string("doit être l'identifiant d'une évaluation"));
	if (state && !sup_is(sup_states, state))
		json_object_set_new(errors, "state", json_string("doit valoir new, open, waiting, resolved ou closed"));
	if (category && !sup_is(sup_categories, category))
		json_object_set_new(errors, "category",
				    json_string("doit valoir account, courses, grades, timetable, messaging ou other"));
	if (priority && !sup_is(sup_priorities, priority))
		json_object_set_new(errors, "priority", json_string("doit valoir low, normal, high ou urgent"));
	if (assignee && strcmp(assignee, "none") && !util_is_uuid(assignee))
		json_object_set_new(errors, "assignee_id", json_string("doit être l'identifiant d'un compte, ou none"));
	if (requester && !util_is_uuid(requester))
		json_object_set_new(errors, "requester_id", json_string("doit être l'identifiant d'un compte"));
	if (overdue && strcmp(overdue, "true") && strcmp(overdue, "false"))
		json_object_set_new(errors, "overdue", json_string("doit valoir true ou false"));
	if (mine && strcmp(mine, "true") && strcmp(mine, "false"))
		json_object_set_new(errors, "mine", json_string("doit valoir true ou false"));
	if (text && (!util_valid_text(text) || json_utf8_len(text) > 100))
		json_object_set_new(errors, "q", json_string("doit être un texte d'au plus 100 caractères"));
	if (http_invalid(req, errors))
		return -1;
	buf_init(&q->sql, 8192);
	q->n = 0;
	qb_add(q, "SELECT " SUP_TICKET_COLS " FROM support_requests t WHERE 1 = 1");
	if (mine && !strcmp(mine, "true")) {
		qb_add(q, " AND t.requester_id = ?");
		qb_text(q, v->id);
	} else if (!v->admin) {
		qb_add(q, " AND (t.requester_id = ? OR (t.category = 'grades' AND t.assignee_id = ?))");
		qb_text(q, v->id);
		qb_text(q, (v->roles & ROLE_ENSEIGNANT) ? v->id : NULL);
	}
	const char *eq[][2] = {{" AND t.state = ?", state},
			       {" AND t.category = ?", category},
			       {" AND t.priority = ?", priority},
			       {" AND t.requester_id = ?", requester},
			       {" AND t.evaluation_id = ?", evaluation}};
	for (size_t i = 0; i < sizeof(eq) / sizeof(eq[0]); i++)
		if (eq[i][1]) {
			qb_add(q, eq[i][0]);
			qb_text(q, eq[i][1]);
		}
	if (assignee && !strcmp(assignee, "none"))
		qb_add(q, " AND t.assignee_id IS NULL");
	else if (assignee) {
		qb_add(q, " AND t.assignee_id = ?");
		qb_text(q, assignee);
	}
	if (overdue) {
		qb_add(q, strcmp(overdue, "true") ? " AND NOT (" OVERDUE_SQL ")" : " AND (" OVERDUE_SQL ")");
		qb_text(q, now);
		qb_text(q, now);
	}
	if (text && *text) {
		/* Internal notes are searched for administrators only: a requester never finds a ticket by one. */
		const char *pat = db_like(a, text, 1);
		qb_add(q, " AND (LOWER(t.subject) LIKE ? ESCAPE '\\' OR LOWER(t.description) LIKE ? ESCAPE '\\'"
			  " OR EXISTS (SELECT 1 FROM support_comments cm WHERE cm.ticket_id = t.id"
			  " AND (cm.internal = 0 OR ? = 1) AND LOWER(cm.body) LIKE ? ESCAPE '\\'))");
		qb_text(q, pat);
		qb_text(q, pat);
		qb_num(q, v->admin);
		qb_text(q, pat);
	}
	return 0;
}

/*
 * Runs the query q (freed) and reads its tickets into *items (*n of them, request arena). Returns
 * the connection, or NULL after answering (503, the failure).
 */
static db_conn *read_tickets(http_req *req, struct qb *q, struct sup_ticket **items, size_t *n)
{
	db_conn *c = http_db(req);
	if (!c) {
		buf_free(&q->sql);
		return NULL;
	}
	arena *a = http_arena(req);
	db_stmt *s = q->sql.failed ? NULL : db_prepare(c, q->sql.data);
	buf_free(&q->sql);
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return NULL;
	}
	qb_bind(q, s);
	size_t cap = 0;
	*items = NULL;
	*n = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		*items = arena_grow(a, *items, *n, &cap, sizeof(**items));
		sup_ticket_read(s, a, &(*items)[(*n)++]);
	}
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return NULL;
	}
	return c;
}

void sup_tickets_list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "support_tickets", 2))
		return;
	struct sup_viewer v;
	char now[21];
	struct qb q;
	if (list_query(req, &v, &q, now))
		return;
	if (pg.has_cursor) {
		qb_add(&q, " AND (t.created_at, t.id) < (?, ?)");
		qb_text(&q, pg.after[0]);
		qb_text(&q, pg.after[1]);
	}
	qb_add(&q, " ORDER BY t.created_at DESC, t.id DESC LIMIT ?");
	qb_num(&q, page_fetch(&pg));
	struct sup_ticket *items;
	size_t n;
	db_conn *c = read_tickets(req, &q, &items, &n);
	if (!c)
		return;
	arena *a = http_arena(req);
	/* Names are read after the statement is done (users_names uses the same connection). */
	for (size_t i = 0; i < n; i++) {
		const char *keys[2] = {items[i].col[T_CREATED], items[i].col[T_ID]};
		jw *w = page_item(&pg, keys);
		if (!w)
			break;
		sup_ticket_write(w, c, a, &items[i], now);
	}
	static const char *const keep[] = {"state",         "category", "priority", "assignee_id",
					   "requester_id",  "overdue",  "q",        "mine",
					   "evaluation_id", "limit",    NULL};
	page_reply(&pg, keep);
}

/* ---- CSV export ---- */

/*
 * One cell for a French spreadsheet: always quoted, quotes doubled, ';' between cells. A cell a
 * spreadsheet would read as a formula (= + - @, a tab or a carriage return first) gets a leading
 * single quote (OWASP, CSV injection), as the notes grid does.
 */
static void csv_cell(buf *b, const char *s, int first)
{
	if (!first)
		buf_addc(b, ';');
	buf_addc(b, '"');
	if (s && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
		buf_addc(b, '\'');
	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == '"')
			buf_addc(b, '"');
		buf_addc(b, *p);
	}
	buf_addc(b, '"');
}

/* "24/11/2026 10:00" on Paris's clock, or "" for NULL. */
static const char *french_time(arena *a, const char *rfc3339)
{
	time_t t;
	if (!rfc3339 || util_parse_rfc3339(rfc3339, &t))
		return "";
	icaltimezone *z = icaltimezone_get_builtin_timezone("Europe/Paris");
	struct icaltimetype lt = icaltime_from_timet_with_zone(t, 0, z ? z : icaltimezone_get_utc_timezone());
	return arena_printf(a, "%02d/%02d/%04d %02d:%02d", lt.day % 100, lt.month % 100, lt.year % 10000, lt.hour % 100,
			    lt.minute % 100);
}

/* A number with a decimal comma and two decimals ("2,50"). */
static const char *french_number(arena *a, double v)
{
	char *s = arena_printf(a, "%.2f", v);
	char *dot = strchr(s, '.');
	if (dot)
		*dot = ',';
	return s;
}

void sup_tickets_csv(http_req *req)
{
	struct sup_viewer v;
	char now[21];
	struct qb q;
	if (list_query(req, &v, &q, now))
		return;
	qb_add(&q, " ORDER BY t.created_at DESC, t.id DESC LIMIT ?");
	qb_num(&q, CSV_MAX_ROWS + 1);
	struct sup_ticket *items;
	size_t n;
	db_conn *c = read_tickets(req, &q, &items, &n);
	if (!c)
		return;
	arena *a = http_arena(req);
	if (n > CSV_MAX_ROWS) {
		http_problem(req, 413, "Plus de 10 000 demandes : affinez les filtres de l'export.");
		return;
	}
	buf b;
	buf_init(&b, 0);
	buf_addstr(&b, "\xEF\xBB\xBF"); /* a BOM, so that a spreadsheet reads the file as UTF-8 */
	static const char *const head[] = {"Référence",
					   "Sujet",
					   "Catégorie",
					   "Priorité",
					   "État",
					   "Demandeur",
					   "Confiée à",
					   "Ouverte le",
					   "Première réponse attendue avant",
					   "Première réponse le",
					   "Délai de première réponse (heures)",
					   "Résolution attendue avant",
					   "Résolue le",
					   "Close le",
					   "En retard",
					   "Satisfaction (1 à 5)",
					   "Avis"};
	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		csv_cell(&b, head[i], i == 0);
	buf_addstr(&b, "\r\n");
	int rc = ENT_OK;
	for (size_t i = 0; i < n; i++) {
		const struct sup_ticket *t = &items[i];
		const char *ids[2] = {t->col[T_REQUESTER], t->col[T_ASSIGNEE]}, *names[2] = {NULL, NULL};
		if ((rc = users_names(c, a, ids, 2, names)))
			break;
		const char *delay = "";
		time_t created, first;
		if (t->col[T_FR_AT] && !util_parse_rfc3339(t->col[T_CREATED], &created) &&
		    !util_parse_rfc3339(t->col[T_FR_AT], &first))
			delay = french_number(a, (double)(first - created) / 3600.0);
		const char *cells[] = {t->col[T_ID],
				       t->col[T_SUBJECT],
				       sup_label(t->col[T_CATEGORY]),
				       sup_label(t->col[T_PRIORITY]),
				       sup_label(t->col[T_STATE]),
				       names[0] ? names[0] : "",
				       names[1] ? names[1] : "",
				       french_time(a, t->col[T_CREATED]),
				       french_time(a, t->col[T_FR_DUE]),
				       french_time(a, t->col[T_FR_AT]),
				       delay,
				       french_time(a, t->col[T_RES_DUE]),
				       french_time(a, t->col[T_RESOLVED_AT]),
				       french_time(a, t->col[T_CLOSED_AT]),
				       sup_first_response_overdue(t, now) || sup_resolution_overdue(t, now) ? "oui"
													    : "non",
				       t->col[T_RATING] ? t->col[T_RATING] : "",
				       t->col[T_RATING_COMMENT] ? t->col[T_RATING_COMMENT] : ""};
		for (size_t k = 0; k < sizeof(cells) / sizeof(cells[0]); k++)
			csv_cell(&b, cells[k], k == 0);
		buf_addstr(&b, "\r\n");
	}
	if (rc < 0) {
		buf_free(&b);
		http_problem_err(req, rc, NULL);
		return;
	}
	if (b.failed) {
		buf_free(&b);
		http_problem(req, 413, "L'export est trop volumineux : affinez les filtres.");
		return;
	}
	http_set_header(req, "Content-Disposition", "attachment; filename=\"demandes-support.csv\"");
	http_reply_buf(req, 200, "text/csv; charset=utf-8", &b);
}

/* ---- service levels ---- */

int sup_deadlines(db_conn *c, const char *priority, const char *created, char fr_due[21], char res_due[21])
{
	time_t t0;
	if (util_parse_rfc3339(created, &t0))
		return ENT_EINVAL;
	db_stmt *s = SQL_PREP(c,
			      "SELECT first_response_minutes, resolution_minutes FROM support_sla WHERE priority = ?",
			      SQL_T(priority));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	if (rc == DB_ROW) {
		util_time_rfc3339(t0 + (time_t)db_col_int64(s, 0) * 60, fr_due);
		util_time_rfc3339(t0 + (time_t)db_col_int64(s, 1) * 60, res_due);
	}
	db_done(s);
	return rc == DB_ROW ? ENT_OK : rc < 0 ? rc : ENT_EINTERNAL;
}

#define SLA_SELECT "SELECT priority, first_response_minutes, resolution_minutes, updated_at FROM support_sla"
#define SLA_ORDER " ORDER BY CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END"

static void write_sla(jw *w, db_stmt *s, void *ctx)
{
	(void)ctx;
	jw_obj_open(w);
	jw_kstr(w, "priority", db_col_text(s, 0));
	jw_kstr(w, "priority_label", sup_label(db_col_text(s, 0)));
	jw_kint(w, "first_response_minutes", db_col_int64(s, 1));
	jw_kint(w, "resolution_minutes", db_col_int64(s, 2));
	jw_kstr(w, "updated_at", db_col_text(s, 3));
	jw_obj_close(w);
}

void sup_sla_list(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	sup_reply_items(req, db_prepare(c, SLA_SELECT SLA_ORDER), write_sla, NULL, 200, NULL);
}

void sup_sla_put(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	const char *priority = http_param(req, "priority");
	const struct jfield fields[] = {
		{"first_response_minutes", JF_INT, 1, 0, 5, 525600, NULL},
		{"resolution_minutes", JF_INT, 1, 0, 5, 525600, NULL},
	};
	json_t *errors = json_object();
	if (!sup_is(sup_priorities, priority))
		json_object_set_new(errors, "priority", json_string("doit valoir low, normal, high ou urgent"));
	json_check(body, fields, sizeof(fields) / sizeof(fields[0]), errors);
	long long fr = json_get_int(body, "first_response_minutes", 0),
		  res = json_get_int(body, "resolution_minutes", 0);
	if (!json_object_size(errors) && res < fr)
		json_object_set_new(errors, "resolution_minutes",
				    json_string("doit être au moins le délai de première réponse"));
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	char now[21];
	sup_now(now, NULL);
	int rc = SQL_RUN(c,
			 "UPDATE support_sla SET first_response_minutes = ?, resolution_minutes = ?, updated_at = ?,"
			 " updated_by = ? WHERE priority = ?",
			 SQL_I(fr), SQL_I(res), SQL_T(now), SQL_T(http_principal(req)->sub), SQL_T(priority));
	db_stmt *s = rc >= 0 ? db_prepare(c, SLA_SELECT " WHERE priority = ?") : NULL;
	if (s) {
		db_bind_text(s, 1, priority);
		if ((rc = db_step(s)) == DB_ROW)
			write_sla(http_jw(req), s, NULL);
		db_done(s);
	} else if (rc >= 0)
		rc = ENT_EDB;
	if (rc != DB_ROW) {
		http_problem_err(req, rc < 0 ? rc : ENT_EDB, "Les délais n'ont pas pu être enregistrés.");
		return;
	}
	http_reply_jw(req, 200);
}

/* ---- dashboard ---- */

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

/* A bound of the dashboard's window: RFC 3339, or YYYY-MM-DD (midnight UTC). */
static int parse_bound(const char *s, time_t *out)
{
	if (!util_parse_rfc3339(s, out))
		return 0;
	if (strlen(s) != 10)
		return -1;
	char full[32];
	snprintf(full, sizeof(full), "%sT00:00:00Z", s);
	return util_parse_rfc3339(full, out);
}

/* The key of created (RFC 3339) in its period: "2026-11-24", "2026-W48" or "2026-11". */
static const char *period_key(arena *a, const char *created, const char *period)
{
	if (!strcmp(period, "day"))
		return arena_strndup(a, created, 10);
	if (!strcmp(period, "month"))
		return arena_strndup(a, created, 7);
	time_t t;
	struct tm tm;
	char key[16];
	if (util_parse_rfc3339(created, &t) || !gmtime_r(&t, &tm) || !strftime(key, sizeof(key), "%G-W%V", &tm))
		return "?";
	return arena_strdup(a, key);
}

void sup_dashboard(http_req *req)
{
	const char *f = http_query(req, "from"), *t = http_query(req, "to"), *period = http_query(req, "period");
	char now[21];
	int64_t us;
	sup_now(now, &us);
	/* The default window ends just after now (its end is excluded): what happened this second counts. */
	time_t to = (time_t)(us / 1000000) + 1, from = to - 30L * 86400;
	json_t *errors = json_object();
	if (f && parse_bound(f, &from))
		json_object_set_new(errors, "from",
				    json_string("doit être une date (2026-11-24) ou une date-heure RFC 3339"));
	if (t && parse_bound(t, &to))
		json_object_set_new(errors, "to",
				    json_string("doit être une date (2026-11-24) ou une date-heure RFC 3339"));
	if (!json_object_size(errors) && to <= from)
		json_object_set_new(errors, "to", json_string("doit être après from"));
	else if (!json_object_size(errors) && to - from > 800L * 86400)
		json_object_set_new(errors, "to", json_string("est à plus de 800 jours de from"));
	if (period && strcmp(period, "day") && strcmp(period, "week") && strcmp(period, "month"))
		json_object_set_new(errors, "period", json_string("doit valoir day, week ou month"));
	if (http_invalid(req, errors))
		return;
	if (!period)
		period = "week";
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	char fs[21], ts[21];
	util_time_rfc3339(from, fs);
	util_time_rfc3339(to, ts);
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "from", fs);
	jw_kstr(w, "to", ts);
	jw_kstr(w, "period", period);
	/* Opened in the window, by period, and how long the first answer took. */
	db_stmt *s = db_prepare(c, "SELECT created_at, first_response_at FROM support_requests WHERE created_at >= ?"
				   " AND created_at < ? ORDER BY created_at");
	int rc = ENT_EDB;
	int64_t opened = 0;
	double *delays = NULL;
	size_t nd = 0, dcap = 0;
	if (s) {
		db_bind_text(s, 1, fs);
		db_bind_text(s, 2, ts);
		const char *last = NULL;
		int64_t count = 0;
		jw_key(w, "opened_by_period");
		jw_arr_open(w);
		while ((rc = db_step(s)) == DB_ROW) {
			opened++;
			const char *key = period_key(a, db_col_text(s, 0), period);
			if (last && strcmp(last, key)) {
				jw_obj_open(w);
				jw_kstr(w, "period", last);
				jw_kint(w, "count", count);
				jw_obj_close(w);
				count = 0;
			}
			last = key;
			count++;
			time_t c0, c1;
			if (db_col_text(s, 1) && !util_parse_rfc3339(db_col_text(s, 0), &c0) &&
			    !util_parse_rfc3339(db_col_text(s, 1), &c1)) {
				delays = arena_grow(a, delays, nd, &dcap, sizeof(*delays));
				delays[nd++] = (double)(c1 - c0) / 60.0;
			}
		}
		if (last) {
			jw_obj_open(w);
			jw_kstr(w, "period", last);
			jw_kint(w, "count", count);
			jw_obj_close(w);
		}
		jw_arr_close(w);
		db_done(s);
	}
	jw_kint(w, "opened", opened);
	jw_key(w, "median_first_response_minutes");
	if (!nd)
		jw_null(w);
	else {
		qsort(delays, nd, sizeof(*delays), cmp_double);
		jw_double(w, nd % 2 ? delays[nd / 2] : (delays[nd / 2 - 1] + delays[nd / 2]) / 2.0);
	}
	/* The queue now. */
	if (rc >= 0 && (s = db_prepare(c, "SELECT state, COUNT(*) FROM support_requests GROUP BY state"))) {
		int64_t counts[5] = {0};
		while ((rc = db_step(s)) == DB_ROW)
			for (int i = 0; sup_states[i]; i++)
				if (!strcmp(sup_states[i], db_col_text(s, 0)))
					counts[i] = db_col_int64(s, 1);
		db_done(s);
		jw_key(w, "by_state");
		jw_obj_open(w);
		for (int i = 0; sup_states[i]; i++)
			jw_kint(w, sup_states[i], counts[i]);
		jw_obj_close(w);
	} else if (rc >= 0)
		rc = ENT_EDB;
	if (rc >= 0 && (s = db_prepare(c, "SELECT COUNT(*) FROM support_requests t WHERE " OVERDUE_SQL))) {
		db_bind_text(s, 1, now);
		db_bind_text(s, 2, now);
		if ((rc = db_step(s)) == DB_ROW)
			jw_kint(w, "overdue", db_col_int64(s, 0));
		db_done(s);
	} else if (rc >= 0)
		rc = ENT_EDB;
	/* Satisfaction given in the window. */
	if (rc >= 0 &&
	    (s = db_prepare(c, "SELECT rating FROM support_requests WHERE rating IS NOT NULL AND rated_at >= ?"
			       " AND rated_at < ?"))) {
		db_bind_text(s, 1, fs);
		db_bind_text(s, 2, ts);
		int64_t sum = 0, n = 0;
		while ((rc = db_step(s)) == DB_ROW) {
			sum += db_col_int64(s, 0);
			n++;
		}
		db_done(s);
		jw_key(w, "satisfaction");
		jw_obj_open(w);
		jw_key(w, "mean");
		if (n)
			jw_double(w, round((double)sum / (double)n * 100.0) / 100.0);
		else
			jw_null(w);
		jw_kint(w, "count", n);
		jw_obj_close(w);
	} else if (rc >= 0)
		rc = ENT_EDB;
	/* "This answered my question": in the window, and since the start. */
	if (rc >= 0 && (s = db_prepare(c, "SELECT COUNT(CASE WHEN at >= ? AND at < ? THEN 1 END), COUNT(*)"
					  " FROM support_faq_helpful"))) {
		db_bind_text(s, 1, fs);
		db_bind_text(s, 2, ts);
		if ((rc = db_step(s)) == DB_ROW) {
			jw_key(w, "faq_helpful");
			jw_obj_open(w);
			jw_kint(w, "period", db_col_int64(s, 0));
			jw_kint(w, "total", db_col_int64(s, 1));
			jw_obj_close(w);
		}
		db_done(s);
	} else if (rc >= 0)
		rc = ENT_EDB;
	if (rc < 0) {
		http_problem_err(req, rc, "Le tableau de bord n'a pas pu être calculé.");
		return;
	}
	jw_obj_close(w);
	http_reply_jw(req, 200);
}
