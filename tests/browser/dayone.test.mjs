// Day one in the portal (system Chromium, the demo school): the admin user list fits 1280 px with
// its buttons on one line and addresses unbroken, is a list of cards on a phone, edits in a
// dialog that takes the focus, and shows teachers' classes; errors reach the screen in French from
// their codes; school years in the period menus and a past year closed; every class figure of a
// student labelled with its scale; a material uploaded with a description and opened in the page,
// from the dashboard too; a program refused with a French message; a title per page and an icon.
// Every page checked with axe-core and photographed at 1280 px and 375 px (screenshots/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, api } from '../api/lib/ent.mjs';
import { until } from '../api/lib/school.mjs';
import { join } from 'node:path';
import { launch, newPage, login, review, shot, PHONE, DESKTOP, SHOTS } from './lib/browser.mjs';

const ADMIN = ['admin@demo.ent.local', 'Demo-Admin-2026!'];
const TEACHER_PASSWORD = 'Demo-Prof-2026!';
const STUDENT_PASSWORD = 'Demo-Eleve-2026!';

let ent, browser, admin;
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
const problems = (page) => page.problems.filter((p) => !/status of 4\d\d/.test(p) || /Refused/.test(p));
/** No English sentence of the server's: the phrases its messages were made of. */
const ENGLISH = /\b(exists already|is not|must be|no such|is required|only the|could not|the [a-z]+ is)\b/;

before(async () => {
  ent = await startEnt({ env: { ENT_ACCESS_LOG: 'off' } });
  const demo = ent.run(['demo']);
  assert.equal(demo.status, 0, demo.stderr);
  const courses = await as(ADMIN[0], '/api/cours?limit=100');
  const course = courses.items.find((c) => c.title.startsWith('Mathématiques')) || courses.items[0];
  ctx.course = course;
  ctx.teacher = (await as(ADMIN[0], `/api/users/${course.teacher_ids[0]}`)).email;
  const klass = await as(ADMIN[0], `/api/users/classes/${course.class_ids[0]}`);
  const student = klass.members.find((m) => m.role === 'etudiant');
  ctx.student = (await as(ADMIN[0], `/api/users/${student.id}`)).email;
  browser = await launch();
  admin = await newPage(browser);
  await login(admin, ent, ...ADMIN);
});

after(async () => {
  await browser?.close();
  if (!ent) return;
  const exit = await ent.stop();
  assert.equal(exit.code, 0, ent.stderr.slice(-3000));
});

test('the admin user list fits 1280 px, is cards on a phone, edits in a dialog and shows teachers\' classes', async (t) => {
  await admin.goto(`${ent.url}/admin/utilisateurs`);
  const rows = admin.locator('.ulist-row');
  await rows.nth(19).waitFor();
  assert.equal(await admin.title(), 'Administration — ENT');
  const n = await rows.count();
  assert.ok(n >= 20, `${n} users`);
  // Buttons on one line, addresses on one line, nothing wider than the page.
  const m = await admin.evaluate(() => {
    const lh = (el) => parseFloat(getComputedStyle(el).lineHeight) || 20;
    const buttons = [...document.querySelectorAll('.ulist-actions .button')].filter((b) => b.getBoundingClientRect().height > 2 * lh(b) + 12);
    const emails = [...document.querySelectorAll('.ulist-email')].filter((e) => e.getBoundingClientRect().height > 1.6 * lh(e));
    const rowsTop = [...document.querySelectorAll('.ulist-row')].map((r) => r.getBoundingClientRect());
    return {
      wrappedButtons: buttons.length,
      wrappedEmails: emails.map((e) => e.textContent),
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      rowHeight: Math.max(...rowsTop.map((r) => r.height)),
      visible: rowsTop.filter((r) => r.bottom <= window.innerHeight).length,
    };
  });
  assert.equal(m.wrappedButtons, 0);
  assert.deepEqual(m.wrappedEmails, []);
  assert.ok(m.overflow <= 1, `the page scrolls sideways by ${m.overflow}px`);
  t.diagnostic(`1280 px: ${m.visible} users on the first screen, rows ${m.rowHeight}px high`);
  // Teachers show their classes (the demo puts each in three).
  const teachers = admin.locator('.ulist-row', { hasText: 'Enseignant' });
  assert.ok((await teachers.count()) > 0);
  for (const text of await teachers.locator('.ulist-classes').allTextContents()) assert.notEqual(text.trim(), '—');
  await review(t, admin, 'dayone-admin-users', assert);

  // On a phone: cards, every action within the screen.
  await admin.setViewportSize(PHONE);
  const offscreen = await admin.evaluate(() =>
    [...document.querySelectorAll('.ulist-actions .button')].filter((b) => b.getBoundingClientRect().right > window.innerWidth).length);
  assert.equal(offscreen, 0);
  await admin.screenshot({ path: join(SHOTS, 'dayone-admin-users-phone-screen.png') }); // the first screen only
  await admin.setViewportSize(DESKTOP);

  // "Modifier" opens a dialog with the focus in its first field; Escape gives it back.
  const first = rows.first();
  const edit = first.getByRole('button', { name: /^Modifier/ });
  await edit.click();
  const dialog = admin.getByRole('dialog');
  await dialog.waitFor();
  assert.match(await admin.evaluate(() => document.activeElement.id), /-given$/);
  await shot(admin, 'dayone-admin-edit');
  await admin.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await edit.evaluate((b) => b === document.activeElement), true);
  assert.deepEqual(problems(admin), []);
});

