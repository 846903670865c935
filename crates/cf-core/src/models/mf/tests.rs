// Dense reference code indexes matrices and vectors by position on purpose: it reads as the
// formulas it checks.
#![allow(clippy::needless_range_loop)]

use approx::assert_abs_diff_eq;

use super::*;
use crate::models::{Model, Recommender};
use crate::params::Params;

/// Ratings 1-5 from a rank-3 model with biases plus noise, on `density` of the cells; the
/// held-out share of those cells goes to the second matrix.
fn synthetic(n_users: usize, n_items: usize, density: f32, held_out: f32, seed: u64) -> (Csr, Csr) {
    let mut g = SplitMix64::new(seed);
    let k = 3;
    let pu: Vec<f32> = (0..n_users * k).map(|_| normal(&mut g) * 0.8).collect();
    let qi: Vec<f32> = (0..n_items * k).map(|_| normal(&mut g) * 0.8).collect();
    let bu: Vec<f32> = (0..n_users).map(|_| normal(&mut g) * 0.4).collect();
    let bi: Vec<f32> = (0..n_items).map(|_| normal(&mut g) * 0.6).collect();
    let (mut tr, mut te) = ((vec![], vec![], vec![]), (vec![], vec![], vec![]));
    for u in 0..n_users {
        for i in 0..n_items {
            if g.next_f32() >= density {
                continue;
            }
            let dotp: f32 = (0..k).map(|f| pu[u * k + f] * qi[i * k + f]).sum();
            let r = (3.5 + bu[u] + bi[i] + dotp + normal(&mut g) * 0.3)
                .round()
                .clamp(1.0, 5.0);
            let t = if g.next_f32() < held_out {
                &mut te
            } else {
                &mut tr
            };
            t.0.push(u as u32);
            t.1.push(i as u32);
            t.2.push(r);
        }
    }
    (
        Csr::from_coo(n_users, n_items, &tr.0, &tr.1, &tr.2).unwrap(),
        Csr::from_coo(n_users, n_items, &te.0, &te.1, &te.2).unwrap(),
    )
}

fn params(solver: Solver) -> MfParams {
    MfParams {
        factors: 5,
        solver,
        epochs: 10,
        regularization: 0.05,
        bias_regularization: 0.05,
        learning_rate: 0.02,
        threads: 1,
        ..MfParams::default()
    }
}

/// Solve A x = b by Gauss-Jordan elimination with partial pivoting: the reference the
/// faer Cholesky path is checked against.
fn dense_solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n)
            .max_by(|&x, &y| a[x][c].abs().total_cmp(&a[y][c].abs()))
            .unwrap();
        a.swap(c, p);
        b.swap(c, p);
        for r in 0..n {
            if r != c {
                let m = a[r][c] / a[c][c];
                for j in c..n {
                    a[r][j] -= m * a[c][j];
                }
                b[r] -= m * b[c];
            }
        }
    }
    (0..n).map(|i| b[i] / a[i][i]).collect()
}

/// The objective of the module docs, in f64.
fn objective(m: &MfModel, train: &Csr) -> f64 {
    let (k, d) = (m.params.factors, m.width());
    let (reg, breg) = (
        m.params.regularization as f64,
        m.params.bias_regularization as f64,
    );
    let mut s = 0f64;
    for u in 0..train.n_rows {
        let (items, r) = train.row(u);
        for (&i, &v) in items.iter().zip(r) {
            let i = i as usize;
            let e = v as f64 - m.predict(u, i) as f64;
            let p = &m.user_factors[u * d..u * d + k];
            let q = &m.item_factors[i * d..i * d + k];
            let sq = |x: &[f32]| x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
            let bi = m.item_factors[i * d + k] as f64;
            s += e * e + reg * (sq(p) + sq(q)) + breg * ((m.user_bias[u] as f64).powi(2) + bi * bi);
        }
    }
    s
}

