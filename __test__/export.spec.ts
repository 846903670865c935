// Ranked-list export (`cf-native recommend` / `similar`, exportRecommendations /
// exportSimilarItems): the file holds exactly what recommend / similarItems return, with
// original ids; bad input is a coded error naming the argument; a failed or cancelled run
// leaves no file, no temp file, and an existing file untouched.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseK, readQueryFile, runListCommand } from '../src/cli/recommend.js';
import {
  ALS,
  EMBEDDED_RATINGS,
  Popularity,
  exportFactors,
  exportRecommendations,
  exportSimilarItems,
  loadDataset,
  loadModel,
  matrixFromCoo,
  saveModel,
  splitDataset,
  type LoadedModel,
} from '../src/index.js';

const root = join(import.meta.dirname, '..');
let dir: string;
let modelDir: string;
let loaded: LoadedModel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cf-export-'));
  const ds = loadDataset({ path: EMBEDDED_RATINGS, positiveThreshold: 4, minUserInteractions: 3 });
  const { train } = splitDataset(ds, { strategy: 'none' });
  const model = await ALS.fit(train, { factors: 8, iterations: 2, seed: 1 });
  modelDir = join(dir, 'model');
  await saveModel(modelDir, model, { userIds: ds.userIds(), itemIds: ds.itemIds() });
  loaded = await loadModel(modelDir);
});

const ids = () => ({ userIds: loaded.userIds, itemIds: loaded.itemIds });

/** Folder entries other than `keep`: temp files left behind would show up here. */
async function others(folder: string, keep: string[] = []): Promise<string[]> {
  return (await readdir(folder)).filter((n) => !keep.includes(n));
}

/** Rows of a CSV without quoted fields (MovieLens ids are digits). */
async function csvRows(path: string): Promise<string[][]> {
  const lines = (await readFile(path, 'utf8')).split('\n');
  expect(lines.pop()).toBe('');
  return lines.map((l) => l.split(','));
}

/** What the file must hold: recommend() for each user, as [user id, rank, item id, score]. */
function expected(users: number[], k: number): [string, number, string, number][] {
  const rows: [string, number, string, number][] = [];
  for (const u of users) {
    const r = loaded.model.recommend(u, { k });
    r.ids.forEach((item, j) => rows.push([loaded.userIds[u]!, j + 1, loaded.itemIds[item]!, r.scores[j]!]));
  }
  return rows;
}

const allUsers = () => Array.from({ length: loaded.model.nUsers }, (_, u) => u);

