//! CG for the long rows of a half-step (the popular items, mostly), solved a group of rows
//! at a time in lockstep.
//!
//! Solved one by one, a row with n entries gathers n scattered rows of the other side's
//! factors and, once the block outgrows L2, streams it from memory in each of CG's
//! passes: on the ML-20M shape at 128 factors, items above 8192 users cost 350-410 ns per
//! entry against ~155 for short ones. Here each pass instead walks the other side in its
//! stored order, reading each of its rows once per group and applying it to every row of
//! the group it touches. What moves is the group's own state (x and the CG vectors of a few
//! hundred rows, sized to stay in L2), not the gathered rows.
//!
//! Every row of a group adds its terms in ascending order of the other side's ids, as the
//! per-row solver does (its dot products round a little differently), and groups depend
//! only on the data, so results do not depend on thread count.

use super::params::AlsParams;
use super::solve::{cg_last_update, cg_update, RowSolver};
use crate::data::csr::Csr;
use crate::linalg::simd::{padded, Rows};
use crate::linalg::AlignedVec;

/// Bytes of a group's hot state in one pass (v and out, kp floats each per row): half of a
/// 512 KiB L2, leaving room for the other side's rows and the entry lists.
const GROUP_STATE_BYTES: usize = 256 << 10;
/// Entries per kernel call: their dot products run back to back, hiding each one's latency.
const BATCH: usize = 64;
/// Rows of the other side prefetched ahead of the walk.
const AHEAD: usize = 4;

/// The long rows of one side with their entries regrouped by the other side.
#[derive(Debug)]
pub struct LongRows {
    /// Rows with at least this many entries are here; shorter ones are solved row by row.
    pub min_len: usize,
    /// Rows of the solved side (for checking it matches the data).
    n_rows: usize,
    nnz: usize,
    groups: Vec<Group>,
}

#[derive(Debug)]
struct Group {
    /// Solved-side rows, ascending.
    rows: Vec<u32>,
    /// Entries per row (for regularization scaled by row length).
    lens: Vec<u32>,
    /// Other-side rows with entries in this group, ascending, and where their entries start.
    others: Vec<u32>,
    starts: Vec<usize>,
    /// Per entry: the row's index in `rows`, and the stored value.
    locals: Vec<u16>,
    values: Vec<f32>,
}

impl LongRows {
    /// The row length from which lockstep beats solving row by row at `k` factors: where a
    /// row's gathered block (n x kp floats) reaches 2 MiB and its passes start streaming
    /// from memory. Measured on the ML-20M shape (2 threads, noisy VM): at 128 factors the
    /// item half-step went from ~0.9 to 0.6-0.75 s with any threshold from 1024 to 4096; at
    /// 64 factors only items from ~8192 users on gain (0.44 -> ~0.35 s), lower thresholds
    /// lost. On the Last.fm-360K shape at 64 factors it made no measurable difference.
    pub fn default_min_len(k: usize) -> usize {
        ((2usize << 20) / (padded(k.max(1)) * 4)).max(1024)
    }

