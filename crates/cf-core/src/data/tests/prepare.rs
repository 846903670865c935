use std::path::PathBuf;

use super::{file_error, TempDir};
use crate::data::prepare::{Dataset, Duplicates, Part, PrepareOptions, PrepareStats, Values};
use crate::data::read::ReadOptions;
use crate::error::{Error, Result};

fn load_one(dir: &TempDir, content: &str, prep: &PrepareOptions) -> Result<Dataset> {
    let path = dir.file("data.csv", content);
    Dataset::load(&[(None, path)], &ReadOptions::default(), prep)
}

fn load_str(content: &str, prep: &PrepareOptions) -> Result<Dataset> {
    load_one(&TempDir::new("prep"), content, prep)
}

/// (user id, item id, value) of each row, in order.
fn triples(ds: &Dataset) -> Vec<(String, String, f32)> {
    (0..ds.len())
        .map(|k| {
            (
                ds.user_ids.id(ds.users[k]).unwrap().to_string(),
                ds.item_ids.id(ds.items[k]).unwrap().to_string(),
                ds.values[k],
            )
        })
        .collect()
}

fn t(list: &[(&str, &str, f32)]) -> Vec<(String, String, f32)> {
    list.iter()
        .map(|&(u, i, v)| (u.to_string(), i.to_string(), v))
        .collect()
}

fn data_message(e: Error) -> String {
    match e {
        Error::Data(m) => m,
        other => panic!("expected Error::Data, got {other:?}"),
    }
}

#[test]
fn binary_values_and_stats() {
    let ds = load_str(
        "u,i,r,t\n1,10,5,100\n2,20,3,200\n1,20,4,300\n",
        &PrepareOptions::default(),
    )
    .unwrap();
    assert_eq!(
        triples(&ds),
        t(&[("1", "10", 1.0), ("2", "20", 1.0), ("1", "20", 1.0)])
    );
    assert_eq!(ds.users, vec![0, 1, 0]);
    assert_eq!(ds.items, vec![0, 1, 1]);
    assert_eq!(ds.times, Some(vec![100, 200, 300]));
    assert_eq!(ds.parts, None);
    assert_eq!((ds.n_users(), ds.n_items(), ds.len()), (2, 2, 3));
    assert_eq!(
        ds.stats,
        PrepareStats {
            rows_read: 3,
            duplicates_merged: 0,
            below_threshold: 0,
            removed_by_min_counts: 0,
            users: 2,
            items: 2,
            rows: 3,
            ..Default::default()
        }
    );
}

#[test]
fn no_rating_column_means_weight_one() {
    let ds = load_str("a,x\nb,y\n", &PrepareOptions::default()).unwrap();
    assert_eq!(triples(&ds), t(&[("a", "x", 1.0), ("b", "y", 1.0)]));
    assert_eq!(ds.times, None);
}

#[test]
fn positive_threshold_drops_rows_below() {
    let prep = PrepareOptions {
        positive_threshold: Some(4.0),
        ..Default::default()
    };
    let ds = load_str("1,10,5\n2,20,3.5\n3,30,4\n1,30,1\n2,10,4.5\n", &prep).unwrap();
    assert_eq!(
        triples(&ds),
        t(&[("1", "10", 1.0), ("3", "30", 1.0), ("2", "10", 1.0)])
    );
    assert_eq!(ds.stats.below_threshold, 2);
    assert_eq!(ds.stats.rows_read, 5);
    assert_eq!(ds.stats.rows, 3);
    // Item 20 only had a row below the threshold: it is gone from the map.
    assert_eq!(ds.item_ids.ids().collect::<Vec<_>>(), ["10", "30"]);
}

#[test]
fn values_rating_and_log1p() {
    let content = "1,10,5\n2,20,0.5\n3,30,0\n";
    let prep = PrepareOptions {
        values: Values::Rating,
        ..Default::default()
    };
    let ds = load_str(content, &prep).unwrap();
    assert_eq!(ds.values, vec![5.0, 0.5, 0.0]);
    let prep = PrepareOptions {
        values: Values::Log1p,
        ..Default::default()
    };
    let ds = load_str(content, &prep).unwrap();
    assert_eq!(ds.values, vec![5f32.ln_1p(), 0.5f32.ln_1p(), 0.0]);
}