#[test]
fn als_half_steps_match_a_direct_normal_equation_solve() {
    let (train, _) = synthetic(30, 20, 0.5, 0.0, 1);
    let mut m = MfModel::new(params(Solver::Als), &train).unwrap();
    let (k, d) = (m.params.factors, m.width());
    let (reg, breg) = (0.05f64, 0.05f64);
    let mu = m.mean as f64;
    let items_before = m.item_factors.clone();
    m.als_users(&train).unwrap();
    for u in 0..train.n_rows {
        let (items, r) = train.row(u);
        let n = items.len() as f64;
        let mut a = vec![vec![0f64; d]; d];
        let mut b = vec![0f64; d];
        for (&i, &v) in items.iter().zip(r) {
            let row = &items_before[i as usize * d..i as usize * d + d];
            let mut x = vec![1f64];
            x.extend(row[..k].iter().map(|&v| v as f64));
            let t = v as f64 - mu - row[k] as f64;
            for p in 0..d {
                b[p] += x[p] * t;
                for q in 0..d {
                    a[p][q] += x[p] * x[q];
                }
            }
        }
        a[0][0] += n * breg;
        for f in 1..d {
            a[f][f] += n * reg;
        }
        let x = dense_solve(a, b);
        assert_abs_diff_eq!(m.user_bias[u] as f64, x[0], epsilon = 1e-5);
        for f in 0..k {
            assert_abs_diff_eq!(m.user_factors[u * d + f] as f64, x[f + 1], epsilon = 1e-5);
        }
        assert_eq!(m.user_factors[u * d + k], 1.0);
    }
    // The item half: the same system with the users (just solved) fixed.
    let by_item = train.transpose();
    let (users, ub) = (m.user_factors.clone(), m.user_bias.clone());
    m.als_items(&by_item).unwrap();
    for i in 0..by_item.n_rows {
        let (us, r) = by_item.row(i);
        let n = us.len() as f64;
        let mut a = vec![vec![0f64; d]; d];
        let mut b = vec![0f64; d];
        for (&u, &v) in us.iter().zip(r) {
            let mut x = vec![1f64];
            x.extend(
                users[u as usize * d..u as usize * d + k]
                    .iter()
                    .map(|&v| v as f64),
            );
            let t = v as f64 - mu - ub[u as usize] as f64;
            for p in 0..d {
                b[p] += x[p] * t;
                for q in 0..d {
                    a[p][q] += x[p] * x[q];
                }
            }
        }
        a[0][0] += n * breg;
        for f in 1..d {
            a[f][f] += n * reg;
        }
        let x = dense_solve(a, b);
        assert_abs_diff_eq!(m.item_factors[i * d + k] as f64, x[0], epsilon = 1e-5);
        for f in 0..k {
            assert_abs_diff_eq!(m.item_factors[i * d + f] as f64, x[f + 1], epsilon = 1e-5);
        }
    }
}

#[test]
fn als_never_raises_the_objective_and_both_solvers_beat_the_biases() {
    let (train, test) = synthetic(80, 50, 0.5, 0.2, 2);
    let mut m = MfModel::new(params(Solver::Als), &train).unwrap();
    let mut last = f64::INFINITY;
    for _ in 0..8 {
        m.epoch(&train, None, None).unwrap();
        let o = objective(&m, &train);
        // Each half-step is an exact minimisation over its rows: only f32 rounding of the
        // stored rows can add anything.
        assert!(
            o <= last * (1.0 + 1e-5),
            "objective rose from {last} to {o}"
        );
        last = o;
    }
    // Bias-only reference: the same model with one factor pinned at zero by a huge penalty.
    let biases = MfModel::fit(
        MfParams {
            regularization: 1e6,
            ..params(Solver::Als)
        },
        &train,
        None,
        |_| true,
    )
    .unwrap();
    let rmse = |m: &MfModel| {
        crate::rating_metrics::rating_metrics(m, m.n_items, &test, true)
            .unwrap()
            .rmse
    };
    let base = rmse(&biases);
    assert!(rmse(&m) < base * 0.9, "als {} vs biases {base}", rmse(&m));
    let sgd = MfModel::fit(
        MfParams {
            epochs: 60,
            ..params(Solver::Sgd)
        },
        &train,
        None,
        |_| true,
    )
    .unwrap();
    assert!(
        rmse(&sgd) < base * 0.9,
        "sgd {} vs biases {base}",
        rmse(&sgd)
    );
}

