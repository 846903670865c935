//! Bounded top-K selection with exclusions (already-seen items).
//!
//! Ties go to the lower item index, so results are deterministic.

use rayon::prelude::*;

use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::models::Scorer;

/// The k best (item, score) pairs, best first, skipping items in any of the sorted `exclude`
/// lists and non-finite scores.
pub fn select(scores: &[f32], k: usize, exclude: &[&[u32]]) -> Vec<(u32, f32)> {
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

/// Top-k for each user, padded with (u32::MAX, NaN) when fewer items remain.
pub fn recommend_batch(
    scorer: &dyn Scorer,
    users: &[u32],
    k: usize,
    exclude: &[&Csr],
) -> Result<(Vec<u32>, Vec<f32>)> {
    if k == 0 {
        return Err(Error::param("k", "must be >= 1 (got 0)"));
    }
    let n_items = scorer.n_items();
    // Fewer columns is fine: a matrix from before items were added (partial fit) has never
    // seen them. Rows past its end (users added since) have nothing to filter.
    for m in exclude {
        if m.n_cols > n_items {
            return Err(Error::param(
                "filter",
                format!("matrix has {} items, the model {n_items}", m.n_cols),
            ));
        }
    }
    let rows: Vec<Vec<(u32, f32)>> = users
        .par_iter()
        .map_init(
            || vec![0f32; n_items],
            |buf, &u| {
                scorer.score_user(u as usize, buf);
                let lists: Vec<&[u32]> = exclude
                    .iter()
                    .filter(|m| (u as usize) < m.n_rows)
                    .map(|m| m.row(u as usize).0)
                    .collect();
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
    }

    #[test]
    fn filters_with_a_matrix_older_than_the_model() {
        // The model has 4 items and 3 users; the filter matrix predates item 3 and user 2.
        let model = crate::models::popularity::Popularity {
            counts: vec![1.0, 3.0, 2.0, 4.0],
        };
        let old = Csr::from_coo(2, 3, &[0, 1], &[1, 2], &[1.0, 1.0]).unwrap();
        let (ids, _) = recommend_batch(&model, &[0, 2], 2, &[&old]).unwrap();
        assert_eq!(ids, vec![3, 2, 3, 1]);
        let wider = Csr::empty(2, 5);
        assert!(recommend_batch(&model, &[0], 2, &[&wider]).is_err());
    }
}
