// The cours service against a real `ent serve`: the issue's "Done when" (a teacher creates a
// course for a class and uploads a PDF; a student of that class lists it, downloads the PDF byte
// for byte, and the teacher sees the view; a student of another class gets 404 on the course and
// the file; an upload over the limit gets 413 and stores nothing), then the route × role ×
// ownership table, publication dates, reordering, replacing and deleting files (no orphan blob),
// search and pagination, consultations in the GDPR export and erasure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startEnt, assertProblem } from './lib/ent.mjs';
import { school, until } from './lib/school.mjs';

const LIMIT = 2 << 20;
let ent, s, as, token, users;
const classes = {};

async function fetchBytes(who, path, headers = {}) {
  const res = await fetch(ent.url + path, { headers: { Authorization: `Bearer ${token(who)}`, ...headers } });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}
function pdf(text) {
  return Buffer.concat([Buffer.from(`%PDF-1.4\n% ${text}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`), randomBytes(2000)]);
}
async function uploadPdf(who, text = 'cours') {
  const fd = new FormData();
  const bytes = pdf(text);
  fd.append('file', new Blob([bytes], { type: 'application/pdf' }), `${text}.pdf`);
  const res = await fetch(ent.url + '/api/fichiers', { method: 'POST', body: fd, headers: { Authorization: `Bearer ${token(who)}` } });
  const json = await res.json();
  assert.equal(res.status, 201, JSON.stringify(json));
  return { id: json.id, bytes };
}
/** Stored objects: files under ENT_DATA/blobs, or s3rver's objects when ENT_TEST_S3_DATA is set; else null. */
function blobCount() {
  const s3 = process.env.ENT_BLOB && !process.env.ENT_BLOB.startsWith('file:');
  if (s3 && !process.env.ENT_TEST_S3_DATA) return null;
  const root = s3 ? join(process.env.ENT_TEST_S3_DATA, 'cours') : join(ent.dataDir, 'blobs');
  let n = 0;
  const walk = (d) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (!s3 || e.name.endsWith('._S3rver_object')) n++;
    }
  };
  walk(root);
  return n;
}
async function newCourse(who, body) {
  const r = await as(who, '/api/cours', { method: 'POST', body });
  assert.equal(r.status, 201, r.text);
  return r.json;
}
async function newMaterial(who, coursId, body) {
  const r = await as(who, `/api/cours/${coursId}/materials`, { method: 'POST', body });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

before(async () => {
  ent = await startEnt({ env: { ENT_MAX_UPLOAD: String(LIMIT) } });
  s = school(ent);
  ({ as, token, users } = s);
  s.add('admin', 'admin@c.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@c.test', 'Paul Prof', 'enseignant');
  s.add('teacher2', 'prof2@c.test', 'Pia Autre', 'enseignant');
  s.add('studentA', 'a1@c.test', 'Alice Alpha', 'etudiant');
  s.add('studentA2', 'a2@c.test', 'Anna Alpha', 'etudiant');
  s.add('studentB', 'b1@c.test', 'Bruno Beta', 'etudiant');
  s.add('nobody', 'n@c.test', 'Nina Sansclasse', 'etudiant');
  for (const name of ['A', 'B']) {
    const r = await as('admin', '/api/users/classes', { method: 'POST', body: { name: `Classe ${name}` } });
    assert.equal(r.status, 201, r.text);
    classes[name] = r.json.id;
  }
  // Teachers are assigned to the classes they link courses to (an administrator does it).
  for (const [who, cls] of [['studentA', 'A'], ['studentA2', 'A'], ['studentB', 'B'], ['teacher', 'A'], ['teacher', 'B'], ['teacher2', 'B']]) {
    const r = await as('admin', `/api/users/classes/${classes[cls]}/members/${users[who].id}`, { method: 'PUT' });
    assert.equal(r.status, 204, r.text);
  }
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
  assert.deepEqual(errors, []);
});

test('done when: course for a class, PDF, student download byte for byte, the teacher sees the view', async () => {
  const c = await newCourse('teacher', { title: 'Mathématiques 6e', subject: 'maths', description: 'Fractions', class_ids: [classes.A] });
  assert.deepEqual(c.teacher_ids, [users.teacher.id]);
  assert.deepEqual(c.class_ids, [classes.A]);
  const f = await uploadPdf('teacher', 'fractions');
  const m = await newMaterial('teacher', c.id, { title: 'Les fractions', section: 'Chapitre 1', file_id: f.id });
  assert.equal(m.file_id, f.id);
  assert.equal(m.published, true);

  // The student of class A lists the course and its materials, and downloads the PDF.
  const list = await as('studentA', '/api/cours');
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.items.map((x) => x.id), [c.id]);
  const mats = await as('studentA', `/api/cours/${c.id}/materials`);
  assert.deepEqual(mats.json.items.map((x) => x.id), [m.id]);
  assert.equal((await as('studentA', `/api/cours/${c.id}/materials/${m.id}`)).status, 200);
  const d = await fetchBytes('studentA', `/api/cours/${c.id}/materials/${m.id}/file`);
  assert.equal(d.status, 200);
  assert.ok(d.body.equals(f.bytes));
  assert.equal(d.headers.get('content-type'), 'application/pdf');
  assert.equal(d.headers.get('x-content-type-options'), 'nosniff');
  const d2 = await fetchBytes('studentA', `/api/fichiers/${f.id}/content`);
  assert.ok(d2.body.equals(f.bytes));
  assert.equal((await as('studentA', `/api/fichiers/${f.id}`)).status, 200);

  // The teacher sees who viewed it and who has not yet.
  const v = await as('teacher', `/api/cours/${c.id}/materials/${m.id}/views`);
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.viewed_count, 1);
  assert.equal(v.json.students_total, 2);
  assert.deepEqual(v.json.viewed.map((x) => x.id), [users.studentA.id]);
  assert.equal(v.json.viewed[0].name, 'Alice Alpha');
  assert.deepEqual(v.json.not_viewed.map((x) => x.id), [users.studentA2.id]);

  // A student of another class (or of none) gets 404 on the course, the material and the file.
  for (const who of ['studentB', 'nobody']) {
    assert.deepEqual((await as(who, '/api/cours')).json.items, []);
    assertProblem(assert, await as(who, `/api/cours/${c.id}`), 404);
    assertProblem(assert, await as(who, `/api/cours/${c.id}/materials`), 404);
    assertProblem(assert, await as(who, `/api/cours/${c.id}/materials/${m.id}`), 404);
    assertProblem(assert, await as(who, `/api/cours/${c.id}/materials/${m.id}/file`), 404);
    assertProblem(assert, await as(who, `/api/fichiers/${f.id}/content`), 404);
    assertProblem(assert, await as(who, `/api/fichiers/${f.id}`), 404);
  }
  // Their attempts were not recorded as views.
  const v2 = await as('teacher', `/api/cours/${c.id}/materials/${m.id}/views`);
  assert.equal(v2.json.viewed_count, 1);

  // An upload over the limit gets 413 and stores nothing.
  const blobs = blobCount();
  const files = (await as('teacher', '/api/fichiers?limit=500')).json.items.length;
  const big = await as('teacher', '/api/fichiers?name=big.pdf', { method: 'POST', raw: true, body: randomBytes(LIMIT + 1), headers: { 'Content-Type': 'application/pdf' } });
  assertProblem(assert, big, 413);
  assert.equal((await as('teacher', '/api/fichiers?limit=500')).json.items.length, files);
  assert.equal(blobCount(), blobs);
});

