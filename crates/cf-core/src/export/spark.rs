//! The Parquet tables of Apache Spark's ALS: what a Spark job reads (the training
//! interactions, keyed by integer ids) and what `ALSModel.save` writes and `ALSModel.load`
//! reads (`userFactors/`, `itemFactors/`: `id: int`, `features: array<float>`).
//!
//! Spark's own writer emits, for a `(Int, Array[Float])` table,
//! `required int32 id; optional group features (LIST) { repeated group list { required float element; } }`,
//! and reads a folder of `part-*.parquet` files (names starting with `_` or `.` are
//! skipped, as Hadoop's listing skips them). Both are mirrored here.
//!
//! Reading goes through the `parquet` crate's record API under `catch_unwind`, as the
//! interaction reader does (data/parquet.rs): its decoder can panic on corrupt input.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{FloatType, Int32Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::{Field, ListAccessor, RowAccessor};
use parquet::schema::types::{Type, TypePtr};

use crate::error::{Error, Result};

/// Floats per row group of a factor table (4 MiB of values), whatever the rank.
const FACTOR_GROUP_VALUES: usize = 1 << 20;
/// Rows per row group of an interaction table: Spark plans one task per row group or
/// so, so a few groups per file let `local[N]` and a cluster read it in parallel.
const INTERACTION_GROUP_ROWS: usize = 1 << 20;

