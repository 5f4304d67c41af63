//! RootCLAM's root-cause rule as the paper describes it (Han et al., CIKM 2023, §3.3 "Root Cause
//! Localization"): fit a reference distribution to each candidate's exogenous noise on normal
//! rows, compute `Φ(u_i)` for an anomalous row's abducted noise, and flag feature `i` when
//! `Φ(u_i) < π` or `Φ(u_i) > 1 − π` (`π = 0.125` in the paper).
//!
//! # The statistic
//!
//! Every block gets a **two-sided tail probability** `t_i ∈ [0, 1]` and is flagged when
//! `t_i < 2π`.
//!
//! - **One-value block** (additive-noise models, exact SCMs): `t_i = 2·min(Φ(u_i), 1 − Φ(u_i))`,
//!   so `t_i < 2π` ⇔ `Φ(u_i) < π` or `Φ(u_i) > 1 − π`, exactly the paper's rule. `Φ` is the
//!   empirical CDF of the normal noise with ties counted half ("mid-rank":
//!   `Φ(u) = (#{v < u} + ½·#{v = u}) / n`, which makes the rule symmetric in the two tails) or,
//!   with [`ReferenceFit::Gaussian`], the CDF of a normal fitted by mean and sample sd.
//! - **Multi-value block** (VACA's 4-d `z_i`): the paper's `Φ(z_i)` is undefined for a vector
//!   (reference spec §5.5 notes the code sidesteps this by flagging when *any* dim is outside
//!   its quantiles, which inflates false positives). We use the squared Mahalanobis distance
//!   `D² = (u − μ)ᵀ (Σ + εI)⁻¹ (u − μ)` under the mean and ridge-regularised covariance of the
//!   normal rows, and `t_i = #{normal rows j : D²_j ≥ D²} / n`, the upper-tail probability of
//!   `D²` under the normal rows' empirical distribution of that distance. In one dimension
//!   `D² = (u − μ)²/σ²` ranks rows by `|u − μ|`, and for a symmetric reference the upper tail
//!   of `|u − μ|` is exactly the two-sided tail `2·min(Φ, 1 − Φ)`; the threshold `2π` keeps that
//!   correspondence, so a normal block is flagged with probability ≈ `2π` in both cases. The
//!   ridge is `ε = ridge · tr(Σ)/k` (`ridge = 1e-6` by default; 1 in place of `tr(Σ)/k` when the
//!   block is constant), so a degenerate (e.g. collapsed) latent dimension cannot make `Σ`
//!   singular. [`ReferenceFit`] does not apply to multi-value blocks.
//!
//! # Scores
//!
//! The score of a candidate is `−ln t̃_i` with the smoothed tail `t̃_i = (n·t_i + 1)/(n + 1)`
//! (one pseudo-observation at least as extreme as the row, as in a conformal p-value), finite
//! and strictly decreasing in `t_i`: flagged candidates always outscore unflagged ones of the
//! same reference size.
//!
//! This is the rule of the paper, not of the reference code (which thresholds the encoder's
//! posterior sd, spec §5.5 / §10.1.7); the code's σ-based statistic is not reachable through
//! [`CausalModel`] and is not implemented here.

use crate::stats::{
    mahalanobis_sq_from, mean_and_cholesky, normal_two_sided_tail, sorted_mahalanobis_sq,
};
use crate::{RootCauseLocator, block_offsets, check_candidates, check_fit_inputs};
use remedy_core::traits::CausalModel;
use remedy_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// How a one-value noise block's reference CDF `Φ` is fitted on normal noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceFit {
    /// The empirical CDF of the normal noise (mid-rank for ties). Distribution-free.
    #[default]
    Empirical,
    /// A normal distribution with the noise's mean and sample standard deviation (ddof 1).
    Gaussian,
}

/// Settings of the quantile locator. Defaults: `π = 0.125` (paper §3.3: "in our experiments we
/// use π = 0.125"; the reference code uses 0.15 for Loan/Adult and 0.10 for Donors, spec
/// §5.5.6), empirical CDF, covariance ridge 1e-6.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoiseQuantileConfig {
    /// The tail fraction `π ∈ (0, 0.5)`: flag when `Φ(u_i) < π` or `Φ(u_i) > 1 − π`.
    pub pi: f64,
    /// Reference CDF for one-value noise blocks.
    pub fit: ReferenceFit,
    /// Relative ridge `ε/(tr(Σ)/k)` added to the covariance of multi-value blocks.
    pub ridge: f64,
}

