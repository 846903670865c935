use super::*;
use crate::models::{Model, Recommender};
use crate::params::{Params, Value};
use crate::rng::SplitMix64;

fn random_csr(m: usize, n: usize, density: f64, seed: u64, binary: bool) -> Csr {
    let mut g = SplitMix64::new(seed);
    let (mut r, mut c, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..m {
        for j in 0..n {
            if (g.next_f32() as f64) < density * (1.0 + 2.0 * j as f64 / n as f64) {
                r.push(i as u32);
                c.push(j as u32);
                v.push(if binary {
                    1.0
                } else {
                    1.0 + (g.next_f32() * 4.0).floor()
                });
            }
        }
    }
    Csr::from_coo(m, n, &r, &c, &v).unwrap()
}

fn params(pairs: &[(&str, Value)]) -> KnnParams {
    KnnParams::from_raw(pairs.iter().cloned())
        .unwrap()
        .into_inner()
}

fn dense(x: &Csr) -> Vec<Vec<f64>> {
    let mut d = vec![vec![0f64; x.n_cols]; x.n_rows];
    for u in 0..x.n_rows {
        let (cols, vals) = x.row(u);
        for (&j, &v) in cols.iter().zip(vals) {
            d[u][j as usize] = v as f64;
        }
    }
    d
}

/// Dense weighted users x items matrix, straight from the formulas in the module docs.
fn reference_weights(x: &Csr, weighting: &str, k1: f64, b: f64) -> Vec<Vec<f64>> {
    let (m, n) = (x.n_rows, x.n_cols);
    let mut w = dense(x);
    let df: Vec<f64> = w
        .iter()
        .map(|r| r.iter().filter(|&&v| v != 0.0).count() as f64)
        .collect();
    let idf: Vec<f64> = df.iter().map(|&d| (n as f64 / (1.0 + d)).ln()).collect();
    let normalise = |w: &mut Vec<Vec<f64>>| {
        for j in 0..n {
            let norm = (0..m).map(|u| w[u][j] * w[u][j]).sum::<f64>().sqrt();
            if norm > 0.0 {
                for row in w.iter_mut() {
                    row[j] /= norm;
                }
            }
        }
    };
    match weighting {
        "none" => {}
        "cosine" => normalise(&mut w),
        "tfidf" => {
            for u in 0..m {
                for j in 0..n {
                    w[u][j] = w[u][j].sqrt() * idf[u];
                }
            }
            normalise(&mut w);
        }
        "bm25" => {
            let len: Vec<f64> = (0..n).map(|j| (0..m).map(|u| w[u][j]).sum()).collect();
            let avg = len.iter().sum::<f64>() / n as f64;
            for u in 0..m {
                for j in 0..n {
                    let x = w[u][j];
                    w[u][j] = x * (k1 + 1.0) / (k1 * (1.0 - b + b * len[j] / avg) + x) * idf[u];
                }
            }
        }
        _ => unreachable!(),
    }
    w
}

/// Every item's k best neighbours by brute force: all pairs sharing a user, scored densely;
/// the kept set by implicit's rule, simulated naively: candidates in reverse order of first
/// contact (users of i ascending, their items ascending), one replacing the smallest kept
/// (score, index) only when its score is larger.
fn reference_neighbours(
    x: &Csr,
    w: &[Vec<f64>],
    k: usize,
    rescale: impl Fn(usize, usize, f64) -> f64,
) -> Vec<Vec<(u32, f64)>> {
    let d = dense(x);
    let (m, n) = (x.n_rows, x.n_cols);
    (0..n)
        .map(|i| {
            let mut order: Vec<usize> = Vec::new();
            for u in 0..m {
                if d[u][i] != 0.0 {
                    for j in 0..n {
                        if d[u][j] != 0.0 && !order.contains(&j) {
                            order.push(j);
                        }
                    }
                }
            }
            let mut kept: Vec<(f64, u32)> = Vec::new();
            for &j in order.iter().rev() {
                let dot: f64 = (0..m).map(|u| w[u][i] * w[u][j]).sum();
                let s = rescale(i, j, dot);
                if kept.len() < k {
                    kept.push((s, j as u32));
                    continue;
                }
                let (p, min) = kept
                    .iter()
                    .enumerate()
                    .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0).then(a.1 .1.cmp(&b.1 .1)))
                    .map(|(p, v)| (p, *v))
                    .unwrap();
                if s > min.0 {
                    kept[p] = (s, j as u32);
                }
            }
            let mut out: Vec<(u32, f64)> = kept.into_iter().map(|(s, j)| (j, s)).collect();
            out.sort_by_key(|p| p.0);
            out
        })
        .collect()
}

