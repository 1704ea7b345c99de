// The built-in OIDC provider and the token guard, against the real binary: SECURITY.md's Login,
// OIDC provider and Token checks sections, one test (or more) per line.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, createHmac, createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import { startEnt, api, assertProblem, clusterProcesses, dbKind } from './lib/ent.mjs';
import { school, until, PW } from './lib/school.mjs';
import {
  b64url, pkce, cookiesOf, cookieHeader, openLogin, postLogin, tokenRequest, login, authorizeUrl, serverPrivateKey, sql,
} from './lib/oidc.mjs';

let ent, s;

before(async () => {
  ent = await startEnt();
  s = school(ent);
  s.add('eleve', 'eleve@test.local', 'Zoé Martin', 'etudiant');
  s.add('prof', 'prof@test.local', 'Paul Durand', 'enseignant');
  s.add('admin', 'admin@test.local', 'Ada Admin', 'admin');
});
after(async () => {
  const e = await ent.stop();
  assert.equal(e.code, 0, `ent must exit cleanly:\n${ent.stderr.slice(-4000)}`);
});

const bearer = (t) => ({ Authorization: `Bearer ${t}` });

describe('discovery and keys', () => {
  test('the discovery document is at Keycloak\'s path and names every endpoint', async () => {
    const r = await api(ent, '/realms/ent/.well-known/openid-configuration');
    assert.equal(r.status, 200);
    const iss = `${ent.url}/realms/ent`;
    assert.equal(r.json.issuer, iss);
    assert.equal(r.json.authorization_endpoint, `${iss}/protocol/openid-connect/auth`);
    assert.equal(r.json.token_endpoint, `${iss}/protocol/openid-connect/token`);
    assert.equal(r.json.jwks_uri, `${iss}/protocol/openid-connect/certs`);
    assert.equal(r.json.userinfo_endpoint, `${iss}/protocol/openid-connect/userinfo`);
    assert.equal(r.json.end_session_endpoint, `${iss}/protocol/openid-connect/logout`);
    assert.deepEqual(r.json.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(r.json.id_token_signing_alg_values_supported, ['RS256']);
  });

  test('/certs, /api/auth/jwks and /test-jwks publish the same RSA key set', async () => {
    const a = await api(ent, '/realms/ent/protocol/openid-connect/certs');
    const b = await api(ent, '/api/auth/jwks');
    const c = await api(ent, '/test-jwks');
    assert.equal(a.status, 200);
    assert.ok(a.json.keys.length >= 1);
    for (const k of a.json.keys) {
      assert.equal(k.kty, 'RSA');
      assert.equal(k.alg, 'RS256');
      assert.equal(k.use, 'sig');
      assert.ok(k.kid && k.n && k.e);
      assert.equal(k.d, undefined, 'no private part');
    }
    assert.deepEqual(b.json, a.json);
    assert.deepEqual(c.json, a.json);
  });
});

describe('a browser-like login', () => {
  test('authorize, login form with cookies, redirect, code exchange, userinfo, refresh, logout', async () => {
    const page = await openLogin(ent);
    assert.equal(page.res.status, 200);
    assert.match(page.res.headers.get('content-type'), /text\/html/);
    assert.match(page.html, /<html lang="fr">/);
    assert.match(page.html, /<label for="username">/);
    assert.match(page.html, /<label for="password">/);
    assert.ok(page.request && page.csrf, 'hidden request and csrf fields');
    assert.ok(!/<script/i.test(page.html), 'works without JavaScript');
    const csrfCookie = cookiesOf(page.res).lines.find((l) => l.startsWith('ENT_LOGIN_CSRF='));
    assert.match(csrfCookie, /HttpOnly/);
    assert.match(csrfCookie, /SameSite=Lax/);

    const post = await postLogin(ent, page, 'eleve@test.local', PW);
    assert.equal(post.res.status, 303, post.html);
    const loc = new URL(post.res.headers.get('location'));
    assert.equal(`${loc.origin}${loc.pathname}`, `${ent.url}/login/callback`);
    assert.equal(loc.searchParams.get('state'), page.state);
    assert.equal(loc.searchParams.get('iss'), `${ent.url}/realms/ent`);
    const session = post.setCookie.find((l) => l.startsWith('ENT_SESSION='));
    assert.match(session, /HttpOnly/);
    assert.match(session, /SameSite=Lax/);

    const t = await tokenRequest(ent, {
      grant_type: 'authorization_code', code: loc.searchParams.get('code'), redirect_uri: `${ent.url}/login/callback`,
      client_id: 'ent-portal', code_verifier: page.pk.verifier,
    });
    assert.equal(t.status, 200, JSON.stringify(t.json));
    assert.equal(t.json.token_type, 'Bearer');
    assert.equal(t.json.expires_in, 300);
    assert.ok(t.json.refresh_token && t.json.id_token && t.json.access_token);
    assert.equal(t.headers.get('cache-control'), 'no-store');

    // The access token verifies against the published JWKS with a standard JOSE library.
    const jwks = jose.createLocalJWKSet((await api(ent, '/realms/ent/protocol/openid-connect/certs')).json);
    const { payload, protectedHeader } = await jose.jwtVerify(t.json.access_token, jwks, {
      issuer: `${ent.url}/realms/ent`, audience: 'ent', algorithms: ['RS256'],
    });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.typ, 'Bearer');
    assert.equal(payload.azp, 'ent-portal');
    assert.equal(payload.exp - payload.iat, 300);
    assert.deepEqual(payload.realm_access.roles, ['etudiant']);
    assert.equal(payload.email, 'eleve@test.local');
    assert.equal(payload.given_name, 'Zoé');
    assert.equal(payload.family_name, 'Martin');
    assert.equal(payload.name, 'Zoé Martin');
    assert.ok(payload.preferred_username && payload.jti && payload.sub);
    const id = await jose.jwtVerify(t.json.id_token, jwks, { issuer: `${ent.url}/realms/ent`, audience: 'ent-portal' });
    assert.equal(id.payload.nonce, page.nonce);
    assert.equal(id.payload.typ, 'ID');

    const ui = await api(ent, '/realms/ent/protocol/openid-connect/userinfo', { headers: bearer(t.json.access_token) });
    assert.equal(ui.status, 200);
    assert.equal(ui.json.sub, payload.sub);
    assert.equal(ui.json.email, 'eleve@test.local');

    const me = await api(ent, '/api/auth/me', { headers: bearer(t.json.access_token) });
    assert.equal(me.status, 200);
    assert.deepEqual(me.json.roles, ['etudiant']);
    assert.equal(me.json.sub, payload.sub);

    // Refresh rotates; the old refresh token is then refused and its family revoked.
    const r1 = t.json.refresh_token;
    const r = await tokenRequest(ent, { grant_type: 'refresh_token', refresh_token: r1, client_id: 'ent-portal' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const r2 = r.json.refresh_token;
    assert.notEqual(r2, r1);
    const reuse = await tokenRequest(ent, { grant_type: 'refresh_token', refresh_token: r1, client_id: 'ent-portal' });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.json.error, 'invalid_grant');
    const after = await tokenRequest(ent, { grant_type: 'refresh_token', refresh_token: r2, client_id: 'ent-portal' });
    assert.equal(after.status, 400, 'reusing R1 revoked R2 too');

    // Single sign-on: with the session cookie, authorize answers with a code at once.
    const sso = await openLogin(ent, {}, { ENT_SESSION: post.cookies.ENT_SESSION });
    assert.equal(sso.res.status, 303);
    assert.ok(new URL(sso.res.headers.get('location')).searchParams.get('code'));

    // Logout ends the session: redirect only to a registered URI, cookie cleared, refresh refused.
    const l2 = await login(ent, 'eleve@test.local', PW);
    const out = await fetch(`${ent.url}/realms/ent/protocol/openid-connect/logout?` + new URLSearchParams({
      id_token_hint: l2.tokens.id_token, post_logout_redirect_uri: `${ent.url}/login`, state: 'bye',
    }), { redirect: 'manual', headers: { Cookie: cookieHeader(l2.cookies) } });
    assert.equal(out.status, 302);
    assert.equal(out.headers.get('location'), `${ent.url}/login?state=bye`);
    assert.match(cookiesOf(out).lines.find((l) => l.startsWith('ENT_SESSION=')), /Max-Age=0/);
    const dead = await tokenRequest(ent, { grant_type: 'refresh_token', refresh_token: l2.tokens.refresh_token, client_id: 'ent-portal' });
    assert.equal(dead.status, 400, 'logout ends refresh tokens');
    const noSso = await openLogin(ent, {}, { ENT_SESSION: l2.cookies.ENT_SESSION });
    assert.equal(noSso.res.status, 200, 'the ended session no longer logs in');
  });

  test('a standard OIDC client library (openid-client) logs in with PKCE, refreshes, reads userinfo, logs out', async () => {
    const config = await oidc.discovery(new URL(`${ent.url}/realms/ent`), 'ent-portal', undefined, oidc.None(),
      { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const challenge = await oidc.calculatePKCECodeChallenge(verifier);
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${ent.url}/login/callback`, scope: 'openid profile email', code_challenge: challenge,
      code_challenge_method: 'S256', state,
    });
    // The browser part: the form.
    const res = await fetch(url, { redirect: 'manual' });
    const html = await res.text();
    const page = { request: html.match(/name="request" value="([^"]*)"/)[1], csrf: html.match(/name="csrf" value="([^"]*)"/)[1], cookies: cookiesOf(res).map };
    const post = await postLogin(ent, page, 'prof@test.local', PW);
    assert.equal(post.res.status, 303);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(post.res.headers.get('location')), {
      pkceCodeVerifier: verifier, expectedState: state,
    });
    assert.ok(tokens.access_token);
    const claims = tokens.claims();
    assert.equal(claims.email, 'prof@test.local');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.email, 'prof@test.local');
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.ok(refreshed.access_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    const end = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: `${ent.url}/login` });
    const out = await fetch(end, { redirect: 'manual', headers: { Cookie: cookieHeader(post.cookies) } });
    assert.equal(out.status, 302);
    assert.equal(out.headers.get('location'), `${ent.url}/login`);
    await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token));
  });
});

describe('authorization codes', () => {
  test('a code is single-use; a second use fails and revokes what the first issued', async () => {
    const l = await login(ent, 'eleve@test.local', PW);
    const again = await tokenRequest(ent, {
      grant_type: 'authorization_code', code: l.code, redirect_uri: `${ent.url}/login/callback`, client_id: 'ent-portal',
      code_verifier: l.page.pk.verifier,
    });
    assert.equal(again.status, 400);
    assert.equal(again.json.error, 'invalid_grant');
    const r = await tokenRequest(ent, { grant_type: 'refresh_token', refresh_token: l.tokens.refresh_token, client_id: 'ent-portal' });
    assert.equal(r.status, 400, 'the first exchange\'s refresh token is revoked');
  });

  async function freshCode(user = 'eleve@test.local') {
    const page = await openLogin(ent);
    const post = await postLogin(ent, page, user, PW);
    return { code: new URL(post.res.headers.get('location')).searchParams.get('code'), page };
  }

  test('a code is bound to its redirect URI and client, and to the PKCE verifier', async () => {
    let { code, page } = await freshCode();
    let r = await tokenRequest(ent, { grant_type: 'authorization_code', code, redirect_uri: `${ent.url}/other`, client_id: 'ent-portal', code_verifier: page.pk.verifier });
    assert.equal(r.json.error, 'invalid_grant');
    ({ code, page } = await freshCode());
    r = await tokenRequest(ent, { grant_type: 'authorization_code', code, redirect_uri: `${ent.url}/login/callback`, client_id: 'ent-portal', code_verifier: pkce().verifier });
    assert.equal(r.json.error, 'invalid_grant', 'wrong verifier');
    ({ code, page } = await freshCode());
    r = await tokenRequest(ent, { grant_type: 'authorization_code', code, redirect_uri: `${ent.url}/login/callback`, client_id: 'ent-portal' });
    assert.equal(r.json.error, 'invalid_grant', 'missing verifier');
    ({ code, page } = await freshCode());
    const other = ent.run(['client', 'add', '--id', 'other-app', '--redirect', `${ent.url}/login/callback`]);
    assert.equal(other.status, 0, other.stderr);
    r = await tokenRequest(ent, { grant_type: 'authorization_code', code, redirect_uri: `${ent.url}/login/callback`, client_id: 'other-app', code_verifier: page.pk.verifier });
    assert.equal(r.json.error, 'invalid_grant', 'another client');
  });

  test('PKCE S256 is required for public clients; plain is refused', async () => {
    const base = { client_id: 'ent-portal', redirect_uri: `${ent.url}/login/callback`, response_type: 'code', state: 's' };
    let res = await fetch(authorizeUrl(ent, base), { redirect: 'manual' });
    assert.equal(res.status, 302);
    let loc = new URL(res.headers.get('location'));
    assert.equal(loc.searchParams.get('error'), 'invalid_request');
    res = await fetch(authorizeUrl(ent, { ...base, code_challenge: pkce().verifier.slice(0, 43), code_challenge_method: 'plain' }), { redirect: 'manual' });
    loc = new URL(res.headers.get('location'));
    assert.equal(loc.searchParams.get('error'), 'invalid_request');
  });

  test('a verifier without a challenge fails (confidential client without PKCE)', async () => {
    const add = ent.run(['client', 'add', '--id', 'conf-app', '--redirect', `${ent.url}/cb`, '--confidential']);
    assert.equal(add.status, 0, add.stderr);
    const secret = add.stdout.match(/secret \(shown once\): (\S+)/)[1];
    const res = await fetch(authorizeUrl(ent, { client_id: 'conf-app', redirect_uri: `${ent.url}/cb`, response_type: 'code', scope: 'openid' }), { redirect: 'manual' });
    const html = await res.text();
    const page = { request: html.match(/name="request" value="([^"]*)"/)[1], csrf: html.match(/name="csrf" value="([^"]*)"/)[1], cookies: cookiesOf(res).map };
    const post = await postLogin(ent, page, 'eleve@test.local', PW);
    const code = new URL(post.res.headers.get('location')).searchParams.get('code');
    const r = await tokenRequest(ent, { grant_type: 'authorization_code', code, redirect_uri: `${ent.url}/cb`, code_verifier: pkce().verifier },
      { Authorization: 'Basic ' + Buffer.from(`conf-app:${secret}`).toString('base64') });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_grant');
  });
});

describe('lifetimes', () => {
  test('a code older than 60 seconds is refused', async () => {
    const page = await openLogin(ent);
    const post = await postLogin(ent, page, 'eleve@test.local', PW);
    const code = new URL(post.res.headers.get('location')).searchParams.get('code');
    // Age every unused code by 61 s instead of sleeping.
    sql(ent, 'UPDATE auth_codes SET expires_at = expires_at - 61 WHERE used_at IS NULL');
    const r = await tokenRequest(ent, { grant_type: 'authorization_code', code, redirect_uri: `${ent.url}/login/callback`, client_id: 'ent-portal', code_verifier: page.pk.verifier });
    assert.equal(r.status, 400);
    assert.equal(r.json.error_description, "Le code d'autorisation a expiré.");
    assert.equal(r.json.detail, r.json.error_description);
  });

  test('refresh has an absolute lifetime, even when used within its idle lifetime', async () => {
    const l = await login(ent, 'eleve@test.local', PW);
    const r1 = await tokenRequest(ent, { grant_type: 'refresh_token', refresh_token: l.tokens.refresh_token, client_id: 'ent-portal' });
    assert.equal(r1.status, 200);
    assert.ok(r1.json.refresh_expires_in <= 1800);
    // Move the family's absolute end into the past: its live token stops working.
    sql(ent, `UPDATE auth_refresh SET absolute_expires_at = ${Math.floor(Date.now() / 1000) - 1} WHERE revoked_at IS NULL AND used_at IS NULL`);
    const r2 = await tokenRequest(ent, { grant_type: 'refresh_token', refresh_token: r1.json.refresh_token, client_id: 'ent-portal' });
    assert.equal(r2.status, 400);
  });

  test('the session cookie is Secure when the public URL is https', async () => {
    const tls = await startEnt({ env: { ENT_PUBLIC_URL: 'https://ent.example' } });
    try {
      assert.equal(tls.run(['user', 'add', '--email', 's@t.local', '--name', 'S T', '--role', 'etudiant', '--password', PW]).status, 0);
      const pk = pkce();
      const res = await fetch(`${tls.url}/realms/ent/protocol/openid-connect/auth?` + new URLSearchParams({
        client_id: 'ent-portal', redirect_uri: 'https://ent.example/login/callback', response_type: 'code',
        code_challenge: pk.challenge, code_challenge_method: 'S256' }), { redirect: 'manual' });
      const html = await res.text();
      const page = { request: html.match(/name="request" value="([^"]*)"/)[1], csrf: html.match(/name="csrf" value="([^"]*)"/)[1], cookies: cookiesOf(res).map };
      const post = await postLogin(tls, page, 's@t.local', PW);
      assert.equal(post.res.status, 303);
      const line = post.setCookie.find((l) => l.startsWith('ENT_SESSION='));
      assert.match(line, /; Secure/);
      assert.match(line, /HttpOnly/);
      assert.ok(post.res.headers.get('strict-transport-security'));
    } finally {
      await tls.stop();
    }
  });
});

describe('redirect URIs', () => {
  const bad = (url) => [
    `${url}/login/callback/extra`, `${url}/login/callback/..;/x`, `${url}/login/callback?x=1`, 'https://ent@evil.example/login/callback',
    'https://ent.evil.example/login/callback', 'javascript:alert(1)', 'data:text/html,hi', `${url.toUpperCase()}/login/callback`,
  ];
  test('anything but an exact registered URI is refused without redirecting', async () => {
    for (const uri of bad(ent.url)) {
      const p = pkce();
      const res = await fetch(authorizeUrl(ent, {
        client_id: 'ent-portal', redirect_uri: uri, response_type: 'code', code_challenge: p.challenge, code_challenge_method: 'S256',
      }), { redirect: 'manual' });
      assert.equal(res.status, 400, uri);
      assert.equal(res.headers.get('location'), null, uri);
      await res.text();
    }
  });

  test('an unknown client is refused without redirecting', async () => {
    const res = await fetch(authorizeUrl(ent, { client_id: 'nope', redirect_uri: `${ent.url}/login/callback`, response_type: 'code' }), { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
  });

  test('logout refuses an unregistered post_logout_redirect_uri', async () => {
    const res = await fetch(`${ent.url}/realms/ent/protocol/openid-connect/logout?client_id=ent-portal&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F`, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
  });
});

describe('login form', () => {
  test('CSRF: a post without the cookie, or with another token, is refused', async () => {
    const page = await openLogin(ent);
    const noCookie = await postLogin(ent, { ...page, cookies: {} }, 'eleve@test.local', PW);
    assert.equal(noCookie.res.status, 403);
    const other = await postLogin(ent, page, 'eleve@test.local', PW, { csrf: 'a'.repeat(64) });
    assert.equal(other.res.status, 403);
    assert.equal(other.res.headers.get('location'), null);
  });

  test('a new session id at each login', async () => {
    const a = await login(ent, 'prof@test.local', PW);
    const page = await openLogin(ent, { prompt: 'login' }, { ENT_SESSION: a.cookies.ENT_SESSION });
    assert.equal(page.res.status, 200);
    const post = await postLogin(ent, page, 'prof@test.local', PW);
    assert.equal(post.res.status, 303);
    assert.notEqual(post.cookies.ENT_SESSION, a.cookies.ENT_SESSION);
  });

  test('"unknown user" and "wrong password" answer the same', async () => {
    const page = await openLogin(ent);
    const unknown = await postLogin(ent, page, 'nobody@test.local', 'Wrong-Password-123');
    const wrong = await postLogin(ent, page, 'admin@test.local', 'Wrong-Password-123');
    assert.equal(unknown.res.status, wrong.res.status);
    const msg = (h) => h.match(/role="alert"[^>]*>([^<]*)</)[1];
    assert.equal(msg(unknown.html), msg(wrong.html));
    assert.match(msg(wrong.html), /Identifiant ou mot de passe incorrect/);
  });

  test('after 30 wrong passwords the right one is refused for a while (429 with Retry-After)', async () => {
    s.add('victim', 'victim@test.local', 'Test User', 'etudiant');
    const page = await openLogin(ent);
    const results = await Promise.all(Array.from({ length: 30 }, () => postLogin(ent, page, 'victim@test.local', 'Not-The-Password-1')));
    assert.ok(results.some((r) => r.res.status === 429), 'some attempts were throttled');
    const right = await postLogin(ent, page, 'victim@test.local', PW);
    assert.equal(right.res.status, 429);
    assert.ok(Number(right.res.headers.get('retry-after')) > 0);
    assert.equal(right.res.headers.get('location'), null);
  });
});

describe('other grants', () => {
  test('the password grant is off unless the client enables it', async () => {
    let r = await tokenRequest(ent, { grant_type: 'password', client_id: 'ent-portal', username: 'eleve@test.local', password: PW });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'unauthorized_client');
    assert.equal(ent.run(['client', 'add', '--id', 'cli', '--direct-grant']).status, 0);
    r = await tokenRequest(ent, { grant_type: 'password', client_id: 'cli', username: 'eleve@test.local', password: PW });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    r = await tokenRequest(ent, { grant_type: 'password', client_id: 'cli', username: 'eleve@test.local', password: 'nope-nope-nope' });
    assert.equal(r.status, 400);
  });

  test('client_credentials for a confidential client; refused for public clients and bad secrets', async () => {
    const add = ent.run(['client', 'add', '--id', 'svc', '--confidential', '--service-roles', 'enseignant']);
    const secret = add.stdout.match(/secret \(shown once\): (\S+)/)[1];
    let r = await tokenRequest(ent, { grant_type: 'client_credentials', client_id: 'svc', client_secret: secret });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.refresh_token, undefined);
    const me = await api(ent, '/api/auth/me', { headers: bearer(r.json.access_token) });
    assert.equal(me.status, 200);
    assert.ok(me.json.roles.includes('service'));
    r = await tokenRequest(ent, { grant_type: 'client_credentials', client_id: 'svc', client_secret: 'wrong' });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
    r = await tokenRequest(ent, { grant_type: 'client_credentials', client_id: 'ent-portal' });
    assert.equal(r.status, 400);
  });
});

describe('token checks', () => {
  let good;
  before(async () => { good = (await login(ent, 'eleve@test.local', PW)).tokens; });

  const sign = (header, payload, key) => {
    const h = b64url(JSON.stringify(header));
    const p = b64url(JSON.stringify(payload));
    const s = createSign('RSA-SHA256').update(`${h}.${p}`).sign(key);
    return `${h}.${p}.${b64url(s)}`;
  };

  async function expect401(token, what) {
    for (const path of ['/api/auth/validate', '/api/auth/me', '/api/users/me']) {
      const r = await api(ent, path, { headers: bearer(token) });
      assertProblem(assert, r, 401);
      assert.ok(r.headers.get('www-authenticate'), `${what} on ${path}`);
    }
  }

  test('a good token is accepted by /api/auth/validate with its claims and gateway headers', async () => {
    const r = await api(ent, '/api/auth/validate', { headers: bearer(good.access_token) });
    assert.equal(r.status, 200);
    assert.equal(r.json.active, true);
    assert.deepEqual(r.json.roles, ['etudiant']);
    assert.equal(r.json.claims.email, 'eleve@test.local');
    assert.equal(r.headers.get('x-auth-roles'), 'etudiant');
    assert.equal(r.headers.get('x-auth-user'), r.json.user_id);
    const p = await api(ent, '/api/auth/validate', { method: 'POST', headers: bearer(good.access_token) });
    assert.equal(p.status, 200);
  });

  test('no token, alg none, HS256 with the public key, bad signature, changed payload, 2 or 4 segments → 401', async () => {
    await expect401(undefined, 'no token');
    const [h, p, s] = good.access_token.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url'));
    await expect401(`${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${p}.`, 'alg none');
    const jwks = (await api(ent, '/realms/ent/protocol/openid-connect/certs')).json;
    const pubPem = createPublicKey({ key: jwks.keys[0], format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const hh = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: jwks.keys[0].kid }));
    const mac = createHmac('sha256', pubPem).update(`${hh}.${p}`).digest();
    await expect401(`${hh}.${p}.${b64url(mac)}`, 'HS256 confusion');
    await expect401(`${h}.${p}.${s.slice(0, -4)}AAAA`, 'bad signature');
    const changed = b64url(JSON.stringify({ ...payload, realm_access: { roles: ['admin'] } }));
    await expect401(`${h}.${changed}.${s}`, 'changed payload');
    await expect401(`${h}.${p}`, '2 segments');
    await expect401(`${h}.${p}.${s}.${s}`, '4 segments');
    await expect401(`${good.access_token}x`, 'trailing garbage');
  });

  test('expired, future nbf, wrong iss, foreign or missing aud, ID or refresh token as bearer → 401', async () => {
    const { pem, kid } = serverPrivateKey(ent);
    const key = createPrivateKey(pem);
    const base = JSON.parse(Buffer.from(good.access_token.split('.')[1], 'base64url'));
    const now = Math.floor(Date.now() / 1000);
    const hdr = { alg: 'RS256', typ: 'JWT', kid };
    // Sanity: our forging is right, a faithful copy is accepted.
    assert.equal((await api(ent, '/api/auth/me', { headers: bearer(sign(hdr, { ...base, jti: 'copy' }, key)) })).status, 200);
    await expect401(sign(hdr, { ...base, exp: now - 120 }, key), 'expired');
    const noExp = { ...base };
    delete noExp.exp;
    await expect401(sign(hdr, noExp, key), 'missing exp');
    await expect401(sign(hdr, { ...base, nbf: now + 600 }, key), 'future nbf');
    await expect401(sign(hdr, { ...base, iss: 'https://evil.example/realms/ent' }, key), 'wrong iss');
    await expect401(sign(hdr, { ...base, aud: ['someone-else'] }, key), 'foreign aud');
    const noAud = { ...base, azp: 'someone' };
    delete noAud.aud;
    await expect401(sign(hdr, noAud, key), 'missing aud');
    await expect401(good.id_token, 'ID token as bearer');
    await expect401(sign(hdr, { ...base, typ: 'Refresh' }, key), 'refresh typ');
    await expect401(good.refresh_token, 'opaque refresh token');
  });

  // A verified token is kept by the guard and found again by its bytes (by its SHA-256 when longer
  // than 2 KiB): only that very token matches, whatever one byte of a copy differs in.
  test('a token verified and kept matches only itself: a copy one byte off, short or long, → 401', async () => {
    const ok = async (t) => assert.equal((await api(ent, '/api/auth/me', { headers: bearer(t) })).status, 200);
    const flip = (t, i) => t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1);
    const { pem, kid } = serverPrivateKey(ent);
    const key = createPrivateKey(pem);
    const base = JSON.parse(Buffer.from(good.access_token.split('.')[1], 'base64url'));
    const long = sign({ alg: 'RS256', typ: 'JWT', kid }, { ...base, jti: 'long', pad: 'x'.repeat(3000) }, key);
    assert.ok(long.length > 4096);
    for (const t of [good.access_token, long]) {
      await ok(t);
      await ok(t); // the second is served from the guard's cache
      const sig = t.lastIndexOf('.') + 1;
      await expect401(flip(t, sig + 10), 'signature one byte off');
      await expect401(flip(t, t.indexOf('.') + 5), 'payload one byte off');
      await expect401(t.slice(0, -1), 'one byte short');
      await ok(t);
    }
  });

  test('kid is only a lookup key: unknown, traversal, quotes, 10 KB → 401; jku/x5u/jwk headers ignored', async () => {
    const base = JSON.parse(Buffer.from(good.access_token.split('.')[1], 'base64url'));
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expect401(sign({ alg: 'RS256', kid: 'unknown-kid' }, base, privateKey), 'unknown kid');
    await expect401(sign({ alg: 'RS256', kid: '../../dev/null' }, base, privateKey), 'traversal kid');
    await expect401(sign({ alg: 'RS256', kid: "x' OR '1'='1\"" }, base, privateKey), 'quotes kid');
    await expect401(sign({ alg: 'RS256', kid: 'k'.repeat(10240) }, base, privateKey), '10 KB kid');
    const jwk = publicKey.export({ format: 'jwk' });
    await expect401(sign({ alg: 'RS256', jwk: { ...jwk, kid: 'mine' }, kid: 'mine' }, base, privateKey), 'embedded jwk');
    await expect401(sign({ alg: 'RS256', jku: 'http://127.0.0.1:1/jwks', kid: 'mine' }, base, privateKey), 'jku');
    await expect401(sign({ alg: 'RS256', x5u: 'http://127.0.0.1:1/x5u', kid: 'mine' }, base, privateKey), 'x5u');
  });

  test('tokens in the URL are not accepted', async () => {
    const r = await api(ent, `/api/auth/me?access_token=${good.access_token}`);
    assertProblem(assert, r, 401);
    assert.ok(!ent.stderr.includes(good.access_token), 'tokens never in logs');
  });
});

describe('accounts that may not log in', () => {
  test('a disabled account gets no token by any route (login, refresh, password grant)', async () => {
    s.add('gone', 'gone@test.local', 'Test User', 'etudiant');
    const l = await login(ent, 'gone@test.local', PW);
    const admin = ent.run(['token', 'admin@test.local']).stdout.trim();
    const sub = JSON.parse(Buffer.from(l.tokens.access_token.split('.')[1], 'base64url')).sub;
    const d = await api(ent, `/api/users/${sub}`, { method: 'PATCH', headers: bearer(admin), body: { disabled: true } });
    assert.equal(d.status, 200, d.text);
    const r = await tokenRequest(ent, { grant_type: 'refresh_token', refresh_token: l.tokens.refresh_token, client_id: 'ent-portal' });
    assert.equal(r.status, 400);
    assertProblem(assert, await api(ent, '/api/auth/me', { headers: bearer(l.tokens.access_token) }), 401);
    const page = await openLogin(ent);
    const post = await postLogin(ent, page, 'gone@test.local', PW);
    assert.notEqual(post.res.status, 303);
    assert.equal(post.res.headers.get('location'), null);
    assert.equal(ent.run(['client', 'add', '--id', 'cli2', '--direct-grant']).status, 0);
    const pg = await tokenRequest(ent, { grant_type: 'password', client_id: 'cli2', username: 'gone@test.local', password: PW });
    assert.notEqual(pg.status, 200);
    const sso = await openLogin(ent, {}, { ENT_SESSION: l.cookies.ENT_SESSION });
    assert.equal(sso.res.status, 200, 'its session no longer logs in');
  });

  test('a password change ends refresh tokens', async () => {
    s.add('changer', 'changer@test.local', 'Test User', 'etudiant');
    const l = await login(ent, 'changer@test.local', PW);
    const ch = await api(ent, '/api/users/me/password', {
      method: 'POST', headers: bearer(l.tokens.access_token), body: { current_password: PW, new_password: 'Another-Long-Password-7' },
    });
    assert.equal(ch.status, 204, ch.text);
    const r = await tokenRequest(ent, { grant_type: 'refresh_token', refresh_token: l.tokens.refresh_token, client_id: 'ent-portal' });
    assert.equal(r.status, 400);
  });
});

describe('operator tools', () => {
  test('ent token EMAIL prints a valid 5-minute access token', async () => {
    const r = ent.run(['token', 'prof@test.local']);
    assert.equal(r.status, 0, r.stderr);
    const t = r.stdout.trim();
    const me = await api(ent, '/api/auth/me', { headers: bearer(t) });
    assert.equal(me.status, 200);
    assert.deepEqual(me.json.roles, ['enseignant']);
    const p = JSON.parse(Buffer.from(t.split('.')[1], 'base64url'));
    assert.equal(p.exp - p.iat, 300);
    assert.notEqual(ent.run(['token', 'nobody@test.local']).status, 0);
  });

  test('ent token --ttl S EMAIL... prints one token per user, valid S seconds; bad --ttl is refused', async () => {
    const r = ent.run(['token', '--ttl', '3600', 'prof@test.local', 'admin@test.local']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    const roles = [];
    for (const t of lines) {
      const p = JSON.parse(Buffer.from(t.split('.')[1], 'base64url'));
      assert.equal(p.exp - p.iat, 3600);
      roles.push((await api(ent, '/api/auth/me', { headers: bearer(t) })).json.roles[0]);
    }
    assert.deepEqual(roles, ['enseignant', 'admin']);
    for (const bad of ['59', '3601', '86400', 'x']) { // capped at an hour (the hardening issue)
      const b = ent.run(['token', '--ttl', bad, 'prof@test.local']);
      assert.equal(b.status, 2);
      assert.match(b.stderr, /--ttl/);
    }
  });

  test('ent keys rotate: every process publishes the new key at once; old and new tokens both verify', async () => {
    // The processes that publish keys: the cluster's that run the auth service, else the server.
    const kids = async (proc) => {
      const r = await api(proc, '/test-jwks');
      return r.status === 404 ? null : r.json.keys.map((k) => k.kid); // 404: no auth service (split layout)
    };
    const publishers = [];
    for (const p of ent.external ? clusterProcesses() : [ent]) if ((await kids(p)) !== null) publishers.push(p);
    assert.ok(publishers.length >= 1);
    const oldToken = ent.run(['token', 'prof@test.local']).stdout.trim();
    let refresh = (await login(ent, 'prof@test.local', PW)).tokens.refresh_token;
    // Each has just reread its keys if they were due (a JWKS read rereads them when a minute old on
    // PostgreSQL): without the rotation's wake-up it would publish the old set until its next reread.
    for (const p of publishers) await kids(p);
    const before = await kids(ent);
    const t = Date.now();
    const r = ent.run(['keys', 'rotate']);
    const rotateMs = Date.now() - t;
    assert.equal(r.status, 0, r.stderr);
    const newKid = /new signing key (\S+);/.exec(r.stdout)[1];
    assert.ok(!before.includes(newKid));
    // On PostgreSQL the rotation wakes every process up (NOTIFY ent_wake after its commit): each
    // publishes the new key within a wake-up's time, waited for at most 1.5 s here. On SQLite (one
    // process; `ent keys rotate` is another process that cannot wake it) its reread every 5 s does.
    const pg = dbKind(ent) === 'postgresql';
    const everywhere = await until(async () => {
      for (const p of publishers) if (!(await kids(p)).includes(newKid)) return false;
      return true;
    }, pg ? 30 : 200, 50);
    assert.ok(everywhere, `the new key published by every process (${publishers.length}) ${pg ? 'at once' : 'within 10 s'}` +
      ` (the rotation took ${rotateMs} ms)`);
    const newToken = ent.run(['token', 'prof@test.local']).stdout.trim();
    assert.equal(JSON.parse(Buffer.from(newToken.split('.')[0], 'base64url')).kid, newKid);
    // Each signs the tokens it issues with the new key (a refresh at each), accepts them, and still
    // accepts those of the old one.
    for (const p of publishers) {
      const t = await tokenRequest(p, { grant_type: 'refresh_token', refresh_token: refresh, client_id: 'ent-portal' });
      assert.equal(t.status, 200, JSON.stringify(t.json));
      assert.equal(JSON.parse(Buffer.from(t.json.access_token.split('.')[0], 'base64url')).kid, newKid, `${p.url} signs with the new key`);
      refresh = t.json.refresh_token;
      assert.equal((await api(p, '/api/auth/me', { headers: bearer(newToken) })).status, 200, `new kid accepted by ${p.url}`);
      assert.equal((await api(p, '/api/auth/me', { headers: bearer(oldToken) })).status, 200, `old key still valid at ${p.url}`);
    }
    const after = await kids(ent);
    for (const k of before) assert.ok(after.includes(k), 'old key still published');
    assert.ok(after.includes(newKid));
  });
});
