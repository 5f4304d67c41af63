//! RecAD on the time-series benchmarks (RecAD paper Tables 2-4, spec §5-§7): generate a
//! benchmark from a seed, train USAD on the normal series, GVAR (and the VAR, MLP and LSTM
//! predictor baselines) on the same series, learn the recourse network h_φ on the first half
//! of the abnormal test series, then walk the second half step by step in the benchmark's
//! exact world: whenever the window ending at a step is abnormal, each method acts on that
//! step and the series continues from the acted value with the series' own innovations.
//!
//! Departures from the reference code, each for a reason given in the spec:
//! - The evaluation world is re-simulated in raw units with every stored innovation, so θ = 0
//!   reproduces the observed series exactly (spec §9 item 4, §10 item 4); the baselines walk
//!   the same series and innovations as RecAD (spec §9 item 6).
//! - h_φ learns, in minibatches, from the window of each training series' first alarm,
//!   starting from θ = −ε̂, without look-ahead by default (see [`RecadSettings::new`] for the
//!   measurements behind that choice); on Linear a second round adds the windows still
//!   abnormal on walks of the GVAR abduction-action-prediction world with h_φ itself
//!   ([`RecadSettings::rounds`]); the look-ahead remains available (spec §10 item 8).
//! - Acting continues while windows stay abnormal (the reference stops four windows after the
//!   first alarm: [`RecadSettings::horizon`]), and every step is evaluated, the last included
//!   (spec §9 items 11-12).
//! - Metrics use the paper's definitions (spec §6): flipping ratio per acted step, cost and
//!   steps per abnormal series (series with at least one alarm), cost = mean_j θ_j² in z-space
//!   as the code, plus the cost in raw units and the share of series left fully normal.
//! - Detection AUCs come from continuous window scores, not binary predictions (spec §9 item
//!   18).
//! - No method's action may carry a variable beyond the range it took in the normal training
//!   series ([`RecadSettings::bounded`], on by default; not in the paper or the reference): on
//!   Lotka-Volterra an action below zero makes the exact world explode.

use std::collections::BTreeMap;
use std::time::Instant;

use remedy_causal::{
    GvarConfig, LstmPredictor, LstmPredictorConfig, MlpPredictor, MlpPredictorConfig, Var,
    VarConfig, granger_auroc,
};
use remedy_core::{Error, Result, seed};
use remedy_data::timeseries::{self, AnomalyType, TestSeries, TsBenchmark, TsConfig, World};
use remedy_detect::usad::{Usad, UsadConfig};
use remedy_nn::Observer;
use remedy_recourse::series::{SeriesModels, replace_policy};
use remedy_recourse::stream::{self, PolicyFn, SeriesOutcome, ValueBounds, WorldFn};
use remedy_recourse::{Recad, RecadConfig, RecourseTally};
use serde::{Deserialize, Serialize};

use crate::series_causes::SeriesCauses;

/// The recourse methods compared (paper §5.1.2), in table order.
pub const METHODS: [&str; 5] = ["mlp", "lstm", "var", "gvar", "recad"];

/// Settings of one experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct RecadSettings {
    pub dataset: TsBenchmark,
    pub anomaly: AnomalyType,
    pub seed: u64,
    /// Normal training series and abnormal test series (paper Table 1: 1000 / 5000); half of
    /// the test series train h_φ, the other half evaluate every method (paper §5.1.1).
    pub n_train: usize,
    pub n_test: usize,
    pub usad: UsadConfig,
    pub gvar: GvarConfig,
    pub recad: RecadConfig,
    pub mlp: MlpPredictorConfig,
    pub lstm: LstmPredictorConfig,
    pub var: VarConfig,
    /// Rounds of collecting windows for h_φ: the first takes each training series' first
    /// alarm, each further one walks the GVAR world with the h_φ just trained (which is then
    /// retrained on all windows collected).
    pub rounds: usize,
    /// Windows evaluated per series from its first alarm on (`None`: the whole series; the
    /// reference: 4).
    pub horizon: Option<usize>,
    /// Hold every method's actions within each variable's range over the normal training
    /// series ([`ValueBounds`]). Lotka-Volterra point seed 1 at the default sizes, RecAD's
    /// flip ratio: 0.787 unbounded (16 invalid actions after the world exploded), 0.924
    /// bounded.
    pub bounded: bool,
}

