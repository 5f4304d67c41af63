//! From rows to each candidate feature's evidence (calibrated p-value, rank, deviation) and
//! each row's root-cause set.
//!
//! A feature's evidence is the calibrated p-value of its abducted noise
//! ([`remedy_rootcause::pvalue`]), taken at the least unusual noise the causal model's slack
//! allows (a feature is not blamed for its parents' extrapolation), with three rules for what
//! real data hold and generated benchmarks do not:
//!
//! - **A value the row does not have** (an empty cell, filled for the arithmetic,
//!   [`crate::missing`]) is no evidence: p-value 1, never a root cause.
//! - **A feature constant in the normal rows** has no spread to measure a distance by. If it
//!   holds its constant, it is never a root cause (p-value 1); if it moved, that is the
//!   strongest evidence there is (p-value 0), ordered among such features by the relative
//!   change `|x − c| / |c|` (`|x|` when `c = 0`), unless one of its parents also left a value
//!   it never left in training: nothing was learnt about what that does to it, so its move is
//!   explained (the causal model's slack is unbounded, p-value 1).
//! - **The order** is by the log of the p-value, computed in logs so that features far beyond
//!   the calibration range (where the p-value underflows to 0) keep a strict order, then by
//!   the relative change, then by the paper's score: a ranking is never decided by a cap.
//!
//! A query may be about one target feature (`--target`): then only the target and its
//! ancestors in the graph are candidates (the features that can have caused the anomaly in
//! the target), the family-wise rule corrects over those only, and the others get rank 0.

use remedy_core::schema::FeatureType;
use remedy_core::{Error, Result};

use crate::model::Fitted;
use crate::ops::{Evidence, RootCauseRule};

/// Root-cause sets (node indices) and candidate evidence, per row.
pub(crate) type Located = (Vec<Vec<usize>>, Vec<Vec<Evidence>>);

/// What one query asks about its rows.
pub(crate) struct Query<'a> {
    /// Per row and node: the value was in the data (not filled).
    pub observed: &'a [Vec<bool>],
    /// Per row: the detector flags it (a family-wise rule then names at least its strongest
    /// candidate).
    pub flagged: &'a [bool],
    /// Per node: whether it may be a root cause of this query.
    pub eligible: &'a [bool],
    /// Whether a flagged row gets at least its strongest candidate when the rule names none.
    /// Not for a target query: there an empty set says that nothing upstream of the target
    /// is unusual, which is an answer.
    pub at_least_one: bool,
}

/// How strong one candidate's evidence is: `ln p` (the reported p-value), the ranking
/// statistic ([`remedy_rootcause::PValueReference::ranking_log_pvalues`]), and the relative
/// change of a moved constant feature.
#[derive(Debug, Clone, Copy)]
struct Strength {
    log_p: f64,
    ranking_log_p: f64,
    relative: f64,
}

impl Fitted {
    /// Per node, whether it may be a root cause of an anomaly in `target` (the target and its
    /// ancestors), or every node when `target` is `None`. Fails on an unknown target or one
    /// with no candidate among it and its ancestors, naming it.
    pub(crate) fn eligible(&self, target: Option<&str>) -> Result<Vec<bool>> {
        let d = self.dag.len();
        let Some(name) = target else {
            return Ok(vec![true; d]);
        };
        let names = self.manifest.schema.names();
        let t = names.iter().position(|n| *n == name).ok_or_else(|| {
            Error::invalid(format!(
                "--target '{name}' is not a feature of the model (features: {})",
                names.join(", ")
            ))
        })?;
        let mut eligible = vec![false; d];
        eligible[t] = true;
        for a in self.dag.ancestors(t) {
            eligible[a] = true;
        }
        let blocks = self.manifest.noise_reference.blocks();
        if !blocks.iter().any(|&j| eligible[j]) {
            return Err(Error::invalid(format!(
                "--target '{name}': neither it nor any of its ancestors is a root-cause candidate \
                 (an actionable feature)"
            )));
        }
        Ok(eligible)
    }