test('route × role × ownership for courses', async () => {
  const c = await newCourse('teacher', { title: 'Histoire', subject: 'histoire', class_ids: [classes.A] });
  // Students cannot create or change; another teacher does not see it; admins do everything.
  assertProblem(assert, await as('studentA', '/api/cours', { method: 'POST', body: { title: 'x' } }), 403);
  assertProblem(assert, await as('studentA', `/api/cours/${c.id}`, { method: 'PATCH', body: { title: 'x' } }), 403);
  assertProblem(assert, await as('studentA', `/api/cours/${c.id}`, { method: 'DELETE' }), 403);
  assertProblem(assert, await as('studentA', `/api/cours/${c.id}/materials`, { method: 'POST', body: { title: 'x' } }), 403);
  const views = await as('studentA', `/api/cours/${c.id}/materials/${c.id}/views`);
  assertProblem(assert, views, 403);
  assert.deepEqual([views.json.code, views.json.detail], ['forbidden', 'Votre rôle ne permet pas cette action.']);
  assert.equal((await as('studentA', `/api/cours/${c.id}`)).status, 200);
  for (const [method, path, body] of [
    ['GET', `/api/cours/${c.id}`], ['PATCH', `/api/cours/${c.id}`, { title: 'Piraté' }], ['DELETE', `/api/cours/${c.id}`],
    ['GET', `/api/cours/${c.id}/materials`], ['POST', `/api/cours/${c.id}/materials`, { title: 'x' }],
    ['PUT', `/api/cours/${c.id}/materials/order`, { ids: [] }],
  ]) assertProblem(assert, await as('teacher2', path, { method, body }), 404);
  assert.ok(!(await as('teacher2', '/api/cours')).json.items.some((x) => x.id === c.id));
  assertProblem(assert, await as(null, '/api/cours'), 401);
  assertProblem(assert, await as('teacher', '/api/cours/00000000-0000-4000-8000-000000000000'), 404);
  assertProblem(assert, await as('teacher', '/api/cours/nope'), 404);
  // The teacher edits; the admin edits and adds the second teacher, who then sees it.
  const p = await as('teacher', `/api/cours/${c.id}`, { method: 'PATCH', body: { title: 'Histoire-Géo', description: null } });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.title, 'Histoire-Géo');
  const p2 = await as('admin', `/api/cours/${c.id}`, { method: 'PATCH', body: { teacher_ids: [users.teacher.id, users.teacher2.id] } });
  assert.equal(p2.status, 200, p2.text);
  assert.equal((await as('teacher2', `/api/cours/${c.id}`)).status, 200);
  assert.ok((await as('admin', '/api/cours?limit=500')).json.items.some((x) => x.id === c.id));
  // Validation: unknown fields, bad class ids, a student as teacher, wrong types.
  for (const body of [{ title: '' }, { title: 'x', role: 'admin' }, { title: 'x', class_ids: ['00000000-0000-4000-8000-000000000000'] },
    { title: 'x', teacher_ids: [users.studentA.id] }, { title: 7 }, { title: 'x', school_year: '2026' }]) {
    const r = await as('admin', '/api/cours', { method: 'POST', body });
    assertProblem(assert, r, 400);
    // In French, field by field, each with its code.
    assert.deepEqual([r.json.code, r.json.title, r.json.detail], ['validation', 'Champs invalides', 'Certains champs du cours sont à corriger.']);
    for (const [field, message] of Object.entries(r.json.errors)) {
      assert.doesNotMatch(message, /\b(is|are|must|not|the|no such|unknown)\b/, `${field}: ${message}`);
      assert.equal(typeof r.json.codes[field], 'string');
    }
  }
  assertProblem(assert, await as('teacher', '/api/cours', { method: 'POST', raw: true, body: 'title=x', headers: { 'Content-Type': 'text/plain' } }), 415);
  // The second teacher deletes it.
  assert.equal((await as('teacher2', `/api/cours/${c.id}`, { method: 'DELETE' })).status, 204);
  assertProblem(assert, await as('teacher', `/api/cours/${c.id}`), 404);
});

