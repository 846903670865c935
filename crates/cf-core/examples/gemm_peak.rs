//! The machine's float32 GEMM peak as faer reaches it: the yardstick `npm run bench -- topk`
//! divides its batch throughputs by. Prints one JSON object on stdout.
//!
//! `cargo run --release -p cf-core --example gemm_peak -- [N] [THREADS] [REPS]` (default 2048 2 5)
//!
//! One thread: one n x n x n product, `Par::Seq`. T threads: T independent products at once,
//! each `Par::Seq` on its own matrices. faer's own `Par::rayon` needs faer's `rayon` feature,
//! which the workspace leaves off (it would add crates to Cargo.lock for this example alone);
//! independent products also have no synchronisation cost, so they give the cores' combined
//! peak, the upper bound a top-K batch (independent user blocks) can approach.
//! Each figure is the best of REPS timed products after one warm-up: a peak, not a typical rate.
use std::time::Instant;

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};

fn filled(n: usize, seed: u32) -> Mat<f32> {
    // Values in [-0.5, 0.5): their size does not matter for speed, only that they are not
    // zeros or denormals.
    let mut s = seed.max(1);
    Mat::from_fn(n, n, |_, _| {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    })
}

/// Seconds of one C = A B on the calling thread.
fn product(a: &Mat<f32>, b: &Mat<f32>, c: &mut Mat<f32>) -> f64 {
    let t = Instant::now();
    matmul(
        c.as_mut(),
        Accum::Replace,
        a.as_ref(),
        b.as_ref(),
        1.0f32,
        Par::Seq,
    );
    t.elapsed().as_secs_f64()
}

/// Best GFLOP/s over `reps` rounds of `threads` simultaneous products.
fn peak(n: usize, threads: usize, reps: usize) -> f64 {
    let flops = 2.0 * (n * n * n) as f64;
    let mut sets: Vec<_> = (0..threads)
        .map(|t| {
            (
                filled(n, 2 * t as u32 + 1),
                filled(n, 2 * t as u32 + 2),
                Mat::<f32>::zeros(n, n),
            )
        })
        .collect();
    let mut best = 0f64;
    for rep in 0..=reps {
        let t = Instant::now();
        std::thread::scope(|s| {
            for (a, b, c) in sets.iter_mut() {
                s.spawn(move || product(a, b, c));
            }
        });
        let wall = t.elapsed().as_secs_f64();
        // Round 0 warms caches, page tables and faer's runtime dispatch.
        if rep > 0 {
            best = best.max(threads as f64 * flops / wall / 1e9);
        }
    }
    // Keep the products observable so they cannot be optimised away.
    let check: f32 = sets.iter().map(|(_, _, c)| c[(n / 2, n / 3)]).sum();
    eprintln!("[gemm_peak] n={n} threads={threads}: {best:.1} GFLOP/s (check {check})");
    best
}

fn main() {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().expect("integer argument"))
        .collect();
    let n = a.first().copied().unwrap_or(2048);
    let threads = a.get(1).copied().unwrap_or(2).max(1);
    let reps = a.get(2).copied().unwrap_or(5).max(1);
    let mut per = Vec::new();
    for t in 1..=threads {
        per.push(format!("\"{t}\": {:.2}", peak(n, t, reps)));
    }
    println!(
        "{{\"n\": {n}, \"reps\": {reps}, \"method\": \"best of reps; T threads = T simultaneous Par::Seq products\", \"gflops\": {{{}}}}}",
        per.join(", ")
    );
}
