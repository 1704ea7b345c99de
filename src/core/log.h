/*
 * log.h - one JSON object per line on standard error.
 *
 * Operational messages (log_info/log_warn/log_error) and the access log (written by http.c) share
 * the format so that one parser reads both. Each line goes out in a single write(2), so lines
 * from different threads never interleave. Never log a token, a password or a query string.
 */
#ifndef ENT_LOG_H
#define ENT_LOG_H

#include "err.h"

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Messages below `level` are dropped. Default LOG_INFO. */
void log_set_level(enum log_level level);
/* When off, the access log (log_access_line) is dropped; operational messages still go out. */
void log_set_access(int on);
int log_access_enabled(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/*
 * A background job's round that failed with rc (an ent_err), as "<what>: <reason>". ENT_EBUSY is
 * routine there: the database's write lock was held past the busy timeout (by another process
 * such as `ent demo` or a long import, or on a loaded machine), and the next round does the
 * work, so it is a warning. Any other failure is an error.
 */
void log_job_failed(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes an already formatted line (without the newline) at once. */
void log_write_line(const char *line, size_t len);

/*
 * The access log: lines are gathered in a buffer per thread and written when it holds 32 KiB or
 * every 100 ms by a flusher thread (one write(2) per batch instead of per request). Between
 * log_access_start() and log_access_stop() (which flushes everything); outside, lines are written
 * at once.
 */
void log_access_line(const char *line, size_t len);
void log_access_start(void);
void log_access_stop(void);

#endif
