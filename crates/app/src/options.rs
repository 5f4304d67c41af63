//! The user's settings by name, as the CLI's flags and the Python package's keyword arguments
//! give them: each choice parsed from its name, and the root-cause rule and the recommendation
//! target built from their optional settings, with one set of checks and messages for both faces.

use remedy_core::{Error, Result};
use remedy_rootcause::FamilyWise;

use crate::{CausalKind, DetectorKind, Missing, RecommendMethod, RecourseKind, RootCauseRule};
use crate::{RecommendConfig, Target, target};

/// A setting with a fixed set of named values (the CLI's value enums).
pub trait Choice: Sized + Copy + 'static {
    /// The setting's name as the CLI spells it (`--detector`).
    const FLAG: &'static str;
    /// Every value with its name.
    const NAMES: &'static [(&'static str, Self)];

    /// The value called `name`; an unknown name is refused, listing the known ones.
    fn parse(name: &str) -> Result<Self> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
                Error::invalid(format!(
                    "{} '{name}' is not one of: {}",
                    Self::FLAG,
                    known.join(", ")
                ))
            })
    }
}

impl Choice for DetectorKind {
    const FLAG: &'static str = "--detector";
    const NAMES: &'static [(&'static str, Self)] = &[
        ("ae", DetectorKind::Ae),
        ("deepsvdd", DetectorKind::Deepsvdd),
    ];
}

impl Choice for CausalKind {
    const FLAG: &'static str = "--causal";
    const NAMES: &'static [(&'static str, Self)] =
        &[("anm", CausalKind::Anm), ("vaca", CausalKind::Vaca)];
}

impl Choice for RecourseKind {
    const FLAG: &'static str = "--recourse";
    const NAMES: &'static [(&'static str, Self)] = &[
        ("network", RecourseKind::Network),
        ("search", RecourseKind::Search),
    ];
}

impl Choice for Missing {
    const FLAG: &'static str = "--missing";
    const NAMES: &'static [(&'static str, Self)] =
        &[("impute", Missing::Impute), ("error", Missing::Error)];
}

impl Choice for RecommendMethod {
    const FLAG: &'static str = "--method";
    const NAMES: &'static [(&'static str, Self)] = &[
        ("auto", RecommendMethod::Auto),
        ("network", RecommendMethod::Network),
        ("search", RecommendMethod::Search),
    ];
}

/// Which root-cause rule (`--rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Quantile,
    Holm,
    Bonferroni,
}

impl Choice for RuleKind {
    const FLAG: &'static str = "--rule";
    const NAMES: &'static [(&'static str, Self)] = &[
        ("quantile", RuleKind::Quantile),
        ("holm", RuleKind::Holm),
        ("bonferroni", RuleKind::Bonferroni),
    ];
}

/// Where actions aim (`--target`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Typical,
    Threshold,
}

impl Choice for TargetKind {
    const FLAG: &'static str = "--target";
    const NAMES: &'static [(&'static str, Self)] = &[
        ("typical", TargetKind::Typical),
        ("threshold", TargetKind::Threshold),
    ];
}

/// The rule from its kind, α and π; `alpha_flag` names the α setting in messages. An α with
/// the quantile rule, or a π with a family-wise rule, is refused rather than silently ignored.
pub fn root_cause_rule(
    kind: RuleKind,
    alpha: Option<f64>,
    pi: Option<f64>,
    alpha_flag: &str,
) -> Result<RootCauseRule> {
    let r = match kind {
        RuleKind::Quantile => {
            if alpha.is_some() {
                return Err(Error::invalid(format!(
                    "{alpha_flag} applies to --rule holm or bonferroni; the quantile rule takes --pi"
                )));
            }
            RootCauseRule::Quantile { pi }
        }
        RuleKind::Holm | RuleKind::Bonferroni => {
            let name = if kind == RuleKind::Holm {
                "holm"
            } else {
                "bonferroni"
            };
            if pi.is_some() {
                return Err(Error::invalid(format!(
                    "--pi applies to --rule quantile; the {name} rule takes {alpha_flag}"
                )));
            }
            let alpha = alpha.unwrap_or(0.01);
            if !(alpha > 0.0 && alpha < 1.0) {
                return Err(Error::invalid(format!(
                    "{alpha_flag} must lie in (0, 1), got {alpha}"
                )));
            }
            RootCauseRule::FamilyWise(if kind == RuleKind::Holm {
                FamilyWise::Holm { alpha }
            } else {
                FamilyWise::Bonferroni { alpha }
            })
        }
    };
    r.validate()?;
    Ok(r)
}

