// etags.mjs - the first request of each user of a list, and the ETag it got (bench/district.sh).
//
// Usage: node bench/etags.mjs URL IN OUT
// IN is a request list of bench/scenario.lua (METHOD, PATH, TOKEN separated by tabs, GETs only);
// OUT gets the same requests with a fourth field, the ETag of the 200 that the first request of
// that line got (bench/revalidate.lua sends it back in If-None-Match). Fails on an answer other
// than 200 or without an ETag.
import { readFileSync, writeFileSync } from 'node:fs';

const [url, input, out] = process.argv.slice(2);
if (!url || !input || !out) {
  console.error('usage: node bench/etags.mjs URL IN OUT');
  process.exit(2);
}
const lines = readFileSync(input, 'utf8').split('\n').filter((l) => l);
const result = new Array(lines.length);
let next = 0;
await Promise.all(Array.from({ length: 8 }, async () => {
  while (next < lines.length) {
    const i = next++;
    const [method, path, token] = lines[i].split('\t');
    if (method !== 'GET') throw new Error(`etags.mjs: ${method} ${path}: only GETs are revalidated`);
    const r = await fetch(url + path, { headers: { Authorization: `Bearer ${token}` } });
    await r.arrayBuffer();
    const etag = r.headers.get('etag');
    if (r.status !== 200 || !etag) throw new Error(`etags.mjs: GET ${path}: ${r.status}, ETag ${etag}`);
    result[i] = [method, path, token, etag].join('\t');
  }
}));
writeFileSync(out, result.join('\n') + '\n');
