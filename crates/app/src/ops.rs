//! Using a fitted model on new rows: detection, explanation (root causes and per-feature
//! scores) and recommendation (the cheapest action on the root causes that makes the row
//! normal, with its counterfactual), as plain row structs and as [`Table`]s for the CLI.

use remedy_core::schema::FeatureType;
use remedy_core::{Column, Error, Intervention, Result, Table};
use remedy_recourse::search::{self, FeatureCosts, RecommendConfig, Recommendation};

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

/// Explanation of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainRow {
    pub row: usize,
    pub score: f64,
    pub is_anomaly: bool,
    /// Root-cause features, in schema order.
    pub root_causes: Vec<String>,
    /// Score per candidate (actionable) feature, in [`Fitted::candidates`] order: `−ln` of the
    /// smoothed tail probability of the feature's noise; higher = more likely a root cause.
    pub scores: Vec<f64>,
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

    /// Root causes and per-feature scores of the anomalous rows of `table` (every row with
    /// `all`).
    pub fn explain(&self, table: &Table, all: bool) -> Result<Vec<ExplainRow>> {
        let rows = self.rows(table)?;
        let det = self.detect_rows(&rows)?;
        let keep: Vec<usize> = (0..rows.len()).filter(|&i| all || det[i].1).collect();
        let picked: Vec<Vec<f64>> = keep.iter().map(|&i| rows[i].clone()).collect();
        let (sets, scores) = self.locate(&picked)?;
        let names = self.manifest.schema.names();
        Ok(keep
            .iter()
            .zip(sets)
            .zip(scores)
            .map(|((&i, set), sc)| ExplainRow {
                row: i + 1,
                score: det[i].0,
                is_anomaly: det[i].1,
                root_causes: set.iter().map(|&j| names[j].to_string()).collect(),
                scores: sc,
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
        seed: Option<u64>,
    ) -> Result<Vec<RecommendRow>> {
        config.validate()?;
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
        let (sets, _) = self.locate(&picked)?;
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

    /// Root-cause sets (node indices) and candidate scores of rows.
    fn locate(&self, rows: &[Vec<f64>]) -> Result<Located> {
        if rows.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let noise = self.causal.abduct_batch(rows)?;
        let reference = &self.manifest.noise_reference;
        Ok((
            reference.flagged(&noise, self.manifest.pi)?,
            reference.scores(&noise)?,
        ))
    }
}

/// The entries `idx` of `v`.
fn pick<T: Clone>(v: &[T], idx: &[usize]) -> Vec<T> {
    idx.iter().map(|&i| v[i].clone()).collect()
}

/// Root-cause sets (node indices) and candidate scores, per row.
type Located = (Vec<Vec<usize>>, Vec<Vec<f64>>);

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

/// Columns `row`, `score`, `is_anomaly`, `root_causes` (names joined by `|`) and
/// `score_<name>` per candidate feature.
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
            num(rows.iter().map(|r| r.scores[k])),
        ));
    }
    Table::new(cols)
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
