// Prometheus metrics of one server instance (its own registry, so two servers in a process,
// or a user's own prom-client metrics, never collide).
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** V8 garbage collections of this process by kind: how many, and the main thread's pause in them. */
const gcKinds = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);
const gcTotals = new Map<string, { count: number; seconds: number }>([...gcKinds.values()].map((k) => [k, { count: 0, seconds: 0 }]));
let gcObserver: PerformanceObserver | null = null;

/**
 * One observer for the process, however many servers it runs (an observer per server would
 * outlive the server: there is nothing to close it with), started by the first server.
 * A latency SLO is mostly lost in major collections' pauses, so they are what an operator
 * (and the serving bench) reads here.
 */
function observeGc(): void {
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      const t = gcTotals.get(gcKinds.get(kind ?? -1) ?? '');
      if (!t) continue;
      t.count++;
      t.seconds += e.duration / 1000;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'cf_native_http_requests_total',
    help: 'HTTP requests answered, by route, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'cf_native_http_request_duration_seconds',
    help: 'Time from request to response, by route.',
    labelNames: ['route', 'method'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly modelInfo = new Gauge({
    name: 'cf_native_model_info',
    help: 'The version each model is serving (value 1).',
    labelNames: ['model', 'type', 'version'] as const,
    registers: [this.registry],
  });
  readonly modelLoaded = new Gauge({
    name: 'cf_native_model_loaded_timestamp_seconds',
    help: 'When the serving version of each model was loaded.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly reloadFailures = new Counter({
    name: 'cf_native_model_reload_failures_total',
    help: 'Versions that failed to load (the previous one kept serving).',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly feedbackEntries = new Gauge({
    name: 'cf_native_feedback_log_entries',
    help: 'Entries in the feedback log (replayed and appended).',
    registers: [this.registry],
  });
  readonly feedbackBytes = new Gauge({
    name: 'cf_native_feedback_log_bytes',
    help: 'Size of the feedback log.',
    registers: [this.registry],
  });
  // Process-wide totals (since the first server of the process started), read at scrape time.
  readonly gcCount = new Counter({
    name: 'cf_native_gc_collections_total',
    help: 'V8 garbage collections of the process, by kind (minor, major, incremental, weakcb).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
    collect() {
      this.reset();
      for (const [kind, t] of gcTotals) this.inc({ kind }, t.count);
    },
  });
  readonly gcPause = new Counter({
    name: 'cf_native_gc_pause_seconds_total',
    help: 'Time the main thread spent paused in V8 garbage collections, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
    collect() {
      this.reset();
      for (const [kind, t] of gcTotals) this.inc({ kind }, t.seconds);
    },
  });

  constructor() {
    observeGc();
  }
}
