//! A tabular variational autoencoder (the generative model of the C-CHVAE baseline, RootCLAM
//! spec §7.3): an encoder MLP gives μ and log σ² of q(z | x), z = μ + σ ⊙ ε with ε from our
//! seeded generator, a decoder MLP gives per-column parameters, and the loss is a
//! reconstruction term per column type plus β·KL(q(z | x) ‖ N(0, I)).
//!
//! Column types ([`ColumnKind`]) follow the encoded layout of `remedy_core::encode`:
//! standardised continuous columns use ½·(x̂ − x)² (the Gaussian log-likelihood with unit
//! variance, up to a constant), binary columns the Bernoulli cross-entropy on a logit, and each
//! one-hot block the categorical cross-entropy on its logits. CARLA's `lambda_reg` is Adam's
//! L2 weight decay. Callers pass plain row-major `f32` matrices and never see a tensor.

use std::collections::HashMap;
use std::path::Path;

use burn::module::Module;
use burn::tensor::activation::{log_softmax, sigmoid, softmax, softplus};
use burn::tensor::{Device, Tensor};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use remedy_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::observer::Observer;
use crate::store::{self, NamedTensor};
use crate::train::{TrainConfig, TrainReport, fit};
use crate::{Mlp, MlpConfig, autodiff, cpu, tensor};

/// Rows per forward pass at inference, to bound memory on large inputs.
const INFER_BATCH: usize = 8192;

/// The type of one feature's block of encoded columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ColumnKind {
    /// One real column (standardised): squared error.
    Continuous,
    /// One 0/1 column: Bernoulli cross-entropy on a logit; decoded as a probability.
    Binary,
    /// `levels` one-hot columns: categorical cross-entropy; decoded as a softmax.
    Categorical { levels: usize },
}

impl ColumnKind {
    /// Number of encoded columns.
    pub fn width(self) -> usize {
        match self {
            ColumnKind::Categorical { levels } => levels,
            _ => 1,
        }
    }
}

/// Total encoded width of a layout.
pub fn layout_width(layout: &[ColumnKind]) -> usize {
    layout.iter().map(|k| k.width()).sum()
}

/// VAE settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VaeConfig {
    /// Hidden widths of the encoder (ReLU); the decoder mirrors them.
    pub hidden: Vec<usize>,
    /// Latent dimension.
    pub latent: usize,
    /// Weight of the KL term (1 is the plain ELBO).
    pub beta: f64,
    /// Optimisation; `weight_decay` is CARLA's `lambda_reg`.
    pub train: TrainConfig,
}

impl Default for VaeConfig {
    /// CARLA's C-CHVAE defaults (spec §7.3): layers [512, 256, 8] (hidden 512, 256; latent 8),
    /// Adam lr 1e-3, `lambda_reg` 1e-6 as weight decay; β = 1. CARLA trains 5 epochs with
    /// batch 32; we use batch 256 and early stopping on the validation loss (patience 10, at
    /// most 100 epochs), which reaches a lower validation loss in a comparable time.
    fn default() -> Self {
        VaeConfig {
            hidden: vec![512, 256],
            latent: 8,
            beta: 1.0,
            train: TrainConfig {
                epochs: 100,
                batch_size: 256,
                learning_rate: 1e-3,
                weight_decay: 1e-6,
                patience: Some(10),
                min_epochs: 5,
                lr_decay: 1.0,
                min_delta: 0.0,
            },
        }
    }
}

impl VaeConfig {
    fn check(&self, layout: &[ColumnKind]) -> Result<()> {
        if layout.is_empty() {
            return Err(Error::invalid("the VAE needs at least one column"));
        }
        if layout
            .iter()
            .any(|k| matches!(k, ColumnKind::Categorical { levels } if *levels == 0))
        {
            return Err(Error::invalid(
                "the VAE layout has a categorical with 0 levels",
            ));
        }
        if self.latent == 0 || self.hidden.contains(&0) {
            return Err(Error::invalid(
                "the VAE's latent dimension and hidden widths must be positive",
            ));
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return Err(Error::invalid(format!(
                "the VAE's beta is {}, it must be a finite number ≥ 0",
                self.beta
            )));
        }
        Ok(())
    }

