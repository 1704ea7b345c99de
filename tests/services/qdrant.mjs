// A small server speaking Qdrant's REST API (https://api.qdrant.tech/api-reference), written for
// the tests: Qdrant cannot be installed here. It stands in for the real one, keeps its collections
// in memory, and checks every request against the published API: unknown or missing fields, wrong
// types, a collection created without its vectors' size, a point id that is neither an unsigned
// integer nor a UUID, a vector of the wrong size, a malformed filter: 400 with Qdrant's error
// envelope ({"status": {"error": "..."}, "time": ...}), recorded in `rejected` (a 404 for a
// collection that does not exist is an answer, not a rejection). Like Qdrant in strict
// mode, it also refuses a query filtering on a payload key that has no payload index.
//
//   GET    /collections/{name}                      -> {result: {status, config: {params: {vectors: {size, distance}}}, points_count, payload_schema}}
//   PUT    /collections/{name}                      {vectors: {size, distance}, ...}      (409 when it exists)
//   DELETE /collections/{name}
//   PUT    /collections/{name}/index                {field_name, field_schema}
//   PUT    /collections/{name}/points               {points: [{id, vector, payload?}]}
//   POST   /collections/{name}/points/delete        {points: [id...]} | {filter}
//   POST   /collections/{name}/points/query         {query: number[] | {nearest: number[]}, filter?, limit?, offset?, score_threshold?, with_payload?, with_vector?}
//   POST   /collections/{name}/points/search        {vector, limit, filter?, offset?, score_threshold?, with_payload?, with_vector?}
//   POST   /collections/{name}/points/count         {filter?, exact?}
//   POST   /collections/{name}/points/scroll        {filter?, limit?, offset?, with_payload?, with_vector?}
//   ?wait=true|false is accepted on writes. Filters: must / should / must_not / min_should of
//   {key, match: {value} | {any} | {except}}, {has_id}, or a nested filter.
//
// With an API key (startQdrant({ apiKey })), as Qdrant with service.api_key set, every request must
// carry it in the `api-key` header (or `Authorization: Bearer KEY`): without it or with another,
// 401 with "Must provide an API key or an Authorization bearer token" (recorded in `rejected` and
// in `unauthorized`).
//
// startQdrant({ apiKey? }) -> { url, port, collections, requests, rejected, unauthorized, stop() }
import { createServer } from 'node:http';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DISTANCES = ['Cosine', 'Euclid', 'Dot', 'Manhattan'];
const SCHEMAS = ['keyword', 'integer', 'float', 'bool', 'geo', 'datetime', 'text', 'uuid'];
const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);

class Bad extends Error { constructor(msg, status = 400) { super(msg); this.status = status; } }
const bad = (msg) => { throw new Bad(msg); };

function only(body, allowed, what) {
  if (!isObj(body)) bad(`Format error in JSON body: ${what} must be an object`);
  for (const k of Object.keys(body)) if (!allowed.includes(k)) bad(`Format error in JSON body: unknown field \`${k}\` in ${what}`);
}

function pointId(id) {
  if (Number.isInteger(id) && id >= 0) return String(id);
  if (typeof id === 'string' && UUID.test(id)) return id.toLowerCase();
  return bad(`Format error in JSON body: value ${JSON.stringify(id)} is not a valid point ID, valid values are either an unsigned integer or a UUID`);
}

function vectorOf(v, size, what) {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) bad(`Format error in JSON body: ${what} must be an array of numbers`);
  if (v.length !== size) bad(`Wrong input: Vector dimension error: expected dim: ${size}, got ${v.length}`);
  return v;
}

function checkFilter(f, keys) {
  only(f, ['must', 'should', 'must_not', 'min_should'], 'filter');
  for (const clause of ['must', 'should', 'must_not']) {
    if (!(clause in f) || f[clause] === null) continue;
    const conds = Array.isArray(f[clause]) ? f[clause] : [f[clause]];
    for (const c of conds) checkCondition(c, keys);
  }
  if ('min_should' in f) {
    only(f.min_should, ['conditions', 'min_count'], 'min_should');
    for (const c of f.min_should.conditions || []) checkCondition(c, keys);
  }
}

