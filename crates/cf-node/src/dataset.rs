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
    pub user: Option<Either<String, u32>>,
    pub item: Option<Either<String, u32>>,
    pub rating: Option<Either<String, u32>>,
    pub time: Option<Either<String, u32>>,
    pub positive_threshold: Option<f64>,
    /// "binary" | "rating" | "log1p"
    pub values: Option<String>,
    /// "sum" | "last"
    pub duplicates: Option<String>,
    pub min_user_interactions: Option<u32>,
    pub min_item_interactions: Option<u32>,
}

#[napi(object, object_to_js = false)]
pub struct SplitOptions {
    /// "leave-last-out" | "random" | "time" | "none" | "given"
    pub strategy: String,
    pub valid: Option<f64>,
    pub test: Option<f64>,
    pub seed: Option<u32>,
    pub valid_cutoff: Option<f64>,
    pub test_cutoff: Option<f64>,
}

#[napi(object)]
pub struct DatasetStats {
    pub rows_read: f64,
    pub duplicates_merged: f64,
    pub below_threshold: f64,
    pub removed_by_min_counts: f64,
    pub users: u32,
    pub items: u32,
    pub rows: f64,
}

/// A clean interaction log with its id maps, read and filtered natively.
#[napi]
pub struct Dataset {
    inner: Core,
}

fn column(c: &Option<Either<String, u32>>) -> Option<Column> {
    c.as_ref().map(|c| match c {
        Either::A(name) => Column::Name(name.clone()),
        Either::B(i) => Column::Index(*i as usize),
    })
}

#[napi]
impl Dataset {
    #[napi(factory)]
    pub fn load(o: LoadOptions) -> Result<Dataset> {
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
            user: column(&o.user),
            item: column(&o.item),
            rating: column(&o.rating),
            time: column(&o.time),
        };
        let prep = PrepareOptions {
            positive_threshold: o.positive_threshold.map(|t| t as f32),
            values: match o.values.as_deref() {
                None | Some("binary") => Values::Binary,
                Some("rating") => Values::Rating,
                Some("log1p") => Values::Log1p,
                Some(v) => {
                    return Err(invalid(
                        "values",
                        format!("must be binary, rating or log1p (got {v:?})"),
                    ))
                }
            },
            duplicates: match o.duplicates.as_deref() {
                None | Some("sum") => Duplicates::Sum,
                Some("last") => Duplicates::Last,
                Some(v) => {
                    return Err(invalid(
                        "duplicates",
                        format!("must be sum or last (got {v:?})"),
                    ))
                }
            },
            min_user_interactions: o.min_user_interactions.unwrap_or(1),
            min_item_interactions: o.min_item_interactions.unwrap_or(1),
        };
        Core::load(&sources, &read, &prep)
            .map(|inner| Dataset { inner })
            .map_err(to_napi)
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
            users: s.users as u32,
            items: s.items as u32,
            rows: s.rows as f64,
        }
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
            let v = v.unwrap_or(1.0);
            if v < 0.0 || v.fract() != 0.0 {
                return Err(invalid(
                    name,
                    format!("must be a whole number >= 0 (got {v})"),
                ));
            }
            Ok(v as usize)
        };
        let strategy = match o.strategy.as_str() {
            "leave-last-out" => SplitStrategy::LeaveLastOut {
                valid: count(o.valid, "split.valid")?,
                test: count(o.test, "split.test")?,
            },
            "random" => SplitStrategy::Random {
                valid: o.valid.unwrap_or(0.1),
                test: o.test.unwrap_or(0.1),
                seed: o.seed.unwrap_or(42) as u64,
            },
            "time" => SplitStrategy::Time {
                valid_cutoff: o.valid_cutoff.map(|t| t as i64),
                test_cutoff: o
                    .test_cutoff
                    .ok_or_else(|| invalid("split.test_cutoff", "is required for strategy time"))?
                    as i64,
            },
            "none" => SplitStrategy::None,
            "given" => SplitStrategy::Given,
            s => return Err(invalid("split.strategy", format!("unknown strategy {s:?}"))),
        };
        let s = split(&self.inner, &strategy).map_err(to_napi)?;
        Ok(vec![
            Some(Matrix::wrap(s.train)),
            s.valid.map(Matrix::wrap),
            s.test.map(Matrix::wrap),
        ])
    }
}