impl RecadSettings {
    /// The paper's sizes with our defaults for each benchmark (spec §4, departures in the
    /// module docs).
    pub fn new(dataset: TsBenchmark, anomaly: AnomalyType, seed: u64) -> Self {
        // Both benchmarks: no look-ahead (M = 0) and h_φ learns from each series' first alarm
        // only, not from walks of the GVAR world. The learnt GVAR continues an abnormal x_t
        // poorly (Eq. 11 abducts ε̂_{t+1} through GVAR(x_t) far from the training data), and
        // training through that continuation teaches harmful actions. Measured, seed 1, flip
        // ratio with (M = 1, two rounds) / (M = 1, one round) / (M = 0, one round): Linear
        // causal, 300 training / 1000 test series, 0.565 / 0.857 / 0.972; Linear point 0.955 /
        // - / 0.955; Lotka-Volterra point, 200 / 600 series, 0.004 / - / 0.991. The reference
        // also drops the look-ahead for MSDS (spec §4).
        let (usad, gvar, hidden) = match dataset {
            TsBenchmark::Linear => (UsadConfig::default(), GvarConfig::linear(), 50),
            // The paper's H = 100 (the reference code uses 1000, spec §9 item 13).
            TsBenchmark::LotkaVolterra => (
                UsadConfig::lotka_volterra(),
                GvarConfig::lotka_volterra(),
                100,
            ),
        };
        // Linear: a second round (walk the GVAR world with the h_φ just trained, add the
        // windows that are still abnormal, retrain) is Algorithm 1's training over the series;
        // at M = 0 it changed flip ratios by at most 0.004 over the nine Linear runs (mean 0.960
        // either way; point seed 2: 0.898 with one round, 0.902 with two). Lotka-Volterra keeps
        // one round: 0.924-1.000 over its nine runs at these sizes with bounded actions; two
        // rounds gave 0.04 on point seed 1 (GVAR's world keeps an acted Lotka-Volterra series
        // abnormal, so the second round learns from tens of thousands of such windows).
        let rounds = match dataset {
            TsBenchmark::Linear => 2,
            TsBenchmark::LotkaVolterra => 1,
        };
        let recad = RecadConfig::minibatch(hidden);
        RecadSettings {
            dataset,
            anomaly,
            seed,
            n_train: 1000,
            n_test: 5000,
            usad,
            gvar,
            recad,
            mlp: MlpPredictorConfig::default(),
            lstm: LstmPredictorConfig::default(),
            var: VarConfig::default(),
            rounds,
            horizon: None,
            bounded: true,
        }
    }
}

/// USAD's detection on all test series (paper Table 2): windows labelled abnormal when any of
/// their steps is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TsDetection {
    pub f1: f64,
    pub precision: f64,
    pub recall: f64,
    pub auroc: f64,
    pub auprc: f64,
    pub threshold: f64,
}

/// One method's recourse on the evaluation series (paper Tables 3-4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodResult {
    /// Flipped abnormal steps / detected abnormal steps.
    pub flip_ratio: f64,
    /// Σ over actions of mean_j θ_j² (z-space) per abnormal series.
    pub action_cost: f64,
    /// The same in raw units.
    pub action_cost_raw: f64,
    /// Actions per abnormal series.
    pub action_steps: f64,
    /// Actions taken and series with at least one alarm.
    pub actions: usize,
    pub abnormal_series: usize,
    /// Share of the abnormal series whose every evaluated window ended normal.
    pub series_normal: f64,
    /// Actions the method could not give (a non-finite prediction, e.g. a predictor run away
    /// after its own replacements): taken as no action, and counted as not flipped.
    pub invalid_actions: usize,
    /// Series whose world could not go on after the method's actions (non-finite values).
    pub diverged_series: usize,
    pub seconds: f64,
}

/// One evaluation series as each method left it, for the case figure (paper Figs. 4-5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecadCase {
    /// Index among the evaluation series.
    pub series: usize,
    pub names: Vec<String>,
    /// The event's steps and its root-cause variables.
    pub event_steps: Vec<usize>,
    pub root_causes: Vec<usize>,
    /// Raw rows: observed, anomaly-free counterpart, and the world after RecAD's and the GVAR
    /// baseline's actions.
    pub observed: Vec<Vec<f64>>,
    pub normal: Vec<Vec<f64>>,
    pub recad: Vec<Vec<f64>>,
    pub gvar: Vec<Vec<f64>>,
    /// RecAD's actions (step, θ in raw units).
    pub actions: Vec<(usize, Vec<f64>)>,
}

