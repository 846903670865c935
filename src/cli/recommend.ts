// `cf-native recommend` and `cf-native similar`: a saved model's ranked lists for every user
// (or item), or those listed in a file, written with original ids to a CSV, JSONL or Parquet
// file (atomically: the old file stays until the new one is complete) or to stdout.
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CfError, CfErrorCode, isCfError } from '../errors.js';
import { loadModel } from '../artifacts/model-io.js';
import { exportRecommendations, exportSimilarItems, type ExportResult, type ListFormat } from '../artifacts/lists.js';
import { call, native } from '../native.js';
import { duration, progressLine } from './progress.js';
import { explainedLists, writeExplainedLists } from './explain.js';

export interface ListCommandOptions {
  /** Values as cac parsed them (checked here, so the messages name the option); `argv`
   * gives them back as typed, which cac does not: `--users 007` reaches it as 7. */
  argv?: readonly string[];
  k?: unknown;
  out?: unknown;
  /** `--users` for recommend, `--items` for similar: 'all' or a file of ids. */
  queries?: unknown;
  filterSeen?: boolean;
  quiet?: boolean;
  /** `--explain N` (recommend only): N reasons per recommended item. */
  explain?: unknown;
}

type Kind = 'recommend' | 'similar';

const DEFAULT_K: Record<Kind, number> = { recommend: 100, similar: 10 };
const QUERY_OPTION: Record<Kind, string> = { recommend: '--users', similar: '--items' };

const usage = (message: string): CfError => new CfError(CfErrorCode.INVALID_ARG, message);

/** cac gives a repeated option as an array: the last one counts, as in most CLIs. */
const last = (v: unknown): unknown => (Array.isArray(v) ? v[v.length - 1] : v);

/** The last value of `--name VALUE` or `--name=VALUE` in `argv`, exactly as typed. */
export function rawOption(argv: readonly string[], name: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === `--${name}` && i + 1 < argv.length) found = argv[++i];
    else if (a.startsWith(`--${name}=`)) found = a.slice(name.length + 3);
  }
  return found;
}

/** `--k`: a positive integer, in digits (cac would also take 1e2 or 0x10); larger than the
 * catalogue returns every item there is. */
export function parseK(raw: unknown, fallback: number): number {
  const v = last(raw);
  if (v === undefined) return fallback;
  const text = String(v);
  const k = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(k) || k < 1) throw usage(`--k: must be a positive integer (got ${text})`);
  return k;
}

/** `--out`: a file name whose extension gives the format, or '-' / absent for CSV on stdout. */
function parseOut(raw: unknown): { path: string; format: ListFormat } | null {
  const v = last(raw);
  if (v === undefined || v === '-') return null;
  if (typeof v !== 'string' || v === '') throw usage(`--out: must be a file name (.csv, .jsonl, .parquet) or - for stdout (got ${String(v)})`);
  return { path: v, format: call(() => native().listFormat(v, '--out')) as ListFormat };
}

/**
 * The ids of a `--users`/`--items` file as model indices: one original id per line, taken as
 * the whole line (no header, no comments, no quoting; a trailing CR is dropped); blank lines
 * are skipped. An id the model does not know is an error naming the file, line and id.
 */
export async function readQueryFile(option: string, file: string, ids: readonly string[], what: string): Promise<Uint32Array> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message;
    throw new CfError(CfErrorCode.IO, `${option}: cannot read ${file}: ${reason}`, { cause });
  }
  // One pass over the model's ids to look the file's up; the rows themselves never cross into JS.
  const index = new Map<string, number>();
  ids.forEach((id, i) => index.set(id, i));
  const out: number[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const id = lines[n]!.endsWith('\r') ? lines[n]!.slice(0, -1) : lines[n]!;
    if (id.trim() === '') continue;
    const i = index.get(id);
    if (i === undefined) throw new CfError(CfErrorCode.DATA, `${option}: ${file}:${n + 1}: unknown ${what} id ${JSON.stringify(id)} (the model has ${ids.length} ${what}s)`);
    out.push(i);
  }
  if (out.length === 0) throw new CfError(CfErrorCode.DATA, `${option}: ${file} lists no ${what} ids (one per line)`);
  return Uint32Array.from(out);
}

