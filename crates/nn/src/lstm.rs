//! A lean single-layer LSTM with our own seeded weights (RecAD spec §1 Eq. 6: h_φ reads the
//! window before the abnormal step with an LSTM). The four gates come from one fused matmul
//! `[x_t ‖ h_{t−1}] W + b` with `W` of shape `[d_in + H, 4H]`, columns in PyTorch's gate order
//! (input i, forget f, cell g, output o):
//!
//! ```text
//! i = σ(·), f = σ(·), g = tanh(·), o = σ(·)
//! c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
//! ```
//!
//! Initialisation follows PyTorch's `nn.LSTM`: every weight and bias U(−1/√H, 1/√H), drawn from
//! the caller's generator. (PyTorch has two bias vectors b_ih + b_hh; one suffices here.)
//! Everything is batched and differentiable in the input and the weights.

use std::collections::HashMap;

use burn::module::{Module, Param};
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use remedy_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::store::{NamedTensor, take};

/// The shape of an LSTM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LstmConfig {
    /// Input width d.
    pub input: usize,
    /// Hidden width H.
    pub hidden: usize,
}

impl LstmConfig {
    /// Checks the shape.
    pub fn validate(&self) -> Result<()> {
        if self.input == 0 || self.hidden == 0 {
            return Err(Error::invalid(format!(
                "LSTM widths must be positive (got input {}, hidden {})",
                self.input, self.hidden
            )));
        }
        Ok(())
    }

    /// Initialises the weights from `rng` (PyTorch's U(−1/√H, 1/√H)).
    pub fn init<R: Rng + ?Sized>(&self, rng: &mut R, device: &Device) -> Result<Lstm> {
        self.validate()?;
        let (d, h) = (self.input, self.hidden);
        let bound = 1.0 / (h as f32).sqrt();
        let w: Vec<f32> = (0..(d + h) * 4 * h)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        let b: Vec<f32> = (0..4 * h)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        Ok(Lstm {
            weight: Param::from_data(TensorData::new(w, [d + h, 4 * h]), device),
            bias: Param::from_data(TensorData::new(b, [4 * h]), device),
            config: *self,
        })
    }
}

/// A single-layer LSTM.
#[derive(Module, Debug)]
pub struct Lstm {
    /// Fused gate weights `[d_in + H, 4H]`: rows 0..d_in read x_t, rows d_in.. read h_{t−1};
    /// column blocks i, f, g, o.
    pub weight: Param<Tensor<2>>,
    /// Fused gate bias `[4H]`.
    pub bias: Param<Tensor<1>>,
    #[module(skip)]
    pub config: LstmConfig,
}

impl Lstm {
    /// Checks that `dims` is a `[B, T, d_in]` sequence with B, T ≥ 1.
    pub fn check_input(&self, dims: [usize; 3]) -> Result<()> {
        let [b, t, d] = dims;
        if b == 0 || t == 0 || d != self.config.input {
            return Err(Error::invalid(format!(
                "LSTM expects a [B ≥ 1, T ≥ 1, {}] sequence, got {dims:?}",
                self.config.input
            )));
        }
        Ok(())
    }

    /// One step: `(h_t, c_t)` from `x_t [B, d]` and `(h_{t−1}, c_{t−1})`, each `[B, H]`.
    pub fn step(&self, x: Tensor<2>, h: Tensor<2>, c: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let hs = self.config.hidden;
        let z =
            Tensor::cat(vec![x, h], 1).matmul(self.weight.val()) + self.bias.val().unsqueeze_dim(0);
        let i = sigmoid(z.clone().narrow(1, 0, hs));
        let f = sigmoid(z.clone().narrow(1, hs, hs));
        let g = tanh(z.clone().narrow(1, 2 * hs, hs));
        let o = sigmoid(z.narrow(1, 3 * hs, hs));
        let c = f * c + i * g;
        let h = o * tanh(c.clone());
        (h, c)
    }

