//! Explanations: why an item scores what it does for someone, as the contribution of each
//! item they liked. Models whose score is a sum over the liked items (kNN, content, EASE,
//! and ALS through its fold-in) split it exactly; the contributions sum to the score.

use crate::data::csr::Csr;
use crate::error::Result;

/// The score and each liked item's contribution (any order; see [`top`]).
pub type Explanation = (f32, Vec<(u32, f32)>);

/// The `k` largest contributions, largest first (ties: lower index).
pub fn top(mut parts: Vec<(u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    parts.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    parts.truncate(k);
    parts
}

/// For scores Σⱼ vⱼ sim(j, ·) over rows of `nb` (sorted by index): vⱼ sim(j, item) for each
/// liked item j that keeps `item` as a neighbour.
pub fn by_neighbours(nb: &Csr, items: &[u32], values: &[f32], item: u32) -> Explanation {
    let mut total = 0f32;
    let mut parts = Vec::new();
    for (&j, &v) in items.iter().zip(values) {
        let (js, sims) = nb.row(j as usize);
        if let Ok(p) = js.binary_search(&item) {
            let c = sims[p] * v;
            total += c;
            parts.push((j, c));
        }
    }
    (total, parts)
}

/// [`by_neighbours`] after checking the liked items against the model's items.
pub fn checked_by_neighbours(
    nb: &Csr,
    items: &[u32],
    values: &[f32],
    item: u32,
) -> Result<Explanation> {
    crate::topk::check_items(items, values, nb.n_rows)?;
    Ok(by_neighbours(nb, items, values, item))
}

/// Items with at least one kept neighbour: the ones a neighbour model can rank.
pub fn has_neighbours(nb: &Csr) -> Vec<bool> {
    (0..nb.n_rows).map(|i| nb.row_len(i) > 0).collect()
}
