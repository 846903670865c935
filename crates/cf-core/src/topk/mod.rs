//! Top-K for any [`Recommender`]: bounded selection with exclusions (already-seen items),
//! for known users, for users folded in from their items, and for batches.
//!
//! Ties go to the lower item index, so results are deterministic. `k` larger than the
//! number of items returns every rankable item (nothing is allocated beyond that).
//!
//! Factor models go through one engine ([`dense`]: tiled GEMM fused with bounded selection,
//! filters applied during selection); other models score a row at a time and share the same
//! selection and filters.

pub mod dense;
pub mod filter;
pub mod heap;
pub mod kernel;
pub mod norm_order;
pub mod quant;
mod query;
pub mod scan;
mod stats;
#[cfg(test)]
mod tests;

pub use query::*;
pub use stats::*;

use heap::Best;
use scan::scan;

use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::models::Recommender;

/// Whose items a user already has: a training matrix, or one with rows replaced since.
pub trait SeenItems: Sync {
    /// Sorted item indices of `user`; empty for rows the source does not have.
    fn seen(&self, user: usize) -> &[u32];
    /// Columns the source knows; more than the model has means it belongs to another model.
    fn n_cols(&self) -> usize;
}

impl SeenItems for Csr {
    fn seen(&self, user: usize) -> &[u32] {
        if user < self.n_rows {
            self.row(user).0
        } else {
            &[]
        }
    }
    fn n_cols(&self) -> usize {
        self.n_cols
    }
}

/// The k best (item, score) pairs, best first, skipping items in any of the sorted `exclude`
/// lists and non-finite scores.
pub fn select(scores: &[f32], k: usize, exclude: &[&[u32]]) -> Vec<(u32, f32)> {
    let mut best = Best::new(k.min(scores.len()));
    scan(scores, &mut best, &|j| j as u32, &mut |i| {
        exclude.iter().all(|l| l.binary_search(&i).is_err())
    });
    best.into_sorted()
}

/// `k` must be at least 1; it is capped at the number of items.
pub fn check_k(k: usize, n_items: usize) -> Result<usize> {
    if k == 0 {
        return Err(Error::param("k", "must be >= 1 (got 0)"));
    }
    Ok(k.min(n_items))
}

pub fn check_user(model: &dyn Recommender, user: u32) -> Result<()> {
    if user as usize >= model.n_users() {
        return Err(Error::param(
            "user",
            format!(
                "index {user} is out of range (model has {} users)",
                model.n_users()
            ),
        ));
    }
    Ok(())
}

pub(crate) fn check_sources(model: &dyn Recommender, exclude: &[&dyn SeenItems]) -> Result<()> {
    // Fewer columns is fine: a matrix from before items were added (partial fit) has never
    // seen them. Rows past its end (users added since) have nothing to filter.
    for m in exclude {
        if m.n_cols() > model.n_items() {
            return Err(Error::param(
                "exclude",
                format!(
                    "matrix has {} items, the model {}",
                    m.n_cols(),
                    model.n_items()
                ),
            ));
        }
    }
    Ok(())
}

/// Item ids with their values (1 each when `values` is None): same length, ids in range,
/// values finite and >= 0 (they are interaction strengths).
pub fn check_items(items: &[u32], values: &[f32], n_items: usize) -> Result<()> {
    if items.len() != values.len() {
        return Err(Error::param(
            "values",
            format!("has {} entries for {} items", values.len(), items.len()),
        ));
    }
    if let Some(pos) = items.iter().position(|&i| i as usize >= n_items) {
        return Err(Error::param(
            "items",
            format!(
                "index {} at position {pos} is out of range (model has {n_items} items)",
                items[pos]
            ),
        ));
    }
    check_strengths(values)
}

/// Interaction strengths (fold-in values) must be finite and >= 0.
pub fn check_strengths(values: &[f32]) -> Result<()> {
    if let Some(pos) = values.iter().position(|v| !v.is_finite() || *v < 0.0) {
        let v = values[pos];
        let why = if v.is_finite() {
            "is negative"
        } else {
            "is not finite"
        };
        return Err(Error::param(
            "values",
            format!(
                "value {} at position {pos} {why}; values are interaction strengths (confidence 1 + alpha * value) and must be finite and >= 0",
                crate::args::show32(v)
            ),
        ));
    }
    Ok(())
}

/// Top-k for one known user, items of every `exclude` source left out.
pub fn recommend(
    model: &dyn Recommender,
    user: u32,
    k: usize,
    exclude: &[&dyn SeenItems],
) -> Result<Vec<(u32, f32)>> {
    check_user(model, user)?;
    let mut req = Request::new(k);
    req.exclude = exclude.to_vec();
    Ok(recommend_users(model, &[user], &req)?.pairs(0))
}