describe('exportRecommendations', () => {
  it('writes CSV equal to recommend() for every user, with original ids', async () => {
    const path = join(dir, 'all.csv');
    const seen: [number, number][] = [];
    const r = await exportRecommendations(loaded.model, path, { k: 7, ...ids(), onProgress: (d, t) => seen.push([d, t]) });
    const rows = await csvRows(path);
    expect(rows[0]).toEqual(['user', 'rank', 'item', 'score']);
    const want = expected(allUsers(), 7);
    expect(r).toMatchObject({ queries: loaded.model.nUsers, rows: want.length, format: 'csv' });
    expect(rows.length - 1).toBe(want.length);
    want.forEach(([u, rank, item, score], j) => {
      const got = rows[j + 1]!;
      expect([got[0], Number(got[1]), got[2]]).toEqual([u, rank, item]);
      // The text is the shortest that reads back as the same float32.
      expect(Math.fround(Number(got[3]))).toBe(score);
    });
    expect(seen.at(-1)).toEqual([loaded.model.nUsers, loaded.model.nUsers]);
  });

  it('writes JSONL with the same rows, ids as strings', async () => {
    const path = join(dir, 'all.jsonl');
    await exportRecommendations(loaded.model, path, { k: 3, ...ids() });
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    const want = expected(allUsers(), 3);
    expect(lines).toHaveLength(want.length);
    lines.forEach((l, j) => {
      const o = JSON.parse(l) as { user: string; rank: number; item: string; score: number };
      expect(Object.keys(o)).toEqual(['user', 'rank', 'item', 'score']);
      expect([o.user, o.rank, o.item, Math.fround(o.score)]).toEqual(want[j]);
    });
  });

  it('writes Parquet that reads back (with the Parquet reader) as the same table as the CSV', async () => {
    const csv = join(dir, 'same.csv');
    const pq = join(dir, 'same.parquet');
    await exportRecommendations(loaded.model, csv, { k: 5, ...ids() });
    const r = await exportRecommendations(loaded.model, pq, { k: 5, ...ids() });
    expect(r.format).toBe('parquet');
    expect((await readFile(pq)).subarray(0, 4).toString()).toBe('PAR1');
    // Read both files as interactions (user, item, score): the same ids, pairs and values.
    const opts = { user: 'user', item: 'item', rating: 'score', values: 'rating' as const, header: true };
    const a = loadDataset({ path: csv, ...opts });
    const b = loadDataset({ path: pq, user: 'user', item: 'item', rating: 'score', values: 'rating' as const });
    expect(b.userIds()).toEqual(a.userIds());
    expect(b.itemIds()).toEqual(a.itemIds());
    expect(b.stats).toEqual(a.stats);
    const [ma] = a.split({ strategy: 'none' });
    const [mb] = b.split({ strategy: 'none' });
    expect(mb!.nnz).toBe(expected(allUsers(), 5).length);
    expect(Buffer.from(mb!.values().buffer).equals(Buffer.from(ma!.values().buffer))).toBe(true);
  });

  it('writes a subset of users in the order given; k beyond the catalogue gives what exists', async () => {
    const m = matrixFromCoo(Uint32Array.of(0, 0, 1), Uint32Array.of(0, 1, 2), 3, 4);
    const pop = Popularity.fit(m);
    const path = join(dir, 'pop.csv');
    const r = await exportRecommendations(pop, path, { k: 1_000_000, users: [2, 0] });
    // User 2 has seen nothing (4 items), user 0 two of them (2 left).
    expect(r.rows).toBe(6);
    const rows = await csvRows(path);
    expect(rows.slice(1).map((x) => `${x[0]}:${x[1]}`)).toEqual(['2:1', '2:2', '2:3', '2:4', '0:1', '0:2']);
    const unfiltered = await exportRecommendations(pop, path, { k: 1_000_000, users: [0], filterSeen: false });
    expect(unfiltered.rows).toBe(4);
  });

  it('refuses bad arguments with coded errors naming them, creating nothing', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'cf-export-bad-'));
    const path = join(folder, 'r.csv');
    const bad: [object, RegExp][] = [
      [{ k: 0 }, /^k: must be an integer in 1\.\.=4294967295 \(got 0\)/],
      [{ k: -1 }, /^k: .*\(got -1\)/],
      [{ k: 1.5 }, /^k: .*\(got 1\.5\)/],
      [{ k: 'abc' }, /^k: must be a number \(got a string\)/],
      [{ users: [0, 99999] }, /^users: index 99999 at position 1 is out of range \(model has 608 users\)/],
      [{ users: [-1] }, /^users: -1 at position 0 is not a non-negative integer index/],
      [{ userIds: ['a'] }, /^userIds: has 1 ids, the model 608 users/],
      [{ bogus: 1 }, /bogus is not a known option/],
      [{ format: 'xml' }, /^format: unknown format "xml" \(known: csv, jsonl, parquet\)/],
    ];
    for (const [o, msg] of bad) {
      await expect(exportRecommendations(loaded.model, path, o as never)).rejects.toMatchObject({ code: 'ERR_CF_INVALID_ARG', message: expect.stringMatching(msg) });
    }
    await expect(exportRecommendations(loaded.model, join(folder, 'r.txt'))).rejects.toMatchObject({
      code: 'ERR_CF_INVALID_ARG',
      message: expect.stringContaining('has the unknown extension .txt; the format comes from it (known: .csv, .jsonl, .parquet)'),
    });
    expect(await others(folder)).toEqual([]);
  });

  it('refuses a path that cannot be written: under a file, a folder, /proc', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'cf-export-io-'));
    await writeFile(join(folder, 'file'), 'x');
    for (const p of [join(folder, 'file', 'r.csv'), join(folder, 'sub.csv'), '/proc/r.csv']) {
      if (p.endsWith('sub.csv')) await import('node:fs/promises').then((f) => f.mkdir(p));
      await expect(exportRecommendations(loaded.model, p)).rejects.toMatchObject({ code: 'ERR_CF_IO', message: expect.stringContaining(`cannot write ${p}`) });
    }
    expect((await others(folder)).sort()).toEqual(['file', 'sub.csv']);
  });

  it('creates a missing folder', async () => {
    const path = join(dir, 'new', 'deeper', 'r.csv');
    await exportRecommendations(loaded.model, path, { k: 1, users: [0] });
    expect(await readFile(path, 'utf8')).toMatch(/^user,rank,item,score\n/);
  });
});

