//! Fitting the three components (detector, causal model, root-cause reference) on normal data,
//! and the model directory they live in:
//!
//! ```text
//! MODEL_DIR/
//!   remedy.json            manifest: format and version, schema, graph, kinds, π, seed,
//!                          feature sds, the fitted noise reference, the calibration of the
//!                          root-cause p-values (held-out rows' noise), the component files
//!   detector.json          detector manifest (config, encoder, threshold, SHA-256 of weights)
//!   detector.safetensors   detector weights
//!   causal.json            causal-model manifest
//!   causal.safetensors     causal-model weights
//! ```
//!
//! Every file is written atomically, `remedy.json` last, so an interrupted save leaves a
//! directory that [`Fitted::load`] refuses rather than a half-written model. Loading checks the
//! format version, the components' checksums and that schema, graph and components agree.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rand::Rng;
use rand::seq::SliceRandom;
use remedy_core::dag::DagJson;
use remedy_core::io::write_atomic;
use remedy_core::schema::FeatureType;
use remedy_core::schema::sample_sd;
use remedy_core::traits::CausalModel;
use remedy_core::{Dag, Error, Result, Schema, Table, seed};
use remedy_detect::deepsvdd::ColumnScale;
use remedy_detect::encode::TabularEncoder;
use remedy_detect::{AnomalyDetector, Autoencoder, AutoencoderConfig, DeepSvdd, DeepSvddConfig};
use remedy_nn::{Observer, Recorded};
use remedy_recourse::support::{self, NormalSupport};
use remedy_rootcause::{NoiseReference, PValueReference, ReferenceFit};
use serde::{Deserialize, Serialize};

use crate::components::{DetectorParts, SaveFn, SharedDetector, cap, fit_causal};
use crate::data;
use crate::missing::{Missing, NormalValues};
use crate::network::{self, NetworkConfig, RecourseNetwork, TrainInputs};
use crate::ops::pick;
use crate::target::{Target, score_grid};
use crate::whatif::{self, PopulationFile};

/// What `remedy.json` says it is.
pub const FORMAT: &str = "remedy-model";
/// Version of the model directory layout this build writes and reads. Version 2 added the
/// p-value calibration (`calibration`); a version-1 directory is refused with a line asking
/// to refit (exit 2), since its root-cause sets could only come from the π rule.
pub const FORMAT_VERSION: u32 = 2;
/// Fewest held-out rows to calibrate the p-values on; with fewer (a tiny training set or
/// `valid_fraction` near 0) the training rows' noise is used, with a warning in the log.
const MIN_CALIBRATION_ROWS: usize = 20;
/// The manifest's file name.
pub const MANIFEST_FILE: &str = "remedy.json";
/// Base name of the detector's files.
const DETECTOR: &str = "detector";
/// Base name of the causal model's files.
pub(crate) const CAUSAL: &str = "causal";
/// Base name of the recourse network's files.
const RECOURSE: &str = "recourse";

/// Which anomaly detector to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectorKind {
    /// Denoising autoencoder; score = squared reconstruction error.
    Ae,
    /// Deep SVDD; score = distance to the centre.
    Deepsvdd,
}

/// Which causal model to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CausalKind {
    /// Additive-noise model: one regressor per node, exact abduction.
    Anm,
    /// VACA, the variational causal graph autoencoder.
    Vaca,
}

/// How `remedy recommend` finds actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecourseKind {
    /// Train RootCLAM's amortised network h_φ at fit time (the search remains available and
    /// takes over for rows the network does not make normal).
    Network,
    /// No network: every recommendation is a per-row search.
    Search,
}

/// Settings of [`fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitConfig {
    pub detector: DetectorKind,
    pub causal: CausalKind,
    pub recourse: RecourseKind,
    /// The recourse network's settings (with `recourse = network`).
    pub network: NetworkConfig,
    /// Seed of every random choice (split, initialisation, batches).
    pub seed: u64,
    /// Caps the epochs of every network (default: each component's own maximum, with early
    /// stopping).
    pub epochs: Option<usize>,
    /// Tail probability π of the root-cause rule (a feature is a root cause when its noise's
    /// CDF is below π or above 1 − π on the normal rows).
    pub pi: f64,
    /// Share of the training rows held out for early stopping.
    pub valid_fraction: f64,
    /// Empty cells of the training rows (and later of new rows): filled or refused.
    pub missing: Missing,
    /// Where the recourse network aims the counterfactual's detector score (as `recommend
    /// --target`).
    #[serde(default)]
    pub target: Target,
    /// Threads for work that is independent (today: the detector beside the causal model).
    /// Results are bit-identical for any number; 1 runs everything on the caller's thread.
    #[serde(default = "default_threads")]
    pub threads: usize,
}

