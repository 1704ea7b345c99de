// Helpers to drive the built-in OIDC provider like a browser would: authorize, read the login
// form, post it with its cookies, follow the redirect, exchange the code.
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const b64url = (buf) => Buffer.from(buf).toString('base64url');

export function pkce() {
  const verifier = b64url(randomBytes(48));
  const challenge = b64url(createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

/** Cookies from Set-Cookie headers, as a name -> value map (and the raw lines). */
export function cookiesOf(res) {
  const lines = res.headers.getSetCookie ? res.headers.getSetCookie() : [];
  const map = {};
  for (const l of lines) {
    const [pair] = l.split(';');
    const i = pair.indexOf('=');
    map[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return { map, lines };
}

export const cookieHeader = (map) => Object.entries(map).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join('; ');

export function hidden(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  return m ? m[1] : null;
}

export function authorizeUrl(ent, params) {
  const u = new URL(ent.url + '/realms/ent/protocol/openid-connect/auth');
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u.toString();
}

/** Opens the login page for ent-portal with PKCE. Returns {res, html, cookies, request, csrf, pk, state, nonce}. */
export async function openLogin(ent, extra = {}, jar = {}) {
  const pk = pkce();
  const state = b64url(randomBytes(8));
  const nonce = b64url(randomBytes(8));
  const res = await fetch(authorizeUrl(ent, {
    client_id: 'ent-portal', redirect_uri: `${ent.url}/login/callback`, response_type: 'code', scope: 'openid profile email',
    state, nonce, code_challenge: pk.challenge, code_challenge_method: 'S256', ...extra,
  }), { redirect: 'manual', headers: { Cookie: cookieHeader(jar) } });
  const html = await res.text();
  const cookies = { ...jar, ...cookiesOf(res).map };
  return { res, html, cookies, request: hidden(html, 'request'), csrf: hidden(html, 'csrf'), pk, state, nonce };
}

export async function postLogin(ent, page, username, password, overrides = {}) {
  const body = new URLSearchParams({ request: page.request, csrf: page.csrf, username, password, ...overrides });
  const res = await fetch(ent.url + '/realms/ent/login-actions/authenticate', {
    method: 'POST', redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookieHeader(page.cookies) },
    body,
  });
  const html = await res.text();
  return { res, html, cookies: { ...page.cookies, ...cookiesOf(res).map }, setCookie: cookiesOf(res).lines };
}

export async function tokenRequest(ent, params, headers = {}) {
  const res = await fetch(ent.url + '/realms/ent/protocol/openid-connect/token', {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(params),
  });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

/** The whole login: returns {tokens, cookies, code} for a user of the portal client. */
export async function login(ent, username, password) {
  const page = await openLogin(ent);
  const post = await postLogin(ent, page, username, password);
  if (post.res.status !== 303) throw new Error(`login failed: ${post.res.status} ${post.html.slice(0, 300)}`);
  const loc = new URL(post.res.headers.get('location'));
  const code = loc.searchParams.get('code');
  const t = await tokenRequest(ent, {
    grant_type: 'authorization_code', code, redirect_uri: `${ent.url}/login/callback`, client_id: 'ent-portal',
    code_verifier: page.pk.verifier,
  });
  if (t.status !== 200) throw new Error(`code exchange failed: ${JSON.stringify(t.json)}`);
  return { tokens: t.json, cookies: post.cookies, code, page, location: loc };
}

/** The server's current private signing key (PEM), read from its database, to forge test tokens. */
export function serverPrivateKey(ent) {
  const sql = "SELECT private_pem FROM auth_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1";
  const db = ent.env.ENT_DB || `sqlite:${join(ent.dataDir, 'ent.db')}`;
  const r = db.startsWith('sqlite:')
    ? spawnSync('sqlite3', [db.slice(7), sql], { encoding: 'utf8' })
    : spawnSync('psql', [db, '-qAtc', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const kidSql = sql.replace('private_pem', 'kid');
  const k = db.startsWith('sqlite:')
    ? spawnSync('sqlite3', [db.slice(7), kidSql], { encoding: 'utf8' })
    : spawnSync('psql', [db, '-qAtc', kidSql], { encoding: 'utf8' });
  return { pem: r.stdout.trim(), kid: k.stdout.trim() };
}

/** Runs one SQL statement on the server's database (tests only: to move clocks, not to cheat checks). */
export function sql(ent, statement) {
  const db = ent.env.ENT_DB || `sqlite:${join(ent.dataDir, 'ent.db')}`;
  const r = db.startsWith('sqlite:')
    ? spawnSync('sqlite3', ['-cmd', '.timeout 5000', db.slice(7), statement], { encoding: 'utf8' })
    : spawnSync('psql', [db, '-qAtc', statement], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}
