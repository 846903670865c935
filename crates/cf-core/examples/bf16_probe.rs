//! Is a bfloat16 first pass worth it on this CPU? The top-K kernel's register tile (8 queries
//! x 2 panels of 16 items, 64 factors) with f32 FMA against the same tile with AVX-512 BF16
//! `vdpbf16ps` (two factors per 32-bit lane), one core, data in L1/L2.
//! `cargo run --release -p cf-core --example bf16_probe` (x86-64 with AVX-512 BF16 only).
//! Measured 2026-11-30 on the 2-core Xeon: f32 160, bf16 113 GFLOP/s-equivalent.

#![allow(clippy::needless_range_loop)]

#[cfg(target_arch = "x86_64")]
mod probe {
    use std::arch::x86_64::*;
    use std::time::Instant;

    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn kernel_bf16(
        panels: &[u32],
        q: &[u32],
        nq: usize,
        fp: usize,
        np: usize,
        out: &mut [f32],
    ) {
        // panels: np panels x fp pairs x 16 lanes (u32 = 2 bf16); q: nq x fp pairs (u32)
        let mut u = 0;
        while u < nq {
            let mut p = 0;
            while p < np {
                let mut acc = [[_mm512_setzero_ps(); 2]; 8];
                let b0 = panels.as_ptr().add(p * fp * 16);
                let b1 = panels.as_ptr().add((p + 1) * fp * 16);
                for j in 0..fp {
                    let y0: __m512bh =
                        std::mem::transmute(_mm512_loadu_si512(b0.add(j * 16) as *const _));
                    let y1: __m512bh =
                        std::mem::transmute(_mm512_loadu_si512(b1.add(j * 16) as *const _));
                    for uu in 0..8 {
                        let x: __m512bh = std::mem::transmute(_mm512_set1_epi32(
                            *q.get_unchecked((u + uu) * fp + j) as i32,
                        ));
                        acc[uu][0] = _mm512_dpbf16_ps(acc[uu][0], x, y0);
                        acc[uu][1] = _mm512_dpbf16_ps(acc[uu][1], x, y1);
                    }
                }
                for uu in 0..8 {
                    _mm512_storeu_ps(out.as_mut_ptr().add(uu * 32), acc[uu][0]);
                    _mm512_storeu_ps(out.as_mut_ptr().add(uu * 32 + 16), acc[uu][1]);
                }
                p += 2;
            }
            u += 8;
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn kernel_f32(
        panels: &[f32],
        q: &[f32],
        nq: usize,
        f: usize,
        np: usize,
        out: &mut [f32],
    ) {
        let mut u = 0;
        while u < nq {
            let mut p = 0;
            while p < np {
                let mut acc = [[_mm512_setzero_ps(); 2]; 8];
                let b0 = panels.as_ptr().add(p * f * 16);
                let b1 = panels.as_ptr().add((p + 1) * f * 16);
                for j in 0..f {
                    let y0 = _mm512_loadu_ps(b0.add(j * 16));
                    let y1 = _mm512_loadu_ps(b1.add(j * 16));
                    for uu in 0..8 {
                        let x = _mm512_set1_ps(*q.get_unchecked((u + uu) * f + j));
                        acc[uu][0] = _mm512_fmadd_ps(x, y0, acc[uu][0]);
                        acc[uu][1] = _mm512_fmadd_ps(x, y1, acc[uu][1]);
                    }
                }
                for uu in 0..8 {
                    _mm512_storeu_ps(out.as_mut_ptr().add(uu * 32), acc[uu][0]);
                    _mm512_storeu_ps(out.as_mut_ptr().add(uu * 32 + 16), acc[uu][1]);
                }
                p += 2;
            }
            u += 8;
        }
    }

    pub fn main() {
        if !is_x86_feature_detected!("avx512bf16") {
            println!("this CPU has no AVX-512 BF16");
            return;
        }
        let f = 64;
        let np = 32;
        let nq = 512;
        let pf: Vec<f32> = (0..np * f * 16).map(|i| (i % 7) as f32 * 0.1).collect();
        let qf: Vec<f32> = (0..nq * f).map(|i| (i % 5) as f32 * 0.1).collect();
        let pb: Vec<u32> = (0..np * f / 2 * 16)
            .map(|i| 0x3f80_3f80 + (i as u32 % 3))
            .collect();
        let qb: Vec<u32> = (0..nq * f / 2)
            .map(|i| 0x3f80_3f80 + (i as u32 % 3))
            .collect();
        let mut out = vec![0f32; 256];
        let reps = 400;
        for _ in 0..2 {
            let t = Instant::now();
            for _ in 0..reps {
                unsafe { kernel_f32(&pf, &qf, nq, f, np, &mut out) }
            }
            let s = t.elapsed().as_secs_f64();
            let pairs = (reps * nq * np * 16) as f64;
            println!(
                "f32: {:.0} GF/s-equivalent ({})",
                2.0 * f as f64 * pairs / s / 1e9,
                out[3]
            );
            let t = Instant::now();
            for _ in 0..reps {
                unsafe { kernel_bf16(&pb, &qb, nq, f / 2, np, &mut out) }
            }
            let s = t.elapsed().as_secs_f64();
            println!(
                "bf16: {:.0} GF/s-equivalent ({})",
                2.0 * f as f64 * pairs / s / 1e9,
                out[3]
            );
        }
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    probe::main();
}
