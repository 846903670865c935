use super::*;
use crate::rng::SplitMix64;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut g = SplitMix64::new(seed);
    (0..n).map(|_| g.next_f32() * 2.0 - 1.0).collect()
}

/// Every kernel set this CPU runs, the portable one first.
fn isas() -> Vec<Isa> {
    let mut v = vec![Isa::Portable];
    if Isa::detect() != Isa::Portable {
        v.push(Isa::detect());
    }
    v
}

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn dots_and_accumulate_match_plain_loops() {
    for kp in [8, 16, 24, 64, 72, 128, 200] {
        for n in [0, 1, 3, 4, 5, 9, 70] {
            let rows = random(n * kp, 1 + kp as u64);
            let v = random(kp, 2);
            let coef = random(n, 3);
            let want: Vec<f32> = (0..n)
                .map(|j| {
                    (0..kp)
                        .map(|c| rows[j * kp + c] as f64 * v[c] as f64)
                        .sum::<f64>() as f32
                })
                .collect();
            let mut acc_want = random(kp, 4);
            let acc0 = acc_want.clone();
            for j in 0..n {
                for c in 0..kp {
                    acc_want[c] += coef[j] * rows[j * kp + c];
                }
            }
            for isa in isas() {
                let mut out = vec![0f32; n];
                isa.dots(&rows, kp, &v, &mut out);
                for j in 0..n {
                    assert!(
                        close(out[j], want[j], 1e-5),
                        "{isa:?} dots kp={kp} n={n} row {j}: {} vs {}",
                        out[j],
                        want[j]
                    );
                }
                let mut acc = acc0.clone();
                isa.accumulate(&rows, kp, &coef, &mut acc);
                for c in 0..kp {
                    assert!(
                        close(acc[c], acc_want[c], 1e-5),
                        "{isa:?} accumulate kp={kp} n={n} col {c}"
                    );
                }
            }
        }
    }
}

