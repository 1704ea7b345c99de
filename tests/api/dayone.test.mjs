// What a French school meets on day one, against a real `ent serve` (SQLite, or PostgreSQL with
// ENT_TEST_PG_URL): the user import reads CSV as French Excel saves it (';', Windows-1252, BOM or
// not, tabs), refuses a file in another encoding or with bytes that are not UTF-8 with a French
// message naming the line and column, and stores nothing then; a JSON body with bytes that are
// not UTF-8 is a 400 naming the field; names come in the order of a French register (ICU's French
// collation of family then given name) in GET /api/users, the grade grid and its CSV, which is by
// default the form French Excel opens (BOM, ';', decimal commas). See docs/identity.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, api, assertProblem, entRun } from './lib/ent.mjs';

let ent;
const PW = 'Correct-Horse-Battery-9';
const users = {};
let counter = 0;
const uniq = (p) => `${p}${Date.now().toString(36)}${++counter}`;

function addUser(email, name, role) {
  const r = entRun(['user', 'add', '--email', email, '--name', name, '--role', role, '--password', PW], { env: ent.env });
  assert.equal(r.status, 0, r.stderr);
  return { id: r.stdout.match(/([0-9a-f-]{36})\)/)[1], email };
}
function as(who, path, opts = {}) {
  const r = entRun(['token', users[who].email], { env: ent.env });
  assert.equal(r.status, 0, r.stderr);
  return api(ent, path, { ...opts, headers: { ...(opts.headers || {}), Authorization: `Bearer ${r.stdout.trim()}` } });
}
async function ok(res, status = 200) {
  const r = await res;
  assert.equal(r.status, status, r.text);
  return r.json;
}
const csvBody = (bytes) => ({ method: 'POST', raw: true, body: bytes, headers: { 'Content-Type': 'text/csv' } });

// The register, in the order asserted everywhere below (docs/identity.md, "Names in register order").
const REGISTER = [
  ['Jean', 'de La Fontaine'],
  ['Eric', 'Dupond'],
  ['Éric', 'Dupont'],
  ['Anne-Sophie', 'Le Goff'],
  ['Ève', 'Lefèvre'],
  ['Hélène', 'Léger'],
  ['Lea', 'Martin'],
  ['Léa', 'Martin'],
  ['Lucas', 'Martin'],
  ['Émile', 'Zola'],
];
// The same names in the order a school's spreadsheet might list them.
const SHUFFLED = [5, 9, 0, 7, 3, 1, 8, 2, 6, 4].map((i) => REGISTER[i]);

/** Windows-1252 bytes of text (Latin-1 plus the letters of 0x80-0x9F French uses). */
function cp1252(text) {
  const extra = { 'Œ': 0x8c, 'œ': 0x9c, '€': 0x80, '’': 0x92, 'Ÿ': 0x9f };
  return Buffer.from([...text].map((ch) => {
    if (extra[ch] !== undefined) return extra[ch];
    const c = ch.codePointAt(0);
    assert.ok(c < 0x100, `not in Windows-1252: ${ch}`);
    return c;
  }));
}

/** The import document for tag: header and the ten names, with sep between cells. */
function doc(tag, sep) {
  const lines = [['email', 'given_name', 'family_name', 'role', 'class', 'external_id'].join(sep)];
  SHUFFLED.forEach(([given, family], i) => lines.push([`${tag}.${i}@ent.test`, given, family, 'élève', `${tag} Cœur`, `${tag}-${i}`].join(sep)));
  return lines.join('\r\n') + '\r\n';
}

const names = (items) => items.map((u) => [u.given_name, u.family_name]);

before(async () => {
  ent = await startEnt();
  users.admin = addUser('admin@day.test', 'Ada Admin', 'admin');
  users.teacher = addUser('prof@day.test', 'Paul Prof', 'enseignant');
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  assert.deepEqual(errors, [], 'no error in the server log');
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
});

const variants = [
  ['UTF-8 with a BOM, ";" (Excel "CSV UTF-8")', (t) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(doc(t, ';'))]), 'utf-8', ';'],
  ['Windows-1252, ";" (Excel "CSV (séparateur : point-virgule)")', (t) => cp1252(doc(t, ';')), 'windows-1252', ';'],
  ['UTF-8 without a BOM, ","', (t) => Buffer.from(doc(t, ',')), 'utf-8', ','],
  ['UTF-8, tabs', (t) => Buffer.from(doc(t, '\t')), 'utf-8', '\t'],
];

for (const [label, make, encoding, separator] of variants) {
  test(`import: ${label}, names intact, in register order, re-import unchanged`, async () => {
    const tag = uniq('enc');
    const body = make(tag);
    const r = await ok(as('admin', '/api/users/import', csvBody(body)));
    assert.equal(r.encoding, encoding);
    assert.equal(r.separator, separator);
    assert.deepEqual(r.rejected, []);
    assert.equal(r.created, 10);
    assert.equal(r.classes_created, 1);
    const list = await ok(as('admin', `/api/users?q=${tag}&limit=100`));
    assert.deepEqual(names(list.items), REGISTER, 'exact names, in register order');
    assert.ok(list.items.every((u) => u.class && u.class.name === `${tag} Cœur` && u.role === 'etudiant'));
    const again = await ok(as('admin', '/api/users/import', csvBody(body)));
    assert.deepEqual([again.created, again.updated, again.unchanged, again.rejected.length], [0, 0, 10, 0]);
    // The command reads the same file the same way.
    const cli = entRun(['import', 'users', '-', '--dry-run'], { env: ent.env, input: body });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /0 created, 0 updated, 10 unchanged/);
  });
}