    fn encoder_mlp(&self, d: usize) -> MlpConfig {
        let mut sizes = vec![d];
        sizes.extend(&self.hidden);
        sizes.push(2 * self.latent);
        MlpConfig::relu(&sizes)
    }

    fn decoder_mlp(&self, d: usize) -> MlpConfig {
        let mut sizes = vec![self.latent];
        sizes.extend(self.hidden.iter().rev());
        sizes.push(d);
        MlpConfig::relu(&sizes)
    }

    /// Trains on `train` (row-major, `layout_width(layout)` columns), keeping the epoch with
    /// the lowest loss on `valid` (which may be empty: then the last epoch is kept). The
    /// validation loss uses one fixed draw of ε per validation row, so it is deterministic.
    pub fn fit<R: Rng + ?Sized>(
        &self,
        layout: &[ColumnKind],
        train: &[f32],
        valid: &[f32],
        rng: &mut R,
        observer: &mut dyn Observer,
    ) -> Result<Vae> {
        self.check(layout)?;
        let d = layout_width(layout);
        let n_train = rows_of(train, d, "training")?;
        let n_valid = rows_of(valid, d, "validation")?;
        if n_train == 0 {
            return Err(Error::invalid("the VAE needs at least one training row"));
        }
        let plain = cpu();
        let device = autodiff(&plain);
        let model = VaeNet {
            encoder: self.encoder_mlp(d).init(rng, &device),
            decoder: self.decoder_mlp(d).init(rng, &device),
        };
        let latent = self.latent;
        let beta = self.beta;
        let blocks = Blocks::new(layout);
        let valid_x = (n_valid > 0).then(|| tensor::from_flat(valid.to_vec(), n_valid, d, &plain));
        let valid_eps = (n_valid > 0).then(|| normal(n_valid, latent, rng, &plain));
        let (model, report) = fit(
            model,
            n_train,
            &self.train,
            rng,
            observer,
            "vae",
            |m: &VaeNet, idx: &[usize], r: &mut R| {
                let x = tensor::gather_rows(train, d, idx, &device);
                let eps = normal(idx.len(), latent, r, &device);
                let (rec, kl) = m.terms(x, eps, latent, &blocks);
                (rec + kl.mul_scalar(beta)).mean()
            },
            |m: &VaeNet| match (&valid_x, &valid_eps) {
                (Some(x), Some(e)) => {
                    let (rec, kl) = m.valid().terms(x.clone(), e.clone(), latent, &blocks);
                    tensor::scalar((rec + kl.mul_scalar(beta)).mean())
                }
                _ => f64::NAN,
            },
            |_m: &mut VaeNet, _e| {},
        );
        let model = model.valid();
        tracing::debug!(
            epochs = report.epochs_run,
            best = report.best_epoch,
            valid = report.best_valid_loss,
            "vae trained"
        );
        Ok(Vae {
            config: self.clone(),
            layout: layout.to_vec(),
            encoder: model.encoder,
            decoder: model.decoder,
            report,
        })
    }
}

/// Number of rows of a row-major matrix `d` wide, or an error.
fn rows_of(x: &[f32], d: usize, what: &str) -> Result<usize> {
    if d == 0 || !x.len().is_multiple_of(d) {
        return Err(Error::invalid(format!(
            "the {what} matrix has {} values, not a multiple of the row width {d}",
            x.len()
        )));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(format!(
            "the {what} matrix has a non-finite value in row {}, column {}",
            i / d + 1,
            i % d + 1
        )));
    }
    Ok(x.len() / d)
}

/// `[n, k]` standard normal draws from `rng`.
fn normal<R: Rng + ?Sized>(n: usize, k: usize, rng: &mut R, device: &Device) -> Tensor<2> {
    let v: Vec<f32> = (0..n * k).map(|_| StandardNormal.sample(rng)).collect();
    tensor::from_flat(v, n, k, device)
}

