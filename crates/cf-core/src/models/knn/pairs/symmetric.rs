//! [`super::all_pairs`] computing each pair once. The product of the weighted matrix with its
//! transpose is symmetric, and a pair's float64 sum has the same bits from either side (the
//! shared features are summed in index order either way, and products commute), so a block
//! of rows computes only the columns from its first row on (the upper triangle and its own
//! diagonal block) and hands each value below to the other row.
//!
//! Rows are relabelled by decreasing number of features first (most popular items first):
//! the rows of a block then share many features, and a feature's list is streamed once for
//! all of its rows in the block, updating a column's eight cells with one vector operation
//! (the tile is column-major, eight rows wide). On the ML-20M shape that halves the updates
//! against one per (row, column) pair. Each cell still adds its products in feature order,
//! one rounded multiply and one rounded add each, so the sums keep their bits.
//!
//! Rows are scored in a dense tile (block x columns) instead of a scatter with a list of
//! reached rows: a reached pair is one with a sum > 0, which the caller guarantees by
//! admitting only positive weights. What the reached list gave the old kernel, the order of
//! first contact that implicit's tie rule depends on, is needed only when more than `k`
//! candidates tie at the `k`-th score, and is then derived per candidate: row i reaches row j
//! first through their first shared feature (i's features ascending, each feature's rows
//! ascending by original index), so first contact is ordered by (first shared feature, j).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering as Mem};
use std::sync::Mutex;

use rayon::prelude::*;

use super::{to_csr, Key, Sparse64};
use crate::data::csr::{row_parts, Csr};
use crate::linalg::advise_huge;
use crate::linalg::simd::prefetch_row;

type Rescale<'a> = Option<&'a (dyn Fn(usize, usize, f64) -> f64 + Sync)>;

/// Rows per block: a column's cells for the block, eight float64s (one AVX-512 vector).
const LANES: usize = 8;

/// Bits of a block row's slot in a merge key.
const SLOT_BITS: u32 = LANES.trailing_zeros();

/// Beyond this many rows a thread's tile (LANES float64s per column) outgrows the caches
/// many times over. Such catalogues are never dense enough for this kernel (`all_pairs`
/// wants more pairs to sum than rows squared) and take the row-by-row one.
const MAX_ROWS: usize = 1 << 18;

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
            cap: first_cap(k),
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
        self.cap = first_cap(self.k);
        self.cands.clear();
    }
}

/// How long a row's list grows before its first compaction sets a floor. Until then every
/// value for the row passes, and floors rise only from there: at 4k + 64 the rows' lists took
/// 22 M values on the ML-20M shape (BM25) for 2 M kept; compacting first at 2k costs more
/// selections but refuses sooner (6-8 % less fit time at 2 threads, three same-window
/// comparisons). The 16 keeps small k from compacting at every offer.
fn first_cap(k: usize) -> usize {
    2 * k + 16
}

/// One thread's buffers for a block: the column-major tile, the block's (feature, slot,
/// weight, position) entries, each row's own candidates, and the values for rows after the
/// block waiting to be handed over (row, block row, score).
#[derive(Default)]
struct Block {
    tile: Vec<f64>,
    entries: Vec<(u32, u32, f64, usize)>,
    own: Vec<Ties>,
    outbox: Outbox,
}

/// Values for rows after their block, (row, block row, score), and the buffers that order
/// them by row.
#[derive(Default)]
struct Outbox {
    values: Vec<(u32, u32, f64)>,
    by_row: Vec<(u32, f64)>,
    starts: Vec<usize>,
}

/// Values the threads together collect for other rows before each hands its share over, a
/// row at a time: each row's candidate list is far from the cache, so a handover per column
/// (one row, a few values) cost a few misses each; collected over many blocks, a row takes
/// dozens at once. Floors rise only at handovers, so a bigger outbox lets more values
/// through. 2^20 values a thread at 2 threads (16 MiB, and as much again to order them).
const OUTBOX: usize = 1 << 21;

/// The smallest share of [`OUTBOX`] a thread gets, however many threads there are.
const OUTBOX_MIN: usize = 1 << 16;

/// The most blocks a thread takes at once. rayon otherwise hands out halves and quarters of
/// the range, and the last piece left one thread working alone for 0.2 s of a 3.6 s fit
/// (ML-20M shape, 2 threads); small pieces end the threads together.
const PIECE_BLOCKS: usize = 8;

