//! One JS class for every model type: recommend, fold-in ranking, similar items, evaluate,
//! params, arrays and the seen rows, written once over the core's `Model` trait. What only
//! one type does lives in that type's file (als.rs), as functions taking a `Model`.

use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use cf_core::data::csr::Csr;
use cf_core::data::seen::SeenRows;
use cf_core::models::Model as CoreModel;
use cf_core::params::Value;
use cf_core::topk::kernel::Packed;
use cf_core::topk::{self, SeenItems};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{to_napi, Op, Result};
use crate::lists::{index, one, Kind, ListOp, Lists, ScoreStats};
use crate::matrix::{Derived, Matrix};
use crate::options::Opts;
use crate::typed::{F32s, U32s};
use cf_core::topk::Side;

/// A model and what serving it needs, shared by the JS object and the tasks running on it.
pub(crate) struct Shared {
    /// Shared with the hybrids that blend this model (they read it for each use).
    model: cf_core::models::hybrid::SharedModel,
    /// Held by every change to the model (iterations, partial fits) for its whole duration,
    /// so a partial fit can solve under the read lock (recommendations go on meanwhile) and
    /// still apply to the model it solved against.
    pub(crate) writer: Mutex<()>,
    /// The rows `recommend` filters: the training matrix, with partial-fit rows in place.
    seen: RwLock<Option<Seen>>,
    /// The item factors (and, once similar users are asked for, the user factors) packed for
    /// the top-K kernel, built on first use and dropped by every write (so a list never reads
    /// factors older than the model).
    packed: Mutex<[Option<Arc<Packed>>; 2]>,
}

pub(crate) struct Seen {
    pub(crate) rows: SeenRows,
    /// What was derived from the base matrix (kept so `train` hands back the same caches).
    derived: Arc<Derived>,
}

impl Shared {
    /// The model itself, for a hybrid to hold as one of its parts.
    pub(crate) fn model(&self) -> cf_core::models::hybrid::SharedModel {
        self.model.clone()
    }
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Box<dyn CoreModel>> {
        self.model.read().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Box<dyn CoreModel>> {
        let w = self.model.write().unwrap_or_else(|e| e.into_inner());
        // Taken only now: a reader that packed before this write held the read lock, so its
        // pack is of the old factors and goes here.
        *self.packed.lock().unwrap_or_else(|e| e.into_inner()) = [None, None];
        w
    }

    /// The item factors packed for top-K (callers hold the read lock on `model`); None for
    /// models without factors.
    pub(crate) fn items_packed(&self, model: &dyn CoreModel) -> Option<Arc<Packed>> {
        self.packed_rows(model, Side::Items)
    }

    /// One side's factors packed (items for lists, users for similar users).
    pub(crate) fn packed_rows(&self, model: &dyn CoreModel, side: Side) -> Option<Arc<Packed>> {
        let fm = model.factor_view()?;
        let (rows, slot) = match side {
            Side::Items => (fm.items, 0),
            Side::Users => (fm.users, 1),
        };
        let mut p = self.packed.lock().unwrap_or_else(|e| e.into_inner());
        let n = rows.len() / fm.f.max(1);
        match &p[slot] {
            Some(pk) if pk.matches(n, fm.f) => Some(pk.clone()),
            _ => Some(p[slot].insert(Arc::new(Packed::new(rows, fm.f))).clone()),
        }
    }
    pub(crate) fn seen_mut(&self) -> RwLockWriteGuard<'_, Option<Seen>> {
        self.seen.write().unwrap_or_else(|e| e.into_inner())
    }
    /// [`Shared::with`], also handing `f` the cached packing of the item factors.
    pub(crate) fn with_packed<T: 'static, R>(
        &self,
        name: &str,
        f: impl FnOnce(&T, Option<&Packed>) -> cf_core::Result<R>,
    ) -> cf_core::Result<R> {
        let m = self.read();
        let packed = self.items_packed(&**m);
        match m.as_any().downcast_ref::<T>() {
            Some(t) => f(t, packed.as_deref()),
            None => Err(not_a(m.type_name(), name)),
        }
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
                model: Arc::new(RwLock::new(model)),
                writer: Mutex::new(()),
                seen: RwLock::new(None),
                packed: Mutex::new([None, None]),
            }),
        }
    }
}

