// Finds and loads the native addon. Written by hand (napi-rs generates only binding.d.cts,
// see `npm run gen:binding`): the order and the error are ours.
//
//   1. NAPI_RS_NATIVE_LIBRARY_PATH, when set: that file and nothing else (benchmarks pin a
//      build this way; the napi-rs convention).
//   2. The platform package, @cf-native/binding-<platform>, which `npm install cf-native`
//      brings as an optional dependency: a prebuilt binary, no Rust needed. Its version must
//      be this package's, since the binding's surface changes between versions.
//   3. A binary built from source beside this file (cf-native.<platform>.node, what
//      `npm run build:native` writes in a clone of the repository).
//   4. Otherwise an error that names the platform, what was tried and how to build.
'use strict';

const { join } = require('node:path');

const PACKAGE = '@cf-native/binding';

/** napi-rs's platform name: linux-x64-gnu, darwin-arm64, win32-x64-msvc, ... */
function platformName() {
  const { platform, arch } = process;
  if (platform === 'win32') return `win32-${arch}-msvc`;
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
  return `${platform}-${arch}`;
}

function isMusl() {
  // glibc reports its version in the process report; musl does not. excludeNetwork keeps
  // the report from resolving host names, which can stall for seconds on some networks.
  try {
    if (process.report) {
      process.report.excludeNetwork = true;
      const header = process.report.getReport().header;
      if (header && header.glibcVersionRuntime) return false;
    }
  } catch {
    // fall through to the file system
  }
  try {
    return require('node:fs').readFileSync('/usr/bin/ldd', 'utf8').includes('musl');
  } catch {
    return false;
  }
}

/** The platforms with a prebuilt package: napi.targets of package.json, by napi-rs's names. */
function prebuilt() {
  const arch = { x86_64: 'x64', aarch64: 'arm64', i686: 'ia32', armv7: 'arm' };
  const targets = (require('./package.json').napi || {}).targets || [];
  return targets.map((t) => {
    const [cpu, , os, abi] = t.split('-');
    const a = arch[cpu] || cpu;
    if (os === 'darwin') return `darwin-${a}`;
    if (os === 'windows') return `win32-${a}-${abi}`;
    return `${os}-${a}-${abi}`;
  });
}

function firstLine(err) {
  const msg = err && typeof err.message === 'string' ? err.message : String(err);
  return msg.split('\n')[0];
}

function load() {
  const name = platformName();
  const override = process.env.NAPI_RS_NATIVE_LIBRARY_PATH;
  if (override) {
    try {
      return require(override);
    } catch (cause) {
      throw missing(name, [`NAPI_RS_NATIVE_LIBRARY_PATH=${override}: ${firstLine(cause)}`], cause);
    }
  }
  const version = require('./package.json').version;
  const tried = [];
  let lastCause;
  const pkg = `${PACKAGE}-${name}`;
  try {
    const found = require(`${pkg}/package.json`).version;
    if (found === version) return require(pkg);
    tried.push(`${pkg}@${found}: installed, but cf-native is ${version} (reinstall so that both match)`);
  } catch (cause) {
    lastCause = cause;
    tried.push(`${pkg}@${version}: ${cause && cause.code === 'MODULE_NOT_FOUND' ? 'not installed' : firstLine(cause)}`);
  }
  const local = join(__dirname, `cf-native.${name}.node`);
  try {
    return require(local);
  } catch (cause) {
    lastCause = cause;
    tried.push(`${local}: ${cause && cause.code === 'MODULE_NOT_FOUND' ? 'no such file' : firstLine(cause)}`);
  }
  throw missing(name, tried, lastCause);
}

function missing(name, tried, cause) {
  const err = new Error(
    [
      `cf-native: no native addon for ${name} (Node ${process.version}).`,
      `Tried:`,
      ...tried.map((t) => `  - ${t}`),
      `Prebuilt binaries come in the optional dependency ${PACKAGE}-<platform>, for ${prebuilt().join(', ')}.`,
      `On one of those, reinstall without --omit=optional (npm also skips it when a lockfile was made on another platform: delete node_modules and package-lock.json, then npm install).`,
      `Elsewhere, build from source: install Rust (https://rustup.rs), clone the cf-native repository and run \`npm install\` there (it runs cargo), or point NAPI_RS_NATIVE_LIBRARY_PATH at a built addon.`,
    ].join('\n'),
    { cause },
  );
  err.code = 'ERR_CF_NATIVE_MISSING';
  return err;
}

module.exports = load();
