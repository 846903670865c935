//! Bayesian personalised ranking (Rendle et al. 2009): matrix factorisation trained on
//! (user, positive, negative) triples, float32, deterministic at any thread count.
//!
//! Parallel schedule (DSGD strata, Gemulla et al. 2011): every epoch draws a seeded random
//! map of users to `blocks` blocks and of items to `blocks` blocks (the count is a parameter
//! of the model, not the thread count; at most one block per 16 items). Sub-epoch `s` runs the cells (b, (b + s) mod B) for
//! b in 0..B: they share no user and no item row, so they run in parallel without locks,
//! each sequentially with its own SplitMix64 derived from (seed, epoch, s, b); there is no
//! barrier between sub-epochs, a cell starts once the two cells before it on its rows are
//! done (`CellGraph`), which keeps every row's order of updates. A cell draws
//! its positives from the training pairs in its cell and its negatives from its item block.
//! The factors therefore depend on (seed, blocks, data, params) only, never on the threads,
//! and a cell's rows stay in cache (the source of the single-core speed).
//!
//! Negatives are always items the user has no entry for, checked by binary search in the
//! user's sorted row; a draw that hits a positive is rejected and redrawn (at most
//! `MAX_TRIES` times, then the sample is skipped and counted). Users who have every item
//! have no negative at all: they are left out of sampling and counted (`skipped_users`).
//! The mixer's hard pool (sampler `mixed`) is, for each user, the `hard_top_n` most popular
//! items merged with the user's explicitly disliked items when a negatives matrix is given
//! (`epoch_with`; the loader keeps rows at or below `negative_threshold` as one), restricted
//! like every negative to the cell's item block. A hard draw picks uniformly from that merged
//! pool; without negatives the draws are exactly those of the popular pool alone.

mod model;
mod params;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU8, Ordering as Mem};
use std::sync::OnceLock;
use std::time::Instant;

use rayon::prelude::*;

pub use model::TYPE;
pub use params::{BprParams, Optimizer, Sampler, Schedule, SPEC};

use crate::checkpoint::{StateData, TrainState};
use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::linalg::AlignedVec;
use crate::models::{rows_len, Recommender};
use crate::params::{Checked, IntoChecked};
use crate::pool::pool;
use crate::rng::SplitMix64;

const STREAM_USERS: u64 = 1;
const STREAM_ITEMS: u64 = 2;
const STREAM_USER_MAP: u64 = 3;
const STREAM_ITEM_MAP: u64 = 4;
const STREAM_CELLS: u64 = 5;
const STREAM_FOLD_IN: u64 = 6;
/// Draws per negative before the sample is given up (counted in `skipped_samples`).
const MAX_TRIES: usize = 64;
const ADAM_EPSILON: f32 = 1e-8;

/// The fewest items an item block may hold. A cell draws its negatives from its own item
/// block, so with `blocks` near the catalogue's size most blocks hold one item or none and
/// every sample is given up (11 items, 32 blocks: no update at all); with 16 a user who has
/// half the catalogue still finds about 8 negatives per block.
const MIN_BLOCK_ITEMS: usize = 16;

/// The blocks an epoch is cut into: `blocks`, or fewer on a catalogue too small for
/// [`MIN_BLOCK_ITEMS`] items per block (the shared datasets, 1,682 items and up, keep 32).
fn blocks_for(blocks: usize, n_items: usize) -> usize {
    blocks.min(n_items / MIN_BLOCK_ITEMS).max(1)
}

/// Where one epoch's negatives came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NegativeCounts {
    /// Accepted uniform negatives (the mixer's uniform share included).
    pub uniform: u64,
    /// Accepted popularity-weighted negatives.
    pub popularity: u64,
    /// Accepted DNS candidates (dns_candidates per negative; the best one is used).
    pub dns_candidates: u64,
    /// Accepted negatives from the mixer's hard pool (disliked ones included).
    pub hard: u64,
    /// Of `hard`, the user's own explicitly disliked items.
    pub disliked: u64,
    /// Hard draws that fell back to uniform (the block's hard pool empty or all seen).
    pub hard_fallback: u64,
    /// Draws that hit one of the user's positives and were redrawn.
    pub rejected: u64,
    /// Samples given up after MAX_TRIES rejections.
    pub skipped_samples: u64,
}

impl NegativeCounts {
    fn add(&mut self, o: &NegativeCounts) {
        self.uniform += o.uniform;
        self.popularity += o.popularity;
        self.dns_candidates += o.dns_candidates;
        self.hard += o.hard;
        self.disliked += o.disliked;
        self.hard_fallback += o.hard_fallback;
        self.rejected += o.rejected;
        self.skipped_samples += o.skipped_samples;
    }
}

/// One point of the learning curve.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    pub seconds: f64,
    pub learning_rate: f32,
    /// Triples used for an update.
    pub samples: u64,
    /// Mean of -ln σ(x_uij) over the epoch's samples, before each update.
    pub loss: f64,
    /// Share of the epoch's samples ranked right (x_uij > 0) before their update: a train
    /// AUC estimate from sampled pairs.
    pub auc: f64,
    /// Validation NDCG@k, when evaluated this epoch.
    pub valid: Option<f64>,
    /// The best evaluated epoch so far (its factors are what `finish` keeps).
    pub best_epoch: Option<usize>,
    /// True when the fit is over: the last epoch, or patience ran out.
    pub stop: bool,
    pub negatives: NegativeCounts,
    /// Users with every item (no negative exists), left out of sampling.
    pub skipped_users: usize,
}

struct Adam {
    user_m: Vec<f32>,
    user_v: Vec<f32>,
    item_m: Vec<f32>,
    item_v: Vec<f32>,
    user_t: Vec<u32>,
    item_t: Vec<u32>,
}

struct Best {
    epoch: usize,
    metric: f64,
    /// The epoch's (user, item) factors until `finish` puts them back.
    factors: Option<(AlignedVec, AlignedVec)>,
}

pub struct BprModel {
    pub params: Checked<BprParams>,
    pub n_users: usize,
    pub n_items: usize,
    /// Row-major n_users x width (factors, then 1.0 when item_bias is on).
    pub user_factors: AlignedVec,
    /// Row-major n_items x width (factors, then the item bias when on).
    pub item_factors: AlignedVec,
    pub epochs_done: usize,
    /// Every epoch's report so far.
    pub curve: Vec<EpochReport>,
    adam: Option<Adam>,
    best: Option<Best>,
    bad_evals: usize,
    stopped: bool,
    /// The last epoch's cells, for the next epoch to refill: their capacity is about what the
    /// next plan needs, so it neither grows vectors nor faults in fresh pages (+6 % samples/s
    /// on the Last.fm-360K shape over a plan built in new vectors). Freed by `finish`.
    recycled: Vec<CellPairs>,
}

fn init_factors(p: &BprParams, stream: u64, rows: usize, bias: f32) -> AlignedVec {
    let (k, d) = (p.factors, p.width());
    let mut f = AlignedVec::zeros(rows * d);
    let scale = 1.0 / k as f32;
    f.par_chunks_mut(d).enumerate().for_each(|(r, row)| {
        let mut g = SplitMix64::derive(p.seed, stream, r as u64);
        row[..k]
            .iter_mut()
            .for_each(|v| *v = (g.next_f32() - 0.5) * scale);
        if p.item_bias {
            row[k] = bias;
        }
    });
    f
}

