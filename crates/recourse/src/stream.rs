//! Streaming recourse over multivariate series (RecAD paper Algorithm 1 at test time, spec §1
//! "Test-phase recourse"): walk every series step by step, score the window that ends at the
//! current step, act on the step when the window is abnormal, and let the world continue from
//! the acted value, so an action's effect reaches the following windows.
//!
//! The walk is generic in three closures: the detector's score of raw windows, the policy that
//! proposes actions θ (raw units) for flagged windows, and the world that produces the next
//! row of a series that has been acted on (the exact simulator of a synthetic benchmark, or the
//! GVAR abduction-action-prediction continuation of Eqs. 8-11 on real data: see [`aap_world`]).
//! All series advance in lockstep so that each step scores and acts on every series in one
//! batch.
//!
//! Departures from the reference loop (spec §9 items 11-12): every step is evaluated, including
//! a series' last one, and acting continues while windows stay abnormal (the reference stops
//! four windows after the first alarm, available as [`StreamConfig::horizon`]).
//!
//! Feasibility (not in the paper or the reference): with [`StreamConfig::bounds`], no action may
//! carry a variable beyond the range it took in the normal data ([`ValueBounds`]). Without it,
//! an action that drives a Lotka-Volterra population below zero makes the world explode
//! (dx = x(α − βy) grows without bound for x < 0); the bound applies to every method alike.

use remedy_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Scores of raw windows (each `τ_w` rows of `d` values), one per window.
pub type ScoreFn<'a> = dyn Fn(&[&[Vec<f64>]]) -> Result<Vec<f64>> + 'a;

/// Actions θ (raw units, one row of `d` values per window) for flagged raw windows, each
/// ending at the step to act on.
pub type PolicyFn<'a> = dyn Fn(&[&[Vec<f64>]]) -> Result<Vec<Vec<f64>>> + 'a;

/// The world's row `t` of every listed series given its counterfactual rows `0..t`:
/// `(t, series indices, their rows 0..t)`. Called only for series already acted on; before any
/// action the world is the observed series.
pub type WorldFn<'a> = dyn FnMut(usize, &[usize], &[&[Vec<f64>]]) -> Result<Vec<Vec<f64>>> + 'a;

/// The range each variable may be acted to: `[lower_j, upper_j]`, by default the range it
/// took in the normal training series. An action never carries a variable further outside it;
/// a value already outside may stay where it is or move toward it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueBounds {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

impl ValueBounds {
    /// Bounds from explicit limits (one per variable, finite, `lower ≤ upper`).
    pub fn new(lower: Vec<f64>, upper: Vec<f64>) -> Result<Self> {
        if lower.len() != upper.len() {
            return Err(Error::invalid(format!(
                "value bounds: {} lower and {} upper limits",
                lower.len(),
                upper.len()
            )));
        }
        if let Some(j) = (0..lower.len())
            .find(|&j| !(lower[j].is_finite() && upper[j].is_finite() && lower[j] <= upper[j]))
        {
            return Err(Error::invalid(format!(
                "value bounds of variable {j}: [{}, {}] is not a finite range",
                lower[j], upper[j]
            )));
        }
        Ok(ValueBounds { lower, upper })
    }

    /// The smallest and largest value of each variable over all rows of `series`.
    pub fn from_series<S: AsRef<[Vec<f64>]>>(series: &[S]) -> Result<Self> {
        let mut rows = series.iter().flat_map(|s| s.as_ref().iter());
        let first = rows
            .next()
            .ok_or_else(|| Error::invalid("value bounds need at least one row"))?;
        let (mut lower, mut upper) = (first.clone(), first.clone());
        for r in rows {
            if r.len() != lower.len() {
                return Err(Error::invalid(format!(
                    "value bounds: rows of {} and {} values",
                    lower.len(),
                    r.len()
                )));
            }
            for (j, v) in r.iter().enumerate() {
                lower[j] = lower[j].min(*v);
                upper[j] = upper[j].max(*v);
            }
        }
        ValueBounds::new(lower, upper)
    }

