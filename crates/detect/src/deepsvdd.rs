//! Deep SVDD (Ruff et al. 2018; RootCLAM spec §4.2): a bias-free network maps normal rows close
//! to a centre c; the score is the Euclidean distance ‖φ(x) − c‖₂; τ is a quantile of the
//! training distances.
//!
//! Departure from the reference code: the centre is fixed from the initial forward pass over the
//! training data, as Ruff et al. describe (components closer to 0 than ε = 0.1 pushed to ±ε),
//! instead of being recomputed on validation data during the first 10 epochs.

use std::path::Path;

use rand::Rng;
use remedy_core::{Error, Result, Schema};
use remedy_nn::store::{self, NamedTensor};
use remedy_nn::train::{TrainConfig, TrainReport, fit};
use remedy_nn::{Activation, Device, Mlp, MlpConfig, Module, Observer, Tensor, tensor};
use serde::{Deserialize, Serialize};

use crate::encode::TabularEncoder;
use crate::{AnomalyDetector, threshold};

/// Deep SVDD settings (defaults: the reference's Loan/Adult network in-16-2048, no biases,
/// dropout 0.3 after the ReLU).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeepSvddConfig {
    pub hidden: usize,
    pub out_dim: usize,
    pub dropout: f32,
    /// Centre components with |c| < eps become ±eps (Ruff et al.).
    pub eps: f64,
    pub train: TrainConfig,
    pub quantile: f64,
}

impl Default for DeepSvddConfig {
    fn default() -> Self {
        DeepSvddConfig {
            hidden: 16,
            out_dim: 2048,
            dropout: 0.3,
            eps: 0.1,
            train: TrainConfig {
                epochs: 200,
                batch_size: 1024,
                learning_rate: 1e-3,
                weight_decay: 5e-4,
                patience: Some(20),
                min_epochs: 10,
            },
            quantile: 0.995,
        }
    }
}

impl DeepSvddConfig {
    fn mlp(&self, d: usize) -> MlpConfig {
        MlpConfig {
            sizes: vec![d, self.hidden, self.out_dim],
            activations: vec![Activation::Relu, Activation::Identity],
            dropout: vec![0.0, self.dropout],
            bias: false,
        }
    }

    /// Trains on normal `train` rows, selecting the epoch by loss on `valid`.
    pub fn fit<R: Rng + ?Sized>(
        &self,
        schema: &Schema,
        train: &[Vec<f64>],
        valid: &[Vec<f64>],
        rng: &mut R,
        observer: &mut dyn Observer,
    ) -> Result<DeepSvdd> {
        if train.is_empty() {
            return Err(Error::invalid("Deep SVDD needs at least one training row"));
        }
        let encoder = TabularEncoder::fit(schema, train)?;
        let d = encoder.width();
        let xt = encoder.encode(train)?;
        let xv = encoder.encode(valid)?;
        let plain = remedy_nn::cpu();
        let device = remedy_nn::autodiff(&plain);
        let net = self.mlp(d).init(rng, &device);
        // Centre: mean initial embedding of the training rows (no dropout).
        let emb = net
            .valid()
            .forward(tensor::from_flat(xt.clone(), train.len(), d, &plain));
        let centre: Vec<f32> = tensor::to_flat(emb.mean_dim(0))
            .into_iter()
            .map(|c| {
                let eps = self.eps as f32;
                if c.abs() < eps && c != 0.0 {
                    eps.copysign(c)
                } else {
                    c
                }
            })
            .collect();
        let c_train = tensor::from_flat(centre.clone(), 1, self.out_dim, &device);
        let c_plain = tensor::from_flat(centre.clone(), 1, self.out_dim, &plain);
        let valid_tensor =
            (!valid.is_empty()).then(|| tensor::from_flat(xv.clone(), valid.len(), d, &plain));
        let (net, report) = fit(
            net,
            train.len(),
            &self.train,
            rng,
            observer,
            "deep-svdd",
            |m: &Mlp, idx: &[usize], r: &mut R| {
                let x = tensor::gather_rows(&xt, d, idx, &device);
                (m.forward_train(x, r) - c_train.clone())
                    .powf_scalar(2.0)
                    .mean()
            },
            |m: &Mlp| match &valid_tensor {
                Some(v) => tensor::scalar(
                    (m.valid().forward(v.clone()) - c_plain.clone())
                        .powf_scalar(2.0)
                        .mean(),
                ),
                None => f64::NAN,
            },
            |_m: &mut Mlp, _e| {},
        );
        let mut svdd = DeepSvdd {
            config: self.clone(),
            encoder,
            net: net.valid(),
            centre,
            threshold: f64::NAN,
            report,
        };
        let scores = svdd.score_encoded(&xt, train.len());
        svdd.threshold = threshold::quantile(&scores, self.quantile);
        Ok(svdd)
    }
}

