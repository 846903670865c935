// Runs one fuzz target for a while and prints its executions and crashes (fuzz/README.md).
// Not part of CI or `npm test`.
//
//   npm run fuzz -- TARGET SECONDS [--keep-going] [-- EXTRA...]
//
//   read, split   cargo +nightly fuzz run (crates/cf-core/fuzz), libFuzzer with -timeout=5,
//                 the committed seeds and dictionary; new corpus in corpus/TARGET (ignored).
//                 --keep-going: fork mode, counting crashes instead of stopping at the first.
//   npy, config   the JS harness (fuzz/js) against a fresh `npm run build:ts`; fuzz/js's own
//                 dependencies, if it ever has any, are installed on first use.
//
// Exit code: 0 clean, 1 crashes found, 2 usage or setup failure.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUST = ['read', 'split'];
const JS = ['npy', 'config'];

function die(msg) {
  process.stderr.write(`fuzz: ${msg}\nusage: npm run fuzz -- (${[...RUST, ...JS].join('|')}) SECONDS [--keep-going] [-- EXTRA...]\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const extra = dash < 0 ? [] : argv.slice(dash + 1);
const args = dash < 0 ? argv : argv.slice(0, dash);
const [target, secondsArg] = args;
const keepGoing = args.includes('--keep-going');
if (![...RUST, ...JS].includes(target)) die(target ? `unknown target ${target}` : 'no target');
const seconds = Number(secondsArg);
if (!Number.isInteger(seconds) || seconds <= 0) die(`SECONDS must be a whole number > 0 (got ${secondsArg})`);

function sh(cmd, cmdArgs, cwd) {
  const r = spawnSync(cmd, cmdArgs, { cwd, stdio: 'inherit' });
  if (r.error || r.status !== 0) die(`${cmd} ${cmdArgs.join(' ')} failed${r.error ? `: ${r.error.message}` : ` with exit code ${r.status}`}`);
}

/** Runs a command, passing its output through, and resolves with the output and exit code. */
function tee(cmd, cmdArgs, cwd) {
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    // Only the tail is parsed; keep memory bounded on long verbose runs.
    const keep = (chunk) => {
      text = (text + chunk).slice(-1_000_000);
    };
    child.stdout.on('data', (c) => (process.stdout.write(c), keep(c)));
    child.stderr.on('data', (c) => (process.stderr.write(c), keep(c)));
    child.on('error', (err) => die(`cannot run ${cmd}: ${err.message}`));
    child.on('close', (code, signal) => resolve({ text, code: code ?? 128, signal }));
  });
}

const started = Date.now();
let executions = null;
let crashes = 0;
let code;

if (RUST.includes(target)) {
  const dir = join(root, 'crates', 'cf-core', 'fuzz');
  const probe = spawnSync('cargo', ['+nightly', 'fuzz', '--version'], { encoding: 'utf8' });
  if (probe.status !== 0) die('needs cargo-fuzz on a nightly toolchain: rustup toolchain install nightly && cargo install cargo-fuzz');
  const libfuzzer = [`-max_total_time=${seconds}`, '-timeout=5', '-dict=fuzz.dict', '-print_final_stats=1'];
  if (keepGoing) libfuzzer.push('-fork=1', '-ignore_crashes=1', '-ignore_timeouts=1', '-ignore_ooms=1');
  // No sanitizer: the data path has no unsafe code, and ASan would halve the executions.
  const r = await tee('cargo', ['+nightly', 'fuzz', 'run', '--sanitizer=none', target, `corpus/${target}`, `seeds/${target}`, '--', ...libfuzzer, ...extra], dir);
  code = r.code;
  const stat = /stat::number_of_executed_units:\s*(\d+)/.exec(r.text);
  const done = /Done (\d+) runs in/.exec(r.text);
  const forkLines = [...r.text.matchAll(/^#(\d+): cov: .* oom\/timeout\/crash: (\d+)\/(\d+)\/(\d+)/gm)];
  const lastFork = forkLines.at(-1);
  if (stat) executions = Number(stat[1]);
  else if (done) executions = Number(done[1]);
  else if (lastFork) executions = Number(lastFork[1]);
  if (lastFork) crashes = Number(lastFork[2]) + Number(lastFork[3]) + Number(lastFork[4]);
  else crashes = (r.text.match(/^SUMMARY: libFuzzer: /gm) ?? []).length || (code !== 0 ? 1 : 0);
} else {
  const dir = join(root, 'fuzz', 'js');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (Object.keys(pkg.dependencies ?? {}).length > 0 && !existsSync(join(dir, 'node_modules'))) sh('npm', ['ci', '--no-audit', '--no-fund'], dir);
  // The harness imports dist/: fuzz what the sources say now, not an old build.
  sh('npm', ['run', '--silent', 'build:ts'], root);
  const r = await tee(process.execPath, [join(dir, 'fuzz.mjs'), target, String(seconds), ...extra], root);
  code = r.code;
  const m = /FUZZ-RESULT target=\S+ seconds=\d+ executions=(\d+) crashes=(\d+)/.exec(r.text);
  if (m) [executions, crashes] = [Number(m[1]), Number(m[2])];
  else crashes = code !== 0 ? 1 : 0;
}

const secs = Math.round((Date.now() - started) / 1000);
console.log(`\nfuzz ${target}: ${secs} s, ${executions ?? '?'} executions, ${crashes} crash${crashes === 1 ? '' : 'es'}`);
process.exit(crashes > 0 || code !== 0 ? 1 : 0);
