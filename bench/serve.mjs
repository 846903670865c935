// `npm run bench -- serve [options]`: `cf-native serve` on loopback, beside a bare Fastify
// route returning a fixed 10-item list (bench/node/bare_server.mjs), in the same run: GET
// /recommend (known users, k = 10) and POST /recommend (cold start, 10 liked items) at full
// load (autocannon, closed loop; server and generator share the cores, so only same-run
// ratios mean anything) and at a fixed offered rate (bench/loadgen, a Rust open-loop
// generator built here on first use; microsecond latencies from each request's due time, each server started alone on core 0 as a
// one-CPU deployment runs, the generator on core 1, alternating runs), for the embedded
// dataset's model and an ML-20M-shaped one; a run
// while the model is republished every 2 s; a 60 s soak with the server's RSS at start and
// end. Writes bench/results/serve-<run id>.json and bench/RESULTS-serve.md. It measures; it
// asserts nothing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { machineInfo, defaultAddon } from './lib/machine.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const DATA = join(BENCH, '.data', 'serve');
const log = (m) => process.stderr.write(`[bench serve] ${m}\n`);
/** Alternating cf-native / bare runs at the fixed rate, per model and request kind. */
const RATE_ROUNDS = 3;

const USAGE = `usage: npm run bench -- serve [options]
  --duration S      seconds of each load run (default 10)
  --connections N   autocannon connections (default 50)
  --rate R          the fixed offered rate of the open-loop latency runs, req/s (default 2000)
  --soak S          seconds of the soak (default 60, 10 with --quick; 0 skips it)
  --reload S        seconds of the reload run, one publish every 2 s (default 30, 10 with --quick; 0 skips it)
  --models a,b      subset of: embedded, ml20m (default both)
  --quick           5 s runs, 10 s soak and reload`;

const api = await import(join(ROOT, 'dist', 'index.js'));
const { readNpy } = await import(join(ROOT, 'dist', 'artifacts', 'npy.js'));

/** The embedded ratings' ALS (the demo's settings) and an ALS on the ML-20M-shaped synthetic set. */
async function ensureModels(which) {
  const out = {};
  if (which.includes('embedded')) {
    const dir = join(DATA, 'embedded');
    const ds = api.loadDataset({ path: api.EMBEDDED_RATINGS, positiveThreshold: 4, minUserInteractions: 3 });
    const { train } = api.splitDataset(ds, { strategy: 'none' });
    const model = await api.ALS.fit(train, { factors: 64, regularization: 50, alpha: 10, iterations: 15, seed: 42 });
    await api.saveModel(join(dir, 'als'), model, { userIds: ds.userIds(), itemIds: ds.itemIds() });
    out.embedded = { dir, model, userIds: ds.userIds(), itemIds: ds.itemIds() };
  }
  if (which.includes('ml20m')) {
    const src = join(BENCH, '.data', 'ml20m', 'train');
    if (!existsSync(join(src, 'indptr.npy'))) throw new Error(`${src}: missing; run \`npm run bench -- als --workloads ml20m-64\` once to generate it`);
    const [indptr, indices, data] = await Promise.all(['indptr', 'indices', 'data'].map((n) => readNpy(join(src, `${n}.npy`))));
    const shape = JSON.parse(readFileSync(join(src, 'shape.json'), 'utf8'));
    const { rows, cols } = shape;
    const { native } = await import(join(ROOT, 'dist', 'native.js'));
    const m = native().Matrix.fromCsr(Uint32Array.from(indptr.data), Uint32Array.from(indices.data), Float32Array.from(data.data), rows, cols);
    const dir = join(DATA, 'ml20m');
    const userIds = Array.from({ length: rows }, (_, i) => `u${i}`);
    const itemIds = Array.from({ length: cols }, (_, i) => `i${i}`);
    if (!existsSync(join(dir, 'als', 'model.json'))) {
      log(`fitting ALS on the ML-20M shape (${rows} x ${cols}, ${m.nnz} entries), 3 iterations`);
      const model = await api.ALS.fit(m, { factors: 64, regularization: 50, alpha: 10, iterations: 3, seed: 42 });
      await api.saveModel(join(dir, 'als'), model, { userIds, itemIds });
    }
    out.ml20m = { dir, userIds, itemIds };
  }
  return out;
}

/**
 * A server process; with `cpus`, started under taskset on those CPUs (taskset execs node, so
 * the pid is the server's) and with `nodeFlags` before the script.
 */
