//! Portable kernels: the reference for the vector ones and the fallback on other CPUs.
//! Eight partial sums per dot product, so LLVM can still vectorise them.

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_with(a, |x| x, b)
}

/// `dot` with `a`'s elements read through `to_f32` (float16 tables).
#[inline]
fn dot_with<T: Copy>(a: &[T], to_f32: impl Fn(T) -> f32, b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += to_f32(x[l]) * y[l];
        }
    }
    let tail: f32 = ta.iter().zip(tb).map(|(&x, y)| to_f32(x) * y).sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

pub fn dots(rows: &[f32], kp: usize, v: &[f32], out: &mut [f32]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = dot(&rows[j * kp..j * kp + kp], &v[..kp]);
    }
}

pub fn accumulate(rows: &[f32], kp: usize, coef: &[f32], acc: &mut [f32]) {
    for (j, &c) in coef.iter().enumerate() {
        for (a, &y) in acc[..kp].iter_mut().zip(&rows[j * kp..j * kp + kp]) {
            *a += c * y;
        }
    }
}

/// `gather` from float16 bit patterns.
pub fn gather16(y: &[u16], k: usize, cols: &[u32], kp: usize, out: &mut [f32]) {
    for (j, &c) in cols.iter().enumerate() {
        let c = c as usize;
        for (o, &h) in out[j * kp..j * kp + k].iter_mut().zip(&y[c * k..c * k + k]) {
            *o = half::f16::from_bits(h).to_f32();
        }
    }
}

pub fn syrk_upper(z: &[f32], n: usize, kp: usize, a: &mut [f32]) {
    for row in z[..n * kp].chunks_exact(kp) {
        for (i, &zi) in row.iter().enumerate() {
            if zi != 0.0 {
                for (d, &zj) in a[i * kp + i..i * kp + kp].iter_mut().zip(&row[i..]) {
                    *d += zi * zj;
                }
            }
        }
    }
}

/// Right-looking Cholesky on the upper triangle (A = Uᵀ U), like the vector kernel.
pub fn cholesky(a: &mut [f32], kp: usize) -> bool {
    for i in 0..kp {
        let d = a[i * kp + i];
        if !(d > 0.0) || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        let inv = 1.0 / d;
        let (head, tail) = a.split_at_mut((i + 1) * kp);
        let row = &mut head[i * kp..];
        row[i + 1..].iter_mut().for_each(|v| *v *= inv);
        row[i] = d;
        for r in i + 1..kp {
            let u = row[r];
            if u != 0.0 {
                let dst = &mut tail[(r - i - 1) * kp..(r - i) * kp];
                for c in r..kp {
                    dst[c] -= u * row[c];
                }
            }
        }
    }
    true
}

/// Solve Uᵀ U x = b in place with the factor from `cholesky`.
pub fn cholesky_solve(u: &[f32], kp: usize, b: &mut [f32]) {
    for i in 0..kp {
        let yi = b[i] / u[i * kp + i];
        b[i] = yi;
        for c in i + 1..kp {
            b[c] -= yi * u[i * kp + c];
        }
    }
    for i in (0..kp).rev() {
        let mut s = b[i];
        for c in i + 1..kp {
            s -= u[i * kp + c] * b[c];
        }
        b[i] = s / u[i * kp + i];
    }
}

#[allow(clippy::too_many_arguments)]
pub fn scatter_dots<T: Copy>(
    ys: &[T],
    to_f32: impl Fn(T) -> f32,
    kp: usize,
    of: &[u32],
    locals: &[u16],
    v: &[f32],
    active: &[bool],
    dots: &mut [f32],
) {
    for (e, &l) in locals.iter().enumerate() {
        let l = l as usize;
        dots[e] = if active[l] {
            dot_with(
                &ys[of[e] as usize * kp..][..kp],
                &to_f32,
                &v[l * kp..l * kp + kp],
            )
        } else {
            0.0
        };
    }
}

#[allow(clippy::too_many_arguments)]
pub fn scatter_pass<T: Copy>(
    ys: &[T],
    to_f32: impl Fn(T) -> f32,
    kp: usize,
    of: &[u32],
    locals: &[u16],
    confs: &[f32],
    v: &[f32],
    out: &mut [f32],
    residual: bool,
    active: &[bool],
    coef: &mut [f32],
) {
    for (e, (&l, &c)) in locals.iter().zip(confs).enumerate() {
        let l = l as usize;
        coef[e] = if active[l] {
            let s = dot_with(
                &ys[of[e] as usize * kp..][..kp],
                &to_f32,
                &v[l * kp..l * kp + kp],
            );
            if residual {
                c - (c - 1.0) * s
            } else {
                (c - 1.0) * s
            }
        } else {
            0.0
        };
    }
    for (e, &l) in locals.iter().enumerate() {
        let l = l as usize;
        if !active[l] {
            continue;
        }
        let yr = &ys[of[e] as usize * kp..][..kp];
        for (o, &y) in out[l * kp..l * kp + kp].iter_mut().zip(yr) {
            *o += coef[e] * to_f32(y);
        }
    }
}
