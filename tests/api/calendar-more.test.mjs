// The calendar's later parts against a real `ent serve`: several lessons cancelled in one call
// (a list or a date range, all or nothing, 400 in French on bad input, the students told once per
// lesson of the next 14 days), the class names on occurrences, the homework window's validation,
// and homework attachments through fichiers (the teacher's own files only; the course's students
// download them, through the homework and through /api/fichiers; everyone else gets 404).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startEnt, assertProblem } from './lib/ent.mjs';
import { school, ok, until } from './lib/school.mjs';

let ent, s, A, B, maths, english;

before(async () => {
  ent = await startEnt();
  s = school(ent);
  s.add('admin', 'admin@calm.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@calm.test', 'Paul Prof', 'enseignant');
  s.add('teacher2', 'prof2@calm.test', 'Pia Autre', 'enseignant');
  s.add('alice', 'alice@calm.test', 'Alice Alpha', 'etudiant');
  s.add('bob', 'bob@calm.test', 'Bob Beta', 'etudiant');
  s.add('dan', 'dan@calm.test', 'Dan Delta', 'etudiant');
  A = await s.newClass('admin', '5e A');
  B = await s.newClass('admin', '5e B');
  for (const k of ['teacher', 'alice', 'bob']) await s.join('admin', A, k);
  for (const k of ['teacher2', 'dan']) await s.join('admin', B, k);
  maths = (await ok(s.as('teacher', '/api/cours', { method: 'POST', body: { title: 'Mathématiques 5e', class_ids: [A] } }), 201)).id;
  english = (await ok(s.as('teacher2', '/api/cours', { method: 'POST', body: { title: 'Anglais 5e', class_ids: [B] } }), 201)).id;
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
  assert.deepEqual(errors, []);
});

const iso = (ms) => new Date(ms).toISOString().replace('.000', '');
const statuses = (items, id) => items.filter((o) => o.event_id === id).map((o) => [o.occurrence_id, o.status]);

