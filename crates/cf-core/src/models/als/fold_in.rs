//! Fold-in and partial fit: the exact factor of one row given the other side's fixed factors.
//!
//! A row with entries i (values rᵢ, confidences cᵢ) minimises
//!   Σᵢ cᵢ (1 − x·yᵢ)² + Σ_{j ∉ row} (x·y_j)² + λ|x|²,
//! whose normal equations are the k x k system of a training half-step:
//!   (YᵀY + λI + Σᵢ (cᵢ − 1) yᵢyᵢᵀ) x = Σᵢ cᵢ yᵢ.
//! Here it is always solved exactly, whatever `params.solver` says, and in f64 (Gram matrix,
//! system and Cholesky factorisation), so the answer is the least-squares solution for the f32
//! factors to f64 accuracy, rounded once to f32. Nothing here depends on the thread count.
//! A fold-in of a short row (at most k/2 entries, the serving case) goes through the cached
//! (YᵀY + λI)⁻¹ and the Woodbury identity instead (`low_rank.rs`): the same system, solved in
//! f64 at a fifth of the cost for 10 entries at 64 factors; partial fits keep the direct solve.
//!
//! Input rules, shared by every entry point:
//! - ids must be < the number of rows on the other side (`ERR_CF_INVALID_ARG` otherwise);
//! - values must be finite and >= 0 (they are interaction strengths, read as confidences);
//!   a value of 0 still counts as an interaction, with confidence 1, as in training;
//! - a repeated id is summed, as training data with `duplicates: sum` is;
//! - an empty list gives the zero vector, the minimiser when nothing is observed (again as in
//!   training); the ranking entry points reject it instead, since it would rank nothing.

use rayon::prelude::*;

use super::low_rank::{ridge_inverse, solve_low_rank, use_low_rank};
use super::{AlsModel, AlsParams};
use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::linalg::AlignedVec;
use crate::pool::pool;
use crate::topk::kernel::Packed;
use crate::topk::similar_to_vector_packed;

/// Rows summed per task for the f64 Gram matrix: fixed, so the sum does not depend on threads.
const GRAM_CHUNK_ROWS: usize = 2048;
/// Below this many rows a partial fit runs on the calling thread (no pool round trip).
const PARALLEL_MIN_ROWS: usize = 8;

/// One side's f64 Gram matrix YᵀY and, when every row has the same ridge λ, (YᵀY + λI)⁻¹ for
/// the low-rank fold-in of short rows (`low_rank.rs`).
#[derive(Debug)]
pub(super) struct Gram64 {
    g: Vec<f64>,
    ridge_inv: Option<Vec<f64>>,
}

/// The two sides of the model, named as errors name them.
#[derive(Clone, Copy, Debug)]
enum Side {
    Users,
    Items,
}

impl Side {
    fn plural(self) -> &'static str {
        match self {
            Side::Users => "users",
            Side::Items => "items",
        }
    }
}

impl AlsModel {
    /// YᵀY of the item factors in f64, computed once and kept until the items change.
    fn item_gram64(&self) -> Result<&Gram64> {
        if let Some(g) = self.item_gram.get() {
            return Ok(g);
        }
        let g = self.gram_cache(&self.item_factors)?;
        Ok(self.item_gram.get_or_init(|| g))
    }

    fn user_gram64(&self) -> Result<&Gram64> {
        if let Some(g) = self.user_gram.get() {
            return Ok(g);
        }
        let g = self.gram_cache(&self.user_factors)?;
        Ok(self.user_gram.get_or_init(|| g))
    }

    fn gram_cache(&self, factors: &[f32]) -> Result<Gram64> {
        let k = self.factors();
        let g = pool(self.params.threads)?.install(|| gram64(factors, k));
        // With a ridge that does not depend on the row, short rows fold in through M⁻¹.
        let ridge_inv = (!self.params.scale_regularization && self.params.regularization > 0.0)
            .then(|| ridge_inverse(&g, k, self.params.regularization as f64))
            .flatten();
        Ok(Gram64 { g, ridge_inv })
    }

