// Progress of a long CLI step on stderr: a bar redrawn in place on a terminal; on a pipe or
// a log file, a plain line every 10 % or every 5 seconds, so logs stay short but show life.
// Quiet prints nothing.

export interface ProgressLine {
  /** `extra`: what else the line says now (a loss, a validation score). */
  update(done: number, total: number, extra?: string): void;
  /** Ends the bar's line (a terminal) so what follows starts on a fresh one. */
  end(): void;
}

const BAR = 24;
const LOG_EVERY_MS = 5000;

/** `12s`, `3m05s`, `1h02m`. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const count = (n: number): string => n.toLocaleString('en-US');

export function progressLine(what: string, o: { quiet: boolean; stream?: NodeJS.WriteStream; startedAt?: number }): ProgressLine {
  const out = o.stream ?? process.stderr;
  if (o.quiet) return { update() {}, end() {} };
  // A caller that learns of the work after it began (a fit's first iteration) says when.
  const start = o.startedAt ?? performance.now();
  const tty = out.isTTY === true;
  let drawn = false;
  let lastLog = start;
  let lastTenth = -1;
  const text = (done: number, total: number, bar: boolean, extra: string): string => {
    const secs = (performance.now() - start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const eta = done > 0 && done < total ? ` ETA ${duration((total - done) / rate)}` : '';
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    const filled = total > 0 ? Math.round((BAR * done) / total) : BAR;
    const head = bar ? `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ` : '';
    return `${head}${String(pct).padStart(3)}% ${count(done)}/${count(total)} ${what} ${count(Math.round(rate))}/s${eta}${extra ? ` ${extra}` : ''}`;
  };
  return {
    update(done, total, extra = '') {
      if (tty) {
        // \r and erase-to-end: one line, redrawn in place.
        out.write(`\r${text(done, total, true, extra)}\x1b[K`);
        drawn = true;
        return;
      }
      const tenth = total > 0 ? Math.floor((10 * done) / total) : 10;
      const now = performance.now();
      if (tenth > lastTenth || now - lastLog >= LOG_EVERY_MS) {
        out.write(`${text(done, total, false, extra)}\n`);
        lastTenth = tenth;
        lastLog = now;
      }
    },
    end() {
      if (drawn) out.write('\n');
      drawn = false;
    },
  };
}

/**
 * Progress of the fits of `train` and `tune` on stderr: one bar per fit (iteration, ETA, the
 * last loss and validation score) on a terminal, plain lines every 10 % or 5 s otherwise,
 * nothing when quiet. `say` prints a log line, closing a bar in progress first so the two
 * never share a line (a fit that stops early never reaches its last iteration).
 */
export function fitProgress(o: { quiet: boolean; stream?: NodeJS.WriteStream }): {
  say(line: string): void;
  onProgress(model: string, p: { iteration: number; iterations: number; seconds: number; loss: number | null; valid?: number | null }): void;
} {
  const out = o.stream ?? process.stderr;
  let bar: ProgressLine | null = null;
  let current = '';
  const close = () => {
    bar?.end();
    bar = null;
  };
  return {
    say(line) {
      if (o.quiet) return;
      close();
      out.write(`${line}\n`);
    },
    onProgress(model, p) {
      if (o.quiet) return;
      // A new fit: another model, or the same one again (a grid's next value, a trial).
      if (!bar || model !== current || p.iteration <= 1) {
        close();
        // The first report comes after the first iteration: the rate and ETA count it too.
        bar = progressLine(`${model} iterations`, { quiet: false, stream: out, startedAt: performance.now() - p.seconds * 1000 });
        current = model;
      }
      const extra = [p.loss === null ? '' : `loss ${p.loss.toFixed(5)}`, p.valid == null ? '' : `valid ${p.valid.toFixed(4)}`].filter(Boolean).join(' ');
      bar.update(p.iteration, p.iterations, extra);
      if (p.iteration >= p.iterations) close();
    },
  };
}
