//! Calibrated p-values of abducted noise, and the family-wise set rules that turn them into a
//! root-cause set a user can take as printed.
//!
//! # What the p-value means
//!
//! For a feature `i` and a row with abducted noise `u_i`, `p_i` is the probability that a
//! **normal** row's noise of that feature is at least as far from its median: for a one-value
//! block `p_i = P(|U − m| ≥ |u_i − m|)` with `m` the calibration median (two-sided; a skewed
//! noise, such as a latency's, is judged on its long side as it is, where
//! `2·min(P(U ≤ u), P(U ≥ u))` would double the long tail's probability because the short side
//! cannot go as far), and the upper tail of the Mahalanobis distance for a multi-value block
//! (VACA's latent), `p_i = P(D ≥ D(u_i))`. The
//! distribution of `U` is that of the noise of **held-out** normal rows (the calibration rows:
//! rows no network was trained on, so the residuals are not shrunk by over-fitting). Under
//! that reference a normal feature gets `P(p_i ≤ a) ≈ a`, which is what the family-wise rules
//! below need.
//!
//! # How it is computed
//!
//! A rank (conformal) p-value `(#{v ≥ u} + 1)/(n + 1)` cannot go below `1/(n + 1)`: with 10
//! candidates and α = 0.01 the Bonferroni threshold 0.001 would need 1,000 calibration rows,
//! and a root cause 8 sd off would look no stranger than the most extreme normal row. So the
//! calibration rows' statistic `v` (distance from the median, or Mahalanobis distance) is
//! split at its `m`-th largest value (`m = max(10, ⌈0.1·n⌉)`, at most `n/2`); for a row's
//! statistic `u`:
//!
//! - **Inside** (at most that threshold `t`): the rank p-value `(#{v ≥ u} + 1)/(n + 1)`.
//!   Distribution-free.
//! - **Beyond** `t`: peaks over threshold. The `m` excesses `v − t` are fitted with a
//!   generalised Pareto distribution by probability-weighted moments (Hosking & Wallis 1987,
//!   *Technometrics* 29(3): `ξ = 2 − a₀/(a₀ − 2a₁)`), its shape clipped to `0 ≤ ξ ≤ 0.5` and its
//!   scale `σ = a₀(1 − ξ)` set so the fitted mean excess is the observed one. Then
//!   `P(U ≥ u) = (m/n)·(1 + ξ(u − t)/σ)^(−1/ξ)` (`(m/n)·exp(−(u − t)/σ)` at `ξ = 0`). Clipping at
//!   `ξ = 0` means the tail is never taken lighter than exponential: a Gaussian or bounded
//!   noise gets a tail heavier than its own, so the p-values far out are conservative (larger
//!   than the truth), never falsely small; the Pickands–Balkema–de Haan theorem is why a GPD is
//!   the model of a tail at all.
//!
//! The p-value is continuous in `u` except for a small step at `t` (from `(m + 2)/(n + 1)` to
//! `m/n`), and non-increasing as `u` moves away from the centre.

use crate::block_offsets;
use crate::quantile::{check_noise, check_reference_inputs};
use crate::stats::{mahalanobis_sq_from, mean_and_cholesky, sorted_mahalanobis_sq};
use remedy_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Share of the calibration values in each fitted tail.
const TAIL_FRACTION: f64 = 0.1;
/// Fewest values in a fitted tail (when the calibration set allows).
const MIN_TAIL: usize = 10;
/// Per row, one `ln p` per fitted block.
pub type LogPValues = Vec<Vec<f64>>;

/// Fewest calibration rows in which a node must have been observed to be judged.
pub const MIN_OBSERVED: usize = 4;
/// Largest GPD shape accepted (heavier tails than this are taken as this).
const MAX_SHAPE: f64 = 0.5;

/// A generalised-Pareto upper tail beyond `threshold` holding a share `share` of the mass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpdTail {
    pub threshold: f64,
    pub share: f64,
    pub scale: f64,
    pub shape: f64,
}

