// cf-native tune: a seeded search on validation, every trial in tuning.json as it ends (so an
// interrupted study resumes), the best refitted, tested once, saved, and best.yaml to train it again.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_RATINGS, candidates, loadConfig, loadModel, parseConfig, pickBest, runTrain, runTune, type TrialRecord } from '../src/index.js';
import { DEFAULT_TUNING, defaultSpace, defaultTrials, shouldPrune, tpeNext, type DataShape, type Observation } from '../src/tune/index.js';
import { MODEL_TYPES } from '../src/models/params.js';

const yaml = (tune: string, out = 'OUT', extra = '') => `data:
  path: ${EMBEDDED_RATINGS}
  header: true
  positive_threshold: 4
  min_user_interactions: 3
models:
  - type: als
    params: { iterations: 3, alpha: 10 }
${extra}evaluate: { k: [10, 20] }
output: ${out}
tune:
${tune}`;

const SPACE = `  space:
    als:
      factors: [8, 16]
      regularization: { min: 1, max: 100, log: true }
`;
const random = (trials: number, seed = 7) => `  strategy: random\n  trials: ${trials}\n  seed: ${seed}\n  tie_break: recall@10\n${SPACE}`;

const tmp = () => mkdtemp(join(tmpdir(), 'cf-tune-'));
const strip = (ts: TrialRecord[]) => ts.map(({ seconds: _s, ...t }) => t);

