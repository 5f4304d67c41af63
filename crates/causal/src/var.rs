//! The linear vector autoregression baseline of RecAD (spec §5 "VAR"): x_t = c + Σ_{k=1..p}
//! A_k x_{t−k} + u_t, fitted by ordinary least squares on all training series pooled (the
//! reference fits statsmodels' `VAR(...).fit(1)` on the first series only, spec §9 item 14 and
//! §10 item 11), with the lag order p chosen by Akaike's information criterion up to a maximum
//! (statsmodels' `aic = ln det Σ̂_u + 2·(p·d² + d)/n`, Σ̂_u the maximum-likelihood residual
//! covariance). Granger scores are the coefficient magnitudes in standardised units.

use remedy_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// VAR settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarConfig {
    /// Largest lag order considered.
    pub max_lag: usize,
    /// Choose p in 1..=max_lag by AIC (on the common sample that starts at `max_lag` in every
    /// series); when false, p = `max_lag`.
    pub select_by_aic: bool,
}

impl Default for VarConfig {
    /// Lag order 1 as in the reference (`VAR(train_x_norm[0]).fit(1)`, spec §5).
    fn default() -> Self {
        VarConfig {
            max_lag: 1,
            select_by_aic: true,
        }
    }
}

impl VarConfig {
    /// AIC selection of the lag order among 1..=`max_lag`.
    pub fn aic(max_lag: usize) -> Self {
        VarConfig {
            max_lag,
            select_by_aic: true,
        }
    }

    /// Fits the VAR on `train` series (each a list of time steps of d values, raw units).
    /// Every series must have more than `max_lag` steps, the same number of variables and
    /// finite values.
    pub fn fit(&self, train: &[Vec<Vec<f64>>]) -> Result<Var> {
        if self.max_lag == 0 {
            return Err(Error::invalid("VAR max_lag must be at least 1"));
        }
        let d = check_series(train, self.max_lag + 1, "VAR training")?;
        let (_, std) = population_stats(train, d);
        let (lag, aic) = if self.select_by_aic && self.max_lag > 1 {
            let aic: Vec<f64> = (1..=self.max_lag)
                .map(|p| ols(train, d, p, self.max_lag).map(|f| f.aic))
                .collect::<Result<_>>()?;
            let best = aic
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .map_or(1, |(i, _)| i + 1);
            (best, aic)
        } else {
            let f = ols(train, d, self.max_lag, self.max_lag)?;
            (self.max_lag, vec![f.aic])
        };
        let fit = ols(train, d, lag, lag)?;
        tracing::info!(lag, n_obs = fit.n_obs, "VAR fitted");
        Ok(Var {
            dim: d,
            lag,
            intercept: fit.intercept,
            coefficients: fit.coefficients,
            sigma: fit.sigma,
            std,
            aic,
            n_obs: fit.n_obs,
        })
    }
}

/// A fitted VAR(p) with intercept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Var {
    dim: usize,
    lag: usize,
    intercept: Vec<f64>,
    coefficients: Vec<Vec<Vec<f64>>>,
    sigma: Vec<Vec<f64>>,
    std: Vec<f64>,
    aic: Vec<f64>,
    n_obs: usize,
}

impl Var {
    /// Number of variables d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The lag order p in use.
    pub fn lag(&self) -> usize {
        self.lag
    }

    /// The intercept c.
    pub fn intercept(&self) -> &[f64] {
        &self.intercept
    }

    /// The coefficient matrices: `coefficients()[k − 1][i][j]` is the effect of x^{(j)}_{t−k}
    /// on x^{(i)}_t (row = target, column = source).
    pub fn coefficients(&self) -> &[Vec<Vec<f64>>] {
        &self.coefficients
    }

    /// The maximum-likelihood residual covariance Σ̂_u (divided by the number of observations).
    pub fn residual_covariance(&self) -> &[Vec<f64>] {
        &self.sigma
    }

