/*
 * generate.c - the support service's part of `ent demo --scale N`: the district's desk over the
 * last sixty days, TICKETS_PER_100 tickets per hundred users.
 *
 * The users and cours parts ran first: the students (users_scale_students), the teachers
 * (users_with_role), the administrator and a student's class's teachers (users_student_class,
 * cours_class_teachers) come through their C interfaces, never their tables. A ticket's requester
 * is a student four times in five, else a teacher; its category and priority are drawn, its state
 * taken in turn from a cycle of twenty (new 10 %, open 20 %, waiting on the requester 10 %,
 * resolved 15 %, closed 45 %; every state among the first five tickets). The staff
 * member who handles it is the administrator, or for a student's grades ticket a teacher of their
 * class. Its conversation follows its state: the staff's public answers (the first one stops the
 * first-answer clock), an internal note on a third of them, the requester's answers; a resolved
 * ticket was resolved in the last six days (the 7-day auto-close would have closed an older one);
 * half of the closed ones are rated. The history holds every change, as the API writes it, and
 * the deadlines come from the service levels table (sup_deadlines). No bus event: history, not news.
 *
 * Grade contestations: CONTESTS_PER_1000 per thousand students, each by a different student on one
 * of their published grades (notes_student_grades, the notes service's C interface), assigned to a
 * teacher of the evaluation's course as the desk does, in the states of a cycle of six; an answered
 * one has the teacher's answer, a resolved one kept the grade (a revision is the notes service's
 * audited change, which a generator does not fake). The FAQ: the articles of a school year
 * (sup_faq_defaults, as `ent demo`) and HELPFUL_PER_100 "this answered my question" per hundred
 * users over the sixty days, each on a published article, once per person and article (the
 * articles' counters are set from them): the dashboard's tickets avoided.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/service.h"
#include "core/util.h"
#include "core/sql.h"
#include "services/cours/cours.h"
#include "services/notes/notes.h"
#include "services/users/users.h"

#define TICKETS_PER_100 3
#define CONTESTS_PER_1000 5
#define HELPFUL_PER_100 8
#define DAYS 60

static const struct {
	const char *category, *subject, *description, *answer, *note;
} kinds[] = {
	{"account", "Mot de passe oublié", "Je n'arrive plus à me connecter depuis les vacances.",
	 "Bonjour, un nouveau code d'activation vous attend à la vie scolaire.",
	 "Compte vérifié : pas de blocage, nouveau code à remettre en main propre."},
	{"account", "Code d'activation refusé", "Le site dit que mon code d'activation est invalide.",
	 "Bonjour, le code contenait la lettre O et non un zéro ; essayez de nouveau.",
	 "Code régénéré, l'ancien est révoqué."},
	{"courses", "Document du cours introuvable", "Je ne trouve pas la fiche de révision dans le cours.",
	 "Bonjour, le professeur vient de publier le document : il est dans le cours.", NULL},
	{"courses", "Le fichier ne s'ouvre pas", "Quand je clique sur le document, la page reste blanche.",
	 "Bonjour, pouvez-vous essayer avec un autre navigateur et nous dire ce qui s'affiche ?",
	 "Fichier PDF sain, sans doute un bloqueur de publicité."},
	{"grades", "Erreur sur ma note", "Je crois qu'un exercice n'a pas été compté dans ma note.",
	 "Bonjour, j'ai repris la copie : le total est juste, je vous l'explique en classe.", NULL},
	{"timetable", "Cours manquant dans l'emploi du temps", "Le cours du mardi à 10 h n'apparaît pas.",
	 "Bonjour, s'agit-il de toutes les semaines ou seulement des semaines B ?",
	 "Série de la semaine B à vérifier avec le secrétariat."},
	{"messaging", "Je ne reçois pas les messages", "Mon professeur dit qu'il m'a écrit mais je n'ai rien reçu.",
	 "Bonjour, le message avait été envoyé à l'ancienne classe ; il vous a été renvoyé.", NULL},
	{"other", "Les notifications n'apparaissent pas", "Je ne vois aucune notification depuis lundi.",
	 "Bonjour, rechargez la page : un correctif a été installé ce matin.", NULL},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const char *const thanks[] = {"Merci, ça fonctionne maintenant.", "Merci pour la réponse rapide !",
				     "C'est réglé, merci."};

struct sgen {
	db_conn *c;
	uint64_t rng;
	time_t now;
	const char *admin;
	uint64_t comments, history;
};

static uint64_t rnd(struct sgen *g, uint64_t n) { return n ? util_splitmix64(&g->rng) % n : 0; }

static int comment(struct sgen *g, const char *ticket, const char *author, const char *body, int internal, time_t at)
{
	char id[37], text[21];
	util_uuid(id);
	util_time_rfc3339(at, text);
	int rc = SQL_RUN(g->c,
			 "INSERT INTO support_comments (id, ticket_id, author_id, body, internal,"
			 " created_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?)",
			 SQL_T(id), SQL_T(ticket), SQL_T(author), SQL_T(body), SQL_I(internal), SQL_T(text),
			 SQL_I((int64_t)at * 1000000 + (int64_t)g->comments % 1000));
	g->comments++;
	return rc < 0 ? rc : ENT_OK;
}

static int history(struct sgen *g, const char *ticket, const char *actor, const char *field, const char *old,
		   const char *new, time_t at)
{
	char text[21];
	util_time_rfc3339(at, text);
	g->history++;
	return sup_history_add(g->c, ticket, actor, field, old, new, text,
			       (int64_t)at * 1000000 + (int64_t)g->history % 1000);
}

/* One ticket of requester (a student when cls is their class, else a teacher). */
static int ticket(struct sgen *g, arena *a, uint64_t i, const char *requester, const char *cls,
		  const char *const *teachers, size_t nteachers, const char **state_out)
{
	static const char *const priorities[] = {"low", "normal", "normal", "normal", "high", "urgent"};
	/* The states in their proportions, every one among the first five tickets. */
	static const char *const states[20] = {"new",    "open",   "waiting",  "resolved", "closed",
					       "closed", "open",   "closed",   "resolved", "closed",
					       "closed", "open",   "new",      "closed",   "waiting",
					       "open",   "closed", "resolved", "closed",   "closed"};
	uint64_t k = rnd(g, NKINDS);
	const char *state = states[i % 20];
	const char *priority = priorities[rnd(g, 6)], *category = kinds[k].category;
	*state_out = state;
	/* The handler: a teacher of the student's class for grades, else the administrator. */
	const char *staff = g->admin;
	if (!strcmp(category, "grades") && cls) {
		const char **ids;
		int n = cours_class_teachers(g->c, a, cls, &ids);
		if (n < 0)
			return n;
		if (n > 0)
			staff = ids[rnd(g, (uint64_t)n)];
	} else if (!strcmp(category, "grades") && nteachers)
		staff = teachers[rnd(g, nteachers)];
	const int hour = 3600;
	time_t created, resolved = 0, closed = 0, answered = 0, last;
	if (!strcmp(state, "new"))
		created = g->now - (time_t)(1 + rnd(g, 72)) * hour;
	else if (!strcmp(state, "resolved")) {
		resolved = g->now - (time_t)(1 + rnd(g, 6 * 24)) * hour;
		created = resolved - (time_t)(2 + rnd(g, 10 * 24)) * hour;
	} else if (!strcmp(state, "closed")) {
		created = g->now - (time_t)(10 * 24 + rnd(g, (DAYS - 10) * 24)) * hour;
		resolved = created + (time_t)(2 + rnd(g, 5 * 24)) * hour;
		closed = resolved + (time_t)(rnd(g, 2) ? 7 * 24 * hour : (time_t)(1 + rnd(g, 48)) * hour);
	} else
		created = g->now - (time_t)(6 + rnd(g, (DAYS - 1) * 24)) * hour;
	char id[37], c_text[21], fr_due[21], res_due[21];
	util_uuid(id);
	util_time_rfc3339(created, c_text);
	int rc = sup_deadlines(g->c, priority, c_text, fr_due, res_due);
	if (rc)
		return rc;
	int assigned = strcmp(state, "new") != 0;
	/* The staff's first answer, between the opening and the resolution (or now). */
	time_t bound = resolved ? resolved : g->now;
	if (assigned) {
		answered = created + (time_t)(1 + rnd(g, 30)) * hour / 2;
		if (answered >= bound)
			answered = created + (bound - created) / 2;
	}
	int rating = closed && rnd(g, 2) ? 1 + (int)rnd(g, 5) : 0;
	time_t rated = rating ? resolved + (closed - resolved) / 2 : 0;
	last = closed ? closed : resolved ? resolved : answered ? answered : created;
	char updated[21], fr_at[21], res_at[21], cl_at[21], rated_at[21];
	util_time_rfc3339(last, updated);
	util_time_rfc3339(answered, fr_at);
	util_time_rfc3339(resolved, res_at);
	util_time_rfc3339(closed, cl_at);
	util_time_rfc3339(rated, rated_at);
	db_stmt *s = db_prepare(
		g->c, "INSERT INTO support_requests (id, subject, description, category, priority, state, requester_id,"
		      " assignee_id, created_at, updated_at, first_response_due, resolution_due, first_response_at,"
		      " resolved_at, closed_at, rating, rating_comment, rated_at)"
		      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!s)
		return ENT_EDB;
	const char *v[15] = {id,
			     kinds[k].subject,
			     kinds[k].description,
			     category,
			     priority,
			     state,
			     requester,
			     assigned ? staff : NULL,
			     c_text,
			     updated,
			     fr_due,
			     res_due,
			     answered ? fr_at : NULL,
			     resolved ? res_at : NULL,
			     closed ? cl_at : NULL};
	for (int j = 0; j < 15; j++)
		db_bind_text_or_null(s, j + 1, v[j]);
	if (rating)
		db_bind_int64(s, 16, rating);
	else
		db_bind_null(s, 16);
	db_bind_text_or_null(s, 17, rating >= 4 ? "Merci, réponse rapide." : NULL);
	db_bind_text_or_null(s, 18, rating ? rated_at : NULL);
	rc = db_step(s);
	db_done(s);
	if (rc < 0)
		return rc;
	if ((rc = history(g, id, requester, "created", NULL, "new", created)))
		return rc;
	if (!assigned)
		return ENT_OK;
	/* Assigned and opened shortly after the creation, then the conversation. */
	time_t opened = created + (answered - created) / 2;
	if ((rc = history(g, id, g->admin, "assignee_id", NULL, staff, opened)) ||
	    (rc = history(g, id, staff, "state", "new", "open", opened)))
		return rc;
	if (kinds[k].note && rnd(g, 3) == 0 && (rc = comment(g, id, staff, kinds[k].note, 1, opened)))
		return rc;
	if ((rc = comment(g, id, staff, kinds[k].answer, 0, answered)))
		return rc;
	if (!strcmp(state, "waiting"))
		return history(g, id, staff, "state", "open", "waiting", answered);
	if (!resolved)
		return ENT_OK;
	time_t thanked = answered + (resolved - answered) / 2;
	if ((rc = comment(g, id, requester, thanks[rnd(g, 3)], 0, thanked)) ||
	    (rc = history(g, id, staff, "state", "open", "resolved", resolved)))
		return rc;
	if (rating) {
		char value[2] = {(char)('0' + rating), '\0'};
		if ((rc = history(g, id, requester, "rating", NULL, value, rated)))
			return rc;
	}
	if (closed)
		rc = history(g, id, closed - resolved >= 7 * 24 * hour ? NULL : requester, "state", "resolved",
			     "closed", closed);
	return rc;
}