#[napi(object, object_from_js = false)]
pub struct TopK {
    /// Item indices, best first.
    #[napi(ts_type = "Uint32Array")]
    pub ids: U32s,
    #[napi(ts_type = "Float32Array")]
    pub scores: F32s,
}

impl TopK {
    pub fn from_pairs(pairs: Vec<(u32, f32)>) -> Self {
        let (ids, scores): (Vec<u32>, Vec<f32>) = pairs.into_iter().unzip();
        TopK {
            ids: U32s(ids),
            scores: F32s(scores),
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
    /// Each evaluated user's values, with `perUser: true`.
    pub per_user: Option<PerUserValues>,
}

/// Row r (user `users[r]`) is `values[r * names.length ..][.. names.length]`; NaN where a
/// metric is undefined for that user (AUC without a negative, novelty of an empty list).
#[napi(object)]
pub struct PerUserValues {
    pub users: Uint32Array,
    pub names: Vec<String>,
    pub values: Float64Array,
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

    /// Top-k items for a known user. Options: `k` (10; capped at the items that can be
    /// returned), `filterSeen` (true: leave out the user's training items), `exclude` (a
    /// Matrix whose row is left out instead of the training row), `excludeItems` (items no
    /// list may hold), `candidates` (only these items may be returned).
    #[napi(
        ts_args_type = "user: number, options?: { k?: number; filterSeen?: boolean; exclude?: Matrix | null; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }"
    )]
    pub fn recommend(&self, user: f64, options: Option<Object>) -> Result<TopK> {
        let u = index(&self.shared, "user", user, Side::Users)?;
        one(&self.shared, Kind::Recommend, u, options)
    }

