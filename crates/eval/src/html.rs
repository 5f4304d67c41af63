//! HTML pages for reproduction runs: the tables beside the paper's, and the sweep plots (paper
//! Figs. 3-5) as inline SVG, in one self-contained file.

use remedy_report::svg::{BarChart, LinePlot, ScatterPlot};
use remedy_report::{Cell, HtmlTable, Report};

use crate::rootclam::{RootClamReport, Sweep};
pub use crate::skab_page::skab_page;

fn fmt(v: f64) -> Cell {
    Cell::num(v, 3)
}

/// The page of a `reproduce rootclam` run; `command` is recorded as metadata.
pub fn rootclam_page(r: &RootClamReport, command: &str) -> Report {
    let mut page = Report::new(format!("RootCLAM on {:?} with {:?}", r.dataset, r.detector));
    page.subtitle("Detect, locate root causes, mitigate, and judge the actions on the exact SCM")
        .meta("command", command)
        .meta("seed", r.seed.to_string())
        .meta("π", r.pi.to_string())
        .meta(
            "root-cause reference",
            if r.neighbours == 0 {
                "all normal rows (the paper's rule)".to_string()
            } else {
                format!("the {} normal rows with the nearest parents", r.neighbours)
            },
        )
        .meta("λ", r.mitigation.lambda.to_string())
        .meta("α", r.mitigation.alpha.to_string())
        .meta("wall time", format!("{:.1} s", r.seconds));
    page.section("Summary").summary([
        ("test rows flagged by the detector", r.n_flagged.to_string()),
        ("anomalies training h_φ", r.n_train.to_string()),
        ("test anomalies", r.n_test.to_string()),
    ]);
    let mut table = HtmlTable::new([
        "method",
        "flip Ŷ (own cf)",
        "flip Ŷ (SCM)",
        "flip Y (SCM)",
        "‖θ‖ flipped",
        "‖θ‖ all",
        "features acted",
        "seconds",
    ]);
    for (name, m) in &r.methods {
        table = table.row([
            Cell::text(name.as_str()),
            fmt(m.flip_ratio_yhat),
            fmt(m.flip_ratio_yhat_scm),
            fmt(m.flip_ratio_y),
            fmt(m.action_norm),
            fmt(m.action_norm_all),
            Cell::num(m.features_acted, 2),
            Cell::num(m.seconds, 1),
        ]);
    }
    page.section("Mitigation (paper Table 4)").table(
        table.highlight_max(3).caption(
            "Flips on Y are measured on the exact SCM counterfactual of each method's actions; norms in original units.",
        ),
    );
    if !r.bounds.is_empty() {
        let mut bound = HtmlTable::new([
            "acting on",
            "recoverable",
            "least ‖θ‖",
            "least mean ‖θ‖ for 95%",
            "detector normal",
            "features",
            "seconds",
        ]);
        for (name, b) in &r.bounds {
            bound = bound.row([
                Cell::text(name.as_str()),
                fmt(b.recoverable),
                fmt(b.least_norm),
                b.least_norm_95
                    .map_or_else(|| Cell::text("unreachable"), fmt),
                fmt(b.detector_normal),
                Cell::num(b.features, 2),
                Cell::num(b.seconds, 1),
            ]);
        }
        page.table(bound.caption(
            "Ground-truth bound: for each test anomaly, the least action on the feature set (its located root causes, or every actionable feature) that recovers the true label on the exact SCM. No method acting on that set can flip more rows on Y, nor flip 95% of them at a lower mean norm.",
        ));
    }
    let with_error: Vec<(&String, &Vec<crate::rootclam::FeatureError>)> = r
        .methods
        .iter()
        .filter_map(|(name, m)| m.cf_error.as_ref().map(|e| (name, e)))
        .collect();
    if let Some((_, first)) = with_error.first() {
        let mut header = vec!["feature".to_string(), "measure".to_string()];
        header.extend(with_error.iter().map(|(name, _)| (*name).clone()));
        let mut table = HtmlTable::new(header);
        for (k, f) in first.iter().enumerate() {
            let measure = if f.continuous {
                "rms difference (sds)"
            } else {
                "share differing"
            };
            let mut row = vec![Cell::text(f.feature.as_str()), Cell::text(measure)];
            row.extend(
                with_error
                    .iter()
                    .map(|(_, e)| e.get(k).map_or(Cell::Empty, |v| fmt(v.error))),
            );
            table = table.row(row);
        }
        page.table(table.caption(
            "How far the causal model's counterfactual (VACA) is from the exact SCM's for the same actions: the share of rows that differ for a binary or categorical feature, the root mean squared difference in sds for a continuous one.",
        ));
    }
    let mut paper = HtmlTable::new(["method", "flip Ŷ", "flip Y", "‖c·θ‖₂"]);
    for (name, p) in &r.paper {
        paper = paper.row([
            Cell::text(name.as_str()),
            fmt(p.flip_ratio_yhat),
            fmt(p.flip_ratio_y),
            fmt(p.action_norm),
        ]);
    }
    page.table(paper.caption(
        "The paper's Table 4. Its anomaly set holds only the first group (a cache collision in the reference) and its Adult counterfactual sets rather than shifts; see docs/RESULTS.md.",
    ));
    let names: Vec<&str> = r.methods.keys().map(String::as_str).collect();
    let pick = |f: fn(&crate::rootclam::MethodResult) -> f64| -> Vec<f64> {
        r.methods.values().map(f).collect()
    };
    page.plot(
        &BarChart::new("Flip ratios")
            .categories(names.clone())
            .series("Ŷ (own cf)", pick(|m| m.flip_ratio_yhat))
            .series("Ŷ (SCM)", pick(|m| m.flip_ratio_yhat_scm))
            .series("Y (SCM)", pick(|m| m.flip_ratio_y))
            .y_label("share of test anomalies"),
        "How often each method's actions make the row normal: for the detector on its own counterfactual, for the detector on the exact one, and for the true label.",
    );
    cases(&mut page, r);
    sweeps(&mut page, r);
    page
}