fn assert_matches(model: &KnnModel, want: &[Vec<(u32, f64)>], what: &str) {
    for (i, w) in want.iter().enumerate() {
        let (js, sims) = model.neighbours.row(i);
        let got: Vec<u32> = js.to_vec();
        let want_ids: Vec<u32> = w.iter().map(|p| p.0).collect();
        assert_eq!(got, want_ids, "{what}: neighbours of item {i}");
        for (s, &(_, r)) in sims.iter().zip(w) {
            assert!(
                (*s as f64 - r).abs() <= 1e-5 * r.abs().max(1e-3),
                "{what}: item {i} {s} vs {r}"
            );
        }
    }
}

#[test]
fn every_weighting_matches_a_dense_brute_force() {
    // Values 1..4 (not binary) so sqrt, BM25's saturation and the norms all matter; k small
    // enough that selection drops neighbours.
    let x = random_csr(120, 40, 0.05, 7, false);
    for weighting in ["none", "cosine", "tfidf", "bm25"] {
        for k in [1, 6, 40] {
            let p = params(&[
                ("weighting", Value::Str(weighting.to_string().into())),
                ("k", Value::Num(k as f64)),
            ]);
            let model = KnnModel::fit(p.clone(), &x).unwrap();
            let w = reference_weights(&x, weighting, p.bm25_k1, p.bm25_b);
            let want = reference_neighbours(&x, &w, k, |_, _, s| s);
            assert_matches(&model, &want, &format!("{weighting} k {k}"));
        }
    }
}

#[test]
fn bm25_parameters_reach_the_weights() {
    let x = random_csr(80, 30, 0.08, 3, false);
    let p = params(&[
        ("weighting", Value::Str("bm25".into())),
        ("bm25_k1", Value::Num(3.0)),
        ("bm25_b", Value::Num(0.2)),
        ("k", Value::Num(10.0)),
    ]);
    let model = KnnModel::fit(p, &x).unwrap();
    let w = reference_weights(&x, "bm25", 3.0, 0.2);
    assert_matches(
        &model,
        &reference_neighbours(&x, &w, 10, |_, _, s| s),
        "bm25 3/0.2",
    );
}

#[test]
fn shrunk_and_asymmetric_cosine_match_their_formula() {
    let x = random_csr(100, 35, 0.06, 11, false);
    let raw = reference_weights(&x, "none", 0.0, 0.0);
    let sq: Vec<f64> = (0..35)
        .map(|j| raw.iter().map(|r| r[j] * r[j]).sum())
        .collect();
    for (alpha, lambda) in [(0.5, 10.0), (0.2, 0.0), (0.9, 3.0)] {
        let p = params(&[
            ("alpha", Value::Num(alpha)),
            ("shrinkage", Value::Num(lambda)),
            ("k", Value::Num(8.0)),
        ]);
        let model = KnnModel::fit(p, &x).unwrap();
        let want = reference_neighbours(&x, &raw, 8, |i, j, dot| {
            dot / (sq[i].powf(alpha) * sq[j].powf(1.0 - alpha) + lambda)
        });
        assert_matches(&model, &want, &format!("alpha {alpha} lambda {lambda}"));
    }
}

