// Malformed requests against a real `ent serve`, written byte for byte on a raw socket (fetch and
// node:http would refuse to send most of them). Hardening issue:
//  4. requests a proxy in front could read differently from us (request smuggling): two different
//     Content-Length, Content-Length with Transfer-Encoding, "Transfer-Encoding : chunked", an
//     unknown transfer coding, HTTP/1.1 without Host or with two, a NUL or a control byte in the
//     target. Each is answered 400 problem+json with Connection: close, and the connection closed
//     (so whatever follows the head is never read as a second request).
// 10. a corpus of malformed requests (these, the raw heads of tests/fuzz/corpus/http and more)
//     replayed against the server: no answer in 5xx, and the process alive and well at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEnt, api, clusterProcess, clusterProcesses, TEST_URL } from './lib/ent.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// ent: the server; target: the process whose parser gets the raw bytes. Through a cluster
// (ENT_TEST_URL), nginx reads the requests before ent and answers most of them itself: the raw
// bytes go to one of the cluster's processes directly (a process running every service), and the
// corpus is replayed through the gateway as well (see the last test).
let ent, target;
before(async () => {
  ent = await startEnt();
  target = ent.external ? clusterProcess(ent) : ent;
});
after(async () => {
  const e = await ent.stop();
  assert.equal(e.code, 0, `ent must exit cleanly (sanitizers included):\n${ent.stderr.slice(-4000)}`);
});

/**
 * Writes bytes on a new connection and collects what comes back until the server closes the
 * connection or `wait` ms pass. Returns the text (latin1), whether the server closed, the
 * statuses of every answer seen and the first answer's headers and body.
 */
function raw(bytes, wait = 30000, to = target) {
  return new Promise((resolve) => {
    const s = net.connect(to.port, '127.0.0.1');
    let got = Buffer.alloc(0);
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const text = got.toString('latin1');
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3}) [A-Z]/g)].map((m) => Number(m[1]));
      const end = text.indexOf('\r\n\r\n');
      const head = end < 0 ? text : text.slice(0, end);
      const headers = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ text, closed, statuses, headers, body: end < 0 ? '' : text.slice(end + 4) });
    };
    const timer = setTimeout(() => finish(false), wait);
    s.on('data', (d) => { got = Buffer.concat([got, d]); });
    s.on('close', () => finish(true));
    s.on('error', () => {}); // a reset is a close
    s.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  });
}

