//! Using a fitted model on new rows: detection, explanation (root causes and per-feature
//! scores) and recommendation (the cheapest action on the root causes that makes the row
//! normal, with its counterfactual), as plain row structs and as [`Table`]s for the CLI.

use remedy_core::schema::FeatureType;
use remedy_core::{Column, Error, Intervention, Result, Table};
use remedy_recourse::search::{self, FeatureCosts, RecommendConfig, Recommendation};
use remedy_rootcause::FamilyWise;

use crate::data;
use crate::evidence::Query;
use crate::missing::{Filled, Missing};
use crate::model::Fitted;
use crate::target::Target;

/// Detection result of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectRow {
    /// 1-based row number in the data.
    pub row: usize,
    pub score: f64,
    pub threshold: f64,
    pub is_anomaly: bool,
}

/// How `explain`, `recommend` and the report turn each candidate's evidence into a row's
/// root-cause set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RootCauseRule {
    /// A family-wise rule (Holm or Bonferroni at α) over the candidates' calibrated p-values
    /// ([`remedy_rootcause::pvalue`]): on a normal row the chance that any feature is printed
    /// as a root cause is at most α. A row the detector flags always gets at least its
    /// strongest feature (rank 1); a row it does not flag gets only what the rule flags.
    FamilyWise(FamilyWise),
    /// The paper's rule (RootCLAM §3.3): flag a feature when its noise's CDF on the normal
    /// training rows is below π or above 1 − π (the model's fitted π when `None`); a normal
    /// feature is flagged with probability 2π, so on a model with many features most rows
    /// get false root causes. No fallback: a row may get an empty set.
    Quantile { pi: Option<f64> },
}

impl Default for RootCauseRule {
    /// Holm at α = 0.01.
    fn default() -> Self {
        RootCauseRule::FamilyWise(FamilyWise::Holm { alpha: 0.01 })
    }
}

impl RootCauseRule {
    /// Checks α ∈ (0, 1) or π ∈ (0, 0.5).
    pub fn validate(&self) -> Result<()> {
        match self {
            RootCauseRule::FamilyWise(f) => f.validate(),
            RootCauseRule::Quantile { pi: Some(pi) } if !(*pi > 0.0 && *pi < 0.5) => Err(
                Error::invalid(format!("--pi must lie in (0, 0.5), got {pi}")),
            ),
            RootCauseRule::Quantile { .. } => Ok(()),
        }
    }
}

/// Explanation of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainRow {
    pub row: usize,
    pub score: f64,
    pub is_anomaly: bool,
    /// Root-cause features, in schema order.
    pub root_causes: Vec<String>,
    /// Evidence per candidate (actionable) feature, in [`Fitted::candidates`] order.
    pub evidence: Vec<Evidence>,
}

/// How unusual one candidate feature's noise is in one row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// `−ln` of the smoothed tail probability of the noise among the normal training rows
    /// (the paper's statistic); higher = more likely a root cause.
    pub score: f64,
    /// Calibrated p-value: the chance that a normal row's noise of this feature is at least
    /// as unusual (two-sided; held-out rows, fitted tail beyond their range).
    pub pvalue: f64,
    /// 1 for the row's most likely root cause: first the features the rule names whose
    /// parents lie inside their training range (their evidence rests on no extrapolation),
    /// then by the p-value's ranking statistic (one common tail beyond the calibration rows),
    /// then by the relative change of a moved constant, then by score ([`crate::evidence`]).
    /// 0 for a feature that is not a candidate of the query's target.
    pub rank: usize,
    /// The noise minus its normal median, in the feature's own units: how far the feature is
    /// from what its parents predict, beyond the usual. NaN where the noise has no such unit
    /// (discrete features, VACA's latent noise).
    pub deviation: f64,
}

/// How [`Fitted::recommend`] finds actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecommendMethod {
    /// The model's recourse network, then the search for the rows its action does not make
    /// normal (the search alone when the model has no network).
    #[default]
    Auto,
    /// The recourse network only (one forward pass per row).
    Network,
    /// The per-row search only.
    Search,
}

/// Which method produced a recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionSource {
    Network,
    Search,
}

impl ActionSource {
    /// `network` or `search`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionSource::Network => "network",
            ActionSource::Search => "search",
        }
    }
}

