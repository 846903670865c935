//! The kernels under the truncated SVD: the sparse x dense products (hand-written, row-wise,
//! multithreaded: faer's own ignores its thread setting and walks the dense side a column at
//! a time) and tall-skinny dense products through faer in fixed row chunks.
//!
//! Every output row of a sparse product is summed by one thread in the row's storage order,
//! and every reduction over rows is summed per fixed chunk and then in chunk order, so the
//! results are the same bits for any thread count. The sparse kernel uses plain `+=` of a
//! product (no fused multiply-add), so the vectorised AVX-512, AVX2 and portable builds of
//! it agree to the bit too.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::data::csr::Csr;

/// Rows per task of the dense products; fixed so partial sums do not depend on threads.
pub const CHUNK: usize = 2048;
/// Rows per task of the sparse product (rows are short; this only bounds scheduling cost).
const SPARSE_ROWS: usize = 128;

/// A row-major dense matrix, `ld` values per row, of which any column range can be viewed.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    pub rows: usize,
    pub ld: usize,
    pub data: Vec<f64>,
}

impl Dense {
    pub fn zeros(rows: usize, ld: usize) -> Self {
        Dense {
            rows,
            ld,
            data: vec![0.0; rows * ld],
        }
    }

    pub fn cols(&self, c0: usize, cols: usize) -> MatRef<'_, f64> {
        MatRef::from_row_major_slice_with_stride(&self.data, self.rows, self.ld, self.ld)
            .subcols(c0, cols)
    }

    /// Copy columns `src_c0..src_c0 + cols` of `src` into `c0..` of self.
    pub fn copy_cols(&mut self, c0: usize, src: &Dense, src_c0: usize, cols: usize) {
        let ld = self.ld;
        self.data
            .par_chunks_mut(ld * CHUNK)
            .zip(src.data.par_chunks(src.ld * CHUNK))
            .for_each(|(d, s)| {
                for (dr, sr) in d.chunks_exact_mut(ld).zip(s.chunks_exact(src.ld)) {
                    dr[c0..c0 + cols].copy_from_slice(&sr[src_c0..src_c0 + cols]);
                }
            });
    }
}

/// aᵀ b (a: n x p, b: n x q), summed per chunk of rows, chunks in order.
pub fn tn(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let n = a.nrows();
    let parts: Vec<Mat<f64>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let (r0, len) = (c * CHUNK, CHUNK.min(n - c * CHUNK));
            let mut m = Mat::<f64>::zeros(a.ncols(), b.ncols());
            matmul(
                m.as_mut(),
                Accum::Replace,
                a.subrows(r0, len).transpose(),
                b.subrows(r0, len),
                1.0,
                Par::Seq,
            );
            m
        })
        .collect();
    let mut out = Mat::<f64>::zeros(a.ncols(), b.ncols());
    for p in &parts {
        out += p;
    }
    out
}

/// out[:, c0..c0 + q] = beta * out[...] + a s  (a: n x p, s: p x q); beta is 0 or 1.
pub fn nn(out: &mut Dense, c0: usize, a: MatRef<'_, f64>, s: MatRef<'_, f64>, accumulate: bool) {
    let (ld, q) = (out.ld, s.ncols());
    out.data
        .par_chunks_mut(ld * CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let len = chunk.len() / ld;
            // faer 0.24.4's from_row_major_slice_with_stride_mut lays the slice out column-major
            // (unit row stride); the transpose of a column-major view is the row-major one.
            let dst = MatMut::from_column_major_slice_with_stride_mut(chunk, ld, len, ld)
                .transpose_mut()
                .subcols_mut(c0, q);
            let acc = if accumulate {
                Accum::Add
            } else {
                Accum::Replace
            };
            matmul(dst, acc, a.subrows(c * CHUNK, len), s, 1.0, Par::Seq);
        });
}

/// Squared norm of each of `cols` columns from `c0`, summed per chunk in order.
pub fn col_norms2(x: &Dense, c0: usize, cols: usize) -> Vec<f64> {
    let parts: Vec<Vec<f64>> = x
        .data
        .par_chunks(x.ld * CHUNK)
        .map(|chunk| {
            let mut s = vec![0f64; cols];
            for row in chunk.chunks_exact(x.ld) {
                for (t, v) in row[c0..c0 + cols].iter().enumerate() {
                    s[t] += v * v;
                }
            }
            s
        })
        .collect();
    let mut out = vec![0f64; cols];
    for p in &parts {
        for (o, v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
    out
}

/// out[r, oc0..oc0 + b] = Σ_j a[r, j] x[j, xc0..xc0 + b] for every row r of `a`.
pub fn spmm(a: &Csr, x: &Dense, xc0: usize, b: usize, out: &mut Dense, oc0: usize) {
    assert!(x.rows == a.n_cols && out.rows == a.n_rows);
    assert!(xc0 + b <= x.ld && oc0 + b <= out.ld);
    let ldo = out.ld;
    out.data
        .par_chunks_mut(ldo * SPARSE_ROWS)
        .enumerate()
        .for_each(|(c, rows)| {
            let r0 = c * SPARSE_ROWS;
            kernel(a, r0, x, xc0, b, rows, ldo, oc0);
        });
}

#[allow(clippy::too_many_arguments)]
fn kernel(a: &Csr, r0: usize, x: &Dense, xc0: usize, b: usize, rows: &mut [f64], ldo: usize, oc0: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked above).
            return unsafe { kernel_avx512(a, r0, x, xc0, b, rows, ldo, oc0) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            return unsafe { kernel_avx2(a, r0, x, xc0, b, rows, ldo, oc0) };
        }
    }
    kernel_body(a, r0, x, xc0, b, rows, ldo, oc0)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel_avx512(a: &Csr, r0: usize, x: &Dense, xc0: usize, b: usize, rows: &mut [f64], ldo: usize, oc0: usize) {
    kernel_body(a, r0, x, xc0, b, rows, ldo, oc0)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel_avx2(a: &Csr, r0: usize, x: &Dense, xc0: usize, b: usize, rows: &mut [f64], ldo: usize, oc0: usize) {
    kernel_body(a, r0, x, xc0, b, rows, ldo, oc0)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn kernel_body(a: &Csr, r0: usize, x: &Dense, xc0: usize, b: usize, rows: &mut [f64], ldo: usize, oc0: usize) {
    let ldx = x.ld;
    for (i, orow) in rows.chunks_exact_mut(ldo).enumerate() {
        let acc = &mut orow[oc0..oc0 + b];
        acc.fill(0.0);
        let (cols, vals) = a.row(r0 + i);
        for (&j, &v) in cols.iter().zip(vals) {
            let v = v as f64;
            let base = j as usize * ldx + xc0;
            let xr = &x.data[base..base + b];
            for (o, &xv) in acc.iter_mut().zip(xr) {
                *o += v * xv;
            }
        }
    }
}

/// One standard normal per call pair (Box-Muller), from a SplitMix64 stream.
pub fn normal(g: &mut crate::rng::SplitMix64) -> f64 {
    let u1 = ((g.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64);
    let u2 = (g.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
