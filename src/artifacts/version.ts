import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfError, CfErrorCode } from '../errors.js';

let cached: string | undefined;

/**
 * The version in cf-native's own package.json. Found by walking up from this module
 * rather than by a fixed relative path, so it works from src/ (vitest), from dist/
 * and after any regrouping of folders.
 */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'cf-native' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // No package.json here, or not ours: keep climbing.
    }
    const parent = dirname(dir);
    if (parent === dir) throw new CfError(CfErrorCode.IO, 'cannot find the package.json of cf-native above its modules');
    dir = parent;
  }
}

function git(args: string[], cwd: string): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 10_000,
    // A provenance probe must not take the index lock from a git command the user is running.
    env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
  }).trim();
}

/**
 * `git rev-parse --short HEAD` of the checkout containing `cwd`, with `-dirty` when
 * `git status --porcelain` lists anything; null when there is no git, no checkout or
 * no commit yet. Never throws: it is provenance, not something a run may fail on.
 */
export function gitVersion(cwd: string = process.cwd()): string | null {
  try {
    const head = git(['rev-parse', '--short', 'HEAD'], cwd);
    if (head === '') return null;
    return git(['status', '--porcelain'], cwd) === '' ? head : `${head}-dirty`;
  } catch {
    return null;
  }
}
