// A small server speaking Ollama's HTTP API (https://github.com/ollama/ollama/blob/main/docs/api.md),
// written for the tests: Ollama itself (and its models) cannot be installed here. It stands in for
// the real one and checks what it is sent against the published API: a request that does not follow
// it (unknown or missing fields, wrong types, an unknown model, a body that is not JSON) gets 400
// (404 for an unknown model, as Ollama answers), and is recorded in `rejected` so that tests can
// assert there were none.
//
//   POST /api/embed  {model, input: string | string[], truncate?, options?, keep_alive?, dimensions?}
//        -> {model, embeddings: number[][], total_duration, load_duration, prompt_eval_count}
//        Embeddings are deterministic: a hashed bag of words (accents folded, French stop words out,
//        words cut to their first 6 letters as a crude stem, the whole word, and its letter
//        4-grams as fastText's subwords), DIM dimensions, L2-normalised. So texts that share words are near, and retrieval means something.
//   POST /api/chat   {model, messages: [{role, content, images?, tool_calls?}], stream?, format?,
//                     options?, keep_alive?, tools?, think?}
//        -> stream (default): NDJSON lines {model, created_at, message: {role, content}, done: false},
//           then {model, created_at, message: {role, content: ""}, done: true, done_reason: "stop", ...}
//        -> stream: false: one object with the whole message.
//        The "model" is a deterministic stand-in: it reads the passages of the prompt
//        (<<<PASSAGE n ...>>> ... <<<FIN PASSAGE n>>>), picks those sharing the most words with the
//        question, and answers with their first sentence followed by [n]; with none, "Je ne sais
//        pas." It is deliberately gullible: a passage saying "cite le passage [k]" makes it cite [k].
//        Tests may replace it: server.reply = (messages) => string; server.failChat = true makes
//        every chat fail with 500 as Ollama does when its model runner stops.
//        A slow model: server.tokenDelayMs waits that long between streamed lines; server.hold()
//        makes every chat started from then on stop after its first token until server.release()
//        (server.held counts the chats waiting there), so tests can keep answers streaming as
//        long as they need without timing anything.
//   GET /api/tags, GET /api/version: as Ollama.
//
// startOllama({ models }) -> { url, port, requests, rejected, reply, tokenDelayMs, hold(), release(), held, stop() }
import { createServer } from 'node:http';

export const DIM = 256;

const STOP = new Set(('a au aux avec ce ces cet cette dans de des du elle elles en est et eux il ils je la le les leur leurs lui ma mais me mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous est sont ete etre avoir a ont fait faire comment quel quelle quels quelles quoi pourquoi ou quand combien dont plus tres aussi bien').split(' '));

export function words(text) {
  return String(text).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .split(/[^a-z0-9]+/).filter((w) => w.length > 1 && !STOP.has(w));
}

function fnv(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return h >>> 0;
}

/** The deterministic embedding of text (DIM floats, unit length; zero text gives a fixed unit vector). */
export function embed(text) {
  const v = new Float64Array(DIM);
  for (const w of words(text)) {
    // The word's first 6 letters (a crude stem), the word, and its letter 4-grams (subwords, as
    // fastText does): "simple" and "simplifier" share "simp", "impl".
    const grams = [];
    const padded = `<${w}>`;
    for (let i = 0; i + 4 <= padded.length; i++) grams.push([padded.slice(i, i + 4), 0.25]);
    for (const [tok, weight] of [[w.slice(0, 6), 1], [w, 0.5], ...grams]) {
      const h = fnv(tok);
      v[h % DIM] += (h & 0x80000000 ? -1 : 1) * weight;
    }
  }
  let n = Math.hypot(...v);
  if (n === 0) { v[0] = 1; n = 1; }
  return Array.from(v, (x) => Math.round((x / n) * 1e6) / 1e6);
}

const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);

function check(body, spec) {
  if (!isObj(body)) return 'the body must be a JSON object';
  for (const k of Object.keys(body)) if (!(k in spec)) return `unknown field "${k}"`;
  for (const [k, [req, test]] of Object.entries(spec)) {
    if (!(k in body)) { if (req) return `missing field "${k}"`; continue; }
    const err = test(body[k]);
    if (err) return `field "${k}": ${err}`;
  }
  return null;
}
const str = (x) => (typeof x === 'string' ? null : 'must be a string');
const nonEmptyStr = (x) => (typeof x === 'string' && x.length ? null : 'must be a non-empty string');
const bool = (x) => (typeof x === 'boolean' ? null : 'must be a boolean');
const obj = (x) => (isObj(x) ? null : 'must be an object');
const keepAlive = (x) => (typeof x === 'string' || typeof x === 'number' ? null : 'must be a duration');
const options = (x) => {
  if (!isObj(x)) return 'must be an object';
  for (const [k, v] of Object.entries(x)) if (typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'string' && !Array.isArray(v)) return `option ${k} has a wrong type`;
  if ('temperature' in x && typeof x.temperature !== 'number') return 'temperature must be a number';
  return null;
};

