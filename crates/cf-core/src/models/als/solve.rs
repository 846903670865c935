//! One row's least-squares problem of implicit ALS:
//!   (YᵀY + λI + Σᵢ (cᵢ − 1) yᵢyᵢᵀ) x = Σᵢ cᵢ yᵢ
//! over the row's entries i, with confidence cᵢ from the stored value.

use super::params::{AlsParams, Solver};
use crate::linalg::{axpy, cholesky_in_place, cholesky_solve, dot, matvec};

/// Per-thread buffers, sized once per half-iteration.
pub struct Scratch {
    r: Vec<f32>,
    p: Vec<f32>,
    ap: Vec<f32>,
    a: Vec<f32>,
}

impl Scratch {
    pub fn new(k: usize) -> Self {
        Scratch {
            r: vec![0.0; k],
            p: vec![0.0; k],
            ap: vec![0.0; k],
            a: vec![0.0; k * k],
        }
    }
}

/// Update `x` in place. `gram` is YᵀY (no regularization), `y` the other side's factors.
/// Returns false when the exact system is not positive definite.
pub fn solve_row(
    params: &AlsParams,
    gram: &[f32],
    y: &[f32],
    cols: &[u32],
    vals: &[f32],
    x: &mut [f32],
    s: &mut Scratch,
) -> bool {
    let k = x.len();
    if cols.is_empty() {
        // Nothing observed: the minimiser of λ|x|² + Σ (0 − x·y)² is 0.
        x.fill(0.0);
        return true;
    }
    let reg = params.reg_for(cols.len());
    match params.solver {
        Solver::Cholesky => {
            let a = &mut s.a;
            a.copy_from_slice(gram);
            for d in 0..k {
                a[d * k + d] += reg;
            }
            let b = &mut s.r;
            b.fill(0.0);
            for (&i, &v) in cols.iter().zip(vals) {
                let yi = &y[i as usize * k..i as usize * k + k];
                let c = params.confidence(v);
                axpy(c, yi, b);
                // Lower triangle only: the factorisation reads nothing else.
                for (row, &ya) in yi.iter().enumerate() {
                    axpy(
                        (c - 1.0) * ya,
                        &yi[..=row],
                        &mut a[row * k..row * k + row + 1],
                    );
                }
            }
            if !cholesky_in_place(a, k) {
                return false;
            }
            cholesky_solve(a, k, b);
            x.copy_from_slice(b);
            true
        }
        Solver::Cg { steps } => {
            let (r, p, ap) = (&mut s.r, &mut s.p, &mut s.ap);
            // r = b − A x, with A x = G x + reg x + Σ (c − 1)(yᵢ·x) yᵢ and b = Σ c yᵢ.
            matvec(gram, x, r);
            for (rj, &xj) in r.iter_mut().zip(x.iter()) {
                *rj = -*rj - reg * xj;
            }
            for (&i, &v) in cols.iter().zip(vals) {
                let yi = &y[i as usize * k..i as usize * k + k];
                let c = params.confidence(v);
                axpy(c - (c - 1.0) * dot(yi, x), yi, r);
            }
            p.copy_from_slice(r);
            let mut rs_old = dot(r, r);
            for _ in 0..steps {
                if rs_old < 1e-20 {
                    break;
                }
                matvec(gram, p, ap);
                axpy(reg, p, ap);
                for (&i, &v) in cols.iter().zip(vals) {
                    let yi = &y[i as usize * k..i as usize * k + k];
                    let c = params.confidence(v);
                    axpy((c - 1.0) * dot(yi, p), yi, ap);
                }
                let pap = dot(p, ap);
                if !(pap > 0.0) {
                    break;
                }
                let step = rs_old / pap;
                axpy(step, p, x);
                axpy(-step, ap, r);
                let rs_new = dot(r, r);
                let beta = rs_new / rs_old;
                for (pj, &rj) in p.iter_mut().zip(r.iter()) {
                    *pj = rj + beta * *pj;
                }
                rs_old = rs_new;
            }
            true
        }
    }
}
