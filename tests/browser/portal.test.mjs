// The portal in a real browser (system Chromium through playwright-core) against the real `ent`
// on its embedded defaults with the demo school: logins through the OIDC pages, grades entered by
// a teacher and seen by a student (with the bell updated live over SSE), an account created by an
// admin and activated, a PDF uploaded and downloaded, /admin refused to a student. Every page is
// checked with axe-core and photographed at desktop and phone widths (screenshots/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startEnt, api } from '../api/lib/ent.mjs';
import { until } from '../api/lib/school.mjs';
import { launch, newPage, login, review, shot, PHONE } from './lib/browser.mjs';

const ADMIN = ['admin@demo.ent.local', 'Demo-Admin-2026!'];
const TEACHER_PASSWORD = 'Demo-Prof-2026!';
const STUDENT_PASSWORD = 'Demo-Eleve-2026!';

let ent, browser;
const ctx = {}; // what the demo school gives: a course, its teacher, one of its students

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

/** Problems the page reported, less the provider page's favicon request. */
function problems(page) {
  return page.problems.filter((p) => !/favicon/.test(p) && !/status of 404 \(Not Found\)$/.test(p) || /Refused/.test(p));
}

before(async () => {
  ent = await startEnt({ env: { ENT_ACCESS_LOG: 'off' } });
  const demo = ent.run(['demo']);
  assert.equal(demo.status, 0, demo.stderr);
  // The math course of the demo, its teacher and a student of its class.
  const courses = await as(ADMIN[0], '/api/cours?limit=100');
  const course = courses.items.find((c) => c.title.startsWith('Mathématiques')) || courses.items[0];
  const teacher = await as(ADMIN[0], `/api/users/${course.teacher_ids[0]}`);
  const klass = await as(ADMIN[0], `/api/users/classes/${course.class_ids[0]}`);
  const students = klass.members.filter((m) => m.role === 'etudiant');
  ctx.course = course;
  ctx.teacher = teacher.email;
  ctx.student = (await as(ADMIN[0], `/api/users/${students[0].id}`)).email;
  ctx.studentName = students[0].name;
  ctx.members = students;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (!ent) return;
  const exit = await ent.stop();
  // A clean exit: with the sanitizer build, a leak or a memory error makes it non-zero.
  assert.equal(exit.code, 0, ent.stderr.slice(-3000));
});

