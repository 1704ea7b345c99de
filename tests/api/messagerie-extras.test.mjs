// The messagerie's protections and reach beyond the mailbox, against a real `ent serve` with a
// real SMTP server on loopback (tests/services/smtp.mjs): attachments through fichiers (a
// recipient, bcc included, downloads them; nobody else; a recalled copy gives no access), the
// forwarding of new messages by e-mail (one mail per recipient, French subject, no bcc leak),
// out-of-office answers (once per sender per absence, never to an automatic answer or an
// announcement), quiet hours (notifications wait), reports to the administrators and suspended
// senders (403), limits of one sender (429 with Retry-After), the recipients in the sent list, the
// unread count on the stream, and the demo data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, assertProblem, api } from './lib/ent.mjs';
import { school, ok, until, NIL } from './lib/school.mjs';
import { openSse } from './lib/sse.mjs';
import { startSmtp } from '../services/smtp.mjs';

let ent, s, smtp, A, B;

before(async () => {
  smtp = await startSmtp();
  ent = await startEnt({ env: { ENT_SMTP: smtp.url, ENT_SMTP_FROM: 'messagerie@ecole.test' } });
  s = school(ent);
  s.add('admin', 'admin@x.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@x.test', 'Paul Prof', 'enseignant');
  s.add('teacher2', 'prof2@x.test', 'Pia Autre', 'enseignant');
  s.add('alice', 'alice@x.test', 'Alice Alpha', 'etudiant');
  s.add('bob', 'bob@x.test', 'Bob Beta', 'etudiant');
  s.add('eve', 'eve@x.test', 'Ève Epsilon', 'etudiant');
  s.add('dan', 'dan@x.test', 'Dan Delta', 'etudiant');
  A = await s.newClass('admin', '4e A');
  B = await s.newClass('admin', '4e B');
  for (const k of ['teacher', 'alice', 'bob', 'eve']) await s.join('admin', A, k);
  for (const k of ['teacher2', 'dan']) await s.join('admin', B, k);
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  await smtp.close();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
  assert.deepEqual(errors, []);
});

const user = (k) => ({ type: 'user', id: s.users[k].id });
const send = (who, body) => s.as(who, '/api/messages', { method: 'POST', body });
const inbox = async (who) => (await ok(s.as(who, '/api/messages?folder=inbox&limit=200'))).items;

async function upload(who, text, name) {
  const res = await fetch(`${ent.url}/api/fichiers?name=${encodeURIComponent(name)}`, {
    method: 'POST', body: Buffer.from(text), headers: { Authorization: `Bearer ${s.token(who)}`, 'Content-Type': 'application/octet-stream' },
  });
  const j = await res.json();
  assert.equal(res.status, 201, JSON.stringify(j));
  return j.id;
}
const download = (who, id) => api(ent, `/api/fichiers/${id}/content`, { headers: { Authorization: `Bearer ${s.token(who)}` } });