#[test]
fn hand_computed_tfidf() {
    // 3 users, 2 items: u0 has both (values 4, 1), u1 has item 0 (value 1), u2 nothing.
    // N = 2 items; idf(u0) = ln 2 - ln 3, idf(u1) = ln 2 - ln 2 = 0.
    // item 0: (sqrt 4 idf0, 0) -> normalised (-1, 0) (idf0 < 0); item 1: (idf0) -> (-1).
    // sim(0, 1) = 1; sim(0, 0) = 1; sim(1, 1) = 1.
    let x = Csr::from_coo(3, 2, &[0, 0, 1], &[0, 1, 0], &[4.0, 1.0, 1.0]).unwrap();
    let model = KnnModel::fit(params(&[("weighting", Value::Str("tfidf".into()))]), &x).unwrap();
    assert_eq!(model.neighbours.row(0), (&[0u32, 1][..], &[1f32, 1.0][..]));
    assert_eq!(model.neighbours.row(1), (&[0u32, 1][..], &[1f32, 1.0][..]));
}

#[test]
fn scores_sum_neighbour_rows_and_fold_in_equals_a_known_user() {
    let x = random_csr(150, 50, 0.05, 5, false);
    let model = KnnModel::fit(params(&[("k", Value::Num(12.0))]), &x).unwrap();
    let n = 50;
    let mut sim = vec![vec![0f64; n]; n];
    for i in 0..n {
        let (js, s) = model.neighbours.row(i);
        for (&j, &v) in js.iter().zip(s) {
            sim[i][j as usize] = v as f64;
        }
    }
    let (mut a, mut b) = (vec![0f32; n], vec![0f32; n]);
    for u in [0, 17, 149] {
        model.score_user(u, &mut a);
        let (items, vals) = x.row(u);
        model.score_new_user(items, vals, &mut b).unwrap();
        assert_eq!(a, b);
        for j in 0..n {
            let want: f64 = items
                .iter()
                .zip(vals)
                .map(|(&i, &v)| v as f64 * sim[i as usize][j])
                .sum();
            assert!(
                (a[j] as f64 - want).abs() <= 1e-5 * want.abs().max(1.0),
                "user {u} item {j}"
            );
        }
    }
    // Recommendations leave the user's own items out.
    let recs = crate::topk::recommend(&model, 17, 10, &[&x]).unwrap();
    assert!(recs.iter().all(|(j, _)| !x.contains(17, *j)));
}

#[test]
fn the_same_bits_at_any_thread_count() {
    let x = random_csr(300, 80, 0.04, 9, false);
    for weighting in ["cosine", "bm25"] {
        let fit = |t: f64| {
            KnnModel::fit(
                params(&[
                    ("weighting", Value::Str(weighting.to_string().into())),
                    ("threads", Value::Num(t)),
                    ("k", Value::Num(15.0)),
                ]),
                &x,
            )
            .unwrap()
        };
        let one = fit(1.0);
        for t in [2.0, 3.0, 7.0] {
            assert_eq!(one.neighbours, fit(t).neighbours, "{weighting} threads {t}");
        }
    }
}

#[test]
fn weights_split_across_threads_have_the_serial_bits() {
    // ~70k entries: several parts of the row loops (parts hold at least 2^14 entries).
    let x = random_csr(2500, 400, 0.035, 21, false);
    assert!(x.nnz() > 4 << 14, "{} entries", x.nnz());
    for weighting in ["cosine", "tfidf", "bm25"] {
        let p = params(&[("weighting", Value::Str(weighting.to_string().into()))]);
        let at = |t: usize| {
            crate::pool::pool(t)
                .unwrap()
                .install(|| weighted_both(&p, &x, true))
        };
        let one = at(1);
        let by_user = one
            .1
            .clone()
            .expect("sorted rows give the per-user weights");
        assert_eq!(one, at(3), "{weighting}");
        // Both layouts hold the same weights, entry for entry.
        let want = reference_weights(&x, weighting, p.bm25_k1, p.bm25_b);
        for (u, row) in want.iter().enumerate() {
            let (is, vs) = by_user.row(u);
            for (&i, &v) in is.iter().zip(vs) {
                let w = row[i as usize];
                assert!(
                    (v - w).abs() <= 1e-12 * w.abs().max(1.0),
                    "{weighting} ({u}, {i}): {v} vs {w}"
                );
            }
        }
    }
}

