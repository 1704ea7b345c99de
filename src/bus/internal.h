/*
 * internal.h - what the bus backends (local dispatcher in bus.c, RabbitMQ in amqp.c) share.
 */
#ifndef ENT_BUS_INTERNAL_H
#define ENT_BUS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bus.h"

/* The consumers registered in this process. */
const struct bus_consumer *const *bus_consumers(size_t *n);
/* The consumers whose queues exist on the broker: those declared and those subscribed, once each. */
const struct bus_consumer *const *bus_declared(size_t *n);

/*
 * Applies ev for consumer k on connection c in its own transaction, recording (k->name, ev->id)
 * in bus_applied; an event already applied is skipped. Calls k->applied after the commit.
 * Returns 0 (applied now or before) or a negative ent_err (rolled back: deliver again later).
 */
int bus_apply(db_conn *c, const struct bus_consumer *k, const struct bus_event *ev);

/* One outbox row as read by a backend. Strings live until the next call on the same stmt. */
struct bus_row {
	int64_t seq;
	struct bus_event ev;
	const char *payload_text; /* the payload as stored (JSON text) */
};

/*
 * Reads up to limit outbox rows not yet relayed (relayed_at IS NULL), in seq order, calling
 * fn(row, arg) for each; fn returns 0 to go on, non-zero to stop. The event's payload is parsed
 * for the call only. Returns the number of rows seen, or a negative ent_err.
 */
int bus_outbox_unrelayed(db_conn *c, int limit, int (*fn)(const struct bus_row *row, void *arg), void *arg);
/* Marks rows relayed (after the broker confirmed them). Returns 0 or an ent_err. */
int bus_outbox_mark_relayed(db_conn *c, const int64_t *seqs, size_t n);

/*
 * Parses an event received from a broker (the JSON envelope written by bus_envelope()) into ev;
 * the strings point into *tree, which the caller frees with json_decref. Returns 0 or ENT_EINVAL.
 */
int bus_envelope_parse(const char *data, size_t len, struct bus_event *ev, json_t **tree);
/* The JSON envelope {"id","type","producer","time","payload"} for a broker message (malloc'd). */
char *bus_envelope(const struct bus_event *ev, const char *payload_text, size_t *len);

/* Backoff for retries: 1 s doubling to 5 min, with +-20 % jitter, in milliseconds. */
long bus_backoff_ms(unsigned attempt);

/* Sets what bus_pending() reports (the relay: rows not yet confirmed by the broker). */
void bus_set_pending(long n);
/* Sets bus_pending() to the number of outbox rows not yet relayed (the AMQP relay, now and then). */
void bus_count_unrelayed(db_conn *c);
/* Deletes outbox rows relayed or below every cursor, and applied marks, older than a week. */
void bus_purge(db_conn *c);

/* The RabbitMQ backend (amqp.c). */
int bus_amqp_start(const char *url, char *err, size_t errlen);
void bus_amqp_kick(void);
void bus_amqp_stop(void);
/* Events relayed but not yet confirmed, and whether the broker connection is up (for /metrics). */
int bus_amqp_connected(void);

#endif
