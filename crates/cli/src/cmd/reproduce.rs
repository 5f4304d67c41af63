//! `remedy reproduce`: the papers' experiments end to end on generated benchmarks.

use remedy_core::Result;
use remedy_eval::detection::{self, Benchmark, DetectionReport, DetectorKind, Scale};
use remedy_eval::rootcause::{self, LocatorKind, RootCauseReport, RootCauseSettings};
use remedy_eval::rootclam::{self, RootClamReport, RootClamSettings, Sweep};
use remedy_eval::userpath::{self, UserPathReport, UserPathSettings};

use remedy_data::timeseries::{AnomalyType, TsBenchmark};
use remedy_eval::recad::{RecadReport, RecadSettings};

use crate::args::{
    AnomalyKind, Dataset, DetectionArgs, DetectorArg, LocatorArg, RecadArgs, ReportFormat,
    ReproduceCommand, RootCauseArgs, RootClamArgs, SkabArgs, SweepArg, TabularDataset,
    TabularDetectorArg, TsDatasetArg, UserPathArgs,
};
use crate::output::emit;
use crate::progress::Bar;

pub fn run(cmd: &ReproduceCommand) -> Result<()> {
    match cmd {
        ReproduceCommand::Detection(a) => detection(a),
        ReproduceCommand::Rootcause(a) => root_cause(a),
        ReproduceCommand::Rootclam(a) => root_clam(a),
        ReproduceCommand::Recad(a) => recad(a),
        ReproduceCommand::Recommend(a) => user_path(a),
        ReproduceCommand::Skab(a) => skab(a),
    }
}

fn skab(a: &SkabArgs) -> Result<()> {
    let mut settings = remedy_eval::skab::SkabSettings::new(&a.data, a.seed);
    settings.folders = a.folders.clone();
    settings.fit.window = a.window;
    settings.fit.epochs = a.epochs;
    settings.fit.threshold_times = Some(a.threshold_times);
    settings.free_threshold_times = a.free_threshold_times;
    settings.anomaly_free = !a.no_anomaly_free;
    settings.recourse = a.recourse;
    settings.warmup = a.warmup;
    let report = remedy_eval::skab::run(&settings, &mut Bar::default())?;
    if let Some(path) = &a.report {
        let command: Vec<String> = std::env::args().collect();
        remedy_eval::html::skab_page(&report, &command.join(" ")).write(path)?;
    }
    let text = match a.format {
        ReportFormat::Json => json(&report),
        ReportFormat::Table => skab_table(&report),
    };
    emit(&text, None, &[])
}

fn skab_table(r: &remedy_eval::skab::SkabReport) -> String {
    let mut s = format!(
        "SKAB: {} experiments, each fitted on its first {} rows (window {}, seed {}), {:.0} s\n\n",
        r.experiments.len(),
        r.train_rows,
        r.window,
        r.seed,
        r.seconds
    );
    s.push_str("model                               folder    FAR %   MAR %     F1\n");
    let mut rows = |name: &str, m: &[(String, remedy_eval::skab::Metrics)]| {
        for (folder, x) in m {
            s.push_str(&format!(
                "{name:<35} {folder:<7} {:>7.2} {:>7.2} {:>6.3}\n",
                x.far, x.mar, x.f1
            ));
        }
    };
    rows("fitted on each file's first rows", &r.own);
    let free = if r.warmup > 0 {
        format!("anomaly-free file, warm-up {}", r.warmup)
    } else {
        "fitted on the anomaly-free file".to_string()
    };
    rows(&free, &r.anomaly_free);
    if !r.root_causes.is_empty() {
        s.push_str(
            "\nroot causes at each experiment's first alarm on a fault (per-file models): \
             share of the experiments naming each sensor\n",
        );
        s.push_str(&format!("{:<20}", "sensor"));
        for c in &r.root_causes {
            s.push_str(&format!(" {:>12}", format!("{} ({})", c.folder, c.judged)));
        }
        s.push('\n');
        for sensor in remedy_eval::skab::SENSORS {
            s.push_str(&format!("{sensor:<20}"));
            for c in &r.root_causes {
                let v = c.shares.get(sensor).copied().unwrap_or(f64::NAN);
                s.push_str(&format!(" {v:>12.2}"));
            }
            s.push('\n');
        }
    }
    if !r.recourse.is_empty() {
        s.push_str(
            "\nrecourse on the per-file models' alarms, in each model's GVAR world\n\
             method  flip ratio  cost (z)  cost (raw)  steps  abnormal series\n",
        );
        for name in remedy_eval::recad::METHODS {
            if let Some(m) = r.recourse.get(name) {
                s.push_str(&format!(
                    "{name:<7} {:>10.3} {:>9.3} {:>11.3} {:>6.2} {:>16}\n",
                    m.flip_ratio,
                    m.action_cost,
                    m.action_cost_raw,
                    m.action_steps,
                    m.abnormal_series
                ));
            }
        }
    }
    s.push_str("\nSKAB leaderboard (v1.0 README, outlier detection)   FAR %   MAR %\n");
    for (name, far, mar) in remedy_eval::skab::LEADERBOARD {
        s.push_str(&format!("{name:<51} {far:>6.2} {mar:>7.2}\n"));
    }
    s
}

