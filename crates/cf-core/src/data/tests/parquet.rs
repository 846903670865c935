//! Interactions from Parquet files written here with the parquet crate's own writer: each
//! case is compared with the CSV reader on the same data as text, or checked for its error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{
    ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type, Int96, Int96Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::SchemaDescriptor;

use super::{file_error, parse_error, read, TempDir};
use crate::data::prepare::{Dataset, PrepareOptions, Values};
use crate::data::read::{Column, ReadOptions};

/// One column's values; None is a null (the column must be `optional` in the schema).
pub(super) enum Col {
    Str(Vec<Option<&'static str>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    F32(Vec<Option<f32>>),
    F64(Vec<Option<f64>>),
    /// (Julian day, nanoseconds of the day): legacy Impala/Spark timestamps.
    I96(Vec<Option<(u32, u64)>>),
}

fn split<T: Clone>(v: &[Option<T>]) -> (Vec<T>, Vec<i16>) {
    let values = v.iter().flatten().cloned().collect();
    let defs = v.iter().map(|x| i16::from(x.is_some())).collect();
    (values, defs)
}

/// Writes `groups` (each a row group of columns in schema order) under `schema`.
pub(super) fn write(path: &Path, schema: &str, groups: Vec<Vec<Col>>) {
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let descr = SchemaDescriptor::new(schema.clone());
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, Arc::new(props)).unwrap();
    for cols in groups {
        let mut g = w.next_row_group().unwrap();
        for (i, c) in cols.into_iter().enumerate() {
            let mut cw = g.next_column().unwrap().unwrap();
            let optional = descr.column(i).max_def_level() > 0;
            macro_rules! put {
                ($t:ty, $v:expr) => {{
                    let (values, defs) = split(&$v);
                    let defs = optional.then_some(&defs[..]);
                    cw.typed::<$t>().write_batch(&values, defs, None).unwrap();
                }};
            }
            match c {
                Col::Str(v) => {
                    let v: Vec<Option<ByteArray>> =
                        v.into_iter().map(|s| s.map(ByteArray::from)).collect();
                    put!(ByteArrayType, v)
                }
                Col::I32(v) => put!(Int32Type, v),
                Col::I64(v) => put!(Int64Type, v),
                Col::F32(v) => put!(FloatType, v),
                Col::F64(v) => put!(DoubleType, v),
                Col::I96(v) => {
                    let v: Vec<Option<Int96>> = v
                        .into_iter()
                        .map(|x| {
                            x.map(|(day, nanos)| {
                                let mut t = Int96::new();
                                t.set_data(nanos as u32, (nanos >> 32) as u32, day);
                                t
                            })
                        })
                        .collect();
                    put!(Int96Type, v)
                }
            }
            cw.close().unwrap();
        }
        g.close().unwrap();
    }
    w.close().unwrap();
}