/// Two threads: what is fastest on a 2-core machine (docs/PERFORMANCE.md), harmless on one.
pub fn default_threads() -> usize {
    2
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            detector: DetectorKind::Ae,
            causal: CausalKind::Anm,
            recourse: RecourseKind::Network,
            network: NetworkConfig::default(),
            seed: 0,
            epochs: None,
            pi: 0.125,
            valid_fraction: 0.2,
            missing: Missing::Impute,
            target: Target::default(),
            threads: default_threads(),
        }
    }
}

/// The two files of one component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentFiles {
    pub manifest: String,
    pub weights: String,
}

impl ComponentFiles {
    fn named(name: &str) -> Self {
        ComponentFiles {
            manifest: format!("{name}.json"),
            weights: format!("{name}.safetensors"),
        }
    }
}

/// The component files of a model directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Files {
    pub detector: ComponentFiles,
    pub causal: ComponentFiles,
    /// The recourse network, when the model has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recourse: Option<ComponentFiles>,
}

/// `remedy.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    pub format_version: u32,
    /// The remedy version that wrote the model.
    pub remedy_version: String,
    pub schema: Schema,
    /// The graph, nodes in the schema's order.
    pub graph: DagJson,
    pub detector: DetectorKind,
    pub causal: CausalKind,
    pub seed: u64,
    pub pi: f64,
    /// Training sd of each feature (schema order): the unit of actions in the search.
    pub feature_sd: Vec<f64>,
    /// Root-cause candidates: the schema's actionable features.
    pub candidates: Vec<String>,
    /// Per-candidate reference of the normal rows' abducted noise.
    pub noise_reference: NoiseReference,
    /// Per-candidate p-value calibration: the abducted noise of the held-out normal rows
    /// (see [`remedy_rootcause::pvalue`]).
    pub calibration: PValueReference,
    /// Whether `calibration` came from held-out rows (false: from the training rows, when
    /// too few were held out; its p-values are then optimistic about normal noise).
    pub calibration_held_out: bool,
    /// Median of each node's abducted noise on the normal rows, when every node has one noise
    /// value (additive-noise models): the search for an action starts by moving the root
    /// causes' noise back to it.
    #[serde(default)]
    pub noise_median: Option<Vec<f64>>,
    /// Rows the components were trained and validated on.
    pub train_rows: usize,
    pub valid_rows: usize,
    /// Data columns that were not graph nodes and were ignored.
    pub ignored_columns: Vec<String>,
    /// What the normal rows say about each feature's values: the fill of an empty cell, the
    /// features that never moved ([`crate::missing`]). Absent in models saved before it: an
    /// empty cell is then refused.
    #[serde(default)]
    pub normal_values: Option<NormalValues>,
    /// Empty cells of the training rows that `fit` filled.
    #[serde(default)]
    pub filled_cells: usize,
    /// The detector's scores on the held-out normal rows (the training rows when too few are
    /// held out) as quantiles 0, 0.01, …, 1: where `recommend --target typical` aims. Absent
    /// in models saved before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normal_scores: Option<Vec<f64>>,
    /// Normal reference rows and the calibration of their neighbour distance: the
    /// plausibility of a counterfactual (`recommend`). Absent in models saved before it
    /// existed and when too few rows were held out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<NormalSupport>,
    /// The normal rows kept for `intervene` ([`crate::whatif`]). Absent in models saved before
    /// it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<PopulationFile>,
    pub files: Files,
}

/// A fitted model: the manifest and the loaded components.
pub struct Fitted {
    pub manifest: Manifest,
    pub(crate) dag: Dag,
    pub(crate) detector: Box<dyn AnomalyDetector>,
    pub(crate) causal: Box<dyn CausalModel>,
    /// The amortised recourse network, when fitted with one.
    pub(crate) network: Option<RecourseNetwork>,
    /// The normal rows kept for `intervene`, when the model has them.
    pub(crate) population: Option<Vec<Vec<f64>>>,
    /// The components as fitted, to save (absent after loading).
    parts: Option<Parts>,
}

/// What [`Fitted::save`] writes.
struct Parts {
    save_detector: SaveFn,
    save_causal: SaveFn,
    /// The population file's bytes.
    population: Option<Vec<u8>>,
}

