//! The MLP and LSTM next-step predictor baselines of RecAD (spec
//! `recad-reference.md` §5, "MLP (fc)", "LSTM" and "Training for MLP, LSTM"): each reads the
//! previous `context` = τ_w − 1 rows of a series and predicts the next row.
//!
//! - MLP: Dropout(p) → Linear(context·d, H) → ReLU → Linear(H, H) → ReLU → Linear(H, H) → ReLU
//!   → Linear(H, d) on the flattened, time-major window (the oldest row's d values first).
//! - LSTM: LSTM(d, H) over the window → mean of the hidden states over time → Linear(H, d).
//!
//! Training (both): every variable is z-scored with the pooled training mean and population
//! standard deviation (ddof 0; a constant variable keeps sd 1); the examples are every
//! (previous `context` rows → next row) pair of every training series, in order; the first 80%
//! train and the last 20% validate (no shuffle of the split); Adam (lr 1e-3), batch 64, 50
//! epochs, MSE, keeping the best-validation epoch. Inputs and outputs of the fitted models are
//! in raw units. All randomness (weights, minibatch order, dropout masks) comes from the
//! caller's generator, so the same seed gives the same bits.

use rand::Rng;
use remedy_core::{Error, Result};
use remedy_nn::dense::Dense;
use remedy_nn::lstm::{Lstm, LstmConfig};
use remedy_nn::supervised::{self, Examples, Target, fit_mlp};
use remedy_nn::train::{TrainConfig, TrainReport, fit};
use remedy_nn::{Mlp, MlpConfig, Module, Observer, Tensor, tensor};
use serde::{Deserialize, Serialize};

use crate::var::{check_rows, population_stats};

/// Windows per inference forward pass.
const CHUNK: usize = 4096;

/// The reference's optimisation settings (spec §5): Adam lr 1e-3, batch 64, 50 epochs, no
/// early stopping, the best-validation epoch kept.
fn reference_train() -> TrainConfig {
    TrainConfig {
        epochs: 50,
        batch_size: 64,
        learning_rate: 1e-3,
        weight_decay: 0.0,
        patience: None,
        min_epochs: 1,
        lr_decay: 1.0,
        min_delta: 0.0,
    }
}

/// Settings of the MLP next-step predictor (spec §5, "MLP (fc)").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpPredictorConfig {
    /// Rows of history read per prediction, τ_w − 1 (4).
    pub context: usize,
    /// Width H of each of the three hidden layers (100).
    pub hidden: usize,
    /// Dropout probability on the flattened input window during training (0.1).
    pub dropout: f64,
    /// Optimisation: Adam lr 1e-3, batch 64, 50 epochs, best validation epoch kept.
    pub train: TrainConfig,
}

impl Default for MlpPredictorConfig {
    fn default() -> Self {
        MlpPredictorConfig {
            context: 4,
            hidden: 100,
            dropout: 0.1,
            train: reference_train(),
        }
    }
}

/// Settings of the LSTM next-step predictor (spec §5, "LSTM").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LstmPredictorConfig {
    /// Rows of history read per prediction, τ_w − 1 (4).
    pub context: usize,
    /// Hidden width H of the LSTM (100).
    pub hidden: usize,
    /// Optimisation: Adam lr 1e-3, batch 64, 50 epochs, best validation epoch kept.
    pub train: TrainConfig,
}

impl Default for LstmPredictorConfig {
    fn default() -> Self {
        LstmPredictorConfig {
            context: 4,
            hidden: 100,
            train: reference_train(),
        }
    }
}

/// Checks the settings shared by both predictors.
fn check_config(context: usize, hidden: usize, train: &TrainConfig, what: &str) -> Result<()> {
    if context == 0 {
        return Err(Error::invalid(format!(
            "{what}: the context must be at least one row"
        )));
    }
    if hidden == 0 {
        return Err(Error::invalid(format!(
            "{what}: the hidden width must be positive"
        )));
    }
    if train.epochs == 0 || train.batch_size == 0 {
        return Err(Error::invalid(format!(
            "{what}: epochs and batch size must be positive (got {} and {})",
            train.epochs, train.batch_size
        )));
    }
    let lr = train.learning_rate;
    if !(lr.is_finite() && lr > 0.0) {
        return Err(Error::invalid(format!(
            "{what}: the learning rate must be positive and finite (got {lr})"
        )));
    }
    let wd = train.weight_decay;
    if !(wd.is_finite() && wd >= 0.0) {
        return Err(Error::invalid(format!(
            "{what}: the weight decay must be non-negative and finite (got {wd})"
        )));
    }
    let decay = train.lr_decay;
    if !(decay.is_finite() && decay > 0.0) {
        return Err(Error::invalid(format!(
            "{what}: the learning-rate decay must be positive and finite (got {decay})"
        )));
    }
    Ok(())
}

