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