    /// AIC of each candidate order 1..=max_lag on the common sample (one value when the order
    /// was fixed).
    pub fn aic(&self) -> &[f64] {
        &self.aic
    }

    /// Number of regression rows of the final fit.
    pub fn n_obs(&self) -> usize {
        self.n_obs
    }

    /// The one-step prediction x̂_t = c + Σ_k A_k x_{t−k} after the last row of `window`
    /// (which needs at least p rows of d finite values).
    pub fn predict_next(&self, window: &[Vec<f64>]) -> Result<Vec<f64>> {
        check_window(window, self.lag, self.dim, "VAR")?;
        let n = window.len();
        let mut out = self.intercept.clone();
        for (k, a) in self.coefficients.iter().enumerate() {
            let x = &window[n - 1 - k];
            for (o, row) in out.iter_mut().zip(a) {
                *o += row.iter().zip(x).map(|(c, v)| c * v).sum::<f64>();
            }
        }
        Ok(out)
    }

    /// Granger scores `[target][source]`: max over lags of |A_k[i][j]|·s_j/s_i, the
    /// coefficient magnitude in units of the training standard deviations (so that variables
    /// on different scales compare).
    pub fn granger_scores(&self) -> Vec<Vec<f64>> {
        (0..self.dim)
            .map(|i| {
                (0..self.dim)
                    .map(|j| {
                        self.coefficients
                            .iter()
                            .map(|a| a[i][j].abs() * self.std[j] / self.std[i])
                            .fold(0.0, f64::max)
                    })
                    .collect()
            })
            .collect()
    }
}

/// The result of one least-squares fit.
struct OlsFit {
    intercept: Vec<f64>,
    coefficients: Vec<Vec<Vec<f64>>>,
    sigma: Vec<Vec<f64>>,
    aic: f64,
    n_obs: usize,
}

/// OLS of x_t on [1, x_{t−1}, …, x_{t−p}] for t ≥ `start` in every series (pooled).
fn ols(series: &[Vec<Vec<f64>>], d: usize, p: usize, start: usize) -> Result<OlsFit> {
    let m = 1 + d * p;
    // Normal equations [Z'Z | Z'Y].
    let mut a = vec![vec![0.0; m + d]; m];
    let mut z = vec![0.0; m];
    let mut n = 0usize;
    for s in series {
        for t in start..s.len() {
            z[0] = 1.0;
            for k in 1..=p {
                z[1 + (k - 1) * d..1 + k * d].copy_from_slice(&s[t - k]);
            }
            for r in 0..m {
                let zr = z[r];
                let row = &mut a[r];
                for c in 0..m {
                    row[c] += zr * z[c];
                }
                for (c, y) in s[t].iter().enumerate() {
                    row[m + c] += zr * y;
                }
            }
            n += 1;
        }
    }
    if n <= m {
        return Err(Error::invalid(format!(
            "VAR({p}) has {m} coefficients per equation but only {n} observations"
        )));
    }
    let b = solve(a, m, d).ok_or_else(|| {
        Error::invalid(format!(
            "VAR({p}) least squares is singular (a variable is constant or collinear)"
        ))
    })?;
    // Residual covariance.
    let mut sigma = vec![vec![0.0; d]; d];
    for s in series {
        for t in start..s.len() {
            let mut e = s[t].clone();
            for (i, ei) in e.iter_mut().enumerate() {
                *ei -= b[0][i];
                for k in 1..=p {
                    for (j, x) in s[t - k].iter().enumerate() {
                        *ei -= b[1 + (k - 1) * d + j][i] * x;
                    }
                }
            }
            for i in 0..d {
                for j in 0..d {
                    sigma[i][j] += e[i] * e[j];
                }
            }
        }
    }
    for row in &mut sigma {
        for v in row.iter_mut() {
            *v /= n as f64;
        }
    }
    let logdet = log_det(&sigma).ok_or_else(|| {
        Error::invalid(format!(
            "VAR({p}) residual covariance is singular (a variable is perfectly predicted)"
        ))
    })?;
    let free = (p * d * d + d) as f64;
    let aic = logdet + 2.0 * free / n as f64;
    let intercept = b[0].clone();
    let coefficients = (1..=p)
        .map(|k| {
            (0..d)
                .map(|i| (0..d).map(|j| b[1 + (k - 1) * d + j][i]).collect())
                .collect()
        })
        .collect();
    Ok(OlsFit {
        intercept,
        coefficients,
        sigma,
        aic,
        n_obs: n,
    })
}

