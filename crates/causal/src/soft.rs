//! Differentiable soft-intervention counterfactuals (RootCLAM paper Eq. 2, Algorithm 1) in a
//! causal model's own encoding, so that actions θ can be trained by gradient through the model
//! (paper Eq. 3). Implemented by [`Vaca`] and [`Anm`].

use remedy_core::encode::{FeatureEncoding, TabularEncoder};
use remedy_core::traits::CausalModel;
use remedy_core::{Error, Result};
use remedy_nn::{Device, Module, Tensor, tensor};

use crate::anm::Anm;
use crate::vaca::Vaca;

/// A counterfactual on one device: encoded rows `[b, width]`, actions `[b, nodes]` (in the
/// encoder's units, zero where no action) and the 0/1 action mask `[b, nodes]` to the
/// counterfactual encoded rows `[b, width]`, differentiable in the actions.
pub type SoftCounterfactualFn<'a> =
    Box<dyn Fn(Tensor<2>, Tensor<2>, Tensor<2>) -> Result<Tensor<2>> + Send + Sync + 'a>;

/// A causal model whose soft-intervention counterfactual can be differentiated.
pub trait SoftCounterfactual: CausalModel {
    /// How raw rows become the model's input (and the counterfactual's output).
    fn encoder(&self) -> &TabularEncoder;

    /// The counterfactual on `device` for actions on `candidates` (node indices; any order).
    fn soft_counterfactual<'a>(
        &'a self,
        candidates: &'a [usize],
        device: &Device,
    ) -> SoftCounterfactualFn<'a>;

    /// Per node, the raw-unit size of one encoded unit (the sd of a standardised continuous
    /// feature, the range of a min-max one, 1 otherwise): θ_raw = θ · scale.
    fn scales(&self) -> Vec<f64> {
        self.encoder()
            .features
            .iter()
            .map(|f| encoding_scale(f).1)
            .collect()
    }
}

/// `(offset, scale)` of a feature's encoding: raw = encoded · scale + offset.
pub fn encoding_scale(f: &FeatureEncoding) -> (f64, f64) {
    match f {
        FeatureEncoding::Standard { mean, sd } => (*mean, *sd),
        FeatureEncoding::MinMax { min, max } => (*min, if max > min { max - min } else { 1.0 }),
        _ => (0.0, 1.0),
    }
}

/// Width of the interval edges in [`soft_level`]: a row within this much of a cumulative
/// probability boundary is split between the two levels, which is where gradient flows.
const LEVEL_SOFTNESS: f64 = 0.02;

/// The differentiable form of [`crate::vaca::CategoricalCf::Monotone`] for one node: `e` the
/// factual one-hot level `[b, l]`, `pf` the decoder's factual probabilities, `pc` its
/// counterfactual ones. The row's position u is the midpoint of its factual level's interval
/// of `pf`'s cumulative sums; level j gets σ((C_j − u)/s) − σ((C_{j−1} − u)/s), C the
/// cumulative sums of `pc`, a soft indicator of u ∈ [C_{j−1}, C_j).
fn soft_level(e: Tensor<2>, pf: Tensor<2>, pc: Tensor<2>, device: &Device) -> Tensor<2> {
    let l = e.dims()[1];
    let mut upper = vec![0.0f32; l * l];
    for k in 0..l {
        for j in k..l {
            upper[k * l + j] = 1.0;
        }
    }
    let upper = tensor::from_flat(upper, l, l, device);
    let norm = |p: Tensor<2>| {
        let p = p.clamp_min(0.0);
        p.clone() / p.sum_dim(1).add_scalar(1e-12)
    };
    let (pf, pc) = (norm(pf), norm(pc));
    let u = ((pf.clone().matmul(upper.clone()) - pf.mul_scalar(0.5)) * e).sum_dim(1);
    let c = pc.clone().matmul(upper);
    let below = c.clone() - pc;
    let sig = |t: Tensor<2>| {
        t.div_scalar(LEVEL_SOFTNESS)
            .neg()
            .exp()
            .add_scalar(1.0)
            .recip()
    };
    sig(c - u.clone()) - sig(below - u)
}

/// A 0/1 matrix `[rows, cols]` with ones at `(r, c)` for each pair.
fn selector(pairs: &[(usize, usize)], rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    let mut m = vec![0.0f32; rows * cols];
    for &(r, c) in pairs {
        m[r * cols + c] = 1.0;
    }
    tensor::from_flat(m, rows, cols, device)
}

impl SoftCounterfactual for Vaca {
    fn encoder(&self) -> &TabularEncoder {
        Vaca::encoder(self)
    }

