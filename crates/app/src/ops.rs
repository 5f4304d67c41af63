//! Using a fitted model on new rows: detection, explanation (root causes and per-feature
//! scores) and recommendation (the cheapest action on the root causes that makes the row
//! normal, with its counterfactual), as plain row structs and as [`Table`]s for the CLI.

use remedy_core::schema::FeatureType;
use remedy_core::{Column, Error, Intervention, Result, Table};
use remedy_recourse::search::{self, FeatureCosts, RecommendConfig, Recommendation};
use remedy_rootcause::FamilyWise;

use crate::data;
use crate::model::Fitted;

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
    /// 1 for the row's most unusual feature (smallest p-value, then highest score).
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

    /// The model's feature rows of `table` (extra columns are ignored).
    pub fn rows(&self, table: &Table) -> Result<Vec<Vec<f64>>> {
        data::rows(table, &self.manifest.schema)
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
        rule.validate()?;
        let rows = self.rows(table)?;
        let det = self.detect_rows(&rows)?;
        let keep: Vec<usize> = (0..rows.len()).filter(|&i| all || det[i].1).collect();
        let picked: Vec<Vec<f64>> = keep.iter().map(|&i| rows[i].clone()).collect();
        let flagged: Vec<bool> = keep.iter().map(|&i| det[i].1).collect();
        let (sets, evidence) = self.locate(&picked, &flagged, rule)?;
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

    /// Recommendations for the anomalous rows of `table`, by `method`. The search's
    /// randomness comes from `seed` (the model's seed when `None`).
    pub fn recommend(
        &self,
        table: &Table,
        config: &RecommendConfig,
        method: RecommendMethod,
        rule: &RootCauseRule,
        seed: Option<u64>,
    ) -> Result<Vec<RecommendRow>> {
        config.validate()?;
        rule.validate()?;
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
        let rows = self.rows(table)?;
        let det = self.detect_rows(&rows)?;
        let keep: Vec<usize> = (0..rows.len()).filter(|&i| det[i].1).collect();
        let picked: Vec<Vec<f64>> = keep.iter().map(|&i| rows[i].clone()).collect();
        let (sets, _) = self.locate(&picked, &vec![true; picked.len()], rule)?;
        let costs = FeatureCosts::from_schema(&self.manifest.schema, &self.manifest.feature_sd)?;
        let detector = self.detector.as_ref();
        let tau = detector.threshold();
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
                let keep_it = method == RecommendMethod::Network || (rec.flips && rec.feasible);
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

    /// Root-cause sets (node indices) and candidate evidence of rows; `flagged[r]`: the
    /// detector flags row `r` (a family-wise rule then names at least its strongest feature).
    fn locate(&self, rows: &[Vec<f64>], flagged: &[bool], rule: &RootCauseRule) -> Result<Located> {
        if rows.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let noise = self.causal.abduct_batch(rows)?;
        let reference = &self.manifest.noise_reference;
        let scores = reference.scores(&noise)?;
        let pvalues = self
            .manifest
            .calibration
            .pvalues(&self.within_slack(rows, &noise)?)?;
        let blocks = reference.blocks();
        let evidence: Vec<Vec<Evidence>> = scores
            .iter()
            .zip(&pvalues)
            .zip(&noise)
            .map(|((sc, pv), u)| {
                let ranks = ranks(pv, sc);
                (0..blocks.len())
                    .map(|k| Evidence {
                        score: sc[k],
                        pvalue: pv[k],
                        rank: ranks[k],
                        deviation: self.deviation(blocks[k], u),
                    })
                    .collect()
            })
            .collect();
        let sets = match rule {
            RootCauseRule::Quantile { pi } => {
                reference.flagged(&noise, pi.unwrap_or(self.manifest.pi))?
            }
            RootCauseRule::FamilyWise(f) => evidence
                .iter()
                .zip(flagged)
                .map(|(ev, &is_anomaly)| {
                    let pv: Vec<f64> = ev.iter().map(|e| e.pvalue).collect();
                    let mut set: Vec<usize> = f.flag(&pv).into_iter().map(|k| blocks[k]).collect();
                    if is_anomaly
                        && set.is_empty()
                        && let Some(k) = ev.iter().position(|e| e.rank == 1)
                    {
                        set.push(blocks[k]);
                    }
                    set.sort_unstable();
                    set
                })
                .collect(),
        };
        Ok((sets, evidence))
    }

    /// The noise the p-values judge: each node's abducted noise moved towards its normal
    /// median by the causal model's slack for the row (how far the noise may be off because
    /// the row's parents lie outside the training data, [`remedy_causal::extrapolation`]),
    /// so a feature is judged at the least unusual noise its unknown mechanism allows. The
    /// noise itself when the model has no slack or the noise is not one value per node.
    fn within_slack(&self, rows: &[Vec<f64>], noise: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let (Some(median), Some(slack)) = (
            &self.manifest.noise_median,
            self.causal.noise_slack_batch(rows)?,
        ) else {
            return Ok(noise.to_vec());
        };
        Ok(noise
            .iter()
            .zip(slack)
            .map(|(u, s)| {
                u.iter()
                    .zip(median)
                    .zip(s)
                    .map(|((&v, &m), s)| m + (v - m).signum() * ((v - m).abs() - s).max(0.0))
                    .collect()
            })
            .collect())
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

/// Rank of each candidate (1 = strongest): smallest p-value first, then highest score, then
/// candidate order.
fn ranks(pvalues: &[f64], scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..pvalues.len()).collect();
    order.sort_by(|&a, &b| {
        pvalues[a]
            .total_cmp(&pvalues[b])
            .then(scores[b].total_cmp(&scores[a]))
            .then(a.cmp(&b))
    });
    let mut rank = vec![0; pvalues.len()];
    for (r, &k) in order.iter().enumerate() {
        rank[k] = r + 1;
    }
    rank
}

/// The entries `idx` of `v`.
fn pick<T: Clone>(v: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|&i| v[i].clone()).collect()
}

/// Root-cause sets (node indices) and candidate evidence, per row.
type Located = (Vec<Vec<usize>>, Vec<Vec<Evidence>>);

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
        ks.sort_by_key(|&k| r.evidence[k].rank);
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
        let col = match &f.kind {
            FeatureType::Categorical { levels } => Column::Text(
                rows.iter()
                    .map(|r| {
                        levels
                            .get(r.counterfactual[j] as usize)
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect(),
            ),
            _ => num(rows.iter().map(|r| r.counterfactual[j])),
        };
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
            "method".into(),
            Column::Text(rows.iter().map(|r| r.method.as_str().to_string()).collect()),
        ),
    ]);
    Table::new(cols)
}
