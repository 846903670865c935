use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Ranked item indices and their scores, best first (flat, row-major for batches).
#[napi(object)]
pub struct TopK {
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

#[napi(object)]
pub struct EvalResult {
    pub users_evaluated: u32,
    pub users_without_train: u32,
    pub names: Vec<String>,
    pub values: Vec<f64>,
}

impl From<cf_core::metrics::EvalReport> for EvalResult {
    fn from(r: cf_core::metrics::EvalReport) -> Self {
        let (names, values) = r.metrics.into_iter().unzip();
        EvalResult {
            users_evaluated: r.users_evaluated as u32,
            users_without_train: r.users_without_train as u32,
            names,
            values,
        }
    }
}
