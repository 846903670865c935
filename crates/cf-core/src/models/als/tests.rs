//! ALS checked against a direct dense solve of the normal equations.

use super::*;
use crate::params::Params;

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
    let cg = AlsParams {
        precision: Precision::Single,
        ..params(Solver::Cg { steps: 40 })
    };
    let cg = AlsModel::fit(cg, &m, |_| true).unwrap();
    for (a, b) in exact.user_factors.iter().zip(&cg.user_factors) {
        approx::assert_abs_diff_eq!(a, b, epsilon = 1e-3);
    }
}

/// One half-step of CG written from the definition in float64, in the factors' own basis:
/// A = YᵀY + reg·I + Σ (c − 1) y yᵀ, b = Σ c y, `steps` CG steps from the current row.
fn reference_cg_half_step(p: &AlsParams, y: &[f64], m: &Csr, x: &mut [f64], steps: usize) {
    reference_cg_half_step_reading(p, y, y, m, x, steps)
}

/// The same with the entries' terms taken from `y_read` (YᵀY still from `y`): what CG
/// computes when it reads rounded rows (`Precision::Mixed`).
fn reference_cg_half_step_reading(
    p: &AlsParams,
    y: &[f64],
    y_read: &[f64],
    m: &Csr,
    x: &mut [f64],
    steps: usize,
) {
    let k = p.factors;
    let n_other = y.len() / k;
    let mut g = vec![0f64; k * k];
    for yi in y.chunks_exact(k) {
        for r in 0..k {
            for s in 0..k {
                g[r * k + s] += yi[r] * yi[s];
            }
        }
    }
    assert_eq!(n_other, m.n_cols);
    for (u, xu) in x.chunks_exact_mut(k).enumerate() {
        let (cols, vals) = m.row(u);
        let mut a = g.clone();
        let mut b = vec![0f64; k];
        for (&c, &v) in cols.iter().zip(vals) {
            let conf = p.confidence(v) as f64;
            let yi = &y_read[c as usize * k..c as usize * k + k];
            for r in 0..k {
                for s in 0..k {
                    a[r * k + s] += (conf - 1.0) * yi[r] * yi[s];
                }
                b[r] += conf * yi[r];
            }
        }
        for d in 0..k {
            a[d * k + d] += p.reg_for(cols.len()) as f64;
        }
        let mul = |v: &[f64]| -> Vec<f64> {
            (0..k)
                .map(|r| (0..k).map(|s| a[r * k + s] * v[s]).sum())
                .collect()
        };
        let ax = mul(xu);
        let mut r: Vec<f64> = (0..k).map(|d| b[d] - ax[d]).collect();
        let mut pv = r.clone();
        let mut rs: f64 = r.iter().map(|v| v * v).sum();
        for _ in 0..steps {
            let ap = mul(&pv);
            let alpha = rs / pv.iter().zip(&ap).map(|(a, b)| a * b).sum::<f64>();
            for d in 0..k {
                xu[d] += alpha * pv[d];
                r[d] -= alpha * ap[d];
            }
            let rs_new: f64 = r.iter().map(|v| v * v).sum();
            for d in 0..k {
                pv[d] = r[d] + rs_new / rs * pv[d];
            }
            rs = rs_new;
        }
    }
}

/// Scores x·y of every pair: what rotating both factor matrices must leave unchanged.
fn scores(x: &[f64], y: &[f64], k: usize) -> Vec<f64> {
    x.chunks_exact(k)
        .flat_map(|xu| {
            y.chunks_exact(k)
                .map(move |yi| xu.iter().zip(yi).map(|(a, b)| a * b).sum())
        })
        .collect()
}

