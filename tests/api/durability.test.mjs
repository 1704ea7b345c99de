// SECURITY.md, Durability: kill -9 in the middle of a stream of writes of each kind; after a
// restart every write that was answered 2xx is there, a write that was not answered is there
// whole or not at all, and the database is intact (SQLite's integrity_check). Account creations,
// grade entry (a class's batch on an evaluation) and CSV imports here; uploads in
// fichiers-durability.test.mjs, which tests/run.sh also runs on the S3 blob store.
//
// No timing: the server is killed the moment the Nth write is acknowledged, while the other
// writers' requests are in flight; every loop is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startEnt, api, freshDatabase } from './lib/ent.mjs';
import { killMidStream, sqliteIntact } from './lib/durability.mjs';

const PW = 'Correct-Horse-Battery-9';
// These tests kill the process they started: through a cluster (ENT_TEST_URL), a process of their
// own (startEnt's `own`) on a database of the cluster's PostgreSQL server (and its blob store).

/** A server whose data (directory, PostgreSQL database) outlives a kill -9, and its admin. */
async function crashableSchool() {
  const pg = freshDatabase();
  const db = pg ? pg.url : undefined;
  const s = { pg, db, ent: await startEnt({ db, own: true, keepData: true }) };
  s.dataDir = s.ent.dataDir;
  const add = (email, name, role) => {
    const r = s.ent.run(['user', 'add', '--email', email, '--name', name, '--role', role, '--password', PW]);
    assert.equal(r.status, 0, r.stderr);
    return { id: r.stdout.match(/([0-9a-f-]{36})\)/)[1], email };
  };
  s.add = add;
  s.auth = (u) => ({ Authorization: `Bearer ${s.ent.run(['token', u.email]).stdout.trim()}` });
  s.admin = add('root@t.local', 'Root Admin', 'admin');
  /** After the kill: the database is intact, and the server starts again on the same data. */
  s.restart = async () => {
    sqliteIntact(s.pg, s.dataDir);
    s.ent = await startEnt({ db, dataDir: s.dataDir, own: true, keepData: true });
  };
  s.close = async () => {
    try {
      if (s.ent && !s.ent.exited) {
        const e = await s.ent.stop();
        assert.equal(e.code, 0, s.ent.stderr.slice(-2000));
      }
    } finally {
      const { rmSync } = await import('node:fs');
      rmSync(s.dataDir, { recursive: true, force: true });
      if (pg) pg.drop();
    }
  };
  return s;
}

test('every account creation answered 2xx survives kill -9; the database is intact', async () => {
  const s = await crashableSchool();
  try {
    const auth = s.auth(s.admin);
    const acknowledged = [];
    const acked = await killMidStream(s.ent, { writers: 4, max: 500, target: 40, write: async (w, i) => {
      const r = await api(s.ent, '/api/users', { method: 'POST', headers: auth,
        body: { email: `w${w}.${i}@t.local`, given_name: 'W', family_name: `${w}-${i}`, role: 'etudiant' } });
      if (r.status === 201) acknowledged.push(r.json.id);
      return r.status === 201;
    } });
    assert.ok(acked >= 40, `writes were acknowledged before the kill (${acked})`);

    await s.restart();
    const admin = s.auth(s.admin);
    for (const id of acknowledged) {
      const r = await api(s.ent, `/api/users/${id}`, { headers: admin });
      assert.equal(r.status, 200, `acknowledged user ${id} is there after the restart`);
    }
  } finally {
    await s.close();
  }
});

