/*
 * generate.c - the messagerie's part of `ent demo --scale N`: about fifty messages in each
 * student's mailbox since the start of the school year, most of them through a class's fan-out.
 *
 * The users and cours parts ran first. Each class ("6e 001" ..., named as the users part names
 * them) is found through users.h, its students with users_class_members and its teachers (those of
 * its courses) with cours_class_teachers, never their tables. For every class:
 *   - CLASS_MSGS messages of its teachers to the class (an address of type class), one in
 *     ACK_EVERY asking for an acknowledgement;
 *   - ADMIN_MSGS announcements of the district's administrator to the class, the first asking for
 *     an acknowledgement;
 *   - COLLEAGUE_MSGS messages of a teacher to the class's other teachers (class_teachers), which
 *     half of the recipients filed in their own folder "Conseils de classe";
 *   - for each student, CONVERSATIONS conversations with a teacher of the class: the student's
 *     question, the teacher's answer (one in BCC_EVERY with a colleague in bcc), and half of the
 *     time the student's thanks; and one message to a classmate.
 * Times are spread from the first days of the school year to an hour ago. A copy is read with a
 * probability that falls with its age (95 % after two weeks, 35 % in the last three days); a read
 * copy of an announcement is acknowledged 85 % of the time; a few read copies are in the trash
 * (put there in the last 20 days, so the 30-day purge keeps them). Senders' copies are in their
 * "sent" folder, read, as sending leaves them.
 *
 * Rows are written as msg_store() writes them (messages, message_addresses, message_boxes,
 * messages_fts), by multi-row INSERTs (one round trip per ROWS rows on PostgreSQL), committed
 * every BATCH rows; a table's rows are written after those of the messages they reference. On
 * SQLite, each FTS5 row gets the rowid its message keeps (search_rowid), and the index is merged
 * into one segment at the end, as migration 4 leaves it (messagerie.c). No bus event: generated
 * mail is history, not news (the notifications part has its own rows).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/service.h"
#include "core/util.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

#define BATCH 20000
#define ROWS 50
#define CLASS_MSGS 40
#define ACK_EVERY 6
#define ADMIN_MSGS 2
#define COLLEAGUE_MSGS 4
#define CONVERSATIONS 2
#define BCC_EVERY 10
#define FOLDER_NAME "Conseils de classe"

static const char *const levels[7] = {"6e", "5e", "4e", "3e", "2de", "1re", "Tle"};

/* ---- multi-row inserts ---- */

struct val {
	const char *s; /* text (NULL: SQL NULL), for a 't' column */
	int64_t i;     /* for an 'i' column */
};

struct bulk {
	db_conn *c;
	const char *head, *row; /* "INSERT ... VALUES ", "(?, ...)" */
	const char *types;      /* one letter a column: 't' text or NULL, 'i' integer, 'j' integer or NULL (< 0) */
	int ncols, n;
	struct bulk *parent; /* written first: the rows referenced by these */
	arena *keep;         /* the statements' text, for the whole run */
	arena *a;            /* the pending rows' text */
	struct val *v;       /* ROWS * ncols */
	const char *sql[ROWS];
	uint64_t *done; /* rows written by all the tables, for the commits */
	uint64_t count; /* rows of this table */
};