/* One contestation by student (who has no other), or nothing when they have no published grade. 1 made, 0, or an ent_err. */
static int contest(struct sgen *g, arena *a, uint64_t i, const char *student)
{
	static const char *const states[6] = {"new", "open", "resolved", "closed", "open", "closed"};
	struct notes_grade_info *grades;
	int n = notes_student_grades(g->c, a, student, 10, &grades);
	if (n <= 0)
		return n;
	const struct notes_grade_info *gr = &grades[rnd(g, (uint64_t)n)];
	const char **teachers;
	int nt = notes_evaluation_teachers(g->c, a, gr->evaluation_id, &teachers);
	if (nt < 0 && nt != ENT_ENOTFOUND)
		return nt;
	const char *teacher = nt > 0 ? teachers[0] : g->admin, *state = states[i % 6];
	const int hour = 3600;
	int resolved_state = !strcmp(state, "resolved"), closed_state = !strcmp(state, "closed");
	/* A resolved one within the last six days (the auto-close), a closed one a day after its resolution. */
	time_t created = g->now - (time_t)(resolved_state ? 3 * 24 + rnd(g, 3 * 24)
					   : closed_state ? 2 * 24 + rnd(g, 18 * 24)
							  : 6 + rnd(g, 20 * 24)) *
					  hour;
	time_t answered = created + (time_t)(1 + rnd(g, 4)) * hour;
	time_t resolved = resolved_state || closed_state ? answered + hour : 0;
	time_t closed = closed_state ? resolved + (time_t)(1 + rnd(g, 24)) * hour : 0;
	int is_new = !strcmp(state, "new");
	char id[37], c_text[21], fr_due[21], res_due[21], fr_at[21], res_at[21], cl_at[21], updated[21];
	util_uuid(id);
	util_time_rfc3339(created, c_text);
	util_time_rfc3339(answered, fr_at);
	util_time_rfc3339(resolved, res_at);
	util_time_rfc3339(closed, cl_at);
	util_time_rfc3339(closed ? closed : resolved ? resolved : is_new ? created : answered, updated);
	int rc = sup_deadlines(g->c, "normal", c_text, fr_due, res_due);
	if (rc)
		return rc;
	const char *grade = sup_grade_text(a, gr);
	rc = SQL_RUN(
		g->c,
		"INSERT INTO support_requests (id, subject, description, category, priority, state, requester_id,"
		" assignee_id, evaluation_id, created_at, updated_at, first_response_due, resolution_due,"
		" first_response_at, resolved_at, closed_at) VALUES (?, ?, ?, 'grades', 'normal', ?, ?, ?, ?, ?, ?,"
		" ?, ?, ?, ?, ?)",
		SQL_T(id),
		SQL_T(arena_printf(a, "Révision de note : %.80s (%.80s)", gr->evaluation_title, gr->course_title)),
		SQL_T(arena_printf(a, "Je pense qu'une question n'a pas été comptée dans ma note (%s).", grade)),
		SQL_T(state), SQL_T(student), SQL_T(teacher), SQL_T(gr->evaluation_id), SQL_T(c_text), SQL_T(updated),
		SQL_T(fr_due), SQL_T(res_due), SQL_T(is_new ? NULL : fr_at), SQL_T(resolved ? res_at : NULL),
		SQL_T(closed ? cl_at : NULL));
	if (rc < 0 || (rc = history(g, id, student, "created", NULL, "new", created)) ||
	    (rc = history(g, id, NULL, "assignee_id", NULL, teacher, created)) || is_new)
		return rc < 0 ? rc : 1;
	if ((rc = comment(g, id, teacher,
			  "J'ai repris votre copie : le barème a bien été appliqué, la note est maintenue. Je vous "
			  "montre la correction en classe.",
			  0, answered)) ||
	    (rc = history(g, id, teacher, "state", "new", "open", answered)) || !resolved)
		return rc < 0 ? rc : 1;
	if ((rc = history(g, id, teacher, "state", "open", "resolved", resolved)) ||
	    (closed && (rc = history(g, id, student, "state", "resolved", "closed", closed))))
		return rc;
	return 1;
}

