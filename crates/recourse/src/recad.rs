//! RecAD recourse for multivariate time series (RecAD spec §1 Eqs. 5-12, Algorithm 1): an
//! amortised network h_φ maps the window before an abnormal step t and the step's abducted
//! innovation to a soft intervention θ_t, trained through a frozen GVAR predictor and a frozen
//! window detector so that the acted window and the next M windows of the counterfactual
//! continuation score below α·τ.
//!
//! * Eq. 5 (soft intervention): x̃_t = x_t + θ_t, every variable actionable, c = 1.
//! * Time-lag exclusion term (Eq. 8, abduction): ε̂_{t+i} = x_{t+i} − GVAR(x_{t+i−K..t+i−1}),
//!   computed on the observed window and kept fixed in the counterfactual world.
//! * Eq. 6: θ_t = FC3([FC1(LSTM(W_{t−1})) ‖ FC2(ε̂_t)]), with the LSTM over the τ_w − 1 rows
//!   before t (last hidden state as the paper says, or the code's mean over time).
//! * Eqs. 9-11 (action, prediction): x̃_{t+i} = GVAR(x̃_{t+i−K..t+i−1}) + ε̂_{t+i}, with
//!   gradients kept through GVAR (the paper; the code detaches, spec §9.2, available as
//!   [`RecadConfig::detach_look_ahead`]).
//! * Eq. 12: L = max(A(W̃_t) − ατ, 0) + (γ/M)·Σ_{i=1..M} max(A(W̃_{t+i}) − ατ, 0) + λ·cost(θ).
//!
//! Departures from Algorithm 1 (spec §1, §10.8): training windows are independent samples in
//! minibatches (each a flagged window with its M observed successors), not a stateful walk over
//! each series with at most four chained actions; the predictor and the detector are any
//! differentiable closures, so a tiny linear system can stand in for GVAR and USAD in tests.

use std::collections::HashMap;

use rand::Rng;
use remedy_core::{Error, Result};
use remedy_nn::dense::Dense;
use remedy_nn::lstm::{Lstm, LstmConfig};
use remedy_nn::store::NamedTensor;
use remedy_nn::train::{TrainConfig, TrainReport, fit};
use remedy_nn::{Activation, Device, Mlp, MlpConfig, Module, Observer, Tensor, tensor};
use serde::{Deserialize, Serialize};

/// A differentiable one-step predictor (GVAR, Eq. 2): lagged inputs `[B, K, d]` whose slot
/// k − 1 holds x_{t−k}, to the prediction x̂_t `[B, d]`.
pub type PredictFn<'a> = dyn Fn(Tensor<3>) -> Tensor<2> + 'a;

/// The detector's score of flattened windows `[B, τ_w·d]` (time-major rows, as USAD
/// flattens them) to `[B]`, differentiable in its input.
pub type WindowScoreFn<'a> = dyn Fn(Tensor<2>) -> Tensor<1> + 'a;

/// How the action cost ‖c ⊙ θ‖ is measured (c = 1, spec §1 Eq. 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionCost {
    /// mean_j θ_j², as the reference code (`b_r·mean(θ²)`, spec §1 Eq. 7).
    #[default]
    MeanSquare,
    /// Σ_j |θ_j| (the paper's norm as the spec suggests reading it, §1 Eq. 7).
    L1,
    /// (Σ_j θ_j²)^½.
    L2,
}

/// How the LSTM's outputs over the window become one vector (spec §1 Eq. 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The last hidden state (the paper).
    #[default]
    Last,
    /// The mean of the hidden states over time (the reference code, spec §9.13).
    Mean,
}

/// Settings of h_φ and its objective (defaults: spec §4, Linear column).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecadConfig {
    /// Hidden width H of the LSTM and of FC1/FC2 (spec §4: 50 for Linear, 1000 for LV, 100 for
    /// MSDS; the paper says 100).
    pub hidden: usize,
    /// Look-ahead M (spec §4: 1 for the synthetic sets, 0 for MSDS; paper Eq. 12: M = 1).
    pub look_ahead: usize,
    /// The hinge sits at α·τ (paper Eq. 12). The code has no hinge and minimises the raw score
    /// (spec §9.1), which for a non-negative score is α = 0, the default.
    pub alpha: f64,
    /// Weight λ of the action cost (code: b_r = 1e-3 on mean θ², spec §4).
    pub lambda: f64,
    /// The cost's form (code: mean of squares).
    pub cost: ActionCost,
    /// Weight γ of the look-ahead terms, divided by M (code: g_r = 1, spec §4).
    pub gamma: f64,
    /// Pooling of the LSTM outputs (paper: last hidden state).
    pub pooling: Pooling,
    /// Detach the propagated rows x̃_{t+i} as the code does (spec §9.2); the paper keeps the
    /// gradient through GVAR.
    pub detach_look_ahead: bool,
    /// Optimisation (spec §4: Adam lr 1e-4, 50 epochs, one window per step, last-epoch
    /// weights).
    pub train: TrainConfig,
    /// Start h_φ at θ = −ε̂_t (undo the step's innovation, i.e. the GVAR replacement) instead
    /// of a random FFNN path; needs H ≥ d. The reference initialises at random; on
    /// Lotka-Volterra, whose shocks are about 38 sd, a random start never learns to undo them
    /// in the training budget.
    #[serde(default = "yes")]
    pub warm_start: bool,
}

fn yes() -> bool {
    true
}

