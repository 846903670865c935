// The feedback log: an append-only CSV (`user,item,value,timestamp`, a header line first)
// that `cf-native train` reads as training data. An entry is acknowledged only after its
// bytes are on disk (fdatasync), so a 200 survives kill -9 or a power cut. Concurrent
// requests share one write and one sync (group commit). On open, a last line cut short by a
// crash (never acknowledged) is cut off, and the log is replayed in file order.
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CfError } from '../errors.js';

export interface FeedbackEntry {
  user: string;
  item: string;
  value: number;
  /** Unix seconds. */
  timestamp: number;
}

export const LOG_HEADER = 'user,item,value,timestamp\n';

/** A CSV field as the loader reads it back: quoted when it holds a delimiter, quote, line break or edge space. */
function field(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatEntry(e: FeedbackEntry): string {
  return `${field(e.user)},${field(e.item)},${e.value},${e.timestamp}\n`;
}

interface Pending {
  text: string;
  count: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class FeedbackLog {
  private pending: Pending[] = [];
  private writing: Promise<void> | null = null;
  private closed = false;

  private constructor(
    readonly path: string,
    private fh: FileHandle,
    private size: number,
    private count: number,
  ) {}

  /** Entries in the log (replayed and appended). */
  get entries(): number {
    return this.count;
  }

  get bytes(): number {
    return this.size;
  }

  /**
   * Open (or create) the log, repair a torn tail, and hand every entry to `replay` in file
   * order (summed per user and item, as training would read them).
   */
  static async open(path: string, replay: (user: string, item: string, value: number) => void): Promise<{ log: FeedbackLog; repairedBytes: number }> {
    await mkdir(dirname(path), { recursive: true });
    let fh: FileHandle;
    try {
      fh = await open(path, 'a+');
    } catch (err) {
      throw new CfError('ERR_CF_IO', `feedback log ${path}: cannot open: ${(err as Error).message}`, { cause: err });
    }
    try {
      let size = (await fh.stat()).size;
      let repairedBytes = 0;
      if (size === 0) {
        await fh.write(LOG_HEADER);
        await fh.datasync();
        await syncDir(dirname(path));
        size = LOG_HEADER.length;
      } else {
        const head = Buffer.alloc(Math.min(size, LOG_HEADER.length));
        await fh.read(head, 0, head.length, 0);
        if (head.toString('utf8') !== LOG_HEADER.slice(0, head.length) || size < LOG_HEADER.length) {
          throw new CfError('ERR_CF_DATA', `feedback log ${path}: line 1 must be the header ${JSON.stringify(LOG_HEADER.trim())}`);
        }
        const keep = await lastLineEnd(fh, size);
        if (keep < size) {
          // Bytes after the last newline were being written when the process died: no
          // request was answered for them.
          repairedBytes = size - keep;
          await fh.truncate(keep);
          await fh.datasync();
          size = keep;
        }
      }
      const count = size > LOG_HEADER.length ? await replayFile(path, replay) : 0;
      return { log: new FeedbackLog(path, fh, size, count), repairedBytes };
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  /** Resolves once the entries are on disk; they are then part of every later replay. */
  append(entries: FeedbackEntry[]): Promise<void> {
    if (this.closed) return Promise.reject(new CfError('ERR_CF_IO', `feedback log ${this.path} is closed`));
    const text = entries.map(formatEntry).join('');
    return new Promise((resolve, reject) => {
      this.pending.push({ text, count: entries.length, resolve, reject });
      this.writing ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0);
      const text = batch.map((p) => p.text).join('');
      const before = this.size;
      try {
        await this.fh.write(text);
        await this.fh.datasync();
        this.size += Buffer.byteLength(text);
        for (const p of batch) this.count += p.count;
        for (const p of batch) p.resolve();
      } catch (err) {
        // A partial write would glue the next entry to a torn line: cut back to the last
        // acknowledged byte before anything else is appended.
        await this.fh.truncate(before).catch(() => {});
        const e = new CfError('ERR_CF_IO', `feedback log ${this.path}: cannot append: ${(err as Error).message}`, { cause: err });
        for (const p of batch) p.reject(e);
      }
    }
    this.writing = null;
  }

  /** Waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.writing) await this.writing;
    await this.fh.close().catch(() => {});
  }
}

async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** The offset just after the last '\n' (0 when there is none). */
async function lastLineEnd(fh: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const n = end - start;
    await fh.read(chunk, 0, n, start);
    const at = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

/**
 * Read the log back. It is this module's own format (fields quoted as `field` writes them),
 * so a malformed line means the file was edited or damaged: an error naming file and line.
 * (The native loader is not used: it rightly refuses a training set of one user, which is a
 * fine feedback log.)
 */
async function replayFile(path: string, replay: (user: string, item: string, value: number) => void): Promise<number> {
  const text = await readFile(path, 'utf8');
  let line = 2;
  let count = 0;
  let at = LOG_HEADER.length;
  const bad = (why: string) => new CfError('ERR_CF_DATA', `feedback log ${path}: line ${line}: ${why}`);
  while (at < text.length) {
    const fields: string[] = [];
    const startLine = line;
    for (;;) {
      let value = '';
      if (text[at] === '"') {
        at++;
        for (;;) {
          const q = text.indexOf('"', at);
          if (q < 0) throw bad('unterminated quoted field');
          value += text.slice(at, q);
          for (let j = at; j < q; j++) if (text[j] === '\n') line++;
          if (text[q + 1] === '"') {
            value += '"';
            at = q + 2;
          } else {
            at = q + 1;
            break;
          }
        }
      } else {
        let end = at;
        while (end < text.length && text[end] !== ',' && text[end] !== '\n') end++;
        value = text.slice(at, end);
        at = end;
      }
      fields.push(value);
      if (text[at] === ',') {
        at++;
        continue;
      }
      if (text[at] === '\n') at++;
      else if (at < text.length) throw bad('a quoted field must be followed by , or a line end');
      break;
    }
    line++;
    if (fields.length !== 4) throw new CfError('ERR_CF_DATA', `feedback log ${path}: line ${startLine}: expected 4 fields (user,item,value,timestamp), got ${fields.length}`);
    const value = Number(fields[2]);
    if (fields[0] === '' || fields[1] === '' || fields[2] === '' || !Number.isFinite(value) || value < 0) {
      throw new CfError('ERR_CF_DATA', `feedback log ${path}: line ${startLine}: needs a user, an item and a finite value >= 0`);
    }
    replay(fields[0]!, fields[1]!, value);
    count++;
  }
  return count;
}
