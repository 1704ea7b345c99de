// The calendar service against a real `ent serve`: a teacher's A/B-week lesson series seen by the
// class in its timetable and by nobody else (404), a cancelled and a moved lesson, holidays that
// leave lessons out, "this and following" changes, who may create what, validation, homework with
// each student's own tick, the iCalendar export and the personal feed read back by a third-party
// parser (ical.js), a revoked feed answering 404 and never logged, and the ICS import.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import { startEnt, assertProblem } from './lib/ent.mjs';
import { school, ok, until, sleep } from './lib/school.mjs';

let ent, s, A, B, maths, english;
const W = '2027-W01'; // Monday 4 January 2027
const JAN = 'from=2027-01-01&to=2027-03-01';

before(async () => {
  ent = await startEnt();
  s = school(ent);
  s.add('admin', 'admin@cal.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@cal.test', 'Paul Prof', 'enseignant');
  s.add('teacher2', 'prof2@cal.test', 'Pia Autre', 'enseignant');
  s.add('alice', 'alice@cal.test', 'Alice Alpha', 'etudiant');
  s.add('bob', 'bob@cal.test', 'Bob Beta', 'etudiant');
  s.add('dan', 'dan@cal.test', 'Dan Delta', 'etudiant');
  A = await s.newClass('admin', '4e A');
  B = await s.newClass('admin', '4e B');
  for (const k of ['teacher', 'alice', 'bob']) await s.join('admin', A, k);
  for (const k of ['teacher2', 'dan']) await s.join('admin', B, k);
  maths = (await ok(s.as('teacher', '/api/cours', { method: 'POST', body: { title: 'Mathématiques 4e', class_ids: [A] } }), 201)).id;
  english = (await ok(s.as('teacher2', '/api/cours', { method: 'POST', body: { title: 'Anglais 4e', class_ids: [B] } }), 201)).id;
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
  assert.deepEqual(errors, []);
});

const lesson = (extra = {}) => ({
  title: 'Mathématiques', course_id: maths, location: 'Salle 101',
  starts_at: '2027-01-04T07:00:00Z', ends_at: '2027-01-04T08:00:00Z',
  rrule: 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=4', ...extra,
});
const starts = (items, id) => items.filter((o) => o.event_id === id).map((o) => o.starts_at);

let series;
test('a teacher\'s A/B-week series: the class sees it in its timetable; another class gets 404', async () => {
  series = await ok(s.as('teacher', '/api/calendar/events', { method: 'POST', body: lesson() }), 201);
  assert.equal(series.kind, 'lesson');
  assert.equal(series.audience, 'course');
  assert.equal(series.time_zone, 'Europe/Paris');
  for (const who of ['alice', 'bob', 'teacher', 'admin']) {
    const list = await ok(s.as(who, `/api/calendar/events?${JAN}`));
    assert.deepEqual(starts(list.items, series.id),
      ['2027-01-04T07:00:00Z', '2027-01-18T07:00:00Z', '2027-02-01T07:00:00Z', '2027-02-15T07:00:00Z'], who);
  }
  assert.deepEqual(starts((await ok(s.as('dan', `/api/calendar/events?${JAN}`))).items, series.id), []);
  assertProblem(assert, await s.as('dan', `/api/calendar/events/${series.id}`), 404);
  assertProblem(assert, await s.as('teacher2', `/api/calendar/events/${series.id}`), 404);
  // The week's timetable: week A has the lesson, week B not.
  const tt = await ok(s.as('alice', `/api/calendar/timetable?week=${W}`));
  assert.equal(tt.starts_on, '2027-01-04');
  assert.deepEqual(starts(tt.items, series.id), ['2027-01-04T07:00:00Z']);
  assert.deepEqual(starts((await ok(s.as('alice', '/api/calendar/timetable?week=2027-W02'))).items, series.id), []);
  // A class's timetable for its teachers and admins; students may not ask for one.
  const byClass = await ok(s.as('teacher', `/api/calendar/timetable?week=${W}&class_id=${A}`));
  assert.deepEqual(starts(byClass.items, series.id), ['2027-01-04T07:00:00Z']);
  assert.deepEqual(starts((await ok(s.as('admin', `/api/calendar/timetable?week=${W}&class_id=${B}`))).items, series.id), []);
  assertProblem(assert, await s.as('alice', `/api/calendar/timetable?week=${W}&class_id=${A}`), 403);
  // ?mine=true: a teacher's own lessons only (teacher2 teaches none of class A's).
  assert.deepEqual(starts((await ok(s.as('teacher', `/api/calendar/timetable?week=${W}&mine=true`))).items, series.id), ['2027-01-04T07:00:00Z']);
  const t2 = await ok(s.as('teacher2', `/api/calendar/timetable?week=${W}&mine=true`));
  assert.deepEqual(starts(t2.items, series.id), []);
  assertProblem(assert, await s.as('teacher', `/api/calendar/timetable?week=${W}&mine=oui`), 400);
  for (const q of ['week=2027-W54', 'week=2027-1', 'class_id=nope']) {
    const r = await s.as('teacher', `/api/calendar/timetable?${q}`);
    assertProblem(assert, r, 400);
  }
});