    /// From `by_other`, the matrix whose rows are the *other* side (user_items when solving
    /// items): its columns with at least `min_len` entries become the long rows, grouped so a
    /// group's CG state at `k` factors fits `GROUP_STATE_BYTES`, in at least `min_groups`
    /// groups of about equal entries.
    ///
    /// Grouping never changes a result (each row's arithmetic is the same in any group), so
    /// `min_groups` can follow the thread count: every group reads the other side's factors
    /// once per pass, and 8 groups where 2 threads need 2 cost ~0.13 s of thread time per
    /// ML-20M item half-step at 128 factors.
    pub fn build(by_other: &Csr, k: usize, min_len: usize, min_groups: usize) -> LongRows {
        let kp = padded(k.max(1));
        let counts = by_other.col_counts();
        let long: Vec<u32> = (0..by_other.n_cols as u32)
            .filter(|&c| counts[c as usize] as usize >= min_len.max(1))
            .collect();
        let total: usize = long.iter().map(|&c| counts[c as usize] as usize).sum();
        let max_rows = (GROUP_STATE_BYTES / (2 * kp * 4)).clamp(1, u16::MAX as usize);
        let target = total.div_ceil(min_groups.max(1)).max(1);
        // Consecutive long rows (by id) into groups of about equal entries, capped in rows.
        let mut bounds = vec![0usize];
        let mut acc = 0;
        for (j, &c) in long.iter().enumerate() {
            acc += counts[c as usize] as usize;
            if acc >= target || j + 1 - bounds.last().unwrap() == max_rows {
                bounds.push(j + 1);
                acc = 0;
            }
        }
        if *bounds.last().unwrap() != long.len() {
            bounds.push(long.len());
        }
        const NONE: u32 = u32::MAX;
        let mut group_of = vec![NONE; by_other.n_cols];
        let mut local_of = vec![0u16; by_other.n_cols];
        let mut groups: Vec<Group> = bounds
            .windows(2)
            .enumerate()
            .map(|(g, w)| {
                let rows = long[w[0]..w[1]].to_vec();
                for (l, &c) in rows.iter().enumerate() {
                    group_of[c as usize] = g as u32;
                    local_of[c as usize] = l as u16;
                }
                let n: usize = rows.iter().map(|&c| counts[c as usize] as usize).sum();
                Group {
                    lens: rows.iter().map(|&c| counts[c as usize]).collect(),
                    rows,
                    others: Vec::new(),
                    starts: Vec::new(),
                    locals: Vec::with_capacity(n),
                    values: Vec::with_capacity(n),
                }
            })
            .collect();
        // Distinct other-side rows per group, so `others` is allocated exactly.
        let mut seen = vec![NONE; groups.len()];
        let mut distinct = vec![0usize; groups.len()];
        for u in 0..by_other.n_rows {
            for &c in by_other.row(u).0 {
                let g = group_of[c as usize];
                if g != NONE && seen[g as usize] != u as u32 {
                    seen[g as usize] = u as u32;
                    distinct[g as usize] += 1;
                }
            }
        }
        for (g, d) in groups.iter_mut().zip(&distinct) {
            g.others.reserve_exact(*d);
            g.starts.reserve_exact(*d + 1);
        }
        for u in 0..by_other.n_rows {
            let (cols, vals) = by_other.row(u);
            for (&c, &v) in cols.iter().zip(vals) {
                let g = group_of[c as usize];
                if g == NONE {
                    continue;
                }
                let grp = &mut groups[g as usize];
                if grp.others.last() != Some(&(u as u32)) {
                    grp.others.push(u as u32);
                    grp.starts.push(grp.locals.len());
                }
                grp.locals.push(local_of[c as usize]);
                grp.values.push(v);
            }
        }
        for g in &mut groups {
            g.starts.push(g.locals.len());
        }
        LongRows {
            min_len: min_len.max(1),
            n_rows: by_other.n_cols,
            nnz: total,
            groups,
        }
    }

    /// Whether this was built from `m`'s transpose (`m` is the matrix being solved).
    pub fn matches(&self, m: &Csr) -> bool {
        self.n_rows == m.n_rows
            && self.nnz
                == (0..m.n_rows)
                    .map(|r| m.row_len(r))
                    .filter(|&n| n >= self.min_len)
                    .sum::<usize>()
    }

    pub fn is_long(&self, row_len: usize) -> bool {
        row_len >= self.min_len
    }

    pub fn groups(&self) -> usize {
        self.groups.len()
    }
}

/// The CG vectors of one group's rows, kp floats per row.
pub struct GroupState {
    kp: usize,
    x: AlignedVec,
    r: AlignedVec,
    p: AlignedVec,
    ap: AlignedVec,
    rs: Vec<f32>,
    active: Vec<bool>,
    conf: Vec<f32>,
    batch: Batch,
}

