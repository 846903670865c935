// A saved model is a folder: the model's arrays as .npy (numpy-loadable), id maps as JSON,
// the training matrix (to filter seen items after loading) as CSR .npy, and model.json
// describing it all. Written the same way for every model type: the arrays and params come
// from the model itself, and loading goes back through the core's registry.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CfError } from '../errors.js';
import { wrapModel } from '../models/registry.js';
import type { Recommender } from '../models/recommender.js';
import type { Matrix } from '../models/types.js';
import { call, native, type Binding } from '../native.js';
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

export async function saveModel(dir: string, model: Recommender, info: SaveInfo): Promise<void> {
  const t = info.train ?? model.train;
  if (!t) throw new CfError('ERR_CF_INVALID_ARG', 'saveModel: the model has no training matrix; pass info.train');
  if (info.userIds.length !== t.nRows || info.itemIds.length !== t.nCols) {
    throw new CfError(
      'ERR_CF_INVALID_ARG',
      `saveModel: ${info.userIds.length} user ids and ${info.itemIds.length} item ids do not match the ${t.nRows} x ${t.nCols} training matrix`,
    );
  }
  const arrays = model.inner.arrays();
  const meta = {
    format_version: FORMAT_VERSION,
    type: model.type,
    params: model.params,
    shapes: { ...Object.fromEntries(arrays.map((a) => [a.name, a.shape])), train: [t.nRows, t.nCols] },
    users: info.userIds.length,
    items: info.itemIds.length,
    data_hash: info.dataHash ?? null,
    versions: { 'cf-native': packageVersion(), git: gitVersion(), node: process.version },
    ...info.extra,
  };
  // Every file goes into a fresh folder that replaces `dir` in one step (publish.ts), so a
  // crash at any instant leaves the old model or the new one, never a mix.
  await writeFolderAtomic(dir, async (staging) => {
    for (const a of arrays) await writeNpy(join(staging, `${a.name}.npy`), a.data, a.shape);
    await writeNpy(join(staging, 'train_indptr.npy'), t.indptr(), [t.nRows + 1]);
    await writeNpy(join(staging, 'train_indices.npy'), t.indices(), [t.nnz]);
    await writeNpy(join(staging, 'train_values.npy'), t.values(), [t.nnz]);
    await writeJsonAtomic(join(staging, 'user_ids.json'), info.userIds);
    await writeJsonAtomic(join(staging, 'item_ids.json'), info.itemIds);
    for (const [name, value] of Object.entries(info.files ?? {})) await writeJsonAtomic(join(staging, name), value);
    // Last: a folder with model.json is complete.
    await writeJsonAtomic(join(staging, 'model.json'), meta);
  });
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new CfError('ERR_CF_IO', `cannot read ${path}: ${(cause as Error).message}`, { cause });
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

export async function loadModel(folder: string): Promise<LoadedModel> {
  // Every file from the one version the folder points at now, even if a publish follows.
  const dir = await resolveFolder(folder);
  const metaPath = join(dir, 'model.json');
  const meta = (await readJson(metaPath)) as Record<string, unknown>;
  if (!READABLE_VERSIONS.includes(meta.format_version as number)) {
    throw new CfError('ERR_CF_IO', `${metaPath}: unsupported format_version ${String(meta.format_version)}`);
  }
  const shapes = (meta.shapes ?? {}) as Record<string, unknown>;
  const userIds = await readIds(join(dir, 'user_ids.json'));
  const itemIds = await readIds(join(dir, 'item_ids.json'));
  const [indptr, indices, values] = await Promise.all(
    ['train_indptr', 'train_indices', 'train_values'].map((n) => readArray(dir, n, undefined)),
  );
  const train = call(() =>
    native().Matrix.fromCsr(indptr!.data as Uint32Array, indices!.data as Uint32Array, values!.data as Float32Array, userIds.length, itemIds.length),
  );
  const arrays: Binding.ModelArray[] = [];
  for (const name of Object.keys(shapes).filter((n) => n !== 'train')) {
    const a = await readArray(dir, name, shapes[name]);
    if (!(a.data instanceof Float32Array)) throw new CfError('ERR_CF_DATA', `${join(dir, `${name}.npy`)}: must be float32`);
    arrays.push({ name, shape: a.shape, data: a.data });
  }
  const inner = call(() => {
    try {
      return native().loadModel(String(meta.type), (meta.params ?? {}) as object, arrays, userIds.length, itemIds.length);
    } catch (err) {
      // Name the folder: the core names the array or parameter at fault.
      if (err instanceof Error) err.message = `${folder}: ${err.message}`;
      throw err;
    }
  });
  const model = wrapModel(inner);
  model.train = train;
  return { model, userIds, itemIds, train, meta };
}
