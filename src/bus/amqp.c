/*
 * amqp.c - the RabbitMQ backend of the bus (rabbitmq-c).
 *
 * Two kinds of threads, each with its own broker connection (a rabbitmq-c connection is not
 * thread-safe) and its own database connection:
 *
 *   the relay    reads the outbox rows not yet relayed (bus_outbox_unrelayed, in seq order) and
 *                publishes each to the durable topic exchange `ent.events`, routing key = event
 *                type, persistent (delivery_mode 2), message_id = event id, body = the JSON
 *                envelope. The channel is in confirm mode: a row is marked relayed only after the
 *                broker acknowledged it (basic.ack, possibly `multiple`); a nack, a timeout or a
 *                lost connection leaves it in the outbox and it is published again. So while the
 *                broker is down events wait in the outbox, and an event may reach the broker
 *                twice, never zero times.
 *   consumers    one per consumer registered in this process: it declares the durable queue
 *                `ent.<name>`, binds it to the exchange for each of the consumer's types ("a.*"
 *                becomes the topic pattern "a.#", and the exact bus_type_matches() rule is applied
 *                on receipt), takes up to BROKER_PREFETCH unacknowledged messages, and acks each
 *                only after bus_apply() committed. A failed handler is retried: the message is
 *                nacked with requeue after bus_backoff_ms(attempt), so a failing event does not
 *                spin. bus_apply() records (consumer, event id), which makes the redeliveries
 *                that at-least-once implies harmless.
 *
 * Before its first publish on every connection the relay also declares and binds the queues of
 * every consumer of the deployment (bus_declared(): `ent serve` declares the consumers of every
 * service in the registry, whichever it runs): a message routed to no queue is dropped by the
 * broker, so a queue must exist before the events it wants are relayed, even when its consuming
 * process has never started yet. An event that no consumer wants at all is returned to the relay
 * (mandatory flag), logged, and counted as relayed.
 *
 * Connections are retried with a backoff from 1 s doubling to 30 s; each state change (down,
 * up again) is logged once. There are no AMQP heartbeats, because rabbitmq-c only answers them
 * from inside its own calls and a consumer may be waiting out a handler's backoff; dead peers are
 * found by TCP keepalive instead. Every blocking call has a timeout of at most
 * BROKER_POLL_MS, so bus_amqp_stop() returns within about a second. Never log the broker URL: it
 * carries a password.
 */
#include "internal.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../core/app.h"
#include "../core/err.h"
#include "../core/log.h"
#include "../core/util.h"

#define BROKER_EXCHANGE "ent.events"
#define BROKER_CHANNEL 1
#define BROKER_BATCH 100        /* outbox rows published before waiting for confirms */
#define BROKER_PREFETCH 64      /* unacknowledged messages a consumer holds */
#define BROKER_POLL_MS 500      /* longest blocking call, so that stop is quick */
#define BROKER_CONFIRM_MS 10000 /* confirms not back by then: the connection is dropped */
#define BROKER_CONNECT_S 5      /* TCP connect and login */
#define BROKER_RPC_S 10         /* declare, bind, consume, close */
#define BROKER_RETRY_MIN_MS 1000
#define BROKER_RETRY_MAX_MS 30000
#define BROKER_IDLE_MS 1000 /* the relay looks at the outbox at least this often */
#define BROKER_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define BROKER_TYPE_MAX 80 /* an event type (64 characters at most) and its NUL */

/* The broker's address, parsed once from the URL; strings point into url_copy. */
static struct amqp_connection_info broker;
static char *url_copy;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER; /* kicks and stop */
static int kicked;
static atomic_int stopping;

static pthread_t relay_thread;
static int relay_started;
static atomic_int relay_up;

struct worker {
	const struct bus_consumer *k;
	pthread_t thread;
	int started;
	atomic_int up;
};
static struct worker *workers;
static size_t nworkers;

/* Connection state of one thread, for logging each change once. */
struct link {
	const char *who; /* "relay" or the consumer's name */
	amqp_connection_state_t conn;
	unsigned failures; /* consecutive failed connection attempts */
	int down_logged;
	int ever_up;
};

/* ---- small helpers ---- */

static uint64_t now_ms(void) { return util_now_ns() / 1000000u; }

