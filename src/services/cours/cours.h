/*
 * cours.h - the C interface of the cours service (the seed's service-cours).
 *
 * The cours service owns the tables cours, cours_teachers, cours_classes, materials and
 * consultation_cours. Other services (fichiers, later the chatbot) ask it who may read what.
 */
#ifndef ENT_COURS_H
#define ENT_COURS_H

#include "store/db.h"

/*
 * Whether the user (with ROLE_* bits roles) may read file_id attached to course cours_id:
 * admins and teachers of the course always; students of one of the course's classes when a
 * material using the file is published. 1 yes, 0 no, or a negative ent_err (the caller denies).
 */
int cours_file_readable(db_conn *c, const char *cours_id, const char *file_id, const char *user_id, unsigned roles);

#endif