/// The case rows (paper Tables 5-6): per case, the factual and each method's action, its own
/// counterfactual and the exact SCM's.
fn cases(page: &mut Report, r: &RootClamReport) {
    if r.cases.is_empty() {
        return;
    }
    page.section("Cases (paper Tables 5-6)");
    for c in &r.cases {
        let mut header = vec!["row".to_string()];
        header.extend(c.columns.iter().cloned());
        header.push("detector".to_string());
        let mut table = HtmlTable::new(header);
        let row = |label: String, values: &[f64], verdict: &str| -> Vec<Cell> {
            let mut cells = vec![Cell::text(label)];
            cells.extend(values.iter().map(|&v| fmt(v)));
            // An action has no label column.
            cells.resize(c.columns.len() + 1, Cell::Empty);
            cells.push(Cell::text(verdict));
            cells
        };
        table = table.row(row("x".to_string(), &c.factual, "abnormal"));
        let verdict = |n: bool| if n { "normal" } else { "abnormal" };
        for (name, m) in &c.methods {
            table = table
                .row(row(format!("{name}: action"), &m.action, ""))
                .row(row(
                    format!("{name}: own counterfactual"),
                    &m.own,
                    verdict(m.normal_own),
                ))
                .row(row(
                    format!(
                        "{name}: SCM counterfactual ({})",
                        if m.recovered {
                            "label recovered"
                        } else {
                            "label not recovered"
                        }
                    ),
                    &m.scm,
                    verdict(m.normal_scm),
                ));
        }
        page.table(table.caption(format!(
            "Test anomaly {}: located root causes {} (true: {}). Original units; the last value column is the label. Actions are zero off the features acted on.",
            c.row,
            c.located.join(", "),
            c.truth.join(", ")
        )));
    }
}

