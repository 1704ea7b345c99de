// The core routes of a real `ent serve`: health, 404 problem+json, metrics (checked by promtool),
// the OpenAPI document (validated as 3.1 and compared with the route table), /docs.
// Through a cluster (ENT_TEST_URL), what nginx reads first (a body over its limit, a path with
// "..") is checked at the gateway and, for ent's own answer, on one of the cluster's processes
// directly; the access log on a process of the test's own (its log is the test's to read).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startEnt, api, assertProblem, entRun, dbKind, pgServer, clusterProcess } from './lib/ent.mjs';
import { until } from './lib/school.mjs';

let ent;
before(async () => { ent = await startEnt(); });
after(async () => {
  const e = await ent.stop();
  assert.equal(e.code, 0, `ent must exit cleanly (sanitizers included):\n${ent.stderr.slice(-4000)}`);
});

test('GET /health answers 200 with version, services and database', async () => {
  const r = await api(ent, '/health');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ok');
  assert.match(r.json.version, /^\d+\.\d+\.\d+$/);
  assert.ok(r.json.services.includes('core'));
  assert.equal(r.json.database.reachable, true);
  assert.equal(r.json.database.kind, dbKind(ent));
  assert.equal(typeof r.json.uptime_seconds, 'number');
});

test('an unknown path is a 404 problem+json', async () => {
  const r = await api(ent, '/no/such/path');
  assertProblem(assert, r, 404);
  assert.equal(r.json.instance, '/no/such/path');
  assert.ok(r.headers.get('x-request-id'));
});

test('a browser asking for an unknown page gets the portal; API paths and API clients still get 404', async () => {
  const page = await fetch(ent.url + '/une/page/inconnue', { headers: { Accept: 'text/html,application/xhtml+xml' } });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.equal(page.headers.get('cache-control'), 'no-cache');
  assert.match(await page.text(), /<div id="root">/);
  const api404 = await fetch(ent.url + '/api/nothing/here', { headers: { Accept: 'text/html' } });
  assert.equal(api404.status, 404);
  assert.match(api404.headers.get('content-type'), /^application\/problem\+json/);
  const post = await fetch(ent.url + '/une/page/inconnue', { method: 'POST', headers: { Accept: 'text/html' } });
  assert.equal(post.status, 404);
});

test('a wrong method is a 405 problem+json with Allow', async () => {
  const r = await api(ent, '/health', { method: 'DELETE' });
  assertProblem(assert, r, 405);
  assert.equal(r.headers.get('allow'), 'GET');
});

test('every answer carries the security headers and a request id', async () => {
  for (const path of ['/health', '/nope', '/openapi.json', '/docs']) {
    const r = await api(ent, path);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(r.headers.get('x-frame-options'), 'DENY', path);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer', path);
    assert.ok(r.headers.get('content-security-policy'), path);
    assert.match(r.headers.get('x-request-id'), /^[0-9a-f]{32}$/, path);
  }
});

test('a 2 MiB JSON body is refused with 413, an answer the client reads whole', async () => {
  // The body is read and dropped, then answered: an answer sent while the client is still sending
  // would be lost when the connection is reset on the unread bytes (fetch: "fetch failed").
  const body = '{"x":"' + 'a'.repeat(2 * 1024 * 1024) + '"}';
  const send = async (url) => {
    const r = await fetch(`${url}/health`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
    return { status: r.status, type: r.headers.get('content-type'), json: await r.json() };
  };
  let res = await send(ent.url);
  if (ent.external) {
    // The gateway refuses it first (client_max_body_size, its own problem+json: deploy/nginx);
    // ent's refusal on a process of the cluster reached directly.
    assert.equal(res.status, 413);
    assert.equal(res.type, 'application/problem+json');
    assert.equal(res.json.status, 413);
    res = await send(clusterProcess(ent).url);
  }
  assert.equal(res.status, 413);
  assert.equal(res.type, 'application/problem+json');
  assert.equal(res.json.status, 413);
  assert.equal(res.json.code, 'too_large');
  assert.equal(res.json.detail, 'Le contenu envoyé dépasse la taille maximale de 1 Mo.');
});

test('the access log has one JSON line per request, without the query string', async () => {
  // Through a cluster, the log of a process of this test's own.
  const own = ent.external ? await startEnt({ own: true }) : ent;
  try {
    await api(own, '/health?token=secret-value');
    // Lines are written in batches every 100 ms by the flusher thread: waited for, bounded.
    const requestLines = () => own.stderr.split('\n').filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l));
    const last = await until(() => requestLines().find((l) => l.path === '/health' && l.method === 'GET'), 100, 100);
    assert.ok(last, 'the GET /health line is there');
    assert.equal(last.status, 200);
    assert.equal(last.route, '/health');
    assert.match(last.request_id, /^[0-9a-f]{32}$/);
    assert.equal(typeof last.duration_ms, 'number');
    assert.ok(!own.stderr.includes('secret-value'), 'query strings are never logged');
  } finally {
    if (own !== ent) assert.equal((await own.stop()).code, 0, own.stderr.slice(-3000));
  }
});