    /// Compute the Gram matrices used by fold-in now rather than on the first call.
    pub fn prepare_fold_in(&self) -> Result<()> {
        self.item_gram64()?;
        self.user_gram64()?;
        Ok(())
    }

    /// The exact factor of a user who is not in the model, from the items they interacted
    /// with and the values of those interactions (as in training data; 1.0 for a plain
    /// "liked"). See the module notes for repeated ids, empty lists and value rules.
    pub fn fold_in_user(&self, items: &[u32], values: &[f32]) -> Result<Vec<f32>> {
        self.fold_in(Side::Items, items, values, true)
    }

    /// [`AlsModel::fold_in_user`] always through the direct factorisation of the row's
    /// system, never the low-rank update: for tests and benchmarks that compare the two.
    #[doc(hidden)]
    pub fn fold_in_user_direct(&self, items: &[u32], values: &[f32]) -> Result<Vec<f32>> {
        self.fold_in(Side::Items, items, values, false)
    }

    /// The exact factor of an item that is not in the model, from its users and values.
    pub fn fold_in_item(&self, users: &[u32], values: &[f32]) -> Result<Vec<f32>> {
        self.fold_in(Side::Users, users, values, true)
    }

    /// One new row against the fixed factors of `side` (the side its ids index).
    fn fold_in(&self, side: Side, ids: &[u32], values: &[f32], low_rank: bool) -> Result<Vec<f32>> {
        let (n, factors, g) = match side {
            Side::Items => (self.n_items, &self.item_factors, self.item_gram64()?),
            Side::Users => (self.n_users, &self.user_factors, self.user_gram64()?),
        };
        let (ids, vals) = merge_list(ids, values, n, side)?;
        let k = self.factors();
        let mut x = vec![0f32; k];
        let solved = match &g.ridge_inv {
            Some(minv) if low_rank && !ids.is_empty() && use_low_rank(ids.len(), k) => {
                solve_low_rank(&self.params, minv, factors, &ids, &vals, &mut x)
            }
            _ => solve_exact(
                &self.params,
                &g.g,
                factors,
                &ids,
                &vals,
                &mut x,
                &mut Scratch64::new(k),
            ),
        };
        solved.map_err(|()| not_pd(&self.params, "the fold-in system"))?;
        Ok(x)
    }

    /// Items closest (cosine) to an item that is not in the model, folded in exactly from the
    /// users who interacted with it.
    pub fn similar_to_new_item(
        &self,
        users: &[u32],
        values: &[f32],
        k: usize,
    ) -> Result<Vec<(u32, f32)>> {
        self.similar_to_new_item_packed(users, values, k, None)
    }

    /// [`AlsModel::similar_to_new_item`] ranking through a cached packing of the item factors
    /// (ignored unless it matches them).
    pub fn similar_to_new_item_packed(
        &self,
        users: &[u32],
        values: &[f32],
        k: usize,
        packed: Option<&Packed>,
    ) -> Result<Vec<(u32, f32)>> {
        if users.is_empty() {
            return Err(Error::param(
                "users",
                "is empty: fold-in needs at least one user",
            ));
        }
        let q = self.fold_in_item(users, values)?;
        Ok(similar_to_vector_packed(
            &self.item_factors,
            &q,
            k,
            &[],
            packed,
        ))
    }

    /// Recompute (or add) the given users' factors from their full rows, items fixed: row j of
    /// `rows` (a `users.len()` x n_items matrix) belongs to `users[j]`. An index < n_users
    /// replaces that user's factor; new users must take the next indices n_users,
    /// n_users + 1, ... (in any order), so the model never grows rows without data. An index
    /// may appear once. Each row is solved exactly, in parallel on the model's pool for many
    /// rows, with the same result for any thread count. On error the model is left unchanged.
    pub fn partial_fit_users(&mut self, users: &[u32], rows: &Csr) -> Result<()> {
        let update = self.solve_partial_users(users, rows)?;
        self.apply_partial(update)
    }