const H = 'Host: t\r\n';
// Every one of these: 400 problem+json, Connection: close, the connection closed, one answer only.
const smuggling = {
  'two different Content-Length (the rest would be a second request)':
    `POST /health HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 50\r\n\r\nhelloGET /nope HTTP/1.1\r\n${H}\r\n`,
  'Content-Length and Transfer-Encoding': `POST /health HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  'a space before the colon of Transfer-Encoding': `POST /health HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
  'a tab before the colon of Content-Length': `POST /health HTTP/1.1\r\n${H}Content-Length\t: 3\r\n\r\nabc`,
  'an unknown transfer coding': `POST /health HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n`,
  'a transfer coding that is not chunked': `POST /health HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`,
  'two Transfer-Encoding fields': `POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  'HTTP/1.1 without Host': 'GET /health HTTP/1.1\r\n\r\n',
  'HTTP/1.1 with two Host': 'GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
  'a %00 in the path': `GET /health%00/x HTTP/1.1\r\n${H}\r\n`,
  'a raw NUL in the path': `GET /health\0/x HTTP/1.1\r\n${H}\r\n`,
  'a raw NUL in the query': `GET /health?a=\0b HTTP/1.1\r\n${H}\r\n`,
  'a %00 in the query': `GET /health?a=%00 HTTP/1.1\r\n${H}\r\n`,
  'a control byte in the path': `GET /hea\x01lth HTTP/1.1\r\n${H}\r\n`,
  'DEL in the query': `GET /health?x=\x7f HTTP/1.1\r\n${H}\r\n`,
  'a tab in the target': `GET /health\t HTTP/1.1\r\n${H}\r\n`,
  'an encoded line feed in the path': `GET /health%0a HTTP/1.1\r\n${H}\r\n`,
  'a space inside the target': `GET /health /x HTTP/1.1\r\n${H}\r\n`,
};

for (const [name, bytes] of Object.entries(smuggling)) {
  test(`smuggling: ${name} → 400 problem+json and the connection closed`, async () => {
    const r = await raw(bytes);
    assert.deepEqual(r.statuses, [400], `one 400 answer expected, got ${JSON.stringify(r.text.slice(0, 300))}`);
    assert.equal(r.headers['content-type'], 'application/problem+json');
    const p = JSON.parse(Buffer.from(r.body, 'latin1').toString('utf8'));
    assert.equal(p.status, 400);
    assert.deepEqual([p.code, p.title], ['bad_request', 'Requête incorrecte']);
    assert.match(p.detail, /^(L'adresse demandée|L'en-tête|Les en-têtes|Le seul codage|Un nom d'en-tête) .*\.$/, 'a French sentence');
    assert.match(r.headers.connection || '', /close/i);
    assert.equal(r.closed, true, 'the server must close the connection');
  });
}

test('well-formed requests next to those are still served, with keep-alive', async () => {
  const two = await raw(`GET /health HTTP/1.1\r\n${H}\r\nGET /health HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  assert.deepEqual(two.statuses, [200, 200]);
  const same = await raw(`POST /nope HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
  assert.deepEqual(same.statuses, [404], 'the same Content-Length twice is one reading');
  const chunked = await raw(`POST /nope HTTP/1.1\r\n${H}Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n`);
  assert.deepEqual(chunked.statuses, [404]);
  const old = await raw('GET /health HTTP/1.0\r\n\r\n');
  assert.deepEqual(old.statuses, [200], 'HTTP/1.0 needs no Host');
  const utf8 = await raw(`GET /caf%C3%A9?q=%C3%A9t%C3%A9 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
  assert.deepEqual(utf8.statuses, [404]);
});