fn file_err(path: &Path, message: impl Into<String>) -> Error {
    Error::File {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn write_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

fn schema_err(e: impl std::fmt::Display) -> Error {
    Error::Data(format!("cannot build the Parquet schema: {e}"))
}

fn primitive(name: &str, physical: Physical, rep: Repetition) -> Result<TypePtr> {
    Type::primitive_type_builder(name, physical)
        .with_repetition(rep)
        .build()
        .map(Arc::new)
        .map_err(schema_err)
}

/// Spark names the root `spark_schema`; readers do not care, but the files then look alike.
fn message(fields: Vec<TypePtr>) -> Result<TypePtr> {
    Type::group_type_builder("spark_schema")
        .with_fields(fields)
        .build()
        .map(Arc::new)
        .map_err(schema_err)
}

type Writer = SerializedFileWriter<BufWriter<File>>;

fn create(path: &Path, schema: TypePtr) -> Result<Writer> {
    let file = File::create(path).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    SerializedFileWriter::new(BufWriter::new(file), schema, Arc::new(props))
        .map_err(|e| write_err(path, e))
}

fn finish(path: &Path, writer: Writer) -> Result<()> {
    let mut out = writer.into_inner().map_err(|e| write_err(path, e))?;
    out.flush().map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })?;
    // On disk before the caller publishes the folder it belongs to.
    out.get_ref().sync_all().map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// A factor table as Spark's `ALSModel.save` writes it: row `r` of `factors` (`k` values
/// each) gets the integer id `first_id + r`.
pub fn write_spark_factors(path: &Path, factors: &[f32], k: usize, first_id: i32) -> Result<()> {
    if k == 0 {
        return Err(Error::param("k", "must be at least 1"));
    }
    if factors.len() % k != 0 {
        return Err(Error::param(
            "factors",
            format!(
                "holds {} values, not a whole number of rows of {k}",
                factors.len()
            ),
        ));
    }
    let rows = factors.len() / k;
    if rows as i64 + first_id as i64 - 1 > i32::MAX as i64 {
        return Err(Error::param(
            "factors",
            format!(
                "{rows} rows do not fit Spark's integer ids (at most {})",
                i32::MAX
            ),
        ));
    }
    let element = primitive("element", Physical::FLOAT, Repetition::REQUIRED)?;
    let list = Type::group_type_builder("list")
        .with_repetition(Repetition::REPEATED)
        .with_fields(vec![element])
        .build()
        .map_err(schema_err)?;
    let features = Type::group_type_builder("features")
        .with_repetition(Repetition::OPTIONAL)
        .with_logical_type(Some(LogicalType::List))
        .with_fields(vec![Arc::new(list)])
        .build()
        .map_err(schema_err)?;
    let schema = message(vec![
        primitive("id", Physical::INT32, Repetition::REQUIRED)?,
        Arc::new(features),
    ])?;
    let mut writer = create(path, schema)?;
    let err = |e: parquet::errors::ParquetError| write_err(path, e);
    let per_group = (FACTOR_GROUP_VALUES / k).max(1);
    // Every value present: definition level 2 (features set, list non-empty); a row's first
    // value starts a new list (repetition 0), the others continue it (1).
    let defs = vec![2i16; per_group * k];
    let reps: Vec<i16> = (0..per_group * k).map(|j| i16::from(j % k != 0)).collect();
    let mut start = 0usize;
    while start < rows {
        let n = per_group.min(rows - start);
        let ids: Vec<i32> = (start..start + n).map(|r| first_id + r as i32).collect();
        let values = &factors[start * k..(start + n) * k];
        let mut group = writer.next_row_group().map_err(err)?;
        let mut column = 0;
        while let Some(mut col) = group.next_column().map_err(err)? {
            if column == 0 {
                col.typed::<Int32Type>().write_batch(&ids, None, None)
            } else {
                let m = values.len();
                col.typed::<FloatType>()
                    .write_batch(values, Some(&defs[..m]), Some(&reps[..m]))
            }
            .map_err(err)?;
            col.close().map_err(err)?;
            column += 1;
        }
        group.close().map_err(err)?;
        start += n;
    }
    finish(path, writer)
}

/// A CSR matrix as the table a Spark ALS job reads: `user: int` (the row), `item: int` (the
/// column), `rating: float` (the value), one row per stored entry, all required.
pub fn write_interactions(
    path: &Path,
    indptr: &[usize],
    indices: &[u32],
    values: &[f32],
) -> Result<()> {
    let n_rows = indptr.len().saturating_sub(1);
    let nnz = indices.len();
    if values.len() != nnz || indptr.last().copied().unwrap_or(0) != nnz {
        return Err(Error::param(
            "matrix",
            format!(
                "indptr ends at {}, with {nnz} indices and {} values",
                indptr.last().copied().unwrap_or(0),
                values.len()
            ),
        ));
    }
    if n_rows > i32::MAX as usize || indices.iter().any(|&c| c > i32::MAX as u32) {
        return Err(Error::param(
            "matrix",
            "has more rows or columns than Spark's integer ids hold",
        ));
    }
    let schema = message(vec![
        primitive("user", Physical::INT32, Repetition::REQUIRED)?,
        primitive("item", Physical::INT32, Repetition::REQUIRED)?,
        primitive("rating", Physical::FLOAT, Repetition::REQUIRED)?,
    ])?;
    let mut writer = create(path, schema)?;
    let err = |e: parquet::errors::ParquetError| write_err(path, e);
    let mut row = 0usize;
    let mut start = 0usize;
    let mut users: Vec<i32> = Vec::new();
    while start < nnz {
        let end = (start + INTERACTION_GROUP_ROWS).min(nnz);
        users.clear();
        for e in start..end {
            while indptr[row + 1] <= e {
                row += 1;
            }
            users.push(row as i32);
        }
        let items: Vec<i32> = indices[start..end].iter().map(|&c| c as i32).collect();
        let mut group = writer.next_row_group().map_err(err)?;
        let mut column = 0;
        while let Some(mut col) = group.next_column().map_err(err)? {
            match column {
                0 => col.typed::<Int32Type>().write_batch(&users, None, None),
                1 => col.typed::<Int32Type>().write_batch(&items, None, None),
                _ => col
                    .typed::<FloatType>()
                    .write_batch(&values[start..end], None, None),
            }
            .map_err(err)?;
            col.close().map_err(err)?;
            column += 1;
        }
        group.close().map_err(err)?;
        start = end;
    }
    finish(path, writer)
}

/// A factor table read back: `ids[r]` owns `factors[r * k..(r + 1) * k]`, in file order.
#[derive(Debug, Default, PartialEq)]
pub struct FactorTable {
    pub ids: Vec<i32>,
    pub factors: Vec<f32>,
    pub k: usize,
}

/// The Parquet files of a table: `path` itself, or every `*.parquet` in the folder `path`
/// whose name does not start with `_` or `.` (Spark's `_SUCCESS`, `.crc` files), by name.
pub fn table_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let entries = std::fs::read_dir(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('_') || name.starts_with('.') || !name.ends_with(".parquet") {
            continue;
        }
        files.push(entry.path());
    }
    if files.is_empty() {
        return Err(file_err(
            path,
            "holds no .parquet files (a Spark table folder holds part-*.parquet)",
        ));
    }
    files.sort();
    Ok(files)
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into())
}

