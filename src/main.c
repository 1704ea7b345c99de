/*
 * main.c - the `ent` command line: serve, migrate, demo, config, routes, version.
 *
 * Every subcommand reads the same settings (config.h) from the environment and flags, so
 * `ent migrate --db X` and `ent serve --db X` agree. A bad setting stops the program with one
 * line naming the setting and exit status 2; an engine that cannot be reached, exit status 1.
 */
#include "bus/bus.h"
#include "core/forwarded.h"
#include "core/app.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/router.h"
#include "core/util.h"
#include "core/wake.h"
#include "services/auth/auth.h"
#include "services/core/openapi.h"
#include "store/migrate.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct config cfg;

static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: ent COMMAND [--setting VALUE ...]\n\n"
		     "ENT, the school digital workspace, in one program.\n\n"
		     "Commands:\n"
		     "  serve     run the services (all by default) and the portal on one listener\n"
		     "  migrate   apply the database migrations of the selected services\n"
		     "  demo      load the demo school (idempotent) and print its accounts\n"
		     "  config    print the effective configuration, secrets masked\n"
		     "  routes    print the route table of the selected services\n"
		     "  tables    print the tables each service owns\n"
		     "  version   print the version\n");
	for (const struct service *const *sv = service_registry; *sv; sv++)
		for (size_t i = 0; i < (*sv)->ncommands; i++)
			fprintf(out, "  %-9s %s\n", (*sv)->commands[i].name, (*sv)->commands[i].usage);
	fprintf(out, "\nRun 'ent COMMAND --help' for the settings each command reads.\n");
}

static void command_help(FILE *out, const char *cmd, const char *what)
{
	fprintf(out, "Usage: ent %s [--setting VALUE ...]\n\n%s\n\n", cmd, what);
	config_usage(out);
}

