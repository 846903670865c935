//! Compressed sparse rows over dense u32 indices with f32 values.

use rayon::prelude::*;

use crate::error::{Error, Result};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Csr {
    pub n_rows: usize,
    pub n_cols: usize,
    /// `indptr[r]..indptr[r + 1]` are row r's entries.
    pub indptr: Vec<usize>,
    /// Column indices, sorted and unique within each row.
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

/// The rows of a CSR layout (`indptr`, and two arrays of its entries) cut into runs of
/// contiguous rows of about `target` entries each, with each run's slices of the two
/// arrays: parts that threads can fill at once without sharing a slot.
pub(crate) fn row_parts<'a, A, B>(
    indptr: &[usize],
    target: usize,
    a: &'a mut [A],
    b: &'a mut [B],
) -> Vec<(usize, usize, &'a mut [A], &'a mut [B])> {
    let n = indptr.len() - 1;
    let mut parts = Vec::new();
    let (mut rest_a, mut rest_b) = (a, b);
    let mut r0 = 0;
    while r0 < n {
        let mut r1 = r0 + 1;
        while r1 < n && indptr[r1] - indptr[r0] < target {
            r1 += 1;
        }
        let size = indptr[r1] - indptr[r0];
        let (pa, ra) = std::mem::take(&mut rest_a).split_at_mut(size);
        let (pb, rb) = std::mem::take(&mut rest_b).split_at_mut(size);
        parts.push((r0, r1, pa, pb));
        (rest_a, rest_b) = (ra, rb);
        r0 = r1;
    }
    parts
}

/// Entries from which a transpose is split across the pool's threads.
const PARALLEL_TRANSPOSE: usize = 1 << 20;

/// Whether every row of a CSR layout has ascending columns.
pub(crate) fn rows_sorted(indptr: &[usize], indices: &[u32]) -> bool {
    (0..indptr.len() - 1).into_par_iter().all(|r| {
        indices[indptr[r]..indptr[r + 1]]
            .windows(2)
            .all(|p| p[0] < p[1])
    })
}

/// The transpose of a CSR layout with `n_cols` columns, for any value type: (indptr, indices,
/// values) of the columns as rows. Each output row lists its rows in ascending order (the
/// input rows are visited in order). Large layouts with sorted rows are cut into parts of
/// contiguous output rows, one per task, each filled in the same order as the serial loop, so
/// the result does not depend on the thread count.
pub(crate) fn transpose_layout<V: Copy + Default + Send + Sync>(
    n_cols: usize,
    indptr: &[usize],
    indices: &[u32],
    values: &[V],
) -> (Vec<usize>, Vec<u32>, Vec<V>) {
    let n_rows = indptr.len() - 1;
    let mut out_ptr = vec![0usize; n_cols + 1];
    for &c in indices {
        out_ptr[c as usize + 1] += 1;
    }
    for c in 0..n_cols {
        out_ptr[c + 1] += out_ptr[c];
    }
    let nnz = indices.len();
    let mut out_i = vec![0u32; nnz];
    let mut out_v = vec![V::default(); nnz];
    let row = |r: usize| {
        (
            &indices[indptr[r]..indptr[r + 1]],
            &values[indptr[r]..indptr[r + 1]],
        )
    };
    let threads = rayon::current_num_threads();
    if nnz >= PARALLEL_TRANSPOSE && threads > 1 && rows_sorted(indptr, indices) {
        // Each part walks every row and finds its columns there by two searches.
        let target = nnz.div_ceil(2 * threads).max(1);
        let parts = row_parts(&out_ptr, target, &mut out_i, &mut out_v);
        parts.into_par_iter().for_each(|(c0, c1, part_i, part_v)| {
            let base = out_ptr[c0];
            let mut next: Vec<usize> = out_ptr[c0..c1].iter().map(|&q| q - base).collect();
            for r in 0..n_rows {
                let (cols, vals) = row(r);
                let from = cols.partition_point(|&c| (c as usize) < c0);
                let to = cols.partition_point(|&c| (c as usize) < c1);
                for (&c, &v) in cols[from..to].iter().zip(&vals[from..to]) {
                    let q = &mut next[c as usize - c0];
                    part_i[*q] = r as u32;
                    part_v[*q] = v;
                    *q += 1;
                }
            }
        });
    } else {
        let mut next = out_ptr.clone();
        for r in 0..n_rows {
            let (cols, vals) = row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let slot = next[c as usize];
                out_i[slot] = r as u32;
                out_v[slot] = v;
                next[c as usize] += 1;
            }
        }
    }
    (out_ptr, out_i, out_v)
}

