// The support service against a real `ent serve`: a student's ticket seen by nobody else (404), the
// legal state transitions only (409 naming the current state), public answers and internal notes
// the requester never sees (answers, lists, search, exports, notifications), the history, a
// teacher assigned to a grades ticket, the 7-day auto-close claimed by a conditional UPDATE, the
// service levels and overdue tickets, the dashboard, the CSV export for a French spreadsheet,
// the FAQ with its full-text search and suggestions, support.updated notifications, and GDPR.
// Times that would need waiting (7 days, deadlines) are moved in the database, never slept on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startEnt, assertProblem } from './lib/ent.mjs';
import { school, ok, until, NIL } from './lib/school.mjs';

let ent, s;
const SECRET = 'NOTE-INTERNE-confidentielle';

before(async () => {
  ent = await startEnt();
  s = school(ent);
  s.add('admin', 'admin@sup.test', 'Ada Admin', 'admin');
  s.add('admin2', 'admin2@sup.test', 'Abel Admin', 'admin');
  s.add('teacher', 'prof@sup.test', 'Paul Prof', 'enseignant');
  s.add('teacher2', 'prof2@sup.test', 'Pia Autre', 'enseignant');
  s.add('alice', 'alice@sup.test', 'Alice Alpha', 'etudiant');
  s.add('bob', 'bob@sup.test', 'Bob Beta', 'etudiant');
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
  assert.deepEqual(errors, []);
});

/**
 * Runs SQL on the server's database (the test-only way to move a ticket's times): its own, or a
 * cluster's (ENT_TEST_URL) named by its settings.
 */
