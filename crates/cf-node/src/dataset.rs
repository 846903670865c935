use std::path::PathBuf;

use cf_core::data::prepare::{Dataset as Core, Duplicates, Part, PrepareOptions, Values};
use cf_core::data::read::{Column, Delimiter, ReadOptions};
use cf_core::data::split::{split, SplitStrategy};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::error::{invalid, to_napi, Result};
use crate::matrix::Matrix;

#[napi(object, object_to_js = false)]
pub struct LoadOptions {
    /// One file to split, or `train` (+ `valid`, `test`) pre-split files.
    pub path: Option<String>,
    pub train: Option<String>,
    pub valid: Option<String>,
    pub test: Option<String>,
    pub delimiter: Option<String>,
    pub header: Option<bool>,
    /// Column names (strings) or 0-based indices (numbers).
    pub user: Option<Either<String, f64>>,
    pub item: Option<Either<String, f64>>,
    pub rating: Option<Either<String, f64>>,
    pub time: Option<Either<String, f64>>,
    pub positive_threshold: Option<f64>,
    /// Rows rated at or below this are kept as explicit negatives (`negatives()`).
    pub negative_threshold: Option<f64>,
    pub values: Option<ValuesMode>,
    pub duplicates: Option<DuplicatesMode>,
    pub min_user_interactions: Option<f64>,
    pub min_item_interactions: Option<f64>,
    /// An item side file whose ids join the item map (items without interactions after the
    /// others), so a content model can recommend them.
    pub items: Option<ItemsFile>,
}

#[napi(object, object_to_js = false)]
pub struct ItemsFile {
    pub path: String,
    /// The id column's name.
    pub id: String,
}

/// What a kept row carries.
#[napi(string_enum = "lowercase")]
pub enum ValuesMode {
    /// 1 for every kept row.
    Binary,
    /// The rating itself.
    Rating,
    /// ln(1 + rating).
    Log1p,
}

/// What repeated (user, item) rows become.
#[napi(string_enum = "lowercase")]
pub enum DuplicatesMode {
    Sum,
    Last,
}

#[napi(string_enum = "kebab-case")]
pub enum Strategy {
    LeaveLastOut,
    Random,
    Time,
    None,
    Given,
}

#[napi(object, object_to_js = false)]
pub struct SplitOptions {
    pub strategy: Strategy,
    pub valid: Option<f64>,
    pub test: Option<f64>,
    pub seed: Option<f64>,
    pub valid_cutoff: Option<f64>,
    pub test_cutoff: Option<f64>,
}

#[napi(object)]
pub struct DatasetStats {
    pub rows_read: f64,
    pub duplicates_merged: f64,
    pub below_threshold: f64,
    pub removed_by_min_counts: f64,
    /// Rows kept as explicit negatives (negative_threshold).
    pub negatives: f64,
    /// Negatives whose user or item has no positive left.
    pub negatives_dropped: f64,
    pub users: u32,
    pub items: u32,
    pub rows: f64,
}

/// A clean interaction log with its id maps, read and filtered natively.
#[napi]
pub struct Dataset {
    inner: Core,
}

/// A k-core bound: a whole number >= 1 (default 1).
fn min_count(name: &str, v: Option<f64>) -> Result<u32> {
    v.map_or(Ok(1), |v| {
        cf_core::args::whole(name, v, 1, u32::MAX as u64).map(|n| n as u32)
    })
    .map_err(to_napi)
}

/// A column name, or a 0-based index checked whole and in range (as a u32, napi would wrap
/// -1 to 4294967295 and 2^32 to 0, and cut 1.5 to 1).
fn column(name: &str, c: &Option<Either<String, f64>>) -> Result<Option<Column>> {
    c.as_ref()
        .map(|c| match c {
            Either::A(n) => Ok(Column::Name(n.clone())),
            Either::B(i) => cf_core::args::whole(name, *i, 0, u32::MAX as u64)
                .map(|i| Column::Index(i as usize))
                .map_err(to_napi),
        })
        .transpose()
}

