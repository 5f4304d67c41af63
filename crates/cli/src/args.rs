//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Remedy explains why an anomaly detector fired (which features are the root cause) and
/// recommends the cheapest action on those features that makes the case normal again, with its
/// effect propagated through the causal graph of the data.
#[derive(Debug, Parser)]
#[command(
    name = "remedy",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); REMEDY_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a benchmark dataset with ground truth (Loan, Adult, Linear, Lotka-Volterra).
    Generate(GenerateArgs),
    /// Exact structural causal models of the benchmarks.
    #[command(subcommand)]
    Scm(ScmCommand),
    /// Check causal graph files.
    #[command(subcommand)]
    Graph(GraphCommand),
    /// Reproduce the papers' experiments on the benchmarks (generate, train, evaluate).
    #[command(subcommand)]
    Reproduce(ReproduceCommand),
    /// Time detector training on the Loan benchmark (compare with bench/pytorch_detectors.py).
    Bench(BenchArgs),
    /// A tour on built-in data: generate Loan and Adult, show exact counterfactuals.
    Demo(DemoArgs),
    /// Train a model on your normal data and causal graph: an anomaly detector, a causal model
    /// and the root-cause reference, written to a model directory.
    Fit(FitArgs),
    /// Score rows with a fitted model: per row its anomaly score, the threshold and whether it
    /// is an anomaly.
    Detect(DetectArgs),
    /// Explain anomalous rows: their root-cause features and, per actionable feature, how
    /// unusual it is given its parents (calibrated p-value, rank, deviation in its own units).
    Explain(ExplainArgs),
    /// Recommend, for each anomalous row, the cheapest action on its root-cause features that
    /// makes it normal again, with the resulting (counterfactual) row.
    Recommend(RecommendArgs),
    /// What each row would have been under an intervention (it keeps its own noise): the
    /// rows with their counterfactual values and the detector's score before and after.
    #[command(after_long_help = WHAT_IF_MODELS)]
    Counterfactual(WhatIfArgs),
    /// The population under an intervention: samples (or, with --summary, mean, sd and
    /// quantiles per feature beside the observational ones) from the fitted model.
    #[command(after_long_help = WHAT_IF_MODELS)]
    Intervene(InterveneArgs),
    /// Write one self-contained HTML page about rows scored by a fitted model: the causal
    /// graph, detection summary, root-cause frequencies and the recommended actions.
    Report(ReportArgs),
    /// Multivariate time series: train a window detector, a Granger model and a recourse
    /// network on normal series, then monitor a stream step by step.
    #[command(subcommand)]
    Ts(TsCommand),
}

#[derive(Debug, Subcommand)]
pub enum TsCommand {
    /// Train USAD, GVAR and the RecAD recourse network on normal series and write a model
    /// directory.
    Fit(TsFitArgs),
    /// Read steps (CSV with a header, or JSON lines) from standard input or a file and write
    /// one JSON line per step: score, alarm, recommended action and its expected effect.
    Monitor(TsMonitorArgs),
}

#[derive(Debug, Args)]
pub struct TsFitArgs {
    /// Normal data (CSV or Parquet): one row per step, one column per variable.
    #[arg(long)]
    pub train: PathBuf,
    /// Model directory to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Column that splits the rows into series (used when present).
    #[arg(long, default_value = "series_id")]
    pub series_column: String,
    /// Column with the time index (ignored when present).
    #[arg(long, default_value = "t")]
    pub time_column: String,
    /// Variables to model, comma-separated (default: every other column).
    #[arg(long, value_delimiter = ',')]
    pub variables: Option<Vec<String>>,
    /// Window length in steps.
    #[arg(long, default_value_t = 5)]
    pub window: usize,
    /// Size of the synthetic shocks the recourse network learns from, in standard deviations.
    #[arg(long, default_value_t = 5.0)]
    pub shock: f64,
    /// Alarm threshold as this multiple of the largest held-out window score (default: their
    /// 0.995 quantile); above 1 leaves room for normal operation the training rows did not show.
    #[arg(long, value_name = "K")]
    pub threshold_times: Option<f64>,
    /// Cap on the epochs of every network.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Replace the model files in a non-empty --out directory.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct TsMonitorArgs {
    /// Model directory written by `remedy ts fit`.
    #[arg(long)]
    pub model: PathBuf,
    /// Read steps from this file instead of standard input.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Take every recommended action as applied: later windows are judged in the
    /// counterfactual world the action creates (GVAR abduction-action-prediction).
    #[arg(long)]
    pub assume_applied: bool,
    /// Take each series' first N steps as normal operation at its own level: they are not
    /// scored, and each variable's mean over them replaces the training mean as the series'
    /// level (for a system running at another operating point than the training data).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub warmup: usize,
}

