/*
 * metrics.c - lock-free request counters and latency histograms, and the process collector.
 *
 * Per route there is a small open-addressed table of (method, status) -> count whose keys are
 * claimed with a compare-and-swap, and one histogram. Process figures (CPU, memory, open files)
 * are read from /proc at exposition time.
 */
#include "metrics.h"

#include "router.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define STATUS_SLOTS 32
static const double bucket_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKETS (sizeof(bucket_le) / sizeof(bucket_le[0]))

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

struct route_metrics {
	atomic_uint keys[STATUS_SLOTS]; /* (method index + 1) << 16 | status; 0 = free */
	atomic_ullong counts[STATUS_SLOTS];
	atomic_ullong buckets[NBUCKETS];
	atomic_ullong count;
	atomic_ullong sum_ns;
};

static struct route_metrics *slots;
static int nslots;
static time_t started;

void metrics_init(int nroutes)
{
	free(slots);
	nslots = nroutes + 1;
	slots = calloc((size_t)nslots, sizeof(*slots));
	if (!slots)
		abort();
	started = time(NULL);
}

void metrics_free(void)
{
	free(slots);
	slots = NULL;
	nslots = 0;
}

static unsigned method_index(const char *m)
{
	for (unsigned i = 0; i < NMETHODS - 1; i++)
		if (strcmp(methods[i], m) == 0)
			return i;
	return NMETHODS - 1;
}

void metrics_observe(int route_id, const char *method, int status, double seconds)
{
	if (!slots)
		return;
	int idx = route_id < 0 || route_id >= nslots - 1 ? nslots - 1 : route_id;
	struct route_metrics *m = &slots[idx];
	unsigned key = ((method_index(method) + 1) << 16) | (unsigned)(status & 0xffff);
	unsigned h = (key * 2654435761u) % STATUS_SLOTS;
	for (int i = 0; i < STATUS_SLOTS; i++, h = (h + 1) % STATUS_SLOTS) {
		unsigned k = atomic_load_explicit(&m->keys[h], memory_order_acquire);
		if (k == 0) {
			unsigned expected = 0;
			if (atomic_compare_exchange_strong(&m->keys[h], &expected, key))
				k = key;
			else
				k = expected;
		}
		if (k == key) {
			atomic_fetch_add_explicit(&m->counts[h], 1, memory_order_relaxed);
			break;
		}
	}
	for (size_t b = 0; b < NBUCKETS; b++) {
		if (seconds <= bucket_le[b]) {
			atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
			break;
		}
	}
	atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sum_ns, (unsigned long long)(seconds * 1e9), memory_order_relaxed);
}

static void route_labels(int idx, const char **service, const char **pattern)
{
	if (idx == nslots - 1) {
		*service = "core";
		*pattern = "unmatched";
		return;
	}
	const struct route *r = router_get(idx, service);
	*pattern = r ? r->pattern : "unknown";
}

/* Label values are route patterns and service names: no quotes or backslashes to escape. */
static void write_requests(buf *out, const char *service)
{
	buf_addstr(out, "# HELP ent_http_requests_total HTTP requests answered, by service, route, method and status.\n"
			"# TYPE ent_http_requests_total counter\n");
	for (int i = 0; i < nslots; i++) {
		const char *svc, *pat;
		route_labels(i, &svc, &pat);
		if (service && strcmp(service, svc) != 0)
			continue;
		for (int s = 0; s < STATUS_SLOTS; s++) {
			unsigned k = atomic_load(&slots[i].keys[s]);
			if (!k)
				continue;
			buf_printf(
				out,
				"ent_http_requests_total{service=\"%s\",route=\"%s\",method=\"%s\",status=\"%u\"} %llu\n",
				svc, pat, methods[(k >> 16) - 1], k & 0xffff, atomic_load(&slots[i].counts[s]));
		}
	}
	buf_addstr(
		out,
		"# HELP ent_http_request_duration_seconds Time from the first byte of a request to the end of its answer.\n"
		"# TYPE ent_http_request_duration_seconds histogram\n");
	for (int i = 0; i < nslots; i++) {
		const char *svc, *pat;
		route_labels(i, &svc, &pat);
		if (service && strcmp(service, svc) != 0)
			continue;
		unsigned long long count = atomic_load(&slots[i].count);
		if (count == 0)
			continue;
		unsigned long long cum = 0;
		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += atomic_load(&slots[i].buckets[b]);
			buf_printf(
				out,
				"ent_http_request_duration_seconds_bucket{service=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
				svc, pat, bucket_le[b], cum);
		}
		buf_printf(out,
			   "ent_http_request_duration_seconds_bucket{service=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n",
			   svc, pat, count);
		buf_printf(out, "ent_http_request_duration_seconds_sum{service=\"%s\",route=\"%s\"} %.9f\n", svc, pat,
			   (double)atomic_load(&slots[i].sum_ns) / 1e9);
		buf_printf(out, "ent_http_request_duration_seconds_count{service=\"%s\",route=\"%s\"} %llu\n", svc, pat,
			   count);
	}
}

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream itself */
}

