// chatbot-corpus.mjs - the assistant's benchmark corpus and its S9 request list (bench/chatbot.sh).
//
// Usage: node bench/chatbot-corpus.mjs URL SCALE OUTDIR
// Environment: ENT_BIN and the server's settings (so that `ent token` signs tokens it accepts);
// BENCH_DOCS (documents, default 1400), BENCH_PAGES (pages each, default 25), BENCH_USERS
// (students sampled for S9, default 1000), BENCH_SEED.
//
// On a district made by `ent demo --scale N`, the administrator uploads BENCH_DOCS course PDFs of
// BENCH_PAGES pages of generated French course text each (tests/api/lib/pdf.mjs: real PDFs that
// poppler reads) and publishes them as materials of the district's courses, round robin. A page
// holds about 300 words (passages of 180 words overlapping by 40, never across pages: about
// three a page), so the defaults make 35,000 pages and about 100,000 passages. The text is drawn
// with a seed: each document is about a dozen nouns of one of five domains (its topic) among the
// domain's 470 (real and made-up), with common verbs and adjectives, so that the index has long
// posting lists (verbs, adjectives, a domain's frequent nouns) and short ones, as course text has.
//
// Then OUTDIR/s9.txt (bench/scenario.lua's format): POST /chatbot/ask by sampled students, each
// question made of three or four content words of a sentence of a document of one of that
// student's courses (so most are answered, as a student's question about their course would
// be). OUTDIR/corpus.json: documents, pages, how long the upload took.
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makePdf } from '../tests/api/lib/pdf.mjs';

const [url, scaleText, out] = process.argv.slice(2);
const scale = Number(scaleText);
if (!url || !scale || !out) {
  console.error('usage: node bench/chatbot-corpus.mjs URL SCALE OUTDIR');
  process.exit(2);
}
const ent = process.env.ENT_BIN || 'build/ent';
const nDocs = Number(process.env.BENCH_DOCS || 1400);
const nPages = Number(process.env.BENCH_PAGES || 25);
const nUsers = Number(process.env.BENCH_USERS || 1000);
let seed = Number(process.env.BENCH_SEED || 17);
mkdirSync(out, { recursive: true });

const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
// Zipf-like: index i drawn with weight 1/(i+1).
function zipf(list) {
  const w = list.map((_, i) => 1 / (i + 1));
  const total = w.reduce((a, b) => a + b, 0);
  const cum = [];
  let acc = 0;
  for (const x of w) { acc += x / total; cum.push(acc); }
  return () => { const r = rnd(); let lo = 0, hi = cum.length - 1; while (lo < hi) { const m = (lo + hi) >> 1; if (cum[m] < r) lo = m + 1; else hi = m; } return list[lo]; };
}

