//! `remedy generate`: write a benchmark dataset with its ground truth to a directory.

use remedy_core::io::write_files;
use remedy_core::{Error, Result, seed};
use remedy_data::tabular::{self, TabularSizes};
use remedy_data::timeseries::{self, AnomalyType, TsBenchmark, TsConfig};
use remedy_data::{Adult, Loan, Scm};

use crate::args::{AnomalyKind, Dataset, GenerateArgs};

pub fn run(a: &GenerateArgs) -> Result<()> {
    let files = match a.dataset {
        Dataset::Loan => tabular_files(&Loan::new(), a)?,
        Dataset::Adult => tabular_files(&Adult::new(), a)?,
        Dataset::Linear | Dataset::LotkaVolterra => timeseries_files(a)?,
    };
    write_files(&a.out, &files, a.force)?;
    tracing::info!(dir = %a.out.display(), files = files.len(), "dataset written");
    eprintln!(
        "wrote {} to {}",
        files
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        a.out.display()
    );
    Ok(())
}

fn tabular_files<S: Scm>(scm: &S, a: &GenerateArgs) -> Result<Vec<(String, Vec<u8>)>> {
    if a.anomaly.is_some() {
        return Err(Error::invalid(format!(
            "--anomaly applies to time series; {} anomalies come from its root-cause groups",
            scm.name()
        )));
    }
    let d = TabularSizes::default();
    let sizes = TabularSizes {
        train: a.train.unwrap_or(d.train),
        test_normal: a.test.unwrap_or(d.test_normal),
        test_anomalous: a.anomalies.unwrap_or(d.test_anomalous),
    };
    let mut rng = seed::rng(a.seed);
    let bench = tabular::generate(scm, &sizes, &mut rng)?;
    tabular::files(scm, &bench, a.seed)
}

fn timeseries_files(a: &GenerateArgs) -> Result<Vec<(String, Vec<u8>)>> {
    if a.anomalies.is_some() {
        return Err(Error::invalid(
            "--anomalies applies to tabular datasets; every time-series test series holds one anomaly event",
        ));
    }
    let benchmark = match a.dataset {
        Dataset::Linear => TsBenchmark::Linear,
        _ => TsBenchmark::LotkaVolterra,
    };
    let d = TsConfig::default();
    let config = TsConfig {
        n_train: a.train.unwrap_or(d.n_train),
        n_test: a.test.unwrap_or(d.n_test),
        anomaly: match a.anomaly.unwrap_or(AnomalyKind::Point) {
            AnomalyKind::Point => AnomalyType::Point,
            AnomalyKind::Sequence => AnomalyType::Sequence,
            AnomalyKind::Causal => AnomalyType::Causal,
        },
    };
    let ds = timeseries::generate(benchmark, &config, &mut seed::rng(a.seed));
    timeseries::export::files(&ds, a.seed)
}
