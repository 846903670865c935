import { readFileSync } from 'node:fs';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { CfError, CfErrorCode } from '../errors.js';
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

/** Reads and validates a config file; every failure, a missing file included, is an ERR_CF_CONFIG. */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(`${path}: cannot read the config file: ${readReason(err)}`, err);
  }
  return parseConfig(text, path);
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

/** Validates config text; `sourceName` prefixes every message and names the default output folder. */
export function parseConfig(text: string, sourceName: string): Config {
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