/// Solves the m×m system with `d` right-hand sides stored in `a` (m rows of m + d values) by
/// Gaussian elimination with partial pivoting; `None` when singular.
fn solve(mut a: Vec<Vec<f64>>, m: usize, d: usize) -> Option<Vec<Vec<f64>>> {
    let scale = (0..m).map(|i| a[i][i].abs()).fold(0.0, f64::max).max(1.0);
    for col in 0..m {
        let piv = (col..m).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[piv][col].abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, piv);
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r == col {
                continue;
            }
            let f = row[col] / pivot_row[col];
            if f != 0.0 {
                for (v, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    Some(
        (0..m)
            .map(|r| (0..d).map(|c| a[r][m + c] / a[r][r]).collect())
            .collect(),
    )
}

/// ln det of a symmetric positive-definite matrix by Cholesky; `None` when not positive
/// definite.
fn log_det(s: &[Vec<f64>]) -> Option<f64> {
    let n = s.len();
    let mut l = vec![vec![0.0; n]; n];
    let mut out = 0.0;
    for i in 0..n {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let v = s[i][i] - sum;
                if v <= 0.0 || !v.is_finite() {
                    return None;
                }
                l[i][i] = v.sqrt();
                out += 2.0 * l[i][i].ln();
            } else {
                l[i][j] = (s[i][j] - sum) / l[j][j];
            }
        }
    }
    Some(out)
}

/// Checks a set of series: at least one, every series at least `min_len` steps, every row the
/// same positive number of variables, all values finite. Returns d.
pub(crate) fn check_series(series: &[Vec<Vec<f64>>], min_len: usize, what: &str) -> Result<usize> {
    let first = series
        .iter()
        .flat_map(|s| s.first())
        .next()
        .ok_or_else(|| Error::invalid(format!("{what} needs at least one non-empty series")))?;
    let d = first.len();
    if d == 0 {
        return Err(Error::invalid(format!(
            "{what} series rows have no variables"
        )));
    }
    for (s, rows) in series.iter().enumerate() {
        if rows.len() < min_len {
            return Err(Error::invalid(format!(
                "{what} series {s} has {} steps, at least {min_len} are needed (lag order + 1)",
                rows.len()
            )));
        }
        check_rows(rows, d, &format!("{what} series {s}"))?;
    }
    Ok(d)
}

/// Every row has `d` finite values.
pub(crate) fn check_rows(rows: &[Vec<f64>], d: usize, what: &str) -> Result<()> {
    for (t, row) in rows.iter().enumerate() {
        if row.len() != d {
            return Err(Error::invalid(format!(
                "{what}, step {t} has {} variables, expected {d}",
                row.len()
            )));
        }
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "{what}, step {t}, variable {j} is not finite ({})",
                row[j]
            )));
        }
    }
    Ok(())
}

/// A prediction window: at least `lag` rows of `d` finite values.
pub(crate) fn check_window(window: &[Vec<f64>], lag: usize, d: usize, what: &str) -> Result<()> {
    if window.len() < lag {
        return Err(Error::invalid(format!(
            "{what} needs at least {lag} past steps (its lag order), the window has {}",
            window.len()
        )));
    }
    check_rows(window, d, &format!("{what} window"))
}

