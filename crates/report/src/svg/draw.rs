//! Shared drawing machinery: number formatting for coordinates, scales, the axis frame with
//! grid, ticks and labels, legends, marker shapes and the "no data" note.

use std::fmt::Write;

use super::ticks::{format_tick, log_tick_labels, log_ticks, nice_ticks, tick_step};
use crate::html::escape;

/// Font stack of every SVG (the same as the HTML body).
pub(crate) const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
/// Colour of axes, tick labels and text.
pub(crate) const INK: &str = "#222222";
/// Colour of grid lines.
pub(crate) const GRID: &str = "#e4e4e4";
/// Colour of reference lines.
pub(crate) const REF: &str = "#555555";
/// Magnitudes above this count as non-finite (their spans would overflow).
const HUGE: f64 = 1e300;

/// A coordinate or length as compact text: at most two decimals, no trailing zeros, never NaN
/// (a non-finite value becomes 0; callers never pass one).
pub(crate) fn n(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let r = (v * 100.0).round() / 100.0;
    let r = if r == 0.0 { 0.0 } else { r };
    let s = format!("{r:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Approximate width in pixels of `text` at `size` px in a sans-serif font.
pub(crate) fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.58
}

/// `text` cut to `max` characters with an ellipsis.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// 64-bit FNV-1a hash, for deterministic element ids (clip paths).
pub(crate) fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// True for a value a plot can use (finite, not absurdly large; positive on a log axis).
pub(crate) fn usable(v: f64, log: bool) -> bool {
    v.is_finite() && v.abs() < HUGE && (!log || v > 0.0)
}

/// The `[lo, hi]` range of the usable values, widened when degenerate and padded by `pad` (a
/// fraction of the span, or of the decades on a log axis). `None` when no value is usable.
pub(crate) fn domain(
    values: impl IntoIterator<Item = f64>,
    log: bool,
    pad: f64,
) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values {
        if usable(v, log) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if lo > hi {
        return None;
    }
    if log {
        let (mut a, mut b) = (lo.log10(), hi.log10());
        if a == b {
            a -= 0.5;
            b += 0.5;
        }
        let p = (b - a) * pad;
        Some((10f64.powf(a - p), 10f64.powf(b + p)))
    } else {
        if lo == hi {
            let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            lo -= d;
            hi += d;
        }
        let p = (hi - lo) * pad;
        let (a, b) = (lo - p, hi + p);
        // Do not pad a non-negative range below zero or a non-positive one above zero.
        let a = if lo >= 0.0 && a < 0.0 { 0.0 } else { a };
        let b = if hi <= 0.0 && b > 0.0 { 0.0 } else { b };
        Some((a, b))
    }
}

/// A map from data values to pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
    pub p0: f64,
    pub p1: f64,
}

impl Scale {
    pub fn new(lo: f64, hi: f64, log: bool, p0: f64, p1: f64) -> Self {
        Scale {
            lo,
            hi,
            log,
            p0,
            p1,
        }
    }

    fn t(&self, v: f64) -> f64 {
        if self.log { v.log10() } else { v }
    }

    /// Pixel of `v`, or `None` when `v` cannot be placed (non-finite, not positive on a log
    /// axis).
    pub fn map(&self, v: f64) -> Option<f64> {
        if !usable(v, self.log) {
            return None;
        }
        let (a, b) = (self.t(self.lo), self.t(self.hi));
        let f = if b > a {
            (self.t(v) - a) / (b - a)
        } else {
            0.5
        };
        let p = self.p0 + f * (self.p1 - self.p0);
        p.is_finite().then_some(p)
    }

    /// Pixel of `v` clamped into the domain.
    pub fn map_clamped(&self, v: f64) -> Option<f64> {
        if v.is_nan() {
            return None;
        }
        let c = v.clamp(self.lo, self.hi);
        self.map(c)
    }