/// Recommendation for one anomalous row.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendRow {
    pub row: usize,
    pub root_causes: Vec<String>,
    /// The features the search acted on.
    pub acted_on: Vec<String>,
    /// Action per feature (schema order, original units, 0 where not acted on).
    pub action: Vec<f64>,
    /// The counterfactual row (schema order; categories as level indices).
    pub counterfactual: Vec<f64>,
    pub score_before: f64,
    pub score_after: f64,
    pub threshold: f64,
    pub flips: bool,
    pub cost: f64,
    /// Whether the counterfactual respects the schema's bounds.
    pub feasible: bool,
    /// How plausible the whole counterfactual is among the normal rows: the share of
    /// held-out normal rows at least as far from their nearest normal neighbours
    /// ([`remedy_recourse::support`]); NaN for a model without a normal support.
    pub plausibility: f64,
    /// Which method found the action.
    pub method: ActionSource,
}

impl Fitted {
    /// The feature names, in schema order.
    pub fn features(&self) -> Vec<&str> {
        self.manifest.schema.names()
    }

    /// The root-cause candidates (actionable features), in schema order.
    pub fn candidates(&self) -> &[String] {
        &self.manifest.candidates
    }

    /// The continuous actionable features, which recommendations may act on.
    pub fn action_features(&self) -> Vec<&str> {
        self.manifest
            .schema
            .features
            .iter()
            .filter(|f| f.actionable && f.kind == FeatureType::Continuous)
            .map(|f| f.name.as_str())
            .collect()
    }

    /// The model's feature rows of `table` (extra columns are ignored), empty cells filled
    /// ([`crate::missing`]).
    pub fn rows(&self, table: &Table) -> Result<Vec<Vec<f64>>> {
        Ok(self.observed_rows(table)?.rows)
    }

    /// The model's feature rows of `table` with, per cell, whether it was observed. Empty
    /// cells are filled with the normal rows' median (most frequent level) unless the model
    /// was fitted with [`Missing::Error`] or before models kept fills; then they are refused,
    /// naming the row and the column.
    pub fn observed_rows(&self, table: &Table) -> Result<Filled> {
        let schema = &self.manifest.schema;
        match &self.manifest.normal_values {
            Some(nv) if nv.policy == Missing::Impute => {
                let filled = nv.fill(schema, data::rows_with_gaps(table, schema)?)?;
                if filled.filled > 0 {
                    tracing::warn!(
                        "{} empty cell{} of {} filled with the normal median; a feature a row \
                         does not have is never named as its root cause",
                        filled.filled,
                        if filled.filled == 1 { "" } else { "s" },
                        if table.source().is_empty() {
                            "the data"
                        } else {
                            table.source()
                        }
                    );
                }
                Ok(filled)
            }
            _ => {
                let rows = data::rows(table, schema)?;
                Ok(Filled {
                    observed: vec![vec![true; schema.features.len()]; rows.len()],
                    rows,
                    filled: 0,
                })
            }
        }
    }

    /// Scores and flags every row of `table`.
    pub fn detect(&self, table: &Table) -> Result<Vec<DetectRow>> {
        let rows = self.rows(table)?;
        let scores = self.detector.score(&rows)?;
        let t = self.detector.threshold();
        Ok(scores
            .into_iter()
            .enumerate()
            .map(|(i, s)| DetectRow {
                row: i + 1,
                score: s,
                threshold: t,
                is_anomaly: s > t,
            })
            .collect())
    }

    /// Root causes and per-feature evidence of the anomalous rows of `table` (every row with
    /// `all`), under `rule`.
    pub fn explain(
        &self,
        table: &Table,
        all: bool,
        rule: &RootCauseRule,
    ) -> Result<Vec<ExplainRow>> {
        self.explain_target(table, all, rule, None)
    }

    /// As [`Fitted::explain`], about an anomaly in one feature when `target` names it: only
    /// the target and its ancestors are candidates ([`crate::evidence`]).
    pub fn explain_target(
        &self,
        table: &Table,
        all: bool,
        rule: &RootCauseRule,
        target: Option<&str>,
    ) -> Result<Vec<ExplainRow>> {
        rule.validate()?;
        let eligible = self.eligible(target)?;
        let Filled { rows, observed, .. } = self.observed_rows(table)?;
        let det = self.detect_rows(&rows)?;
        let keep: Vec<usize> = (0..rows.len()).filter(|&i| all || det[i].1).collect();
        let picked: Vec<Vec<f64>> = pick(&rows, &keep);
        let flagged: Vec<bool> = keep.iter().map(|&i| det[i].1).collect();
        let query = Query {
            observed: &pick(&observed, &keep),
            flagged: &flagged,
            eligible: &eligible,
            at_least_one: target.is_none(),
        };
        let (sets, evidence) = self.locate(&picked, &query, rule)?;
        let names = self.manifest.schema.names();
        Ok(keep
            .iter()
            .zip(sets)
            .zip(evidence)
            .map(|((&i, set), ev)| ExplainRow {
                row: i + 1,
                score: det[i].0,
                is_anomaly: det[i].1,
                root_causes: set.iter().map(|&j| names[j].to_string()).collect(),
                evidence: ev,
            })
            .collect())
    }

