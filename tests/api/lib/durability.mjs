// Helpers of the kill -9 tests (durability.test.mjs, fichiers-durability.test.mjs).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Runs `writers` concurrent loops of `write(w, i)` (i = 0 .. max-1) against ent and kills the
 * process with SIGKILL the moment `target` writes have been acknowledged (write resolves true),
 * so that the other writers' requests are in flight. A write that throws (connection refused or
 * reset: the process is gone) ends its loop. If the loops end before the target, the process is
 * killed then. Resolves with the number of acknowledged writes once every loop has stopped and
 * the process is dead (its data kept: start it with keepData).
 */
export async function killMidStream(ent, { writers, max, target, write }) {
  let acked = 0;
  let killed = false;
  const kill = () => {
    if (!killed) {
      killed = true;
      ent.child.kill('SIGKILL');
    }
  };
  const loop = async (w) => {
    for (let i = 0; i < max && !killed; i++) {
      let ok;
      try {
        ok = await write(w, i);
      } catch {
        return;
      }
      if (ok && ++acked >= target) kill();
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => loop(w)));
  kill();
  const e = await ent.stop();
  assert.equal(e.signal, 'SIGKILL', `the process was killed, not ended otherwise: ${ent.stderr.slice(-2000)}`);
  return acked;
}

/** On SQLite (pg null), asserts PRAGMA integrity_check of DATADIR/ent.db says ok. */
export function sqliteIntact(pg, dataDir) {
  if (pg) return;
  const check = spawnSync('sqlite3', [join(dataDir, 'ent.db'), 'PRAGMA integrity_check'], { encoding: 'utf8' });
  assert.equal(check.stdout.trim(), 'ok', check.stderr);
}
