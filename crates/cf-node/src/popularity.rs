use std::sync::Arc;

use cf_core::models::popularity::Popularity as Core;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::matrix::Matrix;
use crate::tasks::{recommend_one, EvaluateTask, ModelRef};
use crate::topk::TopK;

/// The popularity baseline: items ranked by how many users have them.
#[napi]
pub struct Popularity {
    inner: Arc<Core>,
}

#[napi]
impl Popularity {
    #[napi(constructor)]
    pub fn new(train: &Matrix) -> Self {
        Popularity {
            inner: Arc::new(Core::fit(&train.csr)),
        }
    }

    #[napi(factory)]
    pub fn from_counts(counts: Float32Array) -> Self {
        Popularity {
            inner: Arc::new(Core {
                counts: counts.to_vec(),
            }),
        }
    }

    #[napi]
    pub fn counts(&self) -> Float32Array {
        Float32Array::new(self.inner.counts.clone())
    }

    #[napi]
    pub fn recommend(&self, user: u32, k: u32, exclude: Option<&Matrix>) -> Result<TopK> {
        recommend_one(&ModelRef::Popularity(self.inner.clone()), user, k, exclude)
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
            ModelRef::Popularity(self.inner.clone()),
            train,
            truth,
            also_exclude,
            filter_seen,
            ks,
            threads,
        ))
    }
}
