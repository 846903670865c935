// The CLI's fit progress: a bar redrawn in place on a terminal, plain lines on a pipe, log
// lines never sharing a line with a bar, nothing when quiet.
import { describe, expect, it } from 'vitest';
import { fitProgress } from '../src/cli/progress.js';

function stream(tty: boolean) {
  const chunks: string[] = [];
  const s = { isTTY: tty, write: (c: string) => (chunks.push(c), true) } as unknown as NodeJS.WriteStream;
  return { s, text: () => chunks.join('') };
}
const step = (i: number, n: number, valid: number | null = null) => ({ iteration: i, iterations: n, seconds: 0.01, loss: 0.5 / i, valid });

describe('fit progress', () => {
  it('draws one bar per fit on a terminal, with the loss and validation score, closed before a log line', () => {
    const { s, text } = stream(true);
    const p = fitProgress({ quiet: false, stream: s });
    p.onProgress('als', step(1, 4));
    p.onProgress('als', step(2, 4, 0.1234));
    p.say('a log line'); // the fit stopped early: its bar ends before the line
    p.onProgress('bpr', step(1, 2));
    p.onProgress('bpr', step(2, 2));
    const out = text();
    expect(out).toContain('\r[######------------------]  25% 1/4 als iterations');
    // The first iteration took 10 ms: about 100 a second, not the thousands a bar started
    // after it would claim.
    expect(Number(/1\/4 als iterations ([\d,]+)\/s/.exec(out)![1]!.replace(/,/g, ''))).toBeLessThanOrEqual(100);
    expect(out).toMatch(/50% 2\/4 als iterations .*loss 0\.25000 valid 0\.1234\x1b\[K\na log line\n/);
    expect(out).toMatch(/100% 2\/2 bpr iterations .*\x1b\[K\n$/);
  });

  it('prints plain lines every 10 % on a pipe, and nothing when quiet', () => {
    const { s, text } = stream(false);
    const p = fitProgress({ quiet: false, stream: s });
    for (let i = 1; i <= 20; i++) p.onProgress('als', step(i, 20));
    const lines = text().trim().split('\n');
    expect(lines.length).toBe(11); // the first iteration, then 10 %, 20 %, ... 100 %
    expect(lines.at(-1)).toMatch(/^100% 20\/20 als iterations [\d,]+\/s loss 0\.02500$/);
    expect(text()).not.toContain('\r');
    const q = stream(true);
    const quiet = fitProgress({ quiet: true, stream: q.s });
    quiet.onProgress('als', step(1, 2));
    quiet.say('x');
    expect(q.text()).toBe('');
  });
});