impl Default for NoiseQuantileConfig {
    fn default() -> Self {
        NoiseQuantileConfig {
            pi: 0.125,
            fit: ReferenceFit::Empirical,
            ridge: 1e-6,
        }
    }
}

impl NoiseQuantileConfig {
    /// Checks `π ∈ (0, 0.5)` and `ridge ≥ 0`.
    pub fn validate(&self) -> Result<()> {
        if !(self.pi > 0.0 && self.pi < 0.5) {
            return Err(Error::invalid(format!(
                "root-cause quantile pi must lie in (0, 0.5), got {}",
                self.pi
            )));
        }
        if !(self.ridge >= 0.0 && self.ridge.is_finite()) {
            return Err(Error::invalid(format!(
                "covariance ridge must be finite and >= 0, got {}",
                self.ridge
            )));
        }
        Ok(())
    }

    /// Abducts the noise of `normal_rows` with `model` and fits a reference for each candidate
    /// feature's noise block.
    pub fn fit<'a, M: CausalModel + ?Sized>(
        &self,
        model: &'a M,
        normal_rows: &[Vec<f64>],
        candidates: &[usize],
    ) -> Result<NoiseQuantileLocator<'a, M>> {
        self.validate()?;
        let dims = check_fit_inputs(
            model,
            normal_rows,
            candidates,
            "fit the root-cause reference on",
        )?;
        let noise = model.abduct_batch(normal_rows)?;
        let reference = NoiseReference::fit_blocks(&noise, &dims, candidates, self.fit, self.ridge)
            .map_err(|e| Error::invalid(format!("abducted noise of the normal rows: {e}")))?;
        tracing::debug!(
            rows = normal_rows.len(),
            candidates = candidates.len(),
            pi = self.pi,
            "fitted the noise-quantile root-cause reference"
        );
        Ok(NoiseQuantileLocator {
            model,
            candidates: candidates.to_vec(),
            reference,
            pi: self.pi,
        })
    }
}

/// The fitted reference of one noise block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BlockReference {
    /// A one-value block, empirical CDF: the normal values, sorted.
    Empirical { sorted: Vec<f64> },
    /// A one-value block, Gaussian fit.
    Gaussian { mean: f64, sd: f64 },
    /// A multi-value block: mean, Cholesky factor of the regularised covariance and the sorted
    /// squared Mahalanobis distances of the normal rows.
    Mahalanobis {
        mean: Vec<f64>,
        chol: Vec<Vec<f64>>,
        sorted_d2: Vec<f64>,
    },
}

/// Model-free per-block references fitted on noise vectors of normal rows. A noise vector is
/// the concatenation of per-node blocks of sizes `dims` ([`CausalModel::noise_dims`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseReference {
    dims: Vec<usize>,
    blocks: Vec<usize>,
    references: Vec<BlockReference>,
    rows: usize,
}

impl NoiseReference {
    /// Fits every block of `dims` on `noise` (one normal row's noise per entry), with the
    /// empirical CDF for one-value blocks and the default ridge.
    pub fn fit(noise: &[Vec<f64>], dims: &[usize]) -> Result<Self> {
        let all: Vec<usize> = (0..dims.len()).filter(|&b| dims[b] > 0).collect();
        let defaults = NoiseQuantileConfig::default();
        Self::fit_blocks(noise, dims, &all, defaults.fit, defaults.ridge)
    }

