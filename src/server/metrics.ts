// Prometheus metrics of one server instance (its own registry, so two servers in a process,
// or a user's own prom-client metrics, never collide).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

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
}
