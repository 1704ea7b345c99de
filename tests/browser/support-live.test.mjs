// A support ticket followed live in two browsers against the real `ent` with the demo school: a
// student attaches a screenshot to her ticket, which the administrator's open page shows without a
// reload; the administrator answers with a file, then writes an internal note with another file and
// puts the ticket on hold; the student's page shows the answer, its file (downloaded) and the new
// state without a reload, never the note nor its file. The administrator's assign control offers
// the assignable staff only (administrators; for a grades ticket, the teachers too). Each page is
// checked with axe-core and photographed at 1280 and 375 px (screenshots/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt } from '../api/lib/ent.mjs';
import { launch, newPage, login, review, apiAs } from './lib/browser.mjs';

const ADMIN = ['admin@demo.ent.local', 'Demo-Admin-2026!'];
const STUDENT_PASSWORD = 'Demo-Eleve-2026!';

let ent, browser, student, as;

const problems = (page) => page.problems.filter((p) => !/favicon/.test(p));

before(async () => {
  ent = await startEnt({ env: { ENT_ACCESS_LOG: 'off' } });
  as = apiAs(ent);
  const demo = ent.run(['demo']);
  assert.equal(demo.status, 0, demo.stderr);
  const students = await as(ADMIN[0], '/api/users?role=etudiant&limit=1');
  student = students.items[0].email;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (!ent) return;
  const exit = await ent.stop();
  assert.equal(exit.code, 0, ent.stderr.slice(-3000));
});

test('support: attachments and answers seen live by the requester and the administrator; never an internal note', async (t) => {
  const ticket = await as(student, '/api/support/tickets', {
    method: 'POST',
    body: { subject: "Le devoir ne s'envoie pas", description: "Le bouton « Rendre » tourne sans fin, voir la capture d'écran.", category: 'courses' },
  });
  const url = `${ent.url}/support/demandes/${ticket.id}`;

  const mine = await newPage(browser);
  await login(mine, ent, student, STUDENT_PASSWORD);
  await mine.goto(url);
  await mine.getByRole('heading', { level: 1, name: "Le devoir ne s'envoie pas" }).waitFor();
  const desk = await newPage(browser);
  await login(desk, ent, ...ADMIN);
  await desk.goto(url);
  await desk.getByRole('heading', { level: 1, name: "Le devoir ne s'envoie pas" }).waitFor();
  for (const p of [mine, desk]) await p.getByText('Mise à jour en direct', { exact: true }).waitFor();

  // The assign control offers the administrators only for a courses ticket.
  const assign = desk.getByLabel('Assignée à');
  await assign.locator('optgroup[label="Administrateurs"] option').first().waitFor({ state: 'attached' });
  assert.equal(await assign.locator('optgroup[label="Enseignants"]').count(), 0);

  // The student attaches a screenshot to her ticket; the administrator's page shows it by itself.
  await mine.getByLabel("Joindre un fichier (capture d'écran, document)").setInputFiles({ name: 'capture.txt', mimeType: 'text/plain', buffer: Buffer.from('Le bouton tourne sans fin.') });
  await mine.getByRole('list', { name: 'Pièces jointes de la demande' }).getByRole('button', { name: /capture\.txt/ }).waitFor();
  await desk.getByRole('list', { name: 'Pièces jointes de la demande' }).getByRole('button', { name: /capture\.txt/ }).waitFor();

  // The administrator answers with a file; the student's page shows the answer and its file.
  await desk.getByLabel('Réponse au demandeur').fill('Bonjour, voici la marche à suivre pour rendre votre devoir.');
  await desk.getByLabel('Joindre des fichiers à la réponse').setInputFiles({ name: 'marche-a-suivre.txt', mimeType: 'text/plain', buffer: Buffer.from('1. Vider le cache. 2. Rendre.') });
  await desk.getByRole('button', { name: 'Retirer marche-a-suivre.txt' }).waitFor();
  await desk.getByRole('button', { name: 'Envoyer la réponse' }).click();
  await desk.getByTestId('comment').filter({ hasText: 'voici la marche à suivre' }).waitFor();
  const answer = mine.getByTestId('comment').filter({ hasText: 'voici la marche à suivre' });
  await answer.waitFor();
  const [dl] = await Promise.all([mine.waitForEvent('download'), answer.getByRole('button', { name: /marche-a-suivre\.txt/ }).click()]);
  const chunks = [];
  for await (const c of await dl.createReadStream()) chunks.push(c);
  assert.equal(Buffer.concat(chunks).toString(), '1. Vider le cache. 2. Rendre.');

  // An internal note with a file, then the ticket put on hold: the student sees the new state
  // arrive, and nothing of the note.
  await desk.getByLabel(/Note interne \(jamais visible/).check();
  await desk.getByLabel('Note interne', { exact: true }).fill('CONFIDENTIEL : incident connu du serveur de dépôt.');
  await desk.getByLabel('Joindre des fichiers à la note').setInputFiles({ name: 'journal-serveur.txt', mimeType: 'text/plain', buffer: Buffer.from('CONFIDENTIEL') });
  await desk.getByRole('button', { name: 'Retirer journal-serveur.txt' }).waitFor();
  await desk.getByRole('button', { name: 'Ajouter la note interne' }).click();
  const note = desk.getByTestId('internal-note').filter({ hasText: 'CONFIDENTIEL' });
  await note.waitFor();
  await note.getByRole('button', { name: /journal-serveur\.txt/ }).waitFor();
  await desk.getByRole('button', { name: 'Mettre en attente du demandeur' }).click();
  await desk.locator('.details').getByText('En attente du demandeur', { exact: true }).waitFor();
  await mine.locator('.details').getByText('En attente du demandeur', { exact: true }).waitFor();
  const text = await mine.locator('main').textContent();
  assert.ok(!text.includes('CONFIDENTIEL') && !text.includes('journal-serveur'), 'nothing of the internal note for the requester');
  assert.equal(await mine.getByTestId('internal-note').count(), 0);

  await review(t, desk, 'support-live-admin', assert);
  await review(t, mine, 'support-live-student', assert);
  assert.deepEqual(problems(desk), []);
  assert.deepEqual(problems(mine), []);
  await mine.context().close();

  // A grades ticket: the teachers too are offered.
  const grades = await as(student, '/api/support/tickets', { method: 'POST', body: { subject: 'Note absente', description: 'Le contrôle de lundi manque.', category: 'grades' } });
  await desk.goto(`${ent.url}/support/demandes/${grades.id}`);
  await desk.getByLabel('Assignée à').locator('optgroup[label="Enseignants"] option').first().waitFor({ state: 'attached' });
  await desk.getByText('Les administrateurs et les enseignants.').waitFor();
  await desk.context().close();
});
