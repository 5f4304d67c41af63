//! Per-row recommendation by derivative-free search: for each anomalous row, the action θ on its
//! (actionable) root-cause features that minimises
//! `max(g(x(θ)) − α·τ, 0)/τ + λ‖c ⊙ θ/sd‖₂`, where `x(θ)` is the causal model's counterfactual
//! under the soft interventions `x_i ← f_i(pa_i, u_i) + θ_i` (RootCLAM paper Eq. 2, 3), `g` the
//! detector's score, `τ` its threshold, `c` the schema's cost weights and `sd` the features'
//! training standard deviations. The hinge is divided by `τ` so that `λ` does not depend on the
//! detector's scale (the same minimiser as the paper's objective with `λ·τ`).
//!
//! The search is the cross-entropy method, batched over rows and candidates: each iteration
//! draws `population` candidate actions per active row around the current mean (the first
//! iteration also tries the start action and no action), evaluates all
//! of them with ONE [`CausalModel::counterfactual_batch`] call and ONE score call, keeps the
//! `elite` best, and moves the mean and the spread to theirs. A row stops early once its best
//! action flips it and the objective has stopped improving, or once the spread has collapsed.
//! Candidates whose counterfactual leaves a feature's `[lower, upper]` bounds rank below every
//! feasible one (by how far they leave them), so bounds are respected whenever a feasible
//! action is found. Only continuous, actionable features are ever acted on; all randomness
//! comes from the `rng` argument, one draw of which seeds each row's own stream together with
//! the row's values, so a row's answer does not depend on the other rows of the call.

use rand::Rng;
use remedy_core::schema::FeatureType;
use remedy_core::seed::{self, RemedyRng};
use remedy_core::traits::CausalModel;
use remedy_core::{Error, Intervention, Result, Schema};
use serde::{Deserialize, Serialize};

/// The detector's anomaly scores of raw rows (node order; categories as indices).
pub type RowScore<'a> = dyn Fn(&[Vec<f64>]) -> Result<Vec<f64>> + Sync + 'a;

/// A requirement on the counterfactual beyond the schema's bounds, for example plausibility
/// ([`crate::support`]): for each row, how far it falls short (0 when it meets it). Ranked as
/// the bounds are: a candidate that meets it and the bounds beats every one that does not.
pub type Requirement<'a> = dyn Fn(&[Vec<f64>]) -> Vec<f64> + Sync + 'a;

/// Settings of the search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecommendConfig {
    /// Weight λ of the action cost `‖c ⊙ θ/sd‖₂` against the hinge (in units of τ).
    pub lambda: f64,
    /// The hinge sits at α·τ; α < 1 leaves a margin below the threshold.
    pub alpha: f64,
    /// Candidate actions drawn per row and iteration.
    pub population: usize,
    /// Candidates kept to refit the sampling distribution.
    pub elite: usize,
    /// Maximum iterations.
    pub iterations: usize,
    /// Initial spread of the candidates, in training sds of each feature.
    pub init_sd: f64,
    /// Stop a row when every spread is below this (in sds).
    pub min_sd: f64,
    /// Weight of the elite's mean and spread in each update (1 = replace).
    pub smoothing: f64,
    /// Stop a row that flips once its objective improved by less than this (relative) over
    /// `patience` iterations.
    pub tolerance: f64,
    /// See `tolerance`.
    pub patience: usize,
    /// Threads the rows are searched on (each row's search is its own, so the results are
    /// bit-identical for any number; 1 searches on the caller's thread).
    pub threads: usize,
}

impl Default for RecommendConfig {
    /// λ = 0.05, α = 0.9, 64 candidates per row and iteration with 8 elite, at most 40
    /// iterations starting from a spread of 3 sds.
    fn default() -> Self {
        RecommendConfig {
            lambda: 0.05,
            alpha: 0.9,
            population: 64,
            elite: 8,
            iterations: 40,
            init_sd: 3.0,
            min_sd: 0.01,
            smoothing: 0.8,
            tolerance: 1e-3,
            patience: 4,
            threads: DEFAULT_THREADS,
        }
    }
}

/// Two threads: on the 2-core machine of docs/PERFORMANCE.md, `recommend` on the 864 flagged
/// rows of a generated Loan test set took 11.3 and 10.9 s on one, 6.0 and 6.0 s on two.
pub const DEFAULT_THREADS: usize = 2;

