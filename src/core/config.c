/*
 * config.c - settings from defaults, environment, *_FILE secrets and flags, checked up front.
 *
 * The table config_settings is the single list of settings: loading, --help and `ent config`
 * all read it, so a setting cannot be documented in one place and forgotten in another.
 */
#include "config.h"

#include "forwarded.h"
#include "service.h"
#include "util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(field) offsetof(struct config, field)

const struct config_setting config_settings[] = {
	{"ENT_DATA", "--data", S(data), "./var", 0, "data directory of the embedded defaults"},
	{"ENT_LISTEN", "--listen", S(listen), "0.0.0.0:8080", 0, "address and port to listen on"},
	{"ENT_PUBLIC_URL", "--public-url", S(public_url), "http://localhost:8080", 0,
	 "external URL (issuer, redirects, links)"},
	{"ENT_SERVICES", "--services", S(services), "all", 0, "comma list of services this process runs"},
	{"ENT_DB", "--db", S(db), NULL, 1,
	 "sqlite:PATH or postgresql://user:pass@host:port/db (default sqlite:DATA/ent.db)"},
	{"ENT_BLOB", "--blob", S(blob), NULL, 1,
	 "file:PATH or s3://bucket?endpoint=...&region=... (default file:DATA/blobs)"},
	{"ENT_BUS", "--bus", S(bus), "local", 1, "local or amqp://user:pass@host:5672/vhost"},
	{"ENT_OIDC_ISSUER", "--issuer", S(issuer), "", 0, "external OIDC issuer URL; empty: the built-in provider"},
	{"ENT_OIDC_AUDIENCE", "--audience", S(audience), "ent", 0,
	 "audience a bearer token must carry (aud, or azp when aud is absent)"},
	{"ENT_OIDC_ROLES_CLAIM", "--roles-claim", S(roles_claim), "realm_access.roles", 0,
	 "dotted path of the roles array in tokens"},
	{"ENT_LLM", "--llm", S(llm), "", 0, "ollama://host:11434?model=...; empty: extractive answers"},
	{"ENT_VECTORS", "--vectors", S(vectors), "builtin", 1, "builtin or qdrant://host:6333[?api_key=KEY]"},
	{"ENT_VECTORS_API_KEY", "--vectors-api-key", S(vectors_api_key), "", 2,
	 "Qdrant's API key, sent as its api-key header (or api_key= in ENT_VECTORS); empty: none"},
	{"ENT_EMBED_MODEL", "--embed-model", S(embed_model), "", 0,
	 "embedding model for ENT_VECTORS: NAME (served by ENT_LLM's Ollama) or ollama://host:port?model=NAME; "
	 "empty: ENT_LLM's model"},
	{"ENT_CHATBOT_RATE", "--chatbot-rate", S(chatbot_rate), "20", 0,
	 "questions each user may ask the assistant in 10 minutes"},
	{"ENT_WEB", "--web", S(web), ENT_WEB_DEFAULT, 0, "directory of the built portal and documentation assets"},
	{"ENT_LOG_LEVEL", "--log-level", S(log_level), "info", 0, "debug, info, warn or error"},
	{"ENT_ACCESS_LOG", "--access-log", S(access_log), "on", 0, "one JSON line per request: on or off"},
	{"ENT_THREADS", "--threads", S(threads), "0", 0,
	 "HTTP worker threads; 0: one per core on SQLite, four per core on PostgreSQL"},
	{"ENT_MAX_BODY", "--max-body", S(max_body), "1048576", 0, "largest JSON body accepted, in bytes"},
	{"ENT_MAX_UPLOAD", "--max-upload", S(max_upload), "104857600", 0, "largest course file, in bytes"},
	{"ENT_QUOTA", "--quota", S(quota), "2147483648", 0, "bytes of files each teacher or administrator may store"},
	{"ENT_STUDENT_QUOTA", "--student-quota", S(student_quota), "104857600", 0,
	 "bytes of files each student may store (message attachments)"},
	{"ENT_SMTP", "--smtp", S(smtp), "", 1,
	 "smtp://[user:pass@]host:port or smtps://...: where forwarded messages are sent by e-mail; empty: no e-mail"},
	{"ENT_SMTP_FROM", "--smtp-from", S(smtp_from), "ent@localhost", 0,
	 "sender address of the e-mails the messagerie forwards"},
	{"ENT_REFUSED_TYPES", "--refused-types", S(refused_types), "executables", 0,
	 "comma list of file types refused at upload, detected from the bytes: MIME types and/or executables "
	 "(programs, installers, scripts, APKs); none: accept every type"},
	{"ENT_IDLE_TIMEOUT", "--idle-timeout", S(idle_timeout), "60", 0, "seconds before an idle connection is closed"},
	{"ENT_HEADER_TIMEOUT", "--header-timeout", S(header_timeout), "15", 0,
	 "seconds a request has to send its request line and headers (slow clients are cut)"},
	{"ENT_BODY_MIN_RATE", "--body-min-rate", S(body_min_rate), "1024", 0,
	 "bytes per second a request body must keep after the head deadline"},
	{"ENT_MAX_CONNECTIONS", "--max-connections", S(max_connections), "4096", 0, "open connections at most"},
	{"ENT_PER_IP_CONNECTIONS", "--per-ip-connections", S(per_ip_connections), "256", 0,
	 "open connections per client IP at most"},
	{"ENT_TRUSTED_PROXIES", "--trusted-proxies", S(trusted_proxies), "", 0,
	 "comma list of proxy addresses or CIDR ranges whose X-Forwarded-For / Forwarded is believed"},
	{"ENT_MFA_TEACHERS", "--mfa-teachers", S(mfa_teachers), "optional", 0,
	 "teachers' second factor (TOTP) at login: optional or required (administrators always need one)"},
	{"ENT_CACHE_MB", "--cache-mb", S(cache_mb), "32", 0,
	 "megabytes of rendered answers kept by each process (report cards, course lists); 0: none (ETags stay)"},
	{"ENT_TEACHER_REPORT_VIEW", "--teacher-report-view", S(teacher_report_view), "own", 0,
	 "what a teacher sees of a student's report card: own (the subjects they teach) or all (every subject)"},
};
const size_t config_nsettings = sizeof(config_settings) / sizeof(config_settings[0]);

