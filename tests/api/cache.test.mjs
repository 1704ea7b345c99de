// Versioned answers (core/rcache.h): a cached report card can never be stale. Three processes
// share one database: A and C keep an answer cache, R keeps none (ENT_CACHE_MB=0) and is the
// reference. For every kind of write that changes an input of a card (a grade, another student's
// grade, an evaluation created, changed, deleted, a publication time reached, a course's title, its
// teachers, class membership, a name, a period), written through A or through C, the card read
// from A must equal the card computed by R; then a random interleaving of such writes and reads.
// Also: ETag and 304 before and after a change, and the cache's counters. The same for the course
// lists (a student's, a teacher's, page by page): every write that changes one, compared with R.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api } from './lib/ent.mjs';
import { cacheTrio } from './lib/cache.mjs';
import { school, ok, until } from './lib/school.mjs';

let trio, A, C, R, s;
const cls = {};
const courses = {};
let period;
const evals = [];

function on(proc, who, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (who) headers.Authorization = `Bearer ${s.token(who)}`;
  return api(proc, path, { ...opts, headers });
}

// Who looks at whose card, and how.
const views = [
  ['alice', '/api/notes/me'], ['bob', '/api/notes/me'], ['dan', '/api/notes/me'],
  ['teacher', 'alice'], ['teacher2', 'bob'], ['admin', 'alice'], ['admin', 'dan'],
];
const path = (v) => (v[1].startsWith('/') ? v[1] : `/api/notes/students/${s.users[v[1]].id}`);

/** Every view from A (twice: the second may be a hit) equals the reference computed by R. */
async function same(label) {
  for (const v of views) {
    const ref = await on(R, v[0], path(v));
    for (let i = 0; i < 2; i++) {
      const got = await on(A, v[0], path(v));
      assert.equal(got.status, ref.status, `${label}: ${v.join(' ')}`);
      assert.deepEqual(got.json, ref.json, `${label}: ${v.join(' ')} (read ${i + 1} from the cache)`);
    }
  }
}

const hits = () => trio.hits(A);

before(async () => {
  trio = await cacheTrio();
  ({ A, C, R } = trio);
  s = school(A);
  s.add('admin', 'admin@k.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@k.test', 'Paul Prof', 'enseignant');
  s.add('teacher2', 'prof2@k.test', 'Pia Autre', 'enseignant');
  for (const [k, n] of [['alice', 'Alice Alpha'], ['bob', 'Bob Beta'], ['chloe', 'Chloé Gamma'], ['dan', 'Dan Delta']])
    s.add(k, `${k}@k.test`, n, 'etudiant');
  cls.A = await s.newClass('admin', 'Classe A');
  cls.B = await s.newClass('admin', 'Classe B');
  for (const [k, c] of [['alice', 'A'], ['bob', 'A'], ['chloe', 'A'], ['dan', 'B'], ['teacher', 'A'], ['teacher2', 'A'], ['teacher2', 'B']])
    await s.join('admin', cls[c], k);
  const course = async (who, title, subject, c) =>
    (await ok(s.as(who, '/api/cours', { method: 'POST', body: { title, subject, class_ids: [cls[c]] } }), 201)).id;
  courses.maths = await course('teacher', 'Mathématiques', 'mathematiques', 'A');
  courses.svt = await course('teacher2', 'SVT', 'svt', 'A');
  courses.b = await course('teacher2', 'Anglais B', 'anglais', 'B');
  period = (await ok(s.as('admin', '/api/notes/periods', { method: 'POST', body: { name: 'Trimestre 1', school_year: '2026-2027', starts_on: '2026-09-01', ends_on: '2027-06-30' } }), 201)).id;
});

after(async () => { await trio.stop(); });

async function newEval(proc, who, course, title, extra = {}) {
  const e = await ok(on(proc, who, '/api/notes/evaluations', { method: 'POST', body: { course_id: course, period_id: period, title, date: '2026-12-01', ...extra } }), 201);
  evals.push({ id: e.id, course, who });
  return e;
}
const grade = (who, value) => ({ student_id: s.users[who].id, status: 'graded', value });
async function putGrades(proc, who, evalId, grades) {
  await ok(on(proc, who, `/api/notes/evaluations/${evalId}/grades`, { method: 'PUT', body: { grades } }));
}

