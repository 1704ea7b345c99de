/*
 * generate.c - the calendar service's part of `ent demo --scale N`: every class's timetable for
 * the school year, and homework.
 *
 * The users and cours parts ran first. Their classes ("6e 001" ..., named by level = k % 7 and
 * number = k / 7 + 1), teachers (t1@ ...) and courses are found through users.h and cours.h
 * (users_class_find, users_find_login, cours_of_class, cours_title, cours_taught_by), never their
 * tables. Each class's week has 28 hours of lessons on a collège's grid of 32 slots (08:00 to
 * 16:45, Wednesday mornings only): its courses share them by their subject's weight (French 4.5
 * hours, mathematics 4 ...), scaled to 28; a course with a half hour left gets a slot every other
 * week (INTERVAL=2), two such courses sharing one slot on A and B weeks. The slots are drawn at
 * random for each class. Every slot is one weekly series of its course (audience course, taught by
 * the course's teacher) from the first day of classes to the summer. Each course gets
 * HOMEWORK_PER_COURSE homework spread over the year, each due at one of its lessons and given at
 * the lesson before. The school year's holidays (zone C) are stored as in the demo.
 *
 * Rows go in by multi-row INSERTs (one round trip per ROWS rows on PostgreSQL), committed every
 * BATCH rows. Randomness comes from util_splitmix64 seeded by --seed: the same seed gives the same
 * timetables (ids aside).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/service.h"
#include "core/util.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

#define BATCH 5000
#define ROWS 20 /* rows per INSERT statement */
#define HOURS 28
#define NPOS 32
#define HOMEWORK_PER_COURSE 10
#define MAX_COURSES 24 /* per class; more are left without lessons */

static const char *const levels[7] = {"6e", "5e", "4e", "3e", "2de", "1re", "Tle"};

/* Weekly half hours of a subject (a collège's timetable), and its room (NULL: a numbered one). */
static const struct {
	const char *name;
	int halves;
	const char *room;
} weights[] = {
	{"Mathématiques", 8, NULL},
	{"Français", 9, NULL},
	{"Histoire-Géographie", 6, NULL},
	{"Anglais", 6, NULL},
	{"SVT", 3, "Laboratoire 1"},
	{"Physique-Chimie", 3, "Laboratoire 2"},
	{"Espagnol", 5, NULL},
	{"Technologie", 3, "Salle de technologie"},
	{"Arts plastiques", 2, "Salle d'arts plastiques"},
	{"EPS", 6, "Gymnase"},
};
#define NWEIGHTS (sizeof(weights) / sizeof(weights[0]))

static const struct {
	int h, m;
} slot_time[7] = {{8, 0}, {9, 0}, {10, 15}, {11, 15}, {13, 30}, {14, 30}, {15, 45}};
static const char *const byday[5] = {"MO", "TU", "WE", "TH", "FR"};

static const char *const homework[6][3] = {
	{"Exercices du manuel", "Faire les exercices 3 à 6 de la page 84.", "Correction des exercices de la séance."},
	{"Apprendre la leçon", "Revoir le cours et apprendre les définitions du chapitre.",
	 "Nouvelle leçon et exemples."},
	{"Préparer le contrôle", "Refaire les exercices corrigés et la fiche de révision.",
	 "Fiche de révision distribuée."},
	{"Lecture", "Lire le document distribué et répondre aux trois questions.", "Lecture commentée en classe."},
	{"Exposé", "Préparer l'exposé en binôme (cinq minutes).", "Choix des sujets d'exposé."},
	{"Rédaction", "Rédiger un paragraphe argumenté d'une quinzaine de lignes.", "Méthode du paragraphe argumenté."},
};

/* Position p (0..31) of the week: its day (0 = Monday) and slot. */
static void position(int p, int *day, int *slot)
{
	static const int first[6] = {0, 7, 14, 18, 25, 32};
	int d = 0;
	while (p >= first[d + 1])
		d++;
	*day = d;
	*slot = p - first[d];
}

