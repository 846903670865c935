use super::*;
use crate::models::factor::FactorModel;
use crate::models::Model;
use crate::params::Params;

/// A random user x item matrix: each user gets `per_user` distinct items, skewed toward low
/// indices so there are popular items.
fn random_csr(n_users: usize, n_items: usize, per_user: usize, seed: u64) -> Csr {
    let mut g = SplitMix64::new(seed);
    let (mut rows, mut cols) = (Vec::new(), Vec::new());
    for u in 0..n_users {
        let mut items: Vec<u32> = Vec::new();
        while items.len() < per_user.min(n_items) {
            let a = g.below(n_items as u64);
            let b = g.below(n_items as u64);
            let i = a.min(b) as u32;
            if !items.contains(&i) {
                items.push(i);
            }
        }
        for i in items {
            rows.push(u as u32);
            cols.push(i);
        }
    }
    let vals = vec![1.0; rows.len()];
    Csr::from_coo(n_users, n_items, &rows, &cols, &vals).unwrap()
}

fn params() -> BprParams {
    BprParams {
        factors: 16,
        epochs: 5,
        blocks: 8,
        learning_rate: 0.05,
        ..BprParams::default()
    }
}

#[test]
fn sgd_step_matches_a_hand_computation() {
    let mut u = [0.1f32, -0.2, 1.0];
    let mut vi = [0.3f32, 0.4, 0.05];
    let mut vj = [-0.1f32, 0.2, -0.02];
    let (lr, reg) = (0.1f32, 0.01f32);
    // By hand: x = 0.1 (0.3 + 0.1) - 0.2 (0.4 - 0.2) + 1 (0.05 + 0.02) = 0.04 - 0.04 + 0.07.
    let x = 0.07f64;
    let z = 1.0 / (1.0 + x.exp());
    let (lr64, reg64) = (0.1f64, 0.01f64);
    let eu = [
        0.1 + lr64 * (z * 0.4 - reg64 * 0.1),
        -0.2 + lr64 * (z * 0.2 + reg64 * 0.2),
    ];
    let ei = [
        0.3 + lr64 * (z * 0.1 - reg64 * 0.3),
        0.4 + lr64 * (z * -0.2 - reg64 * 0.4),
        0.05 + lr64 * (z - reg64 * 0.05),
    ];
    let ej = [
        -0.1 + lr64 * (-z * 0.1 + reg64 * 0.1),
        0.2 + lr64 * (z * 0.2 - reg64 * 0.2),
        -0.02 + lr64 * (-z + reg64 * 0.02),
    ];
    let (got_x, _) = sgd_step::<false>(&mut u, &mut vi, &mut vj, 2, lr, reg);
    assert!((got_x as f64 - x).abs() < 1e-6);
    for f in 0..2 {
        assert!((u[f] as f64 - eu[f]).abs() < 1e-6, "u[{f}]");
    }
    assert_eq!(u[2], 1.0, "the user's bias column stays 1");
    for f in 0..3 {
        assert!((vi[f] as f64 - ei[f]).abs() < 1e-6, "vi[{f}]");
        assert!((vj[f] as f64 - ej[f]).abs() < 1e-6, "vj[{f}]");
    }
}

#[test]
fn the_avx2_difference_dot_gives_the_portable_bits() {
    if crate::linalg::simd::Isa::detect() != crate::linalg::simd::Isa::Avx2Fma {
        return;
    }
    let mut g = SplitMix64::new(5);
    for n in [1, 7, 8, 9, 16, 33, 64, 65, 129] {
        for _ in 0..50 {
            let mut v = || -> Vec<f32> { (0..n).map(|_| g.next_f32() * 4.0 - 2.0).collect() };
            let (u, a, b) = (v(), v(), v());
            let want = diff_dot(&u, &a, &b);
            // SAFETY: AVX2 and FMA detected above.
            let got = unsafe { diff_dot_avx2(&u, &a, &b) };
            assert_eq!(got.to_bits(), want.to_bits(), "n {n}");
        }
    }
}

