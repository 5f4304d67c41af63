//! `remedy explain`: root causes and per-feature evidence (score, calibrated p-value, rank,
//! deviation) of anomalous rows.

use remedy_app::options::{RuleKind, root_cause_rule};
use remedy_app::{Fitted, RootCauseRule, explain_long_table, explain_table};
use remedy_core::Result;
use remedy_core::batches::read_batches;

use crate::args::{ExplainArgs, RuleArg, RuleArgs};
use crate::sink::Sink;

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
    let batches = read_batches(&a.apply.data, a.apply.batch_rows)?;
    let mut sink = Sink::open(a.apply.output.as_ref(), &[&a.apply.data], a.apply.format)?;
    let mut explained = 0;
    for batch in batches {
        let batch = batch?;
        let mut rows = model.explain_target(&batch, a.all, &rule, a.target.as_deref())?;
        for r in &mut rows {
            r.row += batch.first_row();
        }
        explained += rows.len();
        sink.write(&if a.long {
            explain_long_table(&model, &rows)?
        } else {
            explain_table(&model, &rows)?
        })?;
        if sink.closed() {
            break;
        }
    }
    if explained == 0 {
        eprintln!("no anomalous rows (pass --all to explain every row)");
    }
    sink.finish()
}
