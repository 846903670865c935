//! From rows in files to a clean interaction log: duplicates, positive threshold, the value
//! each row carries, iterative minimum counts (k-core), dense re-indexing.

use std::path::{Path, PathBuf};

use super::ids::IdMap;
use super::read::{rows_from_bytes, ReadOptions, Rows};
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
    /// Rows rated at or below this are kept apart as explicit negatives (`Dataset::negatives`,
    /// what BPR's hard-negative mixer draws from) instead of being dropped. Needs
    /// `positive_threshold` above it: the rows in between are neither.
    pub negative_threshold: Option<f32>,
    pub values: Values,
    pub duplicates: Duplicates,
    pub min_user_interactions: u32,
    pub min_item_interactions: u32,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            positive_threshold: None,
            negative_threshold: None,
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
    /// Rows kept as explicit negatives (their user and item have a positive left).
    pub negatives: usize,
    /// Negatives whose user or item has no positive left after filtering: no model can use them.
    pub negatives_dropped: usize,
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
    /// Explicit negatives (user, item), sorted, over the same indices, when
    /// `negative_threshold` was set: rows of the training file only for pre-split data.
    pub negatives: Option<(Vec<u32>, Vec<u32>)>,
    pub stats: PrepareStats,
}

/// Every row of every file, concatenated in file order, before any filtering.
struct Log {
    users: Vec<u32>,
    items: Vec<u32>,
    ratings: Vec<f32>,
    /// None as soon as one file has no time column: a time split needs every row's time.
    times: Option<Vec<i64>>,
    parts: Vec<Part>,
    /// (file, line) of each row, for messages.
    origin: Vec<(usize, u64)>,
}

impl Log {
    fn new() -> Log {
        Log {
            users: Vec::new(),
            items: Vec::new(),
            ratings: Vec::new(),
            times: Some(Vec::new()),
            parts: Vec::new(),
            origin: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.users.len()
    }

    /// Append file number `file`'s rows. A file without a rating column gives every row weight
    /// 1, which is only right when nothing downstream reads the rating.
    fn append(
        &mut self,
        file: usize,
        part: Part,
        path: &Path,
        rows: &Rows,
        prep: &PrepareOptions,
    ) -> Result<()> {
        let needs_rating = prep.positive_threshold.is_some()
            || prep.negative_threshold.is_some()
            || prep.values != Values::Binary;
        match (&rows.ratings, needs_rating) {
            (Some(r), _) => {
                if prep.values == Values::Binary && prep.positive_threshold.is_none() {
                    refuse_non_positive(path, r, &rows.lines)?;
                }
                self.ratings.extend_from_slice(r)
            }
            (None, false) => self.ratings.extend(std::iter::repeat_n(1.0, rows.len())),
            (None, true) => {
                return Err(Error::File {
                    path: path.to_path_buf(),
                    message: "positive_threshold and values: rating|log1p need a rating column, and this file has none (set data.columns.rating)".into(),
                })
            }
        }
        match (&mut self.times, &rows.times) {
            (Some(t), Some(rt)) => t.extend_from_slice(rt),
            (t, _) => *t = None,
        }
        self.parts.extend(std::iter::repeat_n(part, rows.len()));
        self.origin.extend(rows.lines.iter().map(|&l| (file, l)));
        self.users.extend_from_slice(&rows.users);
        self.items.extend_from_slice(&rows.items);
        Ok(())
    }

    /// What makes two rows duplicates. The part is in it: the same pair in train and test
    /// of pre-split files is two facts, not one.
    fn key(&self, k: usize) -> (Part, u32, u32) {
        (self.parts[k], self.users[k], self.items[k])
    }
}

/// Under `values: binary` with no threshold every row becomes a positive of weight 1, so a
/// rating of 0 or below (a dislike, a "not interested", a zero play count) would silently turn
/// into a like. Such a file needs a threshold that says what a positive is, or the ratings
/// themselves as values; say so at the first such row.
fn refuse_non_positive(path: &Path, ratings: &[f32], lines: &[u64]) -> Result<()> {
    match ratings.iter().position(|&r| r <= 0.0) {
        Some(k) => Err(Error::Parse {
            path: path.to_path_buf(),
            line: lines[k],
            message: format!(
                "rating {} is not positive, and values: binary with no positive_threshold would count it as a positive; set positive_threshold (rows below it are dropped) or values: rating|log1p",
                ratings[k]
            ),
        }),
        None => Ok(()),
    }
}

impl Dataset {
    /// One file (`part` None) or pre-split files (each tagged), read into shared id maps.
    pub fn load(
        sources: &[(Option<Part>, PathBuf)],
        read: &ReadOptions,
        prep: &PrepareOptions,
    ) -> Result<Dataset> {
        Self::load_with(sources, read, prep, |path| {
            std::fs::read(path).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })
        })
    }

    /// `load` with each file's bytes (gzip or not) from `fetch` instead of the disk; the
    /// paths still name the files in errors. The fuzz targets (crates/cf-core/fuzz) enter here.
    pub fn load_with(
        sources: &[(Option<Part>, PathBuf)],
        read: &ReadOptions,
        prep: &PrepareOptions,
        mut fetch: impl FnMut(&Path) -> Result<Vec<u8>>,
    ) -> Result<Dataset> {
        if sources.is_empty() {
            return Err(Error::param("data", "no file given"));
        }
        check_thresholds(prep)?;
        let mut user_ids = IdMap::new();
        let mut item_ids = IdMap::new();
        let mut log = Log::new();
        for (f, (part, path)) in sources.iter().enumerate() {
            let rows = rows_from_bytes(path, fetch(path)?, read, &mut user_ids, &mut item_ids)?;
            log.append(f, part.unwrap_or(Part::Train), path, &rows, prep)?;
        }
        let pre_split = sources.iter().any(|(p, _)| p.is_some());
        let paths: Vec<&Path> = sources.iter().map(|(_, p)| p.as_path()).collect();
        prepare(log, user_ids, item_ids, pre_split, prep, &paths)
    }

    /// Adds the ids not yet in the item map as items without interactions, after the others
    /// (an item side file's items nobody interacted with: content models can still recommend
    /// them). Returns how many were new.
    pub fn add_items<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) -> usize {
        let before = self.item_ids.len();
        for id in ids {
            self.item_ids.intern(id);
        }
        self.stats.items = self.item_ids.len();
        self.item_ids.len() - before
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
                format!(
                    "value {} at position {k} is not finite",
                    crate::args::show32(values[k])
                ),
            ));
        }
        let n_users = id_space("users", &users)?;
        let n_items = id_space("items", &items)?;
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
            negatives: None,
            stats,
        })
    }

    /// The explicit negatives as a users x items matrix of ones (None without
    /// `negative_threshold`).
    pub fn negatives_matrix(&self) -> Result<Option<crate::data::csr::Csr>> {
        self.negatives
            .as_ref()
            .map(|(u, i)| {
                crate::data::csr::Csr::from_coo(
                    self.n_users(),
                    self.n_items(),
                    u,
                    i,
                    &vec![1.0; u.len()],
                )
            })
            .transpose()
    }
}

