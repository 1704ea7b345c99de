// The messagerie against a real `ent serve`: a teacher writing to their class, the communication
// rules checked for every recipient (groups expanded) with a 403 naming the refused one and
// nothing sent, bcc never visible to anyone but the sender (message, thread, reply all, search,
// export), drafts, reply and forward in one conversation, folders with unread counts, trash and
// restore, search isolation, the live stream, announcements with acknowledgement and reminders,
// recall, scheduled sending, the hourly limit (429 with Retry-After), the bus notification, GDPR.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, assertProblem } from './lib/ent.mjs';
import { school, ok, until, NIL } from './lib/school.mjs';
import { openSse } from './lib/sse.mjs';

let ent, s, A, B, maths;

before(async () => {
  ent = await startEnt();
  s = school(ent);
  s.add('admin', 'admin@msg.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@msg.test', 'Paul Prof', 'enseignant');
  s.add('teacher2', 'prof2@msg.test', 'Pia Autre', 'enseignant');
  s.add('alice', 'alice@msg.test', 'Alice Alpha', 'etudiant');
  s.add('bob', 'bob@msg.test', 'Bob Beta', 'etudiant');
  s.add('dan', 'dan@msg.test', 'Dan Delta', 'etudiant');
  s.add('eve', 'eve@msg.test', 'Ève Epsilon', 'etudiant');
  A = await s.newClass('admin', '5e A');
  B = await s.newClass('admin', '5e B');
  for (const k of ['teacher', 'alice', 'bob', 'eve']) await s.join('admin', A, k);
  for (const k of ['teacher2', 'dan']) await s.join('admin', B, k);
  maths = (await ok(s.as('teacher', '/api/cours', { method: 'POST', body: { title: 'Mathématiques 5e', class_ids: [A] } }), 201)).id;
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
  assert.deepEqual(errors, []);
});

const user = (k) => ({ type: 'user', id: s.users[k].id });
const send = (who, body) => s.as(who, '/api/messages', { method: 'POST', body });
const inbox = async (who, q = '') => (await ok(s.as(who, `/api/messages?folder=inbox${q}`))).items;
const folder = async (who, id) => (await ok(s.as(who, '/api/messages/folders'))).items.find((f) => f.id === id);

test('a teacher writes to their class: every student receives it, the sender files it in sent', async () => {
  const m = await ok(send('teacher', { subject: 'Sortie au musée', body: 'Rendez-vous à 8 h.', to: [{ type: 'class', id: A }] }), 201);
  assert.equal(m.state, 'sent');
  assert.equal(m.folder, 'sent');
  assert.equal(m.my_role, 'sender');
  assert.deepEqual(m.to, [{ type: 'class', id: A, name: 'Classe 5e A' }]);
  for (const k of ['alice', 'bob']) {
    const items = await inbox(k);
    const it = items.find((x) => x.id === m.id);
    assert.ok(it, k);
    assert.equal(it.read, false);
    assert.equal(it.sender.name, 'Paul Prof');
    assert.equal(it.preview, 'Rendez-vous à 8 h.');
    const full = await ok(s.as(k, `/api/messages/${m.id}`));
    assert.equal(full.my_role, 'to');
    assert.equal(full.body, 'Rendez-vous à 8 h.');
  }
  // Another class's student and another teacher: 404, as for a message that does not exist.
  for (const k of ['dan', 'teacher2', 'admin']) assertProblem(assert, await s.as(k, `/api/messages/${m.id}`), 404);
  assertProblem(assert, await s.as('alice', `/api/messages/${NIL}`), 404);
  assert.ok((await ok(s.as('teacher', '/api/messages?folder=sent'))).items.some((x) => x.id === m.id));
  assert.ok((await folder('alice', 'inbox')).unread >= 1);
});