/*
 * Sleeps ms milliseconds, or until the bus stops. With wake_on_kick, also until bus_amqp_kick()
 * (the relay's idle wait); the kick is consumed. Returns 1 when stopping.
 */
static int pause_ms(long ms, int wake_on_kick)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mu);
	while (!stopping && !(wake_on_kick && kicked))
		if (pthread_cond_timedwait(&cond, &mu, &until) == ETIMEDOUT)
			break;
	if (wake_on_kick)
		kicked = 0;
	int stop = stopping;
	pthread_mutex_unlock(&mu);
	return stop;
}

static long retry_ms(unsigned failures)
{
	long ms = BROKER_RETRY_MIN_MS;
	for (unsigned i = 1; i < failures && ms < BROKER_RETRY_MAX_MS; i++)
		ms *= 2;
	return ms > BROKER_RETRY_MAX_MS ? BROKER_RETRY_MAX_MS : ms;
}

/* A readable reason for a failed RPC (library error, or the broker's close reason). */
static void reply_str(amqp_rpc_reply_t r, char *out, size_t n)
{
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL: snprintf(out, n, "ok"); return;
	case AMQP_RESPONSE_NONE: snprintf(out, n, "no reply from the broker"); return;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION: snprintf(out, n, "%s", amqp_error_string2(r.library_error)); return;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD && r.reply.decoded) {
			const amqp_connection_close_t *m = r.reply.decoded;
			snprintf(out, n, "the broker closed the connection: %u %.*s", m->reply_code,
				 (int)m->reply_text.len, (const char *)m->reply_text.bytes);
		} else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD && r.reply.decoded) {
			const amqp_channel_close_t *m = r.reply.decoded;
			snprintf(out, n, "the broker closed the channel: %u %.*s", m->reply_code,
				 (int)m->reply_text.len, (const char *)m->reply_text.bytes);
		} else {
			snprintf(out, n, "broker error (method 0x%08x)", (unsigned)r.reply.id);
		}
		return;
	}
	snprintf(out, n, "unknown reply");
}

/* 0 when the last RPC on conn succeeded, else -1 with the reason in why. */
static int rpc_ok(amqp_connection_state_t conn, const char *what, char *why, size_t n)
{
	amqp_rpc_reply_t r = amqp_get_rpc_reply(conn);
	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return 0;
	char reason[200];
	reply_str(r, reason, sizeof reason);
	snprintf(why, n, "%s: %s", what, reason);
	return -1;
}

