//! An int8 first pass for the top-K engine: it never decides a result, it only rules items
//! out. Item rows are quantised per row and query rows per query; AVX-512 VNNI
//! (`vpdpbusd`, 64 byte products per instruction against 16 f32 FMAs), or on AVX2-only CPUs
//! `vpmaddubsw` + `vpmaddwd` with the query on a coarser grid (see [`QQueries`]; a quarter of
//! the f32 kernel's bytes, which is what a lone query waits on), gives an exact integer dot
//! product, and an upper bound on the item's f32 score follows from the step sizes.
//! Items whose bound reaches the query's current k-th score are rescored with the f32
//! arithmetic of [`super::kernel::dot_fma`], so the lists and scores are bitwise those of the
//! f32 engine (tests compare them with the f32 path and a full sort).
//!
//! # The bound
//!
//! For an item row `v` (f factors): `a = fl(max|v_j| / 127)`, `q_j = round(v_j / a)` (f64
//! division, so `|v_j / a - q_j| <= 1/2 + 2^-45`); for a query row `u`: `b = fl(max|u_j| /
//! 127)`, `p_j = round(fl(u_j / b))`, clamped to [-127, 127] (`|u_j / b - p_j| <= h` with
//! `h = 1/2 + 2^-17`: the f32 quotient is at most 128 in size, off by at most 2^-17). So
//! `|u_j - b p_j| <= b h` and `|v_j - a q_j| <= a h`. `P = sum p_j q_j` is exact in i32
//! (|P| <= 127^2 * 1024 < 2^24 for f <= 1024). With `s = u . v` (real):
//!
//! `s - a b P = (u - b p) . v + b p . (v - a q)`, so `|s - a b P| <= b h V1 + a b h P1`,
//! where `V1 = sum |v_j|` (per item) and `P1 = sum |p_j|` (per query).
//!
//! The engine's score `s_f` (f FMAs in factor order, starting at 0) is within
//! `gamma_f * sum |u_j v_j| + f * 2^-150` of `s` (one rounding per FMA, `gamma_f = f e / (1 -
//! f e)`, `e = 2^-24`, the second term for products that underflow), and `sum |u_j v_j| <=
//! max|u_j| V1 <= 128 b V1`. Dividing by `b > 0`:
//!
//! `s_f / b <= a (P + h P1) + V1 (h + 128 gamma_f) + f 2^-150 / b`.
//!
//! The kernel computes `L = fl(fma(a, float(P + Q), c))` with the integer `Q = ceil(P1 / 2) +
//! 1 >= h P1` (P1 <= 127 f < 2^17) and the per-item `c = V1 (h + 128 gamma_f + 256 e) + 256 f
//! a e + 2^-100`, rounded up to f32. `float(P + Q)` is exact (below 2^24). The terms with `e`
//! cover the one rounding of the fma: it is at most `e |a x + c|`, and `|a x| <= 127 V1 + 130 f
//! a` (`|a q_j| <= |v_j| + a h`, `a Q <= a (127 f / 2 + 2)`), so `e |a x + c| <= m / 2 + e m`
//! for the margin `m = 256 e (V1 + f a)` added to `c`, which a result `>= T` therefore keeps
//! `>= T` after rounding. 2^-100 covers a result in the subnormal range. An item is skipped only when `L < T`, with
//! `T = (thr - f 2^-149) / b` rounded down to f32; then `s_f < thr`, and since selection
//! admits only scores above the threshold, the item could not have entered.
//!
//! Rows whose largest entry is outside [2^-50, 2^50] (or not finite, or all zero) get `c =
//! +inf` (always rescored); such queries get `T = -inf`. Inside that range nothing
//! overflows (|s_f| <= 1024 * 2^100) and the quotients above are normal numbers.

/// Factors up to this many keep `P + Q` below 2^24 (exact in f32) and inside i32.
pub const MAX_FACTORS: usize = 1024;

