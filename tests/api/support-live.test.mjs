// The support desk's attachments, assignable staff and live updates against a real `ent serve`:
// files of the fichiers service attached to a ticket and to answers, downloaded by the requester
// and the ticket's staff only (an internal note's by its staff only; anyone else 404, through the
// support route and through /api/fichiers alike); the list of who a ticket may be assigned to and
// the refusal of anyone else (400, code not_assignable); the ticket's event stream telling its
// requester and staff of an answer or a state change, never the requester of an internal note.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, api, assertProblem, noise, clusterProcess } from './lib/ent.mjs';
import { school, ok, NIL } from './lib/school.mjs';
import { openEvents } from './lib/sse.mjs';

let ent, s;

before(async () => {
  ent = await startEnt();
  s = school(ent);
  s.add('admin', 'admin@live.test', 'Ada Admin', 'admin');
  s.add('admin2', 'admin2@live.test', 'Abel Admin', 'admin');
  s.add('teacher', 'prof@live.test', 'Paul Prof', 'enseignant');
  s.add('teacher2', 'prof2@live.test', 'Pia Autre', 'enseignant');
  s.add('alice', 'alice@live.test', 'Alice Alpha', 'etudiant');
  s.add('bob', 'bob@live.test', 'Bob Beta', 'etudiant');
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
  assert.deepEqual(errors, []);
});

const newTicket = (who, extra = {}) => ok(s.as(who, '/api/support/tickets', {
  method: 'POST', body: { subject: "Capture d'écran de l'erreur", description: 'La page affiche une erreur.', category: 'courses', ...extra },
}), 201);
const patch = (who, id, body) => s.as(who, `/api/support/tickets/${id}`, { method: 'PATCH', body });
const comment = (who, id, body) => s.as(who, `/api/support/tickets/${id}/comments`, { method: 'POST', body });
const attach = (who, id, fileIds) => s.as(who, `/api/support/tickets/${id}/attachments`, { method: 'POST', body: { file_ids: fileIds } });
const list = (who, id) => s.as(who, `/api/support/tickets/${id}/attachments`);
const get = (who, path) => api(ent, path, { headers: { Authorization: `Bearer ${s.token(who)}` } });

async function upload(who, bytes, name) {
  const res = await fetch(`${ent.url}/api/fichiers?name=${encodeURIComponent(name)}`, {
    method: 'POST', body: bytes, headers: { Authorization: `Bearer ${s.token(who)}`, 'Content-Type': 'application/octet-stream' },
  });
  const j = await res.json();
  assert.equal(res.status, 201, JSON.stringify(j));
  return j.id;
}

