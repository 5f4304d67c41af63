//! `remedy reproduce recommend`: the user path judged in the real world. A benchmark is
//! generated from its exact SCM; `fit` runs on its normal training rows with the benchmark's
//! schema and graph, exactly as a user's `remedy fit` would, and `recommend` on its test rows.
//! Every action is then applied to the **exact** SCM (the same soft interventions, RootCLAM
//! Eq. 2) and judged there: does the detector still call the row normal, does the true label
//! recover (Loan y > 0.9, Adult income ≤ median), at what ‖θ‖₂ (original units), beside the
//! least label-recovering action on the same features ([`crate::label_bound`]).
//!
//! A recommendation that fools the detector but leaves the label where it was is the failure
//! this evaluation exists to count.

use std::time::Instant;

use remedy_app::{FitConfig, Fitted, RecommendConfig, RecommendMethod, RootCauseRule, Target};
use remedy_core::{Error, Intervention, Result, seed};
use remedy_data::scm::Scm;
use remedy_data::tabular::{self, TabularBenchmark, TabularSizes};
use remedy_data::{Adult, Loan};
use remedy_detect::AnomalyDetector;
use remedy_nn::Observer;
use serde::{Deserialize, Serialize};

use crate::detection::{Benchmark, DetectorKind};
use crate::label_bound::{LabelBoundConfig, least_mean_norm};

/// Settings of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct UserPathSettings {
    pub dataset: Benchmark,
    pub detector: DetectorKind,
    pub seed: u64,
    /// Rows generated (default: paper Table 1, 10,000 normal training rows, a test set of
    /// 10,000 normal rows and 1,000 anomalies).
    pub sizes: TabularSizes,
    /// `fit`'s settings; the detector, the seed and the target are taken from the fields
    /// here.
    pub fit: FitConfig,
    /// Where `recommend` (and the recourse network `fit` trains) aims the counterfactual's
    /// score.
    pub target: Target,
    /// `recommend`'s search settings.
    pub recommend: RecommendConfig,
    pub method: RecommendMethod,
    /// Fit with a graph learnt from the training rows (`graph discover`'s PC at these
    /// settings) instead of the benchmark's true graph.
    pub learn_graph: Option<remedy_app::discover::PcConfig>,
}

impl UserPathSettings {
    /// The CLI's defaults for `dataset`, `detector` and `seed`.
    pub fn new(dataset: Benchmark, detector: DetectorKind, seed: u64) -> Self {
        UserPathSettings {
            dataset,
            detector,
            seed,
            sizes: TabularSizes::default(),
            fit: FitConfig::default(),
            target: Target::default(),
            recommend: RecommendConfig::default(),
            method: RecommendMethod::Auto,
            learn_graph: None,
        }
    }
}

/// What the recommendations achieved on the flagged true anomalies, judged on the exact SCM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judged {
    /// Share the detector calls normal on the fitted model's own counterfactual (what
    /// `recommend` prints as `flips`).
    pub detector_flip: f64,
    /// The same on the exact SCM counterfactual of the same action.
    pub detector_flip_scm: f64,
    /// Share whose true label recovers on the exact SCM counterfactual.
    pub label_flip: f64,
    /// Share whose label recovers and the detector calls normal (both on the SCM).
    pub both_flip: f64,
    /// Mean ‖θ‖₂ (original units) over the rows whose label recovers.
    pub action_norm: f64,
    /// Mean ‖θ‖₂ over every judged row.
    pub action_norm_all: f64,
    /// Mean number of features the action could touch (the row's actionable root causes).
    pub features: f64,
    /// Share of the actions found by the recourse network (the rest by the search).
    pub by_network: f64,
    /// Median plausibility of the fitted model's counterfactuals (NaN without a normal
    /// support).
    #[serde(default)]
    pub median_plausibility: f64,
}

/// The least label-recovering action on the features each recommendation could act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPathBound {
    /// Share of the judged rows that some action on those features recovers.
    pub recoverable: f64,
    /// Mean least ‖θ‖₂ over the recoverable rows.
    pub least_norm: f64,
    /// Mean least ‖θ‖₂ over the rows the recommendation recovered (the same rows as
    /// [`Judged::action_norm`]): the fair yardstick of its cost.
    pub least_norm_recovered: f64,
    /// The least mean norm at which 95% of the rows could recover; `None` when fewer can.
    pub least_norm_95: Option<f64>,
    pub seconds: f64,
}

