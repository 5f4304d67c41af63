//! GVAR, the self-explaining Granger-causal model of RecAD's time-series half (Marcinkevičs &
//! Vogt 2021; RecAD spec §1 Eq. 2): x_t = Σ_{k=1..K} Ψ_k(x_{t−k}) x_{t−k} + ε_t on z-scored
//! series (training mean and population sd, spec §2.3), trained by minibatch Adam on all
//! (x_{t−K..t−1}, x_t) pairs pooled over the training series (spec §10 item 9) with an
//! elastic-net sparsity penalty on Ψ and a smoothness penalty between consecutive steps of the
//! same series. Granger scores are mean |Ψ| over the training steps (max over lags); the
//! optional stability procedure (GVAR's time-reversed Granger causality, TRGC, spec §1) trains
//! a twin on the time-reversed series and picks the score quantile on which both agree best.
//! The fitted model gives one-step predictions and residuals ε̂_t = x_t − x̂_t (the abduction
//! of RecAD Eqs. 8-11) and exposes its network for training through it.

use std::path::Path;

use rand::Rng;
use remedy_core::granger::GrangerGraph;
use remedy_core::{Error, Result};
use remedy_nn::gvar::{GvarNet, GvarNetConfig, GvarPenalty};
use remedy_nn::store::{self, NamedTensor};
use remedy_nn::train::fit as train_fit;
use remedy_nn::{Device, Module, Observer, Tensor, TrainConfig, TrainReport, tensor};
use serde::{Deserialize, Serialize};

use crate::var::{check_rows, check_series, check_window, population_stats};

/// GVAR settings. Defaults are the reference's Linear configuration (spec §4: K = 1, 2 hidden
/// layers of 50, λ = 0.2, γ = 0.5, batch 64, Adam lr 1e-4; α = 0.5 from `senn.py`), except the
/// epoch budget: the reference runs 500 epochs on each of the 1000 series in turn (≈ 500k
/// optimiser steps); we train on the pooled pairs (spec §10 item 9) for at most 30 epochs with
/// lr 1e-3, keeping the best validation epoch and stopping after 5 epochs without improvement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GvarConfig {
    /// Lag order K (reference: 1 everywhere, spec §4).
    pub lags: usize,
    /// Hidden widths of each coefficient network (Linear: `[50, 50]`; LV: 5 × 200; MSDS:
    /// `[20]`, spec §4).
    pub hidden: Vec<usize>,
    /// λ, weight of the sparsity penalty (0.2; MSDS 3, spec §4).
    pub lambda: f64,
    /// γ, weight of the smoothness penalty (0.5, spec §4).
    pub gamma: f64,
    /// Elastic-net mixing α of the sparsity penalty (0.5, reference `senn.py`).
    pub alpha: f64,
    /// Optimisation: epochs, batch size (64; LV and MSDS 256, spec §4), learning rate,
    /// patience on the validation prediction MSE (when validation series are given).
    pub train: TrainConfig,
    /// Also train the time-reversed twin and threshold the scores by stability (TRGC, spec §1;
    /// doubles the training time).
    pub stability: bool,
    /// Number of candidate quantiles ξ in linspace(0, 1, ·) for the stability threshold (20).
    pub stability_quantiles: usize,
}

impl Default for GvarConfig {
    fn default() -> Self {
        GvarConfig {
            lags: 1,
            hidden: vec![50, 50],
            lambda: 0.2,
            gamma: 0.5,
            alpha: 0.5,
            train: TrainConfig {
                epochs: 30,
                batch_size: 64,
                learning_rate: 1e-3,
                weight_decay: 0.0,
                patience: Some(5),
                min_epochs: 1,
                lr_decay: 1.0,
                min_delta: 0.0,
            },
            stability: true,
            stability_quantiles: 20,
        }
    }
}

impl GvarConfig {
    /// The reference's Linear configuration (the default).
    pub fn linear() -> Self {
        Self::default()
    }

    /// The reference's Lotka-Volterra network (spec §4: 5 hidden layers of 200, batch 256;
    /// 10 epochs per series in the reference, here 10 pooled epochs).
    pub fn lotka_volterra() -> Self {
        let d = Self::default();
        GvarConfig {
            hidden: vec![200; 5],
            train: TrainConfig {
                batch_size: 256,
                epochs: 10,
                ..d.train.clone()
            },
            ..d
        }
    }

    /// The reference's MSDS configuration (spec §3: one hidden layer of 20, λ = 3, γ = 0.5,
    /// batch 256, 10 epochs).
    pub fn msds() -> Self {
        let d = Self::default();
        GvarConfig {
            hidden: vec![20],
            lambda: 3.0,
            train: TrainConfig {
                batch_size: 256,
                epochs: 10,
                ..d.train.clone()
            },
            ..d
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.lags == 0 {
            return Err(Error::invalid("GVAR lag order K must be at least 1"));
        }
        if self.hidden.contains(&0) {
            return Err(Error::invalid(
                "GVAR hidden layers must have positive widths",
            ));
        }
        if self.train.epochs == 0 || self.train.batch_size == 0 {
            return Err(Error::invalid(
                "GVAR needs a positive epoch count and batch size",
            ));
        }
        if ![self.lambda, self.gamma, self.train.learning_rate]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0)
            || !(0.0..=1.0).contains(&self.alpha)
        {
            return Err(Error::invalid(
                "GVAR λ, γ and the learning rate must be finite and ≥ 0, α in [0, 1]",
            ));
        }
        if self.stability && self.stability_quantiles < 2 {
            return Err(Error::invalid("GVAR stability needs at least 2 quantiles"));
        }
        Ok(())
    }

