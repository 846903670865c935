//! A fuzzed dataset (as in `read`) through a fuzzed split. Four bytes after the read options:
//!
//! | byte | knob |
//! | --- | --- |
//! | 8 | strategy: leave-last-out, random, time, given, none (% 5); pre-split files (bit of / 5) |
//! | 9, 10 | leave-last-out valid/test (0-3, 255: usize::MAX); random fractions (byte / 200); time cutoffs (table) |
//! | 11 | seed |
//!
//! Pre-split input is cut at `\n--\n` into train, valid and test files. Every outcome must be
//! a split whose parts hold each row once in well-formed matrices, or a coded one-line error.

#![no_main]

mod common;

use cf_core::data::csr::Csr;
use cf_core::data::prepare::Part;
use cf_core::data::split::{split, SplitStrategy};
use common::{check_dataset, check_error, load, options, OPTION_BYTES};
use libfuzzer_sys::fuzz_target;

const SPLIT_BYTES: usize = 4;

fn count(b: u8) -> usize {
    if b == 255 {
        usize::MAX
    } else {
        usize::from(b % 4)
    }
}

fn cutoff(b: u8) -> Option<i64> {
    [
        None,
        Some(i64::MIN),
        Some(-1),
        Some(0),
        Some(100),
        Some(964_982_703),
        Some(1_000_000_000),
        Some(i64::MAX),
    ][usize::from(b % 8)]
}

fn strategy(s: &[u8]) -> SplitStrategy {
    match s[0] % 5 {
        0 => SplitStrategy::LeaveLastOut {
            valid: count(s[1]),
            test: count(s[2]),
        },
        1 => SplitStrategy::Random {
            valid: f64::from(s[1]) / 200.0,
            test: f64::from(s[2]) / 200.0,
            seed: u64::from(s[3]),
        },
        2 => SplitStrategy::Time {
            valid_cutoff: cutoff(s[1]),
            test_cutoff: cutoff(s[2]).unwrap_or(i64::MAX),
        },
        3 => SplitStrategy::Given,
        _ => SplitStrategy::None,
    }
}

fn check_csr(m: &Csr, n_rows: usize, n_cols: usize) {
    assert_eq!((m.n_rows, m.n_cols), (n_rows, n_cols));
    assert_eq!(m.indptr.len(), n_rows + 1);
    assert_eq!(m.indptr[0], 0);
    assert_eq!(*m.indptr.last().unwrap(), m.nnz());
    assert_eq!(m.values.len(), m.nnz());
    for r in 0..n_rows {
        assert!(m.indptr[r] <= m.indptr[r + 1]);
        let (cols, vals) = m.row(r);
        assert!(cols.windows(2).all(|w| w[0] < w[1]), "row {r} not sorted");
        assert!(cols.iter().all(|&c| (c as usize) < n_cols));
        assert!(vals.iter().all(|v| v.is_finite()));
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < OPTION_BYTES + SPLIT_BYTES {
        return;
    }
    let (head, rest) = data.split_at(OPTION_BYTES);
    let (s, file) = rest.split_at(SPLIT_BYTES);
    let opts = options(head.try_into().unwrap());
    let pre_split = (s[0] / 5) % 2 == 1;
    let files: Vec<(Part, Vec<u8>)> = if pre_split {
        let mut parts = Vec::new();
        let mut rest = file;
        for part in [Part::Train, Part::Valid, Part::Test] {
            let cut = rest.windows(4).position(|w| w == b"\n--\n");
            let (this, next) = match cut {
                Some(i) if part != Part::Test => (&rest[..i + 1], &rest[i + 4..]),
                _ => (rest, &rest[rest.len()..]),
            };
            parts.push((part, this.to_vec()));
            rest = next;
            if rest.is_empty() {
                break;
            }
        }
        parts
    } else {
        vec![(Part::Train, file.to_vec())]
    };
    let ds = match load(&files, &opts, pre_split) {
        Ok(ds) => ds,
        Err(e) => return check_error(&e),
    };
    check_dataset(&ds, &opts, pre_split);
    let strategy = strategy(s);
    let sp = match split(&ds, &strategy) {
        Ok(sp) => sp,
        Err(e) => return check_error(&e),
    };
    let (nu, ni) = (ds.n_users(), ds.n_items());
    check_csr(&sp.train, nu, ni);
    assert!(sp.train.nnz() > 0);
    for m in [&sp.valid, &sp.test].into_iter().flatten() {
        check_csr(m, nu, ni);
        assert!(m.nnz() > 0, "an empty part is None");
    }
    let st = &sp.stats;
    assert_eq!(st.train_rows, sp.train.nnz());
    assert_eq!(st.valid_rows, sp.valid.as_ref().map_or(0, Csr::nnz));
    assert_eq!(st.test_rows, sp.test.as_ref().map_or(0, Csr::nnz));
    // Each row lands in exactly one part, and no part holds a (user, item) twice.
    assert_eq!(st.train_rows + st.valid_rows + st.test_rows, ds.len());
    if let SplitStrategy::LeaveLastOut { .. } = strategy {
        // Every user keeps a training row, so it can be scored.
        for u in 0..nu {
            assert!(sp.train.row_len(u) > 0, "user {u} has no training row");
        }
    }
});
