//! Self-contained HTML reports: tables and inline SVG plots in one file that opens offline.
//!
//! A report is one HTML page with a single embedded stylesheet and inline SVG figures: no
//! script, no network, no external font or image, readable on screen and on paper. The
//! reproduction commands (`remedy reproduce rootclam --report out.html`, `remedy reproduce
//! recad --report`) and `remedy report` build one with [`Report`]:
//!
//! ```
//! use remedy_report::svg::{BarChart, DagPlot, LinePlot};
//! use remedy_report::{HtmlTable, Report};
//!
//! let mut report = Report::new("RootCLAM on Loan");
//! report.meta("command", "remedy reproduce rootclam --seed 7").meta("seed", "7");
//! report.section("Summary").summary([("anomalies", "120"), ("flip ratio", "0.97")]);
//! report.section("Table 4").table(
//!     HtmlTable::new(["method", "flip ratio", "cost"])
//!         .row(["RootCLAM", "0.97", "1.20"])
//!         .row(["NaiveAM", "0.91", "1.35"])
//!         .highlight_max(1)
//!         .highlight_min(2)
//!         .caption("Recourse on the Loan benchmark."),
//! );
//! report.plot(
//!     &LinePlot::new("λ sweep").log_x(true).series("flip", [(1e-5, 0.5), (1.0, 0.9)]),
//!     "Flip ratio against λ.",
//! );
//! report.plot(
//!     &DagPlot::new(["G", "L", "D", "I", "S"], [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4)])
//!         .highlight([2])
//!         .highlight_label("root cause"),
//!     "The Loan DAG.",
//! );
//! report.plot(
//!     &BarChart::new("").categories(["G", "L"]).series("truth", [0.3, 0.7]),
//!     "Root causes.",
//! );
//! let html = report.render();
//! assert!(!html.contains("<script") && !html.contains("http"));
//! ```
//!
//! The crate never reads the clock or the environment: metadata such as the date is passed in,
//! and the same input gives the same bytes. All user text is escaped. Plots skip non-finite
//! values and draw a "no data" note instead of failing.

pub mod html;
pub mod svg;

pub use html::{Best, Cell, HtmlTable, Report, escape};
pub use svg::{
    BarChart, DagLayout, DagPlot, LinePlot, OKABE_ITO, Panel, Plot, RefLine, ScatterPlot, Series,
    TimeSeriesPanel, standalone,
};