test('import: a file in another encoding is refused in French, nothing stored', async () => {
  const tag = uniq('bad');
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(doc(tag, ';'), 'utf16le')]);
  let r = await as('admin', '/api/users/import', csvBody(utf16));
  assertProblem(assert, r, 400);
  assert.match(r.json.detail, /UTF-16/);
  assert.match(r.json.detail, /enregistrez-le/);
  // UTF-16 without its BOM: NUL bytes.
  r = await as('admin', '/api/users/import', csvBody(Buffer.from(doc(tag, ';'), 'utf16le')));
  assertProblem(assert, r, 400);
  assert.match(r.json.detail, /ni en UTF-8 ni en Windows-1252/);
  // Bytes that are no text: controls and bytes Windows-1252 leaves undefined.
  const noise = Buffer.from(doc(tag, ';'));
  for (let i = 60; i < noise.length; i += 7) noise[i] = [0x81, 0x02, 0x9d, 0x1b][i % 4];
  r = await as('admin', '/api/users/import', csvBody(noise));
  assertProblem(assert, r, 400);
  assert.match(r.json.detail, /^le fichier n'est ni en UTF-8 ni en Windows-1252 \(octet 0x[0-9A-F]{2} à la ligne 2, colonne \d+\)/);
  assert.deepEqual((await ok(as('admin', `/api/users?q=${tag}`))).items, []);
});

test('import: bytes that are not UTF-8 in a UTF-8 file: 400 naming line and column, nothing stored', async () => {
  const tag = uniq('mix');
  // The BOM says UTF-8; line 3 was pasted from a Windows-1252 file ("Émile" with 0xC9).
  const lines = doc(tag, ';').split('\r\n');
  const bad = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(lines.slice(0, 2).join('\r\n') + '\r\n'),
    cp1252(lines[2]), Buffer.from('\r\n' + lines.slice(3).join('\r\n'))]);
  assert.match(lines[2], /;Émile;Zola;/);
  let r = await as('admin', '/api/users/import', csvBody(bad));
  assertProblem(assert, r, 400);
  assert.match(r.json.detail, /^ligne 3, colonne given_name : l'octet 0xC9 n'est pas de l'UTF-8 valide/);
  assert.match(r.json.detail, /rien n'a été importé/);
  // Without a BOM, UTF-8 accents on line 2 (Léger) and then that line: the same.
  r = await as('admin', '/api/users/import', csvBody(bad.subarray(3)));
  assertProblem(assert, r, 400);
  assert.match(r.json.detail, /^ligne 3, colonne given_name : /);
  assert.deepEqual((await ok(as('admin', `/api/users?q=${tag}`))).items, []);
  // A header in English words but ';' between them is read, and an unknown column is named in French.
  r = await as('admin', '/api/users/import', csvBody(Buffer.from('email;prénom;family_name;role\r\n')));
  assertProblem(assert, r, 400);
  assert.match(r.json.detail, /^ligne 1 \(en-tête\), colonne 2 : colonne inconnue « prenom »/);
  // Rejected lines say, in French, which column is wrong.
  const one = await ok(as('admin', '/api/users/import', csvBody(Buffer.from(`email;given_name;family_name;role\r\n${tag}@x;A;B;pirate\r\n`))));
  assert.deepEqual(one.rejected, [{ line: 2, column: 'email', reason: `colonne email : « ${tag}@x » n'est pas une adresse électronique valide` }]);
});

test('JSON bodies: bytes that are not UTF-8 in a string are a 400 naming the field, nothing stored', async () => {
  const tag = uniq('json');
  const body = (given) => Buffer.concat([Buffer.from(`{"email":"${tag}@ent.test","given_name":"`), given, Buffer.from('","family_name":"Léger","role":"etudiant"}')]);
  const send = (path, method, bytes) => as('admin', path, { method, raw: true, body: bytes, headers: { 'Content-Type': 'application/json' } });
  let r = await send('/api/users', 'POST', body(Buffer.from([0x48, 0xe9, 0x6c, 0xe8, 0x6e, 0x65]))); // "Hélène" in Windows-1252
  assertProblem(assert, r, 400);
  assert.deepEqual(Object.keys(r.json.errors), ['given_name']);
  r = await send('/api/users', 'POST', body(Buffer.from([0xed, 0xa0, 0x80]))); // a UTF-8-encoded surrogate
  assertProblem(assert, r, 400);
  assert.deepEqual(Object.keys(r.json.errors), ['given_name']);
  assert.deepEqual((await ok(as('admin', `/api/users?q=${tag}`))).items, []);
  // Another service, a nested field.
  r = await send('/api/notes/periods', 'POST', Buffer.concat([Buffer.from('{"name":"T'), Buffer.from([0xff]), Buffer.from('","school_year":"2026-2027","starts_on":"2026-09-01","ends_on":"2026-11-30"}')]));
  assertProblem(assert, r, 400);
  assert.deepEqual(Object.keys(r.json.errors), ['name']);
  r = await send('/api/users/me', 'PATCH', Buffer.concat([Buffer.from('{"display_name":"'), Buffer.from([0xc3]), Buffer.from('"}')]));
  assertProblem(assert, r, 400);
  assert.deepEqual(Object.keys(r.json.errors), ['display_name']);
  // Valid UTF-8 that is malformed JSON is said so, with the place.
  r = await send('/api/users/me', 'PATCH', Buffer.from('{"display_name":'));
  assertProblem(assert, r, 400);
  assert.match(r.json.detail, /^Le corps de la requête n'est pas du JSON valide \(ligne 1, colonne \d+ : le texte s'arrête avant la fin du JSON\)\.$/);
});

