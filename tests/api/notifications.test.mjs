// The notifications service against a real `ent serve`, fed by the real notes service through the
// bus: grades entered for a class of 30 give each student exactly one notification; the list
// (newest first, unread filter, cursor pages), the unread count, read one, read all, delete, and
// 404 for someone else's notification; preferences turning a type off; the Server-Sent Events
// stream (bearer header only, `unread` at connect, a `notification` when grades are entered,
// `unread` after a read elsewhere, Last-Event-ID replay, on PostgreSQL a stream held by a second
// process hearing of what the first made); the GDPR export and erasure.
// Delivery delays are printed as diagnostics, never asserted (speed is measured in bench/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startEnt, api, assertProblem, clusterProcess } from './lib/ent.mjs';
import { school, ok, until } from './lib/school.mjs';

const CLASS_SIZE = 30;
let ent, as, token, users;
const students = []; // names of the 30 students: s0 .. s29
let course, period;

/** Waits until fn() returns a truthy value (polled every 50 ms); fails with what after 20 s. */
async function waitFor(fn, what) {
  const v = await until(fn, 400, 50);
  assert.ok(v, `gave up waiting for ${what}`);
  return v;
}
const unread = async (who) => (await ok(as(who, '/api/notifications/unread-count'))).count;
const list = async (who, q = '') => (await ok(as(who, `/api/notifications${q}`))).items;

function today() {
  return new Date().toISOString().slice(0, 10);
}
function schoolYear() {
  const d = new Date();
  const y = d.getUTCFullYear();
  return d.getUTCMonth() >= 7 ? `${y}-${y + 1}` : `${y - 1}-${y}`;
}

/** A new evaluation of the course, published now. */
async function newEvaluation(title) {
  return ok(as('teacher', '/api/notes/evaluations', {
    method: 'POST',
    body: { course_id: course.id, period_id: period.id, title, date: today(), coefficient: 1, scale: 20 },
  }), 201);
}
async function grade(evaluationId, who, value = 14) {
  const list = Array.isArray(who) ? who : [who];
  return ok(as('teacher', `/api/notes/evaluations/${evaluationId}/grades`, {
    method: 'PUT',
    body: { grades: list.map((w, i) => ({ student_id: users[w].id, status: 'graded', value: (value + i) % 21 })) },
  }));
}

/**
 * Opens the stream as who (Authorization header, optional Last-Event-ID). Returns {next(), until(pred),
 * close()}; next() resolves with the next event {event, id, data} (data parsed as JSON).
 */
