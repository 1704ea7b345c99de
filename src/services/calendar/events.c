/*
 * events.c - events and series: create, read, change, delete; the occurrences of a window; one
 * occurrence's changes (cancelled, moved, another room, a replacement teacher); the week's
 * timetable.
 *
 * Reading a window costs a few indexed statements whatever the school's size: the school-wide
 * events, the staff's, the caller's own, those of their classes (calendar_event_classes by class)
 * and those of their courses (by course), each limited to the series that can reach the window
 * (starts_at < to and last_end_at > from; last_end_at is NULL for a rule without end). Ids are
 * bound 16 at a time in constant statements ("IN (?, ..., ?)", unused slots NULL). Each series is
 * then expanded in C (expand.c) with its overrides.
 *
 * Changing "this and following" occurrences splits a series: the old one ends before the chosen
 * occurrence (UNTIL), the new one starts there with the changes, and the overrides and exception
 * dates from there move with it.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/app.h"
#include "core/err.h"
#include "core/json.h"
#include "core/rcache.h"
#include "core/row.h"
#include "core/sql.h"
#include "core/util.h"
#include "services/cours/cours.h"
#include "services/users/users.h"

#define SERIES_COLS                                                                                                       \
	"e.id, e.kind, e.title, e.description, e.location, e.starts_at, e.ends_at, e.tz, e.all_day, e.rrule, e.exdates, " \
	"e.audience, e.course_id, e.evaluation_id, e.teacher_id, e.owner_id, e.created_at, e.updated_at, e.last_end_at"
#define WINDOW " AND e.starts_at < ? AND (e.last_end_at IS NULL OR e.last_end_at > ?)"
#define IN16 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

struct override {
	time_t at;
	int status;
	time_t start, end; /* 0 when unchanged */
	const char *location, *teacher_id, *note;
	int used;
};

/* A stored series (strings in the request arena). */
struct series {
	const char *col[19];
	time_t start, end;
	time_t *exdates;
	size_t nexdates;
	const char **class_ids;
	size_t nclass_ids;
	struct override *ov; /* its changed occurrences (cal_occurrences) */
	size_t nov, ov_cap;
	const struct cal_class *classes; /* the classes it is for, with their names (cal_occurrences) */
	size_t nclasses;
};
enum {
	C_ID,
	C_KIND,
	C_TITLE,
	C_DESC,
	C_LOC,
	C_START,
	C_END,
	C_TZ,
	C_ALLDAY,
	C_RRULE,
	C_EXDATES,
	C_AUDIENCE,
	C_COURSE,
	C_EVAL,
	C_TEACHER,
	C_OWNER,
	C_CREATED,
	C_UPDATED,
	C_LASTEND
};

static void now_text(char out[21]) { util_time_rfc3339(time(NULL), out); }

/* Parses "t1,t2,..." (stored exdates) into a sorted array. */
static void parse_exdates(arena *a, const char *text, time_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!text || !*text)
		return;
	size_t cap = 0;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, ",");
		char one[32];
		time_t t;
		if (len < sizeof(one)) {
			memcpy(one, p, len);
			one[len] = '\0';
			if (!util_parse_rfc3339(one, &t)) {
				*out = arena_grow(a, *out, *n, &cap, sizeof(**out));
				(*out)[(*n)++] = t;
			}
		}
		p += len;
		if (*p == ',')
			p++;
	}
	for (size_t i = 1; i < *n; i++) /* few: insertion sort */
		for (size_t j = i; j > 0 && (*out)[j - 1] > (*out)[j]; j--) {
			time_t x = (*out)[j];
			(*out)[j] = (*out)[j - 1];
			(*out)[j - 1] = x;
		}
}

static void read_series(db_stmt *s, arena *a, struct series *x)
{
	memset(x, 0, sizeof(*x));
	for (int i = 0; i < 19; i++)
		x->col[i] = db_col_text(s, i) ? arena_strdup(a, db_col_text(s, i)) : NULL;
	util_parse_rfc3339(x->col[C_START], &x->start);
	util_parse_rfc3339(x->col[C_END], &x->end);
	parse_exdates(a, x->col[C_EXDATES], &x->exdates, &x->nexdates);
}

/* The class ids of a series with audience "classes". */
static int load_classes(db_conn *c, arena *a, struct series *x)
{
	db_stmt *s = SQL_PREP(c, "SELECT class_id FROM calendar_event_classes WHERE event_id = ? ORDER BY class_id",
			      SQL_T(x->col[C_ID]));
	if (!s)
		return ENT_EDB;
	size_t cap = 0;
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		x->class_ids = arena_grow(a, x->class_ids, x->nclass_ids, &cap, sizeof(*x->class_ids));
		x->class_ids[x->nclass_ids++] = arena_strdup(a, db_col_text(s, 0));
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/* Loads series id: ENT_OK, ENT_ENOTFOUND or an error. */
static int load_series(db_conn *c, arena *a, const char *id, struct series *x)
{
	if (!util_is_uuid(id))
		return ENT_ENOTFOUND;
	int rc;
	db_stmt *s = SQL_ROW(c, &rc, "SELECT " SERIES_COLS " FROM calendar_events e WHERE e.id = ?", SQL_T(id));
	if (!s)
		return rc;
	read_series(s, a, x);
	db_done(s);
	return strcmp(x->col[C_AUDIENCE], "classes") == 0 ? load_classes(c, a, x) : ENT_OK;
}

/* 1 if v may see x. */
static int visible(const struct cal_viewer *v, const struct series *x)
{
	const char *aud = x->col[C_AUDIENCE];
	if (strcmp(aud, "owner") == 0)
		return strcmp(x->col[C_OWNER], v->user_id) == 0;
	if (v->all || strcmp(aud, "school") == 0)
		return 1;
	if (strcmp(aud, "teachers") == 0)
		return (v->roles & ROLE_ENSEIGNANT) != 0;
	if (strcmp(aud, "course") == 0)
		return cal_has(v->courses, v->ncourses, x->col[C_COURSE]);
	for (size_t i = 0; i < x->nclass_ids; i++)
		if (cal_has(v->classes, v->nclasses, x->class_ids[i]))
			return 1;
	return strcmp(x->col[C_OWNER], v->user_id) == 0;
}

/* 1 if v may change x: its owner, the teachers of its course, administrators (not others' personal events). */
static int editable(const struct cal_viewer *v, const struct series *x)
{
	if (strcmp(x->col[C_AUDIENCE], "owner") == 0)
		return strcmp(x->col[C_OWNER], v->user_id) == 0;
	if (v->all)
		return 1;
	if (strcmp(x->col[C_AUDIENCE], "course") == 0 && cal_has(v->taught, v->ntaught, x->col[C_COURSE]))
		return 1;
	return strcmp(x->col[C_OWNER], v->user_id) == 0 && strcmp(x->col[C_AUDIENCE], "school") != 0 &&
	       strcmp(x->col[C_AUDIENCE], "teachers") != 0;
}

/* ---- reading a window ---- */

struct found {
	struct series *v;
	size_t n, cap;
};

static int add_rows(db_stmt *s, arena *a, struct found *f)
{
	int rc;
	while ((rc = db_step(s)) == DB_ROW) {
		const char *id = db_col_text(s, 0);
		int dup = 0;
		for (size_t i = 0; !dup && i < f->n; i++)
			dup = strcmp(f->v[i].col[C_ID], id) == 0;
		if (dup)
			continue;
		f->v = arena_grow(a, f->v, f->n, &f->cap, sizeof(*f->v));
		read_series(s, a, &f->v[f->n++]);
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/* Runs sql (ending with IN16 then WINDOW) for ids, 16 at a time. */
static int query_in(db_conn *c, arena *a, const char *sql, const char *const *ids, size_t n, const char *to,
		    const char *from, struct found *f)
{
	for (size_t base = 0; base < n; base += 16) {
		db_stmt *s = db_prepare(c, sql);
		if (!s)
			return ENT_EDB;
		for (size_t i = 0; i < 16; i++)
			db_bind_text_or_null(s, (int)i + 1, base + i < n ? ids[base + i] : NULL);
		db_bind_text(s, 17, to);
		db_bind_text(s, 18, from);
		int rc = add_rows(s, a, f);
		if (rc)
			return rc;
	}
	return ENT_OK;
}

static int query_one(db_conn *c, arena *a, const char *sql, const char *p1, const char *to, const char *from,
		     struct found *f)
{
	db_stmt *s = db_prepare(c, sql);
	if (!s)
		return ENT_EDB;
	int k = 1;
	if (p1)
		db_bind_text(s, k++, p1);
	db_bind_text(s, k++, to);
	db_bind_text(s, k, from);
	return add_rows(s, a, f);
}

/* The holidays overlapping [from, to) (school-wide events of kind holiday). */
static int load_holidays(db_conn *c, arena *a, const char *from, const char *to, struct cal_span **out, size_t *n)
{
	db_stmt *s = SQL_PREP(c, "SELECT e.starts_at, e.ends_at FROM calendar_events e WHERE e.kind = 'holiday'" WINDOW,
			      SQL_T(to), SQL_T(from));
	if (!s)
		return ENT_EDB;
	size_t cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	while ((rc = db_step(s)) == DB_ROW) {
		struct cal_span h;
		if (util_parse_rfc3339(db_col_text(s, 0), &h.start) || util_parse_rfc3339(db_col_text(s, 1), &h.end))
			continue;
		*out = arena_grow(a, *out, *n, &cap, sizeof(**out));
		(*out)[(*n)++] = h;
	}
	db_done(s);
	return rc < 0 ? rc : ENT_OK;
}

/* The series of v[0..n) whose id is id, or NULL. */
static struct series *series_by_id(struct series *const *v, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i]->col[C_ID], id) == 0)
			return v[i];
	return NULL;
}

