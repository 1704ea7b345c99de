/*
 * bus.h - events between services: a transactional outbox, delivered in-process or via RabbitMQ.
 *
 * A producer publishes an event inside the transaction that changes its data: bus_publish()
 * inserts a row into the outbox table (bus_outbox) on the same connection, so the event exists
 * if and only if the change was committed. After db_commit() the producer calls bus_kick() so the
 * delivery starts at once instead of at the next poll.
 *
 * Delivery depends on ENT_BUS:
 *   local   a dispatcher thread reads the outbox and hands each event to every matching consumer
 *           registered in this process; failures are retried with backoff.
 *   amqp:// a relay thread publishes outbox rows to the durable topic exchange `ent.events`
 *           (persistent messages, publisher confirms) and marks them relayed; one consumer thread
 *           per consuming service reads its durable queue `ent.<service>` and acks after the
 *           handler's transaction committed. While the broker is down, events wait in the outbox.
 *
 * Either way a consumer's handler runs inside a transaction opened by the bus, which also records
 * (consumer, event id) in bus_applied: an event is applied at most once per consumer even when it
 * is delivered twice (a relay retried after a lost confirm, a redelivery after a crash). The
 * handler must do all its writes on the connection it is given and must not commit.
 */
#ifndef ENT_BUS_H
#define ENT_BUS_H

#include <jansson.h>
#include <stdint.h>

#include "../store/db.h"

struct bus_event {
	const char *id;        /* UUID */
	const char *type;      /* "note.published", dotted lowercase */
	const char *producer;  /* the producing service's name */
	const char *time;      /* RFC 3339 UTC, when it was published */
	const json_t *payload; /* a JSON object, owned by the bus */
};

/*
 * Called in a transaction (see above) for each event whose type matches. Returns 0 when applied,
 * or a negative ent_err: the transaction is rolled back and the event delivered again later
 * (exponential backoff from 1 s up to 5 min; it is never dropped).
 */
typedef int (*bus_handler)(db_conn *c, const struct bus_event *ev);

struct bus_consumer {
	const char *name;         /* unique and stable: "notifications" (names the queue ent.<name>) */
	const char *const *types; /* NULL-terminated; "note.published" or a prefix pattern "note.*" */
	bus_handler handle;
	/* Called after the handler's transaction committed (e.g. to wake SSE streams). May be NULL. */
	void (*applied)(const struct bus_event *ev);
};

/* Migration SQL for the bus tables (run by the core service's migrations). */
extern const char bus_schema_v1[];
extern const char bus_schema_v1_pg[]; /* the same for PostgreSQL (identity column) */

/*
 * Writes an event into the outbox on connection c, which must be inside a transaction the caller
 * commits. payload is borrowed (serialised here). producer is the publishing service's name.
 * Returns 0 or an ent_err. The event id is written to id_out (37 bytes) when not NULL.
 */
int bus_publish(db_conn *c, const char *producer, const char *type, const json_t *payload, char *id_out);

/* Wakes the dispatcher or relay after a commit that published events. Cheap; any thread. */
void bus_kick(void);

/*
 * Registers a consumer for this process (before bus_start(); `ent serve` subscribes the consumers
 * of the services it runs, struct service.consumers). The struct must outlive the process's bus.
 * Returns 0, or ENT_EINVAL for a duplicate name.
 */
int bus_subscribe(const struct bus_consumer *consumer);

/*
 * Names a consumer that exists in the deployment, in this process or another (before bus_start();
 * `ent serve` declares the consumers of every service of the registry). On RabbitMQ the relay
 * declares and binds the queue of every declared or subscribed consumer before its first publish,
 * so an event published before the consuming process first started waits in its queue. Without a
 * broker it changes nothing (the outbox keeps events). Returns 0, or ENT_EINVAL. Idempotent.
 */
int bus_declare(const struct bus_consumer *consumer);

/*
 * Starts delivery for the configured backend (app.cfg->bus): the local dispatcher, or the AMQP
 * relay and consumers. Called once after every service started. Returns 0 or an ent_err with a
 * reason in err. An unreachable broker is not an error: the threads retry with backoff.
 */
int bus_start(char *err, size_t errlen);
/* Stops the threads (waiting for a handler in progress to finish). Accepts being called twice. */
void bus_stop(void);

/* 1 when the given event type matches pattern ("a.b" exactly, or "a.*" for any "a." prefix). */
int bus_type_matches(const char *pattern, const char *type);

/* For /metrics and tests: events waiting in the outbox (not yet relayed / delivered to all). */
long bus_pending(void);
/* 1 when the broker connection is up, 0 when down, -1 when no broker is configured (local). */
int bus_broker_up(void);

#endif
