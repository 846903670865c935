// V8's garbage collector for `cf-native serve` on one core. V8 marks and sweeps on helper
// threads; when the server may use a single CPU (taskset, a one-CPU container) they share it
// with the JS thread, and during a major GC the JS thread keeps about half of the core for
// ~0.2 s, so a server near its load queues requests for that long (p99 at 2,000 req/s on one
// pinned core: 41-74 ms, against 5.5-14 ms with `--single-threaded-gc`; bench/RESULTS-serve.md).
// The flag only works on node's command line (set in-process V8 aborts; NODE_OPTIONS refuses
// it), so `serve` relaunches itself with it.
import { spawn } from 'node:child_process';
import { availableParallelism, constants } from 'node:os';

export const GC_FLAG = '--single-threaded-gc';
/** `CF_NATIVE_SERVE_GC`: auto (the default: single-threaded on one CPU), single, or default. */
export const GC_MODES = ['auto', 'single', 'default'] as const;

/**
 * Whether this process should be relaunched with GC_FLAG; a string is a usage error (an
 * unknown mode). `cpus` is what this process may run on (its CPU affinity).
 */
export function wantsSingleThreadedGc(mode: string | undefined, execArgv: readonly string[], cpus: number): boolean | string {
  const m = mode === undefined || mode === '' ? 'auto' : mode;
  if (!(GC_MODES as readonly string[]).includes(m)) return `CF_NATIVE_SERVE_GC must be one of ${GC_MODES.join(', ')} (got ${JSON.stringify(mode)})`;
  if (execArgv.includes(GC_FLAG)) return false;
  return m === 'single' || (m === 'auto' && cpus === 1);
}

/** The GC this process runs, for the startup log. */
export function gcInUse(): { gc: 'single-threaded' | 'default'; cpus: number } {
  return { gc: process.execArgv.includes(GC_FLAG) ? 'single-threaded' : 'default', cpus: availableParallelism() };
}

/**
 * Runs this same command again under `node --single-threaded-gc` when `CF_NATIVE_SERVE_GC` asks
 * for it, and resolves with the child's exit code; null when this process should serve itself.
 * The child inherits stdio; SIGTERM, SIGINT and SIGHUP are passed on, so a process manager that
 * signals this process stops the server the same way (drain, exit 0).
 */
export async function relaunchForGc(): Promise<number | null> {
  const want = wantsSingleThreadedGc(process.env.CF_NATIVE_SERVE_GC, process.execArgv, availableParallelism());
  if (typeof want === 'string') {
    console.error(`cf-native: serve: ${want}`);
    return 2;
  }
  if (!want) return null;
  const child = spawn(process.execPath, [GC_FLAG, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], { stdio: 'inherit' });
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
  const forward = (s: NodeJS.Signals) => () => child.kill(s);
  const handlers = signals.map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  return await new Promise<number>((done) => {
    child.on('error', (err) => {
      console.error(`cf-native: serve: cannot relaunch node with ${GC_FLAG}: ${err.message}`);
      done(1);
    });
    child.on('exit', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      done(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}