    /// Recompute (or add) the given items' factors from their full columns, users fixed: row j
    /// of `rows` (an `items.len()` x n_users matrix) belongs to `items[j]`. Same rules as
    /// [`AlsModel::partial_fit_users`].
    pub fn partial_fit_items(&mut self, items: &[u32], rows: &Csr) -> Result<()> {
        let update = self.solve_partial_items(items, rows)?;
        self.apply_partial(update)
    }

    /// The solving half of [`AlsModel::partial_fit_users`], under a shared borrow, so a
    /// caller can solve while others read the model and lock it only to apply.
    pub fn solve_partial_users(&self, users: &[u32], rows: &Csr) -> Result<PartialUpdate> {
        let g = &self.item_gram64()?.g;
        let factors = partial_solve(
            &self.params,
            g,
            &self.item_factors,
            self.n_items,
            self.n_users,
            users,
            rows,
            Side::Users,
        )?;
        Ok(PartialUpdate {
            side: Side::Users,
            ids: users.to_vec(),
            factors,
            n_other: self.n_items,
        })
    }

    /// The solving half of [`AlsModel::partial_fit_items`].
    pub fn solve_partial_items(&self, items: &[u32], rows: &Csr) -> Result<PartialUpdate> {
        let g = &self.user_gram64()?.g;
        let factors = partial_solve(
            &self.params,
            g,
            &self.user_factors,
            self.n_users,
            self.n_items,
            items,
            rows,
            Side::Items,
        )?;
        Ok(PartialUpdate {
            side: Side::Items,
            ids: items.to_vec(),
            factors,
            n_other: self.n_users,
        })
    }

    /// Write solved factors into the model. The other side must not have changed since the
    /// update was solved (the binding serialises writers to guarantee it); the indices are
    /// checked again against the current size.
    pub fn apply_partial(&mut self, update: PartialUpdate) -> Result<()> {
        let k = self.factors();
        let PartialUpdate {
            side,
            ids,
            factors,
            n_other,
        } = update;
        let (f, n, other_now) = match side {
            Side::Users => (&mut self.user_factors, &mut self.n_users, self.n_items),
            Side::Items => (&mut self.item_factors, &mut self.n_items, self.n_users),
        };
        if n_other != other_now || factors.len() != ids.len() * k {
            return Err(Error::Data(format!(
                "the model changed shape while {} were being solved; solve them again",
                side.plural()
            )));
        }
        check_ids(&ids, *n, side)?;
        apply(f, n, &ids, &factors, k);
        match side {
            Side::Users => self.user_gram = Default::default(),
            Side::Items => self.item_gram = Default::default(),
        }
        Ok(())
    }
}

/// Factors solved for a partial fit, not yet written into the model.
#[derive(Clone, Debug)]
pub struct PartialUpdate {
    side: Side,
    ids: Vec<u32>,
    /// Row j is the new factor of `ids[j]`.
    factors: Vec<f32>,
    /// The other side's size when solved.
    n_other: usize,
}

fn not_pd(params: &AlsParams, what: &str) -> Error {
    Error::Numeric(format!(
        "{what} is not positive definite; increase regularization (now {})",
        params.regularization
    ))
}

