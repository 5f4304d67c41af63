//! The HTML [`Report`] builder: one self-contained page (a single embedded `<style>`, inline
//! SVG, no script, no external reference) with a title, metadata lines, sections, paragraphs,
//! tables, preformatted blocks, figures and key-value summaries.
//!
//! All text is escaped, so names from user files (column names, node names) render as text.
//! Output is deterministic: the library never reads the clock; dates and commands are metadata
//! that the caller passes in.

use std::fmt::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::svg::Plot;

/// Escapes text for HTML/XML element content and attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab/newline are not allowed in HTML text.
            c if c.is_control() && c != '\n' && c != '\t' && c != '\r' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// One table cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Cell {
    /// Text, left-aligned.
    Text(String),
    /// A number with its display text, right-aligned; `value` decides the column's best cell.
    Num {
        /// The value compared for highlighting (NaN never wins).
        value: f64,
        /// What the cell shows.
        text: String,
    },
    /// Nothing.
    Empty,
}

impl Cell {
    /// A text cell that stays text even if it looks like a number.
    pub fn text(text: impl Into<String>) -> Self {
        Cell::Text(text.into())
    }

    /// A number shown with `decimals` decimals (NaN and infinities shown as "–", "∞", "−∞").
    pub fn num(value: f64, decimals: usize) -> Self {
        Cell::Num {
            value,
            text: format_value(value, Some(decimals.min(17))),
        }
    }

    /// A number shown as `text` (e.g. "0.93 ± 0.02"), right-aligned and compared by `value`.
    pub fn num_text(value: f64, text: impl Into<String>) -> Self {
        Cell::Num {
            value,
            text: text.into(),
        }
    }

    /// The displayed text.
    pub fn display(&self) -> &str {
        match self {
            Cell::Text(t) | Cell::Num { text: t, .. } => t,
            Cell::Empty => "",
        }
    }

    fn value(&self) -> Option<f64> {
        match self {
            Cell::Num { value, .. } if !value.is_nan() => Some(*value),
            _ => None,
        }
    }
}

