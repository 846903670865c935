//! Top-K over dot products of factor rows: query rows (users, or items for similar-items)
//! against target rows packed in panels ([`kernel`]), tile by tile. Each tile's scores stay
//! in cache and stream straight into per-query heaps, so the full score matrix is never
//! built.
//!
//! Every path computes a score as [`dot_fma`] does, so results do not depend on blocking,
//! batching, the thread count or the CPU's vector width.

use rayon::prelude::*;

use super::heap::Best;
use super::kernel::{self, Above, Packed, PANEL};
use super::norm_order;
use super::quant::{self, QPacked, QQueries};
use super::scan::scan;

pub use super::kernel::dot_fma;

/// Panels per tile: 32 x 16 targets (128 KiB at 64 factors).
const TILE_PANELS: usize = 32;
/// Queries per block: each tile of targets is read from memory once per block, so large
/// blocks matter when the catalogue is far bigger than the caches (292k items at 64 factors
/// is 75 MB). A block's scores for one tile are 1 MiB, within L2. Measured on this 2-core
/// Xeon (topk_speed): 512 x 32 beat 64 x 64 by 10 % over 20k items and 20-40 % over 292k.
const BLOCK_QUERIES: usize = 512;
/// A single query splits its targets across threads in chunks of this many panels (16k
/// targets), so only catalogues of 32k items or more: below that, waking a second thread
/// from the JS thread cost more than it saved (0.30 against 0.25 ms over 20k items).
const SPLIT_PANELS: usize = 1024;

/// Packed target rows, optionally a subset (in increasing order) and scaled.
pub struct Targets<'a> {
    pub packed: &'a Packed,
    /// Target j is item `ids[j]` (a candidate list); else item j.
    pub ids: Option<&'a [u32]>,
    /// Per-target factor applied to its score (1/norm for cosine); NaN drops the target.
    pub scale: Option<&'a [f32]>,
    /// The int8 first pass ([`quant`]) for `packed`, when worth it: items it rules out are
    /// never scored in f32; the rest are rescored exactly. Unscaled targets only.
    pub quant: Option<&'a QPacked>,
    /// Row-major factors of the items (target j is row `item(j)`), read to rescore a few
    /// targets (4 cache lines a row where a packed panel spreads one over 64); else the
    /// packed panels are read.
    pub rows: Option<&'a [f32]>,
    /// Targets packed in decreasing norm ([`super::norm_order`]): per panel, an upper bound
    /// on the norms from that panel on. A block stops at the first tile where no remaining
    /// target can reach any of its queries' k-th scores. Unscaled targets only.
    pub bound: Option<&'a [f32]>,
}

impl Targets<'_> {
    pub fn len(&self) -> usize {
        self.packed.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    #[inline]
    fn item(&self, j: usize) -> u32 {
        match self.ids {
            Some(ids) => ids[j],
            None => j as u32,
        }
    }
}

/// Query vectors: rows of a matrix picked by index, each with an optional score scale.
pub struct Queries<'a> {
    pub rows: &'a [f32],
    pub pick: &'a [u32],
    /// Per query (by position); NaN makes every score NaN (nothing ranks).
    pub scale: Option<&'a [f32]>,
}

impl Queries<'_> {
    fn row(&self, pos: usize, f: usize) -> &[f32] {
        let r = self.pick[pos] as usize;
        &self.rows[r * f..r * f + f]
    }
}

/// Whether query `pos` may return `item`.
pub trait Admit: Sync {
    /// A per-query predicate, built once per query (e.g. its seen list located).
    fn for_query(&self, pos: usize) -> impl FnMut(u32) -> bool + '_;
}

fn apply_scale(row: &mut [f32], target_scale: Option<&[f32]>, query_scale: Option<f32>) {
    if let Some(s) = target_scale {
        for (x, s) in row.iter_mut().zip(s) {
            *x *= s;
        }
    }
    if let Some(q) = query_scale {
        for x in row.iter_mut() {
            *x *= q;
        }
    }
}

