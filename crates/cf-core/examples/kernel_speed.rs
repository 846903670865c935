//! Developer microbenchmark of the per-row kernels (ns per 64-float row):
//!   cargo run --profile ci -p cf-core --example kernel_speed
use cf_core::linalg::simd::Isa;
use std::time::Instant;

fn main() {
    let isa = Isa::detect();
    let kp: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let n = 32usize;
    let rows: Vec<f32> = (0..n * kp).map(|i| (i % 13) as f32 * 0.01).collect();
    let v: Vec<f32> = (0..kp).map(|i| i as f32 * 0.001).collect();
    let mut out = vec![0f32; n];
    let mut acc = vec![0f32; kp];
    let reps = 200_000;
    let t = Instant::now();
    for _ in 0..reps {
        isa.dots(&rows, kp, &v, &mut out);
        std::hint::black_box(&mut out);
    }
    let d = t.elapsed().as_secs_f64() / (reps * n) as f64 * 1e9;
    let t = Instant::now();
    for _ in 0..reps {
        isa.accumulate(&rows, kp, &out, &mut acc);
        std::hint::black_box(&mut acc);
    }
    let a = t.elapsed().as_secs_f64() / (reps * n) as f64 * 1e9;
    let mut big = vec![0f32; kp * kp];
    let t = Instant::now();
    for _ in 0..reps / 10 {
        isa.syrk_upper(&rows, n, kp, &mut big);
        std::hint::black_box(&mut big);
    }
    let s = t.elapsed().as_secs_f64() / (reps / 10 * n) as f64 * 1e9;
    println!("{isa:?}: dots {d:.2} ns/row, accumulate {a:.2} ns/row, syrk {s:.2} ns/row");
}
