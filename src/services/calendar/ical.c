/*
 * ical.c - iCalendar (RFC 5545): the export of a window, the personal feeds phones subscribe to,
 * and the import of a file.
 *
 * Export writes each occurrence of the window as its own VEVENT (UID: the series id and the
 * occurrence's original start), so that any calendar application shows exactly what the portal
 * shows, cancelled lessons included (STATUS:CANCELLED) and moved ones at their new time. The text
 * is produced by libical (folding, escaping).
 *
 * A feed address carries a secret: 32 random bytes in hex. Only its SHA-256 is stored; creating a
 * new address replaces the old one, deleting it revokes it, and an unknown or revoked token
 * answers 404, the same. The feed route is left out of the access log so the token is never
 * written anywhere.
 *
 * Import reads a VCALENDAR's VEVENTs (with their RRULE and EXDATE) into events: administrators
 * import school events or holidays, teachers the events of one of their courses. The whole file
 * is checked first; any bad event answers 400 naming its line, and nothing is stored.
 */
#include "internal.h"

#include <libical/ical.h>
#include <stdlib.h>
#include <string.h>

#include "core/app.h"
#include "core/config.h"
#include "core/err.h"
#include "core/jwt.h"
#include "core/sql.h"
#include "core/util.h"
#include "services/users/users.h"

/* ---- export ---- */

static struct icaltimetype utc_time(time_t t)
{
	return icaltime_from_timet_with_zone(t, 0, icaltimezone_get_utc_timezone());
}

static struct icaltimetype local_date(time_t t, const char *tz)
{
	icaltimezone *z = icaltimezone_get_builtin_timezone(tz && *tz ? tz : CAL_DEFAULT_TZ);
	return icaltime_from_timet_with_zone(t, 1, z ? z : icaltimezone_get_utc_timezone());
}

/* The VCALENDAR text of n occurrences (malloc'd; the caller frees). */
static char *ics_of(const struct cal_occ *occ, int n, const char *name)
{
	icalcomponent *cal = icalcomponent_new_vcalendar();
	icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
	icalcomponent_add_property(cal, icalproperty_new_prodid("-//ENT//Calendrier//FR"));
	icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
	icalproperty *xn = icalproperty_new_x(name);
	icalproperty_set_x_name(xn, "X-WR-CALNAME");
	icalcomponent_add_property(cal, xn);
	time_t now = time(NULL);
	for (int i = 0; i < n; i++) {
		const struct cal_occ *o = &occ[i];
		icalcomponent *ev = icalcomponent_new_vevent();
		char uid[96], rid[21];
		util_time_rfc3339(o->id, rid);
		snprintf(uid, sizeof uid, "%s-%s@ent", o->event_id, rid);
		icalcomponent_add_property(ev, icalproperty_new_uid(uid));
		icalcomponent_add_property(ev, icalproperty_new_dtstamp(utc_time(now)));
		if (o->all_day) {
			icalcomponent_add_property(ev, icalproperty_new_dtstart(local_date(o->start, o->tz)));
			icalcomponent_add_property(ev, icalproperty_new_dtend(local_date(o->end, o->tz)));
		} else {
			icalcomponent_add_property(ev, icalproperty_new_dtstart(utc_time(o->start)));
			icalcomponent_add_property(ev, icalproperty_new_dtend(utc_time(o->end)));
		}
		icalcomponent_add_property(ev, icalproperty_new_summary(o->title));
		if (o->description)
			icalcomponent_add_property(ev, icalproperty_new_description(o->description));
		if (o->location)
			icalcomponent_add_property(ev, icalproperty_new_location(o->location));
		icalcomponent_add_property(ev, icalproperty_new_categories(o->kind));
		if (o->status == CAL_CANCELLED)
			icalcomponent_add_property(ev, icalproperty_new_status(ICAL_STATUS_CANCELLED));
		else
			icalcomponent_add_property(ev, icalproperty_new_status(ICAL_STATUS_CONFIRMED));
		if (o->note)
			icalcomponent_add_property(ev, icalproperty_new_comment(o->note));
		icalcomponent_add_component(cal, ev);
	}
	char *text = icalcomponent_as_ical_string_r(cal);
	icalcomponent_free(cal);
	return text;
}

static void reply_ics(http_req *req, const struct cal_occ *occ, int n, const char *name, const char *filename)
{
	char *text = ics_of(occ, n, name);
	if (!text) {
		http_problem(req, 500, "L'agenda n'a pas pu être mis au format iCalendar.");
		return;
	}
	http_set_header(req, "Content-Disposition", filename);
	http_reply_data(req, 200, "text/calendar; charset=utf-8", text, strlen(text));
	free(text);
}

