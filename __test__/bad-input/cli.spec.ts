// Command-line arguments, through the built CLI as a child process (what a crash, an abort
// or a stack trace would show up in): exit 2 with one line naming the argument, or exit 0.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIN, cli, expectOneLineExit2, tmp, writeFiles } from './helpers.js';

const dir = tmp('cli');
const GOOD = 'u,i,r\n' + Array.from({ length: 40 }, (_, j) => `u${j % 8},i${(j * 7) % 11},${1 + (j % 5)}`).join('\n') + '\n';
const config = (data: string) => `data:\n  path: ${join(dir, data)}\nmodels: [{ type: als, params: { factors: 4, iterations: 2 } }]\noutput: ${join(dir, 'out')}\n`;
writeFiles(dir, {
  'good.yaml': config('good.csv'),
  'good.csv': GOOD,
  'bad.yaml': `${config('good.csv')}evaluate: { k: 0 }\n`,
  'garbage.yaml': config('garbage.bin'),
  'garbage.bin': Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 2654435761) % 256)),
  'utf16.yaml': config('utf16.csv'),
  'utf16.csv': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(GOOD, 'utf16le')]),
  'sub/x': '',
  // A fit that fails (factors blow up) among several models: the line names the model and,
  // in a grid, the combination.
  'blowup.yaml': `data:\n  path: ${join(dir, 'good.csv')}\nmodels:\n  - { type: als, params: { factors: 4, iterations: 2 } }\n  - { name: hot, type: bpr, params: { factors: 4, epochs: 3, learning_rate: 1.0e+30 } }\noutput: ${join(dir, 'out-blowup')}\n`,
  'blowup-grid.yaml': `data:\n  path: ${join(dir, 'good.csv')}\nmodels:\n  - { name: hot, type: bpr, params: { factors: 4, epochs: 3, learning_rate: [0.05, 1.0e+30] } }\noutput: ${join(dir, 'out-blowup-grid')}\n`,
});
const at = (name: string) => join(dir, name);

const rejected: [string, string[], RegExp, string[]][] = [
  ['an unknown command', ['bogus'], /^cf-native: unknown command bogus \(try --help\)$/, []],
  ['help as a command', ['help'], /unknown command help \(try --help\)/, []],
  ['a missing config file', ['train', at('nope.yaml')], /: cannot read the config file: no such file$/, [at('nope.yaml')]],
  ['a folder as the config', ['train', at('sub')], /: cannot read the config file: it is a directory$/, [at('sub')]],
  ['an empty config path ("$CONFIG" unset)', ['train', ''], /^cf-native: the config path must be a non-empty string \(got an empty string\)$/, []],
  ['train --bogus-flag', ['train', '--bogus-flag', at('good.yaml')], /^cf-native: unknown option --bogus-flag \(try --help\)$/, []],
  ['an unknown option without a command', ['--bogus'], /^cf-native: unknown option --bogus \(try --help\)$/, []],
  ['an unknown short option', ['-x'], /^cf-native: unknown option -x \(try --help\)$/, []],
  ['models nope', ['models', 'nope'], /^cf-native: unknown model type nope \(known: als, bpr, mf, popularity, svd, ease, knn, content, hybrid\)$/, []],
  ['models with a second argument', ['models', 'als', 'extra'], /Unused args: `extra`/, []],
  ['train with two configs', ['train', at('good.yaml'), at('bad.yaml')], /Unused args: `.*bad\.yaml`/, []],
  ['models --quiet (an option of train)', ['models', 'als', '--quiet'], /unknown option --quiet/, []],
  // The real process on bad input: a crash or an abort would be a signal or another status.
  ['train on a bad config', ['train', at('bad.yaml')], /:5: evaluate\.k must be an integer in \[1, 4294967295\] \(got 0\)$/, [at('bad.yaml')]],
  ['train on a binary data file', ['train', '--quiet', at('garbage.yaml')], /cannot detect the delimiter/, [at('garbage.bin')]],
  ['a model whose fit fails', ['train', '--quiet', at('blowup.yaml')], /^cf-native: hot: factors became NaN or infinite in epoch 1; lower learning_rate/, []],
  ['a grid point whose fit fails', ['train', '--quiet', at('blowup-grid.yaml')], /^cf-native: hot \(learning_rate=1e\+30\): factors became NaN or infinite in epoch 1/, []],
  ['train on a UTF-16 data file', ['train', at('utf16.yaml')], /file is UTF-16 \(little-endian\)/, [at('utf16.csv')]],
];

describe.skipIf(!existsSync(MAIN))('command-line arguments', () => {
  for (const [name, args, want, names] of rejected) {
    it(`${name}: exit 2`, () => {
      const r = cli(args, dir);
      expect(r.signal).toBeNull();
      expectOneLineExit2(r, want, names);
    });
  }

  const accepted: [string, string[], RegExp][] = [
    ['--help', ['--help'], /Usage:[\s\S]*train \[config\][\s\S]*models \[type\]/],
    ['-h', ['-h'], /Usage:/],
    ['--version', ['--version'], /^cf-native\/\d+\.\d+\.\d+ /],
    ['models', ['models'], /^als {2,}.*\nbpr {2,}.*\nmf {2,}.*\npopularity {2,}/],
    ['models als', ['models', 'als'], /factors \(API: factors\) {2}int >= 1, <= 4096 {2}\[default 64\][\s\S]*cg_steps \(API: cgSteps\)/],
    ['no arguments (prints the help)', [], /Usage:/],
  ];
  for (const [name, args, want] of accepted) {
    it(`${name}: exit 0`, () => {
      const r = cli(args, dir);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(want);
    });
  }
});
