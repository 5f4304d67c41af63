//! `remedy demo`: a tour of what works on built-in data, needing no files.

use remedy_core::{Intervention, Result, seed};
use remedy_data::tabular::{self, TabularSizes};
use remedy_data::{Adult, Loan, Scm};

use crate::args::DemoArgs;

pub fn run(a: &DemoArgs) -> Result<()> {
    let loan = Loan::new();
    let sizes = TabularSizes::default();
    let bench = tabular::generate(&loan, &sizes, &mut seed::rng(a.seed))?;
    println!(
        "Loan benchmark (seed {}): {} normal training rows, {} test rows ({} anomalous over {} root-cause groups)",
        a.seed,
        bench.train.len(),
        bench.test.len(),
        bench.test_group.iter().filter(|g| g.is_some()).count(),
        loan.anomaly_groups().len()
    );

    println!("\nExact counterfactual, paper Table 5 (Loan, root causes L and D):");
    let x = [0.0, -1.878, -0.095, 2.423, 5.634, -2.064, 0.697];
    let iv = Intervention::parse(loan.dag(), Some("L=-5.958,D=-11.336"), None)?;
    let cf = loan.counterfactual(&x, &iv)?;
    print_case(&loan, &x, &cf);

    let adult = Adult::new();
    println!("\nExact counterfactual, paper Table 6 (Adult, root cause H, shifted by -9.672):");
    let feats = [2.0, 36.401, 1.0, 1.0, 5.264, 52.520, 1.0, 1.0, 2.0, 1.0];
    let x = adult.complete(&feats)?;
    let iv = Intervention::parse(adult.dag(), Some("H=-9.672"), None)?;
    let cf = adult.counterfactual(&x, &iv)?;
    print_case(&adult, &x, &cf);
    println!(
        "\nNext: `remedy generate loan --out data` writes this benchmark with its ground truth."
    );
    Ok(())
}

fn print_case<S: Scm>(scm: &S, x: &[f64], cf: &[f64]) {
    let names: Vec<&str> = scm
        .feature_nodes()
        .iter()
        .map(|&i| scm.dag().name(i))
        .collect();
    let label = scm.label_name();
    let header: Vec<String> = names.iter().map(|n| format!("{n:>9}")).collect();
    println!("          {} {label:>9}", header.join(""));
    for (tag, row) in [("factual", x), ("after", cf)] {
        let vals: Vec<String> = scm.feature_nodes().iter().map(|&i| cell(row[i])).collect();
        println!("{tag:>9} {} {}", vals.join(""), cell(scm.label(row)));
    }
}

/// Integers (categories, income) without decimals, other values with three.
fn cell(v: f64) -> String {
    if v == v.trunc() {
        format!("{v:>9}")
    } else {
        format!("{v:>9.3}")
    }
}
