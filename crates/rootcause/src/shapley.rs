//! The paper's root-cause baseline ("CausalRCA", reference spec §7.2): Shapley attribution of a
//! row's anomaly score to its exogenous noise, after Janzing et al., "Causal structure based root
//! cause analysis of outliers" (arXiv 1912.02724, 2019), as DoWhy's `gcm.attribute_anomalies`
//! implements it.
//!
//! # Attribution
//!
//! For a row `x` with abducted noise `u` and a caller-supplied anomaly score `g` on raw rows:
//!
//! - **Players**: one per candidate feature (its noise block) plus, when any noise is left, one
//!   player "others" holding all remaining noise values together.
//! - **Information-theoretic (IT) score** (Janzing et al. Eq. 1): `IT(x) = −ln P(g(X) ≥ g(x))`
//!   for `X` from the normal model.
//! - **Set function**: `v(S) = ln P̂(g(X) ≥ g(x) | U_S = u_S)`, i.e. minus the conditional IT
//!   score once the noise of the players in `S` is fixed to the row's values. The other noise is
//!   resampled *jointly* from rows of the normal noise matrix (so their joint law is kept),
//!   `X = predict(u_S, u'_{−S})` through the causal model, and `P̂ = (k + 1)/(m + 1)` counts the
//!   `k` of `m` samples with `g(X) ≥ g(x)` (+1 smoothing keeps the logarithm finite). With every
//!   player fixed the event is certain, so `v(N) = 0` by definition.
//! - **Contribution** of player `i`: its exact Shapley value of `v` (all `2^P` coalitions),
//!   i.e. how much revealing `u_i` lowers the conditional IT score on average over orderings.
//!   Efficiency gives `Σ_i φ_i = v(N) − v(∅) = −ln P̂(g(X) ≥ g(x))`: the contributions sum to the
//!   row's (estimated) IT score. (The brief's `v(S) = −ln P̂(…)` is the same function with the
//!   sign flipped; its Shapley values are `−φ_i` and would sum to `−IT`.)
//!
//! All coalitions of a row share the same `m` resampled normal rows (common random numbers), so
//! differences between coalitions carry no extra sampling noise and a player that `g` ignores
//! gets exactly 0 (the dummy axiom holds exactly, not only in expectation). Model and score
//! calls are batched: per row, one [`CausalModel::predict_batch`] call on all `(2^P − 1)·m`
//! mixed noise vectors and one `g` call on the row itself plus their predictions.
//!
//! # From contributions to a set
//!
//! The paper does not say how it turned contributions into root causes (spec §7.2). The default
//! [`ShapleySetRule::EqualShare`] flags candidate `i` when `φ_i > IT / P` (and `φ_i > 0`), where
//! `P` is the number of players: a candidate is a root cause when it carries more than an equal
//! share of the row's IT score. It is untuned, scale-free (the IT score of different rows
//! differs by orders of magnitude) and, unlike `φ_i > 0`, not triggered by the small positive
//! contributions that Monte-Carlo noise gives irrelevant players about half of the time.

use crate::{RootCauseLocator, block_offsets, check_fit_inputs};
use rand::Rng;
use remedy_core::traits::CausalModel;
use remedy_core::{Error, Result, seed};
use serde::{Deserialize, Serialize};

/// The anomaly score `g` on raw rows, batched: one score per row, higher is more anomalous.
pub type AnomalyScoreFn<'g> = dyn Fn(&[Vec<f64>]) -> Result<Vec<f64>> + 'g;

/// The largest number of players (candidates plus "others") exact Shapley is computed for:
/// `2^12 = 4096` coalitions per row, each with `m` model predictions.
pub const MAX_PLAYERS: usize = 12;

/// How contributions become a root-cause set (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapleySetRule {
    /// Flag `i` when `φ_i > factor · IT / P` and `φ_i > 0` (`P` players). Default factor 1.
    EqualShare { factor: f64 },
    /// Flag `i` when `φ_i > fraction · IT` and `φ_i > 0`.
    FractionOfTotal { fraction: f64 },
    /// Flag `i` when `φ_i > 0` (spec §7.2 step 3, first option).
    Positive,
}

impl Default for ShapleySetRule {
    fn default() -> Self {
        ShapleySetRule::EqualShare { factor: 1.0 }
    }
}