/* The FAQ's articles and the users' "this answered my question" (n of them, among users). */
static int faq(struct sgen *g, arena *a, char (*students)[37], size_t ns, const char *const *teachers, size_t nt,
	       uint64_t n, uint64_t *votes)
{
	char now[21];
	util_time_rfc3339(g->now, now);
	int made = 0;
	int rc = sup_faq_defaults(g->c, g->admin, now, &made);
	const char **articles;
	int na = rc ? rc
		    : db_texts(g->c, a, "SELECT id FROM support_faq WHERE published = 1 ORDER BY id", NULL, NULL,
			       &articles);
	if (na <= 0)
		return na;
	for (uint64_t i = 0; i < n && ns + nt > 0; i++) {
		uint64_t k = rnd(g, ns + nt);
		const char *user = k < ns ? students[k] : teachers[k - ns];
		char at[21];
		util_time_rfc3339(g->now - (time_t)rnd(g, DAYS * 86400), at);
		int64_t changed = 0;
		rc = SQL_CHANGE(g->c, &changed,
				"INSERT INTO support_faq_helpful (article_id, user_id, at) VALUES (?, ?, ?)"
				" ON CONFLICT (article_id, user_id) DO NOTHING",
				SQL_T(articles[rnd(g, (uint64_t)na)]), SQL_T(user), SQL_T(at));
		if (rc < 0)
			return rc;
		*votes += (uint64_t)changed;
	}
	rc = db_run(g->c,
		    "UPDATE support_faq SET helpful_count = (SELECT COUNT(*) FROM support_faq_helpful h"
		    " WHERE h.article_id = support_faq.id)",
		    NULL, NULL);
	return rc < 0 ? rc : ENT_OK;
}

