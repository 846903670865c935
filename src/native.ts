// The one place that touches the generated binding: everything else imports from here, so
// native errors always come out as CfError with the core's code. The addon loads on first
// use, so the CLI's --help and config-only errors work without a built binary.
import { createRequire } from 'node:module';
import { CfError } from './errors.js';
import { checkInstanceArg } from './options.js';
import type * as Binding from '../binding.cjs';

const require = createRequire(import.meta.url);
let loaded: typeof Binding | undefined;

export function native(): typeof Binding {
  if (loaded) return loaded;
  try {
    loaded = require('../binding.cjs') as typeof Binding;
  } catch (cause) {
    // binding.cjs says which platform, what it tried and how to build; keep its words.
    const own = (cause as { code?: unknown })?.code === 'ERR_CF_NATIVE_MISSING';
    throw new CfError(
      'ERR_CF_NATIVE',
      own ? (cause as Error).message.replace(/^cf-native: /, '') : `the native addon failed to load: ${(cause as Error)?.message ?? cause}`,
      { cause },
    );
  }
  return loaded;
}

export type { Binding };

/**
 * A native error carries the core's code (`ERR_CF_*`) as `code`: make it a CfError. napi's
 * own argument errors (a value of the wrong JS type, a string that is no variant of an
 * option's enum) become ERR_CF_INVALID_ARG.
 */
export function fromNative(err: unknown): unknown {
  if (err instanceof Error && !(err instanceof CfError)) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_CF_')) return new CfError(code, err.message, { cause: err });
    // napi's statuses for a value of the wrong type all end in Expected (BooleanExpected,
    // ArrayExpected, BigintExpected, ...).
    if (code === 'InvalidArg' || (typeof code === 'string' && code.endsWith('Expected'))) {
      return new CfError('ERR_CF_INVALID_ARG', err.message, { cause: err });
    }
  }
  return err;
}

/** A Matrix argument; `optional` lets null and undefined through. */
export function checkMatrix(name: string, v: unknown, optional = false): void {
  checkInstanceArg(name, v, native().Matrix, { what: "a Matrix (from matrixFromCoo, a split or a model's train)", optional });
}

/** Call into the binding, mapping its errors. */
export function call<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw fromNative(err);
  }
}

export async function callAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw fromNative(err);
  }
}
