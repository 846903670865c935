//! Fold-in of a short row through the Woodbury identity, for serving's cold-start path.
//!
//! A row with n entries solves (M + Σᵢ (cᵢ − 1) yᵢyᵢᵀ) x = Σᵢ cᵢ yᵢ with M = YᵀY + λI. M does
//! not depend on the row, so its inverse is computed once per model (k x k, f64) and a row
//! costs about n·k² multiply-adds in a dense, vectorisable product, instead of building the
//! k x k system (n·k²/2) and factorising it (k³/6, in dot products too short to vectorise
//! well). With V = [yᵢ √(cᵢ − 1)] and W = M⁻¹U (U = [yᵢ]):
//!   x = M⁻¹b − M⁻¹V (I + VᵀM⁻¹V)⁻¹ VᵀM⁻¹b,   M⁻¹b = W c,
//! where I + VᵀM⁻¹V is n x n and positive definite. Everything is f64, as in the direct solve,
//! so the two agree to f64 accuracy before the one rounding to f32; nothing depends on threads.

use super::fold_in::{cholesky64, cholesky_solve64, dot64};
use super::AlsParams;

/// Rows up to this length go through the low-rank update when the factor count is at least
/// `MIN_FACTORS`: past about k/2 entries building and factorising the system is as cheap.
pub(super) fn use_low_rank(n: usize, k: usize) -> bool {
    k >= MIN_FACTORS && n * 2 <= k
}

const MIN_FACTORS: usize = 16;

/// (G + λI)⁻¹ of a symmetric positive definite G + λI, full (both triangles), row-major;
/// None when it is not positive definite.
pub(super) fn ridge_inverse(g: &[f64], k: usize, reg: f64) -> Option<Vec<f64>> {
    let mut l = g.to_vec();
    for d in 0..k {
        l[d * k + d] += reg;
    }
    cholesky64(&mut l, k).ok()?;
    // Column e of the inverse solves L Lᵀ z = eₑ.
    let mut inv = vec![0f64; k * k];
    let mut z = vec![0f64; k];
    for e in 0..k {
        z.fill(0.0);
        z[e] = 1.0;
        cholesky_solve64(&l, k, &mut z);
        for i in 0..k {
            inv[i * k + e] = z[i];
        }
    }
    // Symmetrise: the two triangles differ in the last bits.
    for a in 0..k {
        for b in a + 1..k {
            let m = 0.5 * (inv[a * k + b] + inv[b * k + a]);
            inv[a * k + b] = m;
            inv[b * k + a] = m;
        }
    }
    Some(inv)
}

/// Solve one row (`cols` sorted and unique, `vals` valid, `use_low_rank` true) into `x`.
/// Err(()) when the small system is not positive definite (it always is for confidences >= 1).
pub(super) fn solve_low_rank(
    params: &AlsParams,
    minv: &[f64],
    other: &[f32],
    cols: &[u32],
    vals: &[f32],
    x: &mut [f32],
) -> std::result::Result<(), ()> {
    let k = x.len();
    let n = cols.len();
    // U (rows yᵢ in f64), c, √(c − 1).
    let padded = n.div_ceil(4) * 4;
    let mut u = vec![0f64; padded * k];
    let mut c = vec![0f64; n];
    let mut e = vec![0f64; n];
    for (j, (&i, &v)) in cols.iter().zip(vals).enumerate() {
        let row = &other[i as usize * k..i as usize * k + k];
        for (d, &f) in u[j * k..j * k + k].iter_mut().zip(row) {
            *d = f as f64;
        }
        c[j] = params.confidence(v) as f64;
        e[j] = (c[j] - 1.0).max(0.0).sqrt();
    }
    // W = U M⁻¹ (row j is M⁻¹ yⱼ, as M⁻¹ is symmetric).
    let mut w = vec![0f64; padded * k];
    times_inverse(minv, &u, &mut w, k);
    // x0 = M⁻¹b = Σ cⱼ wⱼ.
    let mut x0 = vec![0f64; k];
    for j in 0..n {
        for (xd, &wd) in x0.iter_mut().zip(&w[j * k..j * k + k]) {
            *xd += c[j] * wd;
        }
    }
    // P = I + E (U M⁻¹ Uᵀ) E (lower triangle) and r = E U x0.
    let mut p = vec![0f64; n * n];
    let mut r = vec![0f64; n];
    for a in 0..n {
        let ua = &u[a * k..a * k + k];
        for b in 0..=a {
            p[a * n + b] = e[a] * dot64(ua, &w[b * k..b * k + k]) * e[b];
        }
        p[a * n + a] += 1.0;
        r[a] = e[a] * dot64(ua, &x0);
    }
    cholesky64(&mut p, n)?;
    cholesky_solve64(&p, n, &mut r);
    // x = x0 − W E s.
    for j in 0..n {
        let s = e[j] * r[j];
        for (xd, &wd) in x0.iter_mut().zip(&w[j * k..j * k + k]) {
            *xd -= s * wd;
        }
    }
    for (xd, &v) in x.iter_mut().zip(&x0) {
        *xd = v as f32;
    }
    Ok(())
}

