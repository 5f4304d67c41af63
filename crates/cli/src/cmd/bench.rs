//! `remedy bench`: seconds per training epoch of the autoencoder and Deep SVDD on the Loan
//! training rows, single-threaded, the same networks and data as `bench/pytorch_detectors.py`;
//! and the rows per second of `explain --all` (abduction, calibrated p-values, Holm) with an
//! additive-noise model of a 10-node linear-Gaussian chain; and the seconds `recommend` takes
//! per 1,000 flagged Loan test rows (the user path of `remedy reproduce recommend`), for the
//! typical and the threshold target; and the seconds of that user path's `fit` (additive-noise
//! model, autoencoder, recourse network, two threads), with VACA as well on request; on
//! request too, the detectors' epochs beside PyTorch's (medians of alternating runs) and the
//! wall time of `reproduce rootclam --dataset loan --detector ae`.

use std::path::Path;
use std::time::Instant;

use rand::Rng;
use remedy_app::{
    CausalKind, FitConfig, RecommendConfig, RecommendMethod, RecourseKind, RootCauseRule, Target,
};
use remedy_core::{Column, Dag, Error, Result, Table, seed};
use remedy_data::Loan;
use remedy_data::scm::Scm;
use remedy_data::tabular::{self, TabularBenchmark, TabularSizes};
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
    let epochs = || -> Result<(f64, f64)> {
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
        Ok((ae_s, start.elapsed().as_secs_f64() / a.epochs as f64))
    };
    // Beside PyTorch: remedy, PyTorch, remedy, … three times each, so that the machine's
    // drift hits both; medians.
    let (ae_s, svdd_s, pytorch) = match &a.pytorch {
        None => {
            let (ae_s, svdd_s) = epochs()?;
            (ae_s, svdd_s, None)
        }
        Some(script) => {
            let dir = tempfile::tempdir().map_err(|e| Error::io(Path::new("temporary dir"), e))?;
            let csv = dir.path().join("train.csv");
            // What `remedy generate loan --seed N` writes as train.csv.
            remedy_core::io::write_table(&tabular::train_table(&loan, &b)?, &csv)?;
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..PYTORCH_RUNS {
                ours.push(epochs()?);
                theirs.push(pytorch_epochs(script, &csv, a.epochs)?);
            }
            let (ae_s, svdd_s) = medians(&ours);
            let (t_ae, t_svdd) = medians(&theirs);
            (ae_s, svdd_s, Some((t_ae, t_svdd)))
        }
    };
    let (explain_rows, explain_s) = explain_throughput(a.epochs)?;
    let recommend = recommend_timing(&loan, &b, a.seed)?;
    let fit_vaca_s = if a.vaca {
        let config = FitConfig {
            causal: CausalKind::Vaca,
            seed: a.seed,
            ..FitConfig::default()
        };
        Some(fit_loan(&loan, &b, &config)?.1)
    } else {
        None
    };
    let rootclam_s = if a.rootclam {
        let settings = remedy_eval::rootclam::RootClamSettings {
            dataset: remedy_eval::detection::Benchmark::Loan,
            detector: remedy_eval::detection::DetectorKind::Ae,
            seed: a.seed,
            pi: 0.125,
            neighbours: 0,
            mitigation: None,
            per_row: false,
            locator: remedy_eval::rootcause::LocatorKind::Vaca,
            sweeps: Vec::new(),
            scale: remedy_eval::detection::Scale::Full,
        };
        let start = Instant::now();
        remedy_eval::rootclam::run(&settings, &mut NoObserver)?;
        Some(start.elapsed().as_secs_f64())
    } else {
        None
    };
    println!(
        "{}",
        serde_json::json!({
            "remedy": env!("CARGO_PKG_VERSION"),
            "rows": rows.len(),
            "epochs": a.epochs,
            "autoencoder_s_per_epoch": ae_s,
            "deep_svdd_s_per_epoch": svdd_s,
            "explain_rows": explain_rows,
            "explain_rows_per_s": explain_rows as f64 / explain_s,
            "recommend_flagged_rows": recommend.0,
            "recommend_typical_s_per_1000": recommend.1,
            "recommend_threshold_s_per_1000": recommend.2,
            "fit_s": recommend.3,
            "fit_vaca_s": fit_vaca_s,
            "pytorch_autoencoder_s_per_epoch": pytorch.map(|p| p.0),
            "pytorch_deep_svdd_s_per_epoch": pytorch.map(|p| p.1),
            "autoencoder_ratio_to_pytorch": pytorch.map(|p| ae_s / p.0),
            "deep_svdd_ratio_to_pytorch": pytorch.map(|p| svdd_s / p.1),
            "reproduce_rootclam_s": rootclam_s,
        })
    );
    Ok(())
}

