// Shared by the bad-input tables: run `cf-native train` in-process or as a child process,
// and take apart the error an API call throws. Every table asserts the same contract (README,
// "Errors"): a coded error, or exit code 2 with one line on stderr, naming what and where.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect, vi } from 'vitest';
import { runTrainCommand } from '../../src/cli/train.js';
import { isCfError } from '../../src/errors.js';

export const root = join(import.meta.dirname, '..', '..');
export const MAIN = join(root, 'dist/cli/main.js');

/** A fresh folder under the system temp dir. */
export function tmp(tag: string): string {
  return mkdtempSync(join(tmpdir(), `cf-bad-${tag}-`));
}

/** Writes `files` (name -> text or bytes) under `dir`, creating folders on the way. */
export function writeFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
}

export interface TrainRun {
  code: number;
  stderr: string;
  stdout: string;
  /** The folder the config and its files are in ($DIR in the config text). */
  dir: string;
  config: string;
}

/**
 * `cf-native train CONFIG --quiet` in this process (runTrainCommand, as the CLI calls it).
 * `$DIR` in the config text is the run's own folder, where `files` are written.
 */
export async function trainInProcess(yaml: string | Uint8Array, files: Record<string, string | Uint8Array> = {}): Promise<TrainRun> {
  const dir = tmp('train');
  writeFiles(dir, files);
  const config = join(dir, 'config.yaml');
  // Bytes keep their encoding: $DIR is replaced where it is plain ASCII (latin1 round-trips).
  writeFileSync(config, typeof yaml === 'string' ? yaml.replaceAll('$DIR', dir) : Buffer.from(Buffer.from(yaml).toString('latin1').replaceAll('$DIR', dir), 'latin1'));
  let stderr = '';
  let stdout = '';
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  try {
    const code = await runTrainCommand(config, { quiet: true });
    return { code, stderr, stdout, dir, config };
  } finally {
    err.mockRestore();
    out.mockRestore();
  }
}

/** The built CLI as a child process: what a crash, an abort or a hang would show up in. */
export function cli(args: string[], cwd = root, timeoutMs = 60_000) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Exit code 2 and exactly one line on stderr, `cf-native: ...` naming `mustName`, matching `re`. */
export function expectOneLineExit2(r: { code?: number | null; status?: number | null; stderr: string }, re: RegExp, mustName: string[] = []): void {
  const code = r.code ?? r.status;
  expect(code, r.stderr).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  const line = lines[0]!;
  expect(line.startsWith('cf-native: '), line).toBe(true);
  expect(line).not.toMatch(/\n|\bat .*\.(js|ts):\d+|panicked|TypeError|RangeError/);
  // One line a person reads: no field of megabytes quoted whole.
  expect(line.length, line.slice(0, 300)).toBeLessThan(1000);
  for (const what of mustName) expect(line).toContain(what);
  expect(line).toMatch(re);
}

/** The CfError a call throws, sync or async (anything else fails the test). */
export async function failure(f: () => unknown): Promise<{ code: string; message: string }> {
  let result: unknown;
  try {
    result = await f();
  } catch (err) {
    if (!isCfError(err)) throw new Error(`expected a CfError, got ${String(err)}`, { cause: err });
    return { code: err.code, message: err.message };
  }
  throw new Error(`did not throw (returned ${String(result)})`);
}
