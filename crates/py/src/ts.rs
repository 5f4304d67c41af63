//! `remedy._remedy.TsModel` and `Monitor`: `remedy ts fit` and `remedy ts monitor` one step at
//! a time, each step's answer the JSON object of the CLI's output line.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_arrow::PyTable;

use remedy_app::ts::{TsFitConfig, TsModel as Fitted, ts_fit};
use remedy_core::Error;
use remedy_nn::NoObserver;

use crate::convert::Batches;
use crate::detached;

/// A fitted time-series model (USAD, GVAR, the RecAD recourse network).
#[pyclass(frozen, module = "remedy._remedy")]
pub struct TsModel {
    inner: Arc<Fitted>,
}

#[pymethods]
impl TsModel {
    /// Fits on normal series (`remedy ts fit`).
    #[staticmethod]
    #[pyo3(signature = (
        train, *, seed=0, window=None, epochs=None, series_column=None, time_column=None,
        variables=None, shock=None, threshold_times=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        train: PyTable,
        seed: u64,
        window: Option<usize>,
        epochs: Option<usize>,
        series_column: Option<String>,
        time_column: Option<String>,
        variables: Option<Vec<String>>,
        shock: Option<f64>,
        threshold_times: Option<f64>,
    ) -> PyResult<TsModel> {
        let train = Batches::from(train);
        let d = TsFitConfig::default();
        let config = TsFitConfig {
            seed,
            epochs,
            window: window.unwrap_or(d.window),
            series_column: series_column.unwrap_or(d.series_column),
            time_column: time_column.unwrap_or(d.time_column),
            variables,
            shock: shock.unwrap_or(d.shock),
            threshold_times,
        };
        let inner = detached(py, move || {
            ts_fit(&train.to_table("train", None)?, &config, &mut NoObserver)
        })?;
        Ok(TsModel {
            inner: Arc::new(inner),
        })
    }

    /// Loads a model directory (`remedy ts fit --out`).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<TsModel> {
        let inner = detached(py, move || Fitted::load(&path))?;
        Ok(TsModel {
            inner: Arc::new(inner),
        })
    }

    /// Writes the model directory; an existing non-empty one only with `force`.
    #[pyo3(signature = (path, *, force=false))]
    fn save(&self, py: Python<'_>, path: PathBuf, force: bool) -> PyResult<()> {
        detached(py, || self.inner.save(&path, force))
    }

    /// The modelled variables, in order.
    #[getter]
    fn variables(&self) -> Vec<String> {
        self.inner.manifest.variables.clone()
    }

    /// The column that splits rows into series.
    #[getter]
    fn series_column(&self) -> String {
        self.inner.manifest.series_column.clone()
    }

    /// The window length in steps.
    #[getter]
    fn window(&self) -> usize {
        self.inner.manifest.window
    }

    /// USAD's threshold: a window scoring above it raises an alarm.
    #[getter]
    fn threshold(&self) -> f64 {
        self.inner.manifest.threshold
    }

    /// A monitor consuming one step at a time (`remedy ts monitor`).
    #[pyo3(signature = (*, assume_applied=false, warmup=0))]
    fn monitor(&self, assume_applied: bool, warmup: usize) -> Monitor {
        Monitor {
            inner: self.inner.monitor(assume_applied).with_warmup(warmup),
            steps: 0,
        }
    }

    fn __repr__(&self) -> String {
        let m = &self.inner.manifest;
        format!(
            "remedy.ts.Model({} variables: {}; window {}, threshold {:.4})",
            m.variables.len(),
            m.variables.join(", "),
            m.window,
            m.threshold
        )
    }
}

/// Consumes steps one at a time, per series.
#[pyclass(module = "remedy._remedy")]
pub struct Monitor {
    inner: remedy_app::ts::Monitor,
    /// Steps fed so far, to name the one at fault as the CLI names its input line.
    steps: usize,
}

#[pymethods]
impl Monitor {
    /// Feeds the next step of `series`: a dict by variable name (other keys ignored) or the
    /// values in the model's variable order; returns the answer as the CLI's JSON text.
    #[pyo3(signature = (values, series=String::new()))]
    fn step(
        &mut self,
        py: Python<'_>,
        values: Bound<'_, PyAny>,
        series: String,
    ) -> PyResult<String> {
        self.steps += 1;
        let n = self.steps;
        let at = |m: String| crate::to_py(py, Error::invalid(format!("input step {n}: {m}")));
        let row: Vec<f64> = if let Ok(map) = values.cast::<PyDict>() {
            let mut row = Vec::with_capacity(self.inner.variables().len());
            for v in self.inner.variables() {
                let value = map
                    .get_item(v)?
                    .ok_or_else(|| at(format!("missing variable '{v}'")))?;
                row.push(
                    value
                        .extract::<f64>()
                        .map_err(|_| at(format!("'{v}' is {value}, not a number")))?,
                );
            }
            row
        } else {
            values.extract::<Vec<f64>>().map_err(|_| {
                at(
                    "a step is a dict of values by variable name, or a sequence of numbers in \
                    the model's variable order"
                        .into(),
                )
            })?
        };
        detached(py, || {
            let answer = self
                .inner
                .push(&series, row)
                .map_err(|e| Error::invalid(format!("input step {n}: {e}")))?;
            serde_json::to_string(&answer).map_err(|e| Error::invalid(format!("output: {e}")))
        })
    }
}