const H: f64 = 0.5 + 1.0 / 131072.0;
const EPS: f64 = 1.0 / 16777216.0;
/// Row maxima outside [LO, HI] are not quantised (always rescored).
const LO: f32 = 1.0 / 1125899906842624.0; // 2^-50
const HI: f32 = 1125899906842624.0; // 2^50

/// Item rows quantised to i8 in panels of 16, laid out for `vpdpbusd`: panel p, factor group
/// g (4 factors), lane l, byte j at `((p * groups + g) * 16 + l) * 4 + j`.
#[derive(Debug)]
pub struct QPacked {
    data: Vec<i8>,
    groups: usize,
    f: usize,
    /// Per target (padded to whole panels): a, c and -128 * sum q (the bias of the unsigned
    /// query bytes, folded into the accumulator's start).
    scale: Vec<f32>,
    slack: Vec<f32>,
    bias: Vec<i32>,
    /// 1 in use; tests build a too-tight bound with less (see `with_loosen`).
    loosen: f64,
}

/// Which int8 kernel this CPU runs: AVX-512 VNNI (`vpdpbusd`, four products summed into i32
/// per byte lane), else AVX2 (`vpmaddubsw` + `vpmaddwd`, the query on a 63-step grid).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Vnni,
    Avx2,
}

/// The int8 kernel of this CPU, None when there is none or `CF_NATIVE_SIMD` is set
/// (`avx512`, `avx2` or `portable` keep the f32 path).
pub fn kind() -> Option<Kind> {
    use std::sync::OnceLock;
    static KIND: OnceLock<Option<Kind>> = OnceLock::new();
    *KIND.get_or_init(|| {
        if std::env::var("CF_NATIVE_SIMD").is_ok() {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vnni")
            {
                return Some(Kind::Vnni);
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Some(Kind::Avx2);
            }
        }
        None
    })
}

/// Whether this CPU runs the int8 first pass (see [`kind`]).
pub fn supported() -> bool {
    kind().is_some()
}

/// The relative error bound of f sums of products in f32 (one rounding each).
pub(super) fn gamma(f: usize) -> f64 {
    let fe = f as f64 * EPS;
    fe / (1.0 - fe)
}

/// `x` as f32, rounded up (f64 to f32 rounds to nearest).
pub(super) fn up(x: f64) -> f32 {
    let y = x as f32;
    if (y as f64) < x {
        y.next_up()
    } else {
        y
    }
}

fn down(x: f64) -> f32 {
    let y = x as f32;
    if (y as f64) > x {
        y.next_down()
    } else {
        y
    }
}

impl QPacked {
    /// From rows given in target order (`n` rows of `f`).
    pub fn build<R: AsRef<[f32]>>(rows: impl Iterator<Item = R>, n: usize, f: usize) -> Self {
        Self::build_with(rows, n, f, 1.0)
    }

    /// `loosen` scales the bound's slack terms: 1 in use; tests shrink it to show that a
    /// tighter bound loses items.
    fn build_with<R: AsRef<[f32]>>(
        rows: impl Iterator<Item = R>,
        n: usize,
        f: usize,
        loosen: f64,
    ) -> Self {
        let groups = f.div_ceil(4);
        let panels = n.div_ceil(16);
        let mut data = vec![0i8; panels * groups * 64];
        let mut scale = vec![0f32; panels * 16];
        let mut slack = vec![0f32; panels * 16];
        let mut bias = vec![0i32; panels * 16];
        let g = gamma(f);
        for (i, row) in rows.enumerate() {
            let row = row.as_ref();
            let (p, l) = (i / 16, i % 16);
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let finite = row.iter().all(|v| v.is_finite());
            if !finite || !(LO..=HI).contains(&max) {
                slack[i] = f32::INFINITY;
                continue;
            }
            let a = max / 127.0;
            let mut v1 = 0f64;
            let mut sq = 0i32;
            for (j, &v) in row.iter().enumerate() {
                let q = (v as f64 / a as f64).round().clamp(-127.0, 127.0) as i32;
                data[((p * groups + j / 4) * 16 + l) * 4 + j % 4] = q as i8;
                v1 += (v as f64).abs();
                sq += q;
            }
            // v1 is a sum of at most 1024 terms in f64: relative error below 2^-42, covered
            // by the factor (1 + 2^-30).
            let c = v1 * (1.0 + 1.0 / 1073741824.0) * (H + 128.0 * g + 256.0 * EPS) * loosen
                + 256.0 * f as f64 * a as f64 * EPS
                + 1e-30;
            scale[i] = a;
            slack[i] = up(c);
            bias[i] = -128 * sq;
        }
        QPacked {
            data,
            groups,
            f,
            scale,
            slack,
            bias,
            loosen,
        }
    }