let t1;
const files = {};
test('attachments: the requester and the staff attach and download; an internal note\'s file is the staff\'s only; anyone else 404', async () => {
  t1 = await newTicket('alice');
  const shot = noise(3000);
  files.shot = await upload('alice', shot, 'capture.png');
  files.log = await upload('alice', Buffer.from('Erreur 500 à 10 h 02.\n'), 'journal.txt');
  files.bobs = await upload('bob', Buffer.from('Pas à Alice.'), 'bob.txt');
  files.answer = await upload('admin', Buffer.from('Marche à suivre : vider le cache.'), 'procedure.txt');
  files.note = await upload('admin', Buffer.from('NOTE-INTERNE : journal du serveur.'), 'serveur.txt');

  // The requester attaches two of her files to the ticket.
  let items = (await ok(attach('alice', t1.id, [files.shot, files.log]), 201)).items;
  assert.deepEqual(items.map((a) => [a.name, a.size, a.comment_id, a.internal, a.added_by.id]),
    [['capture.png', 3000, null, false, s.users.alice.id], ['journal.txt', Buffer.byteLength('Erreur 500 à 10 h 02.\n'), null, false, s.users.alice.id]]);
  // Staff answer with a file, and write an internal note with another.
  const pub = await ok(comment('admin', t1.id, { body: 'Voici la marche à suivre.', file_ids: [files.answer] }), 201);
  const note = await ok(comment('admin', t1.id, { body: 'Voir le journal.', internal: true, file_ids: [files.note] }), 201);

  // What each one sees: the requester never the internal note's file; staff everything.
  const mine = (await ok(list('alice', t1.id))).items;
  assert.deepEqual(mine.map((a) => a.file_id), [files.shot, files.log, files.answer]);
  assert.equal(mine[2].comment_id, pub.id);
  const staff = (await ok(list('admin2', t1.id))).items;
  assert.deepEqual(staff.map((a) => a.file_id), [files.shot, files.log, files.answer, files.note]);
  assert.deepEqual([staff[3].comment_id, staff[3].internal], [note.id, true]);

  // Downloads through the ticket: the bytes, as sent.
  const dl = await fetch(`${ent.url}/api/support/tickets/${t1.id}/attachments/${files.shot}`, { headers: { Authorization: `Bearer ${s.token('admin2')}` } });
  assert.equal(dl.status, 200);
  assert.ok(Buffer.from(await dl.arrayBuffer()).equals(shot));
  assert.equal((await get('alice', `/api/support/tickets/${t1.id}/attachments/${files.answer}`)).text, 'Marche à suivre : vider le cache.');
  assert.equal((await get('admin2', `/api/support/tickets/${t1.id}/attachments/${files.note}`)).text, 'NOTE-INTERNE : journal du serveur.');

  // The access property, for every file and every person, through both doors: the requester reads
  // the public files, the staff (admins) all of them, another student and a teacher nothing.
  const door = { ticket: (f) => `/api/support/tickets/${t1.id}/attachments/${f}`, fichiers: (f) => `/api/fichiers/${f}/content` };
  const ticketFiles = [files.shot, files.log, files.answer, files.note];
  for (const who of ['alice', 'admin2', 'bob', 'teacher']) {
    for (const f of ticketFiles) {
      const expected = who === 'admin2' || (who === 'alice' && f !== files.note);
      for (const [name, path] of Object.entries(door)) {
        const r = await get(who, path(f));
        // The ticket itself is 404 to bob and the teacher; fichiers' own rule lets an owner read their file.
        const owner = (who === 'alice' && (f === files.shot || f === files.log));
        assert.equal(r.status, expected || (name === 'fichiers' && owner) ? 200 : 404, `${who} ${name} ${f}: ${r.text}`);
        if (r.status === 404) assertProblem(assert, r, 404);
      }
    }
  }
  // Bob's file is not attached: the ticket's door does not send it, even to staff.
  assertProblem(assert, await get('admin', `/api/support/tickets/${t1.id}/attachments/${files.bobs}`), 404);
  assertProblem(assert, await get('admin', `/api/support/tickets/${t1.id}/attachments/not-an-id`), 404);
  // The lists are 404 to those who do not see the ticket.
  for (const who of ['bob', 'teacher']) {
    assertProblem(assert, await list(who, t1.id), 404);
    assertProblem(assert, await attach(who, t1.id, [files.bobs]), 404);
  }
});

