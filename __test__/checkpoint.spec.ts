// Checkpoints and resume: an interrupted fit (or train run) continued from its last
// checkpoint gives bit for bit what the uninterrupted one gives, through the API, the
// pipeline and the CLI (Ctrl-C, and kill -9 between checkpoints).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALS, BPR, CfError, loadDataset, matrixFromCoo, MF, runTrain, splitDataset, parseConfig, type FitCheckpoint, type Matrix, type Recommender } from '../src/index.js';

const root = join(import.meta.dirname, '..');
const ratings = join(root, 'datasets', 'ml-latest-small', 'ratings.csv.gz');
const cli = join(root, 'dist', 'cli', 'main.js');
const binary = loadDataset({ path: ratings, positiveThreshold: 4 });
const bin = splitDataset(binary, { strategy: 'random', valid: 0.1, test: 0.1, seed: 5 });
const rated = loadDataset({ path: ratings, values: 'rating' });
const rat = splitDataset(rated, { strategy: 'random', valid: 0.1, test: 0.1, seed: 5 });
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

type Fit = (data: Matrix, params: object, opts: object) => Promise<Recommender & { userFactors(): Float32Array; itemFactors(): Float32Array }>;
const cases: { name: string; fit: Fit; data: Matrix; valid: Matrix | null; params: object }[] = [
  { name: 'als (CG)', fit: ALS.fit as Fit, data: bin.train, valid: null, params: { factors: 16, iterations: 7, computeLoss: true, seed: 3 } },
  { name: 'als (exact)', fit: ALS.fit as Fit, data: bin.train, valid: null, params: { factors: 8, iterations: 5, solver: 'cholesky', seed: 3 } },
  {
    name: 'bpr (AdamW, validation, patience)',
    fit: BPR.fit as Fit,
    data: bin.train,
    valid: bin.valid,
    params: { factors: 16, epochs: 12, optimizer: 'adamw', learningRate: 0.01, patience: 3, sampler: 'mixed', seed: 3 },
  },
  { name: 'mf (SGD, validation)', fit: MF.fit as Fit, data: rat.train, valid: rat.valid, params: { factors: 8, epochs: 9, solver: 'sgd', seed: 3 } },
];

