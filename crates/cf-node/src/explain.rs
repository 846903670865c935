//! Explanations for any model that has them (the core's `Recommender::explain`), and the
//! hybrid's split by part.

use cf_core::models::hybrid::HybridModel;
use cf_core::models::Recommender;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{invalid, to_napi, Result};
use crate::model::ModelHandle;

#[napi(object)]
pub struct Explanation {
    /// The item's score the contributions sum to (for ALS: its fold-in score).
    pub score: f64,
    /// The liked items that contributed most, largest first.
    pub items: Uint32Array,
    pub contributions: Float32Array,
}

fn explanation((score, parts): cf_core::models::explain::Explanation, k: usize) -> Explanation {
    let (items, contributions): (Vec<u32>, Vec<f32>) =
        cf_core::models::explain::top(parts, k).into_iter().unzip();
    Explanation {
        score: score as f64,
        items: Uint32Array::new(items),
        contributions: Float32Array::new(contributions),
    }
}

/// The liked items and values to explain from: a known user's training row (the filtered
/// rows, partial fits included), or the given list (values default to 1).
fn liked(
    model: &ModelHandle,
    user: Option<f64>,
    items: Option<Uint32Array>,
    values: Option<Float32Array>,
    n_users: usize,
) -> Result<(Option<usize>, Vec<u32>, Vec<f32>)> {
    match user {
        Some(u) => {
            let u = cf_core::args::index("user", u, n_users, "users").map_err(to_napi)? as usize;
            let seen = model.shared.seen();
            let rows = seen
                .as_ref()
                .ok_or_else(|| invalid("user", "the model has no training matrix to read the user's items from; pass items instead"))?
                .rows
                .to_csr();
            if u >= rows.n_rows {
                return Ok((Some(u), Vec::new(), Vec::new()));
            }
            let (i, v) = rows.row(u);
            Ok((Some(u), i.to_vec(), v.to_vec()))
        }
        None => {
            let ids: Vec<u32> = items.map(|a| a.to_vec()).unwrap_or_default();
            let vals = match values {
                Some(v) => v.to_vec(),
                None => vec![1.0; ids.len()],
            };
            Ok((None, ids, vals))
        }
    }
}

/// Why `item` scores what it does for a known `user` (a number) or, with `user` null, for
/// someone with `items` (and `values`): the `k` largest contributions of their liked items;
/// null for a model whose scores do not split by liked item.
#[napi(
    ts_args_type = "model: Model, user: number | null, items: Uint32Array | null, values: Float32Array | null, item: number, k: number"
)]
pub fn explain_item(
    model: &ModelHandle,
    user: Option<f64>,
    items: Option<Uint32Array>,
    values: Option<Float32Array>,
    item: f64,
    k: f64,
) -> Result<Option<Explanation>> {
    let (n_users, n_items) = {
        let m = model.shared.read();
        (m.n_users(), m.n_items())
    };
    let item = cf_core::args::index("item", item, n_items, "items").map_err(to_napi)?;
    let k = cf_core::args::count("k", k, 1).map_err(to_napi)?;
    let (_, ids, vals) = liked(model, user, items, values, n_users)?;
    let m = model.shared.read();
    Ok(m.explain(&ids, &vals, item)
        .map_err(to_napi)?
        .map(|e| explanation(e, k)))
}

#[napi(object)]
pub struct PartExplanation {
    pub name: String,
    pub r#type: String,
    pub weight: f64,
    /// The part's own score of the item (NaN where it does not rank it).
    pub raw: f64,
    /// That score on the blend's scale (NaN where it says nothing).
    pub scaled: f64,
    /// What it adds to the hybrid's score.
    pub contribution: f64,
    /// Its own split by liked item, where it has one.
    pub explanation: Option<Explanation>,
}

#[napi(object)]
pub struct HybridExplanation {
    pub score: f64,
    pub parts: Vec<PartExplanation>,
    /// The fallback part that answered, when no weighted part knows the user.
    pub fallback: Option<String>,
}

/// A hybrid's score of `item` split by part, each part's split by liked item (`k` largest).
#[napi(
    ts_args_type = "model: Model, user: number | null, items: Uint32Array | null, values: Float32Array | null, item: number, k: number"
)]
pub fn hybrid_explain(
    model: &ModelHandle,
    user: Option<f64>,
    items: Option<Uint32Array>,
    values: Option<Float32Array>,
    item: f64,
    k: f64,
) -> Result<HybridExplanation> {
    let n_users = model.shared.read().n_users();
    let k = cf_core::args::count("k", k, 1).map_err(to_napi)?;
    let (u, ids, vals) = liked(model, user, items, values, n_users)?;
    model
        .shared
        .with::<HybridModel, _>(cf_core::models::hybrid::TYPE.name, |h| {
            let item = cf_core::args::index("item", item, h.n_items(), "items")?;
            let (score, shares, fb) = h.explain_parts(u, &ids, &vals, item)?;
            Ok(HybridExplanation {
                score: score as f64,
                parts: shares
                    .into_iter()
                    .zip(&h.parts)
                    .map(|(s, p)| PartExplanation {
                        name: s.name,
                        r#type: cf_core::models::hybrid::part_type(p).to_string(),
                        weight: s.weight as f64,
                        raw: s.raw as f64,
                        scaled: s.scaled as f64,
                        contribution: s.contribution as f64,
                        explanation: s.explanation.map(|e| explanation(e, k)),
                    })
                    .collect(),
                fallback: fb.map(|f| h.parts[f].name.clone()),
            })
        })
        .map_err(to_napi)
}
