/*
 * cours.h - the C interface of the cours service (the seed's service-cours).
 *
 * The cours service owns the tables cours, cours_teachers, cours_classes, materials and
 * consultation_cours. Other services (fichiers, later the chatbot) ask it who may read what.
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

/* ---- lookup.c: for other services (calendar, chatbot) ---- */

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

#endif
