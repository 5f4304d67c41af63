//! The exact SCM of a benchmark as a [`CausalModel`] over its feature rows: abduction returns the
//! true noise, counterfactuals are exact. It is the bound that learned models approach, and it
//! lets root-cause and recourse code be tested without training anything.

use remedy_core::traits::CausalModel;
use remedy_core::{Error, Intervention, Result};
use remedy_data::scm::Scm;

/// An exact SCM seen through its feature nodes (label nodes such as Adult income are computed
/// from the features and never exposed).
#[derive(Debug, Clone)]
pub struct ScmOracle<S: Scm> {
    scm: S,
    names: Vec<String>,
}

impl<S: Scm> ScmOracle<S> {
    /// Wraps `scm`.
    pub fn new(scm: S) -> Self {
        let names = scm
            .feature_nodes()
            .iter()
            .map(|&i| scm.dag().name(i).to_string())
            .collect();
        ScmOracle { scm, names }
    }

    /// The wrapped SCM.
    pub fn scm(&self) -> &S {
        &self.scm
    }

    /// The full node row of a feature row (label nodes computed).
    pub fn full_row(&self, x: &[f64]) -> Result<Vec<f64>> {
        if x.len() != self.names.len() {
            return Err(Error::invalid(format!(
                "{} row has {} values, expected {} ({})",
                self.scm.name(),
                x.len(),
                self.names.len(),
                self.names.join(", ")
            )));
        }
        let full = self.scm.complete(x)?;
        self.scm.check_row(&full)?;
        Ok(full)
    }

    fn features_of(&self, full: &[f64]) -> Vec<f64> {
        self.scm.feature_nodes().iter().map(|&i| full[i]).collect()
    }

    /// Maps an intervention on feature indices to one on SCM node indices.
    fn to_nodes(&self, iv: &Intervention) -> Result<Intervention> {
        let fnodes = self.scm.feature_nodes();
        let map = |&(i, v): &(usize, f64)| -> Result<(usize, f64)> {
            fnodes.get(i).map(|&n| (n, v)).ok_or_else(|| {
                Error::invalid(format!("intervention on feature {i}: no such feature"))
            })
        };
        Ok(Intervention {
            shift: iv.shift.iter().map(map).collect::<Result<_>>()?,
            set: iv.set.iter().map(map).collect::<Result<_>>()?,
        })
    }

    /// The full noise vector from the features' noise (label nodes have none).
    fn full_noise(&self, u: &[f64]) -> Result<Vec<f64>> {
        if u.len() != self.names.len() {
            return Err(Error::invalid(format!(
                "noise vector has {} values, expected {}",
                u.len(),
                self.names.len()
            )));
        }
        let mut full = vec![0.0; self.scm.dag().len()];
        for (&n, &v) in self.scm.feature_nodes().iter().zip(u) {
            full[n] = v;
        }
        Ok(full)
    }
}

impl<S: Scm> CausalModel for ScmOracle<S> {
    fn node_names(&self) -> &[String] {
        &self.names
    }

    fn abduct(&self, x: &[f64]) -> Result<Vec<f64>> {
        let u = self.scm.abduct(&self.full_row(x)?)?;
        Ok(self.features_of(&u))
    }

    fn predict(&self, u: &[f64]) -> Result<Vec<f64>> {
        let full = self.full_noise(u)?;
        Ok(self.features_of(&self.scm.forward(&full, &Intervention::default())))
    }

    fn counterfactual_from_noise(
        &self,
        u: &[f64],
        intervention: &Intervention,
    ) -> Result<Vec<f64>> {
        let iv = self.to_nodes(intervention)?;
        self.scm.check_intervention(&iv)?;
        let full = self.full_noise(u)?;
        Ok(self.features_of(&self.scm.forward(&full, &iv)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remedy_core::seed;
    use remedy_data::{Adult, Loan};

    fn round_trip<S: Scm>(scm: S) {
        let mut rng = seed::rng(7);
        let oracle = ScmOracle::new(scm);
        let s = oracle.scm();
        for _ in 0..200 {
            let u = s.sample_noise(&mut rng, &[]);
            let x = s.forward(&u, &Intervention::default());
            let xf: Vec<f64> = s.feature_nodes().iter().map(|&i| x[i]).collect();
            let uf = oracle.abduct(&xf).unwrap();
            // Abduction then prediction reproduces the row (the SCM's contract; Loan's
            // subtraction-based abduction can be one ulp off).
            let close = |a: &[f64], b: &[f64]| {
                a.iter()
                    .zip(b)
                    .all(|(p, q)| (p - q).abs() <= 1e-12 * (1.0 + q.abs()))
            };
            assert!(close(&oracle.predict(&uf).unwrap(), &xf));
            // The empty intervention is the identity.
            let same = oracle
                .counterfactual(&xf, &Intervention::default())
                .unwrap();
            assert!(close(&same, &xf));
        }
    }

    #[test]
    fn abduction_reproduces_rows() {
        round_trip(Loan::new());
        round_trip(Adult::new());
    }

    #[test]
    fn soft_intervention_propagates_to_descendants() {
        let oracle = ScmOracle::new(Loan::new());
        let s = oracle.scm();
        let mut rng = seed::rng(3);
        let u = s.sample_noise(&mut rng, &[]);
        let x = s.forward(&u, &Intervention::default());
        let xf: Vec<f64> = s.feature_nodes().iter().map(|&i| x[i]).collect();
        let l = oracle.node_names().iter().position(|n| n == "L").unwrap();
        let iv = Intervention {
            shift: vec![(l, 1.0)],
            set: vec![],
        };
        let cf = oracle.counterfactual(&xf, &iv).unwrap();
        // L moves by exactly θ (its own equation is additive in the shift) ...
        assert!((cf[l] - xf[l] - 1.0).abs() < 1e-9);
        // ... and at least one descendant of L changes too (Loan: L -> D, spec §3.1).
        let changed = (0..xf.len())
            .filter(|&j| j != l && (cf[j] - xf[j]).abs() > 1e-9)
            .count();
        assert!(changed > 0);
    }

    #[test]
    fn bad_rows_are_refused() {
        let oracle = ScmOracle::new(Loan::new());
        assert!(oracle.abduct(&[1.0, 2.0]).is_err());
        let iv = Intervention {
            shift: vec![(99, 1.0)],
            set: vec![],
        };
        assert!(oracle.counterfactual_from_noise(&[0.0; 7], &iv).is_err());
    }
}
