// The recommender as a Fastify plugin: `app.register(recommender, { path })`. Everything it
// adds (routes, error handlers, docs) stays inside its own context, so it can be mounted
// under a prefix in a user's app without touching their routes.
import { timingSafeEqual } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { ERROR_SCHEMA, HttpCode, HttpError, installErrorHandlers } from './errors.js';
import { FeedbackLog, type FeedbackEntry } from './feedback.js';
import { batcherOf, history, mapIds, toItems, unknownUser, withReasons, type Item } from './lists.js';
import { ServerMetrics } from './metrics.js';
import { resolveServerOptions, type ServerOptions, type ServerOptionsInput } from './options.js';
import { Overlay } from './overlay.js';
import { ModelInfo, errors, listSchemas } from './schemas.js';
import { ModelStore, type Served } from './store.js';
import { packageVersion } from '../artifacts/version.js';

export type RecommenderOptions = ServerOptionsInput;

const NO_FILTERS: { excludeItems: Uint32Array | null; candidates: Uint32Array | null; ignored: { exclude: string[]; candidates: string[] } } = Object.freeze({
  excludeItems: null,
  candidates: null,
  ignored: Object.freeze({ exclude: Object.freeze([]) as unknown as string[], candidates: Object.freeze([]) as unknown as string[] }),
});

declare module 'fastify' {
  interface FastifyRequest {
    served?: Served;
  }
}