    /// Number of variables.
    pub fn dim(&self) -> usize {
        self.lower.len()
    }

    /// `row` with each value held within its variable's range.
    pub fn clamp(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .enumerate()
            .map(|(j, x)| x.clamp(self.lower[j], self.upper[j]))
            .collect()
    }

    /// Shortens θ so that `row + θ` goes no further outside the bounds than `row` is.
    pub fn limit(&self, row: &[f64], theta: &mut [f64]) {
        for (j, (x, t)) in row.iter().zip(theta.iter_mut()).enumerate() {
            let (lo, hi) = (self.lower[j].min(*x), self.upper[j].max(*x));
            *t = (x + *t).clamp(lo, hi) - x;
        }
    }
}

/// Settings of a walk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamConfig {
    /// Window length τ_w: the window ending at step t covers rows t − τ_w + 1 ..= t.
    pub window: usize,
    /// The detector's threshold τ: a window is abnormal when its score exceeds it.
    pub threshold: f64,
    /// Evaluate at most this many windows from a series' first alarm on (the reference: 4,
    /// spec §9 item 11); `None` walks the whole series.
    pub horizon: Option<usize>,
    /// Where actions may take each variable; `None`: anywhere.
    #[serde(default)]
    pub bounds: Option<ValueBounds>,
}

/// One action taken during a walk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepAction {
    /// The acted step.
    pub t: usize,
    /// θ_t in raw units.
    pub theta: Vec<f64>,
    /// The window's score before and after the action.
    pub score_before: f64,
    pub score_after: f64,
}

impl StepAction {
    /// True when the action brought the window's score to τ or below.
    pub fn flipped(&self, threshold: f64) -> bool {
        self.score_after <= threshold
    }
}

/// The walk of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesOutcome {
    /// The counterfactual series after all actions (equal to the observed one without
    /// actions).
    pub world: Vec<Vec<f64>>,
    /// The actions, in time order.
    pub actions: Vec<StepAction>,
    /// Score of every window ending at step t ≥ τ_w − 1 as the walk saw it (after the action
    /// where one was taken).
    pub scores: Vec<f64>,
    /// The step at which the world could not go on (a non-finite continuation, e.g. a
    /// learnt predictor run away after actions); the walk of this series stopped there.
    pub diverged_at: Option<usize>,
    /// Actions the policy could not give (non-finite values): taken as θ = 0, so they count
    /// as not flipped unless the window was borderline.
    pub invalid_actions: usize,
}