/// Benchmark datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dataset {
    /// Loan approval SCM, 7 features, 15 root-cause groups.
    Loan,
    /// Adult income SCM, 10 features, 7 root-cause groups.
    Adult,
    /// Linear VAR(1) time series, 4 variables.
    Linear,
    /// Lotka-Volterra time series, 10 prey + 10 predators.
    LotkaVolterra,
}

/// Tabular benchmarks with an exact SCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TabularDataset {
    Loan,
    Adult,
}

/// Time-series anomaly types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnomalyKind {
    /// A one-step shock on the noise of some variables.
    Point,
    /// A three-step shock.
    Sequence,
    /// A three-step change of the mechanism.
    Causal,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Which benchmark.
    #[arg(value_enum)]
    pub dataset: Dataset,
    /// Directory to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Anomaly type (time series only; default point).
    #[arg(long, value_enum)]
    pub anomaly: Option<AnomalyKind>,
    /// Normal training rows (tabular; default 10,000) or series (time series; default 1,000).
    #[arg(long)]
    pub train: Option<usize>,
    /// Test size: normal rows (tabular; default 10,000) or series (time series; default 5,000).
    #[arg(long)]
    pub test: Option<usize>,
    /// Anomalous test rows (tabular only; default 1,000).
    #[arg(long)]
    pub anomalies: Option<usize>,
    /// Replace files that already exist in the output directory.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScmCommand {
    /// The exact counterfactual of each row under soft shifts and/or hard interventions.
    Counterfactual(CounterfactualArgs),
}

/// Output formats for row results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    Csv,
    Json,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct CounterfactualArgs {
    /// Which SCM.
    #[arg(value_enum)]
    pub dataset: TabularDataset,
    /// Rows to change (CSV or Parquet with the dataset's feature columns).
    #[arg(long)]
    pub data: PathBuf,
    /// Soft interventions x_i <- f_i(pa_i, u_i) + θ_i, e.g. "L=-5.958,D=-11.336".
    #[arg(long, allow_hyphen_values = true)]
    pub shift: Option<String>,
    /// Hard interventions do(x_i = v), e.g. "I=1.5".
    #[arg(long = "do", allow_hyphen_values = true)]
    pub set: Option<String>,
    /// The true noise of each row (noise.csv from `remedy generate`), aligned by row; without it
    /// the noise is abducted from the row.
    #[arg(long)]
    pub noise: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// Validate a graph (DOT, edge-list CSV `source,target`, or JSON): acyclic, and, with
    /// --data, every node a column of the data.
    Check(GraphCheckArgs),
    /// Learn a causal graph from normal rows (PC-stable with Fisher-z tests of partial
    /// correlation, categorical columns by their levels with the degenerate-Gaussian
    /// likelihood ratio; Meek's rules, one DAG of the equivalence class), with required and
    /// forbidden edges and tiers; prints which edges the data left unoriented and how each
    /// was set.
    Discover(GraphDiscoverArgs),
}

