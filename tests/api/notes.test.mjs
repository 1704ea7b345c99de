// The notes service against a real `ent serve`: periods and evaluations, entering a class's grades
// all or nothing, the audit trail after publication, the report card's averages against the cases
// worked by hand in docs/notes.md (the numbers asserted here are those of the doc), the class grid
// and its CSV export (formula-safe), the access rules (a student: only their own grades, 404 for
// another's; a teacher: only the courses they teach, 403 otherwise), publication dates (an
// evaluation due later is hidden from /me until then, then announced once), GDPR and the demo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, api, assertProblem } from './lib/ent.mjs';
import { school, ok, until, sleep, NIL } from './lib/school.mjs';

let ent, s, as, users;
const classes = {};
const courses = {};
const periods = {};
const evals = {};

async function newEval(who, body, status = 201) {
  return ok(as(who, '/api/notes/evaluations', { method: 'POST', body }), status);
}
function putGrades(who, evalId, grades) {
  return as(who, `/api/notes/evaluations/${evalId}/grades`, { method: 'PUT', body: { grades } });
}
const g = (who, value, comment) => ({ student_id: users[who].id, status: 'graded', value, ...(comment ? { comment } : {}) });
const st = (who, status) => ({ student_id: users[who].id, status });

before(async () => {
  ent = await startEnt();
  s = school(ent);
  ({ as, users } = s);
  s.add('admin', 'admin@n.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@n.test', 'Paul Prof', 'enseignant');
  s.add('teacher2', 'prof2@n.test', 'Pia Autre', 'enseignant');
  s.add('teacher3', 'prof3@n.test', 'Hugo Ailleurs', 'enseignant');
  s.add('alice', 'alice@n.test', 'Alice Alpha', 'etudiant');
  s.add('bob', 'bob@n.test', 'Bob Beta', 'etudiant');
  s.add('chloe', 'chloe@n.test', 'Chloé Gamma', 'etudiant');
  s.add('evil', 'evil@n.test', '=Evil Hacker', 'etudiant');
  s.add('dan', 'dan@n.test', 'Dan Delta', 'etudiant');
  for (const name of ['A', 'B']) {
    const c = await ok(as('admin', '/api/users/classes', { method: 'POST', body: { name: `Classe ${name}` } }), 201);
    classes[name] = c.id;
  }
  // Teachers are assigned to the classes they link courses to (an administrator does it).
  for (const [who, cls] of [['alice', 'A'], ['bob', 'A'], ['chloe', 'A'], ['evil', 'A'], ['dan', 'B'], ['teacher', 'A'], ['teacher2', 'A'], ['teacher3', 'B']]) {
    const r = await as('admin', `/api/users/classes/${classes[cls]}/members/${users[who].id}`, { method: 'PUT' });
    assert.equal(r.status, 204, r.text);
  }
  const course = async (who, title, subject, cls) =>
    (await ok(as(who, '/api/cours', { method: 'POST', body: { title, subject, class_ids: [classes[cls]] } }), 201)).id;
  courses.maths = await course('teacher', 'Mathématiques', 'mathematiques', 'A');
  courses.fr = await course('teacher', 'Français', 'francais', 'A');
  courses.svt = await course('teacher2', 'SVT', 'svt', 'A');
  courses.b = await course('teacher3', 'Anglais B', 'anglais', 'B');
  for (const [key, name, starts, ends] of [['t1', 'Trimestre 1', '2026-09-01', '2026-11-30'], ['t2', 'Trimestre 2', '2026-12-01', '2027-02-28']]) {
    periods[key] = (await ok(as('admin', '/api/notes/periods', { method: 'POST', body: { name, school_year: '2026-2027', starts_on: starts, ends_on: ends } }), 201)).id;
  }
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
  assert.deepEqual(errors, []);
});

test('periods: admins manage them, everyone lists them, a used period cannot be deleted', async () => {
  const list = await ok(as('alice', '/api/notes/periods'));
  assert.deepEqual(list.items.map((p) => p.name), ['Trimestre 1', 'Trimestre 2']);
  assert.equal(list.items[0].starts_on, '2026-09-01');
  assert.equal(list.next_cursor, null);
  const page = await as('teacher', '/api/notes/periods?limit=1');
  assert.equal(page.json.items.length, 1);
  assert.match(page.headers.get('link'), /rel="next"/);
  const rest = await ok(as('teacher', `/api/notes/periods?limit=1&cursor=${page.json.next_cursor}`));
  assert.deepEqual(rest.items.map((p) => p.name), ['Trimestre 2']);
  assert.deepEqual((await ok(as('teacher', '/api/notes/periods?school_year=2025-2026'))).items, []);

  for (const who of ['alice', 'teacher']) {
    assertProblem(assert, await as(who, '/api/notes/periods', { method: 'POST', body: { name: 'x', school_year: '2026-2027', starts_on: '2026-09-01', ends_on: '2026-09-02' } }), 403);
    assertProblem(assert, await as(who, `/api/notes/periods/${periods.t1}`, { method: 'PATCH', body: { name: 'x' } }), 403);
    assertProblem(assert, await as(who, `/api/notes/periods/${periods.t1}`, { method: 'DELETE' }), 403);
  }
  const bad = [
    [{ name: 'x', school_year: '2026', starts_on: '2026-09-01', ends_on: '2026-09-02' }, 'school_year'],
    [{ name: 'x', school_year: '2026-2028', starts_on: '2026-09-01', ends_on: '2026-09-02' }, 'school_year'],
    [{ name: 'x', school_year: '2026-2027', starts_on: '2026-02-30', ends_on: '2026-09-02' }, 'starts_on'],
    [{ name: 'x', school_year: '2026-2027', starts_on: '2026-09-03', ends_on: '2026-09-02' }, 'ends_on'],
    [{ name: '', school_year: '2026-2027', starts_on: '2026-09-01', ends_on: '2026-09-02' }, 'name'],
    [{ name: 'x', school_year: '2026-2027', starts_on: '2026-09-01', ends_on: '2026-09-02', role: 'admin' }, 'role'],
    [{ school_year: '2026-2027', starts_on: '2026-09-01', ends_on: '2026-09-02' }, 'name'],
  ];
  for (const [body, field] of bad) {
    const r = await as('admin', '/api/notes/periods', { method: 'POST', body });
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors[field], `${field}: ${r.text}`);
  }
  assertProblem(assert, await as('admin', '/api/notes/periods', { method: 'POST', body: { name: 'Trimestre 1', school_year: '2026-2027', starts_on: '2026-09-01', ends_on: '2026-11-30' } }), 409);

  const t3 = await ok(as('admin', '/api/notes/periods', { method: 'POST', body: { name: 'T3', school_year: '2026-2027', starts_on: '2027-03-01', ends_on: '2027-07-04' } }), 201);
  const p = await ok(as('admin', `/api/notes/periods/${t3.id}`, { method: 'PATCH', body: { name: 'Trimestre 3' } }));
  assert.equal(p.name, 'Trimestre 3');
  assert.equal(p.starts_on, '2027-03-01');
  const pb = await as('admin', `/api/notes/periods/${t3.id}`, { method: 'PATCH', body: { ends_on: '2027-01-01' } });
  assertProblem(assert, pb, 400);
  assert.ok(pb.json.errors.ends_on);
  assertProblem(assert, await as('admin', `/api/notes/periods/${NIL}`, { method: 'PATCH', body: { name: 'x' } }), 404);
  // Used by an evaluation: 409; unused: deleted.
  const e = await newEval('teacher', { course_id: courses.maths, period_id: t3.id, title: 'Dans T3', date: '2027-03-10' });
  assertProblem(assert, await as('admin', `/api/notes/periods/${t3.id}`, { method: 'DELETE' }), 409);
  assert.equal((await as('teacher', `/api/notes/evaluations/${e.id}`, { method: 'DELETE' })).status, 204);
  assert.equal((await as('admin', `/api/notes/periods/${t3.id}`, { method: 'DELETE' })).status, 204);
  assertProblem(assert, await as('admin', `/api/notes/periods/${t3.id}`, { method: 'DELETE' }), 404);
});

