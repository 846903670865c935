//! The svd model as a member of the family: factor rows for the shared factor layer, its type
//! entry, and what a saved model holds.

use std::any::Any;

use super::{RatingStats, SvdModel, SvdParams, SPEC};
use crate::error::Result;
use crate::models::factor::FactorModel;
use crate::models::{Model, ModelType, NamedArray, RatingPredictor};
use crate::params::{Params, Value};

pub static TYPE: ModelType = ModelType {
    name: "svd",
    doc: "Truncated SVD of the user x item matrix: PureSVD (Cremonesi et al. 2010) for ranking; with centering rated_* the SVD of the ratings' residuals from a mean over the rated entries, predicting mean + U Sigma V^T (RMSE/MAE); exact restarted block Lanczos or approximate randomized SVD, deterministic for a seed.",
    spec: SPEC,
    load: |params, mut arrays, n_users, n_items| {
        let p = SvdParams::from_raw(params.iter().map(|(k, v)| (k.as_str(), v.clone())))?;
        let (d, k) = (p.width(), p.factors);
        let users = NamedArray::take(&mut arrays, "user_factors", &[n_users, d])?;
        let items = NamedArray::take(&mut arrays, "item_factors", &[n_items, d])?;
        let s = NamedArray::take(&mut arrays, "singular_values", &[k])?;
        let e = NamedArray::take(&mut arrays, "explained_variance_ratio", &[k])?;
        let g = NamedArray::take(&mut arrays, "global_mean", &[1])?;
        // Only rated modes save it; a model without it (a ranking mode, or one saved before
        // the rated modes existed) is not a rating predictor.
        let stats = if p.centering.rated().is_some() {
            let r = NamedArray::take(&mut arrays, "rating_stats", &[3])?;
            Some(RatingStats {
                mean: r[0],
                min: r[1],
                max: r[2],
            })
        } else {
            None
        };
        Ok(Box::new(SvdModel::from_parts(
            p, users, items, s, e, g[0], stats,
        )?))
    },
    // Fitted in one step: nothing to resume.
    resume: None,
};

impl FactorModel for SvdModel {
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
        SvdModel::fold_in_user(self, items, values)
    }
}

impl Model for SvdModel {
    fn type_name(&self) -> &'static str {
        TYPE.name
    }
    fn params(&self) -> Vec<(&'static str, Value)> {
        self.params.to_values()
    }
    /// `user_factors`, `item_factors` (`width` columns), `singular_values`,
    /// `explained_variance_ratio`, `global_mean`, and in a rated mode `rating_stats`
    /// [μ, smallest rating, largest rating] (mf's layout).
    fn arrays(&self) -> Vec<NamedArray> {
        let (d, k) = (self.width(), self.params.factors);
        let mut out = vec![
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
            NamedArray::new("singular_values", vec![k], self.singular_values.clone()),
            NamedArray::new(
                "explained_variance_ratio",
                vec![k],
                self.explained_variance_ratio.clone(),
            ),
            NamedArray::new("global_mean", vec![1], vec![self.global_mean]),
        ];
        if let Some(s) = self.rating_stats {
            out.push(NamedArray::new(
                "rating_stats",
                vec![3],
                vec![s.mean, s.min, s.max],
            ));
        }
        out
    }
    fn threads(&self) -> usize {
        self.params.threads
    }
    /// Only a model fitted in a rated mode (which refuses constant data) predicts ratings:
    /// the other modes' scores are not on a rating scale.
    fn ratings(&self) -> Option<&dyn RatingPredictor> {
        self.rating_stats.map(|_| self as &dyn RatingPredictor)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
