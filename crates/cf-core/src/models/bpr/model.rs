//! BPR as a model of the family: its factor rows for the shared factor layer (the item bias,
//! when on, is the last column of an item row and users hold 1.0 there, so a score is still
//! one dot product), its type entry, and what a saved BPR model holds.

use std::any::Any;

use super::{BprModel, BprParams, SPEC};
use crate::error::Result;
use crate::models::factor::FactorModel;
use crate::models::{Model, ModelType, NamedArray};
use crate::params::{Params, Value};

pub static TYPE: ModelType = ModelType {
    name: "bpr",
    doc: "Bayesian personalised ranking (Rendle et al. 2009) with an item bias, verified negatives (uniform, popularity, DNS, hard-negative mixer), SGD or AdamW, block-scheduled: the same seed gives the same model on any thread count.",
    spec: SPEC,
    load: |params, mut arrays, n_users, n_items| {
        let p = BprParams::from_raw(params.iter().map(|(k, v)| (k.as_str(), v.clone())))?;
        let d = p.width();
        let users = NamedArray::take(&mut arrays, "user_factors", &[n_users, d])?;
        let items = NamedArray::take(&mut arrays, "item_factors", &[n_items, d])?;
        Ok(Box::new(BprModel::from_factors(p, users, items)?))
    },
    resume: Some(|params, state, train| {
        let p = BprParams::from_raw(params.iter().map(|(k, v)| (k.as_str(), v.clone())))?;
        Ok(Box::new(BprModel::from_train_state(p, state, train.n_rows, train.n_cols)?))
    }),
};

impl FactorModel for BprModel {
    fn factors(&self) -> usize {
        self.width()
    }
    fn user_factors(&self) -> &[f32] {
        &self.user_factors
    }
    fn item_factors(&self) -> &[f32] {
        &self.item_factors
    }
    fn fold_in_user(&self, items: &[u32], values: &[f32]) -> Result<Vec<f32>> {
        BprModel::fold_in_user(self, items, values)
    }
}

impl Model for BprModel {
    fn type_name(&self) -> &'static str {
        TYPE.name
    }
    fn params(&self) -> Vec<(&'static str, Value)> {
        self.params.to_values()
    }
    /// `user_factors` and `item_factors`, `width` columns each (the item bias is the last
    /// item column when on).
    fn arrays(&self) -> Vec<NamedArray> {
        let d = self.width();
        vec![
            NamedArray::new(
                "user_factors",
                vec![self.n_users, d],
                self.user_factors.to_vec(),
            ),
            NamedArray::new(
                "item_factors",
                vec![self.n_items, d],
                self.item_factors.to_vec(),
            ),
        ]
    }
    fn threads(&self) -> usize {
        self.params.threads
    }
    fn train_state(&self) -> Option<crate::checkpoint::TrainState> {
        Some(BprModel::train_state(self))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