test('attachments: only one\'s own files, once, 20 at most; an internal note\'s file only by staff; nothing on a closed ticket', async () => {
  const t = await newTicket('bob', { subject: 'Fichier du cours illisible' });
  const mine = await upload('bob', Buffer.from('Mon fichier.'), 'mien.txt');
  for (const [body, code] of [
    [[files.shot], 'not_yours'], // Alice's file
    [[NIL], 'not_yours'],
    [[mine, mine], 'not_yours'],
  ]) {
    const r = await attach('bob', t.id, body);
    assertProblem(assert, r, 400);
    assert.equal(r.json.codes.file_ids, code, r.text);
  }
  for (const body of [{}, { file_ids: [] }, { file_ids: 'x' }, { file_ids: ['x'] }, { file_ids: [mine], extra: 1 }]) {
    const r = await s.as('bob', `/api/support/tickets/${t.id}/attachments`, { method: 'POST', body });
    assertProblem(assert, r, 400);
    assert.equal(r.json.code, 'validation');
  }
  await ok(attach('bob', t.id, [mine]), 201);
  const again = await attach('bob', t.id, [mine]);
  assertProblem(assert, again, 400);
  assert.equal(again.json.codes.file_ids, 'already_attached');
  assert.match(again.json.errors.file_ids, /« mien\.txt » est déjà jointe/);
  // A requester's answer may carry a file; an internal note is the staff's (its file too).
  const f2 = await upload('bob', Buffer.from('Deuxième.'), 'deux.txt');
  const r = await comment('bob', t.id, { body: 'note', internal: true, file_ids: [f2] });
  assertProblem(assert, r, 400);
  assert.ok(r.json.errors.internal);
  await ok(comment('bob', t.id, { body: 'Voici un autre fichier.', file_ids: [f2] }), 201);
  // The history records a file attached to the ticket (an answer's file is part of the answer).
  const h = (await ok(s.as('admin', `/api/support/tickets/${t.id}/history`))).items;
  assert.deepEqual(h.filter((x) => x.field === 'attachment').map((x) => x.new_value), ['mien.txt']);
  // At most 20 on a ticket.
  const many = [];
  for (let i = 0; i < 19; i++) many.push(await upload('bob', Buffer.from(`n°${i}`), `f${i}.txt`));
  const tooMany = await attach('bob', t.id, many);
  assertProblem(assert, tooMany, 400);
  assert.equal(tooMany.json.codes.file_ids, 'too_many');
  // A closed ticket takes nothing more.
  await ok(patch('admin', t.id, { state: 'closed' }));
  const closed = await attach('bob', t.id, [many[0]]);
  assertProblem(assert, closed, 409);
  assert.equal(closed.json.code, 'ticket_closed');
});

test('assignable staff: administrators, teachers for grades; anyone else is refused with not_assignable', async () => {
  const other = await newTicket('bob', { category: 'messaging', subject: 'Messagerie lente' });
  const grades = await newTicket('bob', { category: 'grades', subject: 'Note manquante' });
  const names = async (id) => (await ok(s.as('admin', `/api/support/tickets/${id}/assignees`))).items.map((p) => `${p.role}:${p.name}`);
  // Administrators first, then the register's order (family name, then given name).
  assert.deepEqual(await names(other.id), ['admin:Abel Admin', 'admin:Ada Admin']);
  assert.deepEqual(await names(grades.id), [...await names(other.id), 'enseignant:Pia Autre', 'enseignant:Paul Prof']);
  // Only admins ask (they are the ones who assign); a requester or a teacher gets 403.
  for (const who of ['bob', 'teacher']) assertProblem(assert, await s.as(who, `/api/support/tickets/${grades.id}/assignees`), 403);
  assertProblem(assert, await s.as('admin', `/api/support/tickets/${NIL}/assignees`), 404);
  for (const [id, who, why] of [
    [other.id, 'teacher', /catégorie Notes/],
    [grades.id, 'alice', /administrateur/],
    [grades.id, null, /aucun compte actif/],
  ]) {
    const r = await patch('admin', id, { assignee_id: who ? s.users[who].id : NIL });
    assertProblem(assert, r, 400);
    assert.equal(r.json.codes.assignee_id, 'not_assignable');
    assert.match(r.json.errors.assignee_id, why);
  }
  assert.equal((await ok(patch('admin', grades.id, { assignee_id: s.users.teacher2.id }))).assignee.id, s.users.teacher2.id);
  assert.equal((await ok(patch('admin', other.id, { assignee_id: s.users.admin2.id }))).assignee.id, s.users.admin2.id);
});

/** The ticket's stream as who; its events' data parsed: {event, ...data}. */
async function openStream(who, id, server = ent) {
  const st = await openEvents(`${server.url}/api/support/tickets/${id}/stream`, s.token(who));
  if (st.status !== 200) return st;
  return {
    status: 200,
    async next() {
      const ev = await st.next();
      return ev && { event: ev.event, ...JSON.parse(ev.data) };
    },
    close: st.close,
  };
}

