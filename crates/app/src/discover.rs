//! `remedy graph discover`: a causal graph learnt from normal rows by the PC algorithm
//! ([`remedy_causal::pc`]), with background knowledge by column name (required and forbidden
//! edges `a->b`, tiers), for users who have no graph.

pub use remedy_causal::pc::PcConfig;
use remedy_causal::pc::{self, Discovery, Knowledge, Orientation};
use remedy_core::dot::write_dot;
use remedy_core::schema::{Feature, FeatureType};
use remedy_core::{Column, Dag, Error, Result, Schema, Table};

/// Settings of [`discover`], by column name as the CLI's flags give them.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    pub config: PcConfig,
    /// Columns to use (default: every column).
    pub columns: Option<Vec<String>>,
    /// Edges `a->b` that must be in the graph.
    pub require: Vec<String>,
    /// Edges `a->b` that must not be.
    pub forbid: Vec<String>,
    /// Tiers, earliest first: a node may not cause one in an earlier tier.
    pub tiers: Vec<Vec<String>>,
    /// Feature types (binary, categorical with levels); without it (or for a column it does
    /// not name) a text column is categorical and a numeric one continuous, as
    /// [`Schema::infer`] types them.
    pub schema: Option<Schema>,
}

/// A learnt graph over named columns.
#[derive(Debug, Clone)]
pub struct Discovered {
    pub names: Vec<String>,
    pub discovery: Discovery,
    pub rows: usize,
    pub alpha: f64,
    /// Seconds the algorithm took (correlations, tests, orientation; not reading the data).
    pub seconds: f64,
}