test('attachments: the recipients (bcc included) download them, nobody else; a recall takes the access back', async () => {
  const f = await upload('teacher', 'Liste du matériel : compas, règle.', 'materiel.txt');
  const m = await ok(send('teacher', { subject: 'Matériel', body: 'Voir la pièce jointe.', to: [user('alice')], bcc: [user('bob')], attachments: [f] }), 201);
  assert.deepEqual(m.attachments.map((x) => [x.id, x.name]), [[f, 'materiel.txt']]);
  for (const k of ['alice', 'bob']) {
    const full = await ok(s.as(k, `/api/messages/${m.id}`));
    assert.equal(full.attachments.length, 1);
    assert.equal(full.attachments[0].size, Buffer.byteLength('Liste du matériel : compas, règle.'));
    const r = await download(k, f);
    assert.equal(r.status, 200, k);
    assert.equal(r.text, 'Liste du matériel : compas, règle.');
    assert.equal((await ok(s.as(k, `/api/fichiers/${f}`))).id, f);
    assert.equal((await inbox(k)).find((x) => x.id === m.id).attachments, 1);
  }
  // Another student, another teacher: 404, as for a file that does not exist.
  for (const k of ['dan', 'eve', 'teacher2']) {
    assertProblem(assert, await download(k, f), 404);
    assertProblem(assert, await s.as(k, `/api/fichiers/${f}`), 404);
  }
  // Only one's own files (or those of a message one holds) are attached.
  const r = await send('dan', { subject: 'x', body: 'x', to: [user('teacher2')], attachments: [f] });
  assertProblem(assert, r, 400);
  assert.ok(r.json.errors['attachments[0]']);
  assertProblem(assert, await send('teacher', { subject: 'x', body: 'x', to: [user('alice')], attachments: [NIL] }), 400);
  assertProblem(assert, await send('teacher', { subject: 'x', body: 'x', to: [user('alice')], attachments: [f, f] }), 400);
  assertProblem(assert, await send('teacher', { subject: 'x', body: 'x', to: [user('alice')], attachments: ['x'] }), 400);

  // A student attaches their own work; the teacher forwards it to a colleague, who may read it.
  const hw = await upload('alice', 'Mon exposé sur les volcans.', 'expose.txt');
  const m2 = await ok(send('alice', { subject: 'Mon exposé', body: 'Bonjour, voici mon exposé.', to: [user('teacher')], attachments: [hw] }), 201);
  assert.equal((await download('teacher', hw)).status, 200);
  assertProblem(assert, await download('teacher2', hw), 404);
  const fw = await ok(s.as('teacher', `/api/messages/${m2.id}/forward`, { method: 'POST', body: { body: 'À lire.', to: [user('teacher2')] } }), 201);
  assert.deepEqual(fw.attachments.map((x) => x.id), [hw]);
  assert.equal((await download('teacher2', hw)).status, 200);
  assertProblem(assert, await download('bob', hw), 404);

  // A draft keeps its attachments; sent later, its recipients read them.
  const f2 = await upload('teacher', 'Corrigé.', 'corrige.txt');
  const d = await ok(send('teacher', { subject: 'Corrigé', body: 'x', to: [user('eve')], draft: true, attachments: [f2] }), 201);
  assert.deepEqual(d.attachments.map((x) => x.id), [f2]);
  assertProblem(assert, await download('eve', f2), 404);
  const sent = await ok(s.as('teacher', `/api/messages/${d.id}/send`, { method: 'POST', body: {} }));
  assert.deepEqual(sent.attachments.map((x) => x.id), [f2]);
  assert.equal((await download('eve', f2)).status, 200);

  // Recalled before it was read: the recipient's access to the file goes with the message.
  const f3 = await upload('teacher', 'Sujet de contrôle (erreur d\'envoi).', 'sujet.txt');
  const m3 = await ok(send('teacher', { subject: 'Oups', body: 'x', to: [user('bob')], attachments: [f3] }), 201);
  assert.equal((await download('bob', f3)).status, 200);
  await ok(s.as('teacher', `/api/messages/${m3.id}/recall`, { method: 'POST' }));
  assertProblem(assert, await download('bob', f3), 404);
  assert.equal((await download('teacher', f3)).status, 200);
});

test('the sent list shows whom a message went to, never its bcc; an inbox item has no recipients', async () => {
  const m = await ok(send('teacher', { subject: 'Liste', body: 'x', to: [{ type: 'class', id: A }], cc: [user('teacher2')], bcc: [user('admin')] }), 201);
  const it = (await ok(s.as('teacher', '/api/messages?folder=sent'))).items.find((x) => x.id === m.id);
  assert.deepEqual(it.recipients.map((x) => x.name), ['Classe 4e A', 'Pia Autre']);
  const got = (await inbox('alice')).find((x) => x.id === m.id);
  assert.equal(got.recipients, undefined);
});

/** Opens the caller's message stream (tests/api/lib/sse.mjs). */
const openStream = (who) => openSse(`${ent.url}/api/messages/stream`, s.token(who));

test('the stream tells the unread count at once and after each change', async () => {
  const st = await openStream('eve');
  const first = JSON.parse((await st.next((e) => e.event === 'unread')).data).count;
  const unread = (await inbox('eve')).filter((x) => !x.read).length;
  assert.equal(first, unread);
  const m = await ok(send('teacher', { subject: 'Compteur', body: 'x', to: [user('eve')] }), 201);
  await st.next((e) => e.event === 'message' && JSON.parse(e.data).id === m.id);
  assert.equal(JSON.parse((await st.next((e) => e.event === 'unread')).data).count, first + 1);
  await ok(s.as('eve', `/api/messages/${m.id}/read`, { method: 'PUT' }), 204);
  assert.equal(JSON.parse((await st.next((e) => e.event === 'unread')).data).count, first);
  st.close();
});

