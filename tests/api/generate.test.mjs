// `ent demo --scale N`: the district generator of the benchmarks. It must produce the proportions
// it announces, data the services serve correctly (a generated student's report card, courses and
// notifications, a course file, mailbox and search, the support desk), refuse to run twice on one
// database, and refuse bad arguments.
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

test('the mailboxes: about fifty messages a user, class fan-out, consistent copies, folders and bcc', () => {
  const m = gen.stdout.match(/Messages: (\d+) messages, (\d+) mailbox copies \((\d+) of recipients, (\d+) in the trash\), (\d+) folders/);
  assert.ok(m, gen.stdout);
  const [messages, copies, received, trash] = m.slice(1, 5).map(Number);
  assert.equal(count("SELECT COUNT(*) FROM messages WHERE state = 'sent'"), messages);
  assert.equal(count('SELECT COUNT(*) FROM messages'), messages);
  assert.equal(count('SELECT COUNT(*) FROM message_boxes'), copies);
  assert.equal(count("SELECT COUNT(*) FROM message_boxes WHERE role <> 'sender'"), received);
  assert.equal(count('SELECT COUNT(*) FROM messages_fts'), messages);
  // About fifty copies a user (216 users), each student 42 class messages at least.
  const users = count("SELECT COUNT(*) FROM users WHERE email LIKE '%@district.ent.local'");
  assert.ok(copies / users >= 40 && copies / users <= 65, `${copies / users} copies a user`);
  const least = count("SELECT MIN(n) FROM (SELECT COUNT(*) AS n FROM users u JOIN message_boxes b ON b.user_id = u.id"
    + " WHERE u.role = 'etudiant' GROUP BY u.id) x");
  assert.ok(least >= 42, `a student holds ${least} messages`);
  // Class-wide fan-out: a message to a class reached exactly that class's students.
  assert.equal(count("SELECT COUNT(*) FROM message_addresses WHERE type = 'class'"), 8 * 42);
  assert.equal(count("SELECT COUNT(*) FROM message_addresses a JOIN message_boxes b ON b.message_id = a.message_id"
    + " AND b.role <> 'sender' WHERE a.type = 'class' AND NOT EXISTS (SELECT 1 FROM class_members cm"
    + " WHERE cm.class_id = a.ref_id AND cm.user_id = b.user_id AND cm.kind = 'etudiant')"), 0);
  assert.equal(count("SELECT COUNT(*) FROM message_addresses a JOIN message_boxes b ON b.message_id = a.message_id"
    + " AND b.role <> 'sender' WHERE a.type = 'class'"), count("SELECT COUNT(*) FROM message_addresses a"
    + " JOIN class_members cm ON cm.class_id = a.ref_id AND cm.kind = 'etudiant' WHERE a.type = 'class'"));
  // Every copy belongs to an existing user, every message has its sender's copy and a recipient.
  assert.equal(count('SELECT COUNT(*) FROM message_boxes b WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = b.user_id)'), 0);
  assert.equal(count("SELECT COUNT(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM message_boxes b"
    + " WHERE b.message_id = m.id AND b.role = 'sender' AND b.user_id = m.sender_id)"), 0);
  assert.equal(count("SELECT COUNT(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM message_boxes b"
    + " WHERE b.message_id = m.id AND b.role <> 'sender')"), 0);
  assert.equal(count('SELECT COUNT(*) FROM messages m WHERE thread_id <> id AND NOT EXISTS'
    + ' (SELECT 1 FROM messages t WHERE t.id = m.thread_id)'), 0);
  // Folders: senders' copies in sent, recipients' in the inbox or the user's own folder, the trash
  // with where it came from; an own folder is always its holder's.
  assert.equal(count("SELECT COUNT(*) FROM message_boxes WHERE role = 'sender' AND (folder <> 'sent' OR read_at IS NULL)"), 0);
  assert.equal(count("SELECT COUNT(*) FROM message_boxes b WHERE role <> 'sender' AND folder NOT IN ('inbox', 'trash')"
    + ' AND NOT EXISTS (SELECT 1 FROM message_folders f WHERE f.id = b.folder AND f.owner_id = b.user_id)'), 0);
  assert.ok(count("SELECT COUNT(*) FROM message_boxes b JOIN message_folders f ON f.id = b.folder") > 0);
  assert.equal(count("SELECT COUNT(*) FROM message_boxes WHERE folder = 'trash'"), trash);
  assert.equal(count("SELECT COUNT(*) FROM message_boxes WHERE (folder = 'trash') <> (trashed_at IS NOT NULL)"
    + " OR (folder = 'trash' AND prev_folder IS NULL)"), 0);
  // Read marks and acknowledgements: some read, some not; acknowledged only when asked and read.
  const unread = count('SELECT COUNT(*) FROM message_boxes WHERE read_at IS NULL');
  assert.ok(unread > received / 20 && unread < received / 2, `${unread} unread of ${received}`);
  assert.ok(count('SELECT COUNT(*) FROM messages WHERE ack_required = 1') > 0);
  assert.ok(count('SELECT COUNT(*) FROM message_boxes WHERE acked_at IS NOT NULL') > 0);
  assert.equal(count('SELECT COUNT(*) FROM message_boxes b JOIN messages m ON m.id = b.message_id'
    + ' WHERE b.acked_at IS NOT NULL AND (m.ack_required = 0 OR b.read_at IS NULL)'), 0);
  // bcc: a bcc copy only for a user named in a bcc address, and the reverse.
  const bcc = count("SELECT COUNT(*) FROM message_boxes WHERE role = 'bcc'");
  assert.ok(bcc > 0, 'some answers have a colleague in bcc');
  assert.equal(count("SELECT COUNT(*) FROM message_addresses WHERE kind = 'bcc'"), bcc);
  assert.equal(count("SELECT COUNT(*) FROM message_boxes b WHERE role = 'bcc' AND NOT EXISTS (SELECT 1"
    + " FROM message_addresses a WHERE a.message_id = b.message_id AND a.kind = 'bcc' AND a.type = 'user'"
    + " AND a.ref_id = b.user_id)"), 0);
  assert.equal(count('SELECT COUNT(*) FROM bus_outbox'), 0, 'generated mail produces no events');
});

