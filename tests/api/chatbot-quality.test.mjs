// The retrieval quality set (tests/api/chatbot-quality.json): 30 French questions over the course
// PDFs of `ent demo`, each with the document and page that answer it. Asked by an administrator (who
// reads every demo course, so each question is searched among all the demo documents), once on the
// embedded default (BM25) and once with ENT_VECTORS (the protocol servers of tests/services/ stand in
// for Qdrant and Ollama; their embeddings are a hashed bag of words, not a trained model). Measured
// on the ranking (`ent ask`, before the relevance floor): hit@3, the share of questions whose
// answering page is among the first three pages retrieved (what docs/chatbot.md calls precision@3),
// and hit@1; and on the answers: the share whose answer cites that page. The figures are printed; the test holds them
// above floors so that a change that makes retrieval worse is seen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { startEnt, ENT_BIN, TEST_URL } from './lib/ent.mjs';
import { school, ok, until } from './lib/school.mjs';
import { startOllama } from '../services/ollama.mjs';
import { startQdrant } from '../services/qdrant.mjs';

const set = JSON.parse(readFileSync(new URL('./chatbot-quality.json', import.meta.url), 'utf8')).questions;
let ollama, qdrant;
const figures = {};
// Below these, retrieval got worse than what docs/chatbot.md reports.
const FLOOR = 0.7;
const line = (name, f) => `${name}: ranking hit@3 ${f.hit3.toFixed(2)} (direct ${f.direct.toFixed(2)}, paraphrase ${f.paraphrase.toFixed(2)}), hit@1 ${f.hit1.toFixed(2)}; by course hit@3 ${f.course3.toFixed(2)}; answer cites the page ${f.answered3.toFixed(2)}; missed: ${f.misses.join(' | ')}`;

// The stand-ins listen on this machine's loopback: a cluster (ENT_TEST_URL) reaches them when it
// runs here too (tests/services/cluster.sh; its processes are restarted with these settings).
const skip = TEST_URL && !/^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(`${TEST_URL}/`)
  ? 'the Ollama and Qdrant stand-ins listen on this machine only' : false;

before(async () => {
  if (skip) return;
  ollama = await startOllama();
  qdrant = await startQdrant();
});
after(async () => {
  if (skip) return;
  await ollama.stop();
  await qdrant.stop();
  assert.deepEqual(ollama.rejected, []);
  // Through a cluster several processes run the chatbot and may create the collection at once:
  // Qdrant answers the later ones 409, and they read the collection as found (remote.c).
  const raced = (r) => TEST_URL && r.method === 'PUT' && r.path === '/collections/documents' && r.status === 409;
  assert.deepEqual(qdrant.rejected.filter((r) => !raced(r)), []);
});

/** `ent ask QUESTION` without blocking this process (its Ollama and Qdrant stand-ins answer from here). */
function entAsk(ent, question, byCourse = false) {
  return new Promise((resolve) => {
    const child = spawn(ENT_BIN, ['ask', ...(byCourse ? ['--by-course'] : []), question], { env: ent.env });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function measure(env, ready = async () => true) {
  const ent = await startEnt({ env: { ENT_CHATBOT_RATE: '1000', ...env } });
  try {
    const r = ent.run(['demo']);
    assert.equal(r.status, 0, r.stderr);
    const s = school(ent);
    s.add('admin', 'admin@quality.test', 'Ada Admin', 'admin');
    // The demo's materials are published on the bus and indexed by the running server.
    const indexedAll = await until(async () => {
      const a = await s.as('admin', '/chatbot/ask', { method: 'POST', body: { question: 'Napoléon Bonaparte empereur' } });
      const b = await s.as('admin', '/chatbot/ask', { method: 'POST', body: { question: 'angle obtus rapporteur' } });
      const c = await s.as('admin', '/chatbot/ask', { method: 'POST', body: { question: 'complément objet indirect préposition' } });
      return a.json?.answered && b.json?.answered && c.json?.answered;
    }, 120, 250);
    assert.ok(indexedAll, 'the demo documents are indexed');
    assert.ok(await until(ready, 120, 250), 'the vectors are written');
    // The ranking: `ent ask` prints the passages retrieved, best first (before the relevance floor).
    // The answer: the sources a user is shown (after the floor, at most three pages).
    // The ranking again as the search by course (`ent ask --by-course`: a teacher of every
    // course), the one students and teachers get (on SQLite, scored by ask.c rather than FTS5).
    const r3 = { direct: 0, paraphrase: 0 };
    let hit3 = 0, hit1 = 0, answered3 = 0, course3 = 0;
    const misses = [];
    const topOf = async (question, byCourse) => {
      const r = await entAsk(ent, question, byCourse);
      assert.equal(r.status, 0, r.stderr);
      const ranked = [];
      for (const l of r.stdout.trim().split('\n').filter(Boolean)) {
        const [, , page, , title] = l.split('\t');
        const key = `${title}#${page}`;
        if (!ranked.includes(key)) ranked.push(key);
      }
      return ranked.slice(0, 3);
    };
    for (const q of set) {
      const want = `${q.document}#${q.page}`;
      const top = await topOf(q.question, false);
      if (top.includes(want)) { hit3++; r3[q.kind]++; } else misses.push(`${q.question} → ${top.join(', ') || 'rien'} (attendu ${want})`);
      if (top[0] === want) hit1++;
      if ((await topOf(q.question, true)).includes(want)) course3++;
      const a = await ok(s.as('admin', '/chatbot/ask', { method: 'POST', body: { question: q.question } }));
      if (a.sources.slice(0, 3).some((x) => `${x.title}#${x.page}` === want)) answered3++;
    }
    const n = (k) => set.filter((q) => q.kind === k).length;
    return {
      hit3: hit3 / set.length, hit1: hit1 / set.length, direct: r3.direct / n('direct'), paraphrase: r3.paraphrase / n('paraphrase'),
      answered3: answered3 / set.length, course3: course3 / set.length, misses,
    };
  } finally {
    const e = await ent.stop();
    assert.equal(e.code, 0, ent.stderr.slice(-2000));
  }
}

test('precision@3 on the demo quality set: BM25 (embedded default)', { skip }, async (t) => {
  const f = await measure({});
  figures.bm25 = f;
  t.diagnostic(line('BM25', f));
  assert.ok(f.hit3 >= FLOOR, `BM25 hit@3 ${f.hit3}`);
  assert.ok(f.course3 >= FLOOR, `BM25 by course hit@3 ${f.course3}`);
});

test('precision@3 on the demo quality set: BM25 fused with vectors (reciprocal rank fusion)', { skip }, async (t) => {
  const f = await measure({
    ENT_VECTORS: `qdrant://127.0.0.1:${qdrant.port}`,
    ENT_EMBED_MODEL: `ollama://127.0.0.1:${ollama.port}?model=embed-hash`,
  }, async () => {
    // Every demo document has its points (the seven PDFs of src/services/cours/demo.c).
    const pts = [...(qdrant.collections.get('documents')?.points.values() || [])];
    return new Set(pts.map((p) => p.payload.document)).size === 7;
  });
  figures.fused = f;
  t.diagnostic(line('fused', f));
  assert.ok(f.hit3 >= FLOOR, `fused hit@3 ${f.hit3}`);
  assert.ok(f.course3 >= FLOOR, `fused by course hit@3 ${f.course3}`);
});
