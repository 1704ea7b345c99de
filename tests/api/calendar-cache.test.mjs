// The calendar's answers through the answer cache (core/rcache.h) can never be stale: a student's
// week, a teacher's (with and without ?mine=true) and a class's (GET /api/calendar/timetable) and a
// student's homework list (GET /api/calendar/homework). Two processes share one database: A keeps
// an answer cache, R keeps none (ENT_CACHE_MB=0) and is the reference. After every kind of write
// that changes one of those answers (a series created, changed, split, deleted; an occurrence
// cancelled, moved, restored; several cancelled, of one series and of a teacher; an exam; a
// personal event; a staff event; an event for listed classes; a holiday; an import; a class
// renamed; a course given another class, another teacher; a student moved to another class; a
// teacher given a class; homework given, changed, deleted; a tick), each answer read from A,
// twice (the second may be a hit), equals R's. A's hit counter shows the cache at work.
//
// A week names the scopes of the audiences it reads (calendar.c, migration 6): the second test
// shows that a write to one class's or course's series, or a personal event, leaves the other
// classes' weeks in the cache (a hit) while the weeks it touches are rebuilt (equal to R's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api } from './lib/ent.mjs';
import { cacheTrio } from './lib/cache.mjs';
import { school, ok } from './lib/school.mjs';

let trio, A, R, s;
const cls = {};
const courses = {};
const WEEK = '2027-W02'; // 11 to 17 January 2027
const views = () => [
  ['alice', `/api/calendar/timetable?week=${WEEK}`],
  ['dan', `/api/calendar/timetable?week=${WEEK}`],
  ['alice', '/api/calendar/timetable?week=2027-W03'],
  ['teacher', `/api/calendar/timetable?week=${WEEK}`],
  ['teacher', `/api/calendar/timetable?week=${WEEK}&mine=true`],
  ['teacher2', `/api/calendar/timetable?week=${WEEK}`],
  ['teacher2', `/api/calendar/timetable?week=${WEEK}&mine=true`],
  ['alice', `/api/calendar/timetable?week=${WEEK}&mine=true`],
  ['teacher', `/api/calendar/timetable?week=${WEEK}&class_id=${cls.A}`],
  ['admin', `/api/calendar/timetable?week=${WEEK}&class_id=${cls.B}`],
  ['alice', '/api/calendar/homework?from=2027-01-11&to=2027-01-25'],
  ['bob', '/api/calendar/homework?from=2027-01-11&to=2027-01-25'],
  ['dan', '/api/calendar/homework?from=2027-01-11&to=2027-01-25'],
];

function on(proc, who, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (who) headers.Authorization = `Bearer ${s.token(who)}`;
  return api(proc, path, { ...opts, headers });
}
const hits = () => trio.hits(A);

/** Every view from A (twice) equals R's. */
async function same(label) {
  for (const [who, path] of views()) {
    const ref = await on(R, who, path);
    assert.equal(ref.status, 200, `${label}: ${who} ${path}: ${ref.text}`);
    for (let i = 0; i < 2; i++) {
      const got = await on(A, who, path);
      assert.equal(got.status, 200, `${label}: ${who} ${path}`);
      assert.deepEqual(got.json, ref.json, `${label}: ${who} ${path} (read ${i + 1} from A)`);
    }
  }
}

before(async () => {
  trio = await cacheTrio({ withC: false });
  ({ A, R } = trio);
  s = school(A);
  s.add('admin', 'admin@kc.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@kc.test', 'Paul Prof', 'enseignant');
  s.add('teacher2', 'prof2@kc.test', 'Pia Autre', 'enseignant');
  for (const [k, n] of [['alice', 'Alice Alpha'], ['bob', 'Bob Beta'], ['dan', 'Dan Delta']]) s.add(k, `${k}@kc.test`, n, 'etudiant');
  cls.A = await s.newClass('admin', 'Classe A');
  cls.B = await s.newClass('admin', 'Classe B');
  for (const [k, c] of [['alice', 'A'], ['bob', 'A'], ['dan', 'B'], ['teacher', 'A'], ['teacher2', 'B']]) await s.join('admin', cls[c], k);
  courses.maths = (await ok(s.as('teacher', '/api/cours', { method: 'POST', body: { title: 'Mathématiques', class_ids: [cls.A] } }), 201)).id;
  courses.en = (await ok(s.as('teacher2', '/api/cours', { method: 'POST', body: { title: 'Anglais', class_ids: [cls.B] } }), 201)).id;
});