test('a class message tells each recipient\'s stream their own unread count', async () => {
  const unreadOf = async (who) => (await ok(s.as(who, '/api/messages/folders'))).items.find((f) => f.id === 'inbox').unread;
  // Counts that differ from one student to the next (0, 2, 1), so that a count told to the wrong
  // stream shows.
  const who = ['alice', 'bob', 'eve'];
  for (const k of who) {
    for (const x of (await inbox(k)).filter((x) => !x.read)) await ok(s.as(k, `/api/messages/${x.id}/read`, { method: 'PUT' }), 204);
  }
  for (let i = 0; i < 2; i++) await ok(send('teacher', { subject: `Pour Bob ${i}`, body: 'x', to: [user('bob')] }), 201);
  await ok(send('teacher', { subject: 'Pour Ève', body: 'x', to: [user('eve')] }), 201);
  const streams = {};
  for (const k of who) {
    streams[k] = await openStream(k);
    await streams[k].next((e) => e.event === 'unread');
  }
  const m = await ok(send('teacher', { subject: 'À toute la classe', body: 'x', to: [{ type: 'class', id: A }] }), 201);
  for (const k of who) {
    await streams[k].next((e) => e.event === 'message' && JSON.parse(e.data).id === m.id);
    const told = JSON.parse((await streams[k].next((e) => e.event === 'unread')).data).count;
    assert.equal(told, await unreadOf(k), k);
    streams[k].close();
  }
  assert.deepEqual(await Promise.all(who.map(unreadOf)), [1, 3, 2]);
});

test('e-mail forwarding: one mail per recipient who opted in, French subject, the text, no bcc leak', async () => {
  const set = (who, body) => s.as(who, '/api/messages/settings', { method: 'PUT', body });
  const st = await ok(s.as('alice', '/api/messages/settings'));
  assert.deepEqual(st.email_forward, { available: true, enabled: false, address: null, account_email: 'alice@x.test' });
  let r = await set('alice', { email_forward: { enabled: true, address: 'alice\r\nBcc: x@y.z' } });
  assertProblem(assert, r, 400);
  assert.ok(r.json.errors['email_forward.address']);
  r = await set('alice', { email_forward: { enabled: 'yes' } });
  assertProblem(assert, r, 400);
  assert.equal((await ok(set('alice', { email_forward: { enabled: true, address: 'alice.parent@dehors.test' } }))).email_forward.address, 'alice.parent@dehors.test');
  await ok(set('bob', { email_forward: { enabled: true } })); // the account's address
  const before = smtp.mails.length;
  const m = await ok(send('teacher', {
    subject: 'Réunion parents-professeurs', body: 'La réunion aura lieu jeudi à 18 h, salle 12.\nMerci de votre présence.',
    to: [user('alice')], cc: [user('eve')], bcc: [user('bob')],
  }), 201);
  const mails = await until(() => {
    const got = smtp.mails.slice(before).filter((x) => x.text.includes('La réunion aura lieu jeudi'));
    return got.length >= 2 ? got : null;
  }, 120, 250);
  assert.ok(mails, `mails received: ${smtp.mails.length - before}`);
  assert.equal(mails.length, 2); // eve did not opt in
  const a = mails.find((x) => x.to[0] === 'alice.parent@dehors.test');
  const b = mails.find((x) => x.to[0] === 'bob@x.test');
  assert.ok(a && b);
  for (const x of [a, b]) {
    assert.equal(x.to.length, 1);
    assert.equal(x.from, 'messagerie@ecole.test');
    assert.equal(x.subject, 'Nouveau message de Paul Prof : Réunion parents-professeurs');
    assert.match(x.text, /La réunion aura lieu jeudi à 18 h, salle 12\.\nMerci de votre présence\./);
    assert.match(x.text, /À : Alice Alpha/);
    assert.match(x.text, /Cc : Ève Epsilon/);
    assert.match(x.text, /\/messagerie/);
    assert.equal(x.headers.to, `<${x.to[0]}>`);
    assert.equal(x.headers['content-type'], 'text/plain; charset=UTF-8');
  }
  // The bcc recipient appears in nobody's mail, not even in headers.
  assert.ok(!/bob|Beta/i.test(a.raw + a.text), a.text);
  assert.ok(!/Bob Beta/.test(b.text));
  // Opting out stops the mails.
  await ok(set('alice', { email_forward: { enabled: false } }));
  await ok(send('teacher', { subject: 'Après désinscription', body: 'Texte témoin B.', to: [user('alice'), user('bob')] }), 201);
  assert.ok(await until(() => smtp.mails.some((x) => x.text.includes('Texte témoin B.') && x.to[0] === 'bob@x.test'), 120, 250));
  assert.ok(!smtp.mails.some((x) => x.text.includes('Texte témoin B.') && x.to[0] !== 'bob@x.test'));
  await ok(set('bob', { email_forward: { enabled: false } }));
  assert.ok(m.id);
});

