// `ent demo --scale N`: the district generator of the benchmarks. It must produce the proportions
// it announces, data the services serve correctly (a generated student's report card, courses and
// notifications, a course file), refuse to run twice on one database, and refuse bad arguments.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, api } from './lib/ent.mjs';
import { sql } from './lib/oidc.mjs';

const N = 200;
let ent, gen;

before(async () => {
  ent = await startEnt();
  gen = ent.run(['demo', '--scale', String(N), '--seed', '7']);
});
after(async () => {
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
});

const count = (statement) => Number(sql(ent, statement));

test('the district has the announced proportions', async () => {
  assert.equal(gen.status, 0, gen.stderr);
  assert.match(gen.stdout, /200 students, 15 teachers, 8 classes, 60 courses, 20000 grades, 2000 notifications/);
  assert.equal(count("SELECT COUNT(*) AS n FROM users WHERE role = 'etudiant' AND email LIKE '%@district.ent.local'"), N);
  assert.equal(count("SELECT COUNT(*) AS n FROM users WHERE role = 'enseignant' AND email LIKE '%@district.ent.local'"), 15);
  assert.equal(count("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND email LIKE '%@district.ent.local'"), 1);
  assert.equal(count("SELECT COUNT(*) AS n FROM classes WHERE name LIKE '% 0%'"), 8);
  // Every student in exactly one class; class sizes stay within what schools have.
  assert.equal(count("SELECT COUNT(DISTINCT user_id) AS n FROM class_members WHERE kind = 'etudiant'"), N);
  const sizes = sql(ent, "SELECT COUNT(*) FROM class_members WHERE kind = 'etudiant' GROUP BY class_id").split('\n').map(Number);
  assert.equal(sizes.length, 8);
  for (const n of sizes) assert.ok(n >= 10 && n <= 40, `class of ${n}`);
  assert.equal(count('SELECT COUNT(*) AS n FROM cours'), 60);
  assert.equal(count('SELECT COUNT(*) AS n FROM materials'), 8);
  // The assistant's index holds the district's course files (indexed by the generator, without events).
  assert.equal(count("SELECT COUNT(*) AS n FROM chatbot_documents WHERE status = 'indexed'"), 8);
  assert.ok(count('SELECT COUNT(*) AS n FROM chatbot_passages') >= 8);
  const grades = count('SELECT COUNT(*) AS n FROM notes_grades');
  assert.ok(grades > 15000 && grades < 25000, `${grades} grades for 20000 announced`);
  assert.equal(count('SELECT COUNT(*) AS n FROM notifications'), 2000);
  assert.equal(count('SELECT COUNT(*) AS n FROM bus_outbox'), 0, 'generated data produces no events');
  // The calendar: about 28 weekly lessons a class (a series each; two A/B courses share a slot), 10
  // homework a course, the four holidays.
  assert.match(gen.stdout, /Timetables: \d+ lesson series and 600 homework, 4 holidays/);
  const series = count("SELECT COUNT(*) AS n FROM calendar_events WHERE kind = 'lesson'");
  assert.ok(series >= 8 * 28 && series <= 8 * 30, `${series} lesson series`);
  assert.equal(count('SELECT COUNT(*) AS n FROM calendar_homework'), 600);
  assert.equal(count("SELECT COUNT(*) AS n FROM calendar_events WHERE kind = 'holiday'"), 4);
});

test("a generated student's week and homework are served", async () => {
  const token = ent.run(['token', 's1@district.ent.local']).stdout.trim();
  const auth = { Authorization: `Bearer ${token}` };
  // A school week of the year: mid-November is between the Toussaint and Christmas holidays.
  const year = gen.stdout.match(/school year (\d{4})-/)[1];
  const week = await api(ent, `/api/calendar/timetable?week=${year}-W47`, { headers: auth });
  assert.equal(week.status, 200, week.text);
  const lessons = week.json.items.filter((o) => o.kind === 'lesson');
  assert.ok(lessons.length >= 27 && lessons.length <= 28, `${lessons.length} lessons`);
  assert.ok(lessons.every((o) => o.audience === 'course' && o.course_id && o.teacher_id));
  const hw = await api(ent, `/api/calendar/homework?from=${year}-09-01&to=${Number(year) + 1}-07-01&limit=100`, { headers: auth });
  assert.equal(hw.status, 200, hw.text);
  assert.ok(hw.json.items.length >= 50, `${hw.json.items.length} homework over the year`);
});

test("a generated student's grades, courses, notifications and course file are served", async () => {
  const token = ent.run(['token', 's1@district.ent.local']).stdout.trim();
  const auth = { Authorization: `Bearer ${token}` };
  const me = await api(ent, '/api/notes/me', { headers: auth });
  assert.equal(me.status, 200, me.text);
  const evals = me.json.periods.flatMap((p) => p.subjects.flatMap((s) => s.evaluations));
  assert.ok(evals.length > 10, `${evals.length} evaluations`);
  assert.ok(evals.some((e) => e.status === 'graded' && e.value20 >= 0 && e.value20 <= 20));
  const courses = await api(ent, '/api/cours?limit=20', { headers: auth });
  assert.equal(courses.status, 200);
  assert.ok(courses.json.items.length >= 6);
  const unread = await api(ent, '/api/notifications/unread-count', { headers: auth });
  assert.equal(unread.status, 200);
  assert.equal(typeof unread.json.count, 'number');
  let downloaded = false;
  for (const c of courses.json.items) {
    const mats = await api(ent, `/api/cours/${c.id}/materials`, { headers: auth });
    for (const m of mats.json.items) {
      const f = await fetch(`${ent.url}/api/cours/${c.id}/materials/${m.id}/file`, { headers: auth });
      assert.equal(f.status, 200);
      assert.equal(Buffer.from(await f.arrayBuffer()).subarray(0, 5).toString(), '%PDF-');
      downloaded = true;
    }
  }
  assert.ok(downloaded, 'the first course of the class has a file');
});

test('a second generation on the same database, and bad arguments, are refused', () => {
  const again = ent.run(['demo', '--scale', String(N)]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already holds a generated district/);
  for (const args of [['--scale', '5'], ['--scale', 'x'], ['--seed', '3'], ['--scale']]) {
    const r = ent.run(['demo', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  }
});