describe('the tune: block', () => {
  it('is checked against the core spec, errors naming file:line:key', () => {
    const bad = (tune: string, re: RegExp) => expect(() => parseConfig(yaml(tune), 't.yaml')).toThrow(re);
    bad('  trials: 4\n  space: { als: { factorz: [8] } }\n', /t\.yaml:13: unknown key tune\.space\.als\.factorz .*did you mean factors/);
    bad('  trials: 4\n  space: { alz: { factors: [8] } }\n', /t\.yaml:13: unknown key tune\.space\.alz .*did you mean als/);
    bad('  trials: 4\n  space:\n    als:\n      factors: [8, 0]\n', /t\.yaml:15: tune\.space\.als\.factors\[1\] must be an integer in 1\.\.=4096/);
    bad('  trials: 4\n  space:\n    als:\n      factors: { min: 0.5, max: 10 }\n', /tune\.space\.als\.factors\.min must be an integer/);
    bad('  trials: 4\n  space:\n    als:\n      solver: { min: 1, max: 2 }\n', /tune\.space\.als\.solver is a choice parameter, which has no range/);
    bad('  trials: 4\n  space:\n    als:\n      regularization: { min: 0, max: 10, log: true }\n', /regularization\.min must be above 0 for a log range/);
    bad('  trials: 4\n  space:\n    als:\n      regularization: { min: 10, max: 1 }\n', /regularization\.max must be above min/);
    bad('  trials: 4\n  space:\n    als:\n      regularization: { min: 1, max: 2e9 }\n', /regularization\.max must be a finite number >= 0 and <= 1000000000/);
    bad('  strategy: grid\n  space:\n    als:\n      regularization: { min: 1, max: 10 }\n', /t\.yaml:15: tune\.space\.als\.regularization is a range, which strategy grid cannot enumerate/);
    bad('  trials: 2\n  objective: ndcg@50\n', /tune\.objective is at K = 50, which evaluate\.k \(10, 20\) does not compute/);
    bad('  trials: 2\n  objective: ndgc@10\n', /tune\.objective must be a metric.*did you mean ndcg@10/);
    bad('  trials: 2\n  stratgy: grid\n', /unknown key tune\.stratgy \(did you mean strategy\?\)/);
    expect(() => parseConfig(yaml('  trials: 2\n', 'OUT', 'split: { strategy: leave-last-out, valid: 0, test: 1 }\n'), 't.yaml')).toThrow(/tune chooses between trials on validation/);
    const c = parseConfig(yaml(random(4)), 't.yaml');
    // leave-last-out (the default split) keeps its test part without validation: the refit takes train + valid.
    expect(c.tune).toMatchObject({ strategy: 'random', trials: 4, seconds: null, objective: 'ndcg@10', tie_break: 'recall@10', seed: 7, refit: 'train+valid' });
    expect(c.tune!.space).toEqual({ als: { factors: [8, 16], regularization: { min: 1, max: 100, log: true } } });
    // A checked config is checked again by the pipeline: it must pass unchanged.
    expect(runTrainCheck(c)).toEqual(c);
  });

  it('draws the same trials for a seed, integers where the spec says so, within the ranges', () => {
    const c = parseConfig(yaml(random(20)), 't.yaml');
    const first = [...take(candidates(c), 20)];
    expect([...take(candidates(c), 20)]).toEqual(first);
    expect([...take(candidates(parseConfig(yaml(random(20, 8)), 't.yaml')), 20)]).not.toEqual(first);
    for (const t of first) {
      expect([8, 16]).toContain(t.params.factors);
      expect(t.params.regularization).toBeGreaterThanOrEqual(1);
      expect(t.params.regularization).toBeLessThanOrEqual(100);
    }
    const ints = parseConfig(yaml('  trials: 5\n  space: { als: { factors: { min: 2, max: 40, log: true } } }\n'), 't.yaml');
    for (const t of take(candidates(ints), 30)) expect(Number.isInteger(t.params.factors)).toBe(true);
    // Lists only: a shuffled enumeration, no configuration twice, the whole grid in the end.
    const lists = parseConfig(yaml('  trials: 9\n  space: { als: { factors: [4, 8, 16], alpha: [1, 10, 40] } }\n'), 't.yaml');
    const all = [...candidates(lists)];
    expect(new Set(all.map((x) => JSON.stringify(x.params))).size).toBe(9);
    const grid = parseConfig(yaml('  strategy: grid\n  space: { als: { factors: [4, 8], alpha: [1, 10] } }\n'), 't.yaml');
    expect([...candidates(grid)].map((x) => x.params)).toEqual([{ factors: 4, alpha: 1 }, { factors: 4, alpha: 10 }, { factors: 8, alpha: 1 }, { factors: 8, alpha: 10 }]);
  });

  it('picks the best by the objective, then the tie-break, then the earlier trial', () => {
    const t = (number: number, score: number | null, tie: number | null, status: 'ok' | 'failed' = 'ok'): TrialRecord =>
      ({ number, model: 'm', type: 'als', params: {}, status, score, tie_break: tie, seconds: 0, valid: {} });
    expect(pickBest([t(0, 0.1, 0.5), t(1, 0.2, 0.1), t(2, 0.2, 0.3), t(3, 0.2, 0.3), t(4, 0.9, 1, 'failed')], true, true)!.number).toBe(2);
    expect(pickBest([t(0, 0.9, 0), t(1, 0.8, 0)], false, true)!.number).toBe(1);
    expect(pickBest([t(0, null, 0), t(1, Number.NaN, 0)], true, true)).toBeNull();
  });
});