/// Walks every series (raw rows, all of one width) with the policy, in lockstep.
pub fn walk(
    series: &[&[Vec<f64>]],
    config: &StreamConfig,
    score: &ScoreFn<'_>,
    policy: &PolicyFn<'_>,
    world: &mut WorldFn<'_>,
) -> Result<Vec<SeriesOutcome>> {
    let w = config.window;
    if w == 0 {
        return Err(Error::invalid(
            "the recourse window must hold at least one step",
        ));
    }
    if !config.threshold.is_finite() {
        return Err(Error::invalid(format!(
            "the detector threshold must be finite, got {}",
            config.threshold
        )));
    }
    let dim = series
        .iter()
        .flat_map(|s| s.first())
        .map(Vec::len)
        .next()
        .unwrap_or(0);
    if let Some(b) = config.bounds.as_ref().filter(|b| b.dim() != dim && dim > 0) {
        return Err(Error::invalid(format!(
            "value bounds for {} variables, series of {dim}",
            b.dim()
        )));
    }
    for (i, s) in series.iter().enumerate() {
        if let Some((t, r)) = s
            .iter()
            .enumerate()
            .find(|(_, r)| r.len() != dim || r.iter().any(|v| !v.is_finite()))
        {
            return Err(Error::invalid(format!(
                "series {i}, step {t}: expected {dim} finite values, got {:?}",
                r
            )));
        }
    }
    let mut out: Vec<SeriesOutcome> = series
        .iter()
        .map(|s| SeriesOutcome {
            world: s.iter().take(w.saturating_sub(1)).cloned().collect(),
            actions: Vec::new(),
            scores: Vec::new(),
            diverged_at: None,
            invalid_actions: 0,
        })
        .collect();
    // Windows evaluated since the first alarm, per series.
    let mut since_alarm: Vec<Option<usize>> = vec![None; series.len()];
    let max_len = series.iter().map(|s| s.len()).max().unwrap_or(0);
    for t in w.saturating_sub(1)..max_len {
        let active: Vec<usize> = (0..series.len())
            .filter(|&i| series[i].len() > t && out[i].diverged_at.is_none())
            .filter(|&i| match (config.horizon, since_alarm[i]) {
                (Some(h), Some(n)) => n < h,
                _ => true,
            })
            .collect();
        if active.is_empty() {
            continue;
        }
        // Row t: observed until a series is acted on, then the world's continuation.
        let acted: Vec<usize> = active
            .iter()
            .copied()
            .filter(|&i| !out[i].actions.is_empty())
            .collect();
        let next = if acted.is_empty() {
            Vec::new()
        } else {
            let rows: Vec<&[Vec<f64>]> = acted.iter().map(|&i| out[i].world.as_slice()).collect();
            let next = world(t, &acted, &rows)?;
            if next.len() != acted.len() || next.iter().any(|r| r.len() != dim) {
                return Err(Error::invalid(format!(
                    "the world returned {} rows for {} series (each should hold {dim} values)",
                    next.len(),
                    acted.len()
                )));
            }
            next
        };
        let mut next = next.into_iter();
        let mut active = active;
        for &i in &active {
            let row = if out[i].actions.is_empty() {
                series[i][t].clone()
            } else {
                next.next().unwrap_or_default()
            };
            if row.iter().any(|v| !v.is_finite()) {
                out[i].diverged_at = Some(t);
            } else {
                out[i].world.push(row);
            }
        }
        active.retain(|&i| out[i].diverged_at.is_none());
        if active.is_empty() {
            continue;
        }
        let windows: Vec<&[Vec<f64>]> = active
            .iter()
            .map(|&i| &out[i].world[t + 1 - w..=t])
            .collect();
        let scores = score(&windows)?;
        check_scores(&scores, active.len())?;
        let flagged: Vec<usize> = (0..active.len())
            .filter(|&k| scores[k] > config.threshold)
            .collect();
        let flagged_windows: Vec<&[Vec<f64>]> = flagged.iter().map(|&k| windows[k]).collect();
        let mut thetas = if flagged.is_empty() {
            Vec::new()
        } else {
            policy(&flagged_windows)?
        };
        if thetas.len() != flagged.len() || thetas.iter().any(|r| r.len() != dim) {
            return Err(Error::invalid(format!(
                "the policy returned {} actions for {} windows (each should hold {dim} values)",
                thetas.len(),
                flagged.len()
            )));
        }
        let mut invalid = Vec::new();
        for (&k, theta) in flagged.iter().zip(thetas.iter_mut()) {
            if theta.iter().any(|v| !v.is_finite()) {
                theta.iter_mut().for_each(|v| *v = 0.0);
                invalid.push(active[k]);
            } else if let Some(b) = &config.bounds {
                let win = windows[k];
                b.limit(&win[win.len() - 1], theta);
            }
        }
        let acted_windows: Vec<Vec<Vec<f64>>> = flagged_windows
            .iter()
            .zip(&thetas)
            .map(|(win, theta)| {
                let mut win = win.to_vec();
                let last = win.len() - 1;
                for (v, d) in win[last].iter_mut().zip(theta) {
                    *v += d;
                }
                win
            })
            .collect();
        drop(windows);
        for i in invalid {
            out[i].invalid_actions += 1;
        }
        for (k, &i) in active.iter().enumerate() {
            out[i].scores.push(scores[k]);
            if let Some(n) = since_alarm[i].as_mut() {
                *n += 1;
            } else if scores[k] > config.threshold {
                since_alarm[i] = Some(1);
            }
        }
        if flagged.is_empty() {
            continue;
        }
        let refs: Vec<&[Vec<f64>]> = acted_windows.iter().map(Vec::as_slice).collect();
        let after = score(&refs)?;
        check_scores(&after, flagged.len())?;
        for ((&k, theta), (win, s)) in flagged
            .iter()
            .zip(thetas)
            .zip(acted_windows.iter().zip(after))
        {
            let i = active[k];
            out[i].world[t] = win[win.len() - 1].clone();
            if let Some(last) = out[i].scores.last_mut() {
                *last = s;
            }
            out[i].actions.push(StepAction {
                t,
                theta,
                score_before: scores[k],
                score_after: s,
            });
        }
    }
    Ok(out)
}

