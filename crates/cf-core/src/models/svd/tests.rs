use faer::Mat;

use super::*;
use crate::models::{Model, Recommender};
use crate::params::Params;
use crate::rng::SplitMix64;

fn random_csr(m: usize, n: usize, density: f64, seed: u64) -> Csr {
    let mut g = SplitMix64::new(seed);
    let (mut r, mut c, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..m {
        for j in 0..n {
            if (g.next_f32() as f64) < density {
                r.push(i as u32);
                c.push(j as u32);
                v.push(1.0 + (g.next_u64() % 5) as f32);
            }
        }
    }
    Csr::from_coo(m, n, &r, &c, &v).unwrap()
}

/// The rank-k reconstruction of A from faer's dense SVD of the centred matrix, the mean
/// added back: what PureSVD scores and a truncated SVD predicts.
fn dense_reconstruction(a: &Csr, k: usize, centering: &str) -> Mat<f64> {
    let (m, n) = (a.n_rows, a.n_cols);
    let mut d = Mat::<f64>::zeros(m, n);
    for i in 0..m {
        let (cols, vals) = a.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            d[(i, j as usize)] = v as f64;
        }
    }
    let mut off = Mat::<f64>::zeros(m, n);
    let total: f64 = (0..m).map(|i| (0..n).map(|j| d[(i, j)]).sum::<f64>()).sum();
    for i in 0..m {
        let row_mean = (0..n).map(|j| d[(i, j)]).sum::<f64>() / n as f64;
        for j in 0..n {
            let col_mean = (0..m).map(|r| d[(r, j)]).sum::<f64>() / m as f64;
            off[(i, j)] = match centering {
                "global" => total / (m * n) as f64,
                "user" => row_mean,
                "item" => col_mean,
                _ => 0.0,
            };
        }
    }
    let c = &d - &off;
    let svd = c.as_ref().svd().unwrap();
    let mut out = off;
    for t in 0..k {
        let s = svd.S()[t];
        for i in 0..m {
            for j in 0..n {
                out[(i, j)] += svd.U()[(i, t)] * s * svd.V()[(j, t)];
            }
        }
    }
    out
}

fn params(k: usize, centering: &str) -> SvdParams {
    SvdParams::from_raw([
        ("factors", crate::params::Value::Num(k as f64)),
        (
            "centering",
            crate::params::Value::Str(centering.to_string().into()),
        ),
    ])
    .unwrap()
    .into_inner()
}

#[test]
fn scores_and_predictions_are_the_rank_k_reconstruction() {
    let a = random_csr(120, 70, 0.15, 3);
    let k = 6;
    for centering in ["none", "global", "user", "item"] {
        let model = SvdModel::fit(params(k, centering), &a).unwrap();
        let want = dense_reconstruction(&a, k, centering);
        let scale = (0..a.n_rows)
            .flat_map(|i| (0..a.n_cols).map(move |j| (i, j)))
            .map(|(i, j)| want[(i, j)].abs())
            .fold(0f64, f64::max);
        let mut scores = vec![0f32; a.n_cols];
        for u in [0, 17, 119] {
            model.score_user(u, &mut scores);
            for j in 0..a.n_cols {
                let w = want[(u, j)];
                assert!(
                    (scores[j] as f64 - w).abs() < 1e-4 * scale,
                    "{centering} u{u} i{j}: {} vs {w}",
                    scores[j]
                );
                let p = model.predict(u, j).unwrap() as f64;
                assert!(
                    (p - w).abs() < 1e-4 * scale,
                    "{centering}: predict {p} vs {w}"
                );
            }
        }
    }
}

#[test]
fn a_training_row_folds_in_to_its_own_factors() {
    let a = random_csr(90, 60, 0.2, 5);
    for centering in ["none", "global", "user", "item"] {
        let model = SvdModel::fit(params(5, centering), &a).unwrap();
        let d = model.width();
        for u in [0, 44, 89] {
            let (items, values) = a.row(u);
            let x = model.fold_in_user(items, values).unwrap();
            let want = &model.user_factors[u * d..u * d + d];
            let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
            for (g, w) in x.iter().zip(want) {
                assert!(
                    (g - w).abs() < 1e-4 * scale,
                    "{centering} u{u}: {x:?} vs {want:?}"
                );
            }
        }
    }
}

