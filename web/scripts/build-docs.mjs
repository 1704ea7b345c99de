// Copies the API reference assets (Swagger UI from npm, our init script) into dist/docs,
// with a gzip copy of each so that ent can send them compressed without compressing per request.
import { mkdirSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const swagger = dirname(require.resolve('swagger-ui-dist/package.json'));
const out = join(here, '..', 'dist', 'docs');
mkdirSync(out, { recursive: true });

const files = [
  [join(swagger, 'swagger-ui-bundle.js'), 'swagger-ui-bundle.js'],
  [join(swagger, 'swagger-ui.css'), 'swagger-ui.css'],
  [join(here, '..', 'docs-src', 'init.js'), 'init.js'],
];
for (const [src, name] of files) {
  copyFileSync(src, join(out, name));
  writeFileSync(join(out, name + '.gz'), gzipSync(readFileSync(src), { level: 9 }));
}
console.log(`API reference assets written to ${out}`);
