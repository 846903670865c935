// Spark hand-off (src/spark, python/cf_native_spark_als.py): a train through Spark on the
// embedded data, an export that PySpark's ALSModel.load reads and whose recommendForAllUsers
// agrees with cf-native's top-10, and an import of a Spark-trained model served by
// `recommend`. Two JVMs in all (the train's job and one check script). These need Java and
// PySpark: the Python is $CF_NATIVE_SPARK_PYTHON (.ci/run installs PySpark into
// target/spark-venv and sets it), else python3; without either the file skips, saying why.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runListCommand } from '../src/cli/recommend.js';
import { createServer } from '../src/server/index.js';
import { sparkCommand } from '../src/cli/spark.js';
import { runTrainCommand } from '../src/cli/train.js';
import { checkConfig } from '../src/config/index.js';
import {
  ALS,
  EMBEDDED_RATINGS,
  Popularity,
  exportSparkModel,
  importSparkModel,
  isCfError,
  loadDataset,
  loadModel,
  probeSpark,
  runTrain,
  saveModel,
  splitDataset,
  type Config,
} from '../src/index.js';
import { fitWithSpark } from '../src/spark/index.js';

const probe = probeSpark();
if (probe.problem) {
  console.warn(`spark.spec.ts skipped: ${probe.problem}`);
}

const SPARK_TIMEOUT = 240_000;

function config(output: string, spark: Record<string, unknown>): Config {
  return checkConfig(
    {
      data: { path: EMBEDDED_RATINGS, positive_threshold: 4, min_user_interactions: 3 },
      split: { strategy: 'leave-last-out', valid: 0, test: 1, seed: 42 },
      models: [
        {
          type: 'als',
          name: 'als-spark',
          engine: 'spark',
          spark,
          params: { factors: 8, regularization: 0.05, alpha: 10, iterations: 4, seed: 7, threads: 2 },
        },
      ],
      evaluate: { k: [10] },
      output,
    },
    'spark-test.yaml',
  );
}