/// `--dataset` of the tabular reproductions.
fn benchmark(d: TabularDataset) -> Benchmark {
    match d {
        TabularDataset::Loan => Benchmark::Loan,
        TabularDataset::Adult => Benchmark::Adult,
    }
}

/// `--detector` of the tabular reproductions.
fn tabular_detector(d: TabularDetectorArg) -> DetectorKind {
    match d {
        TabularDetectorArg::Ae => DetectorKind::Ae,
        TabularDetectorArg::Deepsvdd => DetectorKind::DeepSvdd,
    }
}

fn user_path(a: &UserPathArgs) -> Result<()> {
    let mut settings =
        UserPathSettings::new(benchmark(a.dataset), tabular_detector(a.detector), a.seed);
    settings.target = super::recommend::target_of(&a.target, a.alpha)?;
    if let Some(n) = a.train {
        settings.sizes.train = n;
    }
    if let Some(n) = a.test {
        settings.sizes.test_normal = n;
    }
    if let Some(n) = a.anomalies {
        settings.sizes.test_anomalous = n;
    }
    settings.fit.epochs = a.epochs;
    settings.fit.recourse = super::fit::recourse_of(a.recourse);
    settings.method = super::recommend::method_of(a.method);
    settings.learn_graph = a.learn_graph.map(|alpha| remedy_app::discover::PcConfig {
        alpha,
        ..Default::default()
    });
    let report = userpath::run(&settings, &mut Bar::default())?;
    if let Some(path) = &a.report {
        let command: Vec<String> = std::env::args().collect();
        remedy_eval::html::userpath_page(&report, &command.join(" ")).write(path)?;
    }
    let text = match a.format {
        ReportFormat::Json => json(&report),
        ReportFormat::Table => user_path_table(&report),
    };
    emit(&text, None, &[])
}