#[test]
fn the_float64_transpose_is_the_float32_one_at_any_thread_count() {
    // Past the size from which the transpose is split across the pool.
    let x = random_csr(2000, 1000, 0.28, 13, false);
    assert!(x.nnz() >= 1 << 20, "{} entries", x.nnz());
    let m = Sparse64::from_csr(&x);
    let want = Sparse64::from_csr(&x.transpose());
    for t in [1, 3] {
        let got = crate::pool::pool(t).unwrap().install(|| m.transpose());
        assert_eq!(got, want, "{t} threads");
    }
}

#[test]
fn every_row_is_visited_once_by_the_parallel_row_loop() {
    let x = random_csr(3000, 300, 0.03, 5, true);
    let mut m = Sparse64::from_csr(&x);
    crate::pool::pool(3).unwrap().install(|| {
        m.for_each_row_mut(|r, cols, vals| {
            for (&c, v) in cols.iter().zip(vals) {
                *v += (r * 1000 + c as usize) as f64;
            }
        })
    });
    for r in 0..x.n_rows {
        let (cols, vals) = m.row(r);
        for (&c, &v) in cols.iter().zip(vals) {
            assert_eq!(v, 1.0 + (r * 1000 + c as usize) as f64, "({r}, {c})");
        }
    }
}

#[test]
fn similar_items_are_the_kept_neighbours_best_first_without_the_item() {
    let x = random_csr(200, 40, 0.06, 2, true);
    let model = KnnModel::fit(params(&[("k", Value::Num(10.0))]), &x).unwrap();
    for item in [0u32, 13, 39] {
        let s = model.similar_items(item, 5).unwrap();
        assert!(s.len() <= 5 && s.iter().all(|p| p.0 != item));
        assert!(s
            .windows(2)
            .all(|w| w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0)));
        let (js, sims) = model.neighbours.row(item as usize);
        for (j, v) in &s {
            let p = js.binary_search(j).unwrap();
            assert_eq!(sims[p], *v);
        }
        // Nothing left out beats the last one listed.
        let worst = s.last().unwrap().1;
        let listed: Vec<u32> = s.iter().map(|p| p.0).collect();
        for (&j, &v) in js.iter().zip(sims) {
            if j != item && !listed.contains(&j) {
                assert!(v <= worst);
            }
        }
    }
    assert!(model.similar_items(40, 5).is_err());
}

#[test]
fn saved_arrays_load_back_to_the_same_model() {
    let x = random_csr(90, 30, 0.07, 4, false);
    let p = params(&[
        ("weighting", Value::Str("bm25".into())),
        ("k", Value::Num(7.0)),
    ]);
    let model = KnnModel::fit(p, &x).unwrap();
    let params: Vec<(String, Value)> = model
        .params()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let loaded = (TYPE.load)(params, model.arrays(), 90, 30).unwrap();
    let loaded = loaded.as_any().downcast_ref::<KnnModel>().unwrap();
    assert_eq!(loaded.neighbours, model.neighbours);
    assert_eq!(loaded.users, model.users);
    assert_eq!(loaded.params, model.params);
    // A broken index array is a data error, not a panic.
    let mut arrays = model.arrays();
    let a = arrays
        .iter_mut()
        .find(|a| a.name == "neighbour_items")
        .unwrap();
    a.data[0] = 1e6;
    let params: Vec<(String, Value)> = model
        .params()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert!((TYPE.load)(params, arrays, 90, 30).is_err());
}

