//! The generalised vector autoregression network (GVAR, Marcinkevičs & Vogt 2021; RecAD spec
//! §1 Eq. 2): for each lag k = 1..K a coefficient network g_k: R^d → R^{d×d} (ReLU hidden
//! layers, tanh output, reshaped row-major so that entry (i, j) is the effect of variable j at
//! t − k on variable i at t), and the prediction x̂_t = Σ_k Ψ_k(x_{t−k}) x_{t−k} without an
//! intercept. Everything is batched and differentiable, so a recourse network can be trained
//! through a frozen GVAR (RecAD Eqs. 8-11: abduction ε_t = x_t − x̂_t, action, prediction).

use std::collections::HashMap;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;
use remedy_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::dense::{Activation, Mlp, MlpConfig};
use crate::store::NamedTensor;

/// The shape of a GVAR network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GvarNetConfig {
    /// Number of variables d.
    pub dim: usize,
    /// Lag order K (one coefficient network per lag).
    pub lags: usize,
    /// Hidden widths of each coefficient network (reference `senn.py`: `num_hidden_layers`
    /// layers of `hidden_layer_size` units).
    pub hidden: Vec<usize>,
}

impl GvarNetConfig {
    /// Checks the shape.
    pub fn validate(&self) -> Result<()> {
        if self.dim == 0 || self.lags == 0 {
            return Err(Error::invalid(format!(
                "GVAR needs at least one variable and one lag (got d = {}, K = {})",
                self.dim, self.lags
            )));
        }
        if self.hidden.contains(&0) {
            return Err(Error::invalid(
                "GVAR hidden layers must have positive widths",
            ));
        }
        Ok(())
    }

    /// The MLP shape of one coefficient network: d → hidden… → d², ReLU between layers and
    /// tanh at the output (so every coefficient lies in [−1, 1], spec §1 Eq. 2).
    pub fn coefficient_net(&self) -> MlpConfig {
        let mut sizes = vec![self.dim];
        sizes.extend_from_slice(&self.hidden);
        sizes.push(self.dim * self.dim);
        let mut cfg = MlpConfig::relu(&sizes);
        if let Some(last) = cfg.activations.last_mut() {
            *last = Activation::Tanh;
        }
        cfg
    }

    /// Initialises the K coefficient networks from `rng` (PyTorch's default `nn.Linear`
    /// initialisation, as in the reference, which never calls its own `init_weights`).
    pub fn init<R: Rng + ?Sized>(&self, rng: &mut R, device: &Device) -> Result<GvarNet> {
        self.validate()?;
        let mlp = self.coefficient_net();
        Ok(GvarNet {
            nets: (0..self.lags).map(|_| mlp.init(rng, device)).collect(),
            config: self.clone(),
        })
    }
}

/// Weights of the GVAR loss (spec §1 Eq. 2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GvarPenalty {
    /// λ, the weight of the sparsity penalty R(Ψ).
    pub lambda: f64,
    /// γ, the weight of the smoothness penalty.
    pub gamma: f64,
    /// Elastic-net mixing α: R = (1 − α)·‖ψ_ij‖₂ + α·‖ψ_ij‖₁, norms over the lags (reference
    /// `alpha = 0.5`; with K = 1 both are |ψ_ij|).
    pub alpha: f64,
}

/// The GVAR network: one coefficient MLP per lag.
#[derive(Module, Debug)]
pub struct GvarNet {
    pub nets: Vec<Mlp>,
    #[module(skip)]
    pub config: GvarNetConfig,
}

/// Small constant inside the square root of the ℓ2 group norm, so its gradient is finite at 0.
const NORM_EPS: f64 = 1e-12;

impl GvarNet {
    /// Number of variables.
    pub fn dim(&self) -> usize {
        self.config.dim
    }

    /// Lag order K.
    pub fn lags(&self) -> usize {
        self.config.lags
    }

    /// The coefficient matrices Ψ_k(x_{t−k}), shape `[B, K, d, d]` (entry `[b, k−1, i, j]`:
    /// effect of x^{(j)}_{t−k} on x^{(i)}_t), from lagged inputs `[B, K, d]` whose slot k − 1
    /// holds x_{t−k}.
    pub fn coefficients(&self, lagged: Tensor<3>) -> Tensor<4> {
        let [b, k, d] = lagged.dims();
        let per_lag: Vec<Tensor<4>> = self
            .nets
            .iter()
            .enumerate()
            .take(k)
            .map(|(i, net)| {
                let x = lagged.clone().narrow(1, i, 1).reshape([b, d]);
                net.forward(x).reshape([b, 1, d, d])
            })
            .collect();
        Tensor::cat(per_lag, 1)
    }

