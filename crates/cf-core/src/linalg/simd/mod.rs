//! The hot kernels of ALS, chosen once per process by CPU feature: AVX2 + FMA where the CPU
//! has them, portable Rust elsewhere. Both work on rows padded to a multiple of 8 floats
//! (pad entries are zero), so the vector code has no tails.
//!
//! Results depend only on the inputs and the kernel set, never on thread count; the two
//! kernel sets may differ in the last bits (FMA rounds once), so factors are reproducible
//! per machine type, not across x86 CPUs with and without AVX2.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod scalar;

use std::sync::OnceLock;

/// Rows are padded to this many floats.
pub const LANES: usize = 8;

/// Padded row length for `k` factors.
#[inline]
pub fn padded(k: usize) -> usize {
    k.div_ceil(LANES) * LANES
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    #[cfg(target_arch = "x86_64")]
    /// AVX2, FMA and F16C.
    Avx2Fma,
    Portable,
}

/// A table of factor rows as the lockstep kernels read it: float32, or float16 bit
/// patterns widened on load (what CG reads under mixed precision).
#[derive(Clone, Copy, Debug)]
pub enum Rows<'a> {
    F32(&'a [f32]),
    F16(&'a [u16]),
}

impl Rows<'_> {
    /// Values in the table.
    pub fn len(&self) -> usize {
        match self {
            Rows::F32(y) => y.len(),
            Rows::F16(y) => y.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Isa {
    /// The best kernel set this CPU runs; `CF_NATIVE_SIMD=portable` forces the fallback
    /// (for comparing the two).
    pub fn detect() -> Isa {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| {
            if std::env::var("CF_NATIVE_SIMD").is_ok_and(|v| v == "portable") {
                return Isa::Portable;
            }
            // F16C (float16 loads) came before AVX2 on every x86 CPU; checked all the same.
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
            {
                return Isa::Avx2Fma;
            }
            Isa::Portable
        })
    }

    /// out[j] = rows[j] · v, for the `out.len()` rows of length `kp` in `rows`.
    #[inline]
    pub fn dots(self, rows: &[f32], kp: usize, v: &[f32], out: &mut [f32]) {
        let n = out.len();
        assert!(kp % LANES == 0 && rows.len() >= n * kp && v.len() >= kp);
        match self {
            // SAFETY: `detect` only returns Avx2Fma when the CPU has AVX2 and FMA; the
            // lengths were checked above.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { avx2::dots(rows, kp, v, out) },
            Isa::Portable => scalar::dots(rows, kp, v, out),
        }
    }

    /// acc += Σ_j coef[j] · rows[j], for the `coef.len()` rows of length `kp`.
    #[inline]
    pub fn accumulate(self, rows: &[f32], kp: usize, coef: &[f32], acc: &mut [f32]) {
        let n = coef.len();
        assert!(kp % LANES == 0 && rows.len() >= n * kp && acc.len() >= kp);
        match self {
            // SAFETY: as in `dots`.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { avx2::accumulate(rows, kp, coef, acc) },
            Isa::Portable => scalar::accumulate(rows, kp, coef, acc),
        }
    }

    /// a += Σ_j z[j] z[j]ᵀ on (at least) the upper triangle of the row-major kp x kp `a`,
    /// for the `n` rows of length `kp` in `z`. Entries left of the diagonal may or may not
    /// be updated.
    #[inline]
    pub fn syrk_upper(self, z: &[f32], n: usize, kp: usize, a: &mut [f32]) {
        assert!(kp % LANES == 0 && z.len() >= n * kp && a.len() >= kp * kp);
        match self {
            // SAFETY: as in `dots`.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { avx2::syrk_upper(z, n, kp, a) },
            Isa::Portable => scalar::syrk_upper(z, n, kp, a),
        }
    }

    /// Cholesky factor A = Uᵀ U of the row-major kp x kp SPD matrix, in place, reading and
    /// writing only the upper triangle (the rest is scratch); false when A is not positive
    /// definite.
    #[inline]
    pub fn cholesky(self, a: &mut [f32], kp: usize) -> bool {
        assert!(a.len() >= kp * kp);
        match self {
            // SAFETY: as in `dots`.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { avx2::cholesky(a, kp) },
            Isa::Portable => scalar::cholesky(a, kp),
        }
    }

    /// Solve L Lᵀ x = b in place with the factor from `cholesky`.
    #[inline]
    pub fn cholesky_solve(self, l: &[f32], kp: usize, b: &mut [f32]) {
        assert!(l.len() >= kp * kp && b.len() >= kp);
        match self {
            // SAFETY: as in `dots`.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { avx2::cholesky_solve(l, kp, b) },
            Isa::Portable => scalar::cholesky_solve(l, kp, b),
        }
    }

    /// out[j][0..k] = y[cols[j]][0..k] for each j: the rows of `y` (k floats each) that a
    /// row's entries name, packed at stride `kp`. Rows a few ahead are prefetched, since
    /// these reads miss cache whenever `y` is larger than it.
    #[inline]
    pub fn gather(self, y: &[f32], k: usize, cols: &[u32], kp: usize, out: &mut [f32]) {
        assert!(kp >= k && out.len() >= cols.len() * kp);
        #[cfg(target_arch = "x86_64")]
        if self == Isa::Avx2Fma
            && k % LANES == 0
            && cols.iter().all(|&c| (c as usize + 1) * k <= y.len())
        {
            // SAFETY: AVX2 is present (detect), every source row is inside `y` (checked just
            // above) and every destination row inside `out` (asserted).
            unsafe { avx2::gather(y, k, cols, kp, out) };
            return;
        }
        const AHEAD: usize = 8;
        for (j, &c) in cols.iter().enumerate() {
            if let Some(&next) = cols.get(j + AHEAD) {
                prefetch_row(y, next as usize * k, k);
            }
            let c = c as usize;
            out[j * kp..j * kp + k].copy_from_slice(&y[c * k..c * k + k]);
        }
    }

    /// `gather`, and dots[j] = out[j] · v (v: kp floats) for each gathered row.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn gather_dots(
        self,
        y: &[f32],
        k: usize,
        cols: &[u32],
        kp: usize,
        out: &mut [f32],
        v: &[f32],
        dots: &mut [f32],
    ) {
        assert!(kp >= k && out.len() >= cols.len() * kp && v.len() >= kp);
        assert!(dots.len() >= cols.len());
        #[cfg(target_arch = "x86_64")]
        if self == Isa::Avx2Fma
            && k % LANES == 0
            && cols.iter().all(|&c| (c as usize + 1) * k <= y.len())
        {
            // SAFETY: as in `gather`; `v` holds k floats and `dots` one per row (asserted).
            unsafe { avx2::gather_dots(y, k, cols, kp, out, v, dots) };
            return;
        }
        let n = cols.len();
        self.gather(y, k, cols, kp, out);
        self.dots(&out[..n * kp], kp, &v[..kp], &mut dots[..n]);
    }

    /// `gather` from a table of float16 bit patterns (k per row), widened to float32.
    #[inline]
    pub fn gather16(self, y: &[u16], k: usize, cols: &[u32], kp: usize, out: &mut [f32]) {
        assert!(kp >= k && out.len() >= cols.len() * kp);
        assert!(cols.iter().all(|&c| (c as usize + 1) * k <= y.len()));
        match self {
            // SAFETY: as in `gather`; `detect` also checked F16C.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma if k % LANES == 0 => unsafe { avx2::gather16(y, k, cols, kp, out) },
            _ => scalar::gather16(y, k, cols, kp, out),
        }
    }

    /// `gather_dots` from a table of float16 bit patterns, as `gather16` reads it.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn gather_dots16(
        self,
        y: &[u16],
        k: usize,
        cols: &[u32],
        kp: usize,
        out: &mut [f32],
        v: &[f32],
        dots: &mut [f32],
    ) {
        assert!(kp >= k && out.len() >= cols.len() * kp && v.len() >= kp);
        assert!(dots.len() >= cols.len());
        assert!(cols.iter().all(|&c| (c as usize + 1) * k <= y.len()));
        #[cfg(target_arch = "x86_64")]
        if self == Isa::Avx2Fma && k % LANES == 0 {
            // SAFETY: as in `gather16`; `v` holds k floats and `dots` one per row.
            unsafe { avx2::gather_dots16(y, k, cols, kp, out, v, dots) };
            return;
        }
        let n = cols.len();
        self.gather16(y, k, cols, kp, out);
        self.dots(&out[..n * kp], kp, &v[..kp], &mut dots[..n]);
    }

    /// The lockstep CG's pass over a batch of entries: entry e pairs row `of[e]` of `ys`
    /// with row l = `locals[e]` of `v` and `out` (rows of kp floats). For each entry with
    /// `active[l]`: s = ys[of[e]] · v[l], then out[l] += coef · ys[of[e]], coef =
    /// c − (c − 1)s when `residual`, else (c − 1)s, with c = confs[e]; updates in entry
    /// order. `coef` is scratch of at least `locals.len()` floats.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn scatter_pass(
        self,
        ys: Rows,
        kp: usize,
        of: &[u32],
        locals: &[u16],
        confs: &[f32],
        v: &[f32],
        out: &mut [f32],
        residual: bool,
        active: &[bool],
        coef: &mut [f32],
    ) {
        let (n, rows) = (locals.len(), active.len());
        assert!(
            kp % LANES == 0
                && of.len() >= n
                && confs.len() >= n
                && coef.len() >= n
                && v.len() >= rows * kp
                && out.len() >= rows * kp
                && locals.iter().all(|&l| (l as usize) < rows)
                && of[..n].iter().all(|&r| (r as usize + 1) * kp <= ys.len())
        );
        match self {
            // SAFETY: as in `dots`; every row named by `of` is inside `ys` and every row
            // named by `locals` inside `v` and `out` (asserted above).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe {
                avx2::scatter_pass(ys, kp, of, locals, confs, v, out, residual, active, coef)
            },
            Isa::Portable => match ys {
                Rows::F32(y) => scalar::scatter_pass(
                    y,
                    |a| a,
                    kp,
                    of,
                    locals,
                    confs,
                    v,
                    out,
                    residual,
                    active,
                    coef,
                ),
                Rows::F16(y) => scalar::scatter_pass(
                    y, f16_to_f32, kp, of, locals, confs, v, out, residual, active, coef,
                ),
            },
        }
    }

    /// The dot products of `scatter_pass` without its updates: dots[e] = ys[of[e]] · v[l]
    /// with l = `locals[e]`, or 0 where `active[l]` is false.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn scatter_dots(
        self,
        ys: Rows,
        kp: usize,
        of: &[u32],
        locals: &[u16],
        v: &[f32],
        active: &[bool],
        dots: &mut [f32],
    ) {
        let (n, rows) = (locals.len(), active.len());
        assert!(
            kp % LANES == 0
                && of.len() >= n
                && dots.len() >= n
                && v.len() >= rows * kp
                && locals.iter().all(|&l| (l as usize) < rows)
                && of[..n].iter().all(|&r| (r as usize + 1) * kp <= ys.len())
        );
        match self {
            // SAFETY: as in `scatter_pass`.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { avx2::scatter_dots(ys, kp, of, locals, v, active, dots) },
            Isa::Portable => match ys {
                Rows::F32(y) => scalar::scatter_dots(y, |a| a, kp, of, locals, v, active, dots),
                Rows::F16(y) => {
                    scalar::scatter_dots(y, f16_to_f32, kp, of, locals, v, active, dots)
                }
            },
        }
    }

    /// a · b over equal-length padded vectors.
    #[inline]
    pub fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        let mut out = [0f32];
        self.dots(a, a.len(), b, &mut out);
        out[0]
    }
}

/// A float16 bit pattern's value (exact in float32).
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    half::f16::from_bits(h).to_f32()
}

/// Ask for every cache line that y[at..at + k] touches (no effect off x86_64 or out of
/// bounds), including a partial line at either end when the row is not line-aligned.
#[inline(always)]
pub fn prefetch_row<T>(y: &[T], at: usize, k: usize) {
    #[cfg(target_arch = "x86_64")]
    if k > 0 && at + k <= y.len() {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let start = y[at..].as_ptr() as usize;
        let end = start + k * std::mem::size_of::<T>();
        let mut line = start & !63;
        while line < end {
            // SAFETY: prefetch is a hint that never faults; the address lies in a cache line
            // that y[at..at + k] occupies.
            #[allow(unused_unsafe)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(line as *const i8)
            };
            line += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (y, at, k);
}

#[cfg(test)]
mod tests;