// Anything goes for these but a 5xx: 400, 404, 405, 413, 414, 416, 431, or a closed connection
// (505 aside, see below).
const big = 'a'.repeat(20000);
const corpus = [
  'GARBAGE\r\n\r\n',
  '\r\n\r\n\r\n',
  'GET\r\n\r\n',
  'GET /\r\n\r\n',
  `GET / HTTP/9.9\r\n${H}\r\n`,
  `GET / HTTP/1.1 extra\r\n${H}\r\n`,
  `G@T /health HTTP/1.1\r\n${H}\r\n`,
  `get /health HTTP/1.1\r\n${H}\r\n`,
  `BREW /health HTTP/1.1\r\n${H}\r\n`,
  `${'A'.repeat(5000)} /health HTTP/1.1\r\n${H}\r\n`,
  `CONNECT 127.0.0.1:80 HTTP/1.1\r\n${H}\r\n`,
  `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
  `TRACE /health HTTP/1.1\r\n${H}\r\n`,
  `GET http://evil.test/health HTTP/1.1\r\n${H}\r\n`,
  `GET health HTTP/1.1\r\n${H}\r\n`,
  `GET //health HTTP/1.1\r\n${H}\r\n`,
  `GET /api/../health HTTP/1.1\r\n${H}\r\n`,
  `GET /api/%2e%2e/health HTTP/1.1\r\n${H}\r\n`,
  `GET /api/users/%zz HTTP/1.1\r\n${H}\r\n`,
  `GET /api/users/% HTTP/1.1\r\n${H}\r\n`,
  `GET /api/users/%4 HTTP/1.1\r\n${H}\r\n`,
  `GET /api/files/%ff%fe%fd HTTP/1.1\r\n${H}\r\n`,
  `GET /api/files/\xc3\x28 HTTP/1.1\r\n${H}\r\n`,
  `GET /api/files/\xed\xa0\x80 HTTP/1.1\r\n${H}\r\n`,
  `GET /api/files/\xf8\x88\x80\x80\x80 HTTP/1.1\r\n${H}\r\n`,
  `GET /${'a/'.repeat(200)} HTTP/1.1\r\n${H}\r\n`,
  `GET /${big} HTTP/1.1\r\n${H}\r\n`,
  `GET /health?${'a=1&'.repeat(3000)} HTTP/1.1\r\n${H}\r\n`,
  `GET /health?&&&==&=&a&a=&=b HTTP/1.1\r\n${H}\r\n`,
  `GET /health?a=%zz&b=%&c=%4 HTTP/1.1\r\n${H}\r\n`,
  `GET /api/notifications?limit=-1 HTTP/1.1\r\n${H}\r\n`,
  `GET /api/notifications?limit=99999999999999999999999 HTTP/1.1\r\n${H}\r\n`,
  `GET /api/notifications?cursor=%ff%00 HTTP/1.1\r\n${H}\r\n`,
  `GET /api/notifications?cursor=${'A'.repeat(3000)} HTTP/1.1\r\n${H}\r\n`,
  `GET /api/notifications?cursor=!!!!&limit=abc HTTP/1.1\r\n${H}\r\n`,
  `GET /health HTTP/1.1\r\n${H}${'X-A: b\r\n'.repeat(150)}\r\n`,
  `GET /health HTTP/1.1\r\n${H}X-Big: ${big}\r\n\r\n`,
  `GET /health HTTP/1.1\r\n${H}X-Empty:\r\n: novalue\r\n\r\n`,
  `GET /health HTTP/1.1\r\n${H}NoColonHere\r\n\r\n`,
  `GET /health HTTP/1.1\r\n${H} folded: line\r\n\r\n`,
  `GET /health HTTP/1.1\r\n${H}X-A: b\r\n continued\r\n\r\n`,
  `GET /health HTTP/1.1\n${H.replace('\r', '')}\n`,
  `GET /health HTTP/1.1\r${H}\r\r`,
  `GET /health HTTP/1.1\r\n${H}X-Ctl: a\x01b\r\n\r\n`,
  `GET /health HTTP/1.1\r\n${H}X-Request-Id: ${'r'.repeat(100)}\r\n\r\n`,
  `GET /health HTTP/1.1\r\n${H}X-Request-Id: \xff\xfe\r\n\r\n`,
  `GET /health HTTP/1.1\r\n${H}Accept-Encoding: gzip;q=0;q=0;q=0.\r\n\r\n`,
  `GET /health HTTP/1.1\r\n${H}Authorization: Bearer\r\n\r\n`,
  `GET /health HTTP/1.1\r\n${H}Authorization: Bearer ${'x'.repeat(8000)}\r\n\r\n`,
  `GET /api/auth/me HTTP/1.1\r\n${H}Authorization: Bearer a.b.c\r\n\r\n`,
  `GET /api/auth/me HTTP/1.1\r\n${H}Authorization: Bearer ..\r\n\r\n`,
  `GET /api/auth/me HTTP/1.1\r\n${H}Cookie: ;;;==;a=\xff\r\n\r\n`,
  `GET /api/files/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\n${H}Range: bytes=\r\n\r\n`,
  `GET /api/files/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\n${H}Range: bytes=-\r\n\r\n`,
  `GET /api/files/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\n${H}Range: bytes=5-1\r\n\r\n`,
  `GET /api/files/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\n${H}Range: bytes=99999999999999999999999-\r\n\r\n`,
  `GET /api/files/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\n${H}Range: bytes=-0, 0-, --1\r\n\r\n`,
  `GET /api/files/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\n${H}Range: lines=1-2\r\n\r\n`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Content-Length: 9223372036854775807\r\n\r\n`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Content-Length: 1e3\r\n\r\n`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Content-Length: 0x10\r\n\r\n`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Content-Length:  5 \r\n\r\nhello`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\n%%%=&&=%zz=`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nabc\r\n0\r\n\r\n`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;ext=\x01\r\nabc\r\n0\r\n\r\n`,
  `POST /api/auth/token HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n`,
  `POST /api/users HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 3\r\n\r\n{"a`,
  `PUT /api/users/x HTTP/1.1\r\n${H}Content-Type: application/json; charset=\xff\r\nContent-Length: 2\r\n\r\n{}`,
  `DELETE /api/users/%00 HTTP/1.1\r\n${H}\r\n`,
  `GET /openapi.json HTTP/1.1\r\n${H}If-None-Match: ${'"x",'.repeat(2000)}\r\n\r\n`,
  Buffer.concat([Buffer.from(`GET /health HTTP/1.1\r\n${H}\r\n`), Buffer.alloc(3000, 0)]),
  Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), // a TLS hello
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
];