    fn penalty(&self) -> GvarPenalty {
        GvarPenalty {
            lambda: self.lambda,
            gamma: self.gamma,
            alpha: self.alpha,
        }
    }

    /// Trains GVAR on normal `train` series (raw units, `series[t][j]`), keeping the weights
    /// with the lowest one-step prediction MSE on `valid` (empty: the last epoch's weights).
    /// Series must have more than K steps, one width and finite values. All randomness
    /// (initialisation, batch order) comes from `rng`.
    pub fn fit<R: Rng + ?Sized>(
        &self,
        train: &[Vec<Vec<f64>>],
        valid: &[Vec<Vec<f64>>],
        rng: &mut R,
        observer: &mut dyn Observer,
    ) -> Result<Gvar> {
        self.validate()?;
        let d = check_series(train, self.lags + 1, "GVAR training")?;
        if !valid.is_empty() {
            let dv = check_series(valid, self.lags + 1, "GVAR validation")?;
            if dv != d {
                return Err(Error::invalid(format!(
                    "GVAR validation series have {dv} variables, training series {d}"
                )));
            }
        }
        let (mean, std) = population_stats(train, d);
        let z = |s: &[Vec<Vec<f64>>]| -> Vec<Vec<Vec<f64>>> {
            s.iter().map(|rows| zscore(rows, &mean, &std)).collect()
        };
        let (zt, zv) = (z(train), z(valid));
        let net_config = GvarNetConfig {
            dim: d,
            lags: self.lags,
            hidden: self.hidden.clone(),
        };
        let (net, report) = self.train_net(&net_config, &zt, &zv, rng, observer, "gvar")?;
        let scores = mean_abs_coefficients(&net, &zt);
        let (reversed_scores, stability) = if self.stability {
            let rev = |s: &[Vec<Vec<f64>>]| -> Vec<Vec<Vec<f64>>> {
                s.iter()
                    .map(|r| r.iter().rev().cloned().collect())
                    .collect()
            };
            let (rt, rv) = (rev(&zt), rev(&zv));
            let (twin, _) =
                self.train_net(&net_config, &rt, &rv, rng, observer, "gvar-reversed")?;
            let rs = transpose(&mean_abs_coefficients(&twin, &rt));
            let st = stability_threshold(&scores, &rs, self.stability_quantiles);
            (Some(rs), Some(st))
        } else {
            (None, None)
        };
        tracing::info!(
            epochs = report.epochs_run,
            best_epoch = report.best_epoch,
            valid = report.best_valid_loss,
            "gvar trained"
        );
        Ok(Gvar {
            config: self.clone(),
            dim: d,
            mean,
            std,
            net,
            scores,
            reversed_scores,
            stability,
            report,
        })
    }

    /// Trains one network on z-scored series.
    fn train_net<R: Rng + ?Sized>(
        &self,
        net_config: &GvarNetConfig,
        train: &[Vec<Vec<f64>>],
        valid: &[Vec<Vec<f64>>],
        rng: &mut R,
        observer: &mut dyn Observer,
        what: &str,
    ) -> Result<(GvarNet, TrainReport)> {
        let ex = Examples::new(train, self.lags, net_config.dim);
        let vx = Examples::new(valid, self.lags, net_config.dim);
        if ex.len() == 0 {
            return Err(Error::invalid("GVAR has no training pairs"));
        }
        let plain = remedy_nn::cpu();
        let device = remedy_nn::autodiff(&plain);
        let net = net_config.init(rng, &device)?;
        let d = net_config.dim;
        let penalty = self.penalty();
        let (net, report) = train_fit(
            net,
            ex.len(),
            &self.train,
            rng,
            observer,
            what,
            |m: &GvarNet, idx: &[usize], _r: &mut R| {
                let lagged = ex.lagged(idx, &device);
                let target = tensor::gather_rows(&ex.target, d, idx, &device);
                let (rows, next): (Vec<usize>, Vec<usize>) = idx
                    .iter()
                    .enumerate()
                    .filter_map(|(b, &i)| ex.next[i].map(|n| (b, n)))
                    .unzip();
                let succ = (!rows.is_empty()).then(|| (rows.as_slice(), ex.lagged(&next, &device)));
                m.loss(lagged, target, succ, penalty)
            },
            |m: &GvarNet| {
                if vx.len() == 0 {
                    return f64::NAN;
                }
                let p = predict_z(&m.valid(), &vx);
                let se: f64 = p
                    .iter()
                    .zip(&vx.target)
                    .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                    .sum();
                se / vx.target.len() as f64
            },
            |_m: &mut GvarNet, _e| {},
        );
        Ok((net.valid(), report))
    }
}

/// Regression pairs of z-scored series: lagged inputs (slot k − 1 = x_{t−k}), targets x_t,
/// and the index of the pair one step later in the same series.
struct Examples {
    lags: usize,
    dim: usize,
    lagged: Vec<f32>,
    target: Vec<f32>,
    next: Vec<Option<usize>>,
}

impl Examples {
    fn new(series: &[Vec<Vec<f64>>], lags: usize, dim: usize) -> Self {
        let mut ex = Examples {
            lags,
            dim,
            lagged: Vec::new(),
            target: Vec::new(),
            next: Vec::new(),
        };
        for s in series {
            if s.len() <= lags {
                continue;
            }
            let first = ex.next.len();
            for t in lags..s.len() {
                for k in 1..=lags {
                    ex.lagged.extend(s[t - k].iter().map(|&v| v as f32));
                }
                ex.target.extend(s[t].iter().map(|&v| v as f32));
                let i = first + (t - lags);
                ex.next.push((t + 1 < s.len()).then_some(i + 1));
            }
        }
        ex
    }

