//! One row's least-squares problem of implicit ALS:
//!   (YᵀY + λI + Σᵢ (cᵢ − 1) yᵢyᵢᵀ) x = Σᵢ cᵢ yᵢ
//! over the row's entries i, with confidence cᵢ from the stored value.
//!
//! The row's factor vectors yᵢ are gathered into contiguous blocks padded to a multiple of
//! 8 floats, which the vector kernels then stream from cache instead of chasing scattered
//! rows of Y. CG gathers a row once and reuses the block for all its passes (four with 3
//! steps) while the block fits in `GATHER_ONCE_BYTES`; rows beyond that are the long rows
//! `lockstep.rs` solves in a fit, and are otherwise gathered chunk by chunk in every pass,
//! so scratch memory stays bounded. The exact solve needs one pass and always streams.
//! (Reading the rows where they lie instead, with no copy, measured slower even where k
//! needs no padding: ML-20M at 128 factors, 2 threads, 1.20 -> 1.40 s per iteration.)
//!
//! CG's passes: the residual b − A·x (its dot products taken during the gather), then per
//! step the dot products Y·p and the sum Σ wᵢ yᵢ that make A·p. The last step skips that
//! sum: it needs only p·A·p for its step length, and the residual it would update is never
//! read (7 reads of the block instead of 8; 8-12 % of an ML-20M iteration at 128 factors).

use super::params::{AlsParams, Solver};
use crate::linalg::simd::{padded, prefetch_row, Isa, Rows};
use crate::linalg::AlignedVec;

/// Rows per dots/accumulate round in CG: the chunk (32 x 64 floats = 8 KiB) is still in
/// L1 when the second kernel reads it.
const CG_CHUNK: usize = 32;
/// Largest gathered block per thread: 2 MiB, the block of the shortest row `lockstep.rs`
/// takes (`LongRows::default_min_len`). A 16 MiB cap made the ML-20M item half-step ~20 %
/// faster before lockstep existed, but raised the fit's peak memory by ~40 % of the matrix.
const GATHER_ONCE_BYTES: usize = 2 << 20;
/// Entries per gather + rank update round of the exact solve.
const EXACT_CHUNK: usize = 256;
/// Rows of the *next* row's gather prefetched after each chunk of the current row's work,
/// so their cache misses overlap with computation instead of stalling the next gather.
const PREFETCH_PER_CHUNK: usize = 8;

/// Per-thread buffers, reused across rows and half-steps; bounded by `GATHER_ONCE_BYTES`.
pub struct Scratch {
    /// Factors this scratch was made for. Keyed by k, not kp: the padding columns of `ys`
    /// must be zero, and a gather for a larger k with the same kp would leave data there.
    k: usize,
    /// Gathered rows, kp floats each; the padding columns are never written, so stay 0.
    ys: AlignedVec,
    conf: Vec<f32>,
    coef: Vec<f32>,
    /// yⱼ · x for the gathered rows and the warm start x (rows gathered once only).
    first_dots: Vec<f32>,
    x: Vec<f32>,
    /// How much of the next row has been prefetched.
    next_done: usize,
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
    a: AlignedVec,
}

impl Scratch {
    pub fn new(k: usize) -> Self {
        let kp = padded(k);
        Scratch {
            k,
            ys: AlignedVec::default(),
            conf: Vec::new(),
            coef: Vec::new(),
            first_dots: Vec::new(),
            x: vec![0.0; kp],
            next_done: 0,
            r: vec![0.0; kp],
            p: vec![0.0; kp],
            ap: vec![0.0; kp],
            a: AlignedVec::zeros(kp * kp),
        }
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Option<Scratch>> = const { std::cell::RefCell::new(None) };
}

/// Run `f` with this thread's scratch for `k` factors. One per pool thread, kept between
/// half-steps, so no row pays for allocating or zeroing buffers.
pub fn with_scratch<R>(k: usize, f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|s| s.k != k) {
            *slot = Some(Scratch::new(k));
        }
        f(slot.as_mut().expect("scratch was just created"))
    })
}

