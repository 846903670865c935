//! Hybrid: a blend of other models of the same data. Each part's scores for a user are put
//! on one scale (`params::Method`: normalised scores, reciprocal ranks or Borda shares) and
//! summed with the part's weight; a part says nothing of items it does not rank
//! (`Recommender::known_items`: ALS's zero rows, kNN's items without neighbours) and of
//! users whose scores are all equal (no history). A user no weighted part knows gets the
//! first fallback part that knows them (for example ALS, then content, then popularity).
//!
//! Parts are shared, not copied: a hybrid holds the same model objects the caller fitted
//! or loaded (an EASE part can be a gigabyte), read-locked for each use.

mod blend;
pub mod params;
#[cfg(test)]
mod tests;
mod tune;

use std::any::Any;
use std::sync::{Arc, RwLock, RwLockReadGuard};

pub use params::{HybridParams, Method, Normalization, SPEC};
pub use tune::TuneReport;

use super::{Model, ModelType, NamedArray, Recommender};
use crate::error::{Error, Result};
use crate::params::{Checked, Params, Value};

/// A model as the binding holds it: shared between its own handle and the hybrids using it.
pub type SharedModel = Arc<RwLock<Box<dyn Model>>>;

pub(crate) fn read(m: &SharedModel) -> RwLockReadGuard<'_, Box<dyn Model>> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

/// One model of a hybrid.
pub struct Part {
    pub name: String,
    pub model: SharedModel,
    /// Its weight in the blend; None for a part that is only a fallback.
    pub weight: Option<f32>,
    /// Items it ranks (None: all).
    known: Option<Vec<bool>>,
    /// p01 and p99 of its top-10 scores over a sample of users (score_range only).
    range: Option<(f32, f32)>,
}

impl Part {
    fn knows_item(&self, i: usize) -> bool {
        self.known
            .as_ref()
            .is_none_or(|k| k.get(i).copied().unwrap_or(false))
    }
}

pub struct HybridModel {
    pub params: Checked<HybridParams>,
    pub parts: Vec<Part>,
    /// Indices into `parts`, in the order they are tried for a user no weighted part knows.
    pub fallback: Vec<usize>,
    n_users: usize,
    n_items: usize,
    /// The weight search of the fit, when one ran.
    pub tuning: Option<TuneReport>,
}

pub static TYPE: ModelType = ModelType {
    name: "hybrid",
    doc: "A blend of other models of the same config (blend: { parts: { name: weight }, fallback: [names] }): weighted normalised scores, reciprocal rank fusion or Borda count, weights chosen on validation; users no part knows go to the fallback parts in order.",
    spec: SPEC,
    // A hybrid's arrays are only its weights: its parts are saved (and loaded) beside it as
    // models of their own, so a load through the registry alone has nothing to blend.
    load: |_, _, _, _| {
        Err(Error::Unsupported(
            "a hybrid model is built from its parts: load its folder with loadModel, which loads the parts saved in it".into(),
        ))
    },
    resume: None,
};

impl HybridModel {
    /// A hybrid of `parts` (name, model, weight; None for fallback-only parts), `fallback`
    /// naming parts by position. Every part must rank the same items; weights are finite and
    /// >= 0, not all 0.
    pub fn new(
        params: Checked<HybridParams>,
        parts: Vec<(String, SharedModel, Option<f32>)>,
        fallback: Vec<usize>,
    ) -> Result<Self> {
        if parts.is_empty() {
            return Err(Error::param("parts", "a hybrid needs at least one part"));
        }
        let mut names: Vec<&str> = Vec::new();
        for (name, _, w) in &parts {
            if name.is_empty() {
                return Err(Error::param("parts", "a part's name is empty"));
            }
            if names.contains(&name.as_str()) {
                return Err(Error::param(
                    "parts",
                    format!("part {name:?} is named twice"),
                ));
            }
            names.push(name);
            if let Some(w) = w {
                if !w.is_finite() || *w < 0.0 {
                    return Err(Error::param(
                        "weights",
                        format!("part {name:?}: weight {w} must be a finite number >= 0"),
                    ));
                }
            }
        }
        let weighted: Vec<f32> = parts.iter().filter_map(|p| p.2).collect();
        if weighted.is_empty() || weighted.iter().all(|&w| w == 0.0) {
            return Err(Error::param(
                "weights",
                "at least one part needs a weight above 0",
            ));
        }
        for (j, &f) in fallback.iter().enumerate() {
            if f >= parts.len() {
                return Err(Error::param(
                    "fallback",
                    format!("entry {j} is part {f}, but there are {} parts", parts.len()),
                ));
            }
            if fallback[..j].contains(&f) {
                return Err(Error::param(
                    "fallback",
                    format!("part {:?} is listed twice", parts[f].0),
                ));
            }
        }
        let n_items = read(&parts[0].1).n_items();
        let mut n_users = 0;
        let mut out = Vec::with_capacity(parts.len());
        for (name, model, weight) in parts {
            let (known, range) = {
                let m = read(&model);
                if m.type_name() == TYPE.name {
                    return Err(Error::param(
                        "parts",
                        format!("part {name:?} is itself a hybrid; blend its parts instead"),
                    ));
                }
                if m.n_items() != n_items {
                    return Err(Error::param(
                        "parts",
                        format!(
                            "part {name:?} has {} items, the first part {n_items}: parts must be fitted on the same data",
                            m.n_items()
                        ),
                    ));
                }
                n_users = n_users.max(m.n_users());
                let range = if params.normalization == Normalization::ScoreRange {
                    crate::topk::score_stats(&**m, 1000, 10, &[])?
                        .map(|s| (s.p01, s.p99))
                        .filter(|(lo, hi)| hi > lo)
                } else {
                    None
                };
                (m.known_items(), range)
            };
            out.push(Part {
                name,
                model,
                weight,
                known,
                range,
            });
        }
        Ok(HybridModel {
            params,
            parts: out,
            fallback,
            n_users,
            n_items,
            tuning: None,
        })
    }

