// Apache Spark as a training engine for ALS, and Spark ALSModel folders in and out.
//
// cf-native keeps the data, the split, the evaluation and the model folder; Spark only fits.
// `fitWithSpark` writes the training matrix as Parquet (user/item as cf-native's dense
// indices), runs the PySpark job shipped in python/cf_native_spark_als.py with the ALS
// params mapped, and reads the saved ALSModel's factors back into an ALS model. The same
// reader imports any ALSModel folder (`cf-native import spark`); `exportSparkModel` writes
// one that PySpark's ALSModel.load accepts (`cf-native export spark`). Parquet is read and
// written by the core (cf_core::export::spark).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfError } from '../errors.js';
import { ALS } from '../models/als.js';
import { defaultsOf } from '../models/params.js';
import type { Matrix } from '../models/types.js';
import { callAsync, native } from '../native.js';
import { loadModel, saveModel } from '../artifacts/model-io.js';
import { writeFolderAtomic } from '../artifacts/publish.js';
import { writeFileAtomic } from '../artifacts/atomic.js';
import { packageVersion } from '../artifacts/version.js';

/** Java, Python or PySpark missing: the message says what to install. */
export const ERR_SPARK_SETUP = 'ERR_CF_SPARK_SETUP';
/** The Spark job ran and failed. */
export const ERR_SPARK = 'ERR_CF_SPARK';

export const SPARK_PYTHON_ENV = 'CF_NATIVE_SPARK_PYTHON';
const ALS_MODEL_CLASS = 'org.apache.spark.ml.recommendation.ALSModel';

export interface SparkSettings {
  /** Spark master URL; default local[threads] (local[*] when threads is 0). */
  master?: string | null;
  /** The Python that has PySpark; default $CF_NATIVE_SPARK_PYTHON, else python3. */
  python?: string | null;
  /** spark.driver.memory (default 1g). */
  driver_memory?: string | null;
  /** More Spark settings, passed to the session builder as they are. */
  conf?: Record<string, string>;
  /** Where the training table and the fitted ALSModel are written (must be readable by the cluster); default a folder beside the model. */
  workdir?: string | null;
  /** Keep the workdir after a successful fit (it is always kept after a failure, with spark.log). */
  keep_files?: boolean;
}

/** The Python to run the job with: the setting, else $CF_NATIVE_SPARK_PYTHON, else python3. */
export function sparkPython(setting?: string | null): string {
  return setting || process.env[SPARK_PYTHON_ENV] || 'python3';
}

export interface SparkProbe {
  python: string;
  /** `java -version`'s first line, or null when no Java runs. */
  java: string | null;
  /** PySpark's version, or null when the Python lacks it (or does not run). */
  pyspark: string | null;
  /** What is missing and how to install it (one line), or null when both are there. */
  problem: string | null;
}

/** The java Spark will start: $JAVA_HOME/bin/java when JAVA_HOME is set, else java on PATH. */
function javaCommand(): string {
  const home = process.env.JAVA_HOME;
  return home ? join(home, 'bin', 'java') : 'java';
}

/** Whether Java and PySpark are there, without starting Spark (two short processes). */
export function probeSpark(setting?: string | null): SparkProbe {
  const python = sparkPython(setting);
  const j = spawnSync(javaCommand(), ['-version'], { encoding: 'utf8', timeout: 60_000 });
  const java = j.status === 0 ? (`${j.stderr}${j.stdout}`.trim().split('\n')[0] ?? 'java') : null;
  const p = spawnSync(python, ['-c', 'import pyspark, numpy; print(pyspark.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  const pyspark = p.status === 0 ? p.stdout.trim() : null;
  let problem: string | null = null;
  if (java === null) {
    const where = process.env.JAVA_HOME ? `JAVA_HOME/bin/java (${javaCommand()})` : 'java on PATH';
    problem = `Spark needs Java 17 or 21 and ${where} did not run: install a JDK (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME`;
  } else if (p.error && (p.error as NodeJS.ErrnoException).code === 'ENOENT') {
    problem = `no Python at ${python}: install Python 3.10+ with PySpark (python3 -m pip install pyspark numpy), or set ${SPARK_PYTHON_ENV} (or spark.python) to a Python that has it`;
  } else if (pyspark === null) {
    const why = /No module named '?(\w+)/.exec(p.stderr ?? '')?.[1];
    problem = `${python} cannot import ${why ?? 'pyspark'}: install PySpark with \`${python} -m pip install pyspark numpy\`, or set ${SPARK_PYTHON_ENV} (or spark.python) to a Python that has it`;
  }
  return { python, java, pyspark, problem };
}

/** The job script shipped with the package (python/ at the package root). */
export function sparkJobScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'python', 'cf_native_spark_als.py');
    if (existsSync(p)) return p;
    const parent = dirname(dir);
    if (parent === dir) throw new CfError(ERR_SPARK_SETUP, 'cannot find python/cf_native_spark_als.py in the cf-native package');
    dir = parent;
  }
}

