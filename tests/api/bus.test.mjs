// The event bus end to end: a teacher saves grades (notes publishes "note.published" through the
// outbox) and each student finds exactly one notification per evaluation (notifications consumes
// it). On the local backend, and on a real RabbitMQ when ENT_TEST_AMQP_URL is set (tests/run.sh
// starts one with tests/services/rabbitmq.sh; ENT_TEST_AMQP_DIR, the broker's directory, lets the
// tests halt and restart it):
//   - grade to notification, end to end;
//   - a stream of grades while the broker is restarted: every notification arrives, none twice;
//   - the process killed with SIGKILL between the commit and the delivery: the event is
//     delivered after the restart;
//   - an event published by a process without the consuming service, before any process of that
//     service ever started, is delivered when one starts (every process declares every queue).
// Each test on RabbitMQ gets a virtual host of its own, so that the queues of one test's server
// never hold events of another test's database.
//
// Waiting for a notification polls the API with a generous limit (a broker restart plus the
// reconnection backoff); reaching it fails the test, speed is not asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { startEnt, api, freshDatabase } from './lib/ent.mjs';
import { until, sleep } from './lib/school.mjs';

const PW = 'Correct-Horse-Battery-9';
const AMQP_URL = process.env.ENT_TEST_AMQP_URL || '';
const AMQP_DIR = process.env.ENT_TEST_AMQP_DIR || '';
const RABBITMQ_SH = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'services', 'rabbitmq.sh');
const WAIT_LIMIT_MS = 180000;
const noAmqp = AMQP_URL ? false : 'ENT_TEST_AMQP_URL is not set (tests/run.sh starts a RabbitMQ broker and sets it)';
const noBrokerDir = noAmqp || (AMQP_DIR ? false : 'ENT_TEST_AMQP_DIR is not set: the broker cannot be halted and restarted');