test('materials: publication dates, order, file replacement and deletion leave no orphan', async () => {
  const c = await newCourse('teacher', { title: 'Physique', subject: 'physique', class_ids: [classes.A, classes.B] });
  const f1 = await uploadPdf('teacher', 'optique');
  const future = new Date(Date.now() + 86400000).toISOString();
  const m1 = await newMaterial('teacher', c.id, { title: 'Optique', section: 'S1', file_id: f1.id });
  const m2 = await newMaterial('teacher', c.id, { title: 'Mécanique', section: 'S1' });
  const hidden = await newMaterial('teacher', c.id, { title: 'Examen', section: 'S2', publish_at: future });
  assert.equal(hidden.published, false);
  assert.deepEqual([m1.position, m2.position], [0, 1]);
  // Students see only what is published; teachers see everything.
  assert.deepEqual((await as('studentB', `/api/cours/${c.id}/materials`)).json.items.map((x) => x.id), [m1.id, m2.id]);
  assert.deepEqual((await as('teacher', `/api/cours/${c.id}/materials`)).json.items.map((x) => x.id), [m1.id, m2.id, hidden.id]);
  assertProblem(assert, await as('studentB', `/api/cours/${c.id}/materials/${hidden.id}`), 404);
  // A file of an unpublished material is not readable by students, by either route.
  const fh = await uploadPdf('teacher', 'examen');
  assert.equal((await as('teacher', `/api/cours/${c.id}/materials/${hidden.id}`, { method: 'PATCH', body: { file_id: fh.id } })).status, 200);
  assertProblem(assert, await as('studentB', `/api/cours/${c.id}/materials/${hidden.id}/file`), 404);
  assertProblem(assert, await as('studentB', `/api/fichiers/${fh.id}/content`), 404);
  assert.equal((await fetchBytes('teacher', `/api/cours/${c.id}/materials/${hidden.id}/file`)).status, 200);
  // The download route's other 404s: a material without a file, one of another course, an id
  // that is not one, a course the caller does not follow; each says which.
  const elsewhere = await newMaterial('teacher', (await newCourse('teacher', { title: 'Ailleurs', class_ids: [classes.B] })).id, { title: 'x', file_id: (await uploadPdf('teacher', 'ailleurs')).id });
  const detail = async (who, mid, coursId = c.id) => {
    const r = await as(who, `/api/cours/${coursId}/materials/${mid}/file`);
    assertProblem(assert, r, 404);
    assert.equal(r.json.code, 'not_found');
    assert.equal(r.json.title, 'Introuvable');
    return r.json.detail;
  };
  for (const who of ['studentB', 'teacher']) {
    assert.equal(await detail(who, m2.id), "Ce support n'a pas de fichier.", who);
    assert.equal(await detail(who, elsewhere.id), "Ce support n'existe pas.", who);
    assert.equal(await detail(who, 'not-a-material'), "Ce support n'existe pas.", who);
  }
  const noFileHidden = await newMaterial('teacher', c.id, { title: 'Brouillon', section: 'S2', publish_at: future });
  assert.equal(await detail('studentB', noFileHidden.id), "Ce support n'existe pas.");
  assert.equal(await detail('teacher', noFileHidden.id), "Ce support n'a pas de fichier.");
  assert.equal(await detail('nobody', m1.id), "Ce cours n'existe pas.");
  assert.equal((await as('teacher', `/api/cours/${c.id}/materials/${noFileHidden.id}`, { method: 'DELETE' })).status, 204);
  // Reorder.
  const o = await as('teacher', `/api/cours/${c.id}/materials/order`, { method: 'PUT', body: { ids: [m2.id, m1.id] } });
  assert.equal(o.status, 200, o.text);
  assert.deepEqual(o.json.items.filter((x) => x.section === 'S1').map((x) => x.id), [m2.id, m1.id]);
  const badOrder = await as('teacher', `/api/cours/${c.id}/materials/order`, { method: 'PUT', body: { ids: [c.id] } });
  assertProblem(assert, badOrder, 400);
  assert.deepEqual([badOrder.json.detail, badOrder.json.errors], ["L'ordre demandé est invalide.", { ids: "contient un support qui n'est pas dans ce cours" }]);
  // A file that is not the caller's, or already used, cannot be attached.
  const other = await uploadPdf('teacher2', 'autre');
  const notMine = await as('teacher', `/api/cours/${c.id}/materials`, { method: 'POST', body: { title: 'x', file_id: other.id } });
  assertProblem(assert, notMine, 400);
  assert.equal(notMine.json.errors.file_id, "ne désigne pas un fichier que vous avez déposé et qui n'est pas encore utilisé");
  assertProblem(assert, await as('teacher', `/api/cours/${c.id}/materials`, { method: 'POST', body: { title: 'x', file_id: f1.id } }), 400);
  assertProblem(assert, await as('teacher', `/api/fichiers/${f1.id}`, { method: 'DELETE' }), 409);
  // Replacing the file deletes the old one and its blob.
  const blobs = blobCount();
  const f2 = await uploadPdf('teacher', 'optique-v2');
  const r = await as('teacher', `/api/cours/${c.id}/materials/${m1.id}`, { method: 'PATCH', body: { file_id: f2.id, title: 'Optique (v2)' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.file_id, f2.id);
  assertProblem(assert, await as('teacher', `/api/fichiers/${f1.id}`), 404);
  // Blobs go by the file service's sweeper, after the transaction (its trash): waited for.
  const blobsBecome = async (n) => assert.ok(await until(() => blobCount() === n, 40), `blobs: ${blobCount()} instead of ${n}`);
  if (blobs !== null) await blobsBecome(blobs);
  const d = await fetchBytes('studentA', `/api/cours/${c.id}/materials/${m1.id}/file`);
  assert.ok(d.body.equals(f2.bytes));
  // Deleting a material deletes its file; deleting the course deletes the rest.
  assert.equal((await as('teacher', `/api/cours/${c.id}/materials/${m1.id}`, { method: 'DELETE' })).status, 204);
  assertProblem(assert, await as('teacher', `/api/fichiers/${f2.id}`), 404);
  assertProblem(assert, await as('teacher', `/api/cours/${c.id}/materials/${m1.id}`), 404);
  if (blobs !== null) await blobsBecome(blobs - 1);
  assert.equal((await as('teacher', `/api/cours/${c.id}`, { method: 'DELETE' })).status, 204);
  assertProblem(assert, await as('admin', `/api/fichiers/${fh.id}`), 404);
  if (blobs !== null) await blobsBecome(blobs - 2);
  // Validation of materials.
  const c2 = await newCourse('teacher', { title: 'Chimie' });
  for (const body of [{}, { title: '' }, { title: 'x', publish_at: 'demain' }, { title: 'x', file_id: 'abc' }, { title: 'x', position: -1 }, { title: 'x', extra: 1 }]) {
    assertProblem(assert, await as('teacher', `/api/cours/${c2.id}/materials`, { method: 'POST', body }), 400);
  }
});

test('search, filters and pagination of GET /api/cours', async () => {
  const made = [];
  for (let i = 0; i < 5; i++) made.push(await newCourse('teacher2', { title: `Anglais ${i}`, subject: i % 2 ? 'anglais' : 'langues', school_year: '2030-2031' }));
  const q = await as('teacher2', '/api/cours?q=ANGLAIS');
  assert.equal(q.json.items.length, 5);
  assert.equal((await as('teacher2', '/api/cours?subject=anglais')).json.items.length, 2);
  assert.equal((await as('teacher2', '/api/cours?q=100%25')).json.items.length, 0);
  assert.equal((await as('admin', '/api/cours?school_year=2030-2031')).json.items.length, 5);
  const seen = [];
  let cursor = null;
  do {
    const r = await as('teacher2', `/api/cours?limit=2&school_year=2030-2031${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    assert.equal(r.status, 200);
    seen.push(...r.json.items.map((x) => x.title));
    cursor = r.json.next_cursor;
    if (cursor) {
      // The next link keeps the filters and the page size.
      const link = r.headers.get('link').match(/^<([^>]+)>; rel="next"$/)[1];
      const u = new URL(link, ent.url);
      assert.equal(u.pathname, '/api/cours');
      assert.equal(u.searchParams.get('school_year'), '2030-2031');
      assert.equal(u.searchParams.get('limit'), '2');
      assert.equal(u.searchParams.get('cursor'), cursor);
    }
  } while (cursor);
  assert.deepEqual(seen, ['Anglais 0', 'Anglais 1', 'Anglais 2', 'Anglais 3', 'Anglais 4']);
  assertProblem(assert, await as('teacher2', '/api/cours?limit=0'), 400);
  assertProblem(assert, await as('teacher2', '/api/cours?cursor=zzz'), 400);
});

// Walks GET path page by page (the Link header's next), checking that the cursor and the filters
// travel in it; returns the ids in the order the pages gave them.
async function walkCourses(who, path) {
  const ids = [];
  for (let pages = 0; path; pages++) {
    assert.ok(pages < 100, 'the walk ends');
    const r = await as(who, path);
    assert.equal(r.status, 200, r.text);
    ids.push(...r.json.items.map((x) => x.id));
    const link = r.headers.get('link');
    if (!r.json.next_cursor) {
      assert.equal(link, null);
      break;
    }
    path = link.match(/^<([^>]+)>; rel="next"$/)[1];
    assert.equal(new URL(path, ent.url).searchParams.get('cursor'), r.json.next_cursor);
  }
  return ids;
}

test('every role\'s course list pages in (title, id) order, with and without filters', async () => {
  // Two courses share a title: the id breaks the tie, on both sides of a page boundary.
  const mk = (title, subject, classIds, teacher = 'teacher') => newCourse(teacher, { title, subject, class_ids: classIds });
  const zeta = await mk('Pagin Zeta', 'pagin-x', [classes.B]);
  const alpha1 = await mk('Pagin Alpha', 'pagin-x', [classes.B, classes.A]);
  const alpha2 = await mk('Pagin Alpha', 'pagin-y', [classes.B]);
  const mu = await mk('Pagin Mu', null, [classes.B], 'teacher2');
  const onlyA = await mk('Pagin Beta', 'pagin-x', [classes.A]);
  const alphas = [alpha1, alpha2].map((x) => x.id).sort();
  const expected = [...alphas, mu.id, zeta.id];
  for (const who of ['studentB', 'teacher', 'teacher2', 'admin']) {
    const all = await as(who, '/api/cours?limit=500');
    assert.equal(all.status, 200);
    const ids = all.json.items.map((x) => x.id);
    const sorted = [...all.json.items].sort((x, y) => (x.title < y.title ? -1 : x.title > y.title ? 1 : x.id < y.id ? -1 : 1));
    assert.deepEqual(ids, sorted.map((x) => x.id), `${who}: ordered by title, then id`);
    assert.deepEqual(await walkCourses(who, '/api/cours?limit=1'), ids, `${who}: pages of one give the same list`);
    assert.deepEqual(await walkCourses(who, '/api/cours?limit=2'), ids, `${who}: pages of two give the same list`);
  }
  // A student sees their class's courses only, searched and filtered like anyone's.
  const b = (await as('studentB', '/api/cours?limit=500')).json.items.map((x) => x.id);
  assert.ok(!b.includes(onlyA.id));
  assert.deepEqual(await walkCourses('studentB', '/api/cours?limit=1&q=PAGIN'), expected);
  assert.deepEqual(await walkCourses('studentB', '/api/cours?limit=1&subject=pagin-x'), [alpha1.id, zeta.id]);
  assert.deepEqual(await walkCourses('studentB', '/api/cours?limit=1&q=pagin%20alpha&school_year=' + alpha1.school_year), alphas);
  assert.deepEqual(await walkCourses('studentA', '/api/cours?limit=1&q=pagin'), [alpha1.id, onlyA.id]);
  // A teacher sees the courses they teach; an administrator everything, filtered the same way.
  assert.deepEqual(await walkCourses('teacher2', '/api/cours?limit=1&q=pagin'), [mu.id]);
  assert.deepEqual(await walkCourses('teacher', '/api/cours?limit=2&subject=pagin-x'), [alpha1.id, onlyA.id, zeta.id]);
  assert.deepEqual(await walkCourses('admin', '/api/cours?limit=1&q=pagin'), [...alphas, onlyA.id, mu.id, zeta.id]);
  assert.deepEqual(await walkCourses('admin', '/api/cours?limit=3&subject=pagin-y'), [alpha2.id]);
  // The cursor carries the (title, id) of the page's last course (core/page.h): the next page
  // starts after that place even when the course has gone since.
  const nu = await mk('Pagin Nu', null, [classes.B]);
  const upTo = await as('studentB', '/api/cours?limit=4&q=pagin');
  assert.deepEqual(upTo.json.items.map((x) => x.id), [...alphas, mu.id, nu.id]);
  assert.equal((await as('admin', `/api/cours/${nu.id}`, { method: 'DELETE' })).status, 204);
  const rest = `/api/cours?limit=5&q=pagin&cursor=${encodeURIComponent(upTo.json.next_cursor)}`;
  assert.deepEqual(await walkCourses('studentB', rest), [zeta.id]);
  // A cursor of the former format (a course id), or of another list, is refused, whoever asks.
  const usersCursor = (await as('admin', '/api/users?limit=1')).json.next_cursor;
  assert.ok(usersCursor);
  for (const who of ['studentB', 'teacher', 'admin', 'nobody']) {
    for (const cursor of [onlyA.id, '00000000-0000-4000-8000-000000000000', encodeURIComponent(usersCursor)]) {
      const r = await as(who, `/api/cours?cursor=${cursor}`);
      assertProblem(assert, r, 400);
      assert.equal(r.json.errors.cursor, "n'est pas un curseur émis par ce serveur : rechargez la liste");
      assert.equal(r.json.codes.cursor, 'bad_cursor');
    }
  }
  // A student in no class has no course.
  assert.deepEqual((await as('nobody', '/api/cours?q=pagin')).json, { items: [], next_cursor: null });
});

test('a listed course is the course itself, whatever characters its fields hold', async () => {
  const odd = await newCourse('teacher2', {
    title: 'Odd "guillemets" \\ \u00e9t\u00e9 \t\b\f\u0001\u001f \u2028 \ud83d\ude00 </script>',
    subject: null, description: 'ligne 1\nligne 2\r\n?', class_ids: [classes.B],
  });
  for (const who of ['teacher2', 'studentB', 'admin']) {
    const r = await as(who, '/api/cours?limit=500&q=guillemets');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.items, [(await as(who, `/api/cours/${odd.id}`)).json], who);
  }
  assert.equal(odd.subject, null);
  assert.ok(odd.title.includes('\u0001') && odd.title.includes('\u{1F600}'));
});

test('consultations are in the GDPR export and erased with the user', async () => {
  const c = await newCourse('teacher', { title: 'SVT', class_ids: [classes.A] });
  const m = await newMaterial('teacher', c.id, { title: 'La cellule' });
  assert.equal((await as('studentA2', `/api/cours/${c.id}/materials/${m.id}`)).status, 200);
  const ex = await as('studentA2', '/api/users/me/export');
  assert.equal(ex.status, 200, ex.text);
  assert.ok(ex.json.cours.consultations.some((x) => x.material_id === m.id && x.action === 'view'));
  assert.equal((await as('admin', `/api/users/${users.studentA2.id}`, { method: 'DELETE' })).status, 204);
  const v = await as('teacher', `/api/cours/${c.id}/materials/${m.id}/views`);
  assert.equal(v.json.viewed_count, 0);
});

test('ent demo adds a course per demo class with real PDF materials, idempotently', async () => {
  const r = ent.run(['demo']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /3 courses created now/);
  const again = ent.run(['demo']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /0 courses created now/);
  users.demoStudent = { email: 'lea.dubois@demo.ent.local' }; // first student of 6e A
  users.demoTeacher = { email: 'claire.martin@demo.ent.local' };
  const list = await as('demoStudent', '/api/cours');
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.json.items.map((x) => x.title), ['Mathématiques — 6e A']);
  const c = list.json.items[0];
  const mats = await as('demoStudent', `/api/cours/${c.id}/materials`);
  assert.equal(mats.json.items.length, 2);
  for (const m of mats.json.items) {
    const d = await fetchBytes('demoStudent', `/api/cours/${c.id}/materials/${m.id}/file`);
    assert.equal(d.status, 200);
    assert.equal(d.headers.get('content-type'), 'application/pdf');
    assert.equal(d.body.subarray(0, 5).toString(), '%PDF-');
    assert.ok(d.body.length > 5000);
  }
  const v = await as('demoTeacher', `/api/cours/${c.id}/materials/${mats.json.items[0].id}/views`);
  assert.equal(v.json.viewed_count, 1);
  assert.equal(v.json.students_total, 25);
});