impl Csr {
    pub fn empty(n_rows: usize, n_cols: usize) -> Self {
        Csr {
            n_rows,
            n_cols,
            indptr: vec![0; n_rows + 1],
            indices: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Build from coordinates; duplicate (row, col) pairs are summed.
    pub fn from_coo(
        n_rows: usize,
        n_cols: usize,
        rows: &[u32],
        cols: &[u32],
        values: &[f32],
    ) -> Result<Self> {
        if rows.len() != cols.len() || rows.len() != values.len() {
            return Err(Error::param(
                "interactions",
                format!(
                    "users, items and values must have the same length (got {}, {}, {})",
                    rows.len(),
                    cols.len(),
                    values.len()
                ),
            ));
        }
        for (k, (&r, &c)) in rows.iter().zip(cols).enumerate() {
            if r as usize >= n_rows {
                return Err(Error::param(
                    "users",
                    format!("index {r} at position {k} is out of range (rows: {n_rows})"),
                ));
            }
            if c as usize >= n_cols {
                return Err(Error::param(
                    "items",
                    format!("index {c} at position {k} is out of range (columns: {n_cols})"),
                ));
            }
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::param(
                "values",
                format!(
                    "value {} at position {k} is not finite",
                    crate::args::show32(values[k])
                ),
            ));
        }
        // Counting sort by row keeps input order inside a row, then each row is sorted by column.
        let mut indptr = row_offsets(n_rows)?;
        for &r in rows {
            indptr[r as usize + 1] += 1;
        }
        for r in 0..n_rows {
            indptr[r + 1] += indptr[r];
        }
        let mut next = row_offsets(n_rows)?;
        next.copy_from_slice(&indptr);
        let mut order = vec![0u32; rows.len()];
        for (k, &r) in rows.iter().enumerate() {
            order[next[r as usize]] = k as u32;
            next[r as usize] += 1;
        }
        let mut out_indptr = row_offsets(n_rows)?;
        out_indptr.truncate(1);
        let mut indices = Vec::with_capacity(rows.len());
        let mut vals = Vec::with_capacity(rows.len());
        let mut row_buf: Vec<(u32, f32)> = Vec::new();
        for r in 0..n_rows {
            row_buf.clear();
            row_buf.extend(
                order[indptr[r]..indptr[r + 1]]
                    .iter()
                    .map(|&k| (cols[k as usize], values[k as usize])),
            );
            row_buf.sort_by_key(|&(c, _)| c);
            for &(c, v) in &row_buf {
                if indices.len() > *out_indptr.last().unwrap() && *indices.last().unwrap() == c {
                    let sum: &mut f32 = vals.last_mut().unwrap();
                    *sum += v;
                    if !sum.is_finite() {
                        return Err(Error::param(
                            "values",
                            format!("the repeated entries of row {r}, column {c} sum past float32 (to {sum})"),
                        ));
                    }
                } else {
                    indices.push(c);
                    vals.push(v);
                }
            }
            out_indptr.push(indices.len());
        }
        Ok(Csr {
            n_rows,
            n_cols,
            indptr: out_indptr,
            indices,
            values: vals,
        })
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    pub fn row_len(&self, r: usize) -> usize {
        self.indptr[r + 1] - self.indptr[r]
    }

    pub fn contains(&self, r: usize, c: u32) -> bool {
        self.row(r).0.binary_search(&c).is_ok()
    }

    /// The same matrix stored by columns (as a CSR of the transpose).
    pub fn transpose(&self) -> Csr {
        let (indptr, indices, values) =
            transpose_layout(self.n_cols, &self.indptr, &self.indices, &self.values);
        Csr {
            n_rows: self.n_cols,
            n_cols: self.n_rows,
            indptr,
            indices,
            values,
        }
    }

    /// Whether every row's columns ascend (what the type promises; checked where an
    /// algorithm's correctness, not just its order, depends on it).
    pub fn rows_sorted(&self) -> bool {
        rows_sorted(&self.indptr, &self.indices)
    }

    /// Entries per column.
    pub fn col_counts(&self) -> Vec<u32> {
        // Counted in pieces across the pool and summed (exact: integers), where the pool is
        // wider than one thread and the matrix large enough to pay for a count array each.
        let pieces = rayon::current_num_threads()
            .min(self.indices.len() / (1 << 20))
            .max(1);
        let count = |part: &[u32]| {
            let mut counts = vec![0u32; self.n_cols];
            for &c in part {
                counts[c as usize] += 1;
            }
            counts
        };
        if pieces == 1 {
            return count(&self.indices);
        }
        let len = self.indices.len().div_ceil(pieces);
        self.indices
            .par_chunks(len)
            .map(count)
            .reduce_with(|mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            })
            .unwrap_or_else(|| vec![0; self.n_cols])
    }

    /// Rows with at least one entry.
    pub fn nonempty_rows(&self) -> usize {
        (0..self.n_rows)
            .into_par_iter()
            .filter(|&r| self.row_len(r) > 0)
            .count()
    }

    /// Check the invariants a matrix from outside must satisfy before any model touches it.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::param("matrix", m));
        if self.indptr.len() != self.n_rows + 1 || self.indptr[0] != 0 {
            return bad(format!(
                "indptr must have {} entries starting at 0",
                self.n_rows + 1
            ));
        }
        if *self.indptr.last().unwrap() != self.indices.len()
            || self.indices.len() != self.values.len()
        {
            return bad("indptr, indices and values lengths disagree".into());
        }
        // All offsets first: with them non-decreasing up to the last (= the length), every
        // row's slice is in bounds. Checked row by row instead, an offset past the end in the
        // middle (0, 2, 999, 5) would be sliced before the next row could reject it.
        if let Some(r) = self.indptr.windows(2).position(|w| w[0] > w[1]) {
            return bad(format!(
                "indptr decreases at row {r} ({} then {})",
                self.indptr[r],
                self.indptr[r + 1]
            ));
        }
        for r in 0..self.n_rows {
            let (cols, _) = self.row(r);
            if cols.windows(2).any(|w| w[0] >= w[1]) {
                return bad(format!("row {r} has unsorted or repeated column indices"));
            }
            if cols.last().is_some_and(|&c| c as usize >= self.n_cols) {
                return bad(format!("row {r} has a column index >= {}", self.n_cols));
            }
        }
        if let Some(k) = self.values.iter().position(|v| !v.is_finite()) {
            return bad(format!("value at position {k} is not finite"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_coo_sorts_and_sums_duplicates() {
        let m = Csr::from_coo(
            3,
            4,
            &[2, 0, 0, 2, 0],
            &[1, 3, 1, 1, 3],
            &[1.0, 2.0, 3.0, 4.0, 5.0],
        )
        .unwrap();
        assert_eq!(m.indptr, vec![0, 2, 2, 3]);
        assert_eq!(m.indices, vec![1, 3, 1]);
        assert_eq!(m.values, vec![3.0, 7.0, 5.0]);
        m.validate().unwrap();
        let t = m.transpose();
        assert_eq!(t.n_rows, 4);
        assert_eq!(t.indptr, vec![0, 0, 2, 2, 3]);
        assert_eq!(t.indices, vec![0, 2, 0]);
        assert_eq!(t.values, vec![3.0, 5.0, 7.0]);
        assert_eq!(t.transpose(), m);
    }

    /// A 3000 x 5000 matrix with about 1.5M entries (past PARALLEL_TRANSPOSE), skewed columns.
    fn big(seed: u64) -> Csr {
        let (mut r, mut c, mut v) = (Vec::new(), Vec::new(), Vec::new());
        let mut x = seed;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as usize
        };
        for _ in 0..1_600_000 {
            let col = next() % 5000;
            r.push((next() % 3000) as u32);
            c.push((col * col / 5000) as u32);
            v.push((next() % 7) as f32 + 0.5);
        }
        Csr::from_coo(3000, 5000, &r, &c, &v).unwrap()
    }

    #[test]
    fn the_parallel_transpose_is_the_serial_one() {
        let m = big(3);
        assert!(m.nnz() >= PARALLEL_TRANSPOSE);
        let serial = crate::pool::pool(1).unwrap().install(|| m.transpose());
        for threads in [2, 3, 8] {
            let t = crate::pool::pool(threads)
                .unwrap()
                .install(|| m.transpose());
            assert_eq!(t, serial, "{threads} threads");
        }
        serial.validate().unwrap();
        // Entry by entry: (r, c, v) in m is (c, r, v) in the transpose.
        for r in (0..m.n_rows).step_by(97) {
            let (cols, vals) = m.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let (rs, vs) = serial.row(c as usize);
                let at = rs.binary_search(&(r as u32)).unwrap();
                assert_eq!(vs[at], v);
            }
        }
        assert_eq!(serial.transpose(), m);
    }

    #[test]
    fn a_matrix_with_unsorted_rows_is_transposed_serially_and_right() {
        let mut m = big(5);
        let serial = crate::pool::pool(1).unwrap().install(|| m.transpose());
        // Reverse every row: the same entries, not in the promised order.
        for r in 0..m.n_rows {
            let (a, b) = (m.indptr[r], m.indptr[r + 1]);
            m.indices[a..b].reverse();
            m.values[a..b].reverse();
        }
        assert!(!m.rows_sorted());
        let t = crate::pool::pool(3).unwrap().install(|| m.transpose());
        assert_eq!(t, serial);
    }

    #[test]
    fn column_counts_split_across_threads_match_one_count() {
        // 3 M entries (over 2^21: split in 2 or 3), skewed columns, rows of 1,000.
        let n = 3_000_000usize;
        let mut x = 7u64;
        let indices: Vec<u32> = (0..n)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                let c = (x >> 33) % 5000;
                (c * c / 5000) as u32
            })
            .collect();
        let m = Csr {
            n_rows: n / 1000,
            n_cols: 5000,
            indptr: (0..=n / 1000).map(|r| r * 1000).collect(),
            values: vec![1.0; n],
            indices,
        };
        let mut want = vec![0u32; m.n_cols];
        m.indices.iter().for_each(|&c| want[c as usize] += 1);
        for threads in [1, 2, 3] {
            let got = crate::pool::pool(threads)
                .unwrap()
                .install(|| m.col_counts());
            assert_eq!(got, want, "{threads} threads");
        }
    }