// Words every English answer of the core had and no French one has.
const ENGLISH = /\b(the|is|are|must|could|cannot|no such|not|only|allowed|required|invalid|Not Found|Bad Request|Unauthorized|Forbidden)\b/;

test('the core answers in French: title and detail of each problem, its code unchanged', async () => {
  assert.equal(ent.run(['user', 'add', '--email', 'fr@t.local', '--name', 'Léa Martin', '--role', 'etudiant', '--password', 'Correct-Horse-Battery-9']).status, 0);
  const token = ent.run(['token', 'fr@t.local']).stdout.trim();
  const auth = { Authorization: `Bearer ${token}` };
  const cases = [
    [await api(ent, '/no/such/path'), 404, 'not_found', 'Introuvable', "Rien ne se trouve à l'adresse /no/such/path."],
    [await api(ent, '/health', { method: 'DELETE' }), 405, 'method_not_allowed', 'Méthode non acceptée',
      "La méthode DELETE n'est pas acceptée ici (méthodes acceptées : GET)."],
    [await api(ent, '/metrics/nosuchservice'), 404, 'not_found', 'Introuvable', 'Aucun service nommé « nosuchservice » ne tourne dans ce processus.'],
    [await api(ent, '/api/auth/me'), 401, 'unauthenticated', 'Connexion nécessaire', "Votre session a expiré ou n'est pas valide : reconnectez-vous."],
    [await api(ent, '/api/auth/me', { headers: { Authorization: 'Bearer a.b.c' } }), 401, 'unauthenticated', 'Connexion nécessaire',
      "Votre session a expiré ou n'est pas valide : reconnectez-vous."],
    [await api(ent, '/api/users', { headers: auth }), 403, 'forbidden', 'Accès refusé', 'Votre rôle ne permet pas cette action.'],
    [await api(ent, '/api/users/me', { method: 'PATCH', headers: { ...auth, 'Content-Type': 'text/plain' }, body: '{}', raw: true }), 415,
      'unsupported_media_type', 'Format non accepté', 'Le corps de la requête doit être du JSON (Content-Type: application/json).'],
    [await api(ent, '/api/users/me', { method: 'PATCH', headers: { ...auth, 'Content-Type': 'application/json' }, body: '', raw: true }), 400,
      'bad_request', 'Requête incorrecte', 'La requête doit contenir un corps JSON.'],
    [await api(ent, '/api/users/me', { method: 'PATCH', headers: { ...auth, 'Content-Type': 'application/json' }, body: '{"a":', raw: true }), 400,
      'bad_request', 'Requête incorrecte', "Le corps de la requête n'est pas du JSON valide (ligne 1, colonne 5 : le texte s'arrête avant la fin du JSON)."],
    [await api(ent, '/api/users/me', { method: 'PATCH', headers: auth, body: [1, 2] }), 400,
      'bad_request', 'Requête incorrecte', 'Le corps de la requête doit être un objet JSON.'],
    [await api(ent, '/api/cours?limit=0', { headers: auth }), 400, 'validation', 'Champs invalides', 'La pagination demandée est invalide.'],
  ];
  for (const [r, status, code, title, detail] of cases) {
    assertProblem(assert, r, status);
    assert.deepEqual([r.json.code, r.json.title, r.json.detail], [code, title, detail]);
    assert.doesNotMatch(`${r.json.title} ${r.json.detail}`, ENGLISH);
  }
  const page = await api(ent, '/api/cours?cursor=x', { headers: auth });
  assert.equal(page.json.errors.cursor, "n'est pas un curseur émis par ce serveur : rechargez la liste");
});

