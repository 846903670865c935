use std::sync::{Arc, Mutex, RwLock};

use cf_core::data::csr::Csr;
use cf_core::models::als::{AlsModel, AlsParams, Confidence, IterationReport, Precision, Solver};
use cf_core::pool::pool;
use napi::bindgen_prelude::*;
use napi::Task;
use napi_derive::napi;

use crate::error::{invalid, to_napi};
use crate::matrix::{Derived, Matrix};
use crate::tasks::{recommend_one, EvaluateTask, ModelRef};
use crate::topk::TopK;

#[napi(object, object_to_js = false)]
pub struct AlsOptions {
    pub factors: Option<u32>,
    pub regularization: Option<f64>,
    pub scale_regularization: Option<bool>,
    pub alpha: Option<f64>,
    /// "linear" (1 + alpha r) or "log" (1 + alpha ln(1 + r / epsilon)).
    pub confidence: Option<String>,
    pub epsilon: Option<f64>,
    pub iterations: Option<u32>,
    /// "cg" or "cholesky".
    pub solver: Option<String>,
    pub cg_steps: Option<u32>,
    /// What CG reads: "mixed" (a float16 copy of the other side, the default) or "single".
    pub cg_precision: Option<String>,
    pub seed: Option<u32>,
    /// 0 = all cores.
    pub threads: Option<u32>,
    pub compute_loss: Option<bool>,
}

fn params(o: &AlsOptions) -> Result<AlsParams> {
    let d = AlsParams::default();
    let confidence = match o.confidence.as_deref() {
        None | Some("linear") => Confidence::Linear,
        Some("log") => Confidence::Log {
            epsilon: o.epsilon.unwrap_or(1.0) as f32,
        },
        Some(other) => {
            return Err(invalid(
                "confidence",
                format!("must be \"linear\" or \"log\" (got {other:?})"),
            ))
        }
    };
    let solver = match o.solver.as_deref() {
        None | Some("cg") => Solver::Cg {
            steps: o.cg_steps.unwrap_or(3) as usize,
        },
        Some("cholesky") => Solver::Cholesky,
        Some(other) => {
            return Err(invalid(
                "solver",
                format!("must be \"cg\" or \"cholesky\" (got {other:?})"),
            ))
        }
    };
    let precision = match o.cg_precision.as_deref() {
        None | Some("mixed") => Precision::Mixed,
        Some("single") => Precision::Single,
        Some(other) => {
            return Err(invalid(
                "cg_precision",
                format!("must be \"mixed\" or \"single\" (got {other:?})"),
            ))
        }
    };
    let p = AlsParams {
        factors: o.factors.map_or(d.factors, |v| v as usize),
        regularization: o.regularization.map_or(d.regularization, |v| v as f32),
        scale_regularization: o.scale_regularization.unwrap_or(d.scale_regularization),
        alpha: o.alpha.map_or(d.alpha, |v| v as f32),
        confidence,
        iterations: o.iterations.map_or(d.iterations, |v| v as usize),
        solver,
        precision,
        seed: o.seed.map_or(d.seed, u64::from),
        threads: o.threads.map_or(d.threads, |v| v as usize),
        compute_loss: o.compute_loss.unwrap_or(false),
    };
    p.validate().map_err(to_napi)?;
    Ok(p)
}

#[napi(object)]
pub struct IterationInfo {
    pub iteration: u32,
    pub seconds: f64,
    pub loss: Option<f64>,
}

/// Implicit-feedback ALS. Iterations are driven from JS (`iterate`), so progress,
/// cancellation and logging stay in TypeScript.
#[napi]
pub struct Als {
    inner: Arc<RwLock<AlsModel>>,
    /// Held by every change to the model (iterations, partial fits) for its whole duration, so
    /// a partial fit can solve under the read lock (recommendations go on meanwhile) and
    /// still apply to the model it solved against.
    writer: Arc<Mutex<()>>,
}

impl Als {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, AlsModel> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn partial_fit_task(
        &self,
        users: bool,
        ids: &[u32],
        rows: &Matrix,
    ) -> AsyncTask<PartialFitTask> {
        AsyncTask::new(PartialFitTask {
            model: self.inner.clone(),
            writer: self.writer.clone(),
            users,
            ids: ids.to_vec(),
            rows: rows.csr.clone(),
        })
    }
}

/// The caller's values, or 1 per id when none were given (length checked in the core).
fn values_or_ones(ids: &[u32], values: Option<&[f32]>) -> Vec<f32> {
    values.map_or_else(|| vec![1.0; ids.len()], <[f32]>::to_vec)
}

pub struct IterateTask {
    model: Arc<RwLock<AlsModel>>,
    writer: Arc<Mutex<()>>,
    data: Arc<Csr>,
    derived: Arc<Derived>,
}