void cal_ics_export(http_req *req)
{
	struct cal_occ *occ;
	int n = cal_window_occ(req, 0, &occ);
	if (n < 0)
		return;
	reply_ics(req, occ, n, "ENT", "attachment; filename=\"agenda.ics\"");
}

/* ---- personal feeds ---- */

void cal_feed_get(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	const struct http_principal *p = http_principal(req);
	db_stmt *s = SQL_PREP(c, "SELECT created_at FROM calendar_feeds WHERE user_id = ?", SQL_T(p->sub));
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	int rc = db_step(s);
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kbool(w, "active", rc == DB_ROW);
	jw_kstr(w, "created_at", rc == DB_ROW ? db_col_text(s, 0) : NULL);
	jw_obj_close(w);
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	http_reply_jw(req, 200);
}

void cal_feed_create(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	const struct http_principal *p = http_principal(req);
	char token[65], hash[65], now[21];
	util_random_hex(token, 32); /* 32 random bytes, 64 hex digits */
	sha256_hex(token, 64, hash);
	util_time_rfc3339(time(NULL), now);
	int rc = SQL_RUN(c,
			 "INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES (?, ?, ?)"
			 " ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash,"
			 " created_at = excluded.created_at",
			 SQL_T(p->sub), SQL_T(hash), SQL_T(now));
	if (rc < 0) {
		http_problem_err(req, rc, "L'adresse de l'agenda n'a pas pu être créée.");
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kstr(w, "url", arena_printf(http_arena(req), "%s/api/calendar/feeds/%s.ics", app.cfg->public_url, token));
	jw_kstr(w, "created_at", now);
	jw_obj_close(w);
	http_set_header(req, "Cache-Control", "no-store");
	http_reply_jw(req, 201);
}

void cal_feed_delete(http_req *req)
{
	db_conn *c = http_db(req);
	if (!c)
		return;
	int rc = SQL_RUN(c, "DELETE FROM calendar_feeds WHERE user_id = ?", SQL_T(http_principal(req)->sub));
	if (rc < 0)
		http_problem_err(req, rc, NULL);
	else
		http_reply_empty(req, 204);
}

/* 1 if s is 64 lower-case hex digits followed by ".ics". */
static int feed_token_ok(const char *s)
{
	if (!s || strlen(s) != 68 || strcmp(s + 64, ".ics") != 0)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

void cal_feed_read(http_req *req)
{
	const char *tok = http_param(req, "token");
	if (!feed_token_ok(tok)) {
		http_problem(req, 404, "Cet agenda n'existe pas.");
		return;
	}
	db_conn *c = http_db(req);
	if (!c)
		return;
	char hash[65];
	sha256_hex(tok, 64, hash);
	db_stmt *s = SQL_PREP(c, "SELECT user_id FROM calendar_feeds WHERE token_hash = ?", SQL_T(hash));
	if (!s) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	int rc = db_step(s);
	const char *user = rc == DB_ROW ? arena_strdup(http_arena(req), db_col_text(s, 0)) : NULL;
	db_done(s);
	if (rc < 0) {
		http_problem_err(req, rc, NULL);
		return;
	}
	if (!user) {
		http_problem(req, 404, "Cet agenda n'existe pas.");
		return;
	}
	/* The owner's view now (their rights as they are today, not when the address was made). */
	struct user u;
	arena *a = http_arena(req);
	rc = users_get(c, a, user, &u);
	if (rc == ENT_ENOTFOUND || (!rc && u.disabled)) {
		http_problem(req, 404, "Cet agenda n'existe pas.");
		return;
	}
	if (rc) {
		http_problem_err(req, rc, NULL);
		return;
	}
	struct http_principal me = {.sub = u.id, .roles = u.roles, .name = u.name};
	struct cal_viewer v;
	if (cal_viewer_for(c, a, &me, &v)) {
		http_problem_err(req, ENT_EDB, NULL);
		return;
	}
	time_t now = time(NULL);
	struct cal_occ *occ;
	int n = cal_occurrences(c, a, &v, now - 30L * 86400, now + 365L * 86400, NULL, &occ);
	if (n < 0) {
		http_problem_err(req, n, NULL);
		return;
	}
	http_set_header(req, "Cache-Control", "private, max-age=300");
	reply_ics(req, occ, n, "ENT", "inline; filename=\"agenda.ics\"");
}

/* ---- import ---- */

/* 1 if t is a date of the calendar (libical accepts 2027-06-32 and rolls it over). */
static int real_date(struct icaltimetype t)
{
	return t.year >= 1900 && t.year <= 9999 && t.month >= 1 && t.month <= 12 && t.day >= 1 &&
	       t.day <= icaltime_days_in_month(t.month, t.year) && t.hour >= 0 && t.hour < 24 && t.minute >= 0 &&
	       t.minute < 60 && t.second >= 0 && t.second <= 60;
}

/* The line of the text where p starts (1-based). */
static int line_of(const char *text, const char *p)
{
	int n = 1;
	for (const char *q = text; q < p; q++)
		n += *q == '\n';
	return n;
}

struct imported {
	const char *title, *description, *location, *rrule;
	time_t start, end;
	int all_day;
	time_t *exdates;
	size_t nexdates;
};

void cal_ics_import(http_req *req)
{
	const char *ct = http_header(req, "Content-Type");
	if (!ct || strncasecmp(ct, "text/calendar", 13) != 0) {
		http_problem(req, 415, "Envoyez un fichier iCalendar (Content-Type: text/calendar).");
		return;
	}
	db_conn *c = http_db(req);
	if (!c)
		return;
	arena *a = http_arena(req);
	struct cal_viewer v;
	if (cal_viewer_load(req, c, &v))
		return;
	const char *kind = http_query(req, "kind"), *course = http_query(req, "course_id");
	if (!kind)
		kind = course ? "lesson" : "school";
	if (strcmp(kind, "holiday") && strcmp(kind, "school") && strcmp(kind, "lesson") && strcmp(kind, "exam")) {
		http_invalid(req,
			     json_pack("{s:s}", "kind",
				       "doit être school, holiday (administrateurs), lesson ou exam (avec course_id)"));
		return;
	}
	int school = !strcmp(kind, "school") || !strcmp(kind, "holiday");
	if (school && !v.all) {
		http_problem(req, 403,
			     "Seuls les administrateurs importent des événements de l'école ou des vacances.");
		return;
	}
	if (!school) {
		if (!course || !util_is_uuid(course)) {
			http_invalid(req,
				     json_pack("{s:s}", "course_id", "est requis : le cours des événements importés"));
			return;
		}
		if (cal_course_taught(req, c, &v, course, "Seuls les enseignants du cours importent ses événements."))
			return;
	}
	size_t len;
	const char *text = http_body(req, &len);
	if (!len || strlen(text) != len || !util_valid_lines(text)) {
		http_invalid(req, json_pack("{s:s}", "body", "n'est pas un texte UTF-8 iCalendar"));
		return;
	}
	const char *begin = strstr(text, "BEGIN:VCALENDAR");
	if (!begin || !strstr(text, "END:VCALENDAR")) {
		http_invalid(req, json_pack("{s:s}", "body",
					    "n'est pas un fichier iCalendar (BEGIN:VCALENDAR ... END:VCALENDAR)"));
		return;
	}
	icalerror_set_errors_are_fatal(0);
	icalcomponent *cal = icalparser_parse_string(text);
	if (!cal || icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT) {
		if (cal)
			icalcomponent_free(cal);
		icalerror_clear_errno();
		http_invalid(req, json_pack("{s:s}", "body", "n'est pas un fichier iCalendar lisible"));
		return;
	}
	struct imported *ev = NULL;
	size_t n = 0, cap = 0;
	const char *problem = NULL;
	int problem_line = 0;
	/* Each VEVENT is found again in the text (by its n-th BEGIN:VEVENT) to name its line. */
	const char *scan = begin;
	for (icalcomponent *e = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); e && !problem;
	     e = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
		const char *at = strstr(scan, "BEGIN:VEVENT");
		if (at)
			scan = at + 12;
		int line = at ? line_of(text, at) : 0;
		if (n >= 2000) {
			problem = "contient plus de 2000 événements";
			problem_line = line;
			break;
		}
		if (icalcomponent_get_first_property(e, ICAL_XLICERROR_PROPERTY)) {
			problem = "a une propriété illisible";
			problem_line = line;
			break;
		}
		struct icaltimetype ds = icalcomponent_get_dtstart(e), de = icalcomponent_get_dtend(e);
		const char *summary = icalcomponent_get_summary(e);
		if (icaltime_is_null_time(ds) || !icaltime_is_valid_time(ds) || !real_date(ds) ||
		    (!icaltime_is_null_time(de) && !real_date(de))) {
			problem = "n'a pas de DTSTART valide";
			problem_line = line;
			break;
		}
		if (!summary || !*summary || strlen(summary) > 200) {
			problem = "n'a pas de SUMMARY (le titre, 200 caractères au plus)";
			problem_line = line;
			break;
		}
		struct imported im;
		memset(&im, 0, sizeof(im));
		im.all_day = ds.is_date;
		icaltimezone *paris = icaltimezone_get_builtin_timezone(CAL_DEFAULT_TZ);
		const icaltimezone *zs = ds.zone ? ds.zone
						 : (icaltime_is_utc(ds) ? icaltimezone_get_utc_timezone() : paris);
		im.start = icaltime_as_timet_with_zone(ds, zs);
		if (!icalcomponent_get_first_property(e, ICAL_DTEND_PROPERTY)) {
			/* No DTEND: DURATION, or RFC 5545's default (a day for a date, else one hour here). */
			icalproperty *dp = icalcomponent_get_first_property(e, ICAL_DURATION_PROPERTY);
			struct icaldurationtype d = dp ? icalproperty_get_duration(dp)
						       : icaldurationtype_null_duration();
			im.end = icaldurationtype_is_null_duration(d) ? im.start + (im.all_day ? 86400 : 3600)
								      : im.start + icaldurationtype_as_int(d);
		} else {
			const icaltimezone *ze = de.zone ? de.zone
							 : (icaltime_is_utc(de) ? icaltimezone_get_utc_timezone()
										: paris);
			im.end = icaltime_as_timet_with_zone(de, ze);
		}
		if (im.end <= im.start || im.end - im.start > 366L * 86400) {
			problem = im.end <= im.start ? "se termine avant de commencer (DTEND)" : "dure plus d'un an";
			problem_line = line;
			break;
		}
		im.title = arena_strdup(a, summary);
		const char *d = icalcomponent_get_description(e), *l = icalcomponent_get_location(e);
		im.description = d && *d ? arena_strndup(a, d, 5000) : NULL;
		im.location = l && *l ? arena_strndup(a, l, 100) : NULL;
		icalproperty *rp = icalcomponent_get_first_property(e, ICAL_RRULE_PROPERTY);
		if (rp) {
			struct icalrecurrencetype r = icalproperty_get_rrule(rp);
			char *rs = icalrecurrencetype_as_string_r(&r);
			const char *why = NULL;
			if (!rs || cal_rule_check(rs, im.start, &why)) {
				problem = why ? arena_printf(a, "a une règle de récurrence qui %s", why)
					      : "a une règle de récurrence illisible";
				problem_line = line;
				free(rs);
				break;
			}
			im.rrule = arena_strdup(a, rs);
			free(rs);
		}
		size_t ecap = 0;
		for (icalproperty *x = icalcomponent_get_first_property(e, ICAL_EXDATE_PROPERTY); x;
		     x = icalcomponent_get_next_property(e, ICAL_EXDATE_PROPERTY)) {
			struct icaltimetype t = icalproperty_get_exdate(x);
			const icaltimezone *zx = t.zone ? t.zone
							: (icaltime_is_utc(t) ? icaltimezone_get_utc_timezone()
									      : paris);
			im.exdates = arena_grow(a, im.exdates, im.nexdates, &ecap, sizeof(*im.exdates));
			im.exdates[im.nexdates++] = icaltime_as_timet_with_zone(t, zx);
		}
		ev = arena_grow(a, ev, n, &cap, sizeof(*ev));
		ev[n++] = im;
	}
	icalcomponent_free(cal);
	icalerror_clear_errno();
	if (problem) {
		http_invalid(req, json_pack("{s:s}", "body",
					    arena_printf(a, "ligne %d : l'événement %s ; rien n'a été importé",
							 problem_line, problem)));
		return;
	}
	if (!n) {
		http_invalid(req, json_pack("{s:s}", "body", "ne contient aucun événement (VEVENT)"));
		return;
	}
	int rc = db_begin(c);
	for (size_t i = 0; i < n && !rc; i++) {
		rc = cal_import_one(c, a, &v, kind, school ? NULL : course, ev[i].title, ev[i].description,
				    ev[i].location, ev[i].start, ev[i].end, ev[i].all_day, ev[i].rrule, ev[i].exdates,
				    ev[i].nexdates);
	}
	rc = rc ? (db_rollback(c), rc) : db_commit(c);
	if (rc) {
		http_problem_err(req, rc, "L'import n'a pas pu être enregistré ; rien n'a été importé.");
		return;
	}
	jw *w = http_jw(req);
	jw_obj_open(w);
	jw_kint(w, "imported", (int64_t)n);
	jw_obj_close(w);
	http_reply_jw(req, 201);
}
