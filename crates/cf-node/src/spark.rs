//! Spark ALS tables (cf_core::export::spark): a model's factors as `ALSModel.save` writes
//! them, a training matrix as the table a Spark job reads, and a factor table read back.
//! Each runs off the JS thread.

use std::path::PathBuf;
use std::sync::Arc;

use cf_core::data::csr::Csr;
use cf_core::export::spark;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{invalid, CoreTask, Op, Result};
use crate::matrix::Matrix;
use crate::model::{ModelHandle, Shared};

pub struct SparkFactorsOp {
    shared: Arc<Shared>,
    path: PathBuf,
    users: bool,
}

impl Op for SparkFactorsOp {
    type Output = ();
    type Js = ();

    fn compute(&mut self) -> cf_core::Result<()> {
        let model = self.shared.read();
        let fm = model.factor_view().ok_or_else(|| {
            cf_core::Error::Unsupported(format!(
                "a {} model has no factors to write",
                model.type_name()
            ))
        })?;
        let rows = if self.users { fm.users } else { fm.items };
        spark::write_spark_factors(&self.path, rows, fm.f, 0)
    }

    fn to_js(_: ()) {}
}

/// Write a factor model's user (`side` "users") or item ("items") factors to `path` as one
/// Parquet part of Spark's `userFactors` / `itemFactors` (`id` int = the row, `features`
/// array<float>).
#[napi(ts_return_type = "Promise<void>")]
pub fn write_spark_factors(
    model: &ModelHandle,
    path: String,
    side: String,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<SparkFactorsOp>>> {
    let users = match side.as_str() {
        "users" => true,
        "items" => false,
        other => {
            return Err(invalid(
                "side",
                format!("must be \"users\" or \"items\" (got {other:?})"),
            ))
        }
    };
    Ok(SparkFactorsOp {
        shared: model.shared.clone(),
        path: PathBuf::from(path),
        users,
    }
    .run_async(signal))
}

pub struct InteractionsOp {
    csr: Arc<Csr>,
    path: PathBuf,
}

impl Op for InteractionsOp {
    type Output = ();
    type Js = ();

    fn compute(&mut self) -> cf_core::Result<()> {
        let c = &self.csr;
        spark::write_interactions(&self.path, &c.indptr, &c.indices, &c.values)
    }

    fn to_js(_: ()) {}
}

/// Write a matrix to `path` as Parquet `user` int (row), `item` int (column), `rating`
/// float (value): the table a Spark ALS job reads.
#[napi(ts_return_type = "Promise<void>")]
pub fn write_interactions_parquet(
    matrix: &Matrix,
    path: String,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<InteractionsOp>>> {
    Ok(InteractionsOp {
        csr: matrix.csr.clone(),
        path: PathBuf::from(path),
    }
    .run_async(signal))
}

/// A factor table read back: `ids[r]` owns `factors[r * k .. (r + 1) * k]`.
#[napi(object)]
pub struct FactorTable {
    pub ids: Int32Array,
    pub factors: Float32Array,
    pub k: u32,
}

pub struct ReadFactorsOp {
    path: PathBuf,
}

impl Op for ReadFactorsOp {
    type Output = spark::FactorTable;
    type Js = FactorTable;

    fn compute(&mut self) -> cf_core::Result<spark::FactorTable> {
        spark::read_factor_table(&self.path)
    }

    fn to_js(t: spark::FactorTable) -> FactorTable {
        FactorTable {
            ids: Int32Array::new(t.ids),
            factors: Float32Array::new(t.factors),
            k: t.k as u32,
        }
    }
}

/// Read a factor table: a Parquet file, or a Spark folder of part files (`userFactors/`),
/// with an integer `id` and a list-of-floats `features` (or `factors`) column.
#[napi(ts_return_type = "Promise<FactorTable>")]
pub fn read_factor_table(
    path: String,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<ReadFactorsOp>>> {
    Ok(ReadFactorsOp {
        path: PathBuf::from(path),
    }
    .run_async(signal))
}
