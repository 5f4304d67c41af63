//! `remedy reproduce`: the papers' experiments end to end on generated benchmarks.

use remedy_core::Result;
use remedy_eval::detection::{self, Benchmark, DetectionReport, DetectorKind};

use remedy_data::timeseries::AnomalyType;

use crate::args::{
    AnomalyKind, Dataset, DetectionArgs, DetectorArg, ReportFormat, ReproduceCommand,
};
use crate::output::emit;
use crate::progress::Bar;

pub fn run(cmd: &ReproduceCommand) -> Result<()> {
    match cmd {
        ReproduceCommand::Detection(a) => detection(a),
    }
}

fn detection(a: &DetectionArgs) -> Result<()> {
    let dataset = match a.dataset {
        Dataset::Loan => Benchmark::Loan,
        Dataset::Adult => Benchmark::Adult,
        Dataset::Linear => Benchmark::Linear,
        Dataset::LotkaVolterra => Benchmark::LotkaVolterra,
    };
    let detector = match a.detector {
        DetectorArg::Ae => DetectorKind::Ae,
        DetectorArg::Deepsvdd => DetectorKind::DeepSvdd,
        DetectorArg::Usad => DetectorKind::Usad,
    };
    let anomaly = a.anomaly.map(|k| match k {
        AnomalyKind::Point => AnomalyType::Point,
        AnomalyKind::Sequence => AnomalyType::Sequence,
        AnomalyKind::Causal => AnomalyType::Causal,
    });
    let report = detection::run(dataset, detector, a.seed, anomaly, &mut Bar::default())?;
    let text = match a.format {
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report).expect("a report serialises");
            s.push('\n');
            s
        }
        ReportFormat::Table => table(&report),
    };
    emit(&text, None, &[])
}

fn table(r: &DetectionReport) -> String {
    let unit = if r.steps.is_some() { "windows" } else { "rows" };
    let anomaly = r
        .anomaly
        .as_deref()
        .map(|a| format!(" ({a} anomalies)"))
        .unwrap_or_default();
    let mut s = format!(
        "{:?} / {:?}{anomaly}, seed {}: {} test {unit} ({} anomalous), trained {} epochs in {:.1} s, threshold {:.4}\n\n",
        r.dataset,
        r.detector,
        r.seed,
        r.n_test,
        r.n_anomalous,
        r.epochs,
        r.train_seconds,
        r.threshold
    );
    s.push_str("                  F1   AUROC   AUPRC\n");
    s.push_str(&format!(
        "remedy {unit:>8}  {:.3}   {:.3}   {:.3}\n",
        r.f1, r.auroc, r.auprc
    ));
    if let Some(st) = r.steps {
        s.push_str(&format!(
            "remedy    steps  {:.3}   {:.3}   {:.3}\n",
            st.f1, st.auroc, st.auprc
        ));
    }
    if let Some(p) = r.paper {
        s.push_str(&format!(
            "paper            {:.3}   {:.3}   {:.3}   (RootCLAM Table 2)\n",
            p.f1, p.auroc, p.auprc
        ));
    }
    s
}
