//! Reading a CSV or Parquet file a batch of rows at a time, so that applying a model to a file
//! of any size needs memory for one batch only. Each batch is a [`Table`] whose errors name the
//! row of the file ([`Table::with_first_row`]); columns are typed per batch as [`read_table`]
//! types them per file (numbers when every non-empty cell parses, text otherwise).
//!
//! [`read_table`]: crate::io::read_table

use std::fs::File;
use std::io::Read;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::record::reader::RowIter;

use crate::io::{ColumnBuilder, csv_error, open_csv};
use crate::table::format_number;
use crate::{Column, Error, Result, Table};

/// Rows per batch unless told otherwise: about 5 MB of cells for ten numeric columns.
pub const DEFAULT_BATCH_ROWS: usize = 65_536;

/// The batches of one file (see [`read_batches`]).
pub struct TableBatches {
    source: String,
    batch_rows: usize,
    /// Rows handed out so far.
    rows: usize,
    /// Whether a batch was handed out (the first is handed out even when empty, so that a
    /// file with a header and no rows still gives its columns).
    started: bool,
    inner: Inner,
}

enum Inner {
    Csv {
        headers: Vec<String>,
        records: csv::StringRecordsIntoIter<Box<dyn Read>>,
    },
    Parquet {
        names: Vec<String>,
        rows: RowIter<'static>,
    },
    Done,
}

/// Opens `path` (CSV, or Parquet for a `.parquet`/`.pq` name) for reading `batch_rows` rows
/// at a time. The header (or Parquet schema) is read and checked here.
pub fn read_batches(path: &Path, batch_rows: usize) -> Result<TableBatches> {
    if batch_rows == 0 {
        return Err(Error::invalid("batches must hold at least one row"));
    }
    let source = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let inner = match ext.as_str() {
        "parquet" | "pq" => {
            let bad = |e: parquet::errors::ParquetError| {
                Error::format(&source, format!("not a readable Parquet file: {e}"))
            };
            let reader = SerializedFileReader::new(f).map_err(bad)?;
            let names = reader
                .metadata()
                .file_metadata()
                .schema_descr()
                .columns()
                .iter()
                .map(|c| c.name().to_string())
                .collect();
            Inner::Parquet {
                names,
                rows: RowIter::from_file_into(Box::new(reader)),
            }
        }
        _ => {
            let (headers, rdr) = open_csv(Box::new(f), &source)?;
            Inner::Csv {
                headers,
                records: rdr.into_records(),
            }
        }
    };
    Ok(TableBatches {
        source,
        batch_rows,
        rows: 0,
        started: false,
        inner,
    })
}

impl TableBatches {
    /// The next batch: `None` once the file is read (the first call always gives one).
    fn next_batch(&mut self) -> Option<Result<Table>> {
        let columns = match &mut self.inner {
            Inner::Done => return None,
            Inner::Csv { headers, records } => {
                let mut cells: Vec<ColumnBuilder> =
                    headers.iter().map(|_| ColumnBuilder::default()).collect();
                let mut n = 0;
                while n < self.batch_rows {
                    match records.next() {
                        None => break,
                        Some(Err(e)) => {
                            self.inner = Inner::Done;
                            return Some(Err(csv_error(&self.source, e)));
                        }
                        Some(Ok(rec)) => {
                            for (j, v) in rec.iter().enumerate() {
                                cells[j].push(v);
                            }
                            n += 1;
                        }
                    }
                }
                headers
                    .iter()
                    .cloned()
                    .zip(cells)
                    .map(|(name, values)| (name, values.finish()))
                    .collect::<Vec<_>>()
            }
            Inner::Parquet { names, rows } => {
                let mut acc = ParquetColumns::new(names.len());
                while acc.len < self.batch_rows {
                    match rows.next() {
                        None => break,
                        Some(Err(e)) => {
                            self.inner = Inner::Done;
                            return Some(Err(Error::format(
                                &self.source,
                                format!("not a readable Parquet file: {e}"),
                            )));
                        }
                        Some(Ok(row)) => acc.push(row.get_column_iter().map(|(_, f)| f)),
                    }
                }
                acc.into_columns(names)
            }
        };
        let n = columns.first().map_or(0, |(_, c)| c.len());
        if n == 0 && self.started {
            self.inner = Inner::Done;
            return None;
        }
        self.started = true;
        let first = self.rows;
        self.rows += n;
        if n < self.batch_rows {
            self.inner = Inner::Done;
        }
        Some(Table::new(columns).map(|t| t.with_source(self.source.clone()).with_first_row(first)))
    }
}

impl Iterator for TableBatches {
    type Item = Result<Table>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch()
    }
}

