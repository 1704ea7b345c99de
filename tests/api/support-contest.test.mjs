// Grade contestation against a real `ent serve`: a student asks for the review of one of their own
// published grades (anything else is 404, a second request on the same grade 409); the ticket goes
// to the evaluation's teacher, who answers and revises the grade from the ticket; the revision is the
// notes service's own audited change (audit entry, note.updated, the report card) and the student is
// told of it and of the outcome. Then who may do what (route x role x relation), and `ent demo`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, assertProblem } from './lib/ent.mjs';
import { school, ok, until, NIL } from './lib/school.mjs';

let ent, s, evaluation;
const ids = {};

before(async () => {
  ent = await startEnt();
  s = school(ent);
  s.add('admin', 'admin@ct.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@ct.test', 'Paul Prof', 'enseignant');
  s.add('teacher2', 'prof2@ct.test', 'Pia Autre', 'enseignant');
  s.add('alice', 'alice@ct.test', 'Alice Alpha', 'etudiant');
  s.add('bob', 'bob@ct.test', 'Bob Beta', 'etudiant');
  s.add('dan', 'dan@ct.test', 'Dan Delta', 'etudiant');
  ids.A = await s.newClass('admin', 'Classe A');
  ids.B = await s.newClass('admin', 'Classe B');
  for (const who of ['alice', 'bob', 'teacher', 'teacher2']) await s.join('admin', ids.A, who);
  for (const who of ['dan', 'teacher2']) await s.join('admin', ids.B, who);
  const course = async (who, title, cls) =>
    (await ok(s.as(who, '/api/cours', { method: 'POST', body: { title, subject: 'x', class_ids: [cls] } }), 201)).id;
  ids.maths = await course('teacher', 'Mathématiques', ids.A);
  ids.svt = await course('teacher2', 'SVT', ids.A);
  ids.anglais = await course('teacher2', 'Anglais B', ids.B);
  ids.period = (await ok(s.as('admin', '/api/notes/periods', {
    method: 'POST', body: { name: 'Trimestre 1', school_year: '2020-2021', starts_on: '2020-09-01', ends_on: '2020-11-30' },
  }), 201)).id;
  evaluation = async (who, course, title, grades, extra = {}) => {
    const e = await ok(s.as(who, '/api/notes/evaluations', {
      method: 'POST', body: { course_id: course, period_id: ids.period, title, date: '2020-10-05', ...extra },
    }), 201);
    await ok(s.as(who, `/api/notes/evaluations/${e.id}/grades`, {
      method: 'PUT', body: { grades: Object.entries(grades).map(([k, v]) => ({ student_id: s.users[k].id, ...v })) },
    }));
    return e.id;
  };
  const graded = (value) => ({ status: 'graded', value });
  ids.e1 = await evaluation('teacher', ids.maths, 'Contrôle 1', { alice: graded(8), bob: graded(12) });
  ids.later = await evaluation('teacher', ids.maths, 'Contrôle 2', { alice: graded(10) },
    { publish_at: new Date(Date.now() + 86400e3).toISOString() });
  ids.absent = await evaluation('teacher', ids.maths, 'Interrogation', { alice: { status: 'absent' } });
  ids.svtEval = await evaluation('teacher2', ids.svt, 'TP', { alice: graded(15) });
  ids.danEval = await evaluation('teacher2', ids.anglais, 'Oral', { dan: graded(9) });
});

after(async () => {
  const errors = ent.stderr.split('\n').filter((l) => l.includes('"level":"error"'));
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
  assert.deepEqual(errors, []);
});

const contest = (who, evaluation_id, reason = "L'exercice 3 n'a pas été compté.") =>
  s.as(who, '/api/support/contestations', { method: 'POST', body: { evaluation_id, reason } });
const revise = (who, id, value) => s.as(who, `/api/support/tickets/${id}/grade`, { method: 'PUT', body: { value } });
const notifs = async (who, type) => (await ok(s.as(who, '/api/notifications?limit=200'))).items.filter((n) => n.type === type);
const card = async (who) => (await ok(s.as(who, '/api/notes/me'))).periods.flatMap((p) => p.subjects.flatMap((x) => x.evaluations));

