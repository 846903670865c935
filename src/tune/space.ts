// The sequence of trials a study runs: a pure function of the config (and its seed), so a
// resumed study regenerates it from the start and picks up at the first trial not recorded,
// and two runs with one seed try the same configurations in the same order.
import type { Config, ModelConfig, TuneDimension } from '../config/index.js';
import { MAX_TUNE_GRID } from '../config/validate.js';
import { specOf, type ParamValue } from '../models/params.js';

/** One trial's configuration: a model of the config and the values it tries (only the searched keys). */
export interface Candidate {
  model: string;
  params: Record<string, ParamValue>;
}

/**
 * mulberry32: a 32-bit seeded generator, plenty for choosing a few hundred configurations
 * (it never runs per interaction) and identical on every platform, unlike Math.random.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What each model of the config searches: its own lists (models[].params) overlaid by tune.space. */
export function modelDimensions(config: Config): { mc: ModelConfig; dims: Record<string, TuneDimension> }[] {
  return config.models.map((mc) => ({ mc, dims: { ...(mc.grid ?? {}), ...(config.tune?.space[mc.name] ?? {}) } }));
}

function combinations(dims: Record<string, ParamValue[]>): Record<string, ParamValue>[] {
  let out: Record<string, ParamValue>[] = [{}];
  for (const [k, values] of Object.entries(dims)) out = out.flatMap((o) => values.map((v) => ({ ...o, [k]: v })));
  return out;
}

/** One draw from a range: uniform (or log-uniform), integers for an int parameter of the spec. */
function drawRange(d: { min: number; max: number; log: boolean }, integer: boolean, u: number): number {
  // An integer range [min, max] is drawn over [min, max + 1) and floored, so max is as likely as min.
  const hi = integer ? d.max + 1 : d.max;
  const x = d.log ? Math.exp(Math.log(d.min) + u * (Math.log(hi) - Math.log(d.min))) : d.min + u * (hi - d.min);
  if (integer) return Math.min(d.max, Math.max(d.min, Math.floor(x)));
  // Six significant digits: the value is written to tuning.json and best.yaml, where
  // 0.0123457 reads better than 0.012345678912 and is as good a sample.
  return Math.min(d.max, Math.max(d.min, Number(x.toPrecision(6))));
}

// Consecutive repeats of already tried configurations after which a random study's space counts as spent.
const MAX_REPEATS = 1000;

/**
 * Every trial of the study, in order. grid: each model's combinations in config order (the
 * first key varying slowest). random: a space of lists only is enumerated and shuffled (no
 * configuration twice); with ranges, a model is drawn uniformly, then each key, and a draw
 * already tried is drawn again.
 */
export function* candidates(config: Config): Generator<Candidate> {
  const tune = config.tune!;
  const models = modelDimensions(config);
  const discrete = models.every(({ dims }) => Object.values(dims).every(Array.isArray));
  const enumerate = (): Candidate[] =>
    models.flatMap(({ mc, dims }) => combinations(dims as Record<string, ParamValue[]>).map((params) => ({ model: mc.name, params })));
  if (tune.strategy === 'grid') {
    yield* enumerate();
    return;
  }
  const rng = mulberry32(tune.seed);
  const total = models.reduce((n, { dims }) => n + Object.values(dims).reduce((m, d) => m * (Array.isArray(d) ? d.length : Infinity), 1), 0);
  if (discrete && total <= MAX_TUNE_GRID) {
    const all = enumerate();
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    yield* all;
    return;
  }
  const seen = new Set<string>();
  let repeats = 0;
  while (repeats < MAX_REPEATS) {
    const { mc, dims } = models[Math.floor(rng() * models.length)]!;
    const spec = specOf(mc.type)!;
    const params: Record<string, ParamValue> = {};
    for (const [key, d] of Object.entries(dims)) {
      const u = rng();
      if (Array.isArray(d)) params[key] = d[Math.min(d.length - 1, Math.floor(u * d.length))]!;
      else params[key] = drawRange(d, spec.params.find((p) => p.name === key)?.kind === 'int', u);
    }
    const id = JSON.stringify([mc.name, params]);
    if (seen.has(id)) {
      repeats++;
      continue;
    }
    seen.add(id);
    repeats = 0;
    yield { model: mc.name, params };
  }
}