impl std::fmt::Debug for Fitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fitted")
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

/// Trains the detector, the causal model and the root-cause reference on the normal rows of
/// `train`. The features are the graph's nodes (see [`data::resolve`]); without a schema one is
/// inferred. Progress goes to `observer`.
pub fn fit(
    train: &Table,
    dag: &Dag,
    schema: Option<&Schema>,
    config: &FitConfig,
    observer: &mut dyn Observer,
) -> Result<Fitted> {
    if !(config.pi > 0.0 && config.pi < 0.5) {
        return Err(Error::invalid(format!(
            "--pi must lie in (0, 0.5), got {}",
            config.pi
        )));
    }
    if !(config.valid_fraction >= 0.0 && config.valid_fraction < 1.0) {
        return Err(Error::invalid(format!(
            "the validation fraction must lie in [0, 1), got {}",
            config.valid_fraction
        )));
    }
    config.target.validate()?;
    let features = data::resolve(train, dag, schema)?;
    let schema = features.schema;
    let dag = features.dag;
    let gappy = match config.missing {
        Missing::Error => data::rows(train, &schema)?,
        Missing::Impute => data::rows_with_gaps(train, &schema)?,
    };
    if gappy.len() < 10 {
        return Err(Error::invalid(format!(
            "{}: {} training rows; fitting needs at least 10 normal rows",
            train.source(),
            gappy.len()
        )));
    }
    let (normal_values, filled) = NormalValues::fit(
        &schema,
        &gappy,
        config.missing,
        &mut seed::child(config.seed, "impute"),
    )?;
    let filled_cells = filled.filled;
    if filled_cells > 0 {
        tracing::info!(
            cells = filled_cells,
            "filled empty training cells by drawing from each column's observed values"
        );
    }
    let (rows, observed) = (filled.rows, filled.observed);
    let candidates: Vec<usize> = (0..schema.features.len())
        .filter(|&j| schema.features[j].actionable)
        .collect();
    if candidates.is_empty() {
        return Err(Error::invalid(
            "no feature is actionable: mark the features a user can act on with \
             `actionable = true` in the schema",
        ));
    }
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    idx.shuffle(&mut seed::child(config.seed, "split"));
    let n_valid = ((rows.len() as f64) * config.valid_fraction).round() as usize;
    let (vi, ti) = idx.split_at_mut(n_valid);
    // Each split in data order.
    vi.sort_unstable();
    ti.sort_unstable();
    let (tr, va) = (pick(&rows, ti), pick(&rows, vi));
    let (tr_observed, va_observed) = (pick(&observed, ti), pick(&observed, vi));
    let population = whatif::sample_population(&rows, &mut seed::child(config.seed, "population"));
    let (population_file, population_bytes) = whatif::population_file(&population, &schema)?;
    let feature_sd: Vec<f64> = (0..schema.features.len())
        .map(|j| sample_sd(&tr.iter().map(|r| r[j]).collect::<Vec<_>>()))
        .collect();

    // Stage timings go to `tracing` (`remedy -v fit` prints them): the profile of
    // docs/PERFORMANCE.md. The detector and the causal model learn from the same rows
    // independently, each from its own seed: with two threads or more they train side by side,
    // with the same bits as one after the other (the causal model's progress reaches
    // `observer` when it has finished).
    let fit_detector = |observer: &mut dyn Observer| -> Result<DetectorParts> {
        let clock = Instant::now();
        let mut drng = seed::child(config.seed, "detector");
        let parts: DetectorParts = match config.detector {
            DetectorKind::Ae => {
                let mut c = AutoencoderConfig::default();
                cap(&mut c.train, config.epochs);
                let m = Arc::new(c.fit(&schema, &tr, &va, &mut drng, observer)?);
                let s = m.clone();
                (
                    Box::new(SharedDetector(m.clone())),
                    m,
                    Box::new(move |d: &Path| s.save(d, DETECTOR)),
                )
            }
            DetectorKind::Deepsvdd => {
                let mut c = DeepSvddConfig::default();
                cap(&mut c.train, config.epochs);
                // Every encoded column standardised, binary and one-hot too, as `reproduce` trains
                // it (`ColumnScale`): with a raw 0/1 column the bias-free network reads a constant
                // and can ignore the continuous columns. On generated Loan rows (seed 2) the
                // detector then flags 292 of 1,000 test anomalies instead of 53, with 47 false
                // alarms instead of 56.
                let encoder = TabularEncoder::fit_with(&schema, &tr, c.scaling)?;
                let columns = ColumnScale::fit(&encoder, &tr)?;
                let m = Arc::new(c.fit_with_encoder(
                    encoder,
                    Some(columns),
                    &tr,
                    &va,
                    &mut drng,
                    observer,
                )?);
                let s = m.clone();
                (
                    Box::new(SharedDetector(m.clone())),
                    m,
                    Box::new(move |d: &Path| s.save(d, DETECTOR)),
                )
            }
        };
        tracing::info!(
            seconds = clock.elapsed().as_secs_f64(),
            "trained the detector"
        );
        Ok(parts)
    };
    let (detector_parts, causal_fit) = if config.threads > 1 {
        std::thread::scope(|scope| {
            let causal = scope.spawn(|| {
                let mut recorded = Recorded::default();
                let fitted = fit_causal(config, &dag, &schema, &tr, &va, &mut recorded);
                (fitted, recorded)
            });
            let detector = fit_detector(observer);
            let (fitted, recorded) = causal
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            recorded.replay(observer);
            (detector, fitted)
        })
    } else {
        let detector = fit_detector(observer);
        (
            detector,
            fit_causal(config, &dag, &schema, &tr, &va, observer),
        )
    };
    let (detector, differentiable, save_detector) = detector_parts?;
    let (causal, soft, save_causal) = causal_fit?.into_parts();
    let clock = Instant::now();
    let held_out = va.len() >= MIN_CALIBRATION_ROWS;
    let normal_scores = score_grid(&detector.score(if held_out { &va } else { &tr })?);
    let support = if held_out {
        let unit = schema
            .features
            .iter()
            .zip(&feature_sd)
            .map(|(f, &sd)| (f.kind == FeatureType::Continuous).then_some(sd))
            .collect();
        Some(NormalSupport::fit(
            &tr,
            &va,
            unit,
            support::DEFAULT_K,
            &mut seed::child(config.seed, "support"),
        )?)
    } else {
        tracing::warn!(
            valid = va.len(),
            "too few held-out rows to calibrate the plausibility of recommendations; none kept"
        );
        None
    };
    tracing::info!(
        seconds = clock.elapsed().as_secs_f64(),
        "scored the normal rows and fitted the plausibility support"
    );
    let clock = Instant::now();
    let noise = causal.abduct_batch(&tr)?;
    let noise_reference = NoiseReference::fit_blocks(
        &noise,
        &causal.noise_dims(),
        &candidates,
        ReferenceFit::Empirical,
        1e-6,
    )?;
    if !held_out {
        tracing::warn!(
            valid = va.len(),
            "too few held-out rows to calibrate the root-cause p-values; using the training rows"
        );
    }
    let held_out_noise = if held_out {
        causal.abduct_batch(&va)?
    } else {
        Vec::new()
    };
    let (calibration_noise, calibration_observed) = if held_out {
        (&held_out_noise, &va_observed)
    } else {
        (&noise, &tr_observed)
    };
    // Each node is calibrated on the rows that have it: a filled cell is no sample of its
    // normal noise.
    let calibration = PValueReference::fit_observed(
        calibration_noise,
        &causal.noise_dims(),
        &candidates,
        1e-6,
        Some(calibration_observed),
    )?;
    let noise_median = causal.noise_dims().iter().all(|&k| k == 1).then(|| {
        (0..dag.len())
            .map(|j| crate::missing::median(&mut noise.iter().map(|u| u[j]).collect::<Vec<_>>()))
            .collect()
    });
    tracing::info!(
        train = tr.len(),
        valid = va.len(),
        threshold = detector.threshold(),
        "fitted detector, causal model and root-cause reference"
    );
    tracing::info!(
        seconds = clock.elapsed().as_secs_f64(),
        "abducted the noise and fitted the root-cause references"
    );
    let clock = Instant::now();
    let network = match config.recourse {
        RecourseKind::Search => None,
        RecourseKind::Network => network::train(
            &TrainInputs {
                causal: soft.as_ref(),
                detector: differentiable.as_ref(),
                schema: &schema,
                reference: &noise_reference,
                pi: config.pi,
                feature_sd: &feature_sd,
                rows: &tr,
                noise: &noise,
                plausible: match (config.target, &support) {
                    (
                        Target::Typical {
                            min_plausibility, ..
                        },
                        Some(s),
                    ) => Some((s, s.radius(min_plausibility))),
                    _ => None,
                },
                threads: config.threads,
            },
            &network_config(
                &config.network,
                config.target,
                &normal_scores,
                detector.threshold(),
            ),
            config.epochs,
            &mut seed::child(config.seed, "recourse"),
            observer,
        )?,
    };
    if network.is_some() {
        tracing::info!(
            seconds = clock.elapsed().as_secs_f64(),
            "trained the recourse network"
        );
    }
    let manifest = Manifest {
        format: FORMAT.to_string(),
        format_version: FORMAT_VERSION,
        remedy_version: env!("CARGO_PKG_VERSION").to_string(),
        graph: dag.to_json(),
        candidates: candidates
            .iter()
            .map(|&j| schema.features[j].name.clone())
            .collect(),
        schema,
        detector: config.detector,
        causal: config.causal,
        seed: config.seed,
        pi: config.pi,
        feature_sd,
        noise_reference,
        calibration,
        calibration_held_out: held_out,
        noise_median,
        train_rows: tr.len(),
        valid_rows: va.len(),
        ignored_columns: features.ignored_columns,
        normal_values: Some(normal_values),
        filled_cells,
        normal_scores: Some(normal_scores),
        support,
        population: Some(population_file),
        files: Files {
            detector: ComponentFiles::named(DETECTOR),
            causal: ComponentFiles::named(CAUSAL),
            recourse: network.as_ref().map(|_| ComponentFiles::named(RECOURSE)),
        },
    };
    Ok(Fitted {
        manifest,
        dag,
        detector,
        causal,
        network,
        population: Some(population),
        parts: Some(Parts {
            save_detector,
            save_causal,
            population: Some(population_bytes),
        }),
    })
}