describe('spark config', () => {
  it('refuses engine spark for other types, grids and log confidence, naming the key', () => {
    const bad = (model: Record<string, unknown>) => () =>
      checkConfig({ data: { path: EMBEDDED_RATINGS }, models: [model], output: 'x' }, 'c.yaml');
    expect(bad({ type: 'bpr', engine: 'spark' })).toThrow(/models\[0\]\.engine.*als only/);
    expect(bad({ type: 'als', engine: 'spark', params: { factors: [8, 16] } })).toThrow(/one value of each/);
    expect(bad({ type: 'als', engine: 'spark', params: { confidence: 'log' } })).toThrow(/confidence/);
    expect(bad({ type: 'als', engine: 'spark', spark: { driver_memory: 'lots' } })).toThrow(/driver_memory/);
    expect(bad({ type: 'als', engine: 'sparks' })).toThrow(/engine/);
    expect(bad({ type: 'als', spark: { master: 'local[2]' } })).toThrow(/only read with engine: spark/);
  });

  it('train --engine/--master are checked before any work', async () => {
    const cfg = join(import.meta.dirname, '..', 'examples', 'ml-latest-small-leave-last-out.yaml');
    const err: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
    try {
      expect(await runTrainCommand(cfg, { quiet: true, master: 'local[2]' })).toBe(2);
      expect(await runTrainCommand(cfg, { quiet: true, engine: 'flink' })).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(err.join('')).toMatch(/--master is only read with --engine spark/);
    expect(err.join('')).toMatch(/--engine must be spark or native \(got "flink"\)/);
  });

  it('a Python without PySpark is one coded line saying what to install', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-spark-nopy-'));
    try {
      const nothing = join(dir, 'no-such-python');
      await expect(fitWithSpark(null as never, { factors: 2 }, { workdir: dir, spark: { python: nothing } })).rejects.toSatisfy(
        (e: unknown) => isCfError(e, 'ERR_CF_SPARK_SETUP') && /install|Java/.test((e as Error).message) && !(e as Error).message.includes('\n'),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('spark folders without Spark (export, import, and what a broken folder says)', () => {
  let dir: string;
  let modelDir: string;
  let exported: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cf-spark-files-'));
    const ds = loadDataset({ path: EMBEDDED_RATINGS, positiveThreshold: 4, minUserInteractions: 3 });
    const { train } = splitDataset(ds, { strategy: 'none' });
    const model = await ALS.fit(train, { factors: 4, iterations: 2, seed: 1 });
    modelDir = join(dir, 'model');
    await saveModel(modelDir, model, { userIds: ds.userIds(), itemIds: ds.itemIds() });
    exported = join(dir, 'exported');
    expect(await exportSparkModel(modelDir, exported)).toMatchObject({ rank: 4 });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A copy of the export with one change; import must refuse it with `code` and a message matching `re`. */
  const broken = async (name: string, change: (d: string) => Promise<void>, code: string, re: RegExp) => {
    const d = join(dir, name);
    await cp(await realpath(exported), d, { recursive: true });
    await change(d);
    await expect(importSparkModel(d, join(dir, `${name}-out`))).rejects.toSatisfy((e: unknown) => isCfError(e, code) && re.test((e as Error).message));
    expect(existsSync(join(dir, `${name}-out`))).toBe(false);
  };

  it('an export reads back as the same model', async () => {
    const back = join(dir, 'back');
    await importSparkModel(exported, back);
    const [a, b] = [await loadModel(modelDir), await loadModel(back)];
    expect(b.userIds).toEqual(a.userIds);
    expect(b.model.inner.arrays()).toEqual(a.model.inner.arrays());
    const meta = (await readFile(join(exported, 'metadata', 'part-00000'), 'utf8')).split('\n');
    expect(meta.length).toBe(2); // one JSON line and the final newline
    expect(JSON.parse(meta[0]!)).toMatchObject({ class: 'org.apache.spark.ml.recommendation.ALSModel', rank: 4 });
  });

  it('a broken ALSModel folder is a coded error naming the file', async () => {
    await broken('class', async (d) => writeFile(join(d, 'metadata', 'part-00000'), '{"class":"org.apache.spark.ml.feature.PCAModel","rank":4}\n'), 'ERR_CF_DATA', /metadata.part-00000: class is "org.apache.spark.ml.feature.PCAModel"/);
    await broken('rank', async (d) => writeFile(join(d, 'metadata', 'part-00000'), '{"class":"org.apache.spark.ml.recommendation.ALSModel","rank":5}\n'), 'ERR_CF_DATA', /userFactors: rows of 4 values, where metadata says rank 5/);
    await broken('json', async (d) => writeFile(join(d, 'metadata', 'part-00000'), '{"class":\n'), 'ERR_CF_DATA', /part-00000: the first line is not JSON/);
    await broken('nometa', async (d) => rm(join(d, 'metadata'), { recursive: true }), 'ERR_CF_DATA', /not a Spark ALSModel folder \(no metadata\/ in it\)/);
    await broken('noparts', async (d) => rm(join(d, 'itemFactors', 'part-00000-cf-native.snappy.parquet')), 'ERR_CF_DATA', /itemFactors: holds no \.parquet files/);
    await broken('cut', async (d) => {
      const f = join(d, 'userFactors', 'part-00000-cf-native.snappy.parquet');
      const b = await readFile(f);
      await writeFile(f, b.subarray(0, b.length >> 1));
    }, 'ERR_CF_DATA', /part-00000-cf-native\.snappy\.parquet: not a whole Parquet file/);
    await broken('map', async (d) => writeFile(join(d, 'user_ids.json'), '["a"]'), 'ERR_CF_DATA', /userFactors: id 1 is outside the 1 rows/);
  });

  it('export spark refuses a model without factors and an unknown format', async () => {
    const pop = join(dir, 'pop');
    const ds = loadDataset({ path: EMBEDDED_RATINGS, positiveThreshold: 4 });
    const { train } = splitDataset(ds, { strategy: 'none' });
    await saveModel(pop, await Popularity.fit(train), { userIds: ds.userIds(), itemIds: ds.itemIds() });
    await expect(exportSparkModel(pop, join(dir, 'pop-out'))).rejects.toSatisfy((e: unknown) => isCfError(e, 'ERR_CF_UNSUPPORTED'));
    expect(await sparkCommand('export', 'mlflow', modelDir, join(dir, 'x'))).toBe(2);
  });
});

describe.skipIf(probe.problem !== null)('spark (Java and PySpark present)', () => {
  let dir: string;
  let work: string;
  let trained: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cf-spark-'));
    work = join(dir, 'work');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'trains through Spark: a normal model folder, evaluated natively, saying Spark trained it',
    async () => {
      const lines: string[] = [];
      const out = join(dir, 'run');
      const report = await runTrain(config(out, { driver_memory: '512m', workdir: work, keep_files: true }), { log: (l) => lines.push(l), report: false });
      trained = join(out, 'als-spark');
      const metrics = JSON.parse(await readFile(join(trained, 'metrics.json'), 'utf8'));
      expect(metrics.engine).toBe('spark');
      expect(metrics.spark.spark).toBe(probe.pyspark);
      expect(metrics.spark.spark_params).toMatchObject({ rank: 8, regParam: 0.05, alpha: 10, maxIter: 4, seed: 7, implicitPrefs: true });
      expect(metrics.spark.master).toBe('local[2]');
      // Evaluated like any model, and better than popularity on this data.
      expect(metrics.test['ndcg@10']).toBeGreaterThan(report.baseline.test!['ndcg@10']!);
      const loaded = await loadModel(trained);
      expect(loaded.meta.trained_by).toMatchObject({ engine: 'spark', spark_version: probe.pyspark });
      expect(loaded.meta.params).toMatchObject({ factors: 8, scale_regularization: true, solver: 'cholesky' });
      // Spark's progress is shown as cf-native's own lines.
      expect(lines.some((l) => /^als-spark: spark: Spark .* started on local\[2\]/.test(l))).toBe(true);
      expect(lines.some((l) => /^als-spark: spark: ALS fitted/.test(l))).toBe(true);
      expect(existsSync(join(work, 'als-model', 'userFactors'))).toBe(true);
    },
    SPARK_TIMEOUT,
  );

  it(
    'an export loads with ALSModel.load and recommendForAllUsers agrees with cf-native top-10',
    async () => {
      const exported = join(dir, 'exported');
      expect(await sparkCommand('export', 'spark', trained, exported)).toBe(0);
      const recsFile = join(dir, 'spark-recs.json');
      const script = join(dir, 'check.py');
      await writeFile(
        script,
        [
          'import json, sys',
          'from pyspark.sql import SparkSession',
          'from pyspark.ml.recommendation import ALSModel',
          "spark = SparkSession.builder.master('local[2]').config('spark.driver.memory', '512m').config('spark.ui.enabled', 'false').config('spark.ui.showConsoleProgress', 'false').getOrCreate()",
          "spark.sparkContext.setLogLevel('ERROR')",
          'm = ALSModel.load(sys.argv[1])',
          "out = {r['user']: [[x['item'], x['rating']] for x in r['recommendations']] for r in m.recommendForAllUsers(10).collect()}",
          "json.dump({'rank': m.rank, 'recs': out}, open(sys.argv[2], 'w'))",
          'spark.stop()',
        ].join('\n'),
      );
      const r = spawnSync(probe.python, [script, exported, recsFile], { encoding: 'utf8', timeout: SPARK_TIMEOUT });
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      const spark = JSON.parse(await readFile(recsFile, 'utf8')) as { rank: number; recs: Record<string, [number, number][]> };
      expect(spark.rank).toBe(8);
      const { model, userIds } = await loadModel(trained);
      const users = Object.keys(spark.recs).map(Number);
      // Every user with training rows has factors in Spark's model, and so a list.
      expect(users.length).toBe(userIds.length);
      const ours = model.recommend(Uint32Array.from(users), { k: 10, filterSeen: false });
      let compared = 0;
      users.forEach((u, row) => {
        const theirs = spark.recs[String(u)]!;
        const ids = Array.from(ours.ids.subarray(row * 10, row * 10 + 10));
        const scores = Array.from(ours.scores.subarray(row * 10, row * 10 + 10));
        // Scores rank by rank agree; items agree except between near-equal scores (ties).
        theirs.forEach(([item, score], j) => {
          expect(Math.abs(score - scores[j]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(score)));
          if (item !== ids[j]) {
            const near = (s: number) => Math.abs(s - score) < 1e-4 * Math.max(1, Math.abs(score));
            expect(near(scores[ids.indexOf(item)] ?? scores[9]!) || near(scores[j]!)).toBe(true);
          } else compared++;
        });
      });
      expect(compared).toBeGreaterThan(users.length * 9);
      // The id maps beside the factor tables name the original ids.
      expect(JSON.parse(await readFile(join(exported, 'user_ids.json'), 'utf8'))).toEqual(userIds);
    },
    SPARK_TIMEOUT,
  );

  it('imports a Spark-trained ALSModel into a model folder that `recommend` serves', async () => {
    const imported = join(dir, 'imported');
    expect(await sparkCommand('import', 'spark', join(work, 'als-model'), imported)).toBe(0);
    const a = await loadModel(imported);
    const b = await loadModel(trained);
    expect(a.meta.trained_by).toMatchObject({ engine: 'spark', spark_version: probe.pyspark, params_known: false });
    // No id maps beside Spark's own save: its integer ids are the ids (here cf-native's rows).
    const row = (ids: string[]) => ids.map(Number);
    expect(row(a.userIds)).toEqual([...row(a.userIds)].sort((x, y) => x - y));
    const au = a.model.inner.arrays().find((x) => x.name === 'user_factors')!;
    const bu = b.model.inner.arrays().find((x) => x.name === 'user_factors')!;
    const k = 8;
    a.userIds.forEach((id, r) => {
      expect(Array.from(au.data.subarray(r * k, (r + 1) * k))).toEqual(Array.from(bu.data.subarray(Number(id) * k, (Number(id) + 1) * k)));
    });
    // An export read back is the model it came from: same ids, factors and params.
    const back = join(dir, 'round-trip');
    expect(await sparkCommand('import', 'spark', join(dir, 'exported'), back)).toBe(0);
    const c = await loadModel(back);
    expect(c.userIds).toEqual(b.userIds);
    expect(c.itemIds).toEqual(b.itemIds);
    expect(c.meta.params).toEqual(b.meta.params);
    expect(c.meta.exported_by).toBe('cf-native');
    expect(c.model.inner.arrays().find((x) => x.name === 'item_factors')!.data).toEqual(b.model.inner.arrays().find((x) => x.name === 'item_factors')!.data);
    const recs = join(dir, 'recs.csv');
    const code = await runListCommand('recommend', imported, { k: '5', out: recs, quiet: true, argv: ['recommend', imported, '--k', '5', '--out', recs, '--quiet'] });
    expect(code).toBe(0);
    const lines = (await readFile(recs, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('user,rank,item,score');
    expect(lines.length).toBe(1 + a.userIds.length * 5);
    // And over HTTP, as `cf-native serve` serves it.
    const app = await createServer({ path: imported, watchMs: 0, feedbackLog: null });
    try {
      const user = a.userIds[0]!;
      const r = await app.inject({ method: 'GET', url: `/recommend?user=${encodeURIComponent(user)}&k=5` });
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json() as { items: { id: string; score: number }[] };
      expect(body.items.map((x) => x.id)).toEqual(lines.slice(1, 6).map((l) => l.split(',')[2]));
    } finally {
      await app.close();
    }
  });

  it('a folder that is not a Spark model is a coded error naming it', async () => {
    const code = await sparkCommand('import', 'spark', dir, join(dir, 'x'));
    expect(code).toBe(2);
    expect((await readdir(dir)).includes('x')).toBe(false);
  });
});
