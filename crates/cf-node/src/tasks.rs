//! Async work shared by the model classes: evaluation off the JS thread.

use std::sync::{Arc, RwLock};

use cf_core::data::csr::Csr;
use cf_core::models::{als::AlsModel, popularity::Popularity, Scorer};
use napi::bindgen_prelude::*;
use napi::Task;
use napi_derive::napi;

use crate::error::to_napi;
use crate::matrix::Matrix;
use crate::topk::EvalResult;

#[derive(Clone)]
pub enum ModelRef {
    Als(Arc<RwLock<AlsModel>>),
    Popularity(Arc<Popularity>),
}

impl ModelRef {
    pub fn with<R>(&self, f: impl FnOnce(&dyn Scorer) -> R) -> R {
        match self {
            ModelRef::Als(m) => f(&*m.read().unwrap_or_else(|e| e.into_inner())),
            ModelRef::Popularity(p) => f(&**p),
        }
    }
}

pub struct EvaluateTask {
    model: ModelRef,
    train: Arc<Csr>,
    exclude: Vec<Arc<Csr>>,
    truth: Arc<Csr>,
    ks: Vec<usize>,
    threads: usize,
}

impl EvaluateTask {
    pub fn new(
        model: ModelRef,
        train: &Matrix,
        truth: &Matrix,
        also_exclude: Option<&Matrix>,
        filter_seen: bool,
        ks: Vec<u32>,
        threads: u32,
    ) -> Self {
        let mut exclude = Vec::new();
        if filter_seen {
            exclude.push(train.csr.clone());
            if let Some(m) = also_exclude {
                exclude.push(m.csr.clone());
            }
        }
        EvaluateTask {
            model,
            train: train.csr.clone(),
            exclude,
            truth: truth.csr.clone(),
            ks: ks.into_iter().map(|k| k as usize).collect(),
            threads: threads as usize,
        }
    }
}

#[napi]
impl Task for EvaluateTask {
    type Output = cf_core::metrics::EvalReport;
    type JsValue = EvalResult;

    fn compute(&mut self) -> Result<Self::Output> {
        let pool = cf_core::pool::pool(self.threads).map_err(to_napi)?;
        let exclude: Vec<&Csr> = self.exclude.iter().map(|m| &**m).collect();
        pool.install(|| {
            self.model.with(|s| {
                cf_core::metrics::evaluate(s, &self.train, &exclude, &self.truth, &self.ks)
            })
        })
        .map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output.into())
    }
}

/// Top-k for one user of a fitted model, known items removed.
pub fn recommend_one(
    model: &ModelRef,
    user: u32,
    k: u32,
    exclude: Option<&Matrix>,
) -> Result<crate::topk::TopK> {
    let users = [user];
    let lists: Vec<&Csr> = exclude.map(|m| &*m.csr).into_iter().collect();
    model.with(|s| {
        if user as usize >= user_count(model) {
            return Err(crate::error::invalid(
                "user",
                format!(
                    "index {user} is out of range (model has {} users)",
                    user_count(model)
                ),
            ));
        }
        let (ids, scores) =
            cf_core::topk::recommend_batch(s, &users, k as usize, &lists).map_err(to_napi)?;
        let pairs = ids
            .into_iter()
            .zip(scores)
            .filter(|(i, _)| *i != u32::MAX)
            .collect();
        Ok(crate::topk::TopK::from_pairs(pairs))
    })
}

fn user_count(model: &ModelRef) -> usize {
    match model {
        ModelRef::Als(m) => m.read().unwrap_or_else(|e| e.into_inner()).n_users,
        ModelRef::Popularity(_) => usize::MAX,
    }
}