#[test]
fn one_sample_epoch_is_one_hand_step() {
    // One user with item 0 of two: the only triple is (0, 0, 1).
    let train = Csr::from_coo(1, 2, &[0], &[0], &[1.0]).unwrap();
    let p = BprParams {
        factors: 2,
        blocks: 1,
        epochs: 1,
        learning_rate: 0.5,
        regularization: 0.1,
        sampler: Sampler::Uniform,
        ..BprParams::default()
    };
    let mut m = BprModel::new(p.clone(), 1, 2).unwrap();
    let u0: Vec<f64> = m.user_factors.iter().map(|&v| v as f64).collect();
    let y0: Vec<f64> = m.item_factors.iter().map(|&v| v as f64).collect();
    assert_eq!(u0[2], 1.0);
    assert_eq!((y0[2], y0[5]), (0.0, 0.0));
    assert!(
        u0[..2].iter().chain(&y0[..2]).all(|v| v.abs() <= 0.25),
        "init in ±0.5/factors"
    );
    let r = m.epoch(&train, None).unwrap();
    assert_eq!(r.samples, 1);
    assert_eq!(r.negatives.uniform, 1);
    let x: f64 = (0..3).map(|f| u0[f] * (y0[f] - y0[3 + f])).sum();
    let z = 1.0 / (1.0 + x.exp());
    let (lr, reg) = (0.5, 0.1f64);
    for f in 0..2 {
        let (uf, a, b) = (u0[f], y0[f], y0[3 + f]);
        assert!((m.user_factors[f] as f64 - (uf + lr * (z * (a - b) - reg * uf))).abs() < 1e-6);
        assert!((m.item_factors[f] as f64 - (a + lr * (z * uf - reg * a))).abs() < 1e-6);
        assert!((m.item_factors[3 + f] as f64 - (b + lr * (-z * uf - reg * b))).abs() < 1e-6);
    }
    assert!((m.item_factors[2] as f64 - lr * z).abs() < 1e-6);
    assert!((m.item_factors[5] as f64 + lr * z).abs() < 1e-6);
    assert!((r.loss - (1.0 + (-x).exp()).ln()).abs() < 1e-5);
}

fn fit_with(p: BprParams, train: &Csr, valid: Option<&Csr>) -> BprModel {
    BprModel::fit(p, train, valid, |_| true).unwrap()
}

#[test]
fn factors_are_bitwise_identical_on_1_2_and_16_threads() {
    let train = random_csr(300, 200, 12, 7);
    let variants = [
        params(),
        BprParams {
            sampler: Sampler::Uniform,
            ..params()
        },
        BprParams {
            sampler: Sampler::Popularity,
            ..params()
        },
        BprParams {
            sampler: Sampler::Dns,
            ..params()
        },
        BprParams {
            sampler: Sampler::Mixed,
            hard_top_n: 30,
            ..params()
        },
        BprParams {
            optimizer: Optimizer::AdamW,
            learning_rate: 0.01,
            weight_decay: 0.01,
            ..params()
        },
        BprParams {
            item_bias: false,
            lr_schedule: Schedule::Cosine,
            samples_per_epoch: 777,
            ..params()
        },
    ];
    for p in variants {
        let fits: Vec<BprModel> = [1, 2, 16]
            .iter()
            .map(|&t| {
                fit_with(
                    BprParams {
                        threads: t,
                        ..p.clone()
                    },
                    &train,
                    None,
                )
            })
            .collect();
        for m in &fits[1..] {
            assert!(
                m.user_factors
                    .iter()
                    .map(|v| v.to_bits())
                    .eq(fits[0].user_factors.iter().map(|v| v.to_bits())),
                "user factors differ across threads for {p:?}"
            );
            assert!(
                m.item_factors
                    .iter()
                    .map(|v| v.to_bits())
                    .eq(fits[0].item_factors.iter().map(|v| v.to_bits())),
                "item factors differ across threads for {p:?}"
            );
            assert_eq!(
                m.curve,
                fits[0]
                    .curve
                    .iter()
                    .map(|r| EpochReport {
                        seconds: m.curve[r.epoch - 1].seconds,
                        ..r.clone()
                    })
                    .collect::<Vec<_>>()
            );
        }
        // The seed matters.
        let other = fit_with(
            BprParams {
                seed: 43,
                ..p.clone()
            },
            &train,
            None,
        );
        assert_ne!(other.user_factors.to_vec(), fits[0].user_factors.to_vec());
    }
}

#[test]
fn no_sampler_returns_a_positive() {
    // 64 items: 4 blocks of 16 (the smallest a block may be).
    let train = random_csr(120, 64, 25, 3);
    for sampler in [
        Sampler::Uniform,
        Sampler::Popularity,
        Sampler::Dns,
        Sampler::Mixed,
    ] {
        let p = BprParams {
            sampler,
            blocks: 4,
            hard_top_n: 10,
            hard_fraction: 0.5,
            ..params()
        };
        let mut m = BprModel::new(p.clone(), 120, 64).unwrap();
        let plan = Plan::build(&p, &train, None, 0, Vec::new());
        let d = p.width();
        let tables = Tables {
            users: SyncPtr(m.user_factors.as_mut_ptr()),
            items: SyncPtr(m.item_factors.as_mut_ptr()),
            adam: None,
            adam_t: None,
        };
        let cell = Cell {
            p: &p,
            plan: &plan,
            t: &tables,
            lr: 0.1,
        };
        let mut g = SplitMix64::new(1);
        let mut neg = NegativeCounts::default();
        let mut drawn = 0;
        for u in 0..120usize {
            let row = train.row(u).0;
            let uf = m.user_factors[u * d..u * d + d].to_vec();
            for ib in 0..4 {
                for _ in 0..20 {
                    if let Some(j) = cell.negative(&mut g, ib, &uf, row, &[], &mut neg) {
                        assert!(
                            row.binary_search(&j).is_err(),
                            "{sampler:?} drew positive {j} for user {u}"
                        );
                        assert!(
                            plan.items_in[ib].contains(&j),
                            "negative outside the cell's block"
                        );
                        drawn += 1;
                    }
                }
            }
        }
        assert!(drawn > 5000, "{sampler:?}: only {drawn} negatives");
        assert!(
            neg.rejected > 0,
            "{sampler:?}: a 40 % dense matrix must reject some draws"
        );
        match sampler {
            Sampler::Mixed => assert!(neg.hard > 0 && neg.uniform > 0),
            Sampler::Dns => assert!(neg.dns_candidates > 0),
            Sampler::Popularity => assert!(neg.popularity > 0),
            Sampler::Uniform => assert!(neg.uniform > 0),
        }
    }
}