/// YᵀY of the other side as a half-step sees it.
pub enum Gram {
    /// k x k, row-major.
    Full(Vec<f32>),
    /// The factors were rotated into YᵀY's eigenbasis: its k eigenvalues.
    Diagonal(Vec<f32>),
}

/// The same, padded to kp with zeros.
enum PaddedGram {
    Full(Vec<f32>),
    Diagonal(Vec<f32>),
}

/// What every row of a half-step shares: the parameters, the padded YᵀY and Y itself.
pub struct RowSolver<'a> {
    params: &'a AlsParams,
    isa: Isa,
    k: usize,
    kp: usize,
    gram: PaddedGram,
    y: &'a [f32],
    /// The same rows as float16 bit patterns, which CG then reads instead (`Precision`).
    y16: Option<&'a [u16]>,
    /// Rows with at most this many entries are gathered once per solve.
    gather_once_max: usize,
}

impl<'a> RowSolver<'a> {
    /// `gram` is YᵀY (no regularization); `y` the other side's factors, in the same basis.
    pub fn new(params: &'a AlsParams, gram: &Gram, y: &'a [f32]) -> Self {
        let k = params.factors;
        let kp = padded(k);
        let gram = match gram {
            Gram::Full(full) => {
                let mut g = vec![0f32; kp * kp];
                for r in 0..k {
                    g[r * kp..r * kp + k].copy_from_slice(&full[r * k..r * k + k]);
                }
                PaddedGram::Full(g)
            }
            Gram::Diagonal(d) => {
                let mut g = vec![0f32; kp];
                g[..k].copy_from_slice(&d[..k]);
                PaddedGram::Diagonal(g)
            }
        };
        RowSolver {
            params,
            isa: Isa::detect(),
            k,
            kp,
            gram,
            y,
            y16: None,
            gather_once_max: GATHER_ONCE_BYTES / (kp * 4),
        }
    }

    /// CG reads `y16`, the other side's factors rounded to float16 (same layout as `y`).
    /// The exact solver keeps reading `y`.
    pub fn reading_half(mut self, y16: &'a [u16]) -> Self {
        assert_eq!(y16.len(), self.y.len());
        if matches!(self.params.solver, Solver::Cg { .. }) {
            self.y16 = Some(y16);
        }
        self
    }

