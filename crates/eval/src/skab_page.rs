//! The HTML page of a `reproduce skab` run: detection beside SKAB's leaderboard, the sensors
//! named as root causes at each experiment's first alarm on a fault, the Granger graph GVAR
//! learnt on the anomaly-free recording, one experiment's case figure, and recourse when run.

use remedy_report::svg::{DagPlot, Panel, Series, TimeSeriesPanel};
use remedy_report::{Cell, HtmlTable, Report};

use crate::skab::{LEADERBOARD, Metrics, SENSORS, SkabReport};

fn fmt(v: f64, decimals: usize) -> Cell {
    Cell::num(v, decimals)
}

/// The page; `command` is recorded as metadata.
pub fn skab_page(r: &SkabReport, command: &str) -> Report {
    let mut page = Report::new("Remedy on SKAB (real sensor data)");
    page.subtitle(
        "ts fit on each experiment's first rows, ts monitor over the rest, judged by SKAB's outlier metrics",
    )
    .meta("command", command)
    .meta("seed", r.seed.to_string())
    .meta("window", r.window.to_string())
    .meta("wall time", format!("{:.0} s", r.seconds));
    let mut table = HtmlTable::new(["model", "folder", "FAR %", "MAR %", "F1"]);
    let free = format!("anomaly-free recording, warm-up {}", r.warmup);
    let runs: [(&str, &[(String, Metrics)]); 2] = [
        ("fitted on each file's first rows", &r.own),
        (free.as_str(), &r.anomaly_free),
    ];
    for (name, rows) in runs {
        for (folder, m) in rows {
            table = table.row([
                Cell::text(name),
                Cell::text(folder.as_str()),
                fmt(m.far, 2),
                fmt(m.mar, 2),
                fmt(m.f1, 3),
            ]);
        }
    }
    for (name, far, mar) in LEADERBOARD {
        table = table.row([
            Cell::text(format!("leaderboard: {name}")),
            Cell::text("all"),
            fmt(far, 2),
            fmt(mar, 2),
            Cell::text(""),
        ]);
    }
    page.section("Detection").table(table.caption(
        "FAR = FP / (FP + TN), MAR = FN / (FN + TP) over the scored steps of the experiments pooled (SKAB's definitions); the leaderboard rows are SKAB v1.0's outlier-detection table.",
    ));
    if !r.root_causes.is_empty() {
        let mut header = vec!["sensor".to_string()];
        header.extend(
            r.root_causes
                .iter()
                .map(|c| format!("{} ({} experiments)", c.folder, c.judged)),
        );
        let mut causes = HtmlTable::new(header);
        for sensor in SENSORS {
            let mut row = vec![Cell::text(sensor)];
            row.extend(
                r.root_causes
                    .iter()
                    .map(|c| fmt(c.shares.get(sensor).copied().unwrap_or(f64::NAN), 2)),
            );
            causes.push_row(row);
        }
        page.section("Root-cause sensors").table(causes.caption(
            "Share of the experiments whose first alarm on a labelled step named the sensor: the sensors whose GVAR innovation was abnormal in the flagged window (Holm at α = 0.01, at least one). SKAB labels faults, not sensors, so this is what a person would check, not a score.",
        ));
    }
    if let Some(g) = &r.granger {
        let plot = DagPlot::new(g.names.iter().cloned(), g.edges.iter().copied())
            .title("Granger graph learnt on the anomaly-free recording");
        page.section("Granger graph").plot(
            &plot,
            format!(
                "{} edges (source → target; GVAR with stability selection on the time-reversed twin). Self-effects are not drawn.",
                g.edges.len()
            ),
        );
    }
    if let Some(c) = &r.case {
        let mut fig = TimeSeriesPanel::new(format!("{}/{}", c.folder, c.file))
            .x_label("row")
            .shade_label("labelled fault")
            .shade_x(c.fault.0 as f64 - 0.5, c.fault.1 as f64 + 0.5)
            .vline(c.train_rows as f64 - 0.5, "end of the fitted rows")
            .vline(c.first_alarm as f64, "first alarm on the fault");
        for (name, values) in c.sensors.iter().take(4) {
            fig = fig.panel(
                Panel::new(name.as_str()).with_series(Series::from_values("observed", values)),
            );
        }
        page.section("A case").plot(
            &fig,
            "The sensors named at the first alarm on the fault of the first experiment that had one (raw units).",
        );
    }
    if !r.recourse.is_empty() {
        let mut table = HtmlTable::new(["method", "flip ratio", "cost (z)", "steps", "series"]);
        for name in crate::recad::METHODS {
            if let Some(m) = r.recourse.get(name) {
                table = table.row([
                    Cell::text(name),
                    fmt(m.flip_ratio, 3),
                    fmt(m.action_cost, 3),
                    fmt(m.action_steps, 2),
                    fmt(m.abnormal_series as f64, 0),
                ]);
            }
        }
        page.section("Recourse").table(table.caption(
            "Each method acts on the per-file models' alarms, four windows from the first, in each model's GVAR abduction-action-prediction world held within its training range (RecAD's evaluation on real data).",
        ));
    }
    page
}
