//! Line and scatter plots over numeric x and y axes (linear or log).

use std::fmt::Write;

use super::draw::{
    self, INK, REF, Rect, Scale, Swatch, XLabels, domain, fnv, legend_height, marker_svg, n,
    no_data, tick_label_width, title_height, truncate, usable,
};
use super::{Plot, RefLine, Series, colour};
use crate::html::escape;

/// Settings shared by line and scatter plots.
#[derive(Debug, Clone, PartialEq)]
struct Xy {
    title: String,
    x_label: String,
    y_label: String,
    series: Vec<Series>,
    log_x: bool,
    log_y: bool,
    x_range: Option<(f64, f64)>,
    y_range: Option<(f64, f64)>,
    shaded: Vec<(f64, f64)>,
    shade_label: String,
    vlines: Vec<RefLine>,
    hlines: Vec<RefLine>,
    width: f64,
    height: f64,
}

impl Xy {
    fn new(title: String) -> Self {
        Xy {
            title,
            x_label: String::new(),
            y_label: String::new(),
            series: Vec::new(),
            log_x: false,
            log_y: false,
            x_range: None,
            y_range: None,
            shaded: Vec::new(),
            shade_label: String::new(),
            vlines: Vec::new(),
            hlines: Vec::new(),
            width: 640.0,
            height: 360.0,
        }
    }
}

/// How the points of an [`Xy`] are drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub lines: bool,
    pub markers: bool,
    pub marker_r: f64,
    pub x_pad: f64,
}

/// A user range, if valid (finite, ordered, positive on a log axis).
fn valid_range(r: Option<(f64, f64)>, log: bool) -> Option<(f64, f64)> {
    let (a, b) = r?;
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    (usable(a, log) && usable(b, log) && a < b).then_some((a, b))
}

