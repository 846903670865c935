//! Top-K for any [`Recommender`]: bounded selection with exclusions (already-seen items),
//! for known users, for users folded in from their items, and for batches.
//!
//! Ties go to the lower item index, so results are deterministic. `k` larger than the
//! number of items returns every rankable item (nothing is allocated beyond that).

use rayon::prelude::*;

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
    let k = k.min(scores.len());
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return best;
    }
    let mut cursors = vec![0usize; exclude.len()];
    for (i, &s) in scores.iter().enumerate() {
        let i = i as u32;
        let mut skip = false;
        for (c, list) in cursors.iter_mut().zip(exclude) {
            while *c < list.len() && list[*c] < i {
                *c += 1;
            }
            skip |= *c < list.len() && list[*c] == i;
        }
        if skip || !s.is_finite() {
            continue;
        }
        // Strictly greater: an equal score never displaces a lower index.
        if best.len() == k && s <= best[k - 1].1 {
            continue;
        }
        let pos = best.partition_point(|&(_, b)| b >= s);
        best.insert(pos, (i, s));
        best.truncate(k);
    }
    best
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

fn check_sources(model: &dyn Recommender, exclude: &[&dyn SeenItems]) -> Result<()> {
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

/// Top-k for one known user, items of every `exclude` source left out.
pub fn recommend(
    model: &dyn Recommender,
    user: u32,
    k: usize,
    exclude: &[&dyn SeenItems],
) -> Result<Vec<(u32, f32)>> {
    check_user(model, user)?;
    let k = check_k(k, model.n_items())?;
    check_sources(model, exclude)?;
    let mut scores = vec![0f32; model.n_items()];
    model.score_user(user as usize, &mut scores);
    let lists: Vec<&[u32]> = exclude.iter().map(|m| m.seen(user as usize)).collect();
    Ok(select(&scores, k, &lists))
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

/// Top-k for someone not in the model, from the items they interacted with (fold-in); those
/// items are left out of the ranking.
pub fn recommend_for_items(
    model: &dyn Recommender,
    items: &[u32],
    values: &[f32],
    k: usize,
) -> Result<Vec<(u32, f32)>> {
    let k = check_k(k, model.n_items())?;
    check_items(items, values, model.n_items())?;
    if items.is_empty() {
        return Err(Error::param(
            "items",
            "is empty: fold-in needs at least one item (rank by popularity for users without history)",
        ));
    }
    let mut scores = vec![0f32; model.n_items()];
    model.score_new_user(items, values, &mut scores)?;
    let mut seen = items.to_vec();
    seen.sort_unstable();
    seen.dedup();
    Ok(select(&scores, k, &[&seen]))
}

/// Items most similar to `item`, the item itself left out.
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

/// Top-k for each user, padded with (u32::MAX, NaN) when fewer items remain; `k` is capped
/// at the number of items, and the rows are `k.min(n_items)` wide.
pub fn recommend_batch(
    model: &dyn Recommender,
    users: &[u32],
    k: usize,
    exclude: &[&dyn SeenItems],
) -> Result<(Vec<u32>, Vec<f32>)> {
    let k = check_k(k, model.n_items())?;
    check_sources(model, exclude)?;
    if let Some(&u) = users.iter().find(|&&u| u as usize >= model.n_users()) {
        check_user(model, u)?;
    }
    let n_items = model.n_items();
    let rows: Vec<Vec<(u32, f32)>> = users
        .par_iter()
        .map_init(
            || vec![0f32; n_items],
            |buf, &u| {
                model.score_user(u as usize, buf);
                let lists: Vec<&[u32]> = exclude.iter().map(|m| m.seen(u as usize)).collect();
                select(buf, k, &lists)
            },
        )
        .collect();
    let mut ids = vec![u32::MAX; users.len() * k];
    let mut scores = vec![f32::NAN; users.len() * k];
    for (r, row) in rows.iter().enumerate() {
        for (j, &(i, s)) in row.iter().enumerate() {
            ids[r * k + j] = i;
            scores[r * k + j] = s;
        }
    }
    Ok((ids, scores))
}

#[cfg(test)]
mod tests {
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