#[test]
fn users_with_every_item_are_skipped_and_counted() {
    // User 0 has all 5 items; user 1 has two; user 2 none.
    let rows = [0u32, 0, 0, 0, 0, 1, 1];
    let cols = [0u32, 1, 2, 3, 4, 1, 3];
    let train = Csr::from_coo(3, 5, &rows, &cols, &[1.0; 7]).unwrap();
    let p = BprParams {
        factors: 4,
        blocks: 2,
        epochs: 3,
        ..BprParams::default()
    };
    let m = fit_with(p.clone(), &train, None);
    for r in &m.curve {
        assert_eq!(r.skipped_users, 1);
        assert_eq!(r.samples + r.negatives.skipped_samples, 2);
    }
    // Everyone has everything: no sample at all, and no endless loop.
    let full = Csr::from_coo(2, 2, &[0, 0, 1, 1], &[0, 1, 0, 1], &[1.0; 4]).unwrap();
    let m = fit_with(p, &full, None);
    assert_eq!(m.curve[0].skipped_users, 2);
    assert_eq!(m.curve[0].samples, 0);
}

#[test]
fn a_small_catalogue_is_cut_into_fewer_blocks_and_every_sample_finds_a_negative() {
    // 8 users with 5 of 11 items each. Cut into 32 item blocks (the default), a block held
    // one item or none and every negative draw was refused: no update in any epoch.
    let (rows, cols): (Vec<u32>, Vec<u32>) = (0..40u32).map(|j| (j % 8, (j * 7) % 11)).unzip();
    let train = Csr::from_coo(8, 11, &rows, &cols, &[1.0; 40]).unwrap();
    assert_eq!(blocks_for(32, 11), 1);
    assert_eq!(blocks_for(32, 1682), 32);
    assert_eq!(blocks_for(32, 100), 6);
    for sampler in ["uniform", "popularity", "dns", "mixed"] {
        let p = BprParams::from_raw([
            ("factors", crate::params::Value::Num(4.0)),
            ("epochs", crate::params::Value::Num(30.0)),
            ("sampler", crate::params::Value::Str(sampler.into())),
        ])
        .unwrap();
        let m = fit_with(p.into_inner(), &train, None);
        for r in &m.curve {
            assert_eq!(r.samples, 40, "{sampler}");
            assert_eq!(r.negatives.skipped_samples, 0, "{sampler}");
        }
        // And the updates learn: the mean loss of the last epoch is well below log 2.
        let (first, last) = (m.curve[0].loss, m.curve[29].loss);
        assert!(last < first - 0.1, "{sampler}: loss {first} -> {last}");
    }
}

/// Two clusters of users, each with its own items; each user's validation item is one of
/// its cluster's items held out of its training row.
fn clustered(nu: usize, ni: usize, per_user: usize, seed: u64) -> (Csr, Csr) {
    let mut g = SplitMix64::new(seed);
    let (mut tr, mut tc, mut vr, mut vc) = (vec![], vec![], vec![], vec![]);
    let half = ni as u64 / 2;
    for u in 0..nu as u32 {
        let base = if (u as usize) < nu / 2 { 0 } else { half };
        let mut items = vec![];
        while items.len() < per_user + 1 {
            let i = (base + g.below(half)) as u32;
            if !items.contains(&i) {
                items.push(i);
            }
        }
        vr.push(u);
        vc.push(items.pop().unwrap());
        for i in items {
            tr.push(u);
            tc.push(i);
        }
    }
    let train = Csr::from_coo(nu, ni, &tr, &tc, &vec![1.0; tr.len()]).unwrap();
    let valid = Csr::from_coo(nu, ni, &vr, &vc, &vec![1.0; vr.len()]).unwrap();
    (train, valid)
}

