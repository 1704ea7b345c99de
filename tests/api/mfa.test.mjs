// Multi-factor login for staff (the hardening issue, item 9), through the built-in provider's pages
// as a browser would: an administrator must enrol a TOTP application at their first login (QR
// code and key shown, a first code confirms it, ten recovery codes shown once) and can never log
// in again without a code; codes are not accepted twice; recovery codes work once; wrong codes are
// limited; the password grant refuses such accounts; teachers are asked only when the school
// requires it (ENT_MFA_TEACHERS).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startEnt } from './lib/ent.mjs';
import { openLogin, cookieHeader, tokenRequest } from './lib/oidc.mjs';

const PW = 'Correct-Horse-Battery-9';
let ent;

before(async () => {
  ent = await startEnt();
  for (const [email, role] of [['chef@mfa.test', 'admin'], ['prof@mfa.test', 'enseignant'], ['chef2@mfa.test', 'admin']]) {
    const r = ent.run(['user', 'add', '--email', email, '--name', 'Test User', '--role', role, '--password', PW]);
    assert.equal(r.status, 0, r.stderr);
  }
});
after(async () => {
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
});

/** RFC 6238 with SHA-1, 6 digits, 30 s steps, from a base32 key. */
function totp(b32, ms = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of b32.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const h = createHmac('sha1', key).update(msg).digest();
  const o = h[19] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

async function post(path, page, fields) {
  const res = await fetch(ent.url + path, {
    method: 'POST', redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookieHeader(page.cookies) },
    body: new URLSearchParams({ request: page.request, csrf: page.csrf, ...fields }),
  });
  return { status: res.status, html: await res.text(), location: res.headers.get('location'), setCookie: res.headers.get('set-cookie') || '' };
}
const password = (page, username) => post('/realms/ent/login-actions/authenticate', page, { username, password: PW });
const otp = (page, fields) => post('/realms/ent/login-actions/otp', page, fields);

/** The code of a final 303, exchanged for tokens. */
async function exchange(page, location) {
  const code = new URL(location).searchParams.get('code');
  const t = await tokenRequest(ent, { grant_type: 'authorization_code', code, redirect_uri: `${ent.url}/login/callback`, client_id: 'ent-portal', code_verifier: page.pk.verifier });
  assert.equal(t.status, 200, JSON.stringify(t.json));
  return t.json;
}

let secret, firstCode, recovery;