#[test]
fn a_saved_model_loads_back_with_the_same_scores() {
    let a = random_csr(80, 50, 0.2, 8);
    let model = SvdModel::fit(params(4, "item"), &a).unwrap();
    let raw: Vec<(String, crate::params::Value)> = model
        .params()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let loaded = (TYPE.load)(raw, model.arrays(), 80, 50).unwrap();
    let (mut s0, mut s1) = (vec![0f32; 50], vec![0f32; 50]);
    model.score_user(7, &mut s0);
    loaded.score_user(7, &mut s1);
    assert_eq!(s0, s1);
    let l = loaded.as_any().downcast_ref::<SvdModel>().unwrap();
    assert_eq!(l.explained_variance_ratio, model.explained_variance_ratio);
    assert!(model.explained_variance_ratio.iter().sum::<f32>() < 1.0);
    assert!(model
        .explained_variance_ratio
        .windows(2)
        .all(|w| w[0] >= w[1]));
}

#[test]
fn factors_out_of_range_name_the_option() {
    let a = random_csr(30, 12, 0.3, 1);
    let e = SvdModel::fit(params(12, "none"), &a).err().unwrap();
    assert_eq!(e.code(), "ERR_CF_INVALID_ARG");
    assert!(
        e.to_string()
            .starts_with("factors: must be below min(users, items) = 12"),
        "{e}"
    );
    let e = SvdParams::from_raw([("factors", crate::params::Value::Num(0.0))]).unwrap_err();
    assert!(e.to_string().starts_with("factors"), "{e}");
    let e = SvdParams::from_raw([("centering", crate::params::Value::Str("users".into()))])
        .unwrap_err();
    assert!(e.to_string().contains("centering"), "{e}");
}

const RATED: [&str; 4] = ["rated_global", "rated_user", "rated_item", "rated_baseline"];

/// m_ui of a rated mode as a dense m x n table, computed here from the definitions (not
/// from the model's helpers): μ over the ratings; the user's or item's mean rating (μ when
/// it has none); μ + b_u + b_i with b_i the item's mean of r - μ, then b_u the user's mean
/// of r - μ - b_i.
fn dense_rated_means(a: &Csr, centering: &str) -> Mat<f64> {
    let (m, n) = (a.n_rows, a.n_cols);
    let mu = a.values.iter().map(|&v| v as f64).sum::<f64>() / a.nnz() as f64;
    let mut col = vec![(0f64, 0usize); n];
    for (&j, &v) in a.indices.iter().zip(&a.values) {
        col[j as usize].0 += v as f64;
        col[j as usize].1 += 1;
    }
    let item_mean = |j: usize| {
        if col[j].1 == 0 {
            mu
        } else {
            col[j].0 / col[j].1 as f64
        }
    };
    let mut out = Mat::<f64>::zeros(m, n);
    for u in 0..m {
        let (cols, vals) = a.row(u);
        let user_mean = if cols.is_empty() {
            mu
        } else {
            vals.iter().map(|&v| v as f64).sum::<f64>() / cols.len() as f64
        };
        let b_u = if cols.is_empty() {
            0.0
        } else {
            cols.iter()
                .zip(vals)
                .map(|(&j, &v)| v as f64 - item_mean(j as usize))
                .sum::<f64>()
                / cols.len() as f64
        };
        for j in 0..n {
            out[(u, j)] = match centering {
                "rated_global" => mu,
                "rated_user" => user_mean,
                "rated_item" => item_mean(j),
                _ => item_mean(j) + b_u,
            };
        }
    }
    out
}

/// The densified reference of a rated mode: faer's dense SVD of the residual matrix (r - m_ui
/// on the rated entries, 0 elsewhere), its rank-k reconstruction with m_ui added back.
fn dense_rated_prediction(a: &Csr, k: usize, centering: &str) -> Mat<f64> {
    let (m, n) = (a.n_rows, a.n_cols);
    let means = dense_rated_means(a, centering);
    let mut resid = Mat::<f64>::zeros(m, n);
    for u in 0..m {
        let (cols, vals) = a.row(u);
        for (&j, &v) in cols.iter().zip(vals) {
            resid[(u, j as usize)] = v as f64 - means[(u, j as usize)];
        }
    }
    let svd = resid.as_ref().svd().unwrap();
    let mut out = means;
    for t in 0..k {
        let s = svd.S()[t];
        for i in 0..m {
            for j in 0..n {
                out[(i, j)] += svd.U()[(i, t)] * s * svd.V()[(j, t)];
            }
        }
    }
    out
}

