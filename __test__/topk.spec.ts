// The top-K engine through the real binding: batches equal single calls, every filter, the
// same lists at any thread count, async with abort, similar users, score stats, bad input.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALS, NO_ITEM, Popularity, matrixFromCoo, saveModel, type Lists, type TopK } from '../src/index.js';

/** Small-integer factors: many scores tie exactly, so the tie rule (lower index) is tested. */
function factors(n: number, f: number, seed: number): Float32Array {
  // xorshift32 in integer arithmetic (a float LCG loses bits past 2^53 and cycles).
  let s = seed;
  return Float32Array.from({ length: n * f }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) % 5) - 2;
  });
}

const NU = 40;
const NI = 300;
const F = 8;

function model(threads: number): ALS {
  const m = ALS.fromFactors({ factors: F, threads }, factors(NU, F, 1), factors(NI, F, 2));
  // Seen rows: user u has items u, u+1, ..., u+9 (mod NI).
  const u: number[] = [];
  const i: number[] = [];
  for (let user = 0; user < NU; user++) for (let j = 0; j < 10; j++) (u.push(user), i.push((user * 7 + j) % NI));
  m.train = matrixFromCoo(Uint32Array.from(u), Uint32Array.from(i), NU, NI);
  return m;
}

/** Brute force: every score computed in float32 with one rounding per multiply-add, full sort. */
function brute(m: ALS, user: number, k: number, keep: (i: number) => boolean): { ids: number[]; scores: number[] } {
  const uf = m.userFactors();
  const itf = m.itemFactors();
  const all: [number, number][] = [];
  for (let i = 0; i < NI; i++) {
    let acc = 0;
    // Integer factors: every partial sum is exact, so float64 gives the float32 result.
    for (let j = 0; j < F; j++) acc += uf[user * F + j]! * itf[i * F + j]!;
    if (keep(i)) all.push([i, Math.fround(acc)]);
  }
  all.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const top = all.slice(0, k);
  return { ids: top.map((x) => x[0]), scores: top.map((x) => x[1]) };
}

const row = (l: Lists, r: number): TopK => {
  const ids = l.ids.subarray(r * l.k, (r + 1) * l.k);
  const n = ids.indexOf(NO_ITEM) < 0 ? l.k : ids.indexOf(NO_ITEM);
  return { ids: ids.subarray(0, n), scores: l.scores.subarray(r * l.k, r * l.k + n) };
};