#[test]
fn same_seed_same_bits_at_1_2_and_16_threads() {
    let (train, valid) = synthetic(70, 45, 0.4, 0.2, 3);
    for solver in [Solver::Als, Solver::Sgd] {
        let fit = |threads| {
            MfModel::fit(
                MfParams {
                    threads,
                    blocks: 4,
                    epochs: 5,
                    ..params(solver)
                },
                &train,
                Some(&valid),
                |_| true,
            )
            .unwrap()
        };
        let a = fit(1);
        for t in [2, 16] {
            let b = fit(t);
            assert_eq!(a.user_factors, b.user_factors, "{solver:?} at {t} threads");
            assert_eq!(a.item_factors, b.item_factors, "{solver:?} at {t} threads");
            assert_eq!(a.user_bias, b.user_bias, "{solver:?} at {t} threads");
            assert_eq!(a.curve.len(), b.curve.len());
            for (x, y) in a.curve.iter().zip(&b.curve) {
                assert_eq!(x.valid_rmse, y.valid_rmse);
                assert_eq!(x.train_rmse, y.train_rmse);
            }
        }
        // Another seed is another model (the seed reaches the factors).
        let c = MfModel::fit(
            MfParams {
                seed: 7,
                ..params(solver)
            },
            &train,
            None,
            |_| true,
        )
        .unwrap();
        assert_ne!(a.item_factors, c.item_factors);
    }
}

#[test]
fn early_stopping_keeps_the_best_epoch_when_validation_gets_worse() {
    // Many factors, no penalty, a large step: SGD memorises the training ratings and the
    // validation RMSE turns up after a few epochs.
    let (train, valid) = synthetic(40, 30, 0.35, 0.3, 4);
    let p = MfParams {
        factors: 30,
        regularization: 0.0,
        bias_regularization: 0.0,
        learning_rate: 0.05,
        init_std: 0.3,
        epochs: 200,
        patience: 5,
        ..params(Solver::Sgd)
    };
    let m = MfModel::fit(p.clone(), &train, Some(&valid), |_| true).unwrap();
    let best = m.best_epoch().unwrap();
    let curve: Vec<f64> = m.curve.iter().map(|r| r.valid_rmse.unwrap()).collect();
    assert!(m.epochs_done < 200, "patience never stopped the fit");
    assert_eq!(m.epochs_done, best + 5);
    assert!(
        *curve.last().unwrap() > curve[best - 1],
        "validation did not get worse"
    );
    let min = curve.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(curve[best - 1], min);
    // The kept parameters are the best epoch's: they score its validation RMSE exactly.
    let now = crate::rating_metrics::rating_metrics(&m, m.n_items, &valid, true)
        .unwrap()
        .rmse;
    assert_eq!(now, min);
    // Without patience every epoch runs, and the best is still what is kept.
    let all = MfModel::fit(
        MfParams {
            patience: 0,
            epochs: best + 10,
            ..p
        },
        &train,
        Some(&valid),
        |_| true,
    )
    .unwrap();
    assert_eq!(all.epochs_done, best + 10);
    assert_eq!(all.best_epoch(), Some(best));
    assert_eq!(all.item_factors, m.item_factors);
}

