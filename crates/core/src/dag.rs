//! A directed acyclic graph over named nodes. The only constructor checks acyclicity, so a
//! `Dag` value can never hold a cycle; the topological order is computed once and cached.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A causal DAG. Node indices follow the order of `names` given at construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dag {
    names: Vec<String>,
    index: HashMap<String, usize>,
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
    topo: Vec<usize>,
}

/// The JSON form of a graph: `{"nodes": [...], "edges": [["a","b"], ...]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DagJson {
    #[serde(default)]
    pub nodes: Vec<String>,
    pub edges: Vec<(String, String)>,
}

impl Dag {
    /// Builds a DAG from node names and `(source, target)` edges given by name. Fails on a
    /// duplicate node, an edge naming an unknown node, a self-loop or a cycle (the error lists
    /// the cycle). Duplicate edges are merged.
    pub fn new<S: AsRef<str>>(names: &[S], edges: &[(S, S)]) -> Result<Self> {
        let names: Vec<String> = names.iter().map(|s| s.as_ref().to_string()).collect();
        let mut index = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            if n.is_empty() {
                return Err(Error::invalid("graph has a node with an empty name"));
            }
            if index.insert(n.clone(), i).is_some() {
                return Err(Error::invalid(format!("graph lists node '{n}' twice")));
            }
        }
        let mut parents = vec![Vec::new(); names.len()];
        let mut children = vec![Vec::new(); names.len()];
        for (s, t) in edges {
            let (s, t) = (s.as_ref(), t.as_ref());
            let si = *index.get(s).ok_or_else(|| Error::UnknownNode {
                name: s.to_string(),
                context: format!("in edge {s} -> {t}"),
            })?;
            let ti = *index.get(t).ok_or_else(|| Error::UnknownNode {
                name: t.to_string(),
                context: format!("in edge {s} -> {t}"),
            })?;
            if si == ti {
                return Err(Error::Cycle {
                    cycle: vec![s.to_string()],
                });
            }
            if !parents[ti].contains(&si) {
                parents[ti].push(si);
                children[si].push(ti);
            }
        }
        for p in parents.iter_mut().chain(children.iter_mut()) {
            p.sort_unstable();
        }
        let topo = topological_order(&parents, &children).map_err(|cycle| Error::Cycle {
            cycle: cycle.into_iter().map(|i| names[i].clone()).collect(),
        })?;
        Ok(Dag {
            names,
            index,
            parents,
            children,
            topo,
        })
    }

    /// Builds a DAG from edges alone; nodes are taken in order of first appearance.
    pub fn from_edges<S: AsRef<str>>(edges: &[(S, S)]) -> Result<Self> {
        let mut names: Vec<&str> = Vec::new();
        for (s, t) in edges {
            for n in [s.as_ref(), t.as_ref()] {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        let edges: Vec<(&str, &str)> = edges
            .iter()
            .map(|(s, t)| (s.as_ref(), t.as_ref()))
            .collect();
        Dag::new(&names, &edges)
    }

    /// Parses the JSON form ([`DagJson`]).
    pub fn from_json(text: &str) -> Result<Self> {
        let j: DagJson =
            serde_json::from_str(text).map_err(|e| Error::invalid(format!("graph JSON: {e}")))?;
        let mut names = j.nodes.clone();
        for (s, t) in &j.edges {
            for n in [s, t] {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
        }
        Dag::new(&names, &j.edges)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when the graph has no node.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Node names in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Name of node `i`.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Index of the node called `name`, if any.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Index of the node called `name`, or an error that says where the name came from.
    pub fn require(&self, name: &str, context: &str) -> Result<usize> {
        self.index_of(name).ok_or_else(|| Error::UnknownNode {
            name: name.to_string(),
            context: context.to_string(),
        })
    }

    /// Parents of node `i`, sorted by index.
    pub fn parents(&self, i: usize) -> &[usize] {
        &self.parents[i]
    }

    /// Children of node `i`, sorted by index.
    pub fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// A topological order (parents before children; ties broken by index).
    pub fn topological_order(&self) -> &[usize] {
        &self.topo
    }

    /// All edges as `(source, target)` index pairs, sorted.
    pub fn edges(&self) -> Vec<(usize, usize)> {
        let mut e: Vec<(usize, usize)> = self
            .parents
            .iter()
            .enumerate()
            .flat_map(|(t, ps)| ps.iter().map(move |&s| (s, t)))
            .collect();
        e.sort_unstable();
        e
    }

    /// Descendants of node `i` (excluding `i`), in topological order.
    pub fn descendants(&self, i: usize) -> Vec<usize> {
        let mut mark = vec![false; self.len()];
        let mut stack = vec![i];
        while let Some(v) = stack.pop() {
            for &c in &self.children[v] {
                if !mark[c] {
                    mark[c] = true;
                    stack.push(c);
                }
            }
        }
        self.topo.iter().copied().filter(|&v| mark[v]).collect()
    }

    /// Ancestors of node `i` (excluding `i`), in topological order.
    pub fn ancestors(&self, i: usize) -> Vec<usize> {
        let mut mark = vec![false; self.len()];
        let mut stack = vec![i];
        while let Some(v) = stack.pop() {
            for &p in &self.parents[v] {
                if !mark[p] {
                    mark[p] = true;
                    stack.push(p);
                }
            }
        }
        self.topo.iter().copied().filter(|&v| mark[v]).collect()
    }

    /// Nodes with no parent.
    pub fn roots(&self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| self.parents[i].is_empty())
            .collect()
    }

    /// The graph restricted to the named nodes (edges among them only), in the given order.
    pub fn subgraph(&self, keep: &[&str]) -> Result<Dag> {
        for k in keep {
            self.require(k, "in subgraph")?;
        }
        let edges: Vec<(&str, &str)> = self
            .edges()
            .into_iter()
            .map(|(s, t)| (self.name(s), self.name(t)))
            .filter(|(s, t)| keep.contains(s) && keep.contains(t))
            .collect();
        Dag::new(keep, &edges)
    }

    /// The JSON form.
    pub fn to_json(&self) -> DagJson {
        DagJson {
            nodes: self.names.clone(),
            edges: self
                .edges()
                .into_iter()
                .map(|(s, t)| (self.names[s].clone(), self.names[t].clone()))
                .collect(),
        }
    }

    /// An edge-list CSV with header `source,target`.
    pub fn to_edge_csv(&self) -> String {
        let mut out = String::from("source,target\n");
        for (s, t) in self.edges() {
            out.push_str(&format!(
                "{},{}\n",
                csv_field(&self.names[s]),
                csv_field(&self.names[t])
            ));
        }
        out
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Kahn's algorithm with a min-index tie-break. On failure returns one directed cycle.
fn topological_order(
    parents: &[Vec<usize>],
    children: &[Vec<usize>],
) -> std::result::Result<Vec<usize>, Vec<usize>> {
    let n = parents.len();
    let mut indeg: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(v) = ready.pop_first() {
        order.push(v);
        for &c in &children[v] {
            indeg[c] -= 1;
            if indeg[c] == 0 {
                ready.insert(c);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every remaining node has a remaining parent: walk parents until a node repeats.
    let remaining: Vec<bool> = indeg.iter().map(|&d| d > 0).collect();
    let start = (0..n).find(|&i| remaining[i]).expect("a node is left");
    let mut seen = vec![usize::MAX; n];
    let mut path = Vec::new();
    let mut v = start;
    while seen[v] == usize::MAX {
        seen[v] = path.len();
        path.push(v);
        v = *parents[v]
            .iter()
            .find(|&&p| remaining[p])
            .expect("a remaining node has a remaining parent");
    }
    let mut cycle: Vec<usize> = path[seen[v]..].to_vec();
    cycle.reverse(); // parent walk -> edge direction
    // Start at the node declared first, so the message reads in the order of the file.
    let first = (0..cycle.len()).min_by_key(|&k| cycle[k]).unwrap_or(0);
    cycle.rotate_left(first);
    Err(cycle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topological_order_puts_parents_first() {
        let g = Dag::new(&["c", "b", "a"], &[("a", "b"), ("b", "c")]).unwrap();
        assert_eq!(g.topological_order(), &[2, 1, 0]);
        assert_eq!(g.parents(0), &[1]);
        assert_eq!(g.descendants(2), vec![1, 0]);
        assert_eq!(g.ancestors(0), vec![2, 1]);
        assert!(g.ancestors(2).is_empty());
    }

    #[test]
    fn cycle_is_named_in_edge_order() {
        let err = Dag::new(
            &["a", "b", "c", "d"],
            &[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")],
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Cycle { .. }));
        // The cycle follows the edges and starts at the node declared first.
        assert!(text.ends_with("a -> b -> c -> a"), "{text}");
    }

    #[test]
    fn self_loop_and_unknown_node_are_rejected() {
        assert!(matches!(
            Dag::new(&["a"], &[("a", "a")]),
            Err(Error::Cycle { .. })
        ));
        let e = Dag::new(&["a"], &[("a", "zz")]).unwrap_err().to_string();
        assert!(e.contains("zz") && e.contains("a -> zz"), "{e}");
    }

    #[test]
    fn json_round_trip() {
        let g = Dag::from_edges(&[("x", "y"), ("y", "z"), ("x", "z")]).unwrap();
        let text = serde_json::to_string(&g.to_json()).unwrap();
        assert_eq!(Dag::from_json(&text).unwrap(), g);
    }
}
