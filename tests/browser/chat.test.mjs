// The assistant (GlobalChat) in a real browser against the real `ent` with the demo school. A
// teacher publishes a course PDF whose page 3 answers a question (through the API); once it is
// indexed, a student opens the assistant from the top bar (focus in the panel, Escape closes it),
// asks, sees "Réflexion…" then the answer streamed over SSE with its citation, rates it with a
// comment, follows the citation to the PDF opened at page 3, and finds the question and the
// feedback in the history of /chat. A question outside the course material gets "Je ne sais pas"
// with the FAQ and a ticket; too many questions get the French 429 with the wait; the history is
// deleted after a confirmation. Each view is checked with axe-core and photographed at 1280 and
// 375 px (screenshots/chat-*).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, api } from '../api/lib/ent.mjs';
import { until } from '../api/lib/school.mjs';
import { makePdf } from '../api/lib/pdf.mjs';
import { join } from 'node:path';
import { launch, newPage, login, review, shot, PHONE, SHOTS } from './lib/browser.mjs';

const ADMIN = 'admin@demo.ent.local';
const STUDENT_PASSWORD = 'Demo-Eleve-2026!';
const RATE = 4; // questions per user per 10 minutes: the fifth is refused (429)
const TITLE = 'Chapitre 7 : les racines carrées';
const QUESTION = 'Comment fonctionne la méthode de Héron ?';

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
/** Problems the page reported, less the provider page's favicon and the refused question (429) the test provokes. */
function problems(page) {
  return page.problems.filter((p) => !/status of 404 \(Not Found\)$/.test(p) && !/status of 429 \(Too Many Requests\)$/.test(p));
}

before(async () => {
  ent = await startEnt({ env: { ENT_ACCESS_LOG: 'off', ENT_CHATBOT_RATE: String(RATE) } });
  const demo = ent.run(['demo']);
  assert.equal(demo.status, 0, demo.stderr);
  const courses = await as(ADMIN, '/api/cours?limit=100');
  const course = courses.items.find((c) => c.title.startsWith('Mathématiques')) || courses.items[0];
  const teacher = await as(ADMIN, `/api/users/${course.teacher_ids[0]}`);
  const klass = await as(ADMIN, `/api/users/classes/${course.class_ids[0]}`);
  const student = klass.members.find((m) => m.role === 'etudiant');
  ctx.course = course;
  ctx.student = (await as(ADMIN, `/api/users/${student.id}`)).email;

  // The teacher publishes a PDF whose third page answers the question.
  const pdf = makePdf([
    ['Mathématiques — Chapitre 7 : les racines carrées', 'Ce chapitre reprend le cours et ses exercices.'],
    'La racine carrée d’un nombre positif a est le nombre positif dont le carré est égal à a. Les exercices sont corrigés en classe.',
    'La méthode de Héron calcule une valeur approchée de la racine carrée d’un nombre : on part d’une valeur proche, puis on remplace cette valeur par la moyenne de la valeur et du quotient du nombre par la valeur. Chaque étape double à peu près le nombre de décimales exactes.',
  ]);
  const fd = new FormData();
  fd.append('file', new Blob([pdf], { type: 'application/pdf' }), 'racines-carrees.pdf');
  const up = await fetch(`${ent.url}/api/fichiers`, { method: 'POST', body: fd, headers: { Authorization: `Bearer ${token(teacher.email)}` } });
  assert.equal(up.status, 201, await up.clone().text());
  const file = await up.json();
  const m = await as(teacher.email, `/api/cours/${course.id}/materials`, { method: 'POST', body: { title: TITLE, file_id: file.id } });
  ctx.material = m.id;
  const doc = await until(async () => {
    const r = await as(teacher.email, `/chatbot/documents?course_id=${course.id}`);
    return r.items.find((d) => d.material_id === m.id && d.status === 'indexed');
  }, 80, 250);
  assert.ok(doc, 'the course PDF is indexed');
  assert.equal(doc.pages, 3);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (!ent) return;
  const exit = await ent.stop();
  assert.equal(exit.code, 0, ent.stderr.slice(-3000));
});

/** The answer of the last question of the conversation, once finished (done or refused). */
async function lastAnswer(scope) {
  const answer = scope.getByTestId('chat-answer').last();
  await answer.and(scope.locator('[data-state="done"], [data-state="error"]')).waitFor();
  return answer;
}

