// Holes found by probing the demo school as an attacker would (the hardening issue), each shown
// by a test that failed before its fix:
//  1. a teacher with no class attached a course to any class and then read every report card of
//     that class: links that grant access are now created only by those allowed to grant them,
//     and a teacher sees in a card only what the school's policy allows (ENT_TEACHER_REPORT_VIEW,
//     default "own": the subjects they teach);
//  2. the GDPR export showed grades and comments whose publication date had not come;
//  5. the per-IP login limit counted the socket's address only and locked it for 15 minutes:
//     behind a gateway or a school's shared address, one pupil's 101 failures locked the whole
//     school out. X-Forwarded-For is now believed from ENT_TRUSTED_PROXIES only, and a hot
//     address is slowed (one attempt a second), never locked;
//  8. two uploads could pass the quota check together, and deleting a course deleted rows then
//     blobs outside one transaction: the quota is now a reservation, and blobs are deleted by a
//     durable job after the transaction that deleted their files;
//  6. a student's display_name replaced their real name in teachers' lists, grid and CSV, so a
//     student could take a classmate's name there: staff's lists show the official name;
//  7. access tokens outlived account changes: a demoted teacher or a disabled user kept their
//     rights until the token expired, and `ent token --ttl` allowed 24 hours.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, assertProblem } from './lib/ent.mjs';
import { school, ok, until } from './lib/school.mjs';
import { api } from './lib/ent.mjs';
import { request } from 'node:http';
import { readdirSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openLogin, cookieHeader } from './lib/oidc.mjs';
import { sleep } from './lib/school.mjs';

/** A server with two classes, three teachers, two students and two subjects graded in class A. */
async function setUp(env = {}) {
  const ent = await startEnt({ env });
  const s = school(ent);
  s.add('admin', 'admin@h.test', 'Ada Admin', 'admin');
  s.add('maths', 'maths@h.test', 'Marc Maths', 'enseignant'); // assigned to class A
  s.add('svt', 'svt@h.test', 'Sara Svt', 'enseignant'); // assigned to class A
  s.add('rogue', 'rogue@h.test', 'Rémi Sansclasse', 'enseignant'); // assigned to no class
  s.add('other', 'other@h.test', 'Olga Autre', 'enseignant'); // assigned to class B
  s.add('alice', 'alice@h.test', 'Alice Alpha', 'etudiant');
  s.add('bruno', 'bruno@h.test', 'Bruno Beta', 'etudiant');
  const A = await s.newClass('admin', '6e A');
  const B = await s.newClass('admin', '6e B');
  for (const k of ['maths', 'svt', 'alice']) await s.join('admin', A, k);
  for (const k of ['other', 'bruno']) await s.join('admin', B, k);
  const course = async (who, title, cls) => ok(s.as(who, '/api/cours', { method: 'POST', body: { title, subject: title.toLowerCase(), class_ids: [cls] } }), 201);
  const maths = await course('maths', 'Maths', A);
  const svt = await course('svt', 'SVT', A);
  const period = await ok(s.as('admin', '/api/notes/periods', { method: 'POST', body: { name: 'Trimestre 1', school_year: '2026-2027', starts_on: '2026-09-01', ends_on: '2026-12-20' } }), 201);
  const grade = async (who, courseId, title, value, comment, extra = {}) => {
    const e = await ok(s.as(who, '/api/notes/evaluations', { method: 'POST', body: { course_id: courseId, period_id: period.id, title, date: '2026-10-01', scale: 20, coefficient: 1, ...extra } }), 201);
    await ok(s.as(who, `/api/notes/evaluations/${e.id}/grades`, { method: 'PUT', body: { grades: [{ student_id: s.users.alice.id, status: 'graded', value, comment }] } }));
    return e;
  };
  await grade('maths', maths.id, 'Fractions', 12, 'Bien');
  await grade('svt', svt.id, 'Cellule', 16, 'Très bien');
  return { ent, s, A, B, maths, svt, period, grade };
}

