//! `remedy detect`: score rows with a fitted model.

use remedy_app::{Fitted, detect_table};
use remedy_core::Result;
use remedy_core::io::read_table;

use crate::args::DetectArgs;
use crate::output::{emit, render};

pub fn run(a: &DetectArgs) -> Result<()> {
    let a = &a.apply;
    let model = Fitted::load(&a.model)?;
    let data = read_table(&a.data)?;
    let rows = model.detect(&data)?;
    let table = detect_table(&rows)?;
    emit(&render(&table, a.format), a.output.as_ref(), &[&a.data])
}