impl Default for RecadConfig {
    fn default() -> Self {
        RecadConfig {
            hidden: 50,
            look_ahead: 1,
            alpha: 0.0,
            lambda: 1e-3,
            cost: ActionCost::MeanSquare,
            gamma: 1.0,
            pooling: Pooling::Last,
            detach_look_ahead: false,
            train: TrainConfig {
                epochs: 50,
                batch_size: 1,
                learning_rate: 1e-4,
                weight_decay: 0.0,
                patience: None,
                min_epochs: 0,
                lr_decay: 1.0,
                min_delta: 0.0,
            },
            warm_start: true,
        }
    }
}

impl RecadConfig {
    /// The settings `reproduce recad` and `ts fit` train with, for hidden width H: minibatches
    /// of 32 at lr 1e-3 for 40 epochs instead of one window at lr 1e-4 (spec §10 item 8), no
    /// look-ahead (M = 0: training through GVAR's continuation of an abnormal step taught
    /// harmful actions, docs/RESULTS.md), warm start at θ = −ε̂; the rest as [`Default`].
    pub fn minibatch(hidden: usize) -> Self {
        let d = RecadConfig::default();
        RecadConfig {
            hidden,
            look_ahead: 0,
            train: TrainConfig {
                epochs: 40,
                batch_size: 32,
                learning_rate: 1e-3,
                ..d.train.clone()
            },
            ..d
        }
    }

    fn check(&self) -> Result<()> {
        let finite_nonneg = |v: f64| v.is_finite() && v >= 0.0;
        if self.hidden == 0
            || !finite_nonneg(self.alpha)
            || !finite_nonneg(self.lambda)
            || !finite_nonneg(self.gamma)
            || !positive(self.train.learning_rate)
        {
            return Err(Error::invalid(format!(
                "RecAD settings out of range: hidden {}, α {}, λ {}, γ {}, lr {}",
                self.hidden, self.alpha, self.lambda, self.gamma, self.train.learning_rate
            )));
        }
        Ok(())
    }
}

/// The flagged windows to learn from, normalised (z-space, spec §10.1).
#[derive(Debug, Clone, Copy)]
pub struct RecadProblem<'a> {
    /// Segments, row-major `[n, window + look_ahead, dim]`: the τ_w rows of a window whose last
    /// row t the detector flags, then the M observed rows after it.
    pub segments: &'a [f32],
    pub n: usize,
    /// Window length τ_w.
    pub window: usize,
    pub dim: usize,
    /// Lag order K of the predictor (K ≤ τ_w − 1).
    pub lags: usize,
    /// The detector's threshold τ.
    pub tau: f64,
    /// Per-variable mean and standard deviation of the normalisation, for actions in original
    /// units.
    pub mean: &'a [f64],
    pub std: &'a [f64],
}

/// Finite and strictly positive.
fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

fn check_shape(window: usize, dim: usize, lags: usize, mean: &[f64], std: &[f64]) -> Result<()> {
    if window < 2 || dim == 0 || lags == 0 || lags >= window {
        return Err(Error::invalid(format!(
            "RecAD needs a window of at least 2 rows, at least one variable and 1 ≤ K < τ_w \
             (got τ_w = {window}, d = {dim}, K = {lags})"
        )));
    }
    if mean.len() != dim
        || std.len() != dim
        || mean.iter().any(|v| !v.is_finite())
        || !std.iter().all(|v| positive(*v))
    {
        return Err(Error::invalid(format!(
            "RecAD normalisation needs {dim} finite means and positive standard deviations"
        )));
    }
    Ok(())
}

impl RecadProblem<'_> {
    fn check(&self, look_ahead: usize) -> Result<()> {
        check_shape(self.window, self.dim, self.lags, self.mean, self.std)?;
        if self.n == 0 {
            return Err(Error::invalid("no flagged windows to learn recourse from"));
        }
        let want = self.n * (self.window + look_ahead) * self.dim;
        if self.segments.len() != want {
            return Err(Error::invalid(format!(
                "RecAD segments hold {} values, expected {} × ({} + M = {}) × {} = {want}",
                self.segments.len(),
                self.n,
                self.window,
                look_ahead,
                self.dim
            )));
        }
        if self.segments.iter().any(|v| !v.is_finite()) || !self.tau.is_finite() {
            return Err(Error::invalid(
                "RecAD segments or threshold hold a non-finite value",
            ));
        }
        Ok(())
    }
}

/// The trainable layers of h_φ (a tuple, which burn treats as a module): the LSTM, FC1: H → H
/// on the pooled LSTM state, FC2: d → H on ε̂_t, FC3: 2H → d (no activation, θ unbounded).
pub type RecadLayers = (Lstm, Dense, Dense, Dense);

/// The recourse network h_φ of Eq. 6.
#[derive(Debug, Clone)]
pub struct RecadNet {
    pub layers: RecadLayers,
    pub pooling: Pooling,
}

impl RecadNet {
    fn init<R: Rng + ?Sized>(
        dim: usize,
        hidden: usize,
        pooling: Pooling,
        warm_start: bool,
        rng: &mut R,
        device: &Device,
    ) -> Result<Self> {
        let lstm = LstmConfig { input: dim, hidden }.init(rng, device)?;
        let fc1 = Dense::init(hidden, hidden, true, rng, device);
        let mut fc2 = Dense::init(dim, hidden, true, rng, device);
        let mut fc3 = Dense::init(2 * hidden, dim, true, rng, device);
        if warm_start && hidden >= dim {
            // θ = −ε̂ exactly at the start: FC2 copies ε̂ into its first d units, FC3 maps
            // them back negated and reads nothing else yet; training moves FC3's LSTM block
            // away from 0 (the draws above still happen, so the stream of random numbers is
            // the same either way).
            let mut w2 = vec![0.0f32; dim * hidden];
            for j in 0..dim {
                w2[j * hidden + j] = 1.0;
            }
            fc2 = Dense::from_values(w2, dim, hidden, Some(vec![0.0; hidden]), device);
            let mut w3 = vec![0.0f32; 2 * hidden * dim];
            for j in 0..dim {
                w3[(hidden + j) * dim + j] = -1.0;
            }
            fc3 = Dense::from_values(w3, 2 * hidden, dim, Some(vec![0.0; dim]), device);
        }
        Ok(RecadNet {
            layers: (lstm, fc1, fc2, fc3),
            pooling,
        })
    }

