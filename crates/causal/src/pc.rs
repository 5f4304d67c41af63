//! Causal discovery with the PC algorithm (Spirtes, Glymour & Scheines 2000) in its
//! order-independent "stable" form (Colombo & Maathuis 2014), for a user who has no graph:
//! the skeleton by Fisher-z tests of partial correlation (continuous data, as causal-learn's
//! `fisherz`; categorical variables by the degenerate-Gaussian likelihood ratio of their level
//! indicators, Andrews, Ramsey & Cooper 2019), unshielded colliders from the separating sets,
//! Meek's (1995) rules R1-R3, then one DAG of the equivalence class by Dor & Tarsi's (1992)
//! extension, honouring required and forbidden edges and tiers (a node may not cause one in an
//! earlier tier).
//!
//! Everything is deterministic: nodes, neighbour sets and conditioning sets are visited in
//! index order, and the stable variant fixes each level's adjacencies before testing, so the
//! answer does not depend on the column order beyond ties that the report names.

use std::collections::{BTreeSet, HashMap};

use remedy_core::special::{chi2_sf, erfc};
use remedy_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Background knowledge over node indices.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Knowledge {
    /// Edges that must be in the graph, in this direction.
    pub required: Vec<(usize, usize)>,
    /// Directed edges that must not be in the graph.
    pub forbidden: Vec<(usize, usize)>,
    /// A tier per node (`None`: no constraint): an edge from a later tier into an earlier one
    /// is forbidden.
    pub tiers: Vec<Option<u32>>,
}

impl Knowledge {
    /// Whether `a → b` may be in the graph.
    pub fn allows(&self, a: usize, b: usize) -> bool {
        if self.forbidden.contains(&(a, b)) {
            return false;
        }
        match (
            self.tiers.get(a).copied().flatten(),
            self.tiers.get(b).copied().flatten(),
        ) {
            (Some(ta), Some(tb)) => ta <= tb,
            _ => true,
        }
    }

    fn requires(&self, a: usize, b: usize) -> bool {
        self.required.contains(&(a, b))
    }
}

/// PC settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcConfig {
    /// Significance level of each independence test (causal-learn's default 0.05; 0.01 is
    /// common for thousands of rows, and ours).
    pub alpha: f64,
    /// The largest conditioning set tested (`None`: no limit, as causal-learn's default).
    pub max_depth: Option<usize>,
}

impl Default for PcConfig {
    fn default() -> Self {
        PcConfig {
            alpha: 0.01,
            max_depth: None,
        }
    }
}

/// How an edge got its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Orientation {
    /// Background knowledge (a required or forbidden edge, tiers).
    Knowledge,
    /// An unshielded collider the separating sets show.
    Collider,
    /// Meek's rules from the directions above.
    Meek,
    /// Left unoriented by the data: set by the extension to a DAG, which adds no collider.
    Extension,
}

/// The answer: the equivalence class found and the DAG chosen from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    /// The DAG's edges `(from, to)`, each with how it was oriented.
    pub edges: Vec<(usize, usize, Orientation)>,
    /// Independence tests run.
    pub tests: usize,
    /// Orientations the data asked for but could not all have (conflicting colliders, or a
    /// collider against background knowledge): `(from, to)` pairs that were not applied.
    pub conflicts: Vec<(usize, usize)>,
    /// Whether some variable was categorical (tested by the degenerate-Gaussian likelihood
    /// ratio); otherwise every test was Fisher's z.
    pub mixed: bool,
}

impl Discovery {
    /// The equivalence class (CPDAG): the edges with whether the data and knowledge orient
    /// them (`false`: the DAG's direction was chosen by the extension).
    pub fn cpdag(&self) -> Vec<(usize, usize, bool)> {
        self.edges
            .iter()
            .map(|&(a, b, o)| (a, b, o != Orientation::Extension))
            .collect()
    }
}