test('a cancelled lesson and a moved one, as the students see them', async () => {
  const at = '2027-01-18T07:00:00Z';
  const c = await ok(s.as('teacher', `/api/calendar/events/${series.id}/occurrences/${at}`, { method: 'PUT', body: { status: 'cancelled', note: 'Professeur absent' } }));
  assert.equal(c.status, 'cancelled');
  const moved = await ok(s.as('teacher', `/api/calendar/events/${series.id}/occurrences/2027-02-01T07:00:00Z`, {
    method: 'PUT', body: { starts_at: '2027-02-02T09:00:00Z', location: 'Salle 204' },
  }));
  assert.equal(moved.status, 'changed');
  assert.equal(moved.starts_at, '2027-02-02T09:00:00Z');
  assert.equal(moved.ends_at, '2027-02-02T10:00:00Z');
  assert.equal(moved.location, 'Salle 204');
  assert.equal(moved.original.starts_at, '2027-02-01T07:00:00Z');
  assert.equal(moved.original.location, 'Salle 101');
  const list = (await ok(s.as('alice', `/api/calendar/events?${JAN}`))).items.filter((o) => o.event_id === series.id);
  assert.deepEqual(list.map((o) => [o.starts_at, o.status]), [
    ['2027-01-04T07:00:00Z', 'scheduled'], ['2027-01-18T07:00:00Z', 'cancelled'],
    ['2027-02-02T09:00:00Z', 'changed'], ['2027-02-15T07:00:00Z', 'scheduled'],
  ]);
  assert.equal(list[1].note, 'Professeur absent');
  // A window that holds only the new time of the moved lesson shows it.
  assert.deepEqual(starts((await ok(s.as('alice', '/api/calendar/events?from=2027-02-02&to=2027-02-03'))).items, series.id), ['2027-02-02T09:00:00Z']);
  assert.deepEqual(starts((await ok(s.as('alice', '/api/calendar/events?from=2027-02-01&to=2027-02-02'))).items, series.id), []);
  // Not an occurrence; not the caller's course; a student.
  assertProblem(assert, await s.as('teacher', `/api/calendar/events/${series.id}/occurrences/2027-01-05T07:00:00Z`, { method: 'PUT', body: { status: 'cancelled' } }), 404);
  assertProblem(assert, await s.as('teacher2', `/api/calendar/events/${series.id}/occurrences/${at}`, { method: 'PUT', body: { status: 'cancelled' } }), 404);
  assertProblem(assert, await s.as('alice', `/api/calendar/events/${series.id}/occurrences/${at}`, { method: 'PUT', body: { status: 'cancelled' } }), 403);
  const bad = await s.as('teacher', `/api/calendar/events/${series.id}/occurrences/${at}`, { method: 'PUT', body: { starts_at: '2027-01-18T09:00:00Z', ends_at: '2027-01-18T08:00:00Z' } });
  assertProblem(assert, bad, 400);
  assert.ok(bad.json.errors.ends_at);
});