test('the portal is served with its cache rules and a CSP without inline scripts', async () => {
  const index = await fetch(`${ent.url}/portail`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const csp = index.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), csp);
  const html = await index.text();
  assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), 'no inline script');
  assert.ok(!/https?:\/\//.test(html), 'no external URL');
  const asset = html.match(/\/assets\/[^"]+\.js/)[0];
  const a = await fetch(ent.url + asset);
  assert.equal(a.status, 200);
  assert.equal(a.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  await a.arrayBuffer();
  for (const deep of ['/', '/cours/abc', '/admin/import', '/login/callback'])
    assert.equal((await fetch(ent.url + deep)).headers.get('cache-control'), 'no-cache', deep);
  const cfg = await (await fetch(`${ent.url}/config.json`)).json();
  assert.equal(cfg.issuer, `${ent.url}/realms/ent`);
  assert.equal(cfg.client_id, 'ent-portal');
  assert.ok(cfg.services.includes('cours') && cfg.services.includes('users'));
  const docs = await fetch(`${ent.url}/docs`);
  assert.equal(docs.status, 200, '/docs still served');
  await docs.text();
});

test('an anonymous visitor lands on the login page', async (t) => {
  const page = await newPage(browser);
  await page.goto(`${ent.url}/notes`);
  await page.waitForURL(`${ent.url}/login`);
  await page.getByRole('button', { name: 'Se connecter' }).waitFor();
  await review(t, page, 'login', assert);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForURL(/\/realms\/ent\/protocol\/openid-connect\/auth\?/);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('client_id'), 'ent-portal');
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(url.searchParams.get('redirect_uri'), `${ent.url}/login/callback`);
  await shot(page, 'provider-login');
  assert.deepEqual(problems(page), []);
  await page.context().close();
});

test('a student who opens /admin is turned away', async (t) => {
  const page = await newPage(browser);
  await login(page, ent, ctx.student, STUDENT_PASSWORD);
  assert.equal(await page.getByRole('link', { name: 'Administration' }).count(), 0, 'no admin link in the nav');
  await page.goto(`${ent.url}/admin`);
  await page.getByTestId('forbidden').waitFor();
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Accès refusé');
  assert.equal(await page.getByRole('table').count(), 0, 'no user list shown');
  await review(t, page, 'forbidden', assert);
  // The tokens are in memory only: nothing in localStorage or sessionStorage holds one.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.ok(!/access_token|eyJ/.test(stored), 'no token in web storage');
  assert.deepEqual(problems(page), []);
  await page.context().close();
});

test('the dashboard loads in few requests, and a page left mid-request cancels it without an error', async () => {
  const page = await newPage(browser);
  const requests = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) requests.push(u.pathname + u.search);
  });
  await login(page, ent, ctx.student, STUDENT_PASSWORD);
  await page.getByRole('heading', { name: 'Dernières notes' }).waitFor();
  await page.locator('section.card', { has: page.getByRole('heading', { name: 'Supports récents' }) }).locator('.list, .empty').waitFor();
  // (no networkidle: the notifications stream stays open) Every request the dashboard makes is
  // waited for, bounded: on a loaded machine the last ones (the materials of each course, asked
  // once the course list is in) can come well after the headings.
  const courses = (await as(ctx.student, '/api/cours?limit=8')).items;
  const expected = ['/api/notes/me', '/api/cours?limit=8', ...courses.map((c) => `/api/cours/${c.id}/materials`),
    '/api/notifications?limit=10', '/api/messages/stream'];
  const allAsked = () => expected.every((p) => requests.includes(p)) && requests.some((r) => r.startsWith('/api/calendar/events?'));
  assert.ok(await until(allAsked, 100, 100), `the dashboard's requests: ${requests.join(' ')}`);
  await page.waitForTimeout(500); // a request made twice would show by now (the counts below)
  const count = (p) => requests.filter((r) => r === p).length;
  assert.equal(count('/api/notes/me'), 1, requests.join(' '));
  assert.equal(count('/api/cours?limit=8'), 1, requests.join(' '));
  for (const c of courses) assert.equal(count(`/api/cours/${c.id}/materials`), 1, requests.join(' '));
  assert.equal(count('/api/notifications?limit=10'), 1, requests.join(' '));
  // The stream sends the unread count when it opens: no separate request for it.
  assert.equal(count('/api/notifications/unread-count'), 0, requests.join(' '));
  // The calendar's tile: one request for the lessons of the coming days.
  assert.equal(requests.filter((r) => r.startsWith('/api/calendar/events?')).length, 1, requests.join(' '));
  // The messagerie's stream: the navigation's unread badge (the stream sends the inbox's unread
  // count, so the folders are not read outside /messagerie).
  assert.equal(count('/api/messages/stream'), 1, requests.join(' '));
  assert.equal(count('/api/messages/folders'), 0, requests.join(' '));
  assert.equal(requests.length, 6 + courses.length, requests.join(' '));

  // The materials answer late; the student goes to the courses before: they are cancelled.
  let release;
  const held = new Promise((r) => (release = r));
  await page.route('**/api/cours/*/materials', async (route) => {
    await held;
    await route.continue().catch(() => {}); // the page cancelled it meanwhile
  });
  const aborted = [];
  page.on('requestfailed', (r) => {
    if (/\/materials$/.test(new URL(r.url()).pathname)) aborted.push(r.failure()?.errorText);
  });
  await page.getByRole('link', { name: 'Cours', exact: true }).first().click();
  const asked = page.waitForRequest((r) => /\/materials$/.test(r.url()));
  await page.getByRole('link', { name: 'Tableau de bord' }).click();
  await asked;
  await page.getByRole('link', { name: 'Cours', exact: true }).first().click();
  await page.getByRole('link', { name: new RegExp(ctx.course.title) }).waitFor();
  release();
  assert.ok(aborted.length >= 1 && aborted.every((e) => /ABORTED/.test(e)), JSON.stringify(aborted));
  await page.waitForTimeout(300);
  assert.equal(await page.getByRole('alert').count(), 0, 'no error shown');
  await page.unroute('**/api/cours/*/materials');
  assert.deepEqual(problems(page), []);
  await page.context().close();
});