/// Display text of a number: fixed decimals, or (without) the shortest text that reads back,
/// with at most 4 decimals for non-integers.
fn format_value(v: f64, decimals: Option<usize>) -> String {
    if v.is_nan() {
        "–".to_string()
    } else if v == f64::INFINITY {
        "∞".to_string()
    } else if v == f64::NEG_INFINITY {
        "−∞".to_string()
    } else {
        match decimals {
            Some(d) => format!("{v:.d$}"),
            None if v == v.trunc() && v.abs() < 1e15 => format!("{}", v as i64),
            None if v.abs() >= 1e6 || v.abs() < 1e-4 => format!("{v:.3e}"),
            None => {
                let s = format!("{v:.4}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        }
    }
}

impl From<f64> for Cell {
    /// A number with up to 4 decimals (integers without a fraction).
    fn from(value: f64) -> Self {
        Cell::Num {
            value,
            text: format_value(value, None),
        }
    }
}

impl From<f32> for Cell {
    fn from(value: f32) -> Self {
        Cell::from(f64::from(value))
    }
}

macro_rules! int_cells {
    ($($t:ty),*) => {$(
        impl From<$t> for Cell {
            fn from(value: $t) -> Self {
                Cell::Num { value: value as f64, text: value.to_string() }
            }
        }
    )*};
}
int_cells!(i32, i64, u32, u64, usize);

impl From<&str> for Cell {
    /// Text; a text that parses as a finite number becomes a right-aligned number cell showing
    /// the text unchanged. Use [`Cell::text`] to keep it text.
    fn from(text: &str) -> Self {
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Cell::Num {
                value: v,
                text: text.to_string(),
            },
            _ if text.is_empty() => Cell::Empty,
            _ => Cell::Text(text.to_string()),
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::from(text.as_str())
    }
}

impl From<&String> for Cell {
    fn from(text: &String) -> Self {
        Cell::from(text.as_str())
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Self {
        value.map_or(Cell::Empty, Into::into)
    }
}

/// Which value of a column is best.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Best {
    /// The largest (accuracy, F1, flip ratio...).
    Max,
    /// The smallest (cost, error...).
    Min,
}

/// A table: a header, rows of cells, an optional caption and optional highlighting of the best
/// value per column (every cell equal to the best is highlighted, so ties are all marked). Rows
/// shorter than the header are padded with empty cells.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HtmlTable {
    /// Column names.
    pub header: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<Cell>>,
    /// Caption shown above the table.
    pub caption: Option<String>,
    /// `(column, which value is best)`.
    pub best: Vec<(usize, Best)>,
}

impl HtmlTable {
    /// An empty table with these column names.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        HtmlTable {
            header: header.into_iter().map(Into::into).collect(),
            ..HtmlTable::default()
        }
    }

    /// Adds a row.
    pub fn row<C: Into<Cell>>(mut self, cells: impl IntoIterator<Item = C>) -> Self {
        self.push_row(cells);
        self
    }

    /// Adds a row (in place, for loops).
    pub fn push_row<C: Into<Cell>>(&mut self, cells: impl IntoIterator<Item = C>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Sets the caption.
    pub fn caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// Highlights the largest number in column `col`.
    pub fn highlight_max(mut self, col: usize) -> Self {
        self.best.push((col, Best::Max));
        self
    }

    /// Highlights the smallest number in column `col`.
    pub fn highlight_min(mut self, col: usize) -> Self {
        self.best.push((col, Best::Min));
        self
    }

    /// The first `max_rows` rows of a data table (numbers shown as in Remedy's files, missing
    /// cells empty).
    pub fn from_table(table: &remedy_core::Table, max_rows: usize) -> Self {
        let mut t = HtmlTable::new(table.names().iter().cloned());
        let cols: Vec<&remedy_core::Column> = table.columns().map(|(_, c)| c).collect();
        for r in 0..table.n_rows().min(max_rows) {
            let row = cols.iter().map(|c| match c {
                remedy_core::Column::Num(v) => match v.get(r) {
                    Some(x) if !x.is_nan() => Cell::Num {
                        value: *x,
                        text: remedy_core::table::format_number(*x),
                    },
                    _ => Cell::Empty,
                },
                remedy_core::Column::Text(v) => {
                    v.get(r).map_or(Cell::Empty, |s| Cell::Text(s.clone()))
                }
            });
            t.push_row(row);
        }
        t
    }

    fn n_cols(&self) -> usize {
        self.rows
            .iter()
            .map(Vec::len)
            .chain([self.header.len()])
            .max()
            .unwrap_or(0)
    }

    /// The best value of each column (per the highlight settings).
    fn best_values(&self) -> Vec<Option<f64>> {
        let mut best = vec![None; self.n_cols()];
        for &(col, which) in &self.best {
            if col >= best.len() {
                continue;
            }
            let values = self
                .rows
                .iter()
                .filter_map(|r| r.get(col).and_then(Cell::value));
            best[col] = match which {
                Best::Max => values.reduce(f64::max),
                Best::Min => values.reduce(f64::min),
            };
        }
        best
    }

    /// The table as an HTML `<table>` element.
    pub fn render(&self) -> String {
        let nc = self.n_cols();
        let best = self.best_values();
        // A column whose cells are all numbers (or empty) gets a right-aligned header too.
        let numeric_col: Vec<bool> = (0..nc)
            .map(|c| {
                let mut any = false;
                for r in &self.rows {
                    match r.get(c) {
                        Some(Cell::Num { .. }) => any = true,
                        Some(Cell::Text(_)) => return false,
                        _ => {}
                    }
                }
                any
            })
            .collect();
        let mut out = String::from("<div class=\"table-wrap\"><table>");
        if let Some(c) = &self.caption {
            let _ = write!(out, "<caption>{}</caption>", escape(c));
        }
        if nc > 0 {
            out.push_str("<thead><tr>");
            for (c, &numeric) in numeric_col.iter().enumerate() {
                let name = self.header.get(c).map_or("", String::as_str);
                let class = if numeric { " class=\"num\"" } else { "" };
                let _ = write!(out, "<th scope=\"col\"{class}>{}</th>", escape(name));
            }
            out.push_str("</tr></thead>");
        }
        out.push_str("<tbody>");
        for row in &self.rows {
            out.push_str("<tr>");
            for (c, best) in best.iter().enumerate() {
                let cell = row.get(c).unwrap_or(&Cell::Empty);
                let text = escape(cell.display());
                match cell {
                    Cell::Num { value, .. } if *best == Some(*value) => {
                        let _ = write!(out, "<td class=\"num best\"><strong>{text}</strong></td>");
                    }
                    Cell::Num { .. } => {
                        let _ = write!(out, "<td class=\"num\">{text}</td>");
                    }
                    _ => {
                        let _ = write!(out, "<td>{text}</td>");
                    }
                }
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");
        out
    }
}

/// One block of a report.
#[derive(Debug, Clone, PartialEq)]
enum Block {
    Section(String),
    Subsection(String),
    Paragraph(String),
    Table(HtmlTable),
    Pre(String),
    Figure { svg: String, caption: String },
    Summary(Vec<(String, String)>),
    Note(String),
}

/// A self-contained HTML report.
///
/// ```
/// use remedy_report::{HtmlTable, Report};
/// use remedy_report::svg::LinePlot;
///
/// let mut r = Report::new("RootCLAM reproduction");
/// r.subtitle("Loan benchmark")
///     .meta("command", "remedy reproduce rootclam --seed 7")
///     .meta("date", "2025-01-01");
/// r.section("Results")
///     .paragraph("Flip ratio per method.")
///     .table(
///         HtmlTable::new(["method", "flip ratio"])
///             .row(["RootCLAM", "0.97"])
///             .row(["NaiveAM", "0.91"])
///             .highlight_max(1),
///     )
///     .plot(&LinePlot::new("").series("RootCLAM", [(0.0, 0.1), (1.0, 0.9)]), "Training curve.");
/// let html = r.render();
/// assert!(html.starts_with("<!DOCTYPE html>"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    title: String,
    subtitle: Option<String>,
    meta: Vec<(String, String)>,
    blocks: Vec<Block>,
}

impl Report {
    /// An empty report with a title.
    pub fn new(title: impl Into<String>) -> Self {
        Report {
            title: title.into(),
            ..Report::default()
        }
    }

    /// A line under the title.
    pub fn subtitle(&mut self, text: impl Into<String>) -> &mut Self {
        self.subtitle = Some(text.into());
        self
    }

    /// A metadata line under the title, e.g. `("command", "...")`, `("seed", "7")`,
    /// `("date", ...)`; shown in the order added.
    pub fn meta(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.meta.push((key.into(), value.into()));
        self
    }

    /// Starts a section with a heading (`<h2>`; listed in the contents when there are three or
    /// more).
    pub fn section(&mut self, heading: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Section(heading.into()));
        self
    }

    /// A subheading (`<h3>`) within the current section.
    pub fn subsection(&mut self, heading: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Subsection(heading.into()));
        self
    }

    /// A paragraph of text (escaped; blank lines split it into several paragraphs).
    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Paragraph(text.into()));
        self
    }

    /// A highlighted note (a warning or a caveat, e.g. "reduced run: 2 seeds").
    pub fn note(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Note(text.into()));
        self
    }

    /// A table.
    pub fn table(&mut self, table: HtmlTable) -> &mut Self {
        self.blocks.push(Block::Table(table));
        self
    }

    /// A preformatted block (logs, configs, commands), escaped.
    pub fn pre(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Pre(text.into()));
        self
    }

    /// A figure from an SVG element rendered by this crate (or any trusted inline SVG: it is
    /// embedded as is, apart from a dropped XML declaration and `xmlns` attribute), with a
    /// caption (escaped; may be empty).
    pub fn figure(&mut self, svg: impl Into<String>, caption: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Figure {
            svg: inline_svg(&svg.into()),
            caption: caption.into(),
        });
        self
    }

    /// A figure from a plot.
    pub fn plot(&mut self, plot: &dyn Plot, caption: impl Into<String>) -> &mut Self {
        self.figure(plot.to_svg(), caption)
    }

    /// A key-value summary block (e.g. "anomalies: 120", "flip ratio: 0.97").
    pub fn summary<K: Into<String>, V: Into<String>>(
        &mut self,
        items: impl IntoIterator<Item = (K, V)>,
    ) -> &mut Self {
        self.blocks.push(Block::Summary(
            items
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ));
        self
    }

    /// The whole page.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str(
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"remedy-report\">\n",
        );
        let _ = writeln!(out, "<title>{}</title>", escape(&self.title));
        let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");
        let _ = writeln!(out, "<header>\n<h1>{}</h1>", escape(&self.title));
        if let Some(s) = &self.subtitle {
            let _ = writeln!(out, "<p class=\"subtitle\">{}</p>", escape(s));
        }
        if !self.meta.is_empty() {
            out.push_str("<dl class=\"meta\">");
            for (k, v) in &self.meta {
                let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
            }
            out.push_str("</dl>\n");
        }
        out.push_str("</header>\n");

        let sections: Vec<&str> = self
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Section(h) => Some(h.as_str()),
                _ => None,
            })
            .collect();
        if sections.len() >= 3 {
            out.push_str("<nav class=\"toc\"><h2>Contents</h2><ol>");
            for (i, h) in sections.iter().enumerate() {
                let _ = write!(out, "<li><a href=\"#s{}\">{}</a></li>", i + 1, escape(h));
            }
            out.push_str("</ol></nav>\n");
        }

        let mut open = false;
        let mut section_no = 0;
        let mut figure_no = 0;
        for b in &self.blocks {
            match b {
                Block::Section(h) => {
                    if open {
                        out.push_str("</section>\n");
                    }
                    section_no += 1;
                    let _ = write!(
                        out,
                        "<section id=\"s{section_no}\">\n<h2>{}</h2>\n",
                        escape(h)
                    );
                    open = true;
                }
                Block::Subsection(h) => {
                    let _ = writeln!(out, "<h3>{}</h3>", escape(h));
                }
                Block::Paragraph(t) => {
                    for para in t.split("\n\n").filter(|p| !p.trim().is_empty()) {
                        let _ = writeln!(out, "<p>{}</p>", escape(para.trim()));
                    }
                }
                Block::Note(t) => {
                    let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(t));
                }
                Block::Table(t) => {
                    out.push_str(&t.render());
                    out.push('\n');
                }
                Block::Pre(t) => {
                    let _ = writeln!(out, "<pre>{}</pre>", escape(t));
                }
                Block::Figure { svg, caption } => {
                    figure_no += 1;
                    let _ = write!(out, "<figure>\n{svg}\n");
                    if !caption.is_empty() {
                        let _ = writeln!(
                            out,
                            "<figcaption><span class=\"fig-no\">Figure {figure_no}.</span> {}</figcaption>",
                            escape(caption)
                        );
                    }
                    out.push_str("</figure>\n");
                }
                Block::Summary(items) => {
                    out.push_str("<dl class=\"summary\">");
                    for (k, v) in items {
                        let _ = write!(
                            out,
                            "<div><dt>{}</dt><dd>{}</dd></div>",
                            escape(k),
                            escape(v)
                        );
                    }
                    out.push_str("</dl>\n");
                }
            }
        }
        if open {
            out.push_str("</section>\n");
        }
        out.push_str("<footer>Generated by remedy-report.</footer>\n</main>\n</body>\n</html>\n");
        out
    }

    /// Writes the page to `path` (through a temporary file and a rename).
    pub fn write(&self, path: &Path) -> remedy_core::Result<()> {
        remedy_core::io::write_atomic(path, self.render().as_bytes())
    }
}

