//! `remedy bench`: seconds per training epoch of the autoencoder and Deep SVDD on the Loan
//! training rows, single-threaded, the same networks and data as `bench/pytorch_detectors.py`.

use std::time::Instant;

use remedy_core::{Result, seed};
use remedy_data::Loan;
use remedy_data::scm::Scm;
use remedy_data::tabular::{self, TabularSizes};
use remedy_detect::{AutoencoderConfig, DeepSvddConfig};
use remedy_nn::NoObserver;

use crate::args::BenchArgs;

pub fn run(a: &BenchArgs) -> Result<()> {
    let loan = Loan::new();
    // The same rows as `remedy generate loan --seed N` writes to train.csv.
    let b = tabular::generate(&loan, &TabularSizes::default(), &mut seed::rng(a.seed))?;
    let rows: Vec<Vec<f64>> = b
        .train
        .iter()
        .map(|r| loan.feature_nodes().iter().map(|&i| r[i]).collect())
        .collect();
    let schema = tabular::schema(&loan)?;
    let mut ae = AutoencoderConfig::default();
    ae.train.epochs = a.epochs;
    ae.train.patience = None;
    let start = Instant::now();
    ae.fit(&schema, &rows, &[], &mut seed::rng(1), &mut NoObserver)?;
    let ae_s = start.elapsed().as_secs_f64() / a.epochs as f64;
    let mut svdd = DeepSvddConfig::default();
    svdd.train.epochs = a.epochs;
    svdd.train.patience = None;
    let start = Instant::now();
    svdd.fit(&schema, &rows, &[], &mut seed::rng(1), &mut NoObserver)?;
    let svdd_s = start.elapsed().as_secs_f64() / a.epochs as f64;
    println!(
        "{}",
        serde_json::json!({
            "remedy": env!("CARGO_PKG_VERSION"),
            "rows": rows.len(),
            "epochs": a.epochs,
            "autoencoder_s_per_epoch": ae_s,
            "deep_svdd_s_per_epoch": svdd_s,
        })
    );
    Ok(())
}
