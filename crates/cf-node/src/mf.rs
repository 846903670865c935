//! What only mf does, as functions over a `Model` holding an mf model: init from the training
//! ratings (μ and the rating range come from them), epochs (the fit loop stays in TS, as
//! BPR's, for progress and cancellation; a validation matrix makes each epoch report RMSE and
//! the core keep the best epoch), the end of a fit, its parameters and the fold-in.

use std::sync::Arc;

use cf_core::data::csr::Csr;
use cf_core::models::mf::{EpochReport, MfModel, MfParams, Solver};
use cf_core::params::Params;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{to_napi, CoreTask, Op, Result};
use crate::matrix::Matrix;
use crate::model::{ModelHandle, Shared};
use crate::options::raw_params;

/// The type name mf answers to (errors name it when a model of another type is given).
const MF: &str = cf_core::models::mf::TYPE.name;

/// A model for `train` (its ratings give μ and the rating range) with seeded initial
/// factors, ready for `mfEpoch`.
#[napi(ts_args_type = "params: Record<string, unknown> | undefined | null, train: Matrix")]
pub fn mf_init(params: Option<Object>, train: &Matrix) -> Result<ModelHandle> {
    let raw = raw_params(params)?;
    let p =
        MfParams::from_raw(raw.iter().map(|(k, v)| (k.as_str(), v.clone()))).map_err(to_napi)?;
    let m = MfModel::new(p, &train.csr).map_err(to_napi)?;
    Ok(ModelHandle::new(Box::new(m)))
}

#[napi(object)]
pub struct MfEpochInfo {
    pub epoch: u32,
    pub seconds: f64,
    /// SGD's step size this epoch (absent for ALS).
    pub learning_rate: Option<f64>,
    /// RMSE over the training ratings after the epoch.
    pub train_rmse: f64,
    /// Validation RMSE after the epoch (clipped to the training scale).
    pub valid_rmse: Option<f64>,
    pub best_epoch: Option<u32>,
    /// The fit is over (last epoch, or patience ran out).
    pub stop: bool,
}

fn epoch_info(r: EpochReport) -> MfEpochInfo {
    MfEpochInfo {
        epoch: r.epoch as u32,
        seconds: r.seconds,
        learning_rate: r.learning_rate.map(f64::from),
        train_rmse: r.train_rmse,
        valid_rmse: r.valid_rmse,
        best_epoch: r.best_epoch.map(|e| e as u32),
        stop: r.stop,
    }
}

pub struct EpochOp {
    shared: Arc<Shared>,
    train: Arc<Csr>,
    by_item: Option<Arc<Csr>>,
    valid: Option<Arc<Csr>>,
}

impl Op for EpochOp {
    type Output = EpochReport;
    type Js = MfEpochInfo;

    fn compute(&mut self) -> cf_core::Result<EpochReport> {
        let _writing = self.shared.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.shared.with_mut::<MfModel, _>(MF, |m| {
            m.epoch(&self.train, self.by_item.as_deref(), self.valid.as_deref())
        })
    }

    fn to_js(r: EpochReport) -> MfEpochInfo {
        epoch_info(r)
    }
}

fn epoch_op(model: &ModelHandle, train: &Matrix, valid: Option<&Matrix>) -> Result<EpochOp> {
    let valid = valid.map(|v| v.csr.clone());
    // Shapes, ratings and patience without validation fail here, before any work.
    let solver = model
        .shared
        .with::<MfModel, _>(MF, |m| {
            m.check_inputs(&train.csr, valid.as_deref())?;
            Ok(m.params.solver)
        })
        .map_err(to_napi)?;
    Ok(EpochOp {
        shared: model.shared.clone(),
        train: train.csr.clone(),
        // The matrix keeps its transpose, so ALS builds it once per fit, not per epoch.
        by_item: (solver == Solver::Als).then(|| train.derived.transposed(&train.csr)),
        valid,
    })
}

/// One epoch off the JS thread; with `valid`, validation RMSE and the best epoch kept.
#[napi(ts_return_type = "Promise<MfEpochInfo>")]
pub fn mf_epoch(
    model: &ModelHandle,
    train: &Matrix,
    valid: Option<&Matrix>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<EpochOp>>> {
    Ok(epoch_op(model, train, valid)?.run_async(signal))
}

#[napi]
pub fn mf_epoch_sync(
    model: &ModelHandle,
    train: &Matrix,
    valid: Option<&Matrix>,
) -> Result<MfEpochInfo> {
    epoch_op(model, train, valid)?.run_sync()
}

/// The end of a fit: with validation, the best epoch's parameters are put back.
#[napi]
pub fn mf_finish(model: &ModelHandle) -> Result<()> {
    let _writing = model
        .shared
        .writer
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    model
        .shared
        .with_mut::<MfModel, _>(MF, |m| {
            m.finish();
            Ok(())
        })
        .map_err(to_napi)
}

#[napi(object)]
pub struct MfInfo {
    pub factors: u32,
    /// Columns of a factor row: factors + 1 (item rows end with b_i, user rows with 1.0).
    pub width: u32,
    pub epochs_done: u32,
    pub best_epoch: Option<u32>,
    /// μ, the mean training rating.
    pub global_mean: f64,
    pub rating_min: f64,
    pub rating_max: f64,
}

#[napi]
pub fn mf_info(model: &ModelHandle) -> Result<MfInfo> {
    model
        .shared
        .with::<MfModel, _>(MF, |m| {
            Ok(MfInfo {
                factors: m.params.factors as u32,
                width: m.width() as u32,
                epochs_done: m.epochs_done as u32,
                best_epoch: m.best_epoch().map(|e| e as u32),
                global_mean: m.mean as f64,
                rating_min: m.rating_min as f64,
                rating_max: m.rating_max as f64,
            })
        })
        .map_err(to_napi)
}

/// Copies of one part of the model: "userFactors" / "itemFactors" (row-major, `width`
/// columns), "userBias", "itemBias".
#[napi(
    ts_args_type = "model: Model, part: 'userFactors' | 'itemFactors' | 'userBias' | 'itemBias'"
)]
pub fn mf_part(model: &ModelHandle, part: String) -> Result<Float32Array> {
    model
        .shared
        .with::<MfModel, _>(MF, |m| {
            Ok(match part.as_str() {
                "userFactors" => m.user_factors.to_vec(),
                "itemFactors" => m.item_factors.to_vec(),
                "userBias" => m.user_bias.clone(),
                "itemBias" => m.item_bias(),
                _ => {
                    return Err(cf_core::Error::param(
                        "part",
                        format!(
                            "unknown part {part:?} (userFactors, itemFactors, userBias, itemBias)"
                        ),
                    ))
                }
            })
        })
        .map(Float32Array::new)
        .map_err(to_napi)
}

#[napi(object)]
pub struct MfFoldIn {
    /// b_u.
    pub bias: f64,
    /// p_u (`factors` values).
    pub factors: Float32Array,
}

/// The bias and factors of a user not in training from their ratings of known items: the
/// ALS user solve with the items fixed.
#[napi]
pub fn mf_fold_in(
    model: &ModelHandle,
    items: Uint32Array,
    ratings: Float32Array,
) -> Result<MfFoldIn> {
    model
        .shared
        .with::<MfModel, _>(MF, |m| m.fold_in(&items, &ratings))
        .map(|(b, p)| MfFoldIn {
            bias: b as f64,
            factors: Float32Array::new(p),
        })
        .map_err(to_napi)
}