#[derive(Debug, Args)]
pub struct GraphCheckArgs {
    /// The graph file.
    #[arg(long)]
    pub graph: PathBuf,
    /// A data file (CSV or Parquet) whose columns the graph's nodes must be.
    #[arg(long)]
    pub data: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GraphDiscoverArgs {
    /// Normal rows (CSV or Parquet); every column is a variable unless --columns says which.
    #[arg(long)]
    pub data: PathBuf,
    /// The columns to use, joined by commas (default: the schema's features, or all).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Feature types (TOML, as for fit): binary and categorical columns are tested by their
    /// levels. Without it a text column is categorical and a numeric one continuous.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Significance level of each independence test: smaller keeps fewer edges.
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// The largest conditioning set to test (default: no limit).
    #[arg(long, value_name = "N")]
    pub max_depth: Option<usize>,
    #[command(flatten)]
    pub knowledge: KnowledgeArgs,
    /// dot (the graph) or csv (source, target, and what oriented each edge).
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Write to this file instead of stdout (atomically).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// What a user knows about the graph, for discovery (`graph discover`, `fit` without a graph).
#[derive(Debug, Args)]
pub struct KnowledgeArgs {
    /// An edge that must be in the graph, "a->b" (repeat, or join with commas).
    #[arg(long, value_name = "A->B", allow_hyphen_values = true)]
    pub require: Vec<String>,
    /// An edge that must not be, "a->b" (repeat, or join with commas).
    #[arg(long, value_name = "A->B", allow_hyphen_values = true)]
    pub forbid: Vec<String>,
    /// A text file of tiers, one per line, earliest first, names joined by commas (for
    /// example "age, sex" then "education" then "income"): a variable may not cause one in an
    /// earlier tier.
    #[arg(long)]
    pub tiers: Option<PathBuf>,
}

/// Output formats of `graph discover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum ReproduceCommand {
    /// Anomaly detection (RootCLAM Table 2; RecAD Table 2): F1 at the threshold, AUROC, AUPRC.
    Detection(DetectionArgs),
    /// Root-cause localisation (RootCLAM Table 3): which features' noise is abnormal, with
    /// accuracy, precision, recall, F1 and exact-set accuracy against the true root causes.
    Rootcause(RootCauseArgs),
    /// RootCLAM end to end (RootCLAM Tables 2-4): detect, locate, train the mitigation
    /// network, and evaluate its actions on the exact SCM beside NaiveAM.
    Rootclam(RootClamArgs),
    /// The user path judged in the real world: `fit` on a generated benchmark's normal rows
    /// (its schema and graph), `recommend` on its test rows, and every action applied to the
    /// exact SCM: does the detector call the row normal, does the true label recover, at what
    /// ‖θ‖, beside the least label-recovering action on the same features.
    Recommend(UserPathArgs),
    /// RecAD end to end (RecAD Tables 2-4): detect with USAD, learn Granger causality with
    /// GVAR, train the recourse network, and walk held-out abnormal series in the benchmark's
    /// exact world beside the MLP, LSTM, VAR and GVAR predictor baselines.
    Recad(RecadArgs),
    /// SKAB, a real testbed's sensors with labelled faults, through `ts fit` and `ts monitor`:
    /// per experiment fit on its first 400 rows and monitor the rest (the leaderboard's
    /// protocol), and one model fitted on the anomaly-free recording; FAR, MAR and F1 beside
    /// SKAB's leaderboard. The data are read from --data, never bundled.
    Skab(SkabArgs),
}

#[derive(Debug, Args)]
pub struct SkabArgs {
    /// SKAB's data folder (holding anomaly-free/, valve1/, valve2/ and other/).
    #[arg(long)]
    pub data: PathBuf,
    /// Experiment folders to run, joined by commas.
    #[arg(long, value_delimiter = ',', default_values_t = ["valve1".to_string(), "valve2".into(), "other".into()])]
    pub folders: Vec<String>,
    /// Random seed of every model.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Window length of the detector, in steps.
    #[arg(long, default_value_t = 5)]
    pub window: usize,
    /// Cap on the epochs of every network.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// The per-file models' alarm threshold as this multiple of the largest held-out window
    /// score (as `ts fit --threshold-times`; 2 was chosen on the `other` folder alone).
    #[arg(long, value_name = "K", default_value_t = remedy_eval::skab::THRESHOLD_TIMES)]
    pub threshold_times: f64,
    /// The anomaly-free model's threshold multiple (default: USAD's 0.995 quantile of its
    /// held-out window scores).
    #[arg(long, value_name = "K")]
    pub free_threshold_times: Option<f64>,
    /// Steps of each experiment the anomaly-free model takes as its warm-up (`ts monitor
    /// --warmup`, levels re-set per experiment; 0: none). They are the per-file models'
    /// training rows, so both variants score the same steps.
    #[arg(long, default_value_t = 400)]
    pub warmup: usize,
    /// Also evaluate recourse: RecAD and the MLP, LSTM, VAR and GVAR baselines acting on the
    /// per-file models' alarms, walked four windows in each model's GVAR world (held within
    /// its training range).
    #[arg(long)]
    pub recourse: bool,
    /// Skip the model fitted on the anomaly-free recording.
    #[arg(long)]
    pub no_anomaly_free: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Also write a self-contained HTML page: the tables, the Granger graph learnt on the
    /// anomaly-free recording and one experiment's case figure.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UserPathArgs {
    /// Benchmark.
    #[arg(long, value_enum)]
    pub dataset: TabularDataset,
    /// Detector `fit` trains.
    #[arg(long, value_enum, default_value_t = TabularDetectorArg::Ae)]
    pub detector: TabularDetectorArg,
    /// Random seed (data, fit and search).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Normal training rows (default 10,000, paper Table 1).
    #[arg(long)]
    pub train: Option<usize>,
    /// Normal test rows (default 10,000).
    #[arg(long)]
    pub test: Option<usize>,
    /// Anomalous test rows (default 1,000).
    #[arg(long)]
    pub anomalies: Option<usize>,
    /// Caps the epochs of every network `fit` trains.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// How `fit` prepares recommendations.
    #[arg(long, value_enum, default_value_t = RecourseArg::Network)]
    pub recourse: RecourseArg,
    /// How `recommend` finds actions.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// `recommend --alpha` (with the threshold target).
    #[arg(long)]
    pub alpha: Option<f64>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Fit with a graph learnt from the training rows (`graph discover` at this α) instead
    /// of the benchmark's true graph, and say how far it is from the true one.
    #[arg(long, value_name = "ALPHA")]
    pub learn_graph: Option<f64>,
    /// Also write a self-contained HTML page with the table.
    #[arg(long, value_name = "FILE")]
    pub report: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

/// Time-series benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TsDatasetArg {
    /// Linear VAR(1), 4 variables.
    Linear,
    /// Lotka-Volterra, 10 prey + 10 predators.
    #[value(alias = "lv")]
    LotkaVolterra,
}

#[derive(Debug, Args)]
pub struct RecadArgs {
    /// Benchmark.
    #[arg(long, value_enum)]
    pub dataset: TsDatasetArg,
    /// Anomaly type injected into the test series.
    #[arg(long, value_enum, default_value_t = AnomalyKind::Point)]
    pub anomaly: AnomalyKind,
    /// Random seed (data and models).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Normal training series (default 1,000, paper Table 1).
    #[arg(long)]
    pub train: Option<usize>,
    /// Abnormal test series (default 5,000, paper Table 1); half train the recourse network,
    /// half evaluate every method.
    #[arg(long)]
    pub test: Option<usize>,
    /// Epochs of the recourse network.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Evaluate at most this many windows per series from its first alarm (the reference
    /// code: 4); by default acting continues while windows stay abnormal.
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Steps after the acted one that training keeps normal through GVAR (Eq. 12's look-ahead
    /// M; default 0, see docs/RESULTS.md for why).
    #[arg(long, value_name = "M")]
    pub look_ahead: Option<usize>,
    /// Rounds of collecting training windows for the recourse network (default: 2 on Linear,
    /// 1 on Lotka-Volterra); each further round walks the GVAR world with the network just
    /// trained and adds the windows still abnormal.
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Let actions carry variables beyond the range they took in the normal training series
    /// (by default every method's actions are held within it).
    #[arg(long)]
    pub unbounded: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Also write a self-contained HTML report with a case figure (paper Figs. 4-5).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// Root-cause locators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LocatorArg {
    /// VACA abducts each node's latent noise; the quantile rule flags abnormal nodes.
    Vaca,
    /// An additive-noise model abducts residuals; the quantile rule flags abnormal ones.
    Anm,
    /// Shapley attribution of the anomaly score to the noise (Janzing et al.; DoWhy).
    Shapley,
    /// The quantile rule on the true noise of the exact SCM: the bound to approach.
    Oracle,
}

/// Sweepable parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SweepArg {
    /// λ ∈ {1, 1e-1, …, 1e-5}, RootCLAM and NaiveAM (Fig. 3).
    Lambda,
    /// α ∈ {0, 0.25, 0.5, 0.75, 1} (Fig. 4).
    Alpha,
    /// π ∈ {0.05, …, 0.25} with root-cause recall (Fig. 5).
    Pi,
}

/// Tabular detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TabularDetectorArg {
    /// Denoising autoencoder; score = squared reconstruction error.
    Ae,
    /// Deep SVDD; score = distance to the centre.
    Deepsvdd,
}

/// Detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DetectorArg {
    /// Denoising autoencoder; score = squared reconstruction error.
    Ae,
    /// Deep SVDD; score = distance to the centre.
    Deepsvdd,
    /// USAD on sliding windows (time series).
    Usad,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct DetectionArgs {
    /// Benchmark.
    #[arg(long, value_enum)]
    pub dataset: Dataset,
    /// Detector.
    #[arg(long, value_enum)]
    pub detector: DetectorArg,
    /// Random seed (data and model).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Anomaly type (time series only).
    #[arg(long, value_enum)]
    pub anomaly: Option<AnomalyKind>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct RootCauseArgs {
    /// Benchmark.
    #[arg(long, value_enum)]
    pub dataset: TabularDataset,
    /// Detector whose flagged anomalies are explained.
    #[arg(long, value_enum)]
    pub detector: TabularDetectorArg,
    /// How root causes are located.
    #[arg(long, value_enum)]
    pub locator: LocatorArg,
    /// Tail probability π of the quantile rule: a feature is flagged when Φ(u) < π or > 1 − π.
    #[arg(long, default_value_t = 0.125)]
    pub pi: f64,
    /// Compare each feature's noise with the N normal rows whose parents are nearest the row's
    /// (a learned abduction's noise still moves with its parents); 0 compares with all normal
    /// rows, the paper's rule.
    #[arg(long, default_value_t = remedy_eval::rootcause::NEIGHBOURS, value_name = "N")]
    pub neighbours: usize,
    /// Random seed (data and models).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct RootClamArgs {
    /// Benchmark.
    #[arg(long, value_enum)]
    pub dataset: TabularDataset,
    /// Detector whose anomalies are mitigated.
    #[arg(long, value_enum)]
    pub detector: TabularDetectorArg,
    /// Random seed (data and models).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Tail probability π of the root-cause rule.
    #[arg(long, default_value_t = 0.125)]
    pub pi: f64,
    /// Weight λ of the action cost (paper Eq. 3).
    #[arg(long)]
    pub lambda: Option<f64>,
    /// The hinge sits at α·τ (paper Eq. 3).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Compare each feature's noise with the N normal rows whose parents are nearest the row's
    /// (as `reproduce rootcause` does by default); 0 compares with all normal rows, the paper's
    /// rule.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub neighbours: usize,
    /// Bound every action of RootCLAM, NaiveAM and per-row optimisation: |θ_i| at most this
    /// many sds of feature i (default: unbounded, as the paper).
    #[arg(long, value_name = "SDS")]
    pub max_action: Option<f64>,
    /// Epochs of the mitigation network.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Also optimise the actions of each row directly (slower).
    #[arg(long)]
    pub per_row: bool,
    /// How root causes are located (paper: vaca).
    #[arg(long, value_enum, default_value_t = LocatorArg::Vaca)]
    pub locator: LocatorArg,
    /// Parameter sweeps after the main table (paper Figs. 3-5), comma-separated; each point
    /// retrains the mitigation network (about a minute each on Loan).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub sweep: Vec<SweepArg>,
    /// Every stage on a tenth of the rows and two epochs, with no timings in the output:
    /// a check that the arithmetic gives the same bits (the same-bits test runs it under a
    /// processor emulator). Its numbers mean nothing.
    #[arg(long, hide = true)]
    pub reduced: bool,
    /// Also write a self-contained HTML page with the tables and plots.
    #[arg(long, value_name = "FILE")]
    pub report: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Epochs to time per network (no early stopping).
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Seed of the Loan data (as `remedy generate loan --seed`).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also time `fit --causal vaca` on the same rows (minutes more).
    #[arg(long)]
    pub vaca: bool,
    /// Also time the PyTorch twin of the detectors on the same rows and print the ratios:
    /// the path of `bench/pytorch_detectors.py` (run with `python3`, which needs `torch`).
    /// Both are timed three times, alternating, and the medians compared.
    #[arg(long, value_name = "SCRIPT")]
    pub pytorch: Option<std::path::PathBuf>,
    /// Also time `remedy reproduce rootclam --dataset loan --detector ae` with the seed
    /// (minutes more).
    #[arg(long)]
    pub rootclam: bool,
}

/// Causal models for `remedy fit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CausalArg {
    /// Additive-noise model: one small network per node on its parents (fast, exact abduction).
    Anm,
    /// VACA, a variational graph autoencoder (slower; multi-dimensional noise per node).
    Vaca,
}

