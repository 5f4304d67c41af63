//! Arrow tables to and from [`Table`]s, with the CLI's reading of a file: numeric and boolean
//! columns become numbers (a null is an empty cell, NaN), text and dictionary-encoded text
//! become text (a null is an empty string), and any other type that Arrow can print (dates,
//! times) becomes its text. Results go back as float64 and UTF-8 columns, the CLI's CSV columns.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_cast::cast::{can_cast_types, cast};
use arrow_schema::{DataType, Field, Schema as ArrowSchema, SchemaRef};
use pyo3::prelude::*;
use pyo3_arrow::PyTable;

use remedy_core::{Column, Error, Result, Table};

/// What the package hands in: the batches of an Arrow table.
pub struct Batches {
    batches: Vec<RecordBatch>,
    schema: SchemaRef,
}

impl From<PyTable> for Batches {
    fn from(t: PyTable) -> Self {
        let (batches, schema) = t.into_inner();
        Batches { batches, schema }
    }
}

fn numeric(t: &DataType) -> bool {
    t.is_numeric() || matches!(t, DataType::Boolean | DataType::Null)
}

fn texty(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => texty(v),
        _ => false,
    }
}

impl Batches {
    /// The table, each column named as in Arrow; `source` names it in error messages. With
    /// `only`, the other columns are left out unread (a model reads its features alone).
    pub fn to_table(&self, source: &str, only: Option<&[&str]>) -> Result<Table> {
        let mut columns = Vec::with_capacity(self.schema.fields().len());
        for (j, field) in self.schema.fields().iter().enumerate() {
            let name = field.name();
            if only.is_some_and(|keep| !keep.contains(&name.as_str())) {
                continue;
            }
            let t = field.data_type();
            let failed = |e: arrow_schema::ArrowError| {
                Error::format(source, format!("column '{name}' ({t}): {e}"))
            };
            let column = if numeric(t) {
                let mut v = Vec::new();
                for b in &self.batches {
                    let a = cast(b.column(j), &DataType::Float64).map_err(failed)?;
                    let a = a
                        .as_any()
                        .downcast_ref::<Float64Array>()
                        .expect("cast to Float64");
                    v.extend(
                        (0..a.len()).map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) }),
                    );
                }
                Column::Num(v)
            } else if texty(t) || can_cast_types(t, &DataType::Utf8) {
                let mut v = Vec::new();
                for b in &self.batches {
                    let a = cast(b.column(j), &DataType::Utf8).map_err(failed)?;
                    let a = a
                        .as_any()
                        .downcast_ref::<StringArray>()
                        .expect("cast to Utf8");
                    v.extend((0..a.len()).map(|i| {
                        if a.is_null(i) {
                            String::new()
                        } else {
                            a.value(i).to_string()
                        }
                    }));
                }
                Column::Text(v)
            } else {
                return Err(Error::format(
                    source,
                    format!(
                        "column '{name}' has Arrow type {t}, which is neither numbers nor text"
                    ),
                ));
            };
            columns.push((name.clone(), column));
        }
        Ok(Table::new(columns)?.with_source(source))
    }
}

/// A result table as one Arrow record batch: numbers as float64, text as UTF-8.
pub fn to_batches(table: &Table) -> Result<Batches> {
    let mut fields = Vec::with_capacity(table.n_cols());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(table.n_cols());
    for (name, col) in table.columns() {
        match col {
            Column::Num(v) => {
                fields.push(Field::new(name, DataType::Float64, false));
                arrays.push(Arc::new(Float64Array::from(v.clone())));
            }
            Column::Text(v) => {
                fields.push(Field::new(name, DataType::Utf8, false));
                arrays.push(Arc::new(StringArray::from(v.clone())));
            }
        }
    }
    let schema = Arc::new(ArrowSchema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| Error::invalid(format!("result table: {e}")))?;
    Ok(Batches {
        batches: vec![batch],
        schema,
    })
}

/// The batches as a `pyarrow.Table`.
pub fn to_pyarrow(py: Python<'_>, b: Batches) -> PyResult<Py<PyAny>> {
    Ok(PyTable::try_new(b.batches, b.schema)?
        .into_pyarrow(py)?
        .unbind())
}
