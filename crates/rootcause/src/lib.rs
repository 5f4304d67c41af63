//! Root-cause localisation: which features of an anomalous row have abnormal exogenous noise.
//! Rows are raw feature rows (schema order, categories as indices); root causes are feature
//! indices drawn from a set of candidate (actionable) features.
//!
//! RootCLAM (Han et al., CIKM 2023, §3.3 "Root Cause Localization", Definition 3) treats a
//! feature as a root cause when an external intervention changed the distribution of its
//! exogenous noise `u_i`. Everything here therefore works on the noise that a
//! [`remedy_core::traits::CausalModel`] abducts from a row:
//!
//! - [`quantile`]: RootCLAM's rule as the paper writes it: flag feature `i` when the cumulative
//!   probability `Φ(u_i)` under a reference fitted on normal rows is below `π` or above `1 − π`
//!   (with a Mahalanobis generalisation for multi-value noise blocks such as VACA's 4-d `z_i`).
//!   The model-free [`NoiseReference`] applies the same rule to given noise vectors (the
//!   "oracle" locator on the true noise).
//! - [`pvalue`]: calibrated p-values of the noise (rank p-values inside the held-out normal
//!   rows' range, a fitted generalised-Pareto tail beyond it) and the family-wise set rules
//!   (Holm, Bonferroni) that bound the chance of any false root cause in a row by α.
//! - [`shapley`]: the paper's baseline ("CausalRCA", reached through DoWhy's
//!   `attribute_anomalies`, Janzing et al. 2019, arXiv 1912.02724): exact Shapley attribution
//!   of the row's information-theoretic anomaly score to the abducted noise blocks, plus a
//!   documented rule that turns contributions into a set.
//! - [`metrics`]: accuracy, precision, recall, F1 and exact-set accuracy over the candidate
//!   features, the reference code's flattened accuracy over all features, and the closed-form
//!   expected metrics of a random locator (the chance level that reference spec §10.2 shows
//!   the paper's Table 3 sits at).
//!
//! Every entry point checks its input (row lengths, candidate indices, empty references, NaN)
//! and returns a [`remedy_core::Error`] that names the row, feature or argument at fault.

pub mod conditional;
pub mod metrics;
pub mod pvalue;
pub mod quantile;
pub mod shapley;
mod stats;

pub use conditional::ConditionalQuantileLocator;
pub use metrics::{RootCauseMetrics, evaluate, random_baseline};
pub use pvalue::{FamilyWise, PValueReference};
pub use quantile::{NoiseQuantileConfig, NoiseQuantileLocator, NoiseReference, ReferenceFit};
pub use shapley::{
    AnomalyScoreFn, MAX_PLAYERS, ShapleyAttribution, ShapleyConfig, ShapleyLocator, ShapleySetRule,
    exact_shapley,
};

use remedy_core::{Error, Result};

/// Finds the root causes of anomalous rows.
pub trait RootCauseLocator {
    /// The candidate features (indices into a row) this locator may name.
    fn candidates(&self) -> &[usize];

    /// A score per candidate feature for each row (same order as
    /// [`RootCauseLocator::candidates`]); higher means more likely a root cause.
    fn scores(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<f64>>>;

    /// The root-cause set of each row: feature indices, ascending, a subset of
    /// [`RootCauseLocator::candidates`].
    fn locate(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<usize>>>;
}

/// Checks what every locator's `fit` needs: valid candidates, at least one finite normal row of
/// the model's width, and a noise block per node; returns the noise values per node. `purpose`
/// ends the message for missing rows ("no normal rows to …").
pub(crate) fn check_fit_inputs<M: remedy_core::traits::CausalModel + ?Sized>(
    model: &M,
    normal_rows: &[Vec<f64>],
    candidates: &[usize],
    purpose: &str,
) -> Result<Vec<usize>> {
    let names = model.node_names();
    check_candidates(candidates, names.len())?;
    if normal_rows.is_empty() {
        return Err(Error::invalid(format!("no normal rows to {purpose}")));
    }
    check_rows(normal_rows, names, "normal row")?;
    let dims = model.noise_dims();
    if dims.len() != names.len() {
        return Err(Error::invalid(format!(
            "the causal model reports {} noise blocks for {} nodes",
            dims.len(),
            names.len()
        )));
    }
    Ok(dims)
}

/// Checks that every row has `names.len()` finite values; `what` names the rows in messages
/// ("row", "normal row").
/// The noise `model` abducts from `rows`, after checking the rows (named "row" in errors) and
/// that one noise vector came back per row.
pub(crate) fn abduct_rows<M: remedy_core::traits::CausalModel + ?Sized>(
    model: &M,
    rows: &[Vec<f64>],
) -> Result<Vec<Vec<f64>>> {
    check_rows(rows, model.node_names(), "row")?;
    let noise = model.abduct_batch(rows)?;
    if noise.len() != rows.len() {
        return Err(Error::invalid(format!(
            "the causal model abducted {} noise vectors from {} rows",
            noise.len(),
            rows.len()
        )));
    }
    Ok(noise)
}

pub(crate) fn check_rows(rows: &[Vec<f64>], names: &[String], what: &str) -> Result<()> {
    for (r, row) in rows.iter().enumerate() {
        if row.len() != names.len() {
            return Err(Error::invalid(format!(
                "{what} {r} has {} values but the model has {} nodes ({})",
                row.len(),
                names.len(),
                names.join(", ")
            )));
        }
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "{what} {r}, feature '{}': value {} is not finite",
                names[j], row[j]
            )));
        }
    }
    Ok(())
}

/// Checks a candidate list against `n_nodes` nodes: non-empty, in range, no repeats.
pub(crate) fn check_candidates(candidates: &[usize], n_nodes: usize) -> Result<()> {
    if candidates.is_empty() {
        return Err(Error::invalid(
            "no candidate features: give at least one feature index that may be a root cause",
        ));
    }
    for (k, &c) in candidates.iter().enumerate() {
        if c >= n_nodes {
            return Err(Error::invalid(format!(
                "candidate feature index {c} is out of range: the model has {n_nodes} nodes \
                 (indices 0..{n_nodes})"
            )));
        }
        if candidates[..k].contains(&c) {
            return Err(Error::invalid(format!(
                "candidate feature index {c} is listed twice"
            )));
        }
    }
    Ok(())
}

/// Start offsets of the noise blocks with sizes `dims` (concatenated in node order).
pub(crate) fn block_offsets(dims: &[usize]) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(dims.len());
    let mut at = 0;
    for d in dims {
        offsets.push(at);
        at += d;
    }
    offsets
}
