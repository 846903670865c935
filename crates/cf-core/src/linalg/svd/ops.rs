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
            let job = Job::Spmm {
                r0: c * SPARSE_ROWS,
                rows,
                ldo,
                oc0,
            };
            dispatch(a, x, xc0, b, job);
        });
}

/// The row ranges of the fused Gram product: about equal nonzeros each, their number fixed
/// by the data and the block width (never the thread count), so each private partial and
/// their sum in range order are the same on any number of threads. Fewer ranges when the
/// partials (one n x b each) would pass 256 MiB.
fn gram_ranges(a: &Csr, b: usize) -> Vec<(usize, usize)> {
    let budget = (256usize << 20) / (8 * a.n_cols.max(1) * b.max(1));
    let parts = budget.clamp(1, 16).min(a.n_rows.max(1));
    let nnz = a.nnz();
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for p in 1..=parts {
        let target = nnz * p / parts;
        let end = if p == parts {
            a.n_rows
        } else {
            a.indptr
                .partition_point(|&x| x < target)
                .clamp(start, a.n_rows)
        };
        out.push((start, end));
        start = end;
    }
    out
}

/// out[:, oc0..oc0 + b] = Aᵀ(A x[:, xc0..xc0 + b]) in one pass over A: each row's product
/// with x is kept in registers and scattered straight back, so the matrix is read once and
/// the m x b intermediate never exists.
pub fn gram(
    a: &Csr,
    x: &Dense,
    xc0: usize,
    b: usize,
    out: &mut Dense,
    oc0: usize,
    scratch: &mut Vec<Vec<f64>>,
) {
    let n = a.n_cols;
    assert!(x.rows == n && out.rows == n && xc0 + b <= x.ld && oc0 + b <= out.ld);
    let ranges = gram_ranges(a, b);
    // Partials are reused across calls: fresh pages would cost a fault each, every call.
    scratch.resize_with(ranges.len(), Vec::new);
    scratch
        .par_iter_mut()
        .zip(ranges.into_par_iter())
        .for_each(|(z, (r0, r1))| {
            z.clear();
            z.resize(n * b, 0.0);
            dispatch(a, x, xc0, b, Job::Gram { r0, r1, z });
        });
    let parts = &scratch[..];
    let ldo = out.ld;
    out.data
        .par_chunks_mut(ldo * CHUNK)
        .enumerate()
        .for_each(|(c, rows)| {
            for (i, orow) in rows.chunks_exact_mut(ldo).enumerate() {
                let r = c * CHUNK + i;
                let o = &mut orow[oc0..oc0 + b];
                o.copy_from_slice(&parts[0][r * b..r * b + b]);
                for p in &parts[1..] {
                    for (x, y) in o.iter_mut().zip(&p[r * b..r * b + b]) {
                        *x += y;
                    }
                }
            }
        });
}

enum Job<'a> {
    Spmm {
        r0: usize,
        rows: &'a mut [f64],
        ldo: usize,
        oc0: usize,
    },
    Gram {
        r0: usize,
        r1: usize,
        z: &'a mut [f64],
    },
}

fn dispatch(a: &Csr, x: &Dense, xc0: usize, b: usize, job: Job) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked above).
            return unsafe { run_avx512(a, x, xc0, b, job) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            return unsafe { run_avx2(a, x, xc0, b, job) };
        }
    }
    run(a, x, xc0, b, job)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn run_avx512(a: &Csr, x: &Dense, xc0: usize, b: usize, job: Job) {
    run(a, x, xc0, b, job)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2(a: &Csr, x: &Dense, xc0: usize, b: usize, job: Job) {
    run(a, x, xc0, b, job)
}

/// Σ_j a[r, j] x[j, c..c + W] with the W sums in registers.
#[inline(always)]
fn gather<const W: usize>(cols: &[u32], vals: &[f32], x: &[f64], ldx: usize, c: usize) -> [f64; W] {
    let mut acc = [0f64; W];
    for (&j, &v) in cols.iter().zip(vals) {
        let v = v as f64;
        let xr: &[f64; W] = x[j as usize * ldx + c..][..W].try_into().unwrap();
        for t in 0..W {
            acc[t] += v * xr[t];
        }
    }
    acc
}

/// z[j, c..c + W] += a[r, j] y for the row's entries.
#[inline(always)]
fn scatter<const W: usize>(
    cols: &[u32],
    vals: &[f32],
    y: &[f64; W],
    z: &mut [f64],
    ldz: usize,
    c: usize,
) {
    for (&j, &v) in cols.iter().zip(vals) {
        let v = v as f64;
        let zr: &mut [f64; W] = (&mut z[j as usize * ldz + c..][..W]).try_into().unwrap();
        for t in 0..W {
            zr[t] += v * y[t];
        }
    }
}

/// The width of the next panel of columns from `c` of `b`: 32, 16, 8 or 1, so the sums of a
/// panel stay in registers.
#[inline(always)]
fn panel(b: usize, c: usize) -> usize {
    match b - c {
        r if r >= 32 => 32,
        r if r >= 16 => 16,
        r if r >= 8 => 8,
        _ => 1,
    }
}

// No closures below: a closure is its own function and would not inherit the target
// features of the `run_*` wrappers this is inlined into.
#[inline(always)]
fn run(a: &Csr, x: &Dense, xc0: usize, b: usize, job: Job) {
    let (ldx, xd) = (x.ld, &x.data[..]);
    match job {
        Job::Spmm { r0, rows, ldo, oc0 } => {
            for (i, orow) in rows.chunks_exact_mut(ldo).enumerate() {
                let (cols, vals) = a.row(r0 + i);
                let mut c = 0;
                while c < b {
                    let w = panel(b, c);
                    let o = &mut orow[oc0 + c..oc0 + c + w];
                    match w {
                        32 => o.copy_from_slice(&gather::<32>(cols, vals, xd, ldx, xc0 + c)),
                        16 => o.copy_from_slice(&gather::<16>(cols, vals, xd, ldx, xc0 + c)),
                        8 => o.copy_from_slice(&gather::<8>(cols, vals, xd, ldx, xc0 + c)),
                        _ => o.copy_from_slice(&gather::<1>(cols, vals, xd, ldx, xc0 + c)),
                    }
                    c += w;
                }
            }
        }
        Job::Gram { r0, r1, z } => {
            for r in r0..r1 {
                let (cols, vals) = a.row(r);
                let mut c = 0;
                while c < b {
                    let w = panel(b, c);
                    match w {
                        32 => scatter::<32>(
                            cols,
                            vals,
                            &gather::<32>(cols, vals, xd, ldx, xc0 + c),
                            z,
                            b,
                            c,
                        ),
                        16 => scatter::<16>(
                            cols,
                            vals,
                            &gather::<16>(cols, vals, xd, ldx, xc0 + c),
                            z,
                            b,
                            c,
                        ),
                        8 => scatter::<8>(
                            cols,
                            vals,
                            &gather::<8>(cols, vals, xd, ldx, xc0 + c),
                            z,
                            b,
                            c,
                        ),
                        _ => scatter::<1>(
                            cols,
                            vals,
                            &gather::<1>(cols, vals, xd, ldx, xc0 + c),
                            z,
                            b,
                            c,
                        ),
                    }
                    c += w;
                }
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