/* ---- multi-row inserts ---- */

struct bulk {
	db_conn *c;
	const char *head, *row; /* "INSERT ... VALUES ", "(?, ...)" */
	int ncols, n;
	arena *keep;           /* the statements' text, for the whole run */
	arena *a;              /* the pending rows' values */
	const char **v;        /* ROWS * ncols values */
	const char *sql[ROWS]; /* the statement of n rows at [n - 1], made when first needed */
	uint64_t *done;        /* rows written, shared by the tables (for the commits) */
};

static int bulk_flush(struct bulk *b)
{
	if (!b->n)
		return ENT_OK;
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
	for (int i = 0; i < b->n * b->ncols; i++)
		db_bind_text_or_null(s, i + 1, b->v[i]);
	int rc = db_step(s);
	db_done(s);
	if (rc < 0)
		return rc;
	uint64_t before = *b->done;
	*b->done += (uint64_t)b->n;
	b->n = 0;
	arena_free(b->a);
	b->a = arena_new(0);
	if (*b->done / BATCH != before / BATCH && ((rc = db_commit(b->c)) || (rc = db_begin(b->c))))
		return rc;
	return ENT_OK;
}

/* Adds a row of ncols values (copied; NULL for SQL NULL); writes ROWS rows at a time. */
static int bulk_add(struct bulk *b, const char *const *vals)
{
	for (int i = 0; i < b->ncols; i++)
		b->v[b->n * b->ncols + i] = vals[i] ? arena_strdup(b->a, vals[i]) : NULL;
	if (++b->n < ROWS)
		return ENT_OK;
	return bulk_flush(b);
}

/* ---- the grid's series, the same for every class ---- */

/* A slot's series: its first occurrence, rule, last end and occurrences over the year, computed once. */
struct slot_series {
	int ready;
	time_t start, end;
	char rule[96], last_end[21];
	time_t occ[64];
	int nocc;
};

struct gen {
	db_conn *c;
	const struct scale *sc;
	struct cal_year y;
	time_t until;
	long first, week0;
	struct cal_span hol[4];
	struct slot_series grid[NPOS][3]; /* [p][0] every week, [1] week A, [2] week B */
	char now[21];
	uint64_t rng;
	/* The teachers' courses, sorted by course id: course -> teacher user id. */
	struct taught {
		const char *course, *teacher;
	} * taught;
	size_t ntaught;
};

static int keep_occ(void *ctx, time_t start, time_t end, time_t id)
{
	(void)end;
	(void)id;
	struct slot_series *s = ctx;
	if (s->nocc < 64)
		s->occ[s->nocc++] = start;
	return 0;
}

static int slot_series(struct gen *g, int p, int kind, const struct slot_series **out)
{
	struct slot_series *s = &g->grid[p][kind];
	*out = s;
	if (s->ready)
		return ENT_OK;
	int day, slot;
	position(p, &day, &slot);
	int interval = kind ? 2 : 1;
	long dd = g->week0 + 7 * (kind == 2) + day;
	while (dd < g->first)
		dd += 7 * interval;
	s->start = cal_day_start(dd) + slot_time[slot].h * 3600 + slot_time[slot].m * 60;
	s->end = s->start + 3600;
	char u[21];
	util_time_rfc3339(g->until, u);
	snprintf(s->rule, sizeof s->rule, "FREQ=WEEKLY;%sBYDAY=%s;UNTIL=%.4s%.2s%.2sT%.2s%.2s%.2sZ",
		 interval == 2 ? "INTERVAL=2;" : "", byday[day], u, u + 5, u + 8, u + 11, u + 14, u + 17);
	struct cal_series cs = {.start = s->start, .end = s->end, .tz = CAL_DEFAULT_TZ, .rrule = s->rule};
	time_t last;
	int rc = cal_series_last_end(&cs, &last);
	if (rc < 0)
		return rc;
	util_time_rfc3339(rc == 1 ? last : s->end, s->last_end);
	cs.skip_holidays = 1;
	cs.holidays = g->hol;
	cs.nholidays = 4;
	rc = cal_expand(&cs, s->start, g->y.end, keep_occ, s);
	if (rc < 0)
		return rc;
	s->ready = 1;
	return ENT_OK;
}

