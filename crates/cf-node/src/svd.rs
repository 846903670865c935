//! What only the svd and ease models do: their fits, as one async task each (with a sync
//! twin sharing one `Op`), and the svd model's fit report. Parameters and their bounds are
//! the core's; a rank the matrix cannot have fails before any work.

use std::sync::Arc;

use cf_core::data::csr::Csr;
use cf_core::models::ease::{EaseModel, EaseParams};
use cf_core::models::svd::{SvdModel, SvdParams};
use cf_core::params::{Checked, Params};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{to_napi, CoreTask, Op, Result};
use crate::matrix::Matrix;
use crate::model::ModelHandle;
use crate::options::raw_params;

const SVD: &str = cf_core::models::svd::TYPE.name;

fn checked<P: Params>(params: Option<Object>) -> Result<Checked<P>> {
    let raw = raw_params(params)?;
    P::from_raw(raw.iter().map(|(k, v)| (k.as_str(), v.clone()))).map_err(to_napi)
}

pub struct SvdFitOp {
    params: Checked<SvdParams>,
    train: Arc<Csr>,
}

impl Op for SvdFitOp {
    type Output = SvdModel;
    type Js = ModelHandle;

    fn compute(&mut self) -> cf_core::Result<SvdModel> {
        SvdModel::fit(self.params.clone(), &self.train)
    }

    fn to_js(m: SvdModel) -> ModelHandle {
        ModelHandle::new(Box::new(m))
    }
}

fn svd_op(train: &Matrix, params: Option<Object>) -> Result<SvdFitOp> {
    let params = checked::<SvdParams>(params)?;
    let (m, n) = (train.csr.n_rows, train.csr.n_cols);
    cf_core::linalg::svd::check_rank("factors", params.factors, m, n).map_err(to_napi)?;
    Ok(SvdFitOp {
        params,
        train: train.csr.clone(),
    })
}

/// The truncated SVD of `train` off the JS thread (the caller attaches `train` for filtering).
#[napi(
    ts_args_type = "train: Matrix, params: Record<string, unknown> | undefined | null, signal?: AbortSignal | undefined | null",
    ts_return_type = "Promise<Model>"
)]
pub fn svd_fit(
    train: &Matrix,
    params: Option<Object>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<SvdFitOp>>> {
    Ok(svd_op(train, params)?.run_async(signal))
}

#[napi(ts_args_type = "train: Matrix, params: Record<string, unknown> | undefined | null")]
pub fn svd_fit_sync(train: &Matrix, params: Option<Object>) -> Result<ModelHandle> {
    svd_op(train, params)?.run_sync()
}

#[napi(object)]
pub struct SvdInfo {
    pub factors: u32,
    /// Columns of a factor row: factors, + 1 (the mean) when centred over every cell, + 2
    /// in a rated mode (users [UΣ, 1, c_u], items [V, b_i, 1]).
    pub width: u32,
    /// σ, largest first: float64 for a model fitted in this process, else the saved float32.
    pub singular_values: Vec<f64>,
    /// σᵢ² / ‖A_c‖²_F per component.
    pub explained_variance_ratio: Vec<f64>,
    /// Of the fit that made this model (absent for a loaded one).
    pub seconds: Option<f64>,
    pub restarts: Option<u32>,
    /// Gram-operator products, in vectors.
    pub products: Option<f64>,
    pub total_squares: Option<f64>,
}

#[napi]
pub fn svd_info(model: &ModelHandle) -> Result<SvdInfo> {
    model
        .shared
        .with::<SvdModel, _>(SVD, |m| {
            let r = m.report.as_ref();
            Ok(SvdInfo {
                factors: m.params.factors as u32,
                width: m.width() as u32,
                singular_values: match r {
                    Some(r) => r.singular_values.clone(),
                    None => m.singular_values.iter().map(|&v| v as f64).collect(),
                },
                explained_variance_ratio: m
                    .explained_variance_ratio
                    .iter()
                    .map(|&v| v as f64)
                    .collect(),
                seconds: r.map(|r| r.seconds),
                restarts: r.map(|r| r.restarts as u32),
                products: r.map(|r| r.products as f64),
                total_squares: r.map(|r| r.total_squares),
            })
        })
        .map_err(to_napi)
}

/// Row-major copies of the user (`users` true: UΣ) or item (V) factor rows, `width` columns.
#[napi]
pub fn svd_factors(model: &ModelHandle, users: bool) -> Result<Float32Array> {
    model
        .shared
        .with::<SvdModel, _>(SVD, |m| {
            Ok(if users {
                m.user_factors.to_vec()
            } else {
                m.item_factors.to_vec()
            })
        })
        .map(Float32Array::new)
        .map_err(to_napi)
}

pub struct EaseFitOp {
    params: Checked<EaseParams>,
    train: Arc<Csr>,
}

impl Op for EaseFitOp {
    type Output = EaseModel;
    type Js = ModelHandle;

    fn compute(&mut self) -> cf_core::Result<EaseModel> {
        EaseModel::fit(self.params.clone(), &self.train)
    }

    fn to_js(m: EaseModel) -> ModelHandle {
        ModelHandle::new(Box::new(m))
    }
}

fn ease_op(train: &Matrix, params: Option<Object>) -> Result<EaseFitOp> {
    let params = checked::<EaseParams>(params)?;
    cf_core::models::ease::check_size(&params, train.csr.n_cols).map_err(to_napi)?;
    Ok(EaseFitOp {
        params,
        train: train.csr.clone(),
    })
}

/// EASE's closed form on `train` off the JS thread (the caller attaches `train`).
#[napi(
    ts_args_type = "train: Matrix, params: Record<string, unknown> | undefined | null, signal?: AbortSignal | undefined | null",
    ts_return_type = "Promise<Model>"
)]
pub fn ease_fit(
    train: &Matrix,
    params: Option<Object>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<EaseFitOp>>> {
    Ok(ease_op(train, params)?.run_async(signal))
}

#[napi(ts_args_type = "train: Matrix, params: Record<string, unknown> | undefined | null")]
pub fn ease_fit_sync(train: &Matrix, params: Option<Object>) -> Result<ModelHandle> {
    ease_op(train, params)?.run_sync()
}