export async function runListCommand(kind: Kind, dir: string, o: ListCommandOptions): Promise<number> {
  const say = (s: string) => {
    if (!o.quiet) process.stderr.write(`${s}\n`);
  };
  const start = performance.now();
  const stop = new AbortController();
  const onSigint = () => stop.abort(new CfError(CfErrorCode.CANCELLED, 'interrupted: nothing was written'));
  process.once('SIGINT', onSigint);
  let scratch: string | undefined;
  try {
    const what = kind === 'recommend' ? 'user' : 'item';
    const option = QUERY_OPTION[kind];
    const typed = (name: string, parsed: unknown): unknown => (parsed === undefined ? undefined : (o.argv && rawOption(o.argv, name)) ?? parsed);
    const k = parseK(typed('k', o.k), DEFAULT_K[kind]);
    const out = parseOut(typed('out', o.out));
    const queriesArg = last(typed(option.slice(2), o.queries));
    if (queriesArg !== undefined && (typeof queriesArg !== 'string' || queriesArg === '')) {
      throw usage(`${option}: must be all or a file of ${what} ids (got ${String(queriesArg)})`);
    }
    const explainRaw = kind === 'recommend' ? last(typed('explain', o.explain)) : undefined;
    const reasons = explainRaw === undefined ? 0 : Number(String(explainRaw));
    if (explainRaw !== undefined && (!/^\d+$/.test(String(explainRaw).trim()) || reasons < 1 || reasons > 1000)) {
      throw usage(`--explain: must be an integer in 1..1000, the reasons per item (got ${String(explainRaw)})`);
    }
    if (explainRaw !== undefined && out?.format === 'parquet') throw usage('--explain: writes CSV or JSONL (a because column); use --out file.csv or file.jsonl');
    const loaded = await loadModel(dir);
    const queries =
      queriesArg === undefined || queriesArg === 'all'
        ? undefined
        : await readQueryFile(option, queriesArg, kind === 'recommend' ? loaded.userIds : loaded.itemIds, what);
    // stdout gets the file once it is complete: the writer needs a file, and a half-written
    // list on a pipe would look complete to whoever reads it.
    if (!out) scratch = await mkdtemp(join(tmpdir(), 'cf-native-'));
    const path = out?.path ?? join(scratch!, `${kind}.csv`);
    if (reasons > 0) {
      const users = queries ?? Uint32Array.from(loaded.userIds.keys());
      const r = explainedLists(loaded.model, { users, k, reasons, filterSeen: o.filterSeen ?? true, userIds: loaded.userIds, itemIds: loaded.itemIds, format: out?.format === 'jsonl' ? 'jsonl' : 'csv', signal: stop.signal });
      if (out) await writeExplainedLists(out.path, r.text);
      else process.stdout.write(r.text);
      say(`recommend: ${r.rows.toLocaleString('en-US')} rows with ${reasons} reason(s) each (${users.length.toLocaleString('en-US')} users, k ${k}) ${out ? `written to ${out.path}` : 'written to stdout'} in ${duration((performance.now() - start) / 1000)}`);
      return 0;
    }
    const bar = progressLine(`${what}s`, { quiet: o.quiet ?? false });
    const common = { k, itemIds: loaded.itemIds, onProgress: bar.update, signal: stop.signal };
    let r: ExportResult;
    try {
      r =
        kind === 'recommend'
          ? await exportRecommendations(loaded.model, path, { ...common, users: queries, userIds: loaded.userIds, filterSeen: o.filterSeen ?? true })
          : await exportSimilarItems(loaded.model, path, { ...common, items: queries });
    } finally {
      bar.end();
    }
    const seconds = (performance.now() - start) / 1000;
    if (scratch) {
      await pipeline(createReadStream(path), process.stdout, { end: false }).catch((err: NodeJS.ErrnoException) => {
        // A reader that stopped early (`| head`) is not a failure of ours.
        if (err.code !== 'EPIPE') throw err;
      });
    }
    say(`${kind}: ${r.rows.toLocaleString('en-US')} rows (${r.queries.toLocaleString('en-US')} ${what}s, k ${k}) ${out ? `written to ${out.path}` : 'written to stdout'} in ${duration(seconds)}`);
    return 0;
  } catch (err) {
    if (isCfError(err, CfErrorCode.CANCELLED) && stop.signal.aborted) {
      process.stderr.write(`cf-native: ${err.message}\n`);
      return 130;
    }
    if (isCfError(err)) {
      process.stderr.write(`cf-native: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`cf-native: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    if (scratch) await rm(scratch, { recursive: true, force: true }).catch(() => {});
  }
}
