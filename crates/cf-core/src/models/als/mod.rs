//! Implicit-feedback ALS (Hu, Koren & Volinsky 2008), multithreaded and deterministic.

mod fold_in;
mod lockstep;
mod low_rank;
mod model;
mod params;
mod solve;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

pub use fold_in::PartialUpdate;
use lockstep::GroupState;
pub use lockstep::LongRows;
pub use model::TYPE;
pub use params::{AlsParams, Confidence, Precision, Solver, SPEC};
use solve::{with_scratch, Gram, RowSolver};

use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::linalg::{dot, eigenbasis, gram, gram_f64, rotate_rows, AlignedVec};
use crate::params::{Checked, IntoChecked};
use crate::pool::pool;
use crate::rng::SplitMix64;

const STREAM_USERS: u64 = 1;
const STREAM_ITEMS: u64 = 2;
/// Below this many factors the dense k x k product per CG pass is cheap, and rotating both
/// factor matrices every half-step would cost more than it saves.
const ROTATE_MIN_FACTORS: usize = 16;
/// Parallel tasks per half-step: enough for work stealing to even out power-law rows.
const TASKS: usize = 2048;

/// Split the rows (and their factor slices) into runs of about equal work, estimated as the
/// row's entries plus a fixed cost for the k x k part. Equal row counts are not enough: with
/// popular rows next to each other one task could hold most of the entries. The split depends
/// only on the data, and rows are solved independently, so results do not depend on threads.
fn tasks<'x>(m: &Csr, k: usize, long_from: usize, x: &'x mut [f32]) -> Vec<(usize, &'x mut [f32])> {
    // Rows from `long_from` entries on are solved by `lockstep` and cost nothing here.
    let row_cost = |r: usize| match m.row_len(r) {
        n if n >= long_from => 0,
        n => n + k / 2 + 1,
    };
    let total: usize = (0..m.n_rows).map(row_cost).sum();
    let target = total.div_ceil(TASKS).max(1);
    let mut out = Vec::with_capacity(TASKS + 1);
    let (mut rest, mut first, mut acc) = (x, 0usize, 0usize);
    for r in 0..m.n_rows {
        acc += row_cost(r);
        if acc >= target || r + 1 == m.n_rows {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut((r + 1 - first) * k);
            out.push((first, head));
            rest = tail;
            first = r + 1;
            acc = 0;
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
pub struct IterationReport {
    /// 1-based.
    pub iteration: usize,
    pub seconds: f64,
    /// The users half-step's share of `seconds` (the rest is the items half-step).
    pub user_seconds: f64,
    /// Normalised training loss when `compute_loss` is set.
    pub loss: Option<f64>,
}

#[derive(Debug)]
pub struct AlsModel {
    pub params: Checked<AlsParams>,
    pub n_users: usize,
    pub n_items: usize,
    /// Row-major n_users x factors, cache-line aligned.
    pub user_factors: AlignedVec,
    /// Row-major n_items x factors, cache-line aligned.
    pub item_factors: AlignedVec,
    pub iterations_done: usize,
    /// YᵀY of each side in f64 for fold-in (see `fold_in.rs`); reset whenever that side changes.
    item_gram: OnceLock<fold_in::Gram64>,
    user_gram: OnceLock<fold_in::Gram64>,
}

impl Clone for AlsModel {
    fn clone(&self) -> Self {
        AlsModel {
            params: self.params.clone(),
            n_users: self.n_users,
            n_items: self.n_items,
            user_factors: self.user_factors.clone(),
            item_factors: self.item_factors.clone(),
            iterations_done: self.iterations_done,
            item_gram: OnceLock::new(),
            user_gram: OnceLock::new(),
        }
    }
}

fn init_factors(seed: u64, stream: u64, rows: usize, k: usize) -> AlignedVec {
    let mut f = AlignedVec::zeros(rows * k);
    f.par_chunks_mut(k).enumerate().for_each(|(r, row)| {
        let mut g = SplitMix64::derive(seed, stream, r as u64);
        // Small positive values, as implicit does: the first half-step dominates anyway.
        row.iter_mut().for_each(|v| *v = g.next_f32() * 0.01);
    });
    f
}

impl AlsModel {
    /// A model with seeded initial factors, ready for `iterate`.
    pub fn new(
        params: impl IntoChecked<AlsParams>,
        n_users: usize,
        n_items: usize,
    ) -> Result<Self> {
        let params = params.into_checked()?;
        let k = params.factors;
        let p = pool(params.threads)?;
        let (user_factors, item_factors) = p.install(|| {
            (
                init_factors(params.seed, STREAM_USERS, n_users, k),
                init_factors(params.seed, STREAM_ITEMS, n_items, k),
            )
        });
        Ok(AlsModel {
            params,
            n_users,
            n_items,
            user_factors,
            item_factors,
            iterations_done: 0,
            item_gram: OnceLock::new(),
            user_gram: OnceLock::new(),
        })
    }

    /// A fitted model from saved factors.
    pub fn from_factors(
        params: impl IntoChecked<AlsParams>,
        user_factors: Vec<f32>,
        item_factors: Vec<f32>,
    ) -> Result<Self> {
        let params = params.into_checked()?;
        let (n_users, n_items) = crate::models::factor::check_factor_arrays(
            &user_factors,
            &item_factors,
            params.factors,
        )?;
        Ok(AlsModel {
            n_users,
            n_items,
            params,
            user_factors: user_factors.into(),
            item_factors: item_factors.into(),
            iterations_done: 0,
            item_gram: OnceLock::new(),
            user_gram: OnceLock::new(),
        })
    }

    pub fn factors(&self) -> usize {
        self.params.factors
    }

    pub fn user_vector(&self, u: usize) -> &[f32] {
        let k = self.factors();
        &self.user_factors[u * k..u * k + k]
    }

    pub fn item_vector(&self, i: usize) -> &[f32] {
        let k = self.factors();
        &self.item_factors[i * k..i * k + k]
    }

    /// The data must match the model's shape and hold finite values >= 0 (confidences).
    pub fn check_data(&self, user_items: &Csr) -> Result<()> {
        self.check_shape(user_items)?;
        self.check_confidence(check_values(user_items)?)
    }

    /// The confidence of the largest value (`check_values` returns it) must be finite in
    /// float32: a huge rating times alpha would overflow and the fit would come out silently
    /// wrong (unchanged or NaN factors).
    pub fn check_confidence(&self, max_value: f32) -> Result<()> {
        let c = self.params.confidence(max_value);
        if !c.is_finite() || !(c * c).is_finite() {
            return Err(Error::Numeric(format!(
                "the largest value, {max_value:e}, has confidence {c:e} with alpha {}, too large for float32 arithmetic; scale the values down (values: log1p) or lower alpha",
                self.params.alpha
            )));
        }
        Ok(())
    }

    /// The shape half of `check_data`: O(1), for callers that checked the values once.
    pub fn check_shape(&self, user_items: &Csr) -> Result<()> {
        if user_items.n_rows != self.n_users || user_items.n_cols != self.n_items {
            return Err(Error::param(
                "interactions",
                format!(
                    "matrix is {} x {} but the model is {} users x {} items",
                    user_items.n_rows, user_items.n_cols, self.n_users, self.n_items
                ),
            ));
        }
        Ok(())
    }

    /// One full iteration: users given items, then items given users.
    /// `item_users` must be `user_items.transpose()`.
    pub fn iterate(&mut self, user_items: &Csr, item_users: &Csr) -> Result<IterationReport> {
        self.iterate_with(user_items, item_users, None)
    }

    /// `iterate`, with the long item rows prepared by `LongRows::build(user_items, ..)` for
    /// the CG solver (ignored by the exact one).
    pub fn iterate_with(
        &mut self,
        user_items: &Csr,
        item_users: &Csr,
        long_items: Option<&LongRows>,
    ) -> Result<IterationReport> {
        self.check_confidence(check_values(user_items)?)?;
        self.iterate_checked(user_items, item_users, long_items)
    }

    /// `iterate_with` for a matrix whose values already passed `check_values` (a fit checks
    /// them once, not every iteration: a pass over all of them costs ~1 % of an iteration).
    /// The shape is still checked.
    pub fn iterate_checked(
        &mut self,
        user_items: &Csr,
        item_users: &Csr,
        long_items: Option<&LongRows>,
    ) -> Result<IterationReport> {
        self.check_shape(user_items)?;
        if let Some(l) = long_items {
            if !l.matches(item_users) {
                return Err(Error::param(
                    "interactions",
                    "the prepared long rows were built from another matrix",
                ));
            }
        }
        let start = Instant::now();
        let mut user_seconds = 0.0;
        let params = self.params.clone();
        let p = pool(params.threads)?;
        p.install(|| -> Result<()> {
            let g = side_gram(&params, &mut self.item_factors, &mut self.user_factors)?;
            half_step(
                &params,
                &g,
                &self.item_factors,
                user_items,
                &mut self.user_factors,
                None,
            )?;
            user_seconds = start.elapsed().as_secs_f64();
            let g = side_gram(&params, &mut self.user_factors, &mut self.item_factors)?;
            half_step(
                &params,
                &g,
                &self.user_factors,
                item_users,
                &mut self.item_factors,
                long_items,
            )
        })?;
        self.item_gram = OnceLock::new();
        self.user_gram = OnceLock::new();
        self.iterations_done += 1;
        let loss = params
            .compute_loss
            .then(|| p.install(|| self.loss(user_items)));
        Ok(IterationReport {
            iteration: self.iterations_done,
            seconds: start.elapsed().as_secs_f64(),
            user_seconds,
            loss,
        })
    }

    /// Fit from scratch. `on_iteration` returns false to stop early (cancellation).
    pub fn fit(
        params: impl IntoChecked<AlsParams>,
        user_items: &Csr,
        mut on_iteration: impl FnMut(&IterationReport) -> bool,
    ) -> Result<Self> {
        let mut m = AlsModel::new(params, user_items.n_rows, user_items.n_cols)?;
        m.check_data(user_items)?;
        let item_users = user_items.transpose();
        let long = match m.params.solver {
            Solver::Cg { .. } => Some(LongRows::build(
                user_items,
                m.params.factors,
                LongRows::default_min_len(m.params.factors),
                pool(m.params.threads)?.current_num_threads(),
            )),
            Solver::Cholesky => None,
        };
        for _ in 0..m.params.iterations {
            let report = m.iterate_checked(user_items, &item_users, long.as_ref())?;
            if !on_iteration(&report) {
                return Err(Error::Cancelled);
            }
        }
        Ok(m)
    }

    /// Σ_u Σ_i c_ui (p_ui − x_u·y_i)² + λ(Σ|x_u|² + Σ|y_i|²), normalised like implicit's by
    /// Σc + U·I − nnz. Unobserved pairs are summed through YᵀY, never enumerated.
    pub fn loss(&self, user_items: &Csr) -> f64 {
        let k = self.factors();
        let g = gram(&self.item_factors, k);
        let per_user: Vec<(f64, f64)> = (0..self.n_users)
            .into_par_iter()
            .map(|u| {
                let x = self.user_vector(u);
                let mut gx = vec![0f32; k];
                crate::linalg::matvec(&g, x, &mut gx);
                let mut l = dot(x, &gx) as f64;
                let mut conf = 0f64;
                let (cols, vals) = user_items.row(u);
                for (&i, &v) in cols.iter().zip(vals) {
                    let c = self.params.confidence(v) as f64;
                    let s = dot(x, self.item_vector(i as usize)) as f64;
                    l += (c - 1.0) * s * s - 2.0 * c * s + c;
                    conf += c;
                }
                l += self.params.reg_for(cols.len()) as f64 * dot(x, x) as f64;
                (l, conf)
            })
            .collect();
        let (mut total, mut conf) = (0f64, 0f64);
        for (l, c) in per_user {
            total += l;
            conf += c;
        }
        let item_users_len = user_items.col_counts();
        for i in 0..self.n_items {
            let y = self.item_vector(i);
            total += self.params.reg_for(item_users_len[i] as usize) as f64 * dot(y, y) as f64;
        }
        let denom = conf + (self.n_users * self.n_items) as f64 - user_items.nnz() as f64;
        total / denom.max(1.0)
    }
}

/// Every value of `m` must be a finite number >= 0 (ALS reads values as confidences); the
/// error names the first one that is not, with its row and column. Returns the largest.
pub fn check_values(m: &Csr) -> Result<f32> {
    if let Some(pos) = m.values.iter().position(|v| !(*v >= 0.0) || !v.is_finite()) {
        let row = m.indptr.partition_point(|&p| p <= pos) - 1;
        return Err(Error::param(
            "interactions",
            format!(
                "value {} at row {row}, column {} is not a finite number >= 0 (ALS reads values as confidences)",
                m.values[pos], m.indices[pos]
            ),
        ));
    }
    Ok(m.values.iter().fold(0f32, |a, &b| a.max(b)))
}

/// YᵀY for the half-step that solves `x` given `y`. With CG, both sides are first rotated
/// into YᵀY's eigenbasis (see `linalg::rotate`): every CG pass then multiplies by a diagonal
/// instead of a k x k matrix, which at 128 factors was about 40 % of a user half-step. The
/// model stays equivalent (all dot products and norms are kept), and the rotation is
/// deterministic, so factors still do not depend on the thread count.
fn side_gram(params: &AlsParams, y: &mut [f32], x: &mut [f32]) -> Result<Gram> {
    let k = params.factors;
    let g = gram_f64(y, k);
    if !matches!(params.solver, Solver::Cg { .. }) || k < ROTATE_MIN_FACTORS {
        return Ok(Gram::Full(g.into_iter().map(|v| v as f32).collect()));
    }
    let e = eigenbasis(&g, k)?;
    rotate_rows(y, k, &e.q);
    rotate_rows(x, k, &e.q);
    Ok(Gram::Diagonal(e.values))
}

/// The float16 copy of the other side's factors that CG reads under `Precision::Mixed`
/// (None: read float32). Float16 keeps 11 significant bits only between 2⁻¹⁴ and 65504, so a
/// table with a value beyond that range, or whose largest value is below 2⁻⁸ (where values
/// a few dozen times smaller would already lose bits as subnormals), is read as float32.
/// Fitted factors on the shared datasets peak at 0.09-10, and the initial ones near 0.01.
fn half_copy(params: &AlsParams, y: &[f32]) -> Option<Vec<f16>> {
    if params.precision != Precision::Mixed || !matches!(params.solver, Solver::Cg { .. }) {
        return None;
    }
    // NaN-propagating max (f32::max would skip a NaN), so a NaN table reads float32.
    let top = y
        .par_iter()
        .map(|v| v.abs())
        .reduce(|| 0.0, |a, b| if a >= b || a.is_nan() { a } else { b });
    if !(top <= f16::MAX.to_f32() && top >= (2f32).powi(-8)) {
        return None;
    }
    let mut h = vec![f16::ZERO; y.len()];
    h.par_chunks_mut(1 << 16)
        .zip(y.par_chunks(1 << 16))
        .for_each(|(h, y)| h.convert_from_f32_slice(y));
    Some(h)
}

fn half_step(
    params: &AlsParams,
    g: &Gram,
    y: &[f32],
    m: &Csr,
    x: &mut [f32],
    long: Option<&LongRows>,
) -> Result<()> {
    let k = params.factors;
    let half = half_copy(params, y);
    let solver = match &half {
        Some(h) => RowSolver::new(params, g, y).reading_half(h.reinterpret_cast()),
        None => RowSolver::new(params, g, y),
    };
    let (long, steps) = match params.solver {
        Solver::Cg { steps } => (long, steps),
        Solver::Cholesky => (None, 0),
    };
    let long_from = long.map_or(usize::MAX, |l| l.min_len);
    let mut states: Vec<GroupState> = long.map_or_else(Vec::new, |l| {
        (0..l.groups())
            .map(|g| GroupState::load(l, g, x, k))
            .collect()
    });
    let failed = AtomicUsize::new(usize::MAX);
    let tasks = tasks(m, k, long_from, x);
    // Groups (each its own job: they are few and large) beside the row tasks, which rayon
    // splits adaptively as before groups existed.
    rayon::join(
        || {
            if let Some(l) = long {
                states
                    .par_iter_mut()
                    .enumerate()
                    .with_max_len(1)
                    .for_each(|(g, st)| solver.solve_group(l, g, st, steps))
            }
        },
        || {
            tasks.into_par_iter().for_each(|(first, block)| {
                with_scratch(k, |s| {
                    let rows = block.len() / k;
                    for (j, xu) in block.chunks_exact_mut(k).enumerate() {
                        let u = first + j;
                        let (cols, vals) = m.row(u);
                        if cols.len() >= long_from {
                            continue;
                        }
                        let next = if j + 1 < rows { m.row(u + 1).0 } else { &[] };
                        if !solver.solve(cols, vals, next, xu, s) {
                            failed.fetch_min(u, Ordering::Relaxed);
                        }
                    }
                })
            })
        },
    );
    if let Some(l) = long {
        for (g, st) in states.iter().enumerate() {
            st.store(l, g, x, k);
        }
    }
    match failed.into_inner() {
        usize::MAX => Ok(()),
        row => Err(Error::Numeric(format!(
            "the system for row {row} is not positive definite; increase regularization (now {})",
            params.regularization
        ))),
    }
}

#[cfg(test)]
mod tests;
