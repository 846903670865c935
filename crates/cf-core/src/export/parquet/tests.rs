//! The writers' files read back with the parquet crate's record reader, every value compared.

use std::path::PathBuf;

use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::record::{ListAccessor, RowAccessor};

use super::{write_factors_parquet, ParquetListSink, LIST_GROUP_ROWS};
use crate::error::Error;
use crate::export::{ListColumns, ListRows, ListSink};

/// A file path under the temp dir, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        TempFile(std::env::temp_dir().join(format!(
            "cf-core-export-{}-{n}-{tag}.parquet",
            std::process::id()
        )))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn columns() -> ListColumns {
    ListColumns {
        query: "user".into(),
        item: "item".into(),
    }
}

fn reader(f: &TempFile) -> SerializedFileReader<std::fs::File> {
    SerializedFileReader::new(std::fs::File::open(&f.0).unwrap()).unwrap()
}

/// Rows (query, rank, item, score) for `queries` users with `k` items each.
fn list(queries: usize, k: usize) -> (Vec<String>, Vec<u32>, Vec<String>, Vec<f32>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for q in 0..queries {
        for r in 0..k {
            out.0.push(format!("u{q}é"));
            out.1.push(r as u32 + 1);
            out.2.push(format!("i{}", (q * 7 + r) % 1000));
            out.3.push((q as f32).sin() * 1e3 / (r as f32 + 1.0));
        }
    }
    out
}

#[test]
fn list_round_trip_in_bounded_row_groups() {
    let f = TempFile::new("list");
    let (q, rank, item, score) = list(30_000, 10);
    let mut sink: Box<dyn ListSink> = Box::new(ParquetListSink::create(&f.0, &columns()).unwrap());
    // Blocks of 10 000 rows (1 000 queries), as a caller streams them.
    for start in (0..q.len()).step_by(10_000) {
        let end = (start + 10_000).min(q.len());
        let rows = ListRows {
            query: q[start..end].iter().map(|s| s.as_str()).collect(),
            rank: rank[start..end].to_vec(),
            item: item[start..end].iter().map(|s| s.as_str()).collect(),
            score: score[start..end].to_vec(),
        };
        sink.write_rows(&rows).unwrap();
    }
    // An empty block is no row group.
    sink.write_rows(&ListRows {
        query: vec![],
        rank: vec![],
        item: vec![],
        score: vec![],
    })
    .unwrap();
    assert_eq!(sink.finish().unwrap(), 300_000);

    let r = reader(&f);
    let meta = r.metadata();
    assert_eq!(meta.file_metadata().num_rows(), 300_000);
    // Groups close once LIST_GROUP_ROWS are buffered: two of 140 000 rows and the rest.
    let sizes: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
    assert_eq!(sizes, vec![140_000, 140_000, 20_000]);
    assert!(sizes
        .iter()
        .all(|&s| s as usize <= LIST_GROUP_ROWS + 10_000));
    let names: Vec<&str> = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name())
        .collect();
    assert_eq!(names, ["user", "rank", "item", "score"]);
    for (k, row) in r.get_row_iter(None).unwrap().enumerate() {
        let row = row.unwrap();
        assert_eq!(row.get_string(0).unwrap(), &q[k]);
        assert_eq!(row.get_int(1).unwrap(), rank[k] as i32);
        assert_eq!(row.get_string(2).unwrap(), &item[k]);
        assert_eq!(row.get_float(3).unwrap().to_bits(), score[k].to_bits());
    }
}

#[test]
fn an_empty_list_file_is_valid() {
    let f = TempFile::new("empty");
    let sink = Box::new(ParquetListSink::create(&f.0, &columns()).unwrap());
    assert_eq!(sink.finish().unwrap(), 0);
    let r = reader(&f);
    assert_eq!(r.metadata().file_metadata().num_rows(), 0);
    assert_eq!(r.metadata().file_metadata().schema_descr().num_columns(), 4);
}