int sup_generate(db_conn *c, const struct scale *sc)
{
	arena *a = arena_new(0);
	char(*students)[37] = NULL;
	size_t ns = 0;
	const char **teachers = NULL;
	struct sgen g = {.c = c, .rng = sc->seed * 0xd1342543de82ef95u + 11, .now = time(NULL)};
	struct user admin;
	int rc = a ? users_find_login(c, a, "admin@" SCALE_DOMAIN, &admin) : ENT_ENOMEM;
	if (!rc)
		rc = users_scale_students(c, &students, &ns);
	int nt = rc ? 0 : users_with_role(c, a, "enseignant", &teachers);
	if (nt < 0)
		rc = nt;
	if (rc || (ns == 0 && nt == 0))
		goto out;
	g.admin = admin.id;
	uint64_t total = ((uint64_t)ns + (uint64_t)nt) * TICKETS_PER_100 / 100, by_state[5] = {0};
	if ((rc = db_begin(c)))
		goto out;
	for (uint64_t i = 0; i < total && !rc; i++) {
		arena *ta = arena_new(0);
		if (!ta) {
			rc = ENT_ENOMEM;
			break;
		}
		int student = (nt == 0 || rnd(&g, 5) < 4) && ns > 0;
		const char *requester = student ? students[rnd(&g, ns)] : teachers[rnd(&g, (uint64_t)nt)];
		char cls[37];
		int has_class = 0;
		if (student) {
			rc = users_student_class(c, requester, cls);
			has_class = rc == ENT_OK;
			if (rc == ENT_ENOTFOUND)
				rc = ENT_OK;
		}
		const char *state = NULL;
		if (!rc)
			rc = ticket(&g, ta, i, requester, has_class ? cls : NULL, teachers, (size_t)nt, &state);
		arena_free(ta);
		for (int k = 0; !rc && k < 5; k++)
			if (!strcmp(sup_states[k], state))
				by_state[k]++;
		sc->progress("tickets", i + 1, total);
	}
	/* Contestations: distinct students, spread over the list. */
	uint64_t ncontest = (uint64_t)ns * CONTESTS_PER_1000 / 1000, contests = 0, votes = 0;
	for (uint64_t i = 0; i < ncontest && !rc; i++) {
		arena *ta = arena_new(0);
		if (!ta) {
			rc = ENT_ENOMEM;
			break;
		}
		int made = contest(&g, ta, i, students[(i * (ns / ncontest) + rnd(&g, ns / ncontest)) % ns]);
		arena_free(ta);
		if (made < 0)
			rc = made;
		else
			contests += (uint64_t)made;
		sc->progress("contestations", i + 1, ncontest);
	}
	if (!rc)
		rc = faq(&g, a, students, ns, teachers, (size_t)nt,
			 ((uint64_t)ns + (uint64_t)nt) * HELPFUL_PER_100 / 100, &votes);
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (!rc) {
		printf("Support: %llu tickets (%llu new, %llu open, %llu waiting, %llu resolved, %llu closed), "
		       "%llu comments; %llu grade contestations; %llu FAQ answers found helpful.\n",
		       (unsigned long long)total, (unsigned long long)by_state[0], (unsigned long long)by_state[1],
		       (unsigned long long)by_state[2], (unsigned long long)by_state[3],
		       (unsigned long long)by_state[4], (unsigned long long)g.comments, (unsigned long long)contests,
		       (unsigned long long)votes);
		fflush(stdout);
	}
out:
	free(students);
	if (a)
		arena_free(a);
	return rc;
}
