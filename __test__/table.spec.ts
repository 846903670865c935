import { describe, expect, it } from 'vitest';
import { formatMetricsTable } from '../src/report/table.js';

describe('formatMetricsTable', () => {
  it('aligns names left and numbers right with 4 decimals', () => {
    const table = formatMetricsTable(
      [
        { name: 'als', metrics: { 'recall@10': 0.123456, 'ndcg@10': 0.2 } },
        { name: 'popularity-baseline', metrics: { 'recall@10': 0.05, 'ndcg@10': 10.5, extra: 1 } },
      ],
      ['recall@10', 'ndcg@10'],
    );
    expect(table).toBe(
      [
        'model                recall@10  ndcg@10',
        '-------------------  ---------  -------',
        'als                     0.1235   0.2000',
        'popularity-baseline     0.0500  10.5000',
      ].join('\n'),
    );
  });

  it("shows '-' for a missing metric, without trailing spaces", () => {
    const table = formatMetricsTable([{ name: 'a', metrics: { rmse: 0.9 } }, { name: 'b', metrics: {} }], ['map@10', 'rmse']);
    expect(table.split('\n')).toEqual(['model  map@10    rmse', '-----  ------  ------', 'a           -  0.9000', 'b           -       -']);
  });

  it('prints the header alone for no rows and no columns', () => {
    expect(formatMetricsTable([], [])).toBe('model\n-----');
  });
});
