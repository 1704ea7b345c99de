// deploy/: the Compose files, the Traefik and nginx routes, Prometheus, the Grafana dashboard and
// the Keycloak realm checked against each other and against what ent really serves. No Docker
// engine is needed: `docker-compose config` (Debian's docker-compose, when installed) or the YAML
// parser plus structural checks; promtool for Prometheus; a started ent for /metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, cpSync, rmSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import YAML from 'yaml';
import { startEnt, api, clusterProcess, TEST_URL } from './lib/ent.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const D = join(root, 'deploy');
const read = (p) => readFileSync(join(D, p), 'utf8');
const compose = YAML.parse(read('docker-compose.yml'), { merge: true });
const single = YAML.parse(read('docker-compose.single.yml'), { merge: true });
const realm = JSON.parse(read('keycloak/ent-realm.json'));
const dashboard = JSON.parse(read('grafana/provisioning/dashboards/microservices.json'));

// The seed's layout: container, `--services`, port, Traefik path prefixes.
const LAYOUT = [
  ['auth-service', 'auth', 8000, ['/api/auth', '/test-jwks']],
  ['user-service', 'users', 8001, ['/api/users']],
  ['service-cours', 'cours', 8002, ['/api/cours']],
  ['service-fichiers', 'fichiers', 8003, ['/api/fichiers']],
  ['notification-service', 'notifications', 8004, ['/api/notifications']],
  ['calendar-service', 'calendar', 8005, ['/api/calendar']],
  ['notes-service', 'notes', 8006, ['/api/notes']],
  ['support-service', 'support', 8008, ['/api/support']],
  ['chatbot-service', 'chatbot', 8082, ['/chatbot']],
  ['messagerie-service', 'messagerie', 8010, ['/api/messages']],
];
// Event streams (text/event-stream): unbuffered at both gateways, kept open.
const STREAMS = [['/api/notifications/stream', 'notifications'], ['/api/messages/stream', 'messagerie'], ['/chatbot/ask/stream', 'chatbot']];
const ENGINES = ['traefik', 'postgres', 'rabbitmq', 'minio', 'keycloak', 'keycloak-init', 'qdrant', 'ollama', 'prometheus', 'grafana', 'portal'];