test('the access token is refreshed before it expires, with the refresh token', async () => {
  const page = await newPage(browser);
  await page.clock.install(); // the page's timers and Date, moved forward below
  const grants = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/protocol/openid-connect/token')) grants.push(new URLSearchParams(r.postData()).get('grant_type'));
  });
  await login(page, ent, ctx.student, STUDENT_PASSWORD);
  assert.deepEqual(grants, ['authorization_code']);
  // Access tokens live 5 minutes; the portal renews a minute before.
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/protocol/openid-connect/token') && r.status() === 200);
  await page.clock.fastForward('04:10');
  await refreshed;
  assert.deepEqual(grants, ['authorization_code', 'refresh_token']);
  // The new token works: a page that calls the API loads.
  await page.getByRole('link', { name: 'Cours', exact: true }).click();
  await page.getByRole('link', { name: new RegExp(ctx.course.title) }).waitFor();
  assert.deepEqual(problems(page), []);
  await page.context().close();
});

test('a teacher uploads a PDF and a student downloads it', async (t) => {
  const pdf = Buffer.from(
    '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n' +
      'trailer<</Root 1 0 R>>\n%%EOF\n',
  );
  const teacher = await newPage(browser);
  await login(teacher, ent, ctx.teacher, TEACHER_PASSWORD);
  await teacher.getByRole('link', { name: 'Cours', exact: true }).click();
  await teacher.getByRole('link', { name: new RegExp(ctx.course.title) }).waitFor();
  await review(t, teacher, 'cours-list', assert);
  // A new course for a class, then back to the demo course.
  await teacher.getByRole('button', { name: 'Nouveau cours' }).click();
  await teacher.getByLabel('Titre').fill('Atelier sciences');
  await teacher.getByLabel('Matière').fill('svt');
  await teacher.getByRole('group', { name: 'Classes' }).getByRole('checkbox').first().check();
  await teacher.getByRole('button', { name: 'Créer le cours' }).click();
  await teacher.getByRole('heading', { level: 1, name: 'Atelier sciences' }).waitFor();
  await teacher.getByRole('heading', { name: 'Ajouter un support' }).waitFor();
  await teacher.getByRole('link', { name: 'Cours', exact: true }).first().click();
  await teacher.getByRole('link', { name: /Atelier sciences/ }).waitFor();
  await teacher.getByRole('link', { name: new RegExp(ctx.course.title) }).click();
  await teacher.getByRole('heading', { name: 'Ajouter un support' }).waitFor();
  await teacher.getByLabel('Fichier').setInputFiles({ name: 'chapitre-3.pdf', mimeType: 'application/pdf', buffer: pdf });
  await teacher.getByLabel('Titre').fill('Chapitre 3 — Les nombres décimaux');
  await teacher.getByLabel('Section').fill('Chapitre 3');
  await teacher.getByRole('button', { name: 'Envoyer' }).click();
  await teacher.locator('.material-title', { hasText: 'Chapitre 3 — Les nombres décimaux' }).waitFor();
  await review(t, teacher, 'cours-detail-teacher', assert);

  const student = await newPage(browser);
  await login(student, ent, ctx.student, STUDENT_PASSWORD);
  await student.goto(`${ent.url}/cours/${ctx.course.id}`);
  const button = student.getByRole('button', { name: 'Télécharger Chapitre 3 — Les nombres décimaux' });
  await button.waitFor();
  await review(t, student, 'cours-detail-student', assert);
  const [download] = await Promise.all([student.waitForEvent('download'), button.click()]);
  assert.equal(download.suggestedFilename(), 'chapitre-3.pdf');
  assert.deepEqual(readFileSync(await download.path()), pdf);

  // The teacher sees who viewed it.
  await teacher.getByRole('button', { name: 'Consultations de Chapitre 3 — Les nombres décimaux' }).click();
  const views = teacher.getByTestId('views');
  await views.waitFor();
  assert.match(await views.textContent(), new RegExp(ctx.studentName));
  assert.deepEqual(problems(teacher), []);
  assert.deepEqual(problems(student), []);
  await teacher.context().close();
  await student.context().close();
});