static int bulk_flush(struct bulk *b)
{
	if (!b->n)
		return ENT_OK;
	int rc;
	if (b->parent && (rc = bulk_flush(b->parent)))
		return rc;
	if (!b->sql[b->n - 1]) {
		size_t hl = strlen(b->head), rl = strlen(b->row);
		char *sql = arena_alloc(b->keep, hl + (size_t)b->n * (rl + 1) + 1), *p = sql;
		memcpy(p, b->head, hl);
		p += hl;
		for (int i = 0; i < b->n; i++) {
			if (i)
				*p++ = ',';
			memcpy(p, b->row, rl);
			p += rl;
		}
		*p = '\0';
		b->sql[b->n - 1] = sql;
	}
	db_stmt *s = db_prepare(b->c, b->sql[b->n - 1]);
	if (!s)
		return ENT_EDB;
	for (int i = 0; i < b->n * b->ncols; i++) {
		char type = b->types[i % b->ncols];
		if (type == 'j' && b->v[i].i < 0)
			db_bind_null(s, i + 1);
		else if (type != 't')
			db_bind_int64(s, i + 1, b->v[i].i);
		else
			db_bind_text_or_null(s, i + 1, b->v[i].s);
	}
	rc = db_step(s);
	db_done(s);
	if (rc < 0)
		return rc;
	uint64_t before = *b->done;
	*b->done += (uint64_t)b->n;
	b->count += (uint64_t)b->n;
	b->n = 0;
	arena_free(b->a);
	if (!(b->a = arena_new(0)))
		return ENT_ENOMEM;
	if (*b->done / BATCH != before / BATCH && ((rc = db_commit(b->c)) || (rc = db_begin(b->c))))
		return rc;
	return ENT_OK;
}

/* Adds a row (text copied); writes ROWS rows at a time. */
static int bulk_add(struct bulk *b, const struct val *vals)
{
	struct val *row = &b->v[b->n * b->ncols];
	for (int i = 0; i < b->ncols; i++) {
		row[i] = vals[i];
		if (b->types[i] == 't' && vals[i].s)
			row[i].s = arena_strdup(b->a, vals[i].s);
	}
	if (++b->n < ROWS)
		return ENT_OK;
	return bulk_flush(b);
}

/* ---- texts ---- */

static const char *const class_subjects[][2] = {
	{"Contrôle de %s vendredi", "Bonjour à tous,\n\nLe contrôle portera sur les chapitres 3 et 4. Revoyez les "
				    "exercices corrigés en classe.\n\nBon courage."},
	{"Sortie pédagogique de la %s", "Bonjour,\n\nLa classe se rendra au musée mardi prochain. Merci de rapporter "
					"l'autorisation de sortie signée avant vendredi."},
	{"Manuel à apporter pour la %s", "Bonjour,\n\nPensez à apporter le manuel et le cahier d'exercices à chaque "
					 "séance de la semaine prochaine."},
	{"Devoir maison de la %s", "Bonjour à tous,\n\nLe devoir maison est à rendre lundi. L'énoncé est dans les "
				   "documents du cours."},
	{"Changement de salle pour la %s", "Bonjour,\n\nLe cours de jeudi aura lieu exceptionnellement en salle 204."},
	{"Correction du contrôle de la %s", "Bonjour,\n\nLa correction est en ligne. Relisez-la avant la prochaine "
					    "séance : nous reprendrons les erreurs fréquentes."},
	{"Exposés de la %s : les sujets", "Bonjour à tous,\n\nVoici la liste des sujets d'exposé ; inscrivez-vous "
					  "en binôme avant mercredi."},
	{"Rappel : fournitures de la %s", "Bonjour,\n\nIl manque encore des calculatrices à plusieurs d'entre vous : "
					  "merci d'en avoir une dès la semaine prochaine."},
};
#define NCLASS_SUBJECTS (sizeof(class_subjects) / sizeof(class_subjects[0]))

static const char *const admin_subjects[][2] = {
	{"Photo de classe de la %s", "Madame, Monsieur,\n\nLa photo de classe aura lieu jeudi matin. Merci de "
				     "confirmer la lecture de ce message.\n\nLa vie scolaire"},
	{"Réunion parents-professeurs de la %s", "Madame, Monsieur,\n\nLa réunion parents-professeurs aura lieu le "
						 "mardi 8 à partir de 17 h.\n\nL'administration"},
};