    /// Root-cause sets (node indices) and candidate evidence of rows (module docs).
    pub(crate) fn locate(
        &self,
        rows: &[Vec<f64>],
        q: &Query,
        rule: &RootCauseRule,
    ) -> Result<Located> {
        if rows.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let noise = self.causal.abduct_batch(rows)?;
        let reference = &self.manifest.noise_reference;
        let scores = reference.scores(&noise)?;
        let slack = self.causal.noise_slack_batch(rows)?;
        let judged = self.within_slack(&noise, slack.as_deref());
        let (log_p, ranking_log_p) = self.manifest.calibration.log_pvalues_and_ranking(&judged)?;
        let distance = self.causal.parent_distance_batch(rows)?;
        let blocks = reference.blocks();
        let usable = |r: usize, j: usize| q.eligible[j] && q.observed[r][j];
        // Per candidate: eligible for the query; and the eligible candidates' positions.
        let eligible: Vec<bool> = blocks.iter().map(|&j| q.eligible[j]).collect();
        let ks: Vec<usize> = (0..blocks.len()).filter(|&k| eligible[k]).collect();
        // Per row: the strength of each candidate, then the rule's set before any fallback.
        let strength: Vec<Vec<Strength>> = (0..rows.len())
            .map(|r| {
                blocks
                    .iter()
                    .enumerate()
                    .map(|(k, &j)| {
                        let row_slack = slack.as_ref().map(|s| s[r][j]);
                        let (p, rank_p) = (log_p[r][k], ranking_log_p[r][k]);
                        self.strength(j, rows[r][j], q.observed[r][j], (p, rank_p), row_slack)
                    })
                    .collect()
            })
            .collect();
        let mut sets: Vec<Vec<usize>> = match rule {
            RootCauseRule::Quantile { pi } => reference
                .flagged(&noise, pi.unwrap_or(self.manifest.pi))?
                .into_iter()
                .enumerate()
                .map(|(r, set)| set.into_iter().filter(|&j| usable(r, j)).collect())
                .collect(),
            RootCauseRule::FamilyWise(f) => strength
                .iter()
                .enumerate()
                .map(|(r, st)| {
                    let pv: Vec<f64> = ks.iter().map(|&k| st[k].log_p.exp()).collect();
                    f.flag(&pv)
                        .into_iter()
                        .map(|i| blocks[ks[i]])
                        .filter(|&j| usable(r, j))
                        .collect()
                })
                .collect(),
        };
        let mut evidence = Vec::with_capacity(rows.len());
        for r in 0..rows.len() {
            // First tier: named by the rule on evidence that rests on no extrapolation (every
            // parent inside its training range).
            let tier: Vec<u8> = blocks
                .iter()
                .map(|&j| {
                    let inside = distance.as_ref().is_none_or(|d| d[r][j] == 0.0);
                    u8::from(!(inside && sets[r].contains(&j)))
                })
                .collect();
            let ranks = ranks(&strength[r], &tier, &scores[r], &eligible);
            let ev: Vec<Evidence> = (0..blocks.len())
                .map(|k| {
                    let j = blocks[k];
                    let seen = q.observed[r][j];
                    Evidence {
                        score: if seen { scores[r][k] } else { 0.0 },
                        pvalue: strength[r][k].log_p.exp(),
                        rank: ranks[k],
                        deviation: if seen {
                            self.deviation(j, &noise[r])
                        } else {
                            f64::NAN
                        },
                    }
                })
                .collect();
            if matches!(rule, RootCauseRule::FamilyWise(_))
                && q.at_least_one
                && q.flagged[r]
                && sets[r].is_empty()
                && let Some(k) = ev.iter().position(|e| e.rank == 1)
                && usable(r, blocks[k])
                && ev[k].pvalue < 1.0
            {
                sets[r].push(blocks[k]);
            }
            sets[r].sort_unstable();
            evidence.push(ev);
        }
        Ok((sets, evidence))
    }