/// A fitted Deep SVDD detector.
#[derive(Debug)]
pub struct DeepSvdd {
    pub config: DeepSvddConfig,
    pub encoder: TabularEncoder,
    pub net: Mlp,
    pub centre: Vec<f32>,
    pub threshold: f64,
    pub report: TrainReport,
}

const SCORE_BATCH: usize = 4096;

impl DeepSvdd {
    /// Scores of encoded rows.
    pub fn score_encoded(&self, x: &[f32], n: usize) -> Vec<f64> {
        let d = self.encoder.width();
        let device = remedy_nn::cpu();
        let mut out = Vec::with_capacity(n);
        for start in (0..n).step_by(SCORE_BATCH) {
            let end = (start + SCORE_BATCH).min(n);
            let t = tensor::from_flat(x[start * d..end * d].to_vec(), end - start, d, &device);
            out.extend(
                tensor::to_flat(self.score_tensor(t))
                    .into_iter()
                    .map(f64::from),
            );
        }
        out
    }

    /// ‖φ(x) − c‖₂ on encoded inputs, differentiable.
    pub fn score_tensor(&self, x: Tensor<2>) -> Tensor<1> {
        let device = x.device();
        let c = tensor::from_flat(self.centre.clone(), 1, self.centre.len(), &device);
        (self.net.forward(x) - c)
            .powf_scalar(2.0)
            .sum_dim(1)
            .sqrt()
            .squeeze_dim(1)
    }

    /// The network on another device.
    pub fn net_on(&self, device: &Device) -> Mlp {
        self.net.clone().to_device(device)
    }

    /// Writes `dir/NAME.safetensors` and `dir/NAME.json`.
    pub fn save(&self, dir: &Path, name: &str) -> Result<()> {
        let payload = serde_json::json!({
            "config": self.config,
            "encoder": self.encoder,
            "threshold": self.threshold,
            "report": self.report,
        });
        let mut tensors: Vec<NamedTensor> = self.net.named_tensors("net");
        tensors.push(NamedTensor {
            name: "centre".into(),
            shape: vec![self.centre.len()],
            data: self.centre.clone(),
        });
        store::save(dir, name, "deep-svdd", payload, &tensors)
    }

    /// Reads a detector written by [`DeepSvdd::save`].
    pub fn load(dir: &Path, name: &str) -> Result<Self> {
        let (payload, mut tensors) = store::load(dir, name, "deep-svdd")?;
        let bad = |e: serde_json::Error| {
            Error::invalid(format!("{}: bad Deep SVDD manifest: {e}", dir.display()))
        };
        let config: DeepSvddConfig =
            serde_json::from_value(payload["config"].clone()).map_err(bad)?;
        let encoder: TabularEncoder =
            serde_json::from_value(payload["encoder"].clone()).map_err(bad)?;
        let threshold: f64 = serde_json::from_value(payload["threshold"].clone()).map_err(bad)?;
        let report: TrainReport = serde_json::from_value(payload["report"].clone()).map_err(bad)?;
        let centre = store::take(&mut tensors, "centre", &[config.out_dim])?.data;
        let net = Mlp::from_named(
            &config.mlp(encoder.width()),
            "net",
            &mut tensors,
            &remedy_nn::cpu(),
        )?;
        Ok(DeepSvdd {
            config,
            encoder,
            net,
            centre,
            threshold,
            report,
        })
    }
}

impl AnomalyDetector for DeepSvdd {
    fn score(&self, rows: &[Vec<f64>]) -> Result<Vec<f64>> {
        let x = self.encoder.encode(rows)?;
        Ok(self.score_encoded(&x, rows.len()))
    }

    fn threshold(&self) -> f64 {
        self.threshold
    }
}
