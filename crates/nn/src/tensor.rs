//! Conversions between plain `f64`/`f32` rows and burn tensors. Networks compute in `f32`.

use burn::tensor::{Device, Tensor, TensorData};

/// A `[rows, cols]` tensor from row-major `f32` values.
pub fn from_flat(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    debug_assert_eq!(values.len(), rows * cols);
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

/// A `[rows.len(), cols]` tensor from `f32` rows.
pub fn from_rows(rows: &[Vec<f32>], device: &Device) -> Tensor<2> {
    let cols = rows.first().map_or(0, Vec::len);
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    from_flat(flat, rows.len(), cols, device)
}

/// The selected rows of `data` (row-major, `cols` wide) as a tensor.
pub fn gather_rows(data: &[f32], cols: usize, idx: &[usize], device: &Device) -> Tensor<2> {
    let mut flat = Vec::with_capacity(idx.len() * cols);
    for &i in idx {
        flat.extend_from_slice(&data[i * cols..(i + 1) * cols]);
    }
    from_flat(flat, idx.len(), cols, device)
}

/// Row-major `f32` values of a tensor of any rank.
pub fn to_flat<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    let data = t.into_data();
    match data.as_slice::<f32>() {
        Ok(s) => s.to_vec(),
        Err(_) => data
            .convert::<f32>()
            .as_slice::<f32>()
            .map(<[f32]>::to_vec)
            .unwrap_or_default(),
    }
}

/// A scalar tensor's value.
pub fn scalar(t: Tensor<1>) -> f64 {
    to_flat(t).first().copied().map_or(f64::NAN, f64::from)
}
