//! The list writers (quoting, escaping, formats) and the chunked exporter, on small models.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::lists::{write_recommendations, write_similar_items, Ids, CHUNK};
use super::*;
use crate::data::csr::Csr;
use crate::models::als::{AlsModel, AlsParams};
use crate::models::popularity::Popularity;
use crate::params::{Params, Value};
use crate::topk::{self, SeenItems};

/// A file path in a fresh temp folder, the folder removed on drop.
struct Temp(PathBuf);

impl Temp {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("cf-core-export-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Temp(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn columns() -> ListColumns {
    ListColumns {
        query: "user".into(),
        item: "item".into(),
    }
}

const AWKWARD: [&str; 6] = [
    "plain",
    "a,b",
    "say \"hi\"",
    "two\nlines",
    "crlf\r\n",
    "ünï ✓ 🎬",
];

fn awkward_rows() -> ListRows<'static> {
    ListRows {
        query: AWKWARD.to_vec(),
        rank: (1..=AWKWARD.len() as u32).collect(),
        item: AWKWARD.iter().rev().copied().collect(),
        score: vec![0.5, -1.25, 1e-7, 3.0e30, 0.1, 0.0],
    }
}

#[test]
fn csv_quotes_only_what_needs_it_and_reads_back_exactly() {
    let t = Temp::new();
    let path = t.path("l.csv");
    let mut sink = open_sink(&path, Format::Csv, &columns()).unwrap();
    sink.write_rows(&awkward_rows()).unwrap();
    assert_eq!(sink.finish().unwrap(), 6);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("user,rank,item,score\nplain,1,ünï ✓ 🎬,0.5\n\"a,b\",2,"));
    assert!(text.contains("\"say \"\"hi\"\"\""));
    let mut r = ::csv::Reader::from_path(&path).unwrap();
    let got: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(got.len(), 6);
    for (j, row) in got.iter().enumerate() {
        assert_eq!(row[0], AWKWARD[j]);
        assert_eq!(row[1], (j + 1).to_string());
        assert_eq!(row[2], AWKWARD[5 - j]);
    }
    // Shortest text that reads back as the same float32.
    let scores: Vec<f32> = got.iter().map(|r| r[3].parse().unwrap()).collect();
    assert_eq!(scores, awkward_rows().score);
    assert_eq!(got[0][3], "0.5");
}

