//! The model shape. Every recommender implements [`Recommender`] (score a known user, score
//! a user folded in from weighted items, similar items, sizes); factor models get all of it
//! from [`factor::FactorModel`] by providing their factors and a fold-in. [`Model`] adds what
//! the binding and the artifacts need to hold any model alike (type, params, arrays), and
//! [`MODEL_TYPES`] lists the types with their parameter specs and loaders.
//!
//! Adding a model: a folder here with its params (`params::Params`), its fit, the
//! `Recommender` (or `FactorModel`) and `Model` impls and a `pub static TYPE: ModelType`;
//! then one `pub mod` line and one `MODEL_TYPES` entry below.

pub mod als;
pub mod bpr;
pub mod content;
pub mod ease;
pub mod explain;
pub mod factor;
pub mod hybrid;
pub mod knn;
pub mod mf;
pub mod popularity;
pub mod svd;

use std::any::Any;

use crate::checkpoint::TrainState;
use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::params::{ParamSpec, Value};

/// What every model answers. Indices are the model's rows; callers check ranges first (the
/// functions in `topk` do).
pub trait Recommender: Send + Sync {
    fn n_users(&self) -> usize;
    fn n_items(&self) -> usize;
    /// Scores of every item for a known user (`user < n_users`); higher is better.
    fn score_user(&self, user: usize, out: &mut [f32]);
    /// Scores of every item for someone not in the model, from the items they interacted
    /// with and the strength of each (ids < n_items, values finite and >= 0, equal lengths:
    /// checked by `topk::check_items`).
    fn score_new_user(&self, items: &[u32], values: &[f32], out: &mut [f32]) -> Result<()>;
    /// The `k` items most similar to `item` (< n_items), best first, the item itself left out.
    fn similar_items(&self, item: u32, k: usize) -> Result<Vec<(u32, f32)>>;
    /// The factor matrices of a model scored by dot products: the top-K engine's fast path
    /// (tiled GEMM) and similar users. None for other models.
    fn factor_view(&self) -> Option<Factors<'_>> {
        None
    }
    /// The factor row of someone not in the model, for models with [`Recommender::factor_view`]
    /// (checked ids and values, as `score_new_user`).
    fn fold_in_vector(&self, _items: &[u32], _values: &[f32]) -> Result<Option<Vec<f32>>> {
        Ok(None)
    }
    /// Which items the model can rank at all (false: it learnt nothing of the item, such as
    /// a factor model's all-zero row or a kNN item without neighbours); None when it ranks
    /// every item. A hybrid lets the other parts speak for the rest.
    fn known_items(&self) -> Option<Vec<bool>> {
        None
    }
    /// Why `item` (< n_items) scores what it does for someone with `items` and `values`
    /// (checked as for `score_new_user`): the score and each liked item's contribution,
    /// summing to it. None for models whose scores do not split by liked item.
    fn explain(
        &self,
        _items: &[u32],
        _values: &[f32],
        _item: u32,
    ) -> Result<Option<explain::Explanation>> {
        Ok(None)
    }
}

/// Row-major user and item factors, `f` per row.
#[derive(Clone, Copy, Debug)]
pub struct Factors<'a> {
    pub users: &'a [f32],
    pub items: &'a [f32],
    pub f: usize,
}

/// A named float32 array of a model, as saved (`<name>.npy`) and loaded.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedArray {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl NamedArray {
    pub fn new(name: &str, shape: Vec<usize>, data: Vec<f32>) -> Self {
        NamedArray {
            name: name.to_string(),
            shape,
            data,
        }
    }

    /// Take the array `name` out of `arrays`, checking its shape; the error names the array,
    /// the shape found and the shape expected.
    pub fn take(arrays: &mut Vec<NamedArray>, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let pos = arrays
            .iter()
            .position(|a| a.name == name)
            .ok_or_else(|| Error::Data(format!("{name}: the model's array {name} is missing")))?;
        let a = arrays.swap_remove(pos);
        let len: usize = a.shape.iter().product();
        if a.shape != shape || a.data.len() != len {
            return Err(Error::Data(format!(
                "{name}: shape {:?} ({} values) does not match the model's {shape:?}",
                a.shape,
                a.data.len()
            )));
        }
        Ok(a.data)
    }
}

