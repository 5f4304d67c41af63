//! Writes a report with one of each plot to the path given (default `gallery.html`), and each
//! plot as a standalone SVG next to it, for looking at the design in a browser.
//!
//! `cargo run -p remedy-report --example gallery -- /tmp/gallery.html`

use std::path::PathBuf;

use remedy_report::{
    BarChart, DagPlot, HtmlTable, LinePlot, Panel, Plot, Report, ScatterPlot, Series,
    TimeSeriesPanel, standalone,
};

fn main() -> remedy_core::Result<()> {
    let path = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "gallery.html".into()),
    );
    let lambdas = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0];
    let sweep = LinePlot::new("Flip ratio and cost against λ")
        .x_label("λ")
        .y_label("value")
        .log_x(true)
        .markers(true)
        .series(
            "flip ratio",
            lambdas
                .iter()
                .zip([0.62, 0.71, 0.85, 0.93, 0.97, 0.98])
                .map(|(&l, y)| (l, y)),
        )
        .series(
            "action norm",
            lambdas
                .iter()
                .zip([0.3, 0.35, 0.5, 0.7, 0.95, 1.2])
                .map(|(&l, y)| (l, y)),
        )
        .hline(0.9, "target 0.9");
    let scatter = ScatterPlot::new("Validity against cost (Fig. 3)")
        .x_label("action norm")
        .y_label("flip ratio")
        .labelled_series("RootCLAM", [(0.8, 0.97, "VACA"), (0.7, 0.95, "ANM")])
        .series("NaiveAM", [(1.3, 0.91), (1.2, 0.88)])
        .series("Random", [(2.1, 0.4)]);
    let bars = BarChart::new("Root-cause frequency per feature")
        .categories([
            "gender",
            "age",
            "loan amount",
            "loan duration",
            "income",
            "savings",
        ])
        .series("truth", [0.0, 0.05, 0.3, 0.25, 0.2, 0.2])
        .series("quantile rule", [0.01, 0.04, 0.28, 0.27, 0.22, 0.18])
        .series("Shapley", [0.05, 0.1, 0.2, 0.2, 0.25, 0.2])
        .y_label("frequency");
    let dag = DagPlot::new(
        [
            "gender",
            "age",
            "loan amount",
            "loan duration",
            "income",
            "savings",
            "approved",
        ],
        [
            (0, 2),
            (1, 2),
            (0, 3),
            (1, 3),
            (2, 3),
            (0, 4),
            (1, 4),
            (4, 5),
            (1, 5),
            (2, 6),
            (3, 6),
            (4, 6),
            (5, 6),
        ],
    )
    .title("Loan SCM")
    .highlight([4])
    .highlight_label("root cause");
    let obs1: Vec<f64> = (0..40)
        .map(|t| (t as f64 / 4.0).sin() + if (20..24).contains(&t) { 2.5 } else { 0.0 })
        .collect();
    let obs2: Vec<f64> = (0..40).map(|t| (t as f64 / 6.0).cos() * 0.5).collect();
    let cf: Vec<f64> = (20..40).map(|t| (t as f64 / 4.0).sin()).collect();
    let panel = TimeSeriesPanel::new("RecAD case: anomaly at t = 20")
        .x_label("time step")
        .shade_x(20.0, 23.0)
        .shade_label("anomalous")
        .vline(20.0, "action")
        .panel(
            Panel::new("x1 (root cause)")
                .with_series(Series::from_values("observed", &obs1))
                .with_series(Series::from_values_at("counterfactual", 20.0, &cf).dashed())
                .hline(2.0, "τ"),
        )
        .panel(Panel::new("x2").with_series(Series::from_values("observed", &obs2)));

    let mut r = Report::new("Remedy gallery");
    r.subtitle("One of each block")
        .meta("command", "cargo run -p remedy-report --example gallery")
        .meta("seed", "7")
        .meta("date", "2025-01-01");
    r.section("Summary")
        .summary([
            ("anomalies", "120"),
            ("flip ratio", "0.97"),
            ("mean cost", "0.82"),
        ])
        .note("Reduced run: 2 seeds instead of 10.");
    r.section("Tables").table(
        HtmlTable::new(["method", "flip ratio", "action norm", "time (s)"])
            .row(["RootCLAM (VACA)", "0.97", "0.80", "12.3"])
            .row(["RootCLAM (ANM)", "0.95", "0.70", "3.1"])
            .row(["NaiveAM", "0.91", "1.30", "2.2"])
            .highlight_max(1)
            .highlight_min(2)
            .highlight_min(3)
            .caption("Table 4: recourse on the Loan benchmark (mean over seeds)."),
    );
    r.section("Figures");
    let plots: Vec<(&str, &dyn Plot, &str)> = vec![
        (
            "sweep",
            &sweep,
            "λ sweep on a log axis with a reference line.",
        ),
        ("scatter", &scatter, "Scatter plot with point labels."),
        ("bars", &bars, "Grouped bars."),
        ("dag", &dag, "A DAG with a highlighted root cause."),
        ("panel", &panel, "Time-series panels sharing the x axis."),
    ];
    for (name, plot, caption) in plots {
        r.plot(plot, caption);
        remedy_core::io::write_atomic(
            &path.with_file_name(format!("{name}.svg")),
            standalone(&plot.to_svg()).as_bytes(),
        )?;
    }
    r.section("Configuration")
        .pre("seed = 7\nlambda = 0.01\nepochs = 200");
    r.write(&path)
}