/// Learns a graph from the columns of `table`: continuous and binary columns as they are,
/// categorical ones by their levels (see [`pc::discover_blocks`]).
pub fn discover(table: &Table, options: &DiscoverOptions) -> Result<Discovered> {
    let names: Vec<String> = match &options.columns {
        Some(c) => {
            for n in c {
                table.column(n)?;
            }
            c.clone()
        }
        None => table.names().to_vec(),
    };
    if names.len() < 2 {
        return Err(Error::invalid("graph discovery needs at least two columns"));
    }
    let mut blocks = Vec::with_capacity(names.len());
    for name in &names {
        let feature = match options.schema.as_ref().and_then(|s| s.feature(name)) {
            Some(f) => f.clone(),
            None => Schema::infer(table, &[name])?.features.remove(0),
        };
        blocks.push(block(table, feature)?);
    }
    let index = |flag: &str, n: &str| -> Result<usize> {
        names.iter().position(|c| c == n).ok_or_else(|| {
            Error::invalid(format!(
                "{flag}: no column '{n}' among the columns used: {}",
                names.join(", ")
            ))
        })
    };
    let edges = |flag: &str, texts: &[String]| -> Result<Vec<(usize, usize)>> {
        texts
            .iter()
            .flat_map(|t| t.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                let (a, b) = t.split_once("->").ok_or_else(|| {
                    Error::invalid(format!("{flag}: '{t}' is not an edge of the form a->b"))
                })?;
                Ok((index(flag, a.trim())?, index(flag, b.trim())?))
            })
            .collect()
    };
    let required = edges("--require", &options.require)?;
    let forbidden = edges("--forbid", &options.forbid)?;
    let mut tiers = vec![None; names.len()];
    for (t, tier) in options.tiers.iter().enumerate() {
        for n in tier {
            let i = index("--tiers", n)?;
            if tiers[i].is_some() {
                return Err(Error::invalid(format!("--tiers: '{n}' is in two tiers")));
            }
            tiers[i] = Some(t as u32);
        }
    }
    let knowledge = Knowledge {
        required,
        forbidden,
        tiers,
    };
    for &(a, b) in &knowledge.required {
        if !knowledge.allows(a, b) {
            return Err(Error::invalid(format!(
                "--require {}->{} is forbidden by --forbid or --tiers",
                names[a], names[b]
            )));
        }
    }
    if !knowledge.required.is_empty() {
        let named: Vec<(&str, &str)> = knowledge
            .required
            .iter()
            .map(|&(a, b)| (names[a].as_str(), names[b].as_str()))
            .collect();
        Dag::new(
            &names.iter().map(String::as_str).collect::<Vec<_>>(),
            &named,
        )
        .map_err(|e| Error::invalid(format!("--require: {e}")))?;
    }
    let start = std::time::Instant::now();
    let discovery = pc::discover_blocks(&blocks, &knowledge, &options.config)?;
    Ok(Discovered {
        names,
        discovery,
        rows: table.n_rows(),
        alpha: options.config.alpha,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// A feature's columns for the tests: its values (continuous, binary 0/1), or the indicators
/// of its observed levels but the most frequent (categorical).
fn block(table: &Table, feature: Feature) -> Result<Vec<Vec<f64>>> {
    let name = feature.name.clone();
    let values = match (&feature.kind, table.column(&name)?) {
        (FeatureType::Continuous, Column::Num(v)) => {
            if let Some(r) = v.iter().position(|v| !v.is_finite()) {
                return Err(table.cell_error(
                    r,
                    &name,
                    "an empty or non-finite value; graph discover needs complete rows",
                ));
            }
            v.clone()
        }
        (FeatureType::Continuous, Column::Text(_)) => {
            return Err(Error::invalid(format!(
                "column '{name}' of {} holds text but the schema says continuous",
                table.source()
            )));
        }
        _ => {
            let one = Schema::new(vec![feature.clone()])?;
            crate::data::rows(table, &one)?
                .into_iter()
                .map(|r| r[0])
                .collect()
        }
    };
    if values.iter().all(|v| *v == values[0]) {
        return Err(Error::invalid(format!(
            "column '{name}' is constant: no test can relate it to the others (drop it)"
        )));
    }
    let FeatureType::Categorical { levels } = &feature.kind else {
        return Ok(vec![values]);
    };
    let mut counts = vec![0usize; levels.len()];
    for &v in &values {
        counts[v as usize] += 1;
    }
    // The reference level: the most frequent (the first of equals), so that the indicators
    // are as far from collinear as the data allow.
    let reference = (0..levels.len())
        .max_by_key(|&l| (counts[l], std::cmp::Reverse(l)))
        .unwrap_or(0);
    Ok((0..levels.len())
        .filter(|&l| l != reference && counts[l] > 0)
        .map(|l| {
            values
                .iter()
                .map(|&v| f64::from(u8::from(v as usize == l)))
                .collect()
        })
        .collect())
}

impl Discovered {
    /// The learnt DAG.
    pub fn dag(&self) -> Result<Dag> {
        let edges: Vec<(&str, &str)> = self
            .discovery
            .edges
            .iter()
            .map(|&(a, b, _)| (self.names[a].as_str(), self.names[b].as_str()))
            .collect();
        Dag::new(
            &self.names.iter().map(String::as_str).collect::<Vec<_>>(),
            &edges,
        )
    }

    /// DOT text of the DAG, with how it was learnt in a comment and each edge's orientation
    /// source.
    pub fn to_dot(&self) -> String {
        let edges: Vec<(usize, usize)> = self
            .discovery
            .edges
            .iter()
            .map(|&(a, b, _)| (a, b))
            .collect();
        write_dot(
            "discovered",
            &self.names,
            &edges,
            &format!(
                "learnt by remedy graph discover: PC-stable, {} tests at alpha {} on {} rows",
                self.test_name(),
                self.alpha,
                self.rows
            ),
        )
    }

    /// The edge list: `source, target, oriented_by` (knowledge, collider, meek, extension: the
    /// last are the edges the data left unoriented).
    pub fn edge_table(&self) -> Result<Table> {
        let e = &self.discovery.edges;
        Table::new(vec![
            (
                "source".into(),
                Column::Text(e.iter().map(|&(a, _, _)| self.names[a].clone()).collect()),
            ),
            (
                "target".into(),
                Column::Text(e.iter().map(|&(_, b, _)| self.names[b].clone()).collect()),
            ),
            (
                "oriented_by".into(),
                Column::Text(
                    e.iter()
                        .map(|&(_, _, o)| orientation_name(o).into())
                        .collect(),
                ),
            ),
        ])
    }

    /// The tests used: Fisher-z, and for categorical columns the DG likelihood ratio.
    fn test_name(&self) -> &'static str {
        if self.discovery.mixed {
            "Fisher-z and (for categorical columns) degenerate-Gaussian likelihood-ratio"
        } else {
            "Fisher-z"
        }
    }

    /// What a person should know about the answer, one line each.
    pub fn summary(&self) -> Vec<String> {
        let e = &self.discovery.edges;
        let mut lines = vec![format!(
            "PC-stable, {} tests at alpha {}: {} columns, {} rows, {} tests in {:.3} s, {} edges",
            self.test_name(),
            self.alpha,
            self.names.len(),
            self.rows,
            self.discovery.tests,
            self.seconds,
            e.len()
        )];
        let free: Vec<String> = e
            .iter()
            .filter(|x| x.2 == Orientation::Extension)
            .map(|&(a, b, _)| format!("{} -> {}", self.names[a], self.names[b]))
            .collect();
        if free.is_empty() {
            lines.push("every edge's direction comes from the data or the knowledge given".into());
        } else {
            lines.push(format!(
                "the data left {} edge{} unoriented; each was set so as to add no collider (one \
                 member of the equivalence class; --require or --tiers fix them): {}",
                free.len(),
                if free.len() == 1 { "" } else { "s" },
                free.join(", ")
            ));
        }
        if !self.discovery.conflicts.is_empty() {
            let c: Vec<String> = self
                .discovery
                .conflicts
                .iter()
                .map(|&(a, b)| format!("{} -> {}", self.names[a], self.names[b]))
                .collect();
            lines.push(format!(
                "collider orientations not applied (they contradicted earlier ones or the \
                 knowledge): {}",
                c.join(", ")
            ));
        }
        lines
    }
}

fn orientation_name(o: Orientation) -> &'static str {
    match o {
        Orientation::Knowledge => "knowledge",
        Orientation::Collider => "collider",
        Orientation::Meek => "meek",
        Orientation::Extension => "extension",
    }
}