#[test]
fn fold_in_is_the_als_user_solve() {
    let (train, _) = synthetic(30, 25, 0.5, 0.0, 5);
    let m = MfModel::fit(params(Solver::Als), &train, None, |_| true).unwrap();
    let mut again = MfModel::from_parts(
        m.params.clone(),
        m.user_factors.to_vec(),
        m.item_factors.to_vec(),
        m.user_bias.clone(),
        m.mean,
        m.rating_min,
        m.rating_max,
    )
    .unwrap();
    again.als_users(&train).unwrap();
    let d = m.width();
    for u in [0usize, 7, 29] {
        let (items, r) = train.row(u);
        let (b, p) = m.fold_in(items, r).unwrap();
        assert_eq!(b, again.user_bias[u]);
        assert_eq!(&p[..], &again.user_factors[u * d..u * d + d - 1]);
        // Ranking a folded-in user: scores are the predicted ratings less μ + b_u.
        let mut s = vec![0f32; m.n_items];
        m.score_new_user(items, r, &mut s).unwrap();
        for i in 0..m.n_items {
            let want = again.predict(u, i) - m.mean - b;
            assert_abs_diff_eq!(s[i], want, epsilon = 1e-4);
        }
    }
    assert_eq!(m.fold_in(&[], &[]).unwrap(), (0.0, vec![0.0; 5]));
    let e = m.fold_in(&[3], &[f32::NAN]).unwrap_err();
    assert_eq!(e.code(), "ERR_CF_INVALID_ARG");
    assert!(e.to_string().starts_with("values:"), "{e}");
    assert!(m
        .fold_in(&[25], &[3.0])
        .unwrap_err()
        .to_string()
        .starts_with("items:"));
}

#[test]
fn ranking_follows_the_predicted_ratings_and_a_saved_model_loads_back() {
    let (train, _) = synthetic(20, 15, 0.6, 0.0, 6);
    let m = MfModel::fit(params(Solver::Sgd), &train, None, |_| true).unwrap();
    let mut s = vec![0f32; m.n_items];
    for u in 0..m.n_users {
        m.score_user(u, &mut s);
        for i in 0..m.n_items {
            assert_abs_diff_eq!(
                s[i] + m.mean + m.user_bias[u],
                m.predict(u, i),
                epsilon = 1e-4
            );
        }
    }
    let arrays = m.arrays();
    let params: Vec<(String, crate::params::Value)> = m
        .params()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let back = (TYPE.load)(params, arrays, m.n_users, m.n_items).unwrap();
    let r = back.ratings().unwrap();
    for (u, i) in [(0, 0), (5, 9), (19, 14)] {
        assert_eq!(r.predict(u, i), m.predict(u, i));
    }
    assert_eq!(r.rating_range(), (1.0, 5.0));
    // A user past the model is predicted from μ and the item bias alone.
    assert_eq!(m.predict(20, 3), m.mean + m.item_bias()[3]);
}

#[test]
fn rows_without_ratings_predict_from_the_biases_under_both_solvers() {
    // User 3 and item 4 have no training rating.
    let train = Csr::from_coo(
        4,
        5,
        &[0, 0, 1, 1, 2, 2, 0],
        &[0, 1, 1, 2, 2, 3, 3],
        &[5.0, 3.0, 4.0, 1.0, 2.0, 4.0, 4.0],
    )
    .unwrap();
    for solver in [Solver::Als, Solver::Sgd] {
        let m = MfModel::fit(params(solver), &train, None, |_| true).unwrap();
        let d = m.width();
        assert!(
            m.user_factors[3 * d..4 * d - 1].iter().all(|&v| v == 0.0),
            "{solver:?}"
        );
        assert!(
            m.item_factors[4 * d..5 * d - 1].iter().all(|&v| v == 0.0),
            "{solver:?}"
        );
        assert_eq!(m.predict(3, 1), m.mean + m.user_bias[3] + m.item_bias()[1]);
        assert_eq!(m.user_bias[3], 0.0);
        assert_eq!(m.item_bias()[4], 0.0);
    }
}