function start(args, o = {}) {
  const argv = [...(o.nodeFlags ?? []), ...args];
  const child = o.cpus ? spawn('taskset', ['-c', o.cpus, process.execPath, ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolveUrl, reject) => {
    let text = '';
    const on = (d) => {
      text += d.toString();
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      // cf-native serve logs which garbage collector it runs just after it listens.
      const gc = /"gc":"([a-z-]+)"/.exec(text);
      if (m && (gc || !args.includes('serve'))) resolveUrl({ child, url: m[1], gc: gc?.[1] ?? null });
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${text}`)));
  });
}

async function stop(s) {
  const done = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await done;
}

function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : null;
}

let seed = 12345;
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed % n;
};

/** One autocannon run; GET of a random known user, or POST of 10 random liked items. */
async function load(url, kind, ids, o) {
  const request =
    kind === 'get'
      ? { method: 'GET', setupRequest: (req) => ({ ...req, path: `/recommend?user=${encodeURIComponent(ids.userIds[rand(ids.userIds.length)])}&k=10` }) }
      : {
          method: 'POST',
          path: '/recommend',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req) => ({ ...req, body: JSON.stringify({ liked: Array.from({ length: 10 }, () => ids.itemIds[rand(ids.itemIds.length)]), k: 10 }) }),
        };
  const r = await autocannon({ url, connections: o.connections, duration: o.duration, requests: [request], ...(o.rate ? { overallRate: o.rate } : {}) });
  if (r.non2xx > 0 && !o.allowErrors) log(`  warning: ${r.non2xx} non-2xx answers (${JSON.stringify(r.statusCodeStats)})`);
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    total: r.requests.total,
  };
}

/**
 * Requests for bench/loadgen: 4096 GETs of random known users, or POSTs of 10 random liked
 * items, as the bytes that go on the wire (each a little-endian u32 length, then the request),
 * encoded once so the generator's cost per request is one write.
 */
function requestFile(name, kind, ids) {
  const file = join(DATA, `requests-${name}-${kind}.bin`);
  const n = 4096;
  const head = 'Host: 127.0.0.1\r\nConnection: keep-alive\r\n';
  const one = () => {
    if (kind === 'get') return Buffer.from(`GET /recommend?user=${encodeURIComponent(ids.userIds[rand(ids.userIds.length)])}&k=10 HTTP/1.1\r\n${head}\r\n`);
    const body = Buffer.from(JSON.stringify({ liked: Array.from({ length: 10 }, () => ids.itemIds[rand(ids.itemIds.length)]), k: 10 }));
    return Buffer.concat([Buffer.from(`POST /recommend HTTP/1.1\r\n${head}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
  };
  const parts = [];
  for (let i = 0; i < n; i++) {
    const req = one();
    const len = Buffer.alloc(4);
    len.writeUInt32LE(req.length);
    parts.push(len, req);
  }
  writeFileSync(file, Buffer.concat(parts));
  return file;
}

/**
 * bench/loadgen's binary, built on first use (a few seconds; libc is its one dependency). A
 * generator written in Node added its own send lag (6-14 ms at worst) to every server's tail on
 * this 2-core machine; see the crate's header.
 */
function loadgenBinary() {
  const manifest = join(BENCH, 'loadgen', 'Cargo.toml');
  const r = spawnSync('cargo', ['build', '--release', '--quiet', '--manifest-path', manifest], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building bench/loadgen failed (cargo build --release --manifest-path ${manifest}):\n${r.stderr ?? r.error}`);
  return join(BENCH, 'loadgen', 'target', 'release', 'cf-loadgen');
}

/**
 * A fixed offered rate, open loop (bench/loadgen): uniform arrivals, latency from each
 * request's due time, nanosecond clock. With `pinned`, the generator runs alone on core 1 and
 * the caller has started the server on core 0.
 */
async function openLoop(url, file, o) {
  const args = ['--port', new URL(url).port, '--wire', file, '--rate', String(o.rate), '--duration', String(o.duration)];
  // Not spawnSync: the servers' output pipes must keep draining meanwhile.
  const child = o.pinned ? spawn('taskset', ['-c', '1', o.loadgen, ...args]) : spawn(o.loadgen, args);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.on('close', r));
  if (code !== 0) throw new Error(`loadgen failed (${code}): ${err}`);
  const x = JSON.parse(out.trim().split('\n').pop());
  if (x.errors > 0 || x.non2xx > 0 || x.unanswered > 0) log(`  warning: ${x.errors} errors, ${x.non2xx} non-2xx, ${x.unanswered} unanswered at ${o.rate} req/s`);
  return { p50: x.latencyMs.p50, p99: x.latencyMs.p99, p999: x.latencyMs.p999, max: x.latencyMs.max, service: x.serviceMs, achievedRate: x.achievedRate, maxSendLagMs: x.maxSendLagMs, errors: x.errors, non2xx: x.non2xx, unanswered: x.unanswered, total: x.answered };
}

/** The server's V8 collections so far (GET /metrics): count and main-thread pause, by kind. */
async function gcTotals(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = {};
  for (const m of text.matchAll(/cf_native_gc_(collections_total|pause_seconds_total)\{kind="(\w+)"\} ([\d.e+-]+)/g)) {
    out[m[2]] ??= { count: 0, pauseMs: 0 };
    if (m[1] === 'collections_total') out[m[2]].count = Number(m[3]);
    else out[m[2]].pauseMs = Number(m[3]) * 1000;
  }
  return out;
}

/** What `after` adds to `before` (gcTotals). */
const gcDelta = (before, after) => Object.fromEntries(Object.entries(after).map(([k, v]) => [k, { count: v.count - (before[k]?.count ?? 0), pauseMs: Math.round((v.pauseMs - (before[k]?.pauseMs ?? 0)) * 100) / 100 }]));

export { render };

export async function main(argv) {
  const { values: opt } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
      rate: { type: 'string', default: '2000' },
      soak: { type: 'string' },
      reload: { type: 'string' },
      models: { type: 'string', default: 'embedded,ml20m' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (opt.help) {
    console.error(USAGE);
    return 0;
  }
  const duration = opt.quick ? 5 : Number(opt.duration);
  const connections = Number(opt.connections);
  const rate = Number(opt.rate);
  // --quick shortens what is not given explicitly (`--quick --soak 0` skips the soak).
  const soakS = opt.soak !== undefined ? Number(opt.soak) : opt.quick ? 10 : 60;
  const reloadS = opt.reload !== undefined ? Number(opt.reload) : opt.quick ? 10 : 30;
  const which = opt.models.split(',');
  mkdirSync(DATA, { recursive: true });
  const loadgen = loadgenBinary();
  const models = await ensureModels(which);
  const cli = join(ROOT, 'dist', 'cli', 'main.js');
  const res = { run: new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19) + 'Z', machine: machineInfo(ROOT, defaultAddon(ROOT)), settings: { duration, connections, rate, soakS, reloadS }, models: {} };

  // The latency runs put each server alone on core 0 from its start, as a one-CPU deployment
  // runs: `cf-native serve` then relaunches itself under --single-threaded-gc (src/cli/gc.ts),
  // and the bare server gets the same flag, so both run the same V8 configuration.
  const canPin = spawnSync('taskset', ['-c', '0', process.execPath, '-e', '0'], { stdio: 'ignore' }).status === 0;
  res.pinned = canPin;
  const pinnedAt = canPin ? { cpus: '0' } : {};
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const summary = (runs) => ({ p50: median(runs.map((x) => x.p50)), p99: median(runs.map((x) => x.p99)), p999: median(runs.map((x) => x.p999)), runs });
  const fmt = (x) => `p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms, p99.9 ${x.p999.toFixed(2)} ms`;

  for (const name of which) {
    const ids = models[name];
    const serveArgs = [cli, 'serve', ids.dir, '--port', '0', '--watch', '0', '--feedback', 'none', '--log-level', 'info', '--no-docs'];
    const bare = await start([join(BENCH, 'node', 'bare_server.mjs')]);
    const server = await start(serveArgs);
    log(`${name}: bare at ${bare.url}, cf-native at ${server.url}`);
    const row = {};
    // Warm both (JIT, packed item factors) before measuring.
    await load(bare.url, 'get', ids, { connections, duration: 2 });
    await load(server.url, 'get', ids, { connections, duration: 2 });
    await load(server.url, 'post', ids, { connections, duration: 2 });
    for (const kind of ['get', 'post']) {
      log(`${name} ${kind}: bare, then cf-native, ${duration} s each at ${connections} connections`);
      row[`${kind}_bare`] = await load(bare.url, kind, ids, { connections, duration });
      row[kind] = await load(server.url, kind, ids, { connections, duration });
      row[`${kind}_ratio`] = row[kind].rps / row[`${kind}_bare`].rps;
      log(`  ${row[kind].rps.toFixed(0)} vs ${row[`${kind}_bare`].rps.toFixed(0)} req/s (${row[`${kind}_ratio`].toFixed(2)}x); p99 ${row[kind].p99} ms`);
    }
    row.rss = rss(server.child.pid);
    await stop(server);
    await stop(bare);

    const pBare = await start([join(BENCH, 'node', 'bare_server.mjs')], { ...pinnedAt, nodeFlags: canPin ? ['--single-threaded-gc'] : [] });
    const pServer = await start(serveArgs, pinnedAt);
    row.rate_gc = pServer.gc;
    const files = { get: requestFile(name, 'get', ids), post: requestFile(name, 'post', ids) };
    for (const kind of ['get', 'post']) {
      await openLoop(pBare.url, files[kind], { rate, duration: 3, pinned: canPin, loadgen });
      await openLoop(pServer.url, files[kind], { rate, duration: 3, pinned: canPin, loadgen });
    }
    for (const kind of ['get', 'post']) {
      // Alternating rounds; the median of each percentile is reported, every run is kept.
      const cfRuns = [];
      const bareRuns = [];
      for (let round = 0; round < RATE_ROUNDS; round++) {
        const before = await gcTotals(pServer.url);
        const run = await openLoop(pServer.url, files[kind], { rate, duration, pinned: canPin, loadgen });
        cfRuns.push({ ...run, gc: gcDelta(before, await gcTotals(pServer.url)) });
        bareRuns.push(await openLoop(pBare.url, files[kind], { rate, duration, pinned: canPin, loadgen }));
      }
      row[`${kind}_rate`] = summary(cfRuns);
      row[`${kind}_rate_bare`] = summary(bareRuns);
      const majors = cfRuns.map((x) => `${x.gc.major?.count ?? '?'} (${x.gc.major?.pauseMs ?? '?'} ms)`).join(', ');
      log(`  ${name} ${kind} at ${rate} req/s offered (open loop${canPin ? ', started on core 0, gc ' + pServer.gc : ''}), median of ${RATE_ROUNDS}: ${fmt(row[`${kind}_rate`])} (bare: ${fmt(row[`${kind}_rate_bare`])}); major GCs in the cf-native runs: ${majors}`);
    }
    await stop(pServer);
    await stop(pBare);
    res.models[name] = row;
  }

  const e = models.embedded ?? Object.values(models)[0];
  if (reloadS > 0) {
    // The server watches the folder; a new version is published every 2 s meanwhile.
    const server = await start([cli, 'serve', e.dir, '--port', '0', '--watch', '200', '--feedback', 'none', '--log-level', 'info', '--no-docs']);
    const fresh = e.model ?? (await api.loadModel(join(e.dir, 'als'))).model;
    let publishes = 0;
    let stopping = false;
    const publisher = (async () => {
      while (!stopping) {
        await new Promise((r) => setTimeout(r, 2000));
        if (stopping) break;
        await api.saveModel(join(e.dir, 'als'), fresh, { userIds: e.userIds, itemIds: e.itemIds });
        publishes++;
      }
    })();
    log(`reload: ${reloadS} s of GET /recommend, a new version published every 2 s`);
    const r = await load(server.url, 'get', e, { connections, duration: reloadS });
    stopping = true;
    await publisher;
    const models = await (await fetch(`${server.url}/models`)).json();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const failures = Number(/cf_native_model_reload_failures_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
    res.reload = { ...r, publishes, failures, version: models.models[0].version };
    log(`  ${r.total} requests, ${r.errors} errors, ${r.non2xx} non-2xx, ${publishes} publishes, ${failures} failed loads`);
    await stop(server);
  }
  if (soakS > 0) {
    const server = await start([cli, 'serve', e.dir, '--port', '0', '--watch', '1000', '--feedback', 'none', '--log-level', 'info', '--no-docs']);
    await load(server.url, 'get', e, { connections, duration: 5 });
    const before = rss(server.child.pid);
    log(`soak: ${soakS} s of GET /recommend`);
    const r = await load(server.url, 'get', e, { connections, duration: soakS });
    const after = rss(server.child.pid);
    res.soak = { ...r, rssStart: before, rssEnd: after, growth: after / before - 1 };
    log(`  ${r.total} requests, ${r.errors} errors, RSS ${(before / 2 ** 20).toFixed(1)} -> ${(after / 2 ** 20).toFixed(1)} MiB (${(100 * res.soak.growth).toFixed(1)} %)`);
    await stop(server);
  }
  const file = join(BENCH, 'results', `serve-${res.run}.json`);
  writeFileSync(file, JSON.stringify(res, null, 2));
  writeFileSync(join(BENCH, 'RESULTS-serve.md'), render(res));
  log(`wrote ${file} and bench/RESULTS-serve.md`);
  return 0;
}

function render(res) {
  const f = (x, d = 0) => (x === null || x === undefined ? '–' : Number(x).toFixed(d));
  const lat = (x) => (x ? `${f(x.p50, 2)} / ${f(x.p99, 2)} / ${f(x.p999, 2)}` : '–');
  const lines = [
    '# Serving benchmark',
    '',
    `Run ${res.run} (\`npm run bench -- serve\`) at ${res.machine?.git_commit?.slice(0, 7) ?? '?'}, ${res.machine?.cpu_model ?? '?'} x ${res.machine?.cores ?? '?'} cores, Node ${res.machine?.node ?? '?'}.`,
    '',
    `Throughput: autocannon, ${res.settings.connections} connections, ${res.settings.duration} s per run, server and load generator sharing the cores: only same-run ratios mean anything; its p99 is whole milliseconds.`,
    `Latency at ${res.settings.rate} req/s: bench/loadgen (Rust, epoll and a timerfd), open loop (uniform arrivals on the monotonic clock, latency from each request's due time, microseconds), ${res.settings.duration} s per run, ${res.pinned ? `each server started on core 0 (taskset; cf-native serve then runs V8's garbage collector on its main thread${res.models[Object.keys(res.models)[0]]?.rate_gc ? ` (logged: ${res.models[Object.keys(res.models)[0]].rate_gc})` : ''}, and the bare server is given --single-threaded-gc too) and the generator on core 1` : 'unpinned (taskset failed)'}; ${RATE_ROUNDS} alternating runs per server, the median of each percentile shown; other processes on the machine were not excluded.`,
    '',
    '| model | request | cf-native req/s | bare Fastify req/s | ratio | p99 at full load (ms) | p50 / p99 / p99.9 at ' + res.settings.rate + ' req/s (ms) | bare p50 / p99 / p99.9 at ' + res.settings.rate + ' req/s (ms) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, r] of Object.entries(res.models)) {
    for (const kind of ['get', 'post']) {
      lines.push(
        `| ${name} | ${kind === 'get' ? 'GET /recommend' : 'POST /recommend (10 liked)'} | ${f(r[kind].rps)} | ${f(r[`${kind}_bare`].rps)} | ${f(r[`${kind}_ratio`], 2)} | ${f(r[kind].p99, 1)} | ${lat(r[`${kind}_rate`])} | ${lat(r[`${kind}_rate_bare`])} |`,
      );
    }
  }
  const gcLine = [];
  for (const [name, r] of Object.entries(res.models)) {
    for (const kind of ['get', 'post']) {
      const runs = r[`${kind}_rate`]?.runs;
      if (!runs || !runs[0]?.gc) continue;
      const per = runs.map((x) => `${x.gc.major?.count ?? 0} major (${f(x.gc.major?.pauseMs, 1)} ms), ${x.gc.minor?.count ?? 0} minor (${f(x.gc.minor?.pauseMs, 1)} ms)`).join('; ');
      gcLine.push(`${name} ${kind.toUpperCase()}: ${per}`);
    }
  }
  if (gcLine.length > 0) lines.push('', `V8 collections in the cf-native server during each ${res.settings.rate} req/s run (GET /metrics, main-thread pause): ${gcLine.join(' · ')}.`);
  if (res.reload) lines.push('', `Reload: ${res.reload.total} requests in ${res.settings.reloadS} s while ${res.reload.publishes} versions were published (one every 2 s, the server watching every 200 ms): ${res.reload.errors} errors, ${res.reload.non2xx} non-2xx, ${res.reload.failures} failed loads.`);
  if (res.soak) lines.push('', `Soak: ${res.soak.total} requests in ${res.settings.soakS} s, ${res.soak.errors} errors, ${res.soak.non2xx} non-2xx; RSS ${f(res.soak.rssStart / 2 ** 20, 1)} -> ${f(res.soak.rssEnd / 2 ** 20, 1)} MiB (${f(100 * res.soak.growth, 1)} %).`);
  return lines.join('\n') + '\n';
}
