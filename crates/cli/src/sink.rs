//! Results written as they come, one batch of rows at a time: CSV, JSON lines and JSON stream
//! as the whole-table renderings would print them; the aligned table takes its column widths
//! from the first batch (later, wider cells widen their column from there on). With `-o`, the
//! rows go to a temporary file beside the target, renamed over it only when every batch is
//! written: a failure midway (a truncated input, a bad row) leaves no partial file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use remedy_core::io::{temp_path, to_csv_string};
use remedy_core::{Error, Result, Table};

use crate::args::Format;
use crate::output::{aligned_with, refuse_inputs, row_json};

/// Where the batches go.
pub struct Sink {
    format: Format,
    out: Box<dyn Write>,
    /// With `-o`: the temporary file and the target.
    file: Option<(PathBuf, PathBuf)>,
    /// Rows written so far (JSON's separators), and whether the header is out.
    rows: usize,
    header: bool,
    widths: Vec<usize>,
    /// Stdout was closed by the reader (`| head`): stop quietly.
    closed: bool,
}

impl Sink {
    /// A sink to `path` (refused when it is one of `inputs`) or stdout.
    pub fn open(path: Option<&PathBuf>, inputs: &[&Path], format: Format) -> Result<Sink> {
        let (out, file): (Box<dyn Write>, _) = match path {
            Some(p) => {
                refuse_inputs(p, inputs)?;
                let tmp = temp_path(p)?;
                let f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
                (Box::new(BufWriter::new(f)), Some((tmp, p.clone())))
            }
            None => (Box::new(BufWriter::new(std::io::stdout())), None),
        };
        Ok(Sink {
            format,
            out,
            file,
            rows: 0,
            header: false,
            widths: Vec::new(),
            closed: false,
        })
    }

    /// Whether stdout was closed by its reader (nothing more will be read).
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// Writes one batch of result rows.
    pub fn write(&mut self, table: &Table) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        let mut text = String::new();
        match self.format {
            Format::Csv => {
                let csv = to_csv_string(table);
                if self.header {
                    text.push_str(csv.split_once('\n').map_or("", |(_, rows)| rows));
                } else {
                    text = csv;
                }
            }
            Format::Jsonl => {
                for i in 0..table.n_rows() {
                    text.push_str(&row_json(table, i).to_string());
                    text.push('\n');
                }
            }
            Format::Json => {
                for i in 0..table.n_rows() {
                    text.push_str(if self.rows + i == 0 { "[\n" } else { ",\n" });
                    let object = serde_json::to_string_pretty(&row_json(table, i))
                        .expect("JSON of numbers and text");
                    for (k, line) in object.lines().enumerate() {
                        if k > 0 {
                            text.push('\n');
                        }
                        text.push_str("  ");
                        text.push_str(line);
                    }
                }
            }
            Format::Table => {
                if !self.header || table.n_rows() > 0 {
                    text = aligned_with(table, &mut self.widths, !self.header);
                }
            }
        }
        self.header = true;
        self.rows += table.n_rows();
        self.put(text.as_bytes())
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        match self.out.write_all(bytes) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe && self.file.is_none() => {
                self.closed = true;
                Ok(())
            }
            Err(e) => Err(self.io_error(e)),
        }
    }

    fn io_error(&self, e: std::io::Error) -> Error {
        match &self.file {
            Some((_, target)) => Error::io(target, e),
            None => Error::io("<stdout>", e),
        }
    }

    /// Ends the output (JSON's closing bracket) and, with `-o`, moves the file into place.
    pub fn finish(mut self) -> Result<()> {
        if self.format == Format::Json {
            let end = if self.rows == 0 { "[]\n" } else { "\n]\n" };
            self.put(end.as_bytes())?;
        }
        match self.out.flush() {
            Err(e) if !(e.kind() == std::io::ErrorKind::BrokenPipe && self.file.is_none()) => {
                return Err(self.io_error(e));
            }
            _ => {}
        }
        if let Some((tmp, target)) = self.file.take() {
            // Drop the writer (closing the file) before the rename.
            self.out = Box::new(std::io::sink());
            std::fs::rename(&tmp, &target).map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                Error::io(&target, e)
            })?;
        }
        Ok(())
    }
}

impl Drop for Sink {
    /// A sink dropped before [`Sink::finish`] (an error midway) removes its temporary file.
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.file.take() {
            self.out = Box::new(std::io::sink());
            let _ = std::fs::remove_file(tmp);
        }
    }
}