    /// Ticks and their labels.
    pub fn ticks(&self, target: usize) -> Vec<(f64, String)> {
        if self.log {
            let t = log_ticks(self.lo, self.hi);
            let labels = log_tick_labels(&t);
            t.into_iter().zip(labels).collect()
        } else {
            let t = nice_ticks(self.lo, self.hi, target);
            let step = tick_step(&t);
            t.into_iter().map(|v| (v, format_tick(v, step))).collect()
        }
    }
}

/// The plotting rectangle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

/// Opens an `<svg>` element (no `xmlns`: inline SVG in HTML does not need one; see
/// [`super::standalone`]) with a white background and the title.
pub(crate) fn open(out: &mut String, w: f64, h: f64, title: &str, class: &str) {
    let _ = write!(
        out,
        "<svg class=\"plot {class}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         role=\"img\" font-family=\"{FONT}\" font-size=\"12\">",
        w = n(w),
        h = n(h),
    );
    if !title.is_empty() {
        let _ = write!(out, "<title>{}</title>", escape(title));
    }
    let _ = write!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>",
        n(w),
        n(h)
    );
    if !title.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"600\" fill=\"{INK}\">{}</text>",
            n(w / 2.0),
            escape(title)
        );
    }
}

/// Height taken by the title line.
pub(crate) fn title_height(title: &str) -> f64 {
    if title.is_empty() { 8.0 } else { 28.0 }
}

/// Width of the tick labels of a y scale.
pub(crate) fn tick_label_width(ticks: &[(f64, String)]) -> f64 {
    ticks
        .iter()
        .map(|(_, l)| text_width(l, 11.0))
        .fold(0.0, f64::max)
}

/// How the x ticks of a frame are labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XLabels {
    /// Tick labels and the axis label under the frame.
    Full,
    /// Grid and tick marks only (upper panels of a stacked figure).
    None,
}

/// Draws grid lines, axes, ticks, tick labels and axis labels.
#[allow(clippy::too_many_arguments)]
pub(crate) fn frame(
    out: &mut String,
    r: Rect,
    xs: Option<&Scale>,
    ys: &Scale,
    x_label: &str,
    y_label: &str,
    x_target: usize,
    y_target: usize,
    x_labels: XLabels,
) {
    let yt = ys.ticks(y_target);
    for (v, label) in &yt {
        if let Some(py) = ys.map(*v) {
            let _ = write!(
                out,
                "<line x1=\"{a}\" y1=\"{y}\" x2=\"{b}\" y2=\"{y}\" stroke=\"{GRID}\" stroke-width=\"1\"/>\
                 <line x1=\"{c}\" y1=\"{y}\" x2=\"{a}\" y2=\"{y}\" stroke=\"{INK}\" stroke-width=\"1\"/>\
                 <text x=\"{t}\" y=\"{ty}\" text-anchor=\"end\" font-size=\"11\" fill=\"{INK}\">{l}</text>",
                a = n(r.x0),
                b = n(r.x1),
                c = n(r.x0 - 4.0),
                y = n(py),
                t = n(r.x0 - 7.0),
                ty = n(py + 4.0),
                l = escape(label),
            );
        }
    }
    if let Some(xs) = xs {
        let xt = xs.ticks(x_target);
        for (v, label) in &xt {
            if let Some(px) = xs.map(*v) {
                let _ = write!(
                    out,
                    "<line x1=\"{x}\" y1=\"{a}\" x2=\"{x}\" y2=\"{b}\" stroke=\"{GRID}\" stroke-width=\"1\"/>\
                     <line x1=\"{x}\" y1=\"{b}\" x2=\"{x}\" y2=\"{c}\" stroke=\"{INK}\" stroke-width=\"1\"/>",
                    x = n(px),
                    a = n(r.y0),
                    b = n(r.y1),
                    c = n(r.y1 + 4.0),
                );
                if x_labels == XLabels::Full {
                    let _ = write!(
                        out,
                        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"{INK}\">{}</text>",
                        n(px),
                        n(r.y1 + 16.0),
                        escape(label)
                    );
                }
            }
        }
    }
    let _ = write!(
        out,
        "<path d=\"M{a} {b}V{c}H{d}\" fill=\"none\" stroke=\"{INK}\" stroke-width=\"1\"/>",
        a = n(r.x0),
        b = n(r.y0),
        c = n(r.y1),
        d = n(r.x1),
    );
    if !x_label.is_empty() && x_labels == XLabels::Full {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
            n((r.x0 + r.x1) / 2.0),
            n(r.y1 + 34.0),
            escape(x_label)
        );
    }
    if !y_label.is_empty() {
        let w = tick_label_width(&yt);
        let x = r.x0 - w - 16.0;
        let y = (r.y0 + r.y1) / 2.0;
        let _ = write!(
            out,
            "<text x=\"{x}\" y=\"{y}\" transform=\"rotate(-90 {x} {y})\" text-anchor=\"middle\" fill=\"{INK}\">{}</text>",
            escape(y_label),
            x = n(x),
            y = n(y),
        );
    }
}