test('register order: GET /api/users page by page, the grade grid, its CSV in the French Excel form', async () => {
  const tag = uniq('reg');
  const imp = await ok(as('admin', '/api/users/import', csvBody(cp1252(doc(tag, ';')))));
  assert.equal(imp.created, 10);
  // Page by page (the cursor carries the sort key): the same order.
  const seen = [];
  let path = `/api/users?q=${tag}&limit=3`;
  for (;;) {
    const page = await ok(as('admin', path));
    seen.push(...page.items);
    if (!page.next_cursor) break;
    path = `/api/users?q=${tag}&limit=3&cursor=${page.next_cursor}`;
  }
  assert.deepEqual(names(seen), REGISTER);
  // A renamed user moves to their new place: the key follows every name change.
  const martinLucas = seen.find((u) => u.given_name === 'Lucas');
  await ok(as('admin', `/api/users/${martinLucas.id}`, { method: 'PATCH', body: { family_name: 'Abadie' } }));
  assert.deepEqual(names((await ok(as('admin', `/api/users?q=${tag}&limit=100`))).items)[0], ['Lucas', 'Abadie']);
  await ok(as('admin', `/api/users/${martinLucas.id}`, { method: 'PATCH', body: { family_name: 'Martin' } }));

  // A course of the class, one evaluation, a grade of 12.5.
  const cls = seen[0].class.id;
  assert.equal((await as('admin', `/api/users/classes/${cls}/members/${users.teacher.id}`, { method: 'PUT' })).status, 204);
  const course = await ok(as('teacher', '/api/cours', { method: 'POST', body: { title: `Histoire ${tag}`, subject: 'histoire', class_ids: [cls] } }), 201);
  const period = await ok(as('admin', '/api/notes/periods', { method: 'POST', body: { name: `T ${tag}`, school_year: '2026-2027', starts_on: '2026-09-01', ends_on: '2026-11-30' } }), 201);
  const ev = await ok(as('teacher', '/api/notes/evaluations', { method: 'POST', body: { course_id: course.id, period_id: period.id, title: 'Contrôle', date: '2026-10-01', coefficient: 1.5 } }), 201);
  const grades = seen.map((u, i) => ({ student_id: u.id, status: 'graded', value: 10 + i / 2 }));
  await ok(as('teacher', `/api/notes/evaluations/${ev.id}/grades`, { method: 'PUT', body: { grades } }));
  const consult = await ok(as('teacher', `/api/notes/evaluations/${ev.id}/grades`));
  assert.deepEqual(consult.items.map((x) => x.student_name), REGISTER.map(([g, f]) => `${g} ${f}`));
  const grid = await ok(as('teacher', `/api/notes/courses/${course.id}/grid`));
  assert.deepEqual(grid.students.map((s) => s.name), REGISTER.map(([g, f]) => `${g} ${f}`));

  // The CSV, by default as French Excel opens it: a BOM, ';', decimal commas, CRLF.
  const token = entRun(['token', users.teacher.email], { env: ent.env }).stdout.trim();
  const res = await fetch(`${ent.url}/api/notes/courses/${course.id}/grid.csv`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a UTF-8 BOM');
  const rows = bytes.subarray(3).toString('utf8').split('\r\n');
  assert.equal(rows[0], '"Élève";"Classe";"Contrôle (2026-10-01, /20, coef. 1,5)";"Moyenne /20"');
  assert.deepEqual(rows.slice(1, 11).map((l) => l.split(';')[0]), REGISTER.map(([g, f]) => `"${g} ${f}"`));
  assert.equal(rows[2], `"Eric Dupond";"${tag} Cœur";"10,5";"10,5"`);
  assert.equal(rows[11], '');
  // ?format=rfc4180: commas, decimal points, no BOM.
  const plain = await as('teacher', `/api/notes/courses/${course.id}/grid.csv?format=rfc4180`);
  assert.equal(plain.text.split('\r\n')[2], `"Eric Dupond","${tag} Cœur","10.5","10.5"`);
  assertProblem(assert, await as('teacher', `/api/notes/courses/${course.id}/grid.csv?format=xlsx`), 400);
});