fn render(p: &Xy, style: Style, class: &str) -> String {
    let usable_point = |&(x, y): &(f64, f64)| usable(x, p.log_x) && usable(y, p.log_y);
    let points = || {
        p.series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(usable_point)
    };
    let fixed_x = valid_range(p.x_range, p.log_x);
    let fixed_y = valid_range(p.y_range, p.log_y);
    let has_data = points().next().is_some();
    let xdom = fixed_x.or_else(|| {
        let extra = p
            .vlines
            .iter()
            .map(|l| l.value)
            .chain(p.shaded.iter().flat_map(|&(a, b)| [a, b]));
        has_data
            .then(|| domain(points().map(|(x, _)| x).chain(extra), p.log_x, style.x_pad))
            .flatten()
    });
    let ydom = fixed_y.or_else(|| {
        let extra = p.hlines.iter().map(|l| l.value);
        has_data
            .then(|| domain(points().map(|(_, y)| y).chain(extra), p.log_y, 0.05))
            .flatten()
    });

    // Legend entries.
    let mut entries: Vec<(String, Swatch)> = Vec::new();
    for (i, s) in p.series.iter().enumerate() {
        if s.name.is_empty() {
            continue;
        }
        let swatch = if style.lines {
            Swatch::Line {
                colour: colour(i).to_string(),
                dashed: s.dashed,
                marker: style.markers.then_some(i),
            }
        } else {
            Swatch::Marker {
                colour: colour(i).to_string(),
                shape: i,
            }
        };
        entries.push((s.name.clone(), swatch));
    }
    if !p.shaded.is_empty() && !p.shade_label.is_empty() {
        entries.push((
            p.shade_label.clone(),
            Swatch::Box {
                fill: "#999999".into(),
                stroke: "none".into(),
                opacity: 0.3,
            },
        ));
    }

    let (w, h) = (p.width.clamp(120.0, 4000.0), p.height.clamp(100.0, 4000.0));
    let mut out = String::new();
    draw::open(&mut out, w, h, &p.title, class);
    let legend_top = title_height(&p.title);
    let lh = legend_height(&entries, w - 40.0);
    let top = legend_top + lh + if lh > 0.0 { 8.0 } else { 4.0 };
    draw::legend(&mut out, &entries, 20.0, w - 20.0, legend_top);
    let bottom = 28.0 + if p.x_label.is_empty() { 0.0 } else { 18.0 };

    let (Some((x_lo, x_hi)), Some((y_lo, y_hi))) = (xdom, ydom) else {
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

    let probe = Scale::new(y_lo, y_hi, p.log_y, 0.0, 1.0);
    let tw = tick_label_width(&probe.ticks(5));
    let left = (14.0 + tw + if p.y_label.is_empty() { 0.0 } else { 20.0 }).max(36.0);
    let r = Rect {
        x0: left,
        y0: top,
        x1: w - 18.0,
        y1: (h - bottom).max(top + 20.0),
    };
    let xs = Scale::new(x_lo, x_hi, p.log_x, r.x0, r.x1);
    let ys = Scale::new(y_lo, y_hi, p.log_y, r.y1, r.y0);

    // Shaded x-ranges under everything else.
    for &(a, b) in &p.shaded {
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
    let y_target = ((r.y1 - r.y0) / 50.0).clamp(2.0, 8.0) as usize;
    draw::frame(
        &mut out,
        r,
        Some(&xs),
        &ys,
        &p.x_label,
        &p.y_label,
        x_target,
        y_target,
        XLabels::Full,
    );
    ref_lines(&mut out, r, &xs, &ys, &p.vlines, &p.hlines);

    // Series.
    let mut body = String::new();
    for (i, s) in p.series.iter().enumerate() {
        draw_series(&mut body, s, colour(i), i, &xs, &ys, style, r);
    }
    if fixed_x.is_some() || fixed_y.is_some() {
        let rect = format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
            n(r.x0),
            n(r.y0),
            n(r.x1 - r.x0),
            n(r.y1 - r.y0)
        );
        let id = format!("clip-{:016x}", fnv(&format!("{rect}{body}")));
        let _ = write!(
            out,
            "<clipPath id=\"{id}\">{rect}</clipPath><g clip-path=\"url(#{id})\">{body}</g>"
        );
    } else {
        out.push_str(&body);
    }
    out.push_str("</svg>");
    out
}

/// Draws one series: its line (broken at unusable points), markers and point labels.
#[allow(clippy::too_many_arguments)]
pub(crate) fn draw_series(
    body: &mut String,
    s: &Series,
    c: &str,
    shape: usize,
    xs: &Scale,
    ys: &Scale,
    style: Style,
    r: Rect,
) {
    let mapped: Vec<Option<(f64, f64)>> = s
        .points
        .iter()
        .map(|&(x, y)| Some((xs.map(x)?, ys.map(y)?)))
        .collect();
    if style.lines {
        let mut d = String::new();
        let mut pen = false;
        for q in &mapped {
            match q {
                Some((px, py)) => {
                    d.push(if pen { 'L' } else { 'M' });
                    let _ = write!(d, "{} {}", n(*px), n(*py));
                    pen = true;
                }
                None => pen = false,
            }
        }
        if !d.is_empty() {
            let _ = write!(
                body,
                "<path class=\"series\" d=\"{d}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"1.8\" stroke-linejoin=\"round\" stroke-linecap=\"round\"{}/>",
                if s.dashed {
                    " stroke-dasharray=\"6 4\""
                } else {
                    ""
                }
            );
        }
    }
    if style.markers {
        for &(px, py) in mapped.iter().flatten() {
            body.push_str(&marker_svg(shape, px, py, style.marker_r, c));
        }
    }
    for (q, label) in mapped.iter().zip(&s.labels) {
        if let (Some((px, py)), false) = (q, label.is_empty()) {
            let anchor_end = *px > r.x1 - 80.0;
            let _ = write!(
                body,
                "<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"{INK}\"{}>{}</text>",
                n(if anchor_end { px - 7.0 } else { px + 7.0 }),
                n(py - 6.0),
                if anchor_end {
                    " text-anchor=\"end\""
                } else {
                    ""
                },
                escape(&truncate(label, 30))
            );
        }
    }
}

/// Draws labelled vertical and horizontal reference lines (those outside the domain are
/// skipped).
pub(crate) fn ref_lines(
    out: &mut String,
    r: Rect,
    xs: &Scale,
    ys: &Scale,
    vlines: &[RefLine],
    hlines: &[RefLine],
) {
    for l in vlines {
        let Some(px) = xs
            .map(l.value)
            .filter(|p| *p >= r.x0 - 0.5 && *p <= r.x1 + 0.5)
        else {
            continue;
        };
        let _ = write!(
            out,
            "<line class=\"ref\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{REF}\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\"/>",
            n(r.y0),
            n(r.y1),
            x = n(px)
        );
        if !l.label.is_empty() {
            let end = px > (r.x0 + r.x1) / 2.0;
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{REF}\"{}>{}</text>",
                n(if end { px - 4.0 } else { px + 4.0 }),
                n(r.y0 + 12.0),
                if end { " text-anchor=\"end\"" } else { "" },
                escape(&truncate(&l.label, 40))
            );
        }
    }
    for l in hlines {
        let Some(py) = ys
            .map(l.value)
            .filter(|p| *p >= r.y0 - 0.5 && *p <= r.y1 + 0.5)
        else {
            continue;
        };
        let _ = write!(
            out,
            "<line class=\"ref\" x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{REF}\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\"/>",
            n(r.x0),
            n(r.x1),
            y = n(py)
        );
        if !l.label.is_empty() {
            let below = py < r.y0 + 14.0;
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\" fill=\"{REF}\">{}</text>",
                n(r.x1 - 4.0),
                n(if below { py + 13.0 } else { py - 4.0 }),
                escape(&truncate(&l.label, 40))
            );
        }
    }
}

