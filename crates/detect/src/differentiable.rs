//! Detectors whose score is differentiable with respect to the input, for training recourse
//! networks through a frozen detector (RootCLAM paper Eq. 3).

use remedy_core::encode::{FeatureEncoding, TabularEncoder};
use remedy_core::{Error, Result};
use remedy_nn::{Device, Tensor, tensor};

use crate::{AnomalyDetector, Autoencoder, DeepSvdd};

/// A score on encoded inputs, built for one device.
pub type TensorScorer = Box<dyn Fn(Tensor<2>) -> Tensor<1> + Send + Sync>;

/// A tabular detector that can score tensors on any device (an autodiff device for training
/// through it). Its weights are copied, never trained.
pub trait DifferentiableDetector: AnomalyDetector {
    /// How raw rows become the network's input.
    fn input_encoder(&self) -> &TabularEncoder;

    /// g(x) on encoded inputs (rows encoded by [`DifferentiableDetector::input_encoder`]) for
    /// tensors on `device`; gradients flow to the input.
    fn scorer(&self, device: &Device) -> TensorScorer;
}

/// The detector's differentiable score of rows encoded by `from` (another encoding of the same
/// schema, e.g. a causal model's): a column-wise affine map to the detector's own encoding,
/// then [`DifferentiableDetector::scorer`].
pub fn recoded_scorer(
    detector: &dyn DifferentiableDetector,
    from: &TabularEncoder,
    device: &Device,
) -> Result<impl Fn(Tensor<2>) -> Tensor<1> + Send + Sync + use<>> {
    let to = detector.input_encoder();
    if from.width() != to.width() || from.features.len() != to.features.len() {
        return Err(Error::invalid(
            "the detector and the causal model encode the features differently",
        ));
    }
    let (mut a, mut b) = (vec![1.0f32; from.width()], vec![0.0f32; from.width()]);
    for ((f, t), &o) in from.features.iter().zip(&to.features).zip(&from.offsets()) {
        let lin = |e: &FeatureEncoding| match e {
            FeatureEncoding::Standard { mean, sd } => Some((*mean, *sd)),
            FeatureEncoding::MinMax { min, max } => {
                Some((*min, if max > min { max - min } else { 1.0 }))
            }
            _ => None,
        };
        if let (Some((m1, s1)), Some((m2, s2))) = (lin(f), lin(t)) {
            // raw = x·s1 + m1; out = (raw − m2)/s2.
            a[o] = (s1 / s2) as f32;
            b[o] = ((m1 - m2) / s2) as f32;
        }
    }
    let w = from.width();
    let a = tensor::from_flat(a, 1, w, device);
    let b = tensor::from_flat(b, 1, w, device);
    let scorer = detector.scorer(device);
    Ok(move |x: Tensor<2>| scorer(x * a.clone() + b.clone()))
}

impl DifferentiableDetector for Autoencoder {
    fn input_encoder(&self) -> &TabularEncoder {
        &self.encoder
    }

    fn scorer(&self, device: &Device) -> TensorScorer {
        let net = self.net_on(device);
        Box::new(move |x: Tensor<2>| {
            (net.forward(x.clone()) - x)
                .powf_scalar(2.0)
                .sum_dim(1)
                .squeeze_dim(1)
        })
    }
}

impl DifferentiableDetector for DeepSvdd {
    fn input_encoder(&self) -> &TabularEncoder {
        &self.encoder
    }

    fn scorer(&self, device: &Device) -> TensorScorer {
        let net = self.net_on(device);
        let (columns, centre) = (self.columns.clone(), self.centre.clone());
        Box::new(move |x: Tensor<2>| crate::deepsvdd::distance(&net, columns.as_ref(), &centre, x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AutoencoderConfig;
    use remedy_core::schema::Feature;
    use remedy_core::{Schema, seed};
    use remedy_nn::NoObserver;

    /// The tensor scorer on an autodiff device agrees with `score`, and its gradient with
    /// respect to the input matches a finite difference.
    #[test]
    fn scorer_matches_score_and_has_gradients() {
        let schema = Schema::new(
            ["a", "b"]
                .iter()
                .map(|n| Feature::continuous(*n, 1.0))
                .collect(),
        )
        .unwrap();
        let mut rng = seed::rng(1);
        let rows: Vec<Vec<f64>> = (0..200)
            .map(|i| {
                let t = f64::from(i) / 100.0;
                vec![t, 2.0 * t + 0.1 * (t * 7.0).sin()]
            })
            .collect();
        let mut cfg = AutoencoderConfig::default();
        cfg.train.epochs = 3;
        let ae = cfg
            .fit(&schema, &rows, &rows, &mut rng, &mut NoObserver)
            .unwrap();
        let plain = remedy_nn::cpu();
        let ad = remedy_nn::autodiff(&plain);
        let score = ae.scorer(&ad);
        let x = vec![0.3f32, -0.7];
        let enc = ae
            .encoder
            .encode(&[vec![
                0.3 * ae_sd(&ae, 0) + ae_mean(&ae, 0),
                -0.7 * ae_sd(&ae, 1) + ae_mean(&ae, 1),
            ]])
            .unwrap();
        let direct = ae.score_encoded(&enc, 1)[0];
        let t = tensor::from_flat(x.clone(), 1, 2, &ad).require_grad();
        let s = score(t.clone());
        assert!((tensor::scalar(s.clone()) - direct).abs() < 1e-4 * (1.0 + direct.abs()));
        let grads = s.sum().backward();
        let g = tensor::to_flat(t.grad(&grads).expect("input gradient"));
        let h = 1e-2f32;
        let f = |v: Vec<f32>| ae.score_encoded(&v, 1)[0];
        let fd = (f(vec![x[0] + h, x[1]]) - f(vec![x[0] - h, x[1]])) / (2.0 * f64::from(h));
        assert!(
            (f64::from(g[0]) - fd).abs() < 0.05 * (1.0 + fd.abs()),
            "{g:?} vs {fd}"
        );
    }

    fn ae_mean(ae: &Autoencoder, j: usize) -> f64 {
        match ae.encoder.features[j] {
            remedy_core::encode::FeatureEncoding::Standard { mean, .. } => mean,
            _ => 0.0,
        }
    }

    fn ae_sd(ae: &Autoencoder, j: usize) -> f64 {
        match ae.encoder.features[j] {
            remedy_core::encode::FeatureEncoding::Standard { sd, .. } => sd,
            _ => 1.0,
        }
    }
}
