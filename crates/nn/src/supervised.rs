//! Supervised training of a small MLP on plain `f32` matrices: least-squares regression or
//! softmax classification, with the seeded training loop of [`crate::train`]. Callers outside
//! this crate never see a tensor.

use burn::module::Module;
use burn::tensor::activation::{log_softmax, softmax};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::observer::Observer;
use crate::train::{TrainConfig, TrainReport, fit};
use crate::{Mlp, MlpConfig, autodiff, cpu, tensor};

/// What the network's output means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Real targets, mean squared error.
    Regression,
    /// Class indices `0..k` (stored as `f32` in one column), cross-entropy on the `k` logits.
    Classification,
}

/// A design matrix with its targets, row-major.
#[derive(Debug, Clone, Copy)]
pub struct Examples<'a> {
    pub x: &'a [f32],
    pub y: &'a [f32],
    pub n: usize,
}

/// Trains a network of shape `config` on `train`, keeping the epoch with the best loss on
/// `valid` (if it has rows). For classification the last width of `config` is the number of
/// classes and `y` holds one class index per row.
#[allow(clippy::too_many_arguments)]
pub fn fit_mlp<R: Rng + ?Sized>(
    config: &MlpConfig,
    target: Target,
    train: Examples<'_>,
    valid: Examples<'_>,
    train_config: &TrainConfig,
    rng: &mut R,
    observer: &mut dyn Observer,
    what: &str,
) -> (Mlp, TrainReport) {
    let d_in = config.sizes[0];
    let d_out = *config.sizes.last().unwrap_or(&1);
    let y_cols = match target {
        Target::Regression => d_out,
        Target::Classification => 1,
    };
    let plain = cpu();
    let device = autodiff(&plain);
    let net = config.init(rng, &device);
    let loss = move |out: burn::tensor::Tensor<2>, y: burn::tensor::Tensor<2>| match target {
        Target::Regression => (out - y).powf_scalar(2.0).mean(),
        Target::Classification => {
            let [n, _] = out.dims();
            let idx = y.int().reshape([n, 1]);
            let picked = log_softmax(out, 1).gather(1, idx);
            picked.mean().neg()
        }
    };
    let valid_x = (valid.n > 0).then(|| tensor::from_flat(valid.x.to_vec(), valid.n, d_in, &plain));
    let valid_y =
        (valid.n > 0).then(|| tensor::from_flat(valid.y.to_vec(), valid.n, y_cols, &plain));
    let (net, report) = fit(
        net,
        train.n,
        train_config,
        rng,
        observer,
        what,
        |m: &Mlp, idx: &[usize], r: &mut R| {
            let x = tensor::gather_rows(train.x, d_in, idx, &device);
            let y = tensor::gather_rows(train.y, y_cols, idx, &device);
            loss(m.forward_train(x, r), y)
        },
        |m: &Mlp| match (&valid_x, &valid_y) {
            (Some(x), Some(y)) => tensor::scalar(loss(m.valid().forward(x.clone()), y.clone())),
            _ => f64::NAN,
        },
        |_m: &mut Mlp, _e| {},
    );
    (net.valid(), report)
}

/// The network's outputs for `n` rows of `x` (regression values, or class probabilities for a
/// classifier when `probabilities` is set), row-major.
pub fn predict(net: &Mlp, x: &[f32], n: usize, probabilities: bool) -> Vec<f32> {
    let d_in = net.config.sizes[0];
    let device = cpu();
    let out = net.forward(tensor::from_flat(x.to_vec(), n, d_in, &device));
    if probabilities {
        tensor::to_flat(softmax(out, 1))
    } else {
        tensor::to_flat(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoObserver;
    use remedy_core::seed;

    /// y = sin(3x) is learnt by a small ReLU network (worked example: a smooth 1-d target).
    #[test]
    fn regression_fits_a_curve() {
        let xs: Vec<f32> = (0..512).map(|i| i as f32 / 256.0 - 1.0).collect();
        let ys: Vec<f32> = xs.iter().map(|x| (3.0 * x).sin()).collect();
        let ex = Examples {
            x: &xs,
            y: &ys,
            n: xs.len(),
        };
        let cfg = TrainConfig {
            epochs: 300,
            batch_size: 64,
            learning_rate: 1e-2,
            patience: None,
            ..TrainConfig::default()
        };
        let (net, _) = fit_mlp(
            &MlpConfig::relu(&[1, 32, 32, 1]),
            Target::Regression,
            ex,
            ex,
            &cfg,
            &mut seed::rng(1),
            &mut NoObserver,
            "sin",
        );
        let p = predict(&net, &xs, xs.len(), false);
        let mse: f32 = p.iter().zip(&ys).map(|(a, b)| (a - b).powi(2)).sum::<f32>() / 512.0;
        assert!(mse < 1e-2, "mse {mse}");
    }

    /// Three classes split by thresholds on x are separated, probabilities sum to one.
    #[test]
    fn classification_separates_classes() {
        let xs: Vec<f32> = (0..600).map(|i| i as f32 / 300.0 - 1.0).collect();
        let ys: Vec<f32> = xs
            .iter()
            .map(|&x| {
                if x < -0.3 {
                    0.0
                } else if x < 0.4 {
                    1.0
                } else {
                    2.0
                }
            })
            .collect();
        let ex = Examples {
            x: &xs,
            y: &ys,
            n: xs.len(),
        };
        let cfg = TrainConfig {
            epochs: 200,
            batch_size: 64,
            learning_rate: 1e-2,
            patience: None,
            ..TrainConfig::default()
        };
        let (net, _) = fit_mlp(
            &MlpConfig::relu(&[1, 16, 3]),
            Target::Classification,
            ex,
            ex,
            &cfg,
            &mut seed::rng(2),
            &mut NoObserver,
            "classes",
        );
        let p = predict(&net, &xs, xs.len(), true);
        let mut correct = 0;
        for (i, &y) in ys.iter().enumerate() {
            let row = &p[i * 3..i * 3 + 3];
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            let arg = (0..3).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            correct += usize::from(arg as f32 == y);
        }
        assert!(correct > 570, "{correct}/600");
    }
}