test('a teacher enters a class\'s grades; the student\'s bell updates live and the student sees them with the chart', async (t) => {
  const teacher = await newPage(browser);
  await login(teacher, ent, ctx.teacher, TEACHER_PASSWORD);
  await teacher.getByRole('link', { name: 'Notes', exact: true }).click();
  await teacher.getByLabel('Cours').selectOption({ label: ctx.course.title });
  await teacher.getByRole('button', { name: 'Nouvelle évaluation' }).click();
  await teacher.getByLabel('Titre').fill('Contrôle n°4');
  await teacher.getByRole('button', { name: "Créer l'évaluation" }).click();
  await teacher.getByRole('heading', { name: 'Contrôle n°4' }).waitFor();
  const cells = teacher.locator('input.cell-grade');
  const n = await cells.count();
  assert.ok(n >= 3, `the class has students (${n})`);
  // The student of the first row watches from their own browser.
  const firstName = (await teacher.locator('table.sheet tbody th').first().textContent()).trim();
  const member = ctx.members.find((m) => m.name === firstName);
  assert.ok(member, firstName);
  const email = (await as(ADMIN[0], `/api/users/${member.id}`)).email;
  const student = await newPage(browser);
  await login(student, ent, email, STUDENT_PASSWORD);
  const unreadBefore = (await as(email, '/api/notifications/unread-count')).count;

  // Typed like a spreadsheet: Enter goes down, an invalid entry is flagged at once.
  await cells.nth(0).click();
  await teacher.keyboard.type('15,5');
  await teacher.keyboard.press('Enter');
  await teacher.keyboard.type('abs');
  await teacher.keyboard.press('Enter');
  await teacher.keyboard.type('25');
  assert.equal(await cells.nth(2).getAttribute('aria-invalid'), 'true');
  await teacher.getByText('La note doit être entre 0 et 20').waitFor();
  await review(t, teacher, 'notes-teacher-invalid', assert);
  await teacher.keyboard.press('ArrowUp');
  assert.equal(await teacher.evaluate(() => document.activeElement.getAttribute('data-row')), '1', 'ArrowUp goes up');
  await teacher.keyboard.press('ArrowDown');
  await teacher.keyboard.press('Backspace');
  await teacher.keyboard.press('Backspace');
  await teacher.keyboard.type('disp');
  await teacher.keyboard.press('Tab');
  assert.equal(await teacher.evaluate(() => document.activeElement.getAttribute('data-col')), '1', 'Tab goes to the comment');
  await teacher.keyboard.type('Dispensé de sport');
  await teacher.keyboard.press('Tab');
  for (let i = 3; i < n; i++) {
    await teacher.keyboard.type(String(8 + (i % 12)));
    await teacher.keyboard.press('Enter');
  }
  assert.equal(await teacher.locator('input[aria-invalid="true"]').count(), 0);
  await teacher.getByRole('button', { name: 'Enregistrer les notes' }).click();
  await teacher.getByText('Notes de « Contrôle n°4 » enregistrées.').waitFor();
  assert.equal(await cells.nth(0).inputValue(), '15,5');
  assert.equal(await cells.nth(1).inputValue(), 'abs');
  assert.equal(await cells.nth(2).inputValue(), 'disp');
  await review(t, teacher, 'notes-teacher', assert);

  const [csv] = await Promise.all([teacher.waitForEvent('download'), teacher.getByRole('button', { name: 'Exporter en CSV' }).click()]);
  assert.match(csv.suggestedFilename(), /\.csv$/);
  assert.match(readFileSync(await csv.path(), 'utf8'), /Contrôle n°4/);

  // Without reloading, the student's bell shows the new notification (SSE).
  await student.waitForFunction(
    (want) => document.querySelector('[data-testid="bell-count"]')?.textContent === String(want),
    unreadBefore + 1,
  );
  await student.getByTestId('bell').click();
  await student.getByRole('region', { name: 'Dernières notifications' }).getByText(/Contrôle n°4/).waitFor();
  await shot(student, 'bell-open');
  await student.keyboard.press('Escape');
  await student.getByRole('link', { name: 'Notes', exact: true }).click();
  await student.getByTestId('average-chart').waitFor();
  const subject = student.locator('section.card', { has: student.getByRole('heading', { name: ctx.course.title }) });
  await subject.getByText('Contrôle n°4').waitFor();
  assert.match(await subject.textContent(), /15,5\/20/);
  await review(t, student, 'notes-student', assert);
  // Back on the dashboard, the browser revalidates the card it holds (ETag, `no-cache`): the
  // server answers 304 and the page shows the kept card, with the new grade.
  const revalidated = async () => Number((await (await fetch(`${ent.url}/metrics`)).text())
    .match(/ent_cache_requests_total\{outcome="not_modified"\} (\d+)/)[1]);
  const before304 = await revalidated();
  await student.getByRole('link', { name: 'Tableau de bord' }).click();
  await student.getByRole('heading', { name: 'Dernières notes' }).waitFor();
  await student.getByText('Contrôle n°4').first().waitFor();
  // (the card's request may end after the text is shown: a bounded wait for its count)
  for (let i = 0; i < 100 && (await revalidated()) <= before304; i++) await student.waitForTimeout(100);
  assert.ok(await revalidated() > before304, 'the browser revalidated the card and got 304');
  await review(t, student, 'portail-student', assert);
  await student.getByRole('link', { name: 'Notifications', exact: true }).first().click();
  await student.getByRole('heading', { level: 1, name: 'Notifications' }).waitFor();
  await review(t, student, 'notifications', assert);
  assert.deepEqual(problems(teacher), []);
  assert.deepEqual(problems(student), []);
  await teacher.context().close();
  await student.context().close();
});