impl RecommendConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, v: f64| Error::invalid(format!("recommend: {what} is {v}"));
        if !(self.lambda.is_finite() && self.lambda >= 0.0) {
            return Err(bad("lambda (must be >= 0)", self.lambda));
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(bad("alpha (must be >= 0)", self.alpha));
        }
        if self.population < 2 || self.elite == 0 || self.elite > self.population {
            return Err(Error::invalid(format!(
                "recommend: population {} and elite {} must satisfy 1 <= elite <= population, \
                 population >= 2",
                self.population, self.elite
            )));
        }
        if !(self.init_sd.is_finite() && self.init_sd > 0.0) {
            return Err(bad("init_sd (must be > 0)", self.init_sd));
        }
        if !(self.smoothing > 0.0 && self.smoothing <= 1.0) {
            return Err(bad("smoothing (must be in (0, 1])", self.smoothing));
        }
        Ok(())
    }
}

/// What acting on each feature costs and where its values may go, in node order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureCosts {
    /// Feature names.
    pub names: Vec<String>,
    /// Whether an action may touch the feature (actionable and continuous).
    pub actionable: Vec<bool>,
    /// Cost weight c_i.
    pub cost: Vec<f64>,
    /// Training sd; actions are searched and costed in these units.
    pub sd: Vec<f64>,
    /// Lowest allowed counterfactual value.
    pub lower: Vec<Option<f64>>,
    /// Highest allowed counterfactual value.
    pub upper: Vec<Option<f64>>,
}

impl FeatureCosts {
    /// From a schema and the features' training sds (a non-positive or non-finite sd counts
    /// as 1). Only continuous actionable features may be acted on: a shift of a binary or
    /// categorical value has no meaning.
    pub fn from_schema(schema: &Schema, sd: &[f64]) -> Result<Self> {
        if sd.len() != schema.features.len() {
            return Err(Error::invalid(format!(
                "{} sds for {} features",
                sd.len(),
                schema.features.len()
            )));
        }
        let f = &schema.features;
        Ok(FeatureCosts {
            names: f.iter().map(|f| f.name.clone()).collect(),
            actionable: f
                .iter()
                .map(|f| f.actionable && f.kind == FeatureType::Continuous)
                .collect(),
            cost: f.iter().map(|f| f.cost).collect(),
            sd: sd
                .iter()
                .map(|&s| if s.is_finite() && s > 0.0 { s } else { 1.0 })
                .collect(),
            lower: f.iter().map(|f| f.lower).collect(),
            upper: f.iter().map(|f| f.upper).collect(),
        })
    }

    /// `‖c ⊙ θ/sd‖₂` of an action θ in original units (one value per node).
    pub fn cost_of(&self, action: &[f64]) -> f64 {
        action
            .iter()
            .enumerate()
            .map(|(j, a)| (self.cost[j] * a / self.sd[j]).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    /// Whether a row respects every bound.
    pub fn feasible(&self, x: &[f64]) -> bool {
        self.violation(x) == 0.0
    }

    /// How far (in sds, summed) a row leaves the bounds; 0 when it respects them.
    fn violation(&self, x: &[f64]) -> f64 {
        let mut v = 0.0;
        for (j, &xj) in x.iter().enumerate() {
            if let Some(lo) = self.lower[j]
                && xj < lo
            {
                v += (lo - xj) / self.sd[j];
            }
            if let Some(hi) = self.upper[j]
                && xj > hi
            {
                v += (xj - hi) / self.sd[j];
            }
        }
        v
    }
}

/// The recommendation for one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The features the search could act on (node indices, ascending): the row's actionable
    /// root causes, or every actionable feature when it has none.
    pub features: Vec<usize>,
    /// The action θ per node, in original units (0 where not acted on).
    pub action: Vec<f64>,
    /// The counterfactual row under the action.
    pub counterfactual: Vec<f64>,
    /// Detector score of the row as it is.
    pub score_before: f64,
    /// Detector score of the counterfactual.
    pub score_after: f64,
    /// `score_after <= τ`.
    pub flips: bool,
    /// `‖c ⊙ θ/sd‖₂`.
    pub cost: f64,
    /// Whether the counterfactual respects every bound of the schema.
    pub feasible: bool,
    /// Search iterations used.
    pub iterations: usize,
}

/// Least spread (in sds) of a row's search while its best action misses the bounds or the
/// requirement.
const UNMET_SPREAD: f64 = 0.3;

/// Orders candidates: feasible before infeasible (by violation), then by objective.
fn key_less(a: (f64, f64), b: (f64, f64)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1))
}

