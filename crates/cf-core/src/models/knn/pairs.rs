//! All-pairs top-K neighbours of the rows of a sparse matrix in float64: the similarity of
//! rows i and j is the dot product of their weighted feature vectors (optionally rescaled),
//! and each row keeps the `k` best rows it shares a feature with, itself included (as
//! implicit's `all_pairs_knn`). Shared by item-kNN (features: users) and content similarity
//! (features: terms).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::data::csr::{row_parts, transpose_layout, Csr};

pub(crate) mod symmetric;

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
            values: m.values.par_iter().map(|&v| v as f64).collect(),
        }
    }

    /// `f(row, columns, values)` for every row, rows spread over the pool in runs of
    /// contiguous rows. Each row is still visited by one thread in its own order, so what `f`
    /// computes has the bits of a serial loop.
    pub fn for_each_row_mut(&mut self, f: impl Fn(usize, &[u32], &mut [f64]) + Sync) {
        let target = self
            .values
            .len()
            .div_ceil(4 * rayon::current_num_threads())
            .max(1 << 14);
        let indptr = &self.indptr;
        row_parts(indptr, target, &mut self.indices, &mut self.values)
            .into_par_iter()
            .for_each(|(r0, r1, cols, vals)| {
                let base = indptr[r0];
                for r in r0..r1 {
                    let (a, b) = (indptr[r] - base, indptr[r + 1] - base);
                    f(r, &cols[a..b], &mut vals[a..b]);
                }
            });
    }

    pub fn row(&self, r: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    pub fn row_mut(&mut self, r: usize) -> (&[u32], &mut [f64]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &mut self.values[a..b])
    }

    /// Rows of the result are sorted (rows are visited in order); large matrices are
    /// transposed across the pool, with the same result.
    pub fn transpose(&self) -> Sparse64 {
        let (indptr, indices, values) =
            transpose_layout(self.n_cols, &self.indptr, &self.indices, &self.values);
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
        self.for_each_row_mut(|_, _, vals| {
            let n = vals.iter().map(|v| v * v).sum::<f64>().sqrt();
            if n > 0.0 {
                for v in vals {
                    *v /= n;
                }
            }
        });
    }
}

/// (similarity, index), ordered as a pair: score first (total order), then index.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Key(pub f64, pub u32);

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

/// Bytes of float64 accumulators (and flags) a thread holds for one block of rows: what a
/// core's L2 cache holds with room to spare, since the rows of a block take turns (at 8 MiB,
/// 16 rows over 20k items, the ML-20M fit ran slower than one row at a time).
const BLOCK_BYTES: usize = 512 << 10;

/// One thread's buffers: per row of a block, the running dot products, which rows were
/// reached and in what order; the block's (feature, slot, weight) entries; the selection.
struct Scratch {
    sums: Vec<f64>,
    touched: Vec<bool>,
    lists: Vec<Vec<u32>>,
    entries: Vec<(u32, u32, f64)>,
    heap: BinaryHeap<Reverse<Key>>,
}