/// Top-`k` targets for every query, into `ids`/`scores` (queries x k, padded with
/// (u32::MAX, NaN)). Runs on the current rayon pool; called from outside any pool it runs
/// on the calling thread alone (see [`inline`]).
pub fn top_k(
    queries: &Queries,
    targets: &Targets,
    k: usize,
    admit: &impl Admit,
    ids: &mut [u32],
    scores: &mut [f32],
) {
    let n = queries.pick.len();
    if n == 0 || k == 0 {
        return;
    }
    debug_assert!(ids.len() == n * k && scores.len() == n * k);
    let threads = if inline() {
        1
    } else {
        rayon::current_num_threads().max(1)
    };
    let panels = targets.len().div_ceil(PANEL);
    if n < 2 * threads && threads > 1 && splits(targets.len()) {
        for (pos, (ids, scores)) in ids.chunks_mut(k).zip(scores.chunks_mut(k)).enumerate() {
            one_query_split(queries, pos, targets, k, admit, ids, scores);
        }
        return;
    }
    let block = BLOCK_QUERIES.min(n.div_ceil(threads)).max(1);
    if n <= block {
        // One block: run it here; handing it to a pool thread only adds a wake-up.
        let mut best: Vec<Best> = (0..n).map(|_| Best::new(k)).collect();
        let mut keeps: Vec<_> = (0..n).map(|j| admit.for_query(j)).collect();
        // The calling thread keeps its buffers from call to call: a server asks for one
        // small batch after another, and allocating and zeroing them was a fifth of a call.
        INLINE_SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => run(
                queries,
                0,
                n,
                targets,
                0,
                panels,
                &mut best,
                &mut keeps,
                &mut scratch,
            ),
            Err(_) => run(
                queries,
                0,
                n,
                targets,
                0,
                panels,
                &mut best,
                &mut keeps,
                &mut Scratch::default(),
            ),
        });
        for (j, best) in best.iter_mut().enumerate() {
            best.drain_into(
                &mut ids[j * k..(j + 1) * k],
                &mut scores[j * k..(j + 1) * k],
            );
        }
        return;
    }
    let one_block = |scratch: &mut Scratch,
                     (bi, (ids, scores)): (usize, (&mut [u32], &mut [f32]))| {
        let from = bi * block;
        let b = ids.len() / k;
        let mut best: Vec<Best> = (0..b).map(|_| Best::new(k)).collect();
        let mut keeps: Vec<_> = (0..b).map(|j| admit.for_query(from + j)).collect();
        run(
            queries, from, b, targets, 0, panels, &mut best, &mut keeps, scratch,
        );
        for (j, best) in best.iter_mut().enumerate() {
            best.drain_into(
                &mut ids[j * k..(j + 1) * k],
                &mut scores[j * k..(j + 1) * k],
            );
        }
    };
    if threads == 1 {
        let mut scratch = Scratch::default();
        ids.chunks_mut(block * k)
            .zip(scores.chunks_mut(block * k))
            .enumerate()
            .for_each(|x| one_block(&mut scratch, x));
        return;
    }
    ids.par_chunks_mut(block * k)
        .zip(scores.par_chunks_mut(block * k))
        .enumerate()
        .for_each_init(Scratch::default, one_block);
}

/// Whether this thread is outside every rayon pool: work started here then stays on it.
/// Callers enter a pool when they want threads; a server's small batches do not (handing
/// them to a pool costs wake-ups that, on a small machine, cost as much as the work).
pub fn inline() -> bool {
    rayon::current_thread_index().is_none()
}

