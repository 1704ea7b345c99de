// Day one, continued, against a real `ent serve` (SQLite, or PostgreSQL with ENT_TEST_PG_URL):
// every problem carries a stable machine code ("code") and every field error one beside its
// message ("codes": field -> code), the portal's French text being chosen by them; an evaluation
// is shown to students only once a grade is entered and its publication date has passed; an
// administrator closes a school year that is over, after which its evaluations and grades no
// longer change. See docs/service-guide.md and docs/notes.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt } from './lib/ent.mjs';
import { school, ok } from './lib/school.mjs';

let ent, s;
const ids = {};

before(async () => {
  ent = await startEnt();
  s = school(ent);
  s.add('admin', 'admin@codes.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@codes.test', 'Paul Prof', 'enseignant');
  s.add('alice', 'alice@codes.test', 'Alice André', 'etudiant');
  s.add('bob', 'bob@codes.test', 'Bob Bernard', 'etudiant');
  ids.cls = await s.newClass('admin', '3e A');
  for (const who of ['alice', 'bob', 'teacher']) await s.join('admin', ids.cls, who);
  ids.course = (await ok(s.as('teacher', '/api/cours', { method: 'POST', body: { title: 'Maths', subject: 'mathematiques', class_ids: [ids.cls] } }), 201)).id;
  const period = (name, year, starts, ends) =>
    ok(s.as('admin', '/api/notes/periods', { method: 'POST', body: { name, school_year: year, starts_on: starts, ends_on: ends } }), 201);
  ids.old = (await period('Trimestre 1', '2024-2025', '2024-09-01', '2024-11-30')).id;
  ids.now = (await period('Trimestre 1', '2026-2027', '2026-09-01', '2027-02-28')).id;
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
  assert.deepEqual(errors, []);
});

test('problems carry a stable code; field errors carry theirs beside the French message', async () => {
  // The three answers of the issue, each with its code and a French sentence said once.
  let r = await s.as('admin', '/api/users', { method: 'POST', body: { email: 'alice@codes.test', given_name: 'A', family_name: 'B', role: 'etudiant' } });
  assert.equal(r.status, 409);
  assert.equal(r.json.code, 'email_taken');
  assert.equal(r.json.codes.email, 'email_taken');
  assert.equal(r.json.errors.email, 'un compte existe déjà avec cette adresse e-mail');

  r = await s.as('admin', '/api/users', { method: 'POST', body: { email: 'pas-une-adresse', given_name: 'A', family_name: 'B', role: 'directeur', colour: 'x' } });
  assert.equal(r.status, 400);
  assert.equal(r.json.code, 'validation');
  assert.deepEqual(r.json.codes, { email: 'not_email', role: 'one_of', colour: 'unknown_field' });
  assert.equal(typeof r.json.errors.email, 'string', 'errors stays field -> message for existing clients');
  assert.match(r.json.errors.role, /^doit valoir/);

  r = await s.as('admin', '/api/users', { method: 'POST', body: { given_name: 'A', family_name: 'B', role: 'etudiant' } });
  assert.deepEqual(r.json.codes, { email: 'required' });

  // Problems without a field: a code named after the status unless the site gives its own.
  r = await s.as('alice', '/api/users');
  assert.equal(r.status, 403);
  assert.equal(r.json.code, 'forbidden');
  r = await s.as('admin', '/api/users/00000000-0000-4000-8000-000000000000');
  assert.equal(r.status, 404);
  assert.equal(r.json.code, 'not_found');
  r = await s.as('admin', `/api/users/${s.users.admin.id}`, { method: 'PATCH', body: { disabled: true } });
  assert.equal(r.status, 409);
  assert.equal(r.json.code, 'self_demote');
  assert.match(r.json.detail, /propre compte/);
  r = await s.as('admin', '/api/users/classes', { method: 'POST', body: { name: '3e A' } });
  assert.equal(r.status, 409);
  assert.equal(r.json.code, 'class_name_taken');
  r = await s.as('admin', '/api/users?limit=0');
  assert.equal(r.json.codes.limit, 'range');
  r = await s.as('admin', '/api/users', { method: 'POST', raw: true, body: Buffer.from('{"email":"a@b.fr","given_name":"H\xe9l\xe8ne"}', 'latin1'), headers: { 'Content-Type': 'application/json' } });
  assert.equal(r.status, 400);
  assert.equal(r.json.codes.given_name, 'not_utf8');
});

const evaluation = async (title, extra = {}) =>
  (await ok(s.as('teacher', '/api/notes/evaluations', {
    method: 'POST', body: { course_id: ids.course, period_id: ids.now, title, date: '2026-10-05', ...extra },
  }), 201)).id;
