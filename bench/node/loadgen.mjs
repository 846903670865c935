// An open-loop load generator for the fixed-rate latency runs of bench/serve.mjs.
//
// autocannon's `overallRate` refills its budget once a second, so a fixed rate arrives as a
// burst at the top of each second, and it reports whole milliseconds: neither measures what
// a server does at a steady offered rate. Here request i is due at t0 + i / rate (uniform
// arrivals, scheduled on the hrtime clock), is sent when due whatever happened to earlier
// ones (open loop: a slow answer never delays the next request), and its latency runs from
// the time it was due, so a late send is charged too (no coordinated omission). Times are
// in microseconds; percentiles come from every sample, sorted.
//
//   node bench/node/loadgen.mjs --url URL --requests FILE --rate R --duration S [--sockets N]
//
// FILE is JSON { method, path?, paths?, bodies? }: GET cycles through `paths`, POST sends
// `bodies` to `path`. Prints one JSON line of results.
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },
    requests: { type: 'string' },
    rate: { type: 'string', default: '2000' },
    duration: { type: 'string', default: '10' },
    sockets: { type: 'string', default: '64' },
  },
});
const spec = JSON.parse(readFileSync(o.requests, 'utf8'));
const rate = Number(o.rate);
const total = Math.round(rate * Number(o.duration));
const url = new URL(o.url);
// Enough keep-alive sockets that a due request finds a free one unless the server has
// fallen behind by that many answers.
const agent = new Agent({ keepAlive: true, maxSockets: Number(o.sockets) });
const now = () => Number(process.hrtime.bigint()) / 1000;

// NaN until answered: a request still open at the end is counted, not timed as 0.
const latency = new Float64Array(total).fill(NaN);
const service = new Float64Array(total).fill(NaN);
let done = 0;
let errors = 0;
let non2xx = 0;
let sent = 0;
let maxLag = 0;

function send(i, due) {
  const method = spec.method;
  const path = method === 'GET' ? spec.paths[i % spec.paths.length] : spec.path;
  const body = method === 'POST' ? spec.bodies[i % spec.bodies.length] : null;
  const start = now();
  maxLag = Math.max(maxLag, start - due);
  const req = request(
    {
      host: url.hostname,
      port: url.port,
      method,
      path,
      agent,
      headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
    },
    (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        const t = now();
        latency[i] = t - due;
        service[i] = t - start;
        if (res.statusCode < 200 || res.statusCode >= 300) non2xx++;
        finish();
      });
    },
  );
  req.on('error', () => {
    latency[i] = NaN;
    errors++;
    finish();
  });
  req.end(body ?? undefined);
}

let resolveAll;
const all = new Promise((r) => (resolveAll = r));
function finish() {
  if (++done === total) resolveAll();
}

// Timers fire on whole milliseconds: sleep with them while the next request is over 1.5 ms
// away, then poll with setImmediate (which still services sockets each turn) so requests
// leave within a few microseconds of their due time.
const t0 = now() + 20_000;
function tick() {
  const t = now();
  while (sent < total && t0 + (sent * 1e6) / rate <= t) {
    send(sent, t0 + (sent * 1e6) / rate);
    sent++;
  }
  if (sent >= total) return;
  const wait = t0 + (sent * 1e6) / rate - now();
  if (wait > 1500) setTimeout(tick, Math.floor((wait - 1000) / 1000));
  else setImmediate(tick);
}
tick();
const timeout = setTimeout(() => resolveAll(), Number(o.duration) * 1000 + 20_000 + 10_000);
await all;
clearTimeout(timeout);
const elapsed = (now() - t0) / 1e6;
agent.destroy();

const pct = (xs, p) => {
  const v = Float64Array.from(xs.filter((x) => Number.isFinite(x))).sort();
  if (v.length === 0) return null;
  return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)] / 1000;
};
const stats = (xs) => ({ p50: pct(xs, 50), p90: pct(xs, 90), p99: pct(xs, 99), p999: pct(xs, 99.9), max: pct(xs, 100) });
process.stdout.write(
  JSON.stringify({
    rate,
    requests: total,
    answered: done - errors,
    unanswered: total - done,
    errors,
    non2xx,
    achievedRate: (done - errors) / elapsed,
    maxSendLagMs: maxLag / 1000,
    // From the due time (what a client arriving then waits), and from the actual send.
    latencyMs: stats(latency),
    serviceMs: stats(service),
  }) + '\n',
);
