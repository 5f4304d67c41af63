//! Root-cause variables per alarm on the time-series benchmarks, judged against the variables
//! the generator shocked: `ts monitor`'s rule (abnormal GVAR innovations,
//! [`remedy_app::ts_cause`]) beside the same p-values and Holm set taken on the values
//! themselves (each variable's z-score against the normal series), which a monitor without a
//! causal model would use. A child moved by its shocked parent has an abnormal value at the
//! next steps but a normal innovation, so the gap between the two rows is what the Granger
//! model adds.
//!
//! The innovations are GVAR's with its coefficients held at the edge of the training range
//! beyond it, as `ts monitor` computes them when the model keeps that range.
//!
//! Each abnormal series is judged once, at its first alarm whose window holds an event step
//! (series the detector never flags there are not judged); precision, recall and F1 are over
//! the variable slots of the judged alarms (as [`remedy_rootcause::metrics`]).

use remedy_app::ts_cause;
use remedy_causal::Gvar;
use remedy_core::Result;
use remedy_data::timeseries::TestSeries;
use remedy_recourse::series::SeriesModels;
use remedy_recourse::stream::ValueBounds;
use remedy_rootcause::PValueReference;
use serde::{Deserialize, Serialize};

/// One rule's sets against the true ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CauseScore {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Share of judged alarms whose set is exactly the shocked variables.
    pub exact_set: f64,
    /// Mean size of the named set.
    pub named: f64,
}

impl SeriesCauses {
    /// The two rules by name, in table order (the CLI's table and the page).
    pub fn rules(&self) -> [(&'static str, &CauseScore); 2] {
        [
            ("innovations (GVAR)", &self.innovations),
            ("values (z-scores)", &self.values),
        ]
    }
}

/// Both rules on the same alarms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesCauses {
    /// Abnormal series judged (flagged while the window held an event step) and all abnormal
    /// series.
    pub judged: usize,
    pub series: usize,
    /// Mean number of shocked variables per judged series.
    pub true_size: f64,
    pub innovations: CauseScore,
    pub values: CauseScore,
}

/// Judges both rules on `test`'s first alarms (see the module docs).
pub fn evaluate(
    models: &SeriesModels<'_>,
    train: &[Vec<Vec<f64>>],
    test: &[TestSeries],
) -> Result<SeriesCauses> {
    let gvar = models.gvar;
    let innovations = ts_cause::fit_reference(gvar, train)?;
    let values = value_reference(gvar, train)?;
    let bounds = ValueBounds::from_series(train)?;
    let w = models.window();
    let tau = models.usad.threshold;
    let d = gvar.dim();
    let (mut truth, mut by_innovation, mut by_value) = (Vec::new(), Vec::new(), Vec::new());
    for s in test {
        let x = s.observed();
        let event = s.event();
        let (Some(&first), Some(&last)) = (event.steps.first(), event.steps.last()) else {
            continue;
        };
        // Windows ending at t hold an event step when first ≤ t and t − w + 1 ≤ last.
        let ends: Vec<usize> = (first.max(w - 1)..x.len().min(last + w)).collect();
        let windows: Vec<&[Vec<f64>]> = ends.iter().map(|&t| &x[t + 1 - w..=t]).collect();
        if windows.is_empty() {
            continue;
        }
        let scores = models.score(&windows)?;
        let Some(i) = scores.iter().position(|s| *s > tau) else {
            continue;
        };
        let t = ends[i];
        truth.push(event.variables.clone());
        by_innovation.push(
            ts_cause::window_causes(gvar, &innovations, Some(&bounds), &x[..=t], w)?.variables,
        );
        let z = gvar.normalize(&x[t + 1 - w..=t])?;
        by_value.push(ts_cause::judge(&values, &z)?.variables);
    }
    let candidates: Vec<usize> = (0..d).collect();
    let score = |predicted: &[Vec<usize>]| -> Result<CauseScore> {
        let m = remedy_rootcause::evaluate(&truth, predicted, &candidates, d)?;
        Ok(CauseScore {
            precision: m.precision,
            recall: m.recall,
            f1: m.f1,
            exact_set: m.exact_set_accuracy,
            named: mean_len(predicted),
        })
    };
    Ok(SeriesCauses {
        judged: truth.len(),
        series: test.len(),
        true_size: mean_len(&truth),
        innovations: score(&by_innovation)?,
        values: score(&by_value)?,
    })
}

fn mean_len(sets: &[Vec<usize>]) -> f64 {
    if sets.is_empty() {
        return f64::NAN;
    }
    sets.iter().map(Vec::len).sum::<usize>() as f64 / sets.len() as f64
}

/// The values' reference: every training step's z-scores (evenly thinned as the
/// innovations').
fn value_reference(gvar: &Gvar, train: &[Vec<Vec<f64>>]) -> Result<PValueReference> {
    let mut z = Vec::new();
    for s in train {
        z.extend(gvar.normalize(s)?);
    }
    ts_cause::reference(ts_cause::thin(z), gvar.dim())
}