    fn len(&self) -> usize {
        self.next.len()
    }

    fn lagged(&self, idx: &[usize], device: &Device) -> Tensor<3> {
        let w = self.lags * self.dim;
        tensor::gather_rows(&self.lagged, w, idx, device).reshape([idx.len(), self.lags, self.dim])
    }
}

/// Rows per inference batch.
const CHUNK: usize = 4096;

/// One-step predictions (z-space, row-major `[n, d]`) of every pair.
fn predict_z(net: &GvarNet, ex: &Examples) -> Vec<f32> {
    let device = remedy_nn::cpu();
    let idx: Vec<usize> = (0..ex.len()).collect();
    idx.chunks(CHUNK)
        .flat_map(|c| tensor::to_flat(net.forward(ex.lagged(c, &device))))
        .collect()
}

/// a[i][j] = max_k mean_t |Ψ_t[k, i, j]| over all training pairs.
fn mean_abs_coefficients(net: &GvarNet, series: &[Vec<Vec<f64>>]) -> Vec<Vec<f64>> {
    let (k, d) = (net.lags(), net.dim());
    let ex = Examples::new(series, k, d);
    let device = remedy_nn::cpu();
    let mut sum = vec![0.0f64; k * d * d];
    let idx: Vec<usize> = (0..ex.len()).collect();
    for c in idx.chunks(CHUNK) {
        let psi = tensor::to_flat(net.coefficients(ex.lagged(c, &device)));
        for row in psi.chunks(k * d * d) {
            for (acc, v) in sum.iter_mut().zip(row) {
                *acc += f64::from(v.abs());
            }
        }
    }
    let n = ex.len().max(1) as f64;
    (0..d)
        .map(|i| {
            (0..d)
                .map(|j| {
                    (0..k)
                        .map(|l| sum[(l * d + i) * d + j] / n)
                        .fold(0.0, f64::max)
                })
                .collect()
        })
        .collect()
}

fn transpose(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let d = m.len();
    (0..d).map(|i| (0..d).map(|j| m[j][i]).collect()).collect()
}

fn zscore(rows: &[Vec<f64>], mean: &[f64], std: &[f64]) -> Vec<Vec<f64>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .zip(mean.iter().zip(std))
                .map(|(v, (m, s))| (v - m) / s)
                .collect()
        })
        .collect()
}

/// The stability-selected Granger graph (TRGC, spec §1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrangerStability {
    /// The chosen quantile ξ*.
    pub quantile: f64,
    /// The score threshold: the ξ*-quantile of the forward scores.
    pub threshold: f64,
    /// Agreement (mean of the two balanced accuracies, off-diagonal) at each candidate ξ.
    pub agreement: Vec<f64>,
    /// `adjacency[target][source]` = forward score ≥ threshold.
    pub adjacency: Vec<Vec<bool>>,
}

/// GVAR's stability threshold (TRGC, `training_procedure_trgc`; spec §1): for ξ in
/// linspace(0, 1, q), binarise the forward scores and the (already transposed) reversed scores
/// at their own ξ-quantiles (numpy's linear interpolation over all d² entries); the agreement
/// is the mean of the two balanced accuracies over off-diagonal entries, set to 0 when either
/// graph has ≤ d or all d² edges; ξ* = argmax, and the graph is forward ≥ its ξ*-quantile.
/// Departure: ties go to the **largest** ξ (the sparsest best-agreeing graph), where numpy's
/// `argmax` takes the first; with d = 4 the agreement is often 1 already at ξ ≈ 0.05 (both
/// graphs nearly full), which made the reference's rule return a near-complete graph.
pub fn stability_threshold(
    forward: &[Vec<f64>],
    reversed: &[Vec<f64>],
    q: usize,
) -> GrangerStability {
    let d = forward.len();
    let flat = |m: &[Vec<f64>]| -> Vec<f64> { m.iter().flatten().copied().collect() };
    let (f, r) = (flat(forward), flat(reversed));
    let q = q.max(2);
    let mut agreement = Vec::with_capacity(q);
    for step in 0..q {
        let xi = step as f64 / (q - 1) as f64;
        let (tf, tr) = (quantile(&f, xi), quantile(&r, xi));
        let bf: Vec<bool> = f.iter().map(|v| *v >= tf).collect();
        let br: Vec<bool> = r.iter().map(|v| *v >= tr).collect();
        let (nf, nr) = (
            bf.iter().filter(|b| **b).count(),
            br.iter().filter(|b| **b).count(),
        );
        let off: Vec<usize> = (0..d * d).filter(|i| i / d != i % d).collect();
        let of: Vec<bool> = off.iter().map(|&i| bf[i]).collect();
        let or: Vec<bool> = off.iter().map(|&i| br[i]).collect();
        let mut a = (balanced_accuracy(&or, &of) + balanced_accuracy(&of, &or)) / 2.0;
        if nf <= d || nr <= d || nf == d * d || nr == d * d {
            a = 0.0;
        }
        agreement.push(a);
    }
    // Last maximum: ties go to the largest ξ (see the departure above).
    let mut best = 0;
    for (i, &a) in agreement.iter().enumerate() {
        if a >= agreement[best] {
            best = i;
        }
    }
    let xi = best as f64 / (q - 1) as f64;
    let threshold = quantile(&f, xi);
    GrangerStability {
        quantile: xi,
        threshold,
        agreement,
        adjacency: threshold_scores(forward, threshold),
    }
}