/// How `remedy fit` prepares recommendations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecourseArg {
    /// Also train RootCLAM's recourse network (one forward pass per row at recommend time;
    /// the search takes over for rows its action does not make normal).
    Network,
    /// No network: recommendations search per row.
    Search,
}

/// What `remedy fit` does with empty cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MissingArg {
    /// Fill empty cells (and say how many).
    Impute,
    /// Refuse a row with an empty cell.
    Error,
}

/// How `remedy recommend` finds actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// The recourse network, then the search for rows its action leaves anomalous (the search
    /// alone for a model without a network).
    Auto,
    /// The recourse network only.
    Network,
    /// The per-row search only.
    Search,
}

#[derive(Debug, Args)]
pub struct FitArgs {
    /// Normal training rows (CSV or Parquet). Columns that are not graph nodes (labels, ids)
    /// are ignored with a warning.
    #[arg(long)]
    pub train: PathBuf,
    /// The causal graph over the features: DOT, edge-list CSV `source,target`, or JSON. Every
    /// node must be a column of the data. Without it a graph is learnt from the training rows
    /// (as `graph discover`: the schema's features, or every column; --graph-alpha, --require,
    /// --forbid, --tiers) and written to the model directory as graph.dot.
    #[arg(long)]
    pub graph: Option<PathBuf>,
    /// Without --graph: the significance level of discovery's independence tests.
    #[arg(long, default_value_t = 0.01)]
    pub graph_alpha: f64,
    #[command(flatten)]
    pub knowledge: KnowledgeArgs,
    /// Feature schema (TOML): types, which features are actionable, costs and bounds. Without
    /// it, numeric columns are continuous and actionable with cost = their sd (a 0/1 column
    /// too: only a schema makes a feature binary) and text columns categorical (not
    /// actionable).
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Empty cells (missing values): `impute` fills the training rows' gaps with values
    /// drawn from each column's observed values and a new row's gaps with the normal median,
    /// and never names a feature a row does not have as its root cause; `error` refuses them,
    /// naming the row and the column.
    #[arg(long, value_enum, default_value_t = MissingArg::Impute)]
    pub missing: MissingArg,
    /// Anomaly detector.
    #[arg(long, value_enum, default_value_t = TabularDetectorArg::Ae)]
    pub detector: TabularDetectorArg,
    /// Causal model used to find root causes and propagate actions.
    #[arg(long, value_enum, default_value_t = CausalArg::Anm)]
    pub causal: CausalArg,
    /// Train a recourse network for `remedy recommend`, or rely on the per-row search.
    #[arg(long, value_enum, default_value_t = RecourseArg::Network)]
    pub recourse: RecourseArg,
    /// Where the recourse network aims (as `recommend --target`; the threshold target keeps
    /// the network's own margin).
    #[command(flatten)]
    pub target: TargetArgs,
    /// Random seed; the same seed and data give the same model.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Cap the training epochs of every network (faster, possibly less accurate).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Threads for independent work (the detector trains beside the causal model; the
    /// recourse network's batches are computed in two parts side by side). The model files are
    /// byte-identical for any number; 1 runs everything one after the other.
    #[arg(long, default_value_t = remedy_app::model::default_threads() as u16,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
    /// Tail probability π of the root-cause rule: a feature is a root cause when its noise is
    /// below the π or above the 1 − π quantile of the normal rows.
    #[arg(long, default_value_t = 0.125)]
    pub pi: f64,
    /// Model directory to create. An existing non-empty directory is refused unless --force.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the model files in an existing directory (other files are left alone).
    #[arg(long)]
    pub force: bool,
}

