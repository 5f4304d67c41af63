//! From the user's files to model inputs: which columns are features (the graph's nodes, in
//! the schema's order when a schema is given), the graph reordered to match, and table rows as
//! raw feature rows (categories as level indices), with errors naming the column, edge or cell.

use std::borrow::Cow;

use remedy_core::schema::FeatureType;
use remedy_core::{Column, Dag, Error, Result, Schema, Table};

/// The features of a model and the data columns left out.
#[derive(Debug, Clone)]
pub struct Features {
    /// The schema, in feature order.
    pub schema: Schema,
    /// The graph with its nodes in the schema's order.
    pub dag: Dag,
    /// Data columns that are not graph nodes: ignored (labels, ids...).
    pub ignored_columns: Vec<String>,
}

/// The first edge touching node `name`, for messages.
fn edge_of(dag: &Dag, name: &str) -> String {
    dag.edges()
        .into_iter()
        .find(|&(s, t)| dag.name(s) == name || dag.name(t) == name)
        .map(|(s, t)| format!(" (in edge {} -> {})", dag.name(s), dag.name(t)))
        .unwrap_or_default()
}

/// Matches the graph, the optional schema and the training table. The features are the graph's
/// nodes: every node must be a column of the table (and a feature of the schema, when given),
/// every schema feature a node. Columns of the table that are not nodes are ignored and listed
/// in [`Features::ignored_columns`] (a label or id column is common; the CLI warns). Without a
/// schema the features follow the table's column order and the schema is inferred
/// ([`Schema::infer`]: continuous columns actionable with cost = their sd).
pub fn resolve(table: &Table, dag: &Dag, schema: Option<&Schema>) -> Result<Features> {
    let source = if table.source().is_empty() {
        "the data".to_string()
    } else {
        table.source().to_string()
    };
    if dag.is_empty() {
        return Err(Error::invalid("the graph has no nodes"));
    }
    for n in dag.names() {
        if !table.has(n) {
            return Err(Error::invalid(format!(
                "graph node '{n}'{} is not a column of {source} (columns: {})",
                edge_of(dag, n),
                table.names().join(", ")
            )));
        }
    }
    let schema = match schema {
        Some(s) => {
            for f in &s.features {
                if dag.index_of(&f.name).is_none() {
                    return Err(Error::invalid(format!(
                        "schema feature '{}' is not a node of the graph; add it to the graph \
                         (an isolated node in DOT is written `{};`) or remove it from the schema",
                        f.name, f.name
                    )));
                }
            }
            for n in dag.names() {
                if s.feature(n).is_none() {
                    return Err(Error::invalid(format!(
                        "graph node '{n}'{} is not a feature of the schema",
                        edge_of(dag, n)
                    )));
                }
            }
            s.clone()
        }
        None => {
            let cols: Vec<&str> = table
                .names()
                .iter()
                .map(String::as_str)
                .filter(|c| dag.index_of(c).is_some())
                .collect();
            Schema::infer(table, &cols)?
        }
    };
    let order = schema.names();
    let dag = dag.subgraph(&order)?;
    let ignored_columns = table
        .names()
        .iter()
        .filter(|c| dag.index_of(c).is_none())
        .cloned()
        .collect();
    Ok(Features {
        schema,
        dag,
        ignored_columns,
    })
}

/// The table's rows as raw feature rows in the schema's order: numbers for continuous and
/// binary features (0/1 only), level indices for categorical ones (given as level text or as
/// an index). Fails on a missing column or a missing, NaN, infinite or out-of-range value,
/// naming the row (1-based) and the column.
pub fn rows(table: &Table, schema: &Schema) -> Result<Vec<Vec<f64>>> {
    read_rows(table, schema, false)
}

/// As [`rows`], but an empty cell (a missing or NaN number, an empty text) becomes NaN
/// instead of an error; infinite and out-of-range values are still refused.
pub fn rows_with_gaps(table: &Table, schema: &Schema) -> Result<Vec<Vec<f64>>> {
    read_rows(table, schema, true)
}

