//! Randomized SVD (Halko, Martinsson & Tropp 2011, algorithms 4.4 and 5.1) on the row space:
//! a Gaussian sketch Ω of k + oversampling columns, Z = orth((A_cᵀA_c)^(q+1) Ω) with the
//! basis re-orthonormalised after every Gram pass (without it the sketch collapses onto the
//! top singular vector in floating point), then B = A_c Z and the exact SVD of that thin
//! matrix: A_c ≈ B Zᵀ = U Σ (Z V_B)ᵀ. The subspace is the one scikit-learn's randomized_svd
//! reaches with n_iter = q (its range (A Aᵀ)^q A Ω has row space (AᵀA)^(q+1) Ω), but every
//! pass is the fused one-read Gram product. Approximate: the error of σ_k shrinks with
//! (σ_{l+1}/σ_k)^(2q+1), so a flat spectrum needs more power iterations.

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
    let mut z = Dense::zeros(n, l);
    for (r, row) in z.data.chunks_exact_mut(l).enumerate() {
        let mut g = SplitMix64::derive(o.seed, STREAM_SKETCH, r as u64);
        row.iter_mut().for_each(|x| *x = normal(&mut g));
    }
    let mut w = Dense::zeros(n, l);
    for _ in 0..=o.power_iterations {
        op.gram(&z, 0, l, &mut w, 0);
        orthonormalize(None, 0, &mut w, &mut fresh);
        std::mem::swap(&mut z, &mut w);
    }
    let mut b = Dense::zeros(m, l);
    op.apply(&z, 0, l, &mut b, 0);
    let svd = b
        .cols(0, l)
        .thin_svd()
        .expect("the SVD of a finite matrix converges");
    let s = svd.S().column_vector();
    let mut order: Vec<usize> = (0..l).collect();
    order.sort_by(|&a, &c| s[c].total_cmp(&s[a]).then(a.cmp(&c)));
    let values: Vec<f64> = order[..k].iter().map(|&i| s[i]).collect();
    let mut u = Dense::zeros(m, k);
    let mut vb = faer::Mat::<f64>::zeros(l, k);
    for (c, &i) in order[..k].iter().enumerate() {
        for r in 0..m {
            u.data[r * k + c] = svd.U()[(r, i)];
        }
        for r in 0..l {
            vb[(r, c)] = svd.V()[(r, i)];
        }
    }
    let mut v = Dense::zeros(n, k);
    nn(&mut v, 0, z.cols(0, l), vb.as_ref(), false);
    Randomized {
        values,
        v,
        u,
        products: (o.power_iterations + 1) * l,
    }
}
