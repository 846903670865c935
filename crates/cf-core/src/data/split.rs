//! Train / validation / test splits of a prepared log, as CSR matrices over the same indices.

use super::csr::Csr;
use super::prepare::{Dataset, Part};
use crate::error::{Error, Result};
use crate::rng::SplitMix64;

#[derive(Clone, Debug, PartialEq)]
pub enum SplitStrategy {
    /// Per user, by time (file order breaks ties): the last `test` rows to test, the `valid`
    /// before them to validation. A user always keeps at least one training row.
    LeaveLastOut { valid: usize, test: usize },
    /// Per user, a seeded random fraction to validation and to test.
    Random { valid: f64, test: f64, seed: u64 },
    /// Global cutoffs (unix seconds): time >= test_cutoff to test, >= valid_cutoff to validation.
    Time {
        valid_cutoff: Option<i64>,
        test_cutoff: i64,
    },
    /// Pre-split files, used as given.
    Given,
    /// Everything is training data.
    None,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SplitStats {
    pub train_rows: usize,
    pub valid_rows: usize,
    pub test_rows: usize,
}

#[derive(Clone, Debug)]
pub struct Split {
    pub train: Csr,
    pub valid: Option<Csr>,
    pub test: Option<Csr>,
    pub stats: SplitStats,
}

const STREAM_SPLIT: u64 = 0x5311_7000;

pub fn split(ds: &Dataset, strategy: &SplitStrategy) -> Result<Split> {
    let part = assign_parts(ds, strategy)?;
    let train = part_matrix(ds, &part, Part::Train)?;
    if train.nnz() == 0 {
        return Err(Error::Split(format!(
            "the split leaves no training data ({} rows, all in validation or test); move the cutoffs or lower the fractions",
            ds.len()
        )));
    }
    let valid = part_matrix(ds, &part, Part::Valid)?;
    let test = part_matrix(ds, &part, Part::Test)?;
    let stats = SplitStats {
        train_rows: train.nnz(),
        valid_rows: valid.nnz(),
        test_rows: test.nnz(),
    };
    Ok(Split {
        train,
        valid: (valid.nnz() > 0).then_some(valid),
        test: (test.nnz() > 0).then_some(test),
        stats,
    })
}

/// The part of every row. Pre-split data carries its own parts, and only 'given' or 'none'
/// may use them: re-splitting would mix the files' test rows into training.
fn assign_parts(ds: &Dataset, strategy: &SplitStrategy) -> Result<Vec<Part>> {
    if let Some(given) = &ds.parts {
        return match strategy {
            SplitStrategy::Given | SplitStrategy::None => Ok(given.clone()),
            _ => Err(Error::Split(
                "the data comes as pre-split files; use split strategy 'none' (or omit split)"
                    .into(),
            )),
        };
    }
    match *strategy {
        SplitStrategy::Given => Err(Error::Split(
            "split strategy 'given' needs pre-split files (data.train / data.valid / data.test)"
                .into(),
        )),
        SplitStrategy::None => Ok(vec![Part::Train; ds.len()]),
        SplitStrategy::LeaveLastOut { valid, test } => Ok(leave_last_out(ds, valid, test)),
        SplitStrategy::Random { valid, test, seed } => random_parts(ds, valid, test, seed),
        SplitStrategy::Time {
            valid_cutoff,
            test_cutoff,
        } => time_parts(ds, valid_cutoff, test_cutoff),
    }
}

/// Each user's latest `test` rows to test and the `valid` before them to validation, capped
/// so the user keeps one training row: a user with no training row cannot be scored.
fn leave_last_out(ds: &Dataset, valid: usize, test: usize) -> Vec<Part> {
    let mut part = vec![Part::Train; ds.len()];
    for rows in rows_by_user(ds, true) {
        let len = rows.len();
        let n_test = test.min(len.saturating_sub(1));
        let n_valid = valid.min(len.saturating_sub(1 + n_test));
        for &k in &rows[len - n_test..] {
            part[k] = Part::Test;
        }
        for &k in &rows[len - n_test - n_valid..len - n_test] {
            part[k] = Part::Valid;
        }
    }
    part
}

/// Per user, a shuffled `test` fraction (rounded) to test and `valid` to validation. Each
/// user's shuffle has its own stream, so the split does not depend on other users' rows.
fn random_parts(ds: &Dataset, valid: f64, test: f64, seed: u64) -> Result<Vec<Part>> {
    let ok = |f: f64| (0.0..1.0).contains(&f);
    if !ok(valid) || !ok(test) || valid + test >= 1.0 {
        return Err(Error::param(
            "split",
            format!("random split fractions must be in [0, 1) with valid + test < 1 (got valid {valid}, test {test})"),
        ));
    }
    let mut part = vec![Part::Train; ds.len()];
    for (u, mut rows) in rows_by_user(ds, false).into_iter().enumerate() {
        SplitMix64::derive(seed, STREAM_SPLIT, u as u64).shuffle(&mut rows);
        let len = rows.len() as f64;
        let n_test = (test * len).round() as usize;
        let n_valid = ((valid * len).round() as usize).min(rows.len() - n_test);
        for &k in &rows[..n_test] {
            part[k] = Part::Test;
        }
        for &k in &rows[n_test..n_test + n_valid] {
            part[k] = Part::Valid;
        }
    }
    Ok(part)
}

/// Global cutoffs, the same instant for every user, as a deployment would see it.
fn time_parts(ds: &Dataset, valid_cutoff: Option<i64>, test_cutoff: i64) -> Result<Vec<Part>> {
    let Some(times) = &ds.times else {
        return Err(Error::Split(
            "split strategy 'time' needs a time column (data.columns.time)".into(),
        ));
    };
    if valid_cutoff.is_some_and(|v| v > test_cutoff) {
        return Err(Error::param(
            "split.valid_cutoff",
            "must not be after split.test_cutoff",
        ));
    }
    Ok(times
        .iter()
        .map(|&t| {
            if t >= test_cutoff {
                Part::Test
            } else if valid_cutoff.is_some_and(|v| t >= v) {
                Part::Valid
            } else {
                Part::Train
            }
        })
        .collect())
}

/// The rows of one part as a matrix over all users and items, so the parts share indices.
fn part_matrix(ds: &Dataset, part: &[Part], which: Part) -> Result<Csr> {
    let (mut u, mut i, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for (k, _) in part.iter().enumerate().filter(|&(_, &p)| p == which) {
        u.push(ds.users[k]);
        i.push(ds.items[k]);
        v.push(ds.values[k]);
    }
    Csr::from_coo(ds.n_users(), ds.n_items(), &u, &i, &v)
}

/// Row positions of each user, in file order, or by (time, file order) when `by_time`.
fn rows_by_user(ds: &Dataset, by_time: bool) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); ds.n_users()];
    for (k, &u) in ds.users.iter().enumerate() {
        out[u as usize].push(k);
    }
    if let (true, Some(t)) = (by_time, &ds.times) {
        for rows in &mut out {
            rows.sort_by_key(|&k| (t[k], k));
        }
    }
    out
}