/// A recommender as the binding and the artifacts hold it, whatever its type.
pub trait Model: Recommender + Any {
    fn type_name(&self) -> &'static str;
    /// Every parameter, snake_case, defaults included: what `model.json` stores.
    fn params(&self) -> Vec<(&'static str, Value)>;
    /// What a saved model holds besides its params and the training matrix.
    fn arrays(&self) -> Vec<NamedArray>;
    /// Threads for work on the model that has no thread option of its own (evaluation).
    fn threads(&self) -> usize {
        0
    }
    /// The model's rating predictions, for models trained on explicit ratings (None for
    /// ranking-only models: their scores are not on a rating scale).
    fn ratings(&self) -> Option<&dyn RatingPredictor> {
        None
    }
    /// What the next iteration of an unfinished fit reads, for models fitted over
    /// iterations (a checkpoint; `ModelType::resume` rebuilds the model from it). None for
    /// models fitted in one step.
    fn train_state(&self) -> Option<TrainState> {
        None
    }
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// A model that predicts explicit ratings (`mf`): what RMSE and MAE are computed from
/// (`crate::rating_metrics`).
pub trait RatingPredictor: Send + Sync {
    /// The predicted rating of `item` (< n_items) by `user`, unclipped. A user index past the
    /// model's users is someone it knows nothing of: the prediction without a user term.
    fn predict(&self, user: usize, item: usize) -> f32;
    /// The smallest and largest rating of the training data: the scale predictions are
    /// clipped to when asked.
    fn rating_range(&self) -> (f32, f32);
}

/// The mean, smallest and largest value of a training matrix a rating model learns from:
/// finite, and not all one value (binary or constant data has nothing to regress on). A
/// constant matrix is refused naming `option`, the setting that asked for ratings, and
/// `why`, what the model would need them for.
pub fn rating_scale(train: &Csr, option: &str, why: &str) -> Result<(f32, f32, f32)> {
    if train.nnz() == 0 {
        return Err(Error::Data(
            "interactions: the training matrix has no ratings".into(),
        ));
    }
    if let Some(k) = train.values.iter().position(|v| !v.is_finite()) {
        return Err(Error::param(
            "values",
            format!(
                "rating {} at entry {k} is not a finite number",
                train.values[k]
            ),
        ));
    }
    let (mut lo, mut hi, mut sum) = (f32::INFINITY, f32::NEG_INFINITY, 0f64);
    for &v in &train.values {
        lo = lo.min(v);
        hi = hi.max(v);
        sum += v as f64;
    }
    if lo == hi {
        return Err(Error::param(
            option,
            format!("every training value is {lo}: {why}"),
        ));
    }
    Ok(((sum / train.nnz() as f64) as f32, lo, hi))
}

/// Values in `rows` rows of `width`: the length of a checkpoint's or saved array, or an
/// error when that cannot be held.
pub fn rows_len(rows: usize, width: usize) -> Result<usize> {
    rows.checked_mul(width).ok_or_else(|| {
        Error::Data(format!(
            "{rows} rows x {width} columns do not fit in memory"
        ))
    })
}

/// Builds a saved model back from its params, arrays and the id maps' sizes.
pub type LoadFn = fn(Vec<(String, Value)>, Vec<NamedArray>, usize, usize) -> Result<Box<dyn Model>>;

/// Rebuilds a model mid-fit from its params, its checkpoint (`Model::train_state`) and the
/// training matrix the fit goes on with; the next iteration then runs as it would have
/// without the interruption.
pub type ResumeFn = fn(Vec<(String, Value)>, TrainState, &Csr) -> Result<Box<dyn Model>>;

/// One model type: its name (the `type:` of a config), a one-line doc, its parameters, how
/// to load it and, for models fitted over iterations, how to resume an unfinished fit.
pub struct ModelType {
    pub name: &'static str,
    pub doc: &'static str,
    pub spec: &'static [ParamSpec],
    pub load: LoadFn,
    pub resume: Option<ResumeFn>,
}

/// Every model type, in the order docs list them.
pub static MODEL_TYPES: &[&ModelType] = &[
    &als::TYPE,
    &bpr::TYPE,
    &mf::TYPE,
    &popularity::TYPE,
    &svd::TYPE,
    &ease::TYPE,
    &knn::TYPE,
    &content::TYPE,
    &hybrid::TYPE,
];

/// The type called `name`, or an error listing the known ones.
pub fn model_type(name: &str) -> Result<&'static ModelType> {
    MODEL_TYPES
        .iter()
        .copied()
        .find(|t| t.name == name)
        .ok_or_else(|| {
            let known: Vec<String> = MODEL_TYPES.iter().map(|t| t.name.to_string()).collect();
            let hint = crate::params::closest(name, known.iter().map(String::as_str))
                .map(|c| format!("; did you mean {c}?"))
                .unwrap_or_default();
            Error::param(
                "type",
                format!(
                    "unknown model type {name:?} (known: {}{hint})",
                    known.join(", ")
                ),
            )
        })
}