static int by_course(const void *p, const void *q)
{
	return strcmp(((const struct taught *)p)->course, ((const struct taught *)q)->course);
}

static const char *teacher_of(const struct gen *g, const char *course)
{
	struct taught key = {.course = course};
	const struct taught *t = bsearch(&key, g->taught, g->ntaught, sizeof(*g->taught), by_course);
	return t ? t->teacher : NULL;
}

/* The teachers t1@ ... and their courses (cours_taught_by), into g->taught. */
static int load_teachers(struct gen *g, arena *a)
{
	size_t cap = 0;
	for (unsigned t = 1; t <= g->sc->teachers; t++) {
		char email[64];
		snprintf(email, sizeof email, "t%u@" SCALE_DOMAIN, t);
		struct user u;
		int rc = users_find_login(g->c, a, email, &u);
		if (rc == ENT_ENOTFOUND)
			continue;
		if (rc)
			return rc;
		const char **ids, *id = arena_strdup(a, u.id);
		int n = cours_taught_by(g->c, a, id, &ids);
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			g->taught = arena_grow(a, g->taught, g->ntaught, &cap, sizeof(*g->taught));
			g->taught[g->ntaught++] = (struct taught){ids[i], id};
		}
	}
	if (g->ntaught > 1)
		qsort(g->taught, g->ntaught, sizeof(*g->taught), by_course);
	return ENT_OK;
}

struct course_plan {
	const char *id, *teacher, *title, *room;
	int halves;
	int slots[24][2]; /* the course's series: [position, kind] */
	int nslots;
};