/* Dead peers are noticed by the kernel within about a minute (no AMQP heartbeats, see above). */
static void keepalive(int fd)
{
	int on = 1, idle = 30, intvl = 10, cnt = 3;
	unsigned user_timeout = 60000;
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

/* The topic binding key for a bus pattern: "a.*" (any "a." prefix) is "a.#" in AMQP terms. */
static void binding_key(const char *pattern, char *out, size_t n)
{
	size_t len = strlen(pattern);
	if (len >= 2 && pattern[len - 1] == '*' && pattern[len - 2] == '.')
		snprintf(out, n, "%.*s#", (int)(len - 1), pattern);
	else
		snprintf(out, n, "%s", pattern);
}

static int consumer_wants(const struct bus_consumer *k, const char *type)
{
	for (const char *const *p = k->types; p && *p; p++)
		if (bus_type_matches(*p, type))
			return 1;
	return 0;
}

/* ---- connections ---- */

/* Closes the connection: politely when it still works, else just the socket. */
static void link_drop(struct link *l, int broken)
{
	if (!l->conn)
		return;
	if (!broken) {
		struct timeval tv = {1, 0};
		amqp_set_rpc_timeout(l->conn, &tv);
		amqp_channel_close(l->conn, BROKER_CHANNEL, AMQP_REPLY_SUCCESS);
		amqp_connection_close(l->conn, AMQP_REPLY_SUCCESS);
	}
	amqp_destroy_connection(l->conn);
	l->conn = NULL;
}

/* Declares the durable queue ent.<name> and binds it for each of k's types. */
static int declare_queue(amqp_connection_state_t conn, const struct bus_consumer *k, char *why, size_t n)
{
	char queue[128];
	snprintf(queue, sizeof queue, "ent.%s", k->name);
	amqp_queue_declare(conn, BROKER_CHANNEL, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table);
	if (rpc_ok(conn, "queue.declare", why, n) != 0)
		return -1;
	for (const char *const *p = k->types; p && *p; p++) {
		char key[160];
		binding_key(*p, key, sizeof key);
		amqp_queue_bind(conn, BROKER_CHANNEL, amqp_cstring_bytes(queue), amqp_cstring_bytes(BROKER_EXCHANGE),
				amqp_cstring_bytes(key), amqp_empty_table);
		if (rpc_ok(conn, "queue.bind", why, n) != 0)
			return -1;
	}
	return 0;
}

/*
 * Connects, logs in, opens the channel and declares the exchange. Returns 0 with l->conn set, or
 * -1 with the reason in why.
 */
static int link_open(struct link *l, char *why, size_t n)
{
	amqp_connection_state_t conn = amqp_new_connection();
	if (!conn) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	amqp_socket_t *sock = broker.ssl ? amqp_ssl_socket_new(conn) : amqp_tcp_socket_new(conn);
	if (!sock) {
		snprintf(why, n, "cannot create a %s socket", broker.ssl ? "TLS" : "TCP");
		amqp_destroy_connection(conn);
		return -1;
	}
	if (broker.ssl) {
		amqp_ssl_socket_set_verify_peer(sock, 1);
		amqp_ssl_socket_set_verify_hostname(sock, 1);
		if (access(BROKER_CA_BUNDLE, R_OK) == 0)
			amqp_ssl_socket_set_cacert(sock, BROKER_CA_BUNDLE);
	}
	struct timeval tv = {BROKER_CONNECT_S, 0};
	int st = amqp_socket_open_noblock(sock, broker.host, broker.port, &tv);
	if (st != AMQP_STATUS_OK) {
		snprintf(why, n, "cannot connect to %s:%d: %s", broker.host, broker.port, amqp_error_string2(st));
		amqp_destroy_connection(conn);
		return -1;
	}
	keepalive(amqp_get_sockfd(conn));
	amqp_set_handshake_timeout(conn, &tv);
	struct timeval rpc = {BROKER_RPC_S, 0};
	amqp_set_rpc_timeout(conn, &rpc);
	amqp_rpc_reply_t r = amqp_login(conn, broker.vhost, 0, AMQP_DEFAULT_FRAME_SIZE, 0, AMQP_SASL_METHOD_PLAIN,
					broker.user, broker.password);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		char reason[200];
		reply_str(r, reason, sizeof reason);
		snprintf(why, n, "login to %s:%d as %s failed: %s", broker.host, broker.port, broker.user, reason);
		amqp_destroy_connection(conn);
		return -1;
	}
	l->conn = conn;
	amqp_channel_open(conn, BROKER_CHANNEL);
	if (rpc_ok(conn, "channel.open", why, n) != 0)
		goto broken;
	amqp_exchange_declare(conn, BROKER_CHANNEL, amqp_cstring_bytes(BROKER_EXCHANGE), amqp_cstring_bytes("topic"), 0,
			      1, 0, 0, amqp_empty_table);
	if (rpc_ok(conn, "exchange.declare " BROKER_EXCHANGE, why, n) != 0)
		goto broken;
	return 0;
broken:
	link_drop(l, 1);
	return -1;
}

static void link_failed(struct link *l, const char *why)
{
	l->failures++;
	if (!l->down_logged) {
		log_warn("bus: %s: RabbitMQ unavailable (%s); retrying with backoff up to %d s", l->who, why,
			 BROKER_RETRY_MAX_MS / 1000);
		l->down_logged = 1;
	}
}

static void link_up(struct link *l)
{
	if (l->down_logged || !l->ever_up)
		log_info("bus: %s: connected to RabbitMQ at %s:%d, vhost %s", l->who, broker.host, broker.port,
			 broker.vhost);
	l->failures = 0;
	l->down_logged = 0;
	l->ever_up = 1;
}

/* ---- the relay ---- */

struct sent {
	int64_t seq;
	uint64_t tag;
	int state; /* 0 waiting for the broker, 1 confirmed, -1 refused */
};