/// A ratings matrix with an empty user (row 3) and an empty item (column 5), which a rated
/// mode must predict from the means alone.
fn ratings_csr(m: usize, n: usize, density: f64, seed: u64) -> Csr {
    let a = random_csr(m, n, density, seed);
    let (mut r, mut c, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for u in 0..m {
        let (cols, vals) = a.row(u);
        for (&j, &x) in cols.iter().zip(vals) {
            if u != 3 && j != 5 {
                r.push(u as u32);
                c.push(j);
                v.push(x);
            }
        }
    }
    Csr::from_coo(m, n, &r, &c, &v).unwrap()
}

fn ratings_of(model: &SvdModel) -> &dyn crate::models::RatingPredictor {
    Model::ratings(model).expect("a rated mode predicts ratings")
}

#[test]
fn rated_predictions_equal_the_dense_svd_of_the_residuals() {
    let a = ratings_csr(60, 45, 0.25, 11);
    let k = 5;
    for centering in RATED {
        let model = SvdModel::fit(params(k, centering), &a).unwrap();
        assert_eq!(model.width(), k + 2);
        let want = dense_rated_prediction(&a, k, centering);
        let p = ratings_of(&model);
        let mut scores = vec![0f32; a.n_cols];
        for u in 0..a.n_rows {
            model.score_user(u, &mut scores);
            for j in 0..a.n_cols {
                let w = want[(u, j)];
                let got = p.predict(u, j) as f64;
                // Ratings are 1-5: an absolute tolerance is a relative one.
                assert!(
                    (got - w).abs() < 1e-4,
                    "{centering} u{u} i{j}: {got} vs {w}"
                );
                // Ranking scores are the predicted ratings (the top-K engine's kernel sums
                // in its own order).
                assert!((scores[j] as f64 - w).abs() < 1e-4, "{centering} score");
                assert_eq!(model.predict(u, j).unwrap(), p.predict(u, j));
            }
        }
        // A user the model does not know: the mean without a user term (μ + b_i), which is
        // also what the empty training user 3 gets.
        let means = dense_rated_means(&a, centering);
        for j in [0, 5, 44] {
            let cold = means[(3, j)];
            let got = p.predict(a.n_rows + 7, j) as f64;
            assert!(
                (got - cold).abs() < 1e-5,
                "{centering} cold i{j}: {got} vs {cold}"
            );
            assert!(
                (p.predict(3, j) as f64 - cold).abs() < 1e-5,
                "{centering} u3 i{j}"
            );
        }
        let (lo, hi) = p.rating_range();
        let vmin = a.values.iter().copied().fold(f32::INFINITY, f32::min);
        let vmax = a.values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert_eq!((lo, hi), (vmin, vmax));
    }
}

#[test]
fn ranking_modes_do_not_predict_ratings() {
    let a = random_csr(40, 30, 0.2, 2);
    for centering in ["none", "global", "user", "item"] {
        let model = SvdModel::fit(params(3, centering), &a).unwrap();
        assert!(Model::ratings(&model).is_none(), "{centering}");
        assert!(!model.arrays().iter().any(|x| x.name == "rating_stats"));
    }
    // The default is PureSVD: no extra columns, nothing subtracted.
    let p = SvdParams::default();
    assert_eq!(p.centering, SvdCentering::Cells(Centering::None));
    assert_eq!(p.width(), p.factors);
}

#[test]
fn every_centering_choice_round_trips_through_the_params() {
    let spec = SPEC.iter().find(|s| s.name == "centering").unwrap();
    let crate::params::Kind::Choice(names) = spec.kind else {
        panic!("centering is a choice")
    };
    let mut seen = Vec::new();
    for &name in names {
        let p = params(4, name);
        assert_eq!(p.centering.name(), name);
        let back = p.to_values();
        assert!(back.contains(&("centering", crate::params::Value::Str(name.into()))));
        assert!(
            !seen.contains(&p.centering),
            "{name} maps to a used centring"
        );
        seen.push(p.centering);
        assert_eq!(p.centering.rated().is_some(), name.starts_with("rated_"));
    }
}

#[test]
fn a_new_user_folds_in_from_their_ratings_to_a_training_row() {
    let a = ratings_csr(70, 50, 0.2, 21);
    for centering in RATED {
        let model = SvdModel::fit(params(6, centering), &a).unwrap();
        let d = model.width();
        // Row 3 has no ratings: it folds in to [0, 1, μ] (μ + b_i for every item).
        for u in [0, 3, 41, 69] {
            let (items, values) = a.row(u);
            let x = model.fold_in_user(items, values).unwrap();
            let want = &model.user_factors[u * d..u * d + d];
            for (g, w) in x.iter().zip(want) {
                assert!(
                    (g - w).abs() < 1e-4 * w.abs().max(1.0),
                    "{centering} u{u}: {x:?} vs {want:?}"
                );
            }
            let (mut known, mut new) = (vec![0f32; 50], vec![0f32; 50]);
            model.score_user(u, &mut known);
            model.score_new_user(items, values, &mut new).unwrap();
            for (s, t) in known.iter().zip(&new) {
                assert!((s - t).abs() < 1e-4, "{centering} u{u}: {s} vs {t}");
            }
        }
    }
}

#[test]
fn a_rated_model_keeps_its_rating_scale_through_save_and_load() {
    let a = ratings_csr(50, 40, 0.3, 4);
    let model = SvdModel::fit(params(4, "rated_baseline"), &a).unwrap();
    let raw: Vec<(String, crate::params::Value)> = model
        .params()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let arrays = model.arrays();
    let stats = arrays.iter().find(|x| x.name == "rating_stats").unwrap();
    assert_eq!(stats.shape, vec![3]);
    let loaded = (TYPE.load)(raw.clone(), arrays.clone(), 50, 40).unwrap();
    let (p0, p1) = (ratings_of(&model), loaded.ratings().unwrap());
    assert_eq!(p0.rating_range(), p1.rating_range());
    for (u, j) in [(0, 0), (7, 39), (49, 5), (50, 6), (1000, 12)] {
        assert_eq!(p0.predict(u, j), p1.predict(u, j), "({u}, {j})");
    }
    // A rated model without its scale is damaged, not silently a ranking model.
    let without: Vec<_> = arrays
        .iter()
        .filter(|x| x.name != "rating_stats")
        .cloned()
        .collect();
    let e = (TYPE.load)(raw.clone(), without, 50, 40).err().unwrap();
    assert!(e.to_string().contains("rating_stats"), "{e}");
    let mut bad = arrays.clone();
    bad.iter_mut()
        .find(|x| x.name == "rating_stats")
        .unwrap()
        .data = vec![3.0, 5.0, 5.0];
    let e = (TYPE.load)(raw, bad, 50, 40).err().unwrap();
    assert!(e.to_string().starts_with("rating_stats"), "{e}");
    // A ranking model saved before the rated modes existed has no rating_stats: it loads and
    // predicts no ratings.
    let old = SvdModel::fit(params(4, "item"), &a).unwrap();
    let raw_old: Vec<(String, crate::params::Value)> = old
        .params()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let loaded = (TYPE.load)(raw_old, old.arrays(), 50, 40).unwrap();
    assert!(loaded.ratings().is_none());
}

#[test]
fn rated_modes_refuse_binary_data_naming_the_option() {
    let a = random_csr(30, 20, 0.3, 9);
    let ones = Csr {
        values: vec![1.0; a.nnz()],
        ..a.clone()
    };
    for centering in RATED {
        let e = SvdModel::fit(params(3, centering), &ones).err().unwrap();
        assert_eq!(e.code(), "ERR_CF_INVALID_ARG");
        assert!(
            e.to_string()
                .starts_with(&format!("centering: every training value is 1: centering {centering} predicts explicit ratings")),
            "{e}"
        );
        // The ranking modes take the same data.
        assert!(SvdModel::fit(params(3, "none"), &ones).is_ok());
    }
    let e = SvdModel::fit(params(3, "rated_user"), &Csr::empty(30, 20))
        .err()
        .unwrap();
    assert!(e.to_string().contains("no ratings"), "{e}");
}

#[test]
fn rating_metrics_score_a_rated_model() {
    // Train on most of a matrix's entries, test on the rest.
    let all = random_csr(80, 60, 0.3, 13);
    let (mut tr, mut te) = ((vec![], vec![], vec![]), (vec![], vec![], vec![]));
    let mut g = SplitMix64::new(99);
    for u in 0..all.n_rows {
        let (cols, vals) = all.row(u);
        for (&j, &v) in cols.iter().zip(vals) {
            let part = if g.next_f32() < 0.2 { &mut te } else { &mut tr };
            part.0.push(u as u32);
            part.1.push(j);
            part.2.push(v);
        }
    }
    let train = Csr::from_coo(80, 60, &tr.0, &tr.1, &tr.2).unwrap();
    let test = Csr::from_coo(80, 60, &te.0, &te.1, &te.2).unwrap();
    let model = SvdModel::fit(params(3, "rated_item"), &train).unwrap();
    let p = ratings_of(&model);
    for clip in [false, true] {
        let r = crate::rating_metrics::rating_metrics(p, 60, &test, clip).unwrap();
        let (mut se, mut ae) = (0f64, 0f64);
        for u in 0..test.n_rows {
            let (cols, vals) = test.row(u);
            for (&j, &v) in cols.iter().zip(vals) {
                let mut x = p.predict(u, j as usize);
                if clip {
                    x = x.clamp(1.0, 5.0);
                }
                se += (x as f64 - v as f64).powi(2);
                ae += (x as f64 - v as f64).abs();
            }
        }
        let n = test.nnz() as f64;
        assert_eq!(r.count, test.nnz());
        assert!(((se / n).sqrt() - r.rmse).abs() < 1e-9);
        assert!((ae / n - r.mae).abs() < 1e-9);
        // Random ratings have nothing to learn: close to their spread, and finite.
        assert!(r.rmse > 0.5 && r.rmse < 2.5, "{}", r.rmse);
    }
}
