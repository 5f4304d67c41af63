//! Anomaly detection on the benchmarks (RootCLAM paper Table 2; RecAD paper Table 2): train a
//! detector on normal data, score the test set, report F1 at the threshold, AUROC and AUPRC.

use std::time::Instant;

use remedy_core::{Error, Result, seed};
use remedy_data::scm::Scm;
use remedy_data::tabular::{self, TabularSizes};
use remedy_data::timeseries::{self, AnomalyType, TsBenchmark, TsConfig};
use remedy_data::{Adult, Loan};
use remedy_detect::deepsvdd::ColumnScale;
use remedy_detect::metrics::DetectionMetrics;
use remedy_detect::usad::UsadConfig;
use remedy_detect::{AutoencoderConfig, DeepSvddConfig, DifferentiableDetector, TabularEncoder};
use remedy_nn::Observer;
use serde::{Deserialize, Serialize};

/// Benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Benchmark {
    Loan,
    Adult,
    Linear,
    LotkaVolterra,
}

/// Detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetectorKind {
    Ae,
    DeepSvdd,
    Usad,
}

/// The result of one detection run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionReport {
    pub dataset: Benchmark,
    pub detector: DetectorKind,
    pub seed: u64,
    pub f1: f64,
    pub precision: f64,
    pub recall: f64,
    pub auroc: f64,
    pub auprc: f64,
    pub threshold: f64,
    /// Test rows (or windows) scored and how many are anomalous.
    pub n_test: usize,
    pub n_anomalous: usize,
    pub epochs: usize,
    pub train_seconds: f64,
    /// Paper Table 2's numbers for the same cell, when it has one.
    pub paper: Option<PaperDetection>,
    /// Time series: the anomaly type, and metrics per time step (a step scored by the window
    /// ending at it) beside the per-window metrics above (a window is anomalous when any of its
    /// steps is; RecAD spec §7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<DetectionMetrics>,
    /// Tabular: the same detector on the anomaly set the reference code actually evaluates
    /// (its cache collision makes every group a copy of the first group's rows, spec §10.1 #1):
    /// the normal test rows plus the first group's anomalies, each repeated once per group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_set: Option<DetectionMetrics>,
}

/// F1 / AUROC / AUPRC as printed in the paper.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PaperDetection {
    pub f1: f64,
    pub auroc: f64,
    pub auprc: f64,
}

/// RootCLAM paper Table 2 (spec §9).
fn paper_table2(dataset: Benchmark, detector: DetectorKind) -> Option<PaperDetection> {
    let p = |f1, auroc, auprc| Some(PaperDetection { f1, auroc, auprc });
    match (dataset, detector) {
        (Benchmark::Loan, DetectorKind::Ae) => p(0.923, 0.998, 0.982),
        (Benchmark::Loan, DetectorKind::DeepSvdd) => p(0.888, 0.993, 0.944),
        (Benchmark::Adult, DetectorKind::Ae) => p(0.893, 0.984, 0.899),
        (Benchmark::Adult, DetectorKind::DeepSvdd) => p(0.837, 0.923, 0.823),
        _ => None,
    }
}

/// Normal validation rows held out for model selection (reference: 1,000 Loan, 2,000 Adult;
/// spec §3.5).
pub fn n_valid(dataset: Benchmark) -> usize {
    match dataset {
        Benchmark::Adult => 2_000,
        _ => 1_000,
    }
}

/// How much of a benchmark run is done: the papers' protocol, or every stage of it on few
/// rows and few epochs. The reduced run checks the arithmetic, not the method: it is what the
/// same-bits test runs under a processor emulator (`crates/cli/tests/processors.rs`), and its
/// numbers mean nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scale {
    #[default]
    Full,
    Reduced,
}

impl Scale {
    /// `n` rows of the protocol at this scale: all, or a tenth (reduced: enough training rows
    /// for a batch of 1,000, the autoencoder's gradients' depth at full scale, and every group
    /// of anomalies still present).
    fn rows(self, n: usize) -> usize {
        match self {
            Scale::Full => n,
            Scale::Reduced => n / 10,
        }
    }

    /// Rows generated: `n_valid` extra normal rows for validation on top of the training rows.
    fn sizes(self, n_valid: usize) -> TabularSizes {
        let full = TabularSizes::default();
        TabularSizes {
            train: self.rows(full.train + n_valid),
            test_normal: self.rows(full.test_normal),
            test_anomalous: self.rows(full.test_anomalous),
        }
    }

    /// Rows of the unfiltered sample the scaler is fitted on.
    fn population(self) -> usize {
        match self {
            Scale::Full => POPULATION_ROWS,
            Scale::Reduced => POPULATION_ROWS / 100,
        }
    }

    /// Caps a training run: two epochs when reduced (enough for every step of the loop,
    /// validation and checkpointing included, to run).
    pub fn train(self, cfg: &mut remedy_nn::train::TrainConfig) {
        if self == Scale::Reduced {
            cfg.epochs = cfg.epochs.min(2);
            cfg.min_epochs = cfg.min_epochs.min(cfg.epochs);
        }
    }
}