/// Gaussian tests of conditional independence from the correlation matrix of the nodes'
/// columns. A node is a block of columns: one for a continuous or binary variable (0/1), its
/// levels' indicators but one for a categorical variable (the "degenerate Gaussian" embedding
/// of Andrews, Ramsey & Cooper 2019). Two one-column nodes are tested by Fisher's z of their
/// partial correlation given the conditioning nodes' columns (causal-learn's `fisherz` when
/// every node is one column); a pair with a categorical node by the Gaussian likelihood ratio
/// of the embedded blocks (their DG test), `n·[ln|Σ_AC| + ln|Σ_BC| − ln|Σ_ABC| − ln|Σ_C|]`,
/// χ² with `|A|·|B|` degrees of freedom.
struct GaussianTests {
    corr: Vec<f64>,
    /// Columns in all.
    d: usize,
    n: usize,
    /// Each node's columns.
    blocks: Vec<Vec<usize>>,
}

impl GaussianTests {
    /// The correlation matrix of the nodes' columns (`blocks[node][column][row]`).
    fn new(blocks: &[Vec<Vec<f64>>]) -> GaussianTests {
        let columns: Vec<&Vec<f64>> = blocks.iter().flatten().collect();
        let d = columns.len();
        let n = columns.first().map_or(0, |c| c.len());
        let centred: Vec<Vec<f64>> = columns
            .iter()
            .map(|c| {
                let m = c.iter().sum::<f64>() / n as f64;
                let v: Vec<f64> = c.iter().map(|x| x - m).collect();
                let s = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                v.into_iter().map(|x| x / s).collect()
            })
            .collect();
        let mut corr = vec![0.0; d * d];
        for i in 0..d {
            corr[i * d + i] = 1.0;
            for j in i + 1..d {
                let r: f64 = centred[i].iter().zip(&centred[j]).map(|(a, b)| a * b).sum();
                corr[i * d + j] = r;
                corr[j * d + i] = r;
            }
        }
        let mut next = 0;
        let blocks = blocks
            .iter()
            .map(|b| {
                let cols: Vec<usize> = (next..next + b.len()).collect();
                next += b.len();
                cols
            })
            .collect();
        GaussianTests { corr, d, n, blocks }
    }

    /// Whether some node has several columns (a categorical variable).
    fn mixed(&self) -> bool {
        self.blocks.iter().any(|b| b.len() > 1)
    }

    /// The correlation submatrix of `vars`.
    fn sub(&self, vars: &[usize]) -> Vec<f64> {
        let k = vars.len();
        let mut m = vec![0.0; k * k];
        for (a, &va) in vars.iter().enumerate() {
            for (b, &vb) in vars.iter().enumerate() {
                m[a * k + b] = self.corr[va * self.d + vb];
            }
        }
        m
    }

    /// The p-value of `x ⫫ y | s` (two-sided).
    fn pvalue(&self, x: usize, y: usize, s: &[usize]) -> f64 {
        let (a, b) = (&self.blocks[x], &self.blocks[y]);
        let c: Vec<usize> = s
            .iter()
            .flat_map(|&v| self.blocks[v].iter().copied())
            .collect();
        if a.len() == 1 && b.len() == 1 {
            let vars: Vec<usize> = [a[0], b[0]].iter().chain(&c).copied().collect();
            let k = vars.len();
            let r = match inverse(&mut self.sub(&vars), k) {
                Some(p) => -p[1] / (p[0] * p[k + 1]).sqrt(),
                // A singular block: some conditioning variable is an exact function of
                // others; the test cannot tell, so it keeps the edge.
                None => return 0.0,
            };
            let r = r.clamp(-1.0 + 1e-12, 1.0 - 1e-12);
            let z = 0.5 * ((1.0 + r) / (1.0 - r)).ln() * ((self.n - c.len() - 3) as f64).sqrt();
            return erfc(z.abs() / std::f64::consts::SQRT_2);
        }
        let ld = |vars: Vec<usize>| log_det(&mut self.sub(&vars), vars.len());
        let with = |first: &[usize], second: &[usize]| -> Vec<usize> {
            first.iter().chain(second).chain(&c).copied().collect()
        };
        let (Some(ac), Some(bc), Some(abc), Some(cc)) = (
            ld(with(a, &[])),
            ld(with(b, &[])),
            ld(with(a, b)),
            ld(c.clone()),
        ) else {
            return 0.0;
        };
        let stat = (self.n as f64 * (ac + bc - abc - cc)).max(0.0);
        chi2_sf(stat, (a.len() * b.len()) as f64)
    }
}

