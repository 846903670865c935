// The fuzz loop, run in a worker thread so the main thread can stop it on a hang (a
// synchronous loop cannot be interrupted from inside) or survive it running out of memory.
//
// Coverage guided: after every execution V8's precise block coverage (node:inspector) of
// the target's own scripts is read and reset; an input that reaches a new (block, hit-count
// bucket) feature joins the corpus. (Binary coverage, without counts, is cheaper to read but
// V8 then reports little beyond newly reached functions, which starves the search.) The input
// being run is mirrored into shared memory first, so the main thread knows which one hung or
// killed the worker.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { mutator, rng } from './mutate.mjs';

const { target, until, seed, seedDirs, corpusDir, shared, maxLen, skip } = workerData;
const state = new Int32Array(shared, 0, 4); // [executions, running, input length, -]
const current = new Uint8Array(shared, 16, maxLen);

const t = await import(`./targets/${target}.mjs`);
const run = await t.load();

const session = new Session();
session.connect();
function post(method, params) {
  let out;
  let error;
  session.post(method, params, (err, res) => {
    error = err;
    out = res;
  });
  if (error) throw error;
  return out;
}
post('Profiler.enable');
post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });

const seen = new Set();
/** The number of coverage features not seen before (reading the counters resets them). */
function newFeatures() {
  let fresh = 0;
  for (const script of post('Profiler.takePreciseCoverage').result) {
    if (!t.covers(script.url)) continue;
    for (const fn of script.functions) {
      for (const range of fn.ranges) {
        if (range.count === 0) continue;
        const bucket = Math.min(31 - Math.clz32(range.count), 7);
        const key = `${script.url}#${range.startOffset}:${range.endOffset}:${bucket}`;
        if (!seen.has(key)) {
          seen.add(key);
          fresh++;
        }
      }
    }
  }
  return fresh;
}

// A warning the target emits reaches a person as stray stderr output next to its error (the
// CLI promises one line): a bug. Node delivers 'warning' events a tick later, after the loop
// has moved on, so the emitter itself is wrapped to catch them while the input is running.
let warning = null;
process.emitWarning = (w) => {
  warning ??= w instanceof Error ? w : new Error(String(w));
};

let execs = Atomics.load(state, 0);
/** Runs one input; returns the number of new coverage features. Bugs are reported, not thrown. */
function execute(input) {
  const len = Math.min(input.length, maxLen);
  current.set(input.subarray(0, len));
  Atomics.store(state, 2, len);
  Atomics.store(state, 1, 1);
  warning = null;
  try {
    run(input);
  } catch (err) {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : `thrown ${typeof err}: ${String(err)}`;
    parentPort.postMessage({ type: 'crash', kind: 'exception', message, stack: err instanceof Error ? (err.stack ?? '') : '', input });
  }
  if (warning) parentPort.postMessage({ type: 'crash', kind: 'warning', message: `process warning: ${warning.message}`, stack: warning.stack ?? '', input });
  Atomics.store(state, 1, 0);
  Atomics.store(state, 0, ++execs);
  return newFeatures();
}

const corpus = [];
const hashes = new Set();
const hashOf = (b) => createHash('sha1').update(b).digest('hex');
function keep(input, save) {
  const h = hashOf(input);
  if (hashes.has(h)) return;
  hashes.add(h);
  corpus.push(input);
  if (save) writeFileSync(join(corpusDir, h), input);
}

mkdirSync(corpusDir, { recursive: true });
let loaded = 0;
for (const dir of [...seedDirs, corpusDir]) {
  let names = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    continue;
  }
  for (const name of names) {
    const input = readFileSync(join(dir, name));
    // An input that hung or killed an earlier worker would only do it again.
    if (skip.includes(hashOf(input))) continue;
    loaded++;
    // Seeds always stay, so splicing has the whole committed corpus to draw on.
    if (execute(input) > 0 || dir !== corpusDir) keep(input, false);
  }
}
if (corpus.length === 0) keep(Buffer.alloc(0), false);
parentPort.postMessage({ type: 'loaded', loaded, corpus: corpus.length, features: seen.size });

const r = rng(seed);
const mutate = mutator(r, t.dictionary, maxLen);
let lastReport = Date.now();
let added = 0;
while (Date.now() < until) {
  // Newer entries (found later, usually deeper) a little more often than old ones.
  const i = r.chance(0.3) ? corpus.length - 1 - r.below(Math.min(corpus.length, 16)) : r.below(corpus.length);
  const input = mutate(corpus[i], corpus[r.below(corpus.length)]);
  if (execute(input) > 0) {
    keep(input, true);
    added++;
  }
  if (Date.now() - lastReport > 1000) {
    lastReport = Date.now();
    parentPort.postMessage({ type: 'stats', corpus: corpus.length, added, features: seen.size });
  }
}
parentPort.postMessage({ type: 'stats', corpus: corpus.length, added, features: seen.size });
parentPort.postMessage({ type: 'done' });