    /// Eq. 6: θ_t `[B, d]` from the rows before t `[B, τ_w − 1, d]` and ε̂_t `[B, d]`.
    pub fn forward(&self, past: Tensor<3>, eps: Tensor<2>) -> Tensor<2> {
        forward(&self.layers, self.pooling, past, eps)
    }
}

/// Eq. 6 on the layers.
fn forward(layers: &RecadLayers, pooling: Pooling, past: Tensor<3>, eps: Tensor<2>) -> Tensor<2> {
    let (lstm, fc1, fc2, fc3) = layers;
    let h = match pooling {
        Pooling::Last => lstm.forward(past),
        Pooling::Mean => {
            let all = lstm.forward_all(past);
            let [b, _, hs] = all.dims();
            all.mean_dim(1).reshape([b, hs])
        }
    };
    let hw = fc1.forward(h);
    let he = fc2.forward(eps);
    fc3.forward(Tensor::cat(vec![hw, he], 1))
}
/// Lagged inputs `[B, K, d]` for step `s` of `rows` (slot j holds row s − 1 − j).
fn lagged(rows: &[Tensor<2>], s: usize, k: usize) -> Tensor<3> {
    Tensor::cat(
        (0..k)
            .map(|j| rows[s - 1 - j].clone().unsqueeze_dim(1))
            .collect(),
        1,
    )
}

/// Rows `[B, d]` of a `[B, L, d]` segment.
fn split_rows(seg: &Tensor<3>) -> Vec<Tensor<2>> {
    let [b, l, d] = seg.dims();
    (0..l)
        .map(|s| seg.clone().narrow(1, s, 1).reshape([b, d]))
        .collect()
}

/// Abduction-action-prediction (Eqs. 8-11): the counterfactual rows of a `[B, τ_w + M, d]`
/// observed segment when θ `[B, d]` is added at the window's last row t = τ_w − 1. Rows before t
/// are unchanged; x̃_{t+i} = GVAR(x̃ lags) + ε̂_{t+i} with ε̂ abducted on the observed rows.
/// With `detach`, the propagated rows carry no gradient (the reference code, spec §9.2).
pub fn counterfactual_rows(
    seg: Tensor<3>,
    theta: Tensor<2>,
    window: usize,
    lags: usize,
    predict: &PredictFn<'_>,
    detach: bool,
) -> Vec<Tensor<2>> {
    let rows = split_rows(&seg);
    let t = window - 1;
    let mut cf = rows.clone();
    cf[t] = rows[t].clone() + theta;
    for s in t + 1..rows.len() {
        let eps = (rows[s].clone() - predict(lagged(&rows, s, lags))).detach();
        let next = predict(lagged(&cf, s, lags)) + eps;
        cf[s] = if detach { next.detach() } else { next };
    }
    cf
}

/// The flattened window `[B, τ_w·d]` ending at row `end` (time-major).
fn window_at(rows: &[Tensor<2>], end: usize, window: usize) -> Tensor<2> {
    Tensor::cat(rows[end + 1 - window..=end].to_vec(), 1)
}

/// The per-row action cost `[B]`.
fn action_cost(theta: Tensor<2>, cost: ActionCost) -> Tensor<1> {
    let per_row = match cost {
        ActionCost::MeanSquare => theta.powf_scalar(2.0).mean_dim(1),
        ActionCost::L1 => theta.abs().sum_dim(1),
        // The small constant keeps the gradient finite at θ = 0.
        ActionCost::L2 => theta.powf_scalar(2.0).sum_dim(1).add_scalar(1e-12).sqrt(),
    };
    per_row.squeeze_dim(1)
}

/// Eq. 12 on a batch of segments `[B, τ_w + M, d]`: mean over the batch.
#[allow(clippy::too_many_arguments)]
fn objective(
    net: &RecadLayers,
    seg: Tensor<3>,
    config: &RecadConfig,
    window: usize,
    lags: usize,
    tau: f64,
    predict: &PredictFn<'_>,
    score: &WindowScoreFn<'_>,
) -> Tensor<1> {
    let rows = split_rows(&seg);
    let t = window - 1;
    // Time-lag exclusion term on the observed window (spec §1).
    let eps = (rows[t].clone() - predict(lagged(&rows, t, lags))).detach();
    let past = seg.clone().narrow(1, 0, t);
    let theta = forward(net, config.pooling, past, eps);
    let cf = counterfactual_rows(
        seg,
        theta.clone(),
        window,
        lags,
        predict,
        config.detach_look_ahead,
    );
    let hinge_at = config.alpha * tau;
    let hinge = |end: usize| {
        score(window_at(&cf, end, window))
            .sub_scalar(hinge_at)
            .clamp_min(0.0)
    };
    let mut loss = hinge(t);
    let m = config.look_ahead;
    if m > 0 {
        let mut ahead = hinge(t + 1);
        for i in 2..=m {
            ahead = ahead + hinge(t + i);
        }
        loss = loss + ahead.mul_scalar(config.gamma / m as f64);
    }
    (loss + action_cost(theta, config.cost).mul_scalar(config.lambda)).mean()
}