/// Where a fitted model is applied and how results are written.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Model directory written by `remedy fit`.
    #[arg(long)]
    pub model: PathBuf,
    /// Rows to examine (CSV or Parquet with the model's feature columns; others are ignored).
    #[arg(long)]
    pub data: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file instead of stdout (written to a temporary file beside it and
    /// renamed at the end, so a failure leaves no partial file).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Rows read and answered at a time: memory grows with it, not with the file. A row's
    /// answer does not depend on the rows read with it.
    #[arg(long, value_name = "N", default_value_t = remedy_core::batches::DEFAULT_BATCH_ROWS)]
    pub batch_rows: usize,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Model directory written by `remedy fit`.
    #[arg(long)]
    pub model: PathBuf,
    /// Rows to examine (CSV or Parquet with the model's feature columns).
    #[arg(long)]
    pub data: PathBuf,
    /// The HTML file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Seed of the recommendation search (default: the model's).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub rule: RuleArgs,
}

/// How root-cause sets are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuleArg {
    /// Holm's step-down over the features' calibrated p-values: on a normal row, the chance
    /// that any feature is printed as a root cause is at most α.
    Holm,
    /// Bonferroni over the features' p-values (flags p ≤ α / number of features).
    Bonferroni,
    /// The RootCLAM paper's rule: a feature whose noise lies in the outer π of each tail of
    /// the normal rows' (about 2π of normal features are flagged).
    Quantile,
}

