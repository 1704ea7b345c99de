/*
 * log.c - JSON lines on standard error.
 *
 * A line is formatted into a stack buffer, escaped as a JSON string, and written with one
 * write(2): POSIX keeps such writes whole for pipes up to PIPE_BUF and in practice for files
 * opened O_APPEND, so no lock is taken on the hot path.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int min_level = LOG_INFO;
static atomic_int access_on = 1;

void log_set_level(enum log_level level) { atomic_store(&min_level, (int)level); }
void log_set_access(int on) { atomic_store(&access_on, on ? 1 : 0); }
int log_access_enabled(void) { return atomic_load(&access_on); }

static const char *level_name(enum log_level l)
{
	switch (l) {
	case LOG_DEBUG: return "debug";
	case LOG_INFO: return "info";
	case LOG_WARN: return "warn";
	default: return "error";
	}
}

void log_write_line(const char *line, size_t len)
{
	char buf[4096];
	if (len + 1 <= sizeof(buf)) {
		memcpy(buf, line, len);
		buf[len] = '\n';
		ssize_t w = write(STDERR_FILENO, buf, len + 1);
		(void)w;
		return;
	}
	ssize_t w = write(STDERR_FILENO, line, len);
	w = write(STDERR_FILENO, "\n", 1);
	(void)w;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if ((int)level < atomic_load(&min_level))
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	char out[4600];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(out, sizeof(out), "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"msg\":\"",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 ts.tv_nsec / 1000000, level_name(level));
	size_t pos = (size_t)n;
	for (const unsigned char *p = (const unsigned char *)msg; *p && pos < sizeof(out) - 8; p++) {
		if (*p == '"' || *p == '\\') {
			out[pos++] = '\\';
			out[pos++] = (char)*p;
		} else if (*p < 0x20) {
			pos += (size_t)snprintf(out + pos, sizeof(out) - pos, "\\u%04x", *p);
		} else {
			out[pos++] = (char)*p;
		}
	}
	out[pos++] = '"';
	out[pos++] = '}';
	log_write_line(out, pos);
}