function checkCondition(c, keys) {
  if (!isObj(c)) bad('Format error in JSON body: a condition must be an object');
  if ('has_id' in c) { only(c, ['has_id'], 'has_id condition'); if (!Array.isArray(c.has_id)) bad('has_id must be an array'); c.has_id.forEach(pointId); return; }
  if ('must' in c || 'should' in c || 'must_not' in c) return checkFilter(c, keys);
  only(c, ['key', 'match', 'range', 'is_empty', 'is_null', 'values_count', 'geo_radius', 'geo_bounding_box'], 'field condition');
  if (typeof c.key !== 'string' || !c.key) bad('Format error in JSON body: a field condition needs a key');
  if (!('match' in c)) bad(`the test server only evaluates match conditions (key ${c.key})`);
  only(c.match, ['value', 'any', 'except', 'text'], 'match');
  const kinds = Object.keys(c.match);
  if (kinds.length !== 1) bad('Format error in JSON body: match needs exactly one of value, any, except, text');
  const scalar = (x) => typeof x === 'string' || Number.isInteger(x) || typeof x === 'boolean';
  if ('value' in c.match && !scalar(c.match.value)) bad('Format error in JSON body: match.value must be a string, an integer or a boolean');
  for (const k of ['any', 'except']) if (k in c.match && (!Array.isArray(c.match[k]) || !c.match[k].every(scalar))) bad(`Format error in JSON body: match.${k} must be an array of strings or integers`);
  keys.add(c.key);
}

function matches(p, f) {
  if (!f) return true;
  const cond = (c) => {
    if ('has_id' in c) return c.has_id.map(pointId).includes(p.id);
    if ('must' in c || 'should' in c || 'must_not' in c) return matches(p, c);
    const v = p.payload?.[c.key];
    const vals = Array.isArray(v) ? v : v === undefined ? [] : [v];
    if ('value' in c.match) return vals.includes(c.match.value);
    if ('any' in c.match) return vals.some((x) => c.match.any.includes(x));
    if ('except' in c.match) return !vals.some((x) => c.match.except.includes(x));
    if ('text' in c.match) return vals.some((x) => typeof x === 'string' && x.includes(c.match.text));
    return false;
  };
  const list = (x) => (x == null ? [] : Array.isArray(x) ? x : [x]);
  if (!list(f.must).every(cond)) return false;
  if (list(f.must_not).some(cond)) return false;
  const should = list(f.should);
  if (should.length && !should.some(cond)) return false;
  if (f.min_should && f.min_should.conditions.filter(cond).length < f.min_should.min_count) return false;
  return true;
}

function score(distance, a, b) {
  let dot = 0, na = 0, nb = 0, eu = 0, man = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; eu += (a[i] - b[i]) ** 2; man += Math.abs(a[i] - b[i]); }
  if (distance === 'Cosine') return na && nb ? dot / Math.sqrt(na * nb) : 0;
  if (distance === 'Dot') return dot;
  if (distance === 'Euclid') return Math.sqrt(eu);
  return man;
}
const higherIsBetter = (d) => d === 'Cosine' || d === 'Dot';

