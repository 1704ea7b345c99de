// Writes a gzip copy next to each text file of the built portal (dist/index.html, dist/assets/*),
// so that ent sends them compressed without compressing per request (see src/core/static.c).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const text = /\.(html|js|css|svg|json|map)$/;
const files = [join(dist, 'index.html'), ...readdirSync(join(dist, 'assets')).map((f) => join(dist, 'assets', f))];
let n = 0;
for (const f of files) {
  if (!text.test(f)) continue;
  writeFileSync(`${f}.gz`, gzipSync(readFileSync(f), { level: 9 }));
  n++;
}
console.log(`gzip copies of ${n} portal files written`);