/// `ln det` of the symmetric positive-definite `k × k` matrix `m` (Cholesky, in place; 0 for
/// `k = 0`), `None` when it is singular.
fn log_det(m: &mut [f64], k: usize) -> Option<f64> {
    let mut sum = 0.0;
    for j in 0..k {
        let mut diag = m[j * k + j];
        for p in 0..j {
            diag -= m[j * k + p] * m[j * k + p];
        }
        if diag <= 1e-12 {
            return None;
        }
        let l = diag.sqrt();
        m[j * k + j] = l;
        sum += 2.0 * l.ln();
        for i in j + 1..k {
            let mut v = m[i * k + j];
            for p in 0..j {
                v -= m[i * k + p] * m[j * k + p];
            }
            m[i * k + j] = v / l;
        }
    }
    Some(sum)
}

/// The inverse of the `k × k` matrix `m` (Gauss-Jordan with partial pivoting), `None` when it
/// is singular.
fn inverse(m: &mut [f64], k: usize) -> Option<Vec<f64>> {
    let mut inv = vec![0.0; k * k];
    for i in 0..k {
        inv[i * k + i] = 1.0;
    }
    for c in 0..k {
        let p = (c..k).max_by(|&a, &b| m[a * k + c].abs().total_cmp(&m[b * k + c].abs()))?;
        if m[p * k + c].abs() < 1e-12 {
            return None;
        }
        for j in 0..k {
            m.swap(c * k + j, p * k + j);
            inv.swap(c * k + j, p * k + j);
        }
        let d = m[c * k + c];
        for j in 0..k {
            m[c * k + j] /= d;
            inv[c * k + j] /= d;
        }
        for r in 0..k {
            if r != c {
                let f = m[r * k + c];
                if f != 0.0 {
                    for j in 0..k {
                        m[r * k + j] -= f * m[c * k + j];
                        inv[r * k + j] -= f * inv[c * k + j];
                    }
                }
            }
        }
    }
    Some(inv)
}

/// Calls `f` with every `l`-subset of `items` in lexicographic order until it returns true.
fn any_subset(items: &[usize], l: usize, f: &mut impl FnMut(&[usize]) -> bool) -> bool {
    let n = items.len();
    if l > n {
        return false;
    }
    let mut idx: Vec<usize> = (0..l).collect();
    let mut s = vec![0; l];
    loop {
        for (t, &i) in idx.iter().enumerate() {
            s[t] = items[i];
        }
        if f(&s) {
            return true;
        }
        // The next combination: advance the rightmost index that can move.
        let mut t = l;
        while t > 0 && idx[t - 1] == n - l + t - 1 {
            t -= 1;
        }
        if t == 0 {
            return false;
        }
        idx[t - 1] += 1;
        for u in t..l {
            idx[u] = idx[u - 1] + 1;
        }
    }
}

/// A partially directed graph: `m[a][b]` when `a → b` or `a − b` (both set: undirected).
struct Pdag {
    m: Vec<Vec<bool>>,
}

impl Pdag {
    fn adjacent(&self, a: usize, b: usize) -> bool {
        self.m[a][b] || self.m[b][a]
    }
    fn undirected(&self, a: usize, b: usize) -> bool {
        self.m[a][b] && self.m[b][a]
    }
    fn directed(&self, a: usize, b: usize) -> bool {
        self.m[a][b] && !self.m[b][a]
    }
    /// Orients `a − b` as `a → b`.
    fn orient(&mut self, a: usize, b: usize) {
        self.m[b][a] = false;
    }
}