/* Class k: its courses' series and homework, into the bulks. */
static int gen_class(struct gen *g, arena *a, unsigned k, struct bulk *ev, struct bulk *hw, uint64_t *nhomework)
{
	char name[32], class_id[37];
	snprintf(name, sizeof name, "%s %03u", levels[k % 7], k / 7 + 1);
	int rc = users_class_find(g->c, name, g->sc->school_year, class_id);
	if (rc == ENT_ENOTFOUND)
		return ENT_OK;
	if (rc)
		return rc;
	const char **ids;
	int n = cours_of_class(g->c, a, class_id, &ids);
	if (n <= 0)
		return n;
	if (n > MAX_COURSES)
		n = MAX_COURSES;
	struct course_plan cp[MAX_COURSES];
	int total = 0;
	for (int i = 0; i < n; i++) {
		memset(&cp[i], 0, sizeof(cp[i]));
		cp[i].id = ids[i];
		cp[i].teacher = teacher_of(g, ids[i]);
		const char *title = cours_title(g->c, a, ids[i]);
		/* The subject: the title before " — " ("Mathématiques — 6e 001"). */
		const char *dash = title ? strstr(title, " — ") : NULL;
		cp[i].title = !title                 ? "Cours"
			      : dash && dash > title ? arena_strndup(a, title, (size_t)(dash - title))
						     : title;
		cp[i].halves = 4;
		for (size_t w = 0; w < NWEIGHTS; w++)
			if (strcmp(cp[i].title, weights[w].name) == 0) {
				cp[i].halves = weights[w].halves;
				cp[i].room = weights[w].room;
			}
		if (!cp[i].room)
			cp[i].room = arena_printf(a, "Salle %03u", 100 + (unsigned)(util_splitmix64(&g->rng) % 300));
		total += cp[i].halves;
	}
	/* Scale to HOURS * 2 half hours: whole parts first, the rest to the largest remainders. */
	int given = 0, share[MAX_COURSES], rem[MAX_COURSES];
	for (int i = 0; i < n; i++) {
		share[i] = cp[i].halves * HOURS * 2 / total;
		rem[i] = cp[i].halves * HOURS * 2 % total;
		given += share[i];
	}
	while (given < HOURS * 2) {
		int best = 0;
		for (int i = 1; i < n; i++)
			if (rem[i] > rem[best])
				best = i;
		share[best]++;
		rem[best] = -1;
		given++;
	}
	/* The week's slots, drawn at random: whole hours first, then the halves two to a slot (A/B). */
	int pos[NPOS];
	for (int p = 0; p < NPOS; p++)
		pos[p] = p;
	for (int p = NPOS - 1; p > 0; p--) {
		int q = (int)(util_splitmix64(&g->rng) % (uint64_t)(p + 1)), x = pos[p];
		pos[p] = pos[q];
		pos[q] = x;
	}
	int used = 0, half_open = -1;
	for (int i = 0; i < n; i++)
		for (int h = 0; h < share[i] / 2 && used < NPOS && cp[i].nslots < 24; h++) {
			cp[i].slots[cp[i].nslots][0] = pos[used++];
			cp[i].slots[cp[i].nslots++][1] = 0;
		}
	for (int i = 0; i < n; i++) {
		if (!(share[i] % 2) || cp[i].nslots >= 24)
			continue;
		if (half_open < 0) {
			if (used >= NPOS)
				break;
			half_open = pos[used++];
			cp[i].slots[cp[i].nslots][0] = half_open;
			cp[i].slots[cp[i].nslots++][1] = 1;
		} else {
			cp[i].slots[cp[i].nslots][0] = half_open;
			cp[i].slots[cp[i].nslots++][1] = 2;
			half_open = -1;
		}
	}
	for (int i = 0; i < n; i++) {
		const char *owner = cp[i].teacher ? cp[i].teacher : "generator";
		const char *sid[24];
		for (int j = 0; j < cp[i].nslots; j++) {
			const struct slot_series *s;
			if ((rc = slot_series(g, cp[i].slots[j][0], cp[i].slots[j][1], &s)))
				return rc;
			char id[37], st[21], en[21];
			util_uuid(id);
			sid[j] = arena_strdup(a, id);
			util_time_rfc3339(s->start, st);
			util_time_rfc3339(s->end, en);
			const char *desc = cp[i].slots[j][1] == 1   ? "Semaine A"
					   : cp[i].slots[j][1] == 2 ? "Semaine B"
								    : NULL;
			const char *v[13] = {id,    cp[i].title, desc,        cp[i].room, st,
					     en,    s->rule,     s->last_end, cp[i].id,   cp[i].teacher,
					     owner, g->now,      g->now};
			if ((rc = bulk_add(ev, v)))
				return rc;
		}
		/* Homework: one in each tenth of the year, due at a lesson, given at the one before. */
		for (int h = 0; h < HOMEWORK_PER_COURSE && cp[i].nslots; h++) {
			int j = (int)(util_splitmix64(&g->rng) % (uint64_t)cp[i].nslots);
			const struct slot_series *s;
			if ((rc = slot_series(g, cp[i].slots[j][0], cp[i].slots[j][1], &s)))
				return rc;
			if (s->nocc < 2)
				continue;
			int lo = 1 + (s->nocc - 1) * h / HOMEWORK_PER_COURSE,
			    hi = 1 + (s->nocc - 1) * (h + 1) / HOMEWORK_PER_COURSE;
			int o = hi > lo ? lo + (int)(util_splitmix64(&g->rng) % (uint64_t)(hi - lo)) : lo;
			if (o >= s->nocc)
				o = s->nocc - 1;
			char id[37], given_at[21], due[21];
			util_uuid(id);
			util_time_rfc3339(s->occ[o - 1], given_at);
			util_time_rfc3339(s->occ[o], due);
			const char *const *t = homework[util_splitmix64(&g->rng) % 6];
			const char *v[11] = {id,   cp[i].id, sid[j], given_at, t[0],  t[1],
					     t[2], due,      owner,  g->now,   g->now};
			if ((rc = bulk_add(hw, v)))
				return rc;
			(*nhomework)++;
		}
	}
	return ENT_OK;
}