fn user_path_table(r: &UserPathReport) -> String {
    let mut s = format!(
        "{:?} / {:?}, seed {}: fit on {} normal rows ({:.1} s); recommend on {} test rows ({} anomalies): \
         {} flagged, {} of them true anomalies ({:.2} s); target {}\n\n",
        r.dataset,
        r.detector,
        r.seed,
        r.n_train,
        r.fit_seconds,
        r.n_test,
        r.n_anomalies,
        r.n_flagged,
        r.n_judged,
        r.recommend_seconds,
        r.target
    );
    if let Some(g) = &r.learnt_graph {
        s.push_str(&format!(
            "graph learnt from the training rows: {} edges against the true {} ({} missing, {} \
             extra, {} reversed): {}\n\n",
            g.learnt_edges,
            g.true_edges,
            g.missing,
            g.extra,
            g.reversed,
            g.edges.join(", ")
        ));
    }
    let j = &r.result;
    let b = &r.bound;
    s.push_str("on the flagged true anomalies       detector normal  detector normal  label recovered  both   ‖θ‖ recovered  ‖θ‖ all  features\n");
    s.push_str("                                        (model cf)            (SCM)            (SCM)  (SCM)           rows     rows\n");
    s.push_str(&format!(
        "recommend                          {:>15.3}  {:>15.3}  {:>15.3}  {:>5.3}  {:>13.3}  {:>7.3}  {:>8.2}\n",
        j.detector_flip,
        j.detector_flip_scm,
        j.label_flip,
        j.both_flip,
        j.action_norm,
        j.action_norm_all,
        j.features
    ));
    s.push_str(&format!(
        "least label-recovering action      {:>15}  {:>15}  {:>15.3}  {:>5}  {:>13.3}  {:>7.3}\n",
        "", "", b.recoverable, "", b.least_norm_recovered, b.least_norm
    ));
    s.push_str(&format!(
        "\n‖θ‖ on the recovered rows: {:.2}× the least action's on the same rows; {:.0}% of the actions from the recourse network\n",
        r.norm_ratio,
        100.0 * j.by_network
    ));
    s.push_str("bound: the least action on the same features that recovers the label on the exact SCM (Loan y > 0.9, Adult income ≤ median); norms in original units\n");
    if !r.root_causes.is_empty() {
        s.push_str(
            "\nroot causes of the flagged true anomalies   precision  recall     F1  exact set\n",
        );
        for c in &r.root_causes {
            s.push_str(&format!(
                "{:<42} {:>9.3}  {:>6.3}  {:>5.3}  {:>9.3}\n",
                c.rule, c.precision, c.recall, c.f1, c.exact_set
            ));
        }
    }
    s
}

fn anomaly_type(a: AnomalyKind) -> AnomalyType {
    match a {
        AnomalyKind::Point => AnomalyType::Point,
        AnomalyKind::Sequence => AnomalyType::Sequence,
        AnomalyKind::Causal => AnomalyType::Causal,
    }
}

fn recad(a: &RecadArgs) -> Result<()> {
    let dataset = match a.dataset {
        TsDatasetArg::Linear => TsBenchmark::Linear,
        TsDatasetArg::LotkaVolterra => TsBenchmark::LotkaVolterra,
    };
    let mut settings = RecadSettings::new(dataset, anomaly_type(a.anomaly), a.seed);
    if let Some(n) = a.train {
        settings.n_train = n;
    }
    if let Some(n) = a.test {
        settings.n_test = n;
    }
    if let Some(e) = a.epochs {
        settings.recad.train.epochs = e;
    }
    settings.horizon = a.horizon;
    settings.bounded = !a.unbounded;
    if let Some(m) = a.look_ahead {
        settings.recad.look_ahead = m;
    }
    if let Some(r) = a.rounds {
        settings.rounds = r;
    }
    let report = remedy_eval::recad::run(&settings, &mut Bar::default())?;
    if let Some(path) = &a.report {
        let command: Vec<String> = std::env::args().collect();
        remedy_eval::html::recad_page(&report, &command.join(" ")).write(path)?;
    }
    let text = match a.format {
        ReportFormat::Json => json(&report),
        ReportFormat::Table => recad_table(&report),
    };
    emit(&text, None, &[])
}

fn recad_table(r: &RecadReport) -> String {
    let d = &r.detection;
    let mut s = format!(
        "{} / {} anomalies, seed {}: {} series train the recourse network ({} windows), {} evaluate, {:.1} s\n\n",
        r.dataset,
        r.anomaly,
        r.seed,
        r.n_recourse_train,
        r.n_training_windows,
        r.n_recourse_test,
        r.seconds
    );
    s.push_str(&format!(
        "detection (USAD, windows): F1 {:.3}  AUROC {:.3}  AUPRC {:.3}  threshold {:.4}\n",
        d.f1, d.auroc, d.auprc, d.threshold
    ));
    s.push_str(&format!(
        "GVAR Granger-graph AUROC: {:.3}\n\n",
        r.granger_auroc
    ));
    if let Some(c) = &r.root_causes {
        s.push_str(&format!(
            "root causes at the first alarm of {} of {} abnormal series ({:.2} shocked variables each)\n",
            c.judged, c.series, c.true_size
        ));
        s.push_str("rule                 precision  recall     F1  exact set  named\n");
        for (name, m) in c.rules() {
            s.push_str(&format!(
                "{name:<19}  {:>9.3}  {:>6.3}  {:>5.3}  {:>9.3}  {:>5.2}\n",
                m.precision, m.recall, m.f1, m.exact_set, m.named
            ));
        }
        s.push('\n');
    }
    s.push_str("method  flip ratio  action cost  cost (raw)  action steps  series normal  actions  series\n");
    for name in remedy_eval::recad::METHODS {
        if let Some(m) = r.methods.get(name) {
            s.push_str(&format!(
                "{name:<6}  {:>10.3}  {:>11.3}  {:>10.3}  {:>12.2}  {:>13.3}  {:>7}  {:>6}\n",
                m.flip_ratio,
                m.action_cost,
                m.action_cost_raw,
                m.action_steps,
                m.series_normal,
                m.actions,
                m.abnormal_series
            ));
        }
    }
    s.push_str("\naction cost: mean of θ² over the variables (z-space; raw: original units), summed per series\n");
    s.push_str(if r.bounded {
        "actions held within each variable's range in the normal training series (--unbounded lifts it)\n"
    } else {
        "actions unbounded\n"
    });
    s
}

