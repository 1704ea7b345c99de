/*
 * log.c - JSON lines on standard error.
 *
 * A line is formatted into a stack buffer, escaped as a JSON string, and written with one
 * write(2): POSIX keeps such writes whole for pipes up to PIPE_BUF and in practice for files
 * opened O_APPEND, so no lock is taken on the hot path.
 */
#include "log.h"

#include "err.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
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

void log_job_failed(int rc, const char *fmt, ...)
{
	char what[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rc == ENT_EBUSY)
		log_warn("%s: %s; done at the next round", what, ent_err_str(rc));
	else
		log_error("%s: %s", what, ent_err_str(rc));
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
	int n = snprintf(out, sizeof(out),
			 "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"msg\":\"",
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

/* ---- buffered access log ---- */

#define ACCESS_BUF (32 * 1024)
#define FLUSH_MS 100

struct abuf {
	pthread_mutex_t lock; /* taken by its thread and by the flusher: uncontended in practice */
	struct abuf *next;
	size_t len;
	char data[ACCESS_BUF];
};

static pthread_mutex_t abufs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct abuf *abufs;
static pthread_key_t abuf_key;
static pthread_once_t abuf_once = PTHREAD_ONCE_INIT;
static pthread_t flusher;
static atomic_int flushing; /* the flusher runs */
static pthread_mutex_t flusher_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flusher_cond = PTHREAD_COND_INITIALIZER;

static void abuf_flush(struct abuf *b)
{
	if (b->len) {
		ssize_t w = write(STDERR_FILENO, b->data, b->len);
		(void)w;
		b->len = 0;
	}
}

/* A thread ends (libmicrohttpd stopping): its lines go out, its buffer leaves the list. */
static void abuf_release(void *arg)
{
	struct abuf *b = arg;
	pthread_mutex_lock(&abufs_lock);
	for (struct abuf **p = &abufs; *p; p = &(*p)->next) {
		if (*p == b) {
			*p = b->next;
			break;
		}
	}
	pthread_mutex_unlock(&abufs_lock);
	pthread_mutex_lock(&b->lock);
	abuf_flush(b);
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static void abuf_key_init(void) { pthread_key_create(&abuf_key, abuf_release); }

static void flush_all(void)
{
	pthread_mutex_lock(&abufs_lock);
	for (struct abuf *b = abufs; b; b = b->next) {
		pthread_mutex_lock(&b->lock);
		abuf_flush(b);
		pthread_mutex_unlock(&b->lock);
	}
	pthread_mutex_unlock(&abufs_lock);
}

static void *flusher_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&flusher_lock);
	while (atomic_load(&flushing)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += FLUSH_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&flusher_cond, &flusher_lock, &ts);
		pthread_mutex_unlock(&flusher_lock);
		flush_all();
		pthread_mutex_lock(&flusher_lock);
	}
	pthread_mutex_unlock(&flusher_lock);
	return NULL;
}

void log_access_start(void)
{
	pthread_once(&abuf_once, abuf_key_init);
	if (atomic_exchange(&flushing, 1))
		return;
	if (pthread_create(&flusher, NULL, flusher_main, NULL) != 0)
		atomic_store(&flushing, 0);
}

void log_access_stop(void)
{
	if (atomic_exchange(&flushing, 0)) {
		pthread_mutex_lock(&flusher_lock);
		pthread_cond_signal(&flusher_cond);
		pthread_mutex_unlock(&flusher_lock);
		pthread_join(flusher, NULL);
	}
	flush_all();
}

void log_access_line(const char *line, size_t len)
{
	if (!atomic_load(&flushing) || len + 1 > ACCESS_BUF) {
		log_write_line(line, len);
		return;
	}
	struct abuf *b = pthread_getspecific(abuf_key);
	if (!b) {
		b = malloc(sizeof(*b));
		if (!b)
			abort();
		pthread_mutex_init(&b->lock, NULL);
		b->len = 0;
		pthread_mutex_lock(&abufs_lock);
		b->next = abufs;
		abufs = b;
		pthread_mutex_unlock(&abufs_lock);
		pthread_setspecific(abuf_key, b);
	}
	pthread_mutex_lock(&b->lock);
	if (b->len + len + 1 > ACCESS_BUF)
		abuf_flush(b);
	memcpy(b->data + b->len, line, len);
	b->data[b->len + len] = '\n';
	b->len += len + 1;
	pthread_mutex_unlock(&b->lock);
}