test('evaluations: defaults, validation, who may see and change them', async () => {
  const e = await newEval('teacher', { course_id: courses.maths, period_id: periods.t2, title: 'Contrôle', date: '2026-12-10' });
  assert.equal(e.coefficient, 1);
  assert.equal(e.scale, 20);
  assert.equal(e.published, true);
  assert.equal(e.course_id, courses.maths);
  assert.equal(e.created_by, users.teacher.id);
  const got = await ok(as('admin', `/api/notes/evaluations/${e.id}`));
  assert.equal(got.title, 'Contrôle');
  const p = await ok(as('teacher', `/api/notes/evaluations/${e.id}`, { method: 'PATCH', body: { title: 'Contrôle n°1', coefficient: 2.5, scale: 40 } }));
  assert.equal(p.title, 'Contrôle n°1');
  assert.equal(p.coefficient, 2.5);
  assert.equal(p.scale, 40);

  const base = { course_id: courses.maths, period_id: periods.t2, title: 'x', date: '2026-12-10' };
  const bad = [
    [{ ...base, coefficient: 0 }, 'coefficient'], [{ ...base, coefficient: 101 }, 'coefficient'],
    [{ ...base, scale: 0 }, 'scale'], [{ ...base, scale: 1001 }, 'scale'], [{ ...base, scale: 2.5 }, 'scale'],
    [{ ...base, date: '2026-10-10' }, 'date'], [{ ...base, date: '10/12/2026' }, 'date'],
    [{ ...base, period_id: NIL }, 'period_id'], [{ ...base, course_id: NIL }, 'course_id'],
    [{ ...base, publish_at: 'tomorrow' }, 'publish_at'], [{ ...base, title: '' }, 'title'],
    [{ ...base, notified: 1 }, 'notified'], [{ title: 'x' }, 'course_id'],
  ];
  for (const [body, field] of bad) {
    const r = await as('teacher', '/api/notes/evaluations', { method: 'POST', body });
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors[field], `${field}: ${r.text}`);
  }
  assertProblem(assert, await as('teacher', '/api/notes/evaluations', { method: 'POST', raw: true, body: 'x', headers: { 'Content-Type': 'text/plain' } }), 415);

  // Another teacher (even of the same class) gets 403 on this course's evaluations; students 403.
  assertProblem(assert, await as('teacher2', '/api/notes/evaluations', { method: 'POST', body: base }), 403);
  for (const [method, path, body] of [
    ['GET', `/api/notes/evaluations/${e.id}`], ['PATCH', `/api/notes/evaluations/${e.id}`, { title: 'Piraté' }],
    ['DELETE', `/api/notes/evaluations/${e.id}`], ['GET', `/api/notes/evaluations/${e.id}/grades`],
    ['PUT', `/api/notes/evaluations/${e.id}/grades`, { grades: [g('alice', 20)] }], ['GET', `/api/notes/evaluations/${e.id}/audit`],
    ['GET', `/api/notes/evaluations?course_id=${courses.maths}`], ['GET', `/api/notes/courses/${courses.maths}/grid`],
    ['GET', `/api/notes/courses/${courses.maths}/grid.csv`],
  ]) {
    assertProblem(assert, await as('teacher2', path, { method, body }), 403);
    assertProblem(assert, await as('alice', path, { method, body }), 403);
  }
  assertProblem(assert, await as('alice', '/api/notes/evaluations', { method: 'POST', body: base }), 403);
  assertProblem(assert, await as('teacher', `/api/notes/evaluations/${NIL}`), 404);
  assertProblem(assert, await as('teacher', '/api/notes/evaluations/nope'), 404);
  assertProblem(assert, await as('teacher', `/api/notes/evaluations?course_id=${NIL}`), 404);
  assertProblem(assert, await as('teacher', '/api/notes/evaluations?course_id=nope'), 400);
  assertProblem(assert, await as(null, '/api/notes/evaluations'), 401);

  // Lists: a teacher sees the evaluations of the courses they teach, filtered and paginated.
  const e2 = await newEval('teacher', { course_id: courses.fr, period_id: periods.t2, title: 'Dictée', date: '2026-12-11' });
  const mine = await ok(as('teacher', `/api/notes/evaluations?period_id=${periods.t2}`));
  assert.ok(mine.items.some((x) => x.id === e.id) && mine.items.some((x) => x.id === e2.id));
  assert.deepEqual((await ok(as('teacher2', '/api/notes/evaluations'))).items, []);
  const fr = await ok(as('teacher', `/api/notes/evaluations?course_id=${courses.fr}&period_id=${periods.t2}`));
  assert.deepEqual(fr.items.map((x) => x.id), [e2.id]);
  const p1 = await as('admin', `/api/notes/evaluations?period_id=${periods.t2}&limit=1`);
  assert.equal(p1.json.items.length, 1);
  assert.match(p1.headers.get('link'), /period_id=/);
  const p2 = await ok(as('admin', `/api/notes/evaluations?period_id=${periods.t2}&limit=1&cursor=${p1.json.next_cursor}`));
  assert.notEqual(p2.items[0].id, p1.json.items[0].id);

  // A scale below a grade already entered is refused; deleting removes the evaluation.
  await ok(putGrades('teacher', e.id, [g('alice', 35)]));
  const low = await as('teacher', `/api/notes/evaluations/${e.id}`, { method: 'PATCH', body: { scale: 20 } });
  assertProblem(assert, low, 400);
  assert.ok(low.json.errors.scale);
  assert.equal((await as('admin', `/api/notes/evaluations/${e.id}`, { method: 'DELETE' })).status, 204);
  assertProblem(assert, await as('teacher', `/api/notes/evaluations/${e.id}`), 404);
  assertProblem(assert, await as('teacher', `/api/notes/evaluations/${e.id}/grades`), 404);
  assert.equal((await as('teacher', `/api/notes/evaluations/${e2.id}`, { method: 'DELETE' })).status, 204);
});

