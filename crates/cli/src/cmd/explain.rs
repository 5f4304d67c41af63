//! `remedy explain`: root causes and per-feature evidence (score, calibrated p-value, rank,
//! deviation) of anomalous rows.

use remedy_app::options::{RuleKind, root_cause_rule};
use remedy_app::{Fitted, RootCauseRule, explain_long_table, explain_table};
use remedy_core::Result;
use remedy_core::io::read_table;

use crate::args::{ExplainArgs, RuleArg, RuleArgs};
use crate::output::{emit, render};

/// The rule the flags ask for; `alpha_flag` names the α option in messages.
pub fn rule(
    rule: RuleArg,
    alpha: Option<f64>,
    pi: Option<f64>,
    alpha_flag: &str,
) -> Result<RootCauseRule> {
    let kind = match rule {
        RuleArg::Quantile => RuleKind::Quantile,
        RuleArg::Holm => RuleKind::Holm,
        RuleArg::Bonferroni => RuleKind::Bonferroni,
    };
    root_cause_rule(kind, alpha, pi, alpha_flag)
}

/// [`rule`] from the shared flags of `recommend` and `report`, `default` where `--rule` is
/// not given.
pub fn rule_of(a: &RuleArgs, default: RuleArg) -> Result<RootCauseRule> {
    rule(
        a.rule.unwrap_or(default),
        a.alpha,
        a.pi,
        "--root-cause-alpha",
    )
}

pub fn run(a: &ExplainArgs) -> Result<()> {
    let rule = rule(a.rule, a.alpha, a.pi, "--alpha")?;
    let model = Fitted::load(&a.apply.model)?;
    let data = read_table(&a.apply.data)?;
    let rows = model.explain_target(&data, a.all, &rule, a.target.as_deref())?;
    if rows.is_empty() {
        eprintln!("no anomalous rows (pass --all to explain every row)");
    }
    let table = if a.long {
        explain_long_table(&model, &rows)?
    } else {
        explain_table(&model, &rows)?
    };
    emit(
        &render(&table, a.apply.format),
        a.apply.output.as_ref(),
        &[&a.apply.data],
    )
}
