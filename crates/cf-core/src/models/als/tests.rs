//! ALS checked against a direct dense solve of the normal equations.

use super::*;

/// Dense f64 Gaussian elimination with partial pivoting: an independent reference.
fn dense_solve(mut a: Vec<f64>, mut b: Vec<f64>, k: usize) -> Vec<f64> {
    for col in 0..k {
        let piv = (col..k)
            .max_by(|&i, &j| a[i * k + col].abs().total_cmp(&a[j * k + col].abs()))
            .unwrap();
        for j in 0..k {
            a.swap(col * k + j, piv * k + j);
        }
        b.swap(col, piv);
        for i in col + 1..k {
            let f = a[i * k + col] / a[col * k + col];
            for j in col..k {
                a[i * k + j] -= f * a[col * k + j];
            }
            b[i] -= f * b[col];
        }
    }
    let mut x = vec![0f64; k];
    for i in (0..k).rev() {
        let s: f64 = (i + 1..k).map(|j| a[i * k + j] * x[j]).sum();
        x[i] = (b[i] - s) / a[i * k + i];
    }
    x
}

/// The exact minimiser for one row, written from the definition: full dense confidence and
/// preference matrices, no shortcuts through YᵀY.
fn reference_row(p: &AlsParams, y: &[f32], n_other: usize, cols: &[u32], vals: &[f32]) -> Vec<f64> {
    let k = p.factors;
    let mut a = vec![0f64; k * k];
    let mut b = vec![0f64; k];
    for i in 0..n_other {
        let (c, pref) = match cols.iter().position(|&c| c as usize == i) {
            Some(j) => (p.confidence(vals[j]) as f64, 1.0),
            None => (1.0, 0.0),
        };
        let yi = &y[i * k..i * k + k];
        for r in 0..k {
            for s in 0..k {
                a[r * k + s] += c * yi[r] as f64 * yi[s] as f64;
            }
            b[r] += c * pref * yi[r] as f64;
        }
    }
    for d in 0..k {
        a[d * k + d] += p.reg_for(cols.len()) as f64;
    }
    dense_solve(a, b, k)
}

fn random_matrix(n_rows: usize, n_cols: usize, density: f64, seed: u64) -> Csr {
    let mut g = SplitMix64::new(seed);
    let (mut r, mut c, mut v) = (vec![], vec![], vec![]);
    for u in 0..n_rows {
        for i in 0..n_cols {
            if (g.next_f32() as f64) < density {
                r.push(u as u32);
                c.push(i as u32);
                v.push(1.0 + (g.next_f32() * 4.0).floor());
            }
        }
    }
    Csr::from_coo(n_rows, n_cols, &r, &c, &v).unwrap()
}

fn params(solver: Solver) -> AlsParams {
    AlsParams {
        factors: 6,
        regularization: 0.3,
        alpha: 2.0,
        iterations: 4,
        solver,
        threads: 1,
        ..AlsParams::default()
    }
}

#[test]
fn cholesky_half_step_equals_dense_normal_equations() {
    let m = random_matrix(40, 30, 0.2, 7);
    for scale in [false, true] {
        for conf in [Confidence::Linear, Confidence::Log { epsilon: 0.5 }] {
            let p = AlsParams {
                scale_regularization: scale,
                confidence: conf,
                ..params(Solver::Cholesky)
            };
            let mut model = AlsModel::new(p.clone(), 40, 30).unwrap();
            let item_users = m.transpose();
            model.iterate(&m, &item_users).unwrap();
            // After a full iteration the item factors solve their equations given the users.
            for i in 0..30 {
                let (cols, vals) = item_users.row(i);
                let want = reference_row(&p, &model.user_factors, 40, cols, vals);
                for (d, w) in want.iter().enumerate() {
                    approx::assert_abs_diff_eq!(model.item_vector(i)[d] as f64, *w, epsilon = 2e-4);
                }
            }
        }
    }
}

#[test]
fn cg_converges_to_the_exact_solution() {
    let m = random_matrix(30, 25, 0.25, 11);
    let exact = AlsModel::fit(params(Solver::Cholesky), &m, |_| true).unwrap();
    // Many CG steps from the same start reach the exact answer of every half-step.
    let cg = AlsModel::fit(params(Solver::Cg { steps: 40 }), &m, |_| true).unwrap();
    for (a, b) in exact.user_factors.iter().zip(&cg.user_factors) {
        approx::assert_abs_diff_eq!(a, b, epsilon = 1e-3);
    }
}

