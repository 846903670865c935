// The prebuilt-binary layout: npm/<platform>/ for every napi target, and the loader's order
// (platform package, then a local build, then a message). The install itself, from packed
// tarballs without Rust and offline, is proven by scripts/pack-proof.sh in .ci/run.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const ARCH: Record<string, string> = { x86_64: 'x64', aarch64: 'arm64' };
const OS: Record<string, string> = { linux: 'linux', darwin: 'darwin', windows: 'win32' };

function expected(triple: string) {
  const [cpu, , os, abi] = triple.split('-') as [string, string, string, string | undefined];
  const arch = ARCH[cpu]!;
  const platform = os === 'darwin' ? `darwin-${arch}` : `${OS[os]}-${arch}-${abi}`;
  return { platform, arch, os: OS[os]!, libc: os === 'linux' ? (abi === 'musl' ? 'musl' : 'glibc') : undefined };
}

describe('platform packages (npm/<platform>/)', () => {
  it('has one per napi target, named, versioned and constrained as the loader expects', () => {
    const dirs = readdirSync(join(root, 'npm')).sort();
    expect(dirs).toEqual(pkg.napi.targets.map((t: string) => expected(t).platform).sort());
    for (const t of pkg.napi.targets as string[]) {
      const e = expected(t);
      const sub = JSON.parse(readFileSync(join(root, 'npm', e.platform, 'package.json'), 'utf8'));
      expect(sub.name).toBe(`${pkg.napi.packageName}-${e.platform}`);
      expect(sub.version).toBe(pkg.version);
      expect(sub.main).toBe(`${pkg.napi.binaryName}.${e.platform}.node`);
      expect(sub.files).toEqual([sub.main]);
      expect(sub.os).toEqual([e.os]);
      expect(sub.cpu).toEqual([e.arch]);
      if (e.libc) expect(sub.libc).toEqual([e.libc]);
      else expect(sub.libc).toBeUndefined();
    }
  });

  it('exports import, require and types for the package and its server', () => {
    for (const entry of ['.', './server']) {
      const e = pkg.exports[entry];
      expect(Object.keys(e)).toEqual(['types', 'import', 'require']);
      for (const k of ['types', 'import', 'require']) expect(existsSync(join(root, e[k]))).toBe(true);
    }
  });
});

describe('the loader (binding.cjs)', () => {
  // The addon this checkout built, and the platform name the loader gives this host.
  const host = readdirSync(root).find((f) => /^cf-native\..+\.node$/.test(f));
  const platform = host?.slice('cf-native.'.length, -'.node'.length);

  // A package folder with the loader, package.json and optionally a platform package and
  // a local build; prints where the addon came from.
  function layout(opts: { platformPkg?: string; local?: boolean }) {
    const dir = mkdtempSync(join(tmpdir(), 'cf-loader-'));
    copyFileSync(join(root, 'binding.cjs'), join(dir, 'binding.cjs'));
    copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
    if (opts.platformPkg) {
      const sub = join(dir, 'node_modules', `${pkg.napi.packageName}-${platform}`);
      mkdirSync(sub, { recursive: true });
      cpSync(join(root, 'npm', platform!, 'package.json'), join(sub, 'package.json'));
      const manifest = JSON.parse(readFileSync(join(sub, 'package.json'), 'utf8'));
      writeFileSync(join(sub, 'package.json'), JSON.stringify({ ...manifest, version: opts.platformPkg }));
      copyFileSync(join(root, host!), join(sub, manifest.main));
    }
    if (opts.local) copyFileSync(join(root, host!), join(dir, host!));
    const r = spawnSync(
      process.execPath,
      ['-e', `const b = require('./binding.cjs'); console.log(Object.keys(require.cache).find((f) => f.endsWith('.node')))`],
      { cwd: dir, encoding: 'utf8', env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: '' } },
    );
    return { dir, ...r };
  }

  it.skipIf(!host)('prefers the platform package of the same version to a local build', () => {
    const r = layout({ platformPkg: pkg.version, local: true });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(join('node_modules', `${pkg.napi.packageName}-${platform}`));
  });

  it.skipIf(!host)('falls back to the local build when the platform package is another version', () => {
    const r = layout({ platformPkg: '0.0.1', local: true });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(r.dir, host!));
  });

  it.skipIf(!host)('says what it tried, the platforms with prebuilt binaries and how to build, with a code', () => {
    const r = layout({ platformPkg: '0.0.1' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`no native addon for ${platform}`);
    expect(r.stderr).toContain(`${pkg.napi.packageName}-${platform}@0.0.1: installed, but cf-native is ${pkg.version}`);
    expect(r.stderr).toContain(`${join(r.dir, host!)}: no such file`);
    for (const t of pkg.napi.targets as string[]) expect(r.stderr).toContain(expected(t).platform);
    expect(r.stderr).toContain('build from source');
    expect(r.stderr).toContain('ERR_CF_NATIVE_MISSING');
  });
});