test('errors reach the screen in French, from their codes, once', async () => {
  await admin.goto(`${ent.url}/admin/utilisateurs`);
  await admin.getByRole('button', { name: 'Nouvel utilisateur' }).click();
  await admin.getByLabel('Prénom').fill('Autre');
  await admin.getByLabel('Nom', { exact: true }).fill('Admin');
  await admin.getByLabel('E-mail').fill(ADMIN[0]);
  await admin.getByRole('button', { name: 'Créer le compte' }).click();
  const alert = admin.getByRole('alert');
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), 'Un compte existe déjà avec cette adresse e-mail.');
  await admin.getByRole('button', { name: 'Annuler' }).click();

  // A class that exists already.
  await admin.goto(`${ent.url}/admin/classes`);
  const existing = (await as(ADMIN[0], '/api/users/classes')).items[0];
  await admin.getByLabel('Nom', { exact: true }).fill(existing.name);
  await admin.getByRole('button', { name: /Créer la classe/ }).click();
  await admin.getByRole('alert').waitFor();
  assert.equal((await admin.getByRole('alert').textContent()).trim(), 'Une classe porte déjà ce nom pour cette année scolaire.');
  assert.doesNotMatch(await admin.locator('main').textContent(), ENGLISH);
});

test('school years: periods named with their year, a past year closed by the admin and no longer offered', async (t) => {
  await admin.goto(`${ent.url}/admin/annees`);
  await admin.getByRole('heading', { name: 'Années scolaires' }).waitFor();
  assert.equal(await admin.title(), 'Administration — ENT');
  const periods = await as(ADMIN[0], '/api/notes/periods');
  const years = [...new Set(periods.items.map((p) => p.school_year))].sort();
  const today = new Date().toISOString().slice(0, 10);
  const past = years.find((y) => periods.items.filter((p) => p.school_year === y).every((p) => p.ends_on < today));
  const current = years.find((y) => y !== past);
  assert.ok(past && current, `years ${years}`);
  admin.once('dialog', (d) => d.accept());
  await admin.getByRole('button', { name: `Clore l'année ${past}` }).click();
  await admin.getByText(`Année ${past} close.`).waitFor();
  await review(t, admin, 'dayone-admin-years', assert);

  const teacher = await newPage(browser);
  await login(teacher, ent, ctx.teacher, TEACHER_PASSWORD);
  await teacher.goto(`${ent.url}/notes`);
  await teacher.getByRole('button', { name: 'Nouvelle évaluation' }).click();
  const options = await teacher.locator('#ev-period option').allTextContents();
  assert.ok(options.length > 0);
  for (const o of options) assert.match(o, new RegExp(` — ${current}$`));
  // The filter names every period with its year.
  for (const o of await teacher.locator('#t-period option').allTextContents()) assert.match(o, /^Toutes les périodes$| — \d{4}-\d{4}( \(close\))?$/);
  await review(t, teacher, 'dayone-teacher-new-evaluation', assert);
  await teacher.context().close();
});

test('a student reads every figure with its scale', async (t) => {
  const student = await newPage(browser);
  await login(student, ent, ctx.student, STUDENT_PASSWORD);
  await student.goto(`${ent.url}/notes`);
  await student.getByTestId('general-average').waitFor();
  assert.equal(await student.title(), 'Mes notes — ENT');
  const card = await as(ctx.student, '/api/notes/me');
  const shownPeriod = await student.locator('#period').inputValue();
  const evals = card.periods.find((p) => p.id === shownPeriod).subjects.flatMap((s) => s.evaluations);
  const figures = await student.getByTestId('class-figures').allTextContents();
  assert.equal(figures.length, evals.length);
  figures.forEach((f, i) => {
    const sc = evals[i].scale;
    assert.match(f, new RegExp(`^moy\\. [\\d,]+/${sc} · min [\\d,]+/${sc} · max [\\d,]+/${sc}$`), f);
  });
  for (const opt of await student.locator('#period option').allTextContents()) assert.match(opt, / — \d{4}-\d{4}$/);
  assert.match(await student.locator('main').textContent(), /Classe \(moyennes sur 20\) : moyenne [\d,]+\/20/);
  await review(t, student, 'dayone-student-notes', assert);
  assert.deepEqual(problems(student), []);
  await student.context().close();
});