static char **field(struct config *cfg, const struct config_setting *s) { return (char **)((char *)cfg + s->offset); }
static char *const *cfield(const struct config *cfg, const struct config_setting *s)
{
	return (char *const *)((const char *)cfg + s->offset);
}

static void set(struct config *cfg, const struct config_setting *s, const char *v)
{
	char **f = field(cfg, s);
	free(*f);
	*f = strdup(v);
	if (!*f)
		abort();
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < config_nsettings; i++) {
		char **f = field(cfg, &config_settings[i]);
		free(*f);
		*f = NULL;
	}
}

static int bad(char *err, size_t errlen, const struct config_setting *s, const char *value, const char *why)
{
	char masked[512];
	config_mask_url(value, masked, sizeof(masked));
	snprintf(err, errlen, "ent: %s (%s): \"%s\": %s", s->env, s->flag, masked, why);
	return -1;
}

static const struct config_setting *setting(const char *env)
{
	for (size_t i = 0; i < config_nsettings; i++)
		if (strcmp(config_settings[i].env, env) == 0)
			return &config_settings[i];
	return NULL;
}

/* scheme://host[:port][/...]: a host is present and the port, if any, is numeric. */
/* 1 when url's query has a non-empty model=. */
static int model_of(const char *url)
{
	const char *q = strchr(url, '?');
	for (const char *p = q; p && *p; p = strchr(p + 1, '&'))
		if (strncmp(p + 1, "model=", 6) == 0 && p[7] && p[7] != '&')
			return 1;
	return 0;
}

static int url_ok(const char *url, const char *const *schemes)
{
	size_t n = 0;
	for (const char *const *s = schemes; *s; s++) {
		size_t l = strlen(*s);
		if (strncmp(url, *s, l) == 0) {
			n = l;
			break;
		}
	}
	if (!n)
		return 0;
	const char *host = url + n;
	const char *at = strchr(host, '@');
	const char *end = host + strcspn(host, "/?#");
	if (at && at < end)
		host = at + 1;
	if (host >= end)
		return 0;
	const char *colon = NULL;
	if (*host == '[') {
		const char *rb = memchr(host, ']', (size_t)(end - host));
		if (!rb)
			return 0;
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(host, ':', (size_t)(end - host));
		if (colon == host)
			return 0;
	}
	if (colon) {
		if (colon + 1 == end || end - colon > 6)
			return 0;
		for (const char *p = colon + 1; p < end; p++)
			if (*p < '0' || *p > '9')
				return 0;
	}
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ')
			return 0;
	return 1;
}

