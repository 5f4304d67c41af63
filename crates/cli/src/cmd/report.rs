//! `remedy report`: one self-contained HTML page about rows scored by a fitted model.

use remedy_app::{Fitted, RecommendConfig, report_page};
use remedy_core::Result;
use remedy_core::io::read_table;

use crate::args::{ReportArgs, RuleArg};

pub fn run(a: &ReportArgs) -> Result<()> {
    if a.output == a.data {
        return Err(remedy_core::Error::invalid(format!(
            "-o {} would overwrite the data file",
            a.output.display()
        )));
    }
    // The evidence table follows explain's default, the actions recommend's, unless --rule.
    let explain_rule = super::explain::rule_of(&a.rule, RuleArg::Holm)?;
    let action_rule = super::explain::rule_of(&a.rule, RuleArg::Quantile)?;
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
        &explain_rule,
        &action_rule,
        a.seed,
    )?;
    page.write(&a.output)?;
    eprintln!("report written to {}", a.output.display());
    Ok(())
}