impl ShapleySetRule {
    /// The flagged candidates (feature indices, ascending) of one attribution; `candidates` are
    /// in the order of [`ShapleyAttribution::contributions`].
    pub fn select(&self, attribution: &ShapleyAttribution, candidates: &[usize]) -> Vec<usize> {
        let threshold = match *self {
            ShapleySetRule::EqualShare { factor } => {
                factor * attribution.it_score / attribution.players as f64
            }
            ShapleySetRule::FractionOfTotal { fraction } => fraction * attribution.it_score,
            ShapleySetRule::Positive => 0.0,
        }
        .max(0.0);
        let mut out: Vec<usize> = candidates
            .iter()
            .zip(&attribution.contributions)
            .filter(|(_, phi)| **phi > threshold)
            .map(|(c, _)| *c)
            .collect();
        out.sort_unstable();
        out
    }

    fn validate(&self) -> Result<()> {
        let (name, value) = match *self {
            ShapleySetRule::EqualShare { factor } => ("equal-share factor", factor),
            ShapleySetRule::FractionOfTotal { fraction } => ("fraction of the total", fraction),
            ShapleySetRule::Positive => return Ok(()),
        };
        if !(value >= 0.0 && value.is_finite()) {
            return Err(Error::invalid(format!(
                "Shapley set rule: the {name} must be finite and >= 0, got {value}"
            )));
        }
        Ok(())
    }
}

/// Settings of the Shapley baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShapleyConfig {
    /// Resampled normal noise rows per coalition, drawn with replacement; `None` uses every
    /// reference row exactly once (deterministic). Default 3000, DoWhy's
    /// `num_distribution_samples` (spec §7.2).
    pub samples: Option<usize>,
    /// How contributions become a set.
    pub rule: ShapleySetRule,
    /// Seed of the resampling used by [`RootCauseLocator::scores`] and
    /// [`RootCauseLocator::locate`].
    pub seed: u64,
}

impl Default for ShapleyConfig {
    fn default() -> Self {
        ShapleyConfig {
            samples: Some(3000),
            rule: ShapleySetRule::default(),
            seed: 0,
        }
    }
}

impl ShapleyConfig {
    /// Abducts the normal rows' noise (the resampling pool) and prepares the players.
    pub fn fit<'a, M: CausalModel + ?Sized>(
        &self,
        model: &'a M,
        score: &'a AnomalyScoreFn<'a>,
        normal_rows: &[Vec<f64>],
        candidates: &[usize],
    ) -> Result<ShapleyLocator<'a, M>> {
        self.rule.validate()?;
        if self.samples == Some(0) {
            return Err(Error::invalid(
                "Shapley baseline: samples must be at least 1 (or unset to use every normal row)",
            ));
        }
        let names = model.node_names();
        let dims = check_fit_inputs(
            model,
            normal_rows,
            candidates,
            "resample the Shapley baseline's noise from",
        )?;
        let width: usize = dims.iter().sum();
        let offsets = block_offsets(&dims);
        let mut players: Vec<Vec<usize>> = Vec::with_capacity(candidates.len() + 1);
        for &c in candidates {
            if dims[c] == 0 {
                return Err(Error::invalid(format!(
                    "feature '{}' has no noise values, so it cannot be a root-cause candidate",
                    names[c]
                )));
            }
            players.push((offsets[c]..offsets[c] + dims[c]).collect());
        }
        let others: Vec<usize> = (0..width)
            .filter(|j| !players.iter().any(|p| p.contains(j)))
            .collect();
        if !others.is_empty() {
            players.push(others);
        }
        if players.len() > MAX_PLAYERS {
            return Err(Error::invalid(format!(
                "exact Shapley over {} players needs 2^{} coalitions per row; at most {} \
                 players are supported (pass fewer candidates)",
                players.len(),
                players.len(),
                MAX_PLAYERS
            )));
        }
        let pool = model.abduct_batch(normal_rows)?;
        for (r, u) in pool.iter().enumerate() {
            if u.len() != width || u.iter().any(|v| !v.is_finite()) {
                return Err(Error::invalid(format!(
                    "the abducted noise of normal row {r} is not {width} finite values"
                )));
            }
        }
        Ok(ShapleyLocator {
            model,
            score,
            candidates: candidates.to_vec(),
            players,
            width,
            pool,
            config: *self,
        })
    }
}

/// One row's attribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapleyAttribution {
    /// Shapley contribution `φ_i` (nats) of each candidate, in candidate order.
    pub contributions: Vec<f64>,
    /// Contribution of all other noise together (0 when every node is a candidate).
    pub others: f64,
    /// The estimated IT score `−ln P̂(g(X) ≥ g(x))`; equals the sum of all contributions.
    pub it_score: f64,
    /// `g(x)` of the row.
    pub anomaly_score: f64,
    /// The number of players `P` (candidates, plus one when other noise exists).
    pub players: usize,
}

