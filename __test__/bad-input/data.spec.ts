// Bad data files through `cf-native train CONFIG`: each is exit code 2 with one line naming
// the file (and the line, where a row is at fault), or is accepted and says so here.
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { expectOneLineExit2, tmp, trainInProcess, writeFiles, type TrainRun } from './helpers.js';

const MODELS = '[{ type: als, params: { factors: 4, iterations: 2 } }]';
const config = (data: string, extra = '') => `data:\n${data}\nmodels: ${MODELS}\noutput: $DIR/out\n${extra}`;
const path = (file = 'd.csv') => `  path: $DIR/${file}`;

/** 40 rows, 8 users x 11 items, ratings 1..5, with a header. */
const GOOD = 'u,i,r\n' + Array.from({ length: 40 }, (_, j) => `u${j % 8},i${(j * 7) % 11},${1 + (j % 5)}`).join('\n') + '\n';
/** Deterministic bytes that are no text at all (NULs on both byte parities). */
const GARBAGE = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) % 256));
/** The same without NULs: looks like Latin-1 text to the reader. */
const GARBAGE_NO_NUL = Buffer.from(Array.from({ length: 4096 }, (_, i) => 1 + ((i * 2654435761) % 255)));
const utf16 = (s: string, bigEndian: boolean, bom: boolean): Buffer => {
  const le = Buffer.from(s, 'utf16le');
  const body = bigEndian ? Buffer.from(le).swap16() : le;
  return bom ? Buffer.concat([Buffer.from(bigEndian ? [0xfe, 0xff] : [0xff, 0xfe]), body]) : body;
};

interface Rejected {
  name: string;
  data: string;
  files: Record<string, string | Uint8Array>;
  extra?: string;
  /** The file the message must name ($DIR/file), and the line of the row at fault. */
  file: string;
  line?: number;
  want: RegExp;
}