test('grade entry: every batch answered 2xx survives kill -9, a batch in flight is there whole or not at all', async () => {
  const s = await crashableSchool();
  try {
    const N = 25;
    const teacher = s.add('prof@t.local', 'Paul Prof', 'enseignant');
    const students = [];
    for (let i = 0; i < N; i++) students.push(s.add(`eleve${i}@t.local`, `Élève ${String(i).padStart(2, '0')}`, 'etudiant'));
    const admin = s.auth(s.admin);
    const as = (who, path, opts = {}) => api(s.ent, path, { ...opts, headers: { ...who, ...(opts.headers || {}) } });
    let r = await as(admin, '/api/users/classes', { method: 'POST', body: { name: '6e A' } });
    assert.equal(r.status, 201, r.text);
    const classId = r.json.id;
    for (const u of [...students, teacher]) {
      r = await as(admin, `/api/users/classes/${classId}/members/${u.id}`, { method: 'PUT' });
      assert.equal(r.status, 204, r.text);
    }
    const prof = s.auth(teacher);
    r = await as(prof, '/api/cours', { method: 'POST', body: { title: 'Mathématiques', subject: 'maths', class_ids: [classId] } });
    assert.equal(r.status, 201, r.text);
    const courseId = r.json.id;
    r = await as(admin, '/api/notes/periods', { method: 'POST',
      body: { name: 'Trimestre 1', school_year: '2026-2027', starts_on: '2026-09-01', ends_on: '2026-12-20' } });
    assert.equal(r.status, 201, r.text);
    const periodId = r.json.id;
    // One evaluation per writer, published at once (every change then goes to the audit trail too).
    const WRITERS = 4;
    const evals = [];
    for (let w = 0; w < WRITERS; w++) {
      r = await as(prof, '/api/notes/evaluations', { method: 'POST',
        body: { course_id: courseId, period_id: periodId, title: `Contrôle ${w}`, date: '2026-10-02', scale: 20 } });
      assert.equal(r.status, 201, r.text);
      evals.push(r.json.id);
    }
    // Version k of evaluation w: every student's value and comment say k, so a batch is recognised whole.
    const value = (k, i) => (k * 7 + i * 3) % 21;
    const batch = (k) => students.map((u, i) => ({ student_id: u.id, status: 'graded', value: value(k, i), comment: `v${k}` }));
    const lastAcked = new Array(WRITERS).fill(-1);
    const lastSent = new Array(WRITERS).fill(-1);
    const acked = await killMidStream(s.ent, { writers: WRITERS, max: 400, target: 30, write: async (w, k) => {
      lastSent[w] = k;
      const res = await as(prof, `/api/notes/evaluations/${evals[w]}/grades`, { method: 'PUT', body: { grades: batch(k) } });
      if (res.status !== 200) return false;
      lastAcked[w] = k;
      return true;
    } });
    assert.ok(acked >= 30, `batches were acknowledged before the kill (${acked})`);

    await s.restart();
    const prof2 = s.auth(teacher);
    const card = await as(s.auth(students[0]), '/api/notes/me');
    assert.equal(card.status, 200, card.text);
    const lines = new Map(card.json.periods.flatMap((p) => p.subjects.flatMap((sub) => sub.evaluations)).map((e) => [e.id, e]));
    for (let w = 0; w < WRITERS; w++) {
      const g = await as(prof2, `/api/notes/evaluations/${evals[w]}/grades`);
      assert.equal(g.status, 200, g.text);
      const versions = new Set(g.json.items.map((x) => x.comment));
      if (versions.size === 0) {
        // No grade at all: allowed only when no batch of this writer was acknowledged (on a loaded
        // machine one writer may wait on the others' commits until the kill); its first batch was
        // then in flight and not committed.
        assert.equal(lastAcked[w], -1, `evaluation ${w}: batch ${lastAcked[w]} was acknowledged and is gone`);
        continue;
      }
      assert.equal(versions.size, 1, `evaluation ${w}: one batch whole, not a mix (${[...versions]})`);
      const k = Number([...versions][0].slice(1));
      // The last acknowledged batch, or the one in flight at the kill (committed, unanswered).
      assert.ok(k === lastAcked[w] || (k === lastSent[w] && k === lastAcked[w] + 1),
        `evaluation ${w}: version ${k}, last acknowledged ${lastAcked[w]}, last sent ${lastSent[w]}`);
      assert.equal(g.json.items.length, N);
      const byStudent = new Map(g.json.items.map((x) => [x.student_id, x]));
      students.forEach((u, i) => assert.equal(byStudent.get(u.id).value, value(k, i), `evaluation ${w}, student ${i}`));
      // The class figures stored with the batch are those of the same batch.
      const vals = students.map((_, i) => value(k, i));
      const line = lines.get(evals[w]);
      assert.equal(line.value, value(k, 0));
      assert.equal(line.min, Math.min(...vals));
      assert.equal(line.max, Math.max(...vals));
      assert.ok(Math.abs(line.class_average - vals.reduce((a, b) => a + b, 0) / N) < 0.006, `class average ${line.class_average}`);
    }
    // The server still takes a batch on every evaluation after the crash.
    for (let w = 0; w < WRITERS; w++) {
      const res = await as(prof2, `/api/notes/evaluations/${evals[w]}/grades`, { method: 'PUT', body: { grades: batch(1000) } });
      assert.equal(res.status, 200, res.text);
    }
  } finally {
    await s.close();
  }
});

test('CSV import: every import answered 2xx survives kill -9, an import in flight is there whole or not at all', async () => {
  const s = await crashableSchool();
  try {
    const LINES = 40;
    const auth = s.auth(s.admin);
    const sent = []; // {tag, acked}
    const acked = await killMidStream(s.ent, { writers: 3, max: 200, target: 12, write: async () => {
      const tag = `imp${randomBytes(4).toString('hex')}`;
      const one = { tag, acked: false };
      sent.push(one);
      let csv = 'email;given_name;family_name;role;class;external_id\r\n';
      for (let j = 0; j < LINES; j++) csv += `${tag}.${j}@t.local;Élève;${tag} ${j};etudiant;${tag};${tag}-${j}\r\n`;
      const r = await api(s.ent, '/api/users/import', { method: 'POST', raw: true, body: csv,
        headers: { ...auth, 'Content-Type': 'text/csv; charset=utf-8' } });
      if (r.status !== 200) return false;
      one.acked = true;
      one.created = r.json.created;
      return true;
    } });
    assert.ok(acked >= 12, `imports were acknowledged before the kill (${acked})`);
    assert.ok(sent.some((x) => !x.acked), 'some imports were in flight at the kill');

    await s.restart();
    const admin = s.auth(s.admin);
    const classes = await api(s.ent, '/api/users/classes?limit=500', { headers: admin });
    assert.equal(classes.status, 200, classes.text);
    const classNames = new Set(classes.json.items.map((c) => c.name));
    let inFlightPresent = 0;
    for (const { tag, acked: ok, created } of sent) {
      if (ok) assert.equal(created, LINES, `import ${tag} answered with every account created`);
      const r = await api(s.ent, `/api/users?q=${tag}&limit=500`, { headers: admin });
      assert.equal(r.status, 200, r.text);
      const n = r.json.items.length;
      if (ok) assert.equal(n, LINES, `acknowledged import ${tag}: ${n} of ${LINES} accounts`);
      else assert.ok(n === 0 || n === LINES, `import ${tag} in flight at the kill: ${n} of ${LINES} accounts, never part`);
      if (!ok && n) inFlightPresent++;
      assert.equal(classNames.has(tag), n === LINES, `class ${tag} exists with its accounts only`);
      for (const u of r.json.items) assert.equal(u.class && u.class.name, tag);
    }
    console.log(`# imports: ${acked} acknowledged, ${sent.length - acked} in flight (${inFlightPresent} of them committed)`);
  } finally {
    await s.close();
  }
});
