//! Root-cause localisation: which features of an anomalous row have abnormal exogenous noise.
//! Rows are raw feature rows (schema order, categories as indices); root causes are feature
//! indices drawn from a set of candidate (actionable) features.

use remedy_core::Result;

/// Finds the root causes of anomalous rows.
pub trait RootCauseLocator {
    /// The candidate features (indices into a row) this locator may name.
    fn candidates(&self) -> &[usize];

    /// A score per candidate feature for each row (same order as
    /// [`RootCauseLocator::candidates`]); higher means more likely a root cause.
    fn scores(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<f64>>>;

    /// The root-cause set of each row: feature indices, ascending.
    fn locate(&self, rows: &[Vec<f64>]) -> Result<Vec<Vec<usize>>>;
}
