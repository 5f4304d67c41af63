//! RecAD with its two frozen companions (RecAD paper §4, spec §1): the USAD window detector
//! and the GVAR predictor, glued to the streaming walk of [`crate::stream`]. It scores raw
//! windows, turns one-step predictors into the replacement baselines of spec §5, acts with a
//! trained h_φ on raw windows, and trains h_φ on the windows a walk of abnormal series flags in
//! the GVAR abduction-action-prediction world (Eqs. 8-11), the world the paper trains in.
//!
//! Training departs from the reference loop (spec §10 item 8): the flagged windows are
//! collected in rounds, each window with the M rows that follow it in the GVAR world without
//! its action, and h_φ is trained on all of them in minibatches (Eq. 12) instead of one window
//! at a time along each series. The first round takes each series' first alarm as observed;
//! each further round walks the series with the h_φ just trained, acting on every alarm as
//! Algorithm 1 does, and adds the windows it meets in the counterfactual world it creates.

use rand::Rng;
use remedy_causal::Gvar;
use remedy_core::{Error, Result};
use remedy_detect::usad::Usad;
use remedy_nn::{Observer, Tensor};

use crate::recad::{Recad, RecadConfig, RecadProblem};
use crate::stream::{self, PolicyFn, SeriesOutcome, StreamConfig, ValueBounds};

/// Largest |z| a training segment may hold (the Lotka-Volterra causal anomalies reach about
/// 330 sd, spec §2.2).
const MAX_Z: f32 = 1e3;

/// A fitted USAD and GVAR on the same normal series, and optionally the range actions may
/// take each variable to ([`ValueBounds`], applied by every walk).
#[derive(Debug, Clone, Copy)]
pub struct SeriesModels<'a> {
    pub usad: &'a Usad,
    pub gvar: &'a Gvar,
    pub bounds: Option<&'a ValueBounds>,
    /// The abduction-action-prediction world predicts from values held within `bounds`
    /// ([`SeriesModels::world_predict`]).
    pub clamp_world: bool,
}

/// What [`SeriesModels::train_recad`] learnt from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecadTraining {
    /// Flagged windows collected over all rounds.
    pub windows: usize,
}