/// How many entries ahead a block's scatter asks for a list's first lines (2 to 4 groups).
const PREFETCH_ENTRIES: usize = 4;

/// A thread's [`Block`] for one piece of the parallel loop, returned to `home` afterwards.
/// Every block leaves its tile all zeros (each cell is reset as it is read), so the next
/// piece may start on it as on a new one.
struct Lent<'a> {
    block: Block,
    home: &'a Mutex<Vec<Block>>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Ok(mut home) = self.home.lock() {
            home.push(std::mem::take(&mut self.block));
        }
    }
}

/// None when `rows` has a row not sorted by feature or too many rows for the tile (the
/// caller then uses the row-by-row kernel). Builds its own transpose, in the new labels.
pub fn all_pairs(rows: &Sparse64, k: usize, rescale: Rescale) -> Option<Csr> {
    let share = (OUTBOX / rayon::current_num_threads().max(1)).max(OUTBOX_MIN);
    all_pairs_with(rows, k, rescale, share)
}

/// [`all_pairs`] handing values over whenever a thread holds `outbox` of them (and at the
/// end): the result does not depend on it, which tests check with small ones.
pub(crate) fn all_pairs_with(
    rows: &Sparse64,
    k: usize,
    rescale: Rescale,
    outbox: usize,
) -> Option<Csr> {
    let n = rows.n_rows;
    if n > MAX_ROWS {
        return None;
    }
    let relabel = Relabel::new(rows)?;
    let rows_ties: Vec<Mutex<Ties>> = (0..n).map(|_| Mutex::new(Ties::new(k))).collect();
    // Each row's current floor, read without the lock: it only rises, so a stale value
    // only lets through an offer the row then refuses.
    let floors: Vec<AtomicU64> = (0..n)
        .map(|_| AtomicU64::new(f64::NEG_INFINITY.to_bits()))
        .collect();
    let shared = Shared {
        rows,
        relabel: &relabel,
        rescale,
        ties: &rows_ties,
        floors: &floors,
        scatter: scatter_kernel(),
        outbox,
    };
    // A block's work shrinks with its index (its columns start at its first row, and rows
    // come most popular first): heavy and light blocks alternate, so any contiguous run
    // rayon hands a thread is balanced.
    let blocks = n.div_ceil(LANES);
    // rayon calls the init once per piece of work a thread takes (dozens of times on the
    // ML-20M shape), and a fresh tile is megabytes of new pages: finished pieces hand theirs
    // back for the next.
    let spare: Mutex<Vec<Block>> = Mutex::new(Vec::new());
    // Blocks b0..b1, heavy and light alternating.
    let run = |b0: usize, b1: usize| {
        let m = b1 - b0;
        (0..m)
            .into_par_iter()
            .with_max_len(PIECE_BLOCKS)
            .for_each_init(
                || Lent {
                    block: spare
                        .lock()
                        .ok()
                        .and_then(|mut s| s.pop())
                        .unwrap_or_else(|| Block {
                            tile: vec![0f64; LANES * n],
                            entries: Vec::new(),
                            own: (0..LANES).map(|_| Ties::new(k)).collect(),
                            outbox: Outbox::default(),
                        }),
                    home: &spare,
                },
                |st, t| {
                    let b = b0 + if t % 2 == 0 { t / 2 } else { m - 1 - t / 2 };
                    shared.block(&mut st.block, b * LANES, ((b + 1) * LANES).min(n))
                },
            )
    };
    // Until its first compaction a row's floor is -inf and every value for it is handed
    // over. The heaviest blocks run first, on their own, with enough rows to fill each
    // row's first list; their values are handed over and every row compacted, so the other
    // blocks start against real floors (on the ML-20M shape 30-45 % fewer values handed
    // over). The result does not depend on when floors rise.
    let seed = first_cap(k).div_ceil(LANES);
    let rest = if seed < blocks {
        run(0, seed);
        if let Ok(mut held) = spare.lock() {
            held.par_iter_mut()
                .for_each(|b| shared.hand_over(&mut b.outbox));
        }
        (0..n).into_par_iter().for_each(|j| {
            let before = shared.floor(j);
            let mut t = shared.lock(j);
            if t.cands.len() > k {
                t.compact();
            }
            shared.publish(j, before, t.floor);
        });
        seed
    } else {
        0
    };
    run(rest, blocks);
    // What the threads still hold goes over; the tiles go before the candidates are settled.
    let mut left = spare.into_inner().unwrap_or_else(|p| p.into_inner());
    left.par_iter_mut()
        .for_each(|b| shared.hand_over(&mut b.outbox));
    drop(left);
    let settled: Vec<Vec<(u32, f32)>> = rows_ties
        .into_par_iter()
        .enumerate()
        .map(|(a, t)| {
            let t = t.into_inner().unwrap_or_else(|p| p.into_inner());
            settle(rows, &relabel.order, a, t)
        })
        .collect();
    let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
    for (a, l) in settled.into_iter().enumerate() {
        lists[relabel.order[a] as usize] = l;
    }
    Some(to_csr(n, &lists))
}