/// Filters in a fixed order, each stage counted in the stats: duplicates are merged first (so
/// a threshold sees the summed rating), then the threshold, then values, then minimum counts
/// over what is left, and last the id maps are compacted to the ids that still have a row.
fn prepare(
    log: Log,
    user_ids: IdMap,
    item_ids: IdMap,
    pre_split: bool,
    prep: &PrepareOptions,
    paths: &[&Path],
) -> Result<Dataset> {
    let rows_read = log.len();
    let mut merged = merge_duplicates(&log, prep.duplicates);
    let duplicates_merged = rows_read - merged.keep.len();

    // Negatives are picked before the positive threshold drops them, from the merged rows
    // (so a summed rating decides), and only from training rows of pre-split data: a dislike
    // in a test file is something the model must not know.
    let disliked: Vec<usize> = match prep.negative_threshold {
        Some(t) => merged
            .keep
            .iter()
            .copied()
            .filter(|&k| merged.rating[k] <= t && (!pre_split || log.parts[k] == Part::Train))
            .collect(),
        None => Vec::new(),
    };
    let before = merged.keep.len();
    if let Some(t) = prep.positive_threshold {
        merged.keep.retain(|&k| merged.rating[k] >= t);
    }
    let below_threshold = before - merged.keep.len();

    let value = row_values(&log, &merged, prep.values, paths)?;
    let alive = min_counts(
        &log,
        &merged.keep,
        (user_ids.len(), item_ids.len()),
        pre_split,
        prep,
    );
    let removed_by_min_counts = alive.iter().filter(|a| !**a).count();

    let (mut ds, remaps) = assemble(&log, &merged, &alive, &value, user_ids, item_ids, pre_split);
    let (negatives, negatives_dropped) = match prep.negative_threshold {
        Some(_) => {
            let (pairs, dropped) = remap_negatives(&log, &disliked, &remaps);
            (Some(pairs), dropped)
        }
        None => (None, 0),
    };
    let n_negatives = negatives.as_ref().map_or(0, |(u, _)| u.len());
    ds.negatives = negatives;
    ds.stats = PrepareStats {
        rows_read,
        duplicates_merged,
        below_threshold,
        removed_by_min_counts,
        negatives: n_negatives,
        negatives_dropped,
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

/// The rows that survive duplicate merging.
struct Merged {
    /// Log positions of the kept rows, in file order.
    keep: Vec<usize>,
    /// Rating per log position; a kept row of a merged group holds the group's result.
    rating: Vec<f32>,
    /// Time per log position, like `rating`.
    time: Option<Vec<i64>>,
}

/// One row per (part, user, item). Each group keeps its last row's position, so a merged
/// interaction sits where its latest occurrence was; `Sum` adds the ratings and takes the
/// latest time, `Last` keeps the last row as it is.
fn merge_duplicates(log: &Log, how: Duplicates) -> Merged {
    // A stable sort keeps file order inside a group, so "last" means last in the file.
    let mut order: Vec<usize> = (0..log.len()).collect();
    order.sort_by_key(|&k| log.key(k));
    let mut merged = Merged {
        keep: Vec::with_capacity(order.len()),
        rating: log.ratings.clone(),
        time: log.times.clone(),
    };
    for group in order.chunk_by(|&a, &b| log.key(a) == log.key(b)) {
        let last = *group.last().expect("chunks are not empty");
        if how == Duplicates::Sum && group.len() > 1 {
            merged.rating[last] = group.iter().map(|&k| log.ratings[k]).sum();
            if let (Some(t), Some(src)) = (merged.time.as_mut(), log.times.as_ref()) {
                t[last] = group.iter().map(|&k| src[k]).max().unwrap();
            }
        }
        merged.keep.push(last);
    }
    merged.keep.sort_unstable();
    merged
}

/// The value each kept row carries (indexed like `merged.keep`).
fn row_values(log: &Log, merged: &Merged, values: Values, paths: &[&Path]) -> Result<Vec<f32>> {
    merged
        .keep
        .iter()
        .map(|&k| {
            let r = merged.rating[k];
            Ok(match values {
                Values::Binary => 1.0,
                // Each rating is finite, but duplicates summed in f32 can overflow; an infinite
                // weight would poison every sum downstream (the split refuses it, far from here).
                Values::Rating | Values::Log1p if !r.is_finite() => {
                    let (f, line) = log.origin[k];
                    return Err(Error::Data(format!(
                        "{}:{line}: the ratings of this row's user and item sum to {} (duplicates: sum), beyond a 32-bit float; use duplicates: last or smaller ratings",
                        paths[f].display(),
                        crate::args::show(f64::from(r))
                    )));
                }
                // A negative weight would make a confidence (ALS) or a log undefined.
                Values::Rating | Values::Log1p if r < 0.0 => {
                    let (f, line) = log.origin[k];
                    return Err(Error::Data(format!(
                        "{}:{line}: rating {r} is negative; values: rating and log1p need ratings >= 0",
                        paths[f].display()
                    )));
                }
                Values::Rating => r,
                Values::Log1p => r.ln_1p(),
            })
        })
        .collect()
}

/// Which kept rows survive the minimum user and item counts (indexed like `keep`). Repeated
/// until stable: removing an item can push a user below its bound, and so on (k-core).
fn min_counts(
    log: &Log,
    keep: &[usize],
    (n_users, n_items): (usize, usize),
    pre_split: bool,
    prep: &PrepareOptions,
) -> Vec<bool> {
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
        let users_dropped = drop_below(&mut user_ok, &uc, prep.min_user_interactions, pre_split);
        let items_dropped = drop_below(&mut item_ok, &ic, prep.min_item_interactions, pre_split);
        for (j, &k) in keep.iter().enumerate() {
            if alive[j] && (!user_ok[log.users[k] as usize] || !item_ok[log.items[k] as usize]) {
                alive[j] = false;
            }
        }
        if !users_dropped && !items_dropped {
            return alive;
        }
    }
}

/// Clears `ok` for ids counted below `min`; true when any was cleared.
fn drop_below(ok: &mut [bool], counts: &[u32], min: u32, pre_split: bool) -> bool {
    // Without a bound, an id that is only in valid/test of pre-split data stays: evaluation
    // counts it (a user to score, or a real if unreachable hit).
    if pre_split && min <= 1 {
        return false;
    }
    let mut changed = false;
    for (ok, &c) in ok.iter_mut().zip(counts) {
        if *ok && c < min.max(1) {
            *ok = false;
            changed = true;
        }
    }
    changed
}

/// Old -> new user and item indices (u32::MAX for an id that left the maps).
type Remaps = (Vec<u32>, Vec<u32>);

/// The negatives over the final indices, sorted by (user, item); those whose user or item
/// left the maps (no positive survived) are dropped and counted.
fn remap_negatives(
    log: &Log,
    disliked: &[usize],
    (users, items): &Remaps,
) -> ((Vec<u32>, Vec<u32>), usize) {
    let mut pairs: Vec<(u32, u32)> = disliked
        .iter()
        .map(|&k| (users[log.users[k] as usize], items[log.items[k] as usize]))
        .filter(|&(u, i)| u != u32::MAX && i != u32::MAX)
        .collect();
    let dropped = disliked.len() - pairs.len();
    pairs.sort_unstable();
    (pairs.into_iter().unzip(), dropped)
}

/// The surviving rows over dense indices: ids without a surviving row leave the maps, and
/// the rest are renumbered in their first-seen order.
fn assemble(
    log: &Log,
    merged: &Merged,
    alive: &[bool],
    value: &[f32],
    user_ids: IdMap,
    item_ids: IdMap,
    pre_split: bool,
) -> (Dataset, Remaps) {
    let survivors = || merged.keep.iter().enumerate().filter(|&(j, _)| alive[j]);
    let mut user_seen = vec![false; user_ids.len()];
    let mut item_seen = vec![false; item_ids.len()];
    for (_, &k) in survivors() {
        user_seen[log.users[k] as usize] = true;
        item_seen[log.items[k] as usize] = true;
    }
    let (user_ids, user_remap) = user_ids.compact(&user_seen);
    let (item_ids, item_remap) = item_ids.compact(&item_seen);

    let mut ds = Dataset {
        user_ids,
        item_ids,
        times: merged.time.as_ref().map(|_| Vec::new()),
        parts: pre_split.then(Vec::new),
        ..Default::default()
    };
    for (j, &k) in survivors() {
        ds.users.push(user_remap[log.users[k] as usize]);
        ds.items.push(item_remap[log.items[k] as usize]);
        ds.values.push(value[j]);
        if let (Some(out), Some(t)) = (ds.times.as_mut(), merged.time.as_ref()) {
            out.push(t[k]);
        }
        if let Some(p) = ds.parts.as_mut() {
            p.push(log.parts[k]);
        }
    }
    (ds, (user_remap, item_remap))
}

/// A negative threshold only means something below a positive one: between them lie the
/// ratings that are neither.
fn check_thresholds(prep: &PrepareOptions) -> Result<()> {
    match (prep.negative_threshold, prep.positive_threshold) {
        (None, _) => Ok(()),
        (Some(n), _) if !n.is_finite() => Err(Error::param(
            "negative_threshold",
            format!("must be a finite number (got {n})"),
        )),
        (Some(_), None) => Err(Error::param(
            "negative_threshold",
            "needs positive_threshold (what a positive is), above it",
        )),
        (Some(n), Some(p)) if n >= p => Err(Error::param(
            "negative_threshold",
            format!("{n} must be below positive_threshold {p}: a row cannot be both a like and a dislike"),
        )),
        _ => Ok(()),
    }
}

/// What one id of `from_indices` costs: its decimal string, kept in the id list and the
/// lookup table, with their allocations and bookkeeping (roughly; the exact figure depends
/// on the allocator).
const BYTES_PER_ID: usize = 96;

/// How many ids `from_indices` makes for `indices`: every index up to the largest, since ids
/// are the indices. They are checked to fit in memory before any is made: a stray 2^32 - 1
/// would otherwise build four billion strings for minutes and then exhaust memory.
fn id_space(name: &str, indices: &[u32]) -> Result<usize> {
    // The first position of the largest index (max_by_key keeps the last of equals).
    let Some((pos, &max)) = indices.iter().enumerate().rev().max_by_key(|&(_, &v)| v) else {
        return Ok(0);
    };
    let n = max as usize + 1;
    let bytes = n.saturating_mul(BYTES_PER_ID);
    if Vec::<u8>::new().try_reserve_exact(bytes).is_err() {
        return Err(Error::param(
            name,
            format!(
                "index {max} at position {pos} makes {n} ids (every index up to the largest), which need about {} MiB, more memory than there is; pass dense indices 0..n",
                bytes >> 20
            ),
        ));
    }
    Ok(n)
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