/// Exact Shapley values of a set function over `players` players given as `values[mask]` for
/// every coalition bitmask `mask ∈ 0..2^players` (bit `i` set ⇔ player `i` in the coalition):
/// `φ_i = Σ_{S ∌ i} |S|!(P−|S|−1)!/P! · (v(S ∪ {i}) − v(S))` (Shapley 1953).
pub fn exact_shapley(players: usize, values: &[f64]) -> Result<Vec<f64>> {
    if players == 0 || players > 20 || values.len() != 1usize << players {
        return Err(Error::invalid(format!(
            "exact Shapley needs 1..=20 players and 2^players coalition values, got {players} \
             players and {} values",
            values.len()
        )));
    }
    let mut fact = vec![1.0f64; players + 1];
    for k in 1..=players {
        fact[k] = fact[k - 1] * k as f64;
    }
    let weight: Vec<f64> = (0..players)
        .map(|s| fact[s] * fact[players - s - 1] / fact[players])
        .collect();
    let mut phi = vec![0.0; players];
    for (i, p) in phi.iter_mut().enumerate() {
        let bit = 1usize << i;
        for mask in 0..values.len() {
            if mask & bit == 0 {
                *p += weight[mask.count_ones() as usize] * (values[mask | bit] - values[mask]);
            }
        }
    }
    Ok(phi)
}

/// The Shapley baseline locator (module docs).
pub struct ShapleyLocator<'a, M: CausalModel + ?Sized> {
    model: &'a M,
    score: &'a AnomalyScoreFn<'a>,
    candidates: Vec<usize>,
    /// Noise indices of each player: candidates in order, then "others" if non-empty.
    players: Vec<Vec<usize>>,
    width: usize,
    pool: Vec<Vec<f64>>,
    config: ShapleyConfig,
}

impl<M: CausalModel + ?Sized> std::fmt::Debug for ShapleyLocator<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShapleyLocator")
            .field("candidates", &self.candidates)
            .field("players", &self.players.len())
            .field("pool_rows", &self.pool.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<M: CausalModel + ?Sized> ShapleyLocator<'_, M> {
    /// The settings.
    pub fn config(&self) -> &ShapleyConfig {
        &self.config
    }

    /// Attributes each row's IT score to its noise, drawing the resampled normal rows from
    /// `rng` (one fresh set of `m` rows per row, shared by all its coalitions).
    pub fn attribute(
        &self,
        rows: &[Vec<f64>],
        rng: &mut impl Rng,
    ) -> Result<Vec<ShapleyAttribution>> {
        let noise = crate::abduct_rows(self.model, rows)?;
        rows.iter()
            .zip(&noise)
            .enumerate()
            .map(|(r, (x, u))| {
                if u.len() != self.width || u.iter().any(|v| !v.is_finite()) {
                    return Err(Error::invalid(format!(
                        "the abducted noise of row {r} is not {} finite values",
                        self.width
                    )));
                }
                self.attribute_one(r, x, u, rng)
            })
            .collect()
    }

    /// [`ShapleyLocator::attribute`] with the generator seeded from [`ShapleyConfig::seed`].
    pub fn attribute_seeded(&self, rows: &[Vec<f64>]) -> Result<Vec<ShapleyAttribution>> {
        let mut rng = seed::child(self.config.seed, "rootcause/shapley");
        self.attribute(rows, &mut rng)
    }

    /// The root-cause sets of already computed attributions, by [`ShapleyConfig::rule`].
    pub fn select(&self, attributions: &[ShapleyAttribution]) -> Vec<Vec<usize>> {
        attributions
            .iter()
            .map(|a| self.config.rule.select(a, &self.candidates))
            .collect()
    }

    fn attribute_one(
        &self,
        r: usize,
        x: &[f64],
        u: &[f64],
        rng: &mut impl Rng,
    ) -> Result<ShapleyAttribution> {
        let draws: Vec<usize> = match self.config.samples {
            Some(m) => (0..m)
                .map(|_| rng.random_range(0..self.pool.len()))
                .collect(),
            None => (0..self.pool.len()).collect(),
        };
        let m = draws.len();
        let p = self.players.len();
        let full = (1usize << p) - 1;
        // The noise of m resampled rows for each coalition 0..full, predicted in one batch.
        let mut mixed: Vec<Vec<f64>> = Vec::with_capacity(full * m);
        for mask in 0..full {
            for &d in &draws {
                let mut v = self.pool[d].clone();
                for (i, player) in self.players.iter().enumerate() {
                    if mask & (1 << i) != 0 {
                        for &j in player {
                            v[j] = u[j];
                        }
                    }
                }
                mixed.push(v);
            }
        }
        let predicted = self.model.predict_batch(&mixed)?;
        if predicted.len() != mixed.len() {
            return Err(Error::invalid(format!(
                "the causal model predicted {} rows from {} noise vectors",
                predicted.len(),
                mixed.len()
            )));
        }
        drop(mixed);
        // The scored batch: the row itself, then the predicted rows, coalition by coalition.
        let mut batch: Vec<Vec<f64>> = Vec::with_capacity(1 + full * m);
        batch.push(x.to_vec());
        batch.extend(predicted);
        let scores = (self.score)(&batch)?;
        if scores.len() != batch.len() {
            return Err(Error::invalid(format!(
                "the anomaly score function returned {} scores for {} rows",
                scores.len(),
                batch.len()
            )));
        }
        if let Some(j) = scores.iter().position(|s| s.is_nan()) {
            return Err(Error::invalid(format!(
                "the anomaly score function returned NaN (row {r}, scored row {j})"
            )));
        }
        let target = scores[0];
        let mut values = vec![0.0; full + 1];
        for (mask, value) in values.iter_mut().enumerate().take(full) {
            let chunk = &scores[1 + mask * m..1 + (mask + 1) * m];
            let k = chunk.iter().filter(|s| **s >= target).count();
            *value = ((k + 1) as f64 / (m + 1) as f64).ln();
        }
        let phi = exact_shapley(p, &values)?;
        let c = self.candidates.len();
        Ok(ShapleyAttribution {
            contributions: phi[..c].to_vec(),
            others: if p > c { phi[c] } else { 0.0 },
            it_score: -values[0],
            anomaly_score: target,
            players: p,
        })
    }
}

