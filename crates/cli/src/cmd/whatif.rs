//! `remedy counterfactual` and `remedy intervene`: what-if questions on a fitted model.

use remedy_app::Fitted;
use remedy_core::Result;
use remedy_core::batches::read_batches;

use crate::args::{InterveneArgs, WhatIfArgs};
use crate::sink::Sink;

pub fn counterfactual(a: &WhatIfArgs) -> Result<()> {
    let model = Fitted::load(&a.apply.model)?;
    let iv = model.intervention(&a.intervention.shift, &a.intervention.set)?;
    let batches = read_batches(&a.apply.data, a.apply.batch_rows)?;
    let mut sink = Sink::open(a.apply.output.as_ref(), &[&a.apply.data], a.apply.format)?;
    for batch in batches {
        let batch = batch?;
        let rows = model.counterfactual(&batch, &iv)?;
        sink.write(&model.counterfactual_table(&batch, &rows)?)?;
        if sink.closed() {
            break;
        }
    }
    sink.finish()
}

pub fn intervene(a: &InterveneArgs) -> Result<()> {
    let model = Fitted::load(&a.model)?;
    let iv = model.intervention(&a.intervention.shift, &a.intervention.set)?;
    let samples = model.intervene(&iv, a.samples, &mut model.rng(a.seed, "intervene"))?;
    let table = if a.summary {
        model.summary_table(&samples.observational, &samples.interventional)?
    } else {
        model.sample_table(&samples.interventional)?
    };
    let mut sink = Sink::open(a.output.as_ref(), &[], a.format)?;
    sink.write(&table)?;
    sink.finish()
}
