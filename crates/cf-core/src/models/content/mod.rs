//! Content similarity: TF-IDF over item text columns of a side file (`text.rs`), cosine
//! neighbours through item-kNN's all-pairs code (the `k` best per item, itself included),
//! and a model that recommends from a user's liked items like item-kNN: scores are
//! Σ value_ui x sim(i, ·). Items with text but no interactions get neighbours too, so they can
//! be recommended and have similar lists (cold start).

#[cfg(test)]
mod tests;
pub mod text;

use std::any::Any;

use text::{tfidf, ItemTexts, TfidfOptions};

use crate::data::csr::Csr;
use crate::error::{Error, Result};
use crate::models::knn::model::{csr_arrays, take_csr};
use crate::models::knn::pairs::all_pairs;
use crate::models::knn::EXACT;
use crate::models::{Model, ModelType, NamedArray};
use crate::params::{Checked, Default as D, IntoChecked, Kind, ParamSpec, Params, Value, Values};
use crate::pool::MAX_THREADS;

#[derive(Clone, Debug, PartialEq)]
pub struct ContentParams {
    pub k: usize,
    pub sublinear_tf: bool,
    pub min_df: usize,
    pub max_df: f64,
    pub threads: usize,
}

pub static SPEC: &[ParamSpec] = &[
    ParamSpec {
        name: "k",
        kind: Kind::Int {
            min: 1,
            max: 100_000,
        },
        default: D::Num(100.0),
        doc: "Neighbours kept per item, the item itself included.",
    },
    ParamSpec {
        name: "sublinear_tf",
        kind: Kind::Bool,
        default: D::Bool(true),
        doc: "tf = 1 + ln(count) instead of the count.",
    },
    ParamSpec {
        name: "min_df",
        kind: Kind::Int {
            min: 1,
            max: 1 << 40,
        },
        default: D::Num(1.0),
        doc: "Drop terms in fewer items than this.",
    },
    ParamSpec {
        name: "max_df",
        kind: Kind::Float {
            min: 0.0,
            min_exclusive: true,
            max: 1.0,
        },
        default: D::Num(1.0),
        doc: "Drop terms in more than this fraction of the items.",
    },
    ParamSpec {
        name: "threads",
        kind: Kind::Int {
            min: 0,
            max: MAX_THREADS as i64,
        },
        default: D::Num(0.0),
        doc: "Worker threads for the similarities; 0 = all cores (or CF_NATIVE_NUM_THREADS).",
    },
];

impl Params for ContentParams {
    fn spec() -> &'static [ParamSpec] {
        SPEC
    }
    fn from_values(v: &Values) -> Self {
        ContentParams {
            k: v.int("k") as usize,
            sublinear_tf: v.bool("sublinear_tf"),
            min_df: v.int("min_df") as usize,
            max_df: v.float("max_df"),
            threads: v.int("threads") as usize,
        }
    }
    fn to_values(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("k", Value::Num(self.k as f64)),
            ("sublinear_tf", Value::Bool(self.sublinear_tf)),
            ("min_df", Value::Num(self.min_df as f64)),
            ("max_df", Value::Num(self.max_df)),
            ("threads", Value::Num(self.threads as f64)),
        ]
    }
}

impl Default for ContentParams {
    fn default() -> Self {
        Self::defaults()
    }
}

pub struct ContentModel {
    pub params: Checked<ContentParams>,
    /// items x items cosine neighbours of the TF-IDF rows, sorted by index.
    pub neighbours: Csr,
    /// Each user's training row.
    pub users: Csr,
}

/// Items' texts in model order: row r of `texts` goes to the item `index(id)` returns; side
/// file rows whose id the model does not have are skipped. Returns the texts and how many
/// rows were used.
pub fn align(
    texts: &ItemTexts,
    n_items: usize,
    index: impl Fn(&str) -> Option<u32>,
) -> (Vec<Vec<String>>, usize) {
    let mut docs = vec![Vec::new(); n_items];
    let mut used = 0;
    for (id, t) in texts.ids.iter().zip(&texts.texts) {
        if let Some(i) = index(id) {
            if (i as usize) < n_items {
                docs[i as usize] = t.clone();
                used += 1;
            }
        }
    }
    (docs, used)
}

impl ContentModel {
    /// Fit from the training matrix and each item's texts (`docs[i]`: one per column of
    /// `columns`, empty for an item without text).
    pub fn fit(
        params: impl IntoChecked<ContentParams>,
        train: &Csr,
        docs: &[Vec<String>],
        columns: &[String],
    ) -> Result<Self> {
        let params = params.into_checked()?;
        if docs.len() != train.n_cols {
            return Err(Error::param(
                "items",
                format!("{} item texts for {} items", docs.len(), train.n_cols),
            ));
        }
        if train.n_cols >= EXACT {
            return Err(Error::param(
                "items",
                format!("{} items: ids must stay below {EXACT}", train.n_cols),
            ));
        }
        let o = TfidfOptions {
            sublinear_tf: params.sublinear_tf,
            min_df: params.min_df,
            max_df: params.max_df,
        };
        let (rows, _) = tfidf(docs, columns, &o);
        let pool = crate::pool::pool(params.threads)?;
        let neighbours = pool.install(|| all_pairs(&rows, None, params.k, None));
        Ok(ContentModel {
            params,
            neighbours,
            users: train.clone(),
        })
    }

    pub fn from_parts(
        params: impl IntoChecked<ContentParams>,
        neighbours: Csr,
        users: Csr,
    ) -> Result<Self> {
        let params = params.into_checked()?;
        users.validate()?;
        neighbours
            .validate()
            .map_err(|e| Error::Data(format!("neighbours: {e}")))?;
        if neighbours.n_rows != users.n_cols {
            return Err(Error::Data(format!(
                "neighbours: {} rows for {} items",
                neighbours.n_rows, users.n_cols
            )));
        }
        Ok(ContentModel {
            params,
            neighbours,
            users,
        })
    }
}

pub static TYPE: ModelType = ModelType {
    name: "content",
    doc: "Content similarity: TF-IDF (sublinear tf, min/max document frequency) over item text columns of a side file (items: { path, id, text }), cosine neighbours; scores sum the neighbour similarities of a user's items, so items without interactions can be recommended.",
    spec: SPEC,
    load: |params, mut arrays, n_users, n_items| {
        let p = ContentParams::from_raw(params.iter().map(|(k, v)| (k.as_str(), v.clone())))?;
        let neighbours = take_csr(&mut arrays, "neighbour", n_items, n_items)?;
        let users = take_csr(&mut arrays, "user", n_users, n_items)?;
        Ok(Box::new(ContentModel::from_parts(p, neighbours, users)?))
    },
    // Fitted in one step: nothing to resume.
    resume: None,
};

crate::models::knn::model::neighbour_recommender!(ContentModel);

impl Model for ContentModel {
    fn type_name(&self) -> &'static str {
        TYPE.name
    }
    fn params(&self) -> Vec<(&'static str, Value)> {
        self.params.to_values()
    }
    /// As knn: the neighbour lists and the training rows, counts and ids exact in float32.
    fn arrays(&self) -> Vec<NamedArray> {
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
