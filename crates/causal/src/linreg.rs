//! Ordinary least squares with an intercept, for the additive-noise model's linear mechanisms
//! (a linear fit extrapolates beyond the training range the way a linear mechanism does; a
//! ReLU network's extrapolation follows whatever slope its last active units had).

/// A fitted linear map `y = w·x + b` on `d` inputs; `coef` holds `w` then `b`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Linear {
    pub coef: Vec<f64>,
}

impl Linear {
    /// Least squares of `y` (n values) on `x` (n rows of `d` values, row-major), with a
    /// relative ridge of 1e-9 on the weights (not the intercept) so collinear inputs (one-hot
    /// groups) still solve. `None` when the system cannot be solved.
    pub fn fit(x: &[f32], y: &[f32], n: usize, d: usize) -> Option<Linear> {
        let k = d + 1;
        let mut a = vec![vec![0.0f64; k]; k];
        let mut b = vec![0.0f64; k];
        let mut row = vec![0.0f64; k];
        for r in 0..n {
            for (j, v) in x[r * d..(r + 1) * d].iter().enumerate() {
                row[j] = f64::from(*v);
            }
            row[d] = 1.0;
            let t = f64::from(y[r]);
            for (ai, (bi, ri)) in a.iter_mut().zip(b.iter_mut().zip(&row)) {
                *bi += ri * t;
                for (aij, rj) in ai.iter_mut().zip(&row) {
                    *aij += ri * rj;
                }
            }
        }
        let scale = (0..d).map(|i| a[i][i]).fold(0.0, f64::max).max(1.0);
        for (i, r) in a.iter_mut().enumerate().take(d) {
            r[i] += 1e-9 * scale;
        }
        solve(a, b).map(|coef| Linear { coef })
    }

    /// `w·x + b` for each of the `n` rows of `x`.
    pub fn predict(&self, x: &[f32], n: usize) -> Vec<f64> {
        let d = self.coef.len() - 1;
        (0..n)
            .map(|r| {
                x[r * d..(r + 1) * d]
                    .iter()
                    .zip(&self.coef)
                    .map(|(v, w)| f64::from(*v) * w)
                    .sum::<f64>()
                    + self.coef[d]
            })
            .collect()
    }
}

/// Solves `a z = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let k = b.len();
    for c in 0..k {
        let p = (c..k).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-300 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..k {
            let f = a[r][c] / a[c][c];
            if f != 0.0 {
                let (top, bottom) = a.split_at_mut(r);
                for (x, p) in bottom[0][c..].iter_mut().zip(&top[c][c..]) {
                    *x -= f * p;
                }
                b[r] -= f * b[c];
            }
        }
    }
    let mut z = vec![0.0; k];
    for c in (0..k).rev() {
        let s: f64 = (c + 1..k).map(|j| a[c][j] * z[j]).sum();
        z[c] = (b[c] - s) / a[c][c];
    }
    z.iter().all(|v| v.is_finite()).then_some(z)
}

/// Mean squared difference of `pred` and `y`.
pub(crate) fn mse(pred: &[f64], y: &[f32]) -> f64 {
    if y.is_empty() {
        return f64::INFINITY;
    }
    pred.iter()
        .zip(y)
        .map(|(p, t)| (p - f64::from(*t)).powi(2))
        .sum::<f64>()
        / y.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_exact_plane() {
        // y = 2·x0 − 3·x1 + 0.5 on a small grid: least squares is exact.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..5 {
            for j in 0..4 {
                x.extend([i as f32, j as f32 * 0.5]);
                y.push(2.0 * i as f32 - 3.0 * j as f32 * 0.5 + 0.5);
            }
        }
        let l = Linear::fit(&x, &y, 20, 2).unwrap();
        for (c, t) in l.coef.iter().zip([2.0, -3.0, 0.5]) {
            assert!((c - t).abs() < 1e-6, "{:?}", l.coef);
        }
        assert!(mse(&l.predict(&x, 20), &y) < 1e-10);
        // Far outside the grid the plane goes on: x = (100, −40) → 200 + 120 + 0.5.
        assert!((l.predict(&[100.0, -40.0], 1)[0] - 320.5).abs() < 1e-4);
    }

    #[test]
    fn collinear_inputs_still_solve() {
        // A one-hot pair (x0 + x1 = 1) is collinear with the intercept.
        let x: Vec<f32> = (0..10)
            .flat_map(|i| if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] })
            .collect();
        let y: Vec<f32> = (0..10)
            .map(|i| if i % 2 == 0 { 3.0 } else { 1.0 })
            .collect();
        let l = Linear::fit(&x, &y, 10, 2).unwrap();
        assert!(mse(&l.predict(&x, 10), &y) < 1e-8, "{:?}", l.coef);
    }
}
