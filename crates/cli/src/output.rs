//! Rendering result tables as aligned text, CSV, JSON or JSON lines, to stdout or a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use remedy_core::io::{to_csv_string, write_atomic};
use remedy_core::{Column, Error, Result, Table};

use crate::args::Format;

/// Renders `table` in `format`.
pub fn render(table: &Table, format: Format) -> String {
    match format {
        Format::Csv => to_csv_string(table),
        Format::Table => aligned(table),
        Format::Json => {
            let rows: Vec<serde_json::Value> =
                (0..table.n_rows()).map(|i| row_json(table, i)).collect();
            let mut s = serde_json::to_string_pretty(&rows).expect("JSON of numbers and text");
            s.push('\n');
            s
        }
        Format::Jsonl => (0..table.n_rows())
            .map(|i| format!("{}\n", row_json(table, i)))
            .collect(),
    }
}

pub fn row_json(table: &Table, i: usize) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (name, col) in table.columns() {
        let v = match col {
            // Whole numbers (row numbers, 0/1 flags, counts) are written as integers.
            Column::Num(v) if v[i].fract() == 0.0 && v[i].abs() < 9.0e15 => {
                serde_json::Value::Number((v[i] as i64).into())
            }
            Column::Num(v) => serde_json::Number::from_f64(v[i])
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Column::Text(v) => serde_json::Value::String(v[i].clone()),
        };
        m.insert(name.to_string(), v);
    }
    serde_json::Value::Object(m)
}

/// Numbers with three decimals (integers as integers; magnitudes below 0.001, such as small
/// p-values, in scientific notation so they do not print as 0.000), columns right-aligned.
fn aligned(table: &Table) -> String {
    aligned_with(table, &mut Vec::new(), true)
}

/// [`aligned`] for one batch of a longer output: each column at least as wide as `widths`
/// says (widened where this batch needs it), the header line only with `header`.
pub fn aligned_with(table: &Table, widths: &mut Vec<usize>, header: bool) -> String {
    let cells: Vec<Vec<String>> = table
        .columns()
        .map(|(name, col)| {
            std::iter::once(name.to_string())
                .chain((0..table.n_rows()).map(|i| match col {
                    Column::Num(v) if v[i] == v[i].trunc() && v[i].abs() < 1e15 => {
                        format!("{}", v[i] as i64)
                    }
                    Column::Num(v) if v[i] != 0.0 && v[i].abs() < 1e-3 => format!("{:.1e}", v[i]),
                    Column::Num(v) => format!("{:.3}", v[i]),
                    Column::Text(v) => v[i].clone(),
                }))
                .collect()
        })
        .collect();
    widths.resize(cells.len(), 0);
    for (w, c) in widths.iter_mut().zip(&cells) {
        *w = (*w).max(c.iter().map(|s| s.chars().count()).max().unwrap_or(0));
    }
    let mut out = String::new();
    for i in usize::from(!header)..=table.n_rows() {
        let line: Vec<String> = cells
            .iter()
            .zip(widths.iter())
            .map(|(c, w)| format!("{:>w$}", c[i], w = w))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Writes `text` to `path` (atomically) or to stdout. Refuses to write over any of `inputs`.
pub fn emit(text: &str, path: Option<&PathBuf>, inputs: &[&Path]) -> Result<()> {
    match path {
        Some(p) => {
            refuse_inputs(p, inputs)?;
            write_atomic(p, text.as_bytes())
        }
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => Ok(()),
                // A closed pipe (`| head`) is not an error worth reporting.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Error::io("<stdout>", e)),
            }
        }
    }
}

/// Refuses an output path that is one of the input files.
pub fn refuse_inputs(path: &Path, inputs: &[&Path]) -> Result<()> {
    if inputs.iter().any(|input| same_file(path, input)) {
        return Err(Error::invalid(format!(
            "-o {} would overwrite an input file; choose another output path",
            path.display()
        )));
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_numbers_stay_readable_in_tables() {
        let t = Table::new(vec![(
            "pvalue".to_string(),
            Column::Num(vec![0.5, 2.3e-9, 0.0, 3.0]),
        )])
        .unwrap();
        let text = render(&t, Format::Table);
        let cells: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(cells, ["pvalue", "0.500", "2.3e-9", "0", "3"]);
    }
}