/// A generated tabular benchmark split for detection: feature rows only.
pub struct TabularSplit {
    pub train: Vec<Vec<f64>>,
    pub valid: Vec<Vec<f64>>,
    pub test: Vec<Vec<f64>>,
    pub labels: Vec<bool>,
    pub schema: remedy_core::Schema,
    /// Unfiltered rows of the normal SCM (no selection on the label): the reference fits its
    /// scaler on such a sample (spec §3.6), which keeps the filtered normal rows off the origin.
    pub population: Vec<Vec<f64>>,
    /// True root causes of each test row as feature indices, ascending (empty when normal).
    pub root_causes: Vec<Vec<usize>>,
    /// How much of the protocol the run does; the training functions below cap their epochs
    /// with it.
    pub scale: Scale,
}

/// Size of the unfiltered sample the scaler is fitted on (the reference: 100,000).
const POPULATION_ROWS: usize = 100_000;

/// Generates `scm`'s benchmark from `seed` (stream "data") with `n_valid` extra normal rows for
/// validation.
pub fn tabular_split<S: Scm>(scm: &S, seed: u64, n_valid: usize) -> Result<TabularSplit> {
    tabular_split_at(scm, seed, n_valid, Scale::Full)
}

/// [`tabular_split`] at `scale` (reduced: a tenth of the rows).
pub fn tabular_split_at<S: Scm>(
    scm: &S,
    seed: u64,
    n_valid: usize,
    scale: Scale,
) -> Result<TabularSplit> {
    let sizes = scale.sizes(n_valid);
    let n_valid = scale.rows(n_valid);
    let b = tabular::generate(scm, &sizes, &mut seed::child(seed, "data"))?;
    let feats = |rows: &[Vec<f64>]| -> Vec<Vec<f64>> {
        rows.iter()
            .map(|r| scm.feature_nodes().iter().map(|&i| r[i]).collect())
            .collect()
    };
    let all = feats(&b.train);
    let (train, valid) = all.split_at(all.len() - n_valid);
    let mut prng = seed::child(seed, "population");
    let none = remedy_core::Intervention::default();
    let population = (0..scale.population())
        .map(|_| {
            let x = scm.forward(&scm.sample_noise(&mut prng, &[]), &none);
            scm.feature_nodes().iter().map(|&i| x[i]).collect()
        })
        .collect();
    let feature_of = |node: usize| scm.feature_nodes().iter().position(|&f| f == node);
    let root_causes = b
        .root_causes(scm)
        .map(|rc| {
            let mut v: Vec<usize> = rc.iter().filter_map(|&n| feature_of(n)).collect();
            v.sort_unstable();
            v
        })
        .collect();
    Ok(TabularSplit {
        root_causes,
        population,
        train: train.to_vec(),
        valid: valid.to_vec(),
        test: feats(&b.test),
        labels: b.test_group.iter().map(Option::is_some).collect(),
        schema: tabular::schema(scm)?,
        scale,
    })
}

/// Runs one detection experiment; `anomaly` is the time-series anomaly type (default point).
pub fn run(
    dataset: Benchmark,
    detector: DetectorKind,
    seed: u64,
    anomaly: Option<AnomalyType>,
    observer: &mut dyn Observer,
) -> Result<DetectionReport> {
    match dataset {
        Benchmark::Loan | Benchmark::Adult if anomaly.is_some() => Err(Error::invalid(
            "--anomaly applies to time series; tabular anomalies come from the root-cause groups",
        )),
        Benchmark::Loan => run_tabular(&Loan::new(), dataset, detector, seed, observer),
        Benchmark::Adult => run_tabular(&Adult::new(), dataset, detector, seed, observer),
        Benchmark::Linear | Benchmark::LotkaVolterra => run_series(
            dataset,
            detector,
            seed,
            anomaly.unwrap_or(AnomalyType::Point),
            observer,
        ),
    }
}

fn run_series(
    dataset: Benchmark,
    detector: DetectorKind,
    seed: u64,
    anomaly: AnomalyType,
    observer: &mut dyn Observer,
) -> Result<DetectionReport> {
    if detector != DetectorKind::Usad {
        return Err(Error::invalid(
            "time series are scored by windows: use --detector usad (ae and deepsvdd are for tabular data)",
        ));
    }
    let (bench, cfg) = match dataset {
        Benchmark::Linear => (TsBenchmark::Linear, UsadConfig::default()),
        _ => (TsBenchmark::LotkaVolterra, UsadConfig::lotka_volterra()),
    };
    let config = TsConfig {
        anomaly,
        ..TsConfig::default()
    };
    let data = timeseries::generate(bench, &config, &mut seed::child(seed, "data"));
    let start = Instant::now();
    let model = cfg.fit(data.train(), &mut seed::child(seed, "detector"), observer)?;
    let train_seconds = start.elapsed().as_secs_f64();
    let observed: Vec<&[Vec<f64>]> = data.test().iter().map(|s| s.observed()).collect();
    let labels: Vec<&[bool]> = data.test().iter().map(|s| s.labels()).collect();
    let eval = model.evaluate(&observed, &labels)?;
    let w = eval.windows;
    Ok(DetectionReport {
        dataset,
        detector,
        seed,
        f1: w.f1,
        precision: w.precision,
        recall: w.recall,
        auroc: w.auroc,
        auprc: w.auprc,
        threshold: model.threshold,
        n_test: eval.n_windows,
        n_anomalous: (eval.window_anomaly_rate * eval.n_windows as f64).round() as usize,
        epochs: model.report.epochs_run,
        train_seconds,
        paper: None,
        anomaly: Some(anomaly.to_string()),
        steps: Some(eval.steps),
        reference_set: None,
    })
}