#[test]
fn syrk_fills_the_upper_triangle() {
    for kp in [8, 16, 24, 64, 136] {
        for n in [1, 5, 64, 65, 150] {
            let z = random(n * kp, 5 + n as u64);
            let base = random(kp * kp, 6);
            for isa in isas() {
                let mut a = base.clone();
                isa.syrk_upper(&z, n, kp, &mut a);
                for r in 0..kp {
                    for c in r..kp {
                        let want = base[r * kp + c] as f64
                            + (0..n)
                                .map(|j| z[j * kp + r] as f64 * z[j * kp + c] as f64)
                                .sum::<f64>();
                        assert!(
                            close(a[r * kp + c], want as f32, 1e-4),
                            "{isa:?} kp={kp} n={n} ({r},{c})"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn cholesky_solves_spd_systems_and_rejects_indefinite_ones() {
    for kp in [8, 16, 40, 64, 128] {
        // A = MᵀM + I (SPD), b = A x for a known x.
        let m = random(kp * kp, 7);
        let mut a = vec![0f32; kp * kp];
        for r in 0..kp {
            for c in 0..kp {
                let s: f64 = (0..kp)
                    .map(|t| m[t * kp + r] as f64 * m[t * kp + c] as f64)
                    .sum();
                a[r * kp + c] = s as f32 + if r == c { 1.0 } else { 0.0 };
            }
        }
        let x = random(kp, 8);
        let b: Vec<f32> = (0..kp)
            .map(|r| {
                (0..kp)
                    .map(|c| a[r * kp + c] as f64 * x[c] as f64)
                    .sum::<f64>() as f32
            })
            .collect();
        for isa in isas() {
            let mut f = a.clone();
            // The lower triangle is scratch: garbage there must not matter.
            for r in 0..kp {
                for c in 0..r {
                    f[r * kp + c] = f32::NAN;
                }
            }
            assert!(isa.cholesky(&mut f, kp), "{isa:?} kp={kp}");
            let mut sol = b.clone();
            isa.cholesky_solve(&f, kp, &mut sol);
            let err = sol
                .iter()
                .zip(&x)
                .map(|(s, t)| (s - t).abs())
                .fold(0f32, f32::max);
            assert!(err < 2e-2, "{isa:?} kp={kp}: max error {err}");
        }
    }
    for isa in isas() {
        let mut bad = vec![1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        bad.resize(64, 0.0);
        for d in 0..8 {
            bad[d * 8 + d] = 1.0;
        }
        bad[1] = 2.0; // [[1,2],[2,1]] block: indefinite
        bad[8] = 2.0;
        assert!(!isa.cholesky(&mut bad, 8), "{isa:?}");
    }
}

#[test]
fn scatter_pass_and_scatter_dots_match_plain_loops() {
    for (kp, f16_table) in [8, 16, 24, 64, 128]
        .into_iter()
        .flat_map(|kp| [(kp, false), (kp, true)])
    {
        let (n_rows, n_y) = (7usize, 5usize);
        // A float16 table holds the float32 values rounded; the reference reads those.
        let bits: Vec<u16> = random(n_y * kp, 10 + kp as u64)
            .into_iter()
            .map(|a| half::f16::from_f32(a).to_bits())
            .collect();
        let ys: Vec<f32> = if f16_table {
            bits.iter().map(|&h| f16_to_f32(h)).collect()
        } else {
            random(n_y * kp, 10 + kp as u64)
        };
        let table = if f16_table {
            Rows::F16(&bits)
        } else {
            Rows::F32(&ys)
        };
        let v = random(n_rows * kp, 11);
        let mut g = SplitMix64::new(12);
        let n = 40;
        let of: Vec<u32> = (0..n).map(|_| (g.next_u64() % n_y as u64) as u32).collect();
        let locals: Vec<u16> = (0..n)
            .map(|_| (g.next_u64() % n_rows as u64) as u16)
            .collect();
        let confs: Vec<f32> = (0..n).map(|_| 1.0 + 3.0 * g.next_f32()).collect();
        let active: Vec<bool> = (0..n_rows).map(|l| l != 3).collect();
        let out0 = random(n_rows * kp, 13);
        for residual in [false, true] {
            // In f64, entry by entry, from the definition.
            let mut want: Vec<f64> = out0.iter().map(|&a| a as f64).collect();
            for e in 0..n {
                let (l, r) = (locals[e] as usize, of[e] as usize);
                if !active[l] {
                    continue;
                }
                let s: f64 = (0..kp)
                    .map(|c| ys[r * kp + c] as f64 * v[l * kp + c] as f64)
                    .sum();
                let c = confs[e] as f64;
                let coef = if residual {
                    c - (c - 1.0) * s
                } else {
                    (c - 1.0) * s
                };
                for c in 0..kp {
                    want[l * kp + c] += coef * ys[r * kp + c] as f64;
                }
            }
            for isa in isas() {
                let mut out = out0.clone();
                let mut coef = vec![0f32; n];
                isa.scatter_pass(
                    table, kp, &of, &locals, &confs, &v, &mut out, residual, &active, &mut coef,
                );
                for (j, (&o, &w)) in out.iter().zip(&want).enumerate() {
                    assert!(
                        close(o, w as f32, 1e-4),
                        "{isa:?} kp={kp} f16_table={f16_table} residual={residual} at {j}: {o} vs {w}"
                    );
                }
                // Inactive rows are left alone.
                assert_eq!(out[3 * kp..4 * kp], out0[3 * kp..4 * kp]);
            }
        }
        // The dot products alone, 0 for the inactive row's entries.
        for isa in isas() {
            let mut dots = vec![f32::NAN; n];
            isa.scatter_dots(table, kp, &of, &locals, &v, &active, &mut dots);
            for e in 0..n {
                let (l, r) = (locals[e] as usize, of[e] as usize);
                let want: f64 = if active[l] {
                    (0..kp)
                        .map(|c| ys[r * kp + c] as f64 * v[l * kp + c] as f64)
                        .sum()
                } else {
                    0.0
                };
                assert!(
                    close(dots[e], want as f32, 1e-4),
                    "{isa:?} kp={kp} f16_table={f16_table} entry {e}: {} vs {want}",
                    dots[e]
                );
            }
        }
    }
}

#[test]
fn gather_dots_packs_the_named_rows_and_dots_them_with_v() {
    for k in [8, 12, 16, 24, 64, 128] {
        let kp = padded(k);
        let y = random(50 * k, 7 + k as u64);
        let v: Vec<f32> = random(k, 8)
            .into_iter()
            .chain(std::iter::repeat(0.0))
            .take(kp)
            .collect();
        // Out of order, repeated, first and last rows, and more than the prefetch distance.
        let cols: Vec<u32> = [
            49u32, 0, 7, 7, 31, 2, 18, 44, 5, 5, 12, 3, 9, 40, 21, 30, 11, 1, 48,
        ]
        .to_vec();
        for isa in isas() {
            let mut out = vec![0f32; cols.len() * kp];
            let mut dots = vec![f32::NAN; cols.len()];
            isa.gather_dots(&y, k, &cols, kp, &mut out, &v, &mut dots);
            let mut plain = vec![0f32; cols.len() * kp];
            isa.gather(&y, k, &cols, kp, &mut plain);
            assert_eq!(
                out, plain,
                "{isa:?} k={k}: gather_dots packs what gather packs"
            );
            for (j, &c) in cols.iter().enumerate() {
                let row = &y[c as usize * k..c as usize * k + k];
                assert_eq!(&out[j * kp..j * kp + k], row, "{isa:?} k={k} row {j}");
                assert!(out[j * kp + k..(j + 1) * kp].iter().all(|&p| p == 0.0));
                let want: f64 = row.iter().zip(&v).map(|(a, b)| *a as f64 * *b as f64).sum();
                assert!(
                    close(dots[j], want as f32, 1e-5),
                    "{isa:?} k={k} row {j}: {} vs {want}",
                    dots[j]
                );
            }
        }
    }
}

/// The float16 gathers widen exactly what `half` decodes (float16 → float32 is exact), at
/// every k including padded ones, and dot the widened rows like `gather_dots`.
#[test]
fn float16_gathers_widen_the_named_rows() {
    for k in [8, 12, 16, 24, 64, 128] {
        let kp = padded(k);
        // Values of both signs and magnitudes, some below float16's normal range.
        let y: Vec<u16> = random(50 * k, 17 + k as u64)
            .iter()
            .enumerate()
            .map(|(i, &a)| half::f16::from_f32(a * [1.0, 1e-3, 40.0, 1e-6][i % 4]).to_bits())
            .collect();
        let v: Vec<f32> = random(k, 8)
            .into_iter()
            .chain(std::iter::repeat(0.0))
            .take(kp)
            .collect();
        let cols: Vec<u32> = [
            49u32, 0, 7, 7, 31, 2, 18, 44, 5, 5, 12, 3, 9, 40, 21, 30, 11, 1, 48,
        ]
        .to_vec();
        for isa in isas() {
            let mut out = vec![0f32; cols.len() * kp];
            isa.gather16(&y, k, &cols, kp, &mut out);
            let mut fused = vec![0f32; cols.len() * kp];
            let mut dots = vec![f32::NAN; cols.len()];
            isa.gather_dots16(&y, k, &cols, kp, &mut fused, &v, &mut dots);
            assert_eq!(
                out, fused,
                "{isa:?} k={k}: gather_dots16 packs what gather16 packs"
            );
            for (j, &c) in cols.iter().enumerate() {
                let row: Vec<f32> = y[c as usize * k..c as usize * k + k]
                    .iter()
                    .map(|&h| half::f16::from_bits(h).to_f32())
                    .collect();
                assert_eq!(&out[j * kp..j * kp + k], &row[..], "{isa:?} k={k} row {j}");
                assert!(out[j * kp + k..(j + 1) * kp].iter().all(|&p| p == 0.0));
                let want: f64 = row.iter().zip(&v).map(|(a, b)| *a as f64 * *b as f64).sum();
                assert!(
                    close(dots[j], want as f32, 1e-5),
                    "{isa:?} k={k} row {j}: {} vs {want}",
                    dots[j]
                );
            }
        }
    }
}
