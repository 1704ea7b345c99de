// Every refusal a person can read is French, in every service: a sample of bad inputs (unknown
// ids, bodies that break the rules, wrong types, missing rights, a malformed upload, a file over
// the size limit, a full quota, an expired or revoked session) sent to the core, auth, users,
// cours, fichiers, notes, notifications, calendar, support, messagerie and chatbot. Each answer
// must be problem+json with a stable code, and its title, detail and field messages must read as
// French: a common English word there ("the", "must", "invalid", "not found" ...) fails the test,
// and so does a sentence with no French mark at all. Against a real `ent serve` (SQLite, or
// PostgreSQL with ENT_TEST_PG_URL).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnt, api, noise } from './lib/ent.mjs';
import { school, ok, NIL } from './lib/school.mjs';

const LIMIT = 64 * 1024; // ENT_MAX_UPLOAD of this server
const QUOTA = 3 * LIMIT; // ENT_QUOTA: bytes each teacher may store
let ent, s;
const ids = {};

/** Words that only English sentences have (checked on whole words, any case). */
const ENGLISH = /\b(the|must|is|are|was|be|not|no such|invalid|found|only|cannot|could|does|exists?|already|required|unknown|too|allowed|missing|expected|should|please|failed|error|your|you|with|this|that|nothing|may|of|to|and|has|have|for)\b/i;
/** Marks every French sentence here has: an accent, an apostrophe elision or a common short word. */
const FRENCH = /[àâçéèêëîïôûùœÉÀ]|\b(l|d|n|qu|s|c)['’]|\b(le|la|les|de|du|des|un|une|est|pas|ce|cette|au|aux|ou|et|en|vous|doit|ne|sur|par|pour)\b|\b(introuvable|inconnue?|invalides?|obligatoire|incorrecte?)\b/i;

/** The texts of a problem a person can read: title, detail, each field's message. */
function texts(p) {
  const out = [['title', p.title], ['detail', p.detail]];
  for (const [k, v] of Object.entries(p.errors || {})) out.push([`errors.${k}`, v]);
  return out;
}

/** Asserts r is a 4xx/5xx problem+json with a code and French words only; returns its JSON. */
function assertFrench(what, r, status) {
  if (status) assert.equal(r.status, status, `${what}: expected ${status}, got ${r.status}: ${r.text}`);
  assert.ok(r.status >= 400, `${what}: expected a refusal, got ${r.status}: ${r.text}`);
  assert.ok(r.status < 500, `${what}: a client's mistake answered ${r.status}: ${r.text}`);
  assert.equal(r.headers.get('content-type'), 'application/problem+json', `${what}: ${r.text}`);
  const p = r.json;
  assert.match(p.code || '', /^[a-z][a-z0-9_]*$/, `${what}: no stable code: ${r.text}`);
  for (const [k, v] of texts(p)) {
    assert.equal(typeof v, 'string', `${what}: ${k} missing: ${r.text}`);
    const m = ENGLISH.exec(v);
    assert.ok(!m, `${what}: ${k} reads as English ("${m && m[0]}"): ${v}`);
    if (k !== 'title') assert.match(v, FRENCH, `${what}: ${k} has no French word: ${v}`); // titles are two words
  }
  for (const k of Object.keys(p.errors || {})) assert.match((p.codes || {})[k] || '', /^[a-z][a-z0-9_]*$/, `${what}: errors.${k} has no code`);
  return p;
}

const as = (who, path, opts) => s.as(who, path, opts);
const post = (who, path, body) => as(who, path, { method: 'POST', body });
const patch = (who, path, body) => as(who, path, { method: 'PATCH', body });
const put = (who, path, body) => as(who, path, { method: 'PUT', body });
const del = (who, path) => as(who, path, { method: 'DELETE' });
const upload = (who, bytes, name = 'f.bin') =>
  as(who, `/api/fichiers?name=${encodeURIComponent(name)}`, { method: 'POST', raw: true, body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });

before(async () => {
  ent = await startEnt({ env: { ENT_MAX_UPLOAD: String(LIMIT), ENT_QUOTA: String(QUOTA) } });
  s = school(ent);
  s.add('admin', 'admin@fr.test', 'Ada Admin', 'admin');
  s.add('teacher', 'prof@fr.test', 'Paul Prof', 'enseignant');
  s.add('other', 'autre@fr.test', 'Olga Autre', 'enseignant');
  s.add('alice', 'alice@fr.test', 'Alice André', 'etudiant');
  ids.cls = await s.newClass('admin', '4e B');
  for (const who of ['alice', 'teacher']) await s.join('admin', ids.cls, who);
  ids.course = (await ok(post('teacher', '/api/cours', { title: 'Histoire', subject: 'histoire', class_ids: [ids.cls] }), 201)).id;
  const d = new Date();
  const y = d.getUTCMonth() >= 7 ? d.getUTCFullYear() : d.getUTCFullYear() - 1;
  ids.period = (await ok(post('admin', '/api/notes/periods', { name: 'Année', school_year: `${y}-${y + 1}`, starts_on: `${y}-09-01`, ends_on: `${y + 1}-07-05` }), 201)).id;
  ids.evaluation = (await ok(post('teacher', '/api/notes/evaluations', {
    course_id: ids.course, period_id: ids.period, title: 'Contrôle', date: d.toISOString().slice(0, 10), coefficient: 1, scale: 20,
  }), 201)).id;
  ids.ticket = (await ok(post('alice', '/api/support/tickets', { subject: 'Mot de passe', description: 'Je ne peux plus me connecter.', category: 'account' }), 201)).id;
});

after(async () => {
  await ent?.stop();
});

test('the core: unknown address, wrong method, malformed JSON, no token, a forged token', async () => {
  assertFrench('unknown route', await api(ent, '/api/nope'), 404);
  assertFrench('wrong method', await as('admin', '/api/users/me', { method: 'PUT', body: {} }), 405);
  assertFrench('malformed JSON', await as('admin', '/api/cours', { method: 'POST', raw: true, body: '{"title": "x",', headers: { 'Content-Type': 'application/json' } }), 400);
  assertFrench('not JSON', await as('admin', '/api/cours', { method: 'POST', raw: true, body: 'title=x', headers: { 'Content-Type': 'text/plain' } }), 415);
  assertFrench('no token', await api(ent, '/api/users/me'), 401);
  assertFrench('forged token', await api(ent, '/api/users/me', { headers: { Authorization: 'Bearer abc.def.ghi' } }), 401);
  assertFrench('bad cursor', await as('admin', '/api/users?cursor=AAAA'), 400);
  assertFrench('bad limit', await as('admin', '/api/cours?limit=-3'), 400);
});

test('users and auth: a bad account, a role that does not exist, a CSV that is not one, a student refused', async () => {
  assertFrench('bad user', await post('admin', '/api/users', { email: 'pas-une-adresse', given_name: '', family_name: 'X', role: 'directeur' }), 400);
  assertFrench('taken email', await post('admin', '/api/users', { email: 'alice@fr.test', given_name: 'A', family_name: 'B', role: 'etudiant' }), 409);
  assertFrench('unknown user', await as('admin', `/api/users/${NIL}`), 404);
  assertFrench('student lists users', await as('alice', '/api/users'), 403);
  assertFrench('wrong password', await put('alice', '/api/users/me/password', { current_password: 'faux-mot-de-passe', new_password: 'Nouveau-Mot-De-Passe-42' }));
  assertFrench('CSV as JSON', await as('admin', '/api/users/import', { method: 'POST', body: { a: 1 } }), 415);
  assertFrench('bad CSV', await as('admin', '/api/users/import', { method: 'POST', raw: true, body: 'prenom;nom\nA;B\n', headers: { 'Content-Type': 'text/csv' } }), 400);
  assertFrench('unknown class', await as('admin', `/api/users/classes/${NIL}`), 404);
  assertFrench('taken class name', await post('admin', '/api/users/classes', { name: '4e B' }), 409);
});

test('cours: bad course, unknown course and material, a student may not create', async () => {
  assertFrench('bad course', await post('teacher', '/api/cours', { title: '', class_ids: ['x'], extra: 1 }), 400);
  assertFrench('unknown course', await as('teacher', `/api/cours/${NIL}`), 404);
  assertFrench('student creates course', await post('alice', '/api/cours', { title: 'X', subject: 'x', class_ids: [ids.cls] }), 403);
  assertFrench('other teacher changes course', await patch('other', `/api/cours/${ids.course}`, { title: 'Y' }));
  assertFrench('unknown material', await as('teacher', `/api/cours/${ids.course}/materials/${NIL}`), 404);
  assertFrench('bad material', await post('teacher', `/api/cours/${ids.course}/materials`, { title: 'Fiche', file_id: 'pas-un-id' }), 400);
});

test('fichiers: unknown file, malformed uploads, a file over the limit, a full quota, a program', async () => {
  assertFrench('unknown file', await as('teacher', `/api/fichiers/${NIL}`), 404);
  assertFrench('unknown content', await as('teacher', `/api/fichiers/${NIL}/content`), 404);
  assertFrench('delete unknown', await del('teacher', `/api/fichiers/${NIL}`), 404);
  const big = assertFrench('over the limit', await upload('teacher', noise(LIMIT + 1)), 413);
  assert.equal(big.code, 'file_too_large');
  assert.equal(big.detail, 'Ce fichier dépasse la taille maximale autorisée (64 Ko) : réduisez-le ou envoyez-en un plus petit.');
  // Multipart: the limit is passed while the body streams in; the same answer.
  const fd = new FormData();
  fd.append('file', new Blob([noise(LIMIT + 1)]), 'gros.bin');
  const res = await fetch(ent.url + '/api/fichiers', { method: 'POST', body: fd, headers: { Authorization: `Bearer ${s.token('teacher')}` } });
  const streamed = assertFrench('over the limit, streamed', { status: res.status, headers: res.headers, text: '', json: await res.json() }, 413);
  assert.equal(streamed.code, 'file_too_large');
  assertFrench('no boundary', await as('teacher', '/api/fichiers', { method: 'POST', raw: true, body: Buffer.from('x'), headers: { 'Content-Type': 'multipart/form-data' } }), 400);
  const b = 'xYz';
  const cut = Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nbonjour`);
  const part = assertFrench('cut form', await as('teacher', '/api/fichiers', { method: 'POST', raw: true, body: cut, headers: { 'Content-Type': `multipart/form-data; boundary=${b}` } }), 400);
  assert.ok(part.errors.file, JSON.stringify(part));
  const nofile = Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--${b}--\r\n`);
  assertFrench('no file part', await as('teacher', '/api/fichiers', { method: 'POST', raw: true, body: nofile, headers: { 'Content-Type': `multipart/form-data; boundary=${b}` } }), 400);
  assertFrench('a program', await upload('teacher', Buffer.from('#!/bin/sh\nrm -rf "$HOME"\n'), 'notes.pdf'), 415);
  for (let i = 0; i < 3; i++) assert.equal((await upload('teacher', noise(LIMIT), `q${i}.bin`)).status, 201);
  const full = assertFrench('quota', await upload('teacher', noise(10), 'plus.bin'), 413);
  assert.equal(full.code, 'quota_exceeded');
  assert.match(full.detail, /^Votre espace de stockage \(192 Ko\) serait dépassé/);
  const mine = (await ok(as('teacher', '/api/fichiers'))).items[0].id;
  assertFrench('someone else deletes', await del('other', `/api/fichiers/${mine}`));
  assertFrench('bad range', await as('teacher', `/api/fichiers/${mine}/content`, { headers: { Range: `bytes=${LIMIT * 2}-` } }), 416);
});