fn sweeps(page: &mut Report, r: &RootClamReport) {
    if r.sweeps.is_empty() {
        return;
    }
    page.section("Sweeps (paper Figs. 3-5)");
    for sweep in [Sweep::Lambda, Sweep::Alpha, Sweep::Pi] {
        let points: Vec<_> = r.sweeps.iter().filter(|p| p.parameter == sweep).collect();
        if points.is_empty() {
            continue;
        }
        let mut methods: Vec<&str> = points.iter().map(|p| p.method.as_str()).collect();
        methods.dedup();
        match sweep {
            Sweep::Lambda => {
                let mut plot = ScatterPlot::new("λ sweep: flip ratio against action norm")
                    .x_label("mean ‖θ‖ (original units)")
                    .y_label("flip ratio on Y (SCM)");
                for m in &methods {
                    plot = plot.labelled_series(
                        *m,
                        points.iter().filter(|p| p.method == *m).map(|p| {
                            (
                                p.result.action_norm_all,
                                p.result.flip_ratio_y,
                                format!("{:e}", p.value),
                            )
                        }),
                    );
                }
                page.plot(&plot, "Each point is one λ (paper Fig. 3); labels give λ.");
            }
            Sweep::Alpha | Sweep::Pi => {
                let label = if sweep == Sweep::Alpha { "α" } else { "π" };
                let mut plot = LinePlot::new(format!("{label} sweep"))
                    .x_label(label)
                    .y_label("ratio")
                    .markers(true);
                plot = plot
                    .series(
                        "flip Y (SCM)",
                        points.iter().map(|p| (p.value, p.result.flip_ratio_y)),
                    )
                    .series(
                        "flip Ŷ (own cf)",
                        points.iter().map(|p| (p.value, p.result.flip_ratio_yhat)),
                    );
                if sweep == Sweep::Pi {
                    plot = plot
                        .series(
                            "root-cause recall",
                            points
                                .iter()
                                .filter_map(|p| p.root_cause_recall.map(|v| (p.value, v))),
                        )
                        .series(
                            "root-cause precision",
                            points
                                .iter()
                                .filter_map(|p| p.root_cause_precision.map(|v| (p.value, v))),
                        );
                }
                let caption = if sweep == Sweep::Alpha {
                    "RootCLAM's flip ratios as the hinge moves from 0 to τ (paper Fig. 4)."
                } else {
                    "RootCLAM's flip ratios and the located root causes' recall and precision as π grows (paper Fig. 5)."
                };
                page.plot(&plot, caption);
            }
        }
    }
}

/// The page of a `reproduce recad` run: detection, Granger AUROC, the recourse table (paper
/// Tables 3-4) and one case drawn like the paper's Figs. 4-5 (observed series, actions and
/// counterfactual continuation of the variables the event hit).
pub fn recad_page(r: &crate::recad::RecadReport, command: &str) -> Report {
    use remedy_report::svg::{Panel, Series, TimeSeriesPanel};
    let mut page = Report::new(format!("RecAD on {} ({} anomalies)", r.dataset, r.anomaly));
    page.subtitle("Detect with USAD, act with RecAD and four predictor baselines, judge the actions in the exact world")
        .meta("command", command)
        .meta("seed", r.seed.to_string())
        .meta("wall time", format!("{:.1} s", r.seconds));
    let d = &r.detection;
    page.section("Summary").summary([
        (
            "series training the recourse network",
            r.n_recourse_train.to_string(),
        ),
        ("windows it learnt from", r.n_training_windows.to_string()),
        ("evaluation series", r.n_recourse_test.to_string()),
        (
            "USAD window F1 / AUROC / AUPRC",
            format!("{:.3} / {:.3} / {:.3}", d.f1, d.auroc, d.auprc),
        ),
        ("threshold τ", format!("{:.4}", d.threshold)),
        (
            "GVAR Granger-graph AUROC",
            format!("{:.3}", r.granger_auroc),
        ),
    ]);
    let mut table = HtmlTable::new([
        "method",
        "flip ratio",
        "action cost",
        "cost (raw units)",
        "action steps",
        "series left normal",
        "actions",
    ]);
    for name in crate::recad::METHODS {
        if let Some(m) = r.methods.get(name) {
            table = table.row([
                Cell::text(name),
                fmt(m.flip_ratio),
                fmt(m.action_cost),
                fmt(m.action_cost_raw),
                Cell::num(m.action_steps, 2),
                fmt(m.series_normal),
                Cell::num(m.actions as f64, 0),
            ]);
        }
    }
    if let Some(c) = &r.root_causes {
        let mut causes = HtmlTable::new([
            "rule",
            "precision",
            "recall",
            "F1",
            "exact set",
            "variables named",
        ]);
        for (name, m) in c.rules() {
            causes = causes.row([
                Cell::text(name),
                fmt(m.precision),
                fmt(m.recall),
                fmt(m.f1),
                fmt(m.exact_set),
                Cell::num(m.named, 2),
            ]);
        }
        page.section("Root-cause variables per alarm").table(causes.highlight_max(3).caption(
            format!(
                "At the first alarm of {} of {} abnormal series whose window holds an event step, against the {:.2} shocked variables per series; Holm at α = 0.01 over the variables, at least one.",
                c.judged, c.series, c.true_size
            ),
        ));
    }
    page.section("Recourse (paper Tables 3-4)").table(
        table.highlight_max(1).caption(
            "Flip ratio per acted step; cost = Σ mean_j θ_j² per abnormal series (z-space unless noted); steps per abnormal series.",
        ),
    );
    if let Some(c) = &r.case {
        let mut fig = TimeSeriesPanel::new(format!("Evaluation series {}", c.series))
            .x_label("step")
            .shade_label("event");
        if let (Some(lo), Some(hi)) = (c.event_steps.first(), c.event_steps.last()) {
            fig = fig.shade_x(*lo as f64 - 0.5, *hi as f64 + 0.5);
        }
        for (t, _) in &c.actions {
            fig = fig.vline(*t as f64, "RecAD acts");
        }
        let column =
            |rows: &[Vec<f64>], j: usize| -> Vec<f64> { rows.iter().map(|r| r[j]).collect() };
        for &j in c.root_causes.iter().take(4) {
            fig = fig.panel(
                Panel::new(c.names[j].as_str())
                    .with_series(Series::from_values("observed", &column(&c.observed, j)))
                    .with_series(
                        Series::from_values("anomaly-free", &column(&c.normal, j)).dashed(),
                    )
                    .with_series(Series::from_values("RecAD", &column(&c.recad, j)))
                    .with_series(
                        Series::from_values("GVAR baseline", &column(&c.gvar, j)).dashed(),
                    ),
            );
        }
        page.section("A case (paper Figs. 4-5)").plot(
            &fig,
            "The event's root-cause variables: the observed series, its anomaly-free counterpart, and the world after each method's actions (raw units).",
        );
        let mut acts = HtmlTable::new(["step", "θ (raw units)"]);
        for (t, theta) in &c.actions {
            let text: Vec<String> = theta
                .iter()
                .zip(&c.names)
                .filter(|(v, _)| v.abs() > 1e-9)
                .map(|(v, n)| format!("{n} {v:+.3}"))
                .collect();
            acts = acts.row([Cell::num(*t as f64, 0), Cell::text(text.join(", "))]);
        }
        page.table(acts.caption("RecAD's actions on this series"));
    }
    page
}