fn root_clam(a: &RootClamArgs) -> Result<()> {
    let dataset = benchmark(a.dataset);
    let mut mitigation = rootclam::default_mitigation(dataset);
    if let Some(l) = a.lambda {
        mitigation.lambda = l;
    }
    if let Some(al) = a.alpha {
        mitigation.alpha = al;
    }
    if let Some(e) = a.epochs {
        mitigation.train.epochs = e;
    }
    mitigation.max_action = a.max_action;
    mitigation.validate()?;
    let settings = RootClamSettings {
        dataset,
        detector: tabular_detector(a.detector),
        seed: a.seed,
        pi: a.pi,
        neighbours: a.neighbours,
        mitigation: Some(mitigation),
        per_row: a.per_row,
        locator: locator_kind(a.locator),
        sweeps: a
            .sweep
            .iter()
            .map(|s| match s {
                SweepArg::Lambda => Sweep::Lambda,
                SweepArg::Alpha => Sweep::Alpha,
                SweepArg::Pi => Sweep::Pi,
            })
            .collect(),
        scale: if a.reduced {
            Scale::Reduced
        } else {
            Scale::Full
        },
    };
    let report = rootclam::run(&settings, &mut Bar::default())?;
    if let Some(path) = &a.report {
        let command: Vec<String> = std::env::args().collect();
        remedy_eval::html::rootclam_page(&report, &command.join(" ")).write(path)?;
    }
    let text = match a.format {
        ReportFormat::Json => json(&report),
        ReportFormat::Table => root_clam_table(&report),
    };
    emit(&text, None, &[])
}

fn root_clam_table(r: &RootClamReport) -> String {
    let mut s = format!(
        "{:?} / {:?}, seed {}: {} flagged, {} training anomalies, {} test anomalies, {:.1} s\n\n",
        r.dataset, r.detector, r.seed, r.n_flagged, r.n_train, r.n_test, r.seconds
    );
    if r.neighbours > 0 {
        s.push_str(&format!(
            "root causes against the {} normal rows with the nearest parents (--neighbours 0: the paper's rule)\n\n",
            r.neighbours
        ));
    }
    s.push_str("method         flip Ŷ (model)  flip Ŷ (SCM)  flip Y (SCM)  ‖θ‖ flipped  ‖θ‖ all  features  seconds\n");
    for (name, m) in &r.methods {
        s.push_str(&format!(
            "{name:<13}  {:>14.3}  {:>12.3}  {:>12.3}  {:>11.3}  {:>7.3}  {:>8.2}  {:>7.1}\n",
            m.flip_ratio_yhat,
            m.flip_ratio_yhat_scm,
            m.flip_ratio_y,
            m.action_norm,
            m.action_norm_all,
            m.features_acted,
            m.seconds
        ));
    }
    for (name, m) in &r.methods {
        if let Some(e) = &m.cf_error {
            s.push_str(&format!(
                "\n{name}: own (VACA) vs exact SCM counterfactual per feature (continuous: rms sds; others: share differing):\n "
            ));
            for f in e {
                s.push_str(&format!(" {} {:.3}", f.feature, f.error));
            }
            s.push('\n');
        }
    }
    if !r.bounds.is_empty() {
        s.push_str("\nbound: the least action on a feature set that recovers Y on the exact SCM (needs the true SCM)\n");
        s.push_str("acting on      recoverable  least ‖θ‖  least mean ‖θ‖ for 95%  detector normal  features  seconds\n");
        for (name, b) in &r.bounds {
            let at95 = b
                .least_norm_95
                .map_or_else(|| "unreachable".to_string(), |v| format!("{v:.3}"));
            s.push_str(&format!(
                "{name:<13}  {:>11.3}  {:>9.3}  {:>22}  {:>15.3}  {:>8.2}  {:>7.1}\n",
                b.recoverable, b.least_norm, at95, b.detector_normal, b.features, b.seconds
            ));
        }
    }
    if let Some(c) = r.cases.first() {
        s.push('\n');
        s.push_str(&case_table(c));
    }
    s.push_str("\npaper (Table 4)\n");
    for (name, p) in &r.paper {
        s.push_str(&format!(
            "{name:<13}  {:>14.3}  {:>12}  {:>12.3}  {:>11.3}\n",
            p.flip_ratio_yhat, "", p.flip_ratio_y, p.action_norm
        ));
    }
    s
}

