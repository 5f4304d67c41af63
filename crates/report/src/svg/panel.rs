//! Stacked small line plots sharing one x axis (one panel per variable), e.g. the RecAD case
//! figure: the observed series, the action and the counterfactual continuation of each variable.

use std::fmt::Write;

use super::draw::{
    self, INK, Rect, Scale, Swatch, XLabels, domain, legend_height, n, no_data, tick_label_width,
    title_height, truncate, usable,
};
use super::xy::{Style, draw_series, ref_lines};
use super::{Plot, RefLine, Series, colour};
use crate::html::escape;

/// One panel of a [`TimeSeriesPanel`]: a variable's name and its series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Panel {
    name: String,
    series: Vec<Series>,
    hlines: Vec<RefLine>,
}

impl Panel {
    /// An empty panel titled `name` (the variable).
    pub fn new(name: impl Into<String>) -> Self {
        Panel {
            name: name.into(),
            ..Panel::default()
        }
    }

    /// Adds a series of `(x, y)` points.
    pub fn series(
        mut self,
        name: impl Into<String>,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> Self {
        self.series.push(Series::new(name, points));
        self
    }

    /// Adds a prepared [`Series`] (e.g. dashed).
    pub fn with_series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// A labelled horizontal reference line in this panel.
    pub fn hline(mut self, y: f64, label: impl Into<String>) -> Self {
        self.hlines.push(RefLine {
            value: y,
            label: label.into(),
        });
        self
    }
}

/// Several aligned line plots sharing an x axis. A series name has the same colour (and legend
/// entry) in every panel; shaded ranges and vertical lines run through all panels.
///
/// ```
/// use remedy_report::svg::{Panel, Series, TimeSeriesPanel};
/// let obs = [0.1, 0.2, 1.9, 0.3];
/// let svg = TimeSeriesPanel::new("Case 17")
///     .x_label("step")
///     .shade_x(1.5, 2.5)
///     .shade_label("anomalous")
///     .vline(2.0, "action")
///     .panel(
///         Panel::new("x1")
///             .with_series(Series::from_values("observed", &obs))
///             .with_series(Series::from_values_at("counterfactual", 2.0, &[0.4, 0.3]).dashed()),
///     )
///     .panel(Panel::new("x2").with_series(Series::from_values("observed", &[1.0, 1.1, 0.9, 1.0])))
///     .render();
/// assert!(svg.contains("counterfactual"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeriesPanel {
    title: String,
    x_label: String,
    panels: Vec<Panel>,
    shaded: Vec<(f64, f64)>,
    shade_label: String,
    vlines: Vec<RefLine>,
    markers: bool,
    width: f64,
    panel_height: f64,
}

impl TimeSeriesPanel {
    /// An empty figure with a title (may be empty).
    pub fn new(title: impl Into<String>) -> Self {
        TimeSeriesPanel {
            title: title.into(),
            x_label: String::new(),
            panels: Vec::new(),
            shaded: Vec::new(),
            shade_label: String::new(),
            vlines: Vec::new(),
            markers: false,
            width: 640.0,
            panel_height: 90.0,
        }
    }

    /// Label of the shared x axis.
    pub fn x_label(mut self, label: impl Into<String>) -> Self {
        self.x_label = label.into();
        self
    }

    /// Adds a panel (drawn below the previous ones).
    pub fn panel(mut self, panel: Panel) -> Self {
        self.panels.push(panel);
        self
    }

    /// Shades the x-range `[lo, hi]` in every panel.
    pub fn shade_x(mut self, lo: f64, hi: f64) -> Self {
        self.shaded.push((lo, hi));
        self
    }

    /// Legend entry for the shaded ranges.
    pub fn shade_label(mut self, label: impl Into<String>) -> Self {
        self.shade_label = label.into();
        self
    }

    /// A vertical line at `x` through every panel (labelled in the top one).
    pub fn vline(mut self, x: f64, label: impl Into<String>) -> Self {
        self.vlines.push(RefLine {
            value: x,
            label: label.into(),
        });
        self
    }

    /// Draws a marker at every point.
    pub fn markers(mut self, on: bool) -> Self {
        self.markers = on;
        self
    }

    /// Width in pixels (default 640; clamped to 160..4000).
    pub fn width(mut self, width: f64) -> Self {
        if width.is_finite() {
            self.width = width;
        }
        self
    }

    /// Height of each panel's plotting area in pixels (default 90; clamped to 30..1000).
    pub fn panel_height(mut self, height: f64) -> Self {
        if height.is_finite() {
            self.panel_height = height;
        }
        self
    }