test('communication rules: a refused recipient answers 403 naming them, and nothing is sent', async () => {
  const before = (await inbox('dan')).length;
  const r = await send('alice', { subject: 'Salut', body: 'x', to: [user('bob'), user('dan')] });
  assertProblem(assert, r, 403);
  assert.match(r.json.detail, /Dan Delta/);
  assert.ok(r.json.errors['to[1]']);
  assert.equal((await inbox('dan')).length, before);
  assert.equal((await inbox('bob')).filter((x) => x.subject === 'Salut').length, 0);
  assert.equal((await ok(s.as('alice', '/api/messages?folder=sent'))).items.length, 0);
  // A student: not to their whole class, not to another class's teacher, not to another class.
  const cls = await send('alice', { subject: 'À tous', body: 'x', to: [{ type: 'class', id: A }] });
  assertProblem(assert, cls, 403);
  assert.match(cls.json.detail, /Classe 5e A/);
  assertProblem(assert, await send('alice', { subject: 'Q', body: 'x', to: [user('teacher2')] }), 403);
  assertProblem(assert, await send('alice', { subject: 'Q', body: 'x', cc: [{ type: 'class_teachers', id: B }] }), 403);
  // But to a classmate, their teachers, the administration, the teachers of their class.
  await ok(send('alice', { subject: 'Devoir', body: 'Tu as la consigne ?', to: [user('bob')] }), 201);
  await ok(send('alice', { subject: 'Question', body: 'x', to: [user('teacher'), user('admin')] }), 201);
  await ok(send('alice', { subject: 'Vie scolaire', body: 'x', to: [{ type: 'staff' }] }), 201);
  const tt = await ok(send('alice', { subject: 'Aux profs', body: 'x', to: [{ type: 'class_teachers', id: A }] }), 201);
  assert.ok((await inbox('teacher')).some((x) => x.id === tt.id));
  // A teacher: their class and course, not another class nor its students.
  assertProblem(assert, await send('teacher', { subject: 'x', body: 'x', to: [{ type: 'class', id: B }] }), 403);
  assertProblem(assert, await send('teacher', { subject: 'x', body: 'x', bcc: [user('dan')] }), 403);
  await ok(send('teacher', { subject: 'Cours', body: 'x', to: [{ type: 'course', id: maths }] }), 201);
  await ok(send('teacher', { subject: 'Collègue', body: 'x', to: [user('teacher2')] }), 201);
  // Administrators write to everyone.
  await ok(send('admin', { subject: 'Information', body: 'x', to: [{ type: 'class', id: B }, { type: 'class_teachers', id: B }] }), 201);
  assert.ok((await inbox('dan')).some((x) => x.subject === 'Information'));
  assert.ok((await inbox('teacher2')).some((x) => x.subject === 'Information'));
});

test('rights follow account changes: a student moved to another class writes to their new teachers only', async () => {
  s.add('fay', 'fay@msg.test', 'Fay Phi', 'etudiant');
  await s.join('admin', B, 'fay');
  await ok(send('fay', { subject: 'Bonjour', body: 'x', to: [user('teacher2')] }), 201);
  assertProblem(assert, await send('fay', { subject: 'Bonjour', body: 'x', to: [user('teacher')] }), 403);
  await s.join('admin', A, 'fay');
  assertProblem(assert, await send('fay', { subject: 'Encore', body: 'x', to: [user('teacher2')] }), 403);
  await ok(send('fay', { subject: 'Bonjour', body: 'x', to: [user('teacher')] }), 201);
  // A disabled account is no recipient: named directly it is a 400, in a group it is skipped.
  await ok(s.as('admin', `/api/users/${s.users.fay.id}`, { method: 'PATCH', body: { disabled: true } }));
  const r = await send('teacher', { subject: 'x', body: 'x', to: [user('fay')] });
  assertProblem(assert, r, 400);
  assert.ok(r.json.errors['to[0].id']);
  const m = await ok(send('teacher', { subject: 'Classe entière', body: 'x', to: [{ type: 'class', id: A }] }), 201);
  const rc = await ok(s.as('teacher', `/api/messages/${m.id}/receipts`));
  assert.ok(!rc.items.some((x) => x.user.id === s.users.fay.id));
  await ok(s.as('admin', `/api/users/${s.users.fay.id}`, { method: 'PATCH', body: { disabled: false } }));
  await ok(s.as('admin', `/api/users/classes/${A}/members/${s.users.fay.id}`, { method: 'DELETE' }), 204);
});

test('administrators edit the rules; the rules also filter the proposed recipients', async () => {
  const rules = await ok(s.as('admin', '/api/messages/rules'));
  assert.ok(rules.rules.some((r) => r.role === 'etudiant' && r.target === 'student_own' && r.allowed));
  assertProblem(assert, await s.as('alice', '/api/messages/rules'), 403);
  await ok(s.as('admin', '/api/messages/rules', { method: 'PUT', body: { rules: [{ role: 'etudiant', target: 'student_own', allowed: false }] } }));
  assertProblem(assert, await send('alice', { subject: 'x', body: 'x', to: [user('bob')] }), 403);
  await ok(s.as('admin', '/api/messages/rules', { method: 'PUT', body: { rules: [{ role: 'etudiant', target: 'student_own', allowed: true }] } }));
  const bad = await s.as('admin', '/api/messages/rules', { method: 'PUT', body: { rules: [{ role: 'root', target: 'x', allowed: 1 }] } });
  assertProblem(assert, bad, 400);
  assert.ok(bad.json.errors['rules[0].role'] && bad.json.errors['rules[0].target'] && bad.json.errors['rules[0].allowed']);

  const names = async (who, q) => (await ok(s.as(who, `/api/messages/recipients?q=${encodeURIComponent(q)}`))).items;
  assert.deepEqual((await names('alice', 'Del')).filter((x) => x.type === 'user'), []);
  assert.ok((await names('alice', 'Paul')).some((x) => x.type === 'user' && x.id === s.users.teacher.id));
  assert.ok(!(await names('alice', 'Pia')).some((x) => x.type === 'user'));
  assert.ok((await names('alice', 'bob')).some((x) => x.id === s.users.bob.id));
  const groups = await names('alice', '');
  assert.ok(groups.some((x) => x.type === 'class_teachers' && x.id === A));
  assert.ok(!groups.some((x) => x.type === 'class'));
  assert.ok((await names('teacher', '5e')).some((x) => x.type === 'class' && x.id === A));
  assert.ok((await names('admin', '5e B')).some((x) => x.type === 'class' && x.id === B));
  assertProblem(assert, await s.as('alice', `/api/messages/recipients?limit=0`), 400);
});