/// Pooled mean and population sd (ddof 0) of each variable over all steps of all series; a
/// variable with sd 0 keeps sd 1 (spec §2.3). Values must have been checked.
pub(crate) fn population_stats(series: &[Vec<Vec<f64>>], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut sum = vec![0.0; d];
    let mut n = 0usize;
    for row in series.iter().flatten() {
        for (acc, v) in sum.iter_mut().zip(row) {
            *acc += v;
        }
        n += 1;
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n.max(1) as f64).collect();
    let mut ss = vec![0.0; d];
    for row in series.iter().flatten() {
        for ((acc, v), m) in ss.iter_mut().zip(row).zip(&mean) {
            *acc += (v - m) * (v - m);
        }
    }
    let std = ss
        .iter()
        .map(|s| {
            let sd = (s / n.max(1) as f64).sqrt();
            if sd > 0.0 && sd.is_finite() { sd } else { 1.0 }
        })
        .collect();
    (mean, std)
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use rand::Rng;
    use remedy_core::seed;

    /// A N(0, sd²) draw (Box-Muller).
    fn normal(rng: &mut impl Rng, sd: f64) -> f64 {
        let u: f64 = 1.0 - rng.random::<f64>();
        let v: f64 = rng.random();
        sd * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Simulates `n` series of length `len` from x_t = c + Σ A_k x_{t−k} + N(0, 0.5²).
    fn simulate(
        c: &[f64],
        a: &[Vec<Vec<f64>>],
        n: usize,
        len: usize,
        seed_: u64,
    ) -> Vec<Vec<Vec<f64>>> {
        let mut rng = seed::rng(seed_);
        let d = c.len();
        (0..n)
            .map(|_| {
                let mut s: Vec<Vec<f64>> = Vec::new();
                for t in 0..len + 20 {
                    let mut x: Vec<f64> = (0..d).map(|i| c[i] + normal(&mut rng, 0.5)).collect();
                    for (k, ak) in a.iter().enumerate() {
                        if t > k {
                            let prev = &s[t - 1 - k];
                            for i in 0..d {
                                x[i] += (0..d).map(|j| ak[i][j] * prev[j]).sum::<f64>();
                            }
                        }
                    }
                    s.push(x);
                }
                s.split_off(20)
            })
            .collect()
    }

    #[test]
    fn recovers_var1_coefficients() {
        let a = vec![vec![
            vec![0.5, 0.0, 0.0],
            vec![0.3, -0.4, 0.0],
            vec![0.0, 0.6, 0.2],
        ]];
        let c = [1.0, -0.5, 0.2];
        let data = simulate(&c, &a, 100, 100, 11);
        let var = VarConfig::default().fit(&data).unwrap();
        assert_eq!(var.lag(), 1);
        for i in 0..3 {
            assert!(
                (var.intercept()[i] - c[i]).abs() < 0.05,
                "{:?}",
                var.intercept()
            );
            for j in 0..3 {
                let got = var.coefficients()[0][i][j];
                assert!((got - a[0][i][j]).abs() < 0.03, "A[{i}][{j}] = {got}");
            }
        }
        // Granger scores: true edges above every absent one (self-loops included).
        let s = var.granger_scores();
        let min_edge = (0..3)
            .flat_map(|i| (0..3).map(move |j| (i, j)))
            .filter(|&(i, j)| a[0][i][j] != 0.0)
            .map(|(i, j)| s[i][j])
            .fold(f64::INFINITY, f64::min);
        let max_none = (0..3)
            .flat_map(|i| (0..3).map(move |j| (i, j)))
            .filter(|&(i, j)| a[0][i][j] == 0.0)
            .map(|(i, j)| s[i][j])
            .fold(0.0, f64::max);
        assert!(min_edge > max_none, "{s:?}");
        // Prediction by hand.
        let w = vec![vec![9.0; 3], vec![1.0, 2.0, 3.0]];
        let p = var.predict_next(&w).unwrap();
        for i in 0..3 {
            let want = var.intercept()[i]
                + (0..3)
                    .map(|j| var.coefficients()[0][i][j] * w[1][j])
                    .sum::<f64>();
            assert!((p[i] - want).abs() < 1e-12);
        }
    }

    #[test]
    fn aic_picks_the_true_lag_of_a_var2() {
        let a = vec![
            vec![vec![0.4, 0.1], vec![0.0, 0.3]],
            vec![vec![-0.3, 0.0], vec![0.25, 0.2]],
        ];
        let data = simulate(&[0.0, 0.0], &a, 60, 100, 5);
        let var = VarConfig::aic(5).fit(&data).unwrap();
        assert_eq!(var.aic().len(), 5);
        assert_eq!(var.lag(), 2, "AIC {:?}", var.aic());
        assert!((var.coefficients()[1][0][0] + 0.3).abs() < 0.05);
        // A VAR(1) simulation is not given lag 2.
        let one = simulate(&[0.0, 0.0], &a[..1], 60, 100, 6);
        assert_eq!(VarConfig::aic(4).fit(&one).unwrap().lag(), 1);
    }

    #[test]
    fn linear_benchmark_granger_auroc() {
        use remedy_data::timeseries::{self, AnomalyType, TsBenchmark, TsConfig};
        let data = timeseries::generate(
            TsBenchmark::Linear,
            &TsConfig::new(1000, 0, AnomalyType::Point),
            &mut seed::rng(42),
        );
        let var = VarConfig::aic(3).fit(data.train()).unwrap();
        assert_eq!(var.lag(), 1, "AIC {:?}", var.aic());
        let s = var.granger_scores();
        let auroc = crate::gvar::granger_auroc(&s, data.graph(), false).unwrap();
        assert_eq!(auroc, 1.0, "{s:?}");
        let truth = data.coefficients().unwrap();
        for i in 0..4 {
            for j in 0..4 {
                let got = var.coefficients()[0][i][j];
                assert!((got - truth[i][j]).abs() < 0.03, "A[{i}][{j}] = {got}");
            }
        }
    }

    #[test]
    fn bad_input_is_refused() {
        let ok = vec![vec![vec![0.0, 1.0]; 10]];
        let e = VarConfig::aic(3)
            .fit(&[vec![vec![0.0, 1.0]; 3]])
            .unwrap_err();
        assert!(e.to_string().contains("at least 4"), "{e}");
        let mut nan = ok.clone();
        nan[0][4][1] = f64::NAN;
        assert!(
            VarConfig::default()
                .fit(&nan)
                .unwrap_err()
                .to_string()
                .contains("not finite")
        );
        let mut ragged = ok.clone();
        ragged[0][2] = vec![1.0];
        assert!(
            VarConfig::default()
                .fit(&ragged)
                .unwrap_err()
                .to_string()
                .contains("variables")
        );
        assert!(VarConfig::default().fit(&[]).is_err());
        // Constant data: singular, an error not a panic.
        assert!(VarConfig::default().fit(&ok).is_err());
        let mut rng = seed::rng(1);
        let good: Vec<Vec<Vec<f64>>> = (0..3)
            .map(|_| {
                (0..30)
                    .map(|_| vec![rng.random::<f64>(), rng.random()])
                    .collect()
            })
            .collect();
        let var = VarConfig::default().fit(&good).unwrap();
        assert!(
            var.predict_next(&[])
                .unwrap_err()
                .to_string()
                .contains("at least 1")
        );
        assert!(var.predict_next(&[vec![1.0]]).is_err());
        assert!(var.predict_next(&[vec![1.0, f64::INFINITY]]).is_err());
        let json = serde_json::to_string(&var).unwrap();
        let back: Var = serde_json::from_str(&json).unwrap();
        assert_eq!(back.lag(), var.lag());
    }
}
