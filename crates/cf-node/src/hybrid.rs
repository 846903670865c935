//! What only the hybrid does: being built from other models' handles (shared, not copied),
//! its weight search on a validation split, and what it is made of. Parameters, checks and
//! the blend are the core's.

use std::sync::Arc;

use cf_core::data::csr::Csr;
use cf_core::models::hybrid::{HybridModel, HybridParams, TuneReport};
use cf_core::params::Params;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{invalid, to_napi, CoreTask, Op, Result};
use crate::matrix::Matrix;
use crate::model::ModelHandle;
use crate::options::raw_params;

const HYBRID: &str = cf_core::models::hybrid::TYPE.name;

/// A hybrid of `parts` (models fitted on the same data) named `names`; `weights[j]` is part
/// j's weight, or null for a part that is only a fallback; `fallback` lists parts by position
/// in the order they answer for a user no weighted part knows.
#[napi(
    ts_args_type = "parts: Model[], names: string[], weights: (number | null)[], fallback: number[], params: Record<string, unknown> | undefined | null",
    ts_return_type = "Model"
)]
pub fn hybrid_build(
    parts: Vec<ClassInstance<'_, ModelHandle>>,
    names: Vec<String>,
    weights: Vec<Option<f64>>,
    fallback: Vec<f64>,
    params: Option<Object>,
) -> Result<ModelHandle> {
    let raw = raw_params(params)?;
    let params = HybridParams::from_raw(raw.iter().map(|(k, v)| (k.as_str(), v.clone())))
        .map_err(to_napi)?;
    if names.len() != parts.len() || weights.len() != parts.len() {
        return Err(invalid(
            "parts",
            format!(
                "{} parts, {} names and {} weights: one of each per part",
                parts.len(),
                names.len(),
                weights.len()
            ),
        ));
    }
    let fallback = fallback
        .iter()
        .map(|&f| cf_core::args::index("fallback", f, parts.len(), "parts").map(|i| i as usize))
        .collect::<cf_core::Result<Vec<_>>>()
        .map_err(to_napi)?;
    let parts = parts
        .iter()
        .zip(names)
        .zip(weights)
        .map(|((p, name), w)| (name, p.shared.model(), w.map(|w| w as f32)))
        .collect();
    let model = HybridModel::new(params, parts, fallback).map_err(to_napi)?;
    Ok(ModelHandle::new(Box::new(model)))
}

#[napi(object)]
pub struct HybridTuning {
    pub k: u32,
    /// Validation users scored.
    pub users: u32,
    pub candidates: u32,
    /// NDCG@k of the weights it started from.
    pub start: f64,
    /// The chosen weight of each part (0 for fallback-only parts) and their NDCG@k.
    pub weights: Vec<f64>,
    pub score: f64,
    /// NDCG@k of each weighted part alone.
    pub alone_names: Vec<String>,
    pub alone_scores: Vec<f64>,
}

fn tuning(r: TuneReport) -> HybridTuning {
    let (alone_names, alone_scores) = r.alone.into_iter().unzip();
    HybridTuning {
        k: r.k as u32,
        users: r.users as u32,
        candidates: r.candidates as u32,
        start: r.start,
        weights: r.weights.iter().map(|&w| w as f64).collect(),
        score: r.score,
        alone_names,
        alone_scores,
    }
}

pub struct TuneOp {
    model: Arc<crate::model::Shared>,
    train: Arc<Csr>,
    valid: Arc<Csr>,
    k: usize,
}

impl Op for TuneOp {
    type Output = TuneReport;
    type Js = HybridTuning;

    fn compute(&mut self) -> cf_core::Result<TuneReport> {
        // The search reads the parts while the hybrid keeps serving; only the choice writes.
        let _w = self.model.writer.lock().unwrap_or_else(|e| e.into_inner());
        let r = self.model.with::<HybridModel, _>(HYBRID, |h| {
            h.search_weights(&self.train, &self.valid, self.k)
        })?;
        self.model
            .with_mut::<HybridModel, _>(HYBRID, |h| h.apply_tuning(r.clone()))?;
        Ok(r)
    }

    fn to_js(r: TuneReport) -> HybridTuning {
        tuning(r)
    }
}

/// Choose the hybrid's weights by NDCG@k on `valid` (rows of `train` filtered), off the JS
/// thread; the model keeps the best.
#[napi(
    ts_args_type = "model: Model, train: Matrix, valid: Matrix, k: number, signal?: AbortSignal | undefined | null",
    ts_return_type = "Promise<HybridTuning>"
)]
pub fn hybrid_tune_weights(
    model: &ModelHandle,
    train: &Matrix,
    valid: &Matrix,
    k: f64,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<TuneOp>>> {
    let k = cf_core::args::count("k", k, 1).map_err(to_napi)?;
    // A wrong model type is refused here, before any work is queued.
    model
        .shared
        .with::<HybridModel, _>(HYBRID, |_| Ok(()))
        .map_err(to_napi)?;
    Ok(TuneOp {
        model: model.shared.clone(),
        train: train.csr.clone(),
        valid: valid.csr.clone(),
        k,
    }
    .run_async(signal))
}

#[napi(object)]
pub struct HybridInfo {
    pub names: Vec<String>,
    pub types: Vec<String>,
    /// Per part; null for a part that is only a fallback.
    pub weights: Vec<Option<f64>>,
    pub fallback: Vec<u32>,
    pub tuning: Option<HybridTuning>,
}

/// What the hybrid is made of.
#[napi(ts_args_type = "model: Model")]
pub fn hybrid_info(model: &ModelHandle) -> Result<HybridInfo> {
    model
        .shared
        .with::<HybridModel, _>(HYBRID, |h| {
            Ok(HybridInfo {
                names: h.parts.iter().map(|p| p.name.clone()).collect(),
                types: h
                    .parts
                    .iter()
                    .map(|p| cf_core::models::hybrid::part_type(p).to_string())
                    .collect(),
                weights: h.parts.iter().map(|p| p.weight.map(|w| w as f64)).collect(),
                fallback: h.fallback.iter().map(|&f| f as u32).collect(),
                tuning: h.tuning.clone().map(tuning),
            })
        })
        .map_err(to_napi)
}