test('bad input answers 400 naming the field; unknown recipients too', async () => {
  const cases = [
    [{ subject: 'x', body: 'x', to: 'bob' }, 'to'],
    [{ subject: 'x', body: 'x', to: [{ type: 'nope', id: NIL }] }, 'to[0].type'],
    [{ subject: 'x', body: 'x', to: [{ type: 'user', id: 'x' }] }, 'to[0].id'],
    [{ subject: 'x', body: 'x', to: [{ type: 'user', id: NIL, extra: 1 }] }, 'to[0].extra'],
    [{ subject: 'x'.repeat(201), body: 'x', to: [user('bob')] }, 'subject'],
    [{ subject: 'x', body: 'x' }, 'to'],
    [{ body: 'x', to: [user('bob')] }, 'subject'],
    [{ subject: 'x', body: 'x', to: [user('bob')], role: 'admin' }, 'role'],
    [{ subject: 'x', body: 'x', to: [user('bob')], send_at: '2020-01-01T00:00:00Z' }, 'send_at'],
    [{ subject: 'x', body: 'x', to: [{ type: 'user', id: NIL }] }, 'to[0].id'],
    [{ subject: 'x', body: 'x', to: [{ type: 'class', id: NIL }] }, 'to[0].id'],
    [{ subject: 'x', body: 5, to: [user('bob')] }, 'body'],
  ];
  for (const [body, field] of cases) {
    const r = await send('alice', body);
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors[field], `${field}: ${r.text}`);
  }
  assertProblem(assert, await s.as('alice', '/api/messages?folder=nope'), 400);
  assertProblem(assert, await s.as('alice', '/api/messages?cursor=abc'), 400);
  assertProblem(assert, await s.as('alice', '/api/messages/search'), 400);
  const st = await send('alice', { subject: 'x', body: 'x', to: [user('teacher')], ack_required: true });
  assertProblem(assert, st, 403);
});

test('bcc is seen by nobody but the sender: message, thread, reply all, receipts, search, export', async () => {
  const m = await ok(send('teacher', {
    subject: 'Conseil de classe confidentiel', body: 'Mot-clé zanzibar', to: [user('alice')], cc: [user('bob')], bcc: [user('admin')],
  }), 201);
  assert.deepEqual(m.bcc.map((x) => x.id), [s.users.admin.id]);
  for (const k of ['alice', 'bob', 'admin']) {
    const v = await ok(s.as(k, `/api/messages/${m.id}`));
    assert.deepEqual(v.bcc, [], k);
    assert.ok(!JSON.stringify(v).includes(s.users.admin.id) || k === 'admin', k);
    const t = await ok(s.as(k, `/api/messages/threads/${m.thread_id}`));
    assert.ok(!JSON.stringify(t).includes(s.users.admin.id) || k === 'admin', k);
    const found = await ok(s.as(k, '/api/messages/search?q=zanzibar'));
    assert.deepEqual(found.items.map((x) => x.id), [m.id], k);
    assert.ok(!JSON.stringify(found).includes(s.users.admin.id) || k === 'admin', k);
  }
  assert.equal((await ok(s.as('admin', `/api/messages/${m.id}`))).my_role, 'bcc');
  // Receipts are the sender's: every recipient, bcc included; nobody else gets them.
  const rc = await ok(s.as('teacher', `/api/messages/${m.id}/receipts`));
  assert.equal(rc.recipients, 3);
  assert.deepEqual(rc.items.map((x) => x.kind).sort(), ['bcc', 'cc', 'to']);
  for (const k of ['alice', 'admin']) assertProblem(assert, await s.as(k, `/api/messages/${m.id}/receipts`), 403);
  // Reply all from a visible recipient reaches the sender and the cc, never the bcc.
  const r = await ok(s.as('alice', `/api/messages/${m.id}/reply`, { method: 'POST', body: { body: 'Merci', all: true } }), 201);
  assert.equal(r.subject, 'RE : Conseil de classe confidentiel');
  assert.equal(r.thread_id, m.thread_id);
  assert.deepEqual(r.to.map((x) => x.id), [s.users.teacher.id]);
  assert.deepEqual(r.cc.map((x) => x.id), [s.users.bob.id]);
  assertProblem(assert, await s.as('admin', `/api/messages/${r.id}`), 404);
  const t = await ok(s.as('teacher', `/api/messages/threads/${m.thread_id}`));
  assert.deepEqual(t.items.map((x) => x.id), [m.id, r.id]);
  // The admin's thread holds only the one message they received.
  assert.deepEqual((await ok(s.as('admin', `/api/messages/threads/${m.thread_id}`))).items.map((x) => x.id), [m.id]);
  // The GDPR export of a visible recipient does not name the bcc either.
  const exp = await ok(s.as('alice', '/api/users/me/export'));
  const mine = exp.messagerie.messages.find((x) => x.id === m.id);
  assert.ok(mine);
  assert.deepEqual(mine.addresses.map((a) => a.kind), ['to', 'cc']);
  assert.ok(!JSON.stringify(mine).includes(s.users.admin.id));
  const expT = await ok(s.as('teacher', '/api/users/me/export'));
  assert.ok(expT.messagerie.messages.find((x) => x.id === m.id).addresses.some((a) => a.kind === 'bcc'));
});

