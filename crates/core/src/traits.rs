//! The traits that connect the crates. Each works on plain `f64` rows whose entries follow the
//! node order of the model's [`crate::Dag`]; categorical values are category indices.

use crate::{Intervention, Result};

/// A structural causal model that can infer the exogenous noise of a row and compute
/// counterfactuals (abduction, action, prediction).
pub trait CausalModel: Send + Sync {
    /// Node names, in the order of every row this model takes or returns.
    fn node_names(&self) -> &[String];

    /// How many noise values each node has, in node order. A noise vector from
    /// [`CausalModel::abduct`] is the concatenation of the nodes' blocks. Additive-noise models
    /// and exact SCMs have one value per node (the default); VACA has its latent size per node.
    fn noise_dims(&self) -> Vec<usize> {
        vec![1; self.node_names().len()]
    }

    /// How far each node's abducted noise of each row may be off because the model is asked
    /// about parent values outside the data it learnt its mechanisms from: one value per node
    /// (noise units, 0 where the model is sure, infinite where nothing bounds it), per row.
    /// `None` (the default) when the model does not estimate it; the additive-noise model
    /// does.
    fn noise_slack_batch(&self, _xs: &[Vec<f64>]) -> Result<Option<Vec<Vec<f64>>>> {
        Ok(None)
    }

    /// How far each node's parents of each row lie outside the values the model learnt the
    /// node's mechanism from (0 inside; model-specific units, the additive-noise model's are
    /// standardised parent values): where it is positive, the node's abducted noise rests on
    /// an extrapolation. `None` (the default) when the model does not track it.
    fn parent_distance_batch(&self, _xs: &[Vec<f64>]) -> Result<Option<Vec<Vec<f64>>>> {
        Ok(None)
    }

    /// [`CausalModel::abduct`] for many rows; models that batch on tensors override it.
    fn abduct_batch(&self, xs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        xs.iter().map(|x| self.abduct(x)).collect()
    }

    /// [`CausalModel::predict`] for many noise vectors; models that batch on tensors override
    /// it.
    fn predict_batch(&self, us: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        us.iter().map(|u| self.predict(u)).collect()
    }

    /// [`CausalModel::counterfactual`] for many rows, one intervention per row.
    fn counterfactual_batch(
        &self,
        xs: &[Vec<f64>],
        interventions: &[Intervention],
    ) -> Result<Vec<Vec<f64>>> {
        check_batch(xs, interventions)?;
        xs.iter()
            .zip(interventions)
            .map(|(x, i)| self.counterfactual(x, i))
            .collect()
    }

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

/// Checks that a batch of rows comes with one intervention per row (for implementations of
/// [`CausalModel::counterfactual_batch`]).
pub fn check_batch(xs: &[Vec<f64>], interventions: &[Intervention]) -> Result<()> {
    if xs.len() != interventions.len() {
        return Err(crate::Error::invalid(format!(
            "{} rows but {} interventions",
            xs.len(),
            interventions.len()
        )));
    }
    Ok(())
}

/// The runs of `n` items: maximal stretches of consecutive items that `same(previous, item)`
/// joins. Returns, for each item, the index of its run, and the first item of each run.
pub fn runs(n: usize, same: impl Fn(usize, usize) -> bool) -> (Vec<usize>, Vec<usize>) {
    let mut of = Vec::with_capacity(n);
    let mut firsts = Vec::new();
    for i in 0..n {
        if i == 0 || !same(i - 1, i) {
            firsts.push(i);
        }
        of.push(firsts.len() - 1);
    }
    (of, firsts)
}

/// The rows of a batch with consecutive repeats taken once, and for each row the index of its
/// copy among them (for implementations of [`CausalModel::counterfactual_batch`]: a search
/// asks for many actions on one row at a time, whose abduction can then be done once).
pub fn distinct_runs(xs: &[Vec<f64>]) -> (Vec<Vec<f64>>, Vec<usize>) {
    let (of, firsts) = runs(xs.len(), |a, b| xs[a] == xs[b]);
    (firsts.into_iter().map(|i| xs[i].clone()).collect(), of)
}

#[cfg(test)]
mod tests {
    /// Consecutive repeats are taken once; a row equal to an earlier but not the previous one,
    /// and a row holding NaN (never equal to itself), start runs of their own.
    #[test]
    fn distinct_runs_of_a_batch() {
        let (a, b, nan) = (vec![1.0, 2.0], vec![3.0, 4.0], vec![f64::NAN, 0.0]);
        let xs = vec![a.clone(), a.clone(), b.clone(), a.clone(), nan.clone(), nan];
        let (distinct, of) = super::distinct_runs(&xs);
        assert_eq!(distinct.len(), 5);
        assert_eq!(distinct[..3], [a.clone(), b, a]);
        assert_eq!(of, [0, 0, 1, 2, 3, 4]);
        assert!(super::distinct_runs(&[]).0.is_empty());
        // Runs by any joining rule: items 0-1, 2-3, 4 paired.
        assert_eq!(
            super::runs(5, |a, b| a / 2 == b / 2),
            (vec![0, 0, 1, 1, 2], vec![0, 2, 4])
        );
    }
}
