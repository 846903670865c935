// Tree-structured Parzen estimator (Bergstra et al. 2011), the sampler Optuna and Hyperopt
// default to. Written here in TypeScript rather than in the core: it runs once per trial over at
// most a few hundred recorded trials (microseconds beside a native fit), it needs the study's
// records and space, which live here, and it changes no per-interaction loop.
//
// After `startup` random trials, the ok trials are split into the best `gamma` fraction (good)
// and the rest (bad); per parameter, a Parzen density of each group (a categorical with a
// prior count of 1 for lists; Gaussians on the values, in log space for log ranges, plus a
// uniform prior, for ranges); `CANDIDATES` draws from the good density, and the one with the
// largest good/bad likelihood ratio is the next trial. The model itself is one more categorical
// parameter. Every draw comes from a generator seeded by the study's seed and the trial number,
// so the sequence depends only on the recorded trials: a resumed study proposes what the
// uninterrupted one did.
import type { Config, TuneDimension } from '../config/index.js';
import { specOf, type ParamValue } from '../models/params.js';
import { candidates, modelDimensions, mulberry32, type Candidate } from './space.js';
import { DEFAULT_TUNING } from './defaults.js';

/** What TPE reads of a recorded trial. */
export interface Observation {
  model: string;
  params: Record<string, ParamValue>;
  /** Higher is better (an objective where lower is better is negated); null for a failed trial. */
  value: number | null;
}

const CANDIDATES = 24;
const GAMMA = 0.25;

type Range = { min: number; max: number; log: boolean };