export async function startQdrant({ apiKey = '' } = {}) {
  const collections = new Map();
  const srv = { collections, requests: [], rejected: [], unauthorized: [], url: '', port: 0 };
  let opId = 0;

  function coll(name) {
    const c = collections.get(name);
    if (!c) throw new Bad(`Not found: Collection \`${name}\` doesn't exist!`, 404);
    return c;
  }

  function search(c, body, vector) {
    const keys = new Set();
    if (body.filter != null) checkFilter(body.filter, keys);
    for (const k of keys) if (!c.indexes.has(k)) bad(`Bad request: Index required but not found for "${k}" of one of the following types: [keyword]. Help: Create an index for this key or use a different filter.`);
    const limit = body.limit ?? 10, offset = body.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 0) bad('Format error in JSON body: limit must be an unsigned integer');
    if (!Number.isInteger(offset) || offset < 0) bad('Format error in JSON body: offset must be an unsigned integer');
    if (body.score_threshold != null && typeof body.score_threshold !== 'number') bad('Format error in JSON body: score_threshold must be a number');
    for (const k of ['with_payload', 'with_vector']) if (k in body && typeof body[k] !== 'boolean' && !Array.isArray(body[k])) bad(`Format error in JSON body: ${k} must be a boolean or a list of keys`);
    const hib = higherIsBetter(c.distance);
    let pts = [...c.points.values()].filter((p) => matches(p, body.filter)).map((p) => ({ p, s: score(c.distance, vector, p.vector) }));
    if (body.score_threshold != null) pts = pts.filter((x) => (hib ? x.s >= body.score_threshold : x.s <= body.score_threshold));
    pts.sort((a, b) => (hib ? b.s - a.s : a.s - b.s) || (a.p.id < b.p.id ? -1 : 1));
    return pts.slice(offset, offset + limit).map(({ p, s }) => ({
      id: /^\d+$/.test(p.id) ? Number(p.id) : p.id, version: p.version, score: s,
      ...(body.with_payload ? { payload: p.payload } : {}),
      ...(body.with_vector ? { vector: p.vector } : {}),
    }));
  }

  function handle(method, path, query, body) {
    const m = /^\/collections\/([A-Za-z0-9_-]+)(\/.*)?$/.exec(path);
    if (method === 'GET' && path === '/collections') return { collections: [...collections.keys()].map((name) => ({ name })) };
    if (!m) throw new Bad(`Not found: ${method} ${path}`, 404);
    const [, name, rest = ''] = m;
    if (query.has('wait') && !['true', 'false'].includes(query.get('wait'))) bad('Format error in query string: wait must be true or false');
    if (rest === '') {
      if (method === 'GET') {
        const c = coll(name);
        return { status: 'green', optimizer_status: 'ok', points_count: c.points.size, indexed_vectors_count: 0, segments_count: 1,
          config: { params: { vectors: { size: c.size, distance: c.distance }, shard_number: 1, replication_factor: 1 } },
          payload_schema: Object.fromEntries([...c.indexes].map(([k, v]) => [k, { data_type: v, points: c.points.size }])) };
      }
      if (method === 'PUT') {
        only(body, ['vectors', 'shard_number', 'replication_factor', 'write_consistency_factor', 'on_disk_payload', 'hnsw_config', 'optimizers_config', 'wal_config', 'quantization_config', 'sparse_vectors', 'strict_mode_config'], 'collection');
        if (!isObj(body.vectors)) bad('Format error in JSON body: missing field `vectors`');
        only(body.vectors, ['size', 'distance', 'hnsw_config', 'quantization_config', 'on_disk', 'datatype', 'multivector_config'], 'vectors');
        if (!('size' in body.vectors)) bad('Format error in JSON body: missing field `size`');
        if (!Number.isInteger(body.vectors.size) || body.vectors.size < 1 || body.vectors.size > 65536) bad('Validation error in JSON body: [vectors.size: value must be an integer from 1 to 65536]');
        if (!DISTANCES.includes(body.vectors.distance)) bad(`Format error in JSON body: vectors.distance must be one of ${DISTANCES.join(', ')}`);
        if (collections.has(name)) throw new Bad(`Wrong input: Collection \`${name}\` already exists!`, 409);
        collections.set(name, { size: body.vectors.size, distance: body.vectors.distance, points: new Map(), indexes: new Map() });
        return true;
      }
      if (method === 'DELETE') return collections.delete(name);
    }
    const c = coll(name);
    if (method === 'PUT' && rest === '/index') {
      only(body, ['field_name', 'field_schema'], 'index');
      if (typeof body.field_name !== 'string' || !body.field_name) bad('Format error in JSON body: missing field `field_name`');
      const fs = isObj(body.field_schema) ? body.field_schema.type : body.field_schema;
      if (!SCHEMAS.includes(fs)) bad(`Format error in JSON body: field_schema must be one of ${SCHEMAS.join(', ')}`);
      c.indexes.set(body.field_name, fs);
      return { operation_id: ++opId, status: query.get('wait') === 'true' ? 'completed' : 'acknowledged' };
    }
    if (method === 'PUT' && rest === '/points') {
      only(body, ['points', 'batch', 'shard_key', 'update_filter'], 'points');
      if ('batch' in body) bad('the test server takes the points form of an upsert only');
      if (!Array.isArray(body.points)) bad('Format error in JSON body: missing field `points`');
      const staged = body.points.map((p) => {
        only(p, ['id', 'vector', 'payload'], 'point');
        if (!('id' in p)) bad('Format error in JSON body: missing field `id`');
        if (!('vector' in p)) bad('Format error in JSON body: missing field `vector`');
        if (p.payload != null && !isObj(p.payload)) bad('Format error in JSON body: payload must be an object');
        return { id: pointId(p.id), vector: vectorOf(p.vector, c.size, 'vector'), payload: p.payload || {} };
      });
      opId++;
      for (const p of staged) c.points.set(p.id, { ...p, version: opId });
      return { operation_id: opId, status: query.get('wait') === 'true' ? 'completed' : 'acknowledged' };
    }
    if (method === 'POST' && rest === '/points/delete') {
      only(body, ['points', 'filter', 'shard_key'], 'delete selector');
      if (('points' in body) === ('filter' in body)) bad('Format error in JSON body: give either points or filter');
      if ('points' in body) {
        if (!Array.isArray(body.points)) bad('Format error in JSON body: points must be an array');
        for (const id of body.points.map(pointId)) c.points.delete(id);
      } else {
        checkFilter(body.filter, new Set());
        for (const [id, p] of c.points) if (matches(p, body.filter)) c.points.delete(id);
      }
      return { operation_id: ++opId, status: query.get('wait') === 'true' ? 'completed' : 'acknowledged' };
    }
    if (method === 'POST' && rest === '/points/query') {
      only(body, ['query', 'filter', 'limit', 'offset', 'score_threshold', 'with_payload', 'with_vector', 'params', 'using', 'prefetch', 'lookup_from', 'shard_key'], 'query request');
      if ('prefetch' in body || 'using' in body || 'lookup_from' in body) bad('the test server answers plain nearest queries only');
      const q = isObj(body.query) ? (only(body.query, ['nearest'], 'query'), body.query.nearest) : body.query;
      if (q === undefined) bad('the test server needs a query vector');
      return { points: search(c, body, vectorOf(q, c.size, 'query')) };
    }
    if (method === 'POST' && rest === '/points/search') {
      only(body, ['vector', 'filter', 'limit', 'offset', 'score_threshold', 'with_payload', 'with_vector', 'params', 'shard_key'], 'search request');
      if (!('limit' in body)) bad('Format error in JSON body: missing field `limit`');
      return search(c, body, vectorOf(body.vector, c.size, 'vector'));
    }
    if (method === 'POST' && rest === '/points/count') {
      only(body, ['filter', 'exact', 'shard_key'], 'count request');
      if (body.filter != null) checkFilter(body.filter, new Set());
      return { count: [...c.points.values()].filter((p) => matches(p, body.filter)).length };
    }
    if (method === 'POST' && rest === '/points/scroll') {
      only(body, ['filter', 'limit', 'offset', 'with_payload', 'with_vector', 'order_by', 'shard_key'], 'scroll request');
      if (body.filter != null) checkFilter(body.filter, new Set());
      const pts = [...c.points.values()].filter((p) => matches(p, body.filter)).slice(0, body.limit ?? 10);
      return { points: pts.map((p) => ({ id: p.id, payload: body.with_payload === false ? undefined : p.payload })), next_page_offset: null };
    }
    throw new Bad(`Not found: ${method} ${path}`, 404);
  }

  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (ch) => chunks.push(ch));
    req.on('end', () => {
      const t0 = process.hrtime.bigint();
      const u = new URL(req.url, 'http://x');
      const raw = Buffer.concat(chunks).toString('utf8');
      const time = () => Number(process.hrtime.bigint() - t0) / 1e9;
      let body;
      try {
        if (apiKey) {
          const bearer = /^Bearer (.+)$/.exec(req.headers.authorization || '')?.[1];
          if (req.headers['api-key'] !== apiKey && bearer !== apiKey) {
            srv.unauthorized.push({ method: req.method, path: u.pathname, key: req.headers['api-key'] ?? null });
            throw new Bad('Must provide an API key or an Authorization bearer token', 401);
          }
        }
        if (raw.length) body = JSON.parse(raw);
        else if (req.method === 'PUT' || req.method === 'POST') throw new Bad('Format error in JSON body: EOF while parsing a value');
        srv.requests.push({ method: req.method, path: u.pathname, query: u.search, body });
        const result = handle(req.method, u.pathname, u.searchParams, body);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ result, status: 'ok', time: time() }));
      } catch (e) {
        const status = e instanceof Bad ? e.status : 400;
        const error = e instanceof Bad ? e.message : `Format error in JSON body: ${e.message}`;
        if (status !== 404) srv.rejected.push({ method: req.method, path: u.pathname, status, error, body: raw.slice(0, 500) });
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status: { error }, time: time() }));
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  srv.port = server.address().port;
  srv.url = `http://127.0.0.1:${srv.port}`;
  srv.stop = () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); });
  return srv;
}