/// The shape of one biased linear layer as an MLP (for storage).
fn one_layer(i: usize, o: usize) -> MlpConfig {
    MlpConfig {
        sizes: vec![i, o],
        activations: vec![Activation::Identity],
        dropout: vec![0.0],
        bias: true,
    }
}

/// A trained RecAD recourse model.
#[derive(Debug)]
pub struct Recad {
    pub config: RecadConfig,
    /// h_φ on the plain CPU device.
    pub net: RecadNet,
    pub window: usize,
    pub dim: usize,
    pub lags: usize,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub report: TrainReport,
}

impl RecadConfig {
    /// Trains h_φ on the flagged windows of `problem` (Algorithm 1 in minibatches, Eq. 12).
    /// `predict` (the frozen GVAR) and `score` (the frozen detector) must accept tensors on
    /// `device`, an autodiff device. The last epoch's weights are kept (spec §9.10).
    pub fn fit<R: Rng + ?Sized>(
        &self,
        problem: RecadProblem<'_>,
        predict: &PredictFn<'_>,
        score: &WindowScoreFn<'_>,
        device: &Device,
        rng: &mut R,
        observer: &mut dyn Observer,
    ) -> Result<Recad> {
        self.check()?;
        problem.check(self.look_ahead)?;
        let (w, d, k) = (problem.window, problem.dim, problem.lags);
        let len = w + self.look_ahead;
        let batch = |idx: &[usize]| {
            tensor::gather_rows(problem.segments, len * d, idx, device).reshape([idx.len(), len, d])
        };
        // Probe the closures' shapes once, so a mismatch is an error rather than a panic.
        let probe = batch(&[0]);
        let p = predict(lagged(&split_rows(&probe), w - 1, k));
        if p.dims() != [1, d] {
            return Err(Error::invalid(format!(
                "the predictor returned {:?} for one window, expected [1, {d}]",
                p.dims()
            )));
        }
        let s = score(window_at(&split_rows(&probe), w - 1, w));
        if s.dims() != [1] {
            return Err(Error::invalid(format!(
                "the window scorer returned {:?} for one window, expected [1]",
                s.dims()
            )));
        }
        let net = RecadNet::init(d, self.hidden, self.pooling, self.warm_start, rng, device)?;
        let (layers, report) = fit(
            net.layers,
            problem.n,
            &self.train,
            rng,
            observer,
            "recad",
            |m: &RecadLayers, idx: &[usize], _r: &mut R| {
                objective(m, batch(idx), self, w, k, problem.tau, predict, score)
            },
            |_m: &RecadLayers| f64::NAN,
            |_m: &mut RecadLayers, _e| {},
        );
        let loss = report.train_loss.last().copied().unwrap_or(f64::NAN);
        if !loss.is_finite() {
            return Err(Error::invalid(format!(
                "RecAD training diverged (last epoch's loss {loss})"
            )));
        }
        Ok(Recad {
            config: self.clone(),
            net: RecadNet {
                layers: layers.valid(),
                pooling: self.pooling,
            },
            window: w,
            dim: d,
            lags: k,
            mean: problem.mean.to_vec(),
            std: problem.std.to_vec(),
            report,
        })
    }
}