/// Σ u[f] (a[f] - b[f]) with eight accumulators (fixed order). `AVX2`: the same sums in
/// one 8-lane register (the caller runs with AVX2 enabled), where LLVM turned the portable
/// form into 4-lane code with shuffles; worth about 1 % of an epoch (the step waits on
/// memory more than on arithmetic), kept because it is exact.
#[inline(always)]
fn diff_dot_with<const AVX2: bool>(u: &[f32], a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if AVX2 {
        // SAFETY: AVX2 is only asked for from code that detected it (`Cell::run`).
        return unsafe { diff_dot_avx2(u, a, b) };
    }
    diff_dot(u, a, b)
}

/// `diff_dot` in one AVX2 register: lane l sums chunk lane l in chunk order, then the lanes
/// fold as ((0 + 4) + (1 + 5)) + ((2 + 6) + (3 + 7)), then the tail: the same operations in
/// the same order (no fused multiply-add), so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn diff_dot_avx2(u: &[f32], a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = u.len();
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = _mm256_setzero_ps();
    let mut f = 0;
    while f + 8 <= n {
        let d = _mm256_sub_ps(
            _mm256_loadu_ps(a.as_ptr().add(f)),
            _mm256_loadu_ps(b.as_ptr().add(f)),
        );
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(u.as_ptr().add(f)), d));
        f += 8;
    }
    let half = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    let mut l = [0f32; 4];
    _mm_storeu_ps(l.as_mut_ptr(), half);
    let mut tail = 0f32;
    for f in n / 8 * 8..n {
        tail += u[f] * (a[f] - b[f]);
    }
    ((l[0] + l[1]) + (l[2] + l[3])) + tail
}

/// Σ u[f] (a[f] - b[f]) with eight accumulators (fixed order).
#[inline(always)]
fn diff_dot(u: &[f32], a: &[f32], b: &[f32]) -> f32 {
    let n = u.len();
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    for ((uc, ac), bc) in u
        .chunks_exact(8)
        .zip(a.chunks_exact(8))
        .zip(b.chunks_exact(8))
    {
        for l in 0..8 {
            acc[l] += uc[l] * (ac[l] - bc[l]);
        }
    }
    let mut tail = 0f32;
    for f in n / 8 * 8..n {
        tail += u[f] * (a[f] - b[f]);
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// σ(-x) = 1 / (1 + e^x), with the crate's own e^x: libm's may differ across platforms in
/// its last bits, and a seeded model would differ with it.
#[inline(always)]
fn sigmoid_neg(x: f32) -> f32 {
    1.0 / (1.0 + crate::linalg::exp_f32(x))
}

/// Σ -ln σ(x) over a cell's samples, from each x and z = σ(-x) (already computed by the
/// step), as a running product of σ(x) with a logarithm only when the product nears the
/// bottom of f64's range: a logarithm per sample was 3 % of an epoch, for a figure that is
/// only reported.
struct LossSum {
    sum: f64,
    product: f64,
}

impl Default for LossSum {
    fn default() -> Self {
        LossSum {
            sum: 0.0,
            product: 1.0,
        }
    }
}

impl LossSum {
    #[inline(always)]
    fn add(&mut self, x: f32, z: f32) {
        if x < -16.0 {
            // σ(x) ≈ e^x, which 1 - z (f32) no longer resolves.
            self.sum -= x as f64;
            return;
        }
        // 1 - z >= σ(-16) > 1e-7, so the product stays above 1e-257 until folded in.
        self.product *= (1.0 - z) as f64;
        if self.product < 1e-250 {
            self.sum -= self.product.ln();
            self.product = 1.0;
        }
    }

    fn total(&self) -> f64 {
        self.sum - self.product.ln()
    }
}

/// One SGD step on a triple: u, v_i, v_j are rows of `d` = k (+1 bias) columns; the user's
/// bias column (1.0) is not updated. Returns x_uij before the step and z.
///   z = σ(-x_uij); u += lr (z (v_i - v_j) - λ u); v_i += lr (z u - λ v_i);
///   v_j += lr (-z u - λ v_j); b_i += lr (z - λ b_i); b_j += lr (-z - λ b_j)
/// (all from the values before the step). `AVX2` as in `diff_dot_with`.
#[inline(always)]
pub(crate) fn sgd_step<const AVX2: bool>(
    u: &mut [f32],
    vi: &mut [f32],
    vj: &mut [f32],
    k: usize,
    lr: f32,
    reg: f32,
) -> (f32, f32) {
    let x = diff_dot_with::<AVX2>(u, vi, vj);
    let z = sigmoid_neg(x);
    let d = u.len();
    {
        let (u, vi, vj) = (&mut u[..k], &mut vi[..k], &mut vj[..k]);
        for f in 0..k {
            let (uf, a, b) = (u[f], vi[f], vj[f]);
            u[f] = uf + lr * (z * (a - b) - reg * uf);
            vi[f] = a + lr * (z * uf - reg * a);
            vj[f] = b + lr * (-z * uf - reg * b);
        }
    }
    if d > k {
        let (a, b) = (vi[k], vj[k]);
        vi[k] = a + lr * (z - reg * a);
        vj[k] = b + lr * (-z - reg * b);
    }
    (x, z)
}

#[derive(Clone, Copy)]
struct AdamHyper {
    lr: f32,
    beta1: f32,
    beta2: f32,
    weight_decay: f32,
}

/// Bias corrections 1 / (1 - β₁ᵗ), 1 / (1 - β₂ᵗ) after bumping the row's step count.
#[inline(always)]
fn corrections(h: &AdamHyper, t: &mut u32) -> (f32, f32) {
    *t = t.saturating_add(1);
    let t = (*t).min(i32::MAX as u32) as i32;
    (1.0 / (1.0 - h.beta1.powi(t)), 1.0 / (1.0 - h.beta2.powi(t)))
}

#[inline(always)]
fn adam_apply(p: &mut f32, m: &mut f32, v: &mut f32, g: f32, h: &AdamHyper, c: (f32, f32)) {
    *m = h.beta1 * *m + (1.0 - h.beta1) * g;
    *v = h.beta2 * *v + (1.0 - h.beta2) * g * g;
    *p -= h.lr * ((*m * c.0) / ((*v * c.1).sqrt() + ADAM_EPSILON) + h.weight_decay * *p);
}

/// The rows of one factor matrix and their AdamW moments, for one triple.
struct Rows<'a> {
    p: &'a mut [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
    t: &'a mut u32,
}

/// One AdamW step on a triple; the gradient is that of -ln σ(x_uij) + λ/2 |row|².
#[inline(always)]
fn adamw_step<const AVX2: bool>(
    u: Rows,
    i: Rows,
    j: Rows,
    k: usize,
    reg: f32,
    h: &AdamHyper,
) -> (f32, f32) {
    let x = diff_dot_with::<AVX2>(u.p, i.p, j.p);
    let z = sigmoid_neg(x);
    let d = u.p.len();
    let cu = corrections(h, u.t);
    let ci = corrections(h, i.t);
    let cj = corrections(h, j.t);
    for f in 0..k {
        let (uf, a, b) = (u.p[f], i.p[f], j.p[f]);
        adam_apply(
            &mut u.p[f],
            &mut u.m[f],
            &mut u.v[f],
            -z * (a - b) + reg * uf,
            h,
            cu,
        );
        adam_apply(
            &mut i.p[f],
            &mut i.m[f],
            &mut i.v[f],
            -z * uf + reg * a,
            h,
            ci,
        );
        adam_apply(
            &mut j.p[f],
            &mut j.m[f],
            &mut j.v[f],
            z * uf + reg * b,
            h,
            cj,
        );
    }
    if d > k {
        let (a, b) = (i.p[k], j.p[k]);
        adam_apply(&mut i.p[k], &mut i.m[k], &mut i.v[k], -z + reg * a, h, ci);
        adam_apply(&mut j.p[k], &mut j.m[k], &mut j.v[k], z + reg * b, h, cj);
    }
    (x, z)
}

/// What an epoch derives from the data and its block maps.
struct Plan {
    /// Training pairs per cell (user block * B + item block), by user in block order.
    cells: Vec<CellPairs>,
    /// Samples per cell.
    samples: Vec<u64>,
    /// Items of each item block.
    items_in: Vec<Vec<u32>>,
    /// Per item block, an alias table of its items by popularity^beta (popularity sampler).
    pop_alias: Vec<Alias>,
    /// Per item block, its items in the hard pool (mixed sampler).
    hard_in: Vec<Vec<u32>>,
    skipped_users: usize,
}

/// One cell's training pairs as runs of one user each: run r is user `users[r]` with the
/// (sorted) items `items[starts[r]..starts[r + 1]]`. A user's run is also all of that user's
/// positives in the cell's item block, so negatives (drawn from that block) are verified
/// against it without touching the user's full row elsewhere in memory.
#[derive(Default)]
struct CellPairs {
    users: Vec<u32>,
    starts: Vec<u32>,
    items: Vec<u32>,
    /// Run r's explicitly disliked items in the cell's item block (sorted):
    /// `disliked[dis_starts[r]..dis_starts[r + 1]]`; both empty without a negatives matrix.
    dis_starts: Vec<u32>,
    disliked: Vec<u32>,
}

impl CellPairs {
    fn len(&self) -> usize {
        self.items.len()
    }
    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Empty, keeping the buffers.
    fn clear(&mut self) {
        self.users.clear();
        self.starts.clear();
        self.items.clear();
        self.dis_starts.clear();
        self.disliked.clear();
    }
    /// Room for `pairs` pairs of `users` users without growing.
    fn reserve(&mut self, pairs: usize, users: usize) {
        self.items.reserve(pairs);
        self.users.reserve(users);
        self.starts.reserve(users + 1);
    }
    /// Run r's disliked items in this cell's item block.
    #[inline(always)]
    fn disliked_of(&self, r: usize) -> &[u32] {
        if self.dis_starts.is_empty() {
            return &[];
        }
        &self.disliked[self.dis_starts[r] as usize..self.dis_starts[r + 1] as usize]
    }
}

/// Walker's alias table (Vose's construction): a draw proportional to fixed weights in O(1),
/// where a search of the cumulative weights cost a dozen dependent cache misses per negative
/// in a large item block. Built in f64 in a fixed order, so the same weights give the same
/// table and the same draws everywhere. Each slot holds both of its ids and its threshold in
/// one 16-byte entry, and one 64-bit draw picks the slot (high half) and the side (low half):
/// a draw is one cache miss, where separate keep, alias and id arrays were three in a row.
struct Alias {
    slots: Vec<AliasSlot>,
}

#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct AliasSlot {
    /// Keep `id` when the draw's low 32 bits are below this, else take `alias`.
    keep: u32,
    id: u32,
    /// `id` itself where the slot is kept with certainty.
    alias: u32,
}