int cal_generate(db_conn *c, const struct scale *sc)
{
	struct gen *g = calloc(1, sizeof(*g));
	arena *a = arena_new(0), *keep = arena_new(0);
	struct bulk ev = {
		.c = c,
		.head = "INSERT INTO calendar_events (id, kind, title, description, location, starts_at, ends_at, tz,"
			" all_day, rrule, exdates, last_end_at, audience, course_id, evaluation_id, teacher_id, owner_id,"
			" parent_id, created_at, updated_at) VALUES ",
		.row = "(?, 'lesson', ?, ?, ?, ?, ?, '" CAL_DEFAULT_TZ
		       "', 0, ?, '', ?, 'course', ?, NULL, ?, ?, NULL, ?, ?)",
		.ncols = 13,
		.keep = keep,
		.a = arena_new(0)};
	struct bulk hw = {
		.c = c,
		.head = "INSERT INTO calendar_homework (id, course_id, event_id, occurrence_at, title, work, done_in_class,"
			" due_at, created_by, created_at, updated_at) VALUES ",
		.row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		.ncols = 11,
		.keep = keep,
		.a = arena_new(0)};
	uint64_t done = 0, nhomework = 0;
	ev.done = hw.done = &done;
	ev.v = calloc(ROWS * (size_t)ev.ncols, sizeof(*ev.v));
	hw.v = calloc(ROWS * (size_t)hw.ncols, sizeof(*hw.v));
	int rc = ENT_OK;
	if (!g || !ev.v || !hw.v) {
		rc = ENT_ENOMEM;
		goto out;
	}
	g->c = c;
	g->sc = sc;
	g->rng = sc->seed * 0x9e3779b97f4a7c15u + 6;
	util_time_rfc3339(time(NULL), g->now);
	if ((rc = cal_year_dates(sc->school_year, &g->y)))
		goto out;
	g->until = g->y.end - 1;
	g->first = cal_day_number(g->y.first_day);
	g->week0 = g->first - ((g->first % 7) + 7 + 3) % 7; /* the Monday of the first week: week A */
	for (int i = 0; i < 4; i++)
		g->hol[i] = (struct cal_span){g->y.holidays[i].from, g->y.holidays[i].to};
	struct user admin;
	if ((rc = users_find_login(c, a, "admin@" SCALE_DOMAIN, &admin)))
		goto out;
	if ((rc = load_teachers(g, a)))
		goto out;
	int holidays = 0;
	if ((rc = db_begin(c)))
		goto out;
	if ((rc = cal_year_store_holidays(c, &g->y, admin.id, &holidays)))
		goto fail;
	for (unsigned k = 0; k < sc->classes; k++) {
		arena *ka = arena_new(0);
		rc = gen_class(g, ka, k, &ev, &hw, &nhomework);
		arena_free(ka);
		if (rc)
			goto fail;
		sc->progress("timetables", k + 1, sc->classes);
	}
	if ((rc = bulk_flush(&ev)) || (rc = bulk_flush(&hw)))
		goto fail;
	rc = db_commit(c);
	if (!rc) {
		printf("Timetables: %llu lesson series and %llu homework, %d holidays.\n",
		       (unsigned long long)(done - nhomework), (unsigned long long)nhomework, holidays);
		fflush(stdout);
	}
	goto out;
fail:
	db_rollback(c);
out:
	free(ev.v);
	free(hw.v);
	if (ev.a)
		arena_free(ev.a);
	if (hw.a)
		arena_free(hw.a);
	arena_free(keep);
	arena_free(a);
	free(g);
	return rc;
}