test('out-of-office: one answer per sender per absence, never to an answer nor to an announcement', async () => {
  const set = (who, body) => s.as(who, '/api/messages/settings', { method: 'PUT', body });
  const from = new Date(Date.now() - 86400000).toISOString(), until_ = new Date(Date.now() + 86400000).toISOString();
  const text = 'Je suis absent jusqu\'à demain. En cas d\'urgence, écrivez à la vie scolaire.';
  let r = await set('teacher', { out_of_office: { from: until_, until: from, text } });
  assertProblem(assert, r, 400);
  assert.ok(r.json.errors['out_of_office.until']);
  const st = await ok(set('teacher', { out_of_office: { from, until: until_, text } }));
  assert.equal(st.out_of_office.active, true);
  const autos = async (who) => (await inbox(who)).filter((x) => x.subject.startsWith('Réponse automatique') && x.sender.id === s.users.teacher.id);

  const m1 = await ok(send('alice', { subject: 'Question', body: 'x', to: [user('teacher')] }), 201);
  let got = await autos('alice');
  assert.equal(got.length, 1);
  assert.equal(got[0].subject, 'Réponse automatique : Question');
  assert.equal(got[0].thread_id, m1.thread_id);
  assert.equal((await ok(s.as('alice', `/api/messages/${got[0].id}`))).body, text);
  await ok(send('alice', { subject: 'Encore', body: 'x', to: [user('teacher')] }), 201);
  assert.equal((await autos('alice')).length, 1);
  await ok(send('bob', { subject: 'Moi aussi', body: 'x', to: [user('teacher')] }), 201);
  assert.equal((await autos('bob')).length, 1);
  // An announcement (a group, or an acknowledgement asked) gets no answer.
  await ok(send('admin', { subject: 'Aux enseignants', body: 'x', to: [{ type: 'class_teachers', id: A }] }), 201);
  await ok(send('teacher2', { subject: 'Collègues', body: 'x', to: [user('teacher')], ack_required: true }), 201);
  assert.equal((await autos('admin')).length, 0);
  assert.equal((await autos('teacher2')).length, 0);
  // Two absent people never loop: eve's absence does not answer the teacher's automatic answer.
  await ok(set('eve', { out_of_office: { from, until: until_, text: 'Eve est absente.' } }));
  await ok(send('eve', { subject: 'Absente moi aussi', body: 'x', to: [user('teacher')] }), 201);
  assert.equal((await autos('eve')).length, 1);
  assert.equal((await inbox('teacher')).filter((x) => x.subject.startsWith('Réponse automatique')).length, 0);
  // New dates: a new absence, a new answer; no absence, no answer.
  await ok(set('teacher', { out_of_office: { from, until: new Date(Date.now() + 2 * 86400000).toISOString(), text } }));
  await ok(send('alice', { subject: 'Nouvelle absence', body: 'x', to: [user('teacher')] }), 201);
  assert.equal((await autos('alice')).length, 2);
  await ok(set('teacher', { out_of_office: null }));
  await ok(set('eve', { out_of_office: null }));
  await ok(send('bob', { subject: 'Retour', body: 'x', to: [user('teacher')] }), 201);
  assert.equal((await autos('bob')).length, 1);
});

/** "HH:MM" on Paris's clock, minutes from now. */
function parisHM(minutes) {
  const d = new Date(Date.now() + minutes * 60000);
  return new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
}