/// Validate an id list with its values and return it sorted by id with repeats summed (in
/// input order, so the sum is deterministic).
fn merge_list(ids: &[u32], values: &[f32], n: usize, side: Side) -> Result<(Vec<u32>, Vec<f32>)> {
    let what = side.plural();
    if ids.len() != values.len() {
        return Err(Error::param(
            "values",
            format!("has {} entries for {} {what}", values.len(), ids.len()),
        ));
    }
    if let Some(pos) = ids.iter().position(|&i| i as usize >= n) {
        return Err(Error::param(
            what,
            format!(
                "index {} at position {pos} is out of range (model has {n} {what})",
                ids[pos]
            ),
        ));
    }
    crate::topk::check_strengths(values)?;
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&j| ids[j]); // stable: repeats keep input order
    let mut out_ids: Vec<u32> = Vec::with_capacity(ids.len());
    let mut out_vals: Vec<f32> = Vec::with_capacity(ids.len());
    for j in order {
        if out_ids.last() == Some(&ids[j]) {
            *out_vals.last_mut().unwrap() += values[j];
        } else {
            out_ids.push(ids[j]);
            out_vals.push(values[j]);
        }
    }
    Ok((out_ids, out_vals))
}

/// Check a partial fit's ids and rows, then solve every row; returns the new factors, row j
/// for `ids[j]`, flat.
#[allow(clippy::too_many_arguments)]
fn partial_solve(
    params: &AlsParams,
    g: &[f64],
    other: &[f32],
    n_other: usize,
    n_self: usize,
    ids: &[u32],
    rows: &Csr,
    side: Side,
) -> Result<Vec<f32>> {
    let what = side.plural();
    let other_what = match side {
        Side::Users => "items",
        Side::Items => "users",
    };
    if rows.n_rows != ids.len() {
        return Err(Error::param(
            "rows",
            format!("has {} rows for {} {what}", rows.n_rows, ids.len()),
        ));
    }
    if rows.n_cols != n_other {
        return Err(Error::param(
            "rows",
            format!(
                "has {} columns but the model has {n_other} {other_what}",
                rows.n_cols
            ),
        ));
    }
    if let Some(pos) = rows.values.iter().position(|v| !v.is_finite() || *v < 0.0) {
        let r = rows.indptr.partition_point(|&p| p <= pos) - 1;
        return Err(Error::param(
            "rows",
            format!(
                "value {} at row {r}, column {} is not a finite number >= 0 (values are interaction strengths)",
                rows.values[pos], rows.indices[pos]
            ),
        ));
    }
    check_ids(ids, n_self, side)?;

    let k = params.factors;
    let mut out = vec![0f32; ids.len() * k];
    let solve = |s: &mut Scratch64, j: usize, x: &mut [f32]| -> bool {
        let (cols, vals) = rows.row(j);
        solve_exact(params, g, other, cols, vals, x, s).is_ok()
    };
    let failed = if ids.len() < PARALLEL_MIN_ROWS {
        let mut s = Scratch64::new(k);
        let mut failed = None;
        for (j, x) in out.chunks_exact_mut(k).enumerate() {
            if !solve(&mut s, j, x) {
                failed = Some(j);
                break;
            }
        }
        failed
    } else {
        // Rows are independent and each is solved serially, so the result is the same for
        // any thread count; the first failing row (by position) is the one reported.
        pool(params.threads)?.install(|| {
            out.par_chunks_mut(k)
                .enumerate()
                .map_init(
                    || Scratch64::new(k),
                    |s, (j, x)| (!solve(s, j, x)).then_some(j),
                )
                .flatten()
                .min()
        })
    };
    if let Some(j) = failed {
        return Err(not_pd(
            params,
            &format!("the system for {} {}", &what[..what.len() - 1], ids[j]),
        ));
    }
    Ok(out)
}

/// Each index once; indices at or past the end exactly n_self, n_self + 1, ... (no gaps).
fn check_ids(ids: &[u32], n_self: usize, side: Side) -> Result<()> {
    let what = side.plural();
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::param(
            what,
            format!("index {} is given more than once", w[0]),
        ));
    }
    // Indices at or past the end must be exactly n_self, n_self + 1, ... (no gaps).
    let first_new = sorted.partition_point(|&i| (i as usize) < n_self);
    for (j, &i) in sorted[first_new..].iter().enumerate() {
        if i as usize != n_self + j {
            return Err(Error::param(
                what,
                format!(
                    "index {i} skips index {}: the model has {n_self} {what} and new ones must take consecutive indices from {n_self} (in any order), so no row is left without data",
                    n_self + j,
                ),
            ));
        }
    }
    Ok(())
}

