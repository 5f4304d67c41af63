//! Plots as SVG strings: [`LinePlot`], [`ScatterPlot`], [`BarChart`], [`DagPlot`] and the
//! stacked [`TimeSeriesPanel`]. Every plot has axes with "nice" ticks (1, 2 or 5 × 10^k; decades
//! on a log axis), axis labels, a legend and colours from the colour-blind-safe Okabe-Ito
//! palette; series also differ by marker shape or dash so that a grey print stays readable.
//!
//! Rendering is deterministic (same input, same bytes) and total: non-finite values (and values
//! ≤ 0 on a log axis) are skipped, and a plot without any usable value renders as an empty frame
//! with a "no data" note. No `NaN` ever reaches the SVG text. All text is escaped.
//!
//! `render()` returns an `<svg>` element for inlining into HTML (no `xmlns`, no external
//! reference, no element ids except the clip path of a plot with a fixed range, whose id is a
//! hash of its content); [`standalone`] turns it into a file that image viewers open.

mod bar;
mod dag;
mod draw;
mod panel;
mod ticks;
mod xy;

pub use bar::BarChart;
pub use dag::{DagLayout, DagPlot};
pub use panel::{Panel, TimeSeriesPanel};
pub use ticks::{format_log_tick, format_tick, log_ticks, nice_ticks};
pub use xy::{LinePlot, ScatterPlot};

/// The Okabe-Ito colour-blind-safe palette, ordered for contrast on white (the yellow, weakest on
/// white, comes last).
pub const OKABE_ITO: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442",
];

/// Colour of the `i`-th series (the palette, cycled).
pub fn colour(i: usize) -> &'static str {
    OKABE_ITO[i % OKABE_ITO.len()]
}

/// Anything that renders as an inline `<svg>` element.
pub trait Plot {
    /// The SVG element (see the module docs for its guarantees).
    fn to_svg(&self) -> String;
}

/// Turns an inline `<svg>` element as rendered here into a standalone SVG file (XML declaration
/// and the SVG namespace added). Text that does not start with `<svg` is returned unchanged.
pub fn standalone(svg: &str) -> String {
    match svg.strip_prefix("<svg") {
        Some(rest) if !rest.starts_with(" xmlns=") => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"{rest}\n"
        ),
        _ => svg.to_string(),
    }
}

/// A named series of `(x, y)` points for line plots, scatter plots and panels. Points whose
/// coordinates are not finite are skipped (a line is broken there).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Legend name; an empty name keeps the series out of the legend.
    pub name: String,
    /// The points, drawn in this order.
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed (line plots and panels).
    pub dashed: bool,
    /// Optional point labels (scatter plots), matched to `points` by position; empty strings
    /// label nothing.
    pub labels: Vec<String>,
}

impl Series {
    /// A series from `(x, y)` points.
    pub fn new(name: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points: points.into_iter().collect(),
            dashed: false,
            labels: Vec::new(),
        }
    }

    /// A series from values at x = 0, 1, 2, ... (a time series by step).
    pub fn from_values(name: impl Into<String>, ys: &[f64]) -> Self {
        Series::new(name, ys.iter().enumerate().map(|(i, &y)| (i as f64, y)))
    }

    /// A series from values at x = `start`, `start + 1`, ... (a continuation of a time series).
    pub fn from_values_at(name: impl Into<String>, start: f64, ys: &[f64]) -> Self {
        Series::new(
            name,
            ys.iter().enumerate().map(|(i, &y)| (start + i as f64, y)),
        )
    }

    /// Draws the series dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// Labels the points (by position).
    pub fn with_labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.labels = labels.into_iter().map(Into::into).collect();
        self
    }
}

/// A labelled reference line at a fixed value (a threshold τ, the decision boundary 0.5...).
#[derive(Debug, Clone, PartialEq)]
pub struct RefLine {
    /// Position on the axis.
    pub value: f64,
    /// Text drawn next to the line (may be empty).
    pub label: String,
}
