use crate::data::csr::Csr;
use crate::data::ids::IdMap;
use crate::data::prepare::{Dataset, Part};
use crate::data::split::{split, Split, SplitStats, SplitStrategy};
use crate::error::Error;

/// A dataset over users/items named by their index, one row per (user, item), item = row.
fn dataset(users: &[u32], times: Option<Vec<i64>>) -> Dataset {
    let n_users = users.iter().max().map_or(0, |&u| u + 1);
    Dataset {
        user_ids: IdMap::from_ids((0..n_users).map(|u| u.to_string())).unwrap(),
        item_ids: IdMap::from_ids((0..users.len()).map(|i| i.to_string())).unwrap(),
        users: users.to_vec(),
        items: (0..users.len() as u32).collect(),
        values: vec![1.0; users.len()],
        times,
        ..Default::default()
    }
}

/// The part of each row (item = row index), read back from the matrices.
fn parts_of(s: &Split, ds: &Dataset) -> Vec<Part> {
    let has = |m: &Option<Csr>, k: usize| {
        m.as_ref()
            .is_some_and(|m| m.contains(ds.users[k] as usize, ds.items[k]))
    };
    (0..ds.len())
        .map(|k| {
            let in_train = s.train.contains(ds.users[k] as usize, ds.items[k]);
            let found = [in_train, has(&s.valid, k), has(&s.test, k)];
            assert_eq!(
                found.iter().filter(|b| **b).count(),
                1,
                "row {k}: {found:?}"
            );
            match found {
                [true, _, _] => Part::Train,
                [_, true, _] => Part::Valid,
                _ => Part::Test,
            }
        })
        .collect()
}

use Part::{Test as S, Train as T, Valid as V};

#[test]
fn leave_last_out_by_time_with_ties_in_file_order() {
    // User 0: times 30, 10, 20, 20 -> order rows 1, 2, 3, 0: row 0 (latest) to test, and of
    // the tied rows 2 and 3 the later in the file (3) to validation.
    let ds = dataset(&[0, 0, 0, 0, 1, 1, 1], Some(vec![30, 10, 20, 20, 5, 5, 5]));
    let s = split(&ds, &SplitStrategy::LeaveLastOut { valid: 1, test: 1 }).unwrap();
    assert_eq!(parts_of(&s, &ds), vec![S, T, T, V, T, V, S]);
    assert_eq!(
        s.stats,
        SplitStats {
            train_rows: 3,
            valid_rows: 2,
            test_rows: 2
        }
    );
    assert_eq!((s.train.n_rows, s.train.n_cols), (2, 7));
}

#[test]
fn leave_last_out_without_times_uses_file_order() {
    let ds = dataset(&[0, 1, 0, 1, 0, 0], None);
    let s = split(&ds, &SplitStrategy::LeaveLastOut { valid: 1, test: 2 }).unwrap();
    // User 0: rows 0, 2, 4, 5 -> test 4, 5; valid 2. User 1: rows 1, 3 -> test 3 only, since
    // a user keeps one training row.
    assert_eq!(parts_of(&s, &ds), vec![T, T, V, S, S, S]);
}

#[test]
fn leave_last_out_keeps_one_training_row() {
    let ds = dataset(&[0, 1, 1, 2, 2, 2], None);
    let s = split(&ds, &SplitStrategy::LeaveLastOut { valid: 1, test: 1 }).unwrap();
    assert_eq!(parts_of(&s, &ds), vec![T, T, S, T, V, S]);
    let s = split(&ds, &SplitStrategy::LeaveLastOut { valid: 0, test: 0 }).unwrap();
    assert_eq!(parts_of(&s, &ds), vec![T; 6]);
    assert!(s.valid.is_none() && s.test.is_none());
}

#[test]
fn random_split_fractions_and_seed() {
    // 3 users with 10 rows each, interleaved.
    let users: Vec<u32> = (0..30).map(|k| k % 3).collect();
    let ds = dataset(&users, None);
    let strategy = |seed| SplitStrategy::Random {
        valid: 0.1,
        test: 0.2,
        seed,
    };
    let a = parts_of(&split(&ds, &strategy(42)).unwrap(), &ds);
    let b = parts_of(&split(&ds, &strategy(42)).unwrap(), &ds);
    let c = parts_of(&split(&ds, &strategy(7)).unwrap(), &ds);
    assert_eq!(a, b);
    assert_ne!(a, c);
    for parts in [&a, &c] {
        for u in 0..3 {
            let mine: Vec<Part> = (0..30).filter(|k| k % 3 == u).map(|k| parts[k]).collect();
            let count = |p| mine.iter().filter(|&&q| q == p).count();
            // round(0.2 * 10) = 2 to test, round(0.1 * 10) = 1 to validation, per user.
            assert_eq!((count(T), count(V), count(S)), (7, 1, 2), "user {u}");
        }
    }
    let s = split(&ds, &strategy(42)).unwrap();
    assert_eq!(
        s.stats,
        SplitStats {
            train_rows: 21,
            valid_rows: 3,
            test_rows: 6
        }
    );
}

#[test]
fn random_split_rejects_bad_fractions() {
    let ds = dataset(&[0, 1], None);
    for (valid, test) in [(-0.1, 0.1), (0.0, 1.0), (0.5, 0.5), (f64::NAN, 0.1)] {
        let e = split(
            &ds,
            &SplitStrategy::Random {
                valid,
                test,
                seed: 1,
            },
        )
        .unwrap_err();
        match e {
            Error::InvalidParam { name, message } => {
                assert_eq!(name, "split");
                assert!(message.contains("valid + test < 1"), "{message}");
            }
            other => panic!("({valid}, {test}): {other:?}"),
        }
    }
}

