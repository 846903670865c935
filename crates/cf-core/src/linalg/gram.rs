use rayon::prelude::*;

use super::simd::{padded, Isa};

/// Rows summed per task: fixed, so the summation order (and the result) is the same for any
/// number of threads.
const CHUNK_ROWS: usize = 2048;

/// G = Fᵀ F for a row-major n x k matrix F, as a full row-major k x k matrix (f32 result,
/// accumulated in f64 per chunk to keep large sums accurate).
pub fn gram(f: &[f32], k: usize) -> Vec<f32> {
    gram_f64(f, k).into_iter().map(|v| v as f32).collect()
}

/// FᵀF (k x k, row-major) summed in float64 across chunks, for callers that factor it.
pub fn gram_f64(f: &[f32], k: usize) -> Vec<f64> {
    if k == 0 {
        return Vec::new();
    }
    let isa = Isa::detect();
    let kp = padded(k);
    let partials: Vec<Vec<f64>> = f
        .par_chunks(CHUNK_ROWS * k)
        .map(|block| {
            let n = block.len() / k;
            let mut g32 = vec![0f32; kp * kp];
            if kp == k {
                isa.syrk_upper(block, n, kp, &mut g32);
            } else {
                let mut z = vec![0f32; n * kp];
                for (dst, src) in z.chunks_exact_mut(kp).zip(block.chunks_exact(k)) {
                    dst[..k].copy_from_slice(src);
                }
                isa.syrk_upper(&z, n, kp, &mut g32);
            }
            g32.into_iter().map(f64::from).collect()
        })
        .collect();
    let mut g = vec![0f64; kp * kp];
    for p in &partials {
        for (x, y) in g.iter_mut().zip(p) {
            *x += y;
        }
    }
    // Upper triangle mirrored below.
    let mut out = vec![0f64; k * k];
    for a in 0..k {
        for b in a..k {
            let v = g[a * kp + b];
            out[a * k + b] = v;
            out[b * k + a] = v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_naive_product() {
        let (n, k) = (5000, 7);
        let f: Vec<f32> = (0..n * k)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let g = gram(&f, k);
        for a in 0..k {
            for b in 0..k {
                let want: f64 = (0..n)
                    .map(|r| f[r * k + a] as f64 * f[r * k + b] as f64)
                    .sum();
                approx::assert_relative_eq!(
                    g[a * k + b] as f64,
                    want,
                    max_relative = 1e-4,
                    epsilon = 1e-3
                );
            }
        }
    }
}