test('live: the requester and the staff hear of an answer or a state change at once; the requester never of an internal note', async () => {
  const t = await newTicket('alice', { subject: 'La page reste blanche' });
  // Those who do not see the ticket cannot listen to it.
  for (const who of ['bob', 'teacher']) assert.equal((await openStream(who, t.id)).status, 404);
  const mine = await openStream('alice', t.id);
  const desk = await openStream('admin', t.id);
  for (const st of [mine, desk]) assert.deepEqual(await st.next(), { event: 'ready', ticket_id: t.id });
  // An internal note: the staff hear of it, the requester does not; then a state change, which both hear.
  await ok(comment('admin2', t.id, { body: 'NOTE-INTERNE', internal: true }), 201);
  assert.deepEqual(await desk.next(), { event: 'update', ticket_id: t.id, kind: 'comment' });
  await ok(patch('admin2', t.id, { state: 'open' }));
  assert.deepEqual(await desk.next(), { event: 'update', ticket_id: t.id, kind: 'ticket' });
  // The requester's first event after the note is the state change: the note was never told to her.
  assert.deepEqual(await mine.next(), { event: 'update', ticket_id: t.id, kind: 'ticket' });
  // A public answer reaches both; the requester's answer too; an attached file too.
  await ok(comment('admin2', t.id, { body: 'Pouvez-vous essayer un autre navigateur ?' }), 201);
  for (const st of [mine, desk]) assert.deepEqual(await st.next(), { event: 'update', ticket_id: t.id, kind: 'comment' });
  await ok(comment('alice', t.id, { body: 'Même chose avec un autre navigateur.' }), 201);
  for (const st of [mine, desk]) assert.deepEqual(await st.next(), { event: 'update', ticket_id: t.id, kind: 'comment' });
  const f = await upload('alice', Buffer.from('capture'), 'capture.txt');
  await ok(attach('alice', t.id, [f]), 201);
  for (const st of [mine, desk]) assert.deepEqual(await st.next(), { event: 'update', ticket_id: t.id, kind: 'attachment' });
  mine.close();
  desk.close();
});

test('live: a teacher who is no longer assigned hears `gone` and the stream ends', async () => {
  const t = await newTicket('bob', { category: 'grades', subject: 'Moyenne fausse' });
  await ok(patch('admin', t.id, { assignee_id: s.users.teacher.id }));
  const st = await openStream('teacher', t.id);
  assert.equal((await st.next()).event, 'ready');
  await ok(patch('admin', t.id, { assignee_id: s.users.teacher2.id }));
  assert.deepEqual(await st.next(), { event: 'gone', ticket_id: t.id, kind: 'ticket' });
  assert.equal(await st.next(), null, 'the stream ended');
  st.close();
});

// The cap is per process: behind a round-robin of processes (tests/services/cluster.sh replicas) a
// user's streams would spread over them and each process counts its own, so they are opened on
// one replica directly (the comment, through the gateway, reaches them by the wake-up).
const capServer = () => (process.env.ENT_TEST_LAYOUT === 'replicas' ? clusterProcess(ent) : ent);

test('live: at most 8 streams a user (core/ssehub.h): a 9th ends the oldest; the others still hear', async () => {
  const t = await newTicket('alice', { subject: 'Huit onglets ouverts' });
  const tabs = [];
  for (let i = 0; i < 9; i++) {
    tabs.push(await openStream('alice', t.id, capServer()));
    assert.equal((await tabs[i].next()).event, 'ready');
  }
  assert.equal(await tabs[0].next(), null, 'the oldest stream ended');
  await ok(comment('admin', t.id, { body: 'Une réponse pour tous les onglets.' }), 201);
  for (const tab of tabs.slice(1)) assert.deepEqual(await tab.next(), { event: 'update', ticket_id: t.id, kind: 'comment' });
  for (const tab of tabs) tab.close();
});