/// Per kernel call: padded copies of the other side's rows (when k is not a multiple of 8),
/// each entry's row (among them, or in the factor matrix), and each entry's coefficient.
struct Batch {
    ys: AlignedVec,
    of: Vec<u32>,
    coef: Vec<f32>,
}

impl GroupState {
    /// Copy group `g`'s rows out of the factor matrix `x` (k floats per row).
    pub fn load(long: &LongRows, g: usize, x: &[f32], k: usize) -> GroupState {
        let kp = padded(k);
        let rows = &long.groups[g].rows;
        let mut xs = AlignedVec::zeros(rows.len() * kp);
        for (l, &r) in rows.iter().enumerate() {
            let r = r as usize;
            xs[l * kp..l * kp + k].copy_from_slice(&x[r * k..r * k + k]);
        }
        let n = rows.len() * kp;
        GroupState {
            kp,
            x: xs,
            r: AlignedVec::zeros(n),
            p: AlignedVec::zeros(n),
            ap: AlignedVec::zeros(n),
            rs: vec![0.0; rows.len()],
            active: vec![true; rows.len()],
            conf: Vec::new(),
            batch: Batch {
                // Sized by `group_pass` when rows are copied (k not a multiple of 8).
                ys: AlignedVec::default(),
                of: vec![0; BATCH],
                coef: vec![0.0; BATCH],
            },
        }
    }

    /// Write the solved rows back.
    pub fn store(&self, long: &LongRows, g: usize, x: &mut [f32], k: usize) {
        let kp = self.kp;
        for (l, &r) in long.groups[g].rows.iter().enumerate() {
            let r = r as usize;
            x[r * k..r * k + k].copy_from_slice(&self.x[l * kp..l * kp + k]);
        }
    }
}

/// What a lockstep pass computes for each active row l of a group.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// out[l] = b − A·x (kp floats per row).
    Residual,
    /// out[l] = A·p (kp floats per row).
    Product,
    /// out[l] = p·A·p (one float per row): all the last CG step needs.
    Curvature,
}

