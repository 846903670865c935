//! One JS class for every model type: recommend, fold-in ranking, similar items, evaluate,
//! params, arrays and the seen rows, written once over the core's `Model` trait. What only
//! one type does lives in that type's file (als.rs), as functions taking a `Model`.

use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use cf_core::data::csr::Csr;
use cf_core::data::seen::SeenRows;
use cf_core::models::Model as CoreModel;
use cf_core::params::Value;
use cf_core::topk::{self, SeenItems};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{to_napi, Op, Result};
use crate::matrix::{Derived, Matrix};
use crate::options::Opts;

/// A model and what serving it needs, shared by the JS object and the tasks running on it.
pub(crate) struct Shared {
    model: RwLock<Box<dyn CoreModel>>,
    /// Held by every change to the model (iterations, partial fits) for its whole duration,
    /// so a partial fit can solve under the read lock (recommendations go on meanwhile) and
    /// still apply to the model it solved against.
    pub(crate) writer: Mutex<()>,
    /// The rows `recommend` filters: the training matrix, with partial-fit rows in place.
    seen: RwLock<Option<Seen>>,
}

pub(crate) struct Seen {
    pub(crate) rows: SeenRows,
    /// What was derived from the base matrix (kept so `train` hands back the same caches).
    derived: Arc<Derived>,
}

impl Shared {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Box<dyn CoreModel>> {
        self.model.read().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Box<dyn CoreModel>> {
        self.model.write().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn seen_mut(&self) -> RwLockWriteGuard<'_, Option<Seen>> {
        self.seen.write().unwrap_or_else(|e| e.into_inner())
    }
    /// Run `f` on the model as a `T`, the type called `name` (read lock); a model of another
    /// type is ERR_CF_UNSUPPORTED naming both. A type's own functions go through here.
    pub(crate) fn with<T: 'static, R>(
        &self,
        name: &str,
        f: impl FnOnce(&T) -> cf_core::Result<R>,
    ) -> cf_core::Result<R> {
        let m = self.read();
        match m.as_any().downcast_ref::<T>() {
            Some(t) => f(t),
            None => Err(not_a(m.type_name(), name)),
        }
    }

    /// `with` under the write lock (callers hold `writer`).
    pub(crate) fn with_mut<T: 'static, R>(
        &self,
        name: &str,
        f: impl FnOnce(&mut T) -> cf_core::Result<R>,
    ) -> cf_core::Result<R> {
        let mut m = self.write();
        let type_name = m.type_name();
        match m.as_any_mut().downcast_mut::<T>() {
            Some(t) => f(t),
            None => Err(not_a(type_name, name)),
        }
    }

    pub(crate) fn seen(&self) -> RwLockReadGuard<'_, Option<Seen>> {
        self.seen.read().unwrap_or_else(|e| e.into_inner())
    }
}

fn not_a(type_name: &str, wanted: &str) -> cf_core::Error {
    cf_core::Error::Unsupported(format!("this is a {type_name} model, not {wanted}"))
}

/// A fitted (or fitting) model of any type.
#[napi(js_name = "Model")]
pub struct ModelHandle {
    pub(crate) shared: Arc<Shared>,
}

impl ModelHandle {
    pub(crate) fn new(model: Box<dyn CoreModel>) -> Self {
        ModelHandle {
            shared: Arc::new(Shared {
                model: RwLock::new(model),
                writer: Mutex::new(()),
                seen: RwLock::new(None),
            }),
        }
    }
}

#[napi(object)]
pub struct TopK {
    /// Item indices, best first.
    pub ids: Uint32Array,
    pub scores: Float32Array,
}

impl TopK {
    pub fn from_pairs(pairs: Vec<(u32, f32)>) -> Self {
        let (ids, scores): (Vec<u32>, Vec<f32>) = pairs.into_iter().unzip();
        TopK {
            ids: Uint32Array::new(ids),
            scores: Float32Array::new(scores),
        }
    }
}

/// A named float32 array of a model (what `saveModel` writes as `<name>.npy`).
#[napi(object)]
pub struct ModelArray {
    pub name: String,
    pub shape: Vec<u32>,
    pub data: Float32Array,
}

#[napi(object)]
pub struct EvalResult {
    pub users_evaluated: u32,
    pub users_without_train: u32,
    pub names: Vec<String>,
    pub values: Vec<f64>,
}

fn k_option(o: &Opts) -> Result<usize> {
    o.number("k")?
        .map_or(Ok(10), |k| cf_core::args::count("k", k, 1))
        .map_err(to_napi)
}

