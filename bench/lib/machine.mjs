// Machine facts for the results file, and the timing-hygiene probes run.mjs uses around each
// engine run: how busy the CPUs are with other work, before and during a measurement.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

const sh = (cmd, args, cwd) => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};
const sha256 = (p) => createHash('sha256').update(readFileSync(p)).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// USER_HZ: 100 on every mainstream Linux build; /proc/*/stat and /proc/stat count in it.
const HZ = Number(sh('getconf', ['CLK_TCK']) ?? 100) || 100;

/** The addon binding.cjs loads by default (the platform-named file in the repository root). */
export function defaultAddon(root) {
  const name = readdirSync(root).find((f) => /^cf-native\..*\.node$/.test(f));
  return name ? join(root, name) : null;
}

/** Which cargo profile an addon file was built with, by identity with target/<profile>/. */
export function addonInfo(root, path) {
  if (!path || !existsSync(path)) return { path, profile: 'missing' };
  const hash = sha256(path);
  let profile = 'unknown (matches no target/*/ build)';
  for (const p of ['release', 'ci', 'debug']) {
    const built = join(root, 'target', p, 'libcf_node.so');
    if (existsSync(built) && sha256(built) === hash) profile = p;
  }
  return { path, sha256: hash, profile, mtime: statSync(path).mtime.toISOString() };
}

/**
 * A private copy of the addon for this run: others rebuild the root addon while the benchmark
 * runs, so the cf-native children load this copy (NAPI_RS_NATIVE_LIBRARY_PATH, honoured by
 * binding.cjs) and every workload measures the same build.
 */
export function pinAddon(root, src, dir) {
  const info = addonInfo(root, src);
  if (!info.sha256) throw new Error(`no native addon at ${src}; build it or drop --no-build`);
  mkdirSync(dir, { recursive: true });
  const dest = join(dir, `cf-native-${info.profile.split(' ')[0]}-${info.sha256.slice(0, 12)}.node`);
  if (!existsSync(dest)) copyFileSync(src, dest);
  return { ...info, source: src, path: dest };
}

/** sha256 over the engine's sources (crates/ and the workspace manifests): which code was measured. */
export function engineSourcesHash(root) {
  const h = createHash('sha256');
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(rs|toml)$/.test(e.name)) h.update(`${p.slice(root.length)}\0`).update(readFileSync(p));
    }
  };
  walk(join(root, 'crates'));
  for (const f of ['Cargo.toml', 'Cargo.lock']) h.update(readFileSync(join(root, f)));
  return h.digest('hex');
}

export function machineInfo(root, addon) {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const flags = new Set((/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '').trim().split(/\s+/));
  const dirty = sh('git', ['status', '--porcelain', '--', 'crates', 'src', 'Cargo.toml', 'Cargo.lock'], root);
  return {
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    simd: ['avx2', 'fma', 'avx512f'].filter((f) => flags.has(f)),
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    rustc: sh('rustc', ['--version'], root),
    git_commit: sh('git', ['rev-parse', 'HEAD'], root),
    // Engine sources are being changed under the harness; note whether they differ from HEAD.
    git_engine_sources_dirty: dirty === null ? null : dirty.length > 0,
    engine_sources_sha256: engineSourcesHash(root),
    addon,
  };
}

/** Busy and total jiffies over all CPUs (first line of /proc/stat). */
function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0); // idle + iowait
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already in user
  return { busy: total - idle, total };
}

/** CPU seconds used so far by this process and by its reaped children (utime, stime, cutime, cstime). */
function selfAndChildrenCpu() {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number); // f[0] is field 3 (state)
  return { self: (f[11] + f[12]) / HZ, children: (f[13] + f[14]) / HZ };
}

/** Per-process CPU over a short window: the few processes other than ours that use the most. */
function topOthers(before, after, seconds) {
  const out = [];
  for (const [pid, t1] of after) {
    const t0 = before.get(pid);
    if (t0 === undefined || Number(pid) === process.pid) continue;
    const cores = (t1.ticks - t0.ticks) / HZ / seconds;
    if (cores >= 0.05) out.push({ pid: Number(pid), comm: t1.comm, cores: Math.round(cores * 100) / 100 });
  }
  out.sort((x, y) => y.cores - x.cores);
  return out.length ? out.slice(0, 5) : [{ comm: 'short-lived processes', cores: null }];
}

function processTicks() {
  const m = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      m.set(pid, { comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the process exited between readdir and read
    }
  }
  return m;
}

/** Cores' worth of CPU used by other processes over `ms`, and who uses it. */
export async function probeBusy(ms = 1000) {
  if (!existsSync('/proc/stat')) return { cores: null, top: [], loadavg: os.loadavg() };
  const c0 = cpuTimes();
  const p0 = processTicks();
  await sleep(ms);
  const c1 = cpuTimes();
  const p1 = processTicks();
  const cores = ((c1.busy - c0.busy) / (c1.total - c0.total)) * os.cpus().length;
  return { cores: Math.round(cores * 100) / 100, top: topOthers(p0, p1, ms / 1000), loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100) };
}

/** Waits (up to maxSeconds) until other processes use less than `threshold` cores. */
export async function waitForIdle(threshold, maxSeconds, log) {
  const start = Date.now();
  let b = await probeBusy();
  while (b.cores !== null && b.cores > threshold && (Date.now() - start) / 1000 < maxSeconds) {
    log(`machine busy: ${b.cores} cores used by others (${b.top.map((t) => `${t.comm}:${t.cores}`).join(', ')}); waiting`);
    b = await probeBusy(2000);
  }
  return { ...b, waited_seconds: Math.round((Date.now() - start) / 100) / 10 };
}

/** Brackets a synchronous child run: how many cores' worth of CPU went to anything but that child. */
export function interferenceMeter() {
  if (!existsSync('/proc/stat')) return { stop: () => null };
  const c0 = cpuTimes();
  const s0 = selfAndChildrenCpu();
  const t0 = performance.now();
  return {
    stop() {
      const c1 = cpuTimes();
      const s1 = selfAndChildrenCpu();
      const wall = (performance.now() - t0) / 1000;
      const cores = os.cpus().length;
      const busy = ((c1.busy - c0.busy) / (c1.total - c0.total)) * cores * wall;
      const ours = s1.self - s0.self + (s1.children - s0.children);
      return { other_cores: Math.round(Math.max(0, (busy - ours) / wall) * 100) / 100, wall_seconds: Math.round(wall * 100) / 100 };
    },
  };
}
