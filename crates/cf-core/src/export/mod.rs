//! Ranked lists written to files (`cf-native recommend` / `cf-native similar`): one row per
//! (query, rank) in long format, so every format reads back as the same table:
//! `<query>` (original id), `rank` (1 = best), `<item>` (original id), `score`.
//!
//! Writers stream: the caller hands over blocks of rows and memory stays bounded by the
//! block, whatever the number of queries. A writer writes to the path it is given; making
//! the file appear atomically (temp name, then rename) is the caller's business.

use crate::error::Result;

/// Column names of a list file: `user`/`item` for recommendations, `item`/`similar_item`
/// for similar-item lists.
#[derive(Clone, Debug)]
pub struct ListColumns {
    pub query: String,
    pub item: String,
}

/// A block of rows, all columns the same length.
pub struct ListRows<'a> {
    pub query: Vec<&'a str>,
    pub rank: Vec<u32>,
    pub item: Vec<&'a str>,
    pub score: Vec<f32>,
}

/// A file being written, block by block.
pub trait ListSink: Send {
    fn write_rows(&mut self, rows: &ListRows<'_>) -> Result<()>;
    /// Flush and close; returns the number of rows written.
    fn finish(self: Box<Self>) -> Result<u64>;
}

pub mod csv;
pub mod jsonl;
pub mod lists;
pub mod parquet;
pub mod spark;

use std::fs::File;
use std::path::Path;

use crate::error::Error;

/// The file formats a list can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
    Parquet,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Csv, Format::Jsonl, Format::Parquet];

    /// The name the API takes (`format: 'csv'`), also the file extension.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Parquet => "parquet",
        }
    }

    fn known(prefix: &str) -> String {
        Format::ALL
            .iter()
            .map(|f| format!("{prefix}{}", f.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The format called `name` (case-insensitive); `arg` names the argument in errors.
    pub fn from_name(arg: &str, name: &str) -> Result<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Error::param(
                    arg,
                    format!("unknown format {name:?} (known: {})", Format::known("")),
                )
            })
    }

    /// The format a path's extension names (`recs.csv`, `RECS.JSONL`); `arg` names the
    /// argument in errors.
    pub fn from_path(arg: &str, path: &Path) -> Result<Format> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(ext))
            .ok_or_else(|| {
                let got = if ext.is_empty() {
                    "has no extension".to_string()
                } else {
                    format!("has the unknown extension .{ext}")
                };
                Error::param(
                    arg,
                    format!(
                        "{} {got}; the format comes from it (known: {})",
                        path.display(),
                        Format::known(".")
                    ),
                )
            })
    }
}

/// A writer of `format` creating `path` (truncating what is there).
pub fn open_sink(path: &Path, format: Format, columns: &ListColumns) -> Result<Box<dyn ListSink>> {
    Ok(match format {
        Format::Csv => Box::new(csv::CsvListSink::create(path, columns)?),
        Format::Jsonl => Box::new(jsonl::JsonlListSink::create(path, columns)?),
        Format::Parquet => Box::new(parquet::ParquetListSink::create(path, columns)?),
    })
}

/// Flush the file to disk before the caller renames it into place, so a crash right after
/// the rename cannot leave a complete name over incomplete data.
fn sync(path: &Path, file: &File) -> Result<()> {
    file.sync_all().map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
