/*
 * hello.c - the baseline of the HTTP benchmark: a bare libmicrohttpd server.
 *
 * It answers every request with one fixed JSON body of the same size as ent's GET /health answer
 * (137 bytes), and nothing else: no routing, no request id, no security headers, no access log, no
 * metrics, no database. What ent does on top of this is what bench/run.sh measures as the ratio
 * ent/hello-world.
 *
 * To compare like with like it starts libmicrohttpd exactly as src/core/http.c does: the same
 * daemon flags (MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, the
 * last for event streams), one worker thread per online core, the same connection limits, idle
 * timeout and per-connection memory limit, and a listening socket bound by the program itself
 * (non-blocking, backlog 1024) and handed over with MHD_OPTION_LISTEN_SOCKET. It also answers only
 * once the request is complete: the first call of the access handler for a request returns MHD_YES
 * with nothing queued (docs/request-lifecycle.md explains why queueing on that call costs
 * keep-alive). Each answer is a new MHD response over the static body, as a minimal real handler would
 * do. The callbacks ent registers besides the handler (URI log, request completed, error logger)
 * are left out: what they do is ent's work.
 *
 * It must never listen anywhere but the loopback interface: it is a benchmark tool, not a server.
 *
 * Usage: hello PORT [BYTES]
 *   PORT 0 picks a free port; the bound port is printed on stdout.
 *   BYTES, when given, replaces the 137-byte body by a JSON body of that many bytes (a string of
 *   filler). bench/district.sh uses it with the size of a student's report card, to show what a
 *   server that did no work at all would reach with an answer that size: the ceiling that the
 *   bytes alone set, apart from the work behind them.
 * Stops on SIGINT or SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The same values as src/core/http.c and its defaults in src/core/config.c. */
#define CONN_MEMORY (32 * 1024) /* as src/core/http.c */
#define IDLE_TIMEOUT 60u
#define MAX_CONNECTIONS 4096u
#define PER_IP_CONNECTIONS 256u
#define LISTEN_BACKLOG 1024

/* The size and shape of ent's /health answer (137 bytes). */
static const char small_body[] =
	"{\"status\":\"ok\",\"version\":\"0.0.0\",\"commit\":\"0000000\",\"services\":[\"core\"],"
	"\"database\":{\"kind\":\"sqlite\",\"reachable\":true},\"uptime_seconds\":0}";

/* The body every request gets: small_body, or the BYTES of the command line. */
static const char *body = small_body;
static size_t body_len = sizeof(small_body) - 1;

/* Marks a request whose headers were seen (the address is the mark, the value is unused). */
static int headers_seen;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		/* Headers complete: answer later, once the whole request is in. */
		*con_cls = &headers_seen;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0; /* a body is read and dropped */
		return MHD_YES;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(body_len, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		abort();
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

static int parse_port(const char *s, unsigned *port)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end != '\0' || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

/* Binds 127.0.0.1:port as src/core/http.c binds its listener. Returns the socket or -1. */
static int bind_loopback(unsigned port, unsigned *bound)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, LISTEN_BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	*bound = ntohs(sa.sin_port);
	return fd;
}

int main(int argc, char **argv)
{
	unsigned port;
	unsigned long bytes = 0;
	char *end = NULL;
	if (argc == 3) {
		errno = 0;
		bytes = strtoul(argv[2], &end, 10);
	}
	if (argc < 2 || argc > 3 || parse_port(argv[1], &port) ||
	    (argc == 3 && (errno || end == argv[2] || *end != '\0' || bytes < 16 || bytes > 64ul << 20))) {
		fprintf(stderr, "usage: %s PORT [BYTES]   (PORT 0: any free port; BYTES 16 to 64 MiB)\n", argv[0]);
		return 2;
	}
	char *big = NULL;
	if (bytes) {
		/* {"filler":"xxxx...x"} of exactly BYTES bytes. */
		big = malloc(bytes);
		if (!big)
			return 1;
		memset(big, 'x', bytes);
		memcpy(big, "{\"filler\":\"", 11);
		memcpy(big + bytes - 2, "\"}", 2);
		body = big;
		body_len = bytes;
	}
	/* Signals are taken by sigwait(); the worker threads inherit this mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	unsigned bound;
	int fd = bind_loopback(port, &bound);
	if (fd < 0) {
		fprintf(stderr, "hello: cannot listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
		return 1;
	}
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = (unsigned)(cores > 0 ? cores : 1);
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_request,
		NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
		IDLE_TIMEOUT, MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		PER_IP_CONNECTIONS, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "hello: the HTTP server could not start\n");
		close(fd);
		return 1;
	}
	printf("hello listening on 127.0.0.1:%u with %u threads\n", bound, threads);
	fflush(stdout);

	int sig = 0;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	close(fd);
	free(big);
	return 0;
}