test('notes: bad periods and evaluations, unknown ones, grades out of scale, rights', async () => {
  assertFrench('bad period', await post('admin', '/api/notes/periods', { name: '', school_year: '2026', starts_on: 'demain', ends_on: '2026-01-01' }), 400);
  assertFrench('unknown period', await patch('admin', `/api/notes/periods/${NIL}`, { name: 'T1' }), 404);
  assertFrench('delete used period', await del('admin', `/api/notes/periods/${ids.period}`), 409);
  assertFrench('bad evaluation', await post('teacher', '/api/notes/evaluations', { course_id: ids.course, period_id: ids.period, title: '', date: 'hier', coefficient: -1, scale: 0 }), 400);
  assertFrench('evaluation of unknown course', await post('teacher', '/api/notes/evaluations', { course_id: NIL, period_id: ids.period, title: 'X', date: '2026-01-01', coefficient: 1, scale: 20 }));
  assertFrench('other teacher adds', await post('other', '/api/notes/evaluations', { course_id: ids.course, period_id: ids.period, title: 'X', date: new Date().toISOString().slice(0, 10), coefficient: 1, scale: 20 }), 403);
  assertFrench('unknown evaluation', await as('teacher', `/api/notes/evaluations/${NIL}`), 404);
  assertFrench('bad change', await patch('teacher', `/api/notes/evaluations/${ids.evaluation}`, { scale: 'vingt' }), 400);
  assertFrench('grade out of scale', await put('teacher', `/api/notes/evaluations/${ids.evaluation}/grades`, { grades: [{ student_id: s.users.alice.id, status: 'graded', value: 25 }] }), 400);
  assertFrench('grade of a stranger', await put('teacher', `/api/notes/evaluations/${ids.evaluation}/grades`, { grades: [{ student_id: NIL, status: 'graded', value: 12 }] }), 400);
  assertFrench('grades of unknown evaluation', await put('teacher', `/api/notes/evaluations/${NIL}/grades`, { grades: [] }));
  assertFrench('grid of unknown course', await as('teacher', `/api/notes/courses/${NIL}/grid`), 404);
  assertFrench('grid by other teacher', await as('other', `/api/notes/courses/${ids.course}/grid`), 403);
  assertFrench('report of unknown student', await as('admin', `/api/notes/students/${NIL}`), 404);
  assertFrench('bad period filter', await as('alice', '/api/notes/me?period_id=abc'), 400);
  assertFrench('audit of unknown evaluation', await as('teacher', `/api/notes/evaluations/${NIL}/audit`), 404);
  assertFrench('close a year not over', await put('admin', `/api/notes/school-years/2099-2100`, { closed: true }));
});

