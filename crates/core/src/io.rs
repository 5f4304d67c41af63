//! Table and file IO: CSV (with header; `,`, `;` or tab, detected from the header line) and
//! Parquet, read by extension. Every write goes to a temporary file in the target directory and
//! is renamed into place, so a crash never leaves half a file where the user's data was.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{ConvertedType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::{Column, Error, Result, Table};

/// Reads a table from a `.csv`/`.tsv`/`.txt` (CSV) or `.parquet`/`.pq` file.
pub fn read_table(path: &Path) -> Result<Table> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "parquet" | "pq" => read_parquet(path),
        _ => read_csv(path),
    }
}

/// Reads a CSV file with a header row, streaming (the file is never held in memory whole).
pub fn read_csv(path: &Path) -> Result<Table> {
    let open = || -> Result<Box<dyn Read>> {
        Ok(Box::new(File::open(path).map_err(|e| Error::io(path, e))?))
    };
    let size = std::fs::metadata(path).map(|m| m.len()).ok();
    read_csv_from(&open, size, &path.display().to_string())
}

/// Parses CSV bytes; `file` names the source in errors.
pub fn parse_csv(bytes: &[u8], file: &str) -> Result<Table> {
    let open = || -> Result<Box<dyn Read + '_>> { Ok(Box::new(bytes)) };
    read_csv_from(&open, Some(bytes.len() as u64), file)
}

/// A CSV reader over a boxed input.
pub(crate) type CsvReader<'a> = csv::Reader<Box<dyn Read + 'a>>;

/// A CSV reader over `input` past its header: the header's names, checked, and the records.
/// A byte-order mark is dropped and the delimiter sniffed from the header line.
pub(crate) fn open_csv<'a>(
    input: Box<dyn Read + 'a>,
    file: &str,
) -> Result<(Vec<String>, CsvReader<'a>)> {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut first = Vec::new();
    reader
        .read_until(b'\n', &mut first)
        .map_err(|e| Error::format(file, format!("cannot read: {e}")))?;
    let first = first
        .strip_prefix(b"\xef\xbb\xbf")
        .map(<[u8]>::to_vec)
        .unwrap_or(first);
    if first.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::format(file, "file is empty; expected a header row"));
    }
    let delimiter = sniff_delimiter(&first);
    let stream: Box<dyn Read + 'a> = Box::new(Cursor::new(first).chain(reader));
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .buffer_capacity(1 << 16)
        .from_reader(stream);
    // Cells are trimmed by `ColumnBuilder::push` (csv's own trimming costs a pass per record).
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_string()).collect(),
        Err(e) => return Err(csv_error(file, e)),
    };
    check_headers(&headers, file)?;
    Ok((headers, rdr))
}

/// Reads a whole CSV table from what `open` opens (once, or twice when some column is text).
/// `size` (the input's bytes, when known) sizes the columns from the first record's length.
fn read_csv_from<'a>(
    open: &dyn Fn() -> Result<Box<dyn Read + 'a>>,
    size: Option<u64>,
    file: &str,
) -> Result<Table> {
    let (headers, mut rdr) = open_csv(open()?, file)?;
    // Numbers first, without keeping any cell's text; a second pass keeps the text of the
    // columns that turned out not to be numeric.
    let mut cells: Vec<ColumnBuilder> = headers.iter().map(|_| ColumnBuilder::numbers()).collect();
    let mut rec = csv::StringRecord::new();
    let start = rdr.position().byte();
    if rdr.read_record(&mut rec).map_err(|e| csv_error(file, e))? {
        if let Some(size) = size {
            // Growing a column by doubling faults in fresh pages at every step; one
            // reservation (never above one cell per byte of the file) avoids it.
            let first = (rdr.position().byte() - start).max(1);
            let rows = (size.saturating_sub(start) / first) as usize;
            let most = (size / headers.len().max(1) as u64) as usize;
            for c in &mut cells {
                c.reserve((rows + rows / 8 + 1).min(most));
            }
        }
        for (j, v) in rec.iter().enumerate() {
            cells[j].push(v);
        }
    }
    while rdr.read_record(&mut rec).map_err(|e| csv_error(file, e))? {
        for (j, v) in rec.iter().enumerate() {
            cells[j].push(v);
        }
    }
    let text: Vec<usize> = (0..cells.len()).filter(|&j| cells[j].is_text()).collect();
    if !text.is_empty() {
        for &j in &text {
            cells[j] = ColumnBuilder::default();
        }
        let (_, mut rdr) = open_csv(open()?, file)?;
        while rdr.read_record(&mut rec).map_err(|e| csv_error(file, e))? {
            for &j in &text {
                cells[j].push(&rec[j]);
            }
        }
    }
    let columns = headers
        .into_iter()
        .zip(cells)
        .map(|(name, values)| (name, values.finish()))
        .collect();
    Ok(Table::new(columns)?.with_source(file))
}