/// One standard normal draw (Box–Muller; two uniforms per draw keep the stream simple).
fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The detector's scores of the candidates whose rank can depend on them (`None` for the
/// others). Candidates come in blocks of `population` per row, ranked by how far they miss the
/// bounds and the requirement first and by the objective (`objective(i, g)`, the hinge on the
/// score plus the action's cost) second; only the best and the `elite` first of a block are
/// used. So a score is wanted only:
/// - between candidates that miss by exactly as much: those that miss nothing, ties, and each
///   block's least miss (the row's best of the iteration, whose score and objective the row
///   keeps). While a row misses the plausibility requirement most of its candidates are ranked
///   by the miss alone;
/// - and, where more than `elite` candidates miss nothing, for those whose cost alone (the
///   objective with the hinge at 0, never above it) could still place them among the elite:
///   the `elite` cheapest are scored first, then the others whose cost is at most the worst
///   objective among those. Each unscored one ranks behind `elite` others either way.
///
/// The best and the elite, and so every answer, are the same as with every candidate scored
/// (each row is scored on its own: a row's score does not depend on the rows batched with it),
/// unless the detector returns a non-finite score for a candidate left unscored, which would
/// then rank by its miss instead of last.
fn score_where_it_ranks(
    score: &RowScore<'_>,
    cfs: &[Vec<f64>],
    miss: &[Option<f64>],
    population: usize,
    elite: usize,
    objective: &dyn Fn(usize, f64) -> f64,
) -> Result<Vec<Option<f64>>> {
    let mut g = vec![None; cfs.len()];
    let run = |wanted: Vec<usize>, g: &mut Vec<Option<f64>>| -> Result<()> {
        let rows: Vec<Vec<f64>> = wanted.iter().map(|&i| cfs[i].clone()).collect();
        for (i, v) in wanted.into_iter().zip(score(&rows)?) {
            g[i] = Some(v);
        }
        Ok(())
    };
    let mut first = Vec::new();
    // Blocks with more candidates that miss nothing than the elite: the cheapest, scored
    // first, and the rest as (cost, candidate), cheapest first.
    type Deferred = (Vec<usize>, Vec<(f64, usize)>);
    let mut deferred: Vec<Deferred> = Vec::new();
    for (b, block) in miss.chunks(population).enumerate() {
        let at = b * population;
        let zero: Vec<usize> = (0..block.len())
            .filter(|&c| block[c] == Some(0.0))
            .map(|c| at + c)
            .collect();
        if zero.len() > elite {
            let mut by_cost: Vec<(f64, usize)> = zero
                .iter()
                .map(|&i| (objective(i, f64::NEG_INFINITY), i))
                .collect();
            by_cost.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let rest = by_cost.split_off(elite);
            let picks: Vec<usize> = by_cost.into_iter().map(|(_, i)| i).collect();
            first.extend(&picks);
            deferred.push((picks, rest));
            continue;
        }
        let mut sorted: Vec<f64> = block.iter().flatten().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let Some(&least) = sorted.first() else {
            continue;
        };
        let tied =
            |m: f64| sorted.partition_point(|&v| v < m) + 1 < sorted.partition_point(|&v| v <= m);
        first.extend(block.iter().enumerate().filter_map(|(c, m)| {
            let m = (*m)?;
            (m == 0.0 || m == least || tied(m)).then_some(at + c)
        }));
    }
    run(first, &mut g)?;
    let mut second = Vec::new();
    for (picks, rest) in deferred {
        let worst = picks
            .iter()
            .map(|&i| match g[i] {
                Some(v) if v.is_finite() => objective(i, v),
                _ => f64::INFINITY,
            })
            .fold(f64::NEG_INFINITY, f64::max);
        second.extend(
            rest.into_iter()
                .filter(|&(c, _)| c <= worst)
                .map(|(_, i)| i),
        );
    }
    if !second.is_empty() {
        run(second, &mut g)?;
    }
    Ok(g)
}

/// Per-row search state.
struct RowState {
    /// The row's own random stream (from the call's seed and the row's values).
    rng: RemedyRng,
    features: Vec<usize>,
    mean: Vec<f64>,
    spread: Vec<f64>,
    best_z: Vec<f64>,
    best_key: (f64, f64),
    best_cf: Vec<f64>,
    best_score: f64,
    history: Vec<f64>,
    /// How far the best action missed the bounds and the requirement, per iteration.
    shortfall: Vec<f64>,
    iterations: usize,
    done: bool,
}

