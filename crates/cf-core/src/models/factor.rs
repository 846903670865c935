//! What every factor model shares: a user and an item matrix of `k` factors, scored by dot
//! product, items compared by cosine. A model implements [`FactorModel`] (its factors and
//! its fold-in) and gets [`Recommender`] from here, written once for ALS and the factor
//! models that follow it.

use super::Recommender;
use crate::error::{Error, Result};
use crate::linalg::simd::{Isa, LANES};
use crate::linalg::{cosine_scores, dot};
use crate::topk::select;

pub trait FactorModel: Send + Sync {
    /// Factors per row (`k`).
    fn factors(&self) -> usize;
    /// Row-major n_users x k.
    fn user_factors(&self) -> &[f32];
    /// Row-major n_items x k.
    fn item_factors(&self) -> &[f32];
    /// The factor of a user not in the model, from the items they interacted with (checked
    /// ids and values); how it is solved is the model's own business.
    fn fold_in_user(&self, items: &[u32], values: &[f32]) -> Result<Vec<f32>>;
}

/// Saved factor arrays of rows `width` wide: whole rows, finite values. Returns the number of
/// user and item rows.
pub fn check_factor_arrays(user: &[f32], item: &[f32], width: usize) -> Result<(usize, usize)> {
    if user.len() % width != 0 || item.len() % width != 0 {
        return Err(Error::param(
            "factors",
            format!(
                "factor arrays ({} and {} values) are not multiples of the row width {width}",
                user.len(),
                item.len()
            ),
        ));
    }
    if user.iter().chain(item).any(|v| !v.is_finite()) {
        return Err(Error::param(
            "factors",
            "factor arrays contain NaN or infinite values",
        ));
    }
    Ok((user.len() / width, item.len() / width))
}

/// Scores of every item for a user vector `x`: one dot product per item row.
pub fn score_vector(item_factors: &[f32], k: usize, x: &[f32], out: &mut [f32]) {
    if k % LANES == 0 {
        // Item rows are already 8-aligned in length: score them as one block with the
        // vector kernel (four rows per reduction).
        Isa::detect().dots(item_factors, k, x, out);
    } else {
        for (o, y) in out.iter_mut().zip(item_factors.chunks_exact(k)) {
            *o = dot(x, y);
        }
    }
}

/// The `k` items closest to `q` by cosine, `exclude` (sorted) left out. Items with a zero
/// vector, and every item for a zero `q`, score -inf and rank nothing.
pub fn similar_to_vector(
    item_factors: &[f32],
    q: &[f32],
    k: usize,
    exclude: &[u32],
) -> Vec<(u32, f32)> {
    let mut scores = vec![0f32; item_factors.len() / q.len().max(1)];
    cosine_scores(q, item_factors, &mut scores);
    select(&scores, k, &[exclude])
}

impl<T: FactorModel> Recommender for T {
    fn n_users(&self) -> usize {
        self.user_factors().len() / self.factors()
    }

    fn n_items(&self) -> usize {
        self.item_factors().len() / self.factors()
    }

    fn score_user(&self, user: usize, out: &mut [f32]) {
        let k = self.factors();
        let x = &self.user_factors()[user * k..user * k + k];
        score_vector(self.item_factors(), k, x, out)
    }

    fn score_new_user(&self, items: &[u32], values: &[f32], out: &mut [f32]) -> Result<()> {
        let x = self.fold_in_user(items, values)?;
        score_vector(self.item_factors(), self.factors(), &x, out);
        Ok(())
    }

    fn similar_items(&self, item: u32, k: usize) -> Result<Vec<(u32, f32)>> {
        let f = self.factors();
        let i = item as usize;
        let q = self.item_factors().get(i * f..i * f + f).ok_or_else(|| {
            Error::param(
                "item",
                format!(
                    "index {item} is out of range (model has {} items)",
                    self.n_items()
                ),
            )
        })?;
        Ok(similar_to_vector(self.item_factors(), q, k, &[item]))
    }
}
