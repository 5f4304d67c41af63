//! `remedy explain`: root causes and per-feature evidence (score, calibrated p-value, rank,
//! deviation) of anomalous rows.

use remedy_app::{FamilyWise, Fitted, RootCauseRule, explain_long_table, explain_table};
use remedy_core::io::read_table;
use remedy_core::{Error, Result};

use crate::args::{ExplainArgs, RuleArg, RuleArgs};
use crate::output::{emit, render};

/// The rule the flags ask for; `alpha_flag` names the α option in messages. An α with the
/// quantile rule, or a π with a family-wise rule, is refused rather than silently ignored.
pub fn rule(
    rule: RuleArg,
    alpha: Option<f64>,
    pi: Option<f64>,
    alpha_flag: &str,
) -> Result<RootCauseRule> {
    let r = match rule {
        RuleArg::Quantile => {
            if alpha.is_some() {
                return Err(Error::invalid(format!(
                    "{alpha_flag} applies to --rule holm or bonferroni; the quantile rule takes --pi"
                )));
            }
            RootCauseRule::Quantile { pi }
        }
        RuleArg::Holm | RuleArg::Bonferroni => {
            if pi.is_some() {
                return Err(Error::invalid(format!(
                    "--pi applies to --rule quantile; the {} rule takes {alpha_flag}",
                    if rule == RuleArg::Holm {
                        "holm"
                    } else {
                        "bonferroni"
                    }
                )));
            }
            let alpha = alpha.unwrap_or(0.01);
            if !(alpha > 0.0 && alpha < 1.0) {
                return Err(Error::invalid(format!(
                    "{alpha_flag} must lie in (0, 1), got {alpha}"
                )));
            }
            RootCauseRule::FamilyWise(if rule == RuleArg::Holm {
                FamilyWise::Holm { alpha }
            } else {
                FamilyWise::Bonferroni { alpha }
            })
        }
    };
    r.validate()?;
    Ok(r)
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