impl Recad {
    /// Actions θ in z-space `[n, d]` for `n` normalised windows (row-major `[n, τ_w, d]`, each
    /// ending at the flagged step t). `predict` runs on the CPU device; ε̂_t is abducted from
    /// the window itself (spec §1, time-lag exclusion term).
    pub fn act_normalised(
        &self,
        windows: &[f32],
        n: usize,
        predict: &PredictFn<'_>,
    ) -> Result<Vec<f32>> {
        let (w, d) = (self.window, self.dim);
        if n == 0 || windows.len() != n * w * d || windows.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "RecAD acts on finite windows of {w} × {d} values ({} values for {n} windows)",
                windows.len()
            )));
        }
        let device = remedy_nn::cpu();
        let seg = tensor::from_flat(windows.to_vec(), n, w * d, &device).reshape([n, w, d]);
        let rows = split_rows(&seg);
        let p = predict(lagged(&rows, w - 1, self.lags));
        if p.dims() != [n, d] {
            return Err(Error::invalid(format!(
                "the predictor returned {:?}, expected [{n}, {d}]",
                p.dims()
            )));
        }
        let eps = rows[w - 1].clone() - p;
        Ok(tensor::to_flat(
            self.net.forward(seg.narrow(1, 0, w - 1), eps),
        ))
    }

    /// θ_t in original units for one window in original units (`[τ_w, d]` row-major, ending at
    /// the flagged step): the window is normalised, h_φ acts in z-space (Eq. 6) and θ is scaled
    /// back by the standard deviations (spec §10.1). `predict` works in z-space on the CPU.
    pub fn act(&self, window: &[f64], predict: &PredictFn<'_>) -> Result<Vec<f64>> {
        let d = self.dim;
        if window.len() != self.window * d {
            return Err(Error::invalid(format!(
                "RecAD acts on a window of {} × {d} values, got {}",
                self.window,
                window.len()
            )));
        }
        let z: Vec<f32> = window
            .iter()
            .enumerate()
            .map(|(i, v)| ((v - self.mean[i % d]) / self.std[i % d]) as f32)
            .collect();
        let theta = self.act_normalised(&z, 1, predict)?;
        Ok(theta
            .iter()
            .zip(&self.std)
            .map(|(t, s)| f64::from(*t) * s)
            .collect())
    }

    /// Writes `dir/NAME.safetensors` and `dir/NAME.json` (kind "recad"), the normalisation
    /// also as f64 bit patterns so that a reload acts bit-identically.
    pub fn save(&self, dir: &std::path::Path, name: &str) -> Result<()> {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
        let payload = serde_json::json!({
            "config": self.config,
            "window": self.window,
            "dim": self.dim,
            "lags": self.lags,
            "report": self.report,
            "mean": self.mean,
            "std": self.std,
            "exact": { "mean": bits(&self.mean), "std": bits(&self.std) },
        });
        remedy_nn::store::save(dir, name, "recad", payload, &self.named_tensors())
    }

    /// Reads a model written by [`Recad::save`], checking the checksum and shapes.
    pub fn load(dir: &std::path::Path, name: &str) -> Result<Self> {
        use remedy_nn::store::field;
        let (payload, mut tensors) = remedy_nn::store::load(dir, name, "recad")?;
        let what = "RecAD";
        let exact: HashMap<String, Vec<u64>> = field(&payload, "exact", what, dir)?;
        let unbits = |k: &str| -> Vec<f64> {
            exact
                .get(k)
                .map(|v| v.iter().map(|b| f64::from_bits(*b)).collect())
                .unwrap_or_default()
        };
        Recad::from_named(
            field(&payload, "config", what, dir)?,
            field(&payload, "window", what, dir)?,
            field(&payload, "dim", what, dir)?,
            field(&payload, "lags", what, dir)?,
            unbits("mean"),
            unbits("std"),
            field(&payload, "report", what, dir)?,
            &mut tensors,
        )
    }

    /// Weights as named tensors (for a model directory).
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        let (lstm, fc1, fc2, fc3) = &self.net.layers;
        let mut out = lstm.named_tensors("lstm");
        for (name, layer) in [("fc1", fc1), ("fc2", fc2), ("fc3", fc3)] {
            let [i, o] = layer.shape();
            let mlp = Mlp {
                layers: vec![layer.clone()],
                config: one_layer(i, o),
            };
            out.extend(mlp.named_tensors(name));
        }
        out
    }

    /// Rebuilds a model saved with [`Recad::named_tensors`].
    #[allow(clippy::too_many_arguments)]
    pub fn from_named(
        config: RecadConfig,
        window: usize,
        dim: usize,
        lags: usize,
        mean: Vec<f64>,
        std: Vec<f64>,
        report: TrainReport,
        tensors: &mut HashMap<String, NamedTensor>,
    ) -> Result<Self> {
        config.check()?;
        check_shape(window, dim, lags, &mean, &std)?;
        let device = remedy_nn::cpu();
        let h = config.hidden;
        let lstm = Lstm::from_named(
            LstmConfig {
                input: dim,
                hidden: h,
            },
            "lstm",
            tensors,
            &device,
        )?;
        // Each FC layer is stored as a one-layer MLP `NAME.0.weight` / `NAME.0.bias`.
        let mut dense = |name: &str, i: usize, o: usize| -> Result<Dense> {
            let cfg = one_layer(i, o);
            let mut mlp = Mlp::from_named(&cfg, name, tensors, &device)?;
            Ok(mlp.layers.remove(0))
        };
        let net = RecadNet {
            layers: (
                lstm,
                dense("fc1", h, h)?,
                dense("fc2", dim, h)?,
                dense("fc3", 2 * h, dim)?,
            ),
            pooling: config.pooling,
        };
        Ok(Recad {
            config,
            net,
            window,
            dim,
            lags,
            mean,
            std,
            report,
        })
    }
}

/// Recourse metrics with the paper's definitions (spec §6): the flipping ratio per acted step,
/// and cost and steps per abnormal series. The cost is mean_j θ_j² in z-space (the code's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecourseTally {
    /// Windows acted on (A(W) > τ).
    pub actions: usize,
    /// Acted windows still abnormal after the action.
    pub failures: usize,
    /// Series with at least one action.
    pub abnormal_series: usize,
    /// Σ over actions of mean_j θ_j².
    pub cost: f64,
}

impl RecourseTally {
    /// Records one series' actions θ (z-space) and whether each flipped its window.
    pub fn record_series(&mut self, actions: &[(Vec<f64>, bool)]) {
        if actions.is_empty() {
            return;
        }
        self.abnormal_series += 1;
        for (theta, flipped) in actions {
            self.actions += 1;
            self.failures += usize::from(!flipped);
            if !theta.is_empty() {
                self.cost += theta.iter().map(|t| t * t).sum::<f64>() / theta.len() as f64;
            }
        }
    }

    /// Flipped abnormal steps / detected abnormal steps (NaN without actions).
    pub fn flipping_ratio(&self) -> f64 {
        if self.actions == 0 {
            f64::NAN
        } else {
            1.0 - self.failures as f64 / self.actions as f64
        }
    }

    /// Total action cost / abnormal series (NaN without abnormal series).
    pub fn cost_per_series(&self) -> f64 {
        if self.abnormal_series == 0 {
            f64::NAN
        } else {
            self.cost / self.abnormal_series as f64
        }
    }