/// Contiguous runs of columns of one kind: (kind, offset, width). Continuous and binary
/// neighbours are merged; every categorical block stands alone.
#[derive(Debug, Clone)]
struct Blocks(Vec<(ColumnKind, usize, usize)>);

impl Blocks {
    fn new(layout: &[ColumnKind]) -> Self {
        let mut out: Vec<(ColumnKind, usize, usize)> = Vec::new();
        let mut off = 0;
        for &k in layout {
            let w = k.width();
            match (out.last_mut(), k) {
                (Some((last, _, lw)), ColumnKind::Continuous | ColumnKind::Binary)
                    if *last == k =>
                {
                    *lw += w
                }
                _ => out.push((k, off, w)),
            }
            off += w;
        }
        Blocks(out)
    }
}

/// The trainable part: encoder and decoder networks.
#[derive(Module, Debug)]
struct VaeNet {
    encoder: Mlp,
    decoder: Mlp,
}

impl VaeNet {
    /// Per-row reconstruction loss and KL `[batch]` for encoded rows `x` and noise `eps`.
    fn terms(
        &self,
        x: Tensor<2>,
        eps: Tensor<2>,
        latent: usize,
        blocks: &Blocks,
    ) -> (Tensor<1>, Tensor<1>) {
        let h = self.encoder.forward(x.clone());
        let mu = h.clone().narrow(1, 0, latent);
        let logvar = h.narrow(1, latent, latent);
        let z = mu.clone() + logvar.clone().mul_scalar(0.5).exp() * eps;
        let out = self.decoder.forward(z);
        (reconstruction(out, x, blocks), kl(mu, logvar))
    }
}

/// Per-row reconstruction loss (negative log-likelihood up to constants) `[batch]`.
fn reconstruction(out: Tensor<2>, x: Tensor<2>, blocks: &Blocks) -> Tensor<1> {
    let parts: Vec<Tensor<2>> = blocks
        .0
        .iter()
        .map(|&(kind, off, w)| {
            let p = out.clone().narrow(1, off, w);
            let t = x.clone().narrow(1, off, w);
            match kind {
                ColumnKind::Continuous => (p - t).powf_scalar(2.0).mul_scalar(0.5).sum_dim(1),
                ColumnKind::Binary => (softplus(p.clone(), 1.0) - t * p).sum_dim(1),
                ColumnKind::Categorical { .. } => (t * log_softmax(p, 1)).sum_dim(1).neg(),
            }
        })
        .collect();
    Tensor::cat(parts, 1).sum_dim(1).squeeze_dim(1)
}

/// KL(N(μ, σ²) ‖ N(0, I)) per row `[batch]`: ½ Σ (μ² + σ² − 1 − log σ²).
fn kl(mu: Tensor<2>, logvar: Tensor<2>) -> Tensor<1> {
    (mu.powf_scalar(2.0) + logvar.clone().exp() - logvar - 1.0)
        .mul_scalar(0.5)
        .sum_dim(1)
        .squeeze_dim(1)
}

/// A fitted VAE (inference weights on the CPU device).
#[derive(Debug, Clone)]
pub struct Vae {
    pub config: VaeConfig,
    pub layout: Vec<ColumnKind>,
    pub encoder: Mlp,
    pub decoder: Mlp,
    pub report: TrainReport,
}

impl Vae {
    /// Encoded width of a row.
    pub fn width(&self) -> usize {
        layout_width(&self.layout)
    }

    /// Latent dimension.
    pub fn latent(&self) -> usize {
        self.config.latent
    }

