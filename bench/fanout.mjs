// fanout.mjs - a teacher's message to a class, measured from the sender's side and from every
// recipient's: bench/district.sh runs it on the generated district.
//
// Usage: node bench/fanout.mjs URL [CLASSES [SENDS]]
// Environment: ENT_BIN and the server's settings (ENT_DATA, ENT_DB ...), so that `ent token`
// signs tokens the server accepts.
//
// For CLASSES teachers spread over the district (t1, t1+k ...; default 6), the first class the
// teacher may write to (GET /api/messages/recipients, a group of type class) and its students (GET
// /api/users/classes/{id} as the administrator). Every student of those classes opens their live
// stream (GET /api/messages/stream) and the tool waits for each one's `ready`. Then, one message
// at a time, class after class, each teacher sends SENDS messages (default 10) to their class
// (POST /api/messages, {"to":[{"type":"class","id":...}]}), 100 ms apart. For each message:
//   committed  from the request's start to the 201 (the transaction committed, the copy answered);
//   told       from the request's start to the moment the last of the class's streams received
//              the `message` event carrying the new id (or the 201, when it came later);
// both in milliseconds, p50, p99 and max over all messages, printed as one line
//   FANOUT_RESULT sends=N recipients=R committed_p50=... committed_p99=... committed_max=...
//                 told_p50=... told_p99=... told_max=... missed=M
// where missed counts the (message, stream) pairs not told within 5 s (the loop is bounded: a
// message waits 5 s at most). The teachers' hourly sending limit (100 messages) bounds SENDS.
import { execFileSync } from 'node:child_process';

const [url, classesText = '6', sendsText = '10'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node bench/fanout.mjs URL [CLASSES [SENDS]]');
  process.exit(2);
}
const ent = process.env.ENT_BIN || 'build/ent';
const nClasses = Number(classesText), sends = Number(sendsText);
if (!(nClasses >= 1 && sends >= 1 && sends <= 90)) {
  console.error('fanout: CLASSES must be 1 or more, SENDS 1 to 90');
  process.exit(2);
}
const scaleTeachers = Number(process.env.BENCH_SCALE || 20000) * 3 / 40;

const token = (emails) => execFileSync(ent, ['token', '--ttl', '3600', ...emails], { encoding: 'utf8' }).trim().split('\n');
async function get(path, tok) {
  const r = await fetch(url + path, { headers: { Authorization: `Bearer ${tok}` } });
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

// A live stream: records when each message id arrived; resolves `ready` on the first event.
function open(tok) {
  const ctrl = new AbortController();
  const st = { seen: new Map(), ctrl, waiters: [] };
  st.ready = (async () => {
    const r = await fetch(`${url}/api/messages/stream`, { headers: { Authorization: `Bearer ${tok}`, Accept: 'text/event-stream' }, signal: ctrl.signal });
    if (r.status !== 200) throw new Error(`stream: ${r.status}`);
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let text = '', readyResolve;
    const ready = new Promise((res) => { readyResolve = res; });
    (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          const at = performance.now();
          text += dec.decode(value, { stream: true });
          let end;
          while ((end = text.indexOf('\n\n')) >= 0) {
            const block = text.slice(0, end);
            text = text.slice(end + 2);
            const ev = /^event: (.*)$/m.exec(block)?.[1], id = /^id: (.*)$/m.exec(block)?.[1];
            if (ev === 'ready') readyResolve();
            if (ev === 'message' && id) {
              st.seen.set(id, at);
              st.waiters = st.waiters.filter((w) => !(w.id === id && (w.resolve(), true)));
            }
          }
        }
      } catch {
        // aborted at the end
      }
    })();
    await ready;
  })();
  st.told = (id) => (st.seen.has(id) ? Promise.resolve() : new Promise((resolve) => st.waiters.push({ id, resolve })));
  return st;
}

const [admin] = token(['admin@district.ent.local']);
const step = Math.max(1, Math.floor(scaleTeachers / nClasses));
const groups = [];
for (let i = 0; i < nClasses; i++) {
  const email = `t${1 + i * step}@district.ent.local`;
  const [tok] = token([email]);
  const rec = await get('/api/messages/recipients?q=', tok);
  const cls = rec.items.find((g) => g.type === 'class');
  if (!cls) continue;
  const members = (await get(`/api/users/classes/${cls.id}`, admin)).members.filter((m) => m.role === 'etudiant' && m.email);
  if (!members.length) continue;
  groups.push({ teacher: tok, cls, students: token(members.map((m) => m.email)) });
}
if (!groups.length) throw new Error('no teacher with a class found');
const streams = groups.map((g) => g.students.map(open));
await Promise.all(streams.flat().map((s) => s.ready));

const committed = [], told = [];
let missed = 0, recipients = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (let n = 0; n < sends; n++) {
  for (const [gi, g] of groups.entries()) {
    const t0 = performance.now();
    const r = await fetch(`${url}/api/messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${g.teacher}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ to: [{ type: 'class', id: g.cls.id }], subject: `Information ${n + 1} pour la classe`,
        body: 'Bonjour à tous,\n\nPensez à apporter votre manuel demain.\n\nBonne soirée.' }),
    });
    const t1 = performance.now();
    const sent = await r.json();
    if (r.status !== 201) throw new Error(`POST /api/messages: ${r.status} ${JSON.stringify(sent)}`);
    let timer;
    const timeout = new Promise((res) => { timer = setTimeout(() => res('timeout'), 5000); });
    await Promise.race([Promise.all(streams[gi].map((s) => s.told(sent.id))), timeout]);
    clearTimeout(timer);
    let last = t1;
    for (const s of streams[gi]) {
      if (s.seen.has(sent.id)) last = Math.max(last, s.seen.get(sent.id));
      else missed++;
    }
    committed.push(t1 - t0);
    told.push(last - t0);
    recipients += streams[gi].length;
    await sleep(100);
  }
}
for (const s of streams.flat()) s.ctrl.abort();

const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };
const f = (x) => x.toFixed(2);
console.log(`FANOUT_RESULT sends=${committed.length} recipients=${(recipients / committed.length).toFixed(1)}`
  + ` committed_p50=${f(pct(committed, 50))} committed_p99=${f(pct(committed, 99))} committed_max=${f(Math.max(...committed))}`
  + ` told_p50=${f(pct(told, 50))} told_p99=${f(pct(told, 99))} told_max=${f(Math.max(...told))} missed=${missed}`);
process.exit(0);