test('grades are saved all or nothing: one bad line saves nothing', async () => {
  const e = await newEval('teacher', { course_id: courses.maths, period_id: periods.t2, title: 'Tout ou rien', date: '2026-12-12', scale: 10 });
  const cases = [
    [[g('alice', 8), g('bob', 7), g('chloe', 11)], 'grades[2].value'],           // above the scale
    [[g('alice', 8), g('bob', -1)], 'grades[1].value'],                          // negative
    [[g('alice', 8), { student_id: users.bob.id, status: 'graded' }], 'grades[1].value'], // graded without a value
    [[g('alice', 8), { student_id: users.bob.id, status: 'absent', value: 3 }], 'grades[1].value'],
    [[g('alice', 8), { student_id: users.bob.id, status: 'sick' }], 'grades[1].status'],
    [[g('alice', 8), g('dan', 5)], 'grades[1].student_id'],                      // not in the course's classes
    [[g('alice', 8), g('teacher', 5)], 'grades[1].student_id'],                  // not a student
    [[g('alice', 8), g('alice', 9)], 'grades[1].student_id'],                    // twice
    [[g('alice', 8), { ...g('bob', 5), student_id: 'x' }], 'grades[1].student_id'],
    [[g('alice', 8), { ...g('bob', 5), role: 'admin' }], 'grades[1].role'],       // no mass assignment
    [[g('alice', 8), { ...g('bob', 5), comment: 'x'.repeat(1001) }], 'grades[1].comment'],
    [[g('alice', 8), 'bob'], 'grades[1]'],
  ];
  for (const [grades, key] of cases) {
    const r = await putGrades('teacher', e.id, grades);
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors && r.json.errors[key], `${key}: ${r.text}`);
    assert.deepEqual((await ok(as('teacher', `/api/notes/evaluations/${e.id}/grades`))).items, [], 'nothing saved');
  }
  for (const body of [{}, { grades: [] }, { grades: {} }, { grades: [g('alice', 1)], extra: 1 }]) {
    assertProblem(assert, await as('teacher', `/api/notes/evaluations/${e.id}/grades`, { method: 'PUT', body }), 400);
  }
  // The whole class at once, then the answer is every grade of the evaluation in register order
  // (family name, then given name).
  const saved = await ok(putGrades('teacher', e.id, [g('chloe', 9.5, 'Bien'), g('alice', 8), st('bob', 'absent'), st('evil', 'not_graded')]));
  assert.deepEqual(saved.items.map((x) => [x.student_name, x.status, x.value, x.comment]), [
    ['Alice Alpha', 'graded', 8, null], ['Bob Beta', 'absent', null, null],
    ['Chloé Gamma', 'graded', 9.5, 'Bien'], ['=Evil Hacker', 'not_graded', null, null],
  ]);
  const admin = await ok(putGrades('admin', e.id, [g('bob', 6)]));
  assert.equal(admin.items.find((x) => x.student_id === users.bob.id).value, 6);
  assert.equal(admin.items.length, 4);
});

