// The messagerie's cached answers (core/rcache.h, docs/read-paths.md): the inbox's pages and the
// folders' counts can never be stale. As in cache.test.mjs, three processes share one database: A
// and C keep an answer cache, R keeps none (ENT_CACHE_MB=0) and is the reference. After every kind
// of write that changes a mailbox (a delivery, a read mark and its removal, an acknowledgement, a
// move to the trash and back, a move to one's own folder, a folder renamed and deleted, a recall, a
// deletion, a sender's new name, a draft sent, a reply), written through A or through C, each view
// read from A (twice: the second is a hit) equals R's, page by page following the cursors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api } from './lib/ent.mjs';
import { cacheTrio } from './lib/cache.mjs';
import { school, ok } from './lib/school.mjs';

let trio, A, C, R, s, K;

function on(proc, who, path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (who) headers.Authorization = `Bearer ${s.token(who)}`;
  return api(proc, path, { ...opts, headers });
}

const readers = ['alice', 'bob', 'teacher'];

/** The pages of who's inbox (limit 2, following the cursors) and their folders, as proc answers. */
async function views(proc, who) {
  const out = [];
  let path = '/api/messages?folder=inbox&limit=2';
  for (let i = 0; path && i < 20; i++) {
    const r = await on(proc, who, path);
    out.push({ path, status: r.status, json: r.json, link: r.headers.get('link') });
    path = r.json && r.json.next_cursor ? `/api/messages?folder=inbox&limit=2&cursor=${encodeURIComponent(r.json.next_cursor)}` : null;
  }
  const u = await on(proc, who, '/api/messages?limit=3&unread=true');
  out.push({ path: 'unread', status: u.status, json: u.json, link: u.headers.get('link') });
  const f = await on(proc, who, '/api/messages/folders');
  out.push({ path: 'folders', status: f.status, json: f.json });
  return out;
}

/** Every view from A, read twice (the second may be a hit), equals the reference computed by R. */
async function same(label) {
  for (const who of readers) {
    const ref = await views(R, who);
    for (let i = 0; i < 2; i++)
      assert.deepEqual(await views(A, who), ref, `${label}: ${who} (read ${i + 1} from A)`);
  }
}

const hits = () => trio.hits(A);

before(async () => {
  trio = await cacheTrio();
  ({ A, C, R } = trio);
  s = school(A);
  s.add('admin', 'admin@mc.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@mc.test', 'Paul Prof', 'enseignant');
  s.add('alice', 'alice@mc.test', 'Alice Alpha', 'etudiant');
  s.add('bob', 'bob@mc.test', 'Bob Beta', 'etudiant');
  K = await s.newClass('admin', '3e K');
  for (const k of ['teacher', 'alice', 'bob']) await s.join('admin', K, k);
});

after(async () => { await trio.stop(); });

const user = (k) => ({ type: 'user', id: s.users[k].id });
const send = (proc, who, body) => ok(on(proc, who, '/api/messages', { method: 'POST', body }), 201);

test('the inbox and the folders from the cache equal those of a process without one, after every kind of write', async () => {
  await same('empty');
  const before0 = await hits();
  await same('empty again');
  assert.ok((await hits()) > before0, 'the second reads are hits');
  for (const proc of [A, C]) {
    const n = proc === A ? 'A' : 'C';
    const m1 = await send(proc, 'teacher', { subject: `Sortie ${n}`, body: 'Rendez-vous à 8 h.', to: [{ type: 'class', id: K }] });
    await same(`${n}: a class message`);
    const m2 = await send(proc, 'teacher', { subject: `Annonce ${n}`, body: 'À confirmer.', to: [{ type: 'class', id: K }], ack_required: true });
    const m3 = await send(proc, 'alice', { subject: `Question ${n}`, body: 'Monsieur ?', to: [user('teacher')], cc: [user('bob')] });
    await same(`${n}: three more`);
    await ok(on(proc, 'alice', `/api/messages/${m1.id}/read`, { method: 'PUT' }), 204);
    await same(`${n}: read`);
    await ok(on(proc, 'alice', `/api/messages/${m1.id}/read`, { method: 'DELETE' }), 204);
    await same(`${n}: unread`);
    await ok(on(proc, 'bob', `/api/messages/${m2.id}/ack`, { method: 'POST' }));
    await same(`${n}: acknowledged`);
    await ok(on(proc, 'bob', `/api/messages/${m1.id}/move`, { method: 'POST', body: { folder: 'trash' } }), 204);
    await same(`${n}: to the trash`);
    await ok(on(proc, 'bob', `/api/messages/${m1.id}/restore`, { method: 'POST' }));
    await same(`${n}: restored`);
    const fo = await ok(on(proc, 'alice', '/api/messages/folders', { method: 'POST', body: { name: `Sorties ${n}` } }), 201);
    await ok(on(proc, 'alice', `/api/messages/${m1.id}/move`, { method: 'POST', body: { folder: fo.id } }), 204);
    await same(`${n}: to a folder`);
    await ok(on(proc, 'alice', `/api/messages/folders/${fo.id}`, { method: 'PATCH', body: { name: `Voyages ${n}` } }));
    await same(`${n}: folder renamed`);
    await ok(on(proc, 'alice', `/api/messages/folders/${fo.id}`, { method: 'DELETE' }), 204);
    await same(`${n}: folder deleted, its messages back in the inbox`);
    await ok(on(proc, 'admin', `/api/users/${s.users.teacher.id}`, { method: 'PATCH', body: { family_name: `Prof-${n}` } }));
    await same(`${n}: the sender's new name`);
    const r = await ok(on(proc, 'teacher', `/api/messages/${m3.id}/reply`, { method: 'POST', body: { body: 'Oui ?', all: true } }), 201);
    assert.ok(r.id);
    await same(`${n}: a reply to all`);
    const d = await send(proc, 'teacher', { subject: `Brouillon ${n}`, body: 'plus tard', to: [user('bob')], draft: true });
    await same(`${n}: a draft, seen by nobody else`);
    await ok(on(proc, 'teacher', `/api/messages/${d.id}/send`, { method: 'POST', body: {} }));
    await same(`${n}: the draft sent`);
    const gone = await ok(on(proc, 'teacher', `/api/messages/${m2.id}/recall`, { method: 'POST' }));
    assert.ok(gone);
    await same(`${n}: recalled`);
    await ok(on(proc, 'bob', `/api/messages/${m3.id}`, { method: 'DELETE' }), 204);
    await same(`${n}: deleted`);
  }
});
