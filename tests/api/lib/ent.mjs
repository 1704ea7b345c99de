// Test harness: starts the real `ent` binary on a free port with a fresh data directory (and, when
// ENT_TEST_PG_URL is set, a fresh PostgreSQL database), and talks HTTP to it.
//
// External mode (ENT_TEST_URL set): nothing is started; the tests talk to that URL, e.g. the nginx
// gateway of a cluster (tests/services/cluster.sh). `ent` commands (`ent.run()`: user add, token…)
// run with the settings of the file ENT_TEST_ENV (KEY=VALUE lines: the cluster's ENT_DB, ENT_BUS,
// ENT_BLOB, ENT_DATA…), so that they reach the same database. When ENT_TEST_RESET is set, each
// startEnt() first runs that shell command, with the ENT_* settings the test asked for in its
// environment, to give it a fresh database and restarted servers with those settings (as a
// started ent would have); stop() then does nothing and reports a clean exit.
// A reset would pull the database from under a server a test still uses, and the cluster fixes
// some settings itself (its URL, database, bus, services). So a startEnt() made while the cluster's
// handle is in use (a test starting a second server), or asking for one of those settings, starts
// a private `ent serve` as in the normal mode instead, on a database of its own (a fresh database
// on the cluster's PostgreSQL server) and the local bus: what such a test checks is a setting, not
// the gateway.
// A test that checks one process itself (its HTTP parser, its log, a kill) asks for one with
// startEnt({ own: true }): in external mode, a private `ent serve` as above even when the cluster's
// handle is not in use; in the normal mode the option changes nothing. clusterProcess(handle, name)
// reaches one process of the cluster directly (ENT_TEST_PROCESSES: name=port pairs written by
// cluster.sh), for what the gateway does not promise (the counters of one process).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ENT_BIN = process.env.ENT_BIN || join(root, 'build', 'ent');
export const PG_URL = process.env.ENT_TEST_PG_URL || '';
export const TEST_URL = (process.env.ENT_TEST_URL || '').replace(/\/+$/, '');

