// prepare.mjs - builds the request lists of the district load scenarios (bench/district.sh).
//
// Usage: node bench/prepare.mjs URL SCALE OUTDIR
// Environment: ENT_BIN and the settings of the server (ENT_DATA, ENT_DB ...), so that
// `ent token --ttl` signs tokens the server accepts; BENCH_USERS (students sampled, default 1000)
// and BENCH_TEACHERS (default 200).
//
// Users are sampled evenly over the whole district (s1, s1+k, s1+2k ...), each with their own
// token, so the scenarios touch many rows rather than one cached user. The lists (one request a
// line: METHOD, PATH, TOKEN, BODY separated by tabs; see bench/scenario.lua) are:
//   s1.txt  GET /api/notes/me                               a student's grades and averages
//   s2.txt  GET /api/cours?limit=20                         a student's courses
//   s3.txt  GET /api/notifications?limit=20 and /unread-count, alternately
//   s4.txt  PUT /api/notes/evaluations/{id}/grades          a teacher enters a whole class's grades
//   s5.txt  a mix: 40 % S1, 20 % S2, 25 % S3, 5 % S4, 10 % downloads of course files
//   s6.txt  a student's week: GET /api/calendar/timetable?week=W (a school week of the year drawn
//           at random, holidays left out) and GET /api/calendar/homework, alternately, the
//           students in a random order (seeded: the same list every run)
//   s7.txt  a student's inbox: GET /api/messages?folder=inbox&limit=20 and GET /api/messages/folders
//           (the unread count of each folder), alternately
//   s8.txt  a student's search in their mailbox: GET /api/messages/search?q=WORD&limit=20, WORD
//           drawn from the words of the generated mail (seeded)
// and s4.grades: the number of grades per S4 request on average (for grades/s).
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [url, scaleText, out] = process.argv.slice(2);
if (!url || !scaleText || !out) {
  console.error('usage: node bench/prepare.mjs URL SCALE OUTDIR');
  process.exit(2);
}
const scale = Number(scaleText);
const ent = process.env.ENT_BIN || 'build/ent';
const nStudents = Math.min(Number(process.env.BENCH_USERS || 1000), scale);
const nTeachers = Math.min(Number(process.env.BENCH_TEACHERS || 200), Math.floor((scale * 3) / 40));
mkdirSync(out, { recursive: true });

function sample(n, total) {
  const step = total / n;
  return Array.from({ length: n }, (_, i) => 1 + Math.floor(i * step));
}

function tokens(emails) {
  const all = [];
  for (let i = 0; i < emails.length; i += 200) {
    const chunk = emails.slice(i, i + 200);
    const r = execFileSync(ent, ['token', '--ttl', '3600', ...chunk], { encoding: 'utf8', maxBuffer: 64 << 20 });
    all.push(...r.trim().split('\n'));
  }
  if (all.length !== emails.length) throw new Error(`expected ${emails.length} tokens, got ${all.length}`);
  return all;
}

async function get(path, token) {
  const r = await fetch(url + path, { headers: { Authorization: `Bearer ${token}` } });
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

// Runs fn over items with a few requests in flight at once.
async function pool(items, n, fn) {
  const results = [];
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  }));
  return results;
}

const line = (method, path, token, body) => [method, path, token, body ? JSON.stringify(body) : ''].join('\t');

const studentTokens = tokens(sample(nStudents, scale).map((n) => `s${n}@district.ent.local`));
const teacherTokens = tokens(sample(nTeachers, Math.floor((scale * 3) / 40)).map((n) => `t${n}@district.ent.local`));

const s1 = studentTokens.map((t) => line('GET', '/api/notes/me', t));
const s2 = studentTokens.map((t) => line('GET', '/api/cours?limit=20', t));
const s3 = studentTokens.flatMap((t) => [line('GET', '/api/notifications?limit=20', t),
  line('GET', '/api/notifications/unread-count', t)]);

// S4: each sampled teacher, each of their courses' most recent evaluation, the class's grades.
// Each evaluation comes twice with different values, the second time in the list's second half:
// going round the list, every PUT changes the grades the previous one left (a PUT that changes
// nothing costs far less, and would flatter the figure from the second round on).
let gradesTotal = 0;
const s4second = [];
const s4 = (await pool(teacherTokens, 8, async (t) => {
  const lines = [];
  const courses = (await get('/api/cours?limit=10', t)).items;
  for (const c of courses.slice(0, 3)) {
    const evals = (await get(`/api/notes/evaluations?course_id=${c.id}&limit=5`, t)).items;
    if (!evals.length) continue;
    const ev = evals[0];
    const grades = (await get(`/api/notes/evaluations/${ev.id}/grades`, t)).items;
    if (!grades.length) continue;
    const body = (shift) => ({
      grades: grades.map((g, i) => ({ student_id: g.student_id, status: 'graded', value: (i * 7 + shift) % (ev.scale + 1) })),
    });
    gradesTotal += 2 * grades.length;
    lines.push(line('PUT', `/api/notes/evaluations/${ev.id}/grades`, t, body(0)));
    s4second.push(line('PUT', `/api/notes/evaluations/${ev.id}/grades`, t, body(1)));
  }
  return lines;
})).flat();
s4.push(...s4second);
if (!s4.length) throw new Error('no evaluation with grades found for the sampled teachers');

