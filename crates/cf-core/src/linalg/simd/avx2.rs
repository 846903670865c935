//! AVX2 + FMA (+ F16C) kernels. Every function requires a CPU with these features (checked by
//! `Isa::detect`) and rows padded to a multiple of 8 floats (checked by the `Isa` wrappers).
//! The callers hold the slices; each pointer walk below stays inside the lengths the
//! wrappers asserted.

use super::Rows;
use std::arch::x86_64::*;

#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    _mm_cvtss_f32(s)
}

/// a · b over `len` floats, `len` a multiple of 8.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot8(a: *const f32, b: *const f32, len: usize) -> f32 {
    let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut c = 0;
    while c + 16 <= len {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a.add(c)), _mm256_loadu_ps(b.add(c)), s0);
        s1 = _mm256_fmadd_ps(
            _mm256_loadu_ps(a.add(c + 8)),
            _mm256_loadu_ps(b.add(c + 8)),
            s1,
        );
        c += 16;
    }
    if c < len {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a.add(c)), _mm256_loadu_ps(b.add(c)), s0);
    }
    hsum(_mm256_add_ps(s0, s1))
}

#[target_feature(enable = "avx2,fma")]
pub unsafe fn dots(rows: &[f32], kp: usize, v: &[f32], out: &mut [f32]) {
    let n = out.len();
    let (r, vp, o) = (rows.as_ptr(), v.as_ptr(), out.as_mut_ptr());
    let mut j = 0;
    // Four rows at a time, two partial sums each: eight independent FMA chains hide the
    // FMA latency, and one transposing reduction serves all four rows.
    while j + 4 <= n {
        let p0 = r.add(j * kp);
        let (p1, p2, p3) = (p0.add(kp), p0.add(2 * kp), p0.add(3 * kp));
        let z = _mm256_setzero_ps();
        let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
        let (mut b0, mut b1, mut b2, mut b3) = (z, z, z, z);
        let mut c = 0;
        while c + 16 <= kp {
            let (v0, v1) = (_mm256_loadu_ps(vp.add(c)), _mm256_loadu_ps(vp.add(c + 8)));
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p0.add(c)), v0, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(p1.add(c)), v0, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(p2.add(c)), v0, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(p3.add(c)), v0, a3);
            b0 = _mm256_fmadd_ps(_mm256_loadu_ps(p0.add(c + 8)), v1, b0);
            b1 = _mm256_fmadd_ps(_mm256_loadu_ps(p1.add(c + 8)), v1, b1);
            b2 = _mm256_fmadd_ps(_mm256_loadu_ps(p2.add(c + 8)), v1, b2);
            b3 = _mm256_fmadd_ps(_mm256_loadu_ps(p3.add(c + 8)), v1, b3);
            c += 16;
        }
        if c < kp {
            let v0 = _mm256_loadu_ps(vp.add(c));
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(p0.add(c)), v0, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(p1.add(c)), v0, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(p2.add(c)), v0, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(p3.add(c)), v0, a3);
        }
        let t0 = _mm256_hadd_ps(_mm256_add_ps(a0, b0), _mm256_add_ps(a1, b1));
        let t1 = _mm256_hadd_ps(_mm256_add_ps(a2, b2), _mm256_add_ps(a3, b3));
        let t2 = _mm256_hadd_ps(t0, t1);
        let q = _mm_add_ps(_mm256_castps256_ps128(t2), _mm256_extractf128_ps(t2, 1));
        _mm_storeu_ps(o.add(j), q);
        j += 4;
    }
    while j < n {
        *o.add(j) = dot8(r.add(j * kp), vp, kp);
        j += 1;
    }
}

/// acc[0..8W] += Σ_j coef[j] · rows[j][0..8W], where `rows` and `acc` already point at the
/// block. W accumulators stay in registers across all rows.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn accumulate_block<const W: usize>(
    rows: *const f32,
    kp: usize,
    coef: &[f32],
    acc: *mut f32,
) {
    let mut a = [_mm256_setzero_ps(); W];
    for (t, at) in a.iter_mut().enumerate() {
        *at = _mm256_loadu_ps(acc.add(8 * t));
    }
    for (j, &c) in coef.iter().enumerate() {
        let cv = _mm256_set1_ps(c);
        let p = rows.add(j * kp);
        for (t, at) in a.iter_mut().enumerate() {
            *at = _mm256_fmadd_ps(cv, _mm256_loadu_ps(p.add(8 * t)), *at);
        }
    }
    for (t, at) in a.iter().enumerate() {
        _mm256_storeu_ps(acc.add(8 * t), *at);
    }
}