/// The root-cause rule of `recommend` and `report` (the α of `explain` is `--alpha`).
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Which root causes actions may touch: by default the quantile rule's wider set, since a
    /// missed root cause cannot be acted on (`report` lists the evidence with holm); holm or
    /// bonferroni act only on the calibrated set `explain` prints.
    #[arg(long, value_enum)]
    pub rule: Option<RuleArg>,
    /// α of the holm and bonferroni rules: the chance that a normal feature is named a root
    /// cause in a row, at most (default 0.01).
    #[arg(
        long = "root-cause-alpha",
        id = "root_cause_alpha",
        value_name = "ALPHA"
    )]
    pub alpha: Option<f64>,
    /// π of the quantile rule (default: the π the model was fitted with, 0.125 unless set).
    #[arg(long)]
    pub pi: Option<f64>,
}

/// What the causal models can answer, for the help of `counterfactual` and `intervene`.
const WHAT_IF_MODELS: &str = "\
Interventions (RootCLAM Eq. 2) are applied in topological order, so descendants move with
them: --shift NAME=θ adds θ (in the feature's units) to its structural value, keeping its
noise; --do NAME=VALUE sets it, cutting it from its parents and noise. A binary feature is set
with 0 or 1, a categorical one with a level's name; neither can be shifted.

What each causal model (`fit --causal`) answers:
  anm   Continuous features: exact abduction (u = x - f(parents)), so a row with no
        intervention comes back unchanged. A binary or categorical descendant keeps its place
        in its distribution: it changes level only where its new parents move its level's
        interval past its noise.
  vaca  Abduction is the encoder's posterior mean: an approximation, so a counterfactual
        carries the model's reconstruction error. A binary or categorical descendant takes the
        level the model's rule gives (monotone, or the decoder's most likely level for models
        saved before that rule).

Both are learnt from the normal rows: a question about parent values the normal rows never
held (far out, or pairs that never occurred together) is an extrapolation.

intervene draws the noise of the normal rows the model keeps (all its training rows up to
10,000, in population.parquet) with replacement: an empirical noise law, no assumed family.";

#[derive(Debug, Args)]
pub struct WhatIfArgs {
    #[command(flatten)]
    pub apply: ApplyArgs,
    #[command(flatten)]
    pub intervention: InterventionArgs,
}