test('several lessons cancelled in one call: a list or a range, all or nothing', async () => {
  // Mondays and Thursdays 08:00 in Paris from 4 January 2027, eight lessons.
  const series = await ok(s.as('teacher', '/api/calendar/events', {
    method: 'POST',
    body: { title: 'Mathématiques', course_id: maths, starts_at: '2027-01-04T07:00:00Z', ends_at: '2027-01-04T08:00:00Z', rrule: 'FREQ=WEEKLY;BYDAY=MO,TH;COUNT=8' },
  }), 201);
  const url = `/api/calendar/events/${series.id}/cancellations`;
  const window = 'from=2027-01-01&to=2027-02-01';
  const before = statuses((await ok(s.as('alice', `/api/calendar/events?${window}`))).items, series.id);
  assert.equal(before.length, 8);
  // Bad input: 400 naming the field in French, and nothing cancelled.
  const bad = [
    [{}, 'occurrence_ids'],
    [{ occurrence_ids: [] }, 'occurrence_ids'],
    [{ occurrence_ids: ['2027-01-04T07:00:00Z', '2027-01-05T07:00:00Z'] }, 'occurrence_ids'], // a Tuesday: not one
    [{ occurrence_ids: ['lundi'] }, 'occurrence_ids'],
    [{ occurrence_ids: ['2027-01-04T07:00:00Z'], from: '2027-01-01', to: '2027-01-10' }, 'occurrence_ids'],
    [{ from: '2027-01-10', to: '2027-01-01' }, 'to'],
    [{ from: '2027-13-01', to: '2027-01-10' }, 'from'],
    [{ from: '2027-03-01', to: '2027-03-10' }, 'from'], // no lesson there
    [{ from: '2027-01-01', to: '2028-06-01' }, 'to'], // over 400 days
  ];
  for (const [body, field] of bad) {
    const r = await s.as('teacher', url, { method: 'POST', body });
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors[field], `${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
    assert.match(r.json.errors[field], /^(ou|est|contient|doit|aucune)/, 'French');
  }
  assert.deepEqual(statuses((await ok(s.as('alice', `/api/calendar/events?${window}`))).items, series.id), before);
  // Who may: not a student (403), not the teacher of another class (404, the series is not theirs to see).
  assertProblem(assert, await s.as('alice', url, { method: 'POST', body: { occurrence_ids: ['2027-01-04T07:00:00Z'] } }), 403);
  assertProblem(assert, await s.as('teacher2', url, { method: 'POST', body: { occurrence_ids: ['2027-01-04T07:00:00Z'] } }), 404);
  // A list (a repeated one counts once), then a range: the week of 11 January (a school trip).
  const listed = await ok(s.as('teacher', url, { method: 'POST', body: { occurrence_ids: ['2027-01-07T07:00:00Z', '2027-01-04T07:00:00Z', '2027-01-07T07:00:00Z'], note: 'Grève' } }));
  assert.deepEqual(listed, { event_id: series.id, occurrence_ids: ['2027-01-04T07:00:00Z', '2027-01-07T07:00:00Z'] });
  const ranged = await ok(s.as('teacher', url, { method: 'POST', body: { from: '2027-01-11', to: '2027-01-18', note: 'Sortie scolaire' } }));
  assert.deepEqual(ranged.occurrence_ids, ['2027-01-11T07:00:00Z', '2027-01-14T07:00:00Z']);
  const after = (await ok(s.as('bob', `/api/calendar/events?${window}`))).items.filter((o) => o.event_id === series.id);
  assert.deepEqual(after.map((o) => o.status), ['cancelled', 'cancelled', 'cancelled', 'cancelled', 'scheduled', 'scheduled', 'scheduled', 'scheduled']);
  assert.deepEqual(after.slice(0, 4).map((o) => o.note), ['Grève', 'Grève', 'Sortie scolaire', 'Sortie scolaire']);
  // A moved lesson cancelled with the others is cancelled, its move forgotten.
  await ok(s.as('teacher', `/api/calendar/events/${series.id}/occurrences/2027-01-18T07:00:00Z`, { method: 'PUT', body: { starts_at: '2027-01-19T07:00:00Z' } }));
  await ok(s.as('teacher', url, { method: 'POST', body: { occurrence_ids: ['2027-01-18T07:00:00Z'] } }));
  const moved = (await ok(s.as('alice', `/api/calendar/events?${window}`))).items.find((o) => o.event_id === series.id && o.occurrence_id === '2027-01-18T07:00:00Z');
  assert.equal(moved.status, 'cancelled');
  assert.equal(moved.starts_at, '2027-01-18T07:00:00Z');
});

const hour = 3600_000, day = 24 * hour;
const notes = async (who, type) => (await ok(s.as(who, '/api/notifications?limit=100'))).items.filter((n) => n.type === type);
/**
 * The notifications of type WHO has once MARKER (a title) has come: the bus delivers in order, so
 * everything published before the marker is there too (no waiting for what should not come).
 */
async function settled(who, type, marker, homework) {
  // The marker is the notification of one homework (its title starts the body): the tests give
  // homework with the same course's title more than once.
  const seen = (n) => n.title === marker && n.body.startsWith(`${homework}, `);
  assert.ok(await until(async () => (await ok(s.as(who, '/api/notifications?limit=100'))).items.some(seen)), `${who}: ${marker} (${homework})`);
  return notes(who, type);
}

test('a range of the next days: each student told once, of all the lessons cancelled', async () => {
  const t0 = Math.ceil(Date.now() / hour) * hour + 2 * day;
  const soon = await ok(s.as('teacher', '/api/calendar/events', {
    method: 'POST', body: { title: 'Arithmétique', course_id: maths, starts_at: iso(t0), ends_at: iso(t0 + hour), rrule: 'FREQ=DAILY;COUNT=5' },
  }), 201);
  const r = await ok(s.as('teacher', `/api/calendar/events/${soon.id}/cancellations`, { method: 'POST', body: { from: iso(t0), to: iso(t0 + 2 * day), note: 'Professeur absent' } }));
  assert.deepEqual(r.occurrence_ids, [iso(t0), iso(t0 + day)]);
  // A marker after it: new homework, which alice and bob hear of after the cancellation.
  await ok(s.as('teacher', '/api/calendar/homework', { method: 'POST', body: { course_id: maths, title: 'Repère 1', due_at: iso(t0 + 4 * day) } }), 201);
  for (const who of ['alice', 'bob']) {
    const got = (await settled(who, 'calendar.lesson_changed', 'Nouveau devoir en Mathématiques 5e', 'Repère 1')).filter((n) => n.body.includes('Arithmétique'));
    assert.equal(got.length, 1, `${who}: one summary, not one per lesson`);
    assert.equal(got[0].title, '2 cours annulés');
    assert.match(got[0].body, /^Cours annulés : Arithmétique le \w+ \d+ \S+ à \d\d:\d\d ; Arithmétique le \w+ \d+ \S+ à \d\d:\d\d \(Professeur absent\)\.$/);
  }
  assert.deepEqual((await notes('dan', 'calendar.lesson_changed')).filter((n) => n.body.includes('Arithmétique')), []);
});

test('a teacher away for days, an administrator cancelling a class\'s day: every series, one notification per student', async () => {
  const t0 = Math.ceil(Date.now() / hour) * hour + 8 * day; // after the other tests' lessons
  const physics = (await ok(s.as('admin', '/api/cours', { method: 'POST', body: { title: 'Physique 5e', class_ids: [A, B], teacher_ids: [s.users.teacher.id] } }), 201)).id;
  const make = async (who, title, course, at) => (await ok(s.as(who, '/api/calendar/events', {
    method: 'POST', body: { title, course_id: course, starts_at: iso(at), ends_at: iso(at + hour), rrule: 'FREQ=DAILY;COUNT=4' },
  }), 201)).id;
  const m = await make('teacher', 'Algèbre', maths, t0);
  const ph = await make('teacher', 'Optique', physics, t0 + hour);
  const en = await make('teacher2', 'Grammaire', english, t0 + 2 * hour);
  const url = '/api/calendar/cancellations';
  const range = { from: iso(t0), to: iso(t0 + 2 * day) };
  // Bad input and who may: 400 in French naming the field, 403; nothing cancelled.
  for (const [body, field] of [[{ from: iso(t0) }, 'to'], [{ from: 'demain', to: iso(t0) }, 'from'], [{ from: iso(t0 + day), to: iso(t0) }, 'to'],
    [{ from: iso(t0), to: iso(t0 + 40 * day) }, 'to'], [{ from: iso(t0 - 30 * day), to: iso(t0 - 29 * day) }, 'from'], [{ ...range, extra: 1 }, 'extra']]) {
    const r = await s.as('teacher', url, { method: 'POST', body });
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors[field], `${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
  }
  assertProblem(assert, await s.as('alice', url, { method: 'POST', body: range }), 403);
  assertProblem(assert, await s.as('teacher', url, { method: 'POST', body: { ...range, teacher_id: s.users.teacher2.id } }), 403);
  assertProblem(assert, await s.as('teacher', url, { method: 'POST', body: { ...range, class_id: B } }), 403);
  const bad = await s.as('admin', url, { method: 'POST', body: { ...range, teacher_id: s.users.alice.id } });
  assertProblem(assert, bad, 400);
  assert.equal(bad.json.errors.teacher_id, 'ne désigne aucun enseignant');
  const window = `from=${iso(t0 - day)}&to=${iso(t0 + 5 * day)}`;
  const all = async () => (await ok(s.as('admin', `/api/calendar/events?${window}`))).items.filter((o) => [m, ph, en].includes(o.event_id));
  assert.ok((await all()).every((o) => o.status === 'scheduled'));

  // The teacher is away two days: their lessons of both courses, not their colleague's.
  const away = await ok(s.as('teacher', url, { method: 'POST', body: { ...range, note: 'Professeur absent' } }));
  assert.deepEqual(away.items.map((o) => [o.title, o.occurrence_id, o.status]), [
    ['Algèbre', iso(t0), 'cancelled'], ['Optique', iso(t0 + hour), 'cancelled'],
    ['Algèbre', iso(t0 + day), 'cancelled'], ['Optique', iso(t0 + day + hour), 'cancelled'],
  ]);
  assert.deepEqual((await all()).filter((o) => o.status === 'cancelled').map((o) => o.event_id).sort(), [m, m, ph, ph].sort());
  // An administrator cancels the third day of class B: its lessons of every course (Optique is A's too).
  const dayB = await ok(s.as('admin', url, { method: 'POST', body: { from: iso(t0 + 2 * day), to: iso(t0 + 3 * day), class_id: B, note: 'Sortie au musée' } }));
  assert.deepEqual(dayB.items.map((o) => o.title), ['Optique', 'Grammaire']);
  // Nothing left to cancel there: 400, and nothing published.
  assertProblem(assert, await s.as('admin', url, { method: 'POST', body: { from: iso(t0 + 2 * day), to: iso(t0 + 3 * day), class_id: B } }), 400);

  // Markers after both: homework in each class.
  await ok(s.as('teacher', '/api/calendar/homework', { method: 'POST', body: { course_id: maths, title: 'Repère 2', due_at: iso(t0 + 5 * day) } }), 201);
  await ok(s.as('teacher2', '/api/calendar/homework', { method: 'POST', body: { course_id: english, title: 'Repère 3', due_at: iso(t0 + 5 * day) } }), 201);
  const mine = (list) => list.filter((n) => /Algèbre|Optique|Grammaire/.test(`${n.title} ${n.body}`));
  for (const who of ['alice', 'bob']) {
    const got = mine(await settled(who, 'calendar.lesson_changed', 'Nouveau devoir en Mathématiques 5e', 'Repère 2')).sort((x, y) => x.title.localeCompare(y.title));
    assert.deepEqual(got.map((n) => n.title), ['4 cours annulés', 'Cours annulé : Optique'], who);
    assert.match(got[0].body, /^Cours annulés : Algèbre le .* ; Optique le .* ; Algèbre le .* ; Optique le .* \(Professeur absent\)\.$/);
    assert.match(got[1].body, /Sortie au musée/);
  }
  const dan = mine(await settled('dan', 'calendar.lesson_changed', 'Nouveau devoir en Anglais 5e', 'Repère 3')).sort((x, y) => x.title.localeCompare(y.title));
  assert.deepEqual(dan.map((n) => n.title), ['2 cours annulés', '2 cours annulés']);
  assert.ok(dan.some((n) => /^Cours annulés : Optique le .* ; Optique le .* \(Professeur absent\)\.$/.test(n.body)), JSON.stringify(dan));
  assert.ok(dan.some((n) => /^Cours annulés : Optique le .* ; Grammaire le .* \(Sortie au musée\)\.$/.test(n.body)), JSON.stringify(dan));
});

test('an exam moved: its students are told, and it is reminded before its new time', async () => {
  const base = Math.ceil(Date.now() / 60000) * 60000;
  const at = (h) => base + h * hour;
  // "lundi 7 décembre à 08:00" on Paris's clock, as the calendar writes it.
  const fr = (ms) => {
    const p = Object.fromEntries(new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', weekday: 'long', day: 'numeric', month: 'long', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    return `${p.weekday} ${p.day} ${p.month} à ${p.hour}:${p.minute}`;
  };
  const exam = async (title, h) => (await ok(s.as('teacher', '/api/calendar/events', {
    method: 'POST', body: { kind: 'exam', title, course_id: maths, location: 'Salle 12', starts_at: iso(at(h)), ends_at: iso(at(h + 1)) },
  }), 201)).id;
  const reminders = async (who, id) => (await notes(who, 'calendar.exam_reminder')).filter((n) => n.data.event_id === id);
  const moves = async (who, id) => (await notes(who, 'calendar.lesson_changed')).filter((n) => n.data.event_id === id);

  // In three days, its occurrence moved to two hours from now: told of the move, then reminded of the new time.
  const e1 = await exam('Contrôle de fractions', 72);
  await ok(s.as('teacher', `/api/calendar/events/${e1}/occurrences/${iso(at(72))}`, { method: 'PUT', body: { starts_at: iso(at(2)) } }));
  assert.ok(await until(async () => (await moves('alice', e1)).length === 1));
  const [moved] = await moves('alice', e1);
  assert.equal(moved.title, 'Examen déplacé : Contrôle de fractions');
  assert.equal(moved.body, `L'examen prévu le ${fr(at(72))} a lieu le ${fr(at(2))}.`);
  assert.ok(await until(async () => (await reminders('alice', e1)).length === 1), 'reminded before its new time');
  assert.equal((await reminders('alice', e1))[0].body, `Rappel : Contrôle de fractions a lieu le ${fr(at(2))}, salle Salle 12.`);

  // In three hours, reminded; then moved (the event itself) to five hours: told, and reminded again of the new time.
  const e2 = await exam('Contrôle de géométrie', 3);
  assert.ok(await until(async () => (await reminders('bob', e2)).length === 1));
  assert.equal((await reminders('bob', e2))[0].body, `Rappel : Contrôle de géométrie a lieu le ${fr(at(3))}, salle Salle 12.`);
  await ok(s.as('teacher', `/api/calendar/events/${e2}`, { method: 'PATCH', body: { starts_at: iso(at(5)), ends_at: iso(at(6)) } }));
  assert.ok(await until(async () => (await moves('bob', e2)).length === 1));
  assert.equal((await moves('bob', e2))[0].body, `L'examen prévu le ${fr(at(3))} a lieu le ${fr(at(5))}, salle Salle 12.`);
  assert.ok(await until(async () => (await reminders('bob', e2)).length === 2), 'reminded again, of its new time');
  assert.deepEqual((await reminders('bob', e2)).map((n) => n.body).sort(), [
    `Rappel : Contrôle de géométrie a lieu le ${fr(at(3))}, salle Salle 12.`,
    `Rappel : Contrôle de géométrie a lieu le ${fr(at(5))}, salle Salle 12.`,
  ].sort());

  // An exam far away moved further: nothing is reminded. A last exam, later than the others, is the
  // marker: the reminder round that sends it has gone through the others first (in order of start).
  const e3 = await exam('Contrôle de calcul', 80);
  await ok(s.as('teacher', `/api/calendar/events/${e3}/occurrences/${iso(at(80))}`, { method: 'PUT', body: { starts_at: iso(at(200)) } }));
  const marker = await exam('Repère', 20);
  for (const who of ['alice', 'bob']) {
    assert.ok(await until(async () => (await reminders(who, marker)).length === 1), who);
    assert.equal((await reminders(who, e1)).length, 1, `${who}: e1 once`);
    assert.equal((await reminders(who, e2)).length, 2, `${who}: e2 at each of its times`);
    assert.deepEqual(await reminders(who, e3), []);
  }
  assert.deepEqual(await reminders('dan', e1), []);
});

test('occurrences name their classes (from the users service)', async () => {
  const both = await ok(s.as('admin', '/api/calendar/events', {
    method: 'POST', body: { kind: 'school', audience: 'classes', class_ids: [A, B], title: 'Conseil de classe', starts_at: '2027-02-01T16:00:00Z', ends_at: '2027-02-01T18:00:00Z' },
  }), 201);
  const course = await ok(s.as('teacher', '/api/calendar/events', {
    method: 'POST', body: { title: 'Géométrie', course_id: maths, starts_at: '2027-02-02T07:00:00Z', ends_at: '2027-02-02T08:00:00Z' },
  }), 201);
  const tt = await ok(s.as('alice', '/api/calendar/timetable?week=2027-W05'));
  const names = (id) => tt.items.find((o) => o.event_id === id).classes.map((c) => c.name).sort();
  assert.deepEqual(names(both.id), ['5e A', '5e B']);
  assert.deepEqual(names(course.id), ['5e A']);
  assert.deepEqual(tt.items.find((o) => o.event_id === course.id).classes[0].id, A);
  // A class added to the course is named at once.
  await ok(s.as('admin', `/api/cours/${maths}`, { method: 'PATCH', body: { class_ids: [A, B] } }));
  const later = await ok(s.as('teacher', '/api/calendar/events?from=2027-02-02&to=2027-02-03'));
  assert.deepEqual(later.items.find((o) => o.event_id === course.id).classes.map((c) => c.name).sort(), ['5e A', '5e B']);
  await ok(s.as('admin', `/api/cours/${maths}`, { method: 'PATCH', body: { class_ids: [A] } }));
});

test('the homework window: dates or RFC 3339, 400 in French otherwise', async () => {
  for (const [q, field] of [['from=demain', 'from'], ['to=2027-02-30', 'to'], ['from=2027-02-01&to=2027-01-01', 'to'], ['from=2026-01-01&to=2027-06-01', 'to'], ['course_id=x', 'course_id']]) {
    const r = await s.as('alice', `/api/calendar/homework?${q}`);
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors[field], q);
  }
  const hw = await ok(s.as('teacher', '/api/calendar/homework', { method: 'POST', body: { course_id: maths, title: 'Exercices 1 à 5', due_at: '2027-03-10T07:00:00Z' } }), 201);
  const ids = async (q) => (await ok(s.as('alice', `/api/calendar/homework?${q}`))).items.map((h) => h.id);
  assert.ok((await ids('from=2027-03-01')).includes(hw.id)); // four weeks from `from`
  assert.ok((await ids('to=2027-03-11')).includes(hw.id)); // four weeks up to `to`
  assert.ok(!(await ids('from=2027-03-10T07:00:01Z')).includes(hw.id));
  assert.ok(!(await ids('to=2027-03-10')).includes(hw.id));
});

async function upload(who, name, bytes) {
  const fd = new FormData();
  fd.append('file', new Blob([bytes], { type: 'application/pdf' }), name);
  const res = await fetch(ent.url + '/api/fichiers', { method: 'POST', body: fd, headers: { Authorization: `Bearer ${s.token(who)}` } });
  const json = await res.json();
  assert.equal(res.status, 201, JSON.stringify(json));
  return json.id;
}
async function bytes(who, path) {
  const r = await fetch(ent.url + path, { headers: { Authorization: `Bearer ${s.token(who)}` } });
  assert.equal(r.status, 200, path);
  return Buffer.from(await r.arrayBuffer());
}
const pdf = (text) => Buffer.concat([Buffer.from(`%PDF-1.4\n% ${text}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`), randomBytes(1500)]);

test('homework attachments: the teacher\'s own files; the course\'s students download them, others get 404', async () => {
  const sheet = pdf('fiche'), answers = pdf('corrigé');
  const f1 = await upload('teacher', 'fiche.pdf', sheet);
  const f2 = await upload('teacher', 'corrige.pdf', answers);
  const other = await upload('teacher2', 'autre.pdf', pdf('autre'));
  // Before anything is attached, a student cannot read the teacher's file.
  assertProblem(assert, await s.as('alice', `/api/fichiers/${f1}`), 404);
  // Only files of the caller: another's, an unknown id, a repeated one -> 400, nothing created.
  const body = { course_id: maths, title: 'Fiche d\'exercices', due_at: '2027-03-15T07:00:00Z' };
  for (const file_ids of [[other], ['00000000-0000-4000-8000-000000000000'], [f1, f1], ['pas-un-id']]) {
    const r = await s.as('teacher', '/api/calendar/homework', { method: 'POST', body: { ...body, file_ids } });
    assertProblem(assert, r, 400);
    assert.match(r.json.errors.file_ids, /^contient /);
  }
  assert.ok(!(await ok(s.as('teacher', '/api/calendar/homework?from=2027-03-01'))).items.some((h) => h.title === body.title));
  const hw = await ok(s.as('teacher', '/api/calendar/homework', { method: 'POST', body: { ...body, file_ids: [f1, f2] } }), 201);
  assert.deepEqual(hw.attachments.map((f) => [f.file_id, f.name, f.content_type, f.size]), [
    [f1, 'fiche.pdf', 'application/pdf', sheet.length], [f2, 'corrige.pdf', 'application/pdf', answers.length],
  ]);
  // The students of the course see them in their list and download them, byte for byte.
  const listed = (await ok(s.as('bob', '/api/calendar/homework?from=2027-03-01'))).items.find((h) => h.id === hw.id);
  assert.deepEqual(listed.attachments.map((f) => f.file_id), [f1, f2]);
  for (const who of ['alice', 'bob']) {
    assert.deepEqual(await bytes(who, `/api/calendar/homework/${hw.id}/files/${f1}`), sheet);
    // The same file through the fichiers service (its .file_readable hook asks the calendar).
    assert.deepEqual(await bytes(who, `/api/fichiers/${f2}/content`), answers);
  }
  // Others: a student and a teacher of another class, 404 everywhere; a file not attached, 404.
  for (const who of ['dan', 'teacher2']) {
    assertProblem(assert, await s.as(who, `/api/calendar/homework/${hw.id}/files/${f1}`), 404);
    assertProblem(assert, await s.as(who, `/api/fichiers/${f1}/content`), 404);
    assertProblem(assert, await s.as(who, `/api/fichiers/${f1}`), 404);
  }
  assertProblem(assert, await s.as('alice', `/api/calendar/homework/${hw.id}/files/${other}`), 404);
  // PATCH replaces the list; a file already attached stays allowed, another's not.
  assertProblem(assert, await s.as('teacher', `/api/calendar/homework/${hw.id}`, { method: 'PATCH', body: { file_ids: [f2, other] } }), 400);
  const patched = await ok(s.as('teacher', `/api/calendar/homework/${hw.id}`, { method: 'PATCH', body: { file_ids: [f2] } }));
  assert.deepEqual(patched.attachments.map((f) => f.file_id), [f2]);
  assertProblem(assert, await s.as('alice', `/api/calendar/homework/${hw.id}/files/${f1}`), 404);
  assertProblem(assert, await s.as('alice', `/api/fichiers/${f1}/content`), 404);
  // A file its owner deletes disappears from the homework.
  assert.equal((await s.as('teacher', `/api/fichiers/${f2}`, { method: 'DELETE' })).status, 204);
  assert.deepEqual((await ok(s.as('alice', `/api/calendar/homework/${hw.id}`))).attachments, []);
  // Deleting the homework ends the students' access to what was attached.
  const f3 = await upload('teacher', 'plan.pdf', pdf('plan'));
  const hw2 = await ok(s.as('teacher', '/api/calendar/homework', { method: 'POST', body: { ...body, title: 'Plan', file_ids: [f3] } }), 201);
  await bytes('alice', `/api/fichiers/${f3}/content`);
  assert.equal((await s.as('teacher', `/api/calendar/homework/${hw2.id}`, { method: 'DELETE' })).status, 204);
  assertProblem(assert, await s.as('alice', `/api/fichiers/${f3}/content`), 404);
  void english;
});
