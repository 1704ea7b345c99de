// The portal's French words (web/src/lib/i18n.ts) under node: the TypeScript module is compiled by
// the portal's own Vite (transformWithOxc) and imported, no browser needed. Counts agree in number
// as French does (0 and 1 singular), and a problem is said in French from its codes, once, with
// the server's message only for a code the portal does not know.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
const { transformWithOxc } = await import(pathToFileURL(join(web, 'node_modules', 'vite', 'dist', 'node', 'index.js')).href);
const src = join(web, 'src', 'lib', 'i18n.ts');
const { code } = await transformWithOxc(readFileSync(src, 'utf8'), src, { lang: 'ts' });
const i18n = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);

test('counts agree in number: 0 and 1 singular, more plural', () => {
  assert.equal(i18n.count(0, 'classe créée', 'classes créées'), '0 classe créée');
  assert.equal(i18n.count(1, 'classe créée', 'classes créées'), '1 classe créée');
  assert.equal(i18n.count(2, 'classe créée', 'classes créées'), '2 classes créées');
  assert.equal(i18n.count(1500, 'élève', 'élèves'), '1\u202f500 élèves');
  assert.equal(i18n.consulted(0, 25), '0 élève sur 25 a consulté');
  assert.equal(i18n.consulted(1, 25), '1 élève sur 25 a consulté');
  assert.equal(i18n.consulted(12, 25), '12 élèves sur 25 ont consulté');
  assert.equal(i18n.plural(1.5, 'point', 'points'), 'point'); // French: 1,5 point
});

test('names take "de" or "d’" as French elides', () => {
  assert.equal(i18n.ofName('Alice André'), 'd’Alice André');
  assert.equal(i18n.ofName('Hélène Léger'), 'd’Hélène Léger');
  assert.equal(i18n.ofName('Paul Prof'), 'de Paul Prof');
});

test('a problem is said in French from its codes, each sentence once', () => {
  // The conflict on the e-mail: one sentence, not "… — email : …" after it.
  assert.equal(
    i18n.problemText({ status: 409, code: 'email_taken', detail: 'an account with this email exists already', errors: { email: 'an account with this email exists already' }, codes: { email: 'email_taken' } }),
    'Un compte existe déjà avec cette adresse e-mail.',
  );
  // Field errors: the field's French name and the text of its code, never the server's English.
  assert.equal(
    i18n.problemText({ status: 400, code: 'validation', detail: 'La requête contient des champs invalides.', errors: { email: 'email is not a valid address', given_name: 'is required' }, codes: { email: 'not_email', given_name: 'required' } }),
    "Certains champs sont à corriger. Adresse e-mail n'est pas une adresse e-mail valide ; Prénom est obligatoire.",
  );
  // A line of a batch: its number from 1, the field's name.
  assert.equal(
    i18n.problemText({ status: 400, code: 'validation', errors: { 'grades[2].value': 'doit être comprise entre 0 et 20 (le barème)' }, codes: { 'grades[2].value': 'range' } }),
    'Certains champs sont à corriger. Ligne 3, note doit être comprise entre 0 et 20 (le barème).',
  );
  // An unknown code (a newer server): its message is the fallback.
  assert.equal(i18n.problemText({ status: 400, code: 'validation', errors: { x: 'doit être pair' }, codes: { x: 'odd' } }), 'Certains champs sont à corriger. x doit être pair.');
  assert.equal(i18n.problemText({ status: 418, code: 'teapot', detail: 'Je suis une théière.' }), 'Je suis une théière.');
  assert.equal(i18n.problemText({ status: 415, code: 'file_type_refused', detail: 'x' }), i18n.PROBLEM_TEXT.file_type_refused);
  // An upload over a limit: the server's French detail, which says the limit.
  const big = 'Ce fichier dépasse la taille maximale autorisée (100 Mo) : réduisez-le ou envoyez-en un plus petit.';
  assert.equal(i18n.problemText({ status: 413, code: 'file_too_large', detail: big }), big);
  assert.equal(i18n.problemText({ status: 413, code: 'quota_exceeded', detail: 'Votre espace de stockage (2 Go) serait dépassé.' }), 'Votre espace de stockage (2 Go) serait dépassé.');
  // Every code the server gives a problem or a field has its French text.
  for (const c of ['validation', 'not_found', 'forbidden', 'conflict', 'too_large', 'rate_limited', 'unavailable', 'email_taken', 'self_demote', 'class_name_taken', 'year_closed', 'year_not_over', 'file_type_refused'])
    assert.ok(i18n.PROBLEM_TEXT[c], c);
  for (const c of ['required', 'unknown_field', 'not_email', 'not_uuid', 'not_utf8', 'not_date', 'year_closed', 'not_school_year'])
    assert.ok(i18n.FIELD_TEXT[c], c);
});

test('a session that ends and a login the provider refused are said in French by their codes', () => {
  // A token the API refused (401 "unauthenticated"): the login page's message.
  assert.equal(i18n.problemText({ status: 401, code: 'unauthenticated', detail: 'no active session' }), 'Votre session a expiré ou a été fermée : reconnectez-vous.');
  // The provider's OAuth error codes; its description (English at Keycloak) is never shown.
  assert.equal(i18n.loginErrorText('login_required'), null); // a silent login that found no session
  assert.equal(i18n.loginErrorText('interaction_required'), null);
  assert.match(i18n.loginErrorText('access_denied'), /^La connexion a été refusée/);
  assert.match(i18n.loginErrorText('temporarily_unavailable'), /momentanément indisponible/);
  for (const c of [undefined, 'invalid_request', 'server_error', 'something_new'])
    assert.match(i18n.loginErrorText(c), /^La connexion n'a pas abouti : réessayez\./);
});
