// `cf-native recommend --explain N`: each recommendation with the N liked items that
// contributed most (`Recommender.explain`), as CSV (a `because` column of `item:contribution`
// pairs joined by `|`) or JSON Lines (a `because` array). Lists come from one native batch;
// explanations are one native call per recommended item, so this is meant for the users of a
// --users file rather than a whole catalogue's worth of lists.
import { CfError, CfErrorCode } from '../errors.js';
import { writeFileAtomic } from '../artifacts/atomic.js';
import type { Recommender } from '../models/recommender.js';

export interface ExplainedListsOptions {
  users: Uint32Array;
  k: number;
  reasons: number;
  filterSeen: boolean;
  userIds: readonly string[];
  itemIds: readonly string[];
  format: 'csv' | 'jsonl';
  signal?: AbortSignal;
}

/** RFC 4180 quoting, only where needed (as the native CSV writer does). */
const cell = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

/** The lists with their explanations, as the text of a CSV or JSONL file. */
export function explainedLists(model: Recommender, o: ExplainedListsOptions): { text: string; rows: number } {
  const lists = model.recommend(o.users, { k: o.k, filterSeen: o.filterSeen });
  const lines: string[] = o.format === 'csv' ? ['user,rank,item,score,because'] : [];
  let rows = 0;
  for (let r = 0; r < lists.rows; r++) {
    o.signal?.throwIfAborted();
    const u = o.users[r]!;
    for (let j = 0; j < lists.k; j++) {
      const item = lists.ids[r * lists.k + j]!;
      const score = lists.scores[r * lists.k + j]!;
      if (!Number.isFinite(score)) break;
      let e;
      try {
        e = model.explain(u, item, { k: o.reasons });
      } catch (err) {
        if (err instanceof CfError && err.code === CfErrorCode.UNSUPPORTED) throw new CfError(CfErrorCode.UNSUPPORTED, `--explain: ${err.message}`);
        throw err;
      }
      const because = [...e.items].map((i, n) => ({ item: o.itemIds[i]!, contribution: e.contributions[n]! }));
      const user = o.userIds[u]!;
      const itemId = o.itemIds[item]!;
      if (o.format === 'csv') {
        lines.push(`${cell(user)},${j + 1},${cell(itemId)},${score},${cell(because.map((b) => `${b.item}:${b.contribution}`).join('|'))}`);
      } else {
        lines.push(JSON.stringify({ user, rank: j + 1, item: itemId, score, because }));
      }
      rows++;
    }
  }
  return { text: lines.length > 0 ? `${lines.join('\n')}\n` : '', rows };
}

/** Written whole or not at all. */
export async function writeExplainedLists(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text);
}
