// A saved model is a folder: the model's arrays as .npy (numpy-loadable), id maps as JSON,
// the training matrix (to filter seen items after loading) as CSR .npy, and model.json
// describing it all. Written the same way for every model type: the arrays and params come
// from the model itself, and loading goes back through the core's registry.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CfError } from '../errors.js';
import { MODEL_TYPES } from '../models/params.js';
import { wrapModel } from '../models/registry.js';
import { Hybrid, hybridFromLoaded, type HybridPart } from '../models/hybrid.js';
import { Recommender } from '../models/recommender.js';
import { checkOptionsObject, kindOf } from '../options.js';
import type { Matrix } from '../models/types.js';
import { native, type Binding } from '../native.js';
import { readNpy, writeNpy, type NpyArray } from './npy.js';
import { writeJsonAtomic } from './atomic.js';
import { resolveFolder, writeFolderAtomic } from './publish.js';
import { gitVersion, packageVersion } from './version.js';

/** 2: params are snake_case (version 1 stored the API's camelCase; both load). */
export const FORMAT_VERSION = 2;
const READABLE_VERSIONS = [1, 2];

export interface SaveInfo {
  userIds: string[];
  itemIds: string[];
  /** Defaults to the matrix the model was fitted on. */
  train?: Matrix;
  dataHash?: string;
  extra?: Record<string, unknown>;
  /** More JSON files published with the model, by file name (e.g. metrics.json). */
  files?: Record<string, unknown>;
}

export interface LoadedModel {
  model: Recommender;
  userIds: string[];
  itemIds: string[];
  train: Matrix;
  meta: Record<string, unknown>;
}

/** `ids` must be an array of strings: anything else would be saved and refused by loadModel. */
function checkIds(name: string, ids: unknown): void {
  if (!Array.isArray(ids)) throw new CfError('ERR_CF_INVALID_ARG', `saveModel: ${name} must be an array of strings (got ${kindOf(ids)})`);
  for (let j = 0; j < ids.length; j++) {
    if (typeof ids[j] !== 'string') throw new CfError('ERR_CF_INVALID_ARG', `saveModel: ${name}[${j}] must be a string (got ${kindOf(ids[j])})`);
  }
}

export async function saveModel(dir: string, model: Recommender, info: SaveInfo): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new CfError('ERR_CF_INVALID_ARG', `saveModel: dir must be a non-empty path (got ${kindOf(dir)})`);
  if (!(model instanceof Recommender)) {
    throw new CfError('ERR_CF_INVALID_ARG', `saveModel: model must be a fitted model (from a model class's fit, or from loadModel) (got ${kindOf(model)})`);
  }
  checkOptionsObject('saveModel: info', info);
  if (!info) throw new CfError('ERR_CF_INVALID_ARG', 'saveModel: info with userIds and itemIds is required');
  checkIds('userIds', info.userIds);
  checkIds('itemIds', info.itemIds);
  const t = info.train ?? model.train;
  if (!t) throw new CfError('ERR_CF_INVALID_ARG', 'saveModel: the model has no training matrix; pass info.train');
  if (info.userIds.length !== t.nRows || info.itemIds.length !== t.nCols) {
    throw new CfError(
      'ERR_CF_INVALID_ARG',
      `saveModel: ${info.userIds.length} user ids and ${info.itemIds.length} item ids do not match the ${t.nRows} x ${t.nCols} training matrix`,
    );
  }
  // Every file goes into a fresh folder that replaces `dir` in one step (publish.ts), so a
  // crash at any instant leaves the old model or the new one, never a mix.
  await writeFolderAtomic(dir, (staging) => writeModelFiles(staging, model, info, t));
}

/**
 * A model's files into `dir` (a staging folder). A hybrid's parts go into `parts/<name>/`,
 * each a model folder of its own, so the hybrid's folder is whole by itself.
 */
