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
import { startEnt } from './lib/ent.mjs';

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