/* mkdir -p for the data directory and the SQLite file's directory. */
static int make_dirs(const char *path)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int prepare_storage(void)
{
	if (make_dirs(cfg.data) != 0) {
		fprintf(stderr, "ent: ENT_DATA (--data): cannot create \"%s\": %s\n", cfg.data, strerror(errno));
		return -1;
	}
	if (strncmp(cfg.db, "sqlite:", 7) == 0) {
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", cfg.db + 7);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (make_dirs(dir) != 0) {
				fprintf(stderr, "ent: ENT_DB (--db): cannot create \"%s\": %s\n", dir, strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

/* Opens the database and applies migrations. Returns 0 or the exit status. */
static int open_and_migrate(FILE *report)
{
	if (prepare_storage())
		return 1;
	char err[512];
	int rc = db_open(cfg.db, &app.db, err, sizeof(err));
	if (rc) {
		char masked[512];
		config_mask_url(cfg.db, masked, sizeof(masked));
		fprintf(stderr, "ent: ENT_DB (--db): \"%s\": %s\n", masked, err);
		return rc == ENT_EINVAL ? 2 : 1;
	}
	db_conn *c = app_db();
	if (!c) {
		fprintf(stderr, "ent: ENT_DB (--db): the database cannot be reached\n");
		return 1;
	}
	rc = migrate_run(c, app.services, app.nservices, report, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "ent: %s\n", err);
		return 1;
	}
	return 0;
}

/* Loads the settings; with extra, arguments that are not settings stay in argv for the command. */
static int load_config_args(int *argc, char **argv, int extra)
{
	char err[1024];
	if (config_load(&cfg, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (*argc > 1 && !extra) {
		fprintf(stderr, "ent: unknown argument \"%s\" (see ent %s --help)\n", argv[1], argv[0]);
		config_free(&cfg);
		return 2;
	}
	app.cfg = &cfg;
	app.started = time(NULL);
	app.nservices = service_select(cfg.services, app.services, APP_MAX_SERVICES);
	log_set_level(strcmp(cfg.log_level, "debug") == 0   ? LOG_DEBUG
		      : strcmp(cfg.log_level, "warn") == 0  ? LOG_WARN
		      : strcmp(cfg.log_level, "error") == 0 ? LOG_ERROR
							    : LOG_INFO);
	log_set_access(strcmp(cfg.access_log, "on") == 0);
	char why[160];
	if (forwarded_set_trusted(cfg.trusted_proxies, why, sizeof(why))) {
		fprintf(stderr, "ent: ENT_TRUSTED_PROXIES: %s\n", why);
		return 2;
	}
	return 0;
}

static int load_config(int *argc, char **argv) { return load_config_args(argc, argv, 0); }

static void cleanup(void)
{
	db_close(app.db);
	app.db = NULL;
	router_reset();
	metrics_free();
	openapi_free();
	config_free(&cfg);
}

static int service_find_selected(const char *name)
{
	for (size_t i = 0; i < app.nservices; i++)
		if (strcmp(app.services[i]->name, name) == 0)
			return 1;
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		command_help(stdout, "serve",
			     "Runs the selected services on one listener until SIGINT or SIGTERM.\n"
			     "Migrations are applied at start.");
		return 0;
	}
	int rc = load_config(&argc, argv);
	if (rc)
		return rc;
	int own_guard = 0;
	/* Signals are taken by sigwait() below; worker threads inherit this mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* The port first: a port in use is reported before the database is touched. */
	char err[512];
	int listen_fd = http_bind(cfg.listen, err, sizeof(err));
	if (listen_fd < 0) {
		fprintf(stderr, "ent: %s\n", err);
		cleanup();
		return 1;
	}
	rc = open_and_migrate(NULL);
	if (rc) {
		close(listen_fd);
		cleanup();
		return rc;
	}
	if (service_add_routes(app.services, app.nservices)) {
		close(listen_fd);
		cleanup();
		return 1;
	}
	metrics_init(router_count());
	openapi_build(cfg.public_url);
	size_t started = 0;
	for (; started < app.nservices; started++) {
		const struct service *s = app.services[started];
		if (s->start && (rc = s->start()) != ENT_OK) {
			fprintf(stderr, "ent: service %s did not start: %s\n", s->name, ent_err_str(rc));
			rc = 1;
			close(listen_fd);
			goto stop;
		}
	}
	/*
	 * This process consumes for the services it runs, and declares every service's consumers, so
	 * that their queues exist before it publishes anything (docs/bus.md). Delivery begins before
	 * the first request.
	 */
	for (const struct service *const *sv = service_registry; *sv; sv++)
		for (const struct bus_consumer *const *k = (*sv)->consumers; k && *k; k++)
			if (bus_declare(*k) != ENT_OK ||
			    (service_find_selected((*sv)->name) && bus_subscribe(*k) != ENT_OK)) {
				fprintf(stderr, "ent: consumer %s of service %s: invalid or duplicate\n", (*k)->name,
					(*sv)->name);
				rc = 1;
				close(listen_fd);
				goto stop;
			}
	if ((rc = bus_start(err, sizeof(err))) != ENT_OK) {
		fprintf(stderr, "%s\n", err);
		rc = 1;
		close(listen_fd);
		goto stop;
	}
	/*
	 * Every process checks tokens, whether or not it runs the auth service's routes; before the
	 * wake-ups start, since the guard subscribes to key rotations.
	 */
	own_guard = !service_find_selected("auth");
	if (own_guard)
		auth_guard_start();
	/* Live pushes produced by other processes (services subscribed in their start()). */
	if ((rc = wake_start()) != ENT_OK) {
		fprintf(stderr, "ent: the wake-up listener did not start: %s\n", ent_err_str(rc));
		rc = 1;
		close(listen_fd);
		goto stop;
	}
	/*
	 * A worker thread waits for its database answers: on SQLite (in-process) one thread per core
	 * keeps the cores busy, on PostgreSQL each statement is a round trip and four per core do
	 * (measured on 2 cores: a class's grades entered 57 times a second with 2 threads, 291 with 8).
	 */
	unsigned threads = cfg.n_threads;
	if (!threads && db_conn_kind(app_db()) == DB_POSTGRES) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		threads = 4 * (unsigned)(cores > 0 ? cores : 1);
	}
	struct http_options opt = {
		.listen = cfg.listen,
		.fd = listen_fd,
		.threads = threads,
		.idle_timeout = cfg.n_idle_timeout,
		.header_timeout = cfg.n_header_timeout,
		.body_min_rate = cfg.n_body_min_rate,
		.max_connections = cfg.n_max_connections,
		.per_ip_connections = cfg.n_per_ip,
		.max_body = cfg.n_max_body,
		.public_url = cfg.public_url,
	};
	http_server *srv;
	listen_fd = -1; /* owned by the server from here on */
	if (http_start(&opt, &srv, err, sizeof(err)) != ENT_OK) {
		fprintf(stderr, "ent: %s\n", err);
		rc = 1;
		goto stop;
	}
	char names[512] = "";
	size_t pos = 0;
	for (size_t i = 0; i < app.nservices && pos < sizeof(names); i++)
		pos += (size_t)snprintf(names + pos, sizeof(names) - pos, "%s%s", i ? "," : "", app.services[i]->name);
	log_info("ent %s listening on %s (port %u), services: %s", ENT_VERSION, cfg.listen, http_port(srv), names);

	int sig = 0;
	sigwait(&set, &sig);
	log_info("signal %d: stopping", sig);
	http_stop(srv);
	rc = 0;
stop:
	wake_stop(); /* first: a rotation's wake-up no longer reloads the guard's keys */
	if (own_guard)
		auth_guard_stop();
	bus_stop();
	while (started > 0) {
		const struct service *s = app.services[--started];
		if (s->stop)
			s->stop();
	}
	cleanup();
	return rc;
}

static int cmd_migrate(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		command_help(stdout, "migrate",
			     "Applies the missing database migrations of the selected services and prints them.");
		return 0;
	}
	int rc = load_config(&argc, argv);
	if (rc)
		return rc;
	rc = open_and_migrate(stdout);
	if (!rc)
		printf("database is up to date\n");
	cleanup();
	return rc;
}

static uint64_t progress_last_ns;

/*
 * One line per part, rewritten in place on a terminal (at most 10 times a second); into a file or
 * a pipe, a line every 5 seconds while a part lasts, and its last one.
 */
static void scale_progress(const char *what, uint64_t done, uint64_t total)
{
	uint64_t now = util_now_ns();
	int tty = isatty(STDERR_FILENO);
	if (done < total && now - progress_last_ns < (tty ? 100000000u : 5000000000u))
		return;
	progress_last_ns = now;
	fprintf(stderr, "%s%-14s %10llu / %-10llu %3d%%%s", tty ? "\r" : "", what, (unsigned long long)done,
		(unsigned long long)total, total ? (int)(done * 100 / total) : 100, !tty || done >= total ? "\n" : "");
	fflush(stderr);
}

/* `ent demo --scale N [--seed S]`: a district of N students; the rest in proportion (docs/bench). */
static int demo_scale(const char *n_text, const char *seed_text)
{
	int64_t n, seed = 1;
	if (util_parse_int64(n_text, 100, 1000000, &n) ||
	    (seed_text && util_parse_int64(seed_text, 0, INT64_MAX, &seed))) {
		fprintf(stderr, "ent: --scale takes a number of students from 100 to 1000000, --seed a number\n");
		return 2;
	}
	struct scale sc = {
		.students = (unsigned)n,
		.teachers = (unsigned)(n * 3 / 40), /* 1,500 for 20,000 */
		.classes = (unsigned)(n / 25),      /* 800: about 25 students a class */
		.courses = (unsigned)(n * 3 / 10),  /* 6,000: 7 or 8 a class */
		.grades = (uint64_t)n * 100,        /* 2,000,000 */
		.notifications = (uint64_t)n * 10,  /* 200,000 */
		.seed = (uint64_t)seed,
		.progress = scale_progress,
	};
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	int y = tm.tm_year + 1900 - (tm.tm_mon < 8);
	unsigned first = (unsigned)y % 9999u;
	snprintf(sc.school_year, sizeof sc.school_year, "%04u-%04u", first, first + 1);
	printf("Generating a district: %u students, %u teachers, %u classes, %u courses, %llu grades, "
	       "%llu notifications (school year %s)\n",
	       sc.students, sc.teachers, sc.classes, sc.courses, (unsigned long long)sc.grades,
	       (unsigned long long)sc.notifications, sc.school_year);
	fflush(stdout);
	uint64_t t0 = util_now_ns();
	for (size_t i = 0; i < app.nservices; i++) {
		const struct service *s = app.services[i];
		if (!s->generate)
			continue;
		int e = s->generate(app_db(), &sc);
		if (e != ENT_OK) {
			fprintf(stderr, "ent: the %s part of the district could not be generated: %s\n", s->name,
				ent_err_str(e));
			return 1;
		}
	}
	printf("Done in %.1f s. Every account's password is %s; tokens: ent token s1@%s\n",
	       (double)(util_now_ns() - t0) / 1e9, SCALE_PASSWORD, SCALE_DOMAIN);
	return 0;
}

static int cmd_demo(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		command_help(stdout, "demo [--scale N [--seed S]]",
			     "Loads the demo school into the database (idempotent: running it again changes\n"
			     "nothing) and prints the demo accounts. With --scale N, generates instead a district\n"
			     "of N students with teachers, classes, courses, grades and notifications in\n"
			     "proportion, for benchmarks (20000 gives 2 million grades); into an empty database.");
		return 0;
	}
	int rc = load_config_args(&argc, argv, 1);
	if (rc)
		return rc;
	const char *scale = NULL, *seed = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
			scale = argv[++i];
		} else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			seed = argv[++i];
		} else {
			fprintf(stderr, "ent: demo: unknown argument \"%s\" (see ent demo --help)\n", argv[i]);
			config_free(&cfg);
			return 2;
		}
	}
	if (seed && !scale) {
		fprintf(stderr, "ent: demo: --seed goes with --scale\n");
		config_free(&cfg);
		return 2;
	}
	rc = open_and_migrate(NULL);
	if (rc) {
		cleanup();
		return rc;
	}
	if (scale) {
		rc = demo_scale(scale, seed);
		cleanup();
		return rc;
	}
	int loaded = 0;
	for (size_t i = 0; i < app.nservices; i++) {
		const struct service *s = app.services[i];
		if (!s->demo)
			continue;
		loaded++;
		int e = s->demo(app_db(), stdout);
		if (e != ENT_OK) {
			fprintf(stderr, "ent: demo data of %s could not be loaded: %s\n", s->name, ent_err_str(e));
			cleanup();
			return 1;
		}
	}
	if (!loaded)
		printf("No service in this build has demo data yet; the database is migrated and ready.\n");
	cleanup();
	return 0;
}

