//! Putting parts' scores on one scale and combining them: the same code scores a user,
//! someone folded in, and every candidate of the weight search.

use std::cmp::Ordering;

use super::{read, HybridModel, Method, Normalization, Part};
use crate::error::Result;

pub(crate) enum Who<'a> {
    User(usize),
    New(&'a [u32], &'a [f32]),
}

/// One part's scores for one user: the raw scores (what a fallback returns) and their
/// transform onto the blend's scale, NaN where the part does not rank the item; `x` is None
/// when the part knows nothing of the user (every ranked score equal, or none).
pub(crate) struct View {
    pub raw: Vec<f32>,
    pub x: Option<Vec<f32>>,
}

impl HybridModel {
    pub(crate) fn views(&self, who: Who<'_>) -> Result<Vec<View>> {
        self.parts
            .iter()
            .map(|p| {
                let mut raw = vec![0f32; self.n_items];
                let scored = {
                    let m = read(&p.model);
                    // A part grown since the hybrid was built (a partial fit that added items)
                    // no longer lines up with the others: it says nothing until rebuilt.
                    if m.n_items() != self.n_items {
                        return Ok(View { raw, x: None });
                    }
                    match who {
                        Who::User(u) if u < m.n_users() => {
                            m.score_user(u, &mut raw);
                            true
                        }
                        Who::User(_) => false,
                        Who::New(items, values) => {
                            m.score_new_user(items, values, &mut raw)?;
                            true
                        }
                    }
                };
                let x = if scored {
                    self.transform(p, &raw)
                } else {
                    None
                };
                Ok(View { raw, x })
            })
            .collect()
    }

    /// The part's scores on the blend's scale; None when they cannot rank anything.
    fn transform(&self, p: &Part, raw: &[f32]) -> Option<Vec<f32>> {
        let ranked: Vec<u32> = (0..raw.len())
            .filter(|&i| p.knows_item(i) && raw[i].is_finite())
            .map(|i| i as u32)
            .collect();
        let first = raw[*ranked.first()? as usize];
        if ranked.iter().all(|&i| raw[i as usize] == first) {
            return None;
        }
        let mut x = vec![f32::NAN; raw.len()];
        let params = &self.params;
        match params.method {
            Method::Weighted => {
                let (shift, scale) = match (params.normalization, p.range) {
                    (Normalization::ZScore, _) => {
                        let n = ranked.len() as f64;
                        let mean = ranked.iter().map(|&i| raw[i as usize] as f64).sum::<f64>() / n;
                        let var = ranked
                            .iter()
                            .map(|&i| (raw[i as usize] as f64 - mean).powi(2))
                            .sum::<f64>()
                            / n;
                        (mean, var.sqrt())
                    }
                    (Normalization::ScoreRange, Some((lo, hi))) => (lo as f64, (hi - lo) as f64),
                    // min-max, and score_range for a part whose range was degenerate
                    _ => {
                        let (lo, hi) = ranked
                            .iter()
                            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &i| {
                                (lo.min(raw[i as usize]), hi.max(raw[i as usize]))
                            });
                        (lo as f64, (hi - lo) as f64)
                    }
                };
                for &i in &ranked {
                    x[i as usize] = ((raw[i as usize] as f64 - shift) / scale) as f32;
                }
            }
            Method::Rrf | Method::Borda => {
                let mut order = ranked;
                order.sort_unstable_by(|&a, &b| by_score(raw, a, b));
                let n = order.len() as f64;
                for (r, &i) in order.iter().enumerate() {
                    x[i as usize] = match params.method {
                        Method::Rrf => (1.0 / (params.rrf_k + r as f64 + 1.0)) as f32,
                        _ => ((n - r as f64) / n) as f32,
                    };
                }
            }
        }
        Some(x)
    }

    /// Σ weight x scale over the weighted parts that know the user; an item none of them
    /// ranks is -inf (never recommended). With no such part, the first fallback part that
    /// knows the user, its raw scores; with none, nothing is recommended.
    pub(crate) fn combine(&self, views: &[View], weights: &[f32], out: &mut [f32]) {
        let live: Vec<(&[f32], f32)> = views
            .iter()
            .zip(weights)
            .filter(|(_, &w)| w > 0.0)
            .filter_map(|(v, &w)| v.x.as_deref().map(|x| (x, w)))
            .collect();
        if live.is_empty() {
            out.fill(f32::NEG_INFINITY);
            if let Some(&f) = self.fallback.iter().find(|&&f| views[f].x.is_some()) {
                let p = &self.parts[f];
                for (i, o) in out.iter_mut().enumerate() {
                    let s = views[f].raw[i];
                    if p.knows_item(i) && s.is_finite() {
                        *o = s;
                    }
                }
            }
            return;
        }
        for (i, o) in out.iter_mut().enumerate() {
            let (mut acc, mut any) = (0f32, false);
            for &(x, w) in &live {
                let v = x[i];
                if !v.is_nan() {
                    acc += w * v;
                    any = true;
                }
            }
            *o = if any { acc } else { f32::NEG_INFINITY };
        }
    }

    /// Similar items: each weighted part's list (deeper than `k`, so the blend can reorder
    /// it) on the blend's scale, combined; an item no weighted part ranks goes to the
    /// fallback parts' lists in order.
    pub(crate) fn similar(&self, item: u32, k: usize) -> Result<Vec<(u32, f32)>> {
        let n = self.n_items;
        if item as usize >= n {
            return Err(crate::error::Error::param(
                "item",
                format!("index {item} is out of range (model has {n} items)"),
            ));
        }
        let k = crate::topk::check_k(k, n)?;
        let depth = (4 * k).max(100).min(n);
        let list = |p: &Part| -> Result<Vec<(u32, f32)>> {
            if !p.knows_item(item as usize) {
                return Ok(Vec::new());
            }
            let m = read(&p.model);
            if m.n_items() != n {
                return Ok(Vec::new());
            }
            let l = m.similar_items(item, depth)?;
            Ok(l.into_iter().filter(|(_, s)| s.is_finite()).collect())
        };
        let mut acc = vec![f32::NEG_INFINITY; n];
        let mut any = false;
        for p in &self.parts {
            let w = p.weight.unwrap_or(0.0);
            if w <= 0.0 {
                continue;
            }
            let l = list(p)?;
            if l.is_empty() {
                continue;
            }
            any = true;
            let (lo, hi) = (l[l.len() - 1].1, l[0].1);
            let len = l.len() as f64;
            for (r, &(j, s)) in l.iter().enumerate() {
                let x = match self.params.method {
                    Method::Weighted if hi > lo => (s - lo) / (hi - lo),
                    Method::Weighted => 1.0,
                    Method::Rrf => (1.0 / (self.params.rrf_k + r as f64 + 1.0)) as f32,
                    Method::Borda => ((len - r as f64) / len) as f32,
                };
                let a = &mut acc[j as usize];
                *a = if a.is_finite() { *a + w * x } else { w * x };
            }
        }
        if !any {
            for &f in &self.fallback {
                let mut l = list(&self.parts[f])?;
                if !l.is_empty() {
                    l.truncate(k);
                    return Ok(l);
                }
            }
            return Ok(Vec::new());
        }
        Ok(crate::topk::select(&acc, k, &[&[item]]))
    }
}

/// Higher score first, then the lower index (the order every list uses).
pub(crate) fn by_score(raw: &[f32], a: u32, b: u32) -> Ordering {
    raw[b as usize].total_cmp(&raw[a as usize]).then(a.cmp(&b))
}
