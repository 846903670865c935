//! Lists and factor tables as Parquet, snappy-compressed as pyarrow, pandas and Spark write
//! by default, so any of them reads the files back without options.
//!
//! Both writers stream: rows are buffered up to a bounded row group and written out, so
//! memory stays bounded by a row group (and the caller's block), not by the file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, FloatType, Int32Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{Type, TypePtr};

use super::{ListColumns, ListRows, ListSink};
use crate::error::{Error, Result};

/// Rows per row group of a list file: large enough for readers to scan quickly (a group
/// costs a footer entry and a seek), small enough to keep the buffer to a few MiB.
const LIST_GROUP_ROWS: usize = 1 << 17;

/// Floats per row group of a factor table (4 MiB of values), whatever the rank.
const FACTOR_GROUP_VALUES: usize = 1 << 20;

fn io_err(path: &Path, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

fn create(path: &Path, schema: TypePtr) -> Result<SerializedFileWriter<BufWriter<File>>> {
    let file = File::create(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    SerializedFileWriter::new(BufWriter::new(file), schema, Arc::new(props))
        .map_err(|e| io_err(path, e))
}

fn finish(path: &Path, writer: SerializedFileWriter<BufWriter<File>>) -> Result<()> {
    let mut out = writer.into_inner().map_err(|e| io_err(path, e))?;
    out.flush().map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // On disk before the caller renames it into place (as the CSV and JSONL sinks do).
    out.get_ref().sync_all().map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn required(name: &str, physical: Physical, logical: Option<LogicalType>) -> Result<TypePtr> {
    Type::primitive_type_builder(name, physical)
        .with_repetition(Repetition::REQUIRED)
        .with_logical_type(logical)
        .build()
        .map(Arc::new)
        .map_err(|e| Error::param(name, format!("cannot be a Parquet column: {e}")))
}

fn message(fields: Vec<TypePtr>) -> Result<TypePtr> {
    Type::group_type_builder("schema")
        .with_fields(fields)
        .build()
        .map(Arc::new)
        .map_err(|e| Error::Data(format!("cannot build the Parquet schema: {e}")))
}

/// A list file (`<query>`, `rank`, `<item>`, `score`) written block by block.
pub struct ParquetListSink {
    path: PathBuf,
    writer: SerializedFileWriter<BufWriter<File>>,
    query: Vec<ByteArray>,
    rank: Vec<i32>,
    item: Vec<ByteArray>,
    score: Vec<f32>,
    rows: u64,
}

impl ParquetListSink {
    /// Creates (or truncates) `path`. `rank` is INT32, the ids UTF-8 strings, `score` FLOAT;
    /// every column is required (no nulls).
    pub fn create(path: &Path, columns: &ListColumns) -> Result<Self> {
        let names = [
            columns.query.as_str(),
            "rank",
            columns.item.as_str(),
            "score",
        ];
        for (i, a) in names.iter().enumerate() {
            if names[..i].contains(a) {
                return Err(Error::param(
                    "columns",
                    format!(
                        "the column name {a:?} is used twice in a list file ({})",
                        names.join(", ")
                    ),
                ));
            }
        }
        let schema = message(vec![
            required(
                &columns.query,
                Physical::BYTE_ARRAY,
                Some(LogicalType::String),
            )?,
            required("rank", Physical::INT32, None)?,
            required(
                &columns.item,
                Physical::BYTE_ARRAY,
                Some(LogicalType::String),
            )?,
            required("score", Physical::FLOAT, None)?,
        ])?;
        Ok(ParquetListSink {
            path: path.to_path_buf(),
            writer: create(path, schema)?,
            query: Vec::new(),
            rank: Vec::new(),
            item: Vec::new(),
            score: Vec::new(),
            rows: 0,
        })
    }

    fn flush_group(&mut self) -> Result<()> {
        if self.rank.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let err = |e| io_err(&path, e);
        let mut group = self.writer.next_row_group().map_err(err)?;
        let mut column = 0;
        while let Some(mut col) = group.next_column().map_err(err)? {
            match column {
                0 => col
                    .typed::<ByteArrayType>()
                    .write_batch(&self.query, None, None),
                1 => col.typed::<Int32Type>().write_batch(&self.rank, None, None),
                2 => col
                    .typed::<ByteArrayType>()
                    .write_batch(&self.item, None, None),
                _ => col
                    .typed::<FloatType>()
                    .write_batch(&self.score, None, None),
            }
            .map_err(err)?;
            col.close().map_err(err)?;
            column += 1;
        }
        group.close().map_err(err)?;
        self.rows += self.rank.len() as u64;
        self.query.clear();
        self.rank.clear();
        self.item.clear();
        self.score.clear();
        Ok(())
    }
}

impl ListSink for ParquetListSink {
    fn write_rows(&mut self, rows: &ListRows<'_>) -> Result<()> {
        let n = rows.rank.len();
        if rows.query.len() != n || rows.item.len() != n || rows.score.len() != n {
            return Err(Error::param(
                "rows",
                format!(
                    "a block's columns must have the same length (query {}, rank {n}, item {}, score {})",
                    rows.query.len(),
                    rows.item.len(),
                    rows.score.len()
                ),
            ));
        }
        if let Some(&r) = rows.rank.iter().find(|&&r| r > i32::MAX as u32) {
            return Err(Error::param(
                "rank",
                format!("{r} is beyond the INT32 column of a Parquet list file"),
            ));
        }
        self.query
            .extend(rows.query.iter().map(|&s| ByteArray::from(s)));
        self.rank.extend(rows.rank.iter().map(|&r| r as i32));
        self.item
            .extend(rows.item.iter().map(|&s| ByteArray::from(s)));
        self.score.extend_from_slice(&rows.score);
        if self.rank.len() >= LIST_GROUP_ROWS {
            self.flush_group()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<u64> {
        self.flush_group()?;
        let rows = self.rows;
        finish(&self.path, self.writer)?;
        Ok(rows)
    }
}

/// A factor table as Spark's ALS writes `userFactors` / `itemFactors`: one row per id, with
/// its `k` factors as a list of floats (Spark names that column `features`). `factors` holds
/// the rows one after another (`ids.len() * k` values). The file is written in row groups of
/// about FACTOR_GROUP_VALUES floats.
pub fn write_factors_parquet(path: &Path, ids: &[&str], factors: &[f32], k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::param("k", "must be at least 1"));
    }
    if ids.len().checked_mul(k) != Some(factors.len()) {
        return Err(Error::param(
            "factors",
            format!(
                "holds {} values, where {} ids of {k} factors need {}",
                factors.len(),
                ids.len(),
                ids.len().saturating_mul(k)
            ),
        ));
    }
    // The three-level LIST of the Parquet spec, which pyarrow and Spark read as
    // list<float>: `factors` (LIST) > repeated `list` > `element`.
    let element = required("element", Physical::FLOAT, None)?;
    let list = Type::group_type_builder("list")
        .with_repetition(Repetition::REPEATED)
        .with_fields(vec![element])
        .build()
        .map_err(|e| Error::Data(format!("cannot build the Parquet schema: {e}")))?;
    let factors_col = Type::group_type_builder("factors")
        .with_repetition(Repetition::REQUIRED)
        .with_logical_type(Some(LogicalType::List))
        .with_fields(vec![Arc::new(list)])
        .build()
        .map_err(|e| Error::Data(format!("cannot build the Parquet schema: {e}")))?;
    let schema = message(vec![
        required("id", Physical::BYTE_ARRAY, Some(LogicalType::String))?,
        Arc::new(factors_col),
    ])?;
    let mut writer = create(path, schema)?;
    let err = |e| io_err(path, e);
    let per_group = (FACTOR_GROUP_VALUES / k).max(1);
    // Every value is present (definition level 1); a row's first value starts a new list
    // (repetition level 0), the others continue it (1). Both patterns repeat each row.
    let defs = vec![1i16; per_group * k];
    let reps: Vec<i16> = (0..per_group * k).map(|j| i16::from(j % k != 0)).collect();
    for (g, chunk) in ids.chunks(per_group).enumerate() {
        let values = &factors[g * per_group * k..][..chunk.len() * k];
        let names: Vec<ByteArray> = chunk.iter().map(|&s| ByteArray::from(s)).collect();
        let mut group = writer.next_row_group().map_err(err)?;
        let mut column = 0;
        while let Some(mut col) = group.next_column().map_err(err)? {
            if column == 0 {
                col.typed::<ByteArrayType>().write_batch(&names, None, None)
            } else {
                let n = values.len();
                col.typed::<FloatType>()
                    .write_batch(values, Some(&defs[..n]), Some(&reps[..n]))
            }
            .map_err(err)?;
            col.close().map_err(err)?;
            column += 1;
        }
        group.close().map_err(err)?;
    }
    finish(path, writer)
}

#[cfg(test)]
mod tests;
