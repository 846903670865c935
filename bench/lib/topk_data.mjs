// Inputs of the top-K benchmark (bench/topk.mjs): random factors, a seen matrix and the query
// lists, written once as .npy under bench/.data/topk/ so that both engines read identical bytes
// (cf-native through src/artifacts/npy.ts, implicit through numpy.load).
//
// Seeded and deterministic (own PRNG, no library's stream to drift); regenerated only when the
// spec recorded next to the files differs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Shapes of the datasets the issue names: ML-20M (138,493 users x 20,108 items) and Last.fm-360K
// (358,868 x 292,385). `queries` users out of all get recommendations, `similar` items get
// similar items; the first `singles` of each list are also asked one call at a time.
export const SHAPES = {
  items20k: { users: 138_493, items: 20_108, queries: 20_000 },
  items292k: { users: 358_868, items: 292_385, queries: 4_000 },
};
export const TOPK_WORKLOADS = {
  'items20k-64': { shape: 'items20k', factors: 64 },
  'items20k-128': { shape: 'items20k', factors: 128 },
  'items292k-64': { shape: 'items292k', factors: 64 },
  'items292k-128': { shape: 'items292k', factors: 128 },
};
// --quick divides users, items and queries by this.
export const QUICK_SCALE = 10;
// Seen items per user: uniform in [SEEN_MIN, SEEN_MAX], mean 70, so that filtering is real work.
const SEEN_MIN = 35;
const SEEN_MAX = 105;
// normal(0, SIGMA) factors: signed, like trained ALS factors, so scores are not all positive
// and the top-K is not simply the items of largest norm.
const SIGMA = 0.1;
const SIMILAR_QUERIES = 2_000;
// Bump when the generator changes, so old files are not reused.
const GENERATOR_VERSION = 1;

/** mulberry32: a small, fast 32-bit PRNG; uniform in [0, 1). */
function uniform(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n normal(0, sigma) float32 values (Box-Muller, both outputs used). */
function normals(n, sigma, seed) {
  const u = uniform(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = sigma * Math.sqrt(-2 * Math.log(1 - u()));
    const a = 2 * Math.PI * u();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/** `count` distinct values of [0, n), sorted ascending (partial Fisher-Yates on a scratch array). */
function sample(n, count, u) {
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(u() * (n - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm.slice(0, count).sort();
}

/** The seen matrix as CSR (indptr, indices): every user, each row sorted and duplicate-free. */
function seenCsr(users, items, seed) {
  const u = uniform(seed);
  const indptr = new Uint32Array(users + 1);
  const counts = new Uint32Array(users);
  for (let r = 0; r < users; r++) {
    counts[r] = Math.min(items, SEEN_MIN + Math.floor(u() * (SEEN_MAX - SEEN_MIN + 1)));
    indptr[r + 1] = indptr[r] + counts[r];
  }
  const indices = new Uint32Array(indptr[users]);
  // Rejection against a stamp per item: a row's ~70 draws out of thousands rarely collide.
  const stamp = new Int32Array(items).fill(-1);
  for (let r = 0; r < users; r++) {
    const row = indices.subarray(indptr[r], indptr[r + 1]);
    for (let j = 0; j < row.length; ) {
      const it = Math.floor(u() * items);
      if (stamp[it] === r) continue;
      stamp[it] = r;
      row[j++] = it;
    }
    row.sort();
  }
  return { indptr, indices };
}

export function shapeFor(name, quick) {
  const s = SHAPES[name];
  if (!quick) return { ...s, similar: SIMILAR_QUERIES };
  const d = (x) => Math.max(1, Math.round(x / QUICK_SCALE));
  return { users: d(s.users), items: d(s.items), queries: d(s.queries), similar: d(SIMILAR_QUERIES) };
}

const specMatches = (dir, spec) =>
  existsSync(join(dir, 'spec.json')) && readFileSync(join(dir, 'spec.json'), 'utf8') === JSON.stringify(spec);

/**
 * Makes sure `<root>/<shape>/` (seen CSR, query users, query items) and
 * `<root>/<shape>/f<factors>/` (user and item factors) exist for this spec; returns both paths.
 * `writeNpy` is src/artifacts/npy.ts's writer (from dist/), passed in so this file loads
 * before the TypeScript is built.
 */
export async function ensureTopkData(root, workload, { quick, seed, writeNpy, log }) {
  const w = TOPK_WORKLOADS[workload];
  const shape = shapeFor(w.shape, quick);
  const shapeDir = join(root, `${w.shape}${quick ? '-quick' : ''}`);
  const factorDir = join(shapeDir, `f${w.factors}`);
  const shapeSpec = { version: GENERATOR_VERSION, seed, ...shape, seen: [SEEN_MIN, SEEN_MAX] };
  if (!specMatches(shapeDir, shapeSpec)) {
    const t = Date.now();
    mkdirSync(shapeDir, { recursive: true });
    const { indptr, indices } = seenCsr(shape.users, shape.items, seed);
    await writeNpy(join(shapeDir, 'seen_indptr.npy'), indptr, [indptr.length]);
    await writeNpy(join(shapeDir, 'seen_indices.npy'), indices, [indices.length]);
    // Query lists: a seeded random subset, ascending (a batch job walks its users in order).
    const users = sample(shape.users, shape.queries, uniform(seed + 1));
    const items = sample(shape.items, shape.similar, uniform(seed + 2));
    await writeNpy(join(shapeDir, 'query_users.npy'), users, [users.length]);
    await writeNpy(join(shapeDir, 'query_items.npy'), items, [items.length]);
    writeFileSync(join(shapeDir, 'spec.json'), JSON.stringify(shapeSpec));
    log(`generated ${shapeDir}: ${shape.users} x ${shape.items}, ${indices.length} seen in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  const factorSpec = { ...shapeSpec, factors: w.factors, sigma: SIGMA };
  if (!specMatches(factorDir, factorSpec)) {
    const t = Date.now();
    mkdirSync(factorDir, { recursive: true });
    const f = w.factors;
    await writeNpy(join(factorDir, 'user_factors.npy'), normals(shape.users * f, SIGMA, seed * 31 + f), [shape.users, f]);
    await writeNpy(join(factorDir, 'item_factors.npy'), normals(shape.items * f, SIGMA, seed * 37 + f), [shape.items, f]);
    writeFileSync(join(factorDir, 'spec.json'), JSON.stringify(factorSpec));
    log(`generated ${factorDir} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  return { shape, shapeDir, factorDir };
}
