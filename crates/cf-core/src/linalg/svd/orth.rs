//! Orthonormalising a block of columns against a basis and within itself.
//!
//! Block classical Gram-Schmidt twice against the basis (BLAS-3 through faer), then
//! Cholesky QR twice within the block. A column that the projection wipes out (the Krylov
//! space became invariant, or a rank-deficient sample) is replaced by a seeded random one, so
//! the block always comes out full rank; a block Cholesky QR cannot factor falls back to
//! column-by-column Gram-Schmidt with the same replacement rule.

use faer::linalg::triangular_inverse::invert_upper_triangular;
use faer::{Mat, Par, Side};

use super::ops::{col_norms2, nn, normal, tn, Dense};
use crate::rng::SplitMix64;

/// A column whose norm falls below this share of its norm before projection is noise.
const DROP: f64 = 1e-10;
const STREAM_REPLACE: u64 = 0x5eed_0007;

/// Where replacement columns come from: (seed, a counter), never the thread count.
pub struct Fresh {
    pub seed: u64,
    pub count: u64,
}

impl Fresh {
    fn fill(&mut self, w: &mut Dense, c: usize) {
        let mut g = SplitMix64::derive(self.seed, STREAM_REPLACE, self.count);
        self.count += 1;
        for r in 0..w.rows {
            w.data[r * w.ld + c] = normal(&mut g);
        }
    }
}

/// w -= q[:, :j] (q[:, :j]ᵀ w), twice.
fn project(q: &Dense, j: usize, w: &mut Dense, c0: usize, cols: usize) {
    if j == 0 {
        return;
    }
    let qj = q.cols(0, j);
    for _ in 0..2 {
        let h = tn(qj, w.cols(c0, cols));
        let neg = -&h;
        nn(w, c0, qj, neg.as_ref(), true);
    }
}

/// The columns of `w` become orthonormal and orthogonal to `q[:, :j]`. Returns wᵀw of the
/// block as projected, before anything was replaced or normalised: for the block Lanczos
/// continuation, the Gram matrix of the residual directions.
pub fn orthonormalize(q: Option<&Dense>, j: usize, w: &mut Dense, fresh: &mut Fresh) -> Mat<f64> {
    let cols = w.ld;
    let before = col_norms2(w, 0, cols);
    if let Some(q) = q {
        project(q, j, w, 0, cols);
    }
    let projected = tn(w.cols(0, cols), w.cols(0, cols));
    let after: Vec<f64> = (0..cols).map(|t| projected[(t, t)]).collect();
    let mut replaced = false;
    for t in 0..cols {
        // NaN-safe: a NaN norm counts as wiped out.
        if after[t].partial_cmp(&(DROP * DROP * before[t])) != Some(std::cmp::Ordering::Greater)
            || after[t] == 0.0
        {
            fresh.fill(w, t);
            replaced = true;
        }
    }
    if replaced {
        if let Some(q) = q {
            project(q, j, w, 0, cols);
        }
    }
    if !(chol_qr(w) && chol_qr(w)) {
        by_columns(q, j, w, fresh);
    }
    projected
}

/// w = w R⁻¹ with RᵀR = wᵀw; false when the Gram matrix is too ill-conditioned to factor.
fn chol_qr(w: &mut Dense) -> bool {
    let cols = w.ld;
    let g = tn(w.cols(0, cols), w.cols(0, cols));
    let max = (0..cols).map(|i| g[(i, i)]).fold(0f64, f64::max);
    let Ok(llt) = g.as_ref().llt(Side::Lower) else {
        return false;
    };
    let l = llt.L();
    // Cholesky QR loses orthogonality as cond² ε; past this the column path is used.
    let min_diag = (0..cols).map(|i| l[(i, i)]).fold(f64::INFINITY, f64::min);
    if (min_diag * min_diag).partial_cmp(&(1e-12 * max)) != Some(std::cmp::Ordering::Greater) {
        return false;
    }
    let r = l.transpose().to_owned();
    let mut rinv = Mat::<f64>::zeros(cols, cols);
    invert_upper_triangular(rinv.as_mut(), r.as_ref(), Par::Seq);
    let src = w.clone();
    nn(w, 0, src.cols(0, cols), rinv.as_ref(), false);
    true
}

fn by_columns(q: Option<&Dense>, j: usize, w: &mut Dense, fresh: &mut Fresh) {
    let cols = w.ld;
    for t in 0..cols {
        for attempt in 0..4 {
            let before = col_norms2(w, t, 1)[0];
            if let Some(q) = q {
                project(q, j, w, t, 1);
            }
            for _ in 0..2 {
                if t > 0 {
                    let h = tn(w.cols(0, t), w.cols(t, 1));
                    let neg = -&h;
                    let prev = w.clone();
                    nn(w, t, prev.cols(0, t), neg.as_ref(), true);
                }
            }
            let after = col_norms2(w, t, 1)[0];
            if after > DROP * DROP * before && after > 0.0 {
                let s = 1.0 / after.sqrt();
                for r in 0..w.rows {
                    w.data[r * cols + t] *= s;
                }
                break;
            }
            assert!(attempt < 3, "no direction left to orthonormalise into");
            fresh.fill(w, t);
        }
    }
}

/// The largest absolute entry of q[:, :j]ᵀ q[:, :j] - I (for tests).
#[cfg(test)]
pub fn orthogonality_error(q: faer::MatRef<'_, f64>) -> f64 {
    let g = tn(q, q);
    let mut e = 0f64;
    for a in 0..g.nrows() {
        for b in 0..g.ncols() {
            let want = if a == b { 1.0 } else { 0.0 };
            e = e.max((g[(a, b)] - want).abs());
        }
    }
    e
}