test('drafts are saved, changed, resumed and sent; forward quotes the original', async () => {
  const d = await ok(send('teacher', { subject: 'Brouillon', body: 'À finir', draft: true }), 201);
  assert.equal(d.state, 'draft');
  assert.equal(d.folder, 'drafts');
  assert.ok((await ok(s.as('teacher', '/api/messages?folder=drafts'))).items.some((x) => x.id === d.id));
  assertProblem(assert, await s.as('alice', `/api/messages/${d.id}`), 404);
  const p = await ok(s.as('teacher', `/api/messages/${d.id}`, { method: 'PATCH', body: { body: 'Fini', to: [user('alice')] } }));
  assert.equal(p.body, 'Fini');
  assert.equal(p.subject, 'Brouillon');
  assert.deepEqual(p.to.map((x) => x.id), [s.users.alice.id]);
  const sent = await ok(s.as('teacher', `/api/messages/${d.id}/send`, { method: 'POST', body: {} }));
  assert.equal(sent.state, 'sent');
  assert.equal(sent.folder, 'sent');
  assert.ok(!(await ok(s.as('teacher', '/api/messages?folder=drafts'))).items.some((x) => x.id === d.id));
  assert.ok((await inbox('alice')).some((x) => x.id === d.id));
  assertProblem(assert, await s.as('teacher', `/api/messages/${d.id}`, { method: 'PATCH', body: { body: 'trop tard' } }), 409);
  // A draft with a refused recipient is refused when sent, and stays a draft.
  const d2 = await ok(send('alice', { subject: 'x', body: 'y', to: [user('dan')], draft: true }), 201);
  assertProblem(assert, await s.as('alice', `/api/messages/${d2.id}/send`, { method: 'POST', body: {} }), 403);
  assert.equal((await ok(s.as('alice', `/api/messages/${d2.id}`))).state, 'draft');
  await ok(s.as('alice', `/api/messages/${d2.id}`, { method: 'DELETE' }), 204);
  assertProblem(assert, await s.as('alice', `/api/messages/${d2.id}`), 404);

  const f = await ok(s.as('alice', `/api/messages/${d.id}/forward`, { method: 'POST', body: { body: 'Pour info', to: [user('bob')] } }), 201);
  assert.equal(f.subject, 'TR : Brouillon');
  assert.equal(f.forward_of, d.id);
  assert.match(f.body, /^Pour info\n\n----- Message transféré -----\nDe : Paul Prof/);
  assert.match(f.body, /Fini$/);
  assert.ok((await inbox('bob')).some((x) => x.id === f.id));
});

