//! A Granger (lagged) causal graph over time-series variables. Unlike [`crate::Dag`] it may hold
//! cycles and self-loops: an edge `i -> j` means that the past of `i` drives the present of `j`.

use crate::{Error, Result};

/// Adjacency of a Granger graph: `adj[target][source]` is true when `source` Granger-causes
/// `target` (row = target, column = source, as in the VAR coefficient matrix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrangerGraph {
    names: Vec<String>,
    adj: Vec<Vec<bool>>,
}

impl GrangerGraph {
    /// Builds the graph from names and an adjacency matrix `adj[target][source]`.
    pub fn new(names: Vec<String>, adj: Vec<Vec<bool>>) -> Result<Self> {
        if adj.len() != names.len() || adj.iter().any(|r| r.len() != names.len()) {
            return Err(Error::invalid(format!(
                "Granger adjacency must be {n}x{n}",
                n = names.len()
            )));
        }
        Ok(GrangerGraph { names, adj })
    }

    /// Variable names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// True when `source` Granger-causes `target`.
    pub fn has_edge(&self, source: usize, target: usize) -> bool {
        self.adj[target][source]
    }

    /// The adjacency matrix, `adj[target][source]`.
    pub fn adjacency(&self) -> &[Vec<bool>] {
        &self.adj
    }

    /// All edges as `(source, target)`, self-loops included, sorted.
    pub fn edges(&self) -> Vec<(usize, usize)> {
        let n = self.names.len();
        let mut e = Vec::new();
        for s in 0..n {
            for t in 0..n {
                if self.adj[t][s] {
                    e.push((s, t));
                }
            }
        }
        e
    }

    /// DOT text; a comment line states the lagged reading of the edges.
    pub fn to_dot(&self, name: &str) -> String {
        crate::dot::write_dot(
            name,
            &self.names,
            &self.edges(),
            "Granger graph: an edge a -> b means a at time t-1 drives b at time t (self-loops included).",
        )
    }
}
