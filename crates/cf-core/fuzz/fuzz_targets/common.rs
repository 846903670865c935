//! What both targets share: options decoded from the first input bytes, the loader run over
//! the rest as if it were a file, and the properties every result (or error) must have.
//!
//! Input layout (OPTION_BYTES, then the file):
//!
//! | byte | knob |
//! | --- | --- |
//! | 0 | delimiter: detect, `,` tab `::` `\|` `;` space, or byte 1 (7 and up) |
//! | 1 | the raw delimiter byte for choice 7 (any ASCII byte; `"`, `\n`, `\r` mean detect) |
//! | 2 | header: detect, true, false |
//! | 3 | user column (low nibble), item column (high nibble), see `column` |
//! | 4 | rating column (low nibble), time column (high nibble) |
//! | 5 | values binary/rating/log1p (% 3), duplicates sum/last (bit of / 3), gzip the file (bit of / 6) |
//! | 6 | positive_threshold: none, 0, 0.5, 3, 4, -1, 3e38 |
//! | 7 | min_user_interactions (low nibble), min_item_interactions (high nibble) |

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use cf_core::data::prepare::{Dataset, Duplicates, Part, PrepareOptions, Values};
use cf_core::data::read::{Column, Delimiter, ReadOptions};
use cf_core::Error;

pub const OPTION_BYTES: usize = 8;

/// The name the fuzzed bytes go by in errors; every file-level error must carry it.
pub fn path_of(part: Part) -> PathBuf {
    PathBuf::from(match part {
        Part::Train => "fuzz-train.csv",
        Part::Valid => "fuzz-valid.csv",
        Part::Test => "fuzz-test.csv",
    })
}

const NAMES: [&str; 6] = ["userId", "movieId", "rating", "timestamp", "user", ""];

/// 0-1: default; 2-7: index 0-5; 8-13: a name; 14: the largest index JS can pass (u32);
/// 15: the largest index Rust can.
fn column(n: u8) -> Option<Column> {
    match n & 0xf {
        0 | 1 => None,
        i @ 2..=7 => Some(Column::Index(usize::from(i - 2))),
        i @ 8..=13 => Some(Column::Name(NAMES[usize::from(i - 8)].into())),
        14 => Some(Column::Index(u32::MAX as usize)),
        _ => Some(Column::Index(usize::MAX)),
    }
}

const THRESHOLDS: [Option<f32>; 8] = [
    None,
    None,
    Some(0.0),
    Some(0.5),
    Some(3.0),
    Some(4.0),
    Some(-1.0),
    Some(3e38),
];

pub struct Options {
    pub read: ReadOptions,
    pub prep: PrepareOptions,
    pub gzip: bool,
}