/// Checks the training series (each longer than `context`, one width d ≥ 1, finite values)
/// and returns d.
fn check_train(train: &[Vec<Vec<f64>>], context: usize, what: &str) -> Result<usize> {
    if train.is_empty() {
        return Err(Error::invalid(format!(
            "{what} needs at least one training series"
        )));
    }
    for (s, rows) in train.iter().enumerate() {
        if rows.len() <= context {
            return Err(Error::invalid(format!(
                "{what} training series {s} has {} steps, more than {context} (the context) \
                 are needed",
                rows.len()
            )));
        }
    }
    let d = train[0][0].len();
    if d == 0 {
        return Err(Error::invalid(format!(
            "{what} training series 0 has rows without variables"
        )));
    }
    for (s, rows) in train.iter().enumerate() {
        check_rows(rows, d, &format!("{what} training series {s}"))?;
    }
    Ok(d)
}

/// The window length, width and z-score statistics of a fitted predictor.
#[derive(Debug, Clone, PartialEq)]
struct Scaler {
    context: usize,
    dim: usize,
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Scaler {
    /// z-scores one raw row into `out` as `f32`.
    fn push_z(&self, row: &[f64], out: &mut Vec<f32>) {
        out.extend(
            row.iter()
                .zip(self.mean.iter().zip(&self.std))
                .map(|(v, (m, s))| ((v - m) / s) as f32),
        );
    }

    /// Flattened z-scored inputs (`[n, context, d]` row-major) of the last `context` rows of
    /// each raw window, after checking every window.
    fn inputs(&self, windows: &[&[Vec<f64>]], what: &str) -> Result<Vec<f32>> {
        let (c, d) = (self.context, self.dim);
        let mut out = Vec::with_capacity(windows.len() * c * d);
        for (i, w) in windows.iter().enumerate() {
            if w.len() < c {
                return Err(Error::invalid(format!(
                    "{what} window {i} has {} steps, at least {c} (the context) are needed",
                    w.len()
                )));
            }
            check_rows(w, d, &format!("{what} window {i}"))?;
            for row in &w[w.len() - c..] {
                self.push_z(row, &mut out);
            }
        }
        Ok(out)
    }

    /// Raw-unit rows from z-space predictions (`[n, d]` row-major).
    fn raw(&self, z: &[f32]) -> Vec<Vec<f64>> {
        z.chunks(self.dim)
            .map(|r| {
                r.iter()
                    .zip(self.mean.iter().zip(&self.std))
                    .map(|(v, (m, s))| m + s * f64::from(*v))
                    .collect()
            })
            .collect()
    }
}

/// The z-scored (window → next row) pairs of the training series, in order, split 80/20.
struct Pairs {
    /// Inputs `[n, context, d]` row-major.
    x: Vec<f32>,
    /// Targets `[n, d]` row-major.
    y: Vec<f32>,
    /// Number of pairs.
    n: usize,
    /// The first `n_train` pairs train, the rest validate.
    n_train: usize,
}

impl Pairs {
    fn new(train: &[Vec<Vec<f64>>], scaler: &Scaler) -> Self {
        let c = scaler.context;
        let (mut x, mut y, mut n) = (Vec::new(), Vec::new(), 0usize);
        for rows in train {
            for t in c..rows.len() {
                for row in &rows[t - c..t] {
                    scaler.push_z(row, &mut x);
                }
                scaler.push_z(&rows[t], &mut y);
                n += 1;
            }
        }
        // First 80% train, last 20% validate; at least one training pair.
        let n_train = (n * 4 / 5).max(1).min(n);
        Pairs { x, y, n, n_train }
    }