test('notifications: bad filter, unknown notification, bad preferences', async () => {
  assertFrench('bad unread', await as('alice', '/api/notifications?unread=peut-etre'), 400);
  assertFrench('read unknown', await post('alice', `/api/notifications/${NIL}/read`, {}), 404);
  assertFrench('delete unknown', await del('alice', `/api/notifications/${NIL}`), 404);
  assertFrench('bad preferences', await put('alice', '/api/notifications/preferences', { preferences: [{ type: 'inconnu', enabled: true }, 3] }), 400);
  assertFrench('preferences not a list', await put('alice', '/api/notifications/preferences', { preferences: 'tout' }), 400);
});

test('calendar: bad event, bad rule, unknown event, rights, bad import', async () => {
  assertFrench('bad event', await post('teacher', '/api/calendar/events', { kind: 'fete', title: '', starts_at: 'demain', ends_at: 'hier' }), 400);
  assertFrench('bad rule', await post('alice', '/api/calendar/events', { kind: 'personal', title: 'Piano', starts_at: '2026-10-01T17:00:00Z', ends_at: '2026-10-01T18:00:00Z', rrule: 'FREQ=HOURLY' }), 400);
  assertFrench('unknown event', await as('alice', `/api/calendar/events/${NIL}`), 404);
  assertFrench('student holiday', await post('alice', '/api/calendar/events', { kind: 'holiday', title: 'Vacances', starts_at: '2026-10-01T00:00:00Z', ends_at: '2026-10-02T00:00:00Z' }), 403);
  assertFrench('unknown homework', await as('alice', `/api/calendar/homework/${NIL}`), 404);
  assertFrench('bad homework', await post('teacher', '/api/calendar/homework', { course_id: ids.course, title: '', due_at: 'lundi' }), 400);
  assertFrench('bad import', await as('teacher', `/api/calendar/import?course_id=${ids.course}`, { method: 'POST', raw: true, body: 'pas un agenda', headers: { 'Content-Type': 'text/calendar' } }), 400);
  assertFrench('timetable of unknown class', await as('teacher', `/api/calendar/timetable?class_id=${NIL}`));
});

