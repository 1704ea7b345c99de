// SECURITY.md, Durability: kill -9 in the middle of a stream of writes; after a restart every
// write that was answered 2xx is there, and the database is intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startEnt, api, PG_URL, freshPgDatabase } from './lib/ent.mjs';

test('every write answered 2xx survives kill -9; the database is intact', async () => {
  const pg = PG_URL ? freshPgDatabase() : null;
  const db = pg ? pg.url : undefined;
  let ent = await startEnt({ db, keepData: true });
  const dataDir = ent.dataDir;
  try {
    assert.equal(ent.run(['user', 'add', '--email', 'root@t.local', '--name', 'Root Admin', '--role', 'admin', '--password', 'Correct-Horse-Battery-9']).status, 0);
    const token = ent.run(['token', 'root@t.local']).stdout.trim();
    const auth = { Authorization: `Bearer ${token}` };
    const acknowledged = [];
    let stop = false;
    // Four concurrent writers until the process dies under them.
    const writer = async (w) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await api(ent, '/api/users', { method: 'POST', headers: auth,
            body: { email: `w${w}.${i}@t.local`, given_name: 'W', family_name: `${w}-${i}`, role: 'etudiant' } });
          if (r.status === 201) acknowledged.push(r.json.id);
        } catch { return; /* connection refused: the process is gone */ }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await new Promise((r) => setTimeout(r, 1500));
    ent.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await ent.stop();
    assert.ok(acknowledged.length > 10, `writes were acknowledged before the kill (${acknowledged.length})`);

    if (!pg) {
      const check = spawnSync('sqlite3', [join(dataDir, 'ent.db'), 'PRAGMA integrity_check'], { encoding: 'utf8' });
      assert.equal(check.stdout.trim(), 'ok', check.stderr);
    }
    ent = await startEnt({ db, dataDir, keepData: true });
    const admin = { Authorization: `Bearer ${ent.run(['token', 'root@t.local']).stdout.trim()}` };
    for (const id of acknowledged) {
      const r = await api(ent, `/api/users/${id}`, { headers: admin });
      assert.equal(r.status, 200, `acknowledged user ${id} is there after the restart`);
    }
  } finally {
    const e = await ent.stop();
    assert.equal(e.code, 0, ent.stderr.slice(-2000));
    spawnSync('rm', ['-rf', dataDir]);
    if (pg) pg.drop();
  }
});