/// The delimiter of a header line: tab, `;` or `,`, whichever it holds most of (`,` on ties).
pub(crate) fn sniff_delimiter(first_line: &[u8]) -> u8 {
    let count = |c: u8| first_line.iter().filter(|&&b| b == c).count();
    if count(b'\t') > count(b',') && count(b'\t') >= count(b';') {
        b'\t'
    } else if count(b';') > count(b',') {
        b';'
    } else {
        b','
    }
}

/// Refuses a header with an unnamed or duplicate column.
pub(crate) fn check_headers(headers: &[String], file: &str) -> Result<()> {
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() {
            return Err(Error::format(
                file,
                format!("header column {} has no name", i + 1),
            ));
        }
        if headers[..i].contains(h) {
            return Err(Error::format(
                file,
                format!("duplicate column '{h}' in the header"),
            ));
        }
    }
    Ok(())
}

/// Builds one column from its cells as they are read: numbers while every non-empty cell
/// parses as one (empty and `na` cells become NaN), text otherwise.
/// The cells' text is kept in one buffer, not one allocation per cell, so that reading a
/// numeric file costs little more than parsing its numbers.
pub(crate) struct ColumnBuilder {
    /// The cells' text, when kept.
    text: Option<String>,
    ends: Vec<usize>,
    nums: Vec<f64>,
    rows: usize,
    not_numeric: bool,
    any_text: bool,
}

impl Default for ColumnBuilder {
    fn default() -> Self {
        ColumnBuilder {
            text: Some(String::new()),
            ends: Vec::new(),
            nums: Vec::new(),
            rows: 0,
            not_numeric: false,
            any_text: false,
        }
    }
}

impl ColumnBuilder {
    /// A builder that keeps no text: [`Self::finish`] must not be called once
    /// [`Self::is_text`] says the column is text.
    pub(crate) fn numbers() -> Self {
        ColumnBuilder {
            text: None,
            ..Self::default()
        }
    }

    /// Room for `rows` more numbers.
    pub(crate) fn reserve(&mut self, rows: usize) {
        self.nums.reserve(rows);
    }

    /// Whether the cells so far make a text column.
    pub(crate) fn is_text(&self) -> bool {
        self.not_numeric || (self.rows > 0 && !self.any_text)
    }

    /// Appends one cell, trimmed of surrounding white space.
    pub(crate) fn push(&mut self, cell: &str) {
        let cell = cell.trim();
        self.rows += 1;
        if let Some(text) = &mut self.text {
            text.push_str(cell);
            self.ends.push(text.len());
        }
        if !cell.is_empty() {
            self.any_text = true;
        }
        if self.not_numeric {
            return;
        }
        match parse_cell(cell) {
            Some(x) => self.nums.push(x),
            None => {
                self.not_numeric = true;
                self.nums = Vec::new();
            }
        }
    }

    /// The column: numbers when some cell is non-empty and every non-empty cell is a
    /// number (or when there are no cells), text otherwise.
    pub(crate) fn finish(self) -> Column {
        if !self.is_text() {
            return Column::Num(self.nums);
        }
        let text = self.text.unwrap_or_default();
        let mut start = 0;
        Column::Text(
            self.ends
                .iter()
                .map(|&end| {
                    let cell = text[start..end].to_string();
                    start = end;
                    cell
                })
                .collect(),
        )
    }
}

/// A cell as a number: NaN for an empty or `na` cell, `None` when it is not a number.
fn parse_cell(s: &str) -> Option<f64> {
    if s.is_empty() || s.eq_ignore_ascii_case("na") {
        Some(f64::NAN)
    } else {
        s.parse::<f64>().ok()
    }
}

