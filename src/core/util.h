/*
 * util.h - small helpers shared by every module: random bytes, UUIDs, times, parsing.
 */
#ifndef ENT_UTIL_H
#define ENT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Cryptographically secure random bytes (getrandom). Aborts if the kernel cannot provide them. */
void util_random(void *out, size_t len);

/* A random (version 4) UUID in its 36-character text form; out holds at least 37 bytes. */
void util_uuid(char out[37]);
/* 1 if s is a UUID in canonical text form (any version, lower or upper case hex). */
int util_is_uuid(const char *s);

/* 32 random hex characters for a request id: unique, not secret (no syscall per call). */
void util_request_id(char out[33]);

/* `len` random bytes as lower-case hex into out (2*len+1 bytes). */
void util_random_hex(char *out, size_t len);

/* Time as RFC 3339 UTC with seconds ("2026-11-24T10:00:00Z"); out holds at least 21 bytes. */
void util_time_rfc3339(time_t t, char out[21]);
/* Parses RFC 3339 ("...Z" or "+hh:mm" offset, optional fraction). 0 on success. */
int util_parse_rfc3339(const char *s, time_t *out);

/* Monotonic clock in nanoseconds. */
uint64_t util_now_ns(void);

/*
 * Strict decimal parsing: the whole string must be a number within [min, max]. Returns 0 and
 * stores the value, or -1. No whitespace, no sign other than a leading '-', no overflow.
 */
int util_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Constant-time comparison of two byte strings of equal length. 1 if equal. */
int util_ct_equal(const void *a, const void *b, size_t len);

/*
 * splitmix64 (Steele, Lea, Flood 2014): a small, fast, deterministic generator for data generators
 * (--seed gives the same district every time). Advances *state and returns the next value. Never
 * for secrets: use util_random().
 */
uint64_t util_splitmix64(uint64_t *state);

/* The value of one hexadecimal digit (either case), or -1 when c is not one. */
int util_hexval(int c);

/* 1 if s is valid UTF-8 (no overlong forms, surrogates or C1 controls) without control characters. */
int util_valid_text(const char *s);
/* The same, but for a text of several lines: tab, CR and LF are allowed. */
int util_valid_lines(const char *s);
/*
 * 1 if s is a plain e-mail address "local@domain" (ASCII, at most 254 bytes, one @, no space,
 * quote, angle bracket or control character: safe in an SMTP envelope and a mail header).
 */
int util_valid_email_address(const char *s);

/* Reads a whole file into a NUL-terminated malloc'd string (trailing newlines removed). NULL on error. */
char *util_read_file(const char *path, size_t max);

#endif
