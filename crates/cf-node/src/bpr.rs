//! What only BPR does, as functions over a `Model` holding a BPR model: seeded init and
//! epochs (the fit loop stays in TS, as ALS's, for progress and cancellation; a validation
//! matrix makes each epoch report NDCG@k and the core keep the best epoch), the end of a fit
//! (the best epoch's factors back) and the factor rows.

use std::sync::Arc;

use cf_core::data::csr::Csr;
use cf_core::models::bpr::{BprModel, BprParams, EpochReport};
use cf_core::params::Params;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{to_napi, CoreTask, Op, Result};
use crate::matrix::Matrix;
use crate::model::{ModelHandle, Shared};
use crate::options::raw_params;

/// The type name BPR answers to (errors name it when a model of another type is given).
const BPR: &str = cf_core::models::bpr::TYPE.name;

/// A model with seeded initial factors for `nUsers` x `nItems`, ready for `bprEpoch`.
#[napi(
    ts_args_type = "params: Record<string, unknown> | undefined | null, nUsers: number, nItems: number"
)]
pub fn bpr_init(params: Option<Object>, n_users: f64, n_items: f64) -> Result<ModelHandle> {
    let raw = raw_params(params)?;
    let p =
        BprParams::from_raw(raw.iter().map(|(k, v)| (k.as_str(), v.clone()))).map_err(to_napi)?;
    let n_users = cf_core::args::count("nUsers", n_users, 1).map_err(to_napi)?;
    let n_items = cf_core::args::count("nItems", n_items, 1).map_err(to_napi)?;
    let m = BprModel::new(p, n_users, n_items).map_err(to_napi)?;
    Ok(ModelHandle::new(Box::new(m)))
}

#[napi(object)]
pub struct NegativeInfo {
    pub uniform: f64,
    pub popularity: f64,
    pub dns_candidates: f64,
    pub hard: f64,
    /// Of `hard`, the user's own explicit dislikes.
    pub disliked: f64,
    pub hard_fallback: f64,
    pub rejected: f64,
    pub skipped_samples: f64,
}

#[napi(object)]
pub struct EpochInfo {
    pub epoch: u32,
    pub seconds: f64,
    pub learning_rate: f64,
    pub samples: f64,
    /// Mean -ln σ(x_uij) of the epoch's samples (before each update).
    pub loss: f64,
    /// Share of the epoch's sampled pairs ranked right before their update.
    pub auc: f64,
    /// Validation NDCG@k when evaluated this epoch.
    pub valid: Option<f64>,
    pub best_epoch: Option<u32>,
    /// The fit is over (last epoch, or patience ran out).
    pub stop: bool,
    pub negatives: NegativeInfo,
    pub skipped_users: u32,
}

fn epoch_info(r: EpochReport) -> EpochInfo {
    let n = &r.negatives;
    EpochInfo {
        epoch: r.epoch as u32,
        seconds: r.seconds,
        learning_rate: r.learning_rate as f64,
        samples: r.samples as f64,
        loss: r.loss,
        auc: r.auc,
        valid: r.valid,
        best_epoch: r.best_epoch.map(|e| e as u32),
        stop: r.stop,
        negatives: NegativeInfo {
            uniform: n.uniform as f64,
            popularity: n.popularity as f64,
            dns_candidates: n.dns_candidates as f64,
            hard: n.hard as f64,
            disliked: n.disliked as f64,
            hard_fallback: n.hard_fallback as f64,
            rejected: n.rejected as f64,
            skipped_samples: n.skipped_samples as f64,
        },
        skipped_users: r.skipped_users as u32,
    }
}

pub struct EpochOp {
    shared: Arc<Shared>,
    train: Arc<Csr>,
    valid: Option<Arc<Csr>>,
    negatives: Option<Arc<Csr>>,
}

impl Op for EpochOp {
    type Output = EpochReport;
    type Js = EpochInfo;