/// Read a factor table (a file, or a Spark folder of part files): an integer `id` column
/// (INT32, or INT64 within Spark's Int range) and a list-of-floats column named `features`
/// (Spark) or `factors` (`cf-native factors`), float or double. Every row must have the same
/// number of values and no nulls; a repeated id is an error naming both rows.
pub fn read_factor_table(path: &Path) -> Result<FactorTable> {
    let mut table = FactorTable::default();
    for file in table_files(path)? {
        match catch_unwind(AssertUnwindSafe(|| read_factor_file(&file, &mut table))) {
            Ok(r) => r?,
            Err(p) => {
                return Err(file_err(
                    &file,
                    format!("corrupt data (the decoder failed: {})", panic_text(&*p)),
                ))
            }
        }
    }
    if table.ids.is_empty() {
        return Err(file_err(path, "holds no factor rows"));
    }
    let mut seen = std::collections::HashMap::with_capacity(table.ids.len());
    for (r, &id) in table.ids.iter().enumerate() {
        if let Some(first) = seen.insert(id, r) {
            return Err(file_err(
                path,
                format!(
                    "id {id} appears twice (rows {} and {}, counting from 1 across the part files)",
                    first + 1,
                    r + 1
                ),
            ));
        }
    }
    Ok(table)
}