#[test]
fn early_stopping_restores_the_best_epoch() {
    // Validation improves while the warm-up learning rate is small, then AdamW steps of a
    // learning rate of 1 late in the warm-up scramble the factors and it gets worse.
    let (train, valid) = clustered(80, 60, 6, 11);
    let p = BprParams {
        factors: 8,
        blocks: 4,
        epochs: 60,
        optimizer: Optimizer::AdamW,
        learning_rate: 1.0,
        lr_schedule: Schedule::Warmup,
        warmup_epochs: 40,
        patience: 3,
        k: 10,
        regularization: 0.01,
        sampler: Sampler::Uniform,
        ..BprParams::default()
    };
    let m = fit_with(p.clone(), &train, Some(&valid));
    let best = m.best_epoch().unwrap();
    let vals: Vec<f64> = m.curve.iter().map(|r| r.valid.unwrap()).collect();
    assert!(m.epochs_done < 60, "patience stopped the fit: {vals:?}");
    assert_eq!(m.epochs_done, best + 3, "{vals:?}");
    assert!(best > 1, "validation improved first: {vals:?}");
    assert!(
        vals[best - 1] > *vals.last().unwrap(),
        "validation got worse: {vals:?}"
    );
    // The kept factors are the best epoch's: the same as a fit that ran exactly that long.
    let short = fit_with(
        BprParams {
            epochs: best,
            patience: 0,
            ..p.clone()
        },
        &train,
        None,
    );
    assert_eq!(m.user_factors.to_vec(), short.user_factors.to_vec());
    assert_eq!(m.item_factors.to_vec(), short.item_factors.to_vec());
    let again = m.validation_ndcg(&train, &valid).unwrap();
    assert_eq!(again, vals[best - 1]);
    // Training on after the fit, then finishing again, keeps a whole model.
    let mut m = m;
    let n = m.user_factors.len();
    m.epoch(&train, Some(&valid)).unwrap();
    m.finish();
    m.finish();
    assert_eq!(m.user_factors.len(), n);
    assert!(m.user_factors.iter().all(|v| v.is_finite()));
}

#[test]
fn bad_inputs_are_coded_errors() {
    let train = random_csr(20, 10, 3, 1);
    let p = BprParams {
        factors: 4,
        epochs: 2,
        patience: 2,
        ..BprParams::default()
    };
    let e = BprModel::fit(p.clone(), &train, None, |_| true)
        .err()
        .unwrap();
    assert_eq!(e.code(), "ERR_CF_INVALID_ARG");
    assert!(e.to_string().starts_with("patience:"), "{e}");
    let other = random_csr(20, 11, 3, 1);
    let e = BprModel::fit(p, &train, Some(&other), |_| true)
        .err()
        .unwrap();
    assert!(e.to_string().starts_with("valid:"), "{e}");
    let e = BprModel::fit(
        BprParams {
            learning_rate: f32::NAN,
            ..params()
        },
        &train,
        None,
        |_| true,
    )
    .err()
    .unwrap();
    assert!(e.to_string().starts_with("learning_rate:"), "{e}");
    let e = BprModel::fit(params(), &train, None, |_| false)
        .err()
        .unwrap();
    assert_eq!(e.code(), "ERR_CF_CANCELLED");
}

#[test]
fn fold_in_is_deterministic_and_ranks_like_training() {
    let train = random_csr(200, 100, 10, 5);
    let m = fit_with(
        BprParams {
            epochs: 20,
            ..params()
        },
        &train,
        None,
    );
    let items = train.row(3).0.to_vec();
    let ones = vec![1.0; items.len()];
    let a = m.fold_in_user(&items, &ones).unwrap();
    let b = m.fold_in_user(&items, &ones).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), m.width());
    assert_eq!(a[16], 1.0);
    // The folded-in vector points the same way as the trained one.
    let u = &m.user_factors[3 * m.width()..4 * m.width() - 1];
    let cos = crate::linalg::dot(&a[..16], u)
        / (crate::linalg::dot(&a[..16], &a[..16]).sqrt() * crate::linalg::dot(u, u).sqrt());
    assert!(cos > 0.3, "cosine {cos}");
    // Repeats are summed; empty gives the zero row.
    let z = m.fold_in_user(&[], &[]).unwrap();
    assert!(z[..16].iter().all(|&v| v == 0.0));
    assert!(m.fold_in_user(&[1000], &[1.0]).is_err());
}

#[test]
fn saved_arrays_load_back() {
    let train = random_csr(50, 30, 5, 2);
    let m = fit_with(params(), &train, None);
    let arrays = m.arrays();
    assert_eq!(arrays[1].shape, vec![30, 17]);
    let raw: Vec<(String, crate::params::Value)> = m
        .params()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let back = (TYPE.load)(raw.clone(), arrays.clone(), 50, 30).unwrap();
    let mut s1 = vec![0f32; 30];
    let mut s2 = vec![0f32; 30];
    m.score_user(4, &mut s1);
    back.score_user(4, &mut s2);
    assert_eq!(s1, s2);
    assert!((TYPE.load)(raw, arrays, 50, 31).is_err());
    assert_eq!(FactorModel::factors(&m), 17);
    assert!(BprParams::from_raw([("hard_fraction", crate::params::Value::Num(2.0))]).is_err());
}

