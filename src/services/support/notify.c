/*
 * notify.c - support.updated on the bus: the notifications service turns it into one notification
 * per person listed in "students" (for this event: the recipients), with our French
 * notify_title and notify_body (docs/notifications.md).
 *
 * Who is told: the requester of what the staff did (a public answer, a state change); the
 * assignee, or every administrator while nobody is assigned, of what the requester did (a new
 * ticket, an answer, closing it). The person who acted is never told of their own action. An
 * internal note publishes nothing, so its text can never reach the requester this way.
 *
 * Published inside the caller's transaction: the event exists if and only if the change does.
 */
#include "internal.h"

#include <string.h>

#include "bus/bus.h"
#include "core/err.h"
#include "services/users/users.h"

int sup_notify(db_conn *c, const struct sup_ticket *t, const char *actor, const char *const *ids, size_t n,
	       const char *title, const char *body)
{
	json_t *to = json_array();
	for (size_t i = 0; i < n; i++) {
		if (!ids[i] || (actor && !strcmp(ids[i], actor)))
			continue;
		int seen = 0;
		for (size_t k = 0; k < i && !seen; k++)
			seen = ids[k] && !strcmp(ids[k], ids[i]);
		if (!seen)
			json_array_append_new(to, json_string(ids[i]));
	}
	if (!json_array_size(to)) {
		json_decref(to);
		return ENT_OK;
	}
	json_t *p = json_pack("{s:o, s:s, s:s, s:s, s:s}", "students", to, "ticket_id", t->col[T_ID], "state",
			      t->col[T_STATE], "notify_title", title, "notify_body", body);
	int rc = bus_publish(c, "support", "support.updated", p, NULL);
	json_decref(p);
	return rc;
}

int sup_notify_requester(db_conn *c, const struct sup_ticket *t, const char *actor, const char *title, const char *body)
{
	const char *one[1] = {t->col[T_REQUESTER]};
	return sup_notify(c, t, actor, one, 1, title, body);
}

int sup_notify_staff(db_conn *c, arena *a, const struct sup_ticket *t, const char *actor, const char *title,
		     const char *body)
{
	if (t->col[T_ASSIGNEE]) {
		const char *one[1] = {t->col[T_ASSIGNEE]};
		return sup_notify(c, t, actor, one, 1, title, body);
	}
	const char **admins;
	int n = users_with_role(c, a, "admin", &admins);
	if (n < 0)
		return n;
	return sup_notify(c, t, actor, admins, (size_t)n, title, body);
}
