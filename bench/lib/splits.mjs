// The bench's prepared splits (bench/.data/<name>/{train,test}: CSR .npy files) and the way
// back into a saved model's index space, shared by the benches that train through the CLI.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A split part as { rows, cols, indptr, indices }. */
export async function readCsr(root, dir) {
  const { readNpy } = await import(join(root, 'dist', 'artifacts', 'npy.js'));
  const shape = JSON.parse(readFileSync(join(dir, 'shape.json'), 'utf8'));
  const [indptr, indices] = await Promise.all(['indptr', 'indices'].map((n) => readNpy(join(dir, `${n}.npy`))));
  return { rows: shape.rows, cols: shape.cols, indptr: indptr.data, indices: indices.data };
}

/**
 * `m` (rows and columns numbered as the bench's files) as a Matrix in the index space of a
 * model saved from those files by the CLI (its ids are the row and column numbers); entries
 * whose user or item the model does not hold are dropped.
 */
export function toModelSpace(m, loaded, matrixFromCoo) {
  const userAt = new Int32Array(m.rows).fill(-1);
  loaded.userIds.forEach((u, i) => (userAt[Number(u)] = i));
  const itemAt = new Int32Array(m.cols).fill(-1);
  loaded.itemIds.forEach((x, i) => (itemAt[Number(x)] = i));
  const us = [];
  const is = [];
  for (let u = 0; u < m.rows; u++) {
    for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) {
      const i = itemAt[m.indices[p]];
      if (userAt[u] >= 0 && i >= 0) {
        us.push(userAt[u]);
        is.push(i);
      }
    }
  }
  return matrixFromCoo(Uint32Array.from(us), Uint32Array.from(is), loaded.userIds.length, loaded.itemIds.length);
}

/** A bench CSR split as the CSV a user would have: `user,item` rows, ids = row and column numbers. */
export async function writeTrainCsv(root, csrDir, file) {
  const { readNpy } = await import(join(root, 'dist', 'artifacts', 'npy.js'));
  const shape = JSON.parse(readFileSync(join(csrDir, 'shape.json'), 'utf8'));
  const [indptr, indices] = await Promise.all(['indptr', 'indices'].map(async (n) => (await readNpy(join(csrDir, `${n}.npy`))).data));
  const lines = ['user,item'];
  for (let u = 0; u < shape.rows; u++) for (let p = indptr[u]; p < indptr[u + 1]; p++) lines.push(`${u},${indices[p]}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
}