test('averages: the worked cases of docs/notes.md, exactly', async () => {
  // Mathématiques (Trimestre 1)
  const e1 = await newEval('teacher', { course_id: courses.maths, period_id: periods.t1, title: 'Contrôle 1', date: '2026-10-01', scale: 20, coefficient: 2 });
  const e2 = await newEval('teacher', { course_id: courses.maths, period_id: periods.t1, title: 'Interro', date: '2026-10-10', scale: 10, coefficient: 1 });
  const e3 = await newEval('teacher', { course_id: courses.maths, period_id: periods.t1, title: 'DM', date: '2026-10-15', scale: 100, coefficient: 0.5 });
  await ok(putGrades('teacher', e1.id, [g('alice', 15), g('bob', 9), st('chloe', 'absent')]));
  await ok(putGrades('teacher', e2.id, [g('alice', 7), g('bob', 4), g('chloe', 9)]));
  await ok(putGrades('teacher', e3.id, [st('alice', 'exempt'), g('bob', 62), g('chloe', 80)]));
  // Français (Trimestre 1)
  const f1 = await newEval('teacher', { course_id: courses.fr, period_id: periods.t1, title: 'Rédaction', date: '2026-10-05', scale: 20, coefficient: 1 });
  const f2 = await newEval('teacher', { course_id: courses.fr, period_id: periods.t1, title: 'Contrôle de lecture', date: '2026-10-20', scale: 40, coefficient: 3 });
  await ok(putGrades('teacher', f1.id, [g('alice', 12, 'Bon travail'), g('bob', 16), st('chloe', 'not_graded')]));
  await ok(putGrades('teacher', f2.id, [g('alice', 30), g('bob', 20), g('chloe', 36)]));
  Object.assign(evals, { e1, e2, e3, f1, f2 });

  const me = await ok(as('alice', `/api/notes/me?period_id=${periods.t1}`));
  assert.deepEqual(me.student, { id: users.alice.id, name: 'Alice Alpha' });
  assert.equal(me.periods.length, 1);
  const t1 = me.periods[0];
  assert.equal(t1.id, periods.t1);
  assert.equal(t1.name, 'Trimestre 1');
  assert.equal(t1.average, 14.46);       // (44/3 + 57/4) / 2 = 347/24
  assert.equal(t1.class_average, 14.16); // (14.4583 + 10.35 + 17.6667) / 3
  assert.deepEqual(t1.subjects.map((s) => s.title), ['Français', 'Mathématiques']);
  const [fr, maths] = t1.subjects;
  assert.equal(maths.course_id, courses.maths);
  assert.equal(maths.subject, 'mathematiques');
  assert.deepEqual(maths.teachers, ['Paul Prof']);
  assert.deepEqual([maths.average, maths.class_average, maths.min, maths.max], [14.67, 13.73, 9.2, 17.33]);
  assert.deepEqual(maths.evaluations.map((e) => [e.title, e.status, e.value, e.value20, e.class_average, e.min, e.max]), [
    ['Contrôle 1', 'graded', 15, 15, 12, 9, 15],
    ['Interro', 'graded', 7, 14, 13.33, 8, 18],
    ['DM', 'exempt', null, null, 14.2, 12.4, 16],
  ]);
  assert.deepEqual(maths.evaluations.map((e) => [e.coefficient, e.scale, e.date]), [[2, 20, '2026-10-01'], [1, 10, '2026-10-10'], [0.5, 100, '2026-10-15']]);
  assert.deepEqual([fr.average, fr.class_average, fr.min, fr.max], [14.25, 14.58, 11.5, 18]);
  assert.deepEqual(fr.evaluations.map((e) => [e.title, e.value, e.value20, e.comment, e.class_average, e.min, e.max]), [
    ['Rédaction', 12, 12, 'Bon travail', 14, 12, 16],
    ['Contrôle de lecture', 30, 15, null, 14.33, 10, 18],
  ]);
  assert.deepEqual(me.timeline.map((p) => [p.date, p.average]), [
    ['2026-10-01', 15], ['2026-10-05', 13.5], ['2026-10-10', 13.33], ['2026-10-15', 13.33], ['2026-10-20', 14.46],
  ]);

  const bob = (await ok(as('bob', `/api/notes/me?period_id=${periods.t1}`))).periods[0];
  assert.equal(bob.average, 10.35); // (9.2 + 11.5) / 2
  assert.deepEqual(bob.subjects.map((s) => s.average), [11.5, 9.2]);
  const chloe = (await ok(as('chloe', `/api/notes/me?period_id=${periods.t1}`))).periods[0];
  assert.equal(chloe.average, 17.67); // (52/3 + 18) / 2
  assert.deepEqual(chloe.subjects.map((s) => s.average), [18, 17.33]);
  assert.deepEqual(chloe.subjects[0].evaluations.map((e) => [e.status, e.value]), [['not_graded', null], ['graded', 36]]);
  assert.deepEqual(chloe.subjects[1].evaluations[0].status, 'absent');
  // A student with no grade: the subjects are there, the averages are null.
  const evil = (await ok(as('evil', `/api/notes/me?period_id=${periods.t1}`))).periods[0];
  assert.equal(evil.average, null);
  assert.equal(evil.class_average, 14.16);
  assert.equal(evil.subjects[1].evaluations[0].status, null);
  // The same card through /students/{id}, for an administrator and for the student herself.
  assert.deepEqual(await ok(as('admin', `/api/notes/students/${users.alice.id}?period_id=${periods.t1}`)), me);
  assert.deepEqual(await ok(as('alice', `/api/notes/students/${users.alice.id}?period_id=${periods.t1}`)), me);
  // A teacher sees the subjects they teach, exactly as on the card, and no general average
  // (ENT_TEACHER_REPORT_VIEW=own, the default).
  const viaTeacher = await ok(as('teacher', `/api/notes/students/${users.alice.id}?period_id=${periods.t1}`));
  const taught = new Set([courses.maths, courses.fr]);
  assert.deepEqual(viaTeacher, {
    ...me,
    periods: me.periods.map((p) => ({ ...p, average: null, class_average: null, subjects: p.subjects.filter((x) => taught.has(x.course_id)) })),
    timeline: [],
    scope: 'teacher_subjects',
  });

  // The class grid of Mathématiques in Trimestre 1.
  const grid = await ok(as('teacher', `/api/notes/courses/${courses.maths}/grid?period_id=${periods.t1}`));
  assert.deepEqual(grid.course, { id: courses.maths, title: 'Mathématiques' });
  assert.equal(grid.period.id, periods.t1);
  assert.equal(grid.period.school_year, '2026-2027');
  assert.deepEqual(grid.evaluations.map((e) => [e.title, e.average, e.min, e.max]), [
    ['Contrôle 1', 12, 9, 15], ['Interro', 13.33, 8, 18], ['DM', 14.2, 12.4, 16],
  ]);
  assert.deepEqual(grid.students.map((s) => [s.name, s.class, s.average]), [
    ['Alice Alpha', 'Classe A', 14.67], ['Bob Beta', 'Classe A', 9.2], ['Chloé Gamma', 'Classe A', 17.33], ['=Evil Hacker', 'Classe A', null],
  ]);
  assert.deepEqual(grid.students[0].grades[e3.id], { status: 'exempt', value: null, comment: null });
  assert.deepEqual(grid.students[1].grades[e3.id], { status: 'graded', value: 62, comment: null });
  assert.deepEqual(grid.students[3].grades, {});
  assert.equal(grid.class_average, 13.73);
  assert.deepEqual(await ok(as('admin', `/api/notes/courses/${courses.maths}/grid?period_id=${periods.t1}`)), grid);
  // Without a period: every evaluation of the course.
  const all = await ok(as('teacher', `/api/notes/courses/${courses.maths}/grid`));
  assert.equal(all.period, null);
  assert.ok(all.evaluations.length >= 3);

  // The CSV export in its comma form: one row per student, formulas neutralised.
  const csv = await as('teacher', `/api/notes/courses/${courses.maths}/grid.csv?period_id=${periods.t1}&format=rfc4180`);
  assert.equal(csv.status, 200, csv.text);
  assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
  assert.match(csv.headers.get('content-disposition'), /^attachment/);
  assert.equal(csv.text, [
    '"Élève","Classe","Contrôle 1 (2026-10-01, /20, coef. 2)","Interro (2026-10-10, /10, coef. 1)","DM (2026-10-15, /100, coef. 0.5)","Moyenne /20"',
    '"Alice Alpha","Classe A","15","7","DISP","14.67"',
    '"Bob Beta","Classe A","9","4","62","9.2"',
    '"Chloé Gamma","Classe A","ABS","9","80","17.33"',
    '"\'=Evil Hacker","Classe A","","","",""',
    '',
  ].join('\r\n'));
});