static int uint_ok(const char *v, int64_t min, int64_t max, unsigned long long *out)
{
	int64_t n;
	if (util_parse_int64(v, min, max, &n))
		return 0;
	*out = (unsigned long long)n;
	return 1;
}

static int check(struct config *cfg, char *err, size_t errlen)
{
	static const char *const http[] = {"http://", "https://", NULL};
	static const char *const pg[] = {"postgresql://", "postgres://", NULL};
	static const char *const amqp[] = {"amqp://", "amqps://", NULL};
	static const char *const s3[] = {"s3://", NULL};
	static const char *const ollama[] = {"ollama://", NULL};
	static const char *const qdrant[] = {"qdrant://", NULL};
	const struct config_setting *s;
	unsigned long long n;

	if (!*cfg->data)
		return bad(err, errlen, setting("ENT_DATA"), cfg->data, "must not be empty");
	s = setting("ENT_LISTEN");
	const char *colon = strrchr(cfg->listen, ':');
	if (!colon || !uint_ok(colon + 1, 0, 65535, &n))
		return bad(err, errlen, s, cfg->listen, "expected HOST:PORT or :PORT with a port from 0 to 65535");
	s = setting("ENT_PUBLIC_URL");
	if (!url_ok(cfg->public_url, http))
		return bad(err, errlen, s, cfg->public_url, "expected an http:// or https:// URL");
	size_t len = strlen(cfg->public_url);
	while (len > 0 && cfg->public_url[len - 1] == '/')
		cfg->public_url[--len] = '\0';

	s = setting("ENT_SERVICES");
	if (strcmp(cfg->services, "all") != 0) {
		int empty = 1;
		for (const char *p = cfg->services; *p;) {
			size_t l = strcspn(p, ",");
			char name[64];
			if (l == 0 || l >= sizeof(name))
				return bad(err, errlen, s, cfg->services,
					   "expected \"all\" or a comma list of service names");
			memcpy(name, p, l);
			name[l] = '\0';
			empty = 0;
			if (!service_find(name)) {
				char why[300];
				snprintf(why, sizeof(why), "unknown service \"%s\"", name);
				return bad(err, errlen, s, cfg->services, why);
			}
			p += l;
			if (*p == ',')
				p++;
		}
		if (empty)
			return bad(err, errlen, s, cfg->services, "expected \"all\" or a comma list of service names");
	}

	s = setting("ENT_DB");
	if (strncmp(cfg->db, "sqlite:", 7) == 0) {
		if (!cfg->db[7])
			return bad(err, errlen, s, cfg->db, "sqlite: needs a file path");
	} else if (!url_ok(cfg->db, pg)) {
		return bad(err, errlen, s, cfg->db, "expected sqlite:PATH or postgresql://user:pass@host:port/db");
	}
	s = setting("ENT_BLOB");
	if (strncmp(cfg->blob, "file:", 5) == 0) {
		if (!cfg->blob[5])
			return bad(err, errlen, s, cfg->blob, "file: needs a directory");
	} else if (strncmp(cfg->blob, "s3://", 5) != 0 || !url_ok(cfg->blob, s3)) {
		return bad(err, errlen, s, cfg->blob, "expected file:PATH or s3://bucket?endpoint=...&region=...");
	}
	s = setting("ENT_BUS");
	if (strcmp(cfg->bus, "local") != 0 && !url_ok(cfg->bus, amqp))
		return bad(err, errlen, s, cfg->bus, "expected local or amqp://user:pass@host:5672/vhost");
	s = setting("ENT_OIDC_ISSUER");
	if (*cfg->issuer && !url_ok(cfg->issuer, http))
		return bad(err, errlen, s, cfg->issuer, "expected an http:// or https:// issuer URL, or nothing");
	s = setting("ENT_LLM");
	int llm_on = *cfg->llm && strcmp(cfg->llm, "none") != 0;
	if (llm_on && (!url_ok(cfg->llm, ollama) || !model_of(cfg->llm)))
		return bad(err, errlen, s, cfg->llm, "expected ollama://host:port?model=NAME, or nothing");
	s = setting("ENT_EMBED_MODEL");
	int embed_url = strncmp(cfg->embed_model, "ollama://", 9) == 0;
	if (embed_url && (!url_ok(cfg->embed_model, ollama) || !model_of(cfg->embed_model)))
		return bad(err, errlen, s, cfg->embed_model, "expected NAME or ollama://host:port?model=NAME");
	if (!embed_url && strpbrk(cfg->embed_model, " /?#\"\\"))
		return bad(err, errlen, s, cfg->embed_model, "expected NAME or ollama://host:port?model=NAME");
	s = setting("ENT_VECTORS");
	if (strcmp(cfg->vectors, "builtin") != 0 && !url_ok(cfg->vectors, qdrant))
		return bad(err, errlen, s, cfg->vectors, "expected builtin or qdrant://host:port[?api_key=KEY]");
	/* A key read from a file (ENT_VECTORS_API_KEY_FILE) loses its final newline. */
	for (size_t kl = strlen(cfg->vectors_api_key); kl > 0 && strchr("\r\n \t", cfg->vectors_api_key[kl - 1]); kl--)
		cfg->vectors_api_key[kl - 1] = '\0';
	if (strpbrk(cfg->vectors_api_key, "\r\n"))
		return bad(err, errlen, setting("ENT_VECTORS_API_KEY"), "***", "must be one line");
	if (strcmp(cfg->vectors, "builtin") != 0 && !embed_url && !llm_on)
		return bad(
			err, errlen, s, cfg->vectors,
			"vectors need an Ollama for embeddings: set ENT_LLM or ENT_EMBED_MODEL=ollama://host:port?model=NAME");
	s = setting("ENT_LOG_LEVEL");
	if (strcmp(cfg->log_level, "debug") && strcmp(cfg->log_level, "info") && strcmp(cfg->log_level, "warn") &&
	    strcmp(cfg->log_level, "error"))
		return bad(err, errlen, s, cfg->log_level, "expected debug, info, warn or error");
	s = setting("ENT_TRUSTED_PROXIES");
	char why[160];
	if (forwarded_check(cfg->trusted_proxies, why, sizeof(why)))
		return bad(err, errlen, s, cfg->trusted_proxies, why);
	s = setting("ENT_MFA_TEACHERS");
	if (strcmp(cfg->mfa_teachers, "optional") && strcmp(cfg->mfa_teachers, "required"))
		return bad(err, errlen, s, cfg->mfa_teachers, "expected optional or required");
	s = setting("ENT_TEACHER_REPORT_VIEW");
	if (strcmp(cfg->teacher_report_view, "own") && strcmp(cfg->teacher_report_view, "all"))
		return bad(err, errlen, s, cfg->teacher_report_view, "expected own or all");
	s = setting("ENT_ACCESS_LOG");
	if (strcmp(cfg->access_log, "on") && strcmp(cfg->access_log, "off"))
		return bad(err, errlen, s, cfg->access_log, "expected on or off");

	if (!uint_ok(cfg->threads, 0, 256, &n))
		return bad(err, errlen, setting("ENT_THREADS"), cfg->threads, "expected a number from 0 to 256");
	cfg->n_threads = (unsigned)n;
	if (!uint_ok(cfg->max_body, 1024, 1LL << 30, &n))
		return bad(err, errlen, setting("ENT_MAX_BODY"), cfg->max_body,
			   "expected bytes from 1024 to 1073741824");
	cfg->n_max_body = (size_t)n;
	if (!uint_ok(cfg->max_upload, 1, 1LL << 40, &n))
		return bad(err, errlen, setting("ENT_MAX_UPLOAD"), cfg->max_upload,
			   "expected bytes from 1 to 1099511627776");
	cfg->n_max_upload = n;
	if (!uint_ok(cfg->quota, 0, 1LL << 50, &n))
		return bad(err, errlen, setting("ENT_QUOTA"), cfg->quota, "expected a number of bytes");
	cfg->n_quota = n;
	if (!uint_ok(cfg->student_quota, 0, 1LL << 50, &n))
		return bad(err, errlen, setting("ENT_STUDENT_QUOTA"), cfg->student_quota, "expected a number of bytes");
	cfg->n_student_quota = n;
	s = setting("ENT_SMTP");
	if (*cfg->smtp && strncmp(cfg->smtp, "smtp://", 7) && strncmp(cfg->smtp, "smtps://", 8))
		return bad(err, errlen, s, cfg->smtp, "expected smtp://host:port or smtps://host:port, or nothing");
	s = setting("ENT_SMTP_FROM");
	if (!util_valid_email_address(cfg->smtp_from))
		return bad(err, errlen, s, cfg->smtp_from, "expected an e-mail address such as ent@school.example");
	for (const char *p = cfg->refused_types; *p;) {
		size_t k = strcspn(p, ",");
		int ok = k > 0 && (memchr(p, '/', k) || (k == 11 && strncmp(p, "executables", 11) == 0) ||
				   (k == 4 && strncmp(p, "none", 4) == 0));
		for (size_t i = 0; ok && i < k; i++)
			ok = p[i] > ' ' && p[i] < 0x7f;
		if (!ok)
			return bad(err, errlen, setting("ENT_REFUSED_TYPES"), cfg->refused_types,
				   "expected a comma list of MIME types (type/subtype), executables, or none");
		p += k + (p[k] == ',');
	}
	if (!uint_ok(cfg->chatbot_rate, 1, 100000, &n))
		return bad(err, errlen, setting("ENT_CHATBOT_RATE"), cfg->chatbot_rate,
			   "expected a number from 1 to 100000");
	cfg->n_chatbot_rate = (unsigned)n;
	if (!uint_ok(cfg->idle_timeout, 1, 3600, &n))
		return bad(err, errlen, setting("ENT_IDLE_TIMEOUT"), cfg->idle_timeout,
			   "expected seconds from 1 to 3600");
	cfg->n_idle_timeout = (unsigned)n;
	if (!uint_ok(cfg->header_timeout, 1, 3600, &n))
		return bad(err, errlen, setting("ENT_HEADER_TIMEOUT"), cfg->header_timeout,
			   "expected seconds from 1 to 3600");
	cfg->n_header_timeout = (unsigned)n;
	if (!uint_ok(cfg->body_min_rate, 1, 1LL << 30, &n))
		return bad(err, errlen, setting("ENT_BODY_MIN_RATE"), cfg->body_min_rate,
			   "expected bytes per second from 1");
	cfg->n_body_min_rate = (unsigned)n;
	if (!uint_ok(cfg->max_connections, 1, 1000000, &n))
		return bad(err, errlen, setting("ENT_MAX_CONNECTIONS"), cfg->max_connections,
			   "expected a number from 1 to 1000000");
	cfg->n_max_connections = (unsigned)n;
	if (!uint_ok(cfg->per_ip_connections, 1, 1000000, &n))
		return bad(err, errlen, setting("ENT_PER_IP_CONNECTIONS"), cfg->per_ip_connections,
			   "expected a number from 1 to 1000000");
	cfg->n_per_ip = (unsigned)n;
	if (!uint_ok(cfg->cache_mb, 0, 65536, &n))
		return bad(err, errlen, setting("ENT_CACHE_MB"), cfg->cache_mb, "expected a number from 0 to 65536");
	cfg->n_cache_bytes = (size_t)n << 20;
	return 0;
}