// Five domains (mathematics, life sciences, physics and chemistry, history, French, geography:
// the lines below), each with its real nouns and 400 made-up words of its own (syllables drawn
// with the seed: "bralitude", "ménoçage" ...), as a subject's rarer vocabulary.
const DOMAINS = [
  'fraction numérateur dénominateur angle rapporteur triangle cercle rayon diamètre périmètre aire volume équation inconnue fonction courbe tableau graphique proportion pourcentage nombre entier décimal division multiplication addition soustraction puissance racine théorème démonstration propriété figure symétrie axe droite segment milieu médiatrice bissectrice hauteur',
  'cellule noyau membrane organe tissu plante feuille tige fleur graine fruit pollen photosynthèse respiration digestion sang cœur poumon muscle squelette os nerf cerveau neurone hormone bactérie virus microbe vaccin écosystème chaîne espèce évolution fossile roche volcan séisme plaque relief érosion climat',
  'atome molécule électron ion masse énergie force vitesse mouvement trajectoire lumière son onde circuit courant tension résistance pile lampe interrupteur moteur aimant métal solution mélange dissolution réaction combustion oxygène carbone hydrogène azote eau vapeur glace fusion température',
  'roi reine empereur révolution république monarchie constitution assemblée citoyen peuple noblesse clergé paysan bourgeoisie guerre paix traité bataille armée frontière territoire colonie empire commerce port château église cathédrale monastère seigneur vassal chevalier croisade philosophe encyclopédie liberté égalité impôt',
  'récit roman conte fable poème vers strophe rime narrateur personnage héros dialogue description portrait argument thèse exemple paragraphe phrase verbe sujet complément adjectif adverbe pronom déterminant conjonction préposition orthographe accord lexique synonyme antonyme métaphore comparaison carte paysage population densité migration agriculture industrie transport réseau mondialisation ressource pétrole océan continent fleuve montagne plaine littoral désert forêt métropole',
].map((line) => line.split(' '));
const SYL = ['bra', 'li', 'tu', 'mé', 'no', 'ça', 'gé', 'ron', 'pla', 'vi', 'cor', 'dal', 'sé', 'fu', 'tan', 'quo', 'ri', 'mon', 'pé', 'ste', 'lu', 'var', 'chi', 'bé', 'dro', 'nal', 'gri', 'fé', 'ma', 'zo'];
const END = ['tude', 'age', 'ment', 'ure', 'ion', 'ette', 'isme', 'eur', 'ance', 'ise'];
for (const pool of DOMAINS) {
  const seen = new Set(pool);
  while (pool.length < 470) {
    const w = Array.from({ length: 2 + Math.floor(rnd() * 2) }, () => SYL[Math.floor(rnd() * SYL.length)]).join('') + END[Math.floor(rnd() * END.length)];
    if (!seen.has(w)) { seen.add(w); pool.push(w); }
  }
}
const VERBS = ('explique montre décrit présente transforme produit contient permet provoque entraîne dépend compare mesure calcule représente relie sépare protège absorbe rejette utilise fabrique conserve modifie augmente diminue organise définit étudie raconte annonce oppose accompagne traverse domine conquiert gouverne').split(' ');
const ADJS = ('important principal simple complexe rapide lent grand petit nouveau ancien politique économique social naturel chimique physique électrique solide liquide gazeux vivant végétal animal humain royal national européen moderne médiéval littéraire narratif égal parallèle perpendiculaire positif négatif régulier central').split(' ');
const DETS = ['le', 'la', 'les', 'un', 'une', 'des', 'ce', 'cette', 'chaque'];
const PREPS = ['dans', 'avec', 'pour', 'par', 'sur', 'entre', 'selon', 'sans', 'vers', 'avant', 'après'];
const verb = zipf(VERBS), adj = zipf(ADJS);
const pick = (l) => l[Math.floor(rnd() * l.length)];

// A document is about a dozen nouns of its domain (its topic), which most of its sentences use;
// the others come from the whole domain.
function documentPages(domain, nPages) {
  const pool = DOMAINS[domain];
  const topic = Array.from({ length: 12 }, () => pick(pool));
  const noun = () => (rnd() < 0.6 ? pick(topic) : pick(pool));
  const sentence = () => {
    const s = `${pick(DETS)} ${noun()} ${adj()} ${verb()} ${pick(DETS)} ${noun()} ${pick(PREPS)} ${pick(DETS)} ${noun()}${rnd() < 0.5 ? ` ${adj()}` : ''}.`;
    return s[0].toUpperCase() + s.slice(1);
  };
  return Array.from({ length: nPages }, () => {
    const sentences = [];
    let words = 0;
    while (words < 300) { const s = sentence(); sentences.push(s); words += s.split(' ').length; }
    return sentences;
  });
}