#[test]
fn random_split_can_leave_no_training_rows() {
    // One row per user and valid 0.5: every row rounds to validation.
    let ds = dataset(&[0, 1, 2], None);
    let e = split(
        &ds,
        &SplitStrategy::Random {
            valid: 0.5,
            test: 0.0,
            seed: 3,
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), "ERR_CF_SPLIT");
    assert_eq!(
        e.to_string(),
        "the split leaves no training data (3 rows, all in validation or test); move the cutoffs or lower the fractions"
    );
}

#[test]
fn time_cutoffs() {
    let ds = dataset(&[0, 1, 0, 1, 0, 1], Some(vec![1, 2, 3, 4, 5, 6]));
    let s = split(
        &ds,
        &SplitStrategy::Time {
            valid_cutoff: Some(4),
            test_cutoff: 5,
        },
    )
    .unwrap();
    assert_eq!(parts_of(&s, &ds), vec![T, T, T, V, S, S]);
    let s = split(
        &ds,
        &SplitStrategy::Time {
            valid_cutoff: None,
            test_cutoff: 6,
        },
    )
    .unwrap();
    assert_eq!(parts_of(&s, &ds), vec![T, T, T, T, T, S]);
    assert!(s.valid.is_none());
    // Equal cutoffs: nothing is left for validation.
    let s = split(
        &ds,
        &SplitStrategy::Time {
            valid_cutoff: Some(3),
            test_cutoff: 3,
        },
    )
    .unwrap();
    assert_eq!(parts_of(&s, &ds), vec![T, T, S, S, S, S]);
}

#[test]
fn time_split_errors() {
    let ds = dataset(&[0, 1, 0, 1], None);
    let e = split(
        &ds,
        &SplitStrategy::Time {
            valid_cutoff: None,
            test_cutoff: 3,
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "split strategy 'time' needs a time column (data.columns.time)"
    );
    let ds = dataset(&[0, 1, 0, 1], Some(vec![1, 2, 3, 4]));
    let e = split(
        &ds,
        &SplitStrategy::Time {
            valid_cutoff: Some(4),
            test_cutoff: 3,
        },
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidParam { ref name, .. } if name == "split.valid_cutoff"));
    let e = split(
        &ds,
        &SplitStrategy::Time {
            valid_cutoff: None,
            test_cutoff: 1,
        },
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::Split(ref m) if m.starts_with("the split leaves no training data (4 rows")),
        "{e:?}"
    );
}

#[test]
fn none_is_all_training() {
    let ds = dataset(&[0, 1, 0], Some(vec![3, 2, 1]));
    let s = split(&ds, &SplitStrategy::None).unwrap();
    assert_eq!(parts_of(&s, &ds), vec![T, T, T]);
    assert!(s.valid.is_none() && s.test.is_none());
    assert_eq!(s.stats.train_rows, 3);
    assert_eq!(s.train.indptr, vec![0, 2, 3]);
}

#[test]
fn given_parts() {
    let mut ds = dataset(&[0, 1, 0, 1, 1], None);
    ds.parts = Some(vec![T, T, V, S, S]);
    for strategy in [SplitStrategy::Given, SplitStrategy::None] {
        let s = split(&ds, &strategy).unwrap();
        assert_eq!(parts_of(&s, &ds), vec![T, T, V, S, S]);
        assert_eq!(
            s.stats,
            SplitStats {
                train_rows: 2,
                valid_rows: 1,
                test_rows: 2
            }
        );
    }
    // Any other strategy over pre-split data is a mistake in the config.
    for strategy in [
        SplitStrategy::LeaveLastOut { valid: 1, test: 1 },
        SplitStrategy::Random {
            valid: 0.1,
            test: 0.1,
            seed: 1,
        },
    ] {
        let e = split(&ds, &strategy).unwrap_err();
        assert!(
            matches!(e, Error::Split(ref m) if m.contains("use split strategy 'none'")),
            "{e:?}"
        );
    }
    // Pre-split data whose training part is empty (e.g. filtered away).
    ds.parts = Some(vec![V, V, S, S, S]);
    let e = split(&ds, &SplitStrategy::Given).unwrap_err();
    assert!(matches!(e, Error::Split(ref m) if m.contains("leaves no training data")));
}

#[test]
fn given_needs_pre_split_files() {
    let ds = dataset(&[0, 1], None);
    let e = split(&ds, &SplitStrategy::Given).unwrap_err();
    assert_eq!(
        e.to_string(),
        "split strategy 'given' needs pre-split files (data.train / data.valid / data.test)"
    );
}

#[test]
fn values_carry_into_the_matrices() {
    let mut ds = dataset(&[0, 0, 1], None);
    ds.values = vec![2.5, 4.0, 1.5];
    ds.parts = Some(vec![T, S, T]);
    let s = split(&ds, &SplitStrategy::Given).unwrap();
    assert_eq!(s.train.row(0), (&[0u32][..], &[2.5f32][..]));
    assert_eq!(s.train.row(1), (&[2u32][..], &[1.5f32][..]));
    assert_eq!(
        s.test.as_ref().unwrap().row(0),
        (&[1u32][..], &[4.0f32][..])
    );
}