impl Alias {
    /// A table drawing `ids[s]` with weight `weights[s]` (all zero: uniformly).
    fn new(ids: &[u32], weights: impl Iterator<Item = f64>) -> Alias {
        let w: Vec<f64> = weights.collect();
        let n = w.len();
        debug_assert_eq!(n, ids.len());
        let total: f64 = w.iter().sum();
        let mut slots: Vec<AliasSlot> = ids
            .iter()
            .map(|&id| AliasSlot {
                keep: u32::MAX,
                id,
                alias: id,
            })
            .collect();
        if n == 0 || !(total > 0.0) {
            return Alias { slots };
        }
        let mut scaled: Vec<f64> = w.iter().map(|&x| x * n as f64 / total).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            // In [0, 2^32): the share of the slot's draws that keep its own id.
            slots[s].keep = (scaled[s] * 4_294_967_296.0) as u32;
            slots[s].alias = ids[l];
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // What is left holds (to rounding) exactly its share: kept with certainty (alias =
        // id, set above).
        Alias { slots }
    }

    /// The slot a draw of `r` reads.
    #[inline(always)]
    fn slot_of(&self, r: u64) -> usize {
        (((r >> 32) * self.slots.len() as u64) >> 32) as usize
    }

    /// Ask for the slot that a draw of the generator's value `ahead` draws on will read.
    #[inline(always)]
    fn prefetch(&self, g: &SplitMix64, ahead: u64) {
        prefetch_line(
            self.slots
                .as_ptr()
                .wrapping_add(self.slot_of(g.peek(ahead))),
        );
    }

    /// An id, or None for an empty table.
    #[inline(always)]
    fn draw(&self, g: &mut SplitMix64) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let r = g.next_u64();
        let k = self.slot_of(r);
        let s = self.slots[k as usize];
        Some(if (r as u32) < s.keep { s.id } else { s.alias })
    }
}

/// A seeded random map of `n` rows to `blocks` blocks of near-equal size: the rows of each
/// block, in the map's order.
fn block_map(seed: u64, stream: u64, epoch: usize, n: usize, blocks: usize) -> Vec<Vec<u32>> {
    let mut perm: Vec<u32> = (0..n as u32).collect();
    SplitMix64::derive(seed, stream, epoch as u64).shuffle(&mut perm);
    (0..blocks)
        .map(|b| perm[b * n / blocks..(b + 1) * n / blocks].to_vec())
        .collect()
}

/// The `n` most popular items (ties to the lower index).
fn hard_pool(counts: &[u32], n: usize) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..counts.len() as u32).collect();
    ids.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
    ids.truncate(n);
    ids
}

