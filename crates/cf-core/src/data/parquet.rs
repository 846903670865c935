//! Interaction files in Parquet, read into the same `Rows` as delimited text, so that a file
//! and its CSV export give the same dataset.
//!
//! Columns are the file's top-level fields, by name or 0-based index, with the CSV defaults
//! (user #0, item #1, rating #2 and time #3 when the file has them and neither user nor item
//! is configured). `data.delimiter` and `data.header` do not apply: the schema names the
//! columns. Values are converted to what the CSV reader makes of the same data written as
//! text: integer ids become their decimal strings, string ids are trimmed, ratings become
//! f32, and times whole Unix seconds (TIMESTAMP and DATE columns are converted from their
//! unit; fractions are cut toward zero as the CSV reader cuts `1.5e9`). A null is an error
//! naming its column and row, as an empty field is in a CSV file. A row's `line` is its
//! 1-based row number in the file.
//!
//! The decoder of the `parquet` crate can panic on some corrupt input (it asserts on
//! encodings and lengths it trusts the file for). Every call into it runs under
//! `catch_unwind`, turning such a panic into a coded error about the file rather than a
//! crash of the host process; the panic hook still prints its message to stderr.

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use bytes::Bytes;
use parquet::basic::{Compression, ConvertedType, LogicalType, TimeUnit, Type as Physical};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{ByteArray, DataType};
use parquet::file::reader::{FileReader, RowGroupReader};
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::schema::types::ColumnDescriptor;

use super::ids::IdMap;
use super::read::{header_list, text, Column, ReadOptions, Rows};
use crate::error::{Error, Result};

/// Whether `path` names a Parquet file: by its extension, as the format cannot be told from
/// a CSV by the first bytes alone without reading the footer.
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

const MAGIC: &[u8] = b"PAR1";

/// Whether `raw` is a whole Parquet file by its magic at both ends, for a file that is not
/// named as one: a text file starting and ending with `PAR1` is not a likely interaction log.
pub fn looks_like_parquet(raw: &[u8]) -> bool {
    raw.len() >= 12 && raw.starts_with(MAGIC) && raw.ends_with(MAGIC)
}

fn file_err(path: &Path, message: impl Into<String>) -> Error {
    Error::File {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The panic's message, for the error that replaces it.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown cause".into())
}

/// Runs `f`, a call into the parquet crate, with its panics as errors (see the module doc).
fn guarded<T>(
    path: &Path,
    what: impl Fn() -> String,
    f: impl FnOnce() -> parquet::errors::Result<T>,
) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(file_err(path, format!("{}: {e}", what()))),
        Err(p) => Err(file_err(
            path,
            format!(
                "{}: corrupt data (the decoder failed: {})",
                what(),
                panic_text(&*p)
            ),
        )),
    }
}

/// Read one Parquet file's rows from its bytes, adding new ids to `users` and `items`.
pub fn rows_from_parquet(
    path: &Path,
    raw: Vec<u8>,
    opts: &ReadOptions,
    users: &mut IdMap,
    items: &mut IdMap,
) -> Result<Rows> {
    check_magic(path, &raw)?;
    let reader = guarded(
        path,
        || "not a readable Parquet file".into(),
        || SerializedFileReader::new(Bytes::from(raw)),
    )?;
    let layout = Layout::resolve(path, opts, &reader)?;
    let mut rows = Rows {
        ratings: layout.rating.as_ref().map(|_| Vec::new()),
        times: layout.time.as_ref().map(|_| Vec::new()),
        ..Rows::default()
    };
    let mut first_row = 0u64;
    for g in 0..reader.num_row_groups() {
        let group = read_group(path, &reader, g, &layout, first_row)?;
        first_row += group.len as u64;
        group.append(&layout, first_row, &mut rows, users, items);
    }
    if rows.is_empty() {
        return Err(file_err(path, "no data rows"));
    }
    Ok(rows)
}

