//! What the dev-loop examples share: reading the bench's prepared matrices.
//! (A folder, not `common.rs`, so cargo does not take it for an example of its own.)
use cf_core::data::csr::Csr;

/// Little-endian .npy payload (the bench's uint32 / float32 arrays): skip the header.
fn npy<T: Copy>(path: &str, conv: fn([u8; 4]) -> T) -> Vec<T> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    b[10 + hlen..]
        .chunks_exact(4)
        .map(|c| conv([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A matrix written by bench/python/prepare_data.py (DIR holds indptr/indices/data .npy and
/// shape.json, e.g. bench/.data/ml20m/train), so a dev loop measures the bench's data.
pub fn load_csr(dir: &str) -> Csr {
    let shape = std::fs::read_to_string(format!("{dir}/shape.json"))
        .unwrap_or_else(|e| panic!("{dir}/shape.json: {e}"));
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
