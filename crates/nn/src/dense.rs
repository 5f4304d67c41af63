//! Dense layers and multilayer perceptrons. Weights are drawn from our own seeded generator
//! with PyTorch's default `nn.Linear` initialisation (U(−1/√fan_in, 1/√fan_in) for weights and
//! biases), so a run is reproducible bit for bit and comparable with the reference code.

use burn::module::{Module, Param};
use burn::tensor::activation::{leaky_relu, relu, sigmoid, tanh};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The most rows that gemm multiplies by one column with its dot-product kernel
/// (`m · n ≤ 16 · 16` in `gemm-common`'s `gemm_basic_generic`).
pub const ROWS_PER_DOT: usize = 256;

/// A fully connected layer `y = x W + b` with `W` of shape `[d_in, d_out]`.
#[derive(Module, Debug)]
pub struct Dense {
    pub weight: Param<Tensor<2>>,
    pub bias: Option<Param<Tensor<1>>>,
}

fn uniform<R: Rng + ?Sized>(rng: &mut R, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

impl Dense {
    /// A layer initialised from `rng`.
    pub fn init<R: Rng + ?Sized>(
        d_in: usize,
        d_out: usize,
        bias: bool,
        rng: &mut R,
        device: &Device,
    ) -> Self {
        let bound = 1.0 / (d_in.max(1) as f32).sqrt();
        let w = uniform(rng, d_in * d_out, bound);
        let bias = bias.then(|| {
            Param::from_data(TensorData::new(uniform(rng, d_out, bound), [d_out]), device)
        });
        Dense {
            weight: Param::from_data(TensorData::new(w, [d_in, d_out]), device),
            bias,
        }
    }

    /// A layer with given weights (`[d_in, d_out]`, row-major) and bias (`d_out` values).
    pub fn from_values(
        weight: Vec<f32>,
        d_in: usize,
        d_out: usize,
        bias: Option<Vec<f32>>,
        device: &Device,
    ) -> Self {
        Dense {
            weight: Param::from_data(TensorData::new(weight, [d_in, d_out]), device),
            bias: bias.map(|b| Param::from_data(TensorData::new(b, [d_out]), device)),
        }
    }

    /// The weights `[d_in, d_out]` and bias as plain values.
    pub fn values(&self) -> (Vec<f32>, Option<Vec<f32>>) {
        let w = crate::tensor::to_flat(self.weight.val());
        let b = self.bias.as_ref().map(|b| crate::tensor::to_flat(b.val()));
        (w, b)
    }

    /// `x W + b`; each row's value does not depend on how many rows come with it
    /// ([`tensor::matmul`](crate::tensor::matmul)).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let y = crate::tensor::matmul(x, self.weight.val());
        match &self.bias {
            Some(b) => y + b.val().unsqueeze_dim(0),
            None => y,
        }
    }

    /// Input and output widths.
    pub fn shape(&self) -> [usize; 2] {
        let d = self.weight.val().dims();
        [d[0], d[1]]
    }
}

/// Activation after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// No activation.
    #[default]
    Identity,
    Relu,
    Tanh,
    Sigmoid,
    /// max(x, slope·x) (PyTorch `LeakyReLU(negative_slope)`).
    LeakyRelu(f64),
}

impl Activation {
    /// Applies the activation.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Identity => x,
            Activation::Relu => relu(x),
            Activation::Tanh => tanh(x),
            Activation::Sigmoid => sigmoid(x),
            Activation::LeakyRelu(slope) => leaky_relu(x, slope),
        }
    }
}

/// The shape of a multilayer perceptron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Widths from input to output: `[d_in, h_1, …, d_out]`.
    pub sizes: Vec<usize>,
    /// Activation after each layer (`sizes.len() − 1` entries).
    pub activations: Vec<Activation>,
    /// Dropout probability applied to each layer's input during training (same length).
    pub dropout: Vec<f32>,
    /// Whether layers have biases.
    pub bias: bool,
}

impl MlpConfig {
    /// ReLU between layers, identity at the output, no dropout, with biases.
    pub fn relu(sizes: &[usize]) -> Self {
        let n = sizes.len().saturating_sub(1);
        let mut activations = vec![Activation::Relu; n];
        if let Some(last) = activations.last_mut() {
            *last = Activation::Identity;
        }
        MlpConfig {
            sizes: sizes.to_vec(),
            activations,
            dropout: vec![0.0; n],
            bias: true,
        }
    }

    /// Number of trainable parameters.
    pub fn n_params(&self) -> usize {
        self.sizes
            .windows(2)
            .map(|w| w[0] * w[1] + if self.bias { w[1] } else { 0 })
            .sum()
    }