/// Writes the "no data" note centred in `r`.
pub(crate) fn no_data(out: &mut String, r: Rect) {
    let _ = write!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{GRID}\"/>\
         <text class=\"no-data\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#767676\" font-style=\"italic\">no data</text>",
        n(r.x0),
        n(r.y0),
        n((r.x1 - r.x0).max(0.0)),
        n((r.y1 - r.y0).max(0.0)),
        n((r.x0 + r.x1) / 2.0),
        n((r.y0 + r.y1) / 2.0 + 4.0),
    );
}

/// What a legend entry shows next to its name.
#[derive(Debug, Clone)]
pub(crate) enum Swatch {
    /// A line (optionally dashed) with an optional marker shape.
    Line {
        colour: String,
        dashed: bool,
        marker: Option<usize>,
    },
    /// A marker alone.
    Marker { colour: String, shape: usize },
    /// A filled box.
    Box {
        fill: String,
        stroke: String,
        opacity: f64,
    },
}

/// Height of a legend with these entries laid out in rows of at most `width` pixels.
pub(crate) fn legend_height(entries: &[(String, Swatch)], width: f64) -> f64 {
    legend_rows(entries, width).len() as f64 * 18.0
}

fn legend_rows(entries: &[(String, Swatch)], width: f64) -> Vec<Vec<(usize, f64)>> {
    let mut rows: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut used = f64::INFINITY;
    for (i, (name, _)) in entries.iter().enumerate() {
        let w = 30.0 + text_width(&truncate(name, 40), 12.0) + 14.0;
        if used + w > width && used > 0.0 {
            rows.push(Vec::new());
            used = 0.0;
        }
        if let Some(row) = rows.last_mut() {
            row.push((i, w));
        }
        used += w;
    }
    rows
}

/// Draws a legend centred over `[x0, x1]`, rows starting at `y`.
pub(crate) fn legend(out: &mut String, entries: &[(String, Swatch)], x0: f64, x1: f64, y: f64) {
    if entries.is_empty() {
        return;
    }
    out.push_str("<g class=\"legend\">");
    for (row_i, row) in legend_rows(entries, x1 - x0).iter().enumerate() {
        let total: f64 = row.iter().map(|(_, w)| w).sum();
        let mut x = x0 + ((x1 - x0 - total) / 2.0).max(0.0);
        let cy = y + row_i as f64 * 18.0 + 9.0;
        for &(i, w) in row {
            let (name, swatch) = &entries[i];
            match swatch {
                Swatch::Line {
                    colour,
                    dashed,
                    marker,
                } => {
                    let _ = write!(
                        out,
                        "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"{}/>",
                        n(x),
                        n(x + 24.0),
                        if *dashed {
                            " stroke-dasharray=\"6 4\""
                        } else {
                            ""
                        },
                        y = n(cy),
                    );
                    if let Some(shape) = marker {
                        out.push_str(&marker_svg(*shape, x + 12.0, cy, 3.5, colour));
                    }
                }
                Swatch::Marker { colour, shape } => {
                    out.push_str(&marker_svg(*shape, x + 12.0, cy, 4.0, colour));
                }
                Swatch::Box {
                    fill,
                    stroke,
                    opacity,
                } => {
                    let _ = write!(
                        out,
                        "<rect x=\"{}\" y=\"{}\" width=\"20\" height=\"11\" fill=\"{fill}\" fill-opacity=\"{}\" stroke=\"{stroke}\"/>",
                        n(x + 2.0),
                        n(cy - 5.5),
                        n(*opacity),
                    );
                }
            }
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" fill=\"{INK}\">{}</text>",
                n(x + 30.0),
                n(cy + 4.0),
                escape(&truncate(name, 40))
            );
            x += w;
        }
    }
    out.push_str("</g>");
}