/// A file shorter than its own header and footer, or without the magic at either end, is
/// not Parquet or was cut off (a partial download, a copy still being written); the crate
/// would say "EOF" or "invalid footer", which names neither cause.
fn check_magic(path: &Path, raw: &[u8]) -> Result<()> {
    if !raw.starts_with(MAGIC) {
        return Err(file_err(
            path,
            "not a Parquet file (it does not start with PAR1); only files named .parquet are read as Parquet",
        ));
    }
    if raw.len() < 12 || !raw.ends_with(MAGIC) {
        return Err(file_err(
            path,
            format!(
                "truncated Parquet file ({} bytes, no PAR1 footer at its end): was it fully written or copied?",
                raw.len()
            ),
        ));
    }
    Ok(())
}

/// How a column's values become what the CSV reader would read from the same data as text.
#[derive(Clone, Copy, Debug)]
enum Conv {
    /// BYTE_ARRAY as text.
    Text,
    /// INT32/INT64, signed or not.
    Int {
        unsigned: bool,
    },
    Float,
    /// INT32/INT64 timestamps: the divisor that makes them seconds.
    PerSecond(i64),
    /// INT32 DATE: days since the epoch.
    Days,
    /// INT96 (legacy Impala/Spark timestamps).
    Int96,
}

/// A column chosen for a role, resolved against the schema.
#[derive(Debug)]
struct Field {
    /// Leaf index in the schema, the index row group readers take.
    leaf: usize,
    /// `column "name"`, for messages.
    label: String,
    /// The role's place in a row (user, item, rating, time): of two errors on one row, the
    /// CSV reader reports the earlier.
    order: u8,
    conv: Conv,
}

struct Layout {
    user: Field,
    item: Field,
    rating: Option<Field>,
    time: Option<Field>,
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    Id,
    Rating,
    Time,
}

impl Role {
    fn wants(self) -> &'static str {
        match self {
            Role::Id => "strings or integers",
            Role::Rating => "numbers (FLOAT, DOUBLE or integers)",
            Role::Time => "integers, TIMESTAMP, DATE or numbers",
        }
    }
}

impl Layout {
    fn resolve(
        path: &Path,
        opts: &ReadOptions,
        reader: &SerializedFileReader<Bytes>,
    ) -> Result<Layout> {
        let schema = reader.metadata().file_metadata().schema_descr();
        let fields = schema.root_schema().get_fields();
        let names: Vec<String> = fields.iter().map(|f| f.name().to_string()).collect();
        let resolve = |col: &Column, role_name: &str, role: Role, order: u8| -> Result<Field> {
            let top = match col {
                Column::Index(i) if *i < fields.len() => *i,
                Column::Index(i) => {
                    return Err(file_err(
                        path,
                        format!(
                            "no column #{i} for the {role_name}: the file has {} columns ({})",
                            fields.len(),
                            header_list(&names)
                        ),
                    ))
                }
                Column::Name(n) => {
                    let at: Vec<usize> = (0..names.len()).filter(|&i| names[i] == *n).collect();
                    match at[..] {
                        [i] => i,
                        [] => {
                            return Err(file_err(
                                path,
                                format!(
                                    "no column named {n:?} for the {role_name} (the file has: {})",
                                    header_list(&names)
                                ),
                            ))
                        }
                        _ => {
                            return Err(file_err(
                                path,
                                format!(
                                    "the file has {} columns named {n:?}, so the {role_name} column is ambiguous; give it by 0-based index",
                                    at.len()
                                ),
                            ))
                        }
                    }
                }
            };
            let label = format!("column {:?}", names[top]);
            let leaf = (0..schema.num_columns())
                .find(|&l| schema.get_column_root_idx(l) == top)
                .filter(|_| fields[top].is_primitive());
            let Some(leaf) = leaf else {
                return Err(file_err(
                    path,
                    format!("{label} (the {role_name}) is a nested type (a list, map or struct); it must hold one value per row"),
                ));
            };
            let conv = conversion(&schema.column(leaf), role).ok_or_else(|| {
                file_err(
                    path,
                    format!(
                        "{label} (the {role_name}) holds {}; the {role_name} must be {}",
                        type_name(&schema.column(leaf)),
                        role.wants()
                    ),
                )
            })?;
            Ok(Field {
                leaf,
                label,
                conv,
                order,
            })
        };
        let width = fields.len();
        let defaults_apply = opts.user.is_none() && opts.item.is_none();
        let user = resolve(
            opts.user.as_ref().unwrap_or(&Column::Index(0)),
            "user",
            Role::Id,
            0,
        )?;
        let item = resolve(
            opts.item.as_ref().unwrap_or(&Column::Index(1)),
            "item",
            Role::Id,
            1,
        )?;
        let rating = match &opts.rating {
            Some(c) => Some(resolve(c, "rating", Role::Rating, 2)?),
            None if defaults_apply && width > 2 => {
                Some(resolve(&Column::Index(2), "rating", Role::Rating, 2)?)
            }
            None => None,
        };
        let time = match &opts.time {
            Some(c) => Some(resolve(c, "time", Role::Time, 3)?),
            None if defaults_apply && width > 3 => {
                Some(resolve(&Column::Index(3), "time", Role::Time, 3)?)
            }
            None => None,
        };
        if user.leaf == item.leaf {
            return Err(file_err(
                path,
                format!(
                    "the user and item columns are the same column ({})",
                    user.label
                ),
            ));
        }
        let layout = Layout {
            user,
            item,
            rating,
            time,
        };
        layout.check_codecs(path, reader)?;
        Ok(layout)
    }