impl<M: CausalModel + ?Sized> RootCauseLocator for ShapleyLocator<'_, M> {
    fn candidates(&self) -> &[usize] {
        &self.candidates
    }

    /// The Shapley contributions `φ_i` (seeded by [`ShapleyConfig::seed`]).
    fn scores(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        Ok(self
            .attribute_seeded(rows)?
            .into_iter()
            .map(|a| a.contributions)
            .collect())
    }

    /// [`ShapleyConfig::rule`] applied to the seeded attributions.
    fn locate(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<usize>>> {
        Ok(self.select(&self.attribute_seeded(rows)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_shapley_of_a_glove_game() {
        // Worked example (by hand): the glove game with one left glove (player 0) and two
        // right gloves (players 1, 2); v(S) = 1 when S holds a pair. Of the 6 orderings, player
        // 0 completes the pair in the 4 where it is not first (φ_0 = 4/6), and each right glove
        // only in the one where it directly follows player 0 at the front (φ = 1/6).
        let v: Vec<f64> = (0..8usize)
            .map(|mask| {
                let left = mask & 1 != 0;
                let right = mask & 0b110 != 0;
                if left && right { 1.0 } else { 0.0 }
            })
            .collect();
        let phi = exact_shapley(3, &v).unwrap();
        assert!((phi[0] - 2.0 / 3.0).abs() < 1e-12, "{phi:?}");
        assert!((phi[1] - 1.0 / 6.0).abs() < 1e-12 && (phi[2] - 1.0 / 6.0).abs() < 1e-12);
        assert!(exact_shapley(2, &v).is_err());
    }

    #[test]
    fn set_rules() {
        let a = ShapleyAttribution {
            contributions: vec![3.0, 0.5, -0.5, 1.2],
            others: 0.8,
            it_score: 5.0,
            anomaly_score: 9.0,
            players: 5,
        };
        let cands = [6, 1, 2, 0];
        // Equal share: 5/5 = 1 → {6, 0} → sorted [0, 6].
        assert_eq!(ShapleySetRule::default().select(&a, &cands), vec![0, 6]);
        assert_eq!(
            ShapleySetRule::FractionOfTotal { fraction: 0.5 }.select(&a, &cands),
            vec![6]
        );
        assert_eq!(ShapleySetRule::Positive.select(&a, &cands), vec![0, 1, 6]);
        assert!(
            ShapleySetRule::EqualShare { factor: f64::NAN }
                .validate()
                .is_err()
        );
    }
}