/// One case as the paper's Tables 5-6: the factual, then per method its action, its own
/// counterfactual and the exact SCM's, in original units.
fn case_table(c: &rootclam::CaseStudy) -> String {
    let mut s = format!(
        "case: test anomaly {}, located root causes {} (true: {}); original units, last column the label\n",
        c.row,
        c.located.join(", "),
        c.truth.join(", ")
    );
    let line = |label: &str, values: &[f64], note: &str| -> String {
        let mut l = format!("{label:<22}");
        for v in values {
            if *v == 0.0 && label.ends_with("action") {
                l.push_str(&format!("{:>11}", "."));
            } else {
                l.push_str(&format!("{v:>11.3}"));
            }
        }
        if !note.is_empty() {
            l.push_str("  ");
            l.push_str(note);
        }
        l.push('\n');
        l
    };
    s.push_str(&format!("{:<22}", ""));
    for col in &c.columns {
        s.push_str(&format!("{col:>11}"));
    }
    s.push('\n');
    s.push_str(&line("x", &c.factual, ""));
    let verdict = |normal: bool| if normal { "normal" } else { "abnormal" };
    for (name, m) in &c.methods {
        s.push_str(&line(&format!("{name} action"), &m.action, ""));
        s.push_str(&line(
            "  own counterfactual",
            &m.own,
            &format!("detector: {}", verdict(m.normal_own)),
        ));
        s.push_str(&line(
            "  SCM counterfactual",
            &m.scm,
            &format!(
                "detector: {}, label {}",
                verdict(m.normal_scm),
                if m.recovered {
                    "recovered"
                } else {
                    "not recovered"
                }
            ),
        ));
    }
    s
}

fn json<T: serde::Serialize>(report: &T) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a report serialises");
    s.push('\n');
    s
}

fn locator_kind(l: LocatorArg) -> LocatorKind {
    match l {
        LocatorArg::Vaca => LocatorKind::Vaca,
        LocatorArg::Anm => LocatorKind::Anm,
        LocatorArg::Shapley => LocatorKind::Shapley,
        LocatorArg::Oracle => LocatorKind::Oracle,
    }
}

fn root_cause(a: &RootCauseArgs) -> Result<()> {
    if !(a.pi > 0.0 && a.pi < 0.5) {
        return Err(remedy_core::Error::invalid(format!(
            "--pi {}: the tail probability must lie strictly between 0 and 0.5",
            a.pi
        )));
    }
    let settings = RootCauseSettings {
        dataset: benchmark(a.dataset),
        detector: tabular_detector(a.detector),
        locator: locator_kind(a.locator),
        seed: a.seed,
        pi: a.pi,
        neighbours: a.neighbours,
    };
    let report = rootcause::run(settings, &mut Bar::default())?;
    let text = match a.format {
        ReportFormat::Json => json(&report),
        ReportFormat::Table => root_cause_table(&report),
    };
    emit(&text, None, &[])
}