/// Runs PC on `columns` (one per continuous or binary variable, equal lengths, finite values):
/// Fisher-z tests throughout.
pub fn discover(
    columns: &[Vec<f64>],
    knowledge: &Knowledge,
    config: &PcConfig,
) -> Result<Discovery> {
    let blocks: Vec<Vec<Vec<f64>>> = columns.iter().map(|c| vec![c.clone()]).collect();
    discover_blocks(&blocks, knowledge, config)
}

/// Runs PC on variables given as blocks of columns (`blocks[variable][column][row]`): one
/// column for a continuous or binary variable, the indicators of all levels but one for a
/// categorical one (see [`GaussianTests`] for the tests).
pub fn discover_blocks(
    blocks: &[Vec<Vec<f64>>],
    knowledge: &Knowledge,
    config: &PcConfig,
) -> Result<Discovery> {
    let d = blocks.len();
    let n = blocks.first().and_then(|b| b.first()).map_or(0, Vec::len);
    let width: usize = blocks.iter().map(Vec::len).sum();
    if !(config.alpha > 0.0 && config.alpha < 1.0) {
        return Err(Error::invalid(format!(
            "--alpha must lie in (0, 1), got {}",
            config.alpha
        )));
    }
    if n < width + 3 {
        return Err(Error::invalid(format!(
            "{n} rows for {width} variables{}: the partial-correlation tests need at least {} rows",
            if width > d { " and levels" } else { "" },
            width + 3
        )));
    }
    let test = GaussianTests::new(blocks);
    let mut adj: Vec<BTreeSet<usize>> = (0..d)
        .map(|i| (0..d).filter(|&j| j != i).collect())
        .collect();
    // An edge neither direction of which is allowed is never there.
    for a in 0..d {
        for b in a + 1..d {
            if !knowledge.allows(a, b) && !knowledge.allows(b, a) {
                adj[a].remove(&b);
                adj[b].remove(&a);
            }
        }
    }
    let required = |a: usize, b: usize| knowledge.requires(a, b) || knowledge.requires(b, a);
    // Per removed pair, every variable in any set that separated it at the level it was
    // removed (both directions): a collider needs its middle in none of them.
    let mut sepset: HashMap<(usize, usize), BTreeSet<usize>> = HashMap::new();
    let mut tests = 0usize;
    let mut l = 0usize;
    loop {
        if config.max_depth.is_some_and(|m| l > m) {
            break;
        }
        // PC-stable: the adjacencies stay as they were at the level's start; the edges found
        // separable are removed after every pair has been tested at this level, and all the
        // separating sets of the level are kept (as causal-learn's `stable=True`).
        let mut removed: BTreeSet<(usize, usize)> = BTreeSet::new();
        let mut testable = false;
        for (x, near) in adj.iter().enumerate() {
            for &y in near {
                if required(x, y) {
                    continue;
                }
                let others: Vec<usize> = near.iter().copied().filter(|&v| v != y).collect();
                if others.len() < l {
                    continue;
                }
                testable = true;
                let key = (x.min(y), x.max(y));
                any_subset(&others, l, &mut |s| {
                    tests += 1;
                    if test.pvalue(x, y, s) > config.alpha {
                        removed.insert(key);
                        sepset.entry(key).or_default().extend(s.iter().copied());
                    }
                    false
                });
            }
        }
        for &(a, b) in &removed {
            adj[a].remove(&b);
            adj[b].remove(&a);
        }
        if !testable {
            break;
        }
        l += 1;
    }
    let mut g = Pdag {
        m: (0..d)
            .map(|a| (0..d).map(|b| adj[a].contains(&b)).collect())
            .collect(),
    };
    for &(a, b) in &knowledge.required {
        g.m[a][b] = true;
    }
    let mut how: HashMap<(usize, usize), Orientation> = HashMap::new();
    // Background knowledge first.
    for a in 0..d {
        for b in 0..d {
            if g.undirected(a, b) && (knowledge.requires(a, b) || !knowledge.allows(b, a)) {
                g.orient(a, b);
                how.insert((a, b), Orientation::Knowledge);
            }
        }
    }
    // Unshielded colliders x → z ← y where z is not in the separating set of x and y, both
    // edges or neither: a collider one of whose edges already points out of z is not applied
    // (a conflict; causal-learn's `uc_priority = 2`, its default, "prioritise existing
    // colliders"), nor one that the knowledge forbids. Triples in causal-learn's order: by
    // the middle node, then the ends.
    let mut conflicts = Vec::new();
    for z in 0..d {
        for x in 0..d {
            for y in x + 1..d {
                if x == z || y == z || !g.adjacent(x, z) || !g.adjacent(y, z) || g.adjacent(x, y) {
                    continue;
                }
                match sepset.get(&(x, y)) {
                    Some(s) if !s.contains(&z) => {}
                    _ => continue,
                }
                let blocked = |v: usize| {
                    g.directed(z, v) || !knowledge.allows(v, z) || knowledge.requires(z, v)
                };
                if blocked(x) || blocked(y) {
                    conflicts.extend([(x, z), (y, z)]);
                    continue;
                }
                for v in [x, y] {
                    if g.undirected(v, z) {
                        g.orient(v, z);
                        how.insert((v, z), Orientation::Collider);
                    }
                }
            }
        }
    }
    meek(&mut g, knowledge, &mut how);
    let (edges, reversed) = extend(&mut g, knowledge, &mut how)?;
    conflicts.extend(reversed);
    Ok(Discovery {
        edges: edges
            .into_iter()
            .map(|(a, b)| (a, b, how[&(a, b)]))
            .collect(),
        tests,
        conflicts,
        mixed: test.mixed(),
    })
}