/// A file path as given; an empty one would be reported as "cannot read : no such file".
fn file(name: &str, p: &Option<String>) -> Result<()> {
    match p.as_deref() {
        Some("") => Err(invalid(name, "is an empty path; give a file")),
        _ => Ok(()),
    }
}

#[napi]
impl Dataset {
    #[napi(factory)]
    pub fn load(o: LoadOptions) -> Result<Dataset> {
        for (name, p) in [
            ("path", &o.path),
            ("train", &o.train),
            ("valid", &o.valid),
            ("test", &o.test),
        ] {
            file(name, p)?;
        }
        let sources: Vec<(Option<Part>, PathBuf)> = match (&o.path, &o.train) {
            (Some(p), None) => vec![(None, p.into())],
            (None, Some(t)) => [
                (Part::Train, Some(t)),
                (Part::Valid, o.valid.as_ref()),
                (Part::Test, o.test.as_ref()),
            ]
            .into_iter()
            .filter_map(|(part, p)| p.map(|p| (Some(part), PathBuf::from(p))))
            .collect(),
            _ => return Err(invalid("data", "give exactly one of path or train")),
        };
        let read = ReadOptions {
            delimiter: o
                .delimiter
                .as_deref()
                .map(Delimiter::parse)
                .transpose()
                .map_err(to_napi)?,
            header: o.header,
            user: column("user", &o.user)?,
            item: column("item", &o.item)?,
            rating: column("rating", &o.rating)?,
            time: column("time", &o.time)?,
        };
        let prep = PrepareOptions {
            positive_threshold: match o.positive_threshold {
                Some(t) if !t.is_finite() => {
                    return Err(invalid(
                        "positiveThreshold",
                        format!("must be a finite number (got {})", cf_core::args::show(t)),
                    ))
                }
                t => t.map(|t| t as f32),
            },
            negative_threshold: match o.negative_threshold {
                Some(t) if !t.is_finite() => {
                    return Err(invalid(
                        "negativeThreshold",
                        format!("must be a finite number (got {})", cf_core::args::show(t)),
                    ))
                }
                t => t.map(|t| t as f32),
            },
            values: match o.values {
                None | Some(ValuesMode::Binary) => Values::Binary,
                Some(ValuesMode::Rating) => Values::Rating,
                Some(ValuesMode::Log1p) => Values::Log1p,
            },
            duplicates: match o.duplicates {
                None | Some(DuplicatesMode::Sum) => Duplicates::Sum,
                Some(DuplicatesMode::Last) => Duplicates::Last,
            },
            min_user_interactions: min_count("minUserInteractions", o.min_user_interactions)?,
            min_item_interactions: min_count("minItemInteractions", o.min_item_interactions)?,
        };
        let mut inner = Core::load(&sources, &read, &prep).map_err(to_napi)?;
        if let Some(f) = &o.items {
            let ids =
                cf_core::models::content::text::read_item_ids(std::path::Path::new(&f.path), &f.id)
                    .map_err(to_napi)?;
            inner.add_items(ids.iter().map(String::as_str));
        }
        Ok(Dataset { inner })
    }

    /// From already-indexed arrays; ids become the indices' decimal strings.
    #[napi(factory)]
    pub fn from_arrays(
        users: Uint32Array,
        items: Uint32Array,
        values: Option<Float32Array>,
        times: Option<Float64Array>,
    ) -> Result<Dataset> {
        let vals = values
            .map(|v| v.to_vec())
            .unwrap_or_else(|| vec![1.0; users.len()]);
        // Beyond the 64-bit range a time would be clamped to its end, silently sorting last.
        if let Some((pos, x)) = times.as_ref().and_then(|t| {
            t.iter()
                .enumerate()
                .find(|(_, x)| !(x.is_finite() && x.abs() < 9.2e18))
        }) {
            return Err(invalid(
                "times",
                format!(
                    "value {} at position {pos} is not a finite time within the 64-bit range",
                    cf_core::args::show(*x)
                ),
            ));
        }
        let times = times.map(|t| t.iter().map(|&x| x as i64).collect());
        Core::from_indices(users.to_vec(), items.to_vec(), vals, times)
            .map(|inner| Dataset { inner })
            .map_err(to_napi)
    }