pub(crate) fn csv_error(file: &str, e: csv::Error) -> Error {
    let row = e.position().map(|p| p.line()).unwrap_or(0);
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "text is not valid UTF-8".to_string(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("has {len} fields, the header has {expected_len}"),
        _ => e.to_string(),
    };
    Error::format(file, format!("line {row}: {message}"))
}

/// Reads a Parquet file; numeric and boolean columns become numbers, strings become text.
pub fn read_parquet(path: &Path) -> Result<Table> {
    let mut batches = crate::batches::read_batches(path, usize::MAX)?;
    batches
        .next()
        .unwrap_or_else(|| Ok(Table::new(Vec::new())?.with_source(path.display().to_string())))
}

/// CSV text of a table (`,`-separated, header first, numbers in round-trip form).
pub fn to_csv_string(table: &Table) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(table.names()).expect("writing to memory");
    let cols: Vec<&Column> = table.columns().map(|(_, c)| c).collect();
    for i in 0..table.n_rows() {
        w.write_record(cols.iter().map(|c| c.text(i)))
            .expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 is UTF-8")
}

/// Writes a table as CSV (or Parquet for a `.parquet`/`.pq` path), atomically.
pub fn write_table(table: &Table, path: &Path) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "parquet" | "pq" => write_parquet(table, path),
        _ => write_atomic(path, to_csv_string(table).as_bytes()),
    }
}

/// Writes a table as Parquet (DOUBLE and UTF-8 columns, one row group), atomically.
pub fn write_parquet(table: &Table, path: &Path) -> Result<()> {
    let buf =
        parquet_bytes(table).map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    write_atomic(path, &buf)
}