/* The changed occurrences of the series xs[0..n), 16 series a statement, into each one's ov. */
static int load_overrides(db_conn *c, arena *a, struct series *const *xs, size_t n)
{
	for (size_t base = 0; base < n; base += 16) {
		db_stmt *s = db_prepare(c, "SELECT event_id, occurrence_at, status, starts_at, ends_at, location,"
					   " teacher_id, note FROM calendar_overrides WHERE event_id IN " IN16);
		if (!s)
			return ENT_EDB;
		for (size_t i = 0; i < 16; i++)
			db_bind_text_or_null(s, (int)i + 1, base + i < n ? xs[base + i]->col[C_ID] : NULL);
		int rc;
		while ((rc = db_step(s)) == DB_ROW) {
			struct series *x = series_by_id(xs + base, n - base < 16 ? n - base : 16, db_col_text(s, 0));
			struct override o;
			memset(&o, 0, sizeof(o));
			if (!x || util_parse_rfc3339(db_col_text(s, 1), &o.at))
				continue;
			o.status = strcmp(db_col_text(s, 2), "cancelled") == 0 ? CAL_CANCELLED : CAL_CHANGED;
			if (db_col_text(s, 3))
				util_parse_rfc3339(db_col_text(s, 3), &o.start);
			if (db_col_text(s, 4))
				util_parse_rfc3339(db_col_text(s, 4), &o.end);
			o.location = db_col_text(s, 5) ? arena_strdup(a, db_col_text(s, 5)) : NULL;
			o.teacher_id = db_col_text(s, 6) ? arena_strdup(a, db_col_text(s, 6)) : NULL;
			o.note = db_col_text(s, 7) ? arena_strdup(a, db_col_text(s, 7)) : NULL;
			x->ov = arena_grow(a, x->ov, x->nov, &x->ov_cap, sizeof(*x->ov));
			x->ov[x->nov++] = o;
		}
		db_done(s);
		if (rc < 0)
			return rc;
	}
	return ENT_OK;
}

/*
 * The classes each series of xs[0..n) is for, with their names: those listed (audience classes),
 * or its course's classes now (cours.h, one statement per 16 courses); the names come from the
 * users service (users.h), one statement per class, each asked once.
 */
static int load_class_names(db_conn *c, arena *a, struct series *const *xs, size_t n)
{
	const char **courses = NULL;
	size_t ncourses = 0, cap = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(xs[i]->col[C_AUDIENCE], "course") && xs[i]->col[C_COURSE] &&
		    !cal_has(courses, ncourses, xs[i]->col[C_COURSE])) {
			courses = arena_grow(a, courses, ncourses, &cap, sizeof(*courses));
			courses[ncourses++] = xs[i]->col[C_COURSE];
		}
	struct cours_link *links = NULL;
	int nlinks = 0;
	if (ncourses && (nlinks = cours_class_links(c, a, courses, ncourses, &links)) < 0)
		return nlinks;
	struct cal_class *known = NULL; /* every class met, named once */
	size_t nknown = 0, kcap = 0;
	for (size_t i = 0; i < n; i++) {
		struct series *x = xs[i];
		const char **ids = NULL;
		size_t nids = 0, icap = 0;
		if (!strcmp(x->col[C_AUDIENCE], "classes")) {
			ids = x->class_ids;
			nids = x->nclass_ids;
		} else if (!strcmp(x->col[C_AUDIENCE], "course"))
			for (int l = 0; l < nlinks; l++)
				if (x->col[C_COURSE] && !strcmp(links[l].cours_id, x->col[C_COURSE])) {
					ids = arena_grow(a, ids, nids, &icap, sizeof(*ids));
					ids[nids++] = links[l].id;
				}
		if (!nids)
			continue;
		struct cal_class *v = arena_alloc(a, nids * sizeof(*v));
		for (size_t j = 0; j < nids; j++) {
			size_t k = 0;
			while (k < nknown && strcmp(known[k].id, ids[j]))
				k++;
			if (k == nknown) {
				known = arena_grow(a, known, nknown, &kcap, sizeof(*known));
				known[nknown].id = ids[j];
				known[nknown++].name = users_class_name(c, a, ids[j]);
			}
			v[j] = known[k];
		}
		x->classes = v;
		x->nclasses = nids;
	}
	return ENT_OK;
}

struct collect {
	arena *a;
	const struct series *x;
	struct override *ov;
	size_t nov;
	time_t from, to;
	struct cal_occ *v;
	size_t n, cap;
};

static void fill_occ(struct collect *k, struct cal_occ *o, time_t start, time_t end, time_t id)
{
	const struct series *x = k->x;
	memset(o, 0, sizeof(*o));
	o->event_id = x->col[C_ID];
	o->kind = x->col[C_KIND];
	o->title = x->col[C_TITLE];
	o->description = x->col[C_DESC];
	o->location = x->col[C_LOC];
	o->tz = x->col[C_TZ];
	o->audience = x->col[C_AUDIENCE];
	o->course_id = x->col[C_COURSE];
	o->teacher_id = x->col[C_TEACHER];
	o->evaluation_id = x->col[C_EVAL];
	o->owner_id = x->col[C_OWNER];
	o->class_ids = x->class_ids;
	o->nclass_ids = x->nclass_ids;
	o->classes = x->classes;
	o->nclasses = x->nclasses;
	o->all_day = x->col[C_ALLDAY] && strcmp(x->col[C_ALLDAY], "0") != 0;
	o->recurring = x->col[C_RRULE] != NULL;
	o->rrule = x->col[C_RRULE];
	o->updated_at = x->col[C_UPDATED];
	o->start = o->orig_start = start;
	o->end = o->orig_end = end;
	o->id = id;
}

/* Applies the override of occurrence id, if any. Returns 0 to keep it, 1 when it moved out of the window. */
static int apply_override(struct collect *k, struct cal_occ *o)
{
	for (size_t i = 0; i < k->nov; i++) {
		struct override *v = &k->ov[i];
		if (v->at != o->id)
			continue;
		v->used = 1;
		o->status = v->status;
		o->note = v->note;
		if (v->status == CAL_CHANGED) {
			if (v->start) {
				o->start = v->start;
				o->end = v->end ? v->end : v->start + (o->orig_end - o->orig_start);
			}
			if (v->location) {
				o->orig_location = o->location;
				o->location = v->location;
			}
			if (v->teacher_id) {
				o->orig_teacher_id = o->teacher_id;
				o->teacher_id = v->teacher_id;
			}
		}
		return o->start >= k->to || o->end <= k->from;
	}
	return 0;
}

static int on_occ(void *ctx, time_t start, time_t end, time_t id)
{
	struct collect *k = ctx;
	struct cal_occ o;
	fill_occ(k, &o, start, end, id);
	if (apply_override(k, &o))
		return 0;
	k->v = arena_grow(k->a, k->v, k->n, &k->cap, sizeof(*k->v));
	k->v[k->n++] = o;
	return 0;
}

static int by_start(const void *p, const void *q)
{
	const struct cal_occ *a = p, *b = q;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	int d = strcmp(a->event_id, b->event_id);
	return d ? d : (a->id < b->id ? -1 : a->id > b->id);
}

static int kind_wanted(const char *const *kinds, const char *kind)
{
	if (!kinds)
		return 1;
	for (const char *const *k = kinds; *k; k++)
		if (strcmp(*k, kind) == 0)
			return 1;
	return 0;
}

/* The occurrences of the series fs overlapping [from, to), of the kinds asked for, sorted (cal_occurrences). */
static int occurrences_of(db_conn *c, arena *a, const struct found *fs, time_t from, time_t to,
			  const char *const *kinds, struct cal_occ **out)
{
	char f[21], t[21];
	util_time_rfc3339(from, f);
	util_time_rfc3339(to, t);
	struct cal_span *hol = NULL;
	size_t nhol = 0;
	int rc = load_holidays(c, a, f, t, &hol, &nhol);
	/* The series of the kinds asked for; their classes, their changed occurrences, a few statements in all. */
	struct series **xs = arena_alloc(a, (fs->n + 1) * sizeof(*xs));
	size_t nxs = 0;
	for (size_t i = 0; !rc && i < fs->n; i++) {
		if (!kind_wanted(kinds, fs->v[i].col[C_KIND]))
			continue;
		if (strcmp(fs->v[i].col[C_AUDIENCE], "classes") == 0 && (rc = load_classes(c, a, &fs->v[i])))
			break;
		xs[nxs++] = &fs->v[i];
	}
	if (!rc)
		rc = load_overrides(c, a, xs, nxs);
	if (!rc)
		rc = load_class_names(c, a, xs, nxs);
	struct collect k = {.a = a, .from = from, .to = to};
	for (size_t i = 0; !rc && i < nxs; i++) {
		struct series *x = xs[i];
		k.x = x;
		k.ov = x->ov;
		k.nov = x->nov;
		struct cal_series cs = {.start = x->start,
					.end = x->end,
					.tz = x->col[C_TZ],
					.rrule = x->col[C_RRULE],
					.exdates = x->exdates,
					.nexdates = x->nexdates,
					.skip_holidays = strcmp(x->col[C_KIND], "lesson") == 0,
					.holidays = hol,
					.nholidays = nhol};
		int n = cal_expand(&cs, from, to, on_occ, &k);
		if (n < 0) {
			rc = n == ENT_EINVAL ? ENT_OK
					     : n; /* a rule that cannot be read shows nothing (logged at write) */
			continue;
		}
		/* Occurrences moved into the window from outside it. */
		for (size_t j = 0; j < k.nov; j++) {
			struct override *ov = &k.ov[j];
			if (ov->used || ov->status != CAL_CHANGED || !ov->start || ov->start >= to)
				continue;
			time_t len = x->end - x->start, end = ov->end ? ov->end : ov->start + len;
			if (end <= from)
				continue;
			struct cal_occ o;
			fill_occ(&k, &o, ov->at, ov->at + len, ov->at);
			apply_override(&k, &o);
			k.v = arena_grow(a, k.v, k.n, &k.cap, sizeof(*k.v));
			k.v[k.n++] = o;
		}
	}
	if (rc)
		return rc;
	if (k.n > 1)
		qsort(k.v, k.n, sizeof(*k.v), by_start);
	*out = k.v;
	return (int)k.n;
}