let w;
before(async () => { w = await setUp(); });
after(async () => {
  const errors = w.ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await w.ent.stop();
  assert.equal(e.code, 0, w.ent.stderr.slice(-3000));
  assert.deepEqual(errors, []);
});

test('a teacher not assigned to a class cannot attach a course to it, nor read its report cards', async () => {
  const { s, A } = w;
  // The probe: a teacher with no class creates a course for class A.
  const r = await s.as('rogue', '/api/cours', { method: 'POST', body: { title: 'Cheval de Troie', class_ids: [A] } });
  assertProblem(assert, r, 403);
  assert.match(r.json.detail, /6e A/);
  assert.match(r.json.detail, /administrateur/);
  assertProblem(assert, await s.as('rogue', `/api/notes/students/${s.users.alice.id}`), 403);
  // Nor through an update of a course of their own.
  const own = await ok(s.as('rogue', '/api/cours', { method: 'POST', body: { title: 'Atelier' } }), 201);
  assertProblem(assert, await s.as('rogue', `/api/cours/${own.id}`, { method: 'PATCH', body: { class_ids: [A] } }), 403);
  assert.deepEqual((await ok(s.as('admin', `/api/cours/${own.id}`))).class_ids, []);
  assertProblem(assert, await s.as('rogue', `/api/notes/students/${s.users.alice.id}`), 403);
  // Nor by having a colleague assigned to class A add them to a course of class A.
  assertProblem(assert, await s.as('maths', `/api/cours/${w.maths.id}`, { method: 'PATCH', body: { teacher_ids: [s.users.maths.id, s.users.rogue.id] } }), 403);
  assert.deepEqual((await ok(s.as('admin', `/api/cours/${w.maths.id}`))).teacher_ids, [s.users.maths.id]);
  // Nor by adding class A to a course shared with a colleague who is not assigned to it.
  const shared = await ok(s.as('admin', '/api/cours', { method: 'POST', body: { title: 'Projet', teacher_ids: [s.users.maths.id, s.users.other.id] } }), 201);
  const r2 = await s.as('maths', `/api/cours/${shared.id}`, { method: 'PATCH', body: { class_ids: [A] } });
  assertProblem(assert, r2, 403);
  assert.match(r2.json.detail, /Olga Autre/);
  // A teacher assigned to the class may; an administrator may link anyone to anything.
  const ok1 = await ok(s.as('svt', '/api/cours', { method: 'POST', body: { title: 'Club sciences', class_ids: [A], teacher_ids: [s.users.maths.id] } }), 201);
  assert.deepEqual(ok1.class_ids, [A]);
  assert.deepEqual([...ok1.teacher_ids].sort(), [s.users.maths.id, s.users.svt.id].sort());
  const byAdmin = await ok(s.as('admin', `/api/cours/${own.id}`, { method: 'PATCH', body: { class_ids: [A] } }));
  assert.deepEqual(byAdmin.class_ids, [A]);
  // Links that exist stay changeable: the rogue teacher may now edit the title, and remove the class.
  assert.equal((await ok(s.as('rogue', `/api/cours/${own.id}`, { method: 'PATCH', body: { title: 'Atelier 2', class_ids: [A] } }))).title, 'Atelier 2');
  assert.deepEqual((await ok(s.as('rogue', `/api/cours/${own.id}`, { method: 'PATCH', body: { class_ids: [] } }))).class_ids, []);
  assertProblem(assert, await s.as('rogue', `/api/cours/${own.id}`, { method: 'PATCH', body: { class_ids: [A] } }), 403);
});

const subjects = (card) => card.periods.flatMap((p) => p.subjects.map((x) => x.title)).sort();

