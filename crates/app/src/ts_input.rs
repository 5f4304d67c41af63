//! Steps of a monitored stream, read one at a time from CSV (a header, then one row per step) or
//! JSON lines (one object per step, variables by name), for `remedy ts monitor`. The format is
//! told by the first non-blank line: `{` starts JSON lines. Errors name the line and the column
//! or key at fault; a step is returned as soon as its line is read.

use std::io::BufRead;

use remedy_core::{Error, Result};

/// One step: its series key (empty without a series column) and its values in the model's
/// variable order.
pub type Step = (String, Vec<f64>);

type Records<R> = csv::StringRecordsIntoIter<R>;

enum Mode<R: BufRead> {
    Start(R),
    Json(R),
    Csv {
        records: Records<R>,
        index: Vec<usize>,
        series: Option<usize>,
    },
    Done,
}

/// Reads steps for a model with `variables` and a series column (used when present).
pub struct StepReader<R: BufRead> {
    mode: Mode<R>,
    variables: Vec<String>,
    series_column: String,
    /// 1-based number of the last line read.
    line: usize,
    pending: Option<Result<Step>>,
}

impl<R: BufRead> StepReader<R> {
    pub fn new(reader: R, variables: &[String], series_column: &str) -> Self {
        StepReader {
            mode: Mode::Start(reader),
            variables: variables.to_vec(),
            series_column: series_column.to_string(),
            line: 0,
            pending: None,
        }
    }

    /// Reads the first non-blank line and sets up the format.
    fn start(&mut self, mut reader: R) -> Result<()> {
        let mut first = String::new();
        loop {
            first.clear();
            let n = reader
                .read_line(&mut first)
                .map_err(|e| Error::io("<input>", e))?;
            if n == 0 {
                self.mode = Mode::Done;
                return Ok(());
            }
            self.line += 1;
            if !first.trim().is_empty() {
                break;
            }
        }
        let first = first.trim_start_matches('\u{feff}');
        if first.trim_start().starts_with('{') {
            self.pending = Some(self.json_step(first));
            self.mode = Mode::Json(reader);
            return Ok(());
        }
        let delimiter = sniff(first);
        let header: Vec<String> = first
            .trim_end_matches(['\r', '\n'])
            .split(delimiter as char)
            .map(|h| h.trim().trim_matches('"').to_string())
            .collect();
        let mut index = Vec::with_capacity(self.variables.len());
        for v in &self.variables {
            let i = header.iter().position(|h| h == v).ok_or_else(|| {
                Error::invalid(format!(
                    "input line {}: the header lacks variable '{v}' (header: {})",
                    self.line,
                    header.join(", ")
                ))
            })?;
            index.push(i);
        }
        let series = header.iter().position(|h| *h == self.series_column);
        let records = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(reader)
            .into_records();
        self.mode = Mode::Csv {
            records,
            index,
            series,
        };
        Ok(())
    }

    /// One JSON object → a step.
    fn json_step(&self, text: &str) -> Result<Step> {
        let at = |m: String| Error::invalid(format!("input line {}: {m}", self.line));
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| at(format!("not a JSON object ({e})")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| at("expected a JSON object with one number per variable".into()))?;
        let row = self
            .variables
            .iter()
            .map(|v| match obj.get(v) {
                Some(serde_json::Value::Number(n)) => n
                    .as_f64()
                    .ok_or_else(|| at(format!("'{v}' is not a finite number"))),
                Some(other) => Err(at(format!("'{v}' is {other}, not a number"))),
                None => Err(at(format!("missing variable '{v}'"))),
            })
            .collect::<Result<Vec<f64>>>()?;
        let key = match obj.get(&self.series_column) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        Ok((key, row))
    }