/// The page of a `reproduce recommend` run; `command` is recorded as metadata.
pub fn userpath_page(r: &crate::userpath::UserPathReport, command: &str) -> Report {
    let mut page = Report::new(format!(
        "remedy recommend on {:?} with {:?}, judged on the exact SCM",
        r.dataset, r.detector
    ));
    page.subtitle(
        "fit on the normal rows, recommend on the test rows, every action applied to the true SCM",
    )
    .meta("command", command)
    .meta("seed", r.seed.to_string())
    .meta("target", r.target.as_str())
    .meta("wall time", format!("{:.1} s", r.seconds));
    page.section("Summary").summary([
        ("normal training rows", r.n_train.to_string()),
        (
            "test rows (anomalies)",
            format!("{} ({})", r.n_test, r.n_anomalies),
        ),
        (
            "test rows flagged by the fitted detector",
            r.n_flagged.to_string(),
        ),
        ("true anomalies among them (judged)", r.n_judged.to_string()),
        ("fit", format!("{:.1} s", r.fit_seconds)),
        ("recommend", format!("{:.2} s", r.recommend_seconds)),
    ]);
    let j = &r.result;
    let b = &r.bound;
    let table = HtmlTable::new([
        "",
        "detector normal (model cf)",
        "detector normal (SCM)",
        "label recovered (SCM)",
        "both (SCM)",
        "‖θ‖ recovered rows",
        "‖θ‖ all rows",
        "features",
    ])
    .row([
        Cell::text("recommend"),
        fmt(j.detector_flip),
        fmt(j.detector_flip_scm),
        fmt(j.label_flip),
        fmt(j.both_flip),
        fmt(j.action_norm),
        fmt(j.action_norm_all),
        Cell::num(j.features, 2),
    ])
    .row([
        Cell::text("least label-recovering action (bound)"),
        Cell::text(""),
        Cell::text(""),
        fmt(b.recoverable),
        Cell::text(""),
        fmt(b.least_norm_recovered),
        fmt(b.least_norm),
        Cell::text(""),
    ])
    .caption(
        "The bound acts on the same features as each recommendation; its ‖θ‖ on the recovered \
         rows is taken over the rows the recommendation recovered, its ‖θ‖ on all rows over \
         the rows it can recover. Norms in original units.",
    );
    page.section("Recommendations in the real world")
        .table(table);
    if !r.root_causes.is_empty() {
        let mut causes = HtmlTable::new(["rule", "precision", "recall", "F1", "exact set"]);
        for c in &r.root_causes {
            causes = causes.row([
                Cell::text(c.rule.as_str()),
                fmt(c.precision),
                fmt(c.recall),
                fmt(c.f1),
                fmt(c.exact_set),
            ]);
        }
        page.section("Root causes").table(causes.caption(
            "The judged rows' root-cause sets against the true ones, over the model's \
             candidate (actionable) features.",
        ));
    }
    page
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::detection::{Benchmark, DetectorKind};
    use crate::rootclam::{
        CaseAction, CaseStudy, FeatureError, LabelBound, MethodResult, default_mitigation,
    };

    fn report() -> RootClamReport {
        let method = MethodResult {
            flip_ratio_yhat: 1.0,
            flip_ratio_yhat_scm: 0.989,
            flip_ratio_y: 0.529,
            action_norm: 23.78,
            action_norm_all: 23.39,
            features_acted: 2.74,
            cf_error: Some(vec![
                FeatureError {
                    feature: "G".to_string(),
                    error: 0.0,
                    continuous: false,
                },
                FeatureError {
                    feature: "L".to_string(),
                    error: 0.12,
                    continuous: true,
                },
            ]),
            seconds: 42.0,
        };
        let bound = |recoverable: f64, least_norm_95: Option<f64>| LabelBound {
            recoverable,
            least_norm: 13.5,
            least_norm_95,
            detector_normal: 0.48,
            features: 2.74,
            seconds: 1.2,
        };
        RootClamReport {
            dataset: Benchmark::Loan,
            detector: DetectorKind::Ae,
            seed: 1,
            pi: 0.125,
            neighbours: 0,
            n_flagged: 987,
            n_train: 790,
            n_test: 187,
            methods: BTreeMap::from([("rootclam".to_string(), method)]),
            paper: BTreeMap::new(),
            mitigation: default_mitigation(Benchmark::Loan),
            sweeps: vec![],
            cases: vec![CaseStudy {
                row: 0,
                columns: ["L", "D", "y"].map(String::from).to_vec(),
                factual: vec![2.423, 5.634, 0.037],
                located: vec!["L".to_string(), "D".to_string()],
                truth: vec!["D".to_string()],
                methods: BTreeMap::from([(
                    "rootclam".to_string(),
                    CaseAction {
                        action: vec![-5.958, -11.336],
                        own: vec![-3.125, -9.154, 0.954],
                        scm: vec![-3.534, -11.659, 0.976],
                        normal_own: true,
                        normal_scm: true,
                        recovered: true,
                    },
                )]),
            }],
            bounds: BTreeMap::from([
                ("actionable".to_string(), bound(1.0, Some(3.137))),
                ("root-causes".to_string(), bound(0.355, None)),
            ]),
            seconds: 110.0,
        }
    }

    #[test]
    fn the_page_shows_the_bound_and_an_unreachable_share() {
        let html = rootclam_page(&report(), "remedy reproduce rootclam").render();
        assert!(html.contains("Ground-truth bound"));
        assert!(html.contains("root-causes"));
        assert!(html.contains("3.137"));
        assert!(
            html.contains("unreachable"),
            "95% cannot flip when 35.5% are recoverable"
        );
        // The case rows (values from paper Table 5's RootCLAM / AE rows).
        assert!(html.contains("Cases (paper Tables 5-6)"));
        assert!(html.contains("rootclam: SCM counterfactual (label recovered)"));
        assert!(html.contains("-11.659"));
        assert!(html.contains("counterfactual (VACA) is from the exact SCM"));
    }

    #[test]
    fn a_report_without_bounds_still_reads() {
        let mut r = report();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["bounds"]["root-causes"]["least_norm_95"],
            serde_json::Value::Null
        );
        assert_eq!(json["bounds"]["actionable"]["least_norm_95"], 3.137);
        r.bounds.clear();
        let text = serde_json::to_string(&r).unwrap();
        assert!(!text.contains("bounds"));
        let back: RootClamReport = serde_json::from_str(&text).unwrap();
        assert_eq!(back, r);
    }
}
