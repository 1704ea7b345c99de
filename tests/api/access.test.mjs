// The route × role table, generated from the route table itself (`ent routes`): every route that
// is not public answers 401 without a token and 403 to a role it does not list; what a route does
// not list is denied. Ownership rules (a student and another student's objects) are tested by each
// service's own suite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startEnt, api, assertProblem } from './lib/ent.mjs';

const PW = 'Correct-Horse-Battery-9';
let ent, routes;
const tokens = {};

before(async () => {
  ent = await startEnt();
  for (const [email, role] of [['e@t.local', 'etudiant'], ['p@t.local', 'enseignant'], ['a@t.local', 'admin']]) {
    assert.equal(ent.run(['user', 'add', '--email', email, '--name', 'A B', '--role', role, '--password', PW]).status, 0);
    tokens[role] = ent.run(['token', email]).stdout.trim();
  }
  const out = ent.run(['routes']);
  assert.equal(out.status, 0, out.stderr);
  routes = out.stdout.trim().split('\n').map((l) => {
    const [method, pattern, service, access] = l.split(' ');
    return { method, pattern, service, access: access.split(',') };
  });
});
after(async () => {
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
});

const concrete = (pattern) => pattern.replace(/\{[^}]+\}/g, () => randomUUID());

function call(r, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const body = ['POST', 'PUT', 'PATCH'].includes(r.method) ? {} : undefined;
  return api(ent, concrete(r.pattern), { method: r.method, headers, body });
}

test('every route states who may call it', () => {
  assert.ok(routes.length > 20);
  for (const r of routes) assert.ok(r.access.length > 0 && r.access[0] !== '', `${r.method} ${r.pattern}`);
});

test('without a token, every non-public route answers 401 problem+json', async () => {
  for (const r of routes.filter((x) => !x.access.includes('public'))) {
    const res = await call(r);
    assertProblem(assert, res, 401);
    assert.ok(res.headers.get('www-authenticate'), `${r.method} ${r.pattern}`);
    assert.deepEqual([res.json.code, res.json.title, res.json.detail],
      ['unauthenticated', 'Connexion nécessaire', "Votre session a expiré ou n'est pas valide : reconnectez-vous."], `${r.method} ${r.pattern}`);
  }
});

test('a role a route does not list gets 403; a listed role passes the role check', async () => {
  let denied = 0, allowed = 0;
  for (const r of routes.filter((x) => !x.access.includes('public'))) {
    for (const role of ['etudiant', 'enseignant', 'admin']) {
      const res = await call(r, tokens[role]);
      if (r.access.includes(role)) {
        assert.notEqual(res.status, 401, `${role} ${r.method} ${r.pattern}: ${res.text}`);
        assert.ok(res.status < 500, `${role} ${r.method} ${r.pattern}: ${res.status} ${res.text}`);
        allowed++;
      } else {
        assertProblem(assert, res, 403);
        assert.deepEqual([res.json.code, res.json.title, res.json.detail], ['forbidden', 'Accès refusé', 'Votre rôle ne permet pas cette action.'],
          `${role} ${r.method} ${r.pattern}`);
        denied++;
      }
    }
  }
  assert.ok(denied > 0 && allowed > 0);
});

test('roles come only from the verified token, never from headers', async () => {
  const admin = routes.find((r) => r.method === 'GET' && r.access.length === 1 && r.access[0] === 'admin');
  assert.ok(admin, 'an admin-only GET route exists');
  const res = await api(ent, concrete(admin.pattern), {
    headers: { Authorization: `Bearer ${tokens.etudiant}`, 'X-Roles': 'admin', 'X-Auth-Roles': 'admin', 'X-User-Role': 'admin' },
  });
  assertProblem(assert, res, 403);
});