test('folders, moves, read marks, unread counts, trash and restore', async () => {
  const m = await ok(send('teacher', { subject: 'À classer', body: 'x', to: [user('bob')] }), 201);
  const before = (await folder('bob', 'inbox')).unread;
  await ok(s.as('bob', `/api/messages/${m.id}/read`, { method: 'PUT' }), 204);
  assert.equal((await folder('bob', 'inbox')).unread, before - 1);
  assert.equal((await ok(s.as('bob', `/api/messages/${m.id}`))).read, true);
  await ok(s.as('bob', `/api/messages/${m.id}/read`, { method: 'DELETE' }), 204);
  assert.equal((await folder('bob', 'inbox')).unread, before);
  assert.ok((await inbox('bob', '&unread=true')).some((x) => x.id === m.id));

  const fo = await ok(s.as('bob', '/api/messages/folders', { method: 'POST', body: { name: 'Sorties' } }), 201);
  assertProblem(assert, await s.as('bob', '/api/messages/folders', { method: 'POST', body: { name: 'Sorties' } }), 409);
  assertProblem(assert, await s.as('bob', '/api/messages/folders', { method: 'POST', body: { name: '' } }), 400);
  await ok(s.as('bob', `/api/messages/${m.id}/move`, { method: 'POST', body: { folder: fo.id } }), 204);
  assert.deepEqual((await ok(s.as('bob', `/api/messages?folder=${fo.id}`))).items.map((x) => x.id), [m.id]);
  assert.equal((await folder('bob', fo.id)).unread, 1);
  // Another user's folder is not a folder of mine; nor is "sent" for a message I received.
  const alices = await ok(s.as('alice', '/api/messages/folders', { method: 'POST', body: { name: 'Perso' } }), 201);
  for (const f of [alices.id, 'sent', 'drafts']) {
    const r = await s.as('bob', `/api/messages/${m.id}/move`, { method: 'POST', body: { folder: f } });
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors.folder);
  }
  assertProblem(assert, await s.as('bob', `/api/messages?folder=${alices.id}`), 400);
  assertProblem(assert, await s.as('alice', `/api/messages/folders/${fo.id}`, { method: 'PATCH', body: { name: 'x' } }), 404);
  await ok(s.as('bob', `/api/messages/folders/${fo.id}`, { method: 'PATCH', body: { name: 'Sorties scolaires' } }));

  // Delete: to the trash; restore: back to the folder it was in; delete from the trash: gone.
  await ok(s.as('bob', `/api/messages/${m.id}`, { method: 'DELETE' }), 204);
  assert.equal((await ok(s.as('bob', `/api/messages/${m.id}`))).folder, 'trash');
  assert.ok((await ok(s.as('bob', '/api/messages?folder=trash'))).items.some((x) => x.id === m.id));
  const back = await ok(s.as('bob', `/api/messages/${m.id}/restore`, { method: 'POST' }));
  assert.equal(back.folder, fo.id);
  assertProblem(assert, await s.as('bob', `/api/messages/${m.id}/restore`, { method: 'POST' }), 409);
  // Deleting the folder brings its messages back to the inbox.
  await ok(s.as('bob', `/api/messages/folders/${fo.id}`, { method: 'DELETE' }), 204);
  assert.equal((await ok(s.as('bob', `/api/messages/${m.id}`))).folder, 'inbox');
  await ok(s.as('bob', `/api/messages/${m.id}`, { method: 'DELETE' }), 204);
  await ok(s.as('bob', `/api/messages/${m.id}`, { method: 'DELETE' }), 204);
  assertProblem(assert, await s.as('bob', `/api/messages/${m.id}`), 404);
  // The sender's copy is theirs: still there.
  assert.equal((await ok(s.as('teacher', `/api/messages/${m.id}`))).folder, 'sent');
  // Someone else's message cannot be moved, marked or deleted: 404.
  for (const [method, path, body] of [['POST', 'move', { folder: 'trash' }], ['PUT', 'read'], ['POST', 'ack'], ['POST', 'recall']]) {
    assertProblem(assert, await s.as('dan', `/api/messages/${m.id}/${path}`, { method, body }), 404);
  }
  assertProblem(assert, await s.as('dan', `/api/messages/${m.id}`, { method: 'DELETE' }), 404);
});