impl Plan {
    /// `cells`: a previous plan's cells (or none), whose buffers are reused.
    fn build(
        p: &BprParams,
        train: &Csr,
        negatives: Option<&Csr>,
        epoch: usize,
        mut cells: Vec<CellPairs>,
    ) -> Plan {
        let b = blocks_for(p.blocks, train.n_cols);
        let users = block_map(p.seed, STREAM_USER_MAP, epoch, train.n_rows, b);
        let items_in = block_map(p.seed, STREAM_ITEM_MAP, epoch, train.n_cols, b);
        let mut block_of = vec![0u16; train.n_cols];
        for (bi, items) in items_in.iter().enumerate() {
            for &i in items {
                block_of[i as usize] = bi as u16;
            }
        }
        let n_items = train.n_cols;
        let full = |u: u32| n_items > 0 && train.row_len(u as usize) >= n_items;
        cells.resize_with(b * b, CellPairs::default);
        cells
            .par_chunks_mut(b)
            .zip(users.par_iter())
            .for_each(|(cells, us)| {
                // A cell gets about 1/b of the user block's pairs (items are mapped at random).
                let pairs: usize = us.iter().map(|&u| train.row_len(u as usize)).sum();
                let expect = pairs / b + pairs / (4 * b) + 16;
                for c in cells.iter_mut() {
                    c.clear();
                    c.reserve(expect.min(pairs), us.len().min(expect));
                }
                for (k, &u) in us.iter().enumerate() {
                    if let Some(&far) = us.get(k + ROW_AHEAD) {
                        prefetch_line(train.indptr.as_ptr().wrapping_add(far as usize));
                    }
                    if let Some(&near) = us.get(k + ROW_AHEAD / 2) {
                        let at = train.indptr[near as usize];
                        prefetch_line(train.indices.as_ptr().wrapping_add(at));
                    }
                    if full(u) {
                        continue;
                    }
                    for &i in train.row(u as usize).0 {
                        let c = &mut cells[block_of[i as usize] as usize];
                        if c.users.last() != Some(&u) {
                            c.users.push(u);
                            c.starts.push(c.items.len() as u32);
                            if negatives.is_some() {
                                c.dis_starts.push(c.disliked.len() as u32);
                            }
                        }
                        c.items.push(i);
                    }
                    // A dislike matters only in a cell where the user has a run to sample.
                    if let Some(neg) = negatives {
                        for &i in neg.row(u as usize).0 {
                            let c = &mut cells[block_of[i as usize] as usize];
                            if c.users.last() == Some(&u) {
                                c.disliked.push(i);
                            }
                        }
                    }
                }
                for c in cells.iter_mut() {
                    c.starts.push(c.items.len() as u32);
                    if negatives.is_some() {
                        c.dis_starts.push(c.disliked.len() as u32);
                    }
                }
            });
        let skipped_users = (0..train.n_rows as u32).filter(|&u| full(u)).count();
        let used: u64 = cells.iter().map(|c| c.len() as u64).sum();
        let total = match p.samples_per_epoch {
            0 => used,
            n => n as u64,
        };
        let mut samples = Vec::with_capacity(cells.len());
        let mut cum = 0u64;
        for c in &cells {
            let start = (total as u128 * cum as u128 / used.max(1) as u128) as u64;
            cum += c.len() as u64;
            let end = (total as u128 * cum as u128 / used.max(1) as u128) as u64;
            samples.push(end - start);
        }
        let counts = if matches!(p.sampler, Sampler::Popularity | Sampler::Mixed) {
            train.col_counts()
        } else {
            Vec::new()
        };
        let pop_alias = if p.sampler == Sampler::Popularity {
            items_in
                .iter()
                .map(|items| {
                    Alias::new(
                        items,
                        items
                            .iter()
                            .map(|&i| (counts[i as usize] as f64).powf(p.popularity_beta as f64)),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        let hard_in = if p.sampler == Sampler::Mixed {
            let mut hard_in = vec![Vec::new(); b];
            for i in hard_pool(&counts, p.hard_top_n) {
                hard_in[block_of[i as usize] as usize].push(i);
            }
            hard_in
        } else {
            Vec::new()
        };
        Plan {
            cells,
            samples,
            items_in,
            pop_alias,
            hard_in,
            skipped_users,
        }
    }
}

/// A raw pointer that may cross threads: the schedule guarantees the rows each cell
/// touches are disjoint from every other cell's in the same sub-epoch.
#[derive(Clone, Copy)]
struct SyncPtr<T>(*mut T);
unsafe impl<T> Send for SyncPtr<T> {}
unsafe impl<T> Sync for SyncPtr<T> {}

impl<T> SyncPtr<T> {
    /// SAFETY: the caller holds the only access to `[at, at + len)` for the returned
    /// lifetime, and the range is inside the allocation.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice<'a>(&self, at: usize, len: usize) -> &'a mut [T] {
        std::slice::from_raw_parts_mut(self.0.add(at), len)
    }
}

const PREFETCH_AHEAD: u64 = 3;
/// How many samples ahead negatives are drawn (and their rows prefetched).
const DRAW_AHEAD: u64 = 4;

/// How many generator values ahead a draw's table entry is prefetched (`prefetch_draw`).
const ALIAS_AHEAD: u64 = 2;

/// Slots of the drawn-ahead negatives: this sample's and DRAW_AHEAD more.
const SLOTS: usize = DRAW_AHEAD as usize + 1;

/// A position in a cell's sample order that wraps at its end (an epoch may ask a cell for
/// more samples than it has pairs) without a division per sample.
struct Wrap {
    at: usize,
    len: usize,
}

impl Wrap {
    fn new(start: u64, len: usize) -> Wrap {
        Wrap {
            at: (start % len as u64) as usize,
            len,
        }
    }

    #[inline(always)]
    fn next(&mut self) -> usize {
        let at = self.at;
        self.at += 1;
        if self.at == self.len {
            self.at = 0;
        }
        at
    }
}

/// Ask for the cache lines of the row at `at` (a hint; never faults).
#[inline(always)]
fn prefetch_row(table: &SyncPtr<f32>, at: usize, d: usize) {
    let p = table.0.wrapping_add(at) as *const u8;
    let mut o = 0;
    while o < d * 4 {
        prefetch_line(p.wrapping_add(o));
        o += 64;
    }
}

/// Ask for the cache line holding `p` (a hint: it reads nothing and cannot fault, so any
/// address will do).
#[inline(always)]
fn prefetch_line<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it reads nothing and cannot fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// How many users ahead the plan asks for a row's bounds, and half as many for its first
/// items: the block map visits users in random order, so each row is a cold load otherwise.
const ROW_AHEAD: usize = 16;

/// The order of an epoch's cells as a dependency graph rather than B sub-epochs with a barrier
/// after each: cell (ub, s) (user block ub in sub-epoch s, item block (ub + s) mod B) reads and
/// writes rows that only (ub, s - 1) (same user block) and (ub + 1, s - 1) (same item block)
/// touched last, so it starts as soon as those two are done. Every row block sees the same
/// cells in the same order as under barriers (same bits), and a thread no longer waits for a
/// sub-epoch's slowest cell (2 % of an ML-20M-shape epoch on a quiet machine, more when a
/// core is taken away by other work).
struct CellGraph {
    b: usize,
    /// Unfinished predecessors of cell (ub, s), at ub * B + s.
    waiting: Vec<AtomicU8>,
}

impl CellGraph {
    fn new(b: usize) -> CellGraph {
        let waiting = (0..b * b)
            .map(|at| {
                let s = at % b;
                // With one block there is one cell; with two, the two predecessors are distinct.
                AtomicU8::new(if s == 0 { 0 } else { 2 })
            })
            .collect();
        CellGraph { b, waiting }
    }

    /// Runs `cell(s, ub)` for every cell, in parallel as the graph allows; the results come
    /// back by sub-epoch, then user block (the order the barrier schedule had).
    fn run<T: Send + Sync>(&self, cell: impl Fn(usize, usize) -> T + Sync) -> Vec<T> {
        let b = self.b;
        let out: Vec<OnceLock<T>> = (0..b * b).map(|_| OnceLock::new()).collect();
        rayon::scope(|sc| {
            for ub in 0..b {
                let (out, cell) = (&out, &cell);
                sc.spawn(move |sc| self.step(sc, ub, 0, cell, out));
            }
        });
        out.into_iter()
            .map(|c| c.into_inner().expect("every cell ran"))
            .collect()
    }

    fn step<'s, T: Send + Sync>(
        &'s self,
        sc: &rayon::Scope<'s>,
        ub: usize,
        s: usize,
        cell: &'s (impl Fn(usize, usize) -> T + Sync),
        out: &'s [OnceLock<T>],
    ) {
        let b = self.b;
        let first = out[s * b + ub].set(cell(s, ub)).is_ok();
        debug_assert!(first, "cell ({ub}, {s}) ran twice");
        if s + 1 == b {
            return;
        }
        // The successors: the same user block's next cell, and the cell of the previous user
        // block that takes over this item block. The last to finish a successor's
        // predecessors starts it (AcqRel: it sees their row writes).
        for next in [ub, (ub + b - 1) % b] {
            if self.waiting[next * b + s + 1].fetch_sub(1, Mem::AcqRel) == 1 {
                sc.spawn(move |sc| self.step(sc, next, s + 1, cell, out));
            }
        }
    }
}

struct Tables {
    users: SyncPtr<f32>,
    items: SyncPtr<f32>,
    adam: Option<[SyncPtr<f32>; 4]>,
    adam_t: Option<[SyncPtr<u32>; 2]>,
}

#[derive(Default)]
struct CellStats {
    samples: u64,
    loss: f64,
    right: u64,
    neg: NegativeCounts,
}

/// Draw an unseen item of `items` (uniform), or None after MAX_TRIES hits on `row`.
#[inline(always)]
fn draw_uniform(
    g: &mut SplitMix64,
    items: &[u32],
    row: &[u32],
    neg: &mut NegativeCounts,
) -> Option<u32> {
    for _ in 0..MAX_TRIES {
        let j = items[g.below(items.len() as u64) as usize];
        if row.binary_search(&j).is_err() {
            return Some(j);
        }
        neg.rejected += 1;
    }
    None
}

struct Cell<'a> {
    p: &'a BprParams,
    plan: &'a Plan,
    t: &'a Tables,
    lr: f32,
}

impl Cell<'_> {
    /// One sample's negative: drawn, then (dns) the best-scored candidate under `u` now.
    #[cfg(test)]
    fn negative(
        &self,
        g: &mut SplitMix64,
        ib: usize,
        u: &[f32],
        row: &[u32],
        disliked: &[u32],
        neg: &mut NegativeCounts,
    ) -> Option<u32> {
        let mut out = vec![0u32; self.candidates()];
        let n = self.draw(g, ib, row, disliked, &mut out, neg);
        self.choose(u, &out[..n])
    }

