//! Rating predictions and rating metrics of any model that predicts ratings
//! (`cf_core::models::Model::ratings`); other models answer with a coded error.

use cf_core::models::RatingPredictor;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{to_napi, Result};
use crate::matrix::Matrix;
use crate::model::ModelHandle;

fn unsupported(type_name: &str) -> cf_core::Error {
    cf_core::Error::Unsupported(format!(
        "a {type_name} model ranks items and does not predict ratings (rating prediction needs a model trained on explicit ratings: mf, or svd with centering rated_global, rated_user, rated_item or rated_baseline)"
    ))
}

fn with_ratings<R>(
    model: &ModelHandle,
    f: impl FnOnce(&dyn RatingPredictor, usize, usize) -> cf_core::Result<R>,
) -> Result<R> {
    let m = model.shared.read();
    match m.ratings() {
        Some(r) => f(r, m.n_users(), m.n_items()),
        None => Err(unsupported(m.type_name())),
    }
    .map_err(to_napi)
}

/// Predicted ratings of (users[j], items[j]); `clip` (default true) clamps each to the
/// training rating range. A user index past the model's users is predicted without a user
/// term (μ + b_i); an item index out of range is an error.
#[napi]
pub fn predict_ratings(
    model: &ModelHandle,
    users: Uint32Array,
    items: Uint32Array,
    clip: Option<bool>,
) -> Result<Float32Array> {
    with_ratings(model, |r, _, n_items| {
        if users.len() != items.len() {
            return Err(cf_core::Error::param(
                "items",
                format!("has {} entries for {} users", items.len(), users.len()),
            ));
        }
        if let Some(pos) = items.iter().position(|&i| i as usize >= n_items) {
            return Err(cf_core::Error::param(
                "items",
                format!(
                    "index {} at position {pos} is out of range (model has {n_items} items)",
                    items[pos]
                ),
            ));
        }
        let (lo, hi) = r.rating_range();
        Ok(users
            .iter()
            .zip(items.iter())
            .map(|(&u, &i)| {
                let p = r.predict(u as usize, i as usize);
                if clip.unwrap_or(true) {
                    p.clamp(lo, hi)
                } else {
                    p
                }
            })
            .collect::<Vec<f32>>())
    })
    .map(Float32Array::new)
}

#[napi(object)]
pub struct RatingMetrics {
    pub rmse: f64,
    pub mae: f64,
    /// Entries scored.
    pub count: f64,
}

/// RMSE and MAE over every entry of `truth` (see cf_core::rating_metrics; `clip` default true).
#[napi]
pub fn rating_metrics(
    model: &ModelHandle,
    truth: &Matrix,
    clip: Option<bool>,
) -> Result<RatingMetrics> {
    with_ratings(model, |r, _, n_items| {
        cf_core::rating_metrics::rating_metrics(r, n_items, &truth.csr, clip.unwrap_or(true))
    })
    .map(|m| RatingMetrics {
        rmse: m.rmse,
        mae: m.mae,
        count: m.count as f64,
    })
}