    fn compute(&mut self) -> cf_core::Result<EpochReport> {
        let _writing = self.shared.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.shared.with_mut::<BprModel, _>(BPR, |m| {
            m.epoch_with(
                &self.train,
                self.valid.as_deref(),
                self.negatives.as_deref(),
            )
        })
    }

    fn to_js(r: EpochReport) -> EpochInfo {
        epoch_info(r)
    }
}

fn epoch_op(
    model: &ModelHandle,
    train: &Matrix,
    valid: Option<&Matrix>,
    negatives: Option<&Matrix>,
) -> Result<EpochOp> {
    let valid = valid.map(|v| v.csr.clone());
    let negatives = negatives.map(|v| v.csr.clone());
    // Shapes, patience without validation and negatives the sampler ignores fail here,
    // before any work.
    model
        .shared
        .with::<BprModel, _>(BPR, |m| {
            m.check_inputs(&train.csr, valid.as_deref())?;
            m.check_negatives(negatives.as_deref())
        })
        .map_err(to_napi)?;
    Ok(EpochOp {
        shared: model.shared.clone(),
        train: train.csr.clone(),
        valid,
        negatives,
    })
}

/// One epoch off the JS thread; with `valid`, evaluated as the params say.
#[napi(ts_return_type = "Promise<EpochInfo>")]
pub fn bpr_epoch(
    model: &ModelHandle,
    train: &Matrix,
    valid: Option<&Matrix>,
    negatives: Option<&Matrix>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<EpochOp>>> {
    Ok(epoch_op(model, train, valid, negatives)?.run_async(signal))
}

#[napi]
pub fn bpr_epoch_sync(
    model: &ModelHandle,
    train: &Matrix,
    valid: Option<&Matrix>,
    negatives: Option<&Matrix>,
) -> Result<EpochInfo> {
    epoch_op(model, train, valid, negatives)?.run_sync()
}

/// The end of a fit: with validation, the best evaluated epoch's factors are put back.
#[napi]
pub fn bpr_finish(model: &ModelHandle) -> Result<()> {
    let _writing = model
        .shared
        .writer
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    model
        .shared
        .with_mut::<BprModel, _>(BPR, |m| {
            m.finish();
            Ok(())
        })
        .map_err(to_napi)
}

#[napi(object)]
pub struct BprInfo {
    pub factors: u32,
    /// Columns of a factor row: factors, + 1 when the item bias is on.
    pub width: u32,
    pub epochs_done: u32,
    pub best_epoch: Option<u32>,
}

#[napi]
pub fn bpr_info(model: &ModelHandle) -> Result<BprInfo> {
    model
        .shared
        .with::<BprModel, _>(BPR, |m| {
            Ok(BprInfo {
                factors: m.params.factors as u32,
                width: m.width() as u32,
                epochs_done: m.epochs_done as u32,
                best_epoch: m.best_epoch().map(|e| e as u32),
            })
        })
        .map_err(to_napi)
}

/// Row-major copies of the user (`users` true) or item factor rows (`width` columns).
#[napi]
pub fn bpr_factors(model: &ModelHandle, users: bool) -> Result<Float32Array> {
    model
        .shared
        .with::<BprModel, _>(BPR, |m| {
            Ok(if users {
                m.user_factors.to_vec()
            } else {
                m.item_factors.to_vec()
            })
        })
        .map(Float32Array::new)
        .map_err(to_napi)
}

/// The factor row of a user not in training (deterministic gradient steps; see the core).
#[napi]
pub fn bpr_fold_in(
    model: &ModelHandle,
    items: Uint32Array,
    values: Option<Float32Array>,
) -> Result<Float32Array> {
    let vals = values.map_or_else(|| vec![1.0; items.len()], |v| v.to_vec());
    model
        .shared
        .with::<BprModel, _>(BPR, |m| m.fold_in_user(&items, &vals))
        .map(Float32Array::new)
        .map_err(to_napi)
}