/// Write solved rows into a factor matrix, growing it for new indices (validated contiguous).
fn apply(f: &mut AlignedVec, n: &mut usize, ids: &[u32], new: &[f32], k: usize) {
    if let Some(&max) = ids.iter().max() {
        if max as usize >= *n {
            *n = max as usize + 1;
            f.resize(*n * k, 0.0);
        }
    }
    for (&i, v) in ids.iter().zip(new.chunks_exact(k)) {
        f[i as usize * k..i as usize * k + k].copy_from_slice(v);
    }
}

/// FᵀF in f64 for a row-major n x k matrix, as a full row-major k x k matrix.
pub(super) fn gram64(f: &[f32], k: usize) -> Vec<f64> {
    let partials: Vec<Vec<f64>> = f
        .par_chunks(GRAM_CHUNK_ROWS * k)
        .map(|block| {
            let mut g = vec![0f64; k * k];
            for row in block.chunks_exact(k) {
                for (a, &ya) in row.iter().enumerate() {
                    if ya != 0.0 {
                        // Upper triangle only; mirrored below.
                        let ya = ya as f64;
                        let dst = &mut g[a * k + a..a * k + k];
                        for (d, &yb) in dst.iter_mut().zip(&row[a..]) {
                            *d += ya * yb as f64;
                        }
                    }
                }
            }
            g
        })
        .collect();
    let mut g = vec![0f64; k * k];
    for p in &partials {
        for (x, y) in g.iter_mut().zip(p) {
            *x += y;
        }
    }
    for a in 0..k {
        for b in a + 1..k {
            g[b * k + a] = g[a * k + b];
        }
    }
    g
}

/// Rank-1 updates applied together: each pass over A's lower triangle adds this many items,
/// so the k x k matrix is read and written once per block rather than once per item.
const BLOCK: usize = 4;

struct Scratch64 {
    a: Vec<f64>,
    b: Vec<f64>,
    /// BLOCK rows of the other side's factors, in f64.
    y: Vec<f64>,
}

impl Scratch64 {
    fn new(k: usize) -> Self {
        Scratch64 {
            a: vec![0.0; k * k],
            b: vec![0.0; k],
            y: vec![0.0; BLOCK * k],
        }
    }
}

/// Solve one row's system exactly into `x`; `cols` sorted and unique, `vals` valid.
/// Err(()) when the system is not positive definite (only possible with regularization 0).
fn solve_exact(
    params: &AlsParams,
    g: &[f64],
    other: &[f32],
    cols: &[u32],
    vals: &[f32],
    x: &mut [f32],
    s: &mut Scratch64,
) -> std::result::Result<(), ()> {
    let k = x.len();
    if cols.is_empty() {
        x.fill(0.0);
        return Ok(());
    }
    let reg = params.reg_for(cols.len()) as f64;
    let (a, b, y) = (&mut s.a, &mut s.b, &mut s.y);
    a.copy_from_slice(g);
    for d in 0..k {
        a[d * k + d] += reg;
    }
    b.fill(0.0);
    accumulate(params, other, cols, vals, k, a, b, y);
    cholesky64(a, k)?;
    cholesky_solve64(a, k, b);
    for (xd, &bd) in x.iter_mut().zip(b.iter()) {
        *xd = bd as f32;
    }
    Ok(())
}