// Downloads: the files of the materials of the sampled students' courses.
const downloads = (await pool(studentTokens.slice(0, 200), 8, async (t) => {
  const courses = (await get('/api/cours?limit=20', t)).items;
  for (const c of courses) {
    const mats = (await get(`/api/cours/${c.id}/materials`, t)).items.filter((m) => m.file_id || m.file);
    if (mats.length) return [line('GET', `/api/cours/${c.id}/materials/${mats[0].id}/file`, t)];
  }
  return [];
})).flat();

// S5: the mix, interleaved so that every stretch of the list has the same proportions.
const s5 = [];
const parts = [[s1, 8], [s2, 4], [s3, 5], [s4, 1], [downloads.length ? downloads : s2, 2]];
for (let i = 0; s5.length < 20000; i++) {
  for (const [list, weight] of parts) for (let k = 0; k < weight; k++) s5.push(list[(i * weight + k) % list.length]);
}

// S6: the school weeks of the current school year (the generator's: from September of the year
// that began), without the holidays, which every student sees.
const random = ((seed) => () => {
  // mulberry32: a small seeded generator, so that the list is the same from run to run.
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
})(6);
const today = new Date();
const year = today.getUTCFullYear() - (today.getUTCMonth() < 8 ? 1 : 0);
const holidays = (await get(`/api/calendar/events?kind=holiday&from=${year}-09-01&to=${year + 1}-07-01`, studentTokens[0])).items
  .map((h) => [Date.parse(h.starts_at), Date.parse(h.ends_at)]);
const isoWeek = (d) => {
  const thursday = new Date(d.getTime() + (3 - ((d.getUTCDay() + 6) % 7)) * 86400000);
  const w = Math.floor((thursday.getTime() - Date.UTC(thursday.getUTCFullYear(), 0, 1)) / 86400000 / 7) + 1;
  return `${thursday.getUTCFullYear()}-W${String(w).padStart(2, '0')}`;
};
const weeks = [];
for (let t = Date.UTC(year, 8, 1, 12); t < Date.UTC(year + 1, 6, 1); t += 86400000) {
  const d = new Date(t);
  if (d.getUTCDay() !== 3) continue; // each week by its Wednesday
  if (!holidays.some(([a, b]) => t >= a && t < b)) weeks.push(isoWeek(d));
}
if (!weeks.length) throw new Error('no school week found in the school year');
const order = studentTokens.map((t) => [random(), t]).sort((a, b) => a[0] - b[0]).map(([, t]) => t);
const s6 = order.flatMap((t) => [line('GET', `/api/calendar/timetable?week=${weeks[Math.floor(random() * weeks.length)]}`, t),
  line('GET', '/api/calendar/homework', t)]);

const s7 = studentTokens.flatMap((t) => [line('GET', '/api/messages?folder=inbox&limit=20', t),
  line('GET', '/api/messages/folders', t)]);
// Words of the generated mail (src/services/messagerie/generate.c), some in many mailboxes
// (contrôle, sortie), some in few (calculatrices, binôme); typed without accents half of the time.
const words = ['contrôle', 'controle', 'sortie', 'exposé', 'devoir', 'réunion', 'manuel', 'correction', 'salle',
  'calculatrices', 'binôme', 'absent', 'photo', 'conseil', 'merci', 'exercice', 'révision', 'musée'];
const s8 = order.map((t) => line('GET', `/api/messages/search?q=${encodeURIComponent(words[Math.floor(random() * words.length)])}&limit=20`, t));

for (const [name, list] of [['s1', s1], ['s2', s2], ['s3', s3], ['s4', s4], ['s5', s5], ['s6', s6], ['s7', s7], ['s8', s8]]) {
  writeFileSync(join(out, `${name}.txt`), list.join('\n') + '\n');
}
writeFileSync(join(out, 's4.grades'), String(gradesTotal / s4.length));
console.error(`prepare: ${studentTokens.length} students, ${teacherTokens.length} teachers, ${s4.length} grade entries ` +
  `(${(gradesTotal / s4.length).toFixed(1)} grades each), ${downloads.length} downloads, ${weeks.length} school weeks`);
