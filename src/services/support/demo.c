/*
 * demo.c - the support service's part of `ent demo`: a desk that has been working for a while.
 *
 * The users, cours and notes demos run first (registry order). Their accounts are found by login
 * through users.h, a student's latest published grade through notes.h, never their tables. Loaded:
 *   - FAQ articles answering the questions of a school year (activating the account, a forgotten
 *     password, the timetable, homework, grades, messages, notifications) and one draft;
 *   - a ticket in every state (new, open, waiting on the requester, resolved, closed and rated),
 *     one overdue, with staff answers and an internal note, created in the last days so the
 *     dashboard has figures;
 *   - a grade contestation: a student asks for the review of their latest grade; it is assigned
 *     to a teacher of the course, who has answered.
 * Times are relative to now (hours ago) and deadlines come from the service levels, as for a ticket
 * opened through the API. No event is published: the demo's tickets are history, not news.
 *
 * Idempotent: an article is found by its title, a ticket by its requester and subject (the
 * contestation by its requester and evaluation); what exists is left as it is.
 */
#include "internal.h"

#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/notes/notes.h"
#include "services/users/users.h"

#define DEMO_DOMAIN "@demo.ent.local"

/* ---- the FAQ ---- */

static const struct demo_faq {
	const char *title, *category, *body;
	int published;
} faqs[] = {
	{"Activer mon compte pour la première fois", "account",
	 "Votre établissement vous a remis un code d'activation (sur papier ou par votre professeur principal).\n\n"
	 "1. Sur la page de connexion, cliquez sur « Activer mon compte ».\n"
	 "2. Saisissez votre adresse électronique et le code d'activation.\n"
	 "3. Choisissez votre mot de passe : 12 caractères au moins. Une phrase facile à retenir fait un bon mot "
	 "de passe.\n\n"
	 "Le code sert une seule fois et reste valable 30 jours. S'il a expiré, demandez-en un nouveau à "
	 "l'administration de l'établissement.",
	 1},
	{"J'ai oublié mon mot de passe", "account",
	 "Pour votre sécurité, personne ne peut lire votre mot de passe, pas même l'administration.\n\n"
	 "Demandez à l'administration de l'établissement (secrétariat ou vie scolaire) de réinitialiser votre "
	 "compte : vous recevez un nouveau code d'activation. Sur la page de connexion, cliquez sur « Activer mon "
	 "compte », saisissez ce code et choisissez un nouveau mot de passe.\n\n"
	 "Après plusieurs essais de mot de passe erronés, le compte est bloqué un moment : attendez avant de "
	 "réessayer.",
	 1},
	{"Où trouver mon emploi du temps ?", "timetable",
	 "Ouvrez « Emploi du temps » dans le menu. La semaine en cours s'affiche ; les flèches passent à la semaine "
	 "suivante ou précédente.\n\n"
	 "Un cours annulé ou déplacé (changement de salle) y apparaît aussitôt, et vous recevez une notification. "
	 "Vous pouvez aussi abonner l'agenda de votre téléphone à votre emploi du temps (lien iCalendar, dans la "
	 "même page).",
	 1},
	{"Comment rendre un devoir ?", "courses",
	 "Le travail à faire est dans « Emploi du temps », rubrique « Travail à faire », jour par jour, avec la "
	 "consigne du professeur. Une fois le travail fait, cochez « Fait » : c'est votre liste personnelle, vos "
	 "camarades ne la voient pas.\n\n"
	 "Les documents du cours (énoncés, corrigés) sont dans « Cours ». Pour remettre une copie, suivez la "
	 "consigne de votre professeur : en classe, ou par la messagerie s'il le demande.",
	 1},
	{"Où voir mes notes et mes moyennes ?", "grades",
	 "Ouvrez « Notes » : vos notes par matière pour la période choisie, votre moyenne, celle de la classe, "
	 "et la courbe de votre moyenne générale.\n\n"
	 "Une note apparaît quand votre professeur la publie ; vous recevez alors une notification.",
	 1},
	{"Je pense qu'il y a une erreur sur ma note", "grades",
	 "Dans « Notes », à côté de la note concernée, cliquez sur « Demander une révision » et expliquez "
	 "pourquoi (une question oubliée dans le total, une absence justifiée ...).\n\n"
	 "La demande va directement au professeur de la matière, qui vous répond dans « Assistance ». S'il "
	 "corrige la note, votre bulletin est mis à jour et vous êtes prévenu.",
	 1},
	{"Envoyer un message à un professeur", "messaging",
	 "Ouvrez « Messagerie », puis « Nouveau message ». Tapez le début du nom du professeur et choisissez-le "
	 "dans la liste. Vous pouvez écrire aux professeurs de votre classe et à l'administration.",
	 1},
	{"Télécharger un document de cours", "courses",
	 "Ouvrez « Cours », choisissez la matière : les documents publiés par votre professeur sont listés avec "
	 "leur date. Cliquez sur le nom d'un document pour le télécharger.\n\n"
	 "Un document que vous ne trouvez pas n'est peut-être pas encore publié : demandez à votre professeur.",
	 1},
	{"Je ne reçois pas les notifications", "other",
	 "Les notifications (nouvelle note, cours annulé, message, réponse de l'assistance) s'affichent dans "
	 "« Notifications » et sur le tableau de bord, dès que vous êtes connecté.\n\n"
	 "Si rien n'apparaît, rechargez la page ; si le problème continue, ouvrez une demande d'assistance en "
	 "précisant votre navigateur.",
	 1},
	{"Changer de classe en cours d'année", "other",
	 "(Brouillon) Ce que devient un compte qui change de classe : les notes restent, les cours suivent la "
	 "nouvelle classe.",
	 0},
};

