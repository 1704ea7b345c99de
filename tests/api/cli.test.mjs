// The command line: subcommands, --help, settings from flags, environment and *_FILE, and the
// one-line refusal of bad settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entRun, startEnt, api, PG_URL, freshPgDatabase } from './lib/ent.mjs';

const scratch = () => mkdtempSync(join(tmpdir(), 'ent-cli-'));

test('ent version prints the version', () => {
  const r = entRun(['version']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^ent \d+\.\d+\.\d+ \(commit \S+\)\n$/);
});

test('every subcommand has --help', () => {
  for (const cmd of ['serve', 'migrate', 'demo', 'config', 'routes', 'version']) {
    const r = entRun([cmd, '--help']);
    assert.equal(r.status, 0, cmd);
    assert.match(r.stdout, new RegExp(`Usage: ent ${cmd}`), cmd);
  }
  const all = entRun(['--help']);
  assert.equal(all.status, 0);
  for (const cmd of ['serve', 'migrate', 'demo', 'config', 'version']) assert.match(all.stdout, new RegExp(`\\b${cmd}\\b`));
  const serve = entRun(['serve', '--help']).stdout;
  for (const v of ['ENT_DATA', 'ENT_LISTEN', 'ENT_PUBLIC_URL', 'ENT_SERVICES', 'ENT_DB', 'ENT_BLOB', 'ENT_BUS',
    'ENT_OIDC_ISSUER', 'ENT_LLM', 'ENT_VECTORS', 'ENT_EMBED_MODEL'])
    assert.match(serve, new RegExp(v), `${v} is documented in --help`);
});

test('an unknown command or argument is refused', () => {
  let r = entRun(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command/);
  r = entRun(['config', '--no-such-flag']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown argument/);
});

test('ent config prints every setting, flags over environment, secrets masked', () => {
  const r = entRun(['config', '--listen', '127.0.0.1:9999', '--db', 'postgresql://ent:hunter2hunter2@db:5432/ent'],
    { env: { ENT_LISTEN: '0.0.0.0:1', ENT_BUS: 'amqp://guest:guestpass@mq:5672/ent' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ENT_LISTEN=127\.0\.0\.1:9999$/m);
  assert.match(r.stdout, /^ENT_DB=postgresql:\/\/ent:\*\*\*@db:5432\/ent$/m);
  assert.match(r.stdout, /^ENT_BUS=amqp:\/\/guest:\*\*\*@mq:5672\/ent$/m);
  assert.ok(!r.stdout.includes('hunter2') && !r.stdout.includes('guestpass'));
  for (const v of ['ENT_DATA', 'ENT_PUBLIC_URL', 'ENT_SERVICES', 'ENT_BLOB', 'ENT_OIDC_ISSUER', 'ENT_LLM', 'ENT_VECTORS'])
    assert.match(r.stdout, new RegExp(`^${v}=`, 'm'));
});

test('a setting can come from a *_FILE (Docker secrets)', () => {
  const dir = scratch();
  writeFileSync(join(dir, 'db'), 'postgresql://ent:fromfile@db:5432/ent\n');
  const r = entRun(['config'], { env: { ENT_DB_FILE: join(dir, 'db') } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ENT_DB=postgresql:\/\/ent:\*\*\*@db:5432\/ent$/m);
  const missing = entRun(['config'], { env: { ENT_DB_FILE: join(dir, 'absent') } });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /ENT_DB_FILE/);
  rmSync(dir, { recursive: true });
});

const badSettings = [
  [['--services', 'core,nosuch'], /ENT_SERVICES \(--services\).*unknown service "nosuch"/],
  [['--db', 'mysql://x/y'], /ENT_DB \(--db\)/],
  [['--db', 'postgresql://'], /ENT_DB \(--db\)/],
  [['--blob', 'ftp://x'], /ENT_BLOB \(--blob\)/],
  [['--bus', 'kafka://x'], /ENT_BUS \(--bus\)/],
  [['--listen', 'localhost'], /ENT_LISTEN \(--listen\)/],
  [['--listen', '127.0.0.1:99999'], /ENT_LISTEN \(--listen\)/],
  [['--public-url', 'ftp://x'], /ENT_PUBLIC_URL \(--public-url\)/],
  [['--issuer', 'not a url'], /ENT_OIDC_ISSUER \(--issuer\)/],
  [['--llm', 'gpt://x'], /ENT_LLM \(--llm\)/],
  [['--vectors', 'pinecone://x'], /ENT_VECTORS \(--vectors\)/],
  [['--llm', 'ollama://localhost:11434'], /ENT_LLM \(--llm\).*model=NAME/],
  [['--vectors', 'qdrant://localhost:6333'], /ENT_VECTORS \(--vectors\).*Ollama for embeddings/],
  [['--embed-model', 'ollama://localhost:11434'], /ENT_EMBED_MODEL \(--embed-model\)/],
  [['--embed-model', 'a model'], /ENT_EMBED_MODEL \(--embed-model\)/],
];

for (const [args, message] of badSettings) {
  test(`ent serve ${args.join(' ')} stops with one line naming the setting`, () => {
    const dir = scratch();
    const r = entRun(['serve', '--data', dir, ...args]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    rmSync(dir, { recursive: true });
  });
}

test('a port in use stops ent serve with a line naming ENT_LISTEN', async () => {
  const blocker = createServer();
  await new Promise((res) => blocker.listen(0, '127.0.0.1', res));
  const port = blocker.address().port;
  const dir = scratch();
  const r = entRun(['serve', '--data', dir, '--listen', `127.0.0.1:${port}`]);
  blocker.close();
  assert.equal(r.status, 1);
  assert.match(r.stderr, /ENT_LISTEN \(--listen\).*in use/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  rmSync(dir, { recursive: true });
});

test('an unreachable database stops ent serve with a line naming ENT_DB', () => {
  const dir = scratch();
  const r = entRun(['serve', '--data', dir, '--db', 'postgresql://ent:pw@127.0.0.1:1/ent']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^ent: ENT_DB \(--db\): "postgresql:\/\/ent:\*\*\*@127\.0\.0\.1:1\/ent": /);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  const bad = entRun(['serve', '--data', dir, '--db', `sqlite:${dir}/no/such/dir/x.db/`]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /ENT_DB/);
  rmSync(dir, { recursive: true });
});

test('ent migrate is idempotent; ent demo runs; both report', () => {
  const dir = scratch();
  let pg = null;
  const env = { ENT_DATA: dir };
  if (PG_URL) { pg = freshPgDatabase(); env.ENT_DB = pg.url; }
  try {
    const first = entRun(['migrate'], { env });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /database is up to date/);
    const second = entRun(['migrate'], { env });
    assert.equal(second.status, 0, second.stderr);
    assert.ok(!/applied/.test(second.stdout), 'nothing applied the second time');
    const demo = entRun(['demo'], { env });
    assert.equal(demo.status, 0, demo.stderr);
    assert.equal(entRun(['demo'], { env }).status, 0);
  } finally {
    if (pg) pg.drop();
    rmSync(dir, { recursive: true });
  }
});

test('ent serve --services core runs only the core; SIGTERM stops it cleanly', async () => {
  const ent = await startEnt({ args: ['--services', 'core'] });
  const r = await api(ent, '/health');
  assert.deepEqual(r.json.services, ['core']);
  const e = await ent.stop();
  assert.equal(e.code, 0, ent.stderr.slice(-3000));
});