    /// `recommend` for many users at once, off the JS thread.
    #[napi(
        ts_args_type = "users: Uint32Array, options?: { k?: number; filterSeen?: boolean; exclude?: Matrix | null; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }, signal?: AbortSignal",
        ts_return_type = "Promise<Lists>"
    )]
    pub fn recommend_many(
        &self,
        users: Uint32Array,
        options: Option<Object>,
        signal: Option<AbortSignal>,
    ) -> Result<AsyncTask<crate::error::CoreTask<ListOp>>> {
        Ok(ListOp::new(&self.shared, Kind::Recommend, users.to_vec(), options)?.run_async(signal))
    }

    #[napi(
        ts_args_type = "users: Uint32Array, options?: { k?: number; filterSeen?: boolean; exclude?: Matrix | null; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }"
    )]
    pub fn recommend_many_sync(
        &self,
        users: Uint32Array,
        options: Option<Object>,
    ) -> Result<Lists> {
        ListOp::new(&self.shared, Kind::Recommend, users.to_vec(), options)?.run_sync()
    }

    /// Items most similar to `item`, itself left out. Options: `k`, `measure` ("cosine", the
    /// default, or "dot"), `excludeItems`, `candidates`.
    #[napi(
        ts_args_type = "item: number, options?: { k?: number; measure?: 'cosine' | 'dot'; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }"
    )]
    pub fn similar_items(&self, item: f64, options: Option<Object>) -> Result<TopK> {
        let i = index(&self.shared, "item", item, Side::Items)?;
        one(&self.shared, Kind::Similar(Side::Items), i, options)
    }

    #[napi(
        ts_args_type = "items: Uint32Array, options?: { k?: number; measure?: 'cosine' | 'dot'; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }, signal?: AbortSignal",
        ts_return_type = "Promise<Lists>"
    )]
    pub fn similar_items_many(
        &self,
        items: Uint32Array,
        options: Option<Object>,
        signal: Option<AbortSignal>,
    ) -> Result<AsyncTask<crate::error::CoreTask<ListOp>>> {
        Ok(ListOp::new(
            &self.shared,
            Kind::Similar(Side::Items),
            items.to_vec(),
            options,
        )?
        .run_async(signal))
    }

    #[napi(
        ts_args_type = "items: Uint32Array, options?: { k?: number; measure?: 'cosine' | 'dot'; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }"
    )]
    pub fn similar_items_many_sync(
        &self,
        items: Uint32Array,
        options: Option<Object>,
    ) -> Result<Lists> {
        ListOp::new(
            &self.shared,
            Kind::Similar(Side::Items),
            items.to_vec(),
            options,
        )?
        .run_sync()
    }

    /// Users most similar to `user` (by their factors), themselves left out. Options: `k`,
    /// `measure`, `excludeItems` and `candidates` (here: user indices).
    #[napi(
        ts_args_type = "user: number, options?: { k?: number; measure?: 'cosine' | 'dot'; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }"
    )]
    pub fn similar_users(&self, user: f64, options: Option<Object>) -> Result<TopK> {
        let u = index(&self.shared, "user", user, Side::Users)?;
        one(&self.shared, Kind::Similar(Side::Users), u, options)
    }

    #[napi(
        ts_args_type = "users: Uint32Array, options?: { k?: number; measure?: 'cosine' | 'dot'; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }, signal?: AbortSignal",
        ts_return_type = "Promise<Lists>"
    )]
    pub fn similar_users_many(
        &self,
        users: Uint32Array,
        options: Option<Object>,
        signal: Option<AbortSignal>,
    ) -> Result<AsyncTask<crate::error::CoreTask<ListOp>>> {
        Ok(ListOp::new(
            &self.shared,
            Kind::Similar(Side::Users),
            users.to_vec(),
            options,
        )?
        .run_async(signal))
    }

    #[napi(
        ts_args_type = "users: Uint32Array, options?: { k?: number; measure?: 'cosine' | 'dot'; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }"
    )]
    pub fn similar_users_many_sync(
        &self,
        users: Uint32Array,
        options: Option<Object>,
    ) -> Result<Lists> {
        ListOp::new(
            &self.shared,
            Kind::Similar(Side::Users),
            users.to_vec(),
            options,
        )?
        .run_sync()
    }

    /// Quantiles of the top-k scores of a sample of users (seen items filtered), to put
    /// scores of different models on one scale. Options: `sample` (1000 users), `k` (10).
    /// Null for a model with no user or item.
    #[napi(ts_args_type = "options?: { sample?: number; k?: number }")]
    pub fn score_stats(&self, options: Option<Object>) -> Result<Option<ScoreStats>> {
        let o = Opts::new(options, &["sample", "k"])?;
        let sample = o
            .number("sample")?
            .map_or(Ok(1000), |v| cf_core::args::count("sample", v, 1))
            .map_err(to_napi)?;
        let k = o
            .number("k")?
            .map_or(Ok(10), |v| cf_core::args::count("k", v, 1))
            .map_err(to_napi)?;
        let model = self.shared.read();
        let seen = self.shared.seen();
        let sources: Vec<&dyn SeenItems> = seen
            .as_ref()
            .map(|s| &s.rows as &dyn SeenItems)
            .into_iter()
            .collect();
        let pool = cf_core::pool::pool(model.threads()).map_err(to_napi)?;
        let s = pool
            .install(|| topk::score_stats(&**model, sample, k, &sources))
            .map_err(to_napi)?;
        Ok(s.map(|s| ScoreStats {
            users: s.users as u32,
            k: s.k as u32,
            min: s.min as f64,
            p01: s.p01 as f64,
            p50: s.p50 as f64,
            p99: s.p99 as f64,
            max: s.max as f64,
        }))
    }

    /// Top-k for someone not in the model, from item indices (fold-in); the given items are
    /// left out. Options: `k`, `values` (Float32Array, one per item; default 1 each),
    /// `excludeItems`, `candidates` (as in `recommend`).
    #[napi(
        ts_args_type = "items: Uint32Array, options?: { k?: number; values?: Float32Array | null; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }"
    )]
    pub fn recommend_for_items(&self, items: Uint32Array, options: Option<Object>) -> Result<TopK> {
        FoldInOp::new(&self.shared, &items, options)?.run_sync()
    }

    /// `recommendForItems` off the JS thread.
    #[napi(
        ts_args_type = "items: Uint32Array, options?: { k?: number; values?: Float32Array | null; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }, signal?: AbortSignal",
        ts_return_type = "Promise<TopK>"
    )]
    pub fn recommend_for_items_async(
        &self,
        items: Uint32Array,
        options: Option<Object>,
        signal: Option<AbortSignal>,
    ) -> Result<AsyncTask<crate::error::CoreTask<FoldInOp>>> {
        Ok(FoldInOp::new(&self.shared, &items, options)?.run_async(signal))
    }

    /// `recommendForItems` for many people at once, off the JS thread: query q folds in
    /// `items[indptr[q] .. indptr[q + 1]]` (values likewise; default 1 each) and its list
    /// leaves those items out. The fold-ins run in parallel and the scoring is one batch;
    /// each row is bitwise what `recommendForItems` gives that query alone.
    #[napi(
        ts_args_type = "indptr: Uint32Array, items: Uint32Array, options?: { k?: number; values?: Float32Array | null; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }, signal?: AbortSignal",
        ts_return_type = "Promise<Lists>"
    )]
    pub fn recommend_for_items_many(
        &self,
        indptr: Uint32Array,
        items: Uint32Array,
        options: Option<Object>,
        signal: Option<AbortSignal>,
    ) -> Result<AsyncTask<crate::error::CoreTask<FoldInManyOp>>> {
        Ok(FoldInManyOp::new(&self.shared, &indptr, &items, options)?.run_async(signal))
    }

    #[napi(
        ts_args_type = "indptr: Uint32Array, items: Uint32Array, options?: { k?: number; values?: Float32Array | null; excludeItems?: Uint32Array | null; candidates?: Uint32Array | null }"
    )]
    pub fn recommend_for_items_many_sync(
        &self,
        indptr: Uint32Array,
        items: Uint32Array,
        options: Option<Object>,
    ) -> Result<crate::lists::Lists> {
        FoldInManyOp::new(&self.shared, &indptr, &items, options)?.run_sync()
    }

    /// Ranking metrics of the model on `truth`, off the JS thread. Options: `k` (a number or
    /// a list; required), `filterSeen` (true), `alsoExclude` (a Matrix, e.g. validation when
    /// scoring test), `threads` (default: the model's), `auc` (true; false skips scoring the
    /// whole catalogue), `perUser` (false; true adds every user's values).
    #[napi(
        ts_args_type = "train: Matrix, truth: Matrix, options: { k: number | number[]; filterSeen?: boolean; alsoExclude?: Matrix | null; threads?: number; auc?: boolean; perUser?: boolean }, signal?: AbortSignal",
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
        ts_args_type = "train: Matrix, truth: Matrix, options: { k: number | number[]; filterSeen?: boolean; alsoExclude?: Matrix | null; threads?: number; auc?: boolean; perUser?: boolean }"
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