#[target_feature(enable = "avx2,fma")]
pub unsafe fn accumulate(rows: &[f32], kp: usize, coef: &[f32], acc: &mut [f32]) {
    let (r, a) = (rows.as_ptr(), acc.as_mut_ptr());
    let mut c = 0;
    // Blocks of 64 floats: eight accumulators, the most that stay in the 16 registers
    // next to the row loads.
    while c < kp {
        let (rp, ap) = (r.add(c), a.add(c));
        match (kp - c) / 8 {
            1 => accumulate_block::<1>(rp, kp, coef, ap),
            2 => accumulate_block::<2>(rp, kp, coef, ap),
            3 => accumulate_block::<3>(rp, kp, coef, ap),
            4 => accumulate_block::<4>(rp, kp, coef, ap),
            5 => accumulate_block::<5>(rp, kp, coef, ap),
            6 => accumulate_block::<6>(rp, kp, coef, ap),
            7 => accumulate_block::<7>(rp, kp, coef, ap),
            _ => accumulate_block::<8>(rp, kp, coef, ap),
        }
        c += 64;
    }
}

/// a[a0..a0+4][cb..cb+8B] ±= Σ_j z[j][a0+t] z[j][cb..cb+8B] for the `n` rows of z
/// (subtracting when SUB).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn syrk_tile<const B: usize, const SUB: bool>(
    z: *const f32,
    n: usize,
    kp: usize,
    a: *mut f32,
    a0: usize,
    cb: usize,
) {
    let mut acc = [[_mm256_setzero_ps(); B]; 4];
    for (t, row) in acc.iter_mut().enumerate() {
        for (b, v) in row.iter_mut().enumerate() {
            *v = _mm256_loadu_ps(a.add((a0 + t) * kp + cb + 8 * b));
        }
    }
    for j in 0..n {
        let zr = z.add(j * kp);
        let mut col = [_mm256_setzero_ps(); B];
        for (b, v) in col.iter_mut().enumerate() {
            *v = _mm256_loadu_ps(zr.add(cb + 8 * b));
        }
        for (t, row) in acc.iter_mut().enumerate() {
            let s = _mm256_broadcast_ss(&*zr.add(a0 + t));
            for (b, v) in row.iter_mut().enumerate() {
                *v = if SUB {
                    _mm256_fnmadd_ps(s, col[b], *v)
                } else {
                    _mm256_fmadd_ps(s, col[b], *v)
                };
            }
        }
    }
    for (t, row) in acc.iter().enumerate() {
        for (b, v) in row.iter().enumerate() {
            _mm256_storeu_ps(a.add((a0 + t) * kp + cb + 8 * b), *v);
        }
    }
}

/// Every tile of the upper triangle of a[from..][from..] (from a multiple of 4): ±= zᵀz
/// over the `n` rows of z, reading columns >= from only.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn syrk_tiles<const SUB: bool>(
    z: *const f32,
    n: usize,
    kp: usize,
    a: *mut f32,
    from: usize,
) {
    for a0 in (from..kp).step_by(4) {
        let mut cb = a0 & !7;
        while cb < kp {
            if cb + 16 <= kp {
                syrk_tile::<2, SUB>(z, n, kp, a, a0, cb);
                cb += 16;
            } else {
                syrk_tile::<1, SUB>(z, n, kp, a, a0, cb);
                cb += 8;
            }
        }
    }
}

/// Rows of z per pass over the tiles: 64 rows of up to 128 floats stay in L1/L2 while
/// every tile reads them.
const SYRK_CHUNK: usize = 64;

#[target_feature(enable = "avx2,fma")]
pub unsafe fn syrk_upper(z: &[f32], n: usize, kp: usize, a: &mut [f32]) {
    // Fills the upper triangle (row-major): tiles of 4 rows by 16 columns, from the
    // diagonal's 8-aligned column to the end. A symmetric matrix's upper triangle is its
    // lower triangle transposed, which is what `cholesky` below reads.
    let ap = a.as_mut_ptr();
    let mut start = 0;
    while start < n {
        let rows = (n - start).min(SYRK_CHUNK);
        let zp = z.as_ptr().add(start * kp);
        syrk_tiles::<false>(zp, rows, kp, ap, 0);
        start += rows;
    }
}

