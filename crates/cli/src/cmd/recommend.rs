//! `remedy recommend`: for each anomalous row, the cheapest action on its root-cause features
//! that makes it normal again, and the resulting row.

use std::time::Instant;

use remedy_app::{Fitted, RecommendConfig, RecommendMethod, Target, recommend_table};
use remedy_core::io::read_table;
use remedy_core::{Error, Result};

use crate::args::{MethodArg, RecommendArgs, RuleArg, TargetArg, TargetArgs};
use crate::output::{emit, render};

pub fn run(a: &RecommendArgs) -> Result<()> {
    let rule = super::explain::rule_of(&a.rule, RuleArg::Quantile)?;
    let target = target_of(&a.target, a.alpha)?;
    let model = Fitted::load(&a.apply.model)?;
    let data = read_table(&a.apply.data)?;
    let defaults = RecommendConfig::default();
    let config = RecommendConfig {
        lambda: a.lambda.unwrap_or(defaults.lambda),
        ..defaults
    };
    let start = Instant::now();
    let rows = model.recommend(&data, &config, target, method_of(a.method), &rule, a.seed)?;
    let flipped = rows.iter().filter(|r| r.flips).count();
    let by_net = rows
        .iter()
        .filter(|r| r.method == remedy_app::ActionSource::Network)
        .count();
    if matches!(target, Target::Typical { .. }) && model.manifest.support.is_none() {
        eprintln!(
            "warning: this model keeps no normal reference rows (fitted by an older remedy, or \
             with fewer than 20 rows held out), so plausibility is neither required nor reported; \
             refit to have it"
        );
    }
    let plausible = match target {
        Target::Typical {
            min_plausibility, ..
        } if rows.iter().any(|r| r.plausibility.is_finite()) => format!(
            ", {} of them plausible (≥ {min_plausibility})",
            rows.iter()
                .filter(|r| r.flips && r.plausibility >= min_plausibility)
                .count()
        ),
        _ => String::new(),
    };
    eprintln!(
        "{} anomalous row{}, {flipped} made normal by the recommended action{plausible} \
         ({by_net} found by the recourse network, {} by search; {:.1} s)",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        rows.len() - by_net,
        start.elapsed().as_secs_f64()
    );
    let table = recommend_table(&model, &rows)?;
    emit(
        &render(&table, a.apply.format),
        a.apply.output.as_ref(),
        &[&a.apply.data],
    )
}

/// `--method` as the library's method (`recommend` and `reproduce recommend`).
pub fn method_of(m: MethodArg) -> RecommendMethod {
    match m {
        MethodArg::Auto => RecommendMethod::Auto,
        MethodArg::Network => RecommendMethod::Network,
        MethodArg::Search => RecommendMethod::Search,
    }
}

/// The target from `--target`, `--target-quantile` and `--alpha`: typical by default,
/// threshold when only `--alpha` is given; a flag of the other target is refused.
pub fn target_of(a: &TargetArgs, alpha: Option<f64>) -> Result<Target> {
    let typical_flags = a.target_quantile.is_some() || a.min_plausibility.is_some();
    let kind = match (a.target, alpha, typical_flags) {
        (Some(k), _, _) => k,
        (None, Some(_), false) => TargetArg::Threshold,
        (None, _, _) => TargetArg::Typical,
    };
    let target = match kind {
        TargetArg::Typical => {
            if alpha.is_some() {
                return Err(Error::invalid(
                    "--alpha sets the margin of --target threshold; with --target typical, \
                     --target-quantile says where actions aim",
                ));
            }
            Target::Typical {
                quantile: a
                    .target_quantile
                    .unwrap_or(remedy_app::target::DEFAULT_QUANTILE),
                min_plausibility: a
                    .min_plausibility
                    .unwrap_or(remedy_app::target::DEFAULT_MIN_PLAUSIBILITY),
            }
        }
        TargetArg::Threshold => {
            if typical_flags {
                return Err(Error::invalid(
                    "--target-quantile and --min-plausibility apply to --target typical; with \
                     --target threshold, --alpha sets the margin",
                ));
            }
            Target::Threshold {
                alpha: alpha.unwrap_or(RecommendConfig::default().alpha),
            }
        }
    };
    target.validate()?;
    Ok(target)
}