/// Meek's rules R1-R3 until nothing changes, in causal-learn's order (R1 over the unshielded
/// triples, R2 over the triangles, R3 over the kites, each in index order); an orientation
/// that would close a directed cycle (possible only after conflicting colliders) is skipped.
fn meek(g: &mut Pdag, knowledge: &Knowledge, how: &mut HashMap<(usize, usize), Orientation>) {
    let d = g.m.len();
    let mut apply = |g: &mut Pdag, a: usize, b: usize| -> bool {
        if !g.undirected(a, b) || !knowledge.allows(a, b) || reaches(g, b, a) {
            return false;
        }
        g.orient(a, b);
        how.insert((a, b), Orientation::Meek);
        true
    };
    loop {
        let mut changed = false;
        // R1: i → j − k, i and k not adjacent: j → k.
        for i in 0..d {
            for j in 0..d {
                for k in 0..d {
                    if i != k && g.directed(i, j) && g.undirected(j, k) && !g.adjacent(i, k) {
                        changed |= apply(g, j, k);
                    }
                }
            }
        }
        // R2: i → j → k with i − k: i → k.
        for i in 0..d {
            for j in 0..d {
                for k in 0..d {
                    if g.directed(i, j) && g.directed(j, k) && g.undirected(i, k) {
                        changed |= apply(g, i, k);
                    }
                }
            }
        }
        // R3: i − j → l, i − k → l, i − l, j and k not adjacent: i → l.
        for i in 0..d {
            for l in 0..d {
                if !g.undirected(i, l) {
                    continue;
                }
                let mid: Vec<usize> = (0..d)
                    .filter(|&c| g.undirected(i, c) && g.directed(c, l))
                    .collect();
                let kite = mid
                    .iter()
                    .enumerate()
                    .any(|(t, &j)| mid[t + 1..].iter().any(|&k| !g.adjacent(j, k)));
                if kite {
                    changed |= apply(g, i, l);
                }
            }
        }
        if !changed {
            return;
        }
    }
}