/// A table as the bytes of a Parquet file ([`write_parquet`]); the same table gives the same
/// bytes.
pub fn parquet_bytes(table: &Table) -> Result<Vec<u8>> {
    let err = |e: parquet::errors::ParquetError| Error::invalid(format!("Parquet: {e}"));
    let fields = table
        .columns()
        .map(|(n, c)| {
            let b = match c {
                Column::Num(_) => Type::primitive_type_builder(n, PhysicalType::DOUBLE),
                Column::Text(_) => Type::primitive_type_builder(n, PhysicalType::BYTE_ARRAY)
                    .with_converted_type(ConvertedType::UTF8),
            };
            b.with_repetition(Repetition::REQUIRED)
                .build()
                .map(Arc::new)
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(err)?;
    let schema = Arc::new(
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .map_err(err)?,
    );
    let props = Arc::new(WriterProperties::builder().build());
    let mut buf: Vec<u8> = Vec::new();
    {
        let mut writer = SerializedFileWriter::new(&mut buf, schema, props).map_err(err)?;
        let mut rg = writer.next_row_group().map_err(err)?;
        let mut cols = table.columns().map(|(_, c)| c);
        while let Some(mut cw) = rg.next_column().map_err(err)? {
            match cols.next().expect("one writer per column") {
                Column::Num(v) => {
                    cw.typed::<DoubleType>()
                        .write_batch(v, None, None)
                        .map_err(err)?;
                }
                Column::Text(v) => {
                    let vals: Vec<ByteArray> =
                        v.iter().map(|s| ByteArray::from(s.as_str())).collect();
                    cw.typed::<ByteArrayType>()
                        .write_batch(&vals, None, None)
                        .map_err(err)?;
                }
            }
            cw.close().map_err(err)?;
        }
        rg.close().map_err(err)?;
        writer.close().map_err(err)?;
    }
    Ok(buf)
}

/// The temporary file that stands for `path` until it is complete: `.NAME.tmp-PID` in the same
/// directory, so that the final rename never crosses file systems.
pub fn temp_path(path: &Path) -> Result<PathBuf> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("{}: not a file path", path.display())))?;
    Ok(dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path)?;
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Writes several files into `dir` (created if missing). Unless `overwrite` is set, refuses
/// before writing anything if one of them already exists, so a user's files are never replaced
/// by accident. Each file is written atomically.
pub fn write_files(dir: &Path, files: &[(String, Vec<u8>)], overwrite: bool) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    if !overwrite {
        let existing: Vec<&str> = files
            .iter()
            .filter(|(name, _)| dir.join(name).exists())
            .map(|(name, _)| name.as_str())
            .collect();
        if !existing.is_empty() {
            return Err(Error::invalid(format!(
                "{}: would overwrite {}; choose another directory or pass --force",
                dir.display(),
                existing.join(", ")
            )));
        }
    }
    for (name, bytes) in files {
        write_atomic(&dir.join(name), bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_typed_by_their_cells() {
        let t = parse_csv(
            b"num,na,text,empty,late\n1.50,na,a,,1\n, NA ,2,,2\n-3e2,,b,,x y\n",
            "t.csv",
        )
        .unwrap();
        match t.column("num").unwrap() {
            Column::Num(v) => {
                assert_eq!(v[0], 1.5);
                assert!(v[1].is_nan());
                assert_eq!(v[2], -300.0);
            }
            c => panic!("num typed as {c:?}"),
        }
        assert!(matches!(t.column("na").unwrap(), Column::Num(v) if v.iter().all(|x| x.is_nan())));
        let text = |name: &str| match t.column(name).unwrap() {
            Column::Text(v) => v.clone(),
            c => panic!("{name} typed as {c:?}"),
        };
        assert_eq!(text("text"), ["a", "2", "b"]);
        assert_eq!(text("empty"), ["", "", ""]);
        // Cells read as numbers before the first text cell keep their own text.
        assert_eq!(text("late"), ["1", "2", "x y"]);
        let none = parse_csv(b"a,b\n", "n.csv").unwrap();
        assert!(matches!(none.column("a").unwrap(), Column::Num(v) if v.is_empty()));
    }

    #[test]
    fn csv_round_trip_and_delimiters() {
        let t = parse_csv(b"a,b,c\n1,x,2.5\n3,y,\n", "t.csv").unwrap();
        assert_eq!(t.n_rows(), 2);
        assert!(matches!(t.column("b").unwrap(), Column::Text(_)));
        assert!(t.numeric("c").is_err());
        let back = parse_csv(to_csv_string(&t).as_bytes(), "t.csv").unwrap();
        assert_eq!(back.column("a").unwrap(), t.column("a").unwrap());
        let semi = parse_csv(b"x;y\n1;2\n", "s.csv").unwrap();
        assert_eq!(semi.numeric("y").unwrap(), &[2.0]);
    }

    #[test]
    fn csv_errors_name_the_problem() {
        let e = parse_csv(b"", "e.csv").unwrap_err().to_string();
        assert!(e.contains("e.csv") && e.contains("empty"), "{e}");
        let e = parse_csv(b"a,a\n1,2\n", "d.csv").unwrap_err().to_string();
        assert!(e.contains("duplicate column 'a'"), "{e}");
        let e = parse_csv(b"a,b\n1,2\n3\n", "r.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("1 fields"), "{e}");
        let e = parse_csv(b"a,b\n1,\xff\n", "u.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("UTF-8"), "{e}");
    }

    #[test]
    fn parquet_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        let t = Table::new(vec![
            ("x".into(), Column::Num(vec![1.5, -2.0, 1e-9])),
            (
                "name".into(),
                Column::Text(vec!["a".into(), "b".into(), "".into()]),
            ),
        ])
        .unwrap();
        write_table(&t, &p).unwrap();
        let back = read_table(&p).unwrap();
        assert_eq!(back.column("x").unwrap(), t.column("x").unwrap());
        assert_eq!(back.column("name").unwrap(), t.column("name").unwrap());
        std::fs::write(&p, b"PAR1 not really").unwrap();
        let e = read_table(&p).unwrap_err().to_string();
        assert!(e.contains("Parquet"), "{e}");
    }

    #[test]
    fn write_files_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            ("a.csv".to_string(), b"1".to_vec()),
            ("b.csv".to_string(), b"2".to_vec()),
        ];
        std::fs::write(dir.path().join("b.csv"), b"mine").unwrap();
        let e = write_files(dir.path(), &files, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.csv") && e.contains("--force"), "{e}");
        assert!(
            !dir.path().join("a.csv").exists(),
            "nothing is written on refusal"
        );
        assert_eq!(std::fs::read(dir.path().join("b.csv")).unwrap(), b"mine");
        write_files(dir.path(), &files, true).unwrap();
        assert_eq!(std::fs::read(dir.path().join("b.csv")).unwrap(), b"2");
    }

    #[test]
    fn atomic_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.csv");
        write_atomic(&p, b"hello").unwrap();
        write_atomic(&p, b"world").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"world");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