impl GpdTail {
    /// Fits the tail to `excesses` (`v − threshold`, all ≥ 0) holding a share `share` of the
    /// mass (module docs).
    fn fit(threshold: f64, share: f64, excesses: &mut [f64]) -> GpdTail {
        excesses.sort_by(f64::total_cmp);
        let m = excesses.len() as f64;
        let a0 = excesses.iter().sum::<f64>() / m;
        // a₁ = (1/m) Σ (1 − p_i) y_(i), p_i = (i − 0.35)/m (Hosking & Wallis 1987, Eq. 6).
        let a1 = excesses
            .iter()
            .enumerate()
            .map(|(i, y)| (1.0 - (i as f64 + 1.0 - 0.35) / m) * y)
            .sum::<f64>()
            / m;
        let denom = a0 - 2.0 * a1;
        let shape = if denom > 0.0 && a0 > 0.0 {
            (2.0 - a0 / denom).clamp(0.0, MAX_SHAPE)
        } else {
            0.0
        };
        // A constant tail (every excess 0) keeps a tiny positive scale: anything beyond it is
        // then extremely unusual, which it is.
        let floor = 1e-12 * (1.0 + threshold.abs());
        GpdTail {
            threshold,
            share,
            scale: (a0 * (1.0 - shape)).max(floor),
            shape,
        }
    }

    /// `ln P(V ≥ v)` for `v ≥ threshold`, computed in logs so that it stays finite and
    /// strictly decreasing however far out `v` lies (where `P` underflows to 0).
    fn log_survival(&self, v: f64) -> f64 {
        let y = (v - self.threshold).max(0.0) / self.scale;
        let log_s = if self.shape > 1e-9 {
            -(self.shape * y).ln_1p() / self.shape
        } else {
            -y
        };
        self.share.ln() + log_s
    }

    /// `ln P(V ≥ v)` for `v ≥ threshold` under the exponential tail (`ξ = 0`) with the same
    /// threshold, share and mean excess: a ranking statistic that leaves the fitted shape
    /// out ([`PValueReference::ranking_log_pvalues`]).
    fn log_survival_exponential(&self, v: f64) -> f64 {
        let mean_excess = self.scale / (1.0 - self.shape);
        self.share.ln() - (v - self.threshold).max(0.0) / mean_excess
    }

    /// `P(V ≥ v)` for `v ≥ threshold`.
    fn survival(&self, v: f64) -> f64 {
        let y = (v - self.threshold).max(0.0) / self.scale;
        let s = if self.shape > 1e-9 {
            (1.0 + self.shape * y).powf(-1.0 / self.shape)
        } else {
            (-y).exp()
        };
        self.share * s
    }
}

/// The calibration rows' statistic, sorted, with the rank p-value inside its range and a GPD
/// tail beyond (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UpperTail {
    sorted: Vec<f64>,
    tail: GpdTail,
    /// Too few values to fit a tail (fewer than `2·MIN_TAIL`): the rank p-value everywhere,
    /// never below `1/(n + 1)`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    rank_only: bool,
}

impl UpperTail {
    /// The upper tail of `sorted` (ascending).
    fn fit(sorted: Vec<f64>) -> UpperTail {
        let n = sorted.len();
        let m = tail_size(n);
        let threshold = sorted[n - m - 1];
        let mut excesses: Vec<f64> = sorted[n - m..].iter().map(|v| v - threshold).collect();
        let tail = GpdTail::fit(threshold, m as f64 / n as f64, &mut excesses);
        UpperTail {
            rank_only: n < 2 * MIN_TAIL,
            sorted,
            tail,
        }
    }

    /// `ln P(V ≥ v)` under the calibration rows ([`GpdTail::log_survival`] beyond them).
    fn log_survival(&self, v: f64) -> f64 {
        if !self.rank_only && v > self.tail.threshold {
            return self.tail.log_survival(v);
        }
        self.survival(v).ln()
    }