/// `scores ≥ threshold`, entry by entry.
pub fn threshold_scores(scores: &[Vec<f64>], threshold: f64) -> Vec<Vec<bool>> {
    scores
        .iter()
        .map(|r| r.iter().map(|v| *v >= threshold).collect())
        .collect()
}

/// numpy's default (linear) quantile.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// sklearn's balanced accuracy: mean recall over the classes present in `truth`.
fn balanced_accuracy(truth: &[bool], pred: &[bool]) -> f64 {
    let mut recalls = Vec::new();
    for class in [false, true] {
        let n = truth.iter().filter(|t| **t == class).count();
        if n > 0 {
            let hit = truth
                .iter()
                .zip(pred)
                .filter(|(t, p)| **t == class && **p == class)
                .count();
            recalls.push(hit as f64 / n as f64);
        }
    }
    if recalls.is_empty() {
        0.0
    } else {
        recalls.iter().sum::<f64>() / recalls.len() as f64
    }
}

/// Exact rank-based AUROC (Mann-Whitney U with mid-ranks for ties) of Granger `scores`
/// (`[target][source]`) against the true `graph`'s edges. With `self_loops` false the
/// diagonal is left out: every variable of the Linear and Lotka-Volterra benchmarks has a
/// self-loop, so the diagonal would be d free positives. Errors when the scores' shape does
/// not match the graph or only one class is left.
pub fn granger_auroc(scores: &[Vec<f64>], graph: &GrangerGraph, self_loops: bool) -> Result<f64> {
    let adj = graph.adjacency();
    let d = adj.len();
    if scores.len() != d || scores.iter().any(|r| r.len() != d) {
        return Err(Error::invalid(format!(
            "Granger scores must be {d}x{d} like the graph"
        )));
    }
    let mut pairs = Vec::new();
    for i in 0..d {
        for j in 0..d {
            if i != j || self_loops {
                if !scores[i][j].is_finite() {
                    return Err(Error::invalid(format!(
                        "Granger score [{i}][{j}] is not finite"
                    )));
                }
                pairs.push((scores[i][j], adj[i][j]));
            }
        }
    }
    let pos = pairs.iter().filter(|p| p.1).count();
    let neg = pairs.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(Error::invalid(
            "Granger AUROC needs both edges and non-edges in the true graph",
        ));
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j + 1 < pairs.len() && pairs[j + 1].0 == pairs[i].0 {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mid * pairs[i..=j].iter().filter(|p| p.1).count() as f64;
        i = j + 1;
    }
    let u = rank_sum - (pos * (pos + 1)) as f64 / 2.0;
    Ok(u / (pos * neg) as f64)
}

/// A fitted GVAR.
#[derive(Debug, Clone)]
pub struct Gvar {
    config: GvarConfig,
    dim: usize,
    mean: Vec<f64>,
    std: Vec<f64>,
    net: GvarNet,
    scores: Vec<Vec<f64>>,
    reversed_scores: Option<Vec<Vec<f64>>>,
    stability: Option<GrangerStability>,
    report: TrainReport,
}

impl Gvar {
    /// The settings it was trained with.
    pub fn config(&self) -> &GvarConfig {
        &self.config
    }

    /// Number of variables d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Lag order K.
    pub fn lags(&self) -> usize {
        self.config.lags
    }

    /// Training mean per variable.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Training population sd per variable.
    pub fn std(&self) -> &[f64] {
        &self.std
    }

    /// What the training run did.
    pub fn report(&self) -> &TrainReport {
        &self.report
    }

    /// The network (z-space, inference device).
    pub fn net(&self) -> &GvarNet {
        &self.net
    }

    /// The network moved to `device` (e.g. `remedy_nn::autodiff(&cpu())` to train a recourse
    /// network through the frozen GVAR, RecAD Eqs. 8-11).
    pub fn net_on(&self, device: &Device) -> GvarNet {
        self.net.clone().to_device(device)
    }

    /// z = (x − mean)/sd per variable, checking widths and finiteness.
    pub fn normalize(&self, series: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        check_rows(series, self.dim, "GVAR input")?;
        Ok(zscore(series, &self.mean, &self.std))
    }

    /// x = mean + sd·z per variable.
    pub fn denormalize(&self, series: &[Vec<f64>]) -> Vec<Vec<f64>> {
        series
            .iter()
            .map(|r| {
                r.iter()
                    .zip(self.mean.iter().zip(&self.std))
                    .map(|(v, (m, s))| m + s * v)
                    .collect()
            })
            .collect()
    }

    /// The one-step prediction x̂_t (raw units) after the last row of `window` (Eq. 2, from
    /// its last K rows; the window needs at least K rows).
    pub fn predict_next(&self, window: &[Vec<f64>]) -> Result<Vec<f64>> {
        check_window(window, self.lags(), self.dim, "GVAR")?;
        let tail = &window[window.len() - self.lags()..];
        let mut padded = zscore(tail, &self.mean, &self.std);
        padded.push(vec![0.0; self.dim]);
        let ex = Examples::new(&[padded], self.lags(), self.dim);
        Ok(self.raw_rows(&predict_z(&self.net, &ex)).remove(0))
    }

