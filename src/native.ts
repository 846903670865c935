// The one place that touches the generated binding: everything else imports from here, so
// native errors always come out as CfError with a stable code.
import { createRequire } from 'node:module';
import { CfError } from './errors.js';
import type * as Binding from '../binding.cjs';

const require = createRequire(import.meta.url);

function loadBinding(): typeof Binding {
  try {
    return require('../binding.cjs') as typeof Binding;
  } catch (cause) {
    throw new CfError(
      'ERR_CF_NATIVE',
      'cf-native: the native addon is not built for this platform; run `npm run build:native` (needs cargo)',
      { cause },
    );
  }
}

export const native = loadBinding();
export type { Binding };

const CODED = /^\[(ERR_CF_[A-Z_]+)\] ([\s\S]*)$/;

/** Turn a `[CODE] message` error from Rust into a CfError; pass anything else through. */
export function fromNative(err: unknown): unknown {
  if (err instanceof Error && !(err instanceof CfError)) {
    const m = CODED.exec(err.message);
    if (m) return new CfError(m[1]!, m[2]!, { cause: err });
  }
  return err;
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
