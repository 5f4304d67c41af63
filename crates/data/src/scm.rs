//! The interface of an exact structural causal model (SCM) with known exogenous noise: it can
//! sample, abduct the true noise of a row, and compute exact counterfactuals under soft
//! (`x_i <- f_i(pa_i, u_i) + θ_i`, RootCLAM paper Eq. 2) and hard (`do(x_i = v)`) interventions,
//! applied in topological order so that descendants change too.

use rand::Rng;
use remedy_core::{Dag, Error, Intervention, Result};

/// What values a node takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A real number.
    Continuous,
    /// 0 or 1.
    Binary,
    /// A category index in `0..levels`.
    Categorical(usize),
}

/// An exact SCM. Rows (`x`) and noise vectors (`u`) are indexed by the node order of
/// [`Scm::dag`]; categorical values are category indices stored as `f64`.
pub trait Scm: Send + Sync {
    /// Short dataset name (`loan`, `adult`).
    fn name(&self) -> &'static str;

    /// The causal graph over all nodes, in the SCM's node order (which is topological).
    fn dag(&self) -> &Dag;

    /// Value kind of each node.
    fn kinds(&self) -> &[NodeKind];

    /// Nodes that are features (written as feature columns). The rest are labels (Adult income).
    fn feature_nodes(&self) -> &[usize];

    /// Features a recommendation may act on; root causes are drawn from these.
    fn actionable(&self) -> &[usize];

    /// Cost weight per actionable feature (the feature's sd on the unfiltered normal SCM, as
    /// the reference's scaler uses; spec §3.6), same order as [`Scm::actionable`].
    fn costs(&self) -> &[f64];

    /// The anomaly groups: each is a set of nodes whose exogenous distribution is shifted
    /// (spec §3.2/§3.4), in the reference's group order.
    fn anomaly_groups(&self) -> &[Vec<usize>];

    /// Draws one exogenous noise vector; the noise of each node in `shifted` comes from its
    /// anomalous distribution instead of the normal one.
    fn sample_noise<R: Rng + ?Sized>(&self, rng: &mut R, shifted: &[usize]) -> Vec<f64>;

    /// The structural equations: the row produced by noise `u` under `intervention`
    /// (validated with [`Scm::check_intervention`] first).
    fn forward(&self, u: &[f64], intervention: &Intervention) -> Vec<f64>;

    /// Abduction: a noise vector that reproduces `x` exactly through [`Scm::forward`] with no
    /// intervention. Where the noise is not identifiable from `x` (a categorical mechanism, a
    /// gated node) the SCM documents which consistent value it returns.
    fn abduct(&self, x: &[f64]) -> Result<Vec<f64>>;

    /// The dataset's true label of a row (Loan: approval probability y; Adult: income).
    fn label(&self, x: &[f64]) -> f64;

    /// Name of the label column (`y`, `income`).
    fn label_name(&self) -> &'static str;

    /// True when the label puts the row in the normal class (spec §3).
    fn is_normal(&self, label: f64) -> bool;

    /// True when the label puts the row in the anomalous class (spec §3).
    fn is_anomalous(&self, label: f64) -> bool;

    /// True when a mitigated row counts as fixed on the true label (Loan y > 0.9; Adult
    /// income ≤ median).
    fn is_recovered(&self, label: f64) -> bool;

    /// The full node row from feature values in [`Scm::feature_nodes`] order, computing the
    /// noise-free label nodes (Adult income). The default serves SCMs whose nodes are all
    /// features.
    fn complete(&self, features: &[f64]) -> Result<Vec<f64>> {
        if self.feature_nodes().len() != self.dag().len() {
            return Err(Error::invalid(format!(
                "{}: cannot complete a row whose label nodes have noise",
                self.name()
            )));
        }
        let mut x = vec![0.0; self.dag().len()];
        for (&i, &v) in self.feature_nodes().iter().zip(features) {
            x[i] = v;
        }
        Ok(x)
    }

    /// Checks that an intervention fits the node kinds: soft shifts only on continuous nodes,
    /// hard values of binary/categorical nodes must be valid levels.
    fn check_intervention(&self, intervention: &Intervention) -> Result<()> {
        let kinds = self.kinds();
        for &(i, _) in &intervention.shift {
            if kinds[i] != NodeKind::Continuous {
                return Err(Error::invalid(format!(
                    "cannot shift '{}': soft interventions apply to continuous features only; use --do to set it",
                    self.dag().name(i)
                )));
            }
        }
        for &(i, v) in &intervention.set {
            let ok = match kinds[i] {
                NodeKind::Continuous => true,
                NodeKind::Binary => v == 0.0 || v == 1.0,
                NodeKind::Categorical(k) => v >= 0.0 && v.fract() == 0.0 && (v as usize) < k,
            };
            if !ok {
                return Err(Error::invalid(format!(
                    "--do {}={v}: not a valid value of this {} feature",
                    self.dag().name(i),
                    match kinds[i] {
                        NodeKind::Binary => "binary (0 or 1)".to_string(),
                        NodeKind::Categorical(k) => format!("categorical (0..{})", k - 1),
                        NodeKind::Continuous => "continuous".to_string(),
                    }
                )));
            }
        }
        Ok(())
    }

    /// Checks that a row has the right length and valid values for each node kind.
    fn check_row(&self, x: &[f64]) -> Result<()> {
        let dag = self.dag();
        if x.len() != dag.len() {
            return Err(Error::invalid(format!(
                "{} row has {} values, expected {}",
                self.name(),
                x.len(),
                dag.len()
            )));
        }
        for (i, (&v, kind)) in x.iter().zip(self.kinds()).enumerate() {
            let ok = v.is_finite()
                && match *kind {
                    NodeKind::Continuous => true,
                    NodeKind::Binary => v == 0.0 || v == 1.0,
                    NodeKind::Categorical(k) => v >= 0.0 && v.fract() == 0.0 && (v as usize) < k,
                };
            if !ok {
                return Err(Error::invalid(format!(
                    "value {v} of '{}' is not valid for a {kind:?} feature",
                    dag.name(i)
                )));
            }
        }
        Ok(())
    }

    /// The exact counterfactual of row `x`: abduct its noise, then [`Scm::forward`] under
    /// `intervention`.
    fn counterfactual(&self, x: &[f64], intervention: &Intervention) -> Result<Vec<f64>> {
        self.check_intervention(intervention)?;
        let u = self.abduct(x)?;
        Ok(self.forward(&u, intervention))
    }
}

/// Logistic sigmoid.
pub fn sigmoid(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}