describe('top-K through the binding', () => {
  it('a batch equals single calls and a brute-force sort, with every filter', () => {
    const m = model(2);
    const seen = (u: number, i: number) => (i - ((u * 7) % NI) + NI) % NI < 10;
    const excludeItems = [3, 17, 250];
    const candidates = Array.from({ length: 120 }, (_, j) => (j * 37) % NI);
    const users = Uint32Array.from({ length: NU }, (_, j) => NU - 1 - j);
    for (const opts of [{ k: 15 }, { k: 15, excludeItems, candidates }, { k: 400, filterSeen: false, excludeItems }]) {
      const batch = m.recommend(users, opts);
      expect(batch.rows).toBe(NU);
      users.forEach((u, r) => {
        const one = m.recommend(u, opts);
        expect([...row(batch, r).ids]).toEqual([...one.ids]);
        const want = brute(m, u, opts.k, (i) => (opts.filterSeen === false || !seen(u, i)) && !(opts.excludeItems ?? []).includes(i) && (!opts.candidates || opts.candidates.includes(i)));
        expect([...one.ids]).toEqual(want.ids);
        expect([...one.scores]).toEqual(want.scores);
      });
    }
    // k beyond the catalogue: rows as wide as the items, padded past what remains.
    const wide = m.recommend(Uint32Array.of(0), { k: 1000 });
    expect(wide.k).toBe(NI);
    expect(row(wide, 0).ids.length).toBe(NI - 10);
    expect(wide.ids[NI - 1]).toBe(NO_ITEM);
    expect(Number.isNaN(wide.scores[NI - 1])).toBe(true);
  });

  it('gives the same bits with 1, 2 and 16 threads, sync and async', async () => {
    const users = Uint32Array.from({ length: NU }, (_, j) => j);
    const lists = await Promise.all(
      [1, 2, 16].map(async (t) => {
        const m = model(t);
        const a = m.recommend(users, { k: 20 });
        const b = await m.recommendAsync(users, { k: 20 });
        expect(Buffer.from(a.ids.buffer).equals(Buffer.from(b.ids.buffer))).toBe(true);
        return [a, m.similarItems(users, { k: 7 }), m.similarUsers(users, { k: 5, measure: 'dot' })];
      }),
    );
    for (const other of lists.slice(1)) {
      other.forEach((l, j) => {
        expect(Buffer.from(l.ids.buffer).equals(Buffer.from(lists[0]![j]!.ids.buffer))).toBe(true);
        expect(Buffer.from(l.scores.buffer).equals(Buffer.from(lists[0]![j]!.scores.buffer))).toBe(true);
      });
    }
  });

  it('similar items and users leave out the query and honour filters', async () => {
    const m = model(2);
    const one = m.similarItems(5, { k: 10, excludeItems: [6], candidates: [1, 2, 5, 6, 7, 8] });
    expect([...one.ids].sort((a, b) => a - b)).toEqual([1, 2, 7, 8].filter((i) => [...one.ids].includes(i)).sort((a, b) => a - b));
    expect([...one.ids]).not.toContain(5);
    expect([...one.ids]).not.toContain(6);
    const users = m.similarUsers(Uint32Array.of(0, 1), { k: 3 });
    expect(row(users, 0).ids).not.toContain(0);
    expect(users.ids.every((u) => u < NU)).toBe(true);
    const asyncUsers = await m.similarUsersAsync([0, 1], { k: 3 });
    expect([...asyncUsers.ids]).toEqual([...users.ids]);
    const cos = m.similarItems(Uint32Array.of(9), { k: 4 });
    expect([...row(cos, 0).ids]).toEqual([...m.similarItems(9, { k: 4 }).ids]);
  });

  it('fold-in takes the filters, and its async twin gives the same list', async () => {
    const m = model(2);
    const opts = { k: 8, excludeItems: [4, 5], candidates: Array.from({ length: 100 }, (_, j) => j * 3) };
    const sync = m.recommendForItems([3, 9, 12], opts);
    expect([...sync.ids].every((i) => i % 3 === 0 && ![3, 9, 12].includes(i))).toBe(true);
    const as = await m.recommendForItemsAsync([3, 9, 12], opts);
    expect([...as.ids]).toEqual([...sync.ids]);
    expect([...as.scores]).toEqual([...sync.scores]);
    const ac = new AbortController();
    ac.abort();
    await expect(m.recommendForItemsAsync([3], { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('an aborted batch rejects with AbortError', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(model(1).recommendAsync([0, 1], { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('bad arguments are coded errors naming the argument', () => {
    const m = model(1);
    const bad: [() => unknown, RegExp][] = [
      [() => m.recommend(0, { candidates: [] }), /candidates: is empty/],
      [() => m.recommend(0, { candidates: [1, 300] }), /candidates: index 300 at position 1 is out of range \(model has 300 items\)/],
      [() => m.recommend(0, { excludeItems: [-1] }), /excludeItems: -1 at position 0 is not a non-negative integer index/],
      [() => m.recommend([0, 40], {}), /users: index 40 at position 1 is out of range \(model has 40 users\)/],
      [() => m.recommend(Uint32Array.of(1), { k: 0 }), /k: must be an integer in 1\.\./],
      [() => m.recommend(0, { k: 2.5 }), /k: /],
      [() => m.similarItems(0, { measure: 'euclid' as never }), /measure: must be "cosine" or "dot"/],
      [() => m.similarUsers(99), /user: .*99/],
      [() => m.similarItems([1], { filterSeen: true } as never), /filterSeen/],
    ];
    for (const [f, msg] of bad) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err, String(msg)).toMatchObject({ code: expect.stringMatching(/^ERR_CF_/) });
      expect((err as Error).message).toMatch(msg);
    }
  });

  it('popularity shares the filters; similar lists need factors', () => {
    const m = matrixFromCoo(Uint32Array.of(0, 0, 1, 2, 2, 2), Uint32Array.of(0, 1, 1, 1, 2, 3), 3, 5);
    const pop = Popularity.fit(m);
    const l = pop.recommend(Uint32Array.of(0, 1), { k: 3, excludeItems: [2], candidates: [0, 1, 2, 3] });
    expect([...row(l, 0).ids]).toEqual([3]);
    expect([...row(l, 1).ids]).toEqual([0, 3]);
    expect(() => pop.similarUsers(0)).toThrow(expect.objectContaining({ code: 'ERR_CF_UNSUPPORTED' }));
  });

  it('saves the score range of the top-10 in model.json', async () => {
    const m = model(1);
    const stats = m.scoreStats();
    expect(stats).not.toBeNull();
    const s = stats!;
    expect(s.users).toBe(NU);
    expect(s.min <= s.p01 && s.p01 <= s.p50 && s.p50 <= s.p99 && s.p99 <= s.max).toBe(true);
    const all = m.recommend(Uint32Array.from({ length: NU }, (_, j) => j), { k: 10 });
    expect(s.max).toBe(Math.max(...all.scores));
    expect(s.min).toBe(Math.min(...all.scores));
    const dir = join(await mkdtemp(join(tmpdir(), 'cf-topk-')), 'model');
    await saveModel(dir, m, { userIds: Array.from({ length: NU }, (_, j) => `u${j}`), itemIds: Array.from({ length: NI }, (_, j) => `i${j}`) });
    const meta = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(meta.score_stats).toEqual(s);
  });
});

describe('async batches larger than one native call', () => {
  it('join their chunks in order and stop between chunks when aborted', async () => {
    const m = ALS.fromFactors({ factors: 4, threads: 2 }, factors(40_000, 4, 5), factors(50, 4, 6));
    const users = Uint32Array.from({ length: 40_000 }, (_, j) => (j * 7919) % 40_000);
    const sync = m.recommend(users, { k: 5, filterSeen: false });
    const as = await m.recommendAsync(users, { k: 5, filterSeen: false });
    expect(as.rows).toBe(40_000);
    expect(Buffer.from(as.ids.buffer).equals(Buffer.from(sync.ids.buffer))).toBe(true);
    const ac = new AbortController();
    const p = m.recommendAsync(users, { k: 5, signal: ac.signal, filterSeen: false });
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });
});