static void write_process(buf *out)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		     (double)ru.ru_stime.tv_usec / 1e6;
	long pages_rss = 0, pages_vm = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages_vm, &pages_rss) != 2)
			pages_vm = pages_rss = 0;
		fclose(f);
	}
	long page = sysconf(_SC_PAGESIZE);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	buf_printf(out,
		   "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
		   "# TYPE process_cpu_seconds_total counter\n"
		   "process_cpu_seconds_total %.3f\n"
		   "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
		   "# TYPE process_resident_memory_bytes gauge\n"
		   "process_resident_memory_bytes %ld\n"
		   "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
		   "# TYPE process_virtual_memory_bytes gauge\n"
		   "process_virtual_memory_bytes %ld\n"
		   "# HELP process_open_fds Number of open file descriptors.\n"
		   "# TYPE process_open_fds gauge\n"
		   "process_open_fds %ld\n"
		   "# HELP process_max_fds Maximum number of open file descriptors.\n"
		   "# TYPE process_max_fds gauge\n"
		   "process_max_fds %llu\n"
		   "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
		   "# TYPE process_start_time_seconds gauge\n"
		   "process_start_time_seconds %lld\n",
		   cpu, pages_rss * page, pages_vm * page, count_fds(), (unsigned long long)rl.rlim_cur,
		   (long long)started);
}

void metrics_write(buf *out, const char *service, const struct metrics_gauges *g)
{
	if (slots)
		write_requests(out, service);
	buf_printf(out,
		   "# HELP ent_http_requests_in_flight Requests being processed.\n"
		   "# TYPE ent_http_requests_in_flight gauge\n"
		   "ent_http_requests_in_flight %ld\n"
		   "# HELP ent_db_connections Open database connections of this process.\n"
		   "# TYPE ent_db_connections gauge\n"
		   "ent_db_connections %ld\n"
		   "# HELP ent_db_up Whether the database answered the last check (1) or not (0).\n"
		   "# TYPE ent_db_up gauge\n"
		   "ent_db_up %d\n"
		   "# HELP ent_sse_streams Open Server-Sent Events streams.\n"
		   "# TYPE ent_sse_streams gauge\n"
		   "ent_sse_streams %ld\n"
		   "# HELP ent_bus_pending Events waiting: a consumer's retry, or the broker.\n"
		   "# TYPE ent_bus_pending gauge\n"
		   "ent_bus_pending %ld\n",
		   g->in_flight, g->db_connections, g->db_up, g->sse_streams, g->bus_pending);
	buf_printf(out,
		   "# HELP ent_cache_requests_total Cacheable reads by outcome (hit, miss, not_modified).\n"
		   "# TYPE ent_cache_requests_total counter\n"
		   "ent_cache_requests_total{outcome=\"hit\"} %llu\n"
		   "ent_cache_requests_total{outcome=\"miss\"} %llu\n"
		   "ent_cache_requests_total{outcome=\"not_modified\"} %llu\n"
		   "# HELP ent_cache_evictions_total Cached answers dropped to stay under the size cap.\n"
		   "# TYPE ent_cache_evictions_total counter\n"
		   "ent_cache_evictions_total %llu\n"
		   "# HELP ent_cache_bytes Bytes held by the answer cache.\n"
		   "# TYPE ent_cache_bytes gauge\n"
		   "ent_cache_bytes %zu\n"
		   "# HELP ent_cache_entries Answers held by the cache.\n"
		   "# TYPE ent_cache_entries gauge\n"
		   "ent_cache_entries %zu\n",
		   (unsigned long long)g->cache.hits, (unsigned long long)g->cache.misses,
		   (unsigned long long)g->cache.not_modified, (unsigned long long)g->cache.evictions, g->cache.bytes,
		   g->cache.entries);
	if (g->bus_broker_up >= 0)
		buf_printf(out,
			   "# HELP ent_bus_broker_up Whether the message broker connection is up (1) or not (0).\n"
			   "# TYPE ent_bus_broker_up gauge\n"
			   "ent_bus_broker_up %d\n",
			   g->bus_broker_up);
	write_process(out);
}