describe('a failed or cancelled export', () => {
  /** A model big enough for many chunks (4096 users each), so an abort lands mid-run. */
  function big(): ALS {
    const users = 60_000;
    const items = 3_000;
    const f = 8;
    const uf = new Float32Array(users * f).map((_, j) => Math.sin(j));
    const itf = new Float32Array(items * f).map((_, j) => Math.cos(j * 0.7));
    return ALS.fromFactors({ factors: f }, uf, itf);
  }

  it('stops a running export on abort: no file, no temp file, the old file untouched', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'cf-export-abort-'));
    const path = join(folder, 'r.csv');
    await writeFile(path, 'old');
    const ac = new AbortController();
    const calls: number[] = [];
    const run = exportRecommendations(big(), path, {
      k: 10,
      signal: ac.signal,
      onProgress: (done) => {
        calls.push(done);
        ac.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls.length).toBeGreaterThan(0);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await others(folder, ['r.csv'])).toEqual([]);
  });

  it('an already-aborted signal writes nothing', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'cf-export-abort-'));
    await expect(exportRecommendations(loaded.model, join(folder, 'r.csv'), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(await others(folder)).toEqual([]);
  });

  it('a progress callback that throws stops the export with its error', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'cf-export-throw-'));
    const path = join(folder, 'r.jsonl');
    await writeFile(path, 'old');
    const boom = new Error('boom');
    await expect(
      exportRecommendations(big(), path, {
        onProgress: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await others(folder, ['r.jsonl'])).toEqual([]);
  });
});

describe('exportSimilarItems', () => {
  it('writes similarItems() for every item, columns item, rank, similar_item, score', async () => {
    const path = join(dir, 'similar.csv');
    const r = await exportSimilarItems(loaded.model, path, { k: 4, itemIds: loaded.itemIds });
    const rows = await csvRows(path);
    expect(rows[0]).toEqual(['item', 'rank', 'similar_item', 'score']);
    expect(r.rows).toBe(rows.length - 1);
    expect(r.queries).toBe(loaded.model.nItems);
    for (const i of [0, 1, 4095, 4096, loaded.model.nItems - 1]) {
      const want = loaded.model.similarItems(i, { k: 4 });
      const got = rows.filter((x) => x[0] === loaded.itemIds[i]);
      expect(got.map((x) => x[2])).toEqual([...want.ids].map((j) => loaded.itemIds[j]));
      expect(got.map((x) => Math.fround(Number(x[3])))).toEqual([...want.scores]);
    }
  });

  it('a model without item similarity refuses before creating a file', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'cf-export-pop-'));
    const pop = Popularity.fit(matrixFromCoo(Uint32Array.of(0), Uint32Array.of(1), 1, 2));
    await expect(exportSimilarItems(pop, join(folder, 's.csv'))).rejects.toMatchObject({ code: 'ERR_CF_UNSUPPORTED' });
    expect(await others(folder)).toEqual([]);
  });
});

