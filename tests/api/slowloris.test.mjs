// Slow clients against a real `ent serve` (hardening issue, item 3). Before the fix a client
// sending one byte every few seconds kept its connection for as long as it liked (the idle timeout
// restarts with every byte), and as many such connections as the per-address limit blocked every
// request from that address. Now a request must complete its head within a deadline (15 s by
// default) and a body must keep a minimum rate. Everything runs on loopback, with other 127.x
// addresses standing for other clients; the bounds are generous (the deadline is 15 s, the test
// waits up to 45 s) so that a busy machine does not make it fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { startEnt, TEST_URL } from './lib/ent.mjs';
import { until } from './lib/school.mjs';

const PER_IP = 64;
let ent;
// One process's own defences, by client address: through a cluster (ENT_TEST_URL) nginx reads the
// heads first and every request reaches ent from nginx's address, so a process of the test's own.
before(async () => { ent = await startEnt({ own: true, env: { ENT_PER_IP_CONNECTIONS: String(PER_IP) } }); });
after(async () => {
  const e = await ent.stop();
  assert.equal(e.code, 0, `ent must exit cleanly (sanitizers included):\n${ent.stderr.slice(-4000)}`);
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** GET /health from localAddress; resolves with the status, or 0 when refused/closed/timed out. */
function health(localAddress) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: ent.port, path: '/health', localAddress, agent: false, timeout: 10000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.on('error', () => resolve(0));
  });
}

/**
 * A connection from localAddress that sends head, then one byte of drip every `every` ms. Its
 * `closedAt` is set (ms since start) when the server closes it.
 */
function trickle(localAddress, head, drip, every, t0) {
  const c = { closedAt: null, sock: null };
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: ent.port, localAddress });
    c.sock = s;
    let i = 0;
    let timer = null;
    s.on('connect', () => {
      s.write(head);
      timer = setInterval(() => { if (!s.destroyed) s.write(drip[i++ % drip.length]); }, every);
      resolve(c);
    });
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => { clearInterval(timer); if (c.closedAt === null) c.closedAt = Date.now() - t0; resolve(c); });
  });
}

test('trickling heads and bodies are cut at the deadline; other clients are served throughout', async () => {
  const t0 = Date.now();
  // A slowloris from 127.0.0.2: as many connections as the per-address limit, each trickling a
  // header one byte every 2 s.
  const loris = await Promise.all(Array.from({ length: PER_IP }, () =>
    trickle('127.0.0.2', 'GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ', 'abcdefgh', 2000, t0)));
  // One trickling head from 127.0.0.3, and a body trickling at 1 byte per 2 s from 127.0.0.4.
  const [head] = await Promise.all([trickle('127.0.0.3', 'GET /health HTTP/1.1\r\n', 'Xx: y\r\n', 2000, t0)]);
  const [body] = await Promise.all([trickle('127.0.0.4',
    'POST /health HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n', '{', 2000, t0)]);

  // While they last, 127.0.0.2 is refused (the limit is full) but 127.0.0.1 is served.
  let refused = false;
  for (let i = 0; i < 20 && !refused; i++) {
    refused = (await health('127.0.0.2')) !== 200;
    if (!refused) await sleep(250);
  }
  assert.ok(refused, 'the slowloris fills the per-address limit of 127.0.0.2');

  // Poll until every slow connection is closed and 127.0.0.2 is served again, serving
  // 127.0.0.1 all along; give up at 45 s (three times the deadline).
  let servedAgain = null;
  const served = [];
  while (Date.now() - t0 < 45000) {
    served.push(await health('127.0.0.1'));
    if (servedAgain === null && (await health('127.0.0.2')) === 200) servedAgain = Date.now() - t0;
    if (servedAgain !== null && head.closedAt !== null && body.closedAt !== null && loris.every((c) => c.closedAt !== null)) break;
    await sleep(500);
  }
  for (const c of [...loris, head, body]) c.sock.destroy();

  assert.ok(served.length > 5 && served.every((st) => st === 200), `127.0.0.1 served throughout: ${served.join(',')}`);
  assert.notEqual(head.closedAt, null, 'a head trickling one line every 2 s is cut');
  assert.ok(head.closedAt >= 10000, `not before the deadline (cut at ${head.closedAt} ms)`);
  assert.notEqual(body.closedAt, null, 'a body trickling 0.5 byte/s is cut');
  const open = loris.filter((c) => c.closedAt === null).length;
  assert.equal(open, 0, `${open} of the ${PER_IP} slowloris connections still open after 45 s`);
  assert.notEqual(servedAgain, null, '127.0.0.2 is served again once its slow connections are cut');
  assert.equal(ent.exited, null);
});