#[test]
fn loss_decreases_and_matches_brute_force() {
    let m = random_matrix(25, 20, 0.3, 3);
    let p = AlsParams {
        compute_loss: true,
        ..params(Solver::Cg { steps: 3 })
    };
    let mut losses = vec![];
    let model = AlsModel::fit(p.clone(), &m, |r| {
        losses.push(r.loss.unwrap());
        true
    })
    .unwrap();
    assert!(losses.windows(2).all(|w| w[1] <= w[0] + 1e-9), "{losses:?}");
    // Brute force over every (user, item) pair.
    let (mut total, mut conf) = (0f64, 0f64);
    for u in 0..25 {
        for i in 0..20 {
            let s = dot(model.user_vector(u), model.item_vector(i)) as f64;
            let (c, pref) = match m.row(u).0.binary_search(&(i as u32)) {
                Ok(j) => (p.confidence(m.row(u).1[j]) as f64, 1.0),
                Err(_) => (1.0, 0.0),
            };
            total += c * (pref - s) * (pref - s);
            if pref > 0.0 {
                conf += c;
            }
        }
    }
    total += p.regularization as f64
        * (model
            .user_factors
            .iter()
            .chain(&model.item_factors)
            .map(|v| (*v as f64) * (*v as f64))
            .sum::<f64>());
    let want = total / (conf + 500.0 - m.nnz() as f64);
    approx::assert_relative_eq!(model.loss(&m), want, max_relative = 1e-4);
}

#[test]
fn same_seed_same_factors_for_any_thread_count() {
    let m = random_matrix(300, 200, 0.05, 5);
    for solver in [Solver::Cg { steps: 3 }, Solver::Cholesky] {
        let fit = |threads| {
            AlsModel::fit(
                AlsParams {
                    threads,
                    ..params(solver)
                },
                &m,
                |_| true,
            )
            .unwrap()
        };
        let (one, two, three) = (fit(1), fit(2), fit(3));
        assert_eq!(one.user_factors, two.user_factors);
        assert_eq!(one.item_factors, two.item_factors);
        assert_eq!(one.item_factors, three.item_factors);
        let other_seed = AlsModel::fit(
            AlsParams {
                seed: 7,
                ..params(solver)
            },
            &m,
            |_| true,
        )
        .unwrap();
        assert_ne!(one.user_factors, other_seed.user_factors);
    }
}

#[test]
fn fold_in_reproduces_the_users_exact_row() {
    let m = random_matrix(50, 40, 0.15, 9);
    let model = AlsModel::fit(params(Solver::Cholesky), &m, |_| true).unwrap();
    // The last half-step was items given users; one more exact user solve is what fold-in does.
    let u = 4;
    let (cols, vals) = m.row(u);
    let v = model.fold_in_user(cols, vals).unwrap();
    let want = reference_row(&model.params, &model.item_factors, 40, cols, vals);
    for (a, b) in v.iter().zip(&want) {
        approx::assert_abs_diff_eq!(*a as f64, *b, epsilon = 1e-4);
    }
}

#[test]
fn partial_fit_adds_new_users() {
    let m = random_matrix(20, 15, 0.3, 13);
    let mut model = AlsModel::fit(params(Solver::Cholesky), &m, |_| true).unwrap();
    let rows = Csr::from_coo(1, 15, &[0, 0], &[1, 3], &[1.0, 1.0]).unwrap();
    model.partial_fit_users(&[20], &rows).unwrap();
    assert_eq!(model.n_users, 21);
    assert_eq!(
        model.user_vector(20),
        &model.fold_in_user(&[1, 3], &[1.0, 1.0]).unwrap()[..]
    );
}

#[test]
fn rejects_bad_params_and_data() {
    assert!(AlsModel::new(
        AlsParams {
            factors: 0,
            ..AlsParams::default()
        },
        2,
        2
    )
    .is_err());
    assert!(AlsModel::new(
        AlsParams {
            iterations: 0,
            ..AlsParams::default()
        },
        2,
        2
    )
    .is_err());
    assert!(AlsModel::new(
        AlsParams {
            regularization: f32::NAN,
            ..AlsParams::default()
        },
        2,
        2
    )
    .is_err());
    let neg = Csr::from_coo(2, 2, &[0, 1], &[0, 1], &[1.0, -1.0]).unwrap();
    let err = AlsModel::fit(params(Solver::Cg { steps: 3 }), &neg, |_| true).unwrap_err();
    assert!(err.to_string().contains("row 1"), "{err}");
    let model = AlsModel::fit(
        params(Solver::Cg { steps: 3 }),
        &random_matrix(5, 5, 0.5, 1),
        |_| true,
    )
    .unwrap();
    assert!(model.fold_in_user(&[9], &[1.0]).is_err());
}

#[test]
fn cancellation_stops_the_fit() {
    let m = random_matrix(10, 10, 0.3, 2);
    let mut seen = 0;
    let r = AlsModel::fit(params(Solver::Cg { steps: 3 }), &m, |_| {
        seen += 1;
        seen < 2
    });
    assert!(matches!(r, Err(Error::Cancelled)));
    assert_eq!(seen, 2);
}