impl RowSolver<'_> {
    /// `steps` CG iterations from the current x (warm start) for every row of group `g`,
    /// the same iteration as `cg` runs per row.
    pub fn solve_group(&self, long: &LongRows, g: usize, st: &mut GroupState, steps: usize) {
        let grp = &long.groups[g];
        let params: &AlsParams = self.params();
        let (isa, kp) = (self.isa(), st.kp);
        st.conf.clear();
        st.conf
            .extend(grp.values.iter().map(|&v| params.confidence(v)));
        let regs: Vec<f32> = grp
            .lens
            .iter()
            .map(|&n| params.reg_for(n as usize))
            .collect();

        let mut r = std::mem::take(&mut st.r);
        self.group_pass(grp, st, &regs, Pass::Residual, &mut r);
        st.p.copy_from_slice(&r);
        for (l, rs) in st.rs.iter_mut().enumerate() {
            let rl = &r[l * kp..l * kp + kp];
            *rs = isa.dot(rl, rl);
        }
        st.r = r;
        for step in 0..steps {
            for (a, &rs) in st.active.iter_mut().zip(&st.rs) {
                *a = *a && rs >= 1e-20;
            }
            if !st.active.iter().any(|&a| a) {
                break;
            }
            if step + 1 == steps {
                // As in `cg`: the last step needs p·Ap, not Ap.
                let mut pap = vec![0f32; grp.rows.len()];
                self.group_pass(grp, st, &regs, Pass::Curvature, &mut pap);
                for (l, &pap) in pap.iter().enumerate() {
                    if st.active[l] {
                        let span = l * kp..l * kp + kp;
                        cg_last_update(&mut st.x[span.clone()], &st.p[span], pap, st.rs[l]);
                    }
                }
                break;
            }
            let mut ap = std::mem::take(&mut st.ap);
            self.group_pass(grp, st, &regs, Pass::Product, &mut ap);
            for l in 0..grp.rows.len() {
                if !st.active[l] {
                    continue;
                }
                let span = l * kp..l * kp + kp;
                let (x, r, p) = (
                    &mut st.x[span.clone()],
                    &mut st.r[span.clone()],
                    &mut st.p[span.clone()],
                );
                match cg_update(isa, x, r, p, &ap[span], st.rs[l]) {
                    Some(rs_new) => st.rs[l] = rs_new,
                    None => st.active[l] = false,
                }
            }
            st.ap = ap;
        }
        // One confidence per entry: freed here so only running groups hold theirs.
        st.conf = Vec::new();
    }

    /// One pass over the group's entries, walking the other side in id order, for each
    /// active row l (see `Pass`).
    fn group_pass(
        &self,
        grp: &Group,
        st: &mut GroupState,
        regs: &[f32],
        pass: Pass,
        out: &mut [f32],
    ) {
        let (isa, k, kp) = (self.isa(), self.k(), st.kp);
        let GroupState {
            x,
            p,
            active,
            conf,
            batch,
            ..
        } = st;
        let residual = pass == Pass::Residual;
        let v: &[f32] = if residual { x } else { p };
        let mut gv = vec![0f32; if pass == Pass::Curvature { kp } else { 0 }];
        for (l, &reg) in regs.iter().enumerate() {
            if active[l] {
                let span = l * kp..l * kp + kp;
                if pass == Pass::Curvature {
                    self.gram_times(reg, &v[span.clone()], &mut gv, false);
                    out[l] = isa.dot(&v[span], &gv);
                } else {
                    self.gram_times(reg, &v[span.clone()], &mut out[span], residual);
                }
            }
        }
        // Entries go to the kernel in batches of consecutive entries; the other side's rows
        // are read in place (float32 or float16, as CG reads them) when unpadded (k = kp),
        // else copied into padded float32 slots.
        let direct = k == kp;
        if !direct && batch.ys.len() < batch.of.len() * kp {
            batch.ys = AlignedVec::zeros(batch.of.len() * kp);
        }
        let table = self.other_rows();
        let flush = |from: usize, n: usize, b: &mut Batch, out: &mut [f32]| {
            let ys = if direct { table } else { Rows::F32(&b.ys) };
            let r = from..from + n;
            let (locals, confs) = (&grp.locals[r.clone()], &conf[r]);
            if pass == Pass::Curvature {
                isa.scatter_dots(ys, kp, &b.of[..n], locals, v, active, &mut b.coef);
                for ((&l, &c), &d) in locals.iter().zip(confs).zip(&b.coef) {
                    if active[l as usize] {
                        out[l as usize] += (c - 1.0) * d * d;
                    }
                }
            } else {
                isa.scatter_pass(
                    ys,
                    kp,
                    &b.of[..n],
                    locals,
                    confs,
                    v,
                    out,
                    residual,
                    active,
                    &mut b.coef,
                );
            }
        };
        let (mut from, mut n, mut slots) = (0usize, 0usize, 0usize);
        let batch_cap = batch.of.len();
        for (t, &u) in grp.others.iter().enumerate() {
            if let Some(&next) = grp.others.get(t + AHEAD) {
                self.prefetch_other(next as usize);
            }
            let u = u as usize;
            let (mut e, end) = (grp.starts[t], grp.starts[t + 1]);
            let mut slot = None;
            while e < end {
                if n == batch_cap || (!direct && slots == batch_cap && slot.is_none()) {
                    flush(from, n, batch, out);
                    (from, n, slots, slot) = (from + n, 0, 0, None);
                }
                let row = if direct {
                    u as u32
                } else {
                    *slot.get_or_insert_with(|| {
                        self.gather_rows(&[u as u32], &mut batch.ys[slots * kp..slots * kp + kp]);
                        slots += 1;
                        (slots - 1) as u32
                    })
                };
                let take = (end - e).min(batch_cap - n);
                batch.of[n..n + take].fill(row);
                (n, e) = (n + take, e + take);
            }
        }
        if n > 0 {
            flush(from, n, batch, out);
        }
    }
}