test('a head sent in pieces within the deadline, and a keep-alive idle a few seconds, are served', async () => {
  // A request whose head arrives in pieces well within the deadline is answered.
  const s = net.connect(ent.port, '127.0.0.1');
  await new Promise((r) => s.on('connect', r));
  let text = '';
  s.on('data', (d) => { text += d.toString('latin1'); });
  s.write('GET /health HTTP/1.1\r\n');
  await sleep(1000);
  s.write('Host: t\r\n');
  await sleep(1000);
  s.write('\r\n');
  for (let i = 0; i < 100 && !/\r\n\r\n[\s\S]*\}/.test(text); i++) await sleep(100);
  assert.match(text, /^HTTP\/1\.1 200 /);
  // The same connection, idle 3 s, then a second request: keep-alive still works.
  await sleep(3000);
  text = '';
  s.write('GET /health HTTP/1.1\r\nHost: t\r\n\r\n');
  for (let i = 0; i < 100 && !/\r\n\r\n[\s\S]*\}/.test(text); i++) await sleep(100);
  assert.match(text, /^HTTP\/1\.1 200 /);
  s.destroy();
});

// The gateway's own bound (deploy/nginx, deploy/traefik): nginx times a body only between two reads
// and buffers it before ent sees it, so a body trickling one byte every 2 s would hold a gateway
// connection for as long as its client likes. What bounds it is the number of requests in progress
// per client address (nginx's limit_conn, Traefik's inFlightReq: 256), answered 429 beyond; a body
// that stops altogether is cut after nginx's client_body_timeout (15 s). Through a cluster only.
const GATEWAY_PER_ADDRESS = 256;

/** GET path through the gateway from localAddress: { status, type }, status 0 when refused or timed out. */
function viaGateway(gw, localAddress, path = '/health') {
  return new Promise((resolve) => {
    const req = http.get({ host: gw.hostname, port: gw.port, path, localAddress, agent: false, timeout: 10000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'] }));
      res.on('error', () => resolve({ status: 0 }));
    });
    req.on('timeout', () => { req.destroy(); resolve({ status: 0 }); });
    req.on('error', () => resolve({ status: 0 }));
  });
}

test('through the gateway: trickling bodies are bounded per client address, a stalled body is cut, others are served', {
  skip: !TEST_URL && 'the gateway of a cluster (ENT_TEST_URL)',
}, async () => {
  const gw = new URL(TEST_URL);
  const t0 = Date.now();
  const open = (localAddress, head, drip, every) => new Promise((resolve) => {
    const c = { closedAt: null, sock: null };
    const s = net.connect({ host: gw.hostname, port: gw.port, localAddress });
    c.sock = s;
    let timer = null;
    s.on('connect', () => {
      s.write(head);
      if (drip) timer = setInterval(() => { if (!s.destroyed) s.write(drip); }, every);
      resolve(c);
    });
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => { clearInterval(timer); if (c.closedAt === null) c.closedAt = Date.now() - t0; resolve(c); });
  });
  const post = 'POST /api/support/tickets HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n';
  // 127.0.0.2: as many trickling bodies as the gateway lets one address have in progress.
  const loris = await Promise.all(Array.from({ length: GATEWAY_PER_ADDRESS }, () => open('127.0.0.2', post, '{', 2000)));
  // 127.0.0.3: a body that stops after its first bytes.
  const stalled = await open('127.0.0.3', `${post}{"subject":`, null, 0);
  try {
    // One more request from 127.0.0.2 is refused with the gateway's problem+json 429 (bounded wait:
    // nginx counts a connection once it has read its head).
    let refused = null;
    await until(async () => (refused = await viaGateway(gw, '127.0.0.2')).status === 429, 50, 200);
    assert.equal(refused.status, 429, 'the address has as many requests in progress as the gateway allows');
    assert.match(refused.type, /application\/problem\+json/);
    // Every other address is served meanwhile.
    assert.equal((await viaGateway(gw, '127.0.0.1')).status, 200);
    assert.equal((await viaGateway(gw, '127.0.0.4', '/api/auth/me')).status, 401, 'an API route too (no token)');
    assert.equal(loris.filter((c) => c.closedAt !== null).length, 0, 'a body trickling a byte every 2 s is still read (a pause under 15 s)');
    // The stalled body is cut after the gateway's 15 s without a byte (waited for at most 45 s).
    await until(async () => stalled.closedAt !== null, 90, 500);
    assert.notEqual(stalled.closedAt, null, 'a body that stops is cut by the gateway');
    assert.ok(stalled.closedAt >= 10000, `not before the body timeout (cut at ${stalled.closedAt} ms)`);
  } finally {
    for (const c of [...loris, stalled]) c.sock.destroy();
  }
  // Once its slow requests are gone, 127.0.0.2 is served again.
  const again = await until(async () => (await viaGateway(gw, '127.0.0.2')).status === 200, 50, 200);
  assert.ok(again, '127.0.0.2 served again once its slow requests are gone');
});