/// Whether a directed path leads from `a` to `b`.
fn reaches(g: &Pdag, a: usize, b: usize) -> bool {
    let d = g.m.len();
    let mut seen = vec![false; d];
    let mut stack = vec![a];
    while let Some(v) = stack.pop() {
        if v == b {
            return true;
        }
        for (w, s) in seen.iter_mut().enumerate() {
            if !*s && g.directed(v, w) {
                *s = true;
                stack.push(w);
            }
        }
    }
    false
}

/// Directed edges `(from, to)`.
type Edges = Vec<(usize, usize)>;

/// Dor & Tarsi's extension of a PDAG to a DAG: repeatedly take a sink (no outgoing directed
/// edge) whose undirected neighbours are adjacent to all its other neighbours, and orient its
/// undirected edges into it; this adds no collider. Where no such node exists (conflicting
/// orientations), the lowest-index sink is taken anyway, and where there is no sink at all (a
/// directed cycle), one node's outgoing edges are reversed. Returns the DAG's edges and the
/// reversed ones.
#[allow(clippy::needless_range_loop)] // node indices address the mark matrix and `alive` alike
fn extend(
    g: &mut Pdag,
    knowledge: &Knowledge,
    how: &mut HashMap<(usize, usize), Orientation>,
) -> Result<(Edges, Edges)> {
    let d = g.m.len();
    let mut alive = vec![true; d];
    let mut edges: Vec<(usize, usize)> = Vec::new();
    let mut reversed: Vec<(usize, usize)> = Vec::new();
    for _ in 0..d {
        let sink = |x: usize, strict: bool| -> bool {
            if !alive[x] || (0..d).any(|y| alive[y] && g.directed(x, y)) {
                return false;
            }
            let nbrs: Vec<usize> = (0..d).filter(|&y| alive[y] && g.adjacent(x, y)).collect();
            nbrs.iter().all(|&y| {
                !g.undirected(x, y)
                    || (knowledge.allows(y, x)
                        && (!strict || nbrs.iter().all(|&z| z == y || g.adjacent(y, z))))
            })
        };
        let found = (0..d)
            .find(|&x| sink(x, true))
            .or_else(|| (0..d).find(|&x| sink(x, false)));
        let x = match found {
            Some(x) => x,
            None => {
                // Conflicting orientations closed a directed cycle: the remaining node with the
                // fewest outgoing edges (then the lowest index) takes them as incoming. Edges
                // the knowledge fixes are never reversed; if only they remain, it fails.
                let out = |x: usize| (0..d).filter(|&y| alive[y] && g.directed(x, y)).count();
                let x = (0..d)
                    .filter(|&x| {
                        alive[x]
                            && (0..d).all(|y| {
                                !(alive[y] && g.directed(x, y))
                                    || (how.get(&(x, y)) != Some(&Orientation::Knowledge)
                                        && knowledge.allows(y, x))
                            })
                    })
                    .min_by_key(|&x| out(x))
                    .ok_or_else(|| {
                        Error::invalid(
                            "the required, forbidden and tier constraints and the data's \
                             orientations leave no acyclic graph",
                        )
                    })?;
                for y in 0..d {
                    if alive[y] && g.directed(x, y) {
                        g.m[x][y] = false;
                        g.m[y][x] = true;
                        how.insert((y, x), Orientation::Extension);
                        reversed.push((x, y));
                    }
                }
                x
            }
        };
        for y in 0..d {
            if alive[y] && g.adjacent(x, y) {
                if g.undirected(x, y) {
                    g.orient(y, x);
                    how.insert((y, x), Orientation::Extension);
                }
                edges.push((y, x));
            }
        }
        alive[x] = false;
    }
    edges.sort_unstable();
    Ok((edges, reversed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use remedy_core::seed;

    fn gauss(rng: &mut impl Rng) -> f64 {
        let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Columns of a linear-Gaussian SEM with `edges` (from, to, weight), nodes in index
    /// order being a topological order.
    #[allow(clippy::needless_range_loop)] // rows index every column
    fn sem(d: usize, edges: &[(usize, usize, f64)], n: usize, s: u64) -> Vec<Vec<f64>> {
        let mut rng = seed::rng(s);
        let mut cols = vec![vec![0.0; n]; d];
        for r in 0..n {
            for j in 0..d {
                let mut v = gauss(&mut rng);
                for &(a, b, w) in edges {
                    if b == j {
                        v += w * cols[a][r];
                    }
                }
                cols[j][r] = v;
            }
        }
        cols
    }

    /// A collider a → c ← b is found and oriented from the data; c → e follows by Meek's R1.
    #[test]
    fn collider_and_meek() {
        let cols = sem(4, &[(0, 2, 1.0), (1, 2, 1.0), (2, 3, 1.0)], 3000, 1);
        let found = discover(&cols, &Knowledge::default(), &PcConfig::default()).unwrap();
        assert_eq!(
            found.edges,
            [
                (0, 2, Orientation::Collider),
                (1, 2, Orientation::Collider),
                (2, 3, Orientation::Meek)
            ]
        );
    }

    /// A chain is only a skeleton to the data: its direction comes from the extension, or
    /// from tiers when given. (α = 0.001: at 0.01 this seed's x0 ⫫ x2 | x1 test gives
    /// p = 0.0074, the 1% of false edges the level admits, and the chain has a triangle.)
    #[test]
    fn chain_orientation_from_extension_or_tiers() {
        let cols = sem(3, &[(0, 1, 0.8), (1, 2, 0.8)], 3000, 2);
        let config = PcConfig {
            alpha: 0.001,
            ..PcConfig::default()
        };
        let found = discover(&cols, &Knowledge::default(), &config).unwrap();
        let pairs: Vec<(usize, usize)> = found.edges.iter().map(|&(a, b, _)| (a, b)).collect();
        assert_eq!(pairs.len(), 2);
        assert!(found.edges.iter().all(|e| e.2 == Orientation::Extension));
        // No collider at 1 in the chosen DAG.
        assert!(!(pairs.contains(&(0, 1)) && pairs.contains(&(2, 1))));
        let tiers = Knowledge {
            tiers: vec![Some(2), Some(1), Some(0)],
            ..Knowledge::default()
        };
        let found = discover(&cols, &tiers, &config).unwrap();
        let pairs: Vec<(usize, usize)> = found.edges.iter().map(|&(a, b, _)| (a, b)).collect();
        assert_eq!(pairs, [(1, 0), (2, 1)]);
    }

    #[test]
    fn subsets_in_order() {
        let mut seen = Vec::new();
        any_subset(&[3, 5, 7, 9], 2, &mut |s| {
            seen.push(s.to_vec());
            false
        });
        assert_eq!(
            seen,
            [[3, 5], [3, 7], [3, 9], [5, 7], [5, 9], [7, 9]].map(|a| a.to_vec())
        );
        let mut count = 0;
        any_subset(&[1, 2, 3], 0, &mut |_| {
            count += 1;
            false
        });
        assert_eq!(count, 1);
    }

    /// A categorical variable (3 equally likely levels) as its block of indicators (levels 1
    /// and 2), and as its codes 0/1/2.
    fn categorical(n: usize, rng: &mut impl Rng) -> (Vec<usize>, Vec<Vec<f64>>, Vec<f64>) {
        let levels: Vec<usize> = (0..n).map(|_| rng.random_range(0..3)).collect();
        let block = (1..3)
            .map(|l| {
                levels
                    .iter()
                    .map(|&v| f64::from(u8::from(v == l)))
                    .collect()
            })
            .collect();
        let codes = levels.iter().map(|&v| v as f64).collect();
        (levels, block, codes)
    }

    /// A level effect that is not monotone in the codes (+1.5, −3, +1.5: zero covariance with
    /// 0/1/2) is invisible to Fisher's z on the codes and found by the DG test on the
    /// indicators; the chain c → m → y is cut at m (c ⫫ y | m).
    #[test]
    fn categorical_variables_by_their_levels() {
        let mut rng = seed::rng(3);
        let n = 3000;
        let (levels, block, codes) = categorical(n, &mut rng);
        let effect = [1.5, -3.0, 1.5];
        let m: Vec<f64> = levels
            .iter()
            .map(|&l| effect[l] + gauss(&mut rng))
            .collect();
        let y: Vec<f64> = m.iter().map(|v| 0.8 * v + gauss(&mut rng)).collect();
        let config = PcConfig::default();
        let dg = discover_blocks(
            &[block, vec![m.clone()], vec![y.clone()]],
            &Knowledge::default(),
            &config,
        )
        .unwrap();
        assert!(dg.mixed);
        let pairs: Vec<(usize, usize)> = dg.edges.iter().map(|&(a, b, _)| (a, b)).collect();
        assert_eq!(pairs.len(), 2, "{pairs:?}");
        assert!(
            pairs.contains(&(0, 1)) || pairs.contains(&(1, 0)),
            "{pairs:?}"
        );
        assert!(
            pairs.contains(&(1, 2)) || pairs.contains(&(2, 1)),
            "{pairs:?}"
        );
        let on_codes = discover(&[codes, m, y], &Knowledge::default(), &config).unwrap();
        assert!(!on_codes.mixed);
        assert!(
            on_codes.edges.iter().all(|&(a, b, _)| a.min(b) != 0),
            "codes: {:?}",
            on_codes.edges
        );
    }

    /// Under independence the DG test's p-values are uniform: about 5% fall below 0.05 (400
    /// data sets of 500 rows; one degree of freedom instead of two would give 15%, four 0.9%).
    #[test]
    fn dg_test_is_calibrated() {
        let mut rng = seed::rng(4);
        let mut below = 0;
        for _ in 0..400 {
            let (_, block, _) = categorical(500, &mut rng);
            let z: Vec<f64> = (0..500).map(|_| gauss(&mut rng)).collect();
            let y: Vec<f64> = z.iter().map(|v| v + gauss(&mut rng)).collect();
            let t = GaussianTests::new(&[block, vec![y], vec![z]]);
            if t.pvalue(0, 1, &[2]) < 0.05 {
                below += 1;
            }
        }
        assert!((8..=32).contains(&below), "{below} of 400 below 0.05");
    }

    /// Cholesky's log-determinant: ln(1 − r²) for a 2 × 2 correlation, `None` when singular.
    #[test]
    fn log_det_closed_form() {
        let r: f64 = 0.6;
        let got = log_det(&mut [1.0, r, r, 1.0], 2).unwrap();
        assert!((got - (1.0 - r * r).ln()).abs() < 1e-12);
        assert!(log_det(&mut [1.0, 1.0, 1.0, 1.0], 2).is_none());
        assert_eq!(log_det(&mut [], 0), Some(0.0));
    }

    /// Partial correlation by the inverse matches the closed form for one conditioning
    /// variable: r_xy·z = (r_xy − r_xz r_yz) / √((1 − r_xz²)(1 − r_yz²)).
    #[test]
    fn partial_correlation_closed_form() {
        let (rxy, rxz, ryz) = (0.5, 0.3, 0.6);
        let mut m = vec![1.0, rxy, rxz, rxy, 1.0, ryz, rxz, ryz, 1.0];
        let p = inverse(&mut m, 3).unwrap();
        let r = -p[1] / (p[0] * p[4]).sqrt();
        let want = (rxy - rxz * ryz) / ((1.0 - rxz * rxz) * (1.0 - ryz * ryz)).sqrt();
        assert!((r - want).abs() < 1e-12);
    }
}