/// a[from..kp] += s · b[from..kp], `from` a multiple of 8.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn axpy_tail(s: f32, b: *const f32, a: *mut f32, from: usize, kp: usize) {
    let sv = _mm256_set1_ps(s);
    let mut c = from;
    while c < kp {
        _mm256_storeu_ps(
            a.add(c),
            _mm256_fmadd_ps(sv, _mm256_loadu_ps(b.add(c)), _mm256_loadu_ps(a.add(c))),
        );
        c += 8;
    }
}

/// Blocked right-looking Cholesky on the upper triangle, A = Uᵀ U. Each panel of 8 rows is
/// factored with contiguous row axpys, then the trailing matrix loses the panel's rank-8
/// product through the syrk tiles (register-blocked, instead of one short axpy per pair of
/// rows). Entries left of the diagonal are scratch: they may change, nothing reads them.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn cholesky(a: &mut [f32], kp: usize) -> bool {
    let p = a.as_mut_ptr();
    for ib in (0..kp).step_by(8) {
        for i in ib..ib + 8 {
            let d = *p.add(i * kp + i);
            if !(d > 0.0) || !d.is_finite() {
                return false;
            }
            let d = d.sqrt();
            let row = p.add(i * kp);
            let iv = _mm256_set1_ps(1.0 / d);
            let mut c = ib;
            while c < kp {
                _mm256_storeu_ps(row.add(c), _mm256_mul_ps(iv, _mm256_loadu_ps(row.add(c))));
                c += 8;
            }
            *row.add(i) = d;
            for r in i + 1..ib + 8 {
                let u = *row.add(r);
                if u != 0.0 {
                    axpy_tail(-u, row, p.add(r * kp), ib, kp);
                }
            }
        }
        if ib + 8 < kp {
            syrk_tiles::<true>(p.add(ib * kp), 8, kp, p, ib + 8);
        }
    }
    true
}

/// Solve Uᵀ U x = b in place with the factor from `cholesky`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn cholesky_solve(l: &[f32], kp: usize, b: &mut [f32]) {
    let (u, x) = (l.as_ptr(), b.as_mut_ptr());
    // Uᵀ y = b: y_i = b_i / U_ii, then the rest of b loses y_i times row i of U (a vector
    // axpy from the diagonal's 8-aligned column; the entries it touches left of i+1 are
    // restored from `keep`, since they already hold finished y values).
    let mut keep = [0f32; 8];
    for i in 0..kp {
        let yi = *x.add(i) / *u.add(i * kp + i);
        *x.add(i) = yi;
        let from = i & !7;
        std::ptr::copy_nonoverlapping(x.add(from), keep.as_mut_ptr(), 8);
        axpy_tail(-yi, u.add(i * kp), x, from, kp);
        std::ptr::copy_nonoverlapping(keep.as_ptr(), x.add(from), i + 1 - from);
    }
    // U x = y, backwards; each step is a dot with the row's right part.
    for i in (0..kp).rev() {
        let mut s = *x.add(i);
        let mut c = i + 1;
        while c < kp && c % 8 != 0 {
            s -= *u.add(i * kp + c) * *x.add(c);
            c += 1;
        }
        if c < kp {
            s -= dot8(u.add(i * kp + c), x.add(c), kp - c);
        }
        *x.add(i) = s / *u.add(i * kp + i);
    }
}

/// out[j] = y[cols[j]] (k floats, k a multiple of 8; rows at stride kp), prefetching the
/// row 16 entries ahead (measured best of 8/16/32 on an ML-20M-shaped matrix). Vector moves
/// instead of a memcpy call per 256-byte row.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn gather(y: &[f32], k: usize, cols: &[u32], kp: usize, out: &mut [f32]) {
    const AHEAD: usize = 16;
    let (src, dst) = (y.as_ptr(), out.as_mut_ptr());
    for (j, &c) in cols.iter().enumerate() {
        if let Some(&next) = cols.get(j + AHEAD) {
            super::prefetch_row(y, next as usize * k, k);
        }
        let (s, d) = (src.add(c as usize * k), dst.add(j * kp));
        let mut t = 0;
        while t < k {
            _mm256_storeu_ps(d.add(t), _mm256_loadu_ps(s.add(t)));
            t += 8;
        }
    }
}