macro_rules! common_setters {
    () => {
        /// Label of the x axis.
        pub fn x_label(mut self, label: impl Into<String>) -> Self {
            self.0.x_label = label.into();
            self
        }

        /// Label of the y axis.
        pub fn y_label(mut self, label: impl Into<String>) -> Self {
            self.0.y_label = label.into();
            self
        }

        /// Adds a series of `(x, y)` points.
        pub fn series(
            mut self,
            name: impl Into<String>,
            points: impl IntoIterator<Item = (f64, f64)>,
        ) -> Self {
            self.0.series.push(Series::new(name, points));
            self
        }

        /// Adds a prepared [`Series`] (dashed, labelled...).
        pub fn with_series(mut self, series: Series) -> Self {
            self.0.series.push(series);
            self
        }

        /// Log-scale x axis (values ≤ 0 are skipped).
        pub fn log_x(mut self, on: bool) -> Self {
            self.0.log_x = on;
            self
        }

        /// Log-scale y axis (values ≤ 0 are skipped).
        pub fn log_y(mut self, on: bool) -> Self {
            self.0.log_y = on;
            self
        }

        /// Fixes the x range (otherwise the data's); points outside are clipped. An invalid
        /// range (not finite, empty, not positive on a log axis) is ignored.
        pub fn x_range(mut self, lo: f64, hi: f64) -> Self {
            self.0.x_range = Some((lo, hi));
            self
        }

        /// Fixes the y range (otherwise the data's, padded by 5 %); see [`Self::x_range`].
        pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
            self.0.y_range = Some((lo, hi));
            self
        }

        /// Shades the x-range `[lo, hi]` (e.g. anomalous steps of a time series).
        pub fn shade_x(mut self, lo: f64, hi: f64) -> Self {
            self.0.shaded.push((lo, hi));
            self
        }

        /// Legend entry for the shaded ranges (none without it).
        pub fn shade_label(mut self, label: impl Into<String>) -> Self {
            self.0.shade_label = label.into();
            self
        }

        /// A labelled vertical reference line at `x`.
        pub fn vline(mut self, x: f64, label: impl Into<String>) -> Self {
            self.0.vlines.push(RefLine {
                value: x,
                label: label.into(),
            });
            self
        }

        /// A labelled horizontal reference line at `y` (e.g. a threshold τ).
        pub fn hline(mut self, y: f64, label: impl Into<String>) -> Self {
            self.0.hlines.push(RefLine {
                value: y,
                label: label.into(),
            });
            self
        }

        /// Size in pixels (default 640 × 360; clamped to 120..4000 × 100..4000).
        pub fn size(mut self, width: f64, height: f64) -> Self {
            if width.is_finite() {
                self.0.width = width;
            }
            if height.is_finite() {
                self.0.height = height;
            }
            self
        }
    };
}