static int faq_ensure(db_conn *c, const struct demo_faq *f, const char *author, const char *now, int *made)
{
	int rc = SQL_RUN(c, "SELECT 1 FROM support_faq WHERE title = ?", SQL_T(f->title));
	if (rc != DB_DONE)
		return rc < 0 ? rc : ENT_OK;
	char id[37];
	util_uuid(id);
	rc = SQL_RUN(c,
		     "INSERT INTO support_faq (id, title, body, category, published, created_by, created_at,"
		     " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		     SQL_T(id), SQL_T(f->title), SQL_T(f->body), SQL_T(f->category), SQL_I(f->published), SQL_T(author),
		     SQL_T(now), SQL_T(now));
	if (rc >= 0)
		(*made)++;
	return rc < 0 ? rc : ENT_OK;
}

int sup_faq_defaults(db_conn *c, const char *author, const char *now, int *made)
{
	int rc = ENT_OK;
	for (size_t i = 0; i < sizeof(faqs) / sizeof(faqs[0]) && !rc; i++)
		rc = faq_ensure(c, &faqs[i], author, now, made);
	return rc;
}

/* ---- tickets ---- */

struct demo_comment {
	int author; /* index in the people of sup_demo() */
	double hours_ago;
	int internal;
	const char *body;
};

struct demo_ticket {
	int requester, assignee; /* indexes; assignee -1: nobody */
	const char *subject, *category, *priority, *state;
	double hours_ago, resolved_hours_ago, closed_hours_ago; /* 0: not resolved, not closed */
	int rating;                                             /* 0: none */
	const char *rating_comment, *description;
	struct demo_comment comments[3];
};

/* The people of the demo tickets, by login (the users demo's accounts). */
enum { P_ADMIN, P_CLAIRE, P_LEA, P_HUGO, P_CHLOE, P_LUCAS, P_PAUL, P_JADE, P_N };
static const char *const logins[P_N] = {
	"admin" DEMO_DOMAIN,          "claire.martin" DEMO_DOMAIN, "lea.dubois" DEMO_DOMAIN,
	"hugo.muller" DEMO_DOMAIN,    "chloe.garnier" DEMO_DOMAIN, "lucas.clement" DEMO_DOMAIN,
	"paul.chevalier" DEMO_DOMAIN, "jade.denis" DEMO_DOMAIN,
};

