/*
 * password.h - password hashing (Argon2id, libargon2) and the password policy.
 *
 * Hashes are stored in the PHC string format ("$argon2id$v=19$m=…,t=…,p=…$salt$hash"), which
 * carries its own parameters and salt, so the parameters can be raised later: password_verify()
 * reads them from the stored string and password_needs_rehash() tells when to upgrade.
 */
#ifndef ENT_PASSWORD_H
#define ENT_PASSWORD_H

#include <stddef.h>

#define PASSWORD_MIN 12  /* characters (UTF-8 code points) */
#define PASSWORD_MAX 128 /* characters; longer is refused, never truncated */

/* NULL if pw satisfies the policy, otherwise a short French message for the user. */
const char *password_policy_error(const char *pw);

/* Hashes pw with Argon2id and a fresh 16-byte salt. Returns a malloc'd PHC string, NULL on failure. */
char *password_hash(const char *pw);

/* 1 if pw matches the stored PHC string, 0 if not (or the string is malformed). Constant time. */
int password_verify(const char *stored, const char *pw);

/* 1 if stored was made with weaker parameters than the current ones. */
int password_needs_rehash(const char *stored);

/*
 * Burns about the same time as a verification, for unknown users, so that "unknown user" and
 * "wrong password" cannot be told apart by timing.
 */
void password_dummy_verify(const char *pw);

#endif