    /// The evidence strength of node `j` with value `x` (module docs).
    fn strength(
        &self,
        j: usize,
        x: f64,
        observed: bool,
        (log_p, ranking_log_p): (f64, f64),
        slack: Option<f64>,
    ) -> Strength {
        let none = Strength {
            log_p: 0.0,
            ranking_log_p: 0.0,
            relative: 0.0,
        };
        if !observed {
            return none;
        }
        let moved = self
            .manifest
            .normal_values
            .as_ref()
            .and_then(|nv| nv.constant_move(j, x));
        match moved {
            None => Strength {
                log_p,
                ranking_log_p,
                relative: 0.0,
            },
            Some(0.0) => none,
            Some(_) if slack.is_some_and(f64::is_infinite) => none,
            Some(relative) => Strength {
                log_p: f64::NEG_INFINITY,
                ranking_log_p: f64::NEG_INFINITY,
                relative,
            },
        }
    }

    /// The noise the p-values judge: each node's abducted noise moved towards its normal
    /// median by the causal model's slack for the row (how far the noise may be off because
    /// the row's parents lie outside the training data, [`remedy_causal::extrapolation`]; an
    /// infinite slack moves it to the median), so a feature is judged at the least unusual
    /// noise its unknown mechanism allows. The noise itself when the model has no slack or
    /// the noise is not one value per node.
    fn within_slack(&self, noise: &[Vec<f64>], slack: Option<&[Vec<f64>]>) -> Vec<Vec<f64>> {
        let (Some(median), Some(slack)) = (&self.manifest.noise_median, slack) else {
            return noise.to_vec();
        };
        noise
            .iter()
            .zip(slack)
            .map(|(u, s)| {
                u.iter()
                    .zip(median)
                    .zip(s)
                    .map(|((&v, &m), s)| m + (v - m).signum() * ((v - m).abs() - s).max(0.0))
                    .collect()
            })
            .collect()
    }

    /// Node `j`'s noise minus its normal median, when the node has one continuous noise value
    /// in its own units (continuous features of an additive-noise model); NaN otherwise. A
    /// model has `noise_median` only when every node has one noise value, so `u[j]` is node
    /// `j`'s.
    fn deviation(&self, j: usize, u: &[f64]) -> f64 {
        match (
            &self.manifest.noise_median,
            &self.manifest.schema.features[j].kind,
        ) {
            (Some(median), FeatureType::Continuous) => u[j] - median[j],
            _ => f64::NAN,
        }
    }
}

/// Rank of each candidate (1 = strongest) among the eligible ones: lower tier first, then
/// the smallest ranking `ln p`, then the largest relative change, then the highest score,
/// then candidate order. An ineligible candidate gets rank 0.
fn ranks(strength: &[Strength], tier: &[u8], scores: &[f64], eligible: &[bool]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..strength.len()).filter(|&k| eligible[k]).collect();
    order.sort_by(|&a, &b| {
        tier[a]
            .cmp(&tier[b])
            .then(
                strength[a]
                    .ranking_log_p
                    .total_cmp(&strength[b].ranking_log_p),
            )
            .then(strength[b].relative.total_cmp(&strength[a].relative))
            .then(scores[b].total_cmp(&scores[a]))
            .then(a.cmp(&b))
    });
    let mut rank = vec![0; strength.len()];
    for (r, &k) in order.iter().enumerate() {
        rank[k] = r + 1;
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_use_logs_then_relative_change_and_skip_ineligible() {
        let s = |log_p: f64, relative: f64| Strength {
            log_p,
            ranking_log_p: log_p,
            relative,
        };
        let strength = [
            s(-800.0, 0.0),
            s(f64::NEG_INFINITY, 0.25),
            s(-900.0, 0.0),
            s(f64::NEG_INFINITY, 0.5),
            s(-1.0, 0.0),
        ];
        // Scores tie at a cap: they decide nothing here.
        let scores = [6.0; 5];
        let tier = [0; 5];
        assert_eq!(
            ranks(&strength, &tier, &scores, &[true; 5]),
            vec![4, 2, 3, 1, 5]
        );
        assert_eq!(
            ranks(&strength, &tier, &scores, &[true, false, true, false, true]),
            vec![2, 0, 1, 0, 3]
        );
        // A named candidate whose evidence rests on no extrapolation comes first.
        let tier = [1, 1, 1, 1, 0];
        assert_eq!(
            ranks(&strength, &tier, &scores, &[true; 5]),
            vec![5, 3, 4, 2, 1]
        );
    }
}