const rejected: Rejected[] = [
  // Files that hold no rows.
  { name: 'empty file', data: path(), files: { 'd.csv': '' }, file: 'd.csv', want: /: file is empty$/ },
  { name: 'blank lines only', data: path(), files: { 'd.csv': ' \n\n\t\r\n' }, file: 'd.csv', want: /: file is empty$/ },
  { name: 'header only', data: path(), files: { 'd.csv': 'user,item,rating\n' }, file: 'd.csv', want: /: no data rows after the header$/ },
  { name: 'header only, columns by name', data: `${path()}\n  columns: { user: u, item: i }`, files: { 'd.csv': 'u,i\n' }, file: 'd.csv', want: /no data rows after the header/ },
  // Rows of the wrong shape.
  { name: 'too few fields after blank lines', data: `${path()}\n  columns: { user: 0, item: 1, rating: 2 }\n  positive_threshold: 1`, files: { 'd.csv': '1,2,3\n\n\n4,5\n' }, file: 'd.csv', line: 4, want: /expected at least 3 fields, found 2$/ },
  { name: 'one field per line', data: path(), files: { 'd.csv': 'a\nb\nc\n' }, file: 'd.csv', want: /cannot detect the delimiter .*set data\.delimiter/ },
  { name: 'the configured delimiter is not the file\'s', data: `${path()}\n  delimiter: ";"`, files: { 'd.csv': GOOD }, file: 'd.csv', line: 1, want: /expected at least 2 fields, found 1/ },
  { name: 'empty user id', data: path(), files: { 'd.csv': 'u,i,r\n,b,3\nc,d,4\n' }, file: 'd.csv', line: 2, want: /empty user id in column "u"$/ },
  { name: 'a row of delimiters only', data: `${path()}\n  header: true`, files: { 'd.csv': 'u,i,r\na,b,3\n,,\n' }, file: 'd.csv', line: 3, want: /empty user id/ },
  // Ratings that are not positive finite numbers.
  { name: 'non-numeric rating', data: `${path()}\n  positive_threshold: 2`, files: { 'd.csv': 'u,i,r\na,b,3\nc,d,four\n' }, file: 'd.csv', line: 3, want: /column "r" value "four" is not a number$/ },
  { name: 'hexadecimal rating', data: `${path()}\n  header: true\n  values: rating`, files: { 'd.csv': 'u,i,r\na,b,3\nc,d,0x10\n' }, file: 'd.csv', line: 3, want: /value "0x10" is not a number/ },
  { name: 'nan rating under a threshold', data: `${path()}\n  positive_threshold: 2`, files: { 'd.csv': 'u,i,r\na,b,3\nc,d,nan\n' }, file: 'd.csv', line: 3, want: /value "nan" is not finite$/ },
  { name: 'Infinity rating', data: `${path()}\n  values: rating`, files: { 'd.csv': 'u,i,r\na,b,3\nc,d,Infinity\n' }, file: 'd.csv', line: 3, want: /value "Infinity" is not finite$/ },
  { name: '-inf rating', data: `${path()}\n  values: log1p`, files: { 'd.csv': 'u,i,r\na,b,3\nc,d,-inf\n' }, file: 'd.csv', line: 3, want: /value "-inf" is not finite$/ },
  { name: 'rating beyond float32 (1e39)', data: `${path()}\n  values: rating`, files: { 'd.csv': 'u,i,r\na,b,3\nc,d,1e39\n' }, file: 'd.csv', line: 3, want: /value "1e39" is not finite$/ },
  { name: 'zero rating, values binary, no threshold', data: path(), files: { 'd.csv': 'u,i,r\na,b,3\nc,d,0\n' }, file: 'd.csv', line: 3, want: /rating 0 is not positive.*set positive_threshold/ },
  { name: 'negative rating, values binary, no threshold', data: path(), files: { 'd.csv': 'u,i,r\na,b,3\nc,d,-1\n' }, file: 'd.csv', line: 3, want: /rating -1 is not positive/ },
  { name: 'negative rating, values rating', data: `${path()}\n  values: rating`, files: { 'd.csv': 'u,i,r\na,b,3\nc,d,-1\n' }, file: 'd.csv', line: 3, want: /rating -1 is negative; values: rating and log1p need ratings >= 0$/ },
  { name: 'negative rating, values log1p', data: `${path()}\n  values: log1p`, files: { 'd.csv': 'u,i,r\na,b,3\nc,d,-0.5\n' }, file: 'd.csv', line: 3, want: /rating -0\.5 is negative/ },
  { name: 'values rating on a file without a rating column', data: `${path()}\n  values: rating`, files: { 'd.csv': 'a,b\nc,d\n' }, file: 'd.csv', want: /need a rating column, and this file has none/ },
  { name: 'a field of 5 MB is quoted cut short', data: `${path()}\n  header: true\n  values: rating`, files: { 'd.csv': `u,i,r\na,b,${'x'.repeat(5_000_000)}\n` }, file: 'd.csv', line: 2, want: /value "x{40}"\.\.\. \(5000000 bytes\) is not a number$/ },
  // Encodings.
  { name: 'UTF-16 LE with a BOM', data: path(), files: { 'd.csv': utf16(GOOD, false, true) }, file: 'd.csv', want: /file is UTF-16 \(little-endian\); convert it to UTF-8/ },
  { name: 'UTF-16 BE with a BOM', data: path(), files: { 'd.csv': utf16(GOOD, true, true) }, file: 'd.csv', want: /file is UTF-16 \(big-endian\)/ },
  { name: 'UTF-16 LE without a BOM', data: path(), files: { 'd.csv': utf16(GOOD, false, false) }, file: 'd.csv', want: /file is UTF-16 \(little-endian\)/ },
  { name: 'UTF-32 LE with a BOM', data: path(), files: { 'd.csv': Buffer.from([0xff, 0xfe, 0, 0, 0x61, 0, 0, 0, 0x2c, 0, 0, 0]) }, file: 'd.csv', want: /file is UTF-32 \(little-endian\)/ },
  { name: 'binary garbage', data: path('d.bin'), files: { 'd.bin': GARBAGE }, file: 'd.bin', want: /cannot detect the delimiter/ },
  { name: 'binary garbage without NULs (read as Latin-1)', data: path('d.bin'), files: { 'd.bin': GARBAGE_NO_NUL }, file: 'd.bin', line: 1, want: /empty item id in column #1$/ },
  // Compression.
  { name: 'truncated gzip', data: path('d.csv.gz'), files: { 'd.csv.gz': gzipSync(Buffer.from(GOOD)).subarray(0, 30) }, file: 'd.csv.gz', want: /^cf-native: cannot read .*: (incomplete|corrupt) deflate stream$/ },
  { name: 'gzip magic and nothing else', data: path('d.csv.gz'), files: { 'd.csv.gz': Buffer.from([0x1f, 0x8b]) }, file: 'd.csv.gz', want: /cannot read .*unexpected end of file/ },
  { name: 'gzip header over a corrupt deflate stream', data: path('d.csv.gz'), files: { 'd.csv.gz': Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('not deflate at all')]) }, file: 'd.csv.gz', want: /cannot read .*(corrupt|invalid)/ },
  { name: 'gzip of binary garbage', data: path('d.csv.gz'), files: { 'd.csv.gz': gzipSync(GARBAGE) }, file: 'd.csv.gz', want: /cannot detect the delimiter/ },
  { name: 'gzip of an empty file', data: path('d.csv.gz'), files: { 'd.csv.gz': gzipSync(Buffer.alloc(0)) }, file: 'd.csv.gz', want: /: file is empty$/ },
  // Paths that are no readable file.
  { name: 'missing file', data: path('nope.csv'), files: {}, file: 'nope.csv', want: /cannot read .*nope\.csv: No such file or directory/ },
  { name: 'a directory as data.path', data: path('sub'), files: { 'sub/x.csv': GOOD }, file: 'sub', want: /cannot read .*sub: Is a directory/ },
  { name: 'pre-split valid file missing', data: '  train: $DIR/t.csv\n  valid: $DIR/v.csv', files: { 't.csv': GOOD }, file: 'v.csv', want: /cannot read .*v\.csv: No such file/ },
  { name: 'pre-split test file empty', data: '  train: $DIR/t.csv\n  test: $DIR/x.csv', files: { 't.csv': GOOD, 'x.csv': '' }, file: 'x.csv', want: /: file is empty$/ },
  // Line ends and quoting: the line named is the line in the file.
  { name: 'CRLF, bad row', data: path(), files: { 'd.csv': 'u,i,r\r\na,b,3\r\nc,d,x\r\n' }, file: 'd.csv', line: 3, want: /value "x" is not a number/ },
  { name: 'CR-only line ends, bad row', data: path(), files: { 'd.csv': 'u,i,r\ra,b,3\rc,d,x\r' }, file: 'd.csv', line: 3, want: /value "x" is not a number/ },
  { name: 'quoted field spanning two lines, bad row after it', data: path(), files: { 'd.csv': 'u,i,r\n"a\n1",b,3\nc,d,x\n' }, file: 'd.csv', line: 4, want: /value "x" is not a number/ },
  { name: 'unterminated quote', data: path(), files: { 'd.csv': 'u,i,r\na,b,3\n"c,d,4\ne,f,5\n' }, file: 'd.csv', line: 3, want: /expected at least 3 fields, found 1/ },
  // Columns.
  { name: 'column name not in the header', data: `${path()}\n  columns: { user: u, item: i, rating: stars }`, files: { 'd.csv': GOOD }, file: 'd.csv', want: /no column named "stars" for the rating \(header has: u, i, r\)/ },
  { name: 'column name the header repeats', data: `${path()}\n  columns: { user: id, item: item }`, files: { 'd.csv': 'id,id,item\n1,2,3\n4,5,6\n' }, file: 'd.csv', want: /the header names 2 columns "id" \(#0, #1\), so the user column is ambiguous/ },
  { name: 'column index past the last field', data: `${path()}\n  columns: { user: 0, item: 7 }`, files: { 'd.csv': GOOD }, file: 'd.csv', line: 2, want: /expected at least 8 fields, found 3/ },
  // Times.
  { name: 'time split over a non-numeric time', data: `${path()}\n  columns: { user: 0, item: 1, time: 2 }`, extra: 'split: { strategy: time, test_cutoff: 6 }', files: { 'd.csv': 'a,1,5\nb,2,noon\n' }, file: 'd.csv', line: 2, want: /column #2 value "noon" is not a timestamp number$/ },
  { name: 'time of 1e300 (beyond 64 bits)', data: `${path()}\n  columns: { user: 0, item: 1, time: 2 }`, extra: 'split: { strategy: time, test_cutoff: 6 }', files: { 'd.csv': 'a,1,5\nb,2,1e300\na,2,3\n' }, file: 'd.csv', line: 2, want: /value "1e300" is not a timestamp within the range of a 64-bit integer$/ },
];

// Data that is well-formed but leaves nothing to learn from: named by what filtered it out.
const unusable: { name: string; data: string; files: Record<string, string>; want: RegExp }[] = [
  { name: 'a single user', data: path(), files: { 'd.csv': 'u,i\na,1\na,2\na,3\n' }, want: /the data has 1 user after filtering; collaborative filtering needs at least 2$/ },
  { name: 'a single item', data: path(), files: { 'd.csv': 'u,i\na,1\nb,1\nc,1\n' }, want: /the data has 1 item after filtering/ },
  { name: 'every row below positive_threshold', data: `${path()}\n  positive_threshold: 10`, files: { 'd.csv': GOOD }, want: /no interactions left after filtering \(40 rows read, 40 below positive_threshold, 0 removed by min_user\/min_item_interactions\)$/ },
  { name: 'a k-core that removes everything', data: `${path()}\n  min_user_interactions: 100`, files: { 'd.csv': GOOD }, want: /no interactions left .*40 removed by min_user\/min_item_interactions/ },
];

describe('bad data files: exit 2, one line naming the file (and line)', () => {
  for (const c of rejected) {
    it(c.name, async () => {
      const r = await trainInProcess(config(c.data, c.extra), c.files);
      const where = join(r.dir, c.file) + (c.line === undefined ? '' : `:${c.line}: `);
      expectOneLineExit2(r, c.want, [where]);
    });
  }

  it.skipIf(process.platform === 'win32' || process.getuid?.() === 0)('an unreadable file (chmod 000; skipped as root, who reads it anyway)', async () => {
    const dir = tmp('unreadable');
    writeFiles(dir, { 'd.csv': GOOD });
    chmodSync(join(dir, 'd.csv'), 0);
    const r = await trainInProcess(config(`  path: ${join(dir, 'd.csv')}`));
    expectOneLineExit2(r, /cannot read .*d\.csv: Permission denied/);
  });

  for (const c of unusable) {
    it(c.name, async () => {
      const r = await trainInProcess(config(c.data), c.files);
      expectOneLineExit2(r, c.want);
    });
  }
});

/** Exit 0, and the model folder with its metrics was written. */
function trained(r: TrainRun): Record<string, unknown> {
  expect(r.code, r.stderr).toBe(0);
  const metrics = join(r.dir, 'out', 'als', 'metrics.json');
  expect(existsSync(metrics)).toBe(true);
  return JSON.parse(readFileSync(metrics, 'utf8')) as Record<string, unknown>;
}

const userIds = (r: TrainRun): string[] => JSON.parse(readFileSync(join(r.dir, 'out', 'als', 'user_ids.json'), 'utf8')) as string[];

describe('unusual data files that are accepted', () => {
  it('a UTF-8 BOM is dropped, not read into the first id', async () => {
    const r = await trainInProcess(config(path()), { 'd.csv': `\ufeff${GOOD}` });
    trained(r);
    expect(userIds(r)[0]).toBe('u0');
  });

  it('CR-only line ends (classic Mac files)', async () => {
    const r = await trainInProcess(config(path()), { 'd.csv': GOOD.replaceAll('\n', '\r') });
    trained(r);
    expect(userIds(r)).toHaveLength(8);
  });

  it('quoted ids holding the delimiter and a line break', async () => {
    const r = await trainInProcess(config(path(), 'split: { strategy: none }'), { 'd.csv': 'u,i,r\n"a,1",b,3\n"c\n2",d,4\n"a,1",d,2\n"c\n2",b,5\n' });
    trained(r);
    expect(userIds(r)).toEqual(['a,1', 'c\n2']);
  });

  it('string ids under a header of words no detector knows (header: true)', async () => {
    const r = await trainInProcess(config(`${path()}\n  header: true`, 'split: { strategy: none }'), { 'd.csv': 'who,what\nx,y\nz,w\nx,w\n' });
    trained(r);
    expect(userIds(r)).toEqual(['x', 'z']);
  });

  it('a repeated header name no column refers to', async () => {
    const r = await trainInProcess(config(`${path()}\n  columns: { user: u, item: i }`, 'split: { strategy: none }'), { 'd.csv': 'u,i,x,x\na,1,0,0\nb,2,0,0\na,2,0,0\n' });
    trained(r);
  });

  it('pre-split test rows of users and items the training file does not have', async () => {
    // They are users to score without training rows (counted, not ranked) and unreachable hits.
    const r = await trainInProcess(config('  train: $DIR/t.csv\n  test: $DIR/x.csv'), { 't.csv': GOOD, 'x.csv': 'u,i,r\nzz,i1,4\nu1,qq,5\nu2,i3,5\n' });
    const m = trained(r);
    expect(m.users_without_train).toBe(1);
    expect(m.users_evaluated).toBe(2);
  });

  it('a 5 MB id on one line', async () => {
    const r = await trainInProcess(config(path(), 'split: { strategy: none }'), { 'd.csv': `${GOOD}${'x'.repeat(5_000_000)},i1,4\n` });
    trained(r);
    expect(userIds(r).at(-1)).toHaveLength(5_000_000);
  });

  it('every user with one row: leave-last-out keeps it for training and evaluates nobody', async () => {
    const r = await trainInProcess(config(path()), { 'd.csv': 'u,i\na,1\nb,2\nc,3\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/metrics, 0 users/);
    const dir = join(r.dir, 'out', 'als');
    expect(existsSync(join(dir, 'model.json'))).toBe(true);
  });

});
