/*
 * demo.c - the users service's part of `ent demo`: a small school.
 *
 * One administrator, four teachers, three classes of the current school year ("6e A", "5e B",
 * "4e C") of 25 students each, with French names. Every account of a role has the same
 * password (printed at the end, with every account), so one Argon2 hash per role is computed
 * and shared: loading the demo takes a fraction of a second. Idempotent: an account or class
 * that exists is left as it is, so running the demo twice changes nothing.
 */
#include "internal.h"

#include "core/err.h"
#include "core/password.h"
#include "core/sql.h"

#include <stdlib.h>
#include <string.h>

#define DEMO_DOMAIN "demo.ent.local"

static const char *const demo_passwords[3] = {"Demo-Admin-2026!", "Demo-Prof-2026!", "Demo-Eleve-2026!"};
static const char *const demo_roles[3] = {"admin", "enseignant", "etudiant"};

static const char *const given_names[40] = {
	"Léa",   "Hugo",   "Chloé",   "Lucas", "Manon",   "Louis", "Emma",  "Gabriel", "Inès",     "Raphaël",
	"Jade",  "Arthur", "Louise",  "Jules", "Camille", "Adam",  "Zoé",   "Nathan",  "Lina",     "Théo",
	"Sarah", "Noah",   "Clara",   "Ethan", "Alice",   "Paul",  "Anaïs", "Tom",     "Juliette", "Sacha",
	"Lou",   "Mathis", "Margaux", "Yanis", "Eva",     "Maël",  "Rose",  "Malo",    "Agathe",   "Nolan",
};

static const char *const family_names[40] = {
	"Dubois",   "Lefèvre", "Girard",   "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller",
	"Faure",    "André",   "Mercier",  "Blanc",   "Guérin",   "Boyer",    "Garnier", "Chevalier",
	"François", "Legrand", "Gauthier", "Perrin",  "Robin",    "Clément",  "Morin",   "Nicolas",
	"Henry",    "Roussel", "Mathieu",  "Gautier", "Masson",   "Marchand", "Duval",   "Denis",
	"Dumont",   "Marie",   "Lemaire",  "Noël",    "Meyer",    "Dufour",   "Meunier", "Brun",
};

static const struct {
	const char *given, *family;
} teachers[4] = {{"Claire", "Martin"}, {"Thomas", "Bernard"}, {"Nadia", "Haddad"}, {"Julien", "Moreau"}};

static const struct {
	const char *name, *level;
} demo_classes[3] = {{"6e A", "6e"}, {"5e B", "5e"}, {"4e C", "4e"}};

struct demo_account {
	const char *email, *given, *family;
	int role;        /* index in demo_roles */
	int class_index; /* -1: none (teachers are attached to every class) */
};

/* "Léa", "Lefèvre" -> "lea.lefevre@demo.ent.local" */
static const char *demo_email(arena *a, const char *given, const char *family)
{
	return arena_printf(a, "%s.%s@" DEMO_DOMAIN, users_fold(a, given), users_fold(a, family));
}

int users_demo(db_conn *c, FILE *out)
{
	arena *a = arena_new(0);
	struct demo_account acc[1 + 4 + 75];
	size_t n = 0;
	acc[n++] = (struct demo_account){"admin@" DEMO_DOMAIN, "Camille", "Durand", 0, -1};
	for (int i = 0; i < 4; i++)
		acc[n++] = (struct demo_account){demo_email(a, teachers[i].given, teachers[i].family),
						 teachers[i].given, teachers[i].family, 1, -1};
	for (int i = 0; i < 75; i++) {
		/* Distinct pairs: i and i + 40 share a given name but not a family name. */
		const char *g = given_names[i % 40], *f = family_names[(i * 7 + i / 40) % 40];
		acc[n++] = (struct demo_account){demo_email(a, g, f), g, f, 2, i / 25};
	}
	char year[10];
	users_school_year(users_clock(), year);
	char *hashes[3] = {NULL, NULL, NULL};
	int created = 0, rc = db_begin(c);
	if (rc)
		goto out;
	char class_ids[3][37];
	int classes_created = 0;
	for (int i = 0; i < 3; i++) {
		int made = 0;
		rc = users_class_by_name(c, demo_classes[i].name, year, 1, class_ids[i], &made);
		if (rc)
			goto fail;
		if (made) {
			classes_created++;
			rc = SQL_RUN(c, "UPDATE classes SET level = ? WHERE id = ?", SQL_T(demo_classes[i].level),
				     SQL_T(class_ids[i]));
			if (rc < 0)
				goto fail;
		}
	}
	for (size_t i = 0; i < n; i++) {
		rc = users_exists(c, "SELECT 1 FROM users WHERE ? IN (email, username)", acc[i].email);
		if (rc < 0)
			goto fail;
		if (rc == 1)
			continue;
		int r = acc[i].role;
		if (!hashes[r] && !(hashes[r] = password_hash(demo_passwords[r]))) {
			rc = ENT_EINTERNAL;
			goto fail;
		}
		char id[37];
		rc = users_insert(c, a, id, acc[i].email, acc[i].email, acc[i].given, acc[i].family, demo_roles[r],
				  NULL, NULL, NULL, hashes[r], NULL, NULL);
		if (rc)
			goto fail;
		created++;
		if (r == 2) {
			rc = users_set_class(c, id, demo_roles[r], class_ids[acc[i].class_index]);
		} else if (r == 1) {
			for (int k = 0; k < 3 && !rc; k++)
				rc = users_set_class(c, id, demo_roles[r], class_ids[k]);
		}
		if (rc)
			goto fail;
	}
	rc = db_commit(c);
	if (rc)
		goto out;
	fprintf(out, "Demo school, school year %s: %d accounts and %d classes created now (%s).\n", year, created,
		classes_created, created || classes_created ? "first run" : "already loaded, nothing changed");
	fprintf(out, "%-40s %-11s %-18s %s\n", "email", "role", "password", "class");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%-40s %-11s %-18s %s\n", acc[i].email, demo_roles[acc[i].role],
			demo_passwords[acc[i].role],
			acc[i].class_index >= 0 ? demo_classes[acc[i].class_index].name
			: acc[i].role == 1      ? "6e A, 5e B, 4e C"
						: "");
	goto out;
fail:
	db_rollback(c);
out:
	for (int i = 0; i < 3; i++)
		free(hashes[i]);
	arena_free(a);
	return rc;
}