    /// Action steps / abnormal series (NaN without abnormal series).
    pub fn steps_per_series(&self) -> f64 {
        if self.abnormal_series == 0 {
            f64::NAN
        } else {
            self.actions as f64 / self.abnormal_series as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use remedy_core::seed;
    use remedy_nn::NoObserver;

    /// The stand-in for GVAR: a VAR(1) x_t = A x_{t−1} + ε_t (row = target).
    const A: [[f64; 2]; 2] = [[0.5, 0.2], [-0.1, 0.6]];
    const W: usize = 5;
    const D: usize = 2;
    const TAU: f64 = 0.5;

    fn a_transposed(device: &Device) -> Tensor<2> {
        let v = vec![
            A[0][0] as f32,
            A[1][0] as f32,
            A[0][1] as f32,
            A[1][1] as f32,
        ];
        tensor::from_flat(v, 2, 2, device)
    }

    fn var_predict(device: &Device) -> impl Fn(Tensor<3>) -> Tensor<2> + '_ {
        move |lag: Tensor<3>| {
            let [b, _, d] = lag.dims();
            lag.narrow(1, 0, 1)
                .reshape([b, d])
                .matmul(a_transposed(device))
        }
    }

    /// The stand-in detector: Σ over the window of the squared one-step residuals.
    fn residual_score(device: &Device) -> impl Fn(Tensor<2>) -> Tensor<1> + '_ {
        move |win: Tensor<2>| {
            let [b, _] = win.dims();
            let x = win.reshape([b, W, D]);
            let prev = x.clone().narrow(1, 0, W - 1).reshape([b * (W - 1), D]);
            let next = x.narrow(1, 1, W - 1).reshape([b * (W - 1), D]);
            let res = next - prev.matmul(a_transposed(device));
            res.powf_scalar(2.0)
                .sum_dim(1)
                .reshape([b, W - 1])
                .sum_dim(1)
                .reshape([b])
        }
    }

    fn step(x: [f64; 2]) -> [f64; 2] {
        [
            A[0][0] * x[0] + A[0][1] * x[1],
            A[1][0] * x[0] + A[1][1] * x[1],
        ]
    }

    fn score64(rows: &[[f64; 2]]) -> f64 {
        rows.windows(2)
            .map(|p| {
                let pred = step(p[0]);
                (p[1][0] - pred[0]).powi(2) + (p[1][1] - pred[1]).powi(2)
            })
            .sum()
    }

