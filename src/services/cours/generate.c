/*
 * generate.c - the cours service's part of `ent demo --scale N`: the district's courses.
 *
 * The users part ran first: its classes ("6e 001" …, named by generate.c there, level = i % 7,
 * number = i / 7 + 1) and its teachers t1@ … are found through the users service's C interface.
 * Each class gets its share of the courses (7 or 8 for the default proportions), one subject each
 * in a fixed order; teacher k teaches subject k % NSUBJECTS, and the courses of a subject go round
 * its teachers, so a teacher has about four courses in four classes, as in a collège.
 *
 * The first course of each class gets one published material with a PDF (the same two pages for
 * all, drawn once), stored through the fichiers service: the course files the download scenario
 * fetches.
 */
#include "internal.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/service.h"
#include "core/util.h"
#include "services/fichiers/fichiers.h"
#include "services/users/users.h"

#define NSUBJECTS 10
#define BATCH 1000

static const char *const subjects[NSUBJECTS] = {
	"Mathématiques",   "Français", "Histoire-Géographie", "Anglais",         "SVT",
	"Physique-Chimie", "Espagnol", "Technologie",         "Arts plastiques", "EPS",
};
static const char *const levels[7] = {"6e", "5e", "4e", "3e", "2de", "1re", "Tle"};

static int insert(db_conn *c, const char *sql, const char *const *v, int n)
{
	db_stmt *s = db_prepare(c, sql);
	if (!s)
		return ENT_EDB;
	for (int i = 0; i < n; i++)
		db_bind_text(s, i + 1, v[i]);
	int rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

struct first {
	char id[37];
	unsigned teacher;
};

/* One published material with a PDF in the first course of each class (files first: blobs are
 * not transactional; then the rows, by batches). */
static int add_materials(db_conn *c, const struct scale *sc, const struct first *fc, char (*teacher)[37])
{
	static const char *const paragraphs[] = {
		"Ce document présente le programme du trimestre : les notions étudiées, les exercices à "
		"préparer et les dates des évaluations.",
		"Relisez le cours avant chaque séance et notez vos questions : elles seront reprises au "
		"début de l'heure.",
	};
	buf pdf;
	int rc = cours_make_pdf("Programme du trimestre", "Programme du trimestre", "Documents", paragraphs, 2,
				"L'équipe pédagogique", &pdf);
	if (rc)
		return rc;
	char now[21];
	cours_now(now);
	for (unsigned k = 0; k < sc->classes && rc == ENT_OK; k++) {
		if (!fc[k].id[0])
			continue;
		char file_id[37], mid[37];
		if ((rc = fichiers_create(c, teacher[fc[k].teacher], "programme.pdf", pdf.data, pdf.len, file_id)))
			break;
		if ((rc = db_begin(c)))
			break;
		rc = fichiers_attach(c, file_id, teacher[fc[k].teacher], fc[k].id);
		util_uuid(mid);
		const char *mv[6] = {mid, fc[k].id, file_id, teacher[fc[k].teacher], now, now};
		if (!rc)
			rc = insert(
				c,
				"INSERT INTO materials (id, cours_id, title, description, section, position, publish_at, "
				"file_id, created_by, created_at, updated_at) VALUES (?, ?, 'Programme du trimestre', NULL, "
				"'Documents', 0, NULL, ?, ?, ?, ?)",
				mv, 6);
		if (rc) {
			db_rollback(c);
			fichiers_delete(c, file_id);
			break;
		}
		rc = db_commit(c);
		sc->progress("course files", k + 1, sc->classes);
	}
	buf_free(&pdf);
	/* cairo and fontconfig keep caches for the process's life: release them (a one-shot command). */
	cairo_debug_reset_static_data();
	FcFini();
	return rc;
}

int cours_generate(db_conn *c, const struct scale *sc)
{
	if (sc->classes == 0 || sc->teachers == 0)
		return ENT_EINVAL;
	char(*teacher)[37] = calloc(sc->teachers, 37);
	struct first *first_course = NULL;
	unsigned *next_of_subject = calloc(NSUBJECTS, sizeof(unsigned));
	arena *a = arena_new(0);
	int rc = ENT_OK;
	if (!teacher || !next_of_subject || !a) {
		rc = ENT_ENOMEM;
		goto out;
	}
	for (unsigned t = 0; t < sc->teachers; t++) {
		char email[64];
		snprintf(email, sizeof email, "t%u@" SCALE_DOMAIN, t + 1);
		struct user u;
		if ((rc = users_find_login(c, a, email, &u)))
			goto out;
		memcpy(teacher[t], u.id, 37);
	}
	char now[21];
	cours_now(now);
	if ((rc = db_begin(c)))
		goto out;
	unsigned made = 0;
	first_course = calloc(sc->classes, sizeof(*first_course));
	if (!first_course) {
		rc = ENT_ENOMEM;
		goto fail;
	}
	for (unsigned k = 0; k < sc->classes; k++) {
		char name[32], class_id[37];
		snprintf(name, sizeof name, "%s %03u", levels[k % 7], k / 7 + 1);
		if ((rc = users_class_find(c, name, sc->school_year, class_id)))
			goto fail;
		/* This class's share: courses spread evenly, the remainder to the first classes. */
		unsigned share = sc->courses / sc->classes + (k < sc->courses % sc->classes);
		for (unsigned j = 0; j < share; j++) {
			unsigned subject = j % NSUBJECTS;
			/* Teachers of this subject: subject, subject + NSUBJECTS, … (at least teacher 0). */
			unsigned of_subject = sc->teachers > subject
						      ? (sc->teachers - subject + NSUBJECTS - 1) / NSUBJECTS
						      : 0;
			unsigned t = of_subject ? subject + NSUBJECTS * (next_of_subject[subject]++ % of_subject) : 0;
			char id[37], title[96];
			util_uuid(id);
			snprintf(title, sizeof title, "%s — %s", subjects[subject], name);
			const char *cv[7] = {id, title, subjects[subject], sc->school_year, teacher[t], now, now};
			if ((rc = insert(c,
					 "INSERT INTO cours (id, title, subject, description, school_year, created_by, "
					 "created_at, updated_at) VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
					 cv, 7)))
				goto fail;
			const char *tv[2] = {id, teacher[t]}, *kv[2] = {id, class_id};
			if ((rc = insert(c, "INSERT INTO cours_teachers (cours_id, user_id) VALUES (?, ?)", tv, 2)) ||
			    (rc = insert(c, "INSERT INTO cours_classes (cours_id, class_id) VALUES (?, ?)", kv, 2)))
				goto fail;
			if (j == 0) {
				memcpy(first_course[k].id, id, 37);
				first_course[k].teacher = t;
			}
			if (++made % BATCH == 0 && ((rc = db_commit(c)) || (rc = db_begin(c))))
				goto fail;
			sc->progress("courses", made, sc->courses);
		}
	}
	if ((rc = db_commit(c)))
		goto out;
	rc = add_materials(c, sc, first_course, teacher);
	goto out;
fail:
	db_rollback(c);
out:
	free(first_course);
	if (a)
		arena_free(a);
	free(next_of_subject);
	free(teacher);
	return rc;
}
