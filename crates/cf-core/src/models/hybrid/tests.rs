use std::sync::{Arc, RwLock};

use super::*;
use crate::data::csr::Csr;
use crate::models::knn::{KnnModel, KnnParams};
use crate::models::popularity::Popularity;
use crate::models::{Model, Recommender};
use crate::params::{Params, Value};
use crate::rng::SplitMix64;

/// Users x items with more entries on later items; the last item and the last user empty.
fn data(m: usize, n: usize, seed: u64) -> Csr {
    let mut g = SplitMix64::new(seed);
    let (mut r, mut c, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..m - 1 {
        for j in 0..n - 1 {
            if g.next_f32() < 0.15 * (1.0 + 2.0 * j as f32 / n as f32) {
                r.push(i as u32);
                c.push(j as u32);
                v.push(1.0);
            }
        }
    }
    Csr::from_coo(m, n, &r, &c, &v).unwrap()
}

fn shared(m: Box<dyn Model>) -> SharedModel {
    Arc::new(RwLock::new(m))
}

fn knn(train: &Csr, k: usize) -> SharedModel {
    let p = KnnParams::from_raw([("k", Value::Num(k as f64))]).unwrap();
    shared(Box::new(KnnModel::fit(p, train).unwrap()))
}

fn pop(train: &Csr) -> SharedModel {
    shared(Box::new(Popularity::fit(train)))
}

fn params(pairs: &[(&str, Value)]) -> crate::params::Checked<HybridParams> {
    HybridParams::from_raw(pairs.iter().cloned()).unwrap()
}

fn scores(m: &SharedModel, u: usize, n: usize) -> Vec<f32> {
    let mut out = vec![0f32; n];
    read(m).score_user(u, &mut out);
    out
}

/// Ranks (0 = best) among the finite entries of `known` items, by score then index.
fn ranks(s: &[f32], known: &[bool]) -> Vec<Option<usize>> {
    let mut idx: Vec<usize> = (0..s.len())
        .filter(|&i| known[i] && s[i].is_finite())
        .collect();
    idx.sort_by(|&a, &b| s[b].partial_cmp(&s[a]).unwrap().then(a.cmp(&b)));
    let mut r = vec![None; s.len()];
    for (p, &i) in idx.iter().enumerate() {
        r[i] = Some(p);
    }
    r
}

#[test]
fn each_method_matches_a_brute_force_blend() {
    let (m, n) = (40, 30);
    let train = data(m, n, 7);
    let a = knn(&train, 5);
    let b = knn(&train, 30);
    let c = pop(&train);
    let known = |x: &SharedModel| read(x).known_items().unwrap_or(vec![true; n]);
    for method in ["weighted", "rrf", "borda"] {
        for norm in ["minmax", "zscore"] {
            let p = params(&[
                ("method", Value::Str(method.into())),
                ("normalization", Value::Str(norm.into())),
            ]);
            let w = [0.5f32, 0.3, 0.2];
            let h = HybridModel::new(
                p,
                vec![
                    ("a".into(), a.clone(), Some(w[0])),
                    ("b".into(), b.clone(), Some(w[1])),
                    ("c".into(), c.clone(), Some(w[2])),
                ],
                vec![],
            )
            .unwrap();
            for u in 0..m - 1 {
                let mut got = vec![0f32; n];
                h.score_user(u, &mut got);
                let mut want = vec![0f64; n];
                let mut any = vec![false; n];
                for (x, &wx) in [&a, &b, &c].into_iter().zip(&w) {
                    let s = scores(x, u, n);
                    let kn = known(x);
                    let fin: Vec<f64> = (0..n).filter(|&i| kn[i]).map(|i| s[i] as f64).collect();
                    if fin.iter().all(|&v| v == fin[0]) {
                        continue;
                    }
                    let r = ranks(&s, &kn);
                    let cnt = fin.len() as f64;
                    let (lo, hi) = fin
                        .iter()
                        .fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
                    let mean = fin.iter().sum::<f64>() / cnt;
                    let sd = (fin.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / cnt).sqrt();
                    for i in 0..n {
                        let Some(ri) = r[i] else { continue };
                        let x = match method {
                            "weighted" if norm == "minmax" => (s[i] as f64 - lo) / (hi - lo),
                            "weighted" => (s[i] as f64 - mean) / sd,
                            "rrf" => 1.0 / (60.0 + ri as f64 + 1.0),
                            _ => (cnt - ri as f64) / cnt,
                        };
                        want[i] += wx as f64 * x;
                        any[i] = true;
                    }
                }
                for i in 0..n {
                    if !any[i] {
                        assert_eq!(
                            got[i],
                            f32::NEG_INFINITY,
                            "{method} {norm} user {u} item {i}"
                        );
                    } else {
                        assert!(
                            (got[i] as f64 - want[i]).abs() < 1e-5,
                            "{method} {norm} user {u} item {i}: {} vs {}",
                            got[i],
                            want[i]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn one_weighted_part_ranks_as_that_part_alone() {
    let (m, n) = (40, 30);
    let train = data(m, n, 3);
    let a = knn(&train, 8);
    let c = pop(&train);
    for method in ["weighted", "rrf", "borda"] {
        let h = HybridModel::new(
            params(&[("method", Value::Str(method.into()))]),
            vec![
                ("a".into(), a.clone(), Some(1.0)),
                ("c".into(), c.clone(), Some(0.0)),
            ],
            vec![],
        )
        .unwrap();
        for u in 0..m - 1 {
            let mut got = vec![0f32; n];
            h.score_user(u, &mut got);
            let s = scores(&a, u, n);
            let seen = train.row(u).0;
            let want: Vec<u32> = crate::topk::select(&s, 10, &[seen])
                .into_iter()
                .map(|x| x.0)
                .collect();
            let have: Vec<u32> = crate::topk::select(&got, 10, &[seen])
                .into_iter()
                .map(|x| x.0)
                .collect();
            // Items the part does not rank are left out of the blend, and so are its zero scores'
            // ties after them: compare the part's ranked items only.
            let kn = read(&a).known_items().unwrap();
            let want: Vec<u32> = want.into_iter().filter(|&i| kn[i as usize]).collect();
            assert_eq!(&have[..want.len()], &want[..], "{method} user {u}");
        }
    }
}

#[test]
fn users_no_weighted_part_knows_go_to_the_fallback_in_order() {
    let (m, n) = (30, 20);
    let train = data(m, n, 11);
    let a = knn(&train, 5);
    let c = pop(&train);
    let h = HybridModel::new(
        params(&[]),
        vec![
            ("a".into(), a.clone(), Some(1.0)),
            ("popularity".into(), c.clone(), None),
        ],
        vec![1],
    )
    .unwrap();
    // The last user has no training row: kNN scores every item 0.
    let mut got = vec![0f32; n];
    h.score_user(m - 1, &mut got);
    let pop_scores = scores(&c, m - 1, n);
    let kn = read(&c).known_items().unwrap();
    for i in 0..n {
        if kn[i] {
            assert_eq!(got[i], pop_scores[i]);
        } else {
            assert_eq!(got[i], f32::NEG_INFINITY);
        }
    }
    // Without a fallback such a user gets nothing.
    let h2 = HybridModel::new(params(&[]), vec![("a".into(), a, Some(1.0))], vec![]).unwrap();
    h2.score_user(m - 1, &mut got);
    assert!(got.iter().all(|&s| s == f32::NEG_INFINITY));
    // Fold-in: nothing liked that the part ranks is not an error, the fallback answers.
    h.score_new_user(&[(n - 1) as u32], &[1.0], &mut got)
        .unwrap();
    assert_eq!(got[0], pop_scores[0]);
}

#[test]
fn fold_in_blends_the_parts_fold_ins() {
    let (m, n) = (30, 20);
    let train = data(m, n, 5);
    let a = knn(&train, 5);
    let b = knn(&train, 20);
    let h = HybridModel::new(
        params(&[]),
        vec![("a".into(), a, Some(1.0)), ("b".into(), b, Some(2.0))],
        vec![],
    )
    .unwrap();
    let (items, values) = train.row(3);
    let (mut x, mut y) = (vec![0f32; n], vec![0f32; n]);
    h.score_user(3, &mut x);
    h.score_new_user(items, values, &mut y).unwrap();
    assert_eq!(x, y);
    assert!(h.score_new_user(&[n as u32], &[1.0], &mut y).is_err());
}

#[test]
fn similar_items_blend_lists_and_skip_the_item() {
    let (m, n) = (40, 30);
    let train = data(m, n, 9);
    let a = knn(&train, 10);
    let h = HybridModel::new(
        params(&[]),
        vec![("a".into(), a.clone(), Some(1.0))],
        vec![],
    )
    .unwrap();
    for item in 0..n as u32 - 1 {
        let got: Vec<u32> = h
            .similar_items(item, 5)
            .unwrap()
            .into_iter()
            .map(|x| x.0)
            .collect();
        let want: Vec<u32> = read(&a)
            .similar_items(item, 5)
            .unwrap()
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(got, want, "item {item}");
    }
    // The empty last item: no part ranks it.
    assert!(h.similar_items(n as u32 - 1, 5).unwrap().is_empty());
    assert!(h.similar_items(n as u32, 5).is_err());
}

#[test]
fn weight_search_never_loses_on_validation_and_ignores_the_thread_count() {
    let (m, n) = (80, 40);
    let all = data(m, n, 21);
    // Hold out every fifth entry of each row as validation.
    let (mut tr, mut va) = ((vec![], vec![], vec![]), (vec![], vec![], vec![]));
    for u in 0..m {
        let (items, _) = all.row(u);
        for (p, &i) in items.iter().enumerate() {
            let t = if p % 5 == 4 { &mut va } else { &mut tr };
            t.0.push(u as u32);
            t.1.push(i);
            t.2.push(1.0);
        }
    }
    let train = Csr::from_coo(m, n, &tr.0, &tr.1, &tr.2).unwrap();
    let valid = Csr::from_coo(m, n, &va.0, &va.1, &va.2).unwrap();
    let a = knn(&train, 4);
    let c = pop(&train);
    let mut reports = Vec::new();
    for threads in [1, 3] {
        let mut h = HybridModel::new(
            params(&[("threads", Value::Num(threads as f64))]),
            vec![
                ("a".into(), a.clone(), Some(1.0)),
                ("popularity".into(), c.clone(), Some(1.0)),
            ],
            vec![],
        )
        .unwrap();
        let r = h.tune_weights(&train, &valid, 5).unwrap();
        assert!(r.score >= r.start);
        for (_, s) in &r.alone {
            assert!(r.score >= *s);
        }
        assert_eq!(h.weights(), r.weights);
        reports.push(r);
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0].alone.len(), 2);
    // The report's score is what the evaluator measures for the chosen weights.
    let mut h = HybridModel::new(
        params(&[]),
        vec![
            ("a".into(), a.clone(), Some(reports[0].weights[0])),
            ("popularity".into(), c.clone(), Some(reports[0].weights[1])),
        ],
        vec![],
    )
    .unwrap();
    let e = crate::metrics::evaluate(&h, &train, &[&train], &valid, &[5]).unwrap();
    let ndcg = e.metrics.iter().find(|(k, _)| k == "ndcg@5").unwrap().1;
    assert!(
        (ndcg - reports[0].score).abs() < 1e-9,
        "{ndcg} vs {}",
        reports[0].score
    );
    assert!(h.tune_weights(&train, &valid, 0).is_err());
}

#[test]
fn simplex_grids_stay_small_and_sum_to_one() {
    for b in 1..8 {
        let g = tune::simplex_for_tests(b);
        assert!(!g.is_empty() && g.len() <= 80, "{b}: {}", g.len());
        for w in &g {
            assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }
    assert_eq!(tune::simplex_for_tests(2).len(), 21);
    assert_eq!(tune::simplex_for_tests(3).len(), 66);
}

#[test]
fn bad_parts_are_refused_by_name() {
    let train = data(20, 10, 1);
    let other = data(20, 12, 1);
    let a = knn(&train, 3);
    let err = |r: Result<HybridModel>| r.err().expect("refused").to_string();
    assert!(err(HybridModel::new(params(&[]), vec![], vec![])).contains("at least one part"));
    assert!(err(HybridModel::new(
        params(&[]),
        vec![("a".into(), a.clone(), Some(-1.0))],
        vec![]
    ))
    .contains("weight -1"));
    assert!(err(HybridModel::new(
        params(&[]),
        vec![("a".into(), a.clone(), Some(f32::NAN))],
        vec![]
    ))
    .contains("weight"));
    assert!(err(HybridModel::new(
        params(&[]),
        vec![("a".into(), a.clone(), Some(0.0))],
        vec![]
    ))
    .contains("above 0"));
    assert!(err(HybridModel::new(
        params(&[]),
        vec![
            ("a".into(), a.clone(), Some(1.0)),
            ("a".into(), a.clone(), Some(1.0))
        ],
        vec![]
    ))
    .contains("named twice"));
    assert!(err(HybridModel::new(
        params(&[]),
        vec![
            ("a".into(), a.clone(), Some(1.0)),
            ("b".into(), knn(&other, 3), Some(1.0))
        ],
        vec![]
    ))
    .contains("\"b\" has 12 items"));
    assert!(err(HybridModel::new(
        params(&[]),
        vec![("a".into(), a.clone(), Some(1.0))],
        vec![1]
    ))
    .contains("fallback"));
    let h = HybridModel::new(
        params(&[]),
        vec![("a".into(), a.clone(), Some(1.0))],
        vec![],
    )
    .unwrap();
    assert!(err(HybridModel::new(
        params(&[]),
        vec![("h".into(), shared(Box::new(h)), Some(1.0))],
        vec![]
    ))
    .contains("itself a hybrid"));
    assert!(HybridParams::from_raw([("method", Value::Str("mean".into()))]).is_err());
    assert!(HybridParams::from_raw([("rrf_k", Value::Num(-1.0))]).is_err());
    assert!((TYPE.load)(vec![], vec![], 1, 1).is_err());
}

#[test]
fn explanations_split_the_blend_by_part_and_each_part_by_item() {
    let (m, n) = (40, 30);
    let train = data(m, n, 13);
    let a = knn(&train, 6);
    let c = pop(&train);
    let h = HybridModel::new(
        params(&[("method", Value::Str("weighted".into()))]),
        vec![
            ("a".into(), a.clone(), Some(0.6)),
            ("c".into(), c.clone(), Some(0.4)),
        ],
        vec![],
    )
    .unwrap();
    for u in 0..m - 1 {
        let (items, values) = train.row(u);
        let mut s = vec![0f32; n];
        h.score_user(u, &mut s);
        for item in 0..(n - 1) as u32 {
            let (score, shares, fb) = h.explain_parts(Some(u), items, values, item).unwrap();
            assert_eq!(score, s[item as usize]);
            assert!(fb.is_none());
            if score.is_finite() {
                let sum: f32 = shares.iter().map(|p| p.contribution).sum();
                assert!(
                    (sum - score).abs() < 1e-5,
                    "user {u} item {item}: {sum} vs {score}"
                );
            }
            // The kNN part's own split: brute force over the liked items.
            let (total, parts) = shares[0].explanation.clone().unwrap();
            let mut want = 0f32;
            let nb = read(&a);
            let knn = nb.as_any().downcast_ref::<KnnModel>().unwrap();
            for (&j, &v) in items.iter().zip(values) {
                let (js, sims) = knn.neighbours.row(j as usize);
                if let Ok(p) = js.binary_search(&item) {
                    want += v * sims[p];
                    assert!(parts.contains(&(j, v * sims[p])));
                }
            }
            assert_eq!(total, want);
            assert!((total - shares[0].raw).abs() < 1e-5);
            assert!(shares[1].explanation.is_none());
        }
    }
}

#[test]
fn a_part_grown_after_the_build_is_left_out_rather_than_misread() {
    use crate::models::als::{AlsModel, AlsParams};
    let (m, n) = (30, 20);
    let train = data(m, n, 17);
    let p = AlsParams {
        factors: 4,
        iterations: 2,
        ..AlsParams::default()
    };
    let als: SharedModel = shared(Box::new(AlsModel::fit(p, &train, |_| true).unwrap()));
    let a = knn(&train, 5);
    let h = HybridModel::new(
        params(&[]),
        vec![
            ("als".into(), als.clone(), Some(1.0)),
            ("a".into(), a.clone(), Some(1.0)),
        ],
        vec![],
    )
    .unwrap();
    // A new item (index n) folded into the ALS part: it now has n + 1 items.
    {
        let mut w = als.write().unwrap();
        let model = w.as_any_mut().downcast_mut::<AlsModel>().unwrap();
        let rows = Csr::from_coo(1, m, &[0, 0], &[1, 2], &[1.0, 1.0]).unwrap();
        model.partial_fit_items(&[n as u32], &rows).unwrap();
    }
    assert_eq!(read(&als).n_items(), n + 1);
    let mut got = vec![0f32; n];
    h.score_user(3, &mut got);
    let s = scores(&a, 3, n);
    let kn = read(&a).known_items().unwrap();
    let (lo, hi) = (0..n)
        .filter(|&i| kn[i])
        .fold((f32::MAX, f32::MIN), |(l, h), i| (l.min(s[i]), h.max(s[i])));
    for i in 0..n {
        if kn[i] {
            assert!((got[i] - (s[i] - lo) / (hi - lo)).abs() < 1e-6);
        }
    }
    assert!(h.similar_items(1, 3).is_ok());
    assert!(h
        .explain_parts(Some(3), train.row(3).0, train.row(3).1, 1)
        .is_ok());
}

#[test]
fn the_weight_search_scores_at_most_tune_users_evenly_spaced_users() {
    let (m, n) = (60, 30);
    let train = data(m, n, 23);
    let valid = data(m, n, 29);
    let a = knn(&train, 4);
    let c = pop(&train);
    let mut h = HybridModel::new(
        params(&[("tune_users", Value::Num(7.0))]),
        vec![("a".into(), a, Some(1.0)), ("c".into(), c, Some(1.0))],
        vec![],
    )
    .unwrap();
    let r = h.tune_weights(&train, &valid, 5).unwrap();
    assert_eq!(r.users, 7);
    assert!(HybridParams::from_raw([("tune_users", Value::Num(0.0))]).is_err());
}