impl<'a> SeriesModels<'a> {
    /// Pairs the two models, checking that they z-score alike (h_φ feeds one z-space tensor to
    /// both).
    pub fn new(usad: &'a Usad, gvar: &'a Gvar) -> Result<Self> {
        let close = |a: &[f64], b: &[f64]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| (x - y).abs() <= 1e-9 * (1.0 + x.abs().max(y.abs())))
        };
        if usad.dim != gvar.dim()
            || !close(&usad.mean, gvar.mean())
            || !close(&usad.std, gvar.std())
        {
            return Err(Error::invalid(
                "USAD and GVAR were fitted on different data (variables or normalisation differ); \
                 RecAD needs one z-space",
            ));
        }
        Ok(SeriesModels {
            usad,
            gvar,
            bounds: None,
            clamp_world: false,
        })
    }

    /// The same models with actions held within `bounds` (one range per variable).
    pub fn with_bounds(self, bounds: &'a ValueBounds) -> Result<Self> {
        if bounds.dim() != self.usad.dim {
            return Err(Error::invalid(format!(
                "value bounds for {} variables, models of {}",
                bounds.dim(),
                self.usad.dim
            )));
        }
        Ok(SeriesModels {
            bounds: Some(bounds),
            ..self
        })
    }

    /// The same models whose GVAR world predicts from values held within the bounds (see
    /// [`SeriesModels::world_predict`]; without bounds nothing changes).
    pub fn with_clamped_world(self) -> Self {
        SeriesModels {
            clamp_world: true,
            ..self
        }
    }

    /// GVAR's one-step predictions as the abduction-action-prediction world makes them
    /// (Eqs. 8-11): with `clamp_world` and bounds, from the windows' values held within each
    /// variable's training range. Departure from RecAD (whose world is plain GVAR, as
    /// `reproduce recad` keeps): a network fitted on normal data extrapolates a value far
    /// outside them without limit, so at a real fault (a sensor 100 sd off) the abducted
    /// innovation of the next step, x_{t+1} − GVAR(x_{≤t}), took the other variables hundreds of
    /// sd away and the world stayed abnormal whatever the action (SKAB: every method's cost
    /// about 6,000 z units). Held within the range, the model predicts as it would at the
    /// edge of what it saw.
    pub fn world_predict(&self, windows: &[&[Vec<f64>]]) -> Result<Vec<Vec<f64>>> {
        match self.bounds.filter(|_| self.clamp_world) {
            Some(b) => {
                let held: Vec<Vec<Vec<f64>>> = windows
                    .iter()
                    .map(|w| w.iter().map(|r| b.clamp(r)).collect())
                    .collect();
                let refs: Vec<&[Vec<f64>]> = held.iter().map(Vec::as_slice).collect();
                self.gvar.predict_next_batch(&refs)
            }
            None => self.gvar.predict_next_batch(windows),
        }
    }

    /// Window length τ_w.
    pub fn window(&self) -> usize {
        self.usad.config.window
    }

    /// The walk's settings: USAD's window and threshold, and the bounds if any.
    pub fn stream_config(&self, horizon: Option<usize>) -> StreamConfig {
        StreamConfig {
            window: self.window(),
            threshold: self.usad.threshold,
            horizon,
            bounds: self.bounds.cloned(),
        }
    }

    /// USAD's scores of raw windows. A window beyond the detector's `f32` range (a world run
    /// away after some policy's actions) scores +∞: certainly abnormal.
    pub fn score(&self, ws: &[&[Vec<f64>]]) -> Result<Vec<f64>> {
        let u = self.usad;
        let (z, wild) = tame(flatten_z(ws, &u.mean, &u.std), u.width());
        let mut scores = u.score_windows(&z, ws.len())?;
        for (s, w) in scores.iter_mut().zip(&wild) {
            if *w || s.is_nan() {
                *s = f64::INFINITY;
            }
        }
        Ok(scores)
    }

    /// The GVAR replacement baseline: θ = GVAR(x_{t−K..t−1}) − x_t.
    pub fn gvar_policy(&self, ws: &[&[Vec<f64>]]) -> Result<Vec<Vec<f64>>> {
        replace_policy(ws, |p| self.gvar.predict_next_batch(p))
    }

    /// h_φ's actions θ (raw units) for raw windows ending at the flagged step.
    pub fn recad_policy(&self, model: &Recad, ws: &[&[Vec<f64>]]) -> Result<Vec<Vec<f64>>> {
        let width = model.window * model.dim;
        let (z, wild) = tame(flatten_z(ws, &model.mean, &model.std), width);
        let net = self.gvar.net().clone();
        let predict = move |lagged: Tensor<3>| net.forward(lagged);
        let theta = model.act_normalised(&z, ws.len(), &predict)?;
        // No action for a window out of range: the walk counts it as invalid.
        Ok(theta
            .chunks(model.dim)
            .zip(&wild)
            .map(|(r, w)| {
                r.iter()
                    .zip(&model.std)
                    .map(|(t, s)| if *w { f64::NAN } else { f64::from(*t) * s })
                    .collect()
            })
            .collect())
    }

    /// Walks `series` (raw, abnormal) in the GVAR world with `policy`.
    pub fn walk_gvar_world(
        &self,
        series: &[&[Vec<f64>]],
        horizon: Option<usize>,
        policy: &PolicyFn<'_>,
    ) -> Result<Vec<SeriesOutcome>> {
        let mut world = stream::aap_world(series, self.gvar.lags(), |p: &[&[Vec<f64>]]| {
            self.world_predict(p)
        });
        let score = |ws: &[&[Vec<f64>]]| self.score(ws);
        stream::walk(
            series,
            &self.stream_config(horizon),
            &score,
            policy,
            world.as_mut(),
        )
    }

    /// Trains h_φ (Eq. 12) on the windows USAD flags in `series` (raw, abnormal), collected in
    /// `rounds` walks of the GVAR world (see the module docs).
    pub fn train_recad<R: Rng + ?Sized>(
        &self,
        series: &[&[Vec<f64>]],
        config: &RecadConfig,
        rounds: usize,
        horizon: Option<usize>,
        rng: &mut R,
        observer: &mut dyn Observer,
    ) -> Result<(Recad, RecadTraining)> {
        let (w, d, m) = (self.window(), self.usad.dim, config.look_ahead);
        let mut segments = Vec::new();
        let mut model: Option<Recad> = None;
        for round in 0..rounds.max(1) {
            let outcomes = match &model {
                // First round: each series' first alarm, as observed (no action yet).
                None => self.walk_gvar_world(series, Some(1), &|ws| {
                    Ok(ws.iter().map(|w| vec![0.0; w[0].len()]).collect())
                })?,
                Some(h) => self.walk_gvar_world(series, horizon, &|ws| self.recad_policy(h, ws))?,
            };
            segments.extend(self.segments(&outcomes, series, m)?);
            let n = segments.len() / ((w + m) * d);
            if n == 0 {
                return Err(Error::invalid(
                    "the detector flagged no window of the abnormal series: nothing to learn \
                     recourse from",
                ));
            }
            tracing::info!(round, windows = n, "training the RecAD recourse network");
            model = Some(self.fit(config, &segments, n, rng, observer)?);
        }
        let n = segments.len() / ((w + m) * d);
        let model = model.ok_or_else(|| Error::invalid("RecAD was not trained"))?;
        Ok((model, RecadTraining { windows: n }))
    }

    /// The z-scored segments `[n, τ_w + M, d]` h_φ learns from: for every action of the walk,
    /// the window as it was before the action, then the M rows that follow it in the GVAR world
    /// without that action, which Eq. 12's look-ahead re-derives with θ added.
    fn segments(
        &self,
        outcomes: &[SeriesOutcome],
        observed: &[&[Vec<f64>]],
        look_ahead: usize,
    ) -> Result<Vec<f32>> {
        let (k, window) = (self.gvar.lags(), self.window());
        let mut out = Vec::new();
        for (o, x) in outcomes.iter().zip(observed) {
            for a in &o.actions {
                let t = a.t;
                if t + look_ahead >= x.len() {
                    continue;
                }
                let mut rows: Vec<Vec<f64>> = o.world[..t].to_vec();
                rows.push(
                    o.world[t]
                        .iter()
                        .zip(&a.theta)
                        .map(|(v, th)| v - th)
                        .collect(),
                );
                for s in t + 1..=t + look_ahead {
                    let both = self.world_predict(&[&rows[s - k..s], &x[s - k..s]])?;
                    rows.push(stream::aap_row(&x[s], &both[0], &both[1]));
                }
                let seg: [&[Vec<f64>]; 1] = [&rows[t + 1 - window..=t + look_ahead]];
                let z = flatten_z(&seg, self.gvar.mean(), self.gvar.std());
                // A world run away under the behaviour policy teaches nothing but overflow.
                if z.iter().all(|v| v.is_finite() && v.abs() <= MAX_Z) {
                    out.extend(z);
                }
            }
        }
        Ok(out)
    }

    /// Trains h_φ through the frozen GVAR and USAD on an autodiff device.
    fn fit<R: Rng + ?Sized>(
        &self,
        config: &RecadConfig,
        segments: &[f32],
        n: usize,
        rng: &mut R,
        observer: &mut dyn Observer,
    ) -> Result<Recad> {
        let device = remedy_nn::autodiff(&remedy_nn::cpu());
        let gnet = self.gvar.net_on(&device);
        let predict = move |lagged: Tensor<3>| gnet.forward(lagged);
        let score = |w: Tensor<2>| self.usad.score_tensor(w);
        let problem = RecadProblem {
            segments,
            n,
            window: self.window(),
            dim: self.usad.dim,
            lags: self.gvar.lags(),
            tau: self.usad.threshold,
            mean: &self.usad.mean,
            std: &self.usad.std,
        };
        config.fit(problem, &predict, &score, &device, rng, observer)
    }
}

