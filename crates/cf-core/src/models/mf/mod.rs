//! Biased matrix factorisation for explicit ratings (Funk 2006; Koren, Bell & Volinsky 2009):
//!
//!   r̂_ui = μ + b_u + b_i + p_u · q_i
//!
//! μ is the mean training rating (fixed); b_u, b_i, p_u, q_i minimise
//!
//!   Σ_{(u,i) ∈ R} (r_ui − r̂_ui)² + λ (|p_u|² + |q_i|²) + λ_b (b_u² + b_i²)
//!
//! with the penalty charged per rating: a row with n ratings pays n λ. That is the objective
//! SGD's per-step penalty descends (Surprise's SVD), and for ALS it is the weighted-λ
//! regularisation of Zhou et al. 2008, so both solvers fit the same model.
//!
//! - **ALS**: with the items fixed each user's (b_u, p_u) is a ridge regression of
//!   r − μ − b_i on [1, q_i], solved exactly (Cholesky through faer, f64); then each item's
//!   (b_i, q_i) on [1, p_u] with the users fixed. Rows are independent, so any thread count
//!   gives the same bits.
//! - **SGD**: per rating, e = r − r̂; b_u += η (e − λ_b b_u); b_i += η (e − λ_b b_i);
//!   p_u += η (e q_i − λ p_u); q_i += η (e p_u − λ q_i) (all from the values before the step).
//!   The parallel schedule is BPR's (DSGD strata, Gemulla et al. 2011): each epoch maps users
//!   and items to `blocks` blocks with a seeded permutation; sub-epoch s runs the cells
//!   (b, (b + s) mod B) in parallel (they share no row), each cell over its ratings in a
//!   seeded random order. The result depends on (seed, blocks, data, params), not on threads.
//!
//! With a validation matrix every epoch reports validation RMSE (predictions clipped to the
//! training scale, as `evaluate` scores them); the best epoch's parameters are kept and
//! `patience` epochs without improvement stop the fit.
//!
//! Layout: a user row is [p_u, 1.0] and an item row [q_i, b_i] (`factors + 1` columns), so
//! b_i + p_u · q_i is one dot product and the top-K engine ranks a user's items exactly as
//! the predicted ratings order them (μ + b_u is the same for every item of a user). b_u is
//! kept beside the rows.

mod model;
mod params;
#[cfg(test)]
mod tests;

use std::time::Instant;

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt;
use faer::linalg::matmul::matmul;
use faer::{Accum, Conj, Mat, Par};
use rayon::prelude::*;

pub use model::TYPE;
pub use params::{MfParams, Solver, SPEC};

use crate::checkpoint::{StateData, TrainState};
use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::linalg::AlignedVec;
use crate::models::{rows_len, RatingPredictor};
use crate::params::{Checked, IntoChecked};
use crate::pool::pool;
use crate::rng::SplitMix64;

const STREAM_USERS: u64 = 1;
const STREAM_ITEMS: u64 = 2;
const STREAM_USER_MAP: u64 = 3;
const STREAM_ITEM_MAP: u64 = 4;
const STREAM_CELLS: u64 = 5;

/// One point of the learning curve.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    pub seconds: f64,
    /// SGD's step size this epoch (None for ALS).
    pub learning_rate: Option<f32>,
    /// RMSE over the training ratings after the epoch (unclipped).
    pub train_rmse: f64,
    /// Validation RMSE after the epoch, clipped to the training scale.
    pub valid_rmse: Option<f64>,
    /// The best epoch so far (its parameters are what `finish` keeps).
    pub best_epoch: Option<usize>,
    /// True when the fit is over: the last epoch, or patience ran out.
    pub stop: bool,
}

struct Snapshot {
    user_factors: AlignedVec,
    item_factors: AlignedVec,
    user_bias: Vec<f32>,
}

struct Best {
    epoch: usize,
    rmse: f64,
    /// Taken by `finish`.
    state: Option<Snapshot>,
}