test('holidays leave lessons out; only admins publish them', async () => {
  const h = { kind: 'holiday', audience: 'school', title: 'Vacances d\'hiver', starts_at: '2027-02-13T23:00:00Z', ends_at: '2027-02-28T23:00:00Z', all_day: true };
  assertProblem(assert, await s.as('teacher', '/api/calendar/events', { method: 'POST', body: h }), 403);
  const hol = await ok(s.as('admin', '/api/calendar/events', { method: 'POST', body: h }), 201);
  const list = (await ok(s.as('alice', `/api/calendar/events?${JAN}`))).items;
  assert.ok(list.some((o) => o.event_id === hol.id && o.kind === 'holiday'));
  assert.ok(!starts(list, series.id).includes('2027-02-15T07:00:00Z'), 'a lesson during the holidays is left out');
  assert.equal((await s.as('admin', `/api/calendar/events/${hol.id}`, { method: 'DELETE' })).status, 204);
  assert.ok(starts((await ok(s.as('alice', `/api/calendar/events?${JAN}`))).items, series.id).includes('2027-02-15T07:00:00Z'));
});

test('who may create what: personal events stay personal; others get 403', async () => {
  const mine = await ok(s.as('alice', '/api/calendar/events', { method: 'POST', body: { title: 'Dentiste', starts_at: '2027-01-06T15:00:00Z', ends_at: '2027-01-06T16:00:00Z' } }), 201);
  assert.equal(mine.kind, 'personal');
  assert.equal(mine.audience, 'owner');
  assert.ok(starts((await ok(s.as('alice', `/api/calendar/events?${JAN}`))).items, mine.id).length === 1);
  for (const who of ['bob', 'teacher', 'admin']) {
    assertProblem(assert, await s.as(who, `/api/calendar/events/${mine.id}`), 404);
    assert.deepEqual(starts((await ok(s.as(who, `/api/calendar/events?${JAN}`))).items, mine.id), [], who);
  }
  assertProblem(assert, await s.as('bob', `/api/calendar/events/${mine.id}`, { method: 'DELETE' }), 404);
  const refused = [
    ['alice', lesson()],
    ['teacher2', lesson()],
    ['teacher', { title: 'Réunion', audience: 'school', starts_at: '2027-01-06T15:00:00Z', ends_at: '2027-01-06T16:00:00Z' }],
    ['teacher', { title: 'Conseil', kind: 'school', audience: 'classes', class_ids: [B], starts_at: '2027-01-06T15:00:00Z', ends_at: '2027-01-06T16:00:00Z' }],
  ];
  for (const [who, body] of refused) assertProblem(assert, await s.as(who, '/api/calendar/events', { method: 'POST', body }), 403);
  // A teacher writes to a class they teach; its students see it, the other class does not.
  const conseil = await ok(s.as('teacher', '/api/calendar/events', { method: 'POST', body: { title: 'Conseil de classe', kind: 'school', audience: 'classes', class_ids: [A], starts_at: '2027-01-07T16:00:00Z', ends_at: '2027-01-07T18:00:00Z' } }), 201);
  assert.deepEqual(conseil.class_ids, [A]);
  assert.equal(starts((await ok(s.as('bob', `/api/calendar/events?${JAN}`))).items, conseil.id).length, 1);
  assertProblem(assert, await s.as('dan', `/api/calendar/events/${conseil.id}`), 404);
  // The student may change and delete their own event only.
  const p = await ok(s.as('alice', `/api/calendar/events/${mine.id}`, { method: 'PATCH', body: { location: 'Cabinet' } }));
  assert.equal(p.location, 'Cabinet');
  assertProblem(assert, await s.as('alice', `/api/calendar/events/${series.id}`, { method: 'PATCH', body: { title: 'x' } }), 403);
  assert.equal((await s.as('alice', `/api/calendar/events/${mine.id}`, { method: 'DELETE' })).status, 204);
});

