/*
 * internal.h - what the support service's files share (never included outside the folder).
 *
 * Files: support.c (the service table, schema, labels, who sees what, GDPR), tickets.c (tickets,
 * their states, comments, internal notes, history and ratings), queue.c (the staff's queue: lists
 * with filters, the CSV export, the service levels and the dashboard), faq.c (the FAQ and its
 * full-text search), notify.c (support.updated on the bus), jobs.c (the 7-day auto-close),
 * contest.c (grade contestations: a grades ticket linked to an evaluation, the grade's revision
 * through the notes service's C interface), demo.c (`ent demo`) and generate.c (`ent demo --scale`).
 */
#ifndef ENT_SUPPORT_INTERNAL_H
#define ENT_SUPPORT_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/http.h"
#include "core/json.h"
#include "core/page.h"
#include "core/sql.h"
#include "store/db.h"

/* A RESOLVED ticket nobody reopened closes itself after this long. */
#define SUP_AUTOCLOSE_S (7L * 86400)
#define SUP_SUBJECT_MAX 200
#define SUP_TEXT_MAX 10000

/* ---- support.c: codes and their French labels ---- */

/* NULL-terminated lists of the stable codes. */
extern const char *const sup_categories[];
extern const char *const sup_priorities[];
extern const char *const sup_states[];
/* The French label of a code of one of the lists above ("Compte et connexion"), or the code itself. */
const char *sup_label(const char *code);
/* 1 if s is one of list's codes. */
int sup_is(const char *const *list, const char *s);

/* ---- support.c: who is asking, and what they are to a ticket ---- */

struct sup_viewer {
	const char *id;
	unsigned roles;
	int admin;
};
void sup_viewer_of(http_req *req, struct sup_viewer *v);

/* A ticket as stored; strings live in the arena it was read into. */
enum {
	T_ID,
	T_SUBJECT,
	T_DESCRIPTION,
	T_CATEGORY,
	T_PRIORITY,
	T_STATE,
	T_REQUESTER,
	T_ASSIGNEE,
	T_CREATED,
	T_UPDATED,
	T_FR_DUE,
	T_RES_DUE,
	T_FR_AT,
	T_RESOLVED_AT,
	T_CLOSED_AT,
	T_RATING,
	T_RATING_COMMENT,
	T_RATED_AT,
	T_EVALUATION, /* a grade contestation's evaluation (notes service), else NULL */
	T_NCOLS
};
#define SUP_TICKET_COLS                                                                                                \
	"t.id, t.subject, t.description, t.category, t.priority, t.state, t.requester_id, t.assignee_id, "             \
	"t.created_at, t.updated_at, t.first_response_due, t.resolution_due, t.first_response_at, "                    \
	"t.resolved_at, t.closed_at, t.rating, t.rating_comment, t.rated_at, t.evaluation_id"
struct sup_ticket {
	const char *col[T_NCOLS];
};
void sup_ticket_read(db_stmt *s, arena *a, struct sup_ticket *t);

/* What the caller is to a ticket: bits. 0: they may not see it (404). */
enum { SUP_REQUESTER = 1, SUP_STAFF = 2 };
int sup_relation(const struct sup_viewer *v, const struct sup_ticket *t);

/*
 * What every handler about one ticket starts from: the database, the request's arena, the caller,
 * the ticket {id} and what the caller is to it.
 */
struct sup_open {
	json_t *body; /* the request's JSON body, when asked for */
	db_conn *c;
	arena *a;
	struct sup_viewer v;
	struct sup_ticket t;
	int rel;
};
/*
 * Opens the ticket {id} of req for the caller into x, after its JSON body when with_body: 0, or -1
 * after answering (400 for the body, 503 without the database, 404 when absent or not visible ...).
 */
int sup_ticket_open(http_req *req, int with_body, struct sup_open *x);
/* Rereads the ticket id into t (after a change). 0 or an ent_err. */
int sup_ticket_get(db_conn *c, arena *a, const char *id, struct sup_ticket *t);

/* Overdue flags of t at now. */
int sup_first_response_overdue(const struct sup_ticket *t, const char *now);
int sup_resolution_overdue(const struct sup_ticket *t, const char *now);