/// An SVG ready for inlining: XML declaration and SVG namespace dropped (HTML needs neither).
fn inline_svg(svg: &str) -> String {
    let s = svg.trim();
    let s = match s.strip_prefix("<?xml") {
        Some(rest) => rest.find("?>").map_or(s, |i| rest[i + 2..].trim_start()),
        None => s,
    };
    s.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

/// The one stylesheet: system fonts, a readable measure, sober tables, print rules.
const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --rule: #d0d7de; --soft: #f6f8fa; --accent: #0072B2; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #ffffff; color: var(--ink);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 16px; line-height: 1.55; }
main { max-width: 60rem; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
header { border-bottom: 2px solid var(--ink); margin-bottom: 1.5rem; padding-bottom: 0.75rem; }
h1 { font-size: 1.8rem; line-height: 1.2; margin: 0 0 0.3rem; }
h2 { font-size: 1.35rem; margin: 2.2rem 0 0.6rem; padding-bottom: 0.2rem; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.1rem; margin: 1.6rem 0 0.4rem; }
p { margin: 0.6rem 0; max-width: 46rem; }
.subtitle { color: var(--muted); font-size: 1.1rem; margin: 0 0 0.5rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem; margin: 0.5rem 0 0; font-size: 0.9rem; color: var(--muted); }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; overflow-wrap: anywhere; }
nav.toc { background: var(--soft); border: 1px solid var(--rule); border-radius: 6px; padding: 0.5rem 1rem; margin: 1rem 0; }
nav.toc h2 { font-size: 1rem; border: 0; margin: 0.3rem 0; }
nav.toc ol { margin: 0.2rem 0 0.4rem; padding-left: 1.4rem; }
a { color: var(--accent); }
.table-wrap { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; font-size: 0.92rem; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; color: var(--muted); padding-bottom: 0.35rem; font-size: 0.9rem; }
th, td { padding: 0.3rem 0.75rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid var(--ink); font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even) { background: var(--soft); }
td.num, th.num { text-align: right; white-space: nowrap; }
td.best strong { font-weight: 700; }
pre { background: var(--soft); border: 1px solid var(--rule); border-radius: 6px; padding: 0.75rem 1rem; overflow-x: auto;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.85rem; line-height: 1.45; white-space: pre; }
figure { margin: 1.5rem 0; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 0.4rem; max-width: 46rem; }
.fig-no { font-weight: 600; color: var(--ink); }
dl.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: 0.6rem; margin: 1rem 0; }
dl.summary div { border: 1px solid var(--rule); border-radius: 6px; padding: 0.5rem 0.75rem; }
dl.summary dt { font-size: 0.8rem; color: var(--muted); }
dl.summary dd { margin: 0; font-size: 1.2rem; font-weight: 600; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.note { border-left: 4px solid #E69F00; background: #fff8e6; padding: 0.5rem 0.8rem; }
footer { margin-top: 3rem; padding-top: 0.5rem; border-top: 1px solid var(--rule); color: var(--muted); font-size: 0.8rem; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  a { color: inherit; text-decoration: none; }
  tbody tr:nth-child(even), pre, dl.summary div, .note { background: none; }
  .table-wrap { overflow: visible; }
  pre { white-space: pre-wrap; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  figure, table, pre, dl.summary { break-inside: avoid; page-break-inside: avoid; }
}
"#;