struct batch {
	amqp_connection_state_t conn;
	uint64_t next_tag; /* delivery tags of a confirm-mode channel count publishes from 1 */
	struct sent sent[BROKER_BATCH];
	size_t n;
	int broken;
	char why[256];
	char *unrouted; /* the last type returned as unroutable (the relay's, outlives the batch) */
};

static int publish_row(const struct bus_row *row, void *arg)
{
	struct batch *b = arg;
	if (b->n == BROKER_BATCH)
		return 1;
	size_t len = 0;
	char *body = bus_envelope(&row->ev, row->payload_text, &len);
	if (!body) {
		log_error("bus: relay: event %s cannot be encoded; it stays in the outbox", row->ev.id);
		return 0;
	}
	amqp_basic_properties_t props;
	memset(&props, 0, sizeof props);
	props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
		       AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_APP_ID_FLAG;
	props.content_type = amqp_cstring_bytes("application/json");
	props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	props.message_id = amqp_cstring_bytes(row->ev.id);
	props.type = amqp_cstring_bytes(row->ev.type);
	props.app_id = amqp_cstring_bytes(row->ev.producer ? row->ev.producer : "");
	amqp_bytes_t data = {len, body};
	int st = amqp_basic_publish(b->conn, BROKER_CHANNEL, amqp_cstring_bytes(BROKER_EXCHANGE),
				    amqp_cstring_bytes(row->ev.type), 1, 0, &props, data);
	free(body);
	if (st != AMQP_STATUS_OK) {
		snprintf(b->why, sizeof b->why, "basic.publish: %s", amqp_error_string2(st));
		b->broken = 1;
		return 1;
	}
	b->sent[b->n++] = (struct sent){row->seq, ++b->next_tag, 0};
	return 0;
}

/* Applies a basic.ack or basic.nack; returns how many publishes it settled. */
static size_t settle(struct batch *b, uint64_t tag, int multiple, int state)
{
	size_t done = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct sent *s = &b->sent[i];
		if (s->state == 0 && (s->tag == tag || (multiple && s->tag <= tag))) {
			s->state = state;
			done++;
		}
	}
	return done;
}

/*
 * Reads frames until every publish of the batch is confirmed or refused. Returns 0, or -1 when
 * the connection must be dropped (lost, closed by the broker, confirms too late, stopping).
 */
static int await_confirms(struct batch *b)
{
	size_t left = b->n;
	uint64_t deadline = now_ms() + BROKER_CONFIRM_MS;
	while (left > 0) {
		amqp_maybe_release_buffers(b->conn);
		amqp_frame_t f;
		struct timeval tv = {0, BROKER_POLL_MS * 1000};
		int st = amqp_simple_wait_frame_noblock(b->conn, &f, &tv);
		if (st == AMQP_STATUS_TIMEOUT) {
			if (stopping) {
				snprintf(b->why, sizeof b->why, "stopping");
				return -1;
			}
			if (now_ms() > deadline) {
				snprintf(b->why, sizeof b->why, "no publisher confirm within %d s",
					 BROKER_CONFIRM_MS / 1000);
				return -1;
			}
			continue;
		}
		if (st != AMQP_STATUS_OK) {
			snprintf(b->why, sizeof b->why, "waiting for confirms: %s", amqp_error_string2(st));
			return -1;
		}
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue; /* the header and body of a returned message */
		switch (f.payload.method.id) {
		case AMQP_BASIC_ACK_METHOD: {
			const amqp_basic_ack_t *a = f.payload.method.decoded;
			left -= settle(b, a->delivery_tag, a->multiple, 1);
			break;
		}
		case AMQP_BASIC_NACK_METHOD: {
			const amqp_basic_nack_t *a = f.payload.method.decoded;
			left -= settle(b, a->delivery_tag, a->multiple, -1);
			break;
		}
		case AMQP_BASIC_RETURN_METHOD: {
			/* Routed to no queue; the broker confirms it anyway (it did handle it). Logged once
			 * per type in a row, so that a type nobody consumes does not flood the log. */
			const amqp_basic_return_t *r = f.payload.method.decoded;
			char type[BROKER_TYPE_MAX];
			snprintf(type, sizeof type, "%.*s", (int)r->routing_key.len,
				 (const char *)r->routing_key.bytes);
			if (strcmp(type, b->unrouted) != 0) {
				log_warn(
					"bus: relay: no queue is bound for event type %s; the broker dropped such events "
					"(no service of this version consumes them)",
					type);
				snprintf(b->unrouted, BROKER_TYPE_MAX, "%s", type);
			}
			break;
		}
		case AMQP_CHANNEL_CLOSE_METHOD: {
			const amqp_channel_close_t *m = f.payload.method.decoded;
			snprintf(b->why, sizeof b->why, "the broker closed the channel: %u %.*s", m->reply_code,
				 (int)m->reply_text.len, (const char *)m->reply_text.bytes);
			return -1;
		}
		case AMQP_CONNECTION_CLOSE_METHOD: {
			const amqp_connection_close_t *m = f.payload.method.decoded;
			snprintf(b->why, sizeof b->why, "the broker closed the connection: %u %.*s", m->reply_code,
				 (int)m->reply_text.len, (const char *)m->reply_text.bytes);
			return -1;
		}
		default: break;
		}
	}
	return 0;
}