test('/metrics is valid Prometheus exposition (promtool check metrics)', async () => {
  await api(ent, '/health');
  await api(ent, '/nope');
  const r = await api(ent, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  assert.match(r.text, /ent_http_requests_total\{service="core",route="\/health",method="GET",status="200"\} \d+/);
  assert.match(r.text, /ent_http_requests_total\{service="core",route="unmatched",method="GET",status="404"\} \d+/);
  assert.match(r.text, /ent_http_request_duration_seconds_bucket\{service="core",route="\/health",le="\+Inf"\} \d+/);
  assert.match(r.text, /^ent_http_requests_in_flight \d+$/m);
  assert.match(r.text, /^ent_db_connections [1-9]\d*$/m);
  assert.match(r.text, /^process_resident_memory_bytes \d+$/m);
  assert.match(r.text, /^process_open_fds \d+$/m);
  assert.match(r.text, /^process_cpu_seconds_total [\d.]+$/m);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: r.text, encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
});

test('/metrics/<service> gives one service; an unknown one is 404', async () => {
  const r = await api(ent, '/metrics/core');
  assert.equal(r.status, 200);
  assert.match(r.text, /service="core"/);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: r.text, encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  assertProblem(assert, await api(ent, '/metrics/nosuchservice'), 404);
});

test('/openapi.json is a valid OpenAPI 3.1 document', async () => {
  const r = await api(ent, '/openapi.json');
  assert.equal(r.status, 200);
  assert.equal(r.json.openapi, '3.1.0');
  const v = new Validator();
  const res = await v.validate(r.json);
  assert.equal(res.valid, true, JSON.stringify(res.errors, null, 1));
  assert.equal(v.version, '3.1');
});

test('/openapi.json documents every route of the route table', async () => {
  const doc = (await api(ent, '/openapi.json')).json;
  const out = entRun(['routes'], { env: ent.env });
  assert.equal(out.status, 0, out.stderr);
  const routes = out.stdout.trim().split('\n').map((l) => l.split(' '));
  assert.ok(routes.length >= 3);
  for (const [method, pattern, service, access, doc_] of routes) {
    if (doc_ === 'undocumented') continue;
    const op = doc.paths?.[pattern]?.[method.toLowerCase()];
    assert.ok(op, `${method} ${pattern} (${service}) is missing from /openapi.json`);
    assert.ok(op.tags.includes(service));
    if (access === 'public') assert.deepEqual(op.security, []);
    else assert.deepEqual(op.security, [{ bearer: [] }]);
  }
  // And nothing is documented that does not exist.
  const known = new Set(routes.map(([m, p]) => `${m.toLowerCase()} ${p}`));
  for (const [p, item] of Object.entries(doc.paths))
    for (const m of Object.keys(item)) assert.ok(known.has(`${m} ${p}`), `${m} ${p} is documented but not routed`);
});

test('/openapi.json is compressed for clients that accept gzip', async () => {
  const res = await fetch(ent.url + '/openapi.json', { headers: { 'Accept-Encoding': 'gzip' } });
  await res.arrayBuffer();
  const doc = (await api(ent, '/openapi.json')).text;
  if (doc.length >= 1024) assert.equal(res.headers.get('content-encoding'), 'gzip');
});

test('/docs serves the interactive reference from this server only', async () => {
  const r = await api(ent, '/docs');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.ok(!/https?:\/\//.test(r.text.replace(/<!doctype html>/i, '')), 'no external URL (no CDN)');
  const csp = r.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.ok(!/script-src[^;]*unsafe-inline/.test(csp));
  for (const asset of ['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/init.js']) {
    const a = await fetch(ent.url + asset);
    assert.equal(a.status, 200, asset);
    assert.ok((await a.arrayBuffer()).byteLength > 100, asset);
  }
  const gz = await fetch(ent.url + '/docs/swagger-ui-bundle.js', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(gz.headers.get('content-encoding'), 'gzip');
  assert.match(gz.headers.get('content-type'), /javascript/);
  await gz.arrayBuffer();
  const traversal = '/docs/..%2F..%2Fetc%2Fpasswd';
  if (ent.external) {
    // nginx refuses a path climbing above the root itself (400), before any process sees it.
    assert.equal((await api(ent, traversal)).status, 400);
  }
  const direct = ent.external ? clusterProcess(ent) : ent;
  for (const bad of [traversal, '/docs/.hidden', '/docs/nope.js'])
    assertProblem(assert, await api(direct, bad), 404);
});

test('GET /health is 503 when the database is unreachable', { skip: !pgServer() && 'needs PostgreSQL (ENT_TEST_PG_URL)' }, async () => {
  const other = await startEnt();
  try {
    assert.equal((await api(other, '/health')).status, 200);
    other.pg.drop(); // terminates its connections and removes the database
    // Reachability is checked at most once a second per worker thread: waited for, bounded.
    let r;
    await until(async () => (r = await api(other, '/health')).status === 503, 100, 100);
    assert.equal(r.status, 503);
    assert.equal(r.json.status, 'unavailable');
    assert.equal(r.json.database.reachable, false);
    const m = await api(other, '/metrics');
    assert.match(m.text, /^ent_db_up 0$/m);
  } finally {
    await other.stop();
  }
});
