//! What-if queries on a fitted model (`remedy counterfactual`, `remedy intervene`): the
//! counterfactual of given rows, each keeping its own abducted noise, and the population under
//! an intervention. Interventions are RootCLAM's (paper Eq. 2): a soft one adds θ_i to a
//! feature's structural value (`x_i = f_i(pa_i) + u_i + θ_i`), a hard one sets it
//! (`x_i = v`, cut from its parents and noise); they are applied in topological order, so
//! descendants move with them. Both queries go through [`CausalModel`], so the additive-noise
//! model and VACA answer the same question.
//!
//! The population under an intervention is the counterfactual of normal rows under it:
//! `p(x | do(·))` is the law of the mechanisms' output when the noise is drawn from its normal
//! law. The noise drawn is the abducted noise of the normal rows the model keeps (all its
//! training rows, or a sample of [`POPULATION_ROWS`] of them, in `population.parquet`),
//! resampled with replacement: an empirical noise law, not a fitted one, so the answer carries
//! no distributional assumption and cannot leave the range of noise the normal rows showed.

use std::path::Path;

use rand::Rng;
use remedy_core::io::{parquet_bytes, read_parquet};
use remedy_core::schema::{FeatureType, sample_sd};
use remedy_core::{Column, Error, Intervention, Result, Schema, Table};
use remedy_detect::threshold::quantile;
use remedy_nn::store::sha256_hex;
use serde::{Deserialize, Serialize};

use crate::model::Fitted;

/// Quantiles `intervene --summary` prints.
pub const SUMMARY_QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// The same draws of the population without and with an intervention (schema order; level
/// indices for categorical features).
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    pub observational: Vec<Vec<f64>>,
    pub interventional: Vec<Vec<f64>>,
}

/// One row's counterfactual and the detector's view of it.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterfactualRow {
    /// The row's values under the intervention (schema order; level indices for categorical
    /// features).
    pub values: Vec<f64>,
    pub score_before: f64,
    pub score_after: f64,
    pub threshold: f64,
}

