//! Pieces the tabular detectors share: batched scoring and reading fields of a model manifest.

use remedy_nn::{Tensor, tensor};

/// Rows scored per forward pass.
const SCORE_BATCH: usize = 4096;

/// Applies `score` to the `n` encoded rows of `x` (row-major, `d` wide) in batches.
pub(crate) fn score_in_batches(
    x: &[f32],
    n: usize,
    d: usize,
    score: impl Fn(Tensor<2>) -> Tensor<1>,
) -> Vec<f64> {
    let device = remedy_nn::cpu();
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(SCORE_BATCH) {
        let end = (start + SCORE_BATCH).min(n);
        let t = tensor::from_flat(x[start * d..end * d].to_vec(), end - start, d, &device);
        out.extend(tensor::to_flat(score(t)).into_iter().map(f64::from));
    }
    out
}

pub(crate) use remedy_nn::store::field;
