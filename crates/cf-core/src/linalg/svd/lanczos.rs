//! Block Lanczos with full reorthogonalisation and thick restarts on M = A_cᵀA_c (the Gram
//! operator of the operator's column side).
//!
//! The basis grows a block at a time: the next block is M times the last one, projected out
//! of the whole basis (twice) and orthonormalised. When the basis is full, Rayleigh-Ritz on
//! the projected matrix Qᵀ(MQ) gives Ritz pairs; the `keep` best are kept as the new start of
//! the basis together with their products (MY = (MQ)S, so no product is recomputed), and the
//! block that would have come next (M Q_last projected out of the old basis, which is where
//! every Ritz residual lies) continues the expansion. This is the block form of Krylov-Schur:
//! the projected matrix is not tridiagonal after a restart, so it is formed in full each time
//! (j² n flops, small beside the sparse products).

use faer::{Mat, Side};

use super::ops::{nn, normal, tn, Dense};
use super::orth::{orthonormalize, Fresh};
use super::{Operator, SvdOptions};
use crate::error::{Error, Result};
use crate::rng::SplitMix64;

const STREAM_START: u64 = 0x5eed_0001;

pub struct Lanczos {
    /// Eigenvalues of M (σ²), largest first, k of them.
    pub values: Vec<f64>,
    /// Their eigenvectors, row-major n x k.
    pub vectors: Dense,
    pub restarts: usize,
    pub products: usize,
}

/// Block width, basis size and vectors kept at a restart for rank `k` on a side of `n`.
/// Blocks of k/8 (4..=32) vectors: wide enough that one pass over the matrix serves several
/// products, narrow enough that the block's rows stay in L2 during the gather (and the Krylov
/// space grows in small steps, which wastes fewer products). A basis of 3k + 2b with k + b
/// kept: on the ML-20M shape at k = 64 this took 344 products against 560 for 2k + 2b and
/// 16-wide blocks (examples/svd_speed.rs).
pub fn shape(k: usize, n: usize, block: usize) -> (usize, usize, usize) {
    let b = if block > 0 {
        block
    } else {
        (k / 8).clamp(4, 32)
    }
    .min(n);
    let maxdim = ((3 * k + 2 * b).div_ceil(b) * b).min(n);
    let keep = (k + b).min(maxdim.saturating_sub(b)).max(k);
    (b, maxdim, keep)
}

pub fn run(op: &Operator, o: &SvdOptions) -> Result<Lanczos> {
    let (n, k) = (op.cols(), o.k);
    let (b, maxdim, keep) = shape(k, n, o.block);
    let mut q = Dense::zeros(n, maxdim);
    let mut mq = Dense::zeros(n, maxdim);
    let mut fresh = Fresh {
        seed: o.seed,
        count: 0,
    };

    let mut w = Dense::zeros(n, b);
    for (r, row) in w.data.chunks_exact_mut(b).enumerate() {
        let mut g = SplitMix64::derive(o.seed, STREAM_START, r as u64);
        row.iter_mut().for_each(|x| *x = normal(&mut g));
    }
    orthonormalize(None, 0, &mut w, &mut fresh);
    q.copy_cols(0, &w, 0, b);
    let (mut j, mut done, mut last, mut last_w) = (b, 0usize, 0usize, b);
    let (mut restarts, mut products) = (0usize, 0usize);

    loop {
        while done < j {
            let bb = (j - done).min(b);
            op.gram(&q, done, bb, &mut mq, done);
            products += bb;
            done += bb;
        }
        // The next block: M times the last one, out of the basis. Past the side's dimension
        // there is nothing left to add (the basis is the whole space).
        let width = last_w.min(n - j);
        let next = (width > 0).then(|| {
            let mut w = Dense::zeros(n, width);
            w.copy_cols(0, &mq, last, width);
            orthonormalize(Some(&q), j, &mut w, &mut fresh);
            w
        });
        if let Some(w) = &next {
            if j + width <= maxdim {
                q.copy_cols(j, w, 0, width);
                (last, last_w) = (j, width);
                j += width;
                continue;
            }
        }

        // Rayleigh-Ritz on the basis.
        let mut t = tn(q.cols(0, j), mq.cols(0, j));
        for a in 0..j {
            for c in 0..a {
                let s = 0.5 * (t[(a, c)] + t[(c, a)]);
                t[(a, c)] = s;
                t[(c, a)] = s;
            }
        }
        let evd = t.as_ref().self_adjoint_eigen(Side::Lower).map_err(|e| {
            Error::Numeric(format!(
                "eigendecomposition of the {j} x {j} projected matrix failed: {e:?}"
            ))
        })?;
        let mut order: Vec<usize> = (0..j).collect();
        let s_diag = evd.S().column_vector();
        order.sort_by(|&x, &z| s_diag[z].total_cmp(&s_diag[x]).then(x.cmp(&z)));
        let nk = keep.min(j);
        let theta: Vec<f64> = order[..nk].iter().map(|&i| s_diag[i]).collect();
        let mut s = Mat::<f64>::zeros(j, nk);
        for (c, &i) in order[..nk].iter().enumerate() {
            for r in 0..j {
                s[(r, c)] = evd.U()[(r, i)];
            }
        }
        let mut ritz = Dense::zeros(n, nk);
        nn(&mut ritz, 0, q.cols(0, j), s.as_ref(), false);
        let mut mritz = Dense::zeros(n, nk);
        nn(&mut mritz, 0, mq.cols(0, j), s.as_ref(), false);

        let res = residuals(&ritz, &mritz, &theta[..k]);
        let scale = theta[0].max(0.0);
        let converged = scale == 0.0 || res.iter().all(|&r| r <= o.tolerance * scale);
        if converged || next.is_none() {
            let mut vectors = Dense::zeros(n, k);
            vectors.copy_cols(0, &ritz, 0, k);
            return Ok(Lanczos {
                values: theta[..k].to_vec(),
                vectors,
                restarts,
                products,
            });
        }
        if restarts >= o.max_restarts {
            let good = res
                .iter()
                .take_while(|&&r| r <= o.tolerance * scale)
                .count();
            return Err(Error::Numeric(format!(
                "truncated SVD: {good} of {k} singular values converged to tolerance {} after {restarts} restarts (max_restarts); raise max_restarts or tolerance, or use the randomized method",
                crate::args::show(o.tolerance)
            )));
        }
        restarts += 1;
        let w = next.expect("checked above");
        q.copy_cols(0, &ritz, 0, nk);
        mq.copy_cols(0, &mritz, 0, nk);
        q.copy_cols(nk, &w, 0, width);
        done = nk;
        (last, last_w) = (nk, width);
        j = nk + width;
    }
}

/// ‖M y_t - θ_t y_t‖ for the first θ.len() columns, summed per chunk in order.
fn residuals(y: &Dense, my: &Dense, theta: &[f64]) -> Vec<f64> {
    use rayon::prelude::*;
    let (ld, k) = (y.ld, theta.len());
    let parts: Vec<Vec<f64>> = y
        .data
        .par_chunks(ld * super::ops::CHUNK)
        .zip(my.data.par_chunks(ld * super::ops::CHUNK))
        .map(|(a, b)| {
            let mut s = vec![0f64; k];
            for (ra, rb) in a.chunks_exact(ld).zip(b.chunks_exact(ld)) {
                for t in 0..k {
                    let d = rb[t] - theta[t] * ra[t];
                    s[t] += d * d;
                }
            }
            s
        })
        .collect();
    let mut out = vec![0f64; k];
    for p in &parts {
        for (o, v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
    out.into_iter().map(f64::sqrt).collect()
}
