/*
 * cli.c - the users service's commands:
 *   ent user add --email E --name "Given Family" --role R [--password P] [--class NAME]
 *   ent import users FILE.csv [--dry-run] [--codes OUT.csv] [--school-year YYYY-YYYY]
 *
 * main.c has loaded the settings and migrated the database before run() is called (except for
 * --help). A password never appears in the process list unless the operator puts it there with
 * --password: the usual way is standard input (`echo "$PW" | ent user add ...`). Activation
 * codes are secrets too: written to a file with mode 0600, or printed once.
 */
#include "internal.h"

#include "core/app.h"
#include "core/err.h"
#include "core/json.h"
#include "core/password.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The value of --name VALUE or --name=VALUE at argv[*i] (advancing *i), NULL if argv[*i] is not --name. */
static const char *flag(int argc, char **argv, int *i, const char *name, int *missing)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

/* Reads all of standard input (at most max bytes) into a malloc'd string, or NULL. */
static char *read_all(FILE *f, size_t max, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *data = malloc(cap + 1);
	if (!data)
		abort();
	for (;;) {
		if (n == cap) {
			if (cap >= max) {
				free(data);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			char *bigger = realloc(data, cap + 1);
			if (!bigger)
				abort();
			data = bigger;
		}
		size_t got = fread(data + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				free(data);
				return NULL;
			}
			break;
		}
	}
	data[n] = '\0';
	*len = n;
	return data;
}

/* ---- ent user add ---- */

static const char user_usage[] =
	"Usage: ent user add --email EMAIL --name \"GIVEN FAMILY\" --role ROLE [--password PASSWORD] [--class NAME]\n"
	"\n"
	"Creates a local account. ROLE is etudiant, enseignant or admin. --name is the given name, a\n"
	"space, and the family name. The password comes from --password or, when standard input is\n"
	"not a terminal, from its first line (`echo \"$PW\" | ent user add ...`). Without a password,\n"
	"a one-time activation code is printed: the user chooses a password at first login with it.\n"
	"--class puts the user in that class of the current school year (created if missing).\n"
	"\n"
	"Exit status: 0 created, 1 the account exists or the database failed, 2 bad arguments.\n";

static int user_add(int argc, char **argv)
{
	const char *email = NULL, *name = NULL, *role = NULL, *password = NULL, *class_name = NULL;
	for (int i = 2; i < argc; i++) {
		int missing = 0;
		const char *v;
		if ((v = flag(argc, argv, &i, "--email", &missing)))
			email = v;
		else if ((v = flag(argc, argv, &i, "--name", &missing)))
			name = v;
		else if ((v = flag(argc, argv, &i, "--role", &missing)))
			role = v;
		else if ((v = flag(argc, argv, &i, "--password", &missing)))
			password = v;
		else if ((v = flag(argc, argv, &i, "--class", &missing)))
			class_name = v;
		else {
			fprintf(stderr,
				missing ? "ent user add: %s needs a value\n"
					: "ent user add: unknown argument \"%s\"\n",
				argv[i]);
			return 2;
		}
	}
	if (!email || !name || !role) {
		fprintf(stderr, "ent user add: --email, --name and --role are required (see ent user --help)\n");
		return 2;
	}
	if (!users_valid_email(email)) {
		fprintf(stderr, "ent user add: \"%s\" is not an email address\n", email);
		return 2;
	}
	unsigned bit = users_role_bit(role);
	if (!bit) {
		fprintf(stderr, "ent user add: --role must be etudiant, enseignant or admin\n");
		return 2;
	}
	const char *space = strchr(name, ' ');
	if (!space || space == name || !space[1] || !util_valid_text(name)) {
		fprintf(stderr, "ent user add: --name must be the given name, a space and the family name\n");
		return 2;
	}
	char given[512];
	snprintf(given, sizeof(given), "%.*s", (int)(space - name), name);
	const char *family = space + 1;
	if (json_utf8_len(given) > USERS_NAME_MAX || json_utf8_len(family) > USERS_NAME_MAX) {
		fprintf(stderr, "ent user add: names are at most %d characters\n", USERS_NAME_MAX);
		return 2;
	}
	char *stdin_pw = NULL;
	if (!password && !isatty(STDIN_FILENO)) {
		size_t len;
		stdin_pw = read_all(stdin, 4096, &len);
		if (stdin_pw) {
			stdin_pw[strcspn(stdin_pw, "\r\n")] = '\0';
			if (*stdin_pw)
				password = stdin_pw;
		}
	}
	int rc = 2;
	if (password) {
		const char *why = password_policy_error(password);
		if (why) {
			fprintf(stderr, "ent user add: password refused: %s\n", why);
			goto out;
		}
	}
	db_conn *c = app_db();
	arena *a = arena_new(0);
	struct user u;
	int e = users_create(c, a, email, given, family, bit, password, &u);
	if (e == ENT_ECONFLICT) {
		fprintf(stderr, "ent user add: an account with email %s exists already\n", email);
		rc = 1;
	} else if (e) {
		fprintf(stderr, "ent user add: the account could not be created: %s\n", ent_err_str(e));
		rc = e == ENT_EINVAL ? 2 : 1;
	} else {
		rc = 0;
		printf("created %s %s (%s, %s)\n", users_role_name(u.roles), u.email, u.name, u.id);
		if (class_name) {
			char year[10], cid[37];
			users_school_year(users_clock(), year);
			e = db_begin(c);
			if (!e)
				e = users_class_by_name(c, class_name, year, 1, cid, NULL);
			if (!e)
				e = users_set_class(c, u.id, users_role_name(u.roles), cid);
			e = e ? (db_rollback(c), e) : db_commit(c);
			if (e) {
				fprintf(stderr, "ent user add: the user could not be put in class %s: %s\n", class_name,
					ent_err_str(e));
				rc = 1;
			} else {
				printf("class: %s (%s)\n", class_name, year);
			}
		}
		if (!password) {
			char code[16], expires[21];
			e = users_reset_code(c, u.id, code, expires);
			if (e) {
				fprintf(stderr, "ent user add: no activation code: %s\n", ent_err_str(e));
				rc = 1;
			} else {
				printf("activation code: %s (valid until %s; shown once)\n", code, expires);
			}
		}
	}
	arena_free(a);
out:
	if (stdin_pw) {
		memset(stdin_pw, 0, strlen(stdin_pw));
		free(stdin_pw);
	}
	return rc;
}