static const char *const colleague_subjects[][2] = {
	{"Conseil de classe de la %s", "Bonjour à tous,\n\nPouvez-vous saisir vos appréciations avant jeudi ? Je "
				       "prépare la synthèse pour le conseil."},
	{"Projet interdisciplinaire de la %s", "Bonjour,\n\nJe propose un projet commun pour le deuxième trimestre. "
					       "Qui serait partant ?"},
	{"Élève absent en %s", "Bonjour,\n\nUn élève de la classe est absent depuis une semaine ; avez-vous des "
			       "nouvelles de la famille ?"},
	{"Sortie de la %s : accompagnateurs", "Bonjour,\n\nIl nous manque un accompagnateur pour la sortie de "
					      "mardi. Merci de me dire si vous êtes disponible."},
};

static const char *const questions[][2] = {
	{"Question sur le devoir", "Bonjour,\n\nPour l'exercice 3, faut-il rédiger la démonstration ou seulement "
				   "donner le résultat ?\n\nMerci."},
	{"Absence au dernier cours", "Bonjour,\n\nJ'étais absent au dernier cours : pouvez-vous me dire ce qu'il "
				     "faut rattraper ?\n\nMerci beaucoup."},
	{"Document introuvable", "Bonjour,\n\nJe ne trouve pas la fiche de révision dans les documents du cours. "
				 "Est-elle en ligne ?"},
	{"Date du prochain contrôle", "Bonjour,\n\nLe contrôle a-t-il lieu mardi ou jeudi ?\n\nMerci."},
	{"Exposé en binôme", "Bonjour,\n\nPuis-je faire l'exposé avec un élève d'une autre classe ?"},
};
#define NQUESTIONS (sizeof(questions) / sizeof(questions[0]))

static const char *const answers[] = {
	"Bonjour,\n\nIl faut rédiger la démonstration : chaque étape compte.\n\nBon courage !",
	"Bonjour,\n\nLe cours est dans les documents en ligne ; demande aussi les notes d'un camarade.",
	"Bonjour,\n\nJe viens de la mettre en ligne, elle est dans les documents du cours.",
	"Bonjour,\n\nLe contrôle a lieu jeudi, comme annoncé en classe.",
	"Bonjour,\n\nNon, les binômes sont dans la même classe.",
};

static const char *const classmate_subjects[][2] = {
	{"Les devoirs pour demain", "Salut, tu as noté les exercices pour demain ? Je crois que j'ai oublié la "
				    "page."},
	{"Exposé", "Salut, on se retrouve au CDI mercredi pour préparer l'exposé ?"},
	{"Cahier de sciences", "Salut, tu peux me prêter ton cahier de sciences ? J'ai raté le dernier cours."},
};

/* tmpl with its "%s" replaced by name, into out. */
static void fill(char *out, size_t size, const char *tmpl, const char *name)
{
	const char *at = strstr(tmpl, "%s");
	if (at)
		snprintf(out, size, "%.*s%s%s", (int)(at - tmpl), tmpl, name, at + 2);
	else
		snprintf(out, size, "%s", tmpl);
}

/* ---- the generator ---- */

struct gen {
	db_conn *c;
	uint64_t rng;
	int64_t start_us, now_us; /* messages between the two */
	struct bulk msgs, addrs, boxes, fts, folders;
	/* Every teacher's folder "Conseils de classe": ids sorted, with the folder of each. */
	const char **teachers;
	char (*folder)[37];
	size_t nteachers;
	const char *admin;
	uint64_t nmessages, ntrash;
	int64_t search_rowid; /* SQLite: the last FTS5 rowid given; -1 on PostgreSQL (none) */
};

static uint64_t rnd(struct gen *g, uint64_t n) { return n ? util_splitmix64(&g->rng) % n : 0; }

/* A time between a and b (microseconds). */
static int64_t between(struct gen *g, int64_t a, int64_t b)
{
	return b > a ? a + (int64_t)rnd(g, (uint64_t)(b - a)) : a;
}

static int by_str(const void *p, const void *q) { return strcmp(*(const char *const *)p, *(const char *const *)q); }

