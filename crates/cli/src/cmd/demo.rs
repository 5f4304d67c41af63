//! `remedy demo`: a tour of what works on built-in data, needing no files.

use remedy_core::{Intervention, Result, seed};
use remedy_data::tabular::{self, TabularSizes};
use remedy_data::{Adult, Loan, Scm};

use crate::args::DemoArgs;
use crate::progress::Bar;

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
    workflow(&loan, &bench, a.seed)?;
    println!(
        "\nNext: `remedy generate loan --out data` writes this benchmark with its ground truth;\n\
         `remedy fit --train data/train.csv --graph data/graph.dot --schema data/schema.toml --out model`\n\
         then `remedy explain` / `remedy recommend --model model --data data/test.csv` (see README)."
    );
    Ok(())
}

/// The user workflow on the generated rows: fit, then explain and repair a few flagged rows,
/// beside their true root causes.
fn workflow(loan: &Loan, bench: &tabular::TabularBenchmark, seed: u64) -> Result<()> {
    println!(
        "\nRemedy on these rows: fit an autoencoder and an additive-noise model on the normal rows,\n\
         then explain and repair the first flagged test rows:"
    );
    let dag = tabular::feature_dag(loan)?;
    let schema = tabular::schema(loan)?;
    let config = remedy_app::FitConfig {
        seed,
        ..remedy_app::FitConfig::default()
    };
    let train = tabular::train_table(loan, bench)?;
    let model = remedy_app::fit(&train, &dag, Some(&schema), &config, &mut Bar::default())?;
    let test = tabular::test_table(loan, bench)?;
    let recs = model.recommend(
        &test,
        &remedy_app::RecommendConfig::default(),
        remedy_app::Target::default(),
        remedy_app::RecommendMethod::Auto,
        &remedy_app::RootCauseRule::Quantile { pi: None },
        None,
    )?;
    let truth: Vec<&[usize]> = bench.root_causes(loan).collect();
    println!(
        "  {:>5}  {:<12} {:<12} {:<34} {:>8} {:>8}",
        "row", "true causes", "located", "action (original units)", "before", "after"
    );
    for r in recs.iter().take(5) {
        let true_names: Vec<&str> = truth[r.row - 1]
            .iter()
            .map(|&n| loan.dag().name(n))
            .collect();
        let action: Vec<String> = model
            .features()
            .iter()
            .zip(&r.action)
            .filter(|(_, v)| **v != 0.0)
            .map(|(n, v)| format!("{n} {v:+.2}"))
            .collect();
        println!(
            "  {:>5}  {:<12} {:<12} {:<34} {:>8.3} {:>8.3}{}",
            r.row,
            true_names.join(","),
            r.root_causes.join(","),
            action.join(", "),
            r.score_before,
            r.score_after,
            if r.flips { "  normal again" } else { "" }
        );
    }
    let flipped = recs.iter().filter(|r| r.flips).count();
    println!(
        "  {} of {} flagged rows made normal (threshold {:.3}).",
        flipped,
        recs.len(),
        model.threshold()
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