/* Marks the confirmed rows relayed. Returns the number of refused (nacked) ones. */
static size_t mark_confirmed(db_conn *c, const struct batch *b)
{
	int64_t seqs[BROKER_BATCH];
	size_t n = 0, refused = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (b->sent[i].state == 1)
			seqs[n++] = b->sent[i].seq;
		else if (b->sent[i].state < 0)
			refused++;
	}
	if (n > 0) {
		int rc = bus_outbox_mark_relayed(c, seqs, n);
		if (rc != ENT_OK) /* they will be published again: a duplicate, which consumers ignore */
			log_warn("bus: relay: %zu confirmed events not marked relayed (%s)", n, ent_err_str(rc));
	}
	if (refused > 0)
		log_warn("bus: relay: the broker refused %zu events (basic.nack); they stay in the outbox", refused);
	return refused;
}

/*
 * The relay reads from the broker only while it waits for confirms. Between batches this looks
 * for what the broker may have sent meanwhile (a connection.close when it shuts down), so that
 * a broker gone away is noticed, and reported by bus_amqp_connected(), without waiting for the
 * next event. Returns 1 while the connection looks usable, 0 with the reason in why.
 */
static int link_alive(struct link *l, char *why, size_t n)
{
	struct pollfd p = {.fd = amqp_get_sockfd(l->conn), .events = POLLIN};
	if (!amqp_data_in_buffer(l->conn) && !amqp_frames_enqueued(l->conn) && poll(&p, 1, 0) <= 0)
		return 1;
	amqp_maybe_release_buffers(l->conn);
	amqp_frame_t f;
	struct timeval tv = {0, 100000};
	int st = amqp_simple_wait_frame_noblock(l->conn, &f, &tv);
	if (st == AMQP_STATUS_TIMEOUT)
		return 1;
	if (st != AMQP_STATUS_OK) {
		snprintf(why, n, "%s", amqp_error_string2(st));
		return 0;
	}
	if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
		const amqp_connection_close_t *m = f.payload.method.decoded;
		snprintf(why, n, "the broker closed the connection: %u %.*s", m->reply_code, (int)m->reply_text.len,
			 (const char *)m->reply_text.bytes);
		return 0;
	}
	if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
		snprintf(why, n, "the broker closed the channel");
		return 0;
	}
	return 1;
}