    /// [`UpperTail::log_survival`] with the exponential tail beyond the calibration rows.
    fn ranking_log_survival(&self, v: f64) -> f64 {
        if !self.rank_only && v > self.tail.threshold {
            return self.tail.log_survival_exponential(v);
        }
        self.survival(v).ln()
    }

    /// `P(V ≥ v)` under the calibration rows.
    fn survival(&self, v: f64) -> f64 {
        if !self.rank_only && v > self.tail.threshold {
            return self.tail.survival(v);
        }
        let n = self.sorted.len();
        let at_or_above = n - self.sorted.partition_point(|x| *x < v);
        (at_or_above as f64 + 1.0) / (n as f64 + 1.0)
    }
}

/// Values in each fitted tail of a sample of `n` (module docs); `n ≥ 2`.
fn tail_size(n: usize) -> usize {
    let m = ((TAIL_FRACTION * n as f64).ceil() as usize).max(MIN_TAIL);
    m.min(n / 2).max(1).min(n - 1)
}

/// The calibration of one noise block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BlockCalibration {
    /// A one-value block: the calibration median and the tail of the calibration values'
    /// distances from it.
    Scalar { median: f64, upper: UpperTail },
    /// Observed in fewer than [`MIN_OBSERVED`] calibration rows (a column mostly empty in the
    /// normal data): nothing to judge it by, p-value 1.
    Unjudged { observed: usize },
    /// A multi-value block: mean and Cholesky factor of the ridge-regularised covariance and
    /// the tail of the calibration rows' Mahalanobis distances.
    Distance {
        mean: Vec<f64>,
        chol: Vec<Vec<f64>>,
        upper: UpperTail,
    },
}

/// Per-block p-value references fitted on the abducted noise of held-out normal rows (module
/// docs). A noise vector is the concatenation of per-node blocks of sizes `dims`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PValueReference {
    dims: Vec<usize>,
    blocks: Vec<usize>,
    calibrations: Vec<BlockCalibration>,
    rows: usize,
}

impl PValueReference {
    /// Fits the blocks `blocks` (node indices, the order of every result) of `dims` on the
    /// calibration noise `noise` (one held-out normal row's noise per entry); `ridge` is the
    /// relative covariance ridge of multi-value blocks (as [`crate::NoiseReference`]).
    pub fn fit(noise: &[Vec<f64>], dims: &[usize], blocks: &[usize], ridge: f64) -> Result<Self> {
        Self::fit_observed(noise, dims, blocks, ridge, None)
    }

    /// As [`PValueReference::fit`], each block calibrated only on the rows where its node was
    /// observed (`observed[r][node]`; an empty cell filled for the arithmetic is no sample of
    /// the node's normal noise). A node observed in fewer than [`MIN_OBSERVED`] rows gets
    /// p-value 1; one observed in fewer than 20 gets rank p-values only (no fitted tail, so
    /// never below `1/(n + 1)`).
    pub fn fit_observed(
        noise: &[Vec<f64>],
        dims: &[usize],
        blocks: &[usize],
        ridge: f64,
        observed: Option<&[Vec<bool>]>,
    ) -> Result<Self> {
        check_reference_inputs(
            noise,
            dims,
            blocks,
            ridge,
            (
                4,
                "calibrated p-values need at least 4 held-out normal rows",
            ),
            "calibration noise row",
        )?;
        let offsets = block_offsets(dims);
        let mut calibrations = Vec::with_capacity(blocks.len());
        for &b in blocks {
            let (start, k) = (offsets[b], dims[b]);
            let seen: Vec<Vec<f64>>;
            let noise: &[Vec<f64>] = match observed {
                Some(obs) => {
                    seen = noise
                        .iter()
                        .zip(obs)
                        .filter(|(_, o)| o[b])
                        .map(|(u, _)| u.clone())
                        .collect();
                    &seen
                }
                None => noise,
            };
            let calibration = match k {
                _ if noise.len() < MIN_OBSERVED => BlockCalibration::Unjudged {
                    observed: noise.len(),
                },
                0 => {
                    return Err(Error::invalid(format!(
                        "node {b} has no noise values, so it cannot be a root-cause candidate"
                    )));
                }
                1 => {
                    let mut values: Vec<f64> = noise.iter().map(|u| u[start]).collect();
                    values.sort_by(f64::total_cmp);
                    let m = values.len() / 2;
                    let median = if values.len().is_multiple_of(2) {
                        0.5 * (values[m - 1] + values[m])
                    } else {
                        values[m]
                    };
                    let mut sorted: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
                    sorted.sort_by(f64::total_cmp);
                    BlockCalibration::Scalar {
                        median,
                        upper: UpperTail::fit(sorted),
                    }
                }
                _ => distance_calibration(noise, start, k, ridge).ok_or_else(|| {
                    Error::invalid(format!(
                        "the covariance of node {b}'s {k}-value noise block is not positive \
                         definite even after the ridge; raise the ridge"
                    ))
                })?,
            };
            calibrations.push(calibration);
        }
        Ok(PValueReference {
            dims: dims.to_vec(),
            blocks: blocks.to_vec(),
            calibrations,
            rows: noise.len(),
        })
    }

