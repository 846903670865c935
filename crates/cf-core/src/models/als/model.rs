//! ALS as a model of the family: its factors for the shared factor layer, its type entry,
//! and what a saved ALS model holds.

use std::any::Any;

use super::{AlsModel, AlsParams, SPEC};
use crate::checkpoint::{StateData, TrainState};
use crate::error::Result;
use crate::models::factor::FactorModel;
use crate::models::rows_len;
use crate::models::{Model, ModelType, NamedArray};
use crate::params::{Params, Value};

pub static TYPE: ModelType = ModelType {
    name: "als",
    doc: "Implicit-feedback alternating least squares (Hu, Koren & Volinsky 2008), conjugate-gradient or exact.",
    spec: SPEC,
    load: |params, mut arrays, n_users, n_items| {
        let p = AlsParams::from_raw(params.iter().map(|(k, v)| (k.as_str(), v.clone())))?;
        let k = p.factors;
        let users = NamedArray::take(&mut arrays, "user_factors", &[n_users, k])?;
        let items = NamedArray::take(&mut arrays, "item_factors", &[n_items, k])?;
        Ok(Box::new(AlsModel::from_factors(p, users, items)?))
    },
    // An iteration reads only the factors (CG warm-starts from them).
    resume: Some(|params, mut state, train| {
        state.expect_type(TYPE.name)?;
        let p = AlsParams::from_raw(params.iter().map(|(k, v)| (k.as_str(), v.clone())))?;
        let k = p.factors;
        let users = state.take_f32("user_factors", rows_len(train.n_rows, k)?)?;
        let items = state.take_f32("item_factors", rows_len(train.n_cols, k)?)?;
        let done = state.take_count("iterations_done")?;
        let mut m = AlsModel::from_factors(p, users, items)?;
        m.iterations_done = done;
        Ok(Box::new(m))
    }),
};

impl FactorModel for AlsModel {
    fn factors(&self) -> usize {
        self.params.factors
    }
    fn user_factors(&self) -> &[f32] {
        &self.user_factors
    }
    fn item_factors(&self) -> &[f32] {
        &self.item_factors
    }
    fn fold_in_user(&self, items: &[u32], values: &[f32]) -> Result<Vec<f32>> {
        AlsModel::fold_in_user(self, items, values)
    }
    fn explain_fold_in(
        &self,
        items: &[u32],
        values: &[f32],
        item: u32,
    ) -> Result<Option<crate::models::explain::Explanation>> {
        AlsModel::explain(self, items, values, item).map(Some)
    }
}

impl Model for AlsModel {
    fn type_name(&self) -> &'static str {
        TYPE.name
    }
    fn params(&self) -> Vec<(&'static str, Value)> {
        self.params.to_values()
    }
    fn arrays(&self) -> Vec<NamedArray> {
        let k = self.params.factors;
        vec![
            NamedArray::new(
                "user_factors",
                vec![self.n_users, k],
                self.user_factors.to_vec(),
            ),
            NamedArray::new(
                "item_factors",
                vec![self.n_items, k],
                self.item_factors.to_vec(),
            ),
        ]
    }
    fn threads(&self) -> usize {
        self.params.threads
    }
    fn train_state(&self) -> Option<TrainState> {
        let mut s = TrainState::new(TYPE.name);
        s.push("user_factors", StateData::F32(self.user_factors.to_vec()))
            .push("item_factors", StateData::F32(self.item_factors.to_vec()))
            .push_u64("iterations_done", self.iterations_done as u64);
        Some(s)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