describe('tpe', () => {
  // A synthetic objective (no fit): best at regularization 10 with factors 16.
  const objective = (p: Record<string, unknown>) => -Math.abs(Math.log10(p.regularization as number) - 1) - (p.factors === 16 ? 0 : 0.5);
  const space = '  space:\n    als:\n      factors: [8, 16, 32]\n      regularization: { min: 0.001, max: 1000, log: true }\n';
  const study = (strategy: string, n: number) => {
    const c = parseConfig(yaml(`  strategy: ${strategy}\n  trials: ${n}\n  seed: 5\n  startup_trials: 8\n${space}`), 't.yaml');
    const h: Observation[] = [];
    const gen = candidates(c);
    for (let i = 0; i < n; i++) {
      const next = strategy === 'tpe' ? tpeNext(c, h, 8)! : gen.next().value!;
      h.push({ ...next, value: objective(next.params) });
    }
    return h;
  };

  it('starts as random does, then finds better configurations than random search', () => {
    const tpe = study('tpe', 40);
    const rand = study('random', 40);
    expect(tpe.slice(0, 8)).toEqual(rand.slice(0, 8));
    const mean = (h: Observation[]) => h.slice(20).reduce((s, o) => s + o.value!, 0) / 20;
    expect(mean(tpe)).toBeGreaterThan(mean(rand) + 0.3);
    expect(Math.max(...tpe.map((o) => o.value!))).toBeGreaterThan(-0.05);
    // The same history gives the same proposal: what a resumed study relies on.
    expect(study('tpe', 40)).toEqual(tpe);
    expect(new Set(tpe.map((o) => JSON.stringify(o.params))).size).toBe(40);
  });

  it('with several models, gives each its share of the trials and runs TPE within it', () => {
    const two = `  strategy: tpe\n  trials: 48\n  seed: 5\n  space:\n    als:\n      regularization: { min: 0.001, max: 1000, log: true }\n    ease:\n      lambda: { min: 10, max: 1000, log: true }\n`;
    const c = parseConfig(yaml(two, 'OUT', '  - type: ease\n'), 't.yaml');
    const h: Observation[] = [];
    // EASE always scores above ALS: a model choice that followed the good trials would give it everything.
    for (let i = 0; i < 48; i++) {
      const next = tpeNext(c, h, 10)!;
      h.push({ ...next, value: next.model === 'ease' ? 1 : objective({ ...next.params, factors: 16 }) });
    }
    expect(h.filter((o) => o.model === 'als')).toHaveLength(DEFAULT_TUNING.als!.trials);
    expect(h.filter((o) => o.model === 'ease')).toHaveLength(DEFAULT_TUNING.ease!.trials);
    // ALS's own TPE still homes in on its optimum.
    expect(Math.max(...h.filter((o) => o.model === 'als').map((o) => o.value!))).toBeGreaterThan(-0.05);
    // A model with nothing left to try (popularity after its one fit) hands the trial to another.
    const pop = parseConfig(yaml(`  strategy: tpe\n  trials: 5\n  space: { als: { factors: [4, 8, 16] } }\n`, 'OUT', '  - type: popularity\n'), 't.yaml');
    const hp: Observation[] = [];
    for (let i = 0; i < 4; i++) {
      const next = tpeNext(pop, hp, 10)!;
      hp.push({ ...next, value: 0 });
    }
    expect(hp.map((o) => o.model).sort()).toEqual(['als', 'als', 'als', 'popularity']);
    expect(tpeNext(pop, hp, 10)).toBeNull();
  });

  it('resumes an interrupted study with the proposals an uninterrupted one made', async () => {
    const cfg = (out: string) => parseConfig(yaml(`  strategy: tpe\n  trials: 5\n  seed: 2\n  startup_trials: 2\n${SPACE}`, out), 't.yaml');
    const straight = await runTune(cfg(await tmp()), { report: false });
    const cut = await tmp();
    const ac = new AbortController();
    await expect(runTune(cfg(cut), { signal: ac.signal, report: false, onTrial: (t) => t.number === 2 && ac.abort() })).rejects.toThrow();
    const resumed = await runTune(cfg(cut), { report: false });
    expect(resumed.resumed).toBe(3);
    expect(strip(resumed.trials)).toEqual(strip(straight.trials));
  });
});