fn read_rows(table: &Table, schema: &Schema, gaps: bool) -> Result<Vec<Vec<f64>>> {
    let n = table.n_rows();
    let mut out: Vec<Vec<f64>> = (0..n)
        .map(|_| Vec::with_capacity(schema.features.len()))
        .collect();
    for f in &schema.features {
        let name = f.name.as_str();
        let numbers = || -> Result<Cow<'_, [f64]>> {
            match table.column(name)? {
                Column::Num(v) if gaps => {
                    if let Some(r) = v.iter().position(|x| x.is_infinite()) {
                        return Err(table.cell_error(r, name, format!("infinite value {}", v[r])));
                    }
                    Ok(Cow::Borrowed(v))
                }
                // A column with no value at all reads as text; it is a column of gaps.
                Column::Text(v) if gaps && v.iter().all(|c| c.trim().is_empty()) => {
                    Ok(Cow::Owned(vec![f64::NAN; v.len()]))
                }
                _ => table.numeric(name).map(Cow::Borrowed),
            }
        };
        match &f.kind {
            FeatureType::Continuous => {
                for (r, &v) in numbers()?.iter().enumerate() {
                    out[r].push(v);
                }
            }
            FeatureType::Binary => {
                for (r, &v) in numbers()?.iter().enumerate() {
                    if v != 0.0 && v != 1.0 && !v.is_nan() {
                        return Err(table.cell_error(
                            r,
                            name,
                            format!("{v} is not 0 or 1 (the schema says binary)"),
                        ));
                    }
                    out[r].push(v);
                }
            }
            FeatureType::Categorical { levels } => match table.column(name)? {
                Column::Text(values) if !(gaps && values.iter().all(|c| c.trim().is_empty())) => {
                    for (r, v) in values.iter().enumerate() {
                        if gaps && v.is_empty() {
                            out[r].push(f64::NAN);
                            continue;
                        }
                        let k = levels.iter().position(|l| l == v).ok_or_else(|| {
                            table.cell_error(
                                r,
                                name,
                                format!(
                                    "'{v}' is not a level of the feature ({})",
                                    levels.join(", ")
                                ),
                            )
                        })?;
                        out[r].push(k as f64);
                    }
                }
                _ => {
                    for (r, &v) in numbers()?.iter().enumerate() {
                        if !v.is_nan() && (v.fract() != 0.0 || v < 0.0 || v >= levels.len() as f64)
                        {
                            return Err(table.cell_error(
                                r,
                                name,
                                format!(
                                    "{v} is not a level index 0..{} of the feature",
                                    levels.len()
                                ),
                            ));
                        }
                        out[r].push(v);
                    }
                }
            },
        }
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use remedy_core::io::parse_csv;

    #[test]
    fn features_follow_the_graph_and_extra_columns_are_ignored() {
        let t = parse_csv(b"b,a,y,c\n1,2,0,x\n2,3,1,y\n3,5,0,x\n", "d.csv").unwrap();
        let dag = Dag::from_edges(&[("a", "b"), ("b", "c")]).unwrap();
        let f = resolve(&t, &dag, None).unwrap();
        assert_eq!(f.schema.names(), vec!["b", "a", "c"]);
        assert_eq!(f.dag.names(), ["b", "a", "c"]);
        assert_eq!(f.dag.parents(0), &[1]);
        assert_eq!(f.ignored_columns, vec!["y"]);
        let r = rows(&t, &f.schema).unwrap();
        assert_eq!(r[1], vec![2.0, 3.0, 1.0]);
    }

    #[test]
    fn mismatches_name_the_node_or_cell() {
        let t = parse_csv(b"a,b\n1,2\n2,\n", "d.csv").unwrap();
        let dag = Dag::from_edges(&[("a", "zz")]).unwrap();
        let e = resolve(&t, &dag, None).unwrap_err().to_string();
        assert!(
            e.contains("'zz'") && e.contains("a -> zz") && e.contains("d.csv"),
            "{e}"
        );
        let dag = Dag::from_edges(&[("a", "b")]).unwrap();
        let f = resolve(&t, &dag, None).unwrap();
        let e = rows(&t, &f.schema).unwrap_err().to_string();
        assert!(e.contains("row 2") && e.contains("'b'"), "{e}");
        let s = Schema::from_toml("[[feature]]\nname=\"a\"\ntype=\"continuous\"\n").unwrap();
        let e = resolve(&t, &dag, Some(&s)).unwrap_err().to_string();
        assert!(e.contains("graph node 'b'"), "{e}");
    }
}
