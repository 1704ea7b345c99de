/*
 * export.h - a user's data export (GDPR access right) written as queries, not as loops.
 *
 * Each service's export_user hook (service.h) adds its part to the export: a few lists of rows,
 * each row one JSON object. Rather than a prepare, bind, step, json_pack and clean-up loop per
 * list, a hook names the query and its columns:
 *
 *   json_t *items = json_array();
 *   int rc = EXPORT_ROWS(c, items, "id title scale:i coefficient:f read_at",
 *                        "SELECT id, title, scale, coefficient, read_at FROM things WHERE owner_id = ?",
 *                        SQL_T(user_id));
 *   return export_put(out, "things", rc, "items", items, NULL);
 *
 * cols names the columns in order, separated by spaces, each with its kind after a colon: none or
 * "s" a text, "i" an integer, "f" a number, "b" a boolean (0 is false), "j" a JSON text stored as
 * such (a text that does not parse gives null). SQL NULL gives null whatever the kind.
 */
#ifndef ENT_EXPORT_H
#define ENT_EXPORT_H

#include <jansson.h>

#include "sql.h"

/* Appends to arr one object per row of sql with the n values v, keyed by cols. ENT_OK or the failure. */
int export_rows(db_conn *c, json_t *arr, const char *cols, const char *sql, const sql_val *v, size_t n);
#define EXPORT_ROWS(c, arr, cols, sql, ...) export_rows((c), (arr), (cols), (sql), SQL_VALS(__VA_ARGS__))

/*
 * For each object of arr, runs sql with the texts of that object's members named by binds (spaces
 * between names) as its parameters, and sets member key to the array of its rows (cols as above):
 * the comments of each ticket, the addresses of each message. Stops at the first failure.
 */
int export_nest(db_conn *c, json_t *arr, const char *key, const char *binds, const char *cols, const char *sql);

/*
 * Ends an export hook: when rc is ENT_OK, sets out[section] to an object of the key and value
 * pairs that follow (const char *, json_t * stolen, ..., NULL) and returns ENT_OK; otherwise frees
 * the values and returns rc.
 */
int export_put(json_t *out, const char *section, int rc, ...);

#endif