    /// `n` segments of W + m rows with a shock of size 2..3 (random sign) on one random variable
    /// at the window's last row; returns the rows and the shocks.
    fn segments(n: usize, m: usize, seed_: u64) -> (Vec<Vec<[f64; 2]>>, Vec<[f64; 2]>) {
        let mut rng = seed::rng(seed_);
        let noise =
            |r: &mut seed::RemedyRng| [r.random_range(-0.17..0.17), r.random_range(-0.17..0.17)];
        let (mut segs, mut shocks) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let mut x = [0.0, 0.0];
            for _ in 0..20 {
                let p = step(x);
                let e = noise(&mut rng);
                x = [p[0] + e[0], p[1] + e[1]];
            }
            let v = usize::from(rng.random::<bool>());
            let size = rng.random_range(2.0..3.0) * if rng.random::<bool>() { 1.0 } else { -1.0 };
            let mut shock = [0.0, 0.0];
            shock[v] = size;
            let mut rows = vec![x];
            for s in 1..W + m {
                let p = step(x);
                let e = noise(&mut rng);
                x = [p[0] + e[0], p[1] + e[1]];
                if s == W - 1 {
                    x[0] += shock[0];
                    x[1] += shock[1];
                }
                rows.push(x);
            }
            segs.push(rows);
            shocks.push(shock);
        }
        (segs, shocks)
    }

    fn flat(segs: &[Vec<[f64; 2]>], rows: usize) -> Vec<f32> {
        segs.iter()
            .flat_map(|s| s[..rows].iter().flat_map(|r| r.iter().map(|v| *v as f32)))
            .collect()
    }

    fn config(epochs: usize) -> RecadConfig {
        RecadConfig {
            hidden: 8,
            look_ahead: 1,
            alpha: 0.2,
            lambda: 1e-3,
            train: TrainConfig {
                epochs,
                batch_size: 16,
                learning_rate: 1e-2,
                ..RecadConfig::default().train
            },
            // These tests check learning from a random start; the warm start has its own.
            warm_start: false,
            ..RecadConfig::default()
        }
    }

    #[test]
    fn warm_start_undoes_the_innovation_before_training() {
        let cpu = remedy_nn::cpu();
        let mut rng = seed::rng(5);
        let net = RecadNet::init(D, 8, Pooling::Last, true, &mut rng, &cpu).unwrap();
        let p = var_predict(&cpu);
        // One window: rows 0..W−1 then a last row off the prediction.
        let rows: Vec<f32> = (0..W * D).map(|i| (i as f32 * 0.37).sin()).collect();
        let seg = tensor::from_flat(rows.clone(), 1, W * D, &cpu).reshape([1, W, D]);
        let split = split_rows(&seg);
        let eps = split[W - 1].clone() - p(lagged(&split, W - 1, 1));
        let theta = tensor::to_flat(net.forward(seg.narrow(1, 0, W - 1), eps.clone()));
        let eps = tensor::to_flat(eps);
        for (t, e) in theta.iter().zip(&eps) {
            assert!((t + e).abs() < 1e-6, "θ {theta:?} vs −ε̂ {eps:?}");
        }
        // Without it, h_φ starts random.
        let cold = RecadNet::init(D, 8, Pooling::Last, false, &mut seed::rng(5), &cpu).unwrap();
        let seg = tensor::from_flat(rows, 1, W * D, &cpu).reshape([1, W, D]);
        let e = tensor::from_flat(eps.clone(), 1, D, &cpu);
        let theta = tensor::to_flat(cold.forward(seg.narrow(1, 0, W - 1), e));
        assert!(theta.iter().zip(&eps).any(|(t, e)| (t + e).abs() > 1e-3));
    }

    fn train(cfg: &RecadConfig, seed_: u64) -> Recad {
        let (segs, _) = segments(256, cfg.look_ahead, 1);
        let data = flat(&segs, W + cfg.look_ahead);
        let ad = remedy_nn::autodiff(&remedy_nn::cpu());
        let predict = var_predict(&ad);
        let score = residual_score(&ad);
        let problem = RecadProblem {
            segments: &data,
            n: segs.len(),
            window: W,
            dim: D,
            lags: 1,
            tau: TAU,
            mean: &[0.0, 0.0],
            std: &[1.0, 1.0],
        };
        cfg.fit(
            problem,
            &predict,
            &score,
            &ad,
            &mut seed::rng(seed_),
            &mut NoObserver,
        )
        .unwrap()
    }

    /// On a shocked VAR(1), h_φ learns θ ≈ −shock, flips the acted window and keeps the next
    /// window normal in the exact counterfactual continuation (Eq. 11: x̃_{t+1} = x_{t+1} + Aθ).
    #[test]
    fn learns_to_undo_a_shock_and_keeps_the_next_window_normal() {
        let cpu = remedy_nn::cpu();
        let predict = var_predict(&cpu);
        // The detector separates the shocked windows from the normal ones.
        let (test, shocks) = segments(200, 1, 99);
        for s in &test {
            assert!(score64(&s[..W - 1]) < TAU && score64(&s[..W]) > TAU);
        }
        let recad = train(&config(40), 3);
        let mut tally = RecourseTally::default();
        let (mut next_normal, mut close) = (0, 0);
        for (s, shock) in test.iter().zip(&shocks) {
            let window: Vec<f64> = s[..W].iter().flatten().copied().collect();
            let theta = recad.act(&window, &predict).unwrap();
            let mut cf: Vec<[f64; 2]> = s.clone();
            cf[W - 1] = [s[W - 1][0] + theta[0], s[W - 1][1] + theta[1]];
            let at = step(theta.clone().try_into().unwrap());
            cf[W] = [s[W][0] + at[0], s[W][1] + at[1]];
            let flipped = score64(&cf[..W]) <= TAU;
            tally.record_series(&[(theta.clone(), flipped)]);
            next_normal += usize::from(score64(&cf[1..=W]) <= TAU);
            close +=
                usize::from((theta[0] + shock[0]).abs() < 0.4 && (theta[1] + shock[1]).abs() < 0.4);
        }
        assert!(tally.flipping_ratio() >= 0.95, "{tally:?}");
        assert!(
            next_normal >= 190,
            "{next_normal} of 200 next windows normal"
        );
        assert!(close >= 190, "θ ≈ −shock for only {close} of 200");
        assert_eq!(tally.steps_per_series(), 1.0);
        assert!(tally.cost_per_series() > 1.0 && tally.cost_per_series() < 6.0);
        // Without the action every one of those windows is abnormal.
        assert!(test.iter().all(|s| score64(&s[1..=W]) > TAU));
    }

    /// Eq. 11 for a linear VAR: x̃_{t+i} = x_{t+i} + A^i θ, with the gradient through GVAR.
    #[test]
    fn counterfactual_rows_follow_the_closed_form() {
        let cpu = remedy_nn::cpu();
        let ad = remedy_nn::autodiff(&cpu);
        let predict = var_predict(&ad);
        let (segs, _) = segments(3, 2, 5);
        let seg = tensor::from_flat(flat(&segs, W + 2), 3, (W + 2) * D, &ad).reshape([3, W + 2, D]);
        let th = [0.7, -1.3];
        let theta = tensor::from_flat(
            (0..3).flat_map(|_| th.map(|v| v as f32)).collect(),
            3,
            D,
            &ad,
        )
        .require_grad();
        let cf = counterfactual_rows(seg, theta.clone(), W, 1, &predict, false);
        let a1 = step(th);
        let a2 = step(a1);
        for (b, s) in segs.iter().enumerate() {
            for (i, shift) in [(W - 2, [0.0, 0.0]), (W - 1, th), (W, a1), (W + 1, a2)] {
                let got = tensor::to_flat(cf[i].clone());
                for j in 0..D {
                    let want = s[i][j] + shift[j];
                    assert!((f64::from(got[b * D + j]) - want).abs() < 1e-5, "row {i}");
                }
            }
        }
        // d Σ x̃_{t+2} / dθ = 1ᵀA² per row: the gradient flows through two GVAR steps.
        let grads = cf[W + 1].clone().sum().backward();
        let g = tensor::to_flat(theta.grad(&grads).unwrap());
        let a2m = [
            A[0][0] * A[0][0] + A[0][1] * A[1][0],
            A[0][0] * A[0][1] + A[0][1] * A[1][1],
            A[1][0] * A[0][0] + A[1][1] * A[1][0],
            A[1][0] * A[0][1] + A[1][1] * A[1][1],
        ];
        let want = [a2m[0] + a2m[2], a2m[1] + a2m[3]];
        for j in 0..D {
            assert!(
                (f64::from(g[j]) - want[j]).abs() < 1e-5,
                "{g:?} vs {want:?}"
            );
        }
        // Detached, as the reference code: no gradient reaches θ through the propagation.
        let seg = tensor::from_flat(flat(&segs, W + 2), 3, (W + 2) * D, &ad).reshape([3, W + 2, D]);
        let theta = theta.detach().require_grad();
        let cf = counterfactual_rows(seg, theta.clone(), W, 1, &predict, true);
        let grads = (cf[W + 1].clone().sum() + cf[W - 1].clone().sum()).backward();
        let g = tensor::to_flat(theta.grad(&grads).unwrap());
        assert!(g.iter().all(|v| (*v - 1.0).abs() < 1e-6), "{g:?}");
    }

    #[test]
    fn same_seed_same_bits_and_round_trip() {
        let cfg = config(2);
        let a = train(&cfg, 7);
        let b = train(&cfg, 7);
        let c = train(&cfg, 8);
        let (ta, tb, tc) = (a.named_tensors(), b.named_tensors(), c.named_tensors());
        assert_eq!(ta, tb);
        assert_ne!(ta, tc);
        let mut map: HashMap<_, _> = ta.into_iter().map(|t| (t.name.clone(), t)).collect();
        let back = Recad::from_named(
            cfg.clone(),
            W,
            D,
            1,
            vec![0.0; 2],
            vec![1.0; 2],
            a.report.clone(),
            &mut map,
        )
        .unwrap();
        let cpu = remedy_nn::cpu();
        let predict = var_predict(&cpu);
        let window: Vec<f64> = (0..W * D).map(|i| i as f64 * 0.1).collect();
        assert_eq!(
            a.act(&window, &predict).unwrap(),
            back.act(&window, &predict).unwrap()
        );
        // Through files: same actions bit for bit; a flipped byte in the weights is refused.
        let dir = tempfile::tempdir().unwrap();
        a.save(dir.path(), "recad").unwrap();
        let loaded = Recad::load(dir.path(), "recad").unwrap();
        assert_eq!(
            a.act(&window, &predict).unwrap(),
            loaded.act(&window, &predict).unwrap()
        );
        let weights = dir.path().join("recad.safetensors");
        let mut bytes = std::fs::read(&weights).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&weights, bytes).unwrap();
        assert!(Recad::load(dir.path(), "recad").is_err());
        // Original units: θ scales with the standard deviations.
        let scaled = Recad {
            std: vec![2.0, 3.0],
            ..Recad::from_named(
                cfg,
                W,
                D,
                1,
                vec![0.0; 2],
                vec![1.0; 2],
                a.report.clone(),
                &mut a
                    .named_tensors()
                    .into_iter()
                    .map(|t| (t.name.clone(), t))
                    .collect(),
            )
            .unwrap()
        };
        let z = a.act(&window, &predict).unwrap();
        let raw_window: Vec<f64> = window
            .iter()
            .enumerate()
            .map(|(i, v)| v * [2.0, 3.0][i % 2])
            .collect();
        let r = scaled.act(&raw_window, &predict).unwrap();
        assert!((r[0] - 2.0 * z[0]).abs() < 1e-5 && (r[1] - 3.0 * z[1]).abs() < 1e-5);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let ad = remedy_nn::autodiff(&remedy_nn::cpu());
        let predict = var_predict(&ad);
        let score = residual_score(&ad);
        let data = vec![0.0f32; 2 * (W + 1) * D];
        let ok = RecadProblem {
            segments: &data,
            n: 2,
            window: W,
            dim: D,
            lags: 1,
            tau: TAU,
            mean: &[0.0, 0.0],
            std: &[1.0, 1.0],
        };
        let cfg = config(1);
        let fit = |p: RecadProblem<'_>, c: &RecadConfig| {
            c.fit(p, &predict, &score, &ad, &mut seed::rng(0), &mut NoObserver)
        };
        assert!(fit(RecadProblem { n: 3, ..ok }, &cfg).is_err());
        assert!(fit(RecadProblem { lags: W, ..ok }, &cfg).is_err());
        assert!(
            fit(
                RecadProblem {
                    std: &[1.0, 0.0],
                    ..ok
                },
                &cfg
            )
            .is_err()
        );
        assert!(
            fit(
                RecadProblem {
                    tau: f64::NAN,
                    ..ok
                },
                &cfg
            )
            .is_err()
        );
        assert!(
            fit(
                ok,
                &RecadConfig {
                    hidden: 0,
                    ..cfg.clone()
                }
            )
            .is_err()
        );
        // A predictor of the wrong width is refused, not a panic.
        let wrong = |lag: Tensor<3>| {
            let [b, _, d] = lag.dims();
            lag.reshape([b, d]).narrow(1, 0, 1)
        };
        assert!(
            cfg.fit(ok, &wrong, &score, &ad, &mut seed::rng(0), &mut NoObserver)
                .is_err()
        );
        let model = fit(ok, &cfg).unwrap();
        let cpu = remedy_nn::cpu();
        let p = var_predict(&cpu);
        assert!(model.act(&[0.0; 3], &p).is_err());
        assert!(model.act(&[f64::NAN; W * D], &p).is_err());
        assert_eq!(model.act(&[0.0; W * D], &p).unwrap().len(), D);
        // The reference code's variant (mean pooling, detached look-ahead) and the other costs
        // train and act too.
        for cost in [ActionCost::L1, ActionCost::L2] {
            let variant = RecadConfig {
                pooling: Pooling::Mean,
                detach_look_ahead: true,
                cost,
                ..cfg.clone()
            };
            let m = fit(ok, &variant).unwrap();
            let theta = m.act(&[0.1; W * D], &p).unwrap();
            assert!(
                theta.iter().all(|v| v.is_finite())
                    && theta != model.act(&[0.1; W * D], &p).unwrap()
            );
        }
    }
}
