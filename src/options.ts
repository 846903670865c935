// Option objects of the public API are checked like YAML mappings: an unknown key is an
// error with a "did you mean", never silently ignored.
import { CfError } from './errors.js';

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The candidate closest to `word` when close enough to be a typo (the core's rule too). */
export function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : null;
}

/** Throws ERR_CF_INVALID_ARG for a key of `o` that is not in `allowed`. */
export function checkKeys(o: object | null | undefined, allowed: readonly string[], what: string): void {
  if (o === null || o === undefined) return;
  if (typeof o !== 'object') throw new CfError('ERR_CF_INVALID_ARG', `${what} must be an object (got ${typeof o})`);
  for (const key of Object.keys(o)) {
    if (allowed.includes(key)) continue;
    const guess = closest(key, allowed);
    const hint = guess ? `did you mean ${guess}?` : `expected one of: ${allowed.join(', ')}`;
    throw new CfError('ERR_CF_INVALID_ARG', `${what}: ${key} is not a known option (${hint})`);
  }
}

/** A value as config and option errors show it: strings quoted, containers by kind. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  // Cut short: a binary file read as YAML is one scalar of its whole content.
  if (typeof v === 'string') return v.length > 60 ? `${JSON.stringify(v.slice(0, 60))}... (${v.length} characters)` : JSON.stringify(v);
  return String(v);
}

/** What a JS value is, for "must be X (got Y)" messages about API arguments. */
/** "a Float32Array", "an Int32Array". */
const a = (name: string): string => `${/^[AEIO]/i.test(name) ? 'an' : 'a'} ${name}`;

export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return a(v.constructor.name);
  if (typeof v === 'object') {
    const name = (v as object).constructor?.name;
    return name && name !== 'Object' ? a(name) : 'an object';
  }
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)})`;
  return typeof v === 'number' ? 'a number' : `a ${typeof v}`;
}

const invalidArg = (name: string, problem: string): CfError => new CfError('ERR_CF_INVALID_ARG', `${name}: ${problem}`);

/**
 * An options or params argument: absent, or a plain object. Anything else would be spread
 * into one (a string into {0: 'f', ...}) and reported as an unknown option "0".
 */
export function checkOptionsObject(name: string, o: unknown): void {
  if (o === undefined || o === null) return;
  if (typeof o !== 'object' || Array.isArray(o) || ArrayBuffer.isView(o)) {
    throw invalidArg(name, `must be an object of options (got ${kindOf(o)})`);
  }
}

/** A number argument (the binding checks it is whole and in range, naming it too). */
export function checkNumberArg(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number') throw invalidArg(name, `must be a number (got ${kindOf(v)})`);
}

/**
 * An argument that must be an instance of `type` (a typed array, a binding class): the
 * binding's own messages ("Expected Uint32Array, got Int32Array", "Failed to recover
 * `Matrix` type from napi value") name no argument. `what` defaults to the class name with its article.
 */
export function checkInstanceArg(name: string, v: unknown, type: abstract new (...a: never[]) => object, o: { what?: string; optional?: boolean } = {}): void {
  if (o.optional && (v === undefined || v === null)) return;
  if (!(v instanceof type)) throw invalidArg(name, `must be ${o.what ?? a(type.name)} (got ${kindOf(v)})`);
}
