/*
 * internal.h - what the messagerie service's files share (never included outside the folder).
 *
 * Files: messagerie.c (the service table, schema, GDPR hooks), rules.c (who may write to whom:
 * the sender's context, the rules table, group expansion, sending limits, recipient
 * suggestions), compose.c (new messages, drafts, reply, forward, sending and scheduled delivery),
 * attach.c (attachments, and the fichiers hook that lets their recipients download them),
 * message.c (one message, a thread, read receipts, acknowledgements, reminders, recall),
 * mailbox.c (folders, lists, move, read marks, trash, search), stream.c (the live stream),
 * notify.c (the bus event, quiet hours, and the background thread: scheduled sends, waiting
 * notifications, e-mails, trash purge), settings.c (each user's e-mail forwarding,
 * out-of-office and quiet hours; the automatic answers), mail.c (the `emails` consumer and the
 * SMTP client), moderation.c (reports to administrators, suspended senders, limits per sender),
 * demo.c (`ent demo`), generate.c (`ent demo --scale`).
 *
 * Tables: messages (one row per message, its text and state), message_addresses (the addresses
 * as the sender wrote them: users and groups, to/cc/bcc), message_boxes (one row per user who
 * holds a copy: the sender's and each recipient's, with folder and read marks; the only way to
 * see a message), message_folders (users' own folders), message_rules and message_limits
 * (administrators' settings), messages_fts (the search index), message_attachments, message_settings,
 * message_ooo_replies (one automatic answer per sender per absence), message_notices
 * (notifications waiting for the end of quiet hours), message_mails (e-mails waiting to be sent),
 * message_reports, message_senders (suspensions and limits of one sender).
 */
#ifndef ENT_MESSAGERIE_INTERNAL_H
#define ENT_MESSAGERIE_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/http.h"
#include "store/db.h"

#define MSG_SUBJECT_MAX 200
#define MSG_BODY_MAX 50000 /* characters */
#define MSG_ADDRS_MAX 200  /* addresses of one kind (to, cc, bcc) in a request */
#define MSG_FOLDER_NAME_MAX 60
#define MSG_RECALL_S 3600 /* a message may be recalled this long after it was sent */
#define MSG_TRASH_DAYS 30 /* the trash keeps messages this long */
#define MSG_SCHEDULE_MAX_DAYS 366
#define MSG_FILES_MAX 20 /* attachments of one message */

/* ---- rules.c ---- */

/* The targets of the rules table (message_rules.target), in this order. */
enum msg_target {
	T_ADMIN,              /* an administrator, individually */
	T_TEACHER_OWN,        /* a teacher of one of the sender's classes */
	T_TEACHER_ANY,        /* any teacher */
	T_STUDENT_OWN,        /* a student of one of the sender's classes */
	T_STUDENT_ANY,        /* any student */
	T_CLASS_OWN,          /* group: the students of one of the sender's classes */
	T_CLASS_ANY,          /* group: the students of any class */
	T_COURSE_OWN,         /* group: the students of a course the sender teaches or follows */
	T_COURSE_ANY,         /* group: the students of any course */
	T_CLASS_TEACHERS_OWN, /* group: the teachers of one of the sender's classes */
	T_CLASS_TEACHERS_ANY, /* group: the teachers of any class */
	T_STAFF,              /* group: every administrator */
	T_COUNT
};
extern const char *const msg_target_names[T_COUNT + 1]; /* NULL-terminated */
extern const char *const msg_role_names[4];             /* etudiant, enseignant, admin, NULL */

/* Who is writing: their one role, classes, courses and what the rules allow them. */
struct msg_who {
	const char *id;
	const char *name;
	unsigned role;         /* one ROLE_* bit: the highest the caller has */
	const char *role_name; /* "etudiant" ... */
	const char **classes;  /* a student's class; a teacher's assigned classes and their courses' */
	size_t nclasses;
	const char **courses; /* a student's class's courses; the courses a teacher teaches */
	size_t ncourses;
	int allowed[T_COUNT];      /* the rules of role */
	int per_hour, per_message; /* the limits of role, or the sender's own (message_senders) */
	int suspended;             /* an administrator suspended the sender's sending */
	const char *suspend_reason;
};

