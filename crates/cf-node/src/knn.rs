//! What only the knn model does: its fit (one async task, with a sync twin sharing one `Op`),
//! explanations and co-occurrence lists. Parameters, checks and algorithms are the core's.

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
pub struct KnnExplanation {
    /// The item's score: the sum of every contribution.
    pub score: f64,
    /// The liked items that contributed most, largest first.
    pub items: Uint32Array,
    /// Their contributions (value x similarity).
    pub contributions: Float32Array,
}

fn explanation((score, parts): (f32, Vec<(u32, f32)>)) -> KnnExplanation {
    let (items, contributions): (Vec<u32>, Vec<f32>) = parts.into_iter().unzip();
    KnnExplanation {
        score: score as f64,
        items: Uint32Array::new(items),
        contributions: Float32Array::new(contributions),
    }
}

/// Why `item` is recommended: a known `user` (a number) or, with `user` null, someone with
/// `items` (and `values`, default 1 each); the `k` largest contributions.
#[napi(
    ts_args_type = "model: Model, user: number | null, items: Uint32Array | null, values: Float32Array | null, item: number, k: number"
)]
pub fn knn_explain(
    model: &ModelHandle,
    user: Option<f64>,
    items: Option<Uint32Array>,
    values: Option<Float32Array>,
    item: f64,
    k: f64,
) -> Result<KnnExplanation> {
    model
        .shared
        .with::<KnnModel, _>(KNN, |m| {
            let item = cf_core::args::index("item", item, m.n_items(), "items")?;
            let k = cf_core::args::count("k", k, 1)?;
            match user {
                Some(u) => {
                    let u = cf_core::args::index("user", u, m.users.n_rows, "users")?;
                    m.explain_user(u, item, k)
                }
                None => {
                    let ids: Vec<u32> = items.map(|a| a.to_vec()).unwrap_or_default();
                    let vals = match values {
                        Some(v) => v.to_vec(),
                        None => vec![1.0; ids.len()],
                    };
                    m.explain(&ids, &vals, item, k)
                }
            }
            .map(explanation)
        })
        .map_err(to_napi)
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