int config_load(struct config *cfg, int *argc, char **argv, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < config_nsettings; i++) {
		const struct config_setting *s = &config_settings[i];
		const char *v = getenv(s->env);
		char fileenv[64];
		snprintf(fileenv, sizeof(fileenv), "%s_FILE", s->env);
		const char *path = getenv(fileenv);
		if (path && *path) {
			char *content = util_read_file(path, 64 * 1024);
			if (!content) {
				snprintf(err, errlen, "ent: %s: cannot read \"%s\"", fileenv, path);
				config_free(cfg);
				return -1;
			}
			set(cfg, s, content);
			free(content);
		} else if (v) {
			set(cfg, s, v);
		} else if (s->def) {
			set(cfg, s, s->def);
		}
	}
	/* Flags override; everything else is kept for the subcommand. */
	int out = 0;
	for (int i = 0; i < *argc; i++) {
		const char *a = argv[i];
		const struct config_setting *s = NULL;
		const char *value = NULL;
		if (strncmp(a, "--", 2) == 0) {
			const char *eq = strchr(a, '=');
			size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
			for (size_t k = 0; k < config_nsettings; k++) {
				if (strlen(config_settings[k].flag) == nlen &&
				    strncmp(config_settings[k].flag, a, nlen) == 0) {
					s = &config_settings[k];
					break;
				}
			}
			if (s) {
				if (eq) {
					value = eq + 1;
				} else if (i + 1 < *argc) {
					value = argv[++i];
				} else {
					snprintf(err, errlen, "ent: %s (%s) needs a value", s->env, s->flag);
					config_free(cfg);
					return -1;
				}
				set(cfg, s, value);
				continue;
			}
		}
		argv[out++] = argv[i];
	}
	*argc = out;
	/* Defaults computed from the data directory. */
	if (!cfg->db) {
		size_t n = strlen(cfg->data) + 16;
		cfg->db = malloc(n);
		snprintf(cfg->db, n, "sqlite:%s/ent.db", cfg->data);
	}
	if (!cfg->blob) {
		size_t n = strlen(cfg->data) + 16;
		cfg->blob = malloc(n);
		snprintf(cfg->blob, n, "file:%s/blobs", cfg->data);
	}
	if (check(cfg, err, errlen)) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

