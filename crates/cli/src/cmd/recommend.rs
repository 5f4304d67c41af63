//! `remedy recommend`: for each anomalous row, the cheapest action on its root-cause features
//! that makes it normal again, and the resulting row.

use std::time::Instant;

use remedy_app::options::{TargetKind, recommend_config, recommend_target};
use remedy_app::{Fitted, RecommendMethod, Target, recommend_table};
use remedy_core::Result;
use remedy_core::batches::read_batches;

use crate::args::{MethodArg, RecommendArgs, RuleArg, TargetArg, TargetArgs};
use crate::sink::Sink;

pub fn run(a: &RecommendArgs) -> Result<()> {
    let rule = super::explain::rule_of(&a.rule, RuleArg::Quantile)?;
    let target = target_of(&a.target, a.alpha)?;
    let model = Fitted::load(&a.apply.model)?;
    let config = recommend_config(a.lambda, Some(usize::from(a.threads)));
    if matches!(target, Target::Typical { .. }) && model.manifest.support.is_none() {
        eprintln!(
            "warning: this model keeps no normal reference rows (fitted by an older remedy, or \
             with fewer than 20 rows held out), so plausibility is neither required nor reported; \
             refit to have it"
        );
    }
    let batches = read_batches(&a.apply.data, a.apply.batch_rows)?;
    let mut sink = Sink::open(a.apply.output.as_ref(), &[&a.apply.data], a.apply.format)?;
    let start = Instant::now();
    let (mut total, mut flipped, mut by_net, mut plausible, mut rated) = (0, 0, 0, 0, false);
    for batch in batches {
        let batch = batch?;
        let mut rows =
            model.recommend(&batch, &config, target, method_of(a.method), &rule, a.seed)?;
        for r in &mut rows {
            r.row += batch.first_row();
        }
        total += rows.len();
        flipped += rows.iter().filter(|r| r.flips).count();
        by_net += rows
            .iter()
            .filter(|r| r.method == remedy_app::ActionSource::Network)
            .count();
        if let Target::Typical {
            min_plausibility, ..
        } = target
        {
            rated |= rows.iter().any(|r| r.plausibility.is_finite());
            plausible += rows
                .iter()
                .filter(|r| r.flips && r.plausibility >= min_plausibility)
                .count();
        }
        sink.write(&recommend_table(&model, &rows)?)?;
        if sink.closed() {
            break;
        }
    }
    let plausible = match target {
        Target::Typical {
            min_plausibility, ..
        } if rated => format!(", {plausible} of them plausible (≥ {min_plausibility})"),
        _ => String::new(),
    };
    eprintln!(
        "{total} anomalous row{}, {flipped} made normal by the recommended action{plausible} \
         ({by_net} found by the recourse network, {} by search; {:.1} s)",
        if total == 1 { "" } else { "s" },
        total - by_net,
        start.elapsed().as_secs_f64()
    );
    sink.finish()
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
    let kind = a.target.map(|k| match k {
        TargetArg::Typical => TargetKind::Typical,
        TargetArg::Threshold => TargetKind::Threshold,
    });
    recommend_target(kind, a.target_quantile, a.min_plausibility, alpha)
}