/// A marker of shape `shape` (cycled: circle, square, triangle, diamond, inverted triangle,
/// plus) at `(x, y)` with radius `r`, filled with `colour` and outlined in white
/// so overlapping markers stay apart.
pub(crate) fn marker_svg(shape: usize, x: f64, y: f64, r: f64, colour: &str) -> String {
    let style = format!("fill=\"{colour}\" stroke=\"#ffffff\" stroke-width=\"0.8\"");
    match shape % 6 {
        0 => format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" {style}/>",
            n(x),
            n(y),
            n(r)
        ),
        1 => {
            let s = r * 0.9;
            format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {style}/>",
                n(x - s),
                n(y - s),
                n(2.0 * s),
                n(2.0 * s)
            )
        }
        2 => polygon(
            &[
                (x, y - r * 1.2),
                (x + r * 1.1, y + r * 0.8),
                (x - r * 1.1, y + r * 0.8),
            ],
            &style,
        ),
        3 => polygon(
            &[
                (x, y - r * 1.25),
                (x + r * 1.1, y),
                (x, y + r * 1.25),
                (x - r * 1.1, y),
            ],
            &style,
        ),
        4 => polygon(
            &[
                (x, y + r * 1.2),
                (x + r * 1.1, y - r * 0.8),
                (x - r * 1.1, y - r * 0.8),
            ],
            &style,
        ),
        _ => {
            let a = r * 0.45;
            let b = r * 1.15;
            polygon(
                &[
                    (x - a, y - b),
                    (x + a, y - b),
                    (x + a, y - a),
                    (x + b, y - a),
                    (x + b, y + a),
                    (x + a, y + a),
                    (x + a, y + b),
                    (x - a, y + b),
                    (x - a, y + a),
                    (x - b, y + a),
                    (x - b, y - a),
                    (x - a, y - a),
                ],
                &style,
            )
        }
    }
}

/// A `<polygon>` through `points`.
pub(crate) fn polygon(points: &[(f64, f64)], style: &str) -> String {
    let pts: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
        .collect();
    format!("<polygon points=\"{}\" {style}/>", pts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_compact_and_finite() {
        assert_eq!(n(1.0), "1");
        assert_eq!(n(1.256), "1.26");
        assert_eq!(n(-0.001), "0");
        assert_eq!(n(f64::NAN), "0");
        assert_eq!(n(f64::INFINITY), "0");
    }

    #[test]
    fn domains() {
        assert_eq!(domain([1.0, f64::NAN, 3.0], false, 0.0), Some((1.0, 3.0)));
        assert_eq!(domain([f64::NAN], false, 0.0), None);
        assert_eq!(domain([2.0, 2.0], false, 0.0), Some((1.8, 2.2)));
        assert_eq!(domain([0.0, 1.0], false, 0.1), Some((0.0, 1.1)));
        assert_eq!(
            domain([-1.0, 0.0, 1.0], true, 0.0),
            Some((10f64.powf(-0.5), 10f64.powf(0.5)))
        );
    }
}