    fn split(&self, d_in: usize, d_out: usize) -> (Examples<'_>, Examples<'_>) {
        let k = self.n_train;
        (
            Examples {
                x: &self.x[..k * d_in],
                y: &self.y[..k * d_out],
                n: k,
            },
            Examples {
                x: &self.x[k * d_in..],
                y: &self.y[k * d_out..],
                n: self.n - k,
            },
        )
    }
}

/// Refuses a run whose kept weights have no finite loss.
fn check_report(report: &TrainReport, has_valid: bool, what: &str) -> Result<()> {
    let loss = if has_valid {
        report.best_valid_loss
    } else {
        report.train_loss.last().copied().unwrap_or(f64::NAN)
    };
    if !loss.is_finite() {
        return Err(Error::invalid(format!(
            "{what} training diverged (loss of the kept weights {loss})"
        )));
    }
    Ok(())
}

impl MlpPredictorConfig {
    /// Trains the MLP on the normal `train` series (raw units, `series[t][j]`; each longer
    /// than `context`, one width, finite values), keeping the epoch with the lowest
    /// validation MSE on the last 20% of the (window → next row) pairs.
    pub fn fit<R: Rng + ?Sized>(
        &self,
        train: &[Vec<Vec<f64>>],
        rng: &mut R,
        observer: &mut dyn Observer,
    ) -> Result<MlpPredictor> {
        const WHAT: &str = "MLP predictor";
        check_config(self.context, self.hidden, &self.train, WHAT)?;
        if !(self.dropout.is_finite() && (0.0..1.0).contains(&self.dropout)) {
            return Err(Error::invalid(format!(
                "{WHAT}: the dropout must lie in [0, 1) (got {})",
                self.dropout
            )));
        }
        let d = check_train(train, self.context, WHAT)?;
        let (mean, std) = population_stats(train, d);
        let scaler = Scaler {
            context: self.context,
            dim: d,
            mean,
            std,
        };
        let pairs = Pairs::new(train, &scaler);
        let d_in = self.context * d;
        let h = self.hidden;
        let mut net_config = MlpConfig::relu(&[d_in, h, h, h, d]);
        net_config.dropout[0] = self.dropout as f32;
        let (tr, va) = pairs.split(d_in, d);
        let (net, report) = fit_mlp(
            &net_config,
            Target::Regression,
            tr,
            va,
            &self.train,
            rng,
            observer,
            "mlp-predictor",
        );
        check_report(&report, va.n > 0, WHAT)?;
        tracing::info!(
            epochs = report.epochs_run,
            best_epoch = report.best_epoch,
            valid = report.best_valid_loss,
            "mlp predictor trained"
        );
        Ok(MlpPredictor {
            config: self.clone(),
            scaler,
            net,
            report,
        })
    }
}

/// A trained MLP next-step predictor (spec §5, "MLP (fc)").
#[derive(Debug, Clone)]
pub struct MlpPredictor {
    config: MlpPredictorConfig,
    scaler: Scaler,
    net: Mlp,
    report: TrainReport,
}

impl MlpPredictor {
    /// Rows of history read per prediction.
    pub fn context(&self) -> usize {
        self.config.context
    }

    /// Number of variables d.
    pub fn dim(&self) -> usize {
        self.scaler.dim
    }

    /// Predictions of the step after each window, batched: `windows` are raw rows, each
    /// window at least `context` rows (the last `context` rows are used). Returns one
    /// raw-unit row per window.
    pub fn predict_next_batch(&self, windows: &[&[Vec<f64>]]) -> Result<Vec<Vec<f64>>> {
        let x = self.scaler.inputs(windows, "MLP predictor")?;
        let w = self.scaler.context * self.scaler.dim;
        let z: Vec<f32> = x
            .chunks(CHUNK * w)
            .flat_map(|c| supervised::predict(&self.net, c, c.len() / w, false))
            .collect();
        Ok(self.scaler.raw(&z))
    }

    /// The prediction (raw units) of the step after `window` (at least `context` rows; the
    /// last `context` are used).
    pub fn predict_next(&self, window: &[Vec<f64>]) -> Result<Vec<f64>> {
        Ok(self.predict_next_batch(&[window])?.remove(0))
    }