const titles = async (who) => {
  const card = await ok(s.as(who, '/api/notes/me'));
  return card.periods.flatMap((p) => p.subjects.flatMap((x) => x.evaluations.map((e) => e.title)));
};
const grade = (evalId, lines) => s.as('teacher', `/api/notes/evaluations/${evalId}/grades`, { method: 'PUT', body: { grades: lines } });

test('an evaluation reaches students once a grade is entered and its publication date has passed', async () => {
  const empty = await evaluation('Contrôle sans note');
  const graded = await evaluation('Contrôle noté');
  const later = await evaluation('Contrôle publié plus tard', { publish_at: '2099-01-01T00:00:00Z' });
  await ok(grade(graded, [{ student_id: s.users.alice.id, status: 'graded', value: 12 }]));
  await ok(grade(later, [{ student_id: s.users.alice.id, status: 'graded', value: 15 }]));
  // Alice and Bob see the graded one only (Bob without a grade of his own: "Non noté" there is his).
  assert.deepEqual(await titles('alice'), ['Contrôle noté']);
  assert.deepEqual(await titles('bob'), ['Contrôle noté']);
  // Rows marked "not graded" are no grade entered.
  await ok(grade(empty, [{ student_id: s.users.bob.id, status: 'not_graded' }]));
  assert.deepEqual(await titles('bob'), ['Contrôle noté']);
  // An absence is: the evaluation appears, for both, and the class figures stay those of the graded one.
  await ok(grade(empty, [{ student_id: s.users.bob.id, status: 'absent' }]));
  assert.deepEqual((await titles('alice')).sort(), ['Contrôle noté', 'Contrôle sans note']);
  const card = await ok(s.as('bob', '/api/notes/me'));
  const subj = card.periods[0].subjects[0];
  assert.equal(subj.evaluations.find((e) => e.title === 'Contrôle sans note').status, 'absent');
  assert.equal(subj.class_average, 12);
  // Staff see every evaluation in the grid, entered or not.
  const grid = await ok(s.as('teacher', `/api/notes/courses/${ids.course}/grid?period_id=${ids.now}`));
  assert.equal(grid.evaluations.length, 3);
});

test('an administrator closes a school year that is over; its evaluations and grades no longer change', async () => {
  const old = (await ok(s.as('teacher', '/api/notes/evaluations', {
    method: 'POST', body: { course_id: ids.course, period_id: ids.old, title: 'Ancien contrôle', date: '2024-10-01' },
  }), 201)).id;
  // Only administrators, only a year that is over.
  assert.equal((await s.as('teacher', '/api/notes/school-years/2024-2025', { method: 'PUT', body: { closed: true } })).status, 403);
  let r = await s.as('admin', '/api/notes/school-years/2026-2027', { method: 'PUT', body: { closed: true } });
  assert.equal(r.status, 409);
  assert.equal(r.json.code, 'year_not_over');
  assert.equal((await s.as('admin', '/api/notes/school-years/2019-2020', { method: 'PUT', body: { closed: true } })).status, 404);
  r = await s.as('admin', '/api/notes/school-years/2024-2025', { method: 'PUT', body: { closed: 'oui' } });
  assert.equal(r.json.codes.closed, 'not_boolean');

  const closed = await ok(s.as('admin', '/api/notes/school-years/2024-2025', { method: 'PUT', body: { closed: true } }));
  assert.deepEqual(closed.items.map((p) => [p.id, p.closed]), [[ids.old, true]]);
  const periods = await ok(s.as('teacher', '/api/notes/periods'));
  assert.deepEqual(periods.items.map((p) => [p.school_year, p.closed]), [['2024-2025', true], ['2026-2027', false]]);

  r = await grade(old, [{ student_id: s.users.alice.id, status: 'graded', value: 10 }]);
  assert.equal(r.status, 409);
  assert.equal(r.json.code, 'year_closed');
  r = await s.as('teacher', '/api/notes/evaluations', { method: 'POST', body: { course_id: ids.course, period_id: ids.old, title: 'x', date: '2024-10-02' } });
  assert.equal(r.status, 400);
  assert.equal(r.json.codes.period_id, 'year_closed');
  r = await s.as('teacher', `/api/notes/evaluations/${old}`, { method: 'PATCH', body: { title: 'Renommé' } });
  assert.equal(r.status, 400);
  assert.equal(r.json.codes.period_id, 'year_closed');

  // Opened again, it takes grades.
  await ok(s.as('admin', '/api/notes/school-years/2024-2025', { method: 'PUT', body: { closed: false } }));
  await ok(grade(old, [{ student_id: s.users.alice.id, status: 'graded', value: 10 }]));
});
