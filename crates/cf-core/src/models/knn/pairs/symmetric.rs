//! [`super::all_pairs`] computing each pair once. The product of the weighted matrix with its
//! transpose is symmetric, and a pair's float64 sum has the same bits from either side (the
//! shared features are summed in index order either way, and products commute), so a block
//! of rows computes only the columns from its first row on (the upper triangle and its own
//! diagonal block) and hands each value below to the other row.
//!
//! Rows are scored in a dense tile (block x columns) instead of a scatter with a list of
//! reached rows: a reached pair is one with a sum > 0, which the caller guarantees by
//! admitting only positive weights. What the reached list gave the old kernel, the order of
//! first contact that implicit's tie rule depends on, is needed only when more than `k`
//! candidates tie at the `k`-th score, and is then derived per candidate: row i reaches row j
//! first through their first shared feature (i's features ascending, each feature's rows
//! ascending), so first contact is ordered by (first shared feature, j).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering as Mem};
use std::sync::Mutex;

use rayon::prelude::*;

use super::{to_csr, Key, Sparse64};
use crate::data::csr::Csr;

type Rescale<'a> = Option<&'a (dyn Fn(usize, usize, f64) -> f64 + Sync)>;

/// Bytes of one thread's float64 tile: about half a core's L2 (4 MiB on the development
/// machine), leaving the rest to the feature lists streaming through.
const TILE_BYTES: usize = 2 << 20;

/// A row's candidates at or above a floor that never exceeds the k-th best score offered
/// so far. Ties at the k-th score are all kept: which of them survive depends on the order of
/// first contact, decided once every candidate is in. Offers arrive in any order (other
/// threads' blocks) and the set [`settle`] starts from is the same: every candidate
/// scoring >= the k-th best. An offer is an append (the rows' lists are too many to stay in
/// cache, and a heap per row missed the cache on every sift); the floor rises when the list is
/// compacted.
struct Ties {
    k: usize,
    floor: f64,
    cap: usize,
    cands: Vec<(f64, u32)>,
}

impl Ties {
    fn new(k: usize) -> Self {
        Ties {
            k,
            floor: f64::NEG_INFINITY,
            cap: 4 * k + 64,
            cands: Vec::new(),
        }
    }

    fn offer(&mut self, s: f64, j: u32) {
        if s.total_cmp(&self.floor) != Ordering::Less {
            self.cands.push((s, j));
            if self.cands.len() >= self.cap {
                self.compact();
            }
        }
    }

    /// Raises the floor to the k-th best score and drops what is below it; the capacity
    /// grows when ties keep the list long, so compaction stays linear overall.
    fn compact(&mut self) {
        let (k, len) = (self.k, self.cands.len());
        if len > k {
            let (_, kth, _) = self
                .cands
                .select_nth_unstable_by(len - k, |a, b| a.0.total_cmp(&b.0));
            if kth.0.total_cmp(&self.floor) == Ordering::Greater {
                self.floor = kth.0;
            }
            let floor = self.floor;
            self.cands
                .retain(|c| c.0.total_cmp(&floor) != Ordering::Less);
        }
        self.cap = self.cap.max(2 * self.cands.len());
    }

    fn clear(&mut self) {
        self.floor = f64::NEG_INFINITY;
        self.cap = 4 * self.k + 64;
        self.cands.clear();
    }
}

/// One thread's buffers for a block: the dense tile, the block's (feature, slot, weight)
/// entries, and the candidates of the row being scanned.
struct Block {
    tile: Vec<f64>,
    entries: Vec<(u32, u32, f64, usize)>,
    own: Ties,
}

