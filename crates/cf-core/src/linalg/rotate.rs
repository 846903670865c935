//! Orthogonal change of basis for factor matrices.
//!
//! ALS predictions x·y and the regularizer |x|² are unchanged when both factor matrices are
//! multiplied by the same orthogonal Q. Rotating into the eigenbasis of YᵀY makes that k x k
//! matrix diagonal, so the conjugate-gradient passes of a half-step multiply by a diagonal
//! (k flops) instead of a dense matrix (k² flops) every pass, and the rotation itself runs as
//! matrix-matrix products.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par, Side};
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Rows per rotation block. Blocks are fixed by the data, not by the thread count, and each
/// is one sequential product, so the rotated factors are the same for any number of threads.
const BLOCK_ROWS: usize = 256;

/// G = Q diag(values) Qᵀ with Q orthogonal (row-major k x k, column j the j-th eigenvector).
#[derive(Clone, Debug)]
pub struct Eigenbasis {
    pub q: Vec<f32>,
    pub values: Vec<f32>,
}

/// Eigendecomposition of a symmetric k x k matrix (row-major), in float64.
pub fn eigenbasis(g: &[f64], k: usize) -> Result<Eigenbasis> {
    let m = MatRef::from_row_major_slice(g, k, k);
    let evd = m.self_adjoint_eigen(Side::Lower).map_err(|e| {
        Error::Numeric(format!(
            "eigendecomposition of the {k} x {k} Gram matrix failed: {e:?}"
        ))
    })?;
    let (u, s) = (evd.U(), evd.S());
    let mut q = vec![0f32; k * k];
    for r in 0..k {
        for c in 0..k {
            q[r * k + c] = u[(r, c)] as f32;
        }
    }
    let values = (0..k).map(|j| s[j] as f32).collect();
    Ok(Eigenbasis { q, values })
}

/// Every row f of `rows` (row-major, k columns) becomes f·Q in place.
pub fn rotate_rows(rows: &mut [f32], k: usize, q: &[f32]) {
    if k == 0 {
        return;
    }
    let qm = MatRef::from_row_major_slice(q, k, k);
    rows.par_chunks_mut(BLOCK_ROWS * k).for_each(|block| {
        let n = block.len() / k;
        let src = block.to_vec();
        let lhs = MatRef::from_row_major_slice(&src, n, k);
        let dst = MatMut::from_row_major_slice_mut(block, n, k);
        matmul(dst, Accum::Replace, lhs, qm, 1.0f32, Par::Seq);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::gram_f64;
    use crate::rng::SplitMix64;

    fn random(n: usize, k: usize, seed: u64) -> Vec<f32> {
        let mut g = SplitMix64::new(seed);
        (0..n * k).map(|_| g.next_f32() - 0.5).collect()
    }

    #[test]
    fn rotated_gram_is_the_diagonal_of_eigenvalues_and_dots_are_kept() {
        let (n, k) = (1000, 24);
        let f = random(n, k, 1);
        let e = eigenbasis(&gram_f64(&f, k), k).unwrap();
        let mut r = f.clone();
        rotate_rows(&mut r, k, &e.q);
        let g = gram_f64(&r, k);
        let scale = e.values.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
        for a in 0..k {
            for b in 0..k {
                let want = if a == b { e.values[a] as f64 } else { 0.0 };
                approx::assert_abs_diff_eq!(g[a * k + b], want, epsilon = 1e-4 * scale);
            }
        }
        // Inner products between rows survive the rotation.
        for (i, j) in [(0, 1), (5, 900), (17, 17)] {
            let d0: f64 = (0..k)
                .map(|c| f[i * k + c] as f64 * f[j * k + c] as f64)
                .sum();
            let d1: f64 = (0..k)
                .map(|c| r[i * k + c] as f64 * r[j * k + c] as f64)
                .sum();
            approx::assert_abs_diff_eq!(d0, d1, epsilon = 1e-5);
        }
    }

    #[test]
    fn rotation_is_independent_of_the_thread_count() {
        let (n, k) = (3000, 64);
        let f = random(n, k, 2);
        let e = eigenbasis(&gram_f64(&f, k), k).unwrap();
        let run = |threads| {
            let mut r = f.clone();
            crate::pool::pool(threads)
                .unwrap()
                .install(|| rotate_rows(&mut r, k, &e.q));
            r
        };
        assert_eq!(run(1), run(2));
    }
}
