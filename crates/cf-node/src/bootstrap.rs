//! The paired bootstrap over users (cf_core::bootstrap) for the leaderboard: per-model
//! per-user values in, intervals and "not different from the best" out, off the JS thread.

use cf_core::bootstrap::{paired_bootstrap as run, BootstrapParams, BootstrapReport};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{to_napi, CoreTask, Op, Result};
use crate::options::Opts;

/// Arrays are `models x metrics`, row-major by model.
#[napi(object)]
pub struct BootstrapResult {
    pub models: u32,
    pub metrics: u32,
    /// Full-sample means (NaN entries left out).
    pub mean: Float64Array,
    /// The percentile interval of each mean.
    pub lo: Float64Array,
    pub hi: Float64Array,
    /// Per metric, the index of the best model.
    pub best: Uint32Array,
    /// The interval of each model's paired difference to the best ([0, 0] for the best).
    pub diff_lo: Float64Array,
    pub diff_hi: Float64Array,
}

pub struct BootstrapOp {
    values: Vec<Vec<f64>>,
    metrics: usize,
    higher_is_better: Vec<bool>,
    params: BootstrapParams,
    threads: usize,
}

impl Op for BootstrapOp {
    type Output = BootstrapReport;
    type Js = BootstrapResult;

    fn compute(&mut self) -> cf_core::Result<BootstrapReport> {
        let values: Vec<&[f64]> = self.values.iter().map(|v| v.as_slice()).collect();
        cf_core::pool::pool(self.threads)?
            .install(|| run(&values, self.metrics, &self.higher_is_better, &self.params))
    }

    fn to_js(r: BootstrapReport) -> BootstrapResult {
        BootstrapResult {
            models: r.n_models as u32,
            metrics: r.n_metrics as u32,
            mean: Float64Array::new(r.mean),
            lo: Float64Array::new(r.lo),
            hi: Float64Array::new(r.hi),
            best: Uint32Array::new(r.best.iter().map(|&b| b as u32).collect()),
            diff_lo: Float64Array::new(r.diff_lo),
            diff_hi: Float64Array::new(r.diff_hi),
        }
    }
}

/// Paired bootstrap of several models' per-user metric values (`values[m]`: users x
/// `metrics`, row-major, the same users in the same order for every model; NaN =
/// undefined for that user). Options: `resamples` (1000), `seed` (42), `level` (0.95),
/// `threads` (0: all cores; the result does not depend on it).
#[napi(
    ts_args_type = "values: Float64Array[], metrics: number, higherIsBetter: boolean[], options?: { resamples?: number; seed?: number; level?: number; threads?: number }, signal?: AbortSignal",
    ts_return_type = "Promise<BootstrapResult>"
)]
pub fn paired_bootstrap(
    values: Vec<Float64Array>,
    metrics: f64,
    higher_is_better: Vec<bool>,
    options: Option<Object>,
    signal: Option<AbortSignal>,
) -> Result<AsyncTask<CoreTask<BootstrapOp>>> {
    let o = Opts::new(options, &["resamples", "seed", "level", "threads"])?;
    let d = BootstrapParams::default();
    let metrics = cf_core::args::count("metrics", metrics, 1).map_err(to_napi)?;
    let resamples = match o.number("resamples")? {
        Some(r) => {
            cf_core::args::whole("resamples", r, 1, cf_core::bootstrap::MAX_RESAMPLES as u64)
                .map_err(to_napi)? as usize
        }
        None => d.resamples,
    };
    let seed = match o.number("seed")? {
        // The integers a double holds exactly: a seed is never silently rounded.
        Some(s) => cf_core::args::whole("seed", s, 0, (1 << 53) - 1).map_err(to_napi)?,
        None => d.seed,
    };
    let level = o.number("level")?.unwrap_or(d.level);
    let threads = match o.number("threads")? {
        Some(t) => cf_core::args::whole("threads", t, 0, cf_core::pool::MAX_THREADS as u64)
            .map_err(to_napi)? as usize,
        None => 0,
    };
    let op = BootstrapOp {
        values: values.iter().map(|v| v.to_vec()).collect(),
        metrics,
        higher_is_better,
        params: BootstrapParams {
            resamples,
            seed,
            level,
        },
        threads,
    };
    Ok(op.run_async(signal))
}