    /// What training did.
    pub fn report(&self) -> &TrainReport {
        &self.report
    }
}

/// The LSTM predictor's layers (a tuple, which burn treats as a module): LSTM(d, H) and the
/// output layer Linear(H, d).
type LstmLayers = (Lstm, Dense);

/// Next-row predictions `[B, d]` from windows `[B, context, d]`: the LSTM's hidden states
/// averaged over time, then the output layer.
fn lstm_forward(layers: &LstmLayers, x: Tensor<3>) -> Tensor<2> {
    let (lstm, out) = layers;
    let all = lstm.forward_all(x);
    let [b, _, h] = all.dims();
    out.forward(all.mean_dim(1).reshape([b, h]))
}

/// z-space predictions (`[n, d]` row-major) of flattened windows (`[n, context, d]`), in
/// chunks on the CPU.
fn lstm_predict_z(layers: &LstmLayers, x: &[f32], context: usize, dim: usize) -> Vec<f32> {
    let device = remedy_nn::cpu();
    let w = context * dim;
    x.chunks(CHUNK * w)
        .flat_map(|c| {
            let n = c.len() / w;
            let t = tensor::from_flat(c.to_vec(), n, w, &device).reshape([n, context, dim]);
            tensor::to_flat(lstm_forward(layers, t))
        })
        .collect()
}

impl LstmPredictorConfig {
    /// Trains the LSTM on the normal `train` series (raw units, `series[t][j]`; each longer
    /// than `context`, one width, finite values), keeping the epoch with the lowest
    /// validation MSE on the last 20% of the (window → next row) pairs.
    pub fn fit<R: Rng + ?Sized>(
        &self,
        train: &[Vec<Vec<f64>>],
        rng: &mut R,
        observer: &mut dyn Observer,
    ) -> Result<LstmPredictor> {
        const WHAT: &str = "LSTM predictor";
        check_config(self.context, self.hidden, &self.train, WHAT)?;
        let d = check_train(train, self.context, WHAT)?;
        let (mean, std) = population_stats(train, d);
        let scaler = Scaler {
            context: self.context,
            dim: d,
            mean,
            std,
        };
        let pairs = Pairs::new(train, &scaler);
        let (c, w) = (self.context, self.context * d);
        let (tr, va) = pairs.split(w, d);
        let plain = remedy_nn::cpu();
        let device = remedy_nn::autodiff(&plain);
        let lstm = LstmConfig {
            input: d,
            hidden: self.hidden,
        }
        .init(rng, &device)?;
        let out = Dense::init(self.hidden, d, true, rng, &device);
        let (layers, report) = fit(
            (lstm, out),
            tr.n,
            &self.train,
            rng,
            observer,
            "lstm-predictor",
            |m: &LstmLayers, idx: &[usize], _r: &mut R| {
                let x = tensor::gather_rows(tr.x, w, idx, &device).reshape([idx.len(), c, d]);
                let y = tensor::gather_rows(tr.y, d, idx, &device);
                (lstm_forward(m, x) - y).powf_scalar(2.0).mean()
            },
            |m: &LstmLayers| {
                if va.n == 0 {
                    return f64::NAN;
                }
                let p = lstm_predict_z(&m.valid(), va.x, c, d);
                let se: f64 = p
                    .iter()
                    .zip(va.y)
                    .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                    .sum();
                se / va.y.len() as f64
            },
            |_m: &mut LstmLayers, _e| {},
        );
        check_report(&report, va.n > 0, WHAT)?;
        tracing::info!(
            epochs = report.epochs_run,
            best_epoch = report.best_epoch,
            valid = report.best_valid_loss,
            "lstm predictor trained"
        );
        Ok(LstmPredictor {
            config: self.clone(),
            scaler,
            layers: layers.valid(),
            report,
        })
    }
}

/// A trained LSTM next-step predictor (spec §5, "LSTM").
#[derive(Debug, Clone)]
pub struct LstmPredictor {
    config: LstmPredictorConfig,
    scaler: Scaler,
    layers: LstmLayers,
    report: TrainReport,
}

impl LstmPredictor {
    /// Rows of history read per prediction.
    pub fn context(&self) -> usize {
        self.config.context
    }

    /// Number of variables d.
    pub fn dim(&self) -> usize {
        self.scaler.dim
    }