/** Runs tests/services/rabbitmq.sh VERB DIR [ARG] without blocking the event loop. */
function rabbitmq(verb, ...args) {
  return new Promise((res, rej) => {
    const p = spawn('bash', [RABBITMQ_SH, verb, AMQP_DIR, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => (code === 0 ? res(out.trim()) : rej(new Error(`rabbitmq.sh ${verb} failed (${code}): ${err}`))));
  });
}

/** A virtual host of its own on the test broker; its URL. */
async function freshVhost() {
  const name = 'ent_t_' + randomBytes(6).toString('hex');
  if (AMQP_DIR) return rabbitmq('vhost', name);
  return AMQP_URL; // no broker directory: share the default virtual host
}

/**
 * A school that outlives server restarts: its data directory (and PostgreSQL database when
 * the tests use PostgreSQL: ENT_TEST_PG_URL, or a cluster's) are kept until close().
 */
class School {
  constructor(env) {
    this.env = env;
    this.pg = freshDatabase(); // PostgreSQL when the tests use it (a cluster's too); null on SQLite
    this.dataDir = null;
    this.ent = null;
    this.tokens = new Map();
    this.logs = '';
  }

  async start(extraEnv = {}) {
    this.tokens.clear(); // a token is checked against the keys of the server that issued it
    this.ent = await startEnt({ env: { ...this.env, ...extraEnv }, db: this.pg ? this.pg.url : undefined,
      dataDir: this.dataDir || undefined, keepData: true });
    this.dataDir = this.ent.dataDir;
    return this.ent;
  }

  /** SIGTERM; asserts a clean exit. */
  async stop() {
    const e = await this.ent.stop();
    this.logs += this.ent.stderr;
    assert.equal(e.code, 0, this.ent.stderr.slice(-3000));
  }

  /** SIGKILL: no chance to finish anything. */
  async kill() {
    this.ent.child.kill('SIGKILL');
    const e = await this.ent.stop();
    this.logs += this.ent.stderr;
    assert.equal(e.signal, 'SIGKILL');
  }

  async close() {
    if (this.ent && !this.ent.exited) await this.stop();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
    if (this.pg) this.pg.drop();
  }

  addUser(email, name, role) {
    const r = this.ent.run(['user', 'add', '--email', email, '--name', name, '--role', role, '--password', PW]);
    assert.equal(r.status, 0, r.stderr);
    return { id: r.stdout.match(/([0-9a-f-]{36})\)/)[1], email };
  }

  token(user) {
    const t = this.tokens.get(user.email);
    if (t && Date.now() - t.at < 120000) return t.token;
    const r = this.ent.run(['token', user.email]);
    assert.equal(r.status, 0, r.stderr);
    this.tokens.set(user.email, { token: r.stdout.trim(), at: Date.now() });
    return r.stdout.trim();
  }

  as(user, path, opts = {}) {
    return api(this.ent, path, { ...opts, headers: { ...(opts.headers || {}), Authorization: `Bearer ${this.token(user)}` } });
  }

  /** Admin, teacher, one class of n students, a course for it and a period. */
  async populate(n) {
    const tag = randomBytes(3).toString('hex');
    this.admin = this.addUser(`admin.${tag}@bus.test`, 'Ada Admin', 'admin');
    this.teacher = this.addUser(`prof.${tag}@bus.test`, 'Paul Prof', 'enseignant');
    this.students = [];
    for (let i = 0; i < n; i++) this.students.push(this.addUser(`eleve${i}.${tag}@bus.test`, `Élève ${i}`, 'etudiant'));
    let r = await this.as(this.admin, '/api/users/classes', { method: 'POST', body: { name: `6e ${tag}` } });
    assert.equal(r.status, 201, r.text);
    const classId = r.json.id;
    // The teacher is assigned to the class by an administrator: only then may they link a course to it.
    for (const s of [...this.students, this.teacher]) {
      r = await this.as(this.admin, `/api/users/classes/${classId}/members/${s.id}`, { method: 'PUT' });
      assert.equal(r.status, 204, r.text);
    }
    r = await this.as(this.teacher, '/api/cours', { method: 'POST', body: { title: 'Mathématiques', subject: 'maths', class_ids: [classId] } });
    assert.equal(r.status, 201, r.text);
    this.courseId = r.json.id;
    r = await this.as(this.admin, '/api/notes/periods', { method: 'POST',
      body: { name: 'Trimestre 1', school_year: '2026-2027', starts_on: '2026-09-01', ends_on: '2026-12-20' } });
    assert.equal(r.status, 201, r.text);
    this.periodId = r.json.id;
    this.evaluations = [];
  }

  /** A published evaluation with a grade for every student; its id. */
  async gradeAll(k) {
    let r = await this.as(this.teacher, '/api/notes/evaluations', { method: 'POST',
      body: { course_id: this.courseId, period_id: this.periodId, title: `Contrôle n°${k}`, date: '2026-10-02', scale: 20 } });
    assert.equal(r.status, 201, r.text);
    const id = r.json.id;
    const grades = this.students.map((s, i) => ({ student_id: s.id, status: 'graded', value: (k + i) % 21 }));
    r = await this.as(this.teacher, `/api/notes/evaluations/${id}/grades`, { method: 'PUT', body: { grades } });
    assert.equal(r.status, 200, r.text);
    this.evaluations.push(id);
    return id;
  }

  /** The student's notifications about grades, as a map evaluation id -> count. */
  async received(student) {
    const r = await this.as(student, '/api/notifications?limit=100');
    assert.equal(r.status, 200, r.text);
    const counts = new Map();
    for (const n of r.json.items) {
      if (n.type !== 'note.published') continue;
      const e = n.data && n.data.evaluation_id;
      counts.set(e, (counts.get(e) || 0) + 1);
    }
    return { counts, items: r.json.items };
  }

  /** Waits until every student has a notification for every evaluation graded so far. */
  async waitAllDelivered() {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    for (;;) {
      let missing = 0;
      for (const s of this.students) {
        const { counts } = await this.received(s);
        for (const e of this.evaluations) if (!counts.has(e)) missing++;
      }
      if (missing === 0) return;
      if (Date.now() > deadline) assert.fail(`${missing} notifications still missing after ${WAIT_LIMIT_MS / 1000} s`);
      await sleep(250);
    }
  }

  /** Every student has exactly one notification per evaluation, and nothing else about grades. */
  async assertExactlyOnce() {
    for (const s of this.students) {
      const { counts } = await this.received(s);
      for (const e of this.evaluations) assert.equal(counts.get(e), 1, `student ${s.email}, evaluation ${e}`);
      assert.equal(counts.size, this.evaluations.length, `student ${s.email}: no notification for another evaluation`);
    }
  }

  /** Grade events not relayed to a broker (on the local backend: all), read from the database. */
  unrelayed() {
    const sql = "SELECT COUNT(*) FROM bus_outbox WHERE type = 'note.published' AND relayed_at IS NULL";
    const r = this.pg
      ? spawnSync('psql', [this.pg.url, '-qAtc', sql], { encoding: 'utf8' })
      : spawnSync('sqlite3', [join(this.dataDir, 'ent.db'), sql], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return Number(r.stdout.trim());
  }

  /** Error lines of every server run of this school (none expected). */
  errors() {
    return this.logs.split('\n').filter((l) => l.includes('"level":"error"'));
  }
}

// ---- local backend ----

test('local: grades become one notification per student, with the contract\'s fields', async () => {
  const school = new School({ ENT_BUS: 'local' });
  try {
    await school.start();
    await school.populate(3);
    const e = await school.gradeAll(3);
    await school.waitAllDelivered();
    await school.assertExactlyOnce();
    const { items } = await school.received(school.students[0]);
    const n = items.find((x) => x.data && x.data.evaluation_id === e);
    assert.equal(n.type, 'note.published');
    assert.match(n.title, /Mathématiques/);
    assert.match(n.body, /Contrôle n°3/);
    assert.equal(n.link, '/notes');
    assert.equal(n.data.course_id, school.courseId);
    assert.equal(n.read_at, null);
    // The teacher, who graded, is not notified.
    const t = await school.as(school.teacher, '/api/notifications');
    assert.deepEqual(t.json.items.filter((x) => x.type === 'note.published'), []);
    await school.stop();
    assert.deepEqual(school.errors(), []);
  } finally {
    await school.close();
  }
});

test('local: a process killed with SIGKILL between the commit and the delivery delivers after the restart', async () => {
  const school = new School({ ENT_BUS: 'local' });
  try {
    await school.start();
    await school.populate(2);
    await school.stop();
    // A process without the consuming service: the event is committed with the grades and cannot
    // be delivered before the kill, whatever the timing.
    await school.start({ ENT_SERVICES: 'users,fichiers,cours,notes,auth' });
    await school.gradeAll(1);
    assert.equal(school.unrelayed(), 1);
    await school.kill();
    // The whole application again: the dispatcher finds the event in the outbox.
    await school.start();
    await school.waitAllDelivered();
    await school.assertExactlyOnce();
    // A second restart delivers nothing twice.
    await school.stop();
    await school.start();
    await school.gradeAll(2);
    await school.waitAllDelivered();
    await school.assertExactlyOnce();
    await school.stop();
    assert.deepEqual(school.errors(), []);
  } finally {
    await school.close();
  }
});

// ---- RabbitMQ ----

test('amqp: grades become one notification per student through RabbitMQ', { skip: noAmqp }, async () => {
  const school = new School({ ENT_BUS: await freshVhost() });
  try {
    await school.start();
    await school.populate(4);
    for (let k = 1; k <= 3; k++) await school.gradeAll(k);
    await school.waitAllDelivered();
    await school.assertExactlyOnce();
    // Everything was confirmed by the broker and marked relayed.
    const deadline = Date.now() + WAIT_LIMIT_MS;
    while (school.unrelayed() > 0 && Date.now() < deadline) await sleep(250);
    assert.equal(school.unrelayed(), 0);
    await school.stop();
    assert.match(school.logs, /bus: relay: connected to RabbitMQ/);
    assert.match(school.logs, /bus: notifications: connected to RabbitMQ/);
    assert.deepEqual(school.errors(), []);
  } finally {
    await school.close();
  }
});

test('amqp: an event published before its consuming service first started waits in its queue and is delivered when it starts', { skip: noAmqp }, async () => {
  const school = new School({ ENT_BUS: await freshVhost() });
  try {
    // A virtual host where no process ever ran the notifications service: only the producer's
    // process, which declares every service's queue at its bus start, has been there.
    await school.start({ ENT_SERVICES: 'users,fichiers,cours,notes,auth' });
    await school.populate(3);
    await school.gradeAll(1);
    await school.gradeAll(2);
    // The broker confirmed both events (relayed), with no consumer connected anywhere.
    const deadline = Date.now() + WAIT_LIMIT_MS;
    while (school.unrelayed() > 0 && Date.now() < deadline) await sleep(100);
    assert.equal(school.unrelayed(), 0);
    await school.stop();
    assert.doesNotMatch(school.logs, /no queue is bound/);
    // The consumer's process starts for the first time, running that service alone.
    await school.start({ ENT_SERVICES: 'notifications' });
    await school.waitAllDelivered();
    await school.assertExactlyOnce();
    await school.stop();
    assert.deepEqual(school.errors(), []);
  } finally {
    await school.close();
  }
});

test('amqp: RabbitMQ restarted in the middle of a stream of grades: every notification arrives, none twice', { skip: noBrokerDir }, async () => {
  const school = new School({ ENT_BUS: await freshVhost() });
  try {
    await school.start();
    await school.populate(5);
    let k = 0;
    while (k < 4) await school.gradeAll(++k);
    // The broker goes down and comes back while grades go on: some events are relayed before,
    // some wait in the outbox, some may be published but never confirmed (then published again).
    let restarted = false;
    const restart = rabbitmq('restart').then(() => { restarted = true; });
    while (!restarted && k < 40) {
      await school.gradeAll(++k);
      await sleep(300);
    }
    await restart;
    assert.ok(k > 4, 'grades were saved while the broker restarted');
    for (let i = 0; i < 4; i++) await school.gradeAll(++k);
    await school.waitAllDelivered();
    await school.assertExactlyOnce();
    assert.equal(school.evaluations.length, k);
    await school.stop();
    assert.match(school.logs, /RabbitMQ unavailable/);
    assert.deepEqual(school.errors(), []);
  } finally {
    await school.close();
  }
});

test('amqp: a process killed with SIGKILL before the broker got the event delivers it after the restart', { skip: noBrokerDir }, async () => {
  const school = new School({ ENT_BUS: await freshVhost() });
  let halted = false;
  try {
    await school.start();
    await school.populate(3);
    await school.gradeAll(1);
    await school.waitAllDelivered();
    // The relay marks an event relayed when the broker confirms it, which may come after the
    // delivery: waited for, so that the count below is the second grade's event alone.
    assert.ok(await until(() => school.unrelayed() === 0, 100, 100), 'the first event is marked relayed');
    // Broker down: the grade commits, its event waits in the outbox; then the process dies.
    await rabbitmq('halt');
    halted = true;
    await school.gradeAll(2);
    assert.equal(school.unrelayed(), 1);
    await school.kill();
    await rabbitmq('start');
    halted = false;
    await school.start();
    await school.waitAllDelivered();
    await school.assertExactlyOnce();
    await school.stop();
    assert.deepEqual(school.errors(), []);
  } finally {
    if (halted) await rabbitmq('start');
    await school.close();
  }
});

test('amqp: the server starts while the broker is down and catches up when it comes back', { skip: noBrokerDir }, async () => {
  const school = new School({ ENT_BUS: await freshVhost() });
  let halted = false;
  try {
    await school.start();
    await school.populate(2);
    await school.stop();
    await rabbitmq('halt');
    halted = true;
    await school.start(); // an unreachable broker is not a reason to refuse to start
    await school.gradeAll(1);
    const h = await api(school.ent, '/health');
    assert.equal(h.status, 200, h.text);
    assert.equal(school.unrelayed(), 1);
    await rabbitmq('start');
    halted = false;
    await school.waitAllDelivered();
    await school.assertExactlyOnce();
    await school.stop();
    assert.deepEqual(school.errors(), []);
  } finally {
    if (halted) await rabbitmq('start');
    await school.close();
  }
});