/// The rows relabelled by decreasing number of features (then by index), and the transpose
/// in the new labels.
struct Relabel {
    /// New label -> original row.
    order: Vec<u32>,
    /// Each feature's rows, ascending by new label, with their weights.
    by_feature: Sparse64,
    /// For each entry of `rows`, where its row sits in `by_feature` (its feature's list
    /// continues from there to the list's end): where a block's rows start in that list,
    /// found without a search. Atomics only so that the parts of the transpose fill it at
    /// once.
    at: Vec<AtomicU32>,
}

impl Relabel {
    fn new(rows: &Sparse64) -> Option<Self> {
        let (n, nf) = (rows.n_rows, rows.n_cols);
        let sorted = (0..n).into_par_iter().all(|a| {
            let feats = rows.row(a).0;
            feats.windows(2).all(|p| p[0] < p[1]) && feats.last().is_none_or(|&f| (f as usize) < nf)
        });
        // Positions in the transpose are kept as u32.
        if !sorted || rows.indices.len() > u32::MAX as usize {
            return None;
        }
        let len = |r: u32| rows.indptr[r as usize + 1] - rows.indptr[r as usize];
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_unstable_by_key(|&r| (Reverse(len(r)), r));
        let mut indptr = vec![0usize; nf + 1];
        for &f in &rows.indices {
            indptr[f as usize + 1] += 1;
        }
        for f in 0..nf {
            indptr[f + 1] += indptr[f];
        }
        let nnz = rows.indices.len();
        let (mut indices, mut values) = (vec![0u32; nnz], vec![0f64; nnz]);
        // Every group of every block starts a list somewhere in these (118 MB on the
        // ML-20M shape): on 4 KiB pages nearly each start is a TLB miss too (9 % of the
        // fit's time measured there).
        advise_huge(&mut indices);
        advise_huge(&mut values);
        let at: Vec<AtomicU32> = (0..nnz).map(|_| AtomicU32::new(0)).collect();
        // The transpose in parts of contiguous features, each part a thread's: every part
        // walks the rows in the new order (where a row's features fall in the part comes
        // from `cuts`, the rows being sorted) and fills its own slice of the output.
        let target = nnz.div_ceil(8 * rayon::current_num_threads()).max(1 << 16);
        let parts = row_parts(&indptr, target, &mut indices, &mut values);
        // Where each row's features cross each part's first feature, found once per row
        // (its features then in cache) rather than searched by every part: the parts' own
        // searches each missed the cache on a row far from the last.
        let bounds: Vec<usize> = parts.iter().map(|p| p.0).chain([nf]).collect();
        let np = bounds.len();
        // u32: positions in `rows` (nnz <= u32::MAX, checked above).
        let mut cuts = vec![0u32; n * np];
        cuts.par_chunks_mut(np).enumerate().for_each(|(a, c)| {
            let o = order[a] as usize;
            let s = rows.indptr[o];
            let feats = &rows.indices[s..rows.indptr[o + 1]];
            let mut from = 0;
            for (c, &b) in c.iter_mut().zip(&bounds) {
                from += feats[from..].partition_point(|&f| (f as usize) < b);
                *c = (s + from) as u32;
            }
        });
        parts
            .into_par_iter()
            .enumerate()
            .for_each(|(k, (f0, f1, out_i, out_v))| {
                let base = indptr[f0];
                let mut next: Vec<usize> = indptr[f0..f1].iter().map(|&q| q - base).collect();
                for a in 0..n {
                    let (from, to) = (cuts[a * np + k] as usize, cuts[a * np + k + 1] as usize);
                    for p in from..to {
                        let f = rows.indices[p] as usize;
                        let q = next[f - f0];
                        next[f - f0] += 1;
                        out_i[q] = a as u32;
                        out_v[q] = rows.values[p];
                        // At most nnz <= u32::MAX entries (checked above).
                        at[p].store((q + base) as u32, Mem::Relaxed);
                    }
                }
            });
        let by_feature = Sparse64 {
            n_rows: nf,
            n_cols: n,
            indptr,
            indices,
            values,
        };
        Some(Relabel {
            order,
            by_feature,
            at,
        })
    }
}