fn check_scores(scores: &[f64], n: usize) -> Result<()> {
    if scores.len() != n || scores.iter().any(|s| s.is_nan()) {
        return Err(Error::invalid(format!(
            "the detector returned {} scores for {n} windows (or a NaN)",
            scores.len()
        )));
    }
    Ok(())
}

/// The abduction-action-prediction world of Eqs. 8-11 for real data: after an action, row t
/// of the counterfactual is x̃_t = f(x̃_{t−K..t−1}) + (x_t − f(x_{t−K..t−1})), where `predict`
/// is a batched one-step predictor (e.g. GVAR) of the step after each window of raw rows and
/// `observed` holds the observed series. The innovation abducted on the observed series is kept;
/// the predictor's response to the changed past is what propagates an action.
pub fn aap_world<'a, P>(observed: &'a [&'a [Vec<f64>]], lags: usize, predict: P) -> Box<WorldFn<'a>>
where
    P: Fn(&[&[Vec<f64>]]) -> Result<Vec<Vec<f64>>> + 'a,
{
    Box::new(move |t: usize, ids: &[usize], rows: &[&[Vec<f64>]]| {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if t < lags {
            return Err(Error::invalid(format!(
                "the counterfactual world needs {lags} past steps before step {t}"
            )));
        }
        let mut windows: Vec<&[Vec<f64>]> = rows.iter().map(|r| &r[t - lags..t]).collect();
        windows.extend(ids.iter().map(|&i| &observed[i][t - lags..t]));
        let pred = predict(&windows)?;
        let dim = observed[ids[0]][t].len();
        if pred.len() != 2 * ids.len() || pred.iter().any(|r| r.len() != dim) {
            return Err(Error::invalid(format!(
                "the predictor returned {} rows for {} windows (each should hold {dim} values)",
                pred.len(),
                2 * ids.len()
            )));
        }
        let (cf, obs) = pred.split_at(ids.len());
        Ok(ids
            .iter()
            .zip(cf.iter().zip(obs))
            .map(|(&i, (c, o))| aap_row(&observed[i][t], c, o))
            .collect())
    })
}

/// Eq. 10/11 for one row: x̃_t = f(x̃ past) + (x_t − f(x past)), from the observed row and the
/// predictor's outputs on the counterfactual and the observed past.
pub fn aap_row(observed: &[f64], pred_cf: &[f64], pred_observed: &[f64]) -> Vec<f64> {
    observed
        .iter()
        .zip(pred_cf.iter().zip(pred_observed))
        .map(|(x, (pc, po))| pc + (x - po))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x_t = a·x_{t−1} (one variable), observed with a shock at step 5.
    fn shocked(a: f64, len: usize, shock_at: usize) -> Vec<Vec<f64>> {
        let mut x = vec![vec![1.0]];
        for t in 1..len {
            let mut v = a * x[t - 1][0];
            if t == shock_at {
                v += 10.0;
            }
            x.push(vec![v]);
        }
        x
    }

    /// |last row − a·previous row|: the innovation of the window's last step.
    fn innovation_score(a: f64) -> impl Fn(&[&[Vec<f64>]]) -> Result<Vec<f64>> {
        move |ws: &[&[Vec<f64>]]| {
            Ok(ws
                .iter()
                .map(|w| {
                    let n = w.len();
                    (w[n - 1][0] - a * w[n - 2][0]).abs()
                })
                .collect())
        }
    }

    /// Walks `x` in the linear abduction-action-prediction world x_t = a·x_{t−1} with the
    /// policy that undoes each step's innovation and then adds `overshoot`.
    fn walk_undo(
        x: &[Vec<f64>],
        a: f64,
        config: &StreamConfig,
        overshoot: f64,
    ) -> Result<Vec<SeriesOutcome>> {
        let policy = |ws: &[&[Vec<f64>]]| -> Result<Vec<Vec<f64>>> {
            Ok(ws
                .iter()
                .map(|w| vec![a * w[w.len() - 2][0] - w[w.len() - 1][0] + overshoot])
                .collect())
        };
        let series = [x];
        let mut world = aap_world(&series, 1, |ws: &[&[Vec<f64>]]| {
            Ok(ws.iter().map(|w| vec![a * w[w.len() - 1][0]]).collect())
        });
        walk(
            &series,
            config,
            &innovation_score(a),
            &policy,
            world.as_mut(),
        )
    }

    #[test]
    fn acting_on_the_shock_flips_it_and_the_world_propagates_the_action() {
        let a = 0.5;
        let x = shocked(a, 10, 5);
        let config = StreamConfig {
            window: 3,
            threshold: 1.0,
            horizon: None,
            bounds: None,
        };
        // Policy: undo the innovation (the predictor-replacement baseline).
        let out = walk_undo(&x, a, &config, 0.0).unwrap();
        let o = &out[0];
        assert_eq!(o.actions.len(), 1, "only the shocked step is abnormal");
        assert_eq!(o.actions[0].t, 5);
        assert!((o.actions[0].theta[0] + 10.0).abs() < 1e-12);
        assert!(o.actions[0].flipped(config.threshold));
        // Eq. 11 for a linear system: x̃_{t+i} = x_{t+i} + a^i θ, i.e. the shock's echo is gone.
        let clean = shocked(a, 10, usize::MAX);
        assert_eq!(o.world.len(), clean.len());
        for (t, (w, c)) in o.world.iter().zip(&clean).enumerate() {
            assert!((w[0] - c[0]).abs() < 1e-12, "step {t}");
        }
        assert_eq!(o.scores.len(), 8);
        assert!(o.scores.iter().all(|s| *s <= 1.0));
    }

    #[test]
    fn without_a_useful_policy_the_walk_keeps_acting_unless_a_horizon_stops_it() {
        let a = 0.5;
        // A shock on every step from 4 on: every window from step 4 is abnormal.
        let mut x = shocked(a, 12, usize::MAX);
        for r in x.iter_mut().skip(4) {
            r[0] += 100.0;
        }
        let series = [x.as_slice()];
        let idle = |ws: &[&[Vec<f64>]]| -> Result<Vec<Vec<f64>>> { Ok(vec![vec![0.0]; ws.len()]) };
        let mut config = StreamConfig {
            window: 2,
            threshold: 1.0,
            horizon: None,
            bounds: None,
        };
        let score = |ws: &[&[Vec<f64>]]| -> Result<Vec<f64>> {
            Ok(ws.iter().map(|w| w[w.len() - 1][0].abs()).collect())
        };
        let mut world = |_t: usize, ids: &[usize], rows: &[&[Vec<f64>]]| -> Result<Vec<Vec<f64>>> {
            Ok(ids
                .iter()
                .zip(rows)
                .map(|(_, r)| vec![r[r.len() - 1][0]])
                .collect())
        };
        let out = walk(&series, &config, &score, &idle, &mut world).unwrap();
        assert_eq!(out[0].actions.len(), 8, "steps 4..=11 all stay abnormal");
        assert!(out[0].actions.iter().all(|a| !a.flipped(1.0)));
        config.horizon = Some(4);
        let out = walk(&series, &config, &score, &idle, &mut world).unwrap();
        assert_eq!(
            out[0].actions.len(),
            4,
            "the reference's budget after the first alarm"
        );
    }

    #[test]
    fn bounds_stop_an_action_beyond_the_normal_range_but_never_invent_one() {
        let b = ValueBounds::from_series(&[vec![vec![0.0, 1.0], vec![2.0, 3.0]]]).unwrap();
        assert_eq!(
            (b.lower.clone(), b.upper.clone()),
            (vec![0.0, 1.0], vec![2.0, 3.0])
        );
        // Within range: untouched. Overshooting below: stopped at the lower limit.
        let mut theta = vec![0.5, -5.0];
        b.limit(&[1.0, 2.0], &mut theta);
        assert_eq!(theta, vec![0.5, -1.0]);
        // Already above the range: may come back (even past the range's other side only to
        // its limit) or stay, but never go further up.
        let mut theta = vec![3.0, -20.0];
        b.limit(&[10.0, 5.0], &mut theta);
        assert_eq!(theta, vec![0.0, -4.0]);
        let mut theta = vec![0.0, 0.0];
        b.limit(&[10.0, -5.0], &mut theta);
        assert_eq!(theta, vec![0.0, 0.0], "no action stays no action");

        // In a walk: the undo-the-shock policy overshoots by 10 and is held at the bound.
        let a = 0.5;
        let x = shocked(a, 10, 5);
        let clean = shocked(a, 10, usize::MAX);
        let bounds = ValueBounds::from_series(&[clean.as_slice()]).unwrap();
        let config = StreamConfig {
            window: 3,
            threshold: 1.0,
            horizon: None,
            bounds: Some(bounds.clone()),
        };
        let out = walk_undo(&x, a, &config, -10.0).unwrap();
        let act = &out[0].actions[0];
        assert_eq!(act.t, 5);
        assert_eq!(out[0].world[5][0], bounds.lower[0]);
        assert!((act.theta[0] - (bounds.lower[0] - x[5][0])).abs() < 1e-12);
        // Bounds for another width are refused.
        let two = StreamConfig {
            bounds: Some(ValueBounds::new(vec![0.0, 0.0], vec![1.0, 1.0]).unwrap()),
            ..config
        };
        let err = walk_undo(&x, a, &two, 0.0).unwrap_err();
        assert!(err.to_string().contains("2 variables"), "{err}");
        assert!(ValueBounds::new(vec![1.0], vec![0.0]).is_err());
        assert!(ValueBounds::new(vec![f64::NAN], vec![0.0]).is_err());
        assert!(ValueBounds::from_series::<Vec<Vec<f64>>>(&[]).is_err());
        assert!(ValueBounds::from_series(&[vec![vec![0.0], vec![1.0, 2.0]]]).is_err());
    }

    #[test]
    fn bad_inputs_are_errors() {
        let x = vec![vec![1.0], vec![f64::NAN], vec![2.0]];
        let series = [x.as_slice()];
        let config = StreamConfig {
            window: 2,
            threshold: 1.0,
            horizon: None,
            bounds: None,
        };
        let score = |ws: &[&[Vec<f64>]]| -> Result<Vec<f64>> { Ok(vec![0.0; ws.len()]) };
        let policy =
            |ws: &[&[Vec<f64>]]| -> Result<Vec<Vec<f64>>> { Ok(vec![vec![0.0]; ws.len()]) };
        let mut world = |_t: usize, ids: &[usize], _r: &[&[Vec<f64>]]| -> Result<Vec<Vec<f64>>> {
            Ok(vec![vec![0.0]; ids.len()])
        };
        let err = walk(&series, &config, &score, &policy, &mut world).unwrap_err();
        assert!(err.to_string().contains("step 1"), "{err}");
        let ok = vec![vec![1.0], vec![2.0], vec![3.0]];
        let series = [ok.as_slice()];
        let bad_score = |_ws: &[&[Vec<f64>]]| -> Result<Vec<f64>> { Ok(vec![]) };
        assert!(walk(&series, &config, &bad_score, &policy, &mut world).is_err());
    }
}