/// Top-k for each user, padded with (u32::MAX, NaN) when fewer items remain; `k` is capped
/// at the number of items, and the rows are `k.min(n_items)` wide.
pub fn recommend_batch(
    model: &dyn Recommender,
    users: &[u32],
    k: usize,
    exclude: &[&dyn SeenItems],
) -> Result<(Vec<u32>, Vec<f32>)> {
    let mut req = Request::new(k);
    req.exclude = exclude.to_vec();
    let l = recommend_users(model, users, &req)?;
    Ok((l.ids, l.scores))
}

/// Top-k for someone not in the model, from the items they interacted with (fold-in); those
/// items are left out of the ranking.
pub fn recommend_for_items(
    model: &dyn Recommender,
    items: &[u32],
    values: &[f32],
    k: usize,
) -> Result<Vec<(u32, f32)>> {
    recommend_items(model, items, values, &Request::new(k))
}

/// Items most similar to `item` by the model's own measure, the item itself left out.
pub fn similar_items(model: &dyn Recommender, item: u32, k: usize) -> Result<Vec<(u32, f32)>> {
    let k = check_k(k, model.n_items())?;
    if item as usize >= model.n_items() {
        return Err(Error::param(
            "item",
            format!(
                "index {item} is out of range (model has {} items)",
                model.n_items()
            ),
        ));
    }
    model.similar_items(item, k)
}

#[cfg(test)]
mod unit {
    use super::*;
    use crate::models::popularity::Popularity;

    #[test]
    fn selects_best_with_exclusions_and_ties() {
        let s = [0.5, 0.9, 0.9, f32::NAN, 0.1, 0.7];
        assert_eq!(select(&s, 3, &[]), vec![(1, 0.9), (2, 0.9), (5, 0.7)]);
        assert_eq!(
            select(&s, 3, &[&[1], &[5]]),
            vec![(2, 0.9), (0, 0.5), (4, 0.1)]
        );
        assert_eq!(select(&s, 10, &[&[0, 1, 2]]).len(), 2);
        assert!(select(&s, 0, &[]).is_empty());
        // A huge k allocates for the items there are, not for k.
        assert_eq!(select(&s, usize::MAX, &[]).len(), 5);
    }

    fn model() -> Popularity {
        Popularity::from_counts(vec![1.0, 3.0, 2.0, 4.0], 3).unwrap()
    }

    #[test]
    fn filters_with_a_matrix_older_than_the_model() {
        // The model has 4 items and 3 users; the filter matrix predates item 3 and user 2.
        let old = Csr::from_coo(2, 3, &[0, 1], &[1, 2], &[1.0, 1.0]).unwrap();
        let (ids, _) = recommend_batch(&model(), &[0, 2], 2, &[&old]).unwrap();
        assert_eq!(ids, vec![3, 2, 3, 1]);
        let wider = Csr::empty(2, 5);
        assert!(recommend_batch(&model(), &[0], 2, &[&wider]).is_err());
    }

    #[test]
    fn k_is_capped_and_bad_indices_are_errors() {
        let m = model();
        let (ids, _) = recommend_batch(&m, &[0], 1_000_000_000, &[]).unwrap();
        assert_eq!(ids, vec![3, 1, 2, 0]);
        assert_eq!(recommend(&m, 1, usize::MAX, &[]).unwrap().len(), 4);
        let e = recommend(&m, 3, 2, &[]).unwrap_err().to_string();
        assert_eq!(e, "user: index 3 is out of range (model has 3 users)");
        assert!(recommend(&m, 0, 0, &[]).is_err());
        assert!(recommend_batch(&m, &[0, 7], 2, &[]).is_err());
        assert!(similar_items(&m, 9, 2)
            .unwrap_err()
            .to_string()
            .contains("item: index 9"));
        assert_eq!(
            similar_items(&m, 1, 2).unwrap_err().code(),
            "ERR_CF_UNSUPPORTED"
        );
    }

    #[test]
    fn fold_in_input_is_checked() {
        let m = model();
        assert_eq!(
            recommend_for_items(&m, &[1, 3], &[1.0, 1.0], 5).unwrap(),
            vec![(2, 2.0), (0, 1.0)]
        );
        assert!(recommend_for_items(&m, &[], &[], 5).is_err());
        assert!(recommend_for_items(&m, &[4], &[1.0], 5)
            .unwrap_err()
            .to_string()
            .contains("items: index 4"));
        assert!(recommend_for_items(&m, &[1], &[1.0, 2.0], 5).is_err());
        assert!(recommend_for_items(&m, &[1], &[-1.0], 5)
            .unwrap_err()
            .to_string()
            .contains("is negative"));
        assert!(recommend_for_items(&m, &[1], &[f32::NAN], 5).is_err());
    }
}