/// A += Σ (cᵢ − 1) yᵢyᵢᵀ (lower triangle) and b += Σ cᵢ yᵢ over a row's entries. The same
/// code is compiled for AVX2 where the CPU has it: wider vectors, the same operations in the
/// same order (no FMA contraction), so the result is bitwise the same either way.
#[allow(clippy::too_many_arguments)]
fn accumulate(
    params: &AlsParams,
    other: &[f32],
    cols: &[u32],
    vals: &[f32],
    k: usize,
    a: &mut [f64],
    b: &mut [f64],
    y: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { accumulate_avx2(params, other, cols, vals, k, a, b, y) };
        }
    }
    accumulate_body(params, other, cols, vals, k, a, b, y)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn accumulate_avx2(
    params: &AlsParams,
    other: &[f32],
    cols: &[u32],
    vals: &[f32],
    k: usize,
    a: &mut [f64],
    b: &mut [f64],
    y: &mut [f64],
) {
    accumulate_body(params, other, cols, vals, k, a, b, y)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn accumulate_body(
    params: &AlsParams,
    other: &[f32],
    cols: &[u32],
    vals: &[f32],
    k: usize,
    a: &mut [f64],
    b: &mut [f64],
    y: &mut [f64],
) {
    for (ids, vs) in cols.chunks(BLOCK).zip(vals.chunks(BLOCK)) {
        let mut w = [0f64; BLOCK];
        for (q, (&i, &v)) in ids.iter().zip(vs).enumerate() {
            let c = params.confidence(v) as f64;
            w[q] = c - 1.0;
            let yq = &mut y[q * k..q * k + k];
            for (yd, &f) in yq
                .iter_mut()
                .zip(&other[i as usize * k..i as usize * k + k])
            {
                *yd = f as f64;
            }
            for (bd, &yd) in b.iter_mut().zip(yq.iter()) {
                *bd += c * yd;
            }
        }
        // Lower triangle only: the factorisation reads nothing else.
        if ids.len() == BLOCK {
            let (y0, rest) = y.split_at(k);
            let (y1, rest) = rest.split_at(k);
            let (y2, y3) = rest.split_at(k);
            for r in 0..k {
                let (w0, w1, w2, w3) = (w[0] * y0[r], w[1] * y1[r], w[2] * y2[r], w[3] * y3[r]);
                let n = r + 1;
                let row = &mut a[r * k..r * k + n];
                let (p0, p1, p2, p3) = (&y0[..n], &y1[..n], &y2[..n], &y3[..n]);
                for d in 0..n {
                    row[d] += (w0 * p0[d] + w1 * p1[d]) + (w2 * p2[d] + w3 * p3[d]);
                }
            }
        } else {
            for q in 0..ids.len() {
                let yq = &y[q * k..q * k + k];
                for (r, &yr) in yq.iter().enumerate() {
                    let wr = w[q] * yr;
                    for (ad, &yd) in a[r * k..r * k + r + 1].iter_mut().zip(&yq[..=r]) {
                        *ad += wr * yd;
                    }
                }
            }
        }
    }
}

/// Row-oriented Cholesky of the lower triangle in place (A = L Lᵀ).
pub(super) fn cholesky64(a: &mut [f64], k: usize) -> std::result::Result<(), ()> {
    for i in 0..k {
        let (head, tail) = a.split_at_mut(i * k);
        let row_i = &mut tail[..k];
        for j in 0..i {
            let row_j = &head[j * k..j * k + k];
            row_i[j] = (row_i[j] - dot64(&row_i[..j], &row_j[..j])) / row_j[j];
        }
        let d = row_i[i] - dot64(&row_i[..i], &row_i[..i]);
        if !(d > 0.0) || !d.is_finite() {
            return Err(());
        }
        row_i[i] = d.sqrt();
    }
    Ok(())
}

/// x ← (L Lᵀ)⁻¹ x, with L the factor `cholesky64` left in the lower triangle of `l`: L z = x,
/// then Lᵀ x = z.
pub(super) fn cholesky_solve64(l: &[f64], k: usize, x: &mut [f64]) {
    for i in 0..k {
        let s = x[i] - dot64(&l[i * k..i * k + i], &x[..i]);
        x[i] = s / l[i * k + i];
    }
    for i in (0..k).rev() {
        x[i] /= l[i * k + i];
        let xi = x[i];
        for p in 0..i {
            x[p] -= l[i * k + p] * xi;
        }
    }
}

#[inline]
pub(super) fn dot64(a: &[f64], b: &[f64]) -> f64 {
    // Four independent accumulators so the loop vectorises; the order is fixed.
    let n = a.len().min(b.len());
    let mut acc = [0f64; 4];
    let chunks = n / 4;
    for c in 0..chunks {
        for l in 0..4 {
            acc[l] += a[c * 4 + l] * b[c * 4 + l];
        }
    }
    let mut tail = 0f64;
    for j in chunks * 4..n {
        tail += a[j] * b[j];
    }
    (acc[0] + acc[2]) + (acc[1] + acc[3]) + tail
}

impl AlsModel {
    /// Why `item` scores what it does for someone with `items` (and `values`): the folded-in
    /// factor is x = A⁻¹ Σⱼ cⱼ yⱼ (A the user's weighted Gram matrix plus the ridge), so the
    /// score yᵢ·x splits exactly into cⱼ (yᵢᵀ A⁻¹ yⱼ) per liked item j (implicit's `explain`).
    /// Returns the total and each liked item's contribution, in the merged list's order
    /// (sorted ids, repeats summed).
    pub fn explain(
        &self,
        items: &[u32],
        values: &[f32],
        item: u32,
    ) -> Result<(f32, Vec<(u32, f32)>)> {
        let n = self.n_items;
        if item as usize >= n {
            return Err(Error::param(
                "item",
                format!("index {item} is out of range (model has {n} items)"),
            ));
        }
        let g = &self.item_gram64()?.g;
        let (ids, vals) = merge_list(items, values, n, Side::Items)?;
        let k = self.factors();
        let mut s = Scratch64::new(k);
        let reg = self.params.reg_for(ids.len()) as f64;
        s.a.copy_from_slice(g);
        for d in 0..k {
            s.a[d * k + d] += reg;
        }
        // b is not needed: only A's factor is.
        accumulate(
            &self.params,
            &self.item_factors,
            &ids,
            &vals,
            k,
            &mut s.a,
            &mut s.b,
            &mut s.y,
        );
        cholesky64(&mut s.a, k).map_err(|()| not_pd(&self.params, "the fold-in system"))?;
        // z = A⁻¹ yᵢ.
        let yi = &self.item_factors[item as usize * k..item as usize * k + k];
        let mut z: Vec<f64> = yi.iter().map(|&v| v as f64).collect();
        cholesky_solve64(&s.a, k, &mut z);
        let mut total = 0f64;
        let parts = ids
            .iter()
            .zip(&vals)
            .map(|(&j, &v)| {
                let c = self.params.confidence(v) as f64;
                let yj = &self.item_factors[j as usize * k..j as usize * k + k];
                let part = c * yj.iter().zip(&z).map(|(&y, &z)| y as f64 * z).sum::<f64>();
                total += part;
                (j, part as f32)
            })
            .collect();
        Ok((total as f32, parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn the_avx2_build_of_the_system_is_bitwise_the_portable_one() {
        let (k, n_other) = (13, 50);
        let mut g = SplitMix64::new(3);
        let other: Vec<f32> = (0..n_other * k).map(|_| g.next_f32() - 0.5).collect();
        let cols: Vec<u32> = (0..n_other as u32).step_by(3).collect(); // 17: blocks and a tail
        let vals: Vec<f32> = cols.iter().map(|_| g.next_f32() * 3.0).collect();
        let p = AlsParams::default();
        let run = |dispatch: bool| {
            let (mut a, mut b, mut y) = (vec![0.5; k * k], vec![0.0; k], vec![0.0; BLOCK * k]);
            if dispatch {
                accumulate(&p, &other, &cols, &vals, k, &mut a, &mut b, &mut y);
            } else {
                accumulate_body(&p, &other, &cols, &vals, k, &mut a, &mut b, &mut y);
            }
            (a, b)
        };
        assert_eq!(run(true), run(false));
    }
}
