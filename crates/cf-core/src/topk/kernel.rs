//! The scoring kernel of the top-K engine: query rows against target rows packed in panels
//! of 16 (factor-major inside a panel), so one vector load feeds 16 targets and each score
//! is accumulated with one fused multiply-add per factor, in factor order.
//!
//! That order is the definition of a score ([`dot_fma`]): the AVX-512, AVX2 and portable
//! kernels, every blocking and every thread count give the same bits, and tests compare
//! against a plain loop. faer's GEMM measured about as fast for large batches but has no
//! fast path for one query (a lone query fell to 0.36 ms over 20k items), and its one-column
//! path sums in a different order.

/// Targets per panel.
pub const PANEL: usize = 16;

/// The reference score.
#[inline]
pub fn dot_fma(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0f32, |acc, (x, y)| x.mul_add(*y, acc))
}

/// Target rows in panels: panel p holds targets 16p..16p+16, factor by factor
/// (`data[p * 16 * f + j * 16 + lane]`); the last panel is padded with zero rows.
#[derive(Debug)]
pub struct Packed {
    data: Vec<f32>,
    n: usize,
    f: usize,
    /// 1 / norm of each row (NaN for a zero row), computed on first use: cosine lists.
    inv_norms: std::sync::OnceLock<Vec<f32>>,
    /// The int8 copy for the first pass, built on first use where the CPU runs it.
    quant: std::sync::OnceLock<Option<super::quant::QPacked>>,
    /// The same rows in decreasing norm, built on first use (a cached pack only).
    by_norm: std::sync::OnceLock<Box<super::norm_order::NormOrder>>,
}

impl Packed {
    pub fn new(rows: &[f32], f: usize) -> Self {
        Self::build_from(rows.chunks_exact(f.max(1)), rows.len() / f.max(1), f)
    }

    /// Rows `pick` of `rows`, in that order.
    pub fn gather(rows: &[f32], f: usize, pick: &[u32]) -> Self {
        let it = pick
            .iter()
            .map(|&i| &rows[i as usize * f..i as usize * f + f]);
        Self::build_from(it, pick.len(), f)
    }

    /// `n` rows of `f`, given one by one.
    pub fn build_from<'a>(rows: impl Iterator<Item = &'a [f32]>, n: usize, f: usize) -> Self {
        let panels = n.div_ceil(PANEL);
        let mut data = vec![0f32; panels * PANEL * f];
        for (i, row) in rows.enumerate() {
            let (p, lane) = (i / PANEL, i % PANEL);
            let base = p * PANEL * f + lane;
            for (j, &v) in row.iter().enumerate() {
                data[base + j * PANEL] = v;
            }
        }
        Packed {
            data,
            n,
            f,
            inv_norms: std::sync::OnceLock::new(),
            quant: std::sync::OnceLock::new(),
            by_norm: std::sync::OnceLock::new(),
        }
    }

    /// These rows in decreasing norm ([`super::norm_order`]), built on the first call (one
    /// more copy of the rows: worth it for a pack kept from call to call).
    pub fn by_norm(&self) -> &super::norm_order::NormOrder {
        self.by_norm.get_or_init(|| {
            let f = self.f;
            let rows = (0..self.n).map(|i| self.row(i));
            Box::new(super::norm_order::NormOrder::build(rows, self.n, f))
        })
    }

    /// Row i, copied out of its panel.
    fn row(&self, i: usize) -> Vec<f32> {
        let base = self.offset(i);
        (0..self.f).map(|j| self.data[base + j * PANEL]).collect()
    }

    /// The int8 copy of these rows ([`super::quant`]), built on the first call (about one
    /// pass over the rows); None where the CPU has neither AVX-512 VNNI nor AVX2,
    /// `CF_NATIVE_SIMD` is set, or the rows are too long for its exact integer sums.
    pub fn quantised(&self) -> Option<&super::quant::QPacked> {
        self.quant
            .get_or_init(|| {
                (super::quant::supported() && self.f <= super::quant::MAX_FACTORS && self.n > 0)
                    .then(|| {
                        // Row by row out of the panels: no second full copy of the rows.
                        let rows = (0..self.n).map(|i| self.row(i));
                        super::quant::QPacked::build(rows, self.n, self.f)
                    })
            })
            .as_ref()
    }

    /// The packed values; target i's factor j is at `offset(i) + j * 16`.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    #[inline]
    pub fn offset(&self, i: usize) -> usize {
        (i / PANEL) * PANEL * self.f + i % PANEL
    }

    /// 1 / norm of each row, NaN for a zero row (so that it ranks nowhere under cosine);
    /// the same bits as `topk::inverse_norms` on the rows.
    pub fn inverse_norms(&self) -> &[f32] {
        self.inv_norms.get_or_init(|| {
            let f = self.f;
            (0..self.n)
                .map(|i| {
                    let base = (i / PANEL) * PANEL * f + i % PANEL;
                    let mut acc = 0f32;
                    for j in 0..f {
                        let v = self.data[base + j * PANEL];
                        acc = v.mul_add(v, acc);
                    }
                    let n = acc.sqrt();
                    if n > 0.0 {
                        1.0 / n
                    } else {
                        f32::NAN
                    }
                })
                .collect()
        })
    }

    /// Rows packed.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn factors(&self) -> usize {
        self.f
    }

    /// Packed from these rows (same shape; callers rebuild after changing factors).
    pub fn matches(&self, n: usize, f: usize) -> bool {
        self.n == n && self.f == f
    }
}