fn root_cause_table(r: &RootCauseReport) -> String {
    let mut s = format!(
        "{:?} / {:?} / {:?} locator, seed {}, pi {}: {} flagged rows, {} evaluated anomalies, candidates {}\n",
        r.dataset,
        r.detector,
        r.locator,
        r.seed,
        r.pi,
        r.n_flagged,
        r.n_rows,
        r.candidates.join(", ")
    );
    if r.locator != LocatorKind::Shapley {
        s.push_str(&if r.neighbours > 0 {
            format!(
                "reference: the {} normal rows with the nearest parents (--neighbours 0: all, the paper's rule)\n",
                r.neighbours
            )
        } else {
            "reference: all normal rows (the paper's rule)\n".to_string()
        });
    }
    s.push_str(&format!(
        "time: detector {:.1} s, causal model {:.1} s, locating {:.1} s\n\n",
        r.detector_seconds, r.causal_seconds, r.locate_seconds
    ));
    s.push_str("                    Acc    Pre    Rec     F1  Exact  Acc(all features)\n");
    s.push_str(&format!(
        "remedy            {:.3}  {:.3}  {:.3}  {:.3}  {:.3}  {:.3}\n",
        r.accuracy, r.precision, r.recall, r.f1, r.exact_set_accuracy, r.paper_accuracy
    ));
    let q = &r.random;
    s.push_str(&format!(
        "random, same rate {:.3}  {:.3}  {:.3}  {:.3}  {:.3}  {:.3}\n",
        q.accuracy, q.precision, q.recall, q.f1, q.exact_set_accuracy, q.paper_accuracy
    ));
    if let Some(p) = r.paper {
        s.push_str(&format!(
            "paper (RootCLAM)                 {:.3}  {:.3}  {:.3}         {:.3}  (Table 3; chance level, see docs)\n",
            p.precision, p.recall, p.f1, p.accuracy
        ));
    }
    s.push_str(&format!(
        "\ncounterfactual MSE vs exact SCM: {:.4} (encoded units), {:.4} (original units); paper: {}\n",
        r.cf_mse,
        r.cf_mse_raw,
        match r.dataset {
            Benchmark::Loan => "3.976",
            _ => "3.334",
        }
    ));
    s
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
    let anomaly = a.anomaly.map(anomaly_type);
    let report = detection::run(dataset, detector, a.seed, anomaly, &mut Bar::default())?;
    let text = match a.format {
        ReportFormat::Json => json(&report),
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
    if let Some(m) = r.reference_set {
        s.push_str(&format!(
            "reference's set  {:.3}   {:.3}   {:.3}   (first group only, as the reference evaluates)\n",
            m.f1, m.auroc, m.auprc
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Paper Table 5 (Loan, AE): the factual and RootCLAM's action on L, D with its Eq. 2 and
    /// SCM rows.
    #[test]
    fn a_case_prints_like_the_papers_table() {
        let case = rootclam::CaseStudy {
            row: 4,
            columns: ["L", "D", "y"].map(String::from).to_vec(),
            factual: vec![2.423, 5.634, 0.037],
            located: vec!["L".to_string(), "D".to_string()],
            truth: vec!["L".to_string(), "D".to_string()],
            methods: BTreeMap::from([(
                "rootclam".to_string(),
                rootclam::CaseAction {
                    action: vec![-5.958, 0.0],
                    own: vec![-3.125, -9.154, 0.954],
                    scm: vec![-3.534, -11.659, 0.976],
                    normal_own: true,
                    normal_scm: false,
                    recovered: true,
                },
            )]),
        };
        let text = case_table(&case);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("case: test anomaly 4, located root causes L, D"));
        assert!(lines[2].starts_with("x") && lines[2].contains("5.634"));
        // A zero action prints as a dot, not as 0.000.
        assert!(lines[3].contains("-5.958") && lines[3].trim_end().ends_with('.'));
        assert!(lines[4].contains("-9.154") && lines[4].ends_with("detector: normal"));
        assert!(lines[5].ends_with("detector: abnormal, label recovered"));
    }
}