    /// All hidden states `[B, T, H]` of a `[B, T, d_in]` sequence, from zero initial states.
    /// Shapes are the caller's to check ([`Lstm::check_input`]).
    pub fn forward_all(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let device = x.device();
        let hs = self.config.hidden;
        let mut h = Tensor::<2>::zeros([b, hs], &device);
        let mut c = Tensor::<2>::zeros([b, hs], &device);
        let mut out = Vec::with_capacity(t);
        for s in 0..t {
            let xs = x.clone().narrow(1, s, 1).reshape([b, d]);
            (h, c) = self.step(xs, h, c);
            out.push(h.clone().unsqueeze_dim(1));
        }
        Tensor::cat(out, 1)
    }

    /// The last hidden state h_T `[B, H]` of a `[B, T, d_in]` sequence, from zero initial
    /// states. Shapes are the caller's to check ([`Lstm::check_input`]).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, t, d] = x.dims();
        let device = x.device();
        let hs = self.config.hidden;
        let mut h = Tensor::<2>::zeros([b, hs], &device);
        let mut c = Tensor::<2>::zeros([b, hs], &device);
        for s in 0..t {
            let xs = x.clone().narrow(1, s, 1).reshape([b, d]);
            (h, c) = self.step(xs, h, c);
        }
        h
    }

    /// Weights as named tensors `PREFIX.weight` / `PREFIX.bias`.
    pub fn named_tensors(&self, prefix: &str) -> Vec<NamedTensor> {
        vec![
            NamedTensor::from_tensor(format!("{prefix}.weight"), self.weight.val()),
            NamedTensor::from_tensor(format!("{prefix}.bias"), self.bias.val()),
        ]
    }

    /// Rebuilds an LSTM of shape `config` from named tensors.
    pub fn from_named(
        config: LstmConfig,
        prefix: &str,
        tensors: &mut HashMap<String, NamedTensor>,
        device: &Device,
    ) -> Result<Lstm> {
        config.validate()?;
        let (d, h) = (config.input, config.hidden);
        let w = take(tensors, &format!("{prefix}.weight"), &[d + h, 4 * h])?;
        let b = take(tensors, &format!("{prefix}.bias"), &[4 * h])?;
        Ok(Lstm {
            weight: Param::from_data(TensorData::new(w.data, [d + h, 4 * h]), device),
            bias: Param::from_data(TensorData::new(b.data, [4 * h]), device),
            config,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{scalar, to_flat};
    use remedy_core::seed;

    fn seq(values: Vec<f32>, b: usize, t: usize, d: usize, device: &Device) -> Tensor<3> {
        Tensor::from_data(TensorData::new(values, [b, t, d]), device)
    }

    fn inputs() -> Vec<f32> {
        (0..2 * 4 * 3)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.15)
            .collect()
    }

    const CFG: LstmConfig = LstmConfig {
        input: 3,
        hidden: 5,
    };

    /// One step by hand in f64 equals the tensor step.
    #[test]
    fn one_step_matches_the_gate_equations() {
        let device = crate::cpu();
        let lstm = CFG.init(&mut seed::rng(4), &device).unwrap();
        let x = [0.3f32, -0.7, 1.1];
        let w = to_flat(lstm.weight.val());
        let bias = to_flat(lstm.bias.val());
        let hs = CFG.hidden;
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let mut want = Vec::new();
        for j in 0..hs {
            let z = |gate: usize| {
                let col = gate * hs + j;
                f64::from(bias[col])
                    + (0..3)
                        .map(|r| f64::from(x[r]) * f64::from(w[r * 4 * hs + col]))
                        .sum::<f64>()
            };
            let c = sig(z(0)) * z(2).tanh(); // c_0 = 0, so the forget gate drops out
            want.push(sig(z(3)) * c.tanh());
        }
        let got = to_flat(lstm.forward(seq(x.to_vec(), 1, 1, 3, &device)));
        for (g, w) in got.iter().zip(&want) {
            assert!((f64::from(*g) - w).abs() < 1e-5, "{got:?} vs {want:?}");
        }
    }

    /// The gradient in the input and in the fused weight matches central finite differences.
    #[test]
    fn gradient_matches_finite_differences() {
        let plain = crate::cpu();
        let ad = crate::autodiff(&plain);
        let lstm = CFG.init(&mut seed::rng(5), &ad).unwrap();
        let proj: Vec<f32> = (0..2 * 5).map(|i| ((i % 4) as f32 - 1.5) * 0.5).collect();
        let loss = |l: &Lstm, xs: &[f32], track: bool| {
            let mut x = seq(xs.to_vec(), 2, 4, 3, &ad);
            if track {
                x = x.require_grad();
            }
            let p = Tensor::<2>::from_data(TensorData::new(proj.clone(), [2, 5]), &ad);
            ((l.forward(x.clone()) * p).sum(), x)
        };
        let x0 = inputs();
        let (l, x) = loss(&lstm, &x0, true);
        let grads = l.backward();
        let gx = to_flat(x.grad(&grads).unwrap());
        let gw = to_flat(lstm.weight.grad(&grads).unwrap());
        let h = 1e-2f32;
        // Input entries at the first and last time steps of both sequences.
        for k in [0usize, 2, 10, 13, 23] {
            let (mut p, mut m) = (x0.clone(), x0.clone());
            p[k] += h;
            m[k] -= h;
            let fd = (scalar(loss(&lstm, &p, false).0) - scalar(loss(&lstm, &m, false).0))
                / (2.0 * f64::from(h));
            let an = f64::from(gx[k]);
            assert!(
                (fd - an).abs() < 1e-2 * (1.0 + fd.abs()),
                "x[{k}]: analytic {an}, finite difference {fd}"
            );
        }
        // Weights reading x and reading h, in different gates.
        let w0 = to_flat(lstm.weight.val());
        let dims = [CFG.input + CFG.hidden, 4 * CFG.hidden];
        for k in [0usize, 7, 26, 45, 159] {
            let shifted = |delta: f32| {
                let mut w = w0.clone();
                w[k] += delta;
                let l2 = Lstm {
                    weight: Param::from_data(TensorData::new(w, dims), &ad),
                    bias: lstm.bias.clone(),
                    config: CFG,
                };
                scalar(loss(&l2, &x0, false).0)
            };
            let fd = (shifted(h) - shifted(-h)) / (2.0 * f64::from(h));
            let an = f64::from(gw[k]);
            assert!(
                (fd - an).abs() < 1e-2 * (1.0 + fd.abs()),
                "W[{k}]: analytic {an}, finite difference {fd}"
            );
        }
        assert!(gx.iter().all(|v| v.is_finite()) && gx[0] != 0.0);
    }

    #[test]
    fn same_seed_same_bits_and_round_trip() {
        let device = crate::cpu();
        let a = CFG.init(&mut seed::rng(1), &device).unwrap();
        let b = CFG.init(&mut seed::rng(1), &device).unwrap();
        let c = CFG.init(&mut seed::rng(2), &device).unwrap();
        let x = seq(inputs(), 2, 4, 3, &device);
        let ya = to_flat(a.forward(x.clone()));
        assert_eq!(ya, to_flat(b.forward(x.clone())));
        assert_ne!(ya, to_flat(c.forward(x.clone())));
        // The last of all hidden states is the last hidden state.
        let all = to_flat(a.forward_all(x.clone()));
        assert_eq!(all.len(), 2 * 4 * 5);
        assert_eq!(&all[15..20], &ya[..5]);
        assert_eq!(&all[35..40], &ya[5..]);
        let mut map: HashMap<_, _> = a
            .named_tensors("lstm")
            .into_iter()
            .map(|t| (t.name.clone(), t))
            .collect();
        let back = Lstm::from_named(CFG, "lstm", &mut map, &device).unwrap();
        assert_eq!(ya, to_flat(back.forward(x)));
        // Wrong shapes are errors, not panics.
        let mut map: HashMap<_, _> = a
            .named_tensors("lstm")
            .into_iter()
            .map(|t| (t.name.clone(), t))
            .collect();
        let wrong = LstmConfig {
            input: 4,
            hidden: 5,
        };
        assert!(Lstm::from_named(wrong, "lstm", &mut map, &device).is_err());
        assert!(a.check_input([2, 4, 2]).is_err());
        assert!(a.check_input([2, 4, 3]).is_ok());
        assert!(
            LstmConfig {
                input: 0,
                hidden: 1
            }
            .init(&mut seed::rng(0), &device)
            .is_err()
        );
    }
}