/// Per query, the panels of a tile holding a score at or above the query's threshold (targets
/// may come in any index order, so a tie can still enter): bit p of
/// `bits[u]` for panel p of the tile (at most 64 panels a tile). Selection then visits only
/// those panels; thresholds only rise, so a panel skipped against the threshold at the tile's
/// start could not have entered later either.
pub struct Above<'a> {
    pub thresholds: &'a [f32],
    pub bits: &'a mut [u64],
}

/// Scores of `b` queries (rows of `q`, f each) against the targets of panels
/// `p0..p0 + panels`, into `out` as b rows of `panels * 16` (padding targets score 0); with
/// `above`, also which panels beat each query's threshold.
pub fn scores(
    packed: &Packed,
    p0: usize,
    panels: usize,
    q: &[f32],
    b: usize,
    out: &mut [f32],
    mut above: Option<Above>,
) {
    let f = packed.f;
    let w = panels * PANEL;
    assert!(q.len() >= b * f && out.len() >= b * w);
    assert!((p0 + panels) * PANEL * f <= packed.data.len());
    if let Some(a) = &mut above {
        assert!(panels <= 64 && a.thresholds.len() >= b && a.bits.len() >= b);
        a.bits[..b].fill(0);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if isa() == Isa::Avx512 {
            // SAFETY: AVX-512F is present (isa()); bounds asserted above.
            unsafe { avx512::scores(packed, p0, panels, q, b, out, above) };
            return;
        }
        if isa() == Isa::Avx2 {
            // SAFETY: AVX2 and FMA are present (isa()); bounds asserted above.
            unsafe { avx2::scores(packed, p0, panels, q, b, out) };
        } else {
            portable(packed, p0, panels, q, b, out);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    portable(packed, p0, panels, q, b, out);
    if let Some(a) = above {
        mark_above(out, w, panels, b, a);
    }
}

/// `Above` from the written scores (the kernels without a fused compare).
fn mark_above(out: &[f32], w: usize, panels: usize, b: usize, a: Above) {
    for u in 0..b {
        let t = a.thresholds[u];
        let mut bits = 0u64;
        for p in 0..panels {
            let s = &out[u * w + p * PANEL..u * w + p * PANEL + PANEL];
            if s.iter().any(|&x| x >= t) {
                bits |= 1 << p;
            }
        }
        a.bits[u] = bits;
    }
}

fn portable(packed: &Packed, p0: usize, panels: usize, q: &[f32], b: usize, out: &mut [f32]) {
    let f = packed.f;
    let w = panels * PANEL;
    for p in 0..panels {
        let panel = &packed.data[(p0 + p) * PANEL * f..(p0 + p + 1) * PANEL * f];
        for u in 0..b {
            let x = &q[u * f..u * f + f];
            let mut acc = [0f32; PANEL];
            for (j, &xj) in x.iter().enumerate() {
                for (a, &y) in acc.iter_mut().zip(&panel[j * PANEL..j * PANEL + PANEL]) {
                    *a = xj.mul_add(y, *a);
                }
            }
            out[u * w + p * PANEL..u * w + p * PANEL + PANEL].copy_from_slice(&acc);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Isa {
    Avx512,
    Avx2,
    Portable,
}

fn isa() -> Isa {
    use std::sync::OnceLock;
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        if std::env::var("CF_NATIVE_SIMD").is_ok_and(|v| v == "portable") {
            return Isa::Portable;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::env::var("CF_NATIVE_SIMD").map_or(true, |v| v != "avx2")
                && is_x86_feature_detected!("avx512f")
            {
                return Isa::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    })
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Packed, PANEL};
    use std::arch::x86_64::*;

    /// Register tile: U queries x P panels, U x P accumulators. `thr`/`bits`: the queries'
    /// thresholds and their panel bits, `pbit` the bit of this tile's first panel.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f")]
    unsafe fn tile<const U: usize, const P: usize>(
        panel: *const f32,
        f: usize,
        q: *const f32,
        out: *mut f32,
        w: usize,
        thr: *const f32,
        bits: *mut u64,
        pbit: u32,
    ) {
        let mut acc = [[_mm512_setzero_ps(); P]; U];
        for j in 0..f {
            let mut y = [_mm512_setzero_ps(); P];
            for (p, yp) in y.iter_mut().enumerate() {
                *yp = _mm512_loadu_ps(panel.add(p * PANEL * f + j * PANEL));
            }
            for (u, a) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_ps(*q.add(u * f + j));
                for p in 0..P {
                    a[p] = _mm512_fmadd_ps(x, y[p], a[p]);
                }
            }
        }
        for (u, a) in acc.iter().enumerate() {
            for (p, ap) in a.iter().enumerate() {
                _mm512_storeu_ps(out.add(u * w + p * PANEL), *ap);
            }
        }
        if !bits.is_null() {
            for (u, a) in acc.iter().enumerate() {
                let t = _mm512_set1_ps(*thr.add(u));
                let mut m = 0u64;
                for (p, ap) in a.iter().enumerate() {
                    let hit = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(*ap, t) != 0;
                    m |= (hit as u64) << (pbit as usize + p);
                }
                *bits.add(u) |= m;
            }
        }
    }

    #[target_feature(enable = "avx512f")]
    pub unsafe fn scores(
        packed: &Packed,
        p0: usize,
        panels: usize,
        q: &[f32],
        b: usize,
        out: &mut [f32],
        above: Option<super::Above>,
    ) {
        let (thr, bits) = match above {
            Some(a) => (a.thresholds.as_ptr(), a.bits.as_mut_ptr()),
            None => (std::ptr::null(), std::ptr::null_mut()),
        };
        let f = packed.f;
        let w = panels * PANEL;
        let base = packed.data.as_ptr().add(p0 * PANEL * f);
        let mut u = 0;
        while u < b {
            let ub = (b - u).min(8);
            // Few queries get more panels per tile: independent accumulators hide the FMA
            // latency (a lone query would otherwise wait on one chain per panel).
            let pmax = match ub {
                1 | 2 => 8,
                3 | 4 => 4,
                _ => 2,
            };
            let qp = q.as_ptr().add(u * f);
            let (tu, bu) = if bits.is_null() {
                (thr, bits)
            } else {
                (thr.add(u), bits.add(u))
            };
            let mut p = 0;
            while p < panels {
                let pn = (panels - p).min(pmax);
                let panel = base.add(p * PANEL * f);
                let o = out.as_mut_ptr().add(u * w + p * PANEL);
                macro_rules! go {
                    ($(($u:literal, $p:literal))*) => {
                        match (ub, pn) {
                            $(($u, $p) => tile::<$u, $p>(panel, f, qp, o, w, tu, bu, p as u32),)*
                            _ => unreachable!(),
                        }
                    };
                }
                go!(
                    (1, 1)(1, 2)(1, 3)(1, 4)(1, 5)(1, 6)(1, 7)(1, 8)(2, 1)(2, 2)(2, 3)(2, 4)(2, 5)(
                        2, 6
                    )(2, 7)(2, 8)(3, 1)(3, 2)(3, 3)(3, 4)(4, 1)(4, 2)(4, 3)(
                        4, 4
                    )(5, 1)(5, 2)(6, 1)(6, 2)(7, 1)(7, 2)(8, 1)(8, 2)
                );
                p += pn;
            }
            u += ub;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Packed, PANEL};
    use std::arch::x86_64::*;

    /// Register tile: U queries x P panels, each panel two 8-wide halves: 2 U P accumulators.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile<const U: usize, const P: usize>(
        panel: *const f32,
        f: usize,
        q: *const f32,
        out: *mut f32,
        w: usize,
    ) {
        let mut acc = [[[_mm256_setzero_ps(); 2]; P]; U];
        for j in 0..f {
            let mut y = [[_mm256_setzero_ps(); 2]; P];
            for (p, yp) in y.iter_mut().enumerate() {
                yp[0] = _mm256_loadu_ps(panel.add(p * PANEL * f + j * PANEL));
                yp[1] = _mm256_loadu_ps(panel.add(p * PANEL * f + j * PANEL + 8));
            }
            for (u, a) in acc.iter_mut().enumerate() {
                let x = _mm256_set1_ps(*q.add(u * f + j));
                for p in 0..P {
                    a[p][0] = _mm256_fmadd_ps(x, y[p][0], a[p][0]);
                    a[p][1] = _mm256_fmadd_ps(x, y[p][1], a[p][1]);
                }
            }
        }
        for (u, a) in acc.iter().enumerate() {
            for (p, ap) in a.iter().enumerate() {
                _mm256_storeu_ps(out.add(u * w + p * PANEL), ap[0]);
                _mm256_storeu_ps(out.add(u * w + p * PANEL + 8), ap[1]);
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn scores(
        packed: &Packed,
        p0: usize,
        panels: usize,
        q: &[f32],
        b: usize,
        out: &mut [f32],
    ) {
        let f = packed.f;
        let w = panels * PANEL;
        let base = packed.data.as_ptr().add(p0 * PANEL * f);
        let mut u = 0;
        while u < b {
            let ub = (b - u).min(6);
            // As in the AVX-512 kernel: few queries take several panels per tile, so that
            // enough independent FMA chains hide the FMA latency (one query over one panel
            // has two chains, a quarter of what two FMA ports with 4-cycle latency need).
            let pmax = match ub {
                1 => 4,
                2 | 3 => 2,
                _ => 1,
            };
            let qp = q.as_ptr().add(u * f);
            let mut p = 0;
            while p < panels {
                let pn = (panels - p).min(pmax);
                let panel = base.add(p * PANEL * f);
                let o = out.as_mut_ptr().add(u * w + p * PANEL);
                match (ub, pn) {
                    // pn <= pmax: the last arm of each query count is its pmax.
                    (1, 1) => tile::<1, 1>(panel, f, qp, o, w),
                    (1, 2) => tile::<1, 2>(panel, f, qp, o, w),
                    (1, 3) => tile::<1, 3>(panel, f, qp, o, w),
                    (1, _) => tile::<1, 4>(panel, f, qp, o, w),
                    (2, 1) => tile::<2, 1>(panel, f, qp, o, w),
                    (2, _) => tile::<2, 2>(panel, f, qp, o, w),
                    (3, 1) => tile::<3, 1>(panel, f, qp, o, w),
                    (3, _) => tile::<3, 2>(panel, f, qp, o, w),
                    (4, _) => tile::<4, 1>(panel, f, qp, o, w),
                    (5, _) => tile::<5, 1>(panel, f, qp, o, w),
                    _ => tile::<6, 1>(panel, f, qp, o, w),
                }
                p += pn;
            }
            u += ub;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rnd(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    /// The AVX2 kernel on its own (`scores` picks AVX-512 where the CPU has it, so the AVX2
    /// tiles would go untested there): every tile shape, remainders of panels, an offset
    /// first panel.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_kernel_gives_the_reference_bits_for_every_tile_shape() {
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return;
        }
        for (n, f, b, p0) in [
            (150, 64, 1, 0),
            (150, 7, 2, 1),
            (150, 33, 3, 2),
            (300, 16, 1, 3),
            (90, 64, 7, 0),
            (40, 1, 13, 1),
        ] {
            let rows = rnd(n * f, 5);
            let q = rnd(b * f, 6);
            let pk = Packed::new(&rows, f);
            let panels = n.div_ceil(PANEL) - p0;
            let w = panels * PANEL;
            let mut out = vec![f32::NAN; b * w];
            // SAFETY: AVX2 and FMA checked above; `out` holds b rows of `panels` panels.
            unsafe { avx2::scores(&pk, p0, panels, &q, b, &mut out) };
            for u in 0..b {
                for i in p0 * PANEL..n {
                    let r = dot_fma(&q[u * f..u * f + f], &rows[i * f..i * f + f]);
                    let got = out[u * w + i - p0 * PANEL];
                    assert_eq!(got.to_bits(), r.to_bits(), "n={n} f={f} b={b} u={u} i={i}");
                }
            }
        }
    }

    #[test]
    fn every_kernel_gives_the_reference_bits() {
        for (n, f, b) in [(37, 5, 3), (100, 64, 11), (16, 1, 1), (33, 128, 9)] {
            let rows = rnd(n * f, 3);
            let q = rnd(b * f, 4);
            let pk = Packed::new(&rows, f);
            let panels = n.div_ceil(PANEL);
            let w = panels * PANEL;
            let mut out = vec![0f32; b * w];
            let thr: Vec<f32> = (0..b).map(|u| (u as f32 - 4.0) * 0.1).collect();
            let mut bits = vec![0u64; b];
            scores(
                &pk,
                0,
                panels,
                &q,
                b,
                &mut out,
                Some(Above {
                    thresholds: &thr,
                    bits: &mut bits,
                }),
            );
            let mut want = vec![0u64; b];
            mark_above(
                &out,
                w,
                panels,
                b,
                Above {
                    thresholds: &thr,
                    bits: &mut want,
                },
            );
            assert_eq!(bits, want);
            let mut port = vec![0f32; b * w];
            portable(&pk, 0, panels, &q, b, &mut port);
            for u in 0..b {
                for i in 0..n {
                    let r = dot_fma(&q[u * f..u * f + f], &rows[i * f..i * f + f]);
                    assert_eq!(
                        out[u * w + i].to_bits(),
                        r.to_bits(),
                        "n={n} f={f} u={u} i={i}"
                    );
                    assert_eq!(port[u * w + i].to_bits(), r.to_bits());
                }
            }
        }
    }
}