/// Named series of `(x, y)` points joined by lines, with optional markers, log x axis, shaded
/// x-ranges and reference lines. Points are joined in the order given; a non-finite point
/// breaks the line.
///
/// ```
/// use remedy_report::svg::LinePlot;
/// let svg = LinePlot::new("Flip ratio vs λ")
///     .x_label("λ")
///     .y_label("flip ratio")
///     .log_x(true)
///     .markers(true)
///     .series("RootCLAM", [(1e-5, 0.2), (1e-3, 0.6), (1.0, 0.95)])
///     .hline(0.9, "target")
///     .render();
/// assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot(Xy, bool);

impl LinePlot {
    /// An empty plot with a title (may be empty).
    pub fn new(title: impl Into<String>) -> Self {
        LinePlot(Xy::new(title.into()), false)
    }

    common_setters!();

    /// Draws a marker at every point (shape differs per series).
    pub fn markers(mut self, on: bool) -> Self {
        self.1 = on;
        self
    }

    /// The SVG element.
    pub fn render(&self) -> String {
        let style = Style {
            lines: true,
            markers: self.1,
            marker_r: 3.5,
            x_pad: 0.0,
        };
        render(&self.0, style, "line-plot")
    }
}

impl Plot for LinePlot {
    fn to_svg(&self) -> String {
        self.render()
    }
}

/// Named series of points drawn as markers (one shape and colour per series), with optional
/// point labels, e.g. flip ratio against action norm per method.
///
/// ```
/// use remedy_report::svg::{ScatterPlot, Series};
/// let svg = ScatterPlot::new("Validity vs cost")
///     .x_label("action norm")
///     .y_label("flip ratio")
///     .with_series(Series::new("RootCLAM", [(0.8, 0.97)]).with_labels(["λ=0.01"]))
///     .series("NaiveAM", [(1.4, 0.91)])
///     .render();
/// assert!(svg.contains("λ=0.01"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterPlot(Xy);

impl ScatterPlot {
    /// An empty plot with a title (may be empty).
    pub fn new(title: impl Into<String>) -> Self {
        ScatterPlot(Xy::new(title.into()))
    }

    common_setters!();

    /// Adds a series whose points carry labels.
    pub fn labelled_series<S: Into<String>>(
        mut self,
        name: impl Into<String>,
        points: impl IntoIterator<Item = (f64, f64, S)>,
    ) -> Self {
        let (pts, labels): (Vec<(f64, f64)>, Vec<String>) = points
            .into_iter()
            .map(|(x, y, l)| ((x, y), l.into()))
            .unzip();
        self.0
            .series
            .push(Series::new(name, pts).with_labels(labels));
        self
    }

    /// The SVG element.
    pub fn render(&self) -> String {
        let style = Style {
            lines: false,
            markers: true,
            marker_r: 4.5,
            x_pad: 0.05,
        };
        render(&self.0, style, "scatter-plot")
    }
}

impl Plot for ScatterPlot {
    fn to_svg(&self) -> String {
        self.render()
    }
}