int users_cmd_user(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(user_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(user_usage, stdout);
			return 0;
		}
	if (strcmp(argv[1], "add") == 0)
		return user_add(argc, argv);
	fprintf(stderr, "ent user: unknown subcommand \"%s\" (see ent user --help)\n", argv[1]);
	return 2;
}

/* ---- ent import users ---- */

static const char import_usage[] =
	"Usage: ent import users FILE.csv [--dry-run] [--codes OUT.csv] [--school-year YYYY-YYYY]\n"
	"\n"
	"Imports users and classes from a CSV file as a spreadsheet saves it: separated by commas,\n"
	"semicolons (French Excel) or tabs, in UTF-8 (with or without BOM) or Windows-1252; FILE may be\n"
	"- for standard input. Messages about the file are in French, with its line and column.\n"
	"The first line names the columns: email,given_name,family_name,role,class,external_id\n"
	"(class and external_id are optional). role is etudiant, enseignant or admin; class is the\n"
	"name of a class of the school year (default: the current one), created when missing.\n"
	"A user is found by external_id, else by email: existing users are updated, new ones get a\n"
	"one-time activation code to choose their password at first login. Everything is applied in\n"
	"one transaction. Lines that cannot be imported are reported with the reason.\n"
	"\n"
	"  --dry-run          report what would change, change nothing\n"
	"  --codes OUT.csv    write the new accounts' activation codes there (mode 0600) for\n"
	"                     distribution; without it they are printed (they are shown only once)\n"
	"  --school-year Y    the school year of the classes, e.g. 2026-2027\n"
	"\n"
	"Exit status: 0 imported, 3 imported but some lines were rejected, 1 failed, 2 bad arguments.\n";

