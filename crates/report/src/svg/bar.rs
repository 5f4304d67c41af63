//! Grouped bar charts: categories on the x axis, one bar per series in each group.

use std::fmt::Write;

use super::draw::{
    self, INK, Rect, Scale, Swatch, XLabels, domain, legend_height, n, no_data, text_width,
    tick_label_width, title_height, truncate, usable,
};
use super::{Plot, RefLine, colour};
use crate::html::escape;

/// Categories with one or more named series of values, drawn as grouped bars from zero (e.g.
/// root-cause frequency per feature and method). Non-finite values draw no bar; a series with
/// fewer values than categories leaves the rest empty.
///
/// ```
/// use remedy_report::svg::BarChart;
/// let svg = BarChart::new("Root causes")
///     .categories(["income", "savings", "loan"])
///     .series("truth", [0.4, 0.1, 0.5])
///     .series("found", [0.35, 0.15, 0.5])
///     .y_label("frequency")
///     .render();
/// assert!(svg.contains("savings"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    title: String,
    x_label: String,
    y_label: String,
    categories: Vec<String>,
    series: Vec<(String, Vec<f64>)>,
    hlines: Vec<RefLine>,
    value_labels: bool,
    width: f64,
    height: f64,
}

impl BarChart {
    /// An empty chart with a title (may be empty).
    pub fn new(title: impl Into<String>) -> Self {
        BarChart {
            title: title.into(),
            x_label: String::new(),
            y_label: String::new(),
            categories: Vec::new(),
            series: Vec::new(),
            hlines: Vec::new(),
            value_labels: false,
            width: 640.0,
            height: 360.0,
        }
    }

    /// The category names (x axis), in order.
    pub fn categories<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.categories = names.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a series: one value per category.
    pub fn series(
        mut self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = f64>,
    ) -> Self {
        self.series
            .push((name.into(), values.into_iter().collect()));
        self
    }

    /// Label of the x axis.
    pub fn x_label(mut self, label: impl Into<String>) -> Self {
        self.x_label = label.into();
        self
    }