    /// Candidates drawn per sample: dns_candidates for dns, else 1.
    fn candidates(&self) -> usize {
        if self.p.sampler == Sampler::Dns {
            self.p.dns_candidates
        } else {
            1
        }
    }

    /// The negative among a sample's drawn candidates: the only one, or for dns the
    /// best-scored under the user's row as it is when the sample trains (the first of equals).
    #[inline(always)]
    fn choose(&self, u: &[f32], drawn: &[u32]) -> Option<u32> {
        if self.p.sampler != Sampler::Dns {
            return drawn.first().copied();
        }
        let d = self.p.width();
        let mut best: Option<(u32, f32)> = None;
        for &j in drawn {
            // SAFETY: item j is in this cell's item block (read only here).
            let vj = unsafe { self.t.items.slice(j as usize * d, d) };
            let s = crate::linalg::dot(u, vj);
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((j, s));
            }
        }
        best.map(|(j, _)| j)
    }

    /// Draw one sample's candidate negatives into `out` (at least `candidates()` long) and
    /// return how many there are (0: the sample is skipped). Draws depend on the generator,
    /// the user's row and the plan only, never on factors, so they can run ahead of the
    /// samples that use them and give the same model.
    #[inline(always)]
    fn draw(
        &self,
        g: &mut SplitMix64,
        ib: usize,
        row: &[u32],
        disliked: &[u32],
        out: &mut [u32],
        neg: &mut NegativeCounts,
    ) -> usize {
        if self.p.sampler == Sampler::Dns {
            let items = &self.plan.items_in[ib];
            let mut n = 0;
            for _ in 0..self.p.dns_candidates {
                if let Some(j) = draw_uniform(g, items, row, neg) {
                    neg.dns_candidates += 1;
                    out[n] = j;
                    n += 1;
                }
            }
            return n;
        }
        match self.draw_one(g, ib, row, disliked, neg) {
            Some(j) => {
                out[0] = j;
                1
            }
            None => 0,
        }
    }

    /// Ask for what a draw ALIAS_AHEAD values from now will read, assuming each value starts
    /// a draw (most do: a rejection shifts the guess by one): the alias slot (popularity),
    /// or the block's item entry (uniform). Both are random reads of a table that the
    /// cell's factor rows push out of L2; the slot load was 16 % of a Last.fm-360K epoch.
    #[inline(always)]
    fn prefetch_draw(&self, g: &SplitMix64, ib: usize) {
        match self.p.sampler {
            Sampler::Popularity => self.plan.pop_alias[ib].prefetch(g, ALIAS_AHEAD),
            Sampler::Uniform | Sampler::Dns => {
                let items = &self.plan.items_in[ib];
                let at = SplitMix64::scale(g.peek(ALIAS_AHEAD), items.len() as u64);
                prefetch_line(items.as_ptr().wrapping_add(at as usize));
            }
            Sampler::Mixed => {}
        }
    }

    /// The negative of a sampler that draws one (every one but dns).
    #[inline(always)]
    fn draw_one(
        &self,
        g: &mut SplitMix64,
        ib: usize,
        row: &[u32],
        disliked: &[u32],
        neg: &mut NegativeCounts,
    ) -> Option<u32> {
        let items = &self.plan.items_in[ib];
        match self.p.sampler {
            Sampler::Uniform => {
                let j = draw_uniform(g, items, row, neg)?;
                neg.uniform += 1;
                Some(j)
            }
            Sampler::Popularity => {
                let alias = &self.plan.pop_alias[ib];
                for _ in 0..MAX_TRIES {
                    let j = alias.draw(g)?;
                    if row.binary_search(&j).is_err() {
                        neg.popularity += 1;
                        return Some(j);
                    }
                    neg.rejected += 1;
                }
                None
            }
            // Drawn in `draw`: several candidates, chosen when the sample trains.
            Sampler::Dns => None,
            Sampler::Mixed => {
                let hard = &self.plan.hard_in[ib];
                if g.next_f32() < self.p.hard_fraction {
                    // One pool: the user's dislikes, then the block's popular items (an item
                    // in both counts twice, as it is doubly a hard negative).
                    let total = disliked.len() + hard.len();
                    if total > 0 {
                        for _ in 0..MAX_TRIES.min(2 * total) {
                            let r = g.below(total as u64) as usize;
                            let j = if r < disliked.len() {
                                disliked[r]
                            } else {
                                hard[r - disliked.len()]
                            };
                            if row.binary_search(&j).is_err() {
                                neg.hard += 1;
                                neg.disliked += u64::from(r < disliked.len());
                                return Some(j);
                            }
                            neg.rejected += 1;
                        }
                    }
                    neg.hard_fallback += 1;
                }
                let j = draw_uniform(g, items, row, neg)?;
                neg.uniform += 1;
                Some(j)
            }
        }
    }

    fn run(&self, cell: usize, ib: usize, g: SplitMix64) -> CellStats {
        #[cfg(target_arch = "x86_64")]
        if crate::linalg::simd::Isa::detect() == crate::linalg::simd::Isa::Avx2Fma {
            // SAFETY: the CPU has AVX2 and FMA (detected).
            return unsafe { self.run_avx2(cell, ib, g) };
        }
        self.run_portable::<false>(cell, ib, g)
    }

    /// The same code compiled for AVX2: wider vectors, the same operations in the same
    /// order (Rust never fuses a multiply and an add on its own), so the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(&self, cell: usize, ib: usize, g: SplitMix64) -> CellStats {
        self.run_portable::<true>(cell, ib, g)
    }

    #[inline(always)]
    fn run_portable<const AVX2: bool>(
        &self,
        cell: usize,
        ib: usize,
        mut g: SplitMix64,
    ) -> CellStats {
        let mut st = CellStats::default();
        let pairs = &self.plan.cells[cell];
        let n = self.plan.samples[cell];
        if pairs.is_empty() || n == 0 {
            return st;
        }
        let (k, d) = (self.p.factors, self.p.width());
        // Each user's pairs together and in a random order, so the user's row is reused from
        // L1 by consecutive samples (a cell holds few samples per user: shuffling all pairs
        // made nearly every sample fetch a cold user row). The users themselves come in the
        // epoch's block map order, already a fresh random order each epoch: shuffling them
        // again only scattered the reads of the cell's pair arrays (a third of the draw cost).
        // Each entry is (pair, run).
        let mut order: Vec<(u32, u32)> = Vec::with_capacity(pairs.len());
        for r in 0..pairs.users.len() {
            let at = order.len();
            order.extend((pairs.starts[r]..pairs.starts[r + 1]).map(|t| (t, r as u32)));
            g.shuffle(&mut order[at..]);
        }
        let hyper = AdamHyper {
            lr: self.lr,
            beta1: self.p.beta1,
            beta2: self.p.beta2,
            weight_decay: self.p.weight_decay,
        };
        let reg = self.p.regularization;
        // Negatives are drawn DRAW_AHEAD samples before they train, in sample order (the same
        // draws as drawing each at its sample), and their rows prefetched: a uniform negative
        // is a random row of the item block, which on a large catalogue is out of cache and
        // stalled every sample on its load.
        let c = self.candidates();
        let slots = SLOTS;
        let mut drawn = vec![0u32; slots * c];
        let mut n_drawn = vec![0usize; slots];
        let draw_for = |s: u64,
                        at: usize,
                        g: &mut SplitMix64,
                        neg: &mut NegativeCounts,
                        drawn: &mut [u32],
                        n_drawn: &mut [usize]| {
            let r = order[at].1 as usize;
            let row = &pairs.items[pairs.starts[r] as usize..pairs.starts[r + 1] as usize];
            let slot = (s % SLOTS as u64) as usize;
            let out = &mut drawn[slot * c..slot * c + c];
            let m = self.draw(g, ib, row, pairs.disliked_of(r), out, neg);
            self.prefetch_draw(g, ib);
            for &j in &out[..m] {
                prefetch_row(&self.t.items, j as usize * d, d);
            }
            n_drawn[slot] = m;
        };
        let len = order.len();
        let mut ahead_draw = Wrap::new(0, len);
        for s in 0..n.min(DRAW_AHEAD) {
            let at = ahead_draw.next();
            draw_for(s, at, &mut g, &mut st.neg, &mut drawn, &mut n_drawn);
        }
        let (mut now, mut ahead_fetch) = (Wrap::new(0, len), Wrap::new(PREFETCH_AHEAD, len));
        let mut loss = LossSum::default();
        for s in 0..n {
            if s + DRAW_AHEAD < n {
                let at = ahead_draw.next();
                draw_for(
                    s + DRAW_AHEAD,
                    at,
                    &mut g,
                    &mut st.neg,
                    &mut drawn,
                    &mut n_drawn,
                );
            }
            // The rows of the third sample ahead, on their way to cache while this one runs:
            // a cell holds only a few samples per user and item, so most rows come in cold
            // (1 thread: ML-20M shape 5.4 -> 7-8.5, Last.fm shape 2.7 -> 3.4 M samples/s).
            let (ahead, ahead_run) = order[ahead_fetch.next()];
            prefetch_row(
                &self.t.users,
                pairs.users[ahead_run as usize] as usize * d,
                d,
            );
            prefetch_row(&self.t.items, pairs.items[ahead as usize] as usize * d, d);
            let (t, r) = order[now.next()];
            let (t, r) = (t as usize, r as usize);
            let (u, i) = (pairs.users[r] as usize, pairs.items[t] as usize);
            // SAFETY: user u is in this cell's user block, items i and j in its item block;
            // no other cell of the sub-epoch touches those rows, and i != j (j is unseen).
            let uf = unsafe { self.t.users.slice(u * d, d) };
            let slot = (s % SLOTS as u64) as usize;
            let Some(j) = self.choose(uf, &drawn[slot * c..slot * c + n_drawn[slot]]) else {
                st.neg.skipped_samples += 1;
                continue;
            };
            let j = j as usize;
            let (vi, vj) = unsafe { (self.t.items.slice(i * d, d), self.t.items.slice(j * d, d)) };
            let (x, z) = match (&self.t.adam, &self.t.adam_t) {
                (Some([um, uv, im, iv]), Some([ut, it])) => unsafe {
                    adamw_step::<AVX2>(
                        Rows {
                            p: uf,
                            m: um.slice(u * d, d),
                            v: uv.slice(u * d, d),
                            t: &mut ut.slice(u, 1)[0],
                        },
                        Rows {
                            p: vi,
                            m: im.slice(i * d, d),
                            v: iv.slice(i * d, d),
                            t: &mut it.slice(i, 1)[0],
                        },
                        Rows {
                            p: vj,
                            m: im.slice(j * d, d),
                            v: iv.slice(j * d, d),
                            t: &mut it.slice(j, 1)[0],
                        },
                        k,
                        reg,
                        &hyper,
                    )
                },
                _ => sgd_step::<AVX2>(uf, vi, vj, k, self.lr, reg),
            };
            st.samples += 1;
            loss.add(x, z);
            st.right += u64::from(x > 0.0);
        }
        st.loss = loss.total();
        st
    }
}