test("a generated mailbox is served: inbox with unread counts, search, and bcc stays hidden", async () => {
  const as = (email) => ({ Authorization: `Bearer ${ent.run(['token', email]).stdout.trim()}` });
  const s1 = as('s1@district.ent.local');
  const folders = await api(ent, '/api/messages/folders', { headers: s1 });
  assert.equal(folders.status, 200, folders.text);
  const inbox = folders.json.items.find((f) => f.id === 'inbox');
  const id = sql(ent, "SELECT id FROM users WHERE email = 's1@district.ent.local'");
  assert.equal(inbox.unread, count(`SELECT COUNT(*) FROM message_boxes WHERE user_id = '${id}' AND folder = 'inbox' AND read_at IS NULL`));
  assert.ok(inbox.total >= 40, `${inbox.total} in the inbox`);
  const list = await api(ent, '/api/messages?folder=inbox&limit=20', { headers: s1 });
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.items.length, 20);
  const times = list.json.items.map((m) => Date.parse(m.sent_at));
  assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
  const found = await api(ent, '/api/messages/search?q=contr%C3%B4le&limit=50', { headers: s1 });
  assert.equal(found.status, 200, found.text);
  assert.ok(found.json.items.length > 0);
  // A word longer than the index's prefixes (10 characters) still finds its messages, and only
  // the searcher's.
  const [holder, withWord] = sql(ent, "SELECT u.email, m.id FROM messages m JOIN message_boxes b ON b.message_id = m.id"
    + " AND b.role = 'to' AND b.folder = 'inbox' JOIN users u ON u.id = b.user_id WHERE m.body LIKE '%calculatrices%'"
    + ' ORDER BY b.at_us DESC LIMIT 1').split('|');
  const long = await api(ent, '/api/messages/search?q=calculatrices&limit=100', { headers: as(holder) });
  assert.equal(long.status, 200, long.text);
  assert.ok(long.json.items.some((i) => i.id === withWord), 'the message with the long word is found');
  const mine = sql(ent, `SELECT b.message_id FROM message_boxes b JOIN users u ON u.id = b.user_id WHERE u.email = '${holder}'`).split('\n');
  assert.ok(long.json.items.every((i) => mine.includes(i.id)), 'only the searcher\'s own mail');
  // A teacher's answer with a colleague in bcc: the student's copy shows no bcc, the sender's does.
  const [mid, sender, student, hidden] = sql(ent, "SELECT m.id, m.sender_id, t.user_id, b.user_id FROM messages m"
    + " JOIN message_boxes b ON b.message_id = m.id AND b.role = 'bcc'"
    + " JOIN message_boxes t ON t.message_id = m.id AND t.role = 'to' LIMIT 1").split('\n')[0].split('|');
  const email = (u) => sql(ent, `SELECT email FROM users WHERE id = '${u}'`);
  const seen = await api(ent, `/api/messages/${mid}`, { headers: as(email(student)) });
  assert.equal(seen.status, 200, seen.text);
  assert.deepEqual(seen.json.bcc, []);
  assert.ok(!seen.text.includes(hidden), 'the bcc recipient is never named to the student');
  const own = await api(ent, `/api/messages/${mid}`, { headers: as(email(sender)) });
  assert.equal(own.status, 200, own.text);
  assert.deepEqual(own.json.bcc.map((a) => a.id), [hidden]);
  const theirs = await api(ent, `/api/messages/${mid}`, { headers: as(email(hidden)) });
  assert.equal(theirs.status, 200, theirs.text);
  assert.equal(theirs.json.my_role, 'bcc');
});