test('materials: uploaded with a description, opened in the page and from the dashboard; a program refused in French', async (t) => {
  const teacher = await newPage(browser);
  await login(teacher, ent, ctx.teacher, TEACHER_PASSWORD);
  await teacher.goto(`${ent.url}/cours/${ctx.course.id}`);
  await teacher.getByRole('heading', { name: 'Ajouter un support' }).waitFor();
  // A Windows program named like a PDF: refused, in French.
  const exe = Buffer.alloc(512);
  exe.write('MZ', 0); exe.writeUInt32LE(0x80, 0x3c); exe.write('PE\0\0', 0x80, 'latin1');
  exe.writeUInt16LE(0x14c, 0x84); exe.writeUInt16LE(1, 0x86); exe.writeUInt16LE(0xe0, 0x94); exe.writeUInt16LE(0x102, 0x96);
  exe.writeUInt16LE(0x10b, 0x98); exe.writeUInt16LE(2, 0x80 + 24 + 68);
  await teacher.getByLabel('Fichier').setInputFiles({ name: 'corrige.pdf', mimeType: 'application/pdf', buffer: exe });
  await teacher.getByRole('button', { name: 'Envoyer' }).click();
  await teacher.getByRole('alert').waitFor();
  assert.match(await teacher.getByRole('alert').textContent(), /^Ce type de fichier n'est pas accepté : les programmes, installateurs et scripts exécutables sont refusés/);

  const pdf = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');
  await teacher.getByLabel('Fichier').setInputFiles({ name: 'fiche-revisions.pdf', mimeType: 'application/pdf', buffer: pdf });
  await teacher.getByLabel('Titre', { exact: true }).fill('Fiche de révisions');
  await teacher.getByLabel('Description (facultative)').fill('À relire avant le contrôle de jeudi.');
  await teacher.getByRole('button', { name: 'Envoyer' }).click();
  await teacher.locator('.material-title', { hasText: 'Fiche de révisions' }).waitFor();
  const mats = await as(ctx.teacher, `/api/cours/${ctx.course.id}/materials?limit=100`);
  const mat = mats.items.find((x) => x.title === 'Fiche de révisions');
  assert.equal(mat.description, 'À relire avant le contrôle de jeudi.');
  // A publication date in the future is kept.
  await teacher.getByLabel('Fichier').setInputFiles({ name: 'plus-tard.pdf', mimeType: 'application/pdf', buffer: pdf });
  await teacher.getByLabel('Titre', { exact: true }).fill('Corrigé (plus tard)');
  await teacher.getByLabel(/Visible par les élèves/).fill('2099-06-01T08:00');
  await teacher.getByRole('button', { name: 'Envoyer' }).click();
  await teacher.locator('.material-title', { hasText: 'Corrigé (plus tard)' }).waitFor();
  const later = (await as(ctx.teacher, `/api/cours/${ctx.course.id}/materials?limit=100`)).items.find((x) => x.title === 'Corrigé (plus tard)');
  assert.match(later.publish_at, /^2099-06-01T/);
  assert.equal(later.published, false);
  await review(t, teacher, 'dayone-cours-upload', assert);
  await teacher.context().close();

  // The student opens it in the page, from the dashboard's link.
  const student = await newPage(browser);
  await login(student, ent, ctx.student, STUDENT_PASSWORD);
  const link = student.getByRole('link', { name: 'Fiche de révisions' });
  await link.click();
  await student.waitForURL(new RegExp(`/cours/${ctx.course.id}\\?support=${mat.id}$`));
  const dialog = student.getByRole('dialog', { name: 'Fiche de révisions' });
  await dialog.waitFor();
  const viewer = dialog.getByTestId('viewer');
  await viewer.waitFor();
  assert.equal(await viewer.evaluate((e) => e.tagName), 'IFRAME');
  assert.match(await viewer.getAttribute('src'), /^blob:/);
  assert.match(await dialog.textContent(), /À relire avant le contrôle de jeudi\./);
  await shot(student, 'dayone-material-viewer');
  await student.setViewportSize(PHONE);
  await shot(student, 'dayone-material-viewer');
  await student.setViewportSize(DESKTOP);
  await dialog.getByRole('button', { name: 'Fermer' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(new URL(student.url()).search, '');
  assert.equal(await student.title(), `${ctx.course.title} — ENT`);
  // From the list as well.
  await student.getByRole('button', { name: 'Ouvrir Fiche de révisions' }).click();
  await student.getByRole('dialog', { name: 'Fiche de révisions' }).getByTestId('viewer').waitFor();
  assert.match(student.url(), new RegExp(`\\?support=${mat.id}$`));
  assert.deepEqual(problems(student), []);
  await student.context().close();
});

test('every page has its title and the icon; notifications roomy on a phone', async (t) => {
  const anon = await newPage(browser);
  await anon.goto(`${ent.url}/portail`);
  const signIn = anon.getByRole('button', { name: 'Se connecter' });
  await signIn.waitFor();
  assert.equal(await anon.locator('link[rel=icon]').count(), 1);
  assert.equal(await anon.title(), 'Connexion — ENT');
  await signIn.click();
  await anon.waitForURL(/openid-connect\/auth/);
  assert.match(await anon.locator('link[rel=icon]').getAttribute('href'), /^data:image\/svg\+xml,/);
  await anon.context().close();

  const titles = {};
  for (const path of ['/portail', '/cours', '/notes', '/notifications', '/calendar', '/messagerie', '/support']) {
    await admin.goto(`${ent.url}${path}`);
    await admin.getByRole('heading', { level: 1 }).waitFor();
    await admin.waitForFunction(() => document.title !== 'ENT — Espace numérique de travail');
    titles[path] = await admin.title();
  }
  assert.equal(new Set(Object.values(titles)).size, Object.keys(titles).length, JSON.stringify(titles));
  for (const v of Object.values(titles)) assert.match(v, / — ENT$/);

  const student = await newPage(browser, PHONE);
  await login(student, ent, ctx.student, STUDENT_PASSWORD);
  await student.goto(`${ent.url}/notifications`);
  await student.getByRole('heading', { level: 1, name: 'Notifications' }).waitFor();
  const rows = student.locator('.notif-row');
  if (await rows.count()) {
    const small = await student.evaluate(() =>
      [...document.querySelectorAll('.notif-actions .button')].filter((b) => b.getBoundingClientRect().height < 40 || b.getBoundingClientRect().right > window.innerWidth).length);
    assert.equal(small, 0);
  }
  await shot(student, 'dayone-notifications');
  await student.context().close();
});

test('a session that ends (account closed, token refused) brings the login page back with a French message', async (t) => {
  const email = 'parti@demo.ent.local';
  const password = 'Compte-Ferme-2026!';
  const user = await as(ADMIN[0], '/api/users', { method: 'POST', body: { email, given_name: 'Paul', family_name: 'Parti', role: 'etudiant', password } });
  const page = await newPage(browser);
  await login(page, ent, email, password);
  // The account is closed while its page is open: its token is refused from then on (within the
  // guard's few seconds of cache), and the next request the portal makes answers 401.
  await as(ADMIN[0], `/api/users/${user.id}`, { method: 'PATCH', body: { disabled: true } });
  const nav = page.getByRole('navigation', { name: 'Navigation principale' });
  const pages = ['Notes', 'Notifications', 'Tableau de bord'];
  let i = 0;
  // Moves between pages (each asks the API) until the portal is on its login page; bounded.
  const onLogin = await until(async () => {
    if (new URL(page.url()).pathname === '/login') return true;
    // The link is gone when the portal left for /login meanwhile: checked on the next round.
    await nav.getByRole('link', { name: pages[i++ % pages.length], exact: true }).click({ timeout: 2000 }).catch(() => {});
    return false;
  }, 80, 250);
  assert.ok(onLogin, `still on ${page.url()}`);
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), 'Votre session a expiré ou a été fermée : reconnectez-vous.');
  assert.equal(await page.title(), 'Connexion — ENT');
  assert.doesNotMatch(await page.locator('main').textContent(), ENGLISH);
  assert.doesNotMatch(await page.locator('main').textContent(), /\b(token|active|unauthenticated|login_required)\b/i);
  await page.getByRole('button', { name: 'Se connecter' }).waitFor();
  await review(t, page, 'dayone-session-ended', assert);
  await page.context().close();

  // The provider sends back an error the portal did not ask for (a stale or forged callback, or a
  // refusal in English words): said in French by its code, the provider's words never shown.
  const anon = await newPage(browser);
  await anon.goto(`${ent.url}/login/callback?error=access_denied&error_description=Access+denied+by+the+user&state=stale`);
  await anon.waitForURL(`${ent.url}/login`);
  const a2 = anon.getByRole('alert');
  await a2.waitFor();
  assert.match((await a2.textContent()).trim(), /^La connexion n'a pas abouti : réessayez\./);
  assert.doesNotMatch(await anon.locator('main').textContent(), /Access denied|state|No matching/i);
  await shot(anon, 'dayone-login-failed');
  await anon.context().close();
});
