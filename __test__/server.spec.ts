// The HTTP server (`cf-native/server`, `cf-native serve`): every route answers what the API
// answers for the same model, with original ids; every bad request is a 4xx JSON error with a
// code; a reload swaps versions without a failed request and a failed load keeps the old
// one; feedback answered 200 is on disk (it survives kill -9) and changes the next list.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALS, EMBEDDED_RATINGS, Hybrid, KNN, Popularity, loadDataset, loadModel, saveModel, splitDataset, type Matrix } from '../src/index.js';
import { writeFolderAtomic } from '../src/artifacts/publish.js';
import { createServer, resolveServerOptions } from '../src/server/index.js';
import { wantsSingleThreadedGc } from '../src/cli/gc.js';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const TOKEN = 'a-long-enough-admin-token';
let dir: string;
let out: string;
let userIds: string[];
let itemIds: string[];
let train: Matrix;
let als: ALS;
let app: FastifyInstance;

async function save(name: string, seed: number, valid: number): Promise<ALS> {
  const m = await ALS.fit(train, { factors: 8, iterations: 3, seed });
  await saveModel(join(out, name), m, { userIds, itemIds, files: { 'metrics.json': { valid: { 'ndcg@10': valid }, test: { 'ndcg@10': valid / 2 } } } });
  return m;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cf-server-'));
  out = join(dir, 'out');
  const ds = loadDataset({ path: EMBEDDED_RATINGS, positiveThreshold: 4, minUserInteractions: 3 });
  train = splitDataset(ds, { strategy: 'none' }).train;
  userIds = ds.userIds();
  itemIds = ds.itemIds();
  als = await save('als', 1, 0.3);
  await save('worse', 2, 0.1);
  app = await createServer({ path: out, adminToken: TOKEN, watchMs: 0, feedbackLog: join(dir, 'feedback.csv') });
});

afterAll(async () => {
  await app?.close();
});

