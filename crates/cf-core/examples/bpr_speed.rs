//! Dev loop for BPR's epoch: fits a few epochs on a CSR matrix from .npy files (the bench's
//! synthetic shapes) and prints each epoch's samples/s and a hash of the final factors, so a
//! faster epoch can be checked bit for bit against the previous one.
//! `[FACTORS=64] cargo run --release --example bpr_speed -- DIR SAMPLER EPOCHS THREADS [BLOCKS]`
use std::hash::{Hash, Hasher};

use cf_core::data::csr::Csr;
use cf_core::models::bpr::{BprModel, BprParams};
use cf_core::params::{Params, Value};

fn npy(path: &str) -> Vec<u8> {
    let b = std::fs::read(path).unwrap();
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    b[10 + hl..].to_vec()
}

fn u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let dir = &a[1];
    let shape = std::fs::read_to_string(format!("{dir}/shape.json")).unwrap();
    let num = |key: &str| -> usize {
        let s = &shape[shape.find(key).unwrap() + key.len() + 2..];
        s.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (rows, cols) = (num("\"rows\""), num("\"cols\""));
    let indptr: Vec<usize> = u32s(&npy(&format!("{dir}/indptr.npy")))
        .into_iter()
        .map(|v| v as usize)
        .collect();
    let indices = u32s(&npy(&format!("{dir}/indices.npy")));
    let values: Vec<f32> = u32s(&npy(&format!("{dir}/data.npy")))
        .into_iter()
        .map(f32::from_bits)
        .collect();
    let train = Csr {
        n_rows: rows,
        n_cols: cols,
        indptr,
        indices,
        values,
    };
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