/// The target from `--target`, `--target-quantile`, `--min-plausibility` and `--alpha`:
/// typical by default, threshold when only α is given; a setting of the other target is
/// refused.
pub fn recommend_target(
    kind: Option<TargetKind>,
    quantile: Option<f64>,
    min_plausibility: Option<f64>,
    alpha: Option<f64>,
) -> Result<Target> {
    let typical_settings = quantile.is_some() || min_plausibility.is_some();
    let kind = match (kind, alpha, typical_settings) {
        (Some(k), _, _) => k,
        (None, Some(_), false) => TargetKind::Threshold,
        (None, _, _) => TargetKind::Typical,
    };
    let t = match kind {
        TargetKind::Typical => {
            if alpha.is_some() {
                return Err(Error::invalid(
                    "--alpha sets the margin of --target threshold; with --target typical, \
                     --target-quantile says where actions aim",
                ));
            }
            Target::Typical {
                quantile: quantile.unwrap_or(target::DEFAULT_QUANTILE),
                min_plausibility: min_plausibility.unwrap_or(target::DEFAULT_MIN_PLAUSIBILITY),
            }
        }
        TargetKind::Threshold => {
            if typical_settings {
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
    t.validate()?;
    Ok(t)
}

/// The default of `recommend --threads`.
pub const RECOMMEND_THREADS: usize = remedy_recourse::search::DEFAULT_THREADS;

/// The search's settings with `--lambda` and `--threads` where given.
pub fn recommend_config(lambda: Option<f64>, threads: Option<usize>) -> RecommendConfig {
    let defaults = RecommendConfig::default();
    RecommendConfig {
        lambda: lambda.unwrap_or(defaults.lambda),
        threads: threads.unwrap_or(defaults.threads),
        ..defaults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unknown_names_list_the_known_ones() {
        assert_eq!(
            DetectorKind::parse("deepsvdd").unwrap(),
            DetectorKind::Deepsvdd
        );
        assert_eq!(RuleKind::parse("holm").unwrap(), RuleKind::Holm);
        let e = CausalKind::parse("gvar").unwrap_err();
        assert!(e.is_bad_input());
        assert_eq!(e.to_string(), "--causal 'gvar' is not one of: anm, vaca");
    }

    #[test]
    fn settings_of_the_other_rule_or_target_are_refused() {
        assert!(root_cause_rule(RuleKind::Quantile, Some(0.05), None, "--alpha").is_err());
        assert!(root_cause_rule(RuleKind::Holm, None, Some(0.1), "--alpha").is_err());
        assert_eq!(
            root_cause_rule(RuleKind::Bonferroni, None, None, "--alpha").unwrap(),
            RootCauseRule::FamilyWise(FamilyWise::Bonferroni { alpha: 0.01 })
        );
        assert!(matches!(
            recommend_target(None, None, None, Some(0.8)).unwrap(),
            Target::Threshold { alpha } if alpha == 0.8
        ));
        assert_eq!(
            recommend_target(None, None, None, None).unwrap(),
            Target::default()
        );
        assert!(recommend_target(Some(TargetKind::Typical), None, None, Some(0.8)).is_err());
        assert!(recommend_target(Some(TargetKind::Threshold), Some(0.5), None, None).is_err());
    }
}
