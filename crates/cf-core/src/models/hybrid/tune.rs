//! The weight search on a validation split: every candidate weighting is scored by NDCG@k
//! (binary gains, the evaluator's definition) over the validation users, each user's parts
//! scored once per pass and reused for every candidate. Pass one: the configured weights and
//! a grid over the simplex of the weighted parts (about 60-80 points); pass two: around the
//! best, half and a quarter of a grid step moved between every two parts. Ties keep the
//! earlier candidate (the configured weights first), so the choice is deterministic, and
//! sums run in user order, so it does not depend on the thread count.

use rayon::prelude::*;

use super::HybridModel;
use crate::data::csr::Csr;
use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq)]
pub struct TuneReport {
    pub k: usize,
    /// Validation users scored (those with training rows).
    pub users: usize,
    /// Candidates tried over both passes.
    pub candidates: usize,
    /// The configured weights' validation NDCG@k.
    pub start: f64,
    /// The chosen weights (one per part, 0 for fallback-only parts) and their NDCG@k.
    pub weights: Vec<f32>,
    pub score: f64,
    /// Each weighted part alone (weight 1, the others 0): its validation NDCG@k.
    pub alone: Vec<(String, f64)>,
}

impl HybridModel {
    /// Choose the weights on `valid` (users x items, held out from `train`, whose rows are
    /// filtered from every list) and keep the best.
    pub fn tune_weights(&mut self, train: &Csr, valid: &Csr, k: usize) -> Result<TuneReport> {
        let report = self.search_weights(train, valid, k)?;
        self.apply_tuning(report.clone())?;
        Ok(report)
    }

    /// Use the weights a search chose and keep its report.
    pub fn apply_tuning(&mut self, report: TuneReport) -> Result<()> {
        self.set_weights(&report.weights)?;
        self.tuning = Some(report);
        Ok(())
    }

    /// The search of [`HybridModel::tune_weights`] without applying its choice (it runs
    /// under a read lock while the model serves).
    pub fn search_weights(&self, train: &Csr, valid: &Csr, k: usize) -> Result<TuneReport> {
        if k == 0 {
            return Err(Error::param("k", "must be >= 1 (got 0)"));
        }
        for (name, m) in [("train", train), ("valid", valid)] {
            if m.n_cols != self.n_items {
                return Err(Error::param(
                    name,
                    format!(
                        "matrix is {} x {}, but the model has {} items",
                        m.n_rows, m.n_cols, self.n_items
                    ),
                ));
            }
        }
        let eligible: Vec<usize> = (0..valid.n_rows.min(train.n_rows))
            .filter(|&u| valid.row_len(u) > 0 && train.row_len(u) > 0)
            .collect();
        // Evenly spaced when there are more than tune_users: deterministic, and not biased to
        // early (often older) users.
        let take = eligible.len().min(self.params.tune_users);
        let users: Vec<usize> = (0..take)
            .map(|j| eligible[j * eligible.len() / take.max(1)])
            .collect();
        let blend: Vec<usize> = (0..self.parts.len())
            .filter(|&j| self.parts[j].weight.is_some())
            .collect();
        let start = self.weights();
        let lift = |w: &[f32]| -> Vec<f32> {
            let mut full = vec![0f32; self.parts.len()];
            for (&j, &x) in blend.iter().zip(w) {
                full[j] = x;
            }
            full
        };
        let b = blend.len();
        let mut first = vec![start.clone()];
        first.extend(simplex(b, grid_steps(b)).iter().map(|w| lift(w)));
        let alone: Vec<Vec<f32>> = (0..b).map(|j| lift(&one_hot(b, j))).collect();
        let pool = crate::pool::pool(self.params.threads)?;
        let scores = pool.install(|| self.score(&users, train, valid, k, &first))?;
        let best = argmax(&scores);
        let step = 1.0 / grid_steps(b) as f32;
        let mut second = vec![first[best].clone()];
        for delta in [step / 2.0, step / 4.0] {
            for &i in &blend {
                for &j in &blend {
                    if i == j || first[best][j] < delta {
                        continue;
                    }
                    let mut w = first[best].clone();
                    w[i] += delta;
                    w[j] -= delta;
                    second.push(w);
                }
            }
        }
        second.extend(alone.iter().cloned());
        let scores2 = pool.install(|| self.score(&users, train, valid, k, &second))?;
        let best2 = argmax(&scores2);
        let report = TuneReport {
            k,
            users: users.len(),
            candidates: first.len() + second.len() - 1 - alone.len(),
            start: scores[0],
            weights: second[best2].clone(),
            score: scores2[best2],
            alone: blend
                .iter()
                .enumerate()
                .map(|(a, &j)| (self.parts[j].name.clone(), scores2[second.len() - b + a]))
                .collect(),
        };
        Ok(report)
    }

