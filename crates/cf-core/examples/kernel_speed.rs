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
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let rows: Vec<f32> = (0..n * kp).map(|i| (i % 13) as f32 * 0.01).collect();
    let v: Vec<f32> = (0..kp).map(|i| i as f32 * 0.001).collect();
    let mut out = vec![0f32; n];
    let mut acc = vec![0f32; kp];
    let reps = 6_400_000 / n;
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
    // The CG pass as solve.rs runs it: chunks of 32 rows, dots then accumulate.
    let mut coef = vec![0f32; 32];
    let t = Instant::now();
    for _ in 0..reps {
        let mut s0 = 0;
        while s0 < n {
            let m = (n - s0).min(32);
            let blk = &rows[s0 * kp..(s0 + m) * kp];
            isa.dots(blk, kp, &v, &mut coef[..m]);
            isa.accumulate(blk, kp, &coef[..m], &mut acc);
            s0 += m;
        }
        std::hint::black_box(&mut acc);
    }
    let p = t.elapsed().as_secs_f64() / (reps * n) as f64 * 1e9;
    println!("{isa:?} kp {kp} rows {n}: pass {p:.2} ns/row");
    println!("{isa:?}: dots {d:.2} ns/row, accumulate {a:.2} ns/row, syrk {s:.2} ns/row");
}