    /// Algorithm 1 over the candidates in topological order, each step applied only to the
    /// rows whose mask holds that node (a row's other features are not re-encoded), gradients
    /// kept end to end.
    fn soft_counterfactual<'a>(
        &'a self,
        candidates: &'a [usize],
        device: &Device,
    ) -> SoftCounterfactualFn<'a> {
        let net = self.net_on(device);
        let order = self.in_order(candidates);
        let nodes = self.dag().len();
        let device = device.clone();
        // Binary and categorical descendants of the candidates, with their columns, when the
        // counterfactual keeps a row's place in their distribution (`CategoricalCf`).
        let enc = Vaca::encoder(self);
        let offsets = enc.offsets();
        let widths: Vec<usize> = enc
            .features
            .iter()
            .map(|f| match f {
                FeatureEncoding::OneHot { levels } => *levels,
                _ => 1,
            })
            .collect();
        let reached: Vec<bool> = (0..nodes)
            .map(|i| {
                self.config.categorical_cf == crate::vaca::CategoricalCf::Monotone
                    && matches!(
                        enc.features[i],
                        FeatureEncoding::OneHot { .. } | FeatureEncoding::Binary
                    )
                    && order
                        .iter()
                        .any(|&v| self.dag().descendants(v).contains(&i))
            })
            .collect();
        Box::new(move |x: Tensor<2>, theta: Tensor<2>, mask: Tensor<2>| {
            let mut state = x.clone();
            for &v in &order {
                // 1 where the row may act on v.
                let acts = mask.clone().matmul(selector(&[(v, 0)], nodes, 1, &device));
                let next = net.counterfactual_soft(state.clone(), theta.clone(), &[v])?;
                state = next * acts.clone() + state * acts.neg().add_scalar(1.0);
            }
            if !reached.contains(&true) {
                return Ok(state);
            }
            let [b, _] = x.dims();
            let fact = net.mean(net.decode(net.encode(x.clone(), None).0, None));
            let blocks: Vec<Tensor<2>> = (0..nodes)
                .map(|i| {
                    let cols = offsets[i]..offsets[i] + widths[i];
                    let block = state.clone().slice([0..b, cols.clone()]);
                    if !reached[i] {
                        return block;
                    }
                    let (e, pf) = (
                        x.clone().slice([0..b, cols.clone()]),
                        fact.clone().slice([0..b, cols]),
                    );
                    if widths[i] == 1 && matches!(enc.features[i], FeatureEncoding::Binary) {
                        let two =
                            |p: Tensor<2>| Tensor::cat(vec![p.clone().neg().add_scalar(1.0), p], 1);
                        soft_level(two(e), two(pf), two(block), &device).slice([0..b, 1..2])
                    } else {
                        soft_level(e, pf, block, &device)
                    }
                })
                .collect();
            Ok(Tensor::cat(blocks, 1))
        })
    }
}

impl SoftCounterfactual for Anm {
    fn encoder(&self) -> &TabularEncoder {
        Anm::encoder(self)
    }

