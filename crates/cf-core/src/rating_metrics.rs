//! Rating-prediction metrics over every entry of a held-out matrix (user, item, rating):
//! - rmse = sqrt(Σ (r̂ − r)² / n)
//! - mae  = Σ |r̂ − r| / n
//!
//! Micro-averaged over entries (the convention of Surprise, LibRec and the Netflix Prize), not
//! per user. Every entry counts, also those of users or items without training rows: the
//! model predicts what it can for them (its global mean and whichever bias it knows), so a
//! cold entry is an error like any other rather than a silent omission. With `clip` each
//! prediction is first clamped to the rating range seen in training (a 1-5 scale cannot be
//! rated 5.3, and clamping can only bring a prediction closer to a rating on that scale).

use rayon::prelude::*;

use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::models::RatingPredictor;

#[derive(Clone, Debug, PartialEq)]
pub struct RatingReport {
    pub rmse: f64,
    pub mae: f64,
    /// Entries scored.
    pub count: usize,
}

/// Row-wise sums (squared error, absolute error) added in row order, so the result does not
/// depend on the thread count.
pub fn rating_metrics(
    model: &dyn RatingPredictor,
    n_items: usize,
    truth: &Csr,
    clip: bool,
) -> Result<RatingReport> {
    if truth.n_cols != n_items {
        return Err(Error::param(
            "truth",
            format!(
                "matrix is {} x {}, but the model has {n_items} items",
                truth.n_rows, truth.n_cols
            ),
        ));
    }
    if let Some(k) = truth.values.iter().position(|v| !v.is_finite()) {
        return Err(Error::param(
            "truth",
            format!(
                "rating {} at entry {k} is not a finite number",
                truth.values[k]
            ),
        ));
    }
    let (lo, hi) = model.rating_range();
    let rows: Vec<(f64, f64)> = (0..truth.n_rows)
        .into_par_iter()
        .map(|u| {
            let (items, ratings) = truth.row(u);
            let (mut se, mut ae) = (0f64, 0f64);
            for (&i, &r) in items.iter().zip(ratings) {
                let mut p = model.predict(u, i as usize);
                if clip {
                    p = p.clamp(lo, hi);
                }
                let e = p as f64 - r as f64;
                se += e * e;
                ae += e.abs();
            }
            (se, ae)
        })
        .collect();
    let count = truth.nnz();
    if count == 0 {
        return Err(Error::Data(
            "truth: the matrix has no entries, so RMSE and MAE are undefined".into(),
        ));
    }
    let (se, ae) = rows
        .iter()
        .fold((0f64, 0f64), |(a, b), &(s, e)| (a + s, b + e));
    Ok(RatingReport {
        rmse: (se / count as f64).sqrt(),
        mae: ae / count as f64,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    /// Predicts a fixed table; users past it get the item's column mean.
    struct Table {
        p: Vec<Vec<f32>>,
        range: (f32, f32),
    }

    impl RatingPredictor for Table {
        fn predict(&self, user: usize, item: usize) -> f32 {
            match self.p.get(user) {
                Some(row) => row[item],
                None => self.p.iter().map(|r| r[item]).sum::<f32>() / self.p.len() as f32,
            }
        }
        fn rating_range(&self) -> (f32, f32) {
            self.range
        }
    }

    #[test]
    fn hand_computed_rmse_and_mae() {
        let m = Table {
            p: vec![vec![3.5, 5.5], vec![1.0, 4.0]],
            range: (1.0, 5.0),
        };
        // Entries: (0,0,4) err -0.5; (0,1,5) err +0.5 (clipped: 0); (1,1,2) err +2;
        // (2,0,3): user 2 unknown, predicts (3.5+1)/2 = 2.25, err -0.75.
        let truth =
            Csr::from_coo(3, 2, &[0, 0, 1, 2], &[0, 1, 1, 0], &[4.0, 5.0, 2.0, 3.0]).unwrap();
        let r = rating_metrics(&m, 2, &truth, false).unwrap();
        let se: f64 = 0.25 + 0.25 + 4.0 + 0.5625;
        assert_abs_diff_eq!(r.rmse, (se / 4.0).sqrt(), epsilon = 1e-12);
        assert_abs_diff_eq!(r.mae, (0.5 + 0.5 + 2.0 + 0.75) / 4.0, epsilon = 1e-12);
        assert_eq!(r.count, 4);
        let c = rating_metrics(&m, 2, &truth, true).unwrap();
        let se: f64 = 0.25 + 0.0 + 4.0 + 0.5625;
        assert_abs_diff_eq!(c.rmse, (se / 4.0).sqrt(), epsilon = 1e-12);
        assert_abs_diff_eq!(c.mae, (0.5 + 0.0 + 2.0 + 0.75) / 4.0, epsilon = 1e-12);
    }

    #[test]
    fn wrong_shape_empty_and_nan_truth_are_errors() {
        let m = Table {
            p: vec![vec![3.0, 3.0]],
            range: (1.0, 5.0),
        };
        let wide = Csr::from_coo(1, 3, &[0], &[2], &[4.0]).unwrap();
        assert_eq!(
            rating_metrics(&m, 2, &wide, true).unwrap_err().to_string(),
            "truth: matrix is 1 x 3, but the model has 2 items"
        );
        let empty = Csr::empty(1, 2);
        assert_eq!(
            rating_metrics(&m, 2, &empty, true).unwrap_err().code(),
            "ERR_CF_DATA"
        );
        let mut nan = Csr::from_coo(1, 2, &[0], &[1], &[4.0]).unwrap();
        nan.values[0] = f32::NAN;
        assert_eq!(
            rating_metrics(&m, 2, &nan, true).unwrap_err().code(),
            "ERR_CF_INVALID_ARG"
        );
    }
}