/// The report of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPathReport {
    pub dataset: Benchmark,
    pub detector: DetectorKind,
    pub seed: u64,
    /// Where `recommend` aims the counterfactual's detector score (for example
    /// `threshold (α = 0.9)`).
    pub target: String,
    pub n_train: usize,
    pub n_test: usize,
    /// True anomalies among the test rows.
    pub n_anomalies: usize,
    /// Test rows the fitted detector flags (the rows `recommend` answers).
    pub n_flagged: usize,
    /// True anomalies among them: the rows judged.
    pub n_judged: usize,
    pub result: Judged,
    pub bound: UserPathBound,
    /// `result.action_norm / bound.least_norm_recovered`.
    pub norm_ratio: f64,
    pub fit_seconds: f64,
    pub recommend_seconds: f64,
    pub seconds: f64,
    /// The judged rows' root-cause sets against the true ones, per rule (`recommend`'s and
    /// `explain`'s defaults).
    #[serde(default)]
    pub root_causes: Vec<RootCauseScore>,
    /// With a learnt graph: how far it is from the true one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learnt_graph: Option<GraphDistance>,
}

/// Root-cause sets under one rule against the true ones, over the model's candidate features
/// (pooled slots, as `reproduce rootcause`: [`remedy_rootcause::metrics`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootCauseScore {
    /// The rule, as the CLI names it.
    pub rule: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Share of rows whose set is exactly the true one.
    pub exact_set: f64,
}

/// A learnt graph against the true one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphDistance {
    pub true_edges: usize,
    pub learnt_edges: usize,
    /// True edges absent in either direction.
    pub missing: usize,
    /// Learnt edges absent from the true graph in either direction.
    pub extra: usize,
    /// True edges learnt the other way round.
    pub reversed: usize,
    /// The learnt edges, `a -> b`.
    pub edges: Vec<String>,
}

impl GraphDistance {
    fn between(truth: &remedy_core::Dag, learnt: &remedy_core::Dag) -> GraphDistance {
        let named = |g: &remedy_core::Dag| -> Vec<(String, String)> {
            g.edges()
                .into_iter()
                .map(|(a, b)| (g.name(a).to_string(), g.name(b).to_string()))
                .collect()
        };
        let (t, l) = (named(truth), named(learnt));
        let has =
            |set: &[(String, String)], a: &str, b: &str| set.iter().any(|(x, y)| x == a && y == b);
        GraphDistance {
            true_edges: t.len(),
            learnt_edges: l.len(),
            missing: t
                .iter()
                .filter(|(a, b)| !has(&l, a, b) && !has(&l, b, a))
                .count(),
            extra: l
                .iter()
                .filter(|(a, b)| !has(&t, a, b) && !has(&t, b, a))
                .count(),
            reversed: t.iter().filter(|(a, b)| has(&l, b, a)).count(),
            edges: l.iter().map(|(a, b)| format!("{a} -> {b}")).collect(),
        }
    }
}

/// Runs the user path on a generated benchmark and judges it.
pub fn run(settings: &UserPathSettings, observer: &mut dyn Observer) -> Result<UserPathReport> {
    match settings.dataset {
        Benchmark::Loan => run_on(&Loan::new(), settings, observer),
        Benchmark::Adult => run_on(&Adult::new(), settings, observer),
        _ => Err(Error::invalid(
            "reproduce recommend runs on the tabular benchmarks (loan, adult)",
        )),
    }
}

fn app_detector(d: DetectorKind) -> Result<remedy_app::DetectorKind> {
    match d {
        DetectorKind::Ae => Ok(remedy_app::DetectorKind::Ae),
        DetectorKind::DeepSvdd => Ok(remedy_app::DetectorKind::Deepsvdd),
        DetectorKind::Usad => Err(Error::invalid(
            "reproduce recommend runs with the tabular detectors (ae, deepsvdd)",
        )),
    }
}