/// `gather`, and dots[j] = out[j] · v while each row is in registers: the first CG pass's
/// dot products ride on the loads the gather has to make anyway.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn gather_dots(
    y: &[f32],
    k: usize,
    cols: &[u32],
    kp: usize,
    out: &mut [f32],
    v: &[f32],
    dots: &mut [f32],
) {
    const AHEAD: usize = 16;
    let (src, dst, vp) = (y.as_ptr(), out.as_mut_ptr(), v.as_ptr());
    for (j, &c) in cols.iter().enumerate() {
        if let Some(&next) = cols.get(j + AHEAD) {
            super::prefetch_row(y, next as usize * k, k);
        }
        let (s, d) = (src.add(c as usize * k), dst.add(j * kp));
        let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut t = 0;
        while t + 16 <= k {
            let (a, b) = (_mm256_loadu_ps(s.add(t)), _mm256_loadu_ps(s.add(t + 8)));
            _mm256_storeu_ps(d.add(t), a);
            _mm256_storeu_ps(d.add(t + 8), b);
            s0 = _mm256_fmadd_ps(a, _mm256_loadu_ps(vp.add(t)), s0);
            s1 = _mm256_fmadd_ps(b, _mm256_loadu_ps(vp.add(t + 8)), s1);
            t += 16;
        }
        if t < k {
            let a = _mm256_loadu_ps(s.add(t));
            _mm256_storeu_ps(d.add(t), a);
            s0 = _mm256_fmadd_ps(a, _mm256_loadu_ps(vp.add(t)), s0);
        }
        *dots.get_unchecked_mut(j) = hsum(_mm256_add_ps(s0, s1));
    }
}

/// `gather` from a table of float16 bit patterns (k a multiple of 8): each row widened to
/// float32 in registers (F16C) on its way into `out`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn gather16(y: &[u16], k: usize, cols: &[u32], kp: usize, out: &mut [f32]) {
    const AHEAD: usize = 16;
    let (src, dst) = (y.as_ptr(), out.as_mut_ptr());
    for (j, &c) in cols.iter().enumerate() {
        if let Some(&next) = cols.get(j + AHEAD) {
            super::prefetch_row(y, next as usize * k, k);
        }
        let (s, d) = (src.add(c as usize * k), dst.add(j * kp));
        let mut t = 0;
        while t < k {
            let a = _mm256_cvtph_ps(_mm_loadu_si128(s.add(t).cast()));
            _mm256_storeu_ps(d.add(t), a);
            t += 8;
        }
    }
}

/// `gather_dots` from a float16 table, as `gather16` reads it.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn gather_dots16(
    y: &[u16],
    k: usize,
    cols: &[u32],
    kp: usize,
    out: &mut [f32],
    v: &[f32],
    dots: &mut [f32],
) {
    const AHEAD: usize = 16;
    let (src, dst, vp) = (y.as_ptr(), out.as_mut_ptr(), v.as_ptr());
    for (j, &c) in cols.iter().enumerate() {
        if let Some(&next) = cols.get(j + AHEAD) {
            super::prefetch_row(y, next as usize * k, k);
        }
        let (s, d) = (src.add(c as usize * k), dst.add(j * kp));
        let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut t = 0;
        while t + 16 <= k {
            let a = _mm256_cvtph_ps(_mm_loadu_si128(s.add(t).cast()));
            let b = _mm256_cvtph_ps(_mm_loadu_si128(s.add(t + 8).cast()));
            _mm256_storeu_ps(d.add(t), a);
            _mm256_storeu_ps(d.add(t + 8), b);
            s0 = _mm256_fmadd_ps(a, _mm256_loadu_ps(vp.add(t)), s0);
            s1 = _mm256_fmadd_ps(b, _mm256_loadu_ps(vp.add(t + 8)), s1);
            t += 16;
        }
        if t < k {
            let a = _mm256_cvtph_ps(_mm_loadu_si128(s.add(t).cast()));
            _mm256_storeu_ps(d.add(t), a);
            s0 = _mm256_fmadd_ps(a, _mm256_loadu_ps(vp.add(t)), s0);
        }
        *dots.get_unchecked_mut(j) = hsum(_mm256_add_ps(s0, s1));
    }
}

