// Faults of the production layout, under a bounded load through the gateway (issue 19, item 4):
// tests/services/cluster.sh starts the seed's layout (PostgreSQL, RabbitMQ, S3, one ent per service
// under a supervisor loop, nginx), then:
//   - kill -9 of the support process: only /api/support fails while it is down (nginx's 502), the
//     supervisor starts it again, and every ticket whose creation was acknowledged is there;
//   - RabbitMQ restarted: every ticket created during the restart is acknowledged, and each one
//     gives its administrator exactly one notification (nothing lost, nothing doubled);
//   - PostgreSQL restarted: requests answer 503 while it is down, then succeed again with the same
//     ent processes (none restarted), and what was written before is still there.
// Run by tests/run.sh in its PostgreSQL phase. Every wait is bounded (until); no timing is asserted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLUSTER = join(root, 'tests', 'services', 'cluster.sh');
const dir = join(mkdtempSync(join(tmpdir(), 'ent-faults-')), 'c');
chmodSync(dirname(dir), 0o755); // the engines run as their own users and reach their directories
const log = join(dirname(dir), 'scripts.log');
/**
 * Runs one of the tests/services scripts and returns its standard output. Its standard error goes
 * to a file: the engines it starts keep what they inherit open, and a pipe would never end.
 */
function sh(script, ...args) {
  const fd = openSync(log, 'a');
  try {
    return execFileSync('bash', [script, ...args], { encoding: 'utf8', timeout: 300000, stdio: ['ignore', 'pipe', fd] }).trim();
  } catch (e) {
    throw new Error(`${script} ${args.join(' ')} failed: ${e.message}\n${readFileSync(log, 'utf8').slice(-3000)}`);
  } finally {
    closeSync(fd);
  }
}
const pidOf = (name) => Number(sh(CLUSTER, 'pid', dir, name));

let lib, s, url, until;
before(async () => {
  url = sh(CLUSTER, 'start', dir, 'split');
  // The API harness in external mode, on this cluster (read when the module loads).
  process.env.ENT_TEST_URL = url;
  process.env.ENT_TEST_ENV = join(dir, 'env');
  delete process.env.ENT_TEST_RESET;
  lib = await import('../api/lib/ent.mjs');
  let school;
  ({ school, until } = await import('../api/lib/school.mjs'));
  s = school(await lib.startEnt());
  s.add('admin', 'admin.faults@test.ent', 'Ada Admin', 'admin');
  s.add('alice', 'alice.faults@test.ent', 'Alice Alpha', 'etudiant');
  s.add('bob', 'bob.faults@test.ent', 'Bob Beta', 'etudiant');
});
after(() => {
  try { sh(CLUSTER, 'stop', dir); } finally { rmSync(dirname(dir), { recursive: true, force: true }); }
});

const newTicket = (who, n) => s.as(who, '/api/support/tickets', {
  method: 'POST', body: { subject: `Demande ${n}`, description: 'Panne pendant la charge.', category: 'account' },
});
/** Requests of other services than support, as bob: each must succeed whatever happens to support. */
const others = [
  ['users', () => s.as('bob', '/api/users/me')],
  ['notifications', () => s.as('bob', '/api/notifications/unread-count')],
  ['messagerie', () => s.as('bob', '/api/messages/folders')],
  ['calendar', () => s.as('bob', '/api/calendar/homework')],
  ['notes', () => s.as('bob', '/api/notes/me')],
];

/**
 * Runs `during` while two loops load the gateway: alice creates tickets one after the other, bob
 * reads the other services. Stops both once `during` has resolved and `more` tickets were
 * acknowledged after it. Returns {acked: ids, failed: statuses of ticket creations, otherBad}.
 */
async function underLoad(during, { more = 3 } = {}) {
  const acked = [];
  const failed = [];
  const otherBad = [];
  let done = false;
  let after = -1;
  let n = 0;
  const writer = (async () => {
    while (!done) {
      let r;
      try { r = await newTicket('alice', n++); } catch (e) { failed.push(String(e.cause?.code || e.message)); continue; }
      if (r.status === 201) {
        acked.push(r.json.id);
        if (after >= 0 && acked.length - after >= more) done = true;
      } else failed.push(r.status);
    }
  })();
  const reader = (async () => {
    let i = 0;
    while (!done) {
      const [name, call] = others[i++ % others.length];
      let r;
      try { r = await call(); } catch (e) { otherBad.push(`${name}: ${e.cause?.code || e.message}`); continue; }
      if (r.status !== 200) otherBad.push(`${name}: ${r.status} ${r.text.slice(0, 120)}`);
    }
  })();
  try {
    await during(() => acked.length);
  } catch (e) {
    done = true; // the loops end before the test reports, so that nothing keeps running
    await Promise.allSettled([writer, reader]);
    throw e;
  } finally {
    after = acked.length;
  }
  // Bounded: the writer must get `more` acknowledgements within 60 s of the fault's end.
  const limit = setTimeout(() => { done = true; }, 60000);
  await Promise.all([writer, reader]);
  clearTimeout(limit);
  assert.ok(acked.length - after >= more, `tickets acknowledged after the fault: ${acked.length - after} (failures ${failed.slice(-5)})`);
  return { acked, failed, otherBad };
}