#[cfg(test)]
thread_local! {
    /// The panel where this thread's last norm-ordered block stopped early (tests).
    pub static STOPPED_AT: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    /// Queries this thread's blocks let go before the block itself stopped (tests).
    pub static LEFT_EARLY: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

thread_local! {
    /// [`Scratch`] of the single-block path, per thread (rayon workers and callers alike).
    static INLINE_SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Buffers a worker reuses from block to block (fresh ones would be page-faulted in each
/// time: a 64-query tile of scores is above the allocator's mmap threshold).
#[derive(Default)]
struct Scratch {
    q: Vec<f32>,
    buf: Vec<f32>,
    thresholds: Vec<f32>,
    bits: Vec<u64>,
    qq: QQueries,
    kt: Vec<f32>,
    masks: Vec<u16>,
    /// Per query, targets the int8 pass let through and not yet rescored.
    pend: Vec<Vec<u32>>,
    offs: Vec<u32>,
    cs: Vec<f32>,
    /// Per query, its norm rounded up (the norm-ordered stop).
    qn: Vec<f32>,
    /// Which query each slot holds once finished queries have moved behind the others.
    slot: Vec<u32>,
}

/// Queries `from..from + b` against panels `p0..p1`, offered to `best`.
#[allow(clippy::too_many_arguments)]
fn run<K: FnMut(u32) -> bool>(
    queries: &Queries,
    from: usize,
    b: usize,
    targets: &Targets,
    p0: usize,
    p1: usize,
    best: &mut [Best],
    keeps: &mut [K],
    scratch: &mut Scratch,
) {
    let f = targets.packed.factors();
    let Scratch {
        q,
        buf,
        thresholds,
        bits,
        qq,
        kt,
        masks,
        pend,
        offs,
        cs,
        qn,
        slot,
    } = scratch;
    q.resize(b * f, 0.0);
    for j in 0..b {
        q[j * f..j * f + f].copy_from_slice(queries.row(from + j, f));
    }
    let n_t = targets.len();
    buf.resize(TILE_PANELS * PANEL * b, 0.0);
    // Scaled scores (cosine) are compared after scaling, so those rows are scanned whole.
    let scaled = targets.scale.is_some() || queries.scale.is_some();
    thresholds.resize(b, 0.0);
    bits.clear();
    bits.resize(b, u64::MAX);
    let quant = targets.quant.filter(|_| !scaled);
    if let Some(qp) = quant {
        qq.fill(qp, &q[..b * f], b);
        kt.resize(b, 0.0);
        masks.resize(b * TILE_PANELS, 0);
        if pend.len() < b {
            pend.resize_with(b, Vec::new);
        }
        pend.iter_mut().for_each(Vec::clear);
    }
    let bound = targets.bound.filter(|_| !scaled);
    if bound.is_some() {
        qn.clear();
        qn.extend((0..b).map(|j| norm_order::up32(norm_order::norm_up(&q[j * f..j * f + f]))));
    }
    // Slots 0..live hold the queries still scanning. With targets in decreasing norm a query
    // is finished once no remaining target can reach its k-th score; it moves behind the
    // live ones (its heap, filter, pending rescores and quantized row with it), so the
    // tiles that follow are computed for fewer queries. `slot` undoes the moves at the end.
    let mut live = b;
    let mut moved = false;
    let mut p = p0;
    while p < p1 {
        if let Some(bound) = bound {
            #[cfg(test)]
            let before = live;
            let mut j = 0;
            while j < live {
                if !norm_order::cannot_reach(qn[j], bound[p], best[j].threshold(), f) {
                    j += 1;
                    continue;
                }
                live -= 1;
                if !moved {
                    slot.clear();
                    slot.extend(0..b as u32);
                    moved = true;
                }
                if j != live {
                    let (a, c) = (j, live);
                    for x in 0..f {
                        q.swap(a * f + x, c * f + x);
                    }
                    qn.swap(a, c);
                    best.swap(a, c);
                    keeps.swap(a, c);
                    slot.swap(a, c);
                    if quant.is_some() {
                        pend.swap(a, c);
                        qq.swap(a, c);
                    }
                }
            }
            if live == 0 {
                #[cfg(test)]
                STOPPED_AT.with(|s| s.set(Some(p)));
                break;
            }
            #[cfg(test)]
            LEFT_EARLY.with(|s| s.set(s.get() + (before - live)));
        }
        let b = live;
        let pn = TILE_PANELS.min(p1 - p);
        let w = pn * PANEL;
        let t0 = p * PANEL;
        let t = w.min(n_t - t0);
        // The int8 pass once every heap of the block is full (before that every target
        // would be rescored, and the f32 tile does that faster).
        if let Some(qp) =
            quant.filter(|_| best[..b].iter().all(|x| x.threshold() > f32::NEG_INFINITY))
        {
            for (u, kt) in kt[..b].iter_mut().enumerate() {
                *kt = qq.threshold(u, best[u].threshold(), f);
            }
            quant::marks(
                qp,
                p,
                pn,
                qq,
                b,
                &kt[..b],
                &mut masks[..b * pn],
                &mut bits[..b],
            );
            for j in 0..b {
                let pj = &mut pend[j];
                let mut pb = bits[j];
                while pb != 0 {
                    let pi = pb.trailing_zeros() as usize;
                    pb &= pb - 1;
                    let mut m = masks[j * pn + pi];
                    while m != 0 {
                        let x = pi * PANEL + m.trailing_zeros() as usize;
                        m &= m - 1;
                        if x < t {
                            pj.push((t0 + x) as u32);
                            if let Some(r) = targets.rows {
                                prefetch_row(r, targets.item(t0 + x) as usize * f, f);
                            }
                        }
                    }
                }
                // Rescored sixteen at a time (one gather pass); the rest waits for more
                // tiles, still in index order, so the heap sees targets in order.
                if pj.len() >= PANEL {
                    let n = pj.len() / PANEL * PANEL;
                    let x = &q[j * f..j * f + f];
                    rescore_pending(targets, x, pj, n, offs, cs, &mut best[j], &mut keeps[j]);
                }
            }
            p += pn;
            continue;
        }
        let above = (!scaled).then(|| {
            for (t, best) in thresholds[..b].iter_mut().zip(best.iter()) {
                *t = best.threshold();
            }
            Above {
                thresholds: &thresholds[..b],
                bits: &mut bits[..b],
            }
        });
        kernel::scores(targets.packed, p, pn, &q[..b * f], b, &mut buf[..], above);
        for j in 0..b {
            let row = &mut buf[j * w..j * w + t];
            if scaled {
                let qs = queries.scale.map(|s| s[from + j]);
                apply_scale(row, targets.scale.map(|s| &s[t0..t0 + t]), qs);
                scan(row, &mut best[j], &|x| targets.item(t0 + x), &mut keeps[j]);
                continue;
            }
            let mut m = bits[j];
            while m != 0 {
                let pi = m.trailing_zeros() as usize;
                m &= m - 1;
                let a = pi * PANEL;
                if a >= t {
                    break;
                }
                let e = (a + PANEL).min(t);
                scan(
                    &row[a..e],
                    &mut best[j],
                    &|x| targets.item(t0 + a + x),
                    &mut keeps[j],
                );
            }
        }
        p += pn;
    }
    if quant.is_some() {
        for j in 0..b {
            let n = pend[j].len();
            if n > 0 {
                let x = &q[j * f..j * f + f];
                rescore_pending(
                    targets,
                    x,
                    &mut pend[j],
                    n,
                    offs,
                    cs,
                    &mut best[j],
                    &mut keeps[j],
                );
            }
        }
    }
    if moved {
        // Every query back in its own slot: walk each cycle of the permutation.
        for j in 0..b {
            while slot[j] as usize != j {
                let o = slot[j] as usize;
                best.swap(j, o);
                keeps.swap(j, o);
                slot.swap(j, o);
            }
        }
    }
}

/// Start loading a row that will be rescored once its query has sixteen pending: the rows
/// are scattered over the whole catalogue, so without this every gather waits on memory.
#[inline]
fn prefetch_row(rows: &[f32], at: usize, f: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let end = (at + f).min(rows.len());
        let mut i = at;
        // Every 64-byte line of the row, the last one included however the row is aligned.
        while i < end {
            // SAFETY: a prefetch of an in-bounds address; it has no effect on program state.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(rows.as_ptr().add(i) as *const i8) };
            i += 16;
        }
        if end > at {
            // SAFETY: as above.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(rows.as_ptr().add(end - 1) as *const i8) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (rows, at, f);
}

/// The first `n` pending targets of one query scored exactly and offered, in index order.
#[allow(clippy::too_many_arguments)]
fn rescore_pending<K: FnMut(u32) -> bool>(
    targets: &Targets,
    x: &[f32],
    pend: &mut Vec<u32>,
    n: usize,
    offs: &mut Vec<u32>,
    cs: &mut Vec<f32>,
    best: &mut Best,
    keep: &mut K,
) {
    let f = x.len();
    offs.clear();
    offs.extend(pend[..n].iter().map(|&tj| {
        (match targets.rows {
            Some(_) => targets.item(tj as usize) as usize * f,
            None => targets.packed.offset(tj as usize),
        }) as u32
    }));
    cs.resize(n, 0.0);
    let (data, stride) = match targets.rows {
        Some(r) => (r, 1),
        None => (targets.packed.data(), PANEL),
    };
    quant::rescore(data, stride, x, offs, cs);
    scan(cs, best, &|i| targets.item(pend[i] as usize), keep);
    pend.drain(..n);
}

/// One query against many targets: chunks of panels in parallel, partial heaps merged.
fn one_query_split(
    queries: &Queries,
    pos: usize,
    targets: &Targets,
    k: usize,
    admit: &impl Admit,
    ids: &mut [u32],
    scores: &mut [f32],
) {
    let panels = targets.len().div_ceil(PANEL);
    let sp = SPLIT_PANELS;
    let chunks: Vec<usize> = (0..panels).step_by(sp).collect();
    let parts: Vec<Best> = chunks
        .par_iter()
        .map_init(Scratch::default, |scratch, &c0| {
            let mut best = [Best::new(k)];
            let mut keep = [admit.for_query(pos)];
            let end = (c0 + sp).min(panels);
            run(
                queries, pos, 1, targets, c0, end, &mut best, &mut keep, scratch,
            );
            let [best] = best;
            best
        })
        .collect();
    let mut all = Best::new(k);
    for p in &parts {
        all.merge(p);
    }
    all.drain_into(ids, scores);
}

/// Whether a lone query over `n_targets` is split across threads (else it runs on the
/// calling thread, and callers need not enter a pool for it).
pub fn splits(n_targets: usize) -> bool {
    n_targets.div_ceil(PANEL) >= 2 * SPLIT_PANELS
}

/// Scores of every target for one query `x`, as [`top_k`] computes them.
pub fn scores(packed: &Packed, x: &[f32], out: &mut [f32]) {
    let n = packed.len();
    let panels = n.div_ceil(PANEL);
    let mut buf = vec![0f32; TILE_PANELS * PANEL];
    let mut p = 0;
    while p < panels {
        let pn = TILE_PANELS.min(panels - p);
        kernel::scores(packed, p, pn, x, 1, &mut buf, None);
        let t0 = p * PANEL;
        let t = (pn * PANEL).min(n - t0);
        out[t0..t0 + t].copy_from_slice(&buf[..t]);
        p += pn;
    }
}