impl Fitted {
    /// An intervention from `--shift` and `--do` texts, each `NAME=VALUE` (several per text
    /// joined by commas): a shift in the feature's own units (continuous features only), a
    /// set value in its units, 0 or 1 for a binary feature, a level's name for a categorical
    /// one. Refuses an unknown feature or level, a value that is not a number, a shift of a
    /// binary or categorical feature and a feature given twice, naming it.
    pub fn intervention(&self, shifts: &[String], sets: &[String]) -> Result<Intervention> {
        let schema = &self.manifest.schema;
        let mut iv = Intervention::default();
        let mut seen: Vec<usize> = Vec::new();
        let items = |texts: &[String]| -> Vec<String> {
            texts
                .iter()
                .flat_map(|t| t.split(','))
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        };
        for (flag, item, hard) in items(shifts)
            .into_iter()
            .map(|i| ("--shift", i, false))
            .chain(items(sets).into_iter().map(|i| ("--do", i, true)))
        {
            let (name, value) = item.split_once('=').ok_or_else(|| {
                Error::invalid(format!("{flag}: '{item}' is not of the form NAME=VALUE"))
            })?;
            let (name, value) = (name.trim(), value.trim());
            let j = schema
                .features
                .iter()
                .position(|f| f.name == name)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "{flag}: no feature '{name}' in the model; its features: {}",
                        schema.names().join(", ")
                    ))
                })?;
            if seen.contains(&j) {
                return Err(Error::invalid(format!(
                    "'{name}' is intervened on twice; give it once, to --shift or to --do"
                )));
            }
            seen.push(j);
            let number = || -> Result<f64> {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "{flag}: '{value}' for '{name}' is not a finite number"
                        ))
                    })
            };
            match (&schema.features[j].kind, hard) {
                (FeatureType::Continuous, false) => iv.shift.push((j, number()?)),
                (FeatureType::Continuous, true) => iv.set.push((j, number()?)),
                (FeatureType::Binary, false) => {
                    return Err(Error::invalid(format!(
                        "--shift: '{name}' is binary, so a shift has no meaning; set it with \
                         --do {name}=0 or --do {name}=1"
                    )));
                }
                (FeatureType::Binary, true) => match value {
                    "0" | "1" => iv.set.push((j, number()?)),
                    _ => {
                        return Err(Error::invalid(format!(
                            "--do: '{name}' is binary; '{value}' is not 0 or 1"
                        )));
                    }
                },
                (FeatureType::Categorical { levels }, false) => {
                    return Err(Error::invalid(format!(
                        "--shift: '{name}' is categorical, so a shift has no meaning; set a \
                         level with --do {name}=LEVEL (levels: {})",
                        levels.join(", ")
                    )));
                }
                (FeatureType::Categorical { levels }, true) => {
                    let k = levels.iter().position(|l| l == value).ok_or_else(|| {
                        Error::invalid(format!(
                            "--do: '{name}' has no level '{value}'; its levels: {}",
                            levels.join(", ")
                        ))
                    })?;
                    iv.set.push((j, k as f64));
                }
            }
        }
        if iv.is_empty() {
            return Err(Error::invalid(
                "give at least one intervention with --shift NAME=VALUE or --do NAME=VALUE",
            ));
        }
        Ok(iv)
    }

    /// Every row of `table` as it would have been under `iv`, keeping its own abducted noise,
    /// with the detector's score before and after. Empty cells are filled as by
    /// [`Fitted::detect`].
    pub fn counterfactual(
        &self,
        table: &Table,
        iv: &Intervention,
    ) -> Result<Vec<CounterfactualRow>> {
        let rows = self.rows(table)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let cfs = self
            .causal
            .counterfactual_batch(&rows, &vec![iv.clone(); rows.len()])?;
        let before = self.detector.score(&rows)?;
        let after = self.detector.score(&cfs)?;
        let threshold = self.detector.threshold();
        Ok(cfs
            .into_iter()
            .zip(before.into_iter().zip(after))
            .map(|(values, (score_before, score_after))| CounterfactualRow {
                values,
                score_before,
                score_after,
                threshold,
            })
            .collect())
    }

    /// `table` with its feature columns replaced by the counterfactual values of `rows`
    /// (categorical features as level names; other columns as they were), then
    /// `score_before`, `is_anomaly_before`, `score_after`, `is_anomaly_after` (1/0) and
    /// `threshold`. Columns of those names in `table` (an earlier answer read back) are
    /// replaced.
    pub fn counterfactual_table(&self, table: &Table, rows: &[CounterfactualRow]) -> Result<Table> {
        let schema = &self.manifest.schema;
        let added = [
            "score_before",
            "is_anomaly_before",
            "score_after",
            "is_anomaly_after",
            "threshold",
        ];
        let mut cols: Vec<(String, Column)> = Vec::with_capacity(table.n_cols() + added.len());
        for (name, column) in table.columns() {
            if added.contains(&name) {
                continue;
            }
            let col = match schema.features.iter().position(|f| f.name == name) {
                Some(j) => self.feature_column(j, rows.iter().map(|r| r.values[j])),
                None => column.clone(),
            };
            cols.push((name.to_string(), col));
        }
        let num = |f: &dyn Fn(&CounterfactualRow) -> f64| Column::Num(rows.iter().map(f).collect());
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        cols.extend([
            ("score_before".to_string(), num(&|r| r.score_before)),
            (
                "is_anomaly_before".into(),
                num(&|r| flag(r.score_before > r.threshold)),
            ),
            ("score_after".into(), num(&|r| r.score_after)),
            (
                "is_anomaly_after".into(),
                num(&|r| flag(r.score_after > r.threshold)),
            ),
            ("threshold".into(), num(&|r| r.threshold)),
        ]);
        Table::new(cols)
    }

    /// `samples` rows of the population under `iv`, and the same rows without it (the
    /// observational sample they are compared with): normal rows the model keeps, drawn with
    /// replacement with `rng`, pushed through the mechanisms with and without the
    /// intervention (see the module's documentation).
    pub fn intervene<R: Rng + ?Sized>(
        &self,
        iv: &Intervention,
        samples: usize,
        rng: &mut R,
    ) -> Result<Samples> {
        if samples == 0 {
            return Err(Error::invalid("--samples must be at least 1"));
        }
        let kept = match (&self.population, &self.manifest.support) {
            (Some(p), _) if !p.is_empty() => p,
            (_, Some(s)) if !s.rows.is_empty() => {
                tracing::warn!(
                    rows = s.rows.len(),
                    "this model predates the kept population; drawing from the normal rows \
                     it keeps for plausibility (fewer rows: a mean is less precise); refit \
                     for more"
                );
                &s.rows
            }
            _ => {
                return Err(Error::invalid(
                    "this model keeps no normal rows to draw noise from; refit it with this \
                     remedy",
                ));
            }
        };
        let observed: Vec<Vec<f64>> = (0..samples)
            .map(|_| kept[rng.random_range(0..kept.len())].clone())
            .collect();
        // Chunks keep memory bounded for a large --samples; each row's answer does not
        // depend on the rows beside it.
        let mut intervened = Vec::with_capacity(samples);
        for chunk in observed.chunks(remedy_core::batches::DEFAULT_BATCH_ROWS) {
            intervened.extend(
                self.causal
                    .counterfactual_batch(chunk, &vec![iv.clone(); chunk.len()])?,
            );
        }
        Ok(Samples {
            observational: observed,
            interventional: intervened,
        })
    }

    /// Rows of feature values as a table in the features' own units (categorical features as
    /// level names), with a `sample` column numbering them from 1.
    pub fn sample_table(&self, rows: &[Vec<f64>]) -> Result<Table> {
        let mut cols = vec![(
            "sample".to_string(),
            Column::Num((1..=rows.len()).map(|i| i as f64).collect()),
        )];
        for (j, f) in self.manifest.schema.features.iter().enumerate() {
            cols.push((
                f.name.clone(),
                self.feature_column(j, rows.iter().map(|r| r[j])),
            ));
        }
        Table::new(cols)
    }

    /// Per feature, the observational and the interventional sample side by side: `mean`,
    /// `sd` and the [`SUMMARY_QUANTILES`] of a continuous feature, the share of 1s (`P(=1)`)
    /// of a binary one, each level's share (`P(=level)`) of a categorical one. Columns
    /// `feature`, `statistic`, `observational`, `interventional`, `change`.
    pub fn summary_table(&self, observed: &[Vec<f64>], intervened: &[Vec<f64>]) -> Result<Table> {
        let mut feature = Vec::new();
        let mut statistic = Vec::new();
        let mut before = Vec::new();
        let mut after = Vec::new();
        for (j, f) in self.manifest.schema.features.iter().enumerate() {
            let a: Vec<f64> = observed.iter().map(|r| r[j]).collect();
            let b: Vec<f64> = intervened.iter().map(|r| r[j]).collect();
            let mut push = |s: String, x: f64, y: f64| {
                feature.push(f.name.clone());
                statistic.push(s);
                before.push(x);
                after.push(y);
            };
            match &f.kind {
                FeatureType::Continuous => {
                    push("mean".into(), mean(&a), mean(&b));
                    push("sd".into(), sd(&a), sd(&b));
                    for q in SUMMARY_QUANTILES {
                        push(
                            format!("q{:02}", (q * 100.0).round() as u32),
                            quantile(&a, q),
                            quantile(&b, q),
                        );
                    }
                }
                FeatureType::Binary => push("P(=1)".into(), share(&a, 1.0), share(&b, 1.0)),
                FeatureType::Categorical { levels } => {
                    for (k, l) in levels.iter().enumerate() {
                        push(format!("P(={l})"), share(&a, k as f64), share(&b, k as f64));
                    }
                }
            }
        }
        let change: Vec<f64> = before.iter().zip(&after).map(|(x, y)| y - x).collect();
        Table::new(vec![
            ("feature".into(), Column::Text(feature)),
            ("statistic".into(), Column::Text(statistic)),
            ("observational".into(), Column::Num(before)),
            ("interventional".into(), Column::Num(after)),
            ("change".into(), Column::Num(change)),
        ])
    }

    /// Feature `j`'s values as a column: level names for a categorical feature, numbers
    /// otherwise.
    pub(crate) fn feature_column(&self, j: usize, values: impl Iterator<Item = f64>) -> Column {
        match &self.manifest.schema.features[j].kind {
            FeatureType::Categorical { levels } => Column::Text(
                values
                    .map(|v| levels.get(v as usize).cloned().unwrap_or_default())
                    .collect(),
            ),
            _ => Column::Num(values.collect()),
        }
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// The sample standard deviation ([`sample_sd`]); 0 for one value.
fn sd(v: &[f64]) -> f64 {
    if v.len() < 2 { 0.0 } else { sample_sd(v) }
}

fn share(v: &[f64], value: f64) -> f64 {
    v.iter().filter(|&&x| x == value).count() as f64 / v.len() as f64
}

/// The most normal rows a model keeps for `intervene`: the standard error of an
/// interventional mean is then at most 1/√10,000 = 0.01 sd (with the 1,024 rows that the
/// plausibility reference keeps it was 0.03 sd, and a 0.05 sd target failed on a
/// linear-Gaussian SCM).
pub const POPULATION_ROWS: usize = 10_000;

/// The file in a model directory holding the kept normal rows.
pub const POPULATION_FILE: &str = "population.parquet";

/// The kept normal rows' file, as the manifest names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationFile {
    pub file: String,
    pub rows: usize,
    pub sha256: String,
}