/// w = u M (u: rows of length k, M: k x k row-major). Each wⱼ[d] is summed over r in
/// ascending order in every code path, and no multiply-add is fused, so the AVX builds give
/// bitwise the same result as the portable one; only the width of the registers differs.
fn times_inverse(m: &[f64], u: &[f64], w: &mut [f64], k: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            return unsafe { times_inverse_avx512(m, u, w, k) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { times_inverse_avx2(m, u, w, k) };
        }
    }
    times_inverse_body(m, u, w, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn times_inverse_avx512(m: &[f64], u: &[f64], w: &mut [f64], k: usize) {
    times_inverse_body(m, u, w, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn times_inverse_avx2(m: &[f64], u: &[f64], w: &mut [f64], k: usize) {
    times_inverse_body(m, u, w, k)
}

/// Rows of w in fours, columns in sixteens: a 4 x 16 block of sums (eight independent
/// AVX-512 chains, enough to cover the adds' latency) stays in registers while r runs over M's
/// rows, each step a broadcast of uⱼ[r] times sixteen of M's columns. `u` holds a multiple of
/// four rows (the caller pads with zeros).
#[inline(always)]
fn times_inverse_body(m: &[f64], u: &[f64], w: &mut [f64], k: usize) {
    const C: usize = 16;
    for (rows, out) in u.chunks_exact(4 * k).zip(w.chunks_exact_mut(4 * k)) {
        let (u0, rest) = rows.split_at(k);
        let (u1, rest) = rest.split_at(k);
        let (u2, u3) = rest.split_at(k);
        let mut d0 = 0;
        while d0 + C <= k {
            let (mut a0, mut a1, mut a2, mut a3) = ([0f64; C], [0f64; C], [0f64; C], [0f64; C]);
            for (r, mrow) in m.chunks_exact(k).enumerate() {
                let mr: &[f64; C] = mrow[d0..d0 + C].try_into().unwrap();
                let (s0, s1, s2, s3) = (u0[r], u1[r], u2[r], u3[r]);
                for l in 0..C {
                    a0[l] += s0 * mr[l];
                    a1[l] += s1 * mr[l];
                    a2[l] += s2 * mr[l];
                    a3[l] += s3 * mr[l];
                }
            }
            for (q, a) in [a0, a1, a2, a3].iter().enumerate() {
                out[q * k + d0..q * k + d0 + C].copy_from_slice(a);
            }
            d0 += C;
        }
        // Columns past the last full sixteen, summed in the same order.
        for d in d0..k {
            for (q, uq) in [u0, u1, u2, u3].iter().enumerate() {
                let mut acc = 0f64;
                for (r, mrow) in m.chunks_exact(k).enumerate() {
                    acc += uq[r] * mrow[d];
                }
                out[q * k + d] = acc;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        for (k, n) in [(16usize, 4usize), (24, 8), (64, 12), (37, 4)] {
            let m: Vec<f64> = (0..k * k)
                .map(|i| ((i * 7919) % 1013) as f64 / 977.0 - 0.5)
                .collect();
            let u: Vec<f64> = (0..n * k)
                .map(|i| ((i * 104_729) % 991) as f64 / 313.0 - 1.5)
                .collect();
            let mut portable = vec![0f64; n * k];
            times_inverse_body(&m, &u, &mut portable, k);
            let mut dispatched = vec![0f64; n * k];
            times_inverse(&m, &u, &mut dispatched, k);
            assert_eq!(portable, dispatched, "k {k}");
            // And both are u M, summed in ascending r.
            for j in 0..n {
                for d in 0..k {
                    let mut s = 0f64;
                    for r in 0..k {
                        s += u[j * k + r] * m[r * k + d];
                    }
                    assert_eq!(portable[j * k + d], s, "k {k} row {j} col {d}");
                }
            }
        }
    }

    #[test]
    fn the_ridge_inverse_inverts() {
        let k = 20;
        let g: Vec<f64> = (0..k * k)
            .map(|i| {
                let (a, b) = (i / k, i % k);
                1.0 / (1.0 + (a as f64 - b as f64).abs())
            })
            .collect();
        let inv = ridge_inverse(&g, k, 0.5).unwrap();
        for a in 0..k {
            for b in 0..k {
                let mut s = 0f64;
                for r in 0..k {
                    s += (g[a * k + r] + if a == r { 0.5 } else { 0.0 }) * inv[r * k + b];
                }
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((s - want).abs() < 1e-12, "({a}, {b}): {s}");
            }
        }
        assert!(ridge_inverse(&[0.0; 4], 2, 0.0).is_none());
    }
}