after(async () => { await trio.stop(); });

test('every kind of write that changes a week or a homework list is seen at once', async () => {
  await same('empty');
  const h0 = await hits();
  await same('again');
  assert.ok((await hits()) > h0, 'the second round is served from the cache');
  const series = async (who, body) => (await ok(on(A, who, '/api/calendar/events', { method: 'POST', body }), 201)).id;
  const m = await series('teacher', { title: 'Algèbre', course_id: courses.maths, location: 'Salle 1', starts_at: '2027-01-11T07:00:00Z', ends_at: '2027-01-11T08:00:00Z', rrule: 'FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10' });
  await same('a series');
  const en = await series('teacher2', { title: 'Grammaire', course_id: courses.en, starts_at: '2027-01-12T09:00:00Z', ends_at: '2027-01-12T10:00:00Z', rrule: 'FREQ=WEEKLY;COUNT=5' });
  await same('another class\'s series');
  const both = await series('admin', { kind: 'school', audience: 'classes', class_ids: [cls.A, cls.B], title: 'Conseil', starts_at: '2027-01-14T16:00:00Z', ends_at: '2027-01-14T18:00:00Z' });
  await same('a school event for two classes');
  await ok(on(A, 'teacher', `/api/calendar/events/${m}/occurrences/2027-01-11T07:00:00Z`, { method: 'PUT', body: { status: 'cancelled', note: 'Absent' } }));
  await same('an occurrence cancelled');
  await ok(on(A, 'teacher', `/api/calendar/events/${m}/occurrences/2027-01-13T07:00:00Z`, { method: 'PUT', body: { starts_at: '2027-01-15T07:00:00Z', location: 'CDI' } }));
  await same('an occurrence moved');
  const r = await on(A, 'teacher', `/api/calendar/events/${m}/occurrences/2027-01-11T07:00:00Z`, { method: 'DELETE' });
  assert.equal(r.status, 204);
  await same('an occurrence restored');
  await ok(on(A, 'teacher', `/api/calendar/events/${m}`, { method: 'PATCH', body: { location: 'Salle 2' } }));
  await same('a series changed');
  await ok(on(A, 'teacher', `/api/calendar/events/${m}?scope=following&occurrence_id=2027-01-18T07:00:00Z`, { method: 'PATCH', body: { location: 'Salle 3' } }));
  await same('a series split');
  await ok(on(A, 'teacher2', '/api/calendar/cancellations', { method: 'POST', body: { from: '2027-01-11', to: '2027-01-25', note: 'Stage' } }));
  await same('several cancelled');
  await ok(on(A, 'teacher', `/api/calendar/events/${m}/cancellations`, { method: 'POST', body: { from: '2027-01-13', to: '2027-01-14' } }));
  await same('several occurrences of one series cancelled');
  const exam = await series('teacher', { kind: 'exam', title: 'Contrôle', course_id: courses.maths, starts_at: '2027-01-12T13:00:00Z', ends_at: '2027-01-12T14:00:00Z' });
  await same('an exam');
  await ok(on(A, 'teacher', `/api/calendar/events/${exam}/occurrences/2027-01-12T13:00:00Z`, { method: 'PUT', body: { teacher_id: s.users.teacher2.id, location: 'Salle 9' } }));
  await same('an exam given a replacement teacher');
  const own = await series('alice', { title: 'Dentiste', starts_at: '2027-01-13T15:00:00Z', ends_at: '2027-01-13T16:00:00Z' });
  await same('a personal event');
  await series('admin', { kind: 'school', audience: 'teachers', title: 'Réunion', starts_at: '2027-01-12T16:00:00Z', ends_at: '2027-01-12T17:00:00Z' });
  await same('a staff event');
  const forB = await series('teacher2', { kind: 'school', audience: 'classes', class_ids: [cls.B], title: 'Sortie', starts_at: '2027-01-15T08:00:00Z', ends_at: '2027-01-15T12:00:00Z' });
  await same('an event for one class');
  await ok(on(A, 'admin', `/api/calendar/events/${forB}`, { method: 'PATCH', body: { class_ids: [cls.A] } }));
  await same('an event given to another class');
  const imp = await on(A, 'teacher', `/api/calendar/import?course_id=${courses.maths}`, {
    method: 'POST', raw: true, headers: { 'Content-Type': 'text/calendar' },
    body: ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//FR', 'BEGIN:VEVENT', 'UID:c1@test', 'DTSTAMP:20261201T000000Z',
      'DTSTART:20270114T100000Z', 'DTEND:20270114T110000Z', 'RRULE:FREQ=WEEKLY;COUNT=3', 'SUMMARY:Soutien', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n'),
  });
  assert.equal(imp.status, 201, imp.text);
  await same('an import');
  await ok(on(A, 'admin', `/api/cours/${courses.en}`, { method: 'PATCH', body: { teacher_ids: [s.users.teacher2.id, s.users.teacher.id] } }));
  await same('a course given another teacher');
  await ok(on(A, 'admin', `/api/cours/${courses.en}`, { method: 'PATCH', body: { teacher_ids: [s.users.teacher2.id] } }));
  await same('a teacher taken off a course');
  const tj = await on(A, 'admin', `/api/users/classes/${cls.B}/members/${s.users.teacher.id}`, { method: 'PUT' });
  assert.equal(tj.status, 204, tj.text);
  await same('a teacher given another class');
  assert.equal((await on(A, 'alice', `/api/calendar/events/${own}`, { method: 'DELETE' })).status, 204);
  await same('a personal event deleted');
  await ok(on(A, 'admin', '/api/calendar/events', { method: 'POST', body: { kind: 'holiday', audience: 'school', title: 'Pont', all_day: true, starts_at: '2027-01-17T23:00:00Z', ends_at: '2027-01-19T23:00:00Z' } }), 201);
  await same('a holiday');
  await ok(on(A, 'admin', `/api/users/classes/${cls.B}`, { method: 'PATCH', body: { name: 'Classe B bis' } }));
  await same('a class renamed');
  await ok(on(A, 'admin', `/api/cours/${courses.maths}`, { method: 'PATCH', body: { class_ids: [cls.A, cls.B] } }));
  await same('a course given another class');
  await ok(on(A, 'teacher', '/api/calendar/homework', { method: 'POST', body: { course_id: courses.maths, title: 'Exercice 1', due_at: '2027-01-13T07:00:00Z' } }), 201);
  await same('homework given');
  const hw = (await ok(on(A, 'alice', '/api/calendar/homework?from=2027-01-11&to=2027-01-25'))).items[0];
  const t = await on(A, 'alice', `/api/calendar/homework/${hw.id}/done`, { method: 'PUT' });
  assert.ok(t.status < 300, t.text);
  await same('a tick');
  await ok(on(A, 'teacher', `/api/calendar/homework/${hw.id}`, { method: 'PATCH', body: { title: 'Exercices 1 et 2' } }));
  await same('homework changed');
  await ok(on(A, 'admin', `/api/cours/${courses.maths}`, { method: 'PATCH', body: { title: 'Maths' } }));
  await same('a course renamed');
  const move = await on(A, 'admin', `/api/users/classes/${cls.B}/members/${s.users.alice.id}`, { method: 'PUT' });
  assert.equal(move.status, 204, move.text);
  await same('a student moved to another class');
  assert.equal((await on(A, 'teacher', `/api/calendar/homework/${hw.id}`, { method: 'DELETE' })).status, 204);
  await same('homework deleted');
  for (const id of [en, both]) assert.equal((await on(A, 'admin', `/api/calendar/events/${id}`, { method: 'DELETE' })).status, 204);
  await same('series deleted');
});

