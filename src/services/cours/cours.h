/*
 * cours.h - the C interface of the cours service (the seed's service-cours).
 *
 * The cours service owns the tables cours, cours_teachers, cours_classes, materials and
 * consultation_cours. Other services (fichiers, notes, the calendar, the chatbot) ask it who
 * may read what, and read courses, their teachers and classes through these functions, never the
 * tables.
 */
#ifndef ENT_COURS_H
#define ENT_COURS_H

#include "core/arena.h"
#include "store/db.h"

/*
 * Whether the user (with ROLE_* bits roles) may read file_id attached to course cours_id:
 * admins and teachers of the course always; students of one of the course's classes when a
 * material using the file is published. 1 yes, 0 no, or a negative ent_err (the caller denies).
 */
/* A caller's access to one course. */
enum { COURS_NONE = 0, COURS_READ = 1, COURS_EDIT = 2 };

/*
 * COURS_* for the user (ROLE_* bits roles) on course cours_id: EDIT for admins and the course's
 * teachers, READ for students of one of its classes, NONE otherwise or when it does not exist;
 * or a negative ent_err.
 */
int cours_access(db_conn *c, const char *cours_id, const char *user_id, unsigned roles);

/*
 * The ids of the courses user_id teaches, sorted (byte order), into *ids (arena a; the array and
 * its strings live as long as a). Returns how many, or a negative ent_err.
 */
int cours_taught_by(db_conn *c, arena *a, const char *user_id, const char ***ids);

/* 1 if the course exists, 0 if not, or a negative ent_err. */
int cours_exists(db_conn *c, const char *cours_id);

int cours_file_readable(db_conn *c, const char *cours_id, const char *file_id, const char *user_id, unsigned roles);

/* ---- lookup.c: reads for other services (notes, calendar, chatbot) ---- */

/*
 * Every function of lookup.c reads only the cours service's tables. Strings are copies in the arena a
 * and live as long as it does; arrays too (the caller frees nothing but the arena). A set of course
 * ids costs one statement per COURS_BATCH ids. Orders are byte orders of the ids (strcmp), the same
 * on SQLite and PostgreSQL. No database (c NULL): ENT_EUNAVAIL.
 */
#define COURS_BATCH 16

/* A course as other services show it. title is NULL for an id that is not a course. */
struct cours_brief {
	const char *id, *title, *subject; /* subject may be NULL */
};

/* A link of a course to a teacher (user id) or to a class (class id). */
struct cours_link {
	const char *cours_id, *id;
};

/*
 * The courses class_id follows, with title and subject, by id, in one statement: *out (arena) and
 * how many, or a negative ent_err.
 */
int cours_class_courses(db_conn *c, arena *a, const char *class_id, struct cours_brief **out);

/*
 * What each of ids[0..n) is: out[i] (n elements, the caller's) gets id ids[i] and its title and
 * subject, or title NULL when there is no such course. Returns how many exist, or a negative
 * ent_err (out then partly filled).
 */
int cours_describe(db_conn *c, arena *a, const char *const *ids, size_t n, struct cours_brief *out);

/*
 * The teachers (cours_teacher_links) or the classes (cours_class_links) of the courses ids[0..n):
 * *out (arena) sorted by course then teacher or class id, and how many, or a negative ent_err.
 */
int cours_teacher_links(db_conn *c, arena *a, const char *const *ids, size_t n, struct cours_link **out);
int cours_class_links(db_conn *c, arena *a, const char *const *ids, size_t n, struct cours_link **out);

/*
 * The (course, teacher) links of every course class_id follows, in one statement keyed by the
 * class (cheaper than cours_teacher_links() over the class's course ids when the caller starts
 * from a class, as the report card does): *out (arena) sorted by course then teacher, and how
 * many, or a negative ent_err.
 */
int cours_class_teacher_links(db_conn *c, arena *a, const char *class_id, struct cours_link **out);

/* 1 if user_id teaches a course class_id follows, 0 if not, or a negative ent_err. */
int cours_teaches_class(db_conn *c, const char *user_id, const char *class_id);

/* The course titled title in school_year (the smallest id if several): 0 and out, ENT_ENOTFOUND, or an ent_err. */
int cours_find(db_conn *c, const char *title, const char *school_year, char out[37]);

/* The ids of the courses of school_year, sorted, into *ids (arena). How many, or a negative ent_err. */
int cours_of_year(db_conn *c, arena *a, const char *school_year, const char ***ids);

/*
 * Each fills *ids with ids as arena strings (sorted; the array and strings live as long as a) and
 * returns how many, or a negative ent_err:
 *   cours_of_class         the courses class_id follows;
 *   cours_teacher_classes  the classes of the courses user_id teaches;
 *   cours_classes_of       the classes of course cours_id.
 */
int cours_of_class(db_conn *c, arena *a, const char *class_id, const char ***ids);
int cours_teacher_classes(db_conn *c, arena *a, const char *user_id, const char ***ids);
int cours_classes_of(db_conn *c, arena *a, const char *cours_id, const char ***ids);
/* The title of a course (arena copy), or NULL when there is none or on error. */
const char *cours_title(db_conn *c, arena *a, const char *cours_id);

/* ---- lookup.c: for the messagerie ---- */

/*
 * The teachers of the courses class_id follows (cours_teachers of its courses), sorted, as arena
 * strings; and the teachers of course cours_id. Count or a negative ent_err.
 */
int cours_class_teachers(db_conn *c, arena *a, const char *class_id, const char ***ids);
int cours_teachers_of(db_conn *c, arena *a, const char *cours_id, const char ***ids);

/* ---- lookup.c: for the chatbot ---- */

/* A material as the chatbot indexes it. file_id and publish_at (RFC 3339 UTC) may be NULL. */
struct cours_material {
	const char *id, *cours_id, *file_id, *title, *publish_at;
};

/* Material material_id as it is now: ENT_OK and *out (arena strings), ENT_ENOTFOUND, or an ent_err. */
int cours_material_get(db_conn *c, arena *a, const char *material_id, struct cours_material *out);

/* Every material that has a file, by id, into *out (arena): how many, or a negative ent_err. */
int cours_materials_with_files(db_conn *c, arena *a, struct cours_material **out);

#endif
