// Service boundaries (DESIGN.md): a service owns its tables, and only its own SQL names them.
// Another service asks through the owner's C interface (users.h, cours.h ...) or reacts to its
// events. `ent tables` prints what each service declares it owns (struct service .tables); this
// test reads the SQL in every service's C sources (their string literals, adjacent ones joined as
// the compiler joins them) and fails on a table named by a service that does not own it, on a
// table created by a service that does not declare it, and on a declared table nobody creates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { entRun } from './lib/ent.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const servicesDir = join(root, 'src', 'services');

/** The SQL-looking text of a C file: its string literals, adjacent ones joined, with line numbers. */
export function literals(src) {
  const out = [];
  let i = 0, line = 1, cur = null;
  while (i < src.length) {
    const ch = src[i];
    if (ch === '\n') { line++; i++; continue; }
    if (ch === '/' && src[i + 1] === '*') { const e = src.indexOf('*/', i + 2); line += (src.slice(i, e).match(/\n/g) || []).length; i = e + 2; continue; }
    if (ch === '/' && src[i + 1] === '/') { i = src.indexOf('\n', i); continue; }
    if (ch === '\'') { i += src[i + 1] === '\\' ? 4 : 3; cur = null; continue; }
    if (ch === '"') {
      let j = i + 1, s = '';
      while (src[j] !== '"') { if (src[j] === '\\') { s += src[j + 1] === 'n' ? '\n' : src[j + 1]; j += 2; } else s += src[j++]; }
      if (cur) cur.text += s; else { cur = { line, text: s }; out.push(cur); }
      i = j + 1;
      continue;
    }
    // Whitespace, a macro's line continuation and the name of a macro holding SQL keep a literal open.
    if (/\s|\\/.test(ch)) { i++; continue; }
    const m = /^[A-Z][A-Z0-9_]*/.exec(src.slice(i, i + 64));
    if (m && cur) { i += m[0].length; continue; }
    cur = null;
    i++;
  }
  return out;
}

/** Tables a piece of SQL names: after FROM, JOIN, INTO, UPDATE, TABLE, INDEX ... ON. */
export function tablesNamed(sql) {
  const names = new Set();
  const re = /\b(?:FROM|JOIN|INTO|UPDATE|TABLE(?:\s+IF\s+NOT\s+EXISTS)?|ON(?=\s+\w+\s*\())\s+([a-z_][a-z0-9_]*)/gi;
  for (const m of sql.matchAll(re)) names.add(m[1].toLowerCase());
  return names;
}

function owners() {
  const r = entRun(['tables']);
  assert.equal(r.status, 0, r.stderr);
  const owner = new Map();
  for (const l of r.stdout.trim().split('\n')) {
    const [svc, table] = l.split(' ');
    assert.ok(!owner.has(table), `${table} is declared by ${owner.get(table)} and ${svc}`);
    owner.set(table, svc);
  }
  // The bus's own tables (src/bus): no service names them.
  for (const t of ['bus_outbox', 'bus_cursors', 'bus_applied']) owner.set(t, 'bus');
  return owner;
}

test('the scanner finds tables in joined literals and macros, and ignores comments', () => {
  const src = '/* FROM users */ s = db_prepare(c, "SELECT a FROM cours k"\n  " JOIN" " cours_classes cc ON 1");\n#define X "DELETE FROM " \\\n  "notes_grades"\n';
  const found = literals(src).flatMap((l) => [...tablesNamed(l.text)]);
  assert.deepEqual(found.sort(), ['cours', 'cours_classes', 'notes_grades']);
});

test('every service declares the tables it creates, and its SQL names only its own tables', () => {
  const owner = owners();
  assert.ok(owner.size > 20, 'ent tables lists the tables of every service');
  const problems = [];
  const created = new Map();
  const renamed = new Set();
  for (const svc of readdirSync(servicesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)) {
    for (const f of readdirSync(join(servicesDir, svc)).filter((x) => x.endsWith('.c'))) {
      const src = readFileSync(join(servicesDir, svc, f), 'utf8');
      for (const lit of literals(src)) {
        for (const m of lit.text.matchAll(/\bCREATE\s+(?:VIRTUAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)/gi)) created.set(m[1], svc);
        // A table rebuilt under a new name and renamed back (a migration changing a key) is the table it becomes.
        for (const m of lit.text.matchAll(/\bALTER\s+TABLE\s+([a-z_][a-z0-9_]*)\s+RENAME\s+TO\s+([a-z_][a-z0-9_]*)/gi)) renamed.add(m[1]);
        for (const t of tablesNamed(lit.text)) {
          const o = owner.get(t);
          if (o && o !== svc) problems.push(`src/services/${svc}/${f}:${lit.line}: names ${t}, a table of ${o}`);
        }
      }
    }
  }
  for (const [t, svc] of created) if (!renamed.has(t) && owner.get(t) !== svc) problems.push(`${svc} creates ${t} but does not declare it in .tables`);
  for (const [t, o] of owner) if (o !== 'bus' && !created.has(t)) problems.push(`${o} declares ${t}, which no migration creates`);
  assert.deepEqual(problems, []);
});
