/*
 * patch.h - partial updates (PATCH) in one constant statement.
 *
 * A PATCH body names the fields it changes; the others keep their value, and a field given as
 * null becomes NULL. Instead of one UPDATE per column, or reading the row to merge it in C, a
 * service writes one constant statement with PATCH_SET(col) for each column it lets change:
 *
 *   static const char *const keys[] = {"title", "work", "due_at"};
 *   db_stmt *s = db_prepare(c, "UPDATE calendar_homework SET " PATCH_SET("title") ", " PATCH_SET("work")
 *                              ", " PATCH_SET("due_at") ", updated_at = ? WHERE id = ?");
 *   int k = patch_bind(s, 1, body, keys, 3);   (binds 6 parameters; k is the next index)
 *   db_bind_text(s, k++, now); db_bind_text(s, k, id);
 *
 * Each PATCH_SET binds two parameters: whether the body has the key, then its value. Values are
 * bound by their JSON type (string, null, boolean as 0/1, integer, real); the body was validated
 * before (json_check), so a key's type is the column's. Portable between SQLite and PostgreSQL
 * (PostgreSQL types the value from the column of the ELSE branch).
 */
#ifndef ENT_PATCH_H
#define ENT_PATCH_H

#include <jansson.h>
#include <stddef.h>

#include "../store/db.h"

#define PATCH_SET(col) col " = CASE WHEN ? = 1 THEN ? ELSE " col " END"

/* Binds the n (present, value) pairs of keys from first; returns the next parameter index. */
int patch_bind(db_stmt *s, int first, const json_t *body, const char *const *keys, size_t n);

#endif