static const struct demo_ticket tickets[] = {
	{P_HUGO,
	 -1,
	 "Le document du cours de français ne s'ouvre pas",
	 "courses",
	 "normal",
	 "new",
	 3,
	 0,
	 0,
	 0,
	 NULL,
	 "Bonjour, quand je clique sur le document « Lecture analytique » du cours de français, la page reste "
	 "blanche. J'ai essayé avec un autre navigateur, pareil.",
	 {{0}}},
	{P_CLAIRE,
	 -1,
	 "Impossible de déposer une vidéo dans mon cours",
	 "courses",
	 "urgent",
	 "new",
	 6,
	 0,
	 0,
	 0,
	 NULL,
	 "Je dois mettre en ligne la vidéo de l'expérience pour demain matin, le dépôt échoue à chaque fois "
	 "(fichier de 80 Mo).",
	 {{0}}},
	{P_PAUL,
	 P_ADMIN,
	 "Mot de passe oublié",
	 "account",
	 "high",
	 "open",
	 26,
	 0,
	 0,
	 0,
	 NULL,
	 "Je n'arrive plus à me connecter depuis les vacances, je crois que j'ai oublié mon mot de passe.",
	 {{P_ADMIN, 20, 1, "Compte vérifié : pas de blocage. Nouveau code d'activation à remettre en main propre."},
	  {P_ADMIN, 19.5, 0,
	   "Bonjour Paul, un nouveau code d'activation t'attend à la vie scolaire. Passe le chercher à la "
	   "récréation, puis clique sur « Activer mon compte » sur la page de connexion."}}},
	{P_JADE,
	 P_ADMIN,
	 "Le cours d'anglais du mardi n'apparaît pas dans mon emploi du temps",
	 "timetable",
	 "normal",
	 "waiting",
	 50,
	 0,
	 0,
	 0,
	 NULL,
	 "Le mardi à 10 h j'ai anglais mais l'emploi du temps affiche une case vide.",
	 {{P_ADMIN, 30, 0,
	   "Bonjour Jade, s'agit-il de toutes les semaines ou seulement des semaines B ? Peux-tu nous envoyer une "
	   "capture d'écran ?"}}},
	{P_CHLOE,
	 P_ADMIN,
	 "Je ne reçois plus les messages de mon professeur",
	 "messaging",
	 "normal",
	 "resolved",
	 96,
	 24,
	 0,
	 0,
	 NULL,
	 "Mon professeur de SVT dit qu'il m'a écrit mais je n'ai rien dans ma messagerie.",
	 {{P_ADMIN, 70, 0,
	   "Bonjour Chloé, le message avait été envoyé à la classe de l'an dernier. Ton professeur te l'a renvoyé : "
	   "il est dans ta boîte de réception."},
	  {P_CHLOE, 60, 0, "Je l'ai reçu, merci !"}}},
	{P_LUCAS,
	 P_ADMIN,
	 "Activation de mon compte",
	 "account",
	 "urgent",
	 "closed",
	 288,
	 280,
	 72,
	 5,
	 "Merci, réponse très rapide.",
	 "Le code d'activation qu'on m'a donné ne marche pas, le site dit qu'il est invalide.",
	 {{P_ADMIN, 286, 0,
	   "Bonjour Lucas, le code contenait un O et non un zéro. Un nouveau code t'a été remis ; il est valable 30 "
	   "jours."}}},
};

/* now - hours, as RFC 3339, and its microseconds (the comments' and history's order). */
static void ago(time_t now, double hours, char out[21], int64_t *us)
{
	time_t t = now - (time_t)(hours * 3600);
	util_time_rfc3339(t, out);
	if (us)
		*us = (int64_t)t * 1000000;
}

/* 1 if sql (one or two parameters: p2 NULL for one) finds a row, 0 if not, or an ent_err. */
static int exists(db_conn *c, const char *sql, const char *p1, const char *p2)
{
	db_stmt *s = SQL_PREP(c, sql, SQL_T(p1));
	if (!s)
		return ENT_EDB;
	if (p2)
		db_bind_text(s, 2, p2);
	int rc = db_step(s);
	db_done(s);
	return rc < 0 ? rc : rc == DB_ROW;
}

static int comment_add(db_conn *c, const char *ticket, const char *author, const char *body, int internal,
		       const char *at, int64_t us)
{
	char id[37];
	util_uuid(id);
	int rc = SQL_RUN(c,
			 "INSERT INTO support_comments (id, ticket_id, author_id, body, internal, created_at, seq)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?)",
			 SQL_T(id), SQL_T(ticket), SQL_T(author), SQL_T(body), SQL_I(internal), SQL_T(at), SQL_I(us));
	return rc < 0 ? rc : ENT_OK;
}