/// Eight values of a row table at element `at`: float32, or float16 widened (F16C).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load8<const HALF: bool>(base: *const u8, at: usize) -> __m256 {
    if HALF {
        _mm256_cvtph_ps(_mm_loadu_si128(base.add(2 * at).cast()))
    } else {
        _mm256_loadu_ps(base.add(4 * at).cast())
    }
}

/// Row `at..at + len` of a table (as `load8` reads it) · b, `len` a multiple of 8.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot8_rows<const HALF: bool>(
    base: *const u8,
    at: usize,
    b: *const f32,
    len: usize,
) -> f32 {
    let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut c = 0;
    while c + 16 <= len {
        s0 = _mm256_fmadd_ps(load8::<HALF>(base, at + c), _mm256_loadu_ps(b.add(c)), s0);
        s1 = _mm256_fmadd_ps(
            load8::<HALF>(base, at + c + 8),
            _mm256_loadu_ps(b.add(c + 8)),
            s1,
        );
        c += 16;
    }
    if c < len {
        s0 = _mm256_fmadd_ps(load8::<HALF>(base, at + c), _mm256_loadu_ps(b.add(c)), s0);
    }
    hsum(_mm256_add_ps(s0, s1))
}

/// The table's base pointer, and whether it holds float16.
fn table(ys: Rows) -> (*const u8, bool) {
    match ys {
        Rows::F32(y) => (y.as_ptr().cast(), false),
        Rows::F16(y) => (y.as_ptr().cast(), true),
    }
}

/// The dot products of `scatter_pass` alone: dots[e] = ys[of[e]] · v[locals[e]], or 0
/// for entries of inactive rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn scatter_dots(
    ys: Rows,
    kp: usize,
    of: &[u32],
    locals: &[u16],
    v: &[f32],
    active: &[bool],
    dots: &mut [f32],
) {
    match table(ys) {
        (y, true) => scatter_dots_in::<true>(y, kp, of, locals, v, active, dots),
        (y, false) => scatter_dots_in::<false>(y, kp, of, locals, v, active, dots),
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scatter_dots_in<const HALF: bool>(
    y: *const u8,
    kp: usize,
    of: &[u32],
    locals: &[u16],
    v: &[f32],
    active: &[bool],
    dots: &mut [f32],
) {
    let vb = v.as_ptr();
    for (e, &l) in locals.iter().enumerate() {
        let l = l as usize;
        dots[e] = if active[l] {
            dot8_rows::<HALF>(y, of[e] as usize * kp, vb.add(l * kp), kp)
        } else {
            0.0
        };
    }
}

/// One lockstep pass over a batch of entries (see `Isa::scatter_pass`).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn scatter_pass(
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
    match table(ys) {
        (y, true) => {
            scatter_pass_in::<true>(y, kp, of, locals, confs, v, out, residual, active, coef)
        }
        (y, false) => {
            scatter_pass_in::<false>(y, kp, of, locals, confs, v, out, residual, active, coef)
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scatter_pass_in<const HALF: bool>(
    y: *const u8,
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
    let (vb, ob) = (v.as_ptr(), out.as_mut_ptr());
    for (e, (&l, &c)) in locals.iter().zip(confs).enumerate() {
        let l = l as usize;
        coef[e] = if active[l] {
            let s = dot8_rows::<HALF>(y, of[e] as usize * kp, vb.add(l * kp), kp);
            if residual {
                c - (c - 1.0) * s
            } else {
                (c - 1.0) * s
            }
        } else {
            0.0
        };
    }
    for (e, &l) in locals.iter().enumerate() {
        let l = l as usize;
        if !active[l] {
            continue;
        }
        let (at, op) = (of[e] as usize * kp, ob.add(l * kp));
        let cv = _mm256_set1_ps(coef[e]);
        let mut t = 0;
        while t < kp {
            _mm256_storeu_ps(
                op.add(t),
                _mm256_fmadd_ps(cv, load8::<HALF>(y, at + t), _mm256_loadu_ps(op.add(t))),
            );
            t += 8;
        }
    }
}