    /// Fits the blocks `blocks` (node indices, in the order the results will follow) of `dims`
    /// on `noise`, with `fit` for one-value blocks and relative covariance `ridge` for
    /// multi-value blocks.
    pub fn fit_blocks(
        noise: &[Vec<f64>],
        dims: &[usize],
        blocks: &[usize],
        fit: ReferenceFit,
        ridge: f64,
    ) -> Result<Self> {
        check_reference_inputs(
            noise,
            dims,
            blocks,
            ridge,
            (2, "a noise reference needs at least 2 normal rows"),
            "normal noise row",
        )?;
        let offsets = block_offsets(dims);
        let n = noise.len();
        let mut references = Vec::with_capacity(blocks.len());
        for &b in blocks {
            let (start, k) = (offsets[b], dims[b]);
            if k == 0 {
                return Err(Error::invalid(format!(
                    "node {b} has no noise values, so it cannot be a root-cause candidate"
                )));
            }
            let reference = fit_block(noise, start, k, fit, ridge).ok_or_else(|| {
                Error::invalid(if k == 1 {
                    format!(
                        "the noise of node {b} is constant on the normal rows; a Gaussian fit \
                         needs a positive variance (use the empirical fit)"
                    )
                } else {
                    format!(
                        "the covariance of node {b}'s {k}-value noise block is not positive \
                         definite even after the ridge; raise the ridge"
                    )
                })
            })?;
            references.push(reference);
        }
        Ok(NoiseReference {
            dims: dims.to_vec(),
            blocks: blocks.to_vec(),
            references,
            rows: n,
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

    /// The number of normal rows the reference was fitted on.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The two-sided tail probability `t_i` of each fitted block of one noise vector (module
    /// docs); block `i` is flagged when `t_i < 2π`.
    pub fn tail_probabilities(&self, noise: &[f64]) -> Result<Vec<f64>> {
        check_noise(
            std::slice::from_ref(&noise.to_vec()),
            &self.dims,
            "noise row",
        )?;
        Ok(self.tails_unchecked(noise))
    }

    /// [`NoiseReference::tail_probabilities`] for many noise vectors.
    pub fn tail_probabilities_batch(&self, noise: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        check_noise(noise, &self.dims, "noise row")?;
        Ok(noise.iter().map(|u| self.tails_unchecked(u)).collect())
    }

    /// Scores `−ln((n·t_i + 1)/(n + 1))` per fitted block for many noise vectors.
    pub fn scores(&self, noise: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let n = self.rows as f64;
        Ok(self
            .tail_probabilities_batch(noise)?
            .into_iter()
            .map(|ts| ts.into_iter().map(|t| tail_score(t, n)).collect())
            .collect())
    }

    /// The flagged blocks (node indices, ascending) of each noise vector: `t_i < 2π`.
    pub fn flagged(&self, noise: &[Vec<f64>], pi: f64) -> Result<Vec<Vec<usize>>> {
        NoiseQuantileConfig {
            pi,
            ..NoiseQuantileConfig::default()
        }
        .validate()?;
        Ok(self
            .tail_probabilities_batch(noise)?
            .into_iter()
            .map(|ts| flag(&self.blocks, &ts, pi))
            .collect())
    }

    fn tails_unchecked(&self, u: &[f64]) -> Vec<f64> {
        let offsets = block_offsets(&self.dims);
        self.blocks
            .iter()
            .zip(&self.references)
            .map(|(&b, reference)| {
                let block = &u[offsets[b]..offsets[b] + self.dims[b]];
                block_tail(reference, block)
            })
            .collect()
    }
}

/// The reference of block `start..start + k` fitted on `noise` (normal rows): `None` for a
/// constant one-value block under a Gaussian fit or a covariance not positive definite.
pub(crate) fn fit_block(
    noise: &[Vec<f64>],
    start: usize,
    k: usize,
    fit: ReferenceFit,
    ridge: f64,
) -> Option<BlockReference> {
    if k > 1 {
        return fit_mahalanobis(noise, start, k, ridge);
    }
    let n = noise.len();
    let mut values: Vec<f64> = noise.iter().map(|u| u[start]).collect();
    match fit {
        ReferenceFit::Empirical => {
            values.sort_by(f64::total_cmp);
            Some(BlockReference::Empirical { sorted: values })
        }
        ReferenceFit::Gaussian => {
            let mean = values.iter().sum::<f64>() / n as f64;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            (var > 0.0 && var.is_finite()).then(|| BlockReference::Gaussian {
                mean,
                sd: var.sqrt(),
            })
        }
    }
}

/// `−ln` of the smoothed tail `(n·t + 1)/(n + 1)`.
pub(crate) fn tail_score(t: f64, n: f64) -> f64 {
    -((n * t + 1.0) / (n + 1.0)).ln()
}

/// The blocks with `t < 2π`, ascending.
pub(crate) fn flag(blocks: &[usize], tails: &[f64], pi: f64) -> Vec<usize> {
    let mut out: Vec<usize> = blocks
        .iter()
        .zip(tails)
        .filter(|(_, t)| **t < 2.0 * pi)
        .map(|(b, _)| *b)
        .collect();
    out.sort_unstable();
    out
}

pub(crate) fn block_tail(reference: &BlockReference, block: &[f64]) -> f64 {
    match reference {
        BlockReference::Empirical { sorted } => {
            let u = block[0];
            let n = sorted.len() as f64;
            let below = sorted.partition_point(|v| *v < u) as f64;
            let at_or_below = sorted.partition_point(|v| *v <= u) as f64;
            let ties = at_or_below - below;
            let above = n - at_or_below;
            (2.0 * (below + 0.5 * ties).min(above + 0.5 * ties) / n).min(1.0)
        }
        BlockReference::Gaussian { mean, sd } => normal_two_sided_tail((block[0] - mean) / sd),
        BlockReference::Mahalanobis {
            mean,
            chol,
            sorted_d2,
        } => {
            let d2 = mahalanobis_sq_from(chol, mean, block);
            let n = sorted_d2.len();
            let below = sorted_d2.partition_point(|v| *v < d2);
            (n - below) as f64 / n as f64
        }
    }
}

fn fit_mahalanobis(
    noise: &[Vec<f64>],
    start: usize,
    k: usize,
    ridge: f64,
) -> Option<BlockReference> {
    let (mean, chol) = mean_and_cholesky(noise, start, k, ridge)?;
    let sorted_d2 = sorted_mahalanobis_sq(noise, start, k, &mean, &chol)?;
    Some(BlockReference::Mahalanobis {
        mean,
        chol,
        sorted_d2,
    })
}

/// Checks what a per-block reference is fitted from: valid `blocks`, a finite ridge ≥ 0, at
/// least `min_rows.0` noise vectors (else the error `"{min_rows.1}, got N"`), each of
/// `Σ dims` finite values (`row` names one in errors).
pub(crate) fn check_reference_inputs(
    noise: &[Vec<f64>],
    dims: &[usize],
    blocks: &[usize],
    ridge: f64,
    min_rows: (usize, &str),
    row: &str,
) -> Result<()> {
    check_candidates(blocks, dims.len())?;
    if !(ridge >= 0.0 && ridge.is_finite()) {
        return Err(Error::invalid(format!(
            "covariance ridge must be finite and >= 0, got {ridge}"
        )));
    }
    if noise.len() < min_rows.0 {
        return Err(Error::invalid(format!(
            "{}, got {}",
            min_rows.1,
            noise.len()
        )));
    }
    check_noise(noise, dims, row)
}

/// Checks that every noise vector has `Σ dims` finite values.
pub(crate) fn check_noise(noise: &[Vec<f64>], dims: &[usize], what: &str) -> Result<()> {
    let width: usize = dims.iter().sum();
    for (r, u) in noise.iter().enumerate() {
        if u.len() != width {
            return Err(Error::invalid(format!(
                "{what} {r} has {} values but the noise blocks {dims:?} need {width}",
                u.len()
            )));
        }
        if let Some(j) = u.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "{what} {r}, noise value {j}: {} is not finite",
                u[j]
            )));
        }
    }
    Ok(())
}