describe('fit checkpoints (API)', () => {
  for (const c of cases) {
    it(`${c.name}: a fit resumed from any checkpoint equals the uninterrupted one bit for bit`, async () => {
      const whole = await c.fit(c.data, c.params, { valid: c.valid });
      const saved: FitCheckpoint[] = [];
      const again = await c.fit(c.data, c.params, { valid: c.valid, checkpoint: { every: 2, save: async (k: FitCheckpoint) => void saved.push(k) } });
      // Checkpoints change nothing, and there is one every 2 iterations but none after the last.
      expect(bytes(again.itemFactors()).equals(bytes(whole.itemFactors()))).toBe(true);
      expect(saved.map((k) => k.iteration)).toEqual(saved.map((_, i) => 2 * (i + 1)));
      expect(saved.length).toBeGreaterThanOrEqual(1);
      for (const k of saved) {
        const resumed = await c.fit(c.data, c.params, { valid: c.valid, resume: k });
        expect(bytes(resumed.userFactors()).equals(bytes(whole.userFactors()))).toBe(true);
        expect(bytes(resumed.itemFactors()).equals(bytes(whole.itemFactors()))).toBe(true);
        // The learning curve continues the checkpoint's: same iterations, same losses.
        const strip = (e: object) => Object.fromEntries(Object.entries(e).filter(([key]) => key !== 'seconds'));
        expect(whole.learningCurve()?.length).toBeGreaterThan(0);
        expect((resumed.learningCurve() ?? []).map(strip)).toEqual((whole.learningCurve() ?? []).map(strip));
      }
    });
  }

  it('stop ends a fit after the current iteration with a checkpoint and ERR_CF_INTERRUPTED', async () => {
    const params = { factors: 16, epochs: 8, seed: 4 };
    const whole = await BPR.fit(bin.train, params);
    const stop = new AbortController();
    const saved: FitCheckpoint[] = [];
    const err = await BPR.fit(bin.train, params, {
      stop: stop.signal,
      checkpoint: { every: 0, save: async (k) => void saved.push(k) },
      onProgress: (p) => p.iteration === 3 && stop.abort(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CfError);
    expect((err as CfError).code).toBe('ERR_CF_INTERRUPTED');
    expect((err as Error).message).toMatch(/stopped after iteration 3 of 8 \(checkpoint saved\)/);
    expect(saved.map((k) => k.iteration)).toEqual([3]);
    const resumed = await BPR.fit(bin.train, params, { resume: saved[0]! });
    expect(bytes(resumed.itemFactors()).equals(bytes(whole.itemFactors()))).toBe(true);
  });

  it('refuses a checkpoint of another type, other params, other data or damaged bytes, naming what', async () => {
    const saved: FitCheckpoint[] = [];
    await ALS.fit(bin.train, { factors: 8, iterations: 3 }, { checkpoint: { every: 1, save: async (k) => void saved.push(k) } });
    const k = saved[0]!;
    const fail = async (p: Promise<unknown>) => {
      const e = await p.then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(CfError);
      return `${(e as CfError).code} ${(e as Error).message}`;
    };
    expect(await fail(BPR.fit(bin.train, { factors: 8 }, { resume: k }))).toMatch(/^ERR_CF_INVALID_ARG resume: the checkpoint is of a als fit, not bpr/);
    expect(await fail(ALS.fit(bin.train, { factors: 16 }, { resume: k }))).toMatch(/array user_factors of the als state holds \d+ f32 values where this model and data need \d+ f32: was it saved with other params or other data\?/);
    const other = matrixFromCoo(new Uint32Array([0, 1]), new Uint32Array([1, 0]), 2, 2);
    expect(await fail(ALS.fit(other, { factors: 8 }, { resume: k }))).toMatch(/checkpoint: array user_factors/);
    const torn = { ...k, state: k.state.subarray(0, k.state.byteLength - 9) };
    expect(await fail(ALS.fit(bin.train, { factors: 8 }, { resume: torn }))).toMatch(/damaged or incomplete/);
    expect(await fail(ALS.fit(bin.train, {}, { checkpoint: { every: -1, save: async () => {} } }))).toMatch(/^ERR_CF_INVALID_ARG checkpoint.every: must be an integer >= 0/);
    expect(await fail(ALS.fit(bin.train, {}, { resume: { ...k, state: 'x' } as unknown as FitCheckpoint }))).toMatch(/resume.state/);
  });
});

const yaml = (output: string, every: number | null) => `
data:
  path: ${ratings}
  positive_threshold: 4
split:
  strategy: random
  valid: 0.1
  test: 0.1
  seed: 5
models:
  - type: als
    params: { factors: 16, iterations: 6 }
  - type: bpr
    params: { factors: 16, epochs: 10, learning_rate: [0.02, 0.05], seed: 2 }
  - type: svd
    params: { factors: 8 }
evaluate:
  k: 10
  bootstrap: { resamples: 50 }
output: ${output}
${every === null ? '' : `checkpoint_every: ${every}`}
`;

/** Every .npy of every model folder of a run, by path, for a bitwise comparison. */
async function arrays(output: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const m of ['als', 'bpr', 'svd']) {
    for (const f of (await readdir(join(output, m))).filter((x) => x.endsWith('.npy')).sort()) {
      out[`${m}/${f}`] = (await readFile(join(output, m, f))).toString('base64');
    }
  }
  return out;
}

describe('train --resume (pipeline)', () => {
  it('a run stopped mid-grid resumes to the same models, then leaves nothing to resume', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-ckpt-'));
    const whole = await runTrain(parseConfig(yaml(join(dir, 'whole'), null), 'c.yaml'), { report: false });
    const out = join(dir, 'cut');
    const config = parseConfig(yaml(out, 3), 'c.yaml');
    const stop = new AbortController();
    const lines: string[] = [];
    // Stop in the second combination of bpr's grid, at epoch 4: als is saved, bpr's
    // checkpoint is at epoch 4 of its second fit.
    let fits = 0;
    const err = await runTrain(config, {
      report: false,
      stop: stop.signal,
      onProgress: (name, p) => {
        if (name === 'bpr' && p.iteration === 1) fits++;
        if (name === 'bpr' && fits === 2 && p.iteration === 4) stop.abort();
      },
    }).catch((e: unknown) => e);
    expect((err as CfError).code).toBe('ERR_CF_INTERRUPTED');
    expect((err as Error).message).toMatch(/^bpr: bpr fit stopped after iteration 4 of 10/);
    const run = JSON.parse(await readFile(join(out, '.checkpoint', 'run.json'), 'utf8'));
    expect(run.completed).toEqual(['als']);
    const meta = JSON.parse(await readFile(join(out, '.checkpoint', 'bpr.json'), 'utf8'));
    expect([meta.combination, meta.iteration]).toEqual([1, 4]);
    expect((await readdir(join(out, '.checkpoint'))).filter((f) => f.endsWith('.state'))).toEqual(['bpr.4.state']);

    // A changed config is refused rather than mixed with the interrupted run's models.
    const changed = parseConfig(yaml(out, 3).replace('iterations: 6', 'iterations: 7'), 'c.yaml');
    await expect(runTrain(changed, { report: false, resume: true })).rejects.toThrow(/changed since the run .* was interrupted/);

    const resumed = await runTrain(parseConfig(yaml(out, 5), 'c.yaml'), { report: false, resume: true, log: (l) => lines.push(l) });
    expect(lines.some((l) => l.startsWith('als: saved before the interruption'))).toBe(true);
    expect(lines).toContain('bpr: resuming from its checkpoint after iteration 4 of 10');
    expect(await arrays(out)).toEqual(await arrays(join(dir, 'whole')));
    expect(resumed.models.map((m) => [m.name, m.test])).toEqual(whole.models.map((m) => [m.name, m.test]));
    expect(resumed.leaderboard).toEqual(whole.leaderboard);
    expect(existsSync(join(out, '.checkpoint'))).toBe(false);
    await expect(runTrain(config, { report: false, resume: true })).rejects.toThrow(/holds no interrupted run/);
    await rm(dir, { recursive: true, force: true });
  });
});