    pub fn factors(&self) -> usize {
        self.f
    }
}

/// A block of queries quantised: 4 unsigned bytes (p + `off`) per factor group, and per query
/// `Q`, `b`, and whether it is quantised at all.
///
/// For VNNI, p is on a grid of 127 steps (bytes p + 128). The AVX2 kernel takes the query on a
/// grid of 63 (bytes p + 64 <= 127), so that `vpmaddubsw` of query bytes against item bytes
/// cannot saturate (2 * 127 * 127 < 2^15) and needs no sign step. The bound in the module doc
/// holds as written: it only uses `|p_j| <= 127`, `max|u_j| <= 128 b` and `|u_j / b - p_j| <= h`
/// (the f32 quotient is at most 64 in size here, off by at most 2^-18). The coarser query
/// step widens the query term `h V1` of the slack.
#[derive(Default)]
pub struct QQueries {
    bytes: Vec<u32>,
    q: Vec<i32>,
    b: Vec<f64>,
    ok: Vec<bool>,
    loosen: f64,
    /// 128 (127-step grid) or 64 (63-step grid).
    off: i32,
}

impl QQueries {
    /// Rows of `rows` (b x f), for `pack`, on the grid of this CPU's kernel.
    pub fn fill(&mut self, pack: &QPacked, rows: &[f32], nb: usize) {
        self.fill_grid(pack, rows, nb, kind() == Some(Kind::Avx2));
    }

    /// As `fill`, on the 63-step grid of the AVX2 kernel when `narrow` (else 127 steps).
    pub fn fill_grid(&mut self, pack: &QPacked, rows: &[f32], nb: usize, narrow: bool) {
        let (f, groups) = (pack.f, pack.groups);
        let (steps, off) = if narrow { (63, 64) } else { (127, 128) };
        self.off = off;
        let empty = u32::from_le_bytes([off as u8; 4]);
        self.bytes.clear();
        self.bytes.resize(nb * groups, empty);
        self.q.clear();
        self.b.clear();
        self.ok.clear();
        self.loosen = pack.loosen;
        for u in 0..nb {
            let row = &rows[u * f..u * f + f];
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let ok = row.iter().all(|v| v.is_finite()) && (LO..=HI).contains(&max);
            let b = max / steps as f32;
            let mut p1 = 0i32;
            if ok {
                let mut bytes = [0u8; 4];
                for g in 0..groups {
                    for (j, byte) in bytes.iter_mut().enumerate() {
                        let p = match row.get(g * 4 + j) {
                            Some(&x) => ((x / b).round() as i32).clamp(-steps, steps),
                            None => 0,
                        };
                        p1 += p.abs();
                        *byte = (p + off) as u8;
                    }
                    self.bytes[u * groups + g] = u32::from_le_bytes(bytes);
                }
            }
            // Q >= h P1 (see the module doc); scaled down only by the tests' looser-bound hook.
            let q = ((p1 as f64 * self.loosen) / 2.0).ceil() as i32 + 1;
            self.q.push(q);
            self.b.push(b as f64);
            self.ok.push(ok);
        }
    }

    /// Exchanges queries `a` and `c` (a block moves the queries it is done with behind the
    /// ones still scanning).
    pub fn swap(&mut self, a: usize, c: usize) {
        let g = self.bytes.len() / self.q.len().max(1);
        for x in 0..g {
            self.bytes.swap(a * g + x, c * g + x);
        }
        self.q.swap(a, c);
        self.b.swap(a, c);
        self.ok.swap(a, c);
    }