    /// The fitted blocks (node indices), in the order of every per-block result.
    pub fn blocks(&self) -> &[usize] {
        &self.blocks
    }

    /// The noise block sizes, one per node.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The number of calibration rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The natural log of [`PValueReference::pvalues`], computed in logs: finite and strictly
    /// decreasing with the distance far beyond the calibration range, where the p-value
    /// itself underflows to 0. Ranking by it leaves no ties between features far out.
    pub fn log_pvalues(&self, noise: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        Ok(self.log_pvalues_and_ranking(noise)?.0)
    }

    /// A ranking statistic for comparing features: [`PValueReference::log_pvalues`] with
    /// every tail beyond the calibration rows taken exponential (`ξ = 0`, the fitted mean
    /// excess as its scale). Inside the calibration range it is the log p-value. Far beyond
    /// it, the fitted shapes (estimated from the 10% most extreme calibration rows, a dozen
    /// values when a hundred rows were held out) decide the order of two features by tens of
    /// orders of magnitude while saying little: with one shape for all, features far out are
    /// ordered by their distance in tail scales. The p-values keep their fitted tails.
    pub fn ranking_log_pvalues(&self, noise: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        Ok(self.log_pvalues_and_ranking(noise)?.1)
    }

    /// [`PValueReference::log_pvalues`] and [`PValueReference::ranking_log_pvalues`] in one
    /// pass: each block's distance is computed once.
    pub fn log_pvalues_and_ranking(&self, noise: &[Vec<f64>]) -> Result<(LogPValues, LogPValues)> {
        check_noise(noise, &self.dims, "noise row")?;
        let offsets = block_offsets(&self.dims);
        Ok(noise
            .iter()
            .map(|u| {
                self.blocks
                    .iter()
                    .zip(&self.calibrations)
                    .map(|(&b, c)| block_log_pvalues(c, &u[offsets[b]..offsets[b] + self.dims[b]]))
                    .unzip()
            })
            .unzip())
    }

    /// The p-value of each fitted block, per noise vector (module docs): the exponential
    /// of [`PValueReference::log_pvalues`].
    pub fn pvalues(&self, noise: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        Ok(self
            .log_pvalues(noise)?
            .into_iter()
            .map(|row| row.into_iter().map(f64::exp).collect())
            .collect())
    }
}

/// `ln p` of one block with the fitted tail beyond the calibration rows, and with the
/// exponential tail (the ranking statistic).
fn block_log_pvalues(c: &BlockCalibration, block: &[f64]) -> (f64, f64) {
    let (upper, v) = match c {
        BlockCalibration::Unjudged { .. } => return (0.0, 0.0),
        BlockCalibration::Scalar { median, upper } => (upper, (block[0] - median).abs()),
        BlockCalibration::Distance { mean, chol, upper } => {
            (upper, mahalanobis_sq_from(chol, mean, block).sqrt())
        }
    };
    (
        upper.log_survival(v).min(0.0),
        upper.ranking_log_survival(v).min(0.0),
    )
}

