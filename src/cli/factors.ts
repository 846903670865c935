// `cf-native factors MODEL_DIR --out DIR`: a saved factor model's factors as Parquet files
// with original ids (user_factors.parquet, item_factors.parquet), e.g. for Spark or pandas.
import { exportFactors } from '../artifacts/lists.js';
import { loadModel } from '../artifacts/model-io.js';
import { isCfError } from '../errors.js';

export async function factorsCommand(dir: string, out: unknown): Promise<number> {
  if (typeof out !== 'string' || out === '') {
    console.error('cf-native: factors: --out <dir> is required (the folder for user_factors.parquet and item_factors.parquet)');
    return 2;
  }
  try {
    const { model, userIds, itemIds } = await loadModel(dir);
    const files = await exportFactors(model, out, { userIds, itemIds });
    console.error(`wrote ${files.users} (${userIds.length} users) and ${files.items} (${itemIds.length} items)`);
    return 0;
  } catch (err) {
    console.error(`cf-native: ${isCfError(err) ? err.message : String((err as Error)?.message ?? err)}`);
    return isCfError(err) ? 2 : 1;
  }
}