/** The cluster's settings (ENT_TEST_ENV: KEY=VALUE lines), for `ent` commands in external mode. */
function externalEnv() {
  const out = {};
  if (!process.env.ENT_TEST_ENV) return out;
  for (const line of readFileSync(process.env.ENT_TEST_ENV, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}
// The tests read some settings from their own environment (ENT_BLOB, ENT_TEST_S3_DATA to count
// stored objects): in external mode they are the cluster's.
if (TEST_URL) {
  for (const [k, v] of Object.entries(externalEnv())) if (process.env[k] === undefined) process.env[k] = v;
}

/** Runs `ent ARGS` to completion. Returns {status, stdout, stderr}. */
export function entRun(args, { env = {}, input } = {}) {
  const r = spawnSync(ENT_BIN, args, { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 180000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function psql(url, sql) {
  const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** A fresh PostgreSQL database on the test server; returns {url, drop()}. */
export function freshPgDatabase(server = PG_URL) {
  const name = 'ent_t_' + randomBytes(6).toString('hex');
  psql(server, `CREATE DATABASE ${name}`);
  const u = new URL(server);
  u.pathname = '/' + name;
  return {
    url: u.toString(),
    name,
    drop() {
      try { psql(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } catch { /* already gone */ }
    },
  };
}

/** The PostgreSQL server the tests use: ENT_TEST_PG_URL, or in external mode the cluster's; '' on SQLite. */
export function pgServer() {
  if (PG_URL) return PG_URL;
  const url = TEST_URL ? externalEnv().ENT_DB || '' : '';
  return /^postgres(ql)?:/.test(url) ? url : '';
}

/** A fresh database on the tests' PostgreSQL server (see pgServer()); null on SQLite. */
export function freshDatabase() {
  const server = pgServer();
  return server ? freshPgDatabase(server) : null;
}

/** The kind of database a started server (or the cluster) uses, as /health names it. */
export function dbKind(ent) {
  return /^postgres(ql)?:/.test(ent.env.ENT_DB || '') ? 'postgresql' : 'sqlite';
}

/** A free loopback port (bound then released: another process could take it, so callers retry). */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

/**
 * Starts `ent serve` and waits until /health answers. Returns a handle with url, port, dataDir,
 * env, stderr (the log so far) and stop(), which sends SIGTERM and resolves with the exit code.
 */
export async function startEnt(opts = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      if (attempt < 3 && /cannot listen/.test(String(e.message))) continue;
      throw e;
    }
  }
}

// Settings the cluster sets itself (tests/services/cluster.sh, OWN_SETTINGS).
const CLUSTER_SETTINGS = ['ENT_DB', 'ENT_BUS', 'ENT_BLOB', 'ENT_DATA', 'ENT_LISTEN', 'ENT_PUBLIC_URL', 'ENT_SERVICES', 'ENT_WEB'];
let externalInUse = false;

/** Whether a startEnt() in external mode must start a private server (see the top of this file). */
function needsPrivate({ env = {}, args = [], db, dataDir, own } = {}) {
  return externalInUse || own || args.length > 0 || db !== undefined || dataDir !== undefined ||
    CLUSTER_SETTINGS.some((k) => env[k] !== undefined);
}

/**
 * One process of the cluster behind the handle of startEnt() in external mode, reached directly
 * (not through the gateway): a handle with its url and the cluster's settings. name: auth, ...,
 * portal (split layout) or replica1... (replicas); see clusterProcesses(). Without a name, a process
 * running every service (portal, or the first replica).
 */
export function clusterProcess(ent, name) {
  const all = clusterProcesses();
  const p = name ? all.find((x) => x.name === name) : all.find((x) => x.name === 'portal') || all[0];
  if (!p) throw new Error(`the cluster has no process ${name} (ENT_TEST_PROCESSES)`);
  return { ...ent, url: p.url, port: p.port, process: name, stop: async () => ({ code: 0, signal: null }) };
}

/** The processes of the cluster (ENT_TEST_PROCESSES: "name=port,..."): [{name, port, url}]; [] otherwise. */
export function clusterProcesses() {
  const spec = TEST_URL ? externalEnv().ENT_TEST_PROCESSES || '' : '';
  return spec.split(',').filter(Boolean).map((x) => {
    const [name, port] = x.split('=');
    return { name, port: Number(port), url: `http://127.0.0.1:${port}` };
  });
}

/** External mode: a handle on the server at ENT_TEST_URL (see the top of this file). */
function startExternal({ env = {} } = {}) {
  if (process.env.ENT_TEST_RESET) {
    const asked = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('ENT_')));
    const r = spawnSync('sh', ['-c', process.env.ENT_TEST_RESET], {
      env: { ...process.env, ...asked }, encoding: 'utf8', timeout: 180000,
    });
    if (r.status !== 0) throw new Error(`ENT_TEST_RESET failed (${r.status}):\n${r.stdout}${r.stderr}`);
  }
  const fullEnv = { ...process.env, ...externalEnv(), ...env };
  const u = new URL(TEST_URL);
  const handle = {
    child: null, dataDir: fullEnv.ENT_DATA || '', env: fullEnv, stderr: '', pg: null, exited: null,
    port: Number(u.port) || 80, url: TEST_URL, external: true,
  };
  externalInUse = true;
  handle.stop = async () => { externalInUse = false; return { code: 0, signal: null }; };
  handle.run = (cmdArgs, opts2 = {}) => entRun(cmdArgs, { ...opts2, env: { ...fullEnv, ...(opts2.env || {}) } });
  return handle;
}

async function startOnce(opts = {}) {
  let privateDb = null;
  if (TEST_URL) {
    if (!needsPrivate(opts)) return startExternal(opts);
    // A private server: not the cluster's database, bus, data directory or URL.
    if (opts.db === undefined && !PG_URL) privateDb = freshDatabase();
    opts = { ...opts, env: { ENT_BUS: 'local', ...(opts.env || {}) }, private: true };
    if (privateDb) opts.db = privateDb.url;
  }
  const { env = {}, args = [], db, dataDir: givenDir, keepData } = opts;
  const dataDir = givenDir || mkdtempSync(join(tmpdir(), 'ent-test-'));
  const port = await freePort();
  let pg = null;
  const baseEnv = {
    ENT_DATA: dataDir,
    ENT_LISTEN: `127.0.0.1:${port}`,
    ENT_PUBLIC_URL: `http://127.0.0.1:${port}`,
    // A test that blocks in entRun() (spawnSync: `ent demo` hashes a password per account, near a
    // minute on a loaded machine) keeps fetch's pooled connections open without running its
    // timers; with the server's 60 s idle close, the next request could go out on a connection
    // the server had just closed ("fetch failed"). The server keeps them longer than a test runs.
    ENT_IDLE_TIMEOUT: '900',
  };
  if (db) baseEnv.ENT_DB = db;
  else if (PG_URL) { pg = freshPgDatabase(); baseEnv.ENT_DB = pg.url; }
  const fullEnv = { ...process.env, ...baseEnv, ...env };
  // A private server in external mode: the cluster's database only when asked for.
  if (opts.private && !db && !PG_URL && env.ENT_DB === undefined) delete fullEnv.ENT_DB;
  const child = spawn(ENT_BIN, ['serve', ...args], { env: fullEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  // pg: the server's own database, dropped at stop() (a private server's too, in external mode).
  const handle = { child, dataDir, env: fullEnv, stderr: '', pg: pg || privateDb, exited: null, port, url: `http://127.0.0.1:${port}` };
  child.stderr.setEncoding('utf8');
  const exited = new Promise((res) => child.on('exit', (code, signal) => { handle.exited = { code, signal }; res(handle.exited); }));
  let timer;
  await new Promise((res, rej) => {
    child.stderr.on('data', (chunk) => {
      handle.stderr += chunk;
      if (/listening on \S+ \(port \d+\)/.test(handle.stderr)) res();
    });
    exited.then((e) => rej(new Error(`ent exited (${e.code ?? e.signal}) before listening:\n${handle.stderr}`)));
    timer = setTimeout(() => rej(new Error(`ent did not start in 60 s:\n${handle.stderr}`)), 60000);
  }).finally(() => clearTimeout(timer));
  handle.stop = async () => {
    if (!handle.exited) child.kill('SIGTERM');
    const e = await exited;
    if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    if (pg && !keepData) pg.drop();
    if (privateDb && !keepData) privateDb.drop();
    return e;
  };
  /** Runs an `ent` command with this server's settings. */
  handle.run = (cmdArgs, opts2 = {}) => entRun(cmdArgs, { ...opts2, env: { ...fullEnv, ...(opts2.env || {}) } });
  return handle;
}

/** fetch() against the server, with the JSON body parsed when the answer is JSON. */
/*
 * n random bytes for an upload that must be accepted: the first byte is 0, so the data never starts
 * like a program ("MZ", about 1 chance in 65,536 for random bytes, "\x7fELF", "#!") and fichiers,
 * which refuses executables by their content, never takes it for one.
 */
export function noise(n) {
  const b = randomBytes(n);
  if (n > 0) b[0] = 0;
  return b;
}

export async function api(ent, path, { method = 'GET', headers = {}, body, raw } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = raw ? body : JSON.stringify(body);
    if (!raw && !init.headers['Content-Type']) init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(ent.url + path, init);
  // An event stream (SSE) never ends: keep its status and headers, drop the body.
  if ((res.headers.get('content-type') || '').startsWith('text/event-stream')) {
    await res.body.cancel();
    return { status: res.status, headers: res.headers, text: '', json: null };
  }
  const text = await res.text();
  let json = null;
  const ct = res.headers.get('content-type') || '';
  if (ct.includes('json')) json = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, json };
}

/** Asserts an RFC 9457 problem answer with the given status. */
export function assertProblem(assert, res, status) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  assert.equal(res.json.status, status);
  assert.equal(typeof res.json.title, 'string');
  assert.equal(typeof res.json.type, 'string');
  assert.equal(typeof res.json.detail, 'string');
}