async function openStream(who, lastEventId, server = ent) {
  const ac = new AbortController();
  const headers = { Authorization: `Bearer ${token(who)}`, Accept: 'text/event-stream' };
  if (lastEventId) headers['Last-Event-ID'] = lastEventId;
  const res = await fetch(server.url + '/api/notifications/stream', { headers, signal: ac.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  assert.equal(res.headers.get('cache-control').includes('no-cache'), true);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  async function next() {
    for (;;) {
      const i = buffer.indexOf('\n\n');
      if (i >= 0) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const ev = { event: 'message', id: null, data: [] };
        for (const line of block.split('\n')) {
          if (line === '' || line.startsWith(':')) continue; // heartbeat comments
          const k = line.indexOf(':');
          const field = k < 0 ? line : line.slice(0, k);
          const value = k < 0 ? '' : line.slice(k + 1).replace(/^ /, '');
          if (field === 'event') ev.event = value;
          else if (field === 'id') ev.id = value;
          else if (field === 'data') ev.data.push(value);
        }
        if (ev.data.length === 0) continue; // "retry:" or a comment
        return { event: ev.event, id: ev.id, data: JSON.parse(ev.data.join('\n')) };
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended');
      buffer += value;
    }
  }
  return {
    next,
    async until(pred) {
      for (;;) {
        const e = await next();
        if (pred(e)) return e;
      }
    },
    async close() {
      await reader.cancel().catch(() => {});
      ac.abort();
    },
  };
}

/** Whether the server's database is PostgreSQL (its own, or a cluster's). */
const sharedPg = () => /^postgres(ql)?:/.test(ent.env.ENT_DB || '');

/** Rows of the notifications tables for a user, read straight from the database (for the erasure). */
function rowsInDb(userId) {
  const sql = `SELECT (SELECT COUNT(*) FROM notifications WHERE user_id = '${userId}') + ` +
    `(SELECT COUNT(*) FROM notification_prefs WHERE user_id = '${userId}')`;
  // The server's database: its own, or a cluster's (ENT_TEST_URL) named by its settings.
  const r = sharedPg()
    ? spawnSync('psql', [ent.env.ENT_DB, '-qAtc', sql], { encoding: 'utf8' })
    : spawnSync('sqlite3', [join(ent.dataDir, 'ent.db'), sql], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

before(async () => {
  ent = await startEnt();
  const sc = school(ent); // `s` names a student or a stream in this file
  ({ as, token, users } = sc);
  sc.add('admin', 'admin@n.test', 'Ada Admin', 'admin');
  sc.add('teacher', 'prof@n.test', 'Paul Prof', 'enseignant');
  sc.add('outsider', 'out@n.test', 'Olga Ailleurs', 'etudiant');
  for (let i = 0; i < CLASS_SIZE; i++) {
    sc.add(`s${i}`, `s${i}@n.test`, `Élève${i} Num${i}`, 'etudiant');
    students.push(`s${i}`);
  }
  const cls = await ok(as('admin', '/api/users/classes', { method: 'POST', body: { name: '3e Notif' } }), 201);
  for (const s of [...students, 'teacher']) {
    const r = await as('admin', `/api/users/classes/${cls.id}/members/${users[s].id}`, { method: 'PUT' });
    assert.equal(r.status, 204, r.text);
  }
  course = await ok(as('teacher', '/api/cours', { method: 'POST', body: { title: 'Mathématiques 3e', class_ids: [cls.id] } }), 201);
  const y = schoolYear();
  period = await ok(as('admin', '/api/notes/periods', {
    method: 'POST',
    body: { name: 'Année', school_year: y, starts_on: `${y.slice(0, 4)}-08-01`, ends_on: `${y.slice(5)}-07-31` },
  }), 201);
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
  assert.deepEqual(errors, []);
});

let first; // the notification of the first evaluation, as s0 sees it

test('grades for a class of 30: each student gets exactly one notification, in French, about that evaluation', { timeout: 60000 }, async () => {
  for (const s of ['s0', 'teacher', 'admin']) {
    assert.equal(await unread(s), 0);
    assert.deepEqual(await list(s), []);
  }
  const ev = await newEvaluation('Contrôle n°1');
  await grade(ev.id, students);
  await waitFor(async () => {
    for (const s of students) if ((await unread(s)) < 1) return false;
    return true;
  }, 'a notification for each of the 30 students');
  for (const s of students) {
    const items = await list(s);
    assert.equal(items.length, 1, `${s}: ${JSON.stringify(items)}`);
    const n = items[0];
    assert.equal(n.type, 'note.published');
    assert.equal(n.title, 'Nouvelle note en Mathématiques 3e');
    assert.match(n.body, /^Contrôle n°1 du \d\d\/\d\d\/\d{4} : note sur 20 disponible$/);
    assert.equal(n.link, '/notes');
    assert.deepEqual(n.data, { evaluation_id: ev.id, course_id: course.id });
    assert.equal(n.read_at, null);
    assert.match(n.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(await unread(s), 1);
  }
  first = (await list('s0'))[0];
  assert.deepEqual(await list('teacher'), []);
  assert.deepEqual(await list('outsider'), []);
});

test('the stream: 401 without a bearer token, `unread` at connect, a `notification` when grades are entered', { timeout: 60000 }, async (t) => {
  assertProblem(assert, await api(ent, '/api/notifications/stream'), 401);
  assertProblem(assert, await api(ent, '/api/notifications/stream', { headers: { Authorization: 'Bearer nope' } }), 401);
  // A token in the URL is not a credential.
  assertProblem(assert, await api(ent, `/api/notifications/stream?access_token=${token('s0')}`), 401);

  const stream = await openStream('s0');
  try {
    const hello = await stream.next();
    assert.equal(hello.event, 'unread');
    assert.deepEqual(hello.data, { count: 1 });
    const ev = await newEvaluation('Contrôle n°2');
    const t0 = performance.now();
    await grade(ev.id, ['s0', 's1']);
    const got = await stream.until((e) => e.event === 'notification');
    t.diagnostic(`notification delivered ${(performance.now() - t0).toFixed(1)} ms after PUT grades was sent`);
    assert.equal(got.data.type, 'note.published');
    assert.equal(got.data.data.evaluation_id, ev.id);
    assert.equal(got.id, got.data.id);
    assert.match(got.data.body, /^Contrôle n°2 /);
    const count = await stream.next();
    assert.equal(count.event, 'unread');
    assert.deepEqual(count.data, { count: 2 });
    // The same notification is the newest in the list.
    assert.deepEqual((await list('s0'))[0], got.data);

    // Reading it in another tab updates this one's count.
    await ok(as('s0', `/api/notifications/${got.id}/read`, { method: 'POST' }));
    assert.deepEqual(await stream.until((e) => e.event === 'unread'), { event: 'unread', id: null, data: { count: 1 } });
  } finally {
    await stream.close();
  }
});

/** p, or a failure naming what after ms milliseconds. */
function within(p, ms, what) {
  let timer;
  const late = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`no ${what} within ${ms / 1000} s`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

test('Last-Event-ID: a reconnecting stream gets the notifications it missed, oldest first, and only those', { timeout: 60000 }, async () => {
  const before = await list('s0');
  assert.equal(before.length, 2);
  const [second, firstAgain] = before;
  assert.deepEqual(firstAgain, first);
  // While s0 is away, a third evaluation is graded.
  const ev3 = await newEvaluation('Contrôle n°3');
  await grade(ev3.id, ['s0']);
  await waitFor(async () => (await list('s0')).length === 3, 'the third notification');
  const third = (await list('s0'))[0];

  const s = await openStream('s0', first.id);
  try {
    assert.equal((await s.next()).event, 'unread');
    const a = await s.next();
    const b = await s.next();
    assert.deepEqual([a.event, a.id], ['notification', second.id]);
    assert.deepEqual([b.event, b.id], ['notification', third.id]);
    assert.equal(b.data.data.evaluation_id, ev3.id);
  } finally {
    await s.close();
  }
  // Reconnecting with the newest id replays nothing: the next notification is a new one.
  const s2 = await openStream('s0', third.id);
  try {
    assert.deepEqual((await s2.next()).data, { count: await unread('s0') });
    const ev4 = await newEvaluation('Contrôle n°4');
    await grade(ev4.id, ['s0']);
    // The third's own push may still reach this new stream after its catch-up (stream.c: a
    // notification committed just before a connection can come twice; the client keeps one per
    // id): any other notification must be the fourth.
    const n = await s2.until((e) => e.event === 'notification' && e.id !== third.id);
    assert.equal(n.data.data.evaluation_id, ev4.id);
  } finally {
    await s2.close();
  }
  // An id that is not one of the caller's (or not an id) is a first connection: no replay.
  const s3 = await openStream('s1', first.id);
  try {
    const hello = await s3.next();
    assert.equal(hello.event, 'unread');
    const ev5 = await newEvaluation('Contrôle n°5');
    await grade(ev5.id, ['s1']);
    const n = await s3.until((e) => e.event === 'notification');
    assert.equal(n.data.data.evaluation_id, ev5.id);
  } finally {
    await s3.close();
  }
});

// The cap is per process: behind a round-robin of processes (tests/services/cluster.sh replicas) a
// user's tabs spread over them and each process counts its own.
// The cap is per process: behind a round-robin of processes (tests/services/cluster.sh replicas) a
// user's streams would spread over them, so they are opened on one replica directly (the grade,
// through the gateway, reaches them by the cross-process wake-up).
const capServer = () => (process.env.ENT_TEST_LAYOUT === 'replicas' ? clusterProcess(ent) : ent);

test('at most 8 streams per user: a 9th ends the oldest; every listed tab gets the notification', { timeout: 60000 }, async () => {
  const streams = [];
  try {
    for (let i = 0; i < 9; i++) {
      const s = await openStream('s9', undefined, capServer());
      assert.equal((await s.next()).event, 'unread');
      streams.push(s);
    }
    // The server ends the oldest tab's stream (its client then reconnects with Last-Event-ID).
    await assert.rejects(streams[0].next(), /the stream ended/);
    const ev = await newEvaluation('Contrôle n°9');
    await grade(ev.id, ['s9']);
    for (const s of streams.slice(1)) {
      const n = await s.until((e) => e.event === 'notification');
      assert.equal(n.data.data.evaluation_id, ev.id);
      assert.deepEqual((await s.next()).data, { count: 2 });
    }
  } finally {
    for (const s of streams) await s.close();
  }
  // The tabs closed; the user's notifications are still there.
  assert.equal(await unread('s9'), 2);
});

test('streams opened and dropped concurrently while notifications are pushed: the kept ones get theirs', { timeout: 60000 }, async () => {
  const who = students.slice(10, 20);
  const opened = await Promise.all(who.flatMap((w) => [0, 1, 2].map(async (k) => ({ w, k, s: await openStream(w) }))));
  // One stream per student is dropped before reading anything, one after its first event.
  const kept = [];
  await Promise.all(opened.map(async ({ w, k, s }) => {
    if (k === 0) return s.close();
    assert.equal((await s.next()).event, 'unread');
    if (k === 1) return s.close();
    kept.push({ w, s });
  }));
  assert.equal(kept.length, who.length);
  const ev = await newEvaluation('Contrôle n°10');
  const pending = grade(ev.id, who);
  // More tabs come and go while the event is delivered.
  const churn = Promise.all(who.map(async (w) => {
    const s = await openStream(w);
    await s.next();
    await s.close();
  }));
  await Promise.all([pending, churn]);
  for (const { w, s } of kept) {
    const n = await s.until((e) => e.event === 'notification');
    assert.equal(n.data.data.evaluation_id, ev.id, w);
    await s.close();
  }
  assert.equal((await api(ent, '/health')).status, 200);
});

test('list: newest first, cursor pages with Link, unread filter; bad queries are 400', async () => {
  const all = await list('s0');
  assert.equal(all.length, 4);
  const times = all.map((n) => n.created_at);
  assert.deepEqual([...times].sort().reverse(), times);
  const seen = [];
  let path = '/api/notifications?limit=3';
  for (let pages = 0; path; pages++) {
    assert.ok(pages < 5);
    const r = await as('s0', path);
    assert.equal(r.status, 200, r.text);
    seen.push(...r.json.items.map((n) => n.id));
    const link = r.headers.get('link');
    if (r.json.next_cursor) {
      assert.match(link, /rel="next"/);
      assert.ok(link.includes('limit=3'));
      path = link.match(/<([^>]+)>/)[1].replace(/^https?:\/\/[^/]+/, '');
    } else {
      assert.equal(link, null);
      path = null;
    }
  }
  assert.deepEqual(seen, all.map((n) => n.id));

  const unreadOnes = await list('s0', '?unread=true');
  assert.deepEqual(unreadOnes.map((n) => n.id), all.filter((n) => n.read_at === null).map((n) => n.id));
  assert.equal(unreadOnes.length, await unread('s0'));
  assert.ok(unreadOnes.length < all.length, 'one was read in the stream test');
  assert.deepEqual(await list('s0', '?unread=false'), all);
  const page = await ok(as('s0', '/api/notifications?unread=true&limit=1'));
  assert.ok(page.next_cursor);
  const link = (await as('s0', '/api/notifications?unread=true&limit=1')).headers.get('link');
  assert.ok(link.includes('unread=true'), link);
  // Pages of one, unread or not, give each list whole and in order.
  for (const [q, expected] of [['&unread=true', unreadOnes], ['&unread=false', all], ['', all]]) {
    const ids = [];
    let next = `/api/notifications?limit=1${q}`;
    while (next) {
      const r = await as('s0', next);
      assert.equal(r.status, 200, r.text);
      ids.push(...r.json.items.map((n) => n.id));
      const l = r.headers.get('link');
      assert.equal(Boolean(l), Boolean(r.json.next_cursor));
      next = l ? l.match(/<([^>]+)>/)[1].replace(/^https?:\/\/[^/]+/, '') : null;
      assert.ok(ids.length <= expected.length + 1);
    }
    assert.deepEqual(ids, expected.map((n) => n.id), q);
  }
  // The cursor is opaque (core/page.h): the old "<created_us>_<id>" form, or a cursor of another
  // list, is not one this server issued.
  const users = await as('admin', '/api/users?limit=1');
  assert.ok(users.json.next_cursor);
  for (const q of ['?unread=maybe', '?limit=0', '?limit=501', '?cursor=garbage', `?cursor=${randomUUID()}`, '?cursor=12_x',
    `?cursor=1_${all[all.length - 1].id}`, `?cursor=${users.json.next_cursor}`]) {
    const r = await as('s0', `/api/notifications${q}`);
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors && Object.keys(r.json.errors).length === 1, r.text);
  }
});

test('read one, read all, delete; someone else\'s notification is 404 as one that does not exist', async () => {
  const mine = await list('s0', '?unread=true');
  assert.ok(mine.length >= 2);
  const target = mine[0];
  // Another student, a teacher and an admin: 404 on s0's notification, which stays unread.
  for (const who of ['s1', 'teacher', 'admin']) {
    assertProblem(assert, await as(who, `/api/notifications/${target.id}/read`, { method: 'POST' }), 404);
    assertProblem(assert, await as(who, `/api/notifications/${target.id}`, { method: 'DELETE' }), 404);
  }
  for (const id of [randomUUID(), 'not-an-id', '..%2F..%2Fetc']) {
    assertProblem(assert, await as('s0', `/api/notifications/${id}/read`, { method: 'POST' }), 404);
    assertProblem(assert, await as('s0', `/api/notifications/${id}`, { method: 'DELETE' }), 404);
  }
  assert.equal((await list('s0', '?unread=true')).length, mine.length);

  const n = await unread('s0');
  const read = await ok(as('s0', `/api/notifications/${target.id}/read`, { method: 'POST' }));
  assert.equal(read.id, target.id);
  assert.match(read.read_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(await unread('s0'), n - 1);
  assert.ok(!(await list('s0', '?unread=true')).some((x) => x.id === target.id));
  // Reading it again changes nothing (same read_at).
  assert.equal((await ok(as('s0', `/api/notifications/${target.id}/read`, { method: 'POST' }))).read_at, read.read_at);

  // Read all: answers how many were unread; s1's notifications are untouched.
  const s1Before = await unread('s1');
  assert.ok(s1Before > 0);
  assert.deepEqual(await ok(as('s0', '/api/notifications/read-all', { method: 'POST' })), { count: n - 1 });
  assert.equal(await unread('s0'), 0);
  assert.deepEqual(await list('s0', '?unread=true'), []);
  assert.deepEqual(await ok(as('s0', '/api/notifications/read-all', { method: 'POST' })), { count: 0 });
  assert.equal(await unread('s1'), s1Before);

  // Delete.
  const before = await list('s0');
  const r = await as('s0', `/api/notifications/${target.id}`, { method: 'DELETE' });
  assert.equal(r.status, 204, r.text);
  const afterDelete = await list('s0');
  assert.equal(afterDelete.length, before.length - 1);
  assert.ok(!afterDelete.some((x) => x.id === target.id));
  assertProblem(assert, await as('s0', `/api/notifications/${target.id}`, { method: 'DELETE' }), 404);
  assertProblem(assert, await as('s0', `/api/notifications/${target.id}/read`, { method: 'POST' }), 404);
});

test('preferences: every type listed with its label; a type turned off creates nothing for that student', { timeout: 60000 }, async () => {
  const defaults = await ok(as('s2', '/api/notifications/preferences'));
  assert.deepEqual(defaults.items.slice(0, 2), [
    { type: 'note.published', label: 'Nouvelle note', enabled: true },
    { type: 'note.updated', label: 'Note modifiée', enabled: true },
  ]);
  const bad = [
    [{}, 'items'],
    [{ items: {} }, 'items'],
    [{ items: [{ type: 'note.nope', enabled: false }] }, 'items[0].type'],
    [{ items: [{ type: 'note.published' }] }, 'items[0].enabled'],
    [{ items: [{ type: 'note.published', enabled: 'no' }] }, 'items[0].enabled'],
    [{ items: [{ type: 'note.published', enabled: true, user_id: users.s3.id }] }, 'items[0].user_id'],
    [{ items: [{ type: 'note.published', enabled: true }, 3] }, 'items[1]'],
    [{ items: [], extra: 1 }, 'extra'],
  ];
  for (const [body, field] of bad) {
    const r = await as('s2', '/api/notifications/preferences', { method: 'PUT', body });
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors[field], `${JSON.stringify(body)}: ${r.text}`);
  }
  const r415 = await as('s2', '/api/notifications/preferences', { method: 'PUT', raw: true, body: 'x', headers: { 'Content-Type': 'text/plain' } });
  assertProblem(assert, r415, 415);

  const off = await ok(as('s2', '/api/notifications/preferences', { method: 'PUT', body: { items: [{ type: 'note.published', enabled: false }] } }));
  assert.deepEqual(off.items.find((p) => p.type === 'note.published').enabled, false);
  assert.deepEqual(off.items.find((p) => p.type === 'note.updated').enabled, true);
  assert.deepEqual(await ok(as('s2', '/api/notifications/preferences')), off);
  // Someone else's preferences are theirs.
  assert.equal((await ok(as('s3', '/api/notifications/preferences'))).items[0].enabled, true);

  const n2 = (await list('s2')).length;
  const n3 = (await list('s3')).length;
  const ev = await newEvaluation('Contrôle n°6');
  await grade(ev.id, ['s2', 's3']);
  // Both come from one event in one transaction: once s3 has theirs, s2's is settled.
  await waitFor(async () => (await list('s3')).length === n3 + 1, 's3\'s notification');
  assert.equal((await list('s2')).length, n2);

  // Turned back on, the next one arrives.
  await ok(as('s2', '/api/notifications/preferences', { method: 'PUT', body: { items: [{ type: 'note.published', enabled: true }] } }));
  const ev2 = await newEvaluation('Contrôle n°7');
  await grade(ev2.id, ['s2']);
  await waitFor(async () => (await list('s2')).length === n2 + 1, 's2\'s notification');
  assert.equal((await list('s2'))[0].data.evaluation_id, ev2.id);
});

test('a grade changed after publication: "Note modifiée" for that student only', { timeout: 60000 }, async () => {
  const ev = await newEvaluation('Contrôle n°8');
  await grade(ev.id, ['s4', 's5'], 10);
  await waitFor(async () => (await unread('s4')) >= 2 && (await unread('s5')) >= 2, 'the published notifications');
  const n5 = (await list('s5')).length;
  const r = await as('teacher', `/api/notes/evaluations/${ev.id}/grades`, {
    method: 'PUT',
    body: { grades: [{ student_id: users.s4.id, status: 'graded', value: 18 }, { student_id: users.s5.id, status: 'graded', value: 11 }] },
  });
  assert.equal(r.status, 200, r.text);
  const changed = await waitFor(async () => (await list('s4')).find((n) => n.type === 'note.updated'), 'the update notification');
  assert.equal(changed.title, 'Note modifiée en Mathématiques 3e');
  assert.equal(changed.data.evaluation_id, ev.id);
  assert.match(changed.body, /^Contrôle n°8 .*modifiée$/);
  assert.equal((await list('s5')).length, n5, 's5\'s grade did not change');
});

test('GDPR: the export lists the user\'s notifications and preferences; erasure deletes them', async () => {
  await ok(as('s6', '/api/notifications/preferences', { method: 'PUT', body: { items: [{ type: 'note.updated', enabled: false }] } }));
  const mine = await list('s6');
  assert.ok(mine.length >= 1);
  const exp = await ok(as('s6', '/api/users/me/export'));
  assert.deepEqual(exp.notifications.items.map((n) => n.id).sort(), mine.map((n) => n.id).sort());
  assert.equal(exp.notifications.items[0].title, mine[mine.length - 1].title);
  assert.deepEqual(exp.notifications.preferences.map((p) => [p.type, p.enabled]), [['note.updated', false]]);
  assert.ok(rowsInDb(users.s6.id) > 1);
  const r = await as('admin', `/api/users/${users.s6.id}`, { method: 'DELETE' });
  assert.equal(r.status, 204, r.text);
  assert.equal(rowsInDb(users.s6.id), 0);
  // Another student's notifications stay.
  assert.ok(rowsInDb(users.s7.id) >= 1);
});

test('two processes on one PostgreSQL database: a stream on one hears of what is made and read through the other', { timeout: 90000 }, async (t) => {
  if (!sharedPg()) {
    t.skip('processes wake each other through PostgreSQL (LISTEN/NOTIFY); one SQLite process holds every stream');
    return;
  }
  // The second process runs the notifications service on the same database, with the same issuer,
  // but consumes no event: its bus points at a broker that does not exist. So whatever reaches
  // its stream was made by the first process and crossed through a wake-up.
  const twin = await startEnt({ db: ent.env.ENT_DB, keepData: true,
    env: { ENT_SERVICES: 'notifications', ENT_PUBLIC_URL: ent.env.ENT_PUBLIC_URL, ENT_BUS: 'amqp://ent:none@127.0.0.1:1/' } });
  try {
    const stream = await openStream('s2', undefined, twin);
    try {
      const hello = await within(stream.next(), 20000, '`unread` at connect');
      assert.equal(hello.event, 'unread');
      const before = hello.data.count;
      const ev = await newEvaluation('Contrôle entre processus');
      await grade(ev.id, ['s2']);
      const got = await within(stream.until((e) => e.event === 'notification'), 20000, 'notification from the other process');
      assert.equal(got.data.data.evaluation_id, ev.id);
      assert.deepEqual(await within(stream.until((e) => e.event === 'unread'), 20000, 'unread count'), { event: 'unread', id: null, data: { count: before + 1 } });
      // Read through the first process: the tab on the second updates its badge.
      await ok(as('s2', `/api/notifications/${got.id}/read`, { method: 'POST' }));
      assert.deepEqual(await within(stream.until((e) => e.event === 'unread'), 20000, 'unread count after the read'), { event: 'unread', id: null, data: { count: before } });
    } finally {
      await stream.close();
    }
  } finally {
    const e = await twin.stop();
    assert.equal(e.code, 0, twin.stderr.slice(-3000));
    assert.deepEqual(twin.stderr.split('\n').filter((l) => l.includes('"level":"error"')), []);
  }
});