    /// μ and log σ² of q(z | x) for encoded rows `x` (row-major), each `[n, latent]`.
    pub fn encode(&self, x: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
        let d = self.width();
        let n = rows_of(x, d, "input")?;
        let k = self.latent();
        let (mut mu, mut lv) = (Vec::with_capacity(n * k), Vec::with_capacity(n * k));
        let device = cpu();
        for chunk in x.chunks(INFER_BATCH * d) {
            let rows = chunk.len() / d;
            let h = self
                .encoder
                .forward(tensor::from_flat(chunk.to_vec(), rows, d, &device));
            mu.extend(tensor::to_flat(h.clone().narrow(1, 0, k)));
            lv.extend(tensor::to_flat(h.narrow(1, k, k)));
        }
        Ok((mu, lv))
    }

    /// The posterior mean μ(x) `[n, latent]` for encoded rows `x`.
    pub fn encode_mean(&self, x: &[f32]) -> Result<Vec<f32>> {
        Ok(self.encode(x)?.0)
    }

    /// Decodes latent points `z` (row-major, `latent` wide) to the encoded layout: continuous
    /// columns as is, binary columns as probabilities, one-hot blocks as softmax probabilities.
    pub fn decode(&self, z: &[f32]) -> Result<Vec<f32>> {
        let k = self.latent();
        let n = rows_of(z, k, "latent")?;
        let d = self.width();
        let blocks = Blocks::new(&self.layout);
        let device = cpu();
        let mut out = Vec::with_capacity(n * d);
        for chunk in z.chunks(INFER_BATCH * k) {
            let rows = chunk.len() / k;
            let p = self
                .decoder
                .forward(tensor::from_flat(chunk.to_vec(), rows, k, &device));
            let parts: Vec<Tensor<2>> = blocks
                .0
                .iter()
                .map(|&(kind, off, w)| {
                    let b = p.clone().narrow(1, off, w);
                    match kind {
                        ColumnKind::Continuous => b,
                        ColumnKind::Binary => sigmoid(b),
                        ColumnKind::Categorical { .. } => softmax(b, 1),
                    }
                })
                .collect();
            out.extend(tensor::to_flat(Tensor::cat(parts, 1)));
        }
        Ok(out)
    }

    /// Mean reconstruction loss and mean KL over encoded rows `x`, with one draw of ε per row
    /// from `rng` (the training objective is `reconstruction + β·kl`).
    pub fn loss_terms<R: Rng + ?Sized>(&self, x: &[f32], rng: &mut R) -> Result<(f64, f64)> {
        let d = self.width();
        let n = rows_of(x, d, "input")?;
        if n == 0 {
            return Err(Error::invalid("no rows to evaluate the VAE on"));
        }
        let device = cpu();
        let net = VaeNet {
            encoder: self.encoder.clone(),
            decoder: self.decoder.clone(),
        };
        let eps = normal(n, self.latent(), rng, &device);
        let (rec, kl) = net.terms(
            tensor::from_flat(x.to_vec(), n, d, &device),
            eps,
            self.latent(),
            &Blocks::new(&self.layout),
        );
        Ok((tensor::scalar(rec.mean()), tensor::scalar(kl.mean())))
    }

    /// Weights as named tensors `PREFIX.encoder.{i}.…` and `PREFIX.decoder.{i}.…`.
    pub fn named_tensors(&self, prefix: &str) -> Vec<NamedTensor> {
        let mut t = self.encoder.named_tensors(&format!("{prefix}.encoder"));
        t.extend(self.decoder.named_tensors(&format!("{prefix}.decoder")));
        t
    }

    /// Rebuilds a VAE from its configuration, layout, training report and named tensors.
    pub fn from_named(
        config: VaeConfig,
        layout: Vec<ColumnKind>,
        report: TrainReport,
        prefix: &str,
        tensors: &mut HashMap<String, NamedTensor>,
    ) -> Result<Self> {
        config.check(&layout)?;
        let d = layout_width(&layout);
        let device = cpu();
        let encoder = Mlp::from_named(
            &config.encoder_mlp(d),
            &format!("{prefix}.encoder"),
            tensors,
            &device,
        )?;
        let decoder = Mlp::from_named(
            &config.decoder_mlp(d),
            &format!("{prefix}.decoder"),
            tensors,
            &device,
        )?;
        Ok(Vae {
            config,
            layout,
            encoder,
            decoder,
            report,
        })
    }