fn read_factor_file(file: &Path, table: &mut FactorTable) -> Result<()> {
    let raw = std::fs::read(file).map_err(|source| Error::Io {
        path: file.to_path_buf(),
        source,
    })?;
    if raw.len() < 12 || !raw.starts_with(b"PAR1") || !raw.ends_with(b"PAR1") {
        return Err(file_err(
            file,
            "not a whole Parquet file (no PAR1 magic at both ends)",
        ));
    }
    let reader = SerializedFileReader::new(bytes::Bytes::from(raw))
        .map_err(|e| file_err(file, format!("not a readable Parquet file: {e}")))?;
    let schema = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .clone();
    let fields = schema.get_fields();
    let id_col = fields
        .iter()
        .position(|f| f.name() == "id")
        .ok_or_else(|| {
            file_err(
                file,
                format!(
                    "has no column \"id\" (columns: {})",
                    fields
                        .iter()
                        .map(|f| f.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    let vec_col = fields
        .iter()
        .position(|f| f.name() == "features" || f.name() == "factors")
        .ok_or_else(|| {
            file_err(
                file,
                format!(
                    "has no column \"features\" (Spark) or \"factors\" (columns: {})",
                    fields
                        .iter()
                        .map(|f| f.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    let vec_name = fields[vec_col].name().to_string();
    let rows = reader
        .get_row_iter(None)
        .map_err(|e| file_err(file, format!("cannot read rows: {e}")))?;
    for (r, row) in rows.enumerate() {
        let at = |what: String| file_err(file, format!("row {}: {what}", r + 1));
        let row = row.map_err(|e| at(format!("cannot be read: {e}")))?;
        let id = match row.get_column_iter().nth(id_col).map(|(_, f)| f) {
            Some(Field::Int(v)) => *v,
            Some(Field::Long(v)) if i32::try_from(*v).is_ok() => *v as i32,
            Some(Field::Long(v)) => {
                return Err(at(format!("id {v} is beyond Spark's integer ids")))
            }
            Some(Field::Null) => return Err(at("id is null".into())),
            other => return Err(at(format!("id must be an integer (got {other:?})"))),
        };
        let list = row.get_list(vec_col).map_err(|_| {
            at(format!(
                "{vec_name} must be a list of floats (null or another type)"
            ))
        })?;
        let n = list.len();
        if table.k == 0 {
            if n == 0 {
                return Err(at(format!("{vec_name} is empty")));
            }
            table.k = n;
        } else if n != table.k {
            return Err(at(format!(
                "id {id} has {n} values in {vec_name}, where the rows before have {}",
                table.k
            )));
        }
        for j in 0..n {
            let v = match list.get_float(j) {
                Ok(v) => v,
                Err(_) => match list.get_double(j) {
                    Ok(v) => v as f32,
                    Err(_) => {
                        return Err(at(format!(
                            "{vec_name}[{j}] of id {id} is null or not a float"
                        )))
                    }
                },
            };
            if !v.is_finite() {
                return Err(at(format!(
                    "{vec_name}[{j}] of id {id} is {v}, not a finite number"
                )));
            }
            table.factors.push(v);
        }
        table.ids.push(id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cf-spark-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn factors_round_trip_through_a_folder() {
        let dir = tmp("round");
        let k = 3;
        let a: Vec<f32> = (0..5 * k).map(|v| v as f32 * 0.5 - 2.0).collect();
        write_spark_factors(&dir.join("part-00000.snappy.parquet"), &a[..2 * k], k, 0).unwrap();
        write_spark_factors(&dir.join("part-00001.snappy.parquet"), &a[2 * k..], k, 2).unwrap();
        std::fs::write(dir.join("_SUCCESS"), b"").unwrap();
        std::fs::write(dir.join(".part-00000.snappy.parquet.crc"), b"x").unwrap();
        let t = read_factor_table(&dir).unwrap();
        assert_eq!(t.k, k);
        assert_eq!(t.ids, vec![0, 1, 2, 3, 4]);
        assert_eq!(t.factors, a);
    }

    #[test]
    fn interactions_are_written_row_by_row() {
        let dir = tmp("inter");
        let p = dir.join("train.parquet");
        write_interactions(&p, &[0, 2, 2, 3], &[1, 4, 0], &[1.0, 2.0, 3.0]).unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(&p).unwrap()).unwrap();
        let rows: Vec<(i32, i32, f32)> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                (
                    r.get_int(0).unwrap(),
                    r.get_int(1).unwrap(),
                    r.get_float(2).unwrap(),
                )
            })
            .collect();
        assert_eq!(rows, vec![(0, 1, 1.0), (0, 4, 2.0), (2, 0, 3.0)]);
        assert!(write_interactions(&p, &[0, 2], &[1], &[1.0]).is_err());
    }

    #[test]
    fn bad_tables_are_coded_errors_naming_the_file() {
        let dir = tmp("bad");
        let e = read_factor_table(&dir).unwrap_err();
        assert_eq!(e.code(), "ERR_CF_DATA");
        assert!(e.to_string().contains("no .parquet files"), "{e}");
        let p = dir.join("x.parquet");
        std::fs::write(&p, b"PAR1 not really").unwrap();
        let e = read_factor_table(&p).unwrap_err();
        assert!(e.to_string().contains("x.parquet"), "{e}");
        // Wrong columns: an interaction table is not a factor table.
        write_interactions(&p, &[0, 1], &[0], &[1.0]).unwrap();
        let e = read_factor_table(&p).unwrap_err();
        assert!(e.to_string().contains("no column \"id\""), "{e}");
        // Two files with the same id.
        let d2 = tmp("dup");
        write_spark_factors(&d2.join("part-0.parquet"), &[1.0, 2.0], 2, 7).unwrap();
        write_spark_factors(&d2.join("part-1.parquet"), &[1.0, 2.0], 2, 7).unwrap();
        let e = read_factor_table(&d2).unwrap_err();
        assert!(e.to_string().contains("id 7 appears twice"), "{e}");
        // Ranks that differ between files.
        let d3 = tmp("rank");
        write_spark_factors(&d3.join("part-0.parquet"), &[1.0, 2.0], 2, 0).unwrap();
        write_spark_factors(&d3.join("part-1.parquet"), &[1.0, 2.0, 3.0], 3, 1).unwrap();
        let e = read_factor_table(&d3).unwrap_err();
        assert!(e.to_string().contains("has 3 values"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&d2);
        let _ = std::fs::remove_dir_all(&d3);
    }

    #[test]
    fn cf_native_factor_files_read_back_by_their_own_ids() {
        // `cf-native factors` writes string ids; those are not Spark's integer ids.
        let dir = tmp("strid");
        let p = dir.join("user_factors.parquet");
        super::super::parquet::write_factors_parquet(&p, &["a", "b"], &[1.0, 2.0], 1).unwrap();
        let e = read_factor_table(&p).unwrap_err();
        assert!(e.to_string().contains("id must be an integer"), "{e}");
    }
}