/* Writes t as JSON (names looked up through users.h). */
void sup_ticket_write(jw *w, db_conn *c, arena *a, const struct sup_ticket *t, const char *now);

/*
 * json_check of body against its n fields, then the refusal of control characters in the one-line
 * text field line and in the text field lines (line breaks allowed); either name may be NULL.
 * Returns the errors object, for http_invalid (the caller may add its own checks first).
 */
json_t *sup_check(const json_t *body, const struct jfield *fields, size_t n, const char *line, const char *lines);

/*
 * Answers status with {"items": [...]}: write(w, s, ctx) for each row of s (prepared and bound by
 * the caller; NULL: it could not be prepared), or the failure (detail failed, may be NULL).
 */
void sup_reply_items(http_req *req, db_stmt *s, page_write_fn *write, void *ctx, int status, const char *failed);

/* now as RFC 3339 UTC and its microseconds (to order rows of the same second). */
void sup_now(char out[21], int64_t *us);

/* ---- tickets.c ---- */

/* A new ticket: what its creation (a request, a contestation) sets. */
struct sup_new {
	const char *subject, *description, *category, *priority;
	const char *assignee;   /* NULL: nobody yet */
	const char *evaluation; /* a contestation's evaluation, else NULL */
};
/*
 * Inserts a new ticket of requester (state new, deadlines from the service levels) with its
 * history, inside the caller's transaction, and reads it into t. 0 or an ent_err.
 */
int sup_ticket_insert(db_conn *c, arena *a, const char *requester, const struct sup_new *n, struct sup_ticket *t);
/*
 * Ends the creation's transaction (rolled back when rc < 0, else committed) and answers: 201 with
 * t and its Location, 409 with conflict for ENT_ECONFLICT (when not NULL), or the failure.
 */
void sup_ticket_created(http_req *req, db_conn *c, int rc, const struct sup_ticket *t, const char *conflict);

/* Someone a ticket may be assigned to. Arena strings. */
struct sup_person {
	const char *id, *name, *role; /* role: "admin" or "enseignant" */
	const char *sort;             /* the users service's register key (ordering only) */
};
/*
 * Who a ticket of category may be assigned to: the active administrators; for grades, the teachers
 * of the contested evaluation's course (evaluation), or every active teacher for a grades ticket
 * that is not a contestation. Administrators first, then in register order, into *out (arena);
 * only that one person when only is not NULL (is only assignable?). Count, or a negative ent_err.
 */
int sup_assignables(db_conn *c, arena *a, const char *category, const char *evaluation, const char *only,
		    struct sup_person **out);
void sup_assignees_list(http_req *req);

void sup_tickets_create(http_req *req);
void sup_tickets_get(http_req *req);
void sup_tickets_patch(http_req *req);
void sup_comments_list(http_req *req);
void sup_comments_create(http_req *req);
void sup_history_list(http_req *req);
void sup_rating_put(http_req *req);

/*
 * Runs a write that must change exactly one row (sql with the n values v, as sql_run): ENT_OK,
 * ENT_ECONFLICT when it changed none (the ticket moved meanwhile), or the failure.
 */
int sup_write_one(db_conn *c, const char *sql, const sql_val *v, size_t n);
#define SUP_WRITE_ONE(c, sql, ...) sup_write_one((c), (sql), SQL_VALS(__VA_ARGS__))

/* Records one change in the history (actor NULL: the system). Inside the caller's transaction. */
int sup_history_add(db_conn *c, const char *ticket_id, const char *actor, const char *field, const char *old_value,
		    const char *new_value, const char *at, int64_t us);

/* ---- attach.c: attachments (files of the fichiers service) ---- */

#define SUP_ATTACH_MAX 20 /* per ticket */
void sup_attachments_list(http_req *req);
void sup_attachments_create(http_req *req);
void sup_attachment_get(http_req *req);
/*
 * Checks the file_ids of x's body (absent: none) against what the caller may attach to x's ticket:
 * their own files, not attached yet, SUP_ATTACH_MAX at most on the ticket; then answers 400 with
 * errors (the caller's own, taken) if any. Sets *ids and *n (arena). 0, or -1 after answering.
 */
