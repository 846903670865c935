//! What every factor model shares: a user and an item matrix of `k` factors, scored by dot
//! product, items compared by cosine. A model implements [`FactorModel`] (its factors and
//! its fold-in) and gets [`Recommender`] from here, written once for ALS and the factor
//! models that follow it.

use super::Recommender;
use crate::error::{Error, Result};

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
    /// The fold-in score of `item` split by liked item, for models whose fold-in is linear in
    /// its right-hand side (ALS); None otherwise.
    fn explain_fold_in(
        &self,
        _items: &[u32],
        _values: &[f32],
        _item: u32,
    ) -> Result<Option<super::explain::Explanation>> {
        Ok(None)
    }
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

/// Scores of every item for a user vector `x`, as the top-K engine computes them (one
/// fused multiply-add per factor, in factor order).
pub fn score_vector(item_factors: &[f32], k: usize, x: &[f32], out: &mut [f32]) {
    crate::topk::dense::scores(&crate::topk::kernel::Packed::new(item_factors, k), x, out)
}

/// The `k` items closest to `q` by cosine, `exclude` (sorted) left out: the top-K engine's
/// cosine list for a vector that is not a row of the model. Items with a zero vector, and
/// every item for a zero `q`, rank nothing.
pub fn similar_to_vector(
    item_factors: &[f32],
    q: &[f32],
    k: usize,
    exclude: &[u32],
) -> Vec<(u32, f32)> {
    crate::topk::similar_to_vector(item_factors, q, k, exclude)
}

impl<T: FactorModel> Recommender for T {
    fn n_users(&self) -> usize {
        self.user_factors().len() / self.factors()
    }

    fn n_items(&self) -> usize {
        self.item_factors().len() / self.factors()
    }

    /// Items with an all-zero factor row score 0 whatever the user: nothing was learnt of them.
    fn known_items(&self) -> Option<Vec<bool>> {
        let k = self.factors();
        Some(
            self.item_factors()
                .chunks(k.max(1))
                .map(|r| r.iter().any(|&v| v != 0.0))
                .collect(),
        )
    }

    fn explain(
        &self,
        items: &[u32],
        values: &[f32],
        item: u32,
    ) -> Result<Option<super::explain::Explanation>> {
        self.explain_fold_in(items, values, item)
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
        let lists = crate::topk::similar(
            self,
            crate::topk::Side::Items,
            &[item],
            crate::topk::Measure::Cosine,
            &crate::topk::Request::new(k),
        )?;
        Ok(lists.pairs(0))
    }

    fn factor_view(&self) -> Option<super::Factors<'_>> {
        Some(super::Factors {
            users: self.user_factors(),
            items: self.item_factors(),
            f: self.factors(),
        })
    }

    fn fold_in_vector(&self, items: &[u32], values: &[f32]) -> Result<Option<Vec<f32>>> {
        self.fold_in_user(items, values).map(Some)
    }
}