const labels = (svc) => Object.fromEntries((compose.services[svc].labels || []).map((l) => {
  const i = l.indexOf('=');
  return [l.slice(0, i), l.slice(i + 1)];
}));
/** Every PathPrefix/Path of a Traefik rule. */
const rulePaths = (rule) => [...rule.matchAll(/(PathPrefix|Path)\(`([^`]+)`\)/g)].map((m) => m[2]);
const dynamic = YAML.parse(read('traefik/dynamic.yml'));
const traefikStatic = YAML.parse(read('traefik/traefik.yml'));

/**
 * nginx's locations of the template: { kind: '=' | '~' | '', path (a regular expression for '~'),
 * upstream, body } (body: the block's text).
 */
function nginxLocations() {
  const conf = read('nginx/ent.conf.template');
  return [...conf.matchAll(/location\s+(=\s+|~\s+)?([/^]\S*)\s*\{([^}]*)\}/g)].map((m) => ({
    kind: (m[1] || '').trim(), path: m[2], body: m[3], upstream: (/proxy_pass http:\/\/ent_(\w+);/.exec(m[3]) || [])[1],
  }));
}
/** The location nginx picks for a path: an exact match, else the first matching regular expression, else the longest prefix. */
function nginxPick(locs, path) {
  const exact = locs.find((l) => l.kind === '=' && l.path === path);
  if (exact) return exact;
  const re = locs.find((l) => l.kind === '~' && new RegExp(l.path).test(path));
  if (re) return re;
  return locs.filter((l) => !l.kind && path.startsWith(l.path)).sort((a, b) => b.path.length - a.path.length)[0];
}
/** A directive's value in a location block, else in the server block (nginx's inheritance). */
function nginxSetting(loc, name) {
  const m = new RegExp(`(?:^|\\n)\\s*${name}\\s+([^;]+);`).exec(loc.body);
  if (m) return m[1].trim();
  const server = read('nginx/ent.conf.template').replace(/location[^{]*\{[^}]*\}/g, '');
  const s = new RegExp(`(?:^|\\n)\\s*${name}\\s+([^;]+);`).exec(server);
  return s ? s[1].trim() : undefined;
}
/** nginx sizes and times in bytes and seconds. */
const bytes = (v) => Number(/^(\d+)([km]?)$/i.exec(v)[1]) * ({ '': 1, k: 1024, m: 1048576 })[/^(\d+)([km]?)$/i.exec(v)[2].toLowerCase()];
const seconds = (v) => { const m = /^(\d+)(s|m|h)?$/.exec(v); return Number(m[1]) * ({ s: 1, m: 60, h: 3600 })[m[2] || 's']; };
/**
 * Traefik's routers from the containers' labels: { name, container, rule, paths, service, middlewares,
 * priority, transport } (the service defaults to the container's only one).
 */
function traefikRouters() {
  const out = [];
  for (const c of Object.keys(compose.services)) {
    const l = labels(c);
    const services = Object.keys(l).map((k) => /^traefik\.http\.services\.([^.]+)\./.exec(k)?.[1]).filter(Boolean);
    for (const [k, rule] of Object.entries(l)) {
      const m = /^traefik\.http\.routers\.([^.]+)\.rule$/.exec(k);
      if (!m) continue;
      const r = m[1];
      const service = l[`traefik.http.routers.${r}.service`] || [...new Set(services)][0];
      out.push({
        name: r, container: c, rule, paths: rulePaths(rule), service,
        middlewares: (l[`traefik.http.routers.${r}.middlewares`] || '').split(',').filter(Boolean),
        priority: Number(l[`traefik.http.routers.${r}.priority`] || rule.length),
        transport: l[`traefik.http.services.${service}.loadbalancer.serverstransport`],
      });
    }
  }
  return out;
}
/** The router Traefik picks for a path: the matching rule of highest priority (by default its length). */
function traefikPick(routers, path) {
  const match = (r) => [...r.rule.matchAll(/(PathPrefix|PathRegexp|Path)\(`([^`]+)`\)/g)]
    .some(([, kind, p]) => (kind === 'Path' ? path === p : kind === 'PathRegexp' ? new RegExp(p.replace(/\$\$/g, '$')).test(path) : path.startsWith(p)));
  return routers.filter(match).sort((a, b) => b.priority - a.priority)[0];
}
const responseTimeout = (router) => seconds(String(router.transport
  ? dynamic.http.serversTransports[router.transport.replace(/@file$/, '')].forwardingTimeouts.responseHeaderTimeout
  : traefikStatic.serversTransport.forwardingTimeouts.responseHeaderTimeout));
const maxBody = (router) => {
  const b = router.middlewares.map((m) => dynamic.http.middlewares[m.replace(/@file$/, '')]?.buffering).find(Boolean);
  return b ? b.maxRequestBodyBytes : 0;
};

