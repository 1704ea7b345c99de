/*
 * notifications.c - the notifications service (the seed's notification-service): each user's
 * notifications, their read state, their preferences per type, and the GDPR hooks.
 *
 * Notifications are written only by the bus consumer (consumer.c) from other services' events;
 * the routes here read them, mark them read and delete them, always for the caller alone: another
 * user's notification answers 404, as one that does not exist. Live delivery (Server-Sent
 * Events) is in stream.c.
 *
 * Order: newest first by created_us (microseconds, the sort key; created_at is the same instant in
 * RFC 3339 seconds for the API), then id. The cursor of a page (core/page.h) carries created_us and
 * id of its last item, so a page boundary survives the deletion of that item. The unread count reads the index
 * (user_id, read_at) only.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/app.h"
#include "core/err.h"
#include "core/export.h"
#include "core/json.h"
#include "core/page.h"
#include "core/service.h"
#include "core/row.h"
#include "core/sql.h"
#include "core/util.h"
#include "core/wake.h"
#include "core/schema.h"

static const char schema_v1[] = "CREATE TABLE notifications ("
				" id TEXT PRIMARY KEY,"
				" user_id TEXT NOT NULL,"
				" type TEXT NOT NULL,"
				" title TEXT NOT NULL,"
				" body TEXT NOT NULL,"
				" link TEXT,"
				" data TEXT NOT NULL,"
				" event_id TEXT,"
				" created_at TEXT NOT NULL,"
				" created_us BIGINT NOT NULL,"
				" read_at TEXT);"
				"CREATE INDEX notifications_by_user ON notifications (user_id, created_us, id);"
				"CREATE INDEX notifications_unread ON notifications (user_id, read_at);"
				"CREATE UNIQUE INDEX notifications_by_event ON notifications (event_id, user_id);"
				"CREATE TABLE notification_prefs ("
				" user_id TEXT NOT NULL,"
				" type TEXT NOT NULL,"
				" enabled INTEGER NOT NULL,"
				" updated_at TEXT NOT NULL,"
				" PRIMARY KEY (user_id, type));";

static const struct migration migrations[] = {
	{1, "notifications and preferences", schema_v1, NULL},
};

void notif_write_row(jw *w, db_stmt *s)
{
	jw_obj_open(w);
	jw_kstr(w, "id", db_col_text(s, 0));
	jw_kstr(w, "type", db_col_text(s, 1));
	jw_kstr(w, "title", db_col_text(s, 2));
	jw_kstr(w, "body", db_col_text(s, 3));
	jw_kstr(w, "link", db_col_text(s, 4));
	jw_key(w, "data");
	const char *data = db_col_text(s, 5);
	if (data && *data == '{')
		jw_raw(w, data, strlen(data)); /* written by consumer.c with json_dumps */
	else {
		jw_obj_open(w);
		jw_obj_close(w);
	}
	jw_kstr(w, "created_at", db_col_text(s, 6));
	jw_kstr(w, "read_at", db_col_text(s, 7));
	jw_obj_close(w);
}

int64_t notif_unread_count(db_conn *c, const char *user_id)
{
	db_stmt *s = SQL_PREP(c, "SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read_at IS NULL",
			      SQL_T(user_id));
	if (!s)
		return ENT_EDB;
	int rc = db_step(s);
	int64_t n = rc == DB_ROW ? db_col_int64(s, 0) : rc < 0 ? rc : 0;
	db_done(s);
	return n;
}

static void notif_list(http_req *req)
{
	page pg;
	if (page_begin(req, &pg, "notifications", 2))
		return;
	json_t *errors = json_object();
	const char *unread = http_query(req, "unread");
	int only_unread = unread && !strcmp(unread, "true");
	if (unread && !only_unread && strcmp(unread, "false"))
		json_field_error(errors, "unread", "not_boolean", "doit valoir true ou false");
	int64_t cur_us = 0;
	if (pg.has_cursor && util_parse_int64(pg.after[0], 0, INT64_MAX, &cur_us))
		json_object_set_new(errors, "cursor", json_string(PAGE_BAD_CURSOR));
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	/*
	 * Two complete statements, the first page and the pages after a cursor: the cursor is a seek
	 * on notifications_by_user (user_id, created_us, id), so a page deep in a long history costs
	 * what the first one does. "unread" only narrows the rows read and stays an optional filter.
	 */
	db_stmt *s = db_prepare(c, pg.has_cursor ? "SELECT " NOTIF_COLS " FROM notifications WHERE user_id = ?"
						   " AND (? = 0 OR read_at IS NULL) AND (created_us, id) < (?, ?)"
						   " ORDER BY created_us DESC, id DESC LIMIT ?"
						 : "SELECT " NOTIF_COLS " FROM notifications WHERE user_id = ?"
						   " AND (? = 0 OR read_at IS NULL)"
						   " ORDER BY created_us DESC, id DESC LIMIT ?");
	if (!s) {
		http_problem_err(req, ENT_EDB, "La liste des notifications n'a pas pu être lue.");
		return;
	}
	int k = 1;
	db_bind_text(s, k++, http_principal(req)->sub);
	db_bind_int64(s, k++, only_unread);
	if (pg.has_cursor) {
		db_bind_int64(s, k++, cur_us);
		db_bind_text(s, k++, pg.after[1]);
	}
	db_bind_int64(s, k, page_fetch(&pg));
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		char us[24];
		snprintf(us, sizeof(us), "%lld", (long long)db_col_int64(s, 8));
		const char *keys[2] = {us, db_col_text(s, 0)};
		jw *w = page_item(&pg, keys);
		if (!w)
			break;
		notif_write_row(w, s);
	}
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, "La liste des notifications n'a pas pu être lue.");
		return;
	}
	static const char *const keep[] = {"unread", "limit", NULL};
	page_reply(&pg, keep);
}

