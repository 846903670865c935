#!/usr/bin/env node
// A small coverage-guided mutation fuzzer for the TypeScript parsers (see fuzz/README.md).
//
//   node fuzz/js/fuzz.mjs TARGET SECONDS [--seed N] [--hang-ms 1000]
//   node fuzz/js/fuzz.mjs TARGET --replay FILE...
//
// TARGET is a module in targets/ (npy, config). It runs against the built dist/ (npm run
// build:ts). A target's function throws only for a bug: anything but a CfError, or a result
// that breaks its invariants. Every such input, a hang over --hang-ms, and an input that
// kills the worker (out of memory, a crash) is saved under artifacts/TARGET/ and counted.
// New coverage goes to corpus/TARGET/ (not committed); seeds/TARGET/ is the committed corpus.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const TARGETS = ['npy', 'config'];

function usage(msg) {
  if (msg) process.stderr.write(`fuzz: ${msg}\n`);
  process.stderr.write(`usage: node fuzz/js/fuzz.mjs (${TARGETS.join('|')}) SECONDS [--seed N] [--hang-ms MS]\n       node fuzz/js/fuzz.mjs TARGET --replay FILE...\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
const target = args[0];
if (!TARGETS.includes(target)) usage(target ? `unknown target ${target}` : 'no target');
if (!existsSync(join(root, 'dist', 'index.js'))) usage('dist/ is missing: run `npm run build:ts` first');
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
};

if (args[1] === '--replay') {
  // Each input once, in this thread: what a bug report or a regression check needs.
  const t = await import(`./targets/${target}.mjs`);
  const run = await t.load();
  let bugs = 0;
  for (const file of args.slice(2)) {
    try {
      run(readFileSync(file));
      console.log(`ok    ${file}`);
    } catch (err) {
      bugs++;
      console.log(`BUG   ${file}\n${err instanceof Error ? err.stack : String(err)}`);
    }
  }
  process.exit(bugs > 0 ? 1 : 0);
}

const seconds = Number(args[1]);
if (!(seconds > 0)) usage('SECONDS must be a positive number');
const seed = flag('--seed', Date.now() % 2 ** 31) >>> 0;
const hangMs = flag('--hang-ms', 1000);
const { maxLen } = await import(`./targets/${target}.mjs`);

const artifacts = join(here, 'artifacts', target);
const corpusDir = join(here, 'corpus', target);
const seedDirs = [join(here, 'seeds', target)];
const shared = new SharedArrayBuffer(16 + maxLen);
const state = new Int32Array(shared, 0, 4);
const current = new Uint8Array(shared, 16, maxLen);
const start = Date.now();
const until = start + seconds * 1000;

const crashes = new Map(); // signature -> { count, file, message }
const killers = new Set(); // hashes of inputs that hung or killed a worker: the next one skips them
let crashInputs = 0;
let added = 0; // corpus entries found by finished workers
let last = { corpus: 0, added: 0, features: 0 };
let restarts = 0;

function record(kind, message, stack, input) {
  crashInputs++;
  // One signature per place: the message without numbers, and the first frame in our code.
  const frame = stack.split('\n').find((l) => l.includes('/dist/') || l.includes('/fuzz/js/targets/')) ?? '';
  // Quoted text and numbers are the input's, not the bug's.
  const gist = message.replace(/"(?:[^"\\]|\\.)*"|'[^']*'|\([^)]*\)/g, 'S').replace(/\d+/g, 'N').slice(0, 120);
  const signature = `${kind}|${gist}|${frame.trim().replace(/:\d+:\d+\)?$/, '')}`;
  const hash = createHash('sha1').update(input).digest('hex');
  if (kind !== 'exception' && kind !== 'warning') killers.add(hash);
  const seenBefore = crashes.get(signature);
  // A few inputs per bug are plenty to reproduce and minimize it.
  if (seenBefore && seenBefore.count >= 10) {
    seenBefore.count++;
    return;
  }
  mkdirSync(artifacts, { recursive: true });
  const file = join(artifacts, `${kind}-${hash}`);
  writeFileSync(file, input);
  writeFileSync(`${file}.txt`, `${kind}: ${message}\n${stack}\n`);
  if (seenBefore) {
    seenBefore.count++;
    return;
  }
  crashes.set(signature, { count: 1, file, message });
  console.log(`\n== ${kind}: ${message}\n   input: ${relative(root, file)}\n${stack.split('\n').slice(0, 6).map((l) => `   ${l}`).join('\n')}`);
}

function spawn() {
  return new Promise((resolve) => {
    const worker = new Worker(join(here, 'worker.mjs'), {
      workerData: { target, until, seed: (seed + restarts * 7919) >>> 0, seedDirs, corpusDir, shared, maxLen, skip: [...killers] },
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    });
    let finished = false;
    let killedFor = null;
    let lastExecs = Atomics.load(state, 0);
    let lastChange = Date.now();
    const watchdog = setInterval(() => {
      const n = Atomics.load(state, 0);
      if (n !== lastExecs || Atomics.load(state, 1) === 0) {
        lastExecs = n;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > hangMs && killedFor === null) {
        killedFor = 'hang';
        worker.terminate();
      }
    }, Math.min(100, hangMs / 4));
    const inputNow = () => Buffer.from(current.subarray(0, Atomics.load(state, 2)));
    worker.on('message', (m) => {
      if (m.type === 'crash') record(m.kind, m.message, m.stack, Buffer.from(m.input));
      else if (m.type === 'stats') last = m;
      else if (m.type === 'loaded' && restarts === 0) console.log(`loaded ${m.loaded} inputs: corpus ${m.corpus}, ${m.features} coverage features`);
      else if (m.type === 'done') finished = true;
    });
    worker.on('error', (err) => {
      if (Atomics.load(state, 1) === 0) {
        // Outside the target: the harness itself is broken, and restarting would not help.
        process.stderr.write(`fuzz: the worker failed outside the target: ${err.stack ?? err}\n`);
        process.exit(2);
      }
      if (killedFor === null) killedFor = 'worker-error';
      record(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'worker-error', err.message, err.stack ?? '', inputNow());
    });
    worker.on('exit', (code) => {
      clearInterval(watchdog);
      if (killedFor === 'hang') record('hang', `no result after ${hangMs} ms`, '', inputNow());
      else if (!finished && killedFor === null) record('worker-exit', `the worker exited with code ${code}`, '', inputNow());
      Atomics.store(state, 1, 0);
      added += last.added;
      last = { ...last, added: 0 };
      resolve(finished);
    });
  });
}

console.log(`fuzz ${target}: ${seconds} s, seed ${seed}, hang limit ${hangMs} ms, max input ${maxLen} bytes`);
const ticker = setInterval(() => {
  const s = (Date.now() - start) / 1000;
  const n = Atomics.load(state, 0);
  console.log(`#${n}  ${Math.round(s)} s  ${Math.round(n / s)} exec/s  corpus ${last.corpus} (+${added + last.added})  features ${last.features}  crashes ${crashInputs}`);
}, 10_000);
while (!(await spawn()) && Date.now() < until) {
  restarts++;
  if (restarts > 100) {
    console.log('fuzz: over 100 worker restarts, stopping');
    break;
  }
}
clearInterval(ticker);

const secs = Math.round((Date.now() - start) / 1000);
const execs = Atomics.load(state, 0);
console.log(`\n${target}: ${secs} s, ${execs} executions (${Math.round(execs / secs)}/s), corpus ${last.corpus} (+${added} new), seed ${seed}`);
console.log(`crashes: ${crashInputs} inputs, ${crashes.size} distinct`);
for (const { count, file, message } of crashes.values()) console.log(`  ${count} x ${message.split('\n')[0].slice(0, 160)}  (${relative(root, file)})`);
console.log(`FUZZ-RESULT target=${target} seconds=${secs} executions=${execs} crashes=${crashInputs} distinct=${crashes.size}`);
process.exit(crashes.size > 0 ? 1 : 0);
