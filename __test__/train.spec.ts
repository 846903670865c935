import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runTrainCommand } from '../src/cli/train.js';
import { demoConfig, loadModel, runTrain } from '../src/index.js';
import { readNpy } from '../src/artifacts/npy.js';
import type { ALS } from '../src/models/als.js';

const root = join(import.meta.dirname, '..');

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'cf-train-'));
}

/** Run the train command on a config text; returns exit code and what it printed to stderr. */
async function train(yaml: string, files: Record<string, string> = {}) {
  const dir = await tmp();
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const cfg = join(dir, 'config.yaml');
  await writeFile(cfg, yaml.replaceAll('$DIR', dir));
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await runTrainCommand(cfg, { quiet: true });
    return { code, err, dir };
  } finally {
    spy.mockRestore();
    out.mockRestore();
  }
}

const config = (data: string, models = '[{ type: als, params: { factors: 4, iterations: 2 } }]', extra = '') => `
data:
${data}
models: ${models}
output: $DIR/out
${extra}`;

const good = 'u,i,r\n' + Array.from({ length: 40 }, (_, j) => `u${j % 8},i${(j * 7) % 11},${1 + (j % 5)}`).join('\n') + '\n';

afterEach(() => vi.restoreAllMocks());

describe('cf-native train on the embedded dataset', () => {
  it('trains the demo, beats popularity, and writes the contracted artifacts', async () => {
    const out = await tmp();
    const report = await runTrain(demoConfig(out));
    const als = report.models[0]!;
    const base = report.baseline.test!;
    expect(report.usersEvaluated).toBe(608);
    expect(als.test!['recall@10']).toBeGreaterThan(base['recall@10']!);
    expect(als.test!['ndcg@10']).toBeGreaterThan(base['ndcg@10']!);
    const metrics = JSON.parse(await readFile(join(out, 'als', 'metrics.json'), 'utf8'));
    expect(metrics.model).toBe('als');
    expect(Object.keys(metrics.test)).toEqual(expect.arrayContaining(['precision@10', 'recall@10', 'ndcg@10', 'map@10', 'hit_rate@10']));
    expect(metrics.baseline.popularity['recall@10']).toBeCloseTo(base['recall@10']!, 10);
    expect(metrics.train_seconds).toBeGreaterThan(0);
    const uf = await readNpy(join(out, 'als', 'user_factors.npy'));
    expect(uf.dtype).toBe('<f4');
    expect(uf.shape).toEqual([608, 64]);
    const loaded = await loadModel(join(out, 'als'));
    expect((loaded.model as ALS).nItems).toBe(loaded.itemIds.length);
    const model = JSON.parse(await readFile(join(out, 'als', 'model.json'), 'utf8'));
    expect(model.data_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(model.versions['cf-native']).toBe('0.1.0');
  });

  it('meets the issue bar on the example config (ALS Recall@10 >= 0.055 > popularity)', async () => {
    const r = await train(
      (await readFile(join(root, 'examples/ml-latest-small-leave-last-out.yaml'), 'utf8'))
        .replace('datasets/', `${root}/datasets/`)
        .replace(/^output: .*$/m, 'output: $DIR/out'),
    );
    expect(r.code, r.err).toBe(0);
    const m = JSON.parse(await readFile(join(r.dir, 'out', 'als', 'metrics.json'), 'utf8'));
    expect(m.test['recall@10']).toBeGreaterThanOrEqual(0.055);
    expect(m.baseline.popularity['recall@10']).toBeLessThan(m.test['recall@10']);
  });

  it.skipIf(!existsSync(join(root, 'dist/cli/main.js')))('the built CLI exits 2 with one line on a bad config', () => {
    const r = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), 'train', '/nonexistent/config.yaml'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/nonexistent\/config\.yaml/);
  });
});

describe('bad input: one line naming the problem, exit code 2', () => {
  const cases: [string, string, Record<string, string>, RegExp][] = [
    ['missing data file', config('  path: $DIR/nope.csv'), {}, /nope\.csv/],
    ['empty data file', config('  path: $DIR/d.csv'), { 'd.csv': '' }, /d\.csv: file is empty/],
    ['missing column', config('  path: $DIR/d.csv\n  columns: { user: u, item: i, rating: stars }'), { 'd.csv': good }, /no column named "stars"/],
    ['non-numeric rating', config('  path: $DIR/d.csv\n  positive_threshold: 2'), { 'd.csv': 'u,i,r\na,b,3\nc,d,x\n' }, /d\.csv:3: .*"x" is not a number/],
    ['NaN rating', config('  path: $DIR/d.csv\n  values: rating'), { 'd.csv': 'u,i,r\na,b,3\nc,d,NaN\n' }, /d\.csv:3: .*not finite/],
    ['too few fields', config('  path: $DIR/d.csv\n  columns: { user: 0, item: 1, rating: 2 }'), { 'd.csv': '1,2,3\n4,5\n' }, /d\.csv:2: expected at least 3 fields, found 2/],
    ['unknown config key', config('  path: $DIR/d.csv\n  colums: {}'), { 'd.csv': good }, /unknown key data\.colums/],
    ['wrong type in config', config('  path: $DIR/d.csv', '[{ type: als, params: { factors: "many" } }]'), { 'd.csv': good }, /factors/],
    ['factors = 0', config('  path: $DIR/d.csv', '[{ type: als, params: { factors: 0 } }]'), { 'd.csv': good }, /factors must be an integer in 1..=4096 \(got 0\)/],
    ['k = 0', config('  path: $DIR/d.csv', undefined, 'evaluate: { k: [0] }'), { 'd.csv': good }, /evaluate\.k/],
    ['one user', config('  path: $DIR/d.csv'), { 'd.csv': 'u,i\na,1\na,2\na,3\n' }, /1 user after filtering/],
    [
      'split leaving no training data',
      config('  path: $DIR/d.csv\n  columns: { user: 0, item: 1, time: 2 }', undefined, 'split: { strategy: time, test_cutoff: 0 }'),
      { 'd.csv': 'a,1,5\nb,2,6\na,2,7\n' },
      /no training data/,
    ],
  ];
  for (const [name, yaml, files, message] of cases) {
    it(name, async () => {
      const r = await train(yaml, files);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(message);
    });
  }

  it('reads gzip, Latin-1 ids, quoted fields, "::" and CRLF', async () => {
    const { gzipSync } = await import('node:zlib');
    const dir = await tmp();
    const rows = Array.from({ length: 30 }, (_, j) => `${j % 6}::${(j * 5) % 9}::4::${j}`).join('\r\n');
    await writeFile(join(dir, 'r.dat.gz'), gzipSync(Buffer.from(rows)));
    const latin = Buffer.concat([Buffer.from('u,i\n"Jos'), Buffer.from([0xe9]), Buffer.from(', A",1\nBob,2\n"Jos'), Buffer.from([0xe9]), Buffer.from(', A",2\nBob,1\n')]);
    await writeFile(join(dir, 'l.csv'), latin);
    const a = await train(config(`  path: ${join(dir, 'r.dat.gz')}`, undefined, 'split: { strategy: none }'));
    expect(a.code, a.err).toBe(0);
    const b = await train(config(`  path: ${join(dir, 'l.csv')}`, undefined, 'split: { strategy: none }'));
    expect(b.code, b.err).toBe(0);
    const ids = JSON.parse(await readFile(join(b.dir, 'out', 'als', 'user_ids.json'), 'utf8'));
    expect(ids).toEqual(['José, A', 'Bob']);
  });
});