pub fn options(b: &[u8; OPTION_BYTES]) -> Options {
    let delimiter = match b[0] % 8 {
        0 => None,
        1 => Some(Delimiter::Byte(b',')),
        2 => Some(Delimiter::Byte(b'\t')),
        3 => Some(Delimiter::DoubleColon),
        4 => Some(Delimiter::Byte(b'|')),
        5 => Some(Delimiter::Byte(b';')),
        6 => Some(Delimiter::Byte(b' ')),
        // What Delimiter::parse accepts: one ASCII character other than a quote or a line
        // break (those it refuses; here they mean "detect").
        _ => match b[1] & 0x7f {
            b'"' | b'\n' | b'\r' => None,
            c => Some(Delimiter::Byte(c)),
        },
    };
    let header = [None, Some(true), Some(false)][usize::from(b[2] % 3)];
    let read = ReadOptions {
        delimiter,
        header,
        user: column(b[3]),
        item: column(b[3] >> 4),
        rating: column(b[4]),
        time: column(b[4] >> 4),
    };
    let prep = PrepareOptions {
        values: [Values::Binary, Values::Rating, Values::Log1p][usize::from(b[5] % 3)],
        duplicates: if (b[5] / 3) % 2 == 0 {
            Duplicates::Sum
        } else {
            Duplicates::Last
        },
        positive_threshold: THRESHOLDS[usize::from(b[6] % 8)],
        min_user_interactions: u32::from(b[7] & 0xf),
        min_item_interactions: u32::from(b[7] >> 4),
    };
    Options {
        read,
        prep,
        gzip: (b[5] / 6) % 2 == 1,
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Loads `files` (part, bytes) through the real loader, the bytes standing in for the files.
pub fn load(files: &[(Part, Vec<u8>)], opts: &Options, pre_split: bool) -> Result<Dataset, Error> {
    let sources: Vec<(Option<Part>, PathBuf)> = files
        .iter()
        .map(|(p, _)| (pre_split.then_some(*p), path_of(*p)))
        .collect();
    Dataset::load_with(&sources, &opts.read, &opts.prep, |path: &Path| {
        let (_, bytes) = files
            .iter()
            .find(|(p, _)| path_of(*p) == path)
            .expect("a path we gave");
        Ok(if opts.gzip {
            gzip(bytes)
        } else {
            bytes.clone()
        })
    })
}

/// What a person sees must be a single line with a stable code (README "Errors"), and a
/// complaint about a row or a file must name the file.
pub fn check_error(e: &Error) {
    let msg = e.to_string();
    assert!(e.code().starts_with("ERR_CF_"), "{msg}");
    assert!(!msg.is_empty());
    assert!(
        !msg.contains('\n') && !msg.contains('\r'),
        "error message spans lines: {msg:?}"
    );
    match e {
        Error::Parse { path, line, .. } => {
            assert!(path.to_string_lossy().starts_with("fuzz-"), "{msg}");
            assert!(*line >= 1, "a row error names line 0: {msg}");
        }
        Error::File { path, .. } | Error::Io { path, .. } => {
            assert!(path.to_string_lossy().starts_with("fuzz-"), "{msg}")
        }
        Error::Data(_) | Error::InvalidParam { .. } | Error::Split(_) => {}
        other => panic!("the loader raised {} ({other})", other.code()),
    }
}

/// The properties of a loaded dataset that the rest of the engine relies on.
pub fn check_dataset(ds: &Dataset, opts: &Options, pre_split: bool) {
    let n = ds.len();
    assert_eq!(ds.items.len(), n);
    assert_eq!(ds.values.len(), n);
    if let Some(t) = &ds.times {
        assert_eq!(t.len(), n);
    }
    assert_eq!(ds.parts.as_ref().map(|p| p.len()), pre_split.then_some(n));
    assert!(n > 0);
    assert!(ds.n_users() >= 2 && ds.n_items() >= 2);
    // Dense: every id has a row, every index is in range.
    let mut user_seen = vec![false; ds.n_users()];
    let mut item_seen = vec![false; ds.n_items()];
    for k in 0..n {
        user_seen[ds.users[k] as usize] = true;
        item_seen[ds.items[k] as usize] = true;
    }
    assert!(user_seen.iter().all(|&s| s), "a user id without a row");
    assert!(item_seen.iter().all(|&s| s), "an item id without a row");
    for (k, &v) in ds.values.iter().enumerate() {
        assert!(v.is_finite(), "row {k} has value {v}");
        match opts.prep.values {
            Values::Binary => assert_eq!(v, 1.0),
            Values::Rating | Values::Log1p => assert!(v >= 0.0, "row {k} has value {v}"),
        }
    }
    // Merged: one row per (part, user, item).
    let mut keys: Vec<(u8, u32, u32)> = (0..n)
        .map(|k| {
            let part = ds.parts.as_ref().map_or(0, |p| p[k] as u8);
            (part, ds.users[k], ds.items[k])
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), n, "duplicate (part, user, item) rows");
    let s = &ds.stats;
    assert_eq!(
        s.rows_read - s.duplicates_merged - s.below_threshold - s.removed_by_min_counts,
        s.rows
    );
    assert_eq!((s.rows, s.users, s.items), (n, ds.n_users(), ds.n_items()));
    for id in ds.user_ids.ids().chain(ds.item_ids.ids()) {
        assert!(!id.is_empty(), "an empty id");
    }
}
