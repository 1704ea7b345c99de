// SECURITY.md, Durability, for uploads: kill -9 in the middle of a stream of uploads (raw and
// multipart/form-data), with one more upload stopped half-way through its body. After a restart
// every upload answered 201 is listed and downloads byte for byte (SHA-256), an upload in flight
// is listed complete or not at all, the half-sent one never, and the owner's usage is the sum of
// what is listed. The store is looked at too (ENT_DATA/blobs on file:, s3rver's objects when
// ENT_TEST_S3_DATA names them): every listed file has its object, and the objects the crash left
// behind (a temporary file, an object committed just before the kill whose row never was) are
// never shown and are removed: the temporary files when the store is opened, the objects once the
// crashed uploads' quota reservations have expired (set in the past here instead of waiting the
// hour).
//
// tests/run.sh runs this file on file: (SQLite, PostgreSQL) and on the S3 server (its name
// starts with fichiers). The other kinds of writes: durability.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startEnt, api, freshDatabase, noise } from './lib/ent.mjs';
import { killMidStream, sqliteIntact } from './lib/durability.mjs';
import { until } from './lib/school.mjs';

const PW = 'Correct-Horse-Battery-9';
// These tests kill the process they started: through a cluster (ENT_TEST_URL), a process of their
// own (startEnt's `own`) on a database of the cluster's PostgreSQL server (and its blob store).
const sha = (b) => createHash('sha256').update(b).digest('hex');
const S3 = !!process.env.ENT_BLOB && !process.env.ENT_BLOB.startsWith('file:');

/**
 * The committed objects of the store as a Set of keys ("fichiers/ID"), or null when the store
 * cannot be seen (S3 without ENT_TEST_S3_DATA). On S3 the bucket is shared by the test files:
 * compare two readings.
 */
function storeKeys(dataDir) {
  if (S3 && !process.env.ENT_TEST_S3_DATA) return null;
  const root = S3 ? join(process.env.ENT_TEST_S3_DATA, 'cours') : join(dataDir, 'blobs');
  const out = new Set();
  const walk = (d, rel) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!rel && e.name === '.tmp') continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else if (!S3) out.add(r);
      else if (e.name.endsWith('._S3rver_object')) out.add(r.slice(0, -'._S3rver_object'.length));
    }
  };
  walk(root, '');
  return out;
}
/** The temporary files of the file: store (uploads in progress), with their sizes. */
function tmpFiles(dataDir) {
  const d = join(dataDir, 'blobs', '.tmp');
  if (S3 || !existsSync(d)) return [];
  return readdirSync(d).map((n) => ({ path: join(d, n), size: statSync(join(d, n)).size }));
}

