// `cf-native export spark MODEL_DIR OUT` and `cf-native import spark SPARK_MODEL_DIR OUT`.
import { isCfError } from '../errors.js';
import { exportSparkModel, importSparkModel } from '../spark/index.js';

const FORMATS = ['spark'];

export async function sparkCommand(command: 'export' | 'import', format: string, source: string, out: string): Promise<number> {
  if (!FORMATS.includes(format)) {
    console.error(`cf-native: ${command}: unknown format ${JSON.stringify(String(format))} (known: ${FORMATS.join(', ')})`);
    return 2;
  }
  try {
    if (command === 'export') {
      const r = await exportSparkModel(String(source), String(out));
      console.error(`wrote ${out}: a Spark ALSModel of rank ${r.rank} (${r.users} users, ${r.items} items; Spark id i is user_ids.json[i] / item_ids.json[i])`);
    } else {
      const r = await importSparkModel(String(source), String(out));
      console.error(`wrote ${out}: an als model of ${r.rank} factors (${r.users} users, ${r.items} items) from Spark ${r.sparkVersion}`);
    }
    return 0;
  } catch (err) {
    console.error(`cf-native: ${isCfError(err) ? err.message : String((err as Error)?.message ?? err)}`);
    return isCfError(err) ? 2 : 1;
  }
}