/// None when `rows` has a row not sorted by feature or `by_feature` is not its transpose
/// (the caller then uses the row-by-row kernel).
pub fn all_pairs(
    rows: &Sparse64,
    by_feature: &Sparse64,
    k: usize,
    rescale: Rescale,
) -> Option<Csr> {
    let n = rows.n_rows;
    let at = positions(rows, by_feature)?;
    let block = (TILE_BYTES / (8 * n.max(1))).clamp(1, 64);
    let rows_ties: Vec<Mutex<Ties>> = (0..n).map(|_| Mutex::new(Ties::new(k))).collect();
    // Each row's current floor, read without the lock: it only rises, so a stale value
    // only lets through an offer the row then refuses.
    let floors: Vec<AtomicU64> = (0..n)
        .map(|_| AtomicU64::new(f64::NEG_INFINITY.to_bits()))
        .collect();
    let shared = Shared {
        rows,
        at: &at,
        by_feature,
        rescale,
        ties: &rows_ties,
        floors: &floors,
    };
    // A block's work shrinks with its index (its columns start at its first row): heavy
    // and light blocks alternate, so any contiguous run rayon hands a thread is balanced.
    let blocks = n.div_ceil(block);
    (0..blocks).into_par_iter().for_each_init(
        || Block {
            tile: vec![0f64; block * n],
            entries: Vec::new(),
            own: Ties::new(k),
        },
        |st, t| {
            let b = if t % 2 == 0 {
                t / 2
            } else {
                blocks - 1 - t / 2
            };
            shared.block(st, b * block, ((b + 1) * block).min(n))
        },
    );
    let lists: Vec<Vec<(u32, f32)>> = rows_ties
        .into_par_iter()
        .enumerate()
        .map(|(i, t)| {
            let t = t.into_inner().unwrap_or_else(|p| p.into_inner());
            settle(rows, i, t)
        })
        .collect();
    Some(to_csr(n, &lists))
}

/// For each entry (row a, feature f) of `rows`, the index in `by_feature` of (f, a): where a
/// block's rows start in f's list, found without a search (a binary search per entry cost
/// a seventh of the ML-20M fit). None unless `by_feature` is exactly `rows` transposed.
fn positions(rows: &Sparse64, by_feature: &Sparse64) -> Option<Vec<usize>> {
    let n = rows.n_rows;
    if by_feature.n_rows != rows.n_cols
        || by_feature.n_cols != n
        || by_feature.indices.len() != rows.indices.len()
    {
        return None;
    }
    for a in 0..n {
        if !rows.row(a).0.windows(2).all(|p| p[0] < p[1]) {
            return None;
        }
    }
    let mut next = rows.indptr[..n].to_vec();
    let mut at = vec![0usize; rows.indices.len()];
    for f in 0..by_feature.n_rows {
        for q in by_feature.indptr[f]..by_feature.indptr[f + 1] {
            let a = by_feature.indices[q] as usize;
            let p = *next.get(a)?;
            // Each pair is summed from one side only, which gives the other side's bits
            // only if both matrices hold the same weights.
            if p >= rows.indptr[a + 1]
                || rows.indices[p] as usize != f
                || rows.values[p].to_bits() != by_feature.values[q].to_bits()
            {
                return None;
            }
            at[p] = q;
            next[a] += 1;
        }
    }
    Some(at)
}

struct Shared<'a> {
    rows: &'a Sparse64,
    /// For each entry of `rows`, where its row sits in its feature's list.
    at: &'a [usize],
    by_feature: &'a Sparse64,
    rescale: Rescale<'a>,
    ties: &'a [Mutex<Ties>],
    floors: &'a [AtomicU64],
}

