// Server CPU time per request (utime + stime of the server process over the requests it
// answered) under autocannon, for `cf-native serve` and the bench's bare route. Steadier than
// req/s on a shared 2-core VM, where the generator and other jobs move the throughput; the
// figure for A/B comparisons of serving changes (run the two builds alternately).
//
//   node bench/node/cpu_per_request.mjs MODEL_DIR get|post [seconds] [extra serve args...]
//
// MODEL_DIR is a model folder the bench made (bench/.data/serve/embedded or .../ml20m, after one
// `npm run bench -- serve`). WHICH=cf or WHICH=bare measures one server only; NODE_FLAGS are
// passed to cf-native's node. Linux only (/proc).
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(ROOT, 'package.json'));
const autocannon = require('autocannon');
const [dir, kind = 'get', secs = '8', ...extra] = process.argv.slice(2);
if (!dir || !['get', 'post'].includes(kind)) {
  console.error('usage: node bench/node/cpu_per_request.mjs MODEL_DIR get|post [seconds] [extra serve args...]');
  process.exit(2);
}
const TICK = 100; // USER_HZ
const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
};

async function start(args) {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise((res, rej) => {
    let o = '';
    const on = (d) => {
      o += d;
      const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(o);
      if (m) res(m[1]);
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.on('exit', (code) => rej(new Error(`server exited (${code}) before listening:\n${o}`)));
  });
  return { child, url };
}

// A fixed pseudo-random sequence of users (GET) or liked items (POST), the same every run.
let seed = 12345;
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed % n;
};
const ids = (f) => {
  const j = JSON.parse(readFileSync(join(resolve(dir), 'als', f), 'utf8'));
  return Array.isArray(j) ? j : (j.ids ?? Object.values(j)[0]);
};
const users = ids('user_ids.json');
const items = ids('item_ids.json');
const req =
  kind === 'get'
    ? { method: 'GET', setupRequest: (r) => ({ ...r, path: `/recommend?user=${encodeURIComponent(users[rand(users.length)])}&k=10` }) }
    : {
        method: 'POST',
        path: '/recommend',
        headers: { 'content-type': 'application/json' },
        setupRequest: (r) => ({ ...r, body: JSON.stringify({ liked: Array.from({ length: 10 }, () => items[rand(items.length)]), k: 10 }) }),
      };

async function measure(name, s) {
  await autocannon({ url: s.url, connections: 50, duration: 1, requests: [req] }); // warm-up
  const c0 = cpu(s.child.pid);
  const g0 = process.cpuUsage();
  const r = await autocannon({ url: s.url, connections: 50, duration: Number(secs), requests: [req] });
  const c1 = cpu(s.child.pid);
  const g = process.cpuUsage(g0);
  const n = r.requests.total;
  console.log(
    `${name} ${kind}: ${Math.round(r.requests.average)} req/s, server ${((1e6 * (c1 - c0)) / n).toFixed(1)} us/req, ` +
      `generator ${((g.user + g.system) / n).toFixed(1)} us/req, non2xx ${r.non2xx}`,
  );
}

const which = process.env.WHICH ?? 'both';
if (which !== 'cf') {
  const b = await start([join(ROOT, 'bench', 'node', 'bare_server.mjs')]);
  await measure('bare', b);
  b.child.kill('SIGTERM');
}
if (which !== 'bare') {
  const flags = process.env.NODE_FLAGS ? process.env.NODE_FLAGS.split(' ') : [];
  const s = await start([...flags, join(ROOT, 'dist', 'cli', 'main.js'), 'serve', dir, '--port', '0', '--watch', '0', '--feedback', 'none', '--log-level', 'info', '--no-docs', ...extra]);
  await measure('cf-native', s);
  s.child.kill('SIGTERM');
}