/// The result of one experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecadReport {
    pub dataset: String,
    pub anomaly: String,
    pub seed: u64,
    pub detection: TsDetection,
    /// GVAR's Granger scores against the true graph (off-diagonal entries).
    pub granger_auroc: f64,
    pub methods: BTreeMap<String, MethodResult>,
    /// Abnormal series training h_φ, windows it learnt from, and evaluation series.
    pub n_recourse_train: usize,
    pub n_training_windows: usize,
    pub n_recourse_test: usize,
    pub threshold: f64,
    /// Whether actions were held within the normal training range.
    pub bounded: bool,
    /// Root-cause variables at each abnormal test series' first alarm, against the shocked
    /// ones ([`crate::series_causes`]).
    #[serde(default)]
    pub root_causes: Option<SeriesCauses>,
    pub seconds: f64,
    /// A case for the report's figure (not part of the JSON output: it holds whole series).
    #[serde(skip)]
    pub case: Option<RecadCase>,
}

/// Runs one experiment.
pub fn run(settings: &RecadSettings, observer: &mut dyn Observer) -> Result<RecadReport> {
    let start = Instant::now();
    let s = settings;
    if s.n_train == 0 || s.n_test < 2 {
        return Err(Error::invalid(format!(
            "RecAD needs normal training series and at least 2 abnormal test series (got {} and {})",
            s.n_train, s.n_test
        )));
    }
    let config = TsConfig::new(s.n_train, s.n_test, s.anomaly);
    let data = timeseries::generate(s.dataset, &config, &mut seed::child(s.seed, "data"));
    let usad = s
        .usad
        .fit(data.train(), &mut seed::child(s.seed, "detector"), observer)?;
    let detection = detect(&usad, data.test())?;
    let train: Vec<Vec<Vec<f64>>> = data.train().to_vec();
    let gvar = s
        .gvar
        .fit(&train, &[], &mut seed::child(s.seed, "gvar"), observer)?;
    let bounds = ValueBounds::from_series(&train)?;
    let models = SeriesModels::new(&usad, &gvar)?;
    let models = if s.bounded {
        models.with_bounds(&bounds)?
    } else {
        models
    };
    let granger = granger_auroc(&gvar.granger_scores(), data.graph(), false)?;
    let root_causes = crate::series_causes::evaluate(&models, &train, data.test())?;
    let half = s.n_test / 2;
    let (rec_train, rec_test) = data.test().split_at(half);
    let tau = usad.threshold;

    // h_φ learns from the first half of the abnormal series, walked in the GVAR world.
    let train_obs: Vec<&[Vec<f64>]> = rec_train.iter().map(|t| t.observed()).collect();
    let (recad, training) = models.train_recad(
        &train_obs,
        &s.recad,
        s.rounds,
        s.horizon,
        &mut seed::child(s.seed, "recad"),
        observer,
    )?;

    // The baselines' predictors, on the same normal series.
    let baselines = Baselines::fit(&train, (&s.var, &s.mlp, &s.lstm), s.seed, observer)?;

    // Evaluation: every method walks the same series in the exact world.
    let test_obs: Vec<&[Vec<f64>]> = rec_test.iter().map(|t| t.observed()).collect();
    let score = |ws: &[&[Vec<f64>]]| models.score(ws);
    let stream_config = models.stream_config(s.horizon);
    let mut methods = BTreeMap::new();
    let mut kept: BTreeMap<&str, Vec<SeriesOutcome>> = BTreeMap::new();
    for name in METHODS {
        let t0 = Instant::now();
        let policy = baselines.policy(name, &models, &recad);
        let mut world = exact_world(rec_test);
        let out = stream::walk(
            &test_obs,
            &stream_config,
            &score,
            policy.as_ref(),
            world.as_mut(),
        )?;
        let result = summarise(&out, &usad.std, tau, t0.elapsed().as_secs_f64());
        tracing::info!(
            method = name,
            flip_ratio = result.flip_ratio,
            "recourse evaluated"
        );
        methods.insert(name.to_string(), result);
        kept.insert(name, out);
    }
    let case = pick_case(rec_test, &kept, data.names());
    Ok(RecadReport {
        dataset: s.dataset.name().to_string(),
        anomaly: s.anomaly.name().to_string(),
        seed: s.seed,
        detection,
        granger_auroc: granger,
        methods,
        n_recourse_train: rec_train.len(),
        n_training_windows: training.windows,
        n_recourse_test: rec_test.len(),
        threshold: tau,
        bounded: s.bounded,
        root_causes: Some(root_causes),
        seconds: start.elapsed().as_secs_f64(),
        case,
    })
}