/// A fold-in ranking (`recommendForItems` and its async twin): one `compute`.
pub struct FoldInOp {
    shared: Arc<Shared>,
    items: Vec<u32>,
    values: Vec<f32>,
    k: usize,
    exclude_items: Vec<u32>,
    candidates: Option<Vec<u32>>,
}

impl FoldInOp {
    fn new(shared: &Arc<Shared>, items: &[u32], options: Option<Object>) -> Result<Self> {
        let o = Opts::new(options, &["k", "values", "excludeItems", "candidates"])?;
        Ok(FoldInOp {
            shared: shared.clone(),
            k: k_option(&o)?,
            values: o.f32s("values")?.unwrap_or_else(|| vec![1.0; items.len()]),
            items: items.to_vec(),
            exclude_items: o.u32s("excludeItems")?.unwrap_or_default(),
            candidates: o.u32s("candidates")?,
        })
    }
}

impl Op for FoldInOp {
    type Output = Vec<(u32, f32)>;
    type Js = TopK;

    fn compute(&mut self) -> cf_core::Result<Self::Output> {
        let model = self.shared.read();
        let packed = self.shared.items_packed(&**model);
        let mut req = topk::Request::new(self.k);
        req.items_packed = packed.as_deref();
        req.exclude_items = &self.exclude_items;
        req.candidates = self.candidates.as_deref();
        // As a lone recommend: a fold-in whose scoring will not be split runs on this thread,
        // since entering the pool costs a wake-up of a worker (~0.1 ms here) per call.
        if !topk::dense::splits(model.n_items()) {
            return topk::recommend_items(&**model, &self.items, &self.values, &req);
        }
        let pool = cf_core::pool::pool(model.threads())?;
        pool.install(|| topk::recommend_items(&**model, &self.items, &self.values, &req))
    }

