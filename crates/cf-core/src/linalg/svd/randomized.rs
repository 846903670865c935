//! Randomized SVD (Halko, Martinsson & Tropp 2011, algorithms 4.4 and 5.1): a Gaussian sketch
//! of k + oversampling columns, power iterations with the basis re-orthonormalised after every
//! product (without it the sketch collapses onto the top singular vector in floating point),
//! then the exact SVD of the small projected matrix. Approximate: the error of σ_k shrinks
//! with (σ_{l+1}/σ_k)^(2q+1), so a flat spectrum needs more power iterations.

use super::ops::{nn, normal, Dense};
use super::orth::{orthonormalize, Fresh};
use super::{Operator, SvdOptions};
use crate::rng::SplitMix64;

const STREAM_SKETCH: u64 = 0x5eed_0002;

pub struct Randomized {
    pub values: Vec<f64>,
    /// Column-side vectors, row-major cols x k.
    pub v: Dense,
    /// Row-side vectors, row-major rows x k.
    pub u: Dense,
    pub products: usize,
}

pub fn run(op: &Operator, o: &SvdOptions) -> Randomized {
    let (m, n, k) = (op.rows(), op.cols(), o.k);
    let l = (k + o.oversampling).min(m.min(n));
    let mut fresh = Fresh {
        seed: o.seed ^ STREAM_SKETCH,
        count: 0,
    };
    let mut omega = Dense::zeros(n, l);
    for (r, row) in omega.data.chunks_exact_mut(l).enumerate() {
        let mut g = SplitMix64::derive(o.seed, STREAM_SKETCH, r as u64);
        row.iter_mut().for_each(|x| *x = normal(&mut g));
    }
    let mut y = Dense::zeros(m, l);
    op.apply(&omega, 0, l, &mut y, 0);
    orthonormalize(None, 0, &mut y, &mut fresh);
    let mut z = omega;
    for _ in 0..o.power_iterations {
        op.apply_t(&y, 0, l, &mut z, 0);
        orthonormalize(None, 0, &mut z, &mut fresh);
        op.apply(&z, 0, l, &mut y, 0);
        orthonormalize(None, 0, &mut y, &mut fresh);
    }
    // Bᵀ = A_cᵀ Y (n x l); Bᵀ = W Σ Xᵀ gives A_c ≈ Y B = (Y X) Σ Wᵀ.
    op.apply_t(&y, 0, l, &mut z, 0);
    let svd = z
        .cols(0, l)
        .thin_svd()
        .expect("the SVD of a finite matrix converges");
    let s = svd.S().column_vector();
    let mut order: Vec<usize> = (0..l).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
    let values: Vec<f64> = order[..k].iter().map(|&i| s[i]).collect();
    let mut v = Dense::zeros(n, k);
    let mut x = faer::Mat::<f64>::zeros(l, k);
    for (c, &i) in order[..k].iter().enumerate() {
        for r in 0..n {
            v.data[r * k + c] = svd.U()[(r, i)];
        }
        for r in 0..l {
            x[(r, c)] = svd.V()[(r, i)];
        }
    }
    let mut u = Dense::zeros(m, k);
    nn(&mut u, 0, y.cols(0, l), x.as_ref(), false);
    Randomized {
        values,
        v,
        u,
        products: (2 * o.power_iterations + 2) * l,
    }
}