test('a write to one class\'s series leaves the other classes\' weeks in the cache', async () => {
  s.add('eve', 'eve@kc.test', 'Eve Epsilon', 'etudiant');
  await s.join('admin', cls.A, 'eve');
  const hist = (await ok(s.as('teacher', '/api/cours', { method: 'POST', body: { title: 'Histoire', class_ids: [cls.A] } }), 201)).id;
  const W = '2027-W10';
  const week = (who) => [who, `/api/calendar/timetable?week=${W}`];
  // cls.A: bob, eve; cls.B: dan (and alice, moved there above). Read each week twice: the second is a hit.
  const all = [week('eve'), week('bob'), week('dan'), ['teacher2', `/api/calendar/timetable?week=${W}&class_id=${cls.B}`]];
  const read = async (who, path) => {
    const before = await hits();
    const got = await on(A, who, path);
    assert.equal(got.status, 200, got.text);
    const ref = await on(R, who, path);
    assert.deepEqual(got.json, ref.json, `${who} ${path}`);
    return (await hits()) - before;
  };
  for (const [who, path] of all) {
    await read(who, path);
    assert.equal(await read(who, path), 1, `${who} ${path}: the second read is a hit`);
  }
  /** After a write: the weeks it touches are rebuilt (a miss, equal to R's), the others are hits. */
  const after = async (label, touched) => {
    for (const [who, path] of all) {
      const hit = await read(who, path);
      assert.equal(hit, touched.includes(who) ? 0 : 1, `${label}: ${who} ${path} ${touched.includes(who) ? 'rebuilt' : 'kept'}`);
    }
  };
  const lesson = (await ok(on(A, 'teacher', '/api/calendar/events', { method: 'POST', body: { title: 'Révolution', course_id: hist, starts_at: '2027-03-08T08:00:00Z', ends_at: '2027-03-08T09:00:00Z', rrule: 'FREQ=WEEKLY;COUNT=4' } }), 201)).id;
  await after('a lesson of class A', ['eve', 'bob']);
  await ok(on(A, 'teacher', `/api/calendar/events/${lesson}/occurrences/2027-03-08T08:00:00Z`, { method: 'PUT', body: { status: 'cancelled' } }));
  await after('one of its lessons cancelled', ['eve', 'bob']);
  await ok(on(A, 'teacher', `/api/calendar/events/${lesson}`, { method: 'PATCH', body: { location: 'Salle 12' } }));
  await after('its room changed', ['eve', 'bob']);
  await ok(on(A, 'bob', '/api/calendar/events', { method: 'POST', body: { title: 'Piscine', starts_at: '2027-03-09T15:00:00Z', ends_at: '2027-03-09T16:00:00Z' } }), 201);
  await after('a personal event of bob', ['bob']);
  await ok(on(A, 'teacher2', '/api/calendar/events', { method: 'POST', body: { kind: 'school', audience: 'classes', class_ids: [cls.B], title: 'Sortie', starts_at: '2027-03-10T08:00:00Z', ends_at: '2027-03-10T12:00:00Z' } }), 201);
  await after('an event for class B', ['dan', 'teacher2']);
  assert.equal((await on(A, 'teacher', `/api/calendar/events/${lesson}`, { method: 'DELETE' })).status, 204);
  await after('the series deleted', ['eve', 'bob']);
  await ok(on(A, 'admin', '/api/calendar/events', { method: 'POST', body: { kind: 'school', audience: 'school', title: 'Journée portes ouvertes', starts_at: '2027-03-11T08:00:00Z', ends_at: '2027-03-11T12:00:00Z' } }), 201);
  await after('a school event', ['eve', 'bob', 'dan', 'teacher2']);
});