function sql(q) {
  const r = /^postgres(ql)?:/.test(ent.env.ENT_DB || '')
    ? spawnSync('psql', [ent.env.ENT_DB, '-qAtc', q], { encoding: 'utf8' })
    : spawnSync('sqlite3', ['-cmd', '.timeout 5000', join(ent.dataDir, 'ent.db'), q], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const newTicket = (who, extra = {}) => ok(s.as(who, '/api/support/tickets', {
  method: 'POST', body: { subject: 'Je ne peux plus me connecter', description: 'Mot de passe refusé depuis hier.', category: 'account', ...extra },
}), 201);
const patch = (who, id, body) => s.as(who, `/api/support/tickets/${id}`, { method: 'PATCH', body });
const comment = (who, id, body) => s.as(who, `/api/support/tickets/${id}/comments`, { method: 'POST', body });
const notifs = async (who) => (await ok(s.as(who, '/api/notifications?limit=200'))).items.filter((n) => n.type === 'support.updated');

let t1;
test('a student opens a ticket: deadlines from the service levels, admins are told, nobody else sees it', async () => {
  t1 = await newTicket('alice', { priority: 'urgent' });
  assert.equal(t1.state, 'new');
  assert.equal(t1.state_label, 'Nouveau');
  assert.equal(t1.category_label, 'Compte et connexion');
  assert.equal(t1.priority_label, 'Urgente');
  assert.equal(t1.requester.id, s.users.alice.id);
  assert.equal(t1.requester.name, 'Alice Alpha');
  assert.equal(t1.assignee, null);
  // Urgent: first answer within 4 h, resolution within a day, from the creation.
  const created = Date.parse(t1.created_at);
  assert.equal(Date.parse(t1.first_response_due) - created, 4 * 3600e3);
  assert.equal(Date.parse(t1.resolution_due) - created, 24 * 3600e3);
  assert.equal(t1.overdue, false);
  // Default priority: normal (1 day, 5 days).
  const t0 = await newTicket('bob', { subject: 'Emploi du temps faux', category: 'timetable' });
  assert.equal(t0.priority, 'normal');
  assert.equal(Date.parse(t0.resolution_due) - Date.parse(t0.created_at), 5 * 86400e3);
  // Nobody else: another student, a teacher (not assigned) get 404 everywhere, as for no ticket.
  for (const who of ['bob', 'teacher']) {
    assertProblem(assert, await s.as(who, `/api/support/tickets/${t1.id}`), 404);
    assertProblem(assert, await s.as(who, `/api/support/tickets/${t1.id}/comments`), 404);
    assertProblem(assert, await comment(who, t1.id, { body: 'coucou' }), 404);
    assertProblem(assert, await patch(who, t1.id, { state: 'closed' }), 404);
    assertProblem(assert, await s.as(who, `/api/support/tickets/${t1.id}/rating`, { method: 'PUT', body: { rating: 5 } }), 404);
  }
  assertProblem(assert, await s.as('alice', `/api/support/tickets/${NIL}`), 404);
  assertProblem(assert, await s.as('alice', '/api/support/tickets/nope'), 404);
  // Lists: a student sees their own; admins the whole queue.
  const mine = await ok(s.as('alice', '/api/support/tickets'));
  assert.deepEqual(mine.items.map((t) => t.id), [t1.id]);
  assert.deepEqual((await ok(s.as('bob', '/api/support/tickets'))).items.map((t) => t.id), [t0.id]);
  assert.deepEqual((await ok(s.as('teacher', '/api/support/tickets'))).items, []);
  const queue = await ok(s.as('admin', '/api/support/tickets'));
  // Newest first, by the second: two tickets of the same second come in id order.
  assert.deepEqual(queue.items.map((t) => t.id).sort(), [t0.id, t1.id].sort());
  // Every administrator hears of a new ticket (nobody is assigned yet); students do not.
  for (const who of ['admin', 'admin2']) {
    const n = await until(async () => (await notifs(who)).find((x) => x.data.ticket_id === t1.id));
    assert.ok(n, who);
    assert.equal(n.title, 'Nouvelle demande d\'assistance : Je ne peux plus me connecter');
    assert.match(n.body, /Alice Alpha a ouvert une demande \(Compte et connexion, priorité Urgente\)/);
  }
});

test('bad input: 400 naming the field, never a 5xx', async () => {
  const bad = [
    [{ subject: '', description: 'x', category: 'account' }, 'subject'],
    [{ subject: 'x', description: 'x', category: 'hardware' }, 'category'],
    [{ subject: 'x', description: 'x', category: 'account', priority: 'critique' }, 'priority'],
    [{ subject: 'x', category: 'account' }, 'description'],
    [{ subject: 'x', description: 'x', category: 'account', state: 'closed' }, 'state'],
    [{ subject: 'a\u0001b', description: 'x', category: 'account' }, 'subject'],
    [{ subject: 'x'.repeat(201), description: 'x', category: 'account' }, 'subject'],
  ];
  for (const [body, field] of bad) {
    const r = await s.as('alice', '/api/support/tickets', { method: 'POST', body });
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors[field], `${field}: ${r.text}`);
  }
  const r = await s.as('alice', '/api/support/tickets', { method: 'POST', body: 'x', raw: true, headers: { 'Content-Type': 'text/plain' } });
  assert.equal(r.status, 415);
  for (const [q, field] of [['state=fini', 'state'], ['category=x', 'category'], ['priority=x', 'priority'],
    ['assignee_id=x', 'assignee_id'], ['overdue=oui', 'overdue'], ['limit=0', 'limit'], ['cursor=abc', 'cursor'], ['mine=1', 'mine']]) {
    const l = await s.as('admin', `/api/support/tickets?${q}`);
    assertProblem(assert, l, 400);
    assert.ok(l.json.errors[field], q);
  }
  const p = await patch('admin', t1.id, { state: 'fini', extra: 1 });
  assertProblem(assert, p, 400);
  assert.ok(p.json.errors.state && p.json.errors.extra);
});

test('states: legal transitions only (409 naming the current state); answers, notes and reopening', async () => {
  // new -> resolved is not a transition.
  let r = await patch('admin', t1.id, { state: 'resolved' });
  assertProblem(assert, r, 409);
  assert.match(r.json.detail, /« Nouveau »/);
  // The requester cannot change the state but to close a resolved ticket, nor the priority.
  r = await patch('alice', t1.id, { state: 'open' });
  assertProblem(assert, r, 403);
  assert.ok(r.json.errors.state);
  r = await patch('alice', t1.id, { priority: 'low' });
  assertProblem(assert, r, 403);
  assert.ok(r.json.errors.priority);
  // A student cannot write an internal note.
  r = await comment('alice', t1.id, { body: 'secret', internal: true });
  assertProblem(assert, r, 400);
  assert.ok(r.json.errors.internal);
  // An internal note: the staff see it, the requester never does.
  const note = await ok(comment('admin', t1.id, { body: `${SECRET} : compte verrouillé par erreur`, internal: true }), 201);
  assert.equal(note.internal, true);
  let t = await ok(s.as('alice', `/api/support/tickets/${t1.id}`));
  assert.equal(t.state, 'new'); // a note is not an answer
  assert.equal(t.first_response_at, null);
  // The staff's first public answer takes the ticket up and stops the first-answer clock.
  const answer = await ok(comment('admin', t1.id, { body: 'Nous regardons votre compte.' }), 201);
  assert.equal(answer.author.name, 'Ada Admin');
  t = await ok(s.as('alice', `/api/support/tickets/${t1.id}`));
  assert.equal(t.state, 'open');
  assert.ok(t.first_response_at);
  const forAlice = await ok(s.as('alice', `/api/support/tickets/${t1.id}/comments`));
  assert.deepEqual(forAlice.items.map((c) => c.body), ['Nous regardons votre compte.']);
  assert.ok(!JSON.stringify(forAlice).includes(SECRET));
  const forAdmin = await ok(s.as('admin', `/api/support/tickets/${t1.id}/comments`));
  assert.deepEqual(forAdmin.items.map((c) => c.internal), [true, false]);
  // open -> waiting; the requester's answer puts it back to open.
  t = await ok(patch('admin', t1.id, { state: 'waiting' }));
  assert.equal(t.state, 'waiting');
  await ok(comment('alice', t1.id, { body: 'Voici mon identifiant : alice.' }), 201);
  assert.equal((await ok(s.as('alice', `/api/support/tickets/${t1.id}`))).state, 'open');
  // Resolved; the requester's comment reopens it.
  assert.equal((await ok(patch('admin', t1.id, { state: 'resolved' }))).state, 'resolved');
  assertProblem(assert, await s.as('alice', `/api/support/tickets/${t1.id}/rating`, { method: 'PUT', body: { rating: 9 } }), 400);
  await ok(comment('alice', t1.id, { body: 'Toujours bloquée !' }), 201);
  t = await ok(s.as('alice', `/api/support/tickets/${t1.id}`));
  assert.equal(t.state, 'open');
  assert.equal(t.resolved_at, null);
  // A rating before resolution: 409 naming the state.
  r = await s.as('alice', `/api/support/tickets/${t1.id}/rating`, { method: 'PUT', body: { rating: 4 } });
  assertProblem(assert, r, 409);
  assert.match(r.json.detail, /« En cours »/);
  assert.equal((await ok(patch('admin', t1.id, { state: 'resolved' }))).state, 'resolved');
  // Staff may not rate for the requester; the requester rates once.
  assertProblem(assert, await s.as('admin', `/api/support/tickets/${t1.id}/rating`, { method: 'PUT', body: { rating: 1 } }), 403);
  t = await ok(s.as('alice', `/api/support/tickets/${t1.id}/rating`, { method: 'PUT', body: { rating: 4, comment: 'Merci !' } }));
  assert.deepEqual([t.rating.value, t.rating.comment], [4, 'Merci !']);
  assertProblem(assert, await s.as('alice', `/api/support/tickets/${t1.id}/rating`, { method: 'PUT', body: { rating: 5 } }), 409);
  // The requester closes it; a closed ticket is final.
  assert.equal((await ok(patch('alice', t1.id, { state: 'closed' }))).state, 'closed');
  r = await patch('admin', t1.id, { state: 'open' });
  assertProblem(assert, r, 409);
  assert.match(r.json.detail, /« Clos »/);
  assertProblem(assert, await comment('alice', t1.id, { body: 'encore' }), 409);
  // The history: every change, who, old and new; for staff only.
  const h = await ok(s.as('admin', `/api/support/tickets/${t1.id}/history`));
  const states = h.items.filter((x) => x.field === 'state').map((x) => `${x.old_value}>${x.new_value}`);
  assert.deepEqual(states, ['new>open', 'open>waiting', 'waiting>open', 'open>resolved', 'resolved>open', 'open>resolved', 'resolved>closed']);
  assert.equal(h.items[0].field, 'created');
  assert.equal(h.items.find((x) => x.field === 'rating').new_value, '4');
  assert.equal(h.items.at(-1).actor.id, s.users.alice.id);
  assertProblem(assert, await s.as('alice', `/api/support/tickets/${t1.id}/history`), 403);
  // Pagination of the history keeps the order.
  const p1 = await ok(s.as('admin', `/api/support/tickets/${t1.id}/history?limit=3`));
  const p2 = await ok(s.as('admin', `/api/support/tickets/${t1.id}/history?limit=50&cursor=${encodeURIComponent(p1.next_cursor)}`));
  assert.deepEqual([...p1.items, ...p2.items].map((x) => x.id), h.items.map((x) => x.id));
});

test('notifications: the requester hears of answers and state changes, never of an internal note', async () => {
  const mine = await until(async () => {
    const n = await notifs('alice');
    return n.filter((x) => x.data.ticket_id === t1.id).length >= 4 ? n : null;
  });
  assert.ok(mine);
  const texts = mine.map((n) => `${n.title} | ${n.body}`);
  assert.ok(texts.some((x) => x === 'Réponse du support : Je ne peux plus me connecter | Nous regardons votre compte.'), texts.join('\n'));
  assert.ok(texts.some((x) => x.startsWith('Demande « Je ne peux plus me connecter » : En attente du demandeur')));
  assert.ok(texts.some((x) => x.startsWith('Demande « Je ne peux plus me connecter » : Résolu')));
  assert.ok(!JSON.stringify(mine).includes(SECRET));
  // Her own actions (answers, closing) are told to the administrators, not to her.
  const forAdmin = await notifs('admin');
  assert.ok(forAdmin.some((n) => n.title === 'Nouvelle réponse du demandeur : Je ne peux plus me connecter' && n.body === 'Toujours bloquée !'));
  assert.ok(!texts.some((x) => x.includes('Toujours bloquée')));
  assert.ok(!JSON.stringify(forAdmin).includes(SECRET)); // a note is published to nobody
});

let grades;
test('a grades ticket assigned to a teacher: they act as staff on it and on nothing else', async () => {
  grades = await newTicket('bob', { subject: 'Note de maths manquante', description: 'Contrôle du 3 mars', category: 'grades' });
  const other = await newTicket('bob', { subject: 'Messagerie lente', category: 'messaging' });
  // Only admins or, for grades, a teacher may be assigned.
  let r = await patch('admin', other.id, { assignee_id: s.users.teacher.id });
  assertProblem(assert, r, 400);
  assert.ok(r.json.errors.assignee_id);
  r = await patch('admin', grades.id, { assignee_id: s.users.alice.id });
  assertProblem(assert, r, 400);
  r = await patch('admin', grades.id, { assignee_id: NIL });
  assertProblem(assert, r, 400);
  const t = await ok(patch('admin', grades.id, { assignee_id: s.users.teacher.id }));
  assert.equal(t.assignee.id, s.users.teacher.id);
  assert.equal(t.assignee.name, 'Paul Prof');
  // A teacher is not moved out of grades: the category change is refused while they hold it.
  r = await patch('admin', grades.id, { category: 'other' });
  assertProblem(assert, r, 400);
  assert.ok(r.json.errors.category);
  // The teacher's queue: the grades ticket assigned to them; another teacher sees nothing.
  assert.deepEqual((await ok(s.as('teacher', '/api/support/tickets'))).items.map((x) => x.id), [grades.id]);
  assertProblem(assert, await s.as('teacher2', `/api/support/tickets/${grades.id}`), 404);
  assertProblem(assert, await s.as('teacher', `/api/support/tickets/${other.id}`), 404);
  // They answer, write notes, change the state; the priority is the administrators'.
  await ok(comment('teacher', grades.id, { body: 'Vérifié : une erreur de saisie.', internal: true }), 201);
  await ok(comment('teacher', grades.id, { body: 'Je corrige votre note.' }), 201);
  assert.equal((await ok(patch('teacher', grades.id, { state: 'resolved' }))).state, 'resolved');
  r = await patch('teacher', grades.id, { priority: 'high' });
  assertProblem(assert, r, 403);
  assert.ok(r.json.errors.priority);
  await ok(s.as('teacher', `/api/support/tickets/${grades.id}/history`));
  // Bob's answer goes to the assignee (not every admin).
  await ok(comment('bob', grades.id, { body: 'Merci, c\'est bon.' }), 201);
  assert.ok(await until(async () => (await notifs('teacher')).find((n) => n.body === 'Merci, c\'est bon.')));
  assert.ok(!(await notifs('admin2')).some((n) => n.body === 'Merci, c\'est bon.'));
  assert.ok(!JSON.stringify(await ok(s.as('bob', `/api/support/tickets/${grades.id}/comments`))).includes('erreur de saisie'));
  // Search: a student never finds a ticket through an internal note; an admin does.
  assert.deepEqual((await ok(s.as('bob', '/api/support/tickets?q=saisie'))).items, []);
  assert.deepEqual((await ok(s.as('admin', '/api/support/tickets?q=saisie'))).items.map((x) => x.id), [grades.id]);
  assert.deepEqual((await ok(s.as('bob', '/api/support/tickets?q=MATHS'))).items.map((x) => x.id), [grades.id]);
});

test('a resolved ticket closes itself after 7 days, once, by the system', async () => {
  const t = await newTicket('bob', { subject: 'Fichier introuvable', category: 'courses' });
  await ok(comment('admin', t.id, { body: 'Le fichier est de nouveau en ligne.' }), 201);
  await ok(patch('admin', t.id, { state: 'resolved' }));
  // Six days: nothing happens.
  sql(`UPDATE support_requests SET resolved_at = '${iso(Date.now() - 6 * 86400e3)}' WHERE id = '${t.id}'`);
  // Eight days: the job claims it.
  const other = await newTicket('alice', { subject: 'Encore résolu', category: 'other' });
  await ok(patch('admin', other.id, { state: 'open' }));
  await ok(patch('admin', other.id, { state: 'resolved' }));
  sql(`UPDATE support_requests SET resolved_at = '${iso(Date.now() - 8 * 86400e3)}' WHERE id = '${other.id}'`);
  const closed = await until(async () => {
    const x = await ok(s.as('alice', `/api/support/tickets/${other.id}`));
    return x.state === 'closed' ? x : null;
  });
  assert.ok(closed, 'closed by the job');
  assert.equal((await ok(s.as('bob', `/api/support/tickets/${t.id}`))).state, 'resolved');
  const h = (await ok(s.as('admin', `/api/support/tickets/${other.id}/history`))).items.filter((x) => x.field === 'state');
  assert.deepEqual(h.map((x) => [x.actor?.id ?? null, x.new_value]).at(-1), [null, 'closed']);
  assert.equal(h.filter((x) => x.new_value === 'closed').length, 1);
  assert.ok(await until(async () => (await notifs('alice')).find((n) => n.data.ticket_id === other.id && /close automatiquement/.test(n.body))));
});

test('service levels: admin-editable, applied to new tickets and priority changes; overdue flagged and listed', async () => {
  const sla = await ok(s.as('alice', '/api/support/sla'));
  assert.deepEqual(sla.items.map((x) => [x.priority, x.first_response_minutes, x.resolution_minutes]),
    [['urgent', 240, 1440], ['high', 480, 4320], ['normal', 1440, 7200], ['low', 4320, 14400]]);
  assertProblem(assert, await s.as('alice', '/api/support/sla/high', { method: 'PUT', body: { first_response_minutes: 60, resolution_minutes: 120 } }), 403);
  let r = await s.as('admin', '/api/support/sla/high', { method: 'PUT', body: { first_response_minutes: 600, resolution_minutes: 60 } });
  assertProblem(assert, r, 400);
  assert.ok(r.json.errors.resolution_minutes);
  r = await s.as('admin', '/api/support/sla/critique', { method: 'PUT', body: { first_response_minutes: 60, resolution_minutes: 120 } });
  assertProblem(assert, r, 400);
  assert.ok(r.json.errors.priority);
  const high = await ok(s.as('admin', '/api/support/sla/high', { method: 'PUT', body: { first_response_minutes: 120, resolution_minutes: 2880 } }));
  assert.equal(high.first_response_minutes, 120);
  const t = await newTicket('alice', { subject: 'Cours invisible', category: 'courses', priority: 'low' });
  const p = await ok(patch('admin', t.id, { priority: 'high' }));
  assert.equal(Date.parse(p.first_response_due) - Date.parse(p.created_at), 120 * 60e3);
  assert.equal(Date.parse(p.resolution_due) - Date.parse(p.created_at), 2880 * 60e3);
  // Its first answer is late: move its deadline into the past.
  sql(`UPDATE support_requests SET first_response_due = '${iso(Date.now() - 60e3)}' WHERE id = '${t.id}'`);
  const late = await ok(s.as('alice', `/api/support/tickets/${t.id}`));
  assert.deepEqual([late.overdue, late.first_response_overdue, late.resolution_overdue], [true, true, false]);
  const overdue = await ok(s.as('admin', '/api/support/tickets?overdue=true'));
  assert.deepEqual(overdue.items.map((x) => x.id), [t.id]);
  assert.ok(!(await ok(s.as('admin', '/api/support/tickets?overdue=false'))).items.some((x) => x.id === t.id));
  // Filters combine; the Link header keeps them.
  const f = await s.as('admin', '/api/support/tickets?priority=high&state=new&limit=1');
  assert.equal(f.status, 200);
  assert.deepEqual(f.json.items.map((x) => x.id), [t.id]);
  assert.deepEqual((await ok(s.as('admin', `/api/support/tickets?assignee_id=${s.users.teacher.id}`))).items.map((x) => x.id), [grades.id]);
  assert.ok((await ok(s.as('admin', '/api/support/tickets?assignee_id=none'))).items.every((x) => x.assignee === null));
  // A first answer ends the first-answer lateness.
  await ok(comment('admin', t.id, { body: 'Pris en charge.' }), 201);
  assert.equal((await ok(s.as('alice', `/api/support/tickets/${t.id}`))).overdue, false);
});

test('pagination of the queue: every ticket once, newest first, with opaque cursors', async () => {
  const all = (await ok(s.as('admin', '/api/support/tickets?limit=500'))).items.map((x) => x.id);
  const seen = [];
  let cursor = null;
  do {
    const r = await ok(s.as('admin', `/api/support/tickets?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`));
    seen.push(...r.items.map((x) => x.id));
    cursor = r.next_cursor;
  } while (cursor);
  assert.deepEqual(seen, all);
  assert.ok(all.length >= 6);
});

test('the CSV export: French spreadsheet form, formula-safe, without internal notes; admins only', async () => {
  await newTicket('bob', { subject: '=HYPERLINK("http://evil","x")', category: 'other' });
  assertProblem(assert, await s.as('teacher', '/api/support/tickets.csv'), 403);
  const res = await fetch(ent.url + '/api/support/tickets.csv', { headers: { Authorization: `Bearer ${s.token('admin')}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/csv; charset=utf-8/);
  assert.match(res.headers.get('content-disposition'), /attachment/);
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  const text = bytes.subarray(3).toString('utf8');
  const lines = text.trim().split('\r\n');
  assert.ok(lines[0].startsWith('"Référence";"Sujet";"Catégorie";"Priorité";"État";"Demandeur"'));
  assert.ok(text.includes('"\'=HYPERLINK(""http://evil"",""x"")"'));
  assert.ok(!text.includes(SECRET) && !text.includes('erreur de saisie'));
  const row = lines.find((l) => l.startsWith(`"${t1.id}"`)).split(';');
  assert.equal(row[4], '"Clos"');
  assert.match(row[10], /^"\d+,\d\d"$/); // hours to the first answer, decimal comma
  assert.match(row[7], /^"\d\d\/\d\d\/\d{4} \d\d:\d\d"$/);
  assert.equal(row[15], '"4"');
  // The list's filters apply.
  const only = await s.as('admin', '/api/support/tickets.csv?category=grades');
  assert.equal(only.text.trim().split('\r\n').length, 2);
  assertProblem(assert, await s.as('admin', '/api/support/tickets.csv?state=x'), 400);
});

let faq;
test('FAQ: drafts for admins only, full-text search and suggestions, "this answered my question" once per person', async () => {
  const body = (extra) => ({ title: 'Mot de passe oublié', body: 'Utilisez le lien « mot de passe oublié » sur la page de connexion.', category: 'account', published: true, ...extra });
  faq = await ok(s.as('admin', '/api/support/faq', { method: 'POST', body: body() }), 201);
  assert.equal(faq.category_label, 'Compte et connexion');
  const emploi = await ok(s.as('admin', '/api/support/faq', { method: 'POST', body: body({ title: 'Emploi du temps des élèves', body: 'Le planning de la semaine se trouve dans l\'agenda.', category: 'timetable' }) }), 201);
  const draft = await ok(s.as('admin', '/api/support/faq', { method: 'POST', body: body({ title: 'Connexion brouillon', published: false }) }), 201);
  assertProblem(assert, await s.as('alice', '/api/support/faq', { method: 'POST', body: body() }), 403);
  let r = await s.as('admin', '/api/support/faq', { method: 'POST', body: { title: '', body: 'x', category: 'nope' } });
  assertProblem(assert, r, 400);
  assert.ok(r.json.errors.title && r.json.errors.category);
  // Lists: a student sees the published ones; the draft is 404 for them.
  const list = await ok(s.as('alice', '/api/support/faq'));
  assert.deepEqual(list.items.map((x) => x.id).sort(), [faq.id, emploi.id].sort());
  assertProblem(assert, await s.as('alice', `/api/support/faq/${draft.id}`), 404);
  assert.equal((await ok(s.as('admin', `/api/support/faq/${draft.id}`))).published, false);
  assert.deepEqual((await ok(s.as('admin', '/api/support/faq?published=false'))).items.map((x) => x.id), [draft.id]);
  assertProblem(assert, await s.as('alice', '/api/support/faq?published=false'), 400);
  // Search: words, any punctuation harmless, drafts hidden.
  assert.deepEqual((await ok(s.as('alice', '/api/support/faq?q=connexion'))).items.map((x) => x.id), [faq.id]);
  assert.deepEqual((await ok(s.as('admin', '/api/support/faq?q=connexion'))).items.map((x) => x.id).sort(), [faq.id, draft.id].sort());
  for (const q of ['"', 'NEAR(', '*', ')) OR 1=1 --', 'a:b & !c |']) assert.equal((await s.as('alice', `/api/support/faq?q=${encodeURIComponent(q)}`)).status, 200, q);
  if (!/^postgres(ql)?:/.test(ent.env.ENT_DB || '')) {
    // SQLite folds accents (unicode61 remove_diacritics); PostgreSQL's 'french' stems instead.
    assert.deepEqual((await ok(s.as('alice', '/api/support/faq?q=eleves'))).items.map((x) => x.id), [emploi.id]);
  } else {
    assert.deepEqual((await ok(s.as('alice', `/api/support/faq?q=${encodeURIComponent('oubliés')}`))).items.map((x) => x.id), [faq.id]);
  }
  // Suggestions for the new-ticket form: any word, best first, published only.
  const sug = await ok(s.as('alice', `/api/support/faq/suggest?q=${encodeURIComponent('oublié mon mot de passe, connexion impossible')}`));
  assert.equal(sug.items[0].id, faq.id);
  assert.ok(!sug.items.some((x) => x.id === draft.id));
  r = await s.as('alice', '/api/support/faq/suggest');
  assertProblem(assert, r, 400);
  assert.ok(r.json.errors.q);
  // Unpublishing hides it everywhere; an edit is searchable at once.
  await ok(s.as('admin', `/api/support/faq/${emploi.id}`, { method: 'PATCH', body: { published: false } }));
  assertProblem(assert, await s.as('alice', `/api/support/faq/${emploi.id}`), 404);
  await ok(s.as('admin', `/api/support/faq/${draft.id}`, { method: 'PATCH', body: { title: 'Messagerie pleine', body: 'Videz la corbeille.', published: true } }));
  assert.deepEqual((await ok(s.as('alice', '/api/support/faq?q=corbeille'))).items.map((x) => x.id), [draft.id]);
  assert.deepEqual((await ok(s.as('alice', '/api/support/faq?q=brouillon'))).items, []);
  // Helpful: once per person.
  assert.equal((await ok(s.as('alice', `/api/support/faq/${faq.id}/helpful`, { method: 'POST' }))).helpful_count, 1);
  assert.equal((await ok(s.as('alice', `/api/support/faq/${faq.id}/helpful`, { method: 'POST' }))).helpful_count, 1);
  assert.equal((await ok(s.as('bob', `/api/support/faq/${faq.id}/helpful`, { method: 'POST' }))).helpful_count, 2);
  assertProblem(assert, await s.as('bob', `/api/support/faq/${emploi.id}/helpful`, { method: 'POST' }), 404);
  // Delete.
  assert.equal((await s.as('admin', `/api/support/faq/${emploi.id}`, { method: 'DELETE' })).status, 204);
  assertProblem(assert, await s.as('admin', `/api/support/faq/${emploi.id}`), 404);
});

test('the dashboard: opened by period, median first answer, overdue, satisfaction, FAQ helpful', async () => {
  assertProblem(assert, await s.as('teacher', '/api/support/dashboard'), 403);
  for (const [q, field] of [['period=year', 'period'], ['from=hier', 'from'], ['from=2027-01-02&to=2027-01-01', 'to']]) {
    const r = await s.as('admin', `/api/support/dashboard?${q}`);
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors[field], q);
  }
  // Known first-answer delays: 10 and 30 minutes, so the median of those two alone is 20.
  const from = iso(Date.now() - 400 * 86400e3), to = iso(Date.now() - 399 * 86400e3);
  const a = await newTicket('alice', { subject: 'Ancien 1' });
  const b = await newTicket('alice', { subject: 'Ancien 2' });
  const c0 = Date.now() - 400 * 86400e3 + 3600e3;
  sql(`UPDATE support_requests SET created_at = '${iso(c0)}', first_response_at = '${iso(c0 + 10 * 60e3)}' WHERE id = '${a.id}'`);
  sql(`UPDATE support_requests SET created_at = '${iso(c0)}', first_response_at = '${iso(c0 + 30 * 60e3)}' WHERE id = '${b.id}'`);
  const old = await ok(s.as('admin', `/api/support/dashboard?from=${from}&to=${to}&period=day`));
  assert.equal(old.opened, 2);
  assert.equal(old.median_first_response_minutes, 20);
  assert.deepEqual(old.opened_by_period, [{ period: iso(c0).slice(0, 10), count: 2 }]);
  const d = await ok(s.as('admin', '/api/support/dashboard?period=month'));
  assert.ok(d.opened >= 6);
  assert.deepEqual(d.satisfaction, { mean: 4, count: 1 });
  assert.deepEqual(d.faq_helpful, { period: 2, total: 2 });
  assert.equal(typeof d.overdue, 'number');
  assert.equal(d.by_state.closed >= 2, true);
  assert.equal(d.opened_by_period.reduce((n, x) => n + x.count, 0), d.opened);
});

test('GDPR: the export has the requester\'s tickets and public comments, never a note; erasure removes them', async () => {
  const ex = await ok(s.as('bob', '/api/users/me/export'));
  const mine = ex.support.tickets.find((t) => t.id === grades.id);
  assert.ok(mine);
  assert.ok(mine.comments.some((c) => c.body === 'Je corrige votre note.' && c.mine === false));
  assert.ok(mine.comments.every((c) => c.mine === (c.author_id === s.users.bob.id)));
  assert.ok(mine.rating === null || Number.isInteger(mine.rating));
  assert.ok(!JSON.stringify(ex.support).includes('erreur de saisie'));
  assert.deepEqual(ex.support.faq_helpful.map((x) => x.article_id), [faq.id]);
  assert.equal((await s.as('admin', `/api/users/${s.users.bob.id}`, { method: 'DELETE' })).status, 204);
  assertProblem(assert, await s.as('admin', `/api/support/tickets/${grades.id}`), 404);
  assert.equal(sql(`SELECT COUNT(*) FROM support_comments WHERE ticket_id = '${grades.id}'`), '0');
  assert.equal(sql(`SELECT COUNT(*) FROM support_faq_helpful WHERE user_id = '${s.users.bob.id}'`), '0');
});