test('the support desk: tickets in every state with their conversation and history', async () => {
  const m = gen.stdout.match(/Support: (\d+) tickets \((\d+) new, (\d+) open, (\d+) waiting, (\d+) resolved, (\d+) closed\), (\d+) comments; (\d+) grade contestations; (\d+) FAQ answers found helpful/);
  assert.ok(m, gen.stdout);
  const [total, ...states] = m.slice(1, 7).map(Number);
  const [contests, helpful] = [Number(m[8]), Number(m[9])];
  assert.equal(total, Math.floor(216 * 3 / 100));
  // Contestations: one per 200 students, each on the student's own published grade (the notes
  // service's tables, read here by the test only), assigned to a teacher of its course.
  assert.equal(contests, 1);
  assert.equal(count('SELECT COUNT(*) FROM support_requests WHERE evaluation_id IS NULL'), total);
  assert.equal(count("SELECT COUNT(*) FROM support_requests WHERE evaluation_id IS NOT NULL AND category = 'grades'"), contests);
  assert.equal(count('SELECT COUNT(*) FROM support_requests t WHERE evaluation_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM notes_grades g'
    + ' WHERE g.evaluation_id = t.evaluation_id AND g.student_id = t.requester_id)'), 0);
  assert.equal(count('SELECT COUNT(*) FROM support_requests t WHERE evaluation_id IS NOT NULL AND assignee_id IS NULL'), 0);
  ['new', 'open', 'waiting', 'resolved', 'closed'].forEach((s, i) => {
    assert.ok(states[i] > 0, `no ${s} ticket`);
    assert.equal(count(`SELECT COUNT(*) FROM support_requests WHERE state = '${s}' AND evaluation_id IS NULL`), states[i]);
  });
  // The FAQ of a school year and its "this answered my question", counted on the articles.
  assert.ok(count('SELECT COUNT(*) FROM support_faq WHERE published = 1') >= 4);
  assert.ok(helpful > 0);
  assert.equal(count('SELECT COUNT(*) FROM support_faq_helpful'), helpful);
  assert.equal(count('SELECT SUM(helpful_count) FROM support_faq'), helpful);
  assert.equal(count('SELECT COUNT(*) FROM support_comments'), Number(m[7]));
  // Every requester and assignee exists; a new ticket has nobody yet, the others have someone.
  assert.equal(count('SELECT COUNT(*) FROM support_requests t WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.requester_id)'
    + ' OR (t.assignee_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.assignee_id))'), 0);
  assert.equal(count("SELECT COUNT(*) FROM support_requests WHERE evaluation_id IS NULL AND (state = 'new') <> (assignee_id IS NULL)"), 0);
  // Times in order, a resolved ticket resolved in the last week (the auto-close keeps it), the
  // history's last state change is the ticket's state.
  assert.equal(count('SELECT COUNT(*) FROM support_requests WHERE first_response_at < created_at OR resolved_at < first_response_at'
    + ' OR closed_at < resolved_at'), 0);
  assert.equal(count("SELECT COUNT(*) FROM support_requests WHERE (state IN ('resolved', 'closed')) <> (resolved_at IS NOT NULL)"), 0);
  const week = new Date(Date.now() - 7 * 86400000).toISOString().slice(0, 19) + 'Z';
  assert.equal(count(`SELECT COUNT(*) FROM support_requests WHERE state = 'resolved' AND resolved_at < '${week}'`), 0);
  assert.equal(count('SELECT COUNT(*) FROM support_requests t WHERE t.state <> COALESCE((SELECT h.new_value FROM support_history h'
    + " WHERE h.ticket_id = t.id AND h.field = 'state' ORDER BY h.seq DESC LIMIT 1), 'new')"), 0);
  // The admin's queue serves them.
  const admin = { Authorization: `Bearer ${ent.run(['token', 'admin@district.ent.local']).stdout.trim()}` };
  const queue = await api(ent, '/api/support/tickets?limit=100', { headers: admin });
  assert.equal(queue.status, 200, queue.text);
  assert.equal(queue.json.items.length, total + contests);
  // The dashboard has its figures: tickets avoided by the FAQ over the sixty days.
  const dash = await api(ent, `/api/support/dashboard?from=${new Date(Date.now() - 61 * 86400000).toISOString().slice(0, 19)}Z`, { headers: admin });
  assert.equal(dash.status, 200, dash.text);
  assert.equal(dash.json.faq_helpful.total, helpful);
  assert.equal(dash.json.faq_helpful.period, helpful);
  assert.ok(dash.json.opened >= total);
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
