//! Small dense kernels the models share: level-1 helpers, the Gram matrix of a factor
//! matrix, and (in `simd`) the vector kernels of the ALS row solves: gather, batched dot
//! products, accumulation, rank-n updates and Cholesky; (in `rotate`) the eigenbasis of a
//! Gram matrix and the rotation of factor rows into it.
//!
//! Every reduction here runs in a fixed order, so results do not depend on thread count.

mod aligned;
mod exp;
mod gram;
mod rotate;
pub mod simd;
pub mod svd;

pub use aligned::{advise_huge, AlignedVec};
pub use exp::exp_f32;
pub use gram::{gram, gram_f64};
pub use rotate::{eigenbasis, rotate_rows, Eigenbasis};

#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent accumulators let the compiler keep a full vector of partial sums.
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let chunks = n / 8;
    for c in 0..chunks {
        let (x, y) = (&a[c * 8..c * 8 + 8], &b[c * 8..c * 8 + 8]);
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0f32;
    for j in chunks * 8..n {
        tail += a[j] * b[j];
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// out = m * x for a row-major k x k matrix.
#[inline]
pub fn matvec(m: &[f32], x: &[f32], out: &mut [f32]) {
    let k = x.len();
    for (a, o) in out.iter_mut().enumerate() {
        *o = dot(&m[a * k..a * k + k], x);
    }
}