test('an administrator enrols at first login: QR code, key, a first code, recovery codes shown once', async () => {
  const page = await openLogin(ent);
  const r = await password(page, 'chef@mfa.test');
  assert.equal(r.status, 200);
  assert.match(r.html, /<svg[^>]*aria-label="QR code/);
  assert.ok(!/ENT_SESSION=[^;]/.test(r.setCookie), 'a session before the second factor');
  secret = r.html.match(/<code id="secret">([A-Z2-7= ]+)<\/code>/)[1].replace(/ /g, '');
  assert.ok(secret.length >= 32);
  // A wrong code does not enrol.
  const wrong = await otp(page, { code: totp(secret) === '000000' ? '111111' : '000000' });
  assert.equal(wrong.status, 200);
  assert.match(wrong.html, /Code incorrect/);
  firstCode = totp(secret);
  const ok = await otp(page, { code: firstCode });
  assert.equal(ok.status, 200, ok.html);
  recovery = [...ok.html.matchAll(/<li><code>([a-z2-9]{4}-[a-z2-9]{4})<\/code><\/li>/g)].map((m) => m[1]);
  assert.equal(recovery.length, 10);
  assert.equal(new Set(recovery).size, 10);
  const done = await otp(page, { action: 'continue' });
  assert.equal(done.status, 303, done.html);
  const tokens = await exchange(page, done.location);
  assert.ok(tokens.access_token);
});

test('then every login needs a code: no session, no token with the password alone', async () => {
  const page = await openLogin(ent);
  const r = await password(page, 'chef@mfa.test');
  assert.equal(r.status, 200);
  assert.match(r.html, /Vérification en deux étapes/);
  assert.ok(!r.html.includes('id="secret"'), 'the key is never shown again');
  assert.ok(!/ENT_SESSION=[^;]/.test(r.setCookie));
  // "continue" without a code gets nothing.
  assert.equal((await otp(page, { action: 'continue' })).status, 400);
  // The code already used at enrolment is never accepted again.
  const replay = await otp(page, { code: firstCode });
  assert.equal(replay.status, 200);
  assert.match(replay.html, /Code incorrect/);
  // A recovery code works, once.
  const rc = await otp(page, { code: recovery[0].toUpperCase() });
  assert.equal(rc.status, 303, rc.html);
  await exchange(page, rc.location);
  const page2 = await openLogin(ent);
  await password(page2, 'chef@mfa.test');
  const again = await otp(page2, { code: recovery[0] });
  assert.match(again.html, /Code incorrect/);
  assert.equal((await otp(page2, { code: recovery[1] })).status, 303);
});

test('wrong codes are limited: the fifth locks the second step with Retry-After', async () => {
  const page = await openLogin(ent);
  await password(page, 'chef2@mfa.test'); // enrol chef2 (its own counter)
  const page1 = await openLogin(ent);
  const enrol = await password(page1, 'chef2@mfa.test');
  const key = enrol.html.match(/<code id="secret">([A-Z2-7= ]+)<\/code>/)[1].replace(/ /g, '');
  assert.equal((await otp(page1, { code: totp(key) })).status, 200);
  assert.equal((await otp(page1, { action: 'continue' })).status, 303);
  const p = await openLogin(ent);
  await password(p, 'chef2@mfa.test');
  const bad = totp(key) === '123456' ? '654321' : '123456';
  const statuses = [];
  for (let i = 0; i < 5; i++) statuses.push((await otp(p, { code: bad })).status);
  assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
  const locked = await otp(p, { code: totp(key, Date.now() + 30000) });
  assert.equal(locked.status, 429, 'even a right code waits for the lock to end');
  assert.match(locked.html, /Réessayez dans \d+ secondes/);
});

test('the password grant refuses accounts with a second factor; teachers are asked only when required', async () => {
  const r = ent.run(['client', 'add', '--id', 'scripts', '--redirect', 'http://127.0.0.1/cb', '--confidential', '--direct-grant']);
  assert.equal(r.status, 0, r.stderr);
  const secretLine = r.stdout.match(/secret \(shown once\): (\S+)/);
  assert.ok(secretLine, r.stdout);
  const grant = (username) => tokenRequest(ent, { grant_type: 'password', username, password: PW, client_id: 'scripts', client_secret: secretLine[1] });
  const admin = await grant('chef@mfa.test');
  assert.equal(admin.status, 400);
  assert.equal(admin.json.error, 'invalid_grant');
  assert.equal((await grant('prof@mfa.test')).status, 200, 'a teacher without a second factor (optional by default)');
  const page = await openLogin(ent);
  assert.equal((await password(page, 'prof@mfa.test')).status, 303);
});

test('ENT_MFA_TEACHERS=required makes teachers enrol too', async () => {
  const other = await startEnt({ env: { ENT_MFA_TEACHERS: 'required' } });
  try {
    assert.equal(other.run(['user', 'add', '--email', 't@mfa.test', '--name', 'T T', '--role', 'enseignant', '--password', PW]).status, 0);
    const saved = ent;
    ent = other;
    try {
      const page = await openLogin(ent);
      const r = await password(page, 't@mfa.test');
      assert.equal(r.status, 200);
      assert.match(r.html, /<code id="secret">/);
    } finally {
      ent = saved;
    }
  } finally {
    const e = await other.stop();
    assert.equal(e.code, 0, other.stderr.slice(-3000));
  }
});