/*
 * Writes one ticket with its comments and history, as the API would have over time. evaluation is
 * the contested evaluation or NULL.
 */
static int ticket_write(db_conn *c, const struct demo_ticket *d, const char *const *who, const char *evaluation,
			time_t now)
{
	char id[37], created[21], fr_due[21], res_due[21], fr_at[21] = "", resolved[21] = "", closed[21] = "";
	int64_t us;
	util_uuid(id);
	ago(now, d->hours_ago, created, &us);
	int rc = sup_deadlines(c, d->priority, created, fr_due, res_due);
	if (rc)
		return rc;
	const char *requester = who[d->requester], *assignee = d->assignee >= 0 ? who[d->assignee] : NULL;
	/* The first public answer of someone else than the requester stops the first-answer clock. */
	for (int i = 0; i < 3 && d->comments[i].body; i++)
		if (!d->comments[i].internal && d->comments[i].author != d->requester) {
			ago(now, d->comments[i].hours_ago, fr_at, NULL);
			break;
		}
	if (d->resolved_hours_ago > 0)
		ago(now, d->resolved_hours_ago, resolved, NULL);
	if (d->closed_hours_ago > 0)
		ago(now, d->closed_hours_ago, closed, NULL);
	/* A rating comes after the resolution, before the closing. */
	char rated[21] = "";
	int64_t rated_us = 0;
	if (d->rating)
		ago(now, d->closed_hours_ago > 0 ? d->closed_hours_ago + 1 : d->resolved_hours_ago - 1, rated,
		    &rated_us);
	db_stmt *s = db_prepare(
		c, "INSERT INTO support_requests (id, subject, description, category, priority, state, requester_id,"
		   " assignee_id, evaluation_id, created_at, updated_at, first_response_due, resolution_due,"
		   " first_response_at, resolved_at, closed_at, rating, rating_comment, rated_at)"
		   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!s)
		return ENT_EDB;
	const char *vals[] = {id,
			      d->subject,
			      d->description,
			      d->category,
			      d->priority,
			      d->state,
			      requester,
			      assignee,
			      evaluation,
			      created,
			      *closed     ? closed
			      : *resolved ? resolved
					  : created,
			      fr_due,
			      res_due,
			      *fr_at ? fr_at : NULL,
			      *resolved ? resolved : NULL,
			      *closed ? closed : NULL};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		db_bind_text_or_null(s, (int)i + 1, vals[i]);
	if (d->rating)
		db_bind_int64(s, 17, d->rating);
	else
		db_bind_null(s, 17);
	db_bind_text_or_null(s, 18, d->rating_comment);
	db_bind_text_or_null(s, 19, *rated ? rated : NULL);
	rc = db_step(s);
	db_done(s);
	if (rc < 0)
		return rc;
	if ((rc = sup_history_add(c, id, requester, "created", NULL, "new", created, us)))
		return rc;
	if (assignee && (rc = sup_history_add(c, id, evaluation ? NULL : who[P_ADMIN], "assignee_id", NULL, assignee,
					      created, us + 1)))
		return rc;
	for (int i = 0; i < 3 && d->comments[i].body; i++) {
		char at[21];
		int64_t cus;
		ago(now, d->comments[i].hours_ago, at, &cus);
		if ((rc = comment_add(c, id, who[d->comments[i].author], d->comments[i].body, d->comments[i].internal,
				      at, cus)))
			return rc;
	}
	/* The states it went through, for the history. */
	const char *staff = assignee ? assignee : who[P_ADMIN];
	if (strcmp(d->state, "new")) {
		char at[21];
		int64_t hus;
		ago(now, d->hours_ago - 0.5, at, &hus);
		if ((rc = sup_history_add(c, id, staff, "state", "new", "open", at, hus)))
			return rc;
	}
	const char *last = "open";
	if (!strcmp(d->state, "waiting") || *resolved) {
		const char *to = *resolved ? "resolved" : "waiting";
		char at[21];
		int64_t hus;
		ago(now, *resolved ? d->resolved_hours_ago : d->hours_ago - 20, at, &hus);
		if ((rc = sup_history_add(c, id, staff, "state", last, to, at, hus)))
			return rc;
		last = to;
	}
	if (*closed) {
		char at[21];
		int64_t hus;
		ago(now, d->closed_hours_ago, at, &hus);
		if ((rc = sup_history_add(c, id, requester, "state", last, "closed", at, hus)))
			return rc;
	}
	if (d->rating) {
		char value[4];
		snprintf(value, sizeof(value), "%d", d->rating % 10);
		if ((rc = sup_history_add(c, id, requester, "rating", NULL, value, rated, rated_us)))
			return rc;
	}
	return ENT_OK;
}