let t;
test('a student contests a grade; the teacher answers and revises it; the audit trail, the report card and the student know', async () => {
  t = await ok(contest('alice', ids.e1), 201);
  assert.equal(t.category, 'grades');
  assert.equal(t.state, 'new');
  assert.equal(t.evaluation_id, ids.e1);
  assert.equal(t.subject, 'Révision de note : Contrôle 1 (Mathématiques)');
  assert.equal(t.description, "L'exercice 3 n'a pas été compté.");
  assert.equal(t.assignee.id, s.users.teacher.id, 'assigned to the teacher of the evaluation');
  assert.equal(t.requester.id, s.users.alice.id);
  // The teacher is told, and sees it in their queue with the grade.
  const told = await until(async () => (await notifs('teacher', 'support.updated')).find((n) => n.data.ticket_id === t.id));
  assert.ok(told);
  assert.equal(told.title, 'Demande de révision de note : Contrôle 1');
  assert.equal(told.body, 'Alice Alpha demande la révision de sa note de « Contrôle 1 » (Mathématiques) : 8/20.');
  const queue = (await ok(s.as('teacher', '/api/support/tickets'))).items;
  assert.deepEqual(queue.map((x) => x.id), [t.id]);
  assert.deepEqual(queue[0].grade, { evaluation_title: 'Contrôle 1', course_title: 'Mathématiques', text: '8/20' });
  assert.deepEqual((await ok(s.as('admin', `/api/support/tickets?evaluation_id=${ids.e1}`))).items.map((x) => x.id), [t.id]);
  const seen = await ok(s.as('teacher', `/api/support/tickets/${t.id}/grade`));
  assert.deepEqual(
    [seen.evaluation_id, seen.evaluation_title, seen.course_title, seen.scale, seen.status, seen.value, seen.text, seen.published, seen.student.name, seen.may_revise],
    [ids.e1, 'Contrôle 1', 'Mathématiques', 20, 'graded', 8, '8/20', true, 'Alice Alpha', true]);
  const mine = await ok(s.as('alice', `/api/support/tickets/${t.id}/grade`));
  assert.equal(mine.value, 8);
  assert.equal(mine.may_revise, false);
  // One contestation of a grade at a time.
  const again = await contest('alice', ids.e1);
  assertProblem(assert, again, 409);
  assert.match(again.json.detail, /déjà en cours/);
  // The teacher answers in the conversation; the student hears of it.
  await ok(s.as('teacher', `/api/support/tickets/${t.id}/comments`, { method: 'POST', body: { body: 'Vous avez raison, je corrige.' } }), 201);
  assert.ok(await until(async () => (await notifs('alice', 'support.updated')).some((n) => n.body === 'Vous avez raison, je corrige.')));
  // The revision: bad values first, then 11.5.
  for (const value of [25, -1, 'douze', null]) {
    const r = await revise('teacher', t.id, value);
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors.value, String(value));
  }
  const before = await ok(s.as('teacher', `/api/notes/evaluations/${ids.e1}/audit`));
  assert.deepEqual(before.items, []);
  const g = await ok(revise('teacher', t.id, 11.5));
  assert.equal(g.value, 11.5);
  assert.equal(g.text, '11,5/20');
  // The notes service's own audit entry, as a grade edit writes it.
  const audit = await ok(s.as('teacher', `/api/notes/evaluations/${ids.e1}/audit`));
  assert.deepEqual(audit.items.map((a) => [a.student_id, a.changed_by, a.old_status, a.old_value, a.new_status, a.new_value]),
    [[s.users.alice.id, s.users.teacher.id, 'graded', 8, 'graded', 11.5]]);
  assert.equal(audit.items[0].changed_by_name, 'Paul Prof');
  // The report card and the grade list show the new grade; Bob's is untouched.
  const line = (await card('alice')).find((e) => e.id === ids.e1);
  assert.equal(line.value, 11.5);
  assert.equal((await card('bob')).find((e) => e.id === ids.e1).value, 12);
  const grades = await ok(s.as('teacher', `/api/notes/evaluations/${ids.e1}/grades`));
  assert.equal(grades.items.find((x) => x.student_id === s.users.alice.id).value, 11.5);
  // The student is told twice: the notes service's note.updated and the desk's message.
  assert.ok(await until(async () => (await notifs('alice', 'note.updated')).some((n) => n.data.evaluation_id === ids.e1)));
  const revised = await until(async () => (await notifs('alice', 'support.updated')).find((n) => n.title === 'Note révisée : Contrôle 1'));
  assert.ok(revised);
  assert.equal(revised.body, 'Votre note de « Contrôle 1 » (Mathématiques) passe de 8/20 à 11,5/20.');
  assert.deepEqual((await notifs('bob', 'note.updated')), []);
  // The ticket's history has it.
  const history = await ok(s.as('teacher', `/api/support/tickets/${t.id}/history`));
  const change = history.items.find((h) => h.field === 'grade');
  assert.deepEqual([change.old_value, change.new_value, change.actor.id], ['8/20', '11,5/20', s.users.teacher.id]);
  // The same value again changes nothing.
  const same = await revise('teacher', t.id, 11.5);
  assertProblem(assert, same, 409);
  assert.equal(same.json.detail, 'La note est déjà de 11,5/20.');
  assert.equal((await ok(s.as('teacher', `/api/notes/evaluations/${ids.e1}/audit`))).items.length, 1);
  // Resolved: the student learns the outcome.
  await ok(s.as('teacher', `/api/support/tickets/${t.id}`, { method: 'PATCH', body: { state: 'resolved' } }));
  const outcome = await until(async () => (await notifs('alice', 'support.updated')).find((n) => n.title === 'Demande « Révision de note : Contrôle 1 (Mathématiques) » : Résolu'));
  assert.ok(outcome);
  assert.equal(outcome.body, 'Votre demande de révision est traitée : votre note de « Contrôle 1 » (Mathématiques) a été révisée, elle est maintenant de 11,5/20.');
  // Still one at a time while resolved (she may reopen it by answering); once closed, a new one may be asked.
  assertProblem(assert, await contest('alice', ids.e1), 409);
  await ok(s.as('alice', `/api/support/tickets/${t.id}`, { method: 'PATCH', body: { state: 'closed' } }));
  assertProblem(assert, await revise('teacher', t.id, 12), 409);
  const t2 = await ok(contest('alice', ids.e1, 'Et la question bonus ?'), 201);
  // A contestation whose grade is kept says so when resolved.
  await ok(s.as('teacher', `/api/support/tickets/${t2.id}`, { method: 'PATCH', body: { state: 'open' } }));
  await ok(s.as('teacher', `/api/support/tickets/${t2.id}`, { method: 'PATCH', body: { state: 'resolved' } }));
  const kept = await until(async () => (await notifs('alice', 'support.updated')).find((n) => n.data.ticket_id === t2.id && /maintenue/.test(n.body)));
  assert.ok(kept);
  assert.equal(kept.body, 'Votre demande de révision est traitée : votre note de « Contrôle 1 » (Mathématiques) est maintenue (11,5/20). Consultez la réponse de votre enseignant.');
  ids.t2 = t2.id;
});