impl BprModel {
    /// A model with seeded initial factors (uniform in ±0.5 / factors; item biases 0).
    pub fn new(
        params: impl IntoChecked<BprParams>,
        n_users: usize,
        n_items: usize,
    ) -> Result<Self> {
        let params = params.into_checked()?;
        let p = pool(params.threads)?;
        let (user_factors, item_factors) = p.install(|| {
            (
                init_factors(&params, STREAM_USERS, n_users, 1.0),
                init_factors(&params, STREAM_ITEMS, n_items, 0.0),
            )
        });
        Ok(BprModel {
            params,
            n_users,
            n_items,
            user_factors,
            item_factors,
            epochs_done: 0,
            curve: Vec::new(),
            adam: None,
            best: None,
            bad_evals: 0,
            stopped: false,
            recycled: Vec::new(),
        })
    }

    /// A fitted model from saved factor rows (`width` columns each).
    pub fn from_factors(
        params: impl IntoChecked<BprParams>,
        user_factors: Vec<f32>,
        item_factors: Vec<f32>,
    ) -> Result<Self> {
        let params = params.into_checked()?;
        let (n_users, n_items) = crate::models::factor::check_factor_arrays(
            &user_factors,
            &item_factors,
            params.width(),
        )?;
        Ok(BprModel {
            n_users,
            n_items,
            params,
            user_factors: user_factors.into(),
            item_factors: item_factors.into(),
            epochs_done: 0,
            curve: Vec::new(),
            adam: None,
            best: None,
            bad_evals: 0,
            stopped: false,
            recycled: Vec::new(),
        })
    }