#[test]
fn negative_ratings_are_refused_by_rating_and_log1p() {
    for values in [Values::Rating, Values::Log1p] {
        let dir = TempDir::new("neg");
        let prep = PrepareOptions {
            values,
            ..Default::default()
        };
        let e = load_one(&dir, "1,10,5\n2,20,-2\n", &prep).unwrap_err();
        let path = dir.0.join("data.csv");
        assert_eq!(
            data_message(e),
            format!(
                "{}:2: rating -2 is negative; values: rating and log1p need ratings >= 0",
                path.display()
            )
        );
    }
    // Below the threshold, a negative rating is dropped before values are computed.
    let prep = PrepareOptions {
        values: Values::Rating,
        positive_threshold: Some(1.0),
        ..Default::default()
    };
    let ds = load_str("1,10,5\n2,20,-2\n2,10,3\n1,20,2\n", &prep).unwrap();
    assert_eq!(ds.values, vec![5.0, 3.0, 2.0]);
}

#[test]
fn summed_duplicates_beyond_f32_are_an_error_naming_the_row() {
    // Found writing the fuzz targets' invariants (values are finite): two ratings of 3e38
    // summed to an infinite value, which the dataset kept and only Csr::from_coo refused
    // later, as a bad argument (ERR_CF_INVALID_ARG) naming no file.
    for (values, sum) in [(Values::Rating, "Infinity"), (Values::Log1p, "Infinity")] {
        let dir = TempDir::new("overflow");
        let prep = PrepareOptions {
            values,
            ..Default::default()
        };
        let e = load_one(&dir, "1,10,3e38\n2,20,1\n1,10,3e38\n", &prep).unwrap_err();
        let path = dir.0.join("data.csv");
        assert_eq!(
            data_message(e),
            format!(
                "{}:3: the ratings of this row's user and item sum to {sum} (duplicates: sum), beyond a 32-bit float; use duplicates: last or smaller ratings",
                path.display()
            )
        );
    }
    let prep = PrepareOptions {
        values: Values::Rating,
        ..Default::default()
    };
    let e = load_str("1,10,-3e38\n2,20,1\n1,10,-3e38\n", &prep).unwrap_err();
    assert!(
        data_message(e).contains(":3: the ratings of this row's user and item sum to -Infinity")
    );
    // Kept as they are, or as a positive of weight 1, they are fine.
    for prep in [
        PrepareOptions {
            values: Values::Rating,
            duplicates: Duplicates::Last,
            ..Default::default()
        },
        PrepareOptions::default(),
    ] {
        let ds = load_str("1,10,3e38\n2,20,1\n1,10,3e38\n", &prep).unwrap();
        assert!(ds.values.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn rating_needed_but_absent() {
    let dir = TempDir::new("norating");
    for prep in [
        PrepareOptions {
            positive_threshold: Some(1.0),
            ..Default::default()
        },
        PrepareOptions {
            values: Values::Log1p,
            ..Default::default()
        },
    ] {
        let e = load_one(&dir, "a,x\nb,y\n", &prep).unwrap_err();
        let msg = file_error(e, &dir.0.join("data.csv"));
        assert!(msg.contains("need a rating column"), "{msg}");
    }
}

#[test]
fn duplicates_sum_keeps_the_last_position_and_latest_time() {
    let content = "1,10,2,50\n2,20,1,60\n1,10,3,40\n2,10,1,70\n1,10,1,45\n";
    let prep = PrepareOptions {
        values: Values::Rating,
        ..Default::default()
    };
    let ds = load_str(content, &prep).unwrap();
    assert_eq!(
        triples(&ds),
        t(&[("2", "20", 1.0), ("2", "10", 1.0), ("1", "10", 6.0)])
    );
    assert_eq!(ds.times, Some(vec![60, 70, 50]));
    assert_eq!(ds.stats.duplicates_merged, 2);
    assert_eq!(ds.stats.rows, 3);
}

#[test]
fn duplicates_last_keeps_the_last_row() {
    let content = "1,10,2,50\n2,20,1,60\n1,10,3,40\n2,10,1,70\n1,10,1,45\n";
    let prep = PrepareOptions {
        values: Values::Rating,
        duplicates: Duplicates::Last,
        ..Default::default()
    };
    let ds = load_str(content, &prep).unwrap();
    assert_eq!(
        triples(&ds),
        t(&[("2", "20", 1.0), ("2", "10", 1.0), ("1", "10", 1.0)])
    );
    assert_eq!(ds.times, Some(vec![60, 70, 45]));
    assert_eq!(ds.stats.duplicates_merged, 2);
}

#[test]
fn duplicates_are_summed_before_the_threshold() {
    // 2 + 3 passes a threshold of 4 that neither row passes alone.
    let prep = PrepareOptions {
        positive_threshold: Some(4.0),
        values: Values::Rating,
        ..Default::default()
    };
    let ds = load_str("1,10,2\n1,10,3\n2,20,4\n2,10,1\n", &prep).unwrap();
    assert_eq!(triples(&ds), t(&[("1", "10", 5.0), ("2", "20", 4.0)]));
    assert_eq!(
        (ds.stats.duplicates_merged, ds.stats.below_threshold),
        (1, 1)
    );
}

#[test]
fn min_counts_single_pass() {
    let prep = PrepareOptions {
        min_user_interactions: 2,
        ..Default::default()
    };
    let ds = load_str("a,x\na,y\nb,x\nc,y\nc,z\n", &prep).unwrap();
    assert_eq!(
        triples(&ds),
        t(&[
            ("a", "x", 1.0),
            ("a", "y", 1.0),
            ("c", "y", 1.0),
            ("c", "z", 1.0)
        ])
    );
    assert_eq!(ds.stats.removed_by_min_counts, 1);
    assert_eq!(ds.user_ids.ids().collect::<Vec<_>>(), ["a", "c"]);
    assert_eq!(ds.users, vec![0, 0, 1, 1]);
}

#[test]
fn min_counts_cascade() {
    // z has one row, so it goes; then c has one row (y) left and goes; then y has a and b.
    // A single pass would have kept c-y (c had 2 rows, y had 3).
    let prep = PrepareOptions {
        min_user_interactions: 2,
        min_item_interactions: 2,
        ..Default::default()
    };
    let ds = load_str("a,x\na,y\nb,x\nb,y\nc,y\nc,z\n", &prep).unwrap();
    assert_eq!(
        triples(&ds),
        t(&[
            ("a", "x", 1.0),
            ("a", "y", 1.0),
            ("b", "x", 1.0),
            ("b", "y", 1.0)
        ])
    );
    assert_eq!(ds.stats.removed_by_min_counts, 2);
    assert_eq!((ds.stats.users, ds.stats.items), (2, 2));
    assert_eq!(ds.item_ids.ids().collect::<Vec<_>>(), ["x", "y"]);
}

#[test]
fn min_counts_cascade_over_several_rounds() {
    // A chain, one link a round: w has 1 row -> d has 1 left -> v -> e -> u -> f; x keeps a, b.
    let prep = PrepareOptions {
        min_user_interactions: 2,
        min_item_interactions: 2,
        ..Default::default()
    };
    let ds = load_str("a,x\na,y\nb,x\nb,y\nd,w\nd,v\ne,v\ne,u\nf,u\nf,x\n", &prep).unwrap();
    assert_eq!(ds.user_ids.ids().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(ds.item_ids.ids().collect::<Vec<_>>(), ["x", "y"]);
    assert_eq!(ds.stats.removed_by_min_counts, 6);
    assert_eq!(ds.len(), 4);
}

#[test]
fn nothing_left_and_too_few_users() {
    let prep = PrepareOptions {
        positive_threshold: Some(10.0),
        ..Default::default()
    };
    let msg = data_message(load_str("1,10,5\n2,20,3\n", &prep).unwrap_err());
    assert_eq!(
        msg,
        "no interactions left after filtering (2 rows read, 2 below positive_threshold, 0 removed by min_user/min_item_interactions)"
    );
    let msg = data_message(load_str("1,10\n1,20\n", &PrepareOptions::default()).unwrap_err());
    assert_eq!(
        msg,
        "the data has 1 user after filtering; collaborative filtering needs at least 2"
    );
    let msg = data_message(load_str("1,10\n2,10\n", &PrepareOptions::default()).unwrap_err());
    assert_eq!(
        msg,
        "the data has 1 item after filtering; collaborative filtering needs at least 2"
    );
}

#[test]
fn no_sources() {
    let e = Dataset::load(&[], &ReadOptions::default(), &PrepareOptions::default()).unwrap_err();
    assert!(
        matches!(e, Error::InvalidParam { ref name, .. } if name == "data"),
        "{e:?}"
    );
}

fn pre_split(dir: &TempDir, train: &str, valid: &str, test: &str) -> Vec<(Option<Part>, PathBuf)> {
    vec![
        (Some(Part::Train), dir.file("train.csv", train)),
        (Some(Part::Valid), dir.file("valid.csv", valid)),
        (Some(Part::Test), dir.file("test.csv", test)),
    ]
}

#[test]
fn pre_split_files_share_ids() {
    let dir = TempDir::new("presplit");
    let sources = pre_split(
        &dir,
        "user,item,rating\nu1,i1,5\nu2,i2,4\nu1,i2,3\n",
        "user,item,rating\nu2,i1,5\n",
        // The test file may list its columns in another order.
        "item,user,rating\ni3,u3,4\ni1,u1,5\n",
    );
    let read = ReadOptions {
        user: Some(crate::data::read::Column::Name("user".into())),
        item: Some(crate::data::read::Column::Name("item".into())),
        rating: Some(crate::data::read::Column::Name("rating".into())),
        ..Default::default()
    };
    let ds = Dataset::load(&sources, &read, &PrepareOptions::default()).unwrap();
    assert_eq!(
        triples(&ds),
        t(&[
            ("u1", "i1", 1.0),
            ("u2", "i2", 1.0),
            ("u1", "i2", 1.0),
            ("u2", "i1", 1.0),
            ("u3", "i3", 1.0),
            ("u1", "i1", 1.0),
        ])
    );
    assert_eq!(ds.user_ids.ids().collect::<Vec<_>>(), ["u1", "u2", "u3"]);
    assert_eq!(ds.item_ids.ids().collect::<Vec<_>>(), ["i1", "i2", "i3"]);
    assert_eq!(
        ds.parts,
        Some(vec![
            Part::Train,
            Part::Train,
            Part::Train,
            Part::Valid,
            Part::Test,
            Part::Test
        ])
    );
    // The same pair in train and test is not a duplicate: parts are kept apart.
    assert_eq!(ds.stats.duplicates_merged, 0);
    // No time column in these files.
    assert_eq!(ds.times, None);
}

#[test]
fn pre_split_min_counts_count_training_rows_only() {
    let dir = TempDir::new("presplit-min");
    // u3 and i3 only appear in test: kept while the bounds are 1 (a real, unreachable hit)...
    let sources = pre_split(&dir, "u1,i1\nu2,i2\nu1,i2\n", "u2,i1\n", "u3,i3\nu1,i1\n");
    let ds = Dataset::load(
        &sources,
        &ReadOptions::default(),
        &PrepareOptions::default(),
    )
    .unwrap();
    assert_eq!(ds.len(), 6);
    assert_eq!(ds.stats.removed_by_min_counts, 0);
    // ...and dropped, with everything else under the bound, once a bound is 2: u2 has one
    // training row (its valid row does not count), so it goes with its valid row.
    let prep = PrepareOptions {
        min_user_interactions: 2,
        ..Default::default()
    };
    let ds = Dataset::load(&sources, &ReadOptions::default(), &prep).unwrap_err();
    // Only u1 is left: too few users.
    assert_eq!(
        data_message(ds),
        "the data has 1 user after filtering; collaborative filtering needs at least 2"
    );
    let sources = pre_split(
        &dir,
        "u1,i1\nu2,i2\nu1,i2\nu2,i1\n",
        "u2,i1\nu3,i1\n",
        "u3,i3\nu1,i1\n",
    );
    let ds = Dataset::load(&sources, &ReadOptions::default(), &prep).unwrap();
    assert_eq!(ds.user_ids.ids().collect::<Vec<_>>(), ["u1", "u2"]);
    // i3 goes with u3's test row: the maps keep only ids that still have a row.
    assert_eq!(ds.item_ids.ids().collect::<Vec<_>>(), ["i1", "i2"]);
    assert_eq!(ds.stats.removed_by_min_counts, 2);
    assert_eq!(
        ds.parts,
        Some(vec![
            Part::Train,
            Part::Train,
            Part::Train,
            Part::Train,
            Part::Valid,
            Part::Test
        ])
    );
}

#[test]
fn times_kept_only_when_every_file_has_them() {
    let dir = TempDir::new("times");
    let sources = pre_split(&dir, "1,10,5,100\n2,20,4,200\n", "1,20,3\n", "2,10,5,300\n");
    let ds = Dataset::load(
        &sources,
        &ReadOptions::default(),
        &PrepareOptions::default(),
    )
    .unwrap();
    assert_eq!(ds.times, None);
    let sources = pre_split(
        &dir,
        "1,10,5,100\n2,20,4,200\n",
        "1,20,3,150\n",
        "2,10,5,300\n",
    );
    let ds = Dataset::load(
        &sources,
        &ReadOptions::default(),
        &PrepareOptions::default(),
    )
    .unwrap();
    assert_eq!(ds.times, Some(vec![100, 200, 150, 300]));
}

#[test]
fn from_indices() {
    let ds =
        Dataset::from_indices(vec![0, 2, 1], vec![1, 0, 1], vec![1.0, 2.0, 3.0], None).unwrap();
    assert_eq!(ds.user_ids.ids().collect::<Vec<_>>(), ["0", "1", "2"]);
    assert_eq!(ds.item_ids.ids().collect::<Vec<_>>(), ["0", "1"]);
    assert_eq!((ds.stats.users, ds.stats.items, ds.stats.rows), (3, 2, 3));

    let e = Dataset::from_indices(vec![0, 1], vec![0], vec![1.0, 1.0], None).unwrap_err();
    assert!(matches!(e, Error::InvalidParam { ref name, .. } if name == "interactions"));
    let e =
        Dataset::from_indices(vec![0, 1], vec![0, 1], vec![1.0, 1.0], Some(vec![1])).unwrap_err();
    assert!(matches!(e, Error::InvalidParam { ref name, .. } if name == "interactions"));
    let e = Dataset::from_indices(vec![0, 1], vec![0, 1], vec![1.0, f32::NAN], None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "values: value NaN at position 1 is not finite"
    );
    let e = Dataset::from_indices(vec![0, 0], vec![0, 1], vec![1.0, 1.0], None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the data has 1 user after filtering; collaborative filtering needs at least 2"
    );
}

/// Whether the kernel refuses allocations larger than memory (Linux's default heuristic), which
/// the id-space check relies on; with `vm.overcommit_memory = 1` every reservation succeeds.
fn oversized_allocations_fail() -> bool {
    std::fs::read_to_string("/proc/sys/vm/overcommit_memory").map_or(true, |m| m.trim() != "1")
}

#[test]
fn from_indices_refuses_an_id_space_that_cannot_fit_in_memory() {
    if !oversized_allocations_fail() {
        return;
    }
    // Ids are the indices: 2^32 - 1 would be four billion ids, about 400 GB of strings.
    let e =
        Dataset::from_indices(vec![0, u32::MAX, 1], vec![0, 1, 1], vec![1.0; 3], None).unwrap_err();
    assert_eq!(e.code(), "ERR_CF_INVALID_ARG");
    let msg = e.to_string();
    assert!(
        msg.starts_with("users: index 4294967295 at position 1 makes 4294967296 ids"),
        "{msg}"
    );
    let e =
        Dataset::from_indices(vec![0, 1], vec![u32::MAX - 1, 0], vec![1.0; 2], None).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("items: index 4294967294 at position 0"),
        "{e}"
    );
}

#[test]
fn binary_refuses_ratings_that_are_not_positive() {
    let dir = TempDir::new("nonpos");
    for (content, line, value) in [
        ("1,10,5\n2,20,0\n1,20,-1\n", 2, "0"),
        ("u,i,r\r\n1,10,5\r\n2,20,4\r\n1,20,-0.5\r\n", 4, "-0.5"),
    ] {
        let e = load_one(&dir, content, &PrepareOptions::default()).unwrap_err();
        let path = dir.0.join("data.csv");
        assert_eq!(e.code(), "ERR_CF_DATA");
        let msg = super::parse_error(e, &path, line);
        assert_eq!(
            msg,
            format!("rating {value} is not positive, and values: binary with no positive_threshold would count it as a positive; set positive_threshold (rows below it are dropped) or values: rating|log1p")
        );
    }
}

#[test]
fn ratings_that_are_not_positive_are_fine_when_something_says_what_they_mean() {
    let content = "1,10,5\n2,20,0\n2,10,3\n1,20,-1\n3,20,2\n";
    // A threshold drops them.
    let prep = PrepareOptions {
        positive_threshold: Some(1.0),
        ..Default::default()
    };
    let ds = load_str(content, &prep).unwrap();
    assert_eq!(ds.values, vec![1.0, 1.0, 1.0]);
    assert_eq!(ds.stats.below_threshold, 2);
    // values: rating keeps a 0 as a 0 (a negative is refused by its own check).
    let prep = PrepareOptions {
        values: Values::Rating,
        ..Default::default()
    };
    let ds = load_str("1,10,5\n2,20,0\n2,10,3\n", &prep).unwrap();
    assert_eq!(ds.values, vec![5.0, 0.0, 3.0]);
    // No rating column read: the third column is not a rating when user and item are given.
    let read = ReadOptions {
        user: Some(crate::data::read::Column::Index(0)),
        item: Some(crate::data::read::Column::Index(1)),
        ..Default::default()
    };
    let dir = TempDir::new("norating-read");
    let path = dir.file("d.csv", content);
    let ds = Dataset::load(&[(None, path)], &read, &PrepareOptions::default()).unwrap();
    assert_eq!(ds.values, vec![1.0; 5]);
}

#[test]
fn binary_refusal_names_the_pre_split_file() {
    let dir = TempDir::new("nonpos-split");
    let sources = pre_split(&dir, "1,10,5\n2,20,4\n", "1,20,3\n", "2,10,4\n1,30,0\n");
    let e = Dataset::load(
        &sources,
        &ReadOptions::default(),
        &PrepareOptions::default(),
    )
    .unwrap_err();
    let msg = super::parse_error(e, &dir.0.join("test.csv"), 2);
    assert!(msg.starts_with("rating 0 is not positive"), "{msg}");
}

/// (user id, item id) of each explicit negative.
fn negative_pairs(ds: &Dataset) -> Vec<(String, String)> {
    let (u, i) = ds.negatives.as_ref().expect("negatives kept");
    u.iter()
        .zip(i)
        .map(|(&u, &i)| {
            (
                ds.user_ids.id(u).unwrap().to_string(),
                ds.item_ids.id(i).unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn rows_at_or_below_the_negative_threshold_are_kept_apart_as_negatives() {
    let prep = PrepareOptions {
        positive_threshold: Some(4.0),
        negative_threshold: Some(2.0),
        ..Default::default()
    };
    // 2,10 is rated 1 + 1 (duplicates summed): a dislike; 1,30 (3) is neither; user 3 and
    // item 40 have no positive, so their dislike has nowhere to go.
    let ds = load_str(
        "1,10,5\n1,20,1\n2,20,4\n2,10,1\n2,10,1\n1,30,3\n3,20,1\n2,40,2\n",
        &prep,
    )
    .unwrap();
    assert_eq!(triples(&ds), t(&[("1", "10", 1.0), ("2", "20", 1.0)]));
    assert_eq!(
        negative_pairs(&ds),
        vec![
            ("1".to_string(), "20".to_string()),
            ("2".to_string(), "10".to_string())
        ]
    );
    assert_eq!((ds.stats.negatives, ds.stats.negatives_dropped), (2, 2));
    let m = ds.negatives_matrix().unwrap().unwrap();
    assert_eq!((m.n_rows, m.n_cols, m.nnz()), (2, 2, 2));
    // Without the option nothing is kept and the same rows are only dropped.
    let plain = load_str(
        "1,10,5\n1,20,1\n2,20,4\n",
        &PrepareOptions {
            positive_threshold: Some(4.0),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(plain.negatives.is_none() && plain.negatives_matrix().unwrap().is_none());
}

#[test]
fn a_negative_threshold_needs_a_positive_threshold_above_it() {
    for (neg, pos, want) in [
        (2.0, None, "needs positive_threshold"),
        (4.0, Some(4.0), "must be below positive_threshold"),
        (f32::NAN, Some(4.0), "finite"),
    ] {
        let prep = PrepareOptions {
            positive_threshold: pos,
            negative_threshold: Some(neg),
            ..Default::default()
        };
        let e = load_str("1,10,5\n2,20,1\n", &prep).unwrap_err();
        assert!(
            e.to_string().contains("negative_threshold") && e.to_string().contains(want),
            "{e}"
        );
    }
}

#[test]
fn pre_split_negatives_come_from_the_training_file_only() {
    let dir = TempDir::new("prep-neg");
    let sources = pre_split(
        &dir,
        "1,10,5\n2,20,5\n1,20,1\n",
        "2,10,1\n",
        "1,30,5\n2,30,1\n",
    );
    let prep = PrepareOptions {
        positive_threshold: Some(4.0),
        negative_threshold: Some(2.0),
        ..Default::default()
    };
    let ds = Dataset::load(&sources, &ReadOptions::default(), &prep).unwrap();
    assert_eq!(
        negative_pairs(&ds),
        vec![("1".to_string(), "20".to_string())]
    );
}