    fn next_step(&mut self) -> Option<Result<Step>> {
        if let Some(p) = self.pending.take() {
            return Some(p);
        }
        loop {
            match std::mem::replace(&mut self.mode, Mode::Done) {
                Mode::Start(reader) => {
                    if let Err(e) = self.start(reader) {
                        return Some(Err(e));
                    }
                    if let Some(p) = self.pending.take() {
                        return Some(p);
                    }
                }
                Mode::Json(mut reader) => {
                    let mut text = String::new();
                    match reader.read_line(&mut text) {
                        Ok(0) => return None,
                        Ok(_) => {
                            self.line += 1;
                            self.mode = Mode::Json(reader);
                            if text.trim().is_empty() {
                                continue;
                            }
                            return Some(self.json_step(&text));
                        }
                        Err(e) => return Some(Err(Error::io("<input>", e))),
                    }
                }
                Mode::Csv {
                    mut records,
                    index,
                    series,
                } => {
                    let record = records.next()?;
                    self.line += 1;
                    let step = record
                        .map_err(|e| Error::invalid(format!("input line {}: {e}", self.line)))
                        .and_then(|r| self.csv_step(&r, &index, series));
                    self.mode = Mode::Csv {
                        records,
                        index,
                        series,
                    };
                    return Some(step);
                }
                Mode::Done => return None,
            }
        }
    }

    fn csv_step(
        &self,
        record: &csv::StringRecord,
        index: &[usize],
        series: Option<usize>,
    ) -> Result<Step> {
        let row = self
            .variables
            .iter()
            .zip(index)
            .map(|(v, &i)| {
                let cell = record.get(i).unwrap_or("");
                cell.parse::<f64>().map_err(|_| {
                    Error::invalid(format!(
                        "input line {}, column '{v}': '{cell}' is not a number",
                        self.line
                    ))
                })
            })
            .collect::<Result<Vec<f64>>>()?;
        let key = series.and_then(|i| record.get(i)).unwrap_or("").to_string();
        Ok((key, row))
    }
}

impl<R: BufRead> Iterator for StepReader<R> {
    type Item = Result<Step>;

    fn next(&mut self) -> Option<Result<Step>> {
        self.next_step()
    }
}

/// The delimiter of a header line: tab, semicolon or comma, whichever is most frequent.
fn sniff(header: &str) -> u8 {
    let count = |c: char| header.matches(c).count();
    if count('\t') > count(',') && count('\t') >= count(';') {
        b'\t'
    } else if count(';') > count(',') {
        b';'
    } else {
        b','
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    fn read(text: &str) -> Vec<Result<Step>> {
        StepReader::new(text.as_bytes(), &vars(), "series_id").collect()
    }

    #[test]
    fn csv_with_extra_and_reordered_columns() {
        let steps = read("t,b,series_id,a,label\n0,2,s1,1,x\n1,4,s2,3,y\n");
        let steps: Vec<Step> = steps.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            steps,
            vec![("s1".into(), vec![1.0, 2.0]), ("s2".into(), vec![3.0, 4.0])]
        );
    }

    #[test]
    fn json_lines_with_and_without_series() {
        let steps = read("\n{\"a\": 1, \"b\": 2}\n\n{\"a\": 3.5, \"b\": -1, \"series_id\": 7}\n");
        let steps: Vec<Step> = steps.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            steps,
            vec![("".into(), vec![1.0, 2.0]), ("7".into(), vec![3.5, -1.0])]
        );
    }

    #[test]
    fn errors_name_the_line_and_the_variable() {
        let e = read("a,c\n1,2\n").remove(0).unwrap_err().to_string();
        assert!(e.contains("lacks variable 'b'"), "{e}");
        let r = read("a,b\n1,2\n1,oops\n");
        assert!(r[0].is_ok());
        let e = r[1].as_ref().unwrap_err().to_string();
        assert!(
            e.contains("line 3") && e.contains("'b'") && e.contains("oops"),
            "{e}"
        );
        let r = read("{\"a\": 1, \"b\": 2}\n{\"a\": 1}\n{\"a\": \"x\", \"b\": 1}\nnot json\n");
        assert!(r[0].is_ok());
        let msgs: Vec<String> = r[1..]
            .iter()
            .map(|x| x.as_ref().unwrap_err().to_string())
            .collect();
        assert!(msgs[0].contains("line 2") && msgs[0].contains("missing variable 'b'"));
        assert!(msgs[1].contains("line 3") && msgs[1].contains("not a number"));
        assert!(msgs[2].contains("line 4") && msgs[2].contains("not a JSON object"));
        assert!(read("").is_empty() && read("\n\n").is_empty());
    }
}
