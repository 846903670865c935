//! The baseline every model must beat: items ranked by how many users interacted with them.

use std::any::Any;

use super::{Model, ModelType, NamedArray, Recommender};
use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::params::{ParamSpec, Params, Value, Values};

#[derive(Clone, Debug, PartialEq)]
pub struct Popularity {
    /// Per item: number of users with an entry.
    pub counts: Vec<f32>,
    pub n_users: usize,
}

/// Popularity has no parameters; the empty spec makes any given key an error.
#[derive(Clone, Debug, PartialEq)]
pub struct PopularityParams;

impl Params for PopularityParams {
    fn spec() -> &'static [ParamSpec] {
        &[]
    }
    fn from_values(_: &Values) -> Self {
        PopularityParams
    }
    fn to_values(&self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }
}

pub static TYPE: ModelType = ModelType {
    name: "popularity",
    doc: "Items ranked by how many users have them; the baseline of every evaluation.",
    spec: &[],
    load: |params, mut arrays, n_users, n_items| {
        PopularityParams::from_raw(params.iter().map(|(k, v)| (k.as_str(), v.clone())))?;
        let counts = NamedArray::take(&mut arrays, "item_counts", &[n_items])?;
        Ok(Box::new(Popularity::from_counts(counts, n_users)?))
    },
    // Fitted in one step: nothing to resume.
    resume: None,
};

impl Popularity {
    pub fn fit(user_items: &Csr) -> Self {
        Popularity {
            counts: user_items
                .col_counts()
                .into_iter()
                .map(|c| c as f32)
                .collect(),
            n_users: user_items.n_rows,
        }
    }

    pub fn from_counts(counts: Vec<f32>, n_users: usize) -> Result<Self> {
        if let Some(pos) = counts.iter().position(|c| !c.is_finite()) {
            return Err(Error::param(
                "counts",
                format!("value {} at item {pos} is not finite", counts[pos]),
            ));
        }
        Ok(Popularity { counts, n_users })
    }
}

impl Recommender for Popularity {
    fn n_users(&self) -> usize {
        self.n_users
    }
    /// An item nobody interacted with has no popularity to rank it by.
    fn known_items(&self) -> Option<Vec<bool>> {
        Some(self.counts.iter().map(|&c| c > 0.0).collect())
    }
    fn n_items(&self) -> usize {
        self.counts.len()
    }
    fn score_user(&self, _user: usize, out: &mut [f32]) {
        out.copy_from_slice(&self.counts)
    }
    fn score_new_user(&self, _items: &[u32], _values: &[f32], out: &mut [f32]) -> Result<()> {
        out.copy_from_slice(&self.counts);
        Ok(())
    }
    fn similar_items(&self, _item: u32, _k: usize) -> Result<Vec<(u32, f32)>> {
        Err(Error::Unsupported(
            "popularity has no notion of item similarity; use a factor model such as als".into(),
        ))
    }
}

impl Model for Popularity {
    fn type_name(&self) -> &'static str {
        TYPE.name
    }
    fn params(&self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }
    fn arrays(&self) -> Vec<NamedArray> {
        vec![NamedArray::new(
            "item_counts",
            vec![self.counts.len()],
            self.counts.clone(),
        )]
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
