use std::sync::{Arc, RwLock};

use cf_core::data::csr::Csr;
use cf_core::models::als::{AlsModel, AlsParams, Confidence, IterationReport, Solver};
use napi::bindgen_prelude::*;
use napi::Task;
use napi_derive::napi;

use crate::error::{invalid, to_napi};
use crate::matrix::Matrix;
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
    let p = AlsParams {
        factors: o.factors.map_or(d.factors, |v| v as usize),
        regularization: o.regularization.map_or(d.regularization, |v| v as f32),
        scale_regularization: o.scale_regularization.unwrap_or(d.scale_regularization),
        alpha: o.alpha.map_or(d.alpha, |v| v as f32),
        confidence,
        iterations: o.iterations.map_or(d.iterations, |v| v as usize),
        solver,
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
}

impl Als {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, AlsModel> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct IterateTask {
    model: Arc<RwLock<AlsModel>>,
    data: Arc<Csr>,
    transposed: Arc<Csr>,
}

#[napi]
impl Task for IterateTask {
    type Output = IterationReport;
    type JsValue = IterationInfo;

    fn compute(&mut self) -> Result<Self::Output> {
        let mut m = self.model.write().unwrap_or_else(|e| e.into_inner());
        m.iterate(&self.data, &self.transposed).map_err(to_napi)
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
        })
    }

    /// One iteration (users, then items) off the JS thread.
    #[napi]
    pub fn iterate(&self, data: &Matrix) -> Result<AsyncTask<IterateTask>> {
        self.read().check_data(&data.csr).map_err(to_napi)?;
        Ok(AsyncTask::new(IterateTask {
            model: self.inner.clone(),
            data: data.csr.clone(),
            transposed: data.transposed(),
        }))
    }

    #[napi]
    pub fn iterate_sync(&self, data: &Matrix) -> Result<IterationInfo> {
        let mut t = IterateTask {
            model: self.inner.clone(),
            data: data.csr.clone(),
            transposed: data.transposed(),
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
        Float32Array::new(self.read().user_factors.clone())
    }

    #[napi]
    pub fn item_factors(&self) -> Float32Array {
        Float32Array::new(self.read().item_factors.clone())
    }

    #[napi]
    pub fn recommend(&self, user: u32, k: u32, exclude: Option<&Matrix>) -> Result<TopK> {
        recommend_one(&ModelRef::Als(self.inner.clone()), user, k, exclude)
    }

    /// Exact factor of a user absent from training, from item indices and optional values.
    #[napi]
    pub fn fold_in_user(
        &self,
        items: Uint32Array,
        values: Option<Float32Array>,
    ) -> Result<Float32Array> {
        let ones = vec![1.0; items.len()];
        let vals: &[f32] = values.as_deref().unwrap_or(&ones);
        Ok(Float32Array::new(
            self.read().fold_in_user(&items, vals).map_err(to_napi)?,
        ))
    }

    /// Recommendations for a user absent from training; the given items are excluded.
    #[napi]
    pub fn recommend_for_items(
        &self,
        items: Uint32Array,
        values: Option<Float32Array>,
        k: u32,
    ) -> Result<TopK> {
        if k == 0 {
            return Err(invalid("k", "must be >= 1 (got 0)"));
        }
        let m = self.read();
        let ones = vec![1.0; items.len()];
        let vals: &[f32] = values.as_deref().unwrap_or(&ones);
        let x = m.fold_in_user(&items, vals).map_err(to_napi)?;
        let mut scores = vec![0f32; m.n_items];
        cf_core::models::score_vector(&m, &x, &mut scores);
        let mut seen = items.to_vec();
        seen.sort_unstable();
        Ok(TopK::from_pairs(cf_core::topk::select(
            &scores,
            k as usize,
            &[&seen],
        )))
    }

    /// Items closest to `item` by cosine of their factors (the item itself excluded).
    #[napi]
    pub fn similar_items(&self, item: u32, k: u32) -> Result<TopK> {
        if k == 0 {
            return Err(invalid("k", "must be >= 1 (got 0)"));
        }
        let m = self.read();
        if item as usize >= m.n_items {
            return Err(invalid(
                "item",
                format!(
                    "index {item} is out of range (model has {} items)",
                    m.n_items
                ),
            ));
        }
        let norm = |v: &[f32]| cf_core::linalg::dot(v, v).sqrt();
        let q = m.item_vector(item as usize);
        let qn = norm(q);
        let scores: Vec<f32> = (0..m.n_items)
            .map(|i| {
                let v = m.item_vector(i);
                let d = qn * norm(v);
                if d > 0.0 {
                    cf_core::linalg::dot(q, v) / d
                } else {
                    f32::NEG_INFINITY
                }
            })
            .collect();
        Ok(TopK::from_pairs(cf_core::topk::select(
            &scores,
            k as usize,
            &[&[item]],
        )))
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
