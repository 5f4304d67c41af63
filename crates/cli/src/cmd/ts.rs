//! `remedy ts fit` and `remedy ts monitor`: the time-series workflow (USAD, GVAR and the RecAD
//! recourse network) on the user's own series.

use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::time::Instant;

use remedy_app::model::check_output_dir;
use remedy_app::ts::{TsFitConfig, TsModel, ts_fit};
use remedy_app::ts_input::StepReader;
use remedy_core::io::read_table;
use remedy_core::{Error, Result};

use crate::args::{TsCommand, TsFitArgs, TsMonitorArgs};
use crate::progress::Bar;

pub fn run(cmd: &TsCommand) -> Result<()> {
    match cmd {
        TsCommand::Fit(a) => fit(a),
        TsCommand::Monitor(a) => monitor(a),
    }
}

fn fit(a: &TsFitArgs) -> Result<()> {
    // Refuse an occupied --out before spending minutes on training.
    check_output_dir(&a.out, a.force)?;
    let table = read_table(&a.train)?;
    let config = TsFitConfig {
        seed: a.seed,
        epochs: a.epochs,
        window: a.window,
        series_column: a.series_column.clone(),
        time_column: a.time_column.clone(),
        variables: a.variables.clone(),
        shock: a.shock,
        threshold_times: a.threshold_times,
    };
    let start = Instant::now();
    let model = ts_fit(&table, &config, &mut Bar::default())?;
    model.save(&a.out, a.force)?;
    let m = &model.manifest;
    eprintln!(
        "fitted {} variables ({}) on {} series, {} steps, in {:.1} s: window {}, threshold {:.4}, \
         recourse learnt from {} flagged windows; model written to {}",
        m.variables.len(),
        m.variables.join(", "),
        m.train_series,
        m.train_steps,
        start.elapsed().as_secs_f64(),
        m.window,
        m.threshold,
        m.recourse_windows,
        a.out.display()
    );
    Ok(())
}

fn monitor(a: &TsMonitorArgs) -> Result<()> {
    let model = Arc::new(TsModel::load(&a.model)?);
    let reader: Box<dyn BufRead> = match &a.input {
        Some(path) => Box::new(BufReader::new(
            std::fs::File::open(path).map_err(|e| Error::io(path, e))?,
        )),
        None => Box::new(BufReader::new(std::io::stdin())),
    };
    let steps = StepReader::new(
        reader,
        &model.manifest.variables,
        &model.manifest.series_column,
    );
    let mut monitor = model.monitor(a.assume_applied).with_warmup(a.warmup);
    let mut out = std::io::stdout().lock();
    for (n, step) in steps.enumerate() {
        let (key, row) = step?;
        let answer = monitor
            .push(&key, row)
            .map_err(|e| Error::invalid(format!("input step {}: {e}", n + 1)))?;
        let mut line =
            serde_json::to_string(&answer).map_err(|e| Error::invalid(format!("output: {e}")))?;
        line.push('\n');
        match out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => {}
            // A closed pipe (`| head`) ends the stream quietly.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(Error::io("<stdout>", e)),
        }
    }
    Ok(())
}