#[test]
fn explain_matches_a_brute_force_recomputation() {
    let x = random_csr(150, 45, 0.06, 8, false);
    let model = KnnModel::fit(params(&[("k", Value::Num(20.0))]), &x).unwrap();
    let mut scores = vec![0f32; 45];
    for u in [3usize, 50, 120] {
        let (items, vals) = x.row(u);
        model.score_user(u, &mut scores);
        for item in 0..45u32 {
            let (total, parts) = model.explain(items, vals, item, 3).unwrap();
            assert!((total - scores[item as usize]).abs() <= 1e-5 * total.abs().max(1.0));
            let mut want: Vec<(u32, f32)> = items
                .iter()
                .zip(vals)
                .filter_map(|(&i, &v)| {
                    let (js, s) = model.neighbours.row(i as usize);
                    js.iter().position(|&j| j == item).map(|p| (i, s[p] * v))
                })
                .collect();
            want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            want.truncate(3);
            assert_eq!(parts, want, "user {u} item {item}");
        }
    }
    assert!(model.explain(&[0], &[1.0], 45, 3).is_err());
    assert!(model.explain(&[0], &[1.0], 1, 0).is_err());
}

#[test]
fn cooccurrence_matches_a_brute_force_count() {
    let x = random_csr(200, 30, 0.1, 12, false);
    let model = KnnModel::fit(KnnParams::default(), &x).unwrap();
    let d = dense(&x);
    let users = 200f64;
    let count = |a: usize, b: usize| {
        (0..200)
            .filter(|&u| d[u][a] != 0.0 && d[u][b] != 0.0)
            .count()
    };
    for item in [0usize, 7, 29] {
        for (measure, min_support) in [(Measure::Count, 1), (Measure::Lift, 3), (Measure::Pmi, 5)] {
            let got = model
                .cooccurrence(item as u32, 6, measure, min_support)
                .unwrap();
            let mut want: Vec<(f64, u32, u32)> = (0..30)
                .filter(|&j| j != item && count(item, j) >= min_support)
                .map(|j| {
                    let c = count(item, j) as f64;
                    let lift = c * users / (count(item, item) as f64 * count(j, j) as f64);
                    let m = match measure {
                        Measure::Count => c,
                        Measure::Lift => lift,
                        Measure::Pmi => lift.ln(),
                    };
                    (m, j as u32, c as u32)
                })
                .collect();
            want.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            want.truncate(6);
            let want: Vec<(u32, f32, u32)> =
                want.into_iter().map(|(m, j, c)| (j, m as f32, c)).collect();
            assert_eq!(got, want, "item {item} {measure:?} support {min_support}");
        }
    }
    assert!(model.cooccurrence(30, 5, Measure::Lift, 1).is_err());
    assert!(model.cooccurrence(0, 5, Measure::Lift, 0).is_err());
    assert!(Measure::parse("jaccard").is_err());
}

#[test]
fn bad_settings_and_values_are_refused_by_name() {
    let e = KnnParams::from_raw([
        ("weighting", Value::Str("bm25".into())),
        ("shrinkage", Value::Num(5.0)),
    ])
    .unwrap_err();
    assert!(e.to_string().starts_with("shrinkage:"), "{e}");
    let x = Csr::from_coo(2, 2, &[0, 1], &[0, 1], &[1.0, -2.0]).unwrap();
    let e = KnnModel::fit(KnnParams::default(), &x).err().unwrap();
    assert!(e.to_string().contains("negative"), "{e}");
    // Empty items and users: no neighbours, scores 0, nothing panics.
    let x = Csr::from_coo(3, 4, &[0, 0], &[0, 2], &[1.0, 1.0]).unwrap();
    for w in ["cosine", "tfidf", "bm25", "none"] {
        let m = KnnModel::fit(
            params(&[("weighting", Value::Str(w.to_string().into()))]),
            &x,
        )
        .unwrap();
        assert_eq!(m.neighbours.row_len(1), 0);
        let mut s = vec![1f32; 4];
        m.score_user(2, &mut s);
        assert_eq!(s, vec![0.0; 4]);
    }
}