/* Writes s as one CSV field. */
static void csv_field(FILE *f, const char *s)
{
	if (!s)
		s = "";
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void write_codes(FILE *f, const json_t *codes)
{
	fputs("line,email,name,class,code\r\n", f);
	size_t i;
	json_t *v;
	json_array_foreach (codes, i, v) {
		fprintf(f, "%lld,", (long long)json_integer_value(json_object_get(v, "line")));
		csv_field(f, json_string_value(json_object_get(v, "email")));
		fputc(',', f);
		csv_field(f, json_string_value(json_object_get(v, "name")));
		fputc(',', f);
		csv_field(f, json_string_value(json_object_get(v, "class")));
		fputc(',', f);
		csv_field(f, json_string_value(json_object_get(v, "code")));
		fputs("\r\n", f);
	}
}

int users_cmd_import(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(import_usage, stdout);
			return 0;
		}
	if (argc < 3 || strcmp(argv[1], "users") != 0) {
		fputs(import_usage, stderr);
		return 2;
	}
	const char *file = NULL, *codes_path = NULL;
	struct import_opts opts = {0};
	for (int i = 2; i < argc; i++) {
		int missing = 0;
		const char *v;
		if (strcmp(argv[i], "--dry-run") == 0)
			opts.dry_run = 1;
		else if ((v = flag(argc, argv, &i, "--codes", &missing)))
			codes_path = v;
		else if ((v = flag(argc, argv, &i, "--school-year", &missing)))
			opts.school_year = v;
		else if (!missing && !file && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
			file = argv[i];
		else {
			fprintf(stderr,
				missing ? "ent import: %s needs a value\n" : "ent import: unexpected argument \"%s\"\n",
				argv[i]);
			return 2;
		}
	}
	if (!file) {
		fprintf(stderr, "ent import users: which file? (see ent import --help)\n");
		return 2;
	}
	if (opts.school_year && !users_valid_school_year(opts.school_year)) {
		fprintf(stderr, "ent import users: --school-year must look like 2026-2027\n");
		return 2;
	}
	FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
	if (!in) {
		fprintf(stderr, "ent import users: cannot open %s: %s\n", file, strerror(errno));
		return 1;
	}
	size_t len = 0;
	char *data = read_all(in, (size_t)256 << 20, &len);
	if (in != stdin)
		fclose(in);
	if (!data) {
		fprintf(stderr, "ent import users: cannot read %s: %s\n", file, strerror(errno));
		return 1;
	}
	json_t *report = NULL;
	const char *why = NULL;
	uint64_t t0 = util_now_ns();
	int e = users_import(app_db(), data, len, &opts, &report, &why);
	free(data);
	if (e == ENT_EINVAL) {
		fprintf(stderr, "ent import users: %s: %s\n", file, why ? why : "not a valid CSV document");
		return 1;
	}
	if (e) {
		fprintf(stderr, "ent import users: nothing was imported: %s\n", ent_err_str(e));
		return 1;
	}
	json_t *rejected = json_object_get(report, "rejected"), *codes = json_object_get(report, "activation_codes");
	printf("%s%s (%s, '%s', school year %s): %lld created, %lld updated, %lld unchanged, %zu rejected, %lld classes created"
	       " in %.1f s\n",
	       opts.dry_run ? "dry run, nothing changed: " : "imported ", file,
	       json_string_value(json_object_get(report, "encoding")),
	       strcmp(json_string_value(json_object_get(report, "separator")), "\t") == 0
		       ? "\\t"
		       : json_string_value(json_object_get(report, "separator")),
	       json_string_value(json_object_get(report, "school_year")),
	       (long long)json_integer_value(json_object_get(report, "created")),
	       (long long)json_integer_value(json_object_get(report, "updated")),
	       (long long)json_integer_value(json_object_get(report, "unchanged")), json_array_size(rejected),
	       (long long)json_integer_value(json_object_get(report, "classes_created")),
	       (double)(util_now_ns() - t0) / 1e9);
	size_t i;
	json_t *v;
	json_array_foreach (rejected, i, v) {
		printf("ligne %lld refusée : %s\n", (long long)json_integer_value(json_object_get(v, "line")),
		       json_string_value(json_object_get(v, "reason")));
	}
	int rc = json_array_size(rejected) ? 3 : 0;
	if (json_array_size(codes)) {
		if (codes_path) {
			int fd = open(codes_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
			if (!out) {
				if (fd >= 0)
					close(fd);
				fprintf(stderr, "ent import users: cannot write %s: %s; the codes follow\n", codes_path,
					strerror(errno));
				write_codes(stdout, codes);
				rc = 1;
			} else {
				write_codes(out, codes);
				if (fclose(out) != 0) {
					fprintf(stderr, "ent import users: writing %s failed: %s\n", codes_path,
						strerror(errno));
					rc = 1;
				} else {
					printf("%zu activation codes written to %s\n", json_array_size(codes),
					       codes_path);
				}
			}
		} else {
			printf("activation codes of the new accounts (shown once; use --codes FILE to save them):\n");
			write_codes(stdout, codes);
		}
	}
	json_decref(report);
	return rc;
}