test('quiet hours: notifications of new messages wait until their end; ending them releases them', async () => {
  const set = (body) => s.as('bob', '/api/messages/settings', { method: 'PUT', body });
  assertProblem(assert, await set({ quiet_hours: { start: '25:00', end: '07:00' } }), 400);
  assertProblem(assert, await set({ quiet_hours: { start: '07:00', end: '07:00' } }), 400);
  const st = await ok(set({ quiet_hours: { start: parisHM(-60), end: parisHM(120) } }));
  assert.equal(st.quiet_hours.active, true);
  const end = Date.parse(st.quiet_hours.until);
  assert.ok(end > Date.now() + 118 * 60000 && end <= Date.now() + 121 * 60000, st.quiet_hours.until);
  const m = await ok(send('teacher', { subject: 'Pendant le calme', body: 'x', to: [user('alice'), user('bob')] }), 201);
  const notes = async (who) => (await ok(s.as(who, '/api/notifications?limit=200'))).items.filter((n) => n.body === 'Pendant le calme');
  // Alice's notification arrives; bob's was never published: it waits.
  assert.ok(await until(async () => (await notes('alice')).length === 1));
  assert.equal((await notes('bob')).length, 0);
  assert.equal((await ok(s.as('bob', '/api/messages/settings'))).waiting_notifications, 1);
  assert.ok((await inbox('bob')).some((x) => x.id === m.id)); // the message itself is there
  const after = await ok(set({ quiet_hours: null }));
  assert.equal(after.quiet_hours, null);
  assert.equal(after.waiting_notifications, 0);
  assert.ok(await until(async () => (await notes('bob')).length === 1));
});

test('reports: a recipient reports a message; administrators list and close them and suspend a sender', async () => {
  const m = await ok(send('bob', { subject: 'Insultes', body: 'Texte blessant.', to: [user('alice')] }), 201);
  const rep = (who, body = { reason: 'harassment', comment: 'Ce n\'est pas la première fois.' }) =>
    s.as(who, `/api/messages/${m.id}/report`, { method: 'POST', body });
  assertProblem(assert, await rep('alice', { reason: 'bad' }), 400);
  const r = await ok(rep('alice'), 201);
  assert.equal(r.status, 'open');
  assertProblem(assert, await rep('alice'), 409);
  assertProblem(assert, await rep('bob'), 409); // the sender
  assertProblem(assert, await rep('dan'), 404); // not theirs
  assertProblem(assert, await s.as('alice', '/api/messages/reports'), 403);
  // The evidence stays when the message is deleted for good.
  await ok(s.as('alice', `/api/messages/${m.id}`, { method: 'DELETE' }), 204);
  await ok(s.as('alice', `/api/messages/${m.id}`, { method: 'DELETE' }), 204);
  const list = (await ok(s.as('admin', '/api/messages/reports'))).items;
  const it = list.find((x) => x.id === r.id);
  assert.equal(it.message.subject, 'Insultes');
  assert.equal(it.message.body, 'Texte blessant.');
  assert.equal(it.sender.name, 'Bob Beta');
  assert.equal(it.reporter.name, 'Alice Alpha');
  assert.equal(it.reason, 'harassment');
  // Suspension: bob's sending answers 403 with the reason; drafts stay possible; lifting restores it.
  assertProblem(assert, await s.as('admin', `/api/messages/senders/${NIL}`, { method: 'PUT', body: { suspended: true } }), 404);
  assertProblem(assert, await s.as('teacher', `/api/messages/senders/${s.users.bob.id}`, { method: 'PUT', body: { suspended: true } }), 403);
  await ok(s.as('admin', `/api/messages/senders/${s.users.bob.id}`, { method: 'PUT', body: { suspended: true, reason: 'messages insultants signalés' } }));
  const refused = await send('bob', { subject: 'x', body: 'x', to: [user('alice')] });
  assertProblem(assert, refused, 403);
  assert.match(refused.json.detail, /suspendu.*messages insultants signalés/);
  await ok(send('bob', { subject: 'Brouillon', body: 'x', to: [user('alice')], draft: true }), 201);
  assert.equal((await ok(s.as('admin', '/api/messages/reports'))).items.find((x) => x.id === r.id).sender.suspended, true);
  await ok(s.as('admin', `/api/messages/senders/${s.users.bob.id}`, { method: 'PUT', body: { suspended: false } }));
  await ok(send('bob', { subject: 'Pardon', body: 'x', to: [user('alice')] }), 201);
  // Closing a report takes it out of the open list.
  assert.equal((await ok(s.as('admin', `/api/messages/reports/${r.id}`, { method: 'PATCH', body: { status: 'closed' } }))).status, 'closed');
  assert.ok(!(await ok(s.as('admin', '/api/messages/reports'))).items.some((x) => x.id === r.id));
  assert.ok((await ok(s.as('admin', '/api/messages/reports?status=closed'))).items.some((x) => x.id === r.id));
  assertProblem(assert, await s.as('admin', `/api/messages/reports/${NIL}`, { method: 'PATCH', body: { status: 'closed' } }), 404);
});