/// USAD's window metrics over all test series.
fn detect(usad: &Usad, test: &[TestSeries]) -> Result<TsDetection> {
    let observed: Vec<&[Vec<f64>]> = test.iter().map(|s| s.observed()).collect();
    let labels: Vec<&[bool]> = test.iter().map(|s| s.labels()).collect();
    let w = usad.evaluate(&observed, &labels)?.windows;
    Ok(TsDetection {
        f1: w.f1,
        precision: w.precision,
        recall: w.recall,
        auroc: w.auroc,
        auprc: w.auprc,
        threshold: usad.threshold,
    })
}

/// The baselines' next-step predictors (paper §5.1.2), fitted on the normal series, and the
/// policy of each method by name.
pub(crate) struct Baselines {
    var: Var,
    mlp: MlpPredictor,
    lstm: LstmPredictor,
}

impl Baselines {
    /// Fits VAR, the MLP and the LSTM on `train` (their seeds are children of `seed`).
    pub(crate) fn fit(
        train: &[Vec<Vec<f64>>],
        (var, mlp, lstm): (&VarConfig, &MlpPredictorConfig, &LstmPredictorConfig),
        seed: u64,
        observer: &mut dyn Observer,
    ) -> Result<Self> {
        Ok(Baselines {
            var: var.fit(train)?,
            mlp: mlp.fit(train, &mut seed::child(seed, "mlp"), observer)?,
            lstm: lstm.fit(train, &mut seed::child(seed, "lstm"), observer)?,
        })
    }

    /// The policy of method `name` (one of [`METHODS`]): a baseline replaces the acted step by
    /// its prediction, GVAR by its own, RecAD acts by h_φ (`recad`).
    pub(crate) fn policy<'a>(
        &'a self,
        name: &str,
        models: &'a SeriesModels<'a>,
        recad: &'a Recad,
    ) -> Box<PolicyFn<'a>> {
        match name {
            "mlp" => Box::new(|ws: &[&[Vec<f64>]]| {
                replace_policy(ws, |p| self.mlp.predict_next_batch(p))
            }),
            "lstm" => Box::new(|ws: &[&[Vec<f64>]]| {
                replace_policy(ws, |p| self.lstm.predict_next_batch(p))
            }),
            "var" => Box::new(|ws: &[&[Vec<f64>]]| {
                replace_policy(ws, |p| p.iter().map(|w| self.var.predict_next(w)).collect())
            }),
            "gvar" => Box::new(|ws: &[&[Vec<f64>]]| models.gvar_policy(ws)),
            _ => Box::new(|ws: &[&[Vec<f64>]]| models.recad_policy(recad, ws)),
        }
    }
}

/// The exact world of a synthetic benchmark: each acted series continues with its own stored
/// innovations (anomaly term included) from the acted value.
fn exact_world(series: &[TestSeries]) -> Box<WorldFn<'_>> {
    Box::new(move |t: usize, ids: &[usize], rows: &[&[Vec<f64>]]| {
        ids.iter()
            .zip(rows)
            .map(|(&i, r)| series[i].step(t, &r[t - 1], World::Observed))
            .collect()
    })
}

/// The paper's metrics over the walks of one method (spec §6).
fn summarise(out: &[SeriesOutcome], std: &[f64], tau: f64, seconds: f64) -> MethodResult {
    summarise_runs(&[(out, std, tau)], seconds)
}