/// With enough factors CG runs in the eigenbasis of YᵀY (see `side_gram`); its iterates must
/// still be those of plain CG in the original basis. Each half-step is compared from the
/// same inputs, where the basis cannot matter: the predicted scores. (CG after 3 steps
/// amplifies float32 rounding on ill-conditioned systems, so whole fits from the default
/// start drift apart by ~1e-3 even without rotation.) The item half-steps run once row by
/// row and once with the longer half of the items in lockstep groups (`lockstep.rs`), with
/// k a multiple of 8 (rows read in place) and not (rows copied into padded slots).
/// (Until this test ran k = 17 after k = 24, a pool thread reused the k = 24 scratch for
/// k = 17, with data left in its padding columns, and every score came out wrong.)
#[test]
fn rotated_cg_predicts_what_plain_cg_predicts() {
    let (nu, ni) = (300, 200);
    let m = random_matrix(nu, ni, 0.08, 13);
    let mt = m.transpose();
    let f64s = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
    for (k, scale, lockstep) in [
        (24, false, false),
        (24, true, false),
        // Same padded width as 24 on the same pool thread: its scratch must not be reused.
        (17, false, false),
        (24, false, true),
        (20, true, true),
    ] {
        assert!(k >= ROTATE_MIN_FACTORS);
        let p = AlsParams {
            factors: k,
            scale_regularization: scale,
            // Float16 reads are checked in the basis they happen in, below.
            precision: Precision::Single,
            ..params(Solver::Cg { steps: 3 })
        };
        let long = lockstep.then(|| LongRows::build(&m, k, 24, 8));
        if let Some(l) = &long {
            assert!(l.groups() > 1 && l.matches(&mt));
            let long_rows = (0..ni).filter(|&i| l.is_long(mt.row_len(i))).count();
            assert!(
                long_rows > ni / 4 && long_rows < ni,
                "{long_rows} long items"
            );
        }
        let mut model = AlsModel::new(p.clone(), nu, ni).unwrap();
        // Centered random factors: the default start (small positive values) makes the first
        // item half-step so ill-conditioned that float32 CG alone drifts by 1 % there.
        let mut g = SplitMix64::new(5);
        model
            .user_factors
            .iter_mut()
            .for_each(|v| *v = g.next_f32() - 0.5);
        model
            .item_factors
            .iter_mut()
            .for_each(|v| *v = g.next_f32() - 0.5);
        for step in 0..6 {
            let (mut x, mut y) = (f64s(&model.user_factors), f64s(&model.item_factors));
            let m_ref = &mut model;
            if step % 2 == 0 {
                let g = side_gram(&p, &mut m_ref.item_factors, &mut m_ref.user_factors).unwrap();
                half_step(
                    &p,
                    &g,
                    &m_ref.item_factors,
                    &m,
                    &mut m_ref.user_factors,
                    None,
                )
                .unwrap();
                reference_cg_half_step(&p, &y, &m, &mut x, 3);
            } else {
                let g = side_gram(&p, &mut m_ref.user_factors, &mut m_ref.item_factors).unwrap();
                let l = long.as_ref();
                half_step(&p, &g, &m_ref.user_factors, &mt, &mut m_ref.item_factors, l).unwrap();
                reference_cg_half_step(&p, &x, &mt, &mut y, 3);
            }
            let want = scores(&x, &y, k);
            let got = scores(&f64s(&model.user_factors), &f64s(&model.item_factors), k);
            let top = want.iter().fold(0f64, |a, v| a.max(v.abs()));
            assert!(top > 1e-3, "scores should not vanish (max {top})");
            for (g, w) in got.iter().zip(&want) {
                approx::assert_abs_diff_eq!(g, w, epsilon = 1e-5 * top);
            }
            // The factors themselves moved to another basis.
            let moved = f64s(&model.user_factors)
                .iter()
                .zip(&x)
                .map(|(a, b)| (a - b).abs())
                .fold(0f64, f64::max);
            assert!(moved > 1e-2, "expected rotated factors (step {step})");
        }
    }
}

/// Under `Precision::Mixed` (the default) CG, row by row and in lockstep groups, solves
/// exactly the system whose entry terms use the other side's rows rounded to float16 (YᵀY
/// still from the float32 rows): float64 CG on those inputs, in the basis the half-step
/// works in (rotated for k >= 16), predicts the same scores. And the rounding is visible:
/// the float32-read reference does not.
#[test]
fn mixed_precision_cg_reads_the_other_side_rounded_to_float16() {
    let (nu, ni) = (300, 200);
    let m = random_matrix(nu, ni, 0.08, 13);
    let mt = m.transpose();
    let f64s = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
    let rounded = |v: &[f32]| {
        v.iter()
            .map(|&a| half::f16::from_f32(a).to_f32() as f64)
            .collect::<Vec<f64>>()
    };
    for (k, lockstep) in [(24, false), (24, true), (12, false), (20, true)] {
        let p = AlsParams {
            factors: k,
            ..params(Solver::Cg { steps: 3 })
        };
        assert_eq!(p.precision, Precision::Mixed);
        let long = lockstep.then(|| LongRows::build(&m, k, 24, 8));
        let mut model = AlsModel::new(p.clone(), nu, ni).unwrap();
        let mut g = SplitMix64::new(5);
        for v in model
            .user_factors
            .iter_mut()
            .chain(model.item_factors.iter_mut())
        {
            *v = g.next_f32() - 0.5;
        }
        let gram = side_gram(&p, &mut model.user_factors, &mut model.item_factors).unwrap();
        let x = f64s(&model.user_factors);
        let (mut want, mut plain) = (f64s(&model.item_factors), f64s(&model.item_factors));
        reference_cg_half_step_reading(&p, &x, &rounded(&model.user_factors), &mt, &mut want, 3);
        reference_cg_half_step(&p, &x, &mt, &mut plain, 3);
        let m_ref = &mut model;
        half_step(
            &p,
            &gram,
            &m_ref.user_factors,
            &mt,
            &mut m_ref.item_factors,
            long.as_ref(),
        )
        .unwrap();
        let got = scores(&x, &f64s(&model.item_factors), k);
        let (want, plain) = (scores(&x, &want, k), scores(&x, &plain, k));
        let top = want.iter().fold(0f64, |a, v| a.max(v.abs()));
        let off = |a: &[f64]| {
            a.iter()
                .zip(&got)
                .map(|(a, b)| (a - b).abs())
                .fold(0f64, f64::max)
                / top
        };
        assert!(
            off(&want) < 1e-5,
            "k={k} lockstep={lockstep}: {}",
            off(&want)
        );
        assert!(
            off(&plain) > 1e-4,
            "k={k}: rounding not seen ({})",
            off(&plain)
        );
    }
}