fn run_on<S: Scm>(
    scm: &S,
    settings: &UserPathSettings,
    observer: &mut dyn Observer,
) -> Result<UserPathReport> {
    let start = Instant::now();
    let mut config = settings.fit.clone();
    config.detector = app_detector(settings.detector)?;
    config.seed = settings.seed;
    config.target = settings.target;
    let bench = tabular::generate(scm, &settings.sizes, &mut seed::rng(settings.seed))?;
    let schema = tabular::schema(scm)?;
    let true_dag = tabular::feature_dag(scm)?;
    let train = tabular::train_table(scm, &bench)?;
    let (dag, learnt_graph) = match &settings.learn_graph {
        None => (true_dag, None),
        Some(pc) => {
            let options = remedy_app::discover::DiscoverOptions {
                config: pc.clone(),
                columns: Some(schema.names().iter().map(|n| n.to_string()).collect()),
                schema: Some(schema.clone()),
                ..Default::default()
            };
            let learnt = remedy_app::discover::discover(&train, &options)?.dag()?;
            let distance = GraphDistance::between(&true_dag, &learnt);
            (learnt, Some(distance))
        }
    };
    let model = remedy_app::fit(&train, &dag, Some(&schema), &config, observer)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    let t = Instant::now();
    let test = tabular::test_table(scm, &bench)?;
    let recs = model.recommend(
        &test,
        &settings.recommend,
        settings.target,
        settings.method,
        // `remedy recommend`'s default rule.
        &RootCauseRule::Quantile { pi: None },
        None,
    )?;
    let recommend_seconds = t.elapsed().as_secs_f64();
    let judged: Vec<&remedy_app::RecommendRow> = recs
        .iter()
        .filter(|r| bench.test_group[r.row - 1].is_some())
        .collect();
    if judged.is_empty() {
        return Err(Error::invalid(
            "the fitted detector flagged no true anomaly of the test set",
        ));
    }
    let features = model.features();
    let space = (features.as_slice(), model.candidates());
    let mut root_causes = vec![score_sets(
        scm,
        &bench,
        space,
        "quantile (pi 0.125), recommend's",
        judged.iter().map(|r| (r.row, r.root_causes.as_slice())),
    )?];
    let holm = model.explain(
        &test,
        false,
        &RootCauseRule::FamilyWise(remedy_app::FamilyWise::Holm { alpha: 0.01 }),
    )?;
    root_causes.push(score_sets(
        scm,
        &bench,
        space,
        "holm (alpha 0.01), explain's",
        holm.iter()
            .filter(|r| bench.test_group[r.row - 1].is_some())
            .map(|r| (r.row, r.root_causes.as_slice())),
    )?);
    let (result, recovered) = judge(scm, &bench, model.detector(), &judged)?;
    let bound = bound(scm, &bench, &model, &judged, &recovered, settings.seed)?;
    Ok(UserPathReport {
        dataset: settings.dataset,
        detector: settings.detector,
        seed: settings.seed,
        target: settings.target.describe(),
        n_train: bench.train.len(),
        n_test: bench.test.len(),
        n_anomalies: bench.test_group.iter().filter(|g| g.is_some()).count(),
        n_flagged: recs.len(),
        n_judged: judged.len(),
        norm_ratio: result.action_norm / bound.least_norm_recovered,
        result,
        bound,
        fit_seconds,
        recommend_seconds,
        seconds: start.elapsed().as_secs_f64(),
        root_causes,
        learnt_graph,
    })
}