/// Not a test: samples/s on an ML-20M-shaped power-law matrix (BPR_SPEED_SCALE divides the
/// shape, BPR_SPEED_THREADS / BPR_SPEED_BLOCKS / BPR_SPEED_SAMPLER pick the run).
///   cargo test -p cf-core --profile ci speed_on_the_ml20m_shape -- --ignored --nocapture
#[test]
#[ignore]
fn speed_on_the_ml20m_shape() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let scale = env("BPR_SPEED_SCALE", 1);
    let (nu, ni, nnz) = if std::env::var("BPR_SPEED_LASTFM").is_ok() {
        (358_868 / scale, 292_385 / scale, 19_179_911 / scale)
    } else {
        (136_677 / scale, 20_108 / scale, 9_851_985 / scale)
    };
    let mut g = SplitMix64::new(1);
    // P(user) ~ rank^-0.6, P(item) ~ rank^-0.9 by inverse-CDF tables, ids permuted.
    let cdf = |n: usize, e: f64| {
        let mut acc = 0.0;
        let mut c: Vec<f64> = (1..=n)
            .map(|r| {
                acc += (r as f64).powf(-e);
                acc
            })
            .collect();
        c.iter_mut().for_each(|v| *v /= acc);
        c
    };
    let (cu, ci) = (cdf(nu, 0.6), cdf(ni, 0.9));
    let next_f64 = |g: &mut SplitMix64| (g.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let mut pu: Vec<u32> = (0..nu as u32).collect();
    let mut pi: Vec<u32> = (0..ni as u32).collect();
    g.shuffle(&mut pu);
    g.shuffle(&mut pi);
    let (mut rows, mut cols) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
    for _ in 0..nnz {
        let u = cu.partition_point(|&c| c < next_f64(&mut g)).min(nu - 1);
        let i = ci.partition_point(|&c| c < next_f64(&mut g)).min(ni - 1);
        rows.push(pu[u]);
        cols.push(pi[i]);
    }
    let vals = vec![1.0; nnz];
    let train = Csr::from_coo(nu, ni, &rows, &cols, &vals).unwrap();
    let sampler = match std::env::var("BPR_SPEED_SAMPLER").as_deref() {
        Ok("dns") => Sampler::Dns,
        Ok("popularity") => Sampler::Popularity,
        Ok("mixed") => Sampler::Mixed,
        _ => Sampler::Uniform,
    };
    let p = BprParams {
        factors: env("BPR_SPEED_FACTORS", 64),
        item_bias: env("BPR_SPEED_BIAS", 1) == 1,
        epochs: 3,
        blocks: env("BPR_SPEED_BLOCKS", 32),
        threads: env("BPR_SPEED_THREADS", 2),
        sampler,
        ..BprParams::default()
    };
    let mut m = BprModel::new(p.clone(), nu, ni).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        let plan = Plan::build(&m.params, &train, None, 0, Vec::new());
        let plan_s = t.elapsed().as_secs_f64();
        drop(plan);
        let r = m.epoch(&train, None).unwrap();
        eprintln!(
            "{} x {}, nnz {}: {:.2} M samples/s ({:.3} s/epoch, plan {:.3} s) blocks {} threads {} {:?}",
            nu, ni, train.nnz(), r.samples as f64 / r.seconds / 1e6, r.seconds, plan_s, p.blocks, p.threads, p.sampler
        );
    }
}

/// Dislikes for each user of `train`: `per_user` items the user has no entry for.
fn dislikes(train: &Csr, per_user: usize, seed: u64) -> Csr {
    let mut g = SplitMix64::new(seed);
    let (mut rows, mut cols) = (Vec::new(), Vec::new());
    for u in 0..train.n_rows {
        let row = train.row(u).0;
        let mut mine: Vec<u32> = Vec::new();
        while mine.len() < per_user {
            let i = g.below(train.n_cols as u64) as u32;
            if row.binary_search(&i).is_err() && !mine.contains(&i) {
                mine.push(i);
            }
        }
        for i in mine {
            rows.push(u as u32);
            cols.push(i);
        }
    }
    let vals = vec![1.0; rows.len()];
    Csr::from_coo(train.n_rows, train.n_cols, &rows, &cols, &vals).unwrap()
}

fn fit_negatives(p: BprParams, train: &Csr, negatives: Option<&Csr>) -> (BprModel, NegativeCounts) {
    let mut m = BprModel::new(p, train.n_rows, train.n_cols).unwrap();
    let mut counts = NegativeCounts::default();
    loop {
        let r = m.epoch_with(train, None, negatives).unwrap();
        counts.add(&r.negatives);
        if r.stop {
            break;
        }
    }
    m.finish();
    (m, counts)
}