    /// The one-step prediction after each of `windows` (raw units, each at least K rows; the
    /// last K rows are used), in one batched pass: what a streaming walk over many series in
    /// lockstep needs.
    pub fn predict_next_batch(&self, windows: &[&[Vec<f64>]]) -> Result<Vec<Vec<f64>>> {
        let ex = self.window_examples(windows, None)?;
        Ok(self.raw_rows(&predict_z(&self.net, &ex)))
    }

    /// As [`Gvar::predict_next_batch`], with each coefficient network fed the lagged values
    /// held within `[lower, upper]` (raw units, per variable) while the coefficients multiply
    /// the values themselves: x̂_t = Σ_k Ψ_k(clamp(x_{t−k})) x_{t−k} (Eq. 2 with its
    /// coefficients taken at the edge of the range). Inside the range it is GVAR; beyond it
    /// the prediction goes on linearly with the edge's coefficients instead of whatever the
    /// coefficient networks make of inputs they never saw (ReLU layers far out, tanh
    /// saturated: coefficients of any sign).
    pub fn predict_next_batch_held(
        &self,
        windows: &[&[Vec<f64>]],
        lower: &[f64],
        upper: &[f64],
    ) -> Result<Vec<Vec<f64>>> {
        let d = self.dim;
        if lower.len() != d || upper.len() != d {
            return Err(Error::invalid(format!(
                "GVAR input range for {} and {} variables, the model has {d}",
                lower.len(),
                upper.len()
            )));
        }
        let ex = self.window_examples(windows, None)?;
        let held = self.window_examples(windows, Some((lower, upper)))?;
        let device = remedy_nn::cpu();
        let idx: Vec<usize> = (0..ex.len()).collect();
        let z: Vec<f32> = idx
            .chunks(CHUNK)
            .flat_map(|c| {
                let psi = self.net.coefficients(held.lagged(c, &device));
                tensor::to_flat(GvarNet::combine(psi, ex.lagged(c, &device)))
            })
            .collect();
        Ok(self.raw_rows(&z))
    }

    /// Each window's last K rows (checked), z-scored and followed by an empty target row, as
    /// [`Examples`] reads them; with `hold`, each value first held within `[lower, upper]` of
    /// its variable (raw units).
    fn window_examples(
        &self,
        windows: &[&[Vec<f64>]],
        hold: Option<(&[f64], &[f64])>,
    ) -> Result<Examples> {
        let (k, d) = (self.lags(), self.dim);
        let mut padded = Vec::with_capacity(windows.len());
        for (i, w) in windows.iter().enumerate() {
            check_window(w, k, d, "GVAR")
                .map_err(|e| Error::invalid(format!("window {i}: {e}")))?;
            let tail = &w[w.len() - k..];
            let mut z = match hold {
                Some((lower, upper)) => {
                    let held: Vec<Vec<f64>> = tail
                        .iter()
                        .map(|r| {
                            r.iter()
                                .enumerate()
                                .map(|(j, v)| v.clamp(lower[j], upper[j].max(lower[j])))
                                .collect()
                        })
                        .collect();
                    zscore(&held, &self.mean, &self.std)
                }
                None => zscore(tail, &self.mean, &self.std),
            };
            z.push(vec![0.0; d]);
            padded.push(z);
        }
        Ok(Examples::new(&padded, k, d))
    }

    /// Raw rows from the network's flat z-space predictions (`d` values per row).
    fn raw_rows(&self, z: &[f32]) -> Vec<Vec<f64>> {
        let z: Vec<Vec<f64>> = z
            .chunks(self.dim)
            .map(|r| r.iter().map(|v| f64::from(*v)).collect())
            .collect();
        self.denormalize(&z)
    }

    /// One-step predictions x̂_t (raw units) for t = K..len of `series`, batched: row i is the
    /// prediction of step K + i.
    pub fn predict(&self, series: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        check_window(series, self.lags() + 1, self.dim, "GVAR")?;
        let z = zscore(series, &self.mean, &self.std);
        let ex = Examples::new(&[z], self.lags(), self.dim);
        Ok(self.raw_rows(&predict_z(&self.net, &ex)))
    }

    /// Residuals ε̂_t = x_t − x̂_t (raw units; divide by [`Gvar::std`] for the z-space
    /// residual of RecAD's abduction, Eq. 8) for t = K..len: row i belongs to step K + i.
    pub fn residuals(&self, series: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let pred = self.predict(series)?;
        Ok(series[self.lags()..]
            .iter()
            .zip(&pred)
            .map(|(x, p)| x.iter().zip(p).map(|(a, b)| a - b).collect())
            .collect())
    }

    /// Granger scores `[target][source]`: max over lags of the mean |Ψ_t[k, i, j]| over the
    /// training pairs (the reference's `a_hat` uses the median over t).
    pub fn granger_scores(&self) -> Vec<Vec<f64>> {
        self.scores.clone()
    }

    /// The time-reversed twin's scores, transposed (when trained with stability).
    pub fn reversed_scores(&self) -> Option<&[Vec<f64>]> {
        self.reversed_scores.as_deref()
    }

    /// The stability selection (when trained with stability).
    pub fn stability(&self) -> Option<&GrangerStability> {
        self.stability.as_ref()
    }

    /// The estimated Granger graph: the stability-selected adjacency, or, without stability,
    /// the scores ≥ `fallback_threshold`.
    pub fn granger_graph(&self, names: &[String], fallback_threshold: f64) -> Result<GrangerGraph> {
        let adj = match &self.stability {
            Some(s) => s.adjacency.clone(),
            None => threshold_scores(&self.scores, fallback_threshold),
        };
        GrangerGraph::new(names.to_vec(), adj)
    }

