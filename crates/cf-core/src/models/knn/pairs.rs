//! All-pairs top-K neighbours of the rows of a sparse matrix in float64: the similarity of
//! rows i and j is the dot product of their weighted feature vectors (optionally rescaled),
//! and each row keeps the `k` best rows it shares a feature with, itself included (as
//! implicit's `all_pairs_knn`). Shared by item-kNN (features: users) and content similarity
//! (features: terms).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::data::csr::Csr;

/// A sparse matrix with float64 values (the weighted matrix the similarities come from).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sparse64 {
    pub n_rows: usize,
    pub n_cols: usize,
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f64>,
}

impl Sparse64 {
    pub fn from_csr(m: &Csr) -> Self {
        Sparse64 {
            n_rows: m.n_rows,
            n_cols: m.n_cols,
            indptr: m.indptr.clone(),
            indices: m.indices.clone(),
            values: m.values.iter().map(|&v| v as f64).collect(),
        }
    }

    pub fn row(&self, r: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    pub fn row_mut(&mut self, r: usize) -> (&[u32], &mut [f64]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &mut self.values[a..b])
    }

    /// Rows of the result are sorted (rows are visited in order).
    pub fn transpose(&self) -> Sparse64 {
        let mut indptr = vec![0usize; self.n_cols + 1];
        for &c in &self.indices {
            indptr[c as usize + 1] += 1;
        }
        for c in 0..self.n_cols {
            indptr[c + 1] += indptr[c];
        }
        let mut next = indptr.clone();
        let nnz = self.indices.len();
        let mut indices = vec![0u32; nnz];
        let mut values = vec![0f64; nnz];
        for r in 0..self.n_rows {
            let (cols, vals) = self.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let slot = next[c as usize];
                indices[slot] = r as u32;
                values[slot] = v;
                next[c as usize] += 1;
            }
        }
        Sparse64 {
            n_rows: self.n_cols,
            n_cols: self.n_rows,
            indptr,
            indices,
            values,
        }
    }

    /// Each row divided by its L2 norm (rows with norm 0 stay 0).
    pub fn normalize_rows(&mut self) {
        for r in 0..self.n_rows {
            let (_, vals) = self.row_mut(r);
            let n = vals.iter().map(|v| v * v).sum::<f64>().sqrt();
            if n > 0.0 {
                for v in vals {
                    *v /= n;
                }
            }
        }
    }
}

/// (similarity, index), ordered as a pair: score first (total order), then index.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Key(f64, u32);

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Key {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0).then(self.1.cmp(&o.1))
    }
}

/// Best first: higher score, then lower index.
pub fn best_first(a: &(f64, u32), b: &(f64, u32)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// The `k` best rows by similarity for each row of `rows` (rows x features; `by_feature` is
/// its transpose), each kept row as (index, similarity) in a CSR sorted by index. `rescale`
/// maps (row, other row, dot product) to the similarity (None: the dot product). Run on the
/// current rayon pool; each row sums its dot products in one fixed order (features of the
/// row, then the other rows of each feature, in index order), so the result has the same
/// bits at any thread count. Ties at the k-th place are settled as implicit 0.7.3 settles
/// them (candidates offered in reverse order of first contact; one enters only when its
/// score beats the smallest kept, which leaves first, lower index first among equals), so
/// the same neighbours are kept and quality can be compared at equal settings.
pub fn all_pairs(
    rows: &Sparse64,
    by_feature: &Sparse64,
    k: usize,
    rescale: Option<&(dyn Fn(usize, usize, f64) -> f64 + Sync)>,
) -> Csr {
    let n = rows.n_rows;
    let lists: Vec<Vec<(u32, f32)>> = (0..n)
        .into_par_iter()
        .with_min_len(8)
        .map_init(
            || {
                (
                    vec![0f64; n],
                    vec![false; n],
                    Vec::<u32>::new(),
                    Vec::<(f64, u32)>::new(),
                    BinaryHeap::<Reverse<Key>>::new(),
                )
            },
            |(sums, touched, list, cand, heap), i| {
                let (feats, a) = rows.row(i);
                for (&f, &wa) in feats.iter().zip(a) {
                    let (others, b) = by_feature.row(f as usize);
                    for (&j, &wb) in others.iter().zip(b) {
                        let j = j as usize;
                        sums[j] += wa * wb;
                        if !touched[j] {
                            touched[j] = true;
                            list.push(j as u32);
                        }
                    }
                }
                // Offered in reverse order of first contact, a candidate entering only when
                // it beats the smallest kept (score, index): implicit's TopK over its
                // SparseMatrixMultiplier, so ties at the k-th place keep the same items.
                heap.clear();
                for &j in list.iter().rev() {
                    let s = sums[j as usize];
                    let s = match rescale {
                        Some(f) => f(i, j as usize, s),
                        None => s,
                    };
                    sums[j as usize] = 0.0;
                    touched[j as usize] = false;
                    if heap.len() < k {
                        heap.push(Reverse(Key(s, j)));
                    } else if heap.peek().is_some_and(|m| s > m.0 .0) {
                        heap.pop();
                        heap.push(Reverse(Key(s, j)));
                    }
                }
                list.clear();
                cand.clear();
                cand.extend(heap.drain().map(|Reverse(Key(s, j))| (s, j)));
                let mut out: Vec<(u32, f32)> = cand.iter().map(|&(s, j)| (j, s as f32)).collect();
                out.sort_unstable_by_key(|p| p.0);
                out
            },
        )
        .collect();
    let mut indptr = Vec::with_capacity(n + 1);
    indptr.push(0usize);
    let nnz: usize = lists.iter().map(Vec::len).sum();
    let (mut indices, mut values) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
    for l in &lists {
        for &(j, s) in l {
            indices.push(j);
            values.push(s);
        }
        indptr.push(indices.len());
    }
    Csr {
        n_rows: n,
        n_cols: n,
        indptr,
        indices,
        values,
    }
}