test('support: bad ticket, unknown ticket, a student changing what staff decide, bad FAQ', async () => {
  assertFrench('bad ticket', await post('alice', '/api/support/tickets', { subject: '', category: 'autre-chose', priority: 'vite' }), 400);
  assertFrench('unknown ticket', await as('alice', `/api/support/tickets/${NIL}`), 404);
  assertFrench('student sets state', await patch('alice', `/api/support/tickets/${ids.ticket}`, { state: 'resolved', assignee_id: s.users.admin.id }));
  assertFrench('bad comment', await post('alice', `/api/support/tickets/${ids.ticket}/comments`, { body: '' }), 400);
  assertFrench('bad rating', await put('alice', `/api/support/tickets/${ids.ticket}/rating`, { rating: 9 }), 400);
  assertFrench('unknown field', await put('alice', `/api/support/tickets/${ids.ticket}/rating`, { stars: 9 }), 400);
  assertFrench('rating too early', await put('alice', `/api/support/tickets/${ids.ticket}/rating`, { rating: 4 }), 409);
  assertFrench('unknown FAQ', await as('alice', `/api/support/faq/${NIL}`), 404);
  assertFrench('student writes FAQ', await post('alice', '/api/support/faq', { question: 'Q ?', answer: 'R.' }), 403);
  assertFrench('bad SLA', await put('admin', '/api/support/sla/vite', { first_response_minutes: -1 }));
});

