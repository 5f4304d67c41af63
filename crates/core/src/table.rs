//! An in-memory table of named columns, numeric or text. Readers keep cells as they are; the
//! accessors that models use ([`Table::matrix`]) check finiteness and name the row and column
//! of the first bad cell.

use crate::{Error, Result};

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numbers; a missing cell is NaN.
    Num(Vec<f64>),
    /// Text (a column in which some cell is not a number).
    Text(Vec<String>),
}

impl Column {
    /// Number of cells.
    pub fn len(&self) -> usize {
        match self {
            Column::Num(v) => v.len(),
            Column::Text(v) => v.len(),
        }
    }

    /// True when the column has no cell.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cell `i` as text.
    pub fn text(&self, i: usize) -> String {
        match self {
            Column::Num(v) => format_number(v[i]),
            Column::Text(v) => v[i].clone(),
        }
    }
}

/// Formats a number the way Remedy writes files: the shortest text that reads back to the same
/// `f64`, so files round-trip bit for bit; integers are written without a fraction.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A table: named columns of equal length. `source` names where it was read from, for errors.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Column>,
    source: String,
    /// Rows of the source before this table's first (a batch of a larger file), so that
    /// errors name the row of the file.
    first_row: usize,
}

impl Table {
    /// A table from `(name, column)` pairs. Names must be unique and columns equally long.
    pub fn new(columns: Vec<(String, Column)>) -> Result<Self> {
        let mut names = Vec::with_capacity(columns.len());
        let mut cols = Vec::with_capacity(columns.len());
        for (n, c) in columns {
            if names.contains(&n) {
                return Err(Error::invalid(format!("duplicate column '{n}'")));
            }
            if let Some(first) = cols.first().map(Column::len)
                && c.len() != first
            {
                return Err(Error::invalid(format!(
                    "column '{n}' has {} rows, the others {first}",
                    c.len()
                )));
            }
            names.push(n);
            cols.push(c);
        }
        Ok(Table {
            names,
            columns: cols,
            source: "table".into(),
            first_row: 0,
        })
    }

    /// A numeric table from a row-major matrix.
    pub fn from_rows(names: &[String], rows: &[Vec<f64>]) -> Result<Self> {
        let cols = names
            .iter()
            .enumerate()
            .map(|(j, n)| (n.clone(), Column::Num(rows.iter().map(|r| r[j]).collect())))
            .collect();
        Table::new(cols)
    }

    /// Sets the name used in error messages (usually the file path).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// Marks the table as a batch of its source that starts after `rows` rows: errors name
    /// the row of the source.
    pub fn with_first_row(mut self, rows: usize) -> Self {
        self.first_row = rows;
        self
    }

    /// Rows of the source before this table's first.
    pub fn first_row(&self) -> usize {
        self.first_row
    }

    /// Where the table came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.columns.len()
    }

    /// True when the table has the named column.
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The named column, or an error naming the column and the file.
    pub fn column(&self, name: &str) -> Result<&Column> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.columns[i])
            .ok_or_else(|| Error::MissingColumn {
                file: self.source.clone(),
                column: name.to_string(),
            })
    }

    /// All columns in order.
    pub fn columns(&self) -> impl Iterator<Item = (&str, &Column)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.columns.iter())
    }

    /// Appends a column.
    pub fn push(&mut self, name: impl Into<String>, column: Column) -> Result<()> {
        let name = name.into();
        if self.has(&name) {
            return Err(Error::invalid(format!("duplicate column '{name}'")));
        }
        if !self.columns.is_empty() && column.len() != self.n_rows() {
            return Err(Error::invalid(format!(
                "column '{name}' has {} rows, the table {}",
                column.len(),
                self.n_rows()
            )));
        }
        self.names.push(name);
        self.columns.push(column);
        Ok(())
    }

    /// The named column as finite numbers. Fails on a missing column, a text cell or a missing,
    /// NaN or infinite value, naming the first bad row (1-based) and the column.
    pub fn numeric(&self, name: &str) -> Result<&[f64]> {
        match self.column(name)? {
            Column::Num(v) => {
                if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                    let message = if v[i].is_nan() {
                        "missing or NaN value".to_string()
                    } else {
                        format!("infinite value {}", v[i])
                    };
                    return Err(self.cell_error(i, name, message));
                }
                Ok(v)
            }
            Column::Text(v) => {
                let i = v
                    .iter()
                    .position(|s| s.trim().parse::<f64>().is_err())
                    .unwrap_or(0);
                Err(self.cell_error(i, name, format!("'{}' is not a number", v[i])))
            }
        }
    }

    /// The named columns as a row-major matrix of finite numbers (see [`Table::numeric`]).
    pub fn matrix(&self, names: &[&str]) -> Result<Vec<Vec<f64>>> {
        let cols: Vec<&[f64]> = names
            .iter()
            .map(|n| self.numeric(n))
            .collect::<Result<_>>()?;
        Ok((0..self.n_rows())
            .map(|i| cols.iter().map(|c| c[i]).collect())
            .collect())
    }

    /// An error about cell (`row` 0-based within this table, `column`); the row it names is
    /// the source's (1-based).
    pub fn cell_error(&self, row: usize, column: &str, message: impl Into<String>) -> Error {
        Error::Cell {
            file: self.source.clone(),
            row: self.first_row + row + 1,
            column: column.to_string(),
            message: message.into(),
        }
    }

    /// The rows whose indices are given, in that order.
    pub fn select_rows(&self, rows: &[usize]) -> Table {
        let columns = self
            .columns
            .iter()
            .map(|c| match c {
                Column::Num(v) => Column::Num(rows.iter().map(|&i| v[i]).collect()),
                Column::Text(v) => Column::Text(rows.iter().map(|&i| v[i].clone()).collect()),
            })
            .collect();
        Table {
            names: self.names.clone(),
            columns,
            source: self.source.clone(),
            first_row: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_access_names_the_bad_cell() {
        let t = Table::new(vec![
            ("a".into(), Column::Num(vec![1.0, f64::NAN])),
            ("b".into(), Column::Text(vec!["1".into(), "x".into()])),
        ])
        .unwrap()
        .with_source("f.csv");
        let e = t.numeric("a").unwrap_err().to_string();
        assert_eq!(e, "f.csv: row 2, column 'a': missing or NaN value");
        let e = t.numeric("b").unwrap_err().to_string();
        assert_eq!(e, "f.csv: row 2, column 'b': 'x' is not a number");
        let e = t.numeric("zz").unwrap_err().to_string();
        assert_eq!(e, "f.csv: missing column 'zz'");
    }

    #[test]
    fn shapes_are_checked() {
        assert!(
            Table::new(vec![
                ("a".into(), Column::Num(vec![1.0])),
                ("a".into(), Column::Num(vec![1.0]))
            ])
            .is_err()
        );
        assert!(
            Table::new(vec![
                ("a".into(), Column::Num(vec![1.0])),
                ("b".into(), Column::Num(vec![1.0, 2.0]))
            ])
            .is_err()
        );
    }

    #[test]
    fn number_format_round_trips() {
        for v in [0.1, -5.958, 1e-300, 123456789.123, 60816.0, -0.0] {
            let s = format_number(v);
            assert_eq!(s.parse::<f64>().unwrap(), v, "{s}");
        }
        assert_eq!(format_number(60816.0), "60816");
    }
}