fn s(v: &[&'static str]) -> Col {
    Col::Str(v.iter().map(|&x| Some(x)).collect())
}
fn i32s(v: &[i32]) -> Col {
    Col::I32(v.iter().map(|&x| Some(x)).collect())
}
fn i64s(v: &[i64]) -> Col {
    Col::I64(v.iter().map(|&x| Some(x)).collect())
}
fn f32s(v: &[f32]) -> Col {
    Col::F32(v.iter().map(|&x| Some(x)).collect())
}
fn f64s(v: &[f64]) -> Col {
    Col::F64(v.iter().map(|&x| Some(x)).collect())
}

fn names(user: &str, item: &str) -> ReadOptions {
    ReadOptions {
        user: Some(Column::Name(user.into())),
        item: Some(Column::Name(item.into())),
        ..Default::default()
    }
}

/// Reads `parquet` and `csv` with the same options and asserts the same ids, rows, ratings,
/// times and lines (the CSV's lines are its data lines, so its header is line 1 and the
/// Parquet's row k is the CSV's line k + 1).
#[track_caller]
fn same_as_csv(parquet: &Path, csv: &Path, opts: &ReadOptions) {
    let p = read(parquet, opts).unwrap();
    let c = read(csv, opts).unwrap();
    assert_eq!(p.pairs(), c.pairs());
    assert_eq!(
        p.users.ids().collect::<Vec<_>>(),
        c.users.ids().collect::<Vec<_>>()
    );
    assert_eq!(
        p.items.ids().collect::<Vec<_>>(),
        c.items.ids().collect::<Vec<_>>()
    );
    assert_eq!(p.rows.ratings, c.rows.ratings);
    assert_eq!(p.rows.times, c.rows.times);
    let lines: Vec<u64> = p.rows.lines.iter().map(|l| l + 1).collect();
    assert_eq!(lines, c.rows.lines);
}

const STR_SCHEMA: &str = "message m { required binary user (STRING); required binary item (STRING); required double rating; required int64 ts; }";

fn str_file(dir: &TempDir) -> PathBuf {
    let path = dir.file("s.parquet", "");
    write(
        &path,
        STR_SCHEMA,
        vec![vec![
            s(&["u1", " u2 ", "u1", "ü3"]),
            s(&["i1", "i2", "i2", "i1"]),
            f64s(&[4.5, 0.1, 3.0, 1e-3]),
            i64s(&[964982703, 964981247, 5, -7]),
        ]],
    );
    path
}

#[test]
fn string_ids_double_ratings_int64_times_read_as_the_csv_reads_them() {
    let dir = TempDir::new("pq-str");
    let pq = str_file(&dir);
    let csv = dir.file(
        "s.csv",
        "user,item,rating,ts\nu1,i1,4.5,964982703\n u2 ,i2,0.1,964981247\nu1,i2,3.0,5\nü3,i1,0.001,-7\n",
    );
    same_as_csv(&pq, &csv, &ReadOptions::default());
    same_as_csv(&pq, &csv, &names("user", "item"));
    let by_name = ReadOptions {
        rating: Some(Column::Name("rating".into())),
        time: Some(Column::Name("ts".into())),
        ..names("user", "item")
    };
    same_as_csv(&pq, &csv, &by_name);
    let by_index = ReadOptions {
        user: Some(Column::Index(1)),
        item: Some(Column::Index(0)),
        rating: Some(Column::Index(2)),
        ..Default::default()
    };
    same_as_csv(&pq, &csv, &by_index);
    // Detection by extension ignores case.
    let upper = dir.file("S.PARQUET", std::fs::read(&pq).unwrap());
    same_as_csv(&upper, &csv, &ReadOptions::default());
}

#[test]
fn integer_ids_and_integer_ratings_without_times() {
    let dir = TempDir::new("pq-int");
    let pq = dir.file("i.parquet", "");
    write(
        &pq,
        "message m { required int32 userId; required int64 movieId; required int32 rating; }",
        vec![
            vec![
                i32s(&[1, -2, 1]),
                i64s(&[31, 9_007_199_254_740_993, 31]),
                i32s(&[5, 3, 1]),
            ],
            vec![i32s(&[7]), i64s(&[i64::MIN]), i32s(&[16_777_217])],
        ],
    );
    let csv = dir.file(
        "i.csv",
        "userId,movieId,rating\n1,31,5\n-2,9007199254740993,3\n1,31,1\n7,-9223372036854775808,16777217\n",
    );
    same_as_csv(&pq, &csv, &ReadOptions::default());
    let r = read(&pq, &ReadOptions::default()).unwrap();
    assert_eq!(r.rows.times, None);
    assert_eq!(r.rows.lines, vec![1, 2, 3, 4]);
}

#[test]
fn float_ratings_and_two_column_files() {
    let dir = TempDir::new("pq-f32");
    let pq = dir.file("f.parquet", "");
    write(
        &pq,
        "message m { required binary u (UTF8); required binary i; required float r; }",
        vec![vec![s(&["a", "b"]), s(&["x", "y"]), f32s(&[0.5, 2.25])]],
    );
    let csv = dir.file("f.csv", "u,i,r\na,x,0.5\nb,y,2.25\n");
    same_as_csv(&pq, &csv, &ReadOptions::default());
    // Only user and item given: no rating column is assumed, as for CSV.
    same_as_csv(&pq, &csv, &names("u", "i"));
    assert_eq!(read(&pq, &names("u", "i")).unwrap().rows.ratings, None);
}

#[test]
fn unsigned_and_timestamp_columns() {
    let dir = TempDir::new("pq-ts");
    let pq = dir.file("t.parquet", "");
    write(
        &pq,
        "message m { required int64 user (INTEGER(64,false)); required int32 item (INTEGER(32,false)); \
         required int64 ms (TIMESTAMP(MILLIS,true)); required int64 us (TIMESTAMP(MICROS,false)); \
         required int64 ns (TIMESTAMP(NANOS,true)); required int32 day (DATE); required double secs; required int96 legacy; }",
        vec![vec![
            i64s(&[-1, 2]),
            i32s(&[-1, 3]),
            i64s(&[964_982_703_999, -1_500]),
            i64s(&[964_982_703_000_001, 1]),
            i64s(&[964_982_703_123_456_789, 0]),
            i32s(&[1, -1]),
            f64s(&[1.5e9, -2.7]),
            // Julian day 2440588 is 1970-01-01.
            Col::I96(vec![Some((2_440_589, 1_500_000_000)), Some((2_440_588, 0))]),
        ]],
    );
    // Column #2 is no rating: a timestamp is refused there.
    let m = file_error(read(&pq, &ReadOptions::default()).unwrap_err(), &pq);
    assert!(
        m.starts_with(r#"column "ms" (the rating) holds TIMESTAMP(MILLIS) (INT64)"#),
        "{m}"
    );
    let r = read(&pq, &names("user", "item")).unwrap();
    assert_eq!(
        r.pairs(),
        super::pairs(&[("18446744073709551615", "4294967295"), ("2", "3")])
    );
    let time = |col: &str| {
        let o = ReadOptions {
            time: Some(Column::Name(col.into())),
            ..names("user", "item")
        };
        read(&pq, &o).unwrap().rows.times.unwrap()
    };
    // Whole seconds, cut toward zero as read.rs cuts a float time.
    assert_eq!(time("ms"), vec![964_982_703, -1]);
    assert_eq!(time("us"), vec![964_982_703, 0]);
    assert_eq!(time("ns"), vec![964_982_703, 0]);
    assert_eq!(time("day"), vec![86_400, -86_400]);
    assert_eq!(time("secs"), vec![1_500_000_000, -2]);
    assert_eq!(time("legacy"), vec![86_401, 0]);
}

#[test]
fn nulls_are_errors_naming_column_and_row() {
    let dir = TempDir::new("pq-null");
    let pq = dir.file("n.parquet", "");
    write(
        &pq,
        "message m { optional binary user (STRING); optional int64 item; optional double rating; }",
        vec![
            vec![s(&["a", "b"]), i64s(&[1, 2]), f64s(&[1.0, 2.0])],
            vec![
                s(&["c", "d", "e"]),
                Col::I64(vec![Some(3), Some(4), None]),
                Col::F64(vec![Some(1.0), None, Some(2.0)]),
            ],
        ],
    );
    // Rows count across row groups; the first bad row is reported.
    let e = read(&pq, &ReadOptions::default()).unwrap_err();
    assert_eq!(e.code(), "ERR_CF_DATA");
    let m = parse_error(e, &pq, 4);
    assert_eq!(m, r#"null in column "rating" at row 4"#);
    // Without the rating, the item's null at row 5 is the first.
    let m = parse_error(read(&pq, &names("user", "item")).unwrap_err(), &pq, 5);
    assert_eq!(m, r#"null in column "item" at row 5"#);
    // An optional column without nulls reads as any other.
    let dir2 = TempDir::new("pq-null2");
    let ok = dir2.file("o.parquet", "");
    write(
        &ok,
        "message m { optional binary user (STRING); optional int64 item; }",
        vec![vec![s(&["a", "b"]), i64s(&[1, 2])]],
    );
    assert_eq!(read(&ok, &ReadOptions::default()).unwrap().rows.len(), 2);
}

#[test]
fn empty_and_non_finite_values_are_errors_like_csv() {
    let dir = TempDir::new("pq-bad");
    let pq = dir.file("e.parquet", "");
    write(
        &pq,
        "message m { required binary user (STRING); required binary item (STRING); required float rating; }",
        vec![vec![s(&["a", "  ", "c"]), s(&["x", "y", "z"]), f32s(&[1.0, 2.0, f32::NAN])]],
    );
    let m = parse_error(read(&pq, &ReadOptions::default()).unwrap_err(), &pq, 2);
    assert_eq!(m, r#"empty user id in column "user" at row 2"#);
    let o = ReadOptions {
        rating: Some(Column::Name("rating".into())),
        ..names("item", "rating")
    };
    // A float column is no id.
    let m = file_error(read(&pq, &o).unwrap_err(), &pq);
    assert!(
        m.contains(r#"column "rating" (the item) holds FLOAT"#),
        "{m}"
    );
    let pq2 = dir.file("n.parquet", "");
    write(
        &pq2,
        "message m { required binary user (STRING); required binary item (STRING); required double rating; }",
        vec![vec![s(&["a", "b"]), s(&["x", "y"]), f64s(&[1.0, f64::INFINITY])]],
    );
    let m = parse_error(read(&pq2, &ReadOptions::default()).unwrap_err(), &pq2, 2);
    assert_eq!(
        m,
        r#"column "rating" value Infinity is not finite at row 2"#
    );
}

#[test]
fn of_two_errors_on_one_row_the_earlier_column_is_reported_as_csv_does() {
    let dir = TempDir::new("pq-tie");
    let pq = dir.file("t.parquet", "");
    // Row 2: a null rating (found while reading) and an empty user id (found after).
    write(
        &pq,
        "message m { required binary user (STRING); required binary item (STRING); optional double rating; }",
        vec![vec![
            s(&["a", ""]),
            s(&["x", "y"]),
            Col::F64(vec![Some(1.0), None]),
        ]],
    );
    let m = parse_error(read(&pq, &ReadOptions::default()).unwrap_err(), &pq, 2);
    assert_eq!(m, r#"empty user id in column "user" at row 2"#);
}

#[test]
fn missing_columns_and_wrong_types_name_the_column() {
    let dir = TempDir::new("pq-cols");
    let pq = str_file(&dir);
    let m = file_error(read(&pq, &names("user", "movie")).unwrap_err(), &pq);
    assert_eq!(
        m,
        r#"no column named "movie" for the item (the file has: user, item, rating, ts)"#
    );
    let o = ReadOptions {
        time: Some(Column::Index(7)),
        ..Default::default()
    };
    let m = file_error(read(&pq, &o).unwrap_err(), &pq);
    assert_eq!(
        m,
        "no column #7 for the time: the file has 4 columns (user, item, rating, ts)"
    );
    let o = ReadOptions {
        rating: Some(Column::Name("item".into())),
        ..names("user", "ts")
    };
    let m = file_error(read(&pq, &o).unwrap_err(), &pq);
    assert!(
        m.starts_with(r#"column "item" (the rating) holds STRING (BYTE_ARRAY)"#),
        "{m}"
    );
    assert!(
        m.ends_with("must be numbers (FLOAT, DOUBLE or integers)"),
        "{m}"
    );
    let m = file_error(read(&pq, &names("user", "user")).unwrap_err(), &pq);
    assert!(m.contains("same column"), "{m}");
    // A list column is no id.
    let nested = dir.file("l.parquet", "");
    write(
        &nested,
        "message m { required binary user (STRING); required group item (LIST) { repeated group list { required int32 element; } } }",
        vec![],
    );
    let m = file_error(read(&nested, &ReadOptions::default()).unwrap_err(), &nested);
    assert!(
        m.contains(r#"column "item" (the item) is a nested type"#),
        "{m}"
    );
}

#[test]
fn files_that_are_not_parquet_or_cut_short() {
    let dir = TempDir::new("pq-notpq");
    let csv = dir.file("x.parquet", "u,i\n1,2\n");
    let m = file_error(read(&csv, &ReadOptions::default()).unwrap_err(), &csv);
    assert!(m.starts_with("not a Parquet file"), "{m}");
    let good = std::fs::read(str_file(&dir)).unwrap();
    for cut in [4, 11, good.len() / 2, good.len() - 1] {
        let p = dir.file("cut.parquet", &good[..cut]);
        let m = file_error(read(&p, &ReadOptions::default()).unwrap_err(), &p);
        assert!(m.starts_with("truncated Parquet file"), "{cut}: {m}");
    }
    let empty = dir.file("empty.parquet", "");
    write(&empty, STR_SCHEMA, vec![]);
    let m = file_error(read(&empty, &ReadOptions::default()).unwrap_err(), &empty);
    assert_eq!(m, "no data rows");
    // A Parquet file under another name is told apart from a bad CSV.
    let named_csv = dir.file("ratings.csv", &good);
    let m = file_error(
        read(&named_csv, &ReadOptions::default()).unwrap_err(),
        &named_csv,
    );
    assert!(
        m.starts_with("this is a Parquet file; give it a name ending in .parquet"),
        "{m}"
    );
}

/// Every single-byte corruption of a small file is read or refused with a coded error; none
/// panics or aborts (the decoder's panics are caught, see data/parquet.rs).
#[test]
fn corrupt_bytes_never_panic() {
    let dir = TempDir::new("pq-corrupt");
    let good = std::fs::read(str_file(&dir)).unwrap();
    let path = dir.file("c.parquet", "");
    // The hook would print each decoder panic caught here; the outcome is what is tested.
    // Only panics of this thread located in a dependency (an absolute path; the workspace's
    // are relative) are kept quiet: this test's own assertions and other tests' panics still
    // reach the hook.
    type Hook = dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync;
    let me = std::thread::current().id();
    let hook: Arc<Hook> = Arc::from(std::panic::take_hook());
    let others = Arc::clone(&hook);
    std::panic::set_hook(Box::new(move |info| {
        let in_dependency = info
            .location()
            .is_some_and(|l| Path::new(l.file()).is_absolute());
        if std::thread::current().id() != me || !in_dependency {
            others(info)
        }
    }));
    let mut errors = 0;
    for at in 4..good.len() - 4 {
        for flip in [0xFFu8, 0x01, 0x80] {
            let mut bad = good.clone();
            bad[at] ^= flip;
            std::fs::write(&path, &bad).unwrap();
            match read(&path, &ReadOptions::default()) {
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.code(), "ERR_CF_DATA", "{e}");
                    errors += 1;
                }
            }
        }
    }
    std::panic::set_hook(Box::new(move |info| hook(info)));
    assert!(errors > 0);
}

#[test]
fn a_parquet_dataset_equals_its_csv_dataset() {
    let dir = TempDir::new("pq-ds");
    let pq = str_file(&dir);
    let csv = dir.file(
        "s.csv",
        "user,item,rating,ts\nu1,i1,4.5,964982703\n u2 ,i2,0.1,964981247\nu1,i2,3.0,5\nü3,i1,0.001,-7\n",
    );
    let prep = PrepareOptions {
        values: Values::Rating,
        positive_threshold: Some(0.05),
        ..Default::default()
    };
    let load = |p: &Path| {
        Dataset::load(&[(None, p.to_path_buf())], &ReadOptions::default(), &prep).unwrap()
    };
    let (a, b) = (load(&pq), load(&csv));
    assert_eq!(
        a.user_ids.ids().collect::<Vec<_>>(),
        b.user_ids.ids().collect::<Vec<_>>()
    );
    assert_eq!(
        a.item_ids.ids().collect::<Vec<_>>(),
        b.item_ids.ids().collect::<Vec<_>>()
    );
    assert_eq!(
        (a.users, a.items, a.values, a.times),
        (b.users, b.items, b.values, b.times)
    );
    assert_eq!(a.stats, b.stats);
    // Pre-split files may mix formats.
    let mixed = Dataset::load(
        &[
            (Some(crate::data::prepare::Part::Train), pq.clone()),
            (Some(crate::data::prepare::Part::Test), csv.clone()),
        ],
        &ReadOptions::default(),
        &PrepareOptions::default(),
    )
    .unwrap();
    assert_eq!(mixed.stats.rows_read, 8);
}

/// Fixtures written by pyarrow (scripts/make-parquet-fixtures.py), so the reader is tested on
/// files others write, not only on its own crate's.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../__test__/fixtures")
        .join(name)
}

fn embedded_csv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/ml-latest-small/ratings.csv.gz")
}

#[test]
fn pyarrow_default_file_reads_as_the_embedded_csv() {
    same_as_csv(
        &fixture("ml-latest-small-ratings.parquet"),
        &embedded_csv(),
        &ReadOptions::default(),
    );
}

#[test]
fn pyarrow_typed_gzip_file_reads_as_the_csv_head() {
    let p = read(
        &fixture("ratings-head-typed-gzip.parquet"),
        &ReadOptions::default(),
    )
    .unwrap();
    let c = read(&embedded_csv(), &ReadOptions::default()).unwrap();
    let n = p.rows.len();
    assert_eq!(n, 2000);
    assert_eq!(p.pairs(), c.pairs()[..n]);
    assert_eq!(p.rows.ratings.unwrap(), c.rows.ratings.unwrap()[..n]);
    // TIMESTAMP(MILLIS) back to the CSV's Unix seconds.
    assert_eq!(p.rows.times.unwrap(), c.rows.times.unwrap()[..n]);
}

#[test]
fn a_codec_this_build_does_not_read_is_named() {
    let path = fixture("ratings-head-zstd.parquet");
    let m = file_error(read(&path, &ReadOptions::default()).unwrap_err(), &path);
    assert!(
        m.starts_with(r#"column "userId" is compressed with ZSTD"#) && m.contains("snappy"),
        "{m}"
    );
}