    #[test]
    fn from_coo_rejects_duplicates_that_sum_past_float32() {
        let e = Csr::from_coo(2, 2, &[1, 1], &[0, 0], &[3e38, 3e38]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "values: the repeated entries of row 1, column 0 sum past float32 (to inf)"
        );
        assert!(Csr::from_coo(2, 2, &[1, 1], &[0, 0], &[1e38, 1e38]).is_ok());
    }

    #[test]
    fn from_coo_rejects_out_of_range_and_nan() {
        assert!(Csr::from_coo(2, 2, &[2], &[0], &[1.0])
            .unwrap_err()
            .to_string()
            .contains("users"));
        assert!(Csr::from_coo(2, 2, &[0], &[5], &[1.0])
            .unwrap_err()
            .to_string()
            .contains("items"));
        assert!(Csr::from_coo(2, 2, &[0], &[0], &[f32::NAN])
            .unwrap_err()
            .to_string()
            .contains("not finite"));
        assert!(Csr::from_coo(2, 2, &[0, 1], &[0], &[1.0]).is_err());
    }

    #[test]
    fn validate_rejects_offsets_past_the_end_without_slicing_them() {
        let csr = |indptr: Vec<usize>| Csr {
            n_rows: 3,
            n_cols: 4,
            indptr,
            indices: vec![0, 1, 1, 2, 3],
            values: vec![1.0; 5],
        };
        assert!(csr(vec![0, 2, 3, 5]).validate().is_ok());
        let e = csr(vec![0, 2, 999, 5]).validate().unwrap_err().to_string();
        assert_eq!(e, "matrix: indptr decreases at row 2 (999 then 5)");
        assert!(csr(vec![0, 3, 2, 5]).validate().is_err());
    }
}

/// n_rows + 1 zeroed row offsets, or an error when they cannot be allocated.
fn row_offsets(n_rows: usize) -> Result<Vec<usize>> {
    let mut v: Vec<usize> = Vec::new();
    if v.try_reserve_exact(n_rows + 1).is_err() {
        return Err(Error::Data(format!(
            "a matrix of {n_rows} rows needs {} MiB for its row offsets, more memory than there is",
            (n_rows + 1) * std::mem::size_of::<usize>() >> 20
        )));
    }
    v.resize(n_rows + 1, 0);
    Ok(v)
}