/* Fills w for the caller p (arena a). 0 or an ent_err. */
int msg_who_load(db_conn *c, arena *a, const struct http_principal *p, struct msg_who *w);
/* msg_who_load for a request: on error answers 503/500 and returns -1. */
int msg_who_req(http_req *req, db_conn *c, struct msg_who *w);

/* One address as written: kind "to"/"cc"/"bcc", type "user"/"class"/"course"/"class_teachers"/"staff". */
struct msg_addr {
	const char *kind, *type, *id; /* id NULL for staff */
};

/* One user a message reaches, with the strongest kind that reached them (to > cc > bcc). */
struct msg_rcpt {
	const char *user_id;
	const char *kind;
};

/*
 * Expands addrs (n) into the users they reach, each checked against w's rules, the sender
 * left out. Returns ENT_OK with *out (arena) and *nout; or, without answering:
 *   ENT_EINVAL     addrs[*bad] names no user, class or course (or nobody at all: *bad = -1);
 *   ENT_EFORBIDDEN addrs[*bad] (or a member of it) may not be written to: *who_name is the
 *                  refused recipient's name (a user, or the group's label);
 *   another ent_err from the store.
 */
int msg_expand(db_conn *c, arena *a, const struct msg_who *w, const struct msg_addr *addrs, size_t n,
	       struct msg_rcpt **out, size_t *nout, int *bad, const char **who_name);

/* The label of an address for people ("Classe 4e A", "Enseignants de 4e A", "Administration", a name). */
const char *msg_addr_label(db_conn *c, arena *a, const char *type, const char *id);

/*
 * The sending limit: 0 when w may send one more message now, or ENT_EBUSY with *retry_after
 * (seconds) when w sent per_hour messages in the last hour. Call inside the sending transaction.
 */
int msg_rate_check(db_conn *c, const struct msg_who *w, int64_t now_us, int *retry_after);

void msg_rules_get(http_req *req);
void msg_rules_put(http_req *req);
void msg_recipients(http_req *req);

/* ---- compose.c ---- */

/* An attachment: a file of the fichiers service as it was sent. */
struct msg_file {
	const char *id, *name, *content_type;
	int64_t size;
};

/* A message to store (msg_store). */
struct msg_out {
	const char *id, *thread_id, *in_reply_to, *forward_of, *sender_id, *subject, *body;
	const char *state;   /* "draft", "scheduled" or "sent" */
	const char *send_at; /* RFC 3339 or NULL */
	int ack, auto_reply; /* an automatic answer does not count in the hourly limit */
	const struct msg_addr *addrs;
	size_t naddrs;
	const struct msg_rcpt *r; /* the recipients' copies (visible when sent) */
	size_t nr;
	const struct msg_file *files;
	size_t nfiles;
	int64_t now_us;
};
/* Stores o inside the caller's transaction: message, addresses, copies, attachments, search index. */
int msg_store(db_conn *c, const struct msg_out *o);

/*
 * SQLite's search index (messages_fts, migration 6) holds in its column `owners` one word per user
 * given a copy of the message when it was stored: 'u' and the hexadecimal of the user's id (one
 * word for the tokenizer, whatever the id holds), written by MSG_OWNERS_SQL from the copies of
 * message_boxes. A search matches its owner's word and the words typed in one FTS5 query (mailbox.c),
 * and still joins the caller's visible copies: the column only narrows what FTS5 returns. The
 * message's search row is rowid messages.search_rowid.
 */
#define MSG_OWNERS_SQL(id)                                                                                             \
	"(SELECT group_concat('u' || hex(ob.user_id), ' ') FROM message_boxes ob WHERE ob.message_id = " id ")"

void msg_create(http_req *req);
void msg_patch(http_req *req);
void msg_send_draft(http_req *req);
void msg_reply(http_req *req);
void msg_forward(http_req *req);
/* Delivers the scheduled messages whose time came (the background thread). Count or an ent_err. */
int msg_deliver_due(db_conn *c);

/* ---- message.c ---- */

