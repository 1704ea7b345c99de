// The demo school's timetable (`ent demo`, src/services/calendar/demo.c) against a real server: a
// demo student's week has its lessons on Paris's wall clock, one cancelled and one moved to another
// room; A and B weeks differ; the next week has a test; homework is due in the coming days; the
// school year's four holidays are there and leave the lessons out; a second `ent demo` changes
// nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, api } from './lib/ent.mjs';
import { sql } from './lib/oidc.mjs';

let ent, demo, auth, year, week;

before(async () => {
  ent = await startEnt();
  demo = ent.run(['demo']);
  const token = ent.run(['token', 'lea.dubois@demo.ent.local']).stdout.trim(); // a student of 6e A
  auth = { Authorization: `Bearer ${token}` };
});
after(async () => {
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
});

const get = async (path) => {
  const r = await api(ent, path, { headers: auth });
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r.json;
};
// The Monday after a date (YYYY-MM-DD), and the ISO week of a YYYY-MM-DD date.
const addDays = (date, n) => new Date(Date.parse(`${date}T12:00:00Z`) + n * 86400000).toISOString().slice(0, 10);
function isoWeek(date) {
  const d = new Date(`${date}T12:00:00Z`);
  const thursday = new Date(d.getTime() + (3 - ((d.getUTCDay() + 6) % 7)) * 86400000);
  const jan1 = Date.UTC(thursday.getUTCFullYear(), 0, 1);
  const w = Math.floor((thursday.getTime() - jan1) / 86400000 / 7) + 1;
  return `${thursday.getUTCFullYear()}-W${String(w).padStart(2, '0')}`;
}

test('ent demo loads the timetables and the holidays', () => {
  assert.equal(demo.status, 0, demo.stderr);
  year = demo.stdout.match(/Demo timetable \(school year (\d{4})-\d{4}/)[1];
  week = demo.stdout.match(/6e A +week (\d{4}-W\d{2}): Technologie on \w+ \d\d:\d\d cancelled; Mathématiques on \w+ \d\d:\d\d moved to the CDI/)[1];
  assert.match(demo.stdout, /6e A +26 lessons a week \(3 slots on A\/B weeks\), 2 exams, 3 homework/);
  assert.match(demo.stdout, /3 timetables and 4 holidays created now \(first run\)/);
});

test('a demo student sees this week\'s lessons, one cancelled and one in another room', async () => {
  const tt = await get(`/api/calendar/timetable?week=${week}`);
  const lessons = tt.items.filter((o) => o.kind === 'lesson');
  assert.equal(lessons.length, 26, 'a week of 26 lessons');
  for (const o of lessons) {
    assert.equal(o.time_zone, 'Europe/Paris');
    assert.ok(o.recurring);
    // 08:00 to 16:45 on Paris's wall clock (UTC+1 in winter, UTC+2 in summer).
    const local = new Date(o.starts_at).toLocaleTimeString('fr-FR', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' });
    assert.ok(local >= '08:00' && local <= '15:45', `${o.title} at ${local}`);
  }
  const cancelled = lessons.filter((o) => o.status === 'cancelled');
  assert.equal(cancelled.length, 1);
  assert.equal(cancelled[0].title, 'Technologie');
  assert.equal(cancelled[0].note, 'Professeur absent');
  const moved = lessons.filter((o) => o.status === 'changed');
  assert.equal(moved.length, 1);
  assert.equal(moved[0].title, 'Mathématiques');
  assert.equal(moved[0].audience, 'course', 'the lessons of the class\'s course are that course\'s');
  assert.equal(moved[0].location, 'CDI');
  assert.equal(moved[0].original.location, 'Salle 101');
  // The next school week (the next week, or the one after the holidays) has a test, and the other
  // subjects of the three slots shared by A and B weeks.
  const exams = (await get(`/api/calendar/events?kind=exam&from=${addDays(tt.starts_on, 7)}&to=${addDays(tt.starts_on, 42)}`)).items;
  const monday = new Date(Date.parse(exams[0].starts_at) + 3600000 * 2).toISOString().slice(0, 10);
  const next = (await get(`/api/calendar/timetable?week=${isoWeek(monday)}`)).items;
  const ab = (items) => items.filter((o) => /Semaine [AB]/.test(o.description || '')).map((o) => o.description);
  assert.equal(ab(lessons).length, 3);
  assert.equal(ab(next).length, 3);
  assert.notEqual(ab(lessons)[0], ab(next)[0]);
  assert.ok(next.every((o) => o.status !== 'cancelled'), 'only this week is changed');
  const exam = next.find((o) => o.kind === 'exam');
  assert.equal(exam.title, 'Contrôle de Mathématiques');
  assert.ok(next.some((o) => o.kind === 'lesson' && o.starts_at === exam.starts_at), 'the test is in a lesson of its course');
});

test('homework is due in the coming days, at lessons of the class\'s course', async () => {
  const hw = (await get('/api/calendar/homework')).items;
  assert.equal(hw.length, 3);
  const now = Date.now();
  for (const h of hw) {
    assert.ok(Date.parse(h.due_at) > now, h.due_at);
    assert.ok(Date.parse(h.due_at) < now + 35 * 86400000, h.due_at);
    assert.equal(h.course_title, 'Mathématiques — 6e A');
    assert.equal(h.done, false);
    assert.ok(h.work && h.event_id && h.occurrence_id);
  }
});

test('the school year\'s holidays (zone C) are all-day school events that leave the lessons out', async () => {
  const hol = (await get(`/api/calendar/events?kind=holiday&from=${year}-08-01&to=${Number(year) + 1}-07-31`)).items;
  assert.deepEqual(hol.map((h) => h.title), ['Vacances de la Toussaint', 'Vacances de Noël', 'Vacances d\'hiver', 'Vacances de printemps']);
  for (const h of hol) {
    assert.equal(h.all_day, true);
    assert.equal(h.audience, 'school');
    // From a Saturday 00:00 to a Monday 00:00 in Paris, 16 days later.
    assert.equal(new Date(h.starts_at).toLocaleDateString('en-GB', { timeZone: 'Europe/Paris', weekday: 'long' }), 'Saturday');
    assert.ok(Math.abs(Date.parse(h.ends_at) - Date.parse(h.starts_at) - 16 * 86400000) <= 3600000, h.title);
    const monday = addDays(new Date(Date.parse(h.starts_at) + 12 * 3600000).toISOString().slice(0, 10), 2);
    const during = (await get(`/api/calendar/timetable?week=${isoWeek(monday)}`)).items;
    assert.deepEqual(during.filter((o) => o.kind === 'lesson'), [], `no lesson in ${h.title}`);
    assert.ok(during.some((o) => o.kind === 'holiday'));
  }
});

test('a second ent demo changes nothing', () => {
  const counts = () => sql(ent, 'SELECT (SELECT COUNT(*) FROM calendar_events) || \' \' || (SELECT COUNT(*) FROM calendar_overrides)'
    + ' || \' \' || (SELECT COUNT(*) FROM calendar_homework) || \' \' || (SELECT COUNT(*) FROM calendar_event_classes)');
  const before = counts();
  assert.match(before, /^\d+ 6 9 \d+$/);
  const again = ent.run(['demo']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /0 timetables and 0 holidays created now \(already loaded, nothing changed\)/);
  assert.equal(counts(), before);
});