/** Where the feedback log goes when not configured: beside the model folders. */
async function defaultLogPath(path: string): Promise<string> {
  const isModel = await stat(join(path, 'model.json')).then(() => true, () => false);
  return join(isModel ? dirname(resolve(path)) : resolve(path), 'feedback.csv');
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export const recommender: FastifyPluginAsync<RecommenderOptions> = async (parent, given) => {
  // Fastify adds its own keys (prefix, logLevel) to a plugin's options: keep ours.
  const { prefix: _p, logLevel: _l, logSerializers: _s, ...ours } = given as RecommenderOptions & Record<string, unknown>;
  const opts: ServerOptions = resolveServerOptions(ours);
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const metrics = new ServerMetrics();
  const overlay = new Overlay();
  const log = app.log;

  const store = await ModelStore.open(opts.path, {
    model: opts.model,
    events: {
      loaded(s, previous) {
        if (previous) metrics.modelInfo.remove({ model: previous.name, type: previous.type, version: previous.version });
        metrics.modelInfo.set({ model: s.name, type: s.type, version: s.version }, 1);
        metrics.modelLoaded.set({ model: s.name }, s.loadedAt.getTime() / 1000);
        log.info({ model: s.name, version: s.version, previous: previous?.version ?? null }, 'model loaded');
      },
      failed(name, err) {
        metrics.reloadFailures.inc({ model: name });
        log.error({ model: name, err }, 'model failed to load; the previous version keeps serving');
      },
    },
  });
  let feedback: FeedbackLog | null = null;
  app.addHook('onClose', async () => {
    store.unwatch();
    await store.idle();
    await feedback?.close();
  });

  if (opts.feedbackLog !== null) {
    const path = opts.feedbackLog ?? (await defaultLogPath(opts.path));
    const opened = await FeedbackLog.open(path, (u, i, v) => overlay.add(u, i, v));
    feedback = opened.log;
    if (opened.repairedBytes > 0) log.warn({ path, bytes: opened.repairedBytes }, 'feedback log: cut a torn last line (never acknowledged)');
    log.info({ path, entries: feedback.entries, users: overlay.size }, 'feedback log replayed');
    metrics.feedbackEntries.set(feedback.entries);
    metrics.feedbackBytes.set(feedback.bytes);
  }

  store.watch(opts.watchMs);

  app.addSchema(ERROR_SCHEMA);
  installErrorHandlers(app);
  // Answers are written with JSON.stringify, not the schemas' compiled serializers
  // (fast-json-stringify; the schemas still validate requests and make the OpenAPI document).
  // The compiled ones print a number with `'' + n`, which goes through V8's number-to-string
  // cache: a list's scores are new doubles every time, so each took a cache slot, outlived
  // two scavenges there and was promoted, about 0.5 KB of old space per answer. At 2,000
  // req/s that was a major GC every ~10 s (a 25-36 ms pause and ~80 ms of marking on the main
  // thread) and scavenges 2-3x longer. JSON.stringify writes numbers straight into its
  // output. Every answer here is a literal built for its route, so the compiled serializers'
  // dropping of unknown keys had nothing to drop.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  if (opts.docs) {
    const { default: swagger } = await import('@fastify/swagger');
    const { default: swaggerUi } = await import('@fastify/swagger-ui');
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: { title: 'cf-native recommender', version: packageVersion(), description: 'Recommendations, similar items and feedback from cf-native models. Ids are the original (string) ids of the training data.' },
        components: { securitySchemes: { admin: { type: 'http', scheme: 'bearer' } } },
      },
      refResolver: { buildLocalReference: (json, _base, _frag, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }

  // Latency and counts per route (the route's pattern, never the raw URL: bounded labels).
  // Callback hooks and cached label children: this runs on every request.
  // Keyed by method and route, then status: no key string is built per request.
  const series = new Map<string, Map<string, { timer: { observe(v: number): void }; counts: Map<number, { inc(): void }> }>>();
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const method = req.method;
    const status = reply.statusCode;
    let byRoute = series.get(method);
    if (!byRoute) series.set(method, (byRoute = new Map()));
    let sr = byRoute.get(route);
    if (!sr) byRoute.set(route, (sr = { timer: metrics.latency.labels({ route, method }), counts: new Map() }));
    let c = sr.counts.get(status);
    if (!c) sr.counts.set(status, (c = metrics.requests.labels({ route, method, status: String(status) })));
    c.inc();
    sr.timer.observe(reply.elapsedTime / 1000);
    done();
  });
  // Every answer about a model names it, errors included.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (req.served) void reply.header('x-model', req.served.name).header('x-model-version', req.served.version);
    done(null, payload);
  });

  const served = (req: FastifyRequest, name?: string): Served => {
    if (name !== undefined && !store.has(name)) throw new HttpError(404, HttpCode.UNKNOWN_MODEL, `unknown model ${JSON.stringify(name)} (see GET /models)`);
    const s = store.get(name);
    if (!s) throw new HttpError(503, HttpCode.NOT_READY, `model ${JSON.stringify(name ?? store.defaultModel)} is not loaded (see GET /models)`);
    req.served = s;
    return s;
  };
  const envelope = (s: Served) => ({ model: s.name, version: s.version });

  // ---- health ------------------------------------------------------------------------
  const Health = Type.Object({ status: Type.String(), ready: Type.Boolean(), model: Type.Union([Type.String(), Type.Null()]) });
  const health = () => ({ status: 'ok', ready: store.get() !== undefined, model: store.defaultModel });
  app.get('/health', { schema: { summary: 'Liveness and readiness in one', response: { 200: Health } } }, async () => health());
  app.get('/health/live', { schema: { summary: 'The process answers', response: { 200: Health } } }, async () => health());
  app.get('/health/ready', { schema: { summary: 'The default model is loaded (503 until then)', response: { 200: Health, 503: Type.Ref('cfError') } } }, async () => {
    const h = health();
    if (!h.ready) throw new HttpError(503, HttpCode.NOT_READY, 'no model loaded yet');
    return h;
  });

  // ---- models ------------------------------------------------------------------------
  app.get('/models', { schema: { summary: 'The models, their versions, shapes and validation metrics', response: { 200: Type.Object({ default: Type.Union([Type.String(), Type.Null()]), models: Type.Array(ModelInfo) }) } } }, async () => ({
    default: store.defaultModel,
    models: store.status().map((st) => {
      const s = st.served;
      return {
        name: st.name,
        status: st.status,
        default: st.name === store.defaultModel,
        type: s?.type ?? null,
        version: s?.version ?? null,
        users: s?.userIds.length ?? null,
        items: s?.itemIds.length ?? null,
        params: (s?.model.params as Record<string, unknown>) ?? null,
        valid: s?.metrics.valid ?? null,
        test: s?.metrics.test ?? null,
        loadedAt: s?.loadedAt.toISOString() ?? null,
        error: st.error,
      };
    }),
  }));

  // ---- recommendations --------------------------------------------------------------
  const S = listSchemas(opts.limits);

  /** Filters by original ids: unknown ones are dropped and reported; all-unknown candidates leave nothing to return. */
  const filters = (s: Served, q: { exclude?: string[]; candidates?: string[] }) => {
    // Most requests carry neither: one shared answer rather than four objects each time
    // (nothing writes to it; POST copies `ignored` before adding to it).
    if (q.exclude === undefined && q.candidates === undefined) return NO_FILTERS;
    const ex = mapIds(s.itemIndex, q.exclude);
    const ca = mapIds(s.itemIndex, q.candidates);
    return {
      excludeItems: ex.known && ex.known.length > 0 ? ex.known : null,
      candidates: ca.known,
      ignored: { exclude: ex.unknown, candidates: ca.unknown },
    };
  };

  /** The fallback list: the most popular items of the model's training data. */
  const popular = (s: Served, k: number, f: ReturnType<typeof filters>): Item[] => {
    const t = s.popularity().recommend(0, { k, filterSeen: false, excludeItems: f.excludeItems, candidates: f.candidates });
    return toItems(s, t.ids, t.scores);
  };

  /** GET /recommend's answer without explanations (the route below adds them on request). */
  const recommendFor = async (req: FastifyRequest<{ Querystring: Static<typeof S.getRecommend.querystring> }>) => {
    const q = req.query;
    const s = served(req, q.model);
    const f = filters(s, q);
    const u = s.userIndex.get(q.user);
    // The common case first, its answer built in one literal.
    if (u !== undefined && f === NO_FILTERS && overlay.get(q.user) === undefined) {
      const t = await batcherOf(s).recommend(u, q.k);
      return { model: s.name, version: s.version, source: 'model' as const, items: toItems(s, t.ids, t.scores), ignored: f.ignored };
    }
    const out = { ...envelope(s), ignored: f.ignored };
    if (f.candidates && f.candidates.length === 0) return { ...out, source: 'model' as const, items: [] };
    const fb = overlay.get(q.user);
    if (u !== undefined && !fb) {
      if (!f.excludeItems && !f.candidates) {
        const t = await batcherOf(s).recommend(u, q.k);
        return { ...out, source: 'model' as const, items: toItems(s, t.ids, t.scores) };
      }
      const t = s.model.recommend(u, { k: q.k, excludeItems: f.excludeItems, candidates: f.candidates });
      return { ...out, source: 'model' as const, items: toItems(s, t.ids, t.scores) };
    }
    const h = history(s, overlay, q.user);
    if (h && h.items.length > 0) {
      const t =
        !f.excludeItems && !f.candidates
          ? await batcherOf(s).recommendForItems(h.items, h.values, q.k)
          : s.model.recommendForItems(h.items, { k: q.k, values: h.values, excludeItems: f.excludeItems, candidates: f.candidates });
      return { ...out, source: 'feedback' as const, items: toItems(s, t.ids, t.scores) };
    }
    if (opts.fallback === 'popularity') return { ...out, source: 'popularity' as const, items: popular(s, q.k, f) };
    throw unknownUser(q.user);
  };

  app.get('/recommend', { schema: S.getRecommend }, async (req) => {
    const r = await recommendFor(req);
    if (req.query.explain !== true || r.source === 'popularity') return r;
    // A known user's reasons come from their training row; with feedback, from the history
    // the list was folded in from.
    const s = served(req, req.query.model);
    const u = s.userIndex.get(req.query.user);
    const fb = overlay.get(req.query.user);
    const who = u !== undefined && !fb ? u : history(s, overlay, req.query.user)!;
    return { ...r, items: withReasons(s, r.items, who) };
  });

  app.post('/recommend', { schema: S.postRecommend, bodyLimit: opts.limits.bodyLimit }, async (req) => {
    const b = req.body;
    const s = served(req, b.model);
    const f = filters(s, b);
    const weights = new Map<number, number>();
    const unknown: string[] = [];
    for (const l of b.liked) {
      const id = typeof l === 'string' ? l : l.item;
      const w = typeof l === 'string' ? 1 : (l.weight ?? 1);
      const i = s.itemIndex.get(id);
      if (i === undefined) unknown.push(id);
      else weights.set(i, (weights.get(i) ?? 0) + w);
    }
    const out = { ...envelope(s), ignored: { ...f.ignored, liked: unknown } };
    if (weights.size === 0) {
      if (opts.fallback === 'popularity') return { ...out, source: 'popularity' as const, items: f.candidates?.length === 0 ? [] : popular(s, b.k, f) };
      throw new HttpError(400, HttpCode.NO_KNOWN_ITEMS, `none of the ${b.liked.length} liked items is known to model ${s.name}`);
    }
    if (f.candidates && f.candidates.length === 0) return { ...out, source: 'fold-in' as const, items: [] };
    const items = Uint32Array.from(weights.keys());
    const values = Float32Array.from(weights.values());
    const t =
      !f.excludeItems && !f.candidates
        ? await batcherOf(s).recommendForItems(items, values, b.k)
        : s.model.recommendForItems(items, { k: b.k, values, excludeItems: f.excludeItems, candidates: f.candidates });
    const listed = toItems(s, t.ids, t.scores);
    return { ...out, source: 'fold-in' as const, items: b.explain === true ? withReasons(s, listed, { items, values }) : listed };
  });

  app.get('/similar/:item', { schema: S.similarItems }, async (req) => {
    const q = req.query;
    const s = served(req, q.model);
    const i = s.itemIndex.get(req.params.item);
    if (i === undefined) throw new HttpError(404, HttpCode.UNKNOWN_ITEM, `unknown item ${JSON.stringify(req.params.item)}`);
    const f = filters(s, q);
    const out = { ...envelope(s), item: req.params.item, ignored: f.ignored };
    if (f.candidates && f.candidates.length === 0) return { ...out, items: [] };
    const t = s.model.similarItems(i, { k: q.k, excludeItems: f.excludeItems, candidates: f.candidates });
    return { ...out, items: toItems(s, t.ids, t.scores) };
  });

  app.get('/users/:id/similar', { schema: S.similarUsers }, async (req) => {
    const s = served(req, req.query.model);
    const u = s.userIndex.get(req.params.id);
    if (u === undefined) throw unknownUser(req.params.id);
    const t = s.model.similarUsers(u, { k: req.query.k });
    const users: Item[] = [];
    for (let j = 0; j < t.ids.length && Number.isFinite(t.scores[j]!); j++) users.push({ id: s.userIds[t.ids[j]!]!, score: t.scores[j]! });
    return { ...envelope(s), user: req.params.id, users };
  });

  app.get('/users/:id/history', { schema: S.history }, async (req) => {
    const s = served(req, req.query.model);
    const id = req.params.id;
    const u = s.userIndex.get(id);
    const fb = overlay.get(id);
    if (u === undefined && !fb) throw unknownUser(id);
    const items: { id: string; value: number; source: 'train' | 'feedback' }[] = [];
    if (u !== undefined && s.model.train) {
      const idx = s.model.train.row(u);
      const val = s.model.train.rowValues(u);
      for (let j = 0; j < idx.length; j++) items.push({ id: s.itemIds[idx[j]!]!, value: val[j]!, source: 'train' });
    }
    for (const [item, value] of fb ?? []) items.push({ id: item, value, source: 'feedback' });
    return { ...envelope(s), user: id, known: u !== undefined, items };
  });

  // ---- feedback ----------------------------------------------------------------------
  app.post('/feedback', { schema: S.feedback, bodyLimit: opts.limits.bodyLimit }, async (req) => {
    if (!feedback) throw new HttpError(403, HttpCode.FEEDBACK_DISABLED, 'this server keeps no feedback log');
    const now = Math.floor(Date.now() / 1000);
    const entries: FeedbackEntry[] = req.body.map((e) => ({ user: e.user, item: e.item, value: e.value, timestamp: e.timestamp ?? now }));
    await feedback.append(entries);
    // Applied only once durable: what a client was told is stored is what a restart replays.
    for (const e of entries) overlay.add(e.user, e.item, e.value);
    metrics.feedbackEntries.set(feedback.entries);
    metrics.feedbackBytes.set(feedback.bytes);
    const s = store.get();
    const unknownItems = s ? [...new Set(entries.filter((e) => !s.itemIndex.has(e.item)).map((e) => e.item))] : [];
    return { accepted: entries.length, unknownItems, log: { entries: feedback.entries, bytes: feedback.bytes } };
  });

  // ---- admin -------------------------------------------------------------------------
  const admin = async (req: FastifyRequest) => {
    if (!opts.adminToken) throw new HttpError(403, HttpCode.ADMIN_DISABLED, 'no admin token is configured (CF_NATIVE_ADMIN_TOKEN or --admin-token-file)');
    const h = req.headers.authorization ?? '';
    const m = /^Bearer (.+)$/.exec(h);
    if (!m || !sameToken(m[1]!, opts.adminToken)) throw new HttpError(401, HttpCode.UNAUTHORIZED, 'a valid `Authorization: Bearer <token>` header is required');
  };
  app.post(
    '/admin/reload',
    {
      onRequest: admin,
      bodyLimit: opts.limits.bodyLimit,
      schema: {
        summary: 'Load the models again (one, or all); a version that fails to load leaves the old one serving',
        security: [{ admin: [] }],
        querystring: Type.Object({ model: Type.Optional(Type.String({ minLength: 1 })) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ models: Type.Array(Type.Object({ name: Type.String(), status: Type.String(), version: Type.Union([Type.String(), Type.Null()]), error: Type.Union([Type.Object({ code: Type.String(), message: Type.String(), at: Type.String() }), Type.Null()]) })) }),
          ...errors,
        },
      },
    },
    async (req) => {
      const name = req.query.model;
      if (name !== undefined && !store.has(name)) throw new HttpError(404, HttpCode.UNKNOWN_MODEL, `unknown model ${JSON.stringify(name)} (see GET /models)`);
      const st = await store.reload(name, true);
      return { models: st.map((x) => ({ name: x.name, status: x.status, version: x.served?.version ?? null, error: x.error })) };
    },
  );

  // ---- metrics -----------------------------------------------------------------------
  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text format)', hide: false } }, async (_req, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};

