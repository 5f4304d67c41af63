//! Small numeric helpers: the complementary error function, Cholesky factorisation and
//! Mahalanobis distances. Kept private; the crate has no statistics dependency.

pub(crate) use remedy_core::special::erfc;

/// The standard normal CDF `Φ(z) = erfc(−z/√2)/2` (used by the tests).
#[cfg(test)]
pub(crate) fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Two-sided standard normal tail `P(|Z| ≥ |z|) = 2·min(Φ(z), 1 − Φ(z)) = erfc(|z|/√2)`.
pub(crate) fn normal_two_sided_tail(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// Mean and Cholesky factor of the ridge-regularised covariance of values `start..start + k` of
/// each noise vector (ddof 1; `ridge · tr(Σ)/k` added to the diagonal, 1 in place of
/// `tr(Σ)/k` when the block is constant); `None` when not positive definite.
pub(crate) fn mean_and_cholesky(
    noise: &[Vec<f64>],
    start: usize,
    k: usize,
    ridge: f64,
) -> Option<(Vec<f64>, Vec<Vec<f64>>)> {
    let n = noise.len() as f64;
    let mut mean = vec![0.0; k];
    for u in noise {
        for (m, v) in mean.iter_mut().zip(&u[start..start + k]) {
            *m += v / n;
        }
    }
    let mut cov = vec![vec![0.0; k]; k];
    for u in noise {
        let d: Vec<f64> = u[start..start + k]
            .iter()
            .zip(&mean)
            .map(|(a, m)| a - m)
            .collect();
        for (row, di) in cov.iter_mut().zip(&d) {
            for (c, dj) in row.iter_mut().zip(&d) {
                *c += di * dj / (n - 1.0);
            }
        }
    }
    let trace: f64 = (0..k).map(|i| cov[i][i]).sum();
    let scale = if trace > 0.0 { trace / k as f64 } else { 1.0 };
    let eps = (ridge * scale).max(f64::MIN_POSITIVE);
    for (i, row) in cov.iter_mut().enumerate() {
        row[i] += eps;
    }
    Some((mean, cholesky(&cov)?))
}

/// Lower-triangular Cholesky factor `L` of the symmetric matrix `a` (`a = L Lᵀ`), or `None`
/// when `a` is not positive definite.
pub(crate) fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = a.len();
    let mut l = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..=i {
            let s = a[i][j]
                - l[i][..j]
                    .iter()
                    .zip(&l[j][..j])
                    .map(|(x, y)| x * y)
                    .sum::<f64>();
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Some(l)
}

/// The squared Mahalanobis distance of `x` from `mean` under `Σ = L Lᵀ`.
pub(crate) fn mahalanobis_sq_from(l: &[Vec<f64>], mean: &[f64], x: &[f64]) -> f64 {
    let d: Vec<f64> = x.iter().zip(mean).map(|(a, m)| a - m).collect();
    mahalanobis_sq(l, &d)
}

/// The squared Mahalanobis distances of values `start..start + k` of each noise vector from
/// `mean` under `Σ = L Lᵀ`, sorted ascending; `None` when one is not finite.
pub(crate) fn sorted_mahalanobis_sq(
    noise: &[Vec<f64>],
    start: usize,
    k: usize,
    mean: &[f64],
    l: &[Vec<f64>],
) -> Option<Vec<f64>> {
    let mut d2: Vec<f64> = noise
        .iter()
        .map(|u| mahalanobis_sq_from(l, mean, &u[start..start + k]))
        .collect();
    if d2.iter().any(|v| !v.is_finite()) {
        return None;
    }
    d2.sort_by(f64::total_cmp);
    Some(d2)
}

/// `‖L⁻¹ d‖²`, the squared Mahalanobis norm of `d` under `Σ = L Lᵀ` (forward substitution).
pub(crate) fn mahalanobis_sq(l: &[Vec<f64>], d: &[f64]) -> f64 {
    let k = l.len();
    let mut y = vec![0.0; k];
    let mut total = 0.0;
    for i in 0..k {
        let mut s = d[i];
        for p in 0..i {
            s -= l[i][p] * y[p];
        }
        y[i] = s / l[i][i];
        total += y[i] * y[i];
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_tabulated_values() {
        // erfc(1) = 0.157299207050285 and erfc(0.5) = 0.479500122186953: Abramowitz & Stegun,
        // Handbook of Mathematical Functions, Table 7.1 (erf(1) = 0.842700792949715,
        // erf(0.5) = 0.520499877813047).
        assert!((erfc(1.0) - 0.157_299_207_050_285).abs() < 1e-7 * 0.16);
        assert!((erfc(0.5) - 0.479_500_122_186_953).abs() < 1e-7 * 0.48);
        assert!((erfc(-1.0) - 1.842_700_792_949_715).abs() < 1e-7 * 1.85);
        assert!((erfc(0.0) - 1.0).abs() < 1.2e-7);
        // Φ(1.959964) = 0.975 (the familiar two-sided 5% point).
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_two_sided_tail(-1.959_964) - 0.05).abs() < 1e-6);
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn cholesky_and_mahalanobis() {
        // Σ = [[4, 2], [2, 3]]: L = [[2, 0], [1, √2]]; Σ⁻¹ = [[3, −2], [−2, 4]]/8, so
        // d = (1, 1) has d'Σ⁻¹d = (3 − 4 + 4)/8 = 3/8.
        let l = cholesky(&[vec![4.0, 2.0], vec![2.0, 3.0]]).unwrap();
        assert!((l[0][0] - 2.0).abs() < 1e-12 && (l[1][0] - 1.0).abs() < 1e-12);
        assert!((l[1][1] - 2f64.sqrt()).abs() < 1e-12);
        assert!((mahalanobis_sq(&l, &[1.0, 1.0]) - 0.375).abs() < 1e-12);
        assert!(cholesky(&[vec![1.0, 2.0], vec![2.0, 1.0]]).is_none());
    }
}
