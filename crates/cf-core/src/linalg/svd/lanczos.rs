//! Block Lanczos with full reorthogonalisation and thick restarts on M = A_cᵀA_c (the Gram
//! operator of the operator's column side).
//!
//! The basis Q grows a block at a time: the next block is M times the last one, projected out
//! of the whole basis (twice) and orthonormalised. The projected matrix T = QᵀMQ grows with
//! it (the new block's columns only), and after every block Rayleigh-Ritz on T says how far
//! each wanted Ritz pair is: since (I - QQᵀ)MQ = W e_lastᵀ, with W the next block before
//! normalisation, the residual of the Ritz vector Qs is ‖W s_last‖ = √(s_lastᵀ WᵀW s_last), a
//! b x b computation. So the fit stops at the first block where every wanted pair is within
//! tolerance, not at the end of a cycle. When the basis is full, the `keep` best Ritz vectors
//! and their products (MY = (MQ)S, no product recomputed) restart it, T becomes diag(θ), and
//! W continues the expansion: the block form of Krylov-Schur.

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
/// space grows in small steps, which wastes fewer products). A basis of 3k + 2b with k + 4b
/// kept at a restart: on the ML-20M shape at k = 64 this stopped after 304 products, against
/// 296 for a basis that never restarts (5k) and 344 for k + b kept (examples/svd_speed.rs).
pub fn shape(k: usize, n: usize, block: usize) -> (usize, usize, usize) {
    let b = if block > 0 {
        block
    } else {
        (k / 8).clamp(4, 32)
    }
    .min(n);
    let maxdim = ((3 * k + 2 * b).div_ceil(b) * b).min(n);
    let keep = (k + 4 * b).min(maxdim.saturating_sub(b)).max(k);
    (b, maxdim, keep)
}

pub fn run(op: &Operator, o: &SvdOptions) -> Result<Lanczos> {
    let (n, k) = (op.cols(), o.k);
    let (b, maxdim, keep) = shape(k, n, o.block);
    let mut q = Dense::zeros(n, maxdim);
    let mut mq = Dense::zeros(n, maxdim);
    let mut t = Mat::<f64>::zeros(maxdim, maxdim);
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
            // T's new columns (and, by symmetry, rows).
            let cols = tn(q.cols(0, j), mq.cols(done, bb));
            for c in 0..bb {
                for r in 0..j {
                    t[(r, done + c)] = cols[(r, c)];
                }
            }
            for r in done..done + bb {
                for c in 0..j {
                    t[(r, c)] = t[(c, r)];
                }
            }
            products += bb;
            done += bb;
        }
        // The next block: M times the last one, out of the basis. Past the side's dimension
        // there is nothing left (the basis is the whole space and every residual is 0).
        let width = last_w.min(n - j);
        let (next, wgram) = if width > 0 {
            let mut w = Dense::zeros(n, width);
            w.copy_cols(0, &mq, last, width);
            let g = orthonormalize(Some(&q), j, &mut w, &mut fresh);
            (Some(w), g)
        } else {
            (None, Mat::<f64>::zeros(0, 0))
        };

        let (theta, s) = ritz(&t, j)?;
        let scale = theta[0].max(0.0);
        let wanted = k.min(j);
        let res: Vec<f64> = (0..wanted)
            .map(|i| {
                let mut acc = 0f64;
                for a in 0..width {
                    for c in 0..width {
                        acc += s[(last + a, i)] * wgram[(a, c)] * s[(last + c, i)];
                    }
                }
                acc.max(0.0).sqrt()
            })
            .collect();
        let converged =
            wanted == k && (scale == 0.0 || res.iter().all(|&r| r <= o.tolerance * scale));
        if converged || (next.is_none() && wanted == k) {
            let mut vectors = Dense::zeros(n, k);
            nn(
                &mut vectors,
                0,
                q.cols(0, j),
                s.as_ref().subcols(0, k),
                false,
            );
            return Ok(Lanczos {
                values: theta[..k].to_vec(),
                vectors,
                restarts,
                products,
            });
        }
        let w = next.expect("a basis smaller than the side has a next block");
        if j + width <= maxdim {
            q.copy_cols(j, &w, 0, width);
            (last, last_w) = (j, width);
            j += width;
            continue;
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
        let nk = keep.min(j);
        let sk = s.as_ref().subcols(0, nk);
        let mut ritz_q = Dense::zeros(n, nk);
        nn(&mut ritz_q, 0, q.cols(0, j), sk, false);
        let mut ritz_mq = Dense::zeros(n, nk);
        nn(&mut ritz_mq, 0, mq.cols(0, j), sk, false);
        q.copy_cols(0, &ritz_q, 0, nk);
        mq.copy_cols(0, &ritz_mq, 0, nk);
        q.copy_cols(nk, &w, 0, width);
        t.fill(0.0);
        for (i, &th) in theta[..nk].iter().enumerate() {
            t[(i, i)] = th;
        }
        done = nk;
        (last, last_w) = (nk, width);
        j = nk + width;
    }
}

/// Eigenpairs of the leading j x j block of T, largest first (ties by index).
fn ritz(t: &Mat<f64>, j: usize) -> Result<(Vec<f64>, Mat<f64>)> {
    let tj = t.as_ref().submatrix(0, 0, j, j);
    let evd = tj.self_adjoint_eigen(Side::Lower).map_err(|e| {
        Error::Numeric(format!(
            "eigendecomposition of the {j} x {j} projected matrix failed: {e:?}"
        ))
    })?;
    let d = evd.S().column_vector();
    let mut order: Vec<usize> = (0..j).collect();
    order.sort_by(|&x, &z| d[z].total_cmp(&d[x]).then(x.cmp(&z)));
    let theta = order.iter().map(|&i| d[i]).collect();
    let u = evd.U();
    let s = Mat::<f64>::from_fn(j, j, |r, c| u[(r, order[c])]);
    Ok((theta, s))
}
