//! What only the knn model does: its fit (one async task, with a sync twin sharing one `Op`)
//! and co-occurrence lists (explanations are every model's: explain.rs). Parameters, checks
//! and algorithms are the core's.

use std::sync::Arc;

use cf_core::data::csr::Csr;
use cf_core::models::knn::{KnnModel, KnnParams, Measure};
use cf_core::params::{Checked, Params};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{to_napi, CoreTask, Op, Result};
use crate::matrix::Matrix;
use crate::model::ModelHandle;
use crate::options::raw_params;

const KNN: &str = cf_core::models::knn::TYPE.name;

pub struct KnnFitOp {
    params: Checked<KnnParams>,
    train: Arc<Csr>,
}

impl Op for KnnFitOp {
    type Output = KnnModel;
    type Js = ModelHandle;

    fn compute(&mut self) -> cf_core::Result<KnnModel> {
        KnnModel::fit(self.params.clone(), &self.train)
    }

    fn to_js(m: KnnModel) -> ModelHandle {
        ModelHandle::new(Box::new(m))
    }
}

fn knn_op(train: &Matrix, params: Option<Object>) -> Result<KnnFitOp> {
    let raw = raw_params(params)?;
    let params =
        KnnParams::from_raw(raw.iter().map(|(k, v)| (k.as_str(), v.clone()))).map_err(to_napi)?;
    cf_core::models::knn::check_size(&train.csr).map_err(to_napi)?;
    Ok(KnnFitOp {
        params,
        train: train.csr.clone(),
    })
}

/// Item-kNN similarities of `train` off the JS thread (the caller attaches `train`).
#[napi(
    ts_args_type = "train: Matrix, params: Record<string, unknown> | undefined | null, signal?: AbortSignal | undefined | null",
    ts_return_type = "Promise<Model>"
)]
pub fn knn_fit(
    train: &Matrix,
    params: Option<Object>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<KnnFitOp>>> {
    Ok(knn_op(train, params)?.run_async(signal))
}

#[napi(
    ts_args_type = "train: Matrix, params: Record<string, unknown> | undefined | null",
    ts_return_type = "Model"
)]
pub fn knn_fit_sync(train: &Matrix, params: Option<Object>) -> Result<ModelHandle> {
    knn_op(train, params)?.run_sync()
}

#[napi(object)]
pub struct Cooccurrence {
    pub ids: Uint32Array,
    /// The measure (count, lift or pmi) of each.
    pub scores: Float32Array,
    /// Users with both items.
    pub support: Uint32Array,
}

/// "Often bought together": the `k` items most often in the same training rows as `item`
/// by `measure` (count, lift, pmi), among those shared by at least `minSupport` users.
#[napi(ts_args_type = "model: Model, item: number, k: number, measure: string, minSupport: number")]
pub fn knn_cooccurrence(
    model: &ModelHandle,
    item: f64,
    k: f64,
    measure: String,
    min_support: f64,
) -> Result<Cooccurrence> {
    model
        .shared
        .with::<KnnModel, _>(KNN, |m| {
            let item = cf_core::args::index("item", item, m.n_items(), "items")?;
            let k = cf_core::args::count("k", k, 1)?;
            let min_support = cf_core::args::count("minSupport", min_support, 1)?;
            let measure = Measure::parse(&measure)?;
            let l = m.cooccurrence(item, k, measure, min_support)?;
            Ok(Cooccurrence {
                ids: Uint32Array::new(l.iter().map(|p| p.0).collect()),
                scores: Float32Array::new(l.iter().map(|p| p.1).collect()),
                support: Uint32Array::new(l.iter().map(|p| p.2).collect()),
            })
        })
        .map_err(to_napi)
}