/// Solve under the read lock, apply under the write lock, both inside the writer lock.
fn partial_fit(
    model: &RwLock<AlsModel>,
    writer: &Mutex<()>,
    users: bool,
    ids: &[u32],
    rows: &Csr,
) -> Result<()> {
    let _writing = writer.lock().unwrap_or_else(|e| e.into_inner());
    let update = {
        let m = model.read().unwrap_or_else(|e| e.into_inner());
        if users {
            m.solve_partial_users(ids, rows)
        } else {
            m.solve_partial_items(ids, rows)
        }
        .map_err(to_napi)?
    };
    model
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .apply_partial(update)
        .map_err(to_napi)
}

pub struct PartialFitTask {
    model: Arc<RwLock<AlsModel>>,
    writer: Arc<Mutex<()>>,
    users: bool,
    ids: Vec<u32>,
    rows: Arc<Csr>,
}

#[napi]
impl Task for PartialFitTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<Self::Output> {
        partial_fit(&self.model, &self.writer, self.users, &self.ids, &self.rows)
    }

    fn resolve(&mut self, _env: Env, _: Self::Output) -> Result<Self::JsValue> {
        Ok(())
    }
}

#[napi]
impl Task for IterateTask {
    type Output = IterationReport;
    type JsValue = IterationInfo;

    fn compute(&mut self) -> Result<Self::Output> {
        let _writing = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut m = self.model.write().unwrap_or_else(|e| e.into_inner());
        // Before anything is derived from a matrix that cannot be used.
        m.check_shape(&self.data).map_err(to_napi)?;
        self.derived.check_values(&self.data)?;
        // Built on the first iteration and kept with the matrix for the next ones.
        let transposed = self.derived.transposed(&self.data);
        let long = match m.params.solver {
            Solver::Cg { .. } => {
                let threads = pool(m.params.threads)
                    .map_err(to_napi)?
                    .current_num_threads();
                Some(self.derived.long_items(&self.data, m.factors(), threads))
            }
            Solver::Cholesky => None,
        };
        m.iterate_checked(&self.data, &transposed, long.as_deref())
            .map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, r: Self::Output) -> Result<Self::JsValue> {
        Ok(IterationInfo {
            iteration: r.iteration as u32,
            seconds: r.seconds,
            loss: r.loss,
        })
    }
}

#[napi]
impl Als {
    /// Seeded initial factors for a matrix of `n_users` x `n_items`.
    #[napi(constructor)]
    pub fn new(options: AlsOptions, n_users: u32, n_items: u32) -> Result<Self> {
        let m = AlsModel::new(params(&options)?, n_users as usize, n_items as usize)
            .map_err(to_napi)?;
        Ok(Als {
            inner: Arc::new(RwLock::new(m)),
            writer: Default::default(),
        })
    }

    /// A fitted model from saved row-major factors.
    #[napi(factory)]
    pub fn from_factors(
        options: AlsOptions,
        user_factors: Float32Array,
        item_factors: Float32Array,
    ) -> Result<Self> {
        let m = AlsModel::from_factors(
            params(&options)?,
            user_factors.to_vec(),
            item_factors.to_vec(),
        )
        .map_err(to_napi)?;
        Ok(Als {
            inner: Arc::new(RwLock::new(m)),
            writer: Default::default(),
        })
    }

    /// One iteration (users, then items) off the JS thread.
    #[napi]
    pub fn iterate(&self, data: &Matrix) -> Result<AsyncTask<IterateTask>> {
        // Shape only here; the values are checked once per matrix, off the JS thread.
        self.read().check_shape(&data.csr).map_err(to_napi)?;
        Ok(AsyncTask::new(IterateTask {
            model: self.inner.clone(),
            writer: self.writer.clone(),
            data: data.csr.clone(),
            derived: data.derived.clone(),
        }))
    }

    #[napi]
    pub fn iterate_sync(&self, data: &Matrix) -> Result<IterationInfo> {
        let mut t = IterateTask {
            model: self.inner.clone(),
            writer: self.writer.clone(),
            data: data.csr.clone(),
            derived: data.derived.clone(),
        };
        let out = t.compute()?;
        Ok(IterationInfo {
            iteration: out.iteration as u32,
            seconds: out.seconds,
            loss: out.loss,
        })
    }

    #[napi(getter)]
    pub fn factors(&self) -> u32 {
        self.read().factors() as u32
    }

    #[napi(getter)]
    pub fn n_users(&self) -> u32 {
        self.read().n_users as u32
    }

    #[napi(getter)]
    pub fn n_items(&self) -> u32 {
        self.read().n_items as u32
    }

    #[napi(getter)]
    pub fn iterations_done(&self) -> u32 {
        self.read().iterations_done as u32
    }