function corpusFiles() {
  const dir = join(here, '..', 'fuzz', 'corpus', 'http');
  let names = [];
  try { names = readdirSync(dir); } catch { return []; }
  return names.filter((n) => !n.startsWith('.')).map((n) => readFileSync(join(dir, n)));
}

const allCases = () => [...Object.values(smuggling), ...corpus, ...corpusFiles()];

/** Replays every case (eight at a time) to `to`; the cases whose answers have a status `bad` accepts. */
async function replay(to, bad) {
  const cases = allCases();
  const out = [];
  // Eight at a time: a case the server leaves open (waiting for more) costs its wait.
  for (let i = 0; i < cases.length; i += 8) {
    const batch = cases.slice(i, i + 8);
    const results = await Promise.all(batch.map((c) => raw(c, 3000, to)));
    results.forEach((r, k) => {
      if (r.statuses.some(bad)) out.push({ request: String(batch[k]).slice(0, 120), answer: r.text.slice(0, 200) });
    });
  }
  return out;
}

test('the malformed corpus gets no 5xx and the server stays up', async () => {
  assert.ok(allCases().length > 90, `a corpus of ${allCases().length} requests`);
  // A process of a cluster is restarted by its supervisor if it dies: its uptime tells.
  const up0 = (await api(target, '/health')).json.uptime_seconds;
  // 505 is libmicrohttpd's own answer to an HTTP version it does not speak (HTTP/2.0, 9.9),
  // given before ent sees the request: the correct answer, not a failure of the server.
  const bad = await replay(target, (st) => st >= 500 && st !== 505);
  assert.deepEqual(bad, [], 'no request may be answered 5xx');
  assert.equal(ent.exited, null, 'the server is still running');
  const h = await api(target, '/health');
  assert.equal(h.status, 200);
  assert.ok(h.json.uptime_seconds >= up0, 'the same process, not a restarted one');
});

test('through a cluster\'s gateway, the corpus reaches no process in a way that fails it', {
  skip: !TEST_URL && 'only through a cluster (ENT_TEST_URL)',
}, async () => {
  const uptimes = async () => Promise.all(clusterProcesses().map(async (p) => (await api(p, '/health')).json.uptime_seconds));
  const up0 = await uptimes();
  // nginx answers most of these itself (400, 414, 494, and 501/505 for a transfer coding or a
  // version it does not take); what it forwards must not make a process fail: no 502/503/504.
  const bad = await replay(ent, (st) => st >= 502 && st <= 504);
  assert.deepEqual(bad, [], 'no request may reach an upstream that fails');
  assert.equal((await api(ent, '/health')).status, 200, 'the gateway still answers');
  const up1 = await uptimes();
  up1.forEach((u, i) => assert.ok(u >= up0[i], `process ${clusterProcesses()[i].name} was not restarted`));
});