#[test]
fn dislikes_join_the_hard_pool_and_only_dislikes_are_counted_as_such() {
    let train = random_csr(200, 150, 10, 11);
    let neg = dislikes(&train, 6, 12);
    let p = BprParams {
        sampler: Sampler::Mixed,
        hard_fraction: 1.0,
        hard_top_n: 0,
        ..params()
    };
    // Dislikes only: every hard negative is one of the user's dislikes; where a cell holds
    // none of them the draw falls back to uniform (counted).
    let (_, c) = fit_negatives(p.clone(), &train, Some(&neg));
    assert!(c.disliked > 0 && c.disliked == c.hard, "{c:?}");
    assert_eq!(c.hard + c.uniform, c.hard + c.hard_fallback, "{c:?}");
    // Every sampled dislike is the user's own, in the cell's item block, never a positive.
    let plan = Plan::build(&p, &train, Some(&neg), 0, Vec::new());
    let mut seen = 0;
    for cell in &plan.cells {
        for r in 0..cell.users.len() {
            let u = cell.users[r] as usize;
            let d = cell.disliked_of(r);
            assert!(d.windows(2).all(|w| w[0] < w[1]), "sorted");
            for &i in d {
                assert!(neg.contains(u, i) && !train.contains(u, i));
                assert!(
                    cell.items[cell.starts[r] as usize..cell.starts[r + 1] as usize]
                        .iter()
                        .all(|&pos| plan.items_in.iter().position(|b| b.contains(&pos))
                            == plan.items_in.iter().position(|b| b.contains(&i)))
                );
                seen += 1;
            }
        }
    }
    assert!(seen > 0);
    // Merged with the popular pool: some hard negatives come from each.
    let (_, c) = fit_negatives(
        BprParams {
            hard_top_n: 20,
            hard_fraction: 0.5,
            ..p
        },
        &train,
        Some(&neg),
    );
    assert!(c.disliked > 0 && c.disliked < c.hard, "{c:?}");
}

#[test]
fn no_dislikes_draw_exactly_what_the_popular_pool_alone_draws() {
    let train = random_csr(150, 100, 10, 5);
    let empty = Csr::from_coo(150, 100, &[], &[], &[]).unwrap();
    let p = BprParams {
        sampler: Sampler::Mixed,
        hard_top_n: 15,
        ..params()
    };
    let (a, _) = fit_negatives(p.clone(), &train, None);
    let (b, _) = fit_negatives(p, &train, Some(&empty));
    assert_eq!(a.user_factors.to_vec(), b.user_factors.to_vec());
    assert_eq!(a.item_factors.to_vec(), b.item_factors.to_vec());
}

#[test]
fn dislikes_keep_the_factors_independent_of_the_thread_count() {
    let train = random_csr(300, 200, 12, 7);
    let neg = dislikes(&train, 5, 8);
    let run = |threads| {
        let p = BprParams {
            sampler: Sampler::Mixed,
            hard_top_n: 30,
            threads,
            ..params()
        };
        fit_negatives(p, &train, Some(&neg)).0
    };
    let one = run(1);
    for t in [2, 16] {
        let m = run(t);
        assert_eq!(
            one.user_factors.to_vec(),
            m.user_factors.to_vec(),
            "{t} threads"
        );
        assert_eq!(
            one.item_factors.to_vec(),
            m.item_factors.to_vec(),
            "{t} threads"
        );
    }
}

#[test]
fn negatives_are_refused_where_they_would_be_ignored_or_do_not_fit() {
    let train = random_csr(50, 40, 5, 1);
    let neg = dislikes(&train, 2, 2);
    let mut m = BprModel::new(
        BprParams {
            sampler: Sampler::Dns,
            ..params()
        },
        50,
        40,
    )
    .unwrap();
    let e = m.epoch_with(&train, None, Some(&neg)).unwrap_err();
    assert!(
        e.to_string().contains("negatives") && e.to_string().contains("sampler is dns"),
        "{e}"
    );
    let mut m = BprModel::new(
        BprParams {
            sampler: Sampler::Mixed,
            ..params()
        },
        50,
        40,
    )
    .unwrap();
    let small = Csr::from_coo(50, 39, &[], &[], &[]).unwrap();
    let e = m.epoch_with(&train, None, Some(&small)).unwrap_err();
    assert!(
        e.to_string().contains("negatives") && e.to_string().contains("50 x 39"),
        "{e}"
    );
    assert_eq!(m.epochs_done, 0);
}