    #[napi(getter)]
    pub fn stats(&self) -> DatasetStats {
        let s = &self.inner.stats;
        DatasetStats {
            rows_read: s.rows_read as f64,
            duplicates_merged: s.duplicates_merged as f64,
            below_threshold: s.below_threshold as f64,
            removed_by_min_counts: s.removed_by_min_counts as f64,
            negatives: s.negatives as f64,
            negatives_dropped: s.negatives_dropped as f64,
            users: s.users as u32,
            items: s.items as u32,
            rows: s.rows as f64,
        }
    }

    /// The explicit negatives (rows at or below negativeThreshold) as a users x items matrix
    /// of ones, or null when the data was loaded without one.
    #[napi]
    pub fn negatives(&self) -> Result<Option<Matrix>> {
        Ok(self
            .inner
            .negatives_matrix()
            .map_err(to_napi)?
            .map(Matrix::wrap))
    }

    #[napi]
    pub fn user_ids(&self) -> Vec<String> {
        self.inner.user_ids.ids().map(String::from).collect()
    }

    #[napi]
    pub fn item_ids(&self) -> Vec<String> {
        self.inner.item_ids.ids().map(String::from).collect()
    }

    /// [train, valid | null, test | null]
    #[napi]
    pub fn split(&self, o: SplitOptions) -> Result<Vec<Option<Matrix>>> {
        let count = |v: Option<f64>, name: &str| -> Result<usize> {
            cf_core::args::count(name, v.unwrap_or(1.0), 0).map_err(to_napi)
        };
        let fraction = |v: Option<f64>, name: &str| -> Result<f64> {
            match v.unwrap_or(0.1) {
                f if (0.0..1.0).contains(&f) => Ok(f),
                f => Err(invalid(
                    name,
                    format!(
                        "must be a fraction in [0, 1) (got {})",
                        cf_core::args::show(f)
                    ),
                )),
            }
        };
        let cutoff = |v: f64, name: &str| -> Result<i64> {
            if v.is_finite() && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(invalid(
                    name,
                    format!(
                        "must be a finite time, less than 9e15 in size (got {})",
                        cf_core::args::show(v)
                    ),
                ))
            }
        };
        let seed = cf_core::args::whole("split.seed", o.seed.unwrap_or(42.0), 0, u32::MAX as u64)
            .map_err(to_napi)?;
        let strategy = match o.strategy {
            Strategy::LeaveLastOut => SplitStrategy::LeaveLastOut {
                valid: count(o.valid, "split.valid")?,
                test: count(o.test, "split.test")?,
            },
            Strategy::Random => SplitStrategy::Random {
                valid: fraction(o.valid, "split.valid")?,
                test: fraction(o.test, "split.test")?,
                seed,
            },
            Strategy::Time => SplitStrategy::Time {
                valid_cutoff: o
                    .valid_cutoff
                    .map(|t| cutoff(t, "split.valid_cutoff"))
                    .transpose()?,
                test_cutoff: cutoff(
                    o.test_cutoff.ok_or_else(|| {
                        invalid("split.test_cutoff", "is required for strategy time")
                    })?,
                    "split.test_cutoff",
                )?,
            },
            Strategy::None => SplitStrategy::None,
            Strategy::Given => SplitStrategy::Given,
        };
        let s = split(&self.inner, &strategy).map_err(to_napi)?;
        Ok(vec![
            Some(Matrix::wrap(s.train)),
            s.valid.map(Matrix::wrap),
            s.test.map(Matrix::wrap),
        ])
    }
}