    fn fields(&self) -> impl Iterator<Item = &Field> {
        [
            Some(&self.user),
            Some(&self.item),
            self.rating.as_ref(),
            self.time.as_ref(),
        ]
        .into_iter()
        .flatten()
    }

    /// A codec this build does not decode is named before any reading, with the fix; the
    /// crate's own message ("disabled feature") says neither.
    fn check_codecs(&self, path: &Path, reader: &SerializedFileReader<Bytes>) -> Result<()> {
        for rg in reader.metadata().row_groups() {
            for f in self.fields() {
                let codec = rg.column(f.leaf).compression();
                if !matches!(
                    codec,
                    Compression::UNCOMPRESSED | Compression::SNAPPY | Compression::GZIP(_)
                ) {
                    return Err(file_err(
                        path,
                        format!(
                            "{} is compressed with {codec}, which cf-native does not read; write the file with snappy (the default of pyarrow, pandas, Spark and DuckDB) or gzip, e.g. polars: write_parquet(..., compression=\"snappy\")",
                            f.label
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The schema type of a leaf, for messages: `STRING (BYTE_ARRAY)`, `TIMESTAMP(MILLIS) (INT64)`.
fn type_name(c: &ColumnDescriptor) -> String {
    let physical = c.physical_type();
    let logical = match c.logical_type_ref() {
        Some(LogicalType::String) => "STRING".to_string(),
        Some(LogicalType::Timestamp(t)) => format!("TIMESTAMP({:?})", t.unit),
        Some(LogicalType::Time(t)) => format!("TIME({:?})", t.unit),
        Some(LogicalType::Decimal(d)) => format!("DECIMAL({}, {})", d.precision, d.scale),
        Some(LogicalType::Integer(i)) => format!(
            "INT({}, {})",
            i.bit_width,
            if i.is_signed { "signed" } else { "unsigned" }
        ),
        Some(other) => format!("{other:?}").to_uppercase(),
        None if c.converted_type() != ConvertedType::NONE => c.converted_type().to_string(),
        None => return physical.to_string(),
    };
    format!("{logical} ({physical})")
}

/// How a leaf's values serve `role`, or None when they cannot.
fn conversion(c: &ColumnDescriptor, role: Role) -> Option<Conv> {
    let logical = c.logical_type_ref();
    let converted = c.converted_type();
    // A decimal's integer is not its value, and its text (`1.50`) would differ from CSV's.
    if matches!(logical, Some(LogicalType::Decimal(_))) || converted == ConvertedType::DECIMAL {
        return None;
    }
    let unsigned = match logical {
        Some(LogicalType::Integer(t)) => !t.is_signed,
        _ => matches!(
            converted,
            ConvertedType::UINT_8
                | ConvertedType::UINT_16
                | ConvertedType::UINT_32
                | ConvertedType::UINT_64
        ),
    };
    let per_second = match (logical, converted) {
        (Some(LogicalType::Timestamp(t)), _) => Some(match t.unit {
            TimeUnit::MILLIS => 1_000,
            TimeUnit::MICROS => 1_000_000,
            TimeUnit::NANOS => 1_000_000_000,
        }),
        (_, ConvertedType::TIMESTAMP_MILLIS) => Some(1_000),
        (_, ConvertedType::TIMESTAMP_MICROS) => Some(1_000_000),
        _ => None,
    };
    let date = matches!(logical, Some(LogicalType::Date)) || converted == ConvertedType::DATE;
    // A time of day is not a point in time; ordering rows by it would be wrong silently.
    let time_of_day = matches!(logical, Some(LogicalType::Time(_)))
        || matches!(
            converted,
            ConvertedType::TIME_MILLIS | ConvertedType::TIME_MICROS
        );
    let int = matches!(c.physical_type(), Physical::INT32 | Physical::INT64);
    match (role, c.physical_type()) {
        (_, _) if time_of_day => None,
        (Role::Id, Physical::BYTE_ARRAY) => Some(Conv::Text),
        (Role::Id | Role::Rating, _) if int && per_second.is_none() && !date => {
            Some(Conv::Int { unsigned })
        }
        (Role::Rating | Role::Time, Physical::FLOAT | Physical::DOUBLE) => Some(Conv::Float),
        (Role::Time, _) if int && date => Some(Conv::Days),
        (Role::Time, _) if int => Some(match per_second {
            Some(d) => Conv::PerSecond(d),
            None => Conv::Int { unsigned },
        }),
        (Role::Time, Physical::INT96) => Some(Conv::Int96),
        _ => None,
    }
}

/// One column chunk's values, one per row (nulls are refused while reading).
enum Values {
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<ByteArray>),
    Int96(Vec<parquet::data_type::Int96>),
}

/// An error at a row. Of a group's errors the one the CSV reader would meet first is
/// reported: the earliest row, and on that row the earliest role (user, item, rating, time).
struct RowError {
    row: u64,
    order: u8,
    message: String,
}

/// A row group's columns, checked and converted; nothing is interned yet, so a bad row leaves
/// the id maps as they were before the group.
struct Group {
    len: usize,
    user: Values,
    item: Values,
    ratings: Option<Vec<f32>>,
    times: Option<Vec<i64>>,
}

fn read_group(
    path: &Path,
    reader: &SerializedFileReader<Bytes>,
    g: usize,
    layout: &Layout,
    first_row: u64,
) -> Result<Group> {
    let n = reader.metadata().row_group(g).num_rows();
    let n = usize::try_from(n).map_err(|_| {
        file_err(
            path,
            format!("row group {g} claims {n} rows; the footer is corrupt"),
        )
    })?;
    let rg = guarded(
        path,
        || format!("row group {g}"),
        || reader.get_row_group(g),
    )?;
    let mut first: Option<RowError> = None;
    let mut note = |e: RowError| {
        if first
            .as_ref()
            .is_none_or(|f| (e.row, e.order) < (f.row, f.order))
        {
            first = Some(e);
        }
    };
    let mut column = |f: &Field| -> Result<Option<Values>> {
        match read_column(path, &*rg, f, n, first_row)? {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                note(e);
                Ok(None)
            }
        }
    };
    let user = column(&layout.user)?;
    let item = column(&layout.item)?;
    let rating = layout
        .rating
        .as_ref()
        .map(|f| column(f).map(|v| (f, v)))
        .transpose()?;
    let time = layout
        .time
        .as_ref()
        .map(|f| column(f).map(|v| (f, v)))
        .transpose()?;
    let mut ok = |r: std::result::Result<(), RowError>| r.map_err(&mut note).is_ok();
    let user = user.filter(|v| ok(check_ids(v, &layout.user, "user", first_row)));
    let item = item.filter(|v| ok(check_ids(v, &layout.item, "item", first_row)));
    let ratings = match rating {
        Some((f, Some(v))) => ratings(v, f, first_row).map_err(&mut note).ok(),
        _ => None,
    };
    let times = match time {
        Some((f, Some(v))) => times(v, f, first_row).map_err(&mut note).ok(),
        _ => None,
    };
    if let Some(e) = first {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line: e.row,
            message: e.message,
        });
    }
    let (Some(user), Some(item)) = (user, item) else {
        unreachable!("a column missing without an error")
    };
    Ok(Group {
        len: n,
        user,
        item,
        ratings,
        times,
    })
}

/// Reads all `n` rows of one column chunk. A null is refused at its row: a missing id or
/// rating has no value the CSV reader would accept either.
fn read_column(
    path: &Path,
    rg: &dyn RowGroupReader,
    f: &Field,
    n: usize,
    first_row: u64,
) -> Result<std::result::Result<Values, RowError>> {
    let what = || format!("{} (row group starting at row {})", f.label, first_row + 1);
    let col = guarded(path, what, || rg.get_column_reader(f.leaf))?;
    let max_def = rg.metadata().schema_descr().column(f.leaf).max_def_level();
    let mut defs: Vec<i16> = Vec::new();
    let d = &mut defs;
    let values = guarded(path, what, || {
        Ok(match col {
            ColumnReader::Int32ColumnReader(r) => Values::I32(all(r, n, max_def, d)?),
            ColumnReader::Int64ColumnReader(r) => Values::I64(all(r, n, max_def, d)?),
            ColumnReader::FloatColumnReader(r) => Values::F32(all(r, n, max_def, d)?),
            ColumnReader::DoubleColumnReader(r) => Values::F64(all(r, n, max_def, d)?),
            ColumnReader::ByteArrayColumnReader(r) => Values::Bytes(all(r, n, max_def, d)?),
            ColumnReader::Int96ColumnReader(r) => Values::Int96(all(r, n, max_def, d)?),
            // Layout::resolve admits none of these physical types.
            ColumnReader::BoolColumnReader(_) | ColumnReader::FixedLenByteArrayColumnReader(_) => {
                return Err(parquet::errors::ParquetError::General(
                    "unsupported physical type".into(),
                ))
            }
        })
    })?;
    if let Some(k) = defs.iter().position(|&d| d < max_def) {
        let row = first_row + k as u64 + 1;
        return Ok(Err(RowError {
            row,
            order: f.order,
            message: format!("null in {} at row {row}", f.label),
        }));
    }
    let got = match &values {
        Values::I32(v) => v.len(),
        Values::I64(v) => v.len(),
        Values::F32(v) => v.len(),
        Values::F64(v) => v.len(),
        Values::Bytes(v) => v.len(),
        Values::Int96(v) => v.len(),
    };
    if got != n {
        return Err(file_err(
            path,
            format!(
                "{}: {got} values where the row group starting at row {} has {n} rows; the file is corrupt",
                f.label,
                first_row + 1
            ),
        ));
    }
    Ok(Ok(values))
}

/// Records asked of the decoder at a time. A corrupt header can claim billions of values;
/// asking for all `n` at once would let the decoder size its buffer by that claim, and a
/// failed allocation aborts the process where a panic could be caught.
const BATCH: usize = 1 << 16;

/// Every record of a chunk, up to `n`; `defs` receives definition levels when the column is
/// optional (`max_def` > 0).
fn all<T: DataType>(
    mut r: ColumnReaderImpl<T>,
    n: usize,
    max_def: i16,
    defs: &mut Vec<i16>,
) -> parquet::errors::Result<Vec<T::T>> {
    let mut out = Vec::with_capacity(n.min(BATCH));
    let mut records = 0;
    while records < n {
        let levels = (max_def > 0).then_some(&mut *defs);
        let (read, _, _) = r.read_records((n - records).min(BATCH), levels, None, &mut out)?;
        if read == 0 {
            break;
        }
        records += read;
    }
    Ok(out)
}

fn row_error(f: &Field, first_row: u64, k: usize, message: String) -> RowError {
    RowError {
        order: f.order,
        row: first_row + k as u64 + 1,
        message,
    }
}

/// An id as the CSV reader would intern it: text trimmed (CSV fields are), with bytes that
/// are not UTF-8 read as Latin-1; integers as decimal strings. `buf` holds formatted numbers.
fn id_at<'a>(
    values: &'a Values,
    conv: Conv,
    k: usize,
    buf: &'a mut String,
) -> std::borrow::Cow<'a, str> {
    use std::borrow::Cow;
    let unsigned = matches!(conv, Conv::Int { unsigned: true });
    buf.clear();
    let _ = match values {
        Values::Bytes(v) => {
            return match text(v[k].data()) {
                Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
                Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
            }
        }
        Values::I32(v) if unsigned => write!(buf, "{}", v[k] as u32),
        Values::I32(v) => write!(buf, "{}", v[k]),
        Values::I64(v) if unsigned => write!(buf, "{}", v[k] as u64),
        Values::I64(v) => write!(buf, "{}", v[k]),
        // Layout::resolve admits only strings and integers for ids.
        Values::F32(_) | Values::F64(_) | Values::Int96(_) => Ok(()),
    };
    Cow::Borrowed(buf.as_str())
}

/// The first empty id (after trimming), as the CSV reader refuses an empty field.
fn check_ids(
    values: &Values,
    f: &Field,
    role: &str,
    first_row: u64,
) -> std::result::Result<(), RowError> {
    let Values::Bytes(v) = values else {
        return Ok(());
    };
    match v.iter().position(|b| text(b.data()).trim().is_empty()) {
        Some(k) => Err(row_error(
            f,
            first_row,
            k,
            format!(
                "empty {role} id in {} at row {}",
                f.label,
                first_row + k as u64 + 1
            ),
        )),
        None => Ok(()),
    }
}

/// Ratings as f32, finite, as the CSV reader parses them (a DOUBLE is rounded to the nearest
/// f32, as the text of the same number would be, but for a value within 2^-29 of a tie).
fn ratings(values: Values, f: &Field, first_row: u64) -> std::result::Result<Vec<f32>, RowError> {
    let unsigned = matches!(f.conv, Conv::Int { unsigned: true });
    let out: Vec<f32> = match values {
        Values::F32(v) => v,
        Values::F64(v) => v.into_iter().map(|x| x as f32).collect(),
        Values::I32(v) if unsigned => v.into_iter().map(|x| x as u32 as f32).collect(),
        Values::I32(v) => v.into_iter().map(|x| x as f32).collect(),
        Values::I64(v) if unsigned => v.into_iter().map(|x| x as u64 as f32).collect(),
        Values::I64(v) => v.into_iter().map(|x| x as f32).collect(),
        Values::Bytes(_) | Values::Int96(_) => Vec::new(),
    };
    match out.iter().position(|x| !x.is_finite()) {
        // NaN and infinities would poison every sum and model, as in read.rs.
        Some(k) => Err(row_error(
            f,
            first_row,
            k,
            format!(
                "{} value {} is not finite at row {}",
                f.label,
                crate::args::show32(out[k]),
                first_row + k as u64 + 1
            ),
        )),
        None => Ok(out),
    }
}

/// Times as whole Unix seconds where the type says what a unit is, the raw integer where it
/// does not (the CSV reader takes numbers as they are).
fn times(values: Values, f: &Field, first_row: u64) -> std::result::Result<Vec<i64>, RowError> {
    let err = |k: usize, why: &str| {
        row_error(
            f,
            first_row,
            k,
            format!("{} {why} at row {}", f.label, first_row + k as u64 + 1),
        )
    };
    match (values, f.conv) {
        (Values::I64(v), Conv::Int { unsigned: true }) => v
            .iter()
            .enumerate()
            .map(|(k, &x)| {
                i64::try_from(x as u64).map_err(|_| {
                    err(
                        k,
                        &format!(
                            "value {} is beyond the range of a 64-bit signed integer",
                            x as u64
                        ),
                    )
                })
            })
            .collect(),
        (Values::I32(v), Conv::Int { unsigned: true }) => {
            Ok(v.into_iter().map(|x| i64::from(x as u32)).collect())
        }
        (Values::I32(v), Conv::Days) => Ok(v.into_iter().map(|d| i64::from(d) * 86_400).collect()),
        (Values::I32(v), Conv::PerSecond(d)) => {
            Ok(v.into_iter().map(|x| i64::from(x) / d).collect())
        }
        (Values::I32(v), _) => Ok(v.into_iter().map(i64::from).collect()),
        // Integer division cuts toward zero, as `as i64` cuts a float time in read.rs.
        (Values::I64(v), Conv::PerSecond(d)) => Ok(v.into_iter().map(|x| x / d).collect()),
        (Values::I64(v), _) => Ok(v),
        (Values::Int96(v), _) => Ok(v.iter().map(|x| x.to_seconds()).collect()),
        (Values::F32(v), _) => v
            .iter()
            .enumerate()
            .map(|(k, &x)| float_time(f64::from(x)).map_err(|why| err(k, &why)))
            .collect(),
        (Values::F64(v), _) => v
            .iter()
            .enumerate()
            .map(|(k, &x)| float_time(x).map_err(|why| err(k, &why)))
            .collect(),
        (Values::Bytes(_), _) => Ok(Vec::new()),
    }
}

/// As read.rs's parse_time takes a float: cut to whole seconds, refused beyond the range.
fn float_time(t: f64) -> std::result::Result<i64, String> {
    if t.is_finite() && t.abs() < 9.2e18 {
        Ok(t as i64)
    } else {
        Err(format!(
            "value {} is not a timestamp within the range of a 64-bit integer",
            crate::args::show(t)
        ))
    }
}

impl Group {
    /// Interns the group's ids and appends its rows; `end` is the row number after it.
    fn append(
        self,
        layout: &Layout,
        end: u64,
        rows: &mut Rows,
        users: &mut IdMap,
        items: &mut IdMap,
    ) {
        let start = end - self.len as u64;
        let mut buf = String::new();
        rows.users.reserve(self.len);
        rows.items.reserve(self.len);
        for k in 0..self.len {
            rows.users
                .push(users.intern(&id_at(&self.user, layout.user.conv, k, &mut buf)));
        }
        for k in 0..self.len {
            rows.items
                .push(items.intern(&id_at(&self.item, layout.item.conv, k, &mut buf)));
        }
        if let (Some(out), Some(v)) = (rows.ratings.as_mut(), self.ratings) {
            out.extend(v);
        }
        if let (Some(out), Some(v)) = (rows.times.as_mut(), self.times) {
            out.extend(v);
        }
        rows.lines.extend(start + 1..=end);
    }
}
