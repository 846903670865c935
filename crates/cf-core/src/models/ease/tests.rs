use faer::linalg::solvers::DenseSolveCore;
use faer::Mat;

use super::*;
use crate::models::{Model, Recommender};
use crate::params::{Params, Value};
use crate::rng::SplitMix64;

fn random_csr(m: usize, n: usize, density: f64, seed: u64) -> Csr {
    let mut g = SplitMix64::new(seed);
    let (mut r, mut c, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..m {
        for j in 0..n {
            if (g.next_f32() as f64) < density * (1.0 + j as f64 / n as f64) {
                r.push(i as u32);
                c.push(j as u32);
                v.push(1.0);
            }
        }
    }
    Csr::from_coo(m, n, &r, &c, &v).unwrap()
}

fn params(lambda: f64) -> EaseParams {
    EaseParams::from_raw([("lambda", Value::Num(lambda))])
        .unwrap()
        .into_inner()
}

/// B from a dense XᵀX + λI inverted by LU (not the Cholesky route of the model).
fn reference(x: &Csr, lambda: f64) -> Mat<f64> {
    let (m, n) = (x.n_rows, x.n_cols);
    let mut d = Mat::<f64>::zeros(m, n);
    for i in 0..m {
        let (cols, vals) = x.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            d[(i, j as usize)] = v as f64;
        }
    }
    let mut g = d.transpose() * &d;
    for j in 0..n {
        g[(j, j)] += lambda;
    }
    let p = g.as_ref().partial_piv_lu().inverse();
    Mat::from_fn(
        n,
        n,
        |i, j| if i == j { 0.0 } else { -p[(i, j)] / p[(j, j)] },
    )
}

#[test]
fn weights_match_a_direct_dense_solve_and_scores_are_x_b() {
    let x = random_csr(200, 60, 0.08, 4);
    for lambda in [1.0, 50.0] {
        let model = EaseModel::fit(params(lambda), &x).unwrap();
        let want = reference(&x, lambda);
        let n = 60;
        let scale = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| want[(i, j)].abs())
            .fold(0f64, f64::max);
        for i in 0..n {
            assert_eq!(model.b[i * n + i], 0.0);
            for j in 0..n {
                let (g, w) = (model.b[i * n + j] as f64, want[(i, j)]);
                assert!(
                    (g - w).abs() <= 1e-5 * scale,
                    "λ {lambda} B[{i},{j}] {g} vs {w}"
                );
            }
        }
        let mut s = vec![0f32; n];
        for u in [0, 99, 199] {
            model.score_user(u, &mut s);
            let (cols, _) = x.row(u);
            for j in 0..n {
                let w: f64 = cols.iter().map(|&i| want[(i as usize, j)]).sum();
                assert!(
                    (s[j] as f64 - w).abs() <= 1e-4 * scale.max(w.abs()),
                    "u{u} j{j}"
                );
            }
        }
    }
}

#[test]
fn similar_items_are_the_largest_of_a_column_of_b() {
    let x = random_csr(150, 40, 0.1, 6);
    let model = EaseModel::fit(params(10.0), &x).unwrap();
    let n = 40;
    let list = model.similar_items(7, 5).unwrap();
    let mut col: Vec<(u32, f32)> = (0..n as u32)
        .filter(|&i| i != 7)
        .map(|i| (i, model.b[i as usize * n + 7]))
        .collect();
    col.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    assert_eq!(list, col[..5].to_vec());
    assert_eq!(
        model.similar_items(40, 3).unwrap_err().code(),
        "ERR_CF_INVALID_ARG"
    );
}

#[test]
fn too_many_items_is_refused_naming_the_memory() {
    let x = random_csr(10, 300, 0.05, 1);
    let p = EaseParams::from_raw([("max_items", Value::Num(299.0))]).unwrap();
    let e = EaseModel::fit(p, &x).err().unwrap();
    assert_eq!(e.code(), "ERR_CF_INVALID_ARG");
    let msg = e.to_string();
    assert!(
        msg.starts_with(
            "max_items: ease needs dense item x item matrices: 300 items take about 0.0 GiB"
        ),
        "{msg}"
    );
    assert!(msg.contains("above max_items = 299"), "{msg}");
    assert_eq!(fit_bytes(20_000), 8_000_000_000);
    let e = EaseParams::from_raw([("lambda", Value::Num(0.0))]).unwrap_err();
    assert!(e.to_string().starts_with("lambda"), "{e}");
}

#[test]
fn a_saved_model_loads_back_with_the_same_scores_and_empty_rows_score_zero() {
    let mut x = random_csr(50, 30, 0.15, 9);
    // User 3 has nothing.
    let (a, b) = (x.indptr[3], x.indptr[4]);
    x.indices.drain(a..b);
    x.values.drain(a..b);
    for r in 4..=50 {
        x.indptr[r] -= b - a;
    }
    let model = EaseModel::fit(params(5.0), &x).unwrap();
    let raw: Vec<(String, Value)> = model
        .params()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let loaded = (TYPE.load)(raw, model.arrays(), 50, 30).unwrap();
    let (mut s0, mut s1) = (vec![0f32; 30], vec![0f32; 30]);
    for u in 0..50 {
        model.score_user(u, &mut s0);
        loaded.score_user(u, &mut s1);
        assert_eq!(s0, s1);
    }
    model.score_user(3, &mut s0);
    assert!(s0.iter().all(|&v| v == 0.0));
    // A new user with user 0's items scores like user 0.
    let (items, values) = x.row(0);
    model.score_new_user(items, values, &mut s1).unwrap();
    model.score_user(0, &mut s0);
    assert_eq!(s0, s1);
}
