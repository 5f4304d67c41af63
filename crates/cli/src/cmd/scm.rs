//! `remedy scm counterfactual`: exact counterfactuals of user rows under the benchmark SCMs.

use remedy_core::io::read_table;
use remedy_core::{Column, Error, Intervention, Result, Table};
use remedy_data::{Adult, Loan, Scm};

use crate::args::{CounterfactualArgs, ScmCommand, TabularDataset};
use crate::output::{emit, render};

pub fn run(cmd: &ScmCommand) -> Result<()> {
    match cmd {
        ScmCommand::Counterfactual(a) => match a.dataset {
            TabularDataset::Loan => counterfactual(&Loan::new(), a),
            TabularDataset::Adult => counterfactual(&Adult::new(), a),
        },
    }
}

/// Counterfactual rows (all feature columns plus the label) of every row of `data`.
pub fn counterfactual_table<S: Scm>(
    scm: &S,
    data: &Table,
    noise: Option<&Table>,
    iv: &Intervention,
) -> Result<Table> {
    scm.check_intervention(iv)?;
    let names: Vec<&str> = scm
        .feature_nodes()
        .iter()
        .map(|&i| scm.dag().name(i))
        .collect();
    let rows = data.matrix(&names)?;
    let noise_rows = match noise {
        Some(n) => {
            if n.n_rows() != data.n_rows() {
                return Err(Error::invalid(format!(
                    "{} has {} rows but {} has {}; the noise must align with the data row by row",
                    n.source(),
                    n.n_rows(),
                    data.source(),
                    data.n_rows()
                )));
            }
            Some(n.matrix(&names)?)
        }
        None => None,
    };
    let mut out = Vec::with_capacity(rows.len());
    let mut before = Vec::with_capacity(rows.len());
    for (r, feats) in rows.iter().enumerate() {
        let row_err = |e: Error| Error::format(data.source(), format!("row {}: {e}", r + 1));
        let x = scm.complete(feats).map_err(row_err)?;
        scm.check_row(&x).map_err(row_err)?;
        let cf = match &noise_rows {
            Some(nr) => {
                let mut u = vec![0.0; scm.dag().len()];
                for (&i, &v) in scm.feature_nodes().iter().zip(&nr[r]) {
                    u[i] = v;
                }
                let again = scm.forward(&u, &Intervention::default());
                if let Some(k) = scm
                    .feature_nodes()
                    .iter()
                    .position(|&i| (again[i] - x[i]).abs() > 1e-6 * (1.0 + x[i].abs()))
                {
                    return Err(data.cell_error(
                        r,
                        names[k],
                        format!(
                            "the given noise reproduces {} here, not {}",
                            again[scm.feature_nodes()[k]],
                            feats[k]
                        ),
                    ));
                }
                scm.forward(&u, iv)
            }
            None => scm.counterfactual(&x, iv).map_err(row_err)?,
        };
        before.push(scm.label(&x));
        out.push(cf);
    }
    let mut cols: Vec<(String, Column)> = vec![(
        "row".into(),
        Column::Num((1..=out.len()).map(|i| i as f64).collect()),
    )];
    for (&i, name) in scm.feature_nodes().iter().zip(&names) {
        cols.push((
            name.to_string(),
            Column::Num(out.iter().map(|r| r[i]).collect()),
        ));
    }
    let label = scm.label_name();
    cols.push((format!("{label}_before"), Column::Num(before)));
    cols.push((
        label.to_string(),
        Column::Num(out.iter().map(|r| scm.label(r)).collect()),
    ));
    Table::new(cols)
}

fn counterfactual<S: Scm>(scm: &S, a: &CounterfactualArgs) -> Result<()> {
    let iv = Intervention::parse(scm.dag(), a.shift.as_deref(), a.set.as_deref())?;
    if iv.is_empty() {
        return Err(Error::invalid(
            "give at least one intervention with --shift or --do",
        ));
    }
    let data = read_table(&a.data)?;
    let noise = a.noise.as_deref().map(read_table).transpose()?;
    let table = counterfactual_table(scm, &data, noise.as_ref(), &iv)?;
    let mut inputs = vec![a.data.as_path()];
    inputs.extend(a.noise.as_deref());
    emit(&render(&table, a.format), a.output.as_ref(), &inputs)
}