test('lists are paginated with opaque cursors', async () => {
  for (let i = 0; i < 3; i++) await ok(send('admin', { subject: `Page ${i}`, body: 'x', to: [user('teacher2')] }), 201);
  const first = await s.as('teacher2', '/api/messages?limit=2');
  assert.equal(first.status, 200);
  assert.equal(first.json.items.length, 2);
  assert.ok(first.json.next_cursor);
  assert.match(first.headers.get('link'), /rel="next"/);
  const second = await ok(s.as('teacher2', `/api/messages?limit=2&cursor=${encodeURIComponent(first.json.next_cursor)}`));
  const ids = [...first.json.items, ...second.items].map((x) => x.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(second.items.length >= 1);
});

test('search finds words in the caller\'s own messages only', async () => {
  const m = await ok(send('teacher', { subject: 'Réunion parents', body: 'La réunion des parents aura lieu jeudi en salle polyvalente.', to: [user('alice')] }), 201);
  const find = async (who, q, more = '') => (await ok(s.as(who, `/api/messages/search?q=${encodeURIComponent(q)}${more}`))).items.map((x) => x.id);
  assert.ok((await find('alice', 'polyvalente')).includes(m.id));
  assert.ok((await find('teacher', 'polyvalente')).includes(m.id));
  for (const k of ['bob', 'dan', 'admin', 'teacher2']) assert.deepEqual(await find(k, 'polyvalente'), [], k);
  // Accents folded by FTS5 (SQLite); the server may be a cluster's on PostgreSQL (ENT_TEST_URL).
  if (!/^postgres(ql)?:/.test(ent.env.ENT_DB || '')) assert.ok((await find('alice', 'reunion')).includes(m.id));
  // FTS syntax in the query is only text.
  for (const q of ['"', 'a OR b', 'NEAR(x y)', '*', 'polyvalente) OR (x']) {
    const r = await s.as('alice', `/api/messages/search?q=${encodeURIComponent(q)}`);
    assert.equal(r.status, 200, `${q}: ${r.text}`);
  }
  // A message in the trash is found only when asked.
  await ok(s.as('alice', `/api/messages/${m.id}`, { method: 'DELETE' }), 204);
  assert.deepEqual(await find('alice', 'polyvalente'), []);
  assert.ok((await find('alice', 'polyvalente', '&include_trash=true')).includes(m.id));
});

test('search follows a draft changed and sent, and finds a class message for its students only', async () => {
  const find = async (who, q) => (await ok(s.as(who, `/api/messages/search?q=${encodeURIComponent(q)}`))).items.map((x) => x.id);
  // A draft is its sender's alone; its old words go with the change, and it is found once.
  const d = await ok(send('teacher', { subject: 'Brouillon', body: 'Apportez le xylophone.', to: [user('alice')], draft: true }), 201);
  assert.deepEqual(await find('teacher', 'xylophone'), [d.id]);
  assert.deepEqual(await find('alice', 'xylophone'), []);
  await ok(s.as('teacher', `/api/messages/${d.id}`, { method: 'PATCH', body: { body: 'Apportez la balalaïka.' } }));
  assert.deepEqual(await find('teacher', 'xylophone'), []);
  assert.deepEqual(await find('teacher', 'balalaïka'), [d.id]);
  // Sent, it is found by its recipient, still by nobody else.
  await ok(s.as('teacher', `/api/messages/${d.id}/send`, { method: 'POST', body: {} }));
  assert.deepEqual(await find('teacher', 'balalaïka'), [d.id]);
  assert.deepEqual(await find('alice', 'balalaïka'), [d.id]);
  for (const k of ['bob', 'dan', 'teacher2', 'admin']) assert.deepEqual(await find(k, 'balalaïka'), [], k);
  // A class message: each of the class's students finds it, the other class's do not.
  const m = await ok(send('teacher', { subject: 'Concert', body: 'Répétition du concert de glockenspiel.', to: [{ type: 'class', id: A }] }), 201);
  for (const k of ['teacher', 'alice', 'bob', 'eve']) assert.deepEqual(await find(k, 'glockenspiel'), [m.id], k);
  for (const k of ['dan', 'teacher2', 'admin']) assert.deepEqual(await find(k, 'glockenspiel'), [], k);
  // A student deletes their copy for good: gone from their search, not from the others'.
  await ok(s.as('eve', `/api/messages/${m.id}`, { method: 'DELETE' }), 204);
  await ok(s.as('eve', `/api/messages/${m.id}`, { method: 'DELETE' }), 204);
  assert.deepEqual((await ok(s.as('eve', '/api/messages/search?q=glockenspiel&include_trash=true'))).items, []);
  assert.deepEqual(await find('bob', 'glockenspiel'), [m.id]);
});

/** Opens the caller's message stream (tests/api/lib/sse.mjs). */
const openStream = (who, server = ent) => openSse(`${server.url}/api/messages/stream`, s.token(who));

test('the live stream pushes a new message to its recipients', async () => {
  const st = await openStream('bob');
  await st.next((e) => e.event === 'ready');
  const m = await ok(send('teacher', { subject: 'En direct', body: 'x', to: [user('bob')] }), 201);
  const ev = await st.next((e) => e.event === 'message' && e.id === m.id);
  assert.ok(ev);
  const data = JSON.parse(ev.data);
  assert.equal(data.subject, 'En direct');
  assert.equal(data.sender.name, 'Paul Prof');
  st.close();
});

test('on PostgreSQL, a stream held by a second process hears of a message sent through the first', async (t) => {
  if (!/^postgres(ql)?:/.test(ent.env.ENT_DB || '')) {
    t.skip('processes wake each other through PostgreSQL (LISTEN/NOTIFY); one SQLite process holds every stream');
    return;
  }
  const twin = await startEnt({ db: ent.env.ENT_DB, keepData: true,
    env: { ENT_SERVICES: 'messagerie', ENT_PUBLIC_URL: ent.env.ENT_PUBLIC_URL, ENT_BUS: 'local' } });
  try {
    const st = await openStream('eve', twin);
    try {
      assert.ok(await st.next((e) => e.event === 'ready'));
      const m = await ok(send('teacher', { subject: 'D\'un processus à l\'autre', body: 'x', to: [user('eve')] }), 201);
      let timer;
      const late = new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('no message on the other process\'s stream within 20 s')), 20000); });
      const ev = await Promise.race([st.next((e) => e.event === 'message' && e.id === m.id), late]).finally(() => clearTimeout(timer));
      assert.equal(JSON.parse(ev.data).subject, 'D\'un processus à l\'autre');
    } finally {
      st.close();
    }
  } finally {
    const e = await twin.stop();
    assert.equal(e.code, 0, twin.stderr.slice(-3000));
    assert.deepEqual(twin.stderr.split('\n').filter((l) => l.includes('"level":"error"')), []);
  }
});