#[test]
fn alias_draws_follow_the_weights() {
    let w = [1.0, 2.0, 3.0, 0.0, 4.0, 0.5];
    let a = Alias::new(&[0, 1, 2, 3, 4, 5], w.iter().copied());
    let mut g = SplitMix64::new(3);
    let n = 400_000;
    let mut hits = [0usize; 6];
    for _ in 0..n {
        hits[a.draw(&mut g).unwrap() as usize] += 1;
    }
    let total: f64 = w.iter().sum();
    for (i, &h) in hits.iter().enumerate() {
        let want = w[i] / total;
        assert!(
            (h as f64 / n as f64 - want).abs() < 0.004,
            "slot {i}: {h} of {n}, want {want}"
        );
    }
    assert_eq!(hits[3], 0, "a zero weight is never drawn");
    // No weight at all: uniform; no slot: nothing.
    let z = Alias::new(&[7, 9], [0.0, 0.0].into_iter());
    let mut seen = [0usize; 2];
    for _ in 0..1000 {
        seen[(z.draw(&mut g).unwrap() == 9) as usize] += 1;
    }
    assert!(seen[0] > 400 && seen[1] > 400);
    assert!(Alias::new(&[], std::iter::empty()).draw(&mut g).is_none());
}

/// Epochs of `m` until its fit stops, then `finish`.
fn run_to_end(m: &mut BprModel, train: &Csr, valid: Option<&Csr>) {
    loop {
        if m.epoch(train, valid).unwrap().stop {
            break;
        }
    }
    m.finish();
}

#[test]
fn a_fit_resumed_from_a_checkpoint_equals_the_uninterrupted_one_bit_for_bit() {
    use crate::checkpoint::TrainState;
    let (train, valid) = clustered(80, 60, 6, 11);
    let adamw = BprParams {
        factors: 8,
        blocks: 4,
        epochs: 60,
        optimizer: Optimizer::AdamW,
        learning_rate: 1.0,
        lr_schedule: Schedule::Warmup,
        warmup_epochs: 40,
        patience: 3,
        k: 10,
        regularization: 0.01,
        sampler: Sampler::Uniform,
        ..BprParams::default()
    };
    let sgd_dns = BprParams {
        sampler: Sampler::Dns,
        lr_schedule: Schedule::Cosine,
        epochs: 9,
        ..params()
    };
    for (p, valid) in [(adamw, Some(&valid)), (sgd_dns, None)] {
        let mut whole = BprModel::new(p.clone(), 80, 60).unwrap();
        run_to_end(&mut whole, &train, valid);
        let mut m = BprModel::new(p.clone(), 80, 60).unwrap();
        // Stop after a few epochs (and, with validation, after the best one was kept), save,
        // rebuild through the model type's resume, go on.
        for _ in 0..4 {
            m.epoch(&train, valid).unwrap();
        }
        let bytes = Model::train_state(&m).unwrap().encode();
        drop(m);
        let state = TrainState::decode(&bytes).unwrap();
        let values = p.to_values();
        let raw = values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let mut boxed = (TYPE.resume.unwrap())(raw, state, &train).unwrap();
        let resumed = boxed.as_any_mut().downcast_mut::<BprModel>().unwrap();
        assert_eq!(resumed.epochs_done, 4);
        run_to_end(resumed, &train, valid);
        assert_eq!(resumed.epochs_done, whole.epochs_done);
        assert_eq!(resumed.best_epoch(), whole.best_epoch());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&resumed.user_factors), bits(&whole.user_factors));
        assert_eq!(bits(&resumed.item_factors), bits(&whole.item_factors));
    }
    // A checkpoint of one shape does not resume a fit on another.
    let m = BprModel::new(params(), 80, 60).unwrap();
    let state = Model::train_state(&m).unwrap();
    let other = random_csr(81, 60, 5, 1);
    let raw = params()
        .to_values()
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let e = (TYPE.resume.unwrap())(raw, state, &other).err().unwrap();
    assert!(e.to_string().contains("user_factors"), "{e}");
}

#[test]
fn a_plan_built_in_recycled_cells_is_the_plan_built_fresh() {
    let train = random_csr(300, 200, 12, 21);
    let neg = dislikes(&train, 5, 22);
    let p = BprParams {
        blocks: 5,
        ..params()
    };
    let cells = |plan: &Plan| -> Vec<[Vec<u32>; 5]> {
        plan.cells
            .iter()
            .map(|c| {
                [
                    c.users.clone(),
                    c.starts.clone(),
                    c.items.clone(),
                    c.dis_starts.clone(),
                    c.disliked.clone(),
                ]
            })
            .collect()
    };
    // Epoch 0's cells (and a plan with more blocks, so fewer cells come back) refilled.
    for old_blocks in [5, 9] {
        let old = Plan::build(
            &BprParams {
                blocks: old_blocks,
                ..p.clone()
            },
            &train,
            Some(&neg),
            0,
            Vec::new(),
        );
        let fresh = Plan::build(&p, &train, Some(&neg), 1, Vec::new());
        let refilled = Plan::build(&p, &train, Some(&neg), 1, old.cells);
        assert_eq!(refilled.cells.len(), 25);
        assert_eq!(cells(&refilled), cells(&fresh));
        assert_eq!(refilled.samples, fresh.samples);
    }
}