test('CSV cells that a spreadsheet would run as formulas get a leading quote', async () => {
  const titles = ['-1+2', '+SUM(A1)', '@cmd', '=HYPERLINK("http://x")', 'Normal "quoted"'];
  for (const [i, title] of titles.entries()) {
    await newEval('teacher', { course_id: courses.fr, period_id: periods.t2, title, date: `2026-12-0${i + 1}` });
  }
  const csv = await as('teacher', `/api/notes/courses/${courses.fr}/grid.csv?period_id=${periods.t2}&format=rfc4180`);
  const header = csv.text.split('\r\n')[0];
  assert.equal(header, '"Élève","Classe","\'-1+2 (2026-12-01, /20, coef. 1)","\'+SUM(A1) (2026-12-02, /20, coef. 1)",'
    + '"\'@cmd (2026-12-03, /20, coef. 1)","\'=HYPERLINK(""http://x"") (2026-12-04, /20, coef. 1)",'
    + '"Normal ""quoted"" (2026-12-05, /20, coef. 1)","Moyenne /20"');
});

test('access: a student sees only their own grades; a teacher only the students and courses they teach', async () => {
  assertProblem(assert, await as('alice', `/api/notes/students/${users.bob.id}`), 404);
  assertProblem(assert, await as('alice', `/api/notes/students/${NIL}`), 404);
  assertProblem(assert, await as('alice', '/api/notes/students/nope'), 404);
  assertProblem(assert, await as('teacher', `/api/notes/students/${users.teacher2.id}`), 404);
  assert.equal((await as('alice', `/api/notes/students/${users.alice.id}`)).status, 200);
  // teacher2 teaches SVT to class A: may read Alice's card; teacher3 teaches class B only: 403.
  assert.equal((await as('teacher2', `/api/notes/students/${users.alice.id}`)).status, 200);
  assertProblem(assert, await as('teacher3', `/api/notes/students/${users.alice.id}`), 403);
  assert.equal((await as('teacher3', `/api/notes/students/${users.dan.id}`)).status, 200);
  assert.equal((await as('admin', `/api/notes/students/${users.dan.id}`)).status, 200);
  // /me is for students; the grid for the course's teachers and admins.
  for (const who of ['teacher', 'admin']) assertProblem(assert, await as(who, '/api/notes/me'), 403);
  assertProblem(assert, await as(null, '/api/notes/me'), 401);
  assertProblem(assert, await as('teacher3', `/api/notes/courses/${courses.maths}/grid`), 403);
  assertProblem(assert, await as('teacher', `/api/notes/courses/${NIL}/grid`), 404);
  assertProblem(assert, await as('teacher', `/api/notes/courses/${NIL}/grid.csv`), 404);
  assertProblem(assert, await as('alice', `/api/notes/courses/${courses.maths}/grid`), 403);
  // Dan (class B) sees none of class A's grades.
  const dan = await ok(as('dan', '/api/notes/me'));
  assert.deepEqual(dan.periods, []);
  assert.deepEqual(dan.timeline, []);
  // Bad query arguments.
  for (const q of ['period_id=nope', `period_id=${NIL}`]) {
    const r = await as('alice', `/api/notes/me?${q}`);
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors.period_id);
    assertProblem(assert, await as('teacher', `/api/notes/courses/${courses.maths}/grid?${q}`), 400);
  }
});

