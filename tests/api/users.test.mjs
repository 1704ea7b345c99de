// The users service against a real `ent serve`: the route × role × ownership table, mass
// assignment, pagination, search, classes, CSV import (dry run, idempotence, rejected lines,
// 10,000 lines), password change, GDPR export and erasure, and the commands (user add, import,
// demo). Accounts are made with `ent user add`, tokens with `ent token EMAIL` (the auth service).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEnt, api, assertProblem, entRun } from './lib/ent.mjs';
import { school, PW } from './lib/school.mjs';

let ent, s, as, users;
let counter = 0;
const uniq = (p) => `${p}${Date.now().toString(36)}${++counter}`;

function csvBody(text) {
  return { method: 'POST', raw: true, body: text, headers: { 'Content-Type': 'text/csv; charset=utf-8' } };
}

before(async () => {
  ent = await startEnt();
  s = school(ent);
  ({ as, users } = s);
  s.add('admin', 'Admin.Test@ent.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@ent.test', 'Paul Prof', 'enseignant');
  s.add('student', 'eleve@ent.test', 'Emma Eleve', 'etudiant');
  s.add('student2', 'eleve2@ent.test', 'Éloïse Deux', 'etudiant');
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  assert.deepEqual(errors, [], 'no error in the server log');
  assert.equal(e.code, 0, `ent must exit cleanly (sanitizers included):\n${ent.stderr.slice(-4000)}`);
});

// ---- helpers that make fresh objects for the access table ----