static void *relay_main(void *arg)
{
	(void)arg;
	struct link l = {.who = "relay"};
	size_t n;
	const struct bus_consumer *const *ks = bus_declared(&n);
	uint64_t next_tag = 0;
	int db_down = 0;
	char unrouted[BROKER_TYPE_MAX] = "";
	time_t last_count = 0, last_purge = 0;
	while (!stopping) {
		char why[256];
		/* Housekeeping, broker up or down: what waits (for /metrics), and the weekly purge. */
		if (time(NULL) != last_count) {
			db_conn *hc = db_conn_get(app.db);
			if (hc) {
				bus_count_unrelayed(hc);
				if (time(NULL) - last_purge > 3600) {
					bus_purge(hc);
					last_purge = time(NULL);
				}
			}
			last_count = time(NULL);
		}
		if (!l.conn) {
			if (link_open(&l, why, sizeof why) != 0) {
				link_failed(&l, why);
				pause_ms(retry_ms(l.failures), 0);
				continue;
			}
			int bad = 0;
			for (size_t i = 0; i < n && !bad; i++)
				bad = declare_queue(l.conn, ks[i], why, sizeof why) != 0;
			if (!bad) {
				amqp_confirm_select(l.conn, BROKER_CHANNEL);
				bad = rpc_ok(l.conn, "confirm.select", why, sizeof why) != 0;
			}
			if (bad) {
				link_drop(&l, 1);
				link_failed(&l, why);
				pause_ms(retry_ms(l.failures), 0);
				continue;
			}
			next_tag = 0;
			link_up(&l);
			atomic_store(&relay_up, 1);
		} else if (!link_alive(&l, why, sizeof why)) {
			atomic_store(&relay_up, 0);
			link_drop(&l, 1);
			link_failed(&l, why);
			pause_ms(retry_ms(l.failures), 0);
			continue;
		}
		db_conn *c = db_conn_get(app.db);
		if (!c) {
			pause_ms(BROKER_IDLE_MS, 0);
			continue;
		}
		struct batch *b = calloc(1, sizeof *b);
		if (!b)
			abort();
		b->conn = l.conn;
		b->next_tag = next_tag;
		b->unrouted = unrouted;
		int seen = bus_outbox_unrelayed(c, BROKER_BATCH, publish_row, b);
		next_tag = b->next_tag;
		if ((seen < 0) != db_down) {
			db_down = seen < 0;
			if (db_down)
				log_warn("bus: relay: the outbox cannot be read (%s); retrying", ent_err_str(seen));
			else
				log_info("bus: relay: the outbox is readable again");
		}
		int broken = b->broken;
		if (!broken && b->n > 0)
			broken = await_confirms(b) != 0;
		size_t refused = mark_confirmed(c, b);
		int full = seen == BROKER_BATCH;
		if (broken) {
			snprintf(why, sizeof why, "%s", b->why);
			free(b);
			atomic_store(&relay_up, 0);
			link_drop(&l, 1);
			if (stopping)
				break;
			link_failed(&l, why);
			pause_ms(retry_ms(l.failures), 0);
			continue;
		}
		free(b);
		if (full && !refused)
			continue; /* more rows are waiting */
		pause_ms(BROKER_IDLE_MS, 1);
	}
	atomic_store(&relay_up, 0);
	link_drop(&l, 0);
	return NULL;
}

/* ---- consumers ---- */

static int consumer_setup(struct link *l, const struct bus_consumer *k, char *why, size_t n)
{
	if (declare_queue(l->conn, k, why, n) != 0)
		return -1;
	amqp_basic_qos(l->conn, BROKER_CHANNEL, 0, BROKER_PREFETCH, 0);
	if (rpc_ok(l->conn, "basic.qos", why, n) != 0)
		return -1;
	char queue[128];
	snprintf(queue, sizeof queue, "ent.%s", k->name);
	amqp_basic_consume(l->conn, BROKER_CHANNEL, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0,
			   amqp_empty_table);
	return rpc_ok(l->conn, "basic.consume", why, n);
}

/* Failed attempts per event, for the backoff of a message that keeps failing (consumer thread only). */
struct attempts {
	char id[37];
	unsigned n;
	uint64_t last_ms;
};

static unsigned *attempts_of(struct attempts *a, const char *id)
{
	struct attempts *free_slot = NULL, *oldest = &a[0];
	for (size_t i = 0; i < BROKER_PREFETCH; i++) {
		if (a[i].id[0] && strcmp(a[i].id, id) == 0) {
			a[i].last_ms = now_ms();
			return &a[i].n;
		}
		if (!a[i].id[0] && !free_slot)
			free_slot = &a[i];
		if (a[i].last_ms < oldest->last_ms)
			oldest = &a[i];
	}
	struct attempts *s = free_slot ? free_slot : oldest;
	snprintf(s->id, sizeof s->id, "%s", id);
	s->n = 0;
	s->last_ms = now_ms();
	return &s->n;
}

static void attempts_clear(struct attempts *a, const char *id)
{
	for (size_t i = 0; i < BROKER_PREFETCH; i++)
		if (a[i].id[0] && strcmp(a[i].id, id) == 0)
			a[i].id[0] = '\0';
}