static void notif_count(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	int64_t n = notif_unread_count(c, http_principal(req)->sub);
	if (n < 0)
		http_problem_err(req, (int)n, "Les notifications non lues n'ont pas pu être comptées.");
	else
		http_reply_json(req, 200, json_pack("{s:I}", "count", (json_int_t)n));
}

/* The database and the notification id of the route, or NULL after answering (404: not an id, 503). */
static db_conn *notif_open(http_req *req, const char **id)
{
	*id = http_param(req, "id");
	if (!util_is_uuid(*id)) {
		http_problem(req, 404, "Cette notification n'existe pas.");
		return NULL;
	}
	return http_db(req);
}

static void notif_read(http_req *req)
{
	const char *id, *user = http_principal(req)->sub;
	db_conn *c = notif_open(req, &id);
	if (!c)
		return;
	char now[21];
	util_time_rfc3339(time(NULL), now);
	int64_t changed = 0;
	int rc = SQL_CHANGE(c, &changed,
			    "UPDATE notifications SET read_at = ? WHERE id = ? AND user_id = ? AND read_at IS NULL",
			    SQL_T(now), SQL_T(id), SQL_T(user));
	if (rc < 0) {
		http_problem_err(req, rc, "La notification n'a pas pu être marquée comme lue.");
		return;
	}
	db_stmt *s = row_step(req,
			      SQL_PREP(c, "SELECT " NOTIF_COLS " FROM notifications WHERE id = ? AND user_id = ?",
				       SQL_T(id), SQL_T(user)),
			      "La notification n'a pas pu être lue.", "Cette notification n'existe pas.");
	if (!s)
		return;
	notif_write_row(http_jw(req), s);
	db_done(s);
	if (changed)
		notif_push_unread(user);
	http_reply_jw(req, 200);
}

static void notif_read_all(http_req *req)
{
	const char *user = http_principal(req)->sub;
	db_conn *c = http_db(req);
	if (!c)
		return;
	char now[21];
	util_time_rfc3339(time(NULL), now);
	int64_t changed = 0;
	int rc = SQL_CHANGE(c, &changed, "UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
			    SQL_T(now), SQL_T(user));
	if (rc < 0) {
		http_problem_err(req, rc, "Les notifications n'ont pas pu être marquées comme lues.");
		return;
	}
	if (changed)
		notif_push_unread(user);
	http_reply_json(req, 200, json_pack("{s:I}", "count", (json_int_t)changed));
}

static void notif_delete(http_req *req)
{
	const char *id, *user = http_principal(req)->sub;
	db_conn *c = notif_open(req, &id);
	if (!c)
		return;
	int64_t changed = 0;
	int rc = SQL_CHANGE(c, &changed, "DELETE FROM notifications WHERE id = ? AND user_id = ?", SQL_T(id),
			    SQL_T(user));
	if (rc < 0)
		http_problem_err(req, rc, "La notification n'a pas pu être supprimée.");
	else if (!changed)
		http_problem(req, 404, "Cette notification n'existe pas.");
	else {
		notif_push_unread(user);
		http_reply_empty(req, 204);
	}
}

/* ---- preferences ---- */

