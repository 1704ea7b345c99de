// External issuer mode (ENT_OIDC_ISSUER): a second `ent` process plays the issuer (as Keycloak
// would); the first checks its tokens through discovery and JWKS, and creates local users keyed
// by (iss, sub) on first sight.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, api, assertProblem } from './lib/ent.mjs';
import { b64url } from './lib/oidc.mjs';
import { until } from './lib/school.mjs';

const PW = 'Correct-Horse-Battery-9';
let issuer, app;

before(async () => {
  issuer = await startEnt();
  assert.equal(issuer.run(['user', 'add', '--email', 'ext.teacher@test.local', '--name', 'Eve Extern', '--role', 'enseignant', '--password', PW]).status, 0);
  app = await startEnt({ env: { ENT_OIDC_ISSUER: `${issuer.url}/realms/ent` } });
});
after(async () => {
  const a = await app.stop();
  const b = await issuer.stop();
  assert.equal(a.code, 0, app.stderr.slice(-3000));
  assert.equal(b.code, 0, issuer.stderr.slice(-3000));
});

const bearer = (t) => ({ Authorization: `Bearer ${t}` });

test('a token of the external issuer is accepted; the user is created locally, keyed by (iss, sub)', async () => {
  const t = issuer.run(['token', 'ext.teacher@test.local']).stdout.trim();
  const me = await api(app, '/api/auth/me', { headers: bearer(t) });
  assert.equal(me.status, 200, me.text);
  assert.deepEqual(me.json.roles, ['enseignant']);
  assert.equal(me.json.iss, `${issuer.url}/realms/ent`);
  const issuerSub = JSON.parse(Buffer.from(t.split('.')[1], 'base64url')).sub;
  const profile = await api(app, '/api/users/me', { headers: bearer(t) });
  assert.equal(profile.status, 200, profile.text);
  assert.equal(profile.json.email, 'ext.teacher@test.local');
  // The same person twice is one local user.
  const again = await api(app, '/api/users/me', { headers: bearer(issuer.run(['token', 'ext.teacher@test.local']).stdout.trim()) });
  assert.equal(again.json.id, profile.json.id);
  assert.equal(me.json.sub, profile.json.id);
  assert.ok(issuerSub, 'the issuer has its own sub');
});

test('forged tokens are refused by the relying process too', async () => {
  const t = issuer.run(['token', 'ext.teacher@test.local']).stdout.trim();
  const [, p] = t.split('.');
  assertProblem(assert, await api(app, '/api/auth/me', { headers: bearer(`${b64url(JSON.stringify({ alg: 'none' }))}.${p}.`) }), 401);
  assertProblem(assert, await api(app, '/api/auth/me', { headers: bearer(t.slice(0, -3) + 'abc') }), 401);
});

test("the portal logs in at the external issuer: /config.json names it, the pages' CSP allows its origin", async () => {
  const cfg = await api(app, '/config.json');
  assert.equal(cfg.status, 200);
  assert.equal(cfg.json.issuer, `${issuer.url}/realms/ent`);
  assert.equal(cfg.json.client_id, 'ent-portal');
  const page = await fetch(`${app.url}/portail`);
  const csp = page.headers.get('content-security-policy');
  assert.match(csp, new RegExp(`connect-src 'self' ${issuer.url.replace(/[.]/g, '\\.')}`));
  assert.match(csp, new RegExp(`form-action 'self' ${issuer.url.replace(/[.]/g, '\\.')}`));
  assert.doesNotMatch(csp, /unsafe-inline/);
  // The built-in provider's own configuration names itself.
  const own = await api(issuer, '/config.json');
  assert.equal(own.json.issuer, `${issuer.url}/realms/ent`);
  assert.doesNotMatch((await fetch(`${issuer.url}/portail`)).headers.get('content-security-policy'), /127\.0\.0\.1/);
});

test('the relying process does not act as a provider', async () => {
  assertProblem(assert, await api(app, '/realms/ent/.well-known/openid-configuration'), 404);
  assert.notEqual(app.run(['token', 'ext.teacher@test.local']).status, 0);
});

test('a key rotation at the issuer is picked up by one JWKS refetch', async () => {
  assert.equal(issuer.run(['keys', 'rotate']).status, 0);
  const t = issuer.run(['token', 'ext.teacher@test.local']).stdout.trim();
  // The new kid is refetched once the rate limit (one refetch every 10 s) allows: until then 401.
  let me;
  await until(async () => (me = await api(app, '/api/auth/me', { headers: bearer(t) })).status !== 401, 60, 500);
  assert.equal(me.status, 200, me.text);
});
