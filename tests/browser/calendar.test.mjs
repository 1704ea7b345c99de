// The calendar page (/calendar) in a real browser against the real `ent` with the demo school (and
// its timetable, `ent demo`): a teacher creates an A/B-week lesson series and homework in the portal,
// attaches two files to the homework and takes one off again in its edit dialog; a student of the class
// sees the lesson every other week and the homework, and ticks it; the teacher sees the count,
// cancels one lesson, which the student then sees struck through, and moves the room of the
// following lessons; the student's personal iCalendar feed is created, read without a token and
// revoked. The page is checked with axe-core and photographed at 1280 and 375 px (screenshots/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, api } from '../api/lib/ent.mjs';
import { launch, newPage, login, review, shot, PHONE, DESKTOP } from './lib/browser.mjs';

const ADMIN = 'admin@demo.ent.local';
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
  return page.problems.filter((p) => (!/favicon/.test(p) && !/status of 404 \(Not Found\)$/.test(p)) || /Refused/.test(p));
}

// ---- Paris days, as the page computes them ----
const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const noon = (day) => new Date(`${day}T12:00:00Z`);
const addDays = (day, n) => new Date(noon(day).getTime() + n * 86400000).toISOString().slice(0, 10);
const parisDay = (t = Date.now()) => {
  const p = Object.fromEntries(parts.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}`;
};
/** The UTC instant of DAY at HH:MM in Paris. */
function paris(day, time) {
  const [y, m, d] = day.split('-').map(Number);
  const [h, mi] = time.split(':').map(Number);
  const wall = Date.UTC(y, m - 1, d, h, mi);
  let t = wall;
  for (let i = 0; i < 2; i++) {
    const p = Object.fromEntries(parts.formatToParts(new Date(t)).map((x) => [x.type, Number(x.value)]));
    t = wall - (Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second) - t);
  }
  return new Date(t).toISOString().replace('.000', '');
}
const dayLong = (day) => {
  const s = new Intl.DateTimeFormat('fr-FR', { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long' }).format(noon(day));
  return s.charAt(0).toUpperCase() + s.slice(1);
};
const today = parisDay();
const thisMonday = addDays(today, -((noon(today).getUTCDay() + 6) % 7));
let monday, tuesday; // the first week of a five-week stretch without holidays (chosen in before())
const isoWeek = (day) => {
  const thursday = addDays(day, 3 - ((noon(day).getUTCDay() + 6) % 7));
  const y = thursday.slice(0, 4);
  return `${y}-W${String(1 + Math.floor((noon(thursday) - noon(`${y}-01-01`)) / 604800000)).padStart(2, '0')}`;
};
const TITLE = 'Soutien en mathématiques';

before(async () => {
  ent = await startEnt({ env: { ENT_ACCESS_LOG: 'off' } });
  const demo = ent.run(['demo']);
  assert.equal(demo.status, 0, demo.stderr);
  const courses = await as(ADMIN, '/api/cours?limit=100');
  const course = courses.items.find((c) => c.title.startsWith('Mathématiques'));
  ctx.course = course;
  ctx.teacher = (await as(ADMIN, `/api/users/${course.teacher_ids[0]}`)).email;
  ctx.classId = course.class_ids[0];
  const klass = await as(ADMIN, `/api/users/classes/${ctx.classId}`);
  const students = klass.members.filter((m) => m.role === 'etudiant');
  ctx.studentCount = students.length;
  ctx.student = (await as(ADMIN, `/api/users/${students[0].id}`)).email;
  ctx.student2 = (await as(ADMIN, `/api/users/${students[1].id}`)).email;
  // Lessons starting in the holidays are left out: the test's weeks are the first five in a row
  // without any (this week, out of the holidays).
  const holidays = (await as(ADMIN, `/api/calendar/events?from=${thisMonday}&to=${addDays(thisMonday, 399)}&kind=holiday`)).items;
  monday = thisMonday;
  while (holidays.some((h) => h.starts_at < paris(addDays(monday, 35), '00:00') && h.ends_at > paris(monday, '00:00'))) monday = addDays(monday, 7);
  tuesday = addDays(monday, 1);
  ctx.weeks = Math.round((noon(monday) - noon(thisMonday)) / 604800000);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (!ent) return;
  const exit = await ent.stop();
  assert.equal(exit.code, 0, ent.stderr.slice(-3000));
});

/** Opens /calendar at the week of DAY (the address keeps it: ?semaine=). */
async function openWeek(page, day) {
  await page.goto(`${ent.url}/calendar?semaine=${isoWeek(day)}`);
  await page.getByRole('heading', { level: 1, name: 'Emploi du temps' }).waitFor();
}

/** The lesson button of a day in the week (grid or list of days). */
function lesson(page, day, name) {
  return page.getByRole('list', { name: dayLong(day), exact: true }).getByRole('button', { name });
}

test('a teacher plans an A/B series and homework; a student sees them, ticks; a cancelled lesson is struck through', async (t) => {
  // ---- the teacher: a series every other Tuesday, 10:00–11:00 ----
  const teacher = await newPage(browser);
  await login(teacher, ent, ctx.teacher, PASSWORD.teacher);
  await teacher.getByRole('link', { name: 'Emploi du temps' }).first().click();
  await teacher.getByRole('heading', { level: 1, name: 'Emploi du temps' }).waitFor();
  for (let i = 0; i < ctx.weeks; i++) await teacher.getByRole('button', { name: 'Semaine suivante' }).click();
  await teacher.getByRole('button', { name: 'Nouvelle série de cours' }).click();
  const form = teacher.getByRole('dialog', { name: 'Nouvelle série de cours' });
  await form.getByLabel('Cours', { exact: true }).selectOption({ label: ctx.course.title });
  await form.getByLabel('Intitulé').fill(TITLE);
  await form.getByLabel('Premier cours le').fill(tuesday);
  await form.getByLabel('Début').fill('17:00');
  await form.getByLabel('Fin').fill('18:00');
  await form.getByLabel('Salle').fill('Salle 101');
  await form.getByLabel('Une semaine sur deux (semaines A/B)').check();
  await shot(teacher, 'calendar-new-series');
  await form.getByRole('button', { name: 'Créer la série' }).click();
  await teacher.getByRole('status').getByText(/Cours « Soutien en mathématiques » ajouté : un mardi sur deux/).waitFor();
  await form.waitFor({ state: 'detached' });
  const created = (await as(ctx.teacher, `/api/calendar/events?from=${monday}&to=${addDays(monday, 7)}`)).items.filter((o) => o.title === TITLE);
  assert.equal(created.length, 1);
  assert.equal(created[0].starts_at, paris(tuesday, '17:00'));
  const seriesId = created[0].event_id;
  const series = await as(ctx.teacher, `/api/calendar/events/${seriesId}`);
  assert.match(series.rrule, /^FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=\d{8}T\d{6}Z$/);
  assert.equal(series.location, 'Salle 101');
  await lesson(teacher, tuesday, /Soutien en mathématiques.*17:00/).waitFor();

  // ---- homework for the next lesson (two weeks later: week B has none), from the lesson itself ----
  await lesson(teacher, tuesday, /Soutien en mathématiques/).click();
  const occ = teacher.getByRole('dialog', { name: TITLE });
  await occ.getByRole('button', { name: 'Donner du travail pour ce cours' }).click();
  const hwForm = teacher.getByRole('dialog', { name: 'Nouveau devoir' });
  const due = addDays(tuesday, 14);
  await hwForm.getByLabel('Pour le').fill(due);
  await hwForm.getByLabel('Travail à faire').fill('Exercices 12 à 15 p. 84');
  await hwForm.getByLabel('Consignes (facultatif)').fill('Rédiger les solutions sur la copie double.');
  // Two files attached in the dialog (uploaded to fichiers as they are chosen).
  const sheet = Buffer.from('%PDF-1.4\n% fiche\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
  await hwForm.getByLabel('Joindre des fichiers').setInputFiles([
    { name: 'fiche-exercices.pdf', mimeType: 'application/pdf', buffer: sheet },
    { name: 'brouillon.txt', mimeType: 'text/plain', buffer: Buffer.from('Premier jet, à ne pas distribuer.\n') },
  ]);
  const attached = hwForm.getByRole('list', { name: 'Pièces jointes' });
  // Each file's row once uploaded (its "Retirer" button): while a file is sent, a progress line
  // « Envoi de … » names it too, and both are on screen for a moment.
  await attached.getByRole('button', { name: 'Retirer fiche-exercices.pdf' }).waitFor();
  await attached.getByRole('button', { name: 'Retirer brouillon.txt' }).waitFor();
  await shot(teacher, 'calendar-homework-files');
  await teacher.setViewportSize(PHONE);
  await attached.scrollIntoViewIfNeeded(); // inside the dialog, which scrolls on a phone
  await shot(teacher, 'calendar-homework-files');
  await teacher.setViewportSize(DESKTOP);
  await hwForm.getByRole('button', { name: 'Donner le devoir' }).click();
  await hwForm.waitFor({ state: 'detached' });
  const hwCard = teacher.locator('section.card', { has: teacher.getByRole('heading', { name: 'Travail à faire' }) });
  const hwRow = hwCard.getByRole('listitem').filter({ hasText: 'Exercices 12 à 15 p. 84' });
  await hwRow.getByText(`0/${ctx.studentCount} élèves ont coché`).waitFor();
  const hw = (await as(ctx.teacher, `/api/calendar/homework?from=${monday}&to=${addDays(monday, 21)}`)).items.find((h) => h.title === 'Exercices 12 à 15 p. 84');
  assert.equal(parisDay(hw.due_at), due);
  assert.equal(hw.event_id, seriesId, 'given in that lesson');
  assert.deepEqual(hw.attachments.map((f) => f.name).sort(), ['brouillon.txt', 'fiche-exercices.pdf']);
  // The draft taken off again in the edit dialog: only the worksheet stays, the rest unchanged.
  await hwRow.getByRole('button', { name: 'Modifier « Exercices 12 à 15 p. 84 »' }).click();
  const editForm = teacher.getByRole('dialog', { name: 'Modifier le devoir' });
  assert.equal(await editForm.getByLabel('Travail à faire').inputValue(), 'Exercices 12 à 15 p. 84');
  await editForm.getByRole('button', { name: 'Retirer brouillon.txt' }).click();
  assert.equal(await editForm.getByText('brouillon.txt').count(), 0);
  await editForm.getByRole('button', { name: 'Enregistrer' }).click();
  await teacher.getByRole('status').getByText('Devoir « Exercices 12 à 15 p. 84 » modifié.').waitFor();
  await editForm.waitFor({ state: 'detached' });
  const edited = await as(ctx.teacher, `/api/calendar/homework/${hw.id}`);
  assert.deepEqual(edited.attachments.map((f) => f.name), ['fiche-exercices.pdf']);
  assert.equal(edited.due_at, hw.due_at, 'the same day keeps its time');
  assert.equal(edited.work, 'Rédiger les solutions sur la copie double.');

  // ---- the student: the lesson in week A, not in week B, again in the next week A ----
  const student = await newPage(browser);
  await login(student, ent, ctx.student, PASSWORD.student);
  // The dashboard's tile: today's lessons, or the next one.
  assert.match(await student.getByTestId('calendar-tile').textContent(), /^(Aujourd'hui : \d+ cours|Prochain cours : |Aucun cours dans les prochains jours)/);
  await shot(student, 'calendar-tile');
  await student.getByRole('link', { name: 'Emploi du temps' }).first().click();
  await student.getByRole('heading', { level: 1, name: 'Emploi du temps' }).waitFor();
  for (let i = 0; i < ctx.weeks; i++) await student.getByRole('button', { name: 'Semaine suivante' }).click();
  await lesson(student, tuesday, /Soutien en mathématiques.*17:00 – 18:00.*Salle 101/).waitFor();
  // The demo's week has its changes: a lesson in another room shows both rooms.
  const changed = (await as(ctx.student, `/api/calendar/timetable?week=${isoWeek(monday)}`)).items.find((o) => o.status === 'changed' && o.original.location !== o.location);
  if (changed) await student.getByRole('button', { name: new RegExp(`${changed.location} \\(au lieu de `) }).first().waitFor();
  await student.getByRole('button', { name: 'Semaine suivante' }).click();
  await student.getByRole('list', { name: dayLong(addDays(monday, 7)) }).waitFor();
  assert.equal(await lesson(student, addDays(tuesday, 7), /Soutien en mathématiques/).count(), 0, 'week B has no such lesson');
  await student.getByRole('button', { name: 'Semaine suivante' }).click();
  await lesson(student, addDays(tuesday, 14), /Soutien en mathématiques.*17:00/).waitFor();
  await student.getByRole('button', { name: 'Semaine précédente' }).click();
  await student.getByRole('button', { name: 'Semaine précédente' }).click();
  await lesson(student, tuesday, /Soutien en mathématiques/).waitFor();
  // The homework, ticked: the student's own tick, not a classmate's.
  const box = student.getByRole('checkbox', { name: 'Fait : Exercices 12 à 15 p. 84' });
  assert.equal(await box.isChecked(), false);
  await box.check();
  await student.getByRole('status').getByText('« Exercices 12 à 15 p. 84 » : fait.').waitFor();
  const mine = (await as(ctx.student, `/api/calendar/homework?from=${monday}&to=${addDays(monday, 21)}`)).items.find((h) => h.id === hw.id);
  assert.equal(mine.done, true);
  const theirs = (await as(ctx.student2, `/api/calendar/homework?from=${monday}&to=${addDays(monday, 21)}`)).items.find((h) => h.id === hw.id);
  assert.equal(theirs.done, false);
  // The attachment, downloaded from the homework list.
  const files = student.getByRole('list', { name: 'Pièces jointes : Exercices 12 à 15 p. 84' });
  const [dl] = await Promise.all([student.waitForEvent('download'), files.getByRole('button', { name: /^fiche-exercices\.pdf/ }).click()]);
  assert.equal(dl.suggestedFilename(), 'fiche-exercices.pdf');
  await review(t, student, 'calendar-student', assert);

  // ---- the teacher sees the count, and cancels this week's lesson ----
  await teacher.reload();
  await hwRow.getByText(`1/${ctx.studentCount} élèves ont coché`).waitFor();
  await lesson(teacher, tuesday, /Soutien en mathématiques/).click();
  await occ.getByLabel('Cette séance').waitFor();
  assert.equal(await occ.getByLabel('Cette séance').isChecked(), true);
  await occ.getByLabel('Message aux élèves (facultatif)').fill('Sortie scolaire au musée');
  await shot(teacher, 'calendar-lesson-dialog');
  await teacher.setViewportSize(PHONE);
  await teacher.waitForTimeout(150);
  await shot(teacher, 'calendar-lesson-dialog');
  await teacher.setViewportSize(DESKTOP);
  await occ.getByRole('button', { name: 'Annuler cette séance' }).click();
  await occ.waitFor({ state: 'detached' });
  await lesson(teacher, tuesday, /Soutien en mathématiques.*Annulé/).waitFor();
  await review(t, teacher, 'calendar-teacher', assert);

  // ---- the student sees it struck through, at both widths ----
  await student.reload();
  const cancelled = lesson(student, tuesday, /Soutien en mathématiques.*Annulé/);
  await cancelled.waitFor();
  const line = await cancelled.locator('.tt-title').evaluate((e) => getComputedStyle(e).textDecorationLine);
  assert.equal(line, 'line-through');
  // From the keyboard: Enter opens the lesson's details, Escape closes them and the focus comes back.
  await cancelled.focus();
  await student.keyboard.press('Enter');
  const details = student.getByRole('dialog', { name: TITLE });
  await details.getByText('Sortie scolaire au musée').waitFor();
  assert.equal(await details.getByRole('button', { name: /Annuler cette séance|Déplacer/ }).count(), 0, 'no changes for a student');
  await student.keyboard.press('Escape');
  await details.waitFor({ state: 'detached' });
  assert.match(await student.evaluate(() => document.activeElement.textContent), /Soutien en mathématiques/);
  await student.setViewportSize(PHONE);
  await student.locator('.day-list').waitFor();
  const phoneLesson = lesson(student, tuesday, /Soutien en mathématiques.*Annulé/);
  await phoneLesson.waitFor();
  await shot(student, 'calendar-student-cancelled');
  await student.setViewportSize(DESKTOP);

  // ---- the room of this lesson and the following ones (the series is split) ----
  await teacher.getByRole('button', { name: 'Semaine suivante' }).click();
  await teacher.getByRole('button', { name: 'Semaine suivante' }).click();
  await lesson(teacher, addDays(tuesday, 14), /Soutien en mathématiques/).click();
  await occ.getByLabel('Celle-ci et les suivantes').check();
  await occ.getByLabel('Nouvelle salle').fill('Salle 204');
  await occ.getByRole('button', { name: 'Changer de salle' }).click();
  await occ.waitFor({ state: 'detached' });
  await lesson(teacher, addDays(tuesday, 14), /Soutien en mathématiques.*Salle 204/).waitFor();
  const after = (await as(ctx.student, `/api/calendar/events?from=${monday}&to=${addDays(monday, 35)}`)).items.filter((o) => o.title === TITLE);
  assert.deepEqual(after.map((o) => [o.starts_at, o.location, o.status]), [
    [paris(tuesday, '17:00'), 'Salle 101', 'cancelled'],
    [paris(addDays(tuesday, 14), '17:00'), 'Salle 204', 'scheduled'],
    [paris(addDays(tuesday, 28), '17:00'), 'Salle 204', 'scheduled'],
  ]);
  assert.notEqual(after[1].event_id, seriesId, 'the series was split at that lesson');

  // ---- the month ----
  await student.getByRole('button', { name: 'Mois' }).click();
  await student.getByRole('table').waitFor();
  await review(t, student, 'calendar-month', assert);
  assert.deepEqual(problems(teacher), []);
  assert.deepEqual(problems(student), []);
  await teacher.context().close();
  await student.context().close();
});

test('the personal feed: created and shown once, read without a token, revoked', async () => {
  const page = await newPage(browser);
  await login(page, ent, ctx.student2, PASSWORD.student);
  await openWeek(page, monday);
  const card = page.locator('section.card', { has: page.getByRole('heading', { name: 'Abonnement iCal' }) });
  await card.getByRole('button', { name: "Créer mon adresse d'abonnement" }).click();
  const url = await card.getByTestId('feed-url').inputValue();
  assert.match(url, /\/api\/calendar\/feeds\/[0-9a-f]{64}\.ics$/);
  await card.getByRole('button', { name: 'Copier' }).click();
  await page.getByRole('status').getByText(/Adresse (copiée|sélectionnée)/).waitFor();
  await shot(page, 'calendar-feed');
  const ics = await fetch(url);
  assert.equal(ics.status, 200);
  const vevents = (await ics.text()).split('BEGIN:VEVENT').slice(1);
  assert.ok(vevents.some((v) => v.includes(`SUMMARY:${TITLE}`) && v.includes('STATUS:CANCELLED')), 'the cancelled lesson is in the feed');
  // Shown once: after a reload, only that it is active.
  await page.reload();
  await card.getByText(/Abonnement créé le/).waitFor();
  assert.equal(await card.getByTestId('feed-url').count(), 0);
  await card.getByRole('button', { name: "Révoquer l'adresse" }).click();
  await card.getByRole('button', { name: 'Confirmer la révocation' }).click();
  await card.getByText('Aucun abonnement pour le moment.').waitFor();
  assert.equal((await fetch(url)).status, 404);
  assert.deepEqual(problems(page), []);
  await page.context().close();
});