    fn to_js(pairs: Self::Output) -> TopK {
        TopK::from_pairs(pairs)
    }
}

/// Many fold-in rankings in one batch (`recommendForItemsMany` and its sync twin).
pub struct FoldInManyOp {
    shared: Arc<Shared>,
    indptr: Vec<u32>,
    inner: FoldInOp,
}

impl FoldInManyOp {
    fn new(
        shared: &Arc<Shared>,
        indptr: &[u32],
        items: &[u32],
        options: Option<Object>,
    ) -> Result<Self> {
        Ok(FoldInManyOp {
            shared: shared.clone(),
            indptr: indptr.to_vec(),
            inner: FoldInOp::new(shared, items, options)?,
        })
    }
}

impl Op for FoldInManyOp {
    type Output = topk::Lists;
    type Js = crate::lists::Lists;

    fn compute(&mut self) -> cf_core::Result<Self::Output> {
        let model = self.shared.read();
        let packed = self.shared.items_packed(&**model);
        let f = &self.inner;
        let mut req = topk::Request::new(f.k);
        req.items_packed = packed.as_deref();
        req.exclude_items = &f.exclude_items;
        req.candidates = f.candidates.as_deref();
        let queries = self.indptr.len().saturating_sub(1);
        if crate::lists::on_this_thread(&**model, queries, model.n_items()) {
            return topk::recommend_items_many(&**model, &self.indptr, &f.items, &f.values, &req);
        }
        let pool = cf_core::pool::pool(model.threads())?;
        pool.install(|| {
            topk::recommend_items_many(&**model, &self.indptr, &f.items, &f.values, &req)
        })
    }

    fn to_js(l: topk::Lists) -> crate::lists::Lists {
        crate::lists::Lists {
            rows: l.rows() as u32,
            k: l.width as u32,
            ids: U32s(l.ids),
            scores: F32s(l.scores),
        }
    }
}

pub struct EvaluateOp {
    shared: Arc<Shared>,
    train: Arc<Csr>,
    exclude: Vec<Arc<Csr>>,
    truth: Arc<Csr>,
    ks: Vec<usize>,
    threads: usize,
    opts: cf_core::metrics::EvalOptions,
}

impl EvaluateOp {
    fn new(
        shared: &Arc<Shared>,
        train: &Matrix,
        truth: &Matrix,
        options: Option<Object>,
    ) -> Result<Self> {
        let o = Opts::new(
            options,
            &[
                "k",
                "filterSeen",
                "alsoExclude",
                "threads",
                "auc",
                "perUser",
            ],
        )?;
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
            opts: cf_core::metrics::EvalOptions {
                auc: o.bool("auc")?.unwrap_or(true),
                per_user: o.bool("perUser")?.unwrap_or(false),
            },
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
            let mut r = cf_core::metrics::evaluate_with(
                &**model,
                &self.train,
                &exclude,
                &self.truth,
                &self.ks,
                &self.opts,
            )?;
            // A model that predicts ratings is also scored on them: every truth entry, with
            // predictions clipped to the training scale (cf_core::rating_metrics).
            if let Some(p) = model.ratings() {
                let m =
                    cf_core::rating_metrics::rating_metrics(p, model.n_items(), &self.truth, true)?;
                r.metrics.push(("rmse".into(), m.rmse));
                r.metrics.push(("mae".into(), m.mae));
            }
            Ok(r)
        })
    }

    fn to_js(r: Self::Output) -> EvalResult {
        let (names, values) = r.metrics.into_iter().unzip();
        EvalResult {
            users_evaluated: r.users_evaluated as u32,
            users_without_train: r.users_without_train as u32,
            names,
            values,
            per_user: r.per_user.map(|p| PerUserValues {
                users: Uint32Array::new(p.users),
                names: p.names,
                values: Float64Array::new(p.values),
            }),
        }
    }
}