fn distance_calibration(
    noise: &[Vec<f64>],
    start: usize,
    k: usize,
    ridge: f64,
) -> Option<BlockCalibration> {
    let (mean, chol) = mean_and_cholesky(noise, start, k, ridge)?;
    let sorted = sorted_mahalanobis_sq(noise, start, k, &mean, &chol)?
        .into_iter()
        .map(f64::sqrt)
        .collect();
    Some(BlockCalibration::Distance {
        mean,
        chol,
        upper: UpperTail::fit(sorted),
    })
}

/// A family-wise rule over the candidates' p-values of one row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum FamilyWise {
    /// Holm's step-down (Holm 1979): sort the `k` p-values ascending and flag while
    /// `p_(j) ≤ α/(k − j + 1)`. Controls the chance of any false root cause in a row at α,
    /// flags at least what Bonferroni flags.
    Holm { alpha: f64 },
    /// Bonferroni: flag `p_i ≤ α/k`.
    Bonferroni { alpha: f64 },
}

impl FamilyWise {
    /// α.
    pub fn alpha(&self) -> f64 {
        match *self {
            FamilyWise::Holm { alpha } | FamilyWise::Bonferroni { alpha } => alpha,
        }
    }

    /// Checks `0 < α < 1`.
    pub fn validate(&self) -> Result<()> {
        let a = self.alpha();
        if !(a > 0.0 && a < 1.0) {
            return Err(Error::invalid(format!(
                "--alpha must lie in (0, 1), got {a}"
            )));
        }
        Ok(())
    }