/// Alternating runs of remedy's and PyTorch's epochs with `--pytorch`.
const PYTORCH_RUNS: usize = 3;

/// Per component, the median of the runs (three: the middle one).
fn medians(runs: &[(f64, f64)]) -> (f64, f64) {
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (
        median(runs.iter().map(|r| r.0).collect()),
        median(runs.iter().map(|r| r.1).collect()),
    )
}

/// Runs `python3 SCRIPT CSV --epochs N` (the PyTorch twin) and reads the seconds per epoch of
/// its autoencoder and Deep SVDD from the JSON line it prints last.
fn pytorch_epochs(script: &Path, csv: &Path, epochs: usize) -> Result<(f64, f64)> {
    let failed = |why: String| {
        Error::invalid(format!(
            "--pytorch {}: {why} (it needs python3 with torch installed)",
            script.display()
        ))
    };
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(csv)
        .args(["--epochs", &epochs.to_string()])
        .output()
        .map_err(|e| failed(format!("could not start python3: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(failed(format!(
            "exited with {}: {}",
            out.status,
            err.lines().last().unwrap_or("no message")
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = text
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| failed("printed no JSON line".into()))?;
    let get = |k: &str| {
        v[k].as_f64()
            .filter(|s| s.is_finite() && *s > 0.0)
            .ok_or_else(|| failed(format!("printed no positive '{k}'")))
    };
    Ok((
        get("autoencoder_s_per_epoch")?,
        get("deep_svdd_s_per_epoch")?,
    ))
}

/// Nodes of the chain `explain` is timed on.
const CHAIN_NODES: usize = 10;
/// Rows explained.
const EXPLAIN_ROWS: usize = 50_000;

/// `n` rows of X0 → X1 → … → X9, X_j = 0.8·X_{j−1} + N(0, 1) (Box–Muller).
fn chain(n: usize, rng: &mut impl Rng) -> Result<Table> {
    let mut cols: Vec<Vec<f64>> = (0..CHAIN_NODES).map(|_| Vec::with_capacity(n)).collect();
    for _ in 0..n {
        let mut prev = 0.0;
        for c in cols.iter_mut() {
            let (u1, u2): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
            prev = 0.8 * prev + (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            c.push(prev);
        }
    }
    Table::new(
        cols.into_iter()
            .enumerate()
            .map(|(j, c)| (format!("X{j}"), Column::Num(c)))
            .collect(),
    )
}

/// Fits a model of the chain (epochs capped at `epochs`) and times `explain --all` on
/// [`EXPLAIN_ROWS`] fresh rows: (rows, seconds).
fn explain_throughput(epochs: usize) -> Result<(usize, f64)> {
    let mut rng = seed::rng(3);
    let names: Vec<String> = (0..CHAIN_NODES).map(|j| format!("X{j}")).collect();
    let edges: Vec<(&str, &str)> = names
        .windows(2)
        .map(|w| (w[0].as_str(), w[1].as_str()))
        .collect();
    let dag = Dag::from_edges(&edges)?;
    let config = FitConfig {
        recourse: RecourseKind::Search,
        epochs: Some(epochs.max(1)),
        seed: 1,
        ..FitConfig::default()
    };
    let model = remedy_app::fit(
        &chain(4000, &mut rng)?,
        &dag,
        None,
        &config,
        &mut NoObserver,
    )?;
    let test = chain(EXPLAIN_ROWS, &mut rng)?;
    let start = Instant::now();
    let rows = model.explain(&test, true, &RootCauseRule::default())?;
    Ok((rows.len(), start.elapsed().as_secs_f64()))
}

/// Fits a model on the Loan training rows with `config`: the model and the seconds it took.
fn fit_loan(
    loan: &Loan,
    b: &TabularBenchmark,
    config: &FitConfig,
) -> Result<(remedy_app::Fitted, f64)> {
    let train = tabular::train_table(loan, b)?;
    let (dag, schema) = (tabular::feature_dag(loan)?, tabular::schema(loan)?);
    let start = Instant::now();
    let model = remedy_app::fit(&train, &dag, Some(&schema), config, &mut NoObserver)?;
    Ok((model, start.elapsed().as_secs_f64()))
}

/// Fits the user path's model on the Loan training rows (default settings, the seed's data)
/// and times `recommend` on the test rows for each target: (flagged rows, seconds per 1,000
/// flagged rows with the typical target, the same with the threshold target, seconds of the
/// fit).
fn recommend_timing(
    loan: &Loan,
    b: &TabularBenchmark,
    seed: u64,
) -> Result<(usize, f64, f64, f64)> {
    let config = FitConfig {
        seed,
        ..FitConfig::default()
    };
    let (model, fit_s) = fit_loan(loan, b, &config)?;
    let test = tabular::test_table(loan, b)?;
    let time = |target| -> Result<(usize, f64)> {
        let start = Instant::now();
        let rows = model.recommend(
            &test,
            &RecommendConfig::default(),
            target,
            RecommendMethod::Auto,
            &RootCauseRule::Quantile { pi: None },
            None,
        )?;
        Ok((rows.len(), start.elapsed().as_secs_f64()))
    };
    let (n, typical) = time(Target::default())?;
    let (_, threshold) = time(Target::Threshold {
        alpha: RecommendConfig::default().alpha,
    })?;
    let per_1000 = |s: f64| s * 1000.0 / n.max(1) as f64;
    Ok((n, per_1000(typical), per_1000(threshold), fit_s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The twin's seconds come from the last line it prints; a failing or silent twin is one
    /// clear error naming the flag and its own last words.
    #[test]
    fn the_pytorch_twin_is_read_from_its_last_json_line() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("twin.py");
        let run = |body: &str| {
            std::fs::write(&script, body).unwrap();
            pytorch_epochs(&script, Path::new("rows.csv"), 7)
        };
        let ok = run("import json, sys\n\
                      assert sys.argv[1:] == ['rows.csv', '--epochs', '7'], sys.argv\n\
                      print('warming up')\n\
                      print(json.dumps({'autoencoder_s_per_epoch': 0.5, 'deep_svdd_s_per_epoch': 0.25}))\n");
        assert_eq!(ok.unwrap(), (0.5, 0.25));
        let e = run("import sys\nsys.exit('No module named torch')\n").unwrap_err();
        assert!(e.is_bad_input(), "{e}");
        assert!(e.to_string().contains("No module named torch"), "{e}");
        assert!(e.to_string().starts_with("--pytorch "), "{e}");
        let e = run("print('{\"autoencoder_s_per_epoch\": 0, \"deep_svdd_s_per_epoch\": 1}')\n")
            .unwrap_err();
        assert!(e.to_string().contains("'autoencoder_s_per_epoch'"), "{e}");
        let e = run("print('done')\n").unwrap_err();
        assert!(e.to_string().contains("no JSON line"), "{e}");
    }

    #[test]
    fn medians_are_taken_per_component() {
        assert_eq!(medians(&[(3.0, 1.0), (1.0, 2.0), (2.0, 9.0)]), (2.0, 2.0));
    }
}
