// Model folders are published atomically: whatever instant a writer dies at, the folder
// loads as the complete old model or the complete new one, and the next write cleans up.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeFolderAtomic } from '../src/artifacts/publish.js';
import { checkOutputFolder } from '../src/artifacts/output.js';
import { ALS, loadModel, matrixFromCoo } from '../src/index.js';

const root = join(import.meta.dirname, '..');

describe('writeFolderAtomic', () => {
  it('replaces the folder, keeps one previous version and removes older ones', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'cf-publish-'));
    const dir = join(parent, 'm');
    for (const v of ['1', '2', '3']) {
      await writeFolderAtomic(dir, async (s) => writeFile(join(s, 'v.txt'), v));
    }
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(join(dir, 'v.txt'), 'utf8')).toBe('3');
    const versions = (await readdir(parent)).filter((n) => n.startsWith('.m~v-'));
    expect(versions).toHaveLength(2);
  });

  it('turns a plain folder into the previous version, and removes dead writers\' leftovers', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'cf-publish-'));
    const dir = join(parent, 'm');
    await mkdir(dir);
    await writeFile(join(dir, 'old.txt'), 'old');
    // A staging folder of a writer that no longer runs (pid 2^22 + 1 is beyond pid_max here).
    await mkdir(join(parent, '.m~staging-abc-4194305-dead'));
    await writeFolderAtomic(dir, async (s) => writeFile(join(s, 'new.txt'), 'new'));
    expect(existsSync(join(dir, 'new.txt'))).toBe(true);
    expect(existsSync(join(dir, 'old.txt'))).toBe(false);
    expect((await readdir(parent)).sort()).toEqual(expect.arrayContaining(['m']));
    expect((await readdir(parent)).some((n) => n.includes('staging'))).toBe(false);
  });

  it('refuses to replace a file, and a failed write leaves the old folder', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'cf-publish-'));
    await writeFile(join(parent, 'f'), 'x');
    await expect(writeFolderAtomic(join(parent, 'f'), async () => {})).rejects.toMatchObject({ code: 'ERR_CF_IO' });
    const dir = join(parent, 'm');
    await writeFolderAtomic(dir, async (s) => writeFile(join(s, 'v.txt'), 'good'));
    await expect(writeFolderAtomic(dir, async () => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(join(dir, 'v.txt'), 'utf8')).toBe('good');
    expect((await readdir(parent)).some((n) => n.includes('staging'))).toBe(false);
  });
});

describe('checkOutputFolder', () => {
  it('accepts a folder to create and rejects files, paths under files and /proc', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'cf-out-'));
    expect(await checkOutputFolder(join(parent, 'a/b'))).toBe(join(parent, 'a/b'));
    await writeFile(join(parent, 'file'), 'x');
    await expect(checkOutputFolder(join(parent, 'file'))).rejects.toThrow(/exists and is not a folder/);
    await expect(checkOutputFolder(join(parent, 'file/sub'))).rejects.toThrow(/is a file, so no folder can be created under it/);
    if (process.platform === 'linux') await expect(checkOutputFolder('/proc/x')).rejects.toThrow(/special file system/);
  });
});

describe('kill -9 during a model write', () => {
  // Two models that differ in shape (4 vs 6 factors) and in every score.
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < 60; u++) for (let j = 0; j < 8; j++) (users.push(u), items.push((u * 7 + j * 13) % 50));
  const m = matrixFromCoo(Uint32Array.from(users), Uint32Array.from(items), 60, 50);
  const paramsA = { factors: 4, iterations: 3, seed: 1 };
  const paramsB = { factors: 6, iterations: 4, seed: 2 };
  const a = ALS.fitSync(m, paramsA);
  const b = ALS.fitSync(m, paramsB);
  const same = (x: Float32Array, y: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));

  it('leaves the old or the new model at every kill point, with a changed config', { timeout: 120_000 }, async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'cf-kill-')), 'model');
    const script = join(dir + '-writer.mjs');
    // The writer saves A once, says so, then alternates B and A as fast as it can.
    await writeFile(
      script,
      `import { ALS, matrixFromCoo, saveModel } from ${JSON.stringify(pathToFileURL(join(root, 'dist/index.js')).href)};
const users = ${JSON.stringify(users)}, items = ${JSON.stringify(items)};
const m = matrixFromCoo(Uint32Array.from(users), Uint32Array.from(items), 60, 50);
const models = [ALS.fitSync(m, ${JSON.stringify(paramsA)}), ALS.fitSync(m, ${JSON.stringify(paramsB)})];
const info = { userIds: users.slice(0, 60).map((_, i) => 'u' + i), itemIds: Array.from({ length: 50 }, (_, i) => 'i' + i) };
await saveModel(${JSON.stringify(dir)}, models[0], info);
process.stdout.write('ready\\n');
for (let i = 1; ; i++) await saveModel(${JSON.stringify(dir)}, models[i % 2], info);
`,
    );
    const seen = new Set<number>();
    // Kill points spread over a write (a few ms each): early, mid and late in the loop.
    // On a loaded machine one write can outlast them all: longer ones follow until the folder
    // has been seen to change.
    const delays = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144];
    const longer = [233, 377, 610, 987, 1597, 2584];
    for (let d = 0; d < delays.length || (seen.size < 2 && d < delays.length + longer.length); d++) {
      const delay = d < delays.length ? delays[d]! : longer[d - delays.length]!;
      const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((ok, fail) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && ok());
        child.on('exit', (code) => fail(new Error(`writer exited early with ${code}`)));
      });
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      const { model } = await loadModel(dir);
      const als = model as ALS;
      const want = als.factors === 4 ? a : b;
      expect([4, 6]).toContain(als.factors);
      expect(same(als.userFactors(), want.userFactors()), `after a kill at ${delay} ms`).toBe(true);
      expect(same(als.itemFactors(), want.itemFactors())).toBe(true);
      expect(model.recommend(3, { k: 5 }).ids).toEqual(want.recommend(3, { k: 5 }).ids);
      seen.add(als.factors);
    }
    // The loop really changed the folder between kills.
    expect([...seen].sort()).toEqual([4, 6]);
  });
});