    /// What the next epoch reads (a checkpoint, see `crate::checkpoint`): the factors,
    /// AdamW's moments and step counts, the best epoch kept for `finish` and the patience
    /// count. Samplers, block maps and the learning rate derive from (seed, epoch).
    pub fn train_state(&self) -> TrainState {
        let mut s = TrainState::new("bpr");
        s.push("user_factors", StateData::F32(self.user_factors.to_vec()))
            .push("item_factors", StateData::F32(self.item_factors.to_vec()))
            .push_u64("epochs_done", self.epochs_done as u64)
            .push_u64("bad_evals", self.bad_evals as u64)
            .push_u64("stopped", u64::from(self.stopped));
        if let Some(a) = &self.adam {
            s.push("adam_user_m", StateData::F32(a.user_m.clone()))
                .push("adam_user_v", StateData::F32(a.user_v.clone()))
                .push("adam_item_m", StateData::F32(a.item_m.clone()))
                .push("adam_item_v", StateData::F32(a.item_v.clone()))
                .push("adam_user_t", StateData::U32(a.user_t.clone()))
                .push("adam_item_t", StateData::U32(a.item_t.clone()));
        }
        if let Some(b) = &self.best {
            s.push_u64("best_epoch", b.epoch as u64)
                .push("best_metric", StateData::F64(vec![b.metric]));
            if let Some((u, i)) = &b.factors {
                s.push("best_user_factors", StateData::F32(u.to_vec()))
                    .push("best_item_factors", StateData::F32(i.to_vec()));
            }
        }
        s
    }

    /// A model mid-fit from `train_state`'s checkpoint, for `n_users` x `n_items` data; its
    /// next epoch is the one the checkpointed fit would have run.
    pub fn from_train_state(
        params: impl IntoChecked<BprParams>,
        mut s: TrainState,
        n_users: usize,
        n_items: usize,
    ) -> Result<Self> {
        s.expect_type("bpr")?;
        let params = params.into_checked()?;
        let d = params.width();
        let (nu, ni) = (rows_len(n_users, d)?, rows_len(n_items, d)?);
        let user_factors = s.take_f32("user_factors", nu)?;
        let item_factors = s.take_f32("item_factors", ni)?;
        let adam = if s.has("adam_user_m") {
            Some(Adam {
                user_m: s.take_f32("adam_user_m", nu)?,
                user_v: s.take_f32("adam_user_v", nu)?,
                item_m: s.take_f32("adam_item_m", ni)?,
                item_v: s.take_f32("adam_item_v", ni)?,
                user_t: s.take_u32("adam_user_t", n_users)?,
                item_t: s.take_u32("adam_item_t", n_items)?,
            })
        } else {
            None
        };
        let best = if s.has("best_epoch") {
            let epoch = s.take_count("best_epoch")?;
            let metric = s.take_f64("best_metric", 1)?[0];
            let factors = if s.has("best_user_factors") {
                Some((
                    s.take_f32("best_user_factors", nu)?.into(),
                    s.take_f32("best_item_factors", ni)?.into(),
                ))
            } else {
                None
            };
            Some(Best {
                epoch,
                metric,
                factors,
            })
        } else {
            None
        };
        Ok(BprModel {
            epochs_done: s.take_count("epochs_done")?,
            bad_evals: s.take_count("bad_evals")?,
            stopped: s.take_count("stopped")? != 0,
            params,
            n_users,
            n_items,
            user_factors: user_factors.into(),
            item_factors: item_factors.into(),
            curve: Vec::new(),
            adam,
            best,
            recycled: Vec::new(),
        })
    }

    /// Columns per factor row (factors, + 1 with the item bias).
    pub fn width(&self) -> usize {
        self.params.width()
    }

    /// The epoch whose factors `finish` keeps (None without validation).
    pub fn best_epoch(&self) -> Option<usize> {
        self.best.as_ref().map(|b| b.epoch)
    }

    /// Shapes and the patience/validation rule, before any work.
    pub fn check_inputs(&self, train: &Csr, valid: Option<&Csr>) -> Result<()> {
        if train.n_rows != self.n_users || train.n_cols != self.n_items {
            return Err(Error::param(
                "interactions",
                format!(
                    "matrix is {} x {} but the model is {} users x {} items",
                    train.n_rows, train.n_cols, self.n_users, self.n_items
                ),
            ));
        }
        match valid {
            Some(v) if v.n_rows != self.n_users || v.n_cols != self.n_items => Err(Error::param(
                "valid",
                format!(
                    "validation matrix is {} x {} but training is {} x {}",
                    v.n_rows, v.n_cols, self.n_users, self.n_items
                ),
            )),
            None if self.params.patience > 0 => Err(Error::param(
                "patience",
                format!(
                    "is {} but no validation matrix was given (pass valid, or patience 0)",
                    self.params.patience
                ),
            )),
            _ => Ok(()),
        }
    }

    /// One epoch; with `valid`, evaluated every eval_every epochs (and at the last one),
    /// keeping the best epoch's factors for `finish`.
    pub fn epoch(&mut self, train: &Csr, valid: Option<&Csr>) -> Result<EpochReport> {
        self.epoch_with(train, valid, None)
    }

    /// A negatives matrix (explicit dislikes, users x items) is for the mixer's hard pool:
    /// any other sampler would ignore it, so it is refused there rather than skipped.
    pub fn check_negatives(&self, negatives: Option<&Csr>) -> Result<()> {
        let Some(n) = negatives else { return Ok(()) };
        if n.n_rows != self.n_users || n.n_cols != self.n_items {
            return Err(Error::param(
                "negatives",
                format!(
                    "matrix is {} x {} but the model is {} users x {} items",
                    n.n_rows, n.n_cols, self.n_users, self.n_items
                ),
            ));
        }
        if self.params.sampler != Sampler::Mixed {
            return Err(Error::param(
                "negatives",
                format!(
                    "were given but sampler is {}; only sampler mixed draws from explicit negatives (its hard pool)",
                    self.params.sampler.name()
                ),
            ));
        }
        Ok(())
    }