describe('pruning', () => {
  const done = (curve: [number, number][]): TrialRecord => ({ number: 0, model: 'm', type: 'bpr', params: {}, status: 'ok', score: 0, tie_break: null, seconds: 0, valid: {}, intermediate: curve });
  const o = { warmup_iterations: 2, min_trials: 2 };
  const finished = [done([[1, 0.1], [2, 0.2], [3, 0.3]]), done([[1, 0.2], [2, 0.4], [3, 0.5]])];

  it('stops a trial below the median of the finished ones at the same iteration, after the warm-up', () => {
    expect(shouldPrune([[1, 0.0]], 'higher', finished, o)).toBe(false); // warm-up
    expect(shouldPrune([[1, 0.0], [2, 0.29]], 'higher', finished, o)).toBe(true); // median at 2: 0.3
    expect(shouldPrune([[1, 0.0], [2, 0.31]], 'higher', finished, o)).toBe(false);
    expect(shouldPrune([[1, 0.0], [2, 0.01]], 'higher', finished.slice(0, 1), o)).toBe(false); // too few finished
    // Lower is better (mf's RMSE): the best so far is the smallest.
    // (medians at 2 of the finished bests: 0.1 and 0.2 -> 0.15)
    expect(shouldPrune([[1, 0.9], [2, 0.2]], 'lower', finished, o)).toBe(true);
    expect(shouldPrune([[1, 0.9], [2, 0.12]], 'lower', finished, o)).toBe(false);
  });

  it('prunes bpr trials from their per-epoch validation NDCG and records them', async () => {
    const out = await tmp();
    const text = yaml('  strategy: grid\n  pruning: { warmup_iterations: 2, min_trials: 1 }\n  space:\n    bpr:\n      learning_rate: [0.05, 0.00001]\n', out)
      .replace('  - type: als\n    params: { iterations: 3, alpha: 10 }', '  - type: bpr\n    params: { epochs: 6, factors: 8 }');
    const r = await runTune(parseConfig(text, 't.yaml'), { report: false });
    expect(r.trials.map((t) => t.status)).toEqual(['ok', 'pruned']);
    expect(r.trials[0]!.intermediate).toHaveLength(6);
    expect(r.trials[1]!.intermediate!.length).toBeLessThan(6);
    expect(r.trials[1]!.score).toBeNull();
    expect(r.best.number).toBe(0);
    expect(() => parseConfig(yaml('  trials: 2\n  pruning: { warmup: 2 }\n'), 't.yaml')).toThrow(/t\.yaml:13: unknown key tune\.pruning\.warmup \(expected one of: warmup_iterations, min_trials\)/);
  });
});

function runTrainCheck(c: ReturnType<typeof parseConfig>) {
  // checkConfig through the public path: parseConfig's output is what runTrain re-checks.
  return JSON.parse(JSON.stringify(parseConfig(JSON.stringify(c), 'again.yaml')));
}

function* take<T>(g: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  for (const x of g) {
    yield x;
    if (--n === 0) return;
  }
}