function tokens(emails) {
  const all = [];
  for (let i = 0; i < emails.length; i += 200) {
    const r = execFileSync(ent, ['token', '--ttl', '3600', ...emails.slice(i, i + 200)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    all.push(...r.trim().split('\n'));
  }
  if (all.length !== emails.length) throw new Error(`expected ${emails.length} tokens, got ${all.length}`);
  return all;
}
// A 503 (the database busy: the server indexes documents in the bus's write transaction while
// uploads come in) is retried a few times, as a client would.
async function call(method, path, token, body, attempt = 0) {
  const r = await fetch(url + path, { method, headers: { Authorization: `Bearer ${token}`, ...(body && !(body instanceof FormData) ? { 'Content-Type': 'application/json' } : {}) }, body: body instanceof FormData ? body : body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  if (r.status === 503 && attempt < 8) {
    await new Promise((resolve) => setTimeout(resolve, 500 * (attempt + 1)));
    return call(method, path, token, body, attempt + 1);
  }
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}
async function pool(n, count, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (next < count) { const i = next++; await fn(i); } }));
}

const [admin] = tokens(['admin@district.ent.local']);
// Every course of the district (the administrator reads them all).
const courses = [];
for (let cursor = ''; ;) {
  const r = await call('GET', `/api/cours?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, admin);
  courses.push(...r.items.map((c) => c.id));
  if (!r.next_cursor) break;
  cursor = r.next_cursor;
}
if (!courses.length) throw new Error('no course in the district');

// The documents: their first page's sentences are kept for the questions.
const firstSentences = new Map(); // course -> [sentences]
const t0 = Date.now();
let done = 0;
await pool(2, nDocs, async (i) => {
  const course = courses[i % courses.length];
  const pages = documentPages(i % DOMAINS.length, nPages);
  const pdf = makePdf(pages.map((p) => p.join(' ')));
  const fd = new FormData();
  fd.append('file', new Blob([pdf], { type: 'application/pdf' }), `chapitre-${i + 1}.pdf`);
  const f = await call('POST', '/api/fichiers', admin, fd);
  await call('POST', `/api/cours/${course}/materials`, admin, { title: `Chapitre ${i + 1}`, file_id: f.id });
  const keep = firstSentences.get(course) || [];
  keep.push(...pages[Math.floor(rnd() * pages.length)].slice(0, 4));
  firstSentences.set(course, keep);
  if (++done % 100 === 0) process.stderr.write(`\rbench: ${done}/${nDocs} documents uploaded`);
});
process.stderr.write('\n');
const uploadSeconds = (Date.now() - t0) / 1000;

// S9: sampled students, each asking about a sentence of one of their courses' documents.
// Sampled evenly over the district's students (s1, s1+k, ...), as bench/prepare.mjs does.
const n = Math.min(nUsers, scale);
const students = Array.from({ length: n }, (_, i) => `s${1 + Math.floor((i * scale) / n)}@district.ent.local`);
const studentTokens = tokens(students);
const lines = [];
await pool(8, studentTokens.length, async (i) => {
  const t = studentTokens[i];
  const mine = (await call('GET', '/api/cours?limit=20', t)).items.map((c) => c.id).filter((c) => firstSentences.has(c));
  if (!mine.length) return;
  for (let q = 0; q < 4; q++) {
    const s = pick(firstSentences.get(pick(mine)));
    const words = s.replace(/[.]/g, '').split(' ').filter((w) => !DETS.includes(w.toLowerCase()) && !PREPS.includes(w));
    const chosen = words.filter(() => rnd() < 0.75).slice(0, 4);
    const question = `Que dit le cours sur ${chosen.join(' ')} ?`;
    lines.push(['POST', '/chatbot/ask', t, JSON.stringify({ question })].join('\t'));
  }
});
// A seeded shuffle, so each wrk thread sees many users.
for (let i = lines.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [lines[i], lines[j]] = [lines[j], lines[i]]; }
writeFileSync(join(out, 's9.txt'), lines.join('\n') + '\n');
writeFileSync(join(out, 'corpus.json'), JSON.stringify({ documents: nDocs, pages: nDocs * nPages, courses: courses.length, upload_seconds: uploadSeconds, questions: lines.length }));
console.error(`bench: ${nDocs} documents of ${nPages} pages over ${courses.length} courses in ${uploadSeconds.toFixed(1)} s; ${lines.length} questions`);