test('changes after publication are kept in the audit trail', async () => {
  const e = await newEval('teacher', { course_id: courses.maths, period_id: periods.t2, title: 'Audit', date: '2027-01-15' });
  await ok(putGrades('teacher', e.id, [g('alice', 12), st('bob', 'absent'), g('chloe', 15)]));
  assert.deepEqual((await ok(as('teacher', `/api/notes/evaluations/${e.id}/audit`))).items, [], 'a first entry is not a change');
  await ok(putGrades('teacher', e.id, [g('alice', 14), g('bob', 10), g('chloe', 15)]));
  await ok(putGrades('admin', e.id, [g('alice', 14, 'Corrigé'), st('chloe', 'exempt')]));
  const audit = await ok(as('teacher', `/api/notes/evaluations/${e.id}/audit`));
  assert.deepEqual(audit.items.map((a) => [a.student_id, a.changed_by, a.old_status, a.old_value, a.new_status, a.new_value]), [
    [users.alice.id, users.teacher.id, 'graded', 12, 'graded', 14],
    [users.bob.id, users.teacher.id, 'absent', null, 'graded', 10],
    [users.chloe.id, users.admin.id, 'graded', 15, 'exempt', null],
  ]);
  assert.equal(audit.items[0].student_name, 'Alice Alpha');
  assert.equal(audit.items[2].changed_by_name, 'Ada Admin');
  for (const a of audit.items) assert.match(a.changed_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual(await ok(as('admin', `/api/notes/evaluations/${e.id}/audit`)), audit);
  // Grades entered before publication are not audited.
  const later = new Date(Date.now() + 3600_000).toISOString();
  const h = await newEval('teacher', { course_id: courses.maths, period_id: periods.t2, title: 'Caché', date: '2027-01-16', publish_at: later });
  assert.equal(h.published, false);
  await ok(putGrades('teacher', h.id, [g('alice', 5)]));
  await ok(putGrades('teacher', h.id, [g('alice', 6)]));
  assert.deepEqual((await ok(as('teacher', `/api/notes/evaluations/${h.id}/audit`))).items, []);
});

test('an evaluation published later is hidden from /me until due, then announced exactly once', async () => {
  // Due in an hour while it is checked hidden (however slow the machine), then due in 2 s.
  const later = new Date(Date.now() + 3600_000).toISOString();
  const e = await newEval('teacher', { course_id: courses.fr, period_id: periods.t2, title: 'Bientôt', date: '2027-02-01', publish_at: later });
  assert.equal(e.published, false);
  await ok(putGrades('teacher', e.id, [g('alice', 17), g('bob', 11)]));
  const ids = (card) => card.periods.flatMap((p) => p.subjects.flatMap((s) => s.evaluations.map((x) => x.id)));
  assert.ok(!ids(await ok(as('alice', '/api/notes/me'))).includes(e.id), 'hidden before publish_at');
  assert.ok(!ids(await ok(as('teacher', `/api/notes/students/${users.alice.id}`))).includes(e.id));
  // The grid shows it to the teacher, marked unpublished.
  const grid = await ok(as('teacher', `/api/notes/courses/${courses.fr}/grid?period_id=${periods.t2}`));
  assert.equal(grid.evaluations.find((x) => x.id === e.id).published, false);
  await ok(as('teacher', `/api/notes/evaluations/${e.id}`, { method: 'PATCH', body: { publish_at: new Date(Date.now() + 2000).toISOString() } }));
  const seen = await until(async () => ids(await ok(as('alice', '/api/notes/me'))).includes(e.id));
  assert.ok(seen, 'shown once publish_at has passed');
  assert.equal((await ok(as('teacher', `/api/notes/evaluations/${e.id}`))).published, true);
  // When the notifications service is in this build, each student got exactly one notification.
  const probe = await as('alice', '/api/notifications?limit=100');
  if (probe.status === 200) {
    const mine = async (who) => (await ok(as(who, '/api/notifications?limit=100'))).items.filter((n) => n.data && n.data.evaluation_id === e.id);
    assert.ok(await until(async () => (await mine('alice')).length >= 1 && (await mine('bob')).length >= 1));
    await sleep(5000); // two more rounds of the background publisher: nothing more arrives
    assert.equal((await mine('alice')).length, 1);
    assert.equal((await mine('bob')).length, 1);
    assert.equal((await mine('alice'))[0].type, 'note.published');
    assert.equal((await mine('chloe')).length, 0);
    // A change of a visible grade is announced as note.updated to that student only.
    await ok(putGrades('teacher', e.id, [g('alice', 18), g('bob', 11)]));
    assert.ok(await until(async () => (await mine('alice')).some((n) => n.type === 'note.updated')));
    assert.equal((await mine('bob')).length, 1);
  }
});

test('moving publish_at to the past publishes at once; to the future hides again', async () => {
  const later = new Date(Date.now() + 3600_000).toISOString();
  const e = await newEval('teacher', { course_id: courses.fr, period_id: periods.t2, title: 'Reporté', date: '2027-02-02', publish_at: later });
  await ok(putGrades('teacher', e.id, [g('chloe', 13)]));
  const ids = async () => (await ok(as('chloe', '/api/notes/me'))).periods.flatMap((p) => p.subjects.flatMap((s) => s.evaluations.map((x) => x.id)));
  assert.ok(!(await ids()).includes(e.id));
  const p = await ok(as('teacher', `/api/notes/evaluations/${e.id}`, { method: 'PATCH', body: { publish_at: null } }));
  assert.equal(p.published, true);
  assert.ok((await ids()).includes(e.id));
  const h = await ok(as('teacher', `/api/notes/evaluations/${e.id}`, { method: 'PATCH', body: { publish_at: later } }));
  assert.equal(h.published, false);
  assert.ok(!(await ids()).includes(e.id));
});

test('GDPR: the export carries a student\'s grades; erasure removes them and their audit rows', async () => {
  const ex = await ok(as('chloe', '/api/users/me/export'));
  const mine = ex.notes.grades;
  assert.ok(mine.some((x) => x.evaluation_id === evals.e2.id && x.status === 'graded' && x.value === 9 && x.scale === 10));
  assert.ok(mine.some((x) => x.evaluation_id === evals.e1.id && x.status === 'absent' && x.value === null));
  assert.ok(ex.notes.audit.some((a) => a.new_status === 'exempt'));
  assert.ok(!mine.some((x) => x.student_id && x.student_id !== users.chloe.id));
  assert.equal((await as('admin', `/api/users/${users.chloe.id}`, { method: 'DELETE' })).status, 204);
  const grid = await ok(as('teacher', `/api/notes/courses/${courses.maths}/grid?period_id=${periods.t1}`));
  assert.ok(!grid.students.some((s) => s.id === users.chloe.id));
  assert.deepEqual(grid.evaluations.map((e) => e.average), [12, 11, 12.4]);
  const grades = await ok(as('teacher', `/api/notes/evaluations/${evals.e2.id}/grades`));
  assert.ok(!grades.items.some((x) => x.student_id === users.chloe.id));
});

test('the OpenAPI document describes every notes route with a summary and schemas', async () => {
  const doc = await ok(api(ent, '/openapi.json'));
  let n = 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith('/api/notes')) continue;
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      n++;
      assert.ok(op.summary, `${method} ${path}`);
      if (['post', 'put', 'patch'].includes(method)) assert.ok(op.requestBody, `${method} ${path} request`);
      if (method !== 'delete' && !path.endsWith('.csv')) assert.ok(JSON.stringify(op.responses).includes('schema'), `${method} ${path} response`);
    }
  }
  assert.equal(n, 17);
});