describe('cf-native tune', () => {
  it('records every trial, refits the best, tests it once and writes a best.yaml that train reproduces', async () => {
    const out = await tmp();
    const c = parseConfig(yaml(`${random(4)}  refit: train\n`, out), 't.yaml');
    const r = await runTune(c, { report: true });
    const file = JSON.parse(await readFile(join(out, 'tuning.json'), 'utf8'));
    expect(file).toMatchObject({ format: 1, strategy: 'random', seed: 7, objective: 'ndcg@10', higher_is_better: true, tie_break: 'recall@10', budget: { trials: 4, seconds: null } });
    expect(file.trials).toHaveLength(4);
    for (const [i, t] of file.trials.entries()) {
      expect(t).toMatchObject({ number: i, model: 'als', type: 'als', status: 'ok' });
      expect(Object.keys(t.params).sort()).toEqual(['factors', 'regularization']);
      expect(t.score).toBe(t.valid['ndcg@10']);
      expect(t.tie_break).toBe(t.valid['recall@10']);
      expect(t.seconds).toBeGreaterThan(0);
      expect(t.valid.test).toBeUndefined();
      // AUC decides nothing here, so trials leave it out (a second pass over the catalogue).
      expect(t.valid.auc).toBeUndefined();
    }
    const best = pickBest(file.trials, true, true)!;
    expect(file.best).toMatchObject({ number: best.number, model: 'als', params: { ...best.params, iterations: 3, alpha: 10 } });
    // The refit is the trial's fit again: the same validation figures.
    expect(file.best.valid['ndcg@10']).toBe(best.score);
    expect(file.best.test['ndcg@10']).toBeGreaterThan(0);
    // The core keeps float parameters as float32: the saved model holds the nearest float32.
    const saved = (await loadModel(join(out, 'als'))).model.params;
    expect(saved.factors).toBe(best.params.factors);
    expect(saved.regularization).toBe(Math.fround(best.params.regularization as number));
    const metrics = JSON.parse(await readFile(join(out, 'als', 'metrics.json'), 'utf8'));
    expect(metrics.test).toEqual(file.best.test);
    expect(metrics.tuning.trials).toHaveLength(4);
    expect(JSON.parse(await readFile(join(out, 'run.json'), 'utf8')).command).toBe('tune');
    expect(r.reportPath && existsSync(r.reportPath)).toBe(true);
    // The refitted best beside popularity, with bootstrap intervals, as train writes them.
    const lb = JSON.parse(await readFile(join(out, 'leaderboard.json'), 'utf8'));
    expect(lb.models.map((m: { name: string }) => m.name).sort()).toEqual(['als', 'popularity']);
    const cell = lb.models.find((m: { name: string }) => m.name === 'als').metrics['ndcg@10'];
    expect(cell.value).toBe(file.best.test['ndcg@10']);
    expect(cell.ci[0]).toBeLessThanOrEqual(cell.value);
    expect(cell.ci[1]).toBeGreaterThanOrEqual(cell.value);

    const again = loadConfig(r.bestConfigPath);
    expect(again.tune).toBeUndefined();
    expect(again.output).toBe(`${out}-best`);
    const trained = await runTrain(again, { report: false });
    expect(trained.models[0]!.valid).toEqual(file.best.valid);
    expect(trained.models[0]!.test).toEqual(file.best.test);
  });

  it('computes AUC in trials when it is the objective', async () => {
    const out = await tmp();
    const r = await runTune(parseConfig(yaml(`${random(2)}  objective: auc\n`, out), 't.yaml'), { report: false });
    for (const t of r.trials) {
      expect(t.valid!.auc).toBeGreaterThan(0.5);
      expect(t.score).toBe(t.valid!.auc);
    }
  });

  it('refits on train + valid when asked, and best.yaml reproduces that with a split without validation', async () => {
    const out = await tmp();
    const r = await runTune(parseConfig(yaml(`${random(3)}  refit: train+valid\n`, out), 't.yaml'), { report: false });
    expect(r.best.valid).toBeNull();
    expect(r.best.test!['ndcg@10']).toBeGreaterThan(0);
    const again = loadConfig(r.bestConfigPath);
    expect(again.split).toMatchObject({ strategy: 'leave-last-out', valid: 0, test: 1 });
    const trained = await runTrain(again, { report: false });
    expect(trained.models[0]!.test).toEqual(r.best.test);
    expect(() => parseConfig(yaml(`${random(3)}  refit: train+valid\n`, out, 'split: { strategy: random, valid: 0.1, test: 0.1 }\n'), 't.yaml')).toThrow(
      /tune\.refit train\+valid needs split strategy leave-last-out, time, random with test 0, or pre-split files/,
    );
    // A random split with its test part drawn: the refit on train + valid stays the default only where it is reproducible.
    expect(parseConfig(yaml(random(3), out, 'split: { strategy: random, valid: 0.1, test: 0.1 }\n'), 't.yaml').tune!.refit).toBe('train');
  });

  it('resumes an interrupted study and ends with the trials an uninterrupted one runs', async () => {
    const whole = await tmp();
    const straight = await runTune(parseConfig(yaml(random(4), whole), 't.yaml'), { report: false });

    // Interrupted after its second trial (an abort, as Ctrl-C does), then run again.
    const cut = await tmp();
    const c = parseConfig(yaml(random(4), cut), 't.yaml');
    const ac = new AbortController();
    await expect(runTune(c, { signal: ac.signal, report: false, onTrial: (t) => t.number === 1 && ac.abort() })).rejects.toThrow();
    expect(JSON.parse(await readFile(join(cut, 'tuning.json'), 'utf8')).trials).toHaveLength(2);
    const resumed = await runTune(c, { report: false });
    expect(resumed.resumed).toBe(2);
    expect(strip(resumed.trials)).toEqual(strip(straight.trials));
    expect(resumed.best.params).toEqual(straight.best.params);
    expect(resumed.best.test).toEqual(straight.best.test);

    // A budget of 2, then of 4: the budget is not part of the study, so the second run continues it.
    const grown = await tmp();
    const two = await runTune(parseConfig(yaml(random(2), grown), 't.yaml'), { report: false });
    expect(two.trials).toHaveLength(2);
    const four = await runTune(parseConfig(yaml(random(4), grown), 't.yaml'), { report: false });
    expect(four.resumed).toBe(2);
    expect(strip(four.trials)).toEqual(strip(straight.trials));

    // Another seed is another study: refused rather than mixed in, unless started over.
    await expect(runTune(parseConfig(yaml(random(4, 8), grown), 't.yaml'), { report: false })).rejects.toMatchObject({ code: 'ERR_CF_CONFIG', message: expect.stringMatching(/records another study/) });
    const fresh = await runTune(parseConfig(yaml(random(2, 8), grown), 't.yaml'), { report: false, fresh: true });
    expect(fresh.resumed).toBe(0);
  });

  it('stops at a budget in seconds, and runs from the command line', async () => {
    const out = await tmp();
    // A tiny time budget: the first trial always runs, then the spent seconds end the study.
    const r = await runTune(parseConfig(yaml(`  seconds: 0.000001\n  seed: 3\n${SPACE}`, out), 't.yaml'), { report: false });
    expect(r.trials).toHaveLength(1);

    const dir = await tmp();
    const config = join(dir, 'tune.yaml');
    await writeFile(config, yaml(`  strategy: grid\n  space: { als: { factors: [4, 8] } }\n`, join(dir, 'out')));
    const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
    const ok = spawnSync(process.execPath, [cli, 'tune', config, '--quiet', '--no-report'], { encoding: 'utf8' });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/best of 2 trials \(0 failed, 0 resumed\)/);
    expect(existsSync(join(dir, 'out', 'best.yaml'))).toBe(true);
    await writeFile(config, yaml(`  strategy: grid\n  space: { als: { factors: [4, 0] } }\n`, join(dir, 'out')));
    const bad = spawnSync(process.execPath, [cli, 'tune', config], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/tune\.yaml:\d+: tune\.space\.als\.factors\[1\] must be/);
  });
});