test('bad input answers 400 with the field named, and stores nothing', async () => {
  const before = (await ok(s.as('teacher', `/api/calendar/events?${JAN}`))).items.length;
  const cases = [
    [{ ...lesson(), rrule: 'FREQ=SECONDLY' }, 'rrule'],
    [{ ...lesson(), rrule: 'pas une règle' }, 'rrule'],
    [{ ...lesson(), rrule: 'FREQ=DAILY;COUNT=99999' }, 'rrule'],
    [{ ...lesson(), ends_at: '2027-01-04T06:00:00Z' }, 'ends_at'],
    [{ ...lesson(), starts_at: '2027-02-30T07:00:00Z' }, 'starts_at'],
    [{ ...lesson(), time_zone: 'Mars/Olympus' }, 'time_zone'],
    [{ ...lesson(), course_id: '00000000-0000-4000-8000-000000000000' }, 'course_id'],
    [{ ...lesson(), role: 'admin' }, 'role'],
    [{ ...lesson(), exdates: ['hier'] }, 'exdates'],
    [{ title: 'x', kind: 'lesson', audience: 'owner', starts_at: '2027-01-06T15:00:00Z', ends_at: '2027-01-06T16:00:00Z' }, 'audience'],
  ];
  for (const [body, field] of cases) {
    const r = await s.as('teacher', '/api/calendar/events', { method: 'POST', body });
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors && r.json.errors[field], `${field}: ${r.text}`);
  }
  for (const q of ['from=2027-01-01&to=2028-06-01', 'from=hier', 'from=2027-02-01&to=2027-01-01', 'kind=party']) {
    const r = await s.as('alice', `/api/calendar/events?${q}`);
    assertProblem(assert, r, 400);
  }
  assert.equal((await ok(s.as('teacher', `/api/calendar/events?${JAN}`))).items.length, before);
});

test('"this and following": the series is split at the chosen lesson', async () => {
  const x = await ok(s.as('teacher', '/api/calendar/events', { method: 'POST', body: lesson({ title: 'Soutien', rrule: 'FREQ=WEEKLY;COUNT=6', starts_at: '2027-03-01T13:00:00Z', ends_at: '2027-03-01T14:00:00Z' }) }), 201);
  const r = await ok(s.as('teacher', `/api/calendar/events/${x.id}?scope=following&occurrence_id=2027-03-15T13:00:00Z`, { method: 'PATCH', body: { location: 'CDI' } }));
  assert.notEqual(r.id, x.id);
  assert.equal(r.location, 'CDI');
  assert.equal(r.rrule, 'FREQ=WEEKLY;COUNT=4');
  const old = await ok(s.as('teacher', `/api/calendar/events/${x.id}`));
  assert.match(old.rrule, /UNTIL=20270315T125959Z/);
  const items = (await ok(s.as('alice', '/api/calendar/events?from=2027-03-01&to=2027-04-15'))).items.filter((o) => o.title === 'Soutien');
  assert.deepEqual(items.map((o) => [o.starts_at, o.location]), [
    ['2027-03-01T13:00:00Z', 'Salle 101'], ['2027-03-08T13:00:00Z', 'Salle 101'],
    ['2027-03-15T13:00:00Z', 'CDI'], ['2027-03-22T13:00:00Z', 'CDI'], ['2027-03-29T12:00:00Z', 'CDI'], ['2027-04-05T12:00:00Z', 'CDI'],
  ], 'six lessons at 14:00 in Paris, the last two after the March clock change');
  assertProblem(assert, await s.as('teacher', `/api/calendar/events/${x.id}?scope=following`, { method: 'PATCH', body: { location: 'x' } }), 400);
});

