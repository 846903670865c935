//! Targets in decreasing norm, so that a scan can stop early: no item can score more than
//! `|u| |v|` against a query `u` (Cauchy-Schwarz), and once that bound for the rest of the
//! catalogue is below a query's k-th score, nothing left can enter its list.
//!
//! Factor models trained on interactions have very unequal item norms (popular items are
//! long vectors): on the serving bench's ALS models only 8 % (ML-20M shape, 20k items) and
//! 12 % (ml-latest-small, 6k items) of the items, median over users, have a bound at or
//! above the user's 10th score. Scanning in norm order visits about that share and skips
//! the rest; on random factors, whose norms are all alike, it stops nowhere and costs only
//! the check per tile.
//!
//! # The bound
//!
//! The engine's score `s_f` ([`super::kernel::dot_fma`]: f FMAs in factor order) is within
//! `gamma_f sum |u_j v_j| + f 2^-150` of the real `u . v` (see [`super::quant`]), and
//! `|u . v| <= sum |u_j v_j| <= |u| |v|`, so `s_f <= |u| |v| (1 + gamma_f) + f 2^-150`. Norms
//! are computed in f64 (relative error below f 2^-52) and rounded up to f32; the product is
//! formed in f64 with a relative margin of 2^-30 over those errors. A query stops only when
//! that bound is below its k-th score: an item must score at least the k-th to enter (ties
//! go to the lower index), so none that could is skipped. Rows with a non-finite norm come
//! first with an infinite bound, so a scan never stops before them.

use super::kernel::{Packed, PANEL};
use super::quant::gamma;
pub(super) use super::quant::up as up32;

/// Whether cached packs are scanned in norm order: yes, unless `CF_NATIVE_TOPK_ORDER=index`
/// (read once; for same-build comparisons, e.g. `bench/node/topk_trained.mjs`).
pub fn enabled() -> bool {
    use std::sync::OnceLock;
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("CF_NATIVE_TOPK_ORDER").map_or(true, |v| v != "index"))
}

/// A packing of the same rows in decreasing norm.
#[derive(Debug)]
pub struct NormOrder {
    /// Position j holds row `perm[j]`.
    pub perm: Vec<u32>,
    pub packed: Packed,
    /// Per panel of `packed`: an upper bound on the norm of every row from that panel on
    /// (non-increasing; +inf while non-finite rows remain).
    pub bound: Vec<f32>,
}

impl NormOrder {
    /// From rows given one by one (`n` rows of `f`).
    pub fn build<R: AsRef<[f32]>>(rows: impl Iterator<Item = R>, n: usize, f: usize) -> Self {
        let rows: Vec<R> = rows.collect();
        debug_assert_eq!(rows.len(), n);
        let norms: Vec<f64> = rows.iter().map(|r| norm_up(r.as_ref())).collect();
        let mut perm: Vec<u32> = (0..n as u32).collect();
        // Decreasing, non-finite first, ties in index order: deterministic.
        perm.sort_by(|&a, &b| {
            norms[b as usize]
                .total_cmp(&norms[a as usize])
                .then(a.cmp(&b))
        });
        let bound = (0..n.div_ceil(PANEL))
            .map(|p| up32(norms[perm[p * PANEL] as usize]))
            .collect();
        let packed = Packed::build_from(perm.iter().map(|&i| rows[i as usize].as_ref()), n, f);
        NormOrder {
            perm,
            packed,
            bound,
        }
    }
}

/// `|x|` in f64, rounded up past its own error; +inf when not finite (NaN included).
pub fn norm_up(x: &[f32]) -> f64 {
    let s: f64 = x.iter().map(|&v| v as f64 * v as f64).sum();
    let n = s.sqrt() * (1.0 + MARGIN);
    if n.is_finite() {
        n
    } else {
        f64::INFINITY
    }
}

/// Whether no target whose norm is at most `bound` can score at or above `thr` against a
/// query of norm at most `qn` (f factors). False whenever `thr` is -inf or anything is NaN.
#[inline]
pub fn cannot_reach(qn: f32, bound: f32, thr: f32, f: usize) -> bool {
    let best =
        qn as f64 * bound as f64 * (1.0 + gamma(f)) * (1.0 + MARGIN) + f as f64 * 2f64.powi(-150);
    best < thr as f64
}

/// Covers the f64 rounding of sums of up to 2^20 terms and of the product (far below it).
const MARGIN: f64 = 1.0 / 1073741824.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_in_decreasing_norm_with_bounds_above_every_later_row() {
        let f = 3;
        let mut rows: Vec<Vec<f32>> = (0..40)
            .map(|i| vec![(i % 7) as f32, 0.5, -((i % 5) as f32)])
            .collect();
        rows[9] = vec![f32::NAN, 0.0, 0.0];
        rows[30] = vec![0.0, f32::INFINITY, 0.0];
        rows[11] = vec![0.0; 3];
        let o = NormOrder::build(rows.iter(), rows.len(), f);
        assert_eq!(
            &o.perm[..2],
            &[9, 30],
            "non-finite rows first, in index order"
        );
        assert_eq!(o.bound[0], f32::INFINITY);
        assert_eq!(*o.perm.last().unwrap(), 11, "the zero row last");
        let mut sorted = o.perm.clone();
        sorted.sort();
        assert_eq!(sorted, (0..40).collect::<Vec<u32>>());
        for (p, &b) in o.bound.iter().enumerate() {
            for &i in &o.perm[p * PANEL..] {
                let n = norm_up(&rows[i as usize]);
                assert!(n.is_infinite() || (n as f32) <= b, "panel {p} row {i}");
            }
        }
        // Equal norms keep index order.
        let pos = |i: u32| o.perm.iter().position(|&x| x == i).unwrap();
        assert!(pos(0) < pos(35), "rows 0 and 35 are equal");
    }

    #[test]
    fn the_bound_is_above_every_engine_score() {
        // Rows where the f32 sum rounds up the most: all terms positive and equal.
        for f in [1, 7, 64, 1000] {
            let u: Vec<f32> = (0..f).map(|j| 1.0 + j as f32 * 1e-7).collect();
            let s = super::super::kernel::dot_fma(&u, &u);
            let n = up32(norm_up(&u));
            assert!(!cannot_reach(n, n, s, f), "f {f}");
            assert!(cannot_reach(n, n, s * 1.001, f), "f {f}: stops just above");
        }
        assert!(!cannot_reach(1.0, 1.0, f32::NEG_INFINITY, 4));
        assert!(!cannot_reach(f32::NAN, 1.0, 0.5, 4));
        assert!(
            !cannot_reach(f32::INFINITY, 0.0, 0.5, 4),
            "inf x 0 is NaN: no stop"
        );
        assert!(cannot_reach(0.0, 1.0, 1e-30, 4));
    }
}