int cal_occurrences(db_conn *c, arena *a, const struct cal_viewer *v, time_t from, time_t to, const char *const *kinds,
		    struct cal_occ **out)
{
	char f[21], t[21];
	util_time_rfc3339(from, f);
	util_time_rfc3339(to, t);
	struct found fs = {0};
	int rc;
	if (v->all)
		rc = query_one(c, a,
			       "SELECT " SERIES_COLS
			       " FROM calendar_events e WHERE (e.audience <> 'owner' OR e.owner_id = ?)" WINDOW,
			       v->user_id, t, f, &fs);
	else {
		rc = query_one(c, a, "SELECT " SERIES_COLS " FROM calendar_events e WHERE e.audience = ?" WINDOW,
			       "school", t, f, &fs);
		if (!rc && (v->roles & ROLE_ENSEIGNANT))
			rc = query_one(c, a,
				       "SELECT " SERIES_COLS " FROM calendar_events e WHERE e.audience = ?" WINDOW,
				       "teachers", t, f, &fs);
		if (!rc && *v->user_id)
			rc = query_one(c, a,
				       "SELECT " SERIES_COLS " FROM calendar_events e WHERE e.owner_id = ?"
				       " AND e.audience = 'owner'" WINDOW,
				       v->user_id, t, f, &fs);
		if (!rc)
			rc = query_in(
				c, a,
				"SELECT " SERIES_COLS " FROM calendar_event_classes k JOIN calendar_events e"
				" ON e.id = k.event_id WHERE e.audience = 'classes' AND k.class_id IN " IN16 WINDOW,
				v->classes, v->nclasses, t, f, &fs);
		if (!rc)
			/*
			 * (e.audience || '') keeps SQLite off the audience index for this one: it would read every
			 * course series of the school instead of the caller's courses' (measured on the district:
			 * 124 ms against 0.4 ms). Portable: PostgreSQL plans on course_id either way.
			 */
			rc = query_in(c, a,
				      "SELECT " SERIES_COLS
				      " FROM calendar_events e WHERE (e.audience || '') = 'course'"
				      " AND e.course_id IN " IN16 WINDOW,
				      v->courses, v->ncourses, t, f, &fs);
	}
	return rc ? rc : occurrences_of(c, a, &fs, from, to, kinds, out);
}

int cal_exams_starting(db_conn *c, arena *a, time_t from, time_t to, struct cal_occ **out)
{
	char f[21], t[21];
	util_time_rfc3339(from, f);
	util_time_rfc3339(to, t);
	/* The exams of the window, and those with an occurrence moved into it (from further away). */
	db_stmt *s = SQL_PREP(c,
			      "SELECT " SERIES_COLS " FROM calendar_events e WHERE e.kind = 'exam' AND ((1 = 1" WINDOW
			      ") OR e.id IN (SELECT o.event_id FROM calendar_overrides o"
			      " WHERE o.starts_at >= ? AND o.starts_at < ?))",
			      SQL_T(t), SQL_T(f), SQL_T(f), SQL_T(t));
	if (!s)
		return ENT_EDB;
	struct found fs = {0};
	int rc = add_rows(s, a, &fs);
	static const char *const exams[] = {"exam", NULL};
	struct cal_occ *occ = NULL;
	int n = rc ? rc : occurrences_of(c, a, &fs, from, to, exams, &occ);
	int kept = 0;
	for (int i = 0; i < n; i++)
		if (occ[i].start >= from && occ[i].start < to)
			occ[kept++] = occ[i];
	*out = occ;
	return n < 0 ? n : kept;
}

/* ---- writing ---- */

static void kt(jw *w, const char *key, time_t t)
{
	char s[21];
	util_time_rfc3339(t, s);
	jw_kstr(w, key, s);
}

