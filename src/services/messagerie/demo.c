/*
 * demo.c - the messagerie's part of `ent demo`: a few conversations between the demo accounts,
 * a class announcement with acknowledgements, and a draft.
 *
 * The users demo runs first; its accounts and the class "6e A" are found through users.h, never
 * its tables. Messages are stored as sending would store them (msg_store), with their
 * message.received events in the outbox, so the notifications appear when the server runs.
 * Idempotent: when the announcement exists already (its sender and subject), nothing is added.
 */
#include "internal.h"

#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/users/users.h"

#define DEMO_TEACHER "claire.martin@demo.ent.local"
#define DEMO_COLLEAGUE "thomas.bernard@demo.ent.local"
#define DEMO_ADMIN "admin@demo.ent.local"
#define DEMO_ANNOUNCEMENT "Sortie au musée du Louvre : autorisation à rapporter"

/* Stores one message from sender to the users r (kinds "to") with addresses addrs, and notifies. */
static int demo_send(db_conn *c, arena *a, const char *id, const char *thread, const char *sender, const char *subject,
		     const char *body, const struct msg_addr *addrs, size_t naddrs, const char *const *users, size_t n,
		     int ack, const char *state, int64_t at_us)
{
	struct msg_rcpt *r = arena_alloc(a, (n ? n : 1) * sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		r[i].user_id = users[i];
		r[i].kind = "to";
	}
	struct msg_out o = {.id = id,
			    .thread_id = thread,
			    .in_reply_to = thread && strcmp(thread, id) ? thread : NULL,
			    .sender_id = sender,
			    .subject = subject,
			    .body = body,
			    .state = state,
			    .ack = ack,
			    .addrs = addrs,
			    .naddrs = naddrs,
			    .r = r,
			    .nr = strcmp(state, "draft") ? n : 0,
			    .now_us = at_us};
	int rc = msg_store(c, &o);
	if (!rc && !strcmp(state, "sent"))
		rc = msg_notify(c, a, id, msg_addr_label(c, a, "user", sender), subject, ack, 0, users, n);
	return rc;
}

int msg_demo(db_conn *c, FILE *out)
{
	arena *a = arena_new(0);
	struct user teacher, colleague, admin;
	char year[10], cls[37];
	users_current_school_year(year);
	int rc = users_find_login(c, a, DEMO_TEACHER, &teacher);
	if (!rc)
		rc = users_find_login(c, a, DEMO_COLLEAGUE, &colleague);
	if (!rc)
		rc = users_find_login(c, a, DEMO_ADMIN, &admin);
	if (!rc)
		rc = users_class_find(c, "6e A", year, cls);
	if (rc == ENT_ENOTFOUND) {
		arena_free(a);
		return ENT_OK; /* the users demo did not create them: nothing to write between */
	}
	char **students = NULL;
	int ns = rc ? 0 : users_class_members(c, a, cls, &students);
	if (ns < 0)
		rc = ns;
	int done = rc ? 0
		      : db_exists(c, "SELECT 1 FROM messages WHERE sender_id = ? AND subject = ?", teacher.id,
				  DEMO_ANNOUNCEMENT);
	if (done < 0)
		rc = done;
	if (rc || done || ns < 2) {
		arena_free(a);
		return rc;
	}
	int64_t now = msg_now_us(), hour = 3600LL * 1000000;
	if ((rc = db_begin(c))) {
		arena_free(a);
		return rc;
	}
	char id[6][37];
	for (int i = 0; i < 6; i++)
		util_uuid(id[i]);
	const char *student = students[0];
	struct msg_addr to_teacher = {"to", "user", teacher.id}, to_student = {"to", "user", student},
			to_colleague = {"to", "user", colleague.id}, to_class = {"to", "class", cls},
			to_teachers = {"to", "class_teachers", cls};
	const char *one;
	/* A student asks their teacher; the teacher answers in the same conversation. */
	one = teacher.id;
	rc = demo_send(c, a, id[0], NULL, student, "Question sur le devoir de mathématiques",
		       "Bonjour Madame,\n\nPour l'exercice 3, faut-il rédiger la démonstration ou seulement donner "
		       "le résultat ?\n\nMerci beaucoup.",
		       &to_teacher, 1, &one, 1, 0, "sent", now - 26 * hour);
	one = student;
	if (!rc)
		rc = demo_send(c, a, id[1], id[0], teacher.id, "RE : Question sur le devoir de mathématiques",
			       "Bonjour,\n\nIl faut rédiger la démonstration : chaque étape compte.\n\nBon courage !",
			       &to_student, 1, &one, 1, 0, "sent", now - 25 * hour);
	/* Two colleagues prepare the class council. */
	one = colleague.id;
	if (!rc)
		rc = demo_send(c, a, id[2], NULL, teacher.id, "Conseil de classe de la 6e A",
			       "Bonjour Thomas,\n\nPeux-tu m'envoyer tes appréciations avant jeudi ? Je prépare la "
			       "synthèse pour le conseil.\n\nMerci, Claire",
			       &to_colleague, 1, &one, 1, 0, "sent", now - 5 * hour);
	one = teacher.id;
	if (!rc)
		rc = demo_send(c, a, id[3], id[2], colleague.id, "RE : Conseil de classe de la 6e A",
			       "Bonjour Claire,\n\nC'est noté, je te les envoie mercredi soir.\n\nThomas", &to_teacher,
			       1, &one, 1, 0, "sent", now - 4 * hour);
	/* The announcement to the class, confirmed by about half of the students. */
	if (!rc)
		rc = demo_send(c, a, id[4], NULL, teacher.id, DEMO_ANNOUNCEMENT,
			       "Bonjour à tous,\n\nLa classe visitera le musée du Louvre mardi prochain. Merci de "
			       "rapporter l'autorisation de sortie signée avant vendredi et de confirmer la lecture de "
			       "ce message.\n\nMme Martin",
			       &to_class, 1, (const char *const *)students, (size_t)ns, 1, "sent", now - 2 * hour);
	for (int i = 0; !rc && i < ns / 2; i++) {
		char at[21];
		msg_time(now - hour + (int64_t)i * 60 * 1000000, at);
		{
			rc = SQL_RUN(c,
				     "UPDATE message_boxes SET acked_at = ?, read_at = ? WHERE message_id = ?"
				     " AND user_id = ?",
				     SQL_T(at), SQL_T(at), SQL_T(id[4]), SQL_T(students[i]));
			rc = rc < 0 ? rc : ENT_OK;
		}
	}
	/* A draft the teacher has not finished. */
	if (!rc)
		rc = demo_send(c, a, id[5], NULL, teacher.id, "Projet de voyage scolaire en Italie",
			       "Chers collègues,\n\nJe propose un voyage à Rome au printemps pour les 6e. Qui serait "
			       "volontaire pour accompagner ?\n\n(à compléter : budget, dates)",
			       &to_teachers, 1, NULL, 0, 0, "draft", now - hour);
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (!rc)
		fprintf(out,
			"messagerie: 4 messages in 2 conversations, an announcement to 6e A (%d of %d confirmed), "
			"a draft of %s\n",
			ns / 2, ns, DEMO_TEACHER);
	arena_free(a);
	return rc;
}
