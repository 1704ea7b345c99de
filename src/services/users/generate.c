/*
 * generate.c - the users service's part of `ent demo --scale N`: a district's people and classes.
 *
 * One administrator (admin@district.ent.local), the teachers t1@ … tT@ and the students s1@ … sN@,
 * with French names, all with the password SCALE_PASSWORD (one Argon2 hash shared by all: hashing
 * 20,000 passwords would take minutes and prove nothing). Classes of the current school year are
 * named by level and number ("6e 001"); their sizes vary from 18 to 32 around the mean, as in real
 * schools, and add up to the number of students. Rows go in by transactions of 2,000.
 *
 * Refuses to run on a database that already holds a generated district (ENT_ECONFLICT).
 */
#include "internal.h"

#include "core/err.h"
#include "core/log.h"
#include "core/password.h"
#include "core/service.h"
#include "core/util.h"
#include "core/sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 2000

static const char *const given[24] = {
	"Léa",  "Hugo",    "Chloé", "Lucas",  "Manon",  "Louis", "Emma",    "Gabriel",
	"Inès", "Raphaël", "Jade",  "Arthur", "Louise", "Jules", "Camille", "Adam",
	"Zoé",  "Nathan",  "Lina",  "Théo",   "Sarah",  "Noah",  "Clara",   "Ethan",
};
static const char *const family[24] = {
	"Dubois",   "Lefèvre", "Girard",   "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller",
	"Faure",    "André",   "Mercier",  "Blanc",   "Guérin",   "Boyer",    "Garnier", "Chevalier",
	"François", "Legrand", "Gauthier", "Perrin",  "Robin",    "Clément",  "Morin",   "Nicolas",
};
static const char *const levels[7] = {"6e", "5e", "4e", "3e", "2de", "1re", "Tle"};

/* Class sizes between 18 and 32 adding up to students. */
static unsigned *class_sizes(unsigned classes, unsigned students, uint64_t *rng)
{
	unsigned *size = calloc(classes, sizeof(*size));
	if (!size)
		return NULL;
	long total = 0;
	for (unsigned i = 0; i < classes; i++) {
		size[i] = 18 + (unsigned)(util_splitmix64(rng) % 15);
		total += size[i];
	}
	/* Move the total to students one seat at a time, in random classes that can take it. */
	for (unsigned guard = 0; total != (long)students && guard < 100u * students; guard++) {
		unsigned k = (unsigned)(util_splitmix64(rng) % classes);
		if (total < (long)students && size[k] < 40) {
			size[k]++;
			total++;
		} else if (total > (long)students && size[k] > 10) {
			size[k]--;
			total--;
		}
	}
	return size;
}

static int batch_commit(db_conn *c, unsigned done)
{
	if (done % BATCH)
		return ENT_OK;
	int rc = db_commit(c);
	return rc ? rc : db_begin(c);
}

int users_generate(db_conn *c, const struct scale *sc)
{
	int rc = users_exists(c, "SELECT 1 FROM users WHERE email = ?", "admin@" SCALE_DOMAIN);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		fprintf(stderr, "ent: this database already holds a generated district; use an empty one\n");
		return ENT_ECONFLICT;
	}
	if (sc->classes == 0)
		return ENT_EINVAL;
	uint64_t rng = sc->seed * 7919u + 1;
	char *hash = password_hash(SCALE_PASSWORD);
	unsigned *size = class_sizes(sc->classes, sc->students, &rng);
	char(*class_ids)[37] = calloc(sc->classes, 37);
	arena *a = arena_new(0);
	if (!hash || !size || !class_ids || !a) {
		rc = ENT_ENOMEM;
		goto out;
	}
	if ((rc = db_begin(c)))
		goto out;
	for (unsigned i = 0; i < sc->classes; i++) {
		char name[32];
		snprintf(name, sizeof name, "%s %03u", levels[i % 7], i / 7 + 1);
		int made = 0;
		if ((rc = users_class_by_name(c, name, sc->school_year, 1, class_ids[i], &made)))
			goto fail;
		rc = SQL_RUN(c, "UPDATE classes SET level = ? WHERE id = ?", SQL_T(levels[i % 7]), SQL_T(class_ids[i]));
		if (rc < 0)
			goto fail;
		sc->progress("classes", i + 1, sc->classes);
	}
	char id[37];
	if ((rc = users_insert(c, a, id, "admin@" SCALE_DOMAIN, "admin@" SCALE_DOMAIN, "Dominique", "Administrateur",
			       "admin", NULL, NULL, NULL, hash, NULL, NULL)))
		goto fail;
	unsigned people = sc->teachers + sc->students, done = 0;
	for (unsigned t = 1; t <= sc->teachers; t++) {
		char email[64];
		snprintf(email, sizeof email, "t%u@" SCALE_DOMAIN, t);
		uint64_t r = util_splitmix64(&rng);
		if ((rc = users_insert(c, a, id, email, email, given[r % 24], family[(r >> 8) % 24], "enseignant", NULL,
				       NULL, NULL, hash, NULL, NULL)))
			goto fail;
		if (done % 256 == 0) { /* the arena holds each insert's keys: renew it now and then */
			arena_free(a);
			if (!(a = arena_new(0))) {
				rc = ENT_ENOMEM;
				goto fail;
			}
		}
		if ((rc = batch_commit(c, ++done)))
			goto fail;
		sc->progress("users", done, people);
	}
	unsigned k = 0, in_class = 0;
	for (unsigned n = 1; n <= sc->students; n++) {
		char email[64];
		snprintf(email, sizeof email, "s%u@" SCALE_DOMAIN, n);
		uint64_t r = util_splitmix64(&rng);
		if ((rc = users_insert(c, a, id, email, email, given[r % 24], family[(r >> 8) % 24], "etudiant", NULL,
				       NULL, NULL, hash, NULL, NULL)))
			goto fail;
		if (done % 256 == 0) { /* the arena holds each insert's keys: renew it now and then */
			arena_free(a);
			if (!(a = arena_new(0))) {
				rc = ENT_ENOMEM;
				goto fail;
			}
		}
		while (k + 1 < sc->classes && in_class >= size[k]) {
			k++;
			in_class = 0;
		}
		if ((rc = users_set_class(c, id, "etudiant", class_ids[k])))
			goto fail;
		in_class++;
		if ((rc = batch_commit(c, ++done)))
			goto fail;
		sc->progress("users", done, people);
	}
	rc = db_commit(c);
	goto out;
fail:
	db_rollback(c);
out:
	if (a)
		arena_free(a);
	free(class_ids);
	free(size);
	free(hash);
	return rc;
}
