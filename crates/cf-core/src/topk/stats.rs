//! The range of a model's top-K scores, so that scores of different models can be put on one
//! scale before they are blended: quantiles of the top-k scores of a sample of users.

use super::{recommend_users, Request, SeenItems};
use crate::error::Result;
use crate::models::Recommender;

#[derive(Clone, Debug, PartialEq)]
pub struct ScoreStats {
    /// Users sampled (evenly spaced rows, at most the sample asked for).
    pub users: usize,
    pub k: usize,
    pub min: f32,
    pub p01: f32,
    pub p50: f32,
    pub p99: f32,
    pub max: f32,
}

/// Statistics of the top-`k` scores of up to `sample` users, seen items filtered by
/// `exclude`. None when no user has a score (an empty model).
pub fn score_stats(
    model: &dyn Recommender,
    sample: usize,
    k: usize,
    exclude: &[&dyn SeenItems],
) -> Result<Option<ScoreStats>> {
    let n = model.n_users();
    let take = sample.min(n);
    if take == 0 || model.n_items() == 0 {
        return Ok(None);
    }
    // Evenly spaced rows: deterministic, and not biased to early (often older) users.
    let users: Vec<u32> = (0..take).map(|j| (j * n / take) as u32).collect();
    let mut req = Request::new(k);
    req.exclude = exclude.to_vec();
    let lists = recommend_users(model, &users, &req)?;
    let mut s: Vec<f32> = lists.scores.into_iter().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return Ok(None);
    }
    s.sort_unstable_by(f32::total_cmp);
    let q = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
    Ok(Some(ScoreStats {
        users: take,
        k: lists.width,
        min: s[0],
        p01: q(0.01),
        p50: q(0.5),
        p99: q(0.99),
        max: s[s.len() - 1],
    }))
}
