//! Developer loop for the truncated SVD (the published comparison lives in bench/svd.mjs):
//!   cargo run --profile ci -p cf-core --example svd_speed -- DIR K METHOD THREADS [BLOCK] [TOL] [POWER]
//! DIR holds the bench's train matrix (indptr/indices/data .npy and shape.json); METHOD is
//! lanczos or randomized. Prints seconds, restarts, products and the first and last values.
use cf_core::linalg::svd::{truncated_svd, Method, SvdOptions};
use std::time::Instant;

mod common;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let m = common::load_csr(&a[1]);
    let mut o = SvdOptions::new(a[2].parse().unwrap());
    o.method = if a[3] == "randomized" {
        Method::Randomized
    } else {
        Method::Lanczos
    };
    o.threads = a[4].parse().unwrap();
    if let Some(b) = a.get(5) {
        o.block = b.parse().unwrap();
    }
    if let Some(t) = a.get(6) {
        o.tolerance = t.parse().unwrap();
    }
    if let Some(q) = a.get(7) {
        o.power_iterations = q.parse().unwrap();
    }
    let t = Instant::now();
    let s = truncated_svd(&m, &o).unwrap();
    println!(
        "{} x {} nnz {} k {}: {:.3} s, restarts {}, products {}, σ1 {:.10e} σk {:.10e}",
        m.n_rows,
        m.n_cols,
        m.nnz(),
        o.k,
        t.elapsed().as_secs_f64(),
        s.restarts,
        s.products,
        s.values[0],
        s.values[o.k - 1]
    );
}