test('a student contests only their own published grade: anything else is 404, bad input 400, other roles 403', async () => {
  // Not theirs, not published, not an evaluation: the same 404 as for nothing.
  for (const [who, e] of [['alice', ids.danEval], ['dan', ids.e1], ['alice', ids.later], ['alice', NIL]]) {
    const r = await contest(who, e);
    assertProblem(assert, r, 404);
    assert.equal(r.json.detail, "Cette note n'existe pas ou ne vous est pas visible.");
  }
  // An absence is a grade the card shows: it may be contested, and goes to the course's teacher.
  const abs = await ok(contest('alice', ids.absent, "J'étais présente ce jour-là."), 201);
  assert.equal(abs.assignee.id, s.users.teacher.id);
  assert.equal((await ok(s.as('alice', `/api/support/tickets/${abs.id}/grade`))).text, 'Absent');
  // Another teacher's course goes to that teacher.
  const svt = await ok(contest('alice', ids.svtEval), 201);
  assert.equal(svt.assignee.id, s.users.teacher2.id);
  // Bad input names the field.
  for (const [body, field] of [
    [{ evaluation_id: 'abc', reason: 'x' }, 'evaluation_id'],
    [{ evaluation_id: ids.e1 }, 'reason'],
    [{ evaluation_id: ids.e1, reason: '' }, 'reason'],
    [{ evaluation_id: ids.e1, reason: 'a\u0001b' }, 'reason'],
    [{ evaluation_id: ids.e1, reason: 'x', category: 'account' }, 'category'],
  ]) {
    const r = await s.as('bob', '/api/support/contestations', { method: 'POST', body });
    assertProblem(assert, r, 400);
    assert.ok(r.json.errors[field], `${field}: ${r.text}`);
  }
  // Teachers and admins do not contest grades.
  for (const who of ['teacher', 'admin']) assertProblem(assert, await contest(who, ids.e1), 403);
  // Who may read the grade of a contestation: its student, its staff; nobody else (404).
  for (const who of ['bob', 'teacher2', 'dan']) assertProblem(assert, await s.as(who, `/api/support/tickets/${abs.id}/grade`), 404);
  assert.equal((await ok(s.as('admin', `/api/support/tickets/${abs.id}/grade`))).may_revise, true);
  // A ticket that is not a contestation has no grade.
  const plain = await ok(s.as('alice', '/api/support/tickets', { method: 'POST', body: { subject: 'Question', description: 'x', category: 'grades' } }), 201);
  const r = await s.as('admin', `/api/support/tickets/${plain.id}/grade`);
  assertProblem(assert, r, 404);
  assert.equal(r.json.detail, 'Cette demande ne porte pas sur une note.');
  assertProblem(assert, await revise('admin', plain.id, 10), 404);
  // Revising: students never (route), a teacher not on the ticket 404, a teacher on it who does not
  // teach the course 403, an administrator yes.
  assertProblem(assert, await revise('alice', abs.id, 10), 403);
  assertProblem(assert, await revise('teacher2', abs.id, 10), 404);
  // A contestation goes only to a teacher of the evaluation's course, or to an administrator: the
  // list the portal offers, and a refusal with a stable code for anyone else.
  const who = await ok(s.as('admin', `/api/support/tickets/${abs.id}/assignees`));
  assert.ok(who.items.some((p) => p.id === s.users.teacher.id && p.role === 'enseignant' && p.role_label === 'Enseignant'));
  assert.ok(who.items.some((p) => p.id === s.users.admin.id && p.role === 'admin'));
  assert.ok(!who.items.some((p) => p.id === s.users.teacher2.id || p.id === s.users.alice.id));
  assert.deepEqual(who.items.map((p) => p.role), [...who.items.map((p) => p.role)].sort(), 'administrators first');
  const no = await s.as('admin', `/api/support/tickets/${abs.id}`, { method: 'PATCH', body: { assignee_id: s.users.teacher2.id } });
  assertProblem(assert, no, 400);
  assert.equal(no.json.codes.assignee_id, 'not_assignable');
  assert.match(no.json.errors.assignee_id, /n'enseigne pas le cours/);
  for (const r of ['teacher', 'alice']) assertProblem(assert, await s.as(r, `/api/support/tickets/${abs.id}/assignees`), 403);
  await ok(s.as('admin', `/api/support/tickets/${abs.id}`, { method: 'PATCH', body: { assignee_id: s.users.admin.id } }));
  assertProblem(assert, await revise('teacher', abs.id, 10), 404); // no longer assigned to them
  const byAdmin = await ok(revise('admin', abs.id, 14));
  assert.deepEqual([byAdmin.status, byAdmin.value, byAdmin.text], ['graded', 14, '14/20']);
  const audit = await ok(s.as('admin', `/api/notes/evaluations/${ids.absent}/audit`));
  assert.deepEqual(audit.items.map((a) => [a.old_status, a.old_value, a.new_status, a.new_value, a.changed_by]),
    [['absent', null, 'graded', 14, s.users.admin.id]]);
  // A contestation stays in the grades category.
  const cat = await s.as('admin', `/api/support/tickets/${abs.id}`, { method: 'PATCH', body: { category: 'other' } });
  assertProblem(assert, cat, 400);
  assert.ok(cat.json.errors.category);
  // A grade hidden again (publish_at moved to the future) is hidden from the student's ticket too.
  await ok(s.as('teacher2', `/api/notes/evaluations/${ids.svtEval}`, { method: 'PATCH', body: { publish_at: new Date(Date.now() + 86400e3).toISOString() } }));
  assertProblem(assert, await s.as('alice', `/api/support/tickets/${svt.id}/grade`), 404);
  assert.equal((await ok(s.as('alice', `/api/support/tickets/${svt.id}`))).grade, null);
  assert.equal((await ok(s.as('alice', `/api/support/tickets/${abs.id}`))).grade.text, '14/20');
  assert.equal((await ok(s.as('teacher2', `/api/support/tickets/${svt.id}/grade`))).published, false);
  // Two requests on one grade at once: one ticket, one 409.
  const twice = await evaluation('teacher', ids.maths, 'Devoir maison', { bob: { status: 'graded', value: 10 } });
  const both = await Promise.all([contest('bob', twice), contest('bob', twice)]);
  assert.deepEqual(both.map((x) => x.status).sort(), [201, 409], both.map((x) => x.text).join(' '));
  assert.equal((await ok(s.as('bob', `/api/support/tickets?evaluation_id=${twice}`))).items.length, 1);
  // GDPR: the export names the contested evaluation.
  const ex = await ok(s.as('alice', '/api/users/me/export'));
  assert.equal(ex.support.tickets.find((x) => x.id === abs.id).evaluation_id, ids.absent);
});

test('ent demo: FAQ for the school year, a ticket in every state, one contestation; twice changes nothing', async () => {
  const r = ent.run(['demo']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Support: 10 FAQ articles and 7 tickets created now/);
  const again = ent.run(['demo']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /Support: 0 FAQ articles and 0 tickets created now/);
  s.users.lea = { email: 'lea.dubois@demo.ent.local' };
  s.users.claire = { email: 'claire.martin@demo.ent.local' };
  s.users.demoAdmin = { email: 'admin@demo.ent.local' };
  const all = (await ok(s.as('demoAdmin', '/api/support/tickets?limit=500'))).items;
  const demo = all.filter((x) => !Object.values(s.users).some((u) => u.id && u.id === x.requester.id));
  assert.equal(demo.length, 7);
  assert.deepEqual([...new Set(demo.map((x) => x.state))].sort(), ['closed', 'new', 'open', 'resolved', 'waiting']);
  assert.ok(demo.some((x) => x.overdue), 'one is overdue');
  assert.ok(demo.some((x) => x.rating && x.rating.value === 5));
  // The contestation: Léa's latest grade, assigned to the teacher of the course, who has answered.
  const [c] = (await ok(s.as('lea', '/api/support/tickets'))).items.filter((x) => x.evaluation_id);
  assert.ok(c);
  assert.equal(c.category, 'grades');
  assert.equal(c.assignee.name, 'Claire Martin');
  const g = await ok(s.as('lea', `/api/support/tickets/${c.id}/grade`));
  assert.equal(g.published, true);
  assert.ok((await ok(s.as('claire', '/api/support/tickets'))).items.some((x) => x.id === c.id));
  assert.equal((await ok(s.as('claire', `/api/support/tickets/${c.id}/grade`))).may_revise, true);
  const conv = await ok(s.as('lea', `/api/support/tickets/${c.id}/comments`));
  assert.equal(conv.items.length, 1);
  // The FAQ answers the questions of a school year, and the suggestions find them.
  const faq = (await ok(s.as('lea', '/api/support/faq?limit=100'))).items.map((a) => a.title);
  for (const title of ['Activer mon compte pour la première fois', "J'ai oublié mon mot de passe", 'Où trouver mon emploi du temps ?', 'Comment rendre un devoir ?'])
    assert.ok(faq.includes(title), title);
  assert.ok(!faq.includes("Changer de classe en cours d'année"), 'the draft is for admins only');
  const sug = await ok(s.as('lea', `/api/support/faq/suggest?q=${encodeURIComponent('mot de passe oublié')}`));
  assert.equal(sug.items[0].title, "J'ai oublié mon mot de passe");
});