/// Adds `lanes[l] * b` to cell l of each listed column (one multiply and one add, rounded
/// each: the bits of the one-cell loop).
type Scatter = unsafe fn(&mut [f64], &[u32], &[f64], usize, &[f64; LANES]);

fn scatter_kernel() -> Scatter {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return scatter_avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return scatter_avx2;
        }
    }
    scatter_portable
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn scatter_avx512(
    tile: &mut [f64],
    js: &[u32],
    wb: &[f64],
    lo: usize,
    lanes: &[f64; LANES],
) {
    scatter_body(tile, js, wb, lo, lanes)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scatter_avx2(tile: &mut [f64], js: &[u32], wb: &[f64], lo: usize, lanes: &[f64; LANES]) {
    scatter_body(tile, js, wb, lo, lanes)
}

unsafe fn scatter_portable(
    tile: &mut [f64],
    js: &[u32],
    wb: &[f64],
    lo: usize,
    lanes: &[f64; LANES],
) {
    scatter_body(tile, js, wb, lo, lanes)
}

/// Callers pass rows `js` >= `lo` whose columns lie inside `tile` (see `Shared::block`).
#[inline(always)]
unsafe fn scatter_body(tile: &mut [f64], js: &[u32], wb: &[f64], lo: usize, lanes: &[f64; LANES]) {
    let base = tile.as_mut_ptr();
    for (&j, &b) in js.iter().zip(wb) {
        let c = (j as usize - lo) * LANES;
        debug_assert!(c + LANES <= tile.len());
        // SAFETY: the caller's rows are >= lo and < n, and the tile holds (n - lo) columns.
        let cell = unsafe { &mut *(base.add(c) as *mut [f64; LANES]) };
        for l in 0..LANES {
            cell[l] += lanes[l] * b;
        }
    }
}

struct Shared<'a> {
    rows: &'a Sparse64,
    relabel: &'a Relabel,
    rescale: Rescale<'a>,
    ties: &'a [Mutex<Ties>],
    floors: &'a [AtomicU64],
    scatter: Scatter,
    /// Values a thread collects before handing them over (its share of [`OUTBOX`] outside
    /// tests).
    outbox: usize,
}