/* The grade contestation: the student's latest published grade, assigned to a teacher of its course. */
static int contestation(db_conn *c, arena *a, const char *const *who, time_t now, int *made, FILE *out)
{
	struct notes_grade_info *g;
	int n = notes_student_grades(c, a, who[P_LEA], 1, &g);
	if (n <= 0) {
		if (n == 0)
			fprintf(out, "Support: no published grade of %s to contest (is the notes demo loaded?).\n",
				logins[P_LEA]);
		return n < 0 ? n : ENT_OK;
	}
	int rc = exists(c, "SELECT 1 FROM support_requests WHERE requester_id = ? AND evaluation_id IS NOT NULL",
			who[P_LEA], NULL);
	if (rc != 0)
		return rc < 0 ? rc : ENT_OK;
	const char **teachers;
	int nt = notes_evaluation_teachers(c, a, g[0].evaluation_id, &teachers);
	if (nt < 0)
		return nt;
	const char *subject = arena_printf(a, "Révision de note : %s (%s)", g[0].evaluation_title, g[0].course_title);
	struct demo_ticket d = {
		.requester = P_LEA,
		.assignee = -1,
		.subject = subject,
		.category = "grades",
		.priority = "normal",
		.state = "open",
		.hours_ago = 5,
		.description = "Bonjour, je crois que l'exercice 3 n'a pas été compté dans le total de ma copie : "
			       "pourriez-vous vérifier ?",
		.comments = {{P_CLAIRE, 2, 0,
			      "Bonjour Léa, je reprends votre copie ce soir et je vous réponds ici demain."}},
	};
	/* The assignee is the course's teacher, whoever it is: passed through the people table. */
	const char *people[P_N + 1];
	memcpy(people, who, sizeof(*people) * P_N);
	people[P_N] = nt > 0 ? teachers[0] : NULL;
	if (people[P_N]) {
		d.assignee = P_N;
		d.comments[0].author = P_N;
	} else
		d.comments[0].body = NULL; /* nobody teaches it: the administrators will take it */
	if ((rc = ticket_write(c, &d, people, g[0].evaluation_id, now)))
		return rc;
	(*made)++;
	return ENT_OK;
}

int sup_demo(db_conn *c, FILE *out)
{
	arena *a = arena_new(0);
	const char *who[P_N];
	int rc = ENT_OK;
	for (int i = 0; i < P_N; i++) {
		struct user u;
		rc = users_find_login(c, a, logins[i], &u);
		if (rc == ENT_ENOTFOUND) {
			fprintf(out, "Support: the demo account %s is missing; the users demo loads it first.\n",
				logins[i]);
			arena_free(a);
			return ENT_OK;
		}
		if (rc)
			goto out;
		who[i] = arena_strdup(a, u.id);
	}
	char now_text[21];
	time_t now = time(NULL);
	util_time_rfc3339(now, now_text);
	int articles = 0, made = 0;
	if ((rc = db_begin(c)))
		goto out;
	rc = sup_faq_defaults(c, who[P_ADMIN], now_text, &articles);
	for (size_t i = 0; i < sizeof(tickets) / sizeof(tickets[0]) && !rc; i++) {
		rc = exists(c, "SELECT 1 FROM support_requests WHERE requester_id = ? AND subject = ?",
			    who[tickets[i].requester], tickets[i].subject);
		if (rc == 0 && !(rc = ticket_write(c, &tickets[i], who, NULL, now)))
			made++;
		else if (rc == 1)
			rc = ENT_OK;
	}
	if (!rc)
		rc = contestation(c, a, who, now, &made, out);
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (!rc)
		fprintf(out, "Support: %d FAQ articles and %d tickets created now (%s); %s asks for a grade review.\n",
			articles, made, articles || made ? "first run" : "already loaded, nothing changed",
			logins[P_LEA]);
out:
	arena_free(a);
	return rc;
}
