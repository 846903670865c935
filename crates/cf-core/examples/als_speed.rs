//! Developer loop for ALS kernel speed (the published comparison lives in bench/):
//!   cargo run --profile ci -p cf-core --example als_speed -- USERS ITEMS NNZ FACTORS SOLVER ITERS THREADS
//!   cargo run --profile ci -p cf-core --example als_speed -- npy:DIR FACTORS SOLVER ITERS THREADS [REG ALPHA]
//! A seeded power-law matrix (user weight ~ rank^-0.6, item ~ rank^-0.9, value 1 + ln(1 + count)).
use cf_core::data::csr::Csr;
use cf_core::models::als::{AlsModel, AlsParams, LongRows, Solver};
use cf_core::rng::SplitMix64;
use std::time::Instant;

mod common;

fn cdf(n: usize, exponent: f64) -> Vec<f64> {
    let mut c = Vec::with_capacity(n);
    let mut s = 0.0;
    for r in 0..n {
        s += ((r + 1) as f64).powf(-exponent);
        c.push(s);
    }
    c.iter_mut().for_each(|v| *v /= s);
    c
}

fn main() {
    let mut a: Vec<String> = std::env::args().collect();
    let from_npy = a
        .get(1)
        .and_then(|s| s.strip_prefix("npy:"))
        .map(common::load_csr);
    if from_npy.is_some() {
        // Same positions as the synthetic form from FACTORS on.
        a.splice(1..2, ["0".into(), "0".into(), "0".into()]);
    }
    let arg = |i: usize, d: &str| a.get(i).cloned().unwrap_or_else(|| d.to_string());
    let users: usize = arg(1, "136677").parse().unwrap();
    let items: usize = arg(2, "20108").parse().unwrap();
    let nnz: usize = arg(3, "9851985").parse().unwrap();
    let k: usize = arg(4, "64").parse().unwrap();
    let solver = if arg(5, "cg") == "cg" {
        // CF_CG_STEPS: to time the passes of each CG step apart.
        let steps = std::env::var("CF_CG_STEPS")
            .ok()
            .and_then(|v| v.parse().ok());
        Solver::Cg {
            steps: steps.unwrap_or(3),
        }
    } else {
        Solver::Cholesky
    };
    let iters: usize = arg(6, "3").parse().unwrap();
    let threads: usize = arg(7, "2").parse().unwrap();

    let t = Instant::now();
    let (m, mt, reg, alpha) = if let Some(m) = from_npy {
        let mt = m.transpose();
        let reg: f32 = arg(8, "100").parse().unwrap();
        let alpha: f32 = arg(9, "20").parse().unwrap();
        (m, mt, reg, alpha)
    } else {
        let (m, mt) = synthetic(users, items, nnz);
        (m, mt, 0.05, 1.0)
    };
    eprintln!(
        "matrix {} x {}, nnz {} (ready in {:.1}s)",
        m.n_rows,
        m.n_cols,
        m.nnz(),
        t.elapsed().as_secs_f64()
    );
    let (users, items) = (m.n_rows, m.n_cols);

    let params = AlsParams {
        factors: k,
        solver,
        iterations: iters,
        threads,
        regularization: reg,
        alpha,
        ..Default::default()
    };
    let t = Instant::now();
    let long = matches!(solver, Solver::Cg { .. }).then(|| {
        LongRows::build(
            &m,
            k,
            std::env::var("CF_LONG")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(LongRows::default_min_len(k)),
            threads,
        )
    });
    eprintln!("long rows prepared in {:.2}s", t.elapsed().as_secs_f64());
    let mut model = AlsModel::new(params, users, items).unwrap();
    let mut times = vec![];
    for _ in 0..iters {
        let c0 = cpu_seconds();
        let r = model.iterate_with(&m, &mt, long.as_ref()).unwrap();
        eprintln!(
            "iteration {} {:.3}s wall (users {:.3}s, items {:.3}s), {:.2}s cpu",
            r.iteration,
            r.seconds,
            r.user_seconds,
            r.seconds - r.user_seconds,
            cpu_seconds() - c0
        );
        times.push(r.seconds);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let checksum: f64 = model.user_factors.iter().map(|&v| v as f64).sum();
    // Scores do not depend on the basis the factors are kept in: this one compares builds
    // whose rounding differs (the factor checksum changes with any last bit).
    let (uf, itf) = (&model.user_factors, &model.item_factors);
    let scores: f64 = (0..users.min(2000))
        .flat_map(|u| (0..items.min(200)).map(move |j| (u, j)))
        .map(|(u, j)| {
            (0..k)
                .map(|c| uf[u * k + c] as f64 * itf[j * k + c] as f64)
                .sum::<f64>()
        })
        .sum();
    println!(
        "median {:.3} s/iter  checksum {checksum:.6}  scores {scores:.4}",
        times[times.len() / 2]
    );
}

fn synthetic(users: usize, items: usize, nnz: usize) -> (Csr, Csr) {
    let (cu, ci) = (cdf(users, 0.6), cdf(items, 0.9));
    let mut g = SplitMix64::new(7);
    let mut us = Vec::with_capacity(nnz);
    let mut is = Vec::with_capacity(nnz);
    for _ in 0..nnz {
        let u = cu.partition_point(|&c| c < (g.next_u64() >> 11) as f64 / (1u64 << 53) as f64);
        let i = ci.partition_point(|&c| c < (g.next_u64() >> 11) as f64 / (1u64 << 53) as f64);
        us.push(u.min(users - 1) as u32);
        is.push(i.min(items - 1) as u32);
    }
    // Spread popular rows over the matrix, as real ids (and the bench's matrices) do.
    let mut pu: Vec<u32> = (0..users as u32).collect();
    let mut pi: Vec<u32> = (0..items as u32).collect();
    g.shuffle(&mut pu);
    g.shuffle(&mut pi);
    us.iter_mut().for_each(|u| *u = pu[*u as usize]);
    is.iter_mut().for_each(|i| *i = pi[*i as usize]);
    let ones = vec![1f32; nnz];
    let mut m = Csr::from_coo(users, items, &us, &is, &ones).unwrap();
    m.values.iter_mut().for_each(|v| *v = 1.0 + v.ln_1p());
    let mt = m.transpose();
    (m, mt)
}

/// utime + stime of this process (all threads), from /proc: CPU time is what contention on a
/// shared 2-core machine distorts least.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}