/* {"items":[{"type","label","enabled"}...]} for user: every known type, enabled unless turned off. */
static void prefs_reply(http_req *req, db_conn *c, const char *user)
{
	int enabled[64];
	for (size_t i = 0; i < notif_ntypes && i < 64; i++)
		enabled[i] = 1;
	db_stmt *s = SQL_PREP(c, "SELECT type, enabled FROM notification_prefs WHERE user_id = ?", SQL_T(user));
	if (!s) {
		http_problem_err(req, ENT_EDB, "Vos préférences de notification n'ont pas pu être lues.");
		return;
	}
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		const struct notif_type *t = notif_type_find(db_col_text(s, 0));
		if (t && t - notif_types < 64)
			enabled[t - notif_types] = db_col_int64(s, 1) != 0;
	}
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, "Vos préférences de notification n'ont pas pu être lues.");
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_key(w, "items");
	jw_arr_open(w);
	for (size_t i = 0; i < notif_ntypes && i < 64; i++) {
		jw_obj_open(w);
		jw_kstr(w, "type", notif_types[i].type);
		jw_kstr(w, "label", notif_types[i].label);
		jw_kbool(w, "enabled", enabled[i]);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

static void prefs_get(http_req *req)
{
	db_conn *c = http_db(req);
	if (c)
		prefs_reply(req, c, http_principal(req)->sub);
}

static void prefs_put(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	static const struct jfield fields[] = {
		{"items", JF_ARRAY, 1, 0, 0, 100, NULL},
	};
	static const struct jfield item_fields[] = {
		{"type", JF_STRING, 1, 0, 1, 100, NULL},
		{"enabled", JF_BOOL, 1, 0, 0, 0, NULL},
	};
	json_t *errors = json_object();
	json_t *items = json_object_get(body, "items");
	if (!json_check(body, fields, 1, errors)) {
		size_t i;
		json_t *it;
		json_array_foreach (items, i, it) {
			char key[64];
			if (!json_is_object(it)) {
				snprintf(key, sizeof(key), "items[%zu]", i);
				json_object_set_new(
					errors, key,
					json_string(
						"doit indiquer un type de notification et s'il est activé ({type, enabled})"));
				continue;
			}
			json_t *sub = json_object();
			json_check(it, item_fields, 2, sub);
			const char *type = json_string_value(json_object_get(it, "type"));
			if (type && !json_object_get(sub, "type") && !notif_type_find(type))
				json_object_set_new(sub, "type",
						    json_string("n'est pas un type de notification connu"));
			const char *k;
			json_t *msg;
			json_object_foreach (sub, k, msg) {
				snprintf(key, sizeof(key), "items[%zu].%.20s", i, k);
				json_object_set(errors, key, msg);
			}
			json_decref(sub);
		}
	}
	if (http_invalid(req, errors))
		return;
	db_conn *c = http_db(req);
	if (!c)
		return;
	const char *user = http_principal(req)->sub;
	char now[21];
	util_time_rfc3339(time(NULL), now);
	int rc = db_begin(c);
	if (rc) {
		http_problem_err(req, rc, "Vos préférences de notification n'ont pas pu être enregistrées.");
		return;
	}
	size_t i;
	json_t *it;
	json_array_foreach (items, i, it) {
		db_stmt *s = db_prepare(
			c, "INSERT INTO notification_prefs (user_id, type, enabled, updated_at) VALUES "
			   "(?, ?, ?, ?) ON CONFLICT (user_id, type) DO UPDATE SET enabled = excluded.enabled, "
			   "updated_at = excluded.updated_at");
		if (!s) {
			rc = ENT_EDB;
			break;
		}
		db_bind_text(s, 1, user);
		db_bind_text(s, 2, json_string_value(json_object_get(it, "type")));
		db_bind_int64(s, 3, json_is_true(json_object_get(it, "enabled")));
		db_bind_text(s, 4, now);
		rc = db_step(s);
		db_done(s);
		if (rc < 0)
			break;
		rc = ENT_OK;
	}
	if (!rc)
		rc = db_commit(c);
	if (rc) {
		db_rollback(c);
		http_problem_err(req, rc, "Vos préférences de notification n'ont pas pu être enregistrées.");
		return;
	}
	prefs_reply(req, c, user);
}

/* ---- GDPR ---- */

static int notif_export_user(db_conn *c, const char *user_id, json_t *out)
{
	json_t *items = json_array(), *prefs = json_array();
	int rc = EXPORT_ROWS(c, items, "id type title body link data:j created_at read_at",
			     "SELECT " NOTIF_COLS " FROM notifications WHERE user_id = ? ORDER BY created_us, id",
			     SQL_T(user_id));
	if (!rc)
		rc = EXPORT_ROWS(
			c, prefs, "type enabled:b updated_at",
			"SELECT type, enabled, updated_at FROM notification_prefs WHERE user_id = ? ORDER BY type",
			SQL_T(user_id));
	return export_put(out, "notifications", rc, "items", items, "preferences", prefs, NULL);
}

static int notif_erase_user(db_conn *c, const char *user_id)
{
	static const char *const sqls[] = {
		"DELETE FROM notifications WHERE user_id = ?",
		"DELETE FROM notification_prefs WHERE user_id = ?",
	};
	return SQL_EACH(c, sqls, user_id);
}

static const struct bus_consumer *const consumers[] = {&notif_consumer, NULL};

static int notif_start(void) { return wake_subscribe("notifications", notif_wake); }

/* ---- service ---- */

#define S_COUNT                                                                                                        \
	"{\"type\":\"object\",\"required\":[\"count\"],\"properties\":{\"count\":{\"type\":\"integer\",\"minimum\":0}}}"
#define S_NOTIF                                                                                                                                                                         \
	"{\"type\":\"object\",\"required\":[\"id\",\"type\",\"title\",\"body\",\"link\",\"data\",\"created_at\","                                                                       \
	"\"read_at\"],\"properties\":{\"id\":" S_UUID ",\"type\":{\"type\":\"string\",\"examples\":"                                                                                    \
	"[\"note.published\",\"note.updated\",\"calendar.lesson_changed\",\"calendar.homework\",\"calendar.exam_reminder\",\"message.received\",\"support.updated\"]},\"title\":" S_STR \
	",\"body\":" S_STR ",\"link\":" S_NSTR                                                                                                                                          \
	",\"data\":{\"type\":\"object\",\"description\":\"ids of what the notification is about (evaluation_id, "                                                                       \
	"course_id)\"},\"created_at\":" S_TIME ",\"read_at\":" S_NTIME "}}"
#define S_PREFS                                                                                                        \
	"{\"type\":\"object\",\"required\":[\"items\"],\"properties\":{\"items\":{\"type\":\"array\",\"items\":"       \
	"{\"type\":\"object\",\"required\":[\"type\",\"label\",\"enabled\"],\"properties\":{\"type\":" S_STR           \
	",\"label\":" S_STR ",\"enabled\":{\"type\":\"boolean\"}}}}}}"
#define S_PREFS_REQ                                                                                                    \
	"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"items\"],\"properties\":{\"items\":"      \
	"{\"type\":\"array\",\"maxItems\":100,\"items\":{\"type\":\"object\",\"additionalProperties\":false,"          \
	"\"required\":[\"type\",\"enabled\"],\"properties\":{\"type\":" S_STR                                          \
	",\"enabled\":{\"type\":\"boolean\"}}}}}}"

static const struct route routes[] = {
	ROUTE("GET", "/api/notifications", notif_list, ROLE_ANY_USER,
	      .summary =
		      "The caller's notifications, newest first; ?unread=true for unread ones only, ?limit=, ?cursor=",
	      .response_schema = S_LIST(S_NOTIF)),
	ROUTE("GET", "/api/notifications/unread-count", notif_count, ROLE_ANY_USER,
	      .summary = "How many of the caller's notifications are unread", .response_schema = S_COUNT),
	ROUTE("POST", "/api/notifications/read-all", notif_read_all, ROLE_ANY_USER, .flags = ROUTE_NO_BODY,
	      .summary = "Mark all the caller's notifications read; answers how many were unread",
	      .response_schema = S_COUNT),
	ROUTE("GET", "/api/notifications/preferences", prefs_get, ROLE_ANY_USER,
	      .summary = "The caller's preferences: every notification type, enabled unless turned off",
	      .response_schema = S_PREFS),
	ROUTE("PUT", "/api/notifications/preferences", prefs_put, ROLE_ANY_USER,
	      .summary = "Turn notification types on or off for the caller (types not listed keep their setting)",
	      .request_schema = S_PREFS_REQ, .response_schema = S_PREFS),
	ROUTE("GET", "/api/notifications/stream", notif_stream, ROLE_ANY_USER,
	      .summary =
		      "Server-Sent Events (text/event-stream, bearer token in the Authorization header): `unread` "
		      "{\"count\"} at connect and after each change, `notification` (id: the notification's id) for each "
		      "new one; Last-Event-ID replays the ones missed"),
	ROUTE("POST", "/api/notifications/{id}/read", notif_read, ROLE_ANY_USER, .flags = ROUTE_NO_BODY,
	      .summary = "Mark one of the caller's notifications read (others' answer 404)",
	      .response_schema = S_NOTIF),
	ROUTE("DELETE", "/api/notifications/{id}", notif_delete, ROLE_ANY_USER, .status = 204,
	      .summary = "Delete one of the caller's notifications (others' answer 404)"),
};

static const char *const owned_tables[] = {"notifications", "notification_prefs", NULL};

const struct service svc_notifications = {
	.name = "notifications",
	.title =
		"Notifications from other services' events, live by Server-Sent Events (the seed's notification-service)",
	.routes = routes,
	.nroutes = sizeof(routes) / sizeof(routes[0]),
	.migrations = migrations,
	.nmigrations = sizeof(migrations) / sizeof(migrations[0]),
	.tables = owned_tables,
	.consumers = consumers,
	.start = notif_start,
	.generate = notif_generate,
	.export_user = notif_export_user,
	.erase_user = notif_erase_user,
};