#[test]
fn jsonl_escapes_ids_and_writes_one_object_per_line() {
    let t = Temp::new();
    let path = t.path("l.jsonl");
    let mut sink = open_sink(&path, Format::Jsonl, &columns()).unwrap();
    let mut rows = awkward_rows();
    rows.query[0] = "tab\there \\ \u{1}";
    rows.score[5] = f32::NAN;
    sink.write_rows(&rows).unwrap();
    sink.write_rows(&rows).unwrap();
    assert_eq!(sink.finish().unwrap(), 12);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 12);
    assert_eq!(
        lines[0],
        r#"{"user":"tab\there \\ \u0001","rank":1,"item":"ünï ✓ 🎬","score":0.5}"#
    );
    assert_eq!(
        lines[2],
        r#"{"user":"say \"hi\"","rank":3,"item":"two\nlines","score":0.0000001}"#
    );
    assert_eq!(
        lines[4],
        r#"{"user":"crlf\r\n","rank":5,"item":"a,b","score":0.1}"#
    );
    assert!(lines[5].ends_with(r#""score":null}"#));
}

#[test]
fn formats_come_from_names_and_extensions() {
    let p = |s: &str| Format::from_path("out", std::path::Path::new(s));
    assert_eq!(p("a/recs.csv").unwrap(), Format::Csv);
    assert_eq!(p("RECS.JSONL").unwrap(), Format::Jsonl);
    assert_eq!(p("r.parquet").unwrap(), Format::Parquet);
    let e = p("recs.txt").unwrap_err();
    assert_eq!(e.code(), "ERR_CF_INVALID_ARG");
    assert_eq!(
        e.to_string(),
        "out: recs.txt has the unknown extension .txt; the format comes from it (known: .csv, .jsonl, .parquet)"
    );
    assert!(p("recs")
        .unwrap_err()
        .to_string()
        .contains("has no extension"));
    assert_eq!(Format::from_name("format", "CSV").unwrap(), Format::Csv);
    assert!(Format::from_name("format", "xml")
        .unwrap_err()
        .to_string()
        .starts_with("format: unknown format \"xml\" (known: csv, jsonl, parquet)"));
}

#[test]
fn an_unwritable_path_is_an_io_error_naming_it() {
    let t = Temp::new();
    let path = t.path("missing/dir/l.csv");
    for f in [Format::Csv, Format::Jsonl] {
        let e = open_sink(&path, f, &columns()).err().unwrap();
        assert_eq!(e.code(), "ERR_CF_IO");
        assert!(e
            .to_string()
            .starts_with(&format!("cannot write {}", path.display())));
    }
}

/// 5 users, 4 items: popularity 3 > 1 > 2 > 0; user 0 has seen item 3, user 1 items 1 and 2.
fn popularity() -> (Popularity, Csr) {
    let m = Popularity::from_counts(vec![1.0, 3.0, 2.0, 4.0], 5).unwrap();
    let seen = Csr::from_coo(5, 4, &[0, 1, 1], &[3, 1, 2], &[1.0; 3]).unwrap();
    (m, seen)
}

fn read_csv(path: &std::path::Path) -> Vec<Vec<String>> {
    ::csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

#[test]
fn recommendations_match_recommend_for_every_user_with_original_ids() {
    let (m, seen) = popularity();
    let t = Temp::new();
    let path = t.path("r.csv");
    let (users, items) = (ids("u", 5), ids("i", 4));
    let exclude: [&dyn SeenItems; 1] = [&seen];
    let mut calls = Vec::new();
    let rows = write_recommendations(
        &m,
        None,
        10,
        &exclude,
        Ids {
            users: Some(&users),
            items: Some(&items),
        },
        || open_sink(&path, Format::Csv, &columns()),
        &mut |d, t| {
            calls.push((d, t));
            true
        },
    )
    .unwrap();
    assert_eq!(calls, vec![(0, 5), (5, 5)]);
    let got = read_csv(&path);
    // k = 10 is capped at the 4 items; filtered users get fewer.
    assert_eq!(rows, 3 + 2 + 4 + 4 + 4);
    assert_eq!(got.len() as u64, rows);
    let mut want = Vec::new();
    for u in 0..5u32 {
        for (r, (i, s)) in topk::recommend(&m, u, 10, &exclude)
            .unwrap()
            .into_iter()
            .enumerate()
        {
            want.push(vec![
                format!("u{u}"),
                (r + 1).to_string(),
                format!("i{i}"),
                s.to_string(),
            ]);
        }
    }
    assert_eq!(got, want);
}

#[test]
fn a_subset_of_users_without_ids_is_labelled_by_index() {
    let (m, _) = popularity();
    let t = Temp::new();
    let path = t.path("r.jsonl");
    let n = write_recommendations(
        &m,
        Some(&[4, 2]),
        1,
        &[],
        Ids::default(),
        || open_sink(&path, Format::Jsonl, &columns()),
        &mut |_, _| true,
    )
    .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"user\":\"4\",\"rank\":1,\"item\":\"3\",\"score\":4}\n{\"user\":\"2\",\"rank\":1,\"item\":\"3\",\"score\":4}\n"
    );
}

#[test]
fn bad_arguments_are_errors_naming_them() {
    let (m, _) = popularity();
    let t = Temp::new();
    let run = |users: Option<&[u32]>, k: usize, ids: Ids| {
        let open = || open_sink(&t.path("r.csv"), Format::Csv, &columns());
        write_recommendations(&m, users, k, &[], ids, open, &mut |_, _| true)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        run(Some(&[0, 9]), 2, Ids::default()),
        "users: index 9 at position 1 is out of range (model has 5 users)"
    );
    assert!(run(None, 0, Ids::default()).starts_with("k: must be >= 1"));
    let short = ids("u", 3);
    assert_eq!(
        run(
            None,
            2,
            Ids {
                users: Some(&short),
                items: None
            }
        ),
        "userIds: has 3 ids, the model 5 users"
    );
    let e = write_similar_items(
        &m,
        None,
        2,
        None,
        || open_sink(&t.path("s.csv"), Format::Csv, &columns()),
        &mut |_, _| true,
    )
    .unwrap_err();
    assert_eq!(e.code(), "ERR_CF_UNSUPPORTED");
    // Every refusal came before a file was created.
    assert!(!t.path("r.csv").exists() && !t.path("s.csv").exists());
}

#[test]
fn progress_returning_false_cancels() {
    let (m, _) = popularity();
    let t = Temp::new();
    let e = write_recommendations(
        &m,
        None,
        2,
        &[],
        Ids::default(),
        || open_sink(&t.path("r.csv"), Format::Csv, &columns()),
        &mut |d, _| d == 0,
    )
    .unwrap_err();
    assert_eq!(e.code(), "ERR_CF_CANCELLED");
}

#[test]
fn similar_items_in_chunks_match_similar_items_one_by_one() {
    // More items than a chunk, so the export takes several steps.
    let n_items = CHUNK + 7;
    let factors = 3;
    let items: Vec<f32> = (0..n_items * factors)
        .map(|j| ((j * 7919 % 1013) as f32 / 1013.0) - 0.5)
        .collect();
    let p = AlsParams::from_raw([("factors", Value::Num(factors as f64))]).unwrap();
    let m = AlsModel::from_factors(p, vec![0.1; 2 * factors], items).unwrap();
    let t = Temp::new();
    let path = t.path("s.csv");
    let cols = ListColumns {
        query: "item".into(),
        item: "similar_item".into(),
    };
    let mut steps = 0;
    let rows = write_similar_items(
        &m,
        None,
        5,
        None,
        || open_sink(&path, Format::Csv, &cols),
        &mut |_, _| {
            steps += 1;
            true
        },
    )
    .unwrap();
    assert_eq!(steps, 3);
    assert_eq!(rows, 5 * n_items as u64);
    let got = read_csv(&path);
    for q in [0usize, CHUNK - 1, CHUNK, n_items - 1] {
        let want = topk::similar_items(&m, q as u32, 5).unwrap();
        for (r, (i, s)) in want.into_iter().enumerate() {
            let row = &got[q * 5 + r];
            assert_eq!(
                row,
                &vec![
                    q.to_string(),
                    (r + 1).to_string(),
                    i.to_string(),
                    s.to_string()
                ]
            );
        }
    }
}