/// A JS value for a parameter value.
pub(crate) fn set_value(obj: &mut Object, key: &str, v: &Value) -> napi::Result<()> {
    match v {
        Value::Num(x) => obj.set(key, *x),
        Value::Bool(b) => obj.set(key, *b),
        Value::Str(s) => obj.set(key, s.as_ref()),
    }
}

#[napi]
impl ModelHandle {
    /// The model's type, as in a config's `type:`.
    #[napi(getter, js_name = "type")]
    pub fn type_name(&self) -> String {
        self.shared.read().type_name().to_string()
    }

    #[napi(getter)]
    pub fn n_users(&self) -> u32 {
        self.shared.read().n_users() as u32
    }

    #[napi(getter)]
    pub fn n_items(&self) -> u32 {
        self.shared.read().n_items() as u32
    }

    /// Every parameter, snake_case, defaults included.
    #[napi(ts_return_type = "Record<string, number | boolean | string>")]
    pub fn params<'env>(&self, env: &'env Env) -> napi::Result<Object<'env>> {
        let mut o = Object::new(env)?;
        for (k, v) in self.shared.read().params() {
            set_value(&mut o, k, &v)?;
        }
        Ok(o)
    }

    /// The arrays a saved model holds (factors, counts), copied.
    #[napi]
    pub fn arrays(&self) -> Vec<ModelArray> {
        self.shared
            .read()
            .arrays()
            .into_iter()
            .map(|a| ModelArray {
                name: a.name,
                shape: a.shape.iter().map(|&d| d as u32).collect(),
                data: Float32Array::new(a.data),
            })
            .collect()
    }

    /// The matrix whose rows `recommend` filters: the one the model was fitted on (or loaded
    /// with), with rows given to a partial fit in place, shaped like the model.
    #[napi(getter)]
    pub fn train(&self) -> Option<Matrix> {
        let seen = self.shared.seen();
        let s = seen.as_ref()?;
        Some(match s.rows.unchanged() {
            Some(base) => Matrix::from_parts(base.clone(), s.derived.clone()),
            None => Matrix::from_arc(s.rows.to_csr()),
        })
    }

    /// Set (or clear) the training matrix; forgets the rows of earlier partial fits.
    #[napi(setter, js_name = "train")]
    pub fn set_train(&self, m: Option<&Matrix>) -> Result<()> {
        if let Some(m) = m {
            let model = self.shared.read();
            if m.csr.n_cols > model.n_items() {
                return Err(crate::error::invalid(
                    "train",
                    format!(
                        "matrix has {} items, the model {}",
                        m.csr.n_cols,
                        model.n_items()
                    ),
                ));
            }
        }
        *self.shared.seen_mut() = m.map(|m| Seen {
            rows: SeenRows::new(m.csr.clone()),
            derived: m.derived.clone(),
        });
        Ok(())
    }

    /// Top-k items for a known user. Options: `k` (10; capped at the number of items),
    /// `filterSeen` (true: leave out the user's training items), `exclude` (a Matrix whose
    /// row is left out instead of the training row).
    #[napi(
        ts_args_type = "user: number, options?: { k?: number; filterSeen?: boolean; exclude?: Matrix | null }"
    )]
    pub fn recommend(&self, user: f64, options: Option<Object>) -> Result<TopK> {
        let o = Opts::new(options, &["k", "filterSeen", "exclude"])?;
        let k = k_option(&o)?;
        let filter = o.bool("filterSeen")?.unwrap_or(true);
        let exclude = o.matrix("exclude")?;
        let model = self.shared.read();
        let user = cf_core::args::index("user", user, model.n_users(), "users").map_err(to_napi)?;
        let seen = self.shared.seen();
        let mut sources: Vec<&dyn SeenItems> = Vec::new();
        if filter {
            match (&exclude, seen.as_ref()) {
                (Some(m), _) => sources.push(&*m.csr),
                (None, Some(s)) => sources.push(&s.rows),
                (None, None) => {}
            }
        }
        topk::recommend(&**model, user, k, &sources)
            .map(TopK::from_pairs)
            .map_err(to_napi)
    }

    /// Top-k for someone not in the model, from item indices (fold-in); the given items are
    /// left out. Options: `k`, `values` (Float32Array, one per item; default 1 each).
    #[napi(
        ts_args_type = "items: Uint32Array, options?: { k?: number; values?: Float32Array | null }"
    )]
    pub fn recommend_for_items(&self, items: Uint32Array, options: Option<Object>) -> Result<TopK> {
        let o = Opts::new(options, &["k", "values"])?;
        let k = k_option(&o)?;
        let values = o.f32s("values")?.unwrap_or_else(|| vec![1.0; items.len()]);
        let model = self.shared.read();
        topk::recommend_for_items(&**model, &items, &values, k)
            .map(TopK::from_pairs)
            .map_err(to_napi)
    }

    /// Items most similar to `item`, itself left out. Options: `k`.
    #[napi(ts_args_type = "item: number, options?: { k?: number }")]
    pub fn similar_items(&self, item: f64, options: Option<Object>) -> Result<TopK> {
        let o = Opts::new(options, &["k"])?;
        let k = k_option(&o)?;
        let model = self.shared.read();
        let item = cf_core::args::index("item", item, model.n_items(), "items").map_err(to_napi)?;
        topk::similar_items(&**model, item, k)
            .map(TopK::from_pairs)
            .map_err(to_napi)
    }

    /// Ranking metrics of the model on `truth`, off the JS thread. Options: `k` (a number or
    /// a list; required), `filterSeen` (true), `alsoExclude` (a Matrix, e.g. validation when
    /// scoring test), `threads` (default: the model's).
    #[napi(
        ts_args_type = "train: Matrix, truth: Matrix, options: { k: number | number[]; filterSeen?: boolean; alsoExclude?: Matrix | null; threads?: number }, signal?: AbortSignal",
        ts_return_type = "Promise<EvalResult>"
    )]
    pub fn evaluate(
        &self,
        train: &Matrix,
        truth: &Matrix,
        options: Option<Object>,
        signal: Option<AbortSignal>,
    ) -> Result<AsyncTask<crate::error::CoreTask<EvaluateOp>>> {
        Ok(EvaluateOp::new(&self.shared, train, truth, options)?.run_async(signal))
    }

    #[napi(
        ts_args_type = "train: Matrix, truth: Matrix, options: { k: number | number[]; filterSeen?: boolean; alsoExclude?: Matrix | null; threads?: number }"
    )]
    pub fn evaluate_sync(
        &self,
        train: &Matrix,
        truth: &Matrix,
        options: Option<Object>,
    ) -> Result<EvalResult> {
        EvaluateOp::new(&self.shared, train, truth, options)?.run_sync()
    }
}