describe.skipIf(!existsSync(cli) || process.platform === 'win32')('train --resume (CLI)', () => {
  const cliYaml = (output: string) => `
data: { path: ${ratings}, positive_threshold: 4 }
split: { strategy: random, valid: 0.1, test: 0.1, seed: 5 }
models:
  - type: bpr
    params: { factors: 32, epochs: 300, seed: 2 }
evaluate: { k: 10, bootstrap: { resamples: 20 } }
output: ${output}
checkpoint_every: 1
`;

  /** Runs the CLI; `until` decides from stderr so far when to send `signal`. */
  function run(args: string[], until?: (stderr: string, output: string) => boolean, signal: NodeJS.Signals = 'SIGINT'): Promise<{ code: number | null; signal: string | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let sent = false;
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const poll = setInterval(() => {
        if (!sent && until?.(stderr, args[1]!)) {
          sent = true;
          child.kill(signal);
        }
      }, 20);
      child.on('exit', (code, sig) => {
        clearInterval(poll);
        resolve({ code, signal: sig, stderr });
      });
    });
  }

  const checkpointed = (out: string) => () => existsSync(join(out, '.checkpoint', 'bpr.json'));

  it('Ctrl-C stops after the iteration with exit 130 and how to resume; kill -9 loses at most the iterations since the last checkpoint; both resume to the uninterrupted factors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cf-ckpt-cli-'));
    const cfg = (name: string) => {
      const p = join(dir, `${name}.yaml`);
      return writeFile(p, cliYaml(join(dir, name))).then(() => p);
    };
    const whole = spawnSync(process.execPath, [cli, 'train', await cfg('whole'), '--quiet', '--no-report'], { encoding: 'utf8' });
    expect(whole.status).toBe(0);
    const factors = (name: string) => readFile(join(dir, name, 'bpr', 'item_factors.npy'));

    const sigint = await cfg('sigint');
    const first = await run(['train', sigint, '--no-report'], () => checkpointed(join(dir, 'sigint'))());
    expect(first.code).toBe(130);
    expect(first.stderr).toMatch(/SIGINT: stopping after the current iteration/);
    expect(first.stderr).toMatch(/interrupted: bpr: bpr fit stopped after iteration \d+ of 300 \(checkpoint saved\)/);
    expect(first.stderr).toContain(`resume with: cf-native train ${sigint} --resume`);
    const second = spawnSync(process.execPath, [cli, 'train', sigint, '--resume', '--quiet', '--no-report'], { encoding: 'utf8' });
    expect(second.status, second.stderr).toBe(0);
    expect((await factors('sigint')).equals(await factors('whole'))).toBe(true);

    const killed = await cfg('killed');
    const k = await run(['train', killed, '--no-report'], () => checkpointed(join(dir, 'killed'))(), 'SIGKILL');
    expect(k.signal).toBe('SIGKILL');
    const again = spawnSync(process.execPath, [cli, 'train', killed, '--resume', '--quiet', '--no-report'], { encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    expect((await factors('killed')).equals(await factors('whole'))).toBe(true);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);
});
