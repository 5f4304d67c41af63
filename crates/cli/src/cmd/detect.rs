//! `remedy detect`: score rows with a fitted model, a batch at a time.

use remedy_app::{Fitted, detect_table};
use remedy_core::Result;
use remedy_core::batches::read_batches;

use crate::args::DetectArgs;
use crate::sink::Sink;

pub fn run(a: &DetectArgs) -> Result<()> {
    let a = &a.apply;
    let model = Fitted::load(&a.model)?;
    let batches = read_batches(&a.data, a.batch_rows)?;
    let mut sink = Sink::open(a.output.as_ref(), &[&a.data], a.format)?;
    for batch in batches {
        let batch = batch?;
        let mut rows = model.detect(&batch)?;
        for r in &mut rows {
            r.row += batch.first_row();
        }
        sink.write(&detect_table(&rows)?)?;
        if sink.closed() {
            break;
        }
    }
    sink.finish()
}