void config_mask_url(const char *url, char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	const char *scheme = strstr(url, "://");
	size_t o = 0;
	const char *p = url;
	/* user:password@ -> user:***@ */
	if (scheme) {
		const char *auth = scheme + 3;
		const char *end = auth + strcspn(auth, "/?#");
		const char *at = memchr(auth, '@', (size_t)(end - auth));
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon) {
			size_t keep = (size_t)(colon - url) + 1;
			if (keep >= outlen)
				keep = outlen - 1;
			memcpy(out, url, keep);
			o = keep;
			const char *mask = "***";
			for (; *mask && o < outlen - 1; mask++)
				out[o++] = *mask;
			p = at;
		}
	}
	/* secret query values: ...secret...=VALUE, ...password...=VALUE, ...key...=VALUE */
	while (*p && o < outlen - 1) {
		out[o++] = *p;
		if (*p == '?' || *p == '&') {
			const char *name = p + 1;
			const char *eq = strchr(name, '=');
			const char *amp = strchr(name, '&');
			if (eq && (!amp || eq < amp)) {
				size_t nlen = (size_t)(eq - name);
				char lname[64];
				size_t l = nlen < sizeof(lname) - 1 ? nlen : sizeof(lname) - 1;
				for (size_t i = 0; i < l; i++)
					lname[i] = (char)(name[i] | 0x20);
				lname[l] = '\0';
				if (strstr(lname, "secret") || strstr(lname, "password") || strstr(lname, "key") ||
				    strstr(lname, "token")) {
					for (const char *q = name; q <= eq && o < outlen - 1; q++)
						out[o++] = *q;
					const char *mask = "***";
					for (; *mask && o < outlen - 1; mask++)
						out[o++] = *mask;
					p = amp ? amp : eq + strlen(eq);
					continue;
				}
			}
		}
		p++;
	}
	out[o] = '\0';
}