/*
 * Applies one delivered message and acks or nacks it; a failure is nacked (requeued) after the
 * event's backoff. Returns 0, or -1 when the connection failed.
 */
static int handle_delivery(struct worker *w, struct link *l, const amqp_envelope_t *env, struct attempts *fails,
			   char *why, size_t n)
{
	const struct bus_consumer *k = w->k;
	struct bus_event ev;
	json_t *tree = NULL;
	int rc;
	if (bus_envelope_parse(env->message.body.bytes, env->message.body.len, &ev, &tree) != ENT_OK) {
		/* Acked so that it does not block the queue; redelivering it would never help. */
		log_error("bus: %s: a malformed message (%zu bytes, routing key %.*s) was dropped", k->name,
			  env->message.body.len, (int)env->routing_key.len, (const char *)env->routing_key.bytes);
		rc = ENT_OK;
	} else if (!consumer_wants(k, ev.type)) {
		rc = ENT_OK; /* "a.#" is wider than "a.*": a type this consumer does not take */
	} else {
		db_conn *c = db_conn_get(app.db);
		rc = c ? bus_apply(c, k, &ev) : ENT_EUNAVAIL;
	}
	if (rc == ENT_OK) {
		if (tree)
			attempts_clear(fails, ev.id);
		json_decref(tree);
		int st = amqp_basic_ack(l->conn, BROKER_CHANNEL, env->delivery_tag, 0);
		if (st != AMQP_STATUS_OK) {
			snprintf(why, n, "basic.ack: %s", amqp_error_string2(st));
			return -1;
		}
		return 0;
	}
	unsigned *attempts = attempts_of(fails, ev.id);
	(*attempts)++;
	long wait = bus_backoff_ms(*attempts);
	log_warn("bus: %s failed on event %s (%s), attempt %u; again in %ld ms", k->name, ev.id, ent_err_str(rc),
		 *attempts, wait);
	json_decref(tree);
	if (pause_ms(wait, 0)) {
		snprintf(why, n, "stopping");
		return -1; /* the broker requeues it when the connection closes */
	}
	int st = amqp_basic_nack(l->conn, BROKER_CHANNEL, env->delivery_tag, 0, 1);
	if (st != AMQP_STATUS_OK) {
		snprintf(why, n, "basic.nack: %s", amqp_error_string2(st));
		return -1;
	}
	return 0;
}

/* After AMQP_STATUS_UNEXPECTED_STATE: reads the frame that is not a delivery. -1: reconnect. */
static int other_frame(struct link *l, char *why, size_t n)
{
	amqp_frame_t f;
	struct timeval tv = {0, BROKER_POLL_MS * 1000};
	int st = amqp_simple_wait_frame_noblock(l->conn, &f, &tv);
	if (st == AMQP_STATUS_TIMEOUT)
		return 0;
	if (st != AMQP_STATUS_OK) {
		snprintf(why, n, "%s", amqp_error_string2(st));
		return -1;
	}
	if (f.frame_type != AMQP_FRAME_METHOD)
		return 0;
	switch (f.payload.method.id) {
	case AMQP_CHANNEL_CLOSE_METHOD: {
		const amqp_channel_close_t *m = f.payload.method.decoded;
		snprintf(why, n, "the broker closed the channel: %u %.*s", m->reply_code, (int)m->reply_text.len,
			 (const char *)m->reply_text.bytes);
		return -1;
	}
	case AMQP_CONNECTION_CLOSE_METHOD: {
		const amqp_connection_close_t *m = f.payload.method.decoded;
		snprintf(why, n, "the broker closed the connection: %u %.*s", m->reply_code, (int)m->reply_text.len,
			 (const char *)m->reply_text.bytes);
		return -1;
	}
	case AMQP_BASIC_CANCEL_METHOD:
		snprintf(why, n, "the broker cancelled the consumer (queue deleted?)");
		return -1;
	default: return 0;
	}
}

