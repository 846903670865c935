//! Cosine similarity of one vector with every row of a factor matrix (similar items).

/// Cosine of `q` with every row of `f` (row-major, q.len() columns); rows or a `q` of norm 0
/// score -inf, which top-K skips. Compiled for AVX2 where available, bitwise the same.
pub fn cosine_scores(q: &[f32], f: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { cosine_scores_avx2(q, f, out) };
        }
    }
    cosine_body(q, f, out)
}

/// The same sums as [`dot2`], eight lanes per register: lane l adds the products of elements
/// l, l + 8, ... with a separate multiply and add (no FMA), then the lanes and the tail are
/// combined exactly as `dot2` combines them, so every score is bitwise the portable one.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn cosine_scores_avx2(q: &[f32], f: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::*;
    let k = q.len();
    let chunks = k / 8;
    let qn = dot2(q, q).0.sqrt();
    let (mut lq, mut lv) = ([0f32; 8], [0f32; 8]);
    for (o, v) in out.iter_mut().zip(f.chunks_exact(k)) {
        let (mut aq, mut av) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        for c in 0..chunks {
            // SAFETY: c * 8 + 8 <= k = q.len() = v.len(); unaligned loads.
            let x = _mm256_loadu_ps(q.as_ptr().add(c * 8));
            let y = _mm256_loadu_ps(v.as_ptr().add(c * 8));
            aq = _mm256_add_ps(aq, _mm256_mul_ps(x, y));
            av = _mm256_add_ps(av, _mm256_mul_ps(y, y));
        }
        _mm256_storeu_ps(lq.as_mut_ptr(), aq);
        _mm256_storeu_ps(lv.as_mut_ptr(), av);
        let (mut tq, mut tv) = (0f32, 0f32);
        for j in chunks * 8..k {
            tq += q[j] * v[j];
            tv += v[j] * v[j];
        }
        let (qv, vv) = (reduce8(lq) + tq, reduce8(lv) + tv);
        let d = qn * vv.sqrt();
        *o = if d > 0.0 { qv / d } else { f32::NEG_INFINITY };
    }
}

#[inline(always)]
fn cosine_body(q: &[f32], f: &[f32], out: &mut [f32]) {
    let k = q.len();
    let qn = dot2(q, q).0.sqrt();
    for (o, v) in out.iter_mut().zip(f.chunks_exact(k)) {
        let (qv, vv) = dot2(q, v);
        let d = qn * vv.sqrt();
        *o = if d > 0.0 { qv / d } else { f32::NEG_INFINITY };
    }
}

/// (q·v, v·v) in one pass, eight lanes each, reduced in a fixed order.
#[inline(always)]
fn dot2(q: &[f32], v: &[f32]) -> (f32, f32) {
    let n = q.len().min(v.len());
    let (q, v) = (&q[..n], &v[..n]);
    let (mut qv, mut vv) = ([0f32; 8], [0f32; 8]);
    let chunks = n / 8;
    for c in 0..chunks {
        let (x, y) = (&q[c * 8..c * 8 + 8], &v[c * 8..c * 8 + 8]);
        for l in 0..8 {
            qv[l] += x[l] * y[l];
            vv[l] += y[l] * y[l];
        }
    }
    let (mut tq, mut tv) = (0f32, 0f32);
    for j in chunks * 8..n {
        tq += q[j] * v[j];
        tv += v[j] * v[j];
    }
    (reduce8(qv) + tq, reduce8(vv) + tv)
}

#[inline(always)]
fn reduce8(a: [f32; 8]) -> f32 {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::dot;
    use crate::rng::SplitMix64;

    #[test]
    fn cosine_scores_match_the_definition_and_the_portable_build() {
        let k = 21;
        let mut g = SplitMix64::new(4);
        let mut f: Vec<f32> = (0..40 * k).map(|_| g.next_f32() - 0.5).collect();
        f[3 * k..4 * k].fill(0.0); // a zero row scores -inf
        let q: Vec<f32> = (0..k).map(|_| g.next_f32() - 0.5).collect();
        let (mut a, mut b) = (vec![0f32; 40], vec![0f32; 40]);
        cosine_scores(&q, &f, &mut a);
        cosine_body(&q, &f, &mut b);
        assert_eq!(a, b);
        assert_eq!(a[3], f32::NEG_INFINITY);
        for (i, s) in a.iter().enumerate().filter(|(i, _)| *i != 3) {
            let v = &f[i * k..i * k + k];
            let want = dot(&q, v) / (dot(&q, &q).sqrt() * dot(v, v).sqrt());
            assert!((s - want).abs() < 1e-5, "{i}: {s} vs {want}");
        }
        let mut z = vec![0f32; 40];
        cosine_scores(&vec![0.0; k], &f, &mut z);
        assert!(z.iter().all(|s| *s == f32::NEG_INFINITY));
    }
}