void config_print(const struct config *cfg, FILE *out)
{
	for (size_t i = 0; i < config_nsettings; i++) {
		const struct config_setting *s = &config_settings[i];
		const char *v = *cfield(cfg, s);
		char masked[1024];
		if (s->secret == 2 && v && *v)
			snprintf(masked, sizeof(masked), "***");
		else
			config_mask_url(v ? v : "", masked, sizeof(masked));
		fprintf(out, "%s=%s\n", s->env, masked);
	}
}

void config_usage(FILE *out)
{
	fprintf(out,
		"Settings (environment variable, flag, default). Any variable can also be read from a file named by\n"
		"VARIABLE_FILE (for secrets):\n");
	for (size_t i = 0; i < config_nsettings; i++) {
		const struct config_setting *s = &config_settings[i];
		fprintf(out, "  %-24s %-22s %s", s->env, s->flag, s->help);
		if (s->def && *s->def)
			fprintf(out, " [%s]", s->def);
		fputc('\n', out);
	}
}

int config_has_service(const struct config *cfg, const char *name)
{
	if (strcmp(cfg->services, "all") == 0)
		return 1;
	size_t n = strlen(name);
	for (const char *p = cfg->services; *p;) {
		size_t l = strcspn(p, ",");
		if (l == n && strncmp(p, name, n) == 0)
			return 1;
		p += l;
		if (*p == ',')
			p++;
	}
	return 0;
}
