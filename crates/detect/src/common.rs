//! Pieces the tabular detectors share: batched scoring and reading fields of a model manifest.

use std::path::Path;

use remedy_core::{Error, Result};
use remedy_nn::{Tensor, tensor};
use serde::de::DeserializeOwned;

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

/// The manifest field `key`, or an error naming the model directory and the field.
pub(crate) fn field<T: DeserializeOwned>(
    payload: &serde_json::Value,
    key: &str,
    what: &str,
    dir: &Path,
) -> Result<T> {
    serde_json::from_value(payload[key].clone()).map_err(|e| {
        Error::invalid(format!(
            "{}: bad {what} manifest, field '{key}': {e}",
            dir.display()
        ))
    })
}