test('ent demo adds periods and published grades over two periods, idempotently', async () => {
  const r = ent.run(['demo']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /18 evaluations created now/);
  const again = ent.run(['demo']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /0 evaluations created now/);
  users.demoStudent = { email: 'lea.dubois@demo.ent.local' };
  const card = await ok(as('demoStudent', '/api/notes/me'));
  assert.equal(card.periods.length, 2);
  for (const p of card.periods) {
    assert.equal(p.subjects.length, 1);
    assert.equal(p.subjects[0].evaluations.length, 3);
    assert.equal(typeof p.class_average, 'number');
  }
  assert.ok(card.timeline.length >= 2);
  const statuses = new Set();
  users.demoTeacher = { email: 'claire.martin@demo.ent.local' };
  const course = card.periods[0].subjects[0].course_id;
  const grid = await ok(as('demoTeacher', `/api/notes/courses/${course}/grid`));
  for (const s of grid.students) for (const x of Object.values(s.grades)) statuses.add(x.status);
  assert.ok(statuses.has('graded') && statuses.has('absent') && statuses.has('exempt'), [...statuses].join());
  assert.ok(grid.evaluations.every((e) => e.published));
  const probe = await as('demoStudent', '/api/notifications?limit=100');
  if (probe.status === 200) {
    const got = await until(async () => (await ok(as('demoStudent', '/api/notifications?limit=100'))).items.filter((n) => n.type === 'note.published').length >= 1);
    assert.ok(got, 'the demo grades reach the notifications');
  }
});

