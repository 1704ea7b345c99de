/*
 * wake.h - wake-ups across processes, for the live pushes of Server-Sent Events (sse.h).
 *
 * A stream is held by one process; what it must carry may be produced by another (the
 * notifications consumer of another process, a message sent through another process). The
 * producer calls wake_send(topic, payload) after its commit; every process that subscribed to the
 * topic, the producer's own included, gets fn(payload) on its wake thread and pushes to the
 * streams it holds (reading the database if it needs more than the payload).
 *
 *   PostgreSQL  NOTIFY on the channel `ent_wake` ("topic:payload", SELECT pg_notify(...) on the
 *               calling thread's connection); each process with subscribers has one more database
 *               connection, which runs LISTEN ent_wake, and a thread that dispatches what arrives.
 *   SQLite      the subscriber is called at once in the calling thread: one process holds every
 *               stream there (several processes sharing a SQLite file do not wake each other).
 *
 * A wake-up is best effort: one sent while a process's listening connection is being re-opened
 * (a database restart) does not reach it; its streams catch up when their clients reconnect.
 * Payloads are at most WAKE_MAX_PAYLOAD bytes (PostgreSQL's limit is 8000 with the topic); a
 * sender with more (a long recipient list) splits it into several wake-ups.
 */
#ifndef ENT_WAKE_H
#define ENT_WAKE_H

#include <stddef.h>

#define WAKE_MAX_PAYLOAD 7800

typedef void (*wake_fn)(const char *payload);

/*
 * Calls fn for every wake-up of topic (a short lowercase word), in every process. From a service's
 * start(), before wake_start(). Returns 0, or ENT_EINVAL (bad topic, duplicate, too many).
 */
int wake_subscribe(const char *topic, wake_fn fn);

/*
 * Sends a wake-up to every process subscribed to topic, this one included, after the caller's
 * commit (or inside a transaction on PostgreSQL: it is then delivered at its commit). Any thread.
 * Returns 0, ENT_ETOOBIG for a payload over WAKE_MAX_PAYLOAD, or the database's error (this
 * process's subscribers are then called directly, so its own streams still hear of it).
 */
int wake_send(const char *topic, const char *payload);

/* Starts the listening thread when something subscribed and the database is PostgreSQL. 0 or an ent_err. */
int wake_start(void);
/* Stops it and forgets the subscriptions. Accepts being called twice. */
void wake_stop(void);

/* For tests and /metrics: 1 when this process listens (PostgreSQL, connection up), else 0. */
int wake_listening(void);

#endif
