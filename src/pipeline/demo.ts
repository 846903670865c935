import { fileURLToPath } from 'node:url';
import { defaultConfig, type Config } from '../config/index.js';

/** The embedded dataset, resolved from the package itself so the demo runs from any folder. */
export const EMBEDDED_RATINGS = fileURLToPath(new URL('../../datasets/ml-latest-small/ratings.csv.gz', import.meta.url));

/**
 * What `cf-native train` runs without a config: ml-latest-small, ratings >= 4 as positives,
 * users with >= 3 of them, last positive to test and the one before to validation.
 */
export function demoConfig(output = 'artifacts/demo'): Config {
  const c = defaultConfig(EMBEDDED_RATINGS, output);
  c.data.header = true;
  c.data.positive_threshold = 4;
  c.data.min_user_interactions = 3;
  return c;
}