/// Scores predicted root-cause sets, given as (1-based test row, feature names), against the
/// benchmark's true root causes of the same rows.
fn score_sets<'a, S: Scm>(
    scm: &S,
    bench: &TabularBenchmark,
    (names, candidates): (&[&str], &[String]),
    rule: &str,
    rows: impl Iterator<Item = (usize, &'a [String])>,
) -> Result<RootCauseScore> {
    let index = |n: &str| {
        names
            .iter()
            .position(|m| *m == n)
            .ok_or_else(|| Error::invalid(format!("'{n}' is not a feature of the model")))
    };
    let candidates: Vec<usize> = candidates.iter().map(|c| index(c)).collect::<Result<_>>()?;
    let (mut truth, mut predicted) = (Vec::new(), Vec::new());
    for (row, set) in rows {
        let group = bench.test_group[row - 1]
            .ok_or_else(|| Error::invalid(format!("test row {row} is not an anomaly")))?;
        let mut t: Vec<usize> = scm.anomaly_groups()[group]
            .iter()
            .map(|&n| index(scm.dag().name(n)))
            .collect::<Result<_>>()?;
        t.sort_unstable();
        truth.push(t);
        predicted.push(set.iter().map(|n| index(n)).collect::<Result<Vec<_>>>()?);
    }
    let m = remedy_rootcause::metrics::evaluate(&truth, &predicted, &candidates, names.len())?;
    Ok(RootCauseScore {
        rule: rule.to_string(),
        precision: m.precision,
        recall: m.recall,
        f1: m.f1,
        exact_set: m.exact_set_accuracy,
    })
}

/// A feature-order action as a node-order soft intervention on the SCM.
fn node_shift<S: Scm>(scm: &S, action: &[f64]) -> Intervention {
    let mut shift = vec![0.0; scm.dag().len()];
    for (&n, &a) in scm.feature_nodes().iter().zip(action) {
        shift[n] = a;
    }
    Intervention::shifts(&shift)
}

/// Applies every recommendation to the exact SCM. Returns the summary and whether each row's
/// label recovered.
fn judge<S: Scm>(
    scm: &S,
    bench: &TabularBenchmark,
    detector: &dyn AnomalyDetector,
    judged: &[&remedy_app::RecommendRow],
) -> Result<(Judged, Vec<bool>)> {
    let fnodes = scm.feature_nodes();
    let mut features_cf = Vec::with_capacity(judged.len());
    let mut recovered = Vec::with_capacity(judged.len());
    let mut norms = Vec::with_capacity(judged.len());
    for r in judged {
        let cf = scm.counterfactual(&bench.test[r.row - 1], &node_shift(scm, &r.action))?;
        recovered.push(scm.is_recovered(scm.label(&cf)));
        features_cf.push(fnodes.iter().map(|&n| cf[n]).collect::<Vec<f64>>());
        norms.push(r.action.iter().map(|a| a * a).sum::<f64>().sqrt());
    }
    let tau = detector.threshold();
    let normal_scm: Vec<bool> = detector
        .score(&features_cf)?
        .into_iter()
        .map(|s| s <= tau)
        .collect();
    let n = judged.len() as f64;
    let share = |it: &mut dyn Iterator<Item = bool>| it.filter(|&b| b).count() as f64 / n;
    let rec_norms: Vec<f64> = norms
        .iter()
        .zip(&recovered)
        .filter(|(_, r)| **r)
        .map(|(v, _)| *v)
        .collect();
    let result = Judged {
        detector_flip: share(&mut judged.iter().map(|r| r.flips)),
        detector_flip_scm: share(&mut normal_scm.iter().copied()),
        label_flip: share(&mut recovered.iter().copied()),
        both_flip: share(&mut recovered.iter().zip(&normal_scm).map(|(a, b)| *a && *b)),
        action_norm: mean(&rec_norms),
        action_norm_all: mean(&norms),
        features: judged.iter().map(|r| r.acted_on.len()).sum::<usize>() as f64 / n,
        median_plausibility: median(judged.iter().map(|r| r.plausibility).collect()),
        by_network: share(
            &mut judged
                .iter()
                .map(|r| r.method == remedy_app::ActionSource::Network),
        ),
    };
    Ok((result, recovered))
}