/// RootCLAM's quantile root-cause locator on a causal model's abducted noise (module docs).
pub struct NoiseQuantileLocator<'a, M: CausalModel + ?Sized> {
    model: &'a M,
    candidates: Vec<usize>,
    reference: NoiseReference,
    pi: f64,
}

impl<M: CausalModel + ?Sized> std::fmt::Debug for NoiseQuantileLocator<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoiseQuantileLocator")
            .field("candidates", &self.candidates)
            .field("pi", &self.pi)
            .field("reference_rows", &self.reference.rows())
            .finish_non_exhaustive()
    }
}

impl<M: CausalModel + ?Sized> NoiseQuantileLocator<'_, M> {
    /// The tail fraction `π`.
    pub fn pi(&self) -> f64 {
        self.pi
    }

    /// The fitted reference (blocks in candidate order).
    pub fn reference(&self) -> &NoiseReference {
        &self.reference
    }

    /// Abducts the noise of `rows` after checking them.
    pub fn abduct(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        crate::abduct_rows(self.model, rows)
    }

    /// The two-sided tail probability of each candidate's abducted noise, per row.
    pub fn tail_probabilities(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let noise = self.abduct(rows)?;
        self.reference
            .tail_probabilities_batch(&noise)
            .map_err(|e| Error::invalid(format!("abducted noise: {e}")))
    }
}

