//! `remedy report`: one self-contained HTML page about rows scored by a fitted model.

use remedy_app::{Fitted, RecommendConfig, report_page};
use remedy_core::Result;
use remedy_core::io::read_table;

use crate::args::ReportArgs;

pub fn run(a: &ReportArgs) -> Result<()> {
    if a.output == a.data {
        return Err(remedy_core::Error::invalid(format!(
            "-o {} would overwrite the data file",
            a.output.display()
        )));
    }
    let rule = super::explain::rule_of(&a.rule)?;
    let model = Fitted::load(&a.model)?;
    let data = read_table(&a.data)?;
    let command: Vec<String> = std::env::args().collect();
    let meta = [
        ("data", a.data.display().to_string()),
        ("model", a.model.display().to_string()),
        ("command", command.join(" ")),
    ];
    let page = report_page(
        &model,
        &data,
        &meta,
        &RecommendConfig::default(),
        &rule,
        a.seed,
    )?;
    page.write(&a.output)?;
    eprintln!("report written to {}", a.output.display());
    Ok(())
}
