/*
 * auth.h - the C interface of the auth service (built-in OIDC provider and token guard).
 */
#ifndef ENT_AUTH_H
#define ENT_AUTH_H

#include "core/arena.h"
#include "store/db.h"

/* Revokes every refresh token and provider session of a user (password change, disable, delete). */
int auth_revoke_user(db_conn *c, const char *user_id);

/*
 * Issues an access token for the user (the operator's `ent token EMAIL`), signed with the current
 * key, for client ent-portal, valid ttl seconds (0: the standard 5 minutes). Returns a malloc'd
 * JWT or NULL.
 */
char *auth_issue_access_token(db_conn *c, const char *user_id, int ttl);

/*
 * Installs the access guard in a process that does not run the auth service itself (e.g.
 * `--services notes`): tokens are still checked, against the keys in the shared database or the
 * external issuer. auth_guard_stop() undoes it.
 */
int auth_guard_start(void);
void auth_guard_stop(void);

#endif