impl Shared<'_> {
    fn score(&self, i: usize, j: usize, dot: f64) -> f64 {
        match self.rescale {
            Some(f) => f(i, j, dot),
            None => dot,
        }
    }

    fn floor(&self, j: usize) -> f64 {
        f64::from_bits(self.floors[j].load(Mem::Relaxed))
    }

    fn lock(&self, j: usize) -> std::sync::MutexGuard<'_, Ties> {
        self.ties[j].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rows lo..hi against columns lo..n: their own candidates from lo on, and the values
    /// for columns from hi on offered to those rows.
    fn block(&self, st: &mut Block, lo: usize, hi: usize) {
        let n = self.rows.n_rows;
        let w = n - lo;
        st.entries.clear();
        for a in lo..hi {
            let (feats, ws) = self.rows.row(a);
            let at = &self.at[self.rows.indptr[a]..self.rows.indptr[a + 1]];
            for ((&f, &wa), &q) in feats.iter().zip(ws).zip(at) {
                st.entries.push((f, (a - lo) as u32, wa, q));
            }
        }
        // Features in index order for every row of the block: each pair's sum then adds
        // its products in the order the row-by-row kernel does.
        st.entries.sort_unstable_by_key(|e| (e.0, e.1));
        let mut g = 0;
        while g < st.entries.len() {
            // The group's first entry is its lowest row: no row of the feature before it
            // is in the block or after its start.
            let (f, _, _, q) = st.entries[g];
            let end = self.by_feature.indptr[f as usize + 1];
            let (js, wb) = (
                &self.by_feature.indices[q..end],
                &self.by_feature.values[q..end],
            );
            while g < st.entries.len() && st.entries[g].0 == f {
                let (_, slot, wa, _) = st.entries[g];
                let row = &mut st.tile[slot as usize * w..slot as usize * w + w];
                for (&j, &b) in js.iter().zip(wb) {
                    let c = j as usize - lo;
                    debug_assert!(c < w);
                    // SAFETY: `positions` checked every entry of `by_feature` names a row
                    // < n, and this list starts at the block's first row (>= lo), so
                    // 0 <= c < n - lo = w, inside this slot's row of the tile.
                    unsafe { *row.get_unchecked_mut(c) += wa * b };
                }
                g += 1;
            }
        }
        for a in lo..hi {
            let slot = a - lo;
            let row = &mut st.tile[slot * w..slot * w + w];
            let own = &mut st.own;
            own.clear();
            own.floor = self.floor(a);
            // Blocks running at once would otherwise sweep the same rows in step and queue
            // on their locks: each block starts its sweep at its own column.
            let start = lo.wrapping_mul(0x9E37_79B9) % w;
            for c in (start..w).chain(0..start) {
                let dot = row[c];
                if dot == 0.0 {
                    continue;
                }
                row[c] = 0.0;
                let j = lo + c;
                let s = self.score(a, j, dot);
                own.offer(s, j as u32);
                if j >= hi {
                    let s = self.score(j, a, dot);
                    if s >= self.floor(j) {
                        let mut t = self.lock(j);
                        t.offer(s, a as u32);
                        self.floors[j].store(t.floor.to_bits(), Mem::Relaxed);
                    }
                }
            }
            let mut t = self.lock(a);
            for &(s, j) in &own.cands {
                t.offer(s, j);
            }
            self.floors[a].store(t.floor.to_bits(), Mem::Relaxed);
        }
    }
}

/// Row `i`'s kept neighbours, sorted by index: every candidate above the k-th score, and
/// among those tied with it the ones implicit's TopK keeps: candidates offered in reverse
/// order of first contact, one entering only when its score beats the smallest kept
/// (score, index). Candidates below the tie cannot change that outcome (they never
/// displace one at or above it), so only those at or above are replayed.
fn settle(rows: &Sparse64, i: usize, t: Ties) -> Vec<(u32, f32)> {
    let mut t = t;
    t.compact();
    let k = t.k;
    let mut cands = t.cands;
    if cands.len() > k {
        let mut order: Vec<(u32, u32, f64)> = cands
            .iter()
            .map(|&(s, j)| (first_shared(rows, i, j as usize), j, s))
            .collect();
        order.sort_unstable_by_key(|o| Reverse((o.0, o.1)));
        let mut heap: BinaryHeap<Reverse<Key>> = BinaryHeap::with_capacity(k + 1);
        for &(_, j, s) in &order {
            if heap.len() < k {
                heap.push(Reverse(Key(s, j)));
            } else if heap.peek().is_some_and(|m| s > m.0 .0) {
                heap.pop();
                heap.push(Reverse(Key(s, j)));
            }
        }
        cands = heap.into_iter().map(|Reverse(Key(s, j))| (s, j)).collect();
    }
    let mut out: Vec<(u32, f32)> = cands.into_iter().map(|(s, j)| (j, s as f32)).collect();
    out.sort_unstable_by_key(|p| p.0);
    out
}

/// The first feature rows i and j share (u32::MAX if none, which a candidate never is):
/// the shorter list walked, the longer searched from where the last search ended.
fn first_shared(rows: &Sparse64, i: usize, j: usize) -> u32 {
    let (a, b) = (rows.row(i).0, rows.row(j).0);
    let (short, mut long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    for &f in short {
        let p = long.partition_point(|&g| g < f);
        if p < long.len() && long[p] == f {
            return f;
        }
        long = &long[p..];
    }
    u32::MAX
}
