//! Item-kNN's parameters, its `Recommender` (scores from the kept training rows), its type
//! entry and what a saved model holds.

use std::any::Any;

use super::{KnnModel, EXACT};
use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::models::{Model, ModelType, NamedArray};
use crate::params::{Default as D, Kind, ParamSpec, Params, Value, Values};
use crate::pool::MAX_THREADS;

#[derive(Clone, Debug, PartialEq)]
pub struct KnnParams {
    pub k: usize,
    pub weighting: String,
    pub bm25_k1: f64,
    pub bm25_b: f64,
    pub shrinkage: f64,
    pub alpha: f64,
    pub threads: usize,
}

impl KnnParams {
    /// Cosine without shrinkage or asymmetry: columns normalised first, as implicit does.
    pub fn plain_cosine(&self) -> bool {
        self.alpha == 0.5 && self.shrinkage == 0.0
    }
}

/// Item-kNN's parameters. k = 200 neighbours (implicit's default K is 20): chosen on validation
/// (random 20 % of the positives held out, cosine, NDCG@10, `cf-native train` with
/// `k: [20, 50, 100, 200, 400]`): 200 beats 100 on ml-latest-small (0.2093 vs 0.2062), ml-100k
/// (0.2651 vs 0.2575) and lastfm-2k (0.2102 vs 0.1978) and is within 0.3 % of the best on
/// ml-latest-small; 400 adds 1.4 % and 2.1 % on the other two for twice the neighbours.
pub static SPEC: &[ParamSpec] = &[
    ParamSpec {
        name: "k",
        kind: Kind::Int { min: 1, max: 100_000 },
        default: D::Num(200.0),
        doc: "Neighbours kept per item, the item itself included (implicit's K).",
    },
    ParamSpec {
        name: "weighting",
        kind: Kind::Choice(&["cosine", "tfidf", "bm25", "none"]),
        default: D::Str("cosine"),
        doc: "Item similarity: cosine (L2-normalised columns); tfidf (sqrt(x) x idf of the user, normalised); bm25 (bm25_k1, bm25_b, not normalised); none (raw dot products). As implicit's Cosine/TFIDF/BM25Recommender.",
    },
    ParamSpec {
        name: "bm25_k1",
        kind: Kind::Float { min: 0.0, min_exclusive: false, max: f64::INFINITY },
        default: D::Num(1.2),
        doc: "BM25's K1 (saturation of a value; bm25 only).",
    },
    ParamSpec {
        name: "bm25_b",
        kind: Kind::Float { min: 0.0, min_exclusive: false, max: 1.0 },
        default: D::Num(0.75),
        doc: "BM25's B (how much an item's total weight normalises it; bm25 only).",
    },
    ParamSpec {
        name: "shrinkage",
        kind: Kind::Float { min: 0.0, min_exclusive: false, max: f64::INFINITY },
        default: D::Num(0.0),
        doc: "Cosine only: λ in dot / (‖i‖^(2α) ‖j‖^(2(1-α)) + λ), shrinking similarities resting on few users.",
    },
    ParamSpec {
        name: "alpha",
        kind: Kind::Float { min: 0.0, min_exclusive: false, max: 1.0 },
        default: D::Num(0.5),
        doc: "Cosine only: the asymmetric cosine's α (0.5 = the usual cosine).",
    },
    ParamSpec {
        name: "threads",
        kind: Kind::Int { min: 0, max: MAX_THREADS as i64 },
        default: D::Num(0.0),
        doc: "Worker threads for the similarities; 0 = all cores (or CF_NATIVE_NUM_THREADS).",
    },
];

impl Params for KnnParams {
    fn spec() -> &'static [ParamSpec] {
        SPEC
    }
    fn from_values(v: &Values) -> Self {
        KnnParams {
            k: v.int("k") as usize,
            weighting: v.choice("weighting").to_string(),
            bm25_k1: v.float("bm25_k1"),
            bm25_b: v.float("bm25_b"),
            shrinkage: v.float("shrinkage"),
            alpha: v.float("alpha"),
            threads: v.int("threads") as usize,
        }
    }
    fn to_values(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("k", Value::Num(self.k as f64)),
            ("weighting", Value::Str(self.weighting.clone().into())),
            ("bm25_k1", Value::Num(self.bm25_k1)),
            ("bm25_b", Value::Num(self.bm25_b)),
            ("shrinkage", Value::Num(self.shrinkage)),
            ("alpha", Value::Num(self.alpha)),
            ("threads", Value::Num(self.threads as f64)),
        ]
    }
    fn check_across(&self) -> Result<()> {
        if self.weighting != "cosine" && !self.plain_cosine() {
            let name = if self.shrinkage != 0.0 {
                "shrinkage"
            } else {
                "alpha"
            };
            return Err(Error::param(
                name,
                format!(
                    "applies to weighting cosine only (weighting is {})",
                    self.weighting
                ),
            ));
        }
        Ok(())
    }
}

impl Default for KnnParams {
    fn default() -> Self {
        Self::defaults()
    }
}

/// A CSR from per-row counts, indices and values saved as float32 (exact below 2^24).
pub fn csr_from_arrays(
    name: &str,
    n_rows: usize,
    n_cols: usize,
    counts: &[f32],
    indices: &[f32],
    values: Vec<f32>,
) -> Result<Csr> {
    let mut indptr = Vec::with_capacity(n_rows + 1);
    indptr.push(0usize);
    for &c in counts {
        if !(c >= 0.0 && c.fract() == 0.0) {
            return Err(Error::Data(format!("{name}_counts: {c} is not a count")));
        }
        indptr.push(indptr.last().unwrap() + c as usize);
    }
    let mut idx = Vec::with_capacity(indices.len());
    for &i in indices {
        if !(i >= 0.0 && i.fract() == 0.0 && (i as usize) < n_cols) {
            return Err(Error::Data(format!(
                "{name}_items: {i} is not an index below {n_cols}"
            )));
        }
        idx.push(i as u32);
    }
    Ok(Csr {
        n_rows,
        n_cols,
        indptr,
        indices: idx,
        values,
    })
}