static int cmd_config(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		command_help(stdout, "config",
			     "Prints the effective configuration, one VARIABLE=value per line, secrets masked.");
		return 0;
	}
	int rc = load_config(&argc, argv);
	if (rc)
		return rc;
	config_print(&cfg, stdout);
	config_free(&cfg);
	return 0;
}

static const char *access_text(unsigned access, char *out, size_t len)
{
	if (access & ACCESS_PUBLIC) {
		snprintf(out, len, "public");
		return out;
	}
	snprintf(out, len, "%s%s%s%s", access & ROLE_ETUDIANT ? "etudiant," : "",
		 access & ROLE_ENSEIGNANT ? "enseignant," : "", access & ROLE_ADMIN ? "admin," : "",
		 access & ROLE_SERVICE ? "service," : "");
	size_t n = strlen(out);
	if (n)
		out[n - 1] = '\0';
	else
		snprintf(out, len, "nobody");
	return out;
}

static int cmd_routes(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		command_help(stdout, "routes",
			     "Prints the route table of the selected services: METHOD PATTERN SERVICE ACCESS DOC,\n"
			     "where DOC says whether the route is in /openapi.json.");
		return 0;
	}
	int rc = load_config(&argc, argv);
	if (rc)
		return rc;
	if (service_add_routes(app.services, app.nservices)) {
		cleanup();
		return 1;
	}
	for (int i = 0; i < router_count(); i++) {
		const char *svc;
		const struct route *r = router_get(i, &svc);
		char acc[64];
		printf("%s %s %s %s %s\n", r->method, r->pattern, svc, access_text(r->access, acc, sizeof(acc)),
		       r->flags & ROUTE_NO_DOC ? "undocumented" : "documented");
	}
	cleanup();
	return 0;
}