test('homework: each student ticks their own; the teacher sees how many', async () => {
  const hw = await ok(s.as('teacher', '/api/calendar/homework', { method: 'POST', body: { course_id: maths, title: 'Exercices 12 à 15 p. 84', work: 'Rédiger proprement', due_at: '2027-01-18T07:00:00Z' } }), 201);
  assert.equal(hw.course_title, 'Mathématiques 4e');
  assert.equal(hw.done_count, 0);
  assert.equal(hw.students_total, 2);
  const q = '/api/calendar/homework?from=2027-01-01&to=2027-02-01';
  const forAlice = await ok(s.as('alice', q));
  assert.deepEqual(forAlice.items.map((h) => [h.id, h.done]), [[hw.id, false]]);
  assert.equal(forAlice.items[0].done_count, undefined, 'students never see the count');
  assert.equal((await s.as('alice', `/api/calendar/homework/${hw.id}/done`, { method: 'PUT' })).status, 204);
  assert.equal((await s.as('alice', `/api/calendar/homework/${hw.id}/done`, { method: 'PUT' })).status, 204);
  assert.equal((await ok(s.as('alice', q))).items[0].done, true);
  assert.equal((await ok(s.as('bob', q))).items[0].done, false, 'a classmate\'s tick is not mine');
  const t = await ok(s.as('teacher', q));
  assert.equal(t.items[0].done_count, 1);
  assert.equal(t.items[0].done, undefined);
  assert.deepEqual((await ok(s.as('dan', q))).items, []);
  assertProblem(assert, await s.as('dan', `/api/calendar/homework/${hw.id}`), 404);
  assertProblem(assert, await s.as('dan', `/api/calendar/homework/${hw.id}/done`, { method: 'PUT' }), 404);
  assertProblem(assert, await s.as('teacher2', '/api/calendar/homework', { method: 'POST', body: { course_id: maths, title: 'x', due_at: '2027-01-18T07:00:00Z' } }), 403);
  const bad = await s.as('teacher', '/api/calendar/homework', { method: 'POST', body: { course_id: maths, title: '', due_at: 'demain' } });
  assertProblem(assert, bad, 400);
  assert.ok(bad.json.errors.title && bad.json.errors.due_at);
  assert.equal((await s.as('alice', `/api/calendar/homework/${hw.id}/done`, { method: 'DELETE' })).status, 204);
  assert.equal((await ok(s.as('teacher', `/api/calendar/homework/${hw.id}`))).done_count, 0);
  const p = await ok(s.as('teacher', `/api/calendar/homework/${hw.id}`, { method: 'PATCH', body: { work: null, title: 'Exercices 12 à 16' } }));
  assert.equal(p.work, null);
  assert.equal(p.title, 'Exercices 12 à 16');
  assert.equal(p.due_at, '2027-01-18T07:00:00Z');
});

/** The VEVENTs of an iCalendar text, as ical.js reads them. */
function vevents(text) {
  const comp = new ICAL.Component(ICAL.parse(text));
  return comp.getAllSubcomponents('vevent').map((v) => {
    const e = new ICAL.Event(v);
    return { uid: e.uid, summary: e.summary, start: e.startDate.toJSDate().toISOString().replace('.000', ''), status: v.getFirstPropertyValue('status'), location: e.location };
  });
}

test('the iCalendar export reads back equal in ical.js, the cancellation included', async () => {
  const r = await s.as('alice', `/api/calendar/events.ics?${JAN}`, { headers: { Accept: 'text/calendar' } });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^text\/calendar/);
  const evs = vevents(r.text).filter((e) => e.uid.startsWith(series.id));
  const json = (await ok(s.as('alice', `/api/calendar/events?${JAN}`))).items.filter((o) => o.event_id === series.id);
  assert.deepEqual(evs.map((e) => [e.start, e.summary, e.location, e.status]),
    json.map((o) => [o.starts_at, o.title, o.location, o.status === 'cancelled' ? 'CANCELLED' : 'CONFIRMED']));
  assert.ok(evs.some((e) => e.status === 'CANCELLED'));
});

test('a personal feed: readable without a token, never logged, 404 once revoked', async () => {
  assert.deepEqual(await ok(s.as('alice', '/api/calendar/feed')), { active: false, created_at: null });
  const f = await ok(s.as('alice', '/api/calendar/feed', { method: 'POST' }), 201);
  const url = new URL(f.url);
  const token = url.pathname.split('/').pop().replace('.ics', '');
  assert.match(token, /^[0-9a-f]{64}$/);
  const res = await fetch(ent.url + url.pathname);
  assert.equal(res.status, 200);
  const evs = vevents(await res.text());
  assert.ok(evs.length >= 0);
  assert.equal((await ok(s.as('alice', '/api/calendar/feed'))).active, true);
  // A new address replaces the old one; a revoked one answers like an unknown one.
  const f2 = await ok(s.as('alice', '/api/calendar/feed', { method: 'POST' }), 201);
  assert.equal((await fetch(ent.url + url.pathname)).status, 404);
  const p2 = new URL(f2.url).pathname;
  assert.equal((await fetch(ent.url + p2)).status, 200);
  assert.equal((await s.as('alice', '/api/calendar/feed', { method: 'DELETE' })).status, 204);
  assert.equal((await fetch(ent.url + p2)).status, 404);
  assert.equal((await fetch(ent.url + '/api/calendar/feeds/' + 'a'.repeat(64) + '.ics')).status, 404);
  assert.equal((await fetch(ent.url + '/api/calendar/feeds/nope')).status, 404);
  assert.ok(!ent.stderr.includes(token) && !ent.stderr.includes(p2.split('/').pop().slice(0, 64)), 'a feed token reached the log');
});

