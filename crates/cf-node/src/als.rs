//! What only ALS does, as functions over a `Model` holding an ALS model: seeded init and
//! iterations (the fit loop stays in TS for progress and cancellation), factors, exact
//! fold-in of users and items, and partial fits.

use std::sync::Arc;

use cf_core::data::csr::Csr;
use cf_core::models::als::{AlsModel, AlsParams, IterationReport, Solver};
use cf_core::params::Params;
use cf_core::pool::pool;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{to_napi, CoreTask, Op, Result};
use crate::matrix::{Derived, Matrix};
use crate::model::{ModelHandle, Shared, TopK};
use crate::options::{raw_params, Opts};

/// The type name ALS answers to (errors name it when a model of another type is given).
const ALS: &str = cf_core::models::als::TYPE.name;

fn checked_params(params: Option<Object>) -> Result<cf_core::params::Checked<AlsParams>> {
    let raw = raw_params(params)?;
    AlsParams::from_raw(raw.iter().map(|(k, v)| (k.as_str(), v.clone()))).map_err(to_napi)
}

/// A model with seeded initial factors for `nUsers` x `nItems`, ready for `alsIterate`.
#[napi(
    ts_args_type = "params: Record<string, unknown> | undefined | null, nUsers: number, nItems: number"
)]
pub fn als_init(params: Option<Object>, n_users: f64, n_items: f64) -> Result<ModelHandle> {
    let p = checked_params(params)?;
    let n_users = cf_core::args::count("nUsers", n_users, 1).map_err(to_napi)?;
    let n_items = cf_core::args::count("nItems", n_items, 1).map_err(to_napi)?;
    let m = AlsModel::new(p, n_users, n_items).map_err(to_napi)?;
    Ok(ModelHandle::new(Box::new(m)))
}

/// A fitted model from row-major factor arrays.
#[napi(
    ts_args_type = "params: Record<string, unknown> | undefined | null, userFactors: Float32Array, itemFactors: Float32Array"
)]
pub fn als_from_factors(
    params: Option<Object>,
    user_factors: Float32Array,
    item_factors: Float32Array,
) -> Result<ModelHandle> {
    let p = checked_params(params)?;
    let m =
        AlsModel::from_factors(p, user_factors.to_vec(), item_factors.to_vec()).map_err(to_napi)?;
    Ok(ModelHandle::new(Box::new(m)))
}

#[napi(object)]
pub struct IterationInfo {
    pub iteration: u32,
    pub seconds: f64,
    pub loss: Option<f64>,
}

pub struct IterateOp {
    shared: Arc<Shared>,
    data: Arc<Csr>,
    derived: Arc<Derived>,
}

impl Op for IterateOp {
    type Output = IterationReport;
    type Js = IterationInfo;

    fn compute(&mut self) -> cf_core::Result<IterationReport> {
        let _writing = self.shared.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.shared.with_mut::<AlsModel, _>(ALS, |m| {
            // Before anything is derived from a matrix that cannot be used.
            m.check_shape(&self.data)?;
            m.check_confidence(self.derived.check_values(&self.data)?)?;
            // Built on the first iteration and kept with the matrix for the next ones.
            let transposed = self.derived.transposed(&self.data);
            let long = match m.params.solver {
                Solver::Cg { .. } => {
                    let threads = pool(m.params.threads)?.current_num_threads();
                    Some(self.derived.long_items(&self.data, m.factors(), threads))
                }
                Solver::Cholesky => None,
            };
            m.iterate_checked(&self.data, &transposed, long.as_deref())
        })
    }

    fn to_js(r: IterationReport) -> IterationInfo {
        IterationInfo {
            iteration: r.iteration as u32,
            seconds: r.seconds,
            loss: r.loss,
        }
    }
}

fn iterate_op(model: &ModelHandle, data: &Matrix) -> Result<IterateOp> {
    // Shape only here; the values are checked once per matrix, off the JS thread.
    model
        .shared
        .with::<AlsModel, _>(ALS, |m| m.check_shape(&data.csr))
        .map_err(to_napi)?;
    Ok(IterateOp {
        shared: model.shared.clone(),
        data: data.csr.clone(),
        derived: data.derived.clone(),
    })
}