async function freshUser(role = 'etudiant') {
  const r = await as('admin', '/api/users', {
    method: 'POST',
    body: { email: `${uniq('u')}@ent.test`, given_name: 'Tmp', family_name: 'User', role },
  });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function freshClass() {
  const r = await as('admin', '/api/users/classes', { method: 'POST', body: { name: uniq('C ') } });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

let sharedClass;
async function shared() {
  if (!sharedClass) sharedClass = await freshClass();
  return sharedClass;
}

// Each row: method, pattern (as in `ent routes`), a setup giving {path, body, opts}, and the
// expected status for: no token, etudiant, enseignant, admin.
const table = [
  ['GET', '/api/users', async () => ({ path: '/api/users' }), [401, 403, 403, 200]],
  ['POST', '/api/users', async () => ({ path: '/api/users', opts: { method: 'POST', body: { email: `${uniq('t')}@ent.test`, given_name: 'T', family_name: 'T', role: 'etudiant' } } }), [401, 403, 403, 201]],
  ['GET', '/api/users/{id}', async () => ({ path: `/api/users/${users.student2.id}` }), [401, 403, 403, 200]],
  ['PATCH', '/api/users/{id}', async () => ({ path: `/api/users/${users.student2.id}`, opts: { method: 'PATCH', body: { locale: 'fr' } } }), [401, 403, 403, 200]],
  ['DELETE', '/api/users/{id}', async () => ({ path: `/api/users/${(await freshUser()).id}`, opts: { method: 'DELETE' } }), [401, 403, 403, 204]],
  ['POST', '/api/users/{id}/password-reset', async () => ({ path: `/api/users/${(await freshUser()).id}/password-reset`, opts: { method: 'POST' } }), [401, 403, 403, 200]],
  ['GET', '/api/users/me', async () => ({ path: '/api/users/me' }), [401, 200, 200, 200]],
  ['PATCH', '/api/users/me', async () => ({ path: '/api/users/me', opts: { method: 'PATCH', body: { locale: 'fr-FR' } } }), [401, 200, 200, 200]],
  // An empty body: 400 for every role allowed (the password itself is tested below).
  ['POST', '/api/users/me/password', async () => ({ path: '/api/users/me/password', opts: { method: 'POST', body: {} } }), [401, 400, 400, 400]],
  ['GET', '/api/users/me/export', async () => ({ path: '/api/users/me/export' }), [401, 200, 200, 200]],
  ['POST', '/api/users/import', async () => ({ path: '/api/users/import?dry_run=true', opts: csvBody('email,given_name,family_name,role\n') }), [401, 403, 403, 200]],
  ['GET', '/api/users/classes', async () => ({ path: '/api/users/classes' }), [401, 403, 200, 200]],
  ['POST', '/api/users/classes', async () => ({ path: '/api/users/classes', opts: { method: 'POST', body: { name: uniq('K ') } } }), [401, 403, 403, 201]],
  ['GET', '/api/users/classes/{id}', async () => ({ path: `/api/users/classes/${(await shared()).id}` }), [401, 403, 200, 200]],
  ['PATCH', '/api/users/classes/{id}', async () => ({ path: `/api/users/classes/${(await shared()).id}`, opts: { method: 'PATCH', body: { level: '6e' } } }), [401, 403, 403, 200]],
  ['DELETE', '/api/users/classes/{id}', async () => ({ path: `/api/users/classes/${(await freshClass()).id}`, opts: { method: 'DELETE' } }), [401, 403, 403, 204]],
  ['PUT', '/api/users/classes/{id}/members/{user_id}', async () => ({ path: `/api/users/classes/${(await shared()).id}/members/${users.student.id}`, opts: { method: 'PUT' } }), [401, 403, 403, 204]],
  ['DELETE', '/api/users/classes/{id}/members/{user_id}', async () => {
    const c = await shared();
    const u = await freshUser();
    assert.equal((await as('admin', `/api/users/classes/${c.id}/members/${u.id}`, { method: 'PUT' })).status, 204);
    return { path: `/api/users/classes/${c.id}/members/${u.id}`, opts: { method: 'DELETE' } };
  }, [401, 403, 403, 204]],
];

test('the access table covers every route of the users service', () => {
  const out = entRun(['routes'], { env: ent.env });
  assert.equal(out.status, 0, out.stderr);
  const routes = out.stdout.trim().split('\n').map((l) => l.split(' ')).filter((r) => r[2] === 'users');
  const listed = new Set(table.map(([m, p]) => `${m} ${p}`));
  for (const [m, p] of routes) assert.ok(listed.has(`${m} ${p}`), `${m} ${p} is missing from the access table`);
  assert.equal(routes.length, table.length);
});

test('route × role: no token 401, each role gets its expected status', async () => {
  const who = [null, 'student', 'teacher', 'admin'];
  for (const [method, pattern, setup, expected] of table) {
    for (let i = 0; i < who.length; i++) {
      const { path, opts = {} } = await setup();
      const r = await as(who[i], path, { method, ...opts });
      assert.equal(r.status, expected[i], `${method} ${pattern} as ${who[i] ?? 'anonymous'}: ${r.text}`);
      if (r.status >= 400) assertProblem(assert, r, r.status);
    }
  }
});

test('a student sees only their own profile, never private fields of others', async () => {
  const me = await as('student', '/api/users/me');
  assert.equal(me.status, 200);
  assert.equal(me.json.id, users.student.id);
  assert.equal(me.json.email, 'eleve@ent.test');
  assert.equal(me.json.role, 'etudiant');
  for (const f of ['active', 'activation_pending', 'locked_until', 'disabled', 'external_id', 'iss'])
    assert.ok(!(f in me.json), `own profile has no administrative field ${f}`);
  // Another user by id: admin-only route, 403 whatever the id.
  assertProblem(assert, await as('student', `/api/users/${users.student2.id}`), 403);
  assertProblem(assert, await as('student', `/api/users/${users.student.id}`), 403);
  assertProblem(assert, await as('student', '/api/users?q=eleve'), 403);
  assertProblem(assert, await as('student', `/api/users/classes/${(await shared()).id}`), 403);
  // A teacher sees members of a class, but not their activation state.
  const c = await as('teacher', `/api/users/classes/${(await shared()).id}`);
  assert.equal(c.status, 200);
  for (const m of c.json.members) {
    assert.ok(!('active' in m) && !('disabled' in m), 'no activation state for teachers');
  }
});

test('no answer ever carries a password or activation hash', async () => {
  const texts = [];
  texts.push((await as('admin', '/api/users?limit=500')).text);
  texts.push((await as('admin', `/api/users/${users.student.id}`)).text);
  texts.push((await as('student', '/api/users/me')).text);
  texts.push((await as('student', '/api/users/me/export')).text);
  for (const t of texts) {
    assert.ok(!/argon2|password_hash|activation_hash|\$[0-9a-f]{64}/.test(t), t.slice(0, 300));
    assert.ok(!/"[0-9a-f]{64}"/.test(t), 'no hex digest');
  }
});

test('mass assignment: /me accepts display_name and locale only', async () => {
  for (const [field, value] of [['role', 'admin'], ['email', 'x@ent.test'], ['id', users.admin.id], ['disabled', false], ['given_name', 'X'], ['class_id', null]]) {
    const r = await as('student', '/api/users/me', { method: 'PATCH', body: { [field]: value } });
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors[field], `errors names ${field}: ${r.text}`);
  }
  const mixed = await as('student', '/api/users/me', { method: 'PATCH', body: { display_name: 'Emma E.', role: 'admin' } });
  assertProblem(assert, mixed, 400);
  const me = await as('student', '/api/users/me');
  assert.equal(me.json.role, 'etudiant');
  assert.equal(me.json.display_name, null, 'a refused body changes nothing');
  const ok = await as('student', '/api/users/me', { method: 'PATCH', body: { display_name: 'Emma E.', locale: 'fr' } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.display_name, 'Emma E.');
  assert.equal(ok.json.name, 'Emma E.');
  assert.equal(ok.json.locale, 'fr');
  assert.equal(ok.json.role, 'etudiant');
  const cleared = await as('student', '/api/users/me', { method: 'PATCH', body: { display_name: null } });
  assert.equal(cleared.json.display_name, null);
  assert.equal(cleared.json.name, 'Emma Eleve');
  // Bad values, wrong content type, duplicate keys.
  assertProblem(assert, await as('student', '/api/users/me', { method: 'PATCH', body: { locale: 'fr FR<script>' } }), 400);
  assertProblem(assert, await as('student', '/api/users/me', { method: 'PATCH', body: { display_name: 'x'.repeat(101) } }), 400);
  assertProblem(assert, await as('student', '/api/users/me', { method: 'PATCH', raw: true, body: '{"locale":"fr"}', headers: { 'Content-Type': 'text/plain' } }), 415);
  assertProblem(assert, await as('student', '/api/users/me', { method: 'PATCH', raw: true, body: '{"locale":"fr","locale":"en"}', headers: { 'Content-Type': 'application/json' } }), 400);
});

test('mass assignment: admin create and update refuse unknown fields', async () => {
  const r = await as('admin', '/api/users', { method: 'POST', body: { email: `${uniq('m')}@ent.test`, given_name: 'A', family_name: 'B', role: 'etudiant', id: users.admin.id } });
  assertProblem(assert, r, 400);
  assert.equal(r.json.errors.id, 'champ inconnu');
  const p = await as('admin', `/api/users/${users.student2.id}`, { method: 'PATCH', body: { password_hash: 'x' } });
  assertProblem(assert, p, 400);
  assert.equal(p.json.errors.password_hash, 'champ inconnu');
  const bad = await as('admin', '/api/users', { method: 'POST', body: { email: 'not-an-email', given_name: '', family_name: 'B', role: 'chef' } });
  assertProblem(assert, bad, 400);
  assert.ok(bad.json.errors.email && bad.json.errors.given_name && bad.json.errors.role, bad.text);
});

test('admin creates users: with a password, or with an activation code shown once', async () => {
  const email = `${uniq('new')}@ent.test`;
  const r = await as('admin', '/api/users', { method: 'POST', body: { email: email.toUpperCase(), given_name: 'Nina', family_name: 'Nouvelle', role: 'enseignant' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.email, email);
  assert.equal(r.json.role, 'enseignant');
  assert.equal(r.json.active, false);
  assert.equal(r.json.activation_pending, true);
  assert.match(r.json.activation_code, /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
  assert.ok(Date.parse(r.json.activation_expires_at) > Date.now() + 29 * 86400e3);
  assert.equal(r.headers.get('location'), `/api/users/${r.json.id}`);
  const again = await as('admin', `/api/users/${r.json.id}`);
  assert.equal(again.status, 200);
  assert.ok(!('activation_code' in again.json), 'the code is shown only once');
  assert.ok(!again.text.includes(r.json.activation_code));

  const withPw = await as('admin', '/api/users', { method: 'POST', body: { email: `${uniq('pw')}@ent.test`, given_name: 'P', family_name: 'W', role: 'etudiant', password: PW } });
  assert.equal(withPw.status, 201, withPw.text);
  assert.equal(withPw.json.active, true);
  assert.ok(!('activation_code' in withPw.json));

  const dup = await as('admin', '/api/users', { method: 'POST', body: { email, given_name: 'N', family_name: 'N', role: 'etudiant' } });
  assertProblem(assert, dup, 409);
  assert.ok(dup.json.errors.email);
  const weak = await as('admin', '/api/users', { method: 'POST', body: { email: `${uniq('w')}@ent.test`, given_name: 'W', family_name: 'W', role: 'etudiant', password: 'short' } });
  assertProblem(assert, weak, 400);
  assert.ok(weak.json.errors.password);
  const noClass = await as('admin', '/api/users', { method: 'POST', body: { email: `${uniq('c')}@ent.test`, given_name: 'C', family_name: 'C', role: 'etudiant', class_id: '00000000-0000-4000-8000-000000000000' } });
  assertProblem(assert, noClass, 400);
  assert.ok(noClass.json.errors.class_id);
  assertProblem(assert, await as('admin', '/api/users/00000000-0000-4000-8000-000000000000'), 404);
  assertProblem(assert, await as('admin', '/api/users/not-a-uuid'), 404);
});

test('pagination: limit bounds, and a cursor walk returns every user exactly once', async () => {
  const lines = ['email,given_name,family_name,role'];
  for (let i = 0; i < 23; i++) lines.push(`${uniq('page')}@ent.test,Page${i},Walker${i % 5},etudiant`);
  const imp = await as('admin', '/api/users/import', csvBody(lines.join('\n')));
  assert.equal(imp.status, 200, imp.text);
  for (const bad of ['0', '501', '-1', 'abc', '1.5']) assertProblem(assert, await as('admin', `/api/users?limit=${bad}`), 400);
  assertProblem(assert, await as('admin', '/api/users?cursor=garbage'), 400);
  assertProblem(assert, await as('admin', '/api/users?role=chef'), 400);
  const all = await as('admin', '/api/users?limit=500');
  assert.equal(all.status, 200);
  assert.equal(all.json.next_cursor, null);
  assert.equal(all.headers.get('link'), null);
  const expected = all.json.items.map((u) => u.id);
  assert.ok(expected.length >= 27);
  const seen = [];
  let path = '/api/users?limit=7';
  let pages = 0;
  for (;;) {
    const r = await as('admin', path);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.items.length <= 7);
    seen.push(...r.json.items.map((u) => u.id));
    pages++;
    if (!r.json.next_cursor) {
      assert.equal(r.headers.get('link'), null);
      break;
    }
    const link = r.headers.get('link');
    assert.match(link, /^<\/api\/users\?limit=7&cursor=[^>]+>; rel="next"$/);
    path = link.slice(1, link.indexOf('>'));
    assert.ok(path.includes(encodeURIComponent(r.json.next_cursor)) || path.includes(r.json.next_cursor));
  }
  assert.equal(pages, Math.ceil(expected.length / 7));
  assert.equal(new Set(seen).size, seen.length, 'no user twice');
  assert.deepEqual(seen, expected, 'every user, in the same order');
  // Filters survive in the Link header.
  const f = await as('admin', '/api/users?role=etudiant&limit=2');
  assert.match(f.headers.get('link'), /role=etudiant/);
});

test('search ignores case and accents; filters by role, class and disabled', async () => {
  const r = await as('admin', '/api/users?q=ELOISE');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.items.map((u) => u.id), [users.student2.id]);
  assert.equal((await as('admin', '/api/users?q=deux%20eloise')).json.items.length, 1, 'family name first works too');
  assert.equal((await as('admin', '/api/users?q=100%25')).json.items.length, 0, 'LIKE wildcards are literal');
  const teachers = await as('admin', '/api/users?role=enseignant&limit=500');
  assert.ok(teachers.json.items.length >= 1);
  assert.ok(teachers.json.items.every((u) => u.role === 'enseignant'));
  const c = await freshClass();
  assert.equal((await as('admin', `/api/users/classes/${c.id}/members/${users.student2.id}`, { method: 'PUT' })).status, 204);
  const inClass = await as('admin', `/api/users?class_id=${c.id}`);
  assert.deepEqual(inClass.json.items.map((u) => u.id), [users.student2.id]);
  assert.equal(inClass.json.items[0].class.id, c.id);
  assertProblem(assert, await as('admin', '/api/users?class_id=nope'), 400);
  const u = await freshUser();
  assert.equal((await as('admin', `/api/users/${u.id}`, { method: 'PATCH', body: { disabled: true } })).status, 200);
  const dis = await as('admin', '/api/users?disabled=true&limit=500');
  assert.ok(dis.json.items.some((x) => x.id === u.id));
  assert.ok(dis.json.items.every((x) => x.disabled === true));
  assertProblem(assert, await as('admin', '/api/users?disabled=maybe'), 400);
});

test('every filter of GET /api/users, alone or combined, pages like its whole list', async () => {
  // A class with three students of the same name (their sort keys tie: the id decides), another
  // student, a disabled one and a teacher.
  const c = await freshClass();
  const made = [];
  for (const [given, family, role] of [['Tie', 'Same', 'etudiant'], ['Tie', 'Same', 'etudiant'], ['Tie', 'Same', 'etudiant'],
    ['Other', 'Walker', 'etudiant'], ['Off', 'Walker', 'etudiant'], ['Teach', 'Walker', 'enseignant']]) {
    const r = await as('admin', '/api/users', { method: 'POST', body: { email: `${uniq('f')}@ent.test`, given_name: given, family_name: family, role } });
    assert.equal(r.status, 201, r.text);
    assert.equal((await as('admin', `/api/users/classes/${c.id}/members/${r.json.id}`, { method: 'PUT' })).status, 204);
    made.push(r.json);
  }
  assert.equal((await as('admin', `/api/users/${made[4].id}`, { method: 'PATCH', body: { disabled: true } })).status, 200);
  // Disabled accounts outside the class, enough for pages of two; an erased account is never listed.
  const off = [];
  for (const role of ['etudiant', 'enseignant', 'etudiant']) {
    const u = await freshUser(role);
    assert.equal((await as('admin', `/api/users/${u.id}`, { method: 'PATCH', body: { disabled: true } })).status, 200);
    off.push(u);
  }
  assert.equal((await as('admin', `/api/users/${off[2].id}`, { method: 'DELETE' })).status, 204);
  const disabledIds = (await as('admin', '/api/users?limit=500&disabled=true')).json.items.map((u) => u.id);
  assert.ok(disabledIds.includes(made[4].id) && disabledIds.includes(off[0].id) && disabledIds.includes(off[1].id));
  assert.ok(!disabledIds.includes(off[2].id), 'an erased account is not listed');
  const inClass = new Set(made.map((u) => u.id));
  const filters = ['', '&role=etudiant', '&role=enseignant', '&role=admin', '&disabled=true', '&disabled=false', '&q=tie%20same',
    '&disabled=true&role=etudiant', '&disabled=true&role=enseignant', '&disabled=true&q=walker', '&disabled=true&q=tmp%20user&role=etudiant',
    '&q=walker&disabled=false', '&role=etudiant&disabled=false&q=same', `&class_id=${c.id}`, `&class_id=${c.id}&role=etudiant`,
    `&class_id=${c.id}&disabled=true`, `&class_id=${c.id}&q=same`, `&class_id=${c.id}&role=enseignant&disabled=false`,
    `&class_id=${c.id}&role=admin`];
  for (const f of filters) {
    const all = await as('admin', `/api/users?limit=500${f}`);
    assert.equal(all.status, 200, all.text);
    assert.equal(all.json.next_cursor, null);
    const params = new URLSearchParams(f);
    for (const u of all.json.items) {
      if (params.get('role')) assert.equal(u.role, params.get('role'), f);
      if (params.get('disabled')) assert.equal(u.disabled, params.get('disabled') === 'true', f);
      if (params.get('class_id')) assert.ok(inClass.has(u.id), f);
    }
    const seen = [];
    let path = `/api/users?limit=2${f}`;
    for (let pages = 0; path; pages++) {
      assert.ok(pages < 200);
      const r = await as('admin', path);
      assert.equal(r.status, 200, r.text);
      seen.push(...r.json.items.map((u) => u.id));
      const link = r.headers.get('link');
      if (!r.json.next_cursor) {
        assert.equal(link, null);
        break;
      }
      path = link.slice(1, link.indexOf('>'));
      for (const [k, v] of params) assert.equal(new URL(path, ent.url).searchParams.get(k), v, `${f}: the Link keeps ${k}`);
    }
    assert.deepEqual(seen, all.json.items.map((u) => u.id), `${f}: the pages give the whole list, in its order`);
  }
  const byClass = async (f) => (await as('admin', `/api/users?limit=500&class_id=${c.id}${f}`)).json.items.map((u) => u.id);
  const ties = made.slice(0, 3).map((u) => u.id).sort();
  assert.deepEqual(await byClass('&q=tie'), ties, 'equal names come in id order');
  assert.deepEqual(new Set(await byClass('')), inClass);
  assert.deepEqual(await byClass('&role=enseignant'), [made[5].id]);
  assert.deepEqual(await byClass('&disabled=true'), [made[4].id]);
  assert.deepEqual((await byClass('&role=etudiant&disabled=false')).length, 4);
  // An empty class, or one that does not exist, lists nobody.
  assert.deepEqual((await as('admin', `/api/users?class_id=${(await freshClass()).id}`)).json, { items: [], next_cursor: null });
  assert.deepEqual((await as('admin', '/api/users?class_id=00000000-0000-4000-8000-000000000000')).json, { items: [], next_cursor: null });
});

test('admin updates a user: names, email, role, class, disabled; not their own role', async () => {
  const u = await freshUser();
  const c = await freshClass();
  const email = `${uniq('moved')}@ent.test`;
  const r = await as('admin', `/api/users/${u.id}`, { method: 'PATCH', body: { given_name: 'Zoé', family_name: 'Changée', email, class_id: c.id, role: 'etudiant' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, 'Zoé Changée');
  assert.equal(r.json.email, email);
  assert.equal(r.json.username, email, 'the username follows the email');
  assert.equal(r.json.class.id, c.id);
  const c2 = await freshClass();
  const moved = await as('admin', `/api/users/${u.id}`, { method: 'PATCH', body: { class_id: c2.id } });
  assert.equal(moved.json.class.id, c2.id);
  assert.deepEqual(moved.json.classes.map((x) => x.id), [c2.id], 'a student is in one class');
  const out = await as('admin', `/api/users/${u.id}`, { method: 'PATCH', body: { class_id: null } });
  assert.equal(out.json.class, null);
  const dup = await as('admin', `/api/users/${u.id}`, { method: 'PATCH', body: { email: users.teacher.email } });
  assertProblem(assert, dup, 409);
  const self = await as('admin', `/api/users/${users.admin.id}`, { method: 'PATCH', body: { role: 'etudiant' } });
  assertProblem(assert, self, 409);
  assertProblem(assert, await as('admin', `/api/users/${users.admin.id}`, { method: 'PATCH', body: { disabled: true } }), 409);
  assertProblem(assert, await as('admin', `/api/users/${users.admin.id}`, { method: 'DELETE' }), 409);
  const dis = await as('admin', `/api/users/${u.id}`, { method: 'PATCH', body: { disabled: true } });
  assert.equal(dis.json.disabled, true);
  const en = await as('admin', `/api/users/${u.id}`, { method: 'PATCH', body: { disabled: false, role: 'enseignant' } });
  assert.equal(en.json.disabled, false);
  assert.equal(en.json.role, 'enseignant');
});

test('password change: current password required, policy applied, failures counted', async () => {
  const email = `${uniq('pwd')}@ent.test`;
  s.add('pwd', email, 'Pierre Passe', 'etudiant');
  const wrong = await as('pwd', '/api/users/me/password', { method: 'POST', body: { current_password: 'Not-The-Password-1', new_password: 'Brand-New-Password-2' } });
  assertProblem(assert, wrong, 400);
  assert.ok(wrong.json.errors.current_password);
  const weak = await as('pwd', '/api/users/me/password', { method: 'POST', body: { current_password: PW, new_password: 'short' } });
  assertProblem(assert, weak, 400);
  assert.ok(weak.json.errors.new_password);
  assert.ok(!weak.json.errors.current_password);
  const extra = await as('pwd', '/api/users/me/password', { method: 'POST', body: { current_password: PW, new_password: 'Brand-New-Password-2', role: 'admin' } });
  assertProblem(assert, extra, 400);
  assert.equal(extra.json.errors.role, 'champ inconnu');
  const ok = await as('pwd', '/api/users/me/password', { method: 'POST', body: { current_password: PW, new_password: 'Brand-New-Password-2' } });
  assert.equal(ok.status, 204, ok.text);
  // The new password is now the current one.
  assertProblem(assert, await as('pwd', '/api/users/me/password', { method: 'POST', body: { current_password: PW, new_password: 'Third-Password-333' } }), 400);
  assert.equal((await as('pwd', '/api/users/me/password', { method: 'POST', body: { current_password: 'Brand-New-Password-2', new_password: 'Third-Password-333' } })).status, 204);
  // Failures are recorded in the login history (GDPR export).
  const ex = await as('pwd', '/api/users/me/export');
  const hist = ex.json.users.login_history;
  assert.ok(hist.filter((h) => h.success === false).length >= 2, JSON.stringify(hist));
});

test('password change is throttled like a login: locked after 5 failures (429, Retry-After)', async () => {
  const email = `${uniq('brute')}@ent.test`;
  s.add('brute', email, 'Bruno Force', 'etudiant');
  const wrong = (i) => as('brute', '/api/users/me/password', { method: 'POST', body: { current_password: `Wrong-Password-${i}`, new_password: 'Brand-New-Password-2' } });
  for (let i = 0; i < 5; i++) {
    const r = await wrong(i);
    assert.equal(r.status, 400, r.text);
  }
  // From the 5th failure the account is locked for 2^(n-5) s, and every attempt counts: hammer on
  // until the lock is long enough (16 s) that the right password below lands inside it even on a
  // loaded machine (a 1 s lock could expire between two requests there).
  let lock = 0;
  for (let i = 5; i < 20 && lock < 16; i++) {
    const r = await wrong(i);
    assert.ok(r.status === 429 || r.status === 400, r.text);
    if (r.status === 429) lock = Number(r.headers.get('retry-after'));
  }
  assert.ok(lock >= 16, `the lock grew to ${lock} s`);
  const locked = await as('brute', '/api/users/me/password', { method: 'POST', body: { current_password: PW, new_password: 'Brand-New-Password-2' } });
  assertProblem(assert, locked, 429);
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
});

test('admin password reset: password cleared, new activation code once', async () => {
  const u = await freshUser();
  const r = await as('admin', `/api/users/${u.id}/password-reset`, { method: 'POST' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.user_id, u.id);
  assert.match(r.json.activation_code, /^[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){2}$/);
  const g = await as('admin', `/api/users/${u.id}`);
  assert.equal(g.json.active, false);
  assert.equal(g.json.activation_pending, true);
  assertProblem(assert, await as('admin', '/api/users/00000000-0000-4000-8000-000000000000/password-reset', { method: 'POST' }), 404);
});

test('GDPR export: profile, class, login history and each service part', async () => {
  const r = await as('student2', '/api/users/me/export');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-disposition'), /attachment/);
  assert.equal(r.json.user_id, users.student2.id);
  assert.ok(Date.parse(r.json.exported_at));
  assert.equal(r.json.users.profile.id, users.student2.id);
  assert.equal(r.json.users.profile.email, 'eleve2@ent.test');
  assert.ok(Array.isArray(r.json.users.profile.classes));
  assert.ok(Array.isArray(r.json.users.login_history));
});

test('GDPR erasure: personal data gone, id kept, email reusable', async () => {
  const email = `${uniq('gone')}@ent.test`;
  s.add('gone', email, 'Gaston Parti', 'etudiant');
  const c = await freshClass();
  await as('admin', `/api/users/classes/${c.id}/members/${users.gone.id}`, { method: 'PUT' });
  await as('gone', '/api/users/me/password', { method: 'POST', body: { current_password: 'Wrong-Password-1', new_password: 'x'.repeat(12) } });
  const tok = s.token('gone');
  const d = await as('admin', `/api/users/${users.gone.id}`, { method: 'DELETE' });
  assert.equal(d.status, 204, d.text);
  assertProblem(assert, await as('admin', `/api/users/${users.gone.id}`), 404);
  assertProblem(assert, await as('admin', `/api/users/${users.gone.id}`, { method: 'DELETE' }), 404);
  const list = await as('admin', '/api/users?q=gaston&limit=500');
  assert.equal(list.json.items.length, 0);
  const cls = await as('admin', `/api/users/classes/${c.id}`);
  assert.equal(cls.json.members.length, 0, 'class membership removed');
  // The erased user's token no longer finds an account.
  const me = await api(ent, '/api/users/me', { headers: { Authorization: `Bearer ${tok}` } });
  assert.ok([401, 404].includes(me.status), me.text);
  const again = await as('admin', '/api/users', { method: 'POST', body: { email, given_name: 'G', family_name: 'P', role: 'etudiant' } });
  assert.equal(again.status, 201, 'the email is free again');
  assert.notEqual(again.json.id, users.gone.id);
});

test('classes: create, list with counts, read with members, rename, move members, delete', async () => {
  const name = uniq('6e ');
  const r = await as('admin', '/api/users/classes', { method: 'POST', body: { name, school_year: '2030-2031', level: '6e' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.school_year, '2030-2031');
  assert.equal(r.json.student_count, 0);
  assertProblem(assert, await as('admin', '/api/users/classes', { method: 'POST', body: { name, school_year: '2030-2031' } }), 409);
  assertProblem(assert, await as('admin', '/api/users/classes', { method: 'POST', body: { name: 'X', school_year: '2030-2032' } }), 400);
  assertProblem(assert, await as('admin', '/api/users/classes', { method: 'POST', body: { name: 'X', teacher: 'me' } }), 400);
  const other = (await as('admin', '/api/users/classes', { method: 'POST', body: { name: uniq('5e '), school_year: '2030-2031' } })).json;
  const s = await freshUser('etudiant');
  const t = await freshUser('enseignant');
  for (const [cid, uid] of [[r.json.id, s.id], [r.json.id, t.id], [other.id, t.id]])
    assert.equal((await as('admin', `/api/users/classes/${cid}/members/${uid}`, { method: 'PUT' })).status, 204);
  let g = await as('teacher', `/api/users/classes/${r.json.id}`);
  assert.equal(g.status, 200);
  assert.equal(g.json.student_count, 1);
  assert.equal(g.json.member_count, 2);
  assert.deepEqual(g.json.members.map((m) => m.id).sort(), [s.id, t.id].sort());
  // The student moves; the teacher stays in both classes.
  assert.equal((await as('admin', `/api/users/classes/${other.id}/members/${s.id}`, { method: 'PUT' })).status, 204);
  g = await as('admin', `/api/users/classes/${r.json.id}`);
  assert.deepEqual(g.json.members.map((m) => m.id), [t.id]);
  assert.equal(typeof g.json.members[0].active, 'boolean', 'admins see the activation state');
  const list = await as('teacher', '/api/users/classes?school_year=2030-2031');
  assert.equal(list.status, 200);
  assert.equal(list.json.items.length, 2);
  assert.ok(list.json.items.every((c) => c.school_year === '2030-2031'));
  const o = list.json.items.find((c) => c.id === other.id);
  assert.equal(o.student_count, 1);
  assert.equal(o.member_count, 2);
  assertProblem(assert, await as('admin', '/api/users/classes?school_year=2030'), 400);
  // Pagination of classes.
  const p1 = await as('admin', '/api/users/classes?school_year=2030-2031&limit=1');
  assert.equal(p1.json.items.length, 1);
  assert.ok(p1.json.next_cursor);
  const p2 = await as('admin', `/api/users/classes?school_year=2030-2031&limit=1&cursor=${encodeURIComponent(p1.json.next_cursor)}`);
  assert.equal(p2.json.items.length, 1);
  assert.notEqual(p2.json.items[0].id, p1.json.items[0].id);
  assert.equal(p2.json.next_cursor, null);
  // Rename, conflicts, membership removal, deletion.
  const ren = await as('admin', `/api/users/classes/${r.json.id}`, { method: 'PATCH', body: { name: `${name} bis`, level: null } });
  assert.equal(ren.status, 200, ren.text);
  assert.equal(ren.json.name, `${name} bis`);
  assert.equal(ren.json.level, null);
  assertProblem(assert, await as('admin', `/api/users/classes/${r.json.id}`, { method: 'PATCH', body: { name: other.name } }), 409);
  assert.equal((await as('admin', `/api/users/classes/${r.json.id}/members/${t.id}`, { method: 'DELETE' })).status, 204);
  assertProblem(assert, await as('admin', `/api/users/classes/${r.json.id}/members/${t.id}`, { method: 'DELETE' }), 404);
  assertProblem(assert, await as('admin', `/api/users/classes/${r.json.id}/members/00000000-0000-4000-8000-000000000000`, { method: 'PUT' }), 404);
  assertProblem(assert, await as('admin', `/api/users/classes/00000000-0000-4000-8000-000000000000/members/${s.id}`, { method: 'PUT' }), 404);
  assert.equal((await as('admin', `/api/users/classes/${other.id}`, { method: 'DELETE' })).status, 204);
  assertProblem(assert, await as('admin', `/api/users/classes/${other.id}`), 404);
  const su = await as('admin', `/api/users/${s.id}`);
  assert.equal(su.json.class, null, 'deleting a class keeps its users, without the class');
});

test('import: content type, dry run, rejected lines, codes, idempotent re-import', async () => {
  const tag = uniq('imp');
  const csv = '\uFEFFemail,given_name,family_name,role,class,external_id\r\n' +
    `${tag}.a@ent.test,Anne,Import,etudiant,${tag} 6e,${tag}-1\r\n` +
    `${tag}.b@ent.test,Bruno,"Import, fils",etudiant,${tag} 6e,\r\n` +
    `${tag}.c@ent.test,Chloé,Import,enseignant,${tag} 6e,${tag}-3\r\n` +
    'pas-un-email,X,Y,etudiant,,\r\n' +
    `${tag}.d@ent.test,D,D,pirate,,\r\n` +
    `${tag}.a@ent.test,Dup,Licate,etudiant,,\r\n` +
    `${tag}.e@ent.test,Trop,Court\r\n`;
  assertProblem(assert, await as('admin', '/api/users/import', { method: 'POST', raw: true, body: csv, headers: { 'Content-Type': 'application/json' } }), 415);
  assertProblem(assert, await as('admin', '/api/users/import', { method: 'POST', raw: true, body: csv }), 415);
  assertProblem(assert, await as('admin', '/api/users/import?dry_run=perhaps', csvBody(csv)), 400);
  assertProblem(assert, await as('admin', '/api/users/import', csvBody('mail,name\nx,y\n')), 400);
  const count = async () => (await as('admin', '/api/users?limit=500')).json.items.length;
  const before = await count();
  const dry = await as('admin', '/api/users/import?dry_run=true', csvBody(csv));
  assert.equal(dry.status, 200, dry.text);
  assert.equal(dry.json.dry_run, true);
  assert.equal(dry.json.created, 3);
  assert.deepEqual(dry.json.activation_codes, []);
  assert.equal(await count(), before, 'a dry run changes nothing');
  assert.equal((await as('admin', `/api/users/classes?limit=500`)).json.items.filter((c) => c.name === `${tag} 6e`).length, 0);

  const real = await as('admin', '/api/users/import', csvBody(csv));
  assert.equal(real.status, 200, real.text);
  assert.equal(real.json.dry_run, false);
  assert.equal(real.json.created, 3);
  assert.equal(real.json.updated, 0);
  assert.equal(real.json.classes_created, 1);
  assert.deepEqual(real.json.rejected.map((x) => x.line), [5, 6, 7, 8]);
  for (const x of real.json.rejected) assert.ok(x.reason.length > 5, x.reason);
  assert.match(real.json.rejected[0].reason, /^colonne email : /);
  assert.match(real.json.rejected[1].reason, /^colonne role : /);
  assert.match(real.json.rejected[2].reason, /ligne 2/);
  assert.match(real.json.rejected[3].reason, /champs/);
  assert.deepEqual(real.json.rejected.map((x) => x.column), ['email', 'role', 'email', null]);
  assert.equal(real.json.activation_codes.length, 3);
  const b = real.json.activation_codes.find((x) => x.email === `${tag}.b@ent.test`);
  assert.equal(b.name, 'Bruno Import, fils');
  assert.equal(b.class, `${tag} 6e`);
  assert.equal(b.line, 3);
  assert.match(b.code, /^[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){2}$/);
  assert.equal(await count(), before + 3);
  const imported = (await as('admin', `/api/users?q=${tag}`)).json.items;
  assert.equal(imported.length, 3);
  assert.ok(imported.every((u) => u.active === false && u.activation_pending === true));
  assert.ok(imported.filter((u) => u.role === 'etudiant').every((u) => u.class && u.class.name === `${tag} 6e`));

  const again = await as('admin', '/api/users/import', csvBody(csv));
  assert.equal(again.json.created, 0);
  assert.equal(again.json.updated, 0);
  assert.equal(again.json.unchanged, 3);
  assert.deepEqual(again.json.activation_codes, []);
  assert.equal(await count(), before + 3);
  // By external id: the email and name change, the account stays.
  const upd = await as('admin', '/api/users/import', csvBody(`external_id,email,given_name,family_name,role\n${tag}-1,${tag}.a2@ent.test,Anne,Renommée,etudiant\n`));
  assert.equal(upd.json.updated, 1);
  const a2 = (await as('admin', `/api/users?q=${tag}.a2`)).json.items;
  assert.equal(a2.length, 1);
  assert.equal(a2[0].family_name, 'Renommée');
  assert.equal(a2[0].external_id, `${tag}-1`);
});

test('import: a generated 10,000-line CSV imports whole (its speed is measured by bench/import.sh)', async () => {
  const tag = uniq('bulk');
  const rows = ['email,given_name,family_name,role,class,external_id'];
  for (let i = 0; i < 10000; i++) rows.push(`${tag}.${i}@ent.test,Prénom${i},Nom${i % 97},etudiant,${tag} ${i % 40},${tag}-${i}`);
  const body = rows.join('\n') + '\n';
  const t0 = performance.now();
  const r = await as('admin', '/api/users/import', csvBody(body));
  const ms = performance.now() - t0;
  console.log(`# 10,000-line import: ${(ms / 1000).toFixed(2)} s (${(body.length / 1024).toFixed(0)} KiB)`);
  assert.equal(r.status, 200, r.text.slice(0, 500));
  assert.equal(r.json.created, 10000);
  assert.equal(r.json.rejected.length, 0);
  assert.equal(r.json.activation_codes.length, 10000);
  assert.equal(new Set(r.json.activation_codes.map((c) => c.code)).size, 10000, 'every code is different');
  const t1 = performance.now();
  const again = await as('admin', '/api/users/import', csvBody(body));
  console.log(`# 10,000-line re-import (unchanged): ${((performance.now() - t1) / 1000).toFixed(2)} s`);
  assert.equal(again.json.unchanged, 10000);
});

test('ent import users: dry run, codes file (0600), report and exit status', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ent-import-'));
  try {
    const tag = uniq('cli');
    const file = join(dir, 'users.csv');
    writeFileSync(file, `email,given_name,family_name,role,class\n${tag}.1@ent.test,Un,Cli,etudiant,${tag}\n${tag}.2@ent.test,Deux,"Cli, ""Junior""",enseignant,\n`);
    const help = entRun(['import', '--help'], { env: ent.env });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--dry-run/);
    const dry = entRun(['import', 'users', file, '--dry-run'], { env: ent.env });
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /dry run.*2 created/);
    const codes = join(dir, 'codes.csv');
    const real = entRun(['import', 'users', file, '--codes', codes], { env: ent.env });
    assert.equal(real.status, 0, real.stderr);
    assert.match(real.stdout, /2 created/);
    assert.equal(statSync(codes).mode & 0o777, 0o600);
    const lines = readFileSync(codes, 'utf8').trim().split('\r\n');
    assert.equal(lines[0], 'line,email,name,class,code');
    assert.equal(lines.length, 3);
    assert.match(lines[2], /^3,.*\.2@ent\.test,"Deux Cli, ""Junior""",,[A-Z2-9-]{14}$/);
    writeFileSync(file, `email,given_name,family_name,role\nnope,A,B,etudiant\n`);
    const bad = entRun(['import', 'users', file], { env: ent.env });
    assert.equal(bad.status, 3, 'some lines rejected');
    assert.match(bad.stdout, /ligne 2 refusée : colonne email/);
    assert.equal(entRun(['import', 'users', join(dir, 'missing.csv')], { env: ent.env }).status, 1);
    assert.equal(entRun(['import', 'users'], { env: ent.env }).status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ent user add: --help, password from standard input, activation code, errors', () => {
  const help = entRun(['user', '--help'], { env: ent.env });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--email/);
  const email = `${uniq('stdin')}@ent.test`;
  const r = entRun(['user', 'add', '--email', email, '--name', 'Sam Stdin', '--role', 'enseignant'], { env: ent.env, input: `${PW}\n` });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!/activation code/.test(r.stdout), 'the password came from standard input');
  const code = entRun(['user', 'add', '--email', `${uniq('code')}@ent.test`, '--name', 'Cody Code', '--role', 'etudiant'], { env: ent.env, input: '' });
  assert.equal(code.status, 0, code.stderr);
  assert.match(code.stdout, /activation code: [A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}/);
  assert.equal(entRun(['user', 'add', '--email', email, '--name', 'Sam Stdin', '--role', 'enseignant', '--password', PW], { env: ent.env }).status, 1, 'exists');
  assert.equal(entRun(['user', 'add', '--email', 'x@ent.test', '--name', 'X Y', '--role', 'chef', '--password', PW], { env: ent.env }).status, 2);
  assert.equal(entRun(['user', 'add', '--email', 'x@ent.test', '--name', 'Mononym', '--role', 'etudiant', '--password', PW], { env: ent.env }).status, 2);
  const weak = entRun(['user', 'add', '--email', 'x@ent.test', '--name', 'X Y', '--role', 'etudiant', '--password', 'short'], { env: ent.env });
  assert.equal(weak.status, 2);
  assert.match(weak.stderr, /password/);
});

test('ent demo: a school with an admin, teachers and three classes, idempotent', async () => {
  const first = entRun(['demo'], { env: ent.env });
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /admin@demo\.ent\.local\s+admin\s+\S+/);
  const students = first.stdout.split('\n').filter((l) => /\setudiant\s/.test(l));
  assert.ok(students.length >= 60, `about 25 students per class: ${students.length}`);
  const teachers = first.stdout.split('\n').filter((l) => /\senseignant\s/.test(l));
  assert.ok(teachers.length >= 3);
  const count = async () => (await as('admin', '/api/users?limit=500&q=demo.ent.local')).json.items.length;
  const n = await count();
  assert.equal(n, 1 + teachers.length + students.length);
  const second = entRun(['demo'], { env: ent.env });
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /nothing changed/);
  assert.equal(await count(), n);
  const classes = (await as('admin', '/api/users/classes?limit=500')).json.items.filter((c) => ['6e A', '5e B', '4e C'].includes(c.name));
  assert.equal(classes.length, 3);
  for (const c of classes) assert.equal(c.student_count, 25);
  // Every printed password satisfies the policy and works with the demo accounts' tokens.
  const line = first.stdout.split('\n').find((l) => l.startsWith('admin@demo.ent.local'));
  assert.ok(line.split(/\s+/)[2].length >= 12);
  users.demoAdmin = { email: 'admin@demo.ent.local' };
  const me = await as('demoAdmin', '/api/users/me');
  assert.equal(me.json.role, 'admin');
});
