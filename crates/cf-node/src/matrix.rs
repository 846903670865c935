use std::sync::{Arc, Mutex, OnceLock};

use cf_core::data::csr::Csr;
use cf_core::models::als::LongRows;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{invalid, to_napi};

/// A user x item sparse matrix owned by Rust (CSR). What ALS derives from it (the transpose,
/// the long item rows) is built on first use, off the JS thread, and kept with the matrix.
#[napi]
pub struct Matrix {
    pub(crate) csr: Arc<Csr>,
    pub(crate) derived: Arc<Derived>,
}

#[derive(Default)]
pub(crate) struct Derived {
    /// Whether every value is a finite number >= 0, as ALS needs (the napi error if not):
    /// checked once, since the matrix never changes.
    values: OnceLock<std::result::Result<(), String>>,
    transposed: OnceLock<Arc<Csr>>,
    /// For the last (factors, threads) asked for: the grouping depends on both.
    long_items: Mutex<Option<((usize, usize), Arc<LongRows>)>>,
}

impl Derived {
    pub(crate) fn check_values(&self, csr: &Csr) -> Result<()> {
        self.values
            .get_or_init(|| cf_core::models::als::check_values(csr).map_err(|e| to_napi(e).reason))
            .clone()
            .map_err(Error::from_reason)
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
        Matrix {
            csr: Arc::new(csr),
            derived: Arc::default(),
        }
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
        n_users: u32,
        n_items: u32,
    ) -> Result<Matrix> {
        let ones;
        let vals: &[f32] = match &values {
            Some(v) => v,
            None => {
                ones = vec![1.0; users.len()];
                &ones
            }
        };
        Csr::from_coo(n_users as usize, n_items as usize, &users, &items, vals)
            .map(Matrix::wrap)
            .map_err(to_napi)
    }

    /// From CSR arrays (as saved next to a model); validated before use.
    #[napi(factory)]
    pub fn from_csr(
        indptr: Uint32Array,
        indices: Uint32Array,
        values: Float32Array,
        n_rows: u32,
        n_cols: u32,
    ) -> Result<Matrix> {
        let csr = Csr {
            n_rows: n_rows as usize,
            n_cols: n_cols as usize,
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
    pub fn row(&self, row: u32) -> Result<Uint32Array> {
        if row as usize >= self.csr.n_rows {
            return Err(invalid(
                "row",
                format!("{row} is out of range (rows: {})", self.csr.n_rows),
            ));
        }
        Ok(Uint32Array::new(self.csr.row(row as usize).0.to_vec()))
    }

    /// Rows with at least one entry.
    #[napi]
    pub fn nonempty_rows(&self) -> u32 {
        self.csr.nonempty_rows() as u32
    }
}