/// The network's settings with its hinge at the fit's typical target (the threshold target
/// keeps the network's own α).
fn network_config(
    base: &NetworkConfig,
    target: Target,
    normal_scores: &[f64],
    tau: f64,
) -> NetworkConfig {
    let mut c = base.clone();
    if let Target::Typical { .. } = target {
        c.mitigation.alpha = target.alpha(Some(normal_scores), tau, base.mitigation.alpha);
    }
    c
}

/// True when `dir` exists and holds at least one entry.
fn non_empty(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut it) => Ok(it.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(Error::invalid(format!(
            "{}: exists and is not a directory; choose another --out",
            dir.display()
        ))),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// Fails when `dir` exists and is not empty and `force` is not set (or is not a directory):
/// call it before a long fit so that the refusal comes first.
pub fn check_output_dir(dir: &Path, force: bool) -> Result<()> {
    if non_empty(dir)? && !force {
        return Err(Error::invalid(format!(
            "{}: directory exists and is not empty; choose another --out or pass --force \
             to replace the model files in it",
            dir.display()
        )));
    }
    Ok(())
}

impl Fitted {
    /// The detector's threshold τ.
    pub fn threshold(&self) -> f64 {
        self.detector.threshold()
    }

    /// The graph (nodes in the schema's order).
    pub fn dag(&self) -> &Dag {
        &self.dag
    }

    /// Writes the model directory. Refuses an existing non-empty `dir` unless `force`; with
    /// `force` only the model's own files are replaced (the old manifest is removed first, so
    /// an interrupted save cannot leave an old manifest over new components). Files other than
    /// the model's are never touched.
    pub fn save(&self, dir: &Path, force: bool) -> Result<()> {
        let parts = self.parts.as_ref().ok_or_else(|| {
            Error::invalid("this model was loaded from disk; it is already saved")
        })?;
        check_output_dir(dir, force)?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let manifest_path = dir.join(MANIFEST_FILE);
        match std::fs::remove_file(&manifest_path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&manifest_path, e)),
        }
        (parts.save_detector)(dir)?;
        (parts.save_causal)(dir)?;
        if let Some(n) = &self.network {
            n.save(dir, RECOURSE)?;
        }
        if let (Some(bytes), Some(file)) = (&parts.population, &self.manifest.population) {
            write_atomic(&dir.join(&file.file), bytes)?;
        }
        let mut json = serde_json::to_vec_pretty(&self.manifest)
            .map_err(|e| Error::invalid(format!("model manifest: {e}")))?;
        json.push(b'\n');
        write_atomic(&manifest_path, &json)
    }

    /// Reads a model directory written by [`Fitted::save`]. A missing or corrupt manifest, a
    /// format version this build does not read, a component whose checksum does not match, or
    /// components that disagree with the schema are refused with an error naming the file.
    pub fn load(dir: &Path) -> Result<Fitted> {
        let path = dir.join(MANIFEST_FILE);
        let file = path.display().to_string();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::format(
                    &file,
                    format!(
                        "not found: {} is not a Remedy model directory (create one with \
                         `remedy fit`)",
                        dir.display()
                    ),
                ));
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            Error::format(
                &file,
                format!("not a valid model manifest ({e}); refit the model"),
            )
        })?;
        if value.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
            return Err(Error::format(&file, "not a Remedy model manifest"));
        }
        match value.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(v) => {
                return Err(Error::format(
                    &file,
                    format!(
                        "model format version {v}; this remedy reads version {FORMAT_VERSION} \
                         (refit the model with this remedy{})",
                        if v > u64::from(FORMAT_VERSION) {
                            ", or upgrade remedy"
                        } else {
                            ": older models hold no calibration for the root-cause p-values"
                        }
                    ),
                ));
            }
            None => return Err(Error::format(&file, "the manifest has no format_version")),
        }
        let manifest: Manifest = serde_json::from_value(value)
            .map_err(|e| Error::format(&file, format!("bad model manifest: {e}")))?;
        manifest.schema.validate()?;
        let dag = Dag::new(&manifest.graph.nodes, &manifest.graph.edges)
            .map_err(|e| Error::format(&file, e.to_string()))?;
        if dag
            .names()
            .iter()
            .map(String::as_str)
            .ne(manifest.schema.names())
        {
            return Err(Error::format(
                &file,
                "the graph's nodes are not the schema's features",
            ));
        }
        let detector: Box<dyn AnomalyDetector> = match manifest.detector {
            DetectorKind::Ae => Box::new(Autoencoder::load(dir, DETECTOR)?),
            DetectorKind::Deepsvdd => Box::new(DeepSvdd::load(dir, DETECTOR)?),
        };
        let causal: Box<dyn CausalModel> = match manifest.causal {
            CausalKind::Anm => Box::new(remedy_causal::Anm::load(dir, CAUSAL)?),
            CausalKind::Vaca => Box::new(remedy_causal::Vaca::load(dir, CAUSAL)?),
        };
        let network = match &manifest.files.recourse {
            None => None,
            Some(files) => {
                let name = files.manifest.strip_suffix(".json").unwrap_or(RECOURSE);
                let n = RecourseNetwork::load(dir, name)?;
                if n.net.nodes != dag.len() || n.encoder.features.len() != dag.len() {
                    return Err(Error::format(
                        &file,
                        "the recourse network does not match the model's features; refit the model",
                    ));
                }
                Some(n)
            }
        };
        if causal.node_names() != dag.names() {
            return Err(Error::format(
                dir.join(&manifest.files.causal.manifest)
                    .display()
                    .to_string(),
                format!(
                    "the causal model's nodes ({}) are not the model's features ({})",
                    causal.node_names().join(", "),
                    dag.names().join(", ")
                ),
            ));
        }
        if manifest.feature_sd.len() != dag.len()
            || manifest
                .noise_median
                .as_ref()
                .is_some_and(|m| m.len() != dag.len())
            || manifest.noise_reference.dims() != causal.noise_dims().as_slice()
            || manifest.calibration.dims() != causal.noise_dims().as_slice()
            || manifest.calibration.blocks() != manifest.noise_reference.blocks()
        {
            return Err(Error::format(
                &file,
                "the manifest does not match its components; refit the model",
            ));
        }
        let population = match &manifest.population {
            Some(p) => Some(whatif::load_population(dir, p, &manifest.schema)?),
            None => None,
        };
        Ok(Fitted {
            manifest,
            dag,
            detector,
            causal,
            network,
            population,
            parts: None,
        })
    }

    /// How many synthetic anomalies the recourse network learnt from (`None`: no network).
    pub fn network_anomalies(&self) -> Option<usize> {
        self.network.as_ref().map(|n| n.anomalies)
    }

    /// The causal model.
    pub fn causal(&self) -> &dyn CausalModel {
        self.causal.as_ref()
    }

    /// The detector.
    pub fn detector(&self) -> &dyn AnomalyDetector {
        self.detector.as_ref()
    }

    /// A generator for `stream`, derived from `seed` (the model's seed when `None`).
    pub fn rng(&self, seed: Option<u64>, stream: &str) -> impl Rng + use<> {
        remedy_core::seed::child(seed.unwrap_or(self.manifest.seed), stream)
    }
}