test('an admin creates a user who then activates the account and logs in', async (t) => {
  const admin = await newPage(browser);
  await login(admin, ent, ...ADMIN);
  await review(t, admin, 'portail-admin', assert);
  await admin.getByRole('link', { name: 'Administration', exact: true }).click();
  await admin.getByRole('list', { name: 'Utilisateurs' }).waitFor();
  await admin.getByLabel('Rôle', { exact: true }).selectOption('enseignant');
  await admin.getByRole('listitem').filter({ hasText: 'Claire Martin' }).waitFor();
  await review(t, admin, 'admin-users', assert);
  await admin.getByRole('button', { name: 'Nouvel utilisateur' }).click();
  await admin.getByLabel('Prénom').fill('Inès');
  await admin.getByLabel('Nom', { exact: true }).fill('Lambert');
  await admin.getByLabel('E-mail').fill('ines.lambert@demo.ent.local');
  await admin.locator('#new-role').selectOption('enseignant');
  await admin.getByRole('button', { name: 'Créer le compte' }).click();
  const code = (await admin.getByTestId('activation-code').textContent()).trim();
  assert.ok(code.length >= 6, code);
  await review(t, admin, 'admin-user-created', assert);
  await admin.getByRole('link', { name: 'Classes' }).click();
  await admin.getByRole('heading', { name: 'Nouvelle classe' }).waitFor();
  await review(t, admin, 'admin-classes', assert);
  await admin.getByRole('link', { name: 'Import CSV' }).click();
  await admin.getByLabel('Fichier CSV').setInputFiles({
    name: 'eleves.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('email,given_name,family_name,role,class,external_id\nnoe.petit@demo.ent.local,Noé,Petit,etudiant,6e A,X-1\nbad,Sans,Adresse,etudiant,6e A,X-2\n'),
  });
  await admin.getByRole('button', { name: 'Vérifier le fichier' }).click();
  await admin.getByTestId('import-report').waitFor();
  assert.match(await admin.getByTestId('import-report').textContent(), /1 compte créé/);
  await review(t, admin, 'admin-import', assert);

  // The new teacher activates the account on the provider's page and lands on the portal.
  const user = await newPage(browser, PHONE);
  await user.goto(`${ent.url}/portail`);
  await user.getByRole('button', { name: 'Se connecter' }).click();
  await user.getByRole('link', { name: 'Activer mon compte' }).click();
  await user.fill('#username', 'ines.lambert@demo.ent.local');
  await user.fill('#code', code);
  await user.fill('#password', 'Nouveau-Mot-2026!');
  await user.fill('#password2', 'Nouveau-Mot-2026!');
  await user.click('button[type=submit]');
  await user.waitForURL(`${ent.url}/portail`);
  await user.getByRole('heading', { name: 'Bonjour Inès' }).waitFor();
  await shot(user, 'activated');
  // At 375 px the navigation sits behind the menu button, which works from the keyboard.
  // Focus is on the page title after a navigation; going back reaches the header's controls.
  assert.equal(await user.evaluate(() => document.activeElement.id), 'page-title');
  for (let i = 0; i < 8; i++) {
    await user.keyboard.press('Shift+Tab');
    if (await user.evaluate(() => document.activeElement.getAttribute('aria-controls') === 'main-nav')) break;
  }
  assert.equal(await user.evaluate(() => document.activeElement.getAttribute('aria-controls')), 'main-nav');
  await user.keyboard.press('Shift+Tab');
  assert.equal(await user.evaluate(() => document.activeElement.textContent), 'Aller au contenu', 'the skip link comes first');
  await user.keyboard.press('Tab');
  assert.equal(await user.getByRole('navigation', { name: 'Navigation principale' }).isVisible(), false);
  await user.keyboard.press('Enter');
  await user.getByRole('navigation', { name: 'Navigation principale' }).waitFor();
  await shot(user, 'menu-open');
  await user.keyboard.press('Escape');
  await user.getByRole('navigation', { name: 'Navigation principale' }).waitFor({ state: 'hidden' });
  // Logout ends the provider session: the portal asks to log in again.
  // The provider sends the browser back to /login (a document request, unlike the portal's own
  // route changes). Going elsewhere before the portal has started there races its router, whose
  // start (a history.replaceState) Playwright counts as a navigation interrupting goto(): wait for
  // the login page itself, and for the next page's answer only.
  const backFromProvider = user.waitForResponse(
    (r) => r.request().isNavigationRequest() && new URL(r.url()).pathname === '/login',
  );
  await user.getByRole('button', { name: 'Déconnexion' }).click();
  await backFromProvider;
  await user.getByRole('button', { name: 'Se connecter' }).waitFor();
  await user.goto(`${ent.url}/portail`, { waitUntil: 'commit' });
  await user.waitForURL(`${ent.url}/login`);
  // Disabled from the admin page: the account's list entry says so.
  await admin.getByRole('link', { name: 'Utilisateurs' }).click();
  await admin.getByLabel('Rechercher').fill('lambert');
  await admin.getByRole('listitem').filter({ hasText: 'Inès Lambert' }).getByRole('button', { name: /^Désactiver/ }).click();
  await admin.getByRole('listitem').filter({ hasText: 'Inès Lambert' }).getByText('Désactivé').waitFor();
  assert.deepEqual(problems(admin), []);
  assert.deepEqual(problems(user), []);
  await admin.context().close();
  await user.context().close();
});