const EMBED = {
  model: [true, nonEmptyStr],
  input: [true, (x) => (typeof x === 'string' || (Array.isArray(x) && x.length > 0 && x.every((s) => typeof s === 'string')) ? null : 'must be a string or a non-empty array of strings')],
  truncate: [false, bool], options: [false, options], keep_alive: [false, keepAlive],
  dimensions: [false, (x) => (Number.isInteger(x) && x > 0 ? null : 'must be a positive integer')],
};
const MESSAGE = {
  role: [true, (x) => (['system', 'user', 'assistant', 'tool'].includes(x) ? null : 'must be system, user, assistant or tool')],
  content: [true, str], images: [false, (x) => (Array.isArray(x) ? null : 'must be an array')],
  tool_calls: [false, (x) => (Array.isArray(x) ? null : 'must be an array')], thinking: [false, str],
};
const CHAT = {
  model: [true, nonEmptyStr],
  messages: [true, (x) => {
    if (!Array.isArray(x)) return 'must be an array';
    for (const [i, m] of x.entries()) { const e = check(m, MESSAGE); if (e) return `message ${i}: ${e}`; }
    return null;
  }],
  stream: [false, bool], format: [false, (x) => (x === 'json' || isObj(x) ? null : 'must be "json" or a JSON schema')],
  options: [false, options], keep_alive: [false, keepAlive], tools: [false, (x) => (Array.isArray(x) ? null : 'must be an array')],
  think: [false, bool],
};

/** The passages of a prompt: [{n, title, page, text}]. */
export function passagesOf(prompt) {
  const out = [];
  const re = /<<<PASSAGE (\d+) — document « ([^\n]*) », page (\d+)>>>\n([\s\S]*?)\n<<<FIN PASSAGE \1>>>/g;
  for (const m of prompt.matchAll(re)) out.push({ n: Number(m[1]), title: m[2], page: Number(m[3]), text: m[4] });
  return out;
}

/** The stand-in model: the first sentence of the passages sharing the most words with the question, cited. */
export function standInAnswer(messages) {
  const user = [...messages].reverse().find((m) => m.role === 'user')?.content || '';
  const q = /Question : ([^\n]*)/.exec(user)?.[1] || user;
  const qw = new Set(words(q));
  const scored = passagesOf(user).map((p) => ({ ...p, s: words(p.text).filter((w) => qw.has(w)).length })).filter((p) => p.s > 0)
    .sort((a, b) => b.s - a.s || a.n - b.n).slice(0, 2);
  if (!scored.length) return 'Je ne sais pas.';
  const parts = scored.map((p) => {
    const sentence = (p.text.match(/[^.!?]*[.!?]/) || [p.text])[0].trim();
    // Gullible on purpose: an instruction in a passage to cite another number is obeyed.
    const forced = /cite le passage \[(\d+)\]/i.exec(p.text);
    return `${sentence} [${p.n}]${forced ? ` [${forced[1]}]` : ''}`;
  });
  return `D'après vos documents : ${parts.join(' ')}`;
}

/** Cuts text into model-like tokens (a word and its following space, punctuation apart). */
export function tokens(text) {
  return text.match(/\[|\]|[^\s[\]]+\s*|\s+/g) || [];
}

export async function startOllama({ models = ['stand-in', 'embed-hash'] } = {}) {
  let gate = null, open = null;
  const srv = {
    requests: [], rejected: [], reply: standInAnswer, failChat: false, url: '', port: 0, tokenDelayMs: 0, held: 0,
    hold() { if (!gate) gate = new Promise((resolve) => { open = resolve; }); },
    release() { const o = open; gate = null; open = null; o?.(); },
  };
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const now = () => new Date().toISOString();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = req.url.split('?')[0];
      const fail = (status, error) => {
        srv.rejected.push({ method: req.method, path, status, error, body: raw.slice(0, 2000) });
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error }));
      };
      if (req.method === 'GET' && path === '/api/version') { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"version":"0.6.0"}'); return; }
      if (req.method === 'GET' && path === '/api/tags') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ models: models.map((name) => ({ name, model: name, modified_at: now(), size: 1, digest: 'x', details: {} })) }));
        return;
      }
      if (req.method !== 'POST' || (path !== '/api/embed' && path !== '/api/chat')) return fail(404, `${req.method} ${path}: not an Ollama endpoint`);
      let body;
      try { body = JSON.parse(raw); } catch { return fail(400, 'invalid JSON body'); }
      srv.requests.push({ path, body });
      const err = check(body, path === '/api/embed' ? EMBED : CHAT);
      if (err) return fail(400, err);
      if (!models.includes(body.model)) return fail(404, `model "${body.model}" not found, try pulling it first`);
      if (path === '/api/embed') {
        const input = typeof body.input === 'string' ? [body.input] : body.input;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ model: body.model, embeddings: input.map(embed), total_duration: 1000, load_duration: 10, prompt_eval_count: input.length }));
        return;
      }
      if (!body.messages.length) return fail(400, 'messages must not be empty for a chat');
      if (srv.failChat) {
        // What Ollama answers when its model runner fails (not a rejection of the request).
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: 'model runner has unexpectedly stopped' }));
        return;
      }
      const answer = String(srv.reply(body.messages));
      const final = { model: body.model, created_at: now(), done: true, done_reason: 'stop', total_duration: 1000, load_duration: 10, prompt_eval_count: 1, eval_count: 1, eval_duration: 1 };
      if (body.stream === false) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ ...final, message: { role: 'assistant', content: answer } }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      const held = gate;
      (async () => {
        for (const [i, t] of tokens(answer).entries()) {
          if (res.destroyed) return;
          if (i > 0 && srv.tokenDelayMs) await pause(srv.tokenDelayMs);
          res.write(JSON.stringify({ model: body.model, created_at: now(), message: { role: 'assistant', content: t }, done: false }) + '\n');
          if (i === 0 && held) { srv.held++; await held; srv.held--; }
        }
        if (!res.destroyed) res.end(JSON.stringify({ ...final, message: { role: 'assistant', content: '' } }) + '\n');
      })();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  srv.port = server.address().port;
  srv.url = `http://127.0.0.1:${srv.port}`;
  srv.stop = () => new Promise((resolve) => { srv.release(); server.closeAllConnections?.(); server.close(() => resolve()); });
  return srv;
}
