use faer::Mat;

use super::*;
use crate::rng::SplitMix64;

fn random_csr(m: usize, n: usize, density: f64, seed: u64) -> Csr {
    let mut g = SplitMix64::new(seed);
    let (mut r, mut c, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..m {
        for j in 0..n {
            if (g.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= density {
                r.push(i as u32);
                c.push(j as u32);
                v.push(1.0 + 4.0 * g.next_f32());
            }
        }
    }
    Csr::from_coo(m, n, &r, &c, &v).unwrap()
}

fn dense(a: &Csr, centering: Centering) -> Mat<f64> {
    let mut d = Mat::<f64>::zeros(a.n_rows, a.n_cols);
    for i in 0..a.n_rows {
        let (cols, vals) = a.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            d[(i, j as usize)] = v as f64;
        }
    }
    // The reference centres the dense matrix directly, from its own means.
    let (m, n) = (a.n_rows, a.n_cols);
    match centering {
        Centering::None => {}
        Centering::Global => {
            let mu: f64 = (0..m)
                .flat_map(|i| (0..n).map(move |j| (i, j)))
                .map(|(i, j)| d[(i, j)])
                .sum::<f64>()
                / (m * n) as f64;
            for i in 0..m {
                for j in 0..n {
                    d[(i, j)] -= mu;
                }
            }
        }
        Centering::Rows => {
            for i in 0..m {
                let mu = (0..n).map(|j| d[(i, j)]).sum::<f64>() / n as f64;
                for j in 0..n {
                    d[(i, j)] -= mu;
                }
            }
        }
        Centering::Columns => {
            for j in 0..n {
                let mu = (0..m).map(|i| d[(i, j)]).sum::<f64>() / m as f64;
                for i in 0..m {
                    d[(i, j)] -= mu;
                }
            }
        }
    }
    d
}

struct Reference {
    values: Vec<f64>,
    u: Mat<f64>,
    v: Mat<f64>,
    total: f64,
}

fn reference(d: &Mat<f64>) -> Reference {
    let svd = d.as_ref().svd().unwrap();
    let s = svd.S().column_vector();
    let mut order: Vec<usize> = (0..s.nrows()).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    let p = order.len();
    let mut u = Mat::<f64>::zeros(d.nrows(), p);
    let mut v = Mat::<f64>::zeros(d.ncols(), p);
    for (c, &i) in order.iter().enumerate() {
        for r in 0..d.nrows() {
            u[(r, c)] = svd.U()[(r, i)];
        }
        for r in 0..d.ncols() {
            v[(r, c)] = svd.V()[(r, i)];
        }
    }
    let total = (0..d.nrows())
        .flat_map(|i| (0..d.ncols()).map(move |j| (i, j)))
        .map(|(i, j)| d[(i, j)] * d[(i, j)])
        .sum();
    Reference {
        values: order.iter().map(|&i| s[i]).collect(),
        u,
        v,
        total,
    }
}

/// Cosine of the largest principal angle between span(got) (row-major rows x k) and the
/// first k columns of `want`: the smallest singular value of wantᵀ got.
fn subspace_cos(got: &[f64], want: &Mat<f64>, k: usize) -> f64 {
    let rows = want.nrows();
    let g = Mat::<f64>::from_fn(rows, k, |r, c| got[r * k + c]);
    let w = want.as_ref().subcols(0, k);
    let p = w.transpose() * &g;
    let s = p.as_ref().singular_values().unwrap();
    s.iter().copied().fold(f64::INFINITY, f64::min)
}

fn check_against_dense(a: &Csr, o: &SvdOptions, value_tol: f64, cos_tol: f64) -> TruncatedSvd {
    let got = truncated_svd(a, o).unwrap();
    let want = reference(&dense(a, o.centering));
    let k = o.k;
    for t in 0..k {
        let rel = (got.values[t] - want.values[t]).abs() / want.values[t];
        assert!(
            rel <= value_tol,
            "σ{t}: {} vs {} (rel {rel:e})",
            got.values[t],
            want.values[t]
        );
    }
    // Only meaningful where the k-th value is separated from the next.
    assert!(want.values[k - 1] > want.values[k] * (1.0 + 1e-6));
    let cu = subspace_cos(&got.u, &want.u, k);
    let cv = subspace_cos(&got.v, &want.v, k);
    assert!(1.0 - cu <= cos_tol && 1.0 - cv <= cos_tol, "cos {cu} {cv}");
    approx::assert_relative_eq!(got.total_squares, want.total, max_relative = 1e-10);
    for t in 0..k {
        approx::assert_relative_eq!(
            got.explained_variance_ratio[t],
            want.values[t] * want.values[t] / want.total,
            max_relative = 1e-8
        );
    }
    got
}

#[test]
fn lanczos_matches_a_dense_svd_on_tall_and_wide_matrices() {
    for (m, n, k, block) in [
        (300, 120, 10, 0),
        (80, 250, 12, 3),
        (400, 200, 30, 0),
        (150, 140, 5, 2),
    ] {
        let a = random_csr(m, n, 0.08, m as u64 * 31 + n as u64);
        let mut o = SvdOptions::new(k);
        o.block = block;
        let got = check_against_dense(&a, &o, 1e-10, 1e-10);
        // The basis is smaller than the side, so the test goes through restarts.
        let (_, maxdim, _) = lanczos::shape(k, m.min(n), block);
        assert!(maxdim < m.min(n));
        assert!(got.restarts > 0, "{m}x{n} k={k}: no restart");
    }
}

#[test]
fn singular_vectors_satisfy_the_definition() {
    let a = random_csr(200, 90, 0.1, 5);
    let k = 8;
    let s = truncated_svd(&a, &SvdOptions::new(k)).unwrap();
    let d = dense(&a, Centering::None);
    // A v = σ u for each triplet.
    for t in 0..k {
        for i in 0..a.n_rows {
            let av: f64 = (0..a.n_cols).map(|j| d[(i, j)] * s.v[j * k + t]).sum();
            approx::assert_abs_diff_eq!(
                av,
                s.values[t] * s.u[i * k + t],
                epsilon = 1e-9 * s.values[0]
            );
        }
    }
}

#[test]
fn centring_matches_a_densified_reference() {
    for centering in [Centering::Global, Centering::Rows, Centering::Columns] {
        for (m, n) in [(220, 100), (90, 180)] {
            let a = random_csr(m, n, 0.1, 7 + m as u64);
            let mut o = SvdOptions::new(9);
            o.centering = centering;
            check_against_dense(&a, &o, 1e-10, 1e-10);
            o.method = Method::Randomized;
            o.oversampling = m.min(n);
            o.power_iterations = 1;
            // A sketch as wide as the smaller side spans it: randomized is exact then.
            check_against_dense(&a, &o, 1e-9, 1e-9);
        }
    }
}

#[test]
fn randomized_is_close_with_power_iterations_and_improves_with_them() {
    let a = random_csr(500, 300, 0.05, 11);
    let want = reference(&dense(&a, Centering::None));
    let k = 10;
    let err = |q: usize| {
        let mut o = SvdOptions::new(k);
        o.method = Method::Randomized;
        o.power_iterations = q;
        let s = truncated_svd(&a, &o).unwrap();
        (0..k)
            .map(|t| (s.values[t] - want.values[t]).abs() / want.values[t])
            .fold(0f64, f64::max)
    };
    let (e0, e4) = (err(0), err(4));
    assert!(e4 < e0, "q=4 error {e4:e} is not below q=0's {e0:e}");
    assert!(e4 < 0.05, "q=4 error {e4:e}");
}

#[test]
fn the_same_seed_gives_the_same_bits_on_one_and_two_threads() {
    // Wide enough that dense products and the sparse pass split into several chunks.
    let a = random_csr(5000, 2600, 0.004, 3);
    for method in [Method::Lanczos, Method::Randomized] {
        for centering in [Centering::None, Centering::Columns] {
            let run = |threads| {
                let mut o = SvdOptions::new(8);
                o.method = method;
                o.centering = centering;
                o.threads = threads;
                truncated_svd(&a, &o).unwrap()
            };
            let (one, two) = (run(1), run(2));
            assert_eq!(one, two, "{method:?} {centering:?}");
        }
    }
}

#[test]
fn empty_rows_and_columns_get_zero_vectors() {
    // Exactly zero on the side the products reach (rows here); on the Gram side at the level
    // of the residual tolerance, since the random start had components there.
    // Rows 0..10 and columns 0..5 have no entries.
    let full = random_csr(100, 60, 0.15, 13);
    let (mut r, mut c, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for i in 10..100 {
        let (cols, vals) = full.row(i);
        for (&j, &x) in cols.iter().zip(vals) {
            if j >= 5 {
                r.push(i as u32);
                c.push(j);
                v.push(x);
            }
        }
    }
    let a = Csr::from_coo(100, 60, &r, &c, &v).unwrap();
    let k = 6;
    let s = check_against_dense(&a, &SvdOptions::new(k), 1e-10, 1e-10);
    assert!(s.u[..10 * k].iter().all(|&x| x == 0.0));
    for j in 0..5 {
        assert!(s.v[j * k..j * k + k].iter().all(|&x| x.abs() < 1e-8));
    }
}

#[test]
fn a_rank_deficient_matrix_gives_zero_values_past_its_rank() {
    // Rank 2: every row is a multiple of one of two patterns.
    let (m, n) = (120, 70);
    let (mut r, mut c, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..m {
        for j in 0..n {
            let on = if i % 2 == 0 { j % 3 == 0 } else { j % 5 == 1 };
            if on {
                r.push(i as u32);
                c.push(j as u32);
                v.push(1.0 + (i % 7) as f32);
            }
        }
    }
    let a = Csr::from_coo(m, n, &r, &c, &v).unwrap();
    let s = truncated_svd(&a, &SvdOptions::new(4)).unwrap();
    assert!(s.values[0] > 1.0 && s.values[1] > 1.0);
    assert_eq!(&s.values[2..], &[0.0, 0.0]);
    let k = 4;
    for t in 2..4 {
        assert!((0..m).all(|i| s.u[i * k + t] == 0.0));
    }
}

#[test]
fn bad_ranks_and_values_are_coded_errors_naming_them() {
    let a = random_csr(30, 20, 0.2, 1);
    for (k, needle) in [
        (0, "must be >= 1"),
        (20, "below min(users, items) = 20"),
        (25, "below min"),
    ] {
        let e = truncated_svd(&a, &SvdOptions::new(k)).unwrap_err();
        assert_eq!(e.code(), "ERR_CF_INVALID_ARG");
        assert!(
            e.to_string().starts_with("k: ") && e.to_string().contains(needle),
            "{e}"
        );
    }
    let big = Csr::empty(2000, 2000);
    let e = truncated_svd(&big, &SvdOptions::new(1001)).unwrap_err();
    assert!(e.to_string().contains("must be <= 1000"), "{e}");
    let mut nan = a.clone();
    nan.values[3] = f32::NAN;
    let e = truncated_svd(&nan, &SvdOptions::new(3)).unwrap_err();
    assert!(
        e.to_string().starts_with("values: value NaN at position 3"),
        "{e}"
    );
}

#[test]
fn the_zero_matrix_has_zero_values_and_vectors() {
    let a = Csr::empty(40, 30);
    let s = truncated_svd(&a, &SvdOptions::new(3)).unwrap();
    assert!(s.values.iter().all(|&x| x == 0.0));
    assert!(s.u.iter().all(|&x| x == 0.0));
    assert_eq!(s.explained_variance_ratio, vec![0.0; 3]);
}

#[test]
fn orthonormalize_handles_a_block_inside_the_basis() {
    use super::ops::Dense;
    use super::orth::{orthogonality_error, orthonormalize, Fresh};
    let n = 50;
    let mut q = Dense::zeros(n, 4);
    let mut g = SplitMix64::new(9);
    q.data.iter_mut().for_each(|x| *x = ops::normal(&mut g));
    let mut fresh = Fresh { seed: 1, count: 0 };
    orthonormalize(None, 0, &mut q, &mut fresh);
    // A block whose first column lies in span(q) and whose third repeats its second.
    let mut w = Dense::zeros(n, 3);
    for r in 0..n {
        w.data[r * 3] = q.data[r * 4] - 2.0 * q.data[r * 4 + 2];
        w.data[r * 3 + 1] = ops::normal(&mut g);
        w.data[r * 3 + 2] = w.data[r * 3 + 1];
    }
    orthonormalize(Some(&q), 4, &mut w, &mut fresh);
    let mut all = Dense::zeros(n, 7);
    all.copy_cols(0, &q, 0, 4);
    all.copy_cols(4, &w, 0, 3);
    assert!(orthogonality_error(all.cols(0, 7)) < 1e-12);
}
