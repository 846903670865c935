// parseConfig (src/config/load.ts) on arbitrary bytes read as UTF-8. Expected: an
// ERR_CF_CONFIG, one line, naming the source; or a Config whose fields have the types and
// defaults the schema promises.
export const maxLen = 4096;

export const covers = (url) => url.includes('/dist/config/') || url.includes('/dist/models/params.js') || url.includes('/dist/options.js') || url.includes('/node_modules/yaml/');

const KEYS = [
  'data', 'path', 'train', 'valid', 'test', 'delimiter', 'header', 'columns', 'user', 'item', 'rating', 'time',
  'positive_threshold', 'values', 'duplicates', 'min_user_interactions', 'min_item_interactions', 'split', 'strategy',
  'seed', 'valid_cutoff', 'test_cutoff', 'models', 'type', 'name', 'params', 'evaluate', 'k', 'filter_seen', 'output',
  'factors', 'regularization', 'scale_regularization', 'alpha', 'confidence', 'epsilon', 'iterations', 'solver',
  'cg_steps', 'dtype', 'threads', 'popularity', 'als', 'leave-last-out', 'random', 'none', 'binary', 'log1p', 'sum',
  'last', 'linear', 'log', 'userId', 'movieId',
];
export const dictionary = [
  ...KEYS.map((k) => `${k}: `), ...KEYS, '\n', '\n  ', '\n    ', '- ', '\n  - ', '{', '}', '[', ']', ', ', ': ', '? ',
  '&a ', '*a', '<<: ', '!!str ', '!!int ', '!!float ', '!!binary ', '!!map ', '!!seq ', '!!set ', '!tag ', '%YAML 1.1\n---\n', '---\n',
  '...\n', '#', "'", '"', '|\n  ', '>-\n  ', '~', 'null', 'true', 'false', 'yes', '.inf', '-.nan', '0x1F', '1e400', '-0',
  '9007199254740993', '4294967296', '__proto__', 'constructor', 'toString', '\t', '\\n', '"\\u0000"', '\ufeff', '\r\n',
];

export async function load() {
  const { parseConfig } = await import('../../../dist/config/load.js');
  const { isCfError } = await import('../../../dist/errors.js');
  const fail = (why) => {
    throw new Error(`invariant: ${why}`);
  };
  return (bytes) => {
    let c;
    try {
      c = parseConfig(Buffer.from(bytes).toString('utf8'), 'fuzz.yaml');
    } catch (err) {
      if (!isCfError(err)) throw err;
      if (err.code !== 'ERR_CF_CONFIG') fail(`code ${err.code}: ${err.message}`);
      if (!/^fuzz\.yaml(:\d+)?: /.test(err.message)) fail(`message does not name the file: ${err.message}`);
      if (/[\n\r]/.test(err.message)) fail(`message spans lines: ${JSON.stringify(err.message)}`);
      return;
    }
    const { data, split, models, evaluate, output } = c;
    if ((data.path === null) === (data.train === null)) fail('exactly one of data.path and data.train');
    if (typeof output !== 'string' || output === '') fail(`output ${output}`);
    if (!Array.isArray(models) || models.length === 0) fail('no models');
    const names = models.map((m) => m.name.toLowerCase());
    if (new Set(names).size !== names.length) fail(`model names ${names}`);
    for (const m of models) {
      if (typeof m.params !== 'object' || m.params === null) fail(`params of ${m.name}`);
      for (const [k, v] of Object.entries(m.params)) if (!['number', 'boolean', 'string'].includes(typeof v)) fail(`param ${k} = ${v}`);
    }
    if (!evaluate.k.length || !evaluate.k.every((k, i) => Number.isSafeInteger(k) && k >= 1 && (i === 0 || k > evaluate.k[i - 1]))) fail(`evaluate.k ${evaluate.k}`);
    if (typeof evaluate.filter_seen !== 'boolean') fail('filter_seen');
    for (const key of ['min_user_interactions', 'min_item_interactions']) if (!Number.isSafeInteger(data[key]) || data[key] < 1) fail(`${key} ${data[key]}`);
    if (split.strategy === 'random' && !(split.valid + split.test < 1)) fail('random fractions');
    if (split.strategy === 'time' && !Number.isFinite(split.test_cutoff)) fail('test_cutoff');
    // The validated config is what gets saved (metrics.json): it must serialize.
    JSON.stringify(c);
  };
}