test('by default a teacher sees in a report card the subjects they teach only', async () => {
  const { s } = w;
  const mine = await ok(s.as('maths', `/api/notes/students/${s.users.alice.id}`));
  assert.deepEqual(subjects(mine), ['Maths']);
  assert.equal(mine.scope, 'teacher_subjects');
  // Nothing computed over the other subjects: no general averages, no timeline.
  assert.equal(mine.periods[0].average, null);
  assert.equal(mine.periods[0].class_average, null);
  assert.deepEqual(mine.timeline, []);
  assert.equal(mine.periods[0].subjects[0].average, 12);
  assert.ok(!JSON.stringify(mine).includes('Très bien'));
  assert.deepEqual(subjects(await ok(s.as('svt', `/api/notes/students/${s.users.alice.id}`))), ['SVT']);
  // The student and administrators see the whole card.
  for (const who of ['alice', 'admin']) {
    const card = await ok(s.as(who, who === 'alice' ? '/api/notes/me' : `/api/notes/students/${s.users.alice.id}`));
    assert.deepEqual(subjects(card), ['Maths', 'SVT']);
    assert.equal(card.periods[0].average, 14);
    assert.equal(card.scope, undefined);
  }
  // A teacher of another class still gets 403.
  assertProblem(assert, await s.as('other', `/api/notes/students/${s.users.alice.id}`), 403);
});

test('ENT_TEACHER_REPORT_VIEW=all shows the class\'s teachers every subject', async () => {
  const v = await setUp({ ENT_TEACHER_REPORT_VIEW: 'all' });
  try {
    const card = await ok(v.s.as('maths', `/api/notes/students/${v.s.users.alice.id}`));
    assert.deepEqual(subjects(card), ['Maths', 'SVT']);
    assert.equal(card.periods[0].average, 14);
    assert.equal(card.scope, undefined);
    assertProblem(assert, await v.s.as('other', `/api/notes/students/${v.s.users.alice.id}`), 403);
  } finally {
    const e = await v.ent.stop();
    assert.equal(e.code, 0, v.ent.stderr.slice(-3000));
  }
});

test('the GDPR export shows only grades already published, as the card does', async () => {
  const { s, maths, grade } = w;
  const later = new Date(Date.now() + 3600_000).toISOString();
  const hidden = await grade('maths', maths.id, 'Contrôle surprise', 3, 'Commentaire pas encore publié', { publish_at: later });
  // A change to the hidden grade, which would be audited if the evaluation were visible.
  await ok(s.as('maths', `/api/notes/evaluations/${hidden.id}/grades`, { method: 'PUT', body: { grades: [{ student_id: s.users.alice.id, status: 'graded', value: 4, comment: 'Toujours caché' }] } }));
  const ex = await ok(s.as('alice', '/api/users/me/export'));
  assert.ok(!ex.notes.grades.some((g) => g.evaluation_id === hidden.id), 'an unpublished grade is in the export');
  assert.ok(!ex.notes.audit.some((a) => a.evaluation_id === hidden.id));
  assert.ok(!JSON.stringify(ex).includes('pas encore publié') && !JSON.stringify(ex).includes('Toujours caché'));
  assert.deepEqual(ex.notes.grades.map((g) => g.evaluation_title).sort(), ['Cellule', 'Fractions']);
  // Published, it appears, with its later changes.
  await ok(s.as('maths', `/api/notes/evaluations/${hidden.id}`, { method: 'PATCH', body: { publish_at: null } }));
  await ok(s.as('maths', `/api/notes/evaluations/${hidden.id}/grades`, { method: 'PUT', body: { grades: [{ student_id: s.users.alice.id, status: 'graded', value: 5, comment: 'Publié' }] } }));
  const ex2 = await ok(s.as('alice', '/api/users/me/export'));
  const g = ex2.notes.grades.find((x) => x.evaluation_id === hidden.id);
  assert.equal(g.value, 5);
  assert.equal(g.comment, 'Publié');
  assert.ok(ex2.notes.audit.some((a) => a.evaluation_id === hidden.id && a.new_value === 5));
});