    /// Label of the y axis.
    pub fn y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = label.into();
        self
    }

    /// A labelled horizontal reference line at `y`.
    pub fn hline(mut self, y: f64, label: impl Into<String>) -> Self {
        self.hlines.push(RefLine {
            value: y,
            label: label.into(),
        });
        self
    }

    /// Writes each bar's value above it.
    pub fn value_labels(mut self, on: bool) -> Self {
        self.value_labels = on;
        self
    }

    /// Size in pixels (default 640 × 360; clamped to 120..4000 × 100..4000).
    pub fn size(mut self, width: f64, height: f64) -> Self {
        if width.is_finite() {
            self.width = width;
        }
        if height.is_finite() {
            self.height = height;
        }
        self
    }

    /// The SVG element.
    pub fn render(&self) -> String {
        let (w, h) = (
            self.width.clamp(120.0, 4000.0),
            self.height.clamp(100.0, 4000.0),
        );
        let nc = self.categories.len();
        let values = || {
            self.series
                .iter()
                .flat_map(|(_, v)| v.iter().take(nc).copied())
                .filter(|v| usable(*v, false))
        };
        let has_data = values().next().is_some();
        let entries: Vec<(String, Swatch)> = self
            .series
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| !name.is_empty())
            .map(|(i, (name, _))| {
                (
                    name.clone(),
                    Swatch::Box {
                        fill: colour(i).to_string(),
                        stroke: "none".into(),
                        opacity: 1.0,
                    },
                )
            })
            .collect();

        let mut out = String::new();
        draw::open(&mut out, w, h, &self.title, "bar-chart");
        let legend_top = title_height(&self.title);
        let lh = legend_height(&entries, w - 40.0);
        draw::legend(&mut out, &entries, 20.0, w - 20.0, legend_top);
        let top = legend_top + lh + if lh > 0.0 { 8.0 } else { 4.0 };

        let dom = if has_data {
            domain(
                values()
                    .chain([0.0])
                    .chain(self.hlines.iter().map(|l| l.value)),
                false,
                0.05,
            )
        } else {
            None
        };
        let Some((lo, hi)) = dom else {
            no_data(
                &mut out,
                Rect {
                    x0: 48.0,
                    y0: top,
                    x1: w - 18.0,
                    y1: h - 40.0,
                },
            );
            out.push_str("</svg>");
            return out;
        };

        let probe = Scale::new(lo, hi, false, 0.0, 1.0);
        let tw = tick_label_width(&probe.ticks(5));
        let left = (14.0 + tw + if self.y_label.is_empty() { 0.0 } else { 20.0 }).max(36.0);
        let (x0, x1) = (left, w - 18.0);
        let slot = (x1 - x0) / nc as f64;
        let labels: Vec<String> = self.categories.iter().map(|c| truncate(c, 24)).collect();
        let widest = labels
            .iter()
            .map(|l| text_width(l, 11.0))
            .fold(0.0, f64::max);
        let rotate = widest > slot - 4.0;
        let label_h = if rotate {
            (widest * 0.72 + 8.0).min(h * 0.4)
        } else {
            16.0
        };
        let bottom = 8.0 + label_h + if self.x_label.is_empty() { 0.0 } else { 22.0 };
        let r = Rect {
            x0,
            y0: top,
            x1,
            y1: (h - bottom).max(top + 20.0),
        };
        let ys = Scale::new(lo, hi, false, r.y1, r.y0);
        let y_target = ((r.y1 - r.y0) / 50.0).clamp(2.0, 8.0) as usize;
        draw::frame(
            &mut out,
            r,
            None,
            &ys,
            "",
            &self.y_label,
            5,
            y_target,
            XLabels::Full,
        );

        // Category labels.
        for (ci, label) in labels.iter().enumerate() {
            let cx = r.x0 + (ci as f64 + 0.5) * slot;
            let full = escape(&self.categories[ci]);
            if rotate {
                let y = r.y1 + 12.0;
                let _ = write!(
                    out,
                    "<text x=\"{x}\" y=\"{y}\" transform=\"rotate(-40 {x} {y})\" text-anchor=\"end\" font-size=\"11\" fill=\"{INK}\"><title>{full}</title>{}</text>",
                    escape(label),
                    x = n(cx + 3.0),
                    y = n(y),
                );
            } else {
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"{INK}\"><title>{full}</title>{}</text>",
                    n(cx),
                    n(r.y1 + 16.0),
                    escape(label)
                );
            }
        }
        if !self.x_label.is_empty() {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
                n((r.x0 + r.x1) / 2.0),
                n(r.y1 + label_h + 22.0),
                escape(&self.x_label)
            );
        }

        // Bars.
        let ns = self.series.len().max(1);
        let group = slot * 0.8;
        let bw = group / ns as f64;
        let Some(zero) = ys.map(0.0) else {
            out.push_str("</svg>");
            return out;
        };
        for (si, (name, vals)) in self.series.iter().enumerate() {
            let c = colour(si);
            for (ci, &v) in vals.iter().take(nc).enumerate() {
                let Some(pv) = ys.map(v) else { continue };
                let bx = r.x0 + ci as f64 * slot + (slot - group) / 2.0 + si as f64 * bw;
                let (ya, yb) = if pv <= zero { (pv, zero) } else { (zero, pv) };
                let _ = write!(
                    out,
                    "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{c}\"><title>{}: {}</title></rect>",
                    n(bx + 0.5),
                    n(ya),
                    n((bw - 1.0).max(0.5)),
                    n((yb - ya).max(0.0)),
                    escape(&format!("{} / {}", self.categories[ci], name)),
                    escape(&super::ticks::short_number(v)),
                );
                if self.value_labels {
                    let above = v >= 0.0;
                    let _ = write!(
                        out,
                        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\" fill=\"{INK}\">{}</text>",
                        n(bx + bw / 2.0),
                        n(if above { pv - 3.0 } else { pv + 11.0 }),
                        escape(&super::ticks::short_number(v)),
                    );
                }
            }
        }
        let _ = write!(
            out,
            "<line x1=\"{}\" y1=\"{z}\" x2=\"{}\" y2=\"{z}\" stroke=\"{INK}\" stroke-width=\"1\"/>",
            n(r.x0),
            n(r.x1),
            z = n(zero)
        );
        let xs = Scale::new(0.0, 1.0, false, r.x0, r.x1);
        super::xy::ref_lines(&mut out, r, &xs, &ys, &[], &self.hlines);
        out.push_str("</svg>");
        out
    }
}

impl Plot for BarChart {
    fn to_svg(&self) -> String {
        self.render()
    }
}