function sql(pg, dataDir, text) {
  const r = pg
    ? spawnSync('psql', [pg.url, '-v', 'ON_ERROR_STOP=1', '-qAtc', text], { encoding: 'utf8' })
    : spawnSync('sqlite3', [join(dataDir, 'ent.db'), text], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('every upload answered 201 survives kill -9 byte for byte; nothing partial is ever shown', async () => {
  const pg = freshDatabase();
  const db = pg ? pg.url : undefined;
  let ent = await startEnt({ db, own: true, keepData: true });
  const dataDir = ent.dataDir;
  try {
    const r0 = ent.run(['user', 'add', '--email', 'prof@t.local', '--name', 'Paul Prof', '--role', 'enseignant', '--password', PW]);
    assert.equal(r0.status, 0, r0.stderr);
    const tok = () => ent.run(['token', 'prof@t.local']).stdout.trim();
    const auth = { Authorization: `Bearer ${tok()}` };
    const before = storeKeys(dataDir);

    // One upload stopped half-way: headers and half its body sent, the rest never comes. On file:
    // its first bytes are in a temporary file before the others start.
    const HALF = 300000;
    const stalled = connect(ent.port, '127.0.0.1');
    stalled.on('error', () => {});
    await new Promise((res) => stalled.once('connect', res));
    stalled.write(`POST /api/fichiers?name=half.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth.Authorization}\r\n` +
      `Content-Type: application/octet-stream\r\nContent-Length: ${2 * HALF}\r\n\r\n`);
    stalled.write(noise(HALF));
    if (!S3) assert.ok(await until(() => tmpFiles(dataDir).some((f) => f.size > 0), 100, 50), 'the half-sent upload is being written');

    const sent = new Map(); // name -> {sha, size, id (when answered 201)}
    const acked = await killMidStream(ent, { writers: 4, max: 300, target: 30, write: async (w, i) => {
      const name = `w${w}-${i}.bin`;
      const body = noise(20000 + ((w * 7919 + i * 104729) % 400000));
      const one = { sha: sha(body), size: body.length, id: null };
      sent.set(name, one);
      let res;
      if (i % 2) {
        const fd = new FormData();
        fd.append('titre', 'ignoré');
        fd.append('file', new Blob([body]), name);
        res = await fetch(`${ent.url}/api/fichiers`, { method: 'POST', body: fd, headers: auth });
      } else {
        res = await fetch(`${ent.url}/api/fichiers?name=${name}`, { method: 'POST', body,
          headers: { ...auth, 'Content-Type': 'application/octet-stream' } });
      }
      const text = await res.text();
      if (res.status !== 201) return false;
      one.id = JSON.parse(text).id;
      return true;
    } });
    stalled.destroy();
    assert.ok(acked >= 30, `uploads were acknowledged before the kill (${acked})`);
    const leftTmp = tmpFiles(dataDir).length;
    if (!S3) assert.ok(leftTmp >= 1, 'the half-sent upload left its temporary file at the kill');
    // The temporary files of the crash look old, as after a long outage: the store's opening
    // removes those (a recent one may be another process's upload in progress).
    const old = Date.now() / 1000 - 3 * 3600;
    for (const f of tmpFiles(dataDir)) utimesSync(f.path, old, old);

    sqliteIntact(pg, dataDir);
    ent = await startEnt({ db, dataDir, own: true, keepData: true });
    const auth2 = { Authorization: `Bearer ${tok()}` };
    assert.deepEqual(tmpFiles(dataDir), [], 'the temporary files of the crash are gone');

    const list = await api(ent, '/api/fichiers?limit=500', { headers: auth2 });
    assert.equal(list.status, 200, list.text);
    const listed = new Map(list.json.items.map((f) => [f.name, f]));
    assert.ok(!listed.has('half.bin'), 'the half-sent upload is not listed');
    let inFlight = 0;
    for (const [name, one] of sent) {
      const f = listed.get(name);
      if (one.id) assert.ok(f && f.id === one.id, `acknowledged upload ${name} is listed`);
      if (!f) continue;
      if (!one.id) inFlight++;
      assert.equal(f.size, one.size, `${name}: whole`);
      assert.equal(f.sha256, one.sha, `${name}: the bytes sent`);
    }
    for (const name of listed.keys()) assert.ok(sent.has(name), `listed ${name} was sent`);
    // Every listed file downloads whole, its bytes those that were sent.
    for (const f of listed.values()) {
      const res = await fetch(`${ent.url}/api/fichiers/${f.id}/content`, { headers: auth2 });
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(body.length, f.size, `${f.name}: downloaded whole`);
      assert.equal(sha(body), f.sha256, `${f.name}: downloaded byte for byte`);
    }
    const usage = await api(ent, '/api/fichiers/usage', { headers: auth2 });
    assert.equal(usage.status, 200, usage.text);
    const total = [...listed.values()].reduce((a, f) => a + f.size, 0);
    assert.equal(usage.json.used, total, 'usage counts the listed files');
    console.log(`# uploads: ${acked} acknowledged, ${sent.size - acked} in flight at the kill (${inFlight} of them ` +
      `committed), ${leftTmp} temporary file(s) left by the crash`);

    const after = storeKeys(dataDir);
    if (after) {
      const mine = [...after].filter((k) => !before.has(k));
      const keys = new Set([...listed.values()].map((f) => `fichiers/${f.id}`));
      for (const k of keys) assert.ok(after.has(k), `${k} is in the store`);
      const orphans = mine.filter((k) => !keys.has(k));
      // An object committed just before the kill, whose row never was: its upload's reservation
      // still names it. Expired (set in the past), the sweeper deletes the object.
      sql(pg, dataDir, `UPDATE fichiers_reservations SET expires_at = ${Math.floor(Date.now() / 1000) - 7200}`);
      assert.ok(await until(() => {
        const now = storeKeys(dataDir);
        return orphans.every((k) => !now.has(k)) && [...keys].every((k) => now.has(k));
      }, 60, 250), `the crash's orphan objects are deleted: ${orphans}`);
      assert.equal((await api(ent, '/api/fichiers/usage', { headers: auth2 })).json.reserved, 0);
      console.log(`# store: ${orphans.length} object(s) committed without their row at the kill, deleted by the sweeper`);
    }
  } finally {
    const e = await ent.stop();
    assert.equal(e.code, 0, ent.stderr.slice(-2000));
    rmSync(dataDir, { recursive: true, force: true });
    if (pg) pg.drop();
  }
});