/// The least label-recovering action on each judged row's acted-on features.
fn bound<S: Scm>(
    scm: &S,
    bench: &TabularBenchmark,
    model: &Fitted,
    judged: &[&remedy_app::RecommendRow],
    recovered: &[bool],
    seed: u64,
) -> Result<UserPathBound> {
    let t = Instant::now();
    let fnodes = scm.feature_nodes();
    let mut scales = vec![0.0; scm.dag().len()];
    for (&n, &sd) in fnodes.iter().zip(&model.manifest.feature_sd) {
        scales[n] = sd;
    }
    let features = model.features();
    let search = LabelBoundConfig::default();
    let mut rng = seed::child(seed, "label-bound");
    let mut norms = Vec::with_capacity(judged.len());
    for r in judged {
        let nodes: Vec<usize> = r
            .acted_on
            .iter()
            .filter_map(|name| features.iter().position(|f| f == name))
            .map(|j| fnodes[j])
            .collect();
        let least = search.least_action(scm, &bench.test[r.row - 1], &nodes, &scales, &mut rng)?;
        norms.push(least.map(|l| l.norm));
    }
    let found: Vec<f64> = norms.iter().flatten().copied().collect();
    let on_recovered: Vec<f64> = norms
        .iter()
        .zip(recovered)
        .filter(|(_, r)| **r)
        .filter_map(|(m, _)| *m)
        .collect();
    Ok(UserPathBound {
        recoverable: found.len() as f64 / judged.len() as f64,
        least_norm: mean(&found),
        least_norm_recovered: mean(&on_recovered),
        least_norm_95: least_mean_norm(&norms, 0.95),
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// Median of the finite values, NaN when there are none.
fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Mean, NaN when empty.
fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remedy_app::{ActionSource, RecommendRow};
    use remedy_data::loan::node::D;

    /// Calls every row normal: the judged detector flip is then 1 whatever the action.
    struct AllNormal;

    impl AnomalyDetector for AllNormal {
        fn score(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
            Ok(vec![0.0; rows.len()])
        }
        fn threshold(&self) -> f64 {
            1.0
        }
    }

    fn small_loan() -> (Loan, TabularBenchmark) {
        let loan = Loan::new();
        let sizes = TabularSizes {
            train: 200,
            test_normal: 20,
            test_anomalous: 40,
        };
        let bench = tabular::generate(&loan, &sizes, &mut seed::rng(3)).unwrap();
        (loan, bench)
    }

    fn rec(row: usize, action: Vec<f64>) -> RecommendRow {
        RecommendRow {
            row,
            root_causes: vec!["D".into()],
            acted_on: vec!["D".into()],
            counterfactual: vec![],
            action,
            score_before: 2.0,
            score_after: 0.5,
            threshold: 1.0,
            flips: true,
            cost: 0.0,
            feasible: true,
            plausibility: f64::NAN,
            method: ActionSource::Search,
        }
    }

    /// The judge applies the action to the exact SCM: no action leaves a Loan anomaly's label
    /// unrecovered (anomalies have y below the recovered level by construction), and the least
    /// label-recovering action on D found by `label_bound`, slightly enlarged, recovers it.
    #[test]
    fn judge_applies_the_action_to_the_exact_scm() {
        let (loan, bench) = small_loan();
        let mut scales = vec![1.0; loan.dag().len()];
        for (&n, &c) in loan.actionable().iter().zip(loan.costs()) {
            scales[n] = c;
        }
        let (i, least) = (0..bench.test.len())
            .filter(|&i| bench.test_group[i].is_some())
            .find_map(|i| {
                LabelBoundConfig::default()
                    .least_action(&loan, &bench.test[i], &[D], &scales, &mut seed::rng(1))
                    .unwrap()
                    .map(|l| (i, l))
            })
            .expect("some Loan anomaly recovers by an action on D");
        assert!(least.norm > 0.0);
        let fnodes = loan.feature_nodes();
        let enlarged: Vec<f64> = fnodes.iter().map(|&n| least.shift[n] * 1.01).collect();
        let none = vec![0.0; fnodes.len()];
        let rows = [rec(i + 1, none), rec(i + 1, enlarged)];
        let refs: Vec<&RecommendRow> = rows.iter().collect();
        let (judged, recovered) = judge(&loan, &bench, &AllNormal, &refs).unwrap();
        assert_eq!(recovered, vec![false, true]);
        assert_eq!(judged.label_flip, 0.5);
        assert_eq!(judged.detector_flip_scm, 1.0);
        assert!((judged.action_norm - least.norm * 1.01).abs() < 1e-9);
        assert!((judged.action_norm_all - least.norm * 1.01 / 2.0).abs() < 1e-9);
    }

    /// The whole run on a small benchmark: shares are shares, the judged rows are flagged true
    /// anomalies, and the same seed gives the same report.
    /// The true sets score 1; sets that miss every root cause score recall 0; one extra
    /// feature per row lowers precision only.
    #[test]
    fn root_cause_sets_are_scored_against_the_truth() {
        let (scm, bench) = small_loan();
        let names: Vec<&str> = scm
            .feature_nodes()
            .iter()
            .map(|&n| scm.dag().name(n))
            .collect();
        let candidates: Vec<String> = ["L", "D", "I", "S"].map(String::from).to_vec();
        let rows: Vec<usize> = (0..bench.test.len())
            .filter(|&i| bench.test_group[i].is_some())
            .map(|i| i + 1)
            .collect();
        assert!(!rows.is_empty());
        let truth: Vec<Vec<String>> = rows
            .iter()
            .map(|&r| {
                scm.anomaly_groups()[bench.test_group[r - 1].unwrap()]
                    .iter()
                    .map(|&n| scm.dag().name(n).to_string())
                    .collect()
            })
            .collect();
        let space = (names.as_slice(), candidates.as_slice());
        let exact = score_sets(
            &scm,
            &bench,
            space,
            "truth",
            rows.iter().zip(&truth).map(|(&r, t)| (r, t.as_slice())),
        )
        .unwrap();
        assert_eq!(
            (exact.precision, exact.recall, exact.f1, exact.exact_set),
            (1.0, 1.0, 1.0, 1.0)
        );
        let none: Vec<String> = Vec::new();
        let empty = score_sets(
            &scm,
            &bench,
            space,
            "none",
            rows.iter().map(|&r| (r, none.as_slice())),
        )
        .unwrap();
        assert_eq!((empty.recall, empty.f1, empty.exact_set), (0.0, 0.0, 0.0));
        // Rows whose root causes leave a candidate free, with one more feature.
        let wider: Vec<(usize, Vec<String>)> = rows
            .iter()
            .zip(&truth)
            .filter_map(|(&r, t)| {
                let free = candidates.iter().find(|c| !t.contains(c))?;
                let mut w = t.clone();
                w.push(free.clone());
                Some((r, w))
            })
            .collect();
        assert!(!wider.is_empty());
        let wide = score_sets(
            &scm,
            &bench,
            space,
            "wider",
            wider.iter().map(|(r, t)| (*r, t.as_slice())),
        )
        .unwrap();
        assert_eq!((wide.recall, wide.exact_set), (1.0, 0.0));
        assert!(wide.precision < 1.0 && wide.precision >= 0.5, "{wide:?}");
    }

    #[test]
    fn small_run_is_consistent_and_reproducible() {
        let mut settings = UserPathSettings::new(Benchmark::Loan, DetectorKind::Ae, 2);
        settings.sizes = TabularSizes {
            train: 400,
            test_normal: 100,
            test_anomalous: 60,
        };
        settings.fit.epochs = Some(2);
        settings.fit.recourse = remedy_app::RecourseKind::Search;
        let run_once = || {
            let mut r = run(&settings, &mut remedy_nn::NoObserver).unwrap();
            (
                r.fit_seconds,
                r.recommend_seconds,
                r.seconds,
                r.bound.seconds,
            ) = (0.0, 0.0, 0.0, 0.0);
            r
        };
        let a = run_once();
        assert!(a.n_judged > 0 && a.n_judged <= a.n_flagged && a.n_judged <= a.n_anomalies);
        for v in [
            a.result.detector_flip,
            a.result.detector_flip_scm,
            a.result.label_flip,
            a.result.both_flip,
            a.bound.recoverable,
        ] {
            assert!((0.0..=1.0).contains(&v), "{v}");
        }
        assert!(a.result.both_flip <= a.result.label_flip.min(a.result.detector_flip_scm));
        assert_eq!(a.result.by_network, 0.0);
        assert_eq!(a.root_causes.len(), 2);
        for c in &a.root_causes {
            for v in [c.precision, c.recall, c.f1, c.exact_set] {
                assert!((0.0..=1.0).contains(&v), "{c:?}");
            }
        }
        let b = run_once();
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }
}