test('docker-compose config accepts both Compose files (when docker-compose is installed)', (t) => {
  const dc = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  if (dc.error || dc.status !== 0) { t.skip('docker-compose is not installed (apt-get install docker-compose)'); return; }
  // The secrets' files must exist for `config`: generate them in a copy of deploy/.
  const tmp = mkdtempSync(join(tmpdir(), 'ent-deploy-'));
  try {
    cpSync(D, join(tmp, 'deploy'), { recursive: true, filter: (p) => !/secrets\/.*\.(txt|conf)$/.test(p) });
    const g = spawnSync('bash', [join(tmp, 'deploy', 'secrets', 'generate.sh')], { encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
    for (const f of ['docker-compose.yml', 'docker-compose.single.yml']) {
      const r = spawnSync('docker-compose', ['-f', join(tmp, 'deploy', f), 'config', '-q'], { encoding: 'utf8', timeout: 60000 });
      assert.equal(r.status, 0, `${f}: ${r.stdout}${r.stderr}`);
    }
    const s = spawnSync('docker-compose', ['-f', join(tmp, 'deploy', 'docker-compose.yml'), 'config', '--services'], { encoding: 'utf8' });
    const names = s.stdout.trim().split('\n').sort();
    for (const n of [...LAYOUT.map((l) => l[0]), ...ENGINES]) assert.ok(names.includes(n), `docker-compose config lists ${n}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the Compose file: the seed\'s services on the seed\'s ports, from one image, with health checks, restart policies and secrets', () => {
  for (const n of [...LAYOUT.map((l) => l[0]), ...ENGINES]) assert.ok(compose.services[n], `service ${n}`);
  const image = compose.services['auth-service'].image;
  for (const [name, svc, port, prefixes] of LAYOUT) {
    const s = compose.services[name];
    assert.equal(s.image, image, `${name}: the same image`);
    assert.deepEqual(s.command, ['serve', '--services', svc, '--listen', `0.0.0.0:${port}`], name);
    assert.equal(s.environment.ENT_LISTEN, `0.0.0.0:${port}`);
    assert.equal(s.restart, 'unless-stopped');
    const l = labels(name);
    assert.equal(l['traefik.enable'], 'true');
    assert.equal(l[`traefik.http.services.${svc}.loadbalancer.server.port`], String(port), `${name}: Traefik's port`);
    assert.deepEqual(rulePaths(l[`traefik.http.routers.${svc}.rule`]).sort(), [...prefixes].sort(), `${name}: routes`);
    assert.match(l[`traefik.http.routers.${svc}.middlewares`], /security-headers@file/);
    assert.deepEqual(rulePaths(l[`traefik.http.routers.${svc}-metrics.rule`]), [`/metrics/${svc}`]);
    // Secrets only through *_FILE: no password in the environment.
    for (const [k, v] of Object.entries(s.environment)) {
      assert.ok(!/:\/\/[^/@]+:[^/@]+@/.test(String(v)), `${name}: ${k} carries a password`);
    }
    assert.ok(s.environment.ENT_DB_FILE && s.environment.ENT_BUS_FILE && s.environment.ENT_S3_SECRET_KEY_FILE, `${name}: *_FILE secrets`);
    for (const dep of ['postgres', 'rabbitmq', 'minio', 'keycloak']) assert.ok(s.depends_on[dep], `${name} waits for ${dep}`);
  }
  // The portal at /, below every other route.
  const p = labels('portal');
  assert.deepEqual(rulePaths(p['traefik.http.routers.portal.rule']), ['/']);
  assert.equal(p['traefik.http.routers.portal.priority'], '1');
  assert.deepEqual(rulePaths(labels('keycloak')['traefik.http.routers.keycloak.rule']), ['/realms/', '/resources/']);
  for (const n of ['postgres', 'rabbitmq', 'minio', 'keycloak', 'qdrant', 'ollama', 'prometheus', 'grafana', 'traefik']) {
    assert.ok(compose.services[n].healthcheck, `${n} has a health check`);
    assert.equal(compose.services[n].restart, 'unless-stopped', `${n} restarts`);
  }
  assert.equal(compose.services['keycloak-init'].restart, 'on-failure');
  assert.equal(compose.services.keycloak.depends_on['keycloak-init'].condition, 'service_completed_successfully');
  for (const v of ['postgres_data', 'minio_data', 'qdrant_data', 'ollama_data', 'rabbitmq_data']) assert.ok(v in compose.volumes, `volume ${v}`);
  for (const [name, s] of Object.entries(compose.secrets)) assert.match(s.file, /^\.\/secrets\//, `secret ${name}`);
  // The shared middlewares exist in the file provider.
  const dyn = YAML.parse(read('traefik/dynamic.yml'));
  assert.ok(dyn.http.middlewares['global-compress'].compress.excludedContentTypes.includes('text/event-stream'));
  assert.ok(dyn.http.middlewares['security-headers'].headers);
  // The one-container variant: the embedded defaults, the same image.
  assert.deepEqual(Object.keys(single.services), ['ent']);
  assert.equal(single.services.ent.image, image);
  for (const k of ['ENT_DB', 'ENT_BUS', 'ENT_BLOB', 'ENT_OIDC_ISSUER']) assert.ok(!(k in single.services.ent.environment), `single: no ${k}`);
});

test('the Dockerfile: Debian 12 slim in two stages, non-root, the portal built in, a health check', () => {
  const df = read('Dockerfile');
  assert.equal((df.match(/^FROM debian:12-slim/gm) || []).length, 2);
  assert.match(df, /make build web/);
  assert.match(df, /^USER ent/m);
  assert.match(df, /^HEALTHCHECK .*\n?.*\/health/m);
  assert.match(df, /COPY --from=build \/src\/web\/dist/);
  // Every -dev package of scripts/deps.sh (build list) is installed in the build stage.
  const deps = readFileSync(join(root, 'scripts', 'deps.sh'), 'utf8');
  const build = /build=\(([^)]*)\)/.exec(deps)[1].split(/\s+/).filter((p) => p.endsWith('-dev'));
  for (const p of build) assert.ok(df.includes(p), `Dockerfile installs ${p}`);
});

test('nginx routes the same paths to the same services as Traefik', () => {
  const conf = read('nginx/ent.conf.template');
  const routes = {};
  for (const m of conf.matchAll(/location\s+(=\s+)?(\S+)\s*\{[^}]*?proxy_pass http:\/\/ent_(\w+);/g)) routes[m[2]] = m[3];
  for (const [, svc, , prefixes] of LAYOUT) {
    for (const p of prefixes) assert.equal(routes[p], svc, `nginx ${p}`);
    assert.equal(routes[`/metrics/${svc}`], svc, `nginx /metrics/${svc}`);
  }
  assert.equal(routes['/realms/'], 'oidc');
  assert.equal(routes['/'], 'portal');
  // Traefik has no route that nginx lacks.
  const traefik = [];
  for (const name of Object.keys(compose.services)) {
    for (const [k, v] of Object.entries(labels(name))) if (/\.rule$/.test(k)) traefik.push(...rulePaths(v));
  }
  for (const p of traefik) assert.ok(p in routes, `nginx routes ${p} like Traefik`);
});

test('event streams pass unbuffered and stay open through nginx and Traefik', async () => {
  const locs = nginxLocations();
  const routers = traefikRouters();
  // Every `.../stream` operation ent documents (the project's name for its event streams).
  const r = await api(ent || { url: TEST_URL }, '/openapi.json');
  assert.equal(r.status, 200);
  const streams = new Map(STREAMS);
  for (const [pattern, ops] of Object.entries(r.json.paths)) {
    if (/\/stream$/.test(pattern)) streams.set(pattern.replace(/\{[^}]+\}/g, 'x'), Object.values(ops)[0].tags[0]);
  }
  assert.ok(streams.size >= STREAMS.length);
  for (const [path, svc] of streams) {
    const l = nginxPick(locs, path);
    assert.equal(l.upstream, svc, `nginx sends ${path} to ${svc}`);
    assert.equal(nginxSetting(l, 'proxy_buffering'), 'off', `nginx: ${path} unbuffered`);
    assert.equal(nginxSetting(l, 'gzip'), 'off', `nginx: ${path} not compressed`);
    assert.ok(seconds(nginxSetting(l, 'proxy_read_timeout')) >= 3600, `nginx: ${path} kept open`);
    const r = traefikPick(routers, path);
    assert.equal(r.service, svc, `Traefik sends ${path} to ${svc}`);
    // The buffering middleware (body limits) holds an answer until it ends: never on a stream.
    assert.equal(maxBody(r), 0, `Traefik: ${path} through ${r.name} is not buffered`);
  }
  assert.ok(dynamic.http.middlewares['global-compress'].compress.excludedContentTypes.includes('text/event-stream'));
  assert.equal(traefikStatic.entryPoints.web.transport.respondingTimeouts.writeTimeout, '0s');
});

test('body limits and answer timeouts are the same at nginx and Traefik', () => {
  const locs = nginxLocations();
  const routers = traefikRouters();
  const nginxBody = (p) => bytes(nginxSetting(nginxPick(locs, p), 'client_max_body_size'));
  const nginxTimeout = (p) => seconds(nginxSetting(nginxPick(locs, p), 'proxy_read_timeout'));
  // ENT_MAX_BODY (1 MiB) for JSON; 16 MiB for the CSV import (its route's max_body); files
  // stream to ent, which enforces ENT_MAX_UPLOAD (no limit, no buffering at the gateway).
  const cases = [
    ['/api/users/import', 16 << 20, 900], ['/api/users', 1 << 20, 120], ['/api/notes/me', 1 << 20, 120],
    ['/api/calendar/import', 1 << 20, 120], ['/api/support/tickets', 1 << 20, 120], ['/api/messages', 1 << 20, 120],
    ['/chatbot/ask', 1 << 20, 600], ['/api/fichiers/files', 0, 120], ['/api/cours/x/materials', 0, 120],
  ];
  for (const [p, body, timeout] of cases) {
    const r = traefikPick(routers, p);
    assert.equal(nginxBody(p), body, `nginx body limit of ${p}`);
    assert.equal(maxBody(r), body, `Traefik body limit of ${p} (router ${r.name})`);
    assert.equal(nginxTimeout(p), timeout, `nginx answer timeout of ${p}`);
    assert.equal(responseTimeout(r), timeout, `Traefik answer timeout of ${p} (router ${r.name})`);
  }
  // Reading the largest accepted body is within the entry point's read timeout at a modest rate
  // (16 MiB in 120 s: 140 KB/s).
  assert.ok(seconds(traefikStatic.entryPoints.web.transport.respondingTimeouts.readTimeout) >= 120);
  // nginx's files routes do not buffer the request body.
  for (const p of ['/api/fichiers', '/api/cours']) assert.equal(nginxSetting(nginxPick(locs, p), 'proxy_request_buffering'), 'off');
});

test('slow clients are bounded the same at nginx and Traefik: requests in progress per address, read deadlines', () => {
  const conf = read('nginx/ent.conf.template');
  const server = conf.replace(/location[^{]*\{[^}]*\}/g, '');
  // nginx: a zone keyed by the client's address, applied server-wide (no location sets its own).
  const zone = /limit_conn_zone\s+\$binary_remote_addr\s+zone=([a-z_]+):/.exec(conf);
  assert.ok(zone, 'nginx counts requests per client address');
  const limit = new RegExp(`(?:^|\\n)\\s*limit_conn\\s+${zone[1]}\\s+(\\d+);`).exec(server);
  assert.ok(limit, 'nginx applies the per-address limit to the whole server');
  for (const l of nginxLocations()) assert.ok(!/limit_conn\s/.test(l.body), `nginx: location ${l.path} keeps the server's limit`);
  assert.equal(nginxSetting({ body: '' }, 'limit_conn_status'), '429');
  assert.match(conf, /error_page 429 = @too_many;[\s\S]*location @too_many \{[^}]*application\/problem\+json[^}]*return 429/);
  // Traefik: the same amount by remote address (ipStrategy depth 0), on the entry point, so on every router.
  const mw = dynamic.http.middlewares['per-address'].inFlightReq;
  assert.equal(mw.amount, Number(limit[1]), 'the same number of requests in progress per address');
  assert.equal(mw.sourceCriterion.ipStrategy.depth, 0, 'Traefik counts by the remote address');
  assert.deepEqual(traefikStatic.entryPoints.web.http.middlewares, ['per-address@file']);
  // Deadlines: nginx's whole head and a body's pauses within Traefik's whole-request readTimeout,
  // and neither shorter than a real client needs on a slow line (ent's own header deadline is 15 s).
  const readTimeout = seconds(traefikStatic.entryPoints.web.transport.respondingTimeouts.readTimeout);
  for (const d of ['client_header_timeout', 'client_body_timeout']) {
    const v = seconds(nginxSetting({ body: '' }, d));
    assert.ok(v >= 10 && v <= readTimeout, `nginx ${d} ${v} s`);
  }
});

test('promtool accepts the Prometheus file, which scrapes every service container', (t) => {
  const r = spawnSync('promtool', ['check', 'config', join(D, 'prometheus', 'prometheus.yml')], { encoding: 'utf8' });
  if (r.error) { t.skip('promtool is not installed (scripts/deps.sh test)'); return; }
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const prom = YAML.parse(read('prometheus/prometheus.yml'));
  const job = prom.scrape_configs.find((j) => j.job_name === 'ent');
  const targets = job.static_configs.flatMap((s) => s.targets);
  for (const [name, , port] of LAYOUT) assert.ok(targets.includes(`${name}:${port}`), `Prometheus scrapes ${name}:${port}`);
  assert.ok(targets.includes('portal:8080'));
});

test('the realm matches what the Compose file configures ent with', () => {
  assert.equal(realm.realm, 'ent');
  assert.deepEqual(realm.roles.realm.map((r) => r.name).sort(), ['admin', 'enseignant', 'etudiant']);
  const env = compose.services['auth-service'].environment;
  const publicUrl = env.ENT_PUBLIC_URL.replace(/\$\{ENT_HOSTNAME:-([^}]+)\}/, '$1');
  const issuer = env.ENT_OIDC_ISSUER.replace(/\$\{ENT_HOSTNAME:-([^}]+)\}/, '$1');
  assert.equal(issuer, `${publicUrl}/realms/${realm.realm}`, 'the issuer is the realm behind the gateway');
  // Keycloak's own public address is the issuer's origin.
  assert.equal(compose.services.keycloak.environment.KC_HOSTNAME.replace(/\$\{ENT_HOSTNAME:-([^}]+)\}/, '$1'), publicUrl);
  // The realm file's ${ENT_PUBLIC_URL} placeholders are resolved from the init job's environment.
  assert.equal(compose.services['keycloak-init'].environment.ENT_PUBLIC_URL, env.ENT_PUBLIC_URL);
  const sub = (s) => s.replaceAll('${ENT_PUBLIC_URL}', publicUrl);
  const portal = realm.clients.find((c) => c.clientId === 'ent-portal');
  assert.ok(portal, 'the portal client is ent-portal, as /config.json says');
  assert.equal(portal.publicClient, true);
  assert.equal(portal.standardFlowEnabled, true);
  assert.equal(portal.implicitFlowEnabled, false);
  assert.equal(portal.directAccessGrantsEnabled, false);
  assert.equal(portal.attributes['pkce.code.challenge.method'], 'S256');
  assert.deepEqual(portal.redirectUris.map(sub), [`${publicUrl}/login/callback`]);
  assert.deepEqual(sub(portal.attributes['post.logout.redirect.uris']).split('##').sort(), [`${publicUrl}/`, `${publicUrl}/login`]);
  const aud = portal.protocolMappers.find((m) => m.protocolMapper === 'oidc-audience-mapper');
  assert.equal(aud.config['included.custom.audience'], env.ENT_OIDC_AUDIENCE);
  assert.equal(aud.config['access.token.claim'], 'true');
  const roles = portal.protocolMappers.find((m) => m.protocolMapper === 'oidc-usermodel-realm-role-mapper');
  assert.equal(roles.config['claim.name'], env.ENT_OIDC_ROLES_CLAIM);
  assert.equal(roles.config['access.token.claim'], 'true');
  assert.equal(roles.config.multivalued, 'true');
});