    /// The weight of each part (0 for fallback-only parts), as the blend uses them.
    pub fn weights(&self) -> Vec<f32> {
        self.parts.iter().map(|p| p.weight.unwrap_or(0.0)).collect()
    }

    /// Set the blend's weights (one per part; fallback-only parts must stay 0).
    pub fn set_weights(&mut self, w: &[f32]) -> Result<()> {
        if w.len() != self.parts.len() {
            return Err(Error::param(
                "weights",
                format!("{} weights for {} parts", w.len(), self.parts.len()),
            ));
        }
        for (p, &x) in self.parts.iter_mut().zip(w) {
            if p.weight.is_some() {
                p.weight = Some(x);
            }
        }
        Ok(())
    }
}

impl Recommender for HybridModel {
    fn n_users(&self) -> usize {
        self.n_users
    }
    fn n_items(&self) -> usize {
        self.n_items
    }
    fn score_user(&self, user: usize, out: &mut [f32]) {
        // Only a fold-in can fail (its item list is checked); a known user's scoring cannot,
        // but a failure would rank nothing rather than abort.
        match self.views(blend::Who::User(user)) {
            Ok(views) => self.combine(&views, &self.weights(), out),
            Err(_) => out.fill(f32::NEG_INFINITY),
        }
    }
    fn score_new_user(&self, items: &[u32], values: &[f32], out: &mut [f32]) -> Result<()> {
        crate::topk::check_items(items, values, self.n_items)?;
        let views = self.views(blend::Who::New(items, values))?;
        self.combine(&views, &self.weights(), out);
        Ok(())
    }
    fn similar_items(&self, item: u32, k: usize) -> Result<Vec<(u32, f32)>> {
        self.similar(item, k)
    }
    fn known_items(&self) -> Option<Vec<bool>> {
        let mut any = vec![false; self.n_items];
        for p in &self.parts {
            for (i, a) in any.iter_mut().enumerate() {
                *a |= p.knows_item(i);
            }
        }
        Some(any)
    }
}

impl Model for HybridModel {
    fn type_name(&self) -> &'static str {
        TYPE.name
    }
    fn params(&self) -> Vec<(&'static str, Value)> {
        self.params.to_values()
    }
    /// The weights, one per part in order; -1 marks a part that is only a fallback.
    fn arrays(&self) -> Vec<NamedArray> {
        let w = self
            .parts
            .iter()
            .map(|p| p.weight.unwrap_or(-1.0))
            .collect();
        vec![NamedArray::new("weights", vec![self.parts.len()], w)]
    }
    fn threads(&self) -> usize {
        self.params.threads
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// The type of a part's model (as in a config's `type:`).
pub fn part_type(p: &Part) -> &'static str {
    read(&p.model).type_name()
}

/// One part's share of a hybrid's score for an item.
#[derive(Clone, Debug)]
pub struct PartShare {
    pub name: String,
    /// Its weight (0 for fallback-only parts).
    pub weight: f32,
    /// Its own score of the item, and that score on the blend's scale (NaN where the part
    /// does not rank the item or know the user).
    pub raw: f32,
    pub scaled: f32,
    /// weight x scaled: what it adds to the hybrid's score (0 when it adds nothing).
    pub contribution: f32,
    /// Its own split of `raw` by liked item, where it has one.
    pub explanation: Option<crate::models::explain::Explanation>,
}

impl HybridModel {
    /// Why `item` scores what it does: the hybrid's score and each part's share, for a known
    /// `user` (scored as `score_user` does) or someone with `items` only; `items` and
    /// `values` (the user's liked items either way) feed each part's own explanation. The
    /// index of the fallback part that answered, when no weighted part knows the user.
    pub fn explain_parts(
        &self,
        user: Option<usize>,
        items: &[u32],
        values: &[f32],
        item: u32,
    ) -> Result<(f32, Vec<PartShare>, Option<usize>)> {
        crate::topk::check_items(items, values, self.n_items)?;
        if item as usize >= self.n_items {
            return Err(Error::param(
                "item",
                format!(
                    "index {item} is out of range (model has {} items)",
                    self.n_items
                ),
            ));
        }
        let views = match user {
            Some(u) => self.views(blend::Who::User(u))?,
            None => self.views(blend::Who::New(items, values))?,
        };
        let weights = self.weights();
        let mut out = vec![0f32; self.n_items];
        self.combine(&views, &weights, &mut out);
        let live = views
            .iter()
            .zip(&weights)
            .any(|(v, &w)| w > 0.0 && v.x.is_some());
        let fallback = if live {
            None
        } else {
            self.fallback
                .iter()
                .copied()
                .find(|&f| views[f].x.is_some())
        };
        let i = item as usize;
        let shares = self
            .parts
            .iter()
            .zip(&views)
            .zip(&weights)
            .map(|((p, v), &w)| -> Result<PartShare> {
                let scaled = v.x.as_ref().map_or(f32::NAN, |x| x[i]);
                let contribution = if live && w > 0.0 && !scaled.is_nan() {
                    w * scaled
                } else {
                    0.0
                };
                Ok(PartShare {
                    name: p.name.clone(),
                    weight: w,
                    raw: if p.knows_item(i) { v.raw[i] } else { f32::NAN },
                    scaled,
                    contribution,
                    explanation: {
                        let m = read(&p.model);
                        if m.n_items() == self.n_items {
                            m.explain(items, values, item)?
                        } else {
                            None
                        }
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((out[i], shares, fallback))
    }
}
