//! `remedy graph check`: validate a causal graph file, alone or against a data file;
//! `remedy graph discover`: learn one from normal rows.

use remedy_core::dot::read_graph;
use remedy_core::io::read_table;
use remedy_core::{Error, Result, Schema};

use remedy_app::discover::{DiscoverOptions, PcConfig, discover as learn};

use crate::args::{GraphCheckArgs, GraphCommand, GraphDiscoverArgs, GraphFormat, KnowledgeArgs};

pub fn run(cmd: &GraphCommand) -> Result<()> {
    match cmd {
        GraphCommand::Check(a) => check(a),
        GraphCommand::Discover(a) => discover(a),
    }
}

/// Discovery settings from the flags: `alpha`, the knowledge, the columns.
pub fn options(
    alpha: f64,
    max_depth: Option<usize>,
    k: &KnowledgeArgs,
    columns: Option<Vec<String>>,
    schema: Option<Schema>,
) -> Result<DiscoverOptions> {
    let tiers = match &k.tiers {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Error::io(path, e))?
            .lines()
            .map(|l| {
                l.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .filter(|t| !t.is_empty())
            .collect(),
        None => Vec::new(),
    };
    Ok(DiscoverOptions {
        config: PcConfig { alpha, max_depth },
        require: k.require.clone(),
        forbid: k.forbid.clone(),
        columns: columns.or_else(|| {
            schema
                .as_ref()
                .map(|s| s.names().iter().map(|n| n.to_string()).collect())
        }),
        tiers,
        schema,
    })
}

fn discover(a: &GraphDiscoverArgs) -> Result<()> {
    let schema = a.schema.as_deref().map(Schema::read).transpose()?;
    let options = options(
        a.alpha,
        a.max_depth,
        &a.knowledge,
        a.columns.clone(),
        schema,
    )?;
    if let Some(out) = &a.output {
        let mut inputs = vec![a.data.as_path()];
        inputs.extend(a.schema.as_deref());
        crate::output::refuse_inputs(out, &inputs)?;
    }
    let table = read_table(&a.data)?;
    let found = learn(&table, &options)?;
    let text = match a.format {
        GraphFormat::Dot => found.to_dot(),
        GraphFormat::Csv => remedy_core::io::to_csv_string(&found.edge_table()?),
    };
    for line in found.summary() {
        eprintln!("{line}");
    }
    match &a.output {
        Some(path) => remedy_core::io::write_atomic(path, text.as_bytes()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn check(a: &GraphCheckArgs) -> Result<()> {
    let dag = read_graph(&a.graph)?;
    let order: Vec<&str> = dag
        .topological_order()
        .iter()
        .map(|&i| dag.name(i))
        .collect();
    if let Some(path) = &a.data {
        let table = read_table(path)?;
        let missing: Vec<&str> = dag
            .names()
            .iter()
            .filter(|n| !table.has(n))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(Error::invalid(format!(
                "graph node{} {} not a column of {}",
                if missing.len() == 1 { " is" } else { "s are" },
                missing.join(", "),
                path.display()
            )));
        }
        let extra: Vec<&str> = table
            .names()
            .iter()
            .filter(|c| dag.index_of(c).is_none())
            .map(String::as_str)
            .collect();
        if !extra.is_empty() {
            println!(
                "note: columns not in the graph (treated as isolated or ignored): {}",
                extra.join(", ")
            );
        }
    }
    let isolated: Vec<&str> = (0..dag.len())
        .filter(|&i| dag.parents(i).is_empty() && dag.children(i).is_empty())
        .map(|i| dag.name(i))
        .collect();
    println!(
        "ok: {} nodes, {} edges, acyclic; topological order: {}",
        dag.len(),
        dag.edges().len(),
        order.join(", ")
    );
    if !isolated.is_empty() {
        println!("note: isolated nodes: {}", isolated.join(", "));
    }
    Ok(())
}