test('rights follow account changes within seconds: a demoted teacher, a disabled student', async () => {
  const { s, ent } = w;
  s.add('demoted', 'demoted@h.test', 'Denis Rétrogradé', 'enseignant');
  s.add('leaver', 'leaver@h.test', 'Léa Partie', 'etudiant');
  const teacherToken = s.token('demoted'), studentToken = s.token('leaver');
  const as = (token, path, opts = {}) => api(ent, path, { ...opts, headers: { Authorization: `Bearer ${token}` } });
  assert.equal((await as(teacherToken, '/api/cours', { method: 'POST', body: { title: 'Avant' } })).status, 201);
  assert.equal((await as(studentToken, '/api/notes/me')).status, 200);
  await ok(s.as('admin', `/api/users/${s.users.demoted.id}`, { method: 'PATCH', body: { role: 'etudiant' } }));
  await ok(s.as('admin', `/api/users/${s.users.leaver.id}`, { method: 'PATCH', body: { disabled: true } }));
  // The same tokens, still far from their expiry, lose what the accounts lost.
  assert.ok(await until(async () => (await as(teacherToken, '/api/cours', { method: 'POST', body: { title: 'Après' } })).status === 401, 40),
    'a demoted teacher\'s token still creates courses');
  assert.ok(await until(async () => (await as(studentToken, '/api/notes/me')).status === 401, 40), 'a disabled student\'s token still works');
  // And the operator's tool no longer signs day-long tokens.
  const r = ent.run(['token', '--ttl', '86400', 'maths@h.test']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /3600/);
});

/** One login through the built-in provider's form, as a browser behind the school's gateway. */
async function loginFrom(ent, xff, username, password) {
  const page = await openLogin(ent);
  const res = await fetch(ent.url + '/realms/ent/login-actions/authenticate', {
    method: 'POST', redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookieHeader(page.cookies), 'X-Forwarded-For': xff },
    body: new URLSearchParams({ request: page.request, csrf: page.csrf, username, password }),
  });
  await res.text();
  return res.status;
}

test('behind a trusted gateway, one address\'s failures slow it down but never lock the school out', async () => {
  const ent = await startEnt({ env: { ENT_TRUSTED_PROXIES: '127.0.0.1' } });
  try {
    const s = school(ent);
    s.add('pupil', 'pupil@h.test', 'Paul Élève', 'etudiant');
    s.add('other', 'other-pupil@h.test', 'Olive Élève', 'etudiant');
    const PWD = 'Correct-Horse-Battery-9';
    // 101 failures on as many logins, all from the school's address as the gateway reports it.
    for (let i = 0; i < 101; i++) {
      const st = await loginFrom(ent, '203.0.113.7', `spray${i}@h.test`, 'Password-2026!');
      assert.ok(st === 200 || st === 429, `attempt ${i}: ${st}`);
    }
    // Another school's address is untouched.
    assert.equal(await loginFrom(ent, '203.0.113.8', 'other-pupil@h.test', PWD), 303);
    // The hot address still gets a correct password through, at its turn (one a second).
    let st = 0;
    for (let i = 0; i < 10 && st !== 303; i++) {
      st = await loginFrom(ent, '198.51.100.4, 203.0.113.7', 'pupil@h.test', PWD);
      if (st !== 303) { assert.equal(st, 429); await sleep(1100); }
    }
    assert.equal(st, 303, 'a correct password from the shared address was refused');
  } finally {
    const e = await ent.stop();
    assert.equal(e.code, 0, ent.stderr.slice(-3000));
  }
});

/** Starts a raw upload of total bytes, sends the first chunk and keeps it open; finish() sends the rest. */
function slowUpload(ent, token, total) {
  const u = new URL(ent.url + '/api/fichiers?name=lent.bin');
  let resolve;
  const done = new Promise((r) => { resolve = r; });
  const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/octet-stream', 'Content-Length': total } }, (res) => {
    let body = '';
    res.on('data', (d) => { body += d; });
    res.on('end', () => resolve({ status: res.statusCode, body }));
  });
  req.on('error', (e) => resolve({ status: 0, body: String(e) }));
  req.write(Buffer.alloc(1000, 1));
  return { done, finish: () => { req.end(Buffer.alloc(total - 1000, 2)); return done; } };
}