    /// Recommendations for the anomalous rows of `table`, by `method`, aiming the
    /// counterfactual's score at `target` (which replaces `config.alpha`, except for a
    /// model without a normal-score distribution and the typical target). The search's
    /// randomness comes from `seed` (the model's seed when `None`).
    pub fn recommend(
        &self,
        table: &Table,
        config: &RecommendConfig,
        target: Target,
        method: RecommendMethod,
        rule: &RootCauseRule,
        seed: Option<u64>,
    ) -> Result<Vec<RecommendRow>> {
        config.validate()?;
        target.validate()?;
        rule.validate()?;
        let tau = self.detector.threshold();
        let alpha = target.alpha(self.manifest.normal_scores.as_deref(), tau, config.alpha);
        let config = &RecommendConfig {
            alpha,
            ..config.clone()
        };
        // The network's action stands when it reaches the target (the threshold target: when
        // the detector calls the row normal; the typical target: its score and plausibility);
        // otherwise the search starts from it.
        let good_enough = match target {
            Target::Threshold { .. } => tau,
            Target::Typical { .. } => alpha * tau,
        };
        let support = self.manifest.support.as_ref();
        // With the typical target and a normal support: how far each row lies beyond the
        // distance from the normal rows that the least plausibility allows.
        let shortfall = match (target, support) {
            (
                Target::Typical {
                    min_plausibility, ..
                },
                Some(s),
            ) => Some((s, s.radius(min_plausibility))).filter(|(_, r)| r.is_finite()),
            _ => None,
        }
        .map(|(s, radius)| move |xs: &[Vec<f64>]| -> Vec<f64> { s.shortfalls(xs, radius) });
        let requirement: Option<&search::Requirement<'_>> =
            shortfall.as_ref().map(|f| f as &search::Requirement<'_>);
        let network = match (method, &self.network) {
            (RecommendMethod::Search, _) | (RecommendMethod::Auto, None) => None,
            (_, Some(n)) => Some(n),
            (RecommendMethod::Network, None) => {
                return Err(Error::invalid(
                    "this model has no recourse network (it was fitted with --recourse search); \
                     use --method search, or refit with --recourse network",
                ));
            }
        };
        let Filled { rows, observed, .. } = self.observed_rows(table)?;
        let det = self.detect_rows(&rows)?;
        let keep: Vec<usize> = (0..rows.len()).filter(|&i| det[i].1).collect();
        let picked: Vec<Vec<f64>> = pick(&rows, &keep);
        let query = Query {
            observed: &pick(&observed, &keep),
            flagged: &vec![true; picked.len()],
            eligible: &vec![true; self.dag.len()],
            at_least_one: true,
        };
        let (sets, _) = self.locate(&picked, &query, rule)?;
        let costs = FeatureCosts::from_schema(&self.manifest.schema, &self.manifest.feature_sd)?;
        let detector = self.detector.as_ref();
        let mut recs: Vec<Option<(Recommendation, ActionSource)>> = vec![None; picked.len()];
        let mut start = self.start_actions(&picked)?;
        if let Some(net) = network {
            let actions = net.actions(&picked, &sets, &self.manifest.schema)?;
            let interventions: Vec<Intervention> =
                actions.iter().map(|a| Intervention::shifts(a)).collect();
            let cfs = self.causal.counterfactual_batch(&picked, &interventions)?;
            let after = detector.score(&cfs)?;
            let before = detector.score(&picked)?;
            for (r, ((cf, action), iv)) in
                cfs.into_iter().zip(actions).zip(&interventions).enumerate()
            {
                let rec = Recommendation {
                    features: iv.shift.iter().map(|&(j, _)| j).collect(),
                    cost: costs.cost_of(&action),
                    feasible: costs.feasible(&cf),
                    score_before: before[r],
                    score_after: after[r],
                    flips: after[r] <= tau,
                    counterfactual: cf,
                    action,
                    iterations: 0,
                };
                let keep_it = method == RecommendMethod::Network
                    || (rec.score_after <= good_enough
                        && rec.feasible
                        && requirement.is_none_or(|req| {
                            req(std::slice::from_ref(&rec.counterfactual))[0] == 0.0
                        }));
                if !keep_it && !iv.shift.is_empty() {
                    // The search starts from the network's action.
                    start[r] = rec.action.clone();
                }
                if keep_it {
                    recs[r] = Some((rec, ActionSource::Network));
                }
            }
        }
        let todo: Vec<usize> = (0..picked.len()).filter(|&r| recs[r].is_none()).collect();
        if !todo.is_empty() {
            let score = |r: &[Vec<f64>]| detector.score(r);
            let mut rng = self.rng(seed, "recommend");
            let found = search::recommend_from(
                config,
                self.causal.as_ref(),
                &score,
                tau,
                &pick(&picked, &todo),
                &pick(&sets, &todo),
                &pick(&start, &todo),
                &costs,
                requirement,
                &mut rng,
            )?;
            for (&r, rec) in todo.iter().zip(found) {
                recs[r] = Some((rec, ActionSource::Search));
            }
        }
        let names = self.manifest.schema.names();
        let name_of = |v: &[usize]| v.iter().map(|&j| names[j].to_string()).collect();
        Ok(keep
            .iter()
            .zip(sets)
            .zip(recs)
            .map(|((&i, set), r)| {
                let (r, method) = r.expect("every row has a recommendation");
                let plausibility = support.map_or(f64::NAN, |s| s.plausibility(&r.counterfactual));
                RecommendRow {
                    row: i + 1,
                    root_causes: name_of(&set),
                    acted_on: name_of(&r.features),
                    action: r.action,
                    counterfactual: r.counterfactual,
                    score_before: r.score_before,
                    score_after: r.score_after,
                    threshold: tau,
                    flips: r.flips,
                    cost: r.cost,
                    feasible: r.feasible,
                    plausibility,
                    method,
                }
            })
            .collect())
    }

    /// Where the search starts: with one noise value per node, the action that moves every
    /// node's abducted noise back to its normal median (the search keeps only the entries of
    /// the features it may act on); no action otherwise.
    fn start_actions(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let d = self.dag.len();
        match &self.manifest.noise_median {
            Some(median) if !rows.is_empty() => Ok(self
                .causal
                .abduct_batch(rows)?
                .into_iter()
                .map(|u| (0..d).map(|j| median[j] - u[j]).collect())
                .collect()),
            _ => Ok(vec![vec![0.0; d]; rows.len()]),
        }
    }

    fn detect_rows(&self, rows: &[Vec<f64>]) -> Result<Vec<(f64, bool)>> {
        let t = self.detector.threshold();
        Ok(self
            .detector
            .score(rows)?
            .into_iter()
            .map(|s| (s, s > t))
            .collect())
    }
}

/// The entries `idx` of `v`.
pub(crate) fn pick<T: Clone>(v: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|&i| v[i].clone()).collect()
}

