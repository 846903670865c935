//! EASE's parameters, its `Recommender` (scores from the kept training rows), its type entry
//! and what a saved model holds.

use std::any::Any;

use super::EaseModel;
use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::models::{Model, ModelType, NamedArray, Recommender};
use crate::params::{Default as D, Kind, ParamSpec, Params, Value, Values};
use crate::pool::MAX_THREADS;

#[derive(Clone, Debug, PartialEq)]
pub struct EaseParams {
    pub lambda: f64,
    pub max_items: usize,
    pub threads: usize,
}

/// EASE's parameters. λ = 200: the validation best on ml-latest-small and within 1.6 % of the
/// best on ml-100k (500) and lastfm-2k (50) (bench/linear_tune.mjs); Steck's best on ML-20M
/// was 500, and larger data wants a larger λ.
pub static SPEC: &[ParamSpec] = &[
    ParamSpec {
        name: "lambda",
        kind: Kind::Float { min: 0.0, min_exclusive: true, max: f64::INFINITY },
        default: D::Num(200.0),
        doc: "L2 penalty on B (added to the diagonal of XᵀX).",
    },
    ParamSpec {
        name: "max_items",
        kind: Kind::Int { min: 1, max: 1_000_000 },
        default: D::Num(20_000.0),
        doc: "Refuse to fit above this many items: the fit holds about 20 x items² bytes (20,000 items: 7.5 GiB).",
    },
    ParamSpec {
        name: "threads",
        kind: Kind::Int { min: 0, max: MAX_THREADS as i64 },
        default: D::Num(0.0),
        doc: "Worker threads for the Gram matrix and B; 0 = all cores (or CF_NATIVE_NUM_THREADS).",
    },
];

impl Params for EaseParams {
    fn spec() -> &'static [ParamSpec] {
        SPEC
    }
    fn from_values(v: &Values) -> Self {
        EaseParams {
            lambda: v.float("lambda"),
            max_items: v.int("max_items") as usize,
            threads: v.int("threads") as usize,
        }
    }
    fn to_values(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("lambda", Value::Num(self.lambda)),
            ("max_items", Value::Num(self.max_items as f64)),
            ("threads", Value::Num(self.threads as f64)),
        ]
    }
}

impl Default for EaseParams {
    fn default() -> Self {
        Self::defaults()
    }
}

/// Integers in a float32 array are exact below 2^24.
const EXACT: usize = 1 << 24;

pub static TYPE: ModelType = ModelType {
    name: "ease",
    doc: "EASE (Steck 2019): closed-form item x item linear model B = I - P diagMat(1/diag P), P = (XᵀX + λI)⁻¹, dense Cholesky in float64; scores x_u B. Memory is quadratic in items (max_items).",
    spec: SPEC,
    load: |params, mut arrays, n_users, n_items| {
        let p = EaseParams::from_raw(params.iter().map(|(k, v)| (k.as_str(), v.clone())))?;
        let b = NamedArray::take(&mut arrays, "weights", &[n_items, n_items])?;
        let counts = NamedArray::take(&mut arrays, "user_counts", &[n_users])?;
        let nnz = counts.iter().map(|&c| c as usize).sum::<usize>();
        let items = NamedArray::take(&mut arrays, "user_items", &[nnz])?;
        let values = NamedArray::take(&mut arrays, "user_values", &[nnz])?;
        let mut indptr = Vec::with_capacity(n_users + 1);
        indptr.push(0usize);
        for &c in &counts {
            if !(c >= 0.0 && c.fract() == 0.0) {
                return Err(Error::Data(format!("user_counts: {c} is not a count")));
            }
            indptr.push(indptr.last().unwrap() + c as usize);
        }
        let users = Csr {
            n_rows: n_users,
            n_cols: n_items,
            indptr,
            indices: items.iter().map(|&i| i as u32).collect(),
            values,
        };
        Ok(Box::new(EaseModel::from_parts(p, b, users)?))
    },
    // Fitted in one step: nothing to resume.
    resume: None,
};

impl Recommender for EaseModel {
    fn n_users(&self) -> usize {
        self.users.n_rows
    }
    fn n_items(&self) -> usize {
        self.n_items
    }
    fn score_user(&self, user: usize, out: &mut [f32]) {
        let (items, values) = self.users.row(user);
        self.scores_of(items, values, out)
    }
    fn score_new_user(&self, items: &[u32], values: &[f32], out: &mut [f32]) -> Result<()> {
        crate::topk::check_items(items, values, self.n_items)?;
        self.scores_of(items, values, out);
        Ok(())
    }
    /// Scores are Σⱼ vⱼ B[j, ·]: item j contributes vⱼ B[j, item].
    fn explain(
        &self,
        items: &[u32],
        values: &[f32],
        item: u32,
    ) -> Result<Option<crate::models::explain::Explanation>> {
        crate::topk::check_items(items, values, self.n_items)?;
        let n = self.n_items;
        let parts: Vec<(u32, f32)> = items
            .iter()
            .zip(values)
            .map(|(&j, &v)| (j, v * self.b[j as usize * n + item as usize]))
            .collect();
        Ok(Some((parts.iter().map(|p| p.1).sum(), parts)))
    }
    /// An item nobody interacted with has an all-zero column of weights.
    fn known_items(&self) -> Option<Vec<bool>> {
        Some(self.users.col_counts().into_iter().map(|c| c > 0).collect())
    }
    fn similar_items(&self, item: u32, k: usize) -> Result<Vec<(u32, f32)>> {
        let n = self.n_items;
        if item as usize >= n {
            return Err(Error::param(
                "item",
                format!("index {item} is out of range (model has {n} items)"),
            ));
        }
        let k = crate::topk::check_k(k, n)?;
        let col: Vec<f32> = (0..n).map(|i| self.b[i * n + item as usize]).collect();
        Ok(crate::topk::select(&col, k, &[&[item]]))
    }
}

impl Model for EaseModel {
    fn type_name(&self) -> &'static str {
        TYPE.name
    }
    fn params(&self) -> Vec<(&'static str, Value)> {
        self.params.to_values()
    }
    /// `weights` (B) and the training rows as float32 arrays (`user_counts`, `user_items`,
    /// `user_values`; ids and counts are exact below 2^24, which max_items and any row keep).
    fn arrays(&self) -> Vec<NamedArray> {
        let n = self.n_items;
        let u = &self.users;
        assert!(n < EXACT && (0..u.n_rows).all(|r| u.row_len(r) < EXACT));
        vec![
            NamedArray::new("weights", vec![n, n], self.b.clone()),
            NamedArray::new(
                "user_counts",
                vec![u.n_rows],
                (0..u.n_rows).map(|r| u.row_len(r) as f32).collect(),
            ),
            NamedArray::new(
                "user_items",
                vec![u.nnz()],
                u.indices.iter().map(|&i| i as f32).collect(),
            ),
            NamedArray::new("user_values", vec![u.nnz()], u.values.clone()),
        ]
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