impl Shared<'_> {
    /// The similarity of (new labels) a and j from their dot product; rescale sees original rows.
    fn score(&self, a: usize, j: usize, dot: f64) -> f64 {
        match self.rescale {
            Some(f) => f(
                self.relabel.order[a] as usize,
                self.relabel.order[j] as usize,
                dot,
            ),
            None => dot,
        }
    }

    fn floor(&self, j: usize) -> f64 {
        f64::from_bits(self.floors[j].load(Mem::Relaxed))
    }

    /// Row j's floor for readers without the lock, written only when it rose: the floors of
    /// neighbouring rows share cache lines, which stores from every thread would keep moving
    /// between cores.
    fn publish(&self, j: usize, seen: f64, now: f64) {
        if now.to_bits() != seen.to_bits() {
            self.floors[j].store(now.to_bits(), Mem::Relaxed);
        }
    }

    fn lock(&self, j: usize) -> std::sync::MutexGuard<'_, Ties> {
        self.ties[j].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rows lo..hi (new labels) against columns lo..n: their own candidates from lo on, and
    /// the values for columns from hi on offered to those rows.
    fn block(&self, st: &mut Block, lo: usize, hi: usize) {
        let Block {
            tile,
            entries,
            own,
            outbox,
        } = st;
        let n = self.rows.n_rows;
        let w = n - lo;
        let tile = &mut tile[..w * LANES];
        let (rows, rl) = (self.rows, self.relabel);
        // The block's rows merged by feature (ties by row): each pair's sum then adds its
        // products in feature order, as the row-by-row kernel does. Each row's features
        // ascend already, so the next entry is the least of the rows' next keys, (feature,
        // slot) in one integer (a sort of the rows' entries cost a tenth of the fit).
        let m = hi - lo;
        let mut at = [0usize; LANES];
        let mut end = [0usize; LANES];
        let mut key = [u64::MAX; LANES];
        let key_of =
            |p: usize, slot: usize| (u64::from(rows.indices[p]) << SLOT_BITS) | slot as u64;
        entries.clear();
        for slot in 0..m {
            let o = rl.order[lo + slot] as usize;
            (at[slot], end[slot]) = (rows.indptr[o], rows.indptr[o + 1]);
            if at[slot] < end[slot] {
                key[slot] = key_of(at[slot], slot);
            }
        }
        loop {
            let next = key.iter().copied().min().unwrap_or(u64::MAX);
            if next == u64::MAX {
                break;
            }
            let slot = (next & (LANES as u64 - 1)) as usize;
            let p = at[slot];
            let q = rl.at[p].load(Mem::Relaxed) as usize;
            entries.push(((next >> SLOT_BITS) as u32, slot as u32, rows.values[p], q));
            at[slot] = p + 1;
            key[slot] = if p + 1 < end[slot] {
                key_of(p + 1, slot)
            } else {
                u64::MAX
            };
        }
        let feat = &rl.by_feature;
        let mut g = 0;
        while g < entries.len() {
            // A list's first lines, a few groups ahead: each group starts a list somewhere
            // else in a transpose far larger than the caches, and the hardware prefetcher
            // only follows a list once it has started.
            if let Some(&(f, _, _, q)) = entries.get(g + PREFETCH_ENTRIES) {
                let len = feat.indptr[f as usize + 1] - q;
                prefetch_row(&feat.indices, q, len.min(16));
                prefetch_row(&feat.values, q, len.min(8));
            }
            // The group's first entry is its lowest row: no row of the feature before it
            // is in the block or after its start.
            let (f, slot, wa, q) = entries[g];
            let mut end_g = g + 1;
            while end_g < entries.len() && entries[end_g].0 == f {
                end_g += 1;
            }
            let end = feat.indptr[f as usize + 1];
            let (js, wb) = (&feat.indices[q..end], &feat.values[q..end]);
            if end_g == g + 1 {
                // One row of the block has this feature: its own cells only.
                let slot = slot as usize;
                for (&j, &b) in js.iter().zip(wb) {
                    let c = (j as usize - lo) * LANES + slot;
                    debug_assert!(c < tile.len());
                    // SAFETY: every row in `feat` is < n and this list starts at the
                    // block's row (>= lo), so c < (n - lo) * LANES, inside the tile.
                    unsafe { *tile.get_unchecked_mut(c) += wa * b };
                }
            } else {
                let mut lanes = [0f64; LANES];
                for &(_, s, v, _) in &entries[g..end_g] {
                    lanes[s as usize] = v;
                }
                // SAFETY: `scatter_kernel` picked a build this CPU runs; the rows of this
                // list are >= lo (it starts at the block's lowest row with the feature)
                // and < n, so every column is inside the tile. Lanes of rows without the
                // feature add 0 * b = +0: their sums keep their bits.
                unsafe { (self.scatter)(tile, js, wb, lo, &lanes) };
            }
            g = end_g;
        }
        for (slot, o) in own[..m].iter_mut().enumerate() {
            o.clear();
            o.floor = self.floor(lo + slot);
        }
        // Blocks running at once would otherwise sweep the same rows in step and queue
        // on their locks: each block starts its sweep at its own column.
        let start = lo.wrapping_mul(0x9E37_79B9) % w;
        // Most cells are refused by both rows (below the block row's floor and below row
        // j's): without a rescale the score is the dot product, so one comparison of the
        // column's eight cells against the floors settles it. Lanes past the block's rows
        // hold 0 and never pass.
        let filter = self.rescale.is_none();
        let mut own_floor = [f64::INFINITY; LANES];
        for (f, o) in own_floor.iter_mut().zip(&own[..m]) {
            *f = o.floor;
        }
        for c in (start..w).chain(0..start) {
            let j = lo + c;
            let cell: &mut [f64; LANES] = (&mut tile[c * LANES..(c + 1) * LANES])
                .try_into()
                .expect("a tile column is LANES cells");
            if filter {
                let after_floor = if j >= hi {
                    self.floor(j)
                } else {
                    f64::INFINITY
                };
                if !passes(cell, &own_floor, after_floor) {
                    *cell = [0.0; LANES];
                    continue;
                }
            }
            // Row j refuses what is below its floor (its list's own floor is never lower).
            let floor = self.floor(j);
            for (slot, v) in cell[..m].iter_mut().enumerate() {
                let dot = *v;
                if dot == 0.0 {
                    continue;
                }
                *v = 0.0;
                let a = lo + slot;
                own[slot].offer(self.score(a, j, dot), j as u32);
                if j >= hi {
                    let s = self.score(j, a, dot);
                    if s.total_cmp(&floor) != Ordering::Less {
                        outbox.values.push((j as u32, a as u32, s));
                    }
                }
            }
            for (f, o) in own_floor.iter_mut().zip(&own[..m]) {
                *f = o.floor;
            }
        }
        for (slot, o) in own[..m].iter().enumerate() {
            let a = lo + slot;
            let mut t = self.lock(a);
            let before = t.floor;
            for &(s, j) in &o.cands {
                t.offer(s, j);
            }
            self.publish(a, before, t.floor);
        }
        if outbox.values.len() >= self.outbox {
            self.hand_over(outbox);
        }
    }

    /// Offers the outbox's values to their rows, each row's under one lock, and empties it.
    /// The values are put in row order by counting (a row's list takes them in any order).
    fn hand_over(&self, outbox: &mut Outbox) {
        let n = self.rows.n_rows;
        if outbox.values.is_empty() {
            return;
        }
        let Outbox {
            values,
            by_row,
            starts,
        } = outbox;
        starts.clear();
        starts.resize(n + 1, 0);
        for v in values.iter() {
            starts[v.0 as usize + 1] += 1;
        }
        for j in 0..n {
            starts[j + 1] += starts[j];
        }
        by_row.clear();
        by_row.resize(values.len(), (0, 0.0));
        let mut next = starts[..n].to_vec();
        for &(j, a, s) in values.iter() {
            by_row[next[j as usize]] = (a, s);
            next[j as usize] += 1;
        }
        // Threads handing over at once would otherwise queue on the same rows' locks.
        let from = values.len().wrapping_mul(0x9E37_79B9) % n;
        for j in (from..n).chain(0..from) {
            let run = &by_row[starts[j]..starts[j + 1]];
            if run.is_empty() {
                continue;
            }
            let floor = self.floor(j);
            let mut t = self.lock(j);
            for &(a, s) in run {
                t.offer(s, a);
            }
            self.publish(j, floor, t.floor);
        }
        values.clear();
    }
}

