//! EASE (Steck 2019, "Embarrassingly shallow autoencoders for sparse data"): the item x item
//! weights B = argmin ‖X - XB‖² + λ‖B‖² subject to diag(B) = 0, in closed form
//! P = (XᵀX + λI)⁻¹, B = I - P diagMat(1 / diag(P)), i.e. B_ij = -P_ij / P_jj, B_jj = 0.
//! The Gram matrix and its Cholesky inverse are float64 (faer); B is kept as float32.
//!
//! Not a factor model: a user's scores are x_u B, the sum of B's rows for the items they
//! have, so the model keeps each user's training row; the top-K engine ranks the scored row
//! like any model without factors. Similar items of j are the column B[:, j] (the weight of
//! each item in predicting j). Memory is quadratic in items, so fits above `max_items` are
//! refused with the memory they would need. Empty users score 0 everywhere; an item nobody
//! has gets a zero row and column (its Gram row is λ on the diagonal only).

mod model;
#[cfg(test)]
mod tests;

use faer::linalg::solvers::DenseSolveCore;
use faer::{MatRef, Side};
use rayon::prelude::*;

pub use model::{EaseParams, SPEC, TYPE};

use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::params::{Checked, IntoChecked};

pub struct EaseModel {
    pub params: Checked<EaseParams>,
    pub n_items: usize,
    /// Row-major n_items x n_items.
    pub b: Vec<f32>,
    /// Each user's training row: what their scores are computed from.
    pub users: Csr,
}

/// Bytes a fit on `n` items holds at its peak: the float64 Gram matrix and its Cholesky
/// factor (then the inverse in place of the Gram), and B in float32.
pub fn fit_bytes(n: usize) -> u128 {
    let n2 = (n as u128) * (n as u128);
    16 * n2 + 4 * n2
}

/// Refuses a fit on more than `max_items` items, naming the memory it would need.
pub fn check_size(params: &EaseParams, n: usize) -> Result<()> {
    if n > params.max_items {
        let gib = fit_bytes(n) as f64 / (1u64 << 30) as f64;
        return Err(Error::param(
            "max_items",
            format!(
                "ease needs dense item x item matrices: {n} items take about {gib:.1} GiB (two float64 and one float32 {n} x {n}) and are above max_items = {}; raise max_items if the memory is there, or keep fewer items",
                params.max_items
            ),
        ));
    }
    Ok(())
}

impl EaseModel {
    pub fn fit(params: impl IntoChecked<EaseParams>, train: &Csr) -> Result<Self> {
        let params = params.into_checked()?;
        let n = train.n_cols;
        check_size(&params, n)?;
        if let Some(p) = train.values.iter().position(|v| !v.is_finite()) {
            return Err(Error::param(
                "values",
                format!(
                    "value {} at position {p} is not finite",
                    crate::args::show32(train.values[p])
                ),
            ));
        }
        let pool = crate::pool::pool(params.threads)?;
        let b = pool.install(|| weights(train, params.lambda))?;
        Ok(EaseModel {
            params,
            n_items: n,
            b,
            users: train.clone(),
        })
    }

    pub fn from_parts(
        params: impl IntoChecked<EaseParams>,
        b: Vec<f32>,
        users: Csr,
    ) -> Result<Self> {
        let params = params.into_checked()?;
        let n = users.n_cols;
        if b.len() != n * n {
            return Err(Error::Data(format!(
                "weights: {} values for {n} items (want {})",
                b.len(),
                n * n
            )));
        }
        if let Some(p) = b.iter().position(|v| !v.is_finite()) {
            return Err(Error::Data(format!("weights: value at {p} is not finite")));
        }
        users.validate()?;
        Ok(EaseModel {
            params,
            n_items: n,
            b,
            users,
        })
    }

    /// out = Σ values_t B[items_t, :]
    fn scores_of(&self, items: &[u32], values: &[f32], out: &mut [f32]) {
        let n = self.n_items;
        out.fill(0.0);
        for (&i, &v) in items.iter().zip(values) {
            let row = &self.b[i as usize * n..i as usize * n + n];
            for (o, &w) in out.iter_mut().zip(row) {
                *o += v * w;
            }
        }
    }
}

/// B from XᵀX + λI, in float64.
fn weights(x: &Csr, lambda: f64) -> Result<Vec<f32>> {
    let n = x.n_cols;
    let xt = x.transpose();
    // G row i = Σ_{u has i} x_ui x_u: one thread per row, users in order, so the same bits
    // on any thread count.
    let mut g = vec![0f64; n * n];
    g.par_chunks_mut(n.max(1)).enumerate().for_each(|(i, row)| {
        let (users, vals) = xt.row(i);
        for (&u, &xi) in users.iter().zip(vals) {
            let (cols, xv) = x.row(u as usize);
            for (&j, &xj) in cols.iter().zip(xv) {
                row[j as usize] += xi as f64 * xj as f64;
            }
        }
        row[i] += lambda;
    });
    let p = {
        // G is symmetric: its row-major buffer is its column-major one.
        let gm = MatRef::from_column_major_slice(&g, n, n);
        let llt = gm.llt(Side::Lower).map_err(|e| {
            Error::Numeric(format!(
                "ease: XᵀX + λI is not positive definite to working precision ({e:?}); raise lambda"
            ))
        })?;
        drop(g);
        llt.inverse()
    };
    let mut b = vec![0f32; n * n];
    b.par_chunks_mut(n.max(1)).enumerate().for_each(|(i, row)| {
        for (j, w) in row.iter_mut().enumerate() {
            *w = if i == j {
                0.0
            } else {
                (-p[(i, j)] / p[(j, j)]) as f32
            };
        }
    });
    Ok(b)
}