async function writeModelFiles(dir: string, model: Recommender, info: SaveInfo, t: Matrix): Promise<void> {
  const arrays = model.inner.arrays();
  const hybrid = model instanceof Hybrid ? { hybrid: { parts: model.parts.map((p) => ({ name: p.name, type: p.model.type })), fallback: model.fallback() } } : {};
  const meta = {
    format_version: FORMAT_VERSION,
    type: model.type,
    params: model.params,
    shapes: { ...Object.fromEntries(arrays.map((a) => [a.name, a.shape])), train: [t.nRows, t.nCols] },
    users: info.userIds.length,
    items: info.itemIds.length,
    data_hash: info.dataHash ?? null,
    // The range of top-10 scores, to put models on one scale before blending their scores.
    score_stats: model.scoreStats(),
    versions: { 'cf-native': packageVersion(), git: gitVersion(), node: process.version },
    ...hybrid,
    ...info.extra,
  };
  for (const a of arrays) await writeNpy(join(dir, `${a.name}.npy`), a.data, a.shape);
  await writeNpy(join(dir, 'train_indptr.npy'), t.indptr(), [t.nRows + 1]);
  await writeNpy(join(dir, 'train_indices.npy'), t.indices(), [t.nnz]);
  await writeNpy(join(dir, 'train_values.npy'), t.values(), [t.nnz]);
  await writeJsonAtomic(join(dir, 'user_ids.json'), info.userIds);
  await writeJsonAtomic(join(dir, 'item_ids.json'), info.itemIds);
  if (model instanceof Hybrid) {
    for (const p of model.parts) {
      const at = join(dir, 'parts', p.name);
      await mkdir(at, { recursive: true });
      await writeModelFiles(at, p.model, { userIds: info.userIds, itemIds: info.itemIds, ...(info.dataHash ? { dataHash: info.dataHash } : {}) }, t);
    }
  }
  for (const [name, value] of Object.entries(info.files ?? {})) await writeJsonAtomic(join(dir, name), value);
  // Last: a folder with model.json is complete.
  await writeJsonAtomic(join(dir, 'model.json'), meta);
}

/** A JSON file: unreadable is ERR_CF_IO, readable but not JSON is ERR_CF_DATA; both name it. */
async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message;
    throw new CfError('ERR_CF_IO', `cannot read ${path}: ${reason}`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new CfError('ERR_CF_DATA', `${path}: not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

async function readIds(path: string): Promise<string[]> {
  const ids = await readJson(path);
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string')) {
    throw new CfError('ERR_CF_DATA', `${path}: must be a JSON array of strings`);
  }
  return ids as string[];
}

/** Read `<name>.npy`, checking its shape against the one model.json gives (when it gives one). */
async function readArray(dir: string, name: string, shape: unknown): Promise<NpyArray> {
  const path = join(dir, `${name}.npy`);
  const a = await readNpy(path);
  if (Array.isArray(shape) && (shape.length !== a.shape.length || shape.some((d, i) => d !== a.shape[i]))) {
    throw new CfError('ERR_CF_DATA', `${path}: shape [${a.shape.join(', ')}] does not match model.json's [${shape.join(', ')}]`);
  }
  return a;
}

/** The training matrix's three arrays, each of the dtype saveModel writes. */
const TRAIN_ARRAYS = { train_indptr: '<u4', train_indices: '<u4', train_values: '<f4' } as const;

/** Names model.json may list as arrays: file names in the folder, never paths out of it. */
const ARRAY_NAME = /^[A-Za-z0-9_]+$/;