test('the quota is a reservation: two uploads cannot both pass it; a deleted course\'s blobs are swept durably', async () => {
  const QUOTA = 100000;
  const ent = await startEnt({ env: { ENT_QUOTA: String(QUOTA), ENT_MAX_UPLOAD: '200000' } });
  try {
    const s = school(ent);
    s.add('prof', 'prof-quota@h.test', 'Paul Quota', 'enseignant');
    const a = slowUpload(ent, s.token('prof'), 60000);
    // The first upload, still sending, holds its 60,000 bytes.
    assert.ok(await until(async () => (await ok(s.as('prof', '/api/fichiers/usage'))).reserved === 60000, 40), 'no reservation seen');
    const b = await s.as('prof', '/api/fichiers?name=b.bin', { method: 'POST', raw: true, body: Buffer.alloc(60000, 3), headers: { 'Content-Type': 'application/octet-stream' } });
    assertProblem(assert, b, 413);
    assert.match(b.json.detail, /^Votre espace de stockage \(.*\) serait dépassé/);
    const first = await a.finish();
    assert.equal(first.status, 201, first.body);
    const usage = await ok(s.as('prof', '/api/fichiers/usage'));
    assert.deepEqual([usage.used, usage.reserved], [60000, 0]);
    // A refused upload leaves no reservation behind either.
    assertProblem(assert, await s.as('prof', '/api/fichiers?name=c.bin', { method: 'POST', raw: true, body: Buffer.alloc(50000, 4), headers: { 'Content-Type': 'application/octet-stream' } }), 413);
    assert.equal((await ok(s.as('prof', '/api/fichiers/usage'))).reserved, 0);
    // Deleting the file: the row at once, the blob by the sweeper, nothing left in the trash.
    const blobs = () => {
      const n = []; const walk = (d) => { if (!existsSync(d)) return; for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : n.push(e.name); };
      walk(join(ent.dataDir, 'blobs')); return n.length;
    };
    if (!process.env.ENT_BLOB || process.env.ENT_BLOB.startsWith('file:')) {
      const before = blobs();
      const id = JSON.parse(first.body).id;
      assert.equal((await s.as('prof', `/api/fichiers/${id}`, { method: 'DELETE' })).status, 204);
      assert.ok(await until(() => blobs() === before - 1, 40), 'the blob of a deleted file stays');
    }
  } finally {
    const e = await ent.stop();
    assert.equal(e.code, 0, ent.stderr.slice(-3000));
  }
});

test('a display name never replaces the official name in what teachers see', async () => {
  const { s, A, maths, grade } = w;
  s.add('eve', 'eve@h.test', 'Ève Dupuis', 'etudiant');
  await s.join('admin', A, 'eve');
  // Ève takes her classmate's name as her display name.
  await ok(s.as('eve', '/api/users/me', { method: 'PATCH', body: { display_name: 'Alice Alpha' } }));
  const e = await grade('maths', maths.id, 'Géométrie', 9, null);
  await ok(s.as('maths', `/api/notes/evaluations/${e.id}/grades`, { method: 'PUT', body: { grades: [{ student_id: s.users.eve.id, status: 'graded', value: 11 }] } }));
  const grid = await ok(s.as('maths', `/api/notes/courses/${maths.id}/grid`));
  const names = grid.students.map((x) => x.name);
  assert.deepEqual(names.filter((n) => n === 'Alice Alpha').length, 1, `grid: ${names.join(', ')}`);
  assert.ok(names.includes('Ève Dupuis'));
  const csv = await s.as('maths', `/api/notes/courses/${maths.id}/grid.csv`);
  assert.equal(csv.text.split('Alice Alpha').length - 1, 1);
  assert.ok(csv.text.includes('Ève Dupuis'));
  const grades = await ok(s.as('maths', `/api/notes/evaluations/${e.id}/grades`));
  assert.deepEqual(grades.items.map((x) => x.student_name).sort(), ['Alice Alpha', 'Ève Dupuis']);
  assert.equal((await ok(s.as('maths', `/api/notes/students/${s.users.eve.id}`))).student.name, 'Ève Dupuis');
  // Speaking for herself, her card shows the name she chose.
  assert.equal((await ok(s.as('eve', '/api/notes/me'))).student.name, 'Alice Alpha');
});