const get = async (url: string) => {
  const r = await app.inject({ method: 'GET', url });
  return { status: r.statusCode, body: r.json(), headers: r.headers };
};
const post = async (url: string, payload: unknown, headers: Record<string, string> = {}) => {
  const r = await app.inject({ method: 'POST', url, payload: payload as object, headers });
  return { status: r.statusCode, body: r.json(), headers: r.headers };
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (r: Response): Promise<any> => r.json();
const list = (ids: Uint32Array, scores: Float32Array) => Array.from(ids, (i, j) => ({ id: itemIds[i]!, score: scores[j]! }));
const q = (o: Record<string, string | number | string[]>) =>
  Object.entries(o)
    .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}=${encodeURIComponent(x)}`) : [`${k}=${encodeURIComponent(String(v))}`]))
    .join('&');

describe('models and health', () => {
  it('answers health, liveness and readiness', async () => {
    for (const path of ['/health', '/health/live', '/health/ready']) {
      const r = await get(path);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: 'ok', ready: true, model: 'als' });
    }
  });

  it('lists the models with versions and validation metrics; the best on validation is the default', async () => {
    const r = await get('/models');
    expect(r.status).toBe(200);
    expect(r.body.default).toBe('als');
    expect(r.body.models.map((m: { name: string }) => m.name)).toEqual(['als', 'worse']);
    const m = r.body.models[0];
    expect(m).toMatchObject({ status: 'ready', default: true, type: 'als', users: userIds.length, items: itemIds.length, valid: { 'ndcg@10': 0.3 }, error: null });
    expect(m.version).toMatch(/^[a-z0-9]+-\d+-[0-9a-f]{8}$/);
    expect(m.params.factors).toBe(8);
  });

  it('takes --model over the validation choice, and refuses a model that is not there', async () => {
    const a = await createServer({ path: out, model: 'worse', watchMs: 0, feedbackLog: null });
    expect((await a.inject('/health')).json().model).toBe('worse');
    await a.close();
    await expect(createServer({ path: out, model: 'nope', feedbackLog: null })).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
  });

  it('serves a single model folder too', async () => {
    const a = await createServer({ path: join(out, 'worse'), watchMs: 0, feedbackLog: null });
    expect((await a.inject('/models')).json().models.map((m: { name: string }) => m.name)).toEqual(['worse']);
    await a.close();
  });

  it('checks its options: unknown keys, bounds, a folder without models', async () => {
    expect(() => resolveServerOptions({ path: out, bogus: 1 })).toThrow(/unknown server option bogus/);
    expect(() => resolveServerOptions({ path: out, limits: { maxK: 0 } })).toThrow(/limits.maxK/);
    expect(() => resolveServerOptions({ path: out, adminToken: 'short' })).toThrow(/adminToken/);
    await expect(createServer({ path: dir + '/missing', feedbackLog: null })).rejects.toMatchObject({ code: 'ERR_CF_IO' });
    const empty = await mkdtemp(join(dir, 'empty-'));
    await expect(createServer({ path: empty, feedbackLog: null })).rejects.toThrow(/no model folder/);
  });
});

describe('GET /recommend', () => {
  it('is the model\'s recommend, with original ids, and names the model and version', async () => {
    for (const u of [0, 7, 300]) {
      const r = await get(`/recommend?${q({ user: userIds[u]!, k: 5 })}`);
      expect(r.status).toBe(200);
      const t = als.recommend(u, { k: 5 });
      expect(r.body.items).toEqual(list(t.ids, t.scores));
      expect(r.body).toMatchObject({ model: 'als', source: 'model', ignored: { exclude: [], candidates: [] } });
      expect(r.headers['x-model']).toBe('als');
      expect(r.headers['x-model-version']).toBe(r.body.version);
    }
    expect((await get(`/recommend?user=${userIds[0]}`)).body.items).toHaveLength(10);
  });

  it('batches concurrent requests and gives each exactly its single-query list', async () => {
    const users = Array.from({ length: 60 }, (_, j) => (j * 7) % userIds.length);
    const ks = users.map((_, j) => 1 + (j % 13));
    const rs = await Promise.all(users.map((u, j) => get(`/recommend?${q({ user: userIds[u]!, k: ks[j]! })}`)));
    rs.forEach((r, j) => {
      const t = als.recommend(users[j]!, { k: ks[j]! });
      expect(r.body.items).toEqual(list(t.ids, t.scores));
    });
  });

  it('applies exclude and candidates by id, and reports ids the model does not know', async () => {
    const u = 3;
    const base = als.recommend(u, { k: 5 });
    const ex = [itemIds[base.ids[0]!]!, 'no-such-item'];
    const r = await get(`/recommend?${q({ user: userIds[u]!, k: 5, exclude: ex })}`);
    expect(r.body.items.map((x: { id: string }) => x.id)).not.toContain(ex[0]);
    expect(r.body.ignored).toEqual({ exclude: ['no-such-item'], candidates: [] });
    const cands = [itemIds[10]!, itemIds[20]!, itemIds[30]!];
    const c = await get(`/recommend?${q({ user: userIds[u]!, k: 5, candidates: [...cands, 'zz'] })}`);
    const t = als.recommend(u, { k: 5, candidates: [10, 20, 30] });
    expect(c.body.items).toEqual(list(t.ids, t.scores));
    expect(c.body.ignored.candidates).toEqual(['zz']);
    const none = await get(`/recommend?${q({ user: userIds[u]!, candidates: 'zz' })}`);
    expect(none.body.items).toEqual([]);
  });

  it('answers an unknown user with 404, or the popularity list when configured', async () => {
    const r = await get('/recommend?user=nobody');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ statusCode: 404, code: 'ERR_UNKNOWN_USER', error: 'Not Found' });
    const a = await createServer({ path: out, fallback: 'popularity', watchMs: 0, feedbackLog: null });
    const p = (await a.inject('/recommend?user=nobody&k=4')).json();
    const pop = Popularity.fit(train).recommend(0, { k: 4, filterSeen: false });
    expect(p).toMatchObject({ source: 'popularity', items: list(pop.ids, pop.scores) });
    await a.close();
  });

  it('rejects bad parameters with coded 4xx errors', async () => {
    const u = encodeURIComponent(userIds[0]!);
    const cases: [string, number, string][] = [
      ['/recommend', 400, 'ERR_VALIDATION'],
      [`/recommend?user=${u}&k=0`, 400, 'ERR_VALIDATION'],
      [`/recommend?user=${u}&k=2.5`, 400, 'ERR_VALIDATION'],
      [`/recommend?user=${u}&k=abc`, 400, 'ERR_VALIDATION'],
      [`/recommend?user=${u}&k=1001`, 400, 'ERR_VALIDATION'],
      [`/recommend?user=${u}&bogus=1`, 400, 'ERR_VALIDATION'],
      [`/recommend?user=${u}&model=nope`, 404, 'ERR_UNKNOWN_MODEL'],
      [`/recommend?user=${u}&model=..%2F..%2Fetc%2Fpasswd`, 404, 'ERR_UNKNOWN_MODEL'],
      [`/similar/..%2F..%2Fetc%2Fpasswd`, 404, 'ERR_UNKNOWN_ITEM'],
      ['/users/nobody/similar', 404, 'ERR_UNKNOWN_USER'],
      ['/users/nobody/history', 404, 'ERR_UNKNOWN_USER'],
      ['/no/such/route', 404, 'ERR_NOT_FOUND'],
    ];
    for (const [url, status, code] of cases) {
      const r = await get(url);
      expect([url, r.status, r.body.code]).toEqual([url, status, code]);
      expect(typeof r.body.message).toBe('string');
    }
  });
});

describe('POST /recommend (a user the model has never seen)', () => {
  it('is the fold-in of the liked items, which are left out', async () => {
    const liked = [itemIds[1]!, { item: itemIds[5]!, weight: 3 }, itemIds[1]!];
    const r = await post('/recommend', { liked, k: 6 });
    expect(r.status).toBe(200);
    const t = als.recommendForItems([1, 5], { k: 6, values: [2, 3] });
    expect(r.body).toMatchObject({ source: 'fold-in', items: list(t.ids, t.scores), ignored: { liked: [] } });
    expect(r.body.items.map((x: { id: string }) => x.id)).not.toContain(itemIds[1]);
  });

  it('batches concurrent fold-ins and gives each exactly its single-query list', async () => {
    const lists = Array.from({ length: 40 }, (_, q) => Array.from({ length: 1 + (q % 9) }, (_, j) => (q * 31 + j * 17) % itemIds.length));
    const rs = await Promise.all(lists.map((l, q) => post('/recommend', { liked: l.map((i) => itemIds[i]!), k: 1 + (q % 11) })));
    rs.forEach((r, q) => {
      const uniq = [...new Set(lists[q]!)];
      const t = als.recommendForItems(uniq, { k: 1 + (q % 11), values: uniq.map((i) => lists[q]!.filter((x) => x === i).length) });
      expect(r.body.items).toEqual(list(t.ids, t.scores));
    });
    // The API's batch form agrees too, and checks its arguments.
    const many = await als.recommendForItemsManyAsync(lists.slice(0, 3), { k: 4 });
    expect(Array.from(many.ids.subarray(4, 8))).toEqual(Array.from(als.recommendForItems(lists[1]!, { k: 4 }).ids));
    // Its form on this thread (what the server uses for small batches) is the same lists.
    expect(als.recommendForItemsMany(lists.slice(0, 3), { k: 4 })).toEqual(many);
    expect(() => als.recommendForItemsMany([[1], []], { k: 4 })).toThrow(/list 1 is empty/);
    await expect(als.recommendForItemsManyAsync([[1], []], { k: 4 })).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG', message: expect.stringMatching(/list 1 is empty/) });
    await expect(als.recommendForItemsManyAsync([[1]], { values: [[1], [2]] })).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG' });
  });

  it('reports unknown liked items, and refuses empty, all-unknown, oversized and malformed bodies', async () => {
    const r = await post('/recommend', { liked: [itemIds[2]!, 'new-item'], k: 3 });
    expect(r.body.ignored.liked).toEqual(['new-item']);
    const bad: [unknown, number, string][] = [
      [{ liked: [] }, 400, 'ERR_VALIDATION'],
      [{ liked: ['zz', 'yy'] }, 400, 'ERR_NO_KNOWN_ITEMS'],
      [{ liked: Array(1001).fill(itemIds[0]) }, 400, 'ERR_VALIDATION'],
      [{ liked: [{ item: itemIds[0], weight: -1 }] }, 400, 'ERR_VALIDATION'],
      [{ liked: [itemIds[0]], k: 5000 }, 400, 'ERR_VALIDATION'],
      [{ liked: [itemIds[0]], extra: true }, 400, 'ERR_VALIDATION'],
    ];
    for (const [body, status, code] of bad) {
      const x = await post('/recommend', body);
      expect([x.status, x.body.code]).toEqual([status, code]);
    }
    const malformed = await app.inject({ method: 'POST', url: '/recommend', payload: '{"liked": [', headers: { 'content-type': 'application/json' } });
    expect([malformed.statusCode, malformed.json().code]).toEqual([400, 'FST_ERR_CTP_INVALID_JSON_BODY']);
    const huge = await app.inject({ method: 'POST', url: '/recommend', payload: JSON.stringify({ liked: ['x'.repeat(2 << 20)] }), headers: { 'content-type': 'application/json' } });
    expect([huge.statusCode, huge.json().code]).toEqual([413, 'FST_ERR_CTP_BODY_TOO_LARGE']);
    const text = await app.inject({ method: 'POST', url: '/recommend', payload: '<liked/>', headers: { 'content-type': 'application/xml' } });
    expect(text.statusCode).toBe(415);
    expect(text.json().code).toBe('FST_ERR_CTP_INVALID_MEDIA_TYPE');
  });
});

describe('explain=true', () => {
  it('adds each item\'s because list: the liked items that contributed most, as the model explains', async () => {
    const u = 4;
    const r = await get(`/recommend?${q({ user: userIds[u]!, k: 3, explain: 'true' })}`);
    expect(r.status).toBe(200);
    expect(r.body.items).toHaveLength(3);
    for (const it of r.body.items) {
      const e = als.explain(u, itemIds.indexOf(it.id), { k: 3 });
      expect(it.because).toEqual(Array.from(e.items, (j, n) => ({ id: itemIds[j]!, contribution: e.contributions[n]! })));
    }
    // Without it, no because.
    expect((await get(`/recommend?${q({ user: userIds[u]!, k: 3 })}`)).body.items[0].because).toBeUndefined();
    const p = await post('/recommend', { liked: [itemIds[1]!, { item: itemIds[5]!, weight: 3 }], k: 2, explain: true });
    expect(p.status).toBe(200);
    const e = als.explain({ items: [1, 5], values: [1, 3] }, itemIds.indexOf(p.body.items[0].id), { k: 3 });
    expect(p.body.items[0].because).toEqual(Array.from(e.items, (j, n) => ({ id: itemIds[j]!, contribution: e.contributions[n]! })));
    expect((await get(`/recommend?${q({ user: userIds[u]!, explain: 'maybe' })}`)).status).toBe(400);
  });

  it('serves a hybrid folder with explanations; a model that cannot explain answers 422', async () => {
    const d = await mkdtemp(join(tmpdir(), 'cf-server-explain-'));
    const pop = Popularity.fit(train);
    const h = Hybrid.build(
      [
        { name: 'als', model: als, weight: 1 },
        { name: 'knn', model: KNN.fitSync(train, { k: 50 }), weight: 1 },
      ],
      {},
    );
    await saveModel(join(d, 'hybrid'), h, { userIds, itemIds });
    await saveModel(join(d, 'pop'), pop, { userIds, itemIds });
    const a = await createServer({ path: d, model: 'hybrid', watchMs: 0 });
    try {
      const r = await a.inject(`/recommend?${q({ user: userIds[2]!, k: 2, explain: 'true' })}`);
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body.model).toBe('hybrid');
      expect(body.items[0].because.length).toBeGreaterThan(0);
      expect(body.items.map((x: { id: string }) => x.id)).toEqual(Array.from(h.recommend(2, { k: 2 }).ids, (i) => itemIds[i]));
      const bad = await a.inject(`/recommend?${q({ user: userIds[2]!, k: 2, explain: 'true', model: 'pop' })}`);
      expect(bad.statusCode).toBe(422);
      expect(bad.json().message).toMatch(/popularity model's scores do not split/);
    } finally {
      await a.close();
    }
  });
});

describe('similar items, similar users, history', () => {
  it('answers what the model answers', async () => {
    const s = await get(`/similar/${encodeURIComponent(itemIds[4]!)}?k=5`);
    const t = als.similarItems(4, { k: 5 });
    expect(s.body).toMatchObject({ model: 'als', item: itemIds[4], items: list(t.ids, t.scores) });
    const su = await get(`/users/${encodeURIComponent(userIds[2]!)}/similar?k=3`);
    const v = als.similarUsers(2, { k: 3 });
    expect(su.body.users).toEqual(Array.from(v.ids, (i, j) => ({ id: userIds[i]!, score: v.scores[j]! })));
    const h = await get(`/users/${encodeURIComponent(userIds[2]!)}/history`);
    expect(h.body.known).toBe(true);
    expect(h.body.items.map((x: { id: string }) => x.id)).toEqual(Array.from(train.row(2), (i) => itemIds[i]));
  });
});

describe('POST /feedback', () => {
  it('is on disk before the answer, changes the next list, and is readable as training data', async () => {
    const u = 11;
    const user = userIds[u]!;
    const before = await get(`/recommend?${q({ user, k: 5 })}`);
    const item = before.body.items[0].id as string;
    const r = await post('/feedback', [{ user, item, value: 2, timestamp: 1700000000 }, { user: 'newcomer', item: itemIds[3]! }, { user: 'newcomer', item: 'brand-new' }]);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accepted: 3, unknownItems: ['brand-new'], log: { entries: 3 } });
    const text = await readFile(join(dir, 'feedback.csv'), 'utf8');
    expect(text.split('\n')[0]).toBe('user,item,value,timestamp');
    expect(text).toContain(`${user},${item},2,1700000000\n`);
    const after = await get(`/recommend?${q({ user, k: 5 })}`);
    expect(after.body.source).toBe('feedback');
    expect(after.body.items.map((x: { id: string }) => x.id)).not.toContain(item);
    // Fold-in from the training row plus the feedback.
    const row = train.row(u);
    const vals = train.rowValues(u);
    const i = itemIds.indexOf(item);
    const t = als.recommendForItems([...row, i], { k: 5, values: [...vals, 2] });
    expect(after.body.items).toEqual(list(t.ids, t.scores));
    // A user known only through feedback gets recommendations and a history.
    const n = await get('/recommend?user=newcomer&k=3');
    expect(n.body.source).toBe('feedback');
    expect((await get('/users/newcomer/history')).body).toMatchObject({ known: false, items: [{ id: itemIds[3], value: 1, source: 'feedback' }, { id: 'brand-new', value: 1, source: 'feedback' }] });
    // The log is a file the loader (and so `cf-native train`) reads.
    const ds = loadDataset({ path: join(dir, 'feedback.csv'), user: 'user', item: 'item', rating: 'value', time: 'timestamp', values: 'rating' });
    expect(ds.stats.rowsRead).toBe(3);
  });

  it('rejects bad entries and says when feedback is off', async () => {
    for (const body of [[], [{ user: 'a' }], [{ user: 'a', item: 'b', value: -1 }], [{ user: 'a', item: 'b', value: 'x' }], { user: 'a', item: 'b' }]) {
      const r = await post('/feedback', body);
      expect([r.status, r.body.code]).toEqual([400, 'ERR_VALIDATION']);
    }
    const a = await createServer({ path: out, watchMs: 0, feedbackLog: null });
    const r = await a.inject({ method: 'POST', url: '/feedback', payload: [{ user: 'a', item: 'b' }] });
    expect([r.statusCode, r.json().code]).toEqual([403, 'ERR_FEEDBACK_DISABLED']);
    await a.close();
  });

  it('keeps its log beside the model folders by default', async () => {
    const a = await createServer({ path: join(out, 'worse'), watchMs: 0 });
    const r = await a.inject({ method: 'POST', url: '/feedback', payload: [{ user: 'd', item: itemIds[0]! }] });
    expect(r.statusCode).toBe(200);
    await a.close();
    const text = await readFile(join(out, 'feedback.csv'), 'utf8');
    expect(text.startsWith(`user,item,value,timestamp\nd,${itemIds[0]},1,`)).toBe(true);
    expect(text.split('\n')).toHaveLength(3);
  });

  it('replays the log on start, cutting a torn last line', async () => {
    const log = join(dir, 'replay.csv');
    await writeFile(log, `user,item,value,timestamp\nu1,${itemIds[0]},1,1\nu1,${itemIds[1]},2,2\nu1,${itemIds[2]},5`);
    const a = await createServer({ path: out, watchMs: 0, feedbackLog: log });
    const h = (await a.inject('/users/u1/history')).json();
    expect(h.items.map((x: { id: string }) => x.id)).toEqual([itemIds[0], itemIds[1]]);
    expect(await readFile(log, 'utf8')).toBe(`user,item,value,timestamp\nu1,${itemIds[0]},1,1\nu1,${itemIds[1]},2,2\n`);
    await a.close();
    await writeFile(log, 'who,what\n');
    await expect(createServer({ path: out, watchMs: 0, feedbackLog: log })).rejects.toMatchObject({ code: 'ERR_CF_DATA' });
  });
});

describe('reload', () => {
  it('needs the admin token', async () => {
    expect((await post('/admin/reload', {})).status).toBe(401);
    expect((await post('/admin/reload', {}, { authorization: 'Bearer wrong-token-wrong-token' })).body.code).toBe('ERR_UNAUTHORIZED');
    const a = await createServer({ path: out, watchMs: 0, feedbackLog: null });
    const r = await a.inject({ method: 'POST', url: '/admin/reload', headers: { authorization: `Bearer ${TOKEN}` } });
    expect([r.statusCode, r.json().code]).toEqual([403, 'ERR_ADMIN_DISABLED']);
    await a.close();
  });

  it('swaps in a new version, keeps the old one when the new one fails, and never fails a request meanwhile', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const v0 = (await get('/models')).body.models[0].version;
    const user = userIds[20]!;
    let stop = false;
    let failed = 0;
    let answered = 0;
    const load = (async () => {
      while (!stop) {
        const r = await app.inject(`/recommend?user=${encodeURIComponent(user)}&k=5`);
        answered++;
        if (r.statusCode !== 200) failed++;
      }
    })();
    const next = await save('als', 9, 0.3);
    const r = await post('/admin/reload?model=als', {}, auth);
    expect(r.status).toBe(200);
    const v1 = r.body.models[0].version;
    expect(v1).not.toBe(v0);
    const t = next.recommend(20, { k: 5 });
    expect((await get(`/recommend?user=${encodeURIComponent(user)}&k=5`)).body).toMatchObject({ version: v1, items: list(t.ids, t.scores) });
    // A broken version: the link points at it, loading fails, the old one serves on.
    await writeFolderAtomic(join(out, 'als'), async (d) => {
      await writeFile(join(d, 'model.json'), '{"format_version": 2, "type": "als"');
    });
    const bad = await post('/admin/reload?model=als', {}, auth);
    expect(bad.body.models[0]).toMatchObject({ status: 'failed', version: v1 });
    expect(bad.body.models[0].error.code).toBe('ERR_CF_DATA');
    expect((await get('/models')).body.models[0]).toMatchObject({ status: 'failed', version: v1 });
    expect((await get(`/recommend?user=${encodeURIComponent(user)}&k=5`)).body.version).toBe(v1);
    await save('als', 1, 0.3);
    expect((await post('/admin/reload', {}, auth)).body.models[0].status).toBe('ready');
    stop = true;
    await load;
    expect(answered).toBeGreaterThan(0);
    expect(failed).toBe(0);
  });

  it('watches the folder for new versions', async () => {
    const a = await createServer({ path: join(out, 'worse'), watchMs: 30, feedbackLog: null });
    const v0 = (await a.inject('/models')).json().models[0].version;
    await save('worse', 5, 0.1);
    let v = v0;
    for (let i = 0; i < 200 && v === v0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      v = (await a.inject('/models')).json().models[0].version;
    }
    expect(v).not.toBe(v0);
    await a.close();
  });
});

describe('metrics and docs', () => {
  it('exposes Prometheus metrics', async () => {
    const r = await app.inject('/metrics');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.body).toMatch(/cf_native_http_requests_total\{route="\/recommend",method="GET",status="200"\} \d+/);
    expect(r.body).toMatch(/cf_native_http_request_duration_seconds_bucket\{le="0.001",route="\/recommend",method="GET"\} \d+/);
    expect(r.body).toMatch(/cf_native_model_info\{model="als",type="als",version="[^"]+"\} 1/);
    expect(r.body).toMatch(/cf_native_feedback_log_entries \d+/);
  });

  it('counts the process\'s garbage collections and their pauses by kind', async () => {
    const read = async () => {
      const body = (await app.inject('/metrics')).body;
      const num = (re: RegExp) => Number(re.exec(body)?.[1] ?? NaN);
      return { minor: num(/cf_native_gc_collections_total\{kind="minor"\} (\d+)/), major: num(/cf_native_gc_collections_total\{kind="major"\} (\d+)/), pause: num(/cf_native_gc_pause_seconds_total\{kind="minor"\} ([\d.e-]+)/) };
    };
    const before = await read();
    expect(Number.isInteger(before.minor) && Number.isInteger(before.major)).toBe(true);
    // Enough short-lived garbage for several scavenges; the observer hears of them a turn later.
    // (Objects kept in an array, so the optimiser cannot elide them.)
    let kept = 0;
    for (let pass = 0; pass < 8; pass++) {
      const junk: { i: number; s: string }[] = [];
      for (let i = 0; i < 200_000; i++) junk.push({ i, s: `x${i}` });
      kept += junk.length;
    }
    expect(kept).toBe(1_600_000);
    await new Promise((r) => setTimeout(r, 20));
    const after = await read();
    expect(after.minor).toBeGreaterThan(before.minor);
    expect(after.pause).toBeGreaterThan(before.pause);
  });

  it('serves an OpenAPI document that validates, and the Swagger UI', async () => {
    const doc = (await app.inject('/docs/json')).json();
    const checked = await SwaggerParser.validate(structuredClone(doc));
    expect(Object.keys(checked.paths!)).toEqual(expect.arrayContaining(['/recommend', '/similar/{item}', '/users/{id}/history', '/feedback', '/admin/reload', '/models', '/metrics', '/health/ready']));
    const ui = await app.inject('/docs/');
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger-ui');
  });
});

// Headless Chromium renders /docs: CI installs it (.ci/run); elsewhere the test says it skipped.
const docsScript = join(root, 'scripts', 'docs-screenshot.mjs');
const { findChromium, renderDocs } = (await import(docsScript)) as {
  findChromium(): string | null;
  renderDocs(path: string, out: string): Promise<{ operations: number; title: string | null }>;
};
describe('Swagger UI in a browser', () => {
  it.skipIf(!findChromium())('renders every operation at /docs in headless Chromium', async () => {
    const png = join(dir, 'docs.png');
    const r = await renderDocs(out, png);
    expect(r.title).toBe('Swagger UI');
    expect(r.operations).toBe(12);
    const head = (await readFile(png)).subarray(0, 8);
    expect(head.toString('hex')).toBe('89504e470d0a1a0a');
  });
});

describe('a real server', () => {
  it('listens on a port and answers over HTTP', async () => {
    const a = await createServer({ path: out, watchMs: 0, feedbackLog: null });
    const address = await a.listen({ host: '127.0.0.1', port: 0 });
    const r = await fetch(`${address}/recommend?user=${encodeURIComponent(userIds[0]!)}&k=3`);
    expect(r.status).toBe(200);
    const t = als.recommend(0, { k: 3 });
    expect((await json(r)).items).toEqual(list(t.ids, t.scores));
    await a.close();
  });

  /** `cf-native serve` in a child process; resolves with its address once it listens. */
  function serve(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; exit: Promise<number | null>; output: () => string }> {
    const child = spawn(process.execPath, [cli, 'serve', out, '--port', '0', '--watch', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return new Promise((resolve, reject) => {
      let text = '';
      const on = (d: Buffer) => {
        text += d.toString();
        const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
        if (m) resolve({ child, url: m[1]!, exit, output: () => text });
      };
      child.stdout!.on('data', on);
      child.stderr!.on('data', on);
      void exit.then((code) => reject(new Error(`serve exited ${code}: ${text}`)));
    });
  }

  it('keeps feedback answered 200 through kill -9, and exits 0 on SIGTERM', async () => {
    const log = join(dir, 'durable.csv');
    const user = userIds[30]!;
    const s1 = await serve(['--feedback', log]);
    const before = (await json(await fetch(`${s1.url}/recommend?user=${encodeURIComponent(user)}&k=5`))).items;
    const item = before[0].id as string;
    const r = await fetch(`${s1.url}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ user, item, value: 3 }]) });
    expect(r.status).toBe(200);
    s1.child.kill('SIGKILL');
    expect(await s1.exit).toBe(null);
    // What a crash may leave: half a line that was never acknowledged.
    await appendFile(log, `${user},${itemIds[9]}`);
    const s2 = await serve(['--feedback', log]);
    const h = await json(await fetch(`${s2.url}/users/${encodeURIComponent(user)}/history`));
    expect(h.items.filter((x: { source: string }) => x.source === 'feedback')).toEqual([{ id: item, value: 3, source: 'feedback' }]);
    const after = await json(await fetch(`${s2.url}/recommend?user=${encodeURIComponent(user)}&k=5`));
    expect(after.source).toBe('feedback');
    expect(after.items.map((x: { id: string }) => x.id)).not.toContain(item);
    s2.child.kill('SIGTERM');
    expect(await s2.exit).toBe(0);
  });

  it('relaunches under --single-threaded-gc when asked (or on one CPU), and SIGTERM still exits 0', async () => {
    const gcLine = async (s: { output: () => string }) => {
      for (let i = 0; i < 100 && !s.output().includes('v8 garbage collector'); i++) await new Promise((r) => setTimeout(r, 50));
      return JSON.parse(s.output().split('\n').find((l) => l.includes('v8 garbage collector'))!) as { gc: string; cpus: number };
    };
    const s = await serve(['--feedback', 'none', '--no-docs'], { CF_NATIVE_SERVE_GC: 'single' });
    expect((await gcLine(s)).gc).toBe('single-threaded');
    const r = await fetch(`${s.url}/recommend?user=${encodeURIComponent(userIds[0]!)}&k=3`);
    expect(r.status).toBe(200);
    // The signal goes to the relaunching parent, which passes it on and exits with the child.
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    const d = await serve(['--feedback', 'none', '--no-docs'], { CF_NATIVE_SERVE_GC: 'default' });
    expect((await gcLine(d)).gc).toBe('default');
    d.child.kill('SIGTERM');
    expect(await d.exit).toBe(0);
    const bad = spawn(process.execPath, [cli, 'serve', out], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CF_NATIVE_SERVE_GC: 'sometimes' } });
    let err = '';
    bad.stderr.on('data', (x) => (err += x));
    expect(await new Promise((res) => bad.on('exit', res))).toBe(2);
    expect(err).toMatch(/^cf-native: serve: CF_NATIVE_SERVE_GC must be one of auto, single, default/);
  });

  it('chooses the GC from the mode, the flags node already has and the CPUs it may use', () => {
    expect(wantsSingleThreadedGc(undefined, [], 1)).toBe(true);
    expect(wantsSingleThreadedGc('auto', [], 2)).toBe(false);
    expect(wantsSingleThreadedGc('', [], 1)).toBe(true);
    expect(wantsSingleThreadedGc('single', [], 16)).toBe(true);
    expect(wantsSingleThreadedGc('default', [], 1)).toBe(false);
    // Already relaunched: never again.
    expect(wantsSingleThreadedGc('single', ['--single-threaded-gc'], 1)).toBe(false);
    expect(wantsSingleThreadedGc('SINGLE', [], 1)).toMatch(/CF_NATIVE_SERVE_GC must be one of/);
  });

  it('exits 2 with one line on bad options', async () => {
    for (const args of [['--port', '70000'], ['--watch=-1'], ['--log-level', 'loud'], ['--model', 'nope']]) {
      const child = spawn(process.execPath, [cli, 'serve', out, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const code = await new Promise((r) => child.on('exit', r));
      expect([args, code]).toEqual([args, 2]);
      expect(err).toMatch(/^cf-native: serve: /);
    }
  });
});

it('loads what saveModel wrote (sanity of the fixture)', async () => {
  expect((await loadModel(join(out, 'worse'))).userIds).toHaveLength(userIds.length);
});
