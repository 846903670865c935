//! From rows in files to a clean interaction log: duplicates, positive threshold, the value
//! each row carries, iterative minimum counts (k-core), dense re-indexing.

use std::path::{Path, PathBuf};

use super::ids::IdMap;
use super::read::{read_rows, ReadOptions};
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// Every kept row is a positive of weight 1.
    Binary,
    /// The rating itself.
    Rating,
    /// ln(1 + rating): play counts span six orders of magnitude.
    Log1p,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duplicates {
    Sum,
    Last,
}

#[derive(Clone, Debug)]
pub struct PrepareOptions {
    pub positive_threshold: Option<f32>,
    pub values: Values,
    pub duplicates: Duplicates,
    pub min_user_interactions: u32,
    pub min_item_interactions: u32,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            positive_threshold: None,
            values: Values::Binary,
            duplicates: Duplicates::Sum,
            min_user_interactions: 1,
            min_item_interactions: 1,
        }
    }
}

/// Which pre-split file a row came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    Train = 0,
    Valid = 1,
    Test = 2,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrepareStats {
    pub rows_read: usize,
    pub duplicates_merged: usize,
    pub below_threshold: usize,
    pub removed_by_min_counts: usize,
    pub users: usize,
    pub items: usize,
    pub rows: usize,
}

/// A clean interaction log in file order, over dense user and item indices.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub user_ids: IdMap,
    pub item_ids: IdMap,
    pub users: Vec<u32>,
    pub items: Vec<u32>,
    pub values: Vec<f32>,
    pub times: Option<Vec<i64>>,
    /// Set when the data came as pre-split files.
    pub parts: Option<Vec<Part>>,
    pub stats: PrepareStats,
}

struct Log {
    users: Vec<u32>,
    items: Vec<u32>,
    ratings: Vec<f32>,
    times: Option<Vec<i64>>,
    parts: Vec<Part>,
    /// (file, line) of each row, for messages.
    origin: Vec<(u8, u64)>,
}

impl Dataset {
    /// One file (`part` None) or pre-split files (each tagged), read into shared id maps.
    pub fn load(
        sources: &[(Option<Part>, PathBuf)],
        read: &ReadOptions,
        prep: &PrepareOptions,
    ) -> Result<Dataset> {
        if sources.is_empty() {
            return Err(Error::param("data", "no file given"));
        }
        let needs_rating = prep.positive_threshold.is_some() || prep.values != Values::Binary;
        let mut user_ids = IdMap::new();
        let mut item_ids = IdMap::new();
        let mut log = Log {
            users: Vec::new(),
            items: Vec::new(),
            ratings: Vec::new(),
            times: Some(Vec::new()),
            parts: Vec::new(),
            origin: Vec::new(),
        };
        for (f, (part, path)) in sources.iter().enumerate() {
            let rows = read_rows(path, read, &mut user_ids, &mut item_ids)?;
            match (&rows.ratings, needs_rating) {
                (Some(r), _) => log.ratings.extend_from_slice(r),
                (None, false) => log.ratings.extend(std::iter::repeat_n(1.0, rows.len())),
                (None, true) => {
                    return Err(Error::File {
                        path: path.clone(),
                        message: "positive_threshold and values: rating|log1p need a rating column, and this file has none (set data.columns.rating)".into(),
                    })
                }
            }
            match (&mut log.times, &rows.times) {
                (Some(t), Some(rt)) => t.extend_from_slice(rt),
                (t, _) => *t = None,
            }
            log.parts
                .extend(std::iter::repeat_n(part.unwrap_or(Part::Train), rows.len()));
            log.origin.extend(rows.lines.iter().map(|&l| (f as u8, l)));
            log.users.extend_from_slice(&rows.users);
            log.items.extend_from_slice(&rows.items);
        }
        let pre_split = sources.iter().any(|(p, _)| p.is_some());
        let paths: Vec<&Path> = sources.iter().map(|(_, p)| p.as_path()).collect();
        prepare(log, user_ids, item_ids, pre_split, prep, &paths)
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn n_users(&self) -> usize {
        self.user_ids.len()
    }

    pub fn n_items(&self) -> usize {
        self.item_ids.len()
    }

    /// An already-indexed log (from typed arrays); ids are the indices' decimal strings.
    pub fn from_indices(
        users: Vec<u32>,
        items: Vec<u32>,
        values: Vec<f32>,
        times: Option<Vec<i64>>,
    ) -> Result<Dataset> {
        let n = users.len();
        if items.len() != n || values.len() != n || times.as_ref().is_some_and(|t| t.len() != n) {
            return Err(Error::param(
                "interactions",
                "users, items, values and times must have the same length",
            ));
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::param(
                "values",
                format!("value {} at position {k} is not finite", values[k]),
            ));
        }
        let n_users = users.iter().max().map_or(0, |&m| m as usize + 1);
        let n_items = items.iter().max().map_or(0, |&m| m as usize + 1);
        let stats = PrepareStats {
            rows_read: n,
            users: n_users,
            items: n_items,
            rows: n,
            ..Default::default()
        };
        require_two(n_users, n_items)?;
        Ok(Dataset {
            user_ids: IdMap::from_ids((0..n_users).map(|i| i.to_string())).expect("distinct"),
            item_ids: IdMap::from_ids((0..n_items).map(|i| i.to_string())).expect("distinct"),
            users,
            items,
            values,
            times,
            parts: None,
            stats,
        })
    }
}

