//! The traits that connect the crates. Each works on plain `f64` rows whose entries follow the
//! node order of the model's [`crate::Dag`]; categorical values are category indices.

use crate::{Intervention, Result};

/// A structural causal model that can infer the exogenous noise of a row and compute
/// counterfactuals (abduction, action, prediction).
pub trait CausalModel {
    /// Node names, in the order of every row this model takes or returns.
    fn node_names(&self) -> &[String];

    /// Abduction: the exogenous noise `u` that, pushed through the mechanisms, gives `x`.
    fn abduct(&self, x: &[f64]) -> Result<Vec<f64>>;

    /// Prediction: the row that the mechanisms produce from the noise `u`.
    fn predict(&self, u: &[f64]) -> Result<Vec<f64>>;

    /// The row `x` would have been under `intervention`, keeping its own noise; interventions
    /// are applied in topological order, so descendants change too.
    fn counterfactual(&self, x: &[f64], intervention: &Intervention) -> Result<Vec<f64>> {
        let u = self.abduct(x)?;
        self.counterfactual_from_noise(&u, intervention)
    }

    /// The counterfactual row for a known noise vector `u`.
    fn counterfactual_from_noise(&self, u: &[f64], intervention: &Intervention)
    -> Result<Vec<f64>>;
}
