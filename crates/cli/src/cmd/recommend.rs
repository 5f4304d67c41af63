//! `remedy recommend`: for each anomalous row, the cheapest action on its root-cause features
//! that makes it normal again, and the resulting row.

use std::time::Instant;

use remedy_app::{Fitted, RecommendConfig, RecommendMethod, recommend_table};
use remedy_core::Result;
use remedy_core::io::read_table;

use crate::args::{MethodArg, RecommendArgs, RuleArg};
use crate::output::{emit, render};

pub fn run(a: &RecommendArgs) -> Result<()> {
    let rule = super::explain::rule_of(&a.rule, RuleArg::Quantile)?;
    let model = Fitted::load(&a.apply.model)?;
    let data = read_table(&a.apply.data)?;
    let defaults = RecommendConfig::default();
    let config = RecommendConfig {
        lambda: a.lambda.unwrap_or(defaults.lambda),
        alpha: a.alpha.unwrap_or(defaults.alpha),
        ..defaults
    };
    let start = Instant::now();
    let method = match a.method {
        MethodArg::Auto => RecommendMethod::Auto,
        MethodArg::Network => RecommendMethod::Network,
        MethodArg::Search => RecommendMethod::Search,
    };
    let rows = model.recommend(&data, &config, method, &rule, a.seed)?;
    let flipped = rows.iter().filter(|r| r.flips).count();
    let by_net = rows
        .iter()
        .filter(|r| r.method == remedy_app::ActionSource::Network)
        .count();
    eprintln!(
        "{} anomalous row{}, {flipped} made normal by the recommended action ({by_net} found \
         by the recourse network, {} by search; {:.1} s)",
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
