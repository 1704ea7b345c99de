// The messagerie (/messagerie) and the support (/support) in a real browser against the real `ent`
// with the demo school. A teacher sends an announcement with acknowledgement to a class; a student
// of the class sees it arrive without a reload (the navigation's badge and the list, from the
// stream) and confirms; the teacher sees who has confirmed and who has not, and reminds them; a
// refused recipient's 403 is shown in French. A student opens a ticket after seeing the FAQ's
// suggestions; an admin answers with a public comment and an internal note, and resolves it; the
// student sees the comment, never the note, and rates the answer. A student asks for the review
// of a grade from /notes; the teacher finds it in their queue with the grade, answers and revises
// the grade from the ticket; the student's report card shows the new grade. A teacher attaches a
// file (uploaded with its progress shown) to a message; the student downloads it from the reading
// pane and reports a message to the administrators. Each page is checked with axe-core and
// photographed at 1280 and 375 px (screenshots/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, api } from '../api/lib/ent.mjs';
import { launch, newPage, login, review, shot, PHONE, DESKTOP } from './lib/browser.mjs';

const ADMIN = ['admin@demo.ent.local', 'Demo-Admin-2026!'];
const PASSWORD = { teacher: 'Demo-Prof-2026!', student: 'Demo-Eleve-2026!' };

let ent, browser;
const ctx = {};