test('a student asks from any page, gets the streamed answer with its citation, rates it, opens the PDF at the page, and finds it in the history', async (t) => {
  const page = await newPage(browser);
  await login(page, ent, ctx.student, STUDENT_PASSWORD);

  // The top bar's button opens the panel; the focus goes to the question field.
  const open = page.getByRole('button', { name: /^Assistant/ });
  await open.click();
  const panel = page.getByRole('dialog', { name: 'Assistant de cours' });
  await panel.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'TEXTAREA');
  assert.equal(await page.evaluate(() => document.activeElement?.closest('dialog') !== null), true);
  // Escape closes it and gives the focus back to the button.
  await page.keyboard.press('Escape');
  await panel.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Assistant');
  await page.keyboard.press('Enter');
  await panel.waitFor();
  await review(t, page, 'chat-panel-empty', assert);

  // The question goes to the stream; the request is held a moment so "Réflexion…" is seen.
  let release, passed;
  const held = new Promise((r) => (release = r));
  const through = new Promise((r) => (passed = r));
  await page.route('**/chatbot/ask/stream', async (route) => {
    await held;
    await route.continue();
    passed();
  });
  const request = page.waitForRequest((r) => r.url().endsWith('/chatbot/ask/stream'));
  await page.keyboard.type(QUESTION);
  await page.keyboard.press('Enter');
  const sent = await request;
  assert.equal(sent.method(), 'POST');
  assert.equal(sent.headers().accept, 'text/event-stream');
  assert.deepEqual(sent.postDataJSON(), { question: QUESTION });
  await panel.getByTestId('chat-answer').getByText('Réflexion…').waitFor();
  assert.equal(await panel.getByRole('status').filter({ hasText: 'Réflexion…' }).count(), 1);
  assert.equal(await panel.getByTestId('chat-answer').last().getAttribute('aria-busy'), 'true');
  assert.equal(await panel.getByRole('log').getAttribute('aria-live'), 'polite');
  release();
  await through;
  await page.unroute('**/chatbot/ask/stream');

  const answer = await lastAnswer(panel);
  assert.equal(await answer.getAttribute('data-state'), 'done');
  assert.equal(await answer.getAttribute('aria-busy'), 'false');
  const text = await answer.textContent();
  assert.match(text, /méthode de Héron calcule une valeur approchée/);
  const cite = answer.getByRole('link', { name: `[1] ${TITLE}, page 3` });
  assert.equal(await cite.getAttribute('href'), `/cours/${ctx.course.id}/materials/${ctx.material}?page=3`);
  // The streamed answer is the one recorded.
  const [recorded] = (await as(ctx.student, '/chatbot/history')).items;
  assert.equal(recorded.question, QUESTION);
  assert.equal(recorded.answer.replace(/\s+/g, ' ').includes('méthode de Héron calcule'), true);

  // Thumbs up, then a comment.
  await panel.getByRole('button', { name: 'Réponse utile' }).click();
  await panel.getByText('Merci pour votre avis.').waitFor();
  assert.equal(await panel.getByRole('button', { name: 'Réponse utile' }).getAttribute('aria-pressed'), 'true');
  const comment = panel.getByLabel('Un commentaire ? (facultatif)');
  assert.equal(await comment.evaluate((el) => el === document.activeElement), true);
  await comment.fill('Clair, avec la bonne page.');
  await review(t, page, 'chat-panel', assert);
  await panel.getByRole('button', { name: 'Envoyer le commentaire' }).click();
  await panel.getByText('Merci, votre commentaire a été envoyé.').waitFor();
  const rated = (await as(ctx.student, '/chatbot/history')).items[0];
  assert.equal(rated.feedback, 'up');
  assert.equal(rated.comment, 'Clair, avec la bonne page.');

  // The citation opens the PDF at page 3 (the panel closes), inside the portal: no page load.
  await page.evaluate(() => (window.sameDocument = true));
  const fileResponse = page.waitForResponse((r) => r.url().endsWith(`/materials/${ctx.material}/file`));
  await cite.click();
  await panel.waitFor({ state: 'detached' });
  await page.getByRole('heading', { level: 1, name: TITLE }).waitFor();
  assert.match(page.url(), new RegExp(`/cours/${ctx.course.id}/materials/${ctx.material}\\?page=3$`));
  assert.equal(await page.evaluate(() => window.sameDocument), true);
  const frame = page.getByTestId('doc-frame');
  await frame.waitFor();
  const src = await frame.getAttribute('src');
  assert.match(src, /^blob:.*#page=3$/);
  assert.equal(await frame.getAttribute('title'), `${TITLE}, page 3`);
  assert.equal((await fileResponse).headers()['content-type'], 'application/pdf');
  assert.equal(await page.getByRole('link', { name: 'Ouvrir à la page 3 dans un nouvel onglet' }).getAttribute('href'), src);
  await shot(page, 'chat-document');

  // /chat: the history holds the question, its answer with the citation, and the feedback.
  await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Assistant' }).click();
  await page.getByRole('heading', { level: 1, name: 'Assistant' }).waitFor();
  const history = page.getByTestId('chat-history');
  const item = history.locator('details', { hasText: QUESTION });
  await item.locator('summary').getByText(/· Réponse utile$/).waitFor();
  await item.locator('summary').click();
  await item.getByText('« Clair, avec la bonne page. »').waitFor();
  assert.equal(await item.getByRole('link', { name: `[1] ${TITLE}, page 3` }).getAttribute('href'), `/cours/${ctx.course.id}/materials/${ctx.material}?page=3`);
  // The conversation of the panel goes on here.
  assert.equal(await page.getByTestId('chat-turn').count(), 1);
  await review(t, page, 'chat-history', assert);

  // Nothing in the course material: "Je ne sais pas", the FAQ and a ticket.
  const field = page.getByRole('textbox', { name: 'Votre question' });
  await field.fill('Quelle est la capitale du Pérou ?');
  await page.getByRole('button', { name: 'Envoyer', exact: true }).click();
  const unknown = await lastAnswer(page);
  assert.match(await unknown.textContent(), /Je ne sais pas/);
  assert.equal(await unknown.getByRole('link', { name: 'Consulter la FAQ' }).getAttribute('href'), '/support/faq');
  assert.equal(await unknown.getByRole('link', { name: "Ouvrir un ticket d'assistance" }).getAttribute('href'), '/support/nouvelle');
  await review(t, page, 'chat-unknown', assert);

  // A new conversation, then the first one taken up again from the history.
  await page.getByRole('button', { name: 'Nouvelle conversation' }).click();
  assert.equal(await page.getByTestId('chat-turn').count(), 0);
  await item.getByRole('button', { name: 'Reprendre cette conversation' }).click();
  await page.getByTestId('chat-turn').nth(1).waitFor();
  assert.deepEqual(await page.locator('.chat-question').allTextContents(), [`Vous : ${QUESTION}`, 'Vous : Quelle est la capitale du Pérou ?']);
  assert.equal(await page.getByTestId('chat-turn').first().getByRole('button', { name: 'Réponse utile' }).getAttribute('aria-pressed'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'TEXTAREA');

  // Beyond the rate limit: the refusal in French, with the wait.
  let refused = null;
  for (let i = 3; i <= RATE && !refused; i++) {
    await field.fill(`Qu'est-ce qu'une racine carrée ? (${i})`);
    await field.press('Enter');
    const a = await lastAnswer(page);
    if ((await a.getAttribute('data-state')) === 'error') refused = a;
  }
  assert.equal(refused && (await refused.textContent()), null, `the first ${RATE} questions are answered`);
  await field.fill('Une question de trop ?');
  await field.press('Enter');
  refused = await lastAnswer(page);
  assert.equal(await refused.getAttribute('data-state'), 'error');
  assert.match(await refused.getByRole('alert').textContent(), /^Vous avez posé beaucoup de questions en peu de temps\. Vous pourrez en poser une nouvelle dans (\d+ min( \d+ s)?|\d+ s)\.$/);
  // The conversation scrolls inside its card, at its newest answer (a full-page screenshot would
  // scroll it back to the top: the viewport is photographed).
  await refused.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(SHOTS, 'chat-rate-limit-desktop.png') });

  // Deleting the history, after a confirmation.
  await page.getByRole('button', { name: 'Supprimer mon historique' }).click();
  const confirm = page.getByRole('dialog', { name: 'Supprimer mon historique' });
  await confirm.waitFor();
  await review(t, page, 'chat-delete', assert);
  await confirm.getByRole('button', { name: 'Supprimer définitivement' }).click();
  await confirm.waitFor({ state: 'detached' });
  await page.getByText('Votre historique a été supprimé.').waitFor();
  await history.waitFor({ state: 'detached' });
  await page.getByText("Vous n'avez encore posé aucune question.").waitFor();
  assert.equal(await page.getByTestId('chat-turn').count(), 0);
  assert.deepEqual((await as(ctx.student, '/chatbot/history')).items, []);
  assert.deepEqual(problems(page), []);
  await page.context().close();
});

test('on a phone the panel takes the whole screen', async () => {
  const page = await newPage(browser, PHONE);
  await login(page, ent, ctx.student, STUDENT_PASSWORD);
  await page.goto(`${ent.url}/cours`);
  await page.getByRole('heading', { level: 1, name: 'Cours' }).waitFor();
  await page.getByRole('button', { name: 'Assistant' }).click();
  const panel = page.getByRole('dialog', { name: 'Assistant de cours' });
  await panel.waitFor();
  const box = await panel.boundingBox();
  assert.deepEqual([box.x, box.y, box.width, box.height], [0, 0, PHONE.width, PHONE.height]);
  // The question field stays on screen, at the bottom.
  const field = await panel.getByRole('textbox', { name: 'Votre question' }).boundingBox();
  assert.ok(field.y + field.height <= PHONE.height, `field at ${field.y}+${field.height}`);
  await shot(page, 'chat-panel-phone');
  await page.keyboard.press('Escape');
  await panel.waitFor({ state: 'detached' });
  assert.deepEqual(problems(page), []);
  await page.context().close();
});
