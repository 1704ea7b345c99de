// A school for API tests: people, tokens and calls as one of them, against one started `ent`.
// Replaces the addUser/token/as/ok/until helpers each test file used to write for itself.
//
//   const s = school(ent);
//   s.add('teacher', 'prof@x.test', 'Paul Prof', 'enseignant');
//   const r = await s.as('teacher', '/api/cours', { method: 'POST', body: {...} });
//   const course = await s.ok(r, 201);
import assert from 'node:assert/strict';
import { api, entRun } from './ent.mjs';

export const PW = 'Correct-Horse-Battery-9';
export const NIL = '00000000-0000-4000-8000-000000000000';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value (at most `tries` times, `every` ms apart); null if never. */
export async function until(fn, tries = 60, every = 500) {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v) return v;
    await sleep(every);
  }
  return null;
}

/** Awaits res (an api() answer or its promise), asserts its status and returns its JSON. */
export async function ok(res, status = 200) {
  const r = await res;
  assert.equal(r.status, status, r.text);
  return r.json;
}

/**
 * The people of one test server. users[key] is {id, email}; tokens are made with `ent token`
 * and reused for 150 s (they live 5 minutes).
 */
export function school(ent) {
  const users = {};
  const tokens = new Map();
  const s = {
    users,
    /** Creates an account with `ent user add` (password PW) and records it as users[key]. */
    add(key, email, name, role) {
      const r = entRun(['user', 'add', '--email', email, '--name', name, '--role', role, '--password', PW], { env: ent.env });
      assert.equal(r.status, 0, r.stderr);
      users[key] = { id: r.stdout.match(/([0-9a-f-]{36})\)/)[1], email };
      return users[key];
    },
    /** An access token for users[key]. */
    token(key) {
      const email = users[key].email;
      const t = tokens.get(email);
      if (t && Date.now() - t.at < 150000) return t.token;
      const r = entRun(['token', email], { env: ent.env });
      assert.equal(r.status, 0, r.stderr);
      tokens.set(email, { token: r.stdout.trim(), at: Date.now() });
      return r.stdout.trim();
    },
    /** Forgets the cached token of users[key] (after a change of role, say). */
    forget(key) { tokens.delete(users[key].email); },
    /** api() as users[key] (no token when key is null). */
    as(key, path, opts = {}) {
      const headers = { ...(opts.headers || {}) };
      if (key) headers.Authorization = `Bearer ${s.token(key)}`;
      return api(ent, path, { ...opts, headers });
    },
    ok,
    /** Creates a class as `admin` and returns its id. */
    async newClass(admin, name) {
      return (await ok(s.as(admin, '/api/users/classes', { method: 'POST', body: { name } }), 201)).id;
    },
    /** Puts users[key] in the class (a student moves there; a teacher is assigned to it). */
    async join(admin, classId, key) {
      const r = await s.as(admin, `/api/users/classes/${classId}/members/${users[key].id}`, { method: 'PUT' });
      assert.equal(r.status, 204, r.text);
    },
  };
  return s;
}
