// `cf-native serve PATH`: the HTTP server over a model folder (or a train output folder).
// SIGTERM or SIGINT stops accepting, lets requests in flight finish, closes the feedback log
// and exits 0.
import { readFile } from 'node:fs/promises';
import { isCfError } from '../errors.js';
import { gcInUse } from './gc.js';

export interface ServeFlags {
  host?: unknown;
  port?: unknown;
  model?: unknown;
  fallback?: unknown;
  feedback?: unknown;
  adminTokenFile?: unknown;
  watch?: unknown;
  docs?: boolean;
  maxK?: unknown;
  logLevel?: unknown;
  logRequests?: boolean;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function int(name: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
  return n;
}

class UsageError extends Error {}

function str(name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') throw new UsageError(`--${name} needs a value`);
  return String(v);
}

export async function serveCommand(path: string, f: ServeFlags): Promise<number> {
  let app;
  try {
    const host = str('host', f.host) ?? '127.0.0.1';
    const port = f.port === undefined ? 8080 : int('port', f.port, 0, 65535);
    const level = str('log-level', f.logLevel) ?? 'info';
    if (!LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')} (got ${JSON.stringify(level)})`);
    const fb = str('feedback', f.feedback);
    let adminToken: string | null = process.env.CF_NATIVE_ADMIN_TOKEN || null;
    const tokenFile = str('admin-token-file', f.adminTokenFile);
    if (tokenFile !== undefined) {
      try {
        adminToken = (await readFile(tokenFile, 'utf8')).trim();
      } catch (err) {
        throw new UsageError(`--admin-token-file ${tokenFile}: cannot read: ${(err as Error).message}`);
      }
    }
    const { createServer } = await import('../server/index.js');
    app = await createServer({
      path,
      model: str('model', f.model),
      fallback: (str('fallback', f.fallback) ?? 'none') as 'none' | 'popularity',
      feedbackLog: fb === 'none' ? null : fb,
      adminToken,
      watchMs: f.watch === undefined ? 1000 : int('watch', f.watch, 0, 3_600_000),
      docs: f.docs !== false,
      limits: f.maxK === undefined ? {} : { maxK: int('max-k', f.maxK, 1, 100_000) },
      logger: { level },
      logRequests: f.logRequests === true,
    });
    await app.listen({ host, port });
    app.log.info(gcInUse(), 'v8 garbage collector');
  } catch (err) {
    await app?.close().catch(() => {});
    const message = err instanceof UsageError || isCfError(err) ? err.message : String((err as Error)?.message ?? err);
    console.error(`cf-native: serve: ${message}`);
    return err instanceof UsageError || isCfError(err) ? 2 : 1;
  }
  return await new Promise<number>((done) => {
    let closing = false;
    const stop = (signal: string) => {
      if (closing) return;
      closing = true;
      app!.log.info({ signal }, 'shutting down: draining requests');
      app!.close().then(
        () => done(0),
        (err) => {
          console.error(`cf-native: serve: ${(err as Error).message}`);
          done(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