/* The caller's copy of a message: its box row joined to the message. Arena strings. */
struct msg_copy {
	const char *id, *thread_id, *in_reply_to, *forward_of, *sender_id, *subject, *body, *state, *send_at, *sent_at,
		*recalled_at, *created_at, *updated_at;
	const char *role, *folder, *prev_folder, *read_at, *acked_at;
	int ack_required;
	int64_t at_us;
	int nfiles; /* attachments (lists only) */
};
#define MSG_COPY_COLS                                                                                                  \
	"m.id, m.thread_id, m.in_reply_to, m.forward_of, m.sender_id, m.subject, m.body, m.state, m.send_at, "         \
	"m.sent_at, m.recalled_at, m.created_at, m.updated_at, b.role, b.folder, b.prev_folder, b.read_at, "           \
	"b.acked_at, m.ack_required, b.at_us"
#define MSG_COPY_FROM " FROM message_boxes b JOIN messages m ON m.id = b.message_id"
void msg_copy_read(arena *a, db_stmt *s, struct msg_copy *m);
/*
 * Loads the caller's copy of message id: 0, or -1 after answering (404 when the caller holds no
 * visible copy: the same as a message that does not exist).
 */
int msg_copy_load(http_req *req, db_conn *c, const char *id, struct msg_copy *m);
/* A handler's opening: the database and the caller's copy of {id}, or NULL after answering (503, 404). */
db_conn *msg_copy_open(http_req *req, struct msg_copy *m);
/* Writes m as the caller sees it (bcc only for its sender; with the body when full). */
int msg_write(db_conn *c, arena *a, jw *w, const struct msg_copy *m, int full);
/* Writes the list item of m, sender_name already looked up; recipients: m's to and cc (or NULL). */
void msg_write_item(db_conn *c, arena *a, jw *w, const struct msg_copy *m, const char *sender_name, int files);
/* Writes key: the to and cc addresses of message id with their labels (never bcc). */
int msg_write_addrs(db_conn *c, arena *a, jw *w, const char *key, const char *id, const char *kinds_sql);

void msg_get(http_req *req);
void msg_thread(http_req *req);
void msg_receipts(http_req *req);
void msg_ack(http_req *req);
void msg_remind(http_req *req);
void msg_recall(http_req *req);

/* ---- mailbox.c ---- */

void msg_list(http_req *req);
void msg_search(http_req *req);
void msg_folders_list(http_req *req);
void msg_folders_create(http_req *req);
void msg_folders_patch(http_req *req);
void msg_folders_delete(http_req *req);
void msg_move(http_req *req);
void msg_read_put(http_req *req);
void msg_read_delete(http_req *req);
void msg_delete(http_req *req);
void msg_restore(http_req *req);
/* Removes message id and everything about it when nobody holds a copy any more. 0 or an ent_err. */
int msg_collect(db_conn *c, const char *id);
/* Removes message id entirely (a draft, a cancelled scheduled message). 0 or an ent_err. */
int msg_remove(db_conn *c, const char *id);
/* Empties the trash of what was put there more than MSG_TRASH_DAYS days ago. Count or error. */
int msg_purge_trash(db_conn *c);

/* The `emails` queue's consumer (mail.c): queues the e-mails of the users who forward their messages. */
extern const struct bus_consumer msg_emails_consumer;

/* ---- stream.c ---- */

void msg_stream(http_req *req);
/* Sends one event to the open streams of each of the n users, in every process running the service. */
void msg_push(const char *const *users, size_t n, const char *event, const char *id, const char *data);
/*
 * Sends `unread` with the inbox's unread count to the open streams of the n users: each process
 * holding one of their streams counts it after the change committed (on its own connection).
 */
void msg_push_unread(const char *const *users, size_t n);
/* The unread messages in a user's inbox. Count or an ent_err. */
int64_t msg_unread_count(db_conn *c, const char *user);
/* The wake-up subscriber (core/wake.h, topic "messages"): pushes to this process's streams. */
void msg_wake(const char *payload);

/* ---- notify.c ---- */

/*
 * Publishes message.received for the n recipients (inside the caller's transaction), with the
 * French title and body the notifications service shows. reminder: 1 the text of a reminder, 2 of
 * an automatic answer. A recipient in their quiet hours gets the notification at their end
 * (message_notices, released by the background thread).
 */
int msg_notify(db_conn *c, arena *a, const char *message_id, const char *sender_name, const char *subject,
	       int ack_required, int reminder, const char *const *users, size_t n);