test('limits of one sender: 429 with Retry-After past their hourly count; a class counts as one address', async () => {
  await ok(s.as('admin', `/api/messages/senders/${s.users.eve.id}`, { method: 'PUT', body: { suspended: false, per_hour: 1, per_message: 1 } }));
  const tooMany = await send('eve', { subject: 'x', body: 'x', to: [user('alice'), user('bob')] });
  assertProblem(assert, tooMany, 400);
  // One message fills her hour (if the tests above had not already), the next is refused.
  await send('eve', { subject: 'Remplit l\'heure', body: 'x', to: [user('alice')] });
  const r = await send('eve', { subject: 'Limite', body: 'x', to: [user('alice')] });
  assertProblem(assert, r, 429);
  assert.ok(Number(r.headers.get('retry-after')) > 0);
  assert.match(r.json.detail, /limite/);
  await ok(s.as('admin', `/api/messages/senders/${s.users.eve.id}`, { method: 'PUT', body: { suspended: false } }));
  await ok(send('eve', { subject: 'Limite levée', body: 'x', to: [user('alice')] }), 201);
  await ok(s.as('admin', `/api/messages/senders/${s.users.teacher.id}`, { method: 'PUT', body: { suspended: false, per_message: 1 } }));
  const cls = await ok(send('teacher', { subject: 'Toute la classe', body: 'x', to: [{ type: 'class', id: A }] }), 201);
  assert.ok((await ok(s.as('teacher', `/api/messages/${cls.id}/receipts`))).recipients >= 3);
  assertProblem(assert, await send('teacher', { subject: 'x', body: 'x', to: [{ type: 'class', id: A }, user('teacher2')] }), 400);
  const g = await ok(s.as('admin', `/api/messages/senders/${s.users.teacher.id}`));
  assert.equal(g.per_message, 1);
  assert.equal(g.per_hour, null);
  await ok(s.as('admin', `/api/messages/senders/${s.users.teacher.id}`, { method: 'PUT', body: { suspended: false } }));
});

test('ent demo adds conversations, an announcement with acknowledgements and a draft, once', async () => {
  const run = ent.run(['demo']);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /messagerie: /);
  const token = ent.run(['token', 'claire.martin@demo.ent.local']).stdout.trim();
  const get = async (path) => {
    const res = await api(ent, path, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, res.text);
    return res.json;
  };
  const sent = (await get('/api/messages?folder=sent')).items;
  const ann = sent.find((x) => x.subject.startsWith('Sortie au musée'));
  assert.ok(ann && ann.ack_required);
  const rc = await get(`/api/messages/${ann.id}/receipts`);
  assert.ok(rc.recipients >= 20);
  assert.ok(rc.acked > 0 && rc.acked < rc.recipients);
  assert.equal((await get('/api/messages?folder=drafts')).items.length, 1);
  const ins = (await get('/api/messages?folder=inbox')).items;
  const q = ins.find((x) => x.subject === 'Question sur le devoir de mathématiques');
  assert.ok(q);
  assert.equal((await get(`/api/messages/threads/${q.thread_id}`)).items.length, 2);
  const again = ent.run(['demo']);
  assert.equal(again.status, 0, again.stderr);
  assert.equal((await get('/api/messages?folder=sent')).items.length, sent.length);
  assert.equal((await get('/api/messages?folder=drafts')).items.length, 1);
});