    /// Writes `dir/NAME.safetensors` and `dir/NAME.json` (kind `vae`).
    pub fn save(&self, dir: &Path, name: &str) -> Result<()> {
        let payload = serde_json::json!({
            "config": self.config,
            "layout": self.layout,
            "report": self.report,
        });
        store::save(dir, name, "vae", payload, &self.named_tensors("vae"))
    }

    /// Reads a VAE written by [`Vae::save`].
    pub fn load(dir: &Path, name: &str) -> Result<Self> {
        let (payload, mut tensors) = store::load(dir, name, "vae")?;
        let config = store::field(&payload, "config", "vae", dir)?;
        let layout = store::field(&payload, "layout", "vae", dir)?;
        let report = store::field(&payload, "report", "vae", dir)?;
        Self::from_named(config, layout, report, "vae", &mut tensors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoObserver;
    use remedy_core::seed;

    /// Rows of a correlated 3-d Gaussian (x1 = x0 + small noise, x2 = −x0 + small noise,
    /// roughly standardised), a binary column equal to [x0 > 0] and a 3-level one-hot by the
    /// sign pattern, all driven by one latent factor.
    fn data(n: usize, s: u64) -> Vec<f32> {
        let mut rng = seed::rng(s);
        let mut out = Vec::with_capacity(n * 7);
        for _ in 0..n {
            let a: f32 = StandardNormal.sample(&mut rng);
            let e1: f32 = StandardNormal.sample(&mut rng);
            let e2: f32 = StandardNormal.sample(&mut rng);
            out.extend([a, a + 0.2 * e1, -a + 0.2 * e2]);
            out.push(if a > 0.0 { 1.0 } else { 0.0 });
            let c = if a < -0.5 {
                0
            } else if a < 0.5 {
                1
            } else {
                2
            };
            out.extend((0..3).map(|l| if l == c { 1.0 } else { 0.0 }));
        }
        out
    }

    fn layout() -> Vec<ColumnKind> {
        vec![
            ColumnKind::Continuous,
            ColumnKind::Continuous,
            ColumnKind::Continuous,
            ColumnKind::Binary,
            ColumnKind::Categorical { levels: 3 },
        ]
    }

    fn small() -> VaeConfig {
        VaeConfig {
            hidden: vec![32, 16],
            latent: 2,
            train: TrainConfig {
                epochs: 40,
                batch_size: 64,
                learning_rate: 3e-3,
                patience: Some(10),
                ..VaeConfig::default().train
            },
            ..VaeConfig::default()
        }
    }

    fn trained(s: u64) -> Vae {
        small()
            .fit(
                &layout(),
                &data(1500, 10),
                &data(300, 11),
                &mut seed::rng(s),
                &mut NoObserver,
            )
            .unwrap()
    }

    /// Reconstruction through the posterior mean beats predicting the column means (≈ the
    /// variance of each continuous column), and every decoded block is a valid probability.
    #[test]
    fn vae_reconstructs_better_than_the_mean_and_kl_is_non_negative() {
        let vae = trained(1);
        let x = data(400, 12);
        let n = 400;
        let rec = vae.decode(&vae.encode_mean(&x).unwrap()).unwrap();
        assert_eq!(rec.len(), x.len());
        let (mut err, mut base) = (0.0f64, 0.0f64);
        for j in 0..3 {
            let mean = (0..n).map(|i| f64::from(x[i * 7 + j])).sum::<f64>() / n as f64;
            for i in 0..n {
                err += (f64::from(rec[i * 7 + j]) - f64::from(x[i * 7 + j])).powi(2);
                base += (mean - f64::from(x[i * 7 + j])).powi(2);
            }
        }
        assert!(err < 0.3 * base, "vae sse {err}, mean sse {base}");
        for i in 0..n {
            let r = &rec[i * 7..i * 7 + 7];
            assert!((0.0..=1.0).contains(&r[3]));
            assert!((r[4] + r[5] + r[6] - 1.0).abs() < 1e-4, "{r:?}");
        }
        // The binary column is recovered on most rows.
        let hits = (0..n)
            .filter(|&i| (rec[i * 7 + 3] >= 0.5) == (x[i * 7 + 3] == 1.0))
            .count();
        assert!(hits > 340, "{hits}/{n}");
        let (r, k) = vae.loss_terms(&x, &mut seed::rng(5)).unwrap();
        assert!(r.is_finite() && k >= 0.0 && k.is_finite(), "rec {r} kl {k}");
        // KL of arbitrary (untrained) posteriors is non-negative too, and 0 at N(0, I).
        let dev = cpu();
        let mu = tensor::from_flat(vec![0.0, 1.0, -2.0, 0.0], 2, 2, &dev);
        let lv = tensor::from_flat(vec![0.0, -1.0, 3.0, 0.0], 2, 2, &dev);
        let k = tensor::to_flat(kl(mu, lv));
        assert!(k.iter().all(|&v| v >= 0.0), "{k:?}");
        let z = tensor::from_flat(vec![0.0; 4], 2, 2, &dev);
        assert_eq!(tensor::to_flat(kl(z.clone(), z)), vec![0.0, 0.0]);
    }

    #[test]
    fn vae_same_seed_same_bits_and_save_load_round_trip() {
        let tiny = VaeConfig {
            train: TrainConfig {
                epochs: 3,
                ..small().train
            },
            ..small()
        };
        let run = |s: u64| {
            tiny.fit(
                &layout(),
                &data(300, 20),
                &data(60, 21),
                &mut seed::rng(s),
                &mut NoObserver,
            )
            .unwrap()
        };
        let (a, b, c) = (run(3), run(3), run(4));
        let z: Vec<f32> = (0..20).map(|i| i as f32 * 0.1 - 1.0).collect();
        let x = data(10, 22);
        assert_eq!(a.decode(&z).unwrap(), b.decode(&z).unwrap());
        assert_eq!(a.encode(&x).unwrap(), b.encode(&x).unwrap());
        assert_eq!(a.report, b.report);
        assert_ne!(a.decode(&z).unwrap(), c.decode(&z).unwrap());

        let dir = tempfile::tempdir().unwrap();
        a.save(dir.path(), "v").unwrap();
        let back = Vae::load(dir.path(), "v").unwrap();
        assert_eq!(back.decode(&z).unwrap(), a.decode(&z).unwrap());
        assert_eq!(back.encode(&x).unwrap(), a.encode(&x).unwrap());
        assert_eq!(back.layout, a.layout);
        assert_eq!(back.report, a.report);
        assert!(Vae::load(dir.path(), "missing").is_err());
    }

    #[test]
    fn vae_bad_input_is_an_error() {
        let cfg = small();
        let mut rng = seed::rng(1);
        let e = cfg
            .fit(&layout(), &[1.0; 8], &[], &mut rng, &mut NoObserver)
            .unwrap_err()
            .to_string();
        assert!(e.contains("multiple"), "{e}");
        let mut x = data(5, 1);
        x[9] = f32::NAN;
        let e = cfg
            .fit(&layout(), &x, &[], &mut rng, &mut NoObserver)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 2"), "{e}");
        assert!(cfg.fit(&[], &[], &[], &mut rng, &mut NoObserver).is_err());
        assert!(
            cfg.fit(&layout(), &[], &[], &mut rng, &mut NoObserver)
                .is_err()
        );
        let vae = VaeConfig {
            train: TrainConfig {
                epochs: 1,
                ..cfg.train.clone()
            },
            ..cfg
        }
        .fit(&layout(), &data(20, 1), &[], &mut rng, &mut NoObserver)
        .unwrap();
        assert!(vae.decode(&[0.0; 3]).is_err());
        assert!(vae.encode_mean(&[0.0; 6]).is_err());
        assert!(vae.decode(&[f32::INFINITY, 0.0]).is_err());
        assert_eq!(vae.decode(&[]).unwrap(), Vec::<f32>::new());
    }
}