/** The Spark ALS settings for cf-native ALS params (see README "Spark"). */
export function sparkAlsParams(params: Record<string, unknown>): Record<string, unknown> {
  if (params.confidence !== undefined && params.confidence !== 'linear') {
    throw new CfError('ERR_CF_CONFIG', `params.confidence: ${String(params.confidence)} is not available with engine spark (Spark's ALS uses c = 1 + alpha * r: use linear)`);
  }
  return {
    rank: params.factors,
    regParam: params.regularization,
    alpha: params.alpha,
    maxIter: params.iterations,
    seed: params.seed,
    implicitPrefs: true,
    nonnegative: false,
  };
}

export interface SparkJobEvent {
  event: string;
  [key: string]: unknown;
}

export interface SparkRunInfo {
  spark: string;
  pyspark: string;
  master: string;
  /** Seconds of `ALS.fit` inside Spark. */
  fit_seconds: number;
  /** Seconds of the whole job, JVM start included. */
  job_seconds: number;
  /** Peak resident memory of Spark's driver JVM (all of Spark in local mode), MiB; null where /proc does not show it. */
  jvm_peak_rss_mb: number | null;
  spark_params: Record<string, unknown>;
}

/** Run the job script on `job` (written to `dir/job.json`); stderr goes to `dir/spark.log`. */
async function runJob(
  dir: string,
  job: Record<string, unknown>,
  python: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<SparkJobEvent[]> {
  const jobPath = join(dir, 'job.json');
  await writeFile(jobPath, JSON.stringify(job, null, 2));
  const logPath = join(dir, 'spark.log');
  const events: SparkJobEvent[] = [];
  const stderr: Buffer[] = [];
  const child = spawn(python, ['-u', sparkJobScript(), jobPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  const onAbort = () => child.kill('SIGTERM');
  signal?.addEventListener('abort', onAbort, { once: true });
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.startsWith('@cf-native ')) {
        try {
          const e = JSON.parse(line.slice(11)) as SparkJobEvent;
          events.push(e);
          const say = describeEvent(e);
          if (say) log(`spark: ${say}`);
        } catch {
          stderr.push(Buffer.from(`${line}\n`));
        }
      } else {
        stderr.push(Buffer.from(`${line}\n`));
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const status = await new Promise<{ code: number | null; error?: Error }>((res) => {
    child.on('error', (error) => res({ code: null, error }));
    child.on('close', (code) => res({ code }));
  });
  signal?.removeEventListener('abort', onAbort);
  await writeFile(logPath, Buffer.concat(stderr)).catch(() => {});
  signal?.throwIfAborted();
  if (status.error) {
    const enoent = (status.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CfError(ERR_SPARK_SETUP, enoent ? `no Python at ${python}: install Python with PySpark, or set ${SPARK_PYTHON_ENV} (or spark.python)` : `cannot run ${python}: ${status.error.message}`);
  }
  const failed = events.find((e) => e.event === 'error');
  if (failed || status.code !== 0) {
    const code = typeof failed?.code === 'string' && failed.code.startsWith('ERR_CF_') ? failed.code : ERR_SPARK;
    const message = typeof failed?.message === 'string' ? failed.message : `the Spark job exited with status ${status.code}${lastLine(Buffer.concat(stderr).toString('utf8'))}`;
    throw new CfError(code, `spark: ${message} (Spark's log: ${logPath})`);
  }
  return events;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim() !== '');
  return lines.length > 0 ? `: ${lines[lines.length - 1]!.trim().slice(0, 300)}` : '';
}

function describeEvent(e: SparkJobEvent): string | null {
  switch (e.event) {
    case 'session':
      return `Spark ${String(e.spark)} started on ${String(e.master)} (${String(e.parallelism)} cores, ${Number(e.seconds).toFixed(1)} s)`;
    case 'read':
      return `read ${String(e.rows)} training rows (${Number(e.seconds).toFixed(1)} s)`;
    case 'fit':
      return `ALS fitted: ${String(e.users)} users, ${String(e.items)} items, rank ${String(e.rank)} (${Number(e.seconds).toFixed(1)} s)`;
    default:
      return null;
  }
}

export interface SparkFitOptions {
  spark?: SparkSettings;
  /** The folder for the job's files when spark.workdir is not set. */
  workdir: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** Fit ALS on `train` with Spark; the model's rows are `train`'s rows, as a native fit's. */
export async function fitWithSpark(
  train: Matrix,
  params: Record<string, unknown>,
  opts: SparkFitOptions,
): Promise<{ model: ALS; info: SparkRunInfo }> {
  const s = opts.spark ?? {};
  const log = opts.log ?? (() => {});
  const probe = probeSpark(s.python);
  if (probe.problem) throw new CfError(ERR_SPARK_SETUP, `spark: ${probe.problem}`);
  const threads = Number(params.threads ?? 0);
  const master = s.master || (threads > 0 ? `local[${threads}]` : 'local[*]');
  const sparkParams = sparkAlsParams(params);
  const dir = resolve(s.workdir || opts.workdir);
  await mkdir(dir, { recursive: true });
  const trainPath = join(dir, 'train.parquet');
  const modelPath = join(dir, 'als-model');
  await rm(modelPath, { recursive: true, force: true });
  await callAsync(() => native().writeInteractionsParquet(train, trainPath, opts.signal));
  log(`spark: ${train.nnz} training rows written to ${trainPath}; running ${probe.python} (PySpark ${probe.pyspark}) on ${master}`);
  const job = {
    train: trainPath,
    model: modelPath,
    master,
    checkpoint_dir: join(dir, 'checkpoints'),
    app_name: 'cf-native ALS',
    conf: {
      'spark.driver.memory': s.driver_memory || '1g',
      'spark.ui.enabled': 'false',
      'spark.ui.showConsoleProgress': 'false',
      'spark.sql.shuffle.partitions': String(Math.max(2, threads || 2)),
      ...(s.conf ?? {}),
    },
    als: sparkParams,
  };
  const events = await runJob(dir, job, probe.python, log, opts.signal);
  const ev = (name: string): Record<string, unknown> => events.find((e) => e.event === name) ?? {};
  const done = ev('done');
  const session = ev('session');
  const read = await readSparkModel(modelPath);
  const k = Number(params.factors);
  if (read.rank !== k) throw new CfError(ERR_SPARK, `spark: the fitted model has rank ${read.rank}, not the ${k} factors asked for (${modelPath})`);
  const users = denseFactors(read.users, train.nRows, k, join(modelPath, 'userFactors'));
  const items = denseFactors(read.items, train.nCols, k, join(modelPath, 'itemFactors'));
  // What Spark fitted, in cf-native's terms: regularization scaled by each row's count
  // (ALS-WR) and an exact solve of each row.
  const saved = { ...params, scale_regularization: true, solver: 'cholesky' };
  const model = ALS.fromFactors(saved as Parameters<typeof ALS.fromFactors>[0], users, items);
  model.train = train;
  if (!s.keep_files) await rm(dir, { recursive: true, force: true }).catch(() => {});
  return {
    model,
    info: {
      spark: String(session.spark ?? read.sparkVersion),
      pyspark: String(session.pyspark ?? probe.pyspark),
      master: String(session.master ?? master),
      fit_seconds: Number(ev('fit').seconds ?? NaN),
      job_seconds: Number(done.seconds ?? NaN),
      jvm_peak_rss_mb: typeof done.jvm_peak_rss_mb === 'number' ? done.jvm_peak_rss_mb : null,
      spark_params: sparkParams,
    },
  };
}

/** Rows keyed by Spark ids 0..n-1 into a dense n x k array; ids Spark never saw stay zero. */
function denseFactors(t: { ids: Int32Array; factors: Float32Array; k: number }, n: number, k: number, where: string): Float32Array {
  const out = new Float32Array(n * k);
  for (let r = 0; r < t.ids.length; r++) {
    const id = t.ids[r]!;
    if (id < 0 || id >= n) throw new CfError('ERR_CF_DATA', `${where}: id ${id} is outside the ${n} rows of the model (0..${n - 1})`);
    out.set(t.factors.subarray(r * k, (r + 1) * k), id * k);
  }
  return out;
}

export interface SparkModelFolder {
  rank: number;
  sparkVersion: string;
  uid: string;
  metadata: Record<string, unknown>;
  users: { ids: Int32Array; factors: Float32Array; k: number };
  items: { ids: Int32Array; factors: Float32Array; k: number };
}

/** The one-line JSON of an ALSModel folder's metadata/ (a text file, or Spark's folder of parts). */
async function readMetadata(dir: string): Promise<Record<string, unknown>> {
  const meta = join(dir, 'metadata');
  let file = meta;
  let names: string[];
  try {
    names = (await readdir(meta)).filter((n) => !n.startsWith('_') && !n.startsWith('.')).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CfError('ERR_CF_DATA', `${dir}: not a Spark ALSModel folder (no metadata/ in it)`);
    if (code !== 'ENOTDIR') throw new CfError('ERR_CF_IO', `cannot read ${meta}: ${(err as Error).message}`);
    names = [];
  }
  if (names.length > 0) file = join(meta, names[0]!);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CfError('ERR_CF_IO', `cannot read ${file}: ${(err as Error).message}`);
  }
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  let m: unknown;
  try {
    m = JSON.parse(line);
  } catch (err) {
    throw new CfError('ERR_CF_DATA', `${file}: the first line is not JSON: ${(err as Error).message}`);
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new CfError('ERR_CF_DATA', `${file}: must hold a JSON object`);
  const o = m as Record<string, unknown>;
  if (o.class !== ALS_MODEL_CLASS) {
    throw new CfError('ERR_CF_DATA', `${file}: class is ${JSON.stringify(o.class)}, not ${ALS_MODEL_CLASS}`);
  }
  if (!Number.isInteger(o.rank) || (o.rank as number) < 1) throw new CfError('ERR_CF_DATA', `${file}: rank must be a positive integer (got ${JSON.stringify(o.rank)})`);
  return o;
}

/** Read a saved Spark ALSModel folder: metadata and both factor tables (Parquet through the core). */
export async function readSparkModel(dir: string): Promise<SparkModelFolder> {
  const metadata = await readMetadata(dir);
  const rank = metadata.rank as number;
  const nat = native();
  // Both read at once, but a failure is reported in a fixed order (users first), whichever
  // read fails first in time.
  const settled = await Promise.allSettled(
    ['userFactors', 'itemFactors'].map(async (side) => {
      const t = await callAsync(() => nat.readFactorTable(join(dir, side)));
      if (t.k !== rank) throw new CfError('ERR_CF_DATA', `${join(dir, side)}: rows of ${t.k} values, where metadata says rank ${rank}`);
      return t;
    }),
  );
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const [users, items] = settled.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof nat.readFactorTable>>>).value);
  return { rank, sparkVersion: String(metadata.sparkVersion ?? 'unknown'), uid: String(metadata.uid ?? ''), metadata, users: users!, items: items! };
}

/** An id map beside an ALSModel (what `export spark` writes): Spark id i is ids[i]. */
function readIdMap(path: string): string[] | null {
  if (!existsSync(path)) return null;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CfError('ERR_CF_DATA', `${path}: not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new CfError('ERR_CF_DATA', `${path}: must be a JSON array of strings`);
  return v as string[];
}

/**
 * `cf-native import spark SPARK_MODEL_DIR OUT`: a Spark ALSModel folder as a cf-native model
 * folder. With user_ids.json / item_ids.json beside the factor tables (what `export spark`
 * writes), Spark id i is the i-th original id; otherwise the Spark ids are the original ids.
 * The model has no training rows, so nothing is filtered as seen.
 */
export async function importSparkModel(sparkDir: string, out: string): Promise<{ users: number; items: number; rank: number; sparkVersion: string }> {
  const m = await readSparkModel(sparkDir);
  const side = (t: SparkModelFolder['users'], mapFile: string, what: string) => {
    const map = readIdMap(join(sparkDir, mapFile));
    if (map) return { ids: map, factors: denseFactors(t, map.length, m.rank, join(sparkDir, what)) };
    const order = Array.from(t.ids.keys()).sort((a, b) => t.ids[a]! - t.ids[b]!);
    const factors = new Float32Array(order.length * m.rank);
    order.forEach((r, i) => factors.set(t.factors.subarray(r * m.rank, (r + 1) * m.rank), i * m.rank));
    return { ids: order.map((r) => String(t.ids[r])), factors };
  };
  const u = side(m.users, 'user_ids.json', 'userFactors');
  const it = side(m.items, 'item_ids.json', 'itemFactors');
  // An ALSModel's metadata keeps the rank but not the fit's settings (regParam, alpha, maxIter):
  // the params saved are the defaults with Spark's solver, unless the folder is a cf-native
  // export, whose cf-native.json has the model's own.
  const origin = readExportInfo(join(sparkDir, 'cf-native.json'));
  const params = { ...defaultsOf('als'), ...(origin?.type === 'als' ? origin.params : { scale_regularization: true, solver: 'cholesky' }), factors: m.rank };
  const model = ALS.fromFactors(params as Parameters<typeof ALS.fromFactors>[0], u.factors, it.factors);
  const train = native().Matrix.fromCsr(new Uint32Array(u.ids.length + 1), new Uint32Array(0), new Float32Array(0), u.ids.length, it.ids.length);
  const source = origin
    ? { imported_from: resolve(sparkDir), exported_by: 'cf-native', exported_from: origin.exported_from ?? null }
    : { trained_by: { engine: 'spark', spark_version: m.sparkVersion, uid: m.uid, imported_from: resolve(sparkDir), params_known: false } };
  await saveModel(out, model, { userIds: u.ids, itemIds: it.ids, train, extra: source });
  return { users: u.ids.length, items: it.ids.length, rank: m.rank, sparkVersion: m.sparkVersion };
}

/** cf-native.json of an export (what `export spark` writes beside the tables), or null. */
function readExportInfo(path: string): { type?: unknown; params?: Record<string, unknown>; exported_from?: unknown } | null {
  if (!existsSync(path)) return null;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return { type: o.type, params: o.params && typeof o.params === 'object' ? (o.params as Record<string, unknown>) : undefined, exported_from: o.exported_from };
    }
  } catch (err) {
    throw new CfError('ERR_CF_DATA', `${path}: not valid JSON: ${(err as Error).message}`);
  }
  throw new CfError('ERR_CF_DATA', `${path}: must hold a JSON object`);
}

/** The Spark version an exported folder claims: old enough for any Spark 3.x or 4.x to apply its defaults. */
const EXPORT_SPARK_VERSION = '3.5.0';

/**
 * `cf-native export spark MODEL_DIR OUT`: a folder PySpark's `ALSModel.load(OUT)` accepts
 * (metadata/, userFactors/, itemFactors/ with integer ids = the model's rows), with
 * user_ids.json and item_ids.json beside them mapping those ids to the original ones.
 * Published atomically as model folders are.
 */
export async function exportSparkModel(modelDir: string, out: string): Promise<{ users: number; items: number; rank: number }> {
  const { model, userIds, itemIds, meta } = await loadModel(modelDir);
  const nat = native();
  // model.json's shapes name the factor tables (user_factors: users x rank).
  const shape = (meta.shapes as Record<string, unknown> | undefined)?.user_factors;
  const rank = Array.isArray(shape) && shape.length === 2 && Number.isInteger(shape[1]) ? (shape[1] as number) : undefined;
  if (rank === undefined) throw new CfError('ERR_CF_UNSUPPORTED', `${modelDir}: a ${model.type} model has no factors to export to Spark`);
  const uid = `ALS_${randomBytes(6).toString('hex')}`;
  const metadata = {
    class: ALS_MODEL_CLASS,
    timestamp: Date.now(),
    sparkVersion: EXPORT_SPARK_VERSION,
    uid,
    paramMap: { userCol: 'user', itemCol: 'item' },
    defaultParamMap: { blockSize: 4096, coldStartStrategy: 'nan', itemCol: 'item', predictionCol: 'prediction', userCol: 'user' },
    rank,
  };
  await writeFolderAtomic(out, async (staging) => {
    await mkdir(join(staging, 'metadata'));
    await writeFileAtomic(join(staging, 'metadata', 'part-00000'), `${JSON.stringify(metadata)}\n`);
    await writeFileAtomic(join(staging, 'metadata', '_SUCCESS'), '');
    for (const [side, dirName] of [['users', 'userFactors'], ['items', 'itemFactors']] as const) {
      await mkdir(join(staging, dirName));
      await callAsync(() => nat.writeSparkFactors(model.inner, join(staging, dirName, 'part-00000-cf-native.snappy.parquet'), side));
      await writeFileAtomic(join(staging, dirName, '_SUCCESS'), '');
    }
    await writeFileAtomic(join(staging, 'user_ids.json'), JSON.stringify(userIds));
    await writeFileAtomic(join(staging, 'item_ids.json'), JSON.stringify(itemIds));
    await writeFileAtomic(
      join(staging, 'cf-native.json'),
      `${JSON.stringify({ exported_from: resolve(modelDir), type: model.type, params: meta.params, 'cf-native': packageVersion(), ids: 'Spark id i is user_ids.json[i] / item_ids.json[i]' }, null, 2)}\n`,
    );
  });
  return { users: userIds.length, items: itemIds.length, rank };
}

/** Whether a folder looks like a Spark ALSModel (for messages). */
export function isSparkModelFolder(dir: string): boolean {
  try {
    return readdirSync(dir).includes('metadata') && readdirSync(dir).includes('userFactors');
  } catch {
    return false;
  }
}
