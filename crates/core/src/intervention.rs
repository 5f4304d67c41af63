//! Interventions on a structural causal model: soft shifts `x_i <- f_i(pa_i, u_i) + θ_i` (the
//! action of RootCLAM, paper Eq. 2) and hard settings `do(x_i = v)`, parsed from the CLI's
//! `"L=-5.958,D=-11.336"` syntax.

use crate::{Dag, Error, Result};

/// A set of interventions, by node index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Intervention {
    /// Soft interventions: node `i` takes its structural value plus `θ`.
    pub shift: Vec<(usize, f64)>,
    /// Hard interventions: node `i` is set to `v`, cutting it from its parents and noise.
    pub set: Vec<(usize, f64)>,
}

impl Intervention {
    /// Soft interventions from a dense action vector (one shift per node, 0 = none): the
    /// nodes with a non-zero shift.
    pub fn shifts(action: &[f64]) -> Self {
        Intervention {
            shift: action
                .iter()
                .enumerate()
                .filter(|&(_, v)| *v != 0.0)
                .map(|(j, &v)| (j, v))
                .collect(),
            set: vec![],
        }
    }

    /// True when nothing is intervened on.
    pub fn is_empty(&self) -> bool {
        self.shift.is_empty() && self.set.is_empty()
    }

    /// Soft shift of node `i`, 0 when none.
    pub fn shift_of(&self, i: usize) -> f64 {
        self.shift
            .iter()
            .filter(|(j, _)| *j == i)
            .map(|(_, v)| v)
            .sum()
    }

    /// Hard value of node `i`, if set.
    pub fn set_of(&self, i: usize) -> Option<f64> {
        self.set.iter().find(|(j, _)| *j == i).map(|(_, v)| *v)
    }

    /// Parses `--shift` and `--do` texts (`"NAME=VALUE,NAME=VALUE"`) against the node names of
    /// `dag`. A node may not be both shifted and set.
    pub fn parse(dag: &Dag, shift: Option<&str>, set: Option<&str>) -> Result<Self> {
        let shift = parse_assignments(dag, shift.unwrap_or(""), "--shift")?;
        let set = parse_assignments(dag, set.unwrap_or(""), "--do")?;
        if let Some((i, _)) = shift.iter().find(|(i, _)| set.iter().any(|(j, _)| j == i)) {
            return Err(Error::invalid(format!(
                "node '{}' is both shifted and set; give it to --shift or --do, not both",
                dag.name(*i)
            )));
        }
        Ok(Intervention { shift, set })
    }
}

fn parse_assignments(dag: &Dag, text: &str, flag: &str) -> Result<Vec<(usize, f64)>> {
    let mut out: Vec<(usize, f64)> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').ok_or_else(|| {
            Error::invalid(format!("{flag}: '{part}' is not of the form NAME=VALUE"))
        })?;
        let (name, value) = (name.trim(), value.trim());
        let i = dag.require(
            name,
            &format!("in {flag}; known nodes: {}", dag.names().join(", ")),
        )?;
        let v: f64 = value.parse().map_err(|_| {
            Error::invalid(format!("{flag}: '{value}' for '{name}' is not a number"))
        })?;
        if !v.is_finite() {
            return Err(Error::invalid(format!(
                "{flag}: value for '{name}' must be finite"
            )));
        }
        if out.iter().any(|(j, _)| *j == i) {
            return Err(Error::invalid(format!("{flag}: '{name}' is given twice")));
        }
        out.push((i, v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_unknown() {
        let g = Dag::from_edges(&[("L", "D")]).unwrap();
        let iv = Intervention::parse(&g, Some("L=-5.958, D=-11.336"), None).unwrap();
        assert_eq!(iv.shift, vec![(0, -5.958), (1, -11.336)]);
        let e = Intervention::parse(&g, Some("Q=1"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'Q'") && e.contains("L, D"), "{e}");
        assert!(Intervention::parse(&g, Some("L=abc"), None).is_err());
        assert!(Intervention::parse(&g, Some("L=1"), Some("L=2")).is_err());
        assert!(Intervention::parse(&g, Some("L=nan"), None).is_err());
    }
}