fn num(v: impl IntoIterator<Item = f64>) -> Column {
    Column::Num(v.into_iter().collect())
}

fn flag(v: impl IntoIterator<Item = bool>) -> Column {
    num(v.into_iter().map(|b| if b { 1.0 } else { 0.0 }))
}

/// Columns `row`, `score`, `threshold`, `is_anomaly` (1/0).
pub fn detect_table(rows: &[DetectRow]) -> Result<Table> {
    Table::new(vec![
        ("row".into(), num(rows.iter().map(|r| r.row as f64))),
        ("score".into(), num(rows.iter().map(|r| r.score))),
        ("threshold".into(), num(rows.iter().map(|r| r.threshold))),
        ("is_anomaly".into(), flag(rows.iter().map(|r| r.is_anomaly))),
    ])
}

/// Columns `row`, `score`, `is_anomaly`, `root_causes` (names joined by `|`) and, per
/// candidate feature, `score_<name>`, `pvalue_<name>`, `rank_<name>` and `deviation_<name>`
/// ([`Evidence`]).
pub fn explain_table(model: &Fitted, rows: &[ExplainRow]) -> Result<Table> {
    let mut cols = vec![
        ("row".to_string(), num(rows.iter().map(|r| r.row as f64))),
        ("score".into(), num(rows.iter().map(|r| r.score))),
        ("is_anomaly".into(), flag(rows.iter().map(|r| r.is_anomaly))),
        (
            "root_causes".into(),
            Column::Text(rows.iter().map(|r| r.root_causes.join("|")).collect()),
        ),
    ];
    for (k, name) in model.candidates().iter().enumerate() {
        cols.push((
            format!("score_{name}"),
            num(rows.iter().map(|r| r.evidence[k].score)),
        ));
        cols.push((
            format!("pvalue_{name}"),
            num(rows.iter().map(|r| r.evidence[k].pvalue)),
        ));
        cols.push((
            format!("rank_{name}"),
            num(rows.iter().map(|r| r.evidence[k].rank as f64)),
        ));
        cols.push((
            format!("deviation_{name}"),
            num(rows.iter().map(|r| r.evidence[k].deviation)),
        ));
    }
    Table::new(cols)
}