test('announcements with acknowledgement: counts, once per recipient, reminders to those who have not', async () => {
  const m = await ok(send('teacher', { subject: 'Autorisation de sortie', body: 'Merci de confirmer.', to: [{ type: 'class', id: A }], ack_required: true }), 201);
  let rc = await ok(s.as('teacher', `/api/messages/${m.id}/receipts`));
  assert.deepEqual([rc.recipients, rc.read, rc.acked], [3, 0, 0]);
  const a1 = await ok(s.as('alice', `/api/messages/${m.id}/ack`, { method: 'POST' }));
  const a2 = await ok(s.as('alice', `/api/messages/${m.id}/ack`, { method: 'POST' }));
  assert.equal(a1.acked_at, a2.acked_at);
  rc = await ok(s.as('teacher', `/api/messages/${m.id}/receipts`));
  assert.deepEqual([rc.recipients, rc.read, rc.acked], [3, 1, 1]);
  const pending = await ok(s.as('teacher', `/api/messages/${m.id}/receipts?pending=true`));
  assert.deepEqual(pending.items.map((x) => x.user.id).sort(), [s.users.bob.id, s.users.eve.id].sort());
  assertProblem(assert, await s.as('teacher', `/api/messages/${m.id}/ack`, { method: 'POST' }), 409);
  assertProblem(assert, await s.as('alice', `/api/messages/${m.id}/remind`, { method: 'POST' }), 403);
  await ok(s.as('bob', `/api/messages/${m.id}/read`, { method: 'PUT' }), 204);
  const rem = await ok(s.as('teacher', `/api/messages/${m.id}/remind`, { method: 'POST' }));
  assert.equal(rem.reminded, 2);
  // The reminder makes it unread again for those who have not confirmed.
  assert.equal((await ok(s.as('bob', `/api/messages/${m.id}`))).read, false);
  assert.equal((await ok(s.as('alice', `/api/messages/${m.id}`))).read, true);
  const notes = await until(async () => {
    const items = (await ok(s.as('bob', '/api/notifications?limit=100'))).items;
    return items.find((n) => n.title.startsWith('Rappel de Paul Prof')) ? items : null;
  });
  assert.ok(notes);
  assert.ok(!(await ok(s.as('alice', '/api/notifications?limit=100'))).items.some((n) => n.title.startsWith('Rappel de Paul Prof')));
  // An ordinary message asks for no acknowledgement.
  const plain = await ok(send('teacher', { subject: 'Sans accusé', body: 'x', to: [user('alice')] }), 201);
  assertProblem(assert, await s.as('alice', `/api/messages/${plain.id}/ack`, { method: 'POST' }), 409);
});

test('recall removes the message from those who have not read it, and says for whom it worked', async () => {
  const m = await ok(send('teacher', { subject: 'Erreur de destinataire', body: 'x', to: [user('alice'), user('bob')] }), 201);
  await ok(s.as('alice', `/api/messages/${m.id}/read`, { method: 'PUT' }), 204);
  assertProblem(assert, await s.as('alice', `/api/messages/${m.id}/recall`, { method: 'POST' }), 403);
  const r = await ok(s.as('teacher', `/api/messages/${m.id}/recall`, { method: 'POST' }));
  assert.deepEqual(r.recalled.map((x) => x.name), ['Bob Beta']);
  assert.deepEqual(r.already_read.map((x) => x.name), ['Alice Alpha']);
  assertProblem(assert, await s.as('bob', `/api/messages/${m.id}`), 404);
  assert.equal((await ok(s.as('alice', `/api/messages/${m.id}`))).subject, 'Erreur de destinataire');
  assert.ok((await ok(s.as('teacher', `/api/messages/${m.id}`))).recalled_at);
  assert.deepEqual((await ok(s.as('bob', '/api/messages/search?q=destinataire'))).items, []);
});

test('a scheduled message is delivered at its time, once, with one notification per recipient', async () => {
  const at = new Date(Date.now() + 2000).toISOString().replace(/\.\d+Z$/, 'Z');
  const m = await ok(send('teacher', { subject: 'Message programmé', body: 'x', to: [user('alice')], send_at: at }), 201);
  assert.equal(m.state, 'scheduled');
  const seen = await until(async () => (await s.as('alice', `/api/messages/${m.id}`)).status === 200);
  assert.ok(seen);
  assert.equal((await ok(s.as('teacher', `/api/messages/${m.id}`))).state, 'sent');
  const notes = await until(async () => {
    const items = (await ok(s.as('alice', '/api/notifications?limit=200'))).items.filter((n) => n.body === 'Message programmé');
    return items.length ? items : null;
  });
  assert.equal(notes.length, 1);
  assert.equal(notes[0].title, 'Nouveau message de Paul Prof');
  // A scheduled message can be cancelled before its time: nobody ever gets it.
  const later = new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const c = await ok(send('teacher', { subject: 'Annulé', body: 'x', to: [user('bob')], send_at: later }), 201);
  assertProblem(assert, await s.as('bob', `/api/messages/${c.id}`), 404);
  await ok(s.as('teacher', `/api/messages/${c.id}`, { method: 'DELETE' }), 204);
  assertProblem(assert, await s.as('teacher', `/api/messages/${c.id}`), 404);
});