void cal_write_occ(jw *w, const struct cal_occ *o)
{
	static const char *const status[] = {"scheduled", "cancelled", "changed"};
	jw_obj_open(w);
	jw_kstr(w, "event_id", o->event_id);
	kt(w, "occurrence_id", o->id);
	jw_kstr(w, "kind", o->kind);
	jw_kstr(w, "title", o->title);
	jw_kstr(w, "description", o->description);
	jw_kstr(w, "location", o->location);
	kt(w, "starts_at", o->start);
	kt(w, "ends_at", o->end);
	jw_kbool(w, "all_day", o->all_day);
	jw_kstr(w, "time_zone", o->tz);
	jw_kbool(w, "recurring", o->recurring);
	jw_kstr(w, "audience", o->audience);
	jw_kstr(w, "course_id", o->course_id);
	jw_key(w, "class_ids");
	jw_arr_open(w);
	for (size_t i = 0; i < o->nclass_ids; i++)
		jw_str(w, o->class_ids[i]);
	jw_arr_close(w);
	jw_key(w, "classes");
	jw_arr_open(w);
	for (size_t i = 0; i < o->nclasses; i++) {
		jw_obj_open(w);
		jw_kstr(w, "id", o->classes[i].id);
		jw_kstr(w, "name", o->classes[i].name);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_kstr(w, "teacher_id", o->teacher_id);
	jw_kstr(w, "evaluation_id", o->evaluation_id);
	jw_kstr(w, "status", status[o->status]);
	jw_kstr(w, "note", o->note);
	jw_key(w, "original");
	if (o->status == CAL_CHANGED) {
		jw_obj_open(w);
		kt(w, "starts_at", o->orig_start);
		kt(w, "ends_at", o->orig_end);
		jw_kstr(w, "location", o->orig_location ? o->orig_location : o->location);
		jw_kstr(w, "teacher_id", o->orig_teacher_id ? o->orig_teacher_id : o->teacher_id);
		jw_obj_close(w);
	} else
		jw_null(w);
	jw_obj_close(w);
}

/* "items": the n occurrences. */
static void write_items(jw *w, const struct cal_occ *occ, int n)
{
	jw_key(w, "items");
	jw_arr_open(w);
	for (int i = 0; i < n; i++)
		cal_write_occ(w, &occ[i]);
	jw_arr_close(w);
}

static void write_series(jw *w, const struct series *x)
{
	jw_obj_open(w);
	jw_kstr(w, "id", x->col[C_ID]);
	jw_kstr(w, "kind", x->col[C_KIND]);
	jw_kstr(w, "title", x->col[C_TITLE]);
	jw_kstr(w, "description", x->col[C_DESC]);
	jw_kstr(w, "location", x->col[C_LOC]);
	jw_kstr(w, "starts_at", x->col[C_START]);
	jw_kstr(w, "ends_at", x->col[C_END]);
	jw_kstr(w, "time_zone", x->col[C_TZ]);
	jw_kbool(w, "all_day", x->col[C_ALLDAY] && strcmp(x->col[C_ALLDAY], "0") != 0);
	jw_kstr(w, "rrule", x->col[C_RRULE]);
	jw_key(w, "exdates");
	jw_arr_open(w);
	for (size_t i = 0; i < x->nexdates; i++) {
		char s[21];
		util_time_rfc3339(x->exdates[i], s);
		jw_str(w, s);
	}
	jw_arr_close(w);
	jw_kstr(w, "audience", x->col[C_AUDIENCE]);
	jw_key(w, "class_ids");
	jw_arr_open(w);
	for (size_t i = 0; i < x->nclass_ids; i++)
		jw_str(w, x->class_ids[i]);
	jw_arr_close(w);
	jw_kstr(w, "course_id", x->col[C_COURSE]);
	jw_kstr(w, "evaluation_id", x->col[C_EVAL]);
	jw_kstr(w, "teacher_id", x->col[C_TEACHER]);
	jw_kstr(w, "owner_id", x->col[C_OWNER]);
	jw_kstr(w, "created_at", x->col[C_CREATED]);
	jw_kstr(w, "updated_at", x->col[C_UPDATED]);
	jw_obj_close(w);
}

static void reply_series(http_req *req, db_conn *c, const char *id, int status)
{
	struct series x;
	int rc = load_series(c, http_arena(req), id, &x);
	if (rc) {
		http_problem_err(req, rc, "L'événement n'a pas pu être relu.");
		return;
	}
	write_series(http_jw(req), &x);
	http_reply_jw(req, status);
}

/* ---- the window of a list ---- */

/* Parses one bound: RFC 3339, or a date on Paris's clock (its midnight). 0 or -1. */
static int parse_bound(const char *s, time_t *t)
{
	if (!util_parse_rfc3339(s, t))
		return 0;
	return cal_local_midnight(s, CAL_DEFAULT_TZ, t) ? -1 : 0;
}

int cal_window_args(http_req *req, time_t def_from, int span_days, time_t *from, time_t *to)
{
	const char *f = http_query(req, "from"), *t = http_query(req, "to");
	json_t *errors = json_object();
	time_t span = (time_t)span_days * 86400;
	if (!def_from) {
		char week[9];
		time_t wt;
		cal_iso_week(time(NULL), CAL_DEFAULT_TZ, week);
		cal_week_start(week, CAL_DEFAULT_TZ, &def_from, &wt);
	}
	*from = def_from;
	*to = def_from + span;
	if (f && parse_bound(f, from))
		json_object_set_new(errors, "from",
				    json_string("doit être une date (2026-12-07) ou une date-heure RFC 3339"));
	if (t && parse_bound(t, to))
		json_object_set_new(errors, "to",
				    json_string("doit être une date (2026-12-07) ou une date-heure RFC 3339"));
	if (!json_object_size(errors)) {
		if (f && !t)
			*to = *from + span;
		else if (t && !f)
			*from = *to - span;
		if (*to <= *from)
			json_object_set_new(errors, "to", json_string("doit être après from"));
		else if (*to - *from > (time_t)CAL_MAX_WINDOW_DAYS * 86400)
			json_object_set_new(errors, "to", json_string("est à plus de 400 jours de from"));
	}
	return http_invalid(req, errors) ? -1 : 0;
}

static const char *const kinds_all[] = {"lesson", "exam", "homework", "school", "holiday", "personal", NULL};

int cal_window_occ(http_req *req, int ask_kind, struct cal_occ **occ)
{
	db_conn *c = http_db(req);
	if (!c)
		return -1;
	time_t from, to;
	if (cal_window_args(req, 0, 7, &from, &to))
		return -1;
	const char *kind = ask_kind ? http_query(req, "kind") : NULL;
	const char *kinds[2] = {kind, NULL};
	if (kind && !kind_wanted(kinds_all, kind)) {
		http_invalid(req, json_pack("{s:s}", "kind",
					    "doit être lesson, exam, homework, school, holiday ou personal"));
		return -1;
	}
	struct cal_viewer v;
	if (cal_viewer_load(req, c, &v))
		return -1;
	int n = cal_occurrences(c, http_arena(req), &v, from, to, kind ? kinds : NULL, occ);
	if (n < 0) {
		http_problem_err(req, n, "L'agenda n'a pas pu être lu.");
		return -1;
	}
	return n;
}

void cal_events_list(http_req *req)
{
	struct cal_occ *occ;
	int n = cal_window_occ(req, 1, &occ);
	if (n < 0)
		return;
	jw *w = http_jw(req);
	jw_obj_open(w);
	write_items(w, occ, n);
	jw_kstr(w, "next_cursor", NULL);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

/* ---- create and change ---- */

static const char *const audiences_all[] = {"school", "teachers", "classes", "course", "owner", NULL};

const struct jfield cal_series_fields[CAL_NSERIES] = {
	{"kind", JF_STRING, 0, 0, 0, 0, kinds_all},
	{"title", JF_STRING, 1, 0, 1, 200, NULL},
	{"description", JF_STRING, 0, 1, 0, 5000, NULL},
	{"location", JF_STRING, 0, 1, 0, 100, NULL},
	{"starts_at", JF_TIME, 1, 0, 0, 0, NULL},
	{"ends_at", JF_TIME, 1, 0, 0, 0, NULL},
	{"all_day", JF_BOOL, 0, 0, 0, 0, NULL},
	{"time_zone", JF_STRING, 0, 0, 1, 64, NULL},
	{"rrule", JF_STRING, 0, 1, 0, 500, NULL},
	{"exdates", JF_ARRAY, 0, 0, 0, 500, NULL},
	{"audience", JF_STRING, 0, 0, 0, 0, audiences_all},
	{"class_ids", JF_ARRAY, 0, 0, 0, 50, NULL},
	{"course_id", JF_UUID, 0, 1, 0, 0, NULL},
	{"evaluation_id", JF_UUID, 0, 1, 0, 0, NULL},
	{"teacher_id", JF_UUID, 0, 1, 0, 0, NULL},
};

/* The values of a series being written, after defaults. */
struct draft {
	const char *kind, *title, *description, *location, *tz, *rrule, *audience, *course_id, *evaluation_id,
		*teacher_id;
	time_t start, end;
	int all_day;
	time_t *exdates;
	size_t nexdates;
	const char **class_ids;
	size_t nclass_ids;
};

/* The draft of an existing series (for PATCH: the body's fields replace these). */
static void draft_of(const struct series *x, struct draft *d)
{
	memset(d, 0, sizeof(*d));
	d->kind = x->col[C_KIND];
	d->title = x->col[C_TITLE];
	d->description = x->col[C_DESC];
	d->location = x->col[C_LOC];
	d->tz = x->col[C_TZ];
	d->rrule = x->col[C_RRULE];
	d->audience = x->col[C_AUDIENCE];
	d->course_id = x->col[C_COURSE];
	d->evaluation_id = x->col[C_EVAL];
	d->teacher_id = x->col[C_TEACHER];
	d->start = x->start;
	d->end = x->end;
	d->all_day = x->col[C_ALLDAY] && strcmp(x->col[C_ALLDAY], "0") != 0;
	d->exdates = x->exdates;
	d->nexdates = x->nexdates;
	d->class_ids = x->class_ids;
	d->nclass_ids = x->nclass_ids;
}

/* Reads over d a body that json_check found right (errors empty), adding to errors what it cannot see. */
static void draft_read(arena *a, const json_t *body, struct draft *d, json_t *errors)
{
	if (json_object_size(errors))
		return;
	json_t *v;
#define STR(key, field)                                                                                                \
	if ((v = json_object_get(body, key)))                                                                          \
		d->field = json_is_string(v) ? arena_strdup(a, json_string_value(v)) : NULL;
	STR("kind", kind)
	STR("title", title)
	STR("description", description)
	STR("location", location)
	STR("time_zone", tz)
	STR("rrule", rrule)
	STR("audience", audience)
	STR("course_id", course_id)
	STR("evaluation_id", evaluation_id)
	STR("teacher_id", teacher_id)
#undef STR
	if ((v = json_object_get(body, "starts_at")))
		util_parse_rfc3339(json_string_value(v), &d->start);
	if ((v = json_object_get(body, "ends_at")))
		util_parse_rfc3339(json_string_value(v), &d->end);
	if ((v = json_object_get(body, "all_day")))
		d->all_day = json_is_true(v);
	if ((v = json_object_get(body, "exdates"))) {
		d->nexdates = 0;
		d->exdates = arena_alloc(a, (json_array_size(v) + 1) * sizeof(*d->exdates));
		size_t i;
		json_t *x;
		json_array_foreach (v, i, x) {
			time_t t;
			if (!json_is_string(x) || util_parse_rfc3339(json_string_value(x), &t)) {
				json_object_set_new(errors, "exdates",
						    json_string("ne contient que des dates-heures RFC 3339"));
				break;
			}
			d->exdates[d->nexdates++] = t;
		}
	}
	if ((v = json_object_get(body, "class_ids"))) {
		d->nclass_ids = 0;
		d->class_ids = arena_alloc(a, (json_array_size(v) + 1) * sizeof(*d->class_ids));
		size_t i;
		json_t *x;
		json_array_foreach (v, i, x) {
			if (!json_is_string(x) || !util_is_uuid(json_string_value(x))) {
				json_object_set_new(errors, "class_ids",
						    json_string("ne contient que des identifiants de classes"));
				break;
			}
			if (!cal_has(d->class_ids, d->nclass_ids, json_string_value(x)))
				d->class_ids[d->nclass_ids++] = arena_strdup(a, json_string_value(x));
		}
	}
}

/* Defaults that depend on other fields (create only). */
static void draft_defaults(struct draft *d, const struct cal_viewer *v)
{
	if (!d->tz)
		d->tz = CAL_DEFAULT_TZ;
	if (!d->audience)
		d->audience = d->course_id                               ? "course"
			      : d->nclass_ids                            ? "classes"
			      : (d->kind && !strcmp(d->kind, "holiday")) ? "school"
									 : "owner";
	if (!d->kind) {
		if (!strcmp(d->audience, "owner"))
			d->kind = "personal";
		else if (!strcmp(d->audience, "course"))
			d->kind = "lesson";
		else
			d->kind = "school";
	}
	(void)v;
}

/*
 * Checks a draft: field errors into errors (400), and who may write it (403: *forbidden set to a
 * French sentence). 0 or an ent_err.
 */
static int draft_check(db_conn *c, arena *a, const struct cal_viewer *v, struct draft *d, json_t *errors,
		       const char **forbidden)
{
	*forbidden = NULL;
	if (d->end <= d->start)
		json_object_set_new(errors, "ends_at", json_string("doit être après starts_at"));
	else if (d->end - d->start > 366L * 86400)
		json_object_set_new(errors, "ends_at", json_string("est à plus d'un an de starts_at"));
	if (!cal_tz_valid(d->tz))
		json_object_set_new(errors, "time_zone",
				    json_string("n'est pas un fuseau horaire connu (Europe/Paris)"));
	const char *why;
	if (d->rrule && cal_rule_check(d->rrule, d->start, &why))
		json_object_set_new(errors, "rrule", json_string(arena_printf(a, "La règle de récurrence %s.", why)));
	const char *aud = d->audience, *kind = d->kind;
	int personal = !strcmp(kind, "personal"), owner = !strcmp(aud, "owner");
	if (personal != owner)
		json_object_set_new(
			errors, "audience",
			json_string("un événement personnel (kind personal) a l'audience owner, et seul lui"));
	if (!strcmp(kind, "holiday") && strcmp(aud, "school"))
		json_object_set_new(errors, "audience", json_string("des vacances concernent toute l'école (school)"));
	if ((!strcmp(kind, "lesson") || !strcmp(kind, "exam") || !strcmp(kind, "homework")) && strcmp(aud, "course") &&
	    strcmp(aud, "classes"))
		json_object_set_new(errors, "audience",
				    json_string("un cours, un devoir ou un examen concerne un cours ou des classes"));
	if (!strcmp(aud, "course")) {
		if (!d->course_id)
			json_object_set_new(errors, "course_id", json_string("est requis pour l'audience course"));
		else {
			int rc = cours_exists(c, d->course_id);
			if (rc < 0)
				return rc;
			if (!rc)
				json_object_set_new(errors, "course_id", json_string("ne désigne aucun cours"));
		}
	} else if (d->course_id && strcmp(aud, "classes"))
		json_object_set_new(errors, "course_id",
				    json_string("ne s'emploie qu'avec l'audience course ou classes"));
	if (!strcmp(aud, "classes")) {
		if (!d->nclass_ids)
			json_object_set_new(errors, "class_ids",
					    json_string("doit nommer au moins une classe pour l'audience classes"));
		for (size_t i = 0; i < d->nclass_ids; i++) {
			int rc = users_class_exists(c, d->class_ids[i]);
			if (rc < 0)
				return rc;
			if (!rc) {
				json_object_set_new(errors, "class_ids",
						    json_string("nomme une classe qui n'existe pas"));
				break;
			}
		}
	} else if (d->nclass_ids)
		json_object_set_new(errors, "class_ids", json_string("ne s'emploie qu'avec l'audience classes"));
	if (d->teacher_id) {
		struct user u;
		int rc = users_get(c, a, d->teacher_id, &u);
		if (rc && rc != ENT_ENOTFOUND)
			return rc;
		if (rc || !(u.roles & ROLE_ENSEIGNANT))
			json_object_set_new(errors, "teacher_id", json_string("ne désigne aucun enseignant"));
	}
	if (json_object_size(errors))
		return ENT_OK;
	/* Who may write it. */
	if (v->all)
		return ENT_OK;
	if (!strcmp(aud, "school") || !strcmp(aud, "teachers"))
		*forbidden =
			"Seuls les administrateurs publient des événements pour toute l'école, les vacances ou les "
			"événements du personnel.";
	else if (!strcmp(aud, "course") && !cal_has(v->taught, v->ntaught, d->course_id))
		*forbidden = "Seuls les enseignants du cours et les administrateurs y ajoutent des événements.";
	else if (!strcmp(aud, "classes")) {
		if (!(v->roles & ROLE_ENSEIGNANT))
			*forbidden =
				"Seuls les enseignants de la classe et les administrateurs y ajoutent des événements.";
		for (size_t i = 0; !*forbidden && i < d->nclass_ids; i++)
			if (!cal_has(v->classes, v->nclasses, d->class_ids[i]))
				*forbidden =
					"Vous n'enseignez pas dans l'une de ces classes : seuls ses enseignants et les "
					"administrateurs y ajoutent des événements.";
	}
	return ENT_OK;
}

/* draft_check answered: 0 when the draft may be written, else -1 after the 400, 403 or 5xx (errors consumed). */
static int draft_verdict(http_req *req, db_conn *c, const struct cal_viewer *v, struct draft *d, json_t *errors)
{
	const char *forbidden;
	int rc = draft_check(c, http_arena(req), v, d, errors, &forbidden);
	if (rc) {
		json_decref(errors);
		http_problem_err(req, rc, NULL);
		return -1;
	}
	if (http_invalid(req, errors))
		return -1;
	if (forbidden) {
		http_problem(req, 403, forbidden);
		return -1;
	}
	return 0;
}

/* "t1,t2" of sorted exdates. */
static const char *exdates_text(arena *a, time_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			time_t x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	char *out = arena_alloc(a, n * 21 + 1), *p = out;
	*p = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		util_time_rfc3339(v[i], p);
		p += strlen(p);
	}
	return out;
}

/* last_end_at of a draft, or NULL for a rule without end. */
static const char *draft_last_end(arena *a, const struct draft *d)
{
	struct cal_series s = {.start = d->start, .end = d->end, .tz = d->tz, .rrule = d->rrule};
	time_t last;
	if (cal_series_last_end(&s, &last) != 1)
		return NULL;
	char *out = arena_alloc(a, 21);
	util_time_rfc3339(last, out);
	return out;
}

/* Inserts (id new) or updates the series row and its classes, inside the caller's transaction. */
static int draft_store(db_conn *c, arena *a, const char *id, int is_new, const struct draft *d, const char *owner,
		       const char *parent)
{
	char start[21], end[21], now[21];
	util_time_rfc3339(d->start, start);
	util_time_rfc3339(d->end, end);
	now_text(now);
	db_stmt *s = db_prepare(
		c, is_new ? "INSERT INTO calendar_events (kind, title, description, location, starts_at, ends_at,"
			    " tz, all_day, rrule, exdates, last_end_at, audience, course_id, evaluation_id,"
			    " teacher_id, owner_id, parent_id, created_at, updated_at, id)"
			    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			  : "UPDATE calendar_events SET kind = ?, title = ?, description = ?, location = ?,"
			    " starts_at = ?, ends_at = ?, tz = ?, all_day = ?, rrule = ?, exdates = ?,"
			    " last_end_at = ?, audience = ?, course_id = ?, evaluation_id = ?, teacher_id = ?,"
			    " owner_id = ?, parent_id = COALESCE(?, parent_id), created_at = COALESCE(?, created_at),"
			    " updated_at = ? WHERE id = ?");
	if (!s)
		return ENT_EDB;
	time_t *ex = arena_alloc(a, (d->nexdates + 1) * sizeof(*ex));
	if (d->nexdates)
		memcpy(ex, d->exdates, d->nexdates * sizeof(*ex));
	const char *vals[] = {d->kind, d->title, d->description, d->location, start, end, d->tz};
	int k = 1;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		db_bind_text_or_null(s, k++, vals[i]);
	db_bind_int64(s, k++, d->all_day);
	db_bind_text_or_null(s, k++, d->rrule);
	db_bind_text(s, k++, exdates_text(a, ex, d->nexdates));
	db_bind_text_or_null(s, k++, draft_last_end(a, d));
	const char *more[] = {d->audience,         d->course_id, d->evaluation_id,
			      d->teacher_id,       owner,        parent,
			      is_new ? now : NULL, now,          id};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		db_bind_text_or_null(s, k++, more[i]);
	int rc = db_step(s);
	db_done(s);
	if (rc < 0)
		return rc;
	if ((rc = SQL_RUN(c, "DELETE FROM calendar_event_classes WHERE event_id = ?", SQL_T(id))) < 0)
		return rc;
	for (size_t i = 0; i < d->nclass_ids; i++)
		if ((rc = SQL_RUN(c, "INSERT INTO calendar_event_classes (event_id, class_id) VALUES (?, ?)", SQL_T(id),
				  SQL_T(d->class_ids[i]))) < 0)
			return rc;
	return ENT_OK;
}

void cal_events_create(http_req *req)
{
	json_t *body, *errors;
	db_conn *c = cal_body_db(req, cal_series_fields, CAL_NSERIES, &body, &errors);
	if (!c)
		return;
	arena *a = http_arena(req);
	struct draft d;
	memset(&d, 0, sizeof(d));
	struct cal_viewer v;
	draft_read(a, body, &d, errors);
	if (json_object_size(errors)) {
		http_invalid(req, errors);
		return;
	}
	if (cal_viewer_load(req, c, &v)) {
		json_decref(errors);
		return;
	}
	draft_defaults(&d, &v);
	if (draft_verdict(req, c, &v, &d, errors))
		return;
	int rc;
	char id[37];
	util_uuid(id);
	if (!(rc = db_begin(c))) {
		rc = draft_store(c, a, id, 1, &d, v.user_id, NULL);
		rc = rc ? (db_rollback(c), rc) : db_commit(c);
	}
	if (rc) {
		http_problem_err(req, rc, "L'événement n'a pas pu être enregistré.");
		return;
	}
	http_set_header(req, "Location", arena_printf(a, "/api/calendar/events/%s", id));
	reply_series(req, c, id, 201);
}

/*
 * The event {id} for the caller: the connection, or NULL after answering (503; 404 when absent or
 * not visible; 403 when need_edit and not editable).
 */
static db_conn *series_open(http_req *req, struct cal_viewer *v, struct series *x, int need_edit)
{
	db_conn *c = http_db(req);
	if (!c || cal_viewer_load(req, c, v))
		return NULL;
	int rc = load_series(c, http_arena(req), http_param(req, "id"), x);
	if (row_verdict(req, rc, !rc && visible(v, x), "Cet événement n'existe pas ou ne vous est pas visible.",
			"L'événement n'a pas pu être lu."))
		return NULL;
	if (need_edit && !editable(v, x)) {
		http_problem(req, 403,
			     "Seuls l'auteur de l'événement, les enseignants de son cours et les administrateurs le "
			     "modifient.");
		return NULL;
	}
	return c;
}

void cal_events_get(http_req *req)
{
	struct cal_viewer v;
	struct series x;
	db_conn *c = series_open(req, &v, &x, 0);
	if (!c)
		return;
	write_series(http_jw(req), &x);
	http_reply_jw(req, 200);
}

/* rrule without its COUNT (and its UNTIL unless keep_until), then the part add. Arena string. */
static const char *rule_with(arena *a, const char *rrule, int keep_until, const char *add)
{
	size_t size = strlen(rrule) + strlen(add) + 2;
	char *out = arena_alloc(a, size), *p = out;
	for (const char *q = rrule; *q;) {
		size_t len = strcspn(q, ";");
		if (len && strncasecmp(q, "COUNT=", 6) && (keep_until || strncasecmp(q, "UNTIL=", 6))) {
			if (p != out)
				*p++ = ';';
			memcpy(p, q, len);
			p += len;
		}
		q += len;
		if (*q == ';')
			q++;
	}
	snprintf(p, size - (size_t)(p - out), "%s%s", p == out ? "" : ";", add);
	return out;
}

/* The rule rrule ending just before t (UNTIL = t - 1 s in UTC; COUNT removed). Arena string. */
static const char *rule_until(arena *a, const char *rrule, time_t t)
{
	struct tm tm;
	time_t u = t - 1;
	gmtime_r(&u, &tm);
	return rule_with(a, rrule, 0,
			 arena_printf(a, "UNTIL=%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
				      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec));
}

static int count_before(void *ctx, time_t start, time_t end, time_t id)
{
	(void)start;
	(void)end;
	(void)id;
	(*(int *)ctx)++;
	return 0;
}

/*
 * The rule of the series starting at the occurrence at (split from rrule starting at start):
 * COUNT=n becomes the occurrences left; UNTIL stays.
 */
static const char *rule_from(arena *a, const struct series *x, time_t at)
{
	const char *r = x->col[C_RRULE];
	const char *cnt = NULL;
	for (const char *q = r; q && *q;) {
		if (!strncasecmp(q, "COUNT=", 6))
			cnt = q + 6;
		q += strcspn(q, ";");
		if (*q == ';')
			q++;
	}
	if (!cnt)
		return r;
	int before = 0;
	struct cal_series s = {.start = x->start, .end = x->end, .tz = x->col[C_TZ], .rrule = r};
	cal_expand(&s, x->start, at, count_before, &before);
	long total = strtol(cnt, NULL, 10), left = total - before;
	return rule_with(a, r, 1, arena_printf(a, "COUNT=%ld", left > 0 ? left : 1));
}

/* The change to x's occurrence at, for the students (cal_notify_change, cal_cancels_add). */
static struct cal_change change_of(const struct series *x, time_t at, int cancelled, time_t start, const char *loc,
				   const char *note)
{
	return (struct cal_change){.event_id = x->col[C_ID],
				   .kind = x->col[C_KIND],
				   .title = x->col[C_TITLE],
				   .tz = x->col[C_TZ],
				   .audience = x->col[C_AUDIENCE],
				   .course_id = x->col[C_COURSE],
				   .class_ids = x->class_ids,
				   .nclass_ids = x->nclass_ids,
				   .at = at,
				   .cancelled = cancelled,
				   .new_start = start,
				   .location = loc,
				   .note = note};
}

void cal_events_patch(http_req *req)
{
	json_t *body, *errors;
	db_conn *c = cal_body_db(req, NULL, 0, &body, &errors);
	if (!c)
		return;
	arena *a = http_arena(req);
	const char *scope = http_query(req, "scope"), *occ = http_query(req, "occurrence_id");
	time_t at = 0;
	int following = scope && !strcmp(scope, "following");
	if (scope && !following && strcmp(scope, "all"))
		json_object_set_new(
			errors, "scope",
			json_string("doit être all (toute la série) ou following (celle-ci et les suivantes)"));
	if (following && (!occ || util_parse_rfc3339(occ, &at)))
		json_object_set_new(errors, "occurrence_id",
				    json_string("est requis avec scope=following : la date-heure de l'occurrence"));
	struct series x;
	struct cal_viewer v;
	if (json_object_size(errors)) {
		http_invalid(req, errors);
		return;
	}
	if (!series_open(req, &v, &x, 1)) {
		json_decref(errors);
		return;
	}
	struct draft d;
	draft_of(&x, &d);
	json_check(body, cal_patch_fields(req, cal_series_fields, CAL_NSERIES), CAL_NSERIES, errors);
	draft_read(a, body, &d, errors);
	if (following && !x.col[C_RRULE])
		json_object_set_new(errors, "scope", json_string("following ne s'applique qu'à une série récurrente"));
	if (following && at <= x.start)
		following = 0; /* from the first occurrence: the whole series */
	if (json_object_size(errors)) {
		http_invalid(req, errors);
		return;
	}
	if (following && !json_object_get(body, "starts_at")) {
		/* The new series starts at the chosen occurrence, same wall-clock length. */
		time_t len = d.end - d.start;
		d.start = at;
		d.end = at + len;
	}
	if (following && json_object_get(body, "starts_at") && !json_object_get(body, "ends_at"))
		d.end = d.start + (x.end - x.start);
	if (following && !json_object_get(body, "rrule"))
		d.rrule = rule_from(a, &x, at);
	if (draft_verdict(req, c, &v, &d, errors))
		return;
	int rc;
	const char *id = x.col[C_ID];
	char new_id[37];
	if ((rc = db_begin(c)))
		goto out;
	if (!following) {
		rc = draft_store(c, a, id, 0, &d, x.col[C_OWNER], NULL);
		if (!rc && !x.col[C_RRULE] && !d.rrule && d.start != x.start) {
			/* A lesson or exam of one occurrence moved: its students are told (the next 14 days). */
			struct cal_change ch = change_of(&x, x.start, 0, d.start, d.location, NULL);
			ch.title = d.title;
			rc = cal_notify_change(c, a, &ch);
		}
	} else {
		/* Split: the old series ends before at; the new one takes the exdates and overrides from at. */
		util_uuid(new_id);
		struct draft old;
		draft_of(&x, &old);
		old.rrule = rule_until(a, x.col[C_RRULE], at);
		size_t keep = 0, moved = 0;
		time_t *mv = arena_alloc(a, (x.nexdates + 1) * sizeof(*mv));
		for (size_t i = 0; i < x.nexdates; i++) {
			if (x.exdates[i] < at)
				old.exdates[keep++] = x.exdates[i];
			else
				mv[moved++] = x.exdates[i];
		}
		old.nexdates = keep;
		if (!json_object_get(body, "exdates")) {
			d.exdates = mv;
			d.nexdates = moved;
		}
		char ats[21];
		util_time_rfc3339(at, ats);
		int same_times = d.start == at;
		rc = draft_store(c, a, id, 0, &old, x.col[C_OWNER], NULL);
		if (!rc)
			rc = draft_store(c, a, new_id, 1, &d, x.col[C_OWNER], id);
		/* The overrides from at go with the new series when its occurrences keep their times. */
		if (!rc && same_times)
			rc = SQL_RUN(
				c,
				"UPDATE calendar_overrides SET event_id = ? WHERE event_id = ? AND occurrence_at >= ?",
				SQL_T(new_id), SQL_T(id), SQL_T(ats));
		else if (!rc)
			rc = SQL_RUN(c, "DELETE FROM calendar_overrides WHERE event_id = ? AND occurrence_at >= ?",
				     SQL_T(id), SQL_T(ats));
		rc = rc < 0 ? rc : ENT_OK;
	}
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
out:
	if (rc) {
		http_problem_err(req, rc, "L'événement n'a pas pu être modifié.");
		return;
	}
	bus_kick();
	reply_series(req, c, following ? new_id : id, 200);
}

void cal_events_delete(http_req *req)
{
	struct cal_viewer v;
	struct series x;
	db_conn *c = series_open(req, &v, &x, 1);
	if (!c)
		return;
	static const char *const sqls[] = {
		"DELETE FROM calendar_overrides WHERE event_id = ?",
		"DELETE FROM calendar_event_classes WHERE event_id = ?",
		"DELETE FROM calendar_events WHERE id = ?",
	};
	int rc = db_begin(c);
	if (!rc)
		rc = SQL_EACH(c, sqls, x.col[C_ID]);
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (rc)
		http_problem_err(req, rc, "L'événement n'a pas pu être supprimé.");
	else
		http_reply_empty(req, 204);
}

/* ---- one occurrence ---- */

/* 1 if at is an occurrence of x (before its changes). */
static int is_occurrence(const struct series *x, time_t at)
{
	struct cal_series s = {.start = x->start,
			       .end = x->end,
			       .tz = x->col[C_TZ],
			       .rrule = x->col[C_RRULE],
			       .exdates = x->exdates,
			       .nexdates = x->nexdates};
	int n = 0;
	cal_expand(&s, at, at + 1, count_before, &n);
	return n > 0;
}

/* The occurrence at of x as the caller sees it now (for the answer). */
static void reply_occurrence(http_req *req, db_conn *c, const struct cal_viewer *v, const struct series *x, time_t at)
{
	struct cal_occ *occ;
	arena *a = http_arena(req);
	time_t len = x->end - x->start;
	/* Wide enough for a move of up to a year either way. */
	int n = cal_occurrences(c, a, v, at - 366L * 86400, at + len + 366L * 86400, NULL, &occ);
	for (int i = 0; i < n; i++)
		if (!strcmp(occ[i].event_id, x->col[C_ID]) && occ[i].id == at) {
			cal_write_occ(http_jw(req), &occ[i]);
			http_reply_jw(req, 200);
			return;
		}
	if (n < 0)
		http_problem_err(req, n, "L'occurrence n'a pas pu être relue.");
	else
		http_reply_empty(req, 204); /* moved out of sight of the caller: nothing to show */
}

/*
 * The occurrence named by the request's {occurrence_id} in *at: 0, or -1 with 404 answered when it
 * is not an occurrence of x.
 */
static int occurrence_arg(http_req *req, const struct series *x, time_t *at)
{
	if (!util_parse_rfc3339(http_param(req, "occurrence_id"), at) && is_occurrence(x, *at))
		return 0;
	http_problem(req, 404, "Cette occurrence n'existe pas dans la série.");
	return -1;
}

/* Takes back the changes to the occurrence at of event_id: it is the series' again. 0 or an ent_err. */
static int override_clear(db_conn *c, const char *event_id, time_t at)
{
	char ats[21];
	util_time_rfc3339(at, ats);
	int rc = SQL_RUN(c, "DELETE FROM calendar_overrides WHERE event_id = ? AND occurrence_at = ?", SQL_T(event_id),
			 SQL_T(ats));
	return rc < 0 ? rc : ENT_OK;
}

/*
 * Records the override of event_id's occurrence at, by the user by at now: cancelled, or changed
 * to start and end (0: the series' times), loc and teacher (NULL: the series'), with an optional
 * note. Inside the caller's transaction, which tells the students (cal_notify_change, or
 * cal_cancels_add for several); 0 or an ent_err.
 */
static int override_store(db_conn *c, const char *event_id, time_t at, int cancelled, time_t start, time_t end,
			  const char *loc, const char *teacher, const char *note, const char *by, const char *now)
{
	char ats[21], sts[21], ets[21];
	util_time_rfc3339(at, ats);
	if (start) {
		util_time_rfc3339(start, sts);
		util_time_rfc3339(end, ets);
	}
	int rc = SQL_RUN(c,
			 "INSERT INTO calendar_overrides (event_id, occurrence_at, status, starts_at, ends_at,"
			 " location, teacher_id, note, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
			 " ON CONFLICT (event_id, occurrence_at) DO UPDATE SET status = excluded.status,"
			 " starts_at = excluded.starts_at, ends_at = excluded.ends_at, location = excluded.location,"
			 " teacher_id = excluded.teacher_id, note = excluded.note, updated_by = excluded.updated_by,"
			 " updated_at = excluded.updated_at",
			 SQL_T(event_id), SQL_T(ats), SQL_T(cancelled ? "cancelled" : "changed"),
			 SQL_T(start ? sts : NULL), SQL_T(start ? ets : NULL), SQL_T(loc), SQL_T(teacher), SQL_T(note),
			 SQL_T(by), SQL_T(now));
	return rc < 0 ? rc : ENT_OK;
}

static const char *const occ_status[] = {"cancelled", "scheduled", NULL};
const struct jfield cal_override_fields[CAL_NOVERRIDE] = {
	{"status", JF_STRING, 0, 0, 0, 0, occ_status}, {"starts_at", JF_TIME, 0, 0, 0, 0, NULL},
	{"ends_at", JF_TIME, 0, 0, 0, 0, NULL},        {"location", JF_STRING, 0, 1, 0, 100, NULL},
	{"teacher_id", JF_UUID, 0, 1, 0, 0, NULL},     {"note", JF_STRING, 0, 1, 0, 500, NULL},
};

void cal_occurrence_put(http_req *req)
{
	json_t *body = http_json_body(req);
	if (!body)
		return;
	struct cal_viewer v;
	struct series x;
	db_conn *c = series_open(req, &v, &x, 1);
	if (!c)
		return;
	arena *a = http_arena(req);
	time_t at;
	if (occurrence_arg(req, &x, &at))
		return;
	json_t *errors = json_object();
	json_check(body, cal_override_fields, CAL_NOVERRIDE, errors);
	time_t start = 0, end = 0;
	const char *ss = json_get_str(body, "starts_at", NULL), *es = json_get_str(body, "ends_at", NULL);
	if (ss)
		util_parse_rfc3339(ss, &start);
	if (es)
		util_parse_rfc3339(es, &end);
	if (start && !end)
		end = start + (x.end - x.start);
	if (end && !start)
		json_object_set_new(errors, "starts_at", json_string("est requis avec ends_at"));
	else if (start && end <= start)
		json_object_set_new(errors, "ends_at", json_string("doit être après starts_at"));
	const char *teacher = json_get_str(body, "teacher_id", NULL);
	if (teacher && !json_object_size(errors)) {
		struct user u;
		int rc = users_get(c, a, teacher, &u);
		if (rc && rc != ENT_ENOTFOUND) {
			json_decref(errors);
			http_problem_err(req, rc, NULL);
			return;
		}
		if (rc || !(u.roles & ROLE_ENSEIGNANT))
			json_object_set_new(errors, "teacher_id", json_string("ne désigne aucun enseignant"));
	}
	if (http_invalid(req, errors))
		return;
	const char *status = json_get_str(body, "status", NULL);
	int cancelled = status && !strcmp(status, "cancelled");
	const char *loc = json_get_str(body, "location", NULL), *note = json_get_str(body, "note", NULL);
	char now[21];
	now_text(now);
	int rc = db_begin(c);
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	if (!cancelled && !start && !loc && !teacher) {
		rc = override_clear(c, x.col[C_ID], at); /* nothing changed any more: back to the series */
	} else {
		rc = override_store(c, x.col[C_ID], at, cancelled, start, end, loc, teacher, note, v.user_id, now);
		struct cal_change ch = change_of(&x, at, cancelled, start, loc, note);
		if (!rc)
			rc = cal_notify_change(c, a, &ch);
	}
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (rc) {
		http_problem_err(req, rc, "L'occurrence n'a pas pu être modifiée.");
		return;
	}
	bus_kick();
	reply_occurrence(req, c, &v, &x, at);
}

/* Collects occurrence starts (cal_occurrences_cancel's range). */
struct starts {
	arena *a;
	time_t *v;
	size_t n, cap;
};

static int keep_start(void *ctx, time_t start, time_t end, time_t id)
{
	(void)end;
	(void)start;
	struct starts *k = ctx;
	if (k->n >= 1000)
		return ENT_ETOOBIG;
	k->v = arena_grow(k->a, k->v, k->n, &k->cap, sizeof(*k->v));
	k->v[k->n++] = id;
	return 0;
}

/*
 * The end of a cancellation's transaction (rc: how its writes went): the students told, then
 * committed (the bus kicked), or rolled back. 0, or -1 after answering failed.
 */
static int cancels_end(http_req *req, db_conn *c, struct cal_cancels *told, const char *note, int rc,
		       const char *failed)
{
	if (!rc)
		rc = cal_cancels_publish(c, told, note);
	cal_cancels_free(told);
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (rc) {
		http_problem_err(req, rc, failed);
		return -1;
	}
	bus_kick();
	return 0;
}

const struct jfield cal_cancel_fields[CAL_NCANCEL] = {
	{"occurrence_ids", JF_ARRAY, 0, 0, 1, 500, NULL},
	{"from", JF_STRING, 0, 0, 1, 40, NULL},
	{"to", JF_STRING, 0, 0, 1, 40, NULL},
	{"note", JF_STRING, 0, 1, 0, 500, NULL},
};

void cal_occurrences_cancel(http_req *req)
{
	json_t *body, *errors;
	db_conn *c = cal_body_db(req, cal_cancel_fields, CAL_NCANCEL, &body, &errors);
	if (!c)
		return;
	arena *a = http_arena(req);
	json_t *ids = json_object_get(body, "occurrence_ids");
	const char *fs = json_get_str(body, "from", NULL), *ts = json_get_str(body, "to", NULL);
	if (!json_object_size(errors)) {
		if (ids && (fs || ts))
			json_object_set_new(errors, "occurrence_ids",
					    json_string("ou bien from et to, pas les deux à la fois"));
		else if (!ids && !(fs && ts))
			json_object_set_new(errors, "occurrence_ids",
					    json_string("est requis (la liste des occurrences), sinon from et to"));
	}
	if (http_invalid(req, errors))
		return;
	struct cal_viewer v;
	struct series x;
	if (!series_open(req, &v, &x, 1))
		return;
	/* The occurrences named, each checked; or those starting in [from, to). All or nothing. */
	struct starts k = {.a = a};
	errors = json_object();
	if (ids) {
		size_t i;
		json_t *one;
		json_array_foreach (ids, i, one) {
			time_t at;
			const char *txt = json_string_value(one);
			if (!txt || util_parse_rfc3339(txt, &at)) {
				json_object_set_new(errors, "occurrence_ids",
						    json_sprintf("contient %s, qui n'est pas une date-heure RFC 3339",
								 txt ? txt : "une valeur qui n'est pas du texte"));
				break;
			}
			if (!is_occurrence(&x, at)) {
				json_object_set_new(
					errors, "occurrence_ids",
					json_sprintf("contient %s, qui n'est pas une occurrence de la série", txt));
				break;
			}
			int dup = 0;
			for (size_t j = 0; j < k.n && !dup; j++)
				dup = k.v[j] == at;
			if (!dup)
				keep_start(&k, at, at, at);
		}
	} else {
		time_t from, to;
		if (parse_bound(fs, &from))
			json_object_set_new(errors, "from",
					    json_string("doit être une date (2026-12-07) ou une date-heure RFC 3339"));
		if (parse_bound(ts, &to))
			json_object_set_new(errors, "to",
					    json_string("doit être une date (2026-12-07) ou une date-heure RFC 3339"));
		if (!json_object_size(errors) && to <= from)
			json_object_set_new(errors, "to", json_string("doit être après from"));
		else if (!json_object_size(errors) && to - from > (time_t)CAL_MAX_WINDOW_DAYS * 86400)
			json_object_set_new(errors, "to", json_string("est à plus de 400 jours de from"));
		if (!json_object_size(errors)) {
			struct cal_series cs = {.start = x.start,
						.end = x.end,
						.tz = x.col[C_TZ],
						.rrule = x.col[C_RRULE],
						.exdates = x.exdates,
						.nexdates = x.nexdates};
			/* Occurrences starting in the range (an occurrence overlapping from is not one of them). */
			int n = cal_expand(&cs, from, to, keep_start, &k);
			size_t kept = 0;
			for (size_t i = 0; i < k.n; i++)
				if (k.v[i] >= from)
					k.v[kept++] = k.v[i];
			k.n = kept;
			if (n < 0 && n != ENT_ETOOBIG) {
				json_decref(errors);
				http_problem_err(req, n, NULL);
				return;
			}
			if (!k.n)
				json_object_set_new(
					errors, "from",
					json_string("aucune occurrence de la série ne commence entre from et to"));
		}
	}
	if (http_invalid(req, errors))
		return;
	const char *note = json_get_str(body, "note", NULL);
	for (size_t i = 1; i < k.n; i++) /* in order */
		for (size_t j = i; j > 0 && k.v[j - 1] > k.v[j]; j--) {
			time_t t = k.v[j];
			k.v[j] = k.v[j - 1];
			k.v[j - 1] = t;
		}
	char ats[21], now[21];
	now_text(now);
	/* The students are told once, of all the lessons of theirs cancelled here. */
	struct cal_cancels told = {.a = a};
	int rc = db_begin(c);
	for (size_t i = 0; !rc && i < k.n; i++) {
		rc = override_store(c, x.col[C_ID], k.v[i], 1, 0, 0, NULL, NULL, note, v.user_id, now);
		struct cal_change ch = change_of(&x, k.v[i], 1, 0, NULL, note);
		if (!rc)
			rc = cal_cancels_add(c, &told, &ch);
	}
	if (cancels_end(req, c, &told, note, rc, "Les occurrences n'ont pas pu être annulées."))
		return;
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "event_id", x.col[C_ID]);
	jw_key(w, "occurrence_ids");
	jw_arr_open(w);
	for (size_t i = 0; i < k.n; i++) {
		util_time_rfc3339(k.v[i], ats);
		jw_str(w, ats);
	}
	jw_arr_close(w);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

/* 1 when o is teacher's: they teach its course and nobody replaces them, or they are the replacement. */
static int lesson_of(const struct cal_occ *o, const char *teacher, const char *const *taught, size_t ntaught)
{
	return (o->teacher_id && !strcmp(o->teacher_id, teacher)) ||
	       (!o->orig_teacher_id && o->course_id && cal_has(taught, ntaught, o->course_id) &&
		(!o->teacher_id || !strcmp(o->teacher_id, teacher)));
}

/* A day (or a few weeks) cancelled at most at once. */
#define CANCEL_MAX_DAYS 31
#define CANCEL_MAX 2000

const struct jfield cal_day_cancel_fields[CAL_NDAY_CANCEL] = {
	{"from", JF_STRING, 1, 0, 1, 40, NULL},    {"to", JF_STRING, 1, 0, 1, 40, NULL},
	{"teacher_id", JF_UUID, 0, 1, 0, 0, NULL}, {"class_id", JF_UUID, 0, 1, 0, 0, NULL},
	{"note", JF_STRING, 0, 1, 0, 500, NULL},
};

/*
 * The lessons and exams starting in [from, to) that are not cancelled yet, of every series: a
 * teacher's own (a teacher away: they teach the course, nobody replaces them), or for an
 * administrator the whole school's, a teacher's (teacher_id) or a class's (class_id). All or none;
 * each student is told once, of their own lessons (cal_cancels_publish).
 */
void cal_cancellations(http_req *req)
{
	json_t *body, *errors;
	db_conn *c = cal_body_db(req, cal_day_cancel_fields, CAL_NDAY_CANCEL, &body, &errors);
	if (!c)
		return;
	arena *a = http_arena(req);
	const struct http_principal *p = http_principal(req);
	time_t from = 0, to = 0;
	if (!json_object_size(errors)) {
		static const char bad[] = "doit être une date (2026-12-07) ou une date-heure RFC 3339";
		if (parse_bound(json_get_str(body, "from", NULL), &from))
			json_object_set_new(errors, "from", json_string(bad));
		if (parse_bound(json_get_str(body, "to", NULL), &to))
			json_object_set_new(errors, "to", json_string(bad));
		else if (!json_object_get(errors, "from") && to <= from)
			json_object_set_new(errors, "to", json_string("doit être après from"));
		else if (!json_object_get(errors, "from") && to - from > CANCEL_MAX_DAYS * 86400L)
			json_object_set_new(errors, "to", json_string("est à plus de 31 jours de from"));
	}
	if (http_invalid(req, errors))
		return;
	const char *teacher = json_get_str(body, "teacher_id", NULL), *cls = json_get_str(body, "class_id", NULL);
	int admin = (p->roles & ROLE_ADMIN) != 0;
	if (!admin && ((teacher && strcmp(teacher, p->sub)) || cls)) {
		http_problem(req, 403, "Un enseignant n'annule que ses propres cours.");
		return;
	}
	if (!admin)
		teacher = p->sub;
	struct cal_viewer v;
	int rc = cal_viewer_for(c, a, p, &v);
	const char **taught = v.taught;
	size_t ntaught = v.ntaught;
	errors = json_object();
	if (!rc && admin && teacher) {
		struct user u;
		rc = users_get(c, a, teacher, &u);
		if (rc == ENT_ENOTFOUND || (!rc && !(u.roles & ROLE_ENSEIGNANT))) {
			json_object_set_new(errors, "teacher_id", json_string("ne désigne aucun enseignant"));
			rc = ENT_OK;
		} else if (!rc) {
			int n = cours_taught_by(c, a, teacher, &taught);
			rc = n < 0 ? n : ENT_OK;
			ntaught = n < 0 ? 0 : (size_t)n;
		}
	}
	if (!rc && cls) {
		rc = users_class_exists(c, cls);
		if (rc == 0)
			json_object_set_new(errors, "class_id", json_string("ne désigne aucune classe"));
		rc = rc < 0 ? rc : ENT_OK;
	}
	static const char *const kinds[] = {"lesson", "exam", NULL};
	struct cal_occ *occ = NULL;
	int n = rc ? rc : json_object_size(errors) ? 0 : cal_occurrences(c, a, &v, from, to, kinds, &occ);
	if (n < 0) {
		json_decref(errors);
		http_problem_err(req, n, "Les cours n'ont pas pu être lus.");
		return;
	}
	int kept = 0;
	for (int i = 0; i < n; i++) {
		const struct cal_occ *o = &occ[i];
		int in_class = !cls;
		for (size_t j = 0; !in_class && j < o->nclasses; j++)
			in_class = !strcmp(o->classes[j].id, cls);
		if (o->start >= from && o->start < to && o->status != CAL_CANCELLED && in_class &&
		    (!teacher || lesson_of(o, teacher, taught, ntaught)) &&
		    (admin || (o->course_id && cal_has(v.taught, v.ntaught, o->course_id))))
			occ[kept++] = occ[i];
	}
	if (!json_object_size(errors) && !kept)
		json_object_set_new(errors, "from", json_string("aucun cours à annuler ne commence entre from et to"));
	else if (kept > CANCEL_MAX)
		json_object_set_new(errors, "to",
				    json_string("annulerait plus de 2000 cours : choisissez une période plus courte"));
	if (http_invalid(req, errors))
		return;
	const char *note = json_get_str(body, "note", NULL);
	char now[21];
	now_text(now);
	struct cal_cancels told = {.a = a};
	rc = db_begin(c);
	for (int i = 0; !rc && i < kept; i++) {
		struct cal_occ *o = &occ[i];
		rc = override_store(c, o->event_id, o->id, 1, 0, 0, NULL, NULL, note, p->sub, now);
		struct cal_change ch = {.event_id = o->event_id,
					.kind = o->kind,
					.title = o->title,
					.tz = o->tz,
					.audience = o->audience,
					.course_id = o->course_id,
					.class_ids = o->class_ids,
					.nclass_ids = o->nclass_ids,
					.at = o->id,
					.cancelled = 1,
					.note = note};
		if (!rc)
			rc = cal_cancels_add(c, &told, &ch);
		/* As it is now: cancelled, at its time (a move is forgotten) and in its room. */
		o->status = CAL_CANCELLED;
		o->note = note;
		o->start = o->orig_start;
		o->end = o->orig_end;
		if (o->orig_location)
			o->location = o->orig_location;
		if (o->orig_teacher_id)
			o->teacher_id = o->orig_teacher_id;
		o->orig_location = o->orig_teacher_id = NULL;
	}
	if (cancels_end(req, c, &told, note, rc, "Les cours n'ont pas pu être annulés."))
		return;
	jw *w = http_jw(req);
	jw_obj_open(w);
	write_items(w, occ, kept);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

void cal_occurrence_delete(http_req *req)
{
	struct cal_viewer v;
	struct series x;
	db_conn *c = series_open(req, &v, &x, 1);
	if (!c)
		return;
	time_t at;
	if (occurrence_arg(req, &x, &at))
		return;
	int rc = override_clear(c, x.col[C_ID], at);
	if (rc)
		http_problem_err(req, rc, "L'occurrence n'a pas pu être rétablie.");
	else
		http_reply_empty(req, 204);
}

/* ---- the week's timetable ---- */

static void timetable_week(http_req *req, db_conn *c, const char *week, time_t from, time_t to, const char *cls,
			   const char *mine);

void cal_timetable(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	const char *week = http_query(req, "week"), *cls = http_query(req, "class_id");
	char this_week[9];
	if (!week) {
		cal_iso_week(time(NULL), CAL_DEFAULT_TZ, this_week);
		week = this_week;
	}
	time_t from, to;
	json_t *errors = json_object();
	if (cal_week_start(week, CAL_DEFAULT_TZ, &from, &to))
		json_object_set_new(errors, "week", json_string("doit être une semaine ISO comme 2026-W49"));
	if (cls && !util_is_uuid(cls))
		json_object_set_new(errors, "class_id", json_string("doit être l'identifiant d'une classe"));
	const char *mine_arg = http_query(req, "mine");
	if (mine_arg && strcmp(mine_arg, "true") && strcmp(mine_arg, "false"))
		json_object_set_new(errors, "mine", json_string("doit être true ou false"));
	if (http_invalid(req, errors))
		return;
	const struct http_principal *p = http_principal(req);
	if (cls && !(p->roles & (ROLE_ENSEIGNANT | ROLE_ADMIN))) {
		http_problem(req, 403,
			     "Seuls les enseignants et les administrateurs consultent l'emploi du temps d'une classe.");
		return;
	}
	const char *mine = http_query(req, "mine");
	/*
	 * A student's week, a teacher's and a class's go through the answer cache (core/rcache.h). An
	 * administrator's own week reads every series of the school, which no one scope stands for: it
	 * is not kept.
	 */
	if (cls || !(p->roles & ROLE_ADMIN)) {
		const char *key = arena_printf(a, "cal-timetable|%s|%s|%s|%d", p->sub, week, cls ? cls : "",
					       mine && !strcmp(mine, "true"));
		if (rcache_begin(req, c, key))
			return;
		timetable_week(req, c, week, from, to, cls, mine);
		rcache_end(req, c);
	} else
		timetable_week(req, c, week, from, to, cls, mine);
}

/*
 * Answers the week [from, to) of the caller or of class cls (a teacher or an administrator asks).
 * Inside rcache_begin(), it names what it reads: the series of each audience read (calendar.c,
 * migration 6: "e:school", "e:teachers" for staff, "eo:" the caller's own, "ek:" each class's,
 * "ec:" each course's), the caller ("u:": a student's class, a teacher's courses and classes),
 * each class ("k:": its courses, its name), each course ("c:": its classes) and each class named on
 * an occurrence ("k:").
 */
static void timetable_week(http_req *req, db_conn *c, const char *week, time_t from, time_t to, const char *cls,
			   const char *mine)
{
	arena *a = http_arena(req);
	const struct http_principal *p = http_principal(req);
	/*
	 * One read transaction for the dozen statements that follow (the answer cache's snapshot when
	 * it stores the answer): SQLite then takes its shared locks once instead of once per statement
	 * (in the district, a third of the request's system time).
	 */
	int caching = rcache_collecting(req), tx = !caching && db_exec(c, "BEGIN") == 0;
	struct cal_viewer v;
	struct cal_occ *occ = NULL;
	int n = 0;
	if (cls) {
		int rc = users_class_exists(c, cls);
		n = rc < 0 ? rc : rc == 0 ? -404 : cal_viewer_of_class(c, a, cls, &v);
	} else
		n = cal_viewer_for(c, a, p, &v);
	static const char *const kinds[] = {"lesson", "exam", "school", "holiday", NULL};
	if (n == 0)
		n = cal_occurrences(c, a, &v, from, to, kinds, &occ);
	if (tx)
		db_exec(c, "COMMIT");
	if (caching && n >= 0) {
		rcache_dep(req, "e", "school");
		if (v.roles & ROLE_ENSEIGNANT)
			rcache_dep(req, "e", "teachers");
		if (*v.user_id)
			rcache_dep(req, "eo", v.user_id);
		if (!cls)
			rcache_dep(req, "u", p->sub);
		for (size_t i = 0; i < v.nclasses; i++) {
			rcache_dep(req, "k", v.classes[i]);
			rcache_dep(req, "ek", v.classes[i]);
		}
		for (size_t i = 0; i < v.ncourses; i++) {
			rcache_dep(req, "c", v.courses[i]);
			rcache_dep(req, "ec", v.courses[i]);
		}
		for (int i = 0; i < n; i++)
			for (size_t j = 0; j < occ[i].nclasses; j++)
				rcache_dep(req, "k", occ[i].classes[j].id);
	}
	if (n == -404) {
		http_problem(req, 404, "Cette classe n'existe pas.");
		return;
	}
	if (n < 0) {
		http_problem_err(req, n, "L'emploi du temps n'a pas pu être lu.");
		return;
	}
	if (n > 0 && mine && strcmp(mine, "true") == 0 && !cls) {
		/* A teacher's own lessons: those they teach (or replace), and everything that is not a lesson. */
		int k = 0;
		for (int i = 0; i < n; i++) {
			const struct cal_occ *o = &occ[i];
			int lesson = !strcmp(o->kind, "lesson") || !strcmp(o->kind, "exam");
			if (!lesson || lesson_of(o, p->sub, v.taught, v.ntaught))
				occ[k++] = occ[i];
		}
		n = k;
	}
	char monday[11];
	cal_local_date(from, CAL_DEFAULT_TZ, monday);
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "week", week);
	jw_kstr(w, "starts_on", monday);
	jw_kstr(w, "class_id", cls);
	write_items(w, occ, n);
	jw_obj_close(w);
	http_reply_jw(req, 200);
}

int cal_import_one(db_conn *c, arena *a, const struct cal_viewer *v, const char *kind, const char *course,
		   const char *title, const char *description, const char *location, time_t start, time_t end,
		   int all_day, const char *rrule, time_t *exdates, size_t nexdates)
{
	struct draft d;
	memset(&d, 0, sizeof(d));
	d.kind = kind;
	d.audience = course ? "course" : "school";
	d.course_id = course;
	d.title = title;
	d.description = description;
	d.location = location;
	d.tz = CAL_DEFAULT_TZ;
	d.start = start;
	d.end = end;
	d.all_day = all_day;
	d.rrule = rrule;
	d.exdates = exdates;
	d.nexdates = nexdates;
	char id[37];
	util_uuid(id);
	return draft_store(c, a, id, 1, &d, v->user_id, NULL);
}
