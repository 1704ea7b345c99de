// Day one, continued, against a real `ent serve` (SQLite, or PostgreSQL with ENT_TEST_PG_URL):
// every problem carries a stable machine code ("code") and every field error one beside its
// message ("codes": field -> code), the portal's French text being chosen by them; an evaluation
// is shown to students only once a grade is entered and its publication date has passed; an
// administrator closes a school year that is over, after which its evaluations and grades no
// longer change; an upload whose bytes are a program, an installer or a script is refused by
// default (415 file_type_refused, whatever its name says), the refused types being the setting
// ENT_REFUSED_TYPES. See docs/service-guide.md, docs/notes.md and docs/courses.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { startEnt, api } from './lib/ent.mjs';
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

test("the admin list shows a teacher's classes", async () => {
  const list = await ok(s.as('admin', '/api/users?limit=50'));
  const prof = list.items.find((u) => u.email === 'prof@codes.test');
  assert.deepEqual(prof.classes.map((c) => c.name), ['3e A']);
  assert.equal(list.items.find((u) => u.email === 'alice@codes.test').class.name, '3e A');
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

/** A ZIP archive of stored (uncompressed) entries: enough for libmagic to tell an APK from a ZIP. */
function zip(entries) {
  const parts = [], central = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name), crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(n.length, 26);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(0x02014b50, 0); cen.writeUInt16LE(20, 4); cen.writeUInt16LE(20, 6); cen.writeUInt32LE(crc, 16);
    cen.writeUInt32LE(data.length, 20); cen.writeUInt32LE(data.length, 24); cen.writeUInt16LE(n.length, 28);
    cen.writeUInt32LE(offset, 42);
    parts.push(local, n, data);
    central.push(cen, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central), end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}
/** The headers of a 32-bit Windows program (what libmagic reads of an .exe). */
function windowsExe() {
  const b = Buffer.alloc(512);
  b.write('MZ', 0); b.writeUInt32LE(0x80, 0x3c); b.write('PE\0\0', 0x80, 'latin1');
  b.writeUInt16LE(0x14c, 0x84); b.writeUInt16LE(1, 0x86); b.writeUInt16LE(0xe0, 0x94); b.writeUInt16LE(0x102, 0x96);
  b.writeUInt16LE(0x10b, 0x98); b.writeUInt16LE(2, 0x80 + 24 + 68);
  return b;
}
const EXECUTABLES = [
  ['cours.pdf', windowsExe(), 'application/vnd.microsoft.portable-executable'],
  ['notes.txt', readFileSync('/bin/true').subarray(0, 8192), /^application\/x-(pie-)?executable$|^application\/x-sharedlib$/],
  ['exercice.txt', Buffer.from('#!/bin/sh\nrm -rf "$HOME"\n'), 'text/x-shellscript'],
  ['lisez-moi.txt', Buffer.from('@echo off\r\ndel /q C:\\*\r\n'), 'text/x-msdos-batch'],
  ['photos.zip', zip([['AndroidManifest.xml', Buffer.alloc(64, 3)], ['classes.dex', Buffer.from('dex\n035\0')]]), 'application/vnd.android.package-archive'],
];
const uploadAs = (server, token, name, bytes, type = 'application/octet-stream') =>
  api(server, `/api/fichiers?name=${encodeURIComponent(name)}`, { method: 'POST', raw: true, body: bytes, headers: { Authorization: `Bearer ${token}`, 'Content-Type': type } });

test('programs, installers and scripts are refused at upload, told from their bytes, not their name', async () => {
  const token = s.token('teacher');
  for (const [name, bytes, type] of EXECUTABLES) {
    const r = await uploadAs(ent, token, name, bytes, 'application/pdf');
    assert.equal(r.status, 415, `${name}: ${r.text}`);
    assert.equal(r.json.code, 'file_type_refused');
    assert.match(r.json.detail, /^Ce type de fichier n'est pas accepté/);
    const detected = /type détecté : ([^)]+)\)/.exec(r.json.detail)[1];
    if (type instanceof RegExp) assert.match(detected, type);
    else assert.equal(detected, type);
  }
  // Nothing stored: the teacher's files and their quota are untouched.
  const usage = await ok(s.as('teacher', '/api/fichiers/usage'));
  assert.equal(usage.used, 0);
  // A plain ZIP, a PDF named .exe and text pass.
  const plain = await ok(uploadAs(ent, token, 'archive.zip', zip([['a.txt', Buffer.from('bonjour')]])), 201);
  assert.equal(plain.content_type, 'application/zip');
  const pdf = await ok(uploadAs(ent, token, 'setup.exe', Buffer.from('%PDF-1.4\n%%EOF\n')), 201);
  assert.equal(pdf.content_type, 'application/pdf');
});

test('the refused types are a setting: none accepts everything, a list refuses what it names', async () => {
  for (const [refused, exe, pdf] of [['none', 201, 201], ['application/pdf', 201, 415], ['executables,application/pdf', 415, 415]]) {
    const other = await startEnt({ env: { ENT_REFUSED_TYPES: refused } });
    try {
      const o = school(other);
      o.add('t', 'prof@types.test', 'Paul Prof', 'enseignant');
      assert.equal((await uploadAs(other, o.token('t'), 'a.exe', windowsExe())).status, exe, refused);
      assert.equal((await uploadAs(other, o.token('t'), 'a.pdf', Buffer.from('%PDF-1.4\n%%EOF\n'))).status, pdf, refused);
    } finally {
      await other.stop();
    }
  }
  // A value that is neither a MIME type nor a keyword stops the server at start.
  await assert.rejects(startEnt({ env: { ENT_REFUSED_TYPES: 'exe' } }), /ENT_REFUSED_TYPES/);
});