/// The interventions of `counterfactual` and `intervene`.
#[derive(Debug, Args)]
pub struct InterventionArgs {
    /// A soft intervention NAME=θ: the feature's structural value plus θ, in its own units
    /// (repeat, or join with commas).
    #[arg(long, value_name = "NAME=θ", allow_hyphen_values = true)]
    pub shift: Vec<String>,
    /// A hard intervention NAME=VALUE: the feature set to VALUE (a level's name for a
    /// categorical feature, 0 or 1 for a binary one; repeat, or join with commas).
    #[arg(long = "do", value_name = "NAME=VALUE", allow_hyphen_values = true)]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InterveneArgs {
    /// Model directory written by `remedy fit`.
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub intervention: InterventionArgs,
    /// Rows drawn from the population.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub samples: usize,
    /// Seed of the draws (default: the model's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print per feature the observational and interventional mean, sd and quantiles (the
    /// share of each level for binary and categorical features) instead of the samples.
    #[arg(long)]
    pub summary: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file instead of stdout (written to a temporary file beside it and
    /// renamed at the end).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    #[command(flatten)]
    pub apply: ApplyArgs,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// Explain every row, not only the anomalous ones (a row the detector does not flag gets
    /// only the root causes the rule flags, often none).
    #[arg(long)]
    pub all: bool,
    /// How root-cause sets are chosen.
    #[arg(long, value_enum, default_value_t = RuleArg::Holm)]
    pub rule: RuleArg,
    /// α of the holm and bonferroni rules: on a normal row, the chance that any feature is
    /// printed as a root cause is at most α (default 0.01). Smaller α: fewer false root
    /// causes, but a root cause must stand out more to be named. A row the detector flags
    /// always gets at least its most unusual feature.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// π of the quantile rule (default: the π the model was fitted with, 0.125 unless set).
    #[arg(long)]
    pub pi: Option<f64>,
    /// One line per row and feature (row, feature, root_cause, rank, pvalue, feature_score,
    /// deviation) instead of one line per row.
    #[arg(long)]
    pub long: bool,
    /// Ask about an anomaly in this feature (a service-level objective that fired, say):
    /// only it and its ancestors in the graph are root-cause candidates, ranked and corrected
    /// for among themselves; the other features get rank 0 and are never named.
    #[arg(long, value_name = "FEATURE")]
    pub target: Option<String>,
}

#[derive(Debug, Args)]
pub struct RecommendArgs {
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// How actions are found.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// Seed of the search (default: the model's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Weight λ of the action cost ‖c ⊙ θ/sd‖₂ against the detector score (in units of the
    /// threshold); larger values prefer cheaper actions over a lower score (default 0.05).
    #[arg(long)]
    pub lambda: Option<f64>,
    /// With `--target threshold`: aim for a score below α × threshold; α < 1 leaves a margin
    /// (default 0.9). Given alone, it selects `--target threshold`.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Threads the rows' searches run on. The answers are byte-identical for any number.
    #[arg(long, default_value_t = remedy_app::options::RECOMMEND_THREADS as u16,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub rule: RuleArgs,
}

/// Where a recommendation aims the counterfactual's detector score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// A typical normal score: a quantile of the detector's scores on held-out normal rows
    /// (`--target-quantile`), inside the region where normal rows lie.
    Typical,
    /// Just under the detector's threshold (α × threshold, the paper's objective): the
    /// cheapest action that changes the verdict, often not enough to fix the case.
    Threshold,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Where actions aim the detector's score [default: typical, or threshold when only
    /// --alpha is given].
    #[arg(long, value_enum)]
    pub target: Option<TargetArg>,
    /// With `--target typical`: the quantile of the normal rows' scores to aim at, in (0, 1)
    /// [default: 0.5].
    #[arg(long, value_name = "Q")]
    pub target_quantile: Option<f64>,
    /// With `--target typical`: the least plausibility of the whole counterfactual, in (0, 1):
    /// the share of held-out normal rows at least as far from their nearest normal
    /// neighbours [default: 0.9].
    #[arg(long, value_name = "P")]
    pub min_plausibility: Option<f64>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks: no two arguments of a command share an id (a flattened
    /// `alpha` once shadowed `recommend --alpha`), defaults parse, and so on.
    #[test]
    fn arguments_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