    /// The SVG element.
    pub fn render(&self) -> String {
        let w = self.width.clamp(160.0, 4000.0);
        let ph = self.panel_height.clamp(30.0, 1000.0);

        // One colour and legend entry per series name, in order of first appearance.
        let mut names: Vec<(String, bool)> = Vec::new();
        for p in &self.panels {
            for s in &p.series {
                if !s.name.is_empty() && !names.iter().any(|(x, _)| *x == s.name) {
                    names.push((s.name.clone(), s.dashed));
                }
            }
        }
        let colour_of = |s: &Series, i: usize| -> (usize, &'static str) {
            match names.iter().position(|(x, _)| *x == s.name) {
                Some(k) if !s.name.is_empty() => (k, colour(k)),
                _ => (names.len() + i, colour(names.len() + i)),
            }
        };
        let mut entries: Vec<(String, Swatch)> = names
            .iter()
            .enumerate()
            .map(|(k, (name, dashed))| {
                (
                    name.clone(),
                    Swatch::Line {
                        colour: colour(k).to_string(),
                        dashed: *dashed,
                        marker: self.markers.then_some(k),
                    },
                )
            })
            .collect();
        if !self.shaded.is_empty() && !self.shade_label.is_empty() {
            entries.push((
                self.shade_label.clone(),
                Swatch::Box {
                    fill: "#999999".into(),
                    stroke: "none".into(),
                    opacity: 0.3,
                },
            ));
        }

        let usable_pt = |&(x, y): &(f64, f64)| usable(x, false) && usable(y, false);
        let xdom = if self
            .panels
            .iter()
            .flat_map(|p| p.series.iter().flat_map(|s| s.points.iter()))
            .any(usable_pt)
        {
            domain(
                self.panels
                    .iter()
                    .flat_map(|p| p.series.iter().flat_map(|s| s.points.iter()))
                    .filter(|p| usable_pt(p))
                    .map(|p| p.0)
                    .chain(self.vlines.iter().map(|l| l.value))
                    .chain(self.shaded.iter().flat_map(|&(a, b)| [a, b])),
                false,
                0.0,
            )
        } else {
            None
        };
        let ydoms: Vec<Option<(f64, f64)>> = self
            .panels
            .iter()
            .map(|p| {
                let ys: Vec<f64> = p
                    .series
                    .iter()
                    .flat_map(|s| s.points.iter())
                    .filter(|q| usable_pt(q))
                    .map(|q| q.1)
                    .collect();
                if ys.is_empty() {
                    None
                } else {
                    domain(
                        ys.into_iter().chain(p.hlines.iter().map(|l| l.value)),
                        false,
                        0.08,
                    )
                }
            })
            .collect();

        let legend_top = title_height(&self.title);
        let lh = legend_height(&entries, w - 40.0);
        let top = legend_top + lh + if lh > 0.0 { 8.0 } else { 4.0 };
        let bottom = 28.0 + if self.x_label.is_empty() { 0.0 } else { 18.0 };
        let np = self.panels.len().max(1);
        let h = top + np as f64 * (ph + 18.0) + (np - 1) as f64 * 8.0 + bottom;

        let mut out = String::new();
        draw::open(&mut out, w, h, &self.title, "panel-plot");
        draw::legend(&mut out, &entries, 20.0, w - 20.0, legend_top);
        let Some((x_lo, x_hi)) = xdom else {
            no_data(
                &mut out,
                Rect {
                    x0: 48.0,
                    y0: top,
                    x1: w - 18.0,
                    y1: h - bottom,
                },
            );
            out.push_str("</svg>");
            return out;
        };
        let left = ydoms
            .iter()
            .flatten()
            .map(|&(a, b)| tick_label_width(&Scale::new(a, b, false, 0.0, 1.0).ticks(3)))
            .fold(0.0, f64::max)
            + 14.0;
        let left = left.max(36.0);
        let y_target = (ph / 35.0).clamp(2.0, 8.0) as usize;
        let style = Style {
            lines: true,
            markers: self.markers,
            marker_r: 3.0,
            x_pad: 0.0,
        };
        for (pi, (p, ydom)) in self.panels.iter().zip(&ydoms).enumerate() {
            let y0 = top + pi as f64 * (ph + 26.0) + 18.0;
            let r = Rect {
                x0: left,
                y0,
                x1: w - 18.0,
                y1: y0 + ph,
            };
            let last = pi + 1 == self.panels.len();
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" font-size=\"12\" font-weight=\"600\" fill=\"{INK}\">{}</text>",
                n(r.x0),
                n(y0 - 5.0),
                escape(&truncate(&p.name, 60))
            );
            let xs = Scale::new(x_lo, x_hi, false, r.x0, r.x1);
            let Some((y_lo, y_hi)) = *ydom else {
                no_data(&mut out, r);
                continue;
            };
            let ys = Scale::new(y_lo, y_hi, false, r.y1, r.y0);
            for &(a, b) in &self.shaded {
                if let (Some(pa), Some(pb)) = (xs.map_clamped(a), xs.map_clamped(b)) {
                    let (pa, pb) = if pa <= pb { (pa, pb) } else { (pb, pa) };
                    let _ = write!(
                        out,
                        "<rect class=\"shade\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#999999\" fill-opacity=\"0.3\"/>",
                        n(pa),
                        n(r.y0),
                        n((pb - pa).max(1.0)),
                        n(r.y1 - r.y0)
                    );
                }
            }
            let x_target = ((r.x1 - r.x0) / 80.0).clamp(2.0, 10.0) as usize;
            draw::frame(
                &mut out,
                r,
                Some(&xs),
                &ys,
                &self.x_label,
                "",
                x_target,
                y_target,
                if last { XLabels::Full } else { XLabels::None },
            );
            let vlines: Vec<RefLine> = self
                .vlines
                .iter()
                .map(|l| RefLine {
                    value: l.value,
                    label: if pi == 0 {
                        l.label.clone()
                    } else {
                        String::new()
                    },
                })
                .collect();
            ref_lines(&mut out, r, &xs, &ys, &vlines, &p.hlines);
            for (i, s) in p.series.iter().enumerate() {
                let (k, c) = colour_of(s, i);
                draw_series(&mut out, s, c, k, &xs, &ys, style, r);
            }
        }
        out.push_str("</svg>");
        out
    }
}

impl Plot for TimeSeriesPanel {
    fn to_svg(&self) -> String {
        self.render()
    }
}