describe('built-in spaces and budget', () => {
  const shapes: DataShape[] = [
    { users: 942, items: 1447, interactions: 44289 },
    { users: 30, items: 12, interactions: 100 },
    { users: 1892, items: 17632, interactions: 74000 },
  ];

  it('gives every model type with something to search a space within the core bounds, capped by the data', () => {
    for (const shape of shapes) {
      for (const type of MODEL_TYPES) {
        const space = defaultSpace(type, shape);
        if (type === 'popularity' || type === 'hybrid') {
          expect(space).toBeNull();
          continue;
        }
        expect(space).not.toBeNull();
        // Written out as a config's space, it passes the same checks.
        const text = `data: { path: x.csv }\nmodels:\n  - type: ${type}\ntune:\n  space:\n    ${type}: ${JSON.stringify(space)}\n`;
        expect(parseConfig(text, 't.yaml').tune!.space[type]).toEqual(space);
        const f = space!.factors;
        if (f && !Array.isArray(f)) expect(f.max).toBeLessThanOrEqual(Math.max(2, Math.min(shape.users, shape.items) / 2));
      }
    }
    // EASE's lambda follows the mean count per item.
    const dense = defaultSpace('ease', shapes[0]!)!.lambda as { min: number; max: number };
    const sparse = defaultSpace('ease', shapes[2]!)!.lambda as { min: number; max: number };
    expect(dense.min).toBeGreaterThan(sparse.min * 5);
  });

  it('a tune: block without strategy or budget is TPE with each model type’s share of trials', () => {
    const c = parseConfig(yaml(''), 't.yaml');
    expect(c.tune).toMatchObject({ strategy: 'tpe', trials: defaultTrials(['als']), seconds: null, space: {} });
    const two = parseConfig(yaml('', 'OUT', '  - type: ease\n'), 't.yaml');
    expect(two.tune!.trials).toBe(DEFAULT_TUNING.als!.trials + DEFAULT_TUNING.ease!.trials);
    // A budget in seconds alone stays the only budget.
    expect(parseConfig(yaml('  seconds: 5\n'), 't.yaml').tune).toMatchObject({ trials: null, seconds: 5 });
  });

  it('a config with no tune: block searches the built-in space, recorded in tuning.json', async () => {
    const out = await tmp();
    const text = yaml('', out).replace(/tune:\n$/, '');
    const config = parseConfig(text, 't.yaml');
    expect(config.tune).toBeUndefined();
    // Two trials are enough to see what was searched: stop there as Ctrl-C would.
    const ac = new AbortController();
    await expect(runTune(config, { signal: ac.signal, report: false, onTrial: (t) => t.number === 1 && ac.abort() })).rejects.toThrow();
    const file = JSON.parse(await readFile(join(out, 'tuning.json'), 'utf8'));
    expect(file).toMatchObject({ strategy: 'tpe', budget: { trials: defaultTrials(['als']), seconds: null }, default_space: ['als'] });
    expect(Object.keys(file.space.als).sort()).toEqual(['alpha', 'factors', 'regularization']);
    expect(file.trials).toHaveLength(2);
    for (const t of file.trials) {
      expect(t.status).toBe('ok');
      expect(t.params.alpha).toBeGreaterThanOrEqual(file.space.als.alpha.min);
      expect(t.params.alpha).toBeLessThanOrEqual(file.space.als.alpha.max);
    }
    // A space given for the model is searched instead, and not marked as built-in.
    const own = await tmp();
    const r = await runTune(parseConfig(yaml(`  trials: 1\n${SPACE}`, own), 't.yaml'), { report: false });
    expect(r.trials).toHaveLength(1);
    const f2 = JSON.parse(await readFile(join(own, 'tuning.json'), 'utf8'));
    expect(f2.default_space).toEqual([]);
    expect(f2.space.als).toEqual({ factors: [8, 16], regularization: { min: 1, max: 100, log: true } });
  });

  it('refits on train + valid for a random split without test, and best.yaml reproduces it', async () => {
    const out = await tmp();
    const r = await runTune(parseConfig(yaml(`${random(2)}`, out, 'split: { strategy: random, valid: 0.2, test: 0 }\n'), 't.yaml'), { report: false });
    const again = loadConfig(r.bestConfigPath);
    expect(again.split).toMatchObject({ strategy: 'random', valid: 0, test: 0 });
    const saved = await loadModel(join(out, 'als'));
    const trained = await runTrain(again, { report: false });
    const retrained = await loadModel(join(`${out}-best`, 'als'));
    expect(retrained.train.nnz).toBe(saved.train.nnz);
    expect(Array.from(retrained.model.recommend(0, { k: 5 }).ids)).toEqual(Array.from(saved.model.recommend(0, { k: 5 }).ids));
    expect(trained.models).toHaveLength(1);
  });
});