let ent;
before(async () => {
  // RabbitMQ configured but unreachable: /metrics then shows ent_bus_broker_up too (as 0).
  if (!TEST_URL) ent = await startEnt({ env: { ENT_BUS: 'amqp://ent:x@127.0.0.1:1/%2f' } });
});
after(async () => { if (ent) await ent.stop(); });

test('every metric the Grafana dashboard uses is one ent\'s /metrics exposes', async () => {
  // Through a cluster: what Prometheus scrapes, one of its processes (on its real broker) directly.
  const proc = ent || clusterProcess({});
  await api(proc, '/health');
  const r = await api(proc, '/metrics');
  assert.equal(r.status, 200);
  const exposed = new Set(r.text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((x) => x.expr));
  exprs.push(...dashboard.templating.list.map((v) => v.query.query || v.query));
  const used = new Set(exprs.flatMap((e) => e.match(/\b(?:ent|process)_[a-z_]+\b/g) || []));
  assert.ok(used.size >= 10, `the dashboard uses ${[...used]}`);
  for (const m of used) assert.ok(exposed.has(m), `${m} is in /metrics`);
  // What the brief asks the dashboard to show.
  for (const m of ['ent_http_requests_total', 'ent_http_request_duration_seconds_bucket', 'ent_sse_streams', 'ent_bus_pending',
    'ent_bus_broker_up', 'ent_db_connections', 'process_resident_memory_bytes']) assert.ok(used.has(m), `the dashboard shows ${m}`);
  assert.ok(exprs.some((e) => e.startsWith('histogram_quantile(0.5,')) && exprs.some((e) => e.startsWith('histogram_quantile(0.99,')));
  // The labels the dashboard groups by exist.
  assert.match(r.text, /ent_http_requests_total\{service="[a-z]+",route="[^"]+",method="[A-Z]+",status="\d+"\}/);
  assert.ok(existsSync(join(D, 'grafana', 'provisioning', 'dashboards', 'dashboards.yml')));
});

test('every route ent serves reaches its own service through nginx and through Traefik', async () => {
  const r = await api(ent || { url: TEST_URL }, '/openapi.json');
  assert.equal(r.status, 200);
  const locs = nginxLocations();
  const routers = traefikRouters();
  const container = Object.fromEntries(LAYOUT.map(([c, svc]) => [svc, c]));
  const services = new Set();
  let n = 0;
  for (const [pattern, ops] of Object.entries(r.json.paths)) {
    const path = pattern.replace(/\{[^}]+\}/g, 'x');
    for (const op of Object.values(ops)) {
      const svc = op.tags?.[0];
      if (!svc) continue;
      services.add(svc);
      n++;
      const l = nginxPick(locs, path);
      const t = traefikPick(routers, path);
      if (svc === 'core') {
        assert.equal(l.upstream, 'portal', `nginx: ${pattern} to the portal`);
        assert.equal(t.container, 'portal', `Traefik: ${pattern} to the portal`);
      } else if (svc === 'auth' && path.startsWith('/realms/')) {
        // The OpenID provider: ent's auth service here, Keycloak in Compose.
        assert.equal(l.upstream, 'oidc', `nginx: ${pattern}`);
        assert.equal(t.container, 'keycloak', `Traefik: ${pattern}`);
      } else {
        assert.ok(container[svc], `the service ${svc} (${pattern}) has its container in docker-compose.yml`);
        assert.equal(l?.upstream, svc, `nginx sends ${op.operationId || pattern} (${pattern}) to ${svc}`);
        assert.equal(t?.container, container[svc], `Traefik sends ${pattern} to ${container[svc]}`);
      }
    }
  }
  assert.ok(n > 100, `${n} operations`);
  // Every service has its container, its nginx upstream, its /metrics route and its scrape target.
  const prom = YAML.parse(read('prometheus/prometheus.yml'));
  const targets = prom.scrape_configs.find((j) => j.job_name === 'ent').static_configs.flatMap((c) => c.targets);
  const cluster = readFileSync(join(root, 'tests', 'services', 'cluster.sh'), 'utf8');
  const split = /^SPLIT_SERVICES=\(([^)]*)\)/m.exec(cluster)[1].split(/\s+/);
  for (const svc of [...services].filter((x) => x !== 'core')) {
    const c = LAYOUT.find((x) => x[1] === svc);
    assert.ok(c, `${svc} is in the seed's layout`);
    assert.ok(targets.includes(`${c[0]}:${c[2]}`), `Prometheus scrapes ${svc}`);
    assert.equal(nginxPick(locs, `/metrics/${svc}`).upstream, svc, `nginx /metrics/${svc}`);
    assert.ok(split.includes(svc), `tests/services/cluster.sh runs ${svc} in its own process`);
  }
});

