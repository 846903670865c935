//! Truncated SVD of a sparse matrix, optionally centred, never densified.
//!
//! Exact mode: block Lanczos with full reorthogonalisation and thick restarts (the block form
//! of Krylov-Schur / TRLan) on the Gram operator of the smaller side, AᵀA or AAᵀ, applied in
//! one fused pass over the matrix per block (`ops::gram`). A block of `b` vectors reads the
//! matrix once for `b` products, which is what makes it faster than one-vector Lanczos
//! (ARPACK, PROPACK) on a memory-bound sparse pass; working on the Gram operator squares the condition number, but
//! an eigenvalue error of ε·σ₁² is a relative singular-value error of ε/2·(σ₁/σᵢ)², far below
//! the tolerance for any spectrum this is used on. Randomized mode (Halko, Martinsson & Tropp
//! 2011: Gaussian sketch, oversampling, power iterations re-orthonormalised each pass) is
//! approximate: its tail singular values are only as good as the spectrum's decay allows.
//!
//! Empty rows and columns are allowed: uncentred, their singular-vector entries are zero
//! (exactly on the side the products reach, to the tolerance on the Gram side). A rank below
//! k gives σ = 0 with zero vectors past it.
//!
//! Centring subtracts a rank-one matrix c rᵀ inside the operator: A_c x = A x - c (rᵀx).
//! Means are over every cell of the matrix, missing ones counted as 0, the convention of a
//! PCA of the matrix (and of PureSVD, which treats missing as 0).
//!
//! Deterministic for a seed at any thread count: the random start is drawn per row from the
//! seed, and every product sums in an order fixed by the data (see `ops`).

mod lanczos;
pub mod ops;
mod orth;
mod randomized;
#[cfg(test)]
mod tests;

pub use ops::Dense;

use crate::data::csr::Csr;
use crate::error::{Error, Result};