static const char *folder_of(const struct gen *g, const char *teacher)
{
	const char **hit = bsearch(&teacher, g->teachers, g->nteachers, sizeof(*g->teachers), by_str);
	return hit ? g->folder[hit - g->teachers] : NULL;
}

/* One message: its row, its addresses (n) and search text. id is filled. */
static int message(struct gen *g, char id[37], const char *thread, const char *reply_to, const char *sender,
		   const char *subject, const char *body, int ack, int64_t at, const struct msg_addr *addrs, size_t n)
{
	char at_text[21];
	msg_time(at, at_text);
	util_uuid(id);
	int64_t rowid = g->search_rowid < 0 ? -1 : ++g->search_rowid;
	struct val m[12] = {{id, 0},       {thread ? thread : id, 0},
			    {reply_to, 0}, {sender, 0},
			    {subject, 0},  {body, 0},
			    {NULL, ack},   {at_text, 0},
			    {NULL, at},    {at_text, 0},
			    {at_text, 0},  {NULL, rowid}};
	int rc = bulk_add(&g->msgs, m);
	for (size_t i = 0; i < n && !rc; i++) {
		struct val v[5] = {
			{id, 0}, {NULL, (int64_t)i}, {addrs[i].kind, 0}, {addrs[i].type, 0}, {addrs[i].id, 0}};
		rc = bulk_add(&g->addrs, v);
	}
	if (!rc && rowid < 0) { /* PostgreSQL; SQLite's rows are written at the end, with their owners */
		struct val f[3] = {{id, 0}, {subject, 0}, {body, 0}};
		rc = bulk_add(&g->fts, f);
	}
	if (!rc) { /* the sender's copy */
		struct val b[9] = {{id, 0},   {sender, 0}, {"sender", 0}, {"sent", 0}, {NULL, 0},
				   {NULL, 0}, {NULL, at},  {at_text, 0},  {NULL, 0}};
		rc = bulk_add(&g->boxes, b);
	}
	g->nmessages++;
	return rc;
}

/*
 * A recipient's copy of message id sent at: read (and acknowledged, when ack) with a probability
 * that falls with its age; folder NULL for the inbox.
 */
static int copy(struct gen *g, const char *id, const char *user, const char *kind, int64_t at, int ack,
		const char *folder)
{
	int64_t day = 86400LL * 1000000, age = g->now_us - at;
	uint64_t p = age > 14 * day ? 95 : age > 3 * day ? 75 : 35;
	int read = rnd(g, 100) < p;
	char read_at[21], acked_at[21], trashed_at[21];
	int64_t read_us = between(g, at + 600LL * 1000000, at + 2 * day);
	if (read_us > g->now_us)
		read_us = g->now_us;
	msg_time(read_us, read_at);
	int acked = read && ack && rnd(g, 100) < 85;
	memcpy(acked_at, read_at, sizeof(acked_at));
	/* A few read copies of the inbox went to the trash in the last 20 days. */
	int trash = read && !folder && !ack && rnd(g, 100) < 3;
	if (trash) {
		int64_t t = between(g, g->now_us - 20 * day, g->now_us);
		msg_time(t < read_us ? read_us : t, trashed_at);
		g->ntrash++;
	}
	const char *in = folder ? folder : "inbox";
	struct val b[9] = {{id, 0},
			   {user, 0},
			   {kind, 0},
			   {trash ? "trash" : in, 0},
			   {trash ? in : NULL, 0},
			   {trash ? trashed_at : NULL, 0},
			   {NULL, at},
			   {read ? read_at : NULL, 0},
			   {acked ? acked_at : NULL, 0}};
	return bulk_add(&g->boxes, b);
}