    /// The other side's factors as CG reads them.
    pub(super) fn other_rows(&self) -> Rows<'a> {
        match self.y16 {
            Some(h) => Rows::F16(h),
            None => Rows::F32(self.y),
        }
    }

    /// `out` (stride kp) = the other side's rows `cols`, as CG reads them.
    pub(super) fn gather_rows(&self, cols: &[u32], out: &mut [f32]) {
        match self.y16 {
            Some(h) => self.isa.gather16(h, self.k, cols, self.kp, out),
            None => self.isa.gather(self.y, self.k, cols, self.kp, out),
        }
    }

    /// Ask for the other side's row `r` (as CG reads it) to be brought into cache.
    #[inline]
    pub(super) fn prefetch_other(&self, r: usize) {
        match self.y16 {
            Some(h) => prefetch_row(h, r * self.k, self.k),
            None => prefetch_row(self.y, r * self.k, self.k),
        }
    }

    pub(super) fn params(&self) -> &AlsParams {
        self.params
    }

    pub(super) fn isa(&self) -> Isa {
        self.isa
    }

    pub(super) fn k(&self) -> usize {
        self.k
    }

    /// out = ±(G + reg·I) v (minus when `negate`).
    pub(super) fn gram_times(&self, reg: f32, v: &[f32], out: &mut [f32], negate: bool) {
        let sign = if negate { -1.0 } else { 1.0 };
        match &self.gram {
            PaddedGram::Full(g) => {
                out.fill(0.0);
                self.isa.accumulate(g, self.kp, &v[..self.kp], out);
                for (o, &vj) in out.iter_mut().zip(v) {
                    *o = sign * (*o + reg * vj);
                }
            }
            PaddedGram::Diagonal(d) => {
                for ((o, &vj), &dj) in out.iter_mut().zip(v).zip(d) {
                    *o = sign * (dj + reg) * vj;
                }
            }
        }
    }

    /// Update `x` (k floats) in place. Returns false when the exact system is not positive
    /// definite.
    /// `next` is the column list of the row solved next on this thread (or empty): it is
    /// prefetched while this row computes.
    pub fn solve(
        &self,
        cols: &[u32],
        vals: &[f32],
        next: &[u32],
        x: &mut [f32],
        s: &mut Scratch,
    ) -> bool {
        s.next_done = 0;
        let (k, kp) = (self.k, self.kp);
        debug_assert_eq!(s.k, k);
        if cols.is_empty() {
            // Nothing observed: the minimiser of λ|x|² + Σ (0 − x·y)² is 0.
            x.fill(0.0);
            return true;
        }
        let n = cols.len();
        s.conf.clear();
        s.conf
            .extend(vals.iter().map(|&v| self.params.confidence(v)));
        let reg = self.params.reg_for(n);
        match self.params.solver {
            Solver::Cholesky => self.exact(cols, next, reg, x, s),
            Solver::Cg { steps } => {
                if n <= self.gather_once_max {
                    if s.ys.len() < n * kp {
                        // Grow geometrically up to the cap, so a thread reallocates a few
                        // times per fit rather than at every longer row.
                        let want = (2 * s.ys.len()).clamp(n * kp, self.gather_once_max * kp);
                        s.ys.resize(want, 0.0);
                    }
                    // The residual pass's dot products with the warm start ride on the
                    // gather's loads (3-5 % of a single-thread ML-20M iteration at 128
                    // factors, 10 interleaved runs).
                    s.x[..k].copy_from_slice(x);
                    s.first_dots.resize(n, 0.0);
                    let (ys, dots) = (&mut s.ys, &mut s.first_dots);
                    match self.y16 {
                        Some(h) => self.isa.gather_dots16(h, k, cols, kp, ys, &s.x, dots),
                        None => self.isa.gather_dots(self.y, k, cols, kp, ys, &s.x, dots),
                    }
                } else if s.ys.len() < CG_CHUNK * kp {
                    s.ys.resize(CG_CHUNK * kp, 0.0);
                }
                self.cg(cols, next, reg, steps, x, s);
                true
            }
        }
    }

    /// (G + reg·I) v + Σⱼ (α·cⱼ + β·(cⱼ − 1)(yⱼ·v)) yⱼ  into `out`, with (α, β) = (0, 1) for
    /// the system's product A·v and (1, −1) for b − A·v (then `out` starts at −(G + reg·I)v).
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        cols: &[u32],
        next: &[u32],
        reg: f32,
        v: &[f32],
        out: &mut [f32],
        residual: bool,
        s: &mut Scratch,
    ) {
        let (isa, kp, n) = (self.isa, self.kp, cols.len());
        let gathered = n <= self.gather_once_max;
        self.gram_times(reg, v, out, residual);
        s.coef.resize(CG_CHUNK, 0.0);
        let mut start = 0;
        while start < n {
            let m = (n - start).min(CG_CHUNK);
            let at = if gathered {
                start
            } else {
                self.gather_rows(&cols[start..start + m], &mut s.ys);
                0
            };
            let block = &s.ys[at * kp..(at + m) * kp];
            let coef = &mut s.coef[..m];
            if residual && gathered {
                // `solve` computed these with the same v (the warm start) while gathering.
                coef.copy_from_slice(&s.first_dots[start..start + m]);
            } else {
                isa.dots(block, kp, v, coef);
            }
            for (cf, &c) in coef.iter_mut().zip(&s.conf[start..start + m]) {
                *cf = if residual {
                    c - (c - 1.0) * *cf
                } else {
                    (c - 1.0) * *cf
                };
            }
            isa.accumulate(block, kp, coef, out);
            self.prefetch_next(next, s);
            start += m;
        }
    }

    /// p·A·p = p·(G + reg·I)p + Σⱼ (cⱼ − 1)(yⱼ·p)², without forming A·p (`gp` is scratch).
    fn curvature(
        &self,
        cols: &[u32],
        next: &[u32],
        reg: f32,
        p: &[f32],
        gp: &mut [f32],
        s: &mut Scratch,
    ) -> f32 {
        let (isa, kp, n) = (self.isa, self.kp, cols.len());
        let gathered = n <= self.gather_once_max;
        self.gram_times(reg, p, gp, false);
        let mut sum = isa.dot(p, gp);
        s.coef.resize(CG_CHUNK, 0.0);
        let mut start = 0;
        while start < n {
            let m = (n - start).min(CG_CHUNK);
            let at = if gathered {
                start
            } else {
                self.gather_rows(&cols[start..start + m], &mut s.ys);
                0
            };
            let coef = &mut s.coef[..m];
            isa.dots(&s.ys[at * kp..(at + m) * kp], kp, p, coef);
            for (&d, &c) in coef.iter().zip(&s.conf[start..start + m]) {
                sum += (c - 1.0) * d * d;
            }
            self.prefetch_next(next, s);
            start += m;
        }
        sum
    }

    #[inline]
    fn prefetch_next(&self, next: &[u32], s: &mut Scratch) {
        let end = (s.next_done + PREFETCH_PER_CHUNK).min(next.len());
        for &c in &next[s.next_done..end] {
            self.prefetch_other(c as usize);
        }
        s.next_done = end;
    }

    /// Conjugate gradient from the current `x` (warm start), as Takács et al. 2011 and
    /// implicit do; `steps` iterations, early exit once the residual vanishes.
    fn cg(
        &self,
        cols: &[u32],
        next: &[u32],
        reg: f32,
        steps: usize,
        x: &mut [f32],
        s: &mut Scratch,
    ) {
        let (isa, k) = (self.isa, self.k);
        let mut xp = std::mem::take(&mut s.x);
        let mut r = std::mem::take(&mut s.r);
        let mut p = std::mem::take(&mut s.p);
        let mut ap = std::mem::take(&mut s.ap);
        xp[..k].copy_from_slice(x);
        self.apply(cols, next, reg, &xp, &mut r, true, s);
        p.copy_from_slice(&r);
        let mut rs_old = isa.dot(&r, &r);
        for step in 0..steps {
            if rs_old < 1e-20 {
                break;
            }
            if step + 1 == steps {
                // Last step: A·p would only update r, which nothing reads any more, and give
                // p·Ap, which the dot products alone give. One pass over the rows fewer.
                let pap = self.curvature(cols, next, reg, &p, &mut ap, s);
                cg_last_update(&mut xp, &p, pap, rs_old);
                break;
            }
            self.apply(cols, next, reg, &p, &mut ap, false, s);
            match cg_update(isa, &mut xp, &mut r, &mut p, &ap, rs_old) {
                Some(rs_new) => rs_old = rs_new,
                None => break,
            }
        }
        x.copy_from_slice(&xp[..k]);
        (s.x, s.r, s.p, s.ap) = (xp, r, p, ap);
    }

    /// Exact solve: A = G + reg·I + Σ (cⱼ − 1) yⱼyⱼᵀ as rank updates of the gathered rows
    /// scaled by √(cⱼ − 1), chunk by chunk, then Cholesky. The padding block of A is the
    /// identity, so the padded solution is 0 there.
    fn exact(&self, cols: &[u32], next: &[u32], reg: f32, x: &mut [f32], s: &mut Scratch) -> bool {
        let (isa, k, kp, n) = (self.isa, self.k, self.kp, cols.len());
        let mut b = std::mem::take(&mut s.r);
        b.fill(0.0);
        match &self.gram {
            PaddedGram::Full(g) => s.a.copy_from_slice(g),
            PaddedGram::Diagonal(g) => {
                s.a.fill(0.0);
                for d in 0..kp {
                    s.a[d * kp + d] = g[d];
                }
            }
        }
        for d in 0..kp {
            s.a[d * kp + d] += if d < k { reg } else { 1.0 };
        }
        if s.ys.len() < EXACT_CHUNK * kp {
            s.ys.resize(EXACT_CHUNK * kp, 0.0);
        }
        let mut start = 0;
        while start < n {
            let m = (n - start).min(EXACT_CHUNK);
            isa.gather(self.y, k, &cols[start..start + m], kp, &mut s.ys);
            let conf = &s.conf[start..start + m];
            isa.accumulate(&s.ys[..m * kp], kp, conf, &mut b);
            for (j, &c) in conf.iter().enumerate() {
                let w = (c - 1.0).max(0.0).sqrt();
                s.ys[j * kp..j * kp + k].iter_mut().for_each(|v| *v *= w);
            }
            isa.syrk_upper(&s.ys[..m * kp], m, kp, &mut s.a);
            self.prefetch_next(next, s);
            start += m;
        }
        let ok = isa.cholesky(&mut s.a, kp);
        if ok {
            isa.cholesky_solve(&s.a, kp, &mut b);
            x.copy_from_slice(&b[..k]);
        }
        s.r = b;
        ok
    }
}