int sup_attach_check(http_req *req, struct sup_open *x, json_t *errors, const char ***ids, size_t *n);
/* Records the n files ids on ticket_id (and comment_id, NULL for the ticket itself), inside the caller's transaction. */
int sup_attach_store(db_conn *c, arena *a, const char *ticket_id, const char *comment_id, int internal,
		     const char *user, const char *const *ids, size_t n);
/* The .file_readable hook: a file attached to a ticket, for those who see it (internal: its staff). */
int sup_file_readable(db_conn *c, const char *cours_id, const char *file_id, const char *user_id, unsigned roles);

/* ---- stream.c: live updates of a ticket (Server-Sent Events) ---- */

void sup_stream(http_req *req);
/*
 * After the commit of a change of ticket_id: its open streams hear `update` with {"ticket_id",
 * "kind"} (kind: "comment", "ticket", "attachment"); internal: for the ticket's staff only.
 */
void sup_live(const char *ticket_id, const char *kind, int internal);
int sup_stream_start(void);

/* ---- queue.c ---- */

void sup_tickets_list(http_req *req);
void sup_tickets_csv(http_req *req);
void sup_sla_list(http_req *req);
void sup_sla_put(http_req *req);
void sup_dashboard(http_req *req);
/*
 * The deadlines of a ticket of priority created at created (RFC 3339), from the service levels
 * table, into fr_due and res_due. 0 or an ent_err.
 */
int sup_deadlines(db_conn *c, const char *priority, const char *created, char fr_due[21], char res_due[21]);

/* ---- faq.c ---- */

void sup_faq_list(http_req *req);
void sup_faq_create(http_req *req);
void sup_faq_get(http_req *req);
void sup_faq_patch(http_req *req);
void sup_faq_delete(http_req *req);
void sup_faq_suggest(http_req *req);
void sup_faq_helpful(http_req *req);

/* ---- notify.c ---- */

/*
 * Publishes support.updated about t to the people of ids (n of them; the actor and duplicates are
 * left out), with French title and body, inside the caller's transaction. Nothing when nobody is
 * left. 0 or an ent_err.
 */
int sup_notify(db_conn *c, const struct sup_ticket *t, const char *actor, const char *const *ids, size_t n,
	       const char *title, const char *body);
/* The same to the requester of t (a staff member's public comment or state change). */
int sup_notify_requester(db_conn *c, const struct sup_ticket *t, const char *actor, const char *title,
			 const char *body);
/* The same to the assignee of t, or every administrator when nobody is assigned (a requester's action). */
int sup_notify_staff(db_conn *c, arena *a, const struct sup_ticket *t, const char *actor, const char *title,
		     const char *body);

/* ---- contest.c: grade contestations ---- */

struct notes_grade_info;
/* "12,5/20", "Absent" ...: a grade as the report card shows it (an arena string). */
const char *sup_grade_text(arena *a, const struct notes_grade_info *g);

void sup_contest_create(http_req *req);
void sup_grade_get(http_req *req);
void sup_grade_put(http_req *req);
/*
 * The French sentence that tells the requester of a contestation t, now resolved, its outcome (the
 * grade revised to what, or kept), or NULL when it could not be read (the caller says something
 * general instead).
 */
const char *sup_contest_outcome(db_conn *c, arena *a, const struct sup_ticket *t);

/* ---- demo.c ---- */

int sup_demo(db_conn *c, FILE *out);
/* The FAQ articles of a school year (demo.c), those missing, by author, inside the caller's transaction; *made counts them. */
int sup_faq_defaults(db_conn *c, const char *author, const char *now, int *made);

/* ---- generate.c ---- */

struct scale;
/* The support part of `ent demo --scale N` (see generate.c). 0 or an ent_err. */
int sup_generate(db_conn *c, const struct scale *sc);

/* ---- jobs.c ---- */

/* Closes the tickets resolved more than 7 days ago; returns how many, or an ent_err. */
int sup_autoclose_due(db_conn *c);
int sup_jobs_start(void);
void sup_jobs_stop(void);

/* ---- GDPR (support.c) ---- */
int sup_export_user(db_conn *c, const char *user_id, json_t *out);
int sup_erase_user(db_conn *c, const char *user_id);

#endif