/// Lockstep groups on a matrix where users hold more long entries per group than one kernel
/// batch (64): the same factors for any thread count, and the same item half-step as
/// row-by-row CG from identical inputs.
#[test]
fn lockstep_rows_are_thread_independent_and_solve_the_same_systems() {
    let (nu, ni) = (120, 1100);
    let m = random_matrix(nu, ni, 0.5, 21);
    let mt = m.transpose();
    for k in [12, 16] {
        let long = LongRows::build(&m, k, 1, 8);
        assert!(long.groups() >= 8);
        let one_group = LongRows::build(&m, k, 1, 1);
        let p = |threads| AlsParams {
            factors: k,
            threads,
            ..params(Solver::Cg { steps: 3 })
        };
        let run = |threads, long: &LongRows| {
            let mut model = AlsModel::new(p(threads), nu, ni).unwrap();
            for _ in 0..2 {
                model.iterate_with(&m, &mt, Some(long)).unwrap();
            }
            model
        };
        let (one, two, three) = (run(1, &long), run(2, &long), run(3, &long));
        // Groups change which rows share a walk, never a row's arithmetic.
        let fewer = run(2, &one_group);
        assert!(one_group.groups() < long.groups());
        assert_eq!(one.item_factors, fewer.item_factors);
        assert_eq!(one.item_factors, two.item_factors);
        assert_eq!(one.item_factors, three.item_factors);
        assert_eq!(one.user_factors, two.user_factors);
        // One item half-step from the same centered random factors (well-conditioned, see
        // `rotated_cg_predicts_what_plain_cg_predicts`), both ways and in float64.
        let mut start = one.clone();
        let mut rng = SplitMix64::new(8);
        for v in start
            .user_factors
            .iter_mut()
            .chain(start.item_factors.iter_mut())
        {
            *v = rng.next_f32() - 0.5;
        }
        let f64s = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
        let (x, mut y) = (f64s(&start.user_factors), f64s(&start.item_factors));
        let p = |threads| AlsParams {
            precision: Precision::Single,
            ..p(threads)
        };
        reference_cg_half_step(&p(2), &x, &mt, &mut y, 3);
        let want = scores(&x, &y, k);
        let top = want.iter().fold(0f64, |a, v| a.max(v.abs()));
        assert!(top > 1e-3);
        for long in [None, Some(&long)] {
            let mut m2 = start.clone();
            let g = side_gram(&p(2), &mut m2.user_factors, &mut m2.item_factors).unwrap();
            pool(2).unwrap().install(|| {
                half_step(&p(2), &g, &m2.user_factors, &mt, &mut m2.item_factors, long).unwrap()
            });
            let got = scores(&f64s(&m2.user_factors), &f64s(&m2.item_factors), k);
            for (g, w) in got.iter().zip(&want) {
                approx::assert_abs_diff_eq!(g, w, epsilon = 1e-5 * top);
            }
        }
    }
    // Prepared for another matrix: refused.
    let other = random_matrix(nu, ni, 0.3, 22);
    let mut model = AlsModel::new(params(Solver::Cg { steps: 3 }), nu, ni).unwrap();
    let long = LongRows::build(&other, 6, 1, 2);
    assert!(model.iterate_with(&m, &mt, Some(&long)).is_err());
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
    // 32 factors: CG rotates into the Gram eigenbasis every half-step, and that must not
    // depend on the thread count either.
    for (solver, factors) in [
        (Solver::Cg { steps: 3 }, 6),
        (Solver::Cg { steps: 3 }, 32),
        (Solver::Cholesky, 6),
    ] {
        let fit = |threads| {
            AlsModel::fit(
                AlsParams {
                    threads,
                    factors,
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
                factors,
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
fn explanations_split_the_fold_in_score_as_a_dense_solve_does() {
    let m = random_matrix(50, 40, 0.15, 21);
    let model = AlsModel::fit(params(Solver::Cholesky), &m, |_| true).unwrap();
    let p = &model.params;
    let k = p.factors;
    for u in [1, 7, 30] {
        let (cols, vals) = m.row(u);
        let x = model.fold_in_user(cols, vals).unwrap();
        // A = Σ over every item of c yyᵀ (c = 1 off the row) + ridge, written out densely.
        let y = &model.item_factors;
        let mut a = vec![0f64; k * k];
        for i in 0..40 {
            let c = cols
                .iter()
                .position(|&c| c as usize == i)
                .map_or(1.0, |j| p.confidence(vals[j]) as f64);
            for r in 0..k {
                for s in 0..k {
                    a[r * k + s] += c * y[i * k + r] as f64 * y[i * k + s] as f64;
                }
            }
        }
        for d in 0..k {
            a[d * k + d] += p.reg_for(cols.len()) as f64;
        }
        for item in [0u32, 5, 39] {
            let (total, parts) = model.explain(cols, vals, item).unwrap();
            let yi: Vec<f64> = y[item as usize * k..][..k]
                .iter()
                .map(|&v| v as f64)
                .collect();
            let z = dense_solve(a.clone(), yi, k);
            assert_eq!(parts.len(), cols.len());
            for (&(j, got), (&c, &v)) in parts.iter().zip(cols.iter().zip(vals)) {
                assert_eq!(j, c);
                let want = p.confidence(v) as f64
                    * (0..k)
                        .map(|d| z[d] * y[c as usize * k + d] as f64)
                        .sum::<f64>();
                approx::assert_abs_diff_eq!(got as f64, want, epsilon = 1e-5);
            }
            // The parts sum to the fold-in score.
            let score: f64 = (0..k)
                .map(|d| x[d] as f64 * y[item as usize * k + d] as f64)
                .sum();
            approx::assert_abs_diff_eq!(total as f64, score, epsilon = 1e-4);
        }
    }
    assert!(model.explain(&[0], &[1.0], 40).is_err());
    assert!(model.explain(&[40], &[1.0], 0).is_err());
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

// ---- fold-in and partial fit (fold_in.rs) ----

fn close(a: &[f32], b: &[f32], eps: f32) {
    assert_eq!(a.len(), b.len());
    for (d, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= eps, "dim {d}: {x} vs {y} (eps {eps})");
    }
}

fn variants() -> Vec<AlsParams> {
    let mut out = vec![];
    for scale in [false, true] {
        for conf in [Confidence::Linear, Confidence::Log { epsilon: 0.5 }] {
            out.push(AlsParams {
                scale_regularization: scale,
                confidence: conf,
                ..params(Solver::Cholesky)
            });
        }
    }
    out
}

#[test]
fn fold_in_user_equals_the_next_exact_user_half_step() {
    let m = random_matrix(50, 40, 0.15, 21);
    let mt = m.transpose();
    for p in variants() {
        let model = AlsModel::fit(p.clone(), &m, |_| true).unwrap();
        // One more iteration: its user half-step solves every user exactly given the current
        // items (the item half-step after it does not touch the users).
        let mut next = model.clone();
        next.iterate(&m, &mt).unwrap();
        for u in 0..50 {
            let (cols, vals) = m.row(u);
            let v = model.fold_in_user(cols, vals).unwrap();
            close(&v, next.user_vector(u), 1e-4);
            let want: Vec<f32> = reference_row(&p, &model.item_factors, 40, cols, vals)
                .into_iter()
                .map(|x| x as f32)
                .collect();
            close(&v, &want, 1e-5);
        }
    }
}

#[test]
fn fold_in_item_equals_the_fitted_item_row() {
    let m = random_matrix(50, 40, 0.15, 22);
    let mt = m.transpose();
    for p in variants() {
        // The last half-step of a fit solved every item exactly given the final users.
        let model = AlsModel::fit(p.clone(), &m, |_| true).unwrap();
        for i in 0..40 {
            let (cols, vals) = mt.row(i);
            let v = model.fold_in_item(cols, vals).unwrap();
            close(&v, model.item_vector(i), 1e-4);
            let want: Vec<f32> = reference_row(&p, &model.user_factors, 50, cols, vals)
                .into_iter()
                .map(|x| x as f32)
                .collect();
            close(&v, &want, 1e-5);
        }
    }
}

#[test]
fn fold_in_sums_repeats_ignores_order_and_gives_zero_for_nothing() {
    let m = random_matrix(30, 20, 0.2, 23);
    let model = AlsModel::fit(params(Solver::Cg { steps: 3 }), &m, |_| true).unwrap();
    let a = model.fold_in_user(&[3, 1, 3], &[1.0, 2.0, 0.5]).unwrap();
    let b = model.fold_in_user(&[1, 3], &[2.0, 1.5]).unwrap();
    assert_eq!(a, b);
    let c = model.fold_in_user(&[3, 1], &[1.5, 2.0]).unwrap();
    assert_eq!(a, c);
    assert_eq!(model.fold_in_user(&[], &[]).unwrap(), vec![0.0; 6]);
    assert_eq!(model.fold_in_item(&[], &[]).unwrap(), vec![0.0; 6]);
    // A value of 0 is still an interaction (confidence 1), not an absence.
    assert_ne!(model.fold_in_user(&[2], &[0.0]).unwrap(), vec![0.0; 6]);
}

#[test]
fn fold_in_rejects_bad_lists_with_coded_errors() {
    let m = random_matrix(30, 20, 0.2, 24);
    let model = AlsModel::fit(params(Solver::Cholesky), &m, |_| true).unwrap();
    let cases: Vec<(Vec<u32>, Vec<f32>, &str)> = vec![
        (
            vec![1, 20],
            vec![1.0, 1.0],
            "items: index 20 at position 1 is out of range",
        ),
        (vec![u32::MAX], vec![1.0], "out of range"),
        (vec![1, 2], vec![1.0], "values: has 1 entries for 2 items"),
        (
            vec![1, 2],
            vec![1.0, -0.5],
            "value -0.5 at position 1 is negative",
        ),
        (
            vec![1, 2],
            vec![f32::NAN, 1.0],
            "value NaN at position 0 is not finite",
        ),
        (vec![1], vec![f32::INFINITY], "is not finite"),
    ];
    for (ids, vals, msg) in cases {
        let e = model.fold_in_user(&ids, &vals).unwrap_err();
        assert_eq!(e.code(), "ERR_CF_INVALID_ARG");
        assert!(e.to_string().contains(msg), "{e} !~ {msg}");
    }
    let e = model.fold_in_item(&[30], &[1.0]).unwrap_err();
    assert!(e.to_string().contains("users: index 30"), "{e}");
    assert!(crate::topk::recommend_for_items(&model, &[], &[], 5).is_err());
    assert!(crate::topk::recommend_for_items(&model, &[1], &[1.0], 0).is_err());
    assert!(model.similar_to_new_item(&[], &[], 5).is_err());
    assert!(crate::topk::similar_items(&model, 20, 5).is_err());
}

#[test]
fn fold_in_without_regularization_reports_a_singular_system() {
    let p = AlsParams {
        regularization: 0.0,
        ..params(Solver::Cholesky)
    };
    // Every item factor is the same direction: YᵀY has rank 1, singular for k = 6.
    let items: Vec<f32> = (0..10 * 6)
        .map(|j| if j % 6 == 0 { 1.0 } else { 0.0 })
        .collect();
    let model = AlsModel::from_factors(p, vec![0.1; 5 * 6], items).unwrap();
    let e = model.fold_in_user(&[1, 2], &[1.0, 1.0]).unwrap_err();
    assert_eq!(e.code(), "ERR_CF_NUMERIC");
    let mut m2 = model.clone();
    let rows = Csr::from_coo(1, 10, &[0], &[3], &[1.0]).unwrap();
    let e = m2.partial_fit_users(&[2], &rows).unwrap_err();
    assert!(e.to_string().contains("user 2"), "{e}");
    assert_eq!(m2.user_factors, model.user_factors);
}

#[test]
fn recommend_for_items_excludes_the_given_items() {
    let m = random_matrix(40, 30, 0.2, 25);
    let model = AlsModel::fit(params(Solver::Cholesky), &m, |_| true).unwrap();
    let given = [4u32, 9, 4, 17];
    let rec = crate::topk::recommend_for_items(&model, &given, &[1.0; 4], 30).unwrap();
    assert_eq!(rec.len(), 27);
    assert!(rec.iter().all(|(i, _)| !given.contains(i)));
    assert!(rec.windows(2).all(|w| w[0].1 >= w[1].1));
    // Scores are the folded-in vector against each item.
    let x = model.fold_in_user(&given, &[1.0; 4]).unwrap();
    for &(i, s) in &rec {
        assert_eq!(
            s,
            crate::topk::dense::dot_fma(&x, model.item_vector(i as usize))
        );
    }
}

#[test]
fn similar_to_new_item_finds_the_item_it_copies() {
    let m = random_matrix(60, 30, 0.2, 26);
    let mt = m.transpose();
    let model = AlsModel::fit(params(Solver::Cholesky), &m, |_| true).unwrap();
    let (cols, vals) = mt.row(7);
    let sim = model.similar_to_new_item(cols, vals, 3).unwrap();
    // A new item with exactly item 7's users folds in to item 7's own factor.
    assert_eq!(sim[0].0, 7);
    assert!(sim[0].1 > 0.9999, "{sim:?}");
    let known = crate::topk::similar_items(&model, 7, 3).unwrap();
    assert!(known.iter().all(|(i, _)| *i != 7));
    assert_eq!(known[0].0, sim[1].0);
}

#[test]
fn partial_fit_users_replaces_appends_and_rejects_gaps() {
    let m = random_matrix(20, 15, 0.3, 27);
    let fitted = AlsModel::fit(params(Solver::Cholesky), &m, |_| true).unwrap();
    let mut model = fitted.clone();
    // Existing user 3 gets a new row; new users 21 and 20 (any order) are appended.
    let rows = Csr::from_coo(
        3,
        15,
        &[0, 0, 1, 2, 2],
        &[1, 3, 5, 0, 14],
        &[1.0, 2.0, 1.0, 1.0, 3.0],
    )
    .unwrap();
    model.partial_fit_users(&[3, 21, 20], &rows).unwrap();
    assert_eq!(model.n_users, 22);
    assert_eq!(model.user_factors.len(), 22 * 6);
    let v3 = fitted.fold_in_user(&[1, 3], &[1.0, 2.0]).unwrap();
    assert_eq!(model.user_vector(3), &v3[..]);
    assert_eq!(
        model.user_vector(21),
        &fitted.fold_in_user(&[5], &[1.0]).unwrap()[..]
    );
    assert_eq!(
        model.user_vector(20),
        &fitted.fold_in_user(&[0, 14], &[1.0, 3.0]).unwrap()[..]
    );
    // Other users and every item are untouched.
    assert_eq!(model.user_vector(4), fitted.user_vector(4));
    assert_eq!(model.item_factors, fitted.item_factors);
    // The user side's Gram matrix follows the change: fold-in of an item sees the new users.
    let (cols, vals) = (&[3u32, 20, 21][..], &[1.0f32, 1.0, 2.0][..]);
    let want: Vec<f32> = reference_row(&model.params, &model.user_factors, 22, cols, vals)
        .into_iter()
        .map(|x| x as f32)
        .collect();
    close(&model.fold_in_item(cols, vals).unwrap(), &want, 1e-5);

    let before = model.clone();
    let one = Csr::from_coo(1, 15, &[0], &[2], &[1.0]).unwrap();
    let two = Csr::from_coo(2, 15, &[0, 1], &[2, 2], &[1.0, 1.0]).unwrap();
    let err = |r: Result<()>| r.unwrap_err().to_string();
    let mut t = before.clone();
    assert!(err(t.partial_fit_users(&[23], &one)).contains("skips index 22"));
    assert!(err(t.partial_fit_users(&[5, 5], &two)).contains("index 5 is given more than once"));
    assert!(err(t.partial_fit_users(&[5, 6], &one)).contains("has 1 rows for 2 users"));
    let wide = Csr::from_coo(1, 16, &[0], &[2], &[1.0]).unwrap();
    assert!(
        err(t.partial_fit_users(&[5], &wide)).contains("has 16 columns but the model has 15 items")
    );
    let neg = Csr::from_coo(1, 15, &[0], &[2], &[-1.0]).unwrap();
    let e = t.partial_fit_users(&[5], &neg).unwrap_err();
    assert_eq!(e.code(), "ERR_CF_INVALID_ARG");
    assert_eq!(t.user_factors, before.user_factors);
    assert_eq!(t.n_users, before.n_users);
    // Nothing to do is fine.
    t.partial_fit_users(&[], &Csr::empty(0, 15)).unwrap();
    assert_eq!(t.user_factors, before.user_factors);
}

#[test]
fn partial_fit_of_every_user_is_an_exact_user_half_step() {
    let m = random_matrix(70, 40, 0.15, 28);
    let mt = m.transpose();
    let fitted = AlsModel::fit(params(Solver::Cholesky), &m, |_| true).unwrap();
    let mut next = fitted.clone();
    next.iterate(&m, &mt).unwrap();
    let ids: Vec<u32> = (0..70).rev().collect();
    let rows = {
        let (mut r, mut c, mut v) = (vec![], vec![], vec![]);
        for (j, &u) in ids.iter().enumerate() {
            let (cols, vals) = m.row(u as usize);
            r.extend(std::iter::repeat_n(j as u32, cols.len()));
            c.extend_from_slice(cols);
            v.extend_from_slice(vals);
        }
        Csr::from_coo(70, 40, &r, &c, &v).unwrap()
    };
    let run = |threads| {
        let mut model = AlsModel {
            params: AlsParams {
                threads,
                ..(*fitted.params).clone()
            }
            .check()
            .unwrap(),
            ..fitted.clone()
        };
        model.partial_fit_users(&ids, &rows).unwrap();
        model
    };
    let (one, three) = (run(1), run(3));
    assert_eq!(one.user_factors, three.user_factors);
    close(&one.user_factors, &next.user_factors, 1e-4);
}

#[test]
fn partial_fit_items_adds_an_item_that_can_be_recommended() {
    let m = random_matrix(30, 20, 0.25, 29);
    let mt = m.transpose();
    let mut model = AlsModel::fit(params(Solver::Cholesky), &m, |_| true).unwrap();
    // A copy of item 5's column as new item 20: it folds in to item 5's factor.
    let (cols, vals) = mt.row(5);
    let rows = Csr::from_coo(1, 30, &vec![0; cols.len()], cols, vals).unwrap();
    model.partial_fit_items(&[20], &rows).unwrap();
    assert_eq!(model.n_items, 21);
    close(model.item_vector(20), model.item_vector(5), 1e-4);
    let rec = crate::topk::recommend_for_items(&model, &[5], &[1.0], 1).unwrap();
    assert_eq!(rec[0].0, 20);
    let err = model.partial_fit_items(&[22], &rows).unwrap_err();
    assert!(err.to_string().contains("items"), "{err}");
    let wrong = Csr::from_coo(1, 20, &[0], &[1], &[1.0]).unwrap();
    let err = model.partial_fit_items(&[3], &wrong).unwrap_err();
    assert!(
        err.to_string()
            .contains("has 20 columns but the model has 30 users"),
        "{err}"
    );
}

#[test]
fn a_partial_update_solved_against_another_shape_is_refused() {
    let m = random_matrix(20, 15, 0.3, 30);
    let mut model = AlsModel::fit(params(Solver::Cholesky), &m, |_| true).unwrap();
    let rows = Csr::from_coo(1, 15, &[0], &[2], &[1.0]).unwrap();
    let update = model.solve_partial_users(&[20], &rows).unwrap();
    // Solving changes nothing.
    assert_eq!(model.n_users, 20);
    let col = Csr::from_coo(1, 20, &[0], &[4], &[1.0]).unwrap();
    model.partial_fit_items(&[15], &col).unwrap();
    let e = model.apply_partial(update).unwrap_err();
    assert!(e.to_string().contains("changed shape"), "{e}");
    assert_eq!(model.n_users, 20);
}

/// CG reads float16 only where float16 holds the table to 11 significant bits: not beyond
/// ±65504, not when the largest value is below 2⁻⁸, never for the exact solver or `Single`.
#[test]
fn float16_copy_is_made_only_where_float16_holds_the_table() {
    let cg = params(Solver::Cg { steps: 3 });
    assert_eq!(cg.precision, Precision::Mixed, "the default");
    let y: Vec<f32> = (0..64).map(|i| (i as f32 - 30.0) * 0.037).collect();
    let h = half_copy(&cg, &y).expect("an ordinary table is copied");
    for (a, b) in y.iter().zip(&h) {
        assert_eq!(half::f16::from_f32(*a), *b);
    }
    let mut big = y.clone();
    big[5] = 7e4;
    assert!(half_copy(&cg, &big).is_none());
    let mut nan = y.clone();
    nan[9] = f32::NAN;
    assert!(half_copy(&cg, &nan).is_none());
    let tiny: Vec<f32> = y.iter().map(|v| v * 1e-3).collect();
    assert!(half_copy(&cg, &tiny).is_none());
    let single = AlsParams {
        precision: Precision::Single,
        ..cg.clone()
    };
    assert!(half_copy(&single, &y).is_none());
    assert!(half_copy(&params(Solver::Cholesky), &y).is_none());
}

#[test]
fn a_confidence_that_overflows_float32_is_an_error_before_any_iteration() {
    let m = Csr::from_coo(2, 2, &[0, 1], &[0, 1], &[1.0, 1e30]).unwrap();
    let p = AlsParams {
        factors: 2,
        alpha: 1e6,
        ..AlsParams::default()
    };
    let e = AlsModel::fit(p.clone(), &m, |_| true).unwrap_err();
    assert_eq!(e.code(), "ERR_CF_NUMERIC");
    assert!(
        e.to_string()
            .starts_with("the largest value, 1e30, has confidence 1.00000004e36"),
        "{e}"
    );
    let mut model = AlsModel::new(p, 2, 2).unwrap();
    assert!(model.iterate(&m, &m.transpose()).is_err());
    // The same value with a small enough alpha fits.
    let ok = AlsParams {
        factors: 2,
        alpha: 1.0,
        iterations: 1,
        ..AlsParams::default()
    };
    let small = Csr::from_coo(2, 2, &[0, 1], &[0, 1], &[1.0, 1e15]).unwrap();
    assert!(AlsModel::fit(ok, &small, |_| true).is_ok());
}

#[test]
fn a_fit_resumed_from_a_checkpoint_equals_the_uninterrupted_one_bit_for_bit() {
    use super::TYPE;
    use crate::checkpoint::TrainState;
    use crate::models::Model;
    let m = random_matrix(120, 90, 0.08, 17);
    let mt = m.transpose();
    // 32 factors: CG's rotation into the Gram eigenbasis is rebuilt from the factors alone.
    for p in [
        AlsParams {
            factors: 32,
            iterations: 7,
            threads: 2,
            ..params(Solver::Cg { steps: 3 })
        },
        AlsParams {
            iterations: 7,
            ..params(Solver::Cholesky)
        },
    ] {
        let whole = AlsModel::fit(p.clone(), &m, |_| true).unwrap();
        let mut part = AlsModel::new(p.clone(), 120, 90).unwrap();
        for _ in 0..3 {
            part.iterate(&m, &mt).unwrap();
        }
        let bytes = Model::train_state(&part).unwrap().encode();
        drop(part);
        let raw = p
            .to_values()
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let mut boxed =
            (TYPE.resume.unwrap())(raw, TrainState::decode(&bytes).unwrap(), &m).unwrap();
        let resumed = boxed.as_any_mut().downcast_mut::<AlsModel>().unwrap();
        assert_eq!(resumed.iterations_done, 3);
        while resumed.iterations_done < p.iterations {
            resumed.iterate(&m, &mt).unwrap();
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&resumed.user_factors), bits(&whole.user_factors));
        assert_eq!(bits(&resumed.item_factors), bits(&whole.item_factors));
    }
}

#[test]
fn short_rows_fold_in_through_the_ridge_inverse_as_a_dense_solve_does() {
    // 32 factors: rows of up to 16 entries take the low-rank path (`low_rank.rs`), longer
    // ones the direct factorisation; both must match an independent dense solve.
    let m = random_matrix(60, 90, 0.3, 31);
    for conf in [Confidence::Linear, Confidence::Log { epsilon: 0.5 }] {
        let p = AlsParams {
            factors: 32,
            regularization: 0.8,
            alpha: 6.0,
            iterations: 3,
            confidence: conf,
            threads: 1,
            ..AlsParams::default()
        };
        let model = AlsModel::fit(p.clone(), &m, |_| true).unwrap();
        for n in [1usize, 2, 3, 5, 8, 13, 16, 17, 24] {
            assert_eq!(low_rank::use_low_rank(n, 32), n <= 16);
            // Spread ids, one value 0 (confidence 1: a zero column in the update).
            let cols: Vec<u32> = (0..n).map(|j| ((j * 37 + 5) % 90) as u32).collect();
            let mut sorted = cols.clone();
            sorted.sort_unstable();
            let vals: Vec<f32> = (0..n)
                .map(|j| if j == 1 { 0.0 } else { 0.5 + j as f32 })
                .collect();
            let sorted_vals: Vec<f32> = sorted
                .iter()
                .map(|c| vals[cols.iter().position(|x| x == c).unwrap()])
                .collect();
            let got = model.fold_in_user(&cols, &vals).unwrap();
            let direct = model.fold_in_user_direct(&cols, &vals).unwrap();
            for (g, d) in got.iter().zip(&direct) {
                assert!(
                    (g - d).abs() <= 2e-6 * d.abs().max(1e-2),
                    "n {n}: {g} vs {d}"
                );
            }
            let want = reference_row(&p, &model.item_factors, 90, &sorted, &sorted_vals);
            for (d, (g, w)) in got.iter().zip(&want).enumerate() {
                let tol = 2e-6 * w.abs().max(1e-2);
                assert!(
                    (*g as f64 - w).abs() <= tol.max(1e-7),
                    "{conf:?} n {n} dim {d}: {g} vs {w}"
                );
            }
        }
    }
}