/// Parquet values as numbers (numeric and boolean; null is NaN) until a column meets a value
/// that is not: from then on that column is text.
struct ParquetColumns {
    nums: Vec<Vec<f64>>,
    texts: Vec<Option<Vec<String>>>,
    len: usize,
}

impl ParquetColumns {
    fn new(columns: usize) -> Self {
        ParquetColumns {
            nums: vec![Vec::new(); columns],
            texts: vec![None; columns],
            len: 0,
        }
    }

    fn push<'a>(&mut self, fields: impl Iterator<Item = &'a Field>) {
        for (j, field) in fields.enumerate() {
            if j >= self.nums.len() {
                break;
            }
            let num = match field {
                Field::Null => Some(f64::NAN),
                Field::Bool(b) => Some(f64::from(u8::from(*b))),
                Field::Byte(v) => Some(f64::from(*v)),
                Field::Short(v) => Some(f64::from(*v)),
                Field::Int(v) => Some(f64::from(*v)),
                Field::Long(v) => Some(*v as f64),
                Field::UByte(v) => Some(f64::from(*v)),
                Field::UShort(v) => Some(f64::from(*v)),
                Field::UInt(v) => Some(f64::from(*v)),
                Field::ULong(v) => Some(*v as f64),
                Field::Float(v) => Some(f64::from(*v)),
                Field::Double(v) => Some(*v),
                _ => None,
            };
            match (num, &mut self.texts[j]) {
                (Some(v), None) => self.nums[j].push(v),
                (Some(v), Some(t)) => t.push(format_number(v)),
                (None, t) => {
                    let s = match field {
                        Field::Str(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let nums = &self.nums[j];
                    t.get_or_insert_with(|| nums.iter().map(|&v| format_number(v)).collect())
                        .push(s);
                }
            }
        }
        self.len += 1;
    }

    fn into_columns(self, names: &[String]) -> Vec<(String, Column)> {
        names
            .iter()
            .cloned()
            .zip(self.nums.into_iter().zip(self.texts))
            .map(|(n, (num, text))| (n, text.map_or(Column::Num(num), Column::Text)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{read_table, write_table};

    fn concat(batches: TableBatches) -> (Vec<usize>, Vec<Vec<String>>) {
        let mut sizes = Vec::new();
        let mut rows = Vec::new();
        for b in batches {
            let b = b.unwrap();
            sizes.push(b.n_rows());
            for i in 0..b.n_rows() {
                rows.push(b.columns().map(|(_, c)| c.text(i)).collect());
            }
        }
        (sizes, rows)
    }

    #[test]
    fn batches_of_csv_and_parquet_hold_the_file_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        let text: String = std::iter::once("a;b\n".to_string())
            .chain((0..10).map(|i| format!("{i};x{i}\n")))
            .collect();
        std::fs::write(&csv, format!("\u{feff}{text}")).unwrap();
        let whole = read_table(&csv).unwrap();
        let pq = dir.path().join("t.parquet");
        write_table(&whole, &pq).unwrap();
        for path in [&csv, &pq] {
            let (sizes, rows) = concat(read_batches(path, 4).unwrap());
            assert_eq!(sizes, [4, 4, 2], "{}", path.display());
            assert_eq!(rows[7], ["7", "x7"]);
            assert_eq!(rows.len(), 10);
            // A multiple of the batch size ends without an empty batch.
            assert_eq!(concat(read_batches(path, 5).unwrap()).0, [5, 5]);
        }
        // The second batch's errors name the row of the file.
        let second = read_batches(&csv, 4).unwrap().nth(1).unwrap().unwrap();
        assert_eq!(second.first_row(), 4);
        let e = second.cell_error(1, "a", "bad").to_string();
        assert!(e.contains("row 6"), "{e}");
    }

    #[test]
    fn a_header_alone_gives_one_empty_batch_and_a_truncated_row_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.csv");
        std::fs::write(&p, "a,b\n").unwrap();
        let (sizes, _) = concat(read_batches(&p, 3).unwrap());
        assert_eq!(sizes, [0]);
        std::fs::write(&p, "a,b\n1,2\n3,4\n5\n").unwrap();
        let mut it = read_batches(&p, 2).unwrap();
        assert_eq!(it.next().unwrap().unwrap().n_rows(), 2);
        let e = it.next().unwrap().unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("h.csv"), "{e}");
        assert!(it.next().is_none());
        std::fs::write(&p, "").unwrap();
        assert!(
            read_batches(&p, 2)
                .err()
                .unwrap()
                .to_string()
                .contains("empty")
        );
    }
}