    /// The positions (into `pvalues`) this rule flags, ascending.
    pub fn flag(&self, pvalues: &[f64]) -> Vec<usize> {
        let k = pvalues.len() as f64;
        let mut out: Vec<usize> = match *self {
            FamilyWise::Bonferroni { alpha } => (0..pvalues.len())
                .filter(|&i| pvalues[i] <= alpha / k)
                .collect(),
            FamilyWise::Holm { alpha } => {
                let mut order: Vec<usize> = (0..pvalues.len()).collect();
                order.sort_by(|&a, &b| pvalues[a].total_cmp(&pvalues[b]).then(a.cmp(&b)));
                order
                    .iter()
                    .enumerate()
                    .take_while(|(j, i)| pvalues[**i] <= alpha / (k - *j as f64))
                    .map(|(_, &i)| i)
                    .collect()
            }
        };
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use remedy_core::seed;

    fn gaussian(rng: &mut impl Rng) -> f64 {
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    #[test]
    fn normal_values_get_uniform_pvalues() {
        // Calibrate on 800 N(0, 1) draws; fresh normal draws must get p ≤ a about a share a of
        // the time (a = 0.05, 0.01), and never much more: the tail is conservative.
        let mut rng = seed::rng(7);
        let cal: Vec<Vec<f64>> = (0..800).map(|_| vec![gaussian(&mut rng)]).collect();
        let r = PValueReference::fit(&cal, &[1], &[0], 0.0).unwrap();
        let fresh: Vec<Vec<f64>> = (0..20_000).map(|_| vec![gaussian(&mut rng)]).collect();
        let p = r.pvalues(&fresh).unwrap();
        for a in [0.05, 0.01, 0.001] {
            let share = p.iter().filter(|v| v[0] <= a).count() as f64 / p.len() as f64;
            assert!(share <= 1.5 * a + 0.002, "a = {a}: share {share}");
        }
        let share = p.iter().filter(|v| v[0] <= 0.05).count() as f64 / p.len() as f64;
        assert!(
            share > 0.025,
            "share {share}: far too conservative in the body"
        );
    }

    #[test]
    fn far_values_get_tiny_pvalues_monotone() {
        // Beyond the calibration range the tail goes on falling: a rank p-value would stop at
        // 1/(n + 1) = 1/801; N(0, 1) two-sided at 8 sd is 1.2e-15, the exponential tail gives
        // more (conservative) but well below 1e-4.
        let mut rng = seed::rng(8);
        let cal: Vec<Vec<f64>> = (0..800).map(|_| vec![gaussian(&mut rng)]).collect();
        let r = PValueReference::fit(&cal, &[1], &[0], 0.0).unwrap();
        let xs: Vec<f64> = (0..=100).map(|i| i as f64 * 0.1).collect();
        let p: Vec<f64> = r
            .pvalues(&xs.iter().map(|&x| vec![x]).collect::<Vec<_>>())
            .unwrap()
            .into_iter()
            .map(|v| v[0])
            .collect();
        for w in p.windows(2) {
            assert!(w[1] <= w[0] + 1e-12, "{p:?}");
        }
        let at = |x: f64| p[(x * 10.0).round() as usize];
        assert!(at(8.0) < 1e-4, "{}", at(8.0));
        assert!(at(8.0) > 1.2e-15, "never below the Gaussian truth");
        assert!(at(0.0) > 0.9, "{}", at(0.0));
        // Two-sided: −8 as unusual as +8 up to the two fitted tails.
        let neg = r.pvalues(&[vec![-8.0]]).unwrap()[0][0];
        assert!(neg < 1e-4 && neg / at(8.0) < 100.0 && at(8.0) / neg < 100.0);
    }

    #[test]
    fn log_pvalues_match_and_keep_ordering_where_pvalues_underflow() {
        let mut rng = seed::rng(9);
        let cal: Vec<Vec<f64>> = (0..300).map(|_| vec![gaussian(&mut rng)]).collect();
        let r = PValueReference::fit(&cal, &[1], &[0], 0.0).unwrap();
        let xs: Vec<Vec<f64>> = [0.1, 1.0, 2.5, 6.0, 40.0]
            .iter()
            .map(|&x| vec![x])
            .collect();
        let p = r.pvalues(&xs).unwrap();
        let lp = r.log_pvalues(&xs).unwrap();
        for (a, b) in p.iter().zip(&lp) {
            assert!(
                (a[0].ln() - b[0]).abs() < 1e-9 * (1.0 + b[0].abs()),
                "{a:?} {b:?}"
            );
        }
        // 1e4 and 1e5 calibration spreads out: both p-values underflow to 0, their logs stay
        // finite and ordered (the exponential or heavier tail is at least linear in the log).
        let far = r.pvalues(&[vec![1e4], vec![1e5]]).unwrap();
        assert_eq!((far[0][0], far[1][0]), (0.0, 0.0));
        let lf = r.log_pvalues(&[vec![1e4], vec![1e5]]).unwrap();
        assert!(lf[0][0].is_finite() && lf[1][0].is_finite(), "{lf:?}");
        assert!(lf[1][0] < lf[0][0], "{lf:?}");
        // The ranking statistic equals ln p inside the calibration range and is linear in
        // the distance beyond it (exponential tail): equal steps, equal decrements.
        let rk = r
            .ranking_log_pvalues(&[vec![0.5], vec![10.0], vec![20.0], vec![30.0]])
            .unwrap();
        let inside = r.log_pvalues(&[vec![0.5]]).unwrap()[0][0];
        assert!((rk[0][0] - inside).abs() < 1e-12);
        let (a, b) = (rk[1][0] - rk[2][0], rk[2][0] - rk[3][0]);
        assert!(a > 0.0 && (a - b).abs() < 1e-9 * a, "{rk:?}");
    }

    #[test]
    fn skewed_noise_is_judged_on_its_long_side() {
        // Exponential(1) noise, median ln 2. At u = 8 the exact p-value of the distance from
        // the median is P(U ≥ 8) + P(U ≤ ln 2 − (8 − ln 2)) = e⁻⁸ + 0 = 3.4e-4; the doubled
        // 2·min(P(U ≤ u), P(U ≥ u)) would say 6.7e-4. The fitted tail extrapolates 5.7 of its
        // scales past its threshold, where the scale's sampling error (about 7% from 200
        // excesses) moves the p-value by a factor of about 1.5 either way. Fresh draws stay
        // calibrated.
        let mut rng = seed::rng(11);
        let mut exp = || vec![-(1.0 - rng.random::<f64>()).ln()];
        let cal: Vec<Vec<f64>> = (0..2000).map(|_| exp()).collect();
        let r = PValueReference::fit(&cal, &[1], &[0], 0.0).unwrap();
        let p = r.pvalues(&[vec![8.0]]).unwrap()[0][0];
        let truth = (-8.0f64).exp();
        assert!(p > truth / 3.0 && p < 3.0 * truth, "{p} vs {truth}");
        let fresh: Vec<Vec<f64>> = (0..20_000).map(|_| exp()).collect();
        let ps = r.pvalues(&fresh).unwrap();
        let share = ps.iter().filter(|v| v[0] <= 0.01).count() as f64 / ps.len() as f64;
        assert!(share <= 0.015 && share > 0.004, "share {share}");
    }

    #[test]
    fn gpd_fit_recovers_exponential_and_pareto() {
        // Exponential excesses (ξ = 0, σ = 2): shape near 0, scale near 2.
        let mut rng = seed::rng(9);
        let mut e: Vec<f64> = (0..4000)
            .map(|_| -2.0 * (1.0 - rng.random::<f64>()).ln())
            .collect();
        let t = GpdTail::fit(0.0, 1.0, &mut e);
        assert!(t.shape < 0.05 && (t.scale - 2.0).abs() < 0.15, "{t:?}");
        // GPD ξ = 0.25, σ = 1 by inversion: y = σ((1 − U)^(−ξ) − 1)/ξ.
        let mut g: Vec<f64> = (0..4000)
            .map(|_| ((1.0 - rng.random::<f64>()).powf(-0.25) - 1.0) / 0.25)
            .collect();
        let t = GpdTail::fit(0.0, 1.0, &mut g);
        assert!((t.shape - 0.25).abs() < 0.06, "{t:?}");
    }

    #[test]
    fn multi_value_blocks_use_distance() {
        let mut rng = seed::rng(10);
        let cal: Vec<Vec<f64>> = (0..1000)
            .map(|_| vec![gaussian(&mut rng), gaussian(&mut rng), 1.0])
            .collect();
        let r = PValueReference::fit(&cal, &[2, 1], &[0], 1e-6).unwrap();
        let p = r
            .pvalues(&[vec![0.0, 0.0, 5.0], vec![6.0, -6.0, 1.0]])
            .unwrap();
        assert!(p[0][0] > 0.9, "{p:?}");
        assert!(p[1][0] < 1e-4, "{p:?}");
    }

    #[test]
    fn holm_and_bonferroni() {
        // k = 4, α = 0.05: Bonferroni threshold 0.0125; Holm 0.0125, 0.0167, 0.025, 0.05.
        let p = [0.01, 0.015, 0.5, 0.02];
        assert_eq!(FamilyWise::Bonferroni { alpha: 0.05 }.flag(&p), vec![0]);
        assert_eq!(FamilyWise::Holm { alpha: 0.05 }.flag(&p), vec![0, 1, 3]);
        assert_eq!(
            FamilyWise::Holm { alpha: 0.05 }.flag(&[0.2, 0.3]),
            Vec::<usize>::new()
        );
        assert!(FamilyWise::Holm { alpha: 1.0 }.validate().is_err());
        assert!(FamilyWise::Holm { alpha: 0.0 }.validate().is_err());
        assert!(FamilyWise::Holm { alpha: 0.01 }.validate().is_ok());
    }

    #[test]
    fn bad_input_is_named() {
        let e = PValueReference::fit(&[vec![0.0], vec![1.0]], &[1], &[0], 0.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 4"), "{e}");
        let cal: Vec<Vec<f64>> = (0..10).map(|i| vec![i as f64]).collect();
        let r = PValueReference::fit(&cal, &[1], &[0], 0.0).unwrap();
        let e = r.pvalues(&[vec![f64::NAN]]).unwrap_err().to_string();
        assert!(e.contains("not finite"), "{e}");
    }
}
