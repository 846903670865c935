// Packs what a release publishes: one platform package per prebuilt addon (npm/<platform>/,
// napi-rs v3's layout, made by `npm run npm-dirs` from napi.targets) and the main package,
// staged so that it ships what runs (dist, the loader, types, the embedded demo data) and
// none of the Rust sources, with every platform package as an optional dependency pinned to
// this version (what `napi prepublish` writes). Used by `npm run pack:local` (the host's
// binary, built here) and by the release workflow (--binaries: every target's artifact).
//
//   node scripts/pack.mjs [--binaries DIR] [--no-build] [--out DIR]
//
// The last two lines printed are the main tarball's path and the host platform tarball's
// (the first platform tarball with --binaries when the host has none).
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const out = resolve(value('--out') ?? join(root, 'pack'));
const binaries = value('--binaries') ? resolve(value('--binaries')) : undefined;

function fail(msg) {
  process.stderr.write(`pack: ${msg}\n`);
  process.exit(1);
}
function run(cmd, argv, cwd) {
  const r = spawnSync(cmd, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.error || r.status !== 0) fail(`${cmd} ${argv.join(' ')} (in ${cwd}) failed: ${r.error?.message ?? `exit ${r.status}`}`);
  return r.stdout;
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const { binaryName, packageName, targets } = pkg.napi;

// napi-rs's platform names for the target triples (npm/<name>/, cf-native.<name>.node).
const ARCH = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm' };
function platformOf(triple) {
  const [cpu, , os, abi] = triple.split('-');
  const arch = ARCH[cpu] ?? cpu;
  if (os === 'darwin') return `darwin-${arch}`;
  if (os === 'windows') return `win32-${arch}-${abi}`;
  return `${os}-${arch}-${abi}`;
}
const platforms = targets.map(platformOf);
for (const p of platforms) {
  const file = join(root, 'npm', p, 'package.json');
  if (!existsSync(file)) fail(`${file} is missing: run npm run npm-dirs`);
  const sub = JSON.parse(readFileSync(file, 'utf8'));
  if (sub.name !== `${packageName}-${p}` || sub.version !== pkg.version || sub.main !== `${binaryName}.${p}.node`) {
    fail(`${file} says ${sub.name}@${sub.version} (main ${sub.main}); expected ${packageName}-${p}@${pkg.version}: run npm run npm-dirs`);
  }
}
const hostName = (() => {
  // The loader's own answer, so the packed name is the one it will look for.
  const { platform, arch } = process;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  if (platform === 'linux') return `linux-${arch}-${process.report?.getReport()?.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
  return `${platform}-${arch}`;
})();

// 1. The addons: every artifact found under --binaries, or the host's, built here.
const found = new Map();
if (binaries) {
  const walk = (dir) => {
    for (const f of readdirSync(dir)) {
      const path = join(dir, f);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const m = /^(.+)\.([a-z0-9-]+)\.node$/.exec(f);
        if (m && m[1] === binaryName && platforms.includes(m[2])) found.set(m[2], path);
      }
    }
  };
  walk(binaries);
  if (found.size === 0) fail(`no ${binaryName}.<platform>.node under ${binaries}`);
} else {
  if (!platforms.includes(hostName)) fail(`this host (${hostName}) is not one of napi.targets`);
  if (!flag('--no-build')) run(process.execPath, [join(root, 'scripts/build-native.mjs'), '--release'], root);
  const local = join(root, `${binaryName}.${hostName}.node`);
  if (!existsSync(local)) fail(`${local} does not exist (build it: npm run build:native)`);
  found.set(hostName, local);
}
if (!flag('--no-build')) run('npm', ['run', '--silent', 'build:ts'], root);
if (!existsSync(join(root, 'dist/index.js'))) fail('dist/ is missing (npm run build:ts)');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const packed = [];
function npmPack(dir) {
  const [info] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], dir));
  const r = { name: info.name, file: join(out, info.filename), size: info.size, unpackedSize: info.unpackedSize, entries: info.entryCount };
  packed.push(r);
  return r;
}

// 2. Platform packages, each in a copy of npm/<platform>/ with its addon beside.
const platformTarballs = new Map();
for (const [p, file] of [...found].sort()) {
  const dir = join(out, 'stage', p);
  cpSync(join(root, 'npm', p), dir, { recursive: true });
  copyFileSync(file, join(dir, `${binaryName}.${p}.node`));
  platformTarballs.set(p, npmPack(dir).file);
}

// 3. The main package: what runs, and a manifest without the build scripts (there is
// nothing to build: the addon comes from a platform package).
const stage = join(out, 'stage', 'main');
mkdirSync(stage, { recursive: true });
const RUNTIME = ['dist', 'binding.cjs', 'binding.d.cts', 'examples', 'README.md', 'LICENSE'];
for (const f of RUNTIME) cpSync(join(root, f), join(stage, f), { recursive: true });
// The embedded demo needs the ratings (and their licence), not the movie titles.
for (const f of ['ratings.csv.gz', 'README.txt', 'SOURCE.md']) {
  cpSync(join(root, 'datasets/ml-latest-small', f), join(stage, 'datasets/ml-latest-small', f));
}
const manifest = { ...pkg };
delete manifest.scripts;
delete manifest.devDependencies;
manifest.files = [...RUNTIME.filter((f) => !['README.md', 'LICENSE'].includes(f)), 'datasets'];
manifest.optionalDependencies = Object.fromEntries(platforms.map((p) => [`${packageName}-${p}`, pkg.version]));
writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
const main = npmPack(stage);

const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log('tarball | packed | unpacked | files');
for (const r of packed) console.log(`${r.name} | ${kib(r.size)} | ${kib(r.unpackedSize)} | ${r.entries}`);
console.log(main.file);
console.log(platformTarballs.get(hostName) ?? [...platformTarballs.values()][0]);
