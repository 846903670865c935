// Writes the committed seeds of the npy and config targets (seeds/npy, seeds/config):
// valid .npy files of each dtype the reader supports, in the header versions it reads, and
// the example configs plus a few variants. Re-run after changing the formats:
//   npm run build:ts && node fuzz/js/make-seeds.mjs
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { npyHeader } from '../../dist/artifacts/npy.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const npy = join(here, 'seeds', 'npy');
rmSync(npy, { recursive: true, force: true });
mkdirSync(npy, { recursive: true });
const arrays = {
  'f4-2x3': [new Float32Array([1, 2, 3, 4, 5, 6.5]), [2, 3]],
  'u4-4': [new Uint32Array([0, 1, 4294967295, 7]), [4]],
  'i4-2x2': [new Int32Array([-1, 0, 1, 2147483647]), [2, 2]],
  'f8-3': [new Float64Array([0.1, -0, Number.MAX_VALUE]), [3]],
  'f4-scalar': [new Float32Array([42]), []],
  'u4-0x3': [new Uint32Array([]), [0, 3]],
  'f4-1x1x2': [new Float32Array([1, 2]), [1, 1, 2]],
};
const dtypes = { Float32Array: '<f4', Uint32Array: '<u4', Int32Array: '<i4', Float64Array: '<f8' };
for (const [name, [data, shape]] of Object.entries(arrays)) {
  writeFileSync(join(npy, `${name}.npy`), Buffer.concat([npyHeader(dtypes[data.constructor.name], shape), bytes(data)]));
}
// Versions 2.0 and 3.0 (4-byte header length; 3.0 is UTF-8), and numpy 1.x's Python 2 'L' shapes.
function versioned(major, dict, data) {
  const lengthSize = major === 1 ? 2 : 4;
  const header = Buffer.from(`${dict}${' '.repeat(128)}`.slice(0, 128 - 8 - lengthSize - 1) + '\n', 'utf8');
  const prefix = Buffer.from([0x93, ...Buffer.from('NUMPY'), major, 0, 0, 0, 0, 0].slice(0, 8 + lengthSize));
  if (lengthSize === 2) prefix.writeUInt16LE(header.length, 8);
  else prefix.writeUInt32LE(header.length, 8);
  return Buffer.concat([prefix, header, bytes(data)]);
}
writeFileSync(join(npy, 'v2-i4.npy'), versioned(2, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", new Int32Array([3, -3])));
writeFileSync(join(npy, 'v3-f8.npy'), versioned(3, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", new Float64Array([1.5])));
const py2 = Buffer.from(readFileSync(join(npy, 'u4-4.npy')).toString('latin1').replace('(4,), } ', '(4L,), }'), 'latin1');
writeFileSync(join(npy, 'py2-long-shape.npy'), py2);
// Bugs the fuzzer found (see fuzz/README.md): header text with a CR or newline in the message.
writeFileSync(join(npy, 'regress-cr-in-dtype.npy'), versioned(1, "{'descr': '<f\r4', 'fortran_order': False, 'shape': (2,), }", new Float32Array(2)));

const config = join(here, 'seeds', 'config');
rmSync(config, { recursive: true, force: true });
mkdirSync(config, { recursive: true });
for (const f of readdirSync(join(root, 'examples'))) writeFileSync(join(config, f), readFileSync(join(root, 'examples', f)));
const variants = {
  'minimal.yaml': 'data:\n  path: ratings.csv\nmodels:\n  - type: als\n',
  'pre-split.yaml': "data:\n  train: train.tsv\n  valid: valid.tsv\n  test: test.tsv\n  delimiter: \"\\t\"\n  header: false\n  columns: { user: 0, item: 1, rating: 2 }\n  values: log1p\nmodels:\n  - { type: popularity, name: pop }\n  - type: als\n    params: { factors: 8, confidence: log, epsilon: 0.5, solver: cg }\nevaluate: { k: 10, filter_seen: false }\n",
  'random-split.yaml': "data: { path: r.csv, duplicates: last, min_item_interactions: 2 }\nsplit: { strategy: random, valid: 0.1, test: 0.2, seed: 7 }\nmodels: [ { type: als, name: a1 }, { type: als, name: a2, params: { alpha: 1.5 } } ]\noutput: out\n",
  'time-split.yaml': 'data:\n  path: d.dat\n  delimiter: "::"\n  columns: { user: 0, item: 1, rating: 2, time: 3 }\n  positive_threshold: 3.5\nsplit:\n  strategy: time\n  valid_cutoff: 1000000000\n  test_cutoff: 1100000000\nmodels:\n  - type: als\n',
  'anchors.yaml': 'base: &p { factors: 16, iterations: 3 }\n',
  'regress-cr-in-key.yaml': 'data: { path: x.csv }\nsplit: { "te\\rst": 1 }\nmodels: [{ type: als }]\n',
  'regress-cr-in-syntax-error.yaml': 'data: | x\r  y\nmodels: [{ type: als }]\n',
  'regress-mapping-key.yaml': 'data: { path: x.csv }\nmodels: [{ type: als }]\n? { a: 1 }\n: 2\n',
  'anchors-valid.yaml': 'data: { path: &f x.csv }\nmodels:\n  - type: als\n    name: &n first\n    params: &p { factors: 16, iterations: 3 }\n  - type: als\n    name: second\n    params: *p\noutput: *f\n',
};
for (const [name, text] of Object.entries(variants)) writeFileSync(join(config, name), text);
console.log(`seeds: ${readdirSync(npy).length} npy, ${readdirSync(config).length} config`);
