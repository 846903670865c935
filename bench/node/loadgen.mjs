// An open-loop load generator for the fixed-rate latency runs of bench/serve.mjs.
//
// autocannon's `overallRate` refills its budget once a second, so a fixed rate arrives as a
// burst at the top of each second, and it reports whole milliseconds: neither measures what
// a server does at a steady offered rate. Here request i is due at t0 + i / rate (uniform
// arrivals, scheduled on the hrtime clock), is sent when due whatever happened to earlier
// ones (open loop: a slow answer never delays the next request), and its latency runs from
// the time it was due, so a late send is charged too (no coordinated omission). Times are
// in microseconds; percentiles come from every sample, sorted. Requests go out as bytes
// encoded before the run on plain keep-alive TCP sockets, one request at a time per socket;
// answers are read by their Content-Length (what Fastify sends).
//
//   node bench/node/loadgen.mjs --url URL --requests FILE --rate R --duration S [--sockets N]
//
// FILE is JSON { method, path?, paths?, bodies? }: GET cycles through `paths`, POST sends
// `bodies` to `path`. Prints one JSON line of results.
import { connect } from 'node:net';
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
const maxSockets = Number(o.sockets);
const now = () => Number(process.hrtime.bigint()) / 1000;

// Every request's bytes, encoded once before the run: the generator's own cost per request
// is then one write and the parse of one answer's head. node:http's client cost several times
// that per request (objects, header parsing, its agent), and on a 2-core machine its stalls
// showed up as send lag and as latency that was the generator's, not the server's.
const head = `Host: ${url.host}\r\nConnection: keep-alive\r\n`;
const wire =
  spec.method === 'GET'
    ? spec.paths.map((p) => Buffer.from(`GET ${p} HTTP/1.1\r\n${head}\r\n`))
    : spec.bodies.map((b) => {
        const body = Buffer.from(b);
        return Buffer.concat([Buffer.from(`POST ${spec.path} HTTP/1.1\r\n${head}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
      });

// NaN until answered: a request still open at the end is counted, not timed as 0.
const latency = new Float64Array(total).fill(NaN);
const service = new Float64Array(total).fill(NaN);
let done = 0;
let errors = 0;
let non2xx = 0;
let sent = 0;
let maxLag = 0;

const CRLF2 = Buffer.from('\r\n\r\n');
const idle = [];
const sockets = [];
const queued = [];
let open = 0;
let ended = false;

/** A keep-alive connection carrying one request at a time (HTTP/1.1 without pipelining). */
function newSocket() {
  open++;
  const c = { sock: connect({ host: url.hostname, port: Number(url.port) }), i: -1, due: 0, start: 0, buf: null, dead: false };
  sockets.push(c);
  c.sock.setNoDelay(true);
  c.sock.on('data', (d) => onData(c, d));
  const fail = () => {
    if (c.dead) return;
    c.dead = true;
    if (c.i >= 0) {
      errors++;
      c.i = -1;
      finish();
    }
    open--;
    const k = idle.indexOf(c);
    if (k >= 0) idle.splice(k, 1);
    // Requests waiting for a socket get a new one in its place (not once the run is over:
    // the sockets are then being closed on purpose).
    const next = ended ? undefined : queued.shift();
    if (next) write(newSocket(), next[0], next[1]);
  };
  c.sock.on('error', fail);
  c.sock.on('close', fail);
  return c;
}

/** Whole answers: a head, then Content-Length bytes (Fastify always sends the length). */
function onData(c, d) {
  c.buf = c.buf ? Buffer.concat([c.buf, d]) : d;
  for (;;) {
    const end = c.buf.indexOf(CRLF2);
    if (end < 0) return;
    const h = c.buf.toString('latin1', 0, end);
    const m = /\r\ncontent-length: *(\d+)/i.exec(h);
    const len = m ? Number(m[1]) : 0;
    if (c.buf.length < end + 4 + len) return;
    const status = Number(h.slice(9, 12));
    c.buf = c.buf.length > end + 4 + len ? c.buf.subarray(end + 4 + len) : null;
    answered(c, status);
    if (!c.buf) return;
  }
}

function answered(c, status) {
  const t = now();
  const i = c.i;
  c.i = -1;
  if (i < 0) return;
  latency[i] = t - c.due;
  service[i] = t - c.start;
  if (status < 200 || status >= 300) non2xx++;
  finish();
  const next = queued.shift();
  if (next) write(c, next[0], next[1]);
  else idle.push(c);
}

function write(c, i, due) {
  c.i = i;
  c.due = due;
  c.start = now();
  c.sock.write(wire[i % wire.length]);
}

function send(i, due) {
  maxLag = Math.max(maxLag, now() - due);
  const c = idle.pop() ?? (open < maxSockets ? newSocket() : null);
  if (c) write(c, i, due);
  else queued.push([i, due]);
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
ended = true;
for (const c of sockets) c.sock.destroy();

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