#[test]
fn list_errors() {
    let f = TempFile::new("bad");
    let same = ListColumns {
        query: "item".into(),
        item: "item".into(),
    };
    match ParquetListSink::create(&f.0, &same) {
        Err(Error::InvalidParam { name, message }) => {
            assert_eq!(name, "columns");
            assert!(message.contains("\"item\" is used twice"), "{message}");
        }
        other => panic!("{:?}", other.err()),
    }
    let mut sink = ParquetListSink::create(&f.0, &columns()).unwrap();
    let uneven = ListRows {
        query: vec!["a"],
        rank: vec![1, 2],
        item: vec!["x", "y"],
        score: vec![1.0, 2.0],
    };
    let e = sink.write_rows(&uneven).unwrap_err();
    assert!(e.to_string().contains("query 1, rank 2"), "{e}");
    let dir = std::env::temp_dir()
        .join("cf-core-no-such-dir")
        .join("x.parquet");
    match ParquetListSink::create(&dir, &columns()) {
        Err(Error::Io { path, .. }) => assert_eq!(path, dir),
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn factors_round_trip_as_list_of_float() {
    let f = TempFile::new("factors");
    let k = 48;
    let n = 50_000; // over FACTOR_GROUP_VALUES / k rows, so more than one row group
    let ids: Vec<String> = (0..n).map(|i| format!("id{i}")).collect();
    let ids_ref: Vec<&str> = ids.iter().map(|s| s.as_str()).collect();
    let factors: Vec<f32> = (0..n * k).map(|j| (j as f32 * 0.37).cos()).collect();
    write_factors_parquet(&f.0, &ids_ref, &factors, k).unwrap();

    let r = reader(&f);
    assert_eq!(r.metadata().file_metadata().num_rows(), n as i64);
    assert!(r.num_row_groups() > 1);
    let leaf = r.metadata().file_metadata().schema_descr().column(1);
    assert_eq!(leaf.path().string(), "factors.list.element");
    for (row_k, row) in r.get_row_iter(None).unwrap().enumerate() {
        let row = row.unwrap();
        assert_eq!(row.get_string(0).unwrap(), &ids[row_k]);
        let list = row.get_list(1).unwrap();
        assert_eq!(list.len(), k);
        for j in 0..k {
            assert_eq!(
                list.get_float(j).unwrap().to_bits(),
                factors[row_k * k + j].to_bits()
            );
        }
    }
}

#[test]
fn factor_shape_errors() {
    let f = TempFile::new("fbad");
    let e = write_factors_parquet(&f.0, &["a", "b"], &[1.0; 5], 3).unwrap_err();
    assert_eq!(
        e.to_string(),
        "factors: holds 5 values, where 2 ids of 3 factors need 6"
    );
    let e = write_factors_parquet(&f.0, &["a"], &[], 0).unwrap_err();
    assert_eq!(e.to_string(), "k: must be at least 1");
}

/// Writes a list file and a factor table into `$CF_PARQUET_SAMPLES` for
/// scripts/check-parquet.py, which reads them back with pyarrow. Values are exact in f32
/// (multiples of 1/8), so the script compares with `==`.
#[test]
#[ignore = "run by scripts/check-parquet.py"]
fn write_samples_for_pyarrow() {
    let dir = PathBuf::from(std::env::var("CF_PARQUET_SAMPLES").expect("CF_PARQUET_SAMPLES"));
    let cols = ListColumns {
        query: "item".into(),
        item: "similar_item".into(),
    };
    let mut sink = Box::new(ParquetListSink::create(&dir.join("similar.parquet"), &cols).unwrap());
    let (queries, k) = (20_000usize, 10usize);
    let ids: Vec<String> = (0..queries).map(|q| format!("q{q}·é")).collect();
    let items: Vec<String> = (0..1000).map(|i| format!("i{i}")).collect();
    for block in (0..queries).collect::<Vec<_>>().chunks(777) {
        let mut rows = ListRows {
            query: vec![],
            rank: vec![],
            item: vec![],
            score: vec![],
        };
        for &q in block {
            for r in 0..k {
                rows.query.push(&ids[q]);
                rows.rank.push(r as u32 + 1);
                rows.item.push(&items[(q * 7 + r) % 1000]);
                rows.score.push((q * 10 + r) as f32 / 8.0 - 100.0);
            }
        }
        sink.write_rows(&rows).unwrap();
    }
    assert_eq!(sink.finish().unwrap(), (queries * k) as u64);

    let (n, k) = (30_000usize, 40usize);
    let ids: Vec<String> = (0..n).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(|s| s.as_str()).collect();
    let factors: Vec<f32> = (0..n * k)
        .map(|j| (j % 4096) as f32 / 8.0 - 256.0)
        .collect();
    write_factors_parquet(&dir.join("factors.parquet"), &refs, &factors, k).unwrap();
}
