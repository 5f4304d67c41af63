//! Root-cause variables of an alarm in `remedy ts monitor`: the variables whose innovation is
//! abnormal, RootCLAM's rule carried to time series through the GVAR Granger model (RecAD
//! paper §3: GVAR's abduction x_t = Σ_k Ψ_k x_{t−k} + ε_t, Eqs. 2 and 8).
//!
//! A variable moved by its Granger parents (a pump's current after its valve closed) is
//! explained by their past and keeps a normal innovation; the variable where the fault
//! entered does not. At fit time the innovations ε̂_t / sd of the training series calibrate
//! a p-value per variable ([`PValueReference`]: rank p-values inside, a generalised-Pareto
//! tail beyond). At an alarm, each variable's p-value is its most unusual innovation over the
//! flagged window's steps, Bonferroni-corrected for those steps; the root causes are Holm's
//! set at α = 0.01 over the variables, at least the strongest one (as `explain` does for rows).
//!
//! Departure from the paper: RecAD evaluates recourse only; naming root-cause variables per
//! alarm is ours. The calibration innovations are GVAR's in-sample residuals (the training
//! series are all it has); GVAR's coefficients are bounded (tanh) and smoothed, so the
//! residuals shrink little, which the tail fit tolerates.

use std::collections::BTreeMap;

use remedy_causal::Gvar;
use remedy_core::Result;
use remedy_recourse::stream::ValueBounds;
use remedy_rootcause::{FamilyWise, PValueReference};

/// The family-wise rule over the variables of one alarm.
pub const RULE: FamilyWise = FamilyWise::Holm { alpha: 0.01 };

/// Most calibration steps kept (evenly spaced over the training steps): enough for tails of
/// 1,000 values, a model file of bounded size whatever the training length.
const MAX_CALIBRATION: usize = 10_000;

/// Fits the innovation reference on the training series (raw rows).
pub fn fit_reference(gvar: &Gvar, train: &[Vec<Vec<f64>>]) -> Result<PValueReference> {
    let mut noise = Vec::new();
    for s in train.iter().filter(|s| s.len() > gvar.lags()) {
        noise.extend(standardised(gvar, &gvar.residuals(s)?));
    }
    reference(thin(noise), gvar.dim())
}

/// At most [`MAX_CALIBRATION`] of `rows`, evenly spaced.
pub fn thin(rows: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let n = rows.len();
    if n <= MAX_CALIBRATION {
        return rows;
    }
    (0..MAX_CALIBRATION)
        .map(|i| rows[i * n / MAX_CALIBRATION].clone())
        .collect()
}

/// A p-value reference of `d` one-value blocks on `rows`.
pub fn reference(rows: Vec<Vec<f64>>, d: usize) -> Result<PValueReference> {
    PValueReference::fit(&rows, &vec![1; d], &(0..d).collect::<Vec<_>>(), 0.0)
}

fn standardised(gvar: &Gvar, residuals: &[Vec<f64>]) -> Vec<Vec<f64>> {
    residuals
        .iter()
        .map(|r| r.iter().zip(gvar.std()).map(|(e, s)| e / s).collect())
        .collect()
}

/// An alarm's root causes: the variables named (model order) and each variable's p-value.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowCauses {
    pub variables: Vec<usize>,
    pub pvalues: Vec<f64>,
}

/// The root causes of the window made of the last `steps` rows of `observed` (raw rows in
/// the model's levels; the rows before them serve as GVAR's lags, so `observed` should hold
/// `steps + K` rows; steps without K rows before them are not judged). With `range` (the
/// training range), GVAR's coefficients are taken at its edge for values beyond it
/// ([`Gvar::predict_next_batch_held`]): a fault far outside the data otherwise makes the
/// coefficient networks answer at random, and the children of the faulty variable get
/// abnormal innovations they do not have.
pub fn window_causes(
    gvar: &Gvar,
    reference: &PValueReference,
    range: Option<&ValueBounds>,
    observed: &[Vec<f64>],
    steps: usize,
) -> Result<WindowCauses> {
    let k = gvar.lags();
    let first = observed.len().saturating_sub(steps).max(k);
    let windows: Vec<&[Vec<f64>]> = (first..observed.len())
        .map(|t| &observed[t - k..t])
        .collect();
    if windows.is_empty() {
        return judge(reference, &[]);
    }
    let predicted = match range {
        Some(b) => gvar.predict_next_batch_held(&windows, &b.lower, &b.upper)?,
        None => gvar.predict_next_batch(&windows)?,
    };
    let residuals: Vec<Vec<f64>> = predicted
        .iter()
        .zip(&observed[first..])
        .map(|(p, x)| x.iter().zip(p).map(|(a, b)| a - b).collect())
        .collect();
    judge(reference, &standardised(gvar, &residuals))
}

/// The root causes of a window from its steps' standardised innovations `z` (one row per
/// judged step) under `reference`: per variable the least likely step, Bonferroni over the
/// steps; Holm's set over the variables ([`RULE`]), at least the strongest.
pub fn judge(reference: &PValueReference, z: &[Vec<f64>]) -> Result<WindowCauses> {
    let d = reference.blocks().len();
    if z.is_empty() {
        return Ok(WindowCauses {
            variables: Vec::new(),
            pvalues: vec![1.0; d],
        });
    }
    let n = z.len() as f64;
    let log_p = reference.log_pvalues(z)?;
    let ranking = reference.ranking_log_pvalues(z)?;
    // Per variable: the least likely step, Bonferroni over the steps.
    let min_over_steps =
        |lp: &[Vec<f64>], j: usize| lp.iter().map(|r| r[j]).fold(f64::INFINITY, f64::min);
    let pvalues: Vec<f64> = (0..d)
        .map(|j| (n * min_over_steps(&log_p, j).exp()).min(1.0))
        .collect();
    let mut variables = RULE.flag(&pvalues);
    if variables.is_empty() {
        // At least the strongest, by the ranking statistic (which breaks the fitted tail's
        // ties beyond the calibration values).
        let strongest = (0..d)
            .min_by(|&a, &b| {
                min_over_steps(&ranking, a)
                    .total_cmp(&min_over_steps(&ranking, b))
                    .then(a.cmp(&b))
            })
            .unwrap_or(0);
        variables.push(strongest);
    }
    Ok(WindowCauses { variables, pvalues })
}

/// `names[i]` for each of `causes.variables`, and every variable's p-value by name.
pub fn named(causes: &WindowCauses, names: &[String]) -> (Vec<String>, BTreeMap<String, f64>) {
    (
        causes.variables.iter().map(|&i| names[i].clone()).collect(),
        names
            .iter()
            .cloned()
            .zip(causes.pvalues.iter().copied())
            .collect(),
    )
}