function token(email) {
  const r = ent.run(['token', email]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}
async function as(email, path, opts = {}) {
  const r = await api(ent, path, { ...opts, headers: { Authorization: `Bearer ${token(email)}`, ...(opts.headers || {}) } });
  assert.ok(r.status < 400, `${path}: ${r.status} ${r.text}`);
  return r.json;
}
function problems(page) {
  // The 403 of a refused recipient is a failed request the page handles (shown in French).
  return page.problems.filter((p) => (!/favicon/.test(p) && !/status of (404|403) /.test(p)) || /Refused/.test(p));
}

before(async () => {
  ent = await startEnt({ env: { ENT_ACCESS_LOG: 'off' } });
  const demo = ent.run(['demo']);
  assert.equal(demo.status, 0, demo.stderr);
  const courses = await as(ADMIN[0], '/api/cours?limit=100');
  const course = courses.items.find((c) => c.title.startsWith('Mathématiques')) || courses.items[0];
  const teacher = await as(ADMIN[0], `/api/users/${course.teacher_ids[0]}`);
  const klass = await as(ADMIN[0], `/api/users/classes/${course.class_ids[0]}`);
  const students = klass.members.filter((m) => m.role === 'etudiant');
  assert.ok(students.length >= 2, 'a class of at least two students');
  ctx.teacher = teacher.email;
  ctx.teacherName = teacher.name;
  ctx.klass = klass;
  ctx.students = students;
  ctx.student = (await as(ADMIN[0], `/api/users/${students[0].id}`)).email;
  ctx.student2 = (await as(ADMIN[0], `/api/users/${students[1].id}`)).email;
  // A student of another class: a classmate may be written to, they may not.
  const classes = await as(ADMIN[0], '/api/users/classes');
  const other = (classes.items || classes).find((c) => c.id !== klass.id);
  if (other) {
    const o = await as(ADMIN[0], `/api/users/classes/${other.id}`);
    ctx.outsider = o.members.find((m) => m.role === 'etudiant' && !students.some((s) => s.id === m.id));
  }
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (!ent) return;
  const exit = await ent.stop();
  assert.equal(exit.code, 0, ent.stderr.slice(-3000));
});

test('messagerie: an announcement with acknowledgement to a class, seen live, confirmed, followed by the teacher', async (t) => {
  const student = await newPage(browser);
  await login(student, ent, ctx.student, PASSWORD.student);
  await student.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: /^Messagerie/ }).click();
  await student.getByRole('heading', { level: 1, name: 'Messagerie' }).waitFor();
  await student.getByRole('heading', { name: 'Boîte de réception' }).waitFor();
  const badgeBefore = Number((await student.getByTestId('mail-badge').textContent({ timeout: 1000 }).catch(() => '0')).replace(/\D/g, '') || 0);

  const teacher = await newPage(browser);
  await login(teacher, ent, ctx.teacher, PASSWORD.teacher);
  await teacher.goto(`${ent.url}/messagerie`);
  await teacher.getByRole('button', { name: 'Nouveau message' }).click();
  const dialog = teacher.getByRole('dialog', { name: 'Nouveau message' });
  await dialog.waitFor();
  // The focus is in the dialog, on the first recipient field.
  assert.equal(await teacher.evaluate(() => document.activeElement?.getAttribute('role')), 'combobox');
  await teacher.keyboard.type(ctx.klass.name);
  const option = dialog.getByRole('option', { name: new RegExp(`^Classe ${ctx.klass.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) });
  await option.waitFor();
  // Keyboard: down to the class, Enter adds it.
  const options = await dialog.getByRole('option').allTextContents();
  const index = options.findIndex((o) => o.startsWith(`Classe ${ctx.klass.name}`));
  for (let i = 0; i <= index; i++) await teacher.keyboard.press('ArrowDown');
  await teacher.keyboard.press('Enter');
  await dialog.getByRole('button', { name: `Retirer Classe ${ctx.klass.name}` }).waitFor();
  await dialog.getByLabel('Objet').fill('Autorisation de sortie au musée');
  await dialog.getByLabel('Message').fill('Merci de confirmer la lecture de ce message avant vendredi.\nRendez-vous à 8 h devant le collège.');
  await dialog.getByLabel(/Accusé de lecture demandé/).check();
  await shot(teacher, 'messagerie-compose');
  await dialog.getByRole('button', { name: 'Envoyer' }).click();
  await dialog.waitFor({ state: 'detached' });
  await teacher.getByRole('status').filter({ hasText: 'Message envoyé.' }).waitFor();

  // The student's list and badge change without a reload (the stream).
  await student.getByRole('button', { name: /Autorisation de sortie au musée/ }).waitFor();
  await student.getByTestId('mail-badge').filter({ hasText: String(badgeBefore + 1) }).waitFor();
  await student.getByRole('button', { name: /Autorisation de sortie au musée/ }).click();
  await student.getByRole('heading', { level: 2, name: 'Autorisation de sortie au musée' }).waitFor();
  assert.match(await student.locator('.mail-body').first().textContent(), /Rendez-vous à 8 h/);
  await student.getByText('Accusé de lecture demandé :').waitFor();
  // Opening it marked it read: the badge goes back down.
  if (badgeBefore === 0) await student.getByTestId('mail-badge').waitFor({ state: 'detached' });
  else await student.getByTestId('mail-badge').filter({ hasText: String(badgeBefore) }).waitFor();
  await review(t, student, 'messagerie-student-ack', assert);
  await student.getByRole('button', { name: 'Confirmer la lecture', exact: true }).click();
  await student.getByText(/Vous avez confirmé la lecture le/).waitFor();
  await review(t, student, 'messagerie-student', assert);

  // The teacher: who has confirmed, who has not; the reminder.
  await teacher.getByRole('button', { name: 'Envoyés' }).click();
  await teacher.getByRole('button', { name: /Autorisation de sortie au musée/ }).click();
  await teacher.getByRole('heading', { name: 'Accusés de lecture' }).waitFor();
  const others = ctx.students.length - 1;
  await teacher.getByText(`1 sur ${ctx.students.length}`).waitFor();
  const done = await teacher.getByTestId('receipts-done').textContent();
  assert.match(done, new RegExp(ctx.students[0].name));
  const pending = await teacher.getByTestId('receipts-pending').textContent();
  assert.ok(!pending.includes(ctx.students[0].name), pending);
  assert.match(pending, new RegExp(ctx.students[1].name));
  await teacher.getByRole('heading', { name: `N'ont pas confirmé (${others})` }).waitFor();
  await teacher.getByRole('button', { name: "Relancer ceux qui n'ont pas confirmé" }).click();
  await teacher.getByText(`Rappel envoyé à ${others} destinataire${others > 1 ? 's' : ''}.`).waitFor();
  await review(t, teacher, 'messagerie-teacher', assert);
  // The recall is offered within the hour.
  await teacher.getByRole('button', { name: 'Rappeler le message' }).waitFor();
  assert.deepEqual(problems(teacher), []);
  assert.deepEqual(problems(student), []);
  await teacher.context().close();

  // On a phone: the list, then the message, and back.
  const phone = await newPage(browser, PHONE);
  await login(phone, ent, ctx.student2, PASSWORD.student);
  await phone.goto(`${ent.url}/messagerie`);
  await phone.getByRole('button', { name: /Autorisation de sortie au musée/ }).click();
  await phone.getByRole('heading', { level: 2, name: 'Autorisation de sortie au musée' }).waitFor();
  assert.equal(await phone.locator('.mail-list').isVisible(), false, 'the list is hidden while reading on a phone');
  await shot(phone, 'messagerie-phone-message');
  await phone.getByRole('button', { name: '← Retour à la liste' }).click();
  await phone.locator('.mail-list').waitFor({ state: 'visible' });
  await shot(phone, 'messagerie-phone-list');
  await phone.context().close();

  // A refused recipient (another class's student, in a draft): the server's French 403 is shown.
  if (ctx.outsider) {
    const d = await as(ctx.student, '/api/messages', {
      method: 'POST',
      body: { subject: 'Brouillon refusé', body: 'x', to: [{ type: 'user', id: ctx.outsider.id }], draft: true },
    });
    await student.getByRole('button', { name: 'Brouillons' }).click();
    await student.getByRole('button', { name: /Brouillon refusé/ }).click();
    await student.getByRole('button', { name: 'Reprendre le brouillon' }).click();
    const dlg = student.getByRole('dialog', { name: 'Brouillon' });
    await dlg.getByRole('button', { name: 'Envoyer' }).click();
    await dlg.getByRole('alert').filter({ hasText: `Vous n'avez pas le droit d'écrire à ${ctx.outsider.name}` }).waitFor();
    await shot(student, 'messagerie-refused');
    await student.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
    assert.equal((await as(ctx.student, `/api/messages/${d.id}`)).state, 'draft');
  }
  await student.context().close();
});

test('messagerie: a file attached in compose, downloaded by its recipient, who may report the message', async (t) => {
  const name = ctx.students[0].name;
  const teacher = await newPage(browser);
  await login(teacher, ent, ctx.teacher, PASSWORD.teacher);
  await teacher.goto(`${ent.url}/messagerie`);
  await teacher.getByRole('button', { name: 'Nouveau message' }).click();
  const dialog = teacher.getByRole('dialog', { name: 'Nouveau message' });
  await dialog.waitFor();
  await teacher.keyboard.type(name);
  await dialog.getByRole('option', { name: new RegExp(`^${name}`) }).first().click();
  await dialog.getByRole('button', { name: `Retirer ${name}` }).waitFor();
  await dialog.getByLabel('Objet').fill("Fiche d'exercices");
  await dialog.getByLabel('Message').fill('Voici la fiche pour lundi.');
  await dialog.getByLabel('Joindre des fichiers').setInputFiles({ name: 'exercices.txt', mimeType: 'text/plain', buffer: Buffer.from('Exercice 1 : calculer 2 + 2.') });
  await dialog.getByRole('button', { name: 'Retirer exercices.txt' }).waitFor();
  await review(t, teacher, 'messagerie-compose-attachment', assert);
  await dialog.getByRole('button', { name: 'Envoyer' }).click();
  await dialog.waitFor({ state: 'detached' });
  await teacher.getByRole('button', { name: 'Envoyés' }).click();
  const item = teacher.getByRole('button', { name: /Fiche d'exercices/ });
  await item.waitFor();
  assert.match(await item.textContent(), new RegExp(`À : ${name}.*1 pièce jointe`));
  assert.deepEqual(problems(teacher), []);
  await teacher.context().close();

  const student = await newPage(browser);
  await login(student, ent, ctx.student, PASSWORD.student);
  await student.goto(`${ent.url}/messagerie`);
  await student.getByRole('button', { name: /Fiche d'exercices/ }).click();
  await student.getByRole('heading', { name: 'Pièces jointes (1)' }).waitFor();
  const [dl] = await Promise.all([student.waitForEvent('download'), student.getByRole('button', { name: 'Télécharger exercices.txt' }).click()]);
  assert.equal(dl.suggestedFilename(), 'exercices.txt');
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(await dl.path(), 'utf8'), 'Exercice 1 : calculer 2 + 2.');
  await review(t, student, 'messagerie-attachment', assert);
  await student.getByRole('button', { name: 'Signaler' }).click();
  await student.getByLabel('Motif').selectOption('spam');
  await student.getByRole('form', { name: 'Signaler le message' }).getByRole('button', { name: 'Signaler' }).click();
  await student.getByRole('status').filter({ hasText: "Message signalé à l'administration." }).waitFor();
  const reports = await as(ADMIN[0], '/api/messages/reports');
  assert.ok(reports.items.some((r) => r.message.subject === "Fiche d'exercices" && r.reason === 'spam'));

  // The student's settings: quiet hours for their notifications.
  await student.getByRole('button', { name: 'Réglages' }).click();
  const settings = student.getByRole('dialog', { name: 'Réglages de la messagerie' });
  await settings.getByLabel('Retenir les notifications de nouveaux messages pendant ces heures').check();
  await settings.getByLabel('De', { exact: true }).fill('21:00');
  await settings.getByLabel('À', { exact: true }).fill('06:30');
  await review(t, student, 'messagerie-settings', assert);
  await settings.getByRole('button', { name: 'Enregistrer' }).click();
  await settings.waitFor({ state: 'detached' });
  await student.getByRole('status').filter({ hasText: 'Réglages enregistrés.' }).waitFor();
  const st = await as(ctx.student, '/api/messages/settings');
  assert.deepEqual([st.quiet_hours.start, st.quiet_hours.end], ['21:00', '06:30']);
  assert.deepEqual(problems(student), []);
  await student.context().close();

  // An administrator sees the report, suspends the sender's sending, then restores it and closes the report.
  const admin = await newPage(browser);
  await login(admin, ent, ADMIN[0], ADMIN[1]);
  await admin.goto(`${ent.url}/messagerie`);
  await admin.getByRole('button', { name: 'Signalements' }).click();
  const dlg = admin.getByRole('dialog', { name: 'Messages signalés' });
  await dlg.getByRole('heading', { name: "Fiche d'exercices" }).waitFor();
  await dlg.getByRole('button', { name: `Suspendre l'envoi de ${ctx.teacherName}` }).click();
  await dlg.getByRole('status').filter({ hasText: `Envoi de ${ctx.teacherName} suspendu.` }).waitFor();
  await review(t, admin, 'messagerie-reports', assert);
  const refused = await api(ent, '/api/messages', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token(ctx.teacher)}` },
    body: { subject: 'x', body: 'x', to: [{ type: 'user', id: ctx.students[0].id }] },
  });
  assert.equal(refused.status, 403);
  assert.match(refused.json.detail, /suspendu/);
  await dlg.getByRole('button', { name: `Rétablir l'envoi de ${ctx.teacherName}` }).click();
  await dlg.getByRole('status').filter({ hasText: `Envoi de ${ctx.teacherName} rétabli.` }).waitFor();
  await dlg.getByRole('button', { name: 'Clore le signalement' }).first().click();
  await dlg.getByText('Aucun signalement en attente.').waitFor();
  assert.deepEqual(problems(admin), []);
  await admin.context().close();
});

test('support: FAQ suggestions, a ticket answered with a public comment and an internal note, rated', async (t) => {
  // The FAQ's articles ("J'ai oublié mon mot de passe", "Où trouver mon emploi du temps ?" ...) come with the demo.
  const student = await newPage(browser);
  await login(student, ent, ctx.student, PASSWORD.student);
  await student.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Assistance' }).click();
  await student.getByRole('heading', { level: 1, name: 'Assistance' }).waitFor();
  await student.getByRole('link', { name: 'Nouvelle demande' }).first().click();
  await student.getByLabel('Objet').fill('Mot de passe oublié');
  // The suggestions come as the subject is typed.
  await student.getByTestId('faq-suggestions').locator('summary', { hasText: "J'ai oublié mon mot de passe" }).waitFor();
  await student.getByTestId('faq-suggestions').locator('summary', { hasText: "J'ai oublié mon mot de passe" }).click();
  await student.getByRole('button', { name: /Cela a répondu à ma question/ }).waitFor();
  await review(t, student, 'support-new', assert);
  // It did not answer this one: the ticket is written anyway.
  await student.getByLabel('Objet').fill('Mot de passe oublié, et pas d\'adresse e-mail');
  await student.getByLabel('Catégorie').selectOption('account');
  await student.getByLabel('Description').fill('Je n\'ai pas d\'adresse e-mail dans mon compte.');
  await student.getByRole('button', { name: 'Envoyer la demande' }).click();
  await student.getByRole('heading', { level: 1, name: "Mot de passe oublié, et pas d'adresse e-mail" }).waitFor();
  const ticketUrl = student.url();
  assert.match(ticketUrl, /\/support\/demandes\/[0-9a-f-]{36}$/);

  const admin = await newPage(browser);
  await login(admin, ent, ...ADMIN);
  await admin.goto(`${ent.url}/support/file`);
  await admin.getByRole('heading', { name: 'Indicateurs des 30 derniers jours' }).waitFor();
  await admin.getByText('délai médian de première réponse').waitFor();
  await admin.getByText(/^satisfaction \(/).waitFor();
  // Filters: the account category, not assigned.
  await admin.getByLabel('Catégorie').selectOption('account');
  await admin.getByLabel('Assignée à').selectOption('none');
  await admin.getByRole('link', { name: "Mot de passe oublié, et pas d'adresse e-mail" }).waitFor();
  await admin.getByLabel('Catégorie').selectOption('timetable');
  await admin.getByText('Aucune demande avec ces filtres.').waitFor();
  await admin.getByLabel('Catégorie').selectOption('');
  await admin.getByRole('link', { name: "Mot de passe oublié, et pas d'adresse e-mail" }).waitFor();
  await review(t, admin, 'support-queue', assert);
  await admin.getByRole('link', { name: "Mot de passe oublié, et pas d'adresse e-mail" }).click();
  await admin.getByRole('heading', { level: 1, name: "Mot de passe oublié, et pas d'adresse e-mail" }).waitFor();
  await admin.getByLabel('Réponse au demandeur').fill('Bonjour, la vie scolaire vous remettra un nouveau code d\'activation demain.');
  await admin.getByRole('button', { name: 'Envoyer la réponse' }).click();
  await admin.getByTestId('comment').filter({ hasText: 'nouveau code d\'activation demain' }).waitFor();
  await admin.getByLabel(/Note interne \(jamais visible/).check();
  await admin.getByLabel('Note interne', { exact: true }).fill('CONFIDENTIEL : compte créé sans e-mail lors de l\'import CSV.');
  await admin.getByRole('button', { name: 'Ajouter la note interne' }).click();
  const note = admin.getByTestId('internal-note');
  await note.filter({ hasText: 'CONFIDENTIEL' }).waitFor();
  assert.match(await note.textContent(), /Note interne/);
  await admin.getByRole('button', { name: 'Marquer comme résolue' }).click();
  await admin.locator('.details').getByText('Résolu', { exact: true }).waitFor();
  await review(t, admin, 'support-ticket-admin', assert);
  assert.deepEqual(problems(admin), []);
  await admin.context().close();

  // The student: the answer, never the note; then the rating.
  await student.reload();
  await student.getByTestId('comment').filter({ hasText: 'nouveau code d\'activation demain' }).waitFor();
  assert.equal(await student.getByTestId('internal-note').count(), 0);
  const text = await student.locator('main').textContent();
  assert.ok(!text.includes('CONFIDENTIEL') && !text.includes('Note interne'), 'no internal note for the requester');
  await student.locator('label.star', { has: student.getByRole('radio', { name: /^5/ }) }).click();
  assert.ok(await student.getByRole('radio', { name: /^5/ }).isChecked());
  await student.getByLabel('Commentaire (facultatif)').fill('Merci, réponse rapide.');
  await student.getByRole('button', { name: 'Envoyer mon avis' }).click();
  await student.getByText(/Vous avez donné la note de/).waitFor();
  await review(t, student, 'support-ticket-student', assert);
  await student.getByRole('link', { name: 'Mes demandes' }).click();
  await student.getByRole('link', { name: "Mot de passe oublié, et pas d'adresse e-mail" }).waitFor();
  await review(t, student, 'support-mine', assert);
  await student.getByRole('link', { name: 'FAQ' }).click();
  await student.locator('summary', { hasText: 'Où trouver mon emploi du temps ?' }).waitFor();
  assert.equal(await student.getByRole('button', { name: 'Nouvel article' }).count(), 0, 'students do not write the FAQ');
  await review(t, student, 'support-faq', assert);
  assert.deepEqual(problems(student), []);
  await student.context().close();
});

test('support: an admin writes a FAQ article in the portal, which a teacher then reads', async (t) => {
  const admin = await newPage(browser);
  await login(admin, ent, ...ADMIN);
  await admin.goto(`${ent.url}/support/faq`);
  await admin.getByRole('button', { name: 'Nouvel article' }).click();
  await admin.getByLabel('Titre').fill('Comment joindre un fichier à un message ?');
  await admin.getByLabel('Catégorie', { exact: true }).first().selectOption('messaging');
  await admin.getByLabel('Réponse').fill('Les pièces jointes arrivent bientôt dans la messagerie.');
  await admin.getByRole('button', { name: "Créer l'article" }).click();
  await admin.locator('summary', { hasText: 'Comment joindre un fichier à un message ?' }).waitFor();
  await review(t, admin, 'support-faq-admin', assert);
  await admin.context().close();

  const teacher = await newPage(browser, DESKTOP);
  await login(teacher, ent, ctx.teacher, PASSWORD.teacher);
  await teacher.goto(`${ent.url}/support/faq`);
  await teacher.locator('summary', { hasText: 'Comment joindre un fichier à un message ?' }).click();
  await teacher.getByRole('button', { name: /Cela a répondu à ma question/ }).first().click();
  await teacher.getByText(/Merci ! 1 personne a trouvé cet article utile/).waitFor();
  // A teacher's queue: the grades tickets assigned to them (the demo's contestation, with its grade).
  await teacher.getByRole('link', { name: "File d'attente" }).click();
  const demoContest = teacher.getByRole('row').filter({ has: teacher.getByRole('link', { name: /^Révision de note : / }) });
  await demoContest.first().getByText(/^Note contestée : /).waitFor();
  await review(t, teacher, 'support-teacher', assert);
  assert.deepEqual(problems(teacher), []);
  await teacher.context().close();
});

test('grade contestation: a student asks for a review from /notes, the teacher revises the grade from the ticket', async (t) => {
  // The grade to contest: one of the period /notes shows first, graded, not contested yet.
  const report = await as(ctx.student, '/api/notes/me');
  const today = new Date().toISOString().slice(0, 10);
  const period = report.periods.find((p) => p.starts_on <= today && today <= p.ends_on && p.subjects.length) ||
    [...report.periods].reverse().find((p) => p.subjects.length);
  const contested = new Set((await as(ctx.student, '/api/support/tickets?mine=true')).items.map((x) => x.evaluation_id));
  let subject, e;
  for (const sub of period.subjects) {
    e = sub.evaluations.find((x) => x.status === 'graded' && !contested.has(x.id));
    if (e) { subject = sub; break; }
  }
  assert.ok(e, 'a grade to contest');
  const fmt = (v) => String(v).replace('.', ',');
  const revisedValue = e.value + 1 <= e.scale ? e.value + 1 : e.value - 1;

  const student = await newPage(browser);
  await login(student, ent, ctx.student, PASSWORD.student);
  await student.getByRole('link', { name: 'Notes', exact: true }).click();
  const card = student.locator('section.card', { has: student.getByRole('heading', { name: subject.title }) });
  await card.getByRole('button', { name: `Demander une révision : ${e.title}` }).click();
  const reason = student.getByLabel(`Pourquoi demandez-vous une révision de « ${e.title} »`, { exact: false });
  await reason.waitFor();
  await reason.fill("Je pense que l'exercice 2 n'a pas été compté dans le total.");
  await review(t, student, 'notes-contest-form', assert);
  await student.getByRole('button', { name: 'Envoyer la demande' }).click();
  const title = `Révision de note : ${e.title} (${subject.title})`;
  await student.getByRole('heading', { level: 1, name: title }).waitFor();
  await student.getByTestId('contested-grade').filter({ hasText: `${fmt(e.value)}/${e.scale}` }).waitFor();
  assert.equal(await student.getByRole('button', { name: 'Réviser la note' }).count(), 0, 'a student does not revise');
  await review(t, student, 'support-contest-student', assert);

  // The teacher: the contestation in the queue with the grade, then the ticket.
  const teacher = await newPage(browser);
  await login(teacher, ent, ctx.teacher, PASSWORD.teacher);
  await teacher.goto(`${ent.url}/support/file`);
  const row = teacher.getByRole('row').filter({ has: teacher.getByRole('link', { name: title }) });
  await row.getByText(`Note contestée : ${fmt(e.value)}/${e.scale}`).waitFor();
  await review(t, teacher, 'support-contest-queue', assert);
  await row.getByRole('link', { name: title }).click();
  await teacher.getByRole('heading', { level: 1, name: title }).waitFor();
  await teacher.getByLabel('Réponse au demandeur').fill("J'ai recompté votre copie : vous avez raison, je corrige la note.");
  await teacher.getByRole('button', { name: 'Envoyer la réponse' }).click();
  await teacher.getByTestId('comment').filter({ hasText: 'je corrige la note' }).waitFor();
  await teacher.getByLabel(`Nouvelle note (sur ${e.scale})`).fill(fmt(revisedValue));
  await teacher.getByRole('button', { name: 'Réviser la note' }).click();
  await teacher.getByTestId('contested-grade').filter({ hasText: `${fmt(revisedValue)}/${e.scale}` }).waitFor();
  await teacher.getByRole('button', { name: 'Marquer comme résolue' }).click();
  await teacher.locator('.details').getByText('Résolu', { exact: true }).waitFor();
  await teacher.getByRole('button', { name: "Afficher l'historique" }).click();
  await teacher.getByText(`Note contestée ${fmt(e.value)}/${e.scale} → ${fmt(revisedValue)}/${e.scale}`).waitFor();
  await review(t, teacher, 'support-contest-teacher', assert);
  // The notes service's audit trail has the change, by the teacher.
  const audit = await as(ctx.teacher, `/api/notes/evaluations/${e.id}/audit`);
  assert.ok(audit.items.some((a) => a.old_value === e.value && a.new_value === revisedValue && a.changed_by_name === ctx.teacherName));
  assert.deepEqual(problems(teacher), []);
  await teacher.context().close();

  // The student: the new grade on the report card, the outcome, the notification.
  await student.getByRole('link', { name: 'Notes', exact: true }).click();
  const line = card.locator('tr').filter({ hasText: e.title }).first();
  await line.getByText(`${fmt(revisedValue)}/${e.scale}`).waitFor();
  await card.getByRole('link', { name: `Révision demandée : Résolu (${e.title})` }).waitFor();
  await review(t, student, 'notes-contest-done', assert);
  await student.getByRole('link', { name: 'Notifications', exact: true }).first().click();
  await student.getByText(`Note révisée : ${e.title}`).first().waitFor();
  await student.getByText(/Votre demande de révision est traitée/).first().waitFor();
  assert.deepEqual(problems(student), []);
  await student.context().close();
});
