/*
 * generate.c - the notifications part of `ent demo --scale N`: sc->notifications rows spread over
 * the generated students (s1@ … of the district), as the grades would have produced them: "new
 * grade" notifications over the last 60 days, the older ones mostly read (70 % overall).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/service.h"
#include "core/util.h"
#include "services/users/users.h"

#define BATCH 5000

static const char *const subjects[6] = {"Mathématiques", "Français", "Histoire-Géographie",
					"Anglais",       "SVT",      "Physique-Chimie"};

int notif_generate(db_conn *c, const struct scale *sc)
{
	/* The generated students' ids, sorted (asked of the users service). */
	char(*ids)[37];
	size_t n;
	int rc = users_scale_students(c, &ids, &n);
	if (rc || n == 0) {
		free(ids);
		return rc;
	}
	uint64_t rng = sc->seed * 15485863u + 3;
	time_t now = time(NULL);
	if ((rc = db_begin(c))) {
		free(ids);
		return rc;
	}
	for (uint64_t i = 0; i < sc->notifications; i++) {
		const char *user = ids[i % n];
		uint64_t r = util_splitmix64(&rng);
		time_t at = now - (time_t)(r % (60 * 86400));
		int read = (r >> 32) % 10 < 7;
		char id[37], created[21], read_at[21], title[96], data[160];
		util_uuid(id);
		util_time_rfc3339(at, created);
		util_time_rfc3339(at + 3600, read_at);
		const char *subject = subjects[(r >> 20) % 6];
		snprintf(title, sizeof title, "Nouvelle note en %s", subject);
		char eid[37], cid[37];
		util_uuid(eid);
		util_uuid(cid);
		snprintf(data, sizeof data, "{\"evaluation_id\":\"%s\",\"course_id\":\"%s\"}", eid, cid);
		db_stmt *s = db_prepare(
			c,
			"INSERT INTO notifications (id, user_id, type, title, body, link, data, event_id, "
			"created_at, created_us, read_at) VALUES (?, ?, 'note.published', ?, ?, '/notes', ?, NULL, ?, ?, ?)");
		if (!s) {
			rc = ENT_EDB;
			break;
		}
		db_bind_text(s, 1, id);
		db_bind_text(s, 2, user);
		db_bind_text(s, 3, title);
		db_bind_text(s, 4, "Contrôle : note sur 20 disponible");
		db_bind_text(s, 5, data);
		db_bind_text(s, 6, created);
		db_bind_int64(s, 7, (int64_t)at * 1000000 + (int64_t)(i % 1000000));
		if (read)
			db_bind_text(s, 8, read_at);
		else
			db_bind_null(s, 8);
		rc = db_step(s);
		db_done(s);
		if (rc < 0)
			break;
		rc = ENT_OK;
		if ((i + 1) % BATCH == 0 && ((rc = db_commit(c)) || (rc = db_begin(c))))
			break;
		sc->progress("notifications", i + 1, sc->notifications);
	}
	if (rc == ENT_OK)
		rc = db_commit(c);
	else
		db_rollback(c);
	free(ids);
	return rc;
}