/// One line per row and candidate feature: `row`, `score` (the detector's), `is_anomaly`,
/// `feature`, `root_cause` (1/0), `rank`, `pvalue`, `feature_score`, `deviation`; lines of a
/// row by rank.
pub fn explain_long_table(model: &Fitted, rows: &[ExplainRow]) -> Result<Table> {
    let names = model.candidates();
    let mut lines: Vec<(&ExplainRow, usize)> = Vec::new();
    for r in rows {
        let mut ks: Vec<usize> = (0..names.len()).collect();
        // Rank 0 (not a candidate of the query's target) last.
        ks.sort_by_key(|&k| (r.evidence[k].rank == 0, r.evidence[k].rank));
        lines.extend(ks.into_iter().map(|k| (r, k)));
    }
    let ev = |f: fn(&Evidence) -> f64| num(lines.iter().map(move |(r, k)| f(&r.evidence[*k])));
    Table::new(vec![
        (
            "row".to_string(),
            num(lines.iter().map(|(r, _)| r.row as f64)),
        ),
        ("score".into(), num(lines.iter().map(|(r, _)| r.score))),
        (
            "is_anomaly".into(),
            flag(lines.iter().map(|(r, _)| r.is_anomaly)),
        ),
        (
            "feature".into(),
            Column::Text(lines.iter().map(|(_, k)| names[*k].clone()).collect()),
        ),
        (
            "root_cause".into(),
            flag(
                lines
                    .iter()
                    .map(|(r, k)| r.root_causes.contains(&names[*k])),
            ),
        ),
        ("rank".into(), ev(|e| e.rank as f64)),
        ("pvalue".into(), ev(|e| e.pvalue)),
        ("feature_score".into(), ev(|e| e.score)),
        ("deviation".into(), ev(|e| e.deviation)),
    ])
}

/// Columns `row`, `root_causes`, `action_<name>` per actionable continuous feature,
/// `cf_<name>` per feature (categorical ones as level text), `score_before`, `score_after`,
/// `threshold`, `flips` (1/0), `cost`, `feasible` (1/0), `method` (`network` or `search`).
pub fn recommend_table(model: &Fitted, rows: &[RecommendRow]) -> Result<Table> {
    let schema = &model.manifest.schema;
    let mut cols = vec![
        ("row".to_string(), num(rows.iter().map(|r| r.row as f64))),
        (
            "root_causes".into(),
            Column::Text(rows.iter().map(|r| r.root_causes.join("|")).collect()),
        ),
    ];
    for name in model.action_features() {
        let j = schema.names().iter().position(|n| *n == name).unwrap_or(0);
        cols.push((
            format!("action_{name}"),
            num(rows.iter().map(|r| r.action[j])),
        ));
    }
    for (j, f) in schema.features.iter().enumerate() {
        let col = model.feature_column(j, rows.iter().map(|r| r.counterfactual[j]));
        cols.push((format!("cf_{}", f.name), col));
    }
    cols.extend([
        (
            "score_before".to_string(),
            num(rows.iter().map(|r| r.score_before)),
        ),
        (
            "score_after".into(),
            num(rows.iter().map(|r| r.score_after)),
        ),
        ("threshold".into(), num(rows.iter().map(|r| r.threshold))),
        ("flips".into(), flag(rows.iter().map(|r| r.flips))),
        ("cost".into(), num(rows.iter().map(|r| r.cost))),
        ("feasible".into(), flag(rows.iter().map(|r| r.feasible))),
        (
            "plausibility".into(),
            num(rows.iter().map(|r| r.plausibility)),
        ),
        (
            "method".into(),
            Column::Text(rows.iter().map(|r| r.method.as_str().to_string()).collect()),
        ),
    ]);
    Table::new(cols)
}