/// The normal rows a model keeps: all of `rows` when they are at most [`POPULATION_ROWS`],
/// otherwise that many drawn without replacement with `rng`, in data order.
pub(crate) fn sample_population<R: Rng + ?Sized>(rows: &[Vec<f64>], rng: &mut R) -> Vec<Vec<f64>> {
    if rows.len() <= POPULATION_ROWS {
        return rows.to_vec();
    }
    let mut idx = rand::seq::index::sample(rng, rows.len(), POPULATION_ROWS).into_vec();
    idx.sort_unstable();
    idx.into_iter().map(|i| rows[i].clone()).collect()
}

/// The kept rows as a Parquet file's bytes (one column per feature, level indices for
/// categorical ones) and its manifest entry.
pub(crate) fn population_file(
    rows: &[Vec<f64>],
    schema: &Schema,
) -> Result<(PopulationFile, Vec<u8>)> {
    let names: Vec<String> = schema.names().iter().map(|n| n.to_string()).collect();
    let bytes = parquet_bytes(&Table::from_rows(&names, rows)?)?;
    Ok((
        PopulationFile {
            file: POPULATION_FILE.into(),
            rows: rows.len(),
            sha256: sha256_hex(&bytes),
        },
        bytes,
    ))
}

/// Reads the kept rows back, refusing a missing, altered or malformed file by name.
pub(crate) fn load_population(
    dir: &Path,
    file: &PopulationFile,
    schema: &Schema,
) -> Result<Vec<Vec<f64>>> {
    let path = dir.join(&file.file);
    let name = path.display().to_string();
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    if sha256_hex(&bytes) != file.sha256 {
        return Err(Error::format(
            &name,
            "does not match the checksum in remedy.json: the file was truncated, edited or \
             replaced; refit the model",
        ));
    }
    let rows = crate::data::rows(&read_parquet(&path)?, schema)
        .map_err(|e| Error::format(&name, e.to_string()))?;
    if rows.len() != file.rows {
        return Err(Error::format(
            &name,
            format!("{} rows, but remedy.json says {}", rows.len(), file.rows),
        ));
    }
    Ok(rows)
}