    /// Mean NDCG@k of each candidate over `users` (0 for none).
    fn score(
        &self,
        users: &[usize],
        train: &Csr,
        valid: &Csr,
        k: usize,
        cands: &[Vec<f32>],
    ) -> Result<Vec<f64>> {
        let per_user: Vec<Vec<f64>> = users
            .par_iter()
            .map(|&u| -> Result<Vec<f64>> {
                let views = self.views(super::blend::Who::User(u))?;
                let mut out = vec![0f32; self.n_items];
                let seen = train.row(u).0;
                let truth = valid.row(u).0;
                Ok(cands
                    .iter()
                    .map(|w| {
                        self.combine(&views, w, &mut out);
                        let top = crate::topk::select(&out, k, &[seen]);
                        ndcg(&top, truth, k)
                    })
                    .collect())
            })
            .collect::<Result<_>>()?;
        let mut sums = vec![0f64; cands.len()];
        for row in &per_user {
            for (s, v) in sums.iter_mut().zip(row) {
                *s += v;
            }
        }
        let n = users.len().max(1) as f64;
        Ok(sums.into_iter().map(|s| s / n).collect())
    }
}

/// NDCG@k with binary gains, the ideal DCG over min(k, |truth|) hits (`truth` sorted).
fn ndcg(top: &[(u32, f32)], truth: &[u32], k: usize) -> f64 {
    let disc = |r: usize| 1.0 / ((r + 2) as f64).log2();
    let dcg: f64 = top
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, (i, _))| truth.binary_search(i).is_ok())
        .map(|(r, _)| disc(r))
        .sum();
    let ideal: f64 = (0..k.min(truth.len())).map(disc).sum();
    if ideal > 0.0 {
        dcg / ideal
    } else {
        0.0
    }
}

/// The first index of the largest value.
fn argmax(xs: &[f64]) -> usize {
    let mut best = 0;
    for (j, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = j;
        }
    }
    best
}

fn one_hot(b: usize, j: usize) -> Vec<f32> {
    let mut w = vec![0f32; b];
    w[j] = 1.0;
    w
}

/// Grid steps per unit for `b` weighted parts: the finest of 20, 10, 5, 4, 3, 2 whose
/// simplex has at most 80 points.
fn grid_steps(b: usize) -> usize {
    [20, 10, 5, 4, 3, 2]
        .into_iter()
        .find(|&s| binomial(s + b - 1, b - 1) <= 80)
        .unwrap_or(1)
}

fn binomial(n: usize, k: usize) -> usize {
    (0..k).fold(1usize, |acc, i| acc.saturating_mul(n - i) / (i + 1))
}

/// Every weighting of `b` parts in multiples of 1/steps summing to 1.
fn simplex(b: usize, steps: usize) -> Vec<Vec<f32>> {
    fn go(left: usize, parts: usize, steps: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<f32>>) {
        if parts == 1 {
            cur.push(left);
            out.push(cur.iter().map(|&c| c as f32 / steps as f32).collect());
            cur.pop();
            return;
        }
        for c in (0..=left).rev() {
            cur.push(c);
            go(left - c, parts - 1, steps, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    if b > 0 {
        go(steps, b, steps, &mut Vec::new(), &mut out);
    }
    out
}

#[cfg(test)]
pub(crate) fn simplex_for_tests(b: usize) -> Vec<Vec<f32>> {
    simplex(b, grid_steps(b))
}