test('with two processes on one database, each scheduled message is delivered once', async () => {
  const twin = await startEnt({ dataDir: ent.dataDir, db: ent.env.ENT_DB, keepData: true });
  try {
    const at = new Date(Date.now() + 2000).toISOString().replace(/\.\d+Z$/, 'Z');
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await ok(send('teacher', { subject: `Programmé ${i}`, body: 'x', to: [user('bob')], send_at: at }), 201)).id);
    assert.ok(await until(async () => {
      const mine = (await inbox('bob')).map((x) => x.id);
      return ids.every((id) => mine.includes(id));
    }));
    // A message sent after them: once its notification is there, theirs were all processed.
    await ok(send('teacher', { subject: 'Témoin', body: 'x', to: [user('bob')] }), 201);
    const notes = await until(async () => {
      const items = (await ok(s.as('bob', '/api/notifications?limit=500'))).items;
      return items.some((n) => n.body === 'Témoin') && items.filter((n) => n.body.startsWith('Programmé ')).length >= 4 ? items : null;
    });
    assert.ok(notes);
    assert.deepEqual(notes.filter((n) => n.body.startsWith('Programmé ')).map((n) => n.body).sort(), ['Programmé 0', 'Programmé 1', 'Programmé 2', 'Programmé 3']);
  } finally {
    const e = await twin.stop();
    assert.equal(e.code, 0, twin.stderr.slice(-3000));
  }
});

test('the sending limit: 429 with Retry-After past the hourly count; too many addresses is 400', async () => {
  await ok(s.as('admin', '/api/messages/rules', { method: 'PUT', body: { limits: [{ role: 'etudiant', per_hour: 3, per_message: 2 }] } }));
  // Too many addresses is the request's own fault, answered at once and counted nowhere: a 400
  // with a stable code, never the 429 of the hourly limit (which asks to wait and retry).
  const wide = await send('eve', { subject: 'x', body: 'x', to: [user('alice'), user('bob')], cc: [user('teacher')] });
  assertProblem(assert, wide, 400);
  assert.equal(wide.json.code, 'validation');
  assert.equal(wide.json.codes.to, 'too_many_recipients');
  assert.equal(wide.json.errors.to, '2 destinataires au plus par message (une classe ou un groupe compte pour un)');
  assert.equal(wide.headers.get('retry-after'), null);
  // Past the 200 addresses a list may hold, the same code, whoever sends (a draft too).
  const many = Array.from({ length: 201 }, () => user('alice'));
  for (const body of [{ subject: 'x', body: 'x', bcc: many }, { subject: 'x', body: 'x', to: many, draft: true }]) {
    const r = await s.as('admin', '/api/messages', { method: 'POST', body });
    assertProblem(assert, r, 400);
    const kind = body.bcc ? 'bcc' : 'to';
    assert.equal(r.json.codes[kind], 'too_many_recipients');
    assert.equal(r.json.errors[kind], '200 adresses au plus par liste');
  }
  for (let i = 0; i < 3; i++) await ok(send('eve', { subject: `n° ${i}`, body: 'x', to: [user('alice')] }), 201);
  const r = await send('eve', { subject: 'encore', body: 'x', to: [user('alice')] });
  assertProblem(assert, r, 429);
  const ra = Number(r.headers.get('retry-after'));
  assert.ok(ra > 0 && ra <= 3600, r.headers.get('retry-after'));
  // Drafts do not count.
  await ok(send('eve', { subject: 'brouillon', body: 'x', to: [user('alice')], draft: true }), 201);
  await ok(s.as('admin', '/api/messages/rules', { method: 'PUT', body: { limits: [{ role: 'etudiant', per_hour: 20, per_message: 10 }] } }));
});

test('each recipient is notified through the bus with the French texts', async () => {
  const m = await ok(send('admin', { subject: 'Fermeture exceptionnelle', body: 'x', to: [user('dan')] }), 201);
  const n = await until(async () => (await ok(s.as('dan', '/api/notifications?limit=100'))).items.find((x) => x.body === 'Fermeture exceptionnelle'));
  assert.ok(n, 'notification');
  assert.equal(n.title, 'Nouveau message de Ada Admin');
  assert.equal(n.link, '/messagerie');
  assert.ok(m.id);
});

test('GDPR: erasing a user removes their copies; the sender\'s receipts no longer list them', async () => {
  s.add('zoe', 'zoe@msg.test', 'Zoé Zeta', 'etudiant');
  await s.join('admin', A, 'zoe');
  const m = await ok(send('teacher', { subject: 'Pour Zoé', body: 'x', to: [user('zoe'), user('alice')] }), 201);
  const d = await ok(send('zoe', { subject: 'Son brouillon', body: 'x', draft: true }), 201);
  const exp = await ok(s.as('zoe', '/api/users/me/export'));
  assert.deepEqual(exp.messagerie.messages.map((x) => x.id).sort(), [m.id, d.id].sort());
  await ok(s.as('admin', `/api/users/${s.users.zoe.id}`, { method: 'DELETE' }), 204);
  const rc = await ok(s.as('teacher', `/api/messages/${m.id}/receipts`));
  assert.deepEqual(rc.items.map((x) => x.user.id), [s.users.alice.id]);
  // The message's search row, rewritten without the erased user, is still found by those who hold it.
  for (const k of ['teacher', 'alice']) assert.deepEqual((await ok(s.as(k, '/api/messages/search?q=zo%C3%A9'))).items.map((x) => x.id), [m.id], k);
});
