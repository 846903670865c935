//! Dev loop for the item-kNN fit: times `similarities` on a CSR matrix from .npy files (the
//! bench's ML-20M shape) and prints a hash of the neighbour matrix, so a faster kernel can be
//! checked bit for bit against the previous one.
//! `[KERNEL=ordered|weights] cargo run --release --example knn_speed -- DIR WEIGHTING K THREADS [REPEATS]`
use std::hash::{Hash, Hasher};
use std::time::Instant;

use cf_core::data::csr::Csr;
use cf_core::models::knn::pairs::all_pairs_ordered;
use cf_core::models::knn::{similarities, weighted, KnnParams};
use cf_core::params::{Params, Value};

mod common;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let dir = &a[1];
    let train = common::load_csr(dir);
    let threads: usize = a[4].parse().unwrap();
    let repeats: usize = a.get(5).map_or(1, |s| s.parse().unwrap());
    let p = KnnParams::from_raw([
        ("weighting", Value::Str(a[2].clone().into())),
        ("k", Value::Num(a[3].parse().unwrap())),
        ("threads", Value::Num(threads as f64)),
    ])
    .unwrap();
    let pool = cf_core::pool::pool(threads).unwrap();
    let kernel = std::env::var("KERNEL").unwrap_or_default();
    for _ in 0..repeats {
        let (t, c) = (Instant::now(), cpu());
        // KERNEL=ordered: the previous fit (weights, the scatter transpose, the row-by-row
        // kernel), timed the same way; plain weightings only (no rescale).
        let nb: Csr = pool.install(|| match kernel.as_str() {
            "ordered" => {
                let (items, _) = weighted(&p, &train);
                let users = items.transpose();
                all_pairs_ordered(&items, &users, p.k, None)
            }
            // KERNEL=weights: only the weighting (what runs before any kernel).
            "weights" => {
                let (items, _) = weighted(&p, &train);
                Csr {
                    n_rows: items.n_rows,
                    n_cols: items.n_cols,
                    indptr: items.indptr,
                    indices: items.indices,
                    values: items.values.iter().map(|&v| v as f32).collect(),
                }
            }
            _ => similarities(&p, &train),
        });
        let (s, c) = (t.elapsed().as_secs_f64(), cpu() - c);
        let mut h = std::collections::hash_map::DefaultHasher::new();
        nb.indptr.hash(&mut h);
        nb.indices.hash(&mut h);
        for v in &nb.values {
            v.to_bits().hash(&mut h);
        }
        println!(
            "{kernel} {} k {} threads {threads}: {s:.3} s ({c:.2} s cpu), nnz {}, hash {:016x}",
            a[2],
            a[3],
            nb.indices.len(),
            h.finish()
        );
    }
}

/// CPU seconds of this process (user + system): steadier than wall time on a shared machine.
fn cpu() -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
    t(u.ru_utime) + t(u.ru_stime)
}
