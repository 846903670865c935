//! Every query's ranked list, scored a chunk of queries at a time and handed to a
//! [`ListSink`]: recommendations for users (`write_recommendations`) and similar items
//! (`write_similar_items`). Memory is bounded by two chunks (`CHUNK` queries x k entries),
//! whatever the number of queries; ids become original ids here, so no caller loops over
//! rows. Arguments are checked before `open` creates the file, so a bad one leaves nothing
//! on disk.

use crate::error::{Error, Result};
use crate::export::{ListRows, ListSink};
use crate::models::Recommender;
use crate::topk::{self, SeenItems};

/// Queries scored and written per step: large enough to keep every thread busy, small
/// enough that a chunk's lists (CHUNK x k entries) stay a few megabytes.
pub const CHUNK: usize = 4096;

/// Told (done, total) after each chunk (and once before the first); returning false stops
/// the export with `Error::Cancelled`.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64) -> bool;

/// The original ids of the model's rows and columns; `None` labels a row by its index.
#[derive(Clone, Copy, Default)]
pub struct Ids<'a> {
    pub users: Option<&'a [String]>,
    pub items: Option<&'a [String]>,
}

/// `ids` when given (one per row, checked), else the indices as text.
fn labels<'a>(
    ids: Option<&'a [String]>,
    n: usize,
    arg: &str,
    what: &str,
) -> Result<std::borrow::Cow<'a, [String]>> {
    match ids {
        Some(ids) if ids.len() == n => Ok(ids.into()),
        Some(ids) => Err(Error::param(
            arg,
            format!("has {} ids, the model {n} {what}", ids.len()),
        )),
        None => Ok((0..n).map(|i| i.to_string()).collect::<Vec<_>>().into()),
    }
}

/// The queries to write: all of them, or the given indices, each checked against `n`.
fn queries(given: Option<&[u32]>, n: usize, arg: &str, what: &str) -> Result<Vec<u32>> {
    let Some(q) = given else {
        return Ok((0..n as u32).collect());
    };
    if let Some(pos) = q.iter().position(|&i| i as usize >= n) {
        return Err(Error::param(
            arg,
            format!(
                "index {} at position {pos} is out of range (model has {n} {what})",
                q[pos]
            ),
        ));
    }
    Ok(q.to_vec())
}

/// One list per query of a chunk, best first.
type Lists = Vec<Vec<(u32, f32)>>;

/// Rows for one chunk: `lists[j]` is the list of `chunk[j]`.
fn write_chunk(
    sink: &mut dyn ListSink,
    chunk: &[u32],
    lists: Lists,
    (query_labels, item_labels): (&[String], &[String]),
) -> Result<()> {
    let mut rows = ListRows {
        query: Vec::new(),
        rank: Vec::new(),
        item: Vec::new(),
        score: Vec::new(),
    };
    for (&q, list) in chunk.iter().zip(lists) {
        for (r, (item, score)) in list.into_iter().enumerate() {
            rows.query.push(&query_labels[q as usize]);
            rows.rank.push(r as u32 + 1);
            rows.item.push(&item_labels[item as usize]);
            rows.score.push(score);
        }
    }
    sink.write_rows(&rows)
}

/// Score the queries chunk by chunk and write each chunk's lists; returns the rows written.
/// The sink writes chunk n on one thread while the pool scores chunk n + 1, so the file is
/// written as fast as the lists come and memory holds two chunks.
fn run(
    queries: &[u32],
    open: impl FnOnce() -> Result<Box<dyn ListSink>>,
    progress: Progress<'_>,
    labels: (&[String], &[String]),
    score: impl Fn(&[u32]) -> Result<Lists> + Sync,
) -> Result<u64> {
    let mut sink = open()?;
    let total = queries.len() as u64;
    if !progress(0, total) {
        return Err(Error::Cancelled);
    }
    let mut chunks = queries.chunks(CHUNK);
    let mut pending = match chunks.next() {
        Some(c) => Some((c, score(c)?)),
        None => None,
    };
    let mut done = 0u64;
    while let Some((chunk, lists)) = pending.take() {
        let next = chunks.next();
        let sink = &mut *sink;
        let (written, scored) = rayon::join(
            || write_chunk(sink, chunk, lists, labels),
            || next.map(|c| score(c).map(|l| (c, l))).transpose(),
        );
        written?;
        done += chunk.len() as u64;
        if !progress(done, total) {
            return Err(Error::Cancelled);
        }
        pending = scored?;
    }
    sink.finish()
}

/// Each user's top `k` (capped at the items there are; fewer when the filter leaves fewer),
/// items of every `exclude` source left out; `users` None means every user of the model.
pub fn write_recommendations(
    model: &dyn Recommender,
    users: Option<&[u32]>,
    k: usize,
    exclude: &[&dyn SeenItems],
    ids: Ids<'_>,
    open: impl FnOnce() -> Result<Box<dyn ListSink>>,
    progress: Progress<'_>,
) -> Result<u64> {
    topk::check_k(k, model.n_items())?;
    let users = queries(users, model.n_users(), "users", "users")?;
    let user_labels = labels(ids.users, model.n_users(), "userIds", "users")?;
    let item_labels = labels(ids.items, model.n_items(), "itemIds", "items")?;
    run(
        &users,
        open,
        progress,
        (&user_labels, &item_labels),
        |chunk| {
            let (items, scores) = topk::recommend_batch(model, chunk, k, exclude)?;
            // Rows are k.min(n_items) wide, padded with u32::MAX where fewer items remain.
            let width = items.len() / chunk.len().max(1);
            Ok((0..chunk.len())
                .map(|j| {
                    let row = j * width..(j + 1) * width;
                    items[row.clone()]
                        .iter()
                        .zip(&scores[row])
                        .filter(|(&i, _)| i != u32::MAX)
                        .map(|(&i, &s)| (i, s))
                        .collect()
                })
                .collect())
        },
    )
}

/// Each item's `k` most similar items (itself left out); `items` None means every item.
pub fn write_similar_items(
    model: &dyn Recommender,
    items: Option<&[u32]>,
    k: usize,
    item_ids: Option<&[String]>,
    open: impl FnOnce() -> Result<Box<dyn ListSink>>,
    progress: Progress<'_>,
) -> Result<u64> {
    topk::check_k(k, model.n_items())?;
    let items = queries(items, model.n_items(), "items", "items")?;
    let item_labels = labels(item_ids, model.n_items(), "itemIds", "items")?;
    // A model without item similarity (popularity) says so before any file is created.
    if let Some(&first) = items.first() {
        topk::similar_items(model, first, k)?;
    }
    run(
        &items,
        open,
        progress,
        (&item_labels, &item_labels),
        |chunk| {
            // One batch per chunk: the item norms are computed once, not once per item.
            let l = topk::similar(
                model,
                topk::Side::Items,
                chunk,
                topk::Measure::Cosine,
                &topk::Request::new(k),
            )?;
            Ok((0..chunk.len()).map(|r| l.pairs(r)).collect())
        },
    )
}
