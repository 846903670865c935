import { readFileSync } from 'node:fs';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { CfError, CfErrorCode } from '../errors.js';
import { kindOf } from '../options.js';
import type { Config } from './schema.js';
import { ConfigIssue, validateConfig, type IssueAnchor, type KeyPath } from './validate.js';

const configError = (message: string, cause?: unknown): CfError =>
  new CfError(CfErrorCode.CONFIG, message, cause === undefined ? undefined : { cause });

/**
 * Library text (the YAML parser's, the file system's) for a one-line message: its first line,
 * a lone CR ending a line too (the parser quotes source text, and old Mac files end lines so),
 * other control characters escaped as in JSON, at most 120 characters.
 */
function firstLine(s: string): string {
  const line = s.split(/\r\n|\r|\n/, 1)[0]!.trim();
  const cut = line.length > 120 ? `${line.slice(0, 120)}...` : line;
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(cut) ? JSON.stringify(cut).slice(1, -1) : cut;
}

function readReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return err instanceof Error ? firstLine(err.message) : String(err);
}

/**
 * Why `bytes` are not UTF-8 text a YAML parser should see, or null. UTF-16 and UTF-32 (with a
 * byte order mark or without: NULs) and binary files would otherwise parse as one long scalar
 * and be reported as "the config must be a mapping" with the bytes quoted.
 */
function notText(bytes: Buffer): string | null {
  const bom = bytes[0] === 0xff && bytes[1] === 0xfe ? 'FF FE' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'FE FF' : null;
  if (bom) return `the config file is UTF-16 or UTF-32 (it starts with the byte order mark ${bom}); save it as UTF-8`;
  const nul = bytes.indexOf(0);
  if (nul >= 0) return `the config file is not UTF-8 text (byte ${nul} is NUL: UTF-16 without a byte order mark, or a binary file); save it as UTF-8`;
  return null;
}

/** Reads and validates a config file; every failure, a missing file included, is an ERR_CF_CONFIG. */
export function loadConfig(path: string): Config {
  if (typeof path !== 'string' || path === '') {
    throw configError(`the config path must be a non-empty string (got ${typeof path === 'string' ? 'an empty string' : kindOf(path)})`);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw configError(`${path}: cannot read the config file: ${readReason(err)}`, err);
  }
  const why = notText(bytes);
  if (why) throw configError(`${path}: ${why}`);
  return parseConfig(bytes.toString('utf8'), path);
}

/** 1-based line of the key or value at `path`, or of the deepest ancestor that exists. */
function lineOf(doc: Document, lines: LineCounter, path: KeyPath, anchor: IssueAnchor): number | null {
  if (anchor === null) return null;
  let node: unknown = doc.contents;
  let key: unknown = null;
  let deepest: unknown = node;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((it) => String(isScalar(it.key) ? it.key.value : it.key) === String(seg));
      if (!pair) break;
      [key, node] = [pair.key, pair.value];
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      [key, node] = [null, node.items[seg]];
    } else {
      break;
    }
    deepest = anchor === 'key' && key !== null ? key : (node ?? key);
  }
  const range = (deepest as { range?: [number, number, number] } | null)?.range;
  return range ? lines.linePos(range[0]).line : null;
}

/**
 * A config built in code (what `runTrain` is given) checked like a file: the same rules and
 * key paths, without lines. A config from `loadConfig` passes unchanged.
 */
export function checkConfig(value: unknown, sourceName = 'config'): Config {
  try {
    return validateConfig(value, sourceName);
  } catch (err) {
    if (!(err instanceof ConfigIssue)) throw err;
    throw configError(`${sourceName}: ${err.message}`);
  }
}

/** Validates config text; `sourceName` prefixes every message and names the default output folder. */
export function parseConfig(text: string, sourceName: string): Config {
  if (typeof text !== 'string') throw configError(`${String(sourceName)}: the config text must be a string (got ${kindOf(text)})`);
  const lines = new LineCounter();
  // A BOM is legal in YAML but some editors' BOMs confuse downstream tooling; drop it up front.
  // logLevel 'error': the library's warnings (a mapping or list used as a key) would go to
  // stderr as a Node warning next to our own message; such a key is reported as unknown instead.
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter: lines, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const syntax = doc.errors[0];
  if (syntax) {
    // The library's own wording for this one tells a programmer to call another function.
    const what = syntax.code === 'MULTIPLE_DOCS' ? 'a config is a single YAML document (found a second ---)' : firstLine(syntax.message);
    throw configError(`${sourceName}:${lines.linePos(syntax.pos[0]).line}: YAML syntax error: ${what}`, syntax);
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw configError(`${sourceName}: the config file is empty (expected keys data, models, ...)`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw configError(`${sourceName}: ${err instanceof Error ? firstLine(err.message) : String(err)}`, err);
  }
  try {
    return validateConfig(raw, sourceName);
  } catch (err) {
    if (!(err instanceof ConfigIssue)) throw err;
    const line = lineOf(doc, lines, err.path, err.anchor);
    throw configError(`${sourceName}${line === null ? '' : `:${line}`}: ${err.message}`);
  }
}