/*
 * After the commit: wakes the bus and pushes the new message to the recipients' streams.
 */
void msg_announce(db_conn *c, arena *a, const char *message_id, const char *const *users, size_t n);
/* Publishes the waiting notifications that are due (of user only, when not NULL). Count or an ent_err. */
int msg_release_notices(db_conn *c, const char *user, int64_t now_us);
/* Wakes the background thread (e-mails to send). */
void msg_worker_kick(void);
int msg_worker_start(void);
void msg_worker_stop(void);

/* ---- attach.c ---- */

/* The .file_readable hook: whether user_id holds a visible copy of a message carrying file_id. */
int msg_file_readable(db_conn *c, const char *cours_id, const char *file_id, const char *user_id, unsigned roles);
/*
 * Checks the n file ids user wants to attach (theirs, or carried by a message they hold) and fills
 * *out (arena). ENT_OK; ENT_EINVAL or ENT_ECONFLICT (a repeated id) with *bad the index; an error.
 */
int msg_attach_check(db_conn *c, arena *a, const char *user, const char *const *ids, size_t n, struct msg_file **out,
		     int *bad);
int msg_attach_store(db_conn *c, const char *message_id, const struct msg_file *f, size_t n);
int msg_attach_load(db_conn *c, arena *a, const char *message_id, struct msg_file **out, size_t *n);
void msg_attach_write(jw *w, const struct msg_file *f, size_t n);

/* ---- settings.c ---- */

void msg_settings_get(http_req *req);
void msg_settings_put(http_req *req);
/*
 * The ends of the quiet hours of n users at now_us, their settings read SQL_IN_MAX users a
 * statement: until_us[i] is the end (microseconds) when users[i] is in their quiet hours, else 0.
 * 0 or an ent_err.
 */
int msg_quiet_until(db_conn *c, const char *const *users, size_t n, int64_t now_us, int64_t *until_us);
/* An automatic answer written by msg_out_of_office, to announce after the commit. */
struct msg_auto {
	const char *id, *to;
};
/*
 * The automatic answers of the absent recipients of message_id, just delivered (inside the
 * transaction): one per sender per absence, never to an automatic answer nor to an announcement
 * (a message to a group, or asking for an acknowledgement). *out (arena), *n. 0 or an ent_err.
 */
int msg_out_of_office(db_conn *c, arena *a, const char *message_id, struct msg_auto **out, size_t *n);
/* msg_announce for each automatic answer. */
void msg_announce_autos(db_conn *c, arena *a, const struct msg_auto *v, size_t n);

/* ---- mail.c ---- */

/* Subscribes the `emails` consumer when ENT_SMTP is set. 0 or an ent_err. */
int msg_mail_start(void);
/* Sends the e-mails that are due (the background thread). Count or an ent_err. */
int msg_mail_send_due(db_conn *c);

/* ---- moderation.c ---- */

void msg_report(http_req *req);
void msg_reports_list(http_req *req);
void msg_report_patch(http_req *req);
void msg_sender_get(http_req *req);
void msg_sender_put(http_req *req);

/* ---- demo.c ---- */

int msg_demo(db_conn *c, FILE *out);

/* ---- generate.c ---- */

struct scale;
/* The messagerie's part of `ent demo --scale N` (see generate.c). 0 or an ent_err. */
int msg_generate(db_conn *c, const struct scale *sc);

/* ---- messagerie.c ---- */

/* The request's JSON body checked against the n fields: the body, or NULL after answering 400. */
struct jfield;
json_t *msg_body(http_req *req, const struct jfield *fields, size_t n);
/*
 * Adds "field: ne doit pas contenir de caractères de contrôle" to errors when the text field of
 * obj, not refused already, holds control characters (lines: line breaks allowed).
 */
void msg_check_text(json_t *obj, const char *field, int lines, json_t *errors);
/* msg_body with the text field checked by msg_check_text too. */
json_t *msg_body_text(http_req *req, const struct jfield *fields, size_t n, const char *text, int lines);
int64_t msg_now_us(void);
/* RFC 3339 of a microsecond time. */
void msg_time(int64_t us, char out[21]);
int msg_export_user(db_conn *c, const char *user_id, json_t *out);
int msg_erase_user(db_conn *c, const char *user_id);

#endif