test('the card answers with a strong ETag, 304 when unchanged, 200 with a new ETag after a change', async () => {
  const e = await newEval(A, 'teacher', courses.maths, 'Contrôle 1');
  await putGrades(A, 'teacher', e.id, [grade('alice', 12), grade('bob', 15)]);
  const first = await on(A, 'alice', '/api/notes/me');
  assert.equal(first.status, 200);
  const etag = first.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  assert.equal(first.headers.get('cache-control'), 'private, no-cache');
  const before = await hits();
  const again = await on(A, 'alice', '/api/notes/me', { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  assert.equal(await hits(), before + 1, 'the 304 came from the cache');
  // A process without a cache answers 304 too (after rendering) for the same bytes.
  assert.equal((await on(R, 'alice', '/api/notes/me', { headers: { 'If-None-Match': etag } })).status, 304);
  // A grade changed through the other caching process: A's next answer is the new card.
  await putGrades(C, 'teacher', e.id, [grade('alice', 17)]);
  const after = await on(A, 'alice', '/api/notes/me', { headers: { 'If-None-Match': etag } });
  assert.equal(after.status, 200);
  assert.notEqual(after.headers.get('etag'), etag);
  assert.deepEqual(after.json, (await on(R, 'alice', '/api/notes/me')).json);
  const g = after.json.periods.flatMap((p) => p.subjects).flatMap((x) => x.evaluations).find((x) => x.id === e.id);
  assert.equal(g.value, 17);
});

test('a cached answer is sent in the encoding the client takes', async () => {
  for (let i = 0; i < 6; i++) {
    const e = await newEval(A, 'teacher', courses.maths, `Évaluation longue ${i} : ${'lecture et compréhension, '.repeat(3)}`);
    await putGrades(A, 'teacher', e.id, [grade('bob', 10 + i)]);
  }
  const first = await on(A, 'bob', '/api/notes/me', { headers: { 'Accept-Encoding': 'identity' } });
  assert.ok(first.text.length >= 1024, `a card worth compressing (${first.text.length} bytes)`);
  const before = await hits();
  for (const enc of ['identity', 'gzip', 'gzip', 'identity']) {
    const r = await on(A, 'bob', '/api/notes/me', { headers: { 'Accept-Encoding': enc } });
    assert.equal(r.headers.get('content-encoding'), enc === 'gzip' ? 'gzip' : null, enc);
    assert.equal(r.headers.get('etag'), first.headers.get('etag'));
    assert.deepEqual(r.json, first.json);
  }
  assert.equal(await hits(), before + 4);
});

// An answer of 16 KiB or more keeps only its gzip form once a client that takes gzip has read it
// (a card's is about a fifth of its size); a client that does not take gzip gets it inflated.
test('a large answer keeps only its gzip form; a client without gzip still gets the same bytes', async () => {
  for (let i = 0; i < 60; i++) {
    const e = await newEval(A, 'teacher2', courses.b, `Devoir ${i} : ${'compréhension écrite et orale, '.repeat(6)}`);
    await putGrades(A, 'teacher2', e.id, [grade('dan', i % 21)]);
  }
  const cacheBytes = () => trio.bytes(A);
  const ref = await on(R, 'dan', '/api/notes/me', { headers: { 'Accept-Encoding': 'identity' } });
  const first = await on(A, 'dan', '/api/notes/me', { headers: { 'Accept-Encoding': 'identity' } });
  assert.ok(Buffer.byteLength(first.text) >= 17000, `a card of more than 16 KiB (${Buffer.byteLength(first.text)} bytes)`);
  assert.equal(first.text, ref.text);
  const stored = await cacheBytes();
  const before = await hits();
  for (const enc of ['gzip', 'gzip', 'identity', 'identity', 'gzip']) {
    const r = await on(A, 'dan', '/api/notes/me', { headers: { 'Accept-Encoding': enc } });
    assert.equal(r.status, 200, enc);
    assert.equal(r.headers.get('content-encoding'), enc === 'gzip' ? 'gzip' : null, enc);
    assert.equal(r.headers.get('etag'), first.headers.get('etag'), enc);
    assert.equal(r.text, ref.text, enc);
  }
  assert.equal(await hits(), before + 5);
  const now = await cacheBytes();
  assert.ok(now < stored, `only the gzip form is kept (${stored} bytes, then ${now})`);
});

test('every kind of write that changes a card is seen at once, through the same process or another', async () => {
  const e1 = evals[0].id;
  await same('start');
  for (const proc of [A, C]) {
    const name = proc === A ? 'same process' : 'other process';
    await putGrades(proc, 'teacher', e1, [grade('alice', 9)]);
    await same(`${name}: own grade`);
    await putGrades(proc, 'teacher', e1, [grade('chloe', 4)]);
    await same(`${name}: a classmate's grade (class figures)`);
    const e2 = await newEval(proc, 'teacher2', courses.svt, `Évaluation ${name}`);
    await same(`${name}: evaluation created`);
    await putGrades(proc, 'teacher2', e2.id, [grade('alice', 14), grade('bob', 8)]);
    await same(`${name}: grades of a new evaluation`);
    await ok(on(proc, 'teacher2', `/api/notes/evaluations/${e2.id}`, { method: 'PATCH', body: { title: 'Renommée', coefficient: 3 } }));
    await same(`${name}: evaluation changed`);
    await ok(on(proc, 'teacher', `/api/cours/${courses.maths}`, { method: 'PATCH', body: { title: `Maths (${name})` } }));
    await same(`${name}: course title`);
    await ok(on(proc, 'admin', `/api/cours/${courses.svt}`, { method: 'PATCH', body: { teacher_ids: [s.users.teacher2.id, s.users.teacher.id] } }));
    await same(`${name}: course teachers`);
    await ok(on(proc, 'admin', `/api/users/${s.users.teacher2.id}`, { method: 'PATCH', body: { family_name: `Autre-${proc.port}` } }));
    await same(`${name}: a teacher's name`);
    await ok(on(proc, 'admin', `/api/users/${s.users.alice.id}`, { method: 'PATCH', body: { given_name: `Alicia${proc.port}` } }));
    await same(`${name}: the student's name`);
    await ok(on(proc, 'admin', `/api/notes/periods/${period}`, { method: 'PATCH', body: { name: `Trimestre (${proc.port})` } }));
    await same(`${name}: the period`);
    // Dan joins class A (class figures of A change), then goes back to B.
    assert.equal((await on(proc, 'admin', `/api/users/classes/${cls.A}/members/${s.users.dan.id}`, { method: 'PUT' })).status, 204);
    await same(`${name}: class membership`);
    await putGrades(proc, 'teacher', e1, [grade('dan', 20)]);
    await same(`${name}: a newcomer's grade`);
    assert.equal((await on(proc, 'admin', `/api/users/classes/${cls.B}/members/${s.users.dan.id}`, { method: 'PUT' })).status, 204);
    await same(`${name}: back to the first class`);
    assert.equal((await on(proc, 'teacher2', `/api/notes/evaluations/${e2.id}`, { method: 'DELETE' })).status, 204);
    await same(`${name}: evaluation deleted`);
  }
});

test('an evaluation reaching its publication time appears in a cached card', async () => {
  const at = new Date(Date.now() + 3000);
  at.setMilliseconds(0);
  const e = await newEval(A, 'teacher', courses.maths, 'Publiée bientôt', { publish_at: at.toISOString().replace('.000Z', 'Z') });
  await putGrades(A, 'teacher', e.id, [grade('alice', 11)]);
  const hidden = await on(A, 'alice', '/api/notes/me');
  const ids = (card) => card.periods.flatMap((p) => p.subjects).flatMap((x) => x.evaluations).map((x) => x.id);
  assert.ok(!ids(hidden.json).includes(e.id), 'hidden before its publication time');
  await on(A, 'alice', '/api/notes/me'); // cached now
  const seen = await until(async () => ids((await on(A, 'alice', '/api/notes/me')).json).includes(e.id), 40, 250);
  assert.ok(seen, 'shown by the cache once its publication time has passed');
  await same('after publication');
  // A job announces the publication and marks the evaluation as announced: a change of its
  // course's scope, which would land in the middle of a later test. Its notification comes after.
  const announced = await until(async () => (await on(A, 'alice', '/api/notifications')).json.items.some((n) => n.data?.evaluation_id === e.id), 80, 250);
  assert.ok(announced, 'the publication is announced to the student');
});

// The course lists (S2): a student's (their class's courses), a teacher's, whole and by pages.
const lists = [
  ['alice', '/api/cours'], ['alice', '/api/cours?limit=1'], ['dan', '/api/cours'], ['teacher', '/api/cours'],
  ['teacher2', '/api/cours?limit=2'], ['alice', '/api/cours?q=math'], ['chloe', '/api/cours?school_year=2026-2027'],
];
const paged = [['alice', 1], ['teacher2', 2]];
let staleCursor = null; // a cursor ending at a course, kept after the course is gone

async function sameList(label, who, p) {
  const ref = await on(R, who, p);
  for (let i = 0; i < 2; i++) {
    const got = await on(A, who, p);
    assert.equal(got.status, ref.status, `${label}: ${who} ${p}`);
    assert.deepEqual(got.json, ref.json, `${label}: ${who} ${p} (read ${i + 1} from the cache)`);
    assert.equal(got.headers.get('link'), ref.headers.get('link'), `${label}: ${who} ${p}: the next page's link`);
  }
  return ref.json;
}

/** The cursor of the page of one course of who's list that ends at course id. */
async function cursorAt(who, id) {
  let cursor = null;
  for (let page = 0; page < 50; page++) {
    const j = (await on(R, who, `/api/cours?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json;
    if (j.items[0]?.id === id) return j.next_cursor;
    if (!j.next_cursor) break;
    cursor = j.next_cursor;
  }
  assert.fail(`${who}'s list holds course ${id}`);
}

/** Every list, and every page of the paged ones following the reference's cursors, equals R's. */
async function sameLists(label) {
  for (const [who, p] of lists) await sameList(label, who, p);
  for (const [who, limit] of paged) {
    let cursor = null;
    for (let page = 0; page < 6; page++) {
      const j = await sameList(`${label} (page ${page + 1})`, who, `/api/cours?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      if (!j.next_cursor) break;
      cursor = j.next_cursor;
    }
  }
  if (staleCursor) await sameList(`${label} (cursor of a deleted course)`, 'alice', `/api/cours?limit=1&cursor=${staleCursor}`);
}

test('a course list answers with an ETag, 304 when unchanged, 200 after a change of one of its courses', async () => {
  const first = await on(A, 'alice', '/api/cours');
  assert.equal(first.status, 200);
  const etag = first.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  assert.equal(first.headers.get('cache-control'), 'private, no-cache');
  const before = await hits();
  assert.equal((await on(A, 'alice', '/api/cours', { headers: { 'If-None-Match': etag } })).status, 304);
  assert.equal(await hits(), before + 1, 'the 304 came from the cache');
  await ok(on(C, 'teacher', `/api/cours/${courses.maths}`, { method: 'PATCH', body: { description: 'Programme revu' } }));
  const after = await on(A, 'alice', '/api/cours', { headers: { 'If-None-Match': etag } });
  assert.equal(after.status, 200);
  assert.notEqual(after.headers.get('etag'), etag);
  assert.equal(after.json.items.find((c) => c.id === courses.maths).description, 'Programme revu');
});

test('every kind of write that changes a course list is seen at once, through the same process or another', async () => {
  await sameLists('start');
  for (const proc of [A, C]) {
    const name = proc === A ? 'same process' : 'other process';
    const id = (await ok(on(proc, 'teacher', '/api/cours', { method: 'POST', body: { title: `Zoologie (${name})`, subject: 'svt', class_ids: [cls.A] } }), 201)).id;
    await sameLists(`${name}: course created in the class`);
    await ok(on(proc, 'teacher', `/api/cours/${id}`, { method: 'PATCH', body: { title: `Algèbre (${name})` } }));
    await sameLists(`${name}: a title that moves the course to the first page`);
    await ok(on(proc, 'teacher', `/api/cours/${id}`, { method: 'PATCH', body: { subject: 'mathematiques', school_year: '2027-2028' } }));
    await sameLists(`${name}: subject and school year`);
    await ok(on(proc, 'admin', `/api/cours/${id}`, { method: 'PATCH', body: { teacher_ids: [s.users.teacher.id, s.users.teacher2.id] } }));
    await sameLists(`${name}: a teacher added`);
    await ok(on(proc, 'admin', `/api/cours/${id}`, { method: 'PATCH', body: { teacher_ids: [s.users.teacher2.id] } }));
    await sameLists(`${name}: the creating teacher removed`);
    await ok(on(proc, 'admin', `/api/cours/${id}`, { method: 'PATCH', body: { class_ids: [cls.A, cls.B] } }));
    await sameLists(`${name}: a class added`);
    await ok(on(proc, 'admin', `/api/cours/${id}`, { method: 'PATCH', body: { class_ids: [cls.B] } }));
    await sameLists(`${name}: a class removed`);
    assert.equal((await on(proc, 'admin', `/api/users/classes/${cls.A}/members/${s.users.dan.id}`, { method: 'PUT' })).status, 204);
    await sameLists(`${name}: a student changes class`);
    assert.equal((await on(proc, 'admin', `/api/users/classes/${cls.B}/members/${s.users.dan.id}`, { method: 'PUT' })).status, 204);
    await sameLists(`${name}: back to the first class`);
    await ok(on(proc, 'admin', `/api/cours/${id}`, { method: 'PATCH', body: { class_ids: [cls.A] } }));
    staleCursor = await cursorAt('alice', id);
    await sameLists(`${name}: before the deletion`);
    assert.equal((await on(proc, 'admin', `/api/cours/${id}`, { method: 'DELETE' })).status, 204);
    await sameLists(`${name}: course deleted`);
  }
});

test('random interleavings of writes and reads never give a card or a list other than the fresh one', async () => {
  let seed = 20261203;
  const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const students = ['alice', 'bob', 'chloe'];
  const e = await newEval(A, 'teacher', courses.maths, 'Aléatoire');
  for (let i = 0; i < 40; i++) {
    const proc = rnd(2) ? A : C;
    switch (rnd(5)) {
      case 0: await putGrades(proc, 'teacher', e.id, [grade(students[rnd(3)], rnd(21))]); break;
      case 1: await ok(on(proc, 'teacher', `/api/notes/evaluations/${e.id}`, { method: 'PATCH', body: { coefficient: 1 + rnd(4) } })); break;
      case 2: await ok(on(proc, 'admin', `/api/users/${s.users[students[rnd(3)]].id}`, { method: 'PATCH', body: { family_name: `Nom${rnd(100)}` } })); break;
      case 3: await ok(on(proc, 'teacher', `/api/cours/${courses.maths}`, { method: 'PATCH', body: { title: `Maths ${rnd(100)}` } })); break;
      default: break; // reads only
    }
    const v = views[rnd(views.length)];
    const ref = await on(R, v[0], path(v));
    const got = await on(A, v[0], path(v));
    assert.deepEqual(got.json, ref.json, `step ${i}: ${v.join(' ')}`);
    const [who, p] = lists[rnd(lists.length)];
    assert.deepEqual((await on(A, who, p)).json, (await on(R, who, p)).json, `step ${i}: ${who} ${p}`);
  }
  assert.ok(await hits() > 0);
});
