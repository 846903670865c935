//! The selection half of top-K: offer a row of scores to a [`Best`], touching only the
//! entries above its threshold. Once the heap is full almost every score is below it, so the
//! scan is a vector compare per 16 (AVX-512) or 8 (AVX2) scores and a branch; only entries
//! that pass go through the (slower) filter and heap.

use super::heap::Best;

/// Offer `scores[j]` as item `item(j)` for every j whose score reaches the threshold and that
/// `keep` admits; the heap's full order decides ties (the lower index), so `item` may come in
/// any order (the norm-ordered scan's does not increase). Non-finite scores never enter (NaN
/// fails every compare; +inf is checked).
#[inline]
pub fn scan(
    scores: &[f32],
    best: &mut Best,
    item: &impl Fn(usize) -> u32,
    keep: &mut impl FnMut(u32) -> bool,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            // SAFETY: the CPU has AVX-512F (checked once above).
            unsafe { scan_avx512(scores, best, item, keep) };
            return;
        }
        if has_avx2() {
            // SAFETY: the CPU has AVX (checked once above).
            unsafe { scan_avx2(scores, best, item, keep) };
            return;
        }
    }
    scan_scalar(scores, 0, best, item, keep)
}

#[inline]
fn take(
    j: usize,
    s: f32,
    best: &mut Best,
    item: &impl Fn(usize) -> u32,
    keep: &mut impl FnMut(u32) -> bool,
) {
    if s >= best.threshold() && s.is_finite() {
        let i = item(j);
        if keep(i) {
            best.offer(s, i);
        }
    }
}

fn scan_scalar(
    scores: &[f32],
    from: usize,
    best: &mut Best,
    item: &impl Fn(usize) -> u32,
    keep: &mut impl FnMut(u32) -> bool,
) {
    for (j, &s) in scores.iter().enumerate().skip(from) {
        if s >= best.threshold() {
            take(j, s, best, item, keep);
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    use std::sync::OnceLock;
    static YES: OnceLock<bool> = OnceLock::new();
    *YES.get_or_init(|| {
        std::env::var("CF_NATIVE_SIMD").map_or(true, |v| v != "portable")
            && is_x86_feature_detected!("avx512f")
    })
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    use std::sync::OnceLock;
    static YES: OnceLock<bool> = OnceLock::new();
    *YES.get_or_init(|| {
        std::env::var("CF_NATIVE_SIMD").map_or(true, |v| v != "portable")
            && is_x86_feature_detected!("avx")
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn scan_avx512(
    scores: &[f32],
    best: &mut Best,
    item: &impl Fn(usize) -> u32,
    keep: &mut impl FnMut(u32) -> bool,
) {
    use std::arch::x86_64::*;
    let n = scores.len() / 16 * 16;
    let p = scores.as_ptr();
    let mut thr = _mm512_set1_ps(best.threshold());
    let mut j = 0;
    while j < n {
        let v = _mm512_loadu_ps(p.add(j));
        let mut m = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(v, thr);
        if m != 0 {
            while m != 0 {
                let l = m.trailing_zeros() as usize;
                take(j + l, *p.add(j + l), best, item, keep);
                m &= m - 1;
            }
            thr = _mm512_set1_ps(best.threshold());
        }
        j += 16;
    }
    scan_scalar(scores, n, best, item, keep)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn scan_avx2(
    scores: &[f32],
    best: &mut Best,
    item: &impl Fn(usize) -> u32,
    keep: &mut impl FnMut(u32) -> bool,
) {
    use std::arch::x86_64::*;
    let n = scores.len() / 8 * 8;
    let p = scores.as_ptr();
    let mut thr = _mm256_set1_ps(best.threshold());
    let mut j = 0;
    while j < n {
        let v = _mm256_loadu_ps(p.add(j));
        let mut m = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GE_OQ>(v, thr)) as u32;
        if m != 0 {
            while m != 0 {
                let l = m.trailing_zeros() as usize;
                take(j + l, *p.add(j + l), best, item, keep);
                m &= m - 1;
            }
            thr = _mm256_set1_ps(best.threshold());
        }
        j += 8;
    }
    scan_scalar(scores, n, best, item, keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_and_scalar_scans_agree() {
        let mut s = 7u64;
        let scores: Vec<f32> = (0..1001)
            .map(|j| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                match j % 97 {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    _ => ((s >> 40) % 50) as f32,
                }
            })
            .collect();
        for k in [1, 5, 64, 2000] {
            let mut a = Best::new(k);
            scan(&scores, &mut a, &|j| j as u32, &mut |i| i % 3 != 0);
            let mut b = Best::new(k);
            scan_scalar(&scores, 0, &mut b, &|j| j as u32, &mut |i| i % 3 != 0);
            let (a, b) = (a.into_sorted(), b.into_sorted());
            assert_eq!(a, b);
            // Against a full sort of what is admitted.
            let mut all: Vec<(u32, f32)> = scores
                .iter()
                .enumerate()
                .filter(|(j, s)| s.is_finite() && j % 3 != 0)
                .map(|(j, &s)| (j as u32, s))
                .collect();
            all.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
            all.truncate(k);
            assert_eq!(a, all);
        }
    }
}