/// One iteration (users, then items) off the JS thread.
#[napi(ts_return_type = "Promise<IterationInfo>")]
pub fn als_iterate(
    model: &ModelHandle,
    data: &Matrix,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<IterateOp>>> {
    Ok(iterate_op(model, data)?.run_async(signal))
}

#[napi]
pub fn als_iterate_sync(model: &ModelHandle, data: &Matrix) -> Result<IterationInfo> {
    iterate_op(model, data)?.run_sync()
}

#[napi(object)]
pub struct AlsInfo {
    pub factors: u32,
    pub iterations_done: u32,
}

#[napi]
pub fn als_info(model: &ModelHandle) -> Result<AlsInfo> {
    model
        .shared
        .with::<AlsModel, _>(ALS, |m| {
            Ok(AlsInfo {
                factors: m.factors() as u32,
                iterations_done: m.iterations_done as u32,
            })
        })
        .map_err(to_napi)
}

/// Row-major copies of the user (`users` true) or item factors.
#[napi]
pub fn als_factors(model: &ModelHandle, users: bool) -> Result<Float32Array> {
    model
        .shared
        .with::<AlsModel, _>(ALS, |m| {
            Ok(if users {
                m.user_factors.to_vec()
            } else {
                m.item_factors.to_vec()
            })
        })
        .map(Float32Array::new)
        .map_err(to_napi)
}

fn values_or_ones(ids: &[u32], values: Option<Float32Array>) -> Vec<f32> {
    values.map_or_else(|| vec![1.0; ids.len()], |v| v.to_vec())
}

/// The exact factor of a user (`users` false: of an item) absent from training, from the
/// indices of the other side and optional values (default 1 each; repeats summed).
#[napi]
pub fn als_fold_in(
    model: &ModelHandle,
    user: bool,
    ids: Uint32Array,
    values: Option<Float32Array>,
) -> Result<Float32Array> {
    let vals = values_or_ones(&ids, values);
    model
        .shared
        .with::<AlsModel, _>(ALS, |m| {
            if user {
                m.fold_in_user(&ids, &vals)
            } else {
                m.fold_in_item(&ids, &vals)
            }
        })
        .map(Float32Array::new)
        .map_err(to_napi)
}

/// Compute the Gram matrices fold-in uses now instead of on the first fold-in.
#[napi]
pub fn als_prepare_fold_in(model: &ModelHandle) -> Result<()> {
    model
        .shared
        .with::<AlsModel, _>(ALS, |m| m.prepare_fold_in())
        .map_err(to_napi)
}

/// Items closest by cosine to an item absent from training, folded in from its users.
#[napi(
    ts_args_type = "model: Model, users: Uint32Array, options?: { k?: number; values?: Float32Array | null }"
)]
pub fn als_similar_to_new_item(
    model: &ModelHandle,
    users: Uint32Array,
    options: Option<Object>,
) -> Result<TopK> {
    let o = Opts::new(options, &["k", "values"])?;
    let k = match o.number("k")? {
        Some(k) => cf_core::args::count("k", k, 1).map_err(to_napi)?,
        None => 10,
    };
    let vals = o.f32s("values")?.unwrap_or_else(|| vec![1.0; users.len()]);
    model
        .shared
        .with_packed::<AlsModel, _>(ALS, |m, packed| {
            m.similar_to_new_item_packed(&users, &vals, k, packed)
        })
        .map(TopK::from_pairs)
        .map_err(to_napi)
}

pub struct PartialFitOp {
    shared: Arc<Shared>,
    users: bool,
    ids: Vec<u32>,
    rows: Arc<Csr>,
}

impl Op for PartialFitOp {
    type Output = ();
    type Js = ();

    /// Solve under the read lock, apply under the write lock, both inside the writer lock;
    /// then the seen rows follow (users' rows replace theirs; new items widen them).
    fn compute(&mut self) -> cf_core::Result<()> {
        let _writing = self.shared.writer.lock().unwrap_or_else(|e| e.into_inner());
        let update = self.shared.with::<AlsModel, _>(ALS, |m| {
            if self.users {
                m.solve_partial_users(&self.ids, &self.rows)
            } else {
                m.solve_partial_items(&self.ids, &self.rows)
            }
        })?;
        let (n_users, n_items) = self.shared.with_mut::<AlsModel, _>(ALS, |m| {
            m.apply_partial(update)?;
            Ok((m.n_users, m.n_items))
        })?;
        if let Some(seen) = self.shared.seen_mut().as_mut() {
            if self.users {
                seen.rows.replace(&self.ids, &self.rows, n_items)?;
            }
            seen.rows.widen(n_users, n_items);
        }
        Ok(())
    }

    fn to_js(_: ()) {}
}

fn partial_fit_op(model: &ModelHandle, users: bool, ids: &[u32], rows: &Matrix) -> PartialFitOp {
    PartialFitOp {
        shared: model.shared.clone(),
        users,
        ids: ids.to_vec(),
        rows: rows.csr.clone(),
    }
}

/// Recompute or add users' (`users` true) or items' factors from their full rows (row j of
/// `rows` is `ids[j]`), off the JS thread; recommendations keep working meanwhile.
#[napi(ts_return_type = "Promise<void>")]
pub fn als_partial_fit(
    model: &ModelHandle,
    users: bool,
    ids: Uint32Array,
    rows: &Matrix,
    signal: Option<AbortSignal>,
) -> AsyncTask<CoreTask<PartialFitOp>> {
    partial_fit_op(model, users, &ids, rows).run_async(signal)
}

#[napi]
pub fn als_partial_fit_sync(
    model: &ModelHandle,
    users: bool,
    ids: Uint32Array,
    rows: &Matrix,
) -> Result<()> {
    partial_fit_op(model, users, &ids, rows).run_sync()
}
