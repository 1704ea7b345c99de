/*
 * metrics.h - Prometheus metrics of the HTTP core and the process.
 *
 * Every request is counted by (service, route pattern, method, status) and its latency goes into
 * a histogram per route. Counters are atomics in fixed slots, so recording takes no lock. The
 * text exposition (format 0.0.4) is produced on demand for /metrics and /metrics/<service>.
 */
#ifndef ENT_METRICS_H
#define ENT_METRICS_H

#include "buf.h"
#include "rcache.h"

/* Prepares slots for route ids 0..nroutes-1 (plus one for requests that matched no route). */
void metrics_init(int nroutes);
void metrics_free(void);

/* Records one finished request. route_id -1: no route matched. */
void metrics_observe(int route_id, const char *method, int status, double seconds);

/* Extra gauges supplied by the caller at exposition time. */
struct metrics_gauges {
	long in_flight;
	long db_connections;
	int db_up;
	long sse_streams;  /* open Server-Sent Events streams */
	long bus_pending;  /* events waiting for a retry (local) or for the broker (amqp) */
	int bus_broker_up; /* -1: no broker configured */
	struct rcache_stats cache;
};

/* Writes the exposition for every service (service NULL) or for one. */
void metrics_write(buf *out, const char *service, const struct metrics_gauges *g);

#endif
