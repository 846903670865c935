//! Timing of the SVD's sparse kernels alone: spmm_probe DIR B THREADS
use cf_core::data::csr::Csr;
use cf_core::linalg::svd::ops::{gram, spmm, Dense};
use std::time::Instant;

mod common;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let m: Csr = common::load_csr(&a[1]);
    let b: usize = a[2].parse().unwrap();
    let pool = cf_core::pool::pool(a[3].parse().unwrap()).unwrap();
    let mut x = Dense::zeros(m.n_cols, b);
    x.data
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = (i % 7) as f64);
    let mut y = Dense::zeros(m.n_rows, b);
    let mut z = Dense::zeros(m.n_cols, b);
    let at = m.transpose();
    let mut scratch = Vec::new();
    pool.install(|| {
        for _ in 0..3 {
            let t = Instant::now();
            spmm(&m, &x, 0, b, &mut y, 0);
            let t1 = t.elapsed().as_secs_f64();
            spmm(&at, &y, 0, b, &mut z, 0);
            let t2 = t.elapsed().as_secs_f64() - t1;
            let t = Instant::now();
            gram(&m, &x, 0, b, &mut z, 0, &mut scratch);
            let t3 = t.elapsed().as_secs_f64();
            let gf = |s: f64| 2.0 * m.nnz() as f64 * b as f64 / s / 1e9;
            println!(
                "A x {:.1} ms ({:.1} GF/s)  At y {:.1} ms ({:.1})  fused {:.1} ms ({:.1})",
                t1 * 1e3,
                gf(t1),
                t2 * 1e3,
                gf(t2),
                t3 * 1e3,
                2.0 * gf(t3)
            );
        }
    });
}
