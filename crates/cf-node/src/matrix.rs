use std::sync::{Arc, Mutex, OnceLock};

use cf_core::data::csr::Csr;
use cf_core::models::als::LongRows;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{invalid, to_napi, Result};

/// A user x item sparse matrix owned by Rust (CSR). What ALS derives from it (the transpose,
/// the long item rows) is built on first use, off the JS thread, and kept with the matrix.
#[napi]
pub struct Matrix {
    pub(crate) csr: Arc<Csr>,
    pub(crate) derived: Arc<Derived>,
}

#[derive(Default)]
pub(crate) struct Derived {
    /// The largest value, set once every value was found a finite number >= 0, as ALS needs:
    /// the matrix never changes, so a success is checked once (a failure is an error each time).
    max_value: OnceLock<f32>,
    transposed: OnceLock<Arc<Csr>>,
    /// For the last (factors, threads) asked for: the grouping depends on both.
    long_items: Mutex<Option<((usize, usize), Arc<LongRows>)>>,
}

impl Derived {
    /// The largest value of `csr` once its values passed ALS's check.
    pub(crate) fn check_values(&self, csr: &Csr) -> cf_core::Result<f32> {
        if let Some(&m) = self.max_value.get() {
            return Ok(m);
        }
        let m = cf_core::models::als::check_values(csr)?;
        Ok(*self.max_value.get_or_init(|| m))
    }

    pub(crate) fn transposed(&self, csr: &Csr) -> Arc<Csr> {
        self.transposed
            .get_or_init(|| Arc::new(csr.transpose()))
            .clone()
    }

    /// The long item rows of `csr` for `k` factors and `threads` (CG fits; see cf_core's
    /// lockstep.rs).
    pub(crate) fn long_items(&self, csr: &Csr, k: usize, threads: usize) -> Arc<LongRows> {
        let mut slot = self.long_items.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some((key, l)) if *key == (k, threads) => l.clone(),
            _ => {
                let min_len = LongRows::default_min_len(k);
                let l = Arc::new(LongRows::build(csr, k, min_len, threads));
                *slot = Some(((k, threads), l.clone()));
                l
            }
        }
    }
}

impl Matrix {
    pub(crate) fn wrap(csr: Csr) -> Self {
        Self::from_arc(Arc::new(csr))
    }

    pub(crate) fn from_arc(csr: Arc<Csr>) -> Self {
        Matrix {
            csr,
            derived: Arc::default(),
        }
    }

    pub(crate) fn from_parts(csr: Arc<Csr>, derived: Arc<Derived>) -> Self {
        Matrix { csr, derived }
    }
}

#[napi]
impl Matrix {
    /// From coordinates; duplicate pairs are summed. Values default to 1.
    #[napi(factory)]
    pub fn from_coo(
        users: Uint32Array,
        items: Uint32Array,
        values: Option<Float32Array>,
        n_users: f64,
        n_items: f64,
    ) -> Result<Matrix> {
        let n_users = cf_core::args::count("nUsers", n_users, 0).map_err(to_napi)?;
        let n_items = cf_core::args::count("nItems", n_items, 0).map_err(to_napi)?;
        if users.len() != items.len() {
            return Err(invalid(
                "items",
                format!("has {} entries for {} users", items.len(), users.len()),
            ));
        }
        let ones;
        let vals: &[f32] = match &values {
            Some(v) => v,
            None => {
                ones = vec![1.0; users.len()];
                &ones
            }
        };
        Csr::from_coo(n_users, n_items, &users, &items, vals)
            .map(Matrix::wrap)
            .map_err(to_napi)
    }

    /// From CSR arrays (as saved next to a model); validated before use.
    #[napi(factory)]
    pub fn from_csr(
        indptr: Uint32Array,
        indices: Uint32Array,
        values: Float32Array,
        n_rows: f64,
        n_cols: f64,
    ) -> Result<Matrix> {
        let n_rows = cf_core::args::count("nRows", n_rows, 0).map_err(to_napi)?;
        let n_cols = cf_core::args::count("nCols", n_cols, 0).map_err(to_napi)?;
        if indptr.len() != n_rows + 1 {
            return Err(invalid(
                "indptr",
                format!(
                    "has {} entries for {n_rows} rows (needs rows + 1)",
                    indptr.len()
                ),
            ));
        }
        let csr = Csr {
            n_rows,
            n_cols,
            indptr: indptr.iter().map(|&p| p as usize).collect(),
            indices: indices.to_vec(),
            values: values.to_vec(),
        };
        csr.validate().map_err(to_napi)?;
        Ok(Matrix::wrap(csr))
    }

    #[napi(getter)]
    pub fn n_rows(&self) -> u32 {
        self.csr.n_rows as u32
    }

    #[napi(getter)]
    pub fn n_cols(&self) -> u32 {
        self.csr.n_cols as u32
    }

    #[napi(getter)]
    pub fn nnz(&self) -> f64 {
        self.csr.nnz() as f64
    }

    #[napi]
    pub fn indptr(&self) -> Result<Uint32Array> {
        if self.csr.nnz() > u32::MAX as usize {
            return Err(invalid(
                "matrix",
                "more than 2^32 entries cannot be exported as Uint32Array",
            ));
        }
        Ok(Uint32Array::new(
            self.csr.indptr.iter().map(|&p| p as u32).collect(),
        ))
    }

    #[napi]
    pub fn indices(&self) -> Uint32Array {
        Uint32Array::new(self.csr.indices.clone())
    }

    #[napi]
    pub fn values(&self) -> Float32Array {
        Float32Array::new(self.csr.values.clone())
    }

    /// Item indices of one row (copy).
    #[napi]
    pub fn row(&self, row: f64) -> Result<Uint32Array> {
        let row = cf_core::args::whole("row", row, 0, u32::MAX as u64).map_err(to_napi)? as usize;
        if row >= self.csr.n_rows {
            return Err(invalid(
                "row",
                format!("{row} is out of range (rows: {})", self.csr.n_rows),
            ));
        }
        Ok(Uint32Array::new(self.csr.row(row).0.to_vec()))
    }

    /// Values of one row, in the order of `row(row)`'s indices (copy).
    #[napi]
    pub fn row_values(&self, row: f64) -> Result<Float32Array> {
        let row = cf_core::args::whole("row", row, 0, u32::MAX as u64).map_err(to_napi)? as usize;
        if row >= self.csr.n_rows {
            return Err(invalid(
                "row",
                format!("{row} is out of range (rows: {})", self.csr.n_rows),
            ));
        }
        Ok(Float32Array::new(self.csr.row(row).1.to_vec()))
    }

    /// Rows with at least one entry.
    #[napi]
    pub fn nonempty_rows(&self) -> u32 {
        self.csr.nonempty_rows() as u32
    }
}
