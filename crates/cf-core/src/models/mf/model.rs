//! mf as a model of the family: its factor rows for the shared factor layer (an item row
//! ends with b_i and a user row with 1.0, so ranking is one dot product), its rating
//! predictions, its type entry and what a saved mf model holds.

use std::any::Any;

use super::{MfModel, MfParams, SPEC};
use crate::error::Result;
use crate::models::factor::FactorModel;
use crate::models::{Model, ModelType, NamedArray, RatingPredictor};
use crate::params::{Params, Value};

pub static TYPE: ModelType = ModelType {
    name: "mf",
    doc: "Biased matrix factorisation for explicit ratings (global mean, user and item biases, regularised factors) by ALS or block-scheduled SGD, deterministic at any thread count, early stopping on validation RMSE; predicts ratings (RMSE/MAE) and ranks by b_i + p_u.q_i.",
    spec: SPEC,
    load: |params, mut arrays, n_users, n_items| {
        let p = MfParams::from_raw(params.iter().map(|(k, v)| (k.as_str(), v.clone())))?;
        let d = p.width();
        let users = NamedArray::take(&mut arrays, "user_factors", &[n_users, d])?;
        let items = NamedArray::take(&mut arrays, "item_factors", &[n_items, d])?;
        let bias = NamedArray::take(&mut arrays, "user_bias", &[n_users])?;
        let stats = NamedArray::take(&mut arrays, "rating_stats", &[3])?;
        Ok(Box::new(MfModel::from_parts(
            p, users, items, bias, stats[0], stats[1], stats[2],
        )?))
    },
    resume: Some(|params, state, train| {
        let p = MfParams::from_raw(params.iter().map(|(k, v)| (k.as_str(), v.clone())))?;
        Ok(Box::new(MfModel::from_train_state(p, state, train)?))
    }),
};

impl FactorModel for MfModel {
    fn factors(&self) -> usize {
        self.width()
    }
    fn user_factors(&self) -> &[f32] {
        &self.user_factors
    }
    fn item_factors(&self) -> &[f32] {
        &self.item_factors
    }
    /// `values` are the user's ratings (not interaction strengths): a ridge solve with the
    /// items fixed (see `MfModel::fold_in`).
    fn fold_in_user(&self, items: &[u32], values: &[f32]) -> Result<Vec<f32>> {
        self.fold_in_row(items, values)
    }
}

impl Model for MfModel {
    fn type_name(&self) -> &'static str {
        TYPE.name
    }
    fn params(&self) -> Vec<(&'static str, Value)> {
        self.params.to_values()
    }
    /// `user_factors` ([p_u, 1.0]) and `item_factors` ([q_i, b_i]), `factors + 1` columns
    /// each; `user_bias` (b_u); `rating_stats` [μ, smallest rating, largest rating].
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
            NamedArray::new("user_bias", vec![self.n_users], self.user_bias.clone()),
            NamedArray::new(
                "rating_stats",
                vec![3],
                vec![self.mean, self.rating_min, self.rating_max],
            ),
        ]
    }
    fn threads(&self) -> usize {
        self.params.threads
    }
    fn ratings(&self) -> Option<&dyn RatingPredictor> {
        Some(self)
    }
    fn train_state(&self) -> Option<crate::checkpoint::TrainState> {
        Some(MfModel::train_state(self))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