    /// The kernel's threshold for query `u` whose k-th score so far is `thr`: items below it
    /// cannot score above `thr`.
    pub fn threshold(&self, u: usize, thr: f32, f: usize) -> f32 {
        if !self.ok[u] || thr == f32::NEG_INFINITY {
            return f32::NEG_INFINITY;
        }
        if thr.is_nan() {
            return f32::NEG_INFINITY;
        }
        let t = (thr as f64 - f as f64 * 2f64.powi(-149)) / self.b[u];
        // The f64 quotient is within 2^-52 of the real one; rounding down past it keeps T
        // below the real value.
        down(t - t.abs() * 2f64.powi(-50))
    }
}

/// Which targets of panels `p0..p0 + panels` may beat each query's kernel threshold `t[u]`:
/// bit l of `masks[u * panels + p]` for target l of panel p, and bit p of `bits[u]` when
/// that mask is not empty (at most 64 panels), so callers skip empty ones without a branch
/// per panel.
pub fn marks(
    pack: &QPacked,
    p0: usize,
    panels: usize,
    qq: &QQueries,
    nb: usize,
    t: &[f32],
    masks: &mut [u16],
    bits: &mut [u64],
) {
    assert!(t.len() >= nb && masks.len() >= nb * panels && qq.q.len() >= nb);
    assert!((p0 + panels) * 16 <= pack.scale.len());
    assert!(panels <= 64 && bits.len() >= nb);
    bits[..nb].fill(0);
    #[cfg(target_arch = "x86_64")]
    // Each kernel takes the query grid it was written for (see QQueries); tests may hand
    // either grid to either CPU, and the portable marks take both.
    match (kind(), qq.off) {
        // SAFETY: AVX-512F/BW/VNNI are present (kind()); bounds asserted above.
        (Some(Kind::Vnni), 128) => {
            return unsafe { vnni::marks(pack, p0, panels, qq, nb, t, masks, bits) }
        }
        // SAFETY: AVX2 and FMA are present (kind()); bounds asserted above.
        (Some(Kind::Avx2), 64) => {
            return unsafe { avx2::marks(pack, p0, panels, qq, nb, t, masks, bits) }
        }
        _ => {}
    }
    marks_portable(pack, p0, panels, qq, nb, t, masks, bits);
}

