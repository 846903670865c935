// A saved model is a folder: factors as .npy (numpy-loadable), id maps as JSON, the training
// matrix (to filter seen items after loading) as CSR .npy, and model.json describing it all.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CfError } from '../errors.js';
import { ALS, type AlsParams } from '../models/als.js';
import { Popularity } from '../models/popularity.js';
import type { Matrix } from '../models/types.js';
import { call, native } from '../native.js';
import { readNpy, writeNpy } from './npy.js';
import { writeJsonAtomic } from './atomic.js';
import { gitVersion, packageVersion } from './version.js';

export const FORMAT_VERSION = 1;

export interface SaveInfo {
  userIds: string[];
  itemIds: string[];
  /** Defaults to the matrix the model was fitted on. */
  train?: Matrix;
  dataHash?: string;
  extra?: Record<string, unknown>;
}

export interface LoadedModel {
  model: ALS | Popularity;
  userIds: string[];
  itemIds: string[];
  train: Matrix;
  meta: Record<string, unknown>;
}

export async function saveModel(dir: string, model: ALS | Popularity, info: SaveInfo): Promise<void> {
  await mkdir(dir, { recursive: true });
  const shapes: Record<string, number[]> = {};
  if (model instanceof ALS) {
    const k = model.factors;
    shapes.user_factors = [model.nUsers, k];
    shapes.item_factors = [model.nItems, k];
    await writeNpy(join(dir, 'user_factors.npy'), model.userFactors(), shapes.user_factors);
    await writeNpy(join(dir, 'item_factors.npy'), model.itemFactors(), shapes.item_factors);
  } else {
    const c = model.counts();
    shapes.item_counts = [c.length];
    await writeNpy(join(dir, 'item_counts.npy'), c, shapes.item_counts);
  }
  const t = info.train ?? model.train;
  if (!t) throw new CfError('ERR_CF_INVALID_ARG', 'saveModel: the model has no training matrix; pass info.train');
  if (info.userIds.length !== t.nRows || info.itemIds.length !== t.nCols) {
    throw new CfError(
      'ERR_CF_INVALID_ARG',
      `saveModel: ${info.userIds.length} user ids and ${info.itemIds.length} item ids do not match the ${t.nRows} x ${t.nCols} training matrix`,
    );
  }
  await writeNpy(join(dir, 'train_indptr.npy'), t.indptr(), [t.nRows + 1]);
  await writeNpy(join(dir, 'train_indices.npy'), t.indices(), [t.nnz]);
  await writeNpy(join(dir, 'train_values.npy'), t.values(), [t.nnz]);
  await writeJsonAtomic(join(dir, 'user_ids.json'), info.userIds);
  await writeJsonAtomic(join(dir, 'item_ids.json'), info.itemIds);
  await writeJsonAtomic(join(dir, 'model.json'), {
    format_version: FORMAT_VERSION,
    type: model.type,
    params: model.params,
    shapes: { ...shapes, train: [t.nRows, t.nCols] },
    users: info.userIds.length,
    items: info.itemIds.length,
    data_hash: info.dataHash ?? null,
    versions: { 'cf-native': packageVersion(), git: gitVersion(), node: process.version },
    ...info.extra,
  });
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new CfError('ERR_CF_IO', `cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
}

export async function loadModel(dir: string): Promise<LoadedModel> {
  const meta = (await readJson(join(dir, 'model.json'))) as Record<string, unknown>;
  if (meta.format_version !== FORMAT_VERSION) {
    throw new CfError('ERR_CF_IO', `${join(dir, 'model.json')}: unsupported format_version ${String(meta.format_version)}`);
  }
  const userIds = (await readJson(join(dir, 'user_ids.json'))) as string[];
  const itemIds = (await readJson(join(dir, 'item_ids.json'))) as string[];
  const indptr = await readNpy(join(dir, 'train_indptr.npy'));
  const indices = await readNpy(join(dir, 'train_indices.npy'));
  const values = await readNpy(join(dir, 'train_values.npy'));
  const train = call(() =>
    native.Matrix.fromCsr(
      indptr.data as Uint32Array,
      indices.data as Uint32Array,
      values.data as Float32Array,
      userIds.length,
      itemIds.length,
    ),
  );
  let model: ALS | Popularity;
  if (meta.type === 'als') {
    const u = await readNpy(join(dir, 'user_factors.npy'));
    const i = await readNpy(join(dir, 'item_factors.npy'));
    model = ALS.fromFactors(meta.params as AlsParams, u.data as Float32Array, i.data as Float32Array);
  } else if (meta.type === 'popularity') {
    model = Popularity.fromCounts((await readNpy(join(dir, 'item_counts.npy'))).data as Float32Array);
  } else {
    throw new CfError('ERR_CF_IO', `${join(dir, 'model.json')}: unknown model type ${String(meta.type)}`);
  }
  if (model.type === 'als' && ((model as ALS).nUsers !== userIds.length || (model as ALS).nItems !== itemIds.length)) {
    throw new CfError('ERR_CF_IO', `${dir}: factor shapes do not match the id maps`);
  }
  model.train = train;
  return { model, userIds, itemIds, train, meta };
}