    /// Predictions of the step after each window, batched: `windows` are raw rows, each
    /// window at least `context` rows (the last `context` rows are used). Returns one
    /// raw-unit row per window.
    pub fn predict_next_batch(&self, windows: &[&[Vec<f64>]]) -> Result<Vec<Vec<f64>>> {
        let x = self.scaler.inputs(windows, "LSTM predictor")?;
        let z = lstm_predict_z(&self.layers, &x, self.scaler.context, self.scaler.dim);
        Ok(self.scaler.raw(&z))
    }

    /// The prediction (raw units) of the step after `window` (at least `context` rows; the
    /// last `context` are used).
    pub fn predict_next(&self, window: &[Vec<f64>]) -> Result<Vec<f64>> {
        Ok(self.predict_next_batch(&[window])?.remove(0))
    }

    /// What training did.
    pub fn report(&self) -> &TrainReport {
        &self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remedy_core::seed;
    use remedy_nn::NoObserver;

    /// Noise sd of the simulated VAR(1).
    const NOISE: f64 = 0.1;

    /// A N(0, sd²) draw (Box-Muller).
    fn normal(rng: &mut impl Rng, sd: f64) -> f64 {
        let u: f64 = 1.0 - rng.random::<f64>();
        let v: f64 = rng.random();
        sd * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// `n` series of `len` steps of the stable VAR(1) x_t = A x_{t−1} + 0.1·N(0, I) with a
    /// damped rotation on (x0, x1) (spectral radius 0.95) driving an oscillating x2, after a
    /// burn-in of 30 steps.
    fn simulate(n: usize, len: usize, rng: &mut impl Rng) -> Vec<Vec<Vec<f64>>> {
        let (r, th) = (0.95f64, 0.5f64);
        let a = [
            [r * th.cos(), -r * th.sin(), 0.0],
            [r * th.sin(), r * th.cos(), 0.0],
            [0.6, 0.0, -0.5],
        ];
        (0..n)
            .map(|_| {
                let mut x = [0.0f64; 3];
                let mut rows = Vec::with_capacity(len);
                for t in 0..len + 30 {
                    let mut next = [0.0; 3];
                    for (i, out) in next.iter_mut().enumerate() {
                        *out = (0..3).map(|j| a[i][j] * x[j]).sum::<f64>() + normal(rng, NOISE);
                    }
                    x = next;
                    if t >= 30 {
                        rows.push(x.to_vec());
                    }
                }
                rows
            })
            .collect()
    }

    /// Raw series, `rows[t][j]`.
    type Series = Vec<Vec<f64>>;

    fn train_test() -> (Vec<Series>, Vec<Series>) {
        let mut rng = seed::rng(1);
        let train = simulate(50, 40, &mut rng);
        let test = simulate(10, 40, &mut rng);
        (train, test)
    }

    fn small_train(epochs: usize) -> TrainConfig {
        TrainConfig {
            epochs,
            ..reference_train()
        }
    }

    /// Every (window, next row) pair of the held-out series.
    fn held_out(test: &[Vec<Vec<f64>>], c: usize) -> (Vec<&[Vec<f64>]>, Vec<&Vec<f64>>) {
        let mut windows = Vec::new();
        let mut targets = Vec::new();
        for s in test {
            for t in c..s.len() {
                windows.push(&s[t - c..t]);
                targets.push(&s[t]);
            }
        }
        (windows, targets)
    }

    fn mse<'a>(pred: impl Iterator<Item = &'a [f64]>, targets: &[&Vec<f64>]) -> f64 {
        let (mut se, mut n) = (0.0, 0usize);
        for (p, y) in pred.zip(targets) {
            assert_eq!(p.len(), y.len());
            for (a, b) in p.iter().zip(y.iter()) {
                se += (a - b).powi(2);
                n += 1;
            }
        }
        assert_eq!(n, targets.len() * 3);
        se / n as f64
    }

    /// Checks one-step predictions on held-out series against the persistence and mean
    /// forecasts and the noise level, which an untrained network cannot approach.
    fn assert_learns(predict: impl Fn(&[&[Vec<f64>]]) -> Vec<Vec<f64>>, c: usize, what: &str) {
        let (train, test) = train_test();
        let (windows, targets) = held_out(&test, c);
        let pred = predict(&windows);
        assert_eq!(pred.len(), windows.len());
        let model = mse(pred.iter().map(Vec::as_slice), &targets);
        let persistence = mse(windows.iter().map(|w| w[c - 1].as_slice()), &targets);
        let (mean, _) = population_stats(&train, 3);
        let mean_mse = mse(targets.iter().map(|_| mean.as_slice()), &targets);
        let noise = NOISE * NOISE;
        eprintln!(
            "{what}: model {model:.5}, persistence {persistence:.5}, mean {mean_mse:.5}, \
             noise {noise:.5}"
        );
        assert!(model < 0.5 * persistence.min(mean_mse), "{what}: {model}");
        assert!(model < 2.0 * noise, "{what}: {model} vs noise {noise}");
    }

    #[test]
    fn mlp_learns_a_var1() {
        let (train, _) = train_test();
        let cfg = MlpPredictorConfig {
            train: small_train(20),
            ..MlpPredictorConfig::default()
        };
        let m = cfg.fit(&train, &mut seed::rng(2), &mut NoObserver).unwrap();
        assert_eq!((m.context(), m.dim()), (4, 3));
        let rep = m.report();
        assert_eq!(rep.epochs_run, 20);
        assert!(rep.best_valid_loss.is_finite() && rep.best_epoch >= 1);
        assert_learns(|w| m.predict_next_batch(w).unwrap(), 4, "mlp");
        // The single-window call agrees with the batch, and longer windows use their tail.
        let s = &train[0];
        let one = m.predict_next(&s[..10]).unwrap();
        assert_eq!(one, m.predict_next_batch(&[&s[6..10]]).unwrap()[0]);
        assert!(m.predict_next_batch(&[]).unwrap().is_empty());
    }

    #[test]
    fn lstm_learns_a_var1() {
        let (train, _) = train_test();
        let cfg = LstmPredictorConfig {
            train: small_train(20),
            ..LstmPredictorConfig::default()
        };
        let m = cfg.fit(&train, &mut seed::rng(2), &mut NoObserver).unwrap();
        assert_eq!((m.context(), m.dim()), (4, 3));
        let rep = m.report();
        assert_eq!(rep.epochs_run, 20);
        assert!(rep.best_valid_loss.is_finite() && rep.best_epoch >= 1);
        assert_learns(|w| m.predict_next_batch(w).unwrap(), 4, "lstm");
        let s = &train[0];
        let one = m.predict_next(&s[..10]).unwrap();
        assert_eq!(one, m.predict_next_batch(&[&s[6..10]]).unwrap()[0]);
    }

    /// Same seed, same bits; another seed, other weights.
    #[test]
    fn same_seed_same_bits() {
        let (train, test) = train_test();
        let train = &train[..10];
        let (windows, _) = held_out(&test, 3);
        let mlp = MlpPredictorConfig {
            context: 3,
            hidden: 16,
            train: small_train(3),
            ..MlpPredictorConfig::default()
        };
        let lstm = LstmPredictorConfig {
            context: 3,
            hidden: 16,
            train: small_train(3),
        };
        let run_mlp = |s: u64| {
            let m = mlp.fit(train, &mut seed::rng(s), &mut NoObserver).unwrap();
            (m.predict_next_batch(&windows).unwrap(), m.report().clone())
        };
        let run_lstm = |s: u64| {
            let m = lstm.fit(train, &mut seed::rng(s), &mut NoObserver).unwrap();
            (m.predict_next_batch(&windows).unwrap(), m.report().clone())
        };
        let a = run_mlp(5);
        assert_eq!(a, run_mlp(5));
        assert_ne!(a.0, run_mlp(6).0);
        let b = run_lstm(5);
        assert_eq!(b, run_lstm(5));
        assert_ne!(b.0, run_lstm(6).0);
    }

    #[test]
    fn bad_input_is_an_error() {
        let (train, _) = train_test();
        let train = train[..4].to_vec();
        let mlp = MlpPredictorConfig {
            hidden: 4,
            train: small_train(1),
            ..MlpPredictorConfig::default()
        };
        let lstm = LstmPredictorConfig {
            hidden: 4,
            train: small_train(1),
            ..LstmPredictorConfig::default()
        };
        let errors = |s: &[Vec<Vec<f64>>]| -> [String; 2] {
            [
                mlp.fit(s, &mut seed::rng(1), &mut NoObserver)
                    .unwrap_err()
                    .to_string(),
                lstm.fit(s, &mut seed::rng(1), &mut NoObserver)
                    .unwrap_err()
                    .to_string(),
            ]
        };
        for e in errors(&[]) {
            assert!(e.contains("at least one"), "{e}");
        }
        let mut short = train.clone();
        short[2].truncate(4);
        for e in errors(&short) {
            assert!(e.contains("series 2") && e.contains("more than 4"), "{e}");
        }
        let mut ragged = train.clone();
        ragged[1][7].push(0.0);
        for e in errors(&ragged) {
            assert!(e.contains("series 1") && e.contains("variables"), "{e}");
        }
        let mut nan = train.clone();
        nan[3][5][2] = f64::NAN;
        for e in errors(&nan) {
            assert!(e.contains("series 3") && e.contains("not finite"), "{e}");
        }
        let empty_rows = vec![vec![Vec::new(); 6]];
        for e in errors(&empty_rows) {
            assert!(e.contains("without variables"), "{e}");
        }
        // Bad settings.
        let fit_mlp = |c: MlpPredictorConfig| c.fit(&train, &mut seed::rng(1), &mut NoObserver);
        assert!(
            fit_mlp(MlpPredictorConfig {
                context: 0,
                ..mlp.clone()
            })
            .is_err()
        );
        assert!(
            fit_mlp(MlpPredictorConfig {
                hidden: 0,
                ..mlp.clone()
            })
            .is_err()
        );
        assert!(
            fit_mlp(MlpPredictorConfig {
                dropout: 1.0,
                ..mlp.clone()
            })
            .is_err()
        );
        assert!(
            fit_mlp(MlpPredictorConfig {
                dropout: f64::NAN,
                ..mlp.clone()
            })
            .is_err()
        );
        let bad_lr = TrainConfig {
            learning_rate: 0.0,
            ..small_train(1)
        };
        assert!(
            fit_mlp(MlpPredictorConfig {
                train: bad_lr.clone(),
                ..mlp.clone()
            })
            .is_err()
        );
        let fit_lstm = |c: LstmPredictorConfig| c.fit(&train, &mut seed::rng(1), &mut NoObserver);
        assert!(
            fit_lstm(LstmPredictorConfig {
                context: 0,
                ..lstm.clone()
            })
            .is_err()
        );
        assert!(
            fit_lstm(LstmPredictorConfig {
                train: bad_lr,
                ..lstm.clone()
            })
            .is_err()
        );
        // Bad windows at prediction time.
        let m = mlp.fit(&train, &mut seed::rng(1), &mut NoObserver).unwrap();
        let l = lstm
            .fit(&train, &mut seed::rng(1), &mut NoObserver)
            .unwrap();
        let good = &train[0][..4];
        let short_w = &train[0][..3];
        let wide = vec![vec![0.0; 4]; 4];
        let mut nan_w = good.to_vec();
        nan_w[1][0] = f64::INFINITY;
        let cases: [(&[&[Vec<f64>]], &str); 3] = [
            (&[good, short_w], "window 1"),
            (&[&wide], "variables"),
            (&[good, good, &nan_w], "not finite"),
        ];
        for (windows, want) in cases {
            for e in [
                m.predict_next_batch(windows).unwrap_err().to_string(),
                l.predict_next_batch(windows).unwrap_err().to_string(),
            ] {
                assert!(e.contains(want), "{e} lacks {want}");
            }
        }
        assert!(m.predict_next(&[]).is_err() && l.predict_next(&[]).is_err());
        assert_eq!(m.predict_next(good).unwrap().len(), 3);
        assert_eq!(l.predict_next(good).unwrap().len(), 3);
    }

    #[test]
    fn configs_round_trip_through_json() {
        let m = MlpPredictorConfig::default();
        assert_eq!((m.context, m.hidden, m.dropout), (4, 100, 0.1));
        assert_eq!((m.train.epochs, m.train.batch_size), (50, 64));
        assert_eq!(m.train.learning_rate, 1e-3);
        let back: MlpPredictorConfig =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        let l = LstmPredictorConfig::default();
        assert_eq!((l.context, l.hidden), (4, 100));
        let back: LstmPredictorConfig =
            serde_json::from_str(&serde_json::to_string(&l).unwrap()).unwrap();
        assert_eq!(back, l);
    }
}