    /// x̂_t = Σ_k Ψ_k x_{t−k} (Eq. 2) from the coefficients `[B, K, d, d]` and the lagged
    /// inputs `[B, K, d]`: shape `[B, d]`.
    pub fn combine(coefficients: Tensor<4>, lagged: Tensor<3>) -> Tensor<2> {
        let [b, k, d] = lagged.dims();
        (coefficients * lagged.reshape([b, k, 1, d]))
            .sum_dim(3)
            .sum_dim(1)
            .reshape([b, d])
    }

    /// The one-step prediction x̂_t, `[B, d]`, from lagged inputs `[B, K, d]` (slot k − 1 =
    /// x_{t−k}). Differentiable in both the weights and the inputs.
    pub fn forward(&self, lagged: Tensor<3>) -> Tensor<2> {
        let psi = self.coefficients(lagged.clone());
        Self::combine(psi, lagged)
    }

    /// The prediction and its coefficients.
    pub fn forward_with_coefficients(&self, lagged: Tensor<3>) -> (Tensor<2>, Tensor<4>) {
        let psi = self.coefficients(lagged.clone());
        (Self::combine(psi.clone(), lagged), psi)
    }

    /// The elastic-net sparsity penalty R(Ψ) of the reference (`senn.py` training):
    /// (1 − α)·mean_{b,i,j} ‖Ψ_b[:, i, j]‖₂ + α·mean_{b,i,j} ‖Ψ_b[:, i, j]‖₁, norms over lags.
    pub fn sparsity(psi: Tensor<4>, alpha: f64) -> Tensor<1> {
        let l2 = psi
            .clone()
            .powf_scalar(2.0)
            .sum_dim(1)
            .add_scalar(NORM_EPS)
            .sqrt()
            .mean();
        let l1 = psi.abs().sum_dim(1).mean();
        l2.mul_scalar(1.0 - alpha) + l1.mul_scalar(alpha)
    }

    /// The smoothness penalty: mean over pairs of ‖Ψ_{t+1} − Ψ_t‖²_F (paper form of Eq. 2,
    /// consecutive steps of the same series).
    pub fn smoothness(current: Tensor<4>, next: Tensor<4>) -> Tensor<1> {
        let [p, k, d, _] = current.dims();
        (next - current)
            .powf_scalar(2.0)
            .reshape([p, k * d * d])
            .sum_dim(1)
            .mean()
    }

    /// The GVAR training loss (Eq. 2) of a minibatch: mean squared error of x̂ against
    /// `target` `[B, d]`, plus λ·R(Ψ) over the batch, plus γ·smoothness over the pairs in
    /// `successors`: `(rows, next_lagged)` where `rows` (`P` of them) index batch rows whose
    /// next step is in the same series and `next_lagged` `[P, K, d]` holds that next step's
    /// lagged inputs. Without successors (or γ = 0) the smoothness term is left out.
    pub fn loss(
        &self,
        lagged: Tensor<3>,
        target: Tensor<2>,
        successors: Option<(&[usize], Tensor<3>)>,
        penalty: GvarPenalty,
    ) -> Tensor<1> {
        let b = lagged.dims()[0];
        let successors = successors.filter(|(r, _)| penalty.gamma != 0.0 && !r.is_empty());
        let (psi, smooth) = match successors {
            Some((rows, next)) => {
                let p = next.dims()[0];
                let idx: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
                let rows = Tensor::<1, Int>::from_data(TensorData::new(idx, [p]), &next.device());
                let all = self.coefficients(Tensor::cat(vec![lagged.clone(), next], 0));
                let psi = all.clone().narrow(0, 0, b);
                let psi_next = all.narrow(0, b, p);
                // Rows of a `[B, K·d·d]` matrix: burn's scatter-add (the gradient) runs
                // element by element for four dimensions, row by row for two.
                let [_, k, d, _] = psi.dims();
                let psi_cur = psi
                    .clone()
                    .reshape([b, k * d * d])
                    .select(0, rows)
                    .reshape([p, k, d, d]);
                (psi, Some(Self::smoothness(psi_cur, psi_next)))
            }
            None => (self.coefficients(lagged.clone()), None),
        };
        let pred = Self::combine(psi.clone(), lagged);
        let mse = (pred - target).powf_scalar(2.0).mean();
        let mut loss = mse + Self::sparsity(psi, penalty.alpha).mul_scalar(penalty.lambda);
        if let Some(s) = smooth {
            loss = loss + s.mul_scalar(penalty.gamma);
        }
        loss
    }