    /// Row-major copy of the user factors.
    #[napi]
    pub fn user_factors(&self) -> Float32Array {
        Float32Array::new(self.read().user_factors.to_vec())
    }

    #[napi]
    pub fn item_factors(&self) -> Float32Array {
        Float32Array::new(self.read().item_factors.to_vec())
    }

    #[napi]
    pub fn recommend(&self, user: u32, k: u32, exclude: Option<&Matrix>) -> Result<TopK> {
        recommend_one(&ModelRef::Als(self.inner.clone()), user, k, exclude)
    }

    /// Exact factor of a user absent from training, from item indices and optional values
    /// (default 1 each); repeated indices are summed.
    #[napi]
    pub fn fold_in_user(
        &self,
        items: Uint32Array,
        values: Option<Float32Array>,
    ) -> Result<Float32Array> {
        let vals = values_or_ones(&items, values.as_deref());
        let x = self.read().fold_in_user(&items, &vals).map_err(to_napi)?;
        Ok(Float32Array::new(x))
    }

    /// Exact factor of an item absent from training, from user indices and optional values.
    #[napi]
    pub fn fold_in_item(
        &self,
        users: Uint32Array,
        values: Option<Float32Array>,
    ) -> Result<Float32Array> {
        let vals = values_or_ones(&users, values.as_deref());
        let x = self.read().fold_in_item(&users, &vals).map_err(to_napi)?;
        Ok(Float32Array::new(x))
    }

    /// Compute the Gram matrices fold-in uses now instead of on the first fold-in.
    #[napi]
    pub fn prepare_fold_in(&self) -> Result<()> {
        self.read().prepare_fold_in().map_err(to_napi)
    }

    /// Recommendations for a user absent from training; the given items are excluded.
    #[napi]
    pub fn recommend_for_items(
        &self,
        items: Uint32Array,
        values: Option<Float32Array>,
        k: u32,
    ) -> Result<TopK> {
        let vals = values_or_ones(&items, values.as_deref());
        let pairs = self
            .read()
            .recommend_for_items(&items, &vals, k as usize)
            .map_err(to_napi)?;
        Ok(TopK::from_pairs(pairs))
    }

    /// Items closest to `item` by cosine of their factors (the item itself excluded).
    #[napi]
    pub fn similar_items(&self, item: u32, k: u32) -> Result<TopK> {
        let pairs = self
            .read()
            .similar_items(item, k as usize)
            .map_err(to_napi)?;
        Ok(TopK::from_pairs(pairs))
    }

    /// Items closest by cosine to an item absent from training, folded in from its users.
    #[napi]
    pub fn similar_to_new_item(
        &self,
        users: Uint32Array,
        values: Option<Float32Array>,
        k: u32,
    ) -> Result<TopK> {
        let vals = values_or_ones(&users, values.as_deref());
        let pairs = self
            .read()
            .similar_to_new_item(&users, &vals, k as usize)
            .map_err(to_napi)?;
        Ok(TopK::from_pairs(pairs))
    }

    /// Recompute or add users' factors from their full rows (row j of `rows` is `users[j]`),
    /// off the JS thread; recommendations keep working while the rows are solved.
    #[napi]
    pub fn partial_fit_users(
        &self,
        users: Uint32Array,
        rows: &Matrix,
    ) -> AsyncTask<PartialFitTask> {
        self.partial_fit_task(true, &users, rows)
    }

    #[napi]
    pub fn partial_fit_users_sync(&self, users: Uint32Array, rows: &Matrix) -> Result<()> {
        partial_fit(&self.inner, &self.writer, true, &users, &rows.csr)
    }

    /// Recompute or add items' factors from their full columns (row j of `rows` is
    /// `items[j]`), off the JS thread.
    #[napi]
    pub fn partial_fit_items(
        &self,
        items: Uint32Array,
        rows: &Matrix,
    ) -> AsyncTask<PartialFitTask> {
        self.partial_fit_task(false, &items, rows)
    }

    #[napi]
    pub fn partial_fit_items_sync(&self, items: Uint32Array, rows: &Matrix) -> Result<()> {
        partial_fit(&self.inner, &self.writer, false, &items, &rows.csr)
    }

    #[napi]
    pub fn evaluate(
        &self,
        train: &Matrix,
        truth: &Matrix,
        also_exclude: Option<&Matrix>,
        filter_seen: bool,
        ks: Vec<u32>,
        threads: u32,
    ) -> AsyncTask<EvaluateTask> {
        AsyncTask::new(EvaluateTask::new(
            ModelRef::Als(self.inner.clone()),
            train,
            truth,
            also_exclude,
            filter_seen,
            ks,
            threads,
        ))
    }
}