static void *consumer_main(void *arg)
{
	struct worker *w = arg;
	struct link l = {.who = w->k->name};
	struct attempts fails[BROKER_PREFETCH];
	memset(fails, 0, sizeof fails);
	char why[256];
	while (!stopping) {
		if (!l.conn) {
			if (link_open(&l, why, sizeof why) != 0) {
				link_failed(&l, why);
				pause_ms(retry_ms(l.failures), 0);
				continue;
			}
			if (consumer_setup(&l, w->k, why, sizeof why) != 0) {
				link_drop(&l, 1);
				link_failed(&l, why);
				pause_ms(retry_ms(l.failures), 0);
				continue;
			}
			link_up(&l);
			atomic_store(&w->up, 1);
		}
		amqp_maybe_release_buffers(l.conn);
		amqp_envelope_t env;
		struct timeval tv = {0, BROKER_POLL_MS * 1000};
		amqp_rpc_reply_t r = amqp_consume_message(l.conn, &env, &tv, 0);
		int broken = 0;
		if (r.reply_type == AMQP_RESPONSE_NORMAL) {
			broken = handle_delivery(w, &l, &env, fails, why, sizeof why) != 0;
			amqp_destroy_envelope(&env);
		} else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) {
			continue;
		} else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
			   r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
			broken = other_frame(&l, why, sizeof why) != 0;
		} else {
			reply_str(r, why, sizeof why);
			broken = 1;
		}
		if (broken) {
			atomic_store(&w->up, 0);
			link_drop(&l, 1);
			if (stopping)
				break;
			link_failed(&l, why);
			pause_ms(retry_ms(l.failures), 0);
		}
	}
	atomic_store(&w->up, 0);
	link_drop(&l, 0);
	return NULL;
}

/* ---- start, stop ---- */

static void join_all(void)
{
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
	if (relay_started)
		pthread_join(relay_thread, NULL);
	relay_started = 0;
	for (size_t i = 0; i < nworkers; i++)
		if (workers[i].started)
			pthread_join(workers[i].thread, NULL);
	free(workers);
	workers = NULL;
	nworkers = 0;
	free(url_copy);
	url_copy = NULL;
}

int bus_amqp_start(const char *url, char *err, size_t errlen)
{
	if (url_copy) {
		snprintf(err, errlen, "ent: the RabbitMQ bus is already running");
		return ENT_EINVAL;
	}
	url_copy = strdup(url);
	if (!url_copy)
		abort();
	amqp_default_connection_info(&broker);
	if (amqp_parse_url(url_copy, &broker) != AMQP_STATUS_OK || !broker.host || !broker.host[0]) {
		/* The URL is not repeated: it may carry a password. */
		snprintf(err, errlen, "ent: ENT_BUS is not a valid amqp://user:pass@host:port/vhost URL");
		free(url_copy);
		url_copy = NULL;
		return ENT_EINVAL;
	}
	if (!broker.vhost || !broker.vhost[0])
		broker.vhost = "/";
	stopping = 0;
	kicked = 0;
	size_t n;
	const struct bus_consumer *const *ks = bus_consumers(&n);
	workers = calloc(n ? n : 1, sizeof *workers);
	if (!workers)
		abort();
	nworkers = n;
	int e = pthread_create(&relay_thread, NULL, relay_main, NULL);
	if (e == 0)
		relay_started = 1;
	for (size_t i = 0; i < n && e == 0; i++) {
		workers[i].k = ks[i];
		e = pthread_create(&workers[i].thread, NULL, consumer_main, &workers[i]);
		if (e == 0)
			workers[i].started = 1;
	}
	if (e != 0) {
		snprintf(err, errlen, "ent: the RabbitMQ bus threads did not start: %s", strerror(e));
		join_all();
		return ENT_EINTERNAL;
	}
	log_info("bus: RabbitMQ backend at %s:%d, vhost %s: a relay and %zu consumer(s)", broker.host, broker.port,
		 broker.vhost, n);
	return ENT_OK;
}

void bus_amqp_kick(void)
{
	pthread_mutex_lock(&mu);
	kicked = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
}

void bus_amqp_stop(void)
{
	if (!url_copy)
		return;
	join_all();
}

int bus_amqp_connected(void)
{
	if (!url_copy || !atomic_load(&relay_up))
		return 0;
	for (size_t i = 0; i < nworkers; i++)
		if (!atomic_load(&workers[i].up))
			return 0;
	return 1;
}