    /// Abduction-action-prediction in closed form: in topological order, a continuous node
    /// becomes `x_i' = x_i + sd_i·(net_i(pa_i') − net_i(pa_i)) + θ_i` (its noise is kept, its
    /// parents may have moved). Departure from [`CausalModel::counterfactual_batch`]: a binary
    /// or categorical node keeps its factual value here (a category change has no gradient);
    /// the exact counterfactual re-decodes it, so the trained action is checked on that one.
    fn soft_counterfactual<'a>(
        &'a self,
        _candidates: &'a [usize],
        device: &Device,
    ) -> SoftCounterfactualFn<'a> {
        let enc = Anm::encoder(self);
        let width = enc.width();
        let offsets = enc.offsets();
        let nodes = self.dag().len();
        let continuous: Vec<usize> = (0..nodes)
            .filter(|&i| matches!(enc.features[i], FeatureEncoding::Standard { .. }))
            .collect();
        // θ [b, nodes] · P [nodes, width] scatters each continuous node's action to its column.
        let scatter: Vec<(usize, usize)> = continuous.iter().map(|&i| (i, offsets[i])).collect();
        let scatter = selector(&scatter, nodes, width, device);
        // Per regressor node: parent-column gather [width, p], the node's column [1, width],
        // the factor sd_mechanism / sd_encoding and the network on `device`.
        let steps: Vec<_> = self
            .regressors()
            .map(|(i, net, linear, sd)| {
                let cols = self.parent_columns(i);
                let gather: Vec<(usize, usize)> =
                    cols.iter().enumerate().map(|(k, &c)| (c, k)).collect();
                let (_, scale) = encoding_scale(&enc.features[i]);
                // The linear part's weights as a [p, 1] column (its intercept cancels in the
                // difference after − before).
                let weights = linear.map(|c| {
                    let w: Vec<f32> = c[..cols.len()].iter().map(|&v| v as f32).collect();
                    tensor::from_flat(w, cols.len(), 1, device)
                });
                (
                    selector(&gather, width, cols.len(), device),
                    selector(&[(0, offsets[i])], 1, width, device),
                    (sd / scale) as f32,
                    net.map(|n| n.clone().to_device(device)),
                    weights,
                )
            })
            .collect();
        Box::new(move |x: Tensor<2>, theta: Tensor<2>, _mask: Tensor<2>| {
            let [b, w] = x.dims();
            let [tb, k] = theta.dims();
            if w != width || k != nodes || tb != b {
                return Err(Error::invalid(format!(
                    "ANM counterfactual: rows [{b}, {w}] and actions [{tb}, {k}] for width \
                     {width} and {nodes} nodes"
                )));
            }
            let mut state = x.clone() + theta.matmul(scatter.clone());
            for (gather, column, factor, net, weights) in &steps {
                let (pa, pa_cf) = (
                    x.clone().matmul(gather.clone()),
                    state.clone().matmul(gather.clone()),
                );
                let mut delta = match weights {
                    Some(w) => tensor::matmul(pa_cf.clone() - pa.clone(), w.clone()),
                    None => Tensor::zeros([b, 1], &x.device()),
                };
                if let Some(net) = net {
                    delta = delta + net.forward(pa_cf) - net.forward(pa);
                }
                state = state + delta.mul_scalar(*factor).matmul(column.clone());
            }
            Ok(state)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use remedy_core::{Intervention, seed};
    use remedy_data::Loan;
    use remedy_nn::{autodiff, cpu};

    /// An additive-noise model of Loan (5 epochs) and 40 fresh normal rows.
    fn loan_anm() -> (Anm, Vec<Vec<f64>>) {
        let scm = Loan::new();
        let anm = crate::anm::tests::fitted(&scm, 600, 5);
        let test = crate::anm::tests::rows(&scm, 40, &mut seed::rng(5));
        (anm, test)
    }

    /// On Loan (every node with parents is continuous) the tensor counterfactual is the exact
    /// abduction-action-prediction of `counterfactual_batch` for the same shifts, and its
    /// gradient reaches the actions.
    #[test]
    fn anm_soft_counterfactual_matches_the_exact_one() {
        let (anm, rows) = loan_anm();
        let nodes = anm.dag().len();
        let candidates: Vec<usize> = (1..nodes).collect();
        let mut rng = seed::rng(9);
        let theta: Vec<f32> = (0..rows.len() * nodes)
            .map(|k| {
                if k % nodes == 0 {
                    0.0 // the binary root is never shifted
                } else {
                    rng.random_range(-2.0..2.0)
                }
            })
            .collect();
        let scales = anm.scales();
        let interventions: Vec<Intervention> = (0..rows.len())
            .map(|r| Intervention {
                shift: (1..nodes)
                    .map(|j| (j, f64::from(theta[r * nodes + j]) * scales[j]))
                    .collect(),
                set: vec![],
            })
            .collect();
        let exact = anm.counterfactual_batch(&rows, &interventions).unwrap();

        let device = autodiff(&cpu());
        let cf = anm.soft_counterfactual(&candidates, &device);
        let x = tensor::from_flat(anm.encoder().encode(&rows).unwrap(), rows.len(), 7, &device);
        let t = tensor::from_flat(theta.clone(), rows.len(), nodes, &device).require_grad();
        let mask = tensor::from_flat(vec![1.0; rows.len() * nodes], rows.len(), nodes, &device);
        let out = cf(x, t.clone(), mask).unwrap();
        let got = tensor::to_flat(out.clone());
        let want = anm.encoder().encode(&exact).unwrap();
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() < 1e-3, "entry {k}: {g} vs {w}");
        }
        let grads = out.sum().backward();
        let g = tensor::to_flat(t.grad(&grads).expect("actions get a gradient"));
        assert!(g.iter().skip(1).take(nodes - 1).all(|v| *v != 0.0));
    }

    /// The soft rule agrees with the hard one (`CategoricalCf::level`'s worked example:
    /// factual (0.5, 0.3, 0.2) at level 1 lands on level 2 under (0.1, 0.3, 0.6)) and keeps
    /// the level when the probabilities do not move.
    #[test]
    fn soft_level_matches_the_monotone_rule() {
        let device = remedy_nn::cpu();
        let t = |v: Vec<f32>| tensor::from_flat(v, 1, 3, &device);
        let e = t(vec![0.0, 1.0, 0.0]);
        let pf = t(vec![0.5, 0.3, 0.2]);
        let same = tensor::to_flat(soft_level(e.clone(), pf.clone(), pf.clone(), &device));
        assert!(
            same[1] > 0.99 && same[0] < 0.01 && same[2] < 0.01,
            "{same:?}"
        );
        let moved = tensor::to_flat(soft_level(e, pf, t(vec![0.1, 0.3, 0.6]), &device));
        assert!(moved[2] > 0.99 && moved[1] < 0.01, "{moved:?}");
        let sum: f32 = moved.iter().sum();
        assert!((sum - 1.0).abs() < 1e-3);
    }
}