    /// `epoch` with the user's explicitly disliked items in the mixer's hard pool.
    pub fn epoch_with(
        &mut self,
        train: &Csr,
        valid: Option<&Csr>,
        negatives: Option<&Csr>,
    ) -> Result<EpochReport> {
        self.check_inputs(train, valid)?;
        self.check_negatives(negatives)?;
        let start = Instant::now();
        let params = self.params.clone();
        let p: &BprParams = &params;
        let e = self.epochs_done;
        let lr = p.lr_at(e);
        if p.optimizer == Optimizer::AdamW && self.adam.is_none() {
            self.adam = Some(Adam {
                user_m: vec![0.0; self.user_factors.len()],
                user_v: vec![0.0; self.user_factors.len()],
                item_m: vec![0.0; self.item_factors.len()],
                item_v: vec![0.0; self.item_factors.len()],
                user_t: vec![0; self.n_users],
                item_t: vec![0; self.n_items],
            });
        }
        let threads = pool(p.threads)?;
        let b = blocks_for(p.blocks, self.n_items);
        let (stats, skipped_users, recycled) = threads.install(|| {
            let plan = Plan::build(p, train, negatives, e, std::mem::take(&mut self.recycled));
            let tables = Tables {
                users: SyncPtr(self.user_factors.as_mut_ptr()),
                items: SyncPtr(self.item_factors.as_mut_ptr()),
                adam: self.adam.as_mut().map(|a| {
                    [
                        SyncPtr(a.user_m.as_mut_ptr()),
                        SyncPtr(a.user_v.as_mut_ptr()),
                        SyncPtr(a.item_m.as_mut_ptr()),
                        SyncPtr(a.item_v.as_mut_ptr()),
                    ]
                }),
                adam_t: self.adam.as_mut().map(|a| {
                    [
                        SyncPtr(a.user_t.as_mut_ptr()),
                        SyncPtr(a.item_t.as_mut_ptr()),
                    ]
                }),
            };
            let cell = Cell {
                p,
                plan: &plan,
                t: &tables,
                lr,
            };
            let epoch_seed = SplitMix64::derive(p.seed, STREAM_CELLS, e as u64).next_u64();
            let all = CellGraph::new(b).run(|s, ub| {
                let ib = (ub + s) % b;
                let g = SplitMix64::derive(epoch_seed, s as u64, ub as u64);
                cell.run(ub * b + ib, ib, g)
            });
            (all, plan.skipped_users, plan.cells)
        });
        self.recycled = recycled;
        let mut negatives = NegativeCounts::default();
        let (mut samples, mut loss, mut right) = (0u64, 0f64, 0u64);
        for c in &stats {
            negatives.add(&c.neg);
            samples += c.samples;
            loss += c.loss;
            right += c.right;
        }
        let blown = |t: &[f32]| {
            t.par_chunks(1 << 16)
                .any(|c| c.iter().any(|v| !v.is_finite()))
        };
        if threads.install(|| blown(&self.user_factors) || blown(&self.item_factors)) {
            return Err(Error::Numeric(format!(
                "factors became NaN or infinite in epoch {}; lower learning_rate (now {})",
                e + 1,
                p.learning_rate
            )));
        }
        self.epochs_done += 1;
        let done = self.epochs_done;
        let mut metric = None;
        if let Some(v) = valid {
            if done % p.eval_every == 0 || done >= p.epochs {
                let m = threads.install(|| self.validation_ndcg(train, v))?;
                metric = Some(m);
                if self.best.as_ref().is_none_or(|b| m > b.metric) {
                    self.best = Some(Best {
                        epoch: done,
                        metric: m,
                        factors: Some((self.user_factors.clone(), self.item_factors.clone())),
                    });
                    self.bad_evals = 0;
                } else {
                    self.bad_evals += 1;
                    if p.patience > 0 && self.bad_evals >= p.patience {
                        self.stopped = true;
                    }
                }
            }
        }
        let report = EpochReport {
            epoch: done,
            seconds: start.elapsed().as_secs_f64(),
            learning_rate: lr,
            samples,
            loss: loss / samples.max(1) as f64,
            auc: right as f64 / samples.max(1) as f64,
            valid: metric,
            best_epoch: self.best_epoch(),
            stop: self.stopped || done >= p.epochs,
            negatives,
            skipped_users,
        };
        self.curve.push(report.clone());
        Ok(report)
    }

    fn validation_ndcg(&self, train: &Csr, valid: &Csr) -> Result<f64> {
        let k = self.params.k;
        // NDCG only: AUC would score the whole catalogue once more every validated epoch.
        let opts = crate::metrics::EvalOptions {
            auc: false,
            per_user: false,
        };
        let r = crate::metrics::evaluate_with(
            self as &dyn Recommender,
            train,
            &[train],
            valid,
            &[k],
            &opts,
        )?;
        let name = format!("ndcg@{k}");
        Ok(r.metrics
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0.0, |(_, v)| *v))
    }

    /// End of a fit: with validation, put back the best evaluated epoch's factors.
    /// Epochs run after `finish` continue from the kept factors (AdamW's moments restart);
    /// a later `finish` puts back a better epoch only if one was found since.
    pub fn finish(&mut self) {
        if let Some((users, items)) = self.best.as_mut().and_then(|b| b.factors.take()) {
            self.user_factors = users;
            self.item_factors = items;
        }
        self.adam = None;
        self.recycled = Vec::new();
    }

    /// Fit from scratch: epochs until the last one or until patience runs out, then the
    /// best epoch's factors when validating. `on_epoch` returns false to cancel.
    pub fn fit(
        params: impl IntoChecked<BprParams>,
        train: &Csr,
        valid: Option<&Csr>,
        mut on_epoch: impl FnMut(&EpochReport) -> bool,
    ) -> Result<Self> {
        let mut m = BprModel::new(params, train.n_rows, train.n_cols)?;
        m.check_inputs(train, valid)?;
        loop {
            let r = m.epoch(train, valid)?;
            if !on_epoch(&r) {
                return Err(Error::Cancelled);
            }
            if r.stop {
                break;
            }
        }
        m.finish();
        Ok(m)
    }

    /// The factor row of a user not in training, from the items they interacted with
    /// (checked ids; values weight each item's steps, repeats summed): item factors fixed,
    /// the user row starts at zero (bias column 1.0) and takes `epochs` passes over the
    /// items, each step against one uniform unseen negative from the whole catalogue, with
    /// the model's optimizer, schedule and regularization, and a generator seeded by the
    /// model's seed: the same items always give the same row. Someone who has every item
    /// (or none) gets the zero row.
    pub fn fold_in_user(&self, items: &[u32], values: &[f32]) -> Result<Vec<f32>> {
        crate::topk::check_items(items, values, self.n_items)?;
        let p: &BprParams = &self.params;
        let (k, d) = (p.factors, p.width());
        let mut x = vec![0f32; d];
        if p.item_bias {
            x[k] = 1.0;
        }
        let mut pairs: Vec<(u32, f32)> =
            items.iter().copied().zip(values.iter().copied()).collect();
        pairs.sort_by_key(|&(i, _)| i);
        let mut seen: Vec<u32> = Vec::with_capacity(pairs.len());
        let mut weight: Vec<f32> = Vec::with_capacity(pairs.len());
        for (i, v) in pairs {
            if seen.last() == Some(&i) {
                *weight.last_mut().unwrap() += v;
            } else {
                seen.push(i);
                weight.push(v);
            }
        }
        if seen.is_empty() || seen.len() >= self.n_items {
            return Ok(x);
        }
        let all: Vec<u32> = (0..self.n_items as u32).collect();
        let mut g = SplitMix64::derive(p.seed, STREAM_FOLD_IN, 0);
        let mut neg = NegativeCounts::default();
        let (mut m, mut v, mut t) = (vec![0f32; d], vec![0f32; d], 0u32);
        let mut grad = vec![0f32; k];
        for e in 0..p.epochs {
            let lr = p.lr_at(e);
            for (&i, &w) in seen.iter().zip(&weight) {
                if w == 0.0 {
                    continue;
                }
                let Some(j) = draw_uniform(&mut g, &all, &seen, &mut neg) else {
                    continue;
                };
                let vi = &self.item_factors[i as usize * d..i as usize * d + d];
                let vj = &self.item_factors[j as usize * d..j as usize * d + d];
                let z = w * sigmoid_neg(diff_dot(&x, vi, vj));
                for f in 0..k {
                    grad[f] = -z * (vi[f] - vj[f]) + p.regularization * x[f];
                }
                match p.optimizer {
                    Optimizer::Sgd => {
                        for f in 0..k {
                            x[f] -= lr * grad[f];
                        }
                    }
                    Optimizer::AdamW => {
                        let h = AdamHyper {
                            lr,
                            beta1: p.beta1,
                            beta2: p.beta2,
                            weight_decay: p.weight_decay,
                        };
                        let c = corrections(&h, &mut t);
                        for f in 0..k {
                            adam_apply(&mut x[f], &mut m[f], &mut v[f], grad[f], &h, c);
                        }
                    }
                }
            }
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::Numeric(
                "the folded-in user vector is not finite; lower learning_rate".into(),
            ));
        }
        Ok(x)
    }
}