    /// Initialises the network from `rng`.
    pub fn init<R: Rng + ?Sized>(&self, rng: &mut R, device: &Device) -> Mlp {
        let layers = self
            .sizes
            .windows(2)
            .map(|w| Dense::init(w[0], w[1], self.bias, rng, device))
            .collect();
        Mlp {
            layers,
            config: self.clone(),
        }
    }
}

/// A multilayer perceptron.
#[derive(Module, Debug)]
pub struct Mlp {
    pub layers: Vec<Dense>,
    #[module(skip)]
    pub config: MlpConfig,
}

impl Mlp {
    /// Inference forward pass (no dropout).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        for (layer, act) in self.layers.iter().zip(&self.config.activations) {
            h = act.apply(layer.forward(h));
        }
        h
    }

    /// Training forward pass: dropout masks drawn from `rng` (inverted dropout, so inference
    /// needs no rescaling).
    pub fn forward_train<R: Rng + ?Sized>(&self, x: Tensor<2>, rng: &mut R) -> Tensor<2> {
        let mut h = x;
        for ((layer, act), &p) in self
            .layers
            .iter()
            .zip(&self.config.activations)
            .zip(&self.config.dropout)
        {
            h = dropout(h, p, rng);
            h = act.apply(layer.forward(h));
        }
        h
    }
}

/// Inverted dropout with a mask from `rng`: each entry kept with probability 1 − p and scaled
/// by 1/(1 − p).
pub fn dropout<R: Rng + ?Sized>(x: Tensor<2>, p: f32, rng: &mut R) -> Tensor<2> {
    if p <= 0.0 {
        return x;
    }
    let [n, d] = x.dims();
    let scale = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..n * d)
        .map(|_| if rng.random::<f32>() < p { 0.0 } else { scale })
        .collect();
    let device = x.device();
    x * Tensor::<2>::from_data(TensorData::new(mask, [n, d]), &device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use remedy_core::seed;

    #[test]
    fn same_seed_same_weights_and_outputs() {
        let device = crate::cpu();
        let cfg = MlpConfig::relu(&[3, 5, 2]);
        let a = cfg.init(&mut seed::rng(1), &device);
        let b = cfg.init(&mut seed::rng(1), &device);
        let c = cfg.init(&mut seed::rng(2), &device);
        let x = crate::tensor::from_flat(vec![0.1, -0.2, 0.3, 1.0, 2.0, 3.0], 2, 3, &device);
        let (ya, yb, yc) = (
            crate::tensor::to_flat(a.forward(x.clone())),
            crate::tensor::to_flat(b.forward(x.clone())),
            crate::tensor::to_flat(c.forward(x)),
        );
        assert_eq!(ya, yb);
        assert_ne!(ya, yc);
        assert_eq!(ya.len(), 4);
        assert_eq!(cfg.n_params(), 3 * 5 + 5 + 5 * 2 + 2);
    }

    /// Each activation by hand at a negative, zero and positive input; the leaky ReLU keeps
    /// slope·x below zero.
    #[test]
    fn activations_by_hand() {
        let device = crate::cpu();
        let x = || crate::tensor::from_flat(vec![-2.0, 0.0, 3.0], 1, 3, &device);
        let y = |a: Activation| crate::tensor::to_flat(a.apply(x()));
        assert_eq!(y(Activation::Identity), vec![-2.0, 0.0, 3.0]);
        assert_eq!(y(Activation::Relu), vec![0.0, 0.0, 3.0]);
        let leaky = y(Activation::LeakyRelu(0.3));
        assert!(
            (leaky[0] + 0.6).abs() < 1e-6 && leaky[1] == 0.0 && leaky[2] == 3.0,
            "{leaky:?}"
        );
        assert_eq!(y(Activation::LeakyRelu(0.0)), y(Activation::Relu));
    }

    #[test]
    fn dense_computes_x_w_plus_b() {
        let device = crate::cpu();
        let layer = Dense {
            weight: Param::from_data(
                TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]),
                &device,
            ),
            bias: Some(Param::from_data(
                TensorData::new(vec![0.5f32, -0.5], [2]),
                &device,
            )),
        };
        let x = crate::tensor::from_flat(vec![1.0, 1.0], 1, 2, &device);
        // [1 1]·[[1 2][3 4]] + [0.5 −0.5] = [4.5 5.5]
        assert_eq!(crate::tensor::to_flat(layer.forward(x)), vec![4.5, 5.5]);
    }

    #[test]
    fn dropout_keeps_expectation() {
        let device = crate::cpu();
        let x = Tensor::<2>::ones([200, 50], &device);
        let y = crate::tensor::to_flat(dropout(x, 0.3, &mut seed::rng(3)));
        let zeros = y.iter().filter(|&&v| v == 0.0).count() as f64 / y.len() as f64;
        assert!((zeros - 0.3).abs() < 0.02, "{zeros}");
        let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / y.len() as f64;
        assert!((mean - 1.0).abs() < 0.03, "{mean}");
    }
}