/// Zeroes the windows (of `width` values) that hold a value beyond `f32` comfort (non-finite
/// or above 1e15 in z units), so a network can run on the batch; returns which they were.
fn tame(mut z: Vec<f32>, width: usize) -> (Vec<f32>, Vec<bool>) {
    let width = width.max(1);
    let wild: Vec<bool> = z
        .chunks(width)
        .map(|c| c.iter().any(|v| !v.is_finite() || v.abs() > 1e15))
        .collect();
    for (c, w) in z.chunks_mut(width).zip(&wild) {
        if *w {
            c.iter_mut().for_each(|v| *v = 0.0);
        }
    }
    (z, wild)
}

/// z-scored, time-major flattened windows.
pub fn flatten_z(ws: &[&[Vec<f64>]], mean: &[f64], std: &[f64]) -> Vec<f32> {
    ws.iter()
        .flat_map(|w| w.iter())
        .flat_map(|r| {
            r.iter()
                .zip(mean.iter().zip(std))
                .map(|(v, (m, s))| ((v - m) / s) as f32)
        })
        .collect()
}

/// The predictor baselines (spec §5): replace each window's last step by the prediction from
/// the rows before it, θ = x̂_t − x_t.
pub fn replace_policy<P>(ws: &[&[Vec<f64>]], predict: P) -> Result<Vec<Vec<f64>>>
where
    P: Fn(&[&[Vec<f64>]]) -> Result<Vec<Vec<f64>>>,
{
    let past: Vec<&[Vec<f64>]> = ws.iter().map(|w| &w[..w.len() - 1]).collect();
    let pred = predict(&past)?;
    Ok(pred
        .iter()
        .zip(ws)
        .map(|(p, w)| p.iter().zip(&w[w.len() - 1]).map(|(a, b)| a - b).collect())
        .collect())
}
