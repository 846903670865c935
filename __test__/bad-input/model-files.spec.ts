// loadModel on corrupted model folders: a CfError naming the file at fault (model.json and
// the key, the .npy or the .json), ERR_CF_DATA when the file is read but wrong, ERR_CF_IO
// when it cannot be read. Never an abort: a corrupted train_indptr.npy used to panic in Rust.
import { copyFileSync, cpSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/artifacts/npy.js';
import { ALS, Popularity, loadModel, matrixFromCoo, saveModel } from '../../src/index.js';
import { failure, tmp } from './helpers.js';

const base = tmp('models');
const u32 = (...xs: number[]) => Uint32Array.from(xs);

beforeAll(async () => {
  // 3 users x 4 items; the ALS model has 2 factors.
  const m = matrixFromCoo(u32(0, 0, 1, 2, 2), u32(0, 1, 1, 2, 3), 3, 4);
  const ids = { userIds: ['a', 'b', 'c'], itemIds: ['w', 'x', 'y', 'z'] };
  await saveModel(join(base, 'als'), ALS.fitSync(m, { factors: 2, iterations: 2 }), ids);
  await saveModel(join(base, 'popularity'), Popularity.fit(m), ids);
});

type Edit = (dir: string) => void | Promise<void>;
const json = (file: string, change: (j: Record<string, any>) => void): Edit => (dir) => {
  const j = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  change(j);
  writeFileSync(join(dir, file), JSON.stringify(j));
};
const write = (file: string, content: string | Uint8Array): Edit => (dir) => writeFileSync(join(dir, file), content);
const remove = (file: string): Edit => (dir) => rmSync(join(dir, file));
/** Overwrite the 4 bytes at `fromEnd` bytes before the end of a .npy (its last elements). */
const patch = (file: string, fromEnd: number, set: (b: Buffer, at: number) => void): Edit => (dir) => {
  const b = readFileSync(join(dir, file));
  set(b, b.length - fromEnd);
  writeFileSync(join(dir, file), b);
};

/** [name, model saved, edit, code, file named ('' = the folder), message] */
type Case = [string, 'als' | 'popularity', Edit, 'ERR_CF_DATA' | 'ERR_CF_IO', string, RegExp];
const DATA = 'ERR_CF_DATA';
const IO = 'ERR_CF_IO';

const cases: Case[] = [
  // model.json
  ['model.json that is not JSON', 'als', write('model.json', '{not json'), DATA, 'model.json', /: not valid JSON: /],
  ['model.json empty', 'als', write('model.json', ''), DATA, 'model.json', /: not valid JSON: Unexpected end of JSON input$/],
  ['model.json null', 'als', write('model.json', 'null'), DATA, 'model.json', /: must be a JSON object \(got null\)$/],
  ['model.json an array', 'als', write('model.json', '[]'), DATA, 'model.json', /: must be a JSON object \(got an array\)$/],
  ['model.json missing', 'als', remove('model.json'), IO, 'model.json', /^cannot read .*model\.json: no such file$/],
  ['an unknown format_version', 'als', json('model.json', (j) => (j.format_version = 3)), DATA, 'model.json', /: unsupported format_version 3 \(this version of cf-native reads 1 and 2\)$/],
  ['format_version as a string', 'als', json('model.json', (j) => (j.format_version = '2')), DATA, 'model.json', /: unsupported format_version "2"/],
  ['an unknown type', 'als', json('model.json', (j) => (j.type = 'lightgcn')), DATA, 'model.json', /: type "lightgcn" is not a known model type \(known: als, bpr, mf, popularity, svd, ease, knn, content, hybrid\)$/],
  ['type missing', 'als', json('model.json', (j) => delete j.type), DATA, 'model.json', /: type undefined is not a known model type/],
  ['params with an unknown key', 'als', json('model.json', (j) => (j.params.bogus = 1)), DATA, 'model.json', /: params\.bogus: is not a known option \(expected one of: factors, /],
  ['params out of range', 'als', json('model.json', (j) => (j.params.factors = -1)), DATA, 'model.json', /: params\.factors: must be an integer in 1\.\.=4096 \(got -1\)$/],
  ['params a string', 'als', json('model.json', (j) => (j.params = 'x')), DATA, 'model.json', /: params must be an object \(got a string \("x"\)\)$/],
  ['params an object inside', 'als', json('model.json', (j) => (j.params.factors = { n: 2 })), DATA, 'model.json', /: params\.factors: must be a number, boolean or string \(got an object\)$/],
  ['params on popularity', 'popularity', json('model.json', (j) => (j.params = { factors: 2 })), DATA, 'model.json', /: params\.factors: is not a known option \(this takes no options\)$/],
  ['type popularity over ALS arrays', 'als', json('model.json', (j) => (j.type = 'popularity')), DATA, 'model.json', /: params\.factors: is not a known option/],
  ['shapes missing', 'als', json('model.json', (j) => delete j.shapes), DATA, 'model.json', /: shapes must be an object of array shapes \(got undefined\)$/],
  ['shapes a string', 'als', json('model.json', (j) => (j.shapes = 'abc')), DATA, 'model.json', /: shapes must be an object of array shapes \(got a string \("abc"\)\)$/],
  ['shapes naming a file outside the folder', 'als', json('model.json', (j) => (j.shapes['../../etc/x'] = [1])), DATA, 'model.json', /: shapes lists an array named "\.\.\/\.\.\/etc\/x"; names are letters, digits and '_'$/],
  // The model's arrays.
  ['a shape model.json does not give', 'als', json('model.json', (j) => (j.shapes.user_factors = [4, 2])), DATA, 'user_factors.npy', /: shape \[3, 2\] does not match model\.json's \[4, 2\]$/],
  ['an array model.json lists but the folder lacks', 'als', json('model.json', (j) => (j.shapes.bogus = [1])), IO, 'bogus.npy', /: cannot read \.npy file: no such file$/],
  ['factors changed in params', 'als', json('model.json', (j) => (j.params.factors = 3)), DATA, 'user_factors.npy', /: user_factors: shape \[3, 2\] \(6 values\) does not match the model's \[3, 3\]$/],
  ['type als over popularity arrays', 'popularity', json('model.json', (j) => (j.type = 'als')), DATA, '', /: user_factors: the model's array user_factors is missing$/],
  ['a truncated .npy', 'als', (d) => truncateSync(join(d, 'user_factors.npy'), statSync(join(d, 'user_factors.npy')).size - 4), IO, 'user_factors.npy', /: invalid \.npy file: truncated data: 20 bytes, expected 24 for shape \(3, 2\) of <f4$/],
  ['an .npy swapped for one of another shape', 'als', (d) => copyFileSync(join(d, 'item_factors.npy'), join(d, 'user_factors.npy')), DATA, 'user_factors.npy', /: shape \[4, 2\] does not match model\.json's \[3, 2\]$/],
  ['an .npy of another dtype', 'als', (d) => writeNpy(join(d, 'user_factors.npy'), new Uint32Array(6), [3, 2]), DATA, 'user_factors.npy', /: must be float32 \(got <u4\)$/],
  ['an .npy that is text', 'als', write('user_factors.npy', 'garbage'), IO, 'user_factors.npy', /: invalid \.npy file: missing the \\x93NUMPY magic$/],
  ['an .npy deleted', 'als', remove('user_factors.npy'), IO, 'user_factors.npy', /: cannot read \.npy file: no such file$/],
  ['an .npy that is a folder', 'als', (d) => (rmSync(join(d, 'user_factors.npy')), mkdirSync(join(d, 'user_factors.npy'))), IO, 'user_factors.npy', /: cannot read \.npy file: EISDIR/],
  ['a NaN factor', 'als', patch('user_factors.npy', 4, (b, at) => b.writeFloatLE(NaN, at)), DATA, '', /: factors: factor arrays contain NaN or infinite values$/],
  ['item counts of another shape', 'popularity', json('model.json', (j) => (j.shapes.item_counts = [5])), DATA, 'item_counts.npy', /: shape \[4\] does not match model\.json's \[5\]$/],
  // The training matrix and the ids.
  ['train_indptr truncated', 'als', (d) => truncateSync(join(d, 'train_indptr.npy'), 130), IO, 'train_indptr.npy', /: invalid \.npy file: truncated data/],
  ['train_indptr of float32', 'als', (d) => copyFileSync(join(d, 'train_values.npy'), join(d, 'train_indptr.npy')), DATA, 'train_indptr.npy', /: must be <u4 \(got <f4\)$/],
  ['train_indptr with an offset past the end', 'als', patch('train_indptr.npy', 8, (b, at) => b.writeUInt32LE(999, at)), DATA, '', /: the training matrix in train_indptr\.npy, train_indices\.npy, train_values\.npy \(3 users x 4 items\) is malformed: matrix: indptr decreases at row 2 \(999 then 5\)$/],
  ['train_indices past the last item', 'als', patch('train_indices.npy', 4, (b, at) => b.writeUInt32LE(99, at)), DATA, '', /is malformed: matrix: row 2 has a column index >= 4$/],
  ['train_indices swapped for train_indptr', 'als', (d) => copyFileSync(join(d, 'train_indptr.npy'), join(d, 'train_indices.npy')), DATA, '', /is malformed: matrix: indptr, indices and values lengths disagree$/],
  ['user_ids.json deleted', 'als', remove('user_ids.json'), IO, 'user_ids.json', /^cannot read .*user_ids\.json: no such file$/],
  ['user_ids.json an object', 'als', write('user_ids.json', '{"a":1}'), DATA, 'user_ids.json', /: must be a JSON array of strings$/],
  ['user_ids.json of numbers', 'als', write('user_ids.json', '[1,2,3]'), DATA, 'user_ids.json', /: must be a JSON array of strings$/],
  ['user_ids.json with a user too few', 'als', write('user_ids.json', '["a","b"]'), DATA, 'user_ids.json', /: has 2 ids, but train_indptr\.npy has 3 rows$/],
  ['item_ids.json with an item too many', 'als', write('item_ids.json', '["w","x","y","z","q"]'), DATA, 'item_factors.npy', /: item_factors: shape \[4, 2\] \(8 values\) does not match the model's \[5, 2\]$/],
];

describe('loadModel on a corrupted folder: the file at fault, named', () => {
  let n = 0;
  for (const [name, saved, edit, code, file, message] of cases) {
    it(name, async () => {
      const dir = join(base, `case-${n++}`);
      cpSync(join(base, saved), dir, { recursive: true, dereference: true });
      await edit(dir);
      const e = await failure(() => loadModel(dir));
      expect(e.message).toMatch(message);
      expect(e.code, e.message).toBe(code);
      expect(e.message).toContain(file === '' ? realpathSync(dir) : join(realpathSync(dir), file));
      expect(e.message).not.toContain('\n');
    });
  }

  it('a folder that does not exist, a dangling link and a file: ERR_CF_IO naming the path', async () => {
    const missing = join(base, 'nope');
    expect(await failure(() => loadModel(missing))).toMatchObject({ code: IO, message: expect.stringMatching(/nope: cannot open the model folder: ENOENT/) });
    const link = join(base, 'dangling');
    symlinkSync(join(base, 'nowhere'), link);
    expect(await failure(() => loadModel(link))).toMatchObject({ code: IO, message: expect.stringContaining(`${link}: cannot open the model folder`) });
    const file = join(base, 'file');
    writeFileSync(file, 'x');
    expect(await failure(() => loadModel(file))).toMatchObject({ code: IO, message: expect.stringContaining(join(file, 'model.json')) });
  });

  it('accepted: duplicate ids load as given (ids are labels; a lookup by id finds the first)', async () => {
    const dir = join(base, 'dup');
    cpSync(join(base, 'als'), dir, { recursive: true, dereference: true });
    writeFileSync(join(dir, 'item_ids.json'), '["w","w","y","z"]');
    expect((await loadModel(dir)).itemIds).toEqual(['w', 'w', 'y', 'z']);
  });
});