test('kill -9 of the support process under load: only support fails, it restarts, no acknowledged ticket is lost', async (t) => {
  const before = pidOf('support');
  const { acked, failed, otherBad } = await underLoad(async (count) => {
    assert.ok(await waitFor(() => count() >= 3), 'tickets before the kill');
    process.kill(before, 'SIGKILL');
    // The supervisor starts a new process; wait until it serves.
    assert.ok(await waitFor(() => { try { return pidOf('support') !== before; } catch { return false; } }), 'support restarted');
    assert.ok(await waitFor(async () => (await s.as('alice', '/api/support/tickets?limit=1')).status === 200), 'support answers again');
  });
  assert.notEqual(pidOf('support'), before);
  assert.deepEqual(otherBad, [], 'the other services answered throughout');
  // While support was down nginx answered 502 (connection refused); nothing else.
  for (const f of failed) assert.equal(f, 502, `a ticket creation failed with ${f}`);
  const mine = new Set();
  for (let off = 0; ; off += 100) {
    const page = await s.ok(s.as('alice', `/api/support/tickets?limit=100&offset=${off}`));
    for (const t of page.items) mine.add(t.id);
    if (page.items.length < 100) break;
  }
  for (const id of acked) assert.ok(mine.has(id), `acknowledged ticket ${id} is there`);
  t.diagnostic(`${acked.length} tickets acknowledged, ${failed.length} refused with 502 while support was down`);
});

test('RabbitMQ restarted under load: every ticket acknowledged, each told to the administrator exactly once', async (t) => {
  const { acked, failed, otherBad } = await underLoad(async (count) => {
    const start = count();
    assert.ok(await waitFor(() => count() >= start + 3), 'tickets before the restart');
    sh(join(root, 'tests', 'services', 'rabbitmq.sh'), 'restart', join(dir, 'amqp'));
  });
  assert.deepEqual(failed, [], 'the outbox keeps writes going while the broker is away');
  assert.deepEqual(otherBad, []);
  const told = async () => {
    const counts = new Map();
    for (let off = 0; ; off += 200) {
      const page = await s.ok(s.as('admin', `/api/notifications?limit=200&offset=${off}`));
      for (const n of page.items) if (n.type === 'support.updated') counts.set(n.data.ticket_id, (counts.get(n.data.ticket_id) || 0) + 1);
      if (page.items.length < 200) break;
    }
    return counts;
  };
  const all = await waitFor(async () => { const c = await told(); return acked.every((id) => c.has(id)) && c; }, 120);
  assert.ok(all, 'every ticket was told to the administrator');
  for (const id of acked) assert.equal(all.get(id), 1, `ticket ${id} told once`);
  t.diagnostic(`${acked.length} tickets acknowledged during the broker's restart, each notified once`);
});

test('PostgreSQL restarted: 503 while it is down, then the same processes serve again', async () => {
  const names = ['auth', 'users', 'support', 'notifications', 'portal'];
  const pids = Object.fromEntries(names.map((n) => [n, pidOf(n)]));
  const t = await s.ok(newTicket('alice', 'avant'), 201);
  const pg = join(dir, 'pg');
  s.token('alice');
  s.token('bob'); // fresh tokens: `ent token` needs the database
  sh(join(root, 'tests', 'services', 'postgres.sh'), 'halt', pg);
  try {
    for (const [name, call] of [['support', () => newTicket('alice', 'pendant')], ...others.slice(0, 3)]) {
      const r = await call();
      assert.equal(r.status, 503, `${name} while the database is down: ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(r.headers.get('content-type'), 'application/problem+json');
    }
  } finally {
    sh(join(root, 'tests', 'services', 'postgres.sh'), 'resume', pg);
  }
  assert.ok(await waitFor(async () => (await newTicket('alice', 'après')).status === 201), 'writes succeed again');
  for (const [, call] of others) assert.equal((await call()).status, 200);
  assert.equal((await s.ok(s.as('alice', `/api/support/tickets/${t.id}`))).id, t.id);
  for (const n of names) assert.equal(pidOf(n), pids[n], `${n} was not restarted`);
});

/** until() of the shared helpers, every 250 ms for at most `seconds`. */
const waitFor = (fn, seconds = 60) => until(fn, seconds * 4, 250);