pub struct MfModel {
    pub params: Checked<MfParams>,
    pub n_users: usize,
    pub n_items: usize,
    /// μ, the mean training rating.
    pub mean: f32,
    /// The smallest and largest training rating (the clipping range).
    pub rating_min: f32,
    pub rating_max: f32,
    /// Row-major n_users x width: p_u, then 1.0.
    pub user_factors: AlignedVec,
    /// Row-major n_items x width: q_i, then b_i.
    pub item_factors: AlignedVec,
    /// b_u.
    pub user_bias: Vec<f32>,
    pub epochs_done: usize,
    pub curve: Vec<EpochReport>,
    best: Option<Best>,
    bad_epochs: usize,
    stopped: bool,
}

/// A standard normal draw (Box-Muller; one of the pair is discarded, which keeps a row's
/// draws a function of its own stream only).
fn normal(g: &mut SplitMix64) -> f32 {
    let u1 = (g.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    let u2 = (g.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    ((-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// Rows of N(0, std²) factors from (seed, stream, row), then `last` in the extra column.
fn init_rows(p: &MfParams, stream: u64, rows: usize, last: f32) -> AlignedVec {
    let (k, d) = (p.factors, p.width());
    let mut f = AlignedVec::zeros(rows * d);
    f.par_chunks_mut(d).enumerate().for_each(|(r, row)| {
        let mut g = SplitMix64::derive(p.seed, stream, r as u64);
        row[..k]
            .iter_mut()
            .for_each(|v| *v = normal(&mut g) * p.init_std);
        row[k] = last;
    });
    f
}

/// μ and the rating range of a training matrix whose ratings are usable by mf.
pub fn rating_stats(train: &Csr) -> Result<(f32, f32, f32)> {
    crate::models::rating_scale(
        train,
        "values",
        "mf predicts explicit ratings and needs them (load the data with values: rating; binary data is for ranking models such as als or bpr)",
    )
}

/// The ridge solve of one row: x = [bias, factors] minimising
///   Σ_j (t_j − [1, f_j] · x)² + n λ_b x₀² + n λ |x₁..|²
/// over the n (other row, target) pairs given by `cols` and `target`, where `other(j)` is
/// the factor slice of the other side's row j. An empty row has the zero solution.
fn ridge_row<'a>(
    cols: &[u32],
    target: impl Fn(usize, u32) -> f64,
    other: impl Fn(u32) -> &'a [f32],
    k: usize,
    reg: f64,
    bias_reg: f64,
    out: &mut [f64],
) -> std::result::Result<(), ()> {
    let n = cols.len();
    let d = k + 1;
    out.iter_mut().for_each(|v| *v = 0.0);
    if n == 0 {
        return Ok(());
    }
    let mut x = Mat::<f64>::zeros(n, d);
    let mut t = Mat::<f64>::zeros(n, 1);
    for (j, &c) in cols.iter().enumerate() {
        x[(j, 0)] = 1.0;
        for (f, &v) in other(c)[..k].iter().enumerate() {
            x[(j, f + 1)] = v as f64;
        }
        t[(j, 0)] = target(j, c);
    }
    let mut a = Mat::<f64>::zeros(d, d);
    matmul(
        a.as_mut(),
        Accum::Replace,
        x.transpose(),
        x.as_ref(),
        1.0,
        Par::Seq,
    );
    let mut b = Mat::<f64>::zeros(d, 1);
    matmul(
        b.as_mut(),
        Accum::Replace,
        x.transpose(),
        t.as_ref(),
        1.0,
        Par::Seq,
    );
    a[(0, 0)] += n as f64 * bias_reg;
    for f in 1..d {
        a[(f, f)] += n as f64 * reg;
    }
    let mut mem = MemBuffer::new(llt::factor::cholesky_in_place_scratch::<f64>(
        d,
        Par::Seq,
        Default::default(),
    ));
    llt::factor::cholesky_in_place(
        a.as_mut(),
        Default::default(),
        Par::Seq,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .map_err(|_| ())?;
    llt::solve::solve_in_place_with_conj(
        a.as_ref(),
        Conj::No,
        b.as_mut(),
        Par::Seq,
        MemStack::new(&mut mem),
    );
    for (f, o) in out.iter_mut().enumerate() {
        *o = b[(f, 0)];
    }
    Ok(())
}

/// A raw pointer that may cross threads: the SGD schedule guarantees the rows each cell
/// touches are disjoint from every other cell's in the same sub-epoch.
#[derive(Clone, Copy)]
struct SyncPtr<T>(*mut T);
unsafe impl<T> Send for SyncPtr<T> {}
unsafe impl<T> Sync for SyncPtr<T> {}

impl<T> SyncPtr<T> {
    /// SAFETY: the caller holds the only access to `[at, at + len)` for the returned
    /// lifetime, and the range is inside the allocation.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice<'a>(&self, at: usize, len: usize) -> &'a mut [T] {
        std::slice::from_raw_parts_mut(self.0.add(at), len)
    }
}

/// A seeded random map of `n` rows to `blocks` blocks: the block of each row.
fn block_of(seed: u64, stream: u64, epoch: usize, n: usize, blocks: usize) -> Vec<u32> {
    let mut perm: Vec<u32> = (0..n as u32).collect();
    SplitMix64::derive(seed, stream, epoch as u64).shuffle(&mut perm);
    let mut of = vec![0u32; n];
    for b in 0..blocks {
        for &r in &perm[b * n / blocks..(b + 1) * n / blocks] {
            of[r as usize] = b as u32;
        }
    }
    of
}

/// Σ a[f] b[f] with eight accumulators (vectorises; fixed order).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len();
    let b = &b[..n];
    let mut acc = [0f32; 8];
    for (ac, bc) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] += ac[l] * bc[l];
        }
    }
    let mut tail = 0f32;
    for f in n / 8 * 8..n {
        tail += a[f] * b[f];
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

impl MfModel {
    /// A model for `train`'s shape and ratings (μ and the range are taken from them), with
    /// seeded initial factors: N(0, init_std²), biases 0.
    pub fn new(params: impl IntoChecked<MfParams>, train: &Csr) -> Result<Self> {
        let params = params.into_checked()?;
        let (mean, rating_min, rating_max) = rating_stats(train)?;
        let p = pool(params.threads)?;
        let (mut user_factors, mut item_factors) = p.install(|| {
            (
                init_rows(&params, STREAM_USERS, train.n_rows, 1.0),
                init_rows(&params, STREAM_ITEMS, train.n_cols, 0.0),
            )
        });
        // A row without training ratings is never updated by SGD: zero factors make its
        // predictions the mean and the other side's bias rather than init noise (ALS solves
        // such rows to zero anyway).
        let k = params.factors;
        let d = params.width();
        for (u, row) in user_factors.chunks_mut(d).enumerate() {
            if train.row_len(u) == 0 {
                row[..k].fill(0.0);
            }
        }
        for (i, &c) in train.col_counts().iter().enumerate() {
            if c == 0 {
                item_factors[i * d..i * d + k].fill(0.0);
            }
        }
        Ok(MfModel {
            n_users: train.n_rows,
            n_items: train.n_cols,
            params,
            mean,
            rating_min,
            rating_max,
            user_factors,
            item_factors,
            user_bias: vec![0.0; train.n_rows],
            epochs_done: 0,
            curve: Vec::new(),
            best: None,
            bad_epochs: 0,
            stopped: false,
        })
    }

    /// What the next epoch reads (a checkpoint, see `crate::checkpoint`): factors, user
    /// biases, the best epoch kept for `finish` and the patience count. SGD's order and the
    /// learning rate derive from (seed, epoch); μ and the rating range from the data.
    pub fn train_state(&self) -> TrainState {
        let mut s = TrainState::new("mf");
        s.push("user_factors", StateData::F32(self.user_factors.to_vec()))
            .push("item_factors", StateData::F32(self.item_factors.to_vec()))
            .push("user_bias", StateData::F32(self.user_bias.clone()))
            .push_u64("epochs_done", self.epochs_done as u64)
            .push_u64("bad_epochs", self.bad_epochs as u64)
            .push_u64("stopped", u64::from(self.stopped));
        if let Some(b) = &self.best {
            s.push_u64("best_epoch", b.epoch as u64)
                .push("best_rmse", StateData::F64(vec![b.rmse]));
            if let Some(snap) = &b.state {
                s.push(
                    "best_user_factors",
                    StateData::F32(snap.user_factors.to_vec()),
                )
                .push(
                    "best_item_factors",
                    StateData::F32(snap.item_factors.to_vec()),
                )
                .push("best_user_bias", StateData::F32(snap.user_bias.clone()));
            }
        }
        s
    }

    /// A model mid-fit from `train_state`'s checkpoint and the training matrix the fit goes
    /// on with (μ and the rating range are taken from it, as `new` does).
    pub fn from_train_state(
        params: impl IntoChecked<MfParams>,
        mut s: TrainState,
        train: &Csr,
    ) -> Result<Self> {
        s.expect_type("mf")?;
        let params = params.into_checked()?;
        let (mean, rating_min, rating_max) = rating_stats(train)?;
        let d = params.width();
        let (n_users, n_items) = (train.n_rows, train.n_cols);
        let (nu, ni) = (rows_len(n_users, d)?, rows_len(n_items, d)?);
        let user_factors = s.take_f32("user_factors", nu)?;
        let item_factors = s.take_f32("item_factors", ni)?;
        let user_bias = s.take_f32("user_bias", n_users)?;
        let best = if s.has("best_epoch") {
            let epoch = s.take_count("best_epoch")?;
            let rmse = s.take_f64("best_rmse", 1)?[0];
            let state = if s.has("best_user_factors") {
                Some(Snapshot {
                    user_factors: s.take_f32("best_user_factors", nu)?.into(),
                    item_factors: s.take_f32("best_item_factors", ni)?.into(),
                    user_bias: s.take_f32("best_user_bias", n_users)?,
                })
            } else {
                None
            };
            Some(Best { epoch, rmse, state })
        } else {
            None
        };
        Ok(MfModel {
            epochs_done: s.take_count("epochs_done")?,
            bad_epochs: s.take_count("bad_epochs")?,
            stopped: s.take_count("stopped")? != 0,
            params,
            n_users,
            n_items,
            mean,
            rating_min,
            rating_max,
            user_factors: user_factors.into(),
            item_factors: item_factors.into(),
            user_bias,
            curve: Vec::new(),
            best,
        })
    }

    /// A fitted model from saved parts.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        params: impl IntoChecked<MfParams>,
        user_factors: Vec<f32>,
        item_factors: Vec<f32>,
        user_bias: Vec<f32>,
        mean: f32,
        rating_min: f32,
        rating_max: f32,
    ) -> Result<Self> {
        let params = params.into_checked()?;
        let (n_users, n_items) = crate::models::factor::check_factor_arrays(
            &user_factors,
            &item_factors,
            params.width(),
        )?;
        if user_bias.len() != n_users || user_bias.iter().any(|v| !v.is_finite()) {
            return Err(Error::Data(format!(
                "user_bias: {} values for {n_users} users, or not all finite",
                user_bias.len()
            )));
        }
        if !(mean.is_finite() && rating_min.is_finite() && rating_max.is_finite())
            || rating_min > rating_max
        {
            return Err(Error::Data(format!(
                "rating_stats: mean {mean}, range [{rating_min}, {rating_max}] is not a finite range"
            )));
        }
        Ok(MfModel {
            params,
            n_users,
            n_items,
            mean,
            rating_min,
            rating_max,
            user_factors: user_factors.into(),
            item_factors: item_factors.into(),
            user_bias,
            epochs_done: 0,
            curve: Vec::new(),
            best: None,
            bad_epochs: 0,
            stopped: false,
        })
    }

    pub fn width(&self) -> usize {
        self.params.width()
    }

    /// The epoch whose parameters `finish` keeps (None without validation).
    pub fn best_epoch(&self) -> Option<usize> {
        self.best.as_ref().map(|b| b.epoch)
    }

    /// Item biases b_i (the last column of the item rows).
    pub fn item_bias(&self) -> Vec<f32> {
        let d = self.width();
        self.item_factors.chunks(d).map(|r| r[d - 1]).collect()
    }

    /// Shapes, usable ratings and the patience/validation rule, before any work.
    pub fn check_inputs(&self, train: &Csr, valid: Option<&Csr>) -> Result<()> {
        if train.n_rows != self.n_users || train.n_cols != self.n_items {
            return Err(Error::param(
                "interactions",
                format!(
                    "matrix is {} x {} but the model is {} users x {} items",
                    train.n_rows, train.n_cols, self.n_users, self.n_items
                ),
            ));
        }
        rating_stats(train)?;
        match valid {
            Some(v) if v.n_rows != self.n_users || v.n_cols != self.n_items => Err(Error::param(
                "valid",
                format!(
                    "validation matrix is {} x {} but training is {} x {}",
                    v.n_rows, v.n_cols, self.n_users, self.n_items
                ),
            )),
            Some(v) if v.nnz() == 0 => Err(Error::param(
                "valid",
                "the validation matrix has no ratings, so validation RMSE is undefined",
            )),
            Some(v) if v.values.iter().any(|x| !x.is_finite()) => Err(Error::param(
                "valid",
                "the validation matrix holds a rating that is not a finite number",
            )),
            None if self.params.patience > 0 => Err(Error::param(
                "patience",
                format!(
                    "is {} but no validation matrix was given (pass valid, or patience 0)",
                    self.params.patience
                ),
            )),
            _ => Ok(()),
        }
    }

    /// One ALS sweep or SGD epoch; with `valid`, validation RMSE after it, the best epoch's
    /// parameters kept for `finish`. `train_t` is `train` transposed (ALS's item half; built
    /// here when not given).
    pub fn epoch(
        &mut self,
        train: &Csr,
        train_t: Option<&Csr>,
        valid: Option<&Csr>,
    ) -> Result<EpochReport> {
        self.check_inputs(train, valid)?;
        let start = Instant::now();
        let threads = pool(self.params.threads)?;
        let e = self.epochs_done;
        let lr = match self.params.solver {
            Solver::Als => {
                threads.install(|| -> Result<()> {
                    let owned;
                    let by_item = match train_t {
                        Some(t) => t,
                        None => {
                            owned = train.transpose();
                            &owned
                        }
                    };
                    self.als_users(train)?;
                    self.als_items(by_item)
                })?;
                None
            }
            Solver::Sgd => {
                let lr = self.params.lr_at(e);
                threads.install(|| self.sgd_epoch(train, e, lr));
                Some(lr)
            }
        };
        if self
            .user_factors
            .iter()
            .chain(self.item_factors.iter())
            .chain(self.user_bias.iter())
            .any(|v| !v.is_finite())
        {
            return Err(Error::Numeric(format!(
                "factors became NaN or infinite in epoch {}; lower learning_rate (now {}) or raise regularization",
                e + 1,
                self.params.learning_rate
            )));
        }
        self.epochs_done += 1;
        let done = self.epochs_done;
        let (train_rmse, valid_rmse) = threads.install(|| -> Result<(f64, Option<f64>)> {
            let t = crate::rating_metrics::rating_metrics(self, self.n_items, train, false)?.rmse;
            let v = match valid {
                Some(v) => {
                    Some(crate::rating_metrics::rating_metrics(self, self.n_items, v, true)?.rmse)
                }
                None => None,
            };
            Ok((t, v))
        })?;
        if let Some(m) = valid_rmse {
            if self.best.as_ref().is_none_or(|b| m < b.rmse) {
                self.best = Some(Best {
                    epoch: done,
                    rmse: m,
                    state: Some(Snapshot {
                        user_factors: self.user_factors.clone(),
                        item_factors: self.item_factors.clone(),
                        user_bias: self.user_bias.clone(),
                    }),
                });
                self.bad_epochs = 0;
            } else {
                self.bad_epochs += 1;
                if self.params.patience > 0 && self.bad_epochs >= self.params.patience {
                    self.stopped = true;
                }
            }
        }
        let report = EpochReport {
            epoch: done,
            seconds: start.elapsed().as_secs_f64(),
            learning_rate: lr,
            train_rmse,
            valid_rmse,
            best_epoch: self.best_epoch(),
            stop: self.stopped || done >= self.params.epochs,
        };
        self.curve.push(report.clone());
        Ok(report)
    }

    /// End of a fit: with validation, put back the best epoch's parameters. A later
    /// `finish` puts back a better epoch only if one was found since.
    pub fn finish(&mut self) {
        if let Some(s) = self.best.as_mut().and_then(|b| b.state.take()) {
            self.user_factors = s.user_factors;
            self.item_factors = s.item_factors;
            self.user_bias = s.user_bias;
        }
    }

    /// Fit from scratch: epochs until the last one or until patience runs out, then the best
    /// epoch's parameters when validating. `on_epoch` returns false to cancel.
    pub fn fit(
        params: impl IntoChecked<MfParams>,
        train: &Csr,
        valid: Option<&Csr>,
        mut on_epoch: impl FnMut(&EpochReport) -> bool,
    ) -> Result<Self> {
        let mut m = MfModel::new(params, train)?;
        m.check_inputs(train, valid)?;
        let by_item = match m.params.solver {
            Solver::Als => Some(train.transpose()),
            Solver::Sgd => None,
        };
        loop {
            let r = m.epoch(train, by_item.as_ref(), valid)?;
            if !on_epoch(&r) {
                return Err(Error::Cancelled);
            }
            if r.stop {
                break;
            }
        }
        m.finish();
        Ok(m)
    }

    fn singular(&self, what: &str) -> Error {
        Error::param(
            "regularization",
            format!(
                "is {} and the least-squares system of {what} is singular; use regularization > 0",
                self.params.regularization
            ),
        )
    }

    /// Every user's (b_u, p_u) with the items fixed.
    fn als_users(&mut self, train: &Csr) -> Result<()> {
        let (k, d, mu) = (self.params.factors, self.width(), self.mean as f64);
        let (reg, breg) = (
            self.params.regularization as f64,
            self.params.bias_regularization as f64,
        );
        let items = &self.item_factors;
        let failed = self
            .user_factors
            .par_chunks_mut(d)
            .zip(self.user_bias.par_iter_mut())
            .enumerate()
            .map_init(
                || vec![0f64; d],
                |x, (u, (row, bias))| {
                    let (cols, r) = train.row(u);
                    let target =
                        |j: usize, i: u32| r[j] as f64 - mu - items[i as usize * d + k] as f64;
                    let other = |i: u32| &items[i as usize * d..i as usize * d + k];
                    if ridge_row(cols, target, other, k, reg, breg, x).is_err() {
                        return Some(u);
                    }
                    *bias = x[0] as f32;
                    for f in 0..k {
                        row[f] = x[f + 1] as f32;
                    }
                    None
                },
            )
            .flatten()
            .min();
        match failed {
            Some(u) => Err(self.singular(&format!("user {u}"))),
            None => Ok(()),
        }
    }

    /// Every item's (b_i, q_i) with the users fixed.
    fn als_items(&mut self, by_item: &Csr) -> Result<()> {
        let (k, d, mu) = (self.params.factors, self.width(), self.mean as f64);
        let (reg, breg) = (
            self.params.regularization as f64,
            self.params.bias_regularization as f64,
        );
        let (users, ub) = (&self.user_factors, &self.user_bias);
        let failed = self
            .item_factors
            .par_chunks_mut(d)
            .enumerate()
            .map_init(
                || vec![0f64; d],
                |x, (i, row)| {
                    let (cols, r) = by_item.row(i);
                    let target = |j: usize, u: u32| r[j] as f64 - mu - ub[u as usize] as f64;
                    let other = |u: u32| &users[u as usize * d..u as usize * d + k];
                    if ridge_row(cols, target, other, k, reg, breg, x).is_err() {
                        return Some(i);
                    }
                    row[k] = x[0] as f32;
                    for f in 0..k {
                        row[f] = x[f + 1] as f32;
                    }
                    None
                },
            )
            .flatten()
            .min();
        match failed {
            Some(i) => Err(self.singular(&format!("item {i}"))),
            None => Ok(()),
        }
    }

    /// One block-scheduled SGD epoch at step size `lr`.
    fn sgd_epoch(&mut self, train: &Csr, e: usize, lr: f32) {
        let p: &MfParams = &self.params;
        let (k, d, b) = (p.factors, p.width(), p.blocks);
        let (reg, breg, mu) = (p.regularization, p.bias_regularization, self.mean);
        let ub = block_of(p.seed, STREAM_USER_MAP, e, train.n_rows, b);
        let ib = block_of(p.seed, STREAM_ITEM_MAP, e, train.n_cols, b);
        // Each user block's ratings split by item block: cell (user block, item block) holds
        // (user, item, rating) triples, in a seeded order of its own.
        let epoch_seed = SplitMix64::derive(p.seed, STREAM_CELLS, e as u64).next_u64();
        let mut users_in: Vec<Vec<u32>> = vec![Vec::new(); b];
        for u in 0..train.n_rows {
            users_in[ub[u] as usize].push(u as u32);
        }
        let cells: Vec<Vec<(u32, u32, f32)>> = users_in
            .par_iter()
            .enumerate()
            .flat_map_iter(|(bu, us)| {
                let mut cells: Vec<Vec<(u32, u32, f32)>> = vec![Vec::new(); b];
                for &u in us {
                    let (items, r) = train.row(u as usize);
                    for (&i, &v) in items.iter().zip(r) {
                        cells[ib[i as usize] as usize].push((u, i, v));
                    }
                }
                for (bi, c) in cells.iter_mut().enumerate() {
                    SplitMix64::derive(epoch_seed, bu as u64, bi as u64).shuffle(c);
                }
                cells
            })
            .collect();
        let users = SyncPtr(self.user_factors.as_mut_ptr());
        let items = SyncPtr(self.item_factors.as_mut_ptr());
        let biases = SyncPtr(self.user_bias.as_mut_ptr());
        for s in 0..b {
            // The B cells of a sub-epoch share no user and no item row.
            (0..b).into_par_iter().with_max_len(1).for_each(|bu| {
                let bi = (bu + s) % b;
                for &(u, i, r) in &cells[bu * b + bi] {
                    let (u, i) = (u as usize, i as usize);
                    // SAFETY: user u is in this cell's user block and item i in its item
                    // block; no other cell of the sub-epoch touches those rows.
                    let (pu, qi, bu_) = unsafe {
                        (
                            users.slice(u * d, d),
                            items.slice(i * d, d),
                            &mut biases.slice(u, 1)[0],
                        )
                    };
                    let err = r - (mu + *bu_ + dot(pu, qi));
                    let bi_ = qi[k];
                    *bu_ += lr * (err - breg * *bu_);
                    qi[k] = bi_ + lr * (err - breg * bi_);
                    for f in 0..k {
                        let (a, c) = (pu[f], qi[f]);
                        pu[f] = a + lr * (err * c - reg * a);
                        qi[f] = c + lr * (err * a - reg * c);
                    }
                }
            });
        }
    }

    /// The (b_u, p_u) of someone not in training from their ratings of known items (checked
    /// ids; each pair is one rating, repeats included): the ALS user solve with the items
    /// fixed, the same ridge system the fit solves. No ratings give b_u = 0, p_u = 0.
    pub fn fold_in(&self, items: &[u32], ratings: &[f32]) -> Result<(f32, Vec<f32>)> {
        if items.len() != ratings.len() {
            return Err(Error::param(
                "values",
                format!("has {} entries for {} items", ratings.len(), items.len()),
            ));
        }
        if let Some(pos) = items.iter().position(|&i| i as usize >= self.n_items) {
            return Err(Error::param(
                "items",
                format!(
                    "index {} at position {pos} is out of range (model has {} items)",
                    items[pos], self.n_items
                ),
            ));
        }
        if let Some(pos) = ratings.iter().position(|v| !v.is_finite()) {
            return Err(Error::param(
                "values",
                format!(
                    "rating {} at position {pos} is not a finite number",
                    ratings[pos]
                ),
            ));
        }
        let (k, d, mu) = (self.params.factors, self.width(), self.mean as f64);
        let it = &self.item_factors;
        let mut x = vec![0f64; d];
        ridge_row(
            items,
            |j, i| ratings[j] as f64 - mu - it[i as usize * d + k] as f64,
            |i| &it[i as usize * d..i as usize * d + k],
            k,
            self.params.regularization as f64,
            self.params.bias_regularization as f64,
            &mut x,
        )
        .map_err(|_| self.singular("the folded-in user"))?;
        Ok((x[0] as f32, x[1..].iter().map(|&v| v as f32).collect()))
    }

    /// The folded-in user's factor row as the top-K engine scores it ([p_u, 1.0]).
    pub fn fold_in_row(&self, items: &[u32], ratings: &[f32]) -> Result<Vec<f32>> {
        let (_, mut p) = self.fold_in(items, ratings)?;
        p.push(1.0);
        Ok(p)
    }
}

impl RatingPredictor for MfModel {
    fn predict(&self, user: usize, item: usize) -> f32 {
        let d = self.width();
        let q = &self.item_factors[item * d..item * d + d];
        if user >= self.n_users {
            return self.mean + q[d - 1];
        }
        let p = &self.user_factors[user * d..user * d + d];
        self.mean + self.user_bias[user] + dot(p, q)
    }

    fn rating_range(&self) -> (f32, f32) {
        (self.rating_min, self.rating_max)
    }
}