/// Finds an action for every row, starting the search from no action. `root_causes[r]` are
/// node indices; non-actionable ones are dropped, and a row left with none may act on every
/// actionable feature. `score`/`threshold` are the detector's. Fails when no feature is
/// actionable or the shapes disagree.
#[allow(clippy::too_many_arguments)]
pub fn recommend<R: Rng + ?Sized>(
    config: &RecommendConfig,
    model: &dyn CausalModel,
    score: &RowScore<'_>,
    threshold: f64,
    rows: &[Vec<f64>],
    root_causes: &[Vec<usize>],
    costs: &FeatureCosts,
    rng: &mut R,
) -> Result<Vec<Recommendation>> {
    let zeros = vec![vec![0.0; model.node_names().len()]; rows.len()];
    recommend_from(
        config,
        model,
        score,
        threshold,
        rows,
        root_causes,
        &zeros,
        costs,
        None,
        rng,
    )
}

/// [`recommend`] with the search of row `r` centred first on the action `start[r]` (one value
/// per node, original units; entries of features the row may not act on are ignored), e.g.
/// the action that moves the root causes' abducted noise back to its normal median. Both that
/// start and no action at all are evaluated, so a poor start cannot do worse than none.
/// `requirement`, when given, ranks with the bounds ([`Requirement`]): a row's search stops
/// early only once its best action meets it.
#[allow(clippy::too_many_arguments)]
pub fn recommend_from<R: Rng + ?Sized>(
    config: &RecommendConfig,
    model: &dyn CausalModel,
    score: &RowScore<'_>,
    threshold: f64,
    rows: &[Vec<f64>],
    root_causes: &[Vec<usize>],
    start: &[Vec<f64>],
    costs: &FeatureCosts,
    requirement: Option<&Requirement<'_>>,
    rng: &mut R,
) -> Result<Vec<Recommendation>> {
    config.validate()?;
    let d = model.node_names().len();
    if costs.names.as_slice() != model.node_names() {
        return Err(Error::invalid(format!(
            "the costs are for features ({}) but the causal model has nodes ({})",
            costs.names.join(", "),
            model.node_names().join(", ")
        )));
    }
    if rows.len() != root_causes.len() || rows.len() != start.len() {
        return Err(Error::invalid(format!(
            "{} rows but {} root-cause sets and {} start actions",
            rows.len(),
            root_causes.len(),
            start.len()
        )));
    }
    if let Some(r) = start
        .iter()
        .position(|s| s.len() != d || s.iter().any(|v| !v.is_finite()))
    {
        return Err(Error::invalid(format!(
            "start action {} must hold {d} finite values",
            r + 1
        )));
    }
    if let Some(r) = rows.iter().position(|r| r.len() != d) {
        return Err(Error::invalid(format!(
            "row {} has {} values, the model has {d} features",
            r + 1,
            rows[r].len()
        )));
    }
    if !(threshold.is_finite() && threshold > 0.0) {
        return Err(Error::invalid(format!(
            "the detector's threshold is {threshold}; recommend needs a positive threshold"
        )));
    }
    let all_actionable: Vec<usize> = (0..d).filter(|&j| costs.actionable[j]).collect();
    if all_actionable.is_empty() {
        return Err(Error::invalid(
            "no feature is actionable: mark continuous features `actionable = true` in the schema",
        ));
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // One draw from the caller's generator seeds every row's own stream: a row's search does
    // not depend on which other rows share the call (batches of a file, Spark partitions).
    let base: u64 = rng.random();
    let search = Search {
        config,
        model,
        score,
        requirement,
        tau: threshold,
        d,
        costs,
        all_actionable: &all_actionable,
        base,
    };
    let threads = config.threads.clamp(1, rows.len());
    if threads == 1 {
        return search.rows(rows, root_causes, start);
    }
    // Row r goes to thread r mod n (rows of one kind tend to come together in a file, so
    // interleaving shares the hard ones out), and its answer back to its place.
    let parts: Vec<Result<Vec<Recommendation>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let search = &search;
                scope.spawn(move || {
                    let idx: Vec<usize> = (t..rows.len()).step_by(threads).collect();
                    let pick = |v: &[Vec<f64>]| idx.iter().map(|&i| v[i].clone()).collect();
                    let picked: Vec<Vec<f64>> = pick(rows);
                    let sets: Vec<Vec<usize>> =
                        idx.iter().map(|&i| root_causes[i].clone()).collect();
                    search.rows(&picked, &sets, &pick(start))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut parts = parts
        .into_iter()
        .map(|p| p.map(Vec::into_iter))
        .collect::<Result<Vec<_>>>()?;
    Ok((0..rows.len())
        .map(|r| parts[r % threads].next().expect("one answer per row"))
        .collect())
}

/// One call's search, shared by the threads that search its rows.
struct Search<'a> {
    config: &'a RecommendConfig,
    model: &'a dyn CausalModel,
    score: &'a RowScore<'a>,
    requirement: Option<&'a Requirement<'a>>,
    tau: f64,
    d: usize,
    costs: &'a FeatureCosts,
    all_actionable: &'a [usize],
    /// Seeds every row's own stream, with the row's values.
    base: u64,
}

impl Search<'_> {
    /// The search of `rows` (validated by [`recommend_from`]).
    fn rows(
        &self,
        rows: &[Vec<f64>],
        root_causes: &[Vec<usize>],
        start: &[Vec<f64>],
    ) -> Result<Vec<Recommendation>> {
        let Search {
            config,
            model,
            score,
            requirement,
            tau,
            d,
            costs,
            all_actionable,
            base,
        } = *self;
        let before = score(rows)?;
        let short = |xs: &[Vec<f64>]| -> Vec<f64> {
            match requirement {
                Some(req) => req(xs),
                None => vec![0.0; xs.len()],
            }
        };
        let short_before = short(rows);
        let objective = |g: f64, z: &[f64], features: &[usize]| -> f64 {
            let c: f64 = features
                .iter()
                .zip(z)
                .map(|(&j, zj)| (costs.cost[j] * zj).powi(2))
                .sum::<f64>()
                .sqrt();
            (g - config.alpha * tau).max(0.0) / tau + config.lambda * c
        };
        let mut states: Vec<RowState> = rows
            .iter()
            .zip(root_causes)
            .zip(&before)
            .zip(start)
            .zip(&short_before)
            .map(|((((x, rc), &g), st), &sh)| {
                let mut features: Vec<usize> = rc
                    .iter()
                    .copied()
                    .filter(|&j| j < d && costs.actionable[j])
                    .collect();
                features.sort_unstable();
                features.dedup();
                if features.is_empty() {
                    features = all_actionable.to_vec();
                }
                let k = features.len();
                let zero = vec![0.0; k];
                let mean: Vec<f64> = features.iter().map(|&j| st[j] / costs.sd[j]).collect();
                RowState {
                    rng: seed::rng(seed::derive_for_values(base, x)),
                    best_key: (costs.violation(x) + sh, objective(g, &zero, &features)),
                    mean,
                    spread: vec![config.init_sd; k],
                    best_z: zero,
                    best_cf: x.clone(),
                    best_score: g,
                    features,
                    history: Vec::new(),
                    shortfall: Vec::new(),
                    iterations: 0,
                    done: false,
                }
            })
            .collect();
        for it in 0..config.iterations {
            let active: Vec<usize> = (0..states.len()).filter(|&r| !states[r].done).collect();
            if active.is_empty() {
                break;
            }
            // Draw every active row's candidates; candidate 0 is the current mean.
            let mut xs = Vec::with_capacity(active.len() * config.population);
            let mut ivs = Vec::with_capacity(active.len() * config.population);
            let mut zs: Vec<Vec<f64>> = Vec::with_capacity(active.len() * config.population);
            for &r in &active {
                let s = &mut states[r];
                for c in 0..config.population {
                    let z: Vec<f64> = (0..s.mean.len())
                        .map(|j| match c {
                            0 => s.mean[j],
                            1 if it == 0 => 0.0,
                            _ => s.mean[j] + s.spread[j] * normal(&mut s.rng),
                        })
                        .collect();
                    ivs.push(Intervention {
                        shift: s
                            .features
                            .iter()
                            .zip(&z)
                            .map(|(&j, zj)| (j, zj * costs.sd[j]))
                            .collect(),
                        set: Vec::new(),
                    });
                    xs.push(rows[r].clone());
                    zs.push(z);
                }
            }
            let cfs = model.counterfactual_batch(&xs, &ivs)?;
            // A row's candidates at a time: they lie close together, which the requirement
            // may use (NormalSupport::shortfalls).
            let shortfall: Vec<f64> = cfs.chunks(config.population).flat_map(short).collect();
            // How far each candidate misses the bounds and the requirement (None for a
            // counterfactual that is not finite, which ranks last).
            let miss: Vec<Option<f64>> = cfs
                .iter()
                .zip(&shortfall)
                .map(|(cf, &sh)| {
                    cf.iter()
                        .all(|v| v.is_finite())
                        .then(|| costs.violation(cf) + sh)
                })
                .collect();
            let objective_of = |i: usize, g: f64| {
                objective(g, &zs[i], &states[active[i / config.population]].features)
            };
            let g = score_where_it_ranks(
                score,
                &cfs,
                &miss,
                config.population,
                config.elite,
                &objective_of,
            )?;
            for (a, &r) in active.iter().enumerate() {
                let s = &mut states[r];
                s.iterations = it + 1;
                let base = a * config.population;
                let mut keyed: Vec<((f64, f64), usize)> = (base..base + config.population)
                    .map(|i| {
                        let key = match (miss[i], g[i]) {
                            (None, _) => (f64::INFINITY, f64::INFINITY),
                            // Not scored: its rank does not need it (see score_where_it_ranks).
                            (Some(m), None) => (m, f64::INFINITY),
                            (Some(m), Some(gi)) if gi.is_finite() => {
                                (m, objective(gi, &zs[i], &s.features))
                            }
                            (Some(_), Some(_)) => (f64::INFINITY, f64::INFINITY),
                        };
                        (key, i)
                    })
                    .collect();
                keyed.sort_by(|x, y| key_less(x.0, y.0));
                let (best_key, bi) = keyed[0];
                if key_less(best_key, s.best_key).is_lt() {
                    s.best_key = best_key;
                    s.best_z = zs[bi].clone();
                    s.best_cf = cfs[bi].clone();
                    s.best_score = g[bi].expect("a row's least miss is scored");
                }
                let elite: Vec<usize> = keyed[..config.elite].iter().map(|&(_, i)| i).collect();
                let w = config.smoothing;
                for (j, (mean, spread)) in s.mean.iter_mut().zip(s.spread.iter_mut()).enumerate() {
                    let m = elite.iter().map(|&i| zs[i][j]).sum::<f64>() / elite.len() as f64;
                    let v = elite.iter().map(|&i| (zs[i][j] - m).powi(2)).sum::<f64>()
                        / elite.len() as f64;
                    *mean = w * m + (1.0 - w) * *mean;
                    *spread = w * v.sqrt() + (1.0 - w) * *spread;
                    // While no candidate meets the bounds and the requirement, the elite are
                    // ranked by how far they miss them: a direction, not a basin, so the spread
                    // must not collapse before they are met.
                    if s.best_key.0 > 0.0 {
                        *spread = spread.max(UNMET_SPREAD);
                    }
                }
                s.history.push(s.best_key.1);
                let flipped = s.best_key.0 == 0.0 && s.best_score <= tau;
                let stalled = s.history.len() > config.patience && {
                    let old = s.history[s.history.len() - 1 - config.patience];
                    old - s.best_key.1 <= config.tolerance * old.abs().max(1e-12)
                };
                let collapsed = s.spread.iter().all(|&v| v < config.min_sd);
                // A row that misses the bounds or the requirement and has stopped closing the gap
                // over twice the patience will not meet them.
                s.shortfall.push(s.best_key.0);
                let hopeless = s.best_key.0 > 0.0 && s.shortfall.len() > 2 * config.patience && {
                    let old = s.shortfall[s.shortfall.len() - 1 - 2 * config.patience];
                    old - s.best_key.0 <= config.tolerance * old
                };
                if (flipped && (stalled || collapsed)) || hopeless {
                    s.done = true;
                } else if collapsed {
                    // The candidates have closed in on one action that does not make the row
                    // normal (the elite can agree on a slope's midway point within a few
                    // iterations): search again around the best action found, with the first
                    // iteration's spread, until the iterations run out.
                    s.mean = s.best_z.clone();
                    s.spread = vec![config.init_sd; s.spread.len()];
                }
            }
        }
        Ok(states
            .into_iter()
            .zip(before)
            .map(|(s, g0)| {
                let mut action = vec![0.0; d];
                for (&j, z) in s.features.iter().zip(&s.best_z) {
                    action[j] = z * costs.sd[j];
                }
                let cost = costs.cost_of(&action);
                let feasible = costs.feasible(&s.best_cf);
                Recommendation {
                    features: s.features,
                    action,
                    counterfactual: s.best_cf,
                    score_before: g0,
                    score_after: s.best_score,
                    flips: s.best_score <= tau,
                    cost,
                    feasible,
                    iterations: s.iterations,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
