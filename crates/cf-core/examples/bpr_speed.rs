//! Dev loop for BPR's epoch: fits a few epochs on a CSR matrix from .npy files (the bench's
//! synthetic shapes) and prints each epoch's samples/s and a hash of the final factors, so a
//! faster epoch can be checked bit for bit against the previous one.
//! `[FACTORS=64] cargo run --release --example bpr_speed -- DIR SAMPLER EPOCHS THREADS [BLOCKS]`
use std::hash::{Hash, Hasher};

use cf_core::models::bpr::{BprModel, BprParams};
use cf_core::params::{Params, Value};

mod common;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let dir = &a[1];
    let train = common::load_csr(dir);
    let (rows, cols) = (train.n_rows, train.n_cols);
    let epochs: usize = a[3].parse().unwrap();
    let mut raw = vec![
        ("sampler", Value::Str(a[2].clone().into())),
        (
            "factors",
            Value::Num(std::env::var("FACTORS").map_or(64.0, |v| v.parse().unwrap())),
        ),
        ("learning_rate", Value::Num(0.05)),
        ("regularization", Value::Num(0.01)),
        ("epochs", Value::Num(epochs as f64)),
        ("threads", Value::Num(a[4].parse().unwrap())),
    ];
    if let Some(b) = a.get(5) {
        raw.push(("blocks", Value::Num(b.parse().unwrap())));
    }
    let p = BprParams::from_raw(raw).unwrap();
    let mut m = BprModel::new(p, rows, cols).unwrap();
    for _ in 0..epochs {
        let r = m.epoch(&train, None).unwrap();
        println!(
            "epoch {} {:.3} s {:.2} M samples/s auc {:.4}",
            r.epoch,
            r.seconds,
            r.samples as f64 / r.seconds / 1e6,
            r.auc
        );
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for v in m.user_factors.iter().chain(m.item_factors.iter()) {
        v.to_bits().hash(&mut h);
    }
    println!("factors hash {:016x}", h.finish());
}
