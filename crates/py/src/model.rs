//! `remedy._remedy.Model`: fit, load, save, detect, explain and recommend, each a call into
//! `remedy-app` with the CLI's settings by name.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3_arrow::PyTable;

use remedy_app::options::{
    Choice, RuleKind, TargetKind, recommend_config, recommend_target, root_cause_rule,
};
use remedy_app::{
    CausalKind, DetectorKind, FitConfig, Fitted, Missing, RecommendMethod, RecourseKind,
    detect_table, explain_long_table, explain_table, recommend_table,
};
use remedy_core::dot::read_graph;
use remedy_core::{Dag, Error, Result, Schema};
use remedy_nn::NoObserver;

use crate::convert::{Batches, to_batches, to_pyarrow};
use crate::detached;

/// The graph as the package passes it: a file (DOT, edge list, JSON) or `(source, target)`
/// pairs.
#[derive(FromPyObject)]
pub enum Graph {
    Path(PathBuf),
    Edges(Vec<(String, String)>),
}

impl Graph {
    fn dag(&self) -> Result<Dag> {
        match self {
            Graph::Path(p) => read_graph(p),
            Graph::Edges(e) => Dag::from_edges(e),
        }
    }
}

fn choice<T: Choice>(name: Option<&str>) -> Result<Option<T>> {
    name.map(T::parse).transpose()
}

/// A schema from the package: a TOML file, or the same structure as JSON text.
fn schema_of(path: Option<&PathBuf>, json: Option<&str>) -> Result<Option<Schema>> {
    match (path, json) {
        (Some(p), _) => Schema::read(p).map(Some),
        (None, Some(text)) => {
            let s: Schema =
                serde_json::from_str(text).map_err(|e| Error::invalid(format!("schema: {e}")))?;
            s.validate()?;
            Ok(Some(s))
        }
        (None, None) => Ok(None),
    }
}

/// A fitted model (detector, causal model, root-cause reference, recourse network).
#[pyclass(frozen, module = "remedy._remedy")]
pub struct Model {
    inner: Fitted,
}

