use rayon::prelude::*;

/// Rows summed per task: fixed, so the summation order (and the result) is the same for any
/// number of threads.
const CHUNK_ROWS: usize = 2048;

/// G = Fᵀ F for a row-major n x k matrix F, as a full row-major k x k matrix (f32 result,
/// accumulated in f64 per chunk to keep large sums accurate).
pub fn gram(f: &[f32], k: usize) -> Vec<f32> {
    if k == 0 {
        return Vec::new();
    }
    let partials: Vec<Vec<f64>> = f
        .par_chunks(CHUNK_ROWS * k)
        .map(|block| {
            let mut g32 = vec![0f32; k * k];
            for row in block.chunks_exact(k) {
                for (a, &ya) in row.iter().enumerate() {
                    if ya != 0.0 {
                        // Upper triangle only; mirrored below.
                        let dst = &mut g32[a * k + a..a * k + k];
                        for (d, &yb) in dst.iter_mut().zip(&row[a..]) {
                            *d += ya * yb;
                        }
                    }
                }
            }
            g32.into_iter().map(f64::from).collect()
        })
        .collect();
    let mut g = vec![0f64; k * k];
    for p in &partials {
        for (x, y) in g.iter_mut().zip(p) {
            *x += y;
        }
    }
    let mut out = vec![0f32; k * k];
    for a in 0..k {
        for b in a..k {
            let v = g[a * k + b] as f32;
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