export async function loadModel(folder: string): Promise<LoadedModel> {
  // Every file from the one version the folder points at now, even if a publish follows.
  const dir = await resolveFolder(folder);
  const metaPath = join(dir, 'model.json');
  const bad = (file: string, why: string): CfError => new CfError('ERR_CF_DATA', `${file}: ${why}`);
  const meta = await readJson(metaPath);
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw bad(metaPath, `must be a JSON object (got ${kindOf(meta)})`);
  const m = meta as Record<string, unknown>;
  if (!READABLE_VERSIONS.includes(m.format_version as number)) {
    throw bad(metaPath, `unsupported format_version ${JSON.stringify(m.format_version) ?? 'undefined'} (this version of cf-native reads ${READABLE_VERSIONS.join(' and ')})`);
  }
  if (typeof m.type !== 'string' || !(MODEL_TYPES as string[]).includes(m.type)) {
    throw bad(metaPath, `type ${JSON.stringify(m.type) ?? 'undefined'} is not a known model type (known: ${MODEL_TYPES.join(', ')})`);
  }
  const type = m.type;
  const params = m.params ?? {};
  if (typeof params !== 'object' || Array.isArray(params)) throw bad(metaPath, `params must be an object (got ${kindOf(params)})`);
  // The core's checks, named as model.json's keys (format 1 saved camelCase; both resolve).
  const nat = native();
  try {
    nat.resolveParams(type, params);
  } catch (err) {
    throw bad(metaPath, `params.${(err as Error).message}`);
  }
  const shapes = m.shapes;
  if (shapes === null || typeof shapes !== 'object' || Array.isArray(shapes)) throw bad(metaPath, `shapes must be an object of array shapes (got ${kindOf(shapes)})`);
  const names = Object.keys(shapes).filter((n) => n !== 'train');
  const odd = names.find((n) => !ARRAY_NAME.test(n));
  if (odd !== undefined) throw bad(metaPath, `shapes lists an array named ${JSON.stringify(odd)}; names are letters, digits and '_'`);
  const userIds = await readIds(join(dir, 'user_ids.json'));
  const itemIds = await readIds(join(dir, 'item_ids.json'));
  const [indptr, indices, values] = await Promise.all(
    Object.entries(TRAIN_ARRAYS).map(async ([n, dtype]) => {
      const a = await readArray(dir, n, undefined);
      if (a.dtype !== dtype) throw bad(join(dir, `${n}.npy`), `must be ${dtype} (got ${a.dtype})`);
      return a;
    }),
  );
  if (indptr!.data.length !== userIds.length + 1) {
    throw bad(join(dir, 'user_ids.json'), `has ${userIds.length} ids, but train_indptr.npy has ${indptr!.data.length - 1} rows`);
  }
  let train: Matrix;
  try {
    train = nat.Matrix.fromCsr(indptr!.data as Uint32Array, indices!.data as Uint32Array, values!.data as Float32Array, userIds.length, itemIds.length);
  } catch (err) {
    const files = Object.keys(TRAIN_ARRAYS).map((n) => `${n}.npy`).join(', ');
    throw bad(dir, `the training matrix in ${files} (${userIds.length} users x ${itemIds.length} items) is malformed: ${(err as Error).message}`);
  }
  const arrays: Binding.ModelArray[] = [];
  for (const name of names) {
    const a = await readArray(dir, name, (shapes as Record<string, unknown>)[name]);
    if (!(a.data instanceof Float32Array)) throw bad(join(dir, `${name}.npy`), `must be float32 (got ${a.dtype})`);
    arrays.push({ name, shape: a.shape, data: a.data });
  }
  if (type === 'hybrid') {
    const model = await loadHybrid(dir, metaPath, m, params as Record<string, unknown>, arrays, userIds, itemIds);
    model.train = train;
    return { model, userIds, itemIds, train, meta: m };
  }
  let inner: Binding.Model;
  try {
    inner = nat.loadModel(type, params, arrays, userIds.length, itemIds.length);
  } catch (err) {
    // Everything the core was given came from the folder, so any refusal is a malformed
    // file. Its message starts with the array at fault: name that file, else the folder.
    const message = (err as Error).message;
    const array = /^(\w+): /.exec(message)?.[1];
    throw bad(array !== undefined && names.includes(array) ? join(dir, `${array}.npy`) : folder, message);
  }
  const model = wrapModel(inner);
  model.train = train;
  return { model, userIds, itemIds, train, meta: m };
}

/** A hybrid's folder: its parts from `parts/<name>/` (each checked like any model), its weights from weights.npy. */
async function loadHybrid(
  dir: string,
  metaPath: string,
  m: Record<string, unknown>,
  params: Record<string, unknown>,
  arrays: Binding.ModelArray[],
  userIds: string[],
  itemIds: string[],
): Promise<Recommender> {
  const bad = (file: string, why: string): CfError => new CfError('ERR_CF_DATA', `${file}: ${why}`);
  const h = m.hybrid as { parts?: unknown; fallback?: unknown } | undefined;
  if (h === null || typeof h !== 'object' || !Array.isArray(h.parts) || h.parts.length === 0) throw bad(metaPath, 'hybrid.parts must list the parts saved in parts/');
  const names = h.parts.map((p: unknown, j) => {
    const name = (p as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || !PART_NAME.test(name)) throw bad(metaPath, `hybrid.parts[${j}].name must be a folder name (got ${kindOf(name)})`);
    return name;
  });
  const fallback = h.fallback ?? [];
  if (!Array.isArray(fallback) || fallback.some((f) => typeof f !== 'string' || !names.includes(f))) throw bad(metaPath, `hybrid.fallback must list names of hybrid.parts`);
  const w = arrays.find((a) => a.name === 'weights');
  if (!w || w.data.length !== names.length) throw bad(join(dir, 'weights.npy'), `must hold one weight per part (${names.length})`);
  const parts: HybridPart[] = [];
  for (const [j, name] of names.entries()) {
    const part = await loadModel(join(dir, 'parts', name));
    if (part.userIds.length !== userIds.length || part.itemIds.length !== itemIds.length || part.itemIds.some((id, i) => id !== itemIds[i])) {
      throw bad(join(dir, 'parts', name), `its ids do not match the hybrid's (${userIds.length} users, ${itemIds.length} items)`);
    }
    const weight = w.data[j]!;
    parts.push({ name, model: part.model, weight: weight < 0 ? null : weight });
  }
  try {
    return hybridFromLoaded(parts, fallback as string[], params);
  } catch (err) {
    throw bad(dir, (err as Error).message);
  }
}

const PART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