describe('the recommend command', () => {
  it('checks --k as typed', () => {
    expect(parseK(undefined, 100)).toBe(100);
    expect(parseK('25', 100)).toBe(25);
    for (const bad of ['0', '-1', '1.5', 'abc', '1e2', '']) {
      expect(() => parseK(bad, 100)).toThrow(new RegExp(`^--k: must be a positive integer \\(got ${bad.replace('.', '\\.')}\\)`));
    }
  });

  it('reads a --users file: one id per line, blank lines and CRs skipped; unknown ids named with their line', async () => {
    const file = join(dir, 'users.txt');
    await writeFile(file, `${loaded.userIds[5]}\n\n${loaded.userIds[2]}\r\n`);
    expect([...(await readQueryFile('--users', file, loaded.userIds, 'user'))]).toEqual([5, 2]);
    await writeFile(file, `${loaded.userIds[5]}\n\nnope\n`);
    await expect(readQueryFile('--users', file, loaded.userIds, 'user')).rejects.toMatchObject({
      code: 'ERR_CF_DATA',
      message: `--users: ${file}:3: unknown user id "nope" (the model has 608 users)`,
    });
    await writeFile(file, '\n\n');
    await expect(readQueryFile('--users', file, loaded.userIds, 'user')).rejects.toMatchObject({ message: expect.stringContaining('lists no user ids') });
    await expect(readQueryFile('--users', join(dir, 'missing.txt'), loaded.userIds, 'user')).rejects.toMatchObject({ code: 'ERR_CF_IO' });
  });

  it('writes the users of a file, in its order', async () => {
    const file = join(dir, 'some.txt');
    await writeFile(file, `${loaded.userIds[9]}\n${loaded.userIds[3]}\n`);
    const out = join(dir, 'some.csv');
    expect(await runListCommand('recommend', modelDir, { k: '2', out, queries: file, quiet: true })).toBe(0);
    const rows = await csvRows(out);
    expect(rows.slice(1).map((r) => r[0])).toEqual([loaded.userIds[9], loaded.userIds[9], loaded.userIds[3], loaded.userIds[3]]);
  });

  it('exits 2 on bad input and leaves an existing file untouched', async () => {
    const out = join(dir, 'keep.csv');
    await writeFile(out, 'old');
    const file = join(dir, 'unknown.txt');
    await writeFile(file, 'nope\n');
    const quietStderr = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await runListCommand('recommend', modelDir, { k: '0', out, quiet: true })).toBe(2);
      expect(await runListCommand('recommend', modelDir, { out, queries: file, quiet: true })).toBe(2);
      expect(await runListCommand('recommend', modelDir, { out: join(dir, 'x.tsv'), quiet: true })).toBe(2);
      expect(await runListCommand('similar', join(dir, 'no-model'), { out, quiet: true })).toBe(2);
    } finally {
      process.stderr.write = quietStderr;
    }
    expect(await readFile(out, 'utf8')).toBe('old');
  });

  it.skipIf(!existsSync(join(root, 'dist/cli/main.js')))('runs end to end: file, stdout, plain progress lines off a terminal', async () => {
    const out = join(dir, 'cli.csv');
    const cli = join(root, 'dist/cli/main.js');
    const r = spawnSync(process.execPath, [cli, 'recommend', modelDir, '--k', '5', '--out', out], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^ {2}0% 0\/608 users/m);
    expect(r.stderr).toMatch(/^100% 608\/608 users/m);
    expect(r.stderr).toContain('recommend: 3,040 rows (608 users, k 5) written to');
    expect(r.stderr).not.toContain('\r');
    expect((await readFile(out, 'utf8')).split('\n')).toHaveLength(3042);
    // stdout: the same CSV; --quiet prints nothing else.
    const s = spawnSync(process.execPath, [cli, 'similar', modelDir, '--k', '2', '--quiet'], { encoding: 'utf8' });
    expect(s.status).toBe(0);
    expect(s.stderr).toBe('');
    expect(s.stdout.startsWith('item,rank,similar_item,score\n')).toBe(true);
    expect(s.stdout.trimEnd().split('\n')).toHaveLength(1 + 2 * loaded.model.nItems);
    const help = spawnSync(process.execPath, [cli, 'recommend', '--help'], { encoding: 'utf8' });
    expect([help.status, help.stderr]).toEqual([0, '']);
    expect(help.stdout).toContain('--no-filter-seen');
    const bad = spawnSync(process.execPath, [cli, 'recommend', modelDir, '--k', 'abc'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('cf-native: --k: must be a positive integer (got abc)\n');
    // A negative value is the option's value (cac took `-1` for an option of its own), and
    // `--out -` is stdout, as documented (cac answered "value is missing").
    for (const [args, message] of [
      [['--k', '-1'], '--k: must be a positive integer (got -1)'],
      [['--k=-2'], '--k: must be a positive integer (got -2)'],
      [['--explain', '-0.5', '--out', '-'], '--explain'],
    ] as const) {
      const neg = spawnSync(process.execPath, [cli, 'recommend', modelDir, ...args], { encoding: 'utf8' });
      expect([neg.status, neg.stdout]).toEqual([2, '']);
      expect(neg.stderr).toContain(`cf-native: ${message}`);
      expect(neg.stderr).not.toContain('unknown option');
    }
    const dash = spawnSync(process.execPath, [cli, 'recommend', modelDir, '--k', '3', '--out', '-', '--quiet'], { encoding: 'utf8' });
    expect([dash.status, dash.stderr]).toEqual([0, '']);
    expect(dash.stdout.trimEnd().split('\n')).toHaveLength(1 + 3 * 608);
    expect(spawnSync(process.execPath, [cli, 'recommend', modelDir, '--k', '3', '--quiet'], { encoding: 'utf8' }).stdout).toBe(dash.stdout);
  });

  it.skipIf(!existsSync(join(root, 'dist/cli/main.js')) || process.platform === 'win32')('Ctrl-C stops it, exit 130, no temp file', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'cf-export-sigint-'));
    // Many chunks: 60k users.
    const users = 60_000;
    const m = ALS.fromFactors({ factors: 4 }, new Float32Array(users * 4).map((_, j) => Math.sin(j)), new Float32Array(2000 * 4).map((_, j) => Math.cos(j)));
    const big = join(folder, 'model');
    await saveModel(big, m, {
      userIds: Array.from({ length: users }, (_, u) => `u${u}`),
      itemIds: Array.from({ length: 2000 }, (_, i) => `i${i}`),
      train: matrixFromCoo(new Uint32Array(0), new Uint32Array(0), users, 2000),
    });
    const out = join(folder, 'r.csv');
    const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'recommend', big, '--k', '50', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      // The first progress line: the export is running.
      if (err.includes('users') && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(code).toBe(130);
    expect(err).toContain('interrupted: nothing was written');
    expect(await others(folder, ['model', ...(await readdir(folder)).filter((n) => n.startsWith('.model~'))])).toEqual([]);
  });
});

describe('exportFactors', () => {
  it('writes both sides as Parquet, refuses models without factors and wrong id counts', async () => {
    const out = join(dir, 'factors');
    const files = await exportFactors(loaded.model, out, ids());
    for (const f of [files.users, files.items]) expect((await readFile(f)).subarray(0, 4).toString()).toBe('PAR1');
    expect((await others(out)).sort()).toEqual(['item_factors.parquet', 'user_factors.parquet']);
    const pop = Popularity.fit(matrixFromCoo(Uint32Array.of(0), Uint32Array.of(1), 1, 2));
    await expect(exportFactors(pop, join(dir, 'pf'), { userIds: ['a'], itemIds: ['x', 'y'] })).rejects.toMatchObject({ code: 'ERR_CF_UNSUPPORTED' });
    await expect(exportFactors(loaded.model, join(dir, 'bad'), { userIds: ['only-one'], itemIds: loaded.itemIds })).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_CF_/),
    });
    // Nothing half-written is left where the failed export was going.
    expect(existsSync(join(dir, 'bad', 'user_factors.parquet'))).toBe(false);
    expect(await others(join(dir, 'bad'))).toEqual([]);
  });
});