#[test]
fn the_symmetric_kernel_keeps_the_ordered_kernels_neighbours_bit_for_bit() {
    // Binary data: many equal similarities, so more than k candidates tie at the k-th score
    // and the first-contact order the symmetric kernel derives decides which are kept.
    use super::pairs::{all_pairs_ordered, symmetric};
    for (seed, binary) in [(21, true), (22, true), (23, false)] {
        let x = random_csr(200, 90, 0.04, seed, binary);
        for weighting in ["none", "cosine", "tfidf", "bm25"] {
            let p = params(&[("weighting", Value::Str(weighting.to_string().into()))]);
            let (items, _) = weighted(&p, &x);
            let users = items.transpose();
            for k in [1, 3, 10, 90] {
                // A rescale that tells (row, candidate) from (candidate, row) and one index
                // from another: the kernel relabels rows by popularity and must hand it the
                // original rows in the right roles.
                let lopsided =
                    |i: usize, j: usize, dot: f64| dot / (1.0 + 0.01 * i as f64 + 0.003 * j as f64);
                // Values for later rows handed over after every block (1), every few (40),
                // or only at the end (the default, at this size).
                for (threads, rescale, outbox) in [
                    (1, false, 1 << 20),
                    (3, false, 1 << 20),
                    (1, true, 1 << 20),
                    (3, true, 1 << 20),
                    (1, false, 1),
                    (3, true, 1),
                    (3, false, 40),
                ] {
                    let pool = crate::pool::pool(threads).unwrap();
                    let r: Option<&(dyn Fn(usize, usize, f64) -> f64 + Sync)> = match rescale {
                        true => Some(&lopsided),
                        false => None,
                    };
                    let (fast, slow) = pool.install(|| {
                        (
                            symmetric::all_pairs_with(&items, k, r, outbox).unwrap(),
                            all_pairs_ordered(&items, &users, k, r),
                        )
                    });
                    let what = format!(
                        "{weighting} seed {seed} k {k} threads {threads} rescale {rescale} \
                         outbox {outbox}"
                    );
                    assert_eq!(fast.indptr, slow.indptr, "{what}");
                    assert_eq!(fast.indices, slow.indices, "{what}");
                    let bits = |m: &Csr| m.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&fast), bits(&slow), "{what}");
                }
            }
        }
    }
}

#[test]
fn zero_weights_take_the_ordered_kernel_and_still_match_the_brute_force() {
    // A user with every item but one has idf ln(N / N) = 0: zero weights, so a reached pair
    // can sum to 0 and the symmetric kernel's "sum > 0" test would lose it.
    let mut x = random_csr(60, 20, 0.08, 31, true);
    let all: Vec<(u32, u32, f32)> = (0..19).map(|j| (0u32, j as u32, 1f32)).collect();
    let mut coo: Vec<(u32, u32, f32)> = Vec::new();
    for u in 1..x.n_rows {
        let (cols, vals) = x.row(u);
        for (&j, &v) in cols.iter().zip(vals) {
            coo.push((u as u32, j, v));
        }
    }
    coo.extend(all);
    let (r, c, v): (Vec<u32>, Vec<u32>, Vec<f32>) = coo.into_iter().fold(
        (Vec::new(), Vec::new(), Vec::new()),
        |mut acc, (r, c, v)| {
            acc.0.push(r);
            acc.1.push(c);
            acc.2.push(v);
            acc
        },
    );
    x = Csr::from_coo(x.n_rows, x.n_cols, &r, &c, &v).unwrap();
    let p = params(&[
        ("weighting", Value::Str("tfidf".into())),
        ("k", Value::Num(5.0)),
    ]);
    let model = KnnModel::fit(p.clone(), &x).unwrap();
    let w = reference_weights(&x, "tfidf", p.bm25_k1, p.bm25_b);
    assert_matches(
        &model,
        &reference_neighbours(&x, &w, 5, |_, _, s| s),
        "tfidf, zero idf",
    );
}