#[test]
fn bad_inputs_are_coded_errors_naming_the_option() {
    let binary = Csr::from_coo(3, 3, &[0, 1, 2], &[0, 1, 2], &[1.0; 3]).unwrap();
    let e = MfModel::new(MfParams::default(), &binary).err().unwrap();
    assert_eq!(e.code(), "ERR_CF_INVALID_ARG");
    assert!(
        e.to_string()
            .starts_with("values: every training value is 1"),
        "{e}"
    );
    let mut nan = Csr::from_coo(2, 2, &[0, 1], &[0, 1], &[4.0, 2.0]).unwrap();
    nan.values[1] = f32::NAN;
    let e = MfModel::new(MfParams::default(), &nan).err().unwrap();
    assert!(e.to_string().starts_with("values: rating NaN"), "{e}");
    let empty = Csr::empty(2, 2);
    assert_eq!(
        MfModel::new(MfParams::default(), &empty)
            .err()
            .unwrap()
            .code(),
        "ERR_CF_DATA"
    );
    let (train, valid) = synthetic(10, 8, 0.6, 0.2, 7);
    let e = MfModel::fit(
        MfParams {
            patience: 2,
            ..MfParams::default()
        },
        &train,
        None,
        |_| true,
    )
    .err()
    .unwrap();
    assert!(e.to_string().starts_with("patience: is 2"), "{e}");
    let wrong = Csr::empty(10, 9);
    let m = MfModel::new(MfParams::default(), &train).unwrap();
    assert!(m
        .check_inputs(&train, Some(&wrong))
        .unwrap_err()
        .to_string()
        .starts_with("valid:"));
    assert!(m
        .check_inputs(&train, Some(&Csr::empty(10, 8)))
        .unwrap_err()
        .to_string()
        .starts_with("valid:"));
    assert!(m.check_inputs(&valid, None).is_ok());
    let raw =
        |k: &str, v: crate::params::Value| MfParams::from_raw([(k, v)]).unwrap_err().to_string();
    assert!(raw("factors", crate::params::Value::Num(0.0)).starts_with("factors:"));
    assert!(raw("solver", crate::params::Value::Str("lbfgs".into())).starts_with("solver:"));
    assert!(raw("lr_decay", crate::params::Value::Num(1.5)).starts_with("lr_decay:"));
    assert!(raw("regularization", crate::params::Value::Num(-1.0)).starts_with("regularization:"));
    // Zero penalty on a user with fewer ratings than unknowns: a singular system, named.
    let few = Csr::from_coo(2, 3, &[0, 1, 1, 0], &[0, 1, 2, 2], &[5.0, 1.0, 3.0, 4.0]).unwrap();
    let mut m = MfModel::new(
        MfParams {
            regularization: 0.0,
            bias_regularization: 0.0,
            ..MfParams::default()
        },
        &few,
    )
    .unwrap();
    let e = m.epoch(&few, None, None).unwrap_err();
    assert!(e.to_string().starts_with("regularization: is 0"), "{e}");
}

#[test]
fn a_fit_resumed_from_a_checkpoint_equals_the_uninterrupted_one_bit_for_bit() {
    use crate::checkpoint::TrainState;
    let (train, valid) = synthetic(40, 30, 0.35, 0.3, 4);
    // SGD with patience (the best epoch is kept across the checkpoint), and ALS.
    let sgd = MfParams {
        factors: 30,
        regularization: 0.0,
        bias_regularization: 0.0,
        learning_rate: 0.05,
        init_std: 0.3,
        epochs: 200,
        patience: 5,
        threads: 2,
        ..params(Solver::Sgd)
    };
    for p in [sgd, params(Solver::Als)] {
        let whole = MfModel::fit(p.clone(), &train, Some(&valid), |_| true).unwrap();
        let mut part = MfModel::new(p.clone(), &train).unwrap();
        for _ in 0..4 {
            part.epoch(&train, None, Some(&valid)).unwrap();
        }
        let bytes = Model::train_state(&part).unwrap().encode();
        drop(part);
        let raw = p
            .to_values()
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let mut boxed =
            (TYPE.resume.unwrap())(raw, TrainState::decode(&bytes).unwrap(), &train).unwrap();
        let m = boxed.as_any_mut().downcast_mut::<MfModel>().unwrap();
        assert_eq!(m.epochs_done, 4);
        while !m.epoch(&train, None, Some(&valid)).unwrap().stop {}
        m.finish();
        assert_eq!(m.epochs_done, whole.epochs_done);
        assert_eq!(m.best_epoch(), whole.best_epoch());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&m.user_factors), bits(&whole.user_factors));
        assert_eq!(bits(&m.item_factors), bits(&whole.item_factors));
        assert_eq!(bits(&m.user_bias), bits(&whole.user_bias));
    }
}