/// Trains `detector` on the split's normal rows with the reference's settings (spec §4, §6.5):
/// the fitted detector and the number of epochs it ran.
pub fn train_tabular(
    split: &TabularSplit,
    dataset: Benchmark,
    detector: DetectorKind,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<(Box<dyn DifferentiableDetector>, usize)> {
    let mut rng = seed::child(seed, "detector");
    Ok(match detector {
        DetectorKind::Ae => {
            let mut cfg = AutoencoderConfig::default();
            if dataset == Benchmark::Adult {
                // The reference's Adult-AE threshold is the 0.99 quantile (spec §6.5, ν = 0.01).
                cfg.quantile = 0.99;
            }
            split.scale.train(&mut cfg.train);
            let m = cfg.fit(
                &split.schema,
                &split.train,
                &split.valid,
                &mut rng,
                observer,
            )?;
            let epochs = m.report.epochs_run;
            (Box::new(m), epochs)
        }
        DetectorKind::DeepSvdd => {
            // As the reference (spec §3.6, §4, §4.2): every encoded column, one-hot and binary
            // included (its all-Delta configuration), standardised with the unfiltered
            // population's statistics; 1000 epochs, keeping the best validation checkpoint.
            let encoder = TabularEncoder::fit(&split.schema, &split.population)?;
            let columns = ColumnScale::fit(&encoder, &split.population)?;
            let mut cfg = DeepSvddConfig::default();
            cfg.train.epochs = 1000;
            cfg.train.patience = None;
            split.scale.train(&mut cfg.train);
            let m = cfg.fit_with_encoder(
                encoder,
                Some(columns),
                &split.train,
                &split.valid,
                &mut rng,
                observer,
            )?;
            let epochs = m.report.epochs_run;
            (Box::new(m), epochs)
        }
        DetectorKind::Usad => {
            return Err(Error::invalid(
                "USAD detects anomalies in time series (linear, lotka-volterra); use ae or deepsvdd for tabular data",
            ));
        }
    })
}

fn run_tabular<S: Scm>(
    scm: &S,
    dataset: Benchmark,
    detector: DetectorKind,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<DetectionReport> {
    let split = tabular_split(scm, seed, n_valid(dataset))?;
    let start = Instant::now();
    let (model, epochs) = train_tabular(&split, dataset, detector, seed, observer)?;
    let (scores, threshold) = (model.score(&split.test)?, model.threshold());
    let train_seconds = start.elapsed().as_secs_f64();
    let m = DetectionMetrics::compute(&scores, &split.labels, threshold);
    let reference_set = reference_set_metrics(scm, &split, &scores, threshold);
    Ok(DetectionReport {
        dataset,
        detector,
        seed,
        f1: m.f1,
        precision: m.precision,
        recall: m.recall,
        auroc: m.auroc,
        auprc: m.auprc,
        threshold,
        n_test: scores.len(),
        n_anomalous: split.labels.iter().filter(|&&l| l).count(),
        epochs,
        train_seconds,
        paper: paper_table2(dataset, detector),
        anomaly: None,
        steps: None,
        reference_set,
    })
}

/// Detection metrics on the reference's effective anomaly set (see
/// [`DetectionReport::reference_set`]).
fn reference_set_metrics<S: Scm>(
    scm: &S,
    split: &TabularSplit,
    scores: &[f64],
    threshold: f64,
) -> Option<DetectionMetrics> {
    let groups = scm.anomaly_groups();
    let mut first: Vec<usize> = groups
        .first()?
        .iter()
        .filter_map(|&n| scm.feature_nodes().iter().position(|&f| f == n))
        .collect();
    first.sort_unstable();
    let (mut s, mut l) = (Vec::new(), Vec::new());
    for (i, &score) in scores.iter().enumerate() {
        let copies = match (split.labels[i], split.root_causes[i] == first) {
            (false, _) => 1,
            (true, true) => groups.len(),
            (true, false) => 0,
        };
        for _ in 0..copies {
            s.push(score);
            l.push(split.labels[i]);
        }
    }
    Some(DetectionMetrics::compute(&s, &l, threshold))
}