test('messagerie: bad message, unknown recipients and messages, unknown folder, bad settings', async () => {
  assertFrench('bad message', await post('alice', '/api/messages', { to: [], subject: '', body: '' }), 400);
  assertFrench('unknown recipient', await post('alice', '/api/messages', { to: [{ type: 'user', id: NIL }], subject: 'Bonjour', body: 'Texte' }));
  assertFrench('student writes to a class', await post('alice', '/api/messages', { to: [{ type: 'class', id: ids.cls }], subject: 'À tous', body: 'Texte' }));
  assertFrench('bad recipient', await post('alice', '/api/messages', { to: [{ type: 'planete', id: 'x' }], subject: 'Bonjour', body: 'Texte' }), 400);
  assertFrench('unknown message', await as('alice', `/api/messages/${NIL}`), 404);
  assertFrench('unknown thread', await as('alice', `/api/messages/threads/${NIL}`), 404);
  assertFrench('unknown folder', await del('alice', `/api/messages/folders/${NIL}`), 404);
  assertFrench('bad folder', await post('alice', '/api/messages/folders', { name: '' }), 400);
  assertFrench('bad settings', await put('alice', '/api/messages/settings', { quiet_start_minute: 5000, ooo_text: 3 }), 400);
  assertFrench('move unknown', await post('alice', `/api/messages/${NIL}/move`, { folder: 'trash' }));
  assertFrench('bad search', await as('alice', '/api/messages/search?limit=abc'), 400);
});

test('chatbot: empty question, unknown course and conversation, bad feedback', async () => {
  assertFrench('empty question', await post('alice', '/chatbot/ask', { question: '' }), 400);
  assertFrench('unknown course', await post('alice', '/chatbot/ask', { question: 'Quand a eu lieu la Révolution ?', course_id: NIL }), 404);
  assertFrench('unknown conversation', await post('alice', '/chatbot/ask', { question: 'Et ensuite ?', conversation_id: NIL }), 404);
  assertFrench('unknown interaction', await put('alice', `/chatbot/interactions/${NIL}/feedback`, { rating: 'up' }), 404);
  assertFrench('bad feedback', await put('alice', `/chatbot/interactions/${NIL}/feedback`, { rating: 'bof' }), 400);
  assertFrench('student excludes document', await del('alice', `/chatbot/documents/${NIL}`));
});

test('a session that is over: a token the server no longer takes is refused in French with its code', async () => {
  // Signed by no key of this server (what an expired or rotated-out token gets too).
  const p = assertFrench('foreign token', await api(ent, '/api/notes/me', { headers: { Authorization: `Bearer ${'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.e30.' + 'A'.repeat(342)}` } }), 401);
  assert.equal(p.code, 'unauthenticated');
  // A disabled account's token is refused too (its sessions end with it).
  s.add('gone', 'parti@fr.test', 'Paul Parti', 'etudiant');
  const t = s.token('gone');
  await ok(patch('admin', `/api/users/${s.users.gone.id}`, { disabled: true }));
  const q = assertFrench('disabled account', await api(ent, '/api/notifications', { headers: { Authorization: `Bearer ${t}` } }), 401);
  assert.equal(q.code, 'unauthenticated');
});

test('the English detector catches an English detail (the test itself can fail)', () => {
  const fake = (detail, errors, title = 'Introuvable') => ({ status: 404, headers: new Headers({ 'content-type': 'application/problem+json' }), text: detail, json: { title, code: 'not_found', detail, errors, codes: errors && { x: 'invalid' } } });
  for (const english of ['no such file', 'the file could not be read', 'invalid query', 'Not found', 'must be an object'])
    assert.throws(() => assertFrench('fake', fake(english), 404), /English|French/);
  assert.throws(() => assertFrench('fake', fake('Ce fichier n\'existe pas.', { x: 'is not a known type' }), 404), /English/);
  assert.throws(() => assertFrench('fake', fake('Ce fichier n\'existe pas.', undefined, 'Not Found'), 404), /English/);
  assert.throws(() => assertFrench('fake', fake('Fichier absent'), 404), /no French word/);
  assertFrench('fake', fake('Ce fichier n\'existe pas.', { x: "n'est pas un type connu" }), 404);
});