/// Whether a column's cells hold a reached pair (a sum > 0) that its block row would keep
/// (>= that row's floor) or that row j would (>= `after_floor`): the test the offers make,
/// for all lanes at once and without a branch per lane.
#[inline(always)]
fn passes(cell: &[f64; LANES], own_floor: &[f64; LANES], after_floor: f64) -> bool {
    let mut any = false;
    for (&d, &f) in cell.iter().zip(own_floor) {
        any |= (d > 0.0) & ((d >= f) | (d >= after_floor));
    }
    any
}

/// Row `a`'s (new label) kept neighbours as original rows, sorted: every candidate above the
/// k-th score, and among those tied with it the ones implicit's TopK keeps: candidates
/// offered in reverse order of first contact, one entering only when its score beats the
/// smallest kept (score, index). Candidates below the tie cannot change that outcome (they
/// never displace one at or above it), so only those at or above are replayed.
fn settle(rows: &Sparse64, order: &[u32], a: usize, t: Ties) -> Vec<(u32, f32)> {
    let mut t = t;
    t.compact();
    let (i, k) = (order[a] as usize, t.k);
    let mut cands: Vec<(f64, u32)> = t
        .cands
        .into_iter()
        .map(|(s, j)| (s, order[j as usize]))
        .collect();
    if cands.len() > k {
        let mut first: Vec<(u32, u32, f64)> = cands
            .iter()
            .map(|&(s, j)| (first_shared(rows, i, j as usize), j, s))
            .collect();
        first.sort_unstable_by_key(|o| Reverse((o.0, o.1)));
        let mut heap: BinaryHeap<Reverse<Key>> = BinaryHeap::with_capacity(k + 1);
        for &(_, j, s) in &first {
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