test('through the gateway: a body above ent\'s limit is refused there with a problem, a CSV import up to 16 MiB goes through', async (t) => {
  if (!TEST_URL) { t.skip('only through a cluster\'s gateway (tests/services/cluster.sh, ENT_TEST_URL)'); return; }
  const big = JSON.stringify({ subject: 'x', description: 'y'.repeat((1 << 20) + 1024) });
  for (const p of ['/api/support/tickets', '/api/messages', '/chatbot/ask', '/api/calendar/events', '/api/users']) {
    const r = await api({ url: TEST_URL }, p, { method: 'POST', body: big, raw: true, headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 413, `${p}: ${r.status} ${r.text.slice(0, 200)}`);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.equal(r.json.status, 413);
  }
  const server = await startEnt();
  try {
    const { school } = await import('./lib/school.mjs');
    const s = school(server);
    s.add('admin', 'admin.gateway@test.ent', 'Ada Admin', 'admin');
    // 2 MiB: above the JSON limit, below the import's. Blank lines after the header: ent reads
    // the whole body and answers itself (a dry run changes nothing).
    const csv = 'email,given_name,family_name,role,class,external_id\n' + '\n'.repeat(2 << 20);
    const r = await s.as('admin', '/api/users/import?dry_run=true', { method: 'POST', body: csv, raw: true, headers: { 'Content-Type': 'text/csv' } });
    assert.notEqual(r.status, 413, r.text.slice(0, 300));
    assert.ok(r.status < 500, `${r.status} ${r.text.slice(0, 300)}`);
  } finally {
    await server.stop();
  }
});