/// (counts, indices, values) arrays of a CSR under `name`.
pub fn csr_arrays(name: &str, m: &Csr) -> Vec<NamedArray> {
    vec![
        NamedArray::new(
            &format!("{name}_counts"),
            vec![m.n_rows],
            (0..m.n_rows).map(|r| m.row_len(r) as f32).collect(),
        ),
        NamedArray::new(
            &format!("{name}_items"),
            vec![m.nnz()],
            m.indices.iter().map(|&i| i as f32).collect(),
        ),
        NamedArray::new(&format!("{name}_values"), vec![m.nnz()], m.values.clone()),
    ]
}

/// Take the CSR saved by [`csr_arrays`] under `name`.
pub fn take_csr(
    arrays: &mut Vec<NamedArray>,
    name: &str,
    n_rows: usize,
    n_cols: usize,
) -> Result<Csr> {
    let counts = NamedArray::take(arrays, &format!("{name}_counts"), &[n_rows])?;
    let nnz = counts.iter().map(|&c| c.max(0.0) as usize).sum::<usize>();
    let items = NamedArray::take(arrays, &format!("{name}_items"), &[nnz])?;
    let values = NamedArray::take(arrays, &format!("{name}_values"), &[nnz])?;
    csr_from_arrays(name, n_rows, n_cols, &counts, &items, values)
}

pub static TYPE: ModelType = ModelType {
    name: "knn",
    doc: "Item-kNN: item x item cosine, TF-IDF or BM25 similarities (as implicit's Cosine/TFIDF/BM25Recommender; shrunk or asymmetric cosine), the k best neighbours per item kept sparse; scores sum the neighbour similarities of a user's items.",
    spec: SPEC,
    load: |params, mut arrays, n_users, n_items| {
        let p = KnnParams::from_raw(params.iter().map(|(k, v)| (k.as_str(), v.clone())))?;
        let neighbours = take_csr(&mut arrays, "neighbour", n_items, n_items)?;
        let users = take_csr(&mut arrays, "user", n_users, n_items)?;
        Ok(Box::new(KnnModel::from_parts(p, neighbours, users)?))
    },
    // Fitted in one step: nothing to resume.
    resume: None,
};

/// The `Recommender` of a model that scores from item x item neighbour lists (its
/// `neighbours`, items x items) and the users' training rows (its `users`): item-kNN and
/// content. A user's scores are Σⱼ vⱼ sim(j, ·), so item j contributes vⱼ sim(j, item) to an
/// item's score (its explanation), and an item without neighbours (no interactions; for
/// content, no text) scores 0 for everyone.
macro_rules! neighbour_recommender {
    ($model:ty) => {
        impl $crate::models::Recommender for $model {
            fn n_users(&self) -> usize {
                self.users.n_rows
            }
            fn n_items(&self) -> usize {
                self.neighbours.n_rows
            }
            fn score_user(&self, user: usize, out: &mut [f32]) {
                let (items, values) = self.users.row(user);
                $crate::models::knn::score_rows(&self.neighbours, items, values, out)
            }
            fn score_new_user(
                &self,
                items: &[u32],
                values: &[f32],
                out: &mut [f32],
            ) -> $crate::error::Result<()> {
                $crate::topk::check_items(items, values, self.neighbours.n_rows)?;
                $crate::models::knn::score_rows(&self.neighbours, items, values, out);
                Ok(())
            }
            fn explain(
                &self,
                items: &[u32],
                values: &[f32],
                item: u32,
            ) -> $crate::error::Result<Option<$crate::models::explain::Explanation>> {
                $crate::models::explain::checked_by_neighbours(
                    &self.neighbours,
                    items,
                    values,
                    item,
                )
                .map(Some)
            }
            fn known_items(&self) -> Option<Vec<bool>> {
                Some($crate::models::explain::has_neighbours(&self.neighbours))
            }
            /// The item's kept neighbours, best first (ties: lower index), itself left out:
            /// at most k - 1 of them.
            fn similar_items(&self, item: u32, k: usize) -> $crate::error::Result<Vec<(u32, f32)>> {
                $crate::models::knn::similar_in(&self.neighbours, item, k)
            }
        }
    };
}
pub(crate) use neighbour_recommender;

neighbour_recommender!(KnnModel);

impl Model for KnnModel {
    fn type_name(&self) -> &'static str {
        TYPE.name
    }
    fn params(&self) -> Vec<(&'static str, Value)> {
        self.params.to_values()
    }
    /// The neighbour lists (`neighbour_counts`, `neighbour_items`, `neighbour_values`) and
    /// the training rows (`user_counts`, `user_items`, `user_values`) as float32 arrays:
    /// per-row counts rather than offsets, so every integer stays below 2^24 (item ids by
    /// `check_size`, counts by the item count) and round-trips exactly.
    fn arrays(&self) -> Vec<NamedArray> {
        debug_assert!(self.n_items() < EXACT);
        let mut a = csr_arrays("neighbour", &self.neighbours);
        a.extend(csr_arrays("user", &self.users));
        a
    }
    fn threads(&self) -> usize {
        self.params.threads
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