fn prepare(
    log: Log,
    user_ids: IdMap,
    item_ids: IdMap,
    pre_split: bool,
    prep: &PrepareOptions,
    paths: &[&Path],
) -> Result<Dataset> {
    let rows_read = log.users.len();
    let at = |k: usize| -> String {
        let (f, line) = log.origin[k];
        format!("{}:{line}", paths[f as usize].display())
    };

    // Duplicates of (part, user, item): group with a stable sort so "last" means last in file.
    let mut order: Vec<usize> = (0..rows_read).collect();
    order.sort_by_key(|&k| (log.parts[k], log.users[k], log.items[k]));
    let mut keep: Vec<usize> = Vec::with_capacity(rows_read);
    let mut rating = log.ratings.clone();
    let mut time = log.times.clone();
    let mut g = 0;
    while g < order.len() {
        let first = order[g];
        let mut end = g + 1;
        while end < order.len() {
            let k = order[end];
            if (log.parts[k], log.users[k], log.items[k])
                != (log.parts[first], log.users[first], log.items[first])
            {
                break;
            }
            end += 1;
        }
        let last = order[end - 1];
        if prep.duplicates == Duplicates::Sum && end - g > 1 {
            rating[last] = order[g..end].iter().map(|&k| log.ratings[k]).sum();
            if let (Some(t), Some(src)) = (time.as_mut(), log.times.as_ref()) {
                t[last] = order[g..end].iter().map(|&k| src[k]).max().unwrap();
            }
        }
        keep.push(last);
        g = end;
    }
    let duplicates_merged = rows_read - keep.len();
    keep.sort_unstable();

    let before = keep.len();
    if let Some(t) = prep.positive_threshold {
        keep.retain(|&k| rating[k] >= t);
    }
    let below_threshold = before - keep.len();

    let mut value = Vec::with_capacity(keep.len());
    for &k in &keep {
        let r = rating[k];
        value.push(match prep.values {
            Values::Binary => 1.0,
            Values::Rating | Values::Log1p if r < 0.0 => {
                return Err(Error::Data(format!(
                    "{}: rating {r} is negative; values: rating and log1p need ratings >= 0",
                    at(k)
                )))
            }
            Values::Rating => r,
            Values::Log1p => r.ln_1p(),
        });
    }

    // Minimum counts, repeated until stable: removing an item can push a user below its bound.
    let n_users = user_ids.len();
    let n_items = item_ids.len();
    let mut alive = vec![true; keep.len()];
    let mut user_ok = vec![true; n_users];
    let mut item_ok = vec![true; n_items];
    loop {
        let mut uc = vec![0u32; n_users];
        let mut ic = vec![0u32; n_items];
        for (j, &k) in keep.iter().enumerate() {
            // Pre-split data counts its training rows only: those are what a model learns from.
            if alive[j] && (!pre_split || log.parts[k] == Part::Train) {
                uc[log.users[k] as usize] += 1;
                ic[log.items[k] as usize] += 1;
            }
        }
        let mut changed = false;
        for (u, ok) in user_ok.iter_mut().enumerate() {
            if *ok && uc[u] < prep.min_user_interactions.max(1) {
                // A user only in valid/test of pre-split data stays, so evaluation can count it.
                if pre_split && prep.min_user_interactions <= 1 {
                    continue;
                }
                *ok = false;
                changed = true;
            }
        }
        for (i, ok) in item_ok.iter_mut().enumerate() {
            if *ok && ic[i] < prep.min_item_interactions.max(1) {
                // An item only in valid/test of pre-split data stays: it is a real (unreachable) hit.
                if pre_split && prep.min_item_interactions <= 1 {
                    continue;
                }
                *ok = false;
                changed = true;
            }
        }
        for (j, &k) in keep.iter().enumerate() {
            if alive[j] && (!user_ok[log.users[k] as usize] || !item_ok[log.items[k] as usize]) {
                alive[j] = false;
            }
        }
        if !changed {
            break;
        }
    }
    let removed_by_min_counts = alive.iter().filter(|a| !**a).count();

    let mut user_seen = vec![false; n_users];
    let mut item_seen = vec![false; n_items];
    for (j, &k) in keep.iter().enumerate() {
        if alive[j] {
            user_seen[log.users[k] as usize] = true;
            item_seen[log.items[k] as usize] = true;
        }
    }
    let (user_ids, user_remap) = user_ids.compact(&user_seen);
    let (item_ids, item_remap) = item_ids.compact(&item_seen);

    let mut ds = Dataset {
        user_ids,
        item_ids,
        times: time.as_ref().map(|_| Vec::new()),
        parts: pre_split.then(Vec::new),
        ..Default::default()
    };
    for (j, &k) in keep.iter().enumerate() {
        if !alive[j] {
            continue;
        }
        ds.users.push(user_remap[log.users[k] as usize]);
        ds.items.push(item_remap[log.items[k] as usize]);
        ds.values.push(value[j]);
        if let (Some(out), Some(t)) = (ds.times.as_mut(), time.as_ref()) {
            out.push(t[k]);
        }
        if let Some(p) = ds.parts.as_mut() {
            p.push(log.parts[k]);
        }
    }
    ds.stats = PrepareStats {
        rows_read,
        duplicates_merged,
        below_threshold,
        removed_by_min_counts,
        users: ds.user_ids.len(),
        items: ds.item_ids.len(),
        rows: ds.users.len(),
    };
    if ds.is_empty() {
        return Err(Error::Data(format!(
            "no interactions left after filtering ({rows_read} rows read, {below_threshold} below positive_threshold, {removed_by_min_counts} removed by min_user/min_item_interactions)"
        )));
    }
    require_two(ds.n_users(), ds.n_items())?;
    Ok(ds)
}

/// Collaborative filtering needs someone to collaborate with.
fn require_two(users: usize, items: usize) -> Result<()> {
    for (n, what) in [(users, "user"), (items, "item")] {
        if n < 2 {
            return Err(Error::Data(format!(
                "the data has {n} {what} after filtering; collaborative filtering needs at least 2"
            )));
        }
    }
    Ok(())
}