test('ICS import: holidays by an admin, a course\'s events by its teacher; bad files store nothing', async () => {
  const ics = (body) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Test//FR', ...body, 'END:VCALENDAR', ''].join('\r\n');
  const good = ics([
    'BEGIN:VEVENT', 'UID:1@test', 'DTSTAMP:20261201T000000Z', 'DTSTART;VALUE=DATE:20270410', 'DTEND;VALUE=DATE:20270426', 'SUMMARY:Vacances de printemps', 'END:VEVENT',
  ]);
  const post = (who, q, text, type = 'text/calendar') => s.as(who, `/api/calendar/import?${q}`, { method: 'POST', raw: true, body: text, headers: { 'Content-Type': type } });
  assertProblem(assert, await post('teacher', 'kind=holiday', good), 403);
  assert.deepEqual((await post('admin', 'kind=holiday', good)).json, { imported: 1 });
  const hol = (await ok(s.as('bob', '/api/calendar/events?from=2027-04-01&to=2027-05-01&kind=holiday'))).items;
  assert.deepEqual(hol.map((o) => o.title), ['Vacances de printemps']);
  const weekly = ics([
    'BEGIN:VEVENT', 'UID:2@test', 'DTSTAMP:20261201T000000Z', 'DTSTART;TZID=Europe/Paris:20270503T100000', 'DTEND;TZID=Europe/Paris:20270503T110000',
    'RRULE:FREQ=WEEKLY;COUNT=3', 'EXDATE;TZID=Europe/Paris:20270510T100000', 'SUMMARY:Club maths', 'END:VEVENT',
  ]);
  assert.equal((await post('teacher', `course_id=${maths}`, weekly)).status, 201);
  const club = (await ok(s.as('alice', '/api/calendar/events?from=2027-05-01&to=2027-06-01'))).items.filter((o) => o.title === 'Club maths');
  assert.deepEqual(club.map((o) => o.starts_at), ['2027-05-03T08:00:00Z', '2027-05-17T08:00:00Z']);
  const count = async () => (await ok(s.as('admin', '/api/calendar/events?from=2027-06-01&to=2027-07-01'))).items.length;
  const n0 = await count();
  const bads = [
    ['not ics at all', 400],
    [ics(['BEGIN:VEVENT', 'UID:3', 'DTSTART:20270601T100000Z', 'DTEND:20270601T110000Z', 'SUMMARY:ok', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:4', 'DTSTART:20270602T100000Z', 'RRULE:FREQ=SECONDLY', 'SUMMARY:sans fin', 'END:VEVENT']), 400],
    [ics(['BEGIN:VEVENT', 'UID:5', 'DTSTART:20270632T100000Z', 'SUMMARY:date', 'END:VEVENT']), 400],
    [ics(['BEGIN:VEVENT', 'UID:6', 'DTSTART:20270601T100000Z', 'DTEND:20270601T090000Z', 'SUMMARY:à l\'envers', 'END:VEVENT']), 400],
    ['BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:2027', 400],
  ];
  for (const [text, status] of bads) {
    const r = await post('admin', 'kind=school', text);
    assertProblem(assert, r, status);
  }
  const r2 = await post('admin', 'kind=school', bads[1][0]);
  assert.match(r2.json.errors.body, /ligne 10 .*récurrence/);
  assertProblem(assert, await post('admin', 'kind=school', good, 'text/plain'), 415);
  assertProblem(assert, await post('admin', 'kind=school', ics(['X'.repeat(1100000)])), 413);
  assert.equal(await count(), n0, 'nothing was stored by a refused import');
});

test('students hear of a cancelled lesson, new homework and tomorrow\'s exam, once each', async () => {
  const hour = 3600_000;
  const t0 = Math.ceil(Date.now() / hour) * hour + 24 * hour; // tomorrow, on the hour
  const iso = (ms) => new Date(ms).toISOString().replace('.000', '');
  const soon = await ok(s.as('teacher', '/api/calendar/events', { method: 'POST', body: lesson({ title: 'Géométrie', starts_at: iso(t0), ends_at: iso(t0 + hour), rrule: 'FREQ=WEEKLY;COUNT=3' }) }), 201);
  const mine = async (who, type) => (await ok(s.as(who, '/api/notifications?limit=100'))).items.filter((n) => n.type === type);
  await ok(s.as('teacher', `/api/calendar/events/${soon.id}/occurrences/${iso(t0)}`, { method: 'PUT', body: { status: 'cancelled', note: 'Sortie scolaire' } }));
  const got = await until(async () => (await mine('alice', 'calendar.lesson_changed')).length === 1 && (await mine('bob', 'calendar.lesson_changed')).length === 1);
  assert.ok(got, 'each student of the class is told of the cancelled lesson');
  const n = (await mine('alice', 'calendar.lesson_changed'))[0];
  assert.equal(n.title, 'Cours annulé : Géométrie');
  assert.match(n.body, /^Le cours du (lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) \d+ \S+ à \d\d:\d\d est annulé \(Sortie scolaire\)\.$/);
  assert.equal(n.link, '/calendar');
  assert.equal(n.data.event_id, soon.id);
  assert.deepEqual(await mine('dan', 'calendar.lesson_changed'), []);
  // A change far away (the third lesson, in 15 days) is not announced.
  await ok(s.as('teacher', `/api/calendar/events/${soon.id}/occurrences/${iso(t0 + 14 * 24 * hour)}`, { method: 'PUT', body: { location: 'Salle 9' } }));
  const hw = await ok(s.as('teacher', '/api/calendar/homework', { method: 'POST', body: { course_id: maths, title: 'Apprendre le théorème de Pythagore', due_at: iso(t0) } }), 201);
  assert.ok(await until(async () => (await mine('bob', 'calendar.homework')).some((x) => x.data.homework_id === hw.id)));
  const h = (await mine('bob', 'calendar.homework')).find((x) => x.data.homework_id === hw.id);
  assert.equal(h.title, 'Nouveau devoir en Mathématiques 4e');
  assert.match(h.body, /^Apprendre le théorème de Pythagore, pour le \S+ \d+ \S+$/);
  // An exam in two hours: one reminder per student, however many rounds the reminder thread makes.
  const exam = await ok(s.as('teacher', '/api/calendar/events', { method: 'POST', body: { kind: 'exam', title: 'Contrôle de géométrie', course_id: maths, location: 'Salle 101', starts_at: iso(t0 - 22 * hour), ends_at: iso(t0 - 21 * hour) } }), 201);
  const reminders = async (who) => (await mine(who, 'calendar.exam_reminder')).filter((x) => x.data.event_id === exam.id);
  assert.ok(await until(async () => (await reminders('alice')).length === 1), 'the reminder arrives');
  await sleep(11000); // two more rounds of the reminder thread
  assert.equal((await reminders('alice')).length, 1);
  assert.equal((await reminders('bob')).length, 1);
  assert.equal((await reminders('alice'))[0].title, 'Rappel d\'examen : Contrôle de géométrie');
  assert.deepEqual(await reminders('dan'), []);
  // Changes after the last one stay quiet: the far lesson's room change was never announced.
  assert.equal((await mine('alice', 'calendar.lesson_changed')).length, 1);
});

test('GDPR: a student\'s personal events and ticks are in their export', async () => {
  const e = await ok(s.as('bob', '/api/calendar/events', { method: 'POST', body: { title: 'Piscine', starts_at: '2027-01-09T09:00:00Z', ends_at: '2027-01-09T10:00:00Z' } }), 201);
  const ex = await ok(s.as('bob', '/api/users/me/export'));
  assert.deepEqual(ex.calendar.personal_events.map((x) => x.id), [e.id]);
  assert.ok(Array.isArray(ex.calendar.homework_done));
});
