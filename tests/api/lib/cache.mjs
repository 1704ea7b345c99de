// The answer cache's trio (core/rcache.h) for cache.test.mjs, calendar-cache.test.mjs and
// messagerie-cache.test.mjs: processes sharing one database, A and C keeping an answer cache, R
// keeping none (ENT_CACHE_MB=0) as the reference; tokens made for A are accepted by all three (one
// issuer, as behind one gateway).
//
//   const t = await cacheTrio();          // { A, C, R } (C: null with { withC: false })
//   await t.hits(t.A);                    // A's cache hits so far; t.bytes(t.A) the bytes its cache holds
//   await t.stop();                       // stops the three, asserting clean exits
//
// External mode (ENT_TEST_URL, a cluster of tests/services/cluster.sh, reset first):
// - split layout: A is the gateway, so that reads and writes go through nginx to the services'
//   processes; its hits are the sum over the cluster's processes (read from each one directly:
//   one process serves each route, so every hit of A's requests is counted once). C and R are
//   private processes on the cluster's database and bus.
// - replicas layout: a round-robin promises no hit for a second read (it may go to another
//   replica), so A and C are two of the replicas reached directly, R a private process on the
//   cluster's database and bus.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startEnt, clusterProcess, clusterProcesses, TEST_URL } from './ent.mjs';

/** One figure of one process's /metrics: its cache hits (ent_cache_requests_total{outcome="hit"}) or bytes (ent_cache_bytes). */
const FIGURES = { hits: /ent_cache_requests_total\{outcome="hit"\} (\d+)/, bytes: /ent_cache_bytes (\d+)/ };
async function processFigure(url, what) {
  const m = (await (await fetch(`${url}/metrics`)).text()).match(FIGURES[what]);
  assert.ok(m, `${url}/metrics has the cache's ${what}`);
  return Number(m[1]);
}

export async function cacheTrio({ withC = true } = {}) {
  const A0 = await startEnt({ keepData: true });
  let A = A0;
  let C = null;
  const replicas = A0.external && process.env.ENT_TEST_LAYOUT === 'replicas';
  if (replicas) {
    A = clusterProcess(A0, 'replica1');
    if (withC) C = clusterProcess(A0, 'replica2');
  }
  // The others on A's database (and in external mode the cluster's bus): private servers.
  const shared = { dataDir: A0.dataDir, db: A0.env.ENT_DB, keepData: true };
  const env = { ENT_PUBLIC_URL: A0.env.ENT_PUBLIC_URL, ...(A0.external ? { ENT_BUS: A0.env.ENT_BUS } : {}) };
  if (withC && !C) C = await startEnt({ ...shared, env });
  const R = await startEnt({ ...shared, env: { ...env, ENT_CACHE_MB: '0' } });
  async function figure(proc, what) {
    if (proc === A0 && A0.external && TEST_URL) {
      let n = 0;
      for (const p of clusterProcesses()) n += await processFigure(p.url, what);
      return n;
    }
    return processFigure(proc.url, what);
  }
  return {
    A, C, R,
    /** The cache hits of proc so far (the gateway's: the sum over the cluster's processes). */
    hits: (proc) => figure(proc, 'hits'),
    /** The bytes proc's cache holds (the gateway's: the sum over the cluster's processes). */
    bytes: (proc) => figure(proc, 'bytes'),
    async stop() {
      for (const p of [C, R, A0]) {
        if (!p || (p !== A0 && p.external)) continue; // a replica: the cluster's, stopped with it
        const e = await p.stop();
        assert.equal(e.code, 0, `ent must exit cleanly:\n${p.stderr.slice(-3000)}`);
      }
      if (!A0.external) {
        rmSync(A0.dataDir, { recursive: true, force: true });
        if (A0.pg) A0.pg.drop();
      }
    },
  };
}