/// One CG update once A·p is known: x += αp, r −= αAp, p = r + βp, with α = rs/(p·Ap).
/// Returns the new r·r, or None (nothing changed) when p·Ap is not positive. Shared by the
/// per-row solver and the lockstep groups, so both iterate identically.
pub(super) fn cg_update(
    isa: Isa,
    x: &mut [f32],
    r: &mut [f32],
    p: &mut [f32],
    ap: &[f32],
    rs_old: f32,
) -> Option<f32> {
    let pap = isa.dot(p, ap);
    if !(pap > 0.0) {
        return None;
    }
    let step = rs_old / pap;
    for ((xj, rj), (&pj, &apj)) in x.iter_mut().zip(r.iter_mut()).zip(p.iter().zip(ap)) {
        *xj += step * pj;
        *rj -= step * apj;
    }
    let rs_new = isa.dot(r, r);
    let beta = rs_new / rs_old;
    for (pj, &rj) in p.iter_mut().zip(r.iter()) {
        *pj = rj + beta * *pj;
    }
    Some(rs_new)
}

/// The last CG step: x += αp with α = rs/(p·Ap), given p·Ap (no change unless positive).
pub(super) fn cg_last_update(x: &mut [f32], p: &[f32], pap: f32, rs_old: f32) {
    if pap > 0.0 {
        let step = rs_old / pap;
        for (xj, &pj) in x.iter_mut().zip(p) {
            *xj += step * pj;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::gram;
    use crate::rng::SplitMix64;

    /// A row longer than the gather-once limit (streamed CG passes) solved by many CG steps
    /// lands on the exact (streamed, chunked) Cholesky solution.
    #[test]
    fn long_rows_stream_and_cg_converges_to_the_exact_solve() {
        let (n_items, k) = (12_000usize, 12usize);
        let mut g = SplitMix64::new(3);
        let y: Vec<f32> = (0..n_items * k).map(|_| g.next_f32() * 0.2 - 0.1).collect();
        let cols: Vec<u32> = (0..n_items as u32).filter(|c| c % 4 != 1).collect();
        assert!(cols.len() > 8192);
        let vals: Vec<f32> = cols.iter().map(|&c| 1.0 + (c % 5) as f32).collect();
        let gm = Gram::Full(gram(&y, k));
        let base = AlsParams {
            factors: k,
            regularization: 0.5,
            alpha: 2.0,
            ..Default::default()
        };
        let exact = AlsParams {
            solver: Solver::Cholesky,
            ..base.clone()
        };
        let cg = AlsParams {
            solver: Solver::Cg { steps: 60 },
            ..base
        };
        let (mut xe, mut xc) = (vec![0f32; k], vec![0f32; k]);
        with_scratch(k, |s| {
            assert!(RowSolver::new(&exact, &gm, &y).solve(&cols, &vals, &[], &mut xe, s));
            let mut streamed = RowSolver::new(&cg, &gm, &y);
            streamed.gather_once_max = 8192;
            assert!(streamed.solve(&cols, &vals, &[], &mut xc, s));
        });
        for (a, b) in xe.iter().zip(&xc) {
            approx::assert_relative_eq!(*a, *b, max_relative = 1e-3, epsilon = 1e-4);
        }
        assert!(xe.iter().any(|v| v.abs() > 1e-3));
    }
}