pub struct EvaluateOp {
    shared: Arc<Shared>,
    train: Arc<Csr>,
    exclude: Vec<Arc<Csr>>,
    truth: Arc<Csr>,
    ks: Vec<usize>,
    threads: usize,
}

impl EvaluateOp {
    fn new(
        shared: &Arc<Shared>,
        train: &Matrix,
        truth: &Matrix,
        options: Option<Object>,
    ) -> Result<Self> {
        let o = Opts::new(options, &["k", "filterSeen", "alsoExclude", "threads"])?;
        let ks = o
            .numbers("k")?
            .ok_or_else(|| crate::error::invalid("k", "is required: a cutoff or a list of them"))?
            .into_iter()
            .map(|k| cf_core::args::count("k", k, 1))
            .collect::<cf_core::Result<Vec<_>>>()
            .map_err(to_napi)?;
        let threads = match o.number("threads")? {
            Some(t) => cf_core::args::whole("threads", t, 0, cf_core::pool::MAX_THREADS as u64)
                .map_err(to_napi)? as usize,
            None => shared.read().threads(),
        };
        let mut exclude = Vec::new();
        if o.bool("filterSeen")?.unwrap_or(true) {
            exclude.push(train.csr.clone());
            if let Some(m) = o.matrix("alsoExclude")? {
                exclude.push(m.csr.clone());
            }
        }
        Ok(EvaluateOp {
            shared: shared.clone(),
            train: train.csr.clone(),
            exclude,
            truth: truth.csr.clone(),
            ks,
            threads,
        })
    }
}

impl Op for EvaluateOp {
    type Output = cf_core::metrics::EvalReport;
    type Js = EvalResult;

    fn compute(&mut self) -> cf_core::Result<Self::Output> {
        let pool = cf_core::pool::pool(self.threads)?;
        let exclude: Vec<&dyn SeenItems> = self
            .exclude
            .iter()
            .map(|m| &**m as &dyn SeenItems)
            .collect();
        let model = self.shared.read();
        pool.install(|| {
            cf_core::metrics::evaluate(&**model, &self.train, &exclude, &self.truth, &self.ks)
        })
    }

    fn to_js(r: Self::Output) -> EvalResult {
        let (names, values) = r.metrics.into_iter().unzip();
        EvalResult {
            users_evaluated: r.users_evaluated as u32,
            users_without_train: r.users_without_train as u32,
            names,
            values,
        }
    }
}