/// The paper's metrics over the walks of one method under several models (each run: its
/// walks, the model's training sds and its threshold), pooled.
pub(crate) fn summarise_runs(
    runs: &[(&[SeriesOutcome], &[f64], f64)],
    seconds: f64,
) -> MethodResult {
    // One tally in z units (the paper's cost), one in raw units.
    let (mut z, mut raw) = (RecourseTally::default(), RecourseTally::default());
    let mut normal = 0usize;
    let walks = runs
        .iter()
        .flat_map(|&(out, std, tau)| out.iter().map(move |o| (o, std, tau)));
    for (o, std, tau) in walks.clone().filter(|(o, _, _)| !o.actions.is_empty()) {
        normal += usize::from(o.scores.iter().all(|s| *s <= tau));
        let scaled: Vec<(Vec<f64>, bool)> = o
            .actions
            .iter()
            .map(|a| {
                let theta = a.theta.iter().zip(std).map(|(t, s)| t / s).collect();
                (theta, a.flipped(tau))
            })
            .collect();
        z.record_series(&scaled);
        let plain: Vec<(Vec<f64>, bool)> = o
            .actions
            .iter()
            .map(|a| (a.theta.clone(), a.flipped(tau)))
            .collect();
        raw.record_series(&plain);
    }
    let series = z.abnormal_series;
    MethodResult {
        flip_ratio: z.flipping_ratio(),
        action_cost: z.cost_per_series(),
        action_cost_raw: raw.cost_per_series(),
        action_steps: z.steps_per_series(),
        actions: z.actions,
        abnormal_series: series,
        series_normal: if series == 0 {
            f64::NAN
        } else {
            normal as f64 / series as f64
        },
        invalid_actions: walks.clone().map(|(o, _, _)| o.invalid_actions).sum(),
        diverged_series: walks.filter(|(o, _, _)| o.diverged_at.is_some()).count(),
        seconds,
    }
}

/// The first evaluation series on which RecAD acted on an event step.
fn pick_case(
    test: &[TestSeries],
    kept: &BTreeMap<&str, Vec<SeriesOutcome>>,
    names: &[String],
) -> Option<RecadCase> {
    let recad = kept.get("recad")?;
    let gvar = kept.get("gvar")?;
    let i = recad.iter().enumerate().position(|(i, o)| {
        o.actions
            .iter()
            .any(|a| test[i].event().position(a.t).is_some())
    })?;
    let series = &test[i];
    Some(RecadCase {
        series: i,
        names: names.to_vec(),
        event_steps: series.event().steps.clone(),
        root_causes: series.event().variables.clone(),
        observed: series.observed().to_vec(),
        normal: series.normal().to_vec(),
        recad: recad[i].world.clone(),
        gvar: gvar[i].world.clone(),
        actions: recad[i]
            .actions
            .iter()
            .map(|a| (a.t, a.theta.clone()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use remedy_nn::NoObserver;

    /// A small Linear run: every method acts on the same alarms, the report is complete, and the
    /// same seed gives the same numbers.
    #[test]
    fn small_linear_run_is_complete_and_reproducible() {
        let mut s = RecadSettings::new(TsBenchmark::Linear, AnomalyType::Point, 3);
        s.n_train = 60;
        s.n_test = 120;
        s.usad.epochs = 5;
        s.gvar.train.epochs = 5;
        s.recad.train.epochs = 3;
        s.mlp.train.epochs = 2;
        s.lstm.train.epochs = 2;
        s.rounds = 1;
        let r = run(&s, &mut NoObserver).unwrap();
        assert_eq!(r.methods.len(), METHODS.len());
        let series: Vec<usize> = r.methods.values().map(|m| m.abnormal_series).collect();
        assert!(
            series[0] > 0,
            "USAD raised no alarm on {} series",
            r.n_recourse_test
        );
        assert!(
            series.iter().all(|n| *n == series[0]),
            "the first alarm of a series does not depend on the method: {series:?}"
        );
        for (name, m) in &r.methods {
            assert!((0.0..=1.0).contains(&m.flip_ratio), "{name}: {m:?}");
            assert!(
                m.action_steps >= 1.0 && m.action_cost > 0.0,
                "{name}: {m:?}"
            );
        }
        assert!(r.granger_auroc.is_finite() && r.n_training_windows > 0);
        let again = run(&s, &mut NoObserver).unwrap();
        let numbers = |r: &RecadReport| -> Vec<MethodResult> {
            r.methods
                .values()
                .map(|m| MethodResult {
                    seconds: 0.0,
                    ..m.clone()
                })
                .collect()
        };
        assert_eq!(numbers(&again), numbers(&r), "same seed, same numbers");
        assert_eq!(again.detection, r.detection);
        assert_eq!(again.root_causes, r.root_causes);
        // Root causes at the first alarms: a set per judged series, no larger than the
        // variables; with 5 GVAR epochs the rule is only checked for shape and sense.
        let c = r.root_causes.as_ref().unwrap();
        assert!(c.judged > 0 && c.judged <= c.series, "{c:?}");
        for m in [&c.innovations, &c.values] {
            assert!(m.named >= 1.0 && m.named <= 4.0, "{c:?}");
            assert!((0.0..=1.0).contains(&m.precision), "{c:?}");
        }
    }
}