#[pymethods]
impl Model {
    /// Fits on normal rows (`remedy fit`).
    #[staticmethod]
    #[pyo3(signature = (
        train, graph, schema=None, schema_json=None, *, seed=0, detector=None, causal=None,
        recourse=None, epochs=None, pi=None, missing=None, target=None, target_quantile=None,
        min_plausibility=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        train: PyTable,
        graph: Graph,
        schema: Option<PathBuf>,
        schema_json: Option<String>,
        seed: u64,
        detector: Option<&str>,
        causal: Option<&str>,
        recourse: Option<&str>,
        epochs: Option<usize>,
        pi: Option<f64>,
        missing: Option<&str>,
        target: Option<&str>,
        target_quantile: Option<f64>,
        min_plausibility: Option<f64>,
    ) -> PyResult<Model> {
        let train = Batches::from(train);
        let settings = || -> Result<FitConfig> {
            let d = FitConfig::default();
            Ok(FitConfig {
                detector: choice::<DetectorKind>(detector)?.unwrap_or(d.detector),
                causal: choice::<CausalKind>(causal)?.unwrap_or(d.causal),
                recourse: choice::<RecourseKind>(recourse)?.unwrap_or(d.recourse),
                missing: choice::<Missing>(missing)?.unwrap_or(d.missing),
                target: recommend_target(
                    choice::<TargetKind>(target)?,
                    target_quantile,
                    min_plausibility,
                    None,
                )?,
                seed,
                epochs,
                pi: pi.unwrap_or(d.pi),
                ..d
            })
        };
        let config = settings().map_err(|e| crate::to_py(py, e))?;
        let inner = detached(py, move || {
            let dag = graph.dag()?;
            let schema = schema_of(schema.as_ref(), schema_json.as_deref())?;
            let train = train.to_table("train", None)?;
            remedy_app::fit(&train, &dag, schema.as_ref(), &config, &mut NoObserver)
        })?;
        Ok(Model { inner })
    }

    /// Loads a model directory (`remedy fit --out`).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
        let inner = detached(py, move || Fitted::load(&path))?;
        Ok(Model { inner })
    }

    /// Writes the model directory; an existing non-empty one only with `force`.
    #[pyo3(signature = (path, *, force=false))]
    fn save(&self, py: Python<'_>, path: PathBuf, force: bool) -> PyResult<()> {
        detached(py, || self.inner.save(&path, force))
    }

    /// The feature names, in the model's order.
    #[getter]
    fn features(&self) -> Vec<String> {
        self.inner
            .features()
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// The detector's threshold: a row scoring above it is anomalous.
    #[getter]
    fn threshold(&self) -> f64 {
        self.inner.threshold()
    }

    /// `remedy.json` as JSON text: the schema, graph, settings and what fit kept.
    #[getter]
    fn manifest_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner.manifest)
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
    }

    /// Scores rows (`remedy detect`): a pyarrow Table with the CLI's columns. `row_offset`
    /// rows came before these (a batch of a longer stream): the `row` column counts on.
    #[pyo3(signature = (data, *, row_offset=0))]
    fn detect(&self, py: Python<'_>, data: PyTable, row_offset: usize) -> PyResult<Py<PyAny>> {
        let data = Batches::from(data);
        let out = detached(py, || {
            let table = data.to_table("data", Some(&self.inner.features()))?;
            let mut rows = self.inner.detect(&table.with_first_row(row_offset))?;
            for r in &mut rows {
                r.row += row_offset;
            }
            to_batches(&detect_table(&rows)?)
        })?;
        to_pyarrow(py, out)
    }

    /// Root causes of the anomalous rows (`remedy explain`).
    #[pyo3(signature = (
        data, *, all=false, rule=None, alpha=None, pi=None, target=None, long=false, row_offset=0
    ))]
    #[allow(clippy::too_many_arguments)]
    fn explain(
        &self,
        py: Python<'_>,
        data: PyTable,
        all: bool,
        rule: Option<&str>,
        alpha: Option<f64>,
        pi: Option<f64>,
        target: Option<String>,
        long: bool,
        row_offset: usize,
    ) -> PyResult<Py<PyAny>> {
        let data = Batches::from(data);
        let kind = choice::<RuleKind>(rule).map_err(|e| crate::to_py(py, e))?;
        let out = detached(py, || {
            let rule = root_cause_rule(kind.unwrap_or(RuleKind::Holm), alpha, pi, "--alpha")?;
            let table = data.to_table("data", Some(&self.inner.features()))?;
            let mut rows = self.inner.explain_target(
                &table.with_first_row(row_offset),
                all,
                &rule,
                target.as_deref(),
            )?;
            for r in &mut rows {
                r.row += row_offset;
            }
            to_batches(&if long {
                explain_long_table(&self.inner, &rows)?
            } else {
                explain_table(&self.inner, &rows)?
            })
        })?;
        to_pyarrow(py, out)
    }

    /// For each anomalous row, the cheapest action that makes it normal (`remedy recommend`).
    #[pyo3(signature = (
        data, *, method=None, seed=None, lambda_=None, alpha=None, target=None,
        target_quantile=None, min_plausibility=None, rule=None, root_cause_alpha=None, pi=None,
        row_offset=0
    ))]
    #[allow(clippy::too_many_arguments)]
    fn recommend(
        &self,
        py: Python<'_>,
        data: PyTable,
        method: Option<&str>,
        seed: Option<u64>,
        lambda_: Option<f64>,
        alpha: Option<f64>,
        target: Option<&str>,
        target_quantile: Option<f64>,
        min_plausibility: Option<f64>,
        rule: Option<&str>,
        root_cause_alpha: Option<f64>,
        pi: Option<f64>,
        row_offset: usize,
    ) -> PyResult<Py<PyAny>> {
        let data = Batches::from(data);
        let settings = || -> Result<_> {
            let method = choice::<RecommendMethod>(method)?.unwrap_or_default();
            let target = recommend_target(
                choice::<TargetKind>(target)?,
                target_quantile,
                min_plausibility,
                alpha,
            )?;
            let kind = choice::<RuleKind>(rule)?.unwrap_or(RuleKind::Quantile);
            let rule = root_cause_rule(kind, root_cause_alpha, pi, "--root-cause-alpha")?;
            Ok((method, target, rule))
        };
        let (method, target, rule) = settings().map_err(|e| crate::to_py(py, e))?;
        let out = detached(py, || {
            let table = data.to_table("data", Some(&self.inner.features()))?;
            let config = recommend_config(lambda_, None);
            let table = table.with_first_row(row_offset);
            let mut rows = self
                .inner
                .recommend(&table, &config, target, method, &rule, seed)?;
            for r in &mut rows {
                r.row += row_offset;
            }
            to_batches(&recommend_table(&self.inner, &rows)?)
        })?;
        to_pyarrow(py, out)
    }

    /// Each row under an intervention (`remedy counterfactual`): the features' counterfactual
    /// values (in the input's column order), then the detector's score and verdict before and
    /// after; the package puts the input's other columns back around them. `shift` and `set`
    /// hold the CLI's `--shift` and `--do` texts (`NAME=VALUE`).
    #[pyo3(signature = (data, *, shift=Vec::new(), set=Vec::new()))]
    fn counterfactual(
        &self,
        py: Python<'_>,
        data: PyTable,
        shift: Vec<String>,
        set: Vec<String>,
    ) -> PyResult<Py<PyAny>> {
        let data = Batches::from(data);
        let iv = self
            .inner
            .intervention(&shift, &set)
            .map_err(|e| crate::to_py(py, e))?;
        let out = detached(py, || {
            let table = data.to_table("data", Some(&self.inner.features()))?;
            let rows = self.inner.counterfactual(&table, &iv)?;
            to_batches(&self.inner.counterfactual_table(&table, &rows)?)
        })?;
        to_pyarrow(py, out)
    }

    /// The population under an intervention (`remedy intervene`): `samples` rows drawn with
    /// `seed` (default: the model's), or with `summary` the per-feature statistics beside the
    /// observational ones.
    #[pyo3(signature = (*, shift=Vec::new(), set=Vec::new(), samples=10_000, seed=None, summary=false))]
    fn intervene(
        &self,
        py: Python<'_>,
        shift: Vec<String>,
        set: Vec<String>,
        samples: usize,
        seed: Option<u64>,
        summary: bool,
    ) -> PyResult<Py<PyAny>> {
        let out = detached(py, || {
            let iv = self.inner.intervention(&shift, &set)?;
            let s = self
                .inner
                .intervene(&iv, samples, &mut self.inner.rng(seed, "intervene"))?;
            to_batches(&if summary {
                self.inner
                    .summary_table(&s.observational, &s.interventional)?
            } else {
                self.inner.sample_table(&s.interventional)?
            })
        })?;
        to_pyarrow(py, out)
    }

    fn __repr__(&self) -> String {
        format!(
            "remedy.Model({} features: {}; threshold {:.4})",
            self.inner.features().len(),
            self.inner.features().join(", "),
            self.inner.threshold()
        )
    }
}
