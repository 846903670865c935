// `cf-native/server`: the recommender plugin for a Fastify app of your own, or a complete
// server (`createServer`, what `cf-native serve` runs).
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { recommender, type RecommenderOptions } from './plugin.js';
import { resolveServerOptions } from './options.js';

export { recommender, type RecommenderOptions };
export { resolveServerOptions, ServerOptionsSchema, type ServerOptions, type ServerOptionsInput, type Limits } from './options.js';
export { FeedbackLog, LOG_HEADER, type FeedbackEntry } from './feedback.js';
export { HttpCode } from './errors.js';

export interface CreateServerOptions extends RecommenderOptions {
  /** Fastify's logger option (pino); default: off. */
  logger?: FastifyServerOptions['logger'];
  /** Log every request (pino, info level); default false: requests are counted in /metrics. */
  logRequests?: boolean;
}

/** A Fastify instance with the recommender registered at its root, ready to `listen`. */
export async function createServer(o: CreateServerOptions): Promise<FastifyInstance> {
  const { logger, logRequests, ...rest } = o;
  const opts = resolveServerOptions(rest);
  const app = Fastify({
    logger: logger ?? false,
    logController: new LogController({ disableRequestLogging: !logRequests }),
    bodyLimit: opts.limits.bodyLimit,
    // Stop waiting for idle keep-alive sockets on close: a SIGTERM drains, then exits.
    forceCloseConnections: 'idle',
    // The default of Fastify, spelt out: a single `?exclude=a` becomes ['a'] like a repeated one.
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true } },
  });
  await app.register(recommender, opts);
  return app;
}