function gaussian(rng: () => number): number {
  // Box-Muller; 1 - u keeps the log finite.
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A Parzen density over one range, in the space the range is searched in (log or linear). */
class Parzen {
  private readonly lo: number;
  private readonly hi: number;
  private readonly mus: number[];
  private readonly sigmas: number[];

  constructor(d: Range, integer: boolean, values: number[]) {
    const t = (x: number) => (d.log ? Math.log(x) : x);
    this.lo = t(d.min);
    this.hi = t(integer ? d.max + 1 : d.max);
    this.mus = values.map(t).sort((a, b) => a - b);
    const width = this.hi - this.lo;
    // Each kernel as wide as the gap to its farther neighbour (the range's ends count as
    // neighbours), at most the range: Hyperopt's rule. At least range / (1 + n) (Optuna's
    // "magic clip"; 1 % from 99 points on): with a 1 % floor for every n, a few close good
    // trials shrank their kernels to slivers and the study spent its budget repeating one
    // corner (ALS on ml-latest-small: 25 trials within 10 % of one point, 3 % below the ridge
    // a random study found).
    const floor = width / Math.min(100, 1 + this.mus.length);
    this.sigmas = this.mus.map((m, i) => {
      const left = i > 0 ? m - this.mus[i - 1]! : m - this.lo;
      const right = i < this.mus.length - 1 ? this.mus[i + 1]! - m : this.hi - m;
      return Math.min(width, Math.max(floor, left, right));
    });
  }

  /** A draw in the searched space (uniform prior with weight 1 / (n + 1)). */
  sample(rng: () => number): number {
    const n = this.mus.length;
    const pick = Math.floor(rng() * (n + 1));
    if (pick === n) return this.lo + rng() * (this.hi - this.lo);
    for (let tries = 0; tries < 100; tries++) {
      const x = this.mus[pick]! + this.sigmas[pick]! * gaussian(rng);
      if (x >= this.lo && x < this.hi) return x;
    }
    return this.mus[pick]!;
  }

  logDensity(x: number): number {
    const n = this.mus.length;
    let p = 1 / (this.hi - this.lo);
    for (let i = 0; i < n; i++) {
      const z = (x - this.mus[i]!) / this.sigmas[i]!;
      p += Math.exp(-0.5 * z * z) / (this.sigmas[i]! * Math.sqrt(2 * Math.PI));
    }
    return Math.log(p / (n + 1));
  }
}

/** Categorical with a prior count of 1 per choice. */
function categorical<T>(choices: T[], seen: T[]): { sample: (rng: () => number) => T; logP: (x: T) => number } {
  const key = (x: T) => JSON.stringify(x);
  const w = choices.map((c) => 1 + seen.filter((s) => key(s) === key(c)).length);
  const total = w.reduce((a, b) => a + b, 0);
  return {
    sample(rng) {
      let u = rng() * total;
      for (let i = 0; i < choices.length; i++) if ((u -= w[i]!) < 0) return choices[i]!;
      return choices[choices.length - 1]!;
    },
    logP: (x) => Math.log((w[choices.findIndex((c) => key(c) === key(x))] ?? 1) / total),
  };
}

function fromSearched(d: Range, integer: boolean, x: number): number {
  const v = d.log ? Math.exp(x) : x;
  if (integer) return Math.min(d.max, Math.max(d.min, Math.floor(v)));
  return Math.min(d.max, Math.max(d.min, Number(v.toPrecision(6))));
}

/**
 * The next trial of a TPE study with `history` recorded (in order). The first `startup` trials
 * are the random strategy's; null when the space has no untried configuration left.
 */
export function tpeNext(config: Config, history: Observation[], startup: number): Candidate | null {
  const tune = config.tune!;
  const tried = new Set(history.map((h) => JSON.stringify([h.model, h.params])));
  const models = modelDimensions(config);
  // Several models: each trial goes to the model furthest below its share of the trials (its
  // type's share of the built-in budget, src/tune/defaults.ts), and TPE runs within that model.
  // Letting TPE pick the model too gave the budget away to whichever led early (ml-100k,
  // als + ease: 42 EASE trials to 6 ALS).
  const only = models.length > 1 ? quotaModel(models.map((m) => ({ name: m.mc.name, type: m.mc.type })), history) : null;
  const mine = only === null ? history : history.filter((h) => h.model === only);
  const ok = mine.filter((h): h is Observation & { value: number } => h.value !== null && Number.isFinite(h.value));
  if (mine.length < startup || ok.length < 2) {
    return untried(config, tried, only);
  }
  const rng = mulberry32((tune.seed + Math.imul(history.length, 0x9e3779b9)) >>> 0);
  const sorted = [...ok].sort((a, b) => b.value - a.value);
  const nGood = Math.max(1, Math.ceil(GAMMA * sorted.length));
  const good = sorted.slice(0, nGood);
  const bad = sorted.slice(nGood);
  const names = models.map((m) => m.mc.name);
  const modelL = categorical(names, good.map((g) => g.model));
  const modelG = categorical(names, bad.map((g) => g.model));

  let best: { c: Candidate; score: number } | null = null;
  for (let i = 0; i < CANDIDATES; i++) {
    const model = only ?? modelL.sample(rng);
    let score = only === null ? modelL.logP(model) - modelG.logP(model) : 0;
    const { mc, dims } = models.find((m) => m.mc.name === model)!;
    const spec = specOf(mc.type)!;
    const params: Record<string, ParamValue> = {};
    for (const [key, d] of Object.entries(dims) as [string, TuneDimension][]) {
      const of = (group: Observation[]) => group.filter((o) => o.model === model && key in o.params).map((o) => o.params[key]!);
      if (Array.isArray(d)) {
        const l = categorical(d, of(good));
        const g = categorical(d, of(bad));
        const x = l.sample(rng);
        params[key] = x;
        score += l.logP(x) - g.logP(x);
      } else {
        const integer = spec.params.find((p) => p.name === key)?.kind === 'int';
        const l = new Parzen(d, integer, of(good) as number[]);
        const g = new Parzen(d, integer, of(bad) as number[]);
        const x = l.sample(rng);
        params[key] = fromSearched(d, integer, x);
        score += l.logDensity(x) - g.logDensity(x);
      }
    }
    const c = { model, params };
    if (tried.has(JSON.stringify([model, params]))) continue;
    if (!best || score > best.score) best = { c, score };
  }
  if (best) return best.c;
  // Every candidate was tried already: fall back to an untried random configuration.
  return untried(config, tried, only);
}

// Draws of the random sequence looked at for one model before any model's will do (a model
// with nothing left to try, e.g. popularity after its one fit, must not stall the study).
const MAX_SCAN = 10_000;

/** The random strategy's sequence, skipping what was tried (a resumed startup draws the same): of `only` if it has an untried one, else of any model. */
function untried(config: Config, tried: Set<string>, only: string | null): Candidate | null {
  const random = () => candidates({ ...config, tune: { ...config.tune!, strategy: 'random' } });
  if (only !== null) {
    let n = 0;
    for (const c of random()) {
      if (c.model === only && !tried.has(JSON.stringify([c.model, c.params]))) return c;
      if (++n >= MAX_SCAN) break;
    }
  }
  for (const c of random()) if (!tried.has(JSON.stringify([c.model, c.params]))) return c;
  return null;
}

/** The model whose trials so far are the smallest fraction of its share (ties: the first in the config). */
function quotaModel(models: { name: string; type: string }[], history: Observation[]): string {
  let best = models[0]!;
  let least = Infinity;
  for (const m of models) {
    const share = DEFAULT_TUNING[m.type]?.trials ?? 10;
    const used = history.filter((h) => h.model === m.name).length / share;
    if (used < least) {
      least = used;
      best = m;
    }
  }
  return best.name;
}