/// The same marks without SIMD (tests, and CPUs where `marks` is never called in use).
#[allow(clippy::too_many_arguments)]
pub fn marks_portable(
    pack: &QPacked,
    p0: usize,
    panels: usize,
    qq: &QQueries,
    nb: usize,
    t: &[f32],
    masks: &mut [u16],
    bits: &mut [u64],
) {
    let groups = pack.groups;
    for u in 0..nb {
        for p in 0..panels {
            let pp = p0 + p;
            let mut m = 0u16;
            for l in 0..16 {
                let i = pp * 16 + l;
                let mut acc = 0i32;
                for g in 0..groups {
                    let qb = qq.bytes[u * groups + g].to_le_bytes();
                    for (j, &x) in qb.iter().enumerate() {
                        let q = pack.data[((pp * groups + g) * 16 + l) * 4 + j] as i32;
                        acc += (x as i32 - qq.off) * q;
                    }
                }
                let x = (acc + qq.q[u]) as f32;
                let lv = pack.scale[i].mul_add(x, pack.slack[i]);
                if lv >= t[u] {
                    m |= 1 << l;
                }
            }
            masks[u * panels + p] = m;
            bits[u] |= ((m != 0) as u64) << p;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{QPacked, QQueries};
    use std::arch::x86_64::*;

    /// Register tile: U queries x P panels of i32 accumulators.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn tile<const U: usize, const P: usize>(
        pack: &QPacked,
        pp: usize,
        qb: *const u32,
        qoff: *const i32,
        t: *const f32,
        masks: *mut u16,
        mstride: usize,
        bits: *mut u64,
        pbit: usize,
    ) {
        let groups = pack.groups;
        let data = pack.data.as_ptr().add(pp * groups * 64);
        let mut acc = [[_mm512_setzero_si512(); P]; U];
        for p in 0..P {
            let b = _mm512_loadu_si512(pack.bias.as_ptr().add((pp + p) * 16) as *const _);
            for a in acc.iter_mut() {
                a[p] = b;
            }
        }
        for g in 0..groups {
            let mut y = [_mm512_setzero_si512(); P];
            for (p, yp) in y.iter_mut().enumerate() {
                *yp = _mm512_loadu_si512(data.add((p * groups + g) * 64) as *const _);
            }
            for (u, a) in acc.iter_mut().enumerate() {
                let x = _mm512_set1_epi32(*qb.add(u * groups + g) as i32);
                for p in 0..P {
                    a[p] = _mm512_dpbusd_epi32(a[p], x, y[p]);
                }
            }
        }
        for p in 0..P {
            let sc = _mm512_loadu_ps(pack.scale.as_ptr().add((pp + p) * 16));
            let sl = _mm512_loadu_ps(pack.slack.as_ptr().add((pp + p) * 16));
            for (u, a) in acc.iter().enumerate() {
                let x = _mm512_cvtepi32_ps(_mm512_add_epi32(a[p], _mm512_set1_epi32(*qoff.add(u))));
                let l = _mm512_fmadd_ps(sc, x, sl);
                let m = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(l, _mm512_set1_ps(*t.add(u)));
                *masks.add(u * mstride + p) = m;
                *bits.add(u) |= ((m != 0) as u64) << (pbit + p);
            }
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn marks(
        pack: &QPacked,
        p0: usize,
        panels: usize,
        qq: &QQueries,
        nb: usize,
        t: &[f32],
        masks: &mut [u16],
        bits: &mut [u64],
    ) {
        let groups = pack.groups;
        let mut u = 0;
        while u < nb {
            let ub = (nb - u).min(8);
            let pmax = match ub {
                1 | 2 => 8,
                3 | 4 => 4,
                _ => 2,
            };
            let qb = qq.bytes.as_ptr().add(u * groups);
            let qo = qq.q.as_ptr().add(u);
            let tu = t.as_ptr().add(u);
            let bu = bits.as_mut_ptr().add(u);
            let mut p = 0;
            while p < panels {
                let pn = (panels - p).min(pmax);
                let m = masks.as_mut_ptr().add(u * panels + p);
                macro_rules! go {
                    ($(($u:literal, $p:literal))*) => {
                        match (ub, pn) {
                            $(($u, $p) => tile::<$u, $p>(pack, p0 + p, qb, qo, tu, m, panels, bu, p),)*
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
pub(crate) mod avx2 {
    use super::{QPacked, QQueries};
    use std::arch::x86_64::*;

    /// Register tile: U queries x P panels, each panel two registers of eight i32 sums.
    /// Query bytes are p + 64 (the 63-step grid, see [`QQueries`]): `vpmaddubsw` takes them
    /// unsigned against the signed item bytes (a pair of products is at most 2 * 127 * 127, no
    /// saturation) and `vpmaddwd` by ones sums the pairs into i32. That is `sum p q + 64 sum
    /// q`, and the accumulators start at half the pack's bias (-128 sum q, a multiple of 128),
    /// so they end at the exact `sum p q` of the portable marks.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile<const U: usize, const P: usize>(
        pack: &QPacked,
        pp: usize,
        qb: *const u32,
        qoff: *const i32,
        t: *const f32,
        masks: *mut u16,
        mstride: usize,
        bits: *mut u64,
        pbit: usize,
    ) {
        let groups = pack.groups;
        let data = pack.data.as_ptr().add(pp * groups * 64);
        let ones = _mm256_set1_epi16(1);
        let mut acc = [[[_mm256_setzero_si256(); 2]; P]; U];
        for p in 0..P {
            for h in 0..2 {
                let at = pack.bias.as_ptr().add((pp + p) * 16 + h * 8);
                let b = _mm256_srai_epi32::<1>(_mm256_loadu_si256(at as *const _));
                for a in acc.iter_mut() {
                    a[p][h] = b;
                }
            }
        }
        for g in 0..groups {
            let mut x = [_mm256_setzero_si256(); U];
            for (u, xu) in x.iter_mut().enumerate() {
                *xu = _mm256_set1_epi32(*qb.add(u * groups + g) as i32);
            }
            for p in 0..P {
                for h in 0..2 {
                    let y =
                        _mm256_loadu_si256(data.add((p * groups + g) * 64 + h * 32) as *const _);
                    for u in 0..U {
                        let s = _mm256_maddubs_epi16(x[u], y);
                        acc[u][p][h] = _mm256_add_epi32(acc[u][p][h], _mm256_madd_epi16(s, ones));
                    }
                }
            }
        }
        for p in 0..P {
            for (u, a) in acc.iter().enumerate() {
                let mut m = 0u16;
                for (h, &ah) in a[p].iter().enumerate() {
                    let at = (pp + p) * 16 + h * 8;
                    let sc = _mm256_loadu_ps(pack.scale.as_ptr().add(at));
                    let sl = _mm256_loadu_ps(pack.slack.as_ptr().add(at));
                    let x =
                        _mm256_cvtepi32_ps(_mm256_add_epi32(ah, _mm256_set1_epi32(*qoff.add(u))));
                    let l = _mm256_fmadd_ps(sc, x, sl);
                    let c = _mm256_cmp_ps::<_CMP_GE_OQ>(l, _mm256_set1_ps(*t.add(u)));
                    m |= (_mm256_movemask_ps(c) as u16) << (8 * h);
                }
                *masks.add(u * mstride + p) = m;
                *bits.add(u) |= ((m != 0) as u64) << (pbit + p);
            }
        }
    }

    /// The marks of [`super::marks`] for queries on the 63-step grid; callable directly by
    /// tests on CPUs that would pick VNNI.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA, and the arguments must pass `marks`' asserts.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn marks(
        pack: &QPacked,
        p0: usize,
        panels: usize,
        qq: &QQueries,
        nb: usize,
        t: &[f32],
        masks: &mut [u16],
        bits: &mut [u64],
    ) {
        let groups = pack.groups;
        let mut u = 0;
        while u < nb {
            // Sixteen registers: a lone query keeps four panels (8 sums) in flight, two
            // queries two panels each.
            let ub = (nb - u).min(2);
            let pmax = if ub == 1 { 4 } else { 2 };
            let qb = qq.bytes.as_ptr().add(u * groups);
            let qo = qq.q.as_ptr().add(u);
            let tu = t.as_ptr().add(u);
            let bu = bits.as_mut_ptr().add(u);
            let mut p = 0;
            while p < panels {
                let pn = (panels - p).min(pmax);
                let m = masks.as_mut_ptr().add(u * panels + p);
                match (ub, pn) {
                    (1, 1) => tile::<1, 1>(pack, p0 + p, qb, qo, tu, m, panels, bu, p),
                    (1, 2) => tile::<1, 2>(pack, p0 + p, qb, qo, tu, m, panels, bu, p),
                    (1, 3) => tile::<1, 3>(pack, p0 + p, qb, qo, tu, m, panels, bu, p),
                    (1, 4) => tile::<1, 4>(pack, p0 + p, qb, qo, tu, m, panels, bu, p),
                    (2, 1) => tile::<2, 1>(pack, p0 + p, qb, qo, tu, m, panels, bu, p),
                    (2, 2) => tile::<2, 2>(pack, p0 + p, qb, qo, tu, m, panels, bu, p),
                    _ => unreachable!(),
                }
                p += pn;
            }
            u += ub;
        }
    }
}

/// Exact scores (the bits of [`super::kernel::dot_fma`]) of query `x` against targets whose
/// factor j is at `data[offsets[c] + j * stride]` (row-major rows: stride 1; packed panels:
/// stride 16), into `out`.
pub fn rescore(data: &[f32], stride: usize, x: &[f32], offsets: &[u32], out: &mut [f32]) {
    let f = x.len();
    assert!(out.len() >= offsets.len());
    assert!(offsets
        .iter()
        .all(|&o| f == 0 || o as usize + (f - 1) * stride < data.len()));
    #[cfg(target_arch = "x86_64")]
    if data.len() <= i32::MAX as usize {
        match kind() {
            // SAFETY: AVX-512F is present; every element read is in bounds (asserted) and the
            // offsets fit the gather's i32 index.
            Some(Kind::Vnni) => return unsafe { gather::rescore(data, stride, x, offsets, out) },
            // SAFETY: AVX2 and FMA are present; the same bounds.
            Some(Kind::Avx2) => return unsafe { gather::rescore8(data, stride, x, offsets, out) },
            None => {}
        }
    }
    for (o, &b) in out.iter_mut().zip(offsets) {
        let mut acc = 0f32;
        for (j, &xj) in x.iter().enumerate() {
            acc = xj.mul_add(data[b as usize + j * stride], acc);
        }
        *o = acc;
    }
}

#[cfg(target_arch = "x86_64")]
mod gather {
    use std::arch::x86_64::*;

    /// Sixteen targets a pass, one per lane, each lane one FMA per factor in factor order.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn rescore(
        data: &[f32],
        stride: usize,
        x: &[f32],
        offsets: &[u32],
        out: &mut [f32],
    ) {
        let mut c = 0;
        while c < offsets.len() {
            let n = (offsets.len() - c).min(16);
            let mut idx = [0i32; 16];
            for (l, v) in idx.iter_mut().enumerate() {
                // Lanes past the end repeat the first target (their results are dropped).
                *v = offsets[c + if l < n { l } else { 0 }] as i32;
            }
            let vi = _mm512_loadu_si512(idx.as_ptr() as *const _);
            let mut acc = _mm512_setzero_ps();
            let mut ptr = data.as_ptr();
            for &xj in x {
                let y = _mm512_i32gather_ps::<4>(vi, ptr);
                acc = _mm512_fmadd_ps(_mm512_set1_ps(xj), y, acc);
                ptr = ptr.wrapping_add(stride);
            }
            let mut r = [0f32; 16];
            _mm512_storeu_ps(r.as_mut_ptr(), acc);
            out[c..c + n].copy_from_slice(&r[..n]);
            c += n;
        }
    }

    /// The same with AVX2: eight targets a pass.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn rescore8(
        data: &[f32],
        stride: usize,
        x: &[f32],
        offsets: &[u32],
        out: &mut [f32],
    ) {
        let mut c = 0;
        while c < offsets.len() {
            let n = (offsets.len() - c).min(8);
            let mut idx = [0i32; 8];
            for (l, v) in idx.iter_mut().enumerate() {
                *v = offsets[c + if l < n { l } else { 0 }] as i32;
            }
            let vi = _mm256_loadu_si256(idx.as_ptr() as *const _);
            let mut acc = _mm256_setzero_ps();
            let mut ptr = data.as_ptr();
            for &xj in x {
                let y = _mm256_i32gather_ps::<4>(ptr, vi);
                acc = _mm256_fmadd_ps(_mm256_set1_ps(xj), y, acc);
                ptr = ptr.wrapping_add(stride);
            }
            let mut r = [0f32; 8];
            _mm256_storeu_ps(r.as_mut_ptr(), acc);
            out[c..c + n].copy_from_slice(&r[..n]);
            c += n;
        }
    }
}

#[cfg(test)]
impl QPacked {
    /// The bound with its slack terms scaled by `loosen` (< 1: too tight, unsafe).
    pub fn with_loosen(rows: &[f32], f: usize, loosen: f64) -> Self {
        Self::build_with(rows.chunks_exact(f), rows.len() / f, f, loosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topk::kernel::dot_fma;

    #[cfg(target_arch = "x86_64")]
    fn avx2_here() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    fn rnd(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let x = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                // Rows of very different lengths, some zero.
                match (i / 37) % 5 {
                    0 => x * 1e-12,
                    1 => x * 1e9,
                    2 if i % 3 == 0 => 0.0,
                    _ => x,
                }
            })
            .collect()
    }

    /// Every (query, item) pair: with the threshold at the item's own exact score, the item
    /// must be marked (the bound reaches it), whatever the kernel.
    #[test]
    fn the_bound_covers_every_exact_score_and_the_kernels_agree() {
        // Panels 4, 3, 3, 2, 6, 5: every AVX2 tile shape (lone queries over 4 + 2 and 4 + 1
        // panels too).
        for (n, f, nq) in [
            (50, 64, 9),
            (40, 7, 5),
            (33, 130, 3),
            (20, 1, 4),
            (90, 64, 3),
            (70, 33, 1),
        ] {
            let rows = rnd(n * f, 3 + f as u64);
            let qs = rnd(nq * f, 9 + f as u64);
            let pack = QPacked::build(rows.chunks_exact(f), n, f);
            let panels = n.div_ceil(16);
            // Both query grids: VNNI's 127 steps and the AVX2 kernel's 63.
            for narrow in [false, true] {
                let mut qq = QQueries::default();
                qq.fill_grid(&pack, &qs, nq, narrow);
                for u in 0..nq {
                    for i in 0..n {
                        let s = dot_fma(&qs[u * f..u * f + f], &rows[i * f..i * f + f]);
                        let t = vec![qq.threshold(u, s, f); nq];
                        let mut masks = vec![0u16; nq * panels];
                        let mut bits = vec![0u64; nq];
                        marks_portable(&pack, 0, panels, &qq, nq, &t, &mut masks, &mut bits);
                        let m = masks[u * panels + i / 16];
                        assert!(m >> (i % 16) & 1 == 1, "n={n} f={f} u={u} i={i} s={s}");
                        if supported() {
                            let mut m2 = vec![0u16; nq * panels];
                            let mut b2 = vec![0u64; nq];
                            marks(&pack, 0, panels, &qq, nq, &t, &mut m2, &mut b2);
                            assert_eq!(m2, masks);
                            assert_eq!(b2, bits);
                        }
                        // The AVX2 kernel directly: `marks` picks VNNI where the CPU has it.
                        #[cfg(target_arch = "x86_64")]
                        if narrow && avx2_here() {
                            let mut m3 = vec![0u16; nq * panels];
                            let mut b3 = vec![0u64; nq];
                            // SAFETY: AVX2 and FMA checked; the shapes are those of `marks`.
                            unsafe { avx2::marks(&pack, 0, panels, &qq, nq, &t, &mut m3, &mut b3) };
                            assert_eq!(m3, masks);
                            assert_eq!(b3, bits);
                        }
                    }
                }
            }
            // Rescoring gives the reference bits, from rows and from packed panels.
            let items: Vec<u32> = (0..n as u32).rev().collect();
            let offs: Vec<u32> = items.iter().map(|&i| i * f as u32).collect();
            let mut out = vec![0f32; n];
            rescore(&rows, 1, &qs[..f], &offs, &mut out);
            let pk = crate::topk::kernel::Packed::new(&rows, f);
            let poffs: Vec<u32> = items
                .iter()
                .map(|&i| pk.offset(i as usize) as u32)
                .collect();
            let mut out2 = vec![0f32; n];
            rescore(pk.data(), 16, &qs[..f], &poffs, &mut out2);
            let mut out3 = out2.clone();
            #[cfg(target_arch = "x86_64")]
            if avx2_here() {
                // SAFETY: AVX2 and FMA checked; offsets in bounds (as asserted by rescore).
                unsafe { gather::rescore8(pk.data(), 16, &qs[..f], &poffs, &mut out3) };
            }
            for (c, &i) in items.iter().enumerate() {
                let r = dot_fma(&qs[..f], &rows[i as usize * f..i as usize * f + f]);
                assert_eq!(out[c].to_bits(), r.to_bits());
                assert_eq!(out2[c].to_bits(), r.to_bits());
                assert_eq!(out3[c].to_bits(), r.to_bits());
            }
        }
    }
}