// The class figures of the report card are stored when grades change (src/services/notes/stats.c).
// After each kind of change, every classmate's card must show what a computation from scratch
// over the grades gives: that computation is done here, from the teacher's grid of each course,
// with the rules and the order of docs/notes.md (values chosen so that sums are exact).
test('class figures stay exact after grades, evaluations, publication and erasure change', async () => {
  const t3 = (await ok(as('admin', '/api/notes/periods', { method: 'POST', body: { name: 'Trimestre test', school_year: '2027-2028', starts_on: '2027-09-01', ends_on: '2027-11-30' } }), 201)).id;
  const mk = (course, title, date, scale, coefficient, period = t3) => newEval('teacher', { course_id: course, period_id: period, title, date, scale, coefficient });
  const m1 = await mk(courses.maths, 'M1', '2027-09-10', 20, 2);
  const m2 = await mk(courses.maths, 'M2', '2027-09-15', 10, 1);
  const f1 = await mk(courses.fr, 'F1', '2027-09-12', 20, 1);
  await ok(putGrades('teacher', m1.id, [g('alice', 12), g('bob', 15), st('evil', 'absent')]));
  await ok(putGrades('teacher', m2.id, [g('alice', 7), g('bob', 4.5), g('evil', 9)]));
  await ok(putGrades('teacher', f1.id, [g('alice', 14), g('bob', 10), g('evil', 16)]));

  const r2 = (v) => (v === null ? null : Math.round(v * 100) / 100);
  const stats = (vals) => (vals.length ? [vals.reduce((a, b) => a + b, 0) / vals.length, Math.min(...vals), Math.max(...vals)] : [null, null, null]);
  // The figures of one period's card, from the grids of Français and Mathématiques (card order).
  async function expected(period) {
    const subjects = [];
    for (const course of [courses.fr, courses.maths]) {
      const grid = await ok(as('teacher', `/api/notes/courses/${course}/grid?period_id=${period}`));
      const evs = grid.evaluations.filter((e) => e.published);
      if (!evs.length) continue;
      const ids = grid.students.map((s) => s.id).sort();
      const grade = (sid, e) => { const s = grid.students.find((x) => x.id === sid); return s && s.grades[e.id]; };
      const evalFig = {};
      const seen = [];
      const num = {}, den = {};
      for (const e of evs) {
        const v20 = [];
        for (const sid of ids) {
          const gr = grade(sid, e);
          if (!gr || gr.status !== 'graded') continue;
          v20.push((gr.value * 20) / e.scale);
          if (!(sid in num)) { seen.push(sid); num[sid] = 0; den[sid] = 0; }
          num[sid] += ((gr.value * 20) / e.scale) * e.coefficient;
          den[sid] += e.coefficient;
        }
        evalFig[e.id] = stats(v20).map(r2);
      }
      const avg = Object.fromEntries(seen.map((sid) => [sid, num[sid] / den[sid]]));
      subjects.push({ course, evalFig, seen, avg, fig: stats(seen.map((sid) => avg[sid])).map(r2) });
    }
    const order = [];
    for (const s of subjects) for (const sid of s.seen) if (!order.includes(sid)) order.push(sid);
    const generals = order.map((sid) => { const a = subjects.filter((s) => sid in s.avg).map((s) => s.avg[sid]); return a.reduce((x, y) => x + y, 0) / a.length; });
    return { subjects, classAverage: r2(stats(generals)[0]) };
  }
  async function check(period, who = ['alice', 'bob', 'evil']) {
    const want = await expected(period);
    for (const w of who) {
      const card = await ok(as(w, `/api/notes/me?period_id=${period}`));
      const p = card.periods[0];
      assert.equal(p.class_average, want.subjects.length ? want.classAverage : null, `${w}: class average`);
      assert.deepEqual(p.subjects.map((s) => s.course_id), want.subjects.map((s) => s.course), `${w}: subjects`);
      for (const [i, s] of p.subjects.entries()) {
        assert.deepEqual([s.class_average, s.min, s.max], want.subjects[i].fig, `${w}: subject ${s.title}`);
        for (const e of s.evaluations) assert.deepEqual([e.class_average, e.min, e.max], want.subjects[i].evalFig[e.id], `${w}: ${e.title}`);
      }
      // The card with every period says the same.
      const all = (await ok(as(w, '/api/notes/me'))).periods.find((x) => x.id === period);
      if (all || p.subjects.length) assert.deepEqual(all, p);
    }
    return want;
  }
  const first = await check(t3);
  // Worked by hand: maths M1 (12, 15) -> 13.5; M2 (14, 9, 18) -> 13.67; Alice (24+14)/3 = 12.6667,
  // Bob (30+9)/3 = 13, Evil 18 -> 14.56; français 14, 10, 16; general: Alice 13.3333, Bob 11.5,
  // Evil 17 -> 41.8333/3 = 13.9444 -> 13.94.
  assert.deepEqual(first.subjects[1].fig, [14.56, 12.67, 18]);
  assert.deepEqual(first.subjects[1].evalFig[m1.id], [13.5, 12, 15]);
  assert.equal(first.classAverage, 13.94);

  await ok(putGrades('teacher', m1.id, [g('bob', 18), g('evil', 6)]));
  await check(t3);
  // Alice's only grade in français becomes absent: her stored subject row must go (the others are
  // left as they are); then back, and a batch that changes nothing.
  await ok(putGrades('teacher', f1.id, [st('alice', 'absent')]));
  await check(t3);
  await ok(putGrades('teacher', f1.id, [g('alice', 14)]));
  await check(t3);
  await ok(putGrades('teacher', f1.id, [g('alice', 14), g('bob', 10)]));
  await check(t3);
  await ok(as('teacher', `/api/notes/evaluations/${m2.id}`, { method: 'PATCH', body: { coefficient: 3 } }));
  await check(t3);
  await ok(as('teacher', `/api/notes/evaluations/${m2.id}`, { method: 'PATCH', body: { scale: 20 } }));
  await check(t3);
  const later = new Date(Date.now() + 3600_000).toISOString();
  await ok(as('teacher', `/api/notes/evaluations/${f1.id}`, { method: 'PATCH', body: { publish_at: later } }));
  assert.equal((await check(t3)).subjects.length, 1);
  await ok(as('teacher', `/api/notes/evaluations/${f1.id}`, { method: 'PATCH', body: { publish_at: null } }));
  await check(t3);
  await ok(as('teacher', `/api/notes/evaluations/${m1.id}`, { method: 'PATCH', body: { period_id: periods.t2, date: '2027-01-10' } }));
  await check(t3);
  await check(periods.t2, ['evil']);
  await ok(as('teacher', `/api/notes/evaluations/${m2.id}`, { method: 'DELETE' }), 204);
  await check(t3);
  // An evaluation that becomes visible with time, with no write at that moment.
  const soon = new Date(Date.now() + 3000).toISOString();
  const f2 = await newEval('teacher', { course_id: courses.fr, period_id: t3, title: 'F2', date: '2027-09-20', scale: 20, coefficient: 2, publish_at: soon });
  await ok(putGrades('teacher', f2.id, [g('alice', 3), g('bob', 20)]));
  assert.ok(await until(async () => (await ok(as('alice', `/api/notes/me?period_id=${t3}`))).periods[0].subjects.some((s) => s.evaluations.some((e) => e.id === f2.id))));
  await check(t3);
  // GDPR erasure of a graded student.
  assert.equal((await as('admin', `/api/users/${users.evil.id}`, { method: 'DELETE' })).status, 204);
  await check(t3, ['alice', 'bob']);
  await check(periods.t2, ['alice', 'bob']);
  // A student who changed class keeps the grades of the old class's courses on their card (those
  // courses are not the class's any more: their figures are not the stored class ones).
  assert.equal((await as('admin', `/api/users/classes/${classes.B}/members/${users.bob.id}`, { method: 'PUT' })).status, 204);
  await check(t3, ['bob']);
  await check(t3, ['alice']);
});

test('the card names the student and the teachers as the users service does (display name first)', async () => {
  s.add('eve', 'eve@n.test', 'Eve Epsilon', 'etudiant');
  const c = await ok(as('admin', '/api/users/classes', { method: 'POST', body: { name: 'Classe C' } }), 201);
  const r = await as('admin', `/api/users/classes/${c.id}/members/${users.eve.id}`, { method: 'PUT' });
  assert.equal(r.status, 204, r.text);
  const course = await ok(as('admin', '/api/cours', {
    method: 'POST', body: { title: 'Histoire C', subject: 'histoire', class_ids: [c.id], teacher_ids: [users.teacher.id, users.teacher2.id] },
  }), 201);
  await ok(as('admin', `/api/users/${users.teacher2.id}`, { method: 'PATCH', body: { display_name: 'Mme Autre' } }));
  await ok(as('admin', `/api/users/${users.eve.id}`, { method: 'PATCH', body: { display_name: 'Ève E.' } }));
  const e = await newEval('teacher', { course_id: course.id, period_id: periods.t1, title: 'Frise', date: '2026-10-02', scale: 20, coefficient: 1 });
  await ok(putGrades('teacher', e.id, [g('eve', 12)]));
  const me = await ok(as('eve', `/api/notes/me?period_id=${periods.t1}`));
  assert.deepEqual(me.student, { id: users.eve.id, name: 'Ève E.' });
  // Teachers by user id; each by display name when set, "Given Family" otherwise.
  const names = { [users.teacher.id]: 'Paul Prof', [users.teacher2.id]: 'Mme Autre', [users.admin.id]: 'Ada Admin' };
  assert.deepEqual(me.periods[0].subjects.map((s) => s.title), ['Histoire C']);
  assert.deepEqual(me.periods[0].subjects[0].teachers, [...course.teacher_ids].sort().map((id) => names[id]));
  assert.ok(me.periods[0].subjects[0].teachers.includes('Mme Autre'));
});