impl Scratch {
    fn new(n: usize, block: usize) -> Self {
        Scratch {
            sums: vec![0f64; n * block],
            touched: vec![false; n * block],
            lists: vec![Vec::new(); block],
            entries: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }

    /// Row `i`'s (slot `slot`'s) k best, sorted by index; clears the slot.
    // Offered in reverse order of first contact, a candidate entering only when it beats
    // the smallest kept (score, index): implicit's TopK over its SparseMatrixMultiplier, so
    // ties at the k-th place keep the same items.
    fn select(
        &mut self,
        i: usize,
        slot: usize,
        n: usize,
        k: usize,
        rescale: Option<&(dyn Fn(usize, usize, f64) -> f64 + Sync)>,
    ) -> Vec<(u32, f32)> {
        let at = slot * n;
        let (sums, touched) = (&mut self.sums[at..at + n], &mut self.touched[at..at + n]);
        let heap = &mut self.heap;
        heap.clear();
        for &j in self.lists[slot].iter().rev() {
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
        self.lists[slot].clear();
        let mut out: Vec<(u32, f32)> = heap
            .drain()
            .map(|Reverse(Key(s, j))| (j, s as f32))
            .collect();
        out.sort_unstable_by_key(|p| p.0);
        out
    }
}

/// Best first: higher score, then lower index.
pub fn best_first(a: &(f64, u32), b: &(f64, u32)) -> std::cmp::Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// The `k` best rows by similarity for each row of `rows` (rows x features; `by_feature` is
/// its transpose, computed here when None and needed), each kept row as (index, similarity)
/// in a CSR sorted by index. `rescale` maps (row, other row, dot product) to the similarity
/// (None: the dot product). Run on the current rayon pool; each row sums its dot products in
/// one fixed order (features of the row, then the other rows of each feature, in index
/// order), so the result has the same bits at any thread count. Ties at the k-th place are
/// settled as implicit 0.7.3 settles them (candidates offered in reverse order of first
/// contact; one enters only when its score beats the smallest kept, which leaves first,
/// lower index first among equals), so the same neighbours are kept and quality can be
/// compared at equal settings.
pub fn all_pairs(
    rows: &Sparse64,
    by_feature: Option<&Sparse64>,
    k: usize,
    rescale: Option<&(dyn Fn(usize, usize, f64) -> f64 + Sync)>,
) -> Csr {
    // The symmetric kernel tells a reached pair from an unreached one by its sum being > 0,
    // which needs every product of two weights to be a positive normal number; otherwise
    // (zero or negative weights: a user with every item has idf <= 0) the kernel that
    // tracks first contact row by row decides.
    let safe = rows
        .values
        .par_iter()
        .all(|w| (MIN_WEIGHT..=1.0 / MIN_WEIGHT).contains(w));
    let mut lengths = vec![0usize; rows.n_cols];
    for &f in &rows.indices {
        if let Some(c) = lengths.get_mut(f as usize) {
            *c += 1;
        }
    }
    let fast = match safe && is_dense(rows.n_rows, lengths) && k > 0 {
        true => symmetric::all_pairs(rows, k, rescale),
        false => None,
    };
    fast.unwrap_or_else(|| match by_feature {
        Some(t) => all_pairs_ordered(rows, t, k, rescale),
        None => all_pairs_ordered(rows, &rows.transpose(), k, rescale),
    })
}

/// Whether the symmetric kernel pays for `rows` rows whose features have these lengths: its
/// tile is scanned whole (rows^2 / 2 cells) whatever the data, worth it only when the pairs
/// to sum (Σ over features of their rows squared) outnumber the cells; on sparse data
/// (lastfm-2k: 17.6k items, few pairs) the reached list is cheaper.
pub fn is_dense(rows: usize, feature_lengths: impl IntoIterator<Item = usize>) -> bool {
    let pairs: f64 = feature_lengths
        .into_iter()
        .map(|d| (d as f64) * (d as f64))
        .sum();
    pairs >= (rows as f64).powi(2)
}

/// Weights in [MIN_WEIGHT, 1 / MIN_WEIGHT] multiply to positive normal float64s and sum
/// without overflow.
const MIN_WEIGHT: f64 = 1e-150;

/// [`all_pairs`] row by row: each row's pairs are computed on their own (every pair twice)
/// and the reached rows recorded in order of first contact, so the tie rule needs nothing
/// else. Used when weights can be zero or negative.
pub fn all_pairs_ordered(
    rows: &Sparse64,
    by_feature: &Sparse64,
    k: usize,
    rescale: Option<&(dyn Fn(usize, usize, f64) -> f64 + Sync)>,
) -> Csr {
    let n = rows.n_rows;
    // Rows are scored in blocks that share each feature's list while it is in cache (a
    // feature's rows are read once per block instead of once per row); every row still sums
    // over its features in index order, so the bits do not depend on the block.
    let block = (BLOCK_BYTES / (9 * n.max(1))).clamp(1, 16);
    let blocks: Vec<Vec<Vec<(u32, f32)>>> = (0..n.div_ceil(block))
        .into_par_iter()
        .map_init(
            || Scratch::new(n, block),
            |st, b| {
                let (lo, hi) = (b * block, ((b + 1) * block).min(n));
                st.entries.clear();
                for i in lo..hi {
                    let (feats, w) = rows.row(i);
                    for (&f, &wa) in feats.iter().zip(w) {
                        st.entries.push((f, (i - lo) as u32, wa));
                    }
                }
                st.entries.sort_unstable_by_key(|e| (e.0, e.1));
                for &(f, slot, wa) in &st.entries {
                    let (others, b) = by_feature.row(f as usize);
                    let at = slot as usize * n;
                    let sums = &mut st.sums[at..at + n];
                    let touched = &mut st.touched[at..at + n];
                    let list = &mut st.lists[slot as usize];
                    for (&j, &wb) in others.iter().zip(b) {
                        let j = j as usize;
                        sums[j] += wa * wb;
                        if !touched[j] {
                            touched[j] = true;
                            list.push(j as u32);
                        }
                    }
                }
                (lo..hi)
                    .map(|i| st.select(i, i - lo, n, k, rescale))
                    .collect()
            },
        )
        .collect();
    let lists: Vec<Vec<(u32, f32)>> = blocks.into_iter().flatten().collect();
    to_csr(n, &lists)
}

/// Row lists (sorted by index) as an n x n CSR.
fn to_csr(n: usize, lists: &[Vec<(u32, f32)>]) -> Csr {
    let mut indptr = Vec::with_capacity(n + 1);
    indptr.push(0usize);
    let nnz: usize = lists.iter().map(Vec::len).sum();
    let (mut indices, mut values) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
    for l in lists {
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