/// The largest rank computed.
pub const MAX_K: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Centering {
    None,
    /// The mean of every cell.
    Global,
    /// Each row's mean over all columns.
    Rows,
    /// Each column's mean over all rows.
    Columns,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Restarted block Lanczos to `tolerance`.
    Lanczos,
    /// Randomized range finder: approximate.
    Randomized,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SvdOptions {
    pub k: usize,
    pub centering: Centering,
    pub method: Method,
    /// Lanczos: stop when every wanted Ritz pair of the Gram operator has a residual
    /// ‖Mv - θv‖ <= tolerance · θ₁.
    pub tolerance: f64,
    /// Lanczos: vectors per block (0 = chosen from k).
    pub block: usize,
    /// Lanczos: give up (an error) after this many restarts.
    pub max_restarts: usize,
    /// Randomized: extra sketch columns beyond k.
    pub oversampling: usize,
    /// Randomized: passes of (A_cᵀ, A_c) after the first sketch.
    pub power_iterations: usize,
    pub seed: u64,
    pub threads: usize,
}

impl SvdOptions {
    pub fn new(k: usize) -> Self {
        SvdOptions {
            k,
            centering: Centering::None,
            method: Method::Lanczos,
            tolerance: 1e-10,
            block: 0,
            max_restarts: 1000,
            oversampling: 10,
            power_iterations: 4,
            seed: 42,
            threads: 0,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TruncatedSvd {
    /// Singular values, largest first.
    pub values: Vec<f64>,
    /// Left singular vectors, row-major n_rows x k.
    pub u: Vec<f64>,
    /// Right singular vectors, row-major n_cols x k.
    pub v: Vec<f64>,
    /// σᵢ² over the squared Frobenius norm of the (centred) matrix, per component.
    pub explained_variance_ratio: Vec<f64>,
    /// ‖A_c‖²_F.
    pub total_squares: f64,
    /// The centring as A_c = A - row_offsets colwise_weightsᵀ: what a prediction adds back.
    pub row_offsets: Vec<f64>,
    pub col_weights: Vec<f64>,
    /// Lanczos restarts (0 for randomized).
    pub restarts: usize,
    /// Gram-operator applications, counted in vectors (a block of b counts b).
    pub products: usize,
}

/// A_c = A - c rᵀ, A stored by rows of its larger side (products go through the fused Gram
/// kernel on the smaller side, and A_c x for the other side's vectors).
pub(crate) struct Operator<'a> {
    a: &'a Csr,
    c: Option<Vec<f64>>,
    r: Option<Vec<f64>>,
    /// Aᵀc and ‖c‖², for the centring of the Gram operator.
    g: Option<Vec<f64>>,
    c2: f64,
    /// The Gram kernel's per-range partials, kept between products.
    scratch: std::sync::Mutex<Vec<Vec<f64>>>,
}

impl<'a> Operator<'a> {
    fn rows(&self) -> usize {
        self.a.n_rows
    }
    fn cols(&self) -> usize {
        self.a.n_cols
    }

    /// out[:, oc0..+b] = A_c x[:, xc0..+b]
    fn apply(&self, x: &Dense, xc0: usize, b: usize, out: &mut Dense, oc0: usize) {
        ops::spmm(self.a, x, xc0, b, out, oc0);
        if let (Some(c), Some(r)) = (&self.c, &self.r) {
            rank_one(out, oc0, b, c, r, x, xc0);
        }
    }
}

impl Operator<'_> {
    fn new(a: &Csr, c: Option<Vec<f64>>, r: Option<Vec<f64>>) -> Operator<'_> {
        // g = Aᵀc, summed over rows in order.
        let g = c.as_ref().map(|c| {
            let mut g = vec![0f64; a.n_cols];
            for (i, &ci) in c.iter().enumerate() {
                let (cols, vals) = a.row(i);
                for (&j, &v) in cols.iter().zip(vals) {
                    g[j as usize] += v as f64 * ci;
                }
            }
            g
        });
        let c2 = c.as_ref().map_or(0.0, |c| c.iter().map(|x| x * x).sum());
        Operator {
            a,
            c,
            r,
            g,
            c2,
            scratch: Default::default(),
        }
    }

    /// out[:, oc0..+b] = A_cᵀA_c x[:, xc0..+b], with A read once:
    /// A_cᵀA_c x = AᵀAx - g t - r (gᵀx - ‖c‖² t), t = rᵀx, g = Aᵀc.
    fn gram(&self, x: &Dense, xc0: usize, b: usize, out: &mut Dense, oc0: usize) {
        // The kernel gathers and scatters whole rows of the block: a block inside a wide basis
        // would spread those rows over ld / b times the memory (33 MB instead of 1.3 MB for
        // 20,108 rows x 8 in a 208-wide basis; the whole k = 64 fit on the ML-20M shape took 2.89 s
        // that way, 1.76 s with the copy), so it gets its own.
        let mut xb = Dense::zeros(x.rows, b);
        xb.copy_cols(0, x, xc0, b);
        let mut zb = Dense::zeros(out.rows, b);
        let mut scratch = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        ops::gram(self.a, &xb, 0, b, &mut zb, 0, &mut scratch);
        drop(scratch);
        out.copy_cols(oc0, &zb, 0, b);
        if let (Some(r), Some(g)) = (&self.r, &self.g) {
            let col = |v: &[f64]| faer::MatRef::from_column_major_slice(v, v.len(), 1).to_owned();
            let (rm, gm) = (col(r), col(g));
            let t = ops::tn(rm.as_ref(), x.cols(xc0, b));
            let s = ops::tn(gm.as_ref(), x.cols(xc0, b));
            let ld = out.ld;
            for ((row, &gi), &ri) in out.data.chunks_exact_mut(ld).zip(g).zip(r) {
                for (q, o) in row[oc0..oc0 + b].iter_mut().enumerate() {
                    *o -= gi * t[(0, q)] + ri * (s[(0, q)] - self.c2 * t[(0, q)]);
                }
            }
        }
    }
}

/// out[:, oc0..+b] -= left (rightᵀ x[:, xc0..+b])
fn rank_one(
    out: &mut Dense,
    oc0: usize,
    b: usize,
    left: &[f64],
    right: &[f64],
    x: &Dense,
    xc0: usize,
) {
    let rt = faer::MatRef::from_column_major_slice(right, right.len(), 1);
    let t = ops::tn(rt, x.cols(xc0, b));
    let ld = out.ld;
    for (row, &l) in out.data.chunks_exact_mut(ld).zip(left) {
        for (o, s) in row[oc0..oc0 + b].iter_mut().zip(0..b) {
            *o -= l * t[(0, s)];
        }
    }
}

/// The centring vectors (c, r) of A_c = A - c rᵀ.
fn centering_vectors(a: &Csr, centering: Centering) -> Option<(Vec<f64>, Vec<f64>)> {
    let (m, n) = (a.n_rows, a.n_cols);
    match centering {
        Centering::None => None,
        Centering::Global => {
            let s: f64 = a.values.iter().map(|&v| v as f64).sum();
            Some((vec![s / (m as f64 * n as f64); m], vec![1.0; n]))
        }
        Centering::Rows => {
            let c = (0..m)
                .map(|r| a.row(r).1.iter().map(|&v| v as f64).sum::<f64>() / n as f64)
                .collect();
            Some((c, vec![1.0; n]))
        }
        Centering::Columns => {
            let mut s = vec![0f64; n];
            for (&j, &v) in a.indices.iter().zip(&a.values) {
                s[j as usize] += v as f64;
            }
            s.iter_mut().for_each(|x| *x /= m as f64);
            Some((vec![1.0; m], s))
        }
    }
}

/// ‖A - c rᵀ‖²_F = ‖A‖² - 2 cᵀA r + ‖c‖²‖r‖², without forming the difference.
fn total_squares(a: &Csr, cr: Option<&(Vec<f64>, Vec<f64>)>) -> f64 {
    let sq: f64 = a.values.iter().map(|&v| (v as f64) * (v as f64)).sum();
    let Some((c, r)) = cr else { return sq };
    let mut cross = 0f64;
    for (i, &ci) in c.iter().enumerate() {
        let (cols, vals) = a.row(i);
        let dot: f64 = cols
            .iter()
            .zip(vals)
            .map(|(&j, &v)| v as f64 * r[j as usize])
            .sum();
        cross += ci * dot;
    }
    let c2: f64 = c.iter().map(|x| x * x).sum();
    let r2: f64 = r.iter().map(|x| x * x).sum();
    (sq - 2.0 * cross + c2 * r2).max(0.0)
}

/// k in 1..=min(MAX_K, min(rows, cols) - 1); `name` is the option as the caller spells it.
pub fn check_rank(name: &str, k: usize, rows: usize, cols: usize) -> Result<()> {
    let small = rows.min(cols);
    if k == 0 {
        return Err(Error::param(name, "must be >= 1 (got 0)"));
    }
    if k > MAX_K {
        return Err(Error::param(name, format!("must be <= {MAX_K} (got {k})")));
    }
    if k >= small {
        return Err(Error::param(
            name,
            format!(
                "must be below min(users, items) = {small} for a {rows} x {cols} matrix (got {k})"
            ),
        ));
    }
    Ok(())
}

/// The k largest singular triplets of A (centred as `o.centering` says).
pub fn truncated_svd(a: &Csr, o: &SvdOptions) -> Result<TruncatedSvd> {
    check_rank("k", o.k, a.n_rows, a.n_cols)?;
    if let Some(p) = a.values.iter().position(|v| !v.is_finite()) {
        return Err(Error::param(
            "values",
            format!(
                "value {} at position {p} is not finite",
                crate::args::show32(a.values[p])
            ),
        ));
    }
    if !(o.tolerance > 0.0 && o.tolerance < 1.0) {
        return Err(Error::param(
            "tolerance",
            format!("must be in (0, 1) (got {})", crate::args::show(o.tolerance)),
        ));
    }
    let pool = crate::pool::pool(o.threads)?;
    pool.install(|| run(a, o))
}

fn run(a: &Csr, o: &SvdOptions) -> Result<TruncatedSvd> {
    let cr = centering_vectors(a, o.centering);
    let total = total_squares(a, cr.as_ref());
    // The Gram operator lives on the smaller side; on the other one the roles swap.
    let flip = a.n_rows < a.n_cols;
    let at = if flip {
        a.transpose()
    } else {
        Csr::empty(0, 0)
    };
    let (row_offsets, col_weights) = cr.clone().unwrap_or_else(|| (Vec::new(), Vec::new()));
    let cv = |side: usize| {
        cr.as_ref()
            .map(|x| if side == 0 { x.0.clone() } else { x.1.clone() })
    };
    let op = if flip {
        Operator::new(&at, cv(1), cv(0))
    } else {
        Operator::new(a, cv(0), cv(1))
    };
    let opref = &op;
    let (values, mut small_vecs, mut big_vecs, restarts, products) = match o.method {
        Method::Lanczos => {
            let l = lanczos::run(opref, o)?;
            let (s, u) = left_vectors(opref, &l.vectors, &l.values, o.k);
            (s, l.vectors, u, l.restarts, l.products)
        }
        Method::Randomized => {
            let r = randomized::run(opref, o);
            (r.values, r.v, r.u, 0, r.products)
        }
    };
    // A fixed sign per triplet: the largest entry of the small-side vector positive.
    let k = o.k;
    for t in 0..k {
        let (mut best, mut sign) = (0f64, 1f64);
        for r in 0..small_vecs.rows {
            let v = small_vecs.data[r * k + t];
            if v.abs() > best {
                best = v.abs();
                sign = v.signum();
            }
        }
        if sign < 0.0 {
            for r in 0..small_vecs.rows {
                small_vecs.data[r * k + t] = -small_vecs.data[r * k + t];
            }
            for r in 0..big_vecs.rows {
                big_vecs.data[r * k + t] = -big_vecs.data[r * k + t];
            }
        }
    }
    let (u, v) = if flip {
        (small_vecs.data, big_vecs.data)
    } else {
        (big_vecs.data, small_vecs.data)
    };
    let explained_variance_ratio = values
        .iter()
        .map(|s| if total > 0.0 { s * s / total } else { 0.0 })
        .collect();
    Ok(TruncatedSvd {
        values,
        u,
        v,
        explained_variance_ratio,
        total_squares: total,
        row_offsets,
        col_weights,
        restarts,
        products,
    })
}

/// σ = √θ and the other side's vectors A_c v / σ. An eigenvalue of the Gram operator below
/// 1e-12 θ₁ is rounding (its σ would be ~1e-6 σ₁ of noise): it is reported as σ = 0 with a
/// zero vector (any unit vector orthogonal to the others would do, none is more right).
fn left_vectors(op: &Operator, v: &Dense, theta: &[f64], k: usize) -> (Vec<f64>, Dense) {
    let floor = theta.first().copied().unwrap_or(0.0).max(0.0) * 1e-12;
    let sigma: Vec<f64> = theta
        .iter()
        .map(|&t| if t > floor { t.sqrt() } else { 0.0 })
        .collect();
    let mut u = Dense::zeros(op.rows(), k);
    op.apply(v, 0, k, &mut u, 0);
    let inv: Vec<f64> = sigma
        .iter()
        .map(|&s| if s > 0.0 { 1.0 / s } else { 0.0 })
        .collect();
    for row in u.data.chunks_exact_mut(k) {
        for (x, s) in row.iter_mut().zip(&inv) {
            *x *= s;
        }
    }
    (sigma, u)
}
