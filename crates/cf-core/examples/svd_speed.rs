//! Developer loop for the truncated SVD (the published comparison lives in bench/svd.mjs):
//!   cargo run --profile ci -p cf-core --example svd_speed -- DIR K METHOD THREADS [BLOCK] [TOL] [POWER]
//! DIR holds the bench's train matrix (indptr/indices/data .npy and shape.json); METHOD is
//! lanczos or randomized. Prints seconds, restarts, products and the first and last values.
use cf_core::data::csr::Csr;
use cf_core::linalg::svd::{truncated_svd, Method, SvdOptions};
use std::time::Instant;

fn npy<T: Copy>(path: &str, conv: fn([u8; 4]) -> T) -> Vec<T> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    b[10 + hlen..]
        .chunks_exact(4)
        .map(|c| conv([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub fn load(dir: &str) -> Csr {
    let shape = std::fs::read_to_string(format!("{dir}/shape.json")).unwrap();
    let num = |key: &str| -> usize {
        let at = shape.find(key).unwrap() + key.len() + 2;
        let rest = shape[at..].trim_start();
        rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap()]
            .parse()
            .unwrap()
    };
    Csr {
        n_rows: num("\"rows\""),
        n_cols: num("\"cols\""),
        indptr: npy(&format!("{dir}/indptr.npy"), u32::from_le_bytes)
            .into_iter()
            .map(|v| v as usize)
            .collect(),
        indices: npy(&format!("{dir}/indices.npy"), u32::from_le_bytes),
        values: npy(&format!("{dir}/data.npy"), f32::from_le_bytes),
    }
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let m = load(&a[1]);
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