    /// Writes `dir/NAME.safetensors` and `dir/NAME.json` (kind "gvar"); the time-reversed
    /// twin's weights are not stored (only its scores), as nothing uses them downstream.
    pub fn save(&self, dir: &Path, name: &str) -> Result<()> {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
        let mbits = |m: &[Vec<f64>]| m.iter().map(|r| bits(r)).collect::<Vec<_>>();
        let payload = serde_json::json!({
            "config": self.config,
            "dim": self.dim,
            "report": self.report,
            "stability": self.stability,
            "mean": self.mean,
            "std": self.std,
            "exact": {
                "mean": bits(&self.mean),
                "std": bits(&self.std),
                "scores": mbits(&self.scores),
                "reversed_scores": self.reversed_scores.as_deref().map(mbits),
            },
        });
        let tensors: Vec<NamedTensor> = self.net.named_tensors("gvar");
        store::save(dir, name, "gvar", payload, &tensors)
    }

    /// Reads a model written by [`Gvar::save`], checking the checksum and shapes.
    pub fn load(dir: &Path, name: &str) -> Result<Self> {
        let (payload, mut tensors) = store::load(dir, name, "gvar")?;
        let config: GvarConfig = store::field(&payload, "config", "GVAR", dir)?;
        config.validate()?;
        let dim: usize = store::field(&payload, "dim", "GVAR", dir)?;
        let report: TrainReport = store::field(&payload, "report", "GVAR", dir)?;
        let stability: Option<GrangerStability> = store::field(&payload, "stability", "GVAR", dir)?;
        #[derive(Deserialize)]
        struct Exact {
            mean: Vec<u64>,
            std: Vec<u64>,
            scores: Vec<Vec<u64>>,
            reversed_scores: Option<Vec<Vec<u64>>>,
        }
        let exact: Exact = store::field(&payload, "exact", "GVAR", dir)?;
        let unbits = |v: &[u64]| v.iter().map(|b| f64::from_bits(*b)).collect::<Vec<f64>>();
        let munbits = |m: &[Vec<u64>]| m.iter().map(|r| unbits(r)).collect::<Vec<_>>();
        let square = |m: &[Vec<u64>]| m.len() == dim && m.iter().all(|r| r.len() == dim);
        if exact.mean.len() != dim
            || exact.std.len() != dim
            || !square(&exact.scores)
            || exact.reversed_scores.as_deref().is_some_and(|m| !square(m))
        {
            return Err(Error::invalid(format!(
                "{}: GVAR manifest statistics do not match its {dim} variables",
                dir.display()
            )));
        }
        let net_config = GvarNetConfig {
            dim,
            lags: config.lags,
            hidden: config.hidden.clone(),
        };
        let net = GvarNet::from_named(&net_config, "gvar", &mut tensors, &remedy_nn::cpu())?;
        Ok(Gvar {
            config,
            dim,
            mean: unbits(&exact.mean),
            std: unbits(&exact.std),
            net,
            scores: munbits(&exact.scores),
            reversed_scores: exact.reversed_scores.as_deref().map(munbits),
            stability,
            report,
        })
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use remedy_core::seed;
    use remedy_data::timeseries::{self, AnomalyType, TsBenchmark, TsConfig};
    use remedy_nn::NoObserver;

    fn small_config() -> GvarConfig {
        let d = GvarConfig::default();
        GvarConfig {
            hidden: vec![8],
            train: TrainConfig {
                epochs: 2,
                batch_size: 32,
                ..d.train.clone()
            },
            ..d
        }
    }

    fn linear_train(n: usize, seed_: u64) -> Vec<Vec<Vec<f64>>> {
        let data = timeseries::generate(
            TsBenchmark::Linear,
            &TsConfig::new(n, 0, AnomalyType::Point),
            &mut seed::rng(seed_),
        );
        data.train().to_vec()
    }

    /// Issue acceptance: "GVAR Granger AUROC ≥ 0.95 on Linear" (default generator, the
    /// paper's 1000 training series, 100 held out for early stopping; default settings).
    #[test]
    fn linear_granger_auroc_reaches_the_acceptance_bar() {
        let data = timeseries::generate(
            TsBenchmark::Linear,
            &TsConfig::new(1000, 0, AnomalyType::Point),
            &mut seed::rng(42),
        );
        let (train, valid) = data.train().split_at(900);
        let t0 = std::time::Instant::now();
        let g = GvarConfig::default()
            .fit(train, valid, &mut seed::rng(1), &mut NoObserver)
            .unwrap();
        let secs = t0.elapsed().as_secs_f64();
        let scores = g.granger_scores();
        let off = granger_auroc(&scores, data.graph(), false).unwrap();
        let all = granger_auroc(&scores, data.graph(), true).unwrap();
        eprintln!(
            "Linear GVAR: fit {secs:.1}s ({} epochs, best {}), AUROC off-diagonal {off:.3}, \
             with self-loops {all:.3}, stability ξ* = {:?}",
            g.report().epochs_run,
            g.report().best_epoch,
            g.stability().map(|s| s.quantile)
        );
        assert!(off >= 0.95, "off-diagonal AUROC {off}");
        assert!(all >= 0.95, "AUROC with self-loops {all}");
        // The validation MSE approaches the innovation variance in z units (noise sd 0.4,
        // spec §2.1, over per-variable sds of 0.4-0.8 here): well below the variance 1.
        assert!(g.report().best_valid_loss < 0.6, "{:?}", g.report());
        // The stability graph keeps the strongest edges and is neither empty nor full.
        let st = g.stability().unwrap();
        let edges = st.adjacency.iter().flatten().filter(|b| **b).count();
        assert!(edges > 4 && edges < 16, "{st:?}");
        for (i, j) in [(0, 0), (1, 0), (3, 3)] {
            assert!(st.adjacency[i][j], "edge {j} -> {i} missing: {st:?}");
        }
    }

    /// Lotka-Volterra (20 variables): measured, not a pass/fail bar (the paper gives no GVAR
    /// AUROC anchor, spec §8). Run with `--ignored --nocapture`.
    #[test]
    #[ignore = "slow: about two minutes on 2 cores; prints the Lotka-Volterra Granger AUROC"]
    fn lotka_volterra_granger_auroc() {
        let t0 = std::time::Instant::now();
        let data = timeseries::generate(
            TsBenchmark::LotkaVolterra,
            &TsConfig::new(1000, 0, AnomalyType::Point),
            &mut seed::rng(42),
        );
        let gen_secs = t0.elapsed().as_secs_f64();
        let (train, valid) = data.train().split_at(900);
        let t0 = std::time::Instant::now();
        let g = GvarConfig::lotka_volterra()
            .fit(train, valid, &mut seed::rng(1), &mut NoObserver)
            .unwrap();
        let secs = t0.elapsed().as_secs_f64();
        let off = granger_auroc(&g.granger_scores(), data.graph(), false).unwrap();
        let all = granger_auroc(&g.granger_scores(), data.graph(), true).unwrap();
        let st = g.stability().unwrap();
        let edges = st.adjacency.iter().flatten().filter(|b| **b).count();
        eprintln!(
            "Lotka-Volterra: generate {gen_secs:.1}s, GVAR fit {secs:.1}s ({} epochs), AUROC \
             off-diagonal {off:.3}, with self-loops {all:.3}, stability ξ* = {}, {edges} edges",
            g.report().epochs_run,
            st.quantile
        );
        assert!(off > 0.5, "{off}");
    }

    #[test]
    fn same_seed_same_bits_and_save_load_round_trip() {
        let train = linear_train(40, 3);
        let (tr, va) = train.split_at(30);
        let fit = |s: u64| {
            small_config()
                .fit(tr, va, &mut seed::rng(s), &mut NoObserver)
                .unwrap()
        };
        let (a, b, c) = (fit(7), fit(7), fit(8));
        let series = &train[35];
        let pa = a.predict(series).unwrap();
        assert_eq!(pa, b.predict(series).unwrap());
        assert_eq!(a.granger_scores(), b.granger_scores());
        assert_eq!(a.report(), b.report());
        assert_ne!(pa, c.predict(series).unwrap());
        // Predictions line up with predict_next and residuals.
        assert_eq!(pa.len(), series.len() - 1);
        assert_eq!(a.predict_next(&series[..10]).unwrap(), pa[9]);
        let r = a.residuals(series).unwrap();
        for j in 0..4 {
            assert_eq!(r[9][j], series[10][j] - pa[9][j]);
        }
        // Save and load: identical predictions, scores and statistics.
        let dir = tempfile::tempdir().unwrap();
        a.save(dir.path(), "gvar").unwrap();
        let back = Gvar::load(dir.path(), "gvar").unwrap();
        assert_eq!(back.predict(series).unwrap(), pa);
        assert_eq!(back.granger_scores(), a.granger_scores());
        assert_eq!(back.reversed_scores(), a.reversed_scores());
        assert_eq!(back.stability(), a.stability());
        assert_eq!((back.mean(), back.std()), (a.mean(), a.std()));
        assert!(Gvar::load(dir.path(), "other").is_err());
    }

    #[test]
    fn differentiable_forward_matches_predictions() {
        let train = linear_train(20, 4);
        let mut cfg = small_config();
        cfg.stability = false;
        let g = cfg
            .fit(&train, &[], &mut seed::rng(1), &mut NoObserver)
            .unwrap();
        assert!(g.stability().is_none() && g.reversed_scores().is_none());
        let ad = remedy_nn::autodiff(&remedy_nn::cpu());
        let net = g.net_on(&ad);
        let s = &train[0];
        let z = g.normalize(&s[3..4]).unwrap();
        let x: Vec<f32> = z[0].iter().map(|v| *v as f32).collect();
        let leaf = tensor::from_flat(x, 1, 4, &ad).require_grad();
        let lagged = leaf.clone().reshape([1, 1, 4]);
        let pred = net.forward(lagged.clone());
        let zp: Vec<f64> = tensor::to_flat(pred.clone())
            .into_iter()
            .map(f64::from)
            .collect();
        let want = g.predict_next(&s[..4]).unwrap();
        for (a, b) in g.denormalize(&[zp])[0].iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
        // Gradients reach the input (the recourse network trains through this).
        let grads = pred.sum().backward();
        let gx = leaf.grad(&grads).unwrap();
        assert!(tensor::to_flat(gx).iter().any(|v| *v != 0.0));
        let graph = g
            .granger_graph(&["x", "w", "y", "z"].map(String::from), 0.1)
            .unwrap();
        assert_eq!(graph.names().len(), 4);
        // Held coefficients: inside the range, GVAR itself; beyond it, linear in the values
        // with the coefficients at the edge (doubling the excess doubles the change).
        let lower: Vec<f64> = (0..4)
            .map(|j| s.iter().map(|r| r[j]).fold(f64::MAX, f64::min))
            .collect();
        let upper: Vec<f64> = (0..4)
            .map(|j| s.iter().map(|r| r[j]).fold(f64::MIN, f64::max))
            .collect();
        let inside = &s[..4];
        assert_eq!(
            g.predict_next_batch_held(&[inside], &lower, &upper)
                .unwrap(),
            g.predict_next_batch(&[inside]).unwrap()
        );
        let at = |excess: f64| {
            let mut w = inside.to_vec();
            w[3][0] = upper[0] + excess;
            g.predict_next_batch_held(&[&w], &lower, &upper).unwrap()[0].clone()
        };
        let (p0, p1, p2) = (at(0.0), at(10.0), at(20.0));
        for j in 0..4 {
            let (d1, d2) = (p1[j] - p0[j], p2[j] - p0[j]);
            assert!(
                (d2 - 2.0 * d1).abs() < 1e-3 * (1.0 + d2.abs()),
                "{j}: {d1} {d2}"
            );
        }
        assert!(
            g.predict_next_batch_held(&[inside], &lower[..3], &upper)
                .is_err()
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let cfg = small_config();
        let fit = |s: &[Vec<Vec<f64>>]| cfg.fit(s, &[], &mut seed::rng(1), &mut NoObserver);
        let ok = linear_train(3, 1);
        let e = fit(&[vec![vec![0.0; 4]]]).unwrap_err().to_string();
        assert!(e.contains("at least 2"), "{e}");
        let mut nan = ok.clone();
        nan[1][5][2] = f64::NAN;
        assert!(fit(&nan).unwrap_err().to_string().contains("not finite"));
        let mut ragged = ok.clone();
        ragged[2][7].push(1.0);
        assert!(fit(&ragged).unwrap_err().to_string().contains("variables"));
        assert!(fit(&[]).is_err());
        let e = cfg
            .fit(
                &ok,
                &[vec![vec![0.0; 3]; 5]],
                &mut seed::rng(1),
                &mut NoObserver,
            )
            .unwrap_err();
        assert!(e.to_string().contains("validation"), "{e}");
        let mut bad = cfg.clone();
        bad.lags = 0;
        assert!(
            bad.fit(&ok, &[], &mut seed::rng(1), &mut NoObserver)
                .is_err()
        );
        let mut bad = cfg.clone();
        bad.lambda = f64::NAN;
        assert!(bad.validate().is_err());
        let mut c = cfg.clone();
        c.stability = false;
        let g = c.fit(&ok, &[], &mut seed::rng(1), &mut NoObserver).unwrap();
        assert!(
            g.predict_next(&[])
                .unwrap_err()
                .to_string()
                .contains("at least 1")
        );
        assert!(g.predict_next(&[vec![0.0; 3]]).is_err());
        assert!(g.predict(&[vec![0.0; 4]]).is_err());
        assert!(g.residuals(&[vec![0.0; 4], vec![f64::NAN; 4]]).is_err());
        assert!(g.normalize(&[vec![f64::INFINITY; 4]]).is_err());
    }

    #[test]
    fn auroc_is_exact_with_ties() {
        let names: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let g = GrangerGraph::new(names, vec![vec![true, true], vec![false, true]]).unwrap();
        // Off-diagonal: positive (0,1), negative (1,0).
        let s = vec![vec![0.0, 0.9], vec![0.1, 0.0]];
        assert_eq!(granger_auroc(&s, &g, false).unwrap(), 1.0);
        let s = vec![vec![0.0, 0.1], vec![0.9, 0.0]];
        assert_eq!(granger_auroc(&s, &g, false).unwrap(), 0.0);
        let s = vec![vec![0.5, 0.5], vec![0.5, 0.5]];
        assert_eq!(granger_auroc(&s, &g, true).unwrap(), 0.5);
        // With self-loops: positives 0.3, 0.9, 0.2 against the negative 0.25 → 2/3.
        let s = vec![vec![0.3, 0.9], vec![0.25, 0.2]];
        assert!((granger_auroc(&s, &g, true).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!(granger_auroc(&[vec![0.0]], &g, true).is_err());
        let full = GrangerGraph::new(vec!["a".into()], vec![vec![true]]).unwrap();
        assert!(granger_auroc(&[vec![1.0]], &full, true).is_err());
    }

    #[test]
    fn stability_picks_the_agreeing_quantile() {
        // Three variables, edges 0→1 and 1→2 plus self-loops; the weak entries are ordered
        // differently in the two runs, so they agree only once all weak entries are cut (and
        // the strong ones are tied, so a higher cut leaves ≤ d edges).
        let f = vec![
            vec![0.9, 0.05, 0.02],
            vec![0.8, 0.9, 0.03],
            vec![0.01, 0.8, 0.9],
        ];
        let r = vec![
            vec![0.9, 0.01, 0.05],
            vec![0.8, 0.9, 0.02],
            vec![0.03, 0.8, 0.9],
        ];
        let st = stability_threshold(&f, &r, 20);
        assert!(st.agreement.iter().all(|a| *a <= 1.0));
        assert!(st.agreement[2] < 1.0, "{st:?}");
        assert_eq!(st.agreement.len(), 20);
        let want = [
            [true, false, false],
            [true, true, false],
            [false, true, true],
        ];
        for i in 0..3 {
            for j in 0..3 {
                assert_eq!(st.adjacency[i][j], want[i][j], "{st:?}");
            }
        }
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
        // Identical runs agree at every feasible ξ: the tie goes to the sparsest graph.
        let st = stability_threshold(&f, &f, 20);
        let edges = st.adjacency.iter().flatten().filter(|b| **b).count();
        assert_eq!(edges, 5, "{st:?}");
    }
}
