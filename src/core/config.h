/*
 * config.h - the effective configuration of one `ent` process.
 *
 * Each setting comes, by increasing precedence, from its default, its environment variable
 * (ENT_*), the contents of the file named by ENT_*_FILE (for secrets: Docker secrets), and its
 * command-line flag. config_load() checks every value and stops at the first bad one with a
 * one-line message naming the variable and the flag.
 */
#ifndef ENT_CONFIG_H
#define ENT_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config {
	char *data;                /* ENT_DATA --data */
	char *listen;              /* ENT_LISTEN --listen */
	char *public_url;          /* ENT_PUBLIC_URL --public-url */
	char *services;            /* ENT_SERVICES --services */
	char *db;                  /* ENT_DB --db */
	char *blob;                /* ENT_BLOB --blob */
	char *bus;                 /* ENT_BUS --bus */
	char *issuer;              /* ENT_OIDC_ISSUER --issuer */
	char *audience;            /* ENT_OIDC_AUDIENCE --audience */
	char *roles_claim;         /* ENT_OIDC_ROLES_CLAIM --roles-claim */
	char *llm;                 /* ENT_LLM --llm */
	char *vectors;             /* ENT_VECTORS --vectors */
	char *embed_model;         /* ENT_EMBED_MODEL --embed-model: NAME or ollama://host:port?model=NAME */
	char *vectors_api_key;     /* ENT_VECTORS_API_KEY --vectors-api-key: Qdrant's api-key */
	char *chatbot_rate;        /* ENT_CHATBOT_RATE --chatbot-rate: questions per user per 10 minutes */
	char *web;                 /* ENT_WEB --web: the built portal and /docs assets */
	char *log_level;           /* ENT_LOG_LEVEL --log-level */
	char *access_log;          /* ENT_ACCESS_LOG --access-log: on|off */
	char *threads;             /* ENT_THREADS --threads */
	char *max_body;            /* ENT_MAX_BODY --max-body */
	char *max_upload;          /* ENT_MAX_UPLOAD --max-upload */
	char *refused_types;       /* ENT_REFUSED_TYPES --refused-types */
	char *quota;               /* ENT_QUOTA --quota */
	char *student_quota;       /* ENT_STUDENT_QUOTA --student-quota */
	char *smtp;                /* ENT_SMTP --smtp: smtp:// or smtps:// URL, empty for no e-mail */
	char *smtp_from;           /* ENT_SMTP_FROM --smtp-from */
	char *idle_timeout;        /* ENT_IDLE_TIMEOUT --idle-timeout */
	char *header_timeout;      /* ENT_HEADER_TIMEOUT --header-timeout */
	char *body_min_rate;       /* ENT_BODY_MIN_RATE --body-min-rate */
	char *max_connections;     /* ENT_MAX_CONNECTIONS --max-connections */
	char *per_ip_connections;  /* ENT_PER_IP_CONNECTIONS --per-ip-connections */
	char *trusted_proxies;     /* ENT_TRUSTED_PROXIES --trusted-proxies */
	char *mfa_teachers;        /* ENT_MFA_TEACHERS --mfa-teachers: optional|required */
	char *teacher_report_view; /* ENT_TEACHER_REPORT_VIEW --teacher-report-view: own|all */
	char *cache_mb;            /* ENT_CACHE_MB --cache-mb */
	/* Parsed forms. */
	unsigned n_header_timeout, n_body_min_rate;
	unsigned n_threads, n_idle_timeout, n_max_connections, n_per_ip, n_chatbot_rate;
	size_t n_max_body, n_cache_bytes;
	uint64_t n_max_upload, n_quota, n_student_quota;
};

/* One row of the settings table, for --help and `ent config`. */
struct config_setting {
	const char *env;
	const char *flag;
	size_t offset;
	const char *def; /* NULL: computed (see config.c) */
	int secret;      /* 1: may hold a password (masked in URLs when printed); 2: a secret whole (never printed) */
	const char *help;
};

extern const struct config_setting config_settings[];
extern const size_t config_nsettings;

/*
 * Fills cfg from defaults, environment and argv (flags "--name VALUE" or "--name=VALUE").
 * Arguments that are not settings are left in argv, compacted, and their count returned in
 * *argc. Returns 0, or -1 after writing one line "ent: ..." into err.
 */
int config_load(struct config *cfg, int *argc, char **argv, char *err, size_t errlen);
void config_free(struct config *cfg);

/* Prints "VARIABLE=value" lines with passwords and keys masked. */
void config_print(const struct config *cfg, FILE *out);
/* Prints the settings table (for --help). */
void config_usage(FILE *out);

/* Copies url into out with any password (user:PASS@) and secret query values masked. */
void config_mask_url(const char *url, char *out, size_t outlen);

/* 1 when name appears in the comma list (or the list is "all"). */
int config_has_service(const struct config *cfg, const char *name);

#endif