/* The messages of class k. */
static int gen_class(struct gen *g, arena *a, const struct scale *sc, unsigned k)
{
	char name[32], cls[37];
	snprintf(name, sizeof name, "%s %03u", levels[k % 7], k / 7 + 1);
	int rc = users_class_find(g->c, name, sc->school_year, cls);
	if (rc == ENT_ENOTFOUND)
		return ENT_OK;
	if (rc)
		return rc;
	char **students;
	const char **teachers;
	int ns = users_class_members(g->c, a, cls, &students);
	if (ns < 0)
		return ns;
	int nt = cours_class_teachers(g->c, a, cls, &teachers);
	if (nt < 0)
		return nt;
	if (ns == 0)
		return ENT_OK;
	char id[37], first[37], subject[160];
	int64_t span_end = g->now_us - 3600LL * 1000000;
	/* The teachers' and the administration's messages to the class. */
	struct msg_addr to_class = {"to", "class", cls};
	for (int j = 0; j < CLASS_MSGS + ADMIN_MSGS && !rc; j++) {
		int admin = j >= CLASS_MSGS || nt == 0;
		const char *sender = admin ? g->admin : teachers[j % nt];
		const char *const *t = admin ? admin_subjects[j % 2] : class_subjects[rnd(g, NCLASS_SUBJECTS)];
		int ack = admin ? j == CLASS_MSGS : j % ACK_EVERY == 0;
		fill(subject, sizeof subject, t[0], name);
		int64_t at = between(g, g->start_us, span_end);
		if ((rc = message(g, id, NULL, NULL, sender, subject, t[1], ack, at, &to_class, 1)))
			break;
		for (int s = 0; s < ns && !rc; s++)
			rc = copy(g, id, students[s], "to", at, ack, NULL);
	}
	/* Between the class's teachers. */
	struct msg_addr to_teachers = {"to", "class_teachers", cls};
	for (int j = 0; j < COLLEAGUE_MSGS && nt > 1 && !rc; j++) {
		const char *sender = teachers[rnd(g, (uint64_t)nt)];
		fill(subject, sizeof subject, colleague_subjects[j % 4][0], name);
		int64_t at = between(g, g->start_us, span_end);
		if ((rc = message(g, id, NULL, NULL, sender, subject, colleague_subjects[j % 4][1], 0, at, &to_teachers,
				  1)))
			break;
		for (int t = 0; t < nt && !rc; t++)
			if (strcmp(teachers[t], sender))
				rc = copy(g, id, teachers[t], "to", at, 0,
					  rnd(g, 2) ? folder_of(g, teachers[t]) : NULL);
	}
	/* Each student's conversations with the teachers, and a message to a classmate. */
	for (int s = 0; s < ns && !rc; s++) {
		for (int j = 0; j < CONVERSATIONS && nt > 0 && !rc; j++) {
			int ti = (int)rnd(g, (uint64_t)nt);
			const char *teacher = teachers[ti];
			int qi = (int)rnd(g, NQUESTIONS);
			const char *const *q = questions[qi];
			int64_t at = between(g, g->start_us, span_end);
			struct msg_addr to = {"to", "user", teacher};
			if ((rc = message(g, first, NULL, NULL, students[s], q[0], q[1], 0, at, &to, 1)) ||
			    (rc = copy(g, first, teacher, "to", at, 0, NULL)))
				break;
			/* The answer, an hour to a day later, sometimes with a colleague in bcc. */
			int64_t at2 = at + (int64_t)(1 + rnd(g, 20)) * 3600 * 1000000;
			if (at2 >= g->now_us)
				continue;
			snprintf(subject, sizeof subject, "RE : %s", q[0]);
			struct msg_addr back[2] = {{"to", "user", students[s]}, {"bcc", "user", NULL}};
			int bcc = nt > 1 && rnd(g, BCC_EVERY) == 0;
			if (bcc)
				back[1].id = teachers[(ti + 1) % nt];
			if ((rc = message(g, id, first, first, teacher, subject, answers[qi], 0, at2, back,
					  bcc ? 2 : 1)) ||
			    (rc = copy(g, id, students[s], "to", at2, 0, NULL)) ||
			    (bcc && (rc = copy(g, id, back[1].id, "bcc", at2, 0, NULL))))
				break;
			/* Half of the time, the student thanks. */
			int64_t at3 = at2 + (int64_t)(1 + rnd(g, 5)) * 3600 * 1000000;
			if (at3 >= g->now_us || rnd(g, 2))
				continue;
			char reply[37];
			if ((rc = message(g, reply, first, id, students[s], subject, "Merci beaucoup !", 0, at3, &to,
					  1)))
				break;
			rc = copy(g, reply, teacher, "to", at3, 0, NULL);
		}
		if (ns > 1 && !rc) {
			const char *mate = students[(s + 1 + (int)rnd(g, (uint64_t)ns - 1)) % ns];
			const char *const *t = classmate_subjects[rnd(g, 3)];
			int64_t at = between(g, g->start_us, span_end);
			struct msg_addr to = {"to", "user", mate};
			if (!(rc = message(g, id, NULL, NULL, students[s], t[0], t[1], 0, at, &to, 1)))
				rc = copy(g, id, mate, "to", at, 0, NULL);
		}
	}
	return rc;
}

