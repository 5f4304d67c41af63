//! `remedy explain`: root causes and per-feature root-cause scores of anomalous rows.

use remedy_app::{Fitted, explain_table};
use remedy_core::Result;
use remedy_core::io::read_table;

use crate::args::ExplainArgs;
use crate::output::{emit, render};

pub fn run(a: &ExplainArgs) -> Result<()> {
    let model = Fitted::load(&a.apply.model)?;
    let data = read_table(&a.apply.data)?;
    let rows = model.explain(&data, a.all)?;
    if rows.is_empty() {
        eprintln!("no anomalous rows (pass --all to explain every row)");
    }
    let table = explain_table(&model, &rows)?;
    emit(
        &render(&table, a.apply.format),
        a.apply.output.as_ref(),
        &[&a.apply.data],
    )
}
