//! Table and file IO: CSV (with header; `,`, `;` or tab, detected from the header line) and
//! Parquet, read by extension. Every write goes to a temporary file in the target directory and
//! is renamed into place, so a crash never leaves half a file where the user's data was.

use std::fs::File;
use std::io::Write;
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

/// Reads a CSV file with a header row.
pub fn read_csv(path: &Path) -> Result<Table> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_csv(&bytes, &path.display().to_string())
}

/// Parses CSV bytes; `file` names the source in errors.
pub fn parse_csv(bytes: &[u8], file: &str) -> Result<Table> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::format(file, "file is empty; expected a header row"));
    }
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or(bytes);
    let delimiter = sniff_delimiter(first_line);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => return Err(csv_error(file, e)),
    };
    check_headers(&headers, file)?;
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); headers.len()];
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(file, e))?;
        for (j, v) in rec.iter().enumerate() {
            cells[j].push(v.to_string());
        }
    }
    let columns = headers
        .into_iter()
        .zip(cells)
        .map(|(name, values)| (name, text_to_column(values)))
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

/// A numeric column when every non-empty cell parses as a number (empty cells become NaN),
/// text otherwise.
pub(crate) fn text_to_column(values: Vec<String>) -> Column {
    let parsed: Option<Vec<f64>> = values
        .iter()
        .map(|s| {
            if s.is_empty() || s.eq_ignore_ascii_case("na") {
                Some(f64::NAN)
            } else {
                s.parse::<f64>().ok()
            }
        })
        .collect();
    match parsed {
        Some(v) if values.iter().any(|s| !s.is_empty()) => Column::Num(v),
        Some(v) if values.is_empty() => Column::Num(v),
        _ => Column::Text(values),
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