int msg_generate(db_conn *c, const struct scale *sc)
{
	struct gen *g = calloc(1, sizeof(*g));
	arena *a = arena_new(0), *keep = arena_new(0);
	int rc = ENT_OK;
	if (!g || !a || !keep) {
		free(g);
		if (a)
			arena_free(a);
		if (keep)
			arena_free(keep);
		return ENT_ENOMEM;
	}
	uint64_t done = 0;
	g->c = c;
	g->rng = sc->seed * 0x2545f4914f6cdd1du + 9;
	g->msgs = (struct bulk){
		.head = "INSERT INTO messages (id, thread_id, in_reply_to, forward_of, sender_id, subject, body, state,"
			" ack_required, send_at, sent_at, submitted_us, recalled_at, created_at, updated_at, auto_reply,"
			" search_rowid) VALUES ",
		.row = "(?, ?, ?, NULL, ?, ?, ?, 'sent', ?, NULL, ?, ?, NULL, ?, ?, 0, ?)",
		.types = "ttttttitittj"};
	g->addrs = (struct bulk){
		.head = "INSERT INTO message_addresses (message_id, position, kind, type, ref_id) VALUES ",
		.row = "(?, ?, ?, ?, ?)",
		.types = "tittt",
		.parent = &g->msgs};
	g->boxes = (struct bulk){.head = "INSERT INTO message_boxes (message_id, user_id, role, folder, prev_folder,"
					 " trashed_at, at_us, visible, read_at, acked_at) VALUES ",
				 .row = "(?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
				 .types = "ttttttitt",
				 .parent = &g->msgs};
	/*
	 * PostgreSQL's search rows go in with the messages; SQLite's FTS5 rows are written once every
	 * copy is in (their owners, MSG_OWNERS_SQL), with the rowids their messages keep (search_rowid).
	 */
	int sqlite = db_conn_kind(c) == DB_SQLITE;
	g->fts = (struct bulk){.head = "INSERT INTO messages_fts (message_id, subject, body) VALUES ",
			       .row = "(?, ?, ?)",
			       .types = "ttt"};
	g->search_rowid = -1;
	if (sqlite) {
		db_stmt *s = db_prepare(c, "SELECT COALESCE(MAX(rowid), 0) FROM messages_fts");
		rc = !s ? ENT_EDB : db_step(s) == DB_ROW ? ENT_OK : ENT_EDB;
		if (!rc)
			g->search_rowid = db_col_int64(s, 0);
		db_done(s);
	}
	int64_t first_rowid = g->search_rowid;
	g->folders = (struct bulk){.head = "INSERT INTO message_folders (id, owner_id, name, created_at) VALUES ",
				   .row = "(?, ?, ?, ?)",
				   .types = "tttt"};
	struct bulk *all[] = {&g->folders, &g->msgs, &g->addrs, &g->boxes, &g->fts};
	for (size_t i = 0; i < 5; i++) {
		all[i]->c = c;
		all[i]->ncols = (int)strlen(all[i]->types);
		all[i]->keep = keep;
		all[i]->done = &done;
		all[i]->a = arena_new(0);
		all[i]->v = calloc(ROWS * (size_t)all[i]->ncols, sizeof(struct val));
		if (!all[i]->a || !all[i]->v)
			rc = ENT_ENOMEM;
	}
	struct user admin;
	if (!rc)
		rc = users_find_login(c, a, "admin@" SCALE_DOMAIN, &admin);
	if (rc)
		goto out;
	g->admin = admin.id;
	/* From the first Monday of September (the 3rd or later) to now. */
	int year = atoi(sc->school_year);
	char first_day[21];
	snprintf(first_day, sizeof first_day, "%04d-09-03T08:00:00Z", year);
	time_t start;
	if (util_parse_rfc3339(first_day, &start)) {
		rc = ENT_EINTERNAL;
		goto out;
	}
	g->now_us = msg_now_us();
	g->start_us = (int64_t)start * 1000000;
	if (g->start_us > g->now_us - 86400LL * 1000000)
		g->start_us = g->now_us - 86400LL * 1000000;
	/* The teachers' own folder. */
	int nt = users_with_role(c, a, "enseignant", &g->teachers);
	if (nt < 0) {
		rc = nt;
		goto out;
	}
	g->nteachers = (size_t)nt;
	g->folder = calloc(g->nteachers ? g->nteachers : 1, sizeof(*g->folder));
	if (!g->folder) {
		rc = ENT_ENOMEM;
		goto out;
	}
	if ((rc = db_begin(c)))
		goto out;
	char created[21];
	msg_time(g->start_us, created);
	for (size_t i = 0; i < g->nteachers && !rc; i++) {
		util_uuid(g->folder[i]);
		struct val f[4] = {{g->folder[i], 0}, {g->teachers[i], 0}, {FOLDER_NAME, 0}, {created, 0}};
		rc = bulk_add(&g->folders, f);
	}
	if (!rc)
		rc = bulk_flush(&g->folders);
	for (unsigned k = 0; k < sc->classes && !rc; k++) {
		arena *ka = arena_new(0);
		rc = ka ? gen_class(g, ka, sc, k) : ENT_ENOMEM;
		if (ka)
			arena_free(ka);
		sc->progress("messages", k + 1, sc->classes);
	}
	for (size_t i = 1; i < 5 && !rc; i++)
		rc = bulk_flush(all[i]);
	/* SQLite: the search rows of the new messages, then the index in one segment, as the migration
	 * leaves it (messagerie.c). */
	if (!rc && sqlite) {
		db_stmt *s = db_prepare(c, "INSERT INTO messages_fts (rowid, message_id, owners, subject, body)"
					   " SELECT m.search_rowid, m.id, " MSG_OWNERS_SQL(
						   "m.id") ", m.subject, m.body"
							   " FROM messages m WHERE m.search_rowid > ?");
		rc = ENT_EDB;
		if (s) {
			db_bind_int64(s, 1, first_rowid);
			rc = db_step(s);
			db_done(s);
			rc = rc < 0 ? rc : ENT_OK;
		}
	}
	if (!rc && sqlite)
		rc = db_run(c, "INSERT INTO messages_fts (messages_fts) VALUES ('optimize')", NULL, NULL);
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (!rc) {
		printf("Messages: %llu messages, %llu mailbox copies (%llu of recipients, %llu in the trash), "
		       "%zu folders.\n",
		       (unsigned long long)g->nmessages, (unsigned long long)g->boxes.count,
		       (unsigned long long)(g->boxes.count - g->nmessages), (unsigned long long)g->ntrash,
		       g->nteachers);
		fflush(stdout);
	}
out:
	for (size_t i = 0; i < 5; i++) {
		free(all[i]->v);
		if (all[i]->a)
			arena_free(all[i]->a);
	}
	free(g->folder);
	free(g);
	arena_free(keep);
	arena_free(a);
	return rc;
}