impl<M: CausalModel + ?Sized> RootCauseLocator for NoiseQuantileLocator<'_, M> {
    fn candidates(&self) -> &[usize] {
        &self.candidates
    }

    /// `−ln` of the smoothed two-sided tail probability (module docs).
    fn scores(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let n = self.reference.rows() as f64;
        Ok(self
            .tail_probabilities(rows)?
            .into_iter()
            .map(|ts| ts.into_iter().map(|t| tail_score(t, n)).collect())
            .collect())
    }

    /// Candidates with `Φ(u_i) < π` or `Φ(u_i) > 1 − π` (multi-value blocks: Mahalanobis tail
    /// below `2π`). No fallback: a row may get an empty set (the reference code substitutes all
    /// actionable features only when training the mitigation network, spec §5.5.5).
    fn locate(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<usize>>> {
        Ok(self
            .tail_probabilities(rows)?
            .into_iter()
            .map(|ts| flag(&self.candidates, &ts, self.pi))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empirical_tail_is_two_sided_mid_rank() {
        // Normal values 1..=8 (n = 8). u = 1.5: 1 below, 7 above → Φ = 1/8, t = 2/8.
        // u = 3 (a tie): 2 below, 1 tie → Φ = 2.5/8, t = 5/8. u = 100: t = 0.
        let noise: Vec<Vec<f64>> = (1..=8).map(|v| vec![v as f64]).collect();
        let r = NoiseReference::fit(&noise, &[1]).unwrap();
        let t = r
            .tail_probabilities_batch(&[vec![1.5], vec![3.0], vec![100.0], vec![7.5]])
            .unwrap();
        assert_eq!(t, vec![vec![0.25], vec![0.625], vec![0.0], vec![0.25]]);
        // π = 0.125: flag when t < 0.25, so 1.5 and 7.5 sit exactly on the boundary (Φ = π is
        // not below π) and only 100 is flagged.
        let f = r
            .flagged(&[vec![1.5], vec![3.0], vec![100.0], vec![7.5]], 0.125)
            .unwrap();
        assert_eq!(f, vec![vec![], vec![], vec![0], vec![]]);
        // Score of u = 100: −ln((8·0 + 1)/9) = ln 9.
        let s = r.scores(&[vec![100.0]]).unwrap();
        assert!((s[0][0] - 9f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn gaussian_fit_matches_normal_tail() {
        // Values −1, 1 (mean 0, sample sd √2); u = 1.959964·√2 → t ≈ 0.05.
        let noise = vec![vec![-1.0], vec![1.0]];
        let r =
            NoiseReference::fit_blocks(&noise, &[1], &[0], ReferenceFit::Gaussian, 0.0).unwrap();
        let t = r.tail_probabilities(&[1.959_964 * 2f64.sqrt()]).unwrap();
        assert!((t[0] - 0.05).abs() < 1e-6, "{t:?}");
        let constant = vec![vec![2.0], vec![2.0]];
        let err = NoiseReference::fit_blocks(&constant, &[1], &[0], ReferenceFit::Gaussian, 0.0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("constant"), "{err}");
    }

    #[test]
    fn bad_input_is_named() {
        let noise = vec![vec![0.0, 1.0], vec![1.0, 0.0]];
        let e = NoiseReference::fit(&noise, &[1]).unwrap_err().to_string();
        assert!(e.contains("normal noise row 0 has 2 values"), "{e}");
        let e = NoiseReference::fit(&[], &[1]).unwrap_err().to_string();
        assert!(e.contains("at least 2 normal rows"), "{e}");
        let e = NoiseReference::fit(&[vec![0.0], vec![f64::NAN]], &[1])
            .unwrap_err()
            .to_string();
        assert!(e.contains("normal noise row 1") && e.contains("NaN"), "{e}");
        let r = NoiseReference::fit(&[vec![0.0], vec![1.0]], &[1]).unwrap();
        let e = r.tail_probabilities(&[f64::NAN]).unwrap_err().to_string();
        assert!(e.contains("not finite"), "{e}");
        let e = r.flagged(&[vec![0.0]], 0.7).unwrap_err().to_string();
        assert!(e.contains("pi"), "{e}");
        let e = NoiseReference::fit_blocks(
            &[vec![0.0], vec![1.0]],
            &[1],
            &[3],
            ReferenceFit::Empirical,
            0.0,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("out of range"), "{e}");
    }
}