#[test]
fn a_plan_holds_each_users_pairs_and_dislikes_by_cell_in_block_map_order() {
    // Every user, including one with every item (left out) and some without dislikes.
    // 120 items: up to 7 blocks of 16 or more (the smallest a block may be).
    let base = random_csr(301, 120, 9, 31);
    let (mut rows, mut cols) = (Vec::new(), Vec::new());
    for u in 0..301 {
        for &i in base.row(u).0 {
            rows.push(u as u32);
            cols.push(i);
        }
    }
    for i in 0..120 {
        rows.push(301);
        cols.push(i);
    }
    let vals = vec![1.0; rows.len()];
    let train = Csr::from_coo(302, 120, &rows, &cols, &vals).unwrap();
    // The full user has no dislikes (it has no unseen item).
    let base_neg = dislikes(&base, 4, 32);
    let (mut rows, mut cols) = (Vec::new(), Vec::new());
    for u in 0..301 {
        for &i in base_neg.row(u).0 {
            rows.push(u as u32);
            cols.push(i);
        }
    }
    let vals = vec![1.0; rows.len()];
    let neg = Csr::from_coo(302, 120, &rows, &cols, &vals).unwrap();
    for (blocks, negatives) in [(5, Some(&neg)), (7, None), (1, Some(&neg))] {
        let p = BprParams { blocks, ..params() };
        assert_eq!(blocks_for(blocks, 120), blocks);
        let plan = Plan::build(&p, &train, negatives, 3, Vec::new());
        let users = block_map(p.seed, STREAM_USER_MAP, 3, train.n_rows, blocks);
        let items = block_map(p.seed, STREAM_ITEM_MAP, 3, train.n_cols, blocks);
        assert_eq!(plan.skipped_users, 1);
        for (ub, us) in users.iter().enumerate() {
            for (ib, its) in items.iter().enumerate() {
                let c = &plan.cells[ub * blocks + ib];
                let in_block = |i: &u32| its.contains(i);
                // By definition: the block's users in map order, each with its sorted items
                // of the item block, when it has any and is not the full user.
                let mut want_users = Vec::new();
                let mut want_items = Vec::new();
                let mut want_starts = vec![0u32];
                let mut want_dis = Vec::new();
                let mut want_dis_starts = vec![0u32];
                for &u in us {
                    let mine: Vec<u32> = train
                        .row(u as usize)
                        .0
                        .iter()
                        .copied()
                        .filter(in_block)
                        .collect();
                    if mine.is_empty() || u == 301 {
                        continue;
                    }
                    want_users.push(u);
                    want_items.extend(&mine);
                    want_starts.push(want_items.len() as u32);
                    if let Some(n) = negatives {
                        want_dis.extend(n.row(u as usize).0.iter().copied().filter(in_block));
                        want_dis_starts.push(want_dis.len() as u32);
                    }
                }
                assert_eq!(c.users, want_users, "cell {ub},{ib}");
                assert_eq!(c.items, want_items, "cell {ub},{ib}");
                assert_eq!(c.starts, want_starts, "cell {ub},{ib}");
                if negatives.is_some() {
                    assert_eq!(c.disliked, want_dis, "cell {ub},{ib}");
                    assert_eq!(c.dis_starts, want_dis_starts, "cell {ub},{ib}");
                } else {
                    assert!(c.disliked.is_empty() && c.dis_starts.is_empty());
                }
            }
        }
    }
}

#[test]
fn the_cell_graph_runs_each_cell_once_after_the_cells_before_it_on_its_rows() {
    use std::sync::Mutex;
    for b in 1..=7usize {
        for threads in [1, 2, 4] {
            let ran = Mutex::new(Vec::new());
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let out = pool.install(|| {
                CellGraph::new(b).run(|s, ub| {
                    ran.lock().unwrap().push((s, ub));
                    (s, ub)
                })
            });
            // Results by sub-epoch, then user block.
            let want: Vec<(usize, usize)> =
                (0..b).flat_map(|s| (0..b).map(move |ub| (s, ub))).collect();
            assert_eq!(out, want, "b {b}");
            let ran = ran.into_inner().unwrap();
            let at = |c: (usize, usize)| ran.iter().position(|&x| x == c).unwrap();
            assert_eq!(ran.len(), b * b);
            for &(s, ub) in &want {
                if s == 0 {
                    continue;
                }
                // The same user block's previous cell, and the one that last had item block
                // (ub + s) mod b: user block ub + 1 in sub-epoch s - 1.
                assert!(
                    at((s - 1, ub)) < at((s, ub)),
                    "b {b} threads {threads} ({s}, {ub})"
                );
                assert!(
                    at((s - 1, (ub + 1) % b)) < at((s, ub)),
                    "b {b} threads {threads} ({s}, {ub})"
                );
                assert_eq!(((ub + 1) % b + s - 1) % b, (ub + s) % b, "same item block");
            }
        }
    }
}