static int cmd_tables(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		command_help(stdout, "tables",
			     "Prints the tables each service owns: SERVICE TABLE, one per line, for every service\n"
			     "of this build (a service's SQL names only its own tables).");
		return 0;
	}
	for (const struct service *const *sv = service_registry; *sv; sv++)
		for (const char *const *t = (*sv)->tables; t && *t; t++)
			printf("%s %s\n", (*sv)->name, *t);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		printf("Usage: ent version\n\nPrints the version and the commit it was built from.\n");
		return 0;
	}
	(void)argc;
	printf("ent %s (commit %s)\n", ENT_VERSION, ENT_GIT);
	return 0;
}

/* A command contributed by a service: settings loaded, database open and migrated. */
static int cmd_service(const struct command *cmd, int argc, char **argv)
{
	char err[1024];
	if (config_load(&cfg, &argc, argv, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	app.cfg = &cfg;
	app.started = time(NULL);
	app.nservices = service_select("all", app.services, APP_MAX_SERVICES);
	log_set_level(LOG_WARN);
	int rc = 0;
	if (!wants_help(argc, argv))
		rc = open_and_migrate(NULL);
	if (!rc)
		rc = cmd->run(argc, argv);
	cleanup();
	return rc;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
		{"serve", cmd_serve},   {"migrate", cmd_migrate}, {"demo", cmd_demo},       {"config", cmd_config},
		{"routes", cmd_routes}, {"tables", cmd_tables},   {"version", cmd_version},
	};
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	for (const struct service *const *sv = service_registry; *sv; sv++)
		for (size_t i = 0; i < (*sv)->ncommands; i++)
			if (strcmp(argv[1], (*sv)->commands[i].name) == 0)
				return cmd_service(&(*sv)->commands[i], argc - 1, argv + 1);
	fprintf(stderr, "ent: unknown command \"%s\" (see ent --help)\n", argv[1]);
	return 2;
}
