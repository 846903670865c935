use super::dot;

/// Factor a symmetric positive definite row-major k x k matrix in place: on success its lower
/// triangle holds L with A = L Lᵀ. Returns false when A is not positive definite.
///
/// Row-oriented so every inner product runs over two contiguous row prefixes (vectorised `dot`).
pub fn cholesky_in_place(a: &mut [f32], k: usize) -> bool {
    for i in 0..k {
        for j in 0..=i {
            let (head, tail) = a.split_at_mut(i * k);
            let row_i = &tail[..k];
            let row_j: &[f32] = if j == i {
                row_i
            } else {
                &head[j * k..j * k + k]
            };
            let s = row_i[j] - dot(&row_i[..j], &row_j[..j]);
            if j == i {
                if !(s > 0.0) || !s.is_finite() {
                    return false;
                }
                tail[j] = s.sqrt();
            } else {
                tail[j] = s / head[j * k + j];
            }
        }
    }
    true
}

/// Solve L Lᵀ x = b in place, given the factor from `cholesky_in_place`.
pub fn cholesky_solve(l: &[f32], k: usize, b: &mut [f32]) {
    for i in 0..k {
        let s = b[i] - dot(&l[i * k..i * k + i], &b[..i]);
        b[i] = s / l[i * k + i];
    }
    // Lᵀ x = y: column access of L, done as axpys over rows to stay contiguous.
    for i in (0..k).rev() {
        b[i] /= l[i * k + i];
        let xi = b[i];
        for p in 0..i {
            b[p] -= l[i * k + p] * xi;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_known_system() {
        // A = [[4,2],[2,3]], x = [1,2] -> b = [8,8]
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        assert!(cholesky_in_place(&mut a, 2));
        let mut b = vec![8.0, 8.0];
        cholesky_solve(&a, 2, &mut b);
        approx::assert_abs_diff_eq!(b[0], 1.0, epsilon = 1e-5);
        approx::assert_abs_diff_eq!(b[1], 2.0, epsilon = 1e-5);
    }

    #[test]
    fn solves_a_larger_spd_system() {
        let k = 9;
        // A = M Mᵀ + I is SPD.
        let m: Vec<f32> = (0..k * k)
            .map(|i| ((i * 29 % 17) as f32 - 8.0) / 8.0)
            .collect();
        let mut a = vec![0f32; k * k];
        for i in 0..k {
            for j in 0..k {
                a[i * k + j] = (0..k).map(|p| m[i * k + p] * m[j * k + p]).sum::<f32>()
                    + if i == j { 1.0 } else { 0.0 };
            }
        }
        let x: Vec<f32> = (0..k).map(|i| i as f32 - 4.0).collect();
        let mut b: Vec<f32> = (0..k)
            .map(|i| (0..k).map(|j| a[i * k + j] * x[j]).sum())
            .collect();
        let mut l = a.clone();
        assert!(cholesky_in_place(&mut l, k));
        cholesky_solve(&l, k, &mut b);
        for i in 0..k {
            approx::assert_abs_diff_eq!(b[i], x[i], epsilon = 1e-3);
        }
    }

    #[test]
    fn rejects_indefinite() {
        let mut a = vec![1.0, 2.0, 2.0, 1.0];
        assert!(!cholesky_in_place(&mut a, 2));
    }
}