    /// Weights as named tensors `PREFIX.lag{k}.{layer}.{weight,bias}` (k from 1).
    pub fn named_tensors(&self, prefix: &str) -> Vec<NamedTensor> {
        self.nets
            .iter()
            .enumerate()
            .flat_map(|(k, n)| n.named_tensors(&format!("{prefix}.lag{}", k + 1)))
            .collect()
    }

    /// Rebuilds a network of shape `config` from named tensors.
    pub fn from_named(
        config: &GvarNetConfig,
        prefix: &str,
        tensors: &mut HashMap<String, NamedTensor>,
        device: &Device,
    ) -> Result<GvarNet> {
        config.validate()?;
        let mlp = config.coefficient_net();
        let nets = (0..config.lags)
            .map(|k| Mlp::from_named(&mlp, &format!("{prefix}.lag{}", k + 1), tensors, device))
            .collect::<Result<Vec<_>>>()?;
        Ok(GvarNet {
            nets,
            config: config.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{from_flat, to_flat};
    use remedy_core::seed;

    fn lagged(values: Vec<f32>, b: usize, k: usize, d: usize, device: &Device) -> Tensor<3> {
        from_flat(values, b, k * d, device).reshape([b, k, d])
    }

    #[test]
    fn forward_is_the_coefficient_weighted_sum_of_the_lags() {
        let device = crate::cpu();
        let cfg = GvarNetConfig {
            dim: 3,
            lags: 2,
            hidden: vec![5],
        };
        let net = cfg.init(&mut seed::rng(4), &device).unwrap();
        let x: Vec<f32> = (0..12).map(|i| (i as f32 * 0.37).sin()).collect();
        let lag = lagged(x.clone(), 2, 2, 3, &device);
        let (pred, psi) = net.forward_with_coefficients(lag);
        let (pred, psi) = (to_flat(pred), to_flat(psi));
        assert_eq!(psi.len(), 2 * 2 * 9);
        assert!(psi.iter().all(|v| v.abs() <= 1.0));
        for b in 0..2 {
            for i in 0..3 {
                let mut want = 0.0f32;
                for k in 0..2 {
                    for j in 0..3 {
                        want += psi[((b * 2 + k) * 3 + i) * 3 + j] * x[(b * 2 + k) * 3 + j];
                    }
                }
                assert!((pred[b * 3 + i] - want).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn penalties_match_hand_values() {
        let device = crate::cpu();
        // B = 1, K = 2, d = 1: ψ = (3, 4) → ℓ2 = 5, ℓ1 = 7.
        let psi = Tensor::<4>::from_data(TensorData::new(vec![3.0f32, 4.0], [1, 2, 1, 1]), &device);
        let r = crate::tensor::scalar(GvarNet::sparsity(psi.clone(), 0.5));
        assert!((r - 6.0).abs() < 1e-5, "{r}");
        let next = psi.clone().add_scalar(1.0);
        let s = crate::tensor::scalar(GvarNet::smoothness(psi, next));
        assert!((s - 2.0).abs() < 1e-6, "{s}");
    }

    #[test]
    fn loss_trains_and_round_trips() {
        let device = crate::cpu();
        let ad = crate::autodiff(&device);
        let cfg = GvarNetConfig {
            dim: 2,
            lags: 1,
            hidden: vec![4],
        };
        let net = cfg.init(&mut seed::rng(1), &ad).unwrap();
        let lag = lagged(vec![0.5, -0.2, 0.1, 0.3, -0.4, 0.9], 3, 1, 2, &ad);
        let target = from_flat(vec![0.1, 0.0, 0.2, -0.1, 0.0, 0.3], 3, 2, &ad);
        let next = lagged(vec![0.1, 0.3, -0.4, 0.9], 2, 1, 2, &ad);
        let pen = GvarPenalty {
            lambda: 0.2,
            gamma: 0.5,
            alpha: 0.5,
        };
        let loss = net.loss(lag.clone(), target, Some((&[0, 1], next)), pen);
        assert!(crate::tensor::scalar(loss.clone()).is_finite());
        let grads = loss.backward();
        let g = net.nets[0].layers[0].weight.grad(&grads).unwrap();
        assert!(to_flat(g).iter().any(|v| *v != 0.0));
        let t = net.named_tensors("g");
        let mut map: HashMap<_, _> = t.into_iter().map(|t| (t.name.clone(), t)).collect();
        let back = GvarNet::from_named(&cfg, "g", &mut map, &device).unwrap();
        let x = lagged(vec![0.5, -0.2], 1, 1, 2, &device);
        assert_eq!(
            to_flat(net.valid().forward(x.clone())),
            to_flat(back.forward(x))
        );
    }
}
